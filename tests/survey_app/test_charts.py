"""Tests of the results charts: the data drawn is the data given, in the right encodings."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survey_app.charts import (
    VERDICT_COLORS,
    ChartError,
    axis_ticks,
    forest_plot,
    frequency_chart,
    target_chart,
    trend_chart,
    verdict_label,
    weight_histogram,
)
from survey_app.i18n import t
from survey_app.reporting import VERDICT_LABELS


def spec_of(chart: alt.TopLevelMixin | dict) -> dict:
    return chart if isinstance(chart, dict) else chart.to_dict()


def layer_data(chart: alt.TopLevelMixin | dict) -> list[list[dict]]:
    """The rows each layer draws, from the Vega-Lite spec (named datasets or inline values)."""
    spec = inline_data(spec_of(chart))
    return [layer["data"]["values"] for layer in spec.get("layer", [spec])]


def marks(chart: alt.TopLevelMixin | dict) -> list[str]:
    spec = spec_of(chart)
    layers = spec.get("layer", [spec])
    return [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in layers]


def domain_frame(rng: np.random.Generator, n: int) -> pd.DataFrame:
    estimate = rng.uniform(0.6, 0.95, n)
    half = rng.uniform(0.01, 0.08, n)
    verdicts = list(VERDICT_COLORS)
    return pd.DataFrame({
        "name": [f"区{i}" for i in range(n)],
        "estimate": estimate,
        "ci_low": estimate - half,
        "ci_high": estimate + half,
        "verdict": [verdicts[i % len(verdicts)] for i in range(n)],
        "n": rng.integers(10, 300, n),
    })


def test_verdict_labels_follow_the_reporting_module():
    assert set(VERDICT_COLORS) == set(VERDICT_LABELS)
    for verdict, (zh, en) in VERDICT_LABELS.items():
        assert verdict_label(verdict, "zh") == zh and verdict_label(verdict, "en") == en
    with pytest.raises(ChartError, match="verdict 'passed' is not known"):
        verdict_label("passed", "en")


def test_target_chart_draws_the_interval_point_and_threshold():
    chart = target_chart(0.87, 0.84, 0.90, threshold=0.85, verdict="inconclusive", n=640, lang="en")
    assert marks(chart) == ["rule", "point", "rule"]
    interval, point, threshold = layer_data(chart)
    assert interval == point
    assert interval[0]["estimate"] == 0.87 and interval[0]["ci_low"] == 0.84 and interval[0]["ci_high"] == 0.90
    assert interval[0]["verdict_text"] == "inconclusive"
    assert threshold == [{"threshold": 0.85}]
    spec = chart
    color = spec["layer"][0]["encoding"]["color"]["scale"]
    assert color["range"][color["domain"].index("inconclusive")] == VERDICT_COLORS["inconclusive"]
    # the axis shows the interval and the threshold, within [0, 1]
    low, high = spec["layer"][0]["encoding"]["x"]["scale"]["domain"]
    assert 0 <= low < 0.84 and 0.90 < high <= 1


def altair_target_chart(row: dict, threshold: float, domain: list[float], fmt: str, lang: str,
                        ticks: tuple[list[float], str]) -> dict:
    """The same chart built with Altair, as an independent reference of the hand-written spec."""
    data = pd.DataFrame([row])
    tooltip = [alt.Tooltip("estimate:Q", title=t("charts.estimate", lang), format=fmt),
               alt.Tooltip("ci_low:Q", title=t("charts.ci_low", lang), format=fmt),
               alt.Tooltip("ci_high:Q", title=t("charts.ci_high", lang), format=fmt),
               alt.Tooltip("verdict_text:N", title=t("charts.verdict", lang)),
               alt.Tooltip("n:Q", title=t("charts.n", lang))]
    scale = alt.Scale(domain=domain, zero=False, nice=False)
    axis = alt.Axis(format=ticks[1], values=ticks[0], title=None)
    color = alt.Color("verdict_text:N", title=t("charts.verdict", lang), legend=None, scale=alt.Scale(
        domain=[verdict_label(v, lang) for v in VERDICT_COLORS], range=list(VERDICT_COLORS.values())))
    y = alt.Y("row:N", axis=None, title=None)
    base = alt.Chart(data)
    rule = alt.Chart(pd.DataFrame({"threshold": [threshold]})).mark_rule(
        color="#37474f", strokeDash=[6, 4], strokeWidth=2).encode(
        x="threshold:Q", tooltip=[alt.Tooltip("threshold:Q", title=t("charts.threshold", lang), format=fmt)])
    chart = alt.layer(
        base.mark_rule(strokeWidth=4).encode(x=alt.X("ci_low:Q", scale=scale, axis=axis), x2="ci_high:Q", y=y,
                                             color=color, tooltip=tooltip),
        base.mark_point(filled=True, size=110, stroke="white", strokeWidth=1, opacity=1).encode(
            x=alt.X("estimate:Q", scale=scale, axis=axis), y=y, color=color, tooltip=tooltip),
        rule).properties(height=70)
    with alt.theme.enable("none"):
        return chart.to_dict()


def inline_data(spec: dict) -> dict:
    """The spec with each layer's named dataset written into the layer (the same chart)."""
    datasets = spec.get("datasets", {})
    layers = [{**layer, "data": {"values": datasets[layer["data"]["name"]]}} if "name" in layer.get("data", {})
              else layer for layer in spec.get("layer", [spec])]
    spec = {key: value for key, value in spec.items() if key != "datasets"}
    return {**spec, "layer": layers} if "layer" in spec else layers[0]


