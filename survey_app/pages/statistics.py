"""The statistician's page: weighting (design weights, post-stratified, raked to uploaded
population margins), interval method and level, domains; degrees of freedom, design effects,
effective sample sizes, the weight distribution, population margins and a methods note.

The choices are kept for the session and used by every results page. Estimates come from
:func:`survey_app.reporting.build_report` (via :mod:`survey_app.results`).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date

import pandas as pd
import streamlit as st

from analysis import CI_METHODS
from analysis.errors import SurveyError
from survey_app.auth import require_role
from survey_app.charts import forest_plot, verdict_label, weight_histogram
from survey_app.formatting import estimate_rows_table, format_percent, percent_table
from survey_app.i18n import current_language, register, t
from survey_app.margins import (MARGIN_VARIABLES, MarginsError, PopulationMargins, margin_categories,
                                margins_template, read_margins)
from survey_app.statistics_tools import render_tools
from survey_app.reporting import DOMAIN_VARIABLES, ReportSettings, ReportTables
from survey_app.results import (
    CONFIDENCE_LEVELS,
    WEIGHTINGS,
    ResultsSettings,
    choose_wave,
    current_settings,
    design,
    excel_download,
    current_questionnaires,
    get_margins_store,
    report,
    results_settings,
    results_url,
    save_settings,
    show_chart,
    show_analysis_error,
    stored_responses,
    weight_summary,
)
from survey_app.store import default_url
from survey_app.ui import SELECT_ALL, choose_placeholder, error_boundary, md_text, upload_help
from survey_app.uploads import read_upload
from survey_app.wording import design_summary

register(
    "statistics",
    {
        "title": {"zh": "统计分析", "en": "Statistics"},
        "settings": {"zh": "估计设置", "en": "Estimation settings"},
        "weighting": {"zh": "加权方法", "en": "Weighting"},
        "weighting_design": {"zh": "设计权数", "en": "Design weights"},
        "weighting_poststratify": {"zh": "按区县事后分层", "en": "Post-stratified by district"},
        "weighting_rake": {"zh": "按人口边际迭代加权（raking）", "en": "Raked to population margins"},
        "weighting_help": {
            "zh": "设计权数来自抽样设计（本系统中每份访问基础权数为 1，或取数据中的 weight 列）；"
            "事后分层使各区县加权人数"
            "等于人口；迭代加权同时对所选边际校准。游客调查的对象不是常住人口，不做校准。",
            "en": "Design weights come from the sample design (1 per interview here, or the data's weight column); "
            "post-stratification makes each district's weighted count equal its population; raking calibrates "
            "to all chosen margins at once. The tourist survey is not calibrated: tourists are not residents.",
        },
        "rake_variables": {"zh": "校准变量", "en": "Margins to rake on"},
        "margins_set": {"zh": "所用人口边际", "en": "Population margins used"},
        "ci_method": {"zh": "比例的置信区间方法", "en": "Interval method for proportions"},
        "level": {"zh": "置信水平", "en": "Confidence level"},
        "method_logit": {"zh": "logit（R svyciprop 默认）", "en": "logit (R svyciprop default)"},
        "method_beta": {"zh": "beta（Korn–Graubard）", "en": "beta (Korn–Graubard)"},
        "method_mean": {"zh": "mean（Wald）", "en": "mean (Wald)"},
        "method_asin": {"zh": "asin（反正弦变换）", "en": "asin (arcsine)"},
        "method_likelihood": {"zh": "likelihood（Rao–Scott 似然）", "en": "likelihood (Rao–Scott)"},
        "method_wilson": {"zh": "wilson（有效样本量 Wilson）", "en": "wilson (effective-n Wilson)"},
        "estimates": {"zh": "估计结果", "en": "Estimates"},
        "target": {"zh": "目标", "en": "Target"},
        "verdict": {"zh": "判定", "en": "Verdict"},
        "domain": {"zh": "区域", "en": "Domain"},
        "col_estimate": {"zh": "估计值", "en": "Estimate"},
        "col_se": {"zh": "标准误", "en": "SE"},
        "col_ci_low": {"zh": "置信下限", "en": "CI low"},
        "col_ci_high": {"zh": "置信上限", "en": "CI high"},
        "col_threshold": {"zh": "目标值", "en": "Target"},
        "col_df": {"zh": "自由度", "en": "df"},
        "col_deff": {"zh": "设计效应", "en": "Deff"},
        "col_n": {"zh": "样本量", "en": "n"},
        "col_n_eff": {"zh": "有效样本量", "en": "Effective n"},
        "col_p_value": {"zh": "单侧 p 值", "en": "One-sided p"},
        "domains": {"zh": "分域估计", "en": "Domain estimates"},
        "domains_pick": {"zh": "分域变量", "en": "Domains by"},
        "domains_help": {
            "zh": "按受访者所在区县、性别、年龄段或城乡分域估计；第一行“全市”为总体。所选分域也写入 Excel 报告。",
            "en": "Estimates by the respondent's district, sex, age group or urban/rural residence; the first row "
            "is the whole city. The domains chosen also go into the Excel report.",
        },
        "domain_variable": {"zh": "分域", "en": "Breakdown"},
        "var_overall": {"zh": "总体", "en": "Overall"},
        "weights": {"zh": "权重分布", "en": "Weight distribution"},
        "weights_questionnaire": {"zh": "问卷", "en": "Questionnaire"},
        "weights_none": {"zh": "此问卷本轮没有同意受访的访问。", "en": "No consenting respondents in this wave."},
        "stat": {"zh": "统计量", "en": "Statistic"},
        "value": {"zh": "数值", "en": "Value"},
        "w_n": {"zh": "受访者数", "en": "Respondents"},
        "w_sum": {"zh": "权数之和", "en": "Sum of weights"},
        "w_min": {"zh": "最小值", "en": "Minimum"},
        "w_p05": {"zh": "5% 分位数", "en": "5th percentile"},
        "w_median": {"zh": "中位数", "en": "Median"},
        "w_p95": {"zh": "95% 分位数", "en": "95th percentile"},
        "w_max": {"zh": "最大值", "en": "Maximum"},
        "w_mean": {"zh": "均值", "en": "Mean"},
        "w_cv": {"zh": "变异系数 CV", "en": "Coefficient of variation"},
        "w_kish_deff": {"zh": "Kish 加权设计效应 1+CV²", "en": "Kish weighting effect 1+CV²"},
        "margins": {"zh": "人口边际", "en": "Population margins"},
        "margins_none": {"zh": "尚未上传人口边际。", "en": "No population margins uploaded yet."},
        "margins_demo": {"zh": "演示用边际（非官方数据）", "en": "Demonstration margins (not official)"},
        "margins_official": {"zh": "已上传边际", "en": "Uploaded margins"},
        "margins_source": {"zh": "来源：{source}", "en": "Source: {source}"},
        # issue 13: the demo's stored source is English; the Chinese page describes it in Chinese
        "margins_demo_source": {
            "zh": "演示用边际，非官方数据：各区县总数取自南通市第七次全国人口普查公报第二号（2021-05-24，初步数据），"
            "按 18 岁及以上占 87% 折算；性别、年龄段和城乡构成为假设比例，全市统一使用。",
            "en": "Demonstration margins, not official: district totals from the Seventh National Population "
            "Census bulletin No. 2 of Nantong (2021-05-24, preliminary), 87% of them aged 18 and over; the sex, "
            "age and urban/rural shares are assumptions applied city-wide.",
        },
        # issue 13: a row with too few respondents shows words, not numbers that look like a result
        "too_few_cell": {"zh": "样本过少：n = {n}，至少约需 {needed}", "en": "Too few: n = {n} of ~{needed} needed"},
        "margins_dates": {
            "zh": "数据时点 {reference}；保存于 {saved}",
            "en": "Reference date {reference}; saved {saved}",
        },
        "upload": {"zh": "上传人口边际", "en": "Upload population margins"},
        "upload_help": {
            "zh": "CSV 或 Excel 文件，三列：`variable`（`district`、`sex`、`age_group`、`urban_rural`）、"
            "`category`（代码或中英文名称）、"
            "`population`（18 岁及以上常住人口）。每个变量须列出全部类别。可先下载模板填写。",
            "en": "A CSV or Excel file with three columns: variable (district, sex, age_group, urban_rural), category "
            "(code or Chinese/English name) and population (residents aged 18 and over). Give every category of a "
            "variable. Download the template to start.",
        },
        "template": {"zh": "下载模板（CSV）", "en": "Download the template (CSV)"},
        "file": {"zh": "边际文件", "en": "Margins file"},
        "source": {"zh": "数据来源（出版物及表号）", "en": "Source (publication and table)"},
        "reference_date": {"zh": "数据时点", "en": "Reference date"},
        "save": {"zh": "检查并保存", "en": "Check and save"},
        "saved": {
            "zh": "人口边际已保存（编号 {id}），现用于加权。",
            "en": "Margins saved (id {id}) and now used for weighting.",
        },
        "need_file": {"zh": "请选择文件并填写来源。", "en": "Choose a file and enter its source."},
        "variable": {"zh": "变量", "en": "Variable"},
        "var_district": {"zh": "区县", "en": "District"},
        "var_sex": {"zh": "性别", "en": "Sex"},
        "var_age_group": {"zh": "年龄段", "en": "Age group"},
        "var_urban_rural": {"zh": "城乡", "en": "Urban/rural"},
        "category": {"zh": "类别", "en": "Category"},
        "population": {"zh": "人口", "en": "Population"},
        "share": {"zh": "比例", "en": "Share"},
        "methods": {"zh": "方法说明", "en": "Methods"},
        "methods_table": {"zh": "本次计算的设置", "en": "Settings of this computation"},
        "methods_sheet": {
            "zh": "本次计算的全部设置（各问卷的设计、权数、软件版本）写在 Excel 报告的“方法说明 Methods”工作表中（英文）。",
            "en": "Every setting of this computation (each questionnaire's design, the weights, software versions) is "
            "on the “方法说明 Methods” sheet of the Excel report.",
        },
    },
)

_WIDGETS = {"weighting": "stats_weighting", "rake_variables": "stats_rake", "ci_method": "stats_ci",
            "level": "stats_level", "margins_id": "stats_margins", "domains": "stats_domains"}


def render() -> None:
    """Draw the statistician's page."""
    require_role("statistician")
    lang = current_language()
    with error_boundary():
        st.header(t("statistics.title", lang))
        frame = stored_responses(lang)
        url = results_url()  # the demo database while the demonstration data are shown
        if frame is None:
            _margins_section(url, lang)
            return
        wave = choose_wave(frame, lang, key="statistics_wave")
        _settings_section(url, lang)
        used = results_settings(lang, where=False)
        tables = None
        try:
            with st.spinner(t("results.computing", lang)):
                tables = report(used, wave=wave)
            excel_download(used, wave=wave, lang=lang, key="statistics_excel")
            _estimates(tables, lang)
            _domains(tables, lang)
            render_tools(used, wave, lang)
            _weights(used, wave, lang)
        except SurveyError as exc:
            show_analysis_error(exc, lang)
        _margins_section(url, lang)
        _methods(used, lang, tables)


