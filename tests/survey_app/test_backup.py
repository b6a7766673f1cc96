"""Backups of the SQLite database taken while interviews are submitted, and restores.

A backup to restore is untrusted input: the crafted backups below (planted administrator,
triggers, views, missing first-start record, ...) are made here from a genuine backup and
must be refused with the current database unchanged.
"""
from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from survey_app.assignments import AssignmentStore
from survey_app.auth import Accounts, AuthenticationError, InvalidAccountError, PermissionDeniedError, User
from survey_app.backup import (
    BackupError, BackupRefusedError, backup_bytes, backup_database, plan_restore, restore_database, sqlite_path,
)
from survey_app.margins import MarginsStore
from survey_app.store import ResponseStore
from tests.survey_app.review_helpers import ADMIN_PASSWORD, FAST, PASSWORD, make_users

FORM = "consumer_environment"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'live' / 'survey.db'}"


@pytest.fixture
def accounts(db_url: str) -> Iterator[Accounts]:
    accounts = Accounts(db_url, hasher=FAST)
    yield accounts
    accounts.close()


@pytest.fixture
def users(accounts: Accounts) -> dict[str, User]:
    """chief (administrator), S01 (statistician), A01 (interviewer)."""
    return make_users(accounts)


@pytest.fixture
def admin(users: dict[str, User]) -> User:
    return users["administrator"]


def submit_one(store: ResponseStore, number: int, interviewer: str = "A01") -> tuple[str, dict]:
    answers = {"consent": "yes", "overall_satisfaction": str(1 + number % 5), "age": 18 + number % 70,
               "suggestions": f"建议 {number}"}
    iid = store.start_interview(FORM, "1", interviewer=interviewer, district="chongchuan", psu=f"P{number % 7}",
                                wave="2026")
    for question, value in answers.items():
        store.save_answer(iid, question, value)
    store.submit(iid, dict(store.get_interview(iid).answers))
    return iid, answers


