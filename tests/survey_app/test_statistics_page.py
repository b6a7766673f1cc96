"""The statistician's page in ``streamlit.testing.v1.AppTest``: settings, the reporting
numbers, the weight distribution, margins upload."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from analysis import SurveyDesign
from survey_app.demo import DEMO_WAVES, demo_margins
from analysis.targets import load_targets
from survey_app.i18n import t
from survey_app.margins import MarginsStore
from survey_app.pages.statistics import WITHHELD_COLUMNS, verdicts_in_words
from survey_app.reporting import ReportSettings, build_report, respondent_designs
from survey_app.results import NON_RESIDENT_SURVEYS, weight_summary
from survey_app.store import ResponseStore
from tests.survey_app.signed_in import open_results_page, shows_no_error as clean

PAGE = Path(__file__).parent.parent.parent / "survey_app" / "pages" / "statistics.py"
TIMEOUT = 120
LATEST = DEMO_WAVES[-1]
NUMBERS = ["estimate", "se", "ci_low", "ci_high", "threshold", "df", "deff", "n", "n_eff", "p_value"]


def open_page(url: str, monkeypatch, *, lang: str = "en") -> AppTest:
    return clean(open_results_page(PAGE, url, monkeypatch, lang=lang, timeout=TIMEOUT))


def estimates_shown(at: AppTest) -> pd.DataFrame:
    return at.dataframe[0].value


def as_shown(table: pd.DataFrame, column: str) -> np.ndarray:
    """The report's ``column`` as the page shows it: no estimate where there are too few
    respondents (issue 13)."""
    values = table[column].to_numpy(float).copy()
    if column in WITHHELD_COLUMNS:
        values[(table["too_few"] & (table["verdict"] != "no data")).to_numpy()] = np.nan
    return values


def resident_surveys() -> tuple[str, ...]:
    from questionnaires import shipped_questionnaires

    return tuple(q for q in shipped_questionnaires() if q not in NON_RESIDENT_SURVEYS)


def test_empty_database_offers_the_demo_and_the_margins_upload(tmp_path, monkeypatch):
    at = open_page(f"sqlite:///{tmp_path / 'empty.db'}", monkeypatch)
    assert at.button(key="load_demo")
    assert t("statistics.margins", "en") in [s.value for s in at.subheader]
    assert t("statistics.margins_none", "en") in [c.value for c in at.caption]


def test_estimates_are_the_reporting_numbers(demo_url, monkeypatch):
    at = open_page(demo_url, monkeypatch)
    overview = build_report(ResponseStore(demo_url).responses_frame(wave=LATEST), wave=LATEST).overview
    shown = estimates_shown(at)
    assert list(shown[t("statistics.target", "en")]) == list(overview["label_en"])
    for column in NUMBERS:
        np.testing.assert_array_equal(shown[column].to_numpy(float), as_shown(overview, column), err_msg=column)
    # the domain table of the first target: overall and the eight districts
    domains = at.dataframe[1].value
    assert len(domains) == 9 and domains["estimate"].iloc[0] == overview["estimate"].iloc[0]


def test_the_verdict_and_the_estimate_come_first(demo_url, monkeypatch):
    # A tablet shows the first columns without scrolling sideways (issue 13).
    at = open_page(demo_url, monkeypatch, lang="zh")
    shown = estimates_shown(at)
    assert list(shown.columns) == [t("statistics.target", "zh"), t("statistics.verdict", "zh"), "estimate", "ci_low",
                                   "ci_high", "threshold", "se", "n", "n_eff", "deff", "df", "p_value"]
    overview = build_report(ResponseStore(demo_url).responses_frame(wave=LATEST), wave=LATEST).overview
    assert list(shown[t("statistics.verdict", "zh")]) == verdicts_in_words(overview, "zh")
    # the demo's wave has a target below the minimum sample, which says so instead of a verdict
    assert t("statistics.too_few_cell", "zh", n=25, needed="30") in list(shown[t("statistics.verdict", "zh")])


def test_domains_by_sex_are_the_reporting_rows(demo_url, monkeypatch):
    at = open_page(demo_url, monkeypatch)
    at.multiselect(key="stats_domains").set_value(["district", "sex"]).run()
    clean(at)
    assert at.session_state["results_settings"].domains == ("district", "sex")  # shared with the other pages
    report = build_report(ResponseStore(demo_url).responses_frame(wave=LATEST), wave=LATEST,
                          settings=ReportSettings(domains=("district", "sex")))
    expected = report.domains[report.overview.index[0]]
    shown = at.dataframe[1].value
    assert list(shown["name"]) == list(expected["domain_en"])
    assert list(shown.loc[shown["variable"] == "Sex", "name"]) == ["Male", "Female"]
    for column in ("estimate", "ci_low", "ci_high", "df", "deff", "n", "n_eff"):
        np.testing.assert_array_equal(shown[column].to_numpy(float), as_shown(expected, column), err_msg=column)
    # sex alone: the whole city and the two sexes; the report still has the districts (dashboard, workbook)
    at.multiselect(key="stats_domains").set_value(["sex"]).run()
    clean(at)
    shown = at.dataframe[1].value
    assert list(shown["variable"]) == ["Overall", "Sex", "Sex"]
    assert shown["estimate"].iloc[1] == expected.loc["sex:male", "estimate"]


def test_raking_to_the_saved_margins(demo_url, monkeypatch):
    at = open_page(demo_url, monkeypatch)
    at.radio(key="stats_weighting").set_value("rake").run()
    clean(at)
    assert at.session_state["results_settings"].weighting == "rake"
    margins = MarginsStore(demo_url).latest()
    expected = build_report(
        ResponseStore(demo_url).responses_frame(wave=LATEST), wave=LATEST,
        settings=ReportSettings(weighting="rake", margins=margins.rake_margins(), calibrate=resident_surveys()),
    ).overview
    np.testing.assert_array_equal(estimates_shown(at)["estimate"].to_numpy(float), as_shown(expected, "estimate"))
    # fewer margins: rake on sex and age group only
    at.multiselect(key="stats_rake").set_value(["sex", "age_group"]).run()
    clean(at)
    expected = build_report(
        ResponseStore(demo_url).responses_frame(wave=LATEST), wave=LATEST,
        settings=ReportSettings(weighting="rake", margins=margins.rake_margins(["sex", "age_group"]),
                                calibrate=resident_surveys()),
    ).overview
    np.testing.assert_array_equal(estimates_shown(at)["estimate"].to_numpy(float), as_shown(expected, "estimate"))


def test_weight_distribution_of_the_raked_design(demo_url, monkeypatch):
    at = open_page(demo_url, monkeypatch)
    at.radio(key="stats_weighting").set_value("rake").run()
    at.selectbox(key="statistics_weights_form").set_value("consumer_environment").run()
    clean(at)
    # the weight table: the one with the statistic names (the further analyses come before it)
    table = next(f.value for f in at.dataframe if t("statistics.stat", "en") in f.value.columns)
    shown = dict(zip(table[t("statistics.stat", "en")], table[t("statistics.value", "en")]))
    frame = ResponseStore(demo_url).responses_frame(wave=LATEST)
    design = respondent_designs(frame, settings=ReportSettings(
        weighting="rake", margins=MarginsStore(demo_url).latest().rake_margins(),
        calibrate=resident_surveys()))["consumer_environment"]
    weights = design.weights
    # raked weights add up to the population and vary
    assert shown[t("statistics.w_n", "en")] == f"{len(weights)}"
    assert shown[t("statistics.w_sum", "en")] == f"{weights.sum():,.0f}"
    assert weights.sum() == pytest.approx(demo_margins().total("district"), rel=1e-9)
    assert float(shown[t("statistics.w_kish_deff", "en")]) > 1


def test_interval_method_and_level_change_the_intervals(demo_url, monkeypatch):
    at = open_page(demo_url, monkeypatch)
    at.selectbox(key="stats_ci").set_value("wilson").run()
    at.select_slider(key="stats_level").set_value(0.9).run()
    clean(at)
    expected = build_report(ResponseStore(demo_url).responses_frame(wave=LATEST), wave=LATEST,
                            settings=ReportSettings(ci_method="wilson", level=0.9)).overview
    shown = estimates_shown(at)
    np.testing.assert_array_equal(shown["ci_low"].to_numpy(float), as_shown(expected, "ci_low"))
    kept = at.session_state["results_settings"]  # shared with the other results pages
    assert (kept.ci_method, kept.level, kept.weighting) == ("wilson", 0.9, "design")


def margins_csv(rows: list[tuple[str, str, float]]) -> bytes:
    return pd.DataFrame(rows, columns=["variable", "category", "population"]).to_csv(index=False).encode()


def test_uploading_margins_checks_and_stores_them(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'upload.db'}"
    at = open_page(url, monkeypatch)
    good = demo_margins().to_frame()
    good = margins_csv(list(zip(good["variable"], good["category"], good["population"])))
    at.file_uploader(key="margins_file").set_value(("m.csv", good, "text/csv"))
    at.text_input(key="margins_source").input("Nantong statistical yearbook 2021, table 2-3")
    at.button[-1].click().run()  # the form's submit button
    assert not at.exception
    saved = MarginsStore(url).latest()
    assert saved.source == "Nantong statistical yearbook 2021, table 2-3" and not saved.demonstration
    assert saved.filename == "m.csv"
    assert any(t("statistics.saved", "en", id=saved.id) == s.value for s in at.success)


def test_a_bad_margins_file_is_explained_and_not_stored(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'bad.db'}"
    at = open_page(url, monkeypatch)
    bad = margins_csv([("sex", "male", 100.0), ("sex", "M", 90.0)])
    at.file_uploader(key="margins_file").set_value(("bad.csv", bad, "text/csv"))
    at.text_input(key="margins_source").input("typed by hand")
    at.button[-1].click().run()
    assert not at.exception
    message = " ".join(e.value for e in at.error).replace("\\", "")  # as read: without Markdown escapes
    assert "row 3" in message and "'M'" in message and "female" in message
    assert MarginsStore(url).latest() is None


def test_a_bad_margins_file_is_explained_in_chinese(tmp_path, monkeypatch):
    """Issue 13: the refusal of a margins file is worded in the page's language, with the file's
    rows and cells (as typed) in it."""
    from tests.survey_app.test_results_chinese import ENGLISH, offending

    url = f"sqlite:///{tmp_path / 'bad_zh.db'}"
    at = open_page(url, monkeypatch, lang="zh")
    bad = margins_csv([("sex", "male", 100.0), ("sex", "M", 90.0), ("region", "north", 5.0)])
    at.file_uploader(key="margins_file").set_value(("bad.csv", bad, "text/csv"))
    at.text_input(key="margins_source").input("南通统计年鉴 2021")
    at.button[-1].click().run()
    assert not at.exception
    shown = [e.value for e in at.error]
    message = " ".join(shown).replace("\\", "")  # as read: without Markdown escapes
    assert "第 3 行" in message and "「M」" in message and "第 4 行" in message and "「region」" in message
    assert "bad.csv" in message and "3 个问题" in message
    assert not ENGLISH.search(message), message
    assert not offending(shown), shown
    assert MarginsStore(url).latest() is None


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.01, 1e4), min_size=1, max_size=60))
def test_weight_summary_identities(values):
    summary = weight_summary(pd.Series(values))
    w = np.array(values)
    assert summary["n"] == len(w) and summary["sum"] == pytest.approx(w.sum())
    assert summary["min"] <= summary["p05"] <= summary["median"] <= summary["p95"] <= summary["max"]
    # Kish's effect of unequal weights is 1 + CV^2 (CV with divisor n), and at least 1
    assert summary["kish_deff"] == pytest.approx(1 + summary["cv"] ** 2, rel=1e-9)
    assert summary["kish_deff"] >= 1 - 1e-12
    # and equals the design effect of the weighted mean of an uncorrelated variable (n / n_eff)
    assert summary["kish_deff"] == pytest.approx(len(w) / (w.sum() ** 2 / (w ** 2).sum()), rel=1e-9)


def test_weight_summary_is_scale_invariant_in_its_shape(rng):
    w = pd.Series(rng.lognormal(0, 0.7, 300))
    one, scaled = weight_summary(w), weight_summary(w * 1234.5)
    for key in ("cv", "kish_deff"):
        assert scaled[key] == pytest.approx(one[key], rel=1e-12)
    assert scaled["median"] == pytest.approx(one["median"] * 1234.5, rel=1e-12)


def test_the_reports_designs_carry_its_weights(demo_url):
    frame = ResponseStore(demo_url).responses_frame(wave=LATEST)
    margins = MarginsStore(demo_url).latest()
    for used in (ReportSettings(), ReportSettings(weighting="poststratify",
                                                  margins={"district": dict(margins.counts["district"])},
                                                  calibrate=resident_surveys())):
        report = build_report(frame, settings=used, wave=LATEST)
        for qid in ("consumer_environment", "tourist_satisfaction"):
            design = report.designs[qid]
            freq = report.frequencies[qid]
            sex = freq.loc[freq["question"] == "sex"].set_index("code")["estimate"]
            shares = design.weights.groupby(design.data["sex"]).sum() / design.weights.sum()
            for code in ("male", "female"):
                assert shares[code] == pytest.approx(sex[code], rel=1e-12)
        assert isinstance(design, SurveyDesign) and math.isfinite(design.weights.sum())


def test_a_margins_error_quotes_the_file_as_text_not_markdown(tmp_path, monkeypatch):
    from survey_app.ui import md_text

    url = f"sqlite:///{tmp_path / 'markdown.db'}"
    at = open_page(url, monkeypatch)
    typed = "**[see](http://example.org/x)**"
    bad = margins_csv([("sex", "male", 100.0), ("sex", typed, 90.0)])
    at.file_uploader(key="margins_file").set_value(("bad.csv", bad, "text/csv"))
    at.text_input(key="margins_source").input("typed by hand")
    at.button[-1].click().run()
    message = " ".join(e.value for e in at.error)
    assert md_text(typed) in message and typed not in message


def test_proportions_are_shown_as_percentages_and_means_with_two_decimals(demo_url, monkeypatch):
    """The one percent rule on the Statistics tables: what the page sends to the browser's grid."""
    import pyarrow as pa

    from survey_app.formatting import format_percent

    at = open_page(demo_url, monkeypatch)
    table = at.dataframe[0]
    shown = pa.ipc.open_stream(table.proto.arrow_data.styler.display_values).read_all().to_pandas()
    values = table.value
    statistic = [t_.statistic for t_ in load_targets()]
    assert len(statistic) == len(values)
    for column in ("estimate", "ci_low", "ci_high", "threshold"):
        for kind, number, text in zip(statistic, values[column], shown[column]):
            if pd.isna(number):
                continue
            assert text == (format_percent(number) if kind == "proportion" else f"{number:,.2f}"), (column, text)
    assert {"proportion", "mean"} <= set(statistic)
