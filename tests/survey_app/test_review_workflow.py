"""The review workflow: status changes in the store, the audit trail, and what the estimates leave out.

References are computed here from the stored interviews with plain pandas (which ids count,
the share of satisfied respondents), independently of the store's filters and the report.
"""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from analysis.targets import load_targets
from survey_app.auth import Accounts, PermissionDeniedError
from survey_app.excel import write_report
from survey_app.importer import import_responses
from survey_app.reporting import report_from_store
from survey_app.review import (
    REASONS,
    InvalidReviewError,
    excluded_interviews,
    reason_code,
    review_interview,
)
from survey_app.store import (
    STATUSES,
    ConcurrentUpdateError,
    InvalidArgumentError,
    ResponseStore,
    _interviews,
)
from tests.survey_app.review_helpers import FAST, FORMS, make_interviews, make_users, stored
from tests.survey_app.store_reference import Clock

FORM = "consumer_environment"
TARGET = next(t for t in load_targets() if t.id == "consumer_environment_satisfaction")


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 10, 20, 9, 0, tzinfo=timezone.utc))


@pytest.fixture
def store(db_url, clock) -> ResponseStore:
    store = ResponseStore(db_url, clock=clock)
    yield store
    store.close()


@pytest.fixture
def accounts(db_url, clock) -> Accounts:
    accounts = Accounts(db_url, hasher=FAST, clock=clock)
    yield accounts
    accounts.close()


@pytest.fixture
def users(accounts):
    return make_users(accounts)


@pytest.fixture
def ids(store, rng) -> list[str]:
    return stored(store, make_interviews(FORM, rng))


def review_log(accounts: Accounts, admin) -> pd.DataFrame:
    log = accounts.audit_log(admin)
    return log[log["action"].str.endswith("_interview") | (log["action"] == "review_failed")].iloc[::-1]


# -- the store ---------------------------------------------------------------------------------


def test_statuses_of_the_review_are_known_to_the_store():
    assert STATUSES == ("draft", "submitted", "approved", "rejected", "voided")


def test_set_status_changes_only_the_status_and_its_reason(store, ids):
    before = store.get_interview(ids[0])
    after = store.set_status(ids[0], "rejected", reason="too_fast: 4 minutes", expected="submitted")
    assert (after.status, after.void_reason) == ("rejected", "too_fast: 4 minutes")
    assert dict(after.answers) == dict(before.answers)
    assert (after.started_at, after.submitted_at) == (before.started_at, before.submitted_at)
    assert after.updated_at > before.updated_at  # the results pages' caches see the change
    approved = store.set_status(ids[0], "approved", reason=None, expected="rejected")
    assert (approved.status, approved.void_reason) == ("approved", None)


def test_submitted_means_the_interviews_that_count(store, ids):
    store.set_status(ids[0], "approved", reason=None, expected="submitted")
    store.set_status(ids[1], "rejected", reason="near_duplicate", expected="submitted")
    store.set_status(ids[2], "voided", reason="ineligible", expected="submitted")
    draft = store.start_interview(FORM, "1.0", interviewer="A01", district="rugao", psu="P", wave="2026")
    counted = set(ids) - {ids[1], ids[2]}
    assert set(store.responses_frame(FORM)["interview_id"]) == counted
    assert {i.id for i in store.interviews(questionnaire_id=FORM)} == counted
    every = store.responses_frame(FORM, status="all")
    assert set(every["interview_id"]) == set(ids) | {draft}
    assert list(store.responses_frame(FORM, status="rejected")["interview_id"]) == [ids[1]]
    assert list(store.responses_frame(FORM, status="approved")["interview_id"]) == [ids[0]]


