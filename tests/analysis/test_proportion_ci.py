"""Proportion intervals: inside [0, 1], never collapsed at 0% or 100%, Wilson, R's spline."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis import CI_METHODS, SurveyDesign
from analysis._ci import proportion_ci, r_approx, r_spline
from tests.analysis.reference_designs import read_nantong


@pytest.fixture(scope="module")
def dnt() -> SurveyDesign:
    nt = read_nantong()
    nt["never"] = 0
    nt["always"] = 1
    return SurveyDesign(nt, weights="weight", strata="district", psu="community", fpc="fpc",
                        nest=True)


@pytest.mark.parametrize("method", CI_METHODS)
@pytest.mark.parametrize("variable", ["never", "always", "complaint"])
def test_intervals_stay_in_unit_interval_and_never_collapse(dnt, method, variable):
    table = dnt.proportion(variable, by="district", ci_method=method).to_frame()
    assert (table["ci_low"] >= 0).all() and (table["ci_high"] <= 1).all()
    assert (table["ci_low"] <= table["estimate"]).all()
    assert (table["ci_high"] >= table["estimate"]).all()
    assert (table["ci_high"] - table["ci_low"] > 0).all()


def test_zero_percent_uses_clopper_pearson_on_kish_n(dnt):
    est = dnt.proportion("never", ci_method="logit")
    row = est.to_frame().loc["all"]
    n = row["n_eff"]
    assert row["ci_low"] == 0
    assert row["ci_high"] == pytest.approx(1 - 0.025 ** (1 / n))
    assert any("Clopper-Pearson" in note for note in est.notes)
    row = dnt.proportion("always", ci_method="beta").to_frame().loc["all"]
    assert row["ci_high"] == 1 and row["ci_low"] == pytest.approx(0.025 ** (1 / n))


def test_wilson_with_design_effective_sample_size(dnt):
    row = dnt.proportion("satisfied", ci_method="wilson").to_frame().loc["all"]
    p, se, df = row["estimate"], row["se"], row["df"]
    n = p * (1 - p) / se ** 2
    z = stats.t.ppf(0.975, df)
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert row["ci_low"] == pytest.approx(centre - half)
    assert row["ci_high"] == pytest.approx(centre + half)


def test_level_changes_width(dnt):
    a = dnt.proportion("satisfied", level=0.90).to_frame().loc["all"]
    b = dnt.proportion("satisfied", level=0.99).to_frame().loc["all"]
    assert b["ci_high"] - b["ci_low"] > a["ci_high"] - a["ci_low"]


def test_asin_limits_do_not_fold_back():
    low, high, _ = proportion_ci("asin", np.array([0.01]), np.array([0.0004]), np.array([10]),
                                 0.95, n_design_rows=np.array([50.0]),
                                 n_kish=np.array([40.0]))
    assert low[0] == 0.0 and 0.01 < high[0] < 1


def test_wald_limits_are_clipped():
    low, high, _ = proportion_ci("mean", np.array([0.97]), np.array([0.0009]), np.array([5]),
                                 0.95, n_design_rows=np.array([50.0]),
                                 n_kish=np.array([40.0]))
    assert high[0] == 1.0 and low[0] < 0.97


def test_r_spline_interpolates_a_cubic_exactly():
    # fmm end conditions reproduce cubics exactly (R's spline(method = "fmm"))
    x = np.array([0.0, 0.5, 1.3, 2.0, 3.1, 4.0])
    y = x ** 3 - 2 * x
    xs, ys = r_spline(x, y)
    assert len(xs) == 3 * len(x)
    assert np.allclose(ys, xs ** 3 - 2 * xs, atol=1e-12)
    assert r_approx(np.array([0.0, 1.0, 2.0]), np.array([0.0, 10.0, 20.0]),
                    np.array([0.5, 3.0]))[0] == 5.0
    assert np.isnan(r_approx(np.array([0.0, 1.0]), np.array([0.0, 1.0]), np.array([3.0]))[0])


def test_df_zero_gives_no_interval():
    nt = read_nantong()
    nt = nt[~((nt["district"] == "开发区") & (nt["community"] != "C01"))]
    des = SurveyDesign(nt, weights="weight", strata="district", psu="community", fpc="fpc",
                       nest=True, lonely_psu="adjust")
    table = des.proportion("satisfied", by="district").to_frame()
    assert table.loc["开发区", "df"] == 0
    assert np.isnan(table.loc["开发区", "ci_low"])
    assert table.drop(index="开发区")["ci_low"].notna().all()


@pytest.mark.parametrize("method", ["logit", "beta", "mean", "asin", "likelihood", "wilson"])
def test_zero_variance_inside_the_unit_interval_gives_a_finite_interval(method):
    # Identical PSU means within a stratum give a proportion strictly inside (0, 1) with
    # zero variance; the beta interval once overflowed in scipy here.
    data = pd.DataFrame({"s": ["a"] * 4 + ["b"] * 4, "psu": list("11223344"),
                         "y": [1, 1, 1, 0, 1, 0, 1, 0.0]})
    design = SurveyDesign(data, strata="s", psu="psu", nest=True)
    frame = design.proportion("y", by="s", ci_method=method).to_frame()
    row = frame.loc["b"]
    assert row["se"] == 0
    assert 0 <= row["ci_low"] <= 0.5 <= row["ci_high"] <= 1


# --- likelihood interval at a tiny profile alpha (R's cases: survey_reference.R, yrbs and
# nhanes; missing answers are checked there) ---

def test_f_upper_quantile_is_r_qf_at_tiny_alpha():
    from analysis._ci import f_upper_quantile
    # R: qf(1e-17, 1, c(5, 40, 200, 8000), lower.tail = FALSE)
    r_values = [2.0479599241160668e+07, 2.1628169886571871e+02, 8.9099721430033128e+01,
                7.3855943140692659e+01]
    for df2, expected in zip((5, 40, 200, 8000), r_values):
        assert f_upper_quantile(1e-17, 1.0, df2) == pytest.approx(expected, rel=1e-9)
    # R: qf(0.025, 1, 40, lower.tail = FALSE)
    assert f_upper_quantile(0.025, 1.0, 40) == pytest.approx(5.4239371515922041, rel=1e-12)


def test_likelihood_interval_with_a_large_design_effect_is_finite():
    from tests.analysis.reference_designs import designs
    table = designs()["dyrbs"].proportion("qn8yes", ci_method="likelihood").to_frame()
    row = table.loc["all"]
    assert np.isfinite(row["ci_low"]) and np.isfinite(row["ci_high"])
    assert row["ci_low"] < row["estimate"] < row["ci_high"]


def test_likelihood_interval_that_cannot_be_solved_says_so(dnt, monkeypatch):
    from analysis import _ci
    monkeypatch.setattr(_ci, "_likelihood_one", lambda *args: (np.nan, np.nan))
    est = dnt.proportion("complaint", ci_method="likelihood")
    assert est.to_frame()["ci_low"].isna().all()
    assert any("likelihood profile could not be solved" in note for note in est.notes)


def test_t_quantile_cache_is_safe_under_threads():
    """Sessions of the app share the cache: many threads filling and evicting it at once never
    raise and always get the right quantile."""
    import threading

    from scipy import stats

    from analysis import _ci

    errors: list = []

    def work(seed: int) -> None:
        rng = np.random.default_rng(seed)
        for _ in range(400):
            df = rng.integers(1, 2000, size=3).astype(float)
            try:
                got = _ci.t_quantile(0.95, df)
                assert np.allclose(got, stats.t.ppf(0.975, df))
            except Exception as exc:  # noqa: BLE001 - collected and reported below
                errors.append(exc)

    import sys

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)     # switch threads as often as possible: races show
    try:
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors, errors[:3]
    assert len(_ci._T_CACHE) <= _ci._T_CACHE_SIZE
