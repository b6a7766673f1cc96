"""Quality control of stored interviews: what is checked, and the flags against hand-computed references.

Interviews are valid generated ones with problems planted in them; every reference (durations,
equal grid answers, shares of identical answers, asked-but-unanswered questions, planned PSUs)
is computed here from the interviews with plain Python and the questionnaire model.
"""
from __future__ import annotations

import dataclasses
import itertools
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from survey_app.review import InvalidReviewError, check_quality, quality_setup
from survey_app.store import ResponseStore
from tests.survey_app.review_helpers import FORMS, make_interviews, stored, with_answers

FORM = "consumer_environment"
GRID = ("env_safety", "env_integrity", "env_convenience", "env_redress")

# The rating screens of the shipped questionnaires, as their definitions lay them out.
EXPECTED_GRIDS = {
    "campaign_awareness": {"effects": ("effect_quality", "effect_integrity", "effect_redress", "effect_confidence")},
    "consumer_environment": {"dimensions": GRID},
    "public_services": {"service_ratings": ("water_satisfaction", "gas_satisfaction", "electricity_satisfaction",
                                            "elderly_care_satisfaction")},
    "salt_consumers": {"aspects": ("rate_salt_quality", "rate_salt_supply", "rate_salt_price",
                                   "rate_salt_labelling")},
    "telecom_users": {"aspects": ("rate_network", "rate_tariff", "rate_marketing", "rate_customer_service",
                                  "rate_complaint_handling")},
    "tourist_satisfaction": {"aspects": ("rate_transport", "rate_accommodation", "rate_catering",
                                         "rate_attractions", "rate_shopping", "rate_information")},
}


@pytest.mark.parametrize("form_id", sorted(FORMS))
def test_grids_are_the_rating_screens(form_id):
    setup = quality_setup(FORMS[form_id])
    assert dict(setup.grids) == EXPECTED_GRIDS[form_id]
    form = FORMS[form_id]
    assert set(setup.answer_columns) == {q.name for q in form.questions if q.type not in ("note", "text")}
    assert setup.min_duplicate_items == 10
    assert f"{len(setup.answer_columns)} answer columns" in setup.summary()


def test_distributions_compared_are_the_categorical_target_questions():
    assert quality_setup(FORMS[FORM]).distribution_columns == ("overall_satisfaction",)
    assert quality_setup(FORMS["public_services"]).distribution_columns == (
        "public_service_satisfaction", "water_satisfaction", "gas_satisfaction", "electricity_satisfaction",
        "elderly_care_satisfaction")
    assert quality_setup(FORMS["tourist_satisfaction"]).distribution_columns == ()  # a 0-100 score, not categories
    chosen = quality_setup(FORMS[FORM], target_questions=["sex", "age", "nope"])
    assert chosen.distribution_columns == ("sex",)


def test_bad_setup_arguments_are_explained():
    with pytest.raises(InvalidReviewError, match="min_grid_items must be an integer >= 2, got 1"):
        quality_setup(FORMS[FORM], min_grid_items=1)
    with pytest.raises(InvalidReviewError, match="questionnaire must be a Questionnaire, got str"):
        quality_setup(FORM)


def planted(rng) -> tuple[list, dict[str, str]]:
    """Interviews with one problem of each kind; the planted ids by problem."""
    interviews = make_interviews(FORM, rng)
    respondents = [i for i, item in enumerate(interviews) if item.answers["consent"] == "yes"]
    fast, straight, original, copy, gaps = respondents[:5]
    item = interviews[fast]
    interviews[fast] = dataclasses.replace(item, submitted_at=item.started_at + timedelta(seconds=40))
    scores = {name: interviews[straight].answers[name] for name in GRID}
    level = next(code for code in "12345" if set(scores.values()) != {code})
    interviews[straight] = with_answers(interviews[straight], **dict.fromkeys(GRID, level))
    # the same answers as another interview, entered under another id by another interviewer
    interviews[copy] = dataclasses.replace(interviews[copy], answers=dict(interviews[original].answers))
    kept = ("consent", "district", "urban_rural", "sex", "age", "age_group")
    interviews[gaps] = dataclasses.replace(interviews[gaps], answers={
        k: v for k, v in interviews[gaps].answers.items() if k in kept})
    ids = {name: interviews[index].interview_id for name, index in
           (("fast", fast), ("straight", straight), ("original", original), ("copy", copy), ("gaps", gaps))}
    return interviews, ids


