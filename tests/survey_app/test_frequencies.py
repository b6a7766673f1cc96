"""The frequency tables page and ``survey_app.results.frequency_table``."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from questionnaires import load_districts, shipped_questionnaires
from survey_app.demo import DEMO_WAVES
from survey_app.i18n import t
from survey_app.reporting import ReportSettings, build_report, respondent_designs
from survey_app.results import frequency_table
from survey_app.store import ResponseStore
from tests.survey_app.signed_in import open_results_page, shows_no_error as clean

PAGE = Path(__file__).parent.parent.parent / "survey_app" / "pages" / "frequencies.py"
TIMEOUT = 120
LATEST = DEMO_WAVES[-1]
FORMS = shipped_questionnaires()


def open_page(url: str, monkeypatch, *, lang: str = "en") -> AppTest:
    return clean(open_results_page(PAGE, url, monkeypatch, lang=lang, timeout=TIMEOUT))


@pytest.fixture(scope="module")
def latest(demo_url) -> pd.DataFrame:
    return ResponseStore(demo_url).responses_frame(wave=LATEST)


def respondent_design(frame: pd.DataFrame, questionnaire_id: str, settings: ReportSettings):
    return respondent_designs(frame, settings=settings)[questionnaire_id]


def tabled(form_id: str) -> list[str]:
    """The questions the page tables, in order."""
    return [q.name for q in FORMS[form_id].questions
            if q.type in ("select_one", "select_multiple", "integer", "decimal") and q.name != "consent"]


def test_empty_database_offers_the_demo(tmp_path, monkeypatch):
    at = open_page(f"sqlite:///{tmp_path / 'empty.db'}", monkeypatch)
    assert at.button(key="load_demo") and not at.dataframe


@pytest.mark.parametrize("form_id", ["consumer_environment", "public_services"])
def test_overall_tables_equal_the_report(demo_url, latest, monkeypatch, form_id):
    at = open_page(demo_url, monkeypatch)
    at.selectbox(key="frequencies_questionnaire").set_value(form_id).run()
    clean(at)
    report = build_report(latest, wave=LATEST).frequencies[form_id]
    names = tabled(form_id)
    assert [s.value for s in at.subheader] == [FORMS[form_id].question(n).label.get("en") for n in names]
    for name, table in zip(names, (d.value for d in at.dataframe), strict=True):
        expected = report.loc[report["question"] == name]
        column = t("frequencies.mean", "en") if expected["code"].iloc[0] == "mean" else t("frequencies.share", "en")
        np.testing.assert_allclose(table[column].to_numpy(float), expected["estimate"].to_numpy(float),
                                   rtol=1e-12, err_msg=name)


def test_tables_by_district_are_the_shares_within_each_district(demo_url, latest, monkeypatch):
    at = open_page(demo_url, monkeypatch)
    at.selectbox(key="frequencies_questionnaire").set_value("consumer_environment").run()
    at.segmented_control(key="frequencies_by").set_value("district").run()
    clean(at)
    names = [n for n in tabled("consumer_environment") if n != "district"]
    tables = dict(zip(names, (d.value for d in at.dataframe), strict=True))
    shown = tables["overall_satisfaction"]
    districts = {c.name: c.label.get("en") for c in load_districts()}
    assert list(shown.columns) == list(districts.values())  # official order
    # independent reference: with equal design weights a domain share is a share of counts
    rows = latest.loc[(latest["questionnaire_id"] == "consumer_environment") & (latest["consent"] == "yes")]
    for code, name in districts.items():
        answers = rows.loc[rows["district"] == code, "overall_satisfaction"]
        counts = answers.value_counts(normalize=True)
        labels = {c.name: c.label.get("en") for c in FORMS["consumer_environment"].choices("overall_satisfaction")}
        for answer, label in labels.items():
            assert shown.loc[label, name] == pytest.approx(counts.get(answer, 0.0), abs=1e-12), (code, answer)


def test_breakdowns_of_a_multiple_choice_survey_render(demo_url, monkeypatch):
    at = open_page(demo_url, monkeypatch, lang="zh")
    at.selectbox(key="frequencies_questionnaire").set_value("public_services").run()
    for by in ("sex", "age_group", "urban_rural"):
        at.segmented_control(key="frequencies_by").set_value(by).run()
        clean(at)
        assert at.dataframe


@pytest.mark.parametrize("by", [None, "sex", "district"])
@pytest.mark.parametrize("question", ["overall_satisfaction", "complaint_channels", "age"])
def test_frequency_table_invariants(latest, by, question):
    design = respondent_design(latest, "consumer_environment", ReportSettings())
    table = frequency_table(design, "consumer_environment", question, by=by, ci_method="logit", level=0.95)
    assert not table.empty
    data = design.data
    if question != "age":
        assert table["estimate"].between(0, 1).all()
    if question == "overall_satisfaction":
        # single choice: the shares of each group add up to 1, counts to the group's respondents
        sums = table.groupby("group")["estimate"].sum()
        np.testing.assert_allclose(sums.to_numpy(), 1.0, rtol=1e-12)
        assert (table.groupby("group")["count"].sum() == table.groupby("group")["n"].first()).all()
    elif question == "complaint_channels":
        # several answers: counts are the respondents ticking each option
        chosen = data["complaint_channels"].dropna().str.split()
        expected = sum(("hotline_12315" in c) for c in chosen)
        assert table.loc[table["code"] == "hotline_12315", "count"].sum() == expected
    else:
        assert (table["code"] == "mean").all()


def test_frequency_table_ignores_the_scale_of_the_weights(latest):
    # multiplying every weight by a constant changes no share (R: svymean is scale free)
    frame = latest.assign(weight=3.7)
    plain = respondent_design(latest, "consumer_environment", ReportSettings())
    scaled = respondent_design(frame, "consumer_environment", ReportSettings())
    for by in (None, "age_group"):
        a = frequency_table(plain, "consumer_environment", "env_safety", by=by, ci_method="beta", level=0.9)
        b = frequency_table(scaled, "consumer_environment", "env_safety", by=by, ci_method="beta", level=0.9)
        np.testing.assert_allclose(a["estimate"], b["estimate"], rtol=1e-12)
        np.testing.assert_allclose(a["ci_low"], b["ci_low"], rtol=1e-9)


def test_frequency_table_refuses_text_questions(latest):
    design = respondent_design(latest, "consumer_environment", ReportSettings())
    with pytest.raises(ValueError, match="'suggestions' is text"):
        frequency_table(design, "consumer_environment", "suggestions", by=None, ci_method="logit", level=0.95)
