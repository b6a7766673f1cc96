"""Weighting: design weights, nonresponse, post-stratification, raking, trimming."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import (ConvergenceError, DesignError, MarginError, SurveyDesign, WeightingError,
                      design_weights)
from tests.analysis.reference_designs import AGE_POP, SEX_POP, read_nantong


@pytest.fixture(scope="module")
def nantong() -> pd.DataFrame:
    return read_nantong()


@pytest.fixture(scope="module")
def dnt(nantong) -> SurveyDesign:
    return SurveyDesign(nantong, weights="weight", strata="district", psu="community",
                        fpc="fpc", nest=True)


def test_design_weights_from_probabilities():
    assert design_weights([0.5, 0.25]).tolist() == [2.0, 4.0]
    assert design_weights([0.5, 0.5], [0.1, 0.2]).tolist() == pytest.approx([20.0, 10.0])
    with pytest.raises(DesignError) as info:
        design_weights([0.5, 0.0])
    assert info.value.value == 0.0


def test_raking_reproduces_margins_and_reports_history(dnt, nantong):
    raked = dnt.rake({"sex": SEX_POP, "age_group": AGE_POP})
    w = raked.weights
    for var, margin in (("sex", SEX_POP), ("age_group", AGE_POP)):
        sums = w.groupby(nantong[var]).sum()
        for cat, target in margin.items():
            assert sums[cat] == pytest.approx(target, rel=1e-10)
    assert raked.calibrated and not dnt.calibrated
    assert "raked on sex, age_group" in raked.describe()
    assert dnt.weights.sum() != pytest.approx(w.sum())       # the original is unchanged


def test_raking_category_mismatch_is_named(dnt):
    with pytest.raises(MarginError) as info:
        dnt.rake({"sex": {"男": 3.9e6}, "age_group": AGE_POP})
    assert info.value.categories == {"sex": ["女"]}
    with pytest.raises(MarginError) as info:
        dnt.rake({"sex": {**SEX_POP, "其他": 100.0}, "age_group": AGE_POP})
    assert info.value.categories == {"sex": ["其他"]}
    assert "collapse" in info.value.fix


def test_raking_totals_must_agree(dnt):
    with pytest.raises(MarginError, match="totals disagree") as info:
        dnt.rake({"sex": SEX_POP, "age_group": {k: v * 1.01 for k, v in AGE_POP.items()}})
    assert set(info.value.value) == {"sex", "age_group"}


def test_raking_non_convergence_reports_iterations_and_gap(dnt):
    with pytest.raises(ConvergenceError) as info:
        dnt.rake({"sex": SEX_POP, "age_group": AGE_POP}, max_iter=1, tol=1e-14)
    err = info.value
    assert err.iterations == 1 and err.max_gap > 1e-14
    assert err.worst_margin[0] in ("sex", "age_group")
    assert "did not converge in 1 iterations" in str(err)


def test_rake_unknown_variable(dnt):
    with pytest.raises(MarginError) as info:
        dnt.rake({"gender": SEX_POP})
    assert info.value.value == "gender"


def test_poststratify_errors(dnt):
    with pytest.raises(MarginError) as info:
        dnt.poststratify("age_group", {"18-34": 1e6, "35-59": 2e6})
    assert info.value.categories == {"age_group": ["60+"]}
    with pytest.raises(MarginError) as info:
        dnt.poststratify("age_group", {**AGE_POP, "0-17": 5e5})
    assert "partial=True" in info.value.fix
    ps = dnt.poststratify("age_group", {**AGE_POP, "0-17": 5e5}, partial=True)
    assert ps.weights.sum() == pytest.approx(sum(AGE_POP.values()))


def test_poststratify_on_two_variables(dnt, nantong):
    cells = nantong.groupby(["sex", "age_group"])["weight"].sum() * 0.9
    ps = dnt.poststratify(["sex", "age_group"], cells.to_dict())
    got = ps.weights.groupby([nantong["sex"], nantong["age_group"]]).sum()
    assert np.allclose(got.to_numpy(), cells.to_numpy())


def test_raking_then_same_margin_poststratification_agree_on_weights(dnt):
    one = dnt.rake({"age_group": AGE_POP})
    two = dnt.poststratify("age_group", AGE_POP)
    assert np.allclose(one.weights, two.weights, rtol=1e-10)
    # and the calibration-aware standard errors are the same
    a = one.mean("score").to_frame().loc["all", "se"]
    b = two.mean("score").to_frame().loc["all", "se"]
    assert a == pytest.approx(b, rel=1e-9)


def test_trim_keeps_sum_and_bounds(dnt):
    w = dnt.weights
    upper = float(w.quantile(0.9))
    t = dnt.trim(upper=upper)
    assert t.weights.sum() == pytest.approx(w.sum())
    assert (t.weights[w > upper] == upper).all()
    strict = dnt.trim(upper=upper, strict=True)
    assert strict.weights.max() <= upper * (1 + 1e-12)
    assert dnt.trim(upper=w.max() + 1) is dnt
    with pytest.raises(WeightingError):
        dnt.trim(lower=10, upper=5)


def test_nonresponse_weighting_classes(nantong):
    rng = np.random.default_rng(3)
    df = nantong.assign(responded=(rng.random(len(nantong)) < 0.8).astype(int))
    des = SurveyDesign(df, weights="weight", strata="district", psu="community", fpc="fpc",
                       nest=True)
    adj = des.adjust_nonresponse("responded", classes="district")
    w0, w1 = des.weights, adj.weights
    assert (w1[df["responded"] == 0] == 0).all()
    by_class = w1.groupby(df["district"]).sum()
    assert np.allclose(by_class, w0.groupby(df["district"]).sum())
    # estimates then use respondents only; df counts PSUs with respondents
    assert adj.mean("score").to_frame().loc["all", "n"] == df["responded"].sum()


def test_nonresponse_class_without_respondent_is_named(nantong):
    df = nantong.assign(responded=np.where(nantong["district"] == "开发区", 0, 1))
    des = SurveyDesign(df, weights="weight", strata="district", psu="community", fpc="fpc",
                       nest=True)
    with pytest.raises(WeightingError) as info:
        des.adjust_nonresponse("responded", classes="district")
    assert info.value.value == ["开发区"]


def test_nonresponse_propensity(nantong):
    rng = np.random.default_rng(4)
    prob = np.where(nantong["age_group"] == "60+", 0.9, 0.6)
    df = nantong.assign(responded=(rng.random(len(nantong)) < prob).astype(int))
    des = SurveyDesign(df, weights="weight", strata="district", psu="community", fpc="fpc",
                       nest=True)
    adj = des.adjust_nonresponse("responded", covariates=["age_group", "sex"],
                                 method="propensity")
    resp = df["responded"] == 1
    assert (adj.weights[~resp] == 0).all()
    assert adj.weights.sum() == pytest.approx(des.weights.sum(), rel=0.05)
    # older respondents are more likely to answer, so they get smaller adjustments
    ratio = (adj.weights[resp] / des.weights[resp]).groupby(df.loc[resp, "age_group"]).mean()
    assert ratio["60+"] < ratio["18-34"]
    classes = des.adjust_nonresponse("responded", covariates=["age_group"],
                                     method="propensity", n_classes=3)
    assert classes.weights.sum() == pytest.approx(des.weights.sum())


def test_nonresponse_indicator_must_be_binary(dnt):
    with pytest.raises(WeightingError) as info:
        dnt.adjust_nonresponse("score")
    assert info.value.argument == "responded"


def test_calibration_works_on_arrays_and_returns_its_step(dnt, nantong):
    """weighting takes weights and codes (no design) and returns the new weights with the
    public calibration step the design keeps for its standard errors."""
    from analysis.weighting import CalibrationStep, poststratification, raking

    w = nantong["weight"].to_numpy(dtype=float)
    codes, labels = pd.factorize(nantong["age_group"], sort=True)
    new_w, step = poststratification(w, [("age_group", codes, pd.Index(labels))], AGE_POP)
    assert isinstance(step, CalibrationStep) and step.kind == "poststratify"
    ps = dnt.poststratify("age_group", AGE_POP)
    assert np.array_equal(new_w, ps.weights.to_numpy())
    assert ps.calibration[-1].label == step.label == "post-stratified on age_group"
    sex, sex_labels = pd.factorize(nantong["sex"], sort=True)
    raked_w, rake_step, sweeps = raking(
        w, [("sex", sex, pd.Index(sex_labels)), ("age_group", codes, pd.Index(labels))],
        {"sex": SEX_POP, "age_group": AGE_POP})
    raked = dnt.rake({"sex": SEX_POP, "age_group": AGE_POP})
    assert np.allclose(raked_w, raked.weights.to_numpy(), rtol=1e-13, atol=0)
    assert rake_step.kind == "raking" and sweeps >= 1 and raked.calibrated
    assert w.flags.writeable                      # the caller's array is left alone
