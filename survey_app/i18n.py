"""Interface texts in Chinese (default) and English: ``t(key)`` / ``t(key, lang)``.

Each page keeps its own texts, so engineers adding pages never edit the same dictionary:
a page module calls :func:`register` once at import with a namespace named after the page
and then looks texts up as ``"<namespace>.<key>"``::

    from survey_app.i18n import register, t

    register("planning", {
        "title": {"zh": "抽样设计", "en": "Sample design"},
        "n_psu": {"zh": "每区 {n} 个初级抽样单元", "en": "{n} PSUs per district"},
    })
    st.header(t("planning.title"))
    st.write(t("planning.n_psu", n=12))

Texts are ``str.format`` templates; every text needs both languages, with the same
placeholders (``tests/survey_app/test_i18n.py`` checks every registered namespace). The
``app`` namespace below holds texts shared by all pages (navigation, common errors).

The current language lives in the URL query parameter ``lang`` (absent means Chinese), so a
browser refresh keeps it; :func:`current_language` reads it.
"""
from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Literal, get_args

from survey_app.errors import SurveyAppError

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "QUERY_PARAM",
    "I18nError",
    "Language",
    "current_language",
    "namespaces",
    "register",
    "t",
]

Language = Literal["zh", "en"]
LANGUAGES: tuple[str, ...] = get_args(Language)
DEFAULT_LANGUAGE: Language = "zh"
LANGUAGE_NAMES: Mapping[str, str] = {"zh": "中文", "en": "English"}
QUERY_PARAM = "lang"

_CATALOG: dict[str, dict[str, dict[str, str]]] = {}


