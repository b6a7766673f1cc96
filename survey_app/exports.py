"""Data out, with labels: SPSS ``.sav``, Stata ``.dta``, CSV with a codebook, and an R bundle.

One function, :func:`export_data`, serves the export page and ``survey-toolkit export``:

1. the interviews are read through :func:`survey_app.auth.export_responses` (the one place
   that checks the ``export`` permission, takes contact details out of free-text answers
   unless the user may keep them and asks, and writes the audit log), as the report counts
   them (submitted or approved, never demonstration interviews beside real ones), with the
   design weights and fpc of the stored sample assignments;
2. the report is built from those interviews (:func:`survey_app.reporting.build_report`), so
   the exported design variables and target indicators are the ones behind its numbers;
3. one labelled table (:class:`LabelledData`) is formed and written in the chosen format to
   a temporary file beside the target, renamed over it only when complete.

The table: the interview's metadata (dates as dates), the design variables (``respondent``:
1 for the consenting respondents the estimates use, ``sample_district`` = strata, ``psu``,
``fpc`` when stored assignments give one, ``design_weight``, and ``calibrated_weight`` when
the weighting calibrates), one column per question (``select_multiple``: one 0/1 column per
option, ``question_option``), and one column per target (``target_<id>``: the target's
indicator, empty outside its denominator). Labels are in the language chosen (zh or en);
the codebook has both. Column names are the same in every format: letters, digits and ``_``,
at most 29 characters (Stata's limit with room for its value-label names), a longer name
keeping its start and a short hash (the codebook gives the question of each column).

Formats
-------
``sav``
    Variable labels, value labels, and the user-missing codes :data:`NOT_ASKED` (-99, the
    skip logic did not ask the question) and :data:`NO_ANSWER` (-98, asked, not answered).
``dta``
    Variable labels (Stata's 80 characters), value labels; the two kinds of missing are
    Stata's extended missing values ``.a`` (not asked) and ``.b`` (no answer).
``csv``
    A zip: ``data.csv`` (UTF-8 with BOM, choice codes, ISO dates, empty = missing; text
    starting with ``=``, ``+``, ``-``, ``@`` carries a leading ``'``, the app's cell-safety rule),
    ``codebook.json`` and ``codebook.csv`` (every column: question, labels in each
    language, type, choices).
``r``
    A zip: the CSV and codebook, ``report_estimates.csv`` (the report's headline numbers)
    and ``analysis.R``, which labels the factors, builds each questionnaire's ``svydesign``
    from the design variables (calibrating as the report does) and prints every target's
    estimate, SE and interval, and their largest difference from the report's.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np
import pandas as pd

from survey_app.cellsafe import cell_text, csv_bytes
from survey_app.errors import SurveyAppError
from survey_app.r_code import r_string

if TYPE_CHECKING:  # pragma: no cover
    from analysis.targets import Target
    from questionnaires import Questionnaire
    from survey_app.auth import Accounts, User
    from survey_app.reporting import ReportSettings, ReportTables
    from survey_app.store import ResponseStore

__all__ = ["EXPORT_FORMATS", "LABEL_LANGUAGES", "NOT_ASKED", "NO_ANSWER", "SUFFIXES", "ExportError", "ExportResult",
           "LabelledData", "Variable", "export_data", "export_file_name", "labelled_data", "r_script"]

ExportFormat = Literal["sav", "dta", "csv", "r"]
EXPORT_FORMATS: tuple[str, ...] = get_args(ExportFormat)
LabelLanguage = Literal["zh", "en"]
LABEL_LANGUAGES: tuple[str, ...] = get_args(LabelLanguage)
#: The file each format writes.
SUFFIXES: Mapping[str, str] = {"sav": ".sav", "dta": ".dta", "csv": ".zip", "r": ".zip"}

#: SPSS user-missing code: the skip logic did not ask the question (Stata: ``.a``).
NOT_ASKED = -99
#: SPSS user-missing code: asked, but no answer given (Stata: ``.b``).
NO_ANSWER = -98
_MISSING_LABELS = {NOT_ASKED: ("未问（跳答）", "not asked (skip logic)"), NO_ANSWER: ("未回答", "no answer")}
_STATA_MISSING = {NOT_ASKED: "a", NO_ANSWER: "b"}
_CHOSEN_LABELS = {0: ("未选", "not chosen"), 1: ("已选", "chosen")}
_SUCCESS_LABELS = {0: ("否", "no"), 1: ("是（达到目标所指）", "yes (counts towards the target)")}

_METADATA = {
    "interview_id": ("访问编号", "Interview id", "text"),
    "questionnaire_id": ("问卷", "Questionnaire", "text"),
    "questionnaire_version": ("问卷版本", "Questionnaire version", "text"),
    "wave": ("调查轮次", "Wave", "text"),
    "interviewer": ("访问员", "Interviewer", "text"),
    "sample_district": ("抽样区县（分层）", "Sample district (stratum)", "text"),
    "psu": ("初级抽样单位（社区/村）", "Primary sampling unit (community/village)", "text"),
    "status": ("状态", "Status", "text"),
    "started_at": ("开始时间（UTC）", "Started (UTC)", "datetime"),
    "submitted_at": ("提交时间（UTC）", "Submitted (UTC)", "datetime"),
    "updated_at": ("最后修改时间（UTC）", "Last changed (UTC)", "datetime"),
}
_RESPONDENT = ("respondent", "纳入估计的受访者（同意受访）", "Respondent in the estimates (consented)")
_DESIGN_WEIGHT = ("design_weight", "设计权重（基础权重）", "Design weight (base weight)")
_FPC = ("fpc", "有限总体校正：区县抽样框中的初级抽样单位数", "Finite population correction: PSUs in the district's frame")
_CALIBRATED = ("calibrated_weight", "校准后权重", "Calibrated weight")

# XLSForm types exported as numbers and as dates (UTC); other answered types are text
_NUMBER_TYPES = {"integer": "integer", "decimal": "number", "range": "number"}
_DATE_TYPES = {"date": "date", "today": "date", "datetime": "datetime", "start": "datetime", "end": "datetime"}

# Names SPSS and Stata reserve; a column would otherwise be unusable there.
_RESERVED = frozenset({
    "all", "and", "by", "eq", "ge", "gt", "le", "lt", "ne", "not", "or", "to", "with",
    "byte", "int", "long", "float", "double", "if", "in", "using", "_n", "_b", "_cons", "_coef", "_pi", "_pred",
    "_rc", "_se", "_skip", "str", "strl", "e", "_all",
})
# Stata allows 32 characters; pyreadstat names a value label set after its variable and the
# set's number (up to 999 sets). Used for every format, so the names agree.
_MAX_NAME = 29
_MAX_STATA_LABEL = 80   # characters of a Stata variable label
_MAX_SAV_LABEL = 256  # bytes of an SPSS variable label
_MAX_SAV_VALUE_LABEL = 120  # bytes of an SPSS value label


class ExportError(SurveyAppError, ValueError):
    """The export cannot be made as asked; the message names the argument or file and the fix."""


@dataclass(frozen=True)
class Variable:
    """One column of the export and what the codebook says of it.

    Attributes
    ----------
    name : str
        Column name in every format (letters, digits, ``_``; at most 29 characters).
    role : {"metadata", "design", "question", "choice", "target", "other"}
    kind : {"text", "number", "integer", "category", "binary", "datetime", "date"}
    label_zh, label_en : str
    question : str, optional
        The question it comes from (``choice``: the select_multiple question).
    questionnaires : tuple of str
        The questionnaires asking it.
    choice : str, optional
        The option of a ``choice`` column.
    values : tuple of (value, code, label_zh, label_en)
        ``category``: each code's number in SPSS/Stata; ``binary``: 0 and 1.
    """

    name: str
    role: str
    kind: str
    label_zh: str
    label_en: str
    question: str | None = None
    questionnaires: tuple[str, ...] = ()
    choice: str | None = None
    values: tuple[tuple[int, str, str, str], ...] = ()

    def label(self, lang: str) -> str:
        return self.label_zh if lang == "zh" else self.label_en

    @property
    def has_missing_codes(self) -> bool:
        """Whether "not asked" and "no answer" are told apart (answers of questions)."""
        return self.role in ("question", "choice") and self.kind not in ("text", "datetime", "date")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "type": self.kind, "question": self.question,
                "questionnaires": list(self.questionnaires), "choice": self.choice,
                "label": {"zh": self.label_zh, "en": self.label_en},
                "values": [{"value": v, "code": c, "label": {"zh": z, "en": e}} for v, c, z, e in self.values]}


@dataclass(frozen=True, eq=False)
class LabelledData:
    """The export's table before it is written in a format.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per interview, columns :attr:`variables`' names: choice codes as text,
        numbers as floats, ``datetime`` as naive UTC timestamps, ``date`` as dates.
    missing : mapping of str to numpy.ndarray
        For the columns whose ``has_missing_codes``: per row 0 (a value or a plain missing
        value), :data:`NOT_ASKED` or :data:`NO_ANSWER`.
    variables : tuple of Variable
    language : {"zh", "en"}
        The language of the labels written into the files.
    report : ReportTables
        The report of the same interviews (its overview holds the headline numbers).
    questionnaires : mapping of str to Questionnaire
        The questionnaires exported.
    contact_details : {"remove", "keep"}
    """

    frame: pd.DataFrame = field(repr=False)
    missing: Mapping[str, np.ndarray] = field(repr=False)
    variables: tuple[Variable, ...]
    language: str
    report: ReportTables = field(repr=False)
    questionnaires: Mapping[str, Questionnaire] = field(repr=False)
    contact_details: str = "remove"

    def variable(self, name: str) -> Variable:
        return next(v for v in self.variables if v.name == name)

    def codebook(self) -> dict[str, Any]:
        """The data dictionary: the export's settings, design and every column, both languages."""
        tables = self.report
        settings = tables.settings
        names = {v.name for v in self.variables}
        return {
            "created_at": tables.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "source": tables.source, "wave": tables.wave or "all waves pooled",
            "label_language": self.language, "rows": len(self.frame),
            "personal_data": ("contact details kept as entered" if self.contact_details == "keep"
                              else "contact details removed from free-text answers"),
            "demonstration": tables.demonstration,
            "questionnaires": {qid: {"version": form.version, "title": {"zh": form.title.zh,
                                                                         "en": form.title.get("en")}}
                               for qid, form in self.questionnaires.items()},
            "design": {"respondents": "respondent == 1 (each questionnaire its own design)",
                       "strata": "sample_district", "psu": "psu", "nest": True,
                       "fpc": "fpc" if "fpc" in names else None, "design_weight": "design_weight",
                       "calibrated_weight": "calibrated_weight" if "calibrated_weight" in names else None,
                       "lonely_psu": settings.lonely_psu, "weighting": settings.describe_weighting(),
                       "margins": settings.margins, "calibrated_questionnaires":
                           list(settings.calibrate) if settings.calibrate is not None else None},
            "intervals": {"level": settings.level, "proportions": settings.ci_method, "means": "Student t"},
            "missing_codes": {"sav": {str(code): {"zh": zh, "en": en} for code, (zh, en) in _MISSING_LABELS.items()},
                              "dta": {"." + _STATA_MISSING[code]: {"zh": zh, "en": en}
                                      for code, (zh, en) in _MISSING_LABELS.items()},
                              "csv": "empty"},
            "variables": [v.to_dict() for v in self.variables],
        }

    def codebook_frame(self) -> pd.DataFrame:
        """The codebook as a sheet: one row per column."""
        rows = []
        for v in self.variables:
            rows.append({"name": v.name, "role": v.role, "type": v.kind, "question": v.question or "",
                         "questionnaires": " ".join(v.questionnaires), "choice": v.choice or "",
                         "label_zh": v.label_zh, "label_en": v.label_en,
                         "values": "; ".join(f"{c} = {z} / {e}" + (f" [{n}]" if str(n) != c else "")
                                             for n, c, z, e in v.values)})
        return pd.DataFrame(rows, columns=["name", "role", "type", "question", "questionnaires", "choice",
                                           "label_zh", "label_en", "values"])


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_data` wrote."""

    path: Path
    format: str
    rows: int
    columns: int
    questionnaires: tuple[str, ...]
    wave: str | None
    language: str
    contact_details: str
    demonstration: bool

    def summary(self) -> str:
        """One line: the file, its size in rows and columns, what went in."""
        line = (f"wrote {self.path}: {self.format}, {self.rows} interviews, {self.columns} columns of "
                f"{', '.join(self.questionnaires) or 'no questionnaire'}; "
                + (f"wave {self.wave}" if self.wave else "all waves pooled")
                + f"; labels {self.language}; contact details "
                + ("kept" if self.contact_details == "keep" else "removed"))
        if self.demonstration:
            line = "DEMONSTRATION DATA (synthetic or demonstration margins, not for publication): " + line
        return line


def export_file_name(*, format: str, questionnaire_id: str | None, wave: str | None, demonstration: bool,
                     day: date) -> str:
    """The download name: questionnaire (or ``all``), wave (or ``all``), day, ``_DEMO_演示`` for
    demonstration data, and the format's suffix (``_R`` before ``.zip`` for the R bundle)."""
    _check_choice("format", format, EXPORT_FORMATS)
    kind = "_R" if format == "r" else "_csv" if format == "csv" else ""
    return (f"survey_data_{questionnaire_id or 'all'}_{wave or 'all'}_{day:%Y%m%d}{kind}"
            f"{'_DEMO_演示' if demonstration else ''}{SUFFIXES[format]}")


def export_data(accounts: Accounts, user: User, store: ResponseStore, out: str | Path, *,
                format: ExportFormat, language: LabelLanguage = "zh", questionnaire_id: str | None = None,
                wave: str | None = None, keep_personal_data: bool = False, settings: ReportSettings | None = None,
                targets: Sequence[Target] | None = None,
                progress: Callable[[float], None] | None = None) -> ExportResult:
    """Export the interviews the report counts, with labels, to ``out``.

    Parameters
    ----------
    accounts, user
        Who exports: ``user`` needs the ``export`` permission, and ``export_contact_details``
        (administrators) for ``keep_personal_data`` (:func:`survey_app.auth.export_responses`,
        which also writes the audit log).
    store : ResponseStore
    out : path
        The file to write, ending in ``.sav``, ``.dta`` or (``csv``, ``r``) ``.zip``. Written to
        a temporary file in its folder and renamed when complete: never half a file.
    format : {"sav", "dta", "csv", "r"}
    language : {"zh", "en"}, default "zh"
        Language of the labels in the file (the codebook has both).
    questionnaire_id : str, optional
        Only this questionnaire's interviews (default: all).
    wave : str, optional
        Only this wave (default: every wave pooled, as the report of all waves).
    keep_personal_data : bool, default False
        Keep contact details in free-text answers.
    settings : ReportSettings, optional
        The report's settings (interval, level, weighting); default ``ReportSettings()``.
    targets : sequence of Target, optional
        Default: the targets file; only those of the exported questionnaires are used.
    progress : callable, optional
        Called with the fraction done (0..1).

    Returns
    -------
    ExportResult

    Raises
    ------
    ExportError
        An unknown format, language or questionnaire, a file name with the wrong suffix, a
        folder that does not exist or cannot be written, no interviews to export.
    survey_app.auth.PermissionDeniedError
        The user may not export (or keep contact details).

    Examples
    --------
    >>> export_data(accounts, user, store, "survey.sav", format="sav", language="en")  # doctest: +SKIP
    >>> # In R: source("analysis.R") of the "r" bundle builds svydesign(ids = ~psu,
    >>> #       strata = ~sample_district, weights = ~design_weight, nest = TRUE, data = ...)
    """
    from analysis.targets import load_targets
    from survey_app.auth import export_responses
    from survey_app.demo import without_mixed_demo
    from survey_app.reporting import ReportSettings, build_report, with_stored_design_weights
    from survey_app.review import available_questionnaires, excluded_interviews
    from survey_app.store import display_url

    _check_choice("format", format, EXPORT_FORMATS)
    _check_choice("language", language, LABEL_LANGUAGES)
    if not isinstance(keep_personal_data, bool):
        raise ExportError(f"keep_personal_data={keep_personal_data!r}; give True or False")
    out = _output_path(out, format)
    report = progress or (lambda fraction: None)
    forms = available_questionnaires(store)
    if questionnaire_id is not None and questionnaire_id not in forms:
        raise ExportError(f"questionnaire {questionnaire_id!r} is not known; choose one of {', '.join(sorted(forms))}")
    settings = settings or ReportSettings()
    chosen = [t for t in (targets if targets is not None else load_targets(questionnaires=forms))
              if questionnaire_id is None or t.questionnaire == questionnaire_id]
    contact_details = "keep" if keep_personal_data else "remove"
    with _replacing(out) as temporary:
        report(0.05)
        frame = export_responses(accounts, user, store, questionnaire_id=questionnaire_id, wave=wave,
                                 contact_details=contact_details,
                                 purpose=f"{format} export to {out.name} (labels {language})")
        frame = with_stored_design_weights(without_mixed_demo(frame), url=store.url)
        if frame.empty:
            raise ExportError(f"no submitted interviews to export ({'wave ' + wave if wave else 'all waves'}"
                              f"{', questionnaire ' + questionnaire_id if questionnaire_id else ''}); "
                              "choose another wave or questionnaire")
        report(0.2)
        used = {qid: forms[qid] for qid in dict.fromkeys(frame["questionnaire_id"].dropna()) if qid in forms}
        tables = build_report(frame, settings=settings, targets=[t for t in chosen if t.questionnaire in used],
                              questionnaires=forms, source=display_url(store.url), wave=wave,
                              exclusions=excluded_interviews(store, wave=wave), frequencies=False,
                              text_answers=False)
        report(0.5)
        data = labelled_data(frame, tables, used, language=language, contact_details=contact_details)
        report(0.7)
        _WRITERS[format](data, temporary)
        report(1.0)
    return ExportResult(path=out, format=format, rows=len(data.frame), columns=len(data.frame.columns),
                        questionnaires=tuple(used), wave=wave, language=language, contact_details=contact_details,
                        demonstration=tables.demonstration)


# -- the labelled table -------------------------------------------------------------------------

def labelled_data(responses: pd.DataFrame, tables: ReportTables, questionnaires: Mapping[str, Questionnaire], *,
                  language: LabelLanguage = "zh", contact_details: str = "remove") -> LabelledData:
    """The export's table of ``responses`` (as the report read them) and ``tables`` (their report).

    Parameters
    ----------
    responses : pandas.DataFrame
        The interviews, as ``build_report`` was given them.
    tables : ReportTables
        ``build_report`` of ``responses``: its designs give the calibrated weights and the
        target indicators.
    questionnaires : mapping of str to Questionnaire
        The questionnaires of ``responses``.
    language : {"zh", "en"}
    contact_details : {"remove", "keep"}
        What was done to free-text answers (recorded in the codebook).
    """
    from questionnaires.answers import asked_frame
    from survey_app.reporting import FPC_COLUMN, WEIGHT_COLUMN, target_column

    _check_choice("language", language, LABEL_LANGUAGES)
    n = len(responses)
    columns: dict[str, Any] = {}
    missing: dict[str, np.ndarray] = {}
    variables: list[Variable] = []
    names: dict[str, str] = {}   # export name -> what it comes from, to refuse two alike

    def add(variable: Variable, values: Any, reasons: np.ndarray | None = None) -> None:
        if variable.name in names:
            raise ExportError(f"two columns would both be named {variable.name!r} ({names[variable.name]} and "
                              f"{variable.question or variable.name}); rename one of the questions")
        names[variable.name] = variable.question or variable.name
        variables.append(variable)
        columns[variable.name] = values
        if reasons is not None:
            missing[variable.name] = reasons

    for column, (zh, en, kind) in _METADATA.items():
        if column not in responses.columns:
            continue
        values = responses[column]
        if kind == "datetime":
            values = pd.to_datetime(values, utc=True).dt.tz_localize(None)
        else:
            values = values.astype(object).where(values.notna(), None)
        add(Variable(column, "metadata", kind, zh, en), values.to_numpy())

    # design variables: as respondent_designs forms them
    qids = responses["questionnaire_id"].to_numpy()
    consenting = ((responses["consent"] == "yes").to_numpy() if "consent" in responses.columns
                  else np.ones(n, dtype=bool))
    add(Variable(_RESPONDENT[0], "design", "binary", *_RESPONDENT[1:],
                 values=_labelled_values(_CHOSEN_LABELS, ("否", "no"), ("是", "yes"))),
        consenting.astype(float))
    base = (responses[WEIGHT_COLUMN].to_numpy(dtype=float)
            if WEIGHT_COLUMN in responses.columns and responses[WEIGHT_COLUMN].notna().any() else np.ones(n))
    add(Variable(_DESIGN_WEIGHT[0], "design", "number", *_DESIGN_WEIGHT[1:]), base)
    if FPC_COLUMN in responses.columns and responses[FPC_COLUMN].notna().any():
        add(Variable(_FPC[0], "design", "number", *_FPC[1:]), responses[FPC_COLUMN].to_numpy(dtype=float))
    positions = {qid: np.flatnonzero((qids == qid) & consenting) for qid in tables.designs}
    if tables.settings.weighting != "none":
        calibrated = np.full(n, np.nan)
        for qid, design in tables.designs.items():
            calibrated[positions[qid]] = design.weights.to_numpy()
        how = "事后分层" if tables.settings.weighting == "poststratify" else "耙式校准"
        add(Variable(_CALIBRATED[0], "design", "number",
                     f"{_CALIBRATED[1]}（{how}：{', '.join(tables.settings.margins)}）",
                     f"{_CALIBRATED[2]} ({tables.settings.describe_weighting()})"), calibrated)

    # questions, in questionnaire order; a name shared by several questionnaires is one column
    asked = {qid: (np.flatnonzero(qids == qid), asked_frame(form, responses.iloc[np.flatnonzero(qids == qid)]))
             for qid, form in questionnaires.items()}
    seen: dict[str, list[str]] = {}
    for qid, form in questionnaires.items():
        for question in form.questions:
            if question.type != "note" and question.name in responses.columns:
                seen.setdefault(question.name, []).append(qid)
    for name, owners in seen.items():
        form = questionnaires[owners[0]]
        question = form.question(name)
        raw = responses[name]
        reasons = _missing_reasons(raw, name, owners, asked, n)
        label = (question.label.zh, question.label.get("en")) if question.label is not None else (name, name)
        if question.type == "select_one":
            codes = _codes([questionnaires[q] for q in owners], name, raw)
            add(Variable(_export_name(name), "question", "category", *label, question=name,
                         questionnaires=tuple(owners), values=codes),
                raw.astype(object).where(_answered(raw), None).to_numpy(), reasons)
        elif question.type == "select_multiple":
            chosen = _selections(raw)
            for code, zh, en in _choice_labels([questionnaires[q] for q in owners], name, raw):
                values = np.array([np.nan if s is None else float(code in s) for s in chosen])
                add(Variable(_export_name(f"{name}_{code}"), "choice", "binary", f"{label[0]}：{zh}",
                             f"{label[1]}: {en}", question=name, questionnaires=tuple(owners), choice=code,
                             values=_labelled_values(_CHOSEN_LABELS)), values, reasons)
        elif question.type in _NUMBER_TYPES:
            values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
            add(Variable(_export_name(name), "question", _NUMBER_TYPES[question.type], *label, question=name,
                         questionnaires=tuple(owners)), values, reasons)
        elif question.type in _DATE_TYPES:
            stamps = pd.to_datetime(raw, errors="coerce", utc=True).dt.tz_localize(None)
            kind = _DATE_TYPES[question.type]
            add(Variable(_export_name(name), "question", kind, *label, question=name, questionnaires=tuple(owners)),
                (stamps.dt.normalize() if kind == "date" else stamps).to_numpy())
        else:  # free text, and any type kept as written
            add(Variable(_export_name(name), "question", "text", *label, question=name,
                         questionnaires=tuple(owners)), raw.astype(object).where(_answered(raw), None).to_numpy())

    # answers no questionnaire defines (kept as text, as the minimisation treated them)
    known = set(_METADATA) | set(seen) | {WEIGHT_COLUMN, FPC_COLUMN, "pi_psu", "pi_within", "design_weight"}
    for column in responses.columns:
        if column not in known:
            raw = responses[column]
            add(Variable(_export_name(column), "other", "text", column, column, question=column),
                raw.astype(object).where(_answered(raw), None).to_numpy())

    # target indicators, as the report estimates them
    for assessment in tables.assessments:
        target = assessment.target
        design = tables.designs.get(target.questionnaire)
        values = np.full(n, np.nan)
        if design is not None:
            values[positions[target.questionnaire]] = design.data[target_column(target.id)].to_numpy(dtype=float)
        statistic = "proportion" if target.statistic == "proportion" else "mean"
        zh = f"目标指标：{target.label.zh}（{'1 = 达到' if statistic == 'proportion' else '数值'}；分母以外为空）"
        en = (f"Target indicator: {target.label.get('en')} ("
              + ("1 = success" if statistic == "proportion" else "value") + "; empty outside the denominator)")
        add(Variable(_export_name(f"target_{target.id}"), "target", "binary" if statistic == "proportion" else "number",
                     zh, en, question=target.question, questionnaires=(target.questionnaire,),
                     values=_labelled_values(_SUCCESS_LABELS) if statistic == "proportion" else ()), values)
    frame = pd.DataFrame(columns, index=pd.RangeIndex(n))
    return LabelledData(frame=frame, missing=missing, variables=tuple(variables), language=language, report=tables,
                        questionnaires=dict(questionnaires), contact_details=contact_details)


def _labelled_values(labels: Mapping[int, tuple[str, str]], *replace: tuple[str, str]
                     ) -> tuple[tuple[int, str, str, str], ...]:
    texts = list(replace) + list(labels.values())[len(replace):]
    return tuple((value, str(value), zh, en) for value, (zh, en) in zip(labels, texts))


def _answered(values: pd.Series) -> np.ndarray:
    """Not missing and not blank text."""
    array = values.to_numpy(dtype=object)
    return np.array([not (v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA
                          or (isinstance(v, str) and not v.strip())) for v in array], dtype=bool)


def _missing_reasons(raw: pd.Series, name: str, owners: Sequence[str],
                     asked: Mapping[str, tuple[np.ndarray, pd.DataFrame]], n: int) -> np.ndarray:
    """Per row: 0 answered, NO_ANSWER asked and unanswered, NOT_ASKED (skip logic, or another questionnaire)."""
    was_asked = np.zeros(n, dtype=bool)
    for qid in owners:
        rows, table = asked[qid]
        if name in table.columns:
            was_asked[rows] = table[name].to_numpy()
    reasons = np.where(was_asked, NO_ANSWER, NOT_ASKED)
    reasons[_answered(raw)] = 0
    return reasons


def _selections(raw: pd.Series) -> list[set[str] | None]:
    return [set(v.split()) if isinstance(v, str) and v.strip() else None for v in raw.to_numpy(dtype=object)]


def _choice_labels(forms: Sequence[Questionnaire], name: str, raw: pd.Series) -> list[tuple[str, str, str]]:
    """(code, zh, en) of every option of the question in ``forms``, then codes only the answers use."""
    found: dict[str, tuple[str, str]] = {}
    for form in forms:
        for choice in form.choices(form.question(name)):
            found.setdefault(choice.name, (choice.label.zh, choice.label.get("en")))
    used: set[str] = set()
    kind = forms[0].question(name).type
    for value in raw.dropna().to_numpy(dtype=object):
        if isinstance(value, str):
            used.update(value.split() if kind == "select_multiple" else [value])
    for code in sorted(used - set(found)):
        found[code] = (code, code)
    return [(code, zh, en) for code, (zh, en) in found.items()]


def _codes(forms: Sequence[Questionnaire], name: str, raw: pd.Series) -> tuple[tuple[int, str, str, str], ...]:
    """Each code's number in SPSS/Stata: the code itself when every code is a whole number
    (other than the missing codes), else its position in the list (1, 2, ...)."""
    labels = _choice_labels(forms, name, raw)
    whole = all(re.fullmatch(r"-?\d{1,9}", code) for code, _, _ in labels) \
        and not {int(code) for code, _, _ in labels} & set(_MISSING_LABELS)
    return tuple((int(code) if whole else k, code, zh, en) for k, (code, zh, en) in enumerate(labels, start=1))


def _export_name(name: str) -> str:
    """``name`` as a column every format accepts: letters, digits and ``_``, starting with a
    letter, at most 29 characters (a longer name keeps its start and a short hash), not a
    word SPSS or Stata reserves."""
    safe = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if not re.match(r"[A-Za-z]", safe):
        safe = "v" + safe
    if len(safe) > _MAX_NAME:
        safe = safe[:_MAX_NAME - 7] + "_" + hashlib.sha1(name.encode()).hexdigest()[:6]
    if safe.lower() in _RESERVED:
        safe += "_"
    return safe


# -- writers --------------------------------------------------------------------------------

def _numeric_frame(data: LabelledData, *, stata: bool) -> pd.DataFrame:
    """The frame with choice codes as numbers; missing answers as the SPSS codes, or (``stata``)
    as Stata's extended missing letters."""
    out = {}
    for variable in data.variables:
        values = data.frame[variable.name]
        if variable.kind == "category":
            numbers = {code: float(value) for value, code, _, _ in variable.values}
            values = values.map(lambda code: numbers.get(code, np.nan) if code is not None else np.nan)
        elif variable.kind == "text":
            values = values.map(lambda v: "" if v is None else str(v))   # Stata and SPSS strings have no missing
        elif variable.kind == "date":
            values = values.map(lambda v: None if pd.isna(v) else v.date())
        if variable.name in data.missing:
            reasons = data.missing[variable.name]
            numeric = values.to_numpy(dtype=float)
            clash = np.isin(numeric, list(_MISSING_LABELS)) & (reasons == 0)
            if clash.any():
                raise ExportError(f"column {variable.name!r} has the answer {numeric[clash][0]:g}, which is a "
                                  f"missing-value code ({NOT_ASKED}, {NO_ANSWER}); export as csv or r instead")
            if stata:
                values = pd.Series([_STATA_MISSING[int(r)] if r else float(v) for r, v in zip(reasons, numeric)],
                                   index=values.index, dtype=object)
            else:
                values = pd.Series(np.where(reasons != 0, reasons, numeric), index=values.index)
        out[variable.name] = values
    return pd.DataFrame(out)


def _value_labels(data: LabelledData, *, with_missing: bool) -> dict[str, dict[int, str]]:
    lang = data.language
    labels: dict[str, dict[int, str]] = {}
    for variable in data.variables:
        own = {value: (zh if lang == "zh" else en) for value, _, zh, en in variable.values}
        if with_missing and variable.has_missing_codes:
            own.update({code: texts[0 if lang == "zh" else 1] for code, texts in _MISSING_LABELS.items()})
        if own:
            labels[variable.name] = own
    return labels


def _write_sav(data: LabelledData, path: Path) -> None:
    import pyreadstat

    frame = _numeric_frame(data, stata=False)
    labels = {name: {value: _clip_bytes(text, _MAX_SAV_VALUE_LABEL) for value, text in own.items()}
              for name, own in _value_labels(data, with_missing=True).items()}
    measure = {v.name: "nominal" if v.kind in ("category", "binary", "text") else "scale" for v in data.variables
               if v.kind not in ("datetime", "date")}
    pyreadstat.write_sav(frame, path, file_label=_clip_bytes(_file_label(data), 64),
                         column_labels={v.name: _clip_bytes(v.label(data.language), _MAX_SAV_LABEL)
                                        for v in data.variables},
                         variable_value_labels=labels,
                         missing_ranges={name: list(_MISSING_LABELS) for name in data.missing},
                         variable_measure=measure,
                         variable_format={v.name: "F8.0" for v in data.variables
                                          if v.kind in ("integer", "category", "binary")})


def _write_dta(data: LabelledData, path: Path) -> None:
    import pyreadstat

    frame = _numeric_frame(data, stata=True)
    pyreadstat.write_dta(frame, path, file_label=_clip(_file_label(data), 80), version=15,
                         column_labels={v.name: _clip(v.label(data.language), _MAX_STATA_LABEL)
                                        for v in data.variables},
                         variable_value_labels=_value_labels(data, with_missing=False),
                         missing_user_values={name: sorted(_STATA_MISSING.values()) for name in data.missing})


def _write_csv(data: LabelledData, path: Path) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        _add_csv_and_codebook(bundle, data)


def _write_r(data: LabelledData, path: Path) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        _add_csv_and_codebook(bundle, data)
        bundle.writestr("report_estimates.csv", _report_estimates(data).to_csv(index=False))
        bundle.writestr("analysis.R", r_script(data))


_WRITERS: Mapping[str, Callable[[LabelledData, Path], None]] = {
    "sav": _write_sav, "dta": _write_dta, "csv": _write_csv, "r": _write_r}


def _csv_frame(data: LabelledData) -> pd.DataFrame:
    """Codes as text, whole numbers without ``.0``, ISO dates; missing values empty."""
    out = {}
    for variable in data.variables:
        values = data.frame[variable.name]
        if variable.kind in ("integer", "binary"):
            numbers = values.to_numpy(dtype=float)
            if np.all(np.isnan(numbers) | (numbers == np.round(numbers))):
                values = pd.Series(pd.array(numbers, dtype="Float64").astype("Int64"), index=values.index)
        elif variable.kind == "datetime":
            values = pd.to_datetime(values).dt.strftime("%Y-%m-%d %H:%M:%S")
        elif variable.kind == "date":
            values = pd.to_datetime(values).dt.strftime("%Y-%m-%d")
        out[variable.name] = values
    return pd.DataFrame(out)


def _add_csv_and_codebook(bundle: zipfile.ZipFile, data: LabelledData) -> None:
    # through the app's one cell-safety rule (a spreadsheet opening them runs no formula), with a
    # byte-order mark so Excel shows the Chinese; R and pandas read them too
    bundle.writestr("data.csv", csv_bytes(_csv_frame(data)))
    bundle.writestr("codebook.json", json.dumps(data.codebook(), ensure_ascii=False, indent=1, default=_jsonable))
    bundle.writestr("codebook.csv", csv_bytes(data.codebook_frame()))


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _report_estimates(data: LabelledData) -> pd.DataFrame:
    """The report's headline numbers: every target's overall estimate, SE and interval."""
    overview = data.report.overview
    table = pd.DataFrame({
        "target": overview.index, "variable": [_export_name(f"target_{t}") for t in overview.index],
        "questionnaire": overview["questionnaire"].to_numpy(), "statistic": overview["statistic"].to_numpy(),
        "estimate": overview["estimate"].to_numpy(dtype=float), "se": overview["se"].to_numpy(dtype=float),
        "ci_low": overview["ci_low"].to_numpy(dtype=float), "ci_high": overview["ci_high"].to_numpy(dtype=float),
        "level": overview["level"].to_numpy(dtype=float), "ci_method": overview["ci_method"].to_numpy()})
    return table


def _file_label(data: LabelledData) -> str:
    tables = data.report
    text = ("南通放心消费调查数据" if data.language == "zh" else "Nantong consumer survey data") + \
        f" {tables.wave or 'all waves'} {tables.extracted_at:%Y-%m-%d}"
    return ("DEMO " if tables.demonstration else "") + text


def _clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending in "…" when cut."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _clip_bytes(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` bytes of UTF-8, ending in "…" when cut."""
    if len(text.encode("utf-8")) <= limit:
        return text
    while len((text + "…").encode("utf-8")) > limit:
        text = text[:-1]
    return text + "…"


# -- the R script ---------------------------------------------------------------------------

def _r(value: Any) -> str:
    """An R literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return repr(float(value))
    return r_string(value)


