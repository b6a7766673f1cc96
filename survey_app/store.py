"""The response store: interviews and their answers, saved as they are entered.

One table, ``interviews``, holds one row per interview: its metadata, its status
(``draft`` -> ``submitted`` -> ``approved`` or ``rejected`` after review, or ``voided``),
the screen the interviewer is on and the answers as a JSON document. Every change is a
conditional ``UPDATE`` on a revision counter (optimistic concurrency), so concurrent
writers never silently overwrite each other, and nothing here is specific to one
database: the default is an embedded SQLite file under ``data/`` (WAL mode) and any
SQLAlchemy URL can be given instead, in the ``url`` argument or the ``SURVEY_DB_URL``
environment variable.

Analysis pages and reports read data only through :meth:`ResponseStore.responses_frame`.
The interviews that count are also kept in columns (table ``frame_snapshots``, see
:mod:`survey_app.answer_columns`), so that frame is read without parsing every answer
document again: only the interviews changed since are read.
"""
from __future__ import annotations

import json
import logging
import math
import os
import random
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Literal, get_args

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from survey_app.answer_columns import FORMAT as ANSWER_COLUMNS_FORMAT
from survey_app.answer_columns import AnswerColumns, flatten_answer
from survey_app.errors import SurveyAppError

if TYPE_CHECKING:
    from questionnaires import Questionnaire

__all__ = [
    "DEFAULT_DB_PATH",
    "METADATA_COLUMNS",
    "STATUSES",
    "ConcurrentUpdateError",
    "DatabaseError",
    "Interview",
    "InterviewClosedError",
    "InterviewNotFoundError",
    "InvalidArgumentError",
    "ResponseStore",
    "ReviewStatus",
    "Status",
    "StoreError",
    "StoreTables",
    "StoreTransaction",
    "UTCDateTime",
    "database_engine",
    "default_url",
    "display_url",
]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB_PATH = PROJECT_ROOT / "data" / "survey.db"
ENV_VAR = "SURVEY_DB_URL"

Status = Literal["draft", "submitted", "approved", "rejected", "voided"]
STATUSES: tuple[str, ...] = get_args(Status)
#: ``"submitted"`` selects the interviews that count in estimates: submitted ones, whether
#: awaiting review or approved; rejected and voided ones are left out.
FrameStatus = Literal["draft", "submitted", "approved", "rejected", "voided", "all"]
_COUNTED: tuple[str, ...] = ("submitted", "approved")
#: Statuses a reviewer may set with :meth:`ResponseStore.set_status`, and those it may change.
ReviewStatus = Literal["approved", "rejected", "voided"]
_REVIEWED_FROM: tuple[str, ...] = ("submitted", "approved", "rejected")

#: Columns of :meth:`ResponseStore.responses_frame` before the answer columns. The
#: interview's district is ``sample_district`` because every questionnaire also asks a
#: ``district`` question (the respondent's district), which keeps its own column.
METADATA_COLUMNS: tuple[str, ...] = (
    "interview_id",
    "questionnaire_id",
    "questionnaire_version",
    "wave",
    "interviewer",
    "sample_district",
    "psu",
    "status",
    "started_at",
    "submitted_at",
    "updated_at",
)

_TIME_COLUMNS: tuple[str, ...] = ("started_at", "submitted_at", "updated_at")
#: Table column of a ``responses_frame`` column, where the names differ.
_STORED_NAME = {"interview_id": "id", "sample_district": "district"}

_log = logging.getLogger(__name__)

# Optimistic updates retry this often, after a short random pause, when another writer
# changed the same interview between our read and our write.
_MAX_ATTEMPTS = 20


class StoreError(SurveyAppError):
    """Base class of the response store's errors."""


class InvalidArgumentError(StoreError, ValueError):
    """An argument has a value the store cannot accept."""


class InterviewNotFoundError(StoreError, LookupError):
    """No interview has the given id."""


class InterviewClosedError(StoreError):
    """The interview is submitted or voided, so the requested change would alter stored data."""


class ConcurrentUpdateError(StoreError):
    """Another writer kept changing the same interview; the change was not applied."""


class DatabaseError(StoreError):
    """The database could not be opened, read or written."""


