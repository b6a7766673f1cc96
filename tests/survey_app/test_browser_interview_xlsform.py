"""An uploaded XLSForm interviewed through the real app in headless Chromium: a cascading
select (``choice_filter``), a ``range`` slider, a date picker, ``acknowledge``, a ``calculate``
stored, ``${}`` piping, the form's own language chosen apart from the interface's, and a
``geopoint`` marked "collect with ODK Collect" instead of holding the interview up."""
from __future__ import annotations

import io

import openpyxl
import pytest
from argon2 import PasswordHasher

from survey_app.auth import Accounts
from survey_app.i18n import t
from survey_app.review import questionnaire_library
from survey_app.store import ResponseStore
from tests.conftest import require_program
from tests.survey_app.test_browser_interview import (  # noqa: F401  (server is a fixture)
    ACTION_TIMEOUT, CHROMIUM_ARGS, LANDSCAPE, PASSWORD, idle, press, server, sign_in,
)

pytestmark = pytest.mark.browser

SURVEY = [
    ["type", "name", "label::English (en)", "label::Português (pt)", "required", "constraint", "calculation",
     "choice_filter", "parameters"],
    ["today", "today"], ["username", "username"],
    ["begin group", "visit", "Visit on ${today}", "Visita em ${today}"],
    ["select_one provinces", "province", "Province", "Província", "yes"],
    ["select_one districts", "district_of_visit", "District in ${province}", "Distrito em ${province}", "yes",
     None, None, "prov=${province}"],
    ["range", "score", "Score", "Nota", "yes", None, None, None, "start=0 end=10 step=2"],
    ["date", "visit_date", "Date of the visit", "Data da visita", "yes", ". <= today()"],
    ["acknowledge", "agree", "I agree", "Concordo", "yes"],
    ["calculate", "double", None, None, None, None, "${score} * 2"],
    ["geopoint", "where", "Where", "Onde", "yes"],
    ["end group"],
]
CHOICES = [["list name", "name", "label::English (en)", "label::Português (pt)", "prov"],
           ["provinces", "n", "North", "Norte"], ["provinces", "s", "South", "Sul"],
           ["districts", "n1", "North 1", "Norte 1", "n"], ["districts", "s1", "South 1", "Sul 1", "s"],
           ["districts", "s2", "South 2", "Sul 2", "s"]]
SETTINGS = [["form_id", "form_title", "version"], ["field_visit", "Field visit", "3"]]


def workbook() -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in (("survey", SURVEY), ("choices", CHOICES), ("settings", SETTINGS)):
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def radio(page, label: str):
    return page.get_by_role("radiogroup", name=label).locator('[data-testid="stRadioOption"]')


def test_an_uploaded_xlsform_interview_in_the_browser(server, tmp_path):
    chromium = require_program("chromium", candidates=("/usr/bin/chromium",))
    from playwright.sync_api import expect, sync_playwright

    base, db_url = server
    accounts = Accounts(db_url, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    admin = accounts.create_first_administrator("chief", "correct horse battery")
    accounts.create_user(admin, "T01", PASSWORD, ["interviewer"])
    questionnaire_library(db_url).upload(workbook(), user=admin, accounts=accounts, file_name="field_visit.xlsx")
    accounts.close()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            page = browser.new_page(viewport=LANDSCAPE)
            page.set_default_timeout(ACTION_TIMEOUT)
            page.goto(f"{base}/?lang=en")
            sign_in(page, "en")
            page.get_by_role("heading", name=t("interview.start_title", "en")).wait_for()
            idle(page)
            radio(page, t("interview.questionnaire", "en")).filter(has_text="Field visit").click()
            idle(page)
            radio(page, t("interview.district", "en")).first.click()
            idle(page)
            page.get_by_label(t("interview.psu", "en")).fill("village 1")
            page.get_by_label(t("interview.psu", "en")).press("Tab")
            idle(page)
            press(page, t("interview.start", "en"))

            page.get_by_role("heading", name="Visit on").wait_for()
            expect(page.get_by_text(t("interview.odk_only", "en", kind=t("interview.odk_kind_geopoint", "en")))
                   ).to_have_count(1)
            radio(page, "Province").filter(has_text="South").click()
            idle(page)
            # the cascading select offers the districts of the province picked, and says which it is
            districts = radio(page, "District in South")
            expect(districts).to_have_count(2)
            districts.filter(has_text="South 2").click()
            idle(page)
            slider = page.get_by_role("slider")
            slider.focus()
            for _ in range(3):
                slider.press("ArrowRight")
            idle(page)
            # the date picker's year, month and day segments, typed in turn
            page.get_by_role("spinbutton", name="year, Date of the visit").click()
            page.keyboard.type("20260301")
            page.keyboard.press("Tab")
            idle(page)
            page.get_by_text(t("interview.acknowledge", "en")).click()
            idle(page)
            # the questionnaire in Portuguese, the buttons still in English
            page.get_by_label(t("interview.form_language", "en")).click()
            page.keyboard.type("Portugu")
            page.keyboard.press("Enter")
            idle(page)
            page.get_by_role("radiogroup", name="Província").wait_for()
            # the answers given stay chosen, shown in Portuguese
            province = radio(page, "Província").filter(has_text="Sul")
            expect(province.locator("input")).to_be_checked()
            page.get_by_role("button", name=t("interview.submit", "en"), exact=True).wait_for()
            page.screenshot(path=tmp_path / "xlsform_interview.png")
            press(page, t("interview.submit", "en"))
            page.get_by_text(t("interview.done_title", "en")).wait_for()
        finally:
            browser.close()

    store = ResponseStore(db_url)
    (interview,) = [store.get_interview(iid) for iid in store.responses_frame(status="all")["interview_id"]]
    answers = dict(interview.answers)
    assert interview.status == "submitted" and interview.questionnaire_id == "field_visit"
    assert {key: answers.get(key) for key in ("province", "district_of_visit", "score", "visit_date", "agree",
                                              "double", "username")} == {
        "province": "s", "district_of_visit": "s2", "score": 6, "visit_date": "2026-03-01", "agree": "OK",
        "double": "12", "username": "T01"}
    assert answers["today"] and "where" not in answers
