"""The interviews kept in columns (``survey_app.answer_columns``, table ``frame_snapshots``).

Whatever happened to the stored interviews since the columns were kept, the frame read through
them must be the one built the slow, obvious way (``store_reference.reference_frame``); and when
nothing changed, no answer document is read again.
"""
from __future__ import annotations

import logging
import sqlite3

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from survey_app.answer_columns import AnswerColumns
from survey_app.store import DatabaseError, InvalidArgumentError, ResponseStore
from tests.survey_app.store_reference import Clock, FORM, assert_same_frame, mixed_store, reference_frame


class Statements:
    """The SQL a store's engine runs."""

    def __init__(self, store: ResponseStore) -> None:
        self.seen: list[str] = []
        sa.event.listen(store._engine, "before_cursor_execute",
                        lambda conn, cursor, statement, *rest: self.seen.append(statement))

    def reading_answers(self) -> list[str]:
        return [s for s in self.seen if s.lstrip().upper().startswith("SELECT") and "answers" in s]


def kept_row(url: str) -> tuple:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        return conn.execute("SELECT format, interviews, revisions, length(columns) FROM frame_snapshots").fetchone()


@pytest.fixture
def store(tmp_path):
    store = ResponseStore(f"sqlite:///{tmp_path / 'survey.db'}", clock=Clock())
    yield store
    store.close()


def test_the_kept_columns_are_read_instead_of_the_answers_when_nothing_changed(store):
    mixed_store(store)
    first = store.responses_frame()
    assert_same_frame(first, reference_frame(store))
    statements = Statements(store)
    frame = store.responses_frame()
    assert statements.reading_answers() == []
    assert_same_frame(frame, first)
    (count, revisions), = sa.create_engine(store.url).connect().execute(
        sa.text("SELECT count(*), sum(revision) FROM interviews")).all()
    assert kept_row(store.url)[:3] == (1, count, revisions)


def test_changes_of_every_kind_read_only_the_changed_interviews_again(store):
    mixed_store(store)
    store.responses_frame()
    submitted = store.interviews(status="submitted")
    drafts = store.drafts("A01")
    statements = Statements(store)
    store.set_status(submitted[0].id, "rejected", reason="duplicate", expected="submitted")
    store.set_status(submitted[1].id, "approved", reason=None, expected="submitted")
    store.save_answer(drafts[0].id, "age", 71)
    store.submit(drafts[0].id, {"consent": "yes", "age": 71, "zz_new_name": ["x", "y"]})
    fresh = store.start_interview("tourist_satisfaction", "1.0", interviewer="C03", district="haimen",
                                  psu="景区 1", wave="2029")
    store.submit(fresh, {"consent": "yes", "tourist_score": 70.5})
    statements.seen.clear()
    frame = store.responses_frame()
    reads = statements.reading_answers()
    assert_same_frame(frame, reference_frame(store))
    assert len(reads) == 1 and "interviews.id IN" in reads[0]   # the changed ones, by id


def test_a_draft_saved_after_the_columns_were_kept_only_updates_their_version(store):
    mixed_store(store)
    store.responses_frame()
    before = kept_row(store.url)
    store.save_answer(store.drafts("A01")[0].id, "age", 35)
    assert_same_frame(store.responses_frame(), reference_frame(store))
    after = kept_row(store.url)
    assert after[2] == before[2] + 1 and after[3] == before[3]
    statements = Statements(store)
    store.responses_frame()
    assert statements.reading_answers() == []


