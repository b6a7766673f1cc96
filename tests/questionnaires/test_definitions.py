"""The shipped questionnaires: they load, a complete interview passes, and they share the weighting variables."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from questionnaires import Questionnaire, load_districts, load_questionnaire, shipped_questionnaires

DEFINITIONS = Path(__file__).parents[2] / "questionnaires" / "definitions"
SHIPPED = shipped_questionnaires()
WEIGHTING_VARIABLES = ("consent", "district", "sex", "age", "age_group", "urban_rural")

RESPONDENT = {"consent": "yes", "district": "rugao", "urban_rural": "rural", "sex": "female", "age": 52,
              "age_group": "50_64"}

# One scripted interview per questionnaire, answering every question on the path it takes.
COMPLETE = {
    "consumer_environment": {
        **RESPONDENT, "overall_satisfaction": "4", "env_safety": "4", "env_integrity": "3", "env_convenience": "5",
        "env_redress": "2", "had_problem": "yes", "complained": "yes",
        "complaint_channels": ["hotline_12315", "other"], "complaint_channel_other": "写信给市长信箱",
        "complaint_satisfaction": "3", "suggestions": "加强网络购物监管",
    },
    "campaign_awareness": {
        **RESPONDENT, "heard_campaign": "yes", "info_sources": ["tv_radio", "shop_sign"],
        "campaign_agreement": "5", "effect_quality": "4", "effect_integrity": "4", "effect_redress": "3",
        "effect_confidence": "5",
    },
    "public_services": {
        **RESPONDENT, "services_used": ["water", "electricity", "elderly_care"], "water_satisfaction": "4",
        "electricity_satisfaction": "5", "elderly_care_satisfaction": "3", "public_service_satisfaction": "4",
        "service_problems": ["opaque_charges", "slow_repairs"],
    },
    "tourist_satisfaction": {
        **RESPONDENT, "tourist_origin": "other_province", "visit_type": "overnight", "tourist_score": 86,
        "rate_transport": "4", "rate_accommodation": "5", "rate_catering": "4", "rate_attractions": "5",
        "rate_shopping": "3", "rate_information": "4", "would_recommend": "yes",
        # issue 16: the ACSI-type items of the multi-item index (1-10; complaints coded 1/0)
        "acsi_expectation": 7, "acsi_quality": 8, "acsi_value": 7, "acsi_satisfaction": 9, "acsi_vs_expectation": 8,
        "acsi_vs_ideal": 7, "acsi_complained": "0", "acsi_revisit": 8,
    },
    "telecom_users": {
        **RESPONDENT, "telecom_operator": "china_mobile", "telecom_services": ["mobile", "broadband"],
        "telecom_satisfaction": "4", "rate_network": "5", "rate_tariff": "3", "rate_marketing": "3",
        "rate_customer_service": "4", "rate_complaint_handling": "4", "visited_hall": "yes", "rate_hall": "5",
    },
    "salt_consumers": {
        **RESPONDENT, "salt_place": "supermarket", "salt_type": "iodised", "salt_satisfaction": "5",
        "rate_salt_quality": "5", "rate_salt_supply": "5", "rate_salt_price": "4", "rate_salt_labelling": "4",
        "suspect_salt": "no",
    },
}
# The variable that measures each numeric target of the plan.
TARGET_VARIABLES = {
    "consumer_environment": ["overall_satisfaction"],
    "campaign_awareness": ["heard_campaign", "campaign_agreement"],
    "public_services": ["public_service_satisfaction"],
    "tourist_satisfaction": ["tourist_score"],
    "telecom_users": ["telecom_satisfaction"],
    "salt_consumers": ["salt_satisfaction"],
}


@pytest.fixture(params=sorted(SHIPPED))
def form(request) -> Questionnaire:
    return SHIPPED[request.param]


def test_every_definition_file_is_shipped_under_its_id():
    files = sorted(DEFINITIONS.glob("*.yaml"))
    assert sorted(SHIPPED) == sorted(COMPLETE) == [path.stem for path in files]
    assert list(SHIPPED) == sorted(SHIPPED)
    for path in files:
        assert load_questionnaire(path) == SHIPPED[path.stem]


def test_scripted_complete_interview_passes(form):
    answers = COMPLETE[form.id]
    assert form.missing_required(answers) == []
    assert form.clean(answers) == answers  # every scripted answer is on the interview's path
    for question in form.questions:
        if form.is_relevant(question, answers):
            for lang in form.languages:
                assert form.check_answer(question, answers.get(question.name), answers, lang) is None, question.name
    for group in form.groups:
        assert form.page_errors(group, answers, "zh") == {}


def test_a_skipped_required_answer_is_reported(form):
    answers = dict(COMPLETE[form.id])
    target = TARGET_VARIABLES[form.id][0]
    del answers[target]
    assert form.missing_required(answers) == [target]
    assert target in form.page_errors(form.group_of(target), answers, "en")


def test_without_consent_the_interview_ends(form):
    answers = {**COMPLETE[form.id], "consent": "no"}
    consent_group = form.group_of("consent")
    for question in form.questions:
        expected = form.group_of(question) == consent_group
        assert form.is_relevant(question, answers) is expected, question.name
    assert form.clean(answers) == {"consent": "no"}
    assert form.missing_required(answers) == []
    assert form.missing_required({}) == ["consent"]
    assert form.questions[0].type == "note" and form.questions[1].name == "consent"


def test_weighting_variables_are_the_same_in_every_questionnaire(form):
    reference = SHIPPED["consumer_environment"]
    for name in WEIGHTING_VARIABLES:
        question, expected = form.question(name), reference.question(name)
        assert (question.type, question.required, question.constraint) == (
            expected.type, expected.required, expected.constraint), name
        if question.list_name is not None:
            assert form.choices(question) == reference.choices(expected), name
    assert form.choices("district") == tuple(load_districts())
    assert [c.name for c in form.choices("age_group")] == ["18_34", "35_49", "50_64", "65_plus"]
    assert form.question("age").constraint == ". >= 18 and . <= 99"


@pytest.mark.parametrize(("age", "group"), [(18, "18_34"), (34, "18_34"), (35, "35_49"), (49, "35_49"),
                                            (50, "50_64"), (64, "50_64"), (65, "65_plus"), (99, "65_plus")])
def test_age_group_must_match_the_age_given(age, group):
    form = SHIPPED["consumer_environment"]
    for choice in form.choices("age_group"):
        answers = {**RESPONDENT, "age": age, "age_group": choice.name}
        error = form.check_answer("age_group", choice.name, answers, "en")
        assert (error is None) is (choice.name == group), (age, choice.name)
        assert form.check_answer("age_group", choice.name, {**answers, "age": None}, "en") is None


def test_target_variables_exist_and_scales_are_coded_one_to_five(form):
    for name in TARGET_VARIABLES[form.id]:
        assert form.question(name).required
    for question in form.questions:
        if question.list_name in ("satisfaction5", "agreement5"):
            choices = form.choices(question)
            assert [c.name for c in choices] == ["1", "2", "3", "4", "5"]
    if "satisfaction5" in form.choice_lists:
        top = form.choice_lists["satisfaction5"][-1].label
        assert (top.zh, top.en) == ("非常满意", "Very satisfied")
    score = SHIPPED["tourist_satisfaction"].question("tourist_score")
    assert (score.type, score.constraint) == ("integer", ". >= 0 and . <= 100")


def test_every_text_is_bilingual(form):
    assert form.languages == ("zh", "en") and form.default_language == "zh"
    texts = [form.title] + [g.label for g in form.groups]
    texts += [t for q in form.questions for t in (q.label, q.hint, q.required_message, q.constraint_message) if t]
    texts += [c.label for choices in form.choice_lists.values() for c in choices]
    for text in texts:
        assert text.zh.strip() and text.en and text.en.strip()
        assert text.get("en") != text.get("zh") or text.zh.isascii()


def test_material_for_quality_checks_exists():
    questions = [q for form in SHIPPED.values() for q in form.questions]
    assert any(q.type == "text" for q in questions)
    assert any(q.type == "select_multiple" for q in questions)
    grids = [g for form in SHIPPED.values() for g in form.groups
             if sum(q.list_name in ("satisfaction5", "agreement5") for q in g.questions) >= 4]
    assert len(grids) >= 3


def test_awareness_recognition_and_public_service_skip_logic():
    awareness = SHIPPED["campaign_awareness"]
    base = {**RESPONDENT, "heard_campaign": "no"}
    assert not awareness.is_relevant("campaign_agreement", base)
    assert awareness.missing_required(base) == []
    services = SHIPPED["public_services"]
    answers = {**RESPONDENT, "services_used": ["gas"]}
    asked = {q.name for q in services.questions if services.is_relevant(q, answers)}
    assert {"gas_satisfaction", "public_service_satisfaction"} <= asked
    assert not asked & {"water_satisfaction", "electricity_satisfaction", "elderly_care_satisfaction"}
    none = {**RESPONDENT, "services_used": ["none"]}
    assert services.missing_required(none) == []
    assert services.check_answer("services_used", ["none", "gas"], none, "en") is not None


def _simulate(form: Questionnaire, rng: np.random.Generator) -> dict:
    """Walk the screens in order like an interviewer, giving random answers the tablet accepts."""
    answers: dict = {"consent": "yes"}
    decided = {"consent"}
    for group in form.groups:
        # answering a question can show the next one on the same screen, as the page re-renders
        while pending := [q for q in form.visible_questions(group, answers)
                          if q.type != "note" and q.name not in decided]:
            question = pending[0]
            decided.add(question.name)
            for _ in range(200):
                value = _random_value(form, question, rng)
                if form.check_answer(question, value, {**answers, question.name: value}, "zh") is None:
                    break
            else:
                raise AssertionError(f"no acceptable answer found for {question.name}")
            if value is not None:
                answers[question.name] = value
        assert form.page_errors(group, answers, "en") == {}
    return answers


def _random_value(form: Questionnaire, question, rng: np.random.Generator):
    if not question.required and rng.random() < 0.3:
        return None
    if question.type == "select_one":
        return str(rng.choice([c.name for c in form.choices(question)]))
    if question.type == "select_multiple":
        names = [c.name for c in form.choices(question)]
        size = int(rng.integers(1, len(names) + 1))
        return [str(name) for name in rng.choice(names, size=size, replace=False)]
    if question.type == "integer":
        return int(rng.integers(-5, 130))
    if question.type == "decimal":
        return float(rng.uniform(-5, 130))
    return "随机回答"


def test_random_complete_interviews_leave_nothing_missing(form, rng):
    for _ in range(30):
        answers = _simulate(form, rng)
        assert form.missing_required(answers) == []
        assert form.clean(answers) == answers
