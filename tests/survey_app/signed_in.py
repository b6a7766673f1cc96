"""Browser-session state of a signed-in user, for AppTests of pages that require a role."""
from __future__ import annotations

from argon2 import PasswordHasher

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
