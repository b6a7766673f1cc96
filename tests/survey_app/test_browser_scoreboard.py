"""Issue 19 in a real browser: the plan scoreboard opens without error on a 1280x800 screen and
lists every part of the plan, with an inspection pass rate, an administrative figure and "no data
yet" for the rest. A screenshot is written to the test's temporary directory.
"""
from __future__ import annotations

import re
from datetime import date

import pytest

from survey_app.admin_figures import FiguresStore, set_figure
from survey_app.i18n import t
from survey_app.inspections import InspectionStore, import_inspections
from survey_app.scoreboard import PLAN_PARTS
from tests.survey_app.test_browser_interview import (  # noqa: F401  (server is a fixture)
    ACTION_TIMEOUT,
    LANDSCAPE,
    idle,
    add_statistician,
    chromium_browser,
    server,
    signed_in_page,
    snap,
)

pytestmark = pytest.mark.browser

def test_the_scoreboard_opens_in_a_browser(server, tmp_path):
    base, db_url = server
    add_statistician(db_url)
    rows = "".join(f"F{i},food,chongchuan,2026-03-{1 + i % 28:02d},pass,\n" for i in range(80))
    import_inspections(InspectionStore(db_url), ("sample_id,category,district,date,result,failed_item\n" + rows)
                       .encode(), "food.csv", actor="chief")
    set_figure(FiguresStore(db_url), "bank_participation_rate", numerator=41, denominator=60,
               as_of=date(2026, 6, 30), source="市金融办统计表", actor="chief")
    with chromium_browser() as browser:
        screen = signed_in_page(browser, base, LANDSCAPE, timeout=ACTION_TIMEOUT * 3)
        idle(screen)
        screen.get_by_role("link", name="方案目标计分板").click()
        screen.get_by_role("heading", name=t("scoreboard.title", "zh")).wait_for()
        for _, heading, _ in PLAN_PARTS:
            screen.get_by_role("heading", name=heading).wait_for()
        idle(screen)
        screen.locator('[data-testid="stDataFrame"]').nth(len(PLAN_PARTS) - 1).wait_for()
        screen.wait_for_timeout(500)  # the grids draw their cells after the element appears
        snap(screen, tmp_path / "scoreboard.png")
        text = screen.locator('[data-testid="stMain"]').inner_text()
        exceptions = screen.locator('[data-testid="stException"]').count()
        grids = screen.locator('[data-testid="stDataFrame"]').count()
    assert exceptions == 0
    assert grids == len(PLAN_PARTS)
    assert t("scoreboard.intro", "zh")[:20] in text
    assert not re.search(r"\bnan\b|\bNone\b|Traceback", text)
