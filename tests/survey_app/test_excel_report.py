"""The Excel satisfaction report: its numbers against analysis, its formats, and formula safety."""
from __future__ import annotations

import dataclasses
import io
import pickle
import re
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from analysis import OVERALL, SurveyDesign
from analysis.targets import load_targets, verdict_of
from questionnaires import load_districts, shipped_questionnaires
from survey_app.excel import FORMULA_PREFIXES, ExcelReportError, cell_text, sheet_name, write_report
from survey_app.reporting import (
    DOMAIN_VARIABLE_LABELS,
    DOMAIN_VARIABLES,
    ReportError,
    ReportSettings,
    build_report,
    report_from_store,
)
from survey_app.store import ResponseStore

FORMS = shipped_questionnaires()
DISTRICTS = [d.name for d in load_districts()]
# Unequal PSU sizes, so that no two PSUs of a district share a mean by construction.
PSU_SIZES = (4, 5, 7)
INJECTIONS = ("=1+1", "+SUM(A1:A9)", "-2+3", "@cmd", "\t=tab", "\r=cr", "=HYPERLINK(\"http://x\",\"y\")")
TEXTS = INJECTIONS + ("价格不透明，希望加强监管", "more markets please", "42")
SATISFACTION = ["1", "2", "3", "4", "5"]


def simulate_answers(form, district: str, rng: np.random.Generator) -> dict:
    """One respondent's answers, walking the questionnaire's skip logic."""
    answers: dict = {}
    for question in form.questions:
        if question.type == "note" or not form.is_relevant(question, answers):
            continue
        codes = [c.name for c in form.choices(question)] if question.list_name else []
        if question.name == "consent":
            value = "yes" if rng.random() < 0.95 else "no"
        elif question.name == "district":
            value = district
        elif question.name == "age":
            value = int(rng.integers(18, 90))
        elif question.name == "age_group":
            age = answers["age"]
            value = "18_34" if age < 35 else "35_49" if age < 50 else "50_64" if age < 65 else "65_plus"
        elif codes == SATISFACTION or question.list_name == "agreement5":
            value = str(rng.choice(SATISFACTION, p=[0.03, 0.05, 0.12, 0.4, 0.4]))
        elif question.type == "select_one":
            value = str(rng.choice(codes))
        elif question.type == "select_multiple":
            options = [c for c in codes if c != "none"]
            value = [str(c) for c in rng.choice(options, size=int(rng.integers(1, len(options) + 1)), replace=False)]
        elif question.type == "integer":
            value = int(np.clip(rng.normal(82, 10), 0, 100))
        elif question.type == "text":
            value = str(rng.choice(TEXTS)) if rng.random() < 0.3 else None
        else:
            value = None
        if value is not None:
            answers[question.name] = value
    return form.clean(answers)


def simulate_interviews(store: ResponseStore, rng: np.random.Generator, *, questionnaires=None,
                        psu_sizes: tuple[int, ...] = PSU_SIZES, wave: str = "2026") -> None:
    """Submitted interviews of every questionnaire: each district, PSUs of unequal size."""
    for qid in questionnaires or FORMS:
        form = FORMS[qid]
        for district in DISTRICTS:
            for p, size in enumerate(psu_sizes):
                for _ in range(size):
                    interview = store.start_interview(qid, form.version, interviewer="T01", district=district,
                                                      psu=f"{district}-{p}", wave=wave)
                    store.submit(interview, simulate_answers(form, district, rng))


_CACHE: dict[str, object] = {}


@pytest.fixture
def store(rng) -> ResponseStore:
    """An in-memory database of simulated interviews, built once per session (the rng is seeded)."""
    if "store" not in _CACHE:
        store = ResponseStore("sqlite:///:memory:")
        simulate_interviews(store, rng)
        _CACHE["store"] = store
    return _CACHE["store"]


@pytest.fixture
def tables(store):
    if "tables" not in _CACHE:
        _CACHE["tables"] = report_from_store(store)
    return _CACHE["tables"]


@pytest.fixture
def workbook(tables):
    if "workbook" not in _CACHE:  # the tests only read it
        buffer = io.BytesIO()
        write_report(tables, buffer)
        _CACHE["workbook"] = load_workbook(io.BytesIO(buffer.getvalue()))
    return _CACHE["workbook"]


