"""Sample design: interviews per target and district, allocation, selection of communities.

The statistician sets the precision (confidence, margin, power), the design effect and the
response rate; the page shows the interviews each target needs city-wide and in each
district, allocates a total across districts, and selects communities (PSUs) from an
uploaded sampling frame by systematic PPS. The selection can be saved as a wave's field
assignments (:mod:`survey_app.assignments`): the interviewing page then offers those PSUs, and
the reports take each interview's design weight from them. The downloads carry the same
assignments with their inclusion probabilities. All computing is in :mod:`analysis.sampling`;
this module only draws.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
from analysis.sampling import (
    ALLOCATION_METHODS,
    Allocation,
    PSUSelection,
    SampleSize,
    SamplingError,
    allocate,
    check_frame,
    design_effect,
    margin_of_error_proportion,
    read_frame,
    sample_size_mean,
    sample_size_proportion,
    sample_size_target_mean,
    sample_size_target_proportion,
    select_psus,
)
from analysis.errors import SurveyError
from analysis.targets import Target, load_targets
from questionnaires import load_districts
from survey_app.assignments import AssignmentError, AssignmentList, get_assignment_store
from survey_app.auth import User, authorize, require_role
from survey_app.cellsafe import csv_bytes, xlsx_bytes
from survey_app.formatting import format_percent, percent_table
from survey_app.i18n import current_language, register, t
from survey_app.margins import census_district_totals
from survey_app.store import default_url
from survey_app.ui import choose_placeholder, error_boundary, md_text, upload_help
from survey_app.uploads import XLSX_MAGIC, UploadTooLargeError, WorkbookError, read_upload, read_workbook

register(
    "planning",
    {
        "title": {"zh": "抽样设计", "en": "Sample design"},
        "intro": {
            "zh": "确定各目标、各区县所需的访问量，在区县间分配样本，并从抽样框中按规模成比例（PPS）抽取社区。"
            "抽中概率随分配表下载，分析时即为设计权数。",
            "en": "Work out the interviews each target and district needs, allocate them across districts and "
            "select communities from the sampling frame with probability proportional to size (PPS). The "
            "inclusion probabilities travel with the assignments and become the design weights of the analysis.",
        },
        "settings": {"zh": "精度与设计参数", "en": "Precision and design"},
        "confidence": {"zh": "置信水平", "en": "Confidence level"},
        "margin": {"zh": "比例的误差界（百分点）", "en": "Margin for proportions (points)"},
        "margin_mean": {"zh": "指数的误差界（分）", "en": "Margin for indices (score points)"},
        "power": {"zh": "检验功效", "en": "Power"},
        "alpha": {"zh": "单侧显著性水平", "en": "One-sided significance level"},
        "deff_mode": {"zh": "设计效应", "en": "Design effect"},
        "deff_cluster": {"zh": "由组内相关系数计算", "en": "From the intra-class correlation"},
        "deff_direct": {"zh": "直接输入", "en": "Enter directly"},
        "deff": {"zh": "设计效应 deff", "en": "Design effect (deff)"},
        "icc": {"zh": "组内相关系数 ICC", "en": "Intra-class correlation (ICC)"},
        "per_psu": {"zh": "每个社区访问数", "en": "Interviews per community"},
        "response_rate": {"zh": "预计应答率（%）", "en": "Expected response rate (%)"},
        "deff_value": {
            "zh": "设计效应 = 1 + ({m} − 1) × {icc} = {deff}",
            "en": "Design effect = 1 + ({m} − 1) × {icc} = {deff}",
        },
        "tab_size": {"zh": "样本量", "en": "Sample size"},
        "tab_allocation": {"zh": "区县分配", "en": "Allocation"},
        "tab_selection": {"zh": "抽取社区", "en": "Selection"},
        "targets": {"zh": "目标", "en": "Targets"},
        "targets_help": {
            "zh": "勾选要据以确定样本量的目标，填写预计值（比例填 0–1 之间的小数；指数另填标准差）。可添加自定义目标。",
            "en": "Tick the targets the sample must serve and enter the value you expect (proportions as shares "
            "between 0 and 1; indices also need a standard deviation). You can add rows of your own.",
        },
        "col_use": {"zh": "采用", "en": "Use"},
        "col_target": {"zh": "目标", "en": "Target"},
        "col_statistic": {"zh": "类型", "en": "Type"},
        "col_threshold": {"zh": "目标值", "en": "Target value"},
        "col_expected": {"zh": "预计值", "en": "Expected"},
        "col_sd": {"zh": "标准差", "en": "Std. deviation"},
        "col_n_margin": {"zh": "误差界：发放", "en": "Margin: issue"},
        "col_n_test": {"zh": "达标检验：完成", "en": "Target test: completes"},
        "col_n_test_issue": {"zh": "达标检验：发放", "en": "Target test: issue"},
        "proportion": {"zh": "比例", "en": "proportion"},
        "mean": {"zh": "均值", "en": "mean"},
        "no_targets": {"zh": "请至少勾选一个目标。", "en": "Tick at least one target."},
        "skipped_rows": {
            "zh": "以下行缺少数值，未计算：{rows}",
            "en": "These rows lack values and were left out: {rows}",
        },
        "city_sizes": {"zh": "全市样本量（每个目标）", "en": "City-wide sample size per target"},
        "city_sizes_help": {
            "zh": "误差界：估计值达到设定误差界所需样本。达标检验：以目标值为原假设的单侧检验，真实值等于预计值时以给定功效判定达标。"
            "“发放”已按应答率放大。",
            "en": "Margin: the sample for an estimate within the margin set above. Target test: a one-sided test "
            "against the target value that shows the target met with the given power when the truth is the "
            "expected value. \"Issue\" is inflated for nonresponse.",
        },
        "district_sizes": {"zh": "各区县单独判定所需完成访问数", "en": "Completed interviews for a verdict in each district"},
        "district_required": {"zh": "所需（最大）", "en": "Required (largest)"},
        "district_required_help": {
            "zh": "每个区县要单独判定是否达标，至少需要 {n} 个完成访问（取各目标中最大者）。",
            "en": "For its own verdict on every ticked target, each district needs at least {n} completed interviews "
            "(the largest over the targets).",
        },
        "col_district": {"zh": "区县", "en": "District"},
        "col_population": {"zh": "常住人口", "en": "Population"},
        "col_expected_p": {"zh": "预计比例（Neyman）", "en": "Expected proportion (Neyman)"},
        "chart_title": {"zh": "误差界与完成访问数", "en": "Margin of error against completed interviews"},
        "chart_x": {"zh": "完成访问数", "en": "Completed interviews"},
        "chart_y": {"zh": "误差界（±百分点）", "en": "Margin of error (± points)"},
        "chart_design": {"zh": "本设计（deff {deff}）", "en": "This design (deff {deff})"},
        "chart_srs": {"zh": "简单随机抽样", "en": "Simple random sample"},
        "chart_series": {"zh": "抽样方式", "en": "Sampling"},
        "chart_caption": {
            "zh": "比例 {p} 的误差界；虚线为设定的误差界 ±{margin} 个百分点。",
            "en": "Margin for a proportion of {p}; the dashed line is the margin asked for, ±{margin} points.",
        },
        "districts": {"zh": "区县人口", "en": "District populations"},
        "populations_from_frame": {
            "zh": "人口默认取自抽样框各区县规模合计，可修改。",
            "en": "The populations default to the size totals of the uploaded frame; you may change them.",
        },
        "populations_from_census": {
            "zh": "人口默认取自 2020 年第七次全国人口普查各区县常住人口（全年龄），可修改。",
            "en": "The populations default to each district's resident population in the 2020 census (all ages); "
            "you may change them.",
        },
        "districts_help": {
            "zh": "填写各区县常住人口（按比例、Neyman、平方根分配需要），以及 Neyman 分配所用的预计比例。",
            "en": "Enter each district's resident population (needed by the proportional, Neyman and square-root "
            "allocations) and the expected proportion the Neyman allocation uses.",
        },
        "populations_missing": {
            "zh": "请在上表填写所有区县的人口：{districts}",
            "en": "Enter the population of every district in the table above: {districts}",
        },
        "method": {"zh": "分配方法", "en": "Allocation method"},
        "method_proportional": {"zh": "按人口比例", "en": "Proportional to population"},
        "method_equal": {"zh": "各区县相等", "en": "Equal per district"},
        "method_neyman": {"zh": "Neyman 最优", "en": "Neyman (optimal)"},
        "method_sqrt": {"zh": "平方根（兼顾全市与区县）", "en": "Square root (city and district compromise)"},
        "total": {"zh": "全市完成访问总数", "en": "Completed interviews, city total"},
        "minimum": {"zh": "每区县最少完成访问数", "en": "Minimum completed interviews per district"},
        "suggest": {
            "zh": "建议：每区县至少 {minimum}，全市 {total}",
            "en": "Suggested: at least {minimum} per district, {total} in total",
        },
        "apply_suggestion": {"zh": "采用建议", "en": "Use the suggestion"},
        "allocation_table": {"zh": "分配结果", "en": "Allocation"},
        "col_allocated": {"zh": "完成访问", "en": "Completes"},
        "col_issue": {"zh": "需发放", "en": "To issue"},
        "col_psus": {"zh": "社区数", "en": "Communities"},
        "col_moe": {"zh": "误差界（±百分点）", "en": "Margin (± points)"},
        "col_share": {"zh": "人口占比", "en": "Population share"},
        "allocation_caption": {
            "zh": "误差界按比例 {p}、设计效应 {deff} 计算；社区数 = 完成访问数 ÷ 每社区 {m} 个，向上取整。",
            "en": "Margins for a proportion of {p} with design effect {deff}; communities = completes ÷ {m} "
            "per community, rounded up.",
        },
        "frame": {"zh": "抽样框", "en": "Sampling frame"},
        "frame_help": {
            "zh": "上传 CSV 或 Excel 文件：每行一个社区/村，含区县、社区编码、社区名称和规模（户数或人口）。",
            "en": "Upload a CSV or Excel file with one row per community or village: district, community id, "
            "community name and size (households or residents).",
        },
        "frame_template": {"zh": "下载抽样框模板", "en": "Download a frame template"},
        "frame_rows": {"zh": "已读入 {n} 个社区（{name}）", "en": "{n} communities read from {name}"},
        "col_map_district": {"zh": "区县列", "en": "District column"},
        "col_map_psu": {"zh": "社区编码列", "en": "Community id column"},
        "col_map_psu_name": {"zh": "社区名称列", "en": "Community name column"},
        "col_map_size": {"zh": "规模列（PPS）", "en": "Size column (PPS)"},
        "col_map_units": {"zh": "户数列（第二阶段）", "en": "Households column (second stage)"},
        "same_as_size": {"zh": "同规模列", "en": "Same as size"},
        "seed": {"zh": "随机种子（请记录）", "en": "Random seed (keep a record)"},
        "order": {"zh": "系统抽样顺序", "en": "Order for systematic selection"},
        "order_frame": {"zh": "按抽样框顺序（隐含分层）", "en": "Frame order (implicit stratification)"},
        "order_random": {"zh": "随机顺序", "en": "Random order"},
        "need_allocation": {"zh": "请先完成区县分配。", "en": "Complete the allocation first."},
        "unknown_districts": {
            "zh": "抽样框中的区县无法识别：{names}。请使用区县名称或代码（{known}）。",
            "en": "The frame names districts that are not known: {names}. Use the district names or codes ({known}).",
        },
        "districts_not_in_frame": {
            "zh": "抽样框中没有这些区县的社区，未抽取：{names}",
            "en": "The frame has no communities in these districts, so none were selected there: {names}",
        },
        "strata": {"zh": "各区县抽取情况", "en": "Selection per district"},
        "col_in_frame": {"zh": "框内社区", "en": "In frame"},
        "col_selected": {"zh": "抽中", "en": "Selected"},
        "col_certainty": {"zh": "必选", "en": "Certainty"},
        "col_interviews": {"zh": "访问数", "en": "Interviews"},
        "assignments": {"zh": "访问任务（发给访问员）", "en": "Assignments for the field staff"},
        "col_psu": {"zh": "社区编码", "en": "Community id"},
        "col_psu_name": {"zh": "社区名称", "en": "Community"},
        "col_pi_psu": {"zh": "社区入样概率", "en": "P(community)"},
        "col_pi_within": {"zh": "社区内入样概率", "en": "P(within)"},
        "col_weight": {"zh": "设计权数", "en": "Design weight"},
        "col_fpc": {"zh": "框内社区数 fpc", "en": "PSUs in frame (fpc)"},
        "download_csv": {"zh": "下载访问任务（CSV）", "en": "Download assignments (CSV)"},
        "download_excel": {"zh": "下载抽样结果（Excel）", "en": "Download the selection (Excel)"},
        "selection_caption": {
            "zh": "种子 {seed}：同一抽样框、同一种子得到同一样本。设计权数 = 1 ÷ (社区入样概率 × 社区内入样概率)。",
            "en": "Seed {seed}: the same frame and seed give the same sample. "
            "Design weight = 1 ÷ (P(community) × P(within)).",
        },
        "input_error": {"zh": "输入有误：{detail}", "en": "Please check the input: {detail}"},
        "save_title": {"zh": "保存为访问任务", "en": "Save as the field assignments"},
        "save_help": {
            "zh": "保存后，访问页面按此名单提供抽样单元供访问员选择，结果与报告按其中的入样概率计算设计权数。",
            "en": "Once saved, the interviewing page offers these sampling units to the interviewers, and the "
            "results and reports take the design weights from their inclusion probabilities.",
        },
        "save_wave": {"zh": "调查轮次", "en": "Survey wave"},
        "save_none": {"zh": "第 {wave} 轮尚未保存访问任务。", "en": "Wave {wave} has no stored field assignments yet."},
        "save_exists": {
            "zh": "第 {wave} 轮已有访问任务：{psus} 个抽样单元、{interviews} 个访问，由 {who} 于 {when} 保存（种子 {seed}）。",
            "en": "Wave {wave} already has field assignments: {psus} sampling units, {interviews} interviews, "
            "saved {when} by {who} (seed {seed}).",
        },
        "save_replace": {
            "zh": "替换第 {wave} 轮已保存的访问任务（已录入的访问保留不变）",
            "en": "Replace the stored assignments of wave {wave} (interviews already entered are kept)",
        },
        "save_button": {"zh": "保存为第 {wave} 轮访问任务", "en": "Save as the field assignments of wave {wave}"},
        "saved": {
            "zh": "已保存第 {wave} 轮访问任务：{psus} 个抽样单元、{interviews} 个访问。",
            "en": "Saved the field assignments of wave {wave}: {psus} sampling units, {interviews} interviews.",
        },
        "unknown_user": {"zh": "未知", "en": "unknown"},
        "save_refused": {"zh": "访问任务未保存：", "en": "The field assignments were not saved:"},
    },
)

_KEY = "_plan_"  # prefix of this page's widget keys
_SAVED_NOTICE = "_plan_saved_notice"
# Times are stored in UTC and shown in Nantong's time.
_LOCAL_TIME = ZoneInfo("Asia/Shanghai")
# Option value -> text key (full keys, so that tests/survey_app/test_i18n.py finds them).
_OPTION_TEXTS = {
    "cluster": "planning.deff_cluster",
    "direct": "planning.deff_direct",
    "proportion": "planning.proportion",
    "mean": "planning.mean",
    "proportional": "planning.method_proportional",
    "equal": "planning.method_equal",
    "neyman": "planning.method_neyman",
    "sqrt": "planning.method_sqrt",
    "frame": "planning.order_frame",
    "random": "planning.order_random",
}
_COLUMN_TEXTS = {
    "district": "planning.col_map_district",
    "psu": "planning.col_map_psu",
    "psu_name": "planning.col_map_psu_name",
    "size": "planning.col_map_size",
}
_GUESSES = {
    "district": ("district", "区县", "县市区", "区", "县"),
    "psu": ("psu", "psu_id", "code", "社区编码", "编码", "代码", "村居编码"),
    "psu_name": ("psu_name", "name", "社区名称", "名称", "社区", "村居"),
    "size": ("size", "households", "population", "户数", "人口", "常住人口", "规模"),
}


@dataclass(frozen=True)
class Settings:
    """The precision and design inputs at the top of the page."""

    confidence: float
    margin: float
    margin_mean: float
    power: float
    alpha: float
    deff: float
    per_psu: int
    response_rate: float


def render() -> None:
    """Draw the page."""
    user = require_role("statistician")
    lang = current_language()
    with error_boundary():
        st.title(t("planning.title", lang))
        st.caption(t("planning.intro", lang))
        settings = _settings(lang)
        tab_size, tab_allocation, tab_selection = st.tabs(
            [t("planning.tab_size", lang), t("planning.tab_allocation", lang), t("planning.tab_selection", lang)]
        )
        # Widgets are drawn into their tabs out of visual order: the district populations
        # default to the uploaded frame's totals, and the sizes per district need them.
        with tab_selection:
            frame = _frame_input(lang)
        with tab_allocation:
            districts = _district_table(frame, lang)
        with tab_size:
            required = _sample_sizes(settings, districts, lang)
        with tab_allocation:
            allocation = _allocation(settings, districts, required, lang)
        with tab_selection:
            _selection(settings, districts, frame, allocation, user, lang)


def _settings(lang: str) -> Settings:
    with st.expander(t("planning.settings", lang), expanded=True):
        first, second, third = st.columns(3)
        confidence = first.selectbox(t("planning.confidence", lang), (0.90, 0.95, 0.99), index=1,
                                     format_func=lambda v: format_percent(v, decimals=0), key=f"{_KEY}confidence",
                                     placeholder=choose_placeholder(lang))
        margin = first.number_input(t("planning.margin", lang), min_value=0.5, max_value=20.0, value=3.0,
                                    step=0.5, key=f"{_KEY}margin")
        margin_mean = first.number_input(t("planning.margin_mean", lang), min_value=0.1, max_value=20.0,
                                         value=2.0, step=0.5, key=f"{_KEY}margin_mean")
        power = second.selectbox(t("planning.power", lang), (0.8, 0.85, 0.9, 0.95),
                                 format_func=lambda v: format_percent(v, decimals=0), key=f"{_KEY}power",
                                 placeholder=choose_placeholder(lang))
        alpha = second.selectbox(t("planning.alpha", lang), (0.05, 0.025, 0.01), key=f"{_KEY}alpha",
                                 placeholder=choose_placeholder(lang))
        response = second.number_input(t("planning.response_rate", lang), min_value=5, max_value=100, value=80,
                                       step=5, key=f"{_KEY}response")
        per_psu = third.number_input(t("planning.per_psu", lang), min_value=1, max_value=200, value=15,
                                     step=1, key=f"{_KEY}per_psu")
        mode = third.radio(t("planning.deff_mode", lang), ("cluster", "direct"), horizontal=True,
                           format_func=lambda v: t(_OPTION_TEXTS[v], lang), key=f"{_KEY}deff_mode")
        if mode == "cluster":
            icc = third.number_input(t("planning.icc", lang), min_value=0.0, max_value=1.0, value=0.05,
                                     step=0.01, format="%.3f", key=f"{_KEY}icc")
            deff = design_effect(cluster_size=per_psu, icc=icc)
            third.caption(t("planning.deff_value", lang, m=per_psu, icc=f"{icc:g}", deff=f"{deff:.3g}"))
        else:
            deff = third.number_input(t("planning.deff", lang), min_value=0.5, max_value=20.0, value=1.5,
                                      step=0.1, key=f"{_KEY}deff")
    return Settings(confidence=confidence, margin=margin / 100, margin_mean=margin_mean, power=power,
                    alpha=alpha, deff=deff, per_psu=int(per_psu), response_rate=response / 100)


@st.cache_resource(show_spinner=False)
def _plan_targets() -> tuple[Target, ...]:
    return load_targets()


def _shipped_targets(lang: str) -> pd.DataFrame:
    """The plan's survey targets with default expected values, one row each."""
    rows = []
    for index, target in enumerate(_plan_targets()):
        proportion = target.statistic == "proportion"
        rows.append(
            {
                "use": index == 0 or not proportion,  # the headline target and the index
                "target": target.label.get(lang),
                "statistic": target.statistic,
                "threshold": target.threshold,
                # Three points (or two score points) above the target: a plausible planning value.
                "expected": min(target.threshold + 0.03, 0.99) if proportion else target.threshold + 2,
                "sd": None if proportion else 12.0,
            }
        )
    return pd.DataFrame(rows)


