"""The exceptions of :mod:`analysis`: one small hierarchy, every message actionable.

Every error names the argument at fault, the bad value, and how to fix it, and carries
them as attributes so that callers (the app, the command-line tool) can show them::

    SurveyError (ValueError)
    ├── DesignError        the sampling design is malformed (columns, weights, strata, PSUs, fpc)
    ├── VariableError      an analysis variable is unusable (missing column, not numeric, not 0/1)
    ├── ReplicateError     replicate weights cannot be formed or used
    └── WeightingError     a weighting step cannot be carried out
        ├── MarginError        population margins/totals do not match the data or each other
        └── ConvergenceError   raking did not converge

``SurveyError`` derives from ``ValueError`` so that code catching ``ValueError`` keeps working.
"""
from __future__ import annotations

from typing import Any

__all__ = [
    "SurveyError",
    "DesignError",
    "VariableError",
    "ReplicateError",
    "WeightingError",
    "MarginError",
    "ConvergenceError",
]


def _short(value: Any, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class SurveyError(ValueError):
    """Base class of every error raised by :mod:`analysis`.

    Parameters
    ----------
    message : str
        What is wrong, in one sentence.
    argument : str, optional
        The argument (or column) at fault, e.g. ``"weights"``.
    value : object, optional
        The offending value (shown with ``repr``, shortened).
    fix : str, optional
        What the caller should do instead.
    """

    def __init__(self, message: str, *, argument: str | None = None, value: Any = None,
                 fix: str | None = None) -> None:
        self.message = message
        self.argument = argument
        self.value = value
        self.fix = fix
        parts = []
        if argument is not None:
            parts.append(f"{argument}: {message}")
        else:
            parts.append(message)
        if value is not None:
            parts.append(f"(got {_short(value)})")
        text = " ".join(parts)
        if fix:
            text += f". Fix: {fix}"
        super().__init__(text)


class DesignError(SurveyError):
    """The design specification is invalid (columns, weights, strata, PSUs, fpc, lonely PSUs)."""


class VariableError(SurveyError):
    """An analysis variable is unusable (missing column, not numeric, not 0/1, no observations)."""


class ReplicateError(SurveyError):
    """Replicate weights cannot be formed (e.g. a stratum with a single PSU for JKn)."""


class WeightingError(SurveyError):
    """A weighting step (nonresponse adjustment, post-stratification, raking, trimming) failed."""


class MarginError(WeightingError):
    """Population margins do not match the data's categories, or disagree with each other.

    Attributes
    ----------
    categories : dict
        Offending categories per variable (e.g. ``{"sex": ["其他"]}``), when relevant.
    """

    def __init__(self, message: str, *, argument: str | None = None, value: Any = None,
                 fix: str | None = None, categories: dict | None = None) -> None:
        self.categories = categories or {}
        super().__init__(message, argument=argument, value=value, fix=fix)


class ConvergenceError(WeightingError):
    """Raking did not converge.

    Attributes
    ----------
    iterations : int
        Number of full IPF sweeps carried out.
    max_gap : float
        Largest relative gap ``|weighted total - target| / target`` left.
    worst_margin : tuple
        ``(variable, category)`` of the largest gap.
    """

    def __init__(self, message: str, *, iterations: int, max_gap: float,
                 worst_margin: tuple, argument: str | None = None, fix: str | None = None) -> None:
        self.iterations = iterations
        self.max_gap = max_gap
        self.worst_margin = worst_margin
        super().__init__(message, argument=argument, value=None, fix=fix)
