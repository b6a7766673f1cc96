"""XLSForm workbooks in and out of the questionnaire model.

:func:`read_xlsform` turns an XLSForm workbook (``survey``, ``choices`` and
``settings`` sheets) into a :class:`~questionnaires.model.Questionnaire`;
:func:`write_xlsform` writes any questionnaire back out as an XLSForm that
pyxform converts to an XForm, so a team can field it offline in ODK Collect or
KoboCollect. ``write_xlsform`` then ``read_xlsform`` gives back an equal
questionnaire.

The workbook is read cell by cell here, so every error names the sheet, the row
and the column; pyxform (the reference XLSForm converter) then validates the
same workbook. Only pyxform's public ``convert`` function and its errors are
used: its internal dictionary is not a stable API.

Layout written and read:

- ``survey``: ``type``, ``name``, ``label::中文 (zh)``, ``label::English (en)``,
  the same two columns for ``hint``, ``required_message`` and
  ``constraint_message``, and ``required`` (``yes``), ``relevant``,
  ``constraint``, ``appearance``. Each model group is a ``begin group`` ...
  ``end group`` block with ``appearance`` ``field-list`` (one tablet screen).
  ``start``, ``end`` and ``username`` metadata rows come first so that ODK and
  Kobo exports carry the interview's times and the interviewer.
- ``choices``: ``list_name``, ``name``, ``label::中文 (zh)``, ``label::English (en)``.
- ``settings``: ``form_id``, ``version``, ``form_title``, ``form_title_en``,
  ``default_language``. ODK has no translated form title (pyxform fails on
  ``form_title::English (en)``), so the English title goes to the extra
  ``form_title_en`` column, which pyxform ignores.

When reading, a plain ``label`` column (no language) is Chinese; language
columns may be written ``label::中文 (zh)``, ``label::Chinese (zh)`` or
``label::zh``. Metadata rows (``start``, ``end``, ``today``, ``deviceid``,
``username``, ...) are skipped. Not supported, and refused with the cell to fix:
repeats, nested groups, questions outside a group, question types other than
``select_one``, ``select_multiple``, ``integer``, ``decimal``, ``text`` and
``note``, dynamic ``required`` expressions and non-empty columns the model has
no field for (``calculation``, ``choice_filter``, ...). Columns starting with
``$`` or ``_`` (KoboToolbox bookkeeping such as ``$kuid``) are ignored.
"""
from __future__ import annotations

import io
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter
from pyxform.errors import PyXFormError
from pyxform.xls2xform import convert

from questionnaires.errors import QuestionnaireError
from questionnaires.model import LANGUAGES, Choice, Group, Question, Questionnaire, Text

__all__ = ["XLSFormError", "read_xlsform", "write_xlsform", "LANGUAGE_NAMES", "check_with_pyxform"]

#: The language names written in column headers (``label::中文 (zh)``) and in ``default_language``.
LANGUAGE_NAMES: dict[str, str] = {"zh": "中文 (zh)", "en": "English (en)"}
TITLE_EN_SETTING = "form_title_en"
_TRANSLATABLE = ("label", "hint", "required_message", "constraint_message")
_PLAIN_SURVEY_COLUMNS = ("type", "name", "required", "relevant", "constraint", "appearance")
_METADATA_TYPES = frozenset({
    "start", "end", "today", "deviceid", "subscriberid", "simserial", "phonenumber", "username", "email", "audit",
})
# Metadata written before the first group: (type, names to try); a later name is used
# when a group already has the first one. survey_app.importer knows all of them.
WRITTEN_METADATA: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("start", ("start", "interview_start")),
    ("end", ("end", "interview_end")),
    ("username", ("username", "interviewer_username")),
)
_YES = frozenset({"yes", "true", "true()", "1"})
_NO = frozenset({"no", "false", "false()", "0"})
_SELECT_PREFIXES = (
    ("select_one", "select_one"), ("select one", "select_one"),
    ("select_multiple", "select_multiple"), ("select all that apply", "select_multiple"),
)
_TYPE_ALIASES = {"integer": "integer", "int": "integer", "decimal": "decimal", "text": "text",
                 "string": "text", "note": "note"}
