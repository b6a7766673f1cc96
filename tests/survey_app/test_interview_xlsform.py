"""A questionnaire read from someone else's XLSForm, interviewed on the tablet page (AppTest) and
through :mod:`survey_app.interview_flow`: metadata recorded, ``${}`` piping, ``choice_filter``,
``range``, dates, ``acknowledge``, a ``calculate`` evaluated and stored, questions a browser
cannot ask marked for ODK Collect, and the questionnaire's language chosen apart from the
interface's."""
from __future__ import annotations

import datetime
from pathlib import Path

import openpyxl
import pytest

import questionnaires
from questionnaires import shipped_questionnaires
from questionnaires.xlsform import read_xlsform
from survey_app import interview_flow as flow
from survey_app.i18n import t
from survey_app.pages.interview import LOCAL_TIME
from survey_app.store import ResponseStore
from survey_app.ui import md_text
from tests.survey_app.interview_driver import assert_clean, open_app, press, start_interview

SURVEY = [
    ["type", "name", "label::English (en)", "label::Português (pt)", "required", "constraint", "calculation",
     "choice_filter", "parameters"],
    ["start", "start"], ["today", "today"], ["username", "username"], ["end", "end"],
    ["begin group", "visit", "Visit", "Visita"],
    ["note", "day", "Today is ${today}", "Hoje é ${today}"],
    ["select_one provinces", "province", "Province", "Província", "yes"],
    ["select_one districts", "district_of_visit", "District in ${province}", "Distrito", "yes", None, None,
     "prov=${province}"],
    ["range", "score", "Score", "Nota", "yes", None, None, None, "start=0 end=10 step=2"],
    ["date", "visit_date", "Date of the visit", "Data da visita", "yes", ". <= today()"],
    ["acknowledge", "agree", "I agree", "Concordo", "yes"],
    ["calculate", "double", None, None, None, None, "${score} * 2"],
    ["geopoint", "where", "Where", "Onde", "yes"],
    ["end group"],
]
CHOICES = [["list name", "name", "label::English (en)", "label::Português (pt)", "prov"],
           ["provinces", "n", "North", "Norte"], ["provinces", "s", "South", "Sul"],
           ["districts", "n1", "North 1", "Norte 1", "n"], ["districts", "n2", "North 2", "Norte 2", "n"],
           ["districts", "s1", "South 1", "Sul 1", "s"]]


@pytest.fixture
def form(tmp_path: Path):
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in (("survey", SURVEY), ("choices", CHOICES)):
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    path = tmp_path / "field_visit.xlsx"
    book.save(path)
    return read_xlsform(path)


@pytest.fixture
def store(tmp_path: Path, monkeypatch, form) -> ResponseStore:
    url = f"sqlite:///{tmp_path / 'survey.db'}"
    monkeypatch.setenv("SURVEY_DB_URL", url)
    monkeypatch.setattr(questionnaires, "shipped_questionnaires", lambda: {**shipped_questionnaires(), form.id: form})
    return ResponseStore(url)


def test_flow_sorts_what_a_browser_can_ask(form):
    modes = {question.name: flow.mode(form, question) for question in form.questions}
    assert modes == {"start": "computed", "today": "computed", "username": "computed", "end": "computed",
                     "day": "asked", "province": "asked", "district_of_visit": "asked", "score": "asked",
                     "visit_date": "asked", "agree": "asked", "double": "computed", "where": "odk"}
    assert [q.name for q in flow.shown_questions(form, 1, {})] == [
        "day", "province", "district_of_visit", "score", "visit_date", "agree", "where"]
    # the metadata rows are outside any group: their implicit screen shows nothing and is skipped
    assert flow.shown_screens(form, {}) == [1]
    district = form.question("district_of_visit")
    assert [c.name for c in flow.choices(form, district, {"province": "n"})] == ["n1", "n2"]
    assert [c.name for c in flow.choices(form, district, {"province": "s"})] == ["s1"]
    assert flow.piped(form, district.label.get("en"), {"province": "s"}, "en") == "District in South"
    assert flow.piped(form, "Hoje é ${today}", {"today": "2026-12-07"}, "pt") == "Hoje é 2026-12-07"
    # a required question the browser cannot ask never holds the interview up
    answers = {"province": "n", "district_of_visit": "n1", "score": 4, "visit_date": "2020-01-02", "agree": "OK"}
    check = flow.check_submission(form, answers, "en")
    assert check.ok and check.answers["double"] == "8" and "where" not in check.answers
    assert form.page_errors("visit", answers, "en") == {"where": "This question is required."}


