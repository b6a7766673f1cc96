"""The logic of a tablet interview, without any user interface.

A *screen* is one :class:`~questionnaires.Group`, identified by its index in
``questionnaire.groups``. A screen is *shown* when at least one of its questions is
asked given the answers so far (its own and its group's ``relevant``), so skip logic
decides which screens Back and Next visit. The interviewing page calls these functions;
the tests call them directly.

Widget values and answers differ slightly (a number box may hold ``3.0`` for the integer
3, an empty multi-select is ``[]``, a date picker holds a ``datetime.date``); :func:`to_answer`
and :func:`to_widget` convert.

Questionnaires read from XLSForms hold more than a browser can ask. :func:`mode` sorts every
question: ``asked`` (a widget on the page), ``computed`` (``calculate``, ``hidden`` and the
device's metadata: not shown, their values come from :meth:`Questionnaire.clean` or
:func:`metadata_answers`) and ``odk`` (a location, a photo, a recording, a file, a barcode, a
question inside a repeat or a loop, choices from a file: shown as "collect with ODK Collect", never
required here, their answers come from ODK/Kobo exports).
"""
from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from questionnaires import Question, Questionnaire
from questionnaires.errors import ExpressionError, QuestionnaireError
from questionnaires.expressions import evaluate, to_boolean, to_string
from questionnaires.model import Choice

__all__ = [
    "QuestionMode",
    "SubmitCheck",
    "choices",
    "metadata_answers",
    "mode",
    "piped",
    "shown_questions",
    "check_submission",
    "first_screen",
    "live_errors",
    "next_screen",
    "previous_screen",
    "progress",
    "resume_screen",
    "shown_screens",
    "to_answer",
    "to_widget",
]


QuestionMode = Literal["asked", "computed", "odk"]
_ASKED_TYPES = frozenset({"select_one", "select_multiple", "rank", "integer", "decimal", "range", "text", "note",
                          "date", "time", "datetime", "acknowledge"})
_COMPUTED_TYPES = frozenset({"calculate", "hidden", "start", "end", "today", "deviceid", "subscriberid", "simserial",
                             "phonenumber", "username", "email", "audit", "xml-external", "csv-external"})


def mode(questionnaire: Questionnaire, question: Question) -> QuestionMode:
    """How the browser interview treats ``question``: ``asked``, ``computed`` or ``odk`` (module docstring)."""
    if question.type in _COMPUTED_TYPES:
        return "computed"
    if question.type in _ASKED_TYPES and not any(group.repeat or group.loop_over is not None
                                                 for group in questionnaire.parents(question)):
        return "asked"
    return "odk"


def shown_questions(questionnaire: Questionnaire, index: int, answers: Mapping[str, Any]) -> list[Question]:
    """The questions screen ``index`` shows given ``answers``: asked ones and those marked for ODK Collect."""
    return [question for question in questionnaire.visible_questions(questionnaire.groups[index], answers)
            if mode(questionnaire, question) != "computed"]


