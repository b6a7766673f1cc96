"""Dashboard: one card per plan target (estimate, interval, threshold, verdict, n and
effective n, chart), the district comparison (forest plot) and the trend across waves.

All numbers come from :func:`survey_app.reporting.build_report` through the cached
:func:`survey_app.results.report`; an empty database offers the demonstration data.
"""
from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from analysis.errors import SurveyError
from survey_app.auth import require_role
from survey_app.charts import forest_plot, target_chart, trend_chart, verdict_label
from survey_app.i18n import current_language, register, t
from survey_app.reporting import ReportSettings, ReportTables
from survey_app.results import (
    choose_wave,
    excel_download,
    report,
    results_settings,
    show_chart,
    show_analysis_error,
    stored_responses,
    trend,
    waves,
)
from survey_app.ui import error_boundary

register(
    "dashboard",
    {
        "title": {"zh": "目标达成情况", "en": "Targets at a glance"},
        "intro": {
            "zh": "《全市放心消费创建工作实施方案》各项调查目标的估计值、置信区间与判定。"
            "置信下限不低于目标值为**达标**，置信上限低于目标值为**未达标**，其余为**尚无定论**。",
            "en": "Estimates, confidence intervals and verdicts for the survey targets of the Nantong plan. "
            "**Met** when the lower confidence limit is at or above the target, **not met** when the upper "
            "limit is below it, **inconclusive** otherwise.",
        },
        "interviews": {"zh": "已提交访问", "en": "Submitted interviews"},
        "count_met": {"zh": "达标", "en": "Met"},
        "count_not_met": {"zh": "未达标", "en": "Not met"},
        "count_inconclusive": {"zh": "尚无定论", "en": "Inconclusive"},
        "card_interval": {
            "zh": "{level} 置信区间 {low} – {high}，目标 ≥ {threshold}",
            "en": "{level} CI {low} – {high}; target ≥ {threshold}",
        },
        "card_sample": {
            "zh": "样本量 n = {n}，有效样本量 {n_eff}（设计效应 {deff}）",
            "en": "n = {n}, effective n = {n_eff} (design effect {deff})",
        },
        "card_no_data": {"zh": "尚无该目标的受访者。", "en": "No respondents for this target yet."},
        "card_extra": {
            "zh": "若估计值不变，约再需 {extra} 份完成访问可得出结论。",
            "en": "About {extra} more completed interviews would settle it if the estimate held.",
        },
        "card_on_target": {
            "zh": "估计值与目标值几乎相同，增加访问也难以得出结论。",
            "en": "The estimate is so close to the target that further interviews can hardly settle it.",
        },
        "card_unreliable": {"zh": "估计不可靠（NCHS 标准）：{why}", "en": "Unreliable estimate (NCHS): {why}"},
        "districts_title": {"zh": "各区县比较", "en": "Districts compared"},
        "districts_target": {"zh": "目标", "en": "Target"},
        "trend_title": {"zh": "各轮次变化", "en": "Trend across waves"},
        "trend_one_wave": {
            "zh": "数据库中只有一轮调查；有多轮数据时此处显示变化趋势。",
            "en": "Only one survey wave is stored; the trend appears here once there are more.",
        },
        "points": {"zh": "{value} 分", "en": "{value} points"},
    },
)

# More further interviews than this many times the sample are reported as impractical.
_PRACTICAL_EXTRA = 5
_BADGE_COLORS = {"met": "green", "not met": "red", "inconclusive": "orange", "no data": "gray"}


def render() -> None:
    """Draw the dashboard."""
    require_role("statistician")
    lang = current_language()
    with error_boundary():
        st.header(t("dashboard.title", lang))
        frame = stored_responses(lang)
        if frame is None:
            return
        st.markdown(t("dashboard.intro", lang))
        wave = choose_wave(frame, lang, key="dashboard_wave")
        used = results_settings(lang)
        try:
            with st.spinner(t("results.computing", lang)):
                tables = report(used, wave=wave)
        except SurveyError as exc:
            show_analysis_error(exc, lang)
            return
        _headline(tables, frame, wave, lang)
        excel_download(used, wave=wave, lang=lang, key="dashboard_excel")
        _cards(tables, lang)
        target_id = _districts(tables, lang)
        _trend(frame, used, tables.overview.loc[target_id], lang)


