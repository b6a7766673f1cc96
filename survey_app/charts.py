"""Altair charts of the results pages: target intervals, district forest plots, trends,
frequency bars and weight histograms.

Every function takes a tidy table (the columns it names) and returns an ``alt.Chart`` (or a
layered chart) for ``st.altair_chart``, except :func:`target_chart`, drawn a dozen times on the
dashboard, which returns its Vega-Lite spec (a dict, for ``st.vega_lite_chart``) written
directly: building and serialising an Altair chart costs about 0.1 s. Texts come in the
interface language ``lang``.
Verdict colours are :data:`VERDICT_COLORS`, the same on every page. Proportions are drawn
on a percent axis, means in their own units.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

import altair as alt
import numpy as np
import pandas as pd

from survey_app.errors import SurveyAppError
from survey_app.formatting import VEGA_PERCENT, VEGA_PERCENT_AXIS
from survey_app.i18n import register, t
from survey_app.reporting import VERDICT_LABELS

__all__ = [
    "VERDICT_COLORS",
    "ChartError",
    "axis_ticks",
    "forest_plot",
    "frequency_chart",
    "target_chart",
    "trend_chart",
    "verdict_label",
    "weight_histogram",
]

Statistic = Literal["proportion", "mean"]

#: Colour of each verdict (green met, red not met, amber inconclusive, grey no data).
VERDICT_COLORS: Mapping[str, str] = MappingProxyType({
    "met": "#2e7d32",
    "not met": "#c62828",
    "inconclusive": "#ef8f00",
    "no data": "#9e9e9e",
})

register(
    "charts",
    {
        "estimate": {"zh": "估计值", "en": "Estimate"},
        "ci_low": {"zh": "置信下限", "en": "Lower limit"},
        "ci_high": {"zh": "置信上限", "en": "Upper limit"},
        "threshold": {"zh": "目标值", "en": "Target"},
        "verdict": {"zh": "判定", "en": "Verdict"},
        "domain": {"zh": "区域", "en": "Area"},
        "wave": {"zh": "调查轮次", "en": "Wave"},
        "n": {"zh": "样本量", "en": "Respondents"},
        "share": {"zh": "比例", "en": "Share"},
        "choice": {"zh": "选项", "en": "Answer"},
        "group": {"zh": "分组", "en": "Group"},
        "weight": {"zh": "权重", "en": "Weight"},
        "count": {"zh": "受访者人数", "en": "Respondents"},
    },
)


class ChartError(SurveyAppError, ValueError):
    """A chart was asked for with unusable data or options."""


def verdict_label(verdict: str, lang: str) -> str:
    """The verdict in words, in ``lang``."""
    if verdict not in VERDICT_LABELS:
        raise ChartError(f"verdict {verdict!r} is not known; use one of {', '.join(VERDICT_LABELS)}")
    zh, en = VERDICT_LABELS[verdict]
    return zh if lang == "zh" else en


def _verdict_scale(lang: str) -> alt.Scale:
    return alt.Scale(
        domain=[verdict_label(v, lang) for v in VERDICT_COLORS], range=list(VERDICT_COLORS.values())
    )


def _axis_range(statistic: Statistic, values: np.ndarray) -> list[float]:
    """An axis range that shows every interval and the threshold with a little room."""
    values = values[np.isfinite(values)]
    low, high = float(values.min()), float(values.max())
    pad = max((high - low) * 0.08, 0.01 if statistic == "proportion" else 0.5)
    low, high = low - pad, high + pad
    if statistic == "proportion":
        low, high = max(low, 0.0), min(high, 1.0)
    return [low, high]


def axis_ticks(statistic: Statistic, domain: list[float]) -> tuple[list[float], str]:
    """Tick values at a round step (1, 2 or 5 times a power of ten) and the format that shows
    them: never two ticks with the same label, however narrow the range (one or two
    interviews give ranges of a percentage point or less)."""
    low, high = domain
    scale = 100.0 if statistic == "proportion" else 1.0  # ticks are labelled in percent for proportions
    span = max((high - low) * scale, 1e-9)
    power = 10.0 ** math.floor(math.log10(span / 5))
    step = next(m * power for m in (1, 2, 5, 10) if span / (m * power) <= 5.5)
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    first = math.ceil(low * scale / step - 1e-9)
    values = [round(k * step, decimals + 2) / scale for k in range(first, int(math.floor(high * scale / step + 1e-9)) + 1)]
    return values, f".{decimals}%" if statistic == "proportion" else f".{decimals}f"


def _value_axis(statistic: Statistic, lows: pd.Series, highs: pd.Series, threshold: float,
                estimates: pd.Series | None = None) -> alt.Scale:
    parts = [lows, highs, pd.Series([threshold])] + ([estimates] if estimates is not None else [])
    values = pd.concat(parts).to_numpy(dtype=float)
    return alt.Scale(domain=_axis_range(statistic, values), zero=False, nice=False)


def _check_statistic(statistic: str) -> None:
    if statistic not in ("proportion", "mean"):
        raise ChartError(f"statistic={statistic!r} is not known; use 'proportion' or 'mean'")


def _check_columns(frame: pd.DataFrame, argument: str, columns: tuple[str, ...]) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise ChartError(f"{argument} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ChartError(
            f"{argument} lacks the column(s) {', '.join(missing)}; it has {', '.join(map(str, frame.columns))}"
        )


def _number_format(statistic: Statistic) -> str:
    return VEGA_PERCENT if statistic == "proportion" else ".1f"


def _interval_layers(
    data: pd.DataFrame, *, y: alt.Y, statistic: Statistic, scale: alt.Scale, lang: str, tooltip: list,
    legend: bool = True, axis_title: bool = True
) -> list[alt.Chart]:
    base = alt.Chart(data)
    ticks, tick_format = axis_ticks(statistic, list(scale.domain))
    axis = alt.Axis(format=tick_format, values=ticks, title=t("charts.estimate", lang) if axis_title else None)
    color = alt.Color("verdict_text:N", scale=_verdict_scale(lang), title=t("charts.verdict", lang),
                      legend=alt.Legend() if legend else None)
    interval = base.mark_rule(strokeWidth=4).encode(
        x=alt.X("ci_low:Q", scale=scale, axis=axis), x2="ci_high:Q", y=y, color=color, tooltip=tooltip
    )
    point = base.mark_point(filled=True, size=110, stroke="white", strokeWidth=1, opacity=1).encode(
        x=alt.X("estimate:Q", scale=scale, axis=axis), y=y, color=color, tooltip=tooltip
    )
    return [interval, point]


def _threshold_rule(threshold: float, statistic: Statistic, lang: str) -> alt.Chart:
    frame = pd.DataFrame({"threshold": [threshold]})
    return (
        alt.Chart(frame)
        .mark_rule(color="#37474f", strokeDash=[6, 4], strokeWidth=2)
        .encode(
            x="threshold:Q",
            tooltip=[alt.Tooltip("threshold:Q", title=t("charts.threshold", lang), format=_number_format(statistic))],
        )
    )


def _tooltips(statistic: Statistic, lang: str, *, label: str | None = None) -> list[alt.Tooltip]:
    fmt = _number_format(statistic)
    tips = [alt.Tooltip(f"{label}:N", title=t("charts.domain", lang))] if label else []
    return tips + [
        alt.Tooltip("estimate:Q", title=t("charts.estimate", lang), format=fmt),
        alt.Tooltip("ci_low:Q", title=t("charts.ci_low", lang), format=fmt),
        alt.Tooltip("ci_high:Q", title=t("charts.ci_high", lang), format=fmt),
        alt.Tooltip("verdict_text:N", title=t("charts.verdict", lang)),
        alt.Tooltip("n:Q", title=t("charts.n", lang)),
    ]


def _with_verdict_text(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    data = frame.copy()
    data["verdict_text"] = [verdict_label(v, lang) for v in data["verdict"]]
    return data


def target_chart(
    estimate: float,
    ci_low: float,
    ci_high: float,
    *,
    threshold: float,
    verdict: str,
    n: int,
    statistic: Statistic = "proportion",
    lang: str = "zh",
) -> dict:
    """One target: the estimate with its confidence interval and the dashed threshold line.

    Returns the Vega-Lite spec (the one Altair would write for these three layers, without
    its cost): an interval rule and a point on one row, coloured by verdict, and the
    threshold rule.

    Examples
    --------
    >>> spec = target_chart(0.87, 0.84, 0.90, threshold=0.85, verdict="inconclusive", n=640)
    >>> st.vega_lite_chart(spec)                                        # doctest: +SKIP
    """
    _check_statistic(statistic)
    fmt = _number_format(statistic)
    row = {"estimate": _number(estimate), "ci_low": _number(ci_low), "ci_high": _number(ci_high),
           "verdict": verdict, "n": int(n), "verdict_text": verdict_label(verdict, lang), "row": ""}
    # the estimate too: without an interval (one or two respondents) it alone must still be drawn
    domain = _axis_range(statistic, np.array([ci_low, ci_high, threshold, estimate], dtype=float))
    ticks, tick_format = axis_ticks(statistic, domain)
    axis = {"format": tick_format, "title": None, "values": ticks}
    scale = {"domain": domain, "nice": False, "zero": False}
    color = {"field": "verdict_text", "legend": None, "title": t("charts.verdict", lang), "type": "nominal",
             "scale": {"domain": [verdict_label(v, lang) for v in VERDICT_COLORS],
                       "range": list(VERDICT_COLORS.values())}}
    tooltip = [{"field": "estimate", "format": fmt, "title": t("charts.estimate", lang), "type": "quantitative"},
               {"field": "ci_low", "format": fmt, "title": t("charts.ci_low", lang), "type": "quantitative"},
               {"field": "ci_high", "format": fmt, "title": t("charts.ci_high", lang), "type": "quantitative"},
               {"field": "verdict_text", "title": t("charts.verdict", lang), "type": "nominal"},
               {"field": "n", "title": t("charts.n", lang), "type": "quantitative"}]
    # a constant band gives the rules a row to span; the card shows the verdict, so no legend
    y = {"axis": None, "field": "row", "title": None, "type": "nominal"}
    return {
        "$schema": alt.SCHEMA_URL,
        "height": 70,
        # data inline in the layers: Streamlit turns named datasets into Arrow tables, a cost
        # that a dozen cards feel
        "layer": [
            {"data": {"values": [row]}, "mark": {"type": "rule", "strokeWidth": 4},
             "encoding": {"color": color, "tooltip": tooltip, "y": y, "x2": {"field": "ci_high"},
                          "x": {"axis": axis, "field": "ci_low", "scale": scale, "type": "quantitative"}}},
            {"data": {"values": [row]},
             "mark": {"type": "point", "filled": True, "opacity": 1, "size": 110, "stroke": "white", "strokeWidth": 1},
             "encoding": {"color": color, "tooltip": tooltip, "y": y,
                          "x": {"axis": axis, "field": "estimate", "scale": scale, "type": "quantitative"}}},
            {"data": {"values": [{"threshold": _number(threshold)}]},
             "mark": {"type": "rule", "color": "#37474f", "strokeDash": [6, 4], "strokeWidth": 2},
             "encoding": {"tooltip": [{"field": "threshold", "format": fmt, "title": t("charts.threshold", lang),
                                       "type": "quantitative"}],
                          "x": {"field": "threshold", "type": "quantitative"}}},
        ],
    }


def _number(value: float) -> float | None:
    """A number for the spec's JSON (which has no NaN)."""
    value = float(value)
    return value if np.isfinite(value) else None


