"""Further analyses on the Statistics page: quantiles, ratios, cross-tabulations with the
Rao–Scott test, domain comparisons and the change between two waves (the waves stacked into one
design), each with the R command that gives the same numbers.

Drawn by :mod:`survey_app.pages.statistics` below its estimates; the design is the report's
(:func:`survey_app.results.design`: the page's weighting, wave and settings).  One analysis is
computed per rerun (the one chosen), never all of them.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import SurveyDesign, wave_change
from analysis.errors import SurveyError
from analysis.targets import load_targets
from questionnaires import Questionnaire
from survey_app.charts import difference_chart
from survey_app.formatting import format_percent
from survey_app.i18n import register, t
from survey_app.r_code import chisq_call, compare_call, design_call, quantile_call, ratio_call, wave_change_call
from survey_app.reporting import DOMAIN_VARIABLES, PSU_COLUMN, STRATA_COLUMN, ReportSettings, target_column
from survey_app.results import (current_questionnaires, design, show_analysis_error, show_chart, stacked,
                                stored_waves)
from survey_app.ui import SELECT_ALL, choose_placeholder

register(
    "tools",
    {
        "title": {"zh": "更多分析", "en": "Further analyses"},
        "caption": {
            "zh": "以下结果与上方估计使用同一设计和加权；每个结果旁给出得到相同数字的 R（survey 包）命令。",
            "en": "These use the same design and weighting as the estimates above; beside each result is the R "
            "(survey package) command that gives the same numbers.",
        },
        "questionnaire": {"zh": "问卷", "en": "Questionnaire"},
        "kind": {"zh": "分析", "en": "Analysis"},
        "kind_quantile": {"zh": "分位数", "en": "Quantiles"},
        "kind_ratio": {"zh": "比率", "en": "Ratio"},
        "kind_crosstab": {"zh": "交叉表与检验", "en": "Cross-tabulation"},
        "kind_compare": {"zh": "分域比较", "en": "Domain comparison"},
        "kind_change": {"zh": "两轮之间的变化", "en": "Change between two waves"},
        "wave_a": {"zh": "较早一轮（A）", "en": "Earlier wave (A)"},
        "wave_b": {"zh": "较晚一轮（B）", "en": "Later wave (B)"},
        "change_one_wave": {"zh": "只有一轮调查，无法比较。", "en": "Only one wave is stored: nothing to compare."},
        "change_same_wave": {"zh": "请选择两个不同的轮次。", "en": "Choose two different waves."},
        "change_no_data": {"zh": "此问卷在所选某一轮没有同意受访的访问。",
                           "en": "This questionnaire has no consenting respondents in one of the waves."},
        "change_note": {
            "zh": "两轮合并为一个设计（层 = 轮次×区县，各轮的初级抽样单元分开，各轮按自己的人口边际加权），"
            "差异 = B − A，{level} 置信区间；{adjust}",
            "en": "The waves stacked into one design (strata = wave × district, each wave's PSUs apart, each wave "
            "weighted to its own margins); difference = B − A, {level} intervals; {adjust}",
        },
        "change_adjust_none": {"zh": "全体一项比较，未做多重比较校正。", "en": "one comparison, not adjusted."},
        "change_adjust_holm": {"zh": "各分域的 p 值按 Holm 方法校正。", "en": "p-values of the domains adjusted (Holm)."},
        "r_stacked_note": {"zh": "d：两轮受访者合并（rbind），轮次在 wave 列", "en": "d: both waves' respondents "
                           "stacked (rbind), the wave in column wave"},
        "col_estimate_a": {"zh": "估计值 A", "en": "Estimate A"},
        "col_estimate_b": {"zh": "估计值 B", "en": "Estimate B"},
        "col_n_a": {"zh": "样本量 A", "en": "n A"},
        "col_n_b": {"zh": "样本量 B", "en": "n B"},
        "none": {"zh": "此问卷本轮没有同意受访的访问。", "en": "No consenting respondents in this wave."},
        "no_numeric": {"zh": "此问卷没有数值题。", "en": "This questionnaire has no numeric question."},
        "variable": {"zh": "变量", "en": "Variable"},
        "probs": {"zh": "分位点", "en": "Quantiles"},
        "interval": {"zh": "区间方法", "en": "Interval"},
        "interval_mean": {"zh": "Woodruff（Wald）", "en": "Woodruff (Wald)"},
        "interval_beta": {"zh": "Woodruff（beta）", "en": "Woodruff (beta)"},
        "interval_score": {"zh": "得分检验反演", "en": "Score test inversion"},
        "rule": {"zh": "分位数定义", "en": "Quantile rule"},
        "by": {"zh": "分域", "en": "By"},
        "by_none": {"zh": "全体", "en": "Everyone"},
        "numerator": {"zh": "分子", "en": "Numerator"},
        "denominator": {"zh": "分母", "en": "Denominator"},
        "ratio_help": {
            "zh": "比率 = 分子的加权总和 ÷ 分母的加权总和（如“已解决投诉数 ÷ 投诉数”）；两者都取数值题或目标的 0/1 指标。",
            "en": "Ratio = weighted total of the numerator ÷ weighted total of the denominator (e.g. complaints "
            "resolved ÷ complaints made); both are numeric questions or targets' 0/1 indicators.",
        },
        "row": {"zh": "行变量", "en": "Rows"},
        "col": {"zh": "列变量", "en": "Columns"},
        "statistic": {"zh": "检验统计量", "en": "Test statistic"},
        "stat_F": {"zh": "F（Rao–Scott 二阶校正，R 默认）", "en": "F (Rao–Scott second order, R's default)"},
        "stat_Chisq": {"zh": "卡方（Rao–Scott 一阶）", "en": "Chi-squared (Rao–Scott first order)"},
        "stat_Wald": {"zh": "Wald 检验", "en": "Wald"},
        "stat_adjWald": {"zh": "校正 Wald 检验", "en": "Adjusted Wald"},
        "row_shares": {"zh": "行百分比（加权）", "en": "Row percentages (weighted)"},
        "test_result": {
            "zh": "{name}：统计量 {statistic}，自由度 {df}，p = {p}。{verdict}",
            "en": "{name}: statistic {statistic}, df {df}, p = {p}. {verdict}",
        },
        "associated": {"zh": "在 5% 水平上两变量相关。", "en": "The two are associated at the 5% level."},
        "not_associated": {"zh": "在 5% 水平上未发现相关。", "en": "No association found at the 5% level."},
        "what": {"zh": "比较的指标", "en": "What to compare"},
        "reference": {"zh": "比较对象", "en": "Compare with"},
        "reference_rest": {"zh": "其余地区/人群", "en": "The rest of the population"},
        "adjust_note": {
            "zh": "p 值按 {method} 方法做多重比较校正；着色的为校正后在 {level} 置信水平上显著的差异。",
            "en": "p-values adjusted for multiple comparisons ({method}); coloured rows differ significantly at the "
            "{level} level after adjustment.",
        },
        "r_code": {"zh": "R 命令（survey 包）", "en": "R command (survey package)"},
        "r_data_note": {"zh": "d：本问卷本轮同意受访者的数据，列名如下", "en": "d: this questionnaire's respondents "
                        "in this wave, with the columns named here"},
        "col_estimate": {"zh": "估计值", "en": "Estimate"},
        "col_se": {"zh": "标准误", "en": "SE"},
        "col_ci_low": {"zh": "置信下限", "en": "CI low"},
        "col_ci_high": {"zh": "置信上限", "en": "CI high"},
        "col_df": {"zh": "自由度", "en": "df"},
        "col_n": {"zh": "样本量", "en": "n"},
        "col_domain": {"zh": "区域", "en": "Domain"},
        "col_prob": {"zh": "分位点", "en": "Quantile"},
        "col_reference_estimate": {"zh": "比较对象估计值", "en": "Reference estimate"},
        "col_difference": {"zh": "差异", "en": "Difference"},
        "col_p_value": {"zh": "p 值", "en": "p"},
        "col_p_adjusted": {"zh": "校正后 p 值", "en": "Adjusted p"},
        "col_significant": {"zh": "显著", "en": "Significant"},
    },
)

KINDS = ("quantile", "ratio", "crosstab", "compare", "change")
INTERVALS = ("mean", "beta", "score")
RULES = ("math", "school", "hf7")
CHISQ_STATISTICS = ("F", "Chisq", "Wald", "adjWald")
PROBS = (0.1, 0.25, 0.5, 0.75, 0.9)
ADJUSTMENT_NAMES = {"holm": "Holm", "bonferroni": "Bonferroni", "BH": "Benjamini–Hochberg"}


def render_tools(used: ReportSettings, wave: str, lang: str) -> None:
    """The further-analyses section of the Statistics page."""
    st.subheader(t("tools.title", lang), anchor=False)
    st.caption(t("tools.caption", lang))
    forms = current_questionnaires()
    qid = st.selectbox(t("tools.questionnaire", lang), list(forms), key="tools_form",
                       format_func=lambda q: forms[q].title.get(lang), placeholder=choose_placeholder(lang))
    built = design(used, qid, wave=wave)
    if built is None:
        st.caption(t("tools.none", lang))
        return
    kind = st.segmented_control(t("tools.kind", lang), KINDS, default="quantile", key="tools_kind",
                                format_func=lambda k: t(f"tools.kind_{k}", lang))
    form = forms[qid]
    try:
        if kind == "quantile":
            _quantiles(built, form, used, lang)
        elif kind == "ratio":
            _ratio(built, form, used, qid, lang)
        elif kind == "crosstab":
            _crosstab(built, form, lang)
        elif kind == "compare":
            _compare(built, form, used, qid, lang)
        elif kind == "change":
            _change(form, used, qid, wave, lang)
    except SurveyError as exc:
        show_analysis_error(exc, lang)


# -- the four analyses ------------------------------------------------------------------------------

def _quantiles(built: SurveyDesign, form: Questionnaire, used: ReportSettings, lang: str) -> None:
    numeric = _numeric_questions(form, built, lang)
    if not numeric:
        st.caption(t("tools.no_numeric", lang))
        return
    left, right = st.columns(2)
    variable = left.selectbox(t("tools.variable", lang), list(numeric), format_func=numeric.__getitem__,
                              key="tools_q_var", placeholder=choose_placeholder(lang))
    probs = left.multiselect(t("tools.probs", lang), PROBS, default=[0.25, 0.5, 0.75], key="tools_q_probs",
                             format_func=lambda p: format_percent(p, decimals=0),
                             placeholder=choose_placeholder(lang, several=True), select_all=SELECT_ALL)
    interval = right.selectbox(t("tools.interval", lang), INTERVALS, key="tools_q_interval",
                               format_func=lambda i: t(f"tools.interval_{i}", lang), placeholder=choose_placeholder(lang))
    rule = right.selectbox(t("tools.rule", lang), RULES, key="tools_q_rule", placeholder=choose_placeholder(lang))
    by = _by_choice(built, lang, key="tools_q_by")
    if not probs:
        return
    probs = sorted(probs)
    est = built.quantile(variable, probs, by=by, level=used.level, interval=interval, rule=rule)
    table = est.to_frame().reset_index()
    _result(_rename(table, lang), built,
            quantile_call(variable, probs, by=by, interval=interval, rule=rule, level=used.level), lang)


def _ratio(built: SurveyDesign, form: Questionnaire, used: ReportSettings, qid: str, lang: str) -> None:
    options = {**_numeric_questions(form, built, lang), **_target_indicators(built, qid, lang)}
    if len(options) < 2:
        st.caption(t("tools.no_numeric", lang))
        return
    st.caption(t("tools.ratio_help", lang))
    names = list(options)
    left, right = st.columns(2)
    numerator = left.selectbox(t("tools.numerator", lang), names, format_func=options.__getitem__,
                               key="tools_r_num", placeholder=choose_placeholder(lang))
    denominator = right.selectbox(t("tools.denominator", lang), names, index=1, format_func=options.__getitem__,
                                  key="tools_r_den", placeholder=choose_placeholder(lang))
    by = _by_choice(built, lang, key="tools_r_by")
    est = built.ratio(numerator, denominator, by=by, level=used.level)
    _result(_rename(est.to_frame().reset_index(), lang), built,
            ratio_call(numerator, denominator, by=by, level=used.level), lang)


def _crosstab(built: SurveyDesign, form: Questionnaire, lang: str) -> None:
    options = _categorical_questions(form, built, lang)
    names = list(options)
    if len(names) < 2:
        return
    left, right = st.columns(2)
    row = left.selectbox(t("tools.row", lang), names, format_func=options.__getitem__, key="tools_x_row",
                         placeholder=choose_placeholder(lang))
    col = right.selectbox(t("tools.col", lang), names, index=min(1, len(names) - 1),
                          format_func=options.__getitem__, key="tools_x_col", placeholder=choose_placeholder(lang))
    statistic = st.selectbox(t("tools.statistic", lang), CHISQ_STATISTICS, key="tools_x_stat",
                             format_func=lambda s: t(f"tools.stat_{s}", lang), placeholder=choose_placeholder(lang))
    if row == col:
        return
    test = built.chisq(row, col, statistic=statistic)
    shares = test.table.div(test.table.sum(axis=1), axis=0)
    st.markdown(f"**{t('tools.row_shares', lang)}**")
    labels = _choice_labels(form, lang)
    shown = shares.rename(index=lambda v: labels.get((row, str(v)), v),
                          columns=lambda v: labels.get((col, str(v)), v))
    st.dataframe(shown.style.format(format_percent), width="stretch", placeholder=t("estimates.missing", lang))
    df = f"{test.ndf:.3g}" + ("" if pd.isna(test.ddf) else f", {test.ddf:.4g}")
    verdict = t("tools.associated" if test.p < 0.05 else "tools.not_associated", lang)
    st.markdown(t("tools.test_result", lang, name=t(f"tools.stat_{statistic}", lang),
                  statistic=f"{test.statistic:.4g}", df=df, p=f"{test.p:.4g}", verdict=verdict))
    _r_code(built, chisq_call(row, col, statistic=statistic), lang)


def _compare(built: SurveyDesign, form: Questionnaire, used: ReportSettings, qid: str, lang: str) -> None:
    options = {**_target_indicators(built, qid, lang), **_numeric_questions(form, built, lang)}
    if not options:
        st.caption(t("tools.no_numeric", lang))
        return
    variable = st.selectbox(t("tools.what", lang), list(options), format_func=options.__getitem__,
                            key="tools_c_var", placeholder=choose_placeholder(lang))
    by = _by_choice(built, lang, key="tools_c_by", allow_none=False)
    domains = [str(v) for v in built.domain_codes(by)[1]]
    reference = st.selectbox(t("tools.reference", lang), [None, *domains], key="tools_c_ref",
                             format_func=lambda d: t("tools.reference_rest", lang) if d is None
                             else _choice_labels(form, lang).get((by, d), d), placeholder=choose_placeholder(lang))
    statistic = "proportion" if variable.startswith(target_column("")) else "mean"
    result = built.compare(variable, by, statistic=statistic, reference=reference, level=used.level,
                           ci_method=used.ci_method if statistic == "proportion" else None)
    table = result.to_frame().reset_index()
    labels = _choice_labels(form, lang)
    table["name"] = [labels.get((by, str(d)), str(d)) for d in table[by]]
    shown = table[["name", "estimate", "reference_estimate", "difference", "se", "ci_low", "ci_high",
                   "p_value", "p_adjusted", "significant", "n"]]
    scaled = [t(f"tools.col_{c}", lang) for c in ("estimate", "reference_estimate", "difference", "se",
                                                    "ci_low", "ci_high")]
    number = format_percent if statistic == "proportion" else "{:.2f}".format
    renamed = _rename(shown, lang).rename(columns={"name": t("tools.col_domain", lang)})
    st.dataframe(renamed.style.format(number, subset=scaled).format(
        "{:.4f}", subset=[t("tools.col_p_value", lang), t("tools.col_p_adjusted", lang)], na_rep="—"),
        hide_index=True, width="stretch", placeholder=t("estimates.missing", lang))
    show_chart(difference_chart(table, label="name", statistic=statistic, lang=lang))
    st.caption(t("tools.adjust_note", lang, method=ADJUSTMENT_NAMES.get(result.adjust, result.adjust),
                 level=format_percent(used.level, decimals=0)))
    _r_code(built, compare_call(variable, by, statistic=statistic, reference=reference,
                                adjust=result.adjust), lang)


def _change(form: Questionnaire, used: ReportSettings, qid: str, wave: str, lang: str) -> None:
    """Issue 15: a target or numeric question in two waves, the waves stacked into one design."""
    available = stored_waves()
    if len(available) < 2:
        st.caption(t("tools.change_one_wave", lang))
        return
    later = available.index(wave) if wave in available else len(available) - 1
    left, right = st.columns(2)
    wave_a = left.selectbox(t("tools.wave_a", lang), available, index=max(later - 1, 0), key="tools_w_a", placeholder=choose_placeholder(lang))
    wave_b = right.selectbox(t("tools.wave_b", lang), available, index=max(later, 1), key="tools_w_b", placeholder=choose_placeholder(lang))
    if wave_a == wave_b:
        st.caption(t("tools.change_same_wave", lang))
        return
    des = stacked(used, qid, (wave_a, wave_b))
    if des is None:
        st.caption(t("tools.change_no_data", lang))
        return
    options = {**_target_indicators(des, qid, lang), **_numeric_questions(form, des, lang)}
    if not options:
        st.caption(t("tools.no_numeric", lang))
        return
    variable = st.selectbox(t("tools.what", lang), list(options), format_func=options.__getitem__,
                            key="tools_w_var", placeholder=choose_placeholder(lang))
    by = _by_choice(des, lang, key="tools_w_by")
    statistic = "proportion" if variable.startswith(target_column("")) else "mean"
    adjust = "none" if by is None else "holm"
    result = wave_change(des, variable, wave="_wave", waves=[wave_a, wave_b], by=by, statistic=statistic,
                         level=used.level, ci_method=used.ci_method if statistic == "proportion" else None,
                         adjust=adjust)
    table = result.to_frame().reset_index()
    labels = _choice_labels(form, lang)
    table["name"] = ([f"{wave_a} → {wave_b}"] * len(table) if by is None
                     else [labels.get((by, str(d)), str(d)) for d in table[by]])
    shown = table[["name", "estimate_a", "estimate_b", "difference", "se", "ci_low", "ci_high", "p_value",
                   "p_adjusted", "significant", "n_a", "n_b"]]
    scaled = [t(f"tools.col_{c}", lang) for c in ("estimate_a", "estimate_b", "difference", "se", "ci_low",
                                                    "ci_high")]
    number = format_percent if statistic == "proportion" else "{:.2f}".format
    renamed = _rename(shown, lang).rename(columns={"name": t("tools.col_domain", lang)})
    st.dataframe(renamed.style.format(number, subset=scaled).format(
        "{:.4f}", subset=[t("tools.col_p_value", lang), t("tools.col_p_adjusted", lang)], na_rep="—"),
        hide_index=True, width="stretch", key="tools_change_table", placeholder=t("estimates.missing", lang))
    show_chart(difference_chart(table, label="name", statistic=statistic, lang=lang))
    st.caption(t("tools.change_note", lang, level=format_percent(used.level, decimals=0),
                 adjust=t(f"tools.change_adjust_{adjust}", lang)))
    st.markdown(f"**{t('tools.r_code', lang)}**")
    st.code(wave_change_call(des, variable, [wave_a, wave_b], strata=STRATA_COLUMN, psu=PSU_COLUMN, by=by,
                             level=used.level, adjust=adjust, data_note=t("tools.r_stacked_note", lang)),
            language="r", wrap_lines=True)


# -- helpers ----------------------------------------------------------------------------------------

def _result(table: pd.DataFrame, built: SurveyDesign, call: str, lang: str) -> None:
    st.dataframe(table, hide_index=True, width="stretch", placeholder=t("estimates.missing", lang))
    _r_code(built, call, lang)


def _r_code(built: SurveyDesign, call: str, lang: str) -> None:
    st.markdown(f"**{t('tools.r_code', lang)}**")
    st.code(design_call(built, data_note=t("tools.r_data_note", lang)) + "\n" + call, language="r",
            wrap_lines=True)


def _rename(table: pd.DataFrame, lang: str) -> pd.DataFrame:
    names = {c: t(f"tools.col_{c}", lang) for c in table.columns
             if c in ("estimate", "se", "ci_low", "ci_high", "df", "n", "prob", "reference_estimate",
                      "difference", "p_value", "p_adjusted", "significant", "estimate_a", "estimate_b", "n_a",
                      "n_b")}
    return table.drop(columns=[c for c in ("n_eff", "deff") if c in table.columns]).rename(columns=names)


def _numeric_questions(form: Questionnaire, built: SurveyDesign, lang: str) -> dict[str, str]:
    """Integer and decimal questions of ``form`` that have answers in the design, with labels."""
    data = built.data
    return {q.name: form.text(q.label, lang) if q.label else q.name for q in form.questions
            if q.type in ("integer", "decimal") and q.name in data.columns and data[q.name].notna().any()}


def _target_indicators(built: SurveyDesign, qid: str, lang: str) -> dict[str, str]:
    """The 0/1 target indicators in the design's data (the report adds them), labelled."""
    prefix = target_column("")
    labels = {target_column(tg.id): tg.label.zh if lang == "zh" else tg.label.en
              for tg in load_targets() if tg.questionnaire == qid}
    return {c: labels.get(c, c[len(prefix):]) for c in built.data.columns if c.startswith(prefix) and c in labels}


def _categorical_questions(form: Questionnaire, built: SurveyDesign, lang: str) -> dict[str, str]:
    """Single-choice questions with at least two different answers in the design (consent,
    for one, has a single answer among the respondents)."""
    data = built.data
    return {q.name: form.text(q.label, lang) if q.label else q.name for q in form.questions
            if q.type == "select_one" and q.name in data.columns and data[q.name].nunique() >= 2}


def _choice_labels(form: Questionnaire, lang: str) -> dict[tuple[str, str], str]:
    return {(q.name, c.name): form.text(c.label, lang) for q in form.questions if q.type == "select_one"
            for c in form.choices(q)}


def _by_choice(built: SurveyDesign, lang: str, *, key: str, allow_none: bool = True) -> str | None:
    present = [v for v in DOMAIN_VARIABLES if v in built.data.columns]
    options = ([None] if allow_none else []) + present
    return st.selectbox(t("tools.by", lang), options, key=key,
                        format_func=lambda v: t("tools.by_none", lang) if v is None else t(f"statistics.var_{v}", lang), placeholder=choose_placeholder(lang))