def _shipped_targets_empty() -> pd.DataFrame:
    return pd.DataFrame({"use": pd.Series(dtype=bool), "target": pd.Series(dtype=str),
                         "statistic": pd.Series(dtype=str), "threshold": pd.Series(dtype=float),
                         "expected": pd.Series(dtype=float), "sd": pd.Series(dtype=float)})


def _headline_expected(lang: str) -> float:
    """The expected value of the first proportion target: the Neyman allocation's default."""
    try:
        targets = _shipped_targets(lang)
    except SurveyError:
        return 0.5  # shown with the targets' error; 0.5 is the most conservative value
    proportions = targets.loc[targets["statistic"] == "proportion", "expected"]
    return float(proportions.iloc[0]) if not proportions.empty else 0.5


def _targets(lang: str) -> pd.DataFrame:
    st.subheader(t("planning.targets", lang))
    st.caption(t("planning.targets_help", lang))
    try:
        base = _shipped_targets(lang)
    except SurveyError as exc:  # a broken targets.yaml: custom rows still work
        st.error(t("planning.input_error", lang, detail=exc))
        base = _shipped_targets_empty()
    edited = st.data_editor(
        base,
        num_rows="dynamic",
        hide_index=True,
        placeholder="—",
        key=f"{_KEY}targets_{lang}",
        column_config={
            "use": st.column_config.CheckboxColumn(t("planning.col_use", lang), default=True, width="small"),
            "target": st.column_config.TextColumn(t("planning.col_target", lang), width="medium"),
            "statistic": st.column_config.SelectboxColumn(
                t("planning.col_statistic", lang), options=["proportion", "mean"], default="proportion",
                format_func=lambda v: t(_OPTION_TEXTS[v], lang), width="small",
            ),
            "threshold": st.column_config.NumberColumn(t("planning.col_threshold", lang), format="%.3g"),
            "expected": st.column_config.NumberColumn(t("planning.col_expected", lang), format="%.3g"),
            "sd": st.column_config.NumberColumn(t("planning.col_sd", lang), format="%.3g"),
        },
    )
    return edited


