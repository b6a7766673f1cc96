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
    # an action added to the code but not here yet: named by its code, after these words
    "other": {"zh": "其他操作（{code}）", "en": "Other action ({code})"},
})