class UTCDateTime(sa.TypeDecorator):
    """Timezone-aware UTC timestamps on every backend.

    PostgreSQL stores ``timestamptz``; backends without time zones (SQLite) store naive
    UTC, which is re-labelled as UTC on the way out.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise InvalidArgumentError(f"timestamp {value!r} has no time zone; pass an aware datetime")
        value = value.astimezone(timezone.utc)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


_metadata = sa.MetaData()
_interviews = sa.Table(
    "interviews",
    _metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("questionnaire_id", sa.String(100), nullable=False),
    sa.Column("questionnaire_version", sa.String(50), nullable=False),
    sa.Column("wave", sa.String(50), nullable=False),
    sa.Column("interviewer", sa.String(100), nullable=False),
    sa.Column("district", sa.String(100), nullable=False),
    sa.Column("psu", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("page", sa.Integer, nullable=False),
    # JSON as text: portable, and the exact document written is the one read back.
    sa.Column("answers", sa.Text, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("submitted_at", UTCDateTime, nullable=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("void_reason", sa.Text, nullable=True),
    sa.CheckConstraint(
        "status IN ('draft', 'submitted', 'approved', 'rejected', 'voided')", name="ck_interviews_status"
    ),
    sa.Index("ix_interviews_interviewer_status", "interviewer", "status"),
    sa.Index("ix_interviews_questionnaire_status", "questionnaire_id", "status"),
    # the results pages' checks: the last change, and the ids, revisions and order of the
    # interviews that count, read from these indexes alone
    sa.Index("ix_interviews_updated_at", "updated_at"),
    sa.Index("ix_interviews_status_started", "status", "started_at", "id", "revision"),
)

#: The interviews that count (status submitted or approved) in columns, as last read
#: (:mod:`survey_app.answer_columns`), with the number of interviews of any status and the sum of
#: their revisions at that moment.
_frame_snapshots = sa.Table(
    "frame_snapshots",
    _metadata,
    sa.Column("scope", sa.String(50), primary_key=True),
    sa.Column("format", sa.Integer, nullable=False),
    sa.Column("interviews", sa.BigInteger, nullable=False),
    sa.Column("revisions", sa.BigInteger, nullable=False),
    sa.Column("saved_at", UTCDateTime, nullable=False),
    sa.Column("columns", sa.LargeBinary, nullable=False),
)
_COUNTED_SCOPE = "submitted"
#: What responses_frame reads of each interview: the metadata in frame order, the revision
#: and the answers (times as the driver gives them: text on SQLite, parsed in one pass).
_COLUMN_SOURCES = [
    sa.type_coerce(_interviews.c[name], sa.String).label(name) if name in _TIME_COLUMNS
    else _interviews.c[_STORED_NAME.get(name, name)]
    for name in METADATA_COLUMNS
] + [_interviews.c.revision, _interviews.c.answers]
# When more than this share of the interviews is new or changed, all are read again at once.
_READ_ALL_FROM = 0.5
# Interviews read again by id at a time (below every database's limit of bound parameters).
_IDS_PER_QUERY = 500


@dataclass(frozen=True)
class Interview:
    """One interview as stored.

    Attributes
    ----------
    id : str
        The interview's UUID, given when it started.
    questionnaire_id, questionnaire_version : str
        The questionnaire the interview uses.
    wave : str
        Survey wave label, e.g. ``"2026"``.
    interviewer : str
        The interviewer's code.
    district : str
        The sampled district (code from ``load_districts()``).
    psu : str
        The primary sampling unit within the district.
    status : {"draft", "submitted", "approved", "rejected", "voided"}
    page : int
        Index of the questionnaire screen (group) the interviewer was last on.
    answers : Mapping[str, Any]
        Question name -> answer (read-only). ``select_one`` -> ``str``,
        ``select_multiple`` -> ``list[str]``, ``integer`` -> ``int``, ``decimal`` ->
        ``float``, ``text`` -> ``str``; unanswered questions are absent.
    started_at, submitted_at, updated_at : datetime
        Timezone-aware UTC times; ``submitted_at`` is None until submitted.
    void_reason : str or None
        Why the interview was voided or rejected.
    """

    id: str
    questionnaire_id: str
    questionnaire_version: str
    wave: str
    interviewer: str
    district: str
    psu: str
    status: Status
    page: int
    answers: Mapping[str, Any]
    started_at: datetime
    submitted_at: datetime | None
    updated_at: datetime
    void_reason: str | None

    def to_frame(self) -> pd.DataFrame:
        """One row: the metadata columns of ``responses_frame`` then the answers as stored."""
        row = {**_metadata_row(self), **{name: flatten_answer(value) for name, value in self.answers.items()}}
        return pd.DataFrame([row])

    def summary(self) -> str:
        """A short text description of the interview."""
        lines = [
            f"Interview {self.id} ({self.status})",
            f"  questionnaire {self.questionnaire_id} v{self.questionnaire_version}, wave {self.wave}",
            f"  interviewer {self.interviewer}, district {self.district}, PSU {self.psu}",
            f"  started {self.started_at.isoformat()}, updated {self.updated_at.isoformat()}",
        ]
        if self.submitted_at is not None:
            lines.append(f"  submitted {self.submitted_at.isoformat()}")
        if self.void_reason is not None:
            lines.append(f"  voided: {self.void_reason}")
        lines.append(f"  {len(self.answers)} answers, screen {self.page}")
        return "\n".join(lines)


def default_url() -> str:
    """The database URL used when none is given: ``SURVEY_DB_URL`` or ``data/survey.db``."""
    return os.environ.get(ENV_VAR) or f"sqlite:///{DEFAULT_DB_PATH}"


class ResponseStore:
    """Interviews saved answer by answer in a SQL database.

    Parameters
    ----------
    url : str, optional
        SQLAlchemy database URL. Default: the ``SURVEY_DB_URL`` environment variable,
        else the SQLite file ``data/survey.db`` under the project root (its directory is
        created on demand).
    questionnaires : Mapping[str, Questionnaire], optional
        Questionnaires by id, used by :meth:`responses_frame` for column order and
        types. Default: ``questionnaires.shipped_questionnaires()``, loaded when first needed.
    clock : callable, optional
        Returns the current time as an aware datetime (for tests). Default: UTC now.

    Examples
    --------
    >>> store = ResponseStore("sqlite:///:memory:")
    >>> iid = store.start_interview("consumer", "1", interviewer="A01", district="320602",
    ...                             psu="Village 3", wave="2026")
    >>> store.save_answer(iid, "consent", "yes")
    >>> store.submit(iid, {"consent": "yes"}).status
    'submitted'
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        questionnaires: Mapping[str, Questionnaire] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.url = url if url is not None else default_url()
        self._questionnaires = questionnaires
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._engine = database_engine(self.url)
        try:
            _metadata.create_all(self._engine)
            _allow_review_statuses(self._engine)
            with self._engine.begin() as conn:   # indexes added since the table was created
                for index in _interviews.indexes:
                    index.create(conn, checkfirst=True)
        except SQLAlchemyError as exc:
            raise DatabaseError(
                f"cannot open the response database {display_url(self.url)}: {exc.__class__.__name__}: "
                f"{exc.orig if hasattr(exc, 'orig') else exc}. Check SURVEY_DB_URL or the file permissions."
            ) from exc

    def __repr__(self) -> str:
        return f"ResponseStore({display_url(self.url)!r})"

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    # -- writing -------------------------------------------------------------------

    def start_interview(
        self,
        questionnaire_id: str,
        questionnaire_version: str | int,
        *,
        interviewer: str,
        district: str,
        psu: str,
        wave: str,
        answers: Mapping[str, Any] | None = None,
    ) -> str:
        """Create a draft interview and return its new UUID.

        ``answers`` pre-fills answers known at the start (e.g. the respondent's district).
        """
        values = {
            "questionnaire_id": _text_arg("questionnaire_id", questionnaire_id, 100),
            "questionnaire_version": _text_arg("questionnaire_version", str(questionnaire_version), 50),
            "interviewer": _text_arg("interviewer", interviewer, 100),
            "district": _text_arg("district", district, 100),
            "psu": _text_arg("psu", psu, 200),
            "wave": _text_arg("wave", wave, 50),
        }
        initial = _check_answers(answers or {})
        interview_id = str(uuid.uuid4())
        now = self._now()
        with self._write() as conn:
            conn.execute(
                _interviews.insert().values(
                    id=interview_id,
                    status="draft",
                    page=0,
                    answers=_dump(initial),
                    revision=0,
                    started_at=now,
                    submitted_at=None,
                    updated_at=now,
                    void_reason=None,
                    **values,
                )
            )
        return interview_id

    def save_answer(self, interview_id: str, question: str, value: Any) -> None:
        """Save one answer of a draft; ``None`` removes the answer (unanswered)."""
        self.save_answers(interview_id, {question: value})

    def save_answers(self, interview_id: str, answers: Mapping[str, Any]) -> None:
        """Save several answers of a draft at once (all or none); ``None`` removes one."""
        changes = _check_answers(answers, allow_none=True)

        def merge(current: dict[str, Any]) -> dict[str, Any]:
            merged = dict(current)
            for name, value in changes.items():
                if value is None:
                    merged.pop(name, None)
                else:
                    merged[name] = value
            return {"answers": _dump(merged)}

        self._update_draft(interview_id, merge)

    def set_page(self, interview_id: str, index: int) -> None:
        """Record the screen (group index) the interviewer is on."""
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise InvalidArgumentError(f"index must be a non-negative int, got {index!r}")
        self._update_draft(interview_id, lambda current: {"page": index})

    def submit(self, interview_id: str, answers: Mapping[str, Any]) -> Interview:
        """Submit a draft with its final (cleaned) answers; idempotent.

        Submitting an already submitted (or reviewed) interview with the same answers returns
        it unchanged; different answers, or a voided interview, raise
        :class:`InterviewClosedError` (stored data is never replaced silently).
        """
        final = _check_answers(answers)
        _check_id(interview_id)
        now = self._now()
        with self._write() as conn:
            result = conn.execute(
                _interviews.update()
                .where(_interviews.c.id == interview_id, _interviews.c.status == "draft")
                .values(
                    status="submitted",
                    answers=_dump(final),
                    submitted_at=now,
                    updated_at=now,
                    revision=_interviews.c.revision + 1,
                )
            )
        stored = self.get_interview(interview_id)
        if result.rowcount == 1:
            return stored
        if stored.status in _REVIEWED_FROM and dict(stored.answers) == final:
            return stored
        if stored.status in _REVIEWED_FROM:
            raise InterviewClosedError(
                f"interview {interview_id} was already submitted with different answers; "
                "the stored answers were kept. Start a new interview to record new answers."
            )
        raise InterviewClosedError(f"interview {interview_id} is voided ({stored.void_reason}) and cannot be submitted")

    def void(self, interview_id: str, reason: str) -> Interview:
        """Mark an interview (draft or submitted) as voided, keeping its answers.

        Voiding an already voided interview returns it unchanged.
        """
        reason = _text_arg("reason", reason, None)
        _check_id(interview_id)
        now = self._now()
        with self._write() as conn:
            conn.execute(
                _interviews.update()
                .where(_interviews.c.id == interview_id, _interviews.c.status != "voided")
                .values(
                    status="voided", void_reason=reason, updated_at=now, revision=_interviews.c.revision + 1
                )
            )
        return self.get_interview(interview_id)

    # -- reading -------------------------------------------------------------------

    def get_interview(self, interview_id: str) -> Interview:
        """The stored interview with this id."""
        _check_id(interview_id)
        with self._read() as conn:
            row = conn.execute(sa.select(_interviews).where(_interviews.c.id == interview_id)).one_or_none()
        if row is None:
            raise InterviewNotFoundError(
                f"no interview has id {interview_id!r}; it may belong to another database (SURVEY_DB_URL)"
            )
        return _interview(row)

    def drafts(self, interviewer: str, *, questionnaire_id: str | None = None) -> list[Interview]:
        """This interviewer's unfinished interviews, most recently changed first."""
        interviewer = _text_arg("interviewer", interviewer, 100)
        query = sa.select(_interviews).where(
            _interviews.c.interviewer == interviewer, _interviews.c.status == "draft"
        )
        if questionnaire_id is not None:
            query = query.where(_interviews.c.questionnaire_id == questionnaire_id)
        with self._read() as conn:
            rows = conn.execute(query.order_by(_interviews.c.updated_at.desc(), _interviews.c.id)).all()
        return [_interview(row) for row in rows]

    def latest_interview(self, interviewer: str) -> Interview | None:
        """This interviewer's most recently changed interview that is not voided; None if there is none."""
        interviewer = _text_arg("interviewer", interviewer, 100)
        query = (
            sa.select(_interviews)
            .where(_interviews.c.interviewer == interviewer, _interviews.c.status != "voided")
            .order_by(_interviews.c.updated_at.desc(), _interviews.c.id)
            .limit(1)
        )
        with self._read() as conn:
            row = conn.execute(query).one_or_none()
        return None if row is None else _interview(row)

    def interviews(
        self,
        *,
        questionnaire_id: str | None = None,
        status: FrameStatus = "submitted",
        wave: str | None = None,
    ) -> list[Interview]:
        """Stored interviews, ordered by start time then id.

        ``status="submitted"`` gives the submitted and the approved ones (those that count).
        """
        query = self._select([_interviews], questionnaire_id=questionnaire_id, status=status, wave=wave)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [_interview(row) for row in rows]

    def data_version(self) -> tuple[int, str]:
        """Number of stored interviews (any status) and the time of the last change.

        One aggregate query, cheap enough to run on every page view: a new interview, a
        saved answer, a submission or a review decision changes it, so it serves as the
        cache key of everything computed from the stored interviews.

        Returns
        -------
        tuple of (int, str)
            The count, and the latest ``updated_at`` as text (``"None"`` when empty).

        Examples
        --------
        >>> store = ResponseStore("sqlite:///:memory:")
        >>> store.data_version()
        (0, 'None')
        """
        # two scalar subqueries: each is answered from an index (one aggregate would scan the table)
        query = sa.select(sa.select(sa.func.count()).select_from(_interviews).scalar_subquery(),
                          sa.select(sa.func.max(_interviews.c.updated_at)).scalar_subquery())
        with self._read() as conn:
            count, last = conn.execute(query).one()
        return int(count), str(last)

    def responses_frame(
        self,
        questionnaire_id: str | None = None,
        status: FrameStatus = "submitted",
        *,
        wave: str | None = None,
    ) -> pd.DataFrame:
        """All interviews as one table: one row per interview.

        Parameters
        ----------
        questionnaire_id : str, optional
            Only this questionnaire's interviews. Its questions are columns even when
            nobody answered them (an empty frame still has every column).
        status : {"submitted", "draft", "approved", "rejected", "voided", "all"}
            Which interviews. ``"submitted"`` (the default) gives the interviews that count
            in estimates: submitted ones, whether awaiting review or approved; rejected and
            voided ones are left out.
        wave : str, optional
            Only this wave.

        Returns
        -------
        pandas.DataFrame
            :data:`METADATA_COLUMNS` (times as ``datetime64[ns, UTC]``), then one column
            per question in questionnaire order (``note`` questions have none), then any
            answered names the questionnaire does not define, sorted (an answer named like a
            metadata column is left out: the metadata stays). ``select_one`` and
            ``text`` -> str; ``select_multiple`` -> space-separated codes;
            ``integer`` and ``decimal`` -> float64 so numeric code works directly.
            Unanswered -> missing (None or NaN).

        Examples
        --------
        Like reading a data file and building ``survey::svydesign(ids = ~psu,
        strata = ~sample_district, data = df)`` in R.

        >>> df = store.responses_frame("consumer")                      # doctest: +SKIP
        """
        if questionnaire_id is None and status == "submitted" and wave is None:
            columns = self._counted_columns()
        else:
            with self._read() as conn:
                columns = _read_columns(conn, self._select(_COLUMN_SOURCES, questionnaire_id=questionnaire_id,
                                                           status=status, wave=wave))
        used_ids = {questionnaire_id} if questionnaire_id is not None else set(columns.metadata["questionnaire_id"].used())
        known = self._known_questionnaires()
        types: dict[str, str] = {}
        for qid in sorted(used_ids):
            if qid in known:
                for question in known[qid].questions:
                    if question.type != "note":
                        types.setdefault(question.name, question.type)
        return columns.to_frame(types)

    def _counted_columns(self) -> AnswerColumns:
        """The interviews that count, in columns: the kept columns when no interview has changed
        since they were saved, else those with the changed interviews read again.

        The number of interviews and the sum of their revisions grow with every insert and
        every change (nothing is deleted), so when both equal the kept ones' nothing changed;
        otherwise the ids and revisions say which interviews to read again.
        """
        with self._read() as conn:
            version = tuple(conn.execute(
                sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(_interviews.c.revision), 0))).one())
            kept = conn.execute(sa.select(_frame_snapshots).where(_frame_snapshots.c.scope == _COUNTED_SCOPE)
                                ).one_or_none()
            previous = _kept_columns(kept)
            if previous is not None and (kept.interviews, kept.revisions) == version:
                return previous
            rows = self._select(_COLUMN_SOURCES, questionnaire_id=None, status="submitted", wave=None)
            if previous is None:
                columns, changed = _read_columns(conn, rows), True
            else:
                keys = self._select([_interviews.c.id, _interviews.c.revision], questionnaire_id=None,
                                    status="submitted", wave=None)
                columns, changed = _update_columns(conn, previous, keys, rows)
        self._keep_columns(columns if changed else None, version)
        return columns

    def _keep_columns(self, columns: AnswerColumns | None, version: tuple[int, int]) -> None:
        """Save ``columns`` as read at ``version`` (None: the kept ones are still current).

        The kept columns only save time: when they cannot be written (a read-only database,
        another process saving at the same moment) the frame is still right, so the error is
        logged, not raised.
        """
        interviews, revisions = version
        try:
            with self._write() as conn:
                if columns is None:
                    conn.execute(_frame_snapshots.update().where(_frame_snapshots.c.scope == _COUNTED_SCOPE)
                                 .values(interviews=interviews, revisions=revisions))
                    return
                conn.execute(_frame_snapshots.delete().where(_frame_snapshots.c.scope == _COUNTED_SCOPE))
                conn.execute(_frame_snapshots.insert().values(
                    scope=_COUNTED_SCOPE, format=ANSWER_COLUMNS_FORMAT, interviews=interviews, revisions=revisions,
                    saved_at=self._now(), columns=columns.to_bytes()))
        except DatabaseError as exc:
            _log.warning("the interviews in columns were not kept: %s", exc)

    # -- internals -----------------------------------------------------------------

    @staticmethod
    def _select(
        columns: list[Any], *, questionnaire_id: str | None, status: FrameStatus, wave: str | None
    ) -> sa.Select:
        """``columns`` of the chosen interviews, ordered by start time then id."""
        if status not in get_args(FrameStatus):
            raise InvalidArgumentError(
                f"status must be one of {', '.join(map(repr, get_args(FrameStatus)))}, got {status!r}"
            )
        query = sa.select(*columns)
        if status == "submitted":
            query = query.where(_interviews.c.status.in_(_COUNTED))
        elif status != "all":
            query = query.where(_interviews.c.status == status)
        if questionnaire_id is not None:
            query = query.where(_interviews.c.questionnaire_id == questionnaire_id)
        if wave is not None:
            query = query.where(_interviews.c.wave == wave)
        return query.order_by(_interviews.c.started_at, _interviews.c.id)

    def _known_questionnaires(self) -> Mapping[str, Questionnaire]:
        if self._questionnaires is None:
            from questionnaires import shipped_questionnaires

            self._questionnaires = shipped_questionnaires()
        return self._questionnaires

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise InvalidArgumentError(f"clock returned {now!r} without a time zone; return an aware datetime")
        return now.astimezone(timezone.utc)

    def _update_draft(self, interview_id: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        """Apply ``change(answers) -> column values`` to a draft, retrying on concurrent writes."""
        _check_id(interview_id)
        for _ in range(_MAX_ATTEMPTS):
            with self._read() as conn:
                row = conn.execute(
                    sa.select(_interviews.c.status, _interviews.c.revision, _interviews.c.answers).where(
                        _interviews.c.id == interview_id
                    )
                ).one_or_none()
            if row is None:
                raise InterviewNotFoundError(f"no interview has id {interview_id!r}")
            if row.status != "draft":
                raise InterviewClosedError(
                    f"interview {interview_id} is {row.status}; its stored answers cannot be changed"
                )
            values = change(json.loads(row.answers))
            with self._write() as conn:
                result = conn.execute(
                    _interviews.update()
                    .where(
                        _interviews.c.id == interview_id,
                        _interviews.c.revision == row.revision,
                        _interviews.c.status == "draft",
                    )
                    .values(**values, revision=row.revision + 1, updated_at=self._now())
                )
            if result.rowcount == 1:
                return
            time.sleep(random.uniform(0, 0.005))
        raise ConcurrentUpdateError(
            f"interview {interview_id} was changed by another writer {_MAX_ATTEMPTS} times in a row; try again"
        )

    def _read(self) -> StoreTransaction:
        return StoreTransaction(self._engine, self.url, write=False)

    def _write(self) -> StoreTransaction:
        return StoreTransaction(self._engine, self.url, write=True)

    # -- bulk import (survey_app.importer) -------------------------------------------

    def import_interviews(self, records: Iterable[Any]) -> ImportResult:
        """Store checked interviews from a file as submitted, in one transaction, all or nothing.

        Parameters
        ----------
        records : iterable of survey_app.importer.InterviewRecord
            Objects with ``interview_id`` (a UUID), ``questionnaire_id``,
            ``questionnaire_version``, ``wave``, ``interviewer``, ``district``, ``psu``,
            ``started_at``, ``submitted_at`` (aware datetimes) and ``answers``.

        Returns
        -------
        ImportResult
            ``stored``: new interviews; ``skipped_existing``: ids already stored with
            the same questionnaire and answers, so importing a file again stores nothing new.

        Raises
        ------
        InterviewClosedError
            If an id is already stored with another questionnaire or other answers
            (stored data is never replaced silently); nothing is stored.
        InvalidArgumentError
            If a record is malformed or an id appears twice; nothing is stored.
        """
        rows: dict[str, dict[str, Any]] = {}
        now = self._now()
        for record in records:
            _check_id(record.interview_id)
            interview_id = str(uuid.UUID(record.interview_id))
            if interview_id in rows:
                raise InvalidArgumentError(f"interview id {interview_id} appears twice in the records; "
                                           "each interview must be imported once")
            for name in ("started_at", "submitted_at"):
                value = getattr(record, name)
                if not isinstance(value, datetime) or value.tzinfo is None:
                    raise InvalidArgumentError(f"{name} of interview {interview_id} is {value!r}; "
                                               "give an aware datetime")
            rows[interview_id] = {
                "id": interview_id,
                "questionnaire_id": _text_arg("questionnaire_id", record.questionnaire_id, 100),
                "questionnaire_version": _text_arg("questionnaire_version", str(record.questionnaire_version), 50),
                "interviewer": _text_arg("interviewer", record.interviewer, 100),
                "district": _text_arg("district", record.district, 100),
                "psu": _text_arg("psu", record.psu, 200),
                "wave": _text_arg("wave", record.wave, 50),
                "status": "submitted",
                "page": 0,
                "answers": _dump(_check_answers(record.answers)),
                "revision": 0,
                "started_at": record.started_at,
                "submitted_at": record.submitted_at,
                "updated_at": now,
                "void_reason": None,
            }
        ids = list(rows)
        with self._write() as conn:
            existing: dict[str, sa.Row] = {}
            # chunks keep the IN list under SQLite's limit on bound parameters
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                query = sa.select(_interviews.c.id, _interviews.c.questionnaire_id, _interviews.c.answers).where(
                    _interviews.c.id.in_(chunk))
                existing.update({row.id: row for row in conn.execute(query)})
            conflicts = [
                interview_id for interview_id, row in existing.items()
                if row.questionnaire_id != rows[interview_id]["questionnaire_id"]
                or json.loads(row.answers) != json.loads(rows[interview_id]["answers"])
            ]
            if conflicts:
                raise InterviewClosedError(
                    f"{len(conflicts)} interview(s) are already stored with other answers (e.g. {conflicts[0]}); "
                    "nothing was imported. Stored data is not replaced: void the stored interviews first "
                    "if the file is the correct version.")
            new = [row for interview_id, row in rows.items() if interview_id not in existing]
            if new:
                conn.execute(_interviews.insert(), new)
        if new:
            # keep the new interviews in columns now, while the importer waits anyway, so the
            # first results view after a large import need not read their documents
            try:
                self._counted_columns()
            except DatabaseError as exc:   # the import is stored; the columns only save time
                _log.warning("the imported interviews were not kept in columns: %s", exc)
        return ImportResult(stored=len(new), skipped_existing=len(existing))

    def delete_interviews_of(self, interviewer_prefix: str) -> int:
        """Delete every interview (any status) whose interviewer code starts with the prefix.

        Only for synthetic data that must leave the database for good (the demonstration data
        set of earlier versions, :func:`survey_app.demo.remove_demo`); a real interview is voided,
        never deleted. The interviews kept in columns are dropped in the same transaction, because
        they assume that nothing is ever deleted. Returns how many were deleted.
        """
        prefix = _text_arg("interviewer_prefix", interviewer_prefix, 100)
        if not prefix.strip():
            raise InvalidArgumentError("interviewer_prefix is empty, which would delete every interview; "
                                       "give the prefix of the synthetic interviewers' codes")
        # substr, not LIKE: '_' and '%' in a prefix are plain characters
        chosen = sa.func.substr(_interviews.c.interviewer, 1, len(prefix)) == prefix
        with self._write() as conn:
            deleted = conn.execute(_interviews.delete().where(chosen)).rowcount
            if deleted:
                conn.execute(_frame_snapshots.delete())
        return int(deleted)

    # -- review (survey_app.review) ------------------------------------------------------

    def set_status(
        self, interview_id: str, status: ReviewStatus, *, reason: str | None, expected: Status
    ) -> Interview:
        """Record a reviewer's decision on a submitted interview; the answers stay as they are.

        Parameters
        ----------
        interview_id : str
        status : {"approved", "rejected", "voided"}
            Approved interviews count in estimates like submitted ones; rejected and voided
            ones do not.
        reason : str or None
            Why: required to reject or void (kept in ``void_reason``), None to approve.
        expected : {"submitted", "approved", "rejected"}
            The status the reviewer saw. If the interview has another one now, nothing is
            changed (someone else decided meanwhile).

        Returns
        -------
        Interview
            The interview as stored afterwards.

        Raises
        ------
        ConcurrentUpdateError
            The interview's status is no longer ``expected``.

        Notes
        -----
        Who decided and why goes to the audit log: :func:`survey_app.review.review_interview`
        writes it and calls this method.
        """
        if status not in get_args(ReviewStatus):
            raise InvalidArgumentError(
                f"status must be one of {', '.join(map(repr, get_args(ReviewStatus)))}, got {status!r}"
            )
        if expected not in _REVIEWED_FROM:
            raise InvalidArgumentError(
                f"expected must be one of {', '.join(map(repr, _REVIEWED_FROM))} (only submitted interviews are "
                f"reviewed), got {expected!r}"
            )
        if status == "approved":
            if reason is not None:
                raise InvalidArgumentError(f"an approval has no reason, got reason={reason!r}; pass None")
        else:
            reason = _text_arg("reason", reason, None)
        _check_id(interview_id)
        with self._write() as conn:
            result = conn.execute(
                _interviews.update()
                .where(_interviews.c.id == interview_id, _interviews.c.status == expected)
                .values(status=status, void_reason=reason, updated_at=self._now(),
                        revision=_interviews.c.revision + 1)
            )
        stored = self.get_interview(interview_id)
        if result.rowcount != 1:
            raise ConcurrentUpdateError(
                f"interview {interview_id} is {stored.status} now, not {expected}: it changed since it was "
                "shown. Reload it and decide again"
            )
        return stored


def _allow_review_statuses(engine: Engine) -> None:
    """Widen the status check of a database created before interviews were reviewed."""
    statuses = ", ".join(f"'{status}'" for status in STATUSES)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            table = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'interviews'"
            ).scalar()
            outdated = table is not None and "'approved'" not in table
        elif engine.dialect.name == "postgresql":
            check = conn.execute(sa.text(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'ck_interviews_status'"
            )).scalar()
            outdated = check is not None and "approved" not in check
        else:
            outdated = False
    if not outdated:
        return
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE interviews DROP CONSTRAINT IF EXISTS ck_interviews_status"))
            conn.execute(sa.text(f"ALTER TABLE interviews ADD CONSTRAINT ck_interviews_status "
                                 f"CHECK (status IN ({statuses}))"))
        return
    # SQLite cannot alter a check: the rows move to a table of the current schema, in one
    # transaction (pysqlite would commit DDL statement by statement, hence one script).
    dialect = engine.dialect
    columns = ", ".join(column.name for column in _interviews.columns)
    script = [
        "BEGIN IMMEDIATE",
        "ALTER TABLE interviews RENAME TO interviews_before_review",
        *(f"DROP INDEX IF EXISTS {index.name}" for index in _interviews.indexes),
        str(sa.schema.CreateTable(_interviews).compile(dialect=dialect)).strip(),
        *(str(sa.schema.CreateIndex(index).compile(dialect=dialect)) for index in _interviews.indexes),
        f"INSERT INTO interviews ({columns}) SELECT {columns} FROM interviews_before_review",
        "DROP TABLE interviews_before_review",
        "COMMIT",
    ]
    raw = engine.raw_connection()
    try:
        raw.driver_connection.executescript(";\n".join(script) + ";")
    except dialect.dbapi.Error as exc:  # the pool's rollback on close undoes the partial script
        raise DatabaseError(f"cannot upgrade the interviews table of {display_url(str(engine.url))} to "
                            f"the review statuses: {exc}; restore a backup or ask the administrator") from exc
    finally:
        raw.close()