@pytest.mark.parametrize("damage", [b"", b"not columns at all", "truncate", "other format"])
def test_damaged_or_foreign_kept_columns_are_read_again_from_the_interviews(store, damage, caplog):
    mixed_store(store)
    store.responses_frame()
    with sqlite3.connect(store.url.removeprefix("sqlite:///")) as conn:
        (blob,), = conn.execute("SELECT columns FROM frame_snapshots").fetchall()
        if damage == "truncate":
            conn.execute("UPDATE frame_snapshots SET columns = ?", (blob[: len(blob) // 2],))
        elif damage == "other format":
            conn.execute("UPDATE frame_snapshots SET format = format + 1")
        else:
            conn.execute("UPDATE frame_snapshots SET columns = ?", (damage,))
    with caplog.at_level(logging.WARNING, logger="survey_app.store"):
        assert_same_frame(store.responses_frame(), reference_frame(store))
    assert kept_row(store.url)[0] == 1 and kept_row(store.url)[3] == len(blob)
    if damage != "other format":
        assert "cannot be read" in caplog.text


def test_columns_that_cannot_be_saved_still_give_the_right_frame(store, monkeypatch, caplog):
    mixed_store(store)
    store.void(store.interviews(status="submitted")[0].id, "wrong respondent")   # the kept ones are out of date

    def refuse():
        raise DatabaseError("the response database is read-only")

    monkeypatch.setattr(store, "_write", refuse)
    with caplog.at_level(logging.WARNING, logger="survey_app.store"):
        assert_same_frame(store.responses_frame(), reference_frame(store))
    assert "were not kept" in caplog.text and "read-only" in caplog.text


def test_an_import_keeps_the_imported_interviews_in_columns(store):
    mixed_store(store)   # ends with an import of three interviews
    statements = Statements(store)
    frame = store.responses_frame()
    assert statements.reading_answers() == []
    assert_same_frame(frame, reference_frame(store))


def test_a_database_of_an_earlier_version_gets_the_table_and_indexes(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:   # the interviews table as the first release created it
        conn.execute("""CREATE TABLE interviews (id VARCHAR(36) NOT NULL PRIMARY KEY,
            questionnaire_id VARCHAR(100) NOT NULL, questionnaire_version VARCHAR(50) NOT NULL,
            wave VARCHAR(50) NOT NULL, interviewer VARCHAR(100) NOT NULL, district VARCHAR(100) NOT NULL,
            psu VARCHAR(200) NOT NULL, status VARCHAR(16) NOT NULL, page INTEGER NOT NULL, answers TEXT NOT NULL,
            revision INTEGER NOT NULL, started_at DATETIME NOT NULL, submitted_at DATETIME,
            updated_at DATETIME NOT NULL, void_reason TEXT,
            CONSTRAINT ck_interviews_status CHECK (status IN ('draft', 'submitted', 'approved', 'rejected', 'voided')))""")
        conn.execute("""INSERT INTO interviews VALUES ('i1', 'consumer_environment', '1.0', '2026', 'A01', 'haimen',
            'P1', 'submitted', 0, '{"consent": "yes", "age": 40}', 1, '2026-01-01 08:00:00.000000',
            '2026-01-01 08:10:00.000000', '2026-01-01 08:10:00.000000', NULL)""")
    store = ResponseStore(f"sqlite:///{path}")
    frame = store.responses_frame()
    assert frame["age"].tolist() == [40.0]
    assert_same_frame(frame, reference_frame(store))
    with sqlite3.connect(path) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert {"frame_snapshots", "ix_interviews_updated_at", "ix_interviews_status_started"} <= names
    store.close()


def test_the_columns_document_round_trips_and_refuses_what_it_did_not_write():
    columns = AnswerColumns.from_rows(
        {"interview_id": ["a", "b", "c"], "started_at": ["2026-01-01 08:00:00", None, "2026-01-02 08:00:00.5"]},
        [1, 2, 3],
        ['{"x": 1, "y": ["p", "q"]}', '{"x": 1.0, "y": "p q", "z": "长"}', '{"x": 2**0}'.replace("2**0", "2")],
    )
    again = AnswerColumns.from_bytes(columns.to_bytes())
    types = {"x": "integer"}
    pd.testing.assert_frame_equal(again.to_frame(types), columns.to_frame(types))
    assert again.to_frame({})["x"].map(type).tolist() == [float] * 3   # numbers -> float64
    assert again.answers["y"].decode().tolist() == [["p", "q"], "p q", None]
    assert np.array_equal(again.revision, [1, 2, 3])
    for bad in (b"", b"PK\x03\x04 a zip file", columns.to_bytes()[:-5], columns.to_bytes()[:60]):
        with pytest.raises(ValueError, match="not a document of kept columns"):
            AnswerColumns.from_bytes(bad)


ANSWER = st.one_of(
    st.sampled_from(["yes", "no", "1", "非常满意", ""]),
    st.integers(-3, 3),
    st.sampled_from([1.0, 2.5, -0.0, 2**70]),
    st.lists(st.sampled_from(["a", "b", "其他"]), max_size=3),
)
NAMES = st.sampled_from(["consent", "age", "district", "complaint_channels", "suggestions", "zz_extra", "status"])
STEP = st.one_of(
    st.tuples(st.just("submit"), st.sampled_from([FORM, "tourist_satisfaction", "not_shipped"]),
              st.dictionaries(NAMES, ANSWER, max_size=4)),
    st.tuples(st.just("draft"), st.just(FORM), st.dictionaries(NAMES, ANSWER, max_size=2)),
    st.tuples(st.sampled_from(["approved", "rejected", "voided"]), st.integers(0, 50), st.none()),
    st.tuples(st.just("read"), st.none(), st.none()),
)


@pytest.mark.parametrize("read_all_from", [0.5, 2.0], ids=["as shipped", "always by id"])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, min_size=1, max_size=25))
def test_any_history_of_changes_gives_the_frame_built_the_obvious_way(tmp_path_factory, monkeypatch, read_all_from,
                                                                     steps):
    monkeypatch.setattr("survey_app.store._READ_ALL_FROM", read_all_from)
    store = ResponseStore(f"sqlite:///{tmp_path_factory.mktemp('history') / 'survey.db'}", clock=Clock())
    try:
        for action, what, answers in steps:
            if action in ("submit", "draft"):
                iid = store.start_interview(what, "1.0", interviewer="A01", district="haimen", psu="P", wave="2026")
                try:
                    if action == "submit":
                        store.submit(iid, answers)
                    else:
                        store.save_answers(iid, answers)
                except InvalidArgumentError:
                    pass
            elif action == "read":
                assert_same_frame(store.responses_frame(), reference_frame(store))
            else:
                candidates = store.interviews(status="all")
                if candidates:
                    chosen = candidates[what % len(candidates)]
                    if action == "voided":
                        store.void(chosen.id, "test")
                    elif chosen.status in ("submitted", "approved", "rejected") and chosen.status != action:
                        store.set_status(chosen.id, action, reason="test" if action == "rejected" else None,
                                         expected=chosen.status)
        assert_same_frame(store.responses_frame(), reference_frame(store))
    finally:
        store.close()
