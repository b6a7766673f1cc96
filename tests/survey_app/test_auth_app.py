"""Sign-in, roles and sessions in the running app (``streamlit.testing.v1.AppTest``).

Each test has its own SQLite file (``SURVEY_DB_URL``). Signed-in browser sessions are made
the way the sign-in page makes them: a session opened in the accounts database, its token
in the browser session's state (:func:`signed_in`), or by filling the sign-in form.
"""
from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import streamlit as st
from argon2 import PasswordHasher
from streamlit.testing.v1 import AppTest

import survey_app.pages.admin  # noqa: F401 - registers the page's texts
import survey_app.pages.signin  # noqa: F401
from survey_app.app import PAGES
from survey_app.auth import Accounts, AuthenticationError, Session, User, session_state_for
from survey_app.i18n import t
from survey_app.store import ResponseStore

PROJECT_ROOT = Path(__file__).parent.parent.parent
APP = PROJECT_ROOT / "survey_app" / "app.py"
PAGES_DIR = PROJECT_ROOT / "survey_app" / "pages"
TIMEOUT = 30
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
ADMIN_PASSWORD = "correct horse battery"
PASSWORD = "tablet-secret-2026"
FORM = "consumer_environment"


@pytest.fixture
def accounts(db_url):
    accounts = Accounts(db_url, hasher=FAST)
    yield accounts
    accounts.close()


@pytest.fixture
def admin(accounts) -> User:
    return accounts.create_first_administrator("chief", ADMIN_PASSWORD, display_name="Chief")


@pytest.fixture
def users(accounts, admin) -> dict[str, User]:
    made = {"administrator": admin}
    made["interviewer"] = accounts.create_user(admin, "A01", PASSWORD, ["interviewer"])
    made["interviewer2"] = accounts.create_user(admin, "A02", PASSWORD, ["interviewer"])
    made["statistician"] = accounts.create_user(admin, "S01", PASSWORD, ["statistician"])
    return made


def signed_in(accounts: Accounts, username: str, password: str = PASSWORD, *, script: Path = APP,
              query: dict | None = None, session: Session | None = None) -> AppTest:
    """A new browser session of ``username`` (signed in, nothing run yet)."""
    at = AppTest.from_file(str(script), default_timeout=TIMEOUT)
    session = session or accounts.sign_in(username, password)
    for key, value in session_state_for(session).items():
        at.session_state[key] = value
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at


