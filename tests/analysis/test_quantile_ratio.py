"""Quantiles, ratios and the variance against R's survey 4.1.1
(tests/reference/toolbox_quantile_ratio_reference.csv), and their properties.

Estimates agree to 1e-9 (relative), standard errors, interval limits and covariances to
1e-6, degrees of freedom exactly, on linearisation designs (one stage with strata and fpc,
two stages with fpc at both, nhanes' strata and nested PSUs, a post-stratified design) and
on replicate designs (JKn, bootstrap from the project's factors).
``test_stored_reference_is_what_r_gives`` re-runs the R script.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings, strategies as st

from analysis import ReplicateDesign, SurveyDesign, VariableError
from analysis.design.quantiles import QUANTILE_RULES, quantile_rule, zeroin
from tests.analysis.reference_designs import POP_STYPE, REFERENCE_DIR, domain_label, read_api
from tests.reference.checks import assert_script_reproduces, load_reference, mismatches

REFERENCE_CSV = REFERENCE_DIR / "toolbox_quantile_ratio_reference.csv"
TOLERANCE = {"estimate": 1e-9, "se": 1e-6, "ci_low": 1e-6, "ci_high": 1e-6, "cov": 1e-6,
             "df": 0.0}


def _load() -> pd.DataFrame:
    return load_reference("toolbox_quantile_ratio_reference.csv")


REFERENCE = _load()
CASES = sorted(REFERENCE["case"].unique())


@lru_cache(maxsize=None)
def designs() -> dict:
    """The designs of the R script, by its names."""
    apistrat, apiclus1, apiclus2 = read_api("apistrat"), read_api("apiclus1"), read_api("apiclus2")
    nhanes = pd.read_csv(REFERENCE_DIR / "survey_data" / "nhanes.csv")
    d: dict = {}
    d["dstrat"] = SurveyDesign(apistrat, weights="pw", strata="stype", fpc="fpc")
    d["dclus2"] = SurveyDesign(apiclus2, psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    dclus1 = SurveyDesign(apiclus1, weights="pw", psu="dnum", fpc="fpc")
    d["ps1"] = dclus1.poststratify("stype", POP_STYPE)
    d["dnhanes"] = SurveyDesign(nhanes, weights="WTMEC2YR", strata="SDMVSTRA", psu="SDMVPSU",
                                nest=True)
    d["jkstrat"] = d["dstrat"].replicate("jkn")
    d["jknhanes"] = d["dnhanes"].replicate("jkn")
    factors = pd.read_csv(REFERENCE_DIR / "bootstrap_apistrat.csv").to_numpy()
    R = factors.shape[1]
    d["bsstrat"] = ReplicateDesign.from_factors(d["dstrat"], factors, method="bootstrap",
                                                scale=1 / (R - 1), rscales=np.ones(R))
    return d


def compute(case: str) -> pd.DataFrame:
    """Recompute a reference case: a table indexed by the R script's domain labels."""
    parts = case.split("/")
    des = designs()[parts[0]]
    by = parts[-1][3:] if parts[-1].startswith("by=") else None
    if parts[1] in ("quantile", "svyby_quantile"):
        interval = parts[3]
        if isinstance(des, ReplicateDesign) and interval in ("beta", "xlogit", "asin"):
            interval = "mean"     # what R's svyrep method computes for these (refused here)
        est = des.quantile(parts[2], [0.25, 0.5, 0.9], by=by, interval=interval,
                           rule=parts[4])
    elif parts[1] == "ratio":
        est = des.ratio(parts[2], parts[3], by=by)
    elif parts[1] == "variance":
        est = des.variance(parts[2])
    else:  # pragma: no cover
        raise KeyError(case)
    table = est.to_frame()
    table.index = [domain_label(v) for v in table.index]
    if by is not None and parts[1] == "ratio":
        V = est.vcov()
        labels = [domain_label(v) for v in V.index]
        cov = pd.DataFrame({"cov": [V.iloc[i, j] for i in range(len(labels))
                                    for j in range(len(labels))]},
                           index=[f"{a}|{b}" for a in labels for b in labels])
        table = pd.concat([table, cov])
    return table


