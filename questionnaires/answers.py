"""Checking answers that arrive from a file against a questionnaire.

Cells of a CSV or Excel export (text, numbers typed by Excel, pandas missing
values) are first *coerced* to the model's answer types (``select_one`` ->
``str``, ``select_multiple`` -> ``list[str]``, ``integer`` -> ``int``,
``decimal`` -> ``float``, ``text`` -> ``str``), then a whole interview is
checked the way the tablet would have checked it: unknown codes, values of the
wrong kind, failed constraints, answers to questions that skip logic should have
skipped, and required questions left unanswered.

Examples
--------
>>> from questionnaires import shipped_questionnaires
>>> form = shipped_questionnaires()["telecom_users"]
>>> checked = check_answers(form, {"consent": "yes", "age": "17"})
>>> sorted({problem.kind for problem in checked.problems})
['constraint', 'missing_required']
"""
from __future__ import annotations

import datetime
import math
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal, get_args

import pandas as pd

from questionnaires.errors import QuestionnaireError
from questionnaires.expressions import evaluate, to_boolean
from questionnaires.model import INVALID_MESSAGE, REQUIRED_MESSAGE, Question, Questionnaire, in_range

__all__ = [
    "AnswerError", "AnswerProblem", "CheckedAnswers", "ProblemKind", "PROBLEM_KINDS",
    "coerce_answer", "check_answers", "relevance", "asked_frame",
]

ProblemKind = Literal["unknown_question", "bad_value", "unknown_code", "constraint", "not_relevant",
                      "missing_required"]
PROBLEM_KINDS: tuple[str, ...] = get_args(ProblemKind)
_INTEGER = re.compile(r"\s*[+-]?\d+(?:\.0*)?\s*")  # '34' or '34.0' as pandas writes integer columns
_DECIMAL = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*")


class AnswerError(QuestionnaireError):
    """A value cannot be an answer to a question.

    Attributes
    ----------
    question : str
        The question's name.
    kind : {"bad_value", "unknown_code"}
        ``bad_value``: not of the question's type (``'abc'`` for an integer);
        ``unknown_code``: a code that is not in the question's choice list.
    value : object
        The value as given.
    """

    def __init__(self, message: str, *, question: str, kind: ProblemKind, value: Any) -> None:
        self.question, self.kind, self.value = question, kind, value
        super().__init__(f"question {question!r}: {message}")
        self.problem = message


@dataclass(frozen=True)
class AnswerProblem:
    """One thing wrong with one answer of an interview.

    ``kind`` is one of :data:`PROBLEM_KINDS`; ``message`` says what is wrong and,
    where it helps, what would be accepted.
    """

    question: str
    kind: ProblemKind
    value: Any
    message: str


@dataclass(frozen=True)
class CheckedAnswers:
    """The result of :func:`check_answers` for one interview.

    Attributes
    ----------
    answers : Mapping[str, Any]
        The coerced answers to the questions that are asked, in interview order
        (what the store saves); values that could not be coerced are left out.
    problems : tuple of AnswerProblem
        Everything wrong, in interview order; empty when the interview is clean.
    """

    answers: Mapping[str, Any]
    problems: tuple[AnswerProblem, ...]

    @property
    def ok(self) -> bool:
        """Whether the interview has no problem."""
        return not self.problems

    def to_frame(self) -> pd.DataFrame:
        """The problems, one row each: question, kind, value, message."""
        return pd.DataFrame([(p.question, p.kind, p.value, p.message) for p in self.problems],
                            columns=["question", "kind", "value", "message"])

    def summary(self) -> str:
        """A short text: the number of answers and each problem on one line."""
        if self.ok:
            return f"{len(self.answers)} answers, no problems"
        lines = [f"{len(self.answers)} answers, {len(self.problems)} problem(s):"]
        lines += [f"  {p.question}: {p.kind}: {p.message}" for p in self.problems]
        return "\n".join(lines)