def clean(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def all_text(at: AppTest) -> str:
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success"):
        parts += [str(element.value) for element in getattr(at, kind)]
    return "\n".join(parts)


def widget_keys(at: AppTest) -> set[str]:
    keys = set()
    for kind in ("button", "text_input", "radio", "selectbox", "multiselect", "number_input", "checkbox"):
        keys |= {widget.key for widget in getattr(at, kind) if widget.key}
    return keys


def button_labelled(at: AppTest, label: str):
    return next(button for button in at.button if button.label == label)


def pages_for(role: str) -> list[str]:
    return [spec.path for spec in PAGES if role in spec.roles]


# -- first start -----------------------------------------------------------------------------


def test_first_start_asks_for_the_first_administrator_and_shows_nothing_else(db_url):
    at = clean(AppTest.from_file(str(APP), default_timeout=TIMEOUT).run())
    assert t("signin.setup_title", "zh") in all_text(at)
    assert widget_keys(at) >= {"setup_username", "setup_password", "setup_again"}
    assert not {"start", "admin_prepare_backup"} & widget_keys(at)
    at.text_input(key="setup_username").input("chief")
    at.text_input(key="setup_display_name").input("王主任")
    at.text_input(key="setup_password").input(ADMIN_PASSWORD)
    at.text_input(key="setup_again").input(ADMIN_PASSWORD)
    clean(at.button[0].click().run())
    # Signed in as the new administrator.
    assert t("auth.signed_in_as", "zh", name="王主任", roles=t("auth.role_administrator", "zh")) in all_text(at)
    clean(at.switch_page("pages/admin.py").run())
    assert t("admin.title", "zh") in all_text(at)
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
        ((stored,),) = conn.execute("SELECT password_hash FROM auth_users").fetchall()
    assert stored.startswith("$argon2id$") and ADMIN_PASSWORD not in stored
    # Another browser now gets the sign-in form, not the first-start form.
    other = clean(AppTest.from_file(str(APP), default_timeout=TIMEOUT).run())
    assert t("signin.title", "zh") in all_text(other) and "setup_username" not in widget_keys(other)


def test_first_start_refuses_mismatched_or_weak_passwords(db_url):
    at = clean(AppTest.from_file(str(APP), default_timeout=TIMEOUT).run())
    at.text_input(key="setup_username").input("chief")
    at.text_input(key="setup_password").input(ADMIN_PASSWORD)
    at.text_input(key="setup_again").input("something else")
    clean(at.button[0].click().run())
    assert t("signin.mismatch", "zh") in all_text(at)
    at.text_input(key="setup_password").input("short")
    at.text_input(key="setup_again").input("short")
    clean(at.button[0].click().run())
    assert "at least 10" in all_text(at)
    assert Accounts(db_url, hasher=FAST).needs_setup()


# -- signing in and out ----------------------------------------------------------------------


def test_sign_in_form(accounts, users):
    at = clean(AppTest.from_file(str(APP), default_timeout=TIMEOUT).run())
    at.text_input(key="signin_username").input("A01")
    at.text_input(key="signin_password").input("wrong password!")
    clean(at.button[0].click().run())
    assert t("signin.wrong", "zh") in all_text(at)
    at.text_input(key="signin_password").input(PASSWORD)
    clean(at.button[0].click().run())
    assert "start" in widget_keys(at)  # the interviewing page
    assert t("auth.signed_in_as", "zh", name="A01", roles=t("auth.role_interviewer", "zh")) in all_text(at)


def test_sign_out_ends_the_session_on_the_server(accounts, users):
    session = accounts.sign_in("A01", PASSWORD)
    at = clean(signed_in(accounts, "A01", session=session).run())
    clean(at.button(key="_auth_sign_out").click().run())
    assert t("signin.title", "zh") in all_text(at)
    with pytest.raises(AuthenticationError, match="ended"):
        accounts.session_user(session.token)


def test_an_expired_session_goes_back_to_sign_in_and_keeps_the_draft(accounts, users, db_url):
    at = clean(signed_in(accounts, "A01").run())
    at.radio(key="_start_questionnaire").set_value(FORM)
    at.radio(key="_start_district").set_value("haimen")
    at.text_input(key="_start_psu").input("社区 1")
    clean(at.button(key="start").click().run())
    iid = at.query_params["interview"]
    # Two hours without activity.
    earlier = (datetime.now(timezone.utc) - timedelta(hours=2)).replace(tzinfo=None)
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
        conn.execute("UPDATE auth_sessions SET last_seen_at = ?", (earlier.isoformat(" "),))
    clean(at.run())
    assert t("auth.expired", "zh") in all_text(at)
    assert "start" not in widget_keys(at) and "nav_next" not in widget_keys(at)
    assert ResponseStore(db_url).get_interview(iid).status == "draft"


# -- what each role reaches --------------------------------------------------------------------


def forbidden(role: str, page: str) -> str:
    """The refusal an account with only ``role`` gets on ``page``."""
    needed = next(spec.roles for spec in PAGES if spec.path == f"pages/{page}")
    return t("auth.forbidden", "zh", roles=t(f"auth.role_{role}", "zh"),
             needed=", ".join(t(f"auth.role_{r}", "zh") for r in sorted(needed)))


def test_every_page_declares_its_roles():
    registered = {spec.path for spec in PAGES}
    on_disk = {f"pages/{path.name}" for path in PAGES_DIR.glob("*.py") if path.name not in ("__init__.py", "signin.py")}
    assert registered == on_disk, "every page file is in the menu list, with its roles"
    assert pages_for("interviewer") == ["pages/interview.py"]
    assert "pages/admin.py" in pages_for("administrator") and "pages/admin.py" not in pages_for("statistician")


@pytest.mark.parametrize("role", ["interviewer", "statistician", "administrator"])
def test_the_menu_offers_only_the_pages_of_the_role(accounts, users, role):
    password = ADMIN_PASSWORD if role == "administrator" else PASSWORD
    at = clean(signed_in(accounts, users[role].username, password).run())
    for spec in PAGES:
        if role in spec.roles:
            clean(at.switch_page(spec.path).run())
            assert not at.error and not at.warning, spec.path
        else:  # the page does not exist in this session's navigation
            with pytest.raises(ValueError, match="not a registered page|not registered|page"):
                at.switch_page(spec.path)


def test_signed_out_no_page_is_registered_only_the_sign_in_form(db_url, admin):
    """Before signing in no page's own code is even registered; every address shows the form."""
    at = clean(AppTest.from_file(str(APP), default_timeout=TIMEOUT).run())
    for spec in PAGES:
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(spec.path)
    assert {key for key in widget_keys(at) if not key.startswith("FormSubmitter")} == {
        "signin_username", "signin_password"}


PROTECTED = sorted(path.name for path in PAGES_DIR.glob("*.py") if path.name not in ("__init__.py", "signin.py"))


@pytest.mark.parametrize("page", [page for page in PROTECTED if page != "interview.py"])
def test_an_interviewer_running_a_results_export_or_admin_page_directly_is_refused(accounts, users, page):
    """The page file itself checks the role: no menu is needed to stop an interviewer."""
    at = clean(signed_in(accounts, "A01", script=PAGES_DIR / page).run())
    assert [element.value for element in at.error] == [forbidden("interviewer", page)]
    assert len(at.main.children) == 1, f"{page} drew more than the refusal"


@pytest.mark.parametrize("page", ["interview.py", "admin.py"])
def test_a_statistician_cannot_run_the_interview_or_admin_page(accounts, users, page):
    at = clean(signed_in(accounts, "S01", script=PAGES_DIR / page).run())
    assert [element.value for element in at.error] == [forbidden("statistician", page)]
    assert len(at.main.children) == 1


@pytest.mark.parametrize("page", PROTECTED)
def test_nobody_signed_in_reaches_any_page(db_url, admin, page):
    at = clean(AppTest.from_file(str(PAGES_DIR / page), default_timeout=TIMEOUT).run())
    assert [element.value for element in at.warning] == [t("auth.sign_in_first", "zh")]
    assert len(at.main.children) == 1


# -- interviewers see only their own interviews ----------------------------------------------


def test_interviewers_see_and_open_only_their_own_drafts(accounts, users, db_url):
    store = ResponseStore(db_url)
    own = store.start_interview(FORM, "1.0", interviewer="A01", district="haimen", psu="社区 1", wave="2026")
    other = store.start_interview(FORM, "1.0", interviewer="A02", district="rugao", psu="村 9", wave="2026")
    store.save_answer(other, "consent", "yes")
    at = clean(signed_in(accounts, "A01").run())
    assert f"resume_{own}" in widget_keys(at) and f"resume_{other}" not in widget_keys(at)
    # The code is the signed-in user's, whatever is typed.
    assert at.text_input(key="_start_interviewer").value == "A01"
    assert at.text_input(key="_start_interviewer").disabled

    opened = clean(signed_in(accounts, "A01", query={"interview": other}).run())
    assert "nav_next" not in widget_keys(opened)
    assert "A02" in all_text(opened)
    assert store.get_interview(other).answers == {"consent": "yes"}


def test_a_foreign_interview_cannot_be_changed_through_a_stale_widget(accounts, users, db_url):
    """Even a save callback (which runs before the page) checks whose interview it is."""
    store = ResponseStore(db_url)
    other = store.start_interview(FORM, "1.0", interviewer="A02", district="rugao", psu="村 9", wave="2026")
    at = clean(signed_in(accounts, "A02", query={"interview": other}).run())
    key = f"answer_{other}_consent"
    assert key in widget_keys(at)
    # The tablet is handed to A01 without reloading: A01 signs in in the same browser session.
    for name, value in session_state_for(accounts.sign_in("A01", PASSWORD)).items():
        at.session_state[name] = value
    at.radio(key=key).set_value("yes")
    clean(at.run())
    assert store.get_interview(other).answers == {}


# -- administration --------------------------------------------------------------------------


def test_administrator_creates_users_prepares_a_backup_and_reads_the_audit_log(accounts, admin, db_url):
    at = clean(signed_in(accounts, "chief", ADMIN_PASSWORD).run())
    clean(at.switch_page("pages/admin.py").run())
    at.text_input(key="admin_new_username").input("A07")
    at.text_input(key="admin_new_display").input("李四")
    at.text_input(key="admin_new_password").input("another secret 7")
    clean(button_labelled(at, t("admin.create", "zh")).click().run())
    assert accounts.get_user("A07").roles == {"interviewer"}
    clean(at.button(key="admin_prepare_backup").click().run())
    assert t("admin.prepared", "zh", n=0, submitted=0) in all_text(at)
    log = accounts.audit_log(admin)
    assert list(log["action"][:2]) == ["backup", "create_user"]
    assert (log.iloc[1]["actor"], log.iloc[1]["target"]) == ("chief", "A07")


# -- organisation sign-in --------------------------------------------------------------------

OIDC = {"survey_auth": {"oidc": True, "roles_claim": "groups",
                        "roles": {"statistician": ["survey-statisticians"], "interviewer": ["survey-interviewers"]}}}


def test_organisation_sign_in_maps_roles(db_url, admin):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.secrets = dict(OIDC)
    at.user = {"is_logged_in": True, "email": "wang.fang@nantong.example", "name": "王芳",
               "groups": ["survey-interviewers"], "iat": datetime.now(timezone.utc).timestamp()}
    clean(at.run())
    assert "start" in widget_keys(at)
    assert at.text_input(key="_start_interviewer").value == "wang.fang@nantong.example"


def test_organisation_sign_in_without_a_role_is_refused(db_url, admin):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.secrets = dict(OIDC)
    at.user = {"is_logged_in": True, "email": "visitor@example.com", "groups": ["everyone"],
               "iat": datetime.now(timezone.utc).timestamp()}
    clean(at.run())
    assert "no role" in all_text(at) and "start" not in widget_keys(at)


# -- a server restart in the middle of an interview -------------------------------------------


def test_a_server_restart_mid_interview_resumes_it_after_signing_in_again(accounts, users, db_url):
    at = clean(signed_in(accounts, "A01").run())
    at.radio(key="_start_questionnaire").set_value(FORM)
    at.radio(key="_start_district").set_value("haimen")
    at.text_input(key="_start_psu").input("社区 1")
    clean(at.button(key="start").click().run())
    iid = at.query_params["interview"]
    at.radio(key=f"answer_{iid}_consent").set_value("yes")
    clean(at.run())
    clean(at.button(key="nav_next").click().run())
    page = ResponseStore(db_url).get_interview(iid).page
    assert page > 0

    st.cache_resource.clear()  # the restarted server has no store, no accounts, no sessions in memory
    restarted = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    restarted.query_params["interview"] = iid
    clean(restarted.run())
    restarted.text_input(key="signin_username").input("A01")
    restarted.text_input(key="signin_password").input(PASSWORD)
    clean(restarted.button[0].click().run())
    if "nav_next" not in widget_keys(restarted):  # the URL lost the id: resume from the drafts list
        clean(restarted.button(key=f"resume_{iid}").click().run())
    assert restarted.query_params["interview"] == iid
    assert "nav_next" in widget_keys(restarted)
    draft = ResponseStore(db_url).get_interview(iid)
    assert draft.page == page and draft.answers["consent"] == "yes"
