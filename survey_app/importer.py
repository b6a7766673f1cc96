"""Importing interviews from CSV or Excel exports, checked row by row, all or nothing.

Three kinds of export of the same questionnaire are read:

- this project's own (``ResponseStore.responses_frame`` written to CSV or Excel):
  ``interview_id``, ``interviewer``, ``sample_district``, ``psu``, ``wave``,
  ``started_at``, ``submitted_at`` ... then one column per question;
- ODK Central (CSV): group prefixes joined with ``-`` (``respondent-district``),
  ``meta-instanceID`` / ``KEY``, ``start``, ``end``, ``SubmissionDate``,
  ``SubmitterName``, ``FormVersion``;
- KoboToolbox (CSV with ``,`` or ``;``, or Excel): group prefixes joined with
  ``/`` (``respondent/district``), ``_uuid``, ``meta/instanceID``, ``start``,
  ``end``, ``_submission_time``, ``_submitted_by``; a ``select_multiple`` may
  also come as one column per choice (``usage/telecom_services/mobile``) holding
  ``0``/``1`` or ``True``/``False``.

Columns must hold XML names and codes (Kobo: "XML values and headers"), not labels.

:func:`read_responses` checks every row against the questionnaire (unknown codes,
numbers that are not numbers or are out of range, failed constraints, answers to
questions that skip logic skips, missing required answers, bad ids and times)
and returns the valid interviews plus a row-by-row problem report.
:func:`import_responses` stores them in one transaction only when there is no
problem at all; re-importing the same file stores nothing new, because the
instance id is the key.
"""
from __future__ import annotations

import io
import math
import numbers
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import IO, TYPE_CHECKING, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from questionnaires import Questionnaire
from questionnaires.answers import check_answers
from questionnaires.xlsform import WRITTEN_METADATA
from survey_app.errors import SurveyAppError
from survey_app.field_values import FieldValueError, check_psu, check_wave
from survey_app.uploads import XLSX_MAGIC, WorkbookError, read_workbook

if TYPE_CHECKING:
    from survey_app.store import ImportResult, ResponseStore

__all__ = [
    "InterviewRecord", "ParsedImport", "ResponseImportError", "ImportRejectedError", "SourceFormat", "MetadataField",
    "PROBLEM_COLUMNS", "read_responses", "import_responses",
]

SourceFormat = Literal["survey_toolkit", "odk_central", "kobotoolbox", "other"]
MetadataField = Literal["interviewer", "district", "psu", "wave"]
METADATA_FIELDS: tuple[str, ...] = get_args(MetadataField)
#: Columns of the problem report.
PROBLEM_COLUMNS = ("row", "column", "value", "problem", "kind")

_ID_COLUMNS = ("interview_id", "_uuid", "meta/instanceID", "meta-instanceID", "instanceID", "KEY")
_START_COLUMNS = ("started_at", *dict(WRITTEN_METADATA)["start"])
_END_COLUMNS = ("submitted_at", *dict(WRITTEN_METADATA)["end"], "_submission_time", "SubmissionDate")
_FIELD_COLUMNS: dict[str, tuple[str, ...]] = {
    "interviewer": ("interviewer", *dict(WRITTEN_METADATA)["username"], "_submitted_by", "SubmitterName"),
    "district": ("sample_district",),
    "psu": ("psu",),
    "wave": ("wave",),
}
# Same limits as the response store's columns.
_MAX_LENGTH = {"interviewer": 100, "district": 100, "psu": 200, "wave": 50}
# Labels the pages show and downloads hold: plain text only (survey_app.field_values).
_PLAIN_LABELS = {"wave": check_wave, "psu": check_psu}
# Export bookkeeping that carries nothing to import.
_IGNORED = frozenset({
    "questionnaire_id", "questionnaire_version", "status", "updated_at",                      # this project
    "SubmissionDate", "KEY", "SubmitterID", "SubmitterName", "AttachmentsPresent",           # ODK Central
    "AttachmentsExpected", "Status", "ReviewState", "DeviceID", "Edits", "FormVersion",
    "today", "deviceid", "audit", "phonenumber", "simserial", "subscriberid", "email",        # XLSForm metadata
})
_TRUE = frozenset({"1", "true", "yes"})
_FALSE = frozenset({"0", "false", "no", ""})
_SEPARATORS = ("/", "-", ".")


