"""Accounts, roles, sessions, the audit log and personal-data minimisation.

Three roles, each allowed a fixed set of actions (:data:`PERMISSIONS`):

- ``interviewer`` — the interviewing page, and only their own interviews;
- ``statistician`` — results, weighting, export, planning;
- ``administrator`` — users, questionnaires, review, backups, the audit log, and exports
  that keep free-text contact details.

Passwords are stored only as argon2id hashes (OWASP's parameters: 19 MiB, 2 passes, 1 lane;
hashes made with other parameters are upgraded at the next sign-in). There is no default
account: while no user exists the app asks for the first administrator
(:meth:`Accounts.create_first_administrator`). A sign-in gives a random session token,
kept only in the browser session's ``st.session_state``; the database holds its SHA-256,
and a session ends after :attr:`Accounts.idle_timeout` without activity or
:attr:`Accounts.absolute_timeout` after sign-in. Five wrong passwords in a row lock the
account for 15 minutes.

Organisations with an OpenID Connect provider can also sign in with ``st.login``; roles then
come from the ``[survey_auth]`` section of ``.streamlit/secrets.toml``
(:class:`OidcConfig`)::

    [auth]                       # Streamlit's own st.login settings
    redirect_uri = "https://survey.example.org/oauth2callback"
    cookie_secret = "..."
    client_id = "..."
    client_secret = "..."
    server_metadata_url = "https://sso.example.org/.well-known/openid-configuration"

    [survey_auth]
    oidc = true
    roles_claim = "groups"       # claim listing the user's groups
    username_claim = "email"
    [survey_auth.roles]          # group names or user names mapped to each role
    administrator = ["survey-admins"]
    statistician = ["survey-statisticians"]
    interviewer = ["survey-interviewers"]

Every check runs on the server: pages call :func:`require_role` before drawing anything
(the navigation also hides pages, but that is only convenience), and library calls that act
for a user take the :class:`User` and call :func:`authorize`.
"""
from __future__ import annotations

import functools
import hashlib
import json
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np
import pandas as pd
import sqlalchemy as sa
import streamlit as st
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from survey_app.errors import SurveyAppError
from survey_app.i18n import register, t
from survey_app.store import METADATA_COLUMNS, UTCDateTime, database_engine, default_url, display_url

if TYPE_CHECKING:
    from questionnaires import Questionnaire
    from survey_app.store import ResponseStore

__all__ = [
    "ACTIONS",
    "PERMISSIONS",
    "ROLES",
    "Accounts",
    "AccountLockedError",
    "Action",
    "AuthError",
    "AuthenticationError",
    "InvalidAccountError",
    "OidcConfig",
    "PermissionDeniedError",
    "Role",
    "Session",
    "SessionExpiredError",
    "SetupError",
    "User",
    "audit",
    "authorize",
    "check_own_interview",
    "export_responses",
    "redact_contact_details",
    "require_role",
    "session_state_for",
]

Role = Literal["interviewer", "statistician", "administrator"]
ROLES: tuple[str, ...] = get_args(Role)
Action = Literal[
    "interview",
    "results",
    "weighting",
    "export",
    "planning",
    "users",
    "questionnaires",
    "review",
    "backups",
    "audit",
    "export_contact_details",
]
ACTIONS: tuple[str, ...] = get_args(Action)