def test_set_status_refuses_what_a_reviewer_cannot_do(store, ids):
    draft = store.start_interview(FORM, "1.0", interviewer="A01", district="rugao", psu="P", wave="2026")
    with pytest.raises(InvalidArgumentError, match="expected must be one of.*'draft'"):
        store.set_status(draft, "approved", reason=None, expected="draft")
    with pytest.raises(InvalidArgumentError, match="status must be one of 'approved', 'rejected', 'voided'"):
        store.set_status(ids[0], "submitted", reason=None, expected="approved")
    with pytest.raises(InvalidArgumentError, match="reason must be a non-empty string"):
        store.set_status(ids[0], "rejected", reason="  ", expected="submitted")
    with pytest.raises(InvalidArgumentError, match="an approval has no reason"):
        store.set_status(ids[0], "approved", reason="fine", expected="submitted")
    # someone else decided since the reviewer looked: nothing changes
    store.set_status(ids[0], "rejected", reason="too_fast", expected="submitted")
    with pytest.raises(ConcurrentUpdateError, match="is rejected now, not submitted"):
        store.set_status(ids[0], "approved", reason=None, expected="submitted")
    assert store.get_interview(ids[0]).status == "rejected"
    assert store.get_interview(draft).status == "draft"


def test_a_reviewed_interview_submitted_again_from_a_tablet_is_unchanged(store, ids):
    interview = store.get_interview(ids[0])
    store.set_status(ids[0], "approved", reason=None, expected="submitted")
    # the tablet retries its submission after a dropped connection
    assert store.submit(ids[0], dict(interview.answers)).status == "approved"


def old_schema_sql() -> str:
    """The interviews table as created before interviews were reviewed."""
    sql = str(sa.schema.CreateTable(_interviews).compile(dialect=sa.dialects.sqlite.dialect()))
    new = "'draft', 'submitted', 'approved', 'rejected', 'voided'"
    assert new in sql
    return sql.replace(new, "'draft', 'submitted', 'voided'")


def test_a_database_from_before_the_review_is_upgraded(tmp_path, rng):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute(old_schema_sql())
        for index in _interviews.indexes:
            conn.execute(str(sa.schema.CreateIndex(index).compile(dialect=sa.dialects.sqlite.dialect())))
    interviews = make_interviews(FORM, rng)[:5]
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:  # rows as the old code wrote them
        conn.execute(_interviews.insert(), [
            {"id": i.interview_id, "questionnaire_id": FORM, "questionnaire_version": "1.0", "wave": "2026",
             "interviewer": i.interviewer, "district": i.district, "psu": i.psu, "status": "submitted", "page": 0,
             "answers": json.dumps(dict(i.answers)), "revision": 0, "started_at": i.started_at,
             "submitted_at": i.submitted_at, "updated_at": i.submitted_at, "void_reason": None}
            for i in interviews])
    engine.dispose()
    with sqlite3.connect(path) as conn, pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        conn.execute("UPDATE interviews SET status = 'approved'")
    upgraded = ResponseStore(f"sqlite:///{path}")
    assert {i.id: dict(i.answers) for i in upgraded.interviews(status="all")} == {
        i.interview_id: dict(i.answers) for i in interviews}
    after = upgraded.set_status(interviews[0].interview_id, "approved", reason=None, expected="submitted")
    assert after.status == "approved"
    upgraded.close()
    with sqlite3.connect(path) as conn:
        names = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    assert {"interviews", "ix_interviews_interviewer_status", "ix_interviews_questionnaire_status"} <= names
    assert "interviews_before_review" not in names
    ResponseStore(f"sqlite:///{path}").close()  # opening an upgraded database again changes nothing
    assert ResponseStore(f"sqlite:///{path}").get_interview(interviews[0].interview_id).status == "approved"


def test_a_postgresql_database_from_before_the_review_is_upgraded(postgres_url):
    store = ResponseStore(postgres_url)
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE interviews DROP CONSTRAINT ck_interviews_status"))
        conn.execute(sa.text("ALTER TABLE interviews ADD CONSTRAINT ck_interviews_status "
                             "CHECK (status IN ('draft', 'submitted', 'voided'))"))
    store.close()
    iid = ResponseStore(postgres_url).start_interview(FORM, "1.0", interviewer="A01", district="rugao", psu="P",
                                                      wave="2026")
    reopened = ResponseStore(postgres_url)
    reopened.submit(iid, {"consent": "no"})
    assert reopened.set_status(iid, "rejected", reason="ineligible", expected="submitted").status == "rejected"
    engine.dispose()
    reopened.close()


# -- review_interview: permissions, reasons and the audit log ----------------------------------


