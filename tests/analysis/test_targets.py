"""Verdicts of survey targets: met / not met / inconclusive, p-values, further interviews, NCHS flags."""
from __future__ import annotations

import math
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import expit, logit

from analysis import OVERALL, SurveyDesign
from analysis.targets import (
    HINTS,
    INTERVAL_METHODS,
    MIN_EFFECTIVE_N,
    PRACTICAL_EXTRA,
    VERDICT_COLUMNS,
    Target,
    TargetError,
    assess_target,
    extra_interviews,
    hint_of,
    judge,
    nchs_flags,
    nchs_reasons,
    sample_needed,
    one_sided_p_value,
    verdict_of,
)
from questionnaires import Text
from tests.conftest import require_program

LEVEL = 0.95


def make_target(threshold: float = 0.85, statistic: str = "proportion") -> Target:
    return Target(id="t", label=Text("满意度", "Satisfaction"), questionnaire="consumer_environment",
                  question="overall_satisfaction", statistic=statistic,
                  denominator="all" if statistic == "proportion" else "relevant", threshold=threshold,
                  clause_section="二、主要目标", clause_text="总体满意度达到85%以上",
                  success=("4", "5") if statistic == "proportion" else ())


def stratified_sample(rng: np.random.Generator, *, n_strata: int = 4, psus: int = 5, per_psu: int = 12,
                      p: float = 0.85) -> pd.DataFrame:
    rows = []
    for s in range(n_strata):
        for c in range(psus):
            p_psu = np.clip(p + rng.normal(0, 0.06), 0.01, 0.99)
            for _ in range(per_psu + int(rng.integers(0, 4))):
                rows.append({"district": f"d{s}", "psu": f"p{c}", "y": float(rng.random() < p_psu),
                             "score": float(np.clip(rng.normal(80 + 2 * s, 12), 0, 100))})
    return pd.DataFrame(rows)


# -- the verdict rule ---------------------------------------------------------------------------

finite = st.floats(0.001, 0.999, allow_nan=False)


@given(low=finite, width=st.floats(0, 0.5), threshold=finite)
def test_verdict_follows_the_interval_and_only_the_interval(low, width, threshold):
    high = min(low + width, 1.0)
    verdict = verdict_of(ci_low=low, ci_high=high, threshold=threshold)
    assert (verdict == "met") == (low >= threshold)
    assert (verdict == "not met") == (high < threshold)
    assert (verdict == "inconclusive") == (low < threshold <= high)


def test_verdict_at_the_boundaries():
    assert verdict_of(ci_low=0.85, ci_high=0.9, threshold=0.85) == "met"  # "at or above"
    assert verdict_of(ci_low=0.8, ci_high=0.85, threshold=0.85) == "inconclusive"  # upper must be below
    assert verdict_of(ci_low=math.nan, ci_high=math.nan, threshold=0.85) == "inconclusive"


# -- the one-sided p-value -----------------------------------------------------------------------

def test_p_value_matches_scipy_one_sample_t_test_for_a_simple_random_sample(rng):
    y = rng.normal(82, 10, size=57)
    design = SurveyDesign(pd.DataFrame({"y": y}))
    table = design.mean("y").to_frame().loc[OVERALL]
    reference = stats.ttest_1samp(y, 80, alternative="greater")
    ours = one_sided_p_value(table["estimate"], se=table["se"], df=table["df"], threshold=80)
    assert ours == pytest.approx(reference.pvalue, rel=1e-10)


@given(estimate=finite, se=st.floats(1e-4, 0.2), df=st.integers(1, 500), threshold=finite)
def test_p_value_agrees_with_the_wald_interval(estimate, se, df, threshold):
    """With a Wald interval, 'met' is exactly 'p <= (1 - level) / 2'."""
    q = stats.t.ppf(1 - (1 - LEVEL) / 2, df)
    low, high = estimate - q * se, estimate + q * se
    p = one_sided_p_value(estimate, se=se, df=df, threshold=threshold)
    met = verdict_of(ci_low=low, ci_high=high, threshold=threshold) == "met"
    if abs(low - threshold) > 1e-9:  # away from floating-point ties
        assert met == (p <= (1 - LEVEL) / 2)
    assert 0 <= p <= 1


def test_p_value_is_missing_without_a_standard_error_or_degrees_of_freedom():
    assert math.isnan(one_sided_p_value(0.9, se=0.0, df=10, threshold=0.85))
    assert math.isnan(one_sided_p_value(0.9, se=0.02, df=0, threshold=0.85))


