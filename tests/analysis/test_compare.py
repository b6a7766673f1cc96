"""Covariances of domain estimates, contrasts, domain comparisons and wave changes against R.

The reference values are tests/reference/toolbox_compare_reference.csv, written by
toolbox_compare_reference.R (R's ``vcov(svyby(..., covmat = TRUE))``, ``svycontrast``,
``p.adjust`` and the stacked waves of tests/reference/waves_sample.csv); estimates must
agree to 1e-9 (relative), covariances, SEs, bounds and p-values to 1e-6, df exactly.  The
property tests check what must hold whatever the design.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest

from analysis import (Comparison, DesignError, MarginError, SurveyDesign, VariableError,
                      WaveChange, stack_waves, wave_change)
from analysis.design.comparisons import p_adjust
from tests.analysis.reference_designs import AGE_POP, REFERENCE_DIR, SEX_POP, designs, domain_label
from tests.reference.checks import assert_script_reproduces, load_reference

REFERENCE_CSV = REFERENCE_DIR / "toolbox_compare_reference.csv"
WAVES_CSV = REFERENCE_DIR / "waves_sample.csv"
ESTIMATES = {"estimate", "reference_estimate", "difference", "estimate_a", "estimate_b"}
SEX_POP_2026 = {"男": 3950000, "女": 3850000}
AGE_POP_2026 = {"18-34": 1950000, "35-59": 3350000, "60+": 2500000}
WAVE_DESIGN = dict(weights="weight", strata="district", psu="community", fpc="fpc", nest=True)


def _load() -> pd.DataFrame:
    return load_reference("toolbox_compare_reference.csv")


REFERENCE = _load()
CASES = list(dict.fromkeys(REFERENCE["case"]))


def read_waves() -> pd.DataFrame:
    return pd.read_csv(WAVES_CSV, encoding="utf-8")


@lru_cache(maxsize=None)
def wave_designs() -> dict:
    """The stacked designs of the R script: dw (linearised), rkw (each wave raked to its own
    margins), jkw (JKn replicates of dw)."""
    data = read_waves()
    dw = stack_waves(data, **WAVE_DESIGN)
    rkw = stack_waves(data, **WAVE_DESIGN,
                      margins={2025: {"sex": SEX_POP, "age_group": AGE_POP},
                               2026: {"sex": SEX_POP_2026, "age_group": AGE_POP_2026}},
                      tol=1e-13, max_iter=200)
    return {"dw": dw, "rkw": rkw, "jkw": dw.replicate("jkn")}


def _design(name: str):
    return wave_designs()[name] if name in ("dw", "rkw", "jkw") else designs()[name]


def _relabel(table: pd.DataFrame) -> pd.DataFrame:
    table = table.copy()
    table.index = [domain_label(v) for v in table.index]
    return table


def compute(case: str) -> pd.DataFrame:
    """A reference case recomputed with analysis: a table indexed by R's domain labels."""
    parts = case.split("/")
    kind, des = parts[0], _design(parts[1])
    if kind == "vcov":
        if parts[2] == "freq":
            V = des.frequencies(parts[3]).vcov()
        else:
            by = parts[4][3:]
            est = (des.total(parts[3], by=by) if parts[2] == "svytotal"
                   else des.mean(parts[3], by=by))
            V = est.vcov()
        labels = [domain_label(v) for v in V.index]
        values = V.to_numpy()
        return pd.DataFrame({"cov": values.ravel()},
                            index=[f"{a}|{b}" for a in labels for b in labels])
    if kind == "contrast":
        by = parts[4][3:]
        a, b = parts[5].split("-")
        est = des.mean(parts[3], by=by).contrast({a: 1, b: -1})
        return _relabel(est.to_frame()).rename(index=lambda _: "all")
    if kind == "compare":
        options = dict(p.split("=", 1) for p in parts[5:])
        result = des.compare(parts[3], parts[4][3:], statistic=parts[2],
                             reference=options.get("ref"), adjust=options.get("adjust", "holm"))
        return _relabel(result.to_frame())
    if kind == "waves":
        if parts[2] == "degf":
            return pd.DataFrame({"df": [des.degf]}, index=["all"])
        by = parts[4][3:] if len(parts) > 4 else None
        table = wave_change(des, parts[3], statistic=parts[2], by=by).to_frame()
        assert list(table.index.get_level_values("wave_a")) == [2025] * len(table)
        table.index = (["all"] if by is None
                       else [domain_label(v) for v in table.index.get_level_values(by)])
        return table
    raise KeyError(case)  # pragma: no cover


