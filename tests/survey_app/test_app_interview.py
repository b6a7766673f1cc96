"""The interviewing page driven through the real app with ``streamlit.testing.v1.AppTest``.

Each test has its own SQLite file (``SURVEY_DB_URL``); a "lost session" is a new AppTest
on the same database and URL, exactly what a browser refresh or a restarted server gives.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import questionnaires
from questionnaires import Group, Question, Questionnaire, QuestionnaireError, Text, shipped_questionnaires
from survey_app import interview_flow
from survey_app.assignments import AssignmentStore, with_design_weights
from survey_app.i18n import t
from survey_app.store import ResponseStore
from survey_app.ui import md_text
from tests.survey_app.interview_driver import (
    answer,
    assert_clean,
    complete_interview,
    has_widget,
    open_app,
    press,
    start_interview,
    widget_value,
)

FORMS = shipped_questionnaires()


@pytest.fixture
def store(tmp_path: Path, monkeypatch) -> ResponseStore:
    url = f"sqlite:///{tmp_path / 'survey.db'}"
    monkeypatch.setenv("SURVEY_DB_URL", url)
    return ResponseStore(url)


def screen(form_id: str, name: str) -> int:
    return [group.name for group in FORMS[form_id].groups].index(name)


def texts(at, kind: str) -> list[str]:
    return [element.value for element in getattr(at, kind)]


def seed(store: ResponseStore, form_id: str, answers: dict, group: str) -> str:
    """A draft with ``answers`` standing on screen ``group`` (as an earlier session left it)."""
    iid = store.start_interview(
        form_id, FORMS[form_id].version, interviewer="A01", district="rugao", psu="村 3", wave="2026"
    )
    store.save_answers(iid, answers)
    store.set_page(iid, screen(form_id, group))
    return iid


RESPONDENT = {"consent": "yes", "district": "rugao", "urban_rural": "rural", "sex": "male"}


@pytest.mark.parametrize("form_id", sorted(FORMS))
def test_complete_interview_of_each_questionnaire_is_stored_once_as_answered(store, rng, form_id):
    form = FORMS[form_id]
    at = open_app()
    iid = start_interview(at, form_id, district="haimen")
    given = complete_interview(at, store, form, iid, rng)
    assert at.success and texts(at, "success")[0] == t("interview.done_title", "zh")
    stored = store.get_interview(iid)
    assert stored.status == "submitted"
    assert dict(stored.answers) == given
    assert given["district"] == "haimen" and len(given) > 8
    frame = store.responses_frame(form_id, status="all")
    assert list(frame["interview_id"]) == [iid]
    row = frame.iloc[0]
    assert (row["interviewer"], row["sample_district"], row["psu"], row["status"]) == (
        "A01", "haimen", "社区 7", "submitted",
    )
    for name, value in given.items():
        assert row[name] == (" ".join(value) if isinstance(value, list) else value), name


def test_refusal_ends_the_interview_after_consent(store):
    at = open_app()
    iid = start_interview(at, "salt_consumers")
    form = FORMS["salt_consumers"]
    assert [b.label for b in at.button if b.key == "nav_next"] == [t("interview.next", "zh")]
    answer(at, form, iid, form.question("consent"), "no")
    assert at.button(key="nav_next").label == t("interview.submit", "zh")
    press(at, "nav_next")
    stored = store.get_interview(iid)
    assert stored.status == "submitted"
    assert dict(stored.answers) == {"consent": "no"}  # the pre-filled district is not asked


def test_skip_logic_hides_questions_live_and_drops_their_answers(store, rng):
    form_id = "consumer_environment"
    form = FORMS[form_id]
    earlier = {**RESPONDENT, "age_group": "35_49", "overall_satisfaction": "4", "env_safety": "5",
               "env_integrity": "4", "env_convenience": "3", "env_redress": "2"}
    iid = seed(store, form_id, earlier, "complaints")
    at = open_app(interview=iid)
    q = form.question
    assert not has_widget(at, iid, q("complained"))
    answer(at, form, iid, q("had_problem"), "yes")
    assert has_widget(at, iid, q("complained")) and not has_widget(at, iid, q("complaint_channels"))
    answer(at, form, iid, q("complained"), "yes")
    answer(at, form, iid, q("complaint_channels"), ["hotline_12315", "other"])
    assert has_widget(at, iid, q("complaint_channel_other"))
    answer(at, form, iid, q("complaint_channel_other"), "微信公众号")
    answer(at, form, iid, q("complaint_satisfaction"), "4")
    # The respondent changes their mind: no problem after all.
    answer(at, form, iid, q("had_problem"), "no")
    for name in ("complained", "complaint_channels", "complaint_channel_other", "complaint_satisfaction"):
        assert not has_widget(at, iid, q(name)), name
    assert store.get_interview(iid).answers["complained"] == "yes"  # kept in the draft until submitted
    press(at, "nav_next")
    assert store.get_interview(iid).page == screen(form_id, "closing")
    press(at, "nav_next")
    stored = store.get_interview(iid)
    assert stored.status == "submitted"
    assert dict(stored.answers) == {**earlier, "had_problem": "no"}


def test_submit_returns_to_the_first_incomplete_screen(store):
    form_id = "consumer_environment"
    form = FORMS[form_id]
    iid = seed(store, form_id, {**RESPONDENT, "age_group": "35_49", "had_problem": "no"}, "closing")
    at = open_app(interview=iid, lang="en")
    assert at.button(key="nav_next").label == t("interview.submit", "en")
    press(at, "nav_next")
    interview = store.get_interview(iid)
    assert (interview.status, interview.page) == ("draft", screen(form_id, "overall"))
    message = form.check_answer("overall_satisfaction", None, {}, "en")
    assert texts(at, "error") == [message, t("interview.fix_errors", "en")]


def test_back_returns_to_the_previous_shown_screen(store):
    form_id = "public_services"
    form = FORMS[form_id]
    iid = seed(store, form_id, {**RESPONDENT, "age_group": "18_34"}, "usage")
    at = open_app(interview=iid)
    answer(at, form, iid, form.question("services_used"), ["none"])
    press(at, "nav_next")
    assert store.get_interview(iid).page == screen(form_id, "closing")
    press(at, "nav_back")
    assert store.get_interview(iid).page == screen(form_id, "usage")
    assert widget_value(at, form, iid, form.question("services_used")) == ["none"]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_failed_constraint_shows_the_questionnaires_message_and_blocks_next(store, lang):
    form_id = "consumer_environment"
    form = FORMS[form_id]
    q = form.question
    iid = seed(store, form_id, RESPONDENT, "respondent")
    at = open_app(interview=iid, lang=lang)
    answer(at, form, iid, q("age"), 30)
    answer(at, form, iid, q("age_group"), "50_64")
    message = q("age_group").constraint_message.get(lang)
    assert message in texts(at, "error")  # shown at once, before Next
    press(at, "nav_next")
    assert store.get_interview(iid).page == screen(form_id, "respondent")
    assert t("interview.fix_errors", lang) in texts(at, "error")
    answer(at, form, iid, q("age"), 12)
    assert form.check_answer(q("age"), 12, {}, lang) in texts(at, "error")
    answer(at, form, iid, q("age"), 52)
    assert texts(at, "error") == []  # fixed: every message goes away
    press(at, "nav_next")
    assert store.get_interview(iid).page == screen(form_id, "overall")


def test_required_answers_are_enforced_with_the_questionnaires_messages(store):
    form_id = "tourist_satisfaction"
    form = FORMS[form_id]
    iid = seed(store, form_id, {"consent": "yes"}, "respondent")
    at = open_app(interview=iid, lang="en")
    assert texts(at, "error") == []  # a fresh screen is not covered in red
    press(at, "nav_next")
    required = [q for q in form.groups[screen(form_id, "respondent")].questions if q.required]
    expected = [form.check_answer(q, None, {}, "en") for q in required]
    assert texts(at, "error")[:-1] == expected
    assert store.get_interview(iid).page == screen(form_id, "respondent")


def test_integer_constraint_on_its_own_screen(store):
    form_id = "tourist_satisfaction"
    form = FORMS[form_id]
    iid = seed(store, form_id, {**RESPONDENT, "age_group": "65_plus"}, "score")
    at = open_app(interview=iid)
    answer(at, form, iid, form.question("tourist_score"), 101)
    assert form.check_answer(form.question("tourist_score"), 101, {}, "zh") in texts(at, "error")
    press(at, "nav_next")
    assert store.get_interview(iid).page == screen(form_id, "score")
    answer(at, form, iid, form.question("tourist_score"), 88)
    press(at, "nav_next")
    assert store.get_interview(iid).page == screen(form_id, "aspects")
    assert store.get_interview(iid).answers["tourist_score"] == 88


def test_resume_after_the_session_is_lost(store, rng):
    form_id = "telecom_users"
    form = FORMS[form_id]
    q = form.question
    at = open_app()
    iid = start_interview(at, form_id, district="qidong")
    answer(at, form, iid, q("consent"), "yes")
    press(at, "nav_next")
    answer(at, form, iid, q("urban_rural"), "urban")
    answer(at, form, iid, q("sex"), "female")
    answer(at, form, iid, q("age"), 45)
    del at  # the tablet's browser session is gone (refresh, Wi-Fi, server restart)

    again = open_app(interview=iid, lang="en")  # only the URL survives
    assert again.subheader[0].value == form.groups[screen(form_id, "respondent")].label.get("en")
    assert again.get("progress")[0].proto.text == t("interview.progress", "en", position=2, total=len(form.groups))
    for name, value in {"district": "qidong", "urban_rural": "urban", "sex": "female", "age": 45}.items():
        assert widget_value(again, form, iid, q(name)) == value, name
    assert not widget_value(again, form, iid, q("age_group"))
    given = complete_interview(again, store, form, iid, rng)
    assert dict(store.get_interview(iid).answers) == given
    assert {"urban_rural": "urban", "sex": "female", "age": 45}.items() <= given.items()
    assert len(store.responses_frame(form_id, status="all")) == 1


def test_a_submitted_interview_reopens_on_its_end_screen_and_is_stored_once(store, rng):
    form_id = "campaign_awareness"
    at = open_app()
    iid = start_interview(at, form_id)
    complete_interview(at, store, FORMS[form_id], iid, rng)
    submitted = store.get_interview(iid)
    again = open_app(interview=iid)  # e.g. a refresh right after Submit
    assert texts(again, "success") == [t("interview.done_title", "zh")]
    assert store.get_interview(iid) == submitted
    assert len(store.responses_frame(status="all")) == 1


def test_end_screen_starts_the_next_interview_with_the_same_settings(store, rng):
    form_id = "salt_consumers"
    at = open_app(interviewer="B07")
    first = start_interview(at, form_id, district="haian", psu="海安 12")
    complete_interview(at, store, FORMS[form_id], first, rng)
    press(at, "end_next")
    second = at.query_params["interview"]
    assert second != first
    new = store.get_interview(second)
    assert (new.status, new.questionnaire_id, new.interviewer, new.district, new.psu) == (
        "draft", form_id, "B07", "haian", "海安 12",
    )
    assert dict(new.answers) == {"district": "haian"}
    assert at.radio(key=f"answer_{second}_consent").value is None


def test_start_needs_every_field(store):
    at = open_app(lang="en")
    # The code is the signed-in interviewer's, shown but not editable.
    assert at.text_input(key="_start_interviewer").value == "A01" and at.text_input(key="_start_interviewer").disabled
    press(at, "start")
    missing = [t(f"interview.{name}", "en") for name in ("district", "psu")]
    assert texts(at, "error") == [t("interview.missing_fields", "en", fields=", ".join(missing))]
    assert "interview" not in at.query_params
    assert store.responses_frame(status="all").empty


# A wave's field assignments: two PSUs in Haimen, one in Rugao (weights 1 / (pi_psu * pi_within)).
ASSIGNED = pd.DataFrame({
    "district": ["haimen", "haimen", "rugao"],
    "psu": ["320684001", "320684007", "320682003"],
    "psu_name": ["东洲社区", "大洪村", "如城社区"],
    "interviews": [8, 8, 6],
    "pi_psu": [0.5, 0.25, 1.0],
    "pi_within": [0.01, 0.02, 0.005],
    "design_weight": [200.0, 200.0, 200.0],
    "fpc": [10, 10, 3],
})
WAVE = "2026秋"


def test_start_screen_offers_the_assigned_psus_with_their_progress(store):
    AssignmentStore(store.url).save(ASSIGNED, wave=WAVE)
    form_id = "salt_consumers"
    for _ in range(2):
        done = store.start_interview(form_id, "1", interviewer="B02", district="haimen", psu="320684007", wave=WAVE)
        store.submit(done, {"consent": "no"})
    # Neither a draft nor another questionnaire's interview counts as done.
    store.start_interview(form_id, "1", interviewer="B02", district="haimen", psu="320684007", wave=WAVE)
    other = store.start_interview("telecom_users", "1", interviewer="B02", district="haimen", psu="320684001",
                                  wave=WAVE)
    store.submit(other, {"consent": "no"})

    at = open_app()
    at.radio(key="_start_questionnaire").set_value(form_id).run()
    assert at.text_input(key="_start_wave").value == WAVE  # the latest list's wave
    assert not [box for box in at.text_input if box.key == "_start_psu"]
    assert t("interview.assigned_caption", "zh", wave=WAVE, psus=3) in texts(at, "caption")
    district = at.radio(key=f"_start_assigned_district_{WAVE}")
    assert district.options == ["海门区", "如皋市"]  # the listed districts, in the usual order
    press(at, "start")
    missing = [t(f"interview.{name}", "zh") for name in ("district", "psu")]
    assert texts(at, "error") == [t("interview.missing_fields", "zh", fields="、".join(missing))]

    at.radio(key=f"_start_assigned_district_{WAVE}").set_value("haimen").run()
    psu = at.radio(key=f"_start_assigned_psu_{WAVE}_haimen")
    assert psu.options == [
        t("interview.assigned_psu_option", "zh", psu="320684001", name="东洲社区", done=0, n=8),
        t("interview.assigned_psu_option", "zh", psu="320684007", name="大洪村", done=2, n=8),
    ]
    psu.set_value("320684007")
    press(at, "start")
    stored = store.get_interview(at.query_params["interview"])
    assert (stored.wave, stored.district, stored.psu, stored.interviewer) == (WAVE, "haimen", "320684007", "A01")
    assert dict(stored.answers) == {"district": "haimen"}
    store.submit(stored.id, {"consent": "no"})
    weighted = with_design_weights(store.responses_frame(form_id), url=store.url)
    assert weighted["weight"].tolist() == [200.0] * 3 and weighted["fpc"].tolist() == [10] * 3


def test_a_wave_without_assignments_keeps_the_typed_psu(store):
    AssignmentStore(store.url).save(ASSIGNED, wave=WAVE)
    at = open_app(lang="en")
    at.text_input(key="_start_wave").input("2025").run()
    assert_clean(at)
    assert not [r for r in at.radio if r.key.startswith("_start_assigned")]
    iid = start_interview(at, "consumer_environment", district="rugao", psu="村 3")
    assert (store.get_interview(iid).wave, store.get_interview(iid).psu) == ("2025", "村 3")


def start_form(at) -> tuple[str | None, str | None, str | None, str]:
    """Questionnaire, district, PSU and wave the start form shows (free entry of the PSU)."""
    return (at.radio(key="_start_questionnaire").value, at.radio(key="_start_district").value,
            at.text_input(key="_start_psu").value, at.text_input(key="_start_wave").value)


def test_start_form_keeps_the_settings_after_pause(store):
    # Another wave has field assignments: the wave typed in this session still stands after the pause.
    AssignmentStore(store.url).save(ASSIGNED, wave=WAVE)
    at = open_app()
    at.text_input(key="_start_wave").input("2025").run()
    iid = start_interview(at, "telecom_users", district="qidong", psu="启东 4 村")
    answer(at, FORMS["telecom_users"], iid, FORMS["telecom_users"].question("consent"), "yes")
    press(at, "nav_pause")
    assert "interview" not in at.query_params
    assert start_form(at) == ("telecom_users", "qidong", "启东 4 村", "2025")
    # The next interview starts from them without typing anything.
    press(at, "start")
    second = store.get_interview(at.query_params["interview"])
    assert second.id != iid
    assert (second.questionnaire_id, second.district, second.psu, second.wave) == (
        "telecom_users", "qidong", "启东 4 村", "2025",
    )


def test_start_form_keeps_the_settings_after_changing_settings(store, rng):
    form_id = "salt_consumers"
    at = open_app()
    iid = start_interview(at, form_id, district="haian", psu="海安 12")
    complete_interview(at, store, FORMS[form_id], iid, rng)
    press(at, "to_start")  # "更改访问设置" on the end screen
    assert "interview" not in at.query_params
    assert start_form(at)[:3] == (form_id, "haian", "海安 12")
    # The interviewer changes the PSU only; the district stays.
    at.text_input(key="_start_psu").input("海安 13").run()
    press(at, "start")
    new = store.get_interview(at.query_params["interview"])
    assert (new.district, new.psu) == ("haian", "海安 13")


def test_start_form_settings_survive_a_reload_and_stay_the_interviewers_own(store):
    at = open_app(interviewer="C03")
    start_interview(at, "consumer_environment", district="rudong", psu="如东 2 村")
    del at  # a reload: the session is gone, the store remains

    again = open_app(interviewer="C03")
    assert start_form(again)[:3] == ("consumer_environment", "rudong", "如东 2 村")
    other = open_app(interviewer="D04")  # nothing of C03's for another interviewer
    assert start_form(other)[1:3] == (None, "")


def test_start_form_keeps_the_assigned_district_and_psu(store):
    AssignmentStore(store.url).save(ASSIGNED, wave=WAVE)
    at = open_app()
    at.radio(key="_start_questionnaire").set_value("salt_consumers").run()
    at.radio(key=f"_start_assigned_district_{WAVE}").set_value("haimen").run()
    at.radio(key=f"_start_assigned_psu_{WAVE}_haimen").set_value("320684007").run()
    press(at, "start")
    press(at, "nav_pause")
    assert at.text_input(key="_start_wave").value == WAVE
    assert at.radio(key=f"_start_assigned_district_{WAVE}").value == "haimen"
    assert at.radio(key=f"_start_assigned_psu_{WAVE}_haimen").value == "320684007"


def test_paused_drafts_are_listed_and_resumed(store):
    form_id = "consumer_environment"
    form = FORMS[form_id]
    at = open_app(interviewer="C03")
    iid = start_interview(at, form_id)
    answer(at, form, iid, form.question("consent"), "yes")
    press(at, "nav_next")
    press(at, "nav_pause")
    assert "interview" not in at.query_params
    other = store.start_interview(form_id, "1.0", interviewer="D04", district="rugao", psu="x", wave="2026")

    fresh = open_app(interviewer="C03")  # C03 signs in again, e.g. on another tablet
    assert [b.key for b in fresh.button if b.key.startswith("resume_")] == [f"resume_{iid}"]
    press(fresh, f"resume_{iid}")
    assert fresh.query_params["interview"] == iid
    assert fresh.subheader[0].value == form.groups[screen(form_id, "respondent")].label.get("zh")
    assert store.get_interview(other).status == "draft"


def test_a_draft_can_be_discarded(store):
    iid = store.start_interview("consumer_environment", "1.0", interviewer="C03", district="rugao", psu="x",
                                wave="2026")
    at = open_app(interviewer="C03")
    press(at, f"discard_{iid}")
    assert store.get_interview(iid).status == "voided"
    assert not [b for b in at.button if b.key == f"resume_{iid}"]
    assert texts(at, "info") == [t("interview.discarded", "zh")]


def test_language_switch_is_kept_in_the_url(store):
    at = open_app()
    assert at.header[0].value == t("interview.start_title", "zh")
    at.segmented_control[0].set_value("en").run()
    assert_clean(at)
    assert at.query_params["lang"] == "en"
    assert at.header[0].value == t("interview.start_title", "en")
    assert FORMS["telecom_users"].title.en in at.radio(key="_start_questionnaire").options
    at.segmented_control[0].set_value("zh").run()
    assert "lang" not in at.query_params and at.header[0].value == t("interview.start_title", "zh")


def test_questions_follow_the_language(store):
    form = FORMS["consumer_environment"]
    iid = seed(store, "consumer_environment", {"consent": "yes"}, "respondent")
    en = open_app(interview=iid, lang="en")
    zh = open_app(interview=iid)
    sex = form.question("sex")
    assert en.radio(key=f"answer_{iid}_sex").label.startswith(sex.label.en)
    assert zh.radio(key=f"answer_{iid}_sex").label.startswith(sex.label.zh)
    assert en.radio(key=f"answer_{iid}_sex").options == [c.label.en for c in form.choices(sex)]


# -- errors are messages, never tracebacks ------------------------------------------------------


def test_unknown_interview_in_the_url(store):
    for bad in ("00000000-0000-4000-8000-000000000000", "not-a-uuid"):
        at = open_app(interview=bad, lang="en")
        assert texts(at, "warning") == [t("interview.not_found", "en", id=md_text(bad))]  # the URL's text, escaped
        press(at, "to_start")
        assert "interview" not in at.query_params


def test_unusable_database_is_a_readable_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("SURVEY_DB_URL", f"sqlite:///{blocker / 'survey.db'}")
    at = open_app(interviewer=None, lang="en")  # not even the accounts can be read
    assert texts(at, "error") == [t("app.error_store", "en")]


def test_broken_questionnaires_are_a_readable_error(store, monkeypatch):
    def broken():
        raise QuestionnaireError("definitions/x.yaml: question 'q1': unknown type 'slect_one'")

    monkeypatch.setattr(questionnaires, "shipped_questionnaires", broken)
    at = open_app()
    assert texts(at, "error") == [t("app.error_questionnaire", "zh")]
    assert any("slect_one" in caption for caption in texts(at, "caption"))


def test_saving_to_an_interview_closed_elsewhere_is_a_readable_error(store):
    form = FORMS["consumer_environment"]
    iid = seed(store, "consumer_environment", {"consent": "yes"}, "respondent")
    at = open_app(interview=iid)
    store.void(iid, "supervisor: duplicate")
    answer(at, form, iid, form.question("sex"), "female")
    assert t("app.error_store", "zh") in texts(at, "error")
    assert "sex" not in store.get_interview(iid).answers


def test_a_decimal_question_is_stored_as_entered(store, monkeypatch):
    spend = Question(
        "decimal", "spend", Text("上月消费支出（元）", "Spending last month (yuan)"), required=True,
        constraint=". >= 0", constraint_message=Text("支出不能为负数。", "Spending cannot be negative."),
    )
    form = Questionnaire(
        id="household_spending", version="2", title=Text("家庭消费支出", "Household spending"),
        groups=(Group("spending", Text("消费支出", "Spending"), (spend,)),), choice_lists={},
    )
    monkeypatch.setattr(questionnaires, "shipped_questionnaires", lambda: {**FORMS, form.id: form})
    at = open_app(lang="en")
    iid = start_interview(at, form.id)
    answer(at, form, iid, spend, -3.5)
    assert texts(at, "error") == ["Spending cannot be negative."]
    answer(at, form, iid, spend, 1234.56)
    assert texts(at, "error") == []
    press(at, "nav_next")
    stored = store.get_interview(iid)
    assert stored.status == "submitted" and dict(stored.answers) == {"spend": 1234.56}
    assert type(stored.answers["spend"]) is float
    assert store.responses_frame(form.id)["spend"].tolist() == [1234.56]


def test_a_draft_of_a_changed_questionnaire_version_warns(store):
    iid = store.start_interview("telecom_users", "0.9", interviewer="A01", district="rugao", psu="x", wave="2026")
    at = open_app(interview=iid, lang="en")
    version = FORMS["telecom_users"].version
    assert texts(at, "warning") == [t("interview.version_changed", "en", old="0.9", new=version)]
    assert at.radio(key=f"answer_{iid}_consent")  # the interview goes on with the current version


def test_a_draft_of_a_removed_questionnaire_is_explained(store):
    iid = store.start_interview("withdrawn_form", "1", interviewer="A01", district="rugao", psu="x", wave="2026")
    at = open_app(interview=iid, lang="en")
    assert texts(at, "error") == [t("interview.unknown_questionnaire", "en", id="withdrawn_form")]
    press(at, "to_start")
    assert "interview" not in at.query_params


def test_an_unexpected_error_is_a_message_not_a_traceback(store, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("boom")

    iid = seed(store, "consumer_environment", {"consent": "yes"}, "respondent")
    monkeypatch.setattr(interview_flow, "resume_screen", fail)
    at = open_app(interview=iid, lang="en")
    assert texts(at, "error") == [t("app.error_unexpected", "en")]
    assert "boom" not in " ".join(texts(at, "markdown") + texts(at, "caption"))
