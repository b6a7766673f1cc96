"""One cell-safety rule for every CSV and Excel file the app writes.

Spreadsheet programs run text starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return
as a formula (OWASP "CSV injection"): a PSU typed as ``=HYPERLINK("http://…","ok")`` would
arrive in a download as a live link. :func:`cell_text` gives such text a leading ``'`` so it is
shown, never evaluated; :func:`safe_table` applies it to every text cell and header of a table,
and :func:`csv_bytes` / :func:`xlsx_bytes` write tables only through it.

Examples
--------
>>> csv_bytes(pd.DataFrame({"psu": ["=1+1"]}))
b"\\xef\\xbb\\xbfpsu\\n'=1+1\\n"
"""
from __future__ import annotations

import io
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

__all__ = ["FORMULA_PREFIXES", "MAX_CELL_TEXT", "cell_text", "csv_bytes", "safe_table", "xlsx_bytes"]

#: First characters that make Excel (or a CSV import) treat text as a formula (OWASP).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: Excel's limit on the characters of one cell.
MAX_CELL_TEXT = 32767
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # control characters XML 1.0 cannot hold


def cell_text(value: str) -> str:
    """``value`` as it is stored in a cell: safe from formula evaluation.

    Text starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a leading
    ``'`` (OWASP CSV-injection guidance). Control characters that an xlsx file cannot hold
    become U+FFFD, line breaks become ``\\n`` (XML turns a bare carriage return into one
    anyway) and text longer than Excel's 32,767 characters is cut.

    Examples
    --------
    >>> cell_text("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> cell_text("很好")
    '很好'
    """
    text = "'" + value if value.startswith(FORMULA_PREFIXES) else value
    text = _ILLEGAL.sub("\ufffd", text.replace("\r\n", "\n").replace("\r", "\n"))
    return text[:MAX_CELL_TEXT]


def _safe(value: Any) -> Any:
    return cell_text(value) if isinstance(value, str) else value


def safe_table(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names went through :func:`cell_text`.

    Numbers, dates and missing values are kept as they are (a negative number is a number,
    not a formula).
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    safe = frame.copy()
    for position in range(safe.shape[1]):
        column = safe.iloc[:, position]
        if not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_datetime64_any_dtype(column)):
            safe.isetitem(position, column.map(_safe))
    safe.columns = [_safe(name) for name in safe.columns]
    return safe


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as a CSV download (UTF-8 with a byte-order mark, so Excel shows Chinese), made safe."""
    return safe_table(frame).to_csv(index=False).encode("utf-8-sig")


def xlsx_bytes(sheets: Mapping[str, pd.DataFrame]) -> bytes:
    """An ``.xlsx`` workbook with one sheet per table (sheet name -> table), made safe."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            safe_table(frame).to_excel(writer, sheet_name=name, index=False)
    return buffer.getvalue()
