"""Issue 13 in a real browser: the dashboard of one and of two interviews, on a 768x1024 tablet,
says in Chinese that there are too few respondents instead of showing numbers, "nan" or codes.

The app runs under ``streamlit run`` (the ``server`` fixture of test_browser_interview.py); a
screenshot of each case is written to the test's temporary directory.
"""
from __future__ import annotations

import re

import pytest
from argon2 import PasswordHasher

from survey_app.auth import Accounts
from survey_app.i18n import t
from survey_app.pages import dashboard as dashboard_page  # noqa: F401  (registers the page's texts)
from survey_app.pages import signin as signin_page  # noqa: F401
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
from tests.survey_app.test_results_chinese import few_interviews

pytestmark = pytest.mark.browser

PASSWORD = "statistics-secret-26"


@pytest.mark.parametrize("count", [1, 2])
def test_dashboard_of_one_or_two_interviews_in_a_browser(server, tmp_path, count):
    chromium = require_program("chromium", candidates=("/usr/bin/chromium",))
    from playwright.sync_api import sync_playwright

    base, db_url = server
    accounts = Accounts(db_url, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    admin = accounts.create_first_administrator("chief", "correct horse battery")
    accounts.create_user(admin, "S01", PASSWORD, ["statistician"])
    accounts.close()
    few_interviews(db_url, count)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            tablet = browser.new_page(viewport=PORTRAIT)
            tablet.set_default_timeout(ACTION_TIMEOUT * 3)
            tablet.goto(base)
            sign_in(tablet, username="S01", password=PASSWORD)
            tablet.get_by_role("heading", name=t("dashboard.title", "zh")).wait_for()
            too_few = t("estimates.too_few", "zh", n=count, needed="30")
            tablet.get_by_text(too_few).wait_for()
            idle(tablet)
            snap(tablet, tmp_path / f"dashboard_{count}.png")
            text = tablet.locator('[data-testid="stMain"]').inner_text()
        finally:
            browser.close()
    assert too_few in text
    assert t("estimates.forest_all_too_few", "zh") in text
    assert not re.search(r"\bnan\b|\bNone\b|100\.0%|设计效应|sign_in_failed", text)
    assert not re.search(r"\b[A-Za-z]{3,}\s+[A-Za-z]{3,}\s+[A-Za-z]{3,}\b", text)