def _district_table(frame: pd.DataFrame | None, lang: str) -> pd.DataFrame:
    st.subheader(t("planning.districts", lang))
    st.caption(t("planning.districts_help", lang))
    choices = load_districts()
    codes = [choice.name for choice in choices]
    # The uploaded frame's sizes where there is one, else the census shipped with the app.
    totals = frame.groupby("district")["size"].sum() if frame is not None else pd.Series(census_district_totals())
    base = pd.DataFrame(
        {
            "code": codes,
            "district": [choice.label.get(lang) for choice in choices],
            "population": totals.reindex(codes).to_numpy(dtype=float),
            "expected": _headline_expected(lang),
        }
    )
    source = "planning.populations_from_frame" if frame is not None else "planning.populations_from_census"
    st.caption(t(source, lang))
    return st.data_editor(
        base,
        hide_index=True,
        key=f"{_KEY}districts_{lang}",
        disabled=["code", "district"],
        column_order=["district", "population", "expected"],
        column_config={
            "district": st.column_config.TextColumn(t("planning.col_district", lang)),
            "population": st.column_config.NumberColumn(t("planning.col_population", lang), min_value=1,
                                                        format="localized"),
            "expected": st.column_config.NumberColumn(t("planning.col_expected_p", lang), min_value=0.0,
                                                      max_value=1.0, format="%.3g"),
        },
    )


