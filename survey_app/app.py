"""The survey app: ``python3 -m streamlit run survey_app/app.py``.

Pages are registered in :data:`PAGES`; adding a page is one line there. A page is a file in
``survey_app/pages/`` that defines ``render()`` and ends with
``if __name__ == "__main__": render()`` (Streamlit runs page files as ``__main__``;
tests import them without drawing anything). Its interface texts go through
:mod:`survey_app.i18n`; wrap its body in :func:`survey_app.ui.error_boundary`.

Each page lists the roles that see it in the menu (``roles``), and its ``render()`` starts
with ``survey_app.auth.require_role(...)``: the menu only offers, the page itself refuses.
While nobody is signed in the only page is the sign-in page (on the very first start it
asks for the first administrator). A signed-in browser stays signed in across reloads: the
session token is kept in a cookie (:func:`survey_app.auth.session_cookie`).
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
from streamlit.navigation.page import StreamlitPage  # noqa: E402

from survey_app.auth import ROLES, account_sidebar, current_user, session_cookie  # noqa: E402
from survey_app.errors import SurveyAppError  # noqa: E402
from survey_app.i18n import t  # noqa: E402
from survey_app.pages.signin import render as sign_in_form  # noqa: E402
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
    #: Roles whose menu offers the page (the page itself also calls ``require_role``).
    roles: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.url_path == Path(self.path).stem:
            raise ValueError(
                f"url_path {self.url_path!r} equals the file name of {self.path!r}; choose another url_path"
            )
        if not self.roles or set(self.roles) - set(ROLES):
            raise ValueError(f"page {self.path!r}: roles must be some of {', '.join(ROLES)}, got {self.roles!r}")


#: The app's pages in menu order; the first one opens by default.
PAGES: tuple[PageSpec, ...] = (
    PageSpec("pages/interview.py", "访问", "Interview", ":material/edit_note:", "interviewing", ("interviewer",)),
    PageSpec("pages/dashboard.py", "目标达成", "Dashboard", ":material/dashboard:", "results", ("statistician",)),
    PageSpec("pages/statistics.py", "统计分析", "Statistics", ":material/query_stats:", "estimates", ("statistician",)),
    PageSpec("pages/frequencies.py", "频数表", "Frequencies", ":material/table_chart:", "tables", ("statistician",)),
    PageSpec("pages/planning.py", "抽样设计", "Sample design", ":material/calculate:", "sample-design",
             ("statistician",)),
    PageSpec("pages/questionnaires_admin.py", "问卷管理", "Questionnaires", ":material/description:", "questionnaires",
             ("administrator",)),
    PageSpec("pages/import_responses.py", "导入访问数据", "Import interviews", ":material/upload_file:", "import",
             ("administrator",)),
    PageSpec("pages/export_data.py", "导出数据", "Export data", ":material/download:", "data-export",
             ("administrator", "statistician")),
    PageSpec("pages/review.py", "质量控制与审核", "Quality control", ":material/rule:", "quality-control",
             ("administrator", "statistician")),
    PageSpec("pages/scoreboard.py", "方案目标计分板", "Plan scoreboard", ":material/leaderboard:", "plan-scoreboard",
             ("statistician", "administrator")),
    PageSpec("pages/inspections.py", "抽检与行政数据", "Inspections and figures", ":material/fact_check:",
             "inspection-records", ("administrator",)),
    PageSpec("pages/admin.py", "系统管理", "Administration", ":material/admin_panel_settings:", "administration",
             ("administrator",)),
)
#: The only page while nobody is signed in.
SIGN_IN = PageSpec("pages/signin.py", "登录", "Sign in", ":material/login:", "sign-in", ROLES)


def main() -> None:
    st.set_page_config(page_title="放心消费调查 Survey", page_icon=":material/fact_check:", layout="centered")
    lang = language_selector()
    try:
        user = current_user()
    except SurveyAppError as exc:  # the accounts' database cannot be opened
        st.error(t("app.error_store", lang))
        st.caption(t("app.error_detail", lang, detail=exc))
        st.stop()
    # A reload is signed in again from the cookie (see survey_app.auth); keep it up to date.
    session_cookie()
    st.sidebar.caption(t("app.title", lang))
    if user is None:
        # Every page's address shows the sign-in form, so a link opened before signing in
        # works after it; none of the pages' own code is registered, let alone run.
        form = [st.Page(sign_in_form, title=_title(spec, lang), url_path=spec.url_path) for spec in PAGES]
        st.navigation([_page(SIGN_IN, lang, default=True), *form], position="hidden").run()
        return
    account_sidebar(user)
    # This session's navigation holds only the user's pages; each page checks again.
    mine = [spec for spec in PAGES if user.roles & set(spec.roles)]
    st.navigation([_page(spec, lang, default=index == 0) for index, spec in enumerate(mine)]).run()


def _page(spec: PageSpec, lang: str, *, default: bool = False) -> StreamlitPage:
    return st.Page(spec.path, title=_title(spec, lang), icon=spec.icon, url_path=spec.url_path, default=default)


def _title(spec: PageSpec, lang: str) -> str:
    return spec.title_zh if lang == "zh" else spec.title_en

main()
