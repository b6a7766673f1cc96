"""The targets file: the plan's survey targets, checked on load, and the analysis variable of a target."""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis.targets import (
    DEFAULT_TARGETS_FILE,
    TargetError,
    _parse_yaml,
    check_target,
    load_targets,
    target_indicator,
    target_indicators,
)
from questionnaires import shipped_questionnaires
from tests.conftest import REFERENCE_DIR

PLAN = REFERENCE_DIR / "plan" / "nantong_fangxin_xiaofei_plan.txt"
FORMS = shipped_questionnaires()


def shipped_entries() -> list[dict]:
    return yaml.safe_load(DEFAULT_TARGETS_FILE.read_text(encoding="utf-8"))["targets"]


def write_targets(tmp_path: Path, entries: list[dict]) -> Path:
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump({"targets": entries}, allow_unicode=True), encoding="utf-8")
    return path


def edited(**changes) -> list[dict]:
    """The shipped targets with the first one changed (a value of None removes the field)."""
    entries = shipped_entries()
    for key, value in changes.items():
        if value is None:
            entries[0].pop(key)
        else:
            entries[0][key] = value
    return entries


# -- the shipped targets --------------------------------------------------------------------------

def test_the_shipped_targets_load_and_fit_the_questionnaires():
    targets = load_targets()
    assert len({t.id for t in targets}) == len(targets)
    for target in targets:
        check_target(target, FORMS)
        assert target.label.zh and target.label.en


@pytest.mark.parametrize(
    ("questionnaire", "question", "statistic", "threshold"),
    [
        ("consumer_environment", "overall_satisfaction", "proportion", 0.85),
        ("campaign_awareness", "heard_campaign", "proportion", 0.70),
        ("campaign_awareness", "campaign_agreement", "proportion", 0.95),
        ("public_services", "public_service_satisfaction", "proportion", 0.80),
        ("tourist_satisfaction", "tourist_score", "mean", 80),
        ("telecom_users", "telecom_satisfaction", "proportion", 0.90),
        ("salt_consumers", "salt_satisfaction", "proportion", 0.80),
    ],
)
def test_every_numeric_survey_target_of_the_plan_is_listed(questionnaire, question, statistic, threshold):
    matches = [t for t in load_targets() if (t.questionnaire, t.question) == (questionnaire, question)]
    assert len(matches) == 1
    assert (matches[0].statistic, matches[0].threshold) == (statistic, threshold)


def test_recognition_is_among_those_aware_and_public_services_among_users():
    targets = {t.id: t for t in load_targets()}
    assert targets["campaign_recognition"].denominator == "relevant"
    services = [t for t in targets.values() if t.questionnaire == "public_services"]
    assert {t.question for t in services} == {"public_service_satisfaction", "water_satisfaction", "gas_satisfaction",
                                              "electricity_satisfaction", "elderly_care_satisfaction"}
    assert all(t.denominator == "relevant" and t.threshold == 0.8 for t in services)


def test_clauses_quote_the_plan_verbatim():
    plan = PLAN.read_text(encoding="utf-8")
    for target in load_targets():
        assert target.clause_text in plan, target.id
        number = f"{target.threshold * 100:g}" if target.statistic == "proportion" else f"{target.threshold:g}"
        assert number in target.clause_text, target.id  # the threshold is the plan's


