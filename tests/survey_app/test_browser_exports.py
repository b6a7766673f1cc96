"""The export page in headless Chromium: a statistician downloads the SPSS file of the interviews.

The file is made only at the click (nothing at a /media/ URL before it), is a labelled .sav of
the stored interviews, the export is audited, and Streamlit forgets the file seconds later (its
/media/ URL checks no session), as the backup download.
"""
from __future__ import annotations

import time
import urllib.parse

import numpy as np
import pyreadstat
import pytest

from survey_app.auth import Accounts
from survey_app.i18n import t
from survey_app.store import ResponseStore
from survey_app.ui import DOWNLOAD_LIFETIME_SECONDS
from tests.conftest import require_program
from tests.survey_app.review_helpers import FAST, PASSWORD, make_interviews, make_users, stored
from tests.survey_app.test_browser_backup import media_status
from tests.survey_app.test_browser_interview import CHROMIUM_ARGS, idle, server, sign_in  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

ACTION_TIMEOUT = 60_000  # milliseconds: the results pages read the interviews on first view


def test_a_statistician_downloads_a_labelled_sav_made_at_the_click(server, tmp_path):  # noqa: F811
    chromium = require_program("chromium", candidates=("/usr/bin/chromium",))
    sync_api = pytest.importorskip("playwright.sync_api")
    base, db_url = server
    store = ResponseStore(db_url)
    stored(store, make_interviews("telecom_users", np.random.default_rng(7), per_psu=3))
    rows = len(store.responses_frame())
    store.close()
    accounts = Accounts(db_url, hasher=FAST)
    make_users(accounts)
    accounts.close()

    frames: list[str] = []   # what the server sent over the page's websocket

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
            sign_in(page, username="S01", password=PASSWORD)
            page.get_by_test_id("stSidebarNav").get_by_text(t("export_data.title", "zh"), exact=True).click()
            page.get_by_role("heading", name=t("export_data.title", "zh")).wait_for()
            button = page.get_by_role("button", name=t("export_data.download", "zh"))
            button.wait_for()
            idle(page)
            assert any("export_data_download" in frame for frame in frames)
            assert not any("/media/" in frame for frame in frames)   # nothing made before the click
            with page.expect_download() as started:
                button.click()
            download = started.value
            assert download.suggested_filename.endswith("_DEMO_演示.sav")
            saved = tmp_path / "downloaded.sav"
            download.save_as(saved)
            media = urllib.parse.urlsplit(download.url).path
            assert media.startswith("/media/")
            deadline = time.monotonic() + DOWNLOAD_LIFETIME_SECONDS + 10
            while media_status(base, media) != 404:
                assert time.monotonic() < deadline, f"{media} is still served without a session"
                time.sleep(1)
        finally:
            browser.close()

    data, meta = pyreadstat.read_sav(saved)
    assert len(data) == rows and set(data["questionnaire_id"]) == {"telecom_users"}
    assert meta.column_names_to_labels["sex"] == "性别"
    assert meta.variable_value_labels["sex"] == {1: "男", 2: "女", -99: "未问（跳答）", -98: "未回答"}
    accounts = Accounts(db_url, hasher=FAST)
    log = accounts.audit_log(accounts.get_user("chief"))
    accounts.close()
    exports = log[log["action"] == "export"]
    assert list(exports["actor"]) == ["S01"] and '"contact_details": "remove"' in exports["detail"].iloc[0]
