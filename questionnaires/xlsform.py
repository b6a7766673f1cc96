"""XLSForm workbooks in and out of the questionnaire model.

:func:`read_xlsform` reads an XLSForm workbook with pyxform's own parser
(``workbook_to_json``, the reading step of ``pyxform.xls2xform.convert``) and
builds its XForm, so a workbook loads exactly when pyxform accepts it, with
pyxform's header aliases (``list name``, ``label:English``), type aliases
(``select one from LIST``, ``select all that apply``, ``photo``), ``or_other``,
languages and settings. The resulting form dictionary is turned into a
:class:`~questionnaires.model.Questionnaire`. :func:`write_xlsform` writes any
questionnaire back out as an XLSForm that pyxform converts to an XForm, so a
team can field it offline in ODK Collect or KoboCollect; ``write_xlsform`` then
``read_xlsform`` gives back an equal questionnaire. pyxform is pinned in
``requirements.txt``: its form dictionary is not a promised interface.

What is read:

- groups, nested groups and repeats (``begin repeat``); questions outside any
  group are held by an implicit group that is not written back;
- every question type pyxform knows, aliases read as XLSForm's names
  (``photo`` -> ``image``, ``int`` -> ``integer``); ``select_one_from_file``
  and ``select_one_external`` keep their file or list name (the choices are
  outside the workbook); ``or_other`` becomes the ``other`` choice and the
  ``NAME_other`` text question pyxform adds;
- metadata rows (``start``, ``end``, ``today``, ``deviceid``, ``username``, ...)
  as questions of those types, where they were;
- ``label``, ``hint``, ``required_message`` and ``constraint_message`` in any
  number of languages, keyed by the language names as written (``English (en)``,
  ``Português (pt)``, ``default`` for a column without language); the project's
  own ``中文 (zh)`` and ``English (en)`` columns are the model's ``zh`` and ``en``;
- ``required`` (yes/no or an expression), ``relevant``, ``constraint``,
  ``calculation``, ``default``, ``read_only``, ``choice_filter``, ``parameters``,
  ``appearance``; other columns (``media::image``, ``bind::...``,
  ``repeat_count``, ...) are kept as written and written back;
- settings: ``form_id`` (else the file name, else ``data``), ``version`` (else
  a digest of the form, so two different forms never share a version),
  ``form_title``, ``default_language`` and the others as written; the
  ``external_choices``, ``entities`` and ``osm`` sheets are kept as written.

Layout written for the project's own questionnaires:

- ``survey``: ``type``, ``name``, ``label::中文 (zh)``, ``label::English (en)``,
  the same two columns for ``hint``, ``required_message`` and
  ``constraint_message``, and ``required`` (``yes``), ``relevant``,
  ``constraint``, ``appearance``. Each model group is a ``begin group`` ...
  ``end group`` block with ``appearance`` ``field-list`` (one tablet screen).
  ``start``, ``end`` and ``username`` metadata rows come first so that ODK and
  Kobo exports carry the interview's times and the interviewer, unless the form
  has rows of those types already; the settings column ``toolkit_metadata``
  names the rows added, so reading the workbook back leaves them out.
- ``choices``: ``list_name``, ``name``, ``label::中文 (zh)``, ``label::English (en)``.
- ``settings``: ``form_id``, ``version``, ``form_title``, ``form_title_en``,
  ``default_language``. ODK has no translated form title (pyxform fails on
  ``form_title::English (en)``), so the English title goes to the extra
  ``form_title_en`` column, which pyxform ignores.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from pyxform.builder import create_survey_element_from_dict
from pyxform.errors import PyXFormError
from pyxform.xls2json import workbook_to_json
from pyxform.xls2json_backends import get_xlsform

from questionnaires.errors import QuestionnaireError
from questionnaires.model import (
    FILE_LIST_TYPES, LANGUAGES, LIST_TYPES, METADATA_TYPES, QUESTION_TYPES, Choice, Group, Question, Questionnaire,
    Text,
)

__all__ = ["XLSFormError", "read_xlsform", "write_xlsform", "LANGUAGE_NAMES", "check_with_pyxform", "form_counts"]

#: The language names written in column headers (``label::中文 (zh)``) and in ``default_language``.
LANGUAGE_NAMES: dict[str, str] = {"zh": "中文 (zh)", "en": "English (en)"}
_LANGUAGE_KEYS = {name: code for code, name in LANGUAGE_NAMES.items()}
TITLE_EN_SETTING = "form_title_en"
ADDED_METADATA_SETTING = "toolkit_metadata"
_TRANSLATABLE = ("label", "hint", "required_message", "constraint_message")
# Metadata written before the first group: (type, names to try); a later name is used
# when the form already uses the first one. survey_app.importer knows all of them.
WRITTEN_METADATA: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("start", ("start", "interview_start")),
    ("end", ("end", "interview_end")),
    ("username", ("username", "interviewer_username")),
)
_XLSX_MAGIC = b"PK\x03\x04"
# Sheets the model does not read but keeps as written, so the written-back form still has them.
_KEPT_SHEETS = ("external_choices", "entities", "osm")
_YES = frozenset({"yes", "true", "true()", "1"})
_NO = frozenset({"no", "false", "false()", "0"})
# pyxform's names of a type (its aliases resolved to the type dictionary) -> XLSForm's name
_TYPES = {
    "select one": "select_one", "select all that apply": "select_multiple",
    "select one external": "select_one_external",
    "int": "integer", "string": "text", "trigger": "acknowledge", "dateTime": "datetime", "date time": "datetime",
    "gps": "geopoint", "location": "geopoint", "photo": "image", "device id": "deviceid", "uri:deviceid": "deviceid",
    "imei": "deviceid", "phone number": "phonenumber", "uri:phonenumber": "phonenumber", "sim id": "simserial",
    "uri:simserial": "simserial", "subscriber id": "subscriberid", "uri:subscriberid": "subscriberid",
    "uri:username": "username", "uri:email": "email", "start time": "start", "end time": "end", "get today": "today",
    "get start time": "start", "get end time": "end", "get device id": "deviceid", "get phone number": "phonenumber",
    "get sim id": "simserial", "get subscriber id": "subscriberid",
}
_FILE_EXTENSIONS = (".csv", ".xml", ".geojson")
# Keys of pyxform's question dictionary that the model reads into fields (the rest are kept as columns).
_READ_KEYS = frozenset({"type", "name", "label", "hint", "bind", "control", "children", "itemset", "list_name",
                        "choices", "parameters", "default", "choice_filter", "media"})
# Keys pyxform adds by itself (from the type or another sheet): not columns of the survey sheet.
_GENERATED_KEYS = frozenset({"actions", "query", "__row_number"})
_BIND_FIELDS = {"required", "relevant", "constraint", "calculate", "readonly", "jr:requiredMsg", "jr:constraintMsg"}
_SETTINGS_READ = frozenset({"type", "name", "title", "id_string", "sms_keyword", "default_language", "children",
                            "version", "choices", TITLE_EN_SETTING, ADDED_METADATA_SETTING})
_SETTING_COLUMNS = {"id_string": "form_id", "title": "form_title"}


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


def read_xlsform(source: str | os.PathLike[str] | bytes | IO[bytes]) -> Questionnaire:
    """Read an XLSForm workbook (.xlsx) into a :class:`Questionnaire`.

    Parameters
    ----------
    source : path, bytes or binary file object
        The workbook: a file path, its bytes (e.g. an uploaded file) or an open binary file.

    Returns
    -------
    Questionnaire
        Groups, questions and choice lists as pyxform reads them; ``id`` and
        ``version`` from the settings sheet (``form_id``, ``version``), the
        title from ``form_title`` (and ``form_title_en``), ``languages`` from
        the language columns present.

    Raises
    ------
    XLSFormError
        If the workbook cannot be read, pyxform rejects it, or it holds
        something the model cannot (pyxform's ``loop``); the message names the sheet, row and column
        (``.sheet``, ``.row`` and ``.column`` hold them) and says what to change.

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
    data, stem = _source_bytes(source)
    definition, rows = _pyxform_definition(data, stem)
    return _Reader(definition, rows).questionnaire()


def _source_bytes(source: Any) -> tuple[bytes, str | None]:
    if isinstance(source, (bytes, bytearray)):
        return bytes(source), None
    if isinstance(source, (str, os.PathLike)):
        try:
            return Path(source).read_bytes(), Path(source).stem
        except OSError as error:
            raise XLSFormError(f"cannot read {source}: {error}; check the path", sheet="workbook") from None
    if hasattr(source, "read"):
        return source.read(), None
    raise TypeError(f"source must be a path, bytes or a binary file object, got {type(source).__name__}")


def check_with_pyxform(data: bytes) -> None:
    """Convert an XLSForm workbook with pyxform and raise :class:`XLSFormError` if pyxform rejects it."""
    _pyxform_definition(data, None)


# pyxform's messages with the change that makes the form valid, where its own text does not say it
_ADVICE = (
    (re.compile(r"The name '(\w+)' is reserved"), "rename the row named {0!r} (e.g. {0}_group) and the ${{{0}}} "
                                                   "references to it"),
    (re.compile(r"There are multiple survey elements named '([^']+)'"),
     "give the elements named {0!r} different names, or refer to the one meant with a relative path"),
    (re.compile(r"Choice names must be unique"), "give each choice of a list its own name, or add an "
                                                 "allow_choice_duplicates column with 'yes' to the settings sheet"),
    (re.compile(r"You must have a sheet named 'survey'"), "there is no survey sheet; name the sheet with the "
                                                          "questions 'survey'"),
)


def _advice(text: str) -> str:
    for pattern, advice in _ADVICE:
        match = pattern.search(text)
        if match:
            return "; " + advice.format(*match.groups())
    return ""


def _pyxform_definition(data: bytes, stem: str | None) -> tuple[dict, dict[str, list[dict]]]:
    """pyxform's form dictionary and the raw sheet rows, after pyxform has built the XForm."""
    if not data.startswith(_XLSX_MAGIC):
        raise XLSFormError("not a readable .xlsx workbook (not an .xlsx file); save the form as .xlsx",
                           sheet="workbook")
    rows: dict[str, list[dict]] = {}
    try:
        workbook = get_xlsform(data, file_type=".xlsx")
        rows = {sheet: list(getattr(workbook, sheet) or [])
                for sheet in ("survey", "choices", "settings", *_KEPT_SHEETS)}
        for sheet in ("survey", "choices", "settings"):
            setattr(workbook, sheet, [_hide_quotes(row) for row in getattr(workbook, sheet) or []])
        definition = _show_quotes(workbook_to_json(workbook_dict=workbook, fallback_form_name=stem, warnings=[]))
        # building the XForm runs pyxform's remaining checks (references, names)
        create_survey_element_from_dict(copy.deepcopy(definition)).to_xml(validate=False, warnings=[])
    except PyXFormError as error:
        # newer pyxform errors carry their location; older ones only say it in the text
        context = getattr(error, "context", None) or {}
        text = str(error).strip()
        row = context.get("row") or _search(r"\[row : (\d+)\]", text)
        raise XLSFormError(f"pyxform rejects the form: {text}{_advice(text)}",
                           sheet=context.get("sheet") or _search(r"On the '(\w+)' sheet", text) or (
                               "survey" if row else "workbook"),
                           row=None if row is None else int(row),
                           column=context.get("column") or _search(r"the '([^']+)' value", text)) from None
    except Exception as error:  # pyxform crashes instead of reporting on some workbooks
        clash = re.search(r"got multiple values for (?:keyword )?argument '(\w+)'", str(error))
        if clash:
            column = f"instance::{clash.group(1)}"
            used = [index for index, row in enumerate(rows.get("survey", []), start=2) if _cell(row, column)]
            groups = [index for index in used if "begin" in str(_cell(rows["survey"][index - 2], "type")).lower()]
            raise XLSFormError(
                f"pyxform cannot convert the form: the {column} column gives a group's XML an attribute named "
                f"{clash.group(1)!r}, which pyxform cannot write; rename or remove the {column} column (at least "
                "on the groups)", sheet="survey", row=(groups or used or [None])[0], column=column) from None
        raise XLSFormError(
            f"pyxform cannot convert the form ({type(error).__name__}: {error}); ODK Collect cannot use it either. "
            "Check the columns that pass XML to the form (instance::, bind::, body:: and control:: columns) and "
            "the settings sheet, or convert the form on https://getodk.org/xlsform to see which row fails",
            sheet="workbook") from None
    return definition, rows


# pyxform straightens typographic quotes in every cell; texts keep them (they are shown as written),
# expressions get the straight quotes XPath needs.
_QUOTES = {"\u2018": "\ue018", "\u2019": "\ue019", "\u201c": "\ue01c", "\u201d": "\ue01d"}
_HIDDEN = re.compile("|".join(_QUOTES))
_SHOWN = re.compile("|".join(_QUOTES.values()))
_BACK = {hidden: quote for quote, hidden in _QUOTES.items()}
_TEXT_COLUMNS = re.compile(r"\s*(label|hint|guidance_hint|guidance hint|constraint_message|constraint message|"
                           r"required_message|required message|jr:constraintmsg|jr:requiredmsg|form_title|"
                           r"title)\s*($|:)", re.IGNORECASE)


def _hide_quotes(row: dict) -> dict:
    return {key: _HIDDEN.sub(lambda match: _QUOTES[match.group(0)], value)
            if isinstance(value, str) and isinstance(key, str) and _TEXT_COLUMNS.match(key) else value
            for key, value in row.items()}


def _show_quotes(value: Any) -> Any:
    if isinstance(value, str):
        # pyxform's own values may be str enums: only texts with hidden quotes are rebuilt
        return _SHOWN.sub(lambda match: _BACK[match.group(0)], value) if _SHOWN.search(value) else value
    if isinstance(value, list):
        return [_show_quotes(item) for item in value]
    if isinstance(value, dict):
        return {key: _show_quotes(item) for key, item in value.items()}
    return value


def _search(pattern: str, text: str) -> str | None:
    match = re.search(pattern, text)
    return match.group(1) if match else None


def _digest(definition: dict) -> str:
    return hashlib.sha256(json.dumps(definition, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:12]


class _Reader:
    """pyxform's form dictionary -> Questionnaire, with errors pointed at the workbook's cells."""

    def __init__(self, definition: dict, rows: dict[str, list[dict]]) -> None:
        self.definition = definition
        self.rows = rows
        self.default_language = definition.get("default_language") or "default"
        self.languages: dict[str, None] = {}
        self.added = set((definition.get(ADDED_METADATA_SETTING) or "").split())

    # -- texts ---------------------------------------------------------------

    def language(self, name: str) -> str:
        key = _LANGUAGE_KEYS.get(name, name)
        self.languages.setdefault(key)
        return key

    def text(self, value: Any) -> Text | None:
        if isinstance(value, str):
            return Text(texts={self.language(self.default_language): value}) if value.strip() else None
        if isinstance(value, Mapping):
            texts = {self.language(lang): text for lang, text in value.items()
                     if isinstance(text, str) and text.strip()}
            return Text(texts=texts) if texts else None
        return None

    # -- the whole form --------------------------------------------------------

    def questionnaire(self) -> Questionnaire:
        definition = self.definition
        try:
            groups = self.screens(definition.get("children", []))
            choice_lists = {list_name: tuple(self.choice(list_name, item) for item in items)
                            for list_name, items in (definition.get("choices") or {}).items()}
        except XLSFormError:
            raise
        except QuestionnaireError as error:
            raise self.locate(str(error)) from None
        if not groups:
            raise XLSFormError("the survey sheet has no questions; add at least one row", sheet="survey")
        languages = tuple(self.languages) or (self.language(self.default_language),)
        default = _LANGUAGE_KEYS.get(self.default_language, self.default_language)
        if default not in languages:
            default = languages[0]
        strict = "zh" in languages and set(languages) <= set(LANGUAGES)
        title_text = str(definition.get("title") or definition.get("id_string"))
        title_en = definition.get(TITLE_EN_SETTING)
        if strict:
            title = Text(title_text, title_en or (title_text if "en" in languages else None))
        else:
            title = Text(texts={default: title_text})
        settings = tuple((key, str(value)) for key, value in definition.items()
                         if key not in _SETTINGS_READ and isinstance(value, (str, int, float)) and str(value).strip())
        if definition.get("name") not in (None, "data"):
            settings += (("name", str(definition["name"])),)
        try:
            return Questionnaire(
                id=str(definition.get("id_string") or "data"),
                version=str(definition.get("version") or f"sha-{_digest(definition)}"),
                title=title, groups=groups, choice_lists=choice_lists, default_language=default,
                languages=languages, strict=strict, settings=settings,
                sheets=tuple((sheet, tuple(tuple((str(key), str(value)) for key, value in row.items())
                                           for row in self.rows[sheet] if row))
                             for sheet in _KEPT_SHEETS if self.rows.get(sheet)))
        except QuestionnaireError as error:
            raise self.locate(str(error)) from None

    def screens(self, children: list[dict]) -> tuple[Group, ...]:
        items = self.items(children, top=True)
        groups: list[Group] = []
        loose: list[Question] = []
        taken = {child.get("name") for child in _walk(children)}

        def flush() -> None:
            if loose:
                name = f"_screen_{len(groups) + 1}"
                while name in taken:
                    name += "_"
                taken.add(name)
                label = Text(texts={self.language(self.default_language) if not self.languages
                                    else next(iter(self.languages)): name})
                groups.append(Group(name, label, tuple(loose), appearance=None, implicit=True))
                loose.clear()

        for item in items:
            if isinstance(item, Group):
                flush()
                groups.append(item)
            else:
                loose.append(item)
        flush()
        return tuple(groups)

    def items(self, children: list[dict], *, top: bool = False) -> list[Question | Group]:
        built: list[Question | Group] = []
        for child in children:
            kind = child.get("type")
            name = child.get("name")
            if kind in ("group", "repeat", "loop"):
                if name == "meta" and top:
                    continue  # pyxform's own: instanceID, instanceName (settings), the entities sheet's entity
                inner = self.items(child.get("children", []))
                if not inner:
                    raise self.error(f"group {name!r} has no questions; add one or remove the group", name=name,
                                     column="type")
                built.append(self.group(child, inner))
            else:
                if top and kind in METADATA_TYPES and name in self.added:
                    continue  # written by write_xlsform, not part of the form
                built.append(self.question(child))
        return built

    def group(self, child: dict, inner: list[Question | Group]) -> Group:
        name = child["name"]
        bind, control = dict(child.get("bind") or {}), dict(child.get("control") or {})
        extra = _columns({key: value for key, value in child.items() if key not in _READ_KEYS | _GENERATED_KEYS})
        count = control.pop("jr:count", None)
        if count is not None:
            extra.append(("repeat_count", count))
        extra += [(_GROUP_BIND_COLUMNS.get(key, f"bind::{key}"), str(value)) for key, value in bind.items()
                  if key != "relevant" and isinstance(value, (str, int, float)) and str(value).strip()]
        extra += _prefixed("control", control, exclude={"appearance"})
        loop_over = None
        if child["type"] == "loop":  # pyxform keeps the list's choices, not its name: the type cell has it
            loop_over = next((str(_cell(row, "type")).split()[-1] for row in self.rows["survey"]
                              if _cell(row, "name") == name and _cell(row, "type")), None)
        return Group(name=name, label=self.text(child.get("label")) or Text(texts={self.first_language(): name}),
                     questions=tuple(inner), relevant=bind.get("relevant"), appearance=control.get("appearance"),
                     repeat=child["type"] == "repeat", extra=tuple(extra), loop_over=loop_over)

    def first_language(self) -> str:
        return next(iter(self.languages)) if self.languages else self.language(self.default_language)

    def question(self, child: dict) -> Question:
        name = child["name"]
        kind = _TYPES.get(child["type"], child["type"])
        list_name = None
        itemset = child.get("itemset") or child.get("list_name")
        if kind == "select_one" or kind == "select_multiple":
            if isinstance(itemset, str) and itemset.lower().endswith(_FILE_EXTENSIONS):
                kind = f"{kind}_from_file"
            list_name = itemset
        elif kind == "osm":  # pyxform keeps the osm sheet's tags, not the list's name: the type cell has it
            list_name = next((str(_cell(row, "type")).split()[-1] for row in self.rows["survey"]
                              if _cell(row, "name") == name and _cell(row, "type")), None)
        elif kind in LIST_TYPES or kind in FILE_LIST_TYPES:
            list_name = itemset
        if kind not in QUESTION_TYPES:
            raise self.error(f"type {child['type']!r} cannot be held by this toolkit yet; ODK Collect can collect "
                             "it, but here change the row's type to one of " + ", ".join(QUESTION_TYPES),
                             name=name, column="type")
        bind = dict(child.get("bind") or {})
        control = dict(child.get("control") or {})
        parameters = child.get("parameters") or {}
        if isinstance(parameters, str):
            parameters = dict(item.partition("=")[::2] for item in parameters.split())
        if parameters:
            for key in ("start", "end", "step"):  # pyxform copies range parameters into the control
                if key in control and control[key] == parameters.get(key):
                    control.pop(key)
        relevant = bind.get("relevant")
        other = re.fullmatch(r"selected\(\.\./([^,]+), 'other'\)", relevant or "")
        if other:  # the question pyxform adds for or_other
            relevant = f"selected(${{{other.group(1)}}}, 'other')"
        extra = _columns({key: value for key, value in child.items() if key not in _READ_KEYS | _GENERATED_KEYS})
        extra += _media(child.get("media"))
        extra += _prefixed("bind", bind, exclude=_BIND_FIELDS)
        extra += _prefixed("control", control, exclude={"appearance"})
        required = _flag(bind.get("required"))
        return Question(
            type=kind, name=name, label=self.text(child.get("label")), list_name=list_name,
            hint=self.text(child.get("hint")), required=required,
            required_message=self.text(bind.get("jr:requiredMsg")) if required is not False else None,
            relevant=relevant, constraint=bind.get("constraint"),
            constraint_message=self.text(bind.get("jr:constraintMsg")) if bind.get("constraint") else None,
            appearance=control.get("appearance"), calculation=bind.get("calculate"),
            default=None if child.get("default") is None else str(child["default"]),
            read_only=_flag(bind.get("readonly")), choice_filter=child.get("choice_filter"),
            parameters=" ".join(f"{key}={value}" for key, value in parameters.items()) or None,
            extra=tuple(extra))

    def choice(self, list_name: str, item: dict) -> Choice:
        name = str(item.get("name"))
        extra = _columns({key: value for key, value in item.items() if key not in ("name", "label", "media")})
        extra += _media(item.get("media"))
        try:
            return Choice(name=name, label=self.text(item.get("label")) or Text(texts={self.first_language(): name}),
                          extra=tuple(extra))
        except QuestionnaireError as error:
            raise self.error(str(error), sheet="choices", choice=(list_name, name), column="name") from None

    # -- errors ----------------------------------------------------------------

    def error(self, message: str, *, sheet: str = "survey", name: str | None = None,
              choice: tuple[str, str] | None = None, column: str | None = None) -> XLSFormError:
        """An error at the row that defines ``name`` (or the ``choice`` of a list), in the column named."""
        row, header = None, column
        if sheet in self.rows:
            for index, cells in enumerate(self.rows[sheet], start=2):
                if (name is not None and _cell(cells, "name") == name) or (
                        choice is not None and _cell(cells, "name") == choice[1]
                        and choice[0] in (_cell(cells, "list_name"), _cell(cells, "list name"))):
                    row = index
                    if column is not None:
                        header = _header(cells, column, message) or column
                    break
        return XLSFormError(message, sheet=sheet, row=row, column=header if row is not None else None)

    def locate(self, message: str) -> XLSFormError:
        """Point an error of the model at the cell to fix."""
        owner = re.search(r"\b(question|group|choice list) '([^']+)'", message)
        rest = message[owner.end():] if owner else message
        column = next((word for word in _COLUMN_WORDS if re.search(rf"\b{word}\b", rest)), None)
        if owner and owner.group(1) in ("question", "group"):
            return self.error(message, name=owner.group(2), column=column or "name")
        if owner:
            choice = re.search(r"choice '([^']+)'", rest)
            if choice:
                return self.error(message, sheet="choices", choice=(owner.group(2), choice.group(1)), column="label")
            return XLSFormError(message, sheet="choices")
        for word, column in (("title", TITLE_EN_SETTING), ("default_language", "default_language"),
                             ("version", "version"), ("bad id", "form_id")):
            if word in message and self.rows.get("settings"):
                return XLSFormError(message, sheet="settings", row=2, column=column)
        return XLSFormError(message, sheet="survey")


# bind entries of a group that come from the survey sheet's own columns
_GROUP_BIND_COLUMNS = {"required": "required", "readonly": "read_only", "calculate": "calculation",
                       "constraint": "constraint"}
_COLUMN_WORDS = ("required_message", "constraint_message", "choice_filter", "calculation", "relevant", "constraint",
                 "required", "read_only", "appearance", "label", "hint", "name", "type")


def _header(cells: Mapping[str, Any], column: str, message: str) -> str | None:
    """The header as written for ``column`` (``label::English (en)`` for a missing English label)."""
    aliases = {"calculation": ("calculation", "calculate"), "read_only": ("read_only", "readonly")}.get(
        column, (column,))
    if column in _TRANSLATABLE:
        language = "en" if "English" in message else "zh" if "Chinese" in message else None
        if language is not None:  # the empty cell may have no value in the row: name the project's column
            written = [key for key in cells if key.split(":")[0].strip().lower() == column]
            return next((key for key in written if f"({language})" in key),
                        f"{column}::{LANGUAGE_NAMES[language]}")
    return next((key for key in cells if key.split(":")[0].strip().lower() in aliases), None)


def _cell(row: Mapping[str, Any], column: str) -> Any:
    """A raw row's value under ``column``, whatever the header's case (pyxform ignores it)."""
    return next((value for key, value in row.items() if str(key).strip().lower() == column), None)


def _walk(children: list[dict]) -> Iterable[dict]:
    for child in children:
        yield child
        yield from _walk(child.get("children", []))


def _flag(value: Any) -> bool | str:
    if value is None:
        return False
    text = str(value).strip()
    if text.lower() in _YES:
        return True
    if text.lower() in _NO or not text:
        return False
    return text


def _columns(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Other keys of pyxform's dictionary as the columns that give them: ``key`` or ``key::language``."""
    columns: list[tuple[str, str]] = []
    for key, value in values.items():
        if key.startswith(("$", "_")):
            continue  # KoboToolbox bookkeeping ($kuid, $autoname, ...)
        if isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value).strip():
            columns.append((key, str(value)))
        elif isinstance(value, Mapping) and all(isinstance(text, str) for text in value.values()):
            columns += [(f"{key}::{lang}", text) for lang, text in value.items() if text.strip()]
    return columns


def _media(media: Any) -> list[tuple[str, str]]:
    columns: list[tuple[str, str]] = []
    for kind, value in (media or {}).items():
        if isinstance(value, Mapping):
            columns += [(f"media::{kind}::{lang}", text) for lang, text in value.items() if str(text).strip()]
        elif str(value).strip():
            columns.append((f"media::{kind}", str(value)))
    return columns


def _prefixed(prefix: str, values: Mapping[str, Any], *, exclude: Iterable[str]) -> list[tuple[str, str]]:
    excluded = set(exclude)
    return [(f"{prefix}::{key}", str(value)) for key, value in values.items()
            if key not in excluded and isinstance(value, (str, int, float)) and str(value).strip()]


# ---------------------------------------------------------------------------
# Counting (the corpus benchmark compares the model with pyxform)


def form_counts(questionnaire: Questionnaire) -> dict[str, int]:
    """Questions (metadata included), choices, and relevant and constraint expressions of a questionnaire."""
    groups = [group for screen in questionnaire.groups for group in (screen, *screen.subgroups)
              if not group.implicit]
    return {
        "questions": len(questionnaire.questions),
        "choices": sum(len(choices) for choices in questionnaire.choice_lists.values()),
        "relevant": sum(q.relevant is not None for q in questionnaire.questions)
        + sum(g.relevant is not None for g in groups),
        "constraint": sum(q.constraint is not None for q in questionnaire.questions),
    }


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

    def header(base: str, lang: str) -> str:
        return base if lang == "default" else f"{base}::{LANGUAGE_NAMES.get(lang, lang)}"

    translated = {base: [header(base, lang) for lang in languages] for base in _TRANSLATABLE}

    def texts(base: str, text: Text | None) -> dict[str, str | None]:
        values = dict(text.texts) if text is not None else {}
        return {column: values.get(lang) for column, lang in zip(translated[base], languages)}

    rows: list[dict[str, Any]] = []
    taken = {question.name for question in questionnaire.questions} | {
        group.name for screen in questionnaire.groups for group in (screen, *screen.subgroups)}
    kinds = {question.type for question in questionnaire.questions}
    added: list[str] = []
    for kind, names in WRITTEN_METADATA:
        name = next((candidate for candidate in names if candidate not in taken), None)
        if kind not in kinds and name is not None:
            taken.add(name)
            added.append(name)
            rows.append({"type": kind, "name": name})

    def flag(value: bool | str) -> str | None:
        return "yes" if value is True else None if value is False else value

    def write_items(items: Iterable[Question | Group]) -> None:
        for item in items:
            if isinstance(item, Group):
                write_group(item)
                continue
            kind = item.type if item.list_name is None else f"{item.type} {item.list_name}"
            rows.append({
                "type": kind, "name": item.name, **texts("label", item.label), **texts("hint", item.hint),
                "required": flag(item.required), **texts("required_message", item.required_message),
                "relevant": item.relevant, "constraint": item.constraint,
                **texts("constraint_message", item.constraint_message), "appearance": item.appearance,
                "calculation": item.calculation, "default": item.default, "read_only": flag(item.read_only),
                "choice_filter": item.choice_filter, "parameters": item.parameters, **dict(item.extra)})

    def write_group(group: Group) -> None:
        if group.implicit:
            write_items(group.items)
            return
        word = "repeat" if group.repeat else "loop" if group.loop_over is not None else "group"
        begin = f"begin loop over {group.loop_over}" if group.loop_over is not None else f"begin {word}"
        rows.append({"type": begin, "name": group.name, **texts("label", group.label),
                     "relevant": group.relevant, "appearance": group.appearance, **dict(group.extra)})
        write_items(group.items)
        rows.append({"type": f"end {word}", "name": group.name})

    for group in questionnaire.groups:
        write_group(group)
    fixed = ["type", "name", *translated["label"], *translated["hint"], "required", *translated["required_message"],
             "relevant", "constraint", *translated["constraint_message"], "appearance"]
    workbook_sheet = openpyxl.Workbook()
    survey = workbook_sheet.active
    survey.title = "survey"
    _fill(survey, _header_of(fixed, rows, keep=fixed if questionnaire.strict else fixed[:2]), rows, questionnaire.id)

    choice_rows = [{"list_name": list_name, "name": choice.name, **texts("label", choice.label), **dict(choice.extra)}
                   for list_name, items in questionnaire.choice_lists.items() for choice in items]
    if choice_rows or questionnaire.strict:
        choice_fixed = ["list_name", "name", *translated["label"]]
        _fill(workbook_sheet.create_sheet("choices"), _header_of(choice_fixed, choice_rows, keep=choice_fixed),
              choice_rows, questionnaire.id)

    for sheet, sheet_rows in questionnaire.sheets:
        kept = [dict(row) for row in sheet_rows]
        _fill(workbook_sheet.create_sheet(sheet), _header_of([], kept, keep=[]), kept, questionnaire.id)

    default = questionnaire.default_language
    settings_row: dict[str, Any] = {"form_id": questionnaire.id, "version": questionnaire.version}
    if questionnaire.strict:
        settings_row.update({"form_title": questionnaire.title.zh, TITLE_EN_SETTING: questionnaire.title.en})
    else:
        settings_row["form_title"] = questionnaire.title.get(default)
    settings_row["default_language"] = None if default == "default" else LANGUAGE_NAMES.get(default, default)
    settings_row.update({_SETTING_COLUMNS.get(key, key): value for key, value in questionnaire.settings})
    settings_row[ADDED_METADATA_SETTING] = " ".join(added) or None
    settings_fixed = ["form_id", "version", "form_title", TITLE_EN_SETTING, "default_language"]
    _fill(workbook_sheet.create_sheet("settings"),
          _header_of(settings_fixed, [settings_row], keep=settings_fixed if questionnaire.strict else []),
          [settings_row], questionnaire.id)

    if isinstance(destination, (str, os.PathLike)):
        workbook_sheet.save(Path(destination))
    else:
        workbook_sheet.save(destination)


def _header_of(fixed: list[str], rows: list[dict[str, Any]], *, keep: list[str]) -> list[str]:
    """The columns to write: the fixed ones in order (kept, or when used), then the others as first used."""
    used = {column for row in rows for column, value in row.items() if value is not None}
    header = [column for column in fixed if column in keep or column in used]
    for row in rows:
        header += [column for column, value in row.items() if value is not None and column not in header]
    return header


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
