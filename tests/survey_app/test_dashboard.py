"""The dashboard page in ``streamlit.testing.v1.AppTest``: the first start offers the demo, and
the numbers shown are the reporting module's."""
from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from openpyxl import load_workbook
from streamlit.testing.v1 import AppTest

from survey_app.demo import DEMO_WAVES, demo_database_url, generate_demo
from survey_app.auth import audit
from survey_app.i18n import t
from survey_app.margins import MarginsStore
from survey_app.wording import distance_text, format_value, hint_text
from survey_app.reporting import ReportSettings, build_report, report_from_store
from survey_app.results import NON_RESIDENT_SURVEYS, ResultsSettings
from survey_app.store import ResponseStore
from tests.survey_app.signed_in import open_results_page
from tests.survey_app.test_excel_report import sheet_frame

PAGE = Path(__file__).parent.parent.parent / "survey_app" / "pages" / "dashboard.py"
TIMEOUT = 120  # the first run computes two waves' reports; CI machines are shared


def open_page(url: str, monkeypatch, *, lang: str = "en", settings: ResultsSettings | None = None) -> AppTest:
    return open_results_page(PAGE, url, monkeypatch, lang=lang, settings=settings, timeout=TIMEOUT)


def expected_report(url: str, wave: str, settings: ReportSettings | None = None):
    frame = ResponseStore(url).responses_frame(wave=wave)
    return build_report(frame, settings=settings, wave=wave)


def card_values(at: AppTest) -> list[str]:
    # the headline metrics come first (a fifth counts targets with too few respondents),
    # then one metric per card with an estimate; the index cards (issue 16) are not target cards
    from analysis.targets import load_index_targets

    indices = {text for index in load_index_targets() for text in (index.label.zh, index.label.get("en"))}
    headline = 5 if any(m.label == t("estimates.too_few_count", "en") for m in at.metric[:5]) else 4
    return [m.value for m in at.metric if m.label not in indices][headline:]


def estimated(overview):
    """The targets whose cards show an estimate: with data, and enough of it."""
    return overview.loc[(overview["verdict"] != "no data") & ~overview["too_few"]]


def test_empty_database_offers_the_labelled_demo(tmp_path, monkeypatch):
    at = open_page(f"sqlite:///{tmp_path / 'empty.db'}", monkeypatch)
    assert [s.value for s in at.subheader] == [t("results.empty_title", "en")]
    assert "demonstration data" in at.markdown[0].value and "synthetic" in at.markdown[0].value
    assert at.button(key="load_demo").label == t("results.load_demo", "en")
    assert not at.metric


def test_loading_the_demo_from_the_page_fills_the_dashboard(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'first.db'}"
    at = open_page(url, monkeypatch)
    at.button(key="load_demo").click().run()
    assert not at.exception, [e.value for e in at.exception]
    # into the demo database beside the real one, which stays empty (issue 13)
    stored = ResponseStore(demo_database_url(url)).responses_frame()
    assert len(stored) == 3840 and set(stored["wave"]) == set(DEMO_WAVES)
    assert MarginsStore(demo_database_url(url)).latest().demonstration
    assert ResponseStore(url).responses_frame().empty and MarginsStore(url).latest() is None
    assert any("3,840" in s.value for s in at.success)  # "3,840 demonstration interviews loaded"
    assert any("Demonstration data" in w.value for w in at.warning)
    assert at.toggle(key="show_demo").value
    assert at.metric  # the dashboard is drawn


