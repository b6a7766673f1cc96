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
from analysis.targets import MIN_EFFECTIVE_N
from survey_app.auth import require_role
from survey_app.change import change_text, previous_wave
from survey_app.charts import (difference_chart, forest_plot, index_chart, target_chart, trend_chart, verdict_label,
                               where_to_act_chart)
from survey_app.indices import change_direction, index_changes, priority_findings
from survey_app.formatting import format_percent
from survey_app.i18n import current_language, register, t
from survey_app.reporting import ReportSettings, ReportTables
from survey_app.results import (
    choose_wave,
    current_questionnaires,
    districts_against_rest,
    excel_download,
    indices_over_waves,
    report,
    results_settings,
    show_chart,
    show_analysis_error,
    stored_responses,
    trend,
    wave_change_table,
    waves,
)
from survey_app.statistics_tools import ADJUSTMENT_NAMES
from survey_app.ui import choose_placeholder, error_boundary, md_text
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
        _cards(tables, lang, _changes_since(frame, used, wave, lang))
        _indices(tables, used, wave, lang)
        _where_to_act(tables, lang)
        target_id = _districts(tables, lang)
        _district_differences(used, wave, tables.overview.loc[target_id], lang)
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


def _cards(tables: ReportTables, lang: str, changes: pd.DataFrame | None = None) -> None:
    overview = tables.overview
    pairs = [overview.index[i:i + 2] for i in range(0, len(overview), 2)]
    found = {} if changes is None else {row["target"]: row for row in changes.to_dict("records")}
    for pair in pairs:
        for column, target_id in zip(st.columns(2), pair):
            with column:
                _card(target_id, overview.loc[target_id], lang, found.get(target_id))


def _card(target_id: str, row: pd.Series, lang: str, change: dict | None = None) -> None:
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
        if change is not None:
            _change_line(target_id, change, row["level"], lang)
        show_chart(target_chart(row["estimate"], row["ci_low"], row["ci_high"], threshold=row["threshold"],
                         verdict=row["verdict"], n=int(row["n"]), statistic=statistic, lang=lang))
        hint = hint_text(row, lang)
        if hint:
            st.caption(hint)
        if not row["reliable"]:
            st.caption(t("estimates.unreliable", lang, why=reasons_text(row["reliability_reasons"], lang)))


# -- issue 16: the plan's indices and where to act -------------------------------------------------

def _indices(tables: ReportTables, used: ReportSettings, wave: str, lang: str) -> None:
    rows = tables.indices
    if rows is None or rows.empty:
        return
    st.subheader(t("indices.title", lang))
    st.caption(t("indices.intro", lang))
    # one card per row: the components' chart and the table of changes need the width
    for index_id in dict.fromkeys(rows["index"]):
        _index_card(rows[rows["index"] == index_id], used, wave, lang)


def _index_card(rows: pd.DataFrame, used: ReportSettings, wave: str, lang: str) -> None:
    head = rows.iloc[0]
    label = head["label_zh"] if lang == "zh" else head["label_en"]
    with st.container(border=True, key=f"index_{head['index']}"):
        st.markdown(f"**{label}**")
        if head["refused"]:
            # the reason in words of the interface where it is known; the analysis' own words otherwise
            st.error(t(f"indices.refused_{head['refused_code']}", lang, items=head["refused_items"],
                       reason=head["refused"], needed=MIN_EFFECTIVE_N))
            return
        if head["verdict"] == "no data" or pd.isna(head["estimate"]):
            st.caption(t("indices.no_data", lang))
            return
        threshold = None if pd.isna(head["threshold"]) else float(head["threshold"])
        if threshold is not None:
            st.badge(verdict_label(head["verdict"], lang), color=_BADGE_COLORS[head["verdict"]])
        st.metric(label, format_value(head["estimate"], "mean", lang), label_visibility="collapsed")
        interval = t("indices.interval", lang, level=format_percent(used.level, decimals=0),
                     low=format_number(head["ci_low"], ".1f", lang), high=format_number(head["ci_high"], ".1f", lang))
        if threshold is not None:
            interval += "；" if lang == "zh" else "; "
            interval += t("indices.threshold", lang, threshold=f"{threshold:g}")
        st.caption(interval)
        st.caption(t(f"indices.method_{head['method']}", lang) + ("；" if lang == "zh" else "; ")
                   + t("indices.sample", lang, n=int(head["n"])))
        show_chart(index_chart(rows, threshold=threshold, lang=lang))
        if threshold is None:
            st.caption(t("indices.no_threshold", lang))
            _index_change(head["index"], used, wave, lang)


def _index_change(index_id: str, used: ReportSettings, wave: str, lang: str) -> None:
    with st.spinner(t("results.computing", lang)):
        changes = index_changes(indices_over_waves(used), level=used.level)
    changes = changes[(changes["index"] == index_id) & (changes["to_wave"] == wave)]
    if changes.empty:
        st.caption(t("indices.change_one_wave", lang))
        return
    st.markdown(t("indices.change_title", lang, before=changes["from_wave"].iloc[0]))
    def number(values: pd.Series, spec: str = ".1f") -> list[str]:
        return [format_number(value, spec, lang) for value in values]

    table = pd.DataFrame({
        t("indices.component", lang): changes["label_zh" if lang == "zh" else "label_en"],
        changes["from_wave"].iloc[0]: number(changes["before"]),
        wave: number(changes["after"]),
        t("indices.change", lang): number(changes["change"], "+.1f"),
        t("charts.ci_low", lang): number(changes["ci_low"], "+.1f"),
        t("charts.ci_high", lang): number(changes["ci_high"], "+.1f"),
        t("indices.direction", lang): [change_direction(row, lang) for _, row in changes.iterrows()],
    })
    st.dataframe(table, hide_index=True, width="stretch")