def sheet_frame(ws, first_header: str) -> pd.DataFrame:
    """The table of a sheet whose header row starts with ``first_header`` in column A."""
    header_row = next(row[0].row for row in ws.iter_rows(max_col=1) if row[0].value == first_header)
    headers = [c.value for c in ws[header_row]]
    rows = []
    for row in ws.iter_rows(min_row=header_row + 1):
        if all(c.value is None for c in row):
            break
        rows.append([c.value for c in row])
    return pd.DataFrame(rows, columns=headers)


def respondents(store: ResponseStore, qid: str) -> pd.DataFrame:
    frame = store.responses_frame(qid)
    return frame.loc[frame["consent"] == "yes"].reset_index(drop=True)


def design_of(data: pd.DataFrame) -> SurveyDesign:
    return SurveyDesign(data, strata="sample_district", psu="psu", nest=True, lonely_psu="adjust")


# -- numbers -------------------------------------------------------------------------------------

def independent_estimates(store) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """Overall and by-district estimates of three targets, with indicators built here with pandas."""
    out = {}
    data = respondents(store, "consumer_environment")
    data["y"] = data["overall_satisfaction"].isin(["4", "5"]).astype(float).where(data["overall_satisfaction"].notna())
    d = design_of(data)
    out["consumer_environment_satisfaction"] = (d.proportion("y").to_frame(),
                                                 d.proportion("y", by="district").to_frame())
    data = respondents(store, "campaign_awareness")
    data["y"] = np.where(data["heard_campaign"] == "yes", data["campaign_agreement"].isin(["4", "5"]), np.nan)
    d = design_of(data)
    out["campaign_recognition"] = (d.proportion("y").to_frame(), d.proportion("y", by="district").to_frame())
    data = respondents(store, "tourist_satisfaction")
    d = design_of(data)
    out["tourist_satisfaction_index"] = (d.mean("tourist_score").to_frame(),
                                         d.mean("tourist_score", by="district").to_frame())
    return out


def test_summary_sheet_numbers_are_the_analysis_estimates(store, workbook):
    summary = sheet_frame(workbook["汇总 Summary"], "目标 Target").set_index("目标 Target")
    for target_id, (overall, _) in independent_estimates(store).items():
        row = overall.loc[OVERALL]
        assert summary.loc[target_id, "估计值 Estimate"] == pytest.approx(row["estimate"], rel=1e-12)
        assert summary.loc[target_id, "置信下限 CI low"] == pytest.approx(row["ci_low"], rel=1e-12)
        assert summary.loc[target_id, "置信上限 CI high"] == pytest.approx(row["ci_high"], rel=1e-12)
        assert summary.loc[target_id, "分母样本量 n"] == row["n"]
        threshold = summary.loc[target_id, "目标值 Threshold"]
        status = verdict_of(ci_low=row["ci_low"], ci_high=row["ci_high"], threshold=threshold)
        assert summary.loc[target_id, "判定 Verdict"].endswith(status)
    assert list(summary.index) == [t.id for t in load_targets()]


def test_target_and_district_sheets_hold_the_domain_estimates(store, workbook, tables):
    names = dict(zip(DISTRICTS, [d.label.zh for d in load_districts()]))
    by_district = sheet_frame(workbook["分区县判定 By district"], "目标 Target").set_index("目标 Target")
    for target_id, (overall, domains) in independent_estimates(store).items():
        sheet = workbook[next(n for n in workbook.sheetnames if n.endswith(target_id[:27]))]
        table = sheet_frame(sheet, "分组变量 Variable").set_index("分组")
        assert table.loc["全市", "估计值 Estimate"] == pytest.approx(overall.loc[OVERALL, "estimate"], rel=1e-12)
        for code, row in domains.iterrows():
            assert table.loc[names[code], "估计值 Estimate"] == pytest.approx(row["estimate"], rel=1e-12)
            assert table.loc[names[code], "置信下限 CI low"] == pytest.approx(row["ci_low"], rel=1e-12)
            assert table.loc[names[code], "自由度 df"] == row["df"]
            column = next(c for c in by_district.columns if c.startswith(names[code]))
            assert by_district.loc[target_id, column] == pytest.approx(row["estimate"], rel=1e-12)
        assert tables.domains[target_id].loc[OVERALL, "verdict"] == tables.overview.loc[target_id, "verdict"]