def _close(actual: float, expected: float, rel: float, scale: float = 0.0) -> bool:
    if math.isnan(expected):
        return math.isnan(actual)
    if rel == 0.0:
        return actual == expected
    return abs(actual - expected) <= rel * max(abs(expected), scale, 1e-300) or \
        abs(actual - expected) <= 1e-13


@pytest.mark.parametrize("case", CASES)
def test_agrees_with_r(case):
    expected = REFERENCE[REFERENCE["case"] == case]
    table = compute(case)
    # a covariance is compared on the scale of its matrix (cross-stratum terms are ~0)
    scale = float(expected["value"].abs().max()) if case.startswith("vcov/") else 0.0
    failures = []
    for row in expected.itertuples(index=False):
        if row.domain not in table.index:
            failures.append(f"{row.domain}: missing (have {list(table.index)[:10]})")
            continue
        actual = float(table.loc[row.domain, row.quantity])
        rel = 0.0 if row.quantity == "df" else 1e-9 if row.quantity in ESTIMATES else 1e-6
        if not _close(actual, float(row.value), rel, scale):
            failures.append(f"{row.domain} {row.quantity}: python {actual!r} vs R "
                            f"{row.value!r} [{row.r_command}]")
    assert not failures, "\n".join(failures[:20])


def test_reference_covers_both_engines_and_the_required_designs():
    cases = set(CASES)
    for needed in ("compare/dstrat/mean/api00/by=stype", "compare/dclus1/mean/api00/by=stype",
                   "compare/dclus2/mean/api00/by=stype", "compare/rk1/mean/api00/by=stype",
                   "compare/dnt/mean/score/by=district", "compare/jknt/mean/score/by=district",
                   "compare/bsnt/mean/score/by=district",
                   "compare/dnt/mean/score/by=district/ref=崇川区",
                   "compare/dnt/mean/score/by=district/adjust=BH",
                   "compare/dnt/mean/score/by=district/adjust=bonferroni",
                   "vcov/dclus1/svymean/api00/by=stype", "vcov/jknt/svymean/score/by=district",
                   "vcov/bsnt/svymean/score/by=district", "contrast/dclus1/mean/api00/by=stype/E-H",
                   "waves/dw/mean/score", "waves/rkw/mean/score/by=district",
                   "waves/jkw/proportion/satisfied"):
        assert needed in cases


# Properties ---------------------------------------------------------------------------------
# Estimates with a covariance for each family of data in reference_designs.designs()
FAMILIES = {
    "api00": lambda d: [d.mean("api00", by="stype"), d.total("enroll", by="awards"),
                        d.proportion("sw", by="stype"), d.frequencies("awards", by="stype")],
    "score": lambda d: [d.mean("score", by="district"), d.mean("income", by=["sex", "age_group"]),
                        d.proportion("satisfied", by="sex", ci_method="beta"),
                        d.frequencies("q1")],
    "HI_CHOL": lambda d: [d.mean("HI_CHOL", by="race"), d.total("HI_CHOL", by="agecat"),
                          d.frequencies("agecat", by="RIAGENDR")],
    "qn8yes": lambda d: [d.mean("qn8yes"), d.proportion("qn8yes"), d.frequencies("qn8")],
}


def _estimates(des):
    for variable, make in FAMILIES.items():
        try:
            des.mean(variable)
        except VariableError:
            continue
        return make(des)
    raise AssertionError(f"no family of data fits {des.describe()}")


# R's "average" rule scales a domain's variance by its own count of strata with a lonely PSU;
# the covariance matrix of several domains uses the design's, so its diagonal differs from
# the rows' SEs there -- in R's vcov(svyby(..., covmat = TRUE)) as here (documented on
# Estimate.vcov; the reference cases vcov/dlonely_average/... check the matrix against R).
PROPERTY_DESIGNS = [name for name in designs() if name not in ("dlonely_average",)]