# -- further interviews --------------------------------------------------------------------------

def interval(estimate: float, se: float, df: int, method: str) -> tuple[float, float]:
    """The interval of ``method`` written out independently of analysis.targets."""
    q = stats.t.ppf(1 - (1 - LEVEL) / 2, df)
    if method in ("t", "mean"):
        return estimate - q * se, estimate + q * se
    if method == "logit":
        half = q * se / (estimate * (1 - estimate))
        return expit(logit(estimate) - half), expit(logit(estimate) + half)
    centre, half = np.arcsin(np.sqrt(estimate)), q * se / (2 * np.sqrt(estimate * (1 - estimate)))
    return np.sin(max(centre - half, 0)) ** 2, np.sin(min(centre + half, np.pi / 2)) ** 2


@settings(max_examples=200)
@given(estimate=st.floats(0.05, 0.95), se=st.floats(0.005, 0.08), df=st.integers(2, 200),
       n=st.integers(30, 3000), offset=st.floats(-1.0, 1.0), method=st.sampled_from(["mean", "logit", "asin"]))
def test_extra_interviews_is_the_smallest_number_that_settles_the_verdict(estimate, se, df, n, offset, method):
    low, high = interval(estimate, se, df, method)
    threshold = estimate + offset * (estimate - low if offset < 0 else high - estimate)  # inside the interval
    if verdict_of(ci_low=low, ci_high=high, threshold=threshold) != "inconclusive" or abs(offset) < 1e-3:
        return
    extra = extra_interviews(estimate, se=se, df=df, level=LEVEL, ci_low=low, ci_high=high, n=n,
                             threshold=threshold, ci_method=method)

    def settled(m: int) -> bool:
        new_low, new_high = interval(estimate, se * math.sqrt(n / (n + m)), df, method)
        return verdict_of(ci_low=new_low, ci_high=new_high, threshold=threshold) != "inconclusive"

    def on_the_boundary(m: int) -> bool:
        # The two sides compute the moved limit in a different order of operations, so at
        # the exact boundary they may disagree in the last bits; that is not a wrong count.
        new_low, new_high = interval(estimate, se * math.sqrt(n / (n + m)), df, method)
        limit = new_low if estimate > threshold else new_high
        return abs(limit - threshold) <= 1e-12

    assert extra is not None and extra >= 1
    assert settled(extra)
    assert not settled(extra - 1) or extra == 1 or on_the_boundary(extra - 1)


def wald(estimate: float, half_width: float, **options):
    """extra_interviews of a Wald interval estimate +/- half_width on 10**6 degrees of freedom."""
    se = half_width / stats.t.ppf(1 - (1 - LEVEL) / 2, 10**6)
    return extra_interviews(estimate, se=se, df=10**6, level=LEVEL, ci_low=estimate - half_width,
                            ci_high=estimate + half_width, ci_method="mean", **options)


def test_extra_interviews_in_closed_form_for_a_wald_interval():
    # 0.87 +/- 0.03 against 0.85: the half-width must shrink to 0.02, so n grows by (3/2)^2.
    assert wald(0.87, 0.03, n=400, threshold=0.85) == 500
    assert wald(0.83, 0.03, n=400, threshold=0.85) == 501  # "not met" needs the upper limit strictly below


def test_extra_interviews_counts_interviews_when_only_some_are_in_the_denominator():
    assert wald(0.87, 0.03, n=400, threshold=0.85, interviews=800) == 2 * wald(0.87, 0.03, n=400, threshold=0.85)


@pytest.mark.parametrize("method", ["beta", "likelihood", "wilson"])
def test_extra_interviews_for_asymmetric_intervals_shrinks_the_logit_distance(method):
    # logit(0.9) - logit(0.85) is 0.4621; the interval's lower limit is 0.8 (logit distance 0.8109)
    extra = extra_interviews(0.9, se=0.05, df=30, level=LEVEL, ci_low=0.8, ci_high=0.95, n=100, threshold=0.85,
                             ci_method=method)
    factor = (logit(0.9) - logit(0.85)) / (logit(0.9) - logit(0.8))
    assert extra == math.ceil(100 * (1 / factor**2 - 1))