def _missing(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return len(value) == 0
    if isinstance(value, str):
        return value.strip() == ""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def coerce_answer(questionnaire: Questionnaire, question: Question | str, value: Any) -> Any:
    """Turn a cell value into the model's answer for ``question``, or ``None`` if unanswered.

    Parameters
    ----------
    questionnaire : Questionnaire
    question : Question or str
        The question (or its name).
    value : object
        A cell: text (``'5'``, ``'a b'``, ``'34.0'``), a number, a list of codes,
        or a missing value (``None``, ``NaN``, ``''``, ``[]``).

    Returns
    -------
    object
        ``str`` code, ``list[str]`` of codes, ``int``, ``float`` or ``str``; ``None``
        for an unanswered cell. A code typed as a number (``5`` or ``5.0``) becomes ``'5'``.

    Raises
    ------
    AnswerError
        ``kind='bad_value'`` if the value is not of the question's type,
        ``kind='unknown_code'`` if a code is not in the choice list.

    Examples
    --------
    >>> from questionnaires import shipped_questionnaires
    >>> form = shipped_questionnaires()["telecom_users"]
    >>> coerce_answer(form, "telecom_services", "mobile broadband"), coerce_answer(form, "age", "34.0")
    (['mobile', 'broadband'], 34)
    """
    key = questionnaire.key(question)
    question = questionnaire.question(key)
    if _missing(value):
        return None
    name, kind = key, question.type
    if kind == "note":
        raise AnswerError(f"{value!r} given, but a note takes no answer; clear the cell",
                          question=name, kind="bad_value", value=value)
    if kind in ("select_one", "select_multiple"):
        codes = _codes(name, kind, value)
        allowed = [choice.name for choice in questionnaire.choices(question)]
        unknown = [code for code in codes if code not in allowed]
        if unknown:
            shown = ", ".join(allowed[:12]) + (", ..." if len(allowed) > 12 else "")
            raise AnswerError(
                f"{', '.join(map(repr, unknown))} {'is not a code' if len(unknown) == 1 else 'are not codes'} of "
                f"choice list {question.list_name!r} (codes: {shown})", question=name, kind="unknown_code",
                value=value)
        return codes[0] if kind == "select_one" else codes
    if kind == "rank":
        codes = _codes(name, "select_multiple", value)
        unknown = [code for code in codes if code not in {choice.name for choice in questionnaire.choices(question)}]
        if unknown:
            raise AnswerError(f"{', '.join(map(repr, unknown))} not in choice list {question.list_name!r}",
                              question=name, kind="unknown_code", value=value)
        return codes
    if kind == "integer":
        return _integer(name, value)
    if kind == "decimal":
        return _decimal(name, value)
    if kind == "range":
        number = _decimal(name, value)
        if not in_range(question, number):
            raise AnswerError(f"{value!r} is not on the scale ({question.parameters or 'start=1 end=10 step=1'})",
                              question=name, kind="bad_value", value=value)
        return int(number) if number.is_integer() else number
    if kind in ("date", "time", "datetime"):
        return _moment(name, kind, value)
    if isinstance(value, str):
        return value
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return _number_text(value)  # Excel turned a typed '123' into a number
    raise AnswerError(f"{value!r} is not text", question=name, kind="bad_value", value=value)


_ISO = {"date": re.compile(r"\s*(\d{4}-\d{2}-\d{2})\s*"),
        "time": re.compile(r"\s*(\d{2}:\d{2}(?::\d{2})?)(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?\s*"),
        "datetime": re.compile(r"\s*(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.\d+)?"
                               r"(?:Z|[+-]\d{2}:?\d{2})?\s*")}


def _moment(name: str, kind: str, value: Any) -> str:
    """A date, time or date-time cell (a text as ODK and Kobo export it, or an Excel date) as ISO text."""
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime.datetime):
        value = value.replace(tzinfo=None)
        return {"date": value.date().isoformat(), "time": value.time().isoformat(timespec="seconds"),
                "datetime": value.isoformat(timespec="seconds")}[kind]
    if isinstance(value, datetime.date) and kind == "date":
        return value.isoformat()
    if isinstance(value, datetime.time) and kind == "time":
        return value.isoformat(timespec="seconds")
    match = _ISO[kind].fullmatch(value) if isinstance(value, str) else None
    if match is None:
        example = {"date": "2026-03-01", "time": "14:30:00", "datetime": "2026-03-01T14:30:00"}[kind]
        raise AnswerError(f"{value!r} is not a {kind} (write it as {example})", question=name, kind="bad_value",
                          value=value)
    parts = [part if len(part) != 5 or ":" not in part else part + ":00" for part in match.groups()]
    return "T".join(parts)


def _number_text(value: numbers.Real) -> str:
    if isinstance(value, numbers.Integral):
        return str(int(value))
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def _codes(name: str, kind: str, value: Any) -> list[str]:
    if isinstance(value, str):
        codes = value.split()
    elif isinstance(value, (list, tuple)) and kind == "select_multiple":
        if not all(isinstance(code, str) for code in value):
            raise AnswerError(f"{value!r} is not a list of codes", question=name, kind="bad_value", value=value)
        codes = [code.strip() for code in value]
    elif isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value):
        codes = [_number_text(value)]
    else:
        raise AnswerError(f"{value!r} is not a choice code", question=name, kind="bad_value", value=value)
    if kind == "select_one" and len(codes) != 1:
        raise AnswerError(f"{value!r} holds {len(codes)} codes, but the question takes one",
                          question=name, kind="bad_value", value=value)
    if len(set(codes)) != len(codes):
        raise AnswerError(f"{value!r} repeats a code; choose each option at most once",
                          question=name, kind="bad_value", value=value)
    return codes


def _integer(name: str, value: Any) -> int:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        number = float(value)
        if math.isfinite(number) and number.is_integer():
            return int(number)
    elif isinstance(value, str) and _INTEGER.fullmatch(value):
        return int(value.strip().split(".")[0])
    raise AnswerError(f"{value!r} is not a whole number", question=name, kind="bad_value", value=value)


def _decimal(name: str, value: Any) -> float:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and _DECIMAL.fullmatch(value):
        number = float(value)
    else:
        raise AnswerError(f"{value!r} is not a number", question=name, kind="bad_value", value=value)
    if not math.isfinite(number):
        raise AnswerError(f"{value!r} is not a finite number", question=name, kind="bad_value", value=value)
    return number