def read_interviews(path: Path) -> dict[str, tuple[str, str]]:
    """id -> (status, answers JSON), read with the sqlite3 module from a standalone file."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return {row[0]: (row[1], row[2]) for row in conn.execute("SELECT id, status, answers FROM interviews")}


def test_backups_taken_during_submissions_are_consistent_snapshots(db_url, tmp_path):
    store = ResponseStore(db_url)
    submitted: dict[str, dict] = {}
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        own = ResponseStore(db_url)  # another app server
        number = worker * 100_000
        try:
            while not stop.is_set():
                iid, answers = submit_one(own, number, interviewer=f"A{worker}")
                submitted[iid] = answers
                number += 1
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    backups = []
    try:
        time.sleep(0.3)
        for index in range(5):
            backups.append(backup_database(tmp_path / "backups" / f"b{index}.db", url=db_url))
            time.sleep(0.1)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert not errors
    assert len(submitted) > backups[-1].submitted > 0

    previous: dict[str, tuple[str, str]] = {}
    for result in backups:
        # The file alone (no -wal/-shm beside it) is the whole backup.
        alone = tmp_path / "alone" / result.path.name
        alone.parent.mkdir(exist_ok=True)
        shutil.copy(result.path, alone)
        assert not list(result.path.parent.glob("*.db-wal"))
        with sqlite3.connect(alone) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        rows = read_interviews(alone)
        assert len(rows) == result.interviews
        assert sum(status == "submitted" for status, _ in rows.values()) == result.submitted
        # Every submitted interview in the backup is complete: exactly its answers.
        restored = ResponseStore(f"sqlite:///{alone}")
        for interview in restored.interviews(status="submitted"):
            assert dict(interview.answers) == submitted[interview.id]
        restored.close()
        # Snapshots only grow, and a submitted interview never goes back to draft.
        assert set(previous) <= set(rows)
        assert all(rows[i][0] == "submitted" for i, (status, _) in previous.items() if status == "submitted")
        previous = rows
    store.close()


def test_restore_brings_back_exactly_the_backup_and_keeps_a_safety_copy(db_url, tmp_path, admin):
    store = ResponseStore(db_url)
    before = dict(submit_one(store, n) for n in range(5))
    backup = backup_database(tmp_path / "backup.db", url=db_url)
    after = dict(submit_one(store, n) for n in range(5, 8))
    draft = store.start_interview(FORM, "1", interviewer="A01", district="haimen", psu="P1", wave="2026")

    plan = plan_restore(backup.path, actor=admin, url=db_url)
    assert (plan.backup_interviews, plan.current_interviews, plan.lost_interviews, plan.lost_submitted) == (5, 9, 4, 3)
    assert plan.administrators == ("chief",)
    assert "removes 4 interviews (3 submitted)" in plan.summary()
    assert len(store.interviews(status="all")) == 9  # planning wrote nothing

    result = restore_database(backup.path.read_bytes(), actor=admin, safety_directory=tmp_path / "safety",
                              url=db_url)
    assert result.plan == plan
    # The running store (an open engine) sees the restored content.
    assert {i.id: dict(i.answers) for i in store.interviews(status="all")} == before
    safety = read_interviews(result.safety_backup.path)
    assert set(safety) == set(before) | set(after) | {draft}
    assert result.safety_backup.submitted == 8
    # The restored database keeps working and stays in WAL mode.
    submit_one(store, 99)
    with sqlite3.connect(sqlite_path(db_url)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    store.close()


def test_a_backup_older_than_a_table_leaves_the_running_stores_working(db_url, tmp_path, admin):
    # a backup made when the database had only interviews and accounts (before margins and
    # field assignments)
    old = f"sqlite:///{tmp_path / 'old.db'}"
    old_store = ResponseStore(old)
    submit_one(old_store, 1)
    old_store.close()
    old_accounts = Accounts(old, hasher=FAST)
    old_accounts.create_first_administrator("chief", ADMIN_PASSWORD)
    old_accounts.close()
    with sqlite3.connect(sqlite_path(old)) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "field_assignments" not in tables and "population_margins" not in tables

    store = ResponseStore(db_url)
    assignments = AssignmentStore(db_url)  # opened by the running app before the restore
    assert assignments.waves() == []
    restore_database(sqlite_path(old).read_bytes(), actor=admin, safety_directory=tmp_path / "safety", url=db_url)

    assert assignments.waves() == []  # the table is back, empty as in the backup
    assert MarginsStore(db_url).latest() is None
    assert {i.id for i in store.interviews(status="all")} == set(read_interviews(sqlite_path(old)))
    store.close()
    assignments.close()


def test_backup_bytes_for_the_download_button(db_url, accounts, users):
    store = ResponseStore(db_url)
    submit_one(store, 1)
    data, result = backup_bytes(users["administrator"], url=db_url)
    assert data.startswith(b"SQLite format 3\x00") and len(data) == result.size
    assert (result.interviews, result.submitted) == (1, 1)
    assert "1 interviews (1 submitted)" in result.summary()
    assert list(result.to_frame().columns) == ["path", "size", "sha256", "interviews", "submitted", "created_at"]
    entry = accounts.audit_log(users["administrator"], limit=1).iloc[0]
    assert (entry["actor"], entry["action"], entry["target"]) == ("chief", "backup", "survey.db")
    assert result.sha256 in entry["detail"]
    # Only an active administrator gets the whole database (password hashes included).
    for name in ("statistician", "interviewer"):
        with pytest.raises(PermissionDeniedError):
            backup_bytes(users[name], url=db_url)
    # An administrator disabled while their page is still open (the User object is stale).
    stale = accounts.create_user(users["administrator"], "chief2", PASSWORD, ["administrator"])
    accounts.set_active(users["administrator"], "chief2", False)
    with pytest.raises(PermissionDeniedError, match="enabled account"):
        backup_bytes(stale, url=db_url)
    store.close()


def make_bad(kind: str, tmp_path: Path, good: Path) -> bytes:
    if kind == "random":
        return bytes(range(256)) * 40
    if kind == "empty":
        return b""
    if kind == "truncated":
        return good.read_bytes()[:5000]
    if kind == "other_database":
        other = tmp_path / "other.db"
        with sqlite3.connect(other) as conn:
            conn.execute("CREATE TABLE notes (text TEXT)")
        return other.read_bytes()
    if kind == "damaged":
        data = bytearray(good.read_bytes())
        for offset in range(4096, len(data), 4096):  # scribble over every page but the first
            data[offset + 8: offset + 200] = b"\xff" * 192
        return bytes(data)
    raise AssertionError(kind)


BAD_FILE_PROBLEMS = {"random": {"not_sqlite"}, "empty": {"not_sqlite"}, "truncated": {"damaged", "unreadable"},
                     "other_database": {"unknown_table"}, "damaged": {"damaged", "unreadable"}}


@pytest.mark.parametrize("kind", list(BAD_FILE_PROBLEMS))
def test_bad_backups_are_refused_and_change_nothing(db_url, tmp_path, kind, admin):
    store = ResponseStore(db_url)
    for n in range(8):
        submit_one(store, n)
    good = backup_database(tmp_path / "good.db", url=db_url).path
    before = read_interviews(sqlite_path(db_url))
    with pytest.raises(BackupRefusedError) as error:
        restore_database(make_bad(kind, tmp_path, good), actor=admin, safety_directory=tmp_path / "safety",
                         url=db_url)
    assert error.value.problem in BAD_FILE_PROBLEMS[kind], error.value
    assert read_interviews(sqlite_path(db_url)) == before
    assert not (tmp_path / "safety").exists()
    store.close()


def test_postgresql_and_memory_databases_point_to_their_own_tools(tmp_path):
    with pytest.raises(BackupError, match="pg_dump"):
        backup_database(tmp_path / "b.db", url="postgresql+psycopg://u@localhost/survey")
    with pytest.raises(BackupError, match="not a file"):
        backup_database(tmp_path / "b.db", url="sqlite:///:memory:")
    with pytest.raises(BackupError, match="no database file"):
        backup_database(tmp_path / "b.db", url=f"sqlite:///{tmp_path / 'missing.db'}")


def test_backing_up_onto_the_database_itself_is_refused(db_url):
    store = ResponseStore(db_url)
    with pytest.raises(BackupError, match="the database itself"):
        backup_database(sqlite_path(db_url), url=db_url)
    store.close()


# -- crafted backups -------------------------------------------------------------------------

# A planted administrator with a known password; the same hash format the app writes.
MALLORY = ("INSERT INTO auth_users (username, display_name, roles, password_hash, source, active, failed_attempts, "
           "locked_until, created_at, updated_at) VALUES ('mallory', 'Mallory', 'administrator', '{hash}', "
           "'password', 1, 0, NULL, '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000')")
# The attack of the report: whenever anyone signs in, mallory is enabled again, and the audit
# rows about mallory disappear as soon as they are written.
TRIGGERS = [
    "CREATE TRIGGER keep_mallory AFTER INSERT ON auth_sessions "
    "BEGIN UPDATE auth_users SET active = 1 WHERE username = 'mallory'; END",
    "CREATE TRIGGER hide_mallory AFTER INSERT ON audit_log WHEN NEW.target = 'mallory' "
    "BEGIN DELETE FROM audit_log WHERE target = 'mallory'; END",
]


@pytest.fixture
def genuine(db_url, tmp_path, admin) -> Path:
    """A genuine backup of a database with interviews and three accounts."""
    store = ResponseStore(db_url)
    for n in range(4):
        submit_one(store, n)
    store.close()
    return backup_database(tmp_path / "genuine.db", url=db_url).path


def crafted(genuine: Path, *statements: str) -> bytes:
    """The genuine backup changed with ``statements`` (as anyone with sqlite3 can)."""
    path = genuine.with_name(f"crafted-{time.monotonic_ns()}.db")
    shutil.copy(genuine, path)
    with sqlite3.connect(path) as conn:
        for statement in statements:
            conn.execute(statement)
    conn.close()
    return path.read_bytes()


def database_state(url: str) -> dict[str, list[tuple]]:
    """Every table's rows (the audit log apart), to show that a refused restore changed nothing."""
    with sqlite3.connect(sqlite_path(url)) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {table: sorted(conn.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr)
                for table in tables if table != "audit_log"}


