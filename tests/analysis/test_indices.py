"""Satisfaction indices (analysis.indices): R's svycontrast for fixed weights, PLS weights
redone in every replicate, invariances and bad input.

R reference: tests/reference/indices_reference.R (svycontrast of svymean / svyby(covmat=TRUE))
on the ECSI data with a made-up stratified cluster design computed from the row number.
"""
from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from analysis import SurveyDesign
from analysis.errors import VariableError
from analysis.indices import satisfaction_index
from analysis.pls import PLSModelError, plspm
from tests.conftest import REFERENCE_DIR
from tests.reference.checks import assert_script_reproduces

EXPE = ["expe1", "expe2", "expe3"]
QUAL = ["qual1", "qual2", "qual3"]
BLOCKS = {"IMAG": ["imag1", "imag2", "imag3"], "EXPE": EXPE, "QUAL": QUAL,
          "SAT": ["sat1", "sat2", "sat3"]}
INNER = [("IMAG", "EXPE"), ("IMAG", "SAT"), ("EXPE", "QUAL"), ("EXPE", "SAT"), ("QUAL", "SAT")]
MODEL = {"blocks": BLOCKS, "inner": INNER, "index_block": "SAT"}


def ecsi() -> pd.DataFrame:
    d = pd.read_csv(REFERENCE_DIR / "ecsi" / "satisfaction.csv")
    r = np.arange(len(d))
    d["stratum"], d["psu"], d["weight"] = r % 4, r // 5, 1 + (r % 7) / 3
    return d


@pytest.fixture(scope="module")
def design() -> SurveyDesign:
    return SurveyDesign(ecsi(), weights="weight", strata="stratum", psu="psu", nest=True)


def reference() -> pd.DataFrame:
    return pd.read_csv(REFERENCE_DIR / "indices_reference.csv", dtype={"domain": str})


def r_value(case: str, domain: str, quantity: str) -> float:
    ref = reference()
    row = ref[(ref["case"] == case) & (ref["domain"] == domain) & (ref["quantity"] == quantity)]
    assert len(row) == 1, (case, domain, quantity)
    return float(row["value"].iloc[0])


@pytest.mark.parametrize("case, weights", [("equal", "equal"),
                                           ("fixed", {"EXPE": 0.7, "QUAL": 0.3})])
def test_fixed_weights_equal_r_svycontrast(design, case, weights):
    res = satisfaction_index(design, {"EXPE": EXPE, "QUAL": QUAL}, scales=(0, 10),
                             weights=weights)
    t = res.to_frame()
    assert t.loc["index", "estimate"] == pytest.approx(r_value(case, "all", "estimate"),
                                                       rel=1e-9)
    assert t.loc["index", "se"] == pytest.approx(r_value(case, "all", "se"), rel=1e-6)
    assert t.loc["EXPE", "estimate"] == pytest.approx(r_value("expe", "all", "estimate"),
                                                      rel=1e-9)
    assert t.loc["EXPE", "se"] == pytest.approx(r_value("expe", "all", "se"), rel=1e-6)
    assert (t["df"] == r_value("df", "all", "df")).all()


@pytest.mark.parametrize("case, weights", [("equal", "equal"),
                                           ("fixed", {"EXPE": 0.7, "QUAL": 0.3})])
def test_fixed_weights_by_domain_equal_r(design, case, weights):
    t = satisfaction_index(design, {"EXPE": EXPE, "QUAL": QUAL}, scales=(0, 10),
                           weights=weights, by="gender").to_frame()
    for g in ("female", "male"):
        row = t.loc[(g, "index")]
        assert row["estimate"] == pytest.approx(r_value(f"{case}_by_gender", g, "estimate"),
                                                rel=1e-9)
        assert row["se"] == pytest.approx(r_value(f"{case}_by_gender", g, "se"), rel=1e-6)
        assert row["df"] == r_value("df_by_gender", g, "df")