def by_hand(interviews: list, form_id: str = FORM) -> dict[str, set[str]]:
    """Which respondents each check should flag, computed directly from the interviews."""
    form = FORMS[form_id]
    setup = quality_setup(form)
    people = [i for i in interviews if i.answers.get("consent") == "yes"]
    seconds = {i.interview_id: (i.submitted_at - i.started_at).total_seconds() for i in people}
    median = float(np.median(list(seconds.values())))
    flagged = {"too_fast": {iid for iid, s in seconds.items() if s < median / 3}}
    flagged["straightlining"] = {
        i.interview_id for i in people
        if all(name in i.answers for name in GRID) and len({i.answers[name] for name in GRID}) == 1}
    asked = {i.interview_id: [q.name for q in form.questions
                              if q.type not in ("note",) and q.name in setup.answer_columns
                              and form.is_relevant(q, i.answers)] for i in people}
    flagged["item_nonresponse"] = {
        i.interview_id for i in people
        if sum(name not in i.answers for name in asked[i.interview_id]) / len(asked[i.interview_id]) > 0.3}

    def share(a, b) -> float | None:
        answered = [name for name in setup.answer_columns if name in a.answers or name in b.answers]
        if len(answered) < setup.min_duplicate_items:
            return None
        same = sum(name in a.answers and name in b.answers and str(a.answers[name]) == str(b.answers[name])
                   for name in answered)
        return same / len(answered)

    best: dict[str, float] = {}
    for a, b in itertools.combinations(people, 2):
        value = share(a, b)
        if value is not None:
            for one in (a, b):
                best[one.interview_id] = max(best.get(one.interview_id, 0.0), value)
    flagged["near_duplicate"] = {iid for iid, value in best.items() if value >= 0.95}
    return flagged


def test_planted_problems_are_flagged_as_the_references_say(rng):
    interviews, ids = planted(rng)
    store = ResponseStore("sqlite://")
    stored(store, interviews)
    responses = store.responses_frame(FORM)
    planned = {(i.district, i.psu) for i in interviews}
    dropped = sorted(planned)[3]
    assignments = pd.DataFrame(sorted(planned - {dropped}), columns=["district", "psu"])
    check = check_quality(responses, FORMS[FORM], assignments=assignments)
    table = check.flags.to_frame().set_index("interview_id")
    refusals = [i for i in interviews if i.answers["consent"] != "yes"]
    assert check.refusals == len(refusals) and not table.index.isin([i.interview_id for i in refusals]).any()
    expected = by_hand(interviews)
    expected["outside_psu"] = {i.interview_id for i in interviews
                               if i.answers["consent"] == "yes" and (i.district, i.psu) == dropped}
    for flag, reference in expected.items():
        assert set(table.index[table[flag]]) == reference, flag
    assert ids["fast"] in expected["too_fast"] and ids["straight"] in expected["straightlining"]
    assert {ids["original"], ids["copy"]} <= expected["near_duplicate"]
    assert ids["gaps"] in expected["item_nonresponse"] and expected["outside_psu"]
    assert "too fast" in table.at[ids["fast"], "reasons"]
    assert table.at[ids["copy"], "duplicate_of"] == ids["original"]


def test_an_interviewer_who_fabricates_interviews_stands_out(rng):
    interviews = make_interviews(FORM, rng)
    cheat = interviews[0].interviewer
    template = next(i for i in interviews if i.interviewer == cheat and i.answers["consent"] == "yes")
    for index, item in enumerate(interviews):
        if item.interviewer == cheat:
            answers = {**template.answers, **dict.fromkeys(GRID, "5"), "overall_satisfaction": "5"}
            interviews[index] = dataclasses.replace(item, answers=answers,
                                                    submitted_at=item.started_at + timedelta(minutes=2))
    store = ResponseStore("sqlite://")
    stored(store, interviews)
    review = check_quality(store.responses_frame(FORM), FORMS[FORM]).interviewers.to_frame()
    assert review.index[0] == cheat
    assert review.at[cheat, "share_too_fast"] == 1.0 and review.at[cheat, "share_near_duplicate"] == 1.0
    assert review["anomaly_score"].iloc[0] > review["anomaly_score"].iloc[1:].max()
    assert review.at[cheat, "drivers"]


def test_the_order_of_the_interviews_does_not_matter(rng):
    interviews, _ = planted(rng)
    store = ResponseStore("sqlite://")
    stored(store, interviews)
    responses = store.responses_frame(FORM)
    shuffled = responses.sample(frac=1, random_state=np.random.RandomState(rng.integers(2**31)))
    first, second = check_quality(responses, FORMS[FORM]), check_quality(shuffled, FORMS[FORM])
    columns = ["too_fast", "straightlining", "item_nonresponse", "near_duplicate", "n_flags", "reasons"]
    a = first.flags.to_frame().set_index("interview_id")[columns].sort_index()
    b = second.flags.to_frame().set_index("interview_id")[columns].sort_index()
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_series_equal(first.interviewers.to_frame()["anomaly_score"].sort_index(),
                                   second.interviewers.to_frame()["anomaly_score"].sort_index())


def test_only_refusals_leave_nothing_to_check(rng):
    interviews = [dataclasses.replace(i, answers={"consent": "no"}) for i in make_interviews(FORM, rng)[:6]]
    store = ResponseStore("sqlite://")
    stored(store, interviews)
    check = check_quality(store.responses_frame(FORM), FORMS[FORM])
    assert (check.flags, check.interviewers, check.refusals) == (None, None, 6)
    assert check.to_frame().empty and "6 refusals" in check.summary()


def test_a_questionnaire_nobody_answered_some_questions_of_is_still_checked(rng):
    interviews = [dataclasses.replace(i, answers={k: v for k, v in i.answers.items() if k != "had_problem"})
                  for i in make_interviews(FORM, rng)]
    store = ResponseStore("sqlite://")
    stored(store, interviews)
    responses = store.responses_frame(FORM).drop(columns=["had_problem"])
    check = check_quality(responses, FORMS[FORM])
    assert len(check.flags.to_frame()) == sum(i.answers["consent"] == "yes" for i in interviews)
