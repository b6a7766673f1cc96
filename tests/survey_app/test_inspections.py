"""Inspection records: row-by-row checks, all or nothing, storage on SQLite and PostgreSQL, pass rates."""
from __future__ import annotations

import io
from datetime import date

import numpy as np
import pandas as pd
import pytest

from analysis.passrates import clopper_pearson
from survey_app.inspections import (InspectionError, InspectionRejectedError, InspectionStore, import_inspections,
                                    inspection_categories, inspection_pass_rates, read_inspections)
from tests.conftest import REFERENCE_DIR

HEADER = "sample_id,category,district,date,result,failed_item,stratum,weight,selection_probability\n"


def clean_file(rng: np.random.Generator, n: int = 40, *, weighted: bool = False) -> str:
    rows = []
    for i in range(n):
        category = ["food", "aquatic_products"][i % 2]
        result = "fail" if rng.random() < 0.05 else "pass"
        weight = f"{rng.uniform(1, 3):.3f}" if weighted else ""
        rows.append(f"S{i:04d},{category},{['chongchuan', '海门区', 'Rugao'][i % 3]},2026-0{1 + i % 6}-15,{result},"
                    f"{'菌落总数' if result == 'fail' else ''},{'s' + str(i % 2) if weighted else ''},{weight},")
    return HEADER + "\n".join(rows) + "\n"


def stored_ids(store: InspectionStore) -> list[str]:
    return list(store.records()["sample_id"])


@pytest.mark.parametrize(
    ("line", "column", "kind"),
    [
        ("X1,toys,chongchuan,2026-01-02,pass,,,,", "category", "unknown_category"),
        ("X1,food,chongchuan,2026-01-02,maybe,,,,", "result", "bad_result"),
        ("X1,food,chongchuan,2026-01-02,pass,,,0,", "weight", "bad_weight"),
        ("X1,food,chongchuan,2026-01-02,pass,,,-2,", "weight", "bad_weight"),
        ("X1,food,chongchuan,2026-01-02,pass,,,abc,", "weight", "bad_weight"),
        ("S0003,food,chongchuan,2026-01-02,pass,,,,", "sample_id", "duplicate_id"),
        ("X1,food,beijing,2026-01-02,pass,,,,", "district", "unknown_district"),
        ("X1,food,chongchuan,02/01/2026,pass,,,,", "date", "bad_date"),
        ("X1,food,chongchuan,2026-01-02,pass,,,,1.5", "selection_probability", "bad_probability"),
    ],
)
def test_a_damaged_file_is_refused_with_row_and_reason_and_nothing_is_stored(tmp_path, rng, line, column, kind):
    store = InspectionStore(f"sqlite:///{tmp_path / 'survey.db'}")
    text = clean_file(rng, 10)
    lines = text.splitlines()
    lines.insert(6, line)  # file row 7 (the header is row 1)
    with pytest.raises(InspectionRejectedError) as caught:
        import_inspections(store, ("\n".join(lines) + "\n").encode(), "damaged.csv", actor="chief")
    problems = caught.value.problems
    assert len(problems) == 1, problems
    problem = problems.iloc[0]
    assert (problem["row"], problem["column"], problem["kind"]) == (7, column, kind)
    assert problem["problem"].startswith("row 7: ")
    assert stored_ids(store) == []  # nothing stored, not even the nine clean rows


def test_every_problem_of_a_file_is_listed(rng):
    text = HEADER + "A,toys,chongchuan,2026-01-02,pass,,,,\nA,food,chongchuan,2026-01-02,ok,,,0,\n"
    with pytest.raises(InspectionRejectedError) as caught:
        read_inspections(text.encode(), "two.csv")
    problems = caught.value.problems
    assert list(zip(problems["row"], problems["kind"])) == [(2, "unknown_category"), (3, "duplicate_id"),
                                                            (3, "bad_result"), (3, "bad_weight")]
    assert "row 3: sample id 'A' is given twice (also in row 2)" in str(caught.value)


def test_unreadable_files_and_missing_columns_are_explained():
    with pytest.raises(InspectionError, match="use a .csv or .xlsx"):
        read_inspections(b"x", "records.txt")
    with pytest.raises(InspectionError, match="lacks the column\\(s\\) result"):
        read_inspections(b"sample_id,category,district,date\nA,food,chongchuan,2026-01-02\n", "x.csv")
    with pytest.raises(InspectionRejectedError, match="mixed|weights in some rows"):
        read_inspections((HEADER + "A,food,chongchuan,2026-01-02,pass,,,2,\nB,food,haimen,2026-01-02,pass,,,,\n")
                         .encode(), "x.csv")