@pytest.mark.parametrize("case", CASES)
def test_agrees_with_r(case):
    expected = REFERENCE[REFERENCE["case"] == case]
    table = compute(case)
    failures = mismatches(expected, table, TOLERANCE)
    assert not failures, "\n".join(failures[:20])


def test_reference_covers_the_required_cases():
    cases = set(CASES)
    for interval in ("mean", "beta", "xlogit", "asin", "score"):
        for design in ("dstrat", "dclus2", "dnhanes"):
            assert any(c.startswith(f"{design}/quantile/") and f"/{interval}/" in c
                       for c in cases), (design, interval)
    for interval in ("mean", "quantile"):
        for design in ("jkstrat", "bsstrat", "jknhanes"):
            assert any(c.startswith(f"{design}/quantile/") and f"/{interval}/" in c
                       for c in cases), (design, interval)
    for rule in QUANTILE_RULES:
        assert any(c.endswith(f"/{rule}") or f"/{rule}/" in c for c in cases), rule
    for design in ("dstrat", "dclus2", "dnhanes", "ps1", "jkstrat", "bsstrat", "jknhanes"):
        assert any(c.startswith(f"{design}/ratio/") and "/by=" in c for c in cases)
        assert any(c.startswith(f"{design}/variance/") for c in cases)
    # R's score interval fails (no sign change) in one domain: the project gives no limits
    assert REFERENCE[REFERENCE["r_command"].str.contains("R stops")].shape[0] > 0


def test_r_gives_the_wald_interval_for_beta_on_replicate_designs():
    """R's svyquantile.svyrep.design calls woodruffCI without the method: its "beta" is the
    "mean" interval (the reference case), which is why the project refuses "beta" there."""
    case = "jkstrat/quantile/api00/beta/math/by=stype"
    r = REFERENCE[REFERENCE["case"] == case]
    mean = compute(case)
    for row in r[r["quantity"] == "ci_low"].itertuples():
        assert mean.loc[row.domain, "ci_low"] == pytest.approx(row.value, rel=1e-6)
    with pytest.raises(VariableError, match="ignores"):
        designs()["jkstrat"].quantile("api00", 0.5, interval="beta")


def test_no_interval_where_r_has_none_is_explained():
    est = designs()["dclus2"].quantile("api00", [0.25, 0.5, 0.9], by="stype",
                                       interval="score", rule="school")
    table = est.to_frame()
    assert table["ci_low"].isna().any()
    assert table["estimate"].notna().all()
    assert any("changes sign nowhere" in note for note in est.notes)
    # a Wald limit beyond [0, 1]: NaN as in R (the reference case), with a note
    est = designs()["dclus2"].quantile("api00", [0.25, 0.5, 0.9], by="stype",
                                       rule="school")
    assert np.isnan(est.to_frame().loc[("E", 0.9), "ci_high"])
    assert any("outside [0, 1]" in note for note in est.notes)


@pytest.mark.r_reference
def test_stored_reference_is_what_r_gives(tmp_path):
    assert_script_reproduces("toolbox_quantile_ratio_reference.R", "toolbox_quantile_ratio_reference.csv", tmp_path)


# Results, covariances and contrasts -------------------------------------------------------
def test_quantile_table_shape_and_index():
    est = designs()["dstrat"].quantile("api00", [0.5, 0.25], by="stype")
    table = est.to_frame()
    assert list(table.index.names) == ["stype", "prob"]
    assert list(table.index) == [(s, p) for s in "EHM" for p in (0.5, 0.25)]
    assert est.statistic == "quantile" and est.ci_method == "mean"
    single = designs()["dstrat"].quantile("api00", 0.5)
    assert list(single.to_frame().index) == [0.5]
    assert single.estimate == 668.0


def test_ratio_contrast_uses_the_domains_covariance():
    est = designs()["dclus2"].ratio("api.stu", "enroll", by="stype")
    V = est.vcov()
    assert V.loc["E", "M"] != 0          # the same clusters: the domains are correlated
    diff = est.contrast({"E": 1, "M": -1})
    t = est.to_frame()
    assert diff.estimate == pytest.approx(t.loc["E", "estimate"] - t.loc["M", "estimate"])
    assert diff.se == pytest.approx(np.sqrt(V.loc["E", "E"] + V.loc["M", "M"]
                                            - 2 * V.loc["E", "M"]))


