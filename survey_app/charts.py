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
    "difference_chart",
    "DIFFERENCE_COLORS",
    "forest_plot",
    "frequency_chart",
    "index_chart",
    "where_to_act_chart",
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
    steps: Mapping[str, str] | None = None,
) -> alt.LayerChart:
    """Estimates across survey waves: points with intervals, joined by a line, and the threshold.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per wave (in time order) with ``wave, estimate, ci_low, ci_high, verdict, n``;
        with an optional ``too_few`` column, as :func:`forest_plot`.
    steps : mapping of str to str, optional
        Waves whose change from the previous wave is significant (issue 15,
        :func:`survey_app.change.wave_changes`): ``"up"`` or ``"down"``, marked ▲ or ▼ above
        the wave's estimate.
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
    layers = [line, bars, points, rule]
    marked = data[data["wave"].isin(list(steps or {}))]
    if len(marked):
        marked = marked.assign(step_mark=[{"up": "▲", "down": "▼"}[steps[w]] for w in marked["wave"]],
                               step_text=t("difference_chart.step_significant", lang))
        layers.append(alt.Chart(marked).mark_text(dy=-16, fontSize=16, fontWeight="bold", color="#37474f").encode(
            x=x, y=alt.Y("ci_high:Q", scale=scale, axis=y_axis), text="step_mark:N",
            tooltip=[alt.Tooltip("wave:N", title=t("charts.wave", lang)),
                     alt.Tooltip("step_text:N", title=t("difference_chart.significance", lang))]))
    return alt.layer(*layers).properties(height=220)


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


# -- differences (domain comparisons, change between waves) -------------------------------------

register(
    "difference_chart",
    {
        "difference": {"zh": "差异", "en": "Difference"},
        "difference_pp": {"zh": "差异（百分点）", "en": "Difference (percentage points)"},
        "higher": {"zh": "显著更高", "en": "Significantly higher"},
        "lower": {"zh": "显著更低", "en": "Significantly lower"},
        "not_significant": {"zh": "差异不显著", "en": "Not significant"},
        "significance": {"zh": "显著性", "en": "Significance"},
        "p_adjusted": {"zh": "校正后 p 值", "en": "Adjusted p"},
        # issue 15: significant steps of the trend chart
        "step_significant": {"zh": "较上一轮显著变化", "en": "Significant change from the previous wave"},
    },
)

#: Colours of a difference: significantly higher, lower, or not significant.
DIFFERENCE_COLORS: Mapping[str, str] = MappingProxyType({
    "higher": "#2e7d32", "lower": "#c62828", "not_significant": "#90a4ae"})


def difference_chart(frame: pd.DataFrame, *, label: str, statistic: Statistic,
                     lang: str = "zh") -> alt.LayerChart:
    """Each row's difference (a domain minus the rest, or a wave minus the previous one) with
    its interval, ordered by size, a line at zero, significant differences coloured.

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns ``label``, ``difference``, ``ci_low``, ``ci_high``, ``significant`` (bool)
        and ``p_adjusted``; rows without a difference are left out.
    label : str
        Column with the row names to show.
    statistic : {"proportion", "mean"}
        Differences of proportions are drawn in percentage points.
    """
    _check_statistic(statistic)
    _check_columns(frame, "frame", (label, "difference", "ci_low", "ci_high", "significant",
                                    "p_adjusted"))
    data = frame[[label, "difference", "ci_low", "ci_high", "significant", "p_adjusted"]]
    data = data[np.isfinite(data["difference"].to_numpy(dtype=float))]
    data = data.sort_values("difference", ascending=False).rename(columns={label: "row_label"})
    kind = np.where(~data["significant"].astype(bool), "not_significant",
                    np.where(data["difference"] > 0, "higher", "lower"))
    data = data.assign(kind_text=[t(f"difference_chart.{k}", lang) for k in kind])
    values = data[["ci_low", "ci_high", "difference"]].to_numpy(dtype=float).ravel()
    values = np.append(values[np.isfinite(values)], 0.0)
    span = float(values.max() - values.min()) or 1.0
    pad = span * 0.08
    scale = alt.Scale(domain=[float(values.min()) - pad, float(values.max()) + pad], zero=False, nice=False)
    fmt = _number_format(statistic)
    title = t("difference_chart.difference_pp" if statistic == "proportion" else "difference_chart.difference", lang)
    color = alt.Color("kind_text:N", title=t("difference_chart.significance", lang),
                      scale=alt.Scale(domain=[t(f"difference_chart.{k}", lang) for k in DIFFERENCE_COLORS],
                                      range=list(DIFFERENCE_COLORS.values())))
    y = alt.Y("row_label:N", sort=list(data["row_label"]), title=None,
              axis=alt.Axis(labelLimit=220, labelOverlap=False), scale=alt.Scale(paddingInner=0.3))
    tooltip = [alt.Tooltip("row_label:N", title=t("charts.domain", lang)),
               alt.Tooltip("difference:Q", title=title, format=fmt),
               alt.Tooltip("ci_low:Q", title=t("charts.ci_low", lang), format=fmt),
               alt.Tooltip("ci_high:Q", title=t("charts.ci_high", lang), format=fmt),
               alt.Tooltip("p_adjusted:Q", title=t("difference_chart.p_adjusted", lang), format=".4f"),
               alt.Tooltip("kind_text:N", title=t("difference_chart.significance", lang))]
    base = alt.Chart(data)
    axis = alt.Axis(format=fmt, title=title)
    zero = alt.Chart(pd.DataFrame({"zero": [0.0]})).mark_rule(color="#37474f", strokeWidth=1.5).encode(x="zero:Q")
    interval = base.mark_rule(strokeWidth=4).encode(
        x=alt.X("ci_low:Q", scale=scale, axis=axis), x2="ci_high:Q", y=y, color=color, tooltip=tooltip)
    point = base.mark_point(filled=True, size=110, stroke="white", strokeWidth=1, opacity=1).encode(
        x=alt.X("difference:Q", scale=scale, axis=axis), y=y, color=color, tooltip=tooltip)
    height = max(120, 34 * len(data))
    return alt.layer(zero, interval, point).properties(height=height, width="container")


# -- issue 16: the plan's indices and "where to act" --------------------------------------------

_INDEX_COLOR = "#1565c0"
_COMPONENT_COLOR = "#78909c"
_PRIORITY_COLOR = "#c62828"
_OTHER_COLOR = "#546e7a"


def index_chart(frame: pd.DataFrame, *, threshold: float | None = None, lang: str = "zh") -> alt.LayerChart:
    """An index and its components on 0-100: estimate and interval per row, the index first and
    coloured by its verdict where it has a threshold (dashed line), the components in grey.

    Parameters
    ----------
    frame : pandas.DataFrame
        :func:`survey_app.indices.index_rows` of one index: ``row`` ("index" or "component"),
        ``label_zh, label_en, estimate, ci_low, ci_high, n, weight`` and ``verdict``.
    threshold : float, optional
        The index's threshold in points.
    """
    _check_columns(frame, "frame", ("row", "label_zh", "label_en", "estimate", "ci_low", "ci_high", "n", "weight",
                                    "verdict"))
    data = frame[["row", "estimate", "ci_low", "ci_high", "n", "weight", "verdict"]].copy()
    data["name"] = frame["label_zh" if lang == "zh" else "label_en"].to_numpy()
    data["kind"] = [t("indices.index_row", lang) if row == "index" else t("indices.component", lang)
                    for row in data["row"]]
    colours = [VERDICT_COLORS[v] if r == "index" and v in VERDICT_COLORS else
               (_INDEX_COLOR if r == "index" else _COMPONENT_COLOR) for r, v in zip(data["row"], data["verdict"])]
    data["colour"] = colours
    data["weight"] = data["weight"].astype(float)
    values = np.concatenate([data[["ci_low", "ci_high", "estimate"]].to_numpy(dtype=float).ravel(),
                             [threshold] if threshold is not None else []])
    scale = alt.Scale(domain=_axis_range("mean", values), zero=False, nice=False)
    ticks, tick_format = axis_ticks("mean", list(scale.domain))
    axis = alt.Axis(format=tick_format, values=ticks, title=t("indices.score", lang))
    y = alt.Y("name:N", sort=list(data["name"]), title=None, axis=alt.Axis(labelLimit=220, labelOverlap=False),
              scale=alt.Scale(paddingInner=0.3))
    tooltip = [alt.Tooltip("name:N", title=t("indices.component", lang)),
               alt.Tooltip("estimate:Q", title=t("charts.estimate", lang), format=".1f"),
               alt.Tooltip("ci_low:Q", title=t("charts.ci_low", lang), format=".1f"),
               alt.Tooltip("ci_high:Q", title=t("charts.ci_high", lang), format=".1f"),
               alt.Tooltip("weight:Q", title=t("indices.weight", lang), format=".3f"),
               alt.Tooltip("n:Q", title=t("charts.n", lang))]
    base = alt.Chart(data)
    colour = alt.Color("colour:N", scale=None, legend=None)
    layers = [
        base.mark_rule(strokeWidth=4).encode(x=alt.X("ci_low:Q", scale=scale, axis=axis), x2="ci_high:Q", y=y,
                                             color=colour, tooltip=tooltip),
        base.mark_point(filled=True, size=110, stroke="white", strokeWidth=1, opacity=1).encode(
            x=alt.X("estimate:Q", scale=scale, axis=axis), y=y, color=colour, tooltip=tooltip),
    ]
    if threshold is not None:
        layers.append(_threshold_rule(threshold, "mean", lang))
    return alt.layer(*layers).properties(height=max(90, 34 * len(data)))


def where_to_act_chart(frame: pd.DataFrame, *, lang: str = "zh") -> alt.LayerChart:
    """Importance against performance (GB/T 19038-2009, Appendix D): one point per aspect with
    its intervals both ways, dashed quadrant lines at the means over the aspects, the upper-left
    quadrant (important, underperforming) shaded and its aspects in red, each point named.

    Parameters
    ----------
    frame : pandas.DataFrame
        :func:`survey_app.indices.where_to_act` rows of one questionnaire: ``label_zh, label_en,
        importance, ci_low, ci_high, performance, performance_ci_low, performance_ci_high,
        quadrant, priority``.
    """
    _check_columns(frame, "frame", ("label_zh", "label_en", "importance", "ci_low", "ci_high", "performance",
                                    "performance_ci_low", "performance_ci_high", "quadrant", "priority"))
    if frame.empty:
        raise ChartError("frame has no aspects to draw; give the rows of one questionnaire's where_to_act")
    data = frame[["importance", "ci_low", "ci_high", "performance", "performance_ci_low", "performance_ci_high",
                  "quadrant", "priority"]].copy()
    data["name"] = frame["label_zh" if lang == "zh" else "label_en"].to_numpy()
    data["quadrant_text"] = [t(f"indices.quadrant_{q}", lang) for q in data["quadrant"]]
    data["colour"] = np.where(data["priority"].to_numpy(dtype=bool), _PRIORITY_COLOR, _OTHER_COLOR)
    mean_importance, mean_performance = float(data["importance"].mean()), float(data["performance"].mean())
    x_values = data[["performance_ci_low", "performance_ci_high", "performance"]].to_numpy(dtype=float).ravel()
    y_values = np.append(data[["ci_low", "ci_high", "importance"]].to_numpy(dtype=float).ravel(), 0.0)
    x_domain = _axis_range("mean", x_values)
    y_domain = _axis_range("proportion", y_values)
    y_domain[0] = 0.0  # importance is a share of R², never below zero
    x_ticks, x_format = axis_ticks("mean", x_domain)
    y_ticks, y_format = axis_ticks("proportion", y_domain)
    x = alt.X("performance:Q", scale=alt.Scale(domain=x_domain, zero=False, nice=False),
              axis=alt.Axis(values=x_ticks, format=x_format, title=t("indices.performance", lang)))
    y = alt.Y("importance:Q", scale=alt.Scale(domain=y_domain, zero=False, nice=False),
              axis=alt.Axis(values=y_ticks, format=y_format, title=t("indices.importance", lang)))
    colour = alt.Color("colour:N", scale=None, legend=None)
    tooltip = [alt.Tooltip("name:N", title=t("indices.aspect", lang)),
               alt.Tooltip("importance:Q", title=t("indices.importance", lang), format=VEGA_PERCENT),
               alt.Tooltip("ci_low:Q", title=t("charts.ci_low", lang), format=VEGA_PERCENT),
               alt.Tooltip("ci_high:Q", title=t("charts.ci_high", lang), format=VEGA_PERCENT),
               alt.Tooltip("performance:Q", title=t("indices.performance", lang), format=".1f"),
               alt.Tooltip("quadrant_text:N", title=t("indices.quadrant", lang))]
    # the quadrant to act on: left of the mean performance, above the mean importance
    shade = alt.Chart(pd.DataFrame({"x": [x_domain[0]], "x2": [mean_performance], "y": [mean_importance],
                                    "y2": [y_domain[1]]})).mark_rect(color=_PRIORITY_COLOR, opacity=0.08).encode(
        x=alt.X("x:Q", scale=alt.Scale(domain=x_domain, zero=False, nice=False)), x2="x2:Q",
        y=alt.Y("y:Q", scale=alt.Scale(domain=y_domain, zero=False, nice=False)), y2="y2:Q")
    label = alt.Chart(pd.DataFrame({"x": [x_domain[0]], "y": [y_domain[1]], "text": [t("indices.quadrant_priority",
                                                                                          lang)]})).mark_text(
        align="left", baseline="top", dx=4, dy=4, color=_PRIORITY_COLOR, fontWeight="bold").encode(
        x="x:Q", y="y:Q", text="text:N")
    lines = [alt.Chart(pd.DataFrame({"v": [mean_performance]})).mark_rule(
                 color="#37474f", strokeDash=[6, 4]).encode(x="v:Q"),
             alt.Chart(pd.DataFrame({"v": [mean_importance]})).mark_rule(
                 color="#37474f", strokeDash=[6, 4]).encode(y="v:Q")]
    base = alt.Chart(data)
    vertical = base.mark_rule(strokeWidth=2, opacity=0.7).encode(x=x, y=alt.Y("ci_low:Q"), y2="ci_high:Q",
                                                                   color=colour, tooltip=tooltip)
    horizontal = base.mark_rule(strokeWidth=2, opacity=0.7).encode(x=alt.X("performance_ci_low:Q"),
                                                                     x2="performance_ci_high:Q", y=y, color=colour,
                                                                     tooltip=tooltip)
    points = base.mark_point(filled=True, size=120, opacity=1, stroke="white").encode(x=x, y=y, color=colour,
                                                                                      tooltip=tooltip)
    names = base.mark_text(align="left", dx=8, dy=-8, fontSize=12).encode(x=x, y=y, text="name:N", color=colour)
    return alt.layer(shade, label, *lines, vertical, horizontal, points, names).properties(height=340)