def forest_plot(
    frame: pd.DataFrame,
    *,
    label: str,
    threshold: float,
    statistic: Statistic = "proportion",
    lang: str = "zh",
) -> alt.LayerChart:
    """Domains (e.g. districts) as rows: estimate, interval and verdict colour, threshold line.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per domain, in the order to show, with ``label`` and ``estimate, ci_low,
        ci_high, verdict, n``. Rows without an estimate ("no data") are listed without a mark;
        so are rows whose optional ``too_few`` column is true (too few respondents for an
        estimate, :func:`analysis.targets.sample_needed`), their name saying so.
    label : str
        Column with the domain names to show.
    """
    _check_statistic(statistic)
    _check_columns(frame, "frame", (label, "estimate", "ci_low", "ci_high", "verdict", "n"))
    data = _with_verdict_text(frame[[label, "estimate", "ci_low", "ci_high", "verdict", "n"]], lang)
    data = _without_too_few(frame, data.rename(columns={label: "domain_label"}), "domain_label", lang)
    order = list(data["domain_label"])
    y = alt.Y("domain_label:N", sort=order, title=None, axis=alt.Axis(labelLimit=220, labelOverlap=False),
              scale=alt.Scale(paddingInner=0.3))
    scale = _value_axis(statistic, data["ci_low"], data["ci_high"], threshold, data["estimate"])
    layers = _interval_layers(
        data, y=y, statistic=statistic, scale=scale, lang=lang, tooltip=_tooltips(statistic, lang, label="domain_label")
    )
    return alt.layer(*layers, _threshold_rule(threshold, statistic, lang)).properties(height=max(120, 30 * len(data)))