@pytest.mark.parametrize("name", PROPERTY_DESIGNS)
def test_vcov_diagonal_is_the_squared_se_and_the_matrix_is_symmetric_psd(name):
    des = designs()[name]
    for est in _estimates(des):
        V = est.vcov().to_numpy()
        se = est.to_frame()["se"].to_numpy()
        finite = np.isfinite(se)
        assert np.isnan(np.diag(V)[~finite]).all()
        np.testing.assert_allclose(np.diag(V)[finite], se[finite] ** 2, rtol=1e-9, atol=1e-15)
        W = V[np.ix_(finite, finite)]
        np.testing.assert_allclose(W, W.T, rtol=1e-12, atol=1e-15 * np.abs(W).max())
        assert np.linalg.eigvalsh(W).min() >= -1e-9 * max(np.abs(W).max(), 1e-300)


def test_vcov_diagonal_under_lonely_average_differs_as_documented():
    est = designs()["dlonely_average"].mean("score", by="district")
    V, se = est.vcov().to_numpy(), est.to_frame()["se"].to_numpy()
    assert not np.allclose(np.diag(V)[np.isfinite(se)], se[np.isfinite(se)] ** 2)
    assert "vcov/dlonely_average/svymean/score/by=district" in CASES


@pytest.mark.parametrize("name", ["dclus1", "rk1", "jkstrat", "bsstrat"])
def test_contrast_of_a_row_is_the_row_and_opposite_contrasts_cancel(name):
    est = designs()[name].mean("api00", by="stype")
    table = est.to_frame()
    for label in table.index:
        one = est.contrast({label: 1}).to_frame().iloc[0]
        assert one["estimate"] == pytest.approx(table.loc[label, "estimate"], rel=1e-12)
        assert one["se"] == pytest.approx(table.loc[label, "se"], rel=1e-9)
    ab = est.contrast({"E": 1, "H": -1}).to_frame().iloc[0]
    ba = est.contrast({"H": 1, "E": -1}).to_frame().iloc[0]
    assert ab["estimate"] + ba["estimate"] == pytest.approx(0.0, abs=1e-9)
    assert ab["se"] == pytest.approx(ba["se"], rel=1e-12)
    assert ab["p_value"] == pytest.approx(ba["p_value"], rel=1e-9)
    zero = est.contrast({"E": 0.0}).to_frame().iloc[0]
    assert zero["estimate"] == 0.0 and zero["se"] == 0.0 and np.isnan(zero["p_value"])


@pytest.mark.parametrize("name", ["dnt", "rknt", "jknt", "bsnt", "jkrknt"])
def test_compare_against_itself_is_zero_and_rows_are_consistent(name):
    des = designs()[name]
    for reference in ("崇川区", "海门区"):
        table = des.compare("score", "district", reference=reference).to_frame()
        own = table.loc[reference]
        assert own["difference"] == 0.0 and own["se"] == 0.0
        assert own["ci_low"] == 0.0 and own["ci_high"] == 0.0
        assert np.isnan(own["p_value"]) and np.isnan(own["p_adjusted"])
        others = table.drop(index=reference)
        np.testing.assert_allclose(others["difference"],
                                   others["estimate"] - others["reference_estimate"], rtol=1e-12)
        # Holm over the other domains only (R's p.adjust leaves NA out)
        np.testing.assert_allclose(others["p_adjusted"], p_adjust(others["p_value"], "holm"))
    rest = des.compare("score", "district").to_frame()
    assert (rest["se"] > 0).all()
    assert (rest["n"] + rest["n_reference"] == rest["n"].sum()).all()
    means = des.mean("score", by="district").to_frame()
    np.testing.assert_allclose(rest["estimate"], means["estimate"], rtol=1e-12)


def test_compare_proportion_is_the_mean_of_the_indicator_with_its_intervals():
    des = designs()["dnt"]
    prop = des.compare("satisfied", "district", statistic="proportion", ci_method="beta")
    mean = des.compare("satisfied", "district")
    cols = ["estimate", "reference_estimate", "difference", "se", "p_value", "p_adjusted"]
    pd.testing.assert_frame_equal(prop.to_frame()[cols], mean.to_frame()[cols])
    beta = des.proportion("satisfied", by="district", ci_method="beta").to_frame()
    np.testing.assert_allclose(prop.to_frame()["estimate_ci_low"], beta["ci_low"])
    assert prop.ci_method == "beta" and mean.ci_method == "t"
    assert isinstance(prop, Comparison)
    text = prop.summary()
    assert "proportion of satisfied by district" in text and "holm" in text