@pytest.mark.parametrize(("values", "statistic", "lang"), [
    ((0.87, 0.84, 0.90, 0.85, "inconclusive", 640), "proportion", "en"),
    ((0.95, 0.91, 0.97, 0.85, "met", 305), "proportion", "zh"),
    ((83.5, 82.5, 84.5, 80.0, "met", 310), "mean", "zh"),
])
def test_target_chart_is_the_spec_altair_writes(values, statistic, lang):
    estimate, low, high, threshold, verdict, n = values
    spec = target_chart(estimate, low, high, threshold=threshold, verdict=verdict, n=n, statistic=statistic,
                        lang=lang)
    row = {"estimate": estimate, "ci_low": low, "ci_high": high, "verdict": verdict, "n": n,
           "verdict_text": verdict_label(verdict, lang), "row": ""}
    domain = spec["layer"][0]["encoding"]["x"]["scale"]["domain"]
    reference = altair_target_chart(row, threshold, domain, ".1%" if statistic == "proportion" else ".1f", lang,
                                    axis_ticks(statistic, domain))
    assert inline_data(spec) == inline_data(reference)


@settings(max_examples=50, deadline=None)
@given(
    st.floats(0.0, 1.0),
    st.floats(0.0, 0.3),
    st.floats(0.0, 0.3),
    st.floats(0.01, 0.99),
)
def test_proportion_axes_always_show_interval_and_threshold(estimate, below, above, threshold):
    low, high = max(0.0, estimate - below), min(1.0, estimate + above)
    spec = target_chart(estimate, low, high, threshold=threshold, verdict="met", n=10)
    axis_low, axis_high = spec["layer"][0]["encoding"]["x"]["scale"]["domain"]
    assert 0.0 <= axis_low <= min(low, threshold) and max(high, threshold) <= axis_high <= 1.0


def test_mean_charts_use_the_units_of_the_question():
    spec = target_chart(83.2, 81.0, 85.4, threshold=80, verdict="met", n=300, statistic="mean")
    low, high = spec["layer"][0]["encoding"]["x"]["scale"]["domain"]
    assert low < 80 and high > 85.4 and high < 100
    assert spec["layer"][0]["encoding"]["x"]["axis"]["format"] == ".0f"  # ticks a point apart
    with pytest.raises(ChartError, match="statistic='median'"):
        target_chart(1, 0, 2, threshold=1, verdict="met", n=1, statistic="median")