def _without_too_few(frame: pd.DataFrame, data: pd.DataFrame, label: str, lang: str) -> pd.DataFrame:
    """``data`` with no numbers (so no mark) in the rows that ``frame["too_few"]`` marks, their
    ``label`` saying why."""
    if "too_few" not in frame.columns:
        return data
    few = frame["too_few"].to_numpy(dtype=bool) & (data["verdict"] != "no data").to_numpy()
    data = data.copy()
    data.loc[few, ["estimate", "ci_low", "ci_high"]] = np.nan
    data.loc[few, label] = [t("estimates.forest_too_few", lang, name=name, n=int(n))
                            for name, n in zip(data.loc[few, label], data.loc[few, "n"])]
    return data


def trend_chart(
    frame: pd.DataFrame,
    *,
    threshold: float,
    statistic: Statistic = "proportion",
    lang: str = "zh",
) -> alt.LayerChart:
    """Estimates across survey waves: points with intervals, joined by a line, and the threshold.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per wave (in time order) with ``wave, estimate, ci_low, ci_high, verdict, n``;
        with an optional ``too_few`` column, as :func:`forest_plot`.
    """
    _check_statistic(statistic)
    _check_columns(frame, "frame", ("wave", "estimate", "ci_low", "ci_high", "verdict", "n"))
    data = _with_verdict_text(frame[["wave", "estimate", "ci_low", "ci_high", "verdict", "n"]], lang)
    data["wave"] = data["wave"].astype(str)
    data = _without_too_few(frame, data, "wave", lang)
    fmt = _number_format(statistic)
    scale = _value_axis(statistic, data["ci_low"], data["ci_high"], threshold, data["estimate"])
    ticks, tick_format = axis_ticks(statistic, list(scale.domain))
    x = alt.X("wave:O", sort=list(data["wave"]), title=t("charts.wave", lang), axis=alt.Axis(labelAngle=0))
    y_axis = alt.Axis(format=tick_format, values=ticks, title=t("charts.estimate", lang))
    color = alt.Color("verdict_text:N", scale=_verdict_scale(lang), title=t("charts.verdict", lang))
    tooltip = [alt.Tooltip("wave:N", title=t("charts.wave", lang)), *_tooltips(statistic, lang)]
    base = alt.Chart(data)
    line = base.mark_line(color="#607d8b").encode(x=x, y=alt.Y("estimate:Q", scale=scale, axis=y_axis))
    bars = base.mark_rule(strokeWidth=3).encode(
        x=x, y=alt.Y("ci_low:Q", scale=scale, axis=y_axis), y2="ci_high:Q", color=color, tooltip=tooltip
    )
    points = base.mark_point(filled=True, size=110).encode(
        x=x, y=alt.Y("estimate:Q", scale=scale, axis=y_axis), color=color, tooltip=tooltip
    )
    rule = (
        alt.Chart(pd.DataFrame({"threshold": [threshold]}))
        .mark_rule(color="#37474f", strokeDash=[6, 4], strokeWidth=2)
        .encode(y="threshold:Q", tooltip=[alt.Tooltip("threshold:Q", title=t("charts.threshold", lang), format=fmt)])
    )
    return alt.layer(line, bars, points, rule).properties(height=220)