def _r_vector(values: Sequence[Any], width: int = 100) -> str:
    """``c(...)``, wrapped into lines of about ``width`` characters: Rscript reads a script in
    lines of 4096 bytes, and a longer line split inside a Chinese character does not parse."""
    lines, line = [], ""
    for item in (_r(v) for v in values):
        if line and len(line) + len(item) > width:
            lines.append(line)
            line = ""
        line += (", " if line else "") + item
    lines.append(line)
    return "c(" + ",\n    ".join(lines) + ")"


def _factor_labels(variable: Variable, lang: str) -> list[str]:
    texts = [zh if lang == "zh" else en for _, _, zh, en in variable.values]
    if len(set(texts)) < len(texts):  # R would merge levels with one label
        texts = [f"{text} ({code})" for text, (_, code, _, _) in zip(texts, variable.values)]
    return texts


def r_script(data: LabelledData) -> str:
    """``analysis.R`` of the R bundle: reads ``data.csv``, labels it, builds each
    questionnaire's design as the report does and prints every target's estimate, SE and
    interval beside the report's (``report_estimates.csv``)."""
    tables = data.report
    settings = tables.settings
    lang = data.language
    by_kind: dict[str, list[str]] = {}
    for variable in data.variables:
        by_kind.setdefault(variable.kind, []).append(variable.name)
    lines = [
        "# Generated by survey-toolkit (survey_app/exports.py) on "
        f"{tables.created_at:%Y-%m-%d %H:%M} UTC from {tables.source or 'the response database'}.",
        "# Run: Rscript analysis.R   (in this folder; needs the survey package, as tested with 4.1.1)",
        "# It labels the data, builds each questionnaire's svydesign from the design variables as the",
        "# satisfaction report does, and prints every target's estimate, SE and confidence interval",
        "# beside the report's own numbers (report_estimates.csv).",
    ]
    if tables.demonstration:
        lines.append("# DEMONSTRATION DATA (synthetic or demonstration margins): not for publication.")
    lines += [
        "suppressMessages(library(survey))",
        '# the data and labels are UTF-8',
        'if (!isTRUE(l10n_info()[["UTF-8"]])) invisible(Sys.setlocale("LC_CTYPE", "C.UTF-8"))',
        f"options(survey.lonely.psu = {_r(settings.lonely_psu)})",
        'here <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))',
        "here <- if (length(here)) dirname(normalizePath(here[1])) else getwd()",
        'd <- read.csv(file.path(here, "data.csv"), colClasses = "character", na.strings = "",',
        '              fileEncoding = "UTF-8-BOM", check.names = FALSE)',
        "",
        "# types",
        f"for (v in {_r_vector(by_kind.get('number', []) + by_kind.get('integer', []) + by_kind.get('binary', []))})"
        " d[[v]] <- as.numeric(d[[v]])",
        f"for (v in {_r_vector(by_kind.get('datetime', []))})"
        ' d[[v]] <- as.POSIXct(d[[v]], tz = "UTC", format = "%Y-%m-%d %H:%M:%S")',
        f"for (v in {_r_vector(by_kind.get('date', []))}) d[[v]] <- as.Date(d[[v]])",
        "",
        f"# factors, labelled in {'Chinese' if lang == 'zh' else 'English'} (codes: codebook.json)",
    ]
    for variable in data.variables:
        if variable.kind == "category":
            # codes as data.csv holds them (cell-safe)
            lines.append(f"d[[{_r(variable.name)}]] <- factor(d[[{_r(variable.name)}]], levels = "
                         f"{_r_vector([cell_text(c) for _, c, _, _ in variable.values])}, labels = "
                         f"{_r_vector(_factor_labels(variable, lang))})")
    lines += ["", "# variable labels (shown by RStudio's viewer and the labelled/haven packages)",
              "variable_labels <- " + _r_vector([v.label(lang) for v in data.variables]),
              "names(variable_labels) <- " + _r_vector([v.name for v in data.variables]),
              "for (v in names(variable_labels)) attr(d[[v]], \"label\") <- variable_labels[[v]]",
              ""]
    names = {v.name for v in data.variables}
    # margins keyed by the factor labels of the data
    margins = []
    for variable, counts in settings.margins.items():
        column = data.variable(_export_name(variable)) if _export_name(variable) in names else None
        labels = dict(zip([c for _, c, _, _ in column.values], _factor_labels(column, lang))) if column else {}
        margins.append((variable, [labels.get(code, code) for code in counts], list(counts.values())))
    lines += ["# population counts as a factor with the data's categories, in their order",
              "in_order <- function(pop, data) {",
              "  v <- names(pop)[1]",
              "  pop <- pop[match(levels(data[[v]]), pop[[v]]), , drop = FALSE]",
              "  pop[[v]] <- factor(pop[[v]], levels = levels(data[[v]]))",
              "  pop",
              "}",
              "",
              "# the report's design of one questionnaire: its consenting respondents"]
    lines.append("design_of <- function(qid, calibrate) {")
    lines.append("  dq <- droplevels(d[d$questionnaire_id == qid & d$respondent == 1, , drop = FALSE])")
    if "fpc" in names:
        lines.append("  fpc <- if (all(!is.na(dq$fpc))) ~fpc else NULL")
    else:
        lines.append("  fpc <- NULL")
    lines.append("  des <- svydesign(ids = ~psu, strata = ~sample_district, weights = ~design_weight, fpc = fpc,")
    lines.append("                   nest = TRUE, data = dq)")
    if settings.weighting != "none":
        pops = [f"in_order(data.frame({_export_name(var)} = {_r_vector(labels)}, Freq = {_r_vector(counts)}), dq)"
                for var, labels, counts in margins]
        lines.append("  if (calibrate) {")
        if settings.weighting == "rake":
            formulas = "list(" + ", ".join(f"~{_export_name(var)}" for var, _, _ in margins) + ")"
            lines.append(f"    des <- calibrate(des, {formulas}, list({', '.join(pops)}),")
            lines.append('                     calfun = "raking", epsilon = 1e-13, maxit = 200)')
        else:
            lines.append(f"    des <- postStratify(des, ~{_export_name(margins[0][0])}, {pops[0]})")
        lines.append("    # the calibrated weights of the export are the same")
        lines.append("    stopifnot(isTRUE(all.equal(as.numeric(weights(des)), dq$calibrated_weight,")
        lines.append("                               tolerance = 1e-8)))")
        lines.append("  }")
    lines += ["  des", "}", ""]
    calibrated = [qid for qid in tables.designs
                  if settings.weighting != "none" and (settings.calibrate is None or qid in settings.calibrate)]
    lines.append("designs <- list(")
    lines.append(",\n".join(f"  {_r(qid)} = design_of({_r(qid)}, calibrate = {_r(qid in calibrated)})"
                            for qid in tables.designs))
    lines.append(")")
    lines += [
        "",
        "# a target: its indicator's mean over the rows in its denominator (empty outside it: na.rm = TRUE",
        "# treats them as a domain), intervals on the degrees of freedom of the questionnaire's design",
        "estimate_target <- function(des, variable, statistic, method, level) {",
        '  f <- as.formula(paste0("~", variable))',
        "  m <- svymean(f, des, na.rm = TRUE)",
        "  est <- unname(coef(m)); se <- unname(SE(m)); df <- degf(des)",
        '  if (statistic == "mean") {',
        "    ci <- confint(m, df = df, level = level)",
        '  } else if (method == "wilson") {  # Wilson score interval on the design effective sample size',
        "    q <- qt(1 - (1 - level) / 2, df); n <- est * (1 - est) / se^2; z2n <- q^2 / n",
        "    half <- q * sqrt(est * (1 - est) / n + z2n / (4 * n)) / (1 + z2n)",
        "    ci <- (est + z2n / 2) / (1 + z2n) + c(-half, half)",
        "  } else {",
        "    ci <- confint(svyciprop(f, des, method = method, level = level, na.rm = TRUE))",
        "  }",
        '  if (statistic == "proportion") ci <- pmin(pmax(ci, 0), 1)  # the report keeps limits in [0, 1]',
        "  c(estimate = est, se = se, ci_low = unname(ci[1]), ci_high = unname(ci[2]))",
        "}",
        "",
        "targets <- data.frame(",
    ]
    overview = tables.overview
    rows = [(target, _export_name(f"target_{target}"), overview.loc[target, "questionnaire"],
             overview.loc[target, "statistic"]) for target in overview.index
            if overview.loc[target, "questionnaire"] in tables.designs]
    lines.append(f"  target = {_r_vector([r[0] for r in rows])},")
    lines.append(f"  variable = {_r_vector([r[1] for r in rows])},")
    lines.append(f"  questionnaire = {_r_vector([r[2] for r in rows])},")
    lines.append(f"  statistic = {_r_vector([r[3] for r in rows])}, stringsAsFactors = FALSE)")
    lines += [
        f"level <- {_r(settings.level)}",
        f"ci_method <- {_r(settings.ci_method)}",
        "results <- t(vapply(seq_len(nrow(targets)), function(i) estimate_target(",
        "  designs[[targets$questionnaire[i]]], targets$variable[i], targets$statistic[i], ci_method, level),",
        "  c(estimate = 0, se = 0, ci_low = 0, ci_high = 0)))",
        "results <- cbind(targets[c(\"target\", \"questionnaire\")], as.data.frame(results, row.names = NULL))",
        "",
        'cat(sprintf("estimates (R survey %s; level %s; proportions: %s)\\n", packageVersion("survey"), level,'
        " ci_method))",
        'cat("target,questionnaire,estimate,se,ci_low,ci_high\\n")',
        "for (i in seq_len(nrow(results))) {",
        '  cat(sprintf("%s,%s,%.17g,%.17g,%.17g,%.17g\\n", results$target[i], results$questionnaire[i],',
        "              results$estimate[i], results$se[i], results$ci_low[i], results$ci_high[i]))",
        "}",
        'cat("\\n")',
        'report <- read.csv(file.path(here, "report_estimates.csv"), stringsAsFactors = FALSE)',
        "report <- report[match(results$target, report$target), ]",
        'for (what in c("estimate", "se", "ci_low", "ci_high")) {',
        '  cat(sprintf("largest difference from the report, %s: %.3g\\n", what,',
        "              max(abs(results[[what]] - report[[what]]), na.rm = TRUE)))",
        "}",
    ]
    return "\n".join(lines) + "\n"


