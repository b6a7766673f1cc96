"""One rule for percentages: the function, its use on the pages, in the charts and the workbook,
and no other way of formatting a percentage left in ``survey_app``."""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from survey_app.formatting import (
    EXCEL_PERCENT,
    EXCEL_POINTS,
    STREAMLIT_PERCENT,
    VEGA_PERCENT,
    FormattingError,
    format_percent,
    format_points,
    percent_table,
)
from survey_app.wording import distance_text, format_value, reasons_text

PACKAGE = Path(__file__).resolve().parents[2] / "survey_app"


@pytest.mark.parametrize(("value", "shown"), [
    (0.85321, "85.3%"), (0.8, "80.0%"), (0.0432, "4.3%"), (0.1532, "15.3%"), (0.21, "21.0%"), (1, "100.0%"),
    (0, "0.0%"), (0.99951, "100.0%"), (np.float64(0.5), "50.0%"), (None, "—"), (math.nan, "—"), (pd.NA, "—"),
])
def test_format_percent_one_decimal(value, shown):
    assert format_percent(value) == shown


def test_format_percent_of_a_round_setting_and_errors():
    assert format_percent(0.95, decimals=0) == "95%"
    assert format_percent(None, missing="n/a") == "n/a"
    with pytest.raises(FormattingError, match="decimals must be a whole number from 0 to 6, got 1.5"):
        format_percent(0.5, decimals=1.5)
    with pytest.raises(FormattingError, match=r"value must be a number .* got '85%'"):
        format_percent("85%")


def test_format_points_in_both_languages():
    assert format_points(0.021, "en") == "+2.1 percentage points"
    assert format_points(-0.0214, "zh") == "-2.1 个百分点"
    assert format_points(-0.0214, "zh", signed=False) == "2.1 个百分点"
    assert format_points(math.nan, "zh") == "—"


def test_number_formats_follow_the_same_rule():
    assert EXCEL_PERCENT == "0.0%" and VEGA_PERCENT == ".1%" and STREAMLIT_PERCENT == "%.1f%%"
    assert EXCEL_POINTS.split(";")[0] == "+0.0"


def test_percent_table_shows_the_rule_and_keeps_the_numbers():
    frame = pd.DataFrame({"answer": ["yes", "no"], "share": [0.1532, 0.8468], "n": [10, 20]})
    styled = percent_table(frame, ["share"])
    html = styled.to_html()
    assert "15.3%" in html and "84.7%" in html and "15.32%" not in html
    pd.testing.assert_frame_equal(styled.data, frame)  # sorting still by the numbers
    with pytest.raises(FormattingError, match="not in the table"):
        percent_table(frame, ["estimate"])


def test_words_on_the_results_pages_use_the_rule():
    assert format_value(0.0432, "proportion", "zh") == "4.3%"
    row = pd.Series({"estimate": 0.8734, "threshold": 0.85, "statistic": "proportion", "distance_se": 1.23})
    assert "2.3 个百分点" in distance_text(row, "zh") and "2.3 percentage points" in distance_text(row, "en")
    assert "38.2%" in reasons_text([("relative ci width", 0.3821)], "en")


# -- no other percentage formatting in the package -------------------------------------------------------

# A percentage made by hand: Python's percent format specs (f"{x:.1%}", format(x, ".0%")), Streamlit's
# "percent" preset (two decimals), printf percent formats, Excel percent formats and d3 value formats.
HAND_MADE = re.compile(
    r"""\{[^{}]*:[^{}]*%\}"""              # f"{x:.1%}"
    r"""|["']\.\d%["']"""                  # ".1%" (Python format() or d3)
    r"""|format\s*=\s*["']percent["']"""   # st.column_config.NumberColumn(format="percent")
    r"""|%\.\d+f%%"""                      # "%.1f%%"
    r"""|["']0(\.0+)?%["']"""              # Excel "0.0%"
    r"""|:\s*\.\d+f\}\s*%"""               # f"{100 * x:.1f}%"
)


def test_no_percentage_is_formatted_outside_the_rule():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "formatting.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if HAND_MADE.search(line):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{number}: {line.strip()}")
    assert not found, "format percentages with survey_app.formatting:\n" + "\n".join(found)


def test_the_pattern_finds_the_ways_percentages_were_formatted():
    for line in ['f"{value:.1%}"', "level=f\"{row['level']:.0%}\"", 'format="percent"', 'format=".1%"',
                 '_PERCENT_SE = "0.00%"', 'format="%.0f%%"', 'f"{100 * share:.1f}%"']:
        assert HAND_MADE.search(line), line
    for line in ['format="%.1f"', 'f"{seconds:.1f} s"', '"{percent}%"', 'f"{n:,}"']:
        assert not HAND_MADE.search(line), line


def test_frequency_table_on_the_page_shows_the_rule(demo_url, monkeypatch):
    """What the page sends to the browser's table: the shown text of every share and limit."""
    import pyarrow as pa

    from survey_app.i18n import t
    from tests.survey_app.test_frequencies import open_page

    at = open_page(demo_url, monkeypatch)
    table = at.dataframe[0]
    shown = pa.ipc.open_stream(table.proto.arrow_data.styler.display_values).read_all().to_pandas()
    for column in (t("frequencies.share", "en"), "CI –", "CI +"):
        assert list(shown[column]) == [format_percent(v) for v in table.value[column]], column
        assert all(re.fullmatch(r"\d{1,3}\.\d%", text) for text in shown[column]), column