class StoreTables:
    """Base of the stores that keep tables of their own in the response database (population
    margins, field assignments): the tables are created on first use, and every transaction
    turns driver errors into :class:`DatabaseError` naming ``_what``.

    A subclass sets ``_metadata`` (its tables) and ``_what`` (e.g. "the population margins
    table in").
    """

    _metadata: ClassVar[sa.MetaData]
    _what: ClassVar[str]

    def __init__(self, url: str | None = None) -> None:
        self.url = url if url is not None else default_url()
        self._engine = database_engine(self.url)
        with self._transaction(write=True) as conn:
            self._metadata.create_all(conn)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({display_url(self.url)!r})"

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    def _transaction(self, *, write: bool) -> StoreTransaction:
        return StoreTransaction(self._engine, self.url, write=write, what=self._what)


class StoreTransaction:
    """A connection context that turns driver errors into :class:`DatabaseError`.

    ``write=True`` opens a transaction committed on leaving the context (rolled back on an
    exception); ``write=False`` a plain connection.

    ``what`` names the part of the database in the message (other tables that live in the
    store's database, such as the population margins, use this class too).
    """

    def __init__(self, engine: Engine, url: str, *, write: bool, what: str = "the response database") -> None:
        self._engine, self._url, self._write, self._what = engine, url, write, what

    def __enter__(self) -> sa.Connection:
        try:
            self._context = self._engine.begin() if self._write else self._engine.connect()
            return self._context.__enter__()
        except SQLAlchemyError as exc:
            raise _database_error(exc, self._url, self._what) from exc

    def __exit__(self, exc_type, exc, tb) -> bool:
        try:
            self._context.__exit__(exc_type, exc, tb)
        except SQLAlchemyError as error:
            raise _database_error(error, self._url, self._what) from error
        if isinstance(exc, SQLAlchemyError):
            raise _database_error(exc, self._url, self._what) from exc
        return False