def test_cards_show_the_reporting_numbers(demo_url, monkeypatch):
    at = open_page(demo_url, monkeypatch)
    latest = DEMO_WAVES[-1]
    overview = expected_report(demo_url, latest).overview
    with_data = estimated(overview)
    assert card_values(at) == [format_value(row["estimate"], row["statistic"], "en") for _, row in with_data.iterrows()]
    counts = Counter(with_data["verdict"])
    headline = {m.label: m.value for m in at.metric[:5]}
    assert headline == {
        "Submitted interviews": str(int((ResponseStore(demo_url).responses_frame()["wave"] == latest).sum())),
        "Met": str(counts["met"]), "Not met": str(counts["not met"]), "Inconclusive": str(counts["inconclusive"]),
        "Too few respondents": str(int((overview["too_few"] & (overview["verdict"] != "no data")).sum())),
    }
    assert overview.loc["elderly_care_satisfaction", "too_few"]  # the demo has one such target
    captions = " ".join(c.value for c in at.caption)
    for _, row in with_data.iterrows():
        low, high = (format_value(row[c], row["statistic"], "en") for c in ("ci_low", "ci_high"))
        assert f"95% CI {low} – {high}" in captions
        assert f"n = {int(row['n'])}, effective n = {row['n_eff']:.0f}" in captions
    assert [s.value for s in at.subheader] == [t("indices.title", "en"), t("indices.act_title", "en"),   # issue 16
                                               t("dashboard.districts_title", "en"), t("dashboard.trend_title", "en")]


def test_another_wave_and_chinese(demo_url, monkeypatch):
    at = open_page(demo_url, monkeypatch, lang="zh")
    at.segmented_control(key="dashboard_wave").set_value(DEMO_WAVES[0]).run()
    assert not at.exception
    overview = expected_report(demo_url, DEMO_WAVES[0]).overview
    with_data = estimated(overview)
    assert card_values(at) == [format_value(row["estimate"], row["statistic"], "zh") for _, row in with_data.iterrows()]
    assert at.header[0].value == t("dashboard.title", "zh")
    # the wave chosen here is the wave of every results page of the session
    assert at.session_state["results_settings"].wave == DEMO_WAVES[0]


def test_the_statisticians_weighting_is_used(demo_url, monkeypatch):
    at = open_page(demo_url, monkeypatch, settings=ResultsSettings(weighting="rake", ci_method="wilson", level=0.9))
    margins = MarginsStore(demo_url).latest()
    calibrate = tuple(q for q in ("campaign_awareness", "consumer_environment", "public_services", "salt_consumers",
                                  "telecom_users", "tourist_satisfaction") if q not in NON_RESIDENT_SURVEYS)
    settings = ReportSettings(ci_method="wilson", level=0.9, weighting="rake", margins=margins.rake_margins(),
                              calibrate=calibrate)
    overview = expected_report(demo_url, DEMO_WAVES[-1], settings).overview
    with_data = estimated(overview)
    assert card_values(at) == [format_value(row["estimate"], row["statistic"], "en") for _, row in with_data.iterrows()]
    captions = " ".join(c.value for c in at.caption)
    assert "90% confidence intervals (wilson)" in captions and "raked to population margins" in captions
    assert "for demonstration" in captions


def test_the_workbook_is_written_when_downloaded_and_the_export_audited(demo_url, monkeypatch):
    downloads = []

    def download_button(label, data, **kwargs):  # records what the button would serve
        downloads.append((data, kwargs))
        return False

    monkeypatch.setattr(st, "download_button", download_button)
    open_page(demo_url, monkeypatch)
    (data, kwargs), = downloads
    assert callable(data)  # drawing the page writes no workbook; the click does
    assert kwargs["on_click"] is audit and kwargs["args"][:2] == ("S01", "export")
    assert kwargs["file_name"].startswith(f"satisfaction_report_{DEMO_WAVES[-1]}_")
    workbook = load_workbook(io.BytesIO(data()))
    summary = sheet_frame(workbook["汇总 Summary"], "目标 Target").set_index("目标 Target")
    overview = expected_report(demo_url, DEMO_WAVES[-1]).overview
    assert list(summary.index) == list(overview.index)
    for target_id, row in overview.loc[overview["verdict"] != "no data"].iterrows():
        assert summary.loc[target_id, "估计值 Estimate"] == pytest.approx(row["estimate"], rel=1e-12)
    assert any(name.startswith("频数") for name in workbook.sheetnames)  # the full report, with frequencies


