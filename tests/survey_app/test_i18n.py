"""Tests of the interface texts (``survey_app.i18n``) and of every text key the app uses."""
from __future__ import annotations

import ast
import importlib
import string
from pathlib import Path

import pytest

from survey_app import i18n
from survey_app.i18n import I18nError, register, t

SURVEY_APP = Path(__file__).parent.parent.parent / "survey_app"
PAGE_MODULES = sorted(
    f"survey_app.pages.{path.stem}" for path in (SURVEY_APP / "pages").glob("*.py") if path.stem != "__init__"
)


@pytest.fixture(scope="module")
def catalog() -> dict:
    for module in PAGE_MODULES:  # pages register their texts when imported
        importlib.import_module(module)
    return i18n.namespaces()


def test_lookup_in_each_language():
    assert t("app.language", "zh") == "语言"
    assert t("app.language", "en") == "Language"


def test_default_language_outside_the_app_is_chinese():
    assert i18n.current_language() == "zh"
    assert t("app.language") == "语言"


def test_placeholders_are_filled():
    assert t("app.error_detail", "en", detail="disk full") == "Details: disk full"


def test_unknown_key_and_language_are_explained():
    with pytest.raises(I18nError, match="no text 'app.nope'"):
        t("app.nope", "zh")
    with pytest.raises(I18nError, match="'zh', 'en'.*'fr'"):
        t("app.language", "fr")


def test_register_needs_both_languages_and_the_same_placeholders():
    with pytest.raises(I18nError, match="lacks en"):
        register("test_ns", {"a": {"zh": "甲"}})
    with pytest.raises(I18nError, match="different placeholders"):
        register("test_ns", {"a": {"zh": "{n} 个", "en": "{count} items"}})
    with pytest.raises(I18nError, match="without dots"):
        register("a.b", {})
    assert "test_ns" not in i18n.namespaces()


def test_every_registered_text_is_complete(catalog):
    assert {"app", "interview"} <= set(catalog)
    for namespace, texts in catalog.items():
        for key, variants in texts.items():
            assert set(variants) == set(i18n.LANGUAGES), f"{namespace}.{key}"
            fields = [{f for _, f, _, _ in string.Formatter().parse(variants[lang]) if f} for lang in i18n.LANGUAGES]
            assert all(f == fields[0] for f in fields), f"{namespace}.{key}"
            assert all(variants[lang].strip() for lang in i18n.LANGUAGES), f"{namespace}.{key}"


def test_chinese_texts_are_chinese(catalog):
    for namespace, texts in catalog.items():
        for key, variants in texts.items():
            if any(char.isalpha() for char in variants["en"]):
                assert variants["zh"] != variants["en"], f"{namespace}.{key} is not translated"


def test_every_text_key_in_the_source_exists(catalog):
    """Each string literal "<namespace>.<key>" in survey_app names a registered text."""
    used: set[tuple[str, str]] = set()
    for path in SURVEY_APP.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # Pieces of f-strings are prefixes of keys built at run time, not keys.
        pieces = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in pieces:
                namespace, dot, key = node.value.partition(".")
                if dot and namespace in catalog and key.isidentifier():
                    used.add((path.name, node.value))
    assert used, "the scan found no text keys"
    missing = sorted((file, key) for file, key in used if key.partition(".")[2] not in catalog[key.partition(".")[0]])
    assert missing == []


def test_every_hint_and_reason_of_the_analysis_has_words(catalog):
    """Issue 13: the codes of analysis.targets are worded, in both languages, never shown as codes."""
    from analysis.targets import HINTS, REASONS

    texts = catalog["estimates"]
    worded = [h for h in HINTS if h not in ("no data", "too few")]   # those two are the card's own words
    assert sorted(h for h in worded if f"hint_{h.replace(' ', '_')}" not in texts) == []
    assert sorted(r for r in REASONS if f"reason_{r.replace(' ', '_')}" not in texts) == []
    assert {"too_few", "too_few_badge", "missing"} <= set(texts)
    assert {"choose", "choose_several", "upload_help"} <= set(catalog["widgets"])


def test_language_survives_a_page_switch_that_drops_the_query_parameters(tmp_path, monkeypatch):
    # st.navigation clears the URL's query parameters when another page is picked from the
    # menu; the session's remembered choice must put English back.
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("SURVEY_DB_URL", f"sqlite:///{tmp_path / 'survey.db'}")
    at = AppTest.from_file(str(Path(__file__).parent.parent.parent / "survey_app" / "app.py"), default_timeout=60)
    at.session_state["_language_choice"] = "en"
    at.run()
    assert not at.exception
    assert at.query_params.get("lang") in ("en", ["en"])
    assert at.session_state["_language_choice"] == "en"