def test_flow_converts_pickers_and_records_metadata(form):
    score, day, agree = (form.question(name) for name in ("score", "visit_date", "agree"))
    assert flow.to_answer(form, score, 4.0) == 4 and flow.to_widget(form, score, None) == 0
    assert flow.to_answer(form, day, datetime.date(2026, 3, 1)) == "2026-03-01"
    assert flow.to_widget(form, day, "2026-03-01") == datetime.date(2026, 3, 1)
    assert flow.to_answer(form, agree, True) == "OK" and flow.to_answer(form, agree, False) is None
    started = datetime.datetime(2026, 12, 7, 9, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))
    now = started + datetime.timedelta(minutes=20)
    recorded = flow.metadata_answers(form, {}, interviewer="A01", started=started, now=now)
    assert recorded == {"start": "2026-12-07T09:30:00+08:00", "today": "2026-12-07", "username": "A01",
                        "end": "2026-12-07T09:50:00+08:00"}
    assert "start" not in flow.metadata_answers(form, recorded, interviewer="A01", started=now, now=now)


def test_an_xlsform_interview_on_the_tablet_page(store, form):
    at = open_app(lang="en")
    iid = start_interview(at, form.id)
    stored = store.get_interview(iid).answers
    # the device's date is Nantong's, as every time the page shows
    assert stored["username"] == "A01" and stored["today"] == datetime.datetime.now(LOCAL_TIME).date().isoformat()
    assert "start" in stored and "end" not in stored
    infos = [element.value for element in at.info]
    assert f"Today is {md_text(stored['today'])}" in infos
    assert any(t("interview.odk_only", "en", kind=t("interview.odk_kind_geopoint", "en")) in info for info in infos)
    assert at.selectbox(key=f"_form_language_{iid}").value == "en"

    at.radio(key=f"answer_{iid}_province@en").set_value("s").run()
    district = at.radio(key=f"answer_{iid}_district_of_visit@en")
    assert district.options == ["South 1"] and district.label.startswith("District in South")
    district.set_value("s1").run()
    at.slider(key=f"answer_{iid}_score@en").set_value(6).run()
    at.date_input(key=f"answer_{iid}_visit_date@en").set_value(datetime.date(2099, 1, 1)).run()
    # the constraint '. <= today()' is evaluated as the date is picked
    assert [element.value for element in at.error] == ["This answer is not valid; please check it."]
    at.date_input(key=f"answer_{iid}_visit_date@en").set_value(datetime.date(2026, 3, 1)).run()
    at.checkbox(key=f"answer_{iid}_agree@en").check().run()
    assert_clean(at)

    # the questionnaire's texts in Portuguese, the interface still in English
    at.selectbox(key=f"_form_language_{iid}").set_value("Português (pt)").run()
    province = at.radio(key=f"answer_{iid}_province@Português (pt)")
    assert province.label.startswith("Província") and province.value == "s"
    # the choices are shown in Portuguese and the answer is still the code
    assert at.radio(key=f"answer_{iid}_district_of_visit@Português (pt)").options == ["Sul 1"]
    assert at.button(key="nav_next").label == t("interview.submit", "en")

    press(at, "nav_next")
    interview = store.get_interview(iid)
    assert interview.status == "submitted"
    answers = dict(interview.answers)
    assert {key: answers[key] for key in ("province", "district_of_visit", "score", "visit_date", "agree",
                                          "double")} == {
        "province": "s", "district_of_visit": "s1", "score": 6, "visit_date": "2026-03-01", "agree": "OK",
        "double": "12"}
    assert answers["end"] >= answers["start"] and "where" not in answers


def test_the_review_page_shows_the_answers_of_an_xlsform_interview(form):
    from survey_app.pages.review import answers_table

    table = answers_table(form, {"province": "s", "double": "12", "where": "-25.9 32.6 10 5"}, "en")
    assert table.iloc[:, 0].tolist() == ["Province", "double", "Where"]  # a calculate has no label: its name
    assert table.iloc[:, 1].tolist() == ["South", "12", "-25.9 32.6 10 5"]
