"""Issue 15 in ``streamlit.testing.v1.AppTest``: the dashboard's target cards say the change since the
previous wave (an arrow only when significant), the district chart compares each district with the
rest of the city (Holm), and the Statistics page's "change between two waves" shows the stacked
design's numbers with the R command."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis import wave_change
from survey_app.change import change_text, district_comparisons, stacked_design, wave_changes
from survey_app.i18n import t
from survey_app.reporting import build_report, target_column
from survey_app.store import ResponseStore
from survey_app.ui import md_text
from tests.survey_app.signed_in import open_results_page, shows_no_error as clean

DASHBOARD = Path(__file__).parent.parent.parent / "survey_app" / "pages" / "dashboard.py"
STATISTICS = Path(__file__).parent.parent.parent / "survey_app" / "pages" / "statistics.py"


@pytest.fixture(scope="module")
def changes(demo_url):
    frame = ResponseStore(demo_url).responses_frame(status="submitted")
    return wave_changes(frame, waves=["2025", "2026"], domains=())


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_cards_say_the_change_with_an_arrow_only_when_significant(demo_url, changes, monkeypatch, lang):
    at = clean(open_results_page(DASHBOARD, demo_url, monkeypatch, lang=lang, timeout=180))
    texts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    for row in changes.to_dict("records"):
        words = md_text(change_text(row, lang, level=0.95))
        shown = [text for text in texts if words in text]
        if row["status"] == "too few":
            continue   # the card says "too few" and shows no change either
        assert len(shown) == 1, (row["target"], words)
        if row["status"] == "compared" and row["significant"]:
            arrow = "▲" if row["difference"] > 0 else "▼"
            assert shown[0].startswith(f":{'green' if arrow == '▲' else 'red'}[**{arrow} ")
        else:
            assert "▲" not in shown[0] and "▼" not in shown[0]
    assert any(row["significant"] for row in changes.to_dict("records"))


def test_district_chart_compares_each_district_with_the_rest(demo_url, monkeypatch):
    at = clean(open_results_page(DASHBOARD, demo_url, monkeypatch, lang="en", timeout=180))
    assert t("change.district_title", "en") in [m.value.strip("*") for m in at.markdown]
    note = next(c.value for c in at.caption if "Holm" in c.value)
    frame = ResponseStore(demo_url).responses_frame(wave="2026")
    rows = district_comparisons(build_report(frame, wave="2026"))
    target = at.selectbox(key="dashboard_target").value
    left = rows[(rows["target"] == target) & (rows["status"] != "compared")]
    for name in left["district_en"]:
        assert md_text(name) in note or name in note


def test_statistics_page_change_between_two_waves(demo_url, monkeypatch):
    at = clean(open_results_page(STATISTICS, demo_url, monkeypatch, lang="en", timeout=180))
    at.selectbox(key="tools_form").set_value("consumer_environment").run()
    at.segmented_control(key="tools_kind").set_value("change").run()
    clean(at)
    assert at.selectbox(key="tools_w_a").value == "2025" and at.selectbox(key="tools_w_b").value == "2026"
    variable = at.selectbox(key="tools_w_var").value
    assert variable == target_column("consumer_environment_satisfaction")
    frame = ResponseStore(demo_url).responses_frame(status="submitted")
    des = stacked_design(frame, questionnaire="consumer_environment", waves=["2025", "2026"])
    expected = wave_change(des, variable, wave="_wave", statistic="proportion").to_frame()
    shown = next(f.value for f in at.dataframe if t("tools.col_estimate_a", "en") in f.value.columns)
    np.testing.assert_allclose(shown[t("tools.col_difference", "en")], expected["difference"], rtol=1e-12)
    np.testing.assert_allclose(shown[t("tools.col_p_value", "en")], expected["p_value"], rtol=1e-12)
    code = "\n".join(c.value for c in at.code)
    assert "strata = ~interaction(wave, sample_district)" in code and "svycontrast(est" in code
    at.selectbox(key="tools_w_by").set_value("district").run()
    clean(at)
    shown = next(f.value for f in at.dataframe if t("tools.col_estimate_a", "en") in f.value.columns)
    by = wave_change(des, variable, wave="_wave", by="district", statistic="proportion", adjust="holm").to_frame()
    np.testing.assert_allclose(shown[t("tools.col_p_adjusted", "en")], by["p_adjusted"], rtol=1e-12)
    assert 'p.adjust(p, method = "holm")' in "\n".join(c.value for c in at.code)


def test_trend_chart_marks_the_significant_step(demo_url, changes, monkeypatch):
    import json

    at = clean(open_results_page(DASHBOARD, demo_url, monkeypatch, lang="en", timeout=180))
    target = "consumer_environment_satisfaction"
    at.selectbox(key="dashboard_target").set_value(target).run()
    specs = [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]
    trend = [spec for spec in specs if any(layer.get("encoding", {}).get("text", {}).get("field") == "step_mark"
                                           for layer in spec.get("layer", []))]
    row = changes.set_index("target").loc[target]
    assert row["significant"] and row["difference"] > 0
    assert len(trend) == 1   # the layer of ▲/▼ marks is drawn only when a step is significant


def test_trend_chart_marks_only_the_steps_given():
    import pandas as pd

    from survey_app.charts import trend_chart

    frame = pd.DataFrame({"wave": ["2024", "2025", "2026"], "estimate": [0.8, 0.85, 0.8], "ci_low": [0.75, 0.8, 0.75],
                          "ci_high": [0.85, 0.9, 0.85], "verdict": ["inconclusive"] * 3, "n": [300] * 3})
    plain = trend_chart(frame, threshold=0.85, lang="en").to_dict()
    marked = trend_chart(frame, threshold=0.85, lang="en", steps={"2026": "down"})
    assert len(marked.layer) == len(plain["layer"]) + 1
    data = marked.layer[-1].data
    assert list(data["wave"]) == ["2026"] and list(data["step_mark"]) == ["▼"]
    assert list(data["step_text"]) == [t("difference_chart.step_significant", "en")]
