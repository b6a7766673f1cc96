"""Design-based regression and tests against R's survey package
(tests/reference/toolbox_models_reference.csv, written by toolbox_models_reference.R).

``glm`` = ``svyglm`` (gaussian, binomial, quasibinomial, poisson), ``ttest`` = ``svyttest``
and ``chisq`` = ``svychisq`` (F, Chisq, Wald, adjWald), each on linearised designs (one-
and two-stage api, nhanes with strata and nested PSUs and missing values, a raked design)
and replicate designs (JKn, bootstrap from the committed factors), post-stratified and raked
ones included.  Coefficients and differences agree to 1e-9 (relative), everything else to
1e-6, degrees of freedom exactly.
"""
from __future__ import annotations

import dataclasses
import math
from functools import lru_cache

import pandas as pd
import pytest

from analysis import (ChisqResult, RegressionResult, SurveyDesign, TTestResult,
                      VariableError)
from tests.analysis.reference_designs import REFERENCE_DIR, designs, read_api
from tests.reference.checks import assert_script_reproduces, load_reference

SCRIPT = REFERENCE_DIR / "toolbox_models_reference.R"
REFERENCE_CSV = REFERENCE_DIR / "toolbox_models_reference.csv"
TOLERANCE = {"estimate": 1e-9, "df": 0.0}      # every other quantity: 1e-6


def _load() -> pd.DataFrame:
    return load_reference("toolbox_models_reference.csv")


REFERENCE = _load()
CASES = list(dict.fromkeys(REFERENCE["case"]))


@lru_cache(maxsize=None)
def model_designs() -> dict:
    """The R script's designs: the api ones of survey_reference.R (``dclus1`` with
    ``api00na``: ``api00`` missing in one whole district, and its JKn replicates) and nhanes
    (as it is, its JKn replicates, and raked to the script's margins)."""
    d = dict(designs())
    apiclus1 = read_api("apiclus1")
    apiclus1["api00na"] = apiclus1["api00"].where(apiclus1["dnum"] != apiclus1["dnum"].min())
    d["dclus1"] = SurveyDesign(apiclus1, weights="pw", psu="dnum", fpc="fpc")
    d["jkclus1"] = d["dclus1"].replicate("jkn")
    nhanes = pd.read_csv(REFERENCE_DIR / "survey_data" / "nhanes.csv")
    d["dnh"] = SurveyDesign(nhanes, weights="WTMEC2YR", strata="SDMVSTRA", psu="SDMVPSU",
                            nest=True)
    d["jknh"] = d["dnh"].replicate("jkn")
    d["rknh"] = d["dnh"].rake({
        "race": {1: 45000000, 2: 175000000, 3: 35000000, 4: 21536447},
        "agecat": {"(0,19]": 60000000, "(19,39]": 80000000, "(39,59]": 82000000,
                   "(59,Inf]": 54536447}})
    return d


@lru_cache(maxsize=None)
def compute(case: str) -> dict:
    """``{(domain, quantity): value}`` of one reference case, computed here."""
    dn, kind, rest = case.split("/", 2)
    des = model_designs()[dn]
    out = {}
    if kind == "glm":
        family, formula = rest.split("/", 1)
        fit = des.glm(formula, family=family)
        assert isinstance(fit, RegressionResult)
        table = fit.to_frame()
        for term, row in table.iterrows():
            for quantity, column in (("estimate", "coef"), ("se", "se"), ("t", "t"),
                                     ("p", "p"), ("ci_low", "ci_low"),
                                     ("ci_high", "ci_high"), ("df", "df")):
                out[(term, quantity)] = float(row[column])
        V = fit.vcov()
        for a in V.index:
            for b in V.columns:
                out[(f"{a}|{b}", "vcov")] = float(V.loc[a, b])
        out[("model", "dispersion")] = fit.dispersion
    elif kind == "ttest":
        variable, group = (s.strip() for s in rest.split("~"))
        test = des.ttest(variable, group)
        assert isinstance(test, TTestResult)
        row = test.to_frame().loc["difference"]
        for quantity in ("estimate", "se", "t", "df", "p", "ci_low", "ci_high"):
            out[("difference", quantity)] = float(row[quantity])
    else:
        pair, statistic = rest.split("/")
        row_var, col_var = pair.split("+")
        test = des.chisq(row_var, col_var, statistic=statistic)
        assert isinstance(test, ChisqResult)
        frame = test.to_frame().loc[statistic]
        out[("test", "statistic")] = float(frame["statistic"])
        out[("test", "p")] = float(frame["p"])
        if statistic == "Chisq":
            out[("test", "df")] = float(frame["ndf"])
            assert math.isnan(frame["ddf"])
        else:
            out[("test", "ndf")] = float(frame["ndf"])
            out[("test", "ddf")] = float(frame["ddf"])
    return out