def _walk(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> tuple[dict[str, bool], dict[str, Any]]:
    # Interview order, as Questionnaire.is_relevant/clean decide it: an expression sees only
    # the answers of earlier questions that were asked.
    return questionnaire.skip_logic(answers)


def relevance(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> dict[str, bool]:
    """Whether each group and question is asked given ``answers`` (coerced), by name.

    The same decision as :meth:`Questionnaire.is_relevant`, for all names in one pass.
    """
    return _walk(questionnaire, answers)[0]


def check_answers(questionnaire: Questionnaire, answers: Mapping[str, Any], *, lang: str = "en") -> CheckedAnswers:
    """Coerce and check the answers of one interview.

    Parameters
    ----------
    questionnaire : Questionnaire
    answers : Mapping[str, Any]
        Question name -> cell value (anything :func:`coerce_answer` takes).
    lang : {"en", "zh"}
        Language of the questionnaire's own messages (``constraint_message``,
        ``required_message``) quoted in the problems.

    Returns
    -------
    CheckedAnswers
        The coerced answers of the asked questions and every problem:
        ``unknown_question`` (a name the questionnaire does not have),
        ``bad_value``, ``unknown_code``, ``constraint`` (the question's
        constraint is false, e.g. a number out of range), ``not_relevant``
        (answered although skip logic skips the question) and
        ``missing_required``.
    """
    if lang not in ("en", "zh"):
        raise ValueError(f"lang={lang!r} is not supported; use 'en' or 'zh'")
    problems: dict[str, AnswerProblem] = {}
    coerced: dict[str, Any] = {}
    known = {questionnaire.key(question) for question in questionnaire.questions}
    for name in answers:
        if name not in known:
            if not _missing(answers[name]):
                problems[name] = AnswerProblem(name, "unknown_question", answers[name],
                                               f"questionnaire {questionnaire.id!r} has no question {name!r}")
            continue
        try:
            value = coerce_answer(questionnaire, name, answers[name])
        except AnswerError as error:
            problems[name] = AnswerProblem(name, error.kind, error.value, error.problem)
            continue
        if value is not None:
            coerced[name] = value
    relevant, effective = _walk(questionnaire, coerced)
    missing = set(questionnaire.missing_required(coerced))
    for question in questionnaire.questions:
        name = questionnaire.key(question)
        if name in problems or question.type == "note":
            continue
        value = coerced.get(name)
        if value is None:
            if name in missing:
                message = (question.required_message or REQUIRED_MESSAGE).get(lang)
                problems[name] = AnswerProblem(name, "missing_required", None,
                                               f"required but unanswered ({message})")
        elif not relevant[name]:
            problems[name] = AnswerProblem(name, "not_relevant", answers[name],
                                           _skipped(questionnaire, question, relevant))
        elif question.constraint is not None:
            context = dict(effective)
            context[name] = value
            if not to_boolean(evaluate(question.constraint, context, current=value)):
                message = (question.constraint_message or INVALID_MESSAGE).get(lang)
                problems[name] = AnswerProblem(
                    name, "constraint", answers[name],
                    f"{value!r} fails the constraint {question.constraint!r} ({message})")
    order: dict[str, int] = {}
    for name in [*(question.name for question in questionnaire.questions), *answers]:
        order.setdefault(name, len(order))
    ordered = tuple(sorted(problems.values(), key=lambda problem: order[problem.question]))
    return CheckedAnswers(answers=MappingProxyType(effective), problems=ordered)


def _skipped(questionnaire: Questionnaire, question: Question, relevant: Mapping[str, bool]) -> str:
    group = questionnaire.group_of(question)
    if not relevant[group.name]:
        reason = f"its screen {group.name!r} is skipped: {group.relevant!r} is false"
    else:
        reason = f"its relevant {question.relevant!r} is false"
    return f"answered, but the question should have been skipped ({reason}); clear the answer or fix the earlier ones"


def asked_frame(questionnaire: Questionnaire, responses: pd.DataFrame) -> pd.DataFrame:
    """Which questions each interview was asked, for item non-response.

    Parameters
    ----------
    questionnaire : Questionnaire
    responses : pandas.DataFrame
        One row per interview with answer columns named after the questions, as
        ``ResponseStore.responses_frame`` gives them (missing columns count as unanswered).

    Returns
    -------
    pandas.DataFrame
        Same index as ``responses``, one boolean column per question that takes an
        answer (notes left out), ``True`` where skip logic asks the question. A cell
        that cannot be coerced counts as unanswered when deciding later skips.
    """
    names = [question.name for question in questionnaire.questions if question.type != "note"]
    present = [name for name in names if name in responses.columns]
    rows = []
    for values in responses[present].itertuples(index=False, name=None):
        answers = {}
        for name, value in zip(present, values):
            try:
                answers[name] = coerce_answer(questionnaire, name, value)
            except AnswerError:
                continue
        rows.append(_walk(questionnaire, answers)[0])
    return pd.DataFrame([[row[name] for name in names] for row in rows], index=responses.index, columns=names,
                        dtype=bool)
