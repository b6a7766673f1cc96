"""The plan's whole scoreboard: every target listed and grouped, values from surveys, inspections and
figures, "no data yet" where none; its pages and its workbook sheet."""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from analysis.targets import load_index_targets, load_plan_targets, load_targets
from survey_app.admin_figures import FiguresStore, set_figure
from survey_app.excel import write_report
from survey_app.i18n import t
from survey_app.inspections import InspectionStore, import_inspections
from survey_app.reporting import report_from_store
from survey_app.scoreboard import PLAN_PARTS, SCOREBOARD_COLUMNS, build_scoreboard, scoreboard_from_store
from survey_app.store import ResponseStore
from tests.survey_app.review_helpers import clean, make_interviews, open_page, stored, texts

HEADER = "sample_id,category,district,date,result,failed_item\n"


def numeric_targets() -> int:
    """Survey, index (those with a threshold), inspection and register targets of the targets file."""
    indices = sum(target.threshold is not None for target in load_index_targets())
    return len(load_targets()) + indices + len(load_plan_targets())


def inspections(n: int = 80, failures: int = 0) -> bytes:
    rows = [f"F{i:03d},food,chongchuan,2026-04-{1 + i % 28:02d},{'fail' if i < failures else 'pass'},"
            for i in range(n)]
    return (HEADER + "\n".join(rows) + "\n").encode()


def test_an_empty_database_lists_every_target_with_no_data(db_url):
    board = scoreboard_from_store(db_url)
    table = board.to_frame()
    assert list(table.columns) == list(SCOREBOARD_COLUMNS)
    assert len(table) == numeric_targets()
    assert set(table["verdict"]) == {"no data"} and table["value"].isna().all()
    assert set(table["source"]) == {"survey", "inspection", "register"}
    # grouped as the plan: main targets first, then the three task groups in order
    assert list(dict.fromkeys(table["group_zh"])) == [zh for _, zh, _ in PLAN_PARTS]
    sections = table["section"].tolist()
    tasks = [int(s.split("）")[1].split(".")[0]) for s in sections if s.startswith("三")]
    assert tasks == sorted(tasks)
    main = table[table["group"] == 0]
    # the plan's paragraphs: safety (85% satisfaction), quality (pass rates), coverage (participation)
    assert main["target"].iloc[0] == "consumer_environment_satisfaction"
    assert main["target"].iloc[1:5].tolist() == ["consumer_product_pass_rate", "food_sampling_pass_rate",
                                                 "agricultural_product_pass_rate", "aquatic_product_pass_rate"]
    assert "no data yet" in board.summary()
    indices = [target.id for target in load_index_targets() if target.threshold is not None]
    listed = table.set_index("target")
    assert all(listed.loc[i, "measure"] == "index" and listed.loc[i, "source"] == "survey" for i in indices)


def test_values_from_inspections_figures_and_the_survey(db_url, rng):
    import_inspections(InspectionStore(db_url), inspections(80), "food.csv", actor="chief")
    figures = FiguresStore(db_url)
    set_figure(figures, "abnormal_business_rate", numerator=14, denominator=100, as_of=date(2026, 6, 30),
               source="公示系统", actor="chief")
    store = ResponseStore(db_url)
    stored(store, make_interviews("consumer_environment", rng, per_psu=5))
    tables = report_from_store(store)
    table = tables.scoreboard.set_index("target")
    food = table.loc["food_sampling_pass_rate"]
    # 80 of 80 passed: the exact lower limit 0.025^(1/80) = 95.5%, at or above 95%: met
    assert food["verdict"] == "met" and food["ci_low"] == pytest.approx(0.025 ** (1 / 80))
    assert (food["source"], food["n"], food["failed"], food["method"]) == ("inspection", 80, 0, "exact")
    assert food["date"] == date(2026, 4, 28)
    abnormal = table.loc["abnormal_business_rate"]
    assert (abnormal["verdict"], abnormal["value"], abnormal["direction"]) == ("not met", 0.14, "<")
    assert np.isnan(abnormal["ci_low"]) and "公示系统" in abnormal["detail"]
    satisfaction = table.loc["consumer_environment_satisfaction"]
    overview = tables.overview.loc["consumer_environment_satisfaction"]
    assert satisfaction["value"] == overview["estimate"] and satisfaction["verdict"] == overview["verdict"]
    assert table.loc["gas_satisfaction", "verdict"] == "no data"  # no interviews of that survey
    # the workbook's sheet
    path = db_url.replace("sqlite:///", "").replace("survey.db", "report.xlsx")
    write_report(tables, path)
    workbook = load_workbook(path)
    assert workbook.sheetnames[2] == "计分板 Scoreboard"
    rows = list(workbook["计分板 Scoreboard"].iter_rows(values_only=True))
    header = next(i for i, row in enumerate(rows) if row[0] == "目标 Target")
    body = {row[0]: row for row in rows[header + 1:]}
    assert len(body) == len(table)
    assert body["food_sampling_pass_rate"][9] == "达标 met"
    assert body["abnormal_business_rate"][3] == "行政数据 administrative figure"
    assert body["iodised_salt_pass_rate"][9] == "无数据 no data"


