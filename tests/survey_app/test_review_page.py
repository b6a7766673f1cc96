"""The quality-control and review page in the running app (``streamlit.testing.v1.AppTest``).

Interviews are generated (valid) with problems planted in known ones; what the page shows is
checked against those plants and against the store and the audit log after each decision.
"""
from __future__ import annotations

import dataclasses
import io
import json
from datetime import timedelta

import openpyxl
import pandas as pd
import pytest

from survey_app.auth import Accounts
from survey_app.i18n import t
from survey_app.pages.review import (
    decision_keys,
    duration_chart,
    interviewer_table,
    read_assignments,
    score_chart,
)
from survey_app.review import check_quality
from survey_app.store import ResponseStore
from tests.survey_app.review_helpers import FORMS, clean, make_interviews, open_page, stored, texts

PAGE = "pages/review.py"
FORM = "consumer_environment"


@pytest.fixture
def fieldwork(db_url, rng) -> dict[str, str]:
    """Stored interviews with one fabricated-looking one (far too fast, straight-lined, half empty);
    the ids of that one and of a refusal."""
    interviews = make_interviews(FORM, rng)
    fast = next(i for i, item in enumerate(interviews) if item.answers["consent"] == "yes")
    item = interviews[fast]
    answers = {name: value for name, value in item.answers.items()
               if name not in ("urban_rural", "sex", "age", "age_group", "had_problem")}
    answers.update(dict.fromkeys(("env_safety", "env_integrity", "env_convenience", "env_redress"), "3"))
    interviews[fast] = dataclasses.replace(item, answers=answers,
                                           submitted_at=item.started_at + timedelta(seconds=50))
    stored(ResponseStore(db_url), interviews)
    refusal = next(item.interview_id for item in interviews if item.answers["consent"] != "yes")
    return {"fast": item.interview_id, "refusal": refusal}


def review_page(accounts: Accounts, username: str = "chief", *, lang: str | None = None):
    at = open_page(accounts, username, PAGE, lang=lang)
    at.selectbox(key="review_questionnaire").set_value(FORM)
    return clean(at.run())


def metric(at, key: str, lang: str = "zh") -> str:
    return next(m.value for m in at.metric if m.label == t(f"review.{key}", lang))


def decide(at, decision: str, reason: str | None = None, comment: str = ""):
    """Fill the decision form of the interview chosen on the page and save it."""
    keys = decision_keys(at.selectbox(key="review_interview").value)
    clean(at.radio(key=keys[0]).set_value(decision).run())  # the choice enables the reason
    if reason is not None:
        at.selectbox(key=keys[1]).set_value(reason)
    at.text_area(key=keys[2]).input(comment)
    return clean(at.button(key="review_submit").click().run())


def test_the_flagged_interview_comes_first_and_is_rejected_with_its_reason(accounts, db_url, fieldwork):
    at = review_page(accounts)
    store = ResponseStore(db_url)
    frame = store.responses_frame(FORM)
    respondents = int((frame["consent"] == "yes").sum())
    assert metric(at, "metric_checked") == str(respondents)
    assert metric(at, "metric_refusals") == str(len(frame) - respondents)
    picked = at.selectbox(key="review_interview")
    assert picked.value == fieldwork["fast"]  # flagged ones first
    assert any(t("review.flag_too_fast", "zh") in text or "分钟" in text for text in texts(at, "warning"))
    assert at.selectbox(key=decision_keys(fieldwork["fast"])[1]).value == "too_fast"  # the flag suggests it
    at = decide(at, "reject", "too_fast", "回访：受访者说访问只有一分钟")
    assert texts(at, "success") == [t("review.decided", "zh", id=fieldwork["fast"][:8],
                                      status=t("review.status_rejected", "zh"))]
    stored_interview = store.get_interview(fieldwork["fast"])
    assert (stored_interview.status, stored_interview.void_reason) == (
        "rejected", "too_fast: 回访：受访者说访问只有一分钟")
    assert fieldwork["fast"] not in set(store.responses_frame(FORM)["interview_id"])
    assert metric(at, "metric_rejected") == "1"
    assert t("review.excluded_line", "zh", status=t("review.status_rejected", "zh"), n=1,
             reasons=f"{t('review_reasons.too_fast', 'zh')} 1") in texts(at, "markdown")
    assert at.text_area(key=decision_keys(fieldwork["fast"])[2]).value == ""  # a fresh form
    log = accounts.audit_log(accounts.get_user("chief"))
    entry = log[log["action"] == "reject_interview"].iloc[0]
    assert entry["target"] == fieldwork["fast"] and entry["actor"] == "chief"
    assert json.loads(entry["detail"])["comment"] == "回访：受访者说访问只有一分钟"
    history = next(f.value for f in at.dataframe if "actor" in f.value.columns)
    assert list(history["interview"]) == [fieldwork["fast"][:8]]


def test_decisions_without_a_reason_are_refused_on_the_page(accounts, db_url, fieldwork):
    at = review_page(accounts, lang="en")
    at.selectbox(key="review_interview").set_value(fieldwork["refusal"])  # no flag, so no suggested reason
    clean(at.run())
    assert t("review.refusal", "en") in texts(at, "caption")
    at = decide(at, "void")
    assert texts(at, "error") == [t("review.need_reason", "en")]
    at = decide(at, "reject", "other")
    assert texts(at, "error") == [t("review.need_comment", "en")]
    assert ResponseStore(db_url).get_interview(fieldwork["refusal"]).status == "submitted"
    at = decide(at, "approve", comment="called back: refused politely")
    assert ResponseStore(db_url).get_interview(fieldwork["refusal"]).status == "approved"
    assert metric(at, "metric_approved", "en") == "1"