def audit_actions(url: str) -> list[str]:
    with sqlite3.connect(sqlite_path(url)) as conn:
        return [row[0] for row in conn.execute("SELECT action FROM audit_log ORDER BY id")]


def test_the_planted_administrator_attack_works_on_an_adopted_file_and_is_refused(db_url, tmp_path, genuine,
                                                                                  accounts, admin):
    attack = crafted(genuine, MALLORY.format(hash=FAST.hash("mallory's password")), *TRIGGERS)

    # What adopting the file did (the restore before): the administrator disables mallory, signs
    # in again, and mallory is enabled, with no audit row about it.
    adopted_url = f"sqlite:///{tmp_path / 'adopted.db'}"
    (tmp_path / "adopted.db").write_bytes(attack)
    adopted = Accounts(adopted_url, hasher=FAST)
    chief = adopted.get_user("chief")
    adopted.set_active(chief, "mallory", False)
    adopted.sign_in("chief", ADMIN_PASSWORD)
    assert adopted.get_user("mallory").active
    assert "mallory" not in set(adopted.audit_log(chief)["target"])
    adopted.close()

    # The restore refuses the file, names a trigger and changes nothing but the audit log.
    before, actions = database_state(db_url), audit_actions(db_url)
    for attempt in (lambda: plan_restore(attack, actor=admin, url=db_url),
                    lambda: restore_database(attack, actor=admin, safety_directory=tmp_path / "safety",
                                             url=db_url)):
        with pytest.raises(BackupRefusedError) as error:
            attempt()
        assert (error.value.problem, error.value.name) == ("trigger", "hide_mallory")
    assert database_state(db_url) == before
    assert audit_actions(db_url) == actions + ["restore_refused", "restore_refused"]
    assert not (tmp_path / "safety").exists()
    with pytest.raises(InvalidAccountError):
        accounts.get_user("mallory")


