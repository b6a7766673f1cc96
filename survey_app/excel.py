"""The Excel satisfaction report: one workbook from :class:`~survey_app.reporting.ReportTables`.

Sheets: a summary of targets and verdicts (colour-coded), the verdicts of every target in every
district, the plan's whole scoreboard (survey, inspection and register targets; when the report was
built from a store), one sheet per target with its domain table, weighted frequency tables per
questionnaire, the free-text answers, the methods and a data dictionary. Shares are stored
as numbers with the one percent format of :mod:`survey_app.formatting` ("85.3%"), differences
of shares in percentage points ("+9.8"); nothing is rounded.

Printed (or saved as PDF), every sheet is A4 landscape with the table's header row on every
page, the sheet's title (after a demonstration report's mark) and the extraction date in the
page header, the report's title, "page / pages" and the sheet's name in the footer. Column widths are budgeted so that text prints at 75 % of its size or more: a
sheet one page wide is fitted to the width, the summary (three groups of columns) and the
target sheets (two) print their groups on pages side by side, each with the target's or the
domain's name on the left (:func:`_fit_columns`).

Every string goes through :func:`survey_app.cellsafe.cell_text` (the rule of every file the
app writes): text that Excel could run as a formula (leading
``=``, ``+``, ``-``, ``@``, tab or carriage return; OWASP "CSV injection") gets a leading
single quote and is stored as a string cell, so opening, editing or re-saving the workbook as
CSV never evaluates an answer. The workbook holds no formulas at all.

Examples
--------
>>> from survey_app.reporting import report_from_store
>>> write_report(report_from_store(store), "report.xlsx")       # doctest: +SKIP
>>> buffer = io.BytesIO(); write_report(tables, buffer)          # doctest: +SKIP
"""
from __future__ import annotations

import math
import numbers
import re
import unicodedata
from collections.abc import Callable, Sequence
from copy import copy
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles.cell_style import StyleArray
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

from analysis.results import OVERALL
from survey_app.cellsafe import FORMULA_PREFIXES, MAX_CELL_TEXT, cell_text
from survey_app.errors import SurveyAppError
from survey_app.formatting import EXCEL_PERCENT, EXCEL_POINTS, format_percent
from survey_app.reporting import DOMAIN_VARIABLE_LABELS, VERDICT_LABELS, ReportTables

__all__ = ["ExcelReportError", "write_report", "write_scoreboard", "cell_text", "sheet_name",
           "DEMONSTRATION_LABEL", "FORMULA_PREFIXES", "MAX_CELL_TEXT", "SCOREBOARD_SHEET"]

_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")

_PERCENT = EXCEL_PERCENT  # the one rule for proportions (survey_app.formatting), standard errors too
_MEAN = "0.00"
_P_VALUE = "0.0000"
_INTEGER = "#,##0"
_DECIMAL = "0.00"
_WEIGHTED = "#,##0.0"

# Print layout: A4 landscape (842 x 595 points) with side margins of 0.4 inch. LibreOffice prints
# a column of width w (in characters) 7 * w points wide at 100 % (the digit width of DejaVu Sans 11,
# its stand-in for Calibri; Excel's Calibri is narrower), so widths are budgeted for that: the
# columns of one printed page add up to at most _PAGE_WIDTH, which prints at 75 % or more.
_SIDE_MARGIN = 0.4
_PRINTABLE_POINTS = 842 - 2 * 72 * _SIDE_MARGIN
_POINTS_PER_WIDTH = 7.0
_MIN_PRINT_SCALE = 0.75
_PAGE_WIDTH = int(_PRINTABLE_POINTS / _POINTS_PER_WIDTH / _MIN_PRINT_SCALE)
_NARROWEST = 12  # columns of prose narrow down to this many characters to fit a page,
_LONGEST_WORD = 18  # others to their longest word, up to this width
_REPORT_TITLE = "南通市放心消费创建调查 Reassuring Consumption survey"
_DEMONSTRATION_PAGE_MARK = "【演示数据 DEMONSTRATION — 不得发布 do not publish】"  # the label, short for the page header

_VERDICT_COLOURS = {  # fill, font colour: Excel's "good / bad / neutral" cell styles
    "met": ("C6EFCE", "006100"),
    "not met": ("FFC7CE", "9C0006"),
    "inconclusive": ("FFEB9C", "9C5700"),
    "no data": ("EDEDED", "595959"),
}
# Marks after the estimates of the district sheet, so the verdict does not rest on colour alone.
_VERDICT_MARK = {"met": " ✔", "not met": " ✘", "inconclusive": " ?", "no data": ""}
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_FONT = "Calibri"  # the workbook default; a Font without a name falls back to a serif face
_HEADER_FONT = Font(name=_FONT, bold=True)
_TITLE_FONT = Font(name=_FONT, bold=True, size=14)
_THIN = Side(style="thin", color="9BC2E6")
_HEADER_BORDER = Border(bottom=_THIN)
_GROUP_BORDER = Border(top=_THIN)
_WRAP = Alignment(wrap_text=True, vertical="top")
_TOP = Alignment(vertical="top")
_SUBTITLE_FONT = Font(name=_FONT, italic=True, color="404040")
#: First words of every sheet's title (and printed page header) of a report with demonstration
#: interviews or margins in it.
DEMONSTRATION_LABEL = "【演示数据 DEMONSTRATION — 合成数据，非真实调查，不得发布 synthetic, not a real survey, do not publish】"
_DEMO_FONT = Font(name=_FONT, bold=True, size=14, color="9C0006")
_DEMO_FILL = PatternFill("solid", fgColor="FFC7CE")
_VERDICT_STYLE = {status: (PatternFill("solid", fgColor=fill), Font(name=_FONT, bold=True, color=colour))
                  for status, (fill, colour) in _VERDICT_COLOURS.items()}


class ExcelReportError(SurveyAppError, ValueError):
    """The workbook cannot be written where asked."""


def sheet_name(name: str, taken: Sequence[str] = ()) -> str:
    """A valid, unique sheet name: at most 31 characters, none of ``[]:*?/\\``.

    Examples
    --------
    >>> sheet_name("T01 consumer_environment_satisfaction")
    'T01 consumer_environment_satisf'
    """
    base = _SHEET_FORBIDDEN.sub("_", name).strip("'").strip() or "Sheet"
    candidate = base[:31]
    lowered = {t.lower() for t in taken}
    counter = 2
    while candidate.lower() in lowered:
        suffix = f" ({counter})"
        candidate = base[: 31 - len(suffix)] + suffix
        counter += 1
    return candidate


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _cell_value(value: Any) -> Any:
    """What a cell stores: numbers as numbers, anything else as text through :func:`cell_text`;
    None for a missing or non-finite value (an empty cell)."""
    if _missing(value):
        return None
    if isinstance(value, (bool, str)) or not isinstance(value, (numbers.Number, datetime, date)):
        return cell_text(str(value) if not isinstance(value, bool) else ("yes" if value else "no"))
    if isinstance(value, (datetime, date)):
        return cell_text(value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat())
    if isinstance(value, numbers.Integral):
        return int(value)
    number = float(value)
    return number if math.isfinite(number) else None


