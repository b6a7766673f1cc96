"""Tests of population margins: census copy, file reading and checks, storage, use in raking."""
from __future__ import annotations

import hashlib
import io
import math
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from analysis import SurveyDesign
from questionnaires import load_districts, shipped_questionnaires
from survey_app.margins import (
    CENSUS_FILE,
    MARGIN_VARIABLES,
    TOTAL_TOLERANCE,
    MarginsError,
    MarginsStore,
    PopulationMargins,
    census_district_totals,
    margin_categories,
    margins_template,
    parse_margins,
    read_margins,
    read_table,
)
from survey_app.store import DatabaseError

# SHA-256 of census_2020_districts.csv as received with the project's reference material
# (Nantong's 2020 census bulletin No. 2, transcribed; see survey_app/data/README.md).
REFERENCE_CENSUS_SHA256 = "4f000d218450c449d8419f568e542f50276126adc7e3849080d2f4d0db901113"
SOURCE = "test tables"
DAY = date(2020, 11, 1)


def full_table(scale: float = 1.0) -> pd.DataFrame:
    """A valid long table: every category of every variable, totals 1000 * scale each."""
    rows = []
    for variable, choices in margin_categories().items():
        shares = np.arange(1, len(choices) + 1, dtype=float)
        shares /= shares.sum()
        rows += [(variable, code, 1000.0 * scale * share) for (code, _, _), share in zip(choices, shares)]
    return pd.DataFrame(rows, columns=["variable", "category", "population"])


def csv_bytes(table: pd.DataFrame, encoding: str = "utf-8") -> bytes:
    return table.to_csv(index=False).encode(encoding)


def xlsx_bytes(table: pd.DataFrame) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(table.columns))
    for row in table.itertuples(index=False):
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# -- census copy -------------------------------------------------------------------------------


def test_census_copy_is_the_reference_file_unchanged():
    assert hashlib.sha256(CENSUS_FILE.read_bytes()).hexdigest() == REFERENCE_CENSUS_SHA256


def test_census_totals_add_up_to_the_published_city_total():
    totals = census_district_totals()
    # city total printed in the bulletin (and in survey_app/data/README.md)
    assert sum(totals.values()) == 7_726_635
    assert list(totals) == [choice.name for choice in load_districts()]


def test_census_readme_cites_the_source():
    text = (CENSUS_FILE.parent / "README.md").read_text(encoding="utf-8")
    for needle in ("第七次全国人口普查公报（第二号）", "2021-05-24", "reliminary", "7,726,635"):
        assert needle in text


# -- categories ----------------------------------------------------------------------------------


def test_categories_are_the_questionnaires_codes():
    categories = margin_categories()
    assert tuple(categories) == MARGIN_VARIABLES
    for form in shipped_questionnaires().values():
        for variable in MARGIN_VARIABLES:
            assert [c.name for c in form.choices(variable)] == [code for code, _, _ in categories[variable]]


def test_template_lists_every_category_once_without_numbers():
    template = margins_template()
    expected = [(v, code) for v, choices in margin_categories().items() for code, _, _ in choices]
    assert list(zip(template["variable"], template["category"])) == expected
    assert template["population"].isna().all()


# -- reading files -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["csv", "csv-gb18030", "xlsx"])
def test_files_round_trip(kind):
    table = full_table()
    if kind == "xlsx":
        data, name = xlsx_bytes(table), "m.xlsx"
    else:
        data, name = csv_bytes(table, "gb18030" if kind == "csv-gb18030" else "utf-8-sig"), "m.csv"
    margins = read_margins(data, name, source=SOURCE, reference_date=DAY)
    for variable, category, population in table.itertuples(index=False):
        assert margins.counts[variable][category] == pytest.approx(population, rel=1e-15)
    assert margins.filename == name and margins.source == SOURCE and not margins.demonstration