class ResponseImportError(SurveyAppError):
    """A file cannot be imported at all (unreadable, wrong arguments)."""


class ImportRejectedError(ResponseImportError):
    """The file has problems, so nothing was stored.

    Attributes
    ----------
    problems : pandas.DataFrame
        The row-by-row report (:data:`PROBLEM_COLUMNS`), for the user to download.
    """

    def __init__(self, message: str, problems: pd.DataFrame) -> None:
        super().__init__(message)
        self.problems = problems


@dataclass(frozen=True)
class InterviewRecord:
    """One valid interview read from a file, ready for ``ResponseStore.import_interviews``.

    Attributes
    ----------
    interview_id : str
        The instance id as a canonical UUID (``uuid:`` prefix removed); the key
        that makes re-imports store nothing new.
    questionnaire_id, questionnaire_version : str
    wave, interviewer, district, psu : str
        Metadata (``district`` is the sampled district, ``sample_district`` in the store's frame).
    started_at, submitted_at : datetime
        Timezone-aware.
    answers : Mapping[str, Any]
        The checked answers of the asked questions (read-only).
    row : int
        The spreadsheet row the interview came from (header = row 1).
    """

    interview_id: str
    questionnaire_id: str
    questionnaire_version: str
    wave: str
    interviewer: str
    district: str
    psu: str
    started_at: datetime
    submitted_at: datetime
    answers: Mapping[str, Any]
    row: int


@dataclass(frozen=True, eq=False)
class ParsedImport:
    """What :func:`read_responses` found in a file.

    Attributes
    ----------
    questionnaire_id, questionnaire_version : str
    source_format : {"survey_toolkit", "odk_central", "kobotoolbox", "other"}
        The kind of export, recognised from its columns.
    rows : int
        Data rows in the file.
    records : tuple of InterviewRecord
        The rows without problems.
    """

    questionnaire_id: str
    questionnaire_version: str
    source_format: SourceFormat
    rows: int
    records: tuple[InterviewRecord, ...]
    _problems: pd.DataFrame = field(repr=False)

    @property
    def ok(self) -> bool:
        """Whether the whole file is clean (the import may go ahead)."""
        return self._problems.empty

    @property
    def problems(self) -> pd.DataFrame:
        """The row-by-row report: ``row, column, value, problem, kind`` (a copy); empty when clean."""
        return self._problems.copy()

    def to_frame(self) -> pd.DataFrame:
        """The valid interviews, one row each: id, metadata, times, then the answers (lists space-joined)."""
        rows = []
        for record in self.records:
            answers = {name: " ".join(value) if isinstance(value, list) else value
                       for name, value in record.answers.items()}
            rows.append({"row": record.row, "interview_id": record.interview_id, "interviewer": record.interviewer,
                         "sample_district": record.district, "psu": record.psu, "wave": record.wave,
                         "started_at": record.started_at, "submitted_at": record.submitted_at, **answers})
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """A short text: the file, the valid rows and the problems by kind."""
        head = (f"{self.rows} row(s) of a {self.source_format} export of {self.questionnaire_id} "
                f"v{self.questionnaire_version}: {len(self.records)} valid")
        if self.ok:
            return head + ", no problems"
        counts = self._problems["kind"].value_counts()
        rows_with = self._problems["row"].nunique()
        lines = [head + f"; {len(self._problems)} problem(s) in {rows_with} row(s), nothing can be stored:"]
        lines += [f"  {kind}: {count}" for kind, count in counts.items()]
        return "\n".join(lines)


