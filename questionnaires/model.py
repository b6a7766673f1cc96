"""The questionnaire model, in XLSForm vocabulary.

A :class:`Questionnaire` is a sequence of :class:`Group` screens holding
:class:`Question` objects whose fields are XLSForm's survey-sheet columns
(``type``, ``name``, ``label``, ``hint``, ``required``, ``relevant``,
``constraint``, ``calculation``, ...); choice lists are XLSForm's choices sheet.
Everything is a frozen dataclass and is checked when built, so an object that
exists is usable.

A screen is a top-level group. Inside it, groups may nest and may be repeats
(``Group.items`` keeps the structure, ``Group.questions`` lists every question
inside, nested ones included). Questions that an XLSForm puts outside any group
are held by an *implicit* group (``implicit=True``), which the XLSForm writer
leaves out again.

Texts are :class:`Text` objects keyed by language: ``zh``/``en`` in the shipped
definitions, the language names as written (``English (en)``, ``Português (pt)``,
``default`` for an XLSForm's plain ``label`` column) in uploaded XLSForms.

Answers are a mapping from question name to value: ``select_one`` -> ``str``
code, ``select_multiple`` and ``rank`` -> ``list[str]`` of codes, ``integer`` ->
``int``, ``decimal`` -> ``float``, ``range`` -> ``int`` or ``float``, ``date`` /
``time`` / ``datetime`` -> ISO text (``'2026-12-07'``, ``'14:30:00'``,
``'2026-12-07T14:30:00'``), ``acknowledge`` -> ``'OK'``, everything else
(``text``, ``calculate``, ``geopoint``, ``barcode``, file names, metadata) ->
``str``; unanswered -> key absent or ``None`` (an empty string or an empty list
also counts as unanswered).
"""
from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from questionnaires.errors import ExpressionError, QuestionnaireError
from questionnaires.expressions import evaluate, parse, references, to_boolean, uses_current

__all__ = ["Text", "Choice", "Question", "Group", "Questionnaire", "QuestionType", "QUESTION_TYPES", "LANGUAGES",
           "language_code"]

# The types of the shipped definitions (YAML); XLSForms may use every type of XLSFORM_TYPES.
QuestionType = Literal["select_one", "select_multiple", "integer", "decimal", "text", "note"]
YAML_TYPES: tuple[str, ...] = get_args(QuestionType)
SELECT_TYPES = ("select_one", "select_multiple")
#: Types whose answer is one or more codes of a choice list of the questionnaire.
LIST_TYPES = ("select_one", "select_multiple", "rank")
#: Types whose choices live outside the choices sheet (a CSV/XML file, the external_choices or osm sheet).
FILE_LIST_TYPES = ("select_one_from_file", "select_multiple_from_file", "select_one_external", "osm")
METADATA_TYPES = ("start", "end", "today", "deviceid", "subscriberid", "simserial", "phonenumber", "username",
                  "email", "audit", "start-geopoint", "background-geopoint", "background-audio")
#: Every XLSForm question type the model holds (pyxform's aliases are read as these names).
QUESTION_TYPES: tuple[str, ...] = (
    *YAML_TYPES, "rank", "range", "acknowledge", "date", "time", "datetime", "geopoint", "geotrace", "geoshape",
    "image", "audio", "video", "file", "barcode", "calculate", "hidden", "xml-external", "csv-external",
    *FILE_LIST_TYPES, *METADATA_TYPES)
#: Types that take no answer from the interviewer (shown or computed).
NO_ANSWER_TYPES = ("note",)
LANGUAGES: tuple[str, ...] = ("zh", "en")
# XLSForm names (XML names without ':'); the shipped definitions keep to letters, digits and '_'.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_CHOICE_NAME = re.compile(r"\S+")  # select_multiple answers are stored space-separated in XLSForm
_LANGUAGE_CODE = re.compile(r"\(\s*([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)*\s*\)\s*$")
_LANGUAGE_WORDS = {"english": "en", "chinese": "zh", "中文": "zh", "英文": "en", "英语": "en"}


def language_code(language: str) -> str | None:
    """The ISO code a language name stands for: ``'English (en)'`` -> ``'en'``, ``'English'`` -> ``'en'``.

    Examples
    --------
    >>> language_code("Português (pt)"), language_code("zh"), language_code("default")
    ('pt', 'zh', None)
    """
    match = _LANGUAGE_CODE.search(language)
    if match:
        return match.group(1).lower()
    word = language.strip().lower()
    if re.fullmatch(r"[a-z]{2,3}(?:[-_][a-z0-9]+)*", word) and word != "default":
        return re.split(r"[-_]", word)[0]
    return _LANGUAGE_WORDS.get(word)


def _check_language(lang: str, known: tuple[str, ...] = ()) -> None:
    if lang not in LANGUAGES and lang not in known:
        raise ValueError(f"lang={lang!r} is not supported; use one of {', '.join((*LANGUAGES, *known))}")