class I18nError(SurveyAppError, KeyError):
    """An unknown text key or language, or an incomplete text."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def register(namespace: str, texts: Mapping[str, Mapping[str, str]]) -> None:
    """Add (or replace) the texts of one namespace.

    Parameters
    ----------
    namespace : str
        Usually the page module's name, e.g. ``"interview"``; keys are then looked up
        as ``"interview.<key>"``.
    texts : Mapping[str, Mapping[str, str]]
        key -> {"zh": ..., "en": ...}; both languages are required and must use the
        same ``{placeholders}``.
    """
    if not namespace or "." in namespace:
        raise I18nError(f"namespace must be a non-empty name without dots, got {namespace!r}")
    checked: dict[str, dict[str, str]] = {}
    for key, variants in texts.items():
        missing = [lang for lang in LANGUAGES if not isinstance(variants.get(lang), str)]
        if missing:
            raise I18nError(f"text {namespace}.{key} lacks {', '.join(missing)}; give every language")
        fields = {lang: _placeholders(variants[lang]) for lang in LANGUAGES}
        if len(set(map(frozenset, fields.values()))) != 1:
            raise I18nError(f"text {namespace}.{key} uses different placeholders per language: {fields}")
        checked[key] = {lang: variants[lang] for lang in LANGUAGES}
    _CATALOG[namespace] = checked


def namespaces() -> dict[str, dict[str, dict[str, str]]]:
    """A copy of all registered texts: namespace -> key -> language -> text."""
    return {ns: {key: dict(v) for key, v in texts.items()} for ns, texts in _CATALOG.items()}


def t(key: str, lang: str | None = None, **values: object) -> str:
    """The text ``key`` (``"namespace.name"``) in ``lang`` (default: the current language).

    Keyword arguments fill the text's ``{placeholders}`` (so no placeholder may be
    called ``key`` or ``lang``).
    """
    lang = current_language() if lang is None else lang
    if lang not in LANGUAGES:
        raise I18nError(f"language must be one of {', '.join(map(repr, LANGUAGES))}, got {lang!r}")
    namespace, _, name = key.partition(".")
    try:
        template = _CATALOG[namespace][name][lang]
    except KeyError:
        raise I18nError(f"no text {key!r}; register it with survey_app.i18n.register({namespace!r}, ...)") from None
    return template.format(**values) if values else template


def current_language() -> Language:
    """The interface language from the ``lang`` query parameter; Chinese outside the app."""
    import streamlit as st
    from streamlit import runtime

    if not runtime.exists():
        return DEFAULT_LANGUAGE
    lang = st.query_params.get(QUERY_PARAM)
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def _placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


register(
    "app",
    {
        "title": {"zh": "放心消费满意度调查", "en": "Consumer satisfaction survey"},
        "language": {"zh": "语言", "en": "Language"},
        "error_questionnaire": {
            "zh": "问卷无法加载，请联系调查负责人。",
            "en": "The questionnaire could not be loaded. Please contact the survey manager.",
        },
        "error_store": {
            "zh": "数据库操作失败，已录入的答案不会丢失。请稍后重试或联系调查负责人。",
            "en": "The database operation failed; answers already saved are kept. "
            "Please retry later or contact the survey manager.",
        },
        "error_unexpected": {
            "zh": "程序出现意外错误，请刷新页面；问题持续请联系调查负责人。",
            "en": "Something unexpected went wrong. Please reload the page; "
            "if it keeps happening, contact the survey manager.",
        },
        "error_detail": {"zh": "详细信息：{detail}", "en": "Details: {detail}"},
    },
)

# -- issue 13, small samples honestly shown: how a result is worded on every results page ----------
register(
    "estimates",
    {
        "too_few_badge": {"zh": "样本过少", "en": "Too few"},
        "too_few": {
            "zh": "受访者过少，无法给出估计：n = {n}，至少约需 {needed}。",
            "en": "Too few respondents for an estimate: n = {n} of the ~{needed} needed.",
        },
        "too_few_count": {"zh": "样本过少", "en": "Too few respondents"},
        "no_interval": {"zh": "无法计算置信区间；目标 ≥ {threshold}", "en": "No confidence interval can be computed; "
                        "target ≥ {threshold}"},
        "missing": {"zh": "—", "en": "—"},
        "points_proportion": {"zh": "{value} 个百分点", "en": "{value} percentage points"},
        "points_mean": {"zh": "{value} 分", "en": "{value} points"},
        "above": {"zh": "高于目标 {difference}（{se} 个标准误）", "en": "{difference} above the target ({se} SE)"},
        "below": {"zh": "低于目标 {difference}（{se} 个标准误）", "en": "{difference} below the target ({se} SE)"},
        "above_no_se": {"zh": "高于目标 {difference}", "en": "{difference} above the target"},
        "below_no_se": {"zh": "低于目标 {difference}", "en": "{difference} below the target"},
        "equal": {"zh": "与目标值相等", "en": "equal to the target"},
        "hint_met": {"zh": "估计值{distance}，置信下限不低于目标：达标。",
                     "en": "The estimate is {distance}; the lower confidence limit is at or above it: met."},
        "hint_not_met": {"zh": "估计值{distance}，置信上限低于目标：未达标。",
                         "en": "The estimate is {distance}; the upper confidence limit is below it: not met."},
        "hint_toward_met": {
            "zh": "估计值{distance}；若估计值不变，约再需 {extra} 份完成访问可判定达标。",
            "en": "The estimate is {distance}; about {extra} more completed interviews would show it met "
            "if the estimate held.",
        },
        "hint_toward_not_met": {
            "zh": "估计值{distance}；若估计值不变，约再需 {extra} 份完成访问可判定未达标。",
            "en": "The estimate is {distance}; about {extra} more completed interviews would show it not met "
            "if the estimate held.",
        },
        "hint_on_threshold": {
            "zh": "估计值{distance}，与目标很接近；若估计值不变，需再约 {extra} 份完成访问（现有的 {times} 倍）"
            "才能得出结论，增加访问难以判定。",
            "en": "The estimate is {distance}, close to it; about {extra} more completed interviews ({times} times "
            "those so far) would be needed to settle it, so more interviews will hardly decide it.",
        },
        "hint_on_threshold_never": {
            "zh": "估计值与目标值相等，增加访问也无法得出结论。",
            "en": "The estimate equals the target; no number of further interviews would settle it.",
        },
        "unreliable": {"zh": "估计不可靠（NCHS 标准）：{why}", "en": "Unreliable estimate (NCHS): {why}"},
        "reason_separator": {"zh": "；", "en": "; "},
        "reason_effective_n": {"zh": "有效样本量 {value} < {limit}", "en": "effective sample size {value} < {limit}"},
        "reason_ci_width": {"zh": "区间宽度 {value} ≥ {limit}", "en": "interval width {value} ≥ {limit}"},
        "reason_relative_ci_width": {"zh": "相对区间宽度 {value} > {limit}",
                                     "en": "relative interval width {value} > {limit}"},
        "reason_df": {"zh": "自由度 {value} < {limit}", "en": "degrees of freedom {value} < {limit}"},
        "forest_too_few": {"zh": "{name}（样本过少，n = {n}）", "en": "{name} (too few, n = {n})"},
        "forest_all_too_few": {
            "zh": "各区县受访者均过少，暂不绘制比较图。",
            "en": "Every district has too few respondents for an estimate; no comparison is drawn yet.",
        },
        "chart_too_few": {
            "zh": "受访者过少，暂不绘制图形。",
            "en": "Too few respondents to draw a chart yet.",
        },
    },
)

# -- issue 13: texts of Streamlit's own widgets that Streamlit lets an app set ----------------------
register(
    "widgets",
    {
        "choose": {"zh": "请选择", "en": "Choose an option"},
        "choose_several": {"zh": "请选择（可多选）", "en": "Choose one or more"},
        "upload_help": {
            "zh": "将文件拖到框内，或点框内的“Browse files”（浏览文件）选择文件；框内的英文提示由 Streamlit 显示，无法更改。",
            "en": "Drag the file into the box, or click “Browse files” in it to choose the file.",
        },
    },
)

# -- issue 13: the actions of the audit log, as the administration page shows them ---------------
register("audit_actions", {
    "setup": {"zh": "创建首个管理员", "en": "First administrator created"},
    "sign_in": {"zh": "登录", "en": "Signed in"},
    "sign_in_failed": {"zh": "登录失败", "en": "Sign-in failed"},
    "sign_out": {"zh": "退出登录", "en": "Signed out"},
    "create_user": {"zh": "创建账户", "en": "Account created"},
    "set_roles": {"zh": "修改角色", "en": "Roles changed"},
    "enable_user": {"zh": "启用账户", "en": "Account enabled"},
    "disable_user": {"zh": "停用账户", "en": "Account disabled"},
    "reset_password": {"zh": "重置密码", "en": "Password reset"},
    "change_password": {"zh": "修改密码", "en": "Password changed"},
    "unlock": {"zh": "解除锁定", "en": "Account unlocked"},
    "session_limits": {"zh": "修改会话时限", "en": "Session limits changed"},
    "export": {"zh": "导出数据或报告", "en": "Data or report exported"},
    "backup": {"zh": "备份数据库", "en": "Database backed up"},
    "restore": {"zh": "恢复数据库", "en": "Database restored"},
    "restore_refused": {"zh": "拒绝恢复", "en": "Restore refused"},
    "import_interviews": {"zh": "导入访问", "en": "Interviews imported"},
    "upload_questionnaire": {"zh": "上传问卷", "en": "Questionnaire uploaded"},
    "upload_questionnaire_failed": {"zh": "问卷上传失败", "en": "Questionnaire upload failed"},
    "approve_interview": {"zh": "审核通过访问", "en": "Interview approved"},
    "reject_interview": {"zh": "退回访问", "en": "Interview rejected"},
    "void_interview": {"zh": "作废访问", "en": "Interview voided"},
    "review_failed": {"zh": "审核操作失败", "en": "Review action failed"},
    "save_assignments": {"zh": "保存样本分配", "en": "Sample assignments saved"},
    "replace_assignments": {"zh": "替换样本分配", "en": "Sample assignments replaced"},
    "demo_load": {"zh": "载入演示数据", "en": "Demonstration data loaded"},
    "demo_remove": {"zh": "删除演示数据", "en": "Demonstration data removed"},
    # issue 19: inspection records and administrative figures
    "import_inspections": {"zh": "导入抽检记录", "en": "Inspection records imported"},
    "set_figure": {"zh": "录入行政数据", "en": "Administrative figure entered"},
    # an action added to the code but not here yet: named by its code, after these words
    "other": {"zh": "其他操作（{code}）", "en": "Other action ({code})"},
})

# -- issue 18, data out with labels: the export page (survey_app/pages/export_data.py) -------------
register("export_data", {
    "title": {"zh": "导出数据", "en": "Export data"},
    "intro": {
        "zh": "导出计入估计的访问（已提交或已审核通过），带变量标签、值标签和抽样设计变量（分层、初级抽样单位、"
        "有限总体校正、设计权重，加权时还有校准后权重），可在 SPSS、Stata 或 R 中继续分析。多选题每个选项为一列 0/1，"
        "日期为日期类型。默认删除自由文本中的联系方式；每次导出都记入审计日志。加权和置信区间按统计分析页的设置。",
        "en": "Export the interviews the estimates count (submitted or approved) with variable labels, value labels "
        "and the design variables (strata, PSU, finite population correction, design weight, and the calibrated "
        "weight when weighting is on), to go on in SPSS, Stata or R. Each option of a multiple-choice question is "
        "a 0/1 column; dates are dates. Contact details are removed from free-text answers by default; every "
        "export is written to the audit log. Weighting and intervals follow the Statistics page's settings.",
    },
    "empty": {"zh": "数据库中还没有可导出的已提交访问。", "en": "There are no submitted interviews to export yet."},
    "none_chosen": {"zh": "所选问卷在所选轮次中没有已提交的访问。",
                    "en": "The questionnaire chosen has no submitted interviews in the wave chosen."},
    "format": {"zh": "文件格式", "en": "File format"},
    "format_sav": {"zh": "SPSS（.sav）：变量标签、值标签和缺失值代码（-99 未问，-98 未回答）",
                   "en": "SPSS (.sav): variable labels, value labels and missing-value codes (-99 not asked, "
                   "-98 no answer)"},
    "format_dta": {"zh": "Stata（.dta）：变量标签、值标签（.a 未问，.b 未回答）",
                   "en": "Stata (.dta): variable labels, value labels (.a not asked, .b no answer)"},
    "format_csv": {"zh": "CSV 与数据字典（.zip：data.csv、codebook.json、codebook.csv）",
                   "en": "CSV and codebook (.zip: data.csv, codebook.json, codebook.csv)"},
    "format_r": {"zh": "R（.zip：CSV、数据字典和 analysis.R，构建 svydesign 并重现报告的估计值）",
                 "en": "R (.zip: CSV, codebook and analysis.R, which builds the svydesign and reproduces the "
                 "report's estimates)"},
    "language": {"zh": "标签语言", "en": "Language of the labels"},
    "questionnaire": {"zh": "问卷", "en": "Questionnaire"},
    "all_questionnaires": {"zh": "全部问卷", "en": "All questionnaires"},
    "wave": {"zh": "调查轮次", "en": "Survey wave"},
    "all_waves": {"zh": "全部轮次（合并）", "en": "All waves (pooled)"},
    "keep": {"zh": "保留自由文本中的联系方式", "en": "Keep contact details in free-text answers"},
    "keep_help": {"zh": "仅在确有需要时勾选；导出记入审计日志。",
                  "en": "Only when they are really needed; the export is written to the audit log."},
    "keep_not_allowed": {"zh": "只有管理员可以导出联系方式。", "en": "Only administrators may export contact details."},
    "download_help": {"zh": "点击下载时生成文件（数据多时需要几秒），并记入审计日志。",
                      "en": "The file is made when you click (a few seconds for many interviews) and the export "
                      "is written to the audit log."},
    "demonstration": {"zh": "含演示数据（合成数据或演示边际），不得发布。",
                      "en": "Demonstration data (synthetic or demonstration margins): not for publication."},
    "download": {"zh": "下载", "en": "Download"},
})

# -- issue 19: the plan's whole scoreboard, inspection records and administrative figures -------------
register("scoreboard", {
    "title": {"zh": "方案目标计分板", "en": "Plan scoreboard"},
    "intro": {
        "zh": "《全市放心消费创建工作实施方案》的全部数值目标，按方案的结构分组：调查目标（置信区间）、抽检合格率"
        "（精确区间或设计区间）和行政数据（登记数字，无区间）。尚无数据的目标标为“尚无数据”。",
        "en": "Every numeric target of the plan, grouped as the plan groups them: survey targets (confidence "
        "interval), inspection pass rates (exact or design-based interval) and administrative figures (register "
        "figures, no interval). Targets without data say so.",
    },
    "survey_caption": {"zh": "调查数据：第 {wave} 轮，提取于 {date}；{level} 置信区间。",
                       "en": "Survey data: wave {wave}, extracted {date}; {level} intervals."},
    "no_survey": {"zh": "尚无调查访问：调查目标显示为“尚无数据”。",
                  "en": "No survey interviews yet: the survey targets show “no data yet”."},
    "demonstration": {"zh": "调查数据含演示数据，不得发布。", "en": "The survey data include demonstration data: "
                      "not for publication."},
    "count_met": {"zh": "达标", "en": "Met"},
    "count_not_met": {"zh": "未达标", "en": "Not met"},
    "count_inconclusive": {"zh": "尚无定论", "en": "Inconclusive"},
    "count_no_data": {"zh": "尚无数据", "en": "No data yet"},
    "col_target": {"zh": "指标", "en": "Indicator"},
    "col_source": {"zh": "来源", "en": "Source"},
    "col_threshold": {"zh": "目标", "en": "Target"},
    "col_value": {"zh": "数值", "en": "Value"},
    "col_interval": {"zh": "区间", "en": "Interval"},
    "col_verdict": {"zh": "判定", "en": "Verdict"},
    "col_date": {"zh": "日期", "en": "Date"},
    "col_note": {"zh": "说明", "en": "Note"},
    "col_clause": {"zh": "方案条款", "en": "Plan clause"},
    "source_survey": {"zh": "调查", "en": "Survey"},
    "source_inspection": {"zh": "抽检", "en": "Inspection"},
    "source_register": {"zh": "行政数据", "en": "Administrative figure"},
    "verdict_met": {"zh": "达标", "en": "Met"},
    "verdict_not_met": {"zh": "未达标", "en": "Not met"},
    "verdict_inconclusive": {"zh": "尚无定论", "en": "Inconclusive"},
    "verdict_no_data": {"zh": "尚无数据", "en": "No data yet"},
    "no_data": {"zh": "尚无数据", "en": "no data yet"},
    "no_interval": {"zh": "—（非抽样）", "en": "— (not a sample)"},
    "further_survey": {"zh": "再约 {n} 份访问可判定", "en": "about {n} more interviews would settle it"},
    "further_inspection": {"zh": "再约 {n} 件抽检可判定", "en": "about {n} more samples would settle it"},
    "inspection_note": {"zh": "{failed}/{n} 件不合格（{method}）", "en": "{failed} of {n} failed ({method})"},
    "method_exact": {"zh": "精确区间", "en": "exact interval"},
    "method_beta": {"zh": "设计区间", "en": "design-based interval"},
    "register_note": {"zh": "行政数据：{detail}", "en": "Administrative figure: {detail}"},
    "download": {"zh": "下载计分板（Excel）", "en": "Download the scoreboard (Excel)"},
})

register("inspections", {
    "title": {"zh": "抽检与行政数据", "en": "Inspections and administrative figures"},
    "upload_title": {"zh": "导入抽检记录", "en": "Import inspection records"},
    "upload_intro": {
        "zh": "CSV 或 Excel 文件，每个样品一行：sample_id（样品编号）、category（产品类别）、district（区县）、date（日期）、"
        "result（pass/fail 或 合格/不合格）；可选 failed_item（不合格项目）、stratum（抽样层）、weight（权重）或 "
        "selection_probability（入样概率）。逐行检查：只要有一行有问题，就不保存任何数据。",
        "en": "A CSV or Excel file with one row per sample: sample_id, category, district, date, result (pass/fail); "
        "optionally failed_item, stratum, weight or selection_probability. Every row is checked: if any row has a "
        "problem, nothing is stored.",
    },
    "categories": {"zh": "产品类别：{categories}", "en": "Product categories: {categories}"},
    "file": {"zh": "抽检记录文件（.csv 或 .xlsx）", "en": "Inspection file (.csv or .xlsx)"},
    "template": {"zh": "下载模板（CSV）", "en": "Download the template (CSV)"},
    "import": {"zh": "检查并导入", "en": "Check and import"},
    "stored": {"zh": "导入完成：保存 {stored} 条抽检记录。", "en": "Imported: {stored} inspection records stored."},
    "rejected": {"zh": "文件有问题，未保存任何数据：{rows} 行共有 {problems} 个问题。请修改文件后重新导入。",
                 "en": "The file has problems, so nothing was stored: {problems} problem(s) in {rows} row(s). "
                 "Correct the file and import it again."},
    "unreadable": {"zh": "无法读取此文件：{detail}", "en": "The file cannot be read: {detail}"},
    "bad_suffix": {"zh": "文件 {file}：请使用 .csv 或 .xlsx 文件（收到的扩展名：{suffix}）。",
                   "en": "File {file}: use a .csv or .xlsx file (got {suffix})."},
    "missing_columns": {"zh": "文件缺少列 {missing}；表头须包含 {header}。",
                        "en": "The file lacks the column(s) {missing}; the header must include {header}."},
    "too_large": {"zh": "文件太大。", "en": "The file is too large."},
    "col_row": {"zh": "行号", "en": "Row"},
    "col_column": {"zh": "列", "en": "Column"},
    "col_value": {"zh": "值", "en": "Value"},
    "col_reason": {"zh": "原因", "en": "Reason"},
    "kind_unknown_column": {"zh": "未知列；可用的列：{allowed}", "en": "unknown column; use {allowed}"},
    "kind_bad_id": {"zh": "样品编号为空或超过 100 个字符", "en": "the sample id is empty or longer than 100 characters"},
    "kind_duplicate_id": {"zh": "样品编号重复（第 {first} 行已有）", "en": "the sample id is given twice (also in row {first})"},
    "kind_already_stored": {"zh": "样品编号已导入过", "en": "the sample id is already stored"},
    "kind_unknown_category": {"zh": "未知产品类别；请使用 {allowed} 之一", "en": "unknown category; use one of {allowed}"},
    "kind_unknown_district": {"zh": "不是南通市的区县代码或名称", "en": "not a Nantong district code or name"},
    "kind_bad_date": {"zh": "日期格式应为 2026-03-02", "en": "not a date like 2026-03-02"},
    "kind_bad_result": {"zh": "结果既不是合格（pass）也不是不合格（fail）", "en": "the result is neither pass nor fail"},
    "kind_bad_weight": {"zh": "权重不是正数", "en": "the weight is not a positive number"},
    "kind_bad_probability": {"zh": "入样概率不在 (0, 1] 之间", "en": "the selection probability is not in (0, 1]"},
    "kind_weight_and_probability": {"zh": "权重和入样概率只能给一个", "en": "give the weight or the selection "
                                    "probability, not both"},
    "kind_mixed_weights": {"zh": "类别 {category} 部分行有权重、部分行没有；请给每行权重",
                           "en": "category {category} has weights in some rows only; give every row its weight"},
    "kind_too_long": {"zh": "文字超过 500 个字符", "en": "longer than 500 characters"},
    "kind_no_rows": {"zh": "文件没有数据行", "en": "the file has no data rows"},
    "rates_title": {"zh": "合格率", "en": "Pass rates"},
    "rates_by": {"zh": "分组", "en": "Breakdown"},
    "by_none": {"zh": "仅全市", "en": "Overall only"},
    "by_district": {"zh": "按区县", "en": "By district"},
    "by_period": {"zh": "按时期", "en": "By period"},
    "period": {"zh": "时期", "en": "Period"},
    "period_year": {"zh": "年", "en": "Year"},
    "period_quarter": {"zh": "季度", "en": "Quarter"},
    "period_month": {"zh": "月", "en": "Month"},
    "no_records": {"zh": "尚未导入抽检记录。", "en": "No inspection records imported yet."},
    "col_target": {"zh": "目标", "en": "Target"},
    "col_domain": {"zh": "范围", "en": "Domain"},
    "col_rate": {"zh": "合格率", "en": "Pass rate"},
    "col_low": {"zh": "下限", "en": "Lower"},
    "col_high": {"zh": "上限", "en": "Upper"},
    "col_n": {"zh": "样品数", "en": "Samples"},
    "col_failed": {"zh": "不合格", "en": "Failed"},
    "col_verdict": {"zh": "判定", "en": "Verdict"},
    "col_further": {"zh": "需补充抽检", "en": "Further samples"},
    "col_method": {"zh": "区间", "en": "Interval"},
    "all": {"zh": "全市", "en": "All"},
    "figures_title": {"zh": "录入行政数据", "en": "Enter an administrative figure"},
    "figures_intro": {"zh": "登记数字（非抽样）：每次录入都会保留历史并记入审计日志；最新录入的数值为当前值。",
                      "en": "Register figures (not samples): every entry is kept in the history and written to the "
                      "audit log; the latest entry is the current value."},
    "figure_target": {"zh": "目标", "en": "Target"},
    "numerator": {"zh": "分子", "en": "Numerator"},
    "denominator": {"zh": "分母", "en": "Denominator"},
    "count": {"zh": "数量", "en": "Count"},
    "as_of": {"zh": "截至日期", "en": "As of"},
    "source_document": {"zh": "来源文件", "en": "Source document"},
    "save_figure": {"zh": "保存", "en": "Save"},
    "figure_saved": {"zh": "已保存：{target} = {value}（{verdict}）。", "en": "Saved: {target} = {value} ({verdict})."},
    "history": {"zh": "录入历史", "en": "History of entries"},
    "no_history": {"zh": "尚未录入行政数据。", "en": "No administrative figures entered yet."},
    "col_as_of": {"zh": "截至日期", "en": "As of"},
    "col_source": {"zh": "来源文件", "en": "Source document"},
    "col_entered_by": {"zh": "录入人", "en": "Entered by"},
    "col_entered_at": {"zh": "录入时间", "en": "Entered at"},
    "figure_other": {"zh": "无法保存：{detail}", "en": "Cannot save: {detail}"},
    "figure_bad_number": {"zh": "{field} 须为非负数（收到 {value}）", "en": "{field} must be a non-negative number "
                          "(got {value})"},
    "figure_unknown_target": {"zh": "{value} 不是行政数据目标", "en": "{value} is not a register target"},
    "figure_count_only": {"zh": "此目标为数量：只填数量", "en": "This target is a count: give the count only"},
    "figure_fraction_only": {"zh": "此目标为比率：请填分子和分母", "en": "This target is a rate: give the numerator "
                             "and the denominator"},
    "figure_numerator_too_large": {"zh": "分子（{numerator}）不能大于分母（{denominator}）",
                                   "en": "The numerator ({numerator}) cannot exceed the denominator ({denominator})"},
    "figure_bad_date": {"zh": "截至日期无效或在未来：{value}", "en": "The as-of date is invalid or in the future: "
                        "{value}"},
    "figure_no_source": {"zh": "请填写来源文件（最多 500 字）", "en": "Name the source document (at most 500 "
                         "characters)"},
})

# -- issue 16: the plan's indices and "where to act" (dashboard, charts, workbook) -----------------
register("indices", {
    "title": {"zh": "满意度指数", "en": "Satisfaction indices"},
    "intro": {
        "zh": "指数按ACSI惯例换算为0-100分：各组成部分的加权均值由其量表范围换算到0-100分，再按归一化的非负权重合成。"
        "PLS权重在每个重复样本中重新估计，置信区间同时反映抽样设计和权重估计。",
        "en": "Indices are on 0-100 by the ACSI convention: each component's weighted mean is mapped from its scale's "
        "range to 0-100 and the components are combined with normalised non-negative weights. PLS weights are "
        "estimated again in every replicate, so the interval reflects both the sampling design and the weights.",
    },
    "interval": {"zh": "{level} 置信区间 {low} – {high}", "en": "{level} CI {low} – {high}"},
    "threshold": {"zh": "目标 ≥ {threshold} 分", "en": "target ≥ {threshold} points"},
    "no_threshold": {
        "zh": "方案未设分值目标（“逐步提升”），下面列示各部分与上一轮相比的变化。",
        "en": "The plan sets no number (\"rise step by step\"): the change of each part since the previous wave "
        "is shown below.",
    },
    "method_equal": {"zh": "权重：等权", "en": "Weights: equal"},
    "method_fixed": {"zh": "权重：固定权重", "en": "Weights: fixed"},
    "method_pls": {"zh": "权重：PLS结构模型的外部权重（每个重复样本重新估计）",
                   "en": "Weights: outer weights of the PLS path model (estimated again in every replicate)"},
    "refused_negative_weights": {
        "zh": "该指数不予发布：PLS模型给出负权重的题目：{items}。指数须是各题目的平均；请检查这些题目是否反向计分或测量了别的内容。",
        "en": "This index is not published: the PLS model gives negative weights to {items}, so the index would not "
        "be an average of its items; check whether they are reverse-coded or measure something else.",
    },
    "refused_not_converged": {"zh": "该指数不予发布：PLS模型未收敛，其权重不能作为指数的依据。",
                              "en": "This index is not published: the PLS model did not converge, so its weights "
                              "are no basis for an index."},
    "refused_constant_items": {"zh": "该指数不予发布：题目 {items} 的回答全部相同，PLS模型无法据此估计权重；请继续收集访问。",
                               "en": "This index is not published: every respondent gave the same answer to {items}, "
                               "so the PLS model cannot weigh the items; collect more interviews."},
    "refused_no_interval": {"zh": "该指数不予发布：置信区间无法计算（部分重复样本中某题目的回答全部相同）；请继续收集访问。",
                            "en": "This index is not published: its interval cannot be computed (an item has the "
                            "same answer throughout some replicates); collect more interviews."},
    "refused_too_few": {"zh": "受访者过少（{items} 人），暂不计算该指数；至少需要 {needed} 人。",
                        "en": "Too few respondents ({items}) to estimate this index yet; at least {needed} are "
                        "needed."},
    "act_too_few": {"zh": "评价了全部方面的受访者过少（{n} 人），暂不分析；至少需要 {needed} 人。",
                    "en": "Too few respondents rated every aspect ({n}) for this analysis; at least {needed} are needed."},
    "refused_error": {"zh": "该指数无法估计，不予发布。详情：{reason}",
                      "en": "This index cannot be estimated and is not published. Details: {reason}"},
    "no_data": {"zh": "尚无该指数的受访者。", "en": "No respondents for this index yet."},
    "sample": {"zh": "样本量 n = {n}", "en": "n = {n}"},
    "component": {"zh": "组成部分", "en": "Component"},
    "score": {"zh": "得分（0-100）", "en": "Score (0-100)"},
    "weight": {"zh": "权重", "en": "Weight"},
    "index_row": {"zh": "指数", "en": "Index"},
    "change_title": {"zh": "与上一轮（{before}）相比的变化", "en": "Change since the previous wave ({before})"},
    "change_one_wave": {"zh": "只有一轮调查，尚无变化可比。", "en": "Only one wave: no change to show yet."},
    "change": {"zh": "变化（分）", "en": "Change (points)"},
    "direction": {"zh": "方向", "en": "Direction"},
    "change_up": {"zh": "上升", "en": "up"},
    "change_down": {"zh": "下降", "en": "down"},
    "change_flat": {"zh": "无显著变化", "en": "no clear change"},
    "act_title": {"zh": "优先改进方向", "en": "Where to act"},
    "act_intro": {
        "zh": "重要性：各方面对总体评价的解释力（加权回归R²的Shapley分解）；表现：各方面的0-100分。虚线为各方面的平均值，"
        "左上象限（重要但得分偏低）为优先改进方向（GB/T 19038-2009 附录D）。线段为置信区间。",
        "en": "Importance: how much each aspect explains of the overall rating (Shapley decomposition of the R² of "
        "the weighted regression); performance: each aspect's score on 0-100. Dashed lines at the means over the "
        "aspects; the upper-left quadrant (important, underperforming) is where to act (GB/T 19038-2009, "
        "Appendix D). Bars are confidence intervals.",
    },
    "act_questionnaire": {"zh": "问卷", "en": "Questionnaire"},
    "act_outcome": {"zh": "总体评价：{name}；R² = {r2}，n = {n}", "en": "Overall rating: {name}; R² = {r2}, n = {n}"},
    "priority_lowest": {"zh": "优先改进：{name}——重要且得分最低", "en": "priority: {name} — important, and rated lowest"},
    "priority_below": {"zh": "优先改进：{name}——重要且得分低于平均",
                       "en": "priority: {name} — important, and rated below average"},
    "no_priority": {"zh": "没有既重要又得分偏低的方面。", "en": "No aspect is both important and rated below average."},
    "act_refused": {"zh": "无法分析：{reason}", "en": "Cannot be analysed: {reason}"},
    "act_none": {"zh": "尚无可分析的访问。", "en": "No interviews to analyse yet."},
    "aspect": {"zh": "方面", "en": "Aspect"},
    "importance": {"zh": "重要性（R²份额）", "en": "Importance (share of R²)"},
    "performance": {"zh": "表现（0-100分）", "en": "Performance (0-100)"},
    "quadrant": {"zh": "象限", "en": "Quadrant"},
    "quadrant_priority": {"zh": "优先改进", "en": "priority"},
    "quadrant_maintain": {"zh": "保持优势", "en": "maintain"},
    "quadrant_secondary": {"zh": "次要改进", "en": "secondary"},
    "quadrant_surplus": {"zh": "表现较好、重要性较低", "en": "good, less important"},
})
