"""The Statistics and Frequencies pages in Chinese in headless Chromium on a 768 × 1024 tablet
(issue 13), with two interviews and with the demo data: no empty cell reads "None", no
English source of the demonstration margins, too few respondents said in words.

The app is started as in ``test_browser_interview``. The data grid draws its cells on a canvas
(its accessible table leaves a missing cell empty), so the texts drawn are recorded as they are
drawn. Screenshots of each page and its grids are written to the test's temporary directory (or
to ``SURVEY_SCREENSHOTS`` when set).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from survey_app.auth import Accounts
from survey_app.demo import load_demo
from survey_app.i18n import t
from survey_app.pages import frequencies as frequencies_page  # noqa: F401  (registers the page's texts)
from survey_app.pages import signin as signin_page  # noqa: F401
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
from tests.survey_app.test_results_chinese import few_interviews

pytestmark = pytest.mark.browser

PASSWORD = "a long statistician password"


# The data grid draws on a canvas and its accessible table leaves a missing cell empty, so the
# texts the page draws are recorded as they are drawn.
RECORD_DRAWN_TEXT = """
window.__drawn = new Set();
const fillText = CanvasRenderingContext2D.prototype.fillText;
CanvasRenderingContext2D.prototype.fillText = function (text, ...rest) {
    window.__drawn.add(String(text));
    return fillText.call(this, text, ...rest);
};
"""


def drawn_texts(page) -> set[str]:
    """Every text drawn on a canvas since the last call (the data grids' cells and headers)."""
    return set(page.evaluate("() => { const d = Array.from(window.__drawn); window.__drawn.clear(); return d; }"))


def grid_cells(page) -> list[list[str]]:
    """The cells of every data grid on the page, as its accessible table holds them."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('[data-testid="stDataFrame"]')).map(
            g => Array.from(g.querySelectorAll('td')).map(c => c.textContent))"""
    )


def screenshots(page, folder: Path, name: str) -> None:
    """The page's top and each of its data grids, scrolled into view (the page scrolls inside the app)."""
    page.screenshot(path=folder / f"{name}.png")
    grids = page.get_by_test_id("stDataFrame")
    for i in range(min(grids.count(), 4)):
        grids.nth(i).scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        page.screenshot(path=folder / f"{name}_{i}.png")


def open_page(page, title: str, heading: str) -> None:
    """Open a page from the menu (in landscape, where the menu shows), then turn the tablet upright."""
    page.set_viewport_size(LANDSCAPE)
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    page.get_by_role("heading", name=heading).first.wait_for()
    idle(page)
    page.set_viewport_size(PORTRAIT)
    page.wait_for_timeout(1000)  # the grids draw after their size settles


@pytest.mark.parametrize("data", ["two", "demo"])
def test_statistics_and_frequencies_in_chinese_on_a_tablet(server, tmp_path, data):
    chromium = require_program("chromium", candidates=("/usr/bin/chromium",))
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("SURVEY_SCREENSHOTS", tmp_path))
    base, db_url = server
    accounts = Accounts(db_url, hasher=FAST)
    admin = accounts.create_first_administrator("chief", "correct horse battery")
    accounts.create_user(admin, "S01", PASSWORD, ["statistician"])
    accounts.close()
    if data == "demo":
        store = ResponseStore(db_url)
        load_demo(store)
        store.close()
    else:
        few_interviews(db_url, 2)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            page = browser.new_page(viewport=LANDSCAPE)
            page.add_init_script(RECORD_DRAWN_TEXT)
            page.set_default_timeout(ACTION_TIMEOUT * 3)  # the first estimates take a while on a shared machine
            page.goto(base)
            sign_in(page, username="S01", password=PASSWORD)
            open_page(page, t("statistics.title", "zh"), t("statistics.estimates", "zh"))
            screenshots(page, shots, f"statistics_{data}")
            statistics_text = page.get_by_test_id("stMain").inner_text()
            statistics_cells = grid_cells(page)
            statistics_drawn = drawn_texts(page)  # and from here on, the frequency tables
            open_page(page, t("frequencies.title", "zh"), t("frequencies.title", "zh"))
            screenshots(page, shots, f"frequencies_{data}")
            frequencies_drawn = drawn_texts(page)
        finally:
            browser.close()
    for drawn in (statistics_drawn, frequencies_drawn):
        assert "None" not in drawn and t("estimates.missing", "zh") in drawn
    assert "DEMONSTRATION" not in statistics_text and "Choose an option" not in statistics_text
    if data == "two":  # the target of the two interviews says why it has no estimate
        assert t("statistics.too_few_cell", "zh", n=2, needed="30") in statistics_cells[0] + statistics_cells[1]
    else:
        assert t("statistics.margins_demo_source", "zh") in statistics_text