def _close(actual: float, expected: float, rel: float) -> bool:
    if math.isnan(expected):
        return math.isnan(actual)
    if rel == 0.0:
        return actual == expected
    return abs(actual - expected) <= rel * abs(expected) or abs(actual - expected) <= 1e-13


@pytest.mark.parametrize("case", CASES)
def test_agrees_with_r(case):
    values = compute(case)
    failures = []
    for row in REFERENCE[REFERENCE["case"] == case].itertuples(index=False):
        key = (row.domain, row.quantity)
        if key not in values:
            failures.append(f"{key}: not computed (have {sorted(values)[:8]})")
            continue
        if not _close(values[key], float(row.value), TOLERANCE.get(row.quantity, 1e-6)):
            failures.append(f"{key}: python {values[key]!r} vs R {row.value!r} "
                            f"[{row.r_command}]")
    assert not failures, "\n".join(failures[:20])


def test_reference_covers_both_variance_methods():
    """Every method is checked on linearised and on replicate designs of each kind."""
    cases = set(CASES)
    for dn in ("dstrat", "dclus1", "dclus2", "rkstrat", "jkstrat", "bsstrat"):
        assert f"{dn}/glm/gaussian/api00 ~ ell + meals + stype" in cases
        assert f"{dn}/glm/poisson/enroll ~ ell + meals + stype" in cases
        assert f"{dn}/ttest/api00 ~ sch.wide" in cases
        for statistic in ("F", "Chisq", "Wald", "adjWald"):
            assert f"{dn}/chisq/sch.wide+stype/{statistic}" in cases
    for dn in ("dnh", "jknh", "rknh"):
        for family in ("binomial", "quasibinomial"):
            assert f"{dn}/glm/{family}/HI_CHOL ~ race + agecat + RIAGENDR" in cases
        assert f"{dn}/chisq/race+agecat/F" in cases
        assert f"{dn}/chisq/HI_CHOL+agecat/adjWald" in cases
    assert "bsstrat/glm/binomial/sw ~ ell + meals + stype" in cases
    # a PSU without the response: R's df is that of the complete cases (linearised) or the
    # design's degf (replicates)
    assert "dclus1/glm/gaussian/api00na ~ ell + meals" in cases
    assert "jkclus1/glm/gaussian/api00na ~ ell + meals" in cases
    # post-stratified (linearised) and raked replicate designs
    for dn in ("ps1", "jkrk1"):
        assert f"{dn}/glm/quasibinomial/sw ~ ell + meals" in cases
        assert f"{dn}/chisq/sch.wide+stype/Wald" in cases


def test_binomial_and_quasibinomial_have_the_same_design_based_errors():
    des = model_designs()["dnh"]
    a = des.glm("HI_CHOL ~ race + agecat + RIAGENDR", family="binomial").to_frame()
    b = des.glm("HI_CHOL ~ race + agecat + RIAGENDR", family="quasibinomial").to_frame()
    pd.testing.assert_frame_equal(a, b)
    # nhanes: 745 rows lack HI_CHOL; R's df.residual is degf of the complete cases + 1 - p
    assert a["df"].iloc[0] == 11


