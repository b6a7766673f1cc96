"""Wave and PSU labels typed in the field: what is accepted, and the order of waves.

Interviewers type the wave and, without an assignment list, the PSU; both are shown later on
the administrator's and statistician's pages and written into downloads. Only plain labels
are accepted (no Markdown, links, formulas or line breaks), and waves are ordered by what they
mean, not as text: dated waves by year and period (``2025Q4`` < ``2026`` < ``2026Q1`` <
``2026-03``), and free names such as ``试点`` (pilot) before every dated wave. A name says
nothing about when, so it is never "the latest wave" the reports start on while a dated wave
exists (sorted as text, ``[链接](…)`` came after ``2026`` and became the dashboard's default).

Examples
--------
>>> check_wave("2026Q1")
'2026Q1'
>>> sorted(["2026", "2026-03", "2025Q4", "试点", "2026Q1"], key=wave_sort_key)
['试点', '2025Q4', '2026', '2026Q1', '2026-03']
"""
from __future__ import annotations

import re

from survey_app.errors import SurveyAppError

__all__ = ["FieldValueError", "check_psu", "check_wave", "valid_psu", "valid_wave", "wave_sort_key"]

# A dated wave: a year, optionally a quarter (2026Q1), half (2026H1) or month (2026-03 / 2026-3).
_DATED = re.compile(r"(?P<year>\d{4})(?:[Qq](?P<quarter>[1-4])|[Hh](?P<half>[12])|-(?P<month>0?[1-9]|1[0-2]))?")
# A plain name: starts with a letter or digit (so never a formula), then letters, digits, spaces,
# '_' and '-'. \w covers Chinese. No Markdown or link characters ([]()!*`<>#|~$:=+@ .).
_WAVE_NAME = re.compile(r"[^\W_][\w\- ]{0,49}")
# PSU codes and community names: as a wave name, plus '.', '/', '·' and full-width brackets.
_PSU = re.compile(r"[^\W_][\w\- ./·（）]{0,199}")


class FieldValueError(SurveyAppError, ValueError):
    """A wave or PSU label that is not plain text."""


def valid_wave(value: str) -> bool:
    """Whether ``value`` is a wave label: dated (see :func:`wave_sort_key`) or a plain name."""
    return isinstance(value, str) and (_DATED.fullmatch(value) is not None or _WAVE_NAME.fullmatch(value) is not None)


def check_wave(value: str) -> str:
    """``value`` stripped, when :func:`valid_wave`; else :class:`FieldValueError` saying the fix."""
    text = value.strip() if isinstance(value, str) else value
    if not valid_wave(text):
        raise FieldValueError(
            f"wave {value!r} is not a wave label: write a year (2026), quarter (2026Q1), half year (2026H1), "
            "month (2026-03) or a short name of letters, digits, spaces, '-' and '_'"
        )
    return text


def valid_psu(value: str) -> bool:
    """Whether ``value`` is a plain PSU code or name (letters, digits, spaces, ``- _ . / ·`` and ``（）``)."""
    return isinstance(value, str) and _PSU.fullmatch(value) is not None


def check_psu(value: str, *, assigned: set[str] | frozenset[str] | None = None) -> str:
    """``value`` stripped, when it is a PSU: one of ``assigned`` when the wave and district have an
    assignment list, else a plain label (:func:`valid_psu`)."""
    text = value.strip() if isinstance(value, str) else value
    if assigned is not None:
        if text not in assigned:
            raise FieldValueError(f"PSU {value!r} is not in the wave's assignment list for the district; "
                                  "pick one of the listed PSUs")
        return text
    if not valid_psu(text):
        raise FieldValueError(
            f"PSU {value!r} is not a PSU code or name: use letters, digits, spaces and - _ . / · （） only, "
            "starting with a letter or digit"
        )
    return text


def wave_sort_key(wave: str) -> tuple[int, int, int, str]:
    """Order of waves, oldest first: names (as text), then dated waves by year and period.

    Within a year: the year as a whole first, then halves (H1 = months 1-6), quarters and months
    by the month they start in, so ``2026`` < ``2026H1`` < ``2026Q1`` < ``2026-01`` < ``2026-02``.
    """
    match = _DATED.fullmatch(wave) if isinstance(wave, str) else None
    if match is None:
        return (0, 0, 0, str(wave))
    year = int(match["year"])
    if match["month"]:
        month, rank = int(match["month"]), 3
    elif match["quarter"]:
        month, rank = 3 * int(match["quarter"]) - 2, 2
    elif match["half"]:
        month, rank = 6 * int(match["half"]) - 5, 1
    else:
        month, rank = 0, 0
    return (1, year, month * 4 + rank, wave)
