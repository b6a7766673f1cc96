"""Supervising the fieldwork: uploaded questionnaire versions, quality control and the review workflow.

Questionnaire versions
    An administrator uploads an XLSForm (:meth:`QuestionnaireLibrary.upload`); the workbook is
    checked (:func:`questionnaires.xlsform.read_xlsform`, pyxform included) and stored in the
    response database, table ``questionnaire_versions``, with its version, the upload time and
    who uploaded it. :func:`available_questionnaires` is what the interviewing page offers: the
    shipped questionnaires, with the latest uploaded version of each id replacing or joining them.
    A version is never changed once stored: a workbook with other content needs a new version.

Quality control
    :func:`quality_setup` derives the inputs of :func:`analysis.quality.flag_interviews` from a
    questionnaire (grids of rating questions, answer columns, the target questions whose
    distributions are compared per interviewer); :func:`check_quality` runs the checks. Flags
    and anomaly scores only point a supervisor at interviews; nothing is rejected automatically.

Review workflow
    :func:`review_interview` approves, rejects or voids a submitted interview (administrators,
    the ``review`` permission). Rejecting and voiding need a reason (:data:`REASONS`). Every
    decision is written to the audit log (:meth:`survey_app.auth.Accounts.record`) *before*
    the status changes, so the log never misses a change; a change that then fails is logged
    as ``review_failed``. Estimates read ``ResponseStore.responses_frame(status="submitted")``,
    which holds submitted and approved interviews: rejected and voided ones are left out.
    :func:`excluded_interviews` counts what was left out and why, for the report's methods sheet.
"""
from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal, get_args

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

import questionnaires
from questionnaires import Questionnaire
from survey_app.errors import SurveyAppError
from survey_app.i18n import register
from survey_app.store import UTCDateTime, database_engine, display_url

# The interviewing page imports this module for the questionnaire list: the statistics
# (scikit-learn) and the XLSForm reader (pyxform) are imported where they are used.
if TYPE_CHECKING:
    from analysis.quality import InterviewerReview, InterviewFlags
    from survey_app.auth import Accounts, User
    from survey_app.store import Interview, ResponseStore

__all__ = [
    "DECISIONS",
    "REASONS",
    "Decision",
    "Exclusions",
    "QualityCheck",
    "QualitySetup",
    "QuestionnaireLibrary",
    "Reason",
    "ReviewError",
    "StoredQuestionnaire",
    "VersionConflictError",
    "available_questionnaires",
    "check_quality",
    "excluded_interviews",
    "questionnaire_library",
    "quality_setup",
    "reason_code",
    "review_interview",
]

Decision = Literal["approve", "reject", "void"]
DECISIONS: tuple[str, ...] = get_args(Decision)
#: Why an interview is rejected or voided; the quality-control flags come first.
Reason = Literal[
    "too_fast", "straightlining", "item_nonresponse", "near_duplicate", "outside_psu",
    "not_confirmed", "ineligible", "other",
]
REASONS: tuple[str, ...] = get_args(Reason)
_NEW_STATUS = {"approve": "approved", "reject": "rejected", "void": "voided"}
#: Statuses a supervisor may decide on (drafts are unfinished, voided interviews are final).
REVIEWABLE: tuple[str, ...] = ("submitted", "approved", "rejected")
MAX_COMMENT = 1000

register(
    "review_reasons",
    {
        "too_fast": {"zh": "用时过短", "en": "Too fast"},
        "straightlining": {"zh": "直线作答", "en": "Straight-lining"},
        "item_nonresponse": {"zh": "漏答过多", "en": "Too many unanswered questions"},
        "near_duplicate": {"zh": "与其他访问雷同", "en": "Near-duplicate of another interview"},
        "outside_psu": {"zh": "不在指派的抽样单元", "en": "Outside the assigned sampling unit"},
        "not_confirmed": {"zh": "回访未能核实", "en": "Not confirmed by a call-back"},
        "ineligible": {"zh": "受访者不符合条件", "en": "Respondent not eligible"},
        "other": {"zh": "其他", "en": "Other"},
    },
)


class ReviewError(SurveyAppError):
    """Base class of the errors of the review workflow and the questionnaire library."""


