"""Weighted frequency tables of every closed question of a questionnaire, overall or by
district or demographic group, with the statistician's weighting and intervals.

Tables come from :func:`survey_app.results.frequency` (cached per data version, settings
and breakdown); overall shares equal the report's frequency sheet.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import OVERALL
from analysis.errors import SurveyError
from questionnaires import Questionnaire, load_districts
from survey_app.auth import require_role
from survey_app.charts import frequency_chart
from survey_app.formatting import percent_table
from survey_app.i18n import current_language, register, t
from survey_app.results import (
    choose_wave,
    current_questionnaires,
    frequency,
    results_settings,
    show_chart,
    show_analysis_error,
    stored_responses,
)
from survey_app.ui import choose_placeholder, error_boundary

register(
    "frequencies",
    {
        "title": {"zh": "频数表", "en": "Frequency tables"},
        "intro": {
            "zh": "各题答案的加权比例（只计回答了该题的受访者），可按区县或人口特征分组。",
            "en": "Weighted shares of each question's answers (among the respondents who answered it), "
            "overall or by district or demographic group.",
        },
        "questionnaire": {"zh": "问卷", "en": "Questionnaire"},
        "by": {"zh": "分组", "en": "Break down by"},
        "by_none": {"zh": "不分组", "en": "No breakdown"},
        "overall": {"zh": "全部受访者", "en": "All respondents"},  # issue 13: the group of an unbroken table
        "by_district": {"zh": "区县", "en": "District"},
        "by_sex": {"zh": "性别", "en": "Sex"},
        "by_age_group": {"zh": "年龄段", "en": "Age group"},
        "by_urban_rural": {"zh": "城乡", "en": "Urban/rural"},
        "answer": {"zh": "答案", "en": "Answer"},
        "share": {"zh": "比例", "en": "Share"},
        "ci": {"zh": "置信区间", "en": "Confidence interval"},
        "count": {"zh": "人数", "en": "Respondents"},
        "respondents": {"zh": "回答人数", "en": "Answered"},
        "mean": {"zh": "均值", "en": "Mean"},
        "multiple": {"zh": "多选题：每项为选择该项的比例，合计可超过 100%。",
                     "en": "Several answers allowed: each row is the share choosing it; they may add up to over 100%."},
        "no_answers": {"zh": "本轮尚无人回答此题。", "en": "Nobody answered this question in this wave."},
        "no_respondents": {"zh": "本轮此问卷尚无同意受访的访问。",
                           "en": "This questionnaire has no consenting respondents in this wave."},
        "progress": {"zh": "正在计算频数表 {done}/{total}…", "en": "Computing frequency tables {done}/{total}…"},
    },
)

BREAKDOWNS: tuple[str | None, ...] = (None, "district", "sex", "age_group", "urban_rural")
_TABLE_TYPES = ("select_one", "select_multiple", "integer", "decimal")


def render() -> None:
    """Draw the frequency tables page."""
    require_role("statistician")
    lang = current_language()
    with error_boundary():
        st.header(t("frequencies.title", lang))
        frame = stored_responses(lang)
        if frame is None:
            return
        st.markdown(t("frequencies.intro", lang))
        forms = current_questionnaires()
        present = [qid for qid in forms if (frame["questionnaire_id"] == qid).any()]
        qid = st.selectbox(t("frequencies.questionnaire", lang), present or list(forms),
                           format_func=lambda q: forms[q].title.get(lang), key="frequencies_questionnaire",
                           placeholder=choose_placeholder(lang))
        wave = choose_wave(frame, lang, key="frequencies_wave")
        by = st.segmented_control(t("frequencies.by", lang), BREAKDOWNS, required=True, default=None,
                                  format_func=lambda b: t(f"frequencies.by_{b or 'none'}", lang),
                                  key="frequencies_by")
        used = results_settings(lang)
        form = forms[qid]
        # the tables describe consenting respondents, so the consent question itself is left out
        questions = [q for q in form.questions
                     if q.type in _TABLE_TYPES and q.name in frame.columns and q.name != "consent"]
        try:
            tables = _tables(used, form, [q.name for q in questions], wave=wave, by=by, lang=lang)
        except SurveyError as exc:
            show_analysis_error(exc, lang)
            return
        if tables is None:
            st.info(t("frequencies.no_respondents", lang))
            return
        labels = _group_labels(form, by, lang)
        for question in questions:
            if question.name == by:  # a question broken down by itself is a diagonal
                continue
            _question(form, question, tables[question.name], by, labels, lang)


def _tables(used, form: Questionnaire, names: list[str], *, wave: str, by: str | None,
            lang: str) -> dict[str, pd.DataFrame] | None:
    bar = st.progress(0.0)
    tables = {}
    for done, name in enumerate(names, start=1):
        bar.progress(done / len(names), text=t("frequencies.progress", lang, done=done, total=len(names)))
        table = frequency(used, form.id, name, wave=wave, by=by)
        tables[name] = table
    bar.empty()
    if names and all(table is None for table in tables.values()):
        return None
    return tables


def _group_labels(form: Questionnaire, by: str | None, lang: str) -> dict[str, str]:
    if by is None:  # the one group of a table without breakdown: a name, not the code "all"
        return {OVERALL: t("frequencies.overall", lang)}
    if by == "district":
        return {c.name: c.label.get(lang) for c in load_districts()}
    return {c.name: c.label.get(lang) for c in form.choices(by)}


def wide_table(table: pd.DataFrame, labels: dict[str, str], lang: str) -> pd.DataFrame:
    """Answers as rows and groups as columns (shares), with a last row of respondents per group."""
    answer = "choice_zh" if lang == "zh" else "choice_en"
    groups = list(dict.fromkeys(table["group"]))
    shares = table.pivot(index=answer, columns="group", values="estimate")
    shares = shares.reindex(index=list(dict.fromkeys(table[answer])), columns=groups)
    shares.columns = [labels.get(g, g) for g in groups]
    shares.index.name = t("frequencies.answer", lang)
    return shares


def _question(form: Questionnaire, question, table: pd.DataFrame | None, by: str | None,
              labels: dict[str, str], lang: str) -> None:
    st.subheader(question.label.get(lang), anchor=False)
    st.caption(f"`{question.name}`")
    if table is None or table.empty:
        st.caption(t("frequencies.no_answers", lang))
        return
    answer = "choice_zh" if lang == "zh" else "choice_en"
    missing = t("estimates.missing", lang)  # an empty cell, instead of Streamlit's "None"
    if question.type in ("integer", "decimal"):
        shown = table.assign(group=[labels.get(g, g) for g in table["group"]])
        st.dataframe(
            shown[["group", "estimate", "ci_low", "ci_high", "n"]].rename(columns={
                "group": t("frequencies.by", lang), "estimate": t("frequencies.mean", lang),
                "ci_low": "CI –", "ci_high": "CI +", "n": t("frequencies.respondents", lang)}),
            hide_index=True, width="stretch", placeholder=missing,
            column_config={t("frequencies.mean", lang): st.column_config.NumberColumn(format="%.1f"),
                           "CI –": st.column_config.NumberColumn(format="%.1f"),
                           "CI +": st.column_config.NumberColumn(format="%.1f")},
        )
        return
    if question.type == "select_multiple":
        st.caption(t("frequencies.multiple", lang))
    if by is None:
        shown = table[[answer, "estimate", "ci_low", "ci_high", "count"]].rename(columns={
            answer: t("frequencies.answer", lang), "estimate": t("frequencies.share", lang),
            "ci_low": "CI –", "ci_high": "CI +", "count": t("frequencies.count", lang)})
        st.dataframe(percent_table(shown, (t("frequencies.share", lang), "CI –", "CI +")), hide_index=True,
                     width="stretch", placeholder=missing)
        st.caption(f"{t('frequencies.respondents', lang)}: {int(table['n'].iloc[0])}")
        show_chart(frequency_chart(table, choice=answer, lang=lang))
        return
    wide = wide_table(table, labels, lang)
    counts = table.drop_duplicates("group").set_index("group")["n"]
    st.dataframe(percent_table(wide, wide.columns), width="stretch", placeholder=missing)
    st.caption(t("frequencies.respondents", lang) + ": "
               + ", ".join(f"{labels.get(g, g)} {int(n)}" for g, n in counts.items()))
    grouped = table.assign(group_label=[labels.get(g, g) for g in table["group"]])
    show_chart(frequency_chart(grouped, choice=answer, group="group_label", stacked=question.type == "select_one",
                               lang=lang))


if __name__ == "__main__":
    render()
