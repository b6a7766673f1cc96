"""Consistent backups of the embedded SQLite database, and their restore.

A backup is taken with SQLite's online backup API in one step, so it is a snapshot of one
committed state even while interviews are being submitted (WAL mode lets the writers go on).
The copy is checked (``PRAGMA integrity_check``) and switched out of WAL mode, so the
downloaded file is one self-contained ``.db`` file that ``sqlite3`` opens directly.

Restoring checks the uploaded file first (SQLite, intact, holds the ``interviews`` table),
keeps a safety backup of the current database, reports how many interviews the restore
would drop (present now but not in the backup), and copies the backup into the live
database with the same API, which holds the database's write lock for the whole copy, so
no other connection sees a half-restored database.

PostgreSQL deployments back up with the server's own tools (``pg_dump``/``pg_restore``
or continuous archiving); :func:`backup_database` says so instead of guessing.
"""
from __future__ import annotations

import hashlib
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

import pandas as pd
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from survey_app.errors import SurveyAppError
from survey_app.store import default_url

__all__ = [
    "BackupError",
    "BackupResult",
    "RestorePlan",
    "RestoreResult",
    "backup_database",
    "plan_restore",
    "restore_database",
    "sqlite_path",
]

_SQLITE_HEADER = b"SQLite format 3\x00"
# Interviews added while a restore waits for the write lock wait this long (milliseconds).
_BUSY_TIMEOUT_MS = 30_000