def test_target_sheet_shows_each_domain_variable_as_a_block(store):
    settings = ReportSettings(domains=DOMAIN_VARIABLES)
    tables = report_from_store(store, settings=settings)
    buffer = io.BytesIO()
    write_report(tables, buffer)
    workbook = load_workbook(io.BytesIO(buffer.getvalue()))
    target_id = "consumer_environment_satisfaction"
    sheet = workbook[next(n for n in workbook.sheetnames if n.endswith(target_id[:27]))]
    shown = sheet_frame(sheet, "分组变量 Variable")
    domains = tables.domains[target_id]
    assert set(domains["domain_variable"]) == {"overall", *DOMAIN_VARIABLES}
    labels = [" ".join(DOMAIN_VARIABLE_LABELS[v]) for v in domains["domain_variable"]]
    assert list(shown["分组变量 Variable"]) == labels and labels[0].startswith("全市")
    assert list(shown["Domain"]) == list(domains["domain_en"])
    estimates = shown["估计值 Estimate"].astype(float).to_numpy()
    assert np.allclose(estimates, domains["estimate"].to_numpy(), rtol=1e-12, equal_nan=True)
    # a line above the first row of each variable's block, none inside a block
    header = next(row[0].row for row in sheet.iter_rows(max_col=1) if row[0].value == "分组变量 Variable")
    firsts = [i for i in range(1, len(domains)) if domains["domain_variable"].iloc[i] != domains["domain_variable"].iloc[i - 1]]
    lined = [i for i in range(1, len(domains)) if sheet.cell(row=header + 1 + i, column=5).border.top.style == "thin"]
    assert lined == firsts and len(firsts) == len(DOMAIN_VARIABLES)
    assert sheet.freeze_panes == f"D{header + 1}"


def test_frequency_sheet_holds_the_weighted_frequencies(store, workbook):
    data = respondents(store, "consumer_environment")
    design = design_of(data)
    expected = design.frequencies("env_safety").to_frame()
    sheet = sheet_frame(workbook["频数 consumer_environment"], "题目 Question")
    rows = sheet.loc[sheet["题目 Question"] == "env_safety"].set_index("代码 Code")
    assert list(rows.index) == ["1", "2", "3", "4", "5"]
    for code, row in expected.iterrows():
        assert rows.loc[code, "比例/均值 Share or mean"] == pytest.approx(row["estimate"], rel=1e-12)
        assert rows.loc[code, "人数 Count"] == row["count"]
    assert rows["比例/均值 Share or mean"].sum() == pytest.approx(1.0)
    # a select_multiple option: the share of respondents choosing it, among those who answered
    channels = data["complaint_channels"].dropna()
    chosen = channels.str.split().map(lambda codes: "hotline_12315" in codes)
    multiple = sheet.loc[(sheet["题目 Question"] == "complaint_channels")].set_index("代码 Code")
    assert multiple.loc["hotline_12315", "人数 Count"] == chosen.sum()
    assert multiple.loc["hotline_12315", "回答人数 n"] == len(channels)


def test_weighting_rakes_to_the_margins(store):
    counts = {"sex": {"male": 3_900_000, "female": 3_800_000},
              "urban_rural": {"urban": 5_000_000, "rural": 2_700_000}}
    settings_ = ReportSettings(weighting="rake", margins=counts, calibrate=("consumer_environment",),
                               margins_source="test figures")
    tables = report_from_store(store, settings=settings_, targets=load_targets()[:1])
    data = respondents(store, "consumer_environment")
    data["y"] = data["overall_satisfaction"].isin(["4", "5"]).astype(float)
    raked = design_of(data).rake(counts).proportion("y").to_frame().loc[OVERALL]
    assert tables.overview.iloc[0]["estimate"] == pytest.approx(raked["estimate"], rel=1e-10)
    assert tables.overview.iloc[0]["ci_low"] == pytest.approx(raked["ci_low"], rel=1e-10)
    methods = dict(zip(tables.methods["item"], tables.methods["value"]))
    assert "raked to" in methods["加权调整 Weighting"] and methods["总体边际来源 Margins source"] == "test figures"
    assert "male = 3,900,000" in methods["总体边际 Margin: sex"]


def test_report_tables_pickle_for_the_dashboard_cache(tables):
    copy = pickle.loads(pickle.dumps(tables))
    pd.testing.assert_frame_equal(copy.overview, tables.overview)
    assert copy.summary() == tables.summary()
    assert "consumer_environment_satisfaction" in tables.summary()


