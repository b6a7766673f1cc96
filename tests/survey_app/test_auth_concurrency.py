"""Sign-in guessing in parallel: the throttle holds across app servers (issue: lockout bypass).

Each "server" is its own :class:`Accounts` object with its own engine on one database, as
several app servers on one PostgreSQL (or processes on one SQLite file) would be. Password
checks are made slow on purpose (as argon2 is in production), so that without an atomic
check-and-count every attempt would read the account before any failure is written.
The clock stands still, so no delay runs out during a burst.
"""
from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from argon2 import PasswordHasher

from survey_app.auth import AccountLockedError, Accounts, AuthenticationError

ADMIN_PASSWORD = "correct horse battery"
PASSWORD = "tablet-secret-2026"
MAX_FAILURES = 3


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


class SlowCountingHasher(PasswordHasher):
    """A cheap argon2 whose verify takes ``delay`` seconds and is counted."""

    def __init__(self, checked: list[str], delay: float) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.checked, self.delay, self.lock = checked, delay, threading.Lock()

    def verify(self, hash, password) -> bool:  # noqa: A002 - argon2's own parameter name
        with self.lock:
            self.checked.append(password)
        time.sleep(self.delay)
        return super().verify(hash, password)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'survey.db'}"
    return request.getfixturevalue("postgres_url")


def servers(url: str, count: int, clock: Clock, checked: list[str], delay: float) -> list[Accounts]:
    return [Accounts(url, hasher=SlowCountingHasher(checked, delay), clock=clock, max_failures=MAX_FAILURES)
            for _ in range(count)]


def burst(attempts: list[tuple[Accounts, str]]) -> list[str]:
    """Run all sign-ins of interviewer A01 at once; the outcome of each, in order."""
    outcomes: list[str] = [""] * len(attempts)
    barrier = threading.Barrier(len(attempts))

    def attempt(index: int) -> None:
        accounts, password = attempts[index]
        barrier.wait()
        try:
            accounts.sign_in("A01", password)
            outcomes[index] = "signed in"
        except AccountLockedError:
            outcomes[index] = "refused"
        except AuthenticationError:
            outcomes[index] = "wrong"

    threads = [threading.Thread(target=attempt, args=(index,)) for index in range(len(attempts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return outcomes


def set_up(url: str, clock: Clock) -> Accounts:
    setup = Accounts(url, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1), clock=clock,
                     max_failures=MAX_FAILURES)
    admin = setup.create_first_administrator("chief", ADMIN_PASSWORD)
    setup.create_user(admin, "A01", PASSWORD, ["interviewer"])
    return setup


def test_sixteen_browser_sessions_at_once_cannot_bypass_the_throttle(url):
    """The issue's case: 16 sessions (each its own server) sign in as one interviewer at once,
    15 with wrong passwords and 1 with the right one."""
    clock = Clock()
    setup = set_up(url, clock)
    checked: list[str] = []
    own = servers(url, 16, clock, checked, delay=0.3)
    passwords = ["wrong password!"] * 15 + [PASSWORD]
    np.random.default_rng(20261207).shuffle(passwords)
    outcomes = burst(list(zip(own, passwords)))

    assert all(outcomes), outcomes
    # Serially, at most MAX_FAILURES attempts pass before the right one and (after it forgives
    # those) MAX_FAILURES - 1 wrong ones after it; without the atomic reservation all 16 were checked.
    assert MAX_FAILURES <= len(checked) <= 2 * MAX_FAILURES, outcomes
    assert outcomes.count("refused") == 16 - len(checked)
    assert outcomes.count("wrong") == checked.count("wrong password!")
    if "signed in" not in outcomes:
        # The right password came too late: every failure is counted and the name must wait.
        assert outcomes.count("wrong") == MAX_FAILURES
        with pytest.raises(AccountLockedError):
            setup.sign_in("A01", PASSWORD)
    clock.now += timedelta(seconds=1)
    setup.sign_in("A01", PASSWORD)  # a growing delay, not a lock
    for accounts in (setup, *own):
        accounts.close()


def test_a_burst_of_150_guesses_gets_exactly_the_allowed_checks(url):
    """150 simultaneous wrong guesses through ``Accounts.sign_in`` on 5 servers: exactly
    MAX_FAILURES are checked, every other one is refused before its check, and nothing is lost."""
    clock = Clock()
    setup = set_up(url, clock)
    checked: list[str] = []
    own = servers(url, 5, clock, checked, delay=0.05)
    outcomes = burst([(own[index % 5], f"guess number {index}") for index in range(150)])

    assert outcomes.count("wrong") == len(checked) == MAX_FAILURES, outcomes
    assert outcomes.count("refused") == 150 - MAX_FAILURES
    with pytest.raises(AccountLockedError) as locked:  # even the right password waits now
        setup.sign_in("A01", PASSWORD)
    assert locked.value.retry_after == 1
    log = setup.audit_log(setup.get_user("chief"))
    failures = sorted(json.loads(detail)["failures"] for detail in log.loc[log["action"] == "sign_in_failed", "detail"])
    assert failures == list(range(1, MAX_FAILURES + 1))  # each check counted once, none lost
    clock.now += timedelta(seconds=1)
    setup.sign_in("A01", PASSWORD)
    for accounts in (setup, *own):
        accounts.close()
