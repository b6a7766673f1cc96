"""Replicate designs beyond the R comparisons: determinism, statistical agreement, errors."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import ReplicateDesign, ReplicateError, SurveyDesign
from tests.analysis.reference_designs import (AGE_POP, REFERENCE_DIR, SEX_POP, read_api,
                                              read_nantong)
from tests.reference.make_bootstrap_factors import REPLICATES, SEEDS, designs, row_factors


def test_stored_bootstrap_factors_are_what_the_seed_gives():
    """The factors R was given are exactly those SurveyDesign.replicate draws."""
    for name, des in designs().items():
        stored = pd.read_csv(REFERENCE_DIR / f"bootstrap_{name}.csv")
        fresh = row_factors(des, SEEDS[name])
        assert stored.shape == (len(des), REPLICATES)
        assert np.allclose(stored.to_numpy(), fresh.to_numpy(), rtol=0, atol=1e-11)


def test_rao_wu_factors_have_the_right_structure():
    nt = read_nantong()
    des = SurveyDesign(nt, weights="weight", strata="district", psu="community", nest=True)
    rep = des.replicate("bootstrap", replicates=50, seed=1)
    f = rep.replicate_weights.to_numpy() / des.weights.to_numpy()[:, None]
    psu = des.psu_codes
    per_psu = pd.DataFrame(f).groupby(psu).first().to_numpy()
    strata = nt.groupby(["district", "community"]).ngroup().to_numpy()
    stratum_of_psu = pd.Series(nt["district"].to_numpy()).groupby(psu).first().to_numpy()
    for h in np.unique(stratum_of_psu):
        block = per_psu[stratum_of_psu == h]
        m = len(block)
        # n_h - 1 draws, each worth n_h/(n_h - 1): the factors of a stratum add up to n_h
        assert np.allclose(block.sum(axis=0), m)
    assert rep.scale == pytest.approx(1 / 49) and len(strata) == len(nt)


def test_bootstrap_se_agrees_statistically_with_linearisation():
    st = read_api("apistrat")
    des = SurveyDesign(st, weights="pw", strata="stype")          # no fpc: Rao-Wu has none
    lin = des.mean("api00").to_frame().loc["all", "se"]
    boot = des.replicate("bootstrap", replicates=2000, seed=5).mean("api00")
    se = boot.to_frame().loc["all", "se"]
    # the SE of a bootstrap SE with B replicates is about SE / sqrt(2B): 1.6% here
    assert se == pytest.approx(lin, rel=0.08)


def test_jackknife_with_raking_is_close_to_linearised_raking():
    nt = read_nantong()
    des = SurveyDesign(nt, weights="weight", strata="district", psu="community", fpc="fpc",
                       nest=True)
    raked = des.rake({"sex": SEX_POP, "age_group": AGE_POP})
    jk = des.replicate("jkn").rake({"sex": SEX_POP, "age_group": AGE_POP})
    a = raked.mean("score").to_frame().loc["all"]
    b = jk.mean("score").to_frame().loc["all"]
    assert a["estimate"] == pytest.approx(b["estimate"], rel=1e-10)
    assert b["se"] == pytest.approx(a["se"], rel=0.15)
    # every replicate is raked to the margins
    rw = jk.replicate_weights
    for var, margin in (("sex", SEX_POP), ("age_group", AGE_POP)):
        sums = rw.groupby(nt[var].to_numpy()).sum()
        for cat, target in margin.items():
            assert np.allclose(sums.loc[cat], target, rtol=1e-9)


def test_replicate_frequencies_and_proportions():
    nt = read_nantong()
    des = SurveyDesign(nt, weights="weight", strata="district", psu="community", fpc="fpc",
                       nest=True)
    jk = des.replicate("jkn")
    freq = jk.frequencies("q1", by="sex").to_frame()
    assert freq.groupby(level="sex")["estimate"].sum().to_numpy() == pytest.approx(1.0)
    prop = jk.proportion("satisfied", by="district", ci_method="beta").to_frame()
    assert ((prop["ci_low"] >= 0) & (prop["ci_high"] <= 1)).all()
    with pytest.raises(Exception):
        jk.proportion("satisfied", ci_method="likelihood")


def test_jackknife_refuses_lonely_psu_under_fail():
    nt = read_nantong()
    nt = nt[~((nt["district"] == "开发区") & (nt["community"] != "C01"))]
    des = SurveyDesign(nt, weights="weight", strata="district", psu="community", fpc="fpc",
                       nest=True, lonely_psu="adjust")
    des.replicate("jkn")                       # adjust: allowed
    fail = SurveyDesign(nt[nt["district"] != "开发区"], weights="weight", strata="district",
                        psu="community", fpc="fpc", nest=True)
    fail.replicate("jkn")
    with pytest.raises(ReplicateError):
        des.replicate("bootstrap", replicates=10)
    with pytest.raises(ReplicateError):
        des.replicate("brr")


def test_from_factors_checks_shapes():
    st = read_api("apistrat")
    des = SurveyDesign(st, weights="pw", strata="stype")
    with pytest.raises(ReplicateError):
        ReplicateDesign.from_factors(des, np.ones((7, 3)), method="x", scale=1,
                                     rscales=np.ones(3))
    with pytest.raises(ReplicateError):
        ReplicateDesign.from_factors(des, np.ones((len(st), 3)), method="x", scale=1,
                                     rscales=np.ones(2))


def test_sums_by_psu_equal_sums_by_row():
    """Replicates made from PSU factors sum by PSU first (a PSUs x replicates product); the
    numbers are those of the row-by-row sums."""
    from analysis.design.cells import CellSums
    from analysis.design.replication import Replicates, bootstrap_factors, replicate_weights

    data = pd.read_csv(REFERENCE_DIR / "nantong_sample.csv", encoding="utf-8")
    des = SurveyDesign(data, weights="weight", strata="district", psu="community", fpc="fpc",
                       nest=True)
    factors, scale, rscales = bootstrap_factors(des.structure, 40, 7)
    w = des.weights.to_numpy()
    rw, degf, per_psu = replicate_weights(des.structure, w, factors, per="psu",
                                          n_rscales=len(rscales))
    kwargs = dict(method="bootstrap", scale=scale, rscales=rscales, mse=False, degf=degf)
    by_psu = Replicates(CellSums(des.structure, w), w, rw, unit_factors=per_psu, **kwargs)
    by_row = Replicates(CellSums(des.structure, w), w, rw, **kwargs)
    def results(engine):
        dom = engine.domains("district")
        return (engine.ratio("score", dom, True, total=False), engine.shares("q1", dom, True),
                engine.domain_df(dom))

    a, b = results(by_psu), results(by_row)
    np.testing.assert_allclose(a[0].estimate, b[0].estimate, rtol=1e-12)
    np.testing.assert_allclose(a[0].var, b[0].var, rtol=1e-9)
    np.testing.assert_allclose(a[1].var, b[1].var, rtol=1e-9)
    np.testing.assert_array_equal(a[2], b[2])