def format_value(value: float, statistic: str, lang: str) -> str:
    """An estimate as shown on the page: a percentage with one decimal, or points."""
    if not math.isfinite(value):
        return "–"
    if statistic == "proportion":
        return f"{value:.1%}"
    return t("dashboard.points", lang, value=f"{value:.1f}")


def _headline(tables: ReportTables, frame: pd.DataFrame, wave: str, lang: str) -> None:
    counts = tables.overview["verdict"].value_counts()
    columns = st.columns(4)
    columns[0].metric(t("dashboard.interviews", lang), int((frame["wave"].astype(str) == wave).sum()))
    for column, verdict, key in zip(columns[1:], ("met", "not met", "inconclusive"),
                                    ("count_met", "count_not_met", "count_inconclusive")):
        column.metric(t(f"dashboard.{key}", lang), int(counts.get(verdict, 0)))


def _cards(tables: ReportTables, lang: str) -> None:
    overview = tables.overview
    pairs = [overview.index[i:i + 2] for i in range(0, len(overview), 2)]
    for pair in pairs:
        for column, target_id in zip(st.columns(2), pair):
            with column:
                _card(target_id, overview.loc[target_id], lang)


def _card(target_id: str, row: pd.Series, lang: str) -> None:
    statistic = row["statistic"]
    label = row["label_zh"] if lang == "zh" else row["label_en"]
    with st.container(border=True, key=f"card_{target_id}"):
        st.markdown(f"**{label}**")
        st.badge(verdict_label(row["verdict"], lang), color=_BADGE_COLORS[row["verdict"]])
        if row["verdict"] == "no data":
            st.caption(t("dashboard.card_no_data", lang))
            return
        st.metric(label, format_value(row["estimate"], statistic, lang), label_visibility="collapsed")
        st.caption(t(
            "dashboard.card_interval", lang, level=f"{row['level']:.0%}",
            low=format_value(row["ci_low"], statistic, lang), high=format_value(row["ci_high"], statistic, lang),
            threshold=format_value(row["threshold"], statistic, lang),
        ))
        st.caption(t("dashboard.card_sample", lang, n=int(row["n"]), n_eff=f"{row['n_eff']:.0f}",
                     deff=f"{row['deff']:.2f}"))
        show_chart(target_chart(row["estimate"], row["ci_low"], row["ci_high"], threshold=row["threshold"],
                         verdict=row["verdict"], n=int(row["n"]), statistic=statistic, lang=lang))
        if not pd.isna(row["extra_interviews"]):
            extra = int(row["extra_interviews"])
            # beyond a few times the sample, no survey will settle it: the estimate sits on the target
            if extra > _PRACTICAL_EXTRA * row["n"]:
                st.caption(t("dashboard.card_on_target", lang))
            else:
                st.caption(t("dashboard.card_extra", lang, extra=f"{extra:,}"))
        if not row["reliable"]:
            st.caption(t("dashboard.card_unreliable", lang, why=row["reliability"]))


def _target_label(tables: ReportTables, target_id: str, lang: str) -> str:
    row = tables.overview.loc[target_id]
    return row["label_zh"] if lang == "zh" else row["label_en"]


def _districts(tables: ReportTables, lang: str) -> str:
    st.subheader(t("dashboard.districts_title", lang))
    target_id = st.selectbox(
        t("dashboard.districts_target", lang), list(tables.overview.index),
        format_func=lambda tid: _target_label(tables, tid, lang), key="dashboard_target",
    )
    row = tables.overview.loc[target_id]
    domains = tables.domains[target_id]
    # the statistician may have asked for more breakdowns; this chart compares districts
    domains = domains.loc[domains["domain_variable"].isin(["overall", "district"])].copy()
    domains["name"] = domains["domain_zh"] if lang == "zh" else domains["domain_en"]
    show_chart(forest_plot(domains, label="name", threshold=row["threshold"], statistic=row["statistic"], lang=lang))
    return target_id


def _trend(frame: pd.DataFrame, used: ReportSettings, target: pd.Series, lang: str) -> None:
    st.subheader(t("dashboard.trend_title", lang))
    available = waves(frame)
    if len(available) < 2:
        st.caption(t("dashboard.trend_one_wave", lang))
        return
    with st.spinner(t("results.computing", lang)):
        rows = trend(used, target.name)[["wave", "estimate", "ci_low", "ci_high", "verdict", "n"]]
    show_chart(trend_chart(rows.reset_index(drop=True), threshold=target["threshold"],
                           statistic=target["statistic"], lang=lang))


if __name__ == "__main__":
    render()