class BackupError(SurveyAppError):
    """A backup or restore that cannot be done; the message says why and what to do."""


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
    """

    backup_interviews: int
    current_interviews: int
    lost_interviews: int
    lost_submitted: int

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{name: getattr(self, name) for name in self.__dataclass_fields__}])

    def summary(self) -> str:
        text = f"The backup holds {self.backup_interviews} interviews; the database now holds {self.current_interviews}."
        if self.lost_interviews:
            text += (
                f" Restoring removes {self.lost_interviews} interviews ({self.lost_submitted} submitted) that are "
                "not in the backup; they are kept in the safety backup."
            )
        return text


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
        raise BackupError(f"url {url!r} is not a SQLAlchemy database URL") from None
    if parsed.get_backend_name() != "sqlite":
        raise BackupError(
            f"the database is {parsed.get_backend_name()}, not the embedded SQLite file; back it up with the "
            "server's own tools, e.g. `pg_dump --format=custom` and `pg_restore` for PostgreSQL"
        )
    database = parsed.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError(f"the SQLite database {database or ':memory:'!r} is not a file and cannot be backed up")
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
        raise BackupError(f"there is no database file at {source_path} to back up")
    destination = Path(destination)
    if destination.resolve() == source_path.resolve():
        raise BackupError(f"the backup destination {destination} is the database itself; choose another file")
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
        raise BackupError(f"the backup of {source_path} failed: {exc}; nothing was written to {destination}") from exc
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


def backup_bytes(*, url: str | None = None) -> tuple[bytes, BackupResult]:
    """A backup as bytes (for a download button) and its description."""
    with tempfile.TemporaryDirectory(prefix="survey-backup-") as directory:
        result = backup_database(Path(directory) / "survey-backup.db", url=url)
        return result.path.read_bytes(), result


def plan_restore(backup: Path | str | bytes | BinaryIO, *, url: str | None = None) -> RestorePlan:
    """Check a backup and tell what restoring it would change; writes nothing."""
    target_path = sqlite_path(url)
    with _backup_file(backup) as backup_path:
        return _plan(backup_path, target_path)


def restore_database(
    backup: Path | str | bytes | BinaryIO,
    *,
    safety_directory: Path | str,
    url: str | None = None,
) -> RestoreResult:
    """Replace the database's content with a checked backup.

    Parameters
    ----------
    backup : Path, str, bytes or binary file
        The backup (e.g. the bytes of an uploaded file).
    safety_directory : Path or str
        Where the current state is backed up first (file ``before-restore-<UTC time>.db``).
    url : str, optional
        The database to restore into; default ``SURVEY_DB_URL`` or ``data/survey.db``.

    Returns
    -------
    RestoreResult
        What changed (see :func:`plan_restore`) and the safety backup.
    """
    target_path = sqlite_path(url)
    with _backup_file(backup) as backup_path:
        plan = _plan(backup_path, target_path)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        safety = backup_database(Path(safety_directory) / f"before-restore-{stamp}.db", url=url)
        try:
            source = sqlite3.connect(f"file:{backup_path}?mode=ro", uri=True)
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
                f"restoring into {target_path} failed: {exc}. The database was not changed (SQLite's backup copy "
                f"is all or nothing); the safety backup is {safety.path}"
            ) from exc
    _complete_schema(url)
    return RestoreResult(plan=plan, safety_backup=safety)


def _complete_schema(url: str | None) -> None:
    """Give the restored database the tables that its version predates.

    Each store creates and upgrades its tables when opened; the running app's stores opened
    theirs before the restore, so without this a backup made before, say, field assignments
    existed would leave those pages failing until the app is restarted.
    """
    from survey_app.assignments import AssignmentStore
    from survey_app.auth import Accounts
    from survey_app.margins import MarginsStore
    from survey_app.review import QuestionnaireLibrary
    from survey_app.store import ResponseStore

    for open_store in (ResponseStore, Accounts, MarginsStore, AssignmentStore, QuestionnaireLibrary):
        open_store(url).close()


class _backup_file:
    """A context giving a path to a checked SQLite backup (bytes are written to a temp file)."""

    def __init__(self, backup: Path | str | bytes | BinaryIO) -> None:
        self._backup = backup
        self._temp: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> Path:
        backup = self._backup
        if isinstance(backup, (str, Path)):
            path = Path(backup)
            if not path.is_file():
                raise BackupError(f"there is no backup file at {path}")
        else:
            data = backup if isinstance(backup, bytes) else backup.read()
            if not isinstance(data, bytes):
                raise BackupError(f"backup must be a path, bytes or a binary file, got {type(backup).__name__}")
            self._temp = tempfile.TemporaryDirectory(prefix="survey-restore-")
            path = Path(self._temp.name) / "upload.db"
            path.write_bytes(data)
        _check_backup(path)
        return path

    def __exit__(self, *exc_info: object) -> None:
        if self._temp is not None:
            self._temp.cleanup()


def _check_backup(path: Path) -> None:
    with path.open("rb") as handle:
        header = handle.read(len(_SQLITE_HEADER))
    if header != _SQLITE_HEADER:
        raise BackupError(
            f"{path.name} is not a SQLite database (it does not start with the SQLite header); "
            "upload a file made by this app's backup"
        )
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            _check_integrity(conn, "the backup")
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "interviews" not in tables:
                raise BackupError(
                    f"the backup holds no interviews table (tables: {', '.join(sorted(tables)) or 'none'}); "
                    "it is not a backup of this app's database"
                )
            columns = {row[1] for row in conn.execute("PRAGMA table_info(interviews)")}
            missing = {"id", "status", "answers", "questionnaire_id"} - columns
            if missing:
                raise BackupError(f"the backup's interviews table lacks the columns {', '.join(sorted(missing))}")
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise BackupError(f"the backup cannot be read as a SQLite database: {exc}") from exc


def _plan(backup_path: Path, target_path: Path) -> RestorePlan:
    try:
        conn = sqlite3.connect(f"file:{backup_path}?mode=ro", uri=True)
        try:
            backup_ids = {row[0] for row in conn.execute("SELECT id FROM interviews")}
        finally:
            conn.close()
        current: dict[str, str] = {}
        if target_path.is_file():
            conn = sqlite3.connect(target_path, timeout=_BUSY_TIMEOUT_MS / 1000)
            try:
                tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                if "interviews" in tables:
                    current = dict(conn.execute("SELECT id, status FROM interviews").fetchall())
            finally:
                conn.close()
    except sqlite3.Error as exc:
        raise BackupError(f"comparing the backup with the database failed: {exc}") from exc
    lost = [status for interview_id, status in current.items() if interview_id not in backup_ids]
    return RestorePlan(
        backup_interviews=len(backup_ids),
        current_interviews=len(current),
        lost_interviews=len(lost),
        lost_submitted=sum(status in _COMPLETED for status in lost),
    )


# Interviews that were submitted, whatever a reviewer decided since.
_COMPLETED = ("submitted", "approved", "rejected")


def _check_integrity(conn: sqlite3.Connection, what: str) -> None:
    result = conn.execute("PRAGMA integrity_check").fetchall()
    if result != [("ok",)]:
        problems = "; ".join(str(row[0]) for row in result[:3])
        raise BackupError(f"{what} is damaged (integrity check: {problems})")


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
