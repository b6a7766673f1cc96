"""The questionnaire model, in XLSForm vocabulary.

A :class:`Questionnaire` is a sequence of :class:`Group` screens holding
:class:`Question` objects whose fields are XLSForm's survey-sheet columns
(``type``, ``name``, ``label``, ``hint``, ``required``, ``relevant``,
``constraint``, ...); choice lists are XLSForm's choices sheet. Everything is a
frozen dataclass and is checked when built, so an object that exists is usable.

Answers are a mapping from question name to value: ``select_one`` -> ``str``
code, ``select_multiple`` -> ``list[str]`` of codes, ``integer`` -> ``int``,
``decimal`` -> ``float``, ``text`` -> ``str``; unanswered -> key absent or ``None``
(an empty string or an empty list also counts as unanswered).
"""
from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from questionnaires.errors import ExpressionError, QuestionnaireError
from questionnaires.expressions import evaluate, parse, references, to_boolean, uses_current

__all__ = ["Text", "Choice", "Question", "Group", "Questionnaire", "QuestionType", "QUESTION_TYPES", "LANGUAGES"]

QuestionType = Literal["select_one", "select_multiple", "integer", "decimal", "text", "note"]
QUESTION_TYPES: tuple[str, ...] = get_args(QuestionType)
SELECT_TYPES = ("select_one", "select_multiple")
LANGUAGES: tuple[str, ...] = ("zh", "en")
# XLSForm names; '-' and '.' (allowed by XLSForm) are left out so names are plain identifiers.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CHOICE_NAME = re.compile(r"\S+")  # select_multiple answers are stored space-separated in XLSForm


def _check_language(lang: str) -> None:
    if lang not in LANGUAGES:
        raise ValueError(f"lang={lang!r} is not supported; use one of {', '.join(LANGUAGES)}")


@dataclass(frozen=True)
class Text:
    """A bilingual text: Chinese (required) and English (optional).

    Examples
    --------
    >>> Text("非常满意", "Very satisfied").get("en")
    'Very satisfied'
    >>> Text("非常满意").get("en")
    '非常满意'
    """

    zh: str
    en: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.zh, str) or not self.zh.strip():
            raise QuestionnaireError(
                f"missing zh label: the Chinese text is {self.zh!r}; every label needs a non-empty zh text")
        if self.en is not None and (not isinstance(self.en, str) or not self.en.strip()):
            raise QuestionnaireError(f"the English text is {self.en!r}; give a non-empty en text or leave it out")

    def get(self, lang: str) -> str:
        """The text in ``lang`` (``'zh'`` or ``'en'``), falling back to Chinese."""
        _check_language(lang)
        return self.en if lang == "en" and self.en is not None else self.zh


@dataclass(frozen=True)
class Choice:
    """One option of a choice list: ``name`` is the stored code, ``label`` what is shown."""

    name: str
    label: Text

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _CHOICE_NAME.fullmatch(self.name):
            raise QuestionnaireError(
                f"choice name {self.name!r} is not usable; a choice name is a non-empty string without spaces "
                "(quote numbers and yes/no in YAML: name: '1')")
        if not isinstance(self.label, Text):
            raise QuestionnaireError(f"choice {self.name!r}: label must be a Text, got {self.label!r}")


@dataclass(frozen=True)
class Question:
    """One row of an XLSForm survey sheet.

    ``list_name`` is the choice list of a ``select_one``/``select_multiple``
    question (XLSForm writes ``select_one LIST``). ``relevant`` and
    ``constraint`` are XLSForm expressions; ``.`` in a constraint is the answer.
    """

    type: QuestionType
    name: str
    label: Text
    list_name: str | None = None
    hint: Text | None = None
    required: bool = False
    required_message: Text | None = None
    relevant: str | None = None
    constraint: str | None = None
    constraint_message: Text | None = None
    appearance: str | None = None

    def __post_init__(self) -> None:
        where = f"question {self.name!r}"
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise QuestionnaireError(
                f"{where}: bad name; a name starts with a letter or '_' and has only letters, digits and '_'")
        if self.type not in QUESTION_TYPES:
            raise QuestionnaireError(
                f"{where}: unknown type {self.type!r}; use one of "
                "select_one LIST, select_multiple LIST, integer, decimal, text, note")
        if self.type in SELECT_TYPES and not self.list_name:
            raise QuestionnaireError(f"{where}: {self.type} needs a choice list; write type: {self.type} LIST_NAME")
        if self.type not in SELECT_TYPES and self.list_name is not None:
            raise QuestionnaireError(f"{where}: a {self.type} question has no choice list, got {self.list_name!r}")
        for attribute in ("label", "hint", "required_message", "constraint_message"):
            value = getattr(self, attribute)
            if not isinstance(value, Text) and (attribute == "label" or value is not None):
                raise QuestionnaireError(f"{where}: {attribute} must be a Text, got {value!r}")
        if not isinstance(self.required, bool):
            raise QuestionnaireError(f"{where}: required must be true or false, got {self.required!r}")
        if self.type == "note" and (self.required or self.constraint is not None):
            raise QuestionnaireError(f"{where}: a note takes no answer, so it cannot be required or have a constraint")
        if self.required_message is not None and not self.required:
            raise QuestionnaireError(f"{where}: required_message given but the question is not required")
        if self.constraint_message is not None and self.constraint is None:
            raise QuestionnaireError(f"{where}: constraint_message given without a constraint")
        if self.appearance is not None and not isinstance(self.appearance, str):
            raise QuestionnaireError(f"{where}: appearance must be a string, got {self.appearance!r}")
        _check_expression(where, "relevant", self.relevant, allow_current=False)
        _check_expression(where, "constraint", self.constraint, allow_current=True)