def test_replicate_quantile_interval_has_the_replicate_covariance():
    est = designs()["jkstrat"].quantile("api00", [0.25, 0.5], by="stype", interval="quantile")
    V = est.vcov().to_numpy()
    assert np.allclose(np.sqrt(np.diag(V)), est.to_frame()["se"].to_numpy())


def test_quantile_without_covariance_says_so():
    with pytest.raises(VariableError, match="covariance"):
        designs()["dstrat"].quantile("api00", 0.5).vcov()


# Properties ------------------------------------------------------------------------------
@st.composite
def samples(draw):
    n = draw(st.integers(8, 40))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    strata = (np.arange(n) >= n // 2).astype(int)
    psu = strata * 100 + (np.arange(n) - strata * (n // 2)) // 2   # pairs within a stratum
    y = rng.choice(np.round(rng.normal(50, 10, size=n // 2 + 1), 1), size=n)  # with ties
    return pd.DataFrame({"y": y, "x": rng.uniform(1, 5, n), "w": rng.uniform(1, 10, n),
                         "s": strata, "p": psu, "g": rng.choice(["a", "b"], n)})


@settings(max_examples=25, deadline=None)
@given(samples(), st.sampled_from(QUANTILE_RULES))
def test_quantiles_increase_with_probs(df, rule):
    des = SurveyDesign(df, weights="w", strata="s", psu="p")
    probs = [0.1, 0.25, 0.5, 0.75, 0.9]
    est = des.quantile("y", probs, rule=rule, interval="beta").to_frame()["estimate"]
    # interpolating rules (hf4...) compute y[i] + (y[j] - y[i]) * f: rounding may leave a
    # tie or the data's edge by an ulp or two of the data's scale
    ulp = 8 * np.finfo(float).eps * max(1.0, float(df["y"].abs().max()))
    assert (np.diff(est.to_numpy()) >= -ulp).all()
    assert df["y"].min() - ulp <= est.min() and est.max() <= df["y"].max() + ulp


@settings(max_examples=25, deadline=None)
@given(samples(), st.floats(0.01, 1000), st.integers(-8, 12))
def test_scaling_the_weights_changes_nothing(df, c, k):
    a = SurveyDesign(df, weights="w", strata="s", psu="p")
    b = SurveyDesign(df.assign(w=df["w"] * c), weights="w", strata="s", psu="p")
    # by a power of two every sum scales exactly: the intervals too are the same, even
    # where a limit's probability sits at an edge of the data
    b2 = SurveyDesign(df.assign(w=df["w"] * 2.0 ** k), weights="w", strata="s", psu="p")
    for interval in ("mean", "beta", "score"):
        qa = a.quantile("y", [0.25, 0.5], by="g", interval=interval).to_frame()
        qb = b.quantile("y", [0.25, 0.5], by="g", interval=interval).to_frame()
        assert np.array_equal(qa["estimate"], qb["estimate"], equal_nan=True)
        q2 = b2.quantile("y", [0.25, 0.5], by="g", interval=interval).to_frame()
        for column in ("estimate", "ci_low", "ci_high", "se"):
            assert np.array_equal(qa[column], q2[column], equal_nan=True), column
    ra, rb = a.ratio("y", "x", by="g").to_frame(), b.ratio("y", "x", by="g").to_frame()
    assert np.allclose(ra[["estimate", "se"]], rb[["estimate", "se"]])
    va, vb = a.variance("y").to_frame(), b.variance("y").to_frame()
    assert np.allclose(va[["estimate", "se"]], vb[["estimate", "se"]])


@settings(max_examples=20, deadline=None)
@given(samples())
def test_ratio_of_a_variable_to_itself_is_one(df):
    des = SurveyDesign(df, weights="w", strata="s", psu="p")
    for d in (des, des.replicate("jkn")):
        t = d.ratio("x", "x", by="g").to_frame()
        assert np.allclose(t["estimate"], 1.0)
        assert np.allclose(t["se"], 0.0, atol=1e-12)


@settings(max_examples=20, deadline=None)
@given(samples())
def test_ratio_to_a_constant_is_the_mean(df):
    des = SurveyDesign(df.assign(one=1.0), weights="w", strata="s", psu="p")
    r = des.ratio("y", "one", by="g").to_frame()
    m = des.mean("y", by="g").to_frame()
    assert np.allclose(r["estimate"], m["estimate"])
    assert np.allclose(r["se"], m["se"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=2, max_size=30), st.floats(0.01, 0.99))
def test_equal_weights_give_the_unweighted_quantiles(values, p):
    x = np.array(values, dtype=float)
    w = np.full(len(x), 3.0)
    # (below the first row's share R's qs() falls back to its second value: not type 1)
    assume(p * len(x) >= 1)
    # R: qrule_hf7 with equal weights is quantile(type = 7); qrule_math is type 1
    assert quantile_rule("hf7", x, w, p) == pytest.approx(np.quantile(x, p, method="linear"))
    assert quantile_rule("math", x, w, p) == np.quantile(x, p, method="inverted_cdf")


def test_below_the_first_share_r_takes_the_second_value():
    # R: survey:::qrule_math(c(0, 1), c(3, 3), 0.25) is 1 (qs's last() falls back to 1)
    assert quantile_rule("math", np.array([0.0, 1.0]), np.array([3.0, 3.0]), 0.25) == 1.0


def test_zero_weights_are_left_out():
    x = np.array([1.0, 2.0, 3.0, 100.0])
    assert quantile_rule("math", x, np.array([1.0, 1.0, 1.0, 0.0]), 0.9) == 3.0


def test_zeroin_is_brent_to_the_tolerance():
    f = lambda t: t ** 3 - 2 * t - 5   # noqa: E731
    root = zeroin(f, 2.0, 3.0, f(2.0), f(3.0), 1e-10)
    assert abs(root - 2.0945514815423265) < 1e-9


# Errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize("probs", [0, 1, 1.5, -0.2, [0.5, 1.0], [], "0.5", [True]])
def test_probability_outside_zero_one_names_probs(probs):
    with pytest.raises(VariableError) as err:
        designs()["dstrat"].quantile("api00", probs)
    assert err.value.argument == "probs"
    assert "between 0 and 1" in str(err.value)


def test_probability_error_shows_the_value():
    with pytest.raises(VariableError, match="1.5") as err:
        designs()["dstrat"].quantile("api00", [0.5, 1.5])
    assert err.value.value == 1.5 and "probs=" in err.value.fix


@pytest.mark.parametrize("design,kwargs,argument,shown", [
    ("dstrat", {"interval": "quantile"}, "interval", "score"),
    ("jkstrat", {"interval": "score"}, "interval", "quantile"),
    ("jkstrat", {"interval": "beta"}, "interval", "mean"),
    ("dstrat", {"interval": "wald"}, "interval", "xlogit"),
    ("dstrat", {"rule": "hf10"}, "rule", "shahvaish"),
    ("dstrat", {"level": 95}, "level", "0.95"),
])
def test_bad_quantile_options_list_the_allowed_ones(design, kwargs, argument, shown):
    with pytest.raises(VariableError) as err:
        designs()[design].quantile("api00", 0.5, **kwargs)
    assert err.value.argument == argument
    assert shown in err.value.fix


def test_bad_columns_name_the_argument():
    des = designs()["dstrat"]
    with pytest.raises(VariableError) as err:
        des.ratio("api.stu", "enrol")
    assert err.value.argument == "denominator" and "'enrol'" in str(err.value)
    assert "columns" in err.value.fix
    with pytest.raises(VariableError) as err:
        des.ratio("stype", "enroll")
    assert err.value.argument == "numerator"
    with pytest.raises(VariableError) as err:
        des.quantile("nope", 0.5)
    assert err.value.argument == "variable"


def test_missing_values_without_na_rm_raise():
    des = designs()["dclus2"]
    for call in (lambda: des.quantile("enroll", 0.5, na_rm=False),
                 lambda: des.ratio("api.stu", "enroll", na_rm=False),
                 lambda: des.variance("enroll", na_rm=False)):
        with pytest.raises(VariableError) as err:
            call()
        assert err.value.argument == "na_rm"
