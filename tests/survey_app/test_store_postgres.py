"""The response store and the accounts on PostgreSQL, compared with SQLite.

The same operations are run on both databases and must give the same results, read
through the store and read directly (``psycopg`` / ``sqlite3``). In CI PostgreSQL is
installed by ``.ci/run``, so these tests run there, never skip.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from datetime import timedelta, timezone

import pytest
from argon2 import PasswordHasher
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from survey_app.auth import Accounts, AuthenticationError, SetupError
from survey_app.store import DatabaseError, InvalidArgumentError, ResponseStore
from tests.survey_app.store_reference import Clock, assert_same_frame, mixed_store, reference_frame

FORM = "consumer_environment"
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def pg_rows(url: str, sql: str) -> list[tuple]:
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    with psycopg.connect(host=parsed.host, port=parsed.port, user=parsed.username, dbname=parsed.database) as conn:
        return conn.execute(sql).fetchall()


def sqlite_rows(url: str, sql: str) -> list[tuple]:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        return conn.execute(sql).fetchall()


def scenario(store: ResponseStore) -> list[str]:
    """A day of fieldwork: drafts, answers one by one, corrections, submissions, a voided one."""
    ids = []
    for number in range(6):
        iid = store.start_interview(FORM, "1.0", interviewer=f"A0{number % 2}", district="chongchuan",
                                    psu=f"社区{number}", wave="2026", answers={"district": "chongchuan"})
        ids.append(iid)
        store.save_answer(iid, "consent", "yes")
        store.save_answer(iid, "age", 30 + number)
        store.save_answer(iid, "overall_satisfaction", str(1 + number % 5))
        store.save_answers(iid, {"complaint_channels": ["platform", "hotline_12315"], "suggestions": "停车难 😀"})
        store.save_answer(iid, "age", None if number == 3 else 31 + number)  # a correction, one removal
        store.set_page(iid, number % 4)
        if number < 4:
            final = dict(store.get_interview(iid).answers)
            final["weight_like"] = 1.0 / 3.0
            store.submit(iid, final)
    store.void(ids[1], "重复访问 duplicate")
    return ids


def normalised(store: ResponseStore, ids: list[str]):
    """Everything the store returns, with each id replaced by its position."""
    position = {iid: index for index, iid in enumerate(ids)}
    frame = store.responses_frame(FORM, "all")
    frame["interview_id"] = frame["interview_id"].map(position)
    interviews = [
        {**{name: getattr(i, name) for name in i.__dataclass_fields__}, "id": position[i.id],
         "answers": dict(i.answers)}
        for i in store.interviews(status="all")
    ]
    drafts = [position[d.id] for d in store.drafts("A00")] + [position[d.id] for d in store.drafts("A01")]
    return frame, interviews, drafts


def test_the_same_fieldwork_gives_the_same_results_on_both_databases(tmp_path, postgres_url):
    sqlite_url = f"sqlite:///{tmp_path / 'survey.db'}"
    results = {}
    raw = {}
    for name, url, reader in (("sqlite", sqlite_url, sqlite_rows), ("postgresql", postgres_url, pg_rows)):
        store = ResponseStore(url, clock=Clock())
        ids = scenario(store)
        results[name] = normalised(store, ids)
        position = {iid: index for index, iid in enumerate(ids)}
        raw[name] = sorted(
            (position[row[0]], *row[1:])
            for row in reader(url, "SELECT id, status, page, answers, revision, void_reason FROM interviews")
        )
        store.close()
    sqlite_frame, sqlite_interviews, sqlite_drafts = results["sqlite"]
    pg_frame, pg_interviews, pg_drafts = results["postgresql"]
    assert pg_frame.dtypes.equals(sqlite_frame.dtypes)
    assert pg_frame.equals(sqlite_frame)
    assert pg_interviews == sqlite_interviews
    assert pg_drafts == sqlite_drafts == [4, 5]
    # The stored JSON documents are the same text, character for character.
    assert raw["postgresql"] == raw["sqlite"]
    assert len(pg_frame) == 6 and set(pg_frame["status"]) == {"submitted", "voided", "draft"}


def test_responses_frame_and_data_version_on_postgresql(postgres_url):
    store = ResponseStore(postgres_url, clock=Clock())
    assert store.data_version() == (0, "None")
    mixed_store(store)
    for status in ("submitted", "draft", "all"):
        for questionnaire_id in (None, FORM):
            assert_same_frame(store.responses_frame(questionnaire_id, status),
                              reference_frame(store, questionnaire_id, status))
    (count, last), = pg_rows(postgres_url, "SELECT COUNT(*), MAX(updated_at) FROM interviews")
    assert store.data_version() == (count, str(last.astimezone(timezone.utc)))
    store.save_answer(store.drafts("A01")[0].id, "age", 34)
    assert store.data_version() != (count, str(last.astimezone(timezone.utc)))
    store.close()


def test_interviews_kept_in_columns_on_postgresql(postgres_url):
    """The kept columns (a bytea) are read back, and brought up to date after changes."""
    store = ResponseStore(postgres_url, clock=Clock())
    mixed_store(store)
    first = store.responses_frame()
    assert pg_rows(postgres_url, "SELECT scope, format FROM frame_snapshots") == [("submitted", 1)]
    assert_same_frame(store.responses_frame(), first)
    submitted = store.interviews(status="submitted")
    store.set_status(submitted[0].id, "rejected", reason="duplicate", expected="submitted")
    fresh = store.start_interview(FORM, "1.0", interviewer="A02", district="haimen", psu="P9", wave="2026")
    store.submit(fresh, {"consent": "yes", "age": 44, "complaint_channels": ["other"]})
    assert_same_frame(store.responses_frame(), reference_frame(store))
    store.close()


def test_postgresql_keeps_times_as_utc_timestamptz(postgres_url):
    clock = Clock()
    store = ResponseStore(postgres_url, clock=clock)
    iid = store.start_interview(FORM, "1.0", interviewer="A01", district="chongchuan", psu="P1", wave="2026")
    started = clock.now
    types = dict(pg_rows(postgres_url, "SELECT column_name, data_type FROM information_schema.columns "
                                       "WHERE table_name = 'interviews'"))
    assert types["started_at"] == types["submitted_at"] == "timestamp with time zone"
    assert types["answers"] == "text"
    (stored,), = pg_rows(postgres_url, f"SELECT started_at FROM interviews WHERE id = '{iid}'")
    assert stored == started
    interview = store.get_interview(iid)
    assert interview.started_at == started and interview.started_at.utcoffset() == timedelta(0)
    store.close()


def test_survey_db_url_points_the_store_and_accounts_at_postgresql(postgres_url, monkeypatch):
    monkeypatch.setenv("SURVEY_DB_URL", postgres_url)
    store = ResponseStore()
    accounts = Accounts(hasher=FAST)
    assert store.url == accounts.url == postgres_url
    iid = store.start_interview(FORM, "1.0", interviewer="A01", district="chongchuan", psu="P1", wave="2026")
    accounts.create_first_administrator("chief", "correct horse battery")
    tables = {row[0] for row in pg_rows(postgres_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"interviews", "auth_users", "auth_sessions", "audit_log", "auth_setup"} <= tables
    assert pg_rows(postgres_url, "SELECT id FROM interviews") == [(iid,)]
    store.close()
    accounts.close()


def test_concurrent_first_starts_create_one_administrator_on_postgresql(postgres_url):
    servers = [Accounts(postgres_url, hasher=FAST) for _ in range(6)]
    outcomes: list[str] = []
    barrier = threading.Barrier(len(servers))

    def first_start(index: int) -> None:
        barrier.wait()
        try:
            servers[index].create_first_administrator(f"admin{index}", "correct horse battery")
            outcomes.append("created")
        except SetupError:
            outcomes.append("refused")

    threads = [threading.Thread(target=first_start, args=(i,)) for i in range(len(servers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["created"] + ["refused"] * 5
    assert pg_rows(postgres_url, "SELECT COUNT(*) FROM auth_users") == [(1,)]
    for server in servers:
        server.close()


def test_accounts_sessions_and_lockout_work_on_postgresql(postgres_url):
    accounts = Accounts(postgres_url, hasher=FAST, max_failures=3)
    admin = accounts.create_first_administrator("chief", "correct horse battery")
    accounts.create_user(admin, "A01", "tablet-secret-2026", ["interviewer"])
    session = accounts.sign_in("a01", "tablet-secret-2026")
    assert accounts.session_user(session.token).username == "A01"
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            accounts.sign_in("A01", "wrong password!")
    (waits,), = pg_rows(postgres_url, "SELECT next_attempt_at IS NOT NULL FROM auth_throttle WHERE name = 'a01'")
    assert waits
    assert list(accounts.audit_log(admin)["action"])[:4] == ["sign_in_failed"] * 3 + ["sign_in"]
    accounts.close()


def test_an_unreachable_server_is_a_database_error_without_the_password(postgres_server):
    url = postgres_server.url("nowhere").replace("toolkit@", "toolkit:s3cret@")
    with pytest.raises(DatabaseError) as error:
        ResponseStore(url)
    assert "s3cret" not in str(error.value) and "nowhere" in str(error.value)


# NUL, control characters and lone surrogates on purpose: PostgreSQL refuses NUL in text, and
# no database can encode a lone surrogate.
TEXT = st.text(st.one_of(st.characters(), st.sampled_from(["\x00", "\x1f", "\ud800", "\udfff", "😀", "崇"])),
               max_size=30)
VALUE = st.one_of(
    TEXT,
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(TEXT, max_size=4),
)


@pytest.fixture(scope="module")
def both_stores(tmp_path_factory, postgres_server):
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'survey.db'}"
    stores = (ResponseStore(url), ResponseStore(postgres_server.create_database()))
    yield stores
    for store in stores:
        store.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(psu=TEXT, answers=st.dictionaries(st.text(min_size=1, max_size=20), VALUE, max_size=6))
def test_any_input_is_stored_identically_or_refused_by_both(both_stores, psu, answers):
    """Text with NUL, control characters, emoji or lone surrogates; huge integers; any float."""
    outcomes = []
    for store in both_stores:
        try:
            iid = store.start_interview(FORM, "1.0", interviewer="A01", district="chongchuan", psu=psu, wave="2026")
            store.save_answers(iid, answers)
            interview = store.get_interview(iid)
            outcomes.append(("stored", interview.psu, json.dumps(dict(interview.answers), sort_keys=True)))
        except InvalidArgumentError as error:
            outcomes.append(("refused", str(error)))
    assert outcomes[0] == outcomes[1]
    if outcomes[0][0] == "stored":
        assert outcomes[0][2] == json.dumps(answers, sort_keys=True)