def test_each_decision_is_in_the_audit_log_with_who_when_and_why(store, accounts, users, ids, clock):
    admin = users["administrator"]
    review_interview(store, accounts, admin, ids[0], "reject", reason="too_fast", comment="4 分钟完成 40 题")
    review_interview(store, accounts, admin, ids[1], "approve", comment="回访已核实")
    review_interview(store, accounts, admin, ids[2], "void", reason="other", comment="受访者是访问员亲属")
    log = review_log(accounts, admin)
    assert list(log["action"]) == ["reject_interview", "approve_interview", "void_interview"]
    assert list(log["target"]) == ids[:3]
    assert set(log["actor"]) == {"chief"}
    assert log["at"].is_monotonic_increasing and log["at"].iloc[-1] <= clock.now
    details = [json.loads(text) for text in log["detail"]]
    assert [(d["from"], d["to"], d["reason"], d["comment"]) for d in details] == [
        ("submitted", "rejected", "too_fast", "4 分钟完成 40 题"),
        ("submitted", "approved", None, "回访已核实"),
        ("submitted", "voided", "other", "受访者是访问员亲属"),
    ]
    interviewers = [store.get_interview(iid).interviewer for iid in ids[:3]]
    assert [d["interviewer"] for d in details] == interviewers
    assert {d["questionnaire"] for d in details} == {f"{FORM} v1.0"}
    assert [store.get_interview(iid).void_reason for iid in ids[:3]] == [
        "too_fast: 4 分钟完成 40 题", None, "other: 受访者是访问员亲属"]


@pytest.mark.parametrize("role", ["statistician", "interviewer"])
def test_only_administrators_review(store, accounts, users, ids, role):
    with pytest.raises(PermissionDeniedError, match="review"):
        review_interview(store, accounts, users[role], ids[0], "reject", reason="too_fast")
    assert store.get_interview(ids[0]).status == "submitted"
    assert review_log(accounts, users["administrator"]).empty


def test_a_demoted_administrator_can_no_longer_review(store, accounts, users, ids):
    admin = users["administrator"]
    other = accounts.create_user(admin, "deputy", "another-long-password", ["administrator"])
    accounts.set_roles(admin, "deputy", ["statistician"])
    with pytest.raises(PermissionDeniedError):
        review_interview(store, accounts, other, ids[0], "approve")  # the stale User object still says admin
    assert store.get_interview(ids[0]).status == "submitted"


@pytest.mark.parametrize(("decision", "reason", "comment", "problem"), [
    ("reject", None, "", "give a reason"),
    ("void", None, "looks odd", "give a reason"),
    ("reject", "other", "  ", "'other' needs a comment"),
    ("reject", "fabricated", "", "reason must be one of"),
    ("approve", "too_fast", "", "an approval takes no reason"),
    ("delete", None, "", "decision must be one of 'approve', 'reject', 'void'"),
    ("reject", "too_fast", "x" * 1001, "at most 1000"),
])
def test_decisions_without_a_proper_reason_are_refused(store, accounts, users, ids, decision, reason, comment,
                                                       problem):
    with pytest.raises(InvalidReviewError, match=problem):
        review_interview(store, accounts, users["administrator"], ids[0], decision, reason=reason, comment=comment)
    assert store.get_interview(ids[0]).status == "submitted"
    assert review_log(accounts, users["administrator"]).empty


def test_voided_interviews_are_final_and_drafts_are_not_reviewed(store, accounts, users, ids):
    admin = users["administrator"]
    review_interview(store, accounts, admin, ids[0], "void", reason="ineligible")
    with pytest.raises(InvalidReviewError, match="a voided interview is final"):
        review_interview(store, accounts, admin, ids[0], "approve")
    draft = store.start_interview(FORM, "1.0", interviewer="A01", district="rugao", psu="P", wave="2026")
    with pytest.raises(InvalidReviewError, match="it is a draft"):
        review_interview(store, accounts, admin, draft, "reject", reason="too_fast")
    assert len(review_log(accounts, admin)) == 1


def test_a_decision_can_be_changed_and_repeating_it_changes_nothing(store, accounts, users, ids):
    admin = users["administrator"]
    review_interview(store, accounts, admin, ids[0], "reject", reason="straightlining")
    review_interview(store, accounts, admin, ids[0], "reject", reason="straightlining")
    assert len(review_log(accounts, admin)) == 1
    review_interview(store, accounts, admin, ids[0], "reject", reason="straightlining", comment="回访确认")
    review_interview(store, accounts, admin, ids[0], "approve", comment="申诉后复核通过")
    log = review_log(accounts, admin)
    assert [json.loads(d)["to"] for d in log["detail"]] == ["rejected", "rejected", "approved"]
    assert store.get_interview(ids[0]).status == "approved"