# -- settings ----------------------------------------------------------------------------------


def _init(key: str, value) -> None:
    # Widgets leave the session when the page is left; they start again from the shared settings.
    if key not in st.session_state:
        st.session_state[key] = value


def _settings_changed() -> None:
    state, old = st.session_state, current_settings()
    save_settings(ResultsSettings(
        weighting=state.get(_WIDGETS["weighting"], old.weighting),
        rake_variables=tuple(state.get(_WIDGETS["rake_variables"]) or old.rake_variables),
        ci_method=state.get(_WIDGETS["ci_method"], old.ci_method),
        level=state.get(_WIDGETS["level"], old.level),
        wave=old.wave,
        margins_id=state.get(_WIDGETS["margins_id"], old.margins_id),
        domains=tuple(state.get(_WIDGETS["domains"], old.domains)),
    ))


def _settings_section(url: str, lang: str) -> None:
    settings = current_settings()
    saved = get_margins_store(url).all()
    ids = [m.id for m in saved]
    for field, key in _WIDGETS.items():
        if field in ("rake_variables", "domains"):
            _init(key, list(getattr(settings, field)))
        elif field == "margins_id":
            _init(key, settings.margins_id if settings.margins_id in ids else (ids[0] if ids else None))
        else:
            _init(key, getattr(settings, field))
    with st.container(border=True):
        st.subheader(t("statistics.settings", lang), anchor=False)
        left, right = st.columns(2)
        with left:
            st.radio(t("statistics.weighting", lang), WEIGHTINGS, key=_WIDGETS["weighting"],
                     format_func=lambda w: t(f"statistics.weighting_{w}", lang), on_change=_settings_changed,
                     help=t("statistics.weighting_help", lang))
            if st.session_state[_WIDGETS["weighting"]] == "rake":
                st.multiselect(t("statistics.rake_variables", lang), MARGIN_VARIABLES, key=_WIDGETS["rake_variables"],
                               format_func=lambda v: t(f"statistics.var_{v}", lang), on_change=_settings_changed,
                               placeholder=choose_placeholder(lang, several=True), select_all=SELECT_ALL)
            if saved and st.session_state[_WIDGETS["weighting"]] != "design":
                if st.session_state[_WIDGETS["margins_id"]] not in ids:  # e.g. saved by another session
                    st.session_state[_WIDGETS["margins_id"]] = ids[0]
                names = {m.id: _margins_name(m, lang) for m in saved}
                st.selectbox(t("statistics.margins_set", lang), ids, key=_WIDGETS["margins_id"],
                             format_func=names.__getitem__, on_change=_settings_changed,
                             placeholder=choose_placeholder(lang))
        with right:
            st.selectbox(t("statistics.ci_method", lang), CI_METHODS, key=_WIDGETS["ci_method"],
                         format_func=lambda m: t(f"statistics.method_{m}", lang), on_change=_settings_changed,
                         placeholder=choose_placeholder(lang))
            st.select_slider(t("statistics.level", lang), CONFIDENCE_LEVELS, key=_WIDGETS["level"],
                             format_func=lambda x: format_percent(x, decimals=0), on_change=_settings_changed)


