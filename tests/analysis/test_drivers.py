"""Key-driver analysis (analysis.drivers.key_drivers).

* Against R (tests/reference/key_drivers_reference.csv, base R on the built-in ``swiss``):
  LMG by all orderings of lm() fits, Johnson's weights by their formula, R² and weighted
  means, unweighted and weighted, to 1e-9; the CSV is re-run through R.
* Replicate standard errors against a brute-force computation (every subset refitted with
  numpy lstsq in every replicate, Johnson's weights from the data's SVD) to 1e-10.
* Properties (hypothesis, seeded): decompositions sum to R², invariance to rescaling
  drivers and weights, permuting drivers permutes the results.
* Bad input: clear errors naming the item and the fix.
"""
from __future__ import annotations

from itertools import combinations, permutations
from math import factorial

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import SurveyDesign
from analysis.drivers import KEY_DRIVER_METHODS, KeyDrivers, key_drivers
from analysis.errors import ReplicateError, SurveyError, VariableError
from tests.conftest import REFERENCE_DIR
from tests.reference.checks import assert_script_reproduces, load_reference

REFERENCE_CSV = REFERENCE_DIR / "key_drivers_reference.csv"
OUTCOME = "Fertility"
DRIVERS = ["Agriculture", "Examination", "Education", "Catholic", "Infant.Mortality"]
QUANTITY = {"lmg": ("shapley", "importance"), "relative_weight": ("relative_weights",
                                                                   "importance")}


def _load() -> pd.DataFrame:
    return load_reference("key_drivers_reference.csv")


REFERENCE = _load()


def _swiss() -> pd.DataFrame:
    data = REFERENCE[REFERENCE["case"] == "data/swiss"]
    columns = list(dict.fromkeys(data["driver"]))
    return pd.DataFrame({c: data.loc[data["driver"] == c, "value"].to_numpy(dtype=float)
                         for c in columns})


def _swiss_design(case: str) -> SurveyDesign:
    df = _swiss()
    n = len(df)
    # the R script's weights: rep(1, n) and 1 + (seq_len(n) %% 3)
    df["w"] = np.ones(n) if case == "swiss/unweighted" else 1.0 + (np.arange(1, n + 1) % 3)
    return SurveyDesign(df, weights="w")


@pytest.mark.parametrize("case", ["swiss/unweighted", "swiss/weighted"])
@pytest.mark.parametrize("method", KEY_DRIVER_METHODS)
def test_agrees_with_r(case, method):
    des = _swiss_design(case)
    kd = key_drivers(des, OUTCOME, DRIVERS, scale=(0, 100), method=method, replicates=20,
                     seed=1)
    table = kd.to_frame()
    expected = REFERENCE[REFERENCE["case"] == case]
    quantity = "lmg" if method == "shapley" else "relative_weight"
    rows = expected[expected["quantity"] == quantity].set_index("driver")["value"]
    assert len(rows) == len(DRIVERS)
    np.testing.assert_allclose(table.loc[rows.index, "importance"], rows, rtol=1e-9, atol=0)
    r2 = float(expected.loc[expected["quantity"] == "r2", "value"].iloc[0])
    assert kd.r2 == pytest.approx(r2, rel=1e-9, abs=0)
    np.testing.assert_allclose(table["share"], table["importance"] / r2, rtol=1e-9)
    means = expected[expected["quantity"] == "weighted_mean"].set_index("driver")["value"]
    np.testing.assert_allclose(table.loc[means.index, "mean"], means, rtol=1e-9, atol=0)
    # on a 0-100 scale the performance is the mean itself
    np.testing.assert_allclose(table.loc[means.index, "performance"], means, rtol=1e-9)


def test_the_reference_data_is_swiss():
    swiss = _swiss()
    assert swiss.shape == (47, 6)
    assert list(swiss.columns) == [OUTCOME, *DRIVERS]
    assert swiss[OUTCOME].iloc[0] == 80.2          # Courtelary, as printed by R's `swiss`


def test_stored_reference_is_what_r_gives(tmp_path):
    assert_script_reproduces("key_drivers_reference.R", "key_drivers_reference.csv", tmp_path,
                             package="stats")


