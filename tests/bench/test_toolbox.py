"""Smoke tests of the toolbox benchmark (bench/toolbox.py): its columns, a tiny run of every
work, and the peers' agreement on a small sample."""
from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from bench import peer_svy, toolbox
from bench.run import Outcome, agreement
from bench.synth import make_survey
from tests.conftest import require_program


@pytest.fixture(scope="module")
def small():
    # 3,000 interviews: every district keeps both answers of every share in every bootstrap
    # replicate (see test_r_peer_on_a_domain_that_a_replicate_makes_all_ones)
    survey = make_survey(3_000, seed=5)
    return survey, toolbox.add_toolbox_columns(survey, 5)


def test_toolbox_columns_are_seeded_and_on_their_scales(small):
    survey, data = small
    again = toolbox.add_toolbox_columns(make_survey(3_000, seed=5), 5)
    pd.testing.assert_frame_equal(data, again)
    assert data["wait_minutes"].dropna().ge(0).all() and data["wait_minutes"].isna().any()
    assert (data["complaints_resolved"] <= data["complaints_made"]).all()
    items = [c for block in toolbox.PLS_BLOCKS.values() for c in block] + ["overall"]
    assert data[items].stack().between(1, 10).all()
    assert data[toolbox.ASPECTS].stack().between(1, 5).all()
    # the aspects drive the outcome: the first more than the last
    corr = data[["overall", *toolbox.ASPECTS]].corr()["overall"]
    assert corr["aspect1"] > corr["aspect8"] > 0


def test_every_work_runs_and_the_replicate_table_is_complete(tmp_path, capsys):
    out = tmp_path / "toolbox.json"
    status = toolbox.main(["--sizes", "2000", "--peers", "--repeat", "1", "--no-memory",
                           "--json", str(out)])
    assert status == 0
    timings = json.loads(out.read_text())["results"][0]["tools"]["project"]["timings"]
    assert set(timings) == set(toolbox.WORKS)
    survey = make_survey(2_000, seed=20261126)
    data = toolbox.add_toolbox_columns(survey, 20261126)
    table = toolbox.project_works(survey, data, 1)["bootstrap"]()
    assert len(table) == len(survey.indicators) * (1 + 8 + 2 + 4)
    assert np.isfinite(table["se"]).all()
    assert "goal index < 5 s" in capsys.readouterr().out


def test_agreement_uses_the_toolbox_tolerances(small):
    survey, data = small
    mine = toolbox.project_works(survey, data, 1)["glm"]()
    assert agreement(mine, mine.copy(), "r", toolbox.TOLERANCES)[0]["ok"]
    wrong = mine.copy()
    wrong.loc[2, "estimate"] *= 1 + 1e-7          # beyond R's IRLS tolerance (1e-8)
    (check,) = agreement(mine, wrong, "r", toolbox.TOLERANCES)
    assert not check["ok"]


@pytest.mark.skipif(peer_svy.version() is None, reason="svy is not installed")
def test_svy_peer_agrees_with_the_project(small):
    survey, data = small
    args = SimpleNamespace(repeat_peer=1, no_memory=True)
    works = ["median", "ratio", "glm", "bootstrap"]
    theirs = toolbox.run_svy(survey, data, works, args,
                             toolbox.bootstrap_factors(data, 9))
    assert not theirs.notes, theirs.notes
    fns = toolbox.project_works(survey, data, 9)
    mine = Outcome(tables=[fns[w]() for w in works])
    checks = agreement(mine.estimates(), theirs.estimates(), "svy", toolbox.TOLERANCES)
    assert sorted(c["work"] for c in checks) == sorted(works)
    assert all(c["ok"] for c in checks), checks


@pytest.mark.r_reference
def test_r_peer_agrees_with_the_project(small, tmp_path):
    require_program("Rscript")
    survey, data = small
    works = ["median", "ratio", "glm", "bootstrap"]
    args = SimpleNamespace(r_repeat=1)
    theirs = toolbox.run_r(survey, data, works, args, tmp_path,
                           toolbox.bootstrap_factors(data, 9))
    assert theirs.tables, theirs.notes
    fns = toolbox.project_works(survey, data, 9)
    mine = Outcome(tables=[fns[w]() for w in works])
    checks = agreement(mine.estimates(), theirs.estimates(), "r", toolbox.TOLERANCES)
    assert sorted(c["work"] for c in checks) == sorted(works)
    assert all(c["ok"] for c in checks), checks


@pytest.mark.r_reference
@pytest.mark.xfail(strict=True, reason="known difference, reported: where a bootstrap replicate "
                   "leaves a domain with only 1s (here water_satisfaction in haimen, 4 PSUs), "
                   "the project's logit interval is NaN; R's svyciprop refits the glm in that "
                   "replicate, stops IRLS at a large finite coefficient and gives a finite "
                   "interval")
def test_r_peer_on_a_domain_that_a_replicate_makes_all_ones(tmp_path):
    require_program("Rscript")
    survey = make_survey(2_000, seed=5)
    data = toolbox.add_toolbox_columns(survey, 5)
    theirs = toolbox.run_r(survey, data, ["bootstrap"], SimpleNamespace(r_repeat=1), tmp_path,
                           toolbox.bootstrap_factors(data, 9))
    assert theirs.tables, theirs.notes
    mine = toolbox.project_works(survey, data, 9)["bootstrap"]()
    (check,) = agreement(mine, theirs.estimates(), "r", toolbox.TOLERANCES)
    assert check["ok"], check