def test_an_extra_administrator_alone_is_restored_but_shown_before_restoring(db_url, tmp_path, genuine, admin):
    planted = crafted(genuine, MALLORY.format(hash=FAST.hash("mallory's password")))
    plan = plan_restore(planted, actor=admin, url=db_url)
    assert plan.administrators == ("chief", "mallory")
    assert "administrators: chief, mallory" in plan.summary()


CRAFTED: dict[str, tuple[list[str], str, str]] = {
    "view": (["CREATE VIEW staff AS SELECT username, password_hash FROM auth_users"], "view", "staff"),
    "trigger": ([TRIGGERS[0]], "trigger", "keep_mallory"),
    "no_setup_row": (["DELETE FROM auth_setup"], "no_setup", ""),
    "no_active_administrator": (["UPDATE auth_users SET active = 0 WHERE username = 'chief'"],
                                "no_administrator", ""),
    "administrator_role_removed": (["UPDATE auth_users SET roles = 'statistician' WHERE username = 'chief'"],
                                   "no_administrator", ""),
    "unknown_table": (["CREATE TABLE payload (x TEXT)"], "unknown_table", "payload"),
    "sqlite_sequence": (["CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT)", "INSERT INTO t VALUES (NULL)",
                         "DROP TABLE t"], "unknown_table", "sqlite_sequence"),
    "unknown_column": (["ALTER TABLE auth_users ADD COLUMN is_root INTEGER"], "unknown_column",
                       "auth_users.is_root"),
    "generated_column": (["ALTER TABLE interviews ADD COLUMN shown TEXT GENERATED ALWAYS AS (status) VIRTUAL"],
                         "unknown_column", "interviews.shown"),
    "missing_column": (["ALTER TABLE auth_users DROP COLUMN display_name"], "missing_column",
                       "auth_users.display_name"),
    "missing_table": (["DROP TABLE auth_setup"], "missing_table", "auth_setup"),
    # a table of the app's name whose reading runs a module's code
    "virtual_table": (["DROP TABLE interviews", "CREATE VIRTUAL TABLE interviews USING fts5(id, status)"],
                      "unknown_table", "interviews"),
    "extra_index": (["CREATE INDEX ix_planted ON interviews (psu)"], "index", "ix_planted"),
    "text_in_boolean": (["UPDATE auth_users SET active = 'yes' WHERE username = 'S01'"], "bad_value",
                        "auth_users.active"),
    "text_in_integer": (["UPDATE interviews SET page = 'x'"], "bad_value", "interviews.page"),
    "answers_not_an_object": (["UPDATE interviews SET answers = '[1, 2]'"], "bad_value", "interviews.answers"),
    "bad_time": (["UPDATE interviews SET started_at = 'yesterday'"], "bad_value", "interviews.started_at"),
    "too_long": ([f"UPDATE interviews SET psu = '{'x' * 201}'"], "bad_value", "interviews.psu"),
    "unknown_role": (["UPDATE auth_users SET roles = 'administrator,root' WHERE username = 'chief'"],
                     "bad_value", "auth_users.roles"),
    # the backup's own check constraint switched off: the app's schema still refuses the row
    "bad_status": (["PRAGMA ignore_check_constraints = ON", "UPDATE interviews SET status = 'deleted'"],
                   "bad_rows", "interviews"),
    "duplicate_user_name": (["DROP INDEX ux_auth_users_username_lower",
                             "INSERT INTO auth_users SELECT 'CHIEF', display_name, roles, password_hash, source, "
                             "active, failed_attempts, locked_until, created_at, updated_at FROM auth_users "
                             "WHERE username = 'chief'"], "bad_rows", "auth_users"),
}


