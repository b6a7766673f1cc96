"""The report's target tables by district, sex, age group and urban/rural; its designs; the
trend across waves; and the design weights of stored sample assignments.

Domain rows are compared with :class:`analysis.SurveyDesign` on indicators built here with
pandas, and with R's ``survey`` package (``svyby(..., svyciprop)``).
"""
from __future__ import annotations

import io
import pickle
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from analysis import OVERALL, SurveyDesign
from analysis.sampling import select_psus
from analysis.targets import load_targets
from questionnaires import load_districts, shipped_questionnaires
from survey_app.assignments import AssignmentStore
from survey_app import reporting
from survey_app.excel import write_report
from survey_app.reporting import (DOMAIN_VARIABLES, ReportError, ReportSettings, build_report, respondent_designs,
                                  report_from_store, target_column, target_trend)
from survey_app.store import ResponseStore
from tests.conftest import require_program
from tests.survey_app.test_excel_report import simulate_interviews

FORMS = shipped_questionnaires()
ALL_DOMAINS = ("district", "sex", "age_group", "urban_rural")
TARGET = "consumer_environment_satisfaction"
_CACHE: dict[str, object] = {}


@pytest.fixture
def frame(rng) -> pd.DataFrame:
    """Submitted interviews of two questionnaires in two waves (built once; the rng is seeded)."""
    if "frame" not in _CACHE:
        store = ResponseStore("sqlite:///:memory:")
        for wave in ("2025", "2026"):
            simulate_interviews(store, rng, questionnaires=("consumer_environment", "tourist_satisfaction"),
                                psu_sizes=(4, 6), wave=wave)
        _CACHE["frame"] = store.responses_frame()
        store.close()
    return _CACHE["frame"]


def one_wave(frame: pd.DataFrame, wave: str = "2026") -> pd.DataFrame:
    return frame.loc[frame["wave"] == wave]


def satisfied(frame: pd.DataFrame) -> tuple[pd.DataFrame, SurveyDesign]:
    """Consenting consumer-environment respondents with the target's 0/1 indicator, built here."""
    data = frame.loc[(frame["questionnaire_id"] == "consumer_environment") & (frame["consent"] == "yes")]
    data = data.reset_index(drop=True)
    answer = data["overall_satisfaction"]
    data["y"] = answer.isin(["4", "5"]).astype(float).where(answer.notna())
    return data, SurveyDesign(data, strata="sample_district", psu="psu", nest=True, lonely_psu="adjust")


def test_domain_rows_by_sex_are_the_design_estimates(frame):
    tables = build_report(one_wave(frame), settings=ReportSettings(domains=ALL_DOMAINS))
    domains = tables.domains[TARGET]
    _, design = satisfied(one_wave(frame))
    by_sex = design.proportion("y", by="sex", ci_method="logit").to_frame()
    rows = domains.loc[domains["domain_variable"] == "sex"].set_index("domain_code")
    assert list(rows.index) == ["male", "female"]  # questionnaire order
    for code in rows.index:
        for column in ("estimate", "se", "ci_low", "ci_high", "df", "n"):
            assert rows.loc[code, column] == pytest.approx(by_sex.loc[code, column], rel=1e-12), (code, column)
    assert list(rows["domain_zh"]) == ["男", "女"] and list(rows["domain_en"]) == ["Male", "Female"]
    assert (rows.index.map(lambda c: f"sex:{c}") == domains.index[domains["domain_variable"] == "sex"]).all()