def test_extra_interviews_returns_at_once_when_the_estimate_is_the_threshold_to_rounding():
    # 4 of 5 is 0.7999999999999999 after weighting: it used to loop for ever adding one interview
    assert extra_interviews(0.7999999999999999, se=0.16, df=1.0, level=0.95, ci_low=1.2128863845315446e-05,
                            ci_high=0.99999924193739, n=5, threshold=0.8, ci_method="logit") is None


def test_extra_interviews_when_none_are_needed_or_none_would_do():
    options = dict(se=0.02, df=30, level=LEVEL, n=100, ci_method="logit")
    assert extra_interviews(0.9, ci_low=0.86, ci_high=0.93, threshold=0.85, **options) == 0
    assert extra_interviews(0.85, ci_low=0.8, ci_high=0.9, threshold=0.85, **options) is None
    assert extra_interviews(0.85, ci_low=math.nan, ci_high=math.nan, threshold=0.8, **options) is None


def test_unknown_interval_method_is_named_with_the_allowed_ones():
    with pytest.raises(TargetError, match="ci_method.*'wald'.*logit"):
        extra_interviews(0.86, se=0.02, df=30, level=LEVEL, ci_low=0.8, ci_high=0.9, n=100, threshold=0.85,
                         ci_method="wald")
    assert set(INTERVAL_METHODS) >= {"t", "logit", "beta", "mean", "asin", "likelihood", "wilson"}


# -- NCHS reliability ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("case", "expected"),
    [
        # effective sample size n / deff: 60 / 2.5 = 24 < 30
        (dict(estimate=0.5, n=60, deff=2.5, df=40, ci_low=0.4, ci_high=0.6), ["effective sample size"]),
        # deff below 1 does not raise the effective sample size above n
        (dict(estimate=0.5, n=29, deff=0.5, df=40, ci_low=0.45, ci_high=0.55), ["effective sample size"]),
        (dict(estimate=0.5, n=300, deff=1.2, df=40, ci_low=0.35, ci_high=0.65), ["CI width"]),  # width 0.30
        # width 0.10 is 133% of 0.075: the relative width criterion applies between 0.05 and 0.30
        (dict(estimate=0.075, n=300, deff=1.0, df=40, ci_low=0.04, ci_high=0.14), ["relative CI width"]),
        # width 0.05 is at the floor: the relative criterion does not apply
        (dict(estimate=0.02, n=900, deff=1.0, df=40, ci_low=0.005, ci_high=0.055), []),
        (dict(estimate=0.5, n=300, deff=1.0, df=7, ci_low=0.45, ci_high=0.55), ["degrees of freedom"]),
        (dict(estimate=0.5, n=300, deff=1.0, df=8, ci_low=0.45, ci_high=0.55), []),
    ],
)
def test_nchs_flags_follow_the_2017_standard(case, expected):
    flags = nchs_flags(**case)
    assert [f.split(" ")[0] for f in flags] == [e.split(" ")[0] for e in expected]
    for flag, reason in zip(flags, expected):
        assert flag.startswith(reason)


def test_nchs_width_criteria_do_not_apply_to_means():
    assert nchs_flags(81.0, n=300, deff=1.0, df=40, ci_low=75.0, ci_high=87.0, statistic="mean") == ()


# -- judging an estimate table and assessing a target ---------------------------------------------

def test_judge_gives_one_row_per_domain_with_every_column():
    estimates = pd.DataFrame({"estimate": [0.9, 0.8, 0.86, np.nan], "se": [0.01, 0.01, 0.02, np.nan],
                              "ci_low": [0.88, 0.78, 0.82, np.nan], "ci_high": [0.92, 0.82, 0.9, np.nan],
                              "df": [40, 40, 40, 0], "n": [500, 500, 300, 0], "deff": [1.5, 1.2, 1.1, np.nan]},
                             index=pd.Index(["all", "a", "b", "c"]))
    table = judge(estimates, threshold=0.85, ci_method="mean", level=LEVEL)
    assert list(table.columns) == list(VERDICT_COLUMNS)
    assert table["verdict"].tolist() == ["met", "not met", "inconclusive", "no data"]
    assert table["difference"].iloc[:3].tolist() == pytest.approx([0.05, -0.05, 0.01])
    assert table["extra_interviews"].isna().tolist() == [True, True, False, True]
    assert table.loc["all", "n_eff"] == pytest.approx(500 / 1.5)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(finite, st.floats(0, 0.2), st.floats(0, 0.2), st.integers(0, 60), st.integers(0, 900),
                               st.floats(0.5, 3)), min_size=1, max_size=9),
       threshold=finite)