def _database_error(exc: SQLAlchemyError, url: str, what: str = "the response database") -> DatabaseError:
    detail = getattr(exc, "orig", None) or exc
    return DatabaseError(f"{what} {display_url(url)} failed: {detail}")


def database_engine(url: str) -> Engine:
    """A SQLAlchemy engine for ``url``, set up the way every table of the store's database needs.

    SQLite: the file's directory is created, WAL mode and a 10 s busy timeout are set on each
    connection. Other backends: connections are checked before use (``pool_pre_ping``).

    Parameters
    ----------
    url : str
        SQLAlchemy database URL, e.g. ``"sqlite:///data/survey.db"``.

    Raises
    ------
    InvalidArgumentError
        ``url`` is not a database URL or names a driver that is not installed.
    DatabaseError
        The SQLite file's directory cannot be created.

    Examples
    --------
    >>> engine = database_engine("sqlite:///:memory:")
    >>> engine.dialect.name
    'sqlite'
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InvalidArgumentError(
            f"url {url!r} is not a SQLAlchemy database URL; use e.g. 'sqlite:///path/to/survey.db' "
            "or 'postgresql+psycopg://user@host/db'"
        ) from exc
    if parsed.get_backend_name() != "sqlite":
        try:
            return sa.create_engine(parsed, pool_pre_ping=True)
        except (ArgumentError, ImportError) as exc:
            raise InvalidArgumentError(f"cannot use database URL {display_url(url)}: {exc}") from exc
    if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
        directory = Path(parsed.database).parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(f"cannot create the database directory {directory}: {exc}") from exc
    engine = sa.create_engine(parsed)

    @sa.event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL lets the app read while another session writes; the timeout waits for the writer.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    return engine


def display_url(url: str) -> str:
    """``url`` with its password masked, for messages and page captions.

    Examples
    --------
    >>> display_url("postgresql+psycopg://survey:secret@db/survey")
    'postgresql+psycopg://survey:***@db/survey'
    """
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid URL>"


def _check_id(interview_id: str) -> None:
    if not isinstance(interview_id, str):
        raise InvalidArgumentError(f"interview_id must be a UUID string, got {interview_id!r}")
    try:
        uuid.UUID(interview_id)
    except ValueError:
        raise InvalidArgumentError(
            f"interview_id {interview_id!r} is not a UUID; use the id start_interview returned"
        ) from None


def _text_arg(name: str, value: Any, max_length: int | None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError(f"{name} must be a non-empty string, got {value!r}")
    value = _unicode(name, value.strip())
    if "\x00" in value:
        # SQLite would keep it, PostgreSQL refuses it: refuse it everywhere.
        raise InvalidArgumentError(f"{name} {value[:20]!r} contains a NUL character (\\x00); remove it")
    if max_length is not None and len(value) > max_length:
        raise InvalidArgumentError(f"{name} {value[:20]!r}... is {len(value)} characters; at most {max_length} fit")
    return value


def _unicode(name: str, value: str) -> str:
    """``value`` if it can be stored as UTF-8 (a lone surrogate cannot, in any database)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgumentError(
            f"{name} {value[:20]!r} is not valid Unicode text (it contains a lone surrogate); enter it again"
        ) from None
    return value


