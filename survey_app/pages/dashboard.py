"""Dashboard: one card per plan target (estimate, interval, threshold, verdict, n and
effective n, chart, and a hint worded from the distance to the target and the further
interviews), the district comparison (forest plot) and the trend across waves.

Below the minimum sample of :func:`analysis.targets.sample_needed` a card says so in words
("too few respondents: n = 1 of the ~30 needed") and shows no numbers.

All numbers come from :func:`survey_app.reporting.build_report` through the cached
:func:`survey_app.results.report`; the "show demonstration data" switch
shows the separate demo database instead (:func:`survey_app.results.stored_responses`).
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis.errors import SurveyError
from survey_app.auth import require_role
from survey_app.charts import forest_plot, target_chart, trend_chart, verdict_label
from survey_app.formatting import format_percent
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
from survey_app.ui import choose_placeholder, error_boundary
from survey_app.wording import format_number, format_value, hint_text, reasons_text

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
        "districts_title": {"zh": "各区县比较", "en": "Districts compared"},
        "districts_target": {"zh": "目标", "en": "Target"},
        "trend_title": {"zh": "各轮次变化", "en": "Trend across waves"},
        "trend_one_wave": {
            "zh": "数据库中只有一轮调查；有多轮数据时此处显示变化趋势。",
            "en": "Only one survey wave is stored; the trend appears here once there are more.",
        },
    },
)

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


def _headline(tables: ReportTables, frame: pd.DataFrame, wave: str, lang: str) -> None:
    overview = tables.overview
    # a verdict of too few respondents is no verdict: those targets are counted apart
    too_few = overview["too_few"] & (overview["verdict"] != "no data")
    counts = overview.loc[~too_few, "verdict"].value_counts()
    columns = st.columns(5 if too_few.any() else 4)
    columns[0].metric(t("dashboard.interviews", lang), int((frame["wave"].astype(str) == wave).sum()))
    for column, verdict, key in zip(columns[1:], ("met", "not met", "inconclusive"),
                                    ("count_met", "count_not_met", "count_inconclusive")):
        column.metric(t(f"dashboard.{key}", lang), int(counts.get(verdict, 0)))
    if too_few.any():
        columns[4].metric(t("estimates.too_few_count", lang), int(too_few.sum()))


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
        if row["verdict"] == "no data":
            st.badge(verdict_label(row["verdict"], lang), color=_BADGE_COLORS[row["verdict"]])
            st.caption(t("dashboard.card_no_data", lang))
            return
        if row["too_few"]:  # words, not numbers that would look like a result
            st.badge(t("estimates.too_few_badge", lang), color="gray")
            st.markdown(t("estimates.too_few", lang, n=int(row["n"]), needed=f"{int(row['n_needed']):,}"))
            return
        st.badge(verdict_label(row["verdict"], lang), color=_BADGE_COLORS[row["verdict"]])
        st.metric(label, format_value(row["estimate"], statistic, lang), label_visibility="collapsed")
        threshold = format_value(row["threshold"], statistic, lang)
        if pd.isna(row["ci_low"]) or pd.isna(row["ci_high"]):
            st.caption(t("estimates.no_interval", lang, threshold=threshold))
        else:
            st.caption(t(
                "dashboard.card_interval", lang, level=format_percent(row["level"], decimals=0),
                low=format_value(row["ci_low"], statistic, lang), high=format_value(row["ci_high"], statistic, lang),
                threshold=threshold,
            ))
        st.caption(t("dashboard.card_sample", lang, n=int(row["n"]), n_eff=format_number(row["n_eff"], ".0f", lang),
                     deff=format_number(row["deff"], ".2f", lang)))
        show_chart(target_chart(row["estimate"], row["ci_low"], row["ci_high"], threshold=row["threshold"],
                         verdict=row["verdict"], n=int(row["n"]), statistic=statistic, lang=lang))
        hint = hint_text(row, lang)
        if hint:
            st.caption(hint)
        if not row["reliable"]:
            st.caption(t("estimates.unreliable", lang, why=reasons_text(row["reliability_reasons"], lang)))


def _target_label(tables: ReportTables, target_id: str, lang: str) -> str:
    row = tables.overview.loc[target_id]
    return row["label_zh"] if lang == "zh" else row["label_en"]


def _districts(tables: ReportTables, lang: str) -> str:
    st.subheader(t("dashboard.districts_title", lang))
    target_id = st.selectbox(
        t("dashboard.districts_target", lang), list(tables.overview.index),
        format_func=lambda tid: _target_label(tables, tid, lang), key="dashboard_target",
        placeholder=choose_placeholder(lang),
    )
    row = tables.overview.loc[target_id]
    domains = tables.domains[target_id]
    # the statistician may have asked for more breakdowns; this chart compares districts
    domains = domains.loc[domains["domain_variable"].isin(["overall", "district"])].copy()
    domains["name"] = domains["domain_zh"] if lang == "zh" else domains["domain_en"]
    if domains["too_few"].all():
        st.caption(t("estimates.forest_all_too_few", lang))
        return target_id
    show_chart(forest_plot(domains, label="name", threshold=row["threshold"], statistic=row["statistic"], lang=lang))
    return target_id


def _trend(frame: pd.DataFrame, used: ReportSettings, target: pd.Series, lang: str) -> None:
    st.subheader(t("dashboard.trend_title", lang))
    available = waves(frame)
    if len(available) < 2:
        st.caption(t("dashboard.trend_one_wave", lang))
        return
    with st.spinner(t("results.computing", lang)):
        rows = trend(used, target.name)[["wave", "estimate", "ci_low", "ci_high", "verdict", "n", "too_few"]]
    show_chart(trend_chart(rows.reset_index(drop=True), threshold=target["threshold"],
                           statistic=target["statistic"], lang=lang))


if __name__ == "__main__":
    render()