def test_an_inconclusive_pass_rate_says_how_many_more_samples(db_url):
    board = build_scoreboard(inspections=pd.DataFrame({
        "sample_id": [f"S{i}" for i in range(30)], "category": "iodised_salt", "district": "haimen",
        "sampled_on": date(2026, 5, 1), "passed": True, "failed_item": None, "stratum": None, "weight": np.nan}))
    row = board.to_frame().set_index("target").loc["iodised_salt_pass_rate"]
    assert row["verdict"] == "inconclusive" and row["further"] == 72 - 30  # (0.025)^(1/72) >= 0.95


def test_the_scoreboard_page_shows_every_target(accounts, db_url):
    import_inspections(InspectionStore(db_url), inspections(20, failures=5), "food.csv", actor="chief")
    at = open_page(accounts, "S01", "pages/scoreboard.py")
    assert not at.error, texts(at, "error")
    assert t("scoreboard.title", "zh") in texts(at, "header")
    frames = [element.value for element in at.dataframe]
    assert len(frames) == len(PLAN_PARTS)
    shown = pd.concat(frames)
    assert len(shown) == numeric_targets()
    food = shown[shown[t("scoreboard.col_target", "zh")] == "食品抽检合格率"].iloc[0]
    # 15 of 20 passed: the exact upper limit is 91.3%, below 95%
    assert food[t("scoreboard.col_verdict", "zh")] == t("scoreboard.verdict_not_met", "zh")
    assert food[t("scoreboard.col_note", "zh")].startswith("5/20 件不合格")
    assert (shown[t("scoreboard.col_value", "zh")] == t("scoreboard.no_data", "zh")).sum() == len(shown) - 1
    assert [m.value for m in at.metric] == ["0", "1", "0", str(len(shown) - 1)]


def test_the_inspections_page_refuses_a_damaged_file_row_by_row(accounts, db_url):
    at = open_page(accounts, "chief", "pages/inspections.py")
    damaged = inspections(5).decode().replace("F002,food", "F002,toys").encode()
    at.file_uploader[0].set_value(("bad.csv", damaged, "text/csv"))
    clean(at.run())
    clean(at.button(key="inspections_run").click().run())
    assert texts(at, "error") == [t("inspections.rejected", "zh", problems=1, rows=1)]
    problems = at.dataframe[0].value
    assert problems.iloc[0].tolist()[:3] == [4, "category", "toys"]
    assert InspectionStore(db_url).records().empty
    # the clean file is stored, and the pass rates appear
    at.file_uploader[0].set_value(("good.csv", inspections(5), "text/csv"))
    clean(at.run())
    clean(at.button(key="inspections_run").click().run())
    assert texts(at, "success") == [t("inspections.stored", "zh", stored=5)]
    assert len(InspectionStore(db_url).records()) == 5


def test_the_inspections_page_enters_a_figure(accounts, db_url):
    at = open_page(accounts, "chief", "pages/inspections.py")
    at.selectbox(key="inspections_figure_target").set_value("ecommerce_model_units")
    clean(at.run())
    at.number_input(key="inspections_count").set_value(12)
    at.text_input(key="inspections_source").input("市工商局 示范单位名单")
    form_button = next(b for b in at.button if b.label == t("inspections.save_figure", "zh"))
    clean(form_button.click().run())
    assert not at.error, texts(at, "error")
    assert texts(at, "success") and "达标" in texts(at, "success")[0]
    assert FiguresStore(db_url).latest()["ecommerce_model_units"].value == 12


