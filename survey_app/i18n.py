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