def _sample_sizes(settings: Settings, districts: pd.DataFrame, lang: str) -> int | None:
    """Draw the sizes per target and district; return the completes each district needs."""
    targets = _targets(lang)
    chosen = targets[targets["use"].fillna(False).astype(bool)]
    complete = chosen.dropna(subset=["target", "statistic", "threshold", "expected"])
    complete = complete[(complete["statistic"] == "proportion") | complete["sd"].notna()]
    skipped = [str(name) for name in chosen.index.difference(complete.index) + 1]
    if skipped:
        st.warning(t("planning.skipped_rows", lang, rows=", ".join(skipped)))
    if complete.empty:
        st.info(t("planning.no_targets", lang))
        return None
    populations = districts.set_index("code")["population"]
    city = float(populations.sum()) if populations.notna().all() else None
    try:
        rows = []
        per_district: dict[str, list[int]] = {}
        for _, target in complete.iterrows():
            margin, test = _target_sizes(target, settings, population=city)
            rows.append({"target": target["target"], "n_margin": margin.n, "n_test": test.completes,
                         "n_test_issue": test.n})
            per_district[target["target"]] = [
                _target_sizes(target, settings, population=_population(populations[code]))[1].completes
                for code in districts["code"]
            ]
    except SamplingError as exc:
        st.error(t("planning.input_error", lang, detail=exc))
        return None

    st.subheader(t("planning.city_sizes", lang))
    st.caption(t("planning.city_sizes_help", lang))
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        column_config={
            "target": st.column_config.TextColumn(t("planning.col_target", lang), width="medium"),
            "n_margin": st.column_config.NumberColumn(t("planning.col_n_margin", lang)),
            "n_test": st.column_config.NumberColumn(t("planning.col_n_test", lang)),
            "n_test_issue": st.column_config.NumberColumn(t("planning.col_n_test_issue", lang)),
        },
    )
    table = pd.DataFrame(per_district, index=districts["district"])
    table[t("planning.district_required", lang)] = table.max(axis=1)
    required = int(table[t("planning.district_required", lang)].max())
    st.subheader(t("planning.district_sizes", lang))
    st.caption(t("planning.district_required_help", lang, n=required))
    st.dataframe(table.rename_axis(t("planning.col_district", lang)))
    _margin_chart(settings, complete, required, lang)
    return required