class InvalidReviewError(ReviewError, ValueError):
    """A decision, reason, comment or upload that cannot be accepted."""


class VersionConflictError(ReviewError):
    """A questionnaire version is already stored (or shipped) with other content."""


# -- questionnaire versions ------------------------------------------------------------------

_metadata = sa.MetaData()
_versions = sa.Table(
    "questionnaire_versions",
    _metadata,
    sa.Column("questionnaire_id", sa.String(100), primary_key=True),
    sa.Column("version", sa.String(50), primary_key=True),
    sa.Column("title_zh", sa.Text, nullable=False),
    sa.Column("title_en", sa.Text, nullable=True),
    # The workbook as uploaded, so the exact file can be downloaded again.
    sa.Column("xlsform", sa.LargeBinary, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("file_name", sa.String(255), nullable=False),
    sa.Column("uploaded_at", UTCDateTime, nullable=False),
    sa.Column("uploaded_by", sa.String(120), nullable=False),
)
VERSION_COLUMNS: tuple[str, ...] = (
    "questionnaire_id", "version", "title_zh", "title_en", "source", "current", "uploaded_at", "uploaded_by",
    "file_name", "sha256",
)


@dataclass(frozen=True)
class StoredQuestionnaire:
    """What :meth:`QuestionnaireLibrary.upload` did.

    Attributes
    ----------
    questionnaire : Questionnaire
        The questionnaire read from the workbook.
    uploaded_at : datetime
        When this version was stored (UTC); for an unchanged re-upload, the first upload.
    uploaded_by : str
        Who stored it.
    new : bool
        False when the same version with the same content was already stored (nothing changed).
    replaces : str or None
        The version that was current for this id before (``"1.0 (shipped)"`` for a shipped one).
    """

    questionnaire: Questionnaire
    uploaded_at: datetime
    uploaded_by: str
    new: bool
    replaces: str | None

    def to_frame(self) -> pd.DataFrame:
        """One row: questionnaire_id, version, uploaded_at, uploaded_by, new, replaces."""
        return pd.DataFrame([{
            "questionnaire_id": self.questionnaire.id, "version": self.questionnaire.version,
            "uploaded_at": self.uploaded_at, "uploaded_by": self.uploaded_by, "new": self.new,
            "replaces": self.replaces,
        }])

    def summary(self) -> str:
        """One line of text."""
        form = self.questionnaire
        what = "stored" if self.new else "already stored, nothing changed"
        line = (f"questionnaire {form.id} version {form.version} ({len(form.groups)} screens, "
                f"{len(form.questions)} questions): {what}; uploaded {self.uploaded_at:%Y-%m-%d %H:%M} UTC "
                f"by {self.uploaded_by}")
        return line + (f"; replaces version {self.replaces}" if self.replaces else "")


class QuestionnaireLibrary:
    """The questionnaire versions uploaded as XLSForms, in the response database.

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL; default as for :class:`~survey_app.store.ResponseStore`.
    shipped : Mapping[str, Questionnaire], optional
        The questionnaires that come with the app; default
        :func:`questionnaires.shipped_questionnaires` (read at each use).
    clock : callable, optional
        Returns the current aware time (for tests).

    Examples
    --------
    >>> library = QuestionnaireLibrary("sqlite:///survey.db")                # doctest: +SKIP
    >>> library.upload(workbook_bytes, user=admin, accounts=accounts).summary()  # doctest: +SKIP
    >>> sorted(library.current())                                              # doctest: +SKIP
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        shipped: Mapping[str, Questionnaire] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        from survey_app.store import default_url

        self.url = url if url is not None else default_url()
        self._shipped = dict(shipped) if shipped is not None else None
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._engine = database_engine(self.url)
        self._parsed: dict[str, Questionnaire] = {}
        self._lock = threading.Lock()
        try:
            _metadata.create_all(self._engine)
        except SQLAlchemyError as exc:
            raise ReviewError(f"cannot open the questionnaire versions in {display_url(self.url)}: {_detail(exc)}; "
                              "check SURVEY_DB_URL") from exc

    def __repr__(self) -> str:
        return f"QuestionnaireLibrary({display_url(self.url)!r})"

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    @property
    def shipped(self) -> dict[str, Questionnaire]:
        """The questionnaires that come with the app, by id."""
        if self._shipped is None:
            return questionnaires.shipped_questionnaires()  # cached by the loader
        return dict(self._shipped)

    def upload(self, data: bytes, *, user: User, accounts: Accounts,
               file_name: str = "upload.xlsx") -> StoredQuestionnaire:
        """Check an XLSForm workbook and store it as a new questionnaire version.

        Parameters
        ----------
        data : bytes
            The .xlsx workbook.
        user : survey_app.auth.User
            Who uploads; needs the ``questionnaires`` permission (administrators).
        accounts : survey_app.auth.Accounts
            Where the upload is written to the audit log.
        file_name : str
            The uploaded file's name, kept with the version.

        Returns
        -------
        StoredQuestionnaire

        Raises
        ------
        questionnaires.xlsform.XLSFormError
            The workbook is not a valid XLSForm; the message names sheet, row and column.
        VersionConflictError
            This id and version are already stored or shipped with other content.
        survey_app.auth.PermissionDeniedError
            The user may not manage questionnaires.
        """
        from survey_app.auth import authorize

        authorize(user, "questionnaires")
        authorize(accounts.get_user(user.username), "questionnaires")
        if not isinstance(data, (bytes, bytearray)):
            raise InvalidReviewError(f"data must be the workbook's bytes, got {type(data).__name__}")
        if not isinstance(file_name, str) or not file_name.strip():
            raise InvalidReviewError(f"file_name must be a non-empty string, got {file_name!r}")
        from questionnaires.xlsform import read_xlsform

        data = bytes(data)
        form = read_xlsform(data)
        file_name = file_name.strip()[-255:]
        digest = hashlib.sha256(data).hexdigest()
        shipped = self.shipped.get(form.id)
        if shipped is not None and shipped.version == form.version:
            if shipped == form:
                raise VersionConflictError(
                    f"questionnaire {form.id} version {form.version} is the shipped one, unchanged; nothing to "
                    "store. To change it, edit the workbook and raise the version in the settings sheet")
            raise VersionConflictError(
                f"questionnaire {form.id} version {form.version} is shipped with the app with other content; "
                "raise the version in the settings sheet (e.g. to "
                f"{_next_version(form.version)}) and upload again")
        existing = self._row(form.id, form.version)
        if existing is not None:
            return self._unchanged(existing, form)
        before = self.current_versions().get(form.id)
        replaces = None if before is None else before[0] + (" (shipped)" if before[1] == "shipped" else "")
        target = f"{form.id} v{form.version}"
        detail = {"file": file_name, "sha256": digest, "screens": len(form.groups),
                  "questions": len(form.questions), "replaces": replaces}
        accounts.record(user.username, "upload_questionnaire", target, detail)
        now = self._now()
        try:
            with self._engine.begin() as conn:
                conn.execute(_versions.insert().values(
                    questionnaire_id=form.id, version=form.version, title_zh=form.title.zh,
                    title_en=form.title.get("en"), xlsform=data, sha256=digest, file_name=file_name,
                    uploaded_at=now, uploaded_by=user.username))
        except IntegrityError:
            # the same version stored at the same moment by another administrator
            existing = self._row(form.id, form.version)
            if existing is None:
                raise
            accounts.record(user.username, "upload_questionnaire_failed", target,
                            {"why": "stored meanwhile by " + existing.uploaded_by})
            return self._unchanged(existing, form)
        except SQLAlchemyError as exc:
            accounts.record(user.username, "upload_questionnaire_failed", target, {"why": _detail(exc)})
            raise ReviewError(f"the questionnaire could not be stored in {display_url(self.url)}: "
                              f"{_detail(exc)}") from exc
        with self._lock:
            self._parsed[digest] = form
        return StoredQuestionnaire(questionnaire=form, uploaded_at=now, uploaded_by=user.username, new=True,
                                   replaces=replaces)

    def versions(self) -> pd.DataFrame:
        """Every questionnaire version, shipped and uploaded (:data:`VERSION_COLUMNS`).

        ``source`` is ``"shipped"`` or ``"uploaded"``; ``current`` marks the version the
        interviewing page offers for each id. Sorted by id, then upload time.
        """
        rows = [
            {"questionnaire_id": form.id, "version": form.version, "title_zh": form.title.zh,
             "title_en": form.title.get("en"), "source": "shipped", "uploaded_at": pd.NaT, "uploaded_by": None,
             "file_name": None, "sha256": None}
            for form in self.shipped.values()
        ]
        with self._connect() as conn:
            stored = conn.execute(
                sa.select(*(c for c in _versions.c if c.name != "xlsform")).order_by(_versions.c.uploaded_at)
            ).all()
        rows += [{**row._asdict(), "source": "uploaded"} for row in stored]
        frame = pd.DataFrame(rows, columns=[c for c in VERSION_COLUMNS if c != "current"])
        frame["uploaded_at"] = pd.to_datetime(frame["uploaded_at"], utc=True)
        current = self.current_versions()
        frame.insert(5, "current", [current.get(qid, (None, None)) == (version, source)
                                    for qid, version, source in zip(frame["questionnaire_id"], frame["version"],
                                                                    frame["source"])])
        # shipped versions (no upload time) first
        frame = frame.sort_values(["questionnaire_id", "uploaded_at"], na_position="first", kind="stable")
        return frame.reset_index(drop=True)

    def current_versions(self) -> dict[str, tuple[str, str]]:
        """id -> (version, "shipped" or "uploaded") of the version offered for interviews."""
        current = {qid: (form.version, "shipped") for qid, form in self.shipped.items()}
        with self._connect() as conn:
            for row in conn.execute(sa.select(_versions.c.questionnaire_id, _versions.c.version)
                                    .order_by(_versions.c.uploaded_at, _versions.c.version)):
                current[row.questionnaire_id] = (row.version, "uploaded")
        return current

    def current(self) -> dict[str, Questionnaire]:
        """The questionnaires offered for interviews: shipped ones, replaced or joined by the latest uploads."""
        forms = self.shipped
        for qid, (version, source) in self.current_versions().items():
            if source == "uploaded":
                forms[qid] = self.questionnaire(qid, version)
        return forms

    def questionnaire(self, questionnaire_id: str, version: str) -> Questionnaire:
        """One version (shipped or uploaded) of a questionnaire.

        Raises
        ------
        InvalidReviewError
            No such version; the message lists the known ones.
        """
        shipped = self.shipped.get(questionnaire_id)
        if shipped is not None and shipped.version == str(version):
            return shipped
        with self._connect() as conn:
            row = conn.execute(sa.select(_versions.c.sha256).where(
                _versions.c.questionnaire_id == questionnaire_id, _versions.c.version == str(version))).one_or_none()
        if row is None:
            known = self.versions()
            known = known[known["questionnaire_id"] == questionnaire_id]["version"].tolist()
            raise InvalidReviewError(
                f"questionnaire {questionnaire_id!r} has no version {version!r}; "
                + (f"known versions: {', '.join(known)}" if known else "no such questionnaire is known"))
        with self._lock:
            form = self._parsed.get(row.sha256)
        if form is None:
            from questionnaires.xlsform import read_xlsform

            form = read_xlsform(self.workbook(questionnaire_id, str(version)))
            with self._lock:
                self._parsed[row.sha256] = form
        return form

    def workbook(self, questionnaire_id: str, version: str) -> bytes:
        """The workbook of an uploaded version, exactly as uploaded."""
        with self._connect() as conn:
            data = conn.execute(sa.select(_versions.c.xlsform).where(
                _versions.c.questionnaire_id == questionnaire_id, _versions.c.version == str(version))).scalar()
        if data is None:
            raise InvalidReviewError(f"no uploaded workbook for questionnaire {questionnaire_id!r} version "
                                     f"{version!r}; shipped questionnaires are downloaded with write_xlsform")
        return bytes(data)

    # -- internals ---------------------------------------------------------------------------

    def _row(self, questionnaire_id: str, version: str) -> sa.Row | None:
        with self._connect() as conn:
            return conn.execute(sa.select(_versions).where(
                _versions.c.questionnaire_id == questionnaire_id, _versions.c.version == version)).one_or_none()

    def _unchanged(self, row: sa.Row, form: Questionnaire) -> StoredQuestionnaire:
        stored = self.questionnaire(row.questionnaire_id, row.version)
        if stored != form:
            raise VersionConflictError(
                f"questionnaire {form.id} version {form.version} was uploaded on "
                f"{row.uploaded_at:%Y-%m-%d %H:%M} UTC by {row.uploaded_by} with other content; a stored version "
                f"is never changed: raise the version in the settings sheet (e.g. to {_next_version(form.version)}) "
                "and upload again")
        return StoredQuestionnaire(questionnaire=stored, uploaded_at=row.uploaded_at, uploaded_by=row.uploaded_by,
                                   new=False, replaces=None)

    def _connect(self) -> Any:
        return _Guard(self._engine, self.url)

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise InvalidReviewError(f"clock returned {now!r} without a time zone; return an aware datetime")
        return now.astimezone(timezone.utc)


class _Guard:
    """A read connection that turns driver errors into :class:`ReviewError`."""

    def __init__(self, engine: sa.Engine, url: str) -> None:
        self._engine, self._url = engine, url

    def __enter__(self) -> sa.Connection:
        try:
            self._connection = self._engine.connect()
        except SQLAlchemyError as exc:
            raise ReviewError(f"the database {display_url(self._url)} failed: {_detail(exc)}") from exc
        return self._connection

    def __exit__(self, exc_type, exc, tb) -> bool:
        self._connection.close()
        if isinstance(exc, SQLAlchemyError):
            raise ReviewError(f"the database {display_url(self._url)} failed: {_detail(exc)}") from exc
        return False


_LIBRARIES: dict[str, QuestionnaireLibrary] = {}
_LIBRARIES_LOCK = threading.Lock()


def questionnaire_library(url: str) -> QuestionnaireLibrary:
    """The questionnaire library of the database at ``url`` (one per URL and process)."""
    with _LIBRARIES_LOCK:
        library = _LIBRARIES.get(url)
        if library is None:
            library = _LIBRARIES[url] = QuestionnaireLibrary(url)
        return library


def available_questionnaires(store: ResponseStore) -> dict[str, Questionnaire]:
    """The questionnaires to offer for interviews in ``store``'s database, by id.

    The shipped questionnaires, where the latest uploaded version of an id replaces the
    shipped one, plus questionnaires that exist only as uploads.
    """
    return questionnaire_library(store.url).current()


def _next_version(version: str) -> str:
    head, dot, last = version.rpartition(".")
    if last.isdigit():
        return f"{head}{dot}{int(last) + 1}"
    return f"{version}.1"


def _detail(exc: SQLAlchemyError) -> str:
    return str(getattr(exc, "orig", None) or exc)


# -- quality control -------------------------------------------------------------------------


@dataclass(frozen=True)
class QualitySetup:
    """What the quality checks look at in one questionnaire.

    Attributes
    ----------
    answer_columns : tuple of str
        Questions compared for item non-response and near-duplicates: every question
        that takes an answer, except free text.
    grids : Mapping[str, tuple of str]
        Per screen, its ``select_one`` questions that share a choice list, when there are
        at least ``min_grid_items`` of them (the rating grids straight-lining shows in).
    distribution_columns : tuple of str
        The ``select_one`` questions of the plan's targets, whose answer distributions are
        compared between interviewers of the same district.
    min_duplicate_items : int
        Questions two interviews must answer between them to be compared (10, or fewer when
        the questionnaire has fewer answer columns).
    """

    answer_columns: tuple[str, ...]
    grids: Mapping[str, tuple[str, ...]]
    distribution_columns: tuple[str, ...]
    min_duplicate_items: int

    def to_frame(self) -> pd.DataFrame:
        """One row per question used: question, role (answer / grid name / distribution)."""
        rows = [{"question": name, "use": "answer"} for name in self.answer_columns]
        rows += [{"question": name, "use": f"grid {grid}"} for grid, items in self.grids.items() for name in items]
        rows += [{"question": name, "use": "distribution"} for name in self.distribution_columns]
        return pd.DataFrame(rows, columns=["question", "use"])

    def summary(self) -> str:
        """What is checked, as text."""
        grids = "; ".join(f"{name} ({len(items)} items)" for name, items in self.grids.items()) or "none"
        return (f"{len(self.answer_columns)} answer columns; grids: {grids}; distributions compared: "
                f"{', '.join(self.distribution_columns) or 'none'}")


def quality_setup(questionnaire: Questionnaire, *, min_grid_items: int = 4,
                  target_questions: Sequence[str] | None = None) -> QualitySetup:
    """The quality-check inputs of ``questionnaire``.

    Parameters
    ----------
    questionnaire : Questionnaire
    min_grid_items : int, default 4
        A screen's questions sharing a choice list form a grid when there are at least this many.
    target_questions : sequence of str, optional
        Questions whose distributions are compared per interviewer; default: the questions
        of this questionnaire's targets in ``questionnaires/targets.yaml`` that are ``select_one``.
    """
    if not isinstance(questionnaire, Questionnaire):
        raise InvalidReviewError(f"questionnaire must be a Questionnaire, got {type(questionnaire).__name__}")
    if isinstance(min_grid_items, bool) or not isinstance(min_grid_items, int) or min_grid_items < 2:
        raise InvalidReviewError(f"min_grid_items must be an integer >= 2, got {min_grid_items!r}")
    answer_columns = tuple(q.name for q in questionnaire.questions if q.type not in ("note", "text"))
    grids: dict[str, tuple[str, ...]] = {}
    for group in questionnaire.groups:
        by_list: dict[str, list[str]] = {}
        for question in group.questions:
            if question.type == "select_one":
                by_list.setdefault(question.list_name, []).append(question.name)
        for list_name, names in by_list.items():
            if len(names) >= min_grid_items:
                grids[group.name if len(by_list) == 1 else f"{group.name}:{list_name}"] = tuple(names)
    if target_questions is None:
        from analysis.targets import load_targets

        target_questions = [t.question for t in load_targets() if t.questionnaire == questionnaire.id]
    names = {q.name: q for q in questionnaire.questions}
    distribution = tuple(dict.fromkeys(
        name for name in target_questions if name in names and names[name].type == "select_one"))
    return QualitySetup(answer_columns=answer_columns, grids=grids, distribution_columns=distribution,
                        min_duplicate_items=max(1, min(10, len(answer_columns))))


@dataclass(frozen=True, eq=False)
class QualityCheck:
    """The quality checks of one questionnaire's interviews.

    Attributes
    ----------
    flags : InterviewFlags
        Per interview, of the respondents (interviews with consent).
    interviewers : InterviewerReview or None
        Per interviewer; None when there are no respondents.
    setup : QualitySetup
    refusals : int
        Interviews without consent, which are not checked (a refusal is short by design).
    """

    flags: InterviewFlags | None
    interviewers: InterviewerReview | None
    setup: QualitySetup
    refusals: int

    def to_frame(self) -> pd.DataFrame:
        """The per-interview flags (empty when nothing was checked)."""
        return self.flags.to_frame() if self.flags is not None else pd.DataFrame()

    def summary(self) -> str:
        """Flags and interviewer scores as text."""
        if self.flags is None:
            return f"no respondents to check ({self.refusals} refusals)"
        parts = [self.flags.summary(), f"{self.refusals} refusals not checked"]
        if self.interviewers is not None:
            parts.append(self.interviewers.summary())
        return "\n".join(parts)


def check_quality(
    responses: pd.DataFrame,
    questionnaire: Questionnaire,
    *,
    assignments: pd.DataFrame | None = None,
    setup: QualitySetup | None = None,
    speed_ratio: float = 1 / 3,
    nonresponse_threshold: float = 0.3,
    duplicate_share: float = 0.95,
    seed: int = 0,
) -> QualityCheck:
    """Flag the interviews of one questionnaire and score its interviewers.

    Parameters
    ----------
    responses : pandas.DataFrame
        The questionnaire's interviews as ``ResponseStore.responses_frame`` gives them.
    questionnaire : Questionnaire
    assignments : pandas.DataFrame, optional
        Planned PSUs (``district``, ``psu``, optionally ``interviewer``), e.g. the sample
        design page's download; enables the ``outside_psu`` flag.
    setup : QualitySetup, optional
        Default :func:`quality_setup` of the questionnaire.
    speed_ratio, nonresponse_threshold, duplicate_share : float
        Thresholds of :func:`analysis.quality.flag_interviews`.
    seed : int
        Seed of the isolation forest.

    Returns
    -------
    QualityCheck
        Interviews with ``consent`` other than ``yes`` are counted as refusals and not checked.
    """
    from analysis.quality import flag_interviews, review_interviewers
    from questionnaires.answers import asked_frame

    setup = setup or quality_setup(questionnaire)
    if not isinstance(responses, pd.DataFrame):
        raise InvalidReviewError(f"responses must be a DataFrame, got {type(responses).__name__}")
    data = responses.reset_index(drop=True)
    for name in setup.answer_columns:
        if name not in data.columns:
            data[name] = None  # nobody answered it yet
    respondents = data["consent"].eq("yes") if "consent" in data.columns else pd.Series(True, index=data.index)
    refusals = int((~respondents).sum())
    data = data.loc[respondents].reset_index(drop=True)
    if data.empty:
        return QualityCheck(flags=None, interviewers=None, setup=setup, refusals=refusals)
    flags = flag_interviews(
        data, setup.answer_columns, grids=setup.grids, asked=asked_frame(questionnaire, data),
        speed_ratio=speed_ratio, nonresponse_threshold=nonresponse_threshold, duplicate_share=duplicate_share,
        min_duplicate_items=setup.min_duplicate_items, assignments=assignments)
    interviewers = review_interviewers(data, flags, distribution_columns=setup.distribution_columns, seed=seed)
    return QualityCheck(flags=flags, interviewers=interviewers, setup=setup, refusals=refusals)


# -- review workflow -------------------------------------------------------------------------


def reason_text(reason: Reason, comment: str = "") -> str:
    """The stored reason: the code, then ``": "`` and the comment when there is one."""
    if reason not in REASONS:
        raise InvalidReviewError(f"reason must be one of {', '.join(map(repr, REASONS))}, got {reason!r}")
    comment = comment.strip()
    return f"{reason}: {comment}" if comment else reason


def reason_code(text: str | None) -> str:
    """The reason code at the start of a stored reason; ``"other"`` for free text from elsewhere."""
    if not isinstance(text, str):
        return "other"
    code = text.split(":", 1)[0].strip()
    return code if code in REASONS else "other"


def review_interview(
    store: ResponseStore,
    accounts: Accounts,
    user: User,
    interview_id: str,
    decision: Decision,
    *,
    reason: Reason | None = None,
    comment: str = "",
) -> Interview:
    """Approve, reject or void a submitted interview, writing the decision to the audit log.

    Parameters
    ----------
    store : ResponseStore
    accounts : survey_app.auth.Accounts
        Its audit log records who decided, when, what and why.
    user : survey_app.auth.User
        The supervisor; needs the ``review`` permission (administrators).
    interview_id : str
    decision : {"approve", "reject", "void"}
        Approved interviews count in the estimates like submitted ones; rejected and voided
        ones are left out. A later decision may change an approval or a rejection; a voided
        interview is final.
    reason : {"too_fast", "straightlining", "item_nonresponse", "near_duplicate", "outside_psu", \
"not_confirmed", "ineligible", "other"}, optional
        Required to reject or void; not taken by "approve".
    comment : str
        Free text for the log; required with reason "other".

    Returns
    -------
    survey_app.store.Interview
        The interview after the decision (unchanged when it already had this status and reason).

    Raises
    ------
    InvalidReviewError
        An unknown decision or reason, a missing reason or comment, or an interview that is
        a draft or voided.
    survey_app.auth.PermissionDeniedError
        The user may not review.
    survey_app.store.ConcurrentUpdateError
        Someone else decided on the interview meanwhile; nothing was changed.
    """
    from survey_app.auth import authorize
    from survey_app.store import StoreError

    authorize(user, "review")
    authorize(accounts.get_user(user.username), "review")
    if decision not in DECISIONS:
        raise InvalidReviewError(f"decision must be one of {', '.join(map(repr, DECISIONS))}, got {decision!r}")
    if not isinstance(comment, str):
        raise InvalidReviewError(f"comment must be text, got {comment!r}")
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidReviewError(f"the comment has {len(comment)} characters; at most {MAX_COMMENT} fit, shorten it")
    if decision == "approve":
        if reason is not None:
            raise InvalidReviewError(f"an approval takes no reason, got reason={reason!r}; write a comment instead")
        stored_reason = None
    else:
        if reason is None:
            raise InvalidReviewError(f"to {decision} an interview give a reason, one of {', '.join(REASONS)}")
        if reason == "other" and not comment:
            raise InvalidReviewError("reason 'other' needs a comment saying why")
        stored_reason = reason_text(reason, comment)
    before = store.get_interview(interview_id)
    if before.status not in REVIEWABLE:
        why = "it is a draft, not submitted yet" if before.status == "draft" else "a voided interview is final"
        raise InvalidReviewError(f"interview {interview_id} cannot be reviewed: {why}")
    status = _NEW_STATUS[decision]
    if before.status == status and before.void_reason == stored_reason:
        return before
    detail = {"from": before.status, "to": status, "reason": reason, "comment": comment,
              "questionnaire": f"{before.questionnaire_id} v{before.questionnaire_version}",
              "interviewer": before.interviewer, "wave": before.wave}
    # Logged first: a change must never be missing from the log; a failed change is logged too.
    accounts.record(user.username, f"{decision}_interview", interview_id, detail)
    try:
        return store.set_status(interview_id, status, reason=stored_reason, expected=before.status)
    except StoreError as exc:
        try:
            accounts.record(user.username, "review_failed", interview_id, {"decision": decision, "why": str(exc)})
        except SurveyAppError:
            pass  # the original error is the one to report
        raise


@dataclass(frozen=True, eq=False)
class Exclusions:
    """Submitted interviews left out of the estimates, by questionnaire, status and reason.

    Attributes
    ----------
    wave : str or None
        The wave counted (None: all waves).
    """

    wave: str | None
    _table: pd.DataFrame = field(repr=False)

    @property
    def total(self) -> int:
        """Interviews left out."""
        return int(self._table["interviews"].sum())

    def to_frame(self) -> pd.DataFrame:
        """Columns ``questionnaire_id, status, reason, interviews``; status is rejected or voided."""
        return self._table.copy()

    def describe(self, questionnaire_id: str | None = None) -> str:
        """One line for a methods sheet, e.g. ``"3 rejected (too_fast 2, other 1); 1 voided ..."``."""
        table = self._table
        if questionnaire_id is not None:
            table = table[table["questionnaire_id"] == questionnaire_id]
        if table.empty:
            return "none"
        parts = []
        for status, label in (("rejected", "rejected"), ("voided", "voided after submission")):
            rows = table[table["status"] == status]
            if rows.empty:
                continue
            counts = rows.groupby("reason", sort=False)["interviews"].sum().sort_values(ascending=False,
                                                                                          kind="stable")
            reasons = ", ".join(f"{reason} {count}" for reason, count in counts.items())
            parts.append(f"{int(rows['interviews'].sum())} {label} ({reasons})")
        return "; ".join(parts)

    def summary(self) -> str:
        """Totals per questionnaire, as text."""
        scope = f"wave {self.wave}" if self.wave else "all waves"
        lines = [f"{self.total} submitted interview(s) excluded from the estimates ({scope})"]
        lines += [f"  {qid}: {self.describe(qid)}" for qid in self._table["questionnaire_id"].unique()]
        return "\n".join(lines)


def excluded_interviews(store: ResponseStore, *, wave: str | None = None,
                        questionnaire_id: str | None = None) -> Exclusions:
    """Count the rejected interviews and those voided after submission, by reason.

    Drafts that were discarded never counted and are not included.
    """
    rows = []
    for status in ("rejected", "voided"):
        for interview in store.interviews(status=status, wave=wave, questionnaire_id=questionnaire_id):
            if status == "voided" and interview.submitted_at is None:
                continue
            rows.append((interview.questionnaire_id, status, reason_code(interview.void_reason)))
    table = pd.DataFrame(rows, columns=["questionnaire_id", "status", "reason"])
    table = (table.groupby(["questionnaire_id", "status", "reason"], sort=True).size()
             .rename("interviews").reset_index())
    return Exclusions(wave=wave, _table=table)