def shown_screens(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> list[int]:
    """Indices of the screens that show at least one question given ``answers``."""
    return [index for index in range(len(questionnaire.groups)) if shown_questions(questionnaire, index, answers)]


def choices(questionnaire: Questionnaire, question: Question, answers: Mapping[str, Any]) -> tuple[Choice, ...]:
    """The choices to offer: the list, filtered by the question's ``choice_filter`` given ``answers``.

    A filter the browser cannot evaluate offers every choice (the answer is still checked
    against the list).
    """
    listed = questionnaire.choices(question)
    if question.choice_filter is None:
        return listed
    context = questionnaire.clean(answers)
    try:
        return tuple(choice for choice in listed if to_boolean(evaluate(
            question.choice_filter, context, item={"name": choice.name, **dict(choice.extra)})))
    except ExpressionError:
        return listed


_REFERENCE = re.compile(r"\$\{([^}]*)\}")


def piped(questionnaire: Questionnaire, text: str, answers: Mapping[str, Any], lang: str, *,
          escape: Callable[[str], str] = lambda value: value) -> str:
    """``text`` with each ``${name}`` replaced by the answer (a choice by its label), as ODK shows it.

    ``escape`` is applied to each answer put in (the page passes its Markdown escaping, so a
    typed answer is shown as typed).
    """
    if "${" not in text:
        return text
    context = questionnaire.clean(answers)

    def answer(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        value = context.get(name)
        try:
            question = questionnaire.question(name)
        except QuestionnaireError:  # a group or an unknown name: ODK shows nothing either
            return ""
        if value is not None and question.type in ("select_one", "select_multiple", "rank"):
            labels = {choice.name: questionnaire.text(choice.label, lang) for choice in questionnaire.choices(question)}
            codes = value if isinstance(value, list) else [value]
            return ", ".join(labels.get(code, code) for code in codes)
        return "" if value is None else to_string(value)

    return _REFERENCE.sub(lambda match: escape(answer(match)), text)


def metadata_answers(questionnaire: Questionnaire, answers: Mapping[str, Any], *, interviewer: str,
                     started: datetime.datetime, now: datetime.datetime) -> dict[str, Any]:
    """The answers of the form's metadata rows the device records: ``start``, ``today``, ``username``, ``end``.

    ``start``, ``today`` and ``username`` keep a value once given; ``end`` is the time of the last call
    (submission). Times are ISO texts with the UTC offset, as ODK records them.
    """
    filled: dict[str, Any] = {}
    for key, question in zip((questionnaire.key(q) for q in questionnaire.questions), questionnaire.questions):
        if question.type == "end":
            filled[key] = now.isoformat(timespec="seconds")
        elif answers.get(key) not in (None, ""):
            continue
        elif question.type == "start":
            filled[key] = started.isoformat(timespec="seconds")
        elif question.type == "today":
            filled[key] = now.date().isoformat()
        elif question.type == "username":
            filled[key] = interviewer
    return filled


def _asked_only(questionnaire: Questionnaire, errors: dict[str, str]) -> dict[str, str]:
    # a question the browser cannot ask is never held against the interviewer
    return {key: message for key, message in errors.items()
            if mode(questionnaire, questionnaire.question(key)) == "asked"}


def first_screen(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> int:
    """The first shown screen (the first screen when, oddly, none is shown)."""
    shown = shown_screens(questionnaire, answers)
    return shown[0] if shown else 0


def next_screen(questionnaire: Questionnaire, index: int, answers: Mapping[str, Any]) -> int | None:
    """The shown screen after ``index``; None when ``index`` is the last one (time to submit)."""
    return next((i for i in shown_screens(questionnaire, answers) if i > index), None)


def previous_screen(questionnaire: Questionnaire, index: int, answers: Mapping[str, Any]) -> int | None:
    """The shown screen before ``index``; None on the first one."""
    return next((i for i in reversed(shown_screens(questionnaire, answers)) if i < index), None)


def resume_screen(questionnaire: Questionnaire, stored: int, answers: Mapping[str, Any]) -> int:
    """The screen to show for a stored screen index.

    The stored screen itself if it is shown; otherwise the nearest shown screen before
    it (answers may have changed what is shown), else the first shown screen.
    """
    shown = shown_screens(questionnaire, answers)
    if stored in shown:
        return stored
    earlier = [i for i in shown if i < stored]
    return earlier[-1] if earlier else first_screen(questionnaire, answers)


def progress(questionnaire: Questionnaire, index: int) -> tuple[int, int]:
    """``(position, total)`` of screen ``index`` among all screens, 1-based.

    Counted over all screens rather than the shown ones, because before the
    deciding answers are given (e.g. consent) the shown screens are too few.
    """
    return index + 1, len(questionnaire.groups)


def live_errors(
    questionnaire: Questionnaire,
    index: int,
    answers: Mapping[str, Any],
    lang: str,
    *,
    include_required: bool,
) -> dict[str, str]:
    """Messages to show on screen ``index``, by question name.

    Answers that are given but break a constraint are reported at once; unanswered
    required questions only with ``include_required`` (after the interviewer tried to
    leave the screen), so a fresh screen is not covered in red.
    """
    group = questionnaire.groups[index]
    if include_required:
        return _asked_only(questionnaire, questionnaire.page_errors(group, answers, lang))
    errors: dict[str, str] = {}
    for question in shown_questions(questionnaire, index, answers):
        key = questionnaire.key(question)
        if question.type == "note" or key not in answers or mode(questionnaire, question) != "asked":
            continue
        message = questionnaire.check_answer(question, answers[key], answers, lang)
        if message is not None:
            errors[key] = message
    return errors


@dataclass(frozen=True)
class SubmitCheck:
    """The outcome of checking a whole interview before submitting it.

    Attributes
    ----------
    answers : dict
        The answers to store: ``questionnaire.clean(answers)`` (answers to skipped
        questions dropped).
    screen : int or None
        The first shown screen with a problem; None when the interview can be submitted.
    errors : dict
        The messages of that screen, by question name.
    """

    answers: dict[str, Any]
    screen: int | None
    errors: dict[str, str]

    @property
    def ok(self) -> bool:
        """Whether the interview can be submitted."""
        return self.screen is None

    def to_frame(self) -> pd.DataFrame:
        """One row per problem: screen, question, message."""
        return pd.DataFrame(
            [(self.screen, name, message) for name, message in self.errors.items()],
            columns=["screen", "question", "message"],
        )

    def summary(self) -> str:
        """A short text description."""
        if self.ok:
            return f"ready to submit: {len(self.answers)} answers"
        problems = "; ".join(f"{name}: {message}" for name, message in self.errors.items())
        return f"screen {self.screen} has {len(self.errors)} problem(s): {problems}"


def check_submission(questionnaire: Questionnaire, answers: Mapping[str, Any], lang: str) -> SubmitCheck:
    """Check every shown screen in order; report the first one with a problem."""
    for index in shown_screens(questionnaire, answers):
        errors = _asked_only(questionnaire, questionnaire.page_errors(questionnaire.groups[index], answers, lang))
        if errors:
            return SubmitCheck(answers=questionnaire.clean(answers), screen=index, errors=errors)
    return SubmitCheck(answers=questionnaire.clean(answers), screen=None, errors={})


def to_answer(questionnaire: Questionnaire, question: Question, raw: Any) -> Any:
    """The answer a widget value stands for; None means unanswered.

    ``select_multiple`` codes come back in the order of the choice list (``rank`` keeps the
    order given), a whole number typed into an integer box becomes an ``int``, blank text is
    unanswered, a date or time picker's value becomes ISO text, a ticked ``acknowledge`` is
    ``'OK'``. Values the questionnaire would reject (e.g. 2.5 for an integer) are returned
    as they are, so its own message explains the problem.
    """
    if raw is None:
        return None
    kind = question.type
    if kind == "select_multiple":
        chosen = set(raw)
        ordered = [choice.name for choice in questionnaire.choices(question) if choice.name in chosen]
        return ordered or None
    if kind == "rank":
        return list(raw) or None
    if kind == "integer":
        if isinstance(raw, float) and math.isfinite(raw) and raw.is_integer():
            return int(raw)
        return raw
    if kind == "decimal":
        return float(raw)
    if kind == "range":
        return int(raw) if float(raw).is_integer() and _whole_scale(question) else float(raw)
    if kind == "date":
        return raw.isoformat()
    if kind == "time":
        return raw.replace(microsecond=0).isoformat()
    if kind == "datetime":
        return raw.replace(microsecond=0, tzinfo=None).isoformat()
    if kind == "acknowledge":
        return "OK" if raw else None
    if kind == "text":
        return raw if raw.strip() else None
    return raw


def _whole_scale(question: Question) -> bool:
    return all(float(question.parameter(key) or default).is_integer()
               for key, default in (("start", 1), ("end", 10), ("step", 1)))


def range_scale(question: Question) -> tuple[float, float, float]:
    """``(start, end, step)`` of a ``range`` question (XLSForm's defaults 1, 10, 1)."""
    start, end, step = (float(question.parameter(key) or default)
                        for key, default in (("start", 1), ("end", 10), ("step", 1)))
    return start, end, step


def to_widget(questionnaire: Questionnaire, question: Question, value: Any) -> Any:
    """The widget value that shows a stored answer (the inverse of :func:`to_answer`)."""
    kind = question.type
    if kind in ("select_multiple", "rank"):
        codes = {choice.name for choice in questionnaire.choices(question)}
        return [code for code in (value or []) if code in codes]
    if kind == "select_one":
        codes = {choice.name for choice in questionnaire.choices(question)}
        return value if value in codes else None
    if kind == "text":
        return value if isinstance(value, str) else ""
    if kind in ("integer", "decimal"):
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if kind == "range":
        start = range_scale(question)[0]
        number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else start
        return int(number) if _whole_scale(question) else float(number)
    try:
        if kind == "date" and isinstance(value, str):
            return datetime.date.fromisoformat(value[:10])
        if kind == "time" and isinstance(value, str):
            return datetime.time.fromisoformat(value[:8])
        if kind == "datetime" and isinstance(value, str):
            return datetime.datetime.fromisoformat(value[:19])
    except ValueError:
        return None
    if kind == "acknowledge":
        return value == "OK"
    return None