def _check_expression(where: str, column: str, expression: str | None, *, allow_current: bool) -> None:
    if expression is None:
        return
    try:
        parse(expression)
    except ExpressionError as error:
        raise ExpressionError(f"{where}: malformed {column}: {error}") from None
    if not allow_current and uses_current(expression):
        raise ExpressionError(
            f"{where}: {column} {expression!r} uses '.', which only means something in a constraint; "
            "refer to questions as ${name}")


@dataclass(frozen=True)
class Group:
    """A group of questions shown on one tablet screen (XLSForm ``begin group`` ... ``end group``)."""

    name: str
    label: Text
    questions: tuple[Question, ...]
    relevant: str | None = None

    def __post_init__(self) -> None:
        where = f"group {self.name!r}"
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise QuestionnaireError(
                f"{where}: bad name; a name starts with a letter or '_' and has only letters, digits and '_'")
        if not isinstance(self.label, Text):
            raise QuestionnaireError(f"{where}: label must be a Text, got {self.label!r}")
        object.__setattr__(self, "questions", tuple(self.questions))
        if not self.questions:
            raise QuestionnaireError(f"{where}: has no questions; add at least one or remove the group")
        for question in self.questions:
            if not isinstance(question, Question):
                raise QuestionnaireError(f"{where}: holds {question!r}, which is not a Question")
        _check_expression(where, "relevant", self.relevant, allow_current=False)