#: What each role may do. A user with several roles may do the union.
PERMISSIONS: Mapping[str, frozenset[str]] = {
    "interviewer": frozenset({"interview"}),
    "statistician": frozenset({"results", "weighting", "export", "planning"}),
    "administrator": frozenset(
        {"users", "questionnaires", "review", "backups", "audit", "export", "export_contact_details"}
    ),
}

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}")
# OWASP Password Storage Cheat Sheet, argon2id minimum: m=19 MiB, t=2, p=1.
_DEFAULT_HASHER = dict(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class AuthError(SurveyAppError):
    """Base class of the errors about accounts, sign-in and permissions."""


class InvalidAccountError(AuthError, ValueError):
    """A user name, password or role that cannot be accepted."""


class SetupError(AuthError):
    """The first administrator was already created (or none is allowed yet)."""


class AuthenticationError(AuthError):
    """Wrong user name or password, an unknown or ended session, or a disabled account."""


class AccountLockedError(AuthenticationError):
    """Too many wrong passwords in a row; the account is locked for a while."""


class SessionExpiredError(AuthenticationError):
    """The session ended (idle or absolute timeout, or signed out); sign in again."""


class PermissionDeniedError(AuthError, PermissionError):
    """The signed-in user's roles do not allow the action."""


@dataclass(frozen=True)
class User:
    """An account as stored (never with its password hash).

    Attributes
    ----------
    username : str
        Sign-in name; for interviewers also the interviewer code stored with interviews.
    display_name : str
    roles : frozenset of {"interviewer", "statistician", "administrator"}
    active : bool
        False when an administrator disabled the account.
    source : {"password", "oidc"}
        How the account signs in.
    created_at : datetime
    """

    username: str
    display_name: str
    roles: frozenset[str]
    active: bool
    source: Literal["password", "oidc"]
    created_at: datetime

    def can(self, action: Action) -> bool:
        """Whether one of the user's roles allows ``action``."""
        _check_choice("action", action, ACTIONS)
        return self.active and any(action in PERMISSIONS[role] for role in self.roles)

    def to_frame(self) -> pd.DataFrame:
        """One row: username, display_name, roles (comma-separated), active, source, created_at."""
        return pd.DataFrame([_user_row(self)])

    def summary(self) -> str:
        state = "active" if self.active else "disabled"
        return f"{self.display_name} ({self.username}): {', '.join(sorted(self.roles))}; {state}, {self.source}"


@dataclass(frozen=True)
class Session:
    """A signed-in session. ``token`` is the secret the browser session keeps."""

    token: str
    user: User
    created_at: datetime
    expires_at: datetime

    def to_frame(self) -> pd.DataFrame:
        """One row without the token: username, created_at, expires_at."""
        return pd.DataFrame(
            [{"username": self.user.username, "created_at": self.created_at, "expires_at": self.expires_at}]
        )

    def summary(self) -> str:
        return f"session of {self.user.username}, signed in {self.created_at.isoformat()}"


@dataclass(frozen=True)
class OidcConfig:
    """Sign-in through the organisation's OpenID Connect provider (``st.login``).

    Attributes
    ----------
    provider : str or None
        Name of the ``[auth.<provider>]`` section, or None for the plain ``[auth]`` one.
    roles_claim : str
        The identity-token claim listing the user's groups (a list or a space/comma
        separated string).
    username_claim : str
        The claim used as user name (and interviewer code).
    roles : Mapping[str, frozenset[str]]
        Role -> the group names or user names (values of ``username_claim``) given it.
    """

    provider: str | None
    roles_claim: str
    username_claim: str
    roles: Mapping[str, frozenset[str]]

    @classmethod
    def from_mapping(cls, section: Mapping[str, Any]) -> OidcConfig:
        """Read the ``[survey_auth]`` secrets section; errors name the bad key."""
        roles = section.get("roles")
        if not isinstance(roles, Mapping) or not roles:
            raise InvalidAccountError(
                "[survey_auth] needs a [survey_auth.roles] table mapping roles to group names, "
                'e.g. administrator = ["survey-admins"]'
            )
        mapped: dict[str, frozenset[str]] = {}
        for role, members in roles.items():
            _check_choice("[survey_auth.roles] key", role, ROLES)
            if isinstance(members, str) or not isinstance(members, Iterable):
                raise InvalidAccountError(
                    f"[survey_auth.roles] {role} must be a list of group or user names, got {members!r}"
                )
            mapped[role] = frozenset(str(member) for member in members)
        provider = section.get("provider")
        return cls(
            provider=str(provider) if provider else None,
            roles_claim=str(section.get("roles_claim", "groups")),
            username_claim=str(section.get("username_claim", "email")),
            roles=mapped,
        )

    def roles_for(self, claims: Mapping[str, Any]) -> frozenset[str]:
        """The roles the identity ``claims`` are mapped to (possibly none)."""
        groups = claims.get(self.roles_claim) or []
        if isinstance(groups, str):
            groups = re.split(r"[\s,]+", groups)
        names = {str(group) for group in groups if group}
        username = claims.get(self.username_claim)
        if username:
            names.add(str(username))
        return frozenset(role for role, members in self.roles.items() if members & names)


_metadata = sa.MetaData()
_users = sa.Table(
    "auth_users",
    _metadata,
    sa.Column("username", sa.String(100), primary_key=True),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("roles", sa.String(200), nullable=False),
    # NULL for accounts that sign in through the organisation's provider.
    sa.Column("password_hash", sa.String(300), nullable=True),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("failed_attempts", sa.Integer, nullable=False),
    sa.Column("locked_until", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index("ux_auth_users_username_lower", sa.func.lower(sa.column("username")), unique=True),
)
_sessions = sa.Table(
    "auth_sessions",
    _metadata,
    sa.Column("token_sha256", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(100), nullable=False, index=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_seen_at", UTCDateTime, nullable=False),
    sa.Column("ended_at", UTCDateTime, nullable=True),
)
# One row, written in the same transaction as the first administrator: a second concurrent
# first start (another app server) fails on the primary key instead of creating a second one.
_setup = sa.Table(
    "auth_setup",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("done_at", UTCDateTime, nullable=False),
    sa.Column("by", sa.String(100), nullable=False),
)
_audit = sa.Table(
    "audit_log",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(120), nullable=False),
    sa.Column("action", sa.String(50), nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
)

AUDIT_COLUMNS: tuple[str, ...] = ("at", "actor", "action", "target", "detail")


class Accounts:
    """Users, sessions and the audit log, in the response store's database.

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL; default as for :class:`~survey_app.store.ResponseStore`
        (``SURVEY_DB_URL`` or ``data/survey.db``).
    hasher : argon2.PasswordHasher, optional
        Default: argon2id with OWASP's parameters.
    clock : callable, optional
        Returns the current aware time (for tests).
    idle_timeout, absolute_timeout : timedelta
        A session ends after this long without activity / this long after sign-in.
        Defaults: 1 hour (an interviewer between two households) and 12 hours (a field day).
    max_failures : int
        Wrong passwords in a row that lock the account, for ``lockout``.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], datetime] | None = None,
        idle_timeout: timedelta = timedelta(hours=1),
        absolute_timeout: timedelta = timedelta(hours=12),
        max_failures: int = 5,
        lockout: timedelta = timedelta(minutes=15),
    ) -> None:
        for name, value in (("idle_timeout", idle_timeout), ("absolute_timeout", absolute_timeout),
                            ("lockout", lockout)):
            if not isinstance(value, timedelta) or value <= timedelta(0):
                raise InvalidAccountError(f"{name} must be a positive timedelta, got {value!r}")
        if isinstance(max_failures, bool) or not isinstance(max_failures, int) or max_failures < 1:
            raise InvalidAccountError(f"max_failures must be a positive int, got {max_failures!r}")
        self.url = url if url is not None else default_url()
        self.hasher = hasher or PasswordHasher(**_DEFAULT_HASHER)
        self.idle_timeout, self.absolute_timeout = idle_timeout, absolute_timeout
        self.max_failures, self.lockout = max_failures, lockout
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._engine = database_engine(self.url)
        self._dummy_hash: str | None = None
        try:
            _metadata.create_all(self._engine)
        except SQLAlchemyError as exc:
            raise AuthError(f"cannot open the accounts in {display_url(self.url)}: {_detail(exc)}") from exc

    def __repr__(self) -> str:
        return f"Accounts({display_url(self.url)!r})"

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    # -- first start and users -----------------------------------------------------------

    def needs_setup(self) -> bool:
        """True until the first administrator has been created."""
        with self._connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(_setup)).scalar_one() == 0

    def create_first_administrator(self, username: str, password: str, *, display_name: str | None = None) -> User:
        """Create the first account (an administrator); refused once any setup happened."""
        username = _check_username(username)
        _check_password(password, username)
        now = self._now()
        try:
            with self._begin() as conn:
                conn.execute(_setup.insert().values(id=1, done_at=now, by=username))
                self._insert_user(conn, username, display_name, {"administrator"}, password, "password", now)
                self._audit(conn, username, "setup", username, {"roles": ["administrator"]})
        except IntegrityError:
            raise SetupError(
                "the first administrator already exists; sign in, or ask an administrator for an account"
            ) from None
        return self.get_user(username)

    def create_user(
        self,
        actor: User,
        username: str,
        password: str,
        roles: Iterable[Role],
        *,
        display_name: str | None = None,
    ) -> User:
        """Create a password account (administrators only)."""
        self._authorize(actor, "users")
        username = _check_username(username)
        role_set = _check_roles(roles)
        _check_password(password, username)
        now = self._now()
        try:
            with self._begin() as conn:
                self._insert_user(conn, username, display_name, role_set, password, "password", now)
                self._audit(conn, actor.username, "create_user", username, {"roles": sorted(role_set)})
        except IntegrityError:
            raise InvalidAccountError(
                f"username {username!r} is taken (user names ignore case); choose another"
            ) from None
        return self.get_user(username)

    def set_roles(self, actor: User, username: str, roles: Iterable[Role]) -> User:
        """Replace a user's roles (administrators only; the last administrator keeps the role)."""
        self._authorize(actor, "users")
        role_set = _check_roles(roles)
        with self._begin() as conn:
            row = self._user_row(conn, username, lock=True)
            if "administrator" in row.roles.split(",") and "administrator" not in role_set:
                self._keep_an_administrator(conn, row.username)
            conn.execute(
                _users.update().where(_users.c.username == row.username)
                .values(roles=",".join(sorted(role_set)), updated_at=self._now())
            )
            self._audit(conn, actor.username, "set_roles", row.username, {"roles": sorted(role_set)})
        return self.get_user(row.username)

    def set_active(self, actor: User, username: str, active: bool) -> User:
        """Enable or disable an account (administrators only); disabling ends its sessions."""
        self._authorize(actor, "users")
        if not isinstance(active, bool):
            raise InvalidAccountError(f"active must be True or False, got {active!r}")
        now = self._now()
        with self._begin() as conn:
            row = self._user_row(conn, username, lock=True)
            if not active and "administrator" in row.roles.split(","):
                self._keep_an_administrator(conn, row.username)
            conn.execute(
                _users.update().where(_users.c.username == row.username)
                .values(active=active, failed_attempts=0, locked_until=None, updated_at=now)
            )
            if not active:
                self._end_sessions(conn, row.username, now)
            self._audit(conn, actor.username, "enable_user" if active else "disable_user", row.username, {})
        return self.get_user(row.username)

    def reset_password(self, actor: User, username: str, new_password: str) -> None:
        """Set another user's password (administrators only); ends that user's sessions."""
        self._authorize(actor, "users")
        now = self._now()
        with self._begin() as conn:
            row = self._user_row(conn, username, lock=True)
            if row.source != "password":
                raise InvalidAccountError(
                    f"{row.username} signs in through the organisation's provider and has no password here"
                )
            _check_password(new_password, row.username)
            conn.execute(
                _users.update().where(_users.c.username == row.username).values(
                    password_hash=self.hasher.hash(new_password), failed_attempts=0, locked_until=None,
                    updated_at=now,
                )
            )
            self._end_sessions(conn, row.username, now)
            self._audit(conn, actor.username, "reset_password", row.username, {})

    def change_password(self, user: User, old_password: str, new_password: str) -> None:
        """A user changes their own password (the old one is checked)."""
        self.authenticate(user.username, old_password)
        _check_password(new_password, user.username)
        with self._begin() as conn:
            conn.execute(
                _users.update().where(_users.c.username == user.username)
                .values(password_hash=self.hasher.hash(new_password), updated_at=self._now())
            )
            self._audit(conn, user.username, "change_password", user.username, {})

    def get_user(self, username: str) -> User:
        """The account with this user name (case-insensitive)."""
        with self._connect() as conn:
            return _user(self._user_row(conn, username))

    def users(self, actor: User) -> list[User]:
        """All accounts, by user name (administrators only)."""
        self._authorize(actor, "users")
        with self._connect() as conn:
            rows = conn.execute(sa.select(_users).order_by(_users.c.username)).all()
        return [_user(row) for row in rows]

    def users_frame(self, actor: User) -> pd.DataFrame:
        """:meth:`users` as a table (no password hashes)."""
        users = self.users(actor)
        columns = ["username", "display_name", "roles", "active", "source", "created_at"]
        return pd.DataFrame([_user_row(user) for user in users], columns=columns)

    # -- signing in ----------------------------------------------------------------------

    def authenticate(self, username: str, password: str) -> User:
        """Check a password; counts failures and locks the account after too many.

        The error never says whether the user name exists.
        """
        if not isinstance(username, str) or not isinstance(password, str):
            raise AuthenticationError("wrong user name or password")
        now = self._now()
        with self._connect() as conn:
            row = conn.execute(
                sa.select(_users).where(sa.func.lower(_users.c.username) == username.strip().lower())
            ).one_or_none()
        if row is None or row.password_hash is None or not row.active:
            # Verifying anyway keeps an unknown user name as slow as a wrong password.
            self._dummy_hash = self._dummy_hash or self.hasher.hash(secrets.token_hex(16))
            self._verify(self._dummy_hash, password)
            self._record_quietly(username.strip()[:100] or "?", "sign_in_failed", {"reason": "unknown or disabled"})
            raise AuthenticationError("wrong user name or password, or the account is disabled")
        if row.locked_until is not None and row.locked_until > now:
            raise AccountLockedError(
                f"account {row.username} is locked after {self.max_failures} wrong passwords until "
                f"{row.locked_until.isoformat(timespec='minutes')} UTC; wait, or ask an administrator to reset it"
            )
        if not self._verify(row.password_hash, password):
            with self._begin() as conn:
                conn.execute(
                    _users.update().where(_users.c.username == row.username)
                    .values(failed_attempts=_users.c.failed_attempts + 1)
                )
                failures = conn.execute(
                    sa.select(_users.c.failed_attempts).where(_users.c.username == row.username)
                ).scalar_one()
                if failures >= self.max_failures:
                    conn.execute(
                        _users.update().where(_users.c.username == row.username)
                        .values(failed_attempts=0, locked_until=now + self.lockout)
                    )
                self._audit(conn, row.username, "sign_in_failed", row.username, {"failures": failures})
            raise AuthenticationError("wrong user name or password, or the account is disabled")
        values: dict[str, Any] = {"failed_attempts": 0, "locked_until": None}
        if self.hasher.check_needs_rehash(row.password_hash):
            values["password_hash"] = self.hasher.hash(password)
        with self._begin() as conn:
            conn.execute(_users.update().where(_users.c.username == row.username).values(**values))
        return _user(row)

    def sign_in(self, username: str, password: str) -> Session:
        """Check the password and open a session."""
        user = self.authenticate(username, password)
        return self._open_session(user, "sign_in", {"method": "password"})

    def sign_in_oidc(self, claims: Mapping[str, Any], config: OidcConfig) -> Session:
        """Open a session for an identity from the organisation's provider (``st.user``).

        The account is created or its roles updated from ``config``; an identity mapped to no
        role, or whose provider sign-in is older than :attr:`absolute_timeout`, is refused.
        """
        username = claims.get(config.username_claim)
        if not username:
            raise AuthenticationError(
                f"the identity from the provider has no {config.username_claim!r} claim; "
                "set [survey_auth] username_claim to a claim it sends"
            )
        username = _check_username(str(username))
        issued = claims.get("iat")
        now = self._now()
        if isinstance(issued, (int, float)) and not isinstance(issued, bool):
            if now - datetime.fromtimestamp(issued, timezone.utc) > self.absolute_timeout:
                raise SessionExpiredError("the sign-in with the organisation's provider has expired; sign in again")
        roles = config.roles_for(claims)
        if not roles:
            self._record_quietly(username, "sign_in_failed", {"reason": "no role mapped", "method": "oidc"})
            raise PermissionDeniedError(
                f"{username} signed in with the organisation's provider but has no role in this app; "
                "an administrator must add the user or one of their groups to [survey_auth.roles]"
            )
        display = str(claims.get("name") or username)[:200]
        with self._begin() as conn:
            row = conn.execute(
                sa.select(_users).where(sa.func.lower(_users.c.username) == username.lower())
            ).one_or_none()
            if row is None:
                try:
                    with conn.begin_nested():
                        self._insert_user(conn, username, display, roles, None, "oidc", now)
                except IntegrityError:
                    pass  # created by a concurrent first sign-in of the same person
            elif row.source != "oidc":
                raise AuthenticationError(
                    f"{row.username} is a password account; sign in with the password form"
                )
            elif not row.active:
                raise AuthenticationError(f"account {row.username} is disabled; ask an administrator")
            else:
                conn.execute(
                    _users.update().where(_users.c.username == row.username)
                    .values(roles=",".join(sorted(roles)), display_name=display, updated_at=now)
                )
        return self._open_session(self.get_user(username), "sign_in", {"method": "oidc", "roles": sorted(roles)})

    def session_user(self, token: str) -> User:
        """The user of an open session; refreshes its idle timer.

        Raises :class:`SessionExpiredError` when the session timed out or was ended, and
        :class:`AuthenticationError` when the token is unknown or the account was disabled.
        """
        if not isinstance(token, str) or not token:
            raise AuthenticationError("no session; sign in")
        digest = _token_digest(token)
        now = self._now()
        with self._connect() as conn:
            row = conn.execute(
                sa.select(_sessions, _users.c.active)
                .join(_users, _users.c.username == _sessions.c.username)
                .where(_sessions.c.token_sha256 == digest)
            ).one_or_none()
        if row is None:
            raise AuthenticationError("unknown session; sign in")
        if row.ended_at is not None:
            raise SessionExpiredError("the session was ended; sign in again")
        if not row.active:
            raise AuthenticationError("the account is disabled; ask an administrator")
        if now - row.last_seen_at > self.idle_timeout or now - row.created_at > self.absolute_timeout:
            with self._begin() as conn:
                conn.execute(_sessions.update().where(_sessions.c.token_sha256 == digest).values(ended_at=now))
            raise SessionExpiredError("the session expired; sign in again (answers already entered are saved)")
        # Writing on every page run would make each click a write; a minute of slack is harmless.
        if now - row.last_seen_at > timedelta(minutes=1):
            with self._begin() as conn:
                conn.execute(_sessions.update().where(_sessions.c.token_sha256 == digest).values(last_seen_at=now))
        return self.get_user(row.username)

    def sign_out(self, token: str) -> None:
        """End a session (unknown tokens are ignored)."""
        if not isinstance(token, str) or not token:
            return
        now = self._now()
        with self._begin() as conn:
            row = conn.execute(
                sa.select(_sessions.c.username).where(_sessions.c.token_sha256 == _token_digest(token))
            ).one_or_none()
            if row is not None:
                conn.execute(
                    _sessions.update().where(_sessions.c.token_sha256 == _token_digest(token), _sessions.c.ended_at.is_(None))
                    .values(ended_at=now)
                )
                self._audit(conn, row.username, "sign_out", row.username, {})

    # -- audit log -----------------------------------------------------------------------

    def record(self, actor: str, action: str, target: str, detail: Mapping[str, Any] | None = None) -> None:
        """Append to the audit log. ``actor`` is a user name, or e.g. ``"cli:root"`` for scripts.

        ``detail`` is stored as JSON (values that JSON cannot hold are written as text).
        """
        for name, value in (("actor", actor), ("action", action)):
            if not isinstance(value, str) or not value.strip():
                raise InvalidAccountError(f"{name} must be a non-empty string, got {value!r}")
        with self._begin() as conn:
            self._audit(conn, actor.strip(), action.strip(), str(target), dict(detail or {}))

    def audit_log(self, actor: User, *, limit: int = 1000) -> pd.DataFrame:
        """The newest ``limit`` audit entries, newest first (administrators only).

        Columns: at (UTC), actor, action, target, detail (JSON text).
        """
        self._authorize(actor, "audit")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidAccountError(f"limit must be a positive int, got {limit!r}")
        with self._connect() as conn:
            rows = conn.execute(
                sa.select(*(_audit.c[name] for name in AUDIT_COLUMNS)).order_by(_audit.c.id.desc()).limit(limit)
            ).all()
        frame = pd.DataFrame([tuple(row) for row in rows], columns=list(AUDIT_COLUMNS))
        frame["at"] = pd.to_datetime(frame["at"], utc=True)
        return frame

    # -- internals -----------------------------------------------------------------------

    def _authorize(self, actor: User, action: Action) -> None:
        # The actor object may be stale: check the stored account, not only what was passed.
        authorize(actor, action)
        authorize(self.get_user(actor.username), action)

    def _open_session(self, user: User, action: str, detail: dict[str, Any]) -> Session:
        token = secrets.token_urlsafe(32)
        now = self._now()
        with self._begin() as conn:
            conn.execute(
                _sessions.insert().values(
                    token_sha256=_token_digest(token), username=user.username, created_at=now, last_seen_at=now,
                    ended_at=None,
                )
            )
            self._audit(conn, user.username, action, user.username, detail)
        return Session(token=token, user=user, created_at=now, expires_at=now + self.absolute_timeout)

    def _insert_user(
        self, conn: sa.Connection, username: str, display_name: str | None, roles: Iterable[str],
        password: str | None, source: str, now: datetime,
    ) -> None:
        display = (display_name or "").strip() or username
        if len(display) > 200:
            raise InvalidAccountError(f"display_name is {len(display)} characters; at most 200 fit")
        conn.execute(
            _users.insert().values(
                username=username, display_name=display, roles=",".join(sorted(roles)),
                password_hash=self.hasher.hash(password) if password is not None else None, source=source,
                active=True, failed_attempts=0, locked_until=None, created_at=now, updated_at=now,
            )
        )

    def _user_row(self, conn: sa.Connection, username: str, *, lock: bool = False) -> sa.Row:
        if not isinstance(username, str):
            raise InvalidAccountError(f"username must be a string, got {username!r}")
        query = sa.select(_users).where(sa.func.lower(_users.c.username) == username.strip().lower())
        if lock:
            query = query.with_for_update()
        row = conn.execute(query).one_or_none()
        if row is None:
            raise InvalidAccountError(f"no account is called {username!r}")
        return row

    def _keep_an_administrator(self, conn: sa.Connection, username: str) -> None:
        others = conn.execute(
            sa.select(_users.c.username, _users.c.roles)
            .where(_users.c.username != username, _users.c.active.is_(True))
            .with_for_update()
        ).all()
        if not any("administrator" in row.roles.split(",") for row in others):
            raise InvalidAccountError(
                f"{username} is the last active administrator; make another user administrator first"
            )

    def _end_sessions(self, conn: sa.Connection, username: str, now: datetime) -> None:
        conn.execute(
            _sessions.update().where(_sessions.c.username == username, _sessions.c.ended_at.is_(None))
            .values(ended_at=now)
        )

    def _audit(self, conn: sa.Connection, actor: str, action: str, target: str, detail: Mapping[str, Any]) -> None:
        conn.execute(
            _audit.insert().values(
                at=self._now(), actor=actor[:120], action=action[:50], target=target,
                detail=json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str),
            )
        )

    def _record_quietly(self, actor: str, action: str, detail: dict[str, Any]) -> None:
        with self._begin() as conn:
            self._audit(conn, actor, action, actor, detail)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise InvalidAccountError(f"clock returned {now!r} without a time zone; return an aware datetime")
        return now.astimezone(timezone.utc)

    def _connect(self) -> _Guard:
        return _Guard(self._engine.connect, self.url)

    def _begin(self) -> _Guard:
        return _Guard(self._engine.begin, self.url)


class _Guard:
    """A connection context turning driver errors (not integrity errors) into :class:`AuthError`."""

    def __init__(self, opener: Callable[[], Any], url: str) -> None:
        self._opener, self._url = opener, url

    def __enter__(self) -> sa.Connection:
        try:
            self._context = self._opener()
            return self._context.__enter__()
        except SQLAlchemyError as exc:
            raise AuthError(f"the accounts database {display_url(self._url)} failed: {_detail(exc)}") from exc

    def __exit__(self, exc_type, exc, tb) -> bool:
        try:
            self._context.__exit__(exc_type, exc, tb)
        except IntegrityError:
            raise
        except SQLAlchemyError as error:
            raise AuthError(f"the accounts database {display_url(self._url)} failed: {_detail(error)}") from error
        if isinstance(exc, SQLAlchemyError) and not isinstance(exc, IntegrityError):
            raise AuthError(f"the accounts database {display_url(self._url)} failed: {_detail(exc)}") from exc
        return False


@functools.lru_cache(maxsize=8)
def _accounts_for(url: str) -> Accounts:
    return Accounts(url)


def audit(
    actor: str, action: str, target: str, detail: Mapping[str, Any] | None = None, *, url: str | None = None
) -> None:
    """Append one entry to the audit log of the response database.

    The one audit log of the app: sign-ins, user changes, exports, backups and review
    decisions all go here, and administrators read it with :meth:`Accounts.audit_log`.

    Parameters
    ----------
    actor : str
        Who did it: a user name (``user.username``), or e.g. ``"cli:root"`` for scripts.
    action : str
        What was done, a short verb such as ``"approve"`` or ``"export"``.
    target : str
        What it was done to (an interview id, a file name, a user name).
    detail : Mapping, optional
        Anything else worth keeping (a reason, counts), stored as JSON.
    url : str, optional
        The database; default ``SURVEY_DB_URL`` or ``data/survey.db``.

    Examples
    --------
    >>> audit(user.username, "reject", interview_id, {"reason": "too fast"})   # doctest: +SKIP
    """
    _accounts_for(url if url is not None else default_url()).record(actor, action, target, detail)


# -- permission checks ---------------------------------------------------------------------


def authorize(user: User | None, action: Action) -> None:
    """Raise :class:`PermissionDeniedError` unless ``user`` may do ``action``.

    Examples
    --------
    >>> authorize(user, "export")                                   # doctest: +SKIP
    """
    _check_choice("action", action, ACTIONS)
    if user is None:
        raise PermissionDeniedError(f"sign in first: {action!r} needs a signed-in user")
    if not user.can(action):
        allowed = sorted(role for role, actions in PERMISSIONS.items() if action in actions)
        raise PermissionDeniedError(
            f"{user.username} ({', '.join(sorted(user.roles)) or 'no role'}) may not {action!r}; "
            f"it needs the role {' or '.join(allowed)}"
            + ("" if user.active else " and an enabled account")
        )


def check_own_interview(user: User | None, interviewer: str) -> None:
    """Raise unless ``user`` is an interviewer and the interview (by its ``interviewer``) is theirs."""
    authorize(user, "interview")
    if user is None or interviewer.lower() != user.username.lower():
        raise PermissionDeniedError(
            f"this interview belongs to interviewer {interviewer!r}; {user.username} can open only their own"
        )


# -- exports and personal data -------------------------------------------------------------

REDACTED = "[联系方式已删除 contact details removed]"
# ASCII only: Chinese characters are word characters, and "wang@example.com谢谢" must keep 谢谢.
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+[@＠][A-Za-z0-9-]+(?:[.．][A-Za-z0-9-]+)+")
# WeChat/QQ ids follow their keyword; the id itself has no fixed shape.
_MESSENGER = re.compile(
    r"(?:微信号?|wechat|weixin|vx|QQ号?)\s*(?:号码?|id)?\s*[:：]?\s*[A-Za-z0-9_-]{5,}", re.IGNORECASE
)
# Numbers: a first group, then groups of 3+ digits after spaces or hyphens, so that
# "0513-8512 3456" or "+86 139 1234 5678" is one number but "2024-05-01" is not. Lookarounds
# rather than \b, because Chinese characters are word characters ("电话13912345678").
# \d also matches full-width digits.
_NUMBER = re.compile(r"(?<!\d)[+＋]?[(（]?\d+[)）]?(?:[ \t\u3000\-－]*\d{3,})*[xX]?(?!\d)")
_MIN_DIGITS = 7  # mainland mobile 11, landline 7-8 without area code, ID card 18


def redact_contact_details(text: str) -> str:
    """``text`` with e-mail addresses, WeChat/QQ ids and numbers of 7 or more digits replaced.

    Examples
    --------
    >>> redact_contact_details("请联系我 139-1234-5678，谢谢")
    '请联系我 [联系方式已删除 contact details removed]，谢谢'
    """
    if not isinstance(text, str):
        raise InvalidAccountError(f"text must be a string, got {text!r}")
    text = _EMAIL.sub(REDACTED, text)
    text = _MESSENGER.sub(REDACTED, text)
    return _NUMBER.sub(
        lambda match: REDACTED if sum(ch.isdigit() for ch in match.group()) >= _MIN_DIGITS else match.group(),
        text,
    )


def minimise_personal_data(frame: pd.DataFrame, questionnaires: Mapping[str, Questionnaire]) -> pd.DataFrame:
    """A copy of a responses frame with contact details removed from free-text answers.

    Free-text columns are the ``text`` questions of ``questionnaires`` plus answer columns
    no questionnaire defines (their content is unknown, so they are treated as free text).
    """
    text_columns: set[str] = set()
    known: set[str] = set()
    for questionnaire in questionnaires.values():
        for question in questionnaire.questions:
            known.add(question.name)
            if question.type == "text":
                text_columns.add(question.name)
    # a shallow copy: the columns not replaced below are shared, never written to
    result = frame.copy(deep=False)
    for column in result.columns:
        if column in METADATA_COLUMNS or (column in known and column not in text_columns):
            continue
        if result[column].dtype != object:
            continue
        values = result[column].to_numpy()
        if pd.api.types.infer_dtype(values, skipna=True) == "string":
            # text only: each distinct answer once (repeated answers are common); unanswered stay
            codes, distinct = pd.factorize(values)
            answered = codes >= 0
            values = values.copy()
            values[answered] = np.array([redact_contact_details(v) for v in distinct], dtype=object)[codes[answered]]
            result[column] = values
        else:
            result[column] = result[column].map(lambda v: redact_contact_details(v) if isinstance(v, str) else v)
    return result


def export_responses(
    accounts: Accounts,
    user: User,
    store: ResponseStore,
    *,
    questionnaire_id: str | None = None,
    wave: str | None = None,
    status: Literal["submitted", "draft", "voided", "all"] = "submitted",
    contact_details: Literal["remove", "keep"] = "remove",
    purpose: str = "export",
) -> pd.DataFrame:
    """The responses table for a download or report, checked, minimised and audited.

    Parameters
    ----------
    accounts, user
        Who asks: needs the ``export`` permission, and ``export_contact_details``
        (administrators) for ``contact_details="keep"``.
    store
        The response store to read (:meth:`ResponseStore.responses_frame`).
    questionnaire_id, wave, status
        As for :meth:`~survey_app.store.ResponseStore.responses_frame`.
    contact_details : {"remove", "keep"}
        "remove" (default) removes contact details from free-text answers
        (:func:`minimise_personal_data`); "keep" exports them as entered.
    purpose : str
        What the export is for (e.g. ``"excel report"``), written to the audit log.

    Returns
    -------
    pandas.DataFrame
        The frame; the audit log records user, filters, rows, columns and the choice.
    """
    _check_choice("contact_details", contact_details, ("remove", "keep"))
    authorize(user, "export")
    if contact_details == "keep":
        authorize(user, "export_contact_details")
    # The stored account decides, not a possibly stale User object.
    stored = accounts.get_user(user.username)
    authorize(stored, "export")
    if contact_details == "keep":
        authorize(stored, "export_contact_details")
    frame = store.responses_frame(questionnaire_id, status, wave=wave)
    if contact_details == "remove":
        from questionnaires import shipped_questionnaires

        # Columns of other (uploaded) questionnaires are unknown here and so treated as free text.
        frame = minimise_personal_data(frame, shipped_questionnaires())
    accounts.record(
        user.username,
        "export",
        questionnaire_id or "all questionnaires",
        {
            "purpose": purpose, "wave": wave, "status": status, "rows": len(frame),
            "columns": len(frame.columns), "contact_details": contact_details,
        },
    )
    return frame


# -- helpers -------------------------------------------------------------------------------


def _check_choice(name: str, value: Any, allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        raise InvalidAccountError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")


def _check_username(username: Any) -> str:
    if not isinstance(username, str) or not _USERNAME.fullmatch(username.strip()):
        raise InvalidAccountError(
            f"username {username!r} is not allowed; use 1-100 letters, digits or . _ @ + - "
            "(starting with a letter or digit), e.g. an interviewer code like 'A01'"
        )
    return username.strip()


def _check_password(password: Any, username: str) -> None:
    if not isinstance(password, str):
        raise InvalidAccountError("password must be a string")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidAccountError(
            f"the password has {len(password)} characters; use at least {MIN_PASSWORD_LENGTH}"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidAccountError(f"the password has {len(password)} characters; at most {MAX_PASSWORD_LENGTH}")
    if username.lower() in password.lower() or len(set(password)) < 4:
        raise InvalidAccountError("the password is too easy to guess (it contains the user name or repeats "
                                  "a few characters); choose another")


def _check_roles(roles: Iterable[Any]) -> frozenset[str]:
    if isinstance(roles, str):
        roles = [roles]
    role_set = frozenset(roles)
    if not role_set:
        raise InvalidAccountError(f"give at least one role of {', '.join(map(repr, ROLES))}")
    for role in role_set:
        _check_choice("role", role, ROLES)
    return role_set


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _user(row: sa.Row) -> User:
    return User(
        username=row.username,
        display_name=row.display_name,
        roles=frozenset(role for role in row.roles.split(",") if role),
        active=bool(row.active),
        source=row.source,
        created_at=row.created_at,
    )


def _user_row(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "roles": ",".join(sorted(user.roles)),
        "active": user.active,
        "source": user.source,
        "created_at": user.created_at,
    }


def _detail(exc: SQLAlchemyError) -> str:
    return str(getattr(exc, "orig", None) or exc)


# -- in the app ----------------------------------------------------------------------------

_TOKEN_KEY = "_auth_token"
_NOTICE_KEY = "_auth_notice"

register(
    "auth",
    {
        "sign_in_first": {"zh": "请先登录。", "en": "Please sign in first."},
        "forbidden": {
            "zh": "您的角色（{roles}）无权使用此页面。需要角色：{needed}。",
            "en": "Your role ({roles}) may not use this page. It needs: {needed}.",
        },
        "expired": {
            "zh": "登录已过期，请重新登录。已录入的答案都已保存。",
            "en": "Your session expired; please sign in again. Answers already entered are saved.",
        },
        "ended": {"zh": "登录已结束，请重新登录。", "en": "Your session ended; please sign in again."},
        "signed_in_as": {"zh": "已登录：{name}（{roles}）", "en": "Signed in: {name} ({roles})"},
        "sign_out": {"zh": "退出登录", "en": "Sign out"},
        "role_interviewer": {"zh": "访问员", "en": "interviewer"},
        "role_statistician": {"zh": "统计人员", "en": "statistician"},
        "role_administrator": {"zh": "管理员", "en": "administrator"},
        "oidc_refused": {"zh": "单位统一登录被拒绝：{detail}", "en": "Organisation sign-in refused: {detail}"},
    },
)


def role_names(roles: Iterable[str], lang: str | None = None) -> str:
    """The roles in the interface language, comma-separated."""
    return ", ".join(t(f"auth.role_{role}", lang) for role in sorted(roles))


@st.cache_resource(show_spinner=False)
def _accounts(url: str) -> Accounts:
    return Accounts(url)


def get_accounts() -> Accounts:
    """The accounts for the current ``SURVEY_DB_URL`` (one instance per URL and process)."""
    return _accounts(default_url())


def oidc_config() -> OidcConfig | None:
    """The ``[survey_auth]`` secrets section when organisation sign-in is switched on."""
    if not st.secrets.load_if_toml_exists():
        return None
    section = st.secrets.get("survey_auth")
    if not isinstance(section, Mapping) or not section.get("oidc"):
        return None
    return OidcConfig.from_mapping(section)


def current_user() -> User | None:
    """The signed-in user of this browser session, or None.

    The session token is checked against the database on every page run, so an expired
    session, a disabled account or changed roles take effect at the next click.
    """
    accounts = get_accounts()
    token = st.session_state.get(_TOKEN_KEY)
    if token:
        try:
            return accounts.session_user(token)
        except SessionExpiredError:
            st.session_state[_NOTICE_KEY] = ("auth.expired", {})
        except AuthenticationError:
            st.session_state[_NOTICE_KEY] = ("auth.ended", {})
        st.session_state.pop(_TOKEN_KEY, None)
    config = oidc_config()
    if config is not None and st.user.get("is_logged_in"):
        try:
            session = accounts.sign_in_oidc(st.user.to_dict(), config)
        except AuthError as exc:
            st.session_state[_NOTICE_KEY] = ("auth.oidc_refused", {"detail": str(exc)})
            return None
        st.session_state[_TOKEN_KEY] = session.token
        return session.user
    return None


def session_state_for(session: Session) -> dict[str, str]:
    """The browser-session state that makes a browser session signed in as ``session``.

    :func:`start_session` stores exactly this; tests seed ``AppTest.session_state`` with it.
    """
    return {_TOKEN_KEY: session.token}


def start_session(session: Session) -> None:
    """Keep a new session's token in this browser session (after a successful sign-in)."""
    for key, value in session_state_for(session).items():
        st.session_state[key] = value
    st.session_state.pop(_NOTICE_KEY, None)


def end_session() -> None:
    """Sign the browser session out (and out of the organisation's provider if used)."""
    token = st.session_state.pop(_TOKEN_KEY, None)
    if token:
        get_accounts().sign_out(token)
    if oidc_config() is not None and st.user.get("is_logged_in"):
        st.logout()


def pop_notice() -> tuple[str, dict[str, Any]] | None:
    """The pending sign-in notice (expired session, refused provider sign-in), once."""
    return st.session_state.pop(_NOTICE_KEY, None)


def require_role(*roles: Role) -> User:
    """Stop the page unless the signed-in user has one of ``roles``; return the user.

    Call it first in a page's ``render()``: the check runs on the server whatever the
    browser asked for, so a hidden menu entry is not the only protection.

    Examples
    --------
    >>> user = require_role("statistician")                         # doctest: +SKIP
    """

    for role in roles:
        _check_choice("role", role, ROLES)
    user = current_user()
    if user is None:
        st.warning(t("auth.sign_in_first"))
        st.stop()
    if not user.roles & set(roles):
        st.error(t("auth.forbidden", roles=role_names(user.roles), needed=role_names(roles)))
        st.stop()
    return user


def account_sidebar(user: User) -> None:
    """Who is signed in, and the sign-out button, in the sidebar."""

    st.sidebar.caption(t("auth.signed_in_as", name=user.display_name, roles=role_names(user.roles)))
    if st.sidebar.button(t("auth.sign_out"), key="_auth_sign_out"):
        end_session()
        st.rerun()