def test_p_adjust_matches_r_and_leaves_missing_out():
    # In R: p.adjust(c(0.01, NA, 0.04), "holm"); p.adjust(c(0.01, NA, 0.04, 0.03), "BH")
    np.testing.assert_allclose(p_adjust([0.01, np.nan, 0.04], "holm"), [0.02, np.nan, 0.04])
    np.testing.assert_allclose(p_adjust([0.01, np.nan, 0.04, 0.03], "BH"),
                               [0.03, np.nan, 0.04, 0.04])
    np.testing.assert_allclose(p_adjust([0.2, 0.6], "bonferroni"), [0.4, 1.0])
    np.testing.assert_allclose(p_adjust([0.2, 0.6], "none"), [0.2, 0.6])


def test_compare_bad_arguments_name_the_argument_and_the_choices():
    des = designs()["dnt"]
    with pytest.raises(VariableError, match="holm, bonferroni, BH, none") as err:
        des.compare("score", "district", adjust="sidak")
    assert err.value.argument == "adjust"
    with pytest.raises(VariableError, match="崇川区") as err:
        des.compare("score", "district", reference="南京")
    assert err.value.argument == "reference"
    with pytest.raises(VariableError) as err:
        des.compare("score", "district", statistic="median")
    assert err.value.argument == "statistic"
    with pytest.raises(VariableError) as err:
        des.compare("score", "district", level=1.5)
    assert err.value.argument == "level"
    with pytest.raises(VariableError) as err:
        des.compare("score", "district", ci_method="beta")
    assert err.value.argument == "ci_method"
    with pytest.raises(VariableError, match="district") as err:
        des.compare("score", "region")
    assert err.value.argument == "by"
    one = SurveyDesign(pd.DataFrame({"y": [1.0, 2.0, 4.0, 3.0], "g": ["a"] * 4}))
    with pytest.raises(VariableError, match="two domains") as err:
        one.compare("y", "g")
    assert err.value.argument == "by"


# Waves ------------------------------------------------------------------------------------
def test_stacked_waves_keep_psus_of_different_waves_apart():
    data = read_waves()
    dw = wave_designs()["dw"]
    assert dw.n_psu == 2 * data[data["wave"] == 2025].groupby(["district", "community"]).ngroups
    assert dw.n_strata == 16
    w1 = data[data["wave"] == 2025].drop(columns="wave").reset_index(drop=True)
    w2 = data[data["wave"] == 2026].drop(columns="wave").reset_index(drop=True)
    stacked = stack_waves({2025: w1, 2026: w2}, **WAVE_DESIGN)
    a = wave_change(stacked, "score", by="district").to_frame()
    b = wave_change(dw, "score", by="district").to_frame()
    pd.testing.assert_frame_equal(a, b)
    assert stacked.degf == wave_designs()["dw"].degf


def test_a_psu_visited_in_both_waves_is_two_psus_without_nest():
    """PSU labels unique within a wave but repeated in the next: without ``nest`` the stack
    still keeps them apart (wave x PSU), as the design with nested labels does."""
    data = read_waves()
    data["psu_id"] = data["district"] + "/" + data["community"]
    des = stack_waves(data, weights="weight", strata="district", psu="psu_id", fpc="fpc")
    assert des.n_psu == wave_designs()["dw"].n_psu == 68
    pd.testing.assert_frame_equal(wave_change(des, "score", by="district").to_frame(),
                                  wave_change(wave_designs()["dw"], "score",
                                              by="district").to_frame())


@pytest.mark.parametrize("name", ["dw", "rkw"])
def test_each_wave_in_the_stack_is_its_own_design(name):
    """Waves are independent samples: a wave's estimate and SE in the stacked design are
    those of the wave's own design (raked to its own margins in rkw)."""
    data = read_waves()
    table = wave_change(wave_designs()[name], "score").to_frame().iloc[0]
    for w, margins, col in ((2025, (SEX_POP, AGE_POP), "a"),
                            (2026, (SEX_POP_2026, AGE_POP_2026), "b")):
        own = SurveyDesign(data[data["wave"] == w].reset_index(drop=True), **WAVE_DESIGN)
        if name == "rkw":
            own = own.rake({"sex": margins[0], "age_group": margins[1]}, tol=1e-13,
                           max_iter=200)
        est = own.mean("score").to_frame().iloc[0]
        assert table[f"estimate_{col}"] == pytest.approx(est["estimate"], rel=1e-9)
        assert table[f"ci_low_{col}"] == pytest.approx(est["ci_low"], rel=1e-9)
        assert table[f"ci_high_{col}"] == pytest.approx(est["ci_high"], rel=1e-9)