def test_a_decision_that_loses_a_race_is_logged_as_failed(store, accounts, users, ids, monkeypatch):
    admin = users["administrator"]
    seen = store.get_interview(ids[0])  # the page showed it as submitted ...
    store.set_status(ids[0], "approved", reason=None, expected="submitted")  # ... then someone approved it
    real = store.get_interview
    monkeypatch.setattr(store, "get_interview", lambda iid: seen if iid == ids[0] else real(iid))
    with pytest.raises(ConcurrentUpdateError):
        review_interview(store, accounts, admin, ids[0], "reject", reason="too_fast")
    monkeypatch.undo()
    assert store.get_interview(ids[0]).status == "approved"
    log = review_log(accounts, admin)
    assert list(log["action"]) == ["reject_interview", "review_failed"]
    assert json.loads(log["detail"].iloc[1])["decision"] == "reject"


# -- what the estimates leave out --------------------------------------------------------------


def satisfied_share(store: ResponseStore, kept: set[str]) -> float:
    """The target's share among consenting respondents of the kept interviews, by hand."""
    rows = [i for i in store.interviews(questionnaire_id=FORM, status="all") if i.id in kept]
    consenting = [i for i in rows if i.answers.get("consent") == "yes"]
    return float(np.mean([i.answers.get(TARGET.question) in TARGET.success for i in consenting]))


def overall(store: ResponseStore) -> pd.Series:
    return report_from_store(store, targets=[TARGET]).to_frame().loc[TARGET.id]


def test_estimates_leave_out_rejected_and_voided_and_keep_approved(store, accounts, users, ids):
    admin = users["administrator"]
    before = overall(store)
    assert before["estimate"] == pytest.approx(satisfied_share(store, set(ids)), abs=1e-12)
    for iid in ids[:10]:
        review_interview(store, accounts, admin, iid, "approve")
    approved = overall(store)
    assert approved["estimate"] == before["estimate"] and approved["interviews"] == before["interviews"]
    consenting = [iid for iid in ids if store.get_interview(iid).answers.get("consent") == "yes"]
    review_interview(store, accounts, admin, consenting[0], "reject", reason="too_fast")
    review_interview(store, accounts, admin, consenting[1], "void", reason="not_confirmed")
    review_interview(store, accounts, admin, consenting[2], "reject", reason="near_duplicate")
    after = overall(store)
    kept = set(ids) - set(consenting[:3])
    assert after["estimate"] == pytest.approx(satisfied_share(store, kept), abs=1e-12)
    assert after["n"] == before["n"] - 3


def test_the_methods_sheet_says_how_many_were_excluded_and_why(store, accounts, users, ids, tmp_path):
    admin = users["administrator"]
    review_interview(store, accounts, admin, ids[0], "reject", reason="too_fast")
    review_interview(store, accounts, admin, ids[1], "reject", reason="too_fast", comment="3 分钟")
    review_interview(store, accounts, admin, ids[2], "reject", reason="outside_psu")
    review_interview(store, accounts, admin, ids[3], "void", reason="ineligible")
    review_interview(store, accounts, admin, ids[4], "approve")
    draft = store.start_interview(FORM, "1.0", interviewer="A01", district="rugao", psu="P", wave="2026")
    store.void(draft, "访问员作废草稿")  # a discarded draft never counted
    path = tmp_path / "report.xlsx"
    write_report(report_from_store(store, targets=[TARGET]), path)
    sheet = load_workbook(path)["方法说明 Methods"]
    values = {row[0]: row[1] for row in sheet.iter_rows(values_only=True) if row and row[0]}
    assert values["审核剔除 Excluded after review"] == (
        f"4 submitted interview(s) left out of the estimates; {FORM}: 3 rejected (too_fast 2, outside_psu 1); "
        "1 voided after submission (ineligible 1)")
    assert "rejected and voided interviews are left out" in values["样本设计 Design"]