def _margins_name(margins: PopulationMargins, lang: str) -> str:
    kind = t("statistics.margins_demo" if margins.demonstration else "statistics.margins_official", lang)
    name = f"#{margins.id} {kind} · {margins.reference_date.isoformat()}"
    # the kind already says "demonstration"; its stored source is English
    return name if margins.demonstration and lang != "en" else f"{name} · {margins.source[:48]}"


def _source_shown(margins: PopulationMargins, lang: str) -> str:
    """The source of ``margins`` as shown: as typed by whoever uploaded them; for the demonstration
    margins, whose stored source is English, a description in ``lang``."""
    if margins.demonstration and lang != "en":
        return t("statistics.margins_demo_source", lang)
    return margins.source


# -- results --------------------------------------------------------------------------------------


def _label(row: pd.Series, lang: str) -> str:
    return row["label_zh"] if lang == "zh" else row["label_en"]


#: The estimate table's numbers after the verdict, in the order shown: a tablet shows the first
#: ones without scrolling sideways.
ESTIMATE_COLUMNS = ("estimate", "ci_low", "ci_high", "threshold", "se", "n", "n_eff", "deff", "df", "p_value")


#: The numbers a row with too few respondents leaves blank: they would look like a result.
#: Its ``n`` and ``threshold`` stay.
WITHHELD_COLUMNS = ("estimate", "ci_low", "ci_high", "se", "df", "deff", "n_eff", "p_value")