def _target_sizes(target: pd.Series, settings: Settings, *, population: float | None) -> tuple[SampleSize, SampleSize]:
    """(size for the margin, size for the target test) of one row of the targets table."""
    common = {"deff": settings.deff, "response_rate": settings.response_rate, "population": population}
    threshold, expected = float(target["threshold"]), float(target["expected"])
    if target["statistic"] == "proportion":
        return (
            sample_size_proportion(p=expected, margin=settings.margin, confidence=settings.confidence, **common),
            sample_size_target_proportion(threshold=threshold, expected=expected, power=settings.power,
                                          alpha=settings.alpha, **common),
        )
    sd = float(target["sd"])
    return (
        sample_size_mean(sd=sd, margin=settings.margin_mean, confidence=settings.confidence, **common),
        sample_size_target_mean(threshold=threshold, expected=expected, sd=sd, power=settings.power,
                                alpha=settings.alpha, **common),
    )


def _margin_chart(settings: Settings, targets: pd.DataFrame, required: int, lang: str) -> None:
    proportions = targets[targets["statistic"] == "proportion"]
    p = float(proportions["expected"].iloc[0]) if not proportions.empty else 0.5
    sizes = np.unique(np.geomspace(30, max(3000, 2 * required), 120).round())
    design = t("planning.chart_design", lang, deff=f"{settings.deff:.3g}")
    srs = t("planning.chart_srs", lang)
    series = t("planning.chart_series", lang)
    x_title, y_title = t("planning.chart_x", lang), t("planning.chart_y", lang)
    curves = pd.concat(
        [
            pd.DataFrame({"n": sizes, "moe": 100 * margin_of_error_proportion(
                sizes, p=p, confidence=settings.confidence, deff=deff), series: name})
            for name, deff in ((design, settings.deff), (srs, 1.0))
        ]
    )
    lines = alt.Chart(curves).mark_line().encode(
        x=alt.X("n:Q", title=x_title, scale=alt.Scale(type="log", domain=[sizes[0], sizes[-1]], nice=False)),
        y=alt.Y("moe:Q", title=y_title),
        color=alt.Color(f"{series}:N", legend=alt.Legend(orient="top", title=None)),
        tooltip=[alt.Tooltip("n:Q", title=x_title), alt.Tooltip("moe:Q", title=y_title, format=".2f"), series],
    )
    target_line = alt.Chart(pd.DataFrame({"moe": [100 * settings.margin]})).mark_rule(
        strokeDash=[4, 4], color="gray"
    ).encode(y="moe:Q")
    st.subheader(t("planning.chart_title", lang))
    st.altair_chart((lines + target_line).properties(height=280), width="stretch")
    st.caption(t("planning.chart_caption", lang, p=f"{p:g}", margin=f"{100 * settings.margin:g}"))