def test_excluded_interviews_are_counted_by_wave_questionnaire_and_reason(store, accounts, users, rng):
    admin = users["administrator"]
    wave_2025 = stored(store, make_interviews(FORM, rng, per_psu=1, wave="2025"))
    other = stored(store, make_interviews("telecom_users", rng, per_psu=1))
    current = stored(store, make_interviews(FORM, rng, per_psu=1))
    review_interview(store, accounts, admin, wave_2025[0], "reject", reason="too_fast")
    review_interview(store, accounts, admin, other[0], "void", reason="other", comment="重复录入")
    review_interview(store, accounts, admin, current[0], "reject", reason="straightlining")
    review_interview(store, accounts, admin, current[1], "reject", reason="straightlining")
    store.void(current[2], "entered twice")  # voided outside the review page: free text
    everything = excluded_interviews(store)
    assert everything.total == 5
    table = everything.to_frame().set_index(["questionnaire_id", "status", "reason"])["interviews"]
    assert table.to_dict() == {
        (FORM, "rejected", "straightlining"): 2, (FORM, "rejected", "too_fast"): 1, (FORM, "voided", "other"): 1,
        ("telecom_users", "voided", "other"): 1,
    }
    this_wave = excluded_interviews(store, wave="2026", questionnaire_id=FORM)
    assert this_wave.total == 3
    assert this_wave.describe() == "2 rejected (straightlining 2); 1 voided after submission (other 1)"
    assert "3 submitted interview(s) excluded" in this_wave.summary()
    assert excluded_interviews(store, wave="2024").describe() == "none"


def test_reason_codes_are_read_back_from_stored_reasons():
    assert [reason_code(text) for text in ("too_fast", "near_duplicate: 98% identical", "entered twice", None,
                                           "other: 受访者拒绝")] == [
        "too_fast", "near_duplicate", "other", "other", "other"]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(decisions=st.lists(
    st.tuples(st.integers(0, 5), st.sampled_from(["approve", "reject", "void"]), st.sampled_from(REASONS)),
    max_size=12))
def test_any_sequence_of_decisions_keeps_estimates_log_and_exclusions_consistent(decisions, rng):
    store = ResponseStore("sqlite://")
    accounts = Accounts("sqlite://", hasher=FAST)
    admin = make_users(accounts)["administrator"]
    ids = stored(store, make_interviews(FORM, rng, per_psu=1)[:6])
    state = dict.fromkeys(ids, ("submitted", None))  # status and stored reason, tracked by hand
    logged = 0
    for index, decision, reason in decisions:
        iid = ids[index]
        comment = "检查" if reason == "other" else ""
        wanted = ("approved", None) if decision == "approve" else (
            "rejected" if decision == "reject" else "voided", f"{reason}: {comment}" if comment else reason)
        given_reason = None if decision == "approve" else reason
        if state[iid][0] == "voided":
            with pytest.raises(InvalidReviewError, match="final"):
                review_interview(store, accounts, admin, iid, decision, reason=given_reason, comment=comment)
            continue
        review_interview(store, accounts, admin, iid, decision, reason=given_reason, comment=comment)
        if state[iid] != wanted:
            logged += 1
            state[iid] = wanted
    counted = {iid for iid, (status, _) in state.items() if status in ("submitted", "approved")}
    assert set(store.responses_frame(FORM)["interview_id"]) == counted
    assert excluded_interviews(store).total == len(ids) - len(counted)
    log = review_log(accounts, admin)
    assert len(log) == logged
    replayed = dict.fromkeys(ids, "submitted")
    for target, detail in zip(log["target"], log["detail"]):
        move = json.loads(detail)
        assert replayed[target] == move["from"]
        replayed[target] = move["to"]
    assert replayed == {iid: status for iid, (status, _) in state.items()}  # the log alone gives every status


def test_an_export_with_approved_interviews_can_be_imported_elsewhere(store, accounts, users, ids, tmp_path):
    review_interview(store, accounts, users["administrator"], ids[0], "approve")
    path = tmp_path / "export.csv"
    store.responses_frame(FORM).to_csv(path, index=False)
    elsewhere = ResponseStore(f"sqlite:///{tmp_path / 'other.db'}")
    result = import_responses(elsewhere, path, FORMS[FORM])
    assert (result.stored, result.skipped_existing) == (len(ids), 0)
    assert set(elsewhere.responses_frame(FORM)["interview_id"]) == set(ids)