def _where_to_act(tables: ReportTables, lang: str) -> None:
    rows = tables.priorities
    if rows is None:
        return
    st.subheader(t("indices.act_title", lang))
    st.caption(t("indices.act_intro", lang))
    if rows.empty:
        st.caption(t("indices.act_none", lang))
        return
    forms = current_questionnaires()
    ids = [qid for qid in dict.fromkeys(rows["questionnaire"]) if qid in forms]
    chosen = st.selectbox(t("indices.act_questionnaire", lang), ids,
                          format_func=lambda qid: forms[qid].title.zh if lang == "zh" else forms[qid].title.get("en"),
                          key="dashboard_where_to_act", placeholder=choose_placeholder(lang))
    rows = rows[rows["questionnaire"] == chosen]
    with st.container(key="where_to_act"):
        if rows["refused"].iloc[0]:
            if rows["refused_code"].iloc[0] == "too_few":
                st.warning(t("indices.act_too_few", lang, n=int(rows["n"].iloc[0]), needed=MIN_EFFECTIVE_N))
            else:
                st.warning(t("indices.act_refused", lang, reason=rows["refused"].iloc[0]))
            return
        for finding in priority_findings(rows, lang):
            st.markdown(f"**:red[{finding}]**" if rows["priority"].any() else finding)
        show_chart(where_to_act_chart(rows, lang=lang))
        outcome = forms[chosen].question(rows["outcome"].iloc[0]).label
        st.caption(t("indices.act_outcome", lang, name=outcome.zh if lang == "zh" else outcome.get("en"),
                     r2=format_number(rows["r2"].iloc[0], ".2f", lang), n=int(rows["n"].iloc[0])))


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


# -- issue 15: change since the previous wave, districts against the rest ------------------------

def _changes_since(frame: pd.DataFrame, used: ReportSettings, wave: str, lang: str) -> pd.DataFrame | None:
    """Every target's city-wide change from the wave before ``wave`` (None for the first wave)."""
    before = previous_wave(frame, wave)
    if before is None:
        return None
    try:
        with st.spinner(t("results.computing", lang)):
            changes = wave_change_table(used, (before, wave), domains=())
    except SurveyError as exc:   # e.g. margins the earlier wave cannot be weighted to
        show_analysis_error(exc, lang)
        return None
    return changes[changes["kind"] == "target"]


def _change_line(target_id: str, change: dict, level: float, lang: str) -> None:
    """The change since the previous wave in words; an arrow only when it is significant."""
    text = md_text(change_text(change, lang, level=level))
    with st.container(key=f"change_{target_id}"):
        if change["status"] == "compared" and change["direction"] == "up":
            st.markdown(f":green[**▲ {text}**]")
        elif change["status"] == "compared" and change["direction"] == "down":
            st.markdown(f":red[**▼ {text}**]")
        else:
            st.caption(text)


def _district_differences(used: ReportSettings, wave: str, target: pd.Series, lang: str) -> None:
    """Each district minus the rest of the city, with intervals, significant ones coloured (Holm)."""
    with st.spinner(t("results.computing", lang)):
        rows = districts_against_rest(used, wave=wave)
    rows = rows[rows["target"] == target.name]
    compared = rows[rows["status"] == "compared"].copy()
    st.markdown(f"**{t('change.district_title', lang)}**")
    if compared.empty:
        st.caption(t("change.district_none", lang))
        return
    compared["name"] = compared["district_zh" if lang == "zh" else "district_en"]
    left = rows.loc[rows["status"] != "compared", "district_zh" if lang == "zh" else "district_en"]
    with st.container(key="district_differences"):
        show_chart(difference_chart(compared, label="name", statistic=target["statistic"], lang=lang))
        st.caption(t("change.district_note", lang, level=format_percent(used.level, decimals=0),
                     method=ADJUSTMENT_NAMES.get(rows["adjust"].iloc[0], rows["adjust"].iloc[0]),
                     left_out=t("change.district_left_out", lang, names=("、" if lang == "zh" else ", ").join(left))
                     if len(left) else ""))


def _trend(frame: pd.DataFrame, used: ReportSettings, target: pd.Series, lang: str) -> None:
    st.subheader(t("dashboard.trend_title", lang))
    available = waves(frame)
    if len(available) < 2:
        st.caption(t("dashboard.trend_one_wave", lang))
        return
    with st.spinner(t("results.computing", lang)):
        rows = trend(used, target.name)[["wave", "estimate", "ci_low", "ci_high", "verdict", "n", "too_few"]]
        # every target's: one cached table for any target chosen (and the cards' own with two waves)
        steps = wave_change_table(used, tuple(available), domains=())
    significant = steps[(steps["target"] == target.name) & (steps["status"] == "compared") & steps["significant"]]
    with st.container(key="trend_chart"):
        show_chart(trend_chart(rows.reset_index(drop=True), threshold=target["threshold"],
                               statistic=target["statistic"], lang=lang,
                               steps=dict(zip(significant["wave_b"], significant["direction"]))))
        if len(significant):
            st.caption(f"▲/▼ {t('difference_chart.step_significant', lang)}")


if __name__ == "__main__":
    render()
