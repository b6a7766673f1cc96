"""Issue 15: every target's change between two waves (survey_app.change.wave_changes) and every
district against the rest of the city (district_comparisons), on the demonstration data."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from analysis.design.comparisons import p_adjust
from analysis.targets import load_targets
from questionnaires import Text, shipped_questionnaires
from survey_app.change import (ChangeError, change_counts, change_text, district_comparisons, previous_wave,
                               reason_text, wave_changes)
from survey_app.demo import demo_margins
from survey_app.reporting import ReportSettings, build_report
from survey_app.store import ResponseStore

TARGET = "consumer_environment_satisfaction"


@pytest.fixture(scope="module")
def frame(demo_url) -> pd.DataFrame:
    return ResponseStore(demo_url).responses_frame(status="submitted")


def wave_report(frame, wave, settings=None):
    return build_report(frame[frame["wave"] == wave], settings=settings, wave=wave, frequencies=False,
                        text_answers=False, indices=(), where_to_act=False)


def overall(changes: pd.DataFrame) -> pd.DataFrame:
    return changes[changes["domain_variable"] == "overall"].set_index("target")


@pytest.mark.parametrize("weighting", ["none", "rake"])
def test_each_wave_is_its_own_report_and_the_variances_add(frame, weighting):
    settings = ReportSettings()
    if weighting == "rake":   # each wave calibrated to the margins on its own, as its report
        settings = ReportSettings(weighting="rake", margins=demo_margins().rake_margins(),
                                  demonstration_margins=True)
    changes = overall(wave_changes(frame, waves=["2025", "2026"], settings=settings))
    before, after = wave_report(frame, "2025", settings).overview, wave_report(frame, "2026", settings).overview
    compared = changes[changes["status"] == "compared"]
    assert len(compared) >= 8
    ids = compared.index
    np.testing.assert_allclose(compared["estimate_a"], before.loc[ids, "estimate"], rtol=1e-9)
    np.testing.assert_allclose(compared["estimate_b"], after.loc[ids, "estimate"], rtol=1e-9)
    np.testing.assert_allclose(compared["difference"], after.loc[ids, "estimate"] - before.loc[ids, "estimate"],
                               rtol=1e-9)
    # two independent samples: the stacked design's variance of the change is the sum of the waves'
    np.testing.assert_allclose(compared["se"], np.hypot(before.loc[ids, "se"], after.loc[ids, "se"]), rtol=1e-8)
    # the interval is the t interval on the stacked design's df (PSUs minus strata of both waves)
    assert (compared["df"] == before.loc[ids, "df"] + after.loc[ids, "df"]).all()
    assert ((compared["ci_low"] < compared["difference"]) & (compared["difference"] < compared["ci_high"])).all()
    assert (compared["significant"] == (compared["p_value"] < 0.05)).all()


def test_district_changes_are_holm_adjusted_and_small_districts_not_compared(frame):
    changes = wave_changes(frame, waves=["2025", "2026"], targets=[t for t in load_targets() if t.id == TARGET])
    districts = changes[changes["domain_variable"] == "district"]
    assert len(districts) == 8 and set(districts["status"]) <= {"compared", "too few"}
    compared = districts["status"] == "compared"
    assert compared.any() and (~compared).any()
    expected = p_adjust(districts["p_value"].where(compared).to_numpy(dtype=float), "holm")
    np.testing.assert_allclose(districts.loc[compared, "p_adjusted"], expected[compared.to_numpy()], rtol=1e-12)
    # each wave's minimum sample is its own report's (the design effect of the wave alone)
    for wave, side in (("2025", "a"), ("2026", "b")):
        domain = wave_report(frame, wave).domains[TARGET]
        by_code = districts.set_index("domain")
        np.testing.assert_array_equal(by_code[f"n_needed_{side}"], domain.loc[by_code.index, "n_needed"])
    small = districts[~compared].iloc[0]
    # too few: no numbers, and the reason names the wave and the sample needed
    assert np.isnan(small["difference"]) and np.isnan(small["estimate_a"])
    side = "a" if small["n_a"] < small["n_needed_a"] else "b"
    assert small[f"n_{side}"] < small[f"n_needed_{side}"]
    assert f"wave {small[f'wave_{side}']}" in small["reason"]
    assert f"(n = {small[f'n_{side}']} of the" in reason_text(small, "en")


def test_a_wave_with_too_few_interviews_is_not_compared(frame):
    # a handful of the earlier wave's consumer-environment interviews only
    few = frame[(frame["questionnaire_id"] != "consumer_environment") | (frame["wave"] == "2026")
                | (frame["psu"].isin(frame.loc[frame["wave"] == "2025", "psu"].unique()[:2]))]
    row = overall(wave_changes(few, waves=["2025", "2026"], domains=())).loc[TARGET]
    assert row["status"] == "too few" and np.isnan(row["difference"])
    assert row["n_a"] < 30 and "too few respondents in wave 2025" in row["reason"]
    assert "2025" in change_text(row, "zh", level=0.95) and "太少" in change_text(row, "zh", level=0.95)


def changed_version(aspect: str):
    """The shipped consumer-environment questionnaire as version 9.9, with ``aspect`` of the
    satisfaction question changed."""
    form = shipped_questionnaires()["consumer_environment"]
    question = form.question("overall_satisfaction")
    if aspect == "wording":
        question = replace(question, label=Text(zh="您对消费环境满意吗？", en="Are you satisfied?"))
    else:
        question = replace(question, relevant="${consent} = 'yes' and ${district} != 'haian'")
    groups = tuple(replace(g, questions=tuple(question if q.name == question.name else q for q in g.questions))
                   for g in form.groups)
    return replace(form, version="9.9", groups=groups)


@pytest.mark.parametrize("aspect", ["wording", "asked"])
def test_a_target_whose_definition_changed_is_not_compared(frame, aspect):
    later = frame.copy()
    later.loc[(later["wave"] == "2026") & (later["questionnaire_id"] == "consumer_environment"),
              "questionnaire_version"] = "9.9"
    forms = shipped_questionnaires()
    new = changed_version(aspect)

    def versions(qid, version):
        return new if (qid, version) == ("consumer_environment", "9.9") else \
            forms[qid] if forms[qid].version == version else None

    changes = wave_changes(later, waves=["2025", "2026"], versions=versions)
    rows = changes[changes["target"] == TARGET]
    assert (rows["status"] == "definition changed").all() and rows["difference"].isna().all()
    assert set(rows["changed"]) == {aspect}
    words = {"wording": "question wording", "asked": "who is asked"}[aspect]
    assert words in change_text(rows.iloc[0], "en", level=0.95)
    # the other questionnaires' targets are still compared
    assert (overall(changes).drop(index=TARGET)["status"] == "compared").sum() >= 7
    # unchanged versions: compared
    same = wave_changes(later, waves=["2025", "2026"],
                        versions=lambda qid, v: forms[qid] if v in (forms[qid].version, "9.9") else None)
    assert overall(same).loc[TARGET, "status"] == "compared"


@pytest.mark.parametrize("waves, words", [(["2025", "2031"], "2031 not stored; waves stored: 2025, 2026"),
                                          (["2026"], "a change needs two different waves; waves stored: 2025"),
                                          (["2026", "2026"], "two different waves")])
def test_bad_waves_name_the_waves_stored(frame, waves, words):
    with pytest.raises(ChangeError, match=words):
        wave_changes(frame, waves=waves)


def test_an_unknown_domain_names_the_domains_present(frame):
    with pytest.raises(ChangeError, match="region not usable.*district, sex, age_group, urban_rural"):
        wave_changes(frame, waves=["2025", "2026"], domains=("region",))


def test_districts_against_the_rest_with_holm(frame):
    tables = wave_report(frame, "2026")
    rows = district_comparisons(tables)
    mine = rows[rows["target"] == "campaign_awareness"].set_index("district")
    assert list(mine.index) == list(tables.districts.index)
    domain = tables.domains["campaign_awareness"]
    too_few = domain.loc[mine.index, "too_few"].astype(bool)
    assert (mine.loc[too_few.to_numpy(), "status"] == "too few").all()
    compared = mine[mine["status"] == "compared"]
    design = tables.designs["campaign_awareness"]
    full = design.compare("_target_campaign_awareness", "district", statistic="proportion", adjust="none").to_frame()
    np.testing.assert_allclose(compared["difference"], full.loc[compared.index, "difference"], rtol=1e-12)
    # Holm over the districts compared only
    np.testing.assert_allclose(compared["p_adjusted"], p_adjust(compared["p_value"].to_numpy(), "holm"), rtol=1e-12)
    assert (compared["significant"] == (compared["p_adjusted"] < 0.05)).all()


def test_change_in_words_and_counts(frame):
    changes = wave_changes(frame, waves=["2025", "2026"], domains=())
    row = overall(changes).loc[TARGET].to_dict() | {"target": TARGET}
    assert row["status"] == "compared" and row["direction"] == "up"
    text = change_text(row, "en", level=0.95)
    assert text.startswith("Since wave 2025: +7.1 percentage points (95% CI +1.8 to +12.3)")
    assert "significant rise" in text
    assert change_text(row, "zh", level=0.95).startswith("较 2025 轮：+7.1 个百分点（95% 置信区间 +1.8 至 +12.3）")
    flat = {**row, "direction": "no change", "significant": False}
    assert "not significant" in change_text(flat, "en", level=0.95)
    counts = change_counts(changes)
    assert sum(counts.values()) == len(overall(changes)) and counts["up"] >= 1
    assert previous_wave(frame, "2026") == "2025" and previous_wave(frame, "2025") is None


def test_a_questionnaire_without_interviews_has_no_data_rows(frame):
    from questionnaires import shipped_questionnaires

    questions = {q.name for q in shipped_questionnaires()["campaign_awareness"].questions}
    others = {q.name for qid, form in shipped_questionnaires().items() if qid != "campaign_awareness"
              for q in form.questions}
    without = frame[frame["questionnaire_id"] != "campaign_awareness"]
    without = without.drop(columns=[c for c in without.columns if c in questions - others])
    changes = overall(wave_changes(without, waves=["2025", "2026"], domains=()))
    assert (changes.loc[["campaign_awareness", "campaign_recognition"], "status"] == "no data").all()
    assert changes.loc["campaign_awareness", "reason"] == "no respondents in wave 2025"
    assert (changes.drop(index=["campaign_awareness", "campaign_recognition"])["status"] != "no data").all()
