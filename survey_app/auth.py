"""Accounts, roles, sessions, the audit log and personal-data minimisation.

Three roles, each allowed a fixed set of actions (:data:`PERMISSIONS`):

- ``interviewer`` — the interviewing page, and only their own interviews;
- ``statistician`` — results, weighting, export, planning;
- ``administrator`` — users, questionnaires, review, backups, the audit log, and exports
  that keep free-text contact details.

Passwords are stored only as argon2id hashes (OWASP's parameters: 19 MiB, 2 passes, 1 lane;
hashes made with other parameters are upgraded at the next sign-in), and must follow
:data:`PASSWORD_RULE` (at least 10 characters, not a common password, sequence or repetition,
not containing the user name). There is no default account: while no user exists the app asks
for the first administrator (:meth:`Accounts.create_first_administrator`).

Guessing is throttled in the database, so the limits hold across several app servers: before a
password is checked, the attempt is reserved with one conditional UPDATE (compare-and-set) that
counts it as a failure for its user name (known or not: an unknown name is throttled the same
way and gets the same message) and in the overall window of all names. After
:attr:`Accounts.max_failures` failures in a row each further attempt on that name waits twice
as long as the one before (1 s, 2 s, 4 s, ... up to :attr:`Accounts.max_delay`); a success
forgives the failures reserved before it. So no account is ever locked outright, and an
administrator can clear a name's delay (:meth:`Accounts.unlock`). A browser where the user
signed in before carries a device token (OWASP's "device cookie"): its attempts have their own
count, so a guesser keeping a name waiting does not keep its owner (the administrator) out.

A sign-in gives a random session token; the database holds only its SHA-256. The browser
session keeps the token in ``st.session_state`` and in a ``SameSite=Strict`` cookie, so a
reload (tablets reload on their own) stays signed in. A session ends after the idle timeout
without activity or the absolute lifetime after sign-in (:meth:`Accounts.session_limits`,
set by an administrator and stored in the database), at sign-out, and when the account is
disabled or its password changed.

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

import dataclasses
import functools
import hashlib
import json
import math
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
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
    "PASSWORD_RULE",
    "PermissionDeniedError",
    "Role",
    "Session",
    "SessionExpiredError",
    "SetupError",
    "User",
    "audit",
    "authorize",
    "check_own_interview",
    "error_text",
    "export_responses",
    "redact_contact_details",
    "require_role",
    "device_token",
    "session_cookie",
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
#: The rule every new password must follow, as interface text (help of every password field).
PASSWORD_RULE = "auth.password_rule"
_COMMON_PASSWORDS = Path(__file__).parent / "data" / "common_passwords.txt"
# Runs a person types without thinking: alphabet, digits (wrapping 9 -> 0), keyboard rows and columns.
_SEQUENCES = (
    "abcdefghijklmnopqrstuvwxyz", "0123456789012345678901234567890", "qwertyuiopasdfghjklzxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p", "qazwsxedcrfvtgbyhnujmikolp", "1q2w3e4r5t6y7u8i9o0p",
)
_LEET = str.maketrans({"@": "a", "0": "o", "3": "e", "$": "s", "!": "i"})
# The overall (all names) throttle is the throttle row of this name, and a known browser's count
# is kept under this prefix and part of its token's digest; user names contain neither "*" nor ":".
_ALL_NAMES = "*"
_DEVICE_PREFIX = "device:"
_FIRST_DELAY = timedelta(seconds=1)
#: How long a device token vouches for a browser after the sign-in that issued it.
DEVICE_LIFETIME = timedelta(days=365)
#: Bounds of the session limits an administrator may set.
IDLE_RANGE = (timedelta(minutes=5), timedelta(hours=24))
ABSOLUTE_RANGE = (timedelta(hours=1), timedelta(days=30))


class AuthError(SurveyAppError):
    """Base class of the errors about accounts, sign-in and permissions.

    ``key`` and ``params`` name the interface text (:func:`survey_app.i18n.t`) that explains the
    error to a user; pages show :func:`error_text`, never the English message.
    """

    def __init__(self, message: str, *, key: str | None = None, **params: Any) -> None:
        super().__init__(message)
        self.key, self.params = key, params


class InvalidAccountError(AuthError, ValueError):
    """A user name, password or role that cannot be accepted."""


class SetupError(AuthError):
    """The first administrator was already created (or none is allowed yet)."""


class AuthenticationError(AuthError):
    """Wrong user name or password, an unknown or ended session, or a disabled account."""


class AccountLockedError(AuthenticationError):
    """Too many wrong passwords for this user name (or overall): wait ``retry_after`` seconds.

    Raised before the password is checked, for known and unknown user names alike.
    """

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, key="auth.throttled", seconds=retry_after)
        self.retry_after = retry_after


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
    """A signed-in session. ``token`` is the secret the browser session keeps.

    ``device`` (password sign-ins) is the browser's device token for this user: proof that
    the user signed in from this browser before, so its attempts are throttled apart from a
    guesser's (:meth:`Accounts.sign_in`).
    """

    token: str
    user: User
    created_at: datetime
    expires_at: datetime
    device: str | None = None

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
    # Unused since sign-in attempts are counted in auth_throttle (always 0 / NULL); kept because
    # databases made before that still have these NOT NULL columns.
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
# Sign-in attempts per lower-case user name (existing or not), and the overall window in the
# row named "*": failures reserved (counted before the check, forgiven by a success) and when the
# next attempt is allowed (for "*": when the window ends).
_throttle = sa.Table(
    "auth_throttle",
    _metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime, nullable=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)
# Browsers where a user signed in with the password: their attempts are throttled on their own.
_devices = sa.Table(
    "auth_devices",
    _metadata,
    sa.Column("token_sha256", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(100), nullable=False, index=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)
# Settings an administrator changes in the app (the session limits), as name -> text.
_settings = sa.Table(
    "auth_settings",
    _metadata,
    sa.Column("name", sa.String(50), primary_key=True),
    sa.Column("value", sa.String(200), nullable=False),
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
        Defaults of the session limits until an administrator sets them
        (:meth:`set_session_limits`): a session ends after ``idle_timeout`` without activity
        or ``absolute_timeout`` after sign-in. Defaults: 1 hour (an interviewer between two
        households) and 12 hours (a field day).
    max_failures : int
        Wrong passwords in a row a user name may have before each further attempt waits.
    max_delay : timedelta
        The longest wait between attempts on one user name (the waits double up to it).
    global_max_failures : int
        Failures of all user names together allowed within ``global_window``; further
        attempts wait for the window's end (guessing one password for many names).
    global_window : timedelta
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
        max_delay: timedelta = timedelta(minutes=15),
        global_max_failures: int = 300,
        global_window: timedelta = timedelta(minutes=15),
    ) -> None:
        for name, value in (("idle_timeout", idle_timeout), ("absolute_timeout", absolute_timeout),
                            ("max_delay", max_delay), ("global_window", global_window)):
            if not isinstance(value, timedelta) or value <= timedelta(0):
                raise InvalidAccountError(f"{name} must be a positive timedelta, got {value!r}")
        for name, number in (("max_failures", max_failures), ("global_max_failures", global_max_failures)):
            if isinstance(number, bool) or not isinstance(number, int) or number < 1:
                raise InvalidAccountError(f"{name} must be a positive int, got {number!r}")
        self.url = url if url is not None else default_url()
        self.hasher = hasher or PasswordHasher(**_DEFAULT_HASHER)
        self.idle_timeout, self.absolute_timeout = idle_timeout, absolute_timeout
        self.max_failures, self.max_delay = max_failures, max_delay
        self.global_max_failures, self.global_window = global_max_failures, global_window
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._engine = database_engine(self.url)
        self._dummy_hash: str | None = None
        try:
            _metadata.create_all(self._engine)
        except SQLAlchemyError as exc:
            raise AuthError(f"cannot open the accounts in {display_url(self.url)}: {_detail(exc)}") from exc
        try:  # the overall throttle's row, so that reserving an attempt is always an UPDATE
            with self._begin() as conn:
                conn.execute(_throttle.insert().values(name=_ALL_NAMES, failures=0, next_attempt_at=None,
                                                       updated_at=self._now()))
        except IntegrityError:
            pass  # made by an earlier start or another server

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
                "the first administrator already exists; sign in, or ask an administrator for an account",
                key="auth.setup_done",
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
                f"username {username!r} is taken (user names ignore case); choose another",
                key="auth.username_taken", username=username,
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
                _users.update().where(_users.c.username == row.username).values(active=active, updated_at=now)
            )
            self._clear_throttle(conn, row.username)
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
                    f"{row.username} signs in through the organisation's provider and has no password here",
                    key="auth.no_password_here", username=row.username,
                )
            _check_password(new_password, row.username)
            conn.execute(
                _users.update().where(_users.c.username == row.username).values(
                    password_hash=self.hasher.hash(new_password), updated_at=now,
                )
            )
            self._clear_throttle(conn, row.username)
            self._end_sessions(conn, row.username, now)
            self._audit(conn, actor.username, "reset_password", row.username, {})

    def change_password(self, user: User, old_password: str, new_password: str) -> None:
        """A user changes their own password (the old one is checked); ends all their sessions."""
        self.authenticate(user.username, old_password)
        _check_password(new_password, user.username)
        now = self._now()
        with self._begin() as conn:
            conn.execute(
                _users.update().where(_users.c.username == user.username)
                .values(password_hash=self.hasher.hash(new_password), updated_at=now)
            )
            self._end_sessions(conn, user.username, now)
            self._audit(conn, user.username, "change_password", user.username, {})

    def unlock(self, actor: User, username: str) -> None:
        """Clear the sign-in delay of a user name (administrators only)."""
        self._authorize(actor, "users")
        if not isinstance(username, str) or not username.strip():
            raise InvalidAccountError(f"username must be a non-empty string, got {username!r}")
        with self._begin() as conn:
            self._clear_throttle(conn, username)
            self._audit(conn, actor.username, "unlock", username.strip(), {})

    def session_limits(self) -> tuple[timedelta, timedelta]:
        """``(idle_timeout, absolute_timeout)`` of sessions: as set by an administrator, else the defaults."""
        with self._connect() as conn:
            return self._session_limits(conn)

    def set_session_limits(self, actor: User, *, idle_timeout: timedelta, absolute_timeout: timedelta) -> None:
        """Store the session limits (administrators only); they apply to open sessions at their next click.

        ``idle_timeout`` must lie within :data:`IDLE_RANGE`, ``absolute_timeout`` within
        :data:`ABSOLUTE_RANGE`, and the idle timeout may not exceed the absolute lifetime.
        """
        self._authorize(actor, "users")
        for name, value, (low, high) in (("idle_timeout", idle_timeout, IDLE_RANGE),
                                         ("absolute_timeout", absolute_timeout, ABSOLUTE_RANGE)):
            if not isinstance(value, timedelta) or not low <= value <= high:
                raise InvalidAccountError(
                    f"{name} must be a timedelta from {low} to {high}, got {value!r}",
                    key=f"auth.{name}_range", low=_minutes(low), high=_minutes(high),
                )
        if idle_timeout > absolute_timeout:
            raise InvalidAccountError(
                f"idle_timeout {idle_timeout} exceeds absolute_timeout {absolute_timeout}; shorten it",
                key="auth.idle_over_absolute",
            )
        values = {"idle_timeout": idle_timeout, "absolute_timeout": absolute_timeout}
        with self._begin() as conn:
            conn.execute(_settings.delete().where(_settings.c.name.in_(list(values))))
            conn.execute(_settings.insert(), [{"name": name, "value": str(int(value.total_seconds()))}
                                              for name, value in values.items()])
            self._audit(conn, actor.username, "session_limits", "sessions",
                        {name: int(value.total_seconds()) for name, value in values.items()})

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

    def authenticate(self, username: str, password: str, *, device: str | None = None) -> User:
        """Check a password, throttled per user name and overall (see the module's docstring).

        Raises :class:`AccountLockedError` (before checking anything) while the name or the
        overall window must wait, :class:`AuthenticationError` for a wrong password. Neither
        says whether the user name exists. With the ``device`` token of an earlier sign-in
        of this user, attempts are counted for that browser alone (and not overall).
        """
        return self._authenticate(username, password, device)[0]

    def _authenticate(self, username: str, password: str, device: str | None) -> tuple[User, bool]:
        """The user, and whether ``device`` is a device token of theirs."""
        if not isinstance(username, str) or not isinstance(password, str):
            raise AuthenticationError("wrong user name or password")
        name = username.strip()[:100] or "?"
        device_key = self._device_key(name.lower(), device)
        attempt = self._reserve_attempt(device_key or name.lower(), overall=device_key is None)
        with self._connect() as conn:
            row = conn.execute(sa.select(_users).where(sa.func.lower(_users.c.username) == name.lower())).one_or_none()
        if row is None or row.password_hash is None or not row.active:
            # Verifying anyway keeps an unknown user name as slow as a wrong password.
            self._dummy_hash = self._dummy_hash or self.hasher.hash(secrets.token_hex(16))
            self._verify(self._dummy_hash, password)
            self._record_quietly(name, "sign_in_failed", {"reason": "unknown or disabled", "failures": attempt.count})
            raise AuthenticationError("wrong user name or password, or the account is disabled")
        if not self._verify(row.password_hash, password):
            self._record_quietly(row.username, "sign_in_failed", {"failures": attempt.count})
            raise AuthenticationError("wrong user name or password, or the account is disabled")
        with self._begin() as conn:
            self._forgive(conn, attempt)
            if self.hasher.check_needs_rehash(row.password_hash):
                conn.execute(_users.update().where(_users.c.username == row.username)
                             .values(password_hash=self.hasher.hash(password)))
        return _user(row), device_key is not None

    def sign_in(self, username: str, password: str, *, device: str | None = None) -> Session:
        """Check the password and open a session.

        ``device`` is the browser's device token from an earlier sign-in, if any; the session
        carries the token to keep (the same, or a new one when ``device`` was not this user's).
        """
        user, known_device = self._authenticate(username, password, device)
        if not known_device:
            device = secrets.token_urlsafe(32)
            with self._begin() as conn:
                conn.execute(_devices.insert().values(token_sha256=_token_digest(device), username=user.username,
                                                      created_at=self._now()))
        session = self._open_session(user, "sign_in", {"method": "password", "known_device": known_device})
        return dataclasses.replace(session, device=device)

    def sign_in_oidc(self, claims: Mapping[str, Any], config: OidcConfig) -> Session:
        """Open a session for an identity from the organisation's provider (``st.user``).

        The account is created or its roles updated from ``config``; an identity mapped to no
        role, or whose provider sign-in is older than :attr:`absolute_timeout`, is refused.
        """
        username = claims.get(config.username_claim)
        if not username:
            raise AuthenticationError(
                f"the identity from the provider has no {config.username_claim!r} claim; "
                "set [survey_auth] username_claim to a claim it sends",
                key="auth.oidc_no_claim", claim=config.username_claim,
            )
        username = _check_username(str(username))
        issued = claims.get("iat")
        now = self._now()
        if isinstance(issued, (int, float)) and not isinstance(issued, bool):
            if now - datetime.fromtimestamp(issued, timezone.utc) > self.session_limits()[1]:
                raise SessionExpiredError("the sign-in with the organisation's provider has expired; sign in again",
                                          key="auth.oidc_expired")
        roles = config.roles_for(claims)
        if not roles:
            self._record_quietly(username, "sign_in_failed", {"reason": "no role mapped", "method": "oidc"})
            raise PermissionDeniedError(
                f"{username} signed in with the organisation's provider but has no role in this app; "
                "an administrator must add the user or one of their groups to [survey_auth.roles]",
                key="auth.oidc_no_role", username=username,
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
                    f"{row.username} is a password account; sign in with the password form",
                    key="auth.oidc_password_account", username=row.username,
                )
            elif not row.active:
                raise AuthenticationError(f"account {row.username} is disabled; ask an administrator",
                                          key="auth.disabled", username=row.username)
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
            idle_timeout, absolute_timeout = self._session_limits(conn)
        if row is None:
            raise AuthenticationError("unknown session; sign in")
        if row.ended_at is not None:
            raise SessionExpiredError("the session was ended; sign in again")
        if not row.active:
            raise AuthenticationError("the account is disabled; ask an administrator")
        if now - row.last_seen_at > idle_timeout or now - row.created_at > absolute_timeout:
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
            absolute_timeout = self._session_limits(conn)[1]
            conn.execute(
                _sessions.insert().values(
                    token_sha256=_token_digest(token), username=user.username, created_at=now, last_seen_at=now,
                    ended_at=None,
                )
            )
            self._audit(conn, user.username, action, user.username, detail)
        return Session(token=token, user=user, created_at=now, expires_at=now + absolute_timeout)

    def _reserve_attempt(self, name: str, *, overall: bool) -> _Attempt:
        """Count one attempt on ``name`` (a lower-case user name or a device key) as a failure, if
        the throttles allow it now (the overall one too when ``overall``).

        Compare-and-set: the state is read, and the UPDATE applies only if it is unchanged
        (otherwise another attempt came first and the loop reads again). Both conditional
        UPDATEs run in one transaction, overall row first, so an attempt refused by either
        counts nowhere. Atomic on SQLite and PostgreSQL alike, whichever server runs it.
        """
        for _ in range(1000):  # each lost race means another attempt was counted
            now = self._now()
            with self._connect() as conn:
                rows = {row.name: row for row in conn.execute(
                    sa.select(_throttle).where(_throttle.c.name.in_([_ALL_NAMES, name])))}
            everyone, own = rows[_ALL_NAMES], rows.get(name)
            window_open = everyone.next_attempt_at is not None and everyone.next_attempt_at > now
            if overall and window_open and everyone.failures >= self.global_max_failures:
                raise self._throttled(everyone.next_attempt_at - now)
            if own is not None and own.next_attempt_at is not None and own.next_attempt_at > now:
                raise self._throttled(own.next_attempt_at - now)
            count = (own.failures if own is not None else 0) + 1
            wait = self._delay(count)
            try:
                with self._begin() as conn:
                    if not overall:
                        window_end, changed = None, 1
                    elif window_open:
                        window_end = everyone.next_attempt_at
                        changed = conn.execute(
                            _throttle.update().where(
                                _throttle.c.name == _ALL_NAMES, _throttle.c.next_attempt_at == window_end,
                                _throttle.c.failures < self.global_max_failures,
                            ).values(failures=_throttle.c.failures + 1, updated_at=now)
                        ).rowcount
                    else:  # a new overall window starts with this attempt
                        window_end = now + self.global_window
                        changed = conn.execute(
                            _throttle.update().where(
                                _throttle.c.name == _ALL_NAMES, _throttle.c.failures == everyone.failures,
                                _same_time(_throttle.c.next_attempt_at, everyone.next_attempt_at),
                            ).values(failures=1, next_attempt_at=window_end, updated_at=now)
                        ).rowcount
                    if not changed:
                        raise _LostRace
                    values = {"failures": count, "next_attempt_at": now + wait if wait else None, "updated_at": now}
                    if own is None:
                        conn.execute(_throttle.insert().values(name=name, **values))
                    elif not conn.execute(
                        _throttle.update().where(
                            _throttle.c.name == name, _throttle.c.failures == own.failures,
                            sa.or_(_throttle.c.next_attempt_at.is_(None), _throttle.c.next_attempt_at <= now),
                        ).values(**values)
                    ).rowcount:
                        raise _LostRace
            except (_LostRace, IntegrityError):
                continue
            return _Attempt(name, count, window_end)
        raise AuthError("too many simultaneous sign-ins; try again in a moment", key="auth.busy")

    def _delay(self, failures: int) -> timedelta:
        """The wait before the attempt after ``failures`` failures in a row."""
        doublings = failures - self.max_failures
        if doublings < 0:
            return timedelta(0)
        if doublings > 40:  # 2**40 seconds is beyond any sensible max_delay
            return self.max_delay
        return min(_FIRST_DELAY * 2**doublings, self.max_delay)

    def _throttled(self, wait: timedelta) -> AccountLockedError:
        seconds = max(1, math.ceil(wait.total_seconds()))
        return AccountLockedError(
            f"too many wrong passwords for this user name; wait {seconds} s before the next attempt "
            "(or ask an administrator to clear the delay)", retry_after=seconds,
        )

    def _forgive(self, conn: sa.Connection, attempt: _Attempt) -> None:
        """A successful attempt: forget the failures reserved up to it (later ones still count)."""
        # The overall row first, as in _reserve_attempt: the same lock order cannot deadlock.
        if attempt.window_end is not None:  # None: a known device's attempt, not counted overall
            conn.execute(
                _throttle.update().where(
                    _throttle.c.name == _ALL_NAMES, _throttle.c.next_attempt_at == attempt.window_end,
                    _throttle.c.failures > 0,
                ).values(failures=_throttle.c.failures - 1)
            )
        left = _throttle.c.failures - attempt.count
        conn.execute(
            _throttle.update().where(_throttle.c.name == attempt.name).values(
                failures=sa.case((left > 0, left), else_=0),
                next_attempt_at=sa.case((left >= self.max_failures, _throttle.c.next_attempt_at), else_=None),
            )
        )
        conn.execute(_throttle.delete().where(_throttle.c.name == attempt.name, _throttle.c.failures == 0))

    def _clear_throttle(self, conn: sa.Connection, username: str) -> None:
        name = username.strip().lower()
        devices = conn.execute(sa.select(_devices.c.token_sha256).where(sa.func.lower(_devices.c.username) == name))
        keys = [name, *(_DEVICE_PREFIX + digest[:32] for (digest,) in devices)]
        conn.execute(_throttle.delete().where(_throttle.c.name.in_(keys)))

    def _device_key(self, name: str, device: str | None) -> str | None:
        """The throttle key of ``device`` when it is a device token of user ``name`` (lower case)."""
        if not isinstance(device, str) or not device:
            return None
        digest = _token_digest(device)
        with self._connect() as conn:
            known = conn.execute(
                sa.select(_devices.c.created_at).where(
                    _devices.c.token_sha256 == digest, sa.func.lower(_devices.c.username) == name,
                    _devices.c.created_at > self._now() - DEVICE_LIFETIME,
                )
            ).one_or_none()
        return _DEVICE_PREFIX + digest[:32] if known is not None else None

    def _session_limits(self, conn: sa.Connection) -> tuple[timedelta, timedelta]:
        stored = dict(conn.execute(sa.select(_settings.c.name, _settings.c.value)).all())
        return (
            timedelta(seconds=int(stored["idle_timeout"])) if "idle_timeout" in stored else self.idle_timeout,
            timedelta(seconds=int(stored["absolute_timeout"])) if "absolute_timeout" in stored
            else self.absolute_timeout,
        )

    def _insert_user(
        self, conn: sa.Connection, username: str, display_name: str | None, roles: Iterable[str],
        password: str | None, source: str, now: datetime,
    ) -> None:
        display = (display_name or "").strip() or username
        if len(display) > 200:
            raise InvalidAccountError(f"display_name is {len(display)} characters; at most 200 fit",
                                      key="auth.display_name_long", n=len(display))
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
            raise InvalidAccountError(f"no account is called {username!r}", key="auth.no_account", username=username)
        return row

    def _keep_an_administrator(self, conn: sa.Connection, username: str) -> None:
        others = conn.execute(
            sa.select(_users.c.username, _users.c.roles)
            .where(_users.c.username != username, _users.c.active.is_(True))
            .with_for_update()
        ).all()
        if not any("administrator" in row.roles.split(",") for row in others):
            raise InvalidAccountError(
                f"{username} is the last active administrator; make another user administrator first",
                key="auth.last_administrator", username=username,
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


@dataclass(frozen=True)
class _Attempt:
    """A reserved sign-in attempt: the name's failure count with it, and its overall window."""

    name: str
    count: int
    window_end: datetime | None  # None: not counted in the overall window


class _LostRace(Exception):
    """Another attempt changed the throttle row between reading and updating it."""


def _same_time(column: sa.ColumnElement, value: datetime | None) -> sa.ColumnElement:
    return column.is_(None) if value is None else column == value


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
# A digit: \d (also full-width), or one spoken digit by digit in Chinese: 一三九…, with 幺 for 1
# and 〇/零 for 0, or the financial forms 壹贰叁… ("一三九一二三四五六七八" is a mobile number).
_DIGITS = "〇○零一二三四五六七八九幺壹贰叁肆伍陆柒捌玖"
_D = rf"[\d{_DIGITS}]"
_SEP = r"[ \t\u3000\-－.．·]"  # spaces, hyphens and dots between digit groups
# Numbers: digit by digit with a separator or three each ("1 3 9 1 2 3 4 …"), or a first group, then
# groups of 3+ digits after separators, so that "0513-8512 3456", "+86 139 1234 5678" or
# "139.1234.5678" is one number but "2024-05-01" or "4.5" is not. Lookarounds rather than \b,
# because Chinese characters are word characters ("电话13912345678").
_NUMBER = re.compile(
    rf"(?<!{_D})(?:{_D}(?:{_SEP}{{1,3}}{_D}){{6,}}|[+＋]?[(（]?{_D}+[)）]?(?:{_SEP}*{_D}{{3,}})*[xX]?)(?!{_D})"
)
_MIN_DIGITS = 7  # mainland mobile 11, landline 7-8 without area code, ID card 18


def redact_contact_details(text: str) -> str:
    """``text`` with e-mail addresses, WeChat/QQ ids and numbers of 7 or more digits replaced.

    Numbers count however they are written: grouped with spaces, hyphens or dots
    (``139.1234.5678``), digit by digit (``1 3 9 1 2 3 4 5 6 7 8``), in full-width digits or in
    Chinese numerals (``一三九一二三四五六七八``, ``幺三九…``). Years (2026), scores (85),
    dates (2024-05-01) and decimals (4.5) stay.

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
        lambda match: REDACTED if sum(ch.isdigit() or ch in _DIGITS for ch in match.group()) >= _MIN_DIGITS
        else match.group(),
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
            "(starting with a letter or digit), e.g. an interviewer code like 'A01'",
            key="auth.username_invalid",
        )
    return username.strip()


def _check_password(password: Any, username: str) -> None:
    """Raise :class:`InvalidAccountError` (with the interface text's key) unless ``password``
    follows :data:`PASSWORD_RULE`."""
    if not isinstance(password, str):
        raise InvalidAccountError("password must be a string", key="auth.password_short", n=0,
                                  min=MIN_PASSWORD_LENGTH)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidAccountError(
            f"the password has {len(password)} characters; use at least {MIN_PASSWORD_LENGTH}",
            key="auth.password_short", n=len(password), min=MIN_PASSWORD_LENGTH,
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidAccountError(f"the password has {len(password)} characters; at most {MAX_PASSWORD_LENGTH}",
                                  key="auth.password_long", n=len(password), max=MAX_PASSWORD_LENGTH)
    lowered = password.lower()
    if username.lower() in lowered:
        raise InvalidAccountError("the password contains the user name; choose another",
                                  key="auth.password_username")
    if len(set(lowered)) < 4 or any(lowered == lowered[:size] * (len(lowered) // size) + lowered[:len(lowered) % size]
                                    for size in range(1, len(lowered) // 2 + 1)):
        raise InvalidAccountError("the password repeats a few characters or a pattern; choose another",
                                  key="auth.password_repeats")
    compact = re.sub(r"[\s._-]", "", lowered)
    if any(compact in run or compact in run[::-1] for run in _SEQUENCES):
        raise InvalidAccountError("the password is a keyboard, alphabet or digit sequence; choose another",
                                  key="auth.password_sequence")
    # The core without the digits and signs people add to satisfy rules ("password12", "!qwerty2026").
    core = re.sub(r"^[\W\d_]+|[\W\d_]+$", "", lowered)
    candidates = {lowered, compact, core, core.translate(_LEET), lowered.translate(_LEET)}
    if candidates & _common_passwords():
        raise InvalidAccountError("the password is on the list of common passwords; choose another",
                                  key="auth.password_common")


@functools.lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    lines = _COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def _check_roles(roles: Iterable[Any]) -> frozenset[str]:
    if isinstance(roles, str):
        roles = [roles]
    role_set = frozenset(roles)
    if not role_set:
        raise InvalidAccountError(f"give at least one role of {', '.join(map(repr, ROLES))}", key="auth.no_role")
    for role in role_set:
        _check_choice("role", role, ROLES)
    return role_set


def _minutes(value: timedelta) -> int:
    return int(value.total_seconds() // 60)


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
# Tokens this browser session already found ended: the websocket keeps presenting the cookie it
# was opened with, so without this a signed-out session would be tried again from it.
_REFUSED_KEY = "_auth_refused_tokens"
#: The cookie that carries the session token across reloads (never the URL).
SESSION_COOKIE = "survey_session"
#: The cookie that carries the browser's device token (kept after signing out).
DEVICE_COOKIE = "survey_device"
_DEVICE_KEY = "_auth_device"

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
        "password_rule": {
            "zh": "密码至少 {min} 个字符；不能是常见密码（如 password123、1234567890、qwertyuiop），"
            "不能是键盘、字母或数字顺序，不能只重复几个字符，不能包含用户名。",
            "en": "At least {min} characters; not a common password (such as password123, 1234567890, "
            "qwertyuiop), not a keyboard, alphabet or digit sequence, not a few repeated characters, "
            "and not containing the user name.",
        },
        "password_short": {
            "zh": "密码只有 {n} 个字符，至少需要 {min} 个。",
            "en": "The password has {n} characters; it needs at least {min}.",
        },
        "password_long": {
            "zh": "密码有 {n} 个字符，最多 {max} 个。", "en": "The password has {n} characters; at most {max}.",
        },
        "password_username": {"zh": "密码不能包含用户名，请另选。", "en": "The password contains the user name; choose another."},
        "password_repeats": {
            "zh": "密码只是重复几个字符或同一段内容，请另选。",
            "en": "The password repeats a few characters or a pattern; choose another.",
        },
        "password_sequence": {
            "zh": "密码是键盘、字母或数字顺序，请另选。",
            "en": "The password is a keyboard, alphabet or digit sequence; choose another.",
        },
        "password_common": {
            "zh": "这是常见密码，很容易被猜中，请另选。",
            "en": "This is a common password, easy to guess; choose another.",
        },
        "username_invalid": {
            "zh": "用户名只能用 1–100 个字母、数字或 . _ @ + -，并以字母或数字开头（访问员可用编号，如 A01）。",
            "en": "Use 1–100 letters, digits or . _ @ + - for the user name, starting with a letter or digit "
            "(interviewers: their code, e.g. A01).",
        },
        "username_taken": {
            "zh": "用户名 {username} 已被使用（不区分大小写），请另选。",
            "en": "The user name {username} is taken (case is ignored); choose another.",
        },
        "no_role": {"zh": "请至少选择一个角色。", "en": "Choose at least one role."},
        "no_account": {"zh": "没有名为 {username} 的账户。", "en": "There is no account called {username}."},
        "no_password_here": {
            "zh": "{username} 使用单位统一身份登录，本系统中没有密码。",
            "en": "{username} signs in with the organisation account and has no password here.",
        },
        "last_administrator": {
            "zh": "{username} 是最后一个启用的管理员，请先让另一位用户成为管理员。",
            "en": "{username} is the last enabled administrator; make another user administrator first.",
        },
        "display_name_long": {"zh": "姓名有 {n} 个字符，最多 200 个。", "en": "The name has {n} characters; at most 200."},
        "setup_done": {
            "zh": "管理员账户已由他人创建，请登录。", "en": "The administrator account already exists; please sign in.",
        },
        "throttled": {
            "zh": "该用户名的密码错误次数过多，请等待 {seconds} 秒后再试，或请管理员解除等待。",
            "en": "Too many wrong passwords for this user name: wait {seconds} s before trying again, "
            "or ask an administrator to clear the wait.",
        },
        "busy": {"zh": "同时登录的人太多，请稍后再试。", "en": "Too many simultaneous sign-ins; try again in a moment."},
        "idle_timeout_range": {
            "zh": "空闲超时须在 {low} 到 {high} 分钟之间。",
            "en": "The idle timeout must be from {low} to {high} minutes.",
        },
        "absolute_timeout_range": {
            "zh": "登录最长有效期须在 {low} 到 {high} 分钟之间。",
            "en": "The session lifetime must be from {low} to {high} minutes.",
        },
        "idle_over_absolute": {
            "zh": "空闲超时不能长于登录最长有效期。", "en": "The idle timeout cannot exceed the session lifetime.",
        },
        "refused": {"zh": "操作未被接受，请检查输入。", "en": "Not accepted; please check the input."},
        "oidc_no_claim": {
            "zh": "单位统一身份没有提供 {claim}，请管理员检查 [survey_auth] username_claim 设置。",
            "en": "The organisation identity has no {claim}; an administrator must check [survey_auth] username_claim.",
        },
        "oidc_expired": {"zh": "单位统一身份登录已过期，请重新登录。", "en": "The organisation sign-in has expired; sign in again."},
        "oidc_no_role": {
            "zh": "{username} 已通过单位统一身份登录，但在本系统中没有角色；请管理员把该用户或其所在组加入 [survey_auth.roles]。",
            "en": "{username} signed in with the organisation account but has no role in this app; an administrator "
            "must add the user or one of their groups to [survey_auth.roles].",
        },
        "oidc_password_account": {
            "zh": "{username} 是密码账户，请用密码登录。",
            "en": "{username} is a password account; sign in with the password form.",
        },
        "disabled": {
            "zh": "账户 {username} 已停用，请联系管理员。", "en": "The account {username} is disabled; ask an administrator.",
        },
    },
)


def error_text(error: AuthError, lang: str | None = None) -> str:
    """The interface text explaining ``error`` (its ``key``), in the interface language."""
    if error.key is None:
        return t("auth.refused", lang)
    return t(error.key, lang, **error.params)


def password_rule(lang: str | None = None) -> str:
    """:data:`PASSWORD_RULE` in the interface language: the help of every password field."""
    return t(PASSWORD_RULE, lang, min=MIN_PASSWORD_LENGTH)


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

    The session token (from this browser session, or after a reload from the session cookie)
    is checked against the database on every page run, so an expired or ended session, a
    disabled account or changed roles take effect at the next click.
    """
    accounts = get_accounts()
    token = st.session_state.get(_TOKEN_KEY)
    if not token:  # a reload: the browser session is new, the cookie is not
        cookie = _cookie_token()
        if cookie and cookie not in st.session_state.get(_REFUSED_KEY, ()):
            token = cookie
    if token:
        try:
            user = accounts.session_user(token)
        except SessionExpiredError:
            st.session_state[_NOTICE_KEY] = ("auth.expired", {})
        except AuthenticationError:
            st.session_state[_NOTICE_KEY] = ("auth.ended", {})
        else:
            st.session_state[_TOKEN_KEY] = token
            return user
        st.session_state.pop(_TOKEN_KEY, None)
        _refuse(token)
    config = oidc_config()
    if config is not None and st.user.get("is_logged_in"):
        try:
            session = accounts.sign_in_oidc(st.user.to_dict(), config)
        except AuthError as exc:
            st.session_state[_NOTICE_KEY] = ("auth.oidc_refused", {"detail": error_text(exc)})
            return None
        st.session_state[_TOKEN_KEY] = session.token
        return session.user
    return None


def session_state_for(session: Session) -> dict[str, str]:
    """The browser-session state that makes a browser session signed in as ``session``.

    :func:`start_session` stores this (and the device token, which only throttling uses); tests
    seed ``AppTest.session_state`` with it.
    """
    return {_TOKEN_KEY: session.token}


def start_session(session: Session) -> None:
    """Keep a new session's token (and device token) in this browser session (after a sign-in)."""
    for key, value in session_state_for(session).items():
        st.session_state[key] = value
    if session.device:
        st.session_state[_DEVICE_KEY] = session.device
    st.session_state.pop(_NOTICE_KEY, None)


def device_token() -> str | None:
    """This browser's device token (:meth:`Accounts.sign_in`'s ``device``), if it has one."""
    return st.session_state.get(_DEVICE_KEY) or _cookie_token(DEVICE_COOKIE)


def end_session() -> None:
    """Sign the browser session out (and out of the organisation's provider if used).

    The server ends the session, so its token (and the cookie holding it) is refused from now
    on; :func:`session_cookie` then deletes the cookie in the browser.
    """
    token = st.session_state.pop(_TOKEN_KEY, None)
    if token:
        get_accounts().sign_out(token)
        _refuse(token)
    if oidc_config() is not None and st.user.get("is_logged_in"):
        st.logout()


def session_cookie() -> None:
    """Keep the browser's session cookie equal to this browser session's sign-in.

    Call once per run of the app, after :func:`current_user`. Signed in: the cookie holds the
    token (``Path=/; SameSite=Strict``, ``Secure`` over https, for the session's lifetime), so a
    reload is signed in again by :func:`current_user`. Signed out: a cookie still there is
    deleted. The device cookie (:func:`device_token`) is written after a password sign-in and
    kept. Cookies are written by a script because Streamlit can only read them.
    """
    token = st.session_state.get(_TOKEN_KEY)
    cookies: list[tuple[str, str, int]] = []
    if token:
        cookies.append((SESSION_COOKIE, token, int(get_accounts().session_limits()[1].total_seconds())))
    elif _cookie_token():
        cookies.append((SESSION_COOKIE, "", 0))
    device = st.session_state.get(_DEVICE_KEY)
    if device:
        cookies.append((DEVICE_COOKIE, device, int(DEVICE_LIFETIME.total_seconds())))
    if not cookies:
        return
    # Tokens are URL-safe base64 and max-ages ints: nothing here needs escaping.
    secure = '(location.protocol === "https:" ? "; Secure" : "")'
    script = "".join(f'document.cookie = "{name}={value}; Max-Age={max_age}; Path=/; SameSite=Strict" + {secure};'
                     for name, value, max_age in cookies)
    st.sidebar.html(f"<script>{script}</script>", unsafe_allow_javascript=True)


def _refuse(token: str) -> None:
    st.session_state[_REFUSED_KEY] = {*st.session_state.get(_REFUSED_KEY, ()), token}


def _cookie_token(name: str = SESSION_COOKIE) -> str | None:
    """The cookie ``name`` the browser sent when this browser session's connection opened."""
    value = st.context.cookies.get(name)
    return value if isinstance(value, str) and value else None  # AppTest answers with a mock


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
