"""The statistics page's estimate table in headless Chromium at tablet widths (issue 13).

On a 768 px portrait tablet (with the menu open, the narrowest table) and at 1280 px, the
verdict and the estimate must be in view without scrolling sideways, and every target's row
without scrolling down. The data grid draws on a canvas; the accessible table it keeps beside
it lists the columns in view, and its scroll area tells whether rows are hidden. The app is
started as in ``test_browser_interview``, on the demo data. Screenshots of the table are
written to the test's temporary directory.
"""
from __future__ import annotations

import pytest

from survey_app.auth import Accounts
from survey_app.demo import load_demo
from survey_app.i18n import t
from survey_app.pages import signin as signin_page  # noqa: F401  (registers the page's texts)
from survey_app.pages import statistics as statistics_page  # noqa: F401
from survey_app.store import ResponseStore
from tests.conftest import require_program
from tests.survey_app.review_helpers import FAST
from tests.survey_app.test_browser_interview import (  # noqa: F401 - `server` is a fixture
    ACTION_TIMEOUT,
    CHROMIUM_ARGS,
    LANDSCAPE,
    PORTRAIT,
    idle,
    server,
    sign_in,
)

pytestmark = pytest.mark.browser

PASSWORD = "a long statistician password"
# The demo's wave opens with its eleven targets.
DEMO_TARGETS = 11


def estimate_grid(page) -> dict:
    """Column headers in view, rows drawn, and the scroll area's sizes of the first table."""
    grid = page.get_by_test_id("stDataFrame").first
    grid.scroll_into_view_if_needed()
    page.wait_for_timeout(500)  # the grid draws after its size settles
    return grid.evaluate(
        """e => {
            const scroller = e.querySelector('.dvn-scroller');
            return {headers: Array.from(e.querySelectorAll('th')).map(h => h.textContent),
                    rows: e.querySelectorAll('tbody tr').length,
                    client: scroller.clientHeight, scroll: scroller.scrollHeight};
        }"""
    )


def test_verdict_estimate_and_every_row_are_in_view(server, tmp_path):
    chromium = require_program("chromium", candidates=("/usr/bin/chromium",))
    from playwright.sync_api import sync_playwright

    base, db_url = server
    accounts = Accounts(db_url, hasher=FAST)
    admin = accounts.create_first_administrator("chief", "correct horse battery")
    accounts.create_user(admin, "S01", PASSWORD, ["statistician"])
    accounts.close()
    store = ResponseStore(db_url)
    load_demo(store)
    store.close()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            page = browser.new_page(viewport=LANDSCAPE)
            page.set_default_timeout(ACTION_TIMEOUT * 3)  # the first estimates take a while on a shared machine
            page.goto(base)
            sign_in(page, username="S01", password=PASSWORD)
            page.get_by_test_id("stSidebarNav").get_by_text(t("statistics.title", "zh"), exact=True).click()
            page.get_by_role("heading", name=t("statistics.estimates", "zh")).wait_for()
            idle(page)
            for size in (LANDSCAPE, PORTRAIT):
                page.set_viewport_size(size)
                grid = estimate_grid(page)
                page.get_by_test_id("stDataFrame").first.screenshot(path=tmp_path / f"estimates_{size['width']}.png")
                assert grid["headers"][:3] == [
                    t("statistics.target", "zh"), t("statistics.verdict", "zh"), t("statistics.col_estimate", "zh"),
                ], size
                assert grid["rows"] == DEMO_TARGETS, size
                assert grid["scroll"] <= grid["client"], size  # no row hidden below the table's edge
        finally:
            browser.close()