def test_a_clean_file_is_stored_once_and_audited(accounts, db_url, rng):
    store = InspectionStore(db_url)
    data = clean_file(rng, 40).encode()
    result = import_inspections(store, data, "2026h1.csv", actor="chief")
    assert result.stored == 40 and result.categories == {"food": 20, "aquatic_products": 20}
    records = store.records()
    assert sorted(records["sample_id"]) == [f"S{i:04d}" for i in range(40)]
    assert set(records["district"]) == {"chongchuan", "haimen", "rugao"}  # names stored as codes
    assert records["failed_item"].notna().sum() == (~records["passed"]).sum()
    # importing again stores nothing: every sample id is already there
    with pytest.raises(InspectionRejectedError) as caught:
        import_inspections(store, data, "2026h1.csv", actor="chief")
    assert set(caught.value.problems["kind"]) == {"already_stored"} and len(caught.value.problems) == 40
    assert len(store.records()) == 40
    log = accounts.audit_log(accounts.get_user("chief"))
    imported = log[log["action"] == "import_inspections"]
    assert len(imported) == 1 and imported.iloc[0]["target"] == "2026h1.csv"


def test_an_excel_file_is_read_like_a_csv(tmp_path, rng):
    frame = pd.read_csv(io.StringIO(clean_file(rng, 12)), dtype=str, keep_default_na=False)
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False)
    from_excel = read_inspections(buffer.getvalue(), "records.xlsx")
    from_csv = read_inspections(clean_file(np.random.default_rng(int(rng.integers(1))), 12).encode(), "r.csv")
    assert len(from_excel) == 12 and list(from_excel.columns) == list(from_csv.columns)


def test_pass_rates_from_stored_records_are_exact_or_design_based(tmp_path, rng):
    store = InspectionStore(f"sqlite:///{tmp_path / 'survey.db'}")
    import_inspections(store, clean_file(rng, 60).encode(), "a.csv", actor="chief")
    records = store.records()
    table = inspection_pass_rates(records).to_frame().set_index("target")
    food = records[records["category"] == "food"]
    low, high = clopper_pearson(int(food["passed"].sum()), len(food))
    assert table.loc["food_sampling_pass_rate", "method"] == "exact"
    assert table.loc["food_sampling_pass_rate", "ci_low"] == pytest.approx(low, rel=1e-12)
    assert table.loc["food_sampling_pass_rate", "ci_high"] == pytest.approx(high, rel=1e-12)
    assert table.loc["iodised_salt_pass_rate", "verdict"] == "no data"
    assert set(table.index) == {t.id for t in inspection_categories().values()}
    # a weighted, stratified upload gives the design-based interval
    other = InspectionStore(f"sqlite:///{tmp_path / 'other.db'}")
    import_inspections(other, clean_file(rng, 60, weighted=True).encode(), "b.csv", actor="chief")
    weighted = inspection_pass_rates(other.records(), by="period", period="quarter").to_frame()
    food = weighted[weighted["target"] == "food_sampling_pass_rate"]
    assert set(food["method"]) == {"beta"}
    assert list(food["domain"]) == ["all", "2026Q1", "2026Q2"]


def test_the_sample_of_the_r_reference_gives_r_s_intervals(tmp_path):
    """The committed inspection sample, uploaded: the pass rates equal svyciprop(method = "beta")."""
    sample = pd.read_csv(REFERENCE_DIR / "passrates_sample.csv")
    upload = sample.assign(date="2026-05-01", result=np.where(sample["passed"] == 1, "pass", "fail"),
                           stratum=sample["district"])[["sample_id", "category", "district", "date", "result",
                                                        "stratum", "weight"]]
    store = InspectionStore(f"sqlite:///{tmp_path / 'survey.db'}")
    import_inspections(store, upload.to_csv(index=False).encode(), "reference.csv", actor="chief")
    table = inspection_pass_rates(store.records()).to_frame().set_index("category")
    reference = pd.read_csv(REFERENCE_DIR / "passrates_reference.csv", dtype={"domain": str})
    own = reference[reference["case"] == "beta_own_design/level=0.95"]
    assert len(own) == 6
    for row in own.itertuples():
        assert table.loc[row.domain, row.quantity] == pytest.approx(row.value, rel=1e-6)
    assert table.loc["aquatic_products", "ci_high"] == 1.0  # no failure: Clopper-Pearson on Kish's n


def test_inspections_on_postgresql(postgres_url, rng):
    store = InspectionStore(postgres_url)
    import_inspections(store, clean_file(rng, 20).encode(), "pg.csv", actor="chief")
    records = store.records()
    assert len(records) == 20 and isinstance(records["sampled_on"].iloc[0], date)
    with pytest.raises(InspectionRejectedError):
        import_inspections(store, clean_file(rng, 20).encode(), "pg.csv", actor="chief")
    assert len(store.records()) == 20
    store.close()