@dataclass(frozen=True, init=False)
class Text:
    """A text in one or more languages.

    ``Text(zh, en)`` is the bilingual text of the shipped definitions (Chinese
    required); ``Text(texts={"English (en)": ..., "Português (pt)": ...})`` one
    of an XLSForm, keyed by the language names as written.

    Examples
    --------
    >>> Text("非常满意", "Very satisfied").get("en")
    'Very satisfied'
    >>> Text("非常满意").get("en")
    '非常满意'
    >>> Text(texts={"English (en)": "Yes", "Português (pt)": "Sim"}).get("en")
    'Yes'
    """

    texts: tuple[tuple[str, str], ...]

    def __init__(self, zh: str | None = None, en: str | None = None, *,
                 texts: Mapping[str, str] | None = None) -> None:
        if texts is None:
            if not isinstance(zh, str) or not zh.strip():
                raise QuestionnaireError(
                    f"missing zh label: the Chinese text is {zh!r}; every label needs a non-empty zh text")
            if en is not None and (not isinstance(en, str) or not en.strip()):
                raise QuestionnaireError(f"the English text is {en!r}; give a non-empty en text or leave it out")
            pairs = {"zh": zh} if en is None else {"zh": zh, "en": en}
        else:
            if zh is not None or en is not None:
                raise TypeError("give either zh/en or texts=, not both")
            if not isinstance(texts, Mapping) or not texts:
                raise QuestionnaireError(f"a text needs at least one language, got {texts!r}")
            for language, value in texts.items():
                if not isinstance(language, str) or not language.strip():
                    raise QuestionnaireError(f"language {language!r} is not a usable language name")
                if not isinstance(value, str) or not value.strip():
                    raise QuestionnaireError(f"the {language} text is {value!r}; give a non-empty text or leave it out")
            pairs = dict(texts)
        object.__setattr__(self, "texts", tuple(sorted(pairs.items())))

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages this text is written in."""
        return tuple(language for language, _ in self.texts)

    def _find(self, lang: str) -> str | None:
        texts = dict(self.texts)
        if lang in texts:
            return texts[lang]
        code = language_code(lang) if lang not in LANGUAGES else lang
        return next((value for language, value in self.texts if code and language_code(language) == code), None)

    @property
    def zh(self) -> str:
        """The Chinese text, or the text of the first language when there is none."""
        found = self._find("zh")
        return found if found is not None else self.texts[0][1]

    @property
    def en(self) -> str | None:
        """The English text, if any."""
        return self._find("en")

    def get(self, lang: str, fallback: str | None = None) -> str:
        """The text in ``lang``: one of this text's languages or an interface language (``'zh'``, ``'en'``).

        A missing language falls back to ``fallback`` (a language of the text),
        then to Chinese, then to the first language.
        """
        _check_language(lang, self.languages)
        for wanted in (lang, fallback):
            found = None if wanted is None else self._find(wanted)
            if found is not None:
                return found
        return self.zh

    def __repr__(self) -> str:
        if set(self.languages) <= {"zh", "en"} and "zh" in self.languages:
            return f"Text({self.zh!r}{'' if self.en is None else ', ' + repr(self.en)})"
        return f"Text(texts={dict(self.texts)!r})"


def _extras(where: str, extra: Any) -> tuple[tuple[str, str], ...]:
    """Other columns kept as written (``media::image``, ``bind::...``), checked and frozen."""
    try:
        pairs = tuple((column, value) for column, value in (extra.items() if isinstance(extra, Mapping) else extra))
    except (TypeError, ValueError):
        raise QuestionnaireError(f"{where}: extra must be pairs of column and text, got {extra!r}") from None
    for column, value in pairs:
        if not isinstance(column, str) or not column.strip() or not isinstance(value, str):
            raise QuestionnaireError(f"{where}: extra column {column!r} = {value!r}; give a column name and a text")
    return pairs


@dataclass(frozen=True)
class Choice:
    """One option of a choice list: ``name`` is the stored code, ``label`` what is shown.

    ``extra`` holds the choices sheet's other columns as written (the columns a
    ``choice_filter`` tests, ``media::image``, ...).
    """

    name: str
    label: Text
    extra: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise QuestionnaireError(
                f"choice name {self.name!r} is not usable; a choice name is a non-empty string without spaces "
                "(quote numbers and yes/no in YAML: name: '1')")
        if not isinstance(self.label, Text):
            raise QuestionnaireError(f"choice {self.name!r}: label must be a Text, got {self.label!r}")
        object.__setattr__(self, "extra", _extras(f"choice {self.name!r}", self.extra))

    def value(self, column: str) -> str | None:
        """The value of another column of the choices sheet (what a ``choice_filter`` reads)."""
        return dict(self.extra).get(column)


@dataclass(frozen=True)
class Question:
    """One row of an XLSForm survey sheet.

    ``list_name`` is the choice list of a ``select_one``/``select_multiple``/``rank``
    question (XLSForm writes ``select_one LIST``), or the file of a
    ``select_one_from_file`` question. ``relevant``, ``constraint``,
    ``calculation``, ``choice_filter`` and an expression ``required`` are XLSForm
    expressions; ``.`` in a constraint is the answer. ``parameters`` is the
    column as written (``start=0 end=10 step=1``); ``extra`` holds other columns
    as written (``media::image``, ``bind::jr:preload``, ...) so a written-back
    form keeps them.
    """

    type: str
    name: str
    label: Text | None = None
    list_name: str | None = None
    hint: Text | None = None
    required: bool | str = False
    required_message: Text | None = None
    relevant: str | None = None
    constraint: str | None = None
    constraint_message: Text | None = None
    appearance: str | None = None
    calculation: str | None = None
    default: str | None = None
    read_only: bool | str = False
    choice_filter: str | None = None
    parameters: str | None = None
    extra: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        where = f"question {self.name!r}"
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise QuestionnaireError(
                f"{where}: bad name; a name starts with a letter or '_' and has only letters, digits, '_', '-' "
                "and '.'")
        if self.type not in QUESTION_TYPES:
            raise QuestionnaireError(
                f"{where}: unknown type {self.type!r}; use one of "
                "select_one LIST, select_multiple LIST, integer, decimal, text, note or another XLSForm type "
                f"({', '.join(QUESTION_TYPES[len(YAML_TYPES):])})")
        listed = self.type in LIST_TYPES or self.type in FILE_LIST_TYPES
        if listed and not self.list_name:
            raise QuestionnaireError(f"{where}: {self.type} needs a choice list; write type: {self.type} LIST_NAME")
        if not listed and self.list_name is not None:
            raise QuestionnaireError(f"{where}: a {self.type} question has no choice list, got {self.list_name!r}")
        for attribute in ("label", "hint", "required_message", "constraint_message"):
            value = getattr(self, attribute)
            if not isinstance(value, Text) and value is not None:
                raise QuestionnaireError(f"{where}: {attribute} must be a Text, got {value!r}")
        for attribute in ("required", "read_only"):
            value = getattr(self, attribute)
            if not isinstance(value, (bool, str)) or (isinstance(value, str) and not value.strip()):
                raise QuestionnaireError(
                    f"{where}: {attribute} must be true or false (or an expression), got {value!r}")
        if self.required_message is not None and self.required is False:
            raise QuestionnaireError(f"{where}: required_message given but the question is not required")
        if self.constraint_message is not None and self.constraint is None:
            raise QuestionnaireError(f"{where}: constraint_message given without a constraint")
        for attribute in ("appearance", "default", "parameters"):
            value = getattr(self, attribute)
            if value is not None and not isinstance(value, str):
                raise QuestionnaireError(f"{where}: {attribute} must be a string, got {value!r}")
        if self.choice_filter is not None and self.type not in LIST_TYPES and self.type not in FILE_LIST_TYPES:
            raise QuestionnaireError(f"{where}: choice_filter given, but a {self.type} question has no choices")
        object.__setattr__(self, "extra", _extras(where, self.extra))
        _check_expression(where, "relevant", self.relevant, allow_current=False)
        _check_expression(where, "constraint", self.constraint, allow_current=True)
        _check_expression(where, "calculation", self.calculation, allow_current=True)
        _check_expression(where, "choice_filter", self.choice_filter, allow_current=True)
        for attribute in ("required", "read_only"):
            value = getattr(self, attribute)
            if isinstance(value, str):
                _check_expression(where, attribute, value, allow_current=True)

    @property
    def is_required(self) -> bool:
        """Whether the question may be required (always, or by its ``required`` expression)."""
        return self.required is not False

    def parameter(self, key: str) -> str | None:
        """One ``key=value`` of the ``parameters`` column (``start``, ``end``, ``step``, ...)."""
        for item in (self.parameters or "").replace(",", " ").replace(";", " ").split():
            name, _, value = item.partition("=")
            if name.strip().lower() == key:
                return value.strip()
        return None


# Types for which XLSForm needs no label (computed, hidden or recorded by the device).
_UNLABELLED_TYPES = ("calculate", "hidden", "xml-external", "csv-external", *METADATA_TYPES)


def _check_expression(where: str, column: str, expression: str | None, *, allow_current: bool) -> None:
    if expression is None:
        return
    try:
        parse(expression, xpath=True)
    except ExpressionError as error:
        raise ExpressionError(f"{where}: malformed {column}: {error}") from None
    if not allow_current and uses_current(expression):
        raise ExpressionError(
            f"{where}: {column} {expression!r} uses '.', which only means something in a constraint; "
            "refer to questions as ${name}")


@dataclass(frozen=True)
class Group:
    """A group of questions (XLSForm ``begin group`` ... ``end group``).

    A top-level group is one tablet screen. ``questions`` is given as the
    group's items (questions and nested groups, in order) and holds, once
    built, every question inside, nested ones included; ``items`` keeps the
    structure. ``repeat`` marks a ``begin repeat`` block; ``loop_over`` names the
    choice list of a ``begin loop over LIST`` block (its questions are asked once
    per choice, ``%(label)s`` in a label standing for the choice); ``implicit`` a
    group the XLSForm did not have (questions outside any group).
    """

    name: str
    label: Text
    questions: tuple[Question, ...]
    relevant: str | None = None
    appearance: str | None = "field-list"
    repeat: bool = False
    implicit: bool = False
    extra: tuple[tuple[str, str], ...] = ()
    loop_over: str | None = None
    items: tuple[Question | Group, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        where = f"group {self.name!r}"
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise QuestionnaireError(
                f"{where}: bad name; a name starts with a letter or '_' and has only letters, digits, '_', '-' "
                "and '.'")
        if not isinstance(self.label, Text):
            raise QuestionnaireError(f"{where}: label must be a Text, got {self.label!r}")
        items = tuple(self.questions)
        if not items:
            raise QuestionnaireError(f"{where}: has no questions; add at least one or remove the group")
        flat: list[Question] = []
        for item in items:
            if isinstance(item, Group):
                if item.implicit:
                    raise QuestionnaireError(f"{where}: holds the implicit group {item.name!r}; put its questions "
                                             "in the group itself")
                flat.extend(item.questions)
            elif isinstance(item, Question):
                flat.append(item)
            else:
                raise QuestionnaireError(f"{where}: holds {item!r}, which is not a Question")
        if self.appearance is not None and not isinstance(self.appearance, str):
            raise QuestionnaireError(f"{where}: appearance must be a string, got {self.appearance!r}")
        if not isinstance(self.repeat, bool) or not isinstance(self.implicit, bool):
            raise QuestionnaireError(f"{where}: repeat and implicit must be true or false")
        if self.loop_over is not None and (not isinstance(self.loop_over, str) or self.repeat):
            raise QuestionnaireError(f"{where}: loop_over must name a choice list, and a loop is not a repeat")
        if self.implicit and (self.repeat or self.relevant is not None or self.loop_over is not None):
            raise QuestionnaireError(f"{where}: an implicit group has no relevant and is not a repeat")
        object.__setattr__(self, "items", items)
        object.__setattr__(self, "questions", tuple(flat))
        object.__setattr__(self, "extra", _extras(where, self.extra))
        _check_expression(where, "relevant", self.relevant, allow_current=False)

    def walk(self) -> Iterator[tuple[Question | Group, tuple[Group, ...]]]:
        """Every item inside, depth first in order, with the groups that hold it (this one first)."""
        stack: list[tuple[Question | Group, tuple[Group, ...]]] = [(item, (self,)) for item in reversed(self.items)]
        while stack:
            item, parents = stack.pop()
            yield item, parents
            if isinstance(item, Group):
                stack.extend((child, (*parents, item)) for child in reversed(item.items))

    @property
    def subgroups(self) -> tuple[Group, ...]:
        """The groups nested inside, at any depth, in order."""
        return tuple(item for item, _ in self.walk() if isinstance(item, Group))


REQUIRED_MESSAGE = Text("此题为必答题。", "This question is required.")
INVALID_MESSAGE = Text("答案不符合要求，请检查。", "This answer is not valid; please check it.")
_TEXT_MESSAGE = Text("请输入文字。", "Enter text.")
_TYPE_MESSAGES: dict[str, Text] = {
    "select_one": Text("请从列表中选择一个选项。", "Choose one of the listed options."),
    "select_multiple": Text("请只选择列表中的选项，每项最多一次。", "Choose only listed options, each at most once."),
    "rank": Text("请为列表中的选项排序，每项一次。", "Put the listed options in order, each once."),
    "integer": Text("请输入整数。", "Enter a whole number."),
    "decimal": Text("请输入数字。", "Enter a number."),
    "range": Text("请在范围内选择一个数字。", "Choose a number within the range."),
    "text": _TEXT_MESSAGE,
    "note": Text("说明文字无需回答。", "A note takes no answer."),
    "date": Text("请输入日期（年-月-日）。", "Enter a date (year-month-day)."),
    "time": Text("请输入时间（时:分）。", "Enter a time (hours:minutes)."),
    "datetime": Text("请输入日期和时间。", "Enter a date and a time."),
    "acknowledge": Text("请确认（OK）。", "Confirm with OK."),
}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?")


def is_unanswered(value: Any) -> bool:
    """Whether ``value`` counts as no answer: ``None``, blank text or an empty selection."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    if isinstance(value, (list, tuple)):
        return len(value) == 0
    return False