def _check_answers(answers: Mapping[str, Any], *, allow_none: bool = False) -> dict[str, Any]:
    """Validate answer values and return them as plain JSON-ready Python values."""
    if not isinstance(answers, Mapping):
        raise InvalidArgumentError(f"answers must be a mapping of question name to value, got {answers!r}")
    checked: dict[str, Any] = {}
    for name, value in answers.items():
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(f"question names must be non-empty strings, got {name!r}")
        checked[_unicode("question name", name)] = _check_value(name, value, allow_none=allow_none)
    return checked


def _check_value(name: str, value: Any, *, allow_none: bool) -> Any:
    if value is None and allow_none:
        return None
    if isinstance(value, str):
        return _unicode(f"answer to {name!r}", value)
    if isinstance(value, bool):
        pass  # bool is an int subclass but no question type answers with it
    elif isinstance(value, int):
        return value
    elif isinstance(value, float):
        if math.isfinite(value):
            return value
    elif isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return [_unicode(f"answer to {name!r}", item) for item in value]
    elif hasattr(value, "item") and not isinstance(value, Iterable):
        # numpy scalars (from number widgets or pandas) -> Python numbers
        return _check_value(name, value.item(), allow_none=allow_none)
    raise InvalidArgumentError(
        f"answer to {name!r} is {value!r} ({type(value).__name__}); answers are str, int, finite float "
        "or a list of str codes" + (", or None to remove one" if allow_none else "")
    )


