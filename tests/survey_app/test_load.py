"""Load: 50 concurrent submitters complete 2,000 interviews, answers saved one by one.

The submitters are threads in two worker processes (two "app servers", each with its own
``ResponseStore`` as the app has one per process), so the database sees writers from
several processes, as with several app servers behind a load balancer. Each submitter
starts its interviews, saves every answer as the tablet page does, re-reads the draft
and submits what the store holds. Some requests are sent twice (a retried save, a double
tap on Submit) on purpose. Afterwards the table is read independently of the store
(``sqlite3`` / ``psycopg``) and every expected interview must be there exactly once, with
exactly its answers.

SQLite runs on a memory file system when one is available (``/dev/shm``): the test is
about concurrency, and on a virtual disk each commit's fsync (~10 ms here) would make
14,000 commits take minutes without testing anything more.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import sqlite3
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from survey_app.store import ResponseStore

SUBMITTERS = 50
INTERVIEWS = 2000
PROCESSES = 2
FORM = "consumer_environment"
RETRY_SHARE = 0.05  # share of saves and submits sent twice


@dataclass(frozen=True)
class Planned:
    """One interview to enter: its unique PSU label identifies it whatever its id."""

    psu: str
    interviewer: str
    answers: dict
    retry_save: bool
    retry_submit: bool


def plan(rng: np.random.Generator) -> list[Planned]:
    channels = ["hotline_12315", "hotline_12345", "consumer_association", "platform", "other"]
    planned = []
    for index in range(INTERVIEWS):
        answers = {
            "consent": "yes",
            "overall_satisfaction": str(rng.integers(1, 6)),
            "age": int(rng.integers(18, 100)),
            "complaint_channels": sorted(rng.choice(channels, size=int(rng.integers(1, 4)), replace=False).tolist()),
            "suggestions": f"建议{index}：" + "".join(rng.choice(list("服务价格停车环境满意"), size=int(rng.integers(0, 40)))),
        }
        planned.append(
            Planned(
                psu=f"L{index:05d}",
                interviewer=f"A{index % SUBMITTERS:02d}",
                answers=answers,
                retry_save=bool(rng.random() < RETRY_SHARE),
                retry_submit=bool(rng.random() < RETRY_SHARE),
            )
        )
    return planned


def enter(store: ResponseStore, item: Planned) -> str:
    """What the tablet page does for one interview."""
    iid = store.start_interview(FORM, "1", interviewer=item.interviewer, district="chongchuan", psu=item.psu,
                                wave="2026")
    for question, value in item.answers.items():
        store.save_answer(iid, question, value)
        if item.retry_save:
            store.save_answer(iid, question, value)
    final = dict(store.get_interview(iid).answers)
    store.submit(iid, final)
    if item.retry_submit:
        store.submit(iid, final)
    return iid


def app_server(url: str, items: list[Planned], threads: int, results: multiprocessing.Queue) -> None:
    """One worker process: one store shared by ``threads`` submitters."""
    store = ResponseStore(url)
    errors: list[str] = []
    done: list[str] = []
    by_submitter = [items[i::threads] for i in range(threads)]
    barrier = threading.Barrier(threads)

    def submitter(own: list[Planned]) -> None:
        barrier.wait()
        for item in own:
            try:
                done.append(enter(store, item))
            except Exception as exc:  # noqa: BLE001 - sent to the test process
                errors.append(f"{item.psu}: {exc.__class__.__name__}: {exc}")

    workers = [threading.Thread(target=submitter, args=(own,)) for own in by_submitter]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    store.close()
    results.put((len(done), errors))


def run_load(url: str, planned: list[Planned]) -> tuple[float, int, list[str]]:
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    per_process = SUBMITTERS // PROCESSES
    chunks = [planned[i::PROCESSES] for i in range(PROCESSES)]
    ResponseStore(url).close()  # create the tables once, before the servers start
    started = time.perf_counter()
    processes = [context.Process(target=app_server, args=(url, chunk, per_process, results)) for chunk in chunks]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=300) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    duration = time.perf_counter() - started
    return duration, sum(n for n, _ in outcomes), [e for _, errors in outcomes for e in errors]


def check(rows: list[tuple[str, str, str]], planned: list[Planned]) -> tuple[int, int, int]:
    """(losses, duplicates, wrong) from the table rows (psu, status, answers JSON)."""
    expected = {item.psu: item.answers for item in planned}
    seen: dict[str, int] = {}
    wrong = 0
    for psu, status, answers in rows:
        seen[psu] = seen.get(psu, 0) + 1
        if status != "submitted" or json.loads(answers) != expected.get(psu):
            wrong += 1
    losses = sum(psu not in seen for psu in expected)
    duplicates = sum(count - 1 for count in seen.values())
    return losses, duplicates, wrong


def report(capsys, backend: str, duration: float, losses: int, duplicates: int, wrong: int) -> None:
    saves = sum(len(item.answers) for item in PLANNED)
    with capsys.disabled():
        print(
            f"\n[load {backend}] {SUBMITTERS} submitters in {PROCESSES} processes, {INTERVIEWS} interviews, "
            f"{saves} answers saved one by one, {duration:.1f} s "
            f"({INTERVIEWS / duration:.0f} interviews/s): losses={losses} duplicates={duplicates} wrong={wrong}"
        )


PLANNED = plan(np.random.default_rng(20261126))


def test_plan_is_what_the_issue_asks():
    assert len(PLANNED) == INTERVIEWS >= 2000
    assert len({item.interviewer for item in PLANNED}) == SUBMITTERS >= 50
    assert len({item.psu for item in PLANNED}) == INTERVIEWS
    assert 0 < sum(item.retry_save for item in PLANNED) < INTERVIEWS
    assert 0 < sum(item.retry_submit for item in PLANNED) < INTERVIEWS


def test_load_sqlite(tmp_path, capsys):
    directory = Path(tempfile.mkdtemp(dir="/dev/shm")) if Path("/dev/shm").is_dir() else tmp_path
    path = directory / "load.db"
    try:
        duration, done, errors = run_load(f"sqlite:///{path}", PLANNED)
        with sqlite3.connect(path) as conn:
            rows = conn.execute("SELECT psu, status, answers FROM interviews").fetchall()
    finally:
        if directory != tmp_path:
            for file in directory.iterdir():
                file.unlink()
            os.rmdir(directory)
    losses, duplicates, wrong = check(rows, PLANNED)
    report(capsys, "sqlite", duration, losses, duplicates, wrong)
    assert errors == []
    assert done == INTERVIEWS
    assert (losses, duplicates, wrong) == (0, 0, 0)
    assert len(rows) == INTERVIEWS


def test_load_postgresql(postgres_url, capsys):
    import psycopg
    from sqlalchemy.engine import make_url

    duration, done, errors = run_load(postgres_url, PLANNED)
    url = make_url(postgres_url)
    with psycopg.connect(host=url.host, port=url.port, user=url.username, dbname=url.database) as conn:
        rows = conn.execute("SELECT psu, status, answers FROM interviews").fetchall()
    losses, duplicates, wrong = check(rows, PLANNED)
    report(capsys, "postgresql", duration, losses, duplicates, wrong)
    assert errors == []
    assert done == INTERVIEWS
    assert (losses, duplicates, wrong) == (0, 0, 0)
    assert len(rows) == INTERVIEWS


@pytest.mark.parametrize("fault", ["lost", "doubled", "changed"])
def test_the_check_finds_losses_duplicates_and_changed_answers(fault):
    rows = [(item.psu, "submitted", json.dumps(item.answers)) for item in PLANNED[:10]]
    if fault == "lost":
        rows.pop(3)
    elif fault == "doubled":
        rows.append(rows[3])
    else:
        rows[3] = (rows[3][0], "submitted", json.dumps({**PLANNED[3].answers, "age": 17}))
    expected = {"lost": (1, 0, 0), "doubled": (0, 1, 0), "changed": (0, 0, 1)}[fault]
    assert check(rows, PLANNED[:10]) == expected
