"""Streamlit helpers shared by the app's pages.

- :func:`get_store` — the response store of this server process (``SURVEY_DB_URL`` or
  ``data/survey.db``), created once per URL.
- :func:`error_boundary` — wrap a page's body so the project's errors become readable
  bilingual ``st.error`` messages instead of tracebacks.
- :func:`language_selector` — the sidebar's 中文/English switch, kept in the URL.
- :func:`tablet_style` — larger touch targets.
- :func:`md_text` — data (typed by users, read from files) as literal text inside Markdown.
- :func:`choose_placeholder`, :func:`upload_help`, :data:`SELECT_ALL` — the texts of Streamlit's
  own widgets that an app may set (the empty choice of a selectbox or multiselect; a file
  uploader's help). The drop zone of ``st.file_uploader`` ("Drag and drop file here", "Browse
  files", the size limit) and the "Select all" entry of ``st.multiselect`` cannot be
  translated: the help says what the button does, and ``select_all=SELECT_ALL`` leaves the
  entry out of the short lists of this app.
"""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st
from streamlit import runtime

from questionnaires import QuestionnaireError
from survey_app.errors import SurveyAppError
from survey_app.i18n import DEFAULT_LANGUAGE, LANGUAGE_NAMES, LANGUAGES, QUERY_PARAM, current_language, t
from survey_app.store import ResponseStore, StoreError, default_url

__all__ = ["SELECT_ALL", "choose_placeholder", "error_boundary", "forget_download_soon", "get_store",
           "language_selector", "md_text", "tablet_style", "upload_help"]

_log = logging.getLogger(__name__)
_LANGUAGE_WIDGET = "_language"
_LANGUAGE_CHOICE = "_language_choice"  # survives a page switch, unlike the query parameters
#: ``select_all=`` of ``st.multiselect``: its "Select all" entry is English only, and the lists
#: of this app are short enough without it.
SELECT_ALL = False


def choose_placeholder(lang: str, *, several: bool = False) -> str:
    """The text of an empty ``st.selectbox`` (``several``: ``st.multiselect``), instead of
    Streamlit's English "Choose an option"."""
    return t("widgets.choose_several" if several else "widgets.choose", lang)


#: How long a clicked download's file stays at its /media/ URL (which checks no session); the
#: browser fetches it at once.
DOWNLOAD_LIFETIME_SECONDS = 10


def forget_download_soon() -> None:
    """Have Streamlit delete a clicked download's file :data:`DOWNLOAD_LIFETIME_SECONDS` from now.

    Streamlit serves download files under /media/ URLs to anyone holding the link, signed in or
    not: a file with personal data is made only when clicked (the download button's deferred
    data function calls this) and must not wait there afterwards.
    """
    timer = threading.Timer(DOWNLOAD_LIFETIME_SECONDS, _forget_unreferenced_files)
    timer.daemon = True
    timer.start()


def _forget_unreferenced_files() -> None:
    """Delete the media files no browser session shows, such as clicked downloads' files.

    Streamlit keeps a clicked download's file until two later script runs (anyone's) have ended;
    on a quiet server that can be hours. The first pass marks such files, the second deletes them.
    """
    if runtime.exists():
        manager = runtime.get_instance().media_file_mgr
        manager.remove_orphaned_files()
        manager.remove_orphaned_files()


def upload_help(lang: str) -> str:
    """The help of an ``st.file_uploader``: how to give the file, in ``lang`` (the drop zone's
    own texts are Streamlit's English and cannot be set)."""
    return t("widgets.upload_help", lang)


# ASCII punctuation that Markdown, GitHub extensions or Streamlit's own directives (:red[..],
# :material/..:, $..$ LaTeX) give a meaning; CommonMark lets every one be backslash-escaped.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$=&\"'^%/@])")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")
# GitHub's automatic links (http://…, www.…, name@host) are found in the text after escapes are
# resolved; an invisible word joiner inside "http:", "www." and after "@" keeps them plain text.
_AUTOLINK = re.compile(r"(?i)(https?|ftp|mailto|xmpp)(?=:)|(www)(?=\.)|(@)")
_WORD_JOINER = "\u2060"


def md_text(value: object) -> str:
    """``value`` as literal text inside Markdown (``st.markdown``, ``st.write``, alerts, captions,
    radio and segmented-control labels): no link, image, emphasis, heading or Streamlit directive.

    Every Markdown special character is backslash-escaped, so ``![x](http://host/x.png)`` shows
    as those characters and fetches nothing; line breaks become spaces (a new line could start a
    heading or a list); ``http://``, ``www.`` and ``@`` get an invisible word joiner (U+2060), so
    GitHub's automatic links do not turn an address into a link.

    Examples
    --------
    >>> print(md_text("[re-authenticate](http://127.0.0.1:9)").replace(_WORD_JOINER, "|"))
    \\[re\\-authenticate\\]\\(http|\\:\\/\\/127\\.0\\.0\\.1\\:9\\)
    """
    text = _LINE_BREAKS.sub(" ", str(value))
    text = _AUTOLINK.sub(lambda match: match.group() + _WORD_JOINER, text)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


