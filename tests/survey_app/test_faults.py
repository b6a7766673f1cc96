"""Faults: a killed importer, repeated requests, restarts in the middle of an interview.

Every test runs on SQLite and on PostgreSQL. The database is always checked with a reader
independent of the store (``sqlite3`` / ``psycopg``).
"""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import multiprocessing
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from questionnaires import shipped_questionnaires
from survey_app.store import InterviewClosedError, ResponseStore

FORM = "consumer_environment"
ROWS_PER_PSU = 25
PSUS = 16  # 400 interviews in the import file


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'survey.db'}"
    return request.getfixturevalue("postgres_url")


def table(url: str, sql: str) -> list[tuple]:
    """Rows of ``sql`` read without SQLAlchemy or the store."""
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            return conn.execute(sql).fetchall()
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    with psycopg.connect(host=parsed.host, port=parsed.port, user=parsed.username, dbname=parsed.database) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture(scope="module")
def export_file(tmp_path_factory) -> tuple[Path, int]:
    """A clean CSV export of this project (400 interviews), made through the store."""
    from survey_app.demo import generate_demo

    directory = tmp_path_factory.mktemp("export")
    form = shipped_questionnaires()[FORM]
    interviews = generate_demo(questionnaires={FORM: form}, waves=["2026"], psus=PSUS,
                               respondents_per_psu=ROWS_PER_PSU)
    source = ResponseStore(f"sqlite:///{directory / 'source.db'}")
    source.import_interviews(interviews)
    path = directory / "export.csv"
    source.responses_frame(FORM).to_csv(path, index=False)
    source.close()
    return path, len(interviews)


# -- child processes killed with SIGKILL ---------------------------------------------------------
# Children are forked from the test process: a separate process that can be killed, without
# paying for a new interpreter's imports each time.


class Child:
    """A forked process running ``target(connection, *args)``; it reports by sending words."""

    def __init__(self, target, *args) -> None:
        context = multiprocessing.get_context("fork")
        self._receiver, sender = context.Pipe(duplex=False)
        self.process = context.Process(target=target, args=(sender, *args), daemon=True)
        self.process.start()
        sender.close()

    def wait_for(self, word: str, timeout: float = 120) -> list:
        deadline = time.monotonic() + timeout
        while self._receiver.poll(max(0.0, deadline - time.monotonic())):
            try:
                message = self._receiver.recv()
            except EOFError:
                break
            if message[0] == word:
                return message
        raise AssertionError(f"the child did not send {word!r} (exit code {self.process.exitcode})")

    def kill(self) -> list:
        """SIGKILL the child; returns the messages it sent that were not read yet."""
        if self.process.is_alive():
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.join(timeout=30)
        unread = []
        while self._receiver.poll():
            try:
                unread.append(self._receiver.recv())
            except EOFError:
                break
        self._receiver.close()
        return unread


def importer_child(connection, url: str, path: Path, stop_at: str | None) -> None:
    """Import the file; report when the database work starts, and pause after ``stop_at`` if given."""
    import sqlalchemy as sa

    from survey_app.importer import import_responses

    store = ResponseStore(url)
    writing = []

    def watch(conn, cursor, statement, parameters, context, executemany):
        if not writing:
            writing.append(True)
            connection.send(("writing",))
        if stop_at is not None and statement.lstrip().upper().startswith(stop_at):
            connection.send(("paused",))
            time.sleep(120)  # to be killed inside the open transaction

    sa.event.listen(store._engine, "after_cursor_execute", watch)
    connection.send(("started",))
    result = import_responses(store, path, shipped_questionnaires()[FORM])
    connection.send(("done", result.stored))


def test_sigkill_in_the_middle_of_a_batch_import_leaves_nothing(db_url, export_file, capsys):
    """Killed after every row was inserted, before the commit: the worst moment."""
    from survey_app.importer import import_responses

    path, n = export_file
    store = ResponseStore(db_url)
    importer = Child(importer_child, db_url, path, "INSERT")
    importer.wait_for("paused")
    importer.kill()
    assert importer.process.exitcode == -signal.SIGKILL
    if db_url.startswith("sqlite"):
        assert table(db_url, "PRAGMA integrity_check") == [("ok",)]
    assert table(db_url, "SELECT COUNT(*) FROM interviews") == [(0,)]

    # The database is usable at once (no lock left behind), and the whole file goes in once.
    form = shipped_questionnaires()[FORM]
    assert import_responses(store, path, form).stored == n
    assert import_responses(store, path, form).stored == 0
    rows = table(db_url, "SELECT COUNT(*), COUNT(DISTINCT id) FROM interviews WHERE status = 'submitted'")
    assert rows == [(n, n)]
    store.close()
    with capsys.disabled():
        print(f"\n[faults {db_url.split(':')[0]}] SIGKILL between the INSERT of all {n} rows and the commit: "
              f"0 rows left; re-run stored {n}, a second re-run 0")


def test_sigkill_at_spread_moments_is_all_or_nothing(tmp_path, export_file, capsys):
    """Kills spread over the import's database work (and a little after): nothing or everything."""
    path, n = export_file
    url = f"sqlite:///{tmp_path / 'survey.db'}"
    ResponseStore(url).close()
    timing = Child(importer_child, url, path, None)
    timing.wait_for("writing")
    started = time.monotonic()
    timing.wait_for("done")
    duration = time.monotonic() - started
    timing.kill()
    outcomes = []
    for delay in np.linspace(0.0, 1.5, 8) * duration:
        target = f"sqlite:///{tmp_path / f'survey-{len(outcomes)}.db'}"
        ResponseStore(target).close()
        importer = Child(importer_child, target, path, None)
        importer.wait_for("writing")
        time.sleep(delay)
        importer.kill()
        assert table(target, "PRAGMA integrity_check") == [("ok",)]
        (count,), = table(target, "SELECT COUNT(*) FROM interviews")
        assert count in (0, n)
        outcomes.append(count)
    with capsys.disabled():
        print(f"\n[faults sqlite] SIGKILL 0 to 1.5 x {duration * 1000:.0f} ms into an import's database work: "
              f"rows left {outcomes} (each 0 or {n})")