# -- checks on load ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("changes", "field", "fix"),
    [
        (dict(threshold=85), "threshold", "write 0.85 for 85%"),
        (dict(threshold="85%"), "threshold", "threshold: 0.85"),
        (dict(success=[4, 5]), "success", "quote the codes"),
        (dict(success=["4", "6"]), "success", "codes among 1, 2, 3, 4, 5"),
        (dict(success=None), "success", "success: ['4', '5']"),
        (dict(question="overall_satisfactoin"), "question", "overall_satisfaction"),
        (dict(questionnaire="consumer"), "questionnaire", "consumer_environment"),
        (dict(statistic="median"), "statistic", "proportion, mean"),
        (dict(denominator="answered"), "denominator", "all, relevant"),
        (dict(label={"zh": "满意度"}), "label", "en:"),
        (dict(clause="二、主要目标"), "clause", "section:"),
        (dict(weight=2), "weight", "use only the fields"),
        (dict(threshold=None), "threshold", "add 'threshold:'"),
    ],
)
def test_a_broken_target_is_reported_with_its_id_field_and_fix(tmp_path, changes, field, fix):
    path = write_targets(tmp_path, edited(**changes))
    with pytest.raises(TargetError) as caught:
        load_targets(path)
    message = str(caught.value)
    assert str(path) in message
    assert "target 'consumer_environment_satisfaction'" in message
    assert f"field {field!r}" in message
    assert fix in message


def test_a_mean_needs_a_numeric_question_and_no_success_codes(tmp_path):
    entries = edited(statistic="mean", threshold=4, denominator="relevant", success=None)
    with pytest.raises(TargetError, match="field 'question'.*integer or decimal"):
        load_targets(write_targets(tmp_path, entries))
    entries = shipped_entries()
    tourist = next(e for e in entries if e["statistic"] == "mean")
    tourist["success"] = ["5"]
    with pytest.raises(TargetError, match="tourist_satisfaction_index.*field 'success'.*a mean has no success codes"):
        load_targets(write_targets(tmp_path, entries))