def test_forest_plot_keeps_the_domains_and_their_order(rng):
    frame = domain_frame(rng, 9)
    chart = forest_plot(frame, label="name", threshold=0.8, lang="zh")
    rows = layer_data(chart)[0]
    assert [r["domain_label"] for r in rows] == list(frame["name"])
    assert [r["estimate"] for r in rows] == pytest.approx(list(frame["estimate"]))
    assert [r["verdict_text"] for r in rows] == [VERDICT_LABELS[v][0] for v in frame["verdict"]]
    assert chart.to_dict()["layer"][0]["encoding"]["y"]["sort"] == list(frame["name"])
    with pytest.raises(ChartError, match="lacks the column\\(s\\) verdict"):
        forest_plot(frame.drop(columns="verdict"), label="name", threshold=0.8)


def test_forest_plot_accepts_domains_without_data(rng):
    frame = domain_frame(rng, 3)
    frame.loc[1, ["estimate", "ci_low", "ci_high"]] = np.nan
    frame.loc[1, "verdict"] = "no data"
    spec = forest_plot(frame, label="name", threshold=0.8).to_dict()
    low, high = spec["layer"][0]["encoding"]["x"]["scale"]["domain"]
    assert np.isfinite(low) and np.isfinite(high)


def test_trend_chart_orders_waves_as_given(rng):
    frame = domain_frame(rng, 3).rename(columns={"name": "wave"})
    frame["wave"] = ["2024", "2025", "2026"]
    chart = trend_chart(frame, threshold=0.85, lang="en")
    assert marks(chart) == ["line", "rule", "point", "rule"]
    spec = chart.to_dict()
    assert spec["layer"][0]["encoding"]["x"]["sort"] == ["2024", "2025", "2026"]
    assert layer_data(chart)[3] == [{"threshold": 0.85}]


def test_frequency_chart_single_and_grouped():
    frame = pd.DataFrame({"label": ["很满意", "满意", "一般"], "estimate": [0.5, 0.3, 0.2]})
    single = frequency_chart(frame, choice="label", lang="zh")
    assert [r["estimate"] for r in layer_data(single)[0]] == [0.5, 0.3, 0.2]
    grouped_frame = pd.concat([frame.assign(area="A"), frame.assign(area="B", estimate=[0.2, 0.2, 0.6])])
    grouped = frequency_chart(grouped_frame, choice="label", group="area", lang="en")
    spec = grouped.to_dict()
    assert spec["encoding"]["yOffset"]["field"] == "group_label"
    assert spec["encoding"]["y"]["sort"] == ["很满意", "满意", "一般"]
    with pytest.raises(ChartError, match="lacks the column\\(s\\) area"):
        frequency_chart(frame, choice="label", group="area")


def test_weight_histogram_bins_every_weight(rng):
    weights = pd.Series(rng.lognormal(0, 0.5, 200))
    chart = weight_histogram(weights, lang="en")
    assert [r["weight"] for r in layer_data(chart)[0]] == pytest.approx(list(weights))
    assert chart.to_dict()["encoding"]["x"]["bin"] == {"maxbins": 30}
    with pytest.raises(ChartError, match="finite"):
        weight_histogram(pd.Series([1.0, np.nan]))


# -- one or two interviews (issue 13) ----------------------------------------------------------------

def tick_labels(statistic: str, domain: list[float]) -> list[str]:
    values, fmt = axis_ticks(statistic, domain)
    spec = fmt[1:]  # d3's ".1%" is Python's ".1%"; ".0f" likewise
    return [format(v, spec) for v in values]


