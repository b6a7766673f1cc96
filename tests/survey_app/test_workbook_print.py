"""The workbook as a manager prints it: converted to PDF by LibreOffice, every page A4 landscape,
text at 70 % of its size or more, Chinese rendered, a bounded number of pages per sheet; and the
page setup of each sheet as Excel reads it.

The report is the demonstration data set's (all domain variables), as the app would print it.
"""
from __future__ import annotations

import re
import statistics
import subprocess
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.utils import column_index_from_string, get_column_letter

from survey_app.demo import load_demo
from survey_app.excel import write_report
from survey_app.reporting import DOMAIN_VARIABLES, ReportSettings, report_from_store
from survey_app.store import ResponseStore
from tests.conftest import require_program

A4_LANDSCAPE = (841.89, 595.28)  # points
# LibreOffice prints a column of width w (characters) 7 * w points wide at 100 %: measured once,
# with the calibration sheet below (ten columns of width 10 take 700 points).
POINTS_PER_WIDTH = 7.0
MIN_SCALE = 0.7  # 11-point text prints at 7.7 points or more


@pytest.fixture(scope="module")
def report_path(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("print")
    store = ResponseStore(f"sqlite:///{folder / 'demo.db'}")
    try:
        load_demo(store)
        tables = report_from_store(store, settings=ReportSettings(domains=DOMAIN_VARIABLES))
    finally:
        store.close()
    path = folder / "report.xlsx"
    write_report(tables, path)
    return path


@pytest.fixture(scope="module")
def calibration_path(report_path) -> Path:
    """One line of Calibri 11 printed at 100 %: the height of its words in the PDF is the
    height of unscaled text."""
    wb = Workbook()
    ws = wb.active
    ws.append(["Target 85.0% 指标"])
    path = report_path.parent / "calibration.xlsx"
    wb.save(path)
    return path


@pytest.fixture(scope="module")
def pdfs(report_path, calibration_path) -> dict[str, Path]:
    office = require_program("libreoffice", candidates=("soffice",))
    require_program("pdftotext")
    out = report_path.parent / "pdf"
    # a profile of its own, so that a LibreOffice already running elsewhere does not take the job
    profile = (report_path.parent / "profile").as_uri()
    subprocess.run([office, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf", "--outdir",
                    str(out), str(report_path), str(calibration_path)], check=True, capture_output=True, timeout=600)
    return {"report": out / "report.pdf", "calibration": out / "calibration.pdf"}


def pdf_pages(path: Path) -> list[dict]:
    """Each page's size and words (text, box) from ``pdftotext -bbox``."""
    html = subprocess.run(["pdftotext", "-bbox", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout
    pages = []
    for page in re.finditer(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', html, re.S):
        words = [(text, float(x0), float(y0), float(x1), float(y1)) for x0, y0, x1, y1, text in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', page[3])]
        pages.append({"size": (float(page[1]), float(page[2])), "words": words})
    return pages


def test_printed_pages_are_a4_landscape_legible_and_few(pdfs, report_path):
    pages = pdf_pages(pdfs["report"])
    reference = statistics.median(y1 - y0 for _, _, y0, _, y1 in pdf_pages(pdfs["calibration"])[0]["words"])
    names = load_workbook(report_path, read_only=True).sheetnames
    per_sheet: dict[str, int] = {}
    heights = []
    for number, page in enumerate(pages, start=1):
        assert page["size"] == pytest.approx(A4_LANDSCAPE, abs=1), f"page {number} is {page['size']}"
        width, height = page["size"]
        body = [w for w in page["words"] if 0.1 * height < w[2] and w[4] < 0.9 * height]  # not the header or footer
        heights += [y1 - y0 for _, _, y0, _, y1 in body]
        footer = " ".join(w[0] for w in page["words"] if w[2] > 0.9 * height and w[1] > width / 2)
        sheet = next((n for n in names if footer.endswith(n)), None)
        assert sheet, f"page {number}: the footer {footer!r} names no sheet"
        assert re.search(rf"\b{number} / {len(pages)}\b", " ".join(w[0] for w in page["words"])), number
        per_sheet[sheet] = per_sheet.get(sheet, 0) + 1
    # the smallest printed text (the 2nd percentile of word heights) against unscaled text
    smallest = sorted(heights)[len(heights) // 50]
    assert smallest >= MIN_SCALE * reference, (smallest, reference)
    assert list(per_sheet) == names  # every sheet prints, in order
    targets = [n for n in names if re.match(r"T\d\d ", n)]
    assert per_sheet["汇总 Summary"] <= 6  # three pages across
    assert per_sheet["分区县判定 By district"] == 1
    assert max(per_sheet[n] for n in targets) <= 4  # two pages across
    assert per_sheet["方法说明 Methods"] <= 3
    assert len(pages) <= 150


def test_chinese_text_is_rendered_in_a_cjk_font(pdfs):
    fonts = subprocess.run(["pdffonts", str(pdfs["report"])], check=True, capture_output=True, text=True).stdout
    assert re.search(r"CJK|Hei|Song|Ming|Gothic", fonts), fonts
    text = subprocess.run(["pdftotext", "-layout", "-f", "1", "-l", "1", str(pdfs["report"]), "-"], check=True,
                          capture_output=True, text=True).stdout
    assert "南通市放心消费创建调查" in text and "达标 met" in text and "目标值" in text
    assert "\ufffd" not in text and "□" not in text


# -- page setup as Excel reads it ---------------------------------------------------------------------

def columns_width(ws, first: int, last: int) -> float:
    return sum(ws.column_dimensions[get_column_letter(c)].width or 8.43 for c in range(first, last + 1))


def printed_ranges(ws) -> list[tuple[int, int]]:
    """The column ranges printed side by side: the print areas, or the whole sheet."""
    if not ws.print_area:
        return [(1, ws.max_column)]
    ranges = []
    for area in ws.print_area.split(","):
        first, last = re.findall(r"\$?([A-Z]+)\$?\d+", area.split("!")[-1])
        ranges.append((column_index_from_string(first), column_index_from_string(last)))
    return ranges


def test_every_sheet_has_a_print_layout(report_path):
    wb = load_workbook(report_path)
    methods = {row[0]: row[1] for row in wb["方法说明 Methods"].iter_rows(values_only=True)}
    extracted = methods["数据提取时间 Data extracted (UTC)"][:10]
    for ws in wb.worksheets:
        setup = ws.page_setup
        assert setup.orientation == "landscape" and setup.paperSize == 9, ws.title  # 9: A4
        printable = A4_LANDSCAPE[0] - 72 * (ws.page_margins.left + ws.page_margins.right)
        assert ws.page_margins.left >= 0.25 and ws.page_margins.right >= 0.25
        # the table's header row repeats on every page, wraps, and is the row above the frozen panes
        header = int(re.fullmatch(r"\$(\d+):\$(\d+)", ws.print_title_rows)[1])
        assert ws.freeze_panes.endswith(str(header + 1)), ws.title
        assert all(c.alignment.wrap_text for c in ws[header] if c.value is not None), ws.title
        # the demonstration data's report: its mark, then the sheet's own title, in the page header
        mark, _, title = ws.oddHeader.center.text.partition("】 ")
        assert "演示数据 DEMONSTRATION" in mark and extracted in ws.oddHeader.right.text
        assert title.rstrip("…") in " ".join(ws["A1"].value.partition("】")[2].split()), ws.title
        assert "南通市放心消费创建调查" in ws.oddFooter.left.text
        assert ws.oddFooter.center.text == "&P / &N" and ws.oddFooter.right.text == ws.title
        assert ws.print_options.gridLines
        ranges = printed_ranges(ws)
        repeated = 0
        if ws.print_title_cols:
            repeated = columns_width(ws, 1, column_index_from_string(ws.print_title_cols.split(":")[-1].strip("$")))
        if len(ranges) == 1:  # fitted to the page width: the scale the width leaves
            assert ws.sheet_properties.pageSetUpPr.fitToPage and setup.fitToWidth == 1 and setup.fitToHeight == 0
            scale = min(1.0, printable / (POINTS_PER_WIDTH * columns_width(ws, 1, ranges[0][1])))
        else:  # column groups side by side, at a fixed scale each group fits
            assert not ws.sheet_properties.pageSetUpPr.fitToPage
            scale = setup.scale / 100
            for i, (first, last) in enumerate(ranges):
                width = columns_width(ws, first, last) + (repeated if i else 0)
                assert width * POINTS_PER_WIDTH * scale <= printable + 1, (ws.title, first, last)
        assert scale >= MIN_SCALE, (ws.title, scale)


def test_wide_sheets_print_in_column_groups(report_path):
    wb = load_workbook(report_path)
    summary = wb["汇总 Summary"]
    assert summary.print_title_cols == "$A:$B" and len(printed_ranges(summary)) == 3
    target = wb[next(n for n in wb.sheetnames if n.startswith("T01 "))]
    assert target.print_title_cols == "$A:$C" and len(printed_ranges(target)) == 2
    # the later groups start below the title lines, under the repeated header row
    header = int(target.print_title_rows.split(":")[0].strip("$"))
    assert target.print_area.split(",")[1].split("!")[-1].startswith(f"$L${header + 1}")