def test_duplicate_ids_and_bad_files_are_reported(tmp_path):
    entries = shipped_entries()
    entries[1]["id"] = entries[0]["id"]
    with pytest.raises(TargetError, match="duplicate id"):
        load_targets(write_targets(tmp_path, entries))
    (tmp_path / "bad.yaml").write_text("targets: [\n", encoding="utf-8")
    with pytest.raises(TargetError, match="not valid YAML"):
        load_targets(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- id: x\n", encoding="utf-8")
    with pytest.raises(TargetError, match="one key, 'targets'"):
        load_targets(tmp_path / "list.yaml")
    with pytest.raises(TargetError, match="cannot read the targets file"):
        load_targets(tmp_path / "missing.yaml")


def test_a_user_can_add_a_target_without_code(tmp_path):
    entries = shipped_entries() + [{
        "id": "complaint_handling", "label": {"zh": "投诉处理满意度", "en": "Satisfaction with complaint handling"},
        "questionnaire": "consumer_environment", "question": "complaint_satisfaction", "statistic": "proportion",
        "success": ["4", "5"], "denominator": "relevant", "threshold": 0.8,
        "clause": {"section": "test", "text": "test"},
    }]
    targets = load_targets(write_targets(tmp_path, entries))
    assert targets[-1].id == "complaint_handling" and targets[-1].success == ("4", "5")


def test_reading_the_same_file_again_gives_equal_targets_and_sees_every_edit(tmp_path):
    path = write_targets(tmp_path, shipped_entries())
    first = load_targets(path)
    parsed = _parse_yaml.cache_info().hits
    again = load_targets(path)
    assert _parse_yaml.cache_info().hits == parsed + 1  # the unchanged file was not parsed again
    assert first == again == load_targets()
    # an edit of the same length, in the same second: the file's content decides, not its time stamp
    threshold = shipped_entries()[0]["threshold"]
    changed = edited(threshold=round(1 - threshold, 2))
    path.write_text(yaml.safe_dump({"targets": changed}, allow_unicode=True), encoding="utf-8")
    assert load_targets(path)[0].threshold == round(1 - threshold, 2)
    assert load_targets(path)[1:] == first[1:]
    path.write_text("targets: [\n", encoding="utf-8")
    with pytest.raises(TargetError, match="not valid YAML"):
        load_targets(path)


# -- the analysis variable ------------------------------------------------------------------------------

def awareness_frame() -> pd.DataFrame:
    rows = [
        # consent, heard, agreement (recognition is only asked of those who heard of the campaign)
        ("yes", "yes", "5"), ("yes", "yes", "3"), ("yes", "no", None), ("no", None, None),
        ("yes", "yes", None),  # asked but left blank
        ("yes", "no", "5"),  # a stale answer to a question that is no longer asked
    ]
    return pd.DataFrame(rows, columns=["consent", "heard_campaign", "campaign_agreement"])


def test_indicator_of_awareness_counts_every_consenting_respondent():
    targets = {t.id: t for t in load_targets()}
    values = target_indicator(awareness_frame(), target=targets["campaign_awareness"],
                              questionnaire=FORMS["campaign_awareness"])
    np.testing.assert_array_equal(values.to_numpy(), [1, 1, 0, np.nan, 1, 0])


def test_indicator_of_recognition_is_missing_outside_those_asked():
    targets = {t.id: t for t in load_targets()}
    values = target_indicator(awareness_frame(), target=targets["campaign_recognition"],
                              questionnaire=FORMS["campaign_awareness"])
    np.testing.assert_array_equal(values.to_numpy(), [1, 0, np.nan, np.nan, np.nan, np.nan])


def test_indicator_with_denominator_all_counts_those_not_asked_as_no_success():
    targets = {t.id: t for t in load_targets()}
    target = targets["campaign_recognition"]
    everyone = dataclasses.replace(target, denominator="all")
    values = target_indicator(awareness_frame(), target=everyone, questionnaire=FORMS["campaign_awareness"])
    np.testing.assert_array_equal(values.to_numpy(), [1, 0, 0, np.nan, np.nan, 0])


def test_indicator_of_a_mean_is_the_answer():
    targets = {t.id: t for t in load_targets()}
    frame = pd.DataFrame({"consent": ["yes", "yes", "no"], "tourist_score": [90.0, math.nan, 70.0]})
    values = target_indicator(frame, target=targets["tourist_satisfaction_index"],
                              questionnaire=FORMS["tourist_satisfaction"])
    np.testing.assert_array_equal(values.to_numpy(), [90, np.nan, np.nan])


def test_indicator_follows_select_multiple_skip_logic():
    targets = {t.id: t for t in load_targets()}
    frame = pd.DataFrame({"consent": ["yes"] * 3, "services_used": ["water gas", "gas", "none"],
                          "water_satisfaction": ["4", None, None]})
    values = target_indicator(frame, target=targets["water_satisfaction"], questionnaire=FORMS["public_services"])
    np.testing.assert_array_equal(values.to_numpy(), [1, np.nan, np.nan])


def test_indicator_rejects_codes_outside_the_choice_list_and_the_wrong_questionnaire():
    targets = {t.id: t for t in load_targets()}
    frame = pd.DataFrame({"consent": ["yes"], "overall_satisfaction": ["6"]})
    target = targets["consumer_environment_satisfaction"]
    with pytest.raises(TargetError, match="not in its choice list"):
        target_indicator(frame, target=target, questionnaire=FORMS["consumer_environment"])
    with pytest.raises(TargetError, match="pass the questionnaire 'consumer_environment'"):
        target_indicator(frame, target=target, questionnaire=FORMS["telecom_users"])
    with pytest.raises(TargetError, match="no column for question"):
        target_indicator(frame.drop(columns="overall_satisfaction"), target=target,
                         questionnaire=FORMS["consumer_environment"])


def test_indicators_of_several_targets_equal_each_target_alone(rng):
    """The skip logic walked once for all targets gives each target's own indicator."""
    form = FORMS["campaign_awareness"]
    targets = [t for t in load_targets() if t.questionnaire == form.id]
    targets.append(dataclasses.replace(targets[-1], id="recognition_of_everyone", denominator="all"))
    n = 300
    frame = pd.DataFrame({
        "consent": rng.choice(["yes", "no", None], size=n, p=[0.8, 0.15, 0.05]),
        "heard_campaign": rng.choice(["yes", "no", None], size=n),
        "campaign_agreement": rng.choice(["1", "2", "3", "4", "5", None, " "], size=n),
    }, index=pd.Index(rng.permutation(n) + 1000))
    together = target_indicators(frame, targets=targets, questionnaire=form)
    assert list(together.columns) == [t.id for t in targets] and together.index.equals(frame.index)
    for target in targets:
        alone = target_indicator(frame, target=target, questionnaire=form)
        pd.testing.assert_series_equal(together[target.id], alone, check_names=False)
        assert alone.name == target.id
    assert target_indicators(frame, targets=[], questionnaire=form).shape == (n, 0)
    with pytest.raises(TargetError, match="share an id"):
        target_indicators(frame, targets=[targets[0], targets[0]], questionnaire=form)


def random_answers(form, rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Answers drawn without regard to the skip logic, so stale answers to questions not asked abound."""
    columns = {}
    for question in form.questions:
        if question.type in ("note", "text"):
            continue
        codes = [c.name for c in form.choices(question)] if question.list_name else []
        if question.name == "consent":
            values = rng.choice(["yes", "no"], size=n, p=[0.9, 0.1]).astype(object)
        elif question.type == "select_one":
            values = rng.choice(codes, size=n).astype(object)
        elif question.type == "select_multiple":
            values = np.array([" ".join(rng.choice(codes, size=rng.integers(1, 3), replace=False)) for _ in range(n)],
                              dtype=object)
        else:
            values = rng.integers(0, 100, size=n).astype(float)
        missing = rng.random(n) < 0.15
        values[missing] = None if values.dtype == object else np.nan
        columns[question.name] = values
    return pd.DataFrame(columns)


def indicator_row_by_row(frame: pd.DataFrame, target, form) -> np.ndarray:
    """The definition, one interview at a time, with every answer of the interview in view."""
    question = form.question(target.question)
    out = []
    for row in frame.to_dict("records"):
        answers = {}
        for q in form.questions:
            value = row.get(q.name)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            answers[q.name] = value.split() if q.type == "select_multiple" else \
                int(value) if q.type == "integer" else value
        if answers.get("consent") != "yes":
            out.append(np.nan)
        elif not form.is_relevant(question, answers):
            out.append(0.0 if target.denominator == "all" and target.statistic == "proportion" else np.nan)
        elif question.name not in answers:
            out.append(np.nan)
        elif target.statistic == "mean":
            out.append(float(answers[question.name]))
        else:
            given = answers[question.name]
            chosen = given if isinstance(given, list) else [given]
            out.append(1.0 if set(chosen) & set(target.success) else 0.0)
    return np.array(out)


@pytest.mark.parametrize("qid", sorted({t.questionnaire for t in load_targets()}))
def test_indicators_follow_the_skip_logic_of_each_interview(qid, rng):
    form = FORMS[qid]
    targets = [t for t in load_targets() if t.questionnaire == qid]
    targets += [dataclasses.replace(t, id=f"{t.id}_all", denominator="all") for t in targets
                if t.statistic == "proportion" and t.denominator == "relevant"]
    # and a target on every question with skip logic, chains of it included (asked if a question was
    # answered so, itself asked if...)
    template = targets[0]
    targets += [dataclasses.replace(template, id=f"share_{q.name}", question=q.name, statistic="proportion",
                                    success=(form.choices(q)[0].name,), denominator="relevant", threshold=0.5)
                for q in form.questions if q.list_name and q.name != "consent" and q.relevant]
    frame = random_answers(form, rng, 250)
    together = target_indicators(frame, targets=targets, questionnaire=form)
    for target in targets:
        expected = indicator_row_by_row(frame, target, form)
        np.testing.assert_array_equal(together[target.id].to_numpy(), expected, err_msg=target.id)
        alone = target_indicator(frame, target=target, questionnaire=form)
        np.testing.assert_array_equal(alone.to_numpy(), expected, err_msg=target.id)