# -- repeated requests -------------------------------------------------------------------------


def start(store: ResponseStore) -> str:
    return store.start_interview(FORM, "1.0", interviewer="A01", district="chongchuan", psu="P1", wave="2026")


def run_together(calls, *, threads: int = 8) -> list:
    barrier = threading.Barrier(threads)
    results: list = [None] * threads

    def worker(index: int) -> None:
        barrier.wait()
        try:
            results[index] = calls(index)
        except Exception as exc:  # noqa: BLE001 - compared by the test
            results[index] = exc

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=60)
    return results


def test_a_double_tapped_or_retried_submit_stores_one_interview(db_url):
    servers = [ResponseStore(db_url) for _ in range(2)]  # the retry may reach another app server
    iid = start(servers[0])
    answers = {"consent": "yes", "overall_satisfaction": "5", "complaint_channels": ["platform", "other"]}
    for name, value in answers.items():
        servers[0].save_answer(iid, name, value)
        servers[1].save_answer(iid, name, value)  # the retried save
    results = run_together(lambda i: servers[i % 2].submit(iid, answers))
    assert all(not isinstance(result, Exception) for result in results), results
    assert len({(r.id, r.submitted_at, r.status) for r in results}) == 1
    rows = table(db_url, "SELECT id, status, answers FROM interviews")
    assert len(rows) == 1 and rows[0][:2] == (iid, "submitted") and json.loads(rows[0][2]) == answers
    for server in servers:
        server.close()


def test_competing_submits_with_different_answers_keep_exactly_one(db_url):
    store = ResponseStore(db_url)
    iid = start(store)
    results = run_together(lambda i: store.submit(iid, {"consent": "yes", "overall_satisfaction": str(1 + i % 5)}))
    winners = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert all(isinstance(r, InterviewClosedError) for r in refused)
    stored = table(db_url, "SELECT answers FROM interviews")
    assert len(stored) == 1
    assert all(dict(w.answers) == json.loads(stored[0][0]) for w in winners) and winners
    store.close()


def test_answers_sent_at_once_from_two_servers_are_all_kept(db_url):
    servers = [ResponseStore(db_url) for _ in range(2)]
    iid = start(servers[0])
    names = [f"q{i}" for i in range(16)]
    run_together(lambda i: [servers[i % 2].save_answer(iid, name, f"{name}-value") for name in names[i::8]])
    (answers,), = table(db_url, "SELECT answers FROM interviews")
    assert json.loads(answers) == {name: f"{name}-value" for name in names}
    for server in servers:
        server.close()


# -- restarts in the middle of an interview -------------------------------------------------

def interviewer_child(connection, url: str) -> None:
    store = ResponseStore(url)
    iid = start(store)
    connection.send(("id", iid))
    store.set_page(iid, 2)
    index = 0
    while True:  # keeps answering until killed
        store.save_answer(iid, f"q{index}", index)
        connection.send(("saved", index))
        index += 1


def test_an_app_server_killed_mid_interview_loses_no_acknowledged_answer(db_url):
    server = Child(interviewer_child, db_url)
    iid = server.wait_for("id")[1]
    # Killed while it is answering, after a few confirmed answers (a loaded machine may be slow
    # to confirm the first ones, so wait for them rather than for a fixed time).
    seen = server.wait_for("saved")[1]
    while seen < 3:
        seen = server.wait_for("saved")[1]
    time.sleep(0.2)
    # The last answer the server confirmed before it died.
    acknowledged = max([seen, *(message[1] for message in server.kill() if message[0] == "saved")])
    assert acknowledged >= 3
    restarted = ResponseStore(db_url)  # the restarted server
    draft = restarted.get_interview(iid)
    assert draft.status == "draft" and draft.page == 2
    saved = dict(draft.answers)
    # Every acknowledged answer is there; at most the one in flight beyond it, complete.
    assert {f"q{i}": i for i in range(acknowledged + 1)}.items() <= saved.items()
    assert len(saved) - (acknowledged + 1) in (0, 1)
    assert restarted.drafts("A01")[0].id == iid
    restarted.save_answer(iid, "consent", "yes")
    final = dict(restarted.get_interview(iid).answers)
    assert restarted.submit(iid, final).status == "submitted"
    assert table(db_url, "SELECT COUNT(*) FROM interviews") == [(1,)]
    restarted.close()


def test_a_postgresql_restart_mid_interview_is_survived(postgres_server, postgres_url):
    store = ResponseStore(postgres_url)
    iid = start(store)
    store.save_answer(iid, "consent", "yes")
    data = postgres_server.data_dir
    # -l: without a log file the new server would keep the pipe of this call open.
    postgres_server._run("pg_ctl", "-D", str(data), "-l", str(data / "server.log"), "-m", "fast", "-w", "-t", "60",
                         "restart")
    # The pooled connections died with the server; the store reconnects by itself.
    store.save_answer(iid, "overall_satisfaction", "4")
    assert dict(store.get_interview(iid).answers) == {"consent": "yes", "overall_satisfaction": "4"}
    store.submit(iid, {"consent": "yes", "overall_satisfaction": "4"})
    assert table(postgres_url, "SELECT status FROM interviews") == [("submitted",)]
    store.close()