def _read_columns(conn: sa.Connection, query: sa.Select) -> AnswerColumns:
    """The interviews of ``query`` (selecting :data:`_COLUMN_SOURCES`) in columns."""
    rows = conn.execute(query).all()
    read = dict(zip([*METADATA_COLUMNS, "revision", "answers"], zip(*rows))) if rows else {}
    return AnswerColumns.from_rows({name: read.get(name, ()) for name in METADATA_COLUMNS},
                                   read.get("revision", ()), read.get("answers", ()))


def _kept_columns(row: sa.Row | None) -> AnswerColumns | None:
    """The kept columns of a ``frame_snapshots`` row; None when there are none of this format."""
    if row is None or row.format != ANSWER_COLUMNS_FORMAT:
        return None
    try:
        return AnswerColumns.from_bytes(row.columns)
    except ValueError as exc:   # damaged: read the interviews again
        _log.warning("the kept interview columns cannot be read (%s); reading the interviews again", exc)
        return None


def _update_columns(conn: sa.Connection, previous: AnswerColumns, keys: sa.Select,
                    rows: sa.Select) -> tuple[AnswerColumns, bool]:
    """``previous`` brought up to date: the interviews of ``keys`` (ids and revisions, in frame
    order), those whose revision is new read with ``rows``; and whether anything changed."""
    current = conn.execute(keys).all()
    ids = np.array([key[0] for key in current], dtype=object)
    revisions = np.array([key[1] for key in current], dtype=np.int64)
    at = pd.Index(previous.text("interview_id")).get_indexer(ids)   # -1: not kept
    same = at >= 0
    same[same] = previous.revision[at[same]] == revisions[same]
    stale = ids[~same].tolist()
    if len(stale) > _READ_ALL_FROM * len(ids):   # mostly new: one pass over all is quicker
        return _read_columns(conn, rows), True
    columns = previous.take(at[same])
    for start in range(0, len(stale), _IDS_PER_QUERY):
        columns = columns.concat(_read_columns(conn, rows.where(_interviews.c.id.in_(stale[start:start + _IDS_PER_QUERY]))))
    # frame order is the keys' order; an interview no longer counted by now is left out
    read_again = pd.Index(ids).get_indexer(columns.text("interview_id")[int(same.sum()):])
    order = np.concatenate([np.flatnonzero(same), read_again])
    return columns.take(np.argsort(order, kind="stable")), bool(stale) or int(same.sum()) != len(previous)