# -- files ----------------------------------------------------------------------------------

def _check_choice(name: str, value: Any, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ExportError(f"{name}={value!r} is not known; use one of {', '.join(allowed)}")


def _output_path(out: str | Path, format: str) -> Path:
    if not isinstance(out, (str, Path)) or not str(out).strip():
        raise ExportError(f"out={out!r}: give the path of the file to write")
    path = Path(out)
    suffix = SUFFIXES[format]
    if path.suffix.lower() != suffix:
        raise ExportError(f"{str(path)!r}: a {format} export is a {suffix} file; give a file name ending in {suffix}")
    if path.is_dir():
        raise ExportError(f"{str(path)!r} is a folder; give a file name ending in {suffix}")
    if not path.parent.is_dir():
        raise ExportError(f"cannot write {str(path)!r}: the folder {str(path.parent)!r} does not exist; create it "
                          "first or choose another")
    return path


@contextmanager
def _replacing(path: Path) -> Iterator[Path]:
    """A temporary file beside ``path``, renamed over it when the block succeeds and removed
    when it fails; a folder that cannot be written gives an :class:`ExportError` naming ``path``."""
    try:
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as error:
        raise ExportError(f"cannot write {str(path)!r}: {error.strerror or error}; choose a folder you may write "
                          "to") from None
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        try:
            os.replace(temporary, path)
        except OSError as error:
            raise ExportError(f"cannot write {str(path)!r}: {error.strerror or error}; choose another file "
                              "name or folder") from None
    finally:
        if temporary.exists():
            temporary.unlink()