def test_results_are_frozen_and_describe_themselves():
    des = model_designs()["dstrat"]
    fit = des.glm("api00 ~ ell + meals + stype")
    assert list(fit.to_frame().index) == ["(Intercept)", "ell", "meals", "stypeH", "stypeM"]
    assert list(fit.to_frame().columns) == ["coef", "se", "t", "df", "p", "ci_low", "ci_high"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        fit.df = 3
    frame = fit.to_frame()
    frame.loc["ell", "coef"] = 0.0                   # a copy: the result is unchanged
    assert fit.to_frame().loc["ell", "coef"] != 0.0
    assert "api00 ~ ell + meals + stype" in fit.summary() and "stypeH" in fit.summary()
    test = des.ttest("api00", "sch.wide")
    assert test.levels == ("No", "Yes") and "Yes - No" in test.summary()
    chisq = des.chisq("sch.wide", "stype")
    assert chisq.method == "F" and "Rao-Scott" in chisq.summary()
    assert chisq.table.shape == (2, 3)
    # the table holds the weighted counts: their sum is the design's population
    assert chisq.table.to_numpy().sum() == pytest.approx(des.weights.sum())


def test_level_sets_the_interval():
    des = model_designs()["jkstrat"]
    t95 = des.glm("api00 ~ ell", level=0.95).to_frame().loc["ell"]
    t90 = des.glm("api00 ~ ell", level=0.90).to_frame().loc["ell"]
    assert t90["ci_low"] > t95["ci_low"] and t90["ci_high"] < t95["ci_high"]
    assert t90["coef"] == t95["coef"]


def _error(call) -> VariableError:
    with pytest.raises(VariableError) as info:
        call()
    return info.value


def test_bad_input_names_the_argument():
    des = model_designs()["dstrat"]
    err = _error(lambda: des.glm("api00 ~ ell + nosuch"))
    assert err.argument == "formula" and "nosuch" in str(err)
    assert "api00" in err.fix and "stype" in err.fix            # the columns that exist
    err = _error(lambda: model_designs()["jkstrat"].glm("nosuch ~ ell"))
    assert err.argument == "formula" and "nosuch" in str(err)
    assert _error(lambda: des.glm("api00 ~ ell +")).argument == "formula"
    assert _error(lambda: des.glm("ell + meals")).argument == "formula"
    err = _error(lambda: des.glm("api00 ~ ell", family="gamma"))
    assert err.argument == "family" and "poisson" in err.fix
    err = _error(lambda: des.glm("sch.wide ~ ell"))                   # a text response
    assert err.argument == "formula" and "numeric response" in str(err)
    err = _error(lambda: des.glm("api00 ~ ell", family="binomial"))    # response not 0/1
    assert err.argument == "formula" and "[0, 1]" in str(err)
    err = _error(lambda: des.glm("api00 ~ sw + sch.wide"))            # the same column twice
    assert err.argument == "formula" and "sch.wideYes" in str(err)
    assert _error(lambda: des.glm("api00 ~ ell", level=1.5)).argument == "level"
    err = _error(lambda: des.ttest("api00", "stype"))                 # three groups
    assert err.argument == "group" and "two" in str(err)
    assert _error(lambda: des.ttest("nosuch", "sch.wide")).argument == "variable"
    assert _error(lambda: des.ttest("api00", "nosuch")).argument == "group"
    err = _error(lambda: des.chisq("sch.wide", "stype", statistic="lincom"))
    assert err.argument == "statistic" and "adjWald" in err.fix
    assert _error(lambda: des.chisq("nosuch", "stype")).argument == "row"
    assert _error(lambda: des.chisq("sch.wide", "nosuch")).argument == "col"
    err = _error(lambda: des.chisq("sch.wide", "stype", statistic=None))
    assert err.argument == "statistic"


@pytest.mark.r_reference
def test_stored_reference_is_what_r_gives(tmp_path):
    assert_script_reproduces("toolbox_models_reference.R", "toolbox_models_reference.csv", tmp_path)