def test_domain_table_order_labels_and_no_data_rows(frame):
    tables = build_report(one_wave(frame), settings=ReportSettings(domains=ALL_DOMAINS))
    domains = tables.domains[TARGET]
    assert domains.index.name == "domain"
    assert list(domains["domain_variable"].unique()) == ["overall", *ALL_DOMAINS]
    assert domains.loc[OVERALL, "domain_zh"] == "全市"
    assert list(domains.loc[domains["domain_variable"] == "district"].index) == [d.name for d in load_districts()]
    ages = [c.name for c in FORMS["consumer_environment"].choices("age_group")]
    assert list(domains.loc[domains["domain_variable"] == "age_group", "domain_code"]) == ages
    # every category's rows sum back to the overall count of the denominator
    for variable in ALL_DOMAINS:
        assert domains.loc[domains["domain_variable"] == variable, "n"].sum() == domains.loc[OVERALL, "n"]
    # the breakdowns do not change the overall verdicts or the district rows
    plain = build_report(one_wave(frame))
    pd.testing.assert_frame_equal(plain.overview, tables.overview)
    pd.testing.assert_frame_equal(plain.domains[TARGET], domains.loc[domains["domain_variable"].isin(
        ["overall", "district"])])
    pd.testing.assert_frame_equal(plain.district_verdicts, tables.district_verdicts)
    # a target without respondents lists every category as "no data"
    empty = tables.domains["telecom_user_satisfaction"]
    assert (empty["verdict"] == "no data").all()
    assert len(empty) == 1 + 8 + 2 + 4 + 2


def test_the_default_report_has_districts_only(frame):
    domains = build_report(one_wave(frame)).domains[TARGET]
    assert list(domains["domain_variable"].unique()) == ["overall", "district"]
    assert list(domains.columns[:4]) == ["domain_variable", "domain_code", "domain_zh", "domain_en"]


@pytest.mark.parametrize(("domains", "message"), [
    (("district", "gender"), r"\['gender'\] not known; choose among district, sex, age_group, urban_rural"),
    (("sex",), "include 'district'"),
    (("district", "sex", "sex"), "name each variable once"),
])
def test_unknown_or_incomplete_domains_are_refused(domains, message):
    with pytest.raises(ReportError, match=message):
        ReportSettings(domains=domains)
    assert ReportSettings(domains="district").domains == ("district",)  # one name is a one-name tuple
    assert set(DOMAIN_VARIABLES) == set(ALL_DOMAINS)


def test_the_workbook_takes_the_domain_rows(frame):
    tables = build_report(one_wave(frame), settings=ReportSettings(domains=("district", "urban_rural")))
    buffer = io.BytesIO()
    write_report(tables, buffer)
    workbook = load_workbook(io.BytesIO(buffer.getvalue()))
    cells = {c.value for ws in workbook.worksheets for row in ws.iter_rows() for c in row}
    assert {"城镇", "农村"} <= cells


def test_the_report_exposes_its_designs_and_still_pickles(frame):
    data = one_wave(frame)
    tables = build_report(data)
    assert set(tables.designs) == {"consumer_environment", "tourist_satisfaction"}
    again = respondent_designs(data, targets=load_targets())
    for qid, design in tables.designs.items():
        np.testing.assert_array_equal(design.weights, again[qid].weights)
    # the target indicator in the design is the one built here
    mine, _ = satisfied(data)
    np.testing.assert_array_equal(tables.designs["consumer_environment"].data[target_column(TARGET)], mine["y"])
    copy = pickle.loads(pickle.dumps(tables))  # before the frequencies are computed
    pd.testing.assert_frame_equal(copy.frequencies["consumer_environment"],
                                  tables.frequencies["consumer_environment"])
    pickle.loads(pickle.dumps(tables))  # and after
    assert list(tables.frequencies) == list(tables.designs)


def test_the_trend_is_the_overview_of_each_wave(frame):
    trend = target_trend(frame)
    assert list(trend["wave"].unique()) == ["2025", "2026"]
    for wave in ("2025", "2026"):
        overview = build_report(one_wave(frame, wave)).overview
        rows = trend.loc[trend["wave"] == wave].set_index("target")
        assert list(rows.index) == list(overview.index)
        for column in ("estimate", "ci_low", "ci_high", "n", "p_value"):
            np.testing.assert_array_equal(rows[column].to_numpy(float), overview[column].to_numpy(float))
        assert list(rows["verdict"]) == list(overview["verdict"])


R_SCRIPT = """
suppressMessages(library(survey))
options(survey.lonely.psu = "adjust")
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], colClasses = c(psu = "character"))
des <- svydesign(ids = ~psu, strata = ~sample_district, nest = TRUE, data = d)
r <- svyby(~y, ~sex, des, svyciprop, method = "logit", vartype = c("se", "ci"), na.rm = TRUE)
write.csv(data.frame(sex = r$sex, estimate = coef(r), se = SE(r), ci_low = r$ci_l, ci_high = r$ci_u),
          args[2], row.names = FALSE)
"""