_ALLOWED_TYPES = "select_one LIST, select_multiple LIST, integer, decimal, text, note"
_XLSX_MAGIC = b"PK\x03\x04"


class XLSFormError(QuestionnaireError):
    """An XLSForm workbook cannot be read into the questionnaire model.

    Attributes
    ----------
    sheet : str
        The sheet at fault (``"survey"``, ``"choices"``, ``"settings"`` or ``"workbook"``).
    row : int or None
        The spreadsheet row number (the header is row 1).
    column : str or None
        The column header, e.g. ``"constraint"`` or ``"label::English (en)"``.
    """

    def __init__(self, message: str, *, sheet: str, row: int | None = None, column: str | None = None,
                 letter: str | None = None) -> None:
        self.sheet, self.row, self.column = sheet, row, column
        where = "workbook" if sheet == "workbook" else f"{sheet} sheet"
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column {letter} ({column})" if letter else f", column {column}"
        super().__init__(f"{where}: {message}")


# ---------------------------------------------------------------------------
# Reading


@dataclass
class _Sheet:
    """One sheet as header keys and rows of raw cell values."""

    name: str
    headers: dict[tuple[str, str | None], str]  # (base, language) -> header text as written
    letters: dict[tuple[str, str | None], str]
    rows: list[tuple[int, dict[tuple[str, str | None], Any]]] = field(default_factory=list)

    def error(self, message: str, row: int | None = None, key: tuple[str, str | None] | None = None,
              *, header: str | None = None) -> XLSFormError:
        column = header if key is None else self.headers.get(key, _canonical_header(key))
        return XLSFormError(message, sheet=self.name, row=row, column=column,
                            letter=None if key is None else self.letters.get(key))


def _canonical_header(key: tuple[str, str | None]) -> str:
    base, lang = key
    return base if lang is None else f"{base}::{LANGUAGE_NAMES[lang]}"


_LANGUAGE_CODE = re.compile(r"\(\s*([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)*\s*\)\s*$")


def _language_code(text: str) -> str | None:
    match = _LANGUAGE_CODE.search(text)
    code = (match.group(1) if match else re.split(r"[-_]", text.strip())[0]).lower()
    return code if code in LANGUAGES else None


