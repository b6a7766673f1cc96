"""Shared pieces of the review, questionnaire-version and import-page tests.

Interviews come from the demonstration generator (valid interviews that walk each
questionnaire's skip logic), seeded from the test's ``rng``; accounts use a fast password
hash. App sessions are signed in the way the sign-in page does it (a session token in the
browser session's state).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from argon2 import PasswordHasher
from streamlit.testing.v1 import AppTest

from questionnaires import shipped_questionnaires
from survey_app.auth import Accounts, User, session_state_for
from survey_app.demo import DemoInterview, generate_demo
from survey_app.store import ResponseStore

APP = Path(__file__).parent.parent.parent / "survey_app" / "app.py"
TIMEOUT = 60
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
ADMIN_PASSWORD = "correct horse battery"
PASSWORD = "statistics-2026"
FORMS = shipped_questionnaires()


def make_interviews(form_id: str, rng: np.random.Generator, *, per_psu: int = 4,
                    wave: str = "2026") -> list[DemoInterview]:
    """Valid submitted interviews of one questionnaire: 16 PSUs (two per district) x ``per_psu``."""
    return generate_demo(seed=int(rng.integers(2**31)), waves=(wave,), questionnaires={form_id: FORMS[form_id]},
                         psus=16, respondents_per_psu=per_psu)


def with_answers(interview: DemoInterview, **answers) -> DemoInterview:
    """The interview with some answers replaced."""
    return dataclasses.replace(interview, answers={**interview.answers, **answers})


def stored(store: ResponseStore, interviews: list[DemoInterview]) -> list[str]:
    """Store the interviews as submitted; their ids in order."""
    store.import_interviews(interviews)
    return [interview.interview_id for interview in interviews]


def make_users(accounts: Accounts) -> dict[str, User]:
    admin = accounts.create_first_administrator("chief", ADMIN_PASSWORD, display_name="Chief")
    return {
        "administrator": admin,
        "statistician": accounts.create_user(admin, "S01", PASSWORD, ["statistician"]),
        "interviewer": accounts.create_user(admin, "A01", PASSWORD, ["interviewer"]),
    }


def open_page(accounts: Accounts, username: str, page: str, *, lang: str | None = None,
              direct: bool = False) -> AppTest:
    """A browser session signed in as ``username``, on ``page`` (e.g. ``"pages/review.py"``).

    ``direct`` runs the page file itself, as a user whose menu lacks the page could try.
    """
    script = APP.parent / page if direct else APP
    at = AppTest.from_file(str(script), default_timeout=TIMEOUT)
    password = ADMIN_PASSWORD if username == "chief" else PASSWORD
    for key, value in session_state_for(accounts.sign_in(username, password)).items():
        at.session_state[key] = value
    if lang is not None:
        at.query_params["lang"] = lang
    at.run()
    if not direct:
        at.switch_page(page)
        at.run()
    return clean(at)


def clean(at: AppTest) -> AppTest:
    """The run showed no traceback."""
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest, kind: str) -> list[str]:
    return [str(element.value) for element in getattr(at, kind)]