@pytest.mark.r_reference
def test_domain_rows_by_sex_reproduce_r_survey(frame, tmp_path: Path):
    rscript = require_program("Rscript")
    data, _ = satisfied(one_wave(frame))
    data[["sample_district", "psu", "sex", "y"]].to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "r.R").write_text(R_SCRIPT)
    subprocess.run([rscript, str(tmp_path / "r.R"), str(tmp_path / "d.csv"), str(tmp_path / "out.csv")],
                   check=True, capture_output=True, timeout=120)
    reference = pd.read_csv(tmp_path / "out.csv").set_index("sex")
    domains = build_report(one_wave(frame), settings=ReportSettings(domains=("district", "sex"))).domains[TARGET]
    rows = domains.loc[domains["domain_variable"] == "sex"].set_index("domain_code")
    for code in ("male", "female"):
        assert rows.loc[code, "estimate"] == pytest.approx(reference.loc[code, "estimate"], rel=1e-9)
        for column in ("se", "ci_low", "ci_high"):
            assert rows.loc[code, column] == pytest.approx(reference.loc[code, column], rel=1e-6), (code, column)


# -- design weights of the stored sample assignments -----------------------------------------


def assigned_survey(url: str, rng: np.random.Generator) -> pd.DataFrame:
    """Tourist interviews in the PSUs of a stored list for wave 2026; returns that list."""
    rows = [{"district": d.name, "psu": f"{i:03d}", "psu_name": f"{d.name}-{i}", "size": int(rng.integers(200, 5000)),
             "households": 100} for d in load_districts() for i in range(int(rng.integers(4, 9)))]
    assignments = select_psus(pd.DataFrame(rows), psus=2, interviews_per_psu=5, seed=3,
                              units="households").assignments()
    AssignmentStore(url).save(assignments, wave="2026")
    store = ResponseStore(url)
    for row in assignments.itertuples(index=False):
        level = rng.normal(80, 6)
        for _ in range(int(rng.integers(3, 6))):
            iid = store.start_interview("tourist_satisfaction", "1", interviewer="A01", district=row.district,
                                        psu=row.psu, wave="2026")
            store.submit(iid, {"consent": "yes", "district": row.district,
                               "tourist_score": int(np.clip(round(level + rng.normal(0, 8)), 0, 100))})
    store.close()
    return assignments


def test_report_from_store_uses_the_stored_design_weights_and_fpc(tmp_path, rng):
    url = f"sqlite:///{tmp_path / 'survey.db'}"
    assignments = assigned_survey(url, rng)
    target = [t for t in load_targets() if t.id == "tourist_satisfaction_index"]
    store = ResponseStore(url)
    tables = report_from_store(store, targets=target)
    plain = build_report(store.responses_frame(), targets=target)
    merged = store.responses_frame().merge(assignments.rename(columns={"district": "sample_district"}),
                                           on=["sample_district", "psu"], how="left")
    store.close()
    direct = SurveyDesign(merged.loc[merged["consent"] == "yes"], weights="design_weight", strata="sample_district",
                          psu="psu", fpc="fpc", nest=True, lonely_psu="adjust")
    expected = direct.mean("tourist_score").to_frame().loc[OVERALL]
    row = tables.overview.loc["tourist_satisfaction_index"]
    for column in ("estimate", "se", "ci_low", "ci_high"):
        assert row[column] == pytest.approx(expected[column], rel=1e-10), column
    assert row["se"] != pytest.approx(plain.overview.loc["tourist_satisfaction_index", "se"], rel=1e-6)
    methods = dict(zip(tables.methods["item"], tables.methods["value"]))
    assert "sample assignments stored" in methods["基础权重 Base weights"]
    assert methods["有限总体校正 Finite population correction"].startswith("PSUs in the district's sampling frame")
    assert "fpc" in tables.designs["tourist_satisfaction"].describe().split(", ")


