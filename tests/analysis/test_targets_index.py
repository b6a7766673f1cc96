"""Issue 16: the plan's indices in the targets file (``statistic: index``), checked on load."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from analysis.targets import (
    DEFAULT_TARGETS_FILE,
    IndexTarget,
    TargetError,
    load_index_targets,
    load_plan_targets,
    load_targets,
    numeric_scale_codes,
)
from questionnaires import shipped_questionnaires
from tests.conftest import REFERENCE_DIR

PLAN = (REFERENCE_DIR / "plan" / "nantong_fangxin_xiaofei_plan.txt").read_text(encoding="utf-8")
FORMS = shipped_questionnaires()


def shipped_entries() -> list[dict]:
    return yaml.safe_load(DEFAULT_TARGETS_FILE.read_text(encoding="utf-8"))["targets"]


def index_entry(index_id: str) -> dict:
    return copy.deepcopy(next(e for e in shipped_entries() if e["id"] == index_id))


def write(tmp_path: Path, entries: list[dict]) -> Path:
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump({"targets": entries}, allow_unicode=True), encoding="utf-8")
    return path


def test_the_shipped_indices_load_apart_from_the_other_targets():
    indices = {t.id: t for t in load_index_targets()}
    assert set(indices) == {"consumption_environment_index", "tourist_satisfaction_acsi"}
    assert all(isinstance(t, IndexTarget) for t in indices.values())
    assert not set(indices) & ({t.id for t in load_targets()} | {t.id for t in load_plan_targets()})

    environment = indices["consumption_environment_index"]
    assert [c.name for c in environment.components] == ["safety", "integrity", "convenience", "redress"]
    assert [c.questions for c in environment.components] == [("env_safety",), ("env_integrity",),
                                                             ("env_convenience",), ("env_redress",)]
    assert {c.scale for c in environment.components} == {(1.0, 5.0)}
    assert [c.label.zh for c in environment.components] == ["安全度", "诚信度", "便利度", "维权度"]
    assert environment.weights == "equal" and environment.threshold is None   # the plan sets no number
    assert environment.clause_text in PLAN and "逐步提升" in environment.clause_text

    tourist = indices["tourist_satisfaction_acsi"]
    assert tourist.weights == "pls" and tourist.threshold == 80
    assert tourist.clause_text == "“十三五”期间游客满意度指数巩固保持在80分以上" and tourist.clause_text in PLAN
    assert tourist.model["index_block"] == "satisfaction"
    assert sorted(tourist.model["blocks"]["satisfaction"]) == sorted(tourist.questions)
    assert set(tourist.model["blocks"]) == {"expectations", "quality", "value", "satisfaction", "complaints",
                                            "loyalty"}
    # the single 0-100 question stays a reported item of its own
    assert any(t.question == "tourist_score" for t in load_targets())


def test_the_tourist_questionnaire_asks_the_index_items():
    form = FORMS["tourist_satisfaction"]
    for name in ("acsi_expectation", "acsi_quality", "acsi_value", "acsi_satisfaction", "acsi_vs_expectation",
                 "acsi_vs_ideal", "acsi_revisit"):
        question = form.question(name)
        assert question.type == "integer" and question.required
        assert form.check_answer(name, 10, {}, "zh") is None and form.check_answer(name, 1, {}, "en") is None
        assert form.check_answer(name, 11, {}, "zh") and form.check_answer(name, 0, {}, "en")
        assert question.label.zh and question.label.get("en")
    assert numeric_scale_codes(form, "acsi_complained") == [1.0, 0.0]
    assert numeric_scale_codes(form, "visit_type") is None


@pytest.mark.parametrize("change, field, message", [
    # a component question that is not numeric (yes/no codes)
    (lambda e: e["components"][0].update(questions=["had_problem"]), "components", "not numeric"),
    (lambda e: e["components"][0].update(questions=["suggestions"]), "components", "not numeric"),
    (lambda e: e["components"][0].update(questions=["no_such_question"]), "components", "no such question"),
    (lambda e: e.update(scale=[1, 3]), "scale", "outside the scale"),
    (lambda e: e.update(weights={"safety": 1, "integrity": 2}), "weights", "name every component"),
    (lambda e: e.update(weights="median"), "weights", "unknown weights"),
    (lambda e: e.update(threshold=180), "threshold", "between 0 and 100"),
    (lambda e: e.update(model={"blocks": {}}), "model", "only weights: pls"),
    (lambda e: e.pop("components"), "components", "missing field"),
])
def test_a_broken_index_is_reported_with_file_target_and_field(tmp_path, change, field, message):
    entry = index_entry("consumption_environment_index")
    change(entry)
    path = write(tmp_path, [entry])
    with pytest.raises(TargetError, match=message) as caught:
        load_index_targets(path)
    assert caught.value.argument == f"{path}: target 'consumption_environment_index', field '{field}'"
    assert caught.value.fix


def one_item_index_block(entry: dict) -> None:
    entry["components"] = entry["components"][:1]
    entry["model"]["blocks"]["satisfaction"] = ["acsi_satisfaction"]
    entry["model"]["blocks"]["loyalty"] = ["acsi_revisit", "acsi_vs_expectation", "acsi_vs_ideal"]


@pytest.mark.parametrize("change, message", [
    # a block of one item where PLS weights need more: the index block
    (one_item_index_block, "has one item"),
    (lambda e: e["model"]["inner"].append(["loyalty", "expectations"]), "cycle"),
    (lambda e: e["model"]["inner"].append(["satisfaction", "nowhere"]), "edges"),
    (lambda e: e["model"].update(index_block="loyalty"), "has one item"),
    (lambda e: e["model"]["blocks"].update(complaints=["visit_type"]), "not numeric"),
    (lambda e: e["model"].pop("inner"), "needs the PLS model"),
])
def test_a_broken_pls_model_is_reported(tmp_path, change, message):
    entry = index_entry("tourist_satisfaction_acsi")
    change(entry)
    path = write(tmp_path, [entry])
    with pytest.raises(TargetError, match=message) as caught:
        load_index_targets(path)
    assert caught.value.argument == f"{path}: target 'tourist_satisfaction_acsi', field 'model'"


def test_the_cycle_is_named(tmp_path):
    entry = index_entry("tourist_satisfaction_acsi")
    entry["model"]["inner"].append(["loyalty", "expectations"])
    with pytest.raises(TargetError, match="expectations -> .* -> expectations|loyalty -> expectations"):
        load_index_targets(write(tmp_path, [entry]))


def test_an_index_of_questions_needs_their_scale_and_fixed_weights_are_accepted(tmp_path):
    entry = index_entry("consumption_environment_index")
    entry["components"] = ["env_safety", "env_redress"]
    entry["weights"] = {"env_safety": 1, "env_redress": 3}
    loaded = load_index_targets(write(tmp_path, [entry]))[0]
    assert loaded.weights == {"env_safety": 1.0, "env_redress": 3.0}
    assert [c.label for c in loaded.components] == [None, None]
    del entry["scale"]
    with pytest.raises(TargetError, match="needs the index's scale"):
        load_index_targets(write(tmp_path, [entry]))
