"""One rule for showing proportions, in the interface and in the workbook.

A proportion (an estimate, a confidence limit, a threshold, a share of answers) is shown as a
percentage with one decimal: ``0.853`` is "85.3%", ``0.8`` is "80.0%", ``0.0432`` is "4.3%".
A difference between two proportions is in percentage points, with one decimal:
"+2.1 个百分点" / "+2.1 percentage points". Everything that shows a proportion goes through
this module:

- text (captions, cards, messages): :func:`format_percent`, :func:`format_points`;
- tables on the pages (``st.dataframe``): :func:`percent_table`, which formats the shown
  text and keeps the numbers, so a column still sorts by value; :func:`estimate_rows_table` for
  tables whose rows mix proportions and means;
- charts (Vega-Lite d3-format): :data:`VEGA_PERCENT` for values (tooltips, labels); an axis
  shows round ticks with as many decimals as its step needs (``charts.axis_ticks``);
- the workbook: :data:`EXCEL_PERCENT`, a number format on the unrounded number; a difference
  of proportions is stored in points with :data:`EXCEL_POINTS` ("+9.8").

The only other use of ``decimals`` is a setting chosen from round values (a confidence level
of 95%, a power of 80%), shown as chosen: ``format_percent(0.95, decimals=0)``.

Examples
--------
>>> format_percent(0.85321)
'85.3%'
>>> format_percent(0.8)
'80.0%'
>>> format_points(0.021, "en")
'+2.1 percentage points'
>>> format_points(-0.021, "zh")
'-2.1 个百分点'
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from survey_app.errors import SurveyAppError
from survey_app.i18n import t

if TYPE_CHECKING:
    import pandas as pd
    from pandas.io.formats.style import Styler

__all__ = ["PERCENT_DECIMALS", "EXCEL_PERCENT", "EXCEL_POINTS", "VEGA_PERCENT", "VEGA_PERCENT_AXIS", "STREAMLIT_PERCENT", "FormattingError", "format_percent",
           "format_points", "percent_table", "estimate_rows_table"]

#: Decimals of a proportion shown as a percentage, everywhere.
PERCENT_DECIMALS = 1
#: The workbook's number format of proportions (the cell keeps the unrounded number).
EXCEL_PERCENT = "0." + "0" * PERCENT_DECIMALS + "%"
#: The charts' d3-format of proportions (tooltips and labels).
VEGA_PERCENT = f".{PERCENT_DECIMALS}%"
#: The d3-format of a share axis from 0 (frequency bars): ticks at whole percentages.
VEGA_PERCENT_AXIS = ".0%"
#: ``st.column_config.NumberColumn`` format of a column that holds percentages (0..100), not proportions.
STREAMLIT_PERCENT = f"%.{PERCENT_DECIMALS}f%%"
#: The workbook's number format of a difference of proportions, stored in percentage points.
EXCEL_POINTS = f'+0.{"0" * PERCENT_DECIMALS};-0.{"0" * PERCENT_DECIMALS};0.{"0" * PERCENT_DECIMALS}'
_MISSING = "—"


class FormattingError(SurveyAppError, ValueError):
    """A value that cannot be shown as a percentage."""


def _number(value: Any, argument: str) -> float | None:
    """``value`` as a float; None when missing (None, NaN, pandas NA)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        try:
            import pandas as pd

            if pd.isna(value):
                return None
        except (TypeError, ValueError):
            pass
        raise FormattingError(f"{argument} must be a number (a proportion such as 0.853), got {value!r}")
    number = float(value)
    return None if math.isnan(number) else number


def _check_decimals(decimals: int) -> None:
    if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 6:
        raise FormattingError(f"decimals must be a whole number from 0 to 6, got {decimals!r}")


def format_percent(value: Any, *, decimals: int = PERCENT_DECIMALS, missing: str = _MISSING) -> str:
    """The proportion ``value`` (0.853) as a percentage ("85.3%"); ``missing`` ("—") when absent.

    Parameters
    ----------
    value : float
        A proportion: 1 is 100%.
    decimals : int
        Keep the default (one decimal) for anything estimated or measured; 0 only for a
        setting chosen from round values (a confidence level).
    missing : str
        Shown for None or NaN.
    """
    _check_decimals(decimals)
    number = _number(value, "value")
    if number is None:
        return missing
    if math.isinf(number):
        return missing
    return f"{number:.{decimals}%}"


def format_points(difference: Any, lang: str, *, signed: bool = True, missing: str = _MISSING) -> str:
    """The difference of two proportions in percentage points: "+2.1 个百分点" / "+2.1 percentage points".

    Parameters
    ----------
    difference : float
        The difference of the proportions (0.021 is 2.1 points).
    lang : str
        Interface language, "zh" or "en".
    signed : bool
        With a "+" or "-" (default); without one when the text says the direction in words.
    """
    number = _number(difference, "difference")
    if number is None or math.isinf(number):
        return missing
    value = f"{100 * number:{'+' if signed else ''}.{PERCENT_DECIMALS}f}"
    if not signed:
        value = value.lstrip("-")
    return t("estimates.points_proportion", lang, value=value)


def percent_table(frame: pd.DataFrame, columns: Iterable[str]) -> Styler:
    """``frame`` for ``st.dataframe`` with the proportion ``columns`` shown by :func:`format_percent`.

    The cells keep their numbers (the table sorts by value); only the shown text changes.
    """
    columns = list(columns)
    unknown = [c for c in columns if c not in frame.columns]
    if unknown:
        raise FormattingError(f"columns {unknown} are not in the table; it has {list(frame.columns)}")
    return frame.style.format(format_percent, subset=columns)


def estimate_rows_table(frame: pd.DataFrame, statistics: Iterable[str], columns: Iterable[str]) -> Styler:
    """``frame`` for ``st.dataframe`` whose rows are estimates of ``statistics`` (one per row,
    "proportion" or "mean"): the ``columns`` of proportion rows shown by :func:`format_percent`,
    of mean rows with two decimals. The cells keep their numbers; only the shown text changes."""
    share = [kind == "proportion" for kind in statistics]
    columns = [c for c in columns if c in frame.columns]
    proportions = frame.index[share]
    means = frame.index[[not s for s in share]]
    styler = frame.style
    if len(proportions):
        styler = styler.format(format_percent, subset=(proportions, columns))
    if len(means):
        styler = styler.format(_two_decimals, subset=(means, columns))
    return styler


def _two_decimals(value: Any) -> str:
    number = _number(value, "value")
    return _MISSING if number is None or math.isinf(number) else f"{number:,.2f}"