def test_linearised_and_replicate_variances_agree_for_fixed_weights(design):
    """The replicate engine runs the same statistic: JKn on this design is close to
    linearisation (not equal: a different variance estimator)."""
    lin = satisfaction_index(design, {"EXPE": EXPE, "QUAL": QUAL}, scales=(0, 10)).to_frame()
    jk = satisfaction_index(design.replicate("jkn"), {"EXPE": EXPE, "QUAL": QUAL},
                            scales=(0, 10)).to_frame()
    assert np.allclose(jk["estimate"], lin["estimate"], rtol=1e-12)
    assert np.allclose(jk["se"], lin["se"], rtol=0.05)


def test_pls_weights_are_those_of_the_full_sample_model(design):
    rep = design.replicate("bootstrap", replicates=30, seed=3)
    res = satisfaction_index(rep, BLOCKS["SAT"], scales=(0, 10), weights="pls", model=MODEL)
    d = ecsi()
    fit = plspm(d, blocks=BLOCKS, inner=INNER, weights="weight")
    shares = fit.index_weights()
    assert np.allclose(res.weights["weight"], shares[BLOCKS["SAT"]], rtol=1e-9)
    means = np.array([np.average(d[c], weights=d["weight"]) for c in BLOCKS["SAT"]])
    expected = float(shares[BLOCKS["SAT"]].to_numpy() @ (means * 10))
    assert res.to_frame().loc["index", "estimate"] == pytest.approx(expected, rel=1e-9)
    assert res.method == "pls" and res.variance == "bootstrap"


def test_pls_interval_reflects_the_weights_estimation(design):
    """Fixed at the full-sample PLS weights, the replicate SE ignores the weights' own
    variability; re-estimating them in every replicate changes the SE."""
    rep = design.replicate("bootstrap", replicates=60, seed=4)
    pls = satisfaction_index(rep, BLOCKS["SAT"], scales=(0, 10), weights="pls", model=MODEL)
    shares = dict(zip(BLOCKS["SAT"], pls.weights["weight"]))
    fixed = satisfaction_index(rep, BLOCKS["SAT"], scales=(0, 10), weights=shares)
    a, b = pls.to_frame().loc["index"], fixed.to_frame().loc["index"]
    assert a["estimate"] == pytest.approx(b["estimate"], rel=1e-12)
    assert a["se"] != pytest.approx(b["se"], rel=1e-6)
    assert a["se"] == pytest.approx(b["se"], rel=0.2)


def test_a_linearised_design_gets_replicates_for_pls_weights(design):
    res = satisfaction_index(design, BLOCKS["SAT"], scales=(0, 10), weights="pls", model=MODEL,
                             replicates=20, seed=1)
    assert res.variance == "bootstrap"
    assert np.isfinite(res.to_frame()["se"]).all()


def test_scaling_the_weights_changes_nothing():
    d = ecsi()
    base = SurveyDesign(d, weights="weight", strata="stratum", psu="psu", nest=True)
    d2 = d.assign(weight=d["weight"] * 37.5)
    scaled = SurveyDesign(d2, weights="weight", strata="stratum", psu="psu", nest=True)
    a = satisfaction_index(base, {"EXPE": EXPE, "QUAL": QUAL}, scales=(0, 10)).to_frame()
    b = satisfaction_index(scaled, {"EXPE": EXPE, "QUAL": QUAL}, scales=(0, 10)).to_frame()
    assert np.allclose(a[["estimate", "se"]], b[["estimate", "se"]], rtol=1e-10)


def test_an_item_at_the_top_of_its_scale_scores_100(design):
    d = ecsi().assign(top=10.0, bottom=0.0)
    des = SurveyDesign(d, weights="weight", strata="stratum", psu="psu", nest=True)
    t = satisfaction_index(des, {"TOP": ["top"], "BOTTOM": ["bottom"]}, scales=(0, 10)).to_frame()
    assert t.loc["TOP", "estimate"] == pytest.approx(100.0)
    assert t.loc["BOTTOM", "estimate"] == pytest.approx(0.0)
    assert t.loc["index", "estimate"] == pytest.approx(50.0)


def test_negative_pls_weights_are_refused_naming_the_item():
    d = ecsi()
    d["sat3"] = 10 - d["sat3"]          # reverse-coded: its weight comes out negative
    des = SurveyDesign(d, weights="weight", strata="stratum", psu="psu", nest=True)
    with pytest.raises(PLSModelError, match="sat3"):
        satisfaction_index(des, BLOCKS["SAT"], scales=(0, 10), weights="pls", model=MODEL,
                           replicates=10)


