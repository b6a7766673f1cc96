"""Every CSV and Excel file the app writes keeps text from running as a formula.

Payloads start with each character a spreadsheet treats as a formula (``= + - @``, tab, carriage
return). The downloads are taken from the running pages (``AppTest``): the quality page's check
CSV, with PSUs as an interviewer typed them, and the sample-design page's CSV and workbook,
with community names from an uploaded frame.
"""
from __future__ import annotations

import csv
import dataclasses
import io

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as hs
from streamlit.runtime.media_file_manager import MediaFileManager

from survey_app.cellsafe import FORMULA_PREFIXES, cell_text, csv_bytes, safe_table, xlsx_bytes
from survey_app.store import ResponseStore
from tests.survey_app.review_helpers import clean, make_interviews, open_page, stored
from tests.survey_app.test_planning import POPULATIONS, frame_csv
from tests.survey_app.test_planning import open_page as open_planning

PAYLOADS = ['=HYPERLINK("http://127.0.0.1:9/x","ok")', "+1+1", "-2+3", "@SUM(1,2)", "\t=1+1", "\r=1+1"]


def neutralised(text: str) -> bool:
    """The cell starts with the quote that keeps a payload as text."""
    return text.startswith("'") and text[1:].lstrip("\n")[:1] in ("=", "+", "-", "@", "\t")


@pytest.fixture
def downloads(monkeypatch) -> dict[str, bytes]:
    """File name -> bytes of every download button the pages draw."""
    seen: dict[str, bytes] = {}
    add = MediaFileManager.add

    def capture(self, path_or_data, mimetype, coordinates, file_name=None, is_for_static_download=False):
        if isinstance(path_or_data, bytes) and file_name:
            seen[file_name] = path_or_data
        return add(self, path_or_data, mimetype, coordinates, file_name, is_for_static_download)

    monkeypatch.setattr(MediaFileManager, "add", capture)
    return seen


def test_the_quality_check_csv_keeps_typed_psus_as_text(accounts, db_url, rng, downloads):
    interviews = make_interviews("consumer_environment", rng)
    typed = [dataclasses.replace(item, psu=PAYLOADS[i % len(PAYLOADS)]) for i, item in enumerate(interviews)]
    stored(ResponseStore(db_url), typed)
    at = open_page(accounts, "chief", "pages/review.py", lang="en")
    at.selectbox(key="review_questionnaire").set_value("consumer_environment")
    clean(at.run())
    data = downloads["quality_checks_consumer_environment.csv"]
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert "'" + PAYLOADS[0] in {row["psu"] for row in rows}
    assert all(neutralised(row["psu"]) for row in rows), [row["psu"] for row in rows[:6]]


def test_the_sample_design_downloads_keep_community_names_as_text(db_url, rng, downloads):
    frame = pd.read_csv(io.BytesIO(frame_csv(rng)), dtype=str)
    typed = PAYLOADS[:4]  # a tab or line break would end the field in the uploaded CSV itself
    frame["社区名称"] = [typed[i % len(typed)] for i in range(len(frame))]
    at = open_planning(populations=POPULATIONS)
    at.file_uploader(key="_plan_frame").upload("frame.csv", frame.to_csv(index=False).encode(), "text/csv").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    csv_file = next(data for name, data in downloads.items() if name.startswith("assignments_seed"))
    names = [row["psu_name"] for row in csv.DictReader(io.StringIO(csv_file.decode("utf-8-sig"), newline=""))]
    assert names and all(neutralised(name) for name in names), names[:6]

    book = openpyxl.load_workbook(io.BytesIO(next(data for name, data in downloads.items()
                                                  if name.startswith("sample_seed"))))
    cells = [cell for sheet in book for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]  # no formula anywhere
    header = [cell.value for cell in book["assignments"][1]]
    column = header.index("psu_name") + 1
    written = [book["assignments"].cell(row, column).value for row in range(2, book["assignments"].max_row + 1)]
    assert written and all(neutralised(value) for value in written), written[:6]


@given(text=hs.tuples(hs.sampled_from(FORMULA_PREFIXES + ("", "'", "中", "1")), hs.text(max_size=20)))
def test_cell_text_neutralises_every_formula_start(text):
    value = "".join(text)
    safe = cell_text(value)
    assert not safe.startswith(FORMULA_PREFIXES)
    assert safe == value or safe.startswith("'") or "\r" in value or any(ord(c) < 32 for c in value)


def test_tables_keep_numbers_and_quote_text_and_headers():
    table = pd.DataFrame({"=h": ["=1+1", "ok"], "n": [-5, 3], "x": [-1.5, np.nan], "mixed": ["@a", 7]})
    safe = safe_table(table)
    assert list(safe.columns) == ["'=h", "n", "x", "mixed"]
    assert safe["'=h"].tolist() == ["'=1+1", "ok"]
    assert safe["n"].tolist() == [-5, 3] and safe["x"].iloc[0] == -1.5
    assert safe["mixed"].tolist() == ["'@a", 7]
    assert csv_bytes(table).decode("utf-8-sig").splitlines()[1] == "'=1+1,-5,-1.5,'@a"
    book = openpyxl.load_workbook(io.BytesIO(xlsx_bytes({"t": table})))
    assert [c.value for c in book["t"][2]] == ["'=1+1", -5, -1.5, "'@a"]
    assert book["t"]["B2"].data_type == "n"