def _allocation(
    settings: Settings, districts: pd.DataFrame, required: int | None, lang: str
) -> Allocation | None:
    if required is not None:
        suggested_total = required * len(districts)
        left, right = st.columns([3, 1], vertical_alignment="center")
        left.caption(t("planning.suggest", lang, minimum=required, total=suggested_total))
        right.button(t("planning.apply_suggestion", lang), key=f"{_KEY}apply", on_click=_apply_suggestion,
                     args=(required, suggested_total))
    left, right = st.columns(2)
    total = left.number_input(t("planning.total", lang), min_value=1, value=2400, step=100, key=f"{_KEY}total")
    minimum = right.number_input(t("planning.minimum", lang), min_value=0, value=0, step=10, key=f"{_KEY}minimum")
    method = st.radio(t("planning.method", lang), ALLOCATION_METHODS, horizontal=True,
                      format_func=lambda v: t(_OPTION_TEXTS[v], lang), key=f"{_KEY}method")
    missing = districts.loc[districts["population"].isna(), "district"].tolist()
    if missing and method != "equal":
        separator = "、" if lang == "zh" else ", "
        st.info(t("planning.populations_missing", lang, districts=separator.join(missing)))
        return None
    # An equal allocation needs no populations; the total as every size never caps it.
    sizes = districts["population"] if not missing else pd.Series(float(total), index=districts.index)
    frame = districts.assign(population=sizes)
    try:
        allocation = allocate(frame, "code", "population", total=int(total), method=method, minimum=int(minimum),
                              **({"p": "expected"} if method == "neyman" else {}))
        p = float(districts["expected"].mean())
        margins = [
            margin_of_error_proportion(n, p=p, confidence=settings.confidence, deff=settings.deff,
                                       population=None if missing else pop)
            for n, pop in zip(allocation.counts, frame["population"])
        ]
    except SamplingError as exc:
        st.error(t("planning.input_error", lang, detail=exc))
        return None
    counts = np.asarray(allocation.counts)
    table = pd.DataFrame(
        {
            "district": districts["district"],
            "population": districts["population"],
            "share": districts["population"] / districts["population"].sum(),
            "allocated": counts,
            "issue": np.ceil(counts / settings.response_rate).astype(int),
            "psus": np.ceil(counts / settings.per_psu).astype(int),
            "moe": 100 * np.asarray(margins),
        }
    )
    st.subheader(t("planning.allocation_table", lang))
    st.dataframe(
        percent_table(table, ["share"]),
        hide_index=True,
        column_config={
            "district": st.column_config.TextColumn(t("planning.col_district", lang)),
            "population": st.column_config.NumberColumn(t("planning.col_population", lang), format="localized"),
            "share": st.column_config.NumberColumn(t("planning.col_share", lang)),
            "allocated": st.column_config.NumberColumn(t("planning.col_allocated", lang)),
            "issue": st.column_config.NumberColumn(t("planning.col_issue", lang)),
            "psus": st.column_config.NumberColumn(t("planning.col_psus", lang)),
            "moe": st.column_config.NumberColumn(t("planning.col_moe", lang), format="%.1f"),
        },
    )
    st.caption(t("planning.allocation_caption", lang, p=f"{p:.3g}", deff=f"{settings.deff:.3g}", m=settings.per_psu))
    return allocation