def _read_sheet(worksheet: Any, name: str, translatable: tuple[str, ...]) -> _Sheet:
    rows = worksheet.iter_rows(values_only=True)
    header_row = next(rows, None) or ()
    sheet = _Sheet(name, {}, {})
    positions: list[tuple[int, tuple[str, str | None]]] = []
    for index, value in enumerate(header_row):
        letter = get_column_letter(index + 1)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        header = str(value).strip()
        if header.startswith(("$", "_")):
            continue  # KoboToolbox bookkeeping columns ($kuid, $autoname, ...)
        base, _, language = header.partition("::")
        base = base.strip().lower()
        if language:
            code = _language_code(language)
            if base not in translatable:
                if name == "settings" and base == "form_title":
                    raise XLSFormError(
                        "a translated form title is not supported by pyxform; keep the Chinese title in form_title "
                        f"and put the English one in a {TITLE_EN_SETTING} column",
                        sheet=name, row=1, column=header, letter=letter)
                raise XLSFormError(f"{base!r} is not a translatable column; remove '::{language}' from the header",
                                   sheet=name, row=1, column=header, letter=letter)
            if code is None:
                raise XLSFormError(
                    f"language {language!r} is not supported; use {LANGUAGE_NAMES['zh']!r} or "
                    f"{LANGUAGE_NAMES['en']!r}", sheet=name, row=1, column=header, letter=letter)
            key: tuple[str, str | None] = (base, code)
        else:
            # A label without language is the default (Chinese) text.
            key = (base, "zh") if base in translatable else (base, None)
        if key in sheet.headers:
            raise XLSFormError(f"duplicate column: {sheet.headers[key]!r} holds the same field; keep one of them",
                               sheet=name, row=1, column=header, letter=letter)
        sheet.headers[key] = header
        sheet.letters[key] = letter
        positions.append((index, key))
    for number, values in enumerate(rows, start=2):
        cells = {key: values[index] for index, key in positions if index < len(values)}
        cells = {key: value for key, value in cells.items() if not _blank(value)}
        if cells:
            sheet.rows.append((number, cells))
    return sheet


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _cell_text(sheet: _Sheet, number: int, key: tuple[str, str | None], value: Any) -> str:
    """A cell as text; numbers typed into Excel (a choice code 1) become '1'."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return repr(value)
    raise sheet.error(f"expected text, got {value!r} ({type(value).__name__}); format the cell as text",
                      number, key)


def _code(sheet: _Sheet, number: int, cells: Mapping, base: str) -> str | None:
    key = (base, None)
    return _cell_text(sheet, number, key, cells[key]).strip() if key in cells else None


def _text(sheet: _Sheet, number: int, cells: Mapping, base: str, *, required: bool = False) -> Text | None:
    values = {lang: _cell_text(sheet, number, (base, lang), cells[(base, lang)])
              for lang in LANGUAGES if (base, lang) in cells}
    if not values:
        if required:
            raise sheet.error(f"the {base} is empty; every row needs a Chinese {base}", number, (base, "zh"))
        return None
    if "zh" not in values:
        raise sheet.error(f"{base} has an English text but no Chinese one; fill in the Chinese {base}",
                          number, (base, "zh"))
    return Text(values["zh"], values.get("en"))


def _check_columns(sheet: _Sheet, allowed: set[tuple[str, str | None]]) -> None:
    for number, cells in sheet.rows:
        for key in cells:
            if key not in allowed:
                raise sheet.error(
                    "this column has no counterpart in the questionnaire model; empty it or delete the column "
                    "(supported: " + ", ".join(sorted({base for base, _ in allowed})) + ")", number, key)


@dataclass
class _Located:
    """Where each name was defined, to point model errors at a cell."""

    questions: dict[str, int] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)
    lists: dict[str, int] = field(default_factory=dict)


def read_xlsform(source: str | os.PathLike[str] | bytes | IO[bytes]) -> Questionnaire:
    """Read an XLSForm workbook (.xlsx) into a :class:`Questionnaire`.

    Parameters
    ----------
    source : path, bytes or binary file object
        The workbook: a file path, its bytes (e.g. an uploaded file) or an open binary file.

    Returns
    -------
    Questionnaire
        Groups, questions and choice lists as in the workbook; ``id`` and
        ``version`` from the settings sheet (``form_id``, ``version``), the
        title from ``form_title`` (and ``form_title_en``), ``languages`` from
        the language columns present.

    Raises
    ------
    XLSFormError
        If the workbook cannot be read or does not fit the model, or pyxform
        rejects it; the message names the sheet, row and column (``.sheet``,
        ``.row`` and ``.column`` hold them).

    Examples
    --------
    >>> import io
    >>> from questionnaires import shipped_questionnaires
    >>> form = shipped_questionnaires()["telecom_users"]
    >>> buffer = io.BytesIO()
    >>> write_xlsform(form, buffer)
    >>> read_xlsform(buffer.getvalue()) == form
    True
    """
    data = _source_bytes(source)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for a file that is not a workbook
        raise XLSFormError(f"not a readable .xlsx workbook ({type(error).__name__}: {error}); save it as .xlsx",
                           sheet="workbook") from None
    try:
        sheets = {worksheet.title.strip().lower(): worksheet for worksheet in workbook.worksheets}
        if "survey" not in sheets:
            raise XLSFormError(f"there is no survey sheet (sheets: {', '.join(workbook.sheetnames)}); "
                               "an XLSForm needs survey, choices and settings sheets", sheet="workbook")
        survey = _read_sheet(sheets["survey"], "survey", _TRANSLATABLE)
        choices = _read_sheet(sheets["choices"], "choices", ("label",)) if "choices" in sheets else None
        settings = _read_sheet(sheets["settings"], "settings", ()) if "settings" in sheets else None
    finally:
        workbook.close()
    questionnaire = _build(survey, choices, settings)
    check_with_pyxform(data)
    return questionnaire


def _source_bytes(source: Any) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        return bytes(source)
    if isinstance(source, (str, os.PathLike)):
        try:
            return Path(source).read_bytes()
        except OSError as error:
            raise XLSFormError(f"cannot read {source}: {error}; check the path", sheet="workbook") from None
    if hasattr(source, "read"):
        return source.read()
    raise TypeError(f"source must be a path, bytes or a binary file object, got {type(source).__name__}")


def check_with_pyxform(data: bytes) -> None:
    """Convert an XLSForm workbook with pyxform and raise :class:`XLSFormError` if pyxform rejects it."""
    if not data.startswith(_XLSX_MAGIC):
        raise XLSFormError("not an .xlsx workbook; save the form as .xlsx", sheet="workbook")
    try:
        convert(data, file_type=".xlsx", warnings=[])
    except PyXFormError as error:
        # newer pyxform errors carry their location; older ones only say it in the text
        context = getattr(error, "context", None) or {}
        text = str(error)
        row = context.get("row") or _search(r"\[row : (\d+)\]", text)
        raise XLSFormError(f"pyxform rejects the form: {text}",
                           sheet=context.get("sheet") or _search(r"On the '(\w+)' sheet", text) or "workbook",
                           row=None if row is None else int(row),
                           column=context.get("column") or _search(r"the '([^']+)' value", text)) from None
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        # pyxform crashes instead of reporting on some malformed workbooks
        raise XLSFormError(f"pyxform cannot convert the form ({type(error).__name__}: {error})",
                           sheet="workbook") from None


def _search(pattern: str, text: str) -> str | None:
    match = re.search(pattern, text)
    return match.group(1) if match else None


def _build(survey: _Sheet, choices: _Sheet | None, settings: _Sheet | None) -> Questionnaire:
    located = _Located()
    choice_lists = _read_choices(choices, located) if choices is not None else {}
    groups = _read_survey(survey, choice_lists, located, choices)
    form_id, version, (zh_title, en_title), default_language, settings_row = _read_settings(settings)
    languages = tuple(lang for lang in LANGUAGES if lang == "zh" or any(
        (base, lang) in sheet.headers for sheet in (survey, choices) if sheet is not None for base in _TRANSLATABLE))
    if en_title is None and "en" in languages:
        en_title = zh_title  # ODK shows its one form title in every language
    try:
        title = Text(zh_title, en_title)
        return Questionnaire(id=form_id, version=version, title=title, groups=tuple(groups),
                             choice_lists=choice_lists, default_language=default_language, languages=languages)
    except QuestionnaireError as error:
        raise _locate(str(error), survey, choices, settings, settings_row, located) from None


def _read_settings(settings: _Sheet | None) -> tuple[str, str, tuple[str, str | None], str, int]:
    if settings is None:
        raise XLSFormError("there is no settings sheet; add one with the columns form_id and version",
                           sheet="workbook")
    if not settings.rows:
        raise settings.error("no values under the header; write form_id and version in row 2", 2)
    number, cells = settings.rows[0]

    def value(base: str, *, required: bool, fix: str = "", strip: bool = True) -> str | None:
        key = (base, None)
        if key not in cells:
            if required:
                raise settings.error(f"{base} is missing{fix}", number, key)
            return None
        text = _cell_text(settings, number, key, cells[key])
        return text.strip() if strip else text

    form_id = value("form_id", required=True, fix="; give the questionnaire id, e.g. consumer_environment")
    version = value("version", required=True, fix="; give the form version, e.g. 1.0")
    zh_title = value("form_title", required=False, strip=False) or form_id
    en_title = value(TITLE_EN_SETTING, required=False, strip=False)
    default = value("default_language", required=False)
    default_language = "zh"
    if default is not None:
        default_language = _language_code(default)
        if default_language is None:
            raise settings.error(f"default_language {default!r} is not supported; use {LANGUAGE_NAMES['zh']!r} "
                                 f"or {LANGUAGE_NAMES['en']!r}", number, ("default_language", None))
    return form_id, version, (zh_title, en_title), default_language, number


def _read_choices(sheet: _Sheet, located: _Located) -> dict[str, tuple[Choice, ...]]:
    _check_columns(sheet, {("list_name", None), ("name", None), *(("label", lang) for lang in LANGUAGES)})
    lists: dict[str, list[Choice]] = {}
    for number, cells in sheet.rows:
        list_name = _code(sheet, number, cells, "list_name")
        name = _code(sheet, number, cells, "name")
        if list_name is None:
            raise sheet.error("list_name is empty; every choice belongs to a list", number, ("list_name", None))
        if name is None:
            raise sheet.error("name is empty; give the code stored for this choice", number, ("name", None))
        label = _text(sheet, number, cells, "label", required=True)
        existing = lists.setdefault(list_name, [])
        located.lists.setdefault(list_name, number)
        if any(choice.name == name for choice in existing):
            raise sheet.error(f"choice {name!r} appears twice in list {list_name!r}; names in a list must be unique",
                              number, ("name", None))
        try:
            existing.append(Choice(name=name, label=label))
        except QuestionnaireError as error:
            raise sheet.error(str(error), number, ("name", None)) from None
    return {list_name: tuple(items) for list_name, items in lists.items()}


def _read_survey(sheet: _Sheet, choice_lists: Mapping[str, tuple[Choice, ...]], located: _Located,
                 choices: _Sheet | None) -> list[Group]:
    _check_columns(sheet, {*((base, None) for base in _PLAIN_SURVEY_COLUMNS),
                           *((base, lang) for base in _TRANSLATABLE for lang in LANGUAGES)})
    groups: list[Group] = []
    open_group: tuple[int, dict] | None = None
    members: list[Question] = []
    for number, cells in sheet.rows:
        kind = _code(sheet, number, cells, "type")
        if kind is None:
            raise sheet.error("type is empty but the row has other values; give a type or clear the row",
                              number, ("type", None))
        word = " ".join(kind.lower().replace("_", " ").split())
        if word in ("begin group", "begin repeat", "end repeat"):
            if word != "begin group":
                raise sheet.error("repeats are not supported; one interview answers each question once",
                                  number, ("type", None))
            if open_group is not None:
                raise sheet.error(f"nested group: group opened in row {open_group[0]} is not closed; "
                                  "end it first (one group is one tablet screen)", number, ("type", None))
            open_group = (number, cells)
            members = []
        elif word == "end group":
            if open_group is None:
                raise sheet.error("end group without begin group", number, ("type", None))
            groups.append(_group(sheet, open_group, members, located))
            open_group = None
        elif kind.lower() in _METADATA_TYPES:
            continue
        else:
            question = _question(sheet, number, cells, kind, choice_lists, choices)
            if open_group is None:
                raise sheet.error("question outside a group; put it between begin group and end group rows "
                                  "(one group is one tablet screen)", number, ("type", None))
            if question.name in located.questions or question.name in located.groups:
                raise sheet.error(f"duplicate name {question.name!r}; names must be unique", number, ("name", None))
            located.questions[question.name] = number
            members.append(question)
    if open_group is not None:
        raise sheet.error("group is never closed; add an end group row", open_group[0], ("type", None))
    if not groups:
        raise sheet.error("no groups; put the questions between begin group and end group rows", None)
    return groups


def _group(sheet: _Sheet, opened: tuple[int, dict], members: list[Question], located: _Located) -> Group:
    number, cells = opened
    name = _code(sheet, number, cells, "name")
    if name is None:
        raise sheet.error("a group needs a name", number, ("name", None))
    if name in located.groups or name in located.questions:
        raise sheet.error(f"duplicate name {name!r}; names must be unique", number, ("name", None))
    unsupported = [base for base, _ in cells if base not in ("type", "name", "label", "relevant", "appearance")]
    if unsupported:
        raise sheet.error(f"a group takes only name, label, relevant and appearance; clear {unsupported[0]}",
                          number, next(key for key in cells if key[0] == unsupported[0]))
    label = _text(sheet, number, cells, "label", required=True)
    relevant = cells.get(("relevant", None))
    located.groups[name] = number
    try:
        return Group(name=name, label=label, questions=tuple(members),
                     relevant=None if relevant is None else _cell_text(sheet, number, ("relevant", None), relevant))
    except QuestionnaireError as error:
        raise sheet.error(str(error), number, _column_key(str(error), default=("name", None))) from None


def _question(sheet: _Sheet, number: int, cells: Mapping, kind: str,
              choice_lists: Mapping[str, tuple[Choice, ...]], choices: _Sheet | None) -> Question:
    question_type, list_name = _parse_type(sheet, number, kind)
    if list_name is not None and list_name not in choice_lists:
        where = "the choices sheet" if choices is not None else "a choices sheet (there is none)"
        raise sheet.error(f"choice list {list_name!r} is not defined; add it to {where}", number, ("type", None))
    name = _code(sheet, number, cells, "name")
    if name is None:
        raise sheet.error("name is empty; every question needs a name", number, ("name", None))
    required_text = _code(sheet, number, cells, "required")
    required = False
    if required_text is not None:
        if required_text.lower() in _YES:
            required = True
        elif required_text.lower() not in _NO:
            raise sheet.error(f"required must be yes or no, got {required_text!r} (conditional requirements are "
                              "not supported)", number, ("required", None))

    def expression(base: str) -> str | None:
        key = (base, None)
        return _cell_text(sheet, number, key, cells[key]) if key in cells else None

    try:
        return Question(
            type=question_type, name=name, list_name=list_name,
            label=_text(sheet, number, cells, "label", required=True),
            hint=_text(sheet, number, cells, "hint"),
            required=required,
            required_message=_text(sheet, number, cells, "required_message"),
            relevant=expression("relevant"),
            constraint=expression("constraint"),
            constraint_message=_text(sheet, number, cells, "constraint_message"),
            appearance=_code(sheet, number, cells, "appearance"),
        )
    except XLSFormError:
        raise
    except QuestionnaireError as error:
        raise sheet.error(str(error), number, _column_key(str(error), default=("type", None))) from None


def _parse_type(sheet: _Sheet, number: int, kind: str) -> tuple[str, str | None]:
    lowered = " ".join(kind.split())
    for prefix, question_type in _SELECT_PREFIXES:
        if lowered.lower().startswith(prefix + " "):
            rest = lowered[len(prefix):].split()
            if len(rest) != 1:
                raise sheet.error(f"type {kind!r}: write {question_type} LIST_NAME with one list name "
                                  "(or_other and from-file lists are not supported)", number, ("type", None))
            return question_type, rest[0]
    question_type = _TYPE_ALIASES.get(lowered.lower())
    if question_type is None:
        raise sheet.error(f"type {kind!r} is not supported; use one of {_ALLOWED_TYPES}", number, ("type", None))
    return question_type, None


_COLUMN_WORDS = ("required_message", "constraint_message", "relevant", "constraint", "required", "appearance",
                 "label", "hint", "name", "type")


def _column_key(message: str, *, default: tuple[str, str | None]) -> tuple[str, str | None]:
    """The column a model error message is about, from the field names it mentions."""
    for word in _COLUMN_WORDS:
        if re.search(rf"\b{word}\b", message):
            if word in _TRANSLATABLE:
                return word, "en" if "English (en)" in message else "zh"
            return word, None
    if "choice list" in message:
        return "type", None
    return default


_OWNER = re.compile(r"\b(question|group|choice list) '([^']+)'")


def _locate(message: str, survey: _Sheet, choices: _Sheet | None, settings: _Sheet | None, settings_row: int,
            located: _Located) -> XLSFormError:
    """Point an error of the whole questionnaire at the cell to fix."""
    owner = _OWNER.search(message)
    if owner is not None:
        kind, name = owner.groups()
        rest = message[owner.end():]
        if kind == "question" and name in located.questions:
            return survey.error(message, located.questions[name], _column_key(rest, default=("name", None)))
        if kind == "group" and name in located.groups:
            return survey.error(message, located.groups[name], _column_key(rest, default=("name", None)))
        if kind == "choice list" and choices is not None and name in located.lists:
            return choices.error(message, located.lists[name], ("label", "en" if "English" in rest else "zh"))
    if settings is not None:
        if "title" in message:
            return settings.error(message, settings_row, (TITLE_EN_SETTING, None))
        if "default_language" in message:
            return settings.error(message, settings_row, ("default_language", None))
        if "version" in message:
            return settings.error(message, settings_row, ("version", None))
        if "bad id" in message:
            return settings.error(message, settings_row, ("form_id", None))
    return XLSFormError(message, sheet="survey")


# ---------------------------------------------------------------------------
# Writing


def write_xlsform(questionnaire: Questionnaire, destination: str | os.PathLike[str] | IO[bytes]) -> None:
    """Write ``questionnaire`` as an XLSForm workbook that pyxform converts to an XForm.

    Parameters
    ----------
    questionnaire : Questionnaire
        A shipped or uploaded questionnaire.
    destination : path or binary file object
        Where to save the .xlsx workbook (a path, or e.g. an ``io.BytesIO`` for a download button).

    Notes
    -----
    Language columns are written for the questionnaire's ``languages``; an English
    text in a Chinese-only questionnaire has no column and is not written. Upload the
    workbook to ODK Central or KoboToolbox to field the questionnaire offline.

    Examples
    --------
    >>> import io
    >>> from questionnaires import shipped_questionnaires
    >>> buffer = io.BytesIO()
    >>> write_xlsform(shipped_questionnaires()["salt_consumers"], buffer)
    >>> buffer.getvalue()[:2]
    b'PK'
    """
    if not isinstance(questionnaire, Questionnaire):
        raise TypeError(f"questionnaire must be a Questionnaire, got {type(questionnaire).__name__}")
    languages = questionnaire.languages
    workbook = openpyxl.Workbook()
    survey = workbook.active
    survey.title = "survey"
    translated = {base: [f"{base}::{LANGUAGE_NAMES[lang]}" for lang in languages] for base in _TRANSLATABLE}
    header = ["type", "name", *translated["label"], *translated["hint"], "required", *translated["required_message"],
              "relevant", "constraint", *translated["constraint_message"], "appearance"]

    def texts(base: str, text: Text | None) -> dict[str, str | None]:
        return {column: None if text is None else (text.zh if lang == "zh" else text.en)
                for column, lang in zip(translated[base], languages)}

    rows: list[dict[str, Any]] = []
    taken = {group.name for group in questionnaire.groups}
    for kind, names in WRITTEN_METADATA:
        name = next((candidate for candidate in names if candidate not in taken), None)
        if name is not None:
            taken.add(name)
            rows.append({"type": kind, "name": name})
    for group in questionnaire.groups:
        rows.append({"type": "begin group", "name": group.name, **texts("label", group.label),
                     "relevant": group.relevant, "appearance": "field-list"})
        for question in group.questions:
            rows.append({
                "type": question.type if question.list_name is None else f"{question.type} {question.list_name}",
                "name": question.name,
                **texts("label", question.label),
                **texts("hint", question.hint),
                "required": "yes" if question.required else None,
                **texts("required_message", question.required_message),
                "relevant": question.relevant,
                "constraint": question.constraint,
                **texts("constraint_message", question.constraint_message),
                "appearance": question.appearance,
            })
        rows.append({"type": "end group", "name": group.name})
    _fill(survey, header, rows, questionnaire.id)

    choice_header = ["list_name", "name", *translated["label"]]
    choice_rows = [{"list_name": list_name, "name": choice.name, **texts("label", choice.label)}
                   for list_name, items in questionnaire.choice_lists.items() for choice in items]
    _fill(workbook.create_sheet("choices"), choice_header, choice_rows, questionnaire.id)

    settings_header = ["form_id", "version", "form_title", TITLE_EN_SETTING, "default_language"]
    settings_row = {"form_id": questionnaire.id, "version": questionnaire.version,
                    "form_title": questionnaire.title.zh, TITLE_EN_SETTING: questionnaire.title.en,
                    "default_language": LANGUAGE_NAMES[questionnaire.default_language]}
    _fill(workbook.create_sheet("settings"), settings_header, [settings_row], questionnaire.id)

    if isinstance(destination, (str, os.PathLike)):
        workbook.save(Path(destination))
    else:
        workbook.save(destination)


def _fill(worksheet: Any, header: list[str], rows: list[dict[str, Any]], form_id: str) -> None:
    worksheet.append(header)
    for number, row in enumerate(rows, start=2):
        for column, name in enumerate(header, start=1):
            value = row.get(name)
            if value is None:
                continue
            if ILLEGAL_CHARACTERS_RE.search(value):
                raise QuestionnaireError(
                    f"questionnaire {form_id!r}: {worksheet.title} row {number}, {name}: {value!r} holds a control "
                    "character that a workbook cannot store; remove it from the definition")
            cell = worksheet.cell(row=number, column=column, value=value)
            # openpyxl would store a text starting with '=' as a formula
            cell.data_type = "s"
    worksheet.freeze_panes = "A2"
