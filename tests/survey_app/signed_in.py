"""Browser-session state of a signed-in user, for AppTests of pages that require a role."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from streamlit.testing.v1 import AppTest

from survey_app.auth import Accounts, AuthenticationError, session_state_for

PASSWORD = "a long test password"
ADMIN = ("chief", "correct horse battery")


def signed_in_state(url: str, role: str = "statistician", username: str = "S01") -> dict[str, str]:
    """Session-state entries of ``username`` with ``role``, creating the accounts on a fresh database."""
    # A cheap hash: the tests are about pages, not about argon2's cost.
    accounts = Accounts(url, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    try:
        try:
            session = accounts.sign_in(username, PASSWORD)
        except AuthenticationError:
            if accounts.needs_setup():
                admin = accounts.create_first_administrator(*ADMIN)
            else:
                admin = accounts.authenticate(*ADMIN)
            accounts.create_user(admin, username, PASSWORD, [role])
            session = accounts.sign_in(username, PASSWORD)
    finally:
        accounts.close()
    return session_state_for(session)


def open_results_page(page: Path, url: str, monkeypatch: pytest.MonkeyPatch, *, lang: str = "en",
                      settings: Any = None, timeout: float = 120) -> AppTest:
    """Run the page file ``page`` on the database at ``url`` as a signed-in statistician
    (with the results ``settings`` in the session, when given); fail on a traceback."""
    monkeypatch.setenv("SURVEY_DB_URL", url)
    at = AppTest.from_file(str(page), default_timeout=timeout)
    at.query_params["lang"] = lang
    for key, value in signed_in_state(url).items():
        at.session_state[key] = value
    if settings is not None:
        at.session_state["results_settings"] = settings
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shows_no_error(at: AppTest) -> AppTest:
    """The run showed neither a traceback nor an error message."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at
