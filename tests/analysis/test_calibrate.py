"""Calibration (``calibrate``) against R's survey package, its invariances and its errors.

tests/reference/calibrate_reference.csv holds R's values (written by
tests/reference/calibrate_reference.R, which ``test_stored_reference_is_what_r_gives``
re-runs): GREG calibration with categorical and continuous auxiliaries, ``calfun`` linear,
raking and logit, bounded calibration, on linearised and replicate designs.  Estimates and
weights must agree to 1e-9 (relative), standard errors and interval bounds to 1e-6,
degrees of freedom exactly.
"""
from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest

from analysis import (ConvergenceError, MarginError, SurveyDesign, VariableError,
                      WeightingError)
from analysis.weighting import INTERCEPT
from tests.analysis.reference_designs import (POP_STYPE, REFERENCE_DIR, _bootstrap, domain_label, read_api)
from tests.reference.checks import assert_script_reproduces, load_reference, mismatches

REFERENCE_CSV = REFERENCE_DIR / "calibrate_reference.csv"
TOLERANCE = {"estimate": 1e-9, "weight": 1e-9, "se": 1e-6, "ci_low": 1e-6, "ci_high": 1e-6,
             "df": 0.0}

APIPOP = read_api("apipop")
N = len(APIPOP)
API99 = float(APIPOP["api99"].sum())
ENROLL = float(APIPOP["enroll"].sum())
SCHWIDE = APIPOP["sch.wide"].value_counts().to_dict()
POP_SA = {INTERCEPT: N, "stype": POP_STYPE, "api99": API99}


def _load() -> pd.DataFrame:
    return load_reference("calibrate_reference.csv")


REFERENCE = _load()
CASES = sorted(REFERENCE["case"].unique())