@settings(max_examples=200, deadline=None)
@given(low=st.floats(0.0, 1.0), width=st.floats(1e-6, 1.0), statistic=st.sampled_from(["proportion", "mean"]))
def test_axis_ticks_never_repeat_a_label(low, width, statistic):
    scale = 1.0 if statistic == "proportion" else 100.0
    domain = [low * scale, (low + width) * scale]
    values, _ = axis_ticks(statistic, domain)
    labels = tick_labels(statistic, domain)
    assert 2 <= len(values) <= 6
    assert len(set(labels)) == len(labels), labels
    assert all(domain[0] - 1e-9 <= v <= domain[1] + 1e-9 for v in values)


@pytest.mark.parametrize(("estimate", "low", "high"), [
    (1.0, float("nan"), float("nan")),   # one interview: 100%, no interval
    (1.0, 0.2, 1.0),                     # two interviews
    (0.5, float("nan"), float("nan")),
])
def test_target_chart_of_one_or_two_interviews_draws_the_point_on_distinct_ticks(estimate, low, high):
    spec = target_chart(estimate, low, high, threshold=0.8, verdict="inconclusive", n=1, lang="zh")
    axis_low, axis_high = spec["layer"][1]["encoding"]["x"]["scale"]["domain"]
    assert axis_low <= estimate <= axis_high      # the point is inside the axis, so it is drawn
    assert layer_data(spec)[1][0]["estimate"] == estimate
    axis = spec["layer"][0]["encoding"]["x"]["axis"]
    labels = [format(v, axis["format"][1:]) for v in axis["values"]]
    assert len(labels) >= 2 and len(set(labels)) == len(labels), labels


def test_forest_and_trend_axes_have_distinct_ticks_with_a_single_respondent():
    frame = pd.DataFrame({"name": ["全市", "崇川区"], "estimate": [1.0, 1.0], "ci_low": [np.nan, np.nan],
                          "ci_high": [np.nan, np.nan], "verdict": ["inconclusive"] * 2, "n": [1, 1]})
    forest = forest_plot(frame, label="name", threshold=0.8, lang="zh").to_dict()
    trend = trend_chart(frame.rename(columns={"name": "wave"}), threshold=0.8, lang="zh").to_dict()
    for axis, domain in [(forest["layer"][1]["encoding"]["x"]["axis"], forest["layer"][1]["encoding"]["x"]["scale"]),
                         (trend["layer"][2]["encoding"]["y"]["axis"], trend["layer"][2]["encoding"]["y"]["scale"])]:
        labels = [format(v, axis["format"][1:]) for v in axis["values"]]
        assert len(set(labels)) == len(labels) >= 2
        assert domain["domain"][0] <= 1.0 <= domain["domain"][1]


def test_forest_plot_draws_no_mark_for_too_few_respondents_and_says_so(rng):
    frame = domain_frame(rng, 3).assign(too_few=[False, True, False], verdict="inconclusive")
    rows = layer_data(forest_plot(frame, label="name", threshold=0.8, lang="zh"))[1]
    assert rows[1]["estimate"] is None and rows[1]["ci_low"] is None
    assert rows[1]["domain_label"] == t("estimates.forest_too_few", "zh", name="区1", n=int(frame.loc[1, "n"]))
    assert rows[0]["estimate"] == pytest.approx(frame.loc[0, "estimate"])


def test_trend_chart_draws_no_mark_for_a_wave_with_too_few_respondents(rng):
    frame = domain_frame(rng, 2).rename(columns={"name": "wave"}).assign(
        wave=["2025", "2026"], too_few=[True, False], verdict="inconclusive", n=[12, 300])
    rows = layer_data(trend_chart(frame, threshold=0.8, lang="zh"))[2]
    assert rows[0]["estimate"] is None and rows[0]["wave"] == t("estimates.forest_too_few", "zh", name="2025", n=12)
    assert rows[1]["estimate"] == pytest.approx(frame.loc[1, "estimate"])
