"""Sign-in, roles and sessions in the running app (``streamlit.testing.v1.AppTest``).

Each test has its own SQLite file (``SURVEY_DB_URL``). Signed-in browser sessions are made
the way the sign-in page makes them: a session opened in the accounts database, its token
in the browser session's state (:func:`signed_in`), or by filling the sign-in form.
"""
from __future__ import annotations

import re
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
from survey_app.auth import AccountLockedError, Accounts, AuthenticationError, Session, User, session_state_for
from survey_app.i18n import t
from survey_app.store import ResponseStore
from survey_app.ui import md_text

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
    assert not {"start"} & widget_keys(at) and not at.download_button
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
    # Changed on purpose: the refusal is in the interface language (it was an English sentence).
    assert [e.value for e in at.error] == [
        t("signin.invalid", "zh", detail=t("auth.password_short", "zh", n=5, min=10))]
    assert Accounts(db_url, hasher=FAST).needs_setup()


def only_chinese(text: str) -> bool:
    """No English word in ``text`` (example passwords such as qwertyuiop aside)."""
    words = set(re.findall(r"[A-Za-z]{3,}", text)) - {"password", "qwertyuiop"}
    return not words


@pytest.mark.parametrize(
    ("password", "key"),
    [("password12", "auth.password_common"), ("1234567890", "auth.password_sequence"),
     ("qwertyuiop", "auth.password_sequence"), ("chief-2026-admin", "auth.password_username"),
     ("abcabcabcabc", "auth.password_repeats")],
)
def test_first_start_explains_the_rule_and_refuses_in_chinese(db_url, password, key):
    at = clean(AppTest.from_file(str(APP), default_timeout=TIMEOUT).run())
    rule = t("auth.password_rule", "zh", min=10)
    assert at.text_input(key="setup_password").help == rule and at.text_input(key="setup_again").help == rule
    assert rule in all_text(at)  # the whole rule, before anything is typed
    at.text_input(key="setup_username").input("chief")
    at.text_input(key="setup_password").input(password)
    at.text_input(key="setup_again").input(password)
    clean(at.button[0].click().run())
    assert [e.value for e in at.error] == [t("signin.invalid", "zh", detail=t(key, "zh"))]
    assert only_chinese(at.error[0].value)
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


def test_sign_in_form_throttles_known_and_unknown_names_alike_in_chinese(accounts, users, db_url):
    """A name with too many wrong passwords waits; the message does not tell whether it exists."""
    for name in ("A01", "nobody"):
        for _ in range(accounts.max_failures):
            with pytest.raises(AuthenticationError):
                accounts.sign_in(name, "wrong password!")
    later = (datetime.now(timezone.utc) + timedelta(minutes=10)).replace(tzinfo=None)
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:  # as after many more failures
        conn.execute("UPDATE auth_throttle SET next_attempt_at = ? WHERE name IN ('a01', 'nobody')",
                     (later.isoformat(" "),))
    shown = {}
    for name in ("A01", "nobody"):
        at = clean(AppTest.from_file(str(APP), default_timeout=TIMEOUT).run())
        at.text_input(key="signin_username").input(name)
        at.text_input(key="signin_password").input(PASSWORD)
        clean(at.button[0].click().run())
        assert "start" not in widget_keys(at)
        (shown[name],) = [e.value for e in at.error]
    assert re.sub(r"\d+", "N", shown["A01"]) == re.sub(r"\d+", "N", shown["nobody"]) == re.sub(
        r"\d+", "N", t("auth.throttled", "zh", seconds=600))
    assert only_chinese(shown["A01"])


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
    assert "A02" not in all_text(opened)  # the owner is not revealed (tests/survey_app/test_markdown_escaping.py)
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


def test_administrator_creates_users_is_offered_a_backup_and_reads_the_audit_log(accounts, admin, db_url):
    at = clean(signed_in(accounts, "chief", ADMIN_PASSWORD).run())
    clean(at.switch_page("pages/admin.py").run())
    at.text_input(key="admin_new_username").input("A07")
    at.text_input(key="admin_new_display").input("李四")
    at.text_input(key="admin_new_password").input("another secret 7")
    clean(button_labelled(at, t("admin.create", "zh")).click().run())
    assert accounts.get_user("A07").roles == {"interviewer"}
    assert [button.proto.id.endswith("admin_download_backup") for button in at.download_button] == [True]
    log = accounts.audit_log(admin)  # the backup is made, and audited, only when downloaded (test_backup.py)
    assert list(log["action"][:1]) == ["create_user"]
    assert (log.iloc[0]["actor"], log.iloc[0]["target"]) == ("chief", "A07")