def _dump(answers: Mapping[str, Any]) -> str:
    return json.dumps(answers, ensure_ascii=False, sort_keys=True, allow_nan=False)


def _interview(row: sa.Row) -> Interview:
    return Interview(
        id=row.id,
        questionnaire_id=row.questionnaire_id,
        questionnaire_version=row.questionnaire_version,
        wave=row.wave,
        interviewer=row.interviewer,
        district=row.district,
        psu=row.psu,
        status=row.status,
        page=row.page,
        answers=MappingProxyType(json.loads(row.answers)),
        started_at=row.started_at,
        submitted_at=row.submitted_at,
        updated_at=row.updated_at,
        void_reason=row.void_reason,
    )


def _metadata_row(interview: Interview) -> dict[str, Any]:
    return {
        "interview_id": interview.id,
        "questionnaire_id": interview.questionnaire_id,
        "questionnaire_version": interview.questionnaire_version,
        "wave": interview.wave,
        "interviewer": interview.interviewer,
        "sample_district": interview.district,
        "psu": interview.psu,
        "status": interview.status,
        "started_at": interview.started_at,
        "submitted_at": interview.submitted_at,
        "updated_at": interview.updated_at,
    }


@dataclass(frozen=True)
class ImportResult:
    """What :meth:`ResponseStore.import_interviews` did: new interviews stored, known ids skipped."""

    stored: int
    skipped_existing: int

    def to_frame(self) -> pd.DataFrame:
        """One row: stored, skipped_existing."""
        return pd.DataFrame([{"stored": self.stored, "skipped_existing": self.skipped_existing}])

    def summary(self) -> str:
        """One line of text."""
        return f"{self.stored} interview(s) stored, {self.skipped_existing} already stored and skipped"
