"""Uploaded workbooks are read by one guarded reader (survey_app.uploads.read_workbook).

A decompression bomb (a small .xlsx whose sheet XML unpacks to tens of MB) must be refused
before it is parsed, by every page that reads workbooks; a normal workbook still reads; and
the parse itself runs in a worker process whose time and memory limits end it.
"""
from __future__ import annotations

import io
import resource
import time
import zipfile

import pandas as pd
import pytest

from analysis.sampling import SamplingError, read_frame
from survey_app.importer import ResponseImportError, read_responses
from survey_app.margins import MarginsError, read_table
from survey_app.pages.review import read_assignments
from survey_app.i18n import t
from survey_app.uploads import WorkbookError, WorkbookLimits, read_workbook
from tests.survey_app.review_helpers import clean, open_page
from questionnaires import shipped_questionnaires

SHEET = "xl/worksheets/sheet1.xml"


def workbook(table: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    table.to_excel(buffer, index=False)
    return buffer.getvalue()


def with_sheet_xml(data: bytes, sheet_xml: bytes) -> bytes:
    """The workbook ``data`` with its first sheet replaced by ``sheet_xml``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            target.writestr(entry.filename, sheet_xml if entry.filename == SHEET else source.read(entry))
    return out.getvalue()


def rows_xml(rows: int, cells: str) -> bytes:
    # Rows and cells without their optional "r" positions are identical, so they pack to almost nothing.
    body = f"<row>{cells}</row>" * rows
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f"<sheetData>{body}</sheetData></worksheet>").encode()


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """A valid workbook of about 0.2 MB whose sheet unpacks to about 60 MB (one repeated row)."""
    base = workbook(pd.DataFrame({"variable": ["sex"], "category": ["1"], "population": ["10"]}))
    cells = '<c t="inlineStr"><is><t>sex</t></is></c><c t="inlineStr"><is><t>1</t></is></c><c><v>10</v></c>'
    data = with_sheet_xml(base, rows_xml(750_000, cells))
    assert len(data) < 1024 * 1024
    assert zipfile.ZipFile(io.BytesIO(data)).getinfo(SHEET).file_size > 50 * 1024 * 1024
    return data


FORM = shipped_questionnaires()["telecom_users"]
READERS = {
    "margins": (lambda data: read_table(data, "margins.xlsx"), MarginsError),
    "responses": (lambda data: read_responses(data, FORM), ResponseImportError),
    "assignments": (read_assignments, ValueError),
    "sampling frame": (lambda data: read_frame(read_workbook(data, what="sampling frame")), WorkbookError),
}


@pytest.mark.parametrize("reader", READERS)
def test_a_decompression_bomb_is_refused_at_once_by_every_reader(bomb, reader):
    read, error = READERS[reader]
    started = time.perf_counter()
    with pytest.raises(error, match=r"unpacks to \d+ MB, \d+ times its packed size.*zip bomb"):
        read(bomb)
    assert time.perf_counter() - started < 5


def test_a_normal_workbook_still_reads_and_keeps_its_text():
    table = pd.DataFrame({"区县": ["崇川区", "海门区"], "社区编码": ["001", "002"], "户数": [1200, 800]})
    frame = read_frame(read_workbook(workbook(table), what="sampling frame"))
    assert frame.index.tolist() == [2, 3]
    assert frame["社区编码"].tolist() == ["001", "002"]  # text: leading zeros kept
    typed = read_workbook(workbook(table), dtype="object")
    assert typed["户数"].tolist() == [1200, 800]
    margins = read_table(workbook(pd.DataFrame({"variable": ["sex"], "category": ["1"], "population": [""]})),
                         "m.xlsx")
    assert margins["population"].tolist() == [""]  # keep_default_na=False passed through


def test_the_parse_uses_the_worker_not_the_server_process(rng):
    # Another user's page needs this process's interpreter; a parse in here would hold it.
    n = 20_000
    table = pd.DataFrame({"id": [f"{i:016x}" for i in rng.integers(0, 2**62, n)],
                          "q1": rng.integers(1, 6, n), "q2": rng.integers(1, 6, n)})
    data = workbook(table)
    before = resource.getrusage(resource.RUSAGE_SELF)
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    read = read_workbook(data, dtype="object")
    after = resource.getrusage(resource.RUSAGE_SELF)
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert len(read) == n
    own = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    worker = (children_after.ru_utime + children_after.ru_stime) - (children_before.ru_utime + children_before.ru_stime)
    assert worker > 1.0 and own < 0.3 * worker, (own, worker)


def test_a_slow_parse_is_stopped_by_the_time_limit(rng):
    data = workbook(pd.DataFrame({"q": rng.integers(1, 6, 20_000)}))
    started = time.perf_counter()
    with pytest.raises(WorkbookError, match=r"could not be read within 0\.5 s"):
        read_workbook(data, limits=WorkbookLimits(seconds=0.5))
    assert time.perf_counter() - started < 3


def test_a_parse_over_the_memory_limit_is_stopped():
    data = workbook(pd.DataFrame({"q": [1, 2]}))
    with pytest.raises(WorkbookError, match="could not be read within .* and 60 MB"):
        read_workbook(data, limits=WorkbookLimits(memory_mb=60))


def test_rows_columns_and_total_size_are_capped():
    data = workbook(pd.DataFrame({f"c{i}": range(5) for i in range(4)}))
    with pytest.raises(WorkbookError, match="more than 3 rows"):
        read_workbook(data, limits=WorkbookLimits(rows=3))
    with pytest.raises(WorkbookError, match="4 columns; at most 2"):
        read_workbook(data, limits=WorkbookLimits(columns=2))
    with pytest.raises(WorkbookError, match=r"unpacks to 0 MB; workbooks up to 0\.001 MB"):
        read_workbook(data, limits=WorkbookLimits(unpacked_mb=0.001))


def test_a_file_that_is_not_a_workbook_is_named_in_the_message():
    with pytest.raises(WorkbookError, match="the frame 'f.xlsx' is not a readable Excel workbook"):
        read_workbook(b"PK\x03\x04 broken", what="frame", filename="f.xlsx")
    with pytest.raises(WorkbookError, match="not a readable Excel workbook"):
        read_workbook(b"a,b\n1,2\n")
    with pytest.raises(SamplingError, match="is an Excel workbook"):
        read_frame(b"PK\x03\x04", filename="f.xlsx")


def test_the_questionnaire_upload_refuses_a_bomb_before_parsing(accounts, bomb):
    at = open_page(accounts, "chief", "pages/questionnaires_admin.py", lang="en")
    at.file_uploader[0].set_value(("form.xlsx", bomb, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
    started = time.perf_counter()
    clean(at.run())
    assert time.perf_counter() - started < 5
    assert [e.value for e in at.error] == [t("questionnaires_admin.invalid_form", "en")]
    assert any("zip bomb" in c.value for c in at.caption)
