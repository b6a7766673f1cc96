"""The plan's targets that are not survey estimates: inspection pass rates and administrative figures."""
from __future__ import annotations

import pytest
import yaml

from analysis.targets import (DEFAULT_TARGETS_FILE, PlanTarget, TargetError, entered_verdict, load_index_targets,
                              load_plan_targets, load_targets)
from tests.conftest import REFERENCE_DIR

PLAN = (REFERENCE_DIR / "plan" / "nantong_fangxin_xiaofei_plan.txt").read_text(encoding="utf-8")


def entries() -> list[dict]:
    return yaml.safe_load(DEFAULT_TARGETS_FILE.read_text(encoding="utf-8"))["targets"]


def write(tmp_path, items):
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump({"targets": items}, allow_unicode=True), encoding="utf-8")
    return path


def test_plan_targets_are_apart_from_the_survey_targets():
    survey, plan = load_targets(), load_plan_targets()
    assert all(isinstance(t, PlanTarget) for t in plan)
    assert not {t.id for t in survey} & {t.id for t in plan}
    # every entry of the file is one or the other, or an index (issue 16: statistic: index)
    assert len(survey) + len(plan) + len(load_index_targets()) == len(entries())
    assert {t.source for t in plan} == {"inspection", "register"}


def test_clauses_quote_the_plan_verbatim_with_the_threshold():
    for target in load_plan_targets():
        assert target.clause_text in PLAN, target.id
        if target.measure == "rate":
            assert f"{target.threshold * 100:g}%" in target.clause_text, target.id
        elif target.measure == "count":
            assert f"{target.threshold:g}" in target.clause_text, target.id
        else:  # residents per market: "每2-3万人口", judged at 30,000
            assert f"{target.threshold / 10000:g}万" in target.clause_text, target.id


@pytest.mark.parametrize(
    ("target_id", "source", "threshold", "direction"),
    [
        ("consumer_product_pass_rate", "inspection", 0.90, ">="),
        ("food_sampling_pass_rate", "inspection", 0.95, ">="),
        ("agricultural_product_pass_rate", "inspection", 0.97, ">="),
        ("aquatic_product_pass_rate", "inspection", 0.98, ">="),
        ("iodised_salt_coverage", "inspection", 0.90, ">="),
        ("qualified_iodised_salt_consumption", "inspection", 0.90, ">="),
        ("iodised_salt_pass_rate", "inspection", 0.95, ">="),
        ("business_participation_rate", "register", 0.75, ">="),
        ("sector_participation_rate", "register", 0.80, ">="),
        ("township_coverage_rate", "register", 0.98, ">="),
        ("insurance_participation_rate", "register", 0.75, ">="),
        ("bank_participation_rate", "register", 0.60, ">="),
        ("car_repair_participation_rate", "register", 0.60, ">="),
        ("courier_coverage_rate", "register", 0.80, ">="),
        ("annual_report_disclosure_rate", "register", 0.85, ">="),
        ("abnormal_business_rate", "register", 0.13, "<"),
        ("farm_supply_chain_rate", "register", 0.70, ">="),
        ("ecommerce_model_units", "register", 12, ">="),
        ("honest_enterprises_per_round", "register", 500, "<="),
    ],
)
def test_the_issues_targets_are_listed(target_id, source, threshold, direction):
    target = {t.id: t for t in load_plan_targets()}[target_id]
    assert (target.source, target.threshold, target.direction) == (source, threshold, direction)


def test_counts_of_model_units_of_every_task_named_in_the_issue():
    tasks = {t.clause_section.split(".")[0].split("）")[-1] for t in load_plan_targets() if t.measure == "count"}
    assert {"1", "3", "4", "6", "7", "8", "11", "14"} <= tasks


def test_inspection_categories_are_distinct():
    categories = [t.category for t in load_plan_targets() if t.source == "inspection"]
    assert len(categories) == len(set(categories)) == 7
    assert all(t.category is None for t in load_plan_targets() if t.source == "register")


@pytest.mark.parametrize(
    ("changes", "field", "fix"),
    [
        (dict(source="census"), "source", "survey, inspection, register"),
        (dict(category=None), "category", "category: food"),
        (dict(threshold=95), "threshold", "write 0.95 for 95%"),
        (dict(direction=">"), "direction", ">=, <, <="),
        (dict(measure="share"), "measure", "rate, ratio, count"),
        (dict(question="x"), "question", "use only the fields"),
        (dict(label={"zh": "合格率"}), "label", "en:"),
        (dict(clause=None), "clause", "add 'clause:'"),
    ],
)
def test_a_broken_plan_target_is_reported(tmp_path, changes, field, fix):
    items = entries()
    food = next(e for e in items if e["id"] == "food_sampling_pass_rate")
    for key, value in changes.items():
        if value is None:
            food.pop(key)
        else:
            food[key] = value
    path = write(tmp_path, items)
    with pytest.raises(TargetError) as caught:
        load_plan_targets(path)
    message = str(caught.value)
    assert "target 'food_sampling_pass_rate'" in message and f"field {field!r}" in message and fix in message
    with pytest.raises(TargetError):  # the file is wrong whichever kind is asked for
        load_targets(path)


def test_register_targets_have_no_category_and_ids_are_unique_across_kinds(tmp_path):
    items = entries()
    next(e for e in items if e["id"] == "abnormal_business_rate")["category"] = "food"
    with pytest.raises(TargetError, match="only inspection targets have a category"):
        load_plan_targets(write(tmp_path, items))
    items = entries()
    next(e for e in items if e["id"] == "abnormal_business_rate")["id"] = "campaign_awareness"
    with pytest.raises(TargetError, match="duplicate id"):
        load_targets(write(tmp_path, items))


@pytest.mark.parametrize(
    ("value", "threshold", "direction", "verdict"),
    [
        (0.85, 0.85, ">=", "met"), (85 / 100, 0.85, ">=", "met"), (0.8499, 0.85, ">=", "not met"),
        (0.12, 0.13, "<", "met"), (0.13, 0.13, "<", "not met"), (13 / 100, 0.13, "<", "not met"),
        (500, 500, "<=", "met"), (501, 500, "<=", "not met"), (float("nan"), 0.5, ">=", "no data"),
    ],
)
def test_entered_verdict(value, threshold, direction, verdict):
    assert entered_verdict(value, threshold=threshold, direction=direction) == verdict
