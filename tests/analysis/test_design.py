"""SurveyDesign: construction errors, result objects, domains, frequencies, missing values."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from analysis import (CI_METHODS, RESULT_COLUMNS, DesignError, Estimate, SurveyDesign,
                      SurveyError, VariableError)
from tests.analysis.reference_designs import read_api, read_nantong


@pytest.fixture(scope="module")
def nantong() -> pd.DataFrame:
    return read_nantong()


@pytest.fixture(scope="module")
def dnt(nantong) -> SurveyDesign:
    return SurveyDesign(nantong, weights="weight", strata="district", psu="community",
                        fpc="fpc", nest=True)


# --- construction errors -------------------------------------------------------------------

def test_missing_column_names_argument_value_and_fix(nantong):
    with pytest.raises(DesignError) as info:
        SurveyDesign(nantong, weights="wt", strata="district")
    err = info.value
    assert err.argument == "weights" and err.value == "wt"
    assert "weight" in err.fix          # lists the columns that exist
    assert isinstance(err, SurveyError) and isinstance(err, ValueError)


@pytest.mark.parametrize("bad, word", [(-1.0, "negative"), (np.nan, "missing")])
def test_bad_weights_are_refused(nantong, bad, word):
    df = nantong.copy()
    df.loc[3, "weight"] = bad
    with pytest.raises(DesignError, match=word) as info:
        SurveyDesign(df, weights="weight", strata="district", psu="community", nest=True)
    assert info.value.argument == "weights"


def test_lonely_psu_fail_names_the_stratum(nantong):
    df = nantong[~((nantong["district"] == "开发区") & (nantong["community"] != "C01"))]
    with pytest.raises(DesignError, match="only one PSU") as info:
        SurveyDesign(df, weights="weight", strata="district", psu="community", fpc="fpc",
                     nest=True)
    assert info.value.value == ["开发区"]
    assert "lonely_psu" in info.value.fix
    # the other rules are accepted
    for rule in ("remove", "certainty", "adjust", "average"):
        SurveyDesign(df, weights="weight", strata="district", psu="community", fpc="fpc",
                     nest=True, lonely_psu=rule)


def test_unknown_lonely_rule(nantong):
    with pytest.raises(DesignError) as info:
        SurveyDesign(nantong, weights="weight", lonely_psu="ignore")
    assert info.value.argument == "lonely_psu"


def test_psu_not_nested_without_nest(nantong):
    with pytest.raises(DesignError, match="nested") as info:
        SurveyDesign(nantong, weights="weight", strata="district", psu="community")
    assert "nest=True" in info.value.fix


def test_fpc_errors(nantong):
    df = nantong.copy()
    df.loc[0, "fpc"] = 2          # fewer communities than sampled
    with pytest.raises(DesignError, match="varies|100%"):
        SurveyDesign(df, weights="weight", strata="district", psu="community", fpc="fpc",
                     nest=True)
    df = nantong.copy()
    df["fpc"] = 2.0
    with pytest.raises(DesignError, match="100%"):
        SurveyDesign(df, weights="weight", strata="district", psu="community", fpc="fpc",
                     nest=True)


def test_fpc_as_fraction_equals_fpc_as_count():
    st = read_api("apistrat")
    frac = st.assign(f=st.groupby("stype")["pw"].transform("size") / st["fpc"])
    a = SurveyDesign(st, weights="pw", strata="stype", fpc="fpc").mean("api00").to_frame()
    b = SurveyDesign(frac, weights="pw", strata="stype", fpc="f").mean("api00").to_frame()
    assert np.allclose(a[["estimate", "se"]], b[["estimate", "se"]], rtol=1e-12)


def test_probs_give_weights():
    st = read_api("apistrat")
    st["p"] = 1 / st["pw"]
    a = SurveyDesign(st, weights="pw", strata="stype").mean("api00").to_frame()
    b = SurveyDesign(st, probs="p", strata="stype").mean("api00").to_frame()
    assert np.allclose(a[["estimate", "se"]], b[["estimate", "se"]], rtol=1e-12)


def test_degf_and_effective_n(dnt, nantong):
    assert dnt.degf == 34 - 8
    w = nantong["weight"].to_numpy()
    assert dnt.n_effective == pytest.approx(w.sum() ** 2 / (w ** 2).sum())
    assert isinstance(dnt.weights, pd.Series) and dnt.weights.sum() == pytest.approx(w.sum())
    assert dnt.n_psu == 34 and dnt.n_strata == 8


def test_design_is_immutable(dnt):
    with pytest.raises(ValueError):
        dnt._w[0] = 1.0
    w = dnt.weights
    w.iloc[0] = -5        # a copy: the design does not change
    assert dnt.weights.iloc[0] > 0


# --- results --------------------------------------------------------------------------------

def test_result_object_is_frozen_and_tidy(dnt):
    est = dnt.mean("score", by="district", deff=True)
    assert isinstance(est, Estimate)
    with pytest.raises(dataclasses.FrozenInstanceError):
        est.variable = "x"
    table = est.to_frame()
    assert tuple(table.columns[:8]) == RESULT_COLUMNS
    assert table.index.name == "district" and len(table) == 8
    table.iloc[0, 0] = -1                      # to_frame returns a copy
    assert est.to_frame().iloc[0, 0] != -1
    text = est.summary()
    assert isinstance(text, str) and "mean of score by district" in text
    assert (table["df"] == [3, 2, 3, 4, 4, 4, 3, 3]).sum() >= 0   # ints
    assert table["df"].dtype == np.int64 and table["n"].dtype == np.int64


def test_overall_result_has_one_row_named_all(dnt):
    table = dnt.proportion("satisfied").to_frame()
    assert list(table.index) == ["all"]
    est = dnt.proportion("satisfied")
    assert est.ci == (table.loc["all", "ci_low"], table.loc["all", "ci_high"])
    assert np.isnan(table.loc["all", "deff"])
    with pytest.raises(ValueError):
        dnt.proportion("satisfied", by="sex").estimate


def test_by_two_variables_gives_a_multiindex(dnt):
    table = dnt.mean("score", by=["district", "sex"]).to_frame()
    assert table.index.names == ["district", "sex"]
    assert ("崇川区", "女") in table.index


def test_domain_totals_add_up_to_the_total(dnt):
    total = dnt.total("satisfied").to_frame().loc["all", "estimate"]
    by = dnt.total("satisfied", by="district").to_frame()["estimate"].sum()
    assert by == pytest.approx(total, rel=1e-12)


def test_frequencies_are_tidy_and_sum_to_one(dnt):
    freq = dnt.frequencies("q1").to_frame()
    assert freq.index.name == "q1"
    assert freq["estimate"].sum() == pytest.approx(1.0)
    assert {"count", "weighted_count"} <= set(freq.columns)
    assert freq["count"].sum() == len(dnt)
    by = dnt.frequencies("q1", by="district").to_frame()
    assert by.index.names == ["district", "q1"]
    assert by.groupby(level="district")["estimate"].sum().to_numpy() == pytest.approx(1.0)
    assert (by["ci_low"] <= by["estimate"]).all() and (by["ci_high"] >= by["estimate"]).all()


def test_frequencies_keep_empty_categorical_levels(nantong):
    df = nantong.copy()
    df["q1"] = pd.Categorical(df["q1"], categories=["非常满意", "满意", "一般", "不满意",
                                                    "非常不满意", "不知道"])
    des = SurveyDesign(df, weights="weight", strata="district", psu="community", fpc="fpc",
                       nest=True)
    freq = des.frequencies("q1").to_frame()
    assert list(freq.index) == ["非常满意", "满意", "一般", "不满意", "非常不满意", "不知道"]
    row = freq.loc["不知道"]
    assert row["estimate"] == 0 and row["ci_low"] == 0 and 0 < row["ci_high"] < 0.05


def test_frequencies_match_proportions_of_indicators(dnt, nantong):
    df = nantong.assign(ok=(nantong["q1"] == "一般").astype(int))
    des = SurveyDesign(df, weights="weight", strata="district", psu="community", fpc="fpc",
                       nest=True)
    for method in CI_METHODS:
        freq = des.frequencies("q1", by="sex", ci_method=method).to_frame()
        prop = des.proportion("ok", by="sex", ci_method=method).to_frame()
        for sex in ("男", "女"):
            a = freq.loc[(sex, "一般"), ["estimate", "se", "ci_low", "ci_high", "df"]]
            b = prop.loc[sex, ["estimate", "se", "ci_low", "ci_high", "df"]]
            assert np.allclose(a.to_numpy(float), b.to_numpy(float), rtol=1e-9), method


# --- variables --------------------------------------------------------------------------------

def test_proportion_refuses_non_binary(dnt):
    with pytest.raises(VariableError, match="not 0/1") as info:
        dnt.proportion("score")
    assert info.value.argument == "variable"
    assert 10.0 in info.value.value or 2.0 in info.value.value


def test_variable_errors(dnt):
    with pytest.raises(VariableError) as info:
        dnt.mean("no_such")
    assert info.value.argument == "variable"
    with pytest.raises(VariableError, match="non-numeric"):
        dnt.mean("q1")
    with pytest.raises(VariableError):
        dnt.proportion("satisfied", ci_method="wald")
    with pytest.raises(VariableError):
        dnt.mean("score", level=95)


def test_missing_values(dnt):
    with pytest.raises(VariableError, match="missing") as info:
        dnt.mean("income", na_rm=False)
    assert info.value.argument == "na_rm"
    table = dnt.mean("income").to_frame()
    assert table.loc["all", "n"] == dnt.data["income"].notna().sum()


def test_boolean_proportion(nantong):
    df = nantong.assign(flag=nantong["satisfied"] == 1)
    des = SurveyDesign(df, weights="weight", strata="district", psu="community", fpc="fpc",
                       nest=True)
    a = des.proportion("flag").to_frame()
    b = des.proportion("satisfied").to_frame()
    assert np.allclose(a.to_numpy(float), b.to_numpy(float), equal_nan=True)


def test_zero_weight_rows_are_out_of_the_sample(nantong):
    df = nantong.copy()
    extra = df.iloc[:5].copy()
    extra["weight"] = 0.0
    extra["score"] = 1
    with_zero = pd.concat([df, extra], ignore_index=True)
    a = SurveyDesign(df, weights="weight", strata="district", psu="community", fpc="fpc",
                     nest=True)
    b = SurveyDesign(with_zero, weights="weight", strata="district", psu="community",
                     fpc="fpc", nest=True)
    ta, tb = a.mean("score").to_frame(), b.mean("score").to_frame()
    assert np.allclose(ta[["estimate", "se", "df", "n"]].to_numpy(float),
                       tb[["estimate", "se", "df", "n"]].to_numpy(float), rtol=1e-12)


def test_multistage_needs_one_fpc_per_stage():
    c2 = read_api("apiclus2")
    with pytest.raises(DesignError):
        SurveyDesign(c2, psu=["dnum", "snum"], fpc=["fpc1", "fpc2", "fpc1"])
