"""The Excel satisfaction report: one workbook from :class:`~survey_app.reporting.ReportTables`.

Sheets: a summary of targets and verdicts (colour-coded), the verdicts of every target in every
district, one sheet per target with its domain table, weighted frequency tables per
questionnaire, the free-text answers, the methods and a data dictionary. Shares are stored
as numbers with a percent format; nothing is rounded.

Every string goes through :func:`cell_text`: text that Excel could run as a formula (leading
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
from collections.abc import Sequence
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

from analysis.results import OVERALL
from survey_app.errors import SurveyAppError
from survey_app.reporting import DOMAIN_VARIABLE_LABELS, VERDICT_LABELS, ReportTables

__all__ = ["ExcelReportError", "write_report", "cell_text", "sheet_name", "FORMULA_PREFIXES", "MAX_CELL_TEXT"]

#: First characters that make Excel (or a CSV import) treat text as a formula (OWASP).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: Excel's limit on the characters of one cell.
MAX_CELL_TEXT = 32767
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # control characters XML 1.0 cannot hold
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")

_PERCENT = "0.0%"
_PERCENT_SE = "0.00%"
_MEAN = "0.00"
_P_VALUE = "0.0000"
_INTEGER = "#,##0"
_DECIMAL = "0.00"
_WEIGHTED = "#,##0.0"

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
_VERDICT_STYLE = {status: (PatternFill("solid", fgColor=fill), Font(name=_FONT, bold=True, color=colour))
                  for status, (fill, colour) in _VERDICT_COLOURS.items()}


class ExcelReportError(SurveyAppError, ValueError):
    """The workbook cannot be written where asked."""


def cell_text(value: str) -> str:
    """``value`` as it is stored in a cell: safe from formula evaluation.

    Text starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a leading
    ``'`` (OWASP CSV-injection guidance). Control characters that an xlsx file cannot hold
    become U+FFFD, line breaks become ``\n`` (XML turns a bare carriage return into one
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

    def __init__(self, title: str) -> None:
        self.title = title
        self.values: dict[int, dict[int, Any]] = {}
        # per cell: font, fill, border, alignment, number_format (a missing key: the default)
        self.styles: dict[int, dict[int, dict[str, Any]]] = {}
        self.widths: dict[int, float] = {}
        self.heights: dict[int, float] = {}
        self.freeze: tuple[int, int] | None = None
        self.landscape = False
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
        if self.landscape:
            ws.page_setup.orientation = "landscape"
            ws.page_setup.fitToWidth = 1
            ws.page_setup.fitToHeight = 0
            ws.sheet_properties.pageSetUpPr.fitToPage = True
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


def _fit_columns(sheet: _Sheet, *, header_row: int, maximum: int = 60, minimum: int = 8) -> None:
    """Column widths from the content (CJK characters count double); long text wraps.

    Row heights are set for wrapped cells, because neither Excel nor LibreOffice grows a
    row on opening a file.
    """
    rows = [(r, values) for r, values in sorted(sheet.values.items()) if r >= header_row]
    # per distinct text, computed once: its line widths, and the lines it takes in a column
    lines_of: dict[str, list[int]] = {}
    widest: dict[str, int] = {}
    widths: dict[int, int] = {}
    for r, values in rows:
        for column, value in values.items():
            if isinstance(value, str):
                width = widest.get(value)
                if width is None:
                    lines_of[value] = _line_widths(value)
                    width = widest[value] = max(lines_of[value]) + 2
            else:
                width = 12
            if r == header_row:
                width = min(width, 24)  # headers wrap rather than widen the column
            if width > widths.get(column, 0):
                widths[column] = width
    for column, width in widths.items():
        widths[column] = max(minimum, min(maximum, width))
    sheet.widths.update(widths)
    taken: dict[tuple[str, int], int] = {}
    for r, values in rows:
        needed = {}
        for column, value in values.items():
            if isinstance(value, str):
                count = taken.get((value, column))
                if count is None:
                    room = widths[column] - 1
                    count = taken[value, column] = sum(max(1, math.ceil(width / room)) for width in lines_of[value])
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


def _group_lines(sheet: _Sheet, header_row: int, width: int, groups: Sequence[Any]) -> None:
    """A line above the first row of each block of equal ``groups`` (the table's rows in order)."""
    for i in range(1, len(groups)):
        if groups[i] != groups[i - 1]:
            for j in range(1, width + 1):
                sheet.style(header_row + 1 + i, j, border=_GROUP_BORDER)


def _title(sheet: _Sheet, lines: Sequence[str]) -> int:
    for i, line in enumerate(lines, start=1):
        sheet.put(i, 1, line)
        sheet.style(i, 1, font=_TITLE_FONT if i == 1 else _SUBTITLE_FONT)
    return len(lines) + 2


def _value_format(statistic: str, *, se: bool = False) -> str:
    if statistic == "proportion":
        return _PERCENT_SE if se else _PERCENT
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
    top = _title(sheet, _heading(tables))
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
    _fit_columns(sheet, header_row=top, maximum=40)
    sheet.landscape = True


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
    sheet.landscape = True


def _target_sheet(sheet: _Sheet, tables: ReportTables, target_id: str) -> None:
    row = tables.overview.loc[target_id]
    fmt = _value_format(row["statistic"])
    se_fmt = _value_format(row["statistic"], se=True)
    threshold = f"{row['threshold']:.0%}" if row["statistic"] == "proportion" else f"{row['threshold']:g}"
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
    columns = [("variable_label", "分组变量 Variable", None)] if grouped else []
    columns += [
        ("domain_zh", "分组", None), ("domain_en", "Domain", None), ("verdict_label", "判定 Verdict", None),
        ("estimate", "估计值 Estimate", fmt), ("threshold", "目标值 Threshold", fmt),
        ("difference", "差值 Difference", fmt), ("ci_low", "置信下限 CI low", fmt), ("ci_high", "置信上限 CI high", fmt),
        ("p_value", "单侧p值 One-sided p", _P_VALUE), ("extra_interviews", "需补充访问 Further interviews", _INTEGER),
        ("se", "标准误 SE", se_fmt), ("df", "自由度 df", _INTEGER), ("n", "分母样本量 n", _INTEGER),
        ("interviews", "完成访问 Interviews", _INTEGER), ("n_eff", "有效样本量 Effective n", _DECIMAL),
        ("deff", "设计效应 deff", _DECIMAL), ("reliability_label", "可靠性(NCHS) Reliability", None),
    ]
    rows = []
    for _, domain in domains.iterrows():
        values = domain.to_dict()
        values["verdict_label"] = _verdict_text(domain["verdict"])
        values["reliability_label"] = _reliability(domain)
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
    _fit_columns(sheet, header_row=top, maximum=48)
    sheet.landscape = True


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
        for key in ("estimate", "ci_low", "ci_high"):
            formats[(i, key)] = _value_format(statistic)
        formats[(i, "se")] = _value_format(statistic, se=True)
    _table(sheet, top, columns, rows, formats=formats)
    _group_lines(sheet, top, len(columns), [values["question"] for values in rows])
    sheet.freeze = (top + 1, 2)
    _fit_columns(sheet, header_row=top, maximum=44)
    sheet.landscape = True


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
    sheet.landscape = True


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
        return sheets[-1]

    sheets: list[_Sheet] = []
    summary = new_sheet("汇总 Summary")
    by_district = new_sheet("分区县判定 By district")
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
    try:
        if isinstance(path_or_buffer, (str, Path)):
            # opened before the streaming sheets exist, so that a bad path leaves none half-written
            with open(path_or_buffer, "wb") as handle:
                _save(sheets, handle)
        else:
            _save(sheets, path_or_buffer)
    except OSError as error:
        raise ExcelReportError(f"cannot write the report to {path_or_buffer}: {error.strerror or error}; "
                               "check that the directory exists and is writable") from None


def _save(sheets: Sequence[_Sheet], target: IO[bytes]) -> None:
    wb = Workbook(write_only=True)
    for sheet in sheets:
        sheet.write(wb)
    wb.properties.title = "放心消费创建调查目标达成情况 Survey targets and verdicts"
    wb.properties.creator = "survey-toolkit"
    wb.save(target)