# Replicate intervals against brute force ---------------------------------------------------
def _brute_r2(X: np.ndarray, y: np.ndarray, w: np.ndarray, cols) -> float:
    """Weighted least squares R² of y on an intercept and X[:, cols] (numpy lstsq)."""
    keep = w > 0
    X, y, w = X[keep], y[keep], w[keep]
    sw = np.sqrt(w)
    A = np.column_stack([np.ones(len(y)), X[:, list(cols)]])
    beta = np.linalg.lstsq(A * sw[:, None], y * sw, rcond=None)[0]
    resid = y - A @ beta
    ybar = np.average(y, weights=w)
    return 1 - (w * resid ** 2).sum() / (w * (y - ybar) ** 2).sum()


def _brute_lmg(X, y, w) -> np.ndarray:
    """LMG as the average over all orderings of each driver's gain in R² (refits)."""
    p = X.shape[1]
    r2 = {(): 0.0}
    for k in range(1, p + 1):
        for s in combinations(range(p), k):
            r2[s] = _brute_r2(X, y, w, s)
    out = np.zeros(p)
    for order in permutations(range(p)):
        for i, j in enumerate(order):
            out[j] += r2[tuple(sorted(order[:i + 1]))] - r2[tuple(sorted(order[:i]))]
    return out / factorial(p)


def _brute_relative_weights(X, y, w) -> np.ndarray:
    """Johnson (2000) from the data: Z = P Q' from the SVD of the standardised drivers; y
    regressed on Z (beta) and each driver on Z (Lambda) with lstsq; weights Lambda² beta²."""
    keep = w > 0
    X, y, w = X[keep], y[keep], w[keep]
    sw = np.sqrt(w / w.sum())

    def standardise(a):
        m = np.average(a, axis=0, weights=w)
        s = np.sqrt(np.average((a - m) ** 2, axis=0, weights=w))
        return (a - m) / s * (sw[:, None] if a.ndim == 2 else sw)

    Xs, ys = standardise(X), standardise(y)
    P, _, Qt = np.linalg.svd(Xs, full_matrices=False)
    Z = P @ Qt
    beta = np.linalg.lstsq(Z, ys, rcond=None)[0]
    lam = np.linalg.lstsq(Z, Xs, rcond=None)[0]          # lam[k, j]: driver j on Z_k
    return (lam.T ** 2) @ beta ** 2


def _small_sample(rng, n_strata=3, psus=4, rows=6, p=3) -> pd.DataFrame:
    recs = []
    for h in range(n_strata):
        for c in range(psus):
            for _ in range(rows):
                x = rng.integers(1, 11, p).astype(float)
                recs.append({"stratum": h, "psu": f"{h}-{c}", "fpc": 50,
                             "w": float(rng.uniform(1, 5)),
                             **{f"d{j}": x[j] for j in range(p)},
                             "y": float(x @ np.arange(1, p + 1) / p + rng.normal(0, 2))})
    return pd.DataFrame(recs)


