"""Reading questionnaire definitions (YAML) and the district list (CSV).

The YAML format is documented in ``questionnaires/README.md``. Every problem is
reported as a :class:`QuestionnaireError` that starts with the file name and
names the question and the problem.
"""
from __future__ import annotations

import csv
import io
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from questionnaires.errors import QuestionnaireError
from questionnaires.model import SELECT_TYPES, YAML_TYPES, Choice, Group, Question, Questionnaire, Text

__all__ = ["load_questionnaire", "shipped_questionnaires", "load_districts", "DEFINITIONS_DIR", "DISTRICTS_FILE"]

PACKAGE_DIR = Path(__file__).parent
DEFINITIONS_DIR = PACKAGE_DIR / "definitions"
DISTRICTS_FILE = PACKAGE_DIR / "districts.csv"

_TOP_KEYS = ("id", "version", "title", "default_language", "languages", "groups", "choices")
_GROUP_KEYS = ("name", "label", "relevant", "questions")
_QUESTION_KEYS = ("type", "name", "label", "hint", "required", "required_message", "relevant", "constraint",
                  "constraint_message", "appearance")
_TEXT_KEYS = ("zh", "en")
_CSV_COLUMNS = ("code", "name_zh", "name_en")


def load_questionnaire(path: Path) -> Questionnaire:
    """Read and check one questionnaire definition.

    Parameters
    ----------
    path : Path
        A YAML file in the format of ``questionnaires/README.md``.

    Returns
    -------
    Questionnaire

    Raises
    ------
    QuestionnaireError
        If the file cannot be read or the definition is broken (unknown type,
        reference to a missing question or choice list, duplicate name,
        malformed expression, missing zh label, ...); the message starts with
        the file name and names the question and the problem.
        :class:`ExpressionError` for a malformed expression.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise QuestionnaireError(f"{path}: cannot read the questionnaire file ({error}); check the path") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise QuestionnaireError(f"{path}: not valid YAML: {error}") from None
    try:
        return _build(data, path)
    except QuestionnaireError as error:
        # keep the subclass (ExpressionError) and put the file name first
        raise type(error)(f"{path}: {error}") from None


def _build(data: Any, path: Path) -> Questionnaire:
    _check_keys(data, _TOP_KEYS, "the file", required=("id", "version", "title", "groups"))
    choice_lists = _mapping(data.get("choices", {}), "choices")
    groups = data["groups"]
    if not isinstance(groups, list) or not groups:
        raise QuestionnaireError("groups must be a non-empty list of groups (one per screen)")
    languages = data.get("languages", ["zh", "en"])
    if not isinstance(languages, list):
        raise QuestionnaireError(f"languages must be a list such as [zh, en], got {languages!r}")
    return Questionnaire(
        id=data["id"],
        version=data["version"],
        title=_text(data["title"], "title"),
        groups=tuple(_group(group, index) for index, group in enumerate(groups, start=1)),
        choice_lists={
            list_name: _choice_list(choices, list_name, path) for list_name, choices in choice_lists.items()
        },
        default_language=data.get("default_language", "zh"),
        languages=tuple(languages),
    )


def _group(data: Any, index: int) -> Group:
    where = f"group {data.get('name')!r}" if isinstance(data, dict) and "name" in data else f"group #{index}"
    try:
        _check_keys(data, _GROUP_KEYS, where, required=("name", "label", "questions"))
        questions = data["questions"]
        if not isinstance(questions, list):
            raise QuestionnaireError(f"{where}: questions must be a list, got {questions!r}")
        built = tuple(_question(question, number, where) for number, question in enumerate(questions, start=1))
        return Group(name=data["name"], label=_text(data["label"], f"{where}: label"), questions=built,
                     relevant=_expression(data.get("relevant"), f"{where}: relevant"))
    except QuestionnaireError as error:
        if str(error).startswith(("group ", "question ")):
            raise
        raise type(error)(f"{where}: {error}") from None


def _question(data: Any, number: int, group_where: str) -> Question:
    if isinstance(data, dict) and isinstance(data.get("name"), str):
        where = f"question {data['name']!r}"
    else:
        where = f"question #{number} of {group_where}"
    _check_keys(data, _QUESTION_KEYS, where, required=("type", "name", "label"))
    kind, list_name = _question_type(data["type"], where)

    def text(key: str) -> Text | None:
        return None if data.get(key) is None else _text(data[key], f"{where}: {key}")

    required = data.get("required", False)
    if not isinstance(required, bool):
        raise QuestionnaireError(f"{where}: required must be true or false, got {required!r}")
    appearance = data.get("appearance")
    try:
        return Question(
            type=kind,
            name=data["name"],
            label=_text(data["label"], f"{where}: label"),
            list_name=list_name,
            hint=text("hint"),
            required=required,
            required_message=text("required_message"),
            relevant=_expression(data.get("relevant"), f"{where}: relevant"),
            constraint=_expression(data.get("constraint"), f"{where}: constraint"),
            constraint_message=text("constraint_message"),
            appearance=appearance,
        )
    except QuestionnaireError as error:
        if str(error).startswith("question "):
            raise
        raise type(error)(f"{where}: {error}") from None


def _question_type(value: Any, where: str) -> tuple[str, str | None]:
    allowed = "select_one LIST, select_multiple LIST, integer, decimal, text, note"
    if not isinstance(value, str):
        raise QuestionnaireError(f"{where}: unknown type {value!r}; use one of {allowed}")
    parts = value.split()
    if parts[:1] in (["begin"], ["end"]) or value.strip() in ("begin_group", "end_group"):
        raise QuestionnaireError(
            f"{where}: type {value!r}: write groups as blocks under groups:, not as begin/end group rows")
    if not parts or parts[0] not in YAML_TYPES:  # the XLSForm-only types are read from workbooks
        raise QuestionnaireError(f"{where}: unknown type {value!r}; use one of {allowed}")
    if parts[0] in SELECT_TYPES:
        if len(parts) != 2:
            raise QuestionnaireError(f"{where}: type {value!r} must name one choice list: {parts[0]} LIST_NAME")
        return parts[0], parts[1]
    if len(parts) != 1:
        raise QuestionnaireError(f"{where}: type {value!r}: a {parts[0]} question takes no choice list")
    return parts[0], None


def _expression(value: Any, where: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise QuestionnaireError(f"{where}: an expression must be text, got {value!r}; quote it")


def _text(value: Any, where: str) -> Text:
    if isinstance(value, str):
        value = {"zh": value}
    _check_keys(value, _TEXT_KEYS, where, required=())
    if value.get("zh") is None:
        raise QuestionnaireError(f"{where}: missing zh label; write {{zh: ..., en: ...}}")
    try:
        return Text(zh=value["zh"], en=value.get("en"))
    except QuestionnaireError as error:
        raise QuestionnaireError(f"{where}: {error}") from None


def _choice_list(value: Any, list_name: str, path: Path) -> tuple[Choice, ...]:
    where = f"choice list {list_name!r}"
    if isinstance(value, dict):
        _check_keys(value, ("file",), where, required=("file",))
        return tuple(_read_choices_csv(path.parent / value["file"]))
    if not isinstance(value, list):
        raise QuestionnaireError(f"{where}: give a list of choices or {{file: a CSV file}}, got {value!r}")
    choices = []
    for number, item in enumerate(value, start=1):
        item_where = f"{where}, choice #{number}"
        _check_keys(item, ("name", "label"), item_where, required=("name", "label"))
        label = _text(item["label"], f"{item_where}: label")
        try:
            choices.append(Choice(name=item["name"], label=label))
        except QuestionnaireError as error:
            raise QuestionnaireError(f"{item_where}: {error}") from None
    return tuple(choices)


def _read_choices_csv(path: Path) -> list[Choice]:
    """Choices from a CSV file with columns code,name_zh,name_en; lines starting with '#' are comments."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise QuestionnaireError(f"choice file {path}: cannot read it ({error}); check the file: path") from None
    numbered = [(number, line) for number, line in enumerate(lines, start=1)
                if line.strip() and not line.lstrip().startswith("#")]
    if not numbered:
        raise QuestionnaireError(f"choice file {path}: no header line; expected columns {','.join(_CSV_COLUMNS)}")
    rows = list(csv.reader(io.StringIO("\n".join(line for _, line in numbered))))
    header = [column.strip() for column in rows[0]]
    if header != list(_CSV_COLUMNS):
        raise QuestionnaireError(
            f"choice file {path}: columns are {header}; expected exactly {','.join(_CSV_COLUMNS)}")
    choices = []
    for (number, _), row in zip(numbered[1:], rows[1:]):
        if len(row) != len(_CSV_COLUMNS):
            raise QuestionnaireError(f"choice file {path}, line {number}: expected 3 fields, got {row}")
        code, name_zh, name_en = (field.strip() for field in row)
        if not code or code.split() != [code]:
            raise QuestionnaireError(f"choice file {path}, line {number}: choice name {code!r} is not usable; a choice "
                                     "name is a non-empty string without spaces")
        try:
            choices.append(Choice(name=code, label=Text(zh=name_zh, en=name_en or None)))
        except QuestionnaireError as error:
            raise QuestionnaireError(f"choice file {path}, line {number}: {error}") from None
    return choices


