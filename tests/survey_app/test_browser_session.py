"""Tablets stay signed in (issue 13): a reload mid-interview keeps the user signed in, in the real
browser (headless Chromium against ``streamlit run``, started as in ``test_browser_interview``).

The session token travels in a ``SameSite=Strict`` cookie, never in the URL; signing out ends the
session on the server and deletes the cookie, and a token copied from a signed-out browser is
refused by a fresh one. The device cookie lets the user's own browser sign in while a guesser
keeps the name waiting.
"""
from __future__ import annotations

import hashlib
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
from argon2 import PasswordHasher

from survey_app.assignments import AssignmentStore
from survey_app.auth import DEVICE_COOKIE, SESSION_COOKIE, AccountLockedError, Accounts, AuthenticationError
from survey_app.i18n import t
from tests.conftest import require_program
from tests.survey_app.test_browser_interview import (  # noqa: F401 - `server` is a fixture
    ACTION_TIMEOUT,
    ASSIGNED,
    CHROMIUM_ARGS,
    FORM,
    LANDSCAPE,
    PASSWORD,
    PORTRAIT,
    WAVE,
    choice,
    idle,
    on_screen,
    pick,
    press,
    selected,
    server,
    sign_in,
)

pytestmark = pytest.mark.browser


def session_cookie(context, name: str = SESSION_COOKIE) -> dict | None:
    return next((cookie for cookie in context.cookies() if cookie["name"] == name), None)


def sign_in_shown(page) -> bool:
    return page.get_by_role("heading", name=t("signin.title", "zh")).count() > 0


def test_a_reload_mid_interview_stays_signed_in_and_sign_out_ends_it(server):
    chromium = require_program("chromium", candidates=("/usr/bin/chromium",))
    from playwright.sync_api import sync_playwright

    base, db_url = server
    accounts = Accounts(db_url, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    admin = accounts.create_first_administrator("chief", "correct horse battery")
    accounts.create_user(admin, "T01", PASSWORD, ["interviewer"])
    AssignmentStore(db_url).save(ASSIGNED, wave=WAVE, seed=11, saved_by="chief")
    psu_option = t("interview.assigned_psu_option", "zh", psu="320684005", name="海门 5 村", done=0, n=15)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            context = browser.new_context(viewport=PORTRAIT)
            context.set_default_timeout(ACTION_TIMEOUT)
            tablet = context.new_page()
            tablet.goto(base)
            tablet.get_by_role("heading", name=t("signin.title", "zh")).wait_for()
            idle(tablet)
            sign_in(tablet)
            tablet.get_by_role("heading", name=t("interview.start_title", "zh")).wait_for()
            idle(tablet)
            for group, option in ((t("interview.questionnaire", "zh"), FORM.title.zh),
                                  (t("interview.assigned_district", "zh"), "海门区"),
                                  (t("interview.assigned_psu", "zh"), psu_option)):
                tablet.get_by_role("radiogroup", name=group).locator('[data-testid="stRadioOption"]').filter(
                    has_text=option).click()
                idle(tablet)
            press(tablet, t("interview.start", "zh"))
            on_screen(tablet, "intro")
            pick(tablet, "consent", "yes")
            press(tablet, t("interview.next", "zh"))
            on_screen(tablet, "respondent")
            pick(tablet, "sex", "female")

            cookie = session_cookie(context)
            assert cookie is not None and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
            token = cookie["value"]
            assert token not in tablet.url
            with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
                stored = {row[0] for row in conn.execute("SELECT token_sha256 FROM auth_sessions")}
            assert hashlib.sha256(token.encode()).hexdigest() in stored and token not in stored

            # The tablet reloads on its own: same screen, same answers, no password asked.
            tablet.reload()
            on_screen(tablet, "respondent")
            idle(tablet)
            assert not sign_in_shown(tablet)
            assert selected(tablet, "sex") == choice("sex", "female")
            # Any other address of the app, opened in another tab, is signed in too.
            other_tab = context.new_page()
            other_tab.goto(base)
            other_tab.get_by_role("heading", name=t("interview.start_title", "zh")).wait_for()
            assert not sign_in_shown(other_tab)
            other_tab.close()

            # Signing out ends the session: a reload then asks for the password.
            tablet.set_viewport_size(LANDSCAPE)  # the sidebar with the sign-out button is open
            press(tablet, t("auth.sign_out", "zh"))
            tablet.get_by_role("heading", name=t("signin.title", "zh")).wait_for()
            tablet.reload()
            tablet.get_by_role("heading", name=t("signin.title", "zh")).wait_for()
            idle(tablet)
            assert session_cookie(context) is None  # deleted in the browser as well

            # Someone guesses T01's password elsewhere until the name must wait; this browser,
            # where T01 signed in before (device cookie, kept), still signs in at once.
            device = session_cookie(context, DEVICE_COOKIE)
            assert device is not None and device["sameSite"] == "Strict"
            for _ in range(accounts.max_failures):
                with pytest.raises(AuthenticationError):
                    accounts.sign_in("T01", "a wrong guess!")
            with pytest.raises(AccountLockedError):
                accounts.sign_in("T01", PASSWORD)
            later = (datetime.now(timezone.utc) + timedelta(minutes=10)).replace(tzinfo=None)
            with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:  # as after many more guesses
                conn.execute("UPDATE auth_throttle SET next_attempt_at = ? WHERE name = 't01'", (later.isoformat(" "),))
            sign_in(tablet)
            on_screen(tablet, "respondent")  # the address still names the interview
            context.close()

            # The token copied from the signed-out browser does not work in a fresh one.
            thief = browser.new_context(viewport=LANDSCAPE)
            thief.set_default_timeout(ACTION_TIMEOUT)
            thief.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": base}])
            page = thief.new_page()
            page.goto(base)
            page.get_by_role("heading", name=t("signin.title", "zh")).wait_for()
            idle(page)
            assert page.get_by_role("heading", name=t("interview.start_title", "zh")).count() == 0
            # Even the right password waits in a browser T01 never signed in from.
            sign_in(page)
            page.get_by_text(t("auth.throttled", "zh", seconds=0).split("0")[0]).wait_for()
            assert page.get_by_role("heading", name=t("interview.start_title", "zh")).count() == 0
            thief.close()
        finally:
            browser.close()
