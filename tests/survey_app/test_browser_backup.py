"""The administrator's backup download and restore through the real app in headless Chromium.

Streamlit serves download-button files under ``/media/<id>`` URLs that check no session: with
the backup's bytes handed to the button, a copy of the whole database (password hashes
included) was reachable without the session cookie for as long as the page was open. The
page now makes the file only when the button is clicked (deferred data) and has Streamlit forget
it seconds later. The test checks, on a real ``streamlit run``, that no ``/media/`` URL reaches
the browser before the click, that the click downloads a genuine backup, and that soon after,
with no further page run, a request for the file's URL without cookies is refused. It then uploads a crafted backup (a planted
administrator and a trigger) and checks that the page refuses it and the database is unchanged.
"""
from __future__ import annotations

import shutil
import sqlite3
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from survey_app.auth import Accounts
from survey_app.backup import backup_database, sqlite_path
from survey_app.i18n import t
from survey_app.pages import admin as admin_page  # noqa: F401  (registers the page's texts)
from survey_app.pages import signin as signin_page  # noqa: F401
from survey_app.store import ResponseStore
from survey_app.ui import DOWNLOAD_LIFETIME_SECONDS
from tests.conftest import require_program
from tests.survey_app.review_helpers import ADMIN_PASSWORD, FAST
from tests.survey_app.test_browser_interview import CHROMIUM_ARGS, idle, server, sign_in  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

ACTION_TIMEOUT = 20_000  # milliseconds


def media_status(base: str, path: str) -> int:
    """HTTP status of a GET of ``path`` with no cookie and no session."""
    try:
        with urllib.request.urlopen(base + path, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_backup_download_is_made_on_click_and_not_left_reachable(server, tmp_path):  # noqa: F811
    chromium = require_program("chromium", candidates=("/usr/bin/chromium",))
    sync_api = pytest.importorskip("playwright.sync_api")
    base, db_url = server
    accounts = Accounts(db_url, hasher=FAST)
    accounts.create_first_administrator("chief", ADMIN_PASSWORD, display_name="Chief")
    accounts.close()
    store = ResponseStore(db_url)
    store.start_interview("consumer_environment", "1", interviewer="A01", district="haimen", psu="P1", wave="2026")
    store.close()
    # A crafted backup: a genuine one with a planted administrator and a trigger.
    crafted = tmp_path / "crafted.db"
    shutil.copy(backup_database(tmp_path / "genuine.db", url=db_url).path, crafted)
    with sqlite3.connect(crafted) as conn:
        conn.execute("INSERT INTO auth_users SELECT 'mallory', 'Mallory', roles, password_hash, source, active, "
                     "failed_attempts, locked_until, created_at, updated_at FROM auth_users WHERE username = 'chief'")
        conn.execute("CREATE TRIGGER keep_mallory AFTER INSERT ON auth_sessions "
                     "BEGIN UPDATE auth_users SET active = 1 WHERE username = 'mallory'; END")
    conn.close()

    frames: list[str] = []  # what the server sent over the page's websocket

    def watch(socket) -> None:
        socket.on("framereceived", lambda payload: frames.append(
            payload.decode("latin-1") if isinstance(payload, bytes) else payload))

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            page = browser.new_page(accept_downloads=True)
            page.set_default_timeout(ACTION_TIMEOUT)
            page.on("websocket", watch)
            page.goto(base)
            page.get_by_role("heading", name=t("signin.title", "zh")).wait_for()
            sign_in(page, username="chief", password=ADMIN_PASSWORD)
            # by the menu, in the same browser session (the menu entry is the page's title); the
            # page shown first (the questionnaires) offers downloads of its own
            frames.clear()
            page.get_by_test_id("stSidebarNav").get_by_text(t("admin.title", "zh"), exact=True).click()
            page.get_by_role("heading", name=t("admin.title", "zh")).wait_for()
            idle(page)
            page.get_by_test_id("stTab").filter(has_text=t("admin.tab_backups", "zh")).click()
            button = page.get_by_role("button", name=t("admin.download", "zh"))
            button.wait_for()
            idle(page)
            assert frames, "the websocket frames were not seen"
            assert any("admin_download_backup" in frame for frame in frames)
            assert not any("/media/" in frame for frame in frames)  # nothing to download before the click

            with page.expect_download() as started:
                button.click()
            download = started.value
            saved = tmp_path / "downloaded.db"
            download.save_as(saved)
            idle(page)
            with sqlite3.connect(f"file:{saved}?mode=ro", uri=True) as conn:
                assert conn.execute("SELECT username FROM auth_users").fetchall() == [("chief",)]
                assert conn.execute("SELECT COUNT(*) FROM interviews").fetchone() == (1,)
            media = urllib.parse.urlsplit(download.url).path
            assert media.startswith("/media/")
            # Soon after the click, with no further page run, the link no longer works.
            deadline = time.monotonic() + DOWNLOAD_LIFETIME_SECONDS + 10
            while media_status(base, media) != 404:
                assert time.monotonic() < deadline, f"{media} is still served without a session"
                time.sleep(1)

            page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(crafted))
            page.get_by_text(t("admin.refused_trigger", "zh", name="keep_mallory")).wait_for()
            page.get_by_text(t("admin.refused_note", "zh")).wait_for()
        finally:
            browser.close()

    accounts = Accounts(db_url, hasher=FAST)
    assert [user.username for user in accounts.users(accounts.get_user("chief"))] == ["chief"]
    log = accounts.audit_log(accounts.get_user("chief"))
    assert {"backup", "restore_refused"} <= set(log["action"])
    accounts.close()
    with sqlite3.connect(sqlite_path(db_url)) as conn:
        assert conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall() == []
