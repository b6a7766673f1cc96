"""Smoke tests of the benchmark (bench/): the synthetic design, the agreement check, a tiny run."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis import SurveyDesign
from bench import project
from bench.run import Outcome, agreement, main, run_r
from bench.synth import DESIGN, DOMAINS, load_indicators, make_survey
from tests.conftest import require_program


def test_synthetic_design_shape():
    survey = make_survey(4_000, seed=7)
    data = survey.data
    assert len(data) == 4_000 and survey.n_psu == 100
    # PSUs nested in districts; fpc constant within a district and >= its sampled PSUs
    assert data.groupby("psu")["district"].nunique().max() == 1
    per_district = data.groupby("district", observed=True).agg(
        fpc_min=("fpc", "min"), fpc_max=("fpc", "max"), psus=("psu", "nunique"))
    assert (per_district["fpc_min"] == per_district["fpc_max"]).all()
    assert (per_district["fpc_min"] >= per_district["psus"]).all()
    assert (data["weight"] > 0).all()
    for ind in survey.indicators:
        values = data[ind.name].dropna()
        if ind.statistic == "proportion":
            assert set(values.unique()) <= {0.0, 1.0}
        else:
            assert values.between(0, 100).all()
        # questions asked of a subgroup leave the others missing; blanks are rare otherwise
        assert data[ind.name].isna().mean() > (0.04 if ind.relevant_only else 0.0)
    totals = {var: sum(cats.values()) for var, cats in survey.margins.items()}
    assert totals["sex"] == pytest.approx(totals["age_group"], rel=1e-12)


def test_synthetic_design_is_seeded():
    a, b, c = (make_survey(2_000, seed=s) for s in (1, 1, 2))
    pd.testing.assert_frame_equal(a.data, b.data)
    assert not a.data["weight"].equals(c.data["weight"])


def test_indicators_follow_the_targets_file():
    names = [i.name for i in load_indicators()]
    assert "consumer_environment_satisfaction" in names and len(names) == len(set(names))
    assert {i.statistic for i in load_indicators()} == {"proportion", "mean"}


def test_target_table_is_the_designs_estimates(rng):
    survey = make_survey(3_000, seed=int(rng.integers(1 << 30)))
    design = SurveyDesign(survey.data, **DESIGN)
    table = project.target_table(design, survey.indicators, DOMAINS, 0.9)
    ind = survey.indicators[2]
    direct = design.proportion(ind.name, by="age_group", level=0.9).to_frame()
    rows = table[(table["indicator"] == ind.name) & (table["by"] == "age_group")]
    np.testing.assert_array_equal(rows["ci_low"].to_numpy(), direct["ci_low"].to_numpy())
    assert len(table) == len(survey.indicators) * (1 + 8 + 2 + 4)


def test_agreement_flags_a_wrong_number():
    survey = make_survey(2_000, seed=3)
    mine = project.target_table(project.build(survey.data), survey.indicators, DOMAINS,
                                0.95).assign(work="table")
    assert all(c["ok"] for c in agreement(mine, mine.copy(), "r"))
    wrong = mine.copy()
    wrong.loc[5, "se"] *= 1 + 1e-5
    (check,) = agreement(mine, wrong, "r")
    assert not check["ok"] and check["max_rel_se"] == pytest.approx(1e-5, rel=1e-3)
    missing = mine.drop(index=7)
    assert not agreement(mine, missing, "r")[0]["ok"]
    nan = mine.copy()
    nan.loc[9, "ci_high"] = np.nan
    assert agreement(mine, nan, "r")[0]["max_rel_ci_high"] == np.inf


def test_run_writes_timings(tmp_path, capsys):
    out = tmp_path / "bench.json"
    status = main(["--sizes", "2000", "--peers", "--works", "table", "rake", "--repeat", "1",
                   "--json", str(out)])
    assert status == 0
    result = json.loads(out.read_text())["results"][0]
    project_result = result["tools"]["project"]
    assert set(project_result["timings"]) == {"table", "rake"}
    assert project_result["memory"]["table"]["traced"] > 0
    assert "table" in capsys.readouterr().out


@pytest.mark.r_reference
def test_r_peer_agrees_with_the_project(tmp_path):
    require_program("Rscript")
    survey = make_survey(1_000, seed=11)
    args = type("Args", (), {"r_repeat": 1, "level": 0.95, "tol": 1e-10})()
    theirs = run_r(survey, ["table", "rake"], args, tmp_path)
    assert theirs.tables, theirs.notes
    mine = Outcome()
    for work in ("table", "rake"):
        design = project.build(survey.data)
        if work == "rake":
            design = project.rake(design, survey.margins, 1e-10)
        mine.tables.append(project.target_table(design, survey.indicators, DOMAINS, 0.95)
                           .assign(work=work))
    checks = agreement(mine.estimates(), theirs.estimates(), "r")
    assert [c["work"] for c in checks] == ["rake", "table"]
    assert all(c["ok"] for c in checks), checks


def test_report_responses_are_what_the_store_gives(tmp_path):
    from bench import app_data
    from survey_app.store import ResponseStore

    n = len(app_data.base_interviews(5)) + 300      # the second copy starts shuffling
    store = ResponseStore(f"sqlite:///{tmp_path / 'bench.db'}")
    app_data.fill_store(store, n, seed=5)
    stored = store.responses_frame().sort_values("interview_id", ignore_index=True)
    store.close()
    built = app_data.responses(n, seed=5).sort_values("interview_id", ignore_index=True)
    pd.testing.assert_frame_equal(stored[built.columns], built, check_dtype=False)
    # the second copy's PSUs are new ones, in the same districts
    base_psus = {i.psu for i in app_data.base_interviews(5)}
    assert built["psu"].nunique() == 2 * len(base_psus)
    assert (built.groupby("psu")["sample_district"].nunique() == 1).all()