def _apply_suggestion(minimum: int, total: int) -> None:
    st.session_state[f"{_KEY}minimum"] = minimum
    st.session_state[f"{_KEY}total"] = max(total, int(st.session_state.get(f"{_KEY}total", 0)))


def _frame_input(lang: str) -> pd.DataFrame | None:
    """The uploaded sampling frame, checked, with district codes; None until one is usable."""
    st.subheader(t("planning.frame", lang))
    st.caption(t("planning.frame_help", lang))
    st.download_button(t("planning.frame_template", lang), _template_csv(), file_name="frame_template.csv",
                       mime="text/csv", key=f"{_KEY}template")
    upload = st.file_uploader(t("planning.frame", lang), type=["csv", "txt", "xlsx", "xlsm"],
                              key=f"{_KEY}frame", label_visibility="collapsed", help=upload_help(lang))
    if upload is None:
        return None
    try:
        data = read_upload(upload, what="sampling frame")
        raw = read_frame(read_workbook(data, what="sampling frame", filename=upload.name)
                         if data.startswith(XLSX_MAGIC) else data, filename=upload.name)
    except (SamplingError, UploadTooLargeError, WorkbookError) as exc:
        st.error(t("planning.input_error", lang, detail=md_text(exc)))  # quotes the file's cells
        return None
    st.caption(t("planning.frame_rows", lang, n=len(raw), name=md_text(upload.name)))
    columns = list(raw.columns)
    left, right = st.columns(2)
    chosen = {}
    for index, role in enumerate(("district", "psu", "psu_name", "size")):
        box = left if index % 2 == 0 else right
        chosen[role] = box.selectbox(t(_COLUMN_TEXTS[role], lang), columns, index=_guess(columns, role),
                                     key=f"{_KEY}col_{role}", placeholder=choose_placeholder(lang))
    same = t("planning.same_as_size", lang)
    units = left.selectbox(t("planning.col_map_units", lang), [same, *columns], key=f"{_KEY}col_units",
                          placeholder=choose_placeholder(lang))
    try:
        frame = check_frame(raw, district=chosen["district"], psu=chosen["psu"], psu_name=chosen["psu_name"],
                            size=chosen["size"], units=None if units == same else units)
    except SamplingError as exc:
        st.error(t("planning.input_error", lang, detail=md_text(exc)))
        return None
    codes = _district_codes()
    frame["district"] = frame["district"].map(lambda v: codes.get(v, v))
    unknown = sorted(set(frame["district"]) - set(codes.values()))
    if unknown:
        known = ", ".join(choice.label.get(lang) for choice in load_districts())
        st.error(t("planning.unknown_districts", lang, names=md_text(", ".join(unknown)), known=known))
        return None
    return frame


def _selection(
    settings: Settings,
    districts: pd.DataFrame,
    frame: pd.DataFrame | None,
    allocation: Allocation | None,
    user: User,
    lang: str,
) -> None:
    if frame is None:
        return
    left, right = st.columns(2)
    seed = left.number_input(t("planning.seed", lang), min_value=0, max_value=2**31 - 1, value=2026, step=1,
                             key=f"{_KEY}seed")
    order = right.radio(t("planning.order", lang), ("frame", "random"),
                        format_func=lambda v: t(_OPTION_TEXTS[v], lang), key=f"{_KEY}order")
    if allocation is None:
        st.info(t("planning.need_allocation", lang))
        return
    labels = dict(zip(districts["code"], districts["district"]))
    present = set(frame["district"])
    absent = [labels[code] for code in districts["code"] if code not in present]
    if absent:
        st.warning(t("planning.districts_not_in_frame", lang, names=", ".join(absent)))
    allocated = allocation.as_dict()
    psus = {code: max(1, math.ceil(allocated[code] / settings.per_psu)) for code in sorted(present)}
    try:
        selection = select_psus(frame, psus=psus, interviews_per_psu=settings.per_psu, seed=int(seed),
                                order=order, units="units")
    except SamplingError as exc:
        st.error(t("planning.input_error", lang, detail=md_text(exc)))  # may quote the frame's districts
        return
    _show_selection(selection, labels, settings, allocation, lang)
    _save_assignments(selection, user, lang)


def _show_selection(
    selection: PSUSelection, labels: Mapping[str, str], settings: Settings, allocation: Allocation, lang: str
) -> None:
    order = {code: position for position, code in enumerate(labels)}
    strata = selection.strata().sort_values("district", key=lambda codes: codes.map(order))
    st.subheader(t("planning.strata", lang))
    st.dataframe(
        strata.assign(district=strata["district"].map(labels))[
            ["district", "psus_in_frame", "psus_selected", "certainty", "interviews"]
        ],
        hide_index=True,
        column_config={
            "district": st.column_config.TextColumn(t("planning.col_district", lang)),
            "psus_in_frame": st.column_config.NumberColumn(t("planning.col_in_frame", lang)),
            "psus_selected": st.column_config.NumberColumn(t("planning.col_selected", lang)),
            "certainty": st.column_config.NumberColumn(t("planning.col_certainty", lang)),
            "interviews": st.column_config.NumberColumn(t("planning.col_interviews", lang)),
        },
    )
    assignments = selection.assignments()
    st.subheader(t("planning.assignments", lang))
    st.dataframe(
        assignments.assign(district=assignments["district"].map(labels)),
        hide_index=True,
        column_config={
            "district": st.column_config.TextColumn(t("planning.col_district", lang)),
            "psu": st.column_config.TextColumn(t("planning.col_psu", lang)),
            "psu_name": st.column_config.TextColumn(t("planning.col_psu_name", lang)),
            "interviews": st.column_config.NumberColumn(t("planning.col_interviews", lang)),
            "pi_psu": st.column_config.NumberColumn(t("planning.col_pi_psu", lang), format="%.4f"),
            "pi_within": st.column_config.NumberColumn(t("planning.col_pi_within", lang), format="%.4f"),
            "design_weight": st.column_config.NumberColumn(t("planning.col_weight", lang), format="%.1f"),
            "fpc": st.column_config.NumberColumn(t("planning.col_fpc", lang)),
        },
    )
    st.caption(t("planning.selection_caption", lang, seed=selection.seed))
    left, right = st.columns(2)
    left.download_button(
        t("planning.download_csv", lang),
        csv_bytes(assignments),
        file_name=f"assignments_seed{selection.seed}.csv",
        mime="text/csv",
        key=f"{_KEY}download_csv",
    )
    right.download_button(
        t("planning.download_excel", lang),
        _workbook(selection, settings, allocation),
        file_name=f"sample_seed{selection.seed}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"{_KEY}download_excel",
    )