@pytest.mark.parametrize("kind", list(CRAFTED))
def test_crafted_backups_are_refused_and_the_database_is_unchanged(db_url, tmp_path, genuine, admin, kind):
    statements, problem, name = CRAFTED[kind]
    data = crafted(genuine, *statements)
    before, actions = database_state(db_url), audit_actions(db_url)
    with pytest.raises(BackupRefusedError) as error:
        restore_database(data, actor=admin, safety_directory=tmp_path / "safety", url=db_url, label="upload.db")
    assert (error.value.problem, error.value.name) == (problem, name), error.value
    assert database_state(db_url) == before
    assert audit_actions(db_url) == actions + ["restore_refused"]
    assert not (tmp_path / "safety").exists()
    # the genuine backup still restores
    restore_database(genuine, actor=admin, safety_directory=tmp_path / "safety", url=db_url)


def test_only_an_active_administrator_restores(db_url, tmp_path, genuine, accounts, users):
    before = database_state(db_url)
    second = accounts.create_user(users["administrator"], "chief2", PASSWORD, ["administrator"])
    accounts.set_active(users["administrator"], "chief2", False)  # `second` is now stale
    for actor in (users["statistician"], users["interviewer"], second, None):
        for attempt in (lambda: plan_restore(genuine, actor=actor, url=db_url),
                        lambda: restore_database(genuine, actor=actor, safety_directory=tmp_path / "safety",
                                                 url=db_url)):
            with pytest.raises(PermissionDeniedError):
                attempt()
    assert {table: rows for table, rows in database_state(db_url).items() if not table.startswith("auth_")} == {
        table: rows for table, rows in before.items() if not table.startswith("auth_")}
    assert not (tmp_path / "safety").exists()


def test_a_restore_is_audited_and_carries_no_session_or_cached_columns(db_url, tmp_path, genuine, accounts, admin):
    # a backup holding an open session and the results pages' columns
    session = accounts.sign_in("S01", PASSWORD)
    store = ResponseStore(db_url)
    store.responses_frame()
    with_session = backup_database(tmp_path / "with-session.db", url=db_url).path
    with sqlite3.connect(with_session) as conn:
        assert conn.execute("SELECT COUNT(*) FROM frame_snapshots").fetchone() == (1,)
    result = restore_database(with_session, actor=admin, safety_directory=tmp_path / "safety", url=db_url,
                              label="nightly.db")
    entry = accounts.audit_log(admin, limit=1).iloc[0]
    assert (entry["actor"], entry["action"], entry["target"]) == ("chief", "restore", "nightly.db")
    assert str(result.safety_backup.path) in entry["detail"]
    with pytest.raises(AuthenticationError):
        accounts.session_user(session.token)
    with sqlite3.connect(sqlite_path(db_url)) as conn:
        assert conn.execute("SELECT COUNT(*) FROM auth_sessions").fetchone() == (0,)
        assert conn.execute("SELECT COUNT(*) FROM frame_snapshots").fetchone() == (0,)
    assert len(store.responses_frame()) == 4  # read again from the interviews
    store.close()
