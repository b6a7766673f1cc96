"""Coercing and checking imported answers; the model's own methods are the reference."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from questionnaires import Group, Question, Questionnaire, Text, shipped_questionnaires
from questionnaires.answers import (
    PROBLEM_KINDS, AnswerError, asked_frame, check_answers, coerce_answer, relevance,
)
from questionnaires.model import is_unanswered

SHIPPED = shipped_questionnaires()
TELECOM = SHIPPED["telecom_users"]


def complete_telecom(**changes) -> dict:
    answers = {"consent": "yes", "district": "rugao", "urban_rural": "rural", "sex": "female", "age": "41",
               "age_group": "35_49", "telecom_operator": "china_mobile", "telecom_services": "mobile iptv",
               "telecom_satisfaction": "4", "rate_network": "4", "rate_tariff": "3", "rate_marketing": "5",
               "rate_customer_service": "4", "rate_complaint_handling": "3", "visited_hall": "yes",
               "rate_hall": "5", "suggestions": ""}
    answers.update(changes)
    return answers


@pytest.mark.parametrize(("question", "cell", "expected"), [
    ("consent", "yes", "yes"),
    ("consent", " yes ", "yes"),
    ("telecom_satisfaction", 5, "5"),          # Excel stores a typed code as a number
    ("telecom_satisfaction", 5.0, "5"),
    ("telecom_services", "mobile  iptv", ["mobile", "iptv"]),
    ("telecom_services", ["mobile"], ["mobile"]),
    ("age", "34", 34),
    ("age", "34.0", 34),                       # pandas writes integer columns with missing values as floats
    ("age", np.int64(34), 34),
    ("age", 34.0, 34),
    ("suggestions", "很好", "很好"),
    ("suggestions", 123, "123"),
    ("age", "", None),
    ("age", float("nan"), None),
    ("consent", pd.NA, None),
    ("telecom_services", [], None),
    ("suggestions", "   ", None),
])
def test_cells_become_model_answers(question, cell, expected):
    value = coerce_answer(TELECOM, question, cell)
    assert value == expected and type(value) is type(expected)


def test_decimal_answers():
    form = Questionnaire("spend", "1", Text("消费"), (Group("g", Text("页"), (
        Question("decimal", "amount", Text("金额"), constraint=". >= 0"),)),), {}, languages=("zh",))
    assert coerce_answer(form, "amount", "2.5") == 2.5
    assert coerce_answer(form, "amount", " 1e3 ") == 1000.0
    assert coerce_answer(form, "amount", 3) == 3.0 and isinstance(coerce_answer(form, "amount", 3), float)
    for bad in ("inf", "nan", "1,5", True, float("inf")):
        with pytest.raises(AnswerError) as caught:
            coerce_answer(form, "amount", bad)
        assert caught.value.kind == "bad_value"
    assert [p.kind for p in check_answers(form, {"amount": "-1"}).problems] == ["constraint"]


@pytest.mark.parametrize(("question", "cell", "kind", "words"), [
    ("consent", "maybe", "unknown_code", "'maybe' is not a code of choice list 'yes_no' (codes: yes, no)"),
    ("telecom_services", "mobile fax", "unknown_code", "'fax' is not a code"),
    ("telecom_services", "mobile mobile", "bad_value", "repeats a code"),
    ("consent", "yes no", "bad_value", "holds 2 codes"),
    ("consent", True, "bad_value", "not a choice code"),
    ("age", "34.5", "bad_value", "not a whole number"),
    ("age", "abc", "bad_value", "not a whole number"),
    ("age", 34.5, "bad_value", "not a whole number"),
    ("age", True, "bad_value", "not a whole number"),
    ("intro_note", "x", "bad_value", "a note takes no answer"),
])
def test_bad_cells_are_refused_with_the_kind_of_problem(question, cell, kind, words):
    with pytest.raises(AnswerError) as caught:
        coerce_answer(TELECOM, question, cell)
    assert caught.value.kind == kind
    assert caught.value.question == question
    assert words in str(caught.value)


def test_a_clean_interview_has_no_problems():
    checked = check_answers(TELECOM, complete_telecom())
    assert checked.ok, checked.summary()
    assert checked.answers["age"] == 41 and checked.answers["telecom_services"] == ["mobile", "iptv"]
    assert "suggestions" not in checked.answers
    assert checked.to_frame().empty


@pytest.mark.parametrize(("changes", "question", "kind"), [
    ({"rate_network": "6"}, "rate_network", "unknown_code"),
    ({"age": "forty"}, "age", "bad_value"),
    ({"age": "120", "age_group": "65_plus"}, "age", "constraint"),  # out of range
    ({"age_group": "18_34"}, "age_group", "constraint"),       # does not match the age
    ({"visited_hall": "no"}, "rate_hall", "not_relevant"),     # should have been skipped
    ({"rate_tariff": None}, "rate_tariff", "missing_required"),
    ({"shoe_size": "42"}, "shoe_size", "unknown_question"),
])
def test_each_kind_of_problem_is_found(changes, question, kind):
    checked = check_answers(TELECOM, complete_telecom(**changes))
    assert [(p.question, p.kind) for p in checked.problems] == [(question, kind)]
    assert set(checked.to_frame()["kind"]) <= set(PROBLEM_KINDS)
    assert question in checked.summary()


def test_messages_quote_the_questionnaire_in_the_chosen_language():
    zh = check_answers(TELECOM, complete_telecom(age="120"), lang="zh").problems[0].message
    en = check_answers(TELECOM, complete_telecom(age="120"), lang="en").problems[0].message
    assert "年龄须在18至99岁之间" in zh and "Age must be between 18 and 99" in en
    with pytest.raises(ValueError, match="lang='fr'"):
        check_answers(TELECOM, {}, lang="fr")


def test_refusal_skips_everything_after_consent():
    checked = check_answers(TELECOM, {"consent": "no"})
    assert checked.ok and dict(checked.answers) == {"consent": "no"}
    later = check_answers(TELECOM, {"consent": "no", "district": "rugao"})
    assert [(p.question, p.kind) for p in later.problems] == [("district", "not_relevant")]
    assert "screen 'respondent' is skipped" in later.problems[0].message


def answer_sets(form):
    """Raw answers mixing valid codes, numbers, text cells and blanks for every question."""
    strategies = {}
    for question in form.questions:
        if question.type == "note":
            continue
        if question.type in ("select_one", "select_multiple"):
            codes = [choice.name for choice in form.choices(question)]
            one = st.sampled_from(codes)
            value = one if question.type == "select_one" else st.lists(one, min_size=1, max_size=3, unique=True)
        elif question.type == "integer":
            value = st.integers(0, 120) | st.integers(0, 120).map(str)
        elif question.type == "decimal":
            value = st.floats(-10, 200, allow_nan=False)
        else:
            value = st.text(max_size=3)
        strategies[question.name] = st.none() | value
    return st.fixed_dictionaries({}, optional=strategies)


@pytest.mark.parametrize("form_id", ["telecom_users", "public_services", "campaign_awareness"])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_checks_agree_with_the_model(form_id, data):
    form = SHIPPED[form_id]
    raw = data.draw(answer_sets(form))
    checked = check_answers(form, raw)
    coerced = {name: coerce_answer(form, name, value) for name, value in raw.items()}
    # skip logic: relevance() and the model's is_relevant()
    flags = relevance(form, coerced)
    assert flags == {name: form.is_relevant(name, coerced) for name in flags}
    assert dict(checked.answers) == form.clean(coerced)
    kinds = {problem.question: problem.kind for problem in checked.problems}
    for question in form.questions:
        name, value = question.name, coerced.get(question.name)
        if question.type == "note":
            continue
        answered = not is_unanswered(value)
        if answered and not flags[name]:
            assert kinds.get(name) == "not_relevant"
        elif flags[name]:
            message = form.check_answer(question, value, coerced, "en")
            assert (kinds.get(name) in ("constraint", "missing_required")) == (message is not None), name
    assert {n for n, k in kinds.items() if k == "missing_required"} == set(form.missing_required(coerced))


@given(value=st.integers(-10**12, 10**12))
def test_integer_text_round_trips(value):
    assert coerce_answer(TELECOM, "age", str(value)) == value
    assert coerce_answer(TELECOM, "age", float(value)) == value


def test_asked_frame_follows_skip_logic_row_by_row(rng):
    form = TELECOM
    rows = []
    for _ in range(40):
        row = complete_telecom(consent=rng.choice(["yes", "no"]), visited_hall=rng.choice(["yes", "no", ""]))
        row["age"] = float(row["age"])  # as responses_frame stores integers
        rows.append(row)
    frame = pd.DataFrame(rows, index=pd.RangeIndex(100, 140))
    frame["telecom_satisfaction"] = frame["telecom_satisfaction"].mask(frame.index % 3 == 0)
    asked = asked_frame(form, frame.drop(columns=["suggestions"]))
    assert list(asked.index) == list(frame.index)
    assert list(asked.columns) == [q.name for q in form.questions if q.type != "note"]
    assert asked.dtypes.map(pd.api.types.is_bool_dtype).all()
    for index, row in frame.iterrows():
        answers = {k: coerce_answer(form, k, v) for k, v in row.items()}
        for name in asked.columns:
            assert asked.at[index, name] == form.is_relevant(name, answers)
    assert asked["rate_hall"].sum() == ((frame["consent"] == "yes") & (frame["visited_hall"] == "yes")).sum()
    assert not math.isnan(asked["suggestions"].mean())


def test_answers_of_xlsform_types_are_coerced_as_odk_exports_them():
    from questionnaires import Choice, Group, Question, Questionnaire, Text
    import datetime

    labels = Text(texts={"English": "x"})
    form = Questionnaire(
        id="field", version="1", title=labels, languages=("English",), default_language="English", strict=False,
        choice_lists={"order": (Choice("a", labels), Choice("b", labels))},
        groups=(Group("g", labels, (
            Question("date", "day", labels), Question("time", "hour", labels), Question("datetime", "moment", labels),
            Question("range", "score", labels, parameters="start=0 end=10 step=2"),
            Question("rank", "ranking", labels, list_name="order"), Question("geopoint", "where", labels),
            Question("acknowledge", "ok", labels, required=True))),))
    assert coerce_answer(form, "day", "2026-03-01") == "2026-03-01"
    assert coerce_answer(form, "day", datetime.datetime(2026, 3, 1, 0, 0)) == "2026-03-01"
    assert coerce_answer(form, "hour", "14:30:00.000+01:00") == "14:30:00"
    assert coerce_answer(form, "moment", "2026-03-01T14:30:05.123+01:00") == "2026-03-01T14:30:05"
    assert coerce_answer(form, "score", "4") == 4 and coerce_answer(form, "score", 6.0) == 6
    assert coerce_answer(form, "ranking", "b a") == ["b", "a"]
    assert coerce_answer(form, "where", "-25.9 32.6 10 5") == "-25.9 32.6 10 5"
    with pytest.raises(AnswerError, match="is not a date"):
        coerce_answer(form, "day", "1 March")
    checked = check_answers(form, {"day": "2026-03-01", "score": "3", "ranking": "a c"})
    assert {(p.question, p.kind) for p in checked.problems} == {
        ("score", "bad_value"), ("ranking", "unknown_code"), ("ok", "missing_required")}