def _check_keys(value: Any, allowed: tuple[str, ...], where: str, *, required: tuple[str, ...]) -> None:
    if not isinstance(value, dict):
        raise QuestionnaireError(f"{where}: expected a mapping with keys {', '.join(allowed)}, got {value!r}")
    unknown = [key for key in value if key not in allowed]
    if unknown:
        raise QuestionnaireError(f"{where}: unknown key(s) {unknown}; allowed keys: {', '.join(allowed)}")
    missing = [key for key in required if key not in value]
    if missing:
        raise QuestionnaireError(f"{where}: missing key(s) {missing}")


def _mapping(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise QuestionnaireError(f"{where} must be a mapping of list name to choices, got {value!r}")
    return value


@lru_cache(maxsize=1)
def _shipped() -> tuple[tuple[str, Questionnaire], ...]:
    found: dict[str, tuple[Path, Questionnaire]] = {}
    for path in sorted(DEFINITIONS_DIR.glob("*.yaml")):
        questionnaire = load_questionnaire(path)
        if questionnaire.id in found:
            raise QuestionnaireError(
                f"{path}: questionnaire id {questionnaire.id!r} is already used by {found[questionnaire.id][0]}; "
                "ids must be unique")
        found[questionnaire.id] = (path, questionnaire)
    return tuple((key, found[key][1]) for key in sorted(found))


def shipped_questionnaires() -> dict[str, Questionnaire]:
    """The questionnaires in ``questionnaires/definitions/*.yaml``, keyed by id, sorted by id.

    Examples
    --------
    >>> list(shipped_questionnaires())  # doctest: +NORMALIZE_WHITESPACE
    ['campaign_awareness', 'consumer_environment', 'public_services', 'salt_consumers',
     'telecom_users', 'tourist_satisfaction']
    """
    return dict(_shipped())


def load_districts() -> list[Choice]:
    """Nantong's eight county-level units from ``questionnaires/districts.csv``.

    Each is a :class:`Choice` whose ``name`` is a stable ASCII code (e.g.
    ``'chongchuan'``) and whose label holds the Chinese and English names as in
    the Seventh National Population Census bulletin No. 2 of Nantong (2021-05-24).

    Examples
    --------
    >>> [(d.name, d.label.get("zh")) for d in load_districts()][:2]
    [('chongchuan', '崇川区'), ('kaifaqu', '开发区')]
    """
    return _read_choices_csv(DISTRICTS_FILE)