REQUIRED_MESSAGE = Text("此题为必答题。", "This question is required.")
INVALID_MESSAGE = Text("答案不符合要求，请检查。", "This answer is not valid; please check it.")
_TYPE_MESSAGES: dict[str, Text] = {
    "select_one": Text("请从列表中选择一个选项。", "Choose one of the listed options."),
    "select_multiple": Text("请只选择列表中的选项，每项最多一次。", "Choose only listed options, each at most once."),
    "integer": Text("请输入整数。", "Enter a whole number."),
    "decimal": Text("请输入数字。", "Enter a number."),
    "text": Text("请输入文字。", "Enter text."),
    "note": Text("说明文字无需回答。", "A note takes no answer."),
}


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

    Building one checks it as a whole: unique names, existing choice lists,
    expressions that parse and refer to existing questions (``relevant`` only to
    questions asked earlier, so skip logic is decided in interview order), and
    an English text everywhere when ``'en'`` is among ``languages``.

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
    _by_name: dict[str, Question] = field(init=False, repr=False, compare=False)
    _group_of: dict[str, Group] = field(init=False, repr=False, compare=False)
    _groups_by_name: dict[str, Group] = field(init=False, repr=False, compare=False)
    _questions: tuple[Question, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        where = f"questionnaire {self.id!r}"
        if not isinstance(self.id, str) or not _NAME.fullmatch(self.id):
            raise QuestionnaireError(f"{where}: bad id; use letters, digits and '_' (e.g. consumer_environment)")
        if not isinstance(self.version, str) or not self.version.strip():
            raise QuestionnaireError(f"{where}: version must be a non-empty string, got {self.version!r}; quote it")
        if not isinstance(self.title, Text):
            raise QuestionnaireError(f"{where}: title must be a Text, got {self.title!r}")
        object.__setattr__(self, "languages", tuple(self.languages))
        unknown = [lang for lang in self.languages if lang not in LANGUAGES]
        if unknown or "zh" not in self.languages or len(set(self.languages)) != len(self.languages):
            raise QuestionnaireError(
                f"{where}: languages {list(self.languages)} not supported; list 'zh' and optionally 'en', once each")
        if self.default_language not in self.languages:
            raise QuestionnaireError(
                f"{where}: default_language {self.default_language!r} is not among languages {list(self.languages)}")
        object.__setattr__(self, "groups", tuple(self.groups))
        if not self.groups:
            raise QuestionnaireError(f"{where}: has no groups; add at least one screen of questions")
        self._freeze_choice_lists(where)
        self._index(where)
        self._check_references()
        if "en" in self.languages:
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
                if choice.name in seen:
                    raise QuestionnaireError(
                        f"{where}: choice list {list_name!r} has duplicate choice name {choice.name!r}; "
                        "names in a list must be unique")
                seen.add(choice.name)
            frozen[list_name] = choices
        object.__setattr__(self, "choice_lists", frozen)

    def _index(self, where: str) -> None:
        by_name: dict[str, Question] = {}
        group_of: dict[str, Group] = {}
        groups_by_name: dict[str, Group] = {}
        for group in self.groups:
            if not isinstance(group, Group):
                raise QuestionnaireError(f"{where}: holds {group!r}, which is not a Group")
            if group.name in groups_by_name or group.name in by_name:
                raise QuestionnaireError(f"{where}: duplicate name {group.name!r} (group); names must be unique")
            groups_by_name[group.name] = group
            for question in group.questions:
                if question.name in by_name or question.name in groups_by_name:
                    raise QuestionnaireError(
                        f"{where}: question {question.name!r}: duplicate name; names must be unique "
                        "across all questions and groups")
                if question.type in SELECT_TYPES and question.list_name not in self.choice_lists:
                    raise QuestionnaireError(
                        f"{where}: question {question.name!r}: choice list {question.list_name!r} does not exist; "
                        f"defined lists: {', '.join(sorted(self.choice_lists)) or 'none'}")
                by_name[question.name] = question
                group_of[question.name] = group
        object.__setattr__(self, "_by_name", by_name)
        object.__setattr__(self, "_group_of", group_of)
        object.__setattr__(self, "_groups_by_name", groups_by_name)
        object.__setattr__(self, "_questions", tuple(by_name.values()))

    def _check_references(self) -> None:
        position = {question.name: index for index, question in enumerate(self._questions)}

        def check(owner: str, column: str, expression: str | None, before: int | None) -> None:
            if expression is None:
                return
            for name in sorted(references(expression)):
                if name not in self._by_name:
                    raise QuestionnaireError(
                        f"questionnaire {self.id!r}: {owner}: {column} {expression!r} refers to unknown question "
                        f"{name!r}; fix the name or add the question")
                if self._by_name[name].type == "note":
                    raise QuestionnaireError(
                        f"questionnaire {self.id!r}: {owner}: {column} {expression!r} refers to note {name!r}, "
                        "which has no answer")
                if before is not None and position[name] >= before:
                    raise QuestionnaireError(
                        f"questionnaire {self.id!r}: {owner}: {column} {expression!r} refers to {name!r}, which "
                        "is not asked before it; skip logic may only depend on earlier questions")

        for group in self.groups:
            first = position[group.questions[0].name]
            check(f"group {group.name!r}", "relevant", group.relevant, first)
            for question in group.questions:
                owner = f"question {question.name!r}"
                check(owner, "relevant", question.relevant, position[question.name])
                check(owner, "constraint", question.constraint, None)

    def _check_english(self) -> None:
        def check(owner: str, column: str, text: Text | None) -> None:
            if text is not None and text.en is None:
                raise QuestionnaireError(
                    f"questionnaire {self.id!r}: {owner}: {column} has no English (en) text; add it or "
                    "remove 'en' from languages")

        check("title", "title", self.title)
        for group in self.groups:
            check(f"group {group.name!r}", "label", group.label)
            for question in group.questions:
                for column in ("label", "hint", "required_message", "constraint_message"):
                    check(f"question {question.name!r}", column, getattr(question, column))
        for list_name, choices in self.choice_lists.items():
            for choice in choices:
                check(f"choice list {list_name!r}", f"choice {choice.name!r} label", choice.label)

    def __hash__(self) -> int:
        # choice_lists is a dict, so the generated hash would fail; equal questionnaires share id and version
        return hash((self.id, self.version))

    # -- look-ups -----------------------------------------------------------

    @property
    def questions(self) -> tuple[Question, ...]:
        """All questions, notes included, in interview order."""
        return self._questions

    def question(self, name: str) -> Question:
        """The question called ``name``; :class:`QuestionnaireError` if there is none."""
        try:
            return self._by_name[name]
        except (KeyError, TypeError):
            raise QuestionnaireError(
                f"questionnaire {self.id!r} has no question {name!r}; check the name") from None

    def group(self, name: str) -> Group:
        """The group (screen) called ``name``; :class:`QuestionnaireError` if there is none."""
        try:
            return self._groups_by_name[name]
        except (KeyError, TypeError):
            raise QuestionnaireError(
                f"questionnaire {self.id!r} has no group {name!r}; groups: {', '.join(self._groups_by_name)}"
            ) from None

    def group_of(self, question: Question | str) -> Group:
        """The group (screen) that holds ``question``."""
        return self._group_of[self._resolve(question).name]

    def choices(self, question: Question | str) -> tuple[Choice, ...]:
        """The choices of a ``select_one``/``select_multiple`` question."""
        question = self._resolve(question)
        if question.list_name is None:
            raise QuestionnaireError(
                f"questionnaire {self.id!r}: question {question.name!r} is {question.type}, which has no choices")
        return self.choice_lists[question.list_name]

    def _resolve(self, question: Question | str) -> Question:
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
        been skipped since cannot switch later questions on.
        """
        relevant: dict[str, bool] = {}
        effective: dict[str, Any] = {}
        for group in self.groups:
            shown = group.relevant is None or to_boolean(evaluate(group.relevant, effective))
            relevant[group.name] = shown
            for question in group.questions:
                asked = shown and (question.relevant is None or to_boolean(evaluate(question.relevant, effective)))
                relevant[question.name] = asked
                value = answers.get(question.name)
                if asked and question.type != "note" and not is_unanswered(value):
                    effective[question.name] = value
        return relevant, effective

    def is_relevant(self, item: Question | Group | str, answers: Mapping[str, Any]) -> bool:
        """Whether a question or group is asked given ``answers``: its own ``relevant`` and its group's."""
        if isinstance(item, Group):
            name = self._resolve_group(item).name
        elif isinstance(item, Question):
            name = self._resolve(item).name
        elif item in self._by_name or item in self._groups_by_name:
            name = item
        else:
            raise QuestionnaireError(f"questionnaire {self.id!r} has no question or group {item!r}")
        return self._relevance(answers)[0][name]

    def visible_questions(self, group: Group | str, answers: Mapping[str, Any]) -> tuple[Question, ...]:
        """The questions (notes included) of one screen that are asked given ``answers``."""
        group = self._resolve_group(group)
        relevant = self._relevance(answers)[0]
        return tuple(question for question in group.questions if relevant[question.name])

    def clean(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        """The answers to questions that are asked, in interview order.

        Answers to skipped questions, blank answers and keys that are not
        questions of this questionnaire are dropped.
        """
        return self._relevance(answers)[1]

    def missing_required(self, answers: Mapping[str, Any]) -> list[str]:
        """Names of required questions that are asked but have no answer, in interview order."""
        relevant = self._relevance(answers)[0]
        return [
            question.name
            for question in self._questions
            if question.required and relevant[question.name] and is_unanswered(answers.get(question.name))
        ]

    # -- answer checks -------------------------------------------------------

    def check_answer(self, question: Question | str, value: Any, answers: Mapping[str, Any], lang: str) -> str | None:
        """Check one answer; ``None`` if it is acceptable, else the message to show in ``lang``.

        Checks, in order: required, the value's type and codes, the constraint
        (evaluated with ``.`` = ``value`` and the other answers as they count
        in the interview). Messages are the questionnaire's ``required_message``
        / ``constraint_message`` or a generic bilingual default.
        """
        _check_language(lang)
        question = self._resolve(question)
        if is_unanswered(value):
            if question.required:
                return (question.required_message or REQUIRED_MESSAGE).get(lang)
            return None
        if not self._valid_value(question, value):
            return _TYPE_MESSAGES[question.type].get(lang)
        if question.constraint is not None:
            context = self.clean(answers)
            context[question.name] = value
            if not to_boolean(evaluate(question.constraint, context, current=value)):
                return (question.constraint_message or INVALID_MESSAGE).get(lang)
        return None

    def _valid_value(self, question: Question, value: Any) -> bool:
        if question.type == "select_one":
            return isinstance(value, str) and value in {choice.name for choice in self.choices(question)}
        if question.type == "select_multiple":
            names = {choice.name for choice in self.choices(question)}
            return (isinstance(value, (list, tuple)) and all(isinstance(code, str) and code in names for code in value)
                    and len(set(value)) == len(value))
        if question.type == "integer":
            return isinstance(value, numbers.Integral) and not isinstance(value, bool)
        if question.type == "decimal":
            return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
        if question.type == "text":
            return isinstance(value, str)
        return False  # a note takes no answer

    def page_errors(self, group: Group | str, answers: Mapping[str, Any], lang: str) -> dict[str, str]:
        """Messages for the asked questions of one screen whose answers are not acceptable, by name."""
        errors: dict[str, str] = {}
        for question in self.visible_questions(group, answers):
            message = self.check_answer(question, answers.get(question.name), answers, lang)
            if message is not None:
                errors[question.name] = message
        return errors