@st.cache_resource(show_spinner=False)
def _store(url: str) -> ResponseStore:
    return ResponseStore(url)


def get_store() -> ResponseStore:
    """The response store for the current ``SURVEY_DB_URL`` (one per URL and process)."""
    return _store(default_url())


@contextmanager
def error_boundary() -> Iterator[None]:
    """Show errors raised in the block as ``st.error`` in the interface language.

    Questionnaire and store errors get their own explanation plus the error's message;
    anything else is logged with its traceback on the server and shown as a generic
    message, so a tablet never shows a traceback.
    """
    lang = current_language()
    try:
        yield
    except QuestionnaireError as exc:
        st.error(t("app.error_questionnaire", lang))
        st.caption(t("app.error_detail", lang, detail=exc))
    except StoreError as exc:
        st.error(t("app.error_store", lang))
        st.caption(t("app.error_detail", lang, detail=exc))
    except SurveyAppError as exc:
        st.error(str(exc))
    except Exception:
        _log.exception("unexpected error while rendering a page")
        st.error(t("app.error_unexpected", lang))


def language_selector() -> str:
    """Draw the language switch in the sidebar and return the current language.

    The choice is kept in the ``lang`` query parameter (absent = Chinese), so a refresh
    or a shared link keeps it.
    """
    # Picking another page from the menu drops the query parameters; the session remembers
    # the choice and puts it back (a refresh, which loses the session, keeps the URL instead).
    remembered = st.session_state.get(_LANGUAGE_CHOICE)
    if QUERY_PARAM not in st.query_params and remembered in LANGUAGES and remembered != DEFAULT_LANGUAGE:
        st.query_params[QUERY_PARAM] = remembered
    lang = current_language()
    st.session_state[_LANGUAGE_CHOICE] = lang
    # The URL is the truth: a refresh or a link may set it while the widget says otherwise.
    if st.session_state.get(_LANGUAGE_WIDGET) != lang:
        st.session_state[_LANGUAGE_WIDGET] = lang
    st.sidebar.segmented_control(
        f"{t('app.language', 'zh')} / {t('app.language', 'en')}",
        LANGUAGES,
        format_func=LANGUAGE_NAMES.__getitem__,
        required=True,
        key=_LANGUAGE_WIDGET,
        on_change=_language_changed,
    )
    return lang


def _language_changed() -> None:
    lang = st.session_state[_LANGUAGE_WIDGET]
    st.session_state[_LANGUAGE_CHOICE] = lang
    if lang == DEFAULT_LANGUAGE:
        st.query_params.pop(QUERY_PARAM, None)
    else:
        st.query_params[QUERY_PARAM] = lang


def tablet_style() -> None:
    """Enlarge options, buttons and inputs for fingers on a tablet.

    The page is also wider than Streamlit's centred layout, so a five-point scale fits on
    one line of a landscape tablet.
    """
    st.markdown(
        """
<style>
[data-testid="stMainBlockContainer"] { max-width: 62rem; padding-left: 2rem; padding-right: 2rem; }
[data-testid="stRadioOption"] { padding: 0.45rem 0.3rem 0.45rem 0.2rem; min-height: 2.9rem; align-items: center; }
[data-testid="stRadioGroup"][aria-orientation="horizontal"] { column-gap: 0.5rem; row-gap: 0.25rem; }
[data-testid="stRadioOption"] p { font-size: 1.15rem; }
[data-testid="stRadioOption"] > div > div:first-child { transform: scale(1.3); margin-right: 0.4rem; }
[data-testid="stWidgetLabel"] p { font-size: 1.1rem; font-weight: 600; }
[data-testid="stButton"] button { min-height: 3.2rem; }
[data-testid="stButton"] button p { font-size: 1.15rem; }
[data-testid="stButtonGroup"] button { min-height: 3rem; padding: 0.4rem 1rem; }
[data-testid="stButtonGroup"] button p { font-size: 1.1rem; }
[data-testid="stTextInputRootElement"], [data-testid="stNumberInputContainer"] { height: 3rem; }
[data-testid="stTextInputField"], [data-testid="stNumberInputField"] { font-size: 1.15rem; }
</style>
""",
        unsafe_allow_html=True,
    )
