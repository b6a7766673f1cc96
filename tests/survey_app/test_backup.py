"""Backups of the SQLite database taken while interviews are submitted, and restores."""
from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from survey_app.backup import BackupError, backup_bytes, backup_database, plan_restore, restore_database, sqlite_path
from survey_app.assignments import AssignmentStore
from survey_app.margins import MarginsStore
from survey_app.store import ResponseStore

FORM = "consumer_environment"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'live' / 'survey.db'}"


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


def test_restore_brings_back_exactly_the_backup_and_keeps_a_safety_copy(db_url, tmp_path):
    store = ResponseStore(db_url)
    before = dict(submit_one(store, n) for n in range(5))
    backup = backup_database(tmp_path / "backup.db", url=db_url)
    after = dict(submit_one(store, n) for n in range(5, 8))
    draft = store.start_interview(FORM, "1", interviewer="A01", district="haimen", psu="P1", wave="2026")

    plan = plan_restore(backup.path, url=db_url)
    assert (plan.backup_interviews, plan.current_interviews, plan.lost_interviews, plan.lost_submitted) == (5, 9, 4, 3)
    assert "removes 4 interviews (3 submitted)" in plan.summary()
    assert len(store.interviews(status="all")) == 9  # planning wrote nothing

    result = restore_database(backup.path.read_bytes(), safety_directory=tmp_path / "safety", url=db_url)
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


def test_a_backup_older_than_a_table_leaves_the_running_stores_working(db_url, tmp_path):
    # a backup made when the database had only interviews (before margins and field assignments)
    old = f"sqlite:///{tmp_path / 'old.db'}"
    old_store = ResponseStore(old)
    submit_one(old_store, 1)
    old_store.close()
    with sqlite3.connect(sqlite_path(old)) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "field_assignments" not in tables and "population_margins" not in tables

    store = ResponseStore(db_url)
    assignments = AssignmentStore(db_url)  # opened by the running app before the restore
    assert assignments.waves() == []
    restore_database(sqlite_path(old).read_bytes(), safety_directory=tmp_path / "safety", url=db_url)

    assert assignments.waves() == []  # the table is back, empty as in the backup
    assert MarginsStore(db_url).latest() is None
    assert {i.id for i in store.interviews(status="all")} == set(read_interviews(sqlite_path(old)))
    store.close()
    assignments.close()


def test_backup_bytes_for_the_download_button(db_url):
    store = ResponseStore(db_url)
    submit_one(store, 1)
    data, result = backup_bytes(url=db_url)
    assert data.startswith(b"SQLite format 3\x00") and len(data) == result.size
    assert (result.interviews, result.submitted) == (1, 1)
    assert "1 interviews (1 submitted)" in result.summary()
    assert list(result.to_frame().columns) == ["path", "size", "sha256", "interviews", "submitted", "created_at"]
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


@pytest.mark.parametrize("kind", ["random", "empty", "truncated", "other_database", "damaged"])
def test_bad_backups_are_refused_and_change_nothing(db_url, tmp_path, kind):
    store = ResponseStore(db_url)
    for n in range(8):
        submit_one(store, n)
    good = backup_database(tmp_path / "good.db", url=db_url).path
    before = read_interviews(sqlite_path(db_url))
    with pytest.raises(BackupError) as error:
        restore_database(make_bad(kind, tmp_path, good), safety_directory=tmp_path / "safety", url=db_url)
    assert any(word in str(error.value) for word in ("not a SQLite", "damaged", "no interviews table",
                                                       "cannot be read"))
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