@pytest.mark.parametrize("kwargs, argument", [
    ({"components": ["nope"], "scales": (0, 10)}, "variable"),
    ({"components": [], "scales": (0, 10)}, "components"),
    ({"components": EXPE, "scales": (10, 0)}, "scales"),
    ({"components": EXPE, "scales": (1, 5)}, "scales"),
    ({"components": {"A": EXPE, "B": QUAL}, "scales": (0, 10), "weights": {"A": 1}}, "weights"),
    ({"components": EXPE, "scales": (0, 10), "weights": "mystery"}, "weights"),
    ({"components": EXPE, "scales": (0, 10), "weights": "pls"}, "model"),
    ({"components": EXPE, "scales": (0, 10), "weights": "pls", "model": MODEL}, "model"),
    ({"components": EXPE, "scales": (0, 10), "level": 1.5}, "level"),
    ({"components": ["sat1"], "scales": (0, 10), "weights": "pls",
      "model": {"blocks": {**BLOCKS, "SAT": ["sat1"]}, "inner": INNER, "index_block": "SAT"}},
     "model"),
])
def test_bad_input_names_the_argument(design, kwargs, argument):
    with pytest.raises(VariableError) as info:
        satisfaction_index(design, **kwargs)
    assert info.value.argument == argument
    assert info.value.fix


def test_a_cycle_in_the_pls_model_is_refused(design):
    model = {"blocks": BLOCKS, "inner": INNER + [("SAT", "IMAG")], "index_block": "SAT"}
    with pytest.raises(PLSModelError, match="cycle"):
        satisfaction_index(design, BLOCKS["SAT"], scales=(0, 10), weights="pls", model=model)


def test_stored_reference_is_what_r_gives(tmp_path):
    assert_script_reproduces("indices_reference.R", "indices_reference.csv", tmp_path)


def test_an_item_without_variation_in_a_replicate_is_named():
    """A rarely varying item can be constant in one replicate: a clear error, not NaN."""
    d = ecsi()
    d["sat3"] = 5.0
    first = (d["psu"] == 0) & (d["stratum"] == 0)   # one PSU: constant in replicates without it
    d.loc[first, "sat3"] = d.loc[first, "sat1"]
    des = SurveyDesign(d, weights="weight", strata="stratum", psu="psu", nest=True)
    with pytest.raises(VariableError, match="sat3") as info:
        satisfaction_index(des, BLOCKS["SAT"], scales=(0, 10), weights="pls", model=MODEL,
                           replicates=40, seed=2)
    assert info.value.argument == "model"


def test_change_of_an_index_between_waves_is_the_stacked_designs_contrast():
    """The app reports an index's change between waves as the difference with SE = sqrt(SE1² +
    SE2²) and df = df1 + df2 (survey_app.indices.index_changes): for separate samples that is
    exactly R's svycontrast on svyby(~y, ~wave, stacked design) (analysis.wave_change)."""
    from analysis import stack_waves, wave_change

    data = pd.read_csv(REFERENCE_DIR / "waves_sample.csv", encoding="utf-8")
    data["item"] = data["score"].clip(0, 10)
    spec = dict(weights="weight", strata="district", psu="community", fpc="fpc", nest=True)
    per_wave = {w: satisfaction_index(SurveyDesign(part.reset_index(drop=True), **spec), ["item"],
                                      scales=(0, 10)).to_frame().loc["index"]
                for w, part in data.groupby("wave")}
    a, b = per_wave[2025], per_wave[2026]
    stacked = wave_change(stack_waves(data, wave="wave", **spec), "item", wave="wave").to_frame()
    row = stacked.iloc[0]
    assert b["estimate"] - a["estimate"] == pytest.approx(10 * row["difference"], rel=1e-9)
    assert np.hypot(a["se"], b["se"]) == pytest.approx(10 * row["se"], rel=1e-9)
    assert a["df"] + b["df"] == row["df"]
