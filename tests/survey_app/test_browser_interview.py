"""One complete interview through the real app in headless Chromium, at tablet sizes.

Starts ``streamlit run`` on a free localhost port with its own SQLite database holding a wave's field
assignments, takes the ``campaign_awareness`` interview in an assigned community (picked
from the list, not typed) on a 768x1024 portrait tablet (with a refresh in the
middle and a second, 1280x800 landscape session resuming the same interview in English),
and checks the store holds it exactly once, as answered. Every new browser session signs in
as interviewer T01 first; a refresh stays signed in. Screenshots of each size are
written to the test's temporary directory.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from argon2 import PasswordHasher

from questionnaires import shipped_questionnaires
from survey_app.assignments import AssignmentStore
from survey_app.auth import Accounts
from survey_app.i18n import t
from survey_app.pages import interview as interview_page  # noqa: F401  (registers the page's texts)
from survey_app.pages import signin as signin_page  # noqa: F401
from survey_app.store import ResponseStore
from tests.conftest import require_program

pytestmark = pytest.mark.browser

PROJECT_ROOT = Path(__file__).parent.parent.parent
APP = PROJECT_ROOT / "survey_app" / "app.py"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PORTRAIT = {"width": 768, "height": 1024}
LANDSCAPE = {"width": 1280, "height": 800}
SERVER_START_TIMEOUT = 60  # seconds
ACTION_TIMEOUT = 20_000  # milliseconds, for each browser action and wait
FORM = shipped_questionnaires()["campaign_awareness"]
PASSWORD = "tablet-secret-2026"
WAVE = "2026"
# The wave's field assignments: the interview is taken in the second Haimen community.
ASSIGNED = pd.DataFrame({
    "district": ["haimen", "haimen", "rugao"],
    "psu": ["320684001", "320684005", "320682003"],
    "psu_name": ["东洲社区", "海门 5 村", "如城社区"],
    "interviews": [15, 15, 15],
    "pi_psu": [0.4, 0.3, 1.0],
    "pi_within": [0.01, 0.02, 0.005],
    "design_weight": [250.0, 1 / 0.006, 200.0],
    "fpc": [12, 12, 3],
})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """``(base URL, database URL)`` of a fresh app server; stopped afterwards."""
    db_url = f"sqlite:///{tmp_path / 'browser.db'}"
    port = free_port()
    log = (tmp_path / "streamlit.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable, "-m", "streamlit", "run", str(APP),
            "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
            "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false",
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, "SURVEY_DB_URL": db_url},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start: {(tmp_path / 'streamlit.log').read_text()}")
            time.sleep(0.3)
        yield base, db_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


def label(name: str, lang: str = "zh") -> str:
    return FORM.question(name).label.get(lang)


def choice(name: str, code: str, lang: str = "zh") -> str:
    return next(c.label.get(lang) for c in FORM.choices(name) if c.name == code)


def heading(group: str, lang: str = "zh") -> str:
    return FORM.group(group).label.get(lang)


def idle(page) -> None:
    """Wait until the app has finished the run an action started."""
    page.wait_for_timeout(250)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')


def pick(page, question: str, code: str, lang: str = "zh") -> None:
    group = page.get_by_role("radiogroup", name=label(question, lang))
    group.locator('[data-testid="stRadioOption"]').filter(has_text=choice(question, code, lang)).click()
    idle(page)


def type_into(page, question: str, text: str) -> None:
    field = page.get_by_label(label(question))
    field.fill(text)
    field.press("Tab")  # Streamlit commits text when the field loses focus
    idle(page)


def press(page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()
    idle(page)


def on_screen(page, group: str, lang: str = "zh") -> None:
    page.get_by_role("heading", name=heading(group, lang)).wait_for()


def snap(page, path: Path) -> None:
    """Screenshot of the top of the screen (Streamlit scrolls inside the page, not the window)."""
    page.evaluate("() => document.querySelectorAll('*').forEach(e => { if (e.scrollTop) e.scrollTop = 0; })")
    page.screenshot(path=path)


def sign_in(page, lang: str = "zh", *, username: str = "T01", password: str = PASSWORD) -> None:
    """Fill the sign-in form (by default as interviewer T01) and wait for the page."""
    page.get_by_label(t("signin.username", lang), exact=True).fill(username)
    page.get_by_label(t("signin.password", lang), exact=True).fill(password)
    press(page, t("signin.submit", lang))


#: Password of the statistician S01 that :func:`add_statistician` creates.
STATISTICIAN_PASSWORD = "statistics-secret-26"


def add_statistician(db_url: str, roles: tuple[str, ...] = ("statistician",)) -> None:
    """The first administrator ("chief") and the statistician S01 in the app's database."""
    accounts = Accounts(db_url, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    admin = accounts.create_first_administrator("chief", "correct horse battery")
    accounts.create_user(admin, "S01", STATISTICIAN_PASSWORD, list(roles))
    accounts.close()


@contextmanager
def chromium_browser() -> Iterator:
    """Headless Debian Chromium driven by Playwright, closed afterwards."""
    chromium = require_program("chromium", candidates=("/usr/bin/chromium",))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield browser
        finally:
            browser.close()


def signed_in_page(browser, base: str, viewport: dict, *, timeout: int = ACTION_TIMEOUT * 6):
    """A new page of ``browser`` at ``viewport``, signed in as the statistician S01."""
    page = browser.new_page(viewport=viewport)
    page.set_default_timeout(timeout)
    page.goto(base)
    sign_in(page, username="S01", password=STATISTICIAN_PASSWORD)
    return page


def element_shot(element, path: Path, *, copy_to: str) -> None:
    """A screenshot of ``element`` at ``path``, and a copy in the folder named by the
    environment variable ``copy_to`` when it is set (to look at after the run)."""
    element.scroll_into_view_if_needed()
    element.screenshot(path=path)
    extra = os.environ.get(copy_to)
    if extra:
        element.screenshot(path=Path(extra) / path.name)


def selected(page, question: str, lang: str = "zh") -> str:
    group = page.get_by_role("radiogroup", name=label(question, lang))
    return group.locator('[data-testid="stRadioOption"][data-selected="true"]').inner_text().strip()


def test_one_interview_through_the_real_page(server, tmp_path):
    chromium = require_program("chromium", candidates=("/usr/bin/chromium",))
    from playwright.sync_api import expect, sync_playwright

    base, db_url = server
    accounts = Accounts(db_url, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    admin = accounts.create_first_administrator("chief", "correct horse battery")
    accounts.create_user(admin, "T01", PASSWORD, ["interviewer"])
    accounts.close()
    AssignmentStore(db_url).save(ASSIGNED, wave=WAVE, seed=11, saved_by="chief")
    psu_option = t("interview.assigned_psu_option", "zh", psu="320684005", name="海门 5 村", done=0, n=15)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            tablet = browser.new_page(viewport=PORTRAIT)
            tablet.set_default_timeout(ACTION_TIMEOUT)
            tablet.goto(base)
            tablet.get_by_role("heading", name=t("signin.title", "zh")).wait_for()
            idle(tablet)
            snap(tablet, shots / "portrait_signin.png")
            sign_in(tablet)
            tablet.get_by_role("heading", name=t("interview.start_title", "zh")).wait_for()
            idle(tablet)
            snap(tablet, shots / "portrait_start.png")
            tablet.get_by_role("radiogroup", name=t("interview.questionnaire", "zh")).locator(
                '[data-testid="stRadioOption"]'
            ).filter(has_text=FORM.title.zh).click()
            idle(tablet)
            expect(tablet.get_by_label(t("interview.wave", "zh"))).to_have_value(WAVE)
            tablet.get_by_role("radiogroup", name=t("interview.assigned_district", "zh")).locator(
                '[data-testid="stRadioOption"]'
            ).filter(has_text="海门区").click()
            idle(tablet)
            tablet.get_by_role("radiogroup", name=t("interview.assigned_psu", "zh")).locator(
                '[data-testid="stRadioOption"]'
            ).filter(has_text=psu_option).click()
            idle(tablet)
            snap(tablet, shots / "portrait_assigned.png")
            press(tablet, t("interview.start", "zh"))

            on_screen(tablet, "intro")
            pick(tablet, "consent", "yes")
            press(tablet, t("interview.next", "zh"))

            on_screen(tablet, "respondent")
            assert selected(tablet, "district") == "海门区"  # pre-filled from the start screen
            pick(tablet, "urban_rural", "urban")
            pick(tablet, "sex", "female")
            type_into(tablet, "age", "45")
            pick(tablet, "age_group", "35_49")
            snap(tablet, shots / "portrait_respondent.png")

            tablet.reload()  # a refresh: still signed in (session cookie), the URL and the store remain
            on_screen(tablet, "respondent")
            assert selected(tablet, "sex") == choice("sex", "female")
            # Waits: after signing in, the page is drawn by a second run.
            expect(tablet.get_by_label(label("age"))).to_have_value("45")
            press(tablet, t("interview.next", "zh"))

            on_screen(tablet, "awareness")
            pick(tablet, "heard_campaign", "yes")
            for code in ("tv_radio", "other"):
                tablet.get_by_role("button", name=choice("info_sources", code), exact=True).click()
                idle(tablet)
            type_into(tablet, "info_source_other", "社区公告栏")
            snap(tablet, shots / "portrait_awareness.png")
            press(tablet, t("interview.next", "zh"))

            on_screen(tablet, "recognition")
            pick(tablet, "campaign_agreement", "4")
            press(tablet, t("interview.next", "zh"))

            on_screen(tablet, "effects")
            ratings = {"effect_quality": "4", "effect_integrity": "5", "effect_redress": "3", "effect_confidence": "4"}
            for name, code in ratings.items():
                pick(tablet, name, code)
            snap(tablet, shots / "portrait_effects.png")
            interview_id = tablet.url.split("interview=")[1].split("&")[0]

            # The same interview opened in a second, landscape session in English resumes here.
            wide = browser.new_page(viewport=LANDSCAPE)
            wide.set_default_timeout(ACTION_TIMEOUT)
            wide.goto(f"{base}/?interview={interview_id}&lang=en")
            sign_in(wide, "en")
            on_screen(wide, "effects", "en")
            idle(wide)
            assert selected(wide, "effect_integrity", "en") == choice("effect_integrity", "5", "en")
            snap(wide, shots / "landscape_effects_en.png")
            wide.close()

            press(tablet, t("interview.next", "zh"))
            on_screen(tablet, "closing")
            tablet.get_by_label(label("suggestions")).fill("希望多开展抽检")
            tablet.get_by_label(label("suggestions")).press("Tab")
            idle(tablet)
            press(tablet, t("interview.submit", "zh"))
            tablet.get_by_text(t("interview.done_title", "zh")).wait_for()
            snap(tablet, shots / "portrait_end.png")
            tablet.reload()  # a refresh after Submit shows the end screen and stores nothing new
            tablet.get_by_text(t("interview.done_title", "zh")).wait_for()

            wide = browser.new_page(viewport=LANDSCAPE)
            wide.set_default_timeout(ACTION_TIMEOUT)
            wide.goto(base)
            sign_in(wide)
            wide.get_by_role("heading", name=t("interview.start_title", "zh")).wait_for()
            idle(wide)
            wide.get_by_role("radiogroup", name=t("interview.assigned_district", "zh")).locator(
                '[data-testid="stRadioOption"]'
            ).filter(has_text="海门区").click()
            idle(wide)
            # The submitted interview now counts as done in its community.
            done = t("interview.assigned_psu_option", "zh", psu="320684005", name="海门 5 村", done=1, n=15)
            wide.get_by_role("radiogroup", name=t("interview.assigned_psu", "zh")).get_by_text(done).wait_for()
            snap(wide, shots / "landscape_start.png")
        finally:
            browser.close()

    store = ResponseStore(db_url)
    frame = store.responses_frame(status="all")
    assert list(frame["interview_id"]) == [interview_id]
    interview = store.get_interview(interview_id)
    assert interview.status == "submitted"
    assert (interview.interviewer, interview.district, interview.psu, interview.wave) == (
        "T01", "haimen", "320684005", WAVE,
    )
    assert dict(interview.answers) == {
        "consent": "yes", "district": "haimen", "urban_rural": "urban", "sex": "female", "age": 45,
        "age_group": "35_49", "heard_campaign": "yes", "info_sources": ["tv_radio", "other"],
        "info_source_other": "社区公告栏", "campaign_agreement": "4", **ratings, "suggestions": "希望多开展抽检",
    }
    assert sorted(path.name for path in shots.iterdir()) == [
        "landscape_effects_en.png", "landscape_start.png", "portrait_assigned.png", "portrait_awareness.png",
        "portrait_effects.png",
        "portrait_end.png", "portrait_respondent.png", "portrait_signin.png", "portrait_start.png",
    ]


def main_scroll(page) -> float:
    """How far the page is scrolled (Streamlit scrolls its main section, not the window)."""
    return page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollTop")


def in_view(page, locator) -> bool:
    box = locator.bounding_box()
    return box is not None and 0 <= box["y"] < page.viewport_size["height"]


def test_resume_and_next_open_the_screen_at_its_top(server):
    chromium = require_program("chromium", candidates=("/usr/bin/chromium",))
    from playwright.sync_api import sync_playwright

    base, db_url = server
    accounts = Accounts(db_url, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    admin = accounts.create_first_administrator("chief", "correct horse battery")
    accounts.create_user(admin, "T01", PASSWORD, ["interviewer"])
    accounts.close()
    # Enough drafts that the list reaches below the screen; the oldest is listed last.
    store = ResponseStore(db_url)
    drafts = []
    for number in range(4):
        iid = store.start_interview(FORM.id, FORM.version, interviewer="T01", district="haimen",
                                    psu=f"海门 {number} 村", wave=WAVE)
        store.save_answers(iid, {"consent": "yes", "district": "haimen"})
        store.set_page(iid, FORM.groups.index(FORM.group("respondent")))
        drafts.append(iid)
        time.sleep(0.01)  # distinct change times, so the list's order is known
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            tablet = browser.new_page(viewport=PORTRAIT)
            tablet.set_default_timeout(ACTION_TIMEOUT)
            tablet.goto(base)
            sign_in(tablet)
            tablet.get_by_role("heading", name=t("interview.start_title", "zh")).wait_for()
            idle(tablet)
            resume = tablet.locator(f".st-key-resume_{drafts[0]} button")
            resume.scroll_into_view_if_needed()
            assert main_scroll(tablet) > 200  # the drafts list is below the start form
            resume.click()
            idle(tablet)
            on_screen(tablet, "respondent")
            title = tablet.get_by_text(FORM.title.zh, exact=True)
            progress = tablet.locator('[data-testid="stProgress"]')
            assert main_scroll(tablet) == 0
            assert in_view(tablet, title) and in_view(tablet, progress)

            # Answering keeps the place on the screen; Next at its foot opens the next one at its top.
            pick(tablet, "urban_rural", "urban")
            pick(tablet, "sex", "female")
            type_into(tablet, "age", "45")
            next_button = tablet.get_by_role("button", name=t("interview.next", "zh"), exact=True)
            next_button.scroll_into_view_if_needed()
            scrolled = main_scroll(tablet)
            assert scrolled > 200
            pick(tablet, "age_group", "35_49")
            assert main_scroll(tablet) == scrolled
            next_button.click()
            idle(tablet)
            on_screen(tablet, "awareness")
            assert main_scroll(tablet) == 0
            assert in_view(tablet, title) and in_view(tablet, progress)
        finally:
            browser.close()