@pytest.mark.parametrize("how", ["bootstrap", "jkn", "jkn-mse"])
def test_replicate_se_equal_brute_force(rng, how):
    df = _small_sample(rng)
    drivers = ["d0", "d1", "d2"]
    des = SurveyDesign(df, weights="w", strata="stratum", psu="psu", fpc="fpc")
    rep = (des.replicate("bootstrap", replicates=15, seed=3) if how == "bootstrap"
           else des.replicate("jkn", mse=how == "jkn-mse"))
    X, y = df[drivers].to_numpy(float), df["y"].to_numpy(float)
    columns = [des.weights.to_numpy()] + list(rep.replicate_weights.to_numpy().T)

    def svrvar(thetas):
        full, reps = thetas[0], thetas[1:]
        centre = full if rep.mse else reps[rep.rscales > 0].mean(axis=0)
        return rep.scale * (rep.rscales[:, None] * (reps - centre) ** 2).sum(axis=0)

    lo, hi = 1.0, 10.0
    perf = np.array([(np.average(X, axis=0, weights=w) - lo) / (hi - lo) * 100
                     for w in columns])
    for method, brute in (("shapley", _brute_lmg), ("relative_weights",
                                                    _brute_relative_weights)):
        thetas = np.array([brute(X, y, w) for w in columns])
        r2 = np.array([_brute_r2(X, y, w, range(3)) for w in columns])
        kd = key_drivers(des, "y", drivers, scale=(lo, hi), method=method, replicates=rep)
        t = kd.to_frame()
        np.testing.assert_allclose(t["importance"], thetas[0], rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(t["se"], np.sqrt(svrvar(thetas)), rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(t["share_se"], np.sqrt(svrvar(thetas / r2[:, None])),
                                   rtol=1e-10, atol=1e-13)
        assert kd.r2_se == pytest.approx(float(np.sqrt(svrvar(r2[:, None]))[0]), rel=1e-10)
        np.testing.assert_allclose(t["performance_se"], np.sqrt(svrvar(perf)), rtol=1e-10)
        assert kd.df == rep.degf


def test_performance_se_is_the_designs_own_mean_se(rng):
    """The performance interval is the replicate design's mean interval, rescaled."""
    df = _small_sample(rng)
    des = SurveyDesign(df, weights="w", strata="stratum", psu="psu", fpc="fpc")
    rep = des.replicate("jkn")
    kd = key_drivers(des, "y", ["d0", "d1", "d2"], scale=(1, 10), replicates=rep)
    t = kd.to_frame()
    for d in ("d0", "d1", "d2"):
        est = rep.mean(d)
        assert t.loc[d, "performance"] == pytest.approx((est.estimate - 1) / 9 * 100, rel=1e-12)
        assert t.loc[d, "performance_se"] == pytest.approx(est.se / 9 * 100, rel=1e-10)
        assert t.loc[d, "performance_ci_low"] == pytest.approx((est.ci[0] - 1) / 9 * 100,
                                                               rel=1e-10)


def test_scale_per_driver(rng):
    df = _small_sample(rng)
    df["d1"] = df["d1"] - 1                            # answered on 0-9
    des = SurveyDesign(df, weights="w")
    scale = {"d0": (1, 10), "d1": (0, 9), "d2": (0, 20)}
    t = key_drivers(des, "y", ["d0", "d1", "d2"], scale=scale, replicates=5,
                    seed=1).to_frame()
    w = df["w"].to_numpy()
    for d, (lo, hi) in scale.items():
        expected = (np.average(df[d], weights=w) - lo) / (hi - lo) * 100
        assert t.loc[d, "performance"] == pytest.approx(expected, rel=1e-12)


def test_replicate_design_as_design(rng):
    df = _small_sample(rng)
    des = SurveyDesign(df, weights="w", strata="stratum", psu="psu", fpc="fpc")
    rep = des.replicate("jkn")
    if hasattr(rep, "data"):
        a = key_drivers(rep, "y", ["d0", "d1"], scale=(1, 10)).to_frame()
        b = key_drivers(des, "y", ["d0", "d1"], scale=(1, 10), replicates=rep).to_frame()
        pd.testing.assert_frame_equal(a, b)
    else:
        with pytest.raises(SurveyError, match="replicates="):
            key_drivers(rep, "y", ["d0", "d1"], scale=(1, 10))


def test_default_replicates_are_a_seeded_bootstrap(rng):
    df = _small_sample(rng)
    des = SurveyDesign(df, weights="w", strata="stratum", psu="psu", fpc="fpc")
    a = key_drivers(des, "y", ["d0", "d1", "d2"], scale=(1, 10), seed=7)
    b = key_drivers(des, "y", ["d0", "d1", "d2"], scale=(1, 10),
                    replicates=des.replicate("bootstrap", replicates=200, seed=7))
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    assert a.variance == "bootstrap (200 replicates)"


# Quadrants and the result ---------------------------------------------------------------------
def test_priority_quadrant(rng):
    """'a' drives the outcome but scores low: it is the priority; 'c' scores high but
    barely matters: surplus."""
    n = 400
    a = rng.integers(1, 5, n).astype(float)          # low performance, strong effect
    b = rng.integers(4, 8, n).astype(float)          # middling
    c = rng.integers(7, 11, n).astype(float)         # high performance, weak effect
    y = 3 * a + 1 * b + 0.05 * c + rng.normal(0, 1, n)
    df = pd.DataFrame({"a": a, "b": b, "c": c, "y": y, "w": rng.uniform(1, 2, n)})
    kd = key_drivers(SurveyDesign(df, weights="w"), "y", ["a", "b", "c"], scale=(1, 10),
                     replicates=30, seed=1)
    t = kd.to_frame()
    assert t.loc["a", "quadrant"] == "priority" and bool(t.loc["a", "priority"])
    assert t.loc["c", "quadrant"] == "surplus"
    assert kd.priority == ("a",)
    assert t["high_importance"].tolist() == list(t["importance"] > t["importance"].mean())
    assert t["high_performance"].tolist() == list(t["performance"] > t["performance"].mean())
    text = kd.summary()
    assert "priority" in text and "R²" in text and "Shapley" in text
    assert isinstance(kd, KeyDrivers)
    with pytest.raises(Exception):
        kd.r2 = 0.0                                   # frozen


def test_missing_answers_are_left_out_listwise(rng):
    df = _small_sample(rng)
    df.loc[[0, 5], "d1"] = np.nan
    df.loc[7, "y"] = np.nan
    des = SurveyDesign(df, weights="w", strata="stratum", psu="psu", fpc="fpc")
    rep = des.replicate("jkn")
    kd = key_drivers(des, "y", ["d0", "d1", "d2"], scale=(1, 10), replicates=rep)
    assert kd.n == len(df) - 3
    assert any("3 respondents" in note for note in kd.notes)
    X, y, w = (df[["d0", "d1", "d2"]].to_numpy(float), df["y"].to_numpy(float),
               des.weights.to_numpy().copy())
    w[[0, 5, 7]] = 0.0
    np.testing.assert_allclose(kd.to_frame()["importance"], _brute_lmg(X, y, w), rtol=1e-10)
    assert kd.to_frame().loc["d0", "mean"] == pytest.approx(np.average(X[:, 0], weights=w))


# Properties -----------------------------------------------------------------------------------
SETTINGS = settings(max_examples=15, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def samples(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    p = draw(st.integers(2, 5))
    n = draw(st.integers(p + 10, 80))
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) @ rng.normal(size=(p, p)) + 5
    y = X @ rng.normal(size=p) + rng.normal(0, 2, n)
    df = pd.DataFrame(X, columns=[f"x{j}" for j in range(p)])
    df["y"] = y
    df["w"] = rng.uniform(0.5, 4, n)
    return df, [f"x{j}" for j in range(p)]


def _run(df, drivers, method, **kw):
    des = SurveyDesign(df, weights="w")
    return key_drivers(des, "y", drivers, scale=(-1e6, 1e6), method=method, replicates=8,
                       seed=11, **kw)


@SETTINGS
@given(samples(), st.sampled_from(KEY_DRIVER_METHODS))
def test_importances_sum_to_r2(sample, method):
    df, drivers = sample
    kd = _run(df, drivers, method)
    t = kd.to_frame()
    assert t["importance"].sum() == pytest.approx(kd.r2, rel=1e-9)
    assert t["share"].sum() == pytest.approx(1.0, rel=1e-9)
    assert (t["importance"] >= -1e-12).all()
    w = df["w"].to_numpy()
    assert kd.r2 == pytest.approx(_brute_r2(df[drivers].to_numpy(), df["y"].to_numpy(), w,
                                            range(len(drivers))), rel=1e-9)


@SETTINGS
@given(samples(), st.sampled_from(KEY_DRIVER_METHODS),
       st.floats(0.01, 100), st.floats(-50, 50), st.booleans(), st.floats(0.01, 1000))
def test_invariant_to_rescaling_drivers_and_weights(sample, method, a, b, flip, c):
    df, drivers = sample
    base = _run(df, drivers, method).to_frame()
    other = df.copy()
    for d in drivers:
        other[d] = (-a if flip else a) * other[d] + b
    other["y"] = a * other["y"] - b
    other["w"] = c * other["w"]
    moved = _run(other, drivers, method).to_frame()
    for column in ("importance", "share", "se", "share_se"):
        np.testing.assert_allclose(moved[column], base[column], rtol=1e-7, atol=1e-12)


@SETTINGS
@given(samples(), st.sampled_from(KEY_DRIVER_METHODS), st.randoms(use_true_random=False))
def test_permuting_drivers_permutes_results(sample, method, random):
    df, drivers = sample
    order = list(drivers)
    random.shuffle(order)
    base = _run(df, drivers, method).to_frame()
    moved = _run(df, order, method).to_frame()
    pd.testing.assert_frame_equal(moved.loc[drivers], base, rtol=1e-9, atol=1e-12)


# Bad input ------------------------------------------------------------------------------------
@pytest.fixture
def design(rng):
    return SurveyDesign(_small_sample(rng, p=4), weights="w", strata="stratum", psu="psu",
                        fpc="fpc")


def test_collinear_drivers_are_named(design):
    df = design.data.copy()
    df["d3"] = (df["d0"] + df["d1"]) / 2
    des = SurveyDesign(df, weights="w", strata="stratum", psu="psu", fpc="fpc")
    with pytest.raises(VariableError, match="perfectly collinear") as err:
        key_drivers(des, "y", ["d0", "d1", "d2", "d3"], scale=(1, 10), replicates=5, seed=1)
    message = str(err.value)
    assert "'d0'" in message and "'d1'" in message and "'d3'" in message
    assert "'d2'" not in message.split("Fix")[0].split("(got")[0]
    assert err.value.argument == "drivers" and "drop one of" in err.value.fix


def test_too_few_respondents(rng):
    df = _small_sample(rng, n_strata=1, psus=2, rows=2, p=4)      # 4 respondents
    des = SurveyDesign(df, weights="w")
    with pytest.raises(VariableError, match="too few respondents") as err:
        key_drivers(des, "y", ["d0", "d1", "d2", "d3"], scale=(1, 10), replicates=5, seed=1)
    assert "at least 6" in str(err.value) and "fewer drivers" in err.value.fix


def test_driver_that_does_not_vary(design):
    df = design.data.copy()
    df["d2"] = 5.0
    des = SurveyDesign(df, weights="w")
    with pytest.raises(VariableError, match="'d2' has the same value"):
        key_drivers(des, "y", ["d0", "d1", "d2"], scale=(1, 10), replicates=5, seed=1)


@pytest.mark.parametrize("kwargs, match", [
    ({"method": "lmg"}, "shapley, relative_weights"),
    ({"replicate_method": "brr"}, "bootstrap, jkn"),
    ({"level": 95}, "between 0 and 1"),
    ({"scale": {"d0": (1, 10)}}, "no answer scale for 'd1'"),
    ({"scale": (10, 1)}, "min < max"),
    ({"scale": (1, 5)}, "outside its answer scale"),
    ({"replicates": 1}, "at least 2"),
    ({"drivers": ["d0"]}, "at least two drivers"),
    ({"drivers": ["d0", "y"]}, "also a driver"),
    ({"drivers": ["d0", "d0"]}, "more than once"),
    ({"drivers": ["d0", "nope"]}, "'nope' is not in the data"),
    ({"drivers": ["d0", "stratum_name"]}, "not numeric"),
])
def test_bad_options_raise_clear_errors(design, kwargs, match):
    df = design.data.copy()
    df["stratum_name"] = "S" + df["stratum"].astype(str)
    des = SurveyDesign(df, weights="w", strata="stratum", psu="psu", fpc="fpc")
    args = {"drivers": ["d0", "d1", "d2"], "scale": (1, 10), "replicates": 5, "seed": 1,
            **kwargs}
    drivers = args.pop("drivers")
    with pytest.raises(SurveyError, match=match) as err:
        key_drivers(des, "y", drivers, **args)
    assert "Fix:" in str(err.value)


def test_driver_that_varies_in_one_psu_only(rng):
    """Bootstrap replicates that leave out that PSU cannot estimate its importance."""
    df = _small_sample(rng)
    df["d2"] = np.where(df["psu"] == "0-0", df["d2"], 5.0)
    des = SurveyDesign(df, weights="w", strata="stratum", psu="psu", fpc="fpc")
    with pytest.raises(ReplicateError, match="'d2' does not vary in") as err:
        key_drivers(des, "y", ["d0", "d1", "d2"], scale=(1, 10), replicates=30, seed=1)
    assert "leave that variable out" in err.value.fix


def test_replicates_of_another_design(design, rng):
    other = SurveyDesign(_small_sample(rng, p=4), weights="w", strata="stratum", psu="psu",
                         fpc="fpc")
    with pytest.raises(ReplicateError, match="not those of this design"):
        key_drivers(design, "y", ["d0", "d1"], scale=(1, 10),
                    replicates=other.replicate("jkn"))