def test_a_questionnaire_without_interviews_gives_no_data(store):
    frame = store.responses_frame()
    frame = frame.loc[frame["questionnaire_id"] == "salt_consumers"]
    targets = [t for t in load_targets() if t.questionnaire in ("salt_consumers", "telecom_users")]
    tables = build_report(frame, targets=targets)
    assert tables.overview.loc["telecom_user_satisfaction", "verdict"] == "no data"
    assert (tables.district_verdicts.loc["telecom_user_satisfaction"] == "no data").all()
    buffer = io.BytesIO()
    write_report(tables, buffer)
    assert buffer.getvalue()[:2] == b"PK"


def test_report_settings_reject_unknown_options():
    with pytest.raises(ReportError, match="ci_method='wald'.*logit, beta"):
        ReportSettings(ci_method="wald")
    with pytest.raises(ReportError, match="level=95"):
        ReportSettings(level=95)
    with pytest.raises(ReportError, match="weighting='calibrate'.*none, poststratify, rake"):
        ReportSettings(weighting="calibrate")
    with pytest.raises(ReportError, match="needs population margins"):
        ReportSettings(weighting="rake")
    with pytest.raises(ReportError, match="one variable"):
        ReportSettings(weighting="poststratify", margins={"sex": {"male": 1}, "urban_rural": {"urban": 1}})
    with pytest.raises(ReportError, match="positive"):
        ReportSettings(weighting="rake", margins={"sex": {"male": -1}})


def test_build_report_names_missing_columns():
    with pytest.raises(ReportError, match="psu"):
        build_report(pd.DataFrame({"questionnaire_id": ["telecom_users"], "interview_id": ["x"],
                                   "sample_district": ["haian"]}))


# -- workbook form --------------------------------------------------------------------------------

def test_sheet_names_are_valid_and_every_sheet_has_frozen_headers(workbook):
    names = workbook.sheetnames
    assert len({n.lower() for n in names}) == len(names)
    for name in names:
        assert 0 < len(name) <= 31 and not re.search(r"[\[\]:*?/\\]", name)
        assert workbook[name].freeze_panes is not None, name
    assert names[:2] == ["汇总 Summary", "分区县判定 By district"]
    assert {"方法说明 Methods", "数据字典 Data dictionary", "开放题 Text answers"} <= set(names)
    assert sum(n.startswith("T") and n[1:3].isdigit() for n in names) == len(load_targets())


def test_sheet_name_shortens_replaces_and_deduplicates():
    assert sheet_name("a/b:c*d?e[f]g\\h") == "a_b_c_d_e_f_g_h"
    first = sheet_name("x" * 40)
    assert len(first) == 31 and sheet_name("x" * 40, [first]) != first


def test_shares_are_numbers_in_percent_format_and_means_are_not(workbook):
    ws = workbook["汇总 Summary"]
    header_row = next(row[0].row for row in ws.iter_rows(max_col=1) if row[0].value == "目标 Target")
    headers = {c.value: c.column for c in ws[header_row]}
    for row in ws.iter_rows(min_row=header_row + 1):
        if row[0].value is None:
            break
        estimate = ws.cell(row=row[0].row, column=headers["估计值 Estimate"])
        assert isinstance(estimate.value, float) and estimate.data_type == "n"
        if row[0].value == "tourist_satisfaction_index":
            assert "%" not in estimate.number_format and estimate.value > 1
        else:
            assert estimate.number_format.endswith("%") and 0 <= estimate.value <= 1
        assert isinstance(ws.cell(row=row[0].row, column=headers["分母样本量 n"]).value, int)


def test_verdicts_are_colour_coded(workbook):
    ws = workbook["汇总 Summary"]
    colours = {}
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.value.endswith(("met", "inconclusive")) and cell.fill.fgColor.rgb:
                colours.setdefault(cell.value, set()).add(cell.fill.fgColor.rgb)
    assert colours and all(len(c) == 1 for c in colours.values())
    assert len({next(iter(c)) for c in colours.values()}) == len(colours)  # one colour per verdict


def test_chinese_text_is_intact(workbook):
    dictionary = sheet_frame(workbook["数据字典 Data dictionary"], "问卷 Questionnaire")
    for form in FORMS.values():
        rows = dictionary.loc[dictionary["问卷 Questionnaire"] == form.id]
        assert list(zip(rows["变量名 Name"], rows["题目"])) == [(q.name, q.label.zh) for q in form.questions]
    summary = sheet_frame(workbook["汇总 Summary"], "目标 Target")
    assert summary["指标"].tolist() == [t.label.zh for t in load_targets()]