def test_the_cards_use_the_design_weights_of_stored_assignments(tmp_path, monkeypatch, rng):
    from tests.survey_app.test_reporting_domains import assigned_survey

    url = f"sqlite:///{tmp_path / 'assigned.db'}"
    assigned_survey(url, rng)
    at = open_page(url, monkeypatch)
    store = ResponseStore(url)
    weighted = report_from_store(store).overview.loc["tourist_satisfaction_index"]
    plain = build_report(store.responses_frame()).overview.loc["tourist_satisfaction_index"]
    store.close()
    assert weighted["estimate"] != pytest.approx(plain["estimate"], rel=1e-9)  # the weights matter here
    assert card_values(at) == [format_value(weighted["estimate"], "mean", "en")]  # the only target with data


def test_one_wave_has_no_trend(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'one.db'}"
    store = ResponseStore(url)
    store.import_interviews([i for i in generate_demo(psus=16, respondents_per_psu=2) if i.wave == DEMO_WAVES[-1]])
    at = open_page(url, monkeypatch)
    assert t("dashboard.trend_one_wave", "en") in [c.value for c in at.caption]


@pytest.mark.parametrize(("value", "statistic", "lang", "shown"), [
    (0.8766, "proportion", "en", "87.7%"),
    (83.46, "mean", "en", "83.5 points"),
    (83.46, "mean", "zh", "83.5 分"),
    (float("nan"), "proportion", "en", "—"),
    (float("nan"), "mean", "zh", "—"),
])
def test_format_value(value, statistic, lang, shown):
    assert format_value(value, statistic, lang) == shown



def card_texts(at: AppTest, target_id: str) -> list[str]:
    """The texts of one target's card (the container keyed ``card_<target id>``)."""
    def texts(node) -> list[str]:
        found = [node.value] if isinstance(getattr(node, "value", None), str) else []
        for child in getattr(node, "children", {}).values():
            found += texts(child)
        return found

    def find(node):
        proto = getattr(node, "proto", None)
        if proto is not None and str(getattr(proto, "id", "")).endswith(f"-card_{target_id}"):
            return node
        for child in getattr(node, "children", {}).values():
            if (hit := find(child)) is not None:
                return hit
        return None

    card = find(at.main)
    assert card is not None, f"no card of {target_id}"
    return texts(card)


def test_a_target_below_the_minimum_sample_is_worded_not_numbered(demo_url, monkeypatch):
    """The demo's elderly-care target has 25 respondents (68.0% against 80%): too few for an
    estimate, and never "more interviews will hardly decide it" (321 further interviews would)."""
    at = open_page(demo_url, monkeypatch)
    row = expected_report(demo_url, DEMO_WAVES[-1]).overview.loc["elderly_care_satisfaction"]
    assert row["n"] == 25 and row["too_few"]
    texts = card_texts(at, "elderly_care_satisfaction")
    assert t("estimates.too_few", "en", n=25, needed=f"{int(row['n_needed'])}") in texts
    assert not any("68.0%" in text or "design effect" in text for text in texts)
    assert not any("hardly" in text for text in texts)


def test_cards_word_the_distance_to_the_target_and_the_further_interviews(demo_url, monkeypatch):
    at = open_page(demo_url, monkeypatch, lang="zh")
    overview = expected_report(demo_url, DEMO_WAVES[-1]).overview
    for target_id, row in estimated(overview).iterrows():
        texts = card_texts(at, target_id)
        hint = hint_text(row, "zh")
        assert hint in texts
        if row["hint"] in ("toward met", "toward not met", "on threshold") and not pd.isna(row["extra_interviews"]):
            assert f"{int(row['extra_interviews']):,}" in hint
        assert distance_text(row, "zh") in hint and "个标准误" in hint
