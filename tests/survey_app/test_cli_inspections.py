"""``survey-toolkit inspections import|rates`` and ``survey-toolkit figures set|list``."""
from __future__ import annotations

import pytest

from survey_app.admin_figures import FiguresStore
from survey_app.cli import main
from survey_app.inspections import InspectionStore
from survey_app.store import ResponseStore

HEADER = "sample_id,category,district,date,result,failed_item\n"


@pytest.fixture
def url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'survey.db'}"
    ResponseStore(url).close()
    return url


def test_import_stores_a_clean_file_and_rates_print(url, tmp_path, capsys):
    path = tmp_path / "food.csv"
    path.write_text(HEADER + "".join(f"F{i},food,chongchuan,2026-02-0{1 + i % 9},pass,\n" for i in range(30)),
                    encoding="utf-8")
    assert main(["inspections", "import", "--db", url, str(path)]) == 0, capsys.readouterr().err
    assert "stored 30 inspection records from food.csv (food 30)" in capsys.readouterr().out
    assert main(["inspections", "rates", "--db", url, "--by", "period", "--period", "month"]) == 0
    out = capsys.readouterr().out
    # 30 of 30 passed: the lower limit 0.025^(1/30) = 88.4%; 72 samples would reach 95%, so 42 more
    assert ("food_sampling_pass_rate [all]: 100.00% [88.43%, 100.00%] 0/30 failed (exact); >= 95%: inconclusive, "
            "42 more samples would settle it if the rate held") in out
    assert "food_sampling_pass_rate [2026-02]" in out and "iodised_salt_pass_rate: no inspection records yet" in out


def test_import_refuses_a_damaged_file_with_rows_and_reasons(url, tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "F1,food,chongchuan,2026-02-01,pass,\nF2,toys,chongchuan,2026-02-01,pass,\n"
                    "F1,food,chongchuan,2026-02-01,unknown,\n", encoding="utf-8")
    assert main(["inspections", "import", "--db", url, str(path)]) == 2
    err = capsys.readouterr().err
    assert "row 3: category 'toys' is not an inspection category" in err
    assert "row 4: sample id 'F1' is given twice (also in row 2)" in err
    assert "row 4: result 'unknown' is neither pass nor fail" in err
    assert InspectionStore(url).records().empty


def test_figures_set_and_list(url, capsys):
    assert main(["figures", "set", "annual_report_disclosure_rate", "--db", url, "--numerator", "86",
                 "--denominator", "100", "--as-of", "2026-06-30", "--source", "企业信用信息公示系统"]) == 0
    assert "annual_report_disclosure_rate = 0.86 as of 2026-06-30" in capsys.readouterr().out
    assert main(["figures", "set", "annual_report_disclosure_rate", "--db", url, "--numerator", "84",
                 "--denominator", "100", "--as-of", "2026-09-30", "--source", "公示系统 三季度"]) == 0
    assert ": not met (target >= 0.85)" in capsys.readouterr().out
    assert main(["figures", "list", "--db", url]) == 0
    out = capsys.readouterr().out
    assert "annual_report_disclosure_rate (rate >= 0.85): 0.84 as of 2026-09-30: not met" in out
    assert "ecommerce_model_units (count >= 12): no data yet" in out
    assert main(["figures", "list", "--db", url, "--target", "annual_report_disclosure_rate"]) == 0
    out = capsys.readouterr().out
    assert "2 entries, newest first" in out and out.index("0.84") < out.index("0.86")
    assert len(FiguresStore(url).history()) == 2


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["figures", "set", "ecommerce_model_units", "--numerator", "1", "--denominator", "2", "--as-of",
          "2026-06-30", "--source", "x"], "is a count: give the count only"),
        (["figures", "set", "nonexistent", "--count", "1", "--as-of", "2026-06-30", "--source", "x"],
         "is not a register target"),
        (["figures", "set", "ecommerce_model_units", "--count", "1", "--as-of", "30/06/2026", "--source", "x"],
         "is not a date; write it as 2026-06-30"),
        (["figures", "list", "--target", "food_sampling_pass_rate"], "is not a register target"),
        (["inspections", "import", "{tmp}/missing.csv"], "cannot read"),
    ],
)
def test_bad_arguments_exit_2_with_the_fix(url, tmp_path, capsys, arguments, message):
    arguments = [a.replace("{tmp}", str(tmp_path)) for a in arguments]
    assert main([*arguments[:2], "--db", url, *arguments[2:]]) == 2
    assert message in capsys.readouterr().err
