"""Argument checks shared by the sample-design modules."""
from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence

from analysis.errors import DesignError


class SamplingError(DesignError):
    """A sample-design input (a size, a rate, an option, an allocation or a sampling frame)
    is unusable.

    A ``ValueError`` through :class:`~analysis.errors.SurveyError`. The message names the
    argument or the frame rows, shows the bad values and says how to fix them.
    """


def check_option(name: str, value: object, allowed: Sequence[str]) -> None:
    """Raise ``SamplingError`` (a ValueError) unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise SamplingError(f"{name}={value!r} is not a known option; use one of {choices}")


def check_number(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    hint: str = "",
) -> float:
    """Return ``value`` as a finite float inside the given bounds, or raise ``SamplingError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise SamplingError(f"{name} must be a finite number, got {value!r}{_hint(hint)}")
    number = float(value)
    too_low = low is not None and (number <= low if low_open else number < low)
    too_high = high is not None and (number >= high if high_open else number > high)
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise SamplingError(f"{name} must lie in {left}{lo}, {hi}{right}, got {value!r}{_hint(hint)}")
    return number


def check_count(name: str, value: object, *, minimum: int = 0, hint: str = "") -> int:
    """Return ``value`` as an int of at least ``minimum``, or raise ``SamplingError``."""
    if isinstance(value, bool) or not (isinstance(value, numbers.Integral) or _is_integral_float(value)):
        raise SamplingError(f"{name} must be a whole number, got {value!r}{_hint(hint)}")
    count = int(value)  # type: ignore[arg-type]
    if count < minimum:
        raise SamplingError(f"{name} must be at least {minimum}, got {value!r}{_hint(hint)}")
    return count


def list_some(items: Iterable[object], *, limit: int = 10) -> str:
    """Join items for an error message, naming at most ``limit`` of them."""
    items = list(items)
    shown = ", ".join(str(i) for i in items[:limit])
    if len(items) > limit:
        shown += f" and {len(items) - limit} more"
    return shown


def ceil_count(value: float) -> int:
    """Round a required sample size up, ignoring floating-point noise above a whole number.

    Without the tolerance, 384.00000000000006 (z**2 is irrational) would ask for 385.
    """
    return math.ceil(value - 1e-9 * max(1.0, abs(value)))


def _is_integral_float(value: object) -> bool:
    return isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer()


def _hint(hint: str) -> str:
    return f"; {hint}" if hint else ""


def show(value: object) -> str:
    """A cell value for an error message: text quoted, numbers plain (not ``np.int64(5)``)."""
    return repr(str(value)) if isinstance(value, str) else str(value)