@dataclass(frozen=True)
class Questionnaire:
    """A questionnaire: screens (groups) of questions and the choice lists they use.

    Building one checks it as a whole: names, existing choice lists, expressions
    that parse and refer to existing questions. ``strict`` questionnaires (the
    shipped definitions and workbooks in the project's own Chinese/English
    layout) are also checked for what the tablet interview relies on: unique
    names, ``relevant`` only referring to questions asked earlier (so skip logic
    is decided in interview order), no reference to a note, the languages
    ``zh`` and optionally ``en`` and an English text everywhere when ``'en'`` is
    among ``languages``. Other XLSForms follow pyxform's rules: a name may be
    used again in another group (its answer is then keyed by its path, e.g.
    ``'household/age'``, see :meth:`key`).

    Examples
    --------
    >>> from questionnaires import shipped_questionnaires
    >>> form = shipped_questionnaires()["campaign_awareness"]
    >>> form.is_relevant(form.question("campaign_agreement"), {"consent": "yes", "heard_campaign": "no"})
    False
    """

    id: str
    version: str
    title: Text
    groups: tuple[Group, ...]
    choice_lists: Mapping[str, tuple[Choice, ...]]
    default_language: str = "zh"
    languages: tuple[str, ...] = ("zh", "en")
    strict: bool = field(default=True, compare=False)
    settings: tuple[tuple[str, str], ...] = ()
    sheets: tuple[tuple[str, tuple[tuple[tuple[str, str], ...], ...]], ...] = ()
    _by_name: dict[str, Question] = field(init=False, repr=False, compare=False)
    _group_of: dict[str, Group] = field(init=False, repr=False, compare=False)
    _groups_by_name: dict[str, Group] = field(init=False, repr=False, compare=False)
    _questions: tuple[Question, ...] = field(init=False, repr=False, compare=False)
    _keys: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _group_keys: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _parents: dict[str, tuple[Group, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        where = f"questionnaire {self.id!r}"
        if not isinstance(self.id, str) or not (_NAME.fullmatch(self.id) if self.strict else self.id.strip()):
            raise QuestionnaireError(f"{where}: bad id; use letters, digits and '_' (e.g. consumer_environment)")
        if not isinstance(self.version, str) or not self.version.strip():
            raise QuestionnaireError(f"{where}: version must be a non-empty string, got {self.version!r}; quote it")
        if not isinstance(self.title, Text):
            raise QuestionnaireError(f"{where}: title must be a Text, got {self.title!r}")
        object.__setattr__(self, "languages", tuple(self.languages))
        if self.strict:
            unknown = [lang for lang in self.languages if lang not in LANGUAGES]
            if unknown or "zh" not in self.languages or len(set(self.languages)) != len(self.languages):
                raise QuestionnaireError(
                    f"{where}: languages {list(self.languages)} not supported; list 'zh' and optionally 'en', "
                    "once each")
        elif (not self.languages or len(set(self.languages)) != len(self.languages)
              or not all(isinstance(lang, str) and lang.strip() for lang in self.languages)):
            raise QuestionnaireError(f"{where}: languages {list(self.languages)}: list each language once")
        if self.default_language not in self.languages:
            raise QuestionnaireError(
                f"{where}: default_language {self.default_language!r} is not among languages {list(self.languages)}")
        object.__setattr__(self, "settings", _extras(f"{where}: settings", self.settings))
        # other sheets of an XLSForm kept as written (external_choices, entities): name, rows of (column, value)
        object.__setattr__(self, "sheets", tuple(
            (str(name), tuple(_extras(f"{where}: {name} sheet", row) for row in rows)) for name, rows in self.sheets))
        object.__setattr__(self, "groups", tuple(self.groups))
        if not self.groups:
            raise QuestionnaireError(f"{where}: has no groups; add at least one screen of questions")
        self._freeze_choice_lists(where)
        self._index(where)
        self._check_references()
        if self.strict:
            self._check_english()

    def _freeze_choice_lists(self, where: str) -> None:
        if not isinstance(self.choice_lists, Mapping):
            raise QuestionnaireError(f"{where}: choice_lists must map list names to choices, got {self.choice_lists!r}")
        frozen: dict[str, tuple[Choice, ...]] = {}
        for list_name, choices in self.choice_lists.items():
            choices = tuple(choices)
            if not choices:
                raise QuestionnaireError(f"{where}: choice list {list_name!r} is empty; add choices or remove it")
            seen: set[str] = set()
            for choice in choices:
                if not isinstance(choice, Choice):
                    raise QuestionnaireError(f"{where}: choice list {list_name!r} holds {choice!r}, not a Choice")
                if self.strict and not _CHOICE_NAME.fullmatch(choice.name):
                    raise QuestionnaireError(
                        f"{where}: choice list {list_name!r}: choice name {choice.name!r} is not usable; a choice "
                        "name is a non-empty string without spaces")
                if choice.name in seen and (self.strict or ("allow_choice_duplicates", "yes") not in self.settings):
                    raise QuestionnaireError(
                        f"{where}: choice list {list_name!r} has duplicate choice name {choice.name!r}; "
                        "names in a list must be unique")
                seen.add(choice.name)
            frozen[list_name] = choices
        object.__setattr__(self, "choice_lists", frozen)

    def _index(self, where: str) -> None:
        entries: list[tuple[Question | Group, tuple[Group, ...]]] = []
        for group in self.groups:
            if not isinstance(group, Group):
                raise QuestionnaireError(f"{where}: holds {group!r}, which is not a Group")
            entries.append((group, ()))
            entries.extend(group.walk())
        counts: dict[str, int] = {}
        for item, _ in entries:
            counts[item.name] = counts.get(item.name, 0) + 1
        by_name: dict[str, Question] = {}
        group_of: dict[str, Group] = {}
        groups_by_name: dict[str, Group] = {}
        keys: list[str] = []
        group_keys: list[str] = []
        parents_of: dict[str, tuple[Group, ...]] = {}
        siblings: dict[tuple[int, str], str] = {}
        for item, parents in entries:
            kind = "group" if isinstance(item, Group) else "question"
            if counts[item.name] > 1 and (self.strict or (id(parents[-1]) if parents else 0, item.name) in siblings):
                raise QuestionnaireError(
                    f"{where}: question {item.name!r}: duplicate name; names must be unique across all questions "
                    "and groups" if kind == "question" else f"{where}: duplicate name {item.name!r} (group); names "
                    "must be unique" + ("" if self.strict else " within a group"))
            siblings[(id(parents[-1]) if parents else 0, item.name)] = item.name
            key = item.name if counts[item.name] == 1 else "/".join(
                [*(parent.name for parent in parents if not parent.implicit), item.name])
            if isinstance(item, Group):
                groups_by_name[key] = item
                group_keys.append(key)
                continue
            if item.type in LIST_TYPES and item.list_name not in self.choice_lists:
                raise QuestionnaireError(
                    f"{where}: question {item.name!r}: choice list {item.list_name!r} does not exist; "
                    f"defined lists: {', '.join(sorted(self.choice_lists)) or 'none'}")
            if self.strict and item.label is None and item.type not in _UNLABELLED_TYPES:
                raise QuestionnaireError(f"{where}: question {item.name!r}: label must be a Text, got None")
            if self.strict and item.type in NO_ANSWER_TYPES and (item.required is not False
                                                                 or item.constraint is not None):
                raise QuestionnaireError(f"{where}: question {item.name!r}: a note takes no answer, so it cannot be "
                                         "required or have a constraint")
            by_name[key] = item
            group_of[key] = parents[0]
            parents_of[key] = parents
            keys.append(key)
        object.__setattr__(self, "_by_name", by_name)
        object.__setattr__(self, "_group_of", group_of)
        object.__setattr__(self, "_groups_by_name", groups_by_name)
        object.__setattr__(self, "_questions", tuple(by_name[key] for key in keys))
        object.__setattr__(self, "_keys", tuple(keys))
        object.__setattr__(self, "_group_keys", tuple(group_keys))
        object.__setattr__(self, "_parents", parents_of)

    def _check_references(self) -> None:
        position = {key: index for index, key in enumerate(self._keys)}

        def check(owner: str, column: str, expression: str | None, before: int | None) -> None:
            if expression is None:
                return
            if self.strict:  # the project's own subset, which the tablet evaluates
                try:
                    parse(expression)
                except ExpressionError as error:
                    raise ExpressionError(
                        f"questionnaire {self.id!r}: {owner}: malformed {column}: {error}") from None
            for name in sorted(references(expression)):
                if name not in self._by_name and (self.strict or name not in self._groups_by_name):
                    raise QuestionnaireError(
                        f"questionnaire {self.id!r}: {owner}: {column} {expression!r} refers to unknown question "
                        f"{name!r}; fix the name or add the question")
                if not self.strict:
                    continue
                if self._by_name[name].type == "note":
                    raise QuestionnaireError(
                        f"questionnaire {self.id!r}: {owner}: {column} {expression!r} refers to note {name!r}, "
                        "which has no answer")
                if before is not None and position[name] >= before:
                    raise QuestionnaireError(
                        f"questionnaire {self.id!r}: {owner}: {column} {expression!r} refers to {name!r}, which "
                        "is not asked before it; skip logic may only depend on earlier questions")

        for group in self.groups:
            check(f"group {group.name!r}", "relevant", group.relevant, position[self.key(group.questions[0])])
            for item, _ in group.walk():
                if isinstance(item, Group):
                    check(f"group {item.name!r}", "relevant", item.relevant, None)
                    continue
                owner = f"question {item.name!r}"
                check(owner, "relevant", item.relevant, position[self.key(item)])
                for column in ("constraint", "calculation", "choice_filter", "required", "read_only"):
                    value = getattr(item, column)
                    check(owner, column, value if isinstance(value, str) else None, None)

    def _check_english(self) -> None:
        def check(owner: str, column: str, text: Text | None) -> None:
            if text is not None and "zh" not in text.languages:
                raise QuestionnaireError(
                    f"questionnaire {self.id!r}: {owner}: {column} has no Chinese (zh) text; add it")
            if text is not None and "en" in self.languages and text.en is None:
                raise QuestionnaireError(
                    f"questionnaire {self.id!r}: {owner}: {column} has no English (en) text; add it or "
                    "remove 'en' from languages")

        check("title", "title", self.title)
        for group in self.groups:
            if not group.implicit:  # its label is not written anywhere
                check(f"group {group.name!r}", "label", group.label)
            for item, _ in group.walk():
                if isinstance(item, Group):
                    check(f"group {item.name!r}", "label", item.label)
                    continue
                for column in ("label", "hint", "required_message", "constraint_message"):
                    check(f"question {item.name!r}", column, getattr(item, column))
        for list_name, choices in self.choice_lists.items():
            for choice in choices:
                check(f"choice list {list_name!r}", f"choice {choice.name!r} label", choice.label)

    def __hash__(self) -> int:
        # choice_lists is a dict, so the generated hash would fail; equal questionnaires share id and version
        return hash((self.id, self.version))

    # -- look-ups -----------------------------------------------------------

    @property
    def questions(self) -> tuple[Question, ...]:
        """All questions, notes and nested ones included, in interview order."""
        return self._questions

    def key(self, question: Question | str) -> str:
        """The key of a question's answer: its name, or its group path when the name is used twice."""
        return self._id_keys()[id(self._resolve(question))]

    def _id_keys(self) -> dict[int, str]:
        # built on first use and never pickled: object ids change in a copy
        keys = self.__dict__.get("_id_key_cache")
        if keys is None:
            keys = {id(question): key for key, question in zip(self._keys, self._questions)}
            object.__setattr__(self, "_id_key_cache", keys)
        return keys

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_id_key_cache", None)
        state.pop("_relevance_cache", None)
        return state

    def question(self, name: str) -> Question:
        """The question called ``name`` (or with that :meth:`key`); :class:`QuestionnaireError` if there is none."""
        try:
            return self._by_name[name]
        except (KeyError, TypeError):
            raise QuestionnaireError(
                f"questionnaire {self.id!r} has no question {name!r}; check the name") from None

    def group(self, name: str) -> Group:
        """The group (screen or nested group) called ``name``; :class:`QuestionnaireError` if there is none."""
        try:
            return self._groups_by_name[name]
        except (KeyError, TypeError):
            raise QuestionnaireError(
                f"questionnaire {self.id!r} has no group {name!r}; groups: {', '.join(self._groups_by_name)}"
            ) from None

    def group_of(self, question: Question | str) -> Group:
        """The group (screen) that holds ``question``."""
        return self._group_of[self.key(question)]

    def parents(self, question: Question | str) -> tuple[Group, ...]:
        """The groups that hold ``question``, its screen first."""
        return self._parents[self.key(question)]

    def choices(self, question: Question | str) -> tuple[Choice, ...]:
        """The choices of a ``select_one``/``select_multiple``/``rank`` question."""
        question = self._resolve(question)
        if question.type not in LIST_TYPES:
            raise QuestionnaireError(
                f"questionnaire {self.id!r}: question {question.name!r} is {question.type}, which has no choices")
        return self.choice_lists[question.list_name]

    def _resolve(self, question: Question | str) -> Question:
        if isinstance(question, Question) and id(question) in self._id_keys():
            return question
        name = question.name if isinstance(question, Question) else question
        found = self.question(name)
        if isinstance(question, Question) and found is not question and found != question:
            raise QuestionnaireError(
                f"questionnaire {self.id!r}: the question {name!r} given is not this questionnaire's; "
                "pass a question of this questionnaire or its name")
        return found

    def _resolve_group(self, group: Group | str) -> Group:
        found = self.group(group.name if isinstance(group, Group) else group)
        if isinstance(group, Group) and found is not group and found != group:
            raise QuestionnaireError(
                f"questionnaire {self.id!r}: the group {group.name!r} given is not this questionnaire's")
        return found

    # -- skip logic -----------------------------------------------------------

    def _relevance(self, answers: Mapping[str, Any]) -> tuple[dict[str, bool], dict[str, Any]]:
        """Relevance of every group and question, and the answers that count.

        Walks the interview in order; an expression sees only the answers of
        earlier relevant questions, so a stale answer to a question that has
        been skipped since cannot switch later questions on. A ``calculate``
        (or any question with a ``calculation``) that is relevant gets its
        computed value.
        """
        # a screen asks the same question many times (each question's checks, labels, choices):
        # the last few answer sets are remembered
        try:
            signature = tuple(sorted((key, tuple(value) if isinstance(value, list) else value)
                                     for key, value in answers.items()))
            hash(signature)
        except TypeError:
            signature = None
        cache: list = self.__dict__.setdefault("_relevance_cache", [])
        for known, relevant, effective in cache:
            if signature is not None and known == signature:
                return dict(relevant), dict(effective)
        relevant, effective = self._walk_relevance(answers)
        if signature is not None:
            cache.insert(0, (signature, relevant, effective))
            del cache[4:]
        return dict(relevant), dict(effective)

    def _walk_relevance(self, answers: Mapping[str, Any]) -> tuple[dict[str, bool], dict[str, Any]]:
        relevant: dict[str, bool] = {}
        effective: dict[str, Any] = {}
        group_keys = iter(self._group_keys)
        question_keys = iter(self._keys)
        for group in self.groups:
            shown = group.relevant is None or to_boolean(_safe_evaluate(group.relevant, effective))
            relevant[next(group_keys)] = shown
            asked_groups = {id(group): shown}
            for item, parents in group.walk():
                parent_shown = asked_groups[id(parents[-1])]
                asked = parent_shown and (item.relevant is None
                                          or to_boolean(_safe_evaluate(item.relevant, effective)))
                if isinstance(item, Group):
                    asked_groups[id(item)] = asked
                    relevant[next(group_keys)] = asked
                    continue
                key = next(question_keys)
                relevant[key] = asked
                if not asked or item.type == "note":
                    continue
                value = answers.get(key)
                if item.calculation is not None and (item.type == "calculate" or is_unanswered(value)):
                    value = _safe_evaluate(item.calculation, effective)
                    value = None if value is None else _calculated(value)
                if not is_unanswered(value):
                    effective[key] = value
        return relevant, effective

    def skip_logic(self, answers: Mapping[str, Any]) -> tuple[dict[str, bool], dict[str, Any]]:
        """Whether each group and question (by key) is asked given ``answers``, and the answers that count.

        The two results of one pass: :meth:`is_relevant` for every name and :meth:`clean`.
        """
        return self._relevance(answers)

    def is_relevant(self, item: Question | Group | str, answers: Mapping[str, Any]) -> bool:
        """Whether a question or group is asked given ``answers``: its own ``relevant`` and its groups'."""
        if isinstance(item, Group):
            group = self._resolve_group(item)
            name = next(key for key, found in self._groups_by_name.items() if found is group or found == group)
        elif isinstance(item, Question):
            name = self.key(item)
        elif item in self._by_name or item in self._groups_by_name:
            name = item
        else:
            raise QuestionnaireError(f"questionnaire {self.id!r} has no question or group {item!r}")
        return self._relevance(answers)[0][name]

    def visible_questions(self, group: Group | str, answers: Mapping[str, Any]) -> tuple[Question, ...]:
        """The questions (notes included) of one screen that are asked given ``answers``."""
        group = self._resolve_group(group)
        relevant = self._relevance(answers)[0]
        return tuple(question for question in group.questions if relevant[self.key(question)])

    def clean(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        """The answers to questions that are asked, in interview order, with calculated values.

        Answers to skipped questions, blank answers and keys that are not
        questions of this questionnaire are dropped.
        """
        return self._relevance(answers)[1]

    def missing_required(self, answers: Mapping[str, Any]) -> list[str]:
        """Keys of required questions that are asked but have no answer, in interview order."""
        relevant, effective = self._relevance(answers)
        return [
            key
            for key, question in zip(self._keys, self._questions)
            if relevant[key] and self._required(question, effective) and is_unanswered(answers.get(key))
            and question.calculation is None
        ]

    @staticmethod
    def _required(question: Question, context: Mapping[str, Any]) -> bool:
        if isinstance(question.required, str):
            return to_boolean(_safe_evaluate(question.required, context))
        return question.required

    # -- answer checks -------------------------------------------------------

    def check_answer(self, question: Question | str, value: Any, answers: Mapping[str, Any], lang: str) -> str | None:
        """Check one answer; ``None`` if it is acceptable, else the message to show in ``lang``.

        Checks, in order: required, the value's type and codes, the constraint
        (evaluated with ``.`` = ``value`` and the other answers as they count
        in the interview). Messages are the questionnaire's ``required_message``
        / ``constraint_message`` or a generic bilingual default; ``lang`` is an
        interface language (``'zh'``, ``'en'``) or one of the questionnaire's.
        """
        _check_language(lang, self.languages)
        question = self._resolve(question)
        key = self.key(question)
        if is_unanswered(value):
            if question.is_required and question.calculation is None and self._required(question, self.clean(answers)):
                return self.text(question.required_message or REQUIRED_MESSAGE, lang)
            return None
        if not self._valid_value(question, value):
            return self.text(_TYPE_MESSAGES.get(question.type, _TEXT_MESSAGE), lang)
        if question.constraint is not None:
            context = self.clean(answers)
            context[key] = value
            if not to_boolean(_safe_evaluate(question.constraint, context, current=value, failed=True)):
                return self.text(question.constraint_message or INVALID_MESSAGE, lang)
        return None

    def text(self, text: Text, lang: str) -> str:
        """``text`` in ``lang``, falling back to the questionnaire's default language."""
        if lang not in LANGUAGES and lang not in text.languages:
            code = language_code(lang)
            lang = code if code in LANGUAGES else self.default_language
            if lang not in LANGUAGES and lang not in text.languages:
                return text.zh
        return text.get(lang, self.default_language)

    def _valid_value(self, question: Question, value: Any) -> bool:
        kind = question.type
        if kind == "select_one":
            return isinstance(value, str) and value in {choice.name for choice in self.choices(question)}
        if kind in ("select_multiple", "rank"):
            names = {choice.name for choice in self.choices(question)}
            return (isinstance(value, (list, tuple)) and all(isinstance(code, str) and code in names for code in value)
                    and len(set(value)) == len(value))
        if kind == "integer":
            return isinstance(value, numbers.Integral) and not isinstance(value, bool)
        if kind in ("decimal", "range"):
            if not (isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)):
                return False
            return kind == "decimal" or in_range(question, value)
        if kind == "date":
            return isinstance(value, str) and _DATE.fullmatch(value) is not None
        if kind == "time":
            return isinstance(value, str) and _TIME.fullmatch(value) is not None
        if kind == "datetime":
            date, _, time = value.partition("T") if isinstance(value, str) else ("", "", "")
            return _DATE.fullmatch(date) is not None and _TIME.fullmatch(time) is not None
        if kind == "acknowledge":
            return value == "OK"
        if kind in NO_ANSWER_TYPES:
            return False  # a note takes no answer
        return isinstance(value, str)

    def page_errors(self, group: Group | str, answers: Mapping[str, Any], lang: str) -> dict[str, str]:
        """Messages for the asked questions of one screen whose answers are not acceptable, by key."""
        errors: dict[str, str] = {}
        for question in self.visible_questions(group, answers):
            if question.type == "calculate":
                continue
            key = self.key(question)
            message = self.check_answer(question, answers.get(key), answers, lang)
            if message is not None:
                errors[key] = message
        return errors


def in_range(question: Question, value: float) -> bool:
    """Whether ``value`` is on a ``range`` question's scale (``start``, ``end``, ``step``; defaults 1, 10, 1)."""
    try:
        start, end, step = (float(question.parameter(key) or default)
                            for key, default in (("start", 1), ("end", 10), ("step", 1)))
    except ValueError:
        return True  # pyxform checked the parameters; nothing to hold the value to
    low, high = min(start, end), max(start, end)
    if not low <= value <= high:
        return False
    steps = (value - start) / step if step else 0
    return abs(steps - round(steps)) < 1e-9


def _calculated(value: Any) -> Any:
    # a calculation's value is stored as XForms stores it: text (numbers and booleans as XPath writes them)
    from questionnaires.expressions import to_string
    return to_string(value)


def _safe_evaluate(expression: str, answers: Mapping[str, Any], *, current: Any = None, failed: Any = None) -> Any:
    """Evaluate, giving ``failed`` for an expression the browser cannot evaluate (a function it lacks)."""
    try:
        return evaluate(expression, answers, current=current)
    except ExpressionError:
        return failed
