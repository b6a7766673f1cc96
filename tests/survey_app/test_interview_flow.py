"""Tests of the interview logic (``survey_app.interview_flow``) on the shipped questionnaires."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from questionnaires import Questionnaire, shipped_questionnaires
from survey_app import interview_flow as flow

FORMS = shipped_questionnaires()


def screen(form: Questionnaire, name: str) -> int:
    return [group.name for group in form.groups].index(name)


def reference_shown(form: Questionnaire, answers: dict) -> list[int]:
    """Shown screens from question-by-question relevance (a different path through the model)."""
    return [
        index
        for index, group in enumerate(form.groups)
        if any(form.is_relevant(question, answers) for question in group.questions)
    ]


@st.composite
def form_and_answers(draw) -> tuple[Questionnaire, dict]:
    """A shipped questionnaire and any answers to any subset of its questions."""
    form = FORMS[draw(st.sampled_from(sorted(FORMS)))]
    answers: dict = {}
    for question in form.questions:
        if question.type == "note" or not draw(st.booleans()):
            continue
        if question.type in ("select_one", "select_multiple"):
            codes = [choice.name for choice in form.choices(question)]
            if question.type == "select_one":
                answers[question.name] = draw(st.sampled_from(codes))
            else:
                chosen = set(draw(st.lists(st.sampled_from(codes), min_size=1, unique=True)))
                answers[question.name] = [code for code in codes if code in chosen]  # as the page stores them
        elif question.type == "integer":
            answers[question.name] = draw(st.integers(min_value=0, max_value=120))
        elif question.type == "decimal":
            answers[question.name] = draw(st.floats(min_value=0, max_value=1e6))
        else:
            answers[question.name] = draw(st.text(min_size=1, max_size=10).filter(str.strip))  # blank = no answer
    # Consent is what most skip logic hangs on; make "yes" common.
    if draw(st.booleans()):
        answers["consent"] = "yes"
    return form, answers


# -- navigation ---------------------------------------------------------------------------


def test_only_the_consent_screen_before_consent():
    form = FORMS["consumer_environment"]
    assert flow.shown_screens(form, {}) == [0]
    assert flow.next_screen(form, 0, {}) is None
    assert flow.first_screen(form, {}) == 0


def test_consent_yes_opens_the_questionnaire_and_no_ends_it():
    form = FORMS["consumer_environment"]
    assert flow.next_screen(form, 0, {"consent": "yes"}) == 1
    assert flow.shown_screens(form, {"consent": "yes"}) == list(range(len(form.groups)))
    assert flow.next_screen(form, 0, {"consent": "no"}) is None


def test_next_and_back_skip_screens_whose_questions_are_all_skipped():
    form = FORMS["public_services"]
    answers = {"consent": "yes", "services_used": ["none"]}
    usage, closing = screen(form, "usage"), screen(form, "closing")
    assert flow.next_screen(form, usage, answers) == closing
    assert flow.previous_screen(form, closing, answers) == usage
    answers["services_used"] = ["water"]
    assert flow.next_screen(form, usage, answers) == screen(form, "service_ratings")


def test_previous_screen_of_the_first_is_none():
    form = FORMS["telecom_users"]
    assert flow.previous_screen(form, 0, {"consent": "yes"}) is None


def test_resume_goes_back_to_the_nearest_shown_screen():
    form = FORMS["public_services"]
    answers = {"consent": "yes", "services_used": ["none"]}
    ratings = screen(form, "service_ratings")
    assert flow.resume_screen(form, ratings, answers) == screen(form, "usage")
    assert flow.resume_screen(form, ratings, {**answers, "services_used": ["gas"]}) == ratings
    assert flow.resume_screen(form, 99, {"consent": "no"}) == 0


def test_progress_counts_all_screens():
    form = FORMS["tourist_satisfaction"]
    assert flow.progress(form, 0) == (1, len(form.groups))
    assert flow.progress(form, len(form.groups) - 1) == (len(form.groups), len(form.groups))


@settings(max_examples=150, deadline=None)
@given(form_and_answers())
def test_navigation_properties(case):
    form, answers = case
    shown = flow.shown_screens(form, answers)
    assert shown == reference_shown(form, answers)
    for index in range(len(form.groups)):
        following = flow.next_screen(form, index, answers)
        expected = [i for i in shown if i > index]
        assert following == (expected[0] if expected else None)
        if following is not None and index in shown:
            assert flow.previous_screen(form, following, answers) == index
        resumed = flow.resume_screen(form, index, answers)
        assert resumed in shown or (not shown and resumed == 0)
        if index in shown:
            assert resumed == index
        elif any(i < index for i in shown):
            assert resumed == max(i for i in shown if i < index)


# -- checks --------------------------------------------------------------------------------


def test_constraint_errors_show_at_once_required_ones_after_next():
    form = FORMS["consumer_environment"]
    respondent = screen(form, "respondent")
    answers = {"consent": "yes", "age": 30, "age_group": "50_64"}
    early = flow.live_errors(form, respondent, answers, "en", include_required=False)
    assert set(early) == {"age_group"}
    late = flow.live_errors(form, respondent, answers, "en", include_required=True)
    assert set(late) == {"district", "urban_rural", "sex", "age_group"}
    assert late["age_group"] == early["age_group"]
    assert flow.live_errors(form, respondent, answers, "zh", include_required=False)["age_group"] != early["age_group"]


def test_check_submission_drops_skipped_answers():
    form = FORMS["campaign_awareness"]
    answers = {
        "consent": "yes", "district": "rugao", "urban_rural": "rural", "sex": "female", "age_group": "35_49",
        "heard_campaign": "no", "info_sources": ["tv"], "campaign_agreement": "5",
    }
    check = flow.check_submission(form, answers, "zh")
    assert check.ok and check.errors == {} and check.to_frame().empty
    assert check.answers == {key: answers[key] for key in ("consent", "district", "urban_rural", "sex",
                                                          "age_group", "heard_campaign")}
    assert "ready to submit" in check.summary()


def test_check_submission_reports_the_first_screen_with_a_problem():
    form = FORMS["campaign_awareness"]
    answers = {"consent": "yes", "district": "rugao", "urban_rural": "rural", "sex": "female"}
    check = flow.check_submission(form, answers, "en")
    assert not check.ok
    assert check.screen == screen(form, "respondent")
    assert set(check.errors) == {"age_group"}
    assert list(check.to_frame()["question"]) == ["age_group"]
    assert "age_group" in check.summary()


# -- widget values --------------------------------------------------------------------------


def test_to_answer_conversions():
    form = FORMS["consumer_environment"]
    q = form.question
    assert flow.to_answer(form, q("age"), 41.0) == 41 and type(flow.to_answer(form, q("age"), 41.0)) is int
    assert flow.to_answer(form, q("age"), 41.5) == 41.5
    assert flow.to_answer(form, q("age"), None) is None
    assert flow.to_answer(form, q("suggestions"), "  ") is None
    assert flow.to_answer(form, q("suggestions"), " 好 ") == " 好 "
    codes = [choice.name for choice in form.choices("complaint_channels")]
    assert flow.to_answer(form, q("complaint_channels"), [codes[2], codes[0]]) == [codes[0], codes[2]]
    assert flow.to_answer(form, q("complaint_channels"), []) is None
    assert flow.to_answer(form, q("consent"), "yes") == "yes"


@settings(max_examples=100, deadline=None)
@given(form_and_answers())
def test_widget_values_round_trip(case):
    form, answers = case
    for name, value in answers.items():
        question = form.question(name)
        if question.type == "decimal":
            value = float(value)
        assert flow.to_answer(form, question, flow.to_widget(form, question, value)) == value


@pytest.mark.parametrize(
    ("name", "stored", "widget"),
    [("consent", "maybe", None), ("consent", None, None), ("suggestions", None, ""), ("age", "x", None),
     ("complaint_channels", ["gone", "other"], ["other"])],
)
def test_to_widget_ignores_values_the_widget_cannot_show(name, stored, widget):
    form = FORMS["consumer_environment"]
    assert flow.to_widget(form, form.question(name), stored) == widget