def test_a_voided_interview_leaves_the_list_and_the_estimates(accounts, db_url, fieldwork):
    at = review_page(accounts)
    at = decide(at, "void", "not_confirmed")
    store = ResponseStore(db_url)
    assert store.get_interview(fieldwork["fast"]).status == "voided"
    assert fieldwork["fast"] not in at.selectbox(key="review_interview").options
    assert metric(at, "metric_checked") == str(int((store.responses_frame(FORM)["consent"] == "yes").sum()))


def test_statisticians_see_the_checks_but_do_not_review(accounts, fieldwork):
    at = review_page(accounts, "S01")
    assert at.metric and at.dataframe
    assert "review_submit" not in [b.key for b in at.button]
    assert t("review.statistician_only", "zh") in texts(at, "info")
    assert len(at.tabs) == 3  # no review log: the audit log is for administrators


def test_interviewers_are_refused(accounts, fieldwork):
    at = open_page(accounts, "A01", PAGE, direct=True)
    assert len(at.error) == 1 and len(at.main.children) == 1


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_reasons_are_in_the_interface_language(accounts, fieldwork, lang):
    at = review_page(accounts, lang=lang)
    table = next(f.value for f in at.dataframe if "reasons" in f.value.columns)
    reason = table.loc[table["interview"] == fieldwork["fast"][:8], "reasons"].iloc[0]
    if lang == "zh":
        assert "分钟" in reason and "too fast" not in reason
    else:
        assert reason.startswith("took ") and "min" in reason
    assert texts(at, "header")[0] == t("review.title", lang)


def test_assignments_enable_the_outside_psu_flag(accounts, db_url, fieldwork):
    frame = ResponseStore(db_url).responses_frame(FORM)
    planned = frame[["sample_district", "psu"]].drop_duplicates().rename(columns={"sample_district": "district"})
    dropped = planned.iloc[0]
    assignments = planned.iloc[1:]
    at = review_page(accounts, lang="en")
    at.file_uploader[0].set_value(("assignments.csv", assignments.to_csv(index=False).encode(), "text/csv"))
    clean(at.run())
    assert t("review.no_assignments", "en") not in texts(at, "caption")
    table = next(f.value for f in at.dataframe if "reasons" in f.value.columns)
    outside = table[table["flags"].str.contains(t("review.flag_outside_psu", "en"))]
    expected = frame[(frame["consent"] == "yes") & (frame["psu"] == dropped["psu"])]["interview_id"].str[:8]
    assert sorted(outside["interview"]) == sorted(expected)


def test_a_questionnaire_without_interviews_says_so(accounts, fieldwork):
    at = review_page(accounts)
    at.selectbox(key="review_questionnaire").set_value("salt_consumers")
    clean(at.run())
    assert texts(at, "info") == [t("review.no_data", "zh")]


def test_assignments_are_read_from_the_sample_design_download():
    planned = pd.DataFrame({"district": ["rugao", "rugao"], "psu": ["R01", "R02"], "psu_name": ["东村", None],
                            "interviews": [15, 15]})
    read = read_assignments(planned.to_csv(index=False).encode("utf-8-sig"))
    assert sorted(map(tuple, read[["district", "psu"]].to_numpy())) == [
        ("rugao", "R01"), ("rugao", "R02"), ("rugao", "东村")]
    book = openpyxl.Workbook()
    book.active.append(["district", "psu", "interviewer"])
    book.active.append(["haimen", "H07", "A01"])
    buffer = io.BytesIO()
    book.save(buffer)
    assert read_assignments(buffer.getvalue()).to_dict("records") == [
        {"district": "haimen", "psu": "H07", "interviewer": "A01"}]
    with pytest.raises(KeyError, match="psu"):
        read_assignments(b"district;village\nrugao;R01\n")
    with pytest.raises(ValueError):
        read_assignments(b"PK\x03\x04 not really a workbook")


def test_the_charts_draw_the_too_fast_line_and_the_scores_in_order(rng, db_url):
    interviews = make_interviews(FORM, rng)
    stored(ResponseStore(db_url), interviews)
    check = check_quality(ResponseStore(db_url).responses_frame(FORM), FORMS[FORM], speed_ratio=0.25)
    flags = check.flags
    spec = duration_chart(flags.to_frame()["duration"], flags.median_duration, 0.25, "en").to_dict()
    limits = [dataset for name, dataset in spec["datasets"].items() if dataset and "limit" in dataset[0]]
    assert limits[0][0]["limit"] == pytest.approx(0.25 * flags.median_duration / 60)
    table = interviewer_table(check, FORMS[FORM], "en")
    review = check.interviewers.to_frame()
    assert list(table["interviewer"]) == list(review.index)
    assert table["median_duration"].to_numpy() == pytest.approx(review["median_duration"].to_numpy() / 60)
    assert table["share_flagged"].to_numpy() == pytest.approx(review["share_flagged"].to_numpy() * 100)
    bars = score_chart(table, "en").to_dict()
    assert bars["layer"][0]["encoding"]["y"]["sort"] == "-x"