def test_judge_equals_the_verdict_functions_row_by_row(rows, threshold):
    """The table is judged row by row with the scalar functions, whatever the order of the extra inputs."""
    index = pd.Index([f"d{i}" for i in range(len(rows))])
    estimates = pd.DataFrame([{"estimate": e, "se": se, "ci_low": e - half, "ci_high": e + half, "df": df, "n": n,
                               "deff": deff} for e, se, half, df, n, deff in rows], index=index)
    kg = estimates[["ci_low", "ci_high"]].assign(ci_low=lambda d: d["ci_low"] - 0.01).iloc[::-1]
    interviews = pd.Series([n + 7 for *_, n, _ in rows], index=index).iloc[::-1]
    table = judge(estimates, threshold=threshold, ci_method="logit", level=LEVEL, reliability_ci=kg,
                  interviews=interviews)
    for key, row in estimates.iterrows():
        got = table.loc[key]
        assert got["interviews"] == row["n"] + 7
        if row["n"] == 0:
            assert got["verdict"] == "no data" and math.isnan(got["p_value"])
            continue
        assert got["verdict"] == verdict_of(ci_low=row["ci_low"], ci_high=row["ci_high"], threshold=threshold)
        p = one_sided_p_value(row["estimate"], se=row["se"], df=row["df"], threshold=threshold)
        assert got["p_value"] == p or (math.isnan(p) and math.isnan(got["p_value"]))
        flags = nchs_flags(row["estimate"], n=int(row["n"]), deff=row["deff"], df=row["df"],
                           ci_low=kg.loc[key, "ci_low"], ci_high=kg.loc[key, "ci_high"])
        assert got["reliability"] == "; ".join(flags) and got["reliable"] == (not flags)


def test_assess_target_reproduces_the_design_estimates(rng):
    data = stratified_sample(rng)
    design = SurveyDesign(data, strata="district", psu="psu", nest=True)
    assessment = assess_target(design, "y", target=make_target(), by="district", ci_method="logit")
    table = assessment.to_frame()
    overall = design.proportion("y", ci_method="logit").to_frame().loc[OVERALL]
    by_district = design.proportion("y", by="district", ci_method="logit").to_frame()
    assert list(table.index) == [OVERALL, *by_district.index]
    for key, row in [(OVERALL, overall), *by_district.iterrows()]:
        assert table.loc[key, "estimate"] == row["estimate"]
        assert table.loc[key, "ci_low"] == row["ci_low"]
        assert table.loc[key, "ci_high"] == row["ci_high"]
        assert table.loc[key, "verdict"] == verdict_of(ci_low=row["ci_low"], ci_high=row["ci_high"], threshold=0.85)
    assert assessment.verdict == table.loc[OVERALL, "verdict"]
    text = assessment.summary()
    assert "overall" in text and "d0" in text and isinstance(text, str)


def test_assess_target_is_invariant_to_row_order_and_weight_scale(rng):
    data = stratified_sample(rng)
    data["w"] = rng.uniform(1, 3, len(data))
    design = SurveyDesign(data, weights="w", strata="district", psu="psu", nest=True)
    shuffled = data.sample(frac=1, random_state=7).assign(w=lambda d: d["w"] * 1000)
    other = SurveyDesign(shuffled, weights="w", strata="district", psu="psu", nest=True)
    a = assess_target(design, "y", target=make_target(), by="district").to_frame()
    b = assess_target(other, "y", target=make_target(), by="district").to_frame().loc[a.index]
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9)


def test_reliability_uses_the_95_percent_korn_graubard_interval_at_any_level(rng):
    data = stratified_sample(rng, n_strata=2, psus=3, per_psu=8)
    design = SurveyDesign(data, strata="district", psu="psu", nest=True)
    kg = design.proportion("y", by="district", ci_method="beta", level=0.95, deff="replace").to_frame()
    for level in (0.8, 0.95):
        table = assess_target(design, "y", target=make_target(), by="district", level=level).to_frame()
        for key, row in kg.iterrows():
            expected = nchs_flags(row["estimate"], n=row["n"], deff=row["deff"], df=row["df"], ci_low=row["ci_low"],
                                  ci_high=row["ci_high"])
            assert table.loc[key, "reliability"] == "; ".join(expected)
            assert table.loc[key, "reliable"] == (not expected)