def verdicts_in_words(table: pd.DataFrame, lang: str) -> list[str]:
    """The verdict of each row of a report table (the overview or a domain table) in ``lang``; a
    row that :func:`analysis.targets.judge` marks ``too_few`` says so, with its n and the sample
    needed."""
    return [t("statistics.too_few_cell", lang, n=int(row["n"]), needed=f"{int(row['n_needed']):,}")
            if _too_few(row) else verdict_label(row["verdict"], lang) for _, row in table.iterrows()]


def _too_few(row: pd.Series) -> bool:
    # as the charts: a category without respondents is "no data", not "too few"
    return bool(row["too_few"]) and row["verdict"] != "no data"


def _blank_too_few(shown: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """``shown`` without the :data:`WITHHELD_COLUMNS` numbers of the rows of ``table`` (same
    order) that have too few respondents."""
    few = [_too_few(row) for _, row in table.iterrows()]
    columns = [c for c in WITHHELD_COLUMNS if c in shown.columns]
    shown = shown.copy()
    shown.loc[few, columns] = float("nan")
    return shown


def estimate_table(tables: ReportTables, lang: str) -> pd.DataFrame:
    """The overview as the page shows it: one row per target, its verdict, then the report's numbers
    unrounded (:data:`ESTIMATE_COLUMNS`); a target with too few respondents has its verdict in
    words and no estimates."""
    overview = tables.overview
    shown = pd.DataFrame({
        t("statistics.target", lang): [_label(row, lang) for _, row in overview.iterrows()],
        t("statistics.verdict", lang): verdicts_in_words(overview, lang),
        **{column: overview[column] for column in ESTIMATE_COLUMNS},
    })
    return _blank_too_few(shown.reset_index(drop=True), overview)


def _estimates(tables: ReportTables, lang: str) -> None:
    st.subheader(t("statistics.estimates", lang), anchor=False)
    # Every row shown (the default height shows ten), the target's name kept in view when scrolling sideways.
    st.dataframe(estimate_rows_table(estimate_table(tables, lang), tables.overview["statistic"], SCALED_COLUMNS),
                 hide_index=True, width="stretch", height="content", placeholder=t("estimates.missing", lang),
                 column_config={**_number_columns(lang),
                                t("statistics.target", lang): st.column_config.TextColumn(pinned=True),
                                # wide enough for "too few respondents" in words
                                t("statistics.verdict", lang): st.column_config.TextColumn(width="medium")})


#: Columns on the scale of the estimate: a proportion's shown as percentages, a mean's with two
#: decimals (:func:`survey_app.formatting.estimate_rows_table`).
SCALED_COLUMNS = ("estimate", "se", "ci_low", "ci_high", "threshold")


def _number_columns(lang: str) -> dict:
    number = st.column_config.NumberColumn
    # no format for SCALED_COLUMNS: estimate_rows_table gives their text, row by row
    formats = {"estimate": None, "se": None, "ci_low": None, "ci_high": None, "threshold": None,
               "df": "%d", "deff": "%.2f", "n": "%d", "n_eff": "%.1f", "p_value": "%.4f"}
    return {column: number(t(f"statistics.col_{column}", lang), format=fmt) for column, fmt in formats.items()}


def _domains(tables: ReportTables, lang: str) -> None:
    st.subheader(t("statistics.domains", lang), anchor=False)
    overview = tables.overview
    # full width each: four chips do not fit half a tablet's width
    target_id = st.selectbox(t("statistics.target", lang), list(overview.index),
                             format_func=lambda tid: _label(overview.loc[tid], lang), key="statistics_target",
                             placeholder=choose_placeholder(lang))
    chosen = st.multiselect(t("statistics.domains_pick", lang), DOMAIN_VARIABLES, key=_WIDGETS["domains"],
                            format_func=lambda v: t(f"statistics.var_{v}", lang), on_change=_settings_changed,
                            help=t("statistics.domains_help", lang), placeholder=choose_placeholder(lang, several=True),
                            select_all=SELECT_ALL)
    table = domain_table(tables, target_id, chosen, lang)
    shown = _blank_too_few(table.drop(columns=["domain", "too_few", "n_needed"]), table)
    shown["verdict"] = verdicts_in_words(table, lang)
    statistic = tables.overview.loc[target_id, "statistic"]
    st.dataframe(estimate_rows_table(shown, [statistic] * len(shown), SCALED_COLUMNS), hide_index=True, width="stretch",
                 height="content", placeholder=t("estimates.missing", lang),
                 column_config={**_number_columns(lang), "name": t("statistics.domain", lang),
                                "variable": t("statistics.domain_variable", lang),
                                "verdict": st.column_config.TextColumn(t("statistics.verdict", lang), width="medium")})
    if len(table) < 2:
        return
    if all(_too_few(row) or row["verdict"] == "no data" for _, row in table.iterrows()):
        st.caption(t("estimates.chart_too_few", lang))  # not an axis without a single mark
        return
    row = overview.loc[target_id]
    show_chart(forest_plot(table, label="name", threshold=row["threshold"], statistic=row["statistic"], lang=lang))


def domain_table(tables: ReportTables, target_id: str, variables, lang: str) -> pd.DataFrame:
    """The overall row and the rows of the chosen domain ``variables`` of one target: ``domain``
    (the report's key), ``variable`` and ``name`` in ``lang``, the estimates and the verdict, and
    ``too_few`` and ``n_needed`` (:func:`analysis.targets.judge`), which the forest plot uses."""
    domains = tables.domains[target_id]
    part = domains.loc[domains["domain_variable"].isin(["overall", *variables])]
    return pd.DataFrame({
        "domain": part.index,
        "variable": [t(f"statistics.var_{v}", lang) for v in part["domain_variable"]],
        "name": part["domain_zh" if lang == "zh" else "domain_en"],
        # the verdict first, so that a tablet shows it without scrolling sideways
        **{c: part[c] for c in ("verdict", "estimate", "ci_low", "ci_high", "se", "df", "deff", "n", "n_eff",
                                "too_few", "n_needed")},
    }).reset_index(drop=True)


def _weights(used: ReportSettings, wave: str, lang: str) -> None:
    st.subheader(t("statistics.weights", lang), anchor=False)
    forms = current_questionnaires()
    qid = st.selectbox(t("statistics.weights_questionnaire", lang), list(forms),
                       format_func=lambda q: forms[q].title.get(lang), key="statistics_weights_form",
                       placeholder=choose_placeholder(lang))
    built = design(used, qid, wave=wave)
    if built is None:
        st.caption(t("statistics.weights_none", lang))
        return
    summary = weight_summary(built.weights)
    left, right = st.columns([2, 3])
    left.dataframe(
        pd.DataFrame({t("statistics.stat", lang): [t(f"statistics.w_{k}", lang) for k in summary],
                      t("statistics.value", lang): [_show_number(v) for v in summary.values()]}),
        hide_index=True, width="stretch", placeholder=t("estimates.missing", lang),
    )
    with right:
        show_chart(weight_histogram(built.weights[built.weights > 0], lang=lang))
        st.caption(design_summary(built, lang))


def _show_number(value: float) -> str:
    """Thousands separators for large numbers, four significant digits for small ones."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


# -- margins --------------------------------------------------------------------------------------


def _margins_section(url: str, lang: str) -> None:
    st.subheader(t("statistics.margins", lang), anchor=False)
    store = get_margins_store(url)
    latest = store.latest()
    if latest is None:
        st.caption(t("statistics.margins_none", lang))
    else:
        _show_margins(latest, lang)
    with st.expander(t("statistics.upload", lang), icon=":material/upload_file:"):
        st.markdown(t("statistics.upload_help", lang))
        st.download_button(t("statistics.template", lang), margins_template().to_csv(index=False).encode("utf-8-sig"),
                           file_name="population_margins_template.csv", mime="text/csv", key="margins_template")
        with st.form("margins_upload", clear_on_submit=False):
            upload = st.file_uploader(t("statistics.file", lang), type=["csv", "xlsx"], key="margins_file",
                                      help=upload_help(lang))
            source = st.text_input(t("statistics.source", lang), key="margins_source")
            reference = st.date_input(t("statistics.reference_date", lang), value=date(2020, 11, 1),
                                      key="margins_reference")
            submitted = st.form_submit_button(t("statistics.save", lang), type="primary")
        if submitted:
            # uploaded figures are real: they go to the real database, even while the demo is shown
            _save_upload(default_url(), upload, source, reference, lang)


def _save_upload(url: str, upload, source: str, reference: date, lang: str) -> None:
    if upload is None or not source.strip():
        st.warning(t("statistics.need_file", lang))
        return
    try:
        margins = read_margins(read_upload(upload, what="margins file"), upload.name, source=source,
                               reference_date=reference)
    except MarginsError as exc:
        st.error(_margins_error_text(exc, lang))
        return
    saved = get_margins_store(url).save(margins)
    save_settings(replace(current_settings(), margins_id=saved.id))
    st.session_state.pop(_WIDGETS["margins_id"], None)
    st.success(t("statistics.saved", lang, id=saved.id))


def _margins_error_text(error: MarginsError, lang: str) -> str:
    """A refused margins file in ``lang``: the reason, then one list item per problem."""
    def text(key: str, params: Mapping[str, object]) -> str:
        # the values quote the file's name and cells: literal text, not Markdown
        return t(key, lang, **{name: md_text(value) if isinstance(value, str) else value
                               for name, value in params.items()})

    lines = [f"- {text(problem.key, problem.params)}" for problem in error.problems]
    if error.params.get("more"):
        lines.append(f"- {t('margins.more', lang, more=error.params['more'])}")
    return text(error.key, error.params) + ("\n\n" + "\n".join(lines) if lines else "")


def _show_margins(margins: PopulationMargins, lang: str) -> None:
    with st.container(border=True):
        if margins.demonstration:
            st.badge(t("statistics.margins_demo", lang), color="orange", icon=":material/science:")
        else:
            st.badge(t("statistics.margins_official", lang), color="blue")
        st.caption(t("statistics.margins_source", lang, source=_source_shown(margins, lang)))
        saved = margins.uploaded_at.strftime("%Y-%m-%d %H:%M UTC") if margins.uploaded_at else "–"
        st.caption(t("statistics.margins_dates", lang, reference=margins.reference_date.isoformat(), saved=saved))
        labels = {(v, code): (zh if lang == "zh" else en)
                  for v, choices in margin_categories().items() for code, zh, en in choices}
        frame = margins.to_frame()
        frame["category"] = [labels[(v, c)] for v, c in zip(frame["variable"], frame["category"])]
        frame["variable"] = [t(f"statistics.var_{v}", lang) for v in frame["variable"]]
        st.dataframe(
            percent_table(frame.rename(columns={column: t(f"statistics.{column}", lang)
                                                for column in ("variable", "category", "population", "share")}),
                          [t("statistics.share", lang)]),
            hide_index=True, width="stretch", height=260, placeholder=t("estimates.missing", lang),
            column_config={t("statistics.population", lang): st.column_config.NumberColumn(format="localized")},
        )


# -- methods ----------------------------------------------------------------------------------------

_METHODS_ZH = r"""
**抽样设计。** 以区县为层、社区（村）为初级抽样单元（PSU）的分层整群抽样；分析对象为同意受访的已提交访问。
方差用泰勒线性化（与 R survey 包一致），PSU 视为有放回抽取；只有一个 PSU 的层按 "{lonely}" 规则处理。

**比例与均值**（Hájek 比估计，$w_i$ 为最终权数，$y_i$ 为 0/1 指标或数值答案）：
"""

_METHODS_EN = r"""
**Design.** A stratified cluster sample: districts are strata, communities (villages) the primary sampling
units (PSUs); the analysis uses the submitted interviews with consent. Variances are Taylor linearisation as in
R's survey package, PSUs treated as drawn with replacement; a stratum with a single PSU is handled by the
"{lonely}" rule.

**Proportions and means** (Hájek ratio estimator; $w_i$ the final weight, $y_i$ the 0/1 indicator or the answer):
"""

_FORMULAS = (
    r"\hat{\theta} = \frac{\sum_i w_i y_i}{\sum_i w_i}, \qquad "
    r"z_{hj} = \sum_{i \in (h,j)} \frac{w_i (y_i - \hat{\theta})}{\sum_k w_k}",
    r"\widehat{V}(\hat{\theta}) = \sum_h \frac{n_h}{n_h - 1} \sum_{j=1}^{n_h} (z_{hj} - \bar{z}_h)^2, \qquad "
    r"\mathrm{df} = \#\mathrm{PSU} - \#\mathrm{strata}",
    r"\mathrm{deff} = \frac{\widehat{V}(\hat{\theta})}{\widehat{V}_{\mathrm{SRS}}(\hat{\theta})}, \qquad "
    r"n_{\mathrm{eff}} = \frac{n}{\mathrm{deff}}, \qquad 1 + \mathrm{CV}_w^2 = \frac{n \sum_i w_i^2}{(\sum_i w_i)^2}",
    r"\text{logit: } \operatorname{expit}\Big(\operatorname{logit}\hat{p} \pm t_{\mathrm{df},\,1-\alpha/2}"
    r"\,\frac{\mathrm{SE}(\hat{p})}{\hat{p}(1-\hat{p})}\Big), \qquad \text{mean: } \hat{\mu} \pm "
    r"t_{\mathrm{df},\,1-\alpha/2}\,\mathrm{SE}(\hat{\mu})",
)

_METHODS_TAIL_ZH = r"""
**加权。** 事后分层：$w_i^{*} = w_i N_g / \hat{N}_g$，使各区县加权人数等于人口 $N_g$；迭代加权（raking）：轮流按各边际
调整权数直至全部边际吻合（迭代比例拟合，与 R `calibrate(..., calfun="raking")` 一致），方差计入校准。

**判定。** 置信下限 ≥ 目标值为达标；置信上限 < 目标值为未达标；其余为尚无定论。单侧 $p$ 值检验
$H_0$：真值 < 目标值。估计可靠性按 NCHS 比例数据发布标准（Parker 等，2017）标注。
"""

_METHODS_TAIL_EN = r"""
**Weighting.** Post-stratification: $w_i^{*} = w_i N_g / \hat{N}_g$, so each district's weighted count equals its
population $N_g$; raking adjusts the weights to each margin in turn until all agree (iterative proportional
fitting, as R's `calibrate(..., calfun="raking")`); the variances account for the calibration.

**Verdicts.** Met when the lower confidence limit is at or above the target, not met when the upper limit is
below it, inconclusive otherwise. The one-sided $p$-value tests $H_0$: true value < target. Reliability flags
follow the NCHS Data Presentation Standards for Proportions (Parker et al. 2017).
"""


def _methods(used: ReportSettings, lang: str, tables: ReportTables | None) -> None:
    st.subheader(t("statistics.methods", lang), anchor=False)
    st.markdown((_METHODS_ZH if lang == "zh" else _METHODS_EN).format(lonely=used.lonely_psu))
    for formula in _FORMULAS:
        st.latex(formula)
    st.markdown(_METHODS_TAIL_ZH if lang == "zh" else _METHODS_TAIL_EN)
    if tables is None:
        return
    with st.expander(t("statistics.methods_table", lang)):
        if lang == "en":
            st.dataframe(tables.methods, hide_index=True, width="stretch", placeholder=t("estimates.missing", lang))
        else:  # the workbook's methods sheet is written in English: named, not shown inside the Chinese page
            st.caption(t("statistics.methods_sheet", lang))


if __name__ == "__main__":
    render()
