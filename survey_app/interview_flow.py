"""The logic of a tablet interview, without any user interface.

A *screen* is one :class:`~questionnaires.Group`, identified by its index in
``questionnaire.groups``. A screen is *shown* when at least one of its questions is
asked given the answers so far (its own and its group's ``relevant``), so skip logic
decides which screens Back and Next visit. The interviewing page calls these functions;
the tests call them directly.

Widget values and answers differ slightly (a number box may hold ``3.0`` for the integer
3, an empty multi-select is ``[]``); :func:`to_answer` and :func:`to_widget` convert.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from questionnaires import Question, Questionnaire

__all__ = [
    "SubmitCheck",
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


def shown_screens(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> list[int]:
    """Indices of the screens that have at least one question asked given ``answers``."""
    return [
        index
        for index, group in enumerate(questionnaire.groups)
        if questionnaire.visible_questions(group, answers)
    ]


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
        return questionnaire.page_errors(group, answers, lang)
    errors: dict[str, str] = {}
    for question in questionnaire.visible_questions(group, answers):
        if question.type == "note" or question.name not in answers:
            continue
        message = questionnaire.check_answer(question, answers[question.name], answers, lang)
        if message is not None:
            errors[question.name] = message
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
        errors = questionnaire.page_errors(questionnaire.groups[index], answers, lang)
        if errors:
            return SubmitCheck(answers=questionnaire.clean(answers), screen=index, errors=errors)
    return SubmitCheck(answers=questionnaire.clean(answers), screen=None, errors={})


def to_answer(questionnaire: Questionnaire, question: Question, raw: Any) -> Any:
    """The answer a widget value stands for; None means unanswered.

    ``select_multiple`` codes come back in the order of the choice list, a whole
    number typed into an integer box becomes an ``int``, blank text is unanswered.
    Values the questionnaire would reject (e.g. 2.5 for an integer) are returned
    as they are, so its own message explains the problem.
    """
    if raw is None:
        return None
    if question.type == "select_multiple":
        chosen = set(raw)
        ordered = [choice.name for choice in questionnaire.choices(question) if choice.name in chosen]
        return ordered or None
    if question.type == "integer":
        if isinstance(raw, float) and math.isfinite(raw) and raw.is_integer():
            return int(raw)
        return raw
    if question.type == "decimal":
        return float(raw)
    if question.type == "text":
        return raw if raw.strip() else None
    return raw


def to_widget(questionnaire: Questionnaire, question: Question, value: Any) -> Any:
    """The widget value that shows a stored answer (the inverse of :func:`to_answer`)."""
    if question.type == "select_multiple":
        codes = {choice.name for choice in questionnaire.choices(question)}
        return [code for code in (value or []) if code in codes]
    if question.type == "select_one":
        codes = {choice.name for choice in questionnaire.choices(question)}
        return value if value in codes else None
    if question.type == "text":
        return value if isinstance(value, str) else ""
    if question.type in ("integer", "decimal"):
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    return None