def test_methods_sheet_records_how_the_numbers_were_made(workbook, tables):
    methods = sheet_frame(workbook["方法说明 Methods"], "项目 Item").set_index("项目 Item")["说明 Value"]
    assert methods["数据提取时间 Data extracted (UTC)"] == f"{tables.extracted_at:%Y-%m-%d %H:%M:%S}"
    assert "0.95 level; proportions: logit" in methods["置信区间 Confidence intervals"]
    assert "openpyxl" in methods["统计软件 Software"] and "survey-toolkit" in methods["统计软件 Software"]
    assert "strata = sample_district" in methods["样本设计 Design"]
    assert methods["基础权重 Base weights"].startswith("1 per interview")
    assert "NCHS" in methods["可靠性 Reliability"]


# -- formula safety -------------------------------------------------------------------------------

def test_no_cell_holds_a_formula_and_answers_are_escaped(workbook, tables):
    for ws in workbook.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
    answers = sheet_frame(workbook["开放题 Text answers"], "问卷 Questionnaire")["回答 Answer"]
    written = set(answers)
    for text in INJECTIONS:
        if text in set(tables.text_answers["answer"]):
            assert "'" + text.replace("\r", "\n") in written and text not in written
    assert "42" not in written or isinstance(answers[answers == "42"].iloc[0], str)  # text stays text


@pytest.fixture
def small_tables(store):
    """The report of one target, so that a workbook is written in a fraction of a second."""
    if "small" not in _CACHE:
        frame = store.responses_frame("salt_consumers")
        targets = [t for t in load_targets() if t.questionnaire == "salt_consumers"]
        _CACHE["small"] = build_report(frame, targets=targets)
    return _CACHE["small"]


def written_answers(tables, texts: list[str]) -> list:
    frame = pd.DataFrame({"questionnaire": "salt_consumers", "question": "suggestions", "label_zh": "意见",
                          "interview_id": [f"i{i}" for i in range(len(texts))], "district": "haian", "answer": texts})
    buffer = io.BytesIO()
    write_report(dataclasses.replace(tables, text_answers=frame), buffer)
    ws = load_workbook(io.BytesIO(buffer.getvalue()))["开放题 Text answers"]
    cells = [row[5] for row in ws.iter_rows(min_row=4, max_row=3 + len(texts))]
    assert all(c.data_type == "s" for c in cells)
    return [c.value for c in cells]


XML_TEXT = st.characters(exclude_categories=("Cs",), exclude_characters="".join(
    chr(c) for c in [*range(0, 9), 11, 12, *range(14, 32)]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.tuples(st.sampled_from(FORMULA_PREFIXES + ("", "'", "中")),
                                st.text(XML_TEXT, min_size=1, max_size=40)).map("".join),
                      min_size=1, max_size=8))
def test_random_answers_never_become_formulas_and_keep_their_text(small_tables, texts):
    for text, value in zip(texts, written_answers(small_tables, texts)):
        lines = text.replace("\r\n", "\n").replace("\r", "\n")  # xlsx (XML) keeps line feeds only
        if text.startswith(FORMULA_PREFIXES):
            assert value == "'" + lines
        else:
            assert value == lines


def test_control_characters_excel_cannot_store_are_replaced(small_tables):
    assert written_answers(small_tables, ["a\x00b\x1fc", "=\x07", "\r\n-x"]) == ["a\ufffdb\ufffdc", "'=\ufffd",
                                                                                  "'\n-x"]
    assert cell_text("x" * 40000) == "x" * 32767


def test_long_answers_wrap_in_taller_rows_and_one_line_rows_stay_plain(small_tables):
    """Neither Excel nor LibreOffice grows a row on opening, so the writer sizes wrapped rows itself."""
    frame = pd.DataFrame({"questionnaire": "salt_consumers", "question": "suggestions", "label_zh": "意见",
                          "interview_id": ["i1", "i2", "i3"], "district": "haian",
                          "answer": ["好", "第一行\n第二行\n第三行", "x" * 500]})
    buffer = io.BytesIO()
    write_report(dataclasses.replace(small_tables, text_answers=frame), buffer)
    ws = load_workbook(io.BytesIO(buffer.getvalue()))["开放题 Text answers"]
    assert ws["A3"].value == "问卷 Questionnaire" and ws["A3"].alignment.wrap_text and ws["A3"].font.b
    assert ws.column_dimensions["F"].width == 70  # the sheet's widest column, reached by the long answer
    short, three_lines, long = (ws.cell(row=4 + i, column=6) for i in range(3))
    assert ws.row_dimensions[4].height is None and not short.has_style
    assert ws.row_dimensions[5].height == 16 * 3 + 2 and three_lines.alignment.wrap_text
    # 500 characters in a column of 70 (69 usable): 8 lines; the other cells of the row align to the top
    assert ws.row_dimensions[6].height == 16 * 8 + 2 and long.alignment.wrap_text
    assert ws.cell(row=6, column=1).alignment.vertical == "top" and not ws.cell(row=6, column=1).alignment.wrap_text
    assert ws.freeze_panes == "A4"