def frequency_chart(
    frame: pd.DataFrame,
    *,
    choice: str,
    group: str | None = None,
    stacked: bool = False,
    lang: str = "zh",
) -> alt.Chart:
    """Weighted shares of a question's answers as horizontal bars.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per answer (and group) with ``choice`` (answer label), ``estimate`` (share,
        0..1) and, with ``group``, that column.
    choice : str
        Column with the answer labels, shown in the order of the frame.
    group : str, optional
        Column with the group (e.g. district) names, shown in the order of the frame.
    stacked : bool
        With ``group``: one bar per group divided into its answers (for a single-choice
        question, whose shares add up to 1); otherwise one bar per group within each answer.
    """
    needed = (choice, "estimate") + ((group,) if group else ())
    _check_columns(frame, "frame", needed)
    if stacked and not group:
        raise ChartError("stacked=True needs group: the column whose groups get one bar each")
    data = frame[list(needed)].rename(columns={choice: "choice_label", **({group: "group_label"} if group else {})})
    answers = list(dict.fromkeys(data["choice_label"]))
    tooltip = [
        alt.Tooltip("choice_label:N", title=t("charts.choice", lang)),
        alt.Tooltip("estimate:Q", title=t("charts.share", lang), format=VEGA_PERCENT),
    ]
    share_axis = alt.Axis(format=VEGA_PERCENT_AXIS)
    if group:
        groups = list(dict.fromkeys(data["group_label"]))
        tooltip.insert(0, alt.Tooltip("group_label:N", title=t("charts.group", lang)))
    if stacked:
        data["order"] = data["choice_label"].map({label: i for i, label in enumerate(answers)})
        encoding = {
            "y": alt.Y("group_label:N", sort=groups, title=None, axis=alt.Axis(labelLimit=220)),
            "x": alt.X("estimate:Q", stack="zero", title=t("charts.share", lang), axis=share_axis,
                       scale=alt.Scale(domain=[0, 1])),
            "color": alt.Color("choice_label:N", sort=answers, title=t("charts.choice", lang),
                               scale=alt.Scale(scheme="tableau10")),
            "order": alt.Order("order:Q"),
        }
        height = max(80, 26 * len(groups))
    else:
        top = max(0.05, float(np.nanmax(data["estimate"].to_numpy(float), initial=0)))
        encoding = {
            "y": alt.Y("choice_label:N", sort=answers, title=None, axis=alt.Axis(labelLimit=260)),
            "x": alt.X("estimate:Q", title=t("charts.share", lang), axis=share_axis, scale=alt.Scale(domain=[0, top])),
        }
        if group:
            encoding["yOffset"] = alt.YOffset("group_label:N", sort=groups)
            encoding["color"] = alt.Color("group_label:N", sort=groups, title=t("charts.group", lang))
            height = max(120, 12 * len(data) + 8 * len(answers))
        else:
            encoding["color"] = alt.value("#1565c0")
            height = max(60, 26 * len(data))
    return alt.Chart(data).mark_bar().encode(tooltip=tooltip, **encoding).properties(height=height)


def weight_histogram(weights: pd.Series, *, lang: str = "zh", bins: int = 30) -> alt.Chart:
    """Histogram of the final weights (respondents per weight bin)."""
    values = pd.Series(weights, dtype=float)
    if values.empty or not np.isfinite(values.to_numpy()).all():
        raise ChartError("weights must be a non-empty series of finite numbers")
    data = pd.DataFrame({"weight": values.to_numpy()})
    return (
        alt.Chart(data)
        .mark_bar(color="#5c6bc0")
        .encode(
            x=alt.X("weight:Q", bin=alt.Bin(maxbins=bins), title=t("charts.weight", lang)),
            y=alt.Y("count():Q", title=t("charts.count", lang)),
            tooltip=[alt.Tooltip("count():Q", title=t("charts.count", lang))],
        )
        .properties(height=180)
    )