def test_labels_and_headers_are_accepted_as_written_in_spreadsheets():
    table = full_table()
    labels = {code: (zh, en) for choices in margin_categories().values() for code, zh, en in choices}
    # Chinese labels for even rows, English labels (upper case) for odd rows, thousands separators
    table["category"] = [
        labels[code][0] if i % 2 == 0 else labels[code][1].upper() for i, code in enumerate(table["category"])
    ]
    table["population"] = [f"{value * 1000:,.0f}" for value in table["population"]]
    table.columns = [" Variable", "CATEGORY ", "Population"]
    margins = parse_margins(table, source=SOURCE, reference_date=DAY)
    expected = full_table()
    for variable, code, population in expected.itertuples(index=False):
        assert margins.counts[variable][code] == round(population * 1000)


def test_a_subset_of_variables_and_blank_lines_are_fine():
    table = full_table()
    table = table[table["variable"].isin(["district", "sex"])]
    blank = pd.DataFrame([["", "", ""]], columns=table.columns)
    margins = parse_margins(pd.concat([table, blank]), source=SOURCE, reference_date=DAY)
    assert margins.variables == ("district", "sex")


def problem_table(edit) -> pd.DataFrame:
    table = full_table().astype({"population": object})
    edit(table)
    return table


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.loc.__setitem__((0, "variable"), "gender"), ["row 2", "'gender'", "district, sex"]),
        (lambda t: t.loc.__setitem__((3, "category"), "Gangzha"), ["row 5", "'Gangzha'", "chongchuan (崇川区)"]),
        (lambda t: t.loc.__setitem__((1, "population"), "abc"), ["row 3", "'abc'", "positive number"]),
        (lambda t: t.loc.__setitem__((1, "population"), "-5"), ["row 3", "'-5'", "positive number"]),
        (lambda t: t.loc.__setitem__((1, "population"), "0"), ["row 3", "'0'"]),
        (lambda t: t.loc.__setitem__((1, "population"), "nan"), ["row 3", "'nan'"]),
        (lambda t: t.loc.__setitem__((1, "category"), "chongchuan"),
         ["row 3", "given twice", "row 2", "kaifaqu (开发区)"]),
    ],
)
def test_bad_rows_are_named_with_their_values(edit, expected):
    with pytest.raises(MarginsError) as caught:
        read_margins(csv_bytes(problem_table(edit)), "bad.csv", source=SOURCE, reference_date=DAY)
    message = str(caught.value)
    assert "bad.csv" in message
    for needle in expected:
        assert needle in message


def test_every_problem_is_listed_not_just_the_first():
    def edit(table):
        table.loc[0, "population"] = "x"
        table.loc[9, "variable"] = "income"

    with pytest.raises(MarginsError, match=r"3 problem\(s\)") as caught:
        parse_margins(problem_table(edit), source=SOURCE, reference_date=DAY)
    message = str(caught.value)
    # row 11 was sex=female: that category is now missing; row 2's category is not reported twice
    assert "row 2" in message and "row 11" in message and "sex lacks the categories female (女)" in message
    assert "district lacks" not in message


def test_every_problem_carries_a_text_in_each_language_with_its_values():
    """Issue 13: the page words each problem in its own language from the problem's key and values."""
    from survey_app.i18n import LANGUAGES, t

    def edit(table):
        table.loc[0, "population"] = "x"
        table.loc[2, "category"] = table.loc[1, "category"]
        table.loc[9, "variable"] = "income"

    with pytest.raises(MarginsError) as caught:
        read_margins(csv_bytes(problem_table(edit)), "bad.csv", source=SOURCE, reference_date=DAY)
    error = caught.value
    assert error.key == "margins.problems" and error.params["file"] == "bad.csv" and error.params["count"] == 5
    assert [p.key.split(".")[1] for p in error.problems] == [
        "bad_population", "duplicate", "unknown_variable", "incomplete", "incomplete"]
    assert [p.text for p in error.problems] == [line.strip() for line in str(error).splitlines()[1:]]
    assert error.problems[0].params == {"row": 2, "value": "x", "variable": "district", "code": "chongchuan"}
    for lang in LANGUAGES:
        worded = [t(problem.key, lang, **problem.params) for problem in [*error.problems]]
        assert "x" in worded[0] and "4" in worded[1] and "3" in worded[1] and "income" in worded[2]
        assert "5" in t(error.key, lang, **error.params)
    with pytest.raises(MarginsError) as caught:
        read_table(b"a,b", "margins.txt")
    assert caught.value.key == "margins.bad_suffix" and caught.value.params == {"file": "margins.txt", "suffix": ".txt"}
    assert "margins.txt" in t(caught.value.key, "zh", **caught.value.params)