class _Sheet:
    """A worksheet laid out in memory, then streamed in one pass into a write-only workbook.

    Laid out on plain values (and styles by row and column, column widths, row heights, frozen
    panes), a sheet needs no openpyxl cell object until it is written, and then only for its
    styled cells; openpyxl's streaming mode needs the widths, heights and styles before the rows.
    """

    #: the report holds demonstration data: :func:`_title` labels the sheet
    demonstration = False

    def __init__(self, title: str) -> None:
        self.title = title
        self.values: dict[int, dict[int, Any]] = {}
        # per cell: font, fill, border, alignment, number_format (a missing key: the default)
        self.styles: dict[int, dict[int, dict[str, Any]]] = {}
        self.widths: dict[int, float] = {}
        self.heights: dict[int, float] = {}
        self.freeze: tuple[int, int] | None = None
        # print layout (set by _title and _fit_columns): the table's header row, the columns
        # repeated on every page, the first column of each further page across, the scale
        self.header_row: int | None = None
        self.repeat_columns = 0
        self.page_starts: tuple[int, ...] = ()
        self.scale = 100
        self.heading = title
        self.date = ""
        self.merged: list[str] = []
        self._texts: dict[str, str] = {}

    def put(self, row: int, column: int, value: Any, number_format: str | None = None) -> None:
        """Write one cell: numbers as numbers (with ``number_format``), text through :func:`cell_text`."""
        if type(value) is str:  # most cells of the long sheets; many texts repeat (names, labels)
            stored = self._texts.get(value)
            if stored is None:
                stored = self._texts[value] = cell_text(value)
        else:
            stored = _cell_value(value)
        if stored is None:
            return
        self.values.setdefault(row, {})[column] = stored
        if number_format and not isinstance(stored, str):
            self.style(row, column, number_format=number_format)

    def style(self, row: int, column: int, **attributes: Any) -> None:
        """Set style attributes of one cell (font, fill, border, alignment, number_format)."""
        self.styles.setdefault(row, {}).setdefault(column, {}).update(attributes)

    def write(self, wb: Workbook) -> None:
        """Append this sheet to the write-only workbook ``wb``."""
        ws = wb.create_sheet(self.title)
        for column, width in sorted(self.widths.items()):
            ws.column_dimensions[get_column_letter(column)].width = width
        for row, height in self.heights.items():
            ws.row_dimensions[row].height = height
        if self.freeze is not None:
            ws.freeze_panes = f"{get_column_letter(self.freeze[1])}{self.freeze[0]}"
        for cells in self.merged:
            ws.merged_cells.add(cells)
        self._print_layout(ws)
        # one style array per distinct combination of styles; fonts, fills, borders and alignments
        # are shared constants, so their identity is the key (openpyxl hashes them field by field)
        arrays: dict[tuple, StyleArray] = {}
        last = max([*self.values, *self.styles], default=0)
        for r in range(1, last + 1):
            values, styles = self.values.get(r, {}), self.styles.get(r, {})
            row: list[Any] = [None] * max([*values, *styles], default=0)
            for c, value in values.items():
                row[c - 1] = value
            for c, attributes in styles.items():
                key = tuple((name, value if isinstance(value, str) else id(value))
                            for name, value in sorted(attributes.items()))
                if key not in arrays:
                    cell = WriteOnlyCell(ws)
                    for name, value in attributes.items():
                        setattr(cell, name, value)
                    arrays[key] = cell._style
                row[c - 1] = Cell(ws, row=r, column=c, value=values.get(c), style_array=copy(arrays[key]))
            ws.append(row)

    def _print_layout(self, ws: Any) -> None:
        """A4 landscape, the table's header row repeated on every page, title and date in the page
        header, page numbers in the footer. A sheet one page wide is fitted to the width; a wider
        one prints its column groups on pages side by side (``page_starts``), with the first
        ``repeat_columns`` columns on each, at one fixed scale."""
        setup = ws.page_setup
        setup.orientation = "landscape"
        setup.paperSize = Worksheet.PAPERSIZE_A4
        ws.page_margins = PageMargins(left=_SIDE_MARGIN, right=_SIDE_MARGIN, top=0.7, bottom=0.7,
                                      header=0.3, footer=0.3)
        ws.print_options.gridLines = True
        if self.page_starts:
            # one print range per group of columns: each starts on a new page, the later ones below
            # the title lines, with the repeated columns on their left
            setup.scale = self.scale
            last_row = max(self.values, default=1)
            bounds = [1, *self.page_starts, max(self.widths, default=1) + 1]
            ws.print_area = [f"{get_column_letter(a)}{1 if a == 1 else self.header_row + 1}:"
                             f"{get_column_letter(b - 1)}{last_row}" for a, b in zip(bounds, bounds[1:])]
        else:
            setup.fitToWidth = 1
            setup.fitToHeight = 0
            ws.sheet_properties.pageSetUpPr.fitToPage = True
        if self.header_row is not None:
            ws.print_title_rows = f"{self.header_row}:{self.header_row}"
        if self.repeat_columns:
            ws.print_title_cols = f"A:{get_column_letter(self.repeat_columns)}"
        # header: the sheet's title (after a demonstration report's mark) and the date; footer: the
        # report, the page, the sheet
        heading = f"{_DEMONSTRATION_PAGE_MARK} {self.heading}" if self.demonstration else self.heading
        for part, text, limit in ((ws.oddHeader.center, heading, 90), (ws.oddHeader.right, self.date, 40),
                                  (ws.oddFooter.left, _REPORT_TITLE, 50), (ws.oddFooter.center, "&P / &N", 10),
                                  (ws.oddFooter.right, self.title, 40)):
            part.text, part.size = _header_text(text, limit) if part is not ws.oddFooter.center else text, 9