def test_assess_target_of_a_mean_uses_t_intervals(rng):
    data = stratified_sample(rng)
    design = SurveyDesign(data, strata="district", psu="psu", nest=True)
    assessment = assess_target(design, "score", target=make_target(80.0, "mean"), by="district")
    reference = design.mean("score", by="district").to_frame()
    table = assessment.to_frame()
    assert assessment.ci_method == "t"
    assert table.loc[reference.index, "ci_low"].tolist() == reference["ci_low"].tolist()
    assert set(table["verdict"]) <= {"met", "not met", "inconclusive"}


R_SCRIPT = """
suppressMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
des <- svydesign(ids = ~psu, strata = ~district, data = d, nest = TRUE)
one <- function(des, name) {
  ci <- svyciprop(~y, des, method = "logit", level = 0.95)
  est <- as.numeric(coef(ci)); se <- as.numeric(SE(ci)); df <- degf(des)
  data.frame(domain = name, estimate = est, se = se, ci_low = attr(ci, "ci")[1], ci_high = attr(ci, "ci")[2],
             df = df, p = pt((est - 0.85) / se, df, lower.tail = FALSE))
}
out <- one(des, "all")
for (s in sort(unique(d$district))) out <- rbind(out, one(subset(des, district == s), s))
write.csv(out, args[2], row.names = FALSE)
"""


@pytest.mark.r_reference
def test_assessment_agrees_with_r_survey(rng, tmp_path: Path):
    rscript = require_program("Rscript")
    data = stratified_sample(rng, n_strata=3, psus=4, per_psu=15)
    data.to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "verdict.R").write_text(R_SCRIPT)
    subprocess.run([rscript, str(tmp_path / "verdict.R"), str(tmp_path / "data.csv"), str(tmp_path / "out.csv")],
                   check=True, capture_output=True, timeout=120)
    reference = pd.read_csv(tmp_path / "out.csv").set_index("domain")
    design = SurveyDesign(data, strata="district", psu="psu", nest=True)
    table = assess_target(design, "y", target=make_target(), by="district").to_frame()
    for column, ours in [("estimate", "estimate"), ("se", "se"), ("ci_low", "ci_low"), ("ci_high", "ci_high"),
                         ("df", "df"), ("p", "p_value")]:
        np.testing.assert_allclose(table.loc[reference.index, ours].to_numpy(dtype=float),
                                   reference[column].to_numpy(dtype=float), rtol=1e-6, err_msg=column)
    for key, row in reference.iterrows():
        assert table.loc[key, "verdict"] == verdict_of(ci_low=row["ci_low"], ci_high=row["ci_high"], threshold=0.85)


# -- small samples and the hint of a verdict (issue 13) ---------------------------------------------

def elderly_care(n: int = 25, interviews: int = 308, successes: int = 17) -> pd.DataFrame:
    """A design like the demo's elderly-care target: ``n`` users of elderly care among
    ``interviews`` households (the others are outside the denominator), 68% satisfied."""
    y = np.full(interviews, np.nan)
    y[:n] = 0.0
    y[:successes] = 1.0
    return pd.DataFrame({"y": y, "psu": np.arange(interviews) % 40, "district": np.arange(interviews) % 8})


@pytest.mark.parametrize(("n", "deff", "needed"), [
    (1, np.nan, 30), (2, np.nan, 30), (25, 1.01, 30),   # the design effect of so few is not used
    (29, 3.0, 30), (30, 1.0, 30), (40, 1.5, 45), (200, 1.5, 45), (300, 0.8, 30), (50, 1.1, 33),
])
def test_sample_needed_is_the_nchs_minimum_effective_sample(n, deff, needed):
    assert sample_needed(n, deff) == needed
    assert sample_needed(n, deff, min_effective_n=10) == (10 if n < 10 else math.ceil(round(10 * max(
        deff if np.isfinite(deff) else 1, 1), 9)))


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 2000), deff=st.one_of(st.just(math.nan), st.floats(0.2, 8)))
def test_too_few_is_the_nchs_effective_sample_criterion_from_the_minimum_on(n, deff):
    """From 30 respondents on, "too few" is exactly the NCHS flag of the effective sample size;
    below 30 every result is too few."""
    too_few = n < sample_needed(n, deff)
    flagged = any(code == "effective n" for code, _ in nchs_reasons(0.5, n=n, deff=deff, df=40, ci_low=0.45,
                                                                     ci_high=0.55))
    assert too_few == (flagged or n < MIN_EFFECTIVE_N)
    if n < MIN_EFFECTIVE_N:
        assert too_few and flagged