def test_missing_columns_and_empty_tables():
    with pytest.raises(MarginsError, match="lacks the column\\(s\\) population.*found: variable, category"):
        parse_margins(full_table()[["variable", "category"]], source=SOURCE, reference_date=DAY)
    with pytest.raises(MarginsError, match="no data rows"):
        parse_margins(full_table().iloc[0:0], source=SOURCE, reference_date=DAY)


def test_disagreeing_totals_are_refused_with_the_totals():
    table = full_table()
    sex = table["variable"] == "sex"
    table.loc[sex, "population"] *= 1 + 3 * TOTAL_TOLERANCE
    with pytest.raises(MarginsError, match="totals differ.*district 1,000.*sex 1,030"):
        parse_margins(table, source=SOURCE, reference_date=DAY)


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("m.txt", b"variable,category,population\n", "use a .csv or .xlsx file"),
        ("m.xlsx", b"not a zip file", "not a readable Excel workbook"),
        ("m.csv", "variable,category,population\n".encode("utf-16"), "neither UTF-8 nor GB18030"),
        ("m.csv", b"", "not a readable CSV table"),
    ],
)
def test_unreadable_files(name, data, expected):
    with pytest.raises(MarginsError, match=expected):
        read_table(data, name)


def test_provenance_is_required():
    table = full_table()
    with pytest.raises(MarginsError, match="source must say"):
        parse_margins(table, source="  ", reference_date=DAY)
    with pytest.raises(MarginsError, match="reference_date must be a datetime.date"):
        parse_margins(table, source=SOURCE, reference_date="2020-11-01")


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({}, "at least one"),
        ({"income": {"a": 1.0}}, "variable 'income'"),
        ({"sex": {"male": 1.0}}, "exactly the categories"),
        ({"sex": {"male": 1.0, "female": -2.0}}, "positive number"),
        ({"sex": {"male": 1.0, "female": True}}, "positive number"),
    ],
)
def test_direct_construction_checks_counts(counts, expected):
    with pytest.raises(MarginsError, match=expected):
        PopulationMargins(counts=counts, source=SOURCE, reference_date=DAY)


# -- results -------------------------------------------------------------------------------------


def test_frame_and_summary():
    margins = parse_margins(full_table(), source=SOURCE, reference_date=DAY)
    frame = margins.to_frame()
    assert list(frame.columns) == ["variable", "category", "population", "share"]
    assert frame.groupby("variable")["share"].sum().to_numpy() == pytest.approx(1.0)
    text = margins.summary()
    assert SOURCE in text and "2020-11-01" in text and "DEMONSTRATION" not in text
    demo = PopulationMargins(counts=margins.counts, source=SOURCE, reference_date=DAY, demonstration=True)
    assert "DEMONSTRATION" in demo.summary()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(1.0, 1e7), min_size=2, max_size=2),
    st.floats(1 - TOTAL_TOLERANCE / 2, 1 + TOTAL_TOLERANCE / 2),
    st.lists(st.floats(1.0, 1e7), min_size=4, max_size=4),
)
def test_rake_margins_share_one_total_and_keep_shares(sex, factor, ages):
    district_total = sum(sex) * factor
    districts = {code: district_total / 8 for code, _, _ in margin_categories()["district"]}
    age_scale = sum(sex) / sum(ages)
    counts = {
        "district": districts,
        "sex": dict(zip(["male", "female"], sex)),
        "age_group": dict(zip(["18_34", "35_49", "50_64", "65_plus"], [a * age_scale for a in ages])),
    }
    margins = PopulationMargins(counts=counts, source=SOURCE, reference_date=DAY)
    raked = margins.rake_margins(["sex", "age_group", "district"])
    for variable, margin in raked.items():
        assert math.fsum(margin.values()) == pytest.approx(math.fsum(sex), rel=1e-12)
        for code, value in margin.items():
            assert value / math.fsum(margin.values()) == pytest.approx(
                counts[variable][code] / math.fsum(counts[variable].values()), rel=1e-12
            )