def test_write_report_to_a_path_and_to_a_missing_directory(small_tables, tmp_path: Path):
    path = tmp_path / "report.xlsx"
    write_report(small_tables, path)
    assert load_workbook(path).sheetnames[0] == "汇总 Summary"
    with pytest.raises(ExcelReportError, match="directory exists"):
        write_report(small_tables, tmp_path / "missing" / "report.xlsx")
    with pytest.raises(ExcelReportError, match="ReportTables"):
        write_report(small_tables.overview, io.BytesIO())


def test_target_sheet_without_domain_variables_lists_the_domains(small_tables):
    domains = {target: table.drop(columns=["domain_variable", "domain_code"])
               for target, table in small_tables.domains.items()}
    buffer = io.BytesIO()
    write_report(dataclasses.replace(small_tables, domains=domains), buffer)
    workbook = load_workbook(io.BytesIO(buffer.getvalue()))
    (target_id, table), = domains.items()
    sheet = workbook[next(n for n in workbook.sheetnames if n.endswith(target_id[:27]))]
    shown = sheet_frame(sheet, "分组")
    assert list(shown.columns[:2]) == ["分组", "Domain"] and list(shown["分组"]) == list(table["domain_zh"])
    assert sheet.freeze_panes.startswith("C")


# -- demonstration data are labelled (issue 13) ------------------------------------------------