def _header_text(text: str, limit: int) -> str:
    """``text`` for a page header or footer: ``&`` escaped (it starts a code there), cut to
    ``limit`` characters (Excel allows 255 for the whole header)."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("&", "&&")


class _WideCharacters(dict):
    """``str.translate`` table keeping East Asian wide and fullwidth characters, dropping the
    rest; filled per character on first sight, so counting runs in C."""

    def __missing__(self, code: int) -> str | None:
        kept = chr(code) if unicodedata.east_asian_width(chr(code)) in "WF" else None
        self[code] = kept
        return kept


_WIDE = _WideCharacters()


def _line_widths(text: str) -> list[int]:
    """Display width of each line of ``text``: wide (CJK) characters count double."""
    return [len(line) + len(line.translate(_WIDE)) for line in text.split("\n")]


def _table(sheet: _Sheet, top: int, columns: Sequence[tuple[str, str, str | None]], rows: Sequence[dict[str, Any]],
           *, formats: dict[tuple[int, str], str] | None = None) -> int:
    """Write a header row at ``top`` and ``rows`` below it; return the next free row.

    ``columns`` are ``(key, header, number format)``; ``formats`` overrides the number format
    of single cells (``(row index, key)``).
    """
    for j, (_, header, _) in enumerate(columns, start=1):
        sheet.put(top, j, header)
        sheet.style(top, j, font=_HEADER_FONT, fill=_HEADER_FILL, border=_HEADER_BORDER, alignment=_WRAP)
    formats = formats or {}
    verdicts = [key in ("verdict", "verdict_label") or key.startswith("verdict_") for key, _, _ in columns]
    for i, values in enumerate(rows):
        r = top + 1 + i
        for j, (key, _, fmt) in enumerate(columns, start=1):
            sheet.put(r, j, values.get(key), formats.get((i, key), fmt))
            if verdicts[j - 1]:
                _style_verdict(sheet, r, j, values.get(f"_status_{key}", values.get("verdict")))
    return top + 1 + len(rows)


def _style_verdict(sheet: _Sheet, row: int, column: int, status: Any) -> None:
    if status in _VERDICT_STYLE:
        fill, font = _VERDICT_STYLE[status]
        sheet.style(row, column, fill=fill, font=font)


def _verdict_text(status: str) -> str:
    zh, en = VERDICT_LABELS[status]
    return f"{zh} {en}"


def _fit_columns(sheet: _Sheet, *, header_row: int, maximum: int = 60, minimum: int = 8,
                 repeat: int = 0, page_starts: Sequence[int] = ()) -> None:
    """Column widths from the content (CJK characters count double); long text wraps.

    The widths are also the print layout: the columns of each printed page (the first
    ``repeat`` columns, then the columns from one of ``page_starts`` to the next) must fit
    ``_PAGE_WIDTH``, so the widest text columns are narrowed (to one common cap, never below
    their longest word) until they do; the sheet's print scale follows from the widest page.
    Row heights are set for wrapped cells, because neither Excel nor LibreOffice grows a
    row on opening a file; title lines longer than the first page wrap in merged cells.
    """
    rows = [(r, values) for r, values in sorted(sheet.values.items()) if r >= header_row]
    # per distinct text, computed once: its line widths, its longest word, the lines it takes in a column
    lines_of: dict[str, list[int]] = {}
    widest: dict[str, int] = {}
    least_of: dict[str, int] = {}
    natural: dict[int, int] = {}
    least: dict[int, int] = {}
    prose: set[int] = set()
    for r, values in rows:
        for column, value in values.items():
            if isinstance(value, str):
                width = widest.get(value)
                if width is None:
                    lines_of[value] = _line_widths(value)
                    width = widest[value] = max(lines_of[value]) + 2
                    least_of[value] = _longest_word(value) + 2
                word = least_of[value]
                if r > header_row and column not in prose and widest[value] > word:
                    prose.add(column)
            else:
                fmt = sheet.styles.get(r, {}).get(column, {}).get("number_format")
                width = word = _shown_width(value, fmt) + 2
            if r == header_row:  # headers wrap at their words rather than widen the column
                width = min(word, _LONGEST_WORD)
            if width > natural.get(column, 0):
                natural[column] = width
            if word > least.get(column, 0):
                least[column] = word
    for column, width in natural.items():
        natural[column] = max(minimum, min(maximum, width))
        # a word longer than _LONGEST_WORD (an identifier) may break inside, as it does when wider
        # than its column; prose (text with spaces or CJK) keeps _NARROWEST characters a line
        word = least[column] if column not in prose else max(least[column], _NARROWEST)
        least[column] = min(max(minimum, word), natural[column], _LONGEST_WORD)
    last = max(natural, default=1)
    bounds = [1 + repeat, *page_starts, last + 1]
    pages = [[*range(1, 1 + repeat), *range(a, b)] for a, b in zip(bounds, bounds[1:])]

    def fitted(columns: Sequence[int], cap: int) -> dict[int, int]:
        return {c: max(least[c], min(natural[c], cap)) for c in columns if c in natural}

    def largest_cap(fits: Callable[[int], bool]) -> int:
        return next((cap for cap in range(maximum, minimum - 1, -1) if fits(cap)), minimum)

    # one cap that fits every page sets the repeated columns; then each page's own columns
    # widen as far as their page allows
    shared = largest_cap(lambda cap: all(sum(fitted(page, cap).values()) <= _PAGE_WIDTH for page in pages))
    widths = fitted(range(1, 1 + repeat), shared)
    for page in pages:
        own = page[repeat:]
        room = _PAGE_WIDTH - sum(widths.get(c, 0) for c in page[:repeat])
        widths.update(fitted(own, largest_cap(lambda cap: sum(fitted(own, cap).values()) <= room)))
    sheet.widths.update(widths)
    widest_page = max(sum(widths.get(c, 0) for c in page) for page in pages)
    sheet.scale = min(100, int(100 * _PRINTABLE_POINTS / (_POINTS_PER_WIDTH * max(widest_page, 1))))
    sheet.header_row, sheet.repeat_columns, sheet.page_starts = header_row, repeat, tuple(page_starts)
    taken: dict[tuple[str, int], int] = {}
    for r, values in rows:
        needed = {}
        for column, value in values.items():
            if isinstance(value, str):
                count = taken.get((value, column))
                if count is None:
                    room = widths[column] - 1
                    count = taken[value, column] = (len(lines_of[value]) if widest[value] - 2 <= room
                                                    else _wrapped_lines(value, room))
                needed[column] = count
        lines = max(needed.values(), default=1)
        # Alignment only shows in a row taller than one line: one-line rows keep the default
        # style, which keeps most cells of the long sheets unstyled.
        if lines > 1 or r == header_row:
            for column in values:
                count = needed.get(column, 1)
                sheet.style(r, column, alignment=_WRAP if count > 1 or r == header_row else _TOP)
        if lines > 1:  # 16 points a line fits Calibri 11 and the CJK fallback font
            sheet.heights[r] = 16 * lines + 2
    # title lines: wrapped across the columns of the first page when longer than they are
    first_page = pages[0]
    room = sum(widths.get(c, 0) for c in first_page) - 1
    for r, values in sorted(sheet.values.items()):
        text = values.get(1)
        if r >= header_row or not isinstance(text, str):
            continue
        big = r == 1  # the title font is 14 points, the others 11
        lines = _wrapped_lines(text, int(room * 11 / 14) if big else room)
        if lines > 1:
            sheet.merged.append(f"A{r}:{get_column_letter(max(first_page))}{r}")
            sheet.style(r, 1, alignment=_WRAP)
            sheet.heights[r] = (20 if big else 16) * lines + 2


# a piece of text a line cannot break: a run of non-CJK characters up to a space or after a
# hyphen, or one character (a CJK character breaks on either side)
_WORD = re.compile(r"[^\s\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6-]+-?"
                   r"|\S")
_PIECE = re.compile(r"\s+|" + _WORD.pattern)


def _shown_width(value: Any, number_format: str | None) -> int:
    """Characters of a number as its format shows it (``0.0%``, ``#,##0``, quoted suffixes)."""
    if not isinstance(value, numbers.Real):
        return 10  # a date or time
    section = (number_format or "General").split(";")[0]
    literal = "".join(re.findall(r'"([^"]*)"', section))
    digits = re.sub(r'"[^"]*"', "", section)
    decimals = len(digits.split(".")[1].rstrip("%")) if "." in digits else 0
    if "%" in digits:
        shown = f"{value * 100:,.{decimals}f}%"
    elif "0" in digits:
        shown = f"{value:{',' if ',' in digits else ''}.{decimals}f}"
    else:  # General: up to 11 characters
        shown = f"{value:.10g}"[:11]
    return len(shown) + _line_widths(literal)[0]


def _longest_word(text: str) -> int:
    """Display width of the longest piece of ``text`` that a line cannot break (a CJK character
    is one piece; Latin words break at spaces and after hyphens)."""
    return max((len(word) + len(word.translate(_WIDE)) for word in _WORD.findall(text)), default=0)


def _wrapped_lines(text: str, room: int) -> int:
    """Lines ``text`` takes in ``room`` characters, wrapped at spaces, after hyphens and between
    CJK characters, as Excel and LibreOffice wrap; a word wider than the room is cut."""
    room = max(room, 1)
    count = 0
    for line in text.split("\n"):
        count += 1
        used = 0
        for match in _PIECE.finditer(line):
            piece = match.group()
            if piece.isspace():
                used += len(piece) if used else 0
                continue
            width = len(piece) + len(piece.translate(_WIDE))
            if used and used + width > room:
                count += 1
                used = 0
            if width > room:
                count += (width - 1) // room
                width = (width - 1) % room + 1
            used += width
    return count


def _group_lines(sheet: _Sheet, header_row: int, width: int, groups: Sequence[Any]) -> None:
    """A line above the first row of each block of equal ``groups`` (the table's rows in order)."""
    for i in range(1, len(groups)):
        if groups[i] != groups[i - 1]:
            for j in range(1, width + 1):
                sheet.style(header_row + 1 + i, j, border=_GROUP_BORDER)


def _title(sheet: _Sheet, lines: Sequence[str]) -> int:
    sheet.heading = lines[0]  # also in the printed page header (after the demonstration mark)
    if sheet.demonstration:  # first on the sheet and on every printed page
        lines = [f"{DEMONSTRATION_LABEL}  {lines[0]}", *lines[1:]]
    for i, line in enumerate(lines, start=1):
        sheet.put(i, 1, line)
        sheet.style(i, 1, font=_TITLE_FONT if i == 1 else _SUBTITLE_FONT)
    if sheet.demonstration:
        sheet.style(1, 1, font=_DEMO_FONT, fill=_DEMO_FILL)
    return len(lines) + 2


def _value_format(statistic: str) -> str:
    if statistic == "proportion":
        return _PERCENT
    return _MEAN


# -- sheets --------------------------------------------------------------------------------

def _heading(tables: ReportTables) -> list[str]:
    s = tables.settings
    return [
        "南通市放心消费创建调查目标达成情况  Reassuring Consumption plan: survey targets and verdicts",
        f"数据提取 Data extracted {tables.extracted_at:%Y-%m-%d %H:%M} UTC"
        + (f"；轮次 wave {tables.wave}" if tables.wave else "")
        + f"；置信水平 level {s.level:.10g}；区间 CI {s.ci_method}；加权 weighting: {s.describe_weighting()}",
        "判定：置信区间下限≥目标值为达标，上限<目标值为未达标，否则尚无定论。"
        "  Verdict: met when the lower confidence limit is at or above the threshold, not met when the upper "
        "limit is below it, inconclusive otherwise.",
    ]


def _summary_sheet(sheet: _Sheet, tables: ReportTables, target_sheets: dict[str, str]) -> None:
    top = _title(sheet, _heading(tables) + change_summary(tables))
    columns = [
        ("target", "目标 Target", None), ("label_zh", "指标", None), ("label_en", "Indicator", None),
        ("threshold", "目标值 Threshold", None), ("estimate", "估计值 Estimate", None),
        ("comparison", "与目标值比较 Estimate vs threshold", None), ("ci_low", "置信下限 CI low", None),
        ("ci_high", "置信上限 CI high", None), ("verdict_label", "判定 Verdict", None),
        ("p_value", "单侧p值 One-sided p", _P_VALUE), ("n", "分母样本量 n", _INTEGER),
        ("interviews", "完成访问 Interviews", _INTEGER), ("extra_interviews", "需补充访问 Further interviews", _INTEGER),
        ("reliability", "可靠性(NCHS) Reliability", None), ("success", "成功定义 Success", None),
        ("denominator", "分母 Denominator", None), ("source", "问卷.题目 Questionnaire.question", None),
        ("clause", "方案条款 Plan clause", None), ("sheet", "明细表 Detail sheet", None),
    ]
    rows, formats = [], {}
    for i, (target_id, row) in enumerate(tables.overview.iterrows()):
        fmt = _value_format(row["statistic"])
        for key in ("threshold", "estimate", "ci_low", "ci_high"):
            formats[(i, key)] = fmt
        rows.append({
            "target": target_id, "label_zh": row["label_zh"], "label_en": row["label_en"],
            "threshold": row["threshold"], "estimate": row["estimate"], "comparison": _comparison(row),
            "ci_low": row["ci_low"], "ci_high": row["ci_high"], "verdict_label": _verdict_text(row["verdict"]),
            "verdict": row["verdict"], "p_value": row["p_value"], "n": row["n"], "interviews": row["interviews"],
            "extra_interviews": row["extra_interviews"], "reliability": _reliability(row),
            "success": f"{row['success_zh']} / {row['success_en']}", "denominator": _denominator(row["denominator"]),
            "source": f"{row['questionnaire']}.{row['question']}",
            "clause": f"{row['clause_section']}：{row['clause_text']}", "sheet": target_sheets[target_id],
        })
    _table(sheet, top, columns, rows, formats=formats)
    sheet.freeze = (top + 1, 2)
    # printed on three pages across, each beginning with the target and its name: the estimates
    # and verdicts, then the sample and reliability, then what each target measures and where from
    _fit_columns(sheet, header_row=top, maximum=40, repeat=2, page_starts=(10, 15))


def _comparison(row: pd.Series) -> str:
    if row["verdict"] == "no data":
        return ""
    return "≥ 目标值 at or above" if row["estimate"] >= row["threshold"] else "< 目标值 below"


def _reliability(row: pd.Series) -> str:
    if row["verdict"] == "no data":
        return ""
    return "可靠 reliable" if row["reliable"] else f"不可靠 unreliable: {row['reliability']}"


def _denominator(value: str) -> str:
    return {"all": "全体受访者 all respondents",
            "relevant": "被问及此题者 respondents asked the question"}[value]


def _district_sheet(sheet: _Sheet, tables: ReportTables) -> None:
    top = _title(sheet, ["分区县判定  Verdicts by district",
                         "单元格为估计值，颜色为判定。  Cells show the estimate; the colour is the verdict."])
    districts = tables.districts
    columns = [("target", "目标 Target", None), ("label_zh", "指标 Indicator", None),
               ("threshold", "目标值 Threshold", None), ("verdict_all", "全市 Nantong", None)]
    columns += [(f"verdict_{code}", f"{row['name_zh']} {row['name_en']}", None) for code, row in districts.iterrows()]
    rows, formats = [], {}
    for i, (target_id, row) in enumerate(tables.overview.iterrows()):
        fmt = _value_format(row["statistic"])
        domain = tables.domains[target_id]
        values = {"target": target_id, "label_zh": row["label_zh"], "threshold": row["threshold"]}
        formats[(i, "threshold")] = fmt
        for code in [OVERALL, *districts.index]:
            key = f"verdict_{code}"
            values[key] = domain.loc[code, "estimate"]
            values[f"_status_{key}"] = domain.loc[code, "verdict"]
            formats[(i, key)] = f'{fmt}"{_VERDICT_MARK[domain.loc[code, "verdict"]]}"'
        rows.append(values)
    end = _table(sheet, top, columns, rows, formats=formats)
    legend = end + 1
    sheet.put(legend, 1, "图例 Legend")
    for j, status in enumerate(_VERDICT_STYLE, start=2):
        sheet.put(legend, j, f"{_verdict_text(status)}{_VERDICT_MARK[status]}")
        _style_verdict(sheet, legend, j, status)
    sheet.freeze = (top + 1, 3)
    _fit_columns(sheet, header_row=top, maximum=36)


def _target_sheet(sheet: _Sheet, tables: ReportTables, target_id: str) -> None:
    row = tables.overview.loc[target_id]
    fmt = _value_format(row["statistic"])
    threshold = format_percent(row["threshold"]) if row["statistic"] == "proportion" else f"{row['threshold']:g}"
    top = _title(sheet, [
        f"{row['label_zh']}  {row['label_en']}",
        f"{row['questionnaire']}.{row['question']}；成功 success: {row['success_zh']} / {row['success_en']}；"
        f"分母 denominator: {_denominator(row['denominator'])}；目标值 threshold {threshold}",
        f"方案条款 Plan clause: {row['clause_section']}：{row['clause_text']}",
    ])
    domains = tables.domains[target_id]
    # Each domain variable (district, sex, age group...) is a block of rows, named in the first
    # column and set off by a line; tables without the column list districts only.
    grouped = "domain_variable" in domains.columns
    # a difference of proportions is shown in percentage points (survey_app.formatting)
    points = 100 if row["statistic"] == "proportion" else 1
    difference = ("差值（百分点） Difference (points)", EXCEL_POINTS) if points == 100 else ("差值 Difference", fmt)
    columns = [("variable_label", "分组变量 Variable", None)] if grouped else []
    columns += [
        ("domain_zh", "分组", None), ("domain_en", "Domain", None), ("verdict_label", "判定 Verdict", None),
        ("estimate", "估计值 Estimate", fmt), ("threshold", "目标值 Threshold", fmt),
        ("difference", *difference), ("ci_low", "置信下限 CI low", fmt), ("ci_high", "置信上限 CI high", fmt),
        ("p_value", "单侧p值 One-sided p", _P_VALUE), ("extra_interviews", "需补充访问 Further interviews", _INTEGER),
        ("se", "标准误 SE", fmt), ("df", "自由度 df", _INTEGER), ("n", "分母样本量 n", _INTEGER),
        ("interviews", "完成访问 Interviews", _INTEGER), ("n_eff", "有效样本量 Effective n", _DECIMAL),
        ("deff", "设计效应 deff", _DECIMAL), ("reliability_label", "可靠性(NCHS) Reliability", None),
    ]
    rows = []
    for _, domain in domains.iterrows():
        values = domain.to_dict()
        values["verdict_label"] = _verdict_text(domain["verdict"])
        values["reliability_label"] = _reliability(domain)
        values["difference"] = domain["difference"] * points
        if grouped:
            variable = domain["domain_variable"]
            values["variable_label"] = " ".join(DOMAIN_VARIABLE_LABELS.get(variable, (variable,)))
        if domain["verdict"] == "no data":
            values.update(difference=None, df=None, n_eff=None)
        rows.append(values)
    _table(sheet, top, columns, rows)
    if grouped:
        _group_lines(sheet, top, len(columns), [values["domain_variable"] for values in rows])
    sheet.freeze = (top + 1, 4 if grouped else 3)
    # printed on two pages across, each beginning with the domain: estimates and verdicts, then the sample
    first = 2 if grouped else 1
    _fit_columns(sheet, header_row=top, maximum=48, repeat=first + 1, page_starts=(first + 10,))


def _frequency_sheet(sheet: _Sheet, frequencies: pd.DataFrame, title: str) -> None:
    top = _title(sheet, [title, "比例为回答该题者中的加权比例；数值题为加权均值。"
                                "  Shares are weighted, among respondents who answered; numbers show the weighted mean."])
    columns = [
        ("question", "题目 Question", None), ("label_zh", "题目内容", None), ("label_en", "Question text", None),
        ("code", "代码 Code", None), ("choice_zh", "选项", None), ("choice_en", "Option", None),
        ("count", "人数 Count", _INTEGER), ("weighted_count", "加权人数 Weighted count", _WEIGHTED),
        ("estimate", "比例/均值 Share or mean", None), ("se", "标准误 SE", None),
        ("ci_low", "置信下限 CI low", None), ("ci_high", "置信上限 CI high", None), ("n", "回答人数 n", _INTEGER),
    ]
    rows = frequencies.to_dict("records")
    formats = {}
    for i, values in enumerate(rows):
        statistic = "mean" if values["code"] == "mean" else "proportion"
        for key in ("estimate", "se", "ci_low", "ci_high"):
            formats[(i, key)] = _value_format(statistic)
    _table(sheet, top, columns, rows, formats=formats)
    _group_lines(sheet, top, len(columns), [values["question"] for values in rows])
    sheet.freeze = (top + 1, 2)
    _fit_columns(sheet, header_row=top, maximum=44)


# -- issue 19: the plan's whole scoreboard -----------------------------------------------------

_SOURCE_TEXT = {"survey": "调查 survey", "inspection": "抽检 inspection", "register": "行政数据 administrative figure"}
_DIRECTION_TEXT = {">=": "≥", "<": "<", "<=": "≤"}
_MEASURE_FORMAT = {"proportion": _PERCENT, "rate": _PERCENT, "mean": _MEAN, "index": _MEAN, "count": _INTEGER,
                   "ratio": _WEIGHTED}


def _scoreboard_sheet(sheet: _Sheet, board: pd.DataFrame, extracted_at: datetime, wave: str | None) -> None:
    top = _title(sheet, [
        "南通市放心消费创建工作实施方案全部数值目标  Every numeric target of the plan",
        f"数据提取 Data extracted {extracted_at:%Y-%m-%d %H:%M} UTC"
        + (f"；调查轮次 survey wave {wave}" if wave else ""),
        "来源：调查（置信区间）、抽检（精确或设计区间）、行政数据（登记数字，无区间）；无数据者标为“无数据”。"
        "  Sources: surveys (confidence interval), inspections (exact or design-based interval), administrative "
        "figures (registers, no interval); targets without data say so.",
    ])
    columns = [
        ("target", "目标 Target", None), ("label_zh", "指标", None), ("label_en", "Indicator", None),
        ("source", "来源 Source", None), ("direction", "方向 Direction", None), ("threshold", "目标值 Threshold", None),
        ("value", "数值 Value", None), ("ci_low", "置信下限 CI low", None), ("ci_high", "置信上限 CI high", None),
        ("verdict_label", "判定 Verdict", None), ("date", "日期 Date", None), ("n", "样本量 n", _INTEGER),
        ("failed", "不合格 Failed", _INTEGER), ("further", "需补充 Further", _INTEGER), ("group", "方案部分 Plan part", None),
        ("clause", "方案条款 Plan clause", None), ("detail", "说明 Detail", None),
    ]
    rows, formats = [], {}
    for i, row in enumerate(board.to_dict("records")):
        for key in ("threshold", "value", "ci_low", "ci_high"):
            formats[(i, key)] = _MEASURE_FORMAT.get(row["measure"], _DECIMAL)
        rows.append({**row, "source": _SOURCE_TEXT.get(row["source"], row["source"]),
                     "direction": _DIRECTION_TEXT.get(row["direction"], row["direction"]),
                     "verdict_label": _verdict_text(row["verdict"]), "verdict": row["verdict"],
                     "group": f"{row['group_zh']} {row['group_en']}", "clause": f"{row['section']}：{row['clause']}"})
    _table(sheet, top, columns, rows, formats=formats)
    _group_lines(sheet, top, len(columns), [row["group"] for row in rows])
    sheet.freeze = (top + 1, 2)
    # two pages across, each beginning with the target and its name: the numbers, then where they come from
    _fit_columns(sheet, header_row=top, maximum=40, repeat=2, page_starts=(11,))


# -- issue 16: the plan's indices and where to act ------------------------------------------------

_METHOD_TEXT = {"equal": "等权 equal", "fixed": "固定权重 fixed", "pls": "PLS外部权重 PLS outer weights"}
_ROW_TEXT = {"index": "指数 index", "component": "组成部分 component"}


def _index_sheet(sheet: _Sheet, tables: ReportTables) -> None:
    from survey_app.indices import change_direction, index_changes

    top = _title(sheet, [
        "满意度指数  Satisfaction indices (0-100)",
        "按ACSI惯例：各组成部分的加权均值由量表范围换算为0-100分，以归一化的非负权重合成（见方法说明）。"
        "  ACSI convention: each component's weighted mean mapped from its scale's range to 0-100, combined with "
        "normalised non-negative weights (see Methods).",
    ])
    columns = [
        ("index", "指数 Index", None), ("row_text", "行 Row", None), ("label_zh", "名称", None),
        ("label_en", "Name", None), ("estimate", "得分 Score", _DECIMAL), ("ci_low", "置信下限 CI low", _DECIMAL),
        ("ci_high", "置信上限 CI high", _DECIMAL), ("se", "标准误 SE", _DECIMAL), ("df", "自由度 df", _INTEGER),
        ("n", "样本量 n", _INTEGER), ("weight", "权重 Weight", "0.000"), ("method_text", "权重方法 Weights", None),
        ("threshold", "目标值 Threshold", _DECIMAL), ("verdict_label", "判定 Verdict", None),
        ("note", "说明 Note", None),
    ]
    rows = []
    for row in tables.indices.to_dict("records"):
        values = {**row, "row_text": _ROW_TEXT[row["row"]], "method_text": _METHOD_TEXT.get(row["method"], row["method"]),
                  "verdict_label": _verdict_text(row["verdict"]) if row["verdict"] else None, "note": None}
        if row["refused"]:   # no number for an index that cannot be published, the reason instead
            values.update(estimate=None, ci_low=None, ci_high=None, se=None, df=None, n=None, weight=None,
                          note="不予发布 not published: " + row["refused"])
        elif row["row"] == "index" and not row["verdict"]:
            values["note"] = "方案未设分值目标：见下表各轮次变化 The plan sets no number: see the change between waves below"
        rows.append(values)
    end = _table(sheet, top, columns, rows)
    _group_lines(sheet, top, len(columns), [values["index"] for values in rows])
    trend = tables.index_trend
    changes = index_changes(trend, level=tables.settings.level) if trend is not None and len(trend) else None
    if changes is not None and len(changes):
        sheet.put(end + 1, 1, "各轮次变化  Change between waves (later - earlier; SE = sqrt(SE1² + SE2²))")
        sheet.style(end + 1, 1, font=_HEADER_FONT)
        change_columns = [
            ("index", "指数 Index", None), ("row_text", "行 Row", None), ("label_zh", "名称", None),
            ("label_en", "Name", None), ("from_wave", "上一轮 From", None), ("to_wave", "本轮 To", None),
            ("before", "上一轮得分 Before", _DECIMAL), ("after", "本轮得分 After", _DECIMAL),
            ("change", "变化 Change", _DECIMAL), ("ci_low", "置信下限 CI low", _DECIMAL),
            ("ci_high", "置信上限 CI high", _DECIMAL), ("direction", "方向 Direction", None),
        ]
        change_rows = [{**row, "row_text": _ROW_TEXT[row["row"]],
                        "direction": f"{change_direction(row, 'zh')} {change_direction(row, 'en')}"}
                       for row in changes.to_dict("records")]
        _table(sheet, end + 2, change_columns, change_rows)
    sheet.freeze = (top + 1, 2)
    # two pages across, the index and the row's name on both: one page would print at 60 %
    _fit_columns(sheet, header_row=top, maximum=40, repeat=3, page_starts=(11,))


def _priority_sheet(sheet: _Sheet, tables: ReportTables) -> None:
    from survey_app.i18n import t
    from survey_app.indices import priority_findings

    top = _title(sheet, [
        "优先改进方向  Where to act: importance against performance (GB/T 19038-2009, Appendix D)",
        "重要性 = 加权回归R²的Shapley分解；表现 = 0-100分；以各方面平均值划分象限，重要且得分低于平均者为优先改进。"
        "  Importance = Shapley decomposition of the R² of the weighted regression; performance = 0-100; quadrants "
        "at the means over the aspects; important and rated below the mean = priority.",
    ])
    columns = [
        ("questionnaire", "问卷 Questionnaire", None), ("outcome", "总体评价 Outcome", None),
        ("driver", "方面 Aspect", None), ("label_zh", "名称", None), ("label_en", "Name", None),
        ("importance", "重要性 Importance (R²)", _PERCENT), ("ci_low", "置信下限 CI low", _PERCENT),
        ("ci_high", "置信上限 CI high", _PERCENT), ("share", "占R²比例 Share of R²", _PERCENT),
        ("performance", "表现 Performance (0-100)", _DECIMAL), ("performance_ci_low", "置信下限 CI low", _DECIMAL),
        ("performance_ci_high", "置信上限 CI high", _DECIMAL), ("quadrant_text", "象限 Quadrant", None),
        ("finding", "结论 Finding", None), ("r2", "R²", _DECIMAL), ("n", "样本量 n", _INTEGER),
    ]
    rows = []
    frame = tables.priorities
    for qid in dict.fromkeys(frame["questionnaire"]):
        part = frame[frame["questionnaire"] == qid]
        if part["refused"].iloc[0]:
            rows.append({"questionnaire": qid, "outcome": part["outcome"].iloc[0],
                         "finding": "无法分析 cannot be analysed: " + part["refused"].iloc[0]})
            continue
        findings = " / ".join(f"{zh}；{en}" for zh, en in zip(priority_findings(part, "zh"),
                                                             priority_findings(part, "en")))
        for i, row in enumerate(part.to_dict("records")):
            key = f"indices.quadrant_{row['quadrant']}"
            rows.append({**row, "quadrant_text": f"{t(key, 'zh')} {t(key, 'en')}",
                         "finding": findings if i == 0 else None})
    _table(sheet, top, columns, rows)
    _group_lines(sheet, top, len(columns), [values["questionnaire"] for values in rows])
    sheet.freeze = (top + 1, 3)
    # two pages across, the questionnaire and the aspect on both: one page would print at 60 %
    _fit_columns(sheet, header_row=top, maximum=40, repeat=4, page_starts=(10,))


#: The name of the scoreboard sheet.
SCOREBOARD_SHEET = "计分板 Scoreboard"


def write_scoreboard(board: pd.DataFrame, path_or_buffer: str | Path | IO[bytes], *, extracted_at: datetime,
                     wave: str | None = None, demonstration: bool = False) -> None:
    """Write a workbook of the scoreboard sheet alone (the scoreboard page's download).

    Parameters
    ----------
    board : pandas.DataFrame
        :meth:`survey_app.scoreboard.Scoreboard.to_frame`.
    path_or_buffer : str, Path or binary file object
    extracted_at : datetime
        When the data were read (UTC).
    wave : str, optional
        The survey wave of the survey targets.
    demonstration : bool
        Whether demonstration survey data went into it (labelled on the sheet).
    """
    sheet = _Sheet(SCOREBOARD_SHEET)
    sheet.demonstration = demonstration
    _scoreboard_sheet(sheet, board, extracted_at, wave)
    sheet.date = f"数据提取 Data extracted {extracted_at:%Y-%m-%d}"
    try:
        if isinstance(path_or_buffer, (str, Path)):
            with open(path_or_buffer, "wb") as handle:
                _save([sheet], handle, demonstration=demonstration)
        else:
            _save([sheet], path_or_buffer, demonstration=demonstration)
    except OSError as error:
        raise ExcelReportError(f"cannot write the scoreboard to {path_or_buffer}: {error.strerror or error}; "
                               "check that the directory exists and is writable") from None


# -- issue 15: change between waves and districts against the rest of the city ------------------

_CHANGE_TEXT = {"up": "显著上升 significant rise", "down": "显著下降 significant fall",
                "no change": "无显著变化 not significant"}
_CHANGE_STYLE = {"up": "met", "down": "not met", "no change": "no data"}   # the verdict colours


def _first_of_group(rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> list[dict[str, Any]]:
    """``rows`` with ``keys`` (the target and its name) only on the first row of each target: one line a
    row when printed, the targets set off by :func:`_group_lines`."""
    return [values if i == 0 or values["target"] != rows[i - 1]["target"] else {**values, **dict.fromkeys(keys)}
            for i, values in enumerate(rows)]


def _change_format(statistic: str) -> tuple[str, str, int]:
    """Number formats of the estimates and of the difference, and the difference's scale."""
    if statistic == "proportion":
        return _PERCENT, EXCEL_POINTS, 100
    return (_DECIMAL if statistic == "index" else _MEAN), _DECIMAL, 1


def change_summary(tables: ReportTables) -> list[str]:
    """The summary sheet's line on the change since the previous wave (none without one)."""
    from survey_app.change import change_counts

    if tables.changes is None or tables.changes.empty:
        return []
    counts = change_counts(tables.changes[tables.changes["kind"] == "target"])
    before = tables.changes["wave_a"].iloc[0]
    return [f"与上一轮（{before}）相比：{counts['up']} 项目标显著上升，{counts['down']} 项显著下降，"
            f"{counts['no change']} 项无显著变化，{counts['not compared']} 项未比较（见“变化”表）。"
            f"  Since wave {before}: {counts['up']} target(s) rose significantly, {counts['down']} fell "
            f"significantly, {counts['no change']} did not change significantly, {counts['not compared']} not "
            f"compared (see the Change sheet)."]


def _change_note(row: dict[str, Any]) -> str:
    """Why a change was not computed, bilingual and short enough for one printed line."""
    if row["status"] == "definition changed":
        return f"定义有变 definition changed: {row['changed']}"
    if row["status"] == "too few":
        side = "a" if row["n_a"] < row["n_needed_a"] else "b"
        wave, n, needed = row[f"wave_{side}"], int(row[f"n_{side}"]), int(row[f"n_needed_{side}"])
        return f"{wave} 轮受访者太少 too few in {wave}: n = {n} < {needed}"
    return "无受访者 no respondents: " + row["reason"].removeprefix("no respondents in ")


def _change_sheet(sheet: _Sheet, tables: ReportTables) -> None:
    changes = tables.changes
    level = format_percent(tables.settings.level, decimals=0)
    top = _title(sheet, [
        f"各目标较上一轮的变化  Change of every target since wave {changes['wave_a'].iloc[0]}",
        f"两轮合并为一个设计（层 = 轮次×区县，各轮的初级抽样单元分开），变化 = 本轮 - 上一轮，{level} 置信区间（t 分布）；"
        "区县的 p 值按 Holm 方法校正；比例的变化以百分点计。定义有变或受访者太少的不比较，说明原因。"
        f"  The waves stacked into one design (strata = wave x district, PSUs of each wave apart); change = this "
        f"wave - previous wave, {level} intervals (Student t); district p-values Holm-adjusted; changes of "
        "shares in percentage points. Targets whose definition changed and waves with too few respondents are "
        "not compared; the note says why.",
    ])
    columns = [
        ("target", "目标 Target", None), ("label_zh", "指标", None), ("label_en", "Indicator", None),
        ("domain_label", "区域 Area", None), ("wave_a", "上一轮 Previous wave", None),
        ("estimate_a", "上一轮估计 Previous", None), ("wave_b", "本轮 This wave", None),
        ("estimate_b", "本轮估计 This wave", None), ("difference", "变化 Change", None),
        ("ci_low", "置信下限 CI low", None), ("ci_high", "置信上限 CI high", None),
        ("p_value", "p值 p", _P_VALUE), ("p_adjusted", "校正p值 Adjusted p", _P_VALUE),
        ("verdict_change", "显著 Significant", None), ("n_a", "上一轮样本量 n previous", _INTEGER),
        ("n_b", "本轮样本量 n this wave", _INTEGER), ("note", "说明 Note", None),
    ]
    rows, formats = [], {}
    for i, row in enumerate(changes.to_dict("records")):
        estimate, difference, scale = _change_format(row["statistic"])
        for key in ("estimate_a", "estimate_b"):
            formats[(i, key)] = estimate
        for key in ("difference", "ci_low", "ci_high"):
            formats[(i, key)] = difference
        compared = row["status"] == "compared"
        values = {**row, "domain_label": f"{row['domain_zh']} {row['domain_en']}",
                  "difference": row["difference"] * scale, "ci_low": row["ci_low"] * scale,
                  "ci_high": row["ci_high"] * scale,
                  "verdict_change": _CHANGE_TEXT[row["direction"]] if compared else "未比较 not compared",
                  "_status_verdict_change": _CHANGE_STYLE.get(row["direction"]) if compared else None,
                  "note": None if compared else _change_note(row)}
        if row["statistic"] == "index":
            values.update(n_a=None, n_b=None)
        rows.append(values)
    _table(sheet, top, columns, _first_of_group(rows, ("target", "label_zh", "label_en")), formats=formats)
    _group_lines(sheet, top, len(columns), [values["target"] for values in rows])
    sheet.freeze = (top + 1, 2)
    # two pages across, each beginning with the target: the change, then its test, the samples and the notes
    _fit_columns(sheet, header_row=top, maximum=64, repeat=1, page_starts=(12,))


def _comparison_sheet(sheet: _Sheet, tables: ReportTables) -> None:
    frame = tables.district_comparisons
    level = format_percent(tables.settings.level, decimals=0)
    method = {"holm": "Holm", "bonferroni": "Bonferroni", "BH": "Benjamini-Hochberg"}.get(
        frame["adjust"].iloc[0] if len(frame) else "holm", "none")
    top = _title(sheet, [
        "各区县与全市其余地区比较  Each district against the rest of the city"
        + (f"  (wave {tables.wave})" if tables.wave else ""),
        f"差异 = 该区县 - 其余各区县合计，{level} 置信区间（t 分布）；p 值按 {method} 方法对同一目标的各区县校正。"
        f"比例之差以百分点计；受访者太少的区县不比较。  Difference = the district - the other districts together, "
        f"{level} intervals (Student t); p-values adjusted over the districts of a target ({method}); differences "
        "of shares in percentage points. Districts with too few respondents are not compared.",
    ])
    columns = [
        ("target", "目标 Target", None), ("label_zh", "指标", None), ("district_label", "区县 District", None),
        ("estimate", "区县估计 District", None), ("rest_estimate", "其余地区 Rest of city", None),
        ("difference", "差异 Difference", None), ("ci_low", "置信下限 CI low", None),
        ("ci_high", "置信上限 CI high", None), ("p_value", "p值 p", _P_VALUE),
        ("p_adjusted", f"{method}校正p值 Adjusted p", _P_VALUE), ("verdict_difference", "显著 Significant", None),
        ("n", "样本量 n", _INTEGER), ("note", "说明 Note", None),
    ]
    rows, formats = [], {}
    for i, row in enumerate(frame.to_dict("records")):
        estimate, difference, scale = _change_format(row["statistic"])
        for key in ("estimate", "rest_estimate"):
            formats[(i, key)] = estimate
        for key in ("difference", "ci_low", "ci_high"):
            formats[(i, key)] = difference
        compared = row["status"] == "compared"
        direction = ("up" if row["difference"] > 0 else "down") if row["significant"] else "no change"
        text = {"up": "显著较高 significantly higher", "down": "显著较低 significantly lower",
                "no change": "差异不显著 not significant"}[direction]
        rows.append({**row, "district_label": f"{row['district_zh']} {row['district_en']}",
                     "difference": row["difference"] * scale, "ci_low": row["ci_low"] * scale,
                     "ci_high": row["ci_high"] * scale,
                     "verdict_difference": text if compared else "未比较 not compared",
                     "_status_verdict_difference": _CHANGE_STYLE[direction] if compared else None,
                     "note": None if compared else ("受访者太少 " if row["status"] == "too few" else "无受访者 ")
                     + row["reason"].removeprefix("too few respondents ")})
    _table(sheet, top, columns, _first_of_group(rows, ("target", "label_zh")), formats=formats)
    _group_lines(sheet, top, len(columns), [values["target"] for values in rows])
    sheet.freeze = (top + 1, 2)
    # two pages across, each beginning with the target: the difference, then its test and the notes
    _fit_columns(sheet, header_row=top, maximum=64, repeat=1, page_starts=(9,))


def _plain_sheet(sheet: _Sheet, title: str, frame: pd.DataFrame, headers: dict[str, str], *,
                 maximum: int = 60) -> None:
    top = _title(sheet, [title])
    columns = [(key, headers.get(key, key), None) for key in frame.columns]
    keys = list(frame.columns)
    # records from column lists: DataFrame.to_dict("records") boxes every value separately
    rows = [dict(zip(keys, values)) for values in zip(*(frame[key].tolist() for key in keys))]
    _table(sheet, top, columns, rows)
    sheet.freeze = (top + 1, 1)
    _fit_columns(sheet, header_row=top, maximum=maximum)


def write_report(tables: ReportTables, path_or_buffer: str | Path | IO[bytes]) -> None:
    """Write the satisfaction report workbook.

    Parameters
    ----------
    tables : ReportTables
        From :func:`survey_app.reporting.build_report` or ``report_from_store``.
    path_or_buffer : str, Path or binary file object
        Where to write the ``.xlsx`` file, e.g. an ``io.BytesIO`` for a download button.

    Raises
    ------
    ExcelReportError
        The file cannot be written (missing directory, no permission).
    """
    if not isinstance(tables, ReportTables):
        raise ExcelReportError(f"tables must be ReportTables (from build_report), got {type(tables).__name__}")
    taken: list[str] = []

    def new_sheet(name: str) -> _Sheet:
        title = sheet_name(name, taken)
        taken.append(title)
        sheets.append(_Sheet(title))
        sheets[-1].demonstration = tables.demonstration
        return sheets[-1]

    sheets: list[_Sheet] = []
    summary = new_sheet("汇总 Summary")
    by_district = new_sheet("分区县判定 By district")
    if tables.scoreboard is not None:  # issue 19: built from a store (report_from_store)
        _scoreboard_sheet(new_sheet(SCOREBOARD_SHEET), tables.scoreboard, tables.extracted_at, tables.wave)
    if tables.indices is not None and len(tables.indices):   # issue 16
        _index_sheet(new_sheet("指数 Indices"), tables)
    if tables.priorities is not None and len(tables.priorities):
        _priority_sheet(new_sheet("优先改进 Where to act"), tables)
    if tables.changes is not None and len(tables.changes):   # issue 15
        _change_sheet(new_sheet("变化 Change"), tables)
    if tables.district_comparisons is not None and len(tables.district_comparisons):
        _comparison_sheet(new_sheet("区县比较 District comparison"), tables)
    target_sheets = {}
    for i, target_id in enumerate(tables.overview.index, start=1):
        sheet = new_sheet(f"T{i:02d} {target_id}")
        target_sheets[target_id] = sheet.title
        _target_sheet(sheet, tables, target_id)
    _summary_sheet(summary, tables, target_sheets)
    _district_sheet(by_district, tables)
    for qid, frequencies in tables.frequencies.items():
        _frequency_sheet(new_sheet(f"频数 {qid}"), frequencies, f"加权频数表 Weighted frequencies: {qid}")
    _plain_sheet(new_sheet("开放题 Text answers"), "开放题回答（原文） Free-text answers as given", tables.text_answers,
                 {"questionnaire": "问卷 Questionnaire", "question": "题目 Question", "label_zh": "题目内容",
                  "interview_id": "访问编号 Interview", "district": "区县 District", "answer": "回答 Answer"},
                 maximum=70)
    _plain_sheet(new_sheet("方法说明 Methods"), "方法说明  Methods", tables.methods,
                 {"item": "项目 Item", "value": "说明 Value"}, maximum=100)
    _plain_sheet(new_sheet("数据字典 Data dictionary"), "数据字典  Data dictionary", tables.dictionary,
                 {"questionnaire": "问卷 Questionnaire", "version": "版本 Version", "name": "变量名 Name",
                  "type": "类型 Type", "label_zh": "题目", "label_en": "Label", "relevant": "显示条件 Relevant",
                  "choices": "选项 Choices"}, maximum=50)
    for sheet in sheets:
        sheet.date = f"数据提取 Data extracted {tables.extracted_at:%Y-%m-%d}"
    try:
        if isinstance(path_or_buffer, (str, Path)):
            # opened before the streaming sheets exist, so that a bad path leaves none half-written
            with open(path_or_buffer, "wb") as handle:
                _save(sheets, handle, demonstration=tables.demonstration)
        else:
            _save(sheets, path_or_buffer, demonstration=tables.demonstration)
    except OSError as error:
        raise ExcelReportError(f"cannot write the report to {path_or_buffer}: {error.strerror or error}; "
                               "check that the directory exists and is writable") from None


def _save(sheets: Sequence[_Sheet], target: IO[bytes], *, demonstration: bool) -> None:
    wb = Workbook(write_only=True)
    for sheet in sheets:
        sheet.write(wb)
    wb.properties.title = ((DEMONSTRATION_LABEL + " " if demonstration else "")
                           + "放心消费创建调查目标达成情况 Survey targets and verdicts")
    wb.properties.creator = "survey-toolkit"
    wb.save(target)