def test_the_user_table_shows_a_user_created_in_the_same_click(accounts, admin):
    """Issue: the table showed the state before the last action (a new user appeared one rerun later)."""
    at = clean(signed_in(accounts, "chief", ADMIN_PASSWORD).run())
    clean(at.switch_page("pages/admin.py").run())
    at.text_input(key="admin_new_username").input("A07")
    at.text_input(key="admin_new_password").input("another secret 7")
    clean(button_labelled(at, t("admin.create", "zh")).click().run())
    assert list(at.dataframe[0].value[t("admin.col_username", "zh")]) == ["A07", "chief"]
    # The same for a change made in the edit form: disabling shows at once.
    at.selectbox(key="admin_edit_user").set_value("A07")
    clean(at.run())
    at.checkbox(key="admin_edit_active_A07").uncheck()
    clean(button_labelled(at, t("admin.save", "zh")).click().run())
    table = at.dataframe[0].value.set_index(t("admin.col_username", "zh"))
    assert not table.loc["A07", t("admin.col_active", "zh")]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_administration_password_fields_explain_the_rule_and_refuse_in_the_language(accounts, admin, lang):
    at = clean(signed_in(accounts, "chief", ADMIN_PASSWORD, query={"lang": lang}).run())
    clean(at.switch_page("pages/admin.py").run())
    rule = t("auth.password_rule", lang, min=10)
    assert at.text_input(key="admin_new_password").help == rule
    assert at.text_input(key="admin_edit_password_chief").help == rule
    for password, key in (("qwertyuiop", "auth.password_sequence"), ("password12", "auth.password_common")):
        at.text_input(key="admin_new_username").input("A07")
        at.text_input(key="admin_new_password").input(password)
        clean(button_labelled(at, t("admin.create", lang)).click().run())
        # the reason (which may quote what was typed) is literal text, not Markdown
        assert [e.value for e in at.error] == [t("admin.invalid", lang, detail=md_text(t(key, lang)))]
    at.text_input(key="admin_new_username").input("chief")
    at.text_input(key="admin_new_password").input("another secret 7")
    clean(button_labelled(at, t("admin.create", lang)).click().run())
    assert [e.value for e in at.error] == [
        t("admin.invalid", lang, detail=md_text(t("auth.username_taken", lang, username="chief")))]
    if lang == "zh":
        assert only_chinese(at.error[0].value.replace("chief", ""))


def test_administrator_clears_a_sign_in_wait_on_the_page(accounts, users):
    for _ in range(accounts.max_failures):
        with pytest.raises(AuthenticationError):
            accounts.sign_in("A01", "wrong password!")
    with pytest.raises(AccountLockedError):
        accounts.sign_in("A01", PASSWORD)
    at = clean(signed_in(accounts, "chief", ADMIN_PASSWORD).run())
    clean(at.switch_page("pages/admin.py").run())
    at.selectbox(key="admin_edit_user").set_value("A01")
    clean(at.run())
    at.checkbox(key="admin_edit_unlock_A01").check()
    clean(button_labelled(at, t("admin.save", "zh")).click().run())
    assert t("admin.saved", "zh", name="A01") in all_text(at)
    accounts.sign_in("A01", PASSWORD)


def test_administrator_sets_the_session_limits(accounts, admin, db_url):
    at = clean(signed_in(accounts, "chief", ADMIN_PASSWORD).run())
    clean(at.switch_page("pages/admin.py").run())
    assert at.number_input(key="admin_idle_minutes").value == 60
    assert at.number_input(key="admin_absolute_hours").value == 12
    at.number_input(key="admin_idle_minutes").set_value(30)
    at.number_input(key="admin_absolute_hours").set_value(8)
    clean(button_labelled(at, t("admin.sessions_save", "zh")).click().run())
    assert t("admin.sessions_saved", "zh", idle=30, hours=8) in all_text(at)
    other_server = Accounts(db_url, hasher=FAST)  # stored in the database, not in this process
    assert other_server.session_limits() == (timedelta(minutes=30), timedelta(hours=8))
    other_server.close()
    at.number_input(key="admin_idle_minutes").set_value(2)
    clean(button_labelled(at, t("admin.sessions_save", "zh")).click().run())
    assert [e.value for e in at.error] == [
        t("admin.invalid", "zh", detail=t("auth.idle_timeout_range", "zh", low=5, high=1440))]


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
    # Changed on purpose: the refusal is in the interface language (it was English).
    refusal = t("auth.oidc_refused", "zh", detail=t("auth.oidc_no_role", "zh", username="visitor@example.com"))
    assert refusal in all_text(at) and "start" not in widget_keys(at)


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