def test_a_wave_without_assignments_keeps_equal_weights_and_says_so(tmp_path, rng):
    url = f"sqlite:///{tmp_path / 'survey.db'}"
    assigned_survey(url, rng)
    store = ResponseStore(url)
    iid = store.start_interview("tourist_satisfaction", "1", interviewer="A01", district="haian", psu="x1",
                                wave="2025")
    store.submit(iid, {"consent": "yes", "district": "haian", "tourist_score": 70})
    target = [t for t in load_targets() if t.id == "tourist_satisfaction_index"]
    old = report_from_store(store, targets=target, wave="2025")
    assert old.overview.loc["tourist_satisfaction_index", "estimate"] == 70
    assert dict(zip(old.methods["item"], old.methods["value"]))["基础权重 Base weights"].startswith("1 per interview")
    # both waves at once would weight some interviews and not others: refused with the fix
    with pytest.raises(ReportError, match=r"waves 2025: no stored sample assignments.*one wave at a time"):
        report_from_store(store, targets=target)
    store.close()


def test_a_report_without_frequencies_has_the_same_targets(frame):
    data = one_wave(frame)
    full = build_report(data)
    light = build_report(data, frequencies=False, text_answers=False)
    pd.testing.assert_frame_equal(light.overview, full.overview)
    pd.testing.assert_frame_equal(light.domains[TARGET], full.domains[TARGET])
    assert dict(light.frequencies) == {} and light.text_answers.empty and not full.text_answers.empty
    for qid, design in light.designs.items():
        np.testing.assert_array_equal(design.weights, full.designs[qid].weights)
        assert not any(c.startswith("_choice_") for c in design.data.columns)


def test_an_fpc_missing_for_some_interviews_is_not_used_and_the_methods_say_so(frame):
    data = one_wave(frame).assign(weight=2.0, fpc=40.0)
    data.loc[data.index[:5], "fpc"] = float("nan")  # a few interviews without their frame size
    tables = build_report(data)
    plain = build_report(one_wave(frame))
    # no fpc at all for that questionnaire: constant weights change nothing, so the estimates are the plain ones
    first = data["questionnaire_id"].iloc[0]
    assert "no fpc" in tables.designs[first].describe().split(", ")
    target = next(t for t in tables.overview.index if tables.overview.loc[t, "questionnaire"] == first)
    assert tables.overview.loc[target, "se"] == pytest.approx(plain.overview.loc[target, "se"], rel=1e-12)
    methods = dict(zip(tables.methods["item"], tables.methods["value"]))
    assert f"not applied to {first}" in methods["有限总体校正 Finite population correction"]


# -- which answers count ------------------------------------------------------------------------

ANSWERS = st.one_of(st.none(), st.just(np.nan), st.sampled_from(["", " ", "\t", "a", " b ", "a b", "c  a", "z"]),
                    st.integers(0, 3))


@settings(max_examples=80, deadline=None)
@given(values=st.lists(ANSWERS, max_size=30), data=st.data())
def test_answers_count_when_not_missing_and_not_blank(values, data):
    """The report's rules, value by value: blank text is no answer, a number is one; free text
    must be text; a select_multiple answer chooses the codes it names."""
    column = pd.Series(values, dtype=object)
    rows = np.array(data.draw(st.lists(st.booleans(), min_size=len(values), max_size=len(values))), dtype=bool)

    def missing(value):
        return value is None or (isinstance(value, float) and np.isnan(value))

    answered = [not missing(v) and not (isinstance(v, str) and not v.strip()) for v in values]
    assert reporting._answered(column).tolist() == answered
    assert reporting._any_answered(column, rows) == any(a for a, r in zip(answered, rows) if r)
    assert reporting._given_text(column).tolist() == [isinstance(v, str) and bool(v.strip()) for v in values]
    form = FORMS["consumer_environment"]
    question = form.question("complaint_channels")
    codes = [c.name for c in form.choices(question)]
    words = [codes[0], codes[1], codes[-1]]
    texts = pd.Series([" ".join(words[len(v) % 3:]) if isinstance(v, str) and v.strip() else v
                       for v in values], dtype=object)
    added = reporting._add_multiple_indicators(pd.DataFrame({"complaint_channels": texts}), form)
    for code in codes:
        expected = [float(code in v.split()) if isinstance(v, str) and v.strip() else np.nan for v in texts]
        np.testing.assert_array_equal(added[reporting.choice_column("complaint_channels", code)].to_numpy(),
                                      expected)
