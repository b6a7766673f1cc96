"""Issue 16 in the app: the plan's indices and "where to act" in the report and the workbook.

The demo's interviews (every questionnaire, two waves) go through the store, as the app reads
them; the numbers are checked against the analysis functions on the report's own designs, and
the workbook is read back with openpyxl.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from analysis import OVERALL
from analysis.targets import load_index_targets
from questionnaires import shipped_questionnaires
from survey_app.demo import generate_demo
from survey_app.excel import write_report
from survey_app.indices import (
    DRIVER_SETS,
    add_number_columns,
    index_changes,
    index_rows,
    number_column,
    priority_findings,
    where_to_act,
)
from survey_app.reporting import VERDICT_LABELS, build_report, index_trend, report_from_store, respondent_designs
from survey_app.store import ResponseStore

FORMS = shipped_questionnaires()


@pytest.fixture(scope="module")
def store():
    store = ResponseStore("sqlite:///:memory:")
    store.import_interviews(generate_demo())
    yield store
    store.close()


@pytest.fixture(scope="module")
def responses(store) -> pd.DataFrame:
    return store.responses_frame(status="submitted")


@pytest.fixture(scope="module")
def latest(responses) -> pd.DataFrame:
    return responses[responses["wave"] == "2026"]


@pytest.fixture(scope="module")
def tables(store):
    return report_from_store(store, wave="2026")


@pytest.fixture(scope="module")
def workbook(tables, tmp_path_factory):
    path = tmp_path_factory.mktemp("indices") / "report.xlsx"
    write_report(tables, path)
    return load_workbook(path, read_only=True)


def sheet_rows(workbook, name: str) -> list[tuple]:
    return [row for row in workbook[name].iter_rows(values_only=True) if any(v is not None for v in row)]


def test_rating_codes_become_numbers_and_other_codes_do_not(latest):
    data = add_number_columns(latest[latest["questionnaire_id"] == "consumer_environment"],
                              FORMS["consumer_environment"])
    given = data["env_redress"].notna()
    assert (data.loc[given, number_column("env_redress")] == data.loc[given, "env_redress"].astype(float)).all()
    assert number_column("had_problem") not in data.columns   # yes/no codes are not numbers
    tourists = add_number_columns(latest[latest["questionnaire_id"] == "tourist_satisfaction"],
                                  FORMS["tourist_satisfaction"])
    assert set(tourists[number_column("acsi_complained")].dropna()) == {0.0, 1.0}


def test_the_consumption_environment_index_is_the_mean_of_its_rescaled_dimensions(tables):
    rows = tables.indices.set_index(["index", "component"])
    environment = rows.loc["consumption_environment_index"]
    design = tables.designs["consumer_environment"]
    for component, question in (("safety", "env_safety"), ("integrity", "env_integrity"),
                                ("convenience", "env_convenience"), ("redress", "env_redress")):
        mean = design.mean(number_column(question)).to_frame().loc[OVERALL]
        assert environment.loc[component, "estimate"] == pytest.approx(25 * (mean["estimate"] - 1), rel=1e-12)
        assert environment.loc[component, "se"] == pytest.approx(25 * mean["se"], rel=1e-9)
        assert environment.loc[component, "weight"] == pytest.approx(0.25)
    dimensions = environment.loc[["safety", "integrity", "convenience", "redress"], "estimate"]
    assert environment.loc["index", "estimate"] == pytest.approx(dimensions.mean(), rel=1e-12)
    # the plan sets no number: no verdict; the demo's dimensions differ, rights protection lowest
    assert environment.loc["index", "verdict"] == "" and math.isnan(environment.loc["index", "threshold"])
    assert dimensions.idxmin() == "redress" and dimensions.max() - dimensions.min() > 5


def test_the_tourist_index_has_pls_weights_and_a_verdict_against_80_points(tables):
    rows = tables.indices[tables.indices["index"] == "tourist_satisfaction_acsi"].set_index("component")
    head = rows.loc["index"]
    assert head["method"] == "pls" and head["refused"] == "" and head["threshold"] == 80
    assert 78 < head["estimate"] < 86                              # the demo's plausible level
    weights = rows.loc[["overall", "vs_expectation", "vs_ideal"], "weight"]
    assert (weights > 0).all() and weights.sum() == pytest.approx(1)
    assert head["estimate"] == pytest.approx((weights * rows.loc[weights.index, "estimate"]).sum(), rel=1e-12)
    expected = "met" if head["ci_low"] >= 80 else "not met" if head["ci_high"] < 80 else "inconclusive"
    assert head["verdict"] == expected
    assert head["ci_low"] < head["estimate"] < head["ci_high"]


def test_a_pls_model_with_negative_weights_is_refused_with_the_reason(latest):
    flipped = latest.copy()
    tourists = flipped["questionnaire_id"] == "tourist_satisfaction"
    # a reverse-coded satisfaction item: its PLS weight comes out negative
    flipped.loc[tourists, "acsi_vs_ideal"] = 11 - flipped.loc[tourists, "acsi_vs_ideal"].astype(float)
    tables = build_report(flipped, where_to_act=False)
    rows = tables.indices[tables.indices["index"] == "tourist_satisfaction_acsi"]
    assert len(rows) == 1
    refused = rows.iloc[0]
    assert refused["refused_code"] == "negative_weights" and refused["refused_items"] == "acsi_vs_ideal"
    assert "negative weights" in refused["refused"] and math.isnan(refused["estimate"])
    # the other index is still published
    assert tables.indices.loc[tables.indices["index"] == "consumption_environment_index", "estimate"].notna().all()


def test_changes_between_waves_are_differences_of_independent_waves(responses, tables):
    trend = index_trend(responses)
    assert list(dict.fromkeys(trend["wave"])) == ["2025", "2026"]
    latest = trend[trend["wave"] == "2026"].drop(columns="wave").reset_index(drop=True)
    pd.testing.assert_frame_equal(latest, tables.indices.reset_index(drop=True))
    changes = index_changes(trend, level=0.95).set_index(["index", "component"])
    before = trend[trend["wave"] == "2025"].set_index(["index", "component"])
    after = trend[trend["wave"] == "2026"].set_index(["index", "component"])
    for key, row in changes.iterrows():
        assert row["change"] == pytest.approx(after.loc[key, "estimate"] - before.loc[key, "estimate"], rel=1e-12)
        assert row["se"] == pytest.approx(math.hypot(after.loc[key, "se"], before.loc[key, "se"]), rel=1e-12)
        assert row["df"] == after.loc[key, "df"] + before.loc[key, "df"]
        assert row["ci_low"] < row["change"] < row["ci_high"]
    assert {"safety", "integrity", "convenience", "redress"} <= set(changes.loc["consumption_environment_index"].index)


def test_where_to_act_names_rights_protection(tables):
    rows = tables.priorities
    environment = rows[rows["questionnaire"] == "consumer_environment"].set_index("driver")
    assert list(environment.index) == ["env_safety", "env_integrity", "env_convenience", "env_redress"]
    assert environment.loc["env_redress", "priority"] and environment["priority"].sum() == 1
    assert environment["performance"].idxmin() == "env_redress"
    assert environment["importance"].sum() == pytest.approx(environment["r2"].iloc[0], rel=1e-9)
    assert (environment["ci_low"] < environment["importance"]).all()
    assert priority_findings(environment.reset_index(), "zh") == ["优先改进：维权度——重要且得分最低"]
    assert priority_findings(environment.reset_index(), "en") == ["priority: Rights protection — important, and rated lowest"]
    # named as the index's sub-index; without the indices, by the question's label up to its colon
    plain = where_to_act({"consumer_environment": tables.designs["consumer_environment"]}, FORMS, level=0.95)
    assert plain.set_index("driver").loc["env_redress", ["label_zh", "label_en"]].tolist() == ["维权度", "Redress"]
    # one set per questionnaire with driver questions
    assert list(rows["questionnaire"].unique()) == [s.questionnaire for s in DRIVER_SETS]


def test_too_few_respondents_for_the_drivers_are_refused_with_the_reason(latest):
    environment = latest[(latest["questionnaire_id"] == "consumer_environment") & (latest["consent"] == "yes")]
    psus = environment.loc[environment["sample_district"] == "haian", "psu"].unique()[:2]
    few = environment[environment["psu"].isin(psus)].groupby("psu").head(2)   # 4 respondents, 4 drivers
    designs = respondent_designs(few)
    rows = where_to_act(designs, FORMS, level=0.95)
    assert len(rows) == 1 and "too few respondents" in rows.iloc[0]["refused"]
    assert index_rows(designs, load_index_targets(), FORMS, level=0.95)["index"].tolist()[0] == \
        "consumption_environment_index"


def test_the_workbook_has_the_index_rows_the_changes_and_where_to_act(tables, workbook):
    rows = sheet_rows(workbook, "指数 Indices")
    header = next(i for i, row in enumerate(rows) if row[0] == "指数 Index")
    columns = rows[header]
    body = [dict(zip(columns, row)) for row in rows[header + 1:header + 1 + len(tables.indices)]]
    for cell, (_, row) in zip(body, tables.indices.iterrows()):
        assert cell["指数 Index"] == row["index"] and cell["名称"] == row["label_zh"]
        assert cell["得分 Score"] == pytest.approx(row["estimate"], rel=1e-12)
        assert cell["置信下限 CI low"] == pytest.approx(row["ci_low"], rel=1e-12)
    tourist = next(c for c in body if c["指数 Index"] == "tourist_satisfaction_acsi" and c["行 Row"] == "指数 index")
    verdict = tables.indices.set_index(["index", "component"]).loc[("tourist_satisfaction_acsi", "index"), "verdict"]
    assert tourist["目标值 Threshold"] == 80 and tourist["判定 Verdict"] == " ".join(VERDICT_LABELS[verdict])
    titles = [row[0] for row in rows]
    assert any(str(title).startswith("各轮次变化") for title in titles)
    redress = [row for row in rows if len(row) > 3 and row[3] == "Rights protection"]
    assert len(redress) == 2   # the sub-index row and its change between waves

    act = sheet_rows(workbook, "优先改进 Where to act")
    header = next(i for i, row in enumerate(act) if row[0] == "问卷 Questionnaire")
    first = dict(zip(act[header], act[header + 1]))
    assert first["问卷 Questionnaire"] == "consumer_environment"
    assert first["结论 Finding"] == "优先改进：维权度——重要且得分最低；priority: Rights protection — important, and rated lowest"
    redress = next(dict(zip(act[header], row)) for row in act if len(row) > 2 and row[2] == "env_redress")
    assert redress["象限 Quadrant"] == "优先改进 priority"
    assert redress["重要性 Importance (R²)"] == pytest.approx(
        tables.priorities.set_index("driver").loc["env_redress", "importance"], rel=1e-12)

    methods = [row[1] for row in sheet_rows(workbook, "方法说明 Methods") if len(row) > 1]
    text = " ".join(str(v) for v in methods)
    assert "ACSI convention" in text and "mapped from its scale's range to 0-100" in text
    assert "normalised non-negative weights" in text and "bootstrap replicates" in text
    assert "weights come out negative" in text and "Shapley/LMG" in text


def test_a_refused_index_shows_its_reason_and_no_number_in_the_workbook(latest, tmp_path):
    flipped = latest.copy()
    tourists = flipped["questionnaire_id"] == "tourist_satisfaction"
    flipped.loc[tourists, "acsi_vs_ideal"] = 11 - flipped.loc[tourists, "acsi_vs_ideal"].astype(float)
    tables = build_report(flipped, where_to_act=False)
    write_report(tables, tmp_path / "refused.xlsx")
    rows = sheet_rows(load_workbook(tmp_path / "refused.xlsx", read_only=True), "指数 Indices")
    header = next(i for i, row in enumerate(rows) if row[0] == "指数 Index")
    tourist = [dict(zip(rows[header], row)) for row in rows if row[0] == "tourist_satisfaction_acsi"]
    assert len(tourist) == 1
    assert tourist[0]["得分 Score"] is None and tourist[0]["置信下限 CI low"] is None
    assert tourist[0]["说明 Note"].startswith("不予发布 not published: the PLS model gives negative weights")


def test_reports_of_given_targets_leave_the_indices_out(latest):
    from analysis.targets import load_targets

    tables = build_report(latest, targets=load_targets()[:3])
    assert tables.indices is None and tables.priorities is None
    assert not any("ACSI" in str(item) for item in tables.methods["item"])



def test_the_summary_lists_the_indices_and_the_priorities(tables):
    text = tables.summary()
    head = tables.indices.set_index(["index", "component"]).loc[("tourist_satisfaction_acsi", "index")]
    assert f"tourist_satisfaction_acsi: {head['estimate']:.1f} points (CI {head['ci_low']:.1f} to " in text
    assert f"weights pls; {head['verdict']} against 80 points" in text
    assert "where to act (consumer_environment): priority: Rights protection — important, and rated lowest" in text


def test_the_where_to_act_chart_shades_the_priority_quadrant_and_names_the_aspects(tables):
    from survey_app.charts import where_to_act_chart

    rows = tables.priorities[tables.priorities["questionnaire"] == "consumer_environment"]
    spec = where_to_act_chart(rows, lang="zh").to_dict()
    layers = spec["layer"]
    shade = next(layer for layer in layers if layer["mark"]["type"] == "rect")
    datasets = spec["datasets"]
    corner = datasets[shade["data"]["name"]][0]
    assert corner["x2"] == pytest.approx(rows["performance"].mean())     # left of the mean performance
    assert corner["y"] == pytest.approx(rows["importance"].mean())       # above the mean importance
    points = next(values for values in datasets.values() if values and "quadrant_text" in values[0])
    colours = {p["name"]: p["colour"] for p in points}
    assert any(layer["mark"]["type"] == "text" and layer["encoding"]["text"]["field"] == "name" for layer in layers)
    assert colours["维权度"] == "#c62828" and colours["安全度"] != "#c62828"


def test_a_pls_index_whose_item_does_not_vary_is_refused_naming_it(latest):
    nobody = latest.copy()
    nobody.loc[nobody["questionnaire_id"] == "tourist_satisfaction", "acsi_complained"] = "0"   # nobody complained
    designs = respondent_designs(nobody)
    rows = index_rows(designs, load_index_targets(), FORMS, level=0.95)
    tourist = rows[rows["index"] == "tourist_satisfaction_acsi"]
    assert len(tourist) == 1 and tourist.iloc[0]["refused_code"] == "constant_items"
    assert tourist.iloc[0]["refused_items"] == "acsi_complained" and math.isnan(tourist.iloc[0]["estimate"])


def test_check_targets_lists_the_indices(capsys):
    from survey_app.cli import main

    assert main(["check-targets"]) == 0
    out = capsys.readouterr().out
    assert ("tourist_satisfaction_acsi: index of tourist_satisfaction (overall, vs_expectation, vs_ideal; weights pls) "
            ">= 80 points") in out
    assert ("consumption_environment_index: index of consumer_environment (safety, integrity, convenience, redress; "
            "weights equal) (no threshold)") in out


def test_a_pls_index_without_an_interval_is_refused(latest):
    rare = latest.copy()
    tourists = np.flatnonzero((rare["questionnaire_id"] == "tourist_satisfaction").to_numpy()
                              & (rare["consent"] == "yes").to_numpy())
    rare.iloc[tourists, rare.columns.get_loc("acsi_complained")] = "0"
    rare.iloc[tourists[:1], rare.columns.get_loc("acsi_complained")] = "1"   # one complaint, in one PSU
    with np.errstate(divide="ignore", invalid="ignore"):
        rows = index_rows(respondent_designs(rare), load_index_targets(), FORMS, level=0.95)
    tourist = rows[rows["index"] == "tourist_satisfaction_acsi"]
    assert len(tourist) == 1 and tourist.iloc[0]["refused_code"] == "no_interval"
    assert math.isnan(tourist.iloc[0]["estimate"])