@lru_cache(maxsize=None)
def designs() -> dict:
    """The designs of calibrate_reference.R, under the R objects' names."""
    apistrat, apiclus1, apiclus2 = read_api("apistrat"), read_api("apiclus1"), read_api("apiclus2")
    dstrat = SurveyDesign(apistrat, weights="pw", strata="stype", fpc="fpc")
    dclus1 = SurveyDesign(apiclus1, weights="pw", psu="dnum", fpc="fpc")
    dclus2 = SurveyDesign(apiclus2, psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    multi = {"stype": POP_STYPE, "sch.wide": SCHWIDE, "api99": API99, "enroll": ENROLL}
    d = {
        "lin_strat": dstrat.calibrate(POP_SA),
        "rak_strat": dstrat.calibrate(POP_SA, calfun="raking"),
        "lgt_strat": dstrat.calibrate(POP_SA, calfun="logit", bounds=(0.7, 1.7)),
        "lin_clus1": dclus1.calibrate(POP_SA),
        "rak_clus1": dclus1.calibrate(POP_SA, calfun="raking"),
        "lgt_clus1": dclus1.calibrate(POP_SA, calfun="logit", bounds=(0.7, 1.7)),
        "blin_clus1": dclus1.calibrate(POP_SA, bounds=(0.7, 1.7)),
        "brak_clus1": dclus1.calibrate(POP_SA, calfun="raking", bounds=(0.6, 1.8)),
        "cat_clus1": dclus1.calibrate({"stype": POP_STYPE}),
        "multi_clus1": dclus1.calibrate(multi, calfun="raking"),
        "noint_clus1": dclus1.calibrate({"api99": API99}),
        "pscal1": dclus1.poststratify("stype", POP_STYPE).calibrate(
            {INTERCEPT: N, "api99": API99}),
        "lin_clus2": dclus2.calibrate(POP_SA),
    }
    jkstrat, jkclus1 = dstrat.replicate("jkn"), dclus1.replicate("jkn")
    bsstrat = _bootstrap(dstrat, "apistrat")
    d.update({
        "jklin_strat": jkstrat.calibrate(POP_SA),
        "jkrak_strat": jkstrat.calibrate(POP_SA, calfun="raking"),
        "jklgt_strat": jkstrat.calibrate(POP_SA, calfun="logit", bounds=(0.7, 1.7)),
        "jklin_clus1": jkclus1.calibrate(POP_SA),
        "jkcat_clus1": jkclus1.calibrate({"stype": POP_STYPE}, calfun="raking"),
        "bslin_strat": bsstrat.calibrate(POP_SA),
        "bsblin_strat": bsstrat.calibrate(POP_SA, bounds=(0.7, 1.7)),
        "bsrak_strat": bsstrat.calibrate({"stype": POP_STYPE, "api99": API99, "enroll": ENROLL},
                                         calfun="raking"),
    })
    d["_plain"] = {"dstrat": dstrat, "dclus1": dclus1, "jkstrat": jkstrat, "bsstrat": bsstrat}
    return d


def compute(case: str) -> pd.DataFrame:
    """Recompute a reference case; a table indexed by R's domain labels."""
    parts = case.split("/")
    des = designs()[parts[0]]
    if parts[1] == "degf":
        return pd.DataFrame({"df": [des.degf]}, index=["all"])
    if parts[1] == "weights":
        w = des.weights.to_numpy()
        return pd.DataFrame({"weight": w}, index=[str(i + 1) for i in range(len(w))])
    by = parts[-1][3:] if parts[-1].startswith("by=") else None
    statistic, variable = parts[1], parts[2]
    if statistic == "mean":
        est = des.mean(variable, by=by)
    elif statistic == "total":
        est = des.total(variable, by=by)
    elif statistic == "freq":
        est = des.frequencies(variable, by=by)
    else:
        est = des.proportion(variable, by=by, ci_method=parts[3])
    table = est.to_frame()
    table.index = [domain_label(v) for v in table.index]
    return table


@pytest.mark.parametrize("case", CASES)
def test_agrees_with_r(case):
    expected = REFERENCE[REFERENCE["case"] == case]
    table = compute(case)
    failures = mismatches(expected, table, TOLERANCE, clip_wald=case.endswith("/prop/yr/mean"))
    assert not failures, "\n".join(failures[:20])


def test_reference_covers_the_required_cases():
    cases = set(CASES)
    for design in ("lin_strat", "rak_strat", "lgt_strat", "lin_clus1", "rak_clus1",
                   "lgt_clus1", "blin_clus1", "multi_clus1", "jklin_strat", "jklgt_strat",
                   "bslin_strat", "bsblin_strat"):
        assert f"{design}/mean/api00" in cases and f"{design}/weights" in cases
        assert any(c.startswith(f"{design}/prop/yr/") for c in cases)
    assert "lin_clus1/total/enroll" in cases and "jklin_strat/degf" in cases


def test_bounds_bind_where_the_reference_says_so():
    """The bounded cases do reach their bounds (else they would not test them)."""
    d = designs()
    g = d["blin_clus1"].weights / d["_plain"]["dclus1"].weights
    assert g.min() == pytest.approx(0.7) and g.max() == pytest.approx(1.7)
    free = d["lin_clus1"].weights / d["_plain"]["dclus1"].weights
    assert free.min() < 0.7 and free.max() > 1.7


# Invariances ------------------------------------------------------------------------------

@pytest.mark.parametrize("calfun,bounds", [("linear", None), ("raking", None),
                                           ("logit", (0.5, 2.0)), ("linear", (0.6, 1.8))])
@pytest.mark.parametrize("name", ["dstrat", "dclus1"])
def test_calibrated_totals_are_reproduced(name, calfun, bounds):
    des = designs()["_plain"][name]
    cal = des.calibrate(POP_SA, calfun=calfun, bounds=bounds, tol=1e-12)
    w = cal.weights
    stype = cal.data["stype"]
    assert w.sum() == pytest.approx(N, rel=1e-12)
    for level, count in POP_STYPE.items():
        assert w[stype == level].sum() == pytest.approx(count, rel=1e-12)
    total = cal.total("api99").to_frame()
    assert total["estimate"].iloc[0] == pytest.approx(API99, rel=1e-12)
    # the calibrated total has no sampling error left (its residuals are zero)
    assert total["se"].iloc[0] < 1e-7 * des.total("api99").to_frame()["se"].iloc[0]


@pytest.mark.parametrize("name", ["jklgt_strat", "bsrak_strat", "jklin_clus1"])
def test_every_replicate_reproduces_the_totals(name):
    # to R's convergence criterion: |misfit| < 1e-7 (1 + |total|) for every model column
    # (the first category's count is the intercept's less the dummies')
    des = designs()[name]
    rw = des.replicate_weights
    data = designs()["_plain"]["dstrat" if name.endswith("strat") else "dclus1"].data
    stype = data["stype"]
    np.testing.assert_allclose(rw.sum(axis=0), N, rtol=1e-7)
    for level, count in POP_STYPE.items():
        np.testing.assert_allclose(rw[stype == level].sum(axis=0), count, rtol=3e-7)
    api99 = rw.mul(data["api99"], axis=0).sum(axis=0)
    np.testing.assert_allclose(api99, API99, rtol=1e-7)


@pytest.mark.parametrize("calfun,bounds", [("linear", None), ("raking", None),
                                           ("logit", (0.5, 2.0))])
def test_calibrating_to_the_designs_own_totals_changes_nothing(calfun, bounds):
    des = designs()["_plain"]["dclus1"]
    w = des.weights
    own = {INTERCEPT: w.sum(),
           "stype": w.groupby(des.data["stype"]).sum().to_dict(),
           "api99": float((w * des.data["api99"]).sum())}
    cal = des.calibrate(own, calfun=calfun, bounds=bounds)
    np.testing.assert_allclose(cal.weights, w, rtol=1e-12)
    for variable in ("api00", "enroll"):
        assert cal.mean(variable).to_frame()["estimate"].iloc[0] == pytest.approx(
            des.mean(variable).to_frame()["estimate"].iloc[0], rel=1e-12)


def test_linear_calibration_on_one_margin_is_poststratification():
    des = designs()["_plain"]["dclus1"]
    cal = des.calibrate({"stype": POP_STYPE})
    ps = des.poststratify("stype", POP_STYPE)
    np.testing.assert_allclose(cal.weights, ps.weights, rtol=1e-12)
    for by in (None, "awards", "stype"):
        a, b = cal.mean("api00", by=by).to_frame(), ps.mean("api00", by=by).to_frame()
        np.testing.assert_allclose(a[["estimate", "se"]], b[["estimate", "se"]], rtol=1e-9)
    a, b = cal.proportion("yr", by="awards").to_frame(), ps.proportion("yr", by="awards").to_frame()
    np.testing.assert_allclose(a["se"], b["se"], rtol=1e-9)


def test_raking_calibration_on_margins_is_rake():
    des = designs()["_plain"]["dclus1"]
    margins = {"stype": POP_STYPE, "sch.wide": SCHWIDE}
    cal = des.calibrate(margins, calfun="raking", tol=1e-13)
    raked = des.rake(margins)
    np.testing.assert_allclose(cal.weights, raked.weights, rtol=1e-9)
    a, b = cal.mean("api00", by="awards").to_frame(), raked.mean("api00", by="awards").to_frame()
    np.testing.assert_allclose(a["se"], b["se"], rtol=1e-7)


def test_greg_variance_is_the_residual_variance():
    """Linearised SE after a continuous GREG step = the SE of the weighted residuals of
    ``z`` on the model matrix, computed row by row here (one-stage design: with-replacement
    PSU totals and the fpc)."""
    des = designs()["_plain"]["dstrat"]
    cal = des.calibrate(POP_SA, calfun="raking")
    data = des.data
    w0, w = des.weights.to_numpy(), cal.weights.to_numpy()
    g = w / w0
    X = np.column_stack([np.ones(len(data)), data["stype"] == "H", data["stype"] == "M",
                         data["api99"]]).astype(float)
    y = data["enroll"].to_numpy(float)
    x = w * y                                  # linearised values of the total
    beta = np.linalg.solve(X.T @ (X * w0[:, None]), X.T @ (x / g))
    e = x - w * (X @ beta)
    var = 0.0
    for level in ("E", "H", "M"):
        rows = (data["stype"] == level).to_numpy()
        n_h = rows.sum()
        f = 1 - n_h / data.loc[rows, "fpc"].iloc[0]
        var += f * n_h / (n_h - 1) * ((e[rows] - e[rows].mean()) ** 2).sum()
    assert cal.total("enroll").to_frame()["se"].iloc[0] == pytest.approx(np.sqrt(var),
                                                                          rel=1e-9)


def test_calibration_steps_stack_and_are_recorded():
    des = designs()["pscal1"]
    assert des.calibrated and len(des.calibration) == 2
    assert des.calibration[-1].kind == "calibrate"
    assert "calibrated (linear) to (Intercept), api99" in des.history[-1]


# Errors ---------------------------------------------------------------------------------

def test_unknown_calfun_lists_the_allowed_ones():
    des = designs()["_plain"]["dclus1"]
    with pytest.raises(WeightingError) as err:
        des.calibrate(POP_SA, calfun="rrz")
    assert err.value.argument == "calfun" and err.value.value == "rrz"
    assert all(name in str(err.value) for name in ("'linear'", "'raking'", "'logit'"))
    with pytest.raises(WeightingError) as err:
        designs()["_plain"]["jkstrat"].calibrate(POP_SA, calfun="GREG")
    assert err.value.argument == "calfun"


def test_totals_that_miss_a_category_of_the_data_name_it():
    des = designs()["_plain"]["dclus1"]
    with pytest.raises(MarginError) as err:
        des.calibrate({"stype": {"E": 4421, "H": 755}, "api99": API99})
    assert err.value.argument == "totals" and err.value.categories == {"stype": ["M"]}
    assert "'M'" in str(err.value)


def test_totals_with_a_category_absent_from_the_data_name_it():
    des = designs()["_plain"]["dclus1"]
    with pytest.raises(MarginError) as err:
        des.calibrate({"stype": {**POP_STYPE, "K": 12}})
    assert err.value.categories == {"stype": ["K"]} and "'K'" in str(err.value)
    # a category counted 0 may be absent
    des.calibrate({"stype": {**POP_STYPE, "K": 0}})


def test_margin_disagreeing_with_the_population_size():
    des = designs()["_plain"]["dclus1"]
    with pytest.raises(MarginError) as err:
        des.calibrate({INTERCEPT: N + 10, "stype": POP_STYPE})
    assert "6194" in str(err.value) and "6204" in str(err.value)
    with pytest.raises(MarginError):
        des.calibrate({"stype": POP_STYPE, "sch.wide": {"Yes": 5000, "No": 1000}})


@pytest.mark.parametrize("totals,text", [
    ({}, "non-empty"),
    ({"api99": "many"}, "not a finite number"),
    ({INTERCEPT: -3}, "positive"),
    ({"no_such_column": 5.0}, "no_such_column"),
])
def test_bad_totals(totals, text):
    with pytest.raises((MarginError, VariableError)) as err:
        designs()["_plain"]["dclus1"].calibrate(totals)
    assert text in str(err.value) and err.value.argument == "totals"


def test_missing_auxiliary_values_are_an_error():
    data = read_api("apiclus1")
    data.loc[data.index[:3], "api99"] = np.nan
    des = SurveyDesign(data, weights="pw", psu="dnum", fpc="fpc")
    with pytest.raises(MarginError) as err:
        des.calibrate(POP_SA)
    assert "3 respondents" in str(err.value) and err.value.value == "api99"


def test_bounds_that_cannot_be_met_give_the_range_reached():
    des = designs()["_plain"]["dclus1"]
    with pytest.raises(ConvergenceError) as err:
        des.calibrate(POP_SA, bounds=(0.95, 1.05))
    e = err.value
    assert e.argument == "bounds" and e.iterations > 1 and e.max_gap > 1e-7
    message = str(e)
    assert "cannot be met" in message and "[0.95, 1.05]" in message
    number = r"([0-9.]+(?:e[-+]?[0-9]+)?)"
    reached = re.search(f"g-weights range from {number} to {number} and", message)
    assert 0.95 <= float(reached[1]) < float(reached[2]) <= 1.05
    # the range linear calibration without bounds needs is that of lin_clus1
    need = re.search(f"needs g from {number} to {number}", message)
    free = designs()["lin_clus1"].weights / des.weights
    assert float(need[1]) == pytest.approx(free.min(), rel=1e-5)
    assert float(need[2].rstrip(".")) == pytest.approx(free.max(), rel=1e-5)
    assert "widen the bounds" in e.fix


def test_bad_bounds():
    des = designs()["_plain"]["dclus1"]
    for bounds in ((1.2, 2.0), (0.5,), "wide", (0.5, float("nan"))):
        with pytest.raises(WeightingError) as err:
            des.calibrate(POP_SA, bounds=bounds)
        assert err.value.argument == "bounds"
    with pytest.raises(WeightingError) as err:
        des.calibrate(POP_SA, calfun="logit")
    assert err.value.argument == "bounds" and "finite" in str(err.value)


def test_non_convergence():
    des = designs()["_plain"]["dclus1"]
    with pytest.raises(ConvergenceError) as err:
        des.calibrate(POP_SA, calfun="raking", max_iter=1)
    assert err.value.argument == "max_iter" and err.value.iterations == 2
    assert err.value.worst_margin[0] in ("(Intercept)", "stype", "api99")


def test_negative_weights_are_refused():
    des = designs()["_plain"]["dclus1"]
    with pytest.raises(WeightingError) as err:
        des.calibrate({**POP_SA, "api99": 0.5 * API99})
    assert "negative" in str(err.value) and "bounds" in err.value.fix


def test_a_replicate_that_cannot_be_calibrated_is_named():
    bsstrat = designs()["_plain"]["bsstrat"]
    with pytest.raises(ConvergenceError) as err:
        bsstrat.calibrate(POP_SA, bounds=(0.9, 1.1))
    assert "replicate" in str(err.value) and err.value.argument == "bounds"


@pytest.mark.r_reference
def test_stored_reference_is_what_r_gives(tmp_path):
    assert_script_reproduces("calibrate_reference.R", "calibrate_reference.csv", tmp_path)