def read_responses(
    source: str | os.PathLike[str] | bytes | IO[bytes],
    questionnaire: Questionnaire,
    *,
    sheet: str | int = 0,
    defaults: Mapping[str, str] | None = None,
    metadata_columns: Mapping[str, str] | None = None,
    naive_timezone: str = "UTC",
    lang: Literal["en", "zh"] = "en",
    progress: Callable[[float], None] | None = None,
    assigned: Mapping[str, frozenset[tuple[str, str]]] | None = None,
) -> ParsedImport:
    """Read and check an export of ``questionnaire``, row by row.

    Parameters
    ----------
    source : path, bytes or binary file object
        A CSV (UTF-8, UTF-8 with BOM or GB18030; ``,``, ``;`` or tab separated) or
        an Excel workbook (.xlsx).
    questionnaire : Questionnaire
        The questionnaire the file is an export of.
    sheet : str or int
        The workbook sheet holding the interviews (default: the first).
    defaults : Mapping, optional
        Values for ``interviewer``, ``district`` (sampled district), ``psu`` and
        ``wave`` when the file has no column for them, e.g. ``{"wave": "2026"}``.
    metadata_columns : Mapping, optional
        The column to take ``interviewer``, ``district``, ``psu`` or ``wave`` from,
        when it is not the usual one, e.g. ``{"district": "respondent/district"}``.
    naive_timezone : str
        Time zone of times written without one (Kobo's ``_submission_time`` is UTC).
    lang : {"en", "zh"}
        Language of the questionnaire's messages quoted in the report.
    progress : callable, optional
        Called with the fraction of rows done (0 to 1), for a progress bar.
    assigned : Mapping, optional
        Wave -> its assignment list's ``(district, psu)`` pairs: a row of such a wave must name
        one of them (:func:`import_responses` passes the stored lists).

    Returns
    -------
    ParsedImport
        The valid interviews and the problem report.

    Raises
    ------
    ResponseImportError
        If the file cannot be read, or an argument is wrong.

    Examples
    --------
    >>> parsed = read_responses("kobo_export.xlsx", form, defaults={"wave": "2026", "psu": "P01"})  # doctest: +SKIP
    >>> parsed.problems.to_csv("problems.csv", index=False)                                        # doctest: +SKIP
    """
    if not isinstance(questionnaire, Questionnaire):
        raise ResponseImportError(f"questionnaire must be a Questionnaire, got {type(questionnaire).__name__}")
    if progress is not None and not callable(progress):
        raise ResponseImportError(f"progress must be a function of one float, got {progress!r}")
    defaults = _check_fields("defaults", defaults)
    metadata_columns = _check_fields("metadata_columns", metadata_columns)
    try:
        zone = ZoneInfo(naive_timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ResponseImportError(f"naive_timezone={naive_timezone!r} is not a time zone; use e.g. 'UTC' or "
                           "'Asia/Shanghai'") from None
    if lang not in ("en", "zh"):
        raise ResponseImportError(f"lang={lang!r} is not supported; use 'en' or 'zh'")
    frame = _read_table(source, sheet)
    reader = _Reader(questionnaire, frame, defaults, metadata_columns, zone, lang, dict(assigned or {}))
    records = reader.read(progress)
    problems = pd.DataFrame(reader.problems, columns=list(PROBLEM_COLUMNS))
    problems = problems.sort_values("row", kind="stable").reset_index(drop=True)
    return ParsedImport(questionnaire_id=questionnaire.id, questionnaire_version=questionnaire.version,
                        source_format=_source_format(frame.columns), rows=len(frame),
                        records=tuple(records) if problems.empty else (), _problems=problems)


def import_responses(
    store: ResponseStore,
    source: str | os.PathLike[str] | bytes | IO[bytes],
    questionnaire: Questionnaire,
    *,
    sheet: str | int = 0,
    defaults: Mapping[str, str] | None = None,
    metadata_columns: Mapping[str, str] | None = None,
    naive_timezone: str = "UTC",
    lang: Literal["en", "zh"] = "en",
    progress: Callable[[float], None] | None = None,
) -> ImportResult:
    """Check a file with :func:`read_responses` and store it in one transaction if it is clean.

    Parameters are those of :func:`read_responses`, plus the ``store``; rows of a wave with a
    stored assignment list must name one of its (district, PSU) pairs.

    Returns
    -------
    survey_app.store.ImportResult
        ``stored`` (new interviews) and ``skipped_existing`` (ids already stored
        with the same answers: re-importing a file stores nothing new).

    Raises
    ------
    ImportRejectedError
        If any row has a problem; nothing is stored and ``.problems`` holds the report.
    survey_app.store.InterviewClosedError
        If an id is already stored with different answers (nothing is stored).
    """
    from survey_app.assignments import get_assignment_store  # imports the sampling library: only when storing

    reading = None if progress is None else (lambda fraction: progress(0.9 * fraction))
    lists = get_assignment_store(store.url)
    assigned = {wave: frozenset(zip(listed.table["district"], listed.table["psu"]))
                for wave in lists.waves() if (listed := lists.get(wave)) is not None}
    parsed = read_responses(source, questionnaire, sheet=sheet, defaults=defaults,
                            metadata_columns=metadata_columns, naive_timezone=naive_timezone, lang=lang,
                            progress=reading, assigned=assigned)
    if not parsed.ok:
        raise ImportRejectedError(parsed.summary(), parsed.problems)
    result = store.import_interviews(parsed.records)
    if progress is not None:
        progress(1.0)
    return result


# ---------------------------------------------------------------------------
# Reading the file


def _check_fields(name: str, mapping: Mapping[str, str] | None) -> dict[str, str]:
    if mapping is None:
        return {}
    if not isinstance(mapping, Mapping):
        raise ResponseImportError(f"{name} must be a mapping such as {{'wave': '2026'}}, got {mapping!r}")
    unknown = [key for key in mapping if key not in METADATA_FIELDS]
    if unknown:
        raise ResponseImportError(f"{name} has unknown key(s) {unknown}; allowed: {', '.join(METADATA_FIELDS)}")
    for key, value in mapping.items():
        if not isinstance(value, str) or not value.strip():
            raise ResponseImportError(f"{name}[{key!r}] must be a non-empty string, got {value!r}")
        if name == "defaults" and key in _PLAIN_LABELS:
            try:
                _PLAIN_LABELS[key](value)
            except FieldValueError as error:
                raise ResponseImportError(f"{name}[{key!r}]: {error}") from None
    return {key: value.strip() for key, value in mapping.items()}


def _read_table(source: Any, sheet: str | int) -> pd.DataFrame:
    suffix = ""
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        suffix = path.suffix.lower()
        try:
            data = path.read_bytes()
        except OSError as error:
            raise ResponseImportError(f"cannot read {path}: {error}; check the path") from None
    elif hasattr(source, "read"):
        data = source.read()
        suffix = Path(str(getattr(source, "name", ""))).suffix.lower()
    else:
        raise ResponseImportError(f"source must be a path, bytes or a binary file, got {type(source).__name__}")
    if data.startswith(XLSX_MAGIC) or suffix in (".xlsx", ".xlsm"):
        try:
            frame = read_workbook(data, what="response file", sheet=sheet, dtype="object")
        except WorkbookError as error:
            raise ResponseImportError(f"cannot read the workbook: {error}") from None
    else:
        text = _decode(data)
        lines = text.splitlines()
        header = lines[0] if lines else ""
        separator = max((",", ";", "\t"), key=header.count)
        try:
            frame = pd.read_csv(io.StringIO(text), sep=separator, dtype=str, keep_default_na=False,
                                na_filter=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
            raise ResponseImportError(f"cannot read the CSV file: {error}") from None
    frame.columns = [str(column).strip() for column in frame.columns]
    return frame


def _decode(data: bytes) -> str:
    # Excel on Chinese Windows saves CSV as GB18030 (GBK); exports are UTF-8, often with a BOM.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ResponseImportError("the CSV file is neither UTF-8 nor GB18030 text; save it as CSV UTF-8")


def _source_format(columns: pd.Index) -> SourceFormat:
    names = set(columns)
    if "interview_id" in names:
        return "survey_toolkit"
    if names & {"KEY", "SubmissionDate", "meta-instanceID"}:
        return "odk_central"
    if names & {"_uuid", "_submission_time", "meta/instanceID", "_id"}:
        return "kobotoolbox"
    return "other"


# ---------------------------------------------------------------------------
# Checking rows


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


class _Reader:
    """Maps the file's columns onto the questionnaire, then checks each row."""

    def __init__(self, questionnaire: Questionnaire, frame: pd.DataFrame, defaults: dict[str, str],
                 metadata_columns: dict[str, str], zone: ZoneInfo, lang: str,
                 assigned: dict[str, frozenset[tuple[str, str]]]) -> None:
        self.form, self.frame, self.defaults, self.zone, self.lang = questionnaire, frame, defaults, zone, lang
        self.assigned = assigned
        self.problems: list[tuple] = []
        self.question_column: dict[str, str] = {}
        self.choice_columns: dict[str, dict[str, str]] = {}
        self._map_columns(metadata_columns)

    def problem(self, row: int, column: str | None, value: Any, problem: str, kind: str) -> None:
        self.problems.append((row, column, None if _blank(value) else value, problem, kind))

    # -- columns -----------------------------------------------------------------

    def _map_columns(self, metadata_columns: dict[str, str]) -> None:
        columns = list(self.frame.columns)
        spellings: dict[str, tuple[str, str | None]] = {}
        for question in self.form.questions:
            group = self.form.group_of(question).name
            names = [question.name, *(f"{group}{sep}{question.name}" for sep in _SEPARATORS)]
            for name in names:
                spellings[name] = (question.name, None)
                if question.type == "select_multiple":
                    for choice in self.form.choices(question):
                        for sep in _SEPARATORS:
                            spellings.setdefault(f"{name}{sep}{choice.name}", (question.name, choice.name))
        for column in columns:
            found = spellings.get(column)
            if found is not None:
                name, code = found
                if self.form.question(name).type == "note":
                    continue  # exports may list notes; they hold no answer
                if code is None:
                    if name in self.question_column:
                        self.problem(1, column, None, f"a second column for question {name!r} (the first is "
                                     f"{self.question_column[name]!r}); keep one", "bad_column")
                    self.question_column[name] = column
                else:
                    self.choice_columns.setdefault(name, {})[code] = column
        self.id_column = next((c for c in _ID_COLUMNS if c in columns), None)
        self.start_column = next((c for c in _START_COLUMNS if c in columns), None)
        self.end_column = next((c for c in _END_COLUMNS if c in columns), None)
        self.field_column: dict[str, str | None] = {}
        for name in METADATA_FIELDS:
            if name in metadata_columns:
                if metadata_columns[name] not in columns:
                    self.problem(1, metadata_columns[name], None,
                                 f"metadata_columns[{name!r}] names a column the file does not have", "bad_column")
                self.field_column[name] = metadata_columns[name]
            else:
                self.field_column[name] = next((c for c in _FIELD_COLUMNS[name] if c in columns), None)
        used = {*self.question_column.values(), *(c for m in self.choice_columns.values() for c in m.values()),
                self.id_column, self.start_column, self.end_column, *self.field_column.values(),
                *_START_COLUMNS, *_END_COLUMNS, *(c for names in _FIELD_COLUMNS.values() for c in names)}
        for column in columns:
            if column in used or column in _IGNORED or column in spellings or _bookkeeping(column):
                continue
            self.problem(1, column, None, f"not a question of {self.form.id} v{self.form.version} nor an export "
                         "column this importer knows; is it the right questionnaire (and XML names, not labels)?",
                         "unknown_column")
        if self.id_column is None:
            self.problem(1, None, None, "no instance id column; expected one of " + ", ".join(_ID_COLUMNS),
                         "missing_column")
        if self.start_column is None:
            self.problem(1, None, None, "no start time column; expected one of " + ", ".join(_START_COLUMNS),
                         "missing_column")
        if self.end_column is None:
            self.problem(1, None, None, "no end time column; expected one of " + ", ".join(_END_COLUMNS),
                         "missing_column")
        for name, column in self.field_column.items():
            if column is None and name not in self.defaults:
                self.problem(1, None, None, f"no {name} column ({', '.join(_FIELD_COLUMNS[name])}); add one or "
                             f"give defaults={{{name!r}: ...}}", "missing_column")

    # -- rows -----------------------------------------------------------------------

    def read(self, progress: Callable[[float], None] | None) -> list[InterviewRecord]:
        records: list[InterviewRecord] = []
        seen: dict[str, int] = {}
        total = len(self.frame)
        step = max(1, math.ceil(total / 100))  # about one call per percent
        columns = list(self.frame.columns)
        for index, values in enumerate(self.frame.itertuples(index=False, name=None)):
            row = index + 2
            cells = dict(zip(columns, values))
            record = self._row(row, cells, seen)
            if record is not None:
                records.append(record)
            if progress is not None and ((index + 1) % step == 0 or index + 1 == total):
                progress((index + 1) / total)
        if progress is not None and total == 0:
            progress(1.0)
        return records

    def _row(self, row: int, cells: dict[str, Any], seen: dict[str, int]) -> InterviewRecord | None:
        before = len(self.problems)
        raw: dict[str, Any] = {}
        for name in (q.name for q in self.form.questions):
            if name in self.question_column or name in self.choice_columns:
                raw[name] = self._answer_cell(row, name, cells)
        checked = check_answers(self.form, raw, lang=self.lang)
        for problem in checked.problems:
            self.problem(row, self._column_of(problem.question), problem.value, problem.message, problem.kind)
        interview_id = self._interview_id(row, cells, seen)
        fields = {name: self._field(row, name, cells) for name in METADATA_FIELDS}
        listed = self.assigned.get(fields["wave"])
        if listed is not None and fields["psu"] is not None and (fields["district"], fields["psu"]) not in listed:
            self.problem(row, self.field_column["psu"], fields["psu"],
                         f"PSU {fields['psu']!r} is not in wave {fields['wave']!r}'s assignment list for district "
                         f"{fields['district']!r}; correct the PSU or the wave", "bad_metadata")
        started = self._time(row, self.start_column, cells)
        submitted = self._time(row, self.end_column, cells)
        self._check_own_export(row, cells)
        if len(self.problems) != before:
            return None
        return InterviewRecord(interview_id=interview_id, questionnaire_id=self.form.id,
                               questionnaire_version=self.form.version, started_at=started, submitted_at=submitted,
                               answers=MappingProxyType(dict(checked.answers)), row=row, **fields)

    def _column_of(self, name: str) -> str:
        if name in self.question_column:
            return self.question_column[name]
        if name in self.choice_columns:
            return ", ".join(self.choice_columns[name].values())
        return name

    def _answer_cell(self, row: int, name: str, cells: dict[str, Any]) -> Any:
        main = cells.get(self.question_column[name]) if name in self.question_column else None
        split = self.choice_columns.get(name)
        if not split:
            return main
        chosen = []
        unreadable = False
        for code, column in split.items():
            value = cells[column]
            flag = _flag(value)
            if flag is None:
                self.problem(row, column, value, f"{value!r} is neither 0/1 nor True/False", "bad_value")
                unreadable = True
            elif flag:
                chosen.append(code)
        if _blank(main):
            return chosen
        if unreadable:
            return main
        codes = main.split() if isinstance(main, str) else None
        if codes is not None and set(codes) & set(split) != set(chosen):
            self.problem(row, f"{self.question_column[name]}, {', '.join(split.values())}", main,
                         f"the choice columns select {' '.join(chosen) or 'nothing'} but the answer column "
                         f"says {main!r}; fix one of them", "bad_value")
        return main

    def _interview_id(self, row: int, cells: dict[str, Any], seen: dict[str, int]) -> str | None:
        if self.id_column is None:
            return None
        value = cells[self.id_column]
        if _blank(value):
            self.problem(row, self.id_column, value, "the instance id is empty", "bad_id")
            return None
        text = str(value).strip()
        try:
            canonical = str(uuid.UUID(text.removeprefix("uuid:")))
        except ValueError:
            self.problem(row, self.id_column, value, "the instance id is not a UUID (such as uuid:0f6e...)", "bad_id")
            return None
        if canonical in seen:
            self.problem(row, self.id_column, value, f"the same instance id is in row {seen[canonical]}; "
                         "each interview must appear once", "duplicate_id")
            return None
        seen[canonical] = row
        return canonical

    def _field(self, row: int, name: str, cells: dict[str, Any]) -> str | None:
        column = self.field_column[name]
        value = cells.get(column) if column is not None else None
        if _blank(value):
            if name in self.defaults:
                return self.defaults[name]
            if column is not None:
                self.problem(row, column, value, f"the {name} is empty; fill it in or give defaults={{{name!r}: ...}}",
                             "missing_metadata")
            return None
        text = _text(value).strip()
        if len(text) > _MAX_LENGTH[name]:
            self.problem(row, column, value, f"the {name} has {len(text)} characters; at most {_MAX_LENGTH[name]} "
                         "fit", "bad_metadata")
        elif name in _PLAIN_LABELS:
            try:
                _PLAIN_LABELS[name](text)
            except FieldValueError as error:
                self.problem(row, column, value, str(error), "bad_metadata")
        return text

    def _time(self, row: int, column: str | None, cells: dict[str, Any]) -> datetime | None:
        if column is None:
            return None
        value = cells[column]
        if _blank(value):
            self.problem(row, column, value, "the time is empty", "bad_time")
            return None
        stamp = _parse_time(value)
        if stamp is None:
            self.problem(row, column, value, "not a date and time (expected ISO 8601 such as "
                         "2026-05-01T09:30:00+08:00)", "bad_time")
            return None
        return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=self.zone)

    def _check_own_export(self, row: int, cells: dict[str, Any]) -> None:
        expected = {"questionnaire_id": self.form.id, "questionnaire_version": self.form.version,
                    "FormVersion": self.form.version}
        for column, wanted in expected.items():
            value = cells.get(column)
            if not _blank(value) and _text(value).strip() != wanted:
                self.problem(row, column, value, f"this row belongs to {value!r}, not {wanted!r}; import it with "
                             "its own questionnaire", "wrong_questionnaire")
        status = cells.get("status")
        # approved interviews count like submitted ones (a store's export holds both)
        if not _blank(status) and str(status).strip() not in ("submitted", "approved"):
            self.problem(row, "status", status, "only submitted (or approved) interviews can be imported; export "
                         "with status 'submitted'", "bad_status")


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.to_pydatetime()
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        return None  # a bare number would be read as nanoseconds since 1970
    text = value.strip()
    try:
        return datetime.fromisoformat(text)  # fast path: ODK, Kobo and pandas write ISO 8601
    except ValueError:
        pass
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError):
        return None
    return None if pd.isna(stamp) else stamp.to_pydatetime()


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # an Excel number such as a PSU code 12.0
    return str(value)


def _flag(value: Any) -> bool | None:
    if _blank(value):
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Real) and not math.isnan(value) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def _bookkeeping(column: str) -> bool:
    # KoboToolbox system columns (_id, _index, __version__, ...) and ODK meta/... columns
    return column.startswith("_") or column.startswith(("meta/", "meta-"))