def test_minimum_sample_option_is_checked():
    with pytest.raises(TargetError, match="min_effective_n"):
        sample_needed(10, 1.0, min_effective_n=0)
    with pytest.raises(TargetError, match="unknown verdict"):
        hint_of("passed", estimate=0.9, threshold=0.8, too_few=False, extra=None, interviews=10)


def test_one_or_two_respondents_are_too_few_for_an_estimate():
    estimates = pd.DataFrame({"estimate": [1.0, 1.0, 0.5], "se": [np.nan, 0.0, 0.5], "ci_low": [np.nan, np.nan, 0.01],
                              "ci_high": [np.nan, np.nan, 0.99], "df": [0, 1, 1], "n": [1, 2, 2],
                              "deff": [np.nan, np.nan, 1.0]}, index=pd.Index(["all", "a", "b"]))
    table = judge(estimates, threshold=0.8, ci_method="logit", level=LEVEL)
    assert table["too_few"].tolist() == [True, True, True]
    assert table["n_needed"].tolist() == [30, 30, 30]
    assert table["hint"].tolist() == ["too few"] * 3
    assert table["reliability_reasons"].iloc[0][0] == ("effective n", 1.0)


def test_the_elderly_care_case_leans_toward_not_met_instead_of_sitting_on_the_target():
    """68% against 80% from 25 users among 308 households: 12 points below, 1.3 SE. The further
    interviews (321) are about as many as so far, so the hint is "toward not met" - the old rule
    compared them with the 25 respondents and called the estimate "almost equal to the target"."""
    design = SurveyDesign(elderly_care(), psu="psu", strata="district", nest=True)
    target = make_target(0.80)
    table = assess_target(design, "y", target=target, min_effective_n=20).to_frame()
    row = table.loc[OVERALL]
    assert row["estimate"] == pytest.approx(0.68) and row["n"] == 25 and row["interviews"] == 308
    assert row["verdict"] == "inconclusive" and not row["too_few"]
    assert row["distance_se"] == pytest.approx((0.68 - 0.80) / row["se"])
    assert -2 < row["distance_se"] < -1
    extra = int(row["extra_interviews"])
    assert 25 * PRACTICAL_EXTRA < extra <= PRACTICAL_EXTRA * 308   # respondents vs interviews
    assert row["hint"] == "toward not met"
    # with the default minimum (the NCHS 30) the same 25 respondents are too few for an estimate
    default = assess_target(design, "y", target=target).to_frame().loc[OVERALL]
    assert default["too_few"] and default["n_needed"] == 30 and default["hint"] == "too few"


@pytest.mark.parametrize(("estimate", "extra", "expected"), [
    (0.79, 11451, "on threshold"),     # 11,451 more than 308 interviews: impractical
    (0.79, 1540, "toward not met"),    # exactly five times the interviews so far
    (0.79, 1541, "on threshold"),
    (0.81, 300, "toward met"),
    (0.80, None, "on threshold"),      # estimate on the threshold: no number settles it
])
def test_hint_of_an_inconclusive_verdict(estimate, extra, expected):
    assert hint_of("inconclusive", estimate=estimate, threshold=0.8, too_few=False, extra=extra,
                   interviews=308) == expected
    assert hint_of("inconclusive", estimate=estimate, threshold=0.8, too_few=True, extra=extra,
                   interviews=308) == "too few"


def test_every_judged_row_has_a_known_hint_that_matches_its_verdict(rng):
    data = stratified_sample(rng, n_strata=4, psus=3, per_psu=6)
    design = SurveyDesign(data, strata="district", psu="psu", nest=True)
    table = assess_target(design, "y", target=make_target(), by="district").to_frame()
    assert set(table["hint"]) <= set(HINTS)
    for _, row in table.iterrows():
        if row["too_few"]:
            assert row["hint"] == "too few" and row["n"] < row["n_needed"]
        elif row["verdict"] == "inconclusive":
            assert row["hint"] in ("toward met", "toward not met", "on threshold")
        else:
            assert row["hint"] == row["verdict"]


def test_the_text_summary_words_a_result_below_the_minimum_sample():
    """The command line (report summaries) says "too few" with n and the sample needed, no numbers."""
    design = SurveyDesign(elderly_care(), psu="psu", strata="district", nest=True)
    text = assess_target(design, "y", target=make_target(0.80)).summary()
    assert "overall: too few respondents for an estimate: n = 25 of the ~30 needed" in text
    assert "68.0%" not in text
