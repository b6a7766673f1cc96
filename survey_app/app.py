"""The survey app: ``python3 -m streamlit run survey_app/app.py``.

Pages are registered in :data:`PAGES`; adding a page is one line there. A page is a file in
``survey_app/pages/`` that defines ``render()`` and ends with
``if __name__ == "__main__": render()`` (Streamlit runs page files as ``__main__``;
tests import them without drawing anything). Its interface texts go through
:mod:`survey_app.i18n`; wrap its body in :func:`survey_app.ui.error_boundary`.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

# `streamlit run survey_app/app.py` puts survey_app/ itself on sys.path, not the project root.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import streamlit as st  # noqa: E402

from survey_app.i18n import t  # noqa: E402
from survey_app.ui import language_selector  # noqa: E402


@dataclass(frozen=True)
class PageSpec:
    """One page of the app: its file (relative to this file), titles, icon and URL path.

    ``url_path`` must differ from the file's name: AppTest looks a rerun's page up by name
    in ``pages/`` too, and on a match runs the page file without this script (and so
    without the sidebar).
    """

    path: str
    title_zh: str
    title_en: str
    icon: str
    url_path: str

    def __post_init__(self) -> None:
        if self.url_path == Path(self.path).stem:
            raise ValueError(
                f"url_path {self.url_path!r} equals the file name of {self.path!r}; choose another url_path"
            )


#: The app's pages in menu order; the first one opens by default.
PAGES: tuple[PageSpec, ...] = (
    PageSpec("pages/interview.py", "访问", "Interview", ":material/edit_note:", "interviewing"),
    PageSpec("pages/planning.py", "抽样设计", "Sample design", ":material/calculate:", "sample-design"),
)


def main() -> None:
    st.set_page_config(page_title="放心消费调查 Survey", page_icon=":material/fact_check:", layout="centered")
    lang = language_selector()
    pages = [
        st.Page(
            spec.path,
            title=spec.title_zh if lang == "zh" else spec.title_en,
            icon=spec.icon,
            url_path=spec.url_path,
            default=index == 0,
        )
        for index, spec in enumerate(PAGES)
    ]
    st.sidebar.caption(t("app.title", lang))
    st.navigation(pages).run()


main()
