"""Issue 15 in a real browser: with the two demonstration waves, the dashboard's target card says the
change since 2025 with its interval (an arrow when significant), and the district chart shows each
district's difference from the rest of the city with the Holm note, on a 1280x800 screen and a
768x1024 tablet. Screenshots are written to the test's temporary directory (and to
``$CHANGE_SCREENSHOTS`` when that is set)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from survey_app.demo import load_demo_database
from survey_app.i18n import t
from survey_app.pages import dashboard as dashboard_page  # noqa: F401  (registers the page's texts)
from survey_app.results import showing_demo  # noqa: F401  (registers the results texts)
from tests.survey_app.test_browser_interview import (  # noqa: F401  (server is a fixture)
    ACTION_TIMEOUT,
    LANDSCAPE,
    PORTRAIT,
    idle,
    add_statistician,
    chromium_browser,
    element_shot,
    server,
    signed_in_page,
)

pytestmark = pytest.mark.browser

def shot(element, path: Path) -> None:
    element_shot(element, path, copy_to="CHANGE_SCREENSHOTS")


def test_the_dashboard_shows_the_change_and_the_district_differences(server, tmp_path):
    base, db_url = server
    add_statistician(db_url)
    load_demo_database(db_url)
    seen = {}
    with chromium_browser() as browser:
        for name, viewport in (("desktop", LANDSCAPE), ("tablet", PORTRAIT)):
            page = signed_in_page(browser, base, viewport, timeout=ACTION_TIMEOUT * 6)
            page.get_by_role("heading", name=t("dashboard.title", "zh")).wait_for()
            idle(page)
            page.get_by_text(t("results.show_demo", "zh"), exact=True).click()
            idle(page)
            card = page.locator(".st-key-card_consumer_environment_satisfaction")
            change = page.locator(".st-key-change_consumer_environment_satisfaction")
            districts = page.locator(".st-key-district_differences")
            trend = page.locator(".st-key-trend_chart")
            for part in (change, districts, trend):
                part.wait_for()
            for part in (districts, trend):
                part.locator('[data-testid="stVegaLiteChart"] canvas, '
                             '[data-testid="stVegaLiteChart"] svg').first.wait_for()
            page.wait_for_timeout(800)
            shot(card, tmp_path / f"change_card_{name}.png")
            shot(districts, tmp_path / f"district_differences_{name}.png")
            shot(trend, tmp_path / f"trend_{name}.png")
            seen[name] = {"change": " ".join(change.inner_text().split()),
                          "districts": " ".join(districts.inner_text().split()),
                          "main": page.locator('[data-testid="stMain"]').inner_text(),
                          "exceptions": page.locator('[data-testid="stException"]').count()}
            page.close()
    for name, text in seen.items():
        assert text["exceptions"] == 0, name
        # the demo's satisfaction rose by 7.1 points from 2025, significantly: words and an arrow
        assert re.search(r"▲ 较 2025 轮：\+\d+\.\d 个百分点（95% 置信区间 \+\d+\.\d 至 \+\d+\.\d+），显著上升",
                         text["change"]), text["change"]
        assert "Holm" in text["districts"] and "该区县减去全市其余地区" in text["districts"]
        assert not re.search(r"\bnan\b|\bNone\b|Traceback", text["main"])