def demo_and_real_frames(tmp_path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The same synthetic interviews with the demo's interviewer codes, and with real ones."""
    from survey_app.demo import generate_demo

    demo = generate_demo(waves=("2026",), questionnaires={"salt_consumers": FORMS["salt_consumers"]}, psus=16,
                         respondents_per_psu=3)
    frames = []
    for interviews, name in ((demo, "demo"), ([dataclasses.replace(i, interviewer="A01") for i in demo], "real")):
        store = ResponseStore(f"sqlite:///{tmp_path / f'{name}.db'}")
        store.import_interviews(interviews)
        frames.append(store.responses_frame())
        store.close()
    return frames[0], frames[1]


def workbook_of(tables):
    buffer = io.BytesIO()
    write_report(tables, buffer)
    return load_workbook(io.BytesIO(buffer.getvalue()))


def labelled_everywhere(workbook) -> bool:
    from survey_app.excel import DEMONSTRATION_LABEL

    return (all(ws["A1"].value.startswith(DEMONSTRATION_LABEL) and "演示数据 DEMONSTRATION" in ws.oddHeader.center.text
                for ws in workbook.worksheets)
            and workbook.properties.title.startswith(DEMONSTRATION_LABEL))


def mentions_demonstration(workbook) -> bool:
    # (the generator's free-text answers say "（演示）" themselves: the label's words are looked for)
    return any("DEMONSTRATION" in str(cell.value) or "演示数据" in str(cell.value)
               for ws in workbook.worksheets for row in ws.iter_rows() for cell in row if cell.value is not None)


def test_a_report_of_demo_interviews_is_labelled_on_every_sheet_and_in_its_file_name(tmp_path):
    from survey_app.reporting import report_file_name

    demo, real = demo_and_real_frames(tmp_path)
    demo_tables, real_tables = build_report(demo, wave="2026"), build_report(real, wave="2026")
    assert demo_tables.demonstration and not real_tables.demonstration
    demo_book, real_book = workbook_of(demo_tables), workbook_of(real_tables)
    assert labelled_everywhere(demo_book) and len(demo_book.worksheets) >= 8
    assert not mentions_demonstration(real_book)
    methods = sheet_frame(demo_book["方法说明 Methods"], "项目 Item").set_index("项目 Item")["说明 Value"]
    assert f"{len(demo)} synthetic demonstration interview(s)" in methods["演示数据 DEMONSTRATION"]
    # the numbers are the same: only the label differs
    pd.testing.assert_frame_equal(demo_tables.overview, real_tables.overview)
    day = date(2026, 12, 7)
    assert report_file_name(wave="2026", demonstration=demo_tables.demonstration, day=day) == \
        "satisfaction_report_2026_20261207_DEMO_演示.xlsx"
    assert report_file_name(wave=None, demonstration=real_tables.demonstration, day=day) == \
        "satisfaction_report_all_20261207.xlsx"
    assert demo_tables.summary().startswith("DEMONSTRATION DATA") and "wave 2026" in demo_tables.summary()
    assert "all waves pooled" in build_report(real).summary()


def test_demonstration_margins_label_the_report_and_are_never_plain_figures(tmp_path):
    from survey_app.demo import demo_margins
    from survey_app.reporting import margins_source

    _, real = demo_and_real_frames(tmp_path)
    margins = demo_margins()
    settings = ReportSettings(weighting="rake", margins=margins.rake_margins(["district"]),
                              margins_source=margins_source(margins), demonstration_margins=True)
    # the labels, not the estimates, are under test: a target of another survey ("no data")
    targets = [t for t in load_targets() if t.questionnaire == "consumer_environment"][:1]
    tables = build_report(real, settings=settings, targets=targets, wave="2026")
    assert tables.demonstration
    workbook = workbook_of(tables)
    assert labelled_everywhere(workbook)
    methods = sheet_frame(workbook["方法说明 Methods"], "项目 Item").set_index("项目 Item")["说明 Value"]
    assert "demonstration population margins" in methods["演示数据 DEMONSTRATION"]
    assert "总体边际 Margin: district" not in methods.index
    assert methods["演示边际 DEMONSTRATION margin: district"].startswith("(demonstration, not official) ")
    assert methods["总体边际来源 Margins source"].startswith("DEMONSTRATION figures, not for publication")
    with pytest.raises(ReportError, match="demonstration_margins"):
        ReportSettings(demonstration_margins=True)


# -- one rule for percentages (survey_app.formatting) -------------------------------------------------

def test_every_proportion_has_the_one_percent_format(workbook):
    from survey_app.formatting import EXCEL_PERCENT

    shown = {cell.number_format.split('"')[0] for ws in workbook.worksheets for row in ws.iter_rows() for cell in row
             if "%" in cell.number_format}
    assert shown == {EXCEL_PERCENT}  # estimates, limits, thresholds, standard errors, shares


def test_differences_of_proportions_are_in_percentage_points(workbook, tables):
    from survey_app.formatting import EXCEL_POINTS, format_percent

    for target_id, row in tables.overview.iterrows():
        sheet = workbook[next(n for n in workbook.sheetnames if n.endswith(target_id[:27]))]
        table = sheet_frame(sheet, "分组变量 Variable")
        header = next(row[0].row for row in sheet.iter_rows(max_col=1) if row[0].value == "分组变量 Variable")
        column = next(c for c in table.columns if c.startswith("差值"))
        domains = tables.domains[target_id]
        shown = table[column].astype(float).to_numpy()
        cell = sheet.cell(row=header + 1, column=list(table.columns).index(column) + 1)
        if row["statistic"] == "proportion":
            assert column == "差值（百分点） Difference (points)" and cell.number_format == EXCEL_POINTS
            assert np.allclose(shown, 100 * domains["difference"].to_numpy(float), rtol=1e-12, equal_nan=True)
            assert f"目标值 threshold {format_percent(row['threshold'])}" in sheet["A2"].value
        else:
            assert column == "差值 Difference" and "%" not in cell.number_format
            assert np.allclose(shown, domains["difference"].to_numpy(float), rtol=1e-12, equal_nan=True)


def test_printed_pages_name_the_report_the_sheet_and_the_date(workbook, tables):
    """The page header of every sheet (see also tests/survey_app/test_workbook_print.py)."""
    for ws in workbook.worksheets:
        assert ws.oddFooter.left.text == "南通市放心消费创建调查 Reassuring Consumption survey"
        assert ws.oddHeader.center.text.rstrip("…") in " ".join(ws["A1"].value.split()), ws.title
        assert ws.oddHeader.right.text.endswith(f"{tables.extracted_at:%Y-%m-%d}")
        assert ws.page_setup.orientation == "landscape" and ws.print_title_rows