def test_wave_change_table_and_summary():
    result = wave_change(wave_designs()["dw"], "satisfied", statistic="proportion",
                         by="district", adjust="holm")
    assert isinstance(result, WaveChange)
    table = result.to_frame()
    assert table.index.names == ["wave_a", "wave_b", "district"]
    assert len(table) == 8
    np.testing.assert_allclose(table["difference"], table["estimate_b"] - table["estimate_a"])
    np.testing.assert_allclose(table["p_adjusted"], p_adjust(table["p_value"], "holm"))
    assert (table["significant"] == (table["p_adjusted"] < 0.05)).all()
    assert "2025 -> 2026" in result.summary()


def test_three_waves_compare_each_with_the_one_before():
    data = read_waves()
    third = data[data["wave"] == 2026].assign(wave=2027)
    third["score"] = np.clip(third["score"] + 1, 1, 10)
    des = stack_waves(pd.concat([data, third], ignore_index=True), **WAVE_DESIGN)
    table = wave_change(des, "score").to_frame()
    assert list(table.index) == [(2025, 2026), (2026, 2027)]
    back = wave_change(des, "score", waves=[2027, 2025]).to_frame()
    assert list(back.index) == [(2027, 2025)]
    assert back["difference"].iloc[0] == pytest.approx(
        -(table["difference"].sum()), rel=1e-12)


def test_wave_errors_name_the_argument_and_the_values_that_exist():
    dw = wave_designs()["dw"]
    with pytest.raises(VariableError, match="2025, 2026") as err:
        wave_change(dw, "score", waves=[2025, 2030])
    assert err.value.argument == "waves" and err.value.value == 2030
    with pytest.raises(VariableError, match="2025, 2026") as err:
        wave_change(dw, "score", waves=[2025])
    assert err.value.argument == "waves"
    with pytest.raises(VariableError, match="district") as err:
        wave_change(dw, "score", by="region")
    assert err.value.argument == "by"
    with pytest.raises(VariableError, match="district") as err:
        wave_change(dw, "score", wave="year")
    assert err.value.argument == "wave"
    with pytest.raises(VariableError) as err:
        wave_change(dw, "score", level=0)
    assert err.value.argument == "level"
    data = read_waves()
    with pytest.raises(DesignError, match="2025") as err:
        stack_waves(data[data["wave"] == 2025], **WAVE_DESIGN)
    assert err.value.argument == "responses"
    with pytest.raises(DesignError) as err:
        stack_waves(data, wave="year", **WAVE_DESIGN)
    assert err.value.argument == "wave"
    with pytest.raises(MarginError, match="2026") as err:
        stack_waves(data, **WAVE_DESIGN, margins={2025: {"sex": SEX_POP}})
    assert err.value.argument == "margins"


@pytest.mark.r_reference
def test_stored_reference_is_what_r_gives(tmp_path):
    assert_script_reproduces("toolbox_compare_reference.R", "toolbox_compare_reference.csv", tmp_path)


def test_wave_data_is_what_the_script_makes():
    from tests.reference.make_waves_sample import make
    stored = read_waves()
    made = make()
    pd.testing.assert_frame_equal(made.reset_index(drop=True), stored, check_dtype=False)


def test_contrast_bad_input_names_the_row_and_lists_the_rows():
    from analysis.errors import VariableError

    est = designs()["dclus1"].mean("api00", by="stype")
    with pytest.raises(VariableError) as info:
        est.contrast({"E": 1, "X": -1})
    assert info.value.argument == "coefficients" and info.value.value == "X"
    assert "'E'" in info.value.fix and "'M'" in info.value.fix
    for bad in ({}, {"E": float("nan")}, {"E": "1"}, {"E": True}):
        with pytest.raises(VariableError):
            est.contrast(bad)
    plain = est.to_frame()
    assert est.contrast({"E": 2}).to_frame()["estimate"].iloc[0] == pytest.approx(
        2 * plain.loc["E", "estimate"])