def test_only_the_allowed_roles_see_the_pages(accounts):
    at = open_page(accounts, "A01", "pages/inspections.py", direct=True)
    assert at.error and not at.dataframe
    at = open_page(accounts, "S01", "pages/inspections.py", direct=True)
    assert at.error
    at = open_page(accounts, "A01", "pages/scoreboard.py", direct=True)
    assert at.error and not at.dataframe


def test_the_scoreboard_alone_is_a_workbook(db_url, tmp_path):
    from datetime import datetime, timezone

    from survey_app.excel import SCOREBOARD_SHEET, write_scoreboard

    set_figure(FiguresStore(db_url), "ecommerce_model_units", count=12, as_of=date(2026, 6, 30), source="名单",
               actor="chief")
    board = scoreboard_from_store(db_url).to_frame()
    path = tmp_path / "scoreboard.xlsx"
    write_scoreboard(board, path, extracted_at=datetime(2026, 7, 1, tzinfo=timezone.utc), demonstration=True)
    workbook = load_workbook(path)
    assert workbook.sheetnames == [SCOREBOARD_SHEET]
    rows = list(workbook[SCOREBOARD_SHEET].iter_rows(values_only=True))
    assert rows[0][0].startswith("【演示数据 DEMONSTRATION")
    body = {row[0]: row for row in rows[next(i for i, r in enumerate(rows) if r[0] == "目标 Target") + 1:]}
    assert body["ecommerce_model_units"][6] == 12 and body["ecommerce_model_units"][9] == "达标 met"
    assert body["ecommerce_model_units"][7] is None  # no interval for an administrative figure


def test_an_index_target_with_a_threshold_takes_the_reports_index_row():
    target = next(t for t in load_index_targets() if t.threshold is not None)
    indices = pd.DataFrame([
        {"index": target.id, "row": "index", "component": "index", "estimate": 82.0, "ci_low": 80.5,
         "ci_high": 83.5, "verdict": "met", "n": 300, "method": "pls"},
        {"index": target.id, "row": "component", "component": "overall", "estimate": 70.0, "ci_low": 60.0,
         "ci_high": 75.0, "verdict": "", "n": 300, "method": "pls"},
    ])
    row = build_scoreboard(indices=indices, survey_date=date(2026, 7, 1)).to_frame().set_index("target").loc[target.id]
    assert (row["value"], row["ci_low"], row["verdict"], row["date"]) == (82.0, 80.5, "met", date(2026, 7, 1))


def test_a_survey_target_of_too_few_respondents_is_words_not_numbers(accounts, db_url):
    from tests.survey_app.test_results_chinese import few_interviews

    few_interviews(db_url, 2)
    at = open_page(accounts, "S01", "pages/scoreboard.py")
    assert not at.error, texts(at, "error")
    shown = pd.concat([element.value for element in at.dataframe])
    too_few = shown[shown[t("scoreboard.col_value", "zh")] == t("estimates.too_few_badge", "zh")]
    assert len(too_few) >= 1
    assert (too_few[t("scoreboard.col_interval", "zh")] == "—").all()
    assert (too_few[t("scoreboard.col_verdict", "zh")] == "").all()


def test_the_pages_in_english(accounts, db_url):
    import_inspections(InspectionStore(db_url), inspections(20), "food.csv", actor="chief")
    at = open_page(accounts, "chief", "pages/scoreboard.py", lang="en")
    assert not at.error and t("scoreboard.title", "en") in texts(at, "header")
    shown = pd.concat([element.value for element in at.dataframe])
    assert "Food sampling pass rate" in set(shown[t("scoreboard.col_target", "en")])
    assert set(shown[t("scoreboard.col_source", "en")]) == {"Survey", "Inspection", "Administrative figure"}
    at = open_page(accounts, "chief", "pages/inspections.py", lang="en")
    assert not at.error and t("inspections.title", "en") in texts(at, "header")
    rates = at.dataframe[0].value.set_index(t("inspections.col_target", "en"))
    assert rates.loc["Food sampling pass rate", t("inspections.col_rate", "en")] == "100.0%"
    assert rates.loc["Iodised salt pass rate", t("inspections.col_verdict", "en")] == "No data yet"