def test_rake_margins_reject_unknown_or_no_variables():
    margins = parse_margins(full_table()[lambda t: t["variable"] == "sex"], source=SOURCE, reference_date=DAY)
    with pytest.raises(MarginsError, match="'district' has no margin here; margins exist for sex"):
        margins.rake_margins(["district"])
    with pytest.raises(MarginsError, match="variables is empty"):
        margins.rake_margins([])


def test_raking_a_design_to_the_margins_reproduces_them(rng):
    # independent check through analysis: the raked weights add up to every margin
    margins = parse_margins(full_table(scale=7.0), source=SOURCE, reference_date=DAY)
    n = 400
    data = pd.DataFrame({
        "sex": rng.choice(["male", "female"], n),
        "age_group": rng.choice(["18_34", "35_49", "50_64", "65_plus"], n),
        "urban_rural": rng.choice(["urban", "rural"], n),
    })
    targets = margins.rake_margins(["sex", "age_group", "urban_rural"])
    raked = SurveyDesign(data).rake(targets)
    for variable, margin in targets.items():
        weighted = raked.weights.groupby(data[variable]).sum()
        for code, value in margin.items():
            assert weighted[code] == pytest.approx(value, rel=1e-8)


# -- storage ---------------------------------------------------------------------------------------


@pytest.fixture
def margins_store(tmp_path: Path):
    store = MarginsStore(f"sqlite:///{tmp_path / 'survey.db'}")
    yield store
    store.close()


def test_saved_margins_read_back_equal_and_newest_first(margins_store, tmp_path):
    first = parse_margins(full_table(), source="first", reference_date=DAY)
    second = PopulationMargins(counts=first.counts, source="second", reference_date=date(2021, 1, 1),
                               demonstration=True)
    saved_first = margins_store.save(first)
    saved_second = margins_store.save(second)
    assert saved_first.id != saved_second.id and saved_first.uploaded_at.tzinfo is not None
    assert saved_first.counts == first.counts and saved_first.source == "first"
    assert [m.source for m in margins_store.all()] == ["second", "first"]
    assert margins_store.latest() == saved_second
    assert margins_store.latest(include_demonstration=False) == saved_first
    # another process (a new store on the same file) sees the same rows
    reopened = MarginsStore(f"sqlite:///{tmp_path / 'survey.db'}")
    assert reopened.get(saved_first.id) == saved_first
    reopened.close()
    assert margins_store.delete_demonstration() == 1
    assert margins_store.all() == [saved_first]


def test_empty_store_and_unknown_ids(margins_store):
    assert margins_store.latest() is None and margins_store.all() == []
    with pytest.raises(MarginsError, match="no saved population margins have id 7"):
        margins_store.get(7)
    with pytest.raises(MarginsError, match="must be PopulationMargins"):
        margins_store.save({"sex": {"male": 1.0, "female": 1.0}})


def test_the_margins_table_lives_beside_the_interviews(tmp_path):
    from survey_app.store import ResponseStore

    url = f"sqlite:///{tmp_path / 'survey.db'}"
    responses = ResponseStore(url)
    MarginsStore(url).save(parse_margins(full_table(), source=SOURCE, reference_date=DAY))
    import sqlalchemy as sa

    tables = set(sa.inspect(sa.create_engine(url)).get_table_names())
    assert {"interviews", "population_margins"} <= tables
    responses.close()


def test_an_unusable_database_is_a_database_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(DatabaseError):
        MarginsStore(f"sqlite:///{blocker / 'sub' / 'survey.db'}")


def test_margins_on_postgresql(postgres_url):
    store = MarginsStore(postgres_url)
    saved = store.save(parse_margins(full_table(), source=SOURCE, reference_date=DAY))
    assert store.latest() == saved and saved.reference_date == DAY
    store.close()
