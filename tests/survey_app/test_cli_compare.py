"""Issue 15: ``survey-toolkit compare`` writes the change table between two waves, and
``survey-toolkit report`` gains the change and district comparison sheets when there are two waves."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from survey_app.change import wave_changes
from survey_app.cli import main
from survey_app.reporting import with_stored_design_weights
from survey_app.store import ResponseStore
from tests.survey_app.test_excel_report import sheet_frame

COLUMNS = ["target", "domain", "wave_a", "estimate_a", "wave_b", "estimate_b", "difference", "se", "ci_low",
           "ci_high", "p_value", "significant"]


def test_compare_writes_the_change_table_as_csv_and_xlsx(demo_url, tmp_path, capsys):
    out = tmp_path / "change.csv"
    assert main(["compare", "--db", demo_url, "--waves", "2025", "2026", "--domains", "district", "sex",
                 "--level", "0.9", "--out", str(out)]) == 0
    line = capsys.readouterr().out
    assert line.startswith(f"wrote {out}: ") and "waves 2025 -> 2026" in line
    table = pd.read_csv(out, encoding="utf-8-sig", dtype={"wave_a": str, "wave_b": str})
    assert set(COLUMNS) <= set(table.columns)
    assert set(table["domain_variable"]) == {"overall", "district", "sex"}
    frame = with_stored_design_weights(ResponseStore(demo_url).responses_frame(status="submitted"), url=demo_url)
    from survey_app.reporting import ReportSettings

    expected = wave_changes(frame, waves=["2025", "2026"], settings=ReportSettings(level=0.9),
                            domains=("district", "sex"))
    np.testing.assert_allclose(table["difference"], expected["difference"], rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(table["ci_low"], expected["ci_low"], rtol=1e-12, equal_nan=True)
    assert (table["status"] == expected["status"]).all()
    xlsx = tmp_path / "change.xlsx"
    assert main(["compare", "--db", demo_url, "--waves", "2025", "2026", "--domains", "--out", str(xlsx)]) == 0
    sheet = load_workbook(xlsx, read_only=True)["change"]
    header = next(sheet.iter_rows(values_only=True))
    assert set(COLUMNS) <= set(header)
    assert sum(1 for _ in sheet.iter_rows()) == 1 + 11   # the city-wide row of every target


@pytest.mark.parametrize("arguments, words", [
    (["--waves", "2025", "2030"], "--waves: 2030 not stored; waves stored: 2025, 2026"),
    (["--waves", "2026"], "--waves 2026: give two different waves, the earlier first; waves stored: 2025, 2026"),
    (["--waves", "2025", "2026", "--domains", "region"],
     "--domains: region not usable (name each once); domain variables in the data: district, sex, age_group, "
     "urban_rural"),
    (["--waves", "2025", "2026", "--level", "1.5"], "argument --level: 1.5 is not between 0 and 1"),
])
def test_bad_input_is_one_clear_error_and_nothing_written(demo_url, tmp_path, capsys, arguments, words):
    out = tmp_path / "change.csv"
    assert main(["compare", "--db", demo_url, *arguments, "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert words in error and "Traceback" not in error
    assert not out.exists() and not list(tmp_path.iterdir())


def test_a_single_stored_wave_is_refused(tmp_path, demo_url, capsys):
    import shutil

    single = tmp_path / "single.db"
    shutil.copy(demo_url.removeprefix("sqlite:///"), single)
    store = ResponseStore(f"sqlite:///{single}")
    with store._engine.begin() as conn:   # keep the first wave only
        from sqlalchemy import text

        conn.execute(text("DELETE FROM interviews WHERE wave = '2026'"))
    store.close()
    out = tmp_path / "change.csv"
    assert main(["compare", "--db", f"sqlite:///{single}", "--waves", "2025", "2026", "--out", str(out)]) == 2
    assert "--waves: 2026 not stored; waves stored: 2025" in capsys.readouterr().err
    assert not out.exists()


def test_report_has_the_change_and_district_sheets_with_two_waves(demo_url, tmp_path, capsys):
    out = tmp_path / "report.xlsx"
    assert main(["report", "--db", demo_url, "--out", str(out)]) == 0
    workbook = load_workbook(out, read_only=True)
    assert "变化 Change" in workbook.sheetnames and "区县比较 District comparison" in workbook.sheetnames
    summary = [row[0] for row in workbook["汇总 Summary"].iter_rows(max_col=1, max_row=6, values_only=True)]
    line = next(text for text in summary if text and "Since wave 2025" in text)
    assert "rose significantly" in line and "与上一轮（2025）相比" in line
    change = sheet_frame(load_workbook(out)["变化 Change"], "目标 Target")
    assert {"上一轮 Previous wave", "本轮 This wave", "变化 Change", "显著 Significant"} <= set(change.columns)
    assert "未比较 not compared" in set(change["显著 Significant"])   # small districts say why instead
    first = tmp_path / "first.xlsx"
    assert main(["report", "--db", demo_url, "--wave", "2025", "--out", str(first)]) == 0
    sheets = load_workbook(first, read_only=True).sheetnames
    assert "变化 Change" not in sheets and "区县比较 District comparison" in sheets   # no wave before 2025