def _save_assignments(selection: PSUSelection, user: User, lang: str) -> None:
    """Store the selection as a wave's field assignments; replacing a stored list needs a tick."""
    store = get_assignment_store(default_url())
    st.subheader(t("planning.save_title", lang))
    st.caption(t("planning.save_help", lang))
    notice = st.session_state.pop(_SAVED_NOTICE, None)
    if notice:
        st.success(t("planning.saved", lang, **notice))
    if f"{_KEY}wave" not in st.session_state:
        st.session_state[f"{_KEY}wave"] = store.latest_wave() or str(datetime.now(_LOCAL_TIME).year)
    wave = st.text_input(t("planning.save_wave", lang), key=f"{_KEY}wave").strip()
    if not wave:
        return
    existing = store.get(wave)
    if existing is None:
        st.caption(t("planning.save_none", lang, wave=md_text(wave)))
        replace = False
    else:
        st.warning(_existing_text(existing, lang))
        # One tick per stored list: after a save, or a replacement by someone else, it starts unticked.
        replace = st.checkbox(t("planning.save_replace", lang, wave=md_text(wave)),
                              key=f"{_KEY}replace_{wave}_{existing.saved_at.timestamp()}")
    clicked = st.button(t("planning.save_button", lang, wave=md_text(wave)), type="primary",
                        disabled=existing is not None and not replace, key=f"{_KEY}save")
    if not clicked:
        return
    authorize(user, "planning")  # the action's permission, not only the page's role
    upload = st.session_state.get(f"{_KEY}frame")
    try:
        saved = store.save(selection.assignments(), wave=wave, seed=selection.seed,
                           frame_name=getattr(upload, "name", None), saved_by=user.username, replace=replace)
    except AssignmentError as exc:  # e.g. interviews already stored in PSUs the new list lacks
        st.error(f"{t('planning.save_refused', lang)} {md_text(exc)}")
        return
    st.session_state[_SAVED_NOTICE] = {"wave": saved.wave, "psus": saved.psus, "interviews": saved.interviews}
    st.rerun()


def _existing_text(existing: AssignmentList, lang: str) -> str:
    when = existing.saved_at.astimezone(_LOCAL_TIME).strftime("%Y-%m-%d %H:%M")
    return t("planning.save_exists", lang, wave=md_text(existing.wave), psus=existing.psus,
             interviews=existing.interviews, who=md_text(existing.saved_by or t("planning.unknown_user", lang)),
             when=when,
             seed=existing.seed if existing.seed is not None else "–")


def _workbook(selection: PSUSelection, settings: Settings, allocation: Allocation) -> bytes:
    """Assignments, every PSU with its probability, and the plan's parameters."""
    plan = pd.DataFrame(
        [
            ("seed", selection.seed),
            ("order", selection.order),
            ("interviews_per_psu", selection.interviews_per_psu),
            ("allocation_method", allocation.method),
            ("allocation_total", allocation.total),
            ("allocation_minimum", allocation.minimum),
            ("confidence", settings.confidence),
            ("margin", settings.margin),
            ("power", settings.power),
            ("alpha", settings.alpha),
            ("deff", settings.deff),
            ("response_rate", settings.response_rate),
        ],
        columns=["parameter", "value"],
    )
    return xlsx_bytes({"assignments": selection.assignments(), "frame": selection.to_frame(),
                       "districts": selection.strata(), "allocation": allocation.to_frame(), "plan": plan})


def _template_csv() -> bytes:
    template = pd.DataFrame(
        {"district": ["崇川区", "崇川区"], "psu": ["320602001001", "320602001002"],
         "psu_name": ["示例社区一", "示例社区二"], "size": [1520, 980]}
    )
    return csv_bytes(template)


def _district_codes() -> dict[str, str]:
    """District code, Chinese name or English name -> code."""
    codes: dict[str, str] = {}
    for choice in load_districts():
        for name in (choice.name, choice.label.get("zh"), choice.label.get("en")):
            codes[str(name)] = choice.name
    return codes


def _guess(columns: list[str], role: str) -> int:
    lowered = [c.lower() for c in columns]
    for candidate in _GUESSES[role]:
        if candidate in lowered:
            return lowered.index(candidate)
    return min(("district", "psu", "psu_name", "size").index(role), len(columns) - 1)


def _population(value: object) -> float | None:
    return None if pd.isna(value) else float(value)


if __name__ == "__main__":
    render()
