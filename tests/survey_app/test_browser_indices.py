"""Issue 16 in a real browser: with the demonstration data, the dashboard shows the plan's index
cards (the tourist satisfaction index with its verdict against 80 points, the consumption
environment index with its four dimensions and their change since the previous wave) and the
"where to act" chart naming rights protection, on a 1280x800 screen and a 768x1024 tablet.

Screenshots of both parts are written to the test's temporary directory (and to
``$INDEX_SCREENSHOTS`` when that is set).
"""
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
    element_shot(element, path, copy_to="INDEX_SCREENSHOTS")


def test_the_dashboard_shows_the_indices_and_where_to_act(server, tmp_path):
    base, db_url = server
    add_statistician(db_url)
    load_demo_database(db_url)   # what the page's "load" button does, done before the browser opens
    seen = {}
    with chromium_browser() as browser:
        for name, viewport in (("desktop", LANDSCAPE), ("tablet", PORTRAIT)):
            page = signed_in_page(browser, base, viewport, timeout=ACTION_TIMEOUT * 6)
            page.get_by_role("heading", name=t("dashboard.title", "zh")).wait_for()
            idle(page)
            page.get_by_text(t("results.show_demo", "zh"), exact=True).click()   # each new session
            idle(page)
            page.get_by_role("heading", name=t("indices.title", "zh")).wait_for()
            tourist = page.locator(".st-key-index_tourist_satisfaction_acsi")
            environment = page.locator(".st-key-index_consumption_environment_index")
            act = page.locator(".st-key-where_to_act")
            for part in (tourist, environment, act):
                part.wait_for()
            for part in (tourist, environment, act):   # every chart drawn
                part.locator('[data-testid="stVegaLiteChart"] canvas, '
                             '[data-testid="stVegaLiteChart"] svg').first.wait_for()
            environment.locator('[data-testid="stDataFrame"]').wait_for()
            page.wait_for_timeout(800)   # the grids draw their cells after the element appears
            shot(tourist, tmp_path / f"index_tourist_{name}.png")
            shot(environment, tmp_path / f"index_environment_{name}.png")
            shot(act, tmp_path / f"where_to_act_{name}.png")
            seen[name] = {
                "tourist": " ".join(tourist.inner_text().split()),
                "environment": " ".join(environment.inner_text().split()),
                "act": " ".join(act.inner_text().split()),
                "main": page.locator('[data-testid="stMain"]').inner_text(),
                "exceptions": page.locator('[data-testid="stException"]').count(),
            }
            page.close()
    for name, text in seen.items():
        assert text["exceptions"] == 0, name
        assert "游客满意度指数（多指标）" in text["tourist"]
        assert re.search(r"8\d\.\d 分", text["tourist"]), text["tourist"]   # the index in points, about 80-84
        assert "目标 ≥ 80 分" in text["tourist"] and t("indices.method_pls", "zh") in text["tourist"]
        assert any(v in text["tourist"] for v in ("达标", "尚无定论", "未达标"))
        assert "综合区域消费环境指数" in text["environment"]
        assert t("indices.no_threshold", "zh")[:10] in text["environment"]
        assert t("indices.change_title", "zh", before="2025") in text["environment"]
        assert "维权度" in text["environment"]
        assert "优先改进：维权度——重要且得分最低" in text["act"]
        assert not re.search(r"\bnan\b|\bNone\b|Traceback", text["main"])
