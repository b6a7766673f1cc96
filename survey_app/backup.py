"""Consistent backups of the embedded SQLite database, and their restore.

A backup is taken with SQLite's online backup API in one step, so it is a snapshot of one
committed state even while interviews are being submitted (WAL mode lets the writers go on).
The copy is checked (``PRAGMA integrity_check``) and switched out of WAL mode, so the
downloaded file is one self-contained ``.db`` file that ``sqlite3`` opens directly.

A backup to restore is untrusted input (anyone who can hand a file to an administrator can
craft one), so it is never adopted as it is. Restoring

1. checks the file (SQLite, intact) and its schema against the one this app writes: only the
   app's tables and columns, only the app's indexes, no triggers and no views
   (:class:`BackupRefusedError` names the first object that differs);
2. creates a new database with the app's own stores and inserts the backup's rows into it
   table by table, each value checked against its column's type; the open sessions
   (credentials) and the results pages' cached columns (derived data) are not carried over;
3. requires the first-start record and an active administrator in it, so that a restore can
   neither offer "create the first administrator" to a visitor nor lock everybody out;
4. keeps a safety backup of the current database, and copies the new database into the live
   one with the backup API, which holds the write lock for the whole copy: no other
   connection sees a half-restored database, and on any failure the database is unchanged.

Only active administrators may take a backup or restore one (:func:`backup_bytes` and
:func:`restore_database` check the acting :class:`~survey_app.auth.User` against the stored
account), and both are written to the audit log, refused restores too.

PostgreSQL deployments back up with the server's own tools (``pg_dump``/``pg_restore``
or continuous archiving); :func:`backup_database` says so instead of guessing.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO, Literal, get_args

import pandas as pd
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from survey_app.assignments import AssignmentStore
from survey_app.auth import (
    ROLES, Accounts, InvalidAccountError, PermissionDeniedError, User, audit, authorize,
)
from survey_app.errors import SurveyAppError
from survey_app.margins import MarginsStore
from survey_app.review import QuestionnaireLibrary
from survey_app.store import ResponseStore, default_url

__all__ = [
    "BackupError",
    "BackupRefusedError",
    "BackupResult",
    "FAILURE_PROBLEMS",
    "FailureProblem",
    "REFUSAL_PROBLEMS",
    "RefusalProblem",
    "RestorePlan",
    "RestoreResult",
    "backup_bytes",
    "backup_database",
    "plan_restore",
    "restore_database",
    "sqlite_path",
]

_SQLITE_HEADER = b"SQLite format 3\x00"
# Interviews added while a restore waits for the write lock wait this long (milliseconds).
_BUSY_TIMEOUT_MS = 30_000


# Tables every database of the app has (the accounts are made at the first start).
_REQUIRED_TABLES = ("interviews", "auth_users", "auth_setup", "audit_log")
# Checked but not carried over: session tokens are credentials, sign-in throttles are the
# moment's state (a planted one would lock the administrators out), and the interviews kept in
# columns are derived from the interviews (a planted copy could show other results).
_NOT_RESTORED = frozenset({"auth_sessions", "auth_throttle", "frame_snapshots"})
# Text columns the app reads as JSON, and the JSON type each holds.
_JSON_COLUMNS: dict[tuple[str, str], type] = {
    ("interviews", "answers"): dict,
    ("audit_log", "detail"): dict,
    ("population_margins", "counts"): dict,
}
# How an account signs in (survey_app.auth.User.source).
_SOURCES = ("password", "oidc")

RefusalProblem = Literal[
    "not_sqlite", "damaged", "unreadable", "trigger", "view", "index", "unknown_table", "missing_table",
    "unknown_column", "missing_column", "bad_value", "bad_rows", "no_setup", "no_administrator",
]
REFUSAL_PROBLEMS: tuple[str, ...] = get_args(RefusalProblem)
FailureProblem = Literal[
    "bad_url", "server_database", "not_a_file", "no_database", "same_file", "backup_failed", "no_backup_file",
    "bad_backup_type", "unchecked_type", "compare_failed", "restore_failed", "copy_damaged",
]
FAILURE_PROBLEMS: tuple[str, ...] = get_args(FailureProblem)


class BackupError(SurveyAppError):
    """A backup or restore that cannot be done; the message says why and what to do.

    Attributes
    ----------
    problem : FailureProblem
        What went wrong, for the page's message in the interface language.
    params : dict
        The values that message names (paths, names), as text.
    """

    _problems: tuple[str, ...] = FAILURE_PROBLEMS

    def __init__(self, message: str, *, problem: str, **params: object) -> None:
        if problem not in self._problems:
            raise ValueError(f"problem must be one of {', '.join(self._problems)}, got {problem!r}")
        super().__init__(message)
        self.problem = problem
        self.params = {name: str(value) for name, value in params.items()}


class BackupRefusedError(BackupError):
    """A file that is not a genuine, intact backup of this app's database; nothing was changed.

    Attributes
    ----------
    problem : RefusalProblem
        What is wrong, for the page's message in the interface language.
    name : str
        The table, column (``table.column``), index, trigger or view concerned; empty when
        the problem concerns the whole file.
    """

    _problems = REFUSAL_PROBLEMS

    def __init__(self, message: str, *, problem: RefusalProblem, name: str = "") -> None:
        super().__init__(message, problem=problem, name=name)
        self.name = name


@dataclass(frozen=True)
class BackupResult:
    """A finished backup.

    Attributes
    ----------
    path : Path
        The backup file (a self-contained SQLite database).
    size : int
        Its size in bytes.
    sha256 : str
        Hex SHA-256 of the file, to check a copy.
    interviews : int
        Interviews (all statuses) in the backup.
    submitted : int
        Submitted interviews in the backup.
    created_at : datetime
        When the snapshot was taken (UTC).
    """

    path: Path
    size: int
    sha256: str
    interviews: int
    submitted: int
    created_at: datetime

    def to_frame(self) -> pd.DataFrame:
        """One row with every attribute."""
        return pd.DataFrame([{name: getattr(self, name) for name in self.__dataclass_fields__}])

    def summary(self) -> str:
        return (
            f"Backup {self.path.name}: {self.interviews} interviews ({self.submitted} submitted), "
            f"{self.size} bytes, taken {self.created_at.isoformat(timespec='seconds')}, sha256 {self.sha256[:12]}…"
        )


@dataclass(frozen=True)
class RestorePlan:
    """What restoring a backup would change, checked before anything is written.

    Attributes
    ----------
    backup_interviews, current_interviews : int
        Interviews in the backup and in the live database.
    lost_interviews : int
        Interviews in the live database that the backup does not hold; a restore removes
        them (they stay in the safety backup taken before restoring).
    lost_submitted : int
        Of these, the submitted ones.
    administrators : tuple of str
        The active administrators of the backup: after restoring, only they can manage the app.
    """

    backup_interviews: int
    current_interviews: int
    lost_interviews: int
    lost_submitted: int
    administrators: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{name: getattr(self, name) for name in self.__dataclass_fields__}])

    def summary(self) -> str:
        text = f"The backup holds {self.backup_interviews} interviews; the database now holds {self.current_interviews}."
        if self.lost_interviews:
            text += (
                f" Restoring removes {self.lost_interviews} interviews ({self.lost_submitted} submitted) that are "
                "not in the backup; they are kept in the safety backup."
            )
        return text + f" Its active administrators: {', '.join(self.administrators)}."


@dataclass(frozen=True)
class RestoreResult:
    """A finished restore: what changed and where the previous state was saved."""

    plan: RestorePlan
    safety_backup: BackupResult

    def to_frame(self) -> pd.DataFrame:
        frame = self.plan.to_frame()
        frame["safety_backup"] = str(self.safety_backup.path)
        return frame

    def summary(self) -> str:
        return f"Restored. {self.plan.summary()} Safety backup of the previous state: {self.safety_backup.path}"


def sqlite_path(url: str | None = None) -> Path:
    """The database file of a SQLite URL; :class:`BackupError` for any other database."""
    url = url if url is not None else default_url()
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise BackupError(f"url {url!r} is not a SQLAlchemy database URL", problem="bad_url") from None
    if parsed.get_backend_name() != "sqlite":
        raise BackupError(
            f"the database is {parsed.get_backend_name()}, not the embedded SQLite file; back it up with the "
            "server's own tools, e.g. `pg_dump --format=custom` and `pg_restore` for PostgreSQL",
            problem="server_database", backend=parsed.get_backend_name(),
        )
    database = parsed.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError(f"the SQLite database {database or ':memory:'!r} is not a file and cannot be backed up",
                          problem="not_a_file", database=database or ":memory:")
    return Path(database)


def backup_database(destination: Path | str, *, url: str | None = None) -> BackupResult:
    """Write a consistent copy of the SQLite database to ``destination``.

    Safe while interviews are being written: the copy is one committed state. The file
    is written beside ``destination`` first and renamed into place, so an interrupted
    backup never leaves a partial file under that name.

    Parameters
    ----------
    destination : Path or str
        The backup file to create (overwritten if it exists).
    url : str, optional
        The database; default ``SURVEY_DB_URL`` or ``data/survey.db``.

    Examples
    --------
    Like ``sqlite3 data/survey.db ".backup backup.db"``.

    >>> backup_database("backup.db").summary()                      # doctest: +SKIP
    """
    source_path = sqlite_path(url)
    if not source_path.is_file():
        raise BackupError(f"there is no database file at {source_path} to back up", problem="no_database",
                          path=source_path)
    destination = Path(destination)
    if destination.resolve() == source_path.resolve():
        raise BackupError(f"the backup destination {destination} is the database itself; choose another file",
                          problem="same_file", path=destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".partial", dir=destination.parent)
    os.close(handle)
    try:
        created = datetime.now(timezone.utc)
        # Not mode=ro: a read-only connection cannot always open a WAL database's shared memory.
        source = sqlite3.connect(source_path, timeout=_BUSY_TIMEOUT_MS / 1000)
        try:
            target = sqlite3.connect(partial)
            try:
                source.backup(target)  # pages=-1: all pages in one step, one snapshot
                target.execute("PRAGMA journal_mode=DELETE")
                _check_integrity(target, "the backup copy")
                counts = _counts(target)
            finally:
                target.close()
        finally:
            source.close()
        os.replace(partial, destination)
    except sqlite3.Error as exc:
        raise BackupError(f"the backup of {source_path} failed: {exc}; nothing was written to {destination}",
                          problem="backup_failed", path=source_path) from exc
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return BackupResult(
        path=destination,
        size=destination.stat().st_size,
        sha256=_sha256(destination),
        interviews=counts[0],
        submitted=counts[1],
        created_at=created,
    )


def backup_bytes(actor: User, *, url: str | None = None) -> tuple[bytes, BackupResult]:
    """A backup as bytes (for a download) and its description; administrators only, audited.

    ``actor`` is checked against the stored account (a disabled administrator whose page is
    still open gets :class:`~survey_app.auth.PermissionDeniedError`).
    """
    _check_actor(actor, url)
    with tempfile.TemporaryDirectory(prefix="survey-backup-") as directory:
        result = backup_database(Path(directory) / "survey-backup.db", url=url)
        data = result.path.read_bytes()
    audit(actor.username, "backup", sqlite_path(url).name,
          {"interviews": result.interviews, "submitted": result.submitted, "sha256": result.sha256}, url=url)
    return data, result


def plan_restore(
    backup: Path | str | bytes | BinaryIO, *, actor: User, url: str | None = None, label: str | None = None,
) -> RestorePlan:
    """Check a backup completely (as :func:`restore_database` does) and tell what restoring it
    would change; writes nothing but, for a refused backup, the audit entry.

    Parameters are those of :func:`restore_database`.

    Raises
    ------
    PermissionDeniedError
        ``actor`` is not an active administrator.
    BackupRefusedError
        The backup is not a genuine, intact backup of this app's database.
    """
    target_path = sqlite_path(url)
    _check_actor(actor, url)
    with _refusals_audited(actor, backup, label, url), _checked_copy(backup) as copy:
        return _plan(copy, target_path)


def restore_database(
    backup: Path | str | bytes | BinaryIO,
    *,
    actor: User,
    safety_directory: Path | str,
    url: str | None = None,
    label: str | None = None,
) -> RestoreResult:
    """Replace the database's content with the rows of a checked backup (administrators only).

    The backup file is never adopted: its schema must be exactly the one this app writes
    (tables, columns; no triggers, views or other indexes), its rows are type-checked and
    inserted into a new database that the app's own stores created, which must then hold the
    first-start record and an active administrator. Only that new database is copied into the
    live one, in one step under the write lock. The open sessions and the cached results
    columns are not restored: everyone signs in again, and the columns are read again.

    Parameters
    ----------
    backup : Path, str, bytes or binary file
        The backup (e.g. the bytes of an uploaded file).
    actor : User
        Who restores; must be an active administrator in the current database.
    safety_directory : Path or str
        Where the current state is backed up first (file ``before-restore-<UTC time>.db``).
    url : str, optional
        The database to restore into; default ``SURVEY_DB_URL`` or ``data/survey.db``.
    label : str, optional
        How the audit log names the backup; default its file name, or "uploaded backup".

    Returns
    -------
    RestoreResult
        What changed (see :func:`plan_restore`) and the safety backup.

    Raises
    ------
    PermissionDeniedError
        ``actor`` is not an active administrator.
    BackupRefusedError
        The backup was refused (the reason is in ``problem`` and ``name``); nothing changed,
        and the refusal is in the audit log.
    """
    target_path = sqlite_path(url)
    _check_actor(actor, url)
    with _refusals_audited(actor, backup, label, url), _checked_copy(backup) as copy:
        plan = _plan(copy, target_path)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        safety = backup_database(Path(safety_directory) / f"before-restore-{stamp}.db", url=url)
        try:
            source = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
            try:
                target = sqlite3.connect(target_path, timeout=_BUSY_TIMEOUT_MS / 1000)
                try:
                    source.backup(target)
                    _check_integrity(target, "the restored database")
                finally:
                    target.close()
            finally:
                source.close()
        except sqlite3.Error as exc:
            raise BackupError(
                f"restoring into {target_path} failed: {exc}. The database was not changed (SQLite's backup "
                f"copy is all or nothing); the safety backup is {safety.path}",
                problem="restore_failed", path=safety.path,
            ) from exc
    # Written after the restore, so the restored database keeps the record.
    audit(actor.username, "restore", _label(backup, label), {
        "backup_interviews": plan.backup_interviews, "removed_interviews": plan.lost_interviews,
        "administrators": list(plan.administrators), "safety_backup": str(safety.path),
    }, url=url)
    return RestoreResult(plan=plan, safety_backup=safety)


@contextlib.contextmanager
def _refusals_audited(actor: User, backup: object, label: str | None, url: str | None) -> Iterator[None]:
    """Write a refused backup to the audit log (of the unchanged database) and raise on."""
    try:
        yield
    except BackupRefusedError as exc:
        audit(actor.username, "restore_refused", _label(backup, label),
              {"problem": exc.problem, "name": exc.name}, url=url)
        raise


def _label(backup: object, label: str | None) -> str:
    if label is not None:
        return label
    return Path(backup).name if isinstance(backup, (str, Path)) else "uploaded backup"


def _check_actor(actor: User, url: str | None) -> None:
    """Refuse anyone but an active administrator, as passed and as stored now."""
    authorize(actor, "backups")
    accounts = Accounts(url)
    try:
        stored = accounts.get_user(actor.username)
    except InvalidAccountError:
        raise PermissionDeniedError(f"there is no account {actor.username!r} in this database") from None
    finally:
        accounts.close()
    authorize(stored, "backups")


def _create_app_schema(url: str) -> None:
    """Create every table and index of the app, the way its stores do when opened."""
    for open_store in (ResponseStore, Accounts, MarginsStore, AssignmentStore, QuestionnaireLibrary):
        open_store(url).close()


class _checked_copy:
    """A context giving the path of a new database holding a checked backup's rows.

    The upload is written to a temporary file (when it is not a path) and checked; a new
    database is made there by the app's stores, the backup's rows are inserted into it table by
    table, and its content is checked. Everything is deleted on leaving the context.
    """

    def __init__(self, backup: Path | str | bytes | BinaryIO) -> None:
        self._backup = backup
        self._temp: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> Path:
        self._temp = tempfile.TemporaryDirectory(prefix="survey-restore-")
        try:
            return self._enter(Path(self._temp.name))
        except BaseException:
            self._temp.cleanup()
            raise

    def _enter(self, directory: Path) -> Path:
        backup = self._backup
        if isinstance(backup, (str, Path)):
            path = Path(backup)
            if not path.is_file():
                raise BackupError(f"there is no backup file at {path}", problem="no_backup_file", path=path)
        else:
            data = backup if isinstance(backup, bytes) else backup.read()
            if not isinstance(data, bytes):
                raise BackupError(f"backup must be a path, bytes or a binary file, got {type(backup).__name__}",
                                  problem="bad_backup_type", type=type(backup).__name__)
            path = directory / "upload.db"
            path.write_bytes(data)
        _check_header(path)
        copy = directory / "restored.db"
        _create_app_schema(f"sqlite:///{copy}")
        try:
            with _read_only(path) as source, contextlib.closing(sqlite3.connect(copy)) as target:
                _check_integrity(source, "the backup", refuse=True)
                tables = _check_schema(source, target)
                _copy_rows(source, target, tables)
                target.execute("PRAGMA journal_mode=DELETE")
                _check_content(target)
        except sqlite3.Error as exc:
            raise BackupRefusedError(f"the backup cannot be read as a SQLite database: {exc}",
                                     problem="unreadable") from exc
        return copy

    def __exit__(self, *exc_info: object) -> None:
        if self._temp is not None:
            self._temp.cleanup()


@contextlib.contextmanager
def _read_only(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to an untrusted file: its schema can call no function with side effects."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        conn.execute("PRAGMA trusted_schema=OFF")
        yield conn
    finally:
        conn.close()


def _check_header(path: Path) -> None:
    with path.open("rb") as handle:
        header = handle.read(len(_SQLITE_HEADER))
    if header != _SQLITE_HEADER:
        raise BackupRefusedError(
            f"{path.name} is not a SQLite database (it does not start with the SQLite header); "
            "upload a file made by this app's backup", problem="not_sqlite",
        )


def _columns(conn: sqlite3.Connection, table: str) -> dict[str, tuple[str, bool, int]]:
    """Column -> (declared type, NOT NULL, hidden: 0 plain, else generated or virtual)."""
    return {row[1]: (row[2].upper(), bool(row[3]), row[6])
            for row in conn.execute(f"PRAGMA table_xinfo({_quote(table)})")}


def _check_schema(backup: sqlite3.Connection, app: sqlite3.Connection) -> list[tuple[str, list[str]]]:
    """Compare the backup's schema with the app's (``app``: a database its stores made).

    Returns the tables to copy with the columns to read; raises :class:`BackupRefusedError`
    naming the first object that differs.
    """
    objects = backup.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").fetchall()
    app_indexes = {row[0] for row in app.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    app_tables = [row[0] for row in app.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for kind, name, _table, sql in objects:
        if kind in ("trigger", "view"):
            raise BackupRefusedError(
                f"the backup holds the {kind} {name!r}; this app creates none, so the file was changed outside "
                "the app. Restore a backup downloaded from the app", problem=kind, name=name,
            )
        if kind == "index" and name not in app_indexes:
            raise BackupRefusedError(
                f"the backup holds the index {name!r}, which this app does not create", problem="index", name=name,
            )
        if kind == "table" and name not in app_tables:
            raise BackupRefusedError(
                f"the backup holds the table {name!r}, which is not one of this app's tables "
                f"({', '.join(sorted(app_tables))})", problem="unknown_table", name=name,
            )
        if kind == "table" and not re.match(r"\s*CREATE\s+TABLE\b", sql or "", re.IGNORECASE):
            raise BackupRefusedError(f"the backup's table {name!r} is not a plain table ({(sql or '')[:60]!r})",
                                     problem="unknown_table", name=name)
    present = {name for kind, name, _table, _sql in objects if kind == "table"}
    for name in _REQUIRED_TABLES:
        if name not in present:
            raise BackupRefusedError(
                f"the backup has no {name} table; every database of this app has one, so it is not a backup "
                f"of this app (tables: {', '.join(sorted(present)) or 'none'})", problem="missing_table", name=name,
            )
    copied = []
    for table in app_tables:
        if table not in present:
            continue  # a table newer than the backup: it stays empty
        expected, found = _columns(app, table), _columns(backup, table)
        for column, (_type, _not_null, hidden) in found.items():
            if column not in expected or hidden:
                raise BackupRefusedError(
                    f"the backup's table {table} has the column {column!r}, which this app does not write",
                    problem="unknown_column", name=f"{table}.{column}",
                )
        for column, (_type, not_null, _hidden) in expected.items():
            if column not in found and not_null:
                raise BackupRefusedError(f"the backup's table {table} lacks the column {column!r}",
                                         problem="missing_column", name=f"{table}.{column}")
        if table not in _NOT_RESTORED:
            copied.append((table, [column for column in expected if column in found]))
    return copied


def _copy_rows(backup: sqlite3.Connection, copy: sqlite3.Connection, tables: list[tuple[str, list[str]]]) -> None:
    """Insert the backup's rows into the app-made ``copy``, checking each value's type first."""
    for table, columns in tables:
        types = _columns(copy, table)
        checks = [(column, *_value_check(table, column, types[column][0]), types[column][1]) for column in columns]
        names = ", ".join(map(_quote, columns))
        insert = f"INSERT INTO {_quote(table)} ({names}) VALUES ({', '.join('?' * len(columns))})"
        rows = backup.execute(f"SELECT {names} FROM {_quote(table)}")
        copy.execute(f"DELETE FROM {_quote(table)}")  # rows a store writes when it opens
        number = 0
        while batch := rows.fetchmany(1000):
            for row in batch:
                number += 1
                for value, (column, check, wanted, not_null) in zip(row, checks):
                    if (value is None and not_null) or (value is not None and not check(value)):
                        raise BackupRefusedError(
                            f"row {number} of the backup's table {table} has {value!r:.60} in {column}, which "
                            f"must be {wanted}", problem="bad_value", name=f"{table}.{column}",
                        )
            try:
                copy.executemany(insert, batch)
            except sqlite3.IntegrityError as exc:
                raise BackupRefusedError(
                    f"the rows of the backup's table {table} break this app's rules: {exc}",
                    problem="bad_rows", name=table,
                ) from exc
    copy.commit()


def _value_check(table: str, column: str, declared: str) -> tuple[Callable[[Any], bool], str]:
    """The check of one column's values (non-NULL) and what it expects, from the app's declared type."""
    json_type = _JSON_COLUMNS.get((table, column))
    if json_type is not None:
        return (lambda value: isinstance(value, str) and isinstance(_json_or_none(value), json_type),
                f"a JSON {json_type.__name__}")
    length = re.fullmatch(r"VARCHAR\((\d+)\)", declared)
    if length:
        limit = int(length.group(1))
        return (lambda value: isinstance(value, str) and len(value) <= limit), f"text of at most {limit} characters"
    checks: dict[str, tuple[Callable[[Any], bool], str]] = {
        "TEXT": (lambda value: isinstance(value, str), "text"),
        "INTEGER": (lambda value: isinstance(value, int), "a whole number"),
        "BIGINT": (lambda value: isinstance(value, int), "a whole number"),
        "BOOLEAN": (lambda value: value in (0, 1) and isinstance(value, int), "0 or 1"),
        "FLOAT": (lambda value: isinstance(value, (int, float)), "a number"),
        "BLOB": (lambda value: isinstance(value, bytes), "binary data"),
        "DATETIME": (lambda value: _parses(datetime.fromisoformat, value), "a date and time"),
        "DATE": (lambda value: _parses(date.fromisoformat, value), "a date"),
    }
    if declared not in checks:
        raise BackupError(f"the app's column {table}.{column} has the type {declared}, which the restore cannot "
                          "check; add it to survey_app.backup._value_check", problem="unchecked_type",
                          column=f"{table}.{column}")
    return checks[declared]


def _parses(parse: Callable[[str], object], value: Any) -> bool:
    try:
        parse(value)
    except (TypeError, ValueError):
        return False
    return isinstance(value, str)


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _check_content(copy: sqlite3.Connection) -> None:
    """The restored accounts must let the app start signed-in: a first-start record, known
    roles and sources, and an active administrator."""
    if copy.execute("SELECT COUNT(*) FROM auth_setup").fetchone()[0] == 0:
        raise BackupRefusedError(
            "the backup has no first-start record (auth_setup is empty): after restoring it the app would offer "
            "anyone to create the first administrator", problem="no_setup",
        )
    administrators = 0
    for username, roles, source, active in copy.execute("SELECT username, roles, source, active FROM auth_users"):
        unknown = set(roles.split(",")) - set(ROLES)
        if unknown or source not in _SOURCES:
            raise BackupRefusedError(
                f"the backup's account {username!r} has "
                + (f"the unknown roles {sorted(unknown)}" if unknown else f"the unknown sign-in source {source!r}"),
                problem="bad_value", name="auth_users.roles" if unknown else "auth_users.source",
            )
        administrators += bool(active) and "administrator" in roles.split(",")
    if not administrators:
        raise BackupRefusedError(
            "the backup has no active administrator: nobody could sign in to manage the restored app",
            problem="no_administrator",
        )


def _plan(copy_path: Path, target_path: Path) -> RestorePlan:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{copy_path}?mode=ro", uri=True)) as conn:
            backup_ids = {row[0] for row in conn.execute("SELECT id FROM interviews")}
            administrators = tuple(sorted(
                username for username, roles in
                conn.execute("SELECT username, roles FROM auth_users WHERE active = 1")
                if "administrator" in roles.split(",")
            ))
        current: dict[str, str] = {}
        if target_path.is_file():
            with contextlib.closing(sqlite3.connect(target_path, timeout=_BUSY_TIMEOUT_MS / 1000)) as conn:
                tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                if "interviews" in tables:
                    current = dict(conn.execute("SELECT id, status FROM interviews").fetchall())
    except sqlite3.Error as exc:
        raise BackupError(f"comparing the backup with the database failed: {exc}", problem="compare_failed") from exc
    lost = [status for interview_id, status in current.items() if interview_id not in backup_ids]
    return RestorePlan(
        backup_interviews=len(backup_ids),
        current_interviews=len(current),
        lost_interviews=len(lost),
        lost_submitted=sum(status in _COMPLETED for status in lost),
        administrators=administrators,
    )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# Interviews that were submitted, whatever a reviewer decided since.
_COMPLETED = ("submitted", "approved", "rejected")


def _check_integrity(conn: sqlite3.Connection, what: str, *, refuse: bool = False) -> None:
    """Raise unless SQLite finds ``conn``'s database intact (``refuse``: a refused backup)."""
    result = conn.execute("PRAGMA integrity_check").fetchall()
    if result != [("ok",)]:
        problems = "; ".join(str(row[0]) for row in result[:3])
        message = f"{what} is damaged (integrity check: {problems})"
        if refuse:
            raise BackupRefusedError(message, problem="damaged")
        raise BackupError(message, problem="copy_damaged")


def _counts(conn: sqlite3.Connection) -> tuple[int, int]:
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "interviews" not in tables:
        return 0, 0
    total, submitted = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN status IN ('submitted', 'approved', 'rejected') "
        "THEN 1 ELSE 0 END), 0) FROM interviews"
    ).fetchone()
    return int(total), int(submitted)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
