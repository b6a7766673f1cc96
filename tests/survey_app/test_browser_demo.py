"""Issue 13 in a real browser: on a tablet, beside real interviews, the statistician switches on
"显示演示数据", loads the demo into its own database, sees it labelled, switches back to the real
interviews alone, and removes the demo with one button; the real interviews are untouched.

The app runs under ``streamlit run`` (the ``server`` fixture of test_browser_interview.py); a
screenshot of the demonstration view is written to the test's temporary directory.
"""
from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from survey_app.auth import Accounts
from survey_app.demo import demo_database_exists
from survey_app.i18n import t
from survey_app.pages import dashboard as dashboard_page  # noqa: F401  (registers the page's texts)
from survey_app.pages import signin as signin_page  # noqa: F401
from survey_app.results import showing_demo  # noqa: F401  (registers the results texts)
from survey_app.store import ResponseStore
from tests.conftest import require_program
from tests.survey_app.test_browser_interview import (  # noqa: F401  (server is a fixture)
    ACTION_TIMEOUT,
    CHROMIUM_ARGS,
    PORTRAIT,
    idle,
    press,
    server,
    sign_in,
    snap,
)
from tests.survey_app.test_demo_pages import real_interviews

pytestmark = pytest.mark.browser

PASSWORD = "statistics-secret-26"


def test_the_demo_is_switched_on_loaded_labelled_and_removed_in_a_browser(server, tmp_path):
    chromium = require_program("chromium", candidates=("/usr/bin/chromium",))
    from playwright.sync_api import sync_playwright

    base, db_url = server
    accounts = Accounts(db_url, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    admin = accounts.create_first_administrator("chief", "correct horse battery")
    accounts.create_user(admin, "S01", PASSWORD, ["statistician"])
    accounts.close()
    real = real_interviews(21, 20)
    ResponseStore(db_url).import_interviews(real)
    banner = t("results.demo_view", "zh", n="{n}").split("（")[0]   # "**演示数据**：以下全部为合成的演示数据"
    banner = banner.replace("*", "")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            tablet = browser.new_page(viewport=PORTRAIT)
            tablet.set_default_timeout(ACTION_TIMEOUT * 6)   # loading the demo takes a while on a busy machine
            tablet.goto(base)
            sign_in(tablet, username="S01", password=PASSWORD)
            tablet.get_by_role("heading", name=t("dashboard.title", "zh")).wait_for()
            idle(tablet)
            main = tablet.locator('[data-testid="stMain"]')
            real_view = " ".join(main.inner_text().split())
            tablet.get_by_text(t("results.show_demo", "zh"), exact=True).click()
            idle(tablet)
            press(tablet, t("results.load_demo", "zh"))
            tablet.get_by_text(banner).wait_for()
            idle(tablet)
            snap(tablet, tmp_path / "demonstration.png")
            demo_view = " ".join(main.inner_text().split())
            assert demo_database_exists(db_url)
            tablet.get_by_text(t("results.show_demo", "zh"), exact=True).click()
            idle(tablet)
            back = " ".join(main.inner_text().split())
            tablet.get_by_text(t("results.show_demo", "zh"), exact=True).click()
            idle(tablet)
            press(tablet, t("results.remove_demo", "zh"))
            tablet.get_by_text("演示数据已删除").wait_for()
            idle(tablet)
            removed = " ".join(main.inner_text().split())
        finally:
            browser.close()
    assert not demo_database_exists(db_url)
    assert banner not in real_view and banner in demo_view and banner not in back
    counted = f"{t('dashboard.interviews', 'zh')} {len(real)} "   # the headline: the wave's interviews
    assert counted in real_view and counted in back and counted not in demo_view
    assert banner not in removed and counted in removed
    stored = ResponseStore(db_url).responses_frame(status="all")
    assert sorted(stored["interview_id"]) == sorted(i.interview_id for i in real)
