"""Tests of the response store (``survey_app.store``)."""
from __future__ import annotations

import json
import math
import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from questionnaires import shipped_questionnaires
from survey_app.store import (
    DEFAULT_DB_PATH,
    METADATA_COLUMNS,
    DatabaseError,
    InterviewClosedError,
    InterviewNotFoundError,
    InvalidArgumentError,
    ResponseStore,
    database_engine,
    default_url,
    display_url,
)
from tests.survey_app.store_reference import Clock, assert_same_frame, mixed_store, reference_frame

PROJECT_ROOT = Path(__file__).parent.parent.parent
FORM = "consumer_environment"


@pytest.fixture
def store(db_url: str):
    store = ResponseStore(db_url)
    yield store
    store.close()


def start(store: ResponseStore, **overrides) -> str:
    values = dict(interviewer="A01", district="chongchuan", psu="PSU-1", wave="2026")
    values.update(overrides)
    return store.start_interview(values.pop("questionnaire_id", FORM), "1.0", **values)


def raw_rows(db_url: str) -> list[dict]:
    """The table read with the sqlite3 module, independently of SQLAlchemy."""
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute("SELECT * FROM interviews")]


# -- location and engine --------------------------------------------------------------


def test_default_location_is_under_project_root_not_cwd(monkeypatch, tmp_path):
    monkeypatch.delenv("SURVEY_DB_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    assert DEFAULT_DB_PATH == PROJECT_ROOT.resolve() / "data" / "survey.db"
    assert default_url() == f"sqlite:///{DEFAULT_DB_PATH}"


def test_environment_variable_selects_database(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv("SURVEY_DB_URL", url)
    store = ResponseStore()
    start(store)
    assert store.url == url
    assert len(raw_rows(url)) == 1


def test_directory_created_on_demand_and_wal_mode(tmp_path):
    path = tmp_path / "new" / "deeper" / "survey.db"
    store = ResponseStore(f"sqlite:///{path}")
    start(store)
    assert path.is_file()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_bad_url_is_a_store_error_that_names_it():
    with pytest.raises(InvalidArgumentError, match="not-a-url"):
        ResponseStore("not-a-url")


def test_unopenable_database_is_a_database_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(DatabaseError, match="directory"):
        ResponseStore(f"sqlite:///{blocker / 'survey.db'}")


def test_corrupt_database_file_is_a_database_error(tmp_path):
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"this is not an SQLite database" * 100)
    with pytest.raises(DatabaseError, match="corrupt.db"):
        ResponseStore(f"sqlite:///{path}")


def test_public_engine_factory_and_masked_url(tmp_path):
    path = tmp_path / "other" / "tables.db"
    engine = database_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000
    engine.dispose()
    assert path.parent.is_dir()
    with pytest.raises(InvalidArgumentError, match="not-a-url"):
        database_engine("not-a-url")
    shown = display_url("postgresql+psycopg://survey:s3cret@db.example/survey")
    assert "s3cret" not in shown and shown.startswith("postgresql+psycopg://survey:") and "db.example" in shown
    assert display_url("::nonsense") == "<invalid URL>"


# -- drafts, answers and screens -----------------------------------------------------------


def test_start_creates_a_uuid_draft_with_metadata(store, db_url):
    clock_start = datetime.now(timezone.utc)
    iid = start(store, answers={"district": "chongchuan"})
    interview = store.get_interview(iid)
    assert len(iid) == 36 and iid.count("-") == 4
    assert interview.status == "draft"
    assert (interview.questionnaire_id, interview.questionnaire_version) == (FORM, "1.0")
    assert (interview.interviewer, interview.district, interview.psu, interview.wave) == (
        "A01", "chongchuan", "PSU-1", "2026",
    )
    assert interview.page == 0 and interview.submitted_at is None
    assert dict(interview.answers) == {"district": "chongchuan"}
    assert interview.started_at.tzinfo == timezone.utc
    assert clock_start - timedelta(seconds=5) <= interview.started_at <= datetime.now(timezone.utc)
    assert [row["id"] for row in raw_rows(db_url)] == [iid]


def test_each_start_gets_a_new_id(store):
    assert len({start(store) for _ in range(5)}) == 5


def test_answers_saved_one_by_one_are_read_back_exactly(store, db_url):
    iid = start(store)
    store.save_answer(iid, "consent", "yes")
    store.save_answer(iid, "age", 34)
    store.save_answers(iid, {"complaint_channels": ["hotline_12315", "other"], "suggestions": "价格要透明"})
    store.save_answer(iid, "consent", "no")  # a changed answer replaces the old one
    expected = {
        "consent": "no",
        "age": 34,
        "complaint_channels": ["hotline_12315", "other"],
        "suggestions": "价格要透明",
    }
    assert dict(store.get_interview(iid).answers) == expected
    assert json.loads(raw_rows(db_url)[0]["answers"]) == expected
    assert isinstance(store.get_interview(iid).answers["age"], int)


def test_none_removes_an_answer(store):
    iid = start(store)
    store.save_answers(iid, {"consent": "yes", "age": 40})
    store.save_answer(iid, "age", None)
    assert dict(store.get_interview(iid).answers) == {"consent": "yes"}


def test_numpy_numbers_are_stored_as_python_numbers(store):
    iid = start(store)
    store.save_answers(iid, {"age": np.int64(41), "spend": np.float64(12.5)})
    answers = store.get_interview(iid).answers
    assert answers == {"age": 41, "spend": 12.5}
    assert type(answers["age"]) is int


@pytest.mark.parametrize(
    "value", [True, math.nan, math.inf, {"a": 1}, [1, 2], b"bytes", datetime(2026, 1, 1)]
)
def test_unstorable_values_are_refused_and_nothing_changes(store, value):
    iid = start(store)
    store.save_answer(iid, "consent", "yes")
    with pytest.raises(InvalidArgumentError, match="answer to 'age'"):
        store.save_answers(iid, {"district": "haimen", "age": value})
    assert dict(store.get_interview(iid).answers) == {"consent": "yes"}


@pytest.mark.parametrize(
    ("argument", "value"),
    [("interviewer", ""), ("interviewer", "   "), ("district", None), ("psu", ""), ("wave", 2026)],
)
def test_start_refuses_missing_metadata(store, argument, value):
    with pytest.raises(InvalidArgumentError, match=argument):
        start(store, **{argument: value})


def test_page_is_stored(store):
    iid = start(store)
    store.set_page(iid, 3)
    assert store.get_interview(iid).page == 3


@pytest.mark.parametrize("index", [-1, 1.0, "2", True])
def test_bad_page_index_is_refused(store, index):
    with pytest.raises(InvalidArgumentError, match="index"):
        store.set_page(start(store), index)


@pytest.mark.parametrize("bad_id", ["nope", "", 42])
def test_bad_interview_id_is_refused(store, bad_id):
    with pytest.raises(InvalidArgumentError, match="interview_id"):
        store.get_interview(bad_id)


def test_unknown_interview_is_not_found(store):
    with pytest.raises(InterviewNotFoundError):
        store.get_interview("00000000-0000-4000-8000-000000000000")
    with pytest.raises(InterviewNotFoundError):
        store.save_answer("00000000-0000-4000-8000-000000000000", "consent", "yes")


def test_a_restarted_server_sees_the_same_draft(db_url):
    first = ResponseStore(db_url)
    iid = start(first)
    first.save_answers(iid, {"consent": "yes", "age": 52})
    first.set_page(iid, 2)
    first.close()
    again = ResponseStore(db_url).get_interview(iid)
    assert (dict(again.answers), again.page, again.status) == ({"consent": "yes", "age": 52}, 2, "draft")


# -- submitting and voiding ---------------------------------------------------------------


def test_submit_stores_the_final_answers_once(store, db_url):
    iid = start(store)
    store.save_answers(iid, {"consent": "yes", "age": 30, "hidden": "dropped"})
    submitted = store.submit(iid, {"consent": "yes", "age": 30})
    assert submitted.status == "submitted"
    assert dict(submitted.answers) == {"consent": "yes", "age": 30}
    assert submitted.submitted_at is not None and submitted.submitted_at.tzinfo == timezone.utc
    again = store.submit(iid, {"consent": "yes", "age": 30})
    assert again == submitted  # idempotent: same times, same answers
    rows = raw_rows(db_url)
    assert len(rows) == 1 and rows[0]["status"] == "submitted"


def test_resubmitting_different_answers_is_refused_and_keeps_the_stored_ones(store):
    iid = start(store)
    store.submit(iid, {"consent": "yes"})
    with pytest.raises(InterviewClosedError, match="different answers"):
        store.submit(iid, {"consent": "no"})
    assert dict(store.get_interview(iid).answers) == {"consent": "yes"}


@pytest.mark.parametrize("change", ["save_answer", "save_answers", "set_page"])
def test_a_submitted_interview_cannot_be_changed(store, db_url, change):
    iid = start(store)
    store.submit(iid, {"consent": "yes"})
    before = raw_rows(db_url)
    arguments = {
        "save_answer": ("consent", "no"),
        "save_answers": ({"consent": "no"},),
        "set_page": (1,),
    }[change]
    with pytest.raises(InterviewClosedError, match="submitted"):
        getattr(store, change)(iid, *arguments)
    assert raw_rows(db_url) == before


def test_void_keeps_answers_and_blocks_changes_and_submission(store, db_url):
    iid = start(store)
    store.save_answer(iid, "consent", "yes")
    voided = store.void(iid, "test interview")
    assert (voided.status, voided.void_reason, dict(voided.answers)) == ("voided", "test interview", {"consent": "yes"})
    assert store.void(iid, "again") == voided
    before = raw_rows(db_url)
    with pytest.raises(InterviewClosedError, match="voided"):
        store.save_answer(iid, "consent", "no")
    with pytest.raises(InterviewClosedError, match="voided"):
        store.submit(iid, {"consent": "yes"})
    assert raw_rows(db_url) == before


def test_a_submitted_interview_can_be_voided(store):
    iid = start(store)
    store.submit(iid, {"consent": "yes"})
    assert store.void(iid, "fabricated").status == "voided"
    assert store.responses_frame(FORM).empty


def test_void_needs_a_reason(store):
    with pytest.raises(InvalidArgumentError, match="reason"):
        store.void(start(store), " ")


def test_drafts_lists_one_interviewers_open_interviews_newest_first(db_url):
    store = ResponseStore(db_url, clock=Clock(datetime(2026, 5, 1, tzinfo=timezone.utc)))
    older = start(store)
    newer = start(store)
    start(store, interviewer="B02")
    done = start(store)
    store.submit(done, {})
    store.void(start(store), "mistake")
    assert [i.id for i in store.drafts("A01")] == [newer, older]
    store.save_answer(older, "consent", "yes")
    assert [i.id for i in store.drafts("A01")] == [older, newer]
    assert store.drafts("A01", questionnaire_id="telecom_users") == []


def test_times_are_utc_whatever_the_clock_zone(db_url):
    local = datetime(2026, 3, 1, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    store = ResponseStore(db_url, clock=lambda: local)
    iid = start(store)
    interview = store.get_interview(iid)
    assert interview.started_at == local
    assert interview.started_at.utcoffset() == timedelta(0)
    assert interview.started_at.hour == 1
    assert raw_rows(db_url)[0]["started_at"].startswith("2026-03-01 01:30:00")


def test_naive_clock_is_refused(db_url):
    store = ResponseStore(db_url, clock=lambda: datetime(2026, 1, 1))
    with pytest.raises(InvalidArgumentError, match="time zone"):
        start(store)


def test_updated_at_follows_every_change(db_url):
    clock = Clock(datetime(2026, 5, 1, tzinfo=timezone.utc))
    store = ResponseStore(db_url, clock=clock)
    iid = start(store)
    first = store.get_interview(iid).updated_at
    store.save_answer(iid, "consent", "yes")
    second = store.get_interview(iid).updated_at
    store.set_page(iid, 1)
    third = store.get_interview(iid).updated_at
    assert first < second < third == clock.now
    assert store.get_interview(iid).started_at == first


def test_data_version_changes_with_every_stored_change(db_url):
    clock = Clock(datetime(2026, 5, 1, tzinfo=timezone.utc))
    store = ResponseStore(db_url, clock=clock)
    versions = [store.data_version()]
    iid = start(store)
    versions.append(store.data_version())
    store.save_answer(iid, "consent", "yes")
    versions.append(store.data_version())
    store.submit(iid, {"consent": "yes"})
    versions.append(store.data_version())
    store.set_status(iid, "approved", reason=None, expected="submitted")
    versions.append(store.data_version())
    assert len(set(versions)) == len(versions)
    assert [count for count, _ in versions] == [0, 1, 1, 1, 1]
    # reading changes nothing, and a second store on the same database sees the same version
    store.responses_frame()
    assert ResponseStore(db_url).data_version() == versions[-1]
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
        count, last = conn.execute("SELECT COUNT(*), MAX(updated_at) FROM interviews").fetchone()
    assert versions[-1][0] == count and datetime.fromisoformat(versions[-1][1]).replace(tzinfo=None) == \
        datetime.fromisoformat(last)


# -- responses_frame ----------------------------------------------------------------------


def test_responses_frame_columns_types_and_values(db_url):
    store = ResponseStore(db_url)
    form = shipped_questionnaires()[FORM]
    iid = start(store)
    answers = {
        "consent": "yes",
        "district": "haimen",
        "age": 67,
        "complaint_channels": ["hotline_12315", "other"],
        "suggestions": "多一些抽检",
    }
    store.submit(iid, answers)
    start(store)  # a draft, not in the default frame
    frame = store.responses_frame(FORM)
    questions = [q.name for q in form.questions if q.type != "note"]
    assert list(frame.columns) == [*METADATA_COLUMNS, *questions]
    assert len(frame) == 1
    row = frame.iloc[0]
    assert row["interview_id"] == iid
    assert row["sample_district"] == "chongchuan" and row["district"] == "haimen"
    assert row["psu"] == "PSU-1" and row["status"] == "submitted" and row["wave"] == "2026"
    assert row["complaint_channels"] == "hotline_12315 other"
    assert row["age"] == 67.0 and frame["age"].dtype == np.float64
    assert row["suggestions"] == "多一些抽检"
    assert frame["env_safety"].isna().all()
    for column in ("started_at", "submitted_at", "updated_at"):
        assert isinstance(frame[column].dtype, pd.DatetimeTZDtype) and str(frame[column].dt.tz) == "UTC"
    assert frame["submitted_at"].iloc[0] == store.get_interview(iid).submitted_at


def test_responses_frame_filters_by_status_questionnaire_and_wave(store):
    submitted = start(store)
    store.submit(submitted, {"consent": "yes"})
    draft = start(store)
    voided = start(store)
    store.void(voided, "test")
    other = start(store, questionnaire_id="telecom_users", wave="2027")
    store.submit(other, {"consent": "no"})
    assert list(store.responses_frame(FORM)["interview_id"]) == [submitted]
    assert list(store.responses_frame(FORM, "draft")["interview_id"]) == [draft]
    assert list(store.responses_frame(FORM, "voided")["interview_id"]) == [voided]
    assert set(store.responses_frame(status="all")["interview_id"]) == {submitted, draft, voided, other}
    assert list(store.responses_frame(wave="2027")["interview_id"]) == [other]
    assert set(store.responses_frame()["questionnaire_id"]) == {FORM, "telecom_users"}


def test_empty_frame_still_has_every_column(store):
    frame = store.responses_frame("tourist_satisfaction")
    assert frame.empty
    assert "tourist_score" in frame.columns and list(frame.columns[: len(METADATA_COLUMNS)]) == list(METADATA_COLUMNS)


def test_unknown_status_lists_the_allowed_ones(store):
    allowed = "'draft', 'submitted', 'approved', 'rejected', 'voided', 'all'"
    with pytest.raises(InvalidArgumentError, match=f"{allowed}.*'done'"):
        store.responses_frame(status="done")


def test_answers_outside_the_questionnaire_keep_a_column(store):
    iid = start(store)
    store.submit(iid, {"consent": "yes", "zz_extra": "x", "aa_number": 5})
    frame = store.responses_frame(FORM)
    assert list(frame.columns[-2:]) == ["aa_number", "zz_extra"]
    assert frame["aa_number"].iloc[0] == 5.0


def test_responses_frame_is_the_obvious_construction_on_a_mixed_store():
    store = ResponseStore("sqlite://", clock=Clock(datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)))
    mixed_store(store)
    checked = 0
    selections = [(None, None), (FORM, None), ("tourist_satisfaction", "2026"), (None, "2028"),
                  ("not_shipped", None), ("no_interviews", None)]
    for status in ("submitted", "draft", "approved", "rejected", "voided", "all"):
        for questionnaire_id, wave in selections:
            frame = store.responses_frame(questionnaire_id, status, wave=wave)
            assert_same_frame(frame, reference_frame(store, questionnaire_id, status, wave))
            checked += len(frame)
    assert checked > 40
    frame = store.responses_frame(FORM)
    assert frame["age"].dtype == object and frame["district"].dtype == object  # wrong types kept as stored
    assert frame["aa_number"].dtype == np.float64 and frame["zz_mixed"].dtype == object
    assert store.responses_frame(FORM, wave="2028")["district"].tolist() == [7]


def test_interview_to_frame_and_summary(store):
    iid = start(store)
    store.save_answers(iid, {"consent": "yes", "complaint_channels": ["other"]})
    interview = store.get_interview(iid)
    frame = interview.to_frame()
    assert list(frame.columns) == [*METADATA_COLUMNS, "complaint_channels", "consent"]
    assert frame["complaint_channels"].iloc[0] == "other"
    text = interview.summary()
    assert iid in text and "draft" in text and "2 answers" in text


def test_interview_answers_are_read_only(store):
    interview = store.get_interview(start(store))
    with pytest.raises(TypeError):
        interview.answers["consent"] = "yes"  # type: ignore[index]


# -- properties and concurrency ------------------------------------------------------------

codes = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=12)
answer_values = st.one_of(
    st.text(max_size=40),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(codes, max_size=5, unique=True),
)
answer_sets = st.dictionaries(codes, answer_values, max_size=8)


@settings(max_examples=20, deadline=None)
@given(answers=st.lists(answer_sets, min_size=1, max_size=4), drafts=st.integers(0, 2))
def test_responses_frame_agrees_with_the_obvious_construction(answers, drafts):
    store = ResponseStore("sqlite://")  # in memory: many examples
    for number, answer_set in enumerate(answers):
        iid = start(store, questionnaire_id=(FORM, "telecom_users")[number % 2])
        store.submit(iid, answer_set)
    for _ in range(drafts):
        store.save_answers(start(store), answers[0])
    for status in ("submitted", "all"):
        assert_same_frame(store.responses_frame(status=status), reference_frame(store, status=status))
    assert_same_frame(store.responses_frame(FORM, "draft"), reference_frame(store, FORM, "draft"))
    store.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=answer_sets, second=answer_sets)
def test_any_answers_round_trip_exactly(tmp_path, first, second):
    url = f"sqlite:///{tmp_path / 'prop.db'}"
    store = ResponseStore(url)
    iid = start(store)
    store.save_answers(iid, first)
    for name, value in second.items():
        store.save_answer(iid, name, value)
    expected = {**first, **second}
    stored = store.get_interview(iid).answers
    assert stored == expected
    assert {k: type(v) for k, v in stored.items()} == {k: type(v) for k, v in expected.items()}
    store.submit(iid, expected)
    store.submit(iid, expected)
    frame = store.responses_frame(status="all")
    assert list(frame["interview_id"]).count(iid) == 1
    row = frame.set_index("interview_id").loc[iid]
    for name, value in expected.items():
        shown = " ".join(value) if isinstance(value, list) else value
        assert row[name] == shown or (isinstance(shown, float) and math.isclose(row[name], shown))
    store.close()


def test_concurrent_answers_from_two_servers_are_all_kept(db_url):
    iid = start(ResponseStore(db_url))
    stores = [ResponseStore(db_url) for _ in range(2)]
    errors: list[BaseException] = []

    def answer(worker: int) -> None:
        try:
            for n in range(15):
                stores[worker % 2].save_answer(iid, f"q_{worker}_{n}", n)
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=answer, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert dict(ResponseStore(db_url).get_interview(iid).answers) == {
        f"q_{w}_{n}": n for w in range(4) for n in range(15)
    }


def test_concurrent_submissions_store_one_interview(db_url):
    iid = start(ResponseStore(db_url))
    stores = [ResponseStore(db_url) for _ in range(4)]
    results: list = []
    barrier = threading.Barrier(4)

    def submit(store: ResponseStore) -> None:
        barrier.wait()
        results.append(store.submit(iid, {"consent": "yes"}))

    threads = [threading.Thread(target=submit, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 4 and len({r.submitted_at for r in results}) == 1
    assert len(raw_rows(db_url)) == 1
