"""Sample sizes (analysis.sampling.size) against published tables and other implementations."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.power import TTestPower, normal_power_het, normal_sample_size_one_tail
from statsmodels.stats.proportion import samplesize_confint_proportion

from analysis.errors import SurveyError
from analysis.sampling import (
    SampleSize,
    SamplingError,
    design_effect,
    margin_of_error_mean,
    margin_of_error_proportion,
    sample_size_mean,
    sample_size_proportion,
    sample_size_target_mean,
    sample_size_target_proportion,
)

# Krejcie, R. V. & Morgan, D. W. (1970). Determining sample size for research activities.
# Educational and Psychological Measurement 30, 607-610, Table 1: population size N ->
# sample size s for p = 0.5, a margin of 0.05 and chi-square(1) = 3.841, with
# s = X^2 N P(1-P) / (d^2 (N-1) + X^2 P(1-P)) rounded to the nearest whole number.
KREJCIE_MORGAN = {
    10: 10, 15: 14, 20: 19, 25: 24, 30: 28, 35: 32, 40: 36, 45: 40, 50: 44, 55: 48,
    60: 52, 65: 56, 70: 59, 75: 63, 80: 66, 85: 70, 90: 73, 95: 76, 100: 80, 110: 86,
    120: 92, 130: 97, 140: 103, 150: 108, 160: 113, 170: 118, 180: 123, 190: 127,
    200: 132, 210: 136, 220: 140, 230: 144, 240: 148, 250: 152, 260: 155, 270: 159,
    280: 162, 290: 165, 300: 169, 320: 175, 340: 181, 360: 186, 380: 191, 400: 196,
    420: 201, 440: 205, 460: 210, 480: 214, 500: 217, 550: 226, 600: 234, 650: 242,
    700: 248, 750: 254, 800: 260, 850: 265, 900: 269, 950: 274, 1000: 278, 1100: 285,
    1200: 291, 1300: 297, 1400: 302, 1500: 306, 1600: 310, 1700: 313, 1800: 317,
    1900: 320, 2000: 322, 2200: 327, 2400: 331, 2600: 335, 2800: 338, 3000: 341,
    3500: 346, 4000: 351, 4500: 354, 5000: 357, 6000: 361, 7000: 364, 8000: 367,
    9000: 368, 10000: 370, 15000: 375, 20000: 377, 30000: 379, 40000: 380, 50000: 381,
    75000: 382, 1000000: 384,
}
# The confidence level whose squared two-sided normal quantile is the table's 3.841.
KM_CONFIDENCE = 2 * stats.norm.cdf(math.sqrt(3.841)) - 1


@pytest.mark.parametrize("population, published", sorted(KREJCIE_MORGAN.items()))
def test_proportion_matches_krejcie_morgan_table(population: int, published: int) -> None:
    result = sample_size_proportion(p=0.5, margin=0.05, confidence=KM_CONFIDENCE, population=population)
    assert round(result.n_complete) == published


@pytest.mark.parametrize("p, margin, confidence", [(0.5, 0.05, 0.95), (0.88, 0.03, 0.95), (0.2, 0.01, 0.9), (0.04, 0.01, 0.99)])
def test_proportion_infinite_population_matches_statsmodels(p: float, margin: float, confidence: float) -> None:
    expected = samplesize_confint_proportion(p, margin, alpha=1 - confidence)
    result = sample_size_proportion(p=p, margin=margin, confidence=confidence)
    assert result.n_srs == pytest.approx(expected, rel=1e-12)
    assert result.n_fpc == result.n_srs and result.population is None


def test_proportion_headline_is_the_textbook_385() -> None:
    # 1.959964^2 * 0.25 / 0.05^2 = 384.15 -> 385 interviews for +-5 points at 95%.
    assert sample_size_proportion(p=0.5, margin=0.05).n == 385


@pytest.mark.parametrize("population", [150, 2_000, 1_183_740])
def test_proportion_fpc_gives_the_margin_of_srswor(population: int) -> None:
    # Without replacement V(p) = (N - n)/(N - 1) * p q / n (Cochran 1977, eq. 3.4); at the
    # unrounded n the half-width z sqrt(V) must be exactly the margin asked for.
    p, margin = 0.85, 0.04
    n = sample_size_proportion(p=p, margin=margin, population=population).n_fpc
    z = stats.norm.ppf(0.975)
    assert z * math.sqrt((population - n) / (population - 1) * p * (1 - p) / n) == pytest.approx(margin, rel=1e-12)


@pytest.mark.parametrize("population", [200, 5_000])
def test_mean_fpc_gives_the_margin_of_srswor(population: int) -> None:
    # V(ybar) = (1 - n/N) S^2 / n (Cochran 1977, eq. 2.12).
    sd, margin = 12.0, 1.5
    n = sample_size_mean(sd=sd, margin=margin, population=population).n_fpc
    z = stats.norm.ppf(0.975)
    assert z * math.sqrt((1 - n / population) * sd**2 / n) == pytest.approx(margin, rel=1e-12)


def test_mean_hand_derived() -> None:
    # (1.959964 * 15 / 1)^2 = 864.33 -> 865; with N = 2000: 864.33 / (1 + 864.33/2000) = 603.5 -> 604.
    assert sample_size_mean(sd=15, margin=1).n == 865
    assert sample_size_mean(sd=15, margin=1, population=2000).n == 604


def test_deff_from_cluster_size_and_icc_then_response_rate() -> None:
    plain = sample_size_proportion(p=0.85, margin=0.03, population=880_006)
    result = sample_size_proportion(p=0.85, margin=0.03, population=880_006, cluster_size=15, icc=0.05,
                                    response_rate=0.7)
    assert result.deff == pytest.approx(1.7)  # 1 + (15 - 1) * 0.05
    assert result.n_fpc == plain.n_fpc
    assert result.n_complete == pytest.approx(1.7 * plain.n_fpc, rel=1e-15)
    assert result.n_issue == pytest.approx(result.n_complete / 0.7, rel=1e-15)
    assert result.n == math.ceil(result.n_issue) and result.completes == math.ceil(result.n_complete)
    same = sample_size_proportion(p=0.85, margin=0.03, population=880_006, deff=1.7, response_rate=0.7)
    assert same.n_issue == pytest.approx(result.n_issue, rel=1e-12)


def test_design_effect_kish() -> None:
    assert design_effect(cluster_size=1, icc=0.3) == 1
    assert design_effect(cluster_size=21, icc=0.05) == pytest.approx(2.0)


@pytest.mark.parametrize("p0, p1, power, alpha", [(0.85, 0.88, 0.8, 0.05), (0.8, 0.85, 0.9, 0.05), (0.9, 0.95, 0.8, 0.025)])
def test_target_proportion_matches_statsmodels(p0: float, p1: float, power: float, alpha: float) -> None:
    expected = normal_sample_size_one_tail(
        p1 - p0, power, alpha, std_null=math.sqrt(p0 * (1 - p0)), std_alternative=math.sqrt(p1 * (1 - p1))
    )
    result = sample_size_target_proportion(threshold=p0, expected=p1, power=power, alpha=alpha)
    assert result.n_srs == pytest.approx(expected, rel=1e-12)
    achieved = normal_power_het(p1 - p0, result.n_srs, alpha, std_null=math.sqrt(p0 * (1 - p0)),
                                std_alternative=math.sqrt(p1 * (1 - p1)), alternative="larger")
    assert achieved == pytest.approx(power, abs=1e-9)


def test_target_proportion_exact_binomial_power() -> None:
    # The exact one-sided binomial test at the planned size has close to the planned
    # power (normal approximation; 85% target, 88% expected, 80% power).
    result = sample_size_target_proportion(threshold=0.85, expected=0.88)
    n = result.n
    critical = int(stats.binom.isf(0.05, n, 0.85)) + 1  # reject when X >= critical
    assert stats.binom.sf(critical - 1, n, 0.85) <= 0.05
    assert stats.binom.sf(critical - 1, n, 0.88) == pytest.approx(0.8, abs=0.03)


def test_target_proportion_with_fpc_keeps_power_under_srswor() -> None:
    p0, p1, population = 0.85, 0.88, 5_000
    n = sample_size_target_proportion(threshold=p0, expected=p1, population=population).n_fpc
    f = (population - n) / (population - 1)
    z_alpha = stats.norm.isf(0.05)
    # Reject when phat > p0 + z_alpha * se0; power is P(phat > that | p1).
    se0, se1 = math.sqrt(f * p0 * (1 - p0) / n), math.sqrt(f * p1 * (1 - p1) / n)
    assert stats.norm.sf((p0 + z_alpha * se0 - p1) / se1) == pytest.approx(0.8, abs=1e-12)


def test_target_mean_matches_statsmodels_and_t_test() -> None:
    result = sample_size_target_mean(threshold=80, expected=82, sd=12)
    assert result.n_srs == pytest.approx(normal_sample_size_one_tail(2, 0.8, 0.05, std_null=12), rel=1e-12)
    # R's power.t.test / statsmodels' TTestPower use the t distribution: a little larger.
    t_n = TTestPower().solve_power(effect_size=2 / 12, alpha=0.05, power=0.8, alternative="larger")
    assert 0 < t_n - result.n_srs < 3


@settings(max_examples=200, deadline=None)
@given(
    p=st.floats(0.01, 0.99),
    margin=st.floats(0.005, 0.2),
    confidence=st.floats(0.5, 0.999),
    deff=st.floats(0.5, 4),
    population=st.one_of(st.none(), st.integers(10, 10**7)),
)
def test_margin_inverts_sample_size_proportion(p, margin, confidence, deff, population) -> None:
    result = sample_size_proportion(p=p, margin=margin, confidence=confidence, deff=deff, population=population)
    back = margin_of_error_proportion(result.n_complete, p=p, confidence=confidence, deff=deff, population=population)
    assert back == pytest.approx(margin, rel=1e-9)
    assert result.n_complete <= deff * (population or math.inf) + 1e-9


@settings(max_examples=100, deadline=None)
@given(sd=st.floats(0.1, 50), margin=st.floats(0.1, 10), population=st.one_of(st.none(), st.integers(10, 10**6)))
def test_margin_inverts_sample_size_mean(sd, margin, population) -> None:
    result = sample_size_mean(sd=sd, margin=margin, population=population)
    assert margin_of_error_mean(result.n_complete, sd=sd, population=population) == pytest.approx(margin, rel=1e-9)


@settings(max_examples=100, deadline=None)
@given(p0=st.floats(0.05, 0.9), gap=st.floats(0.005, 0.09), power=st.floats(0.5, 0.99))
def test_target_size_grows_with_power_and_shrinks_with_gap(p0, gap, power) -> None:
    base = sample_size_target_proportion(threshold=p0, expected=p0 + gap, power=power)
    assert sample_size_target_proportion(threshold=p0, expected=p0 + gap, power=min(power + 0.005, 0.995)).n_srs > base.n_srs
    assert sample_size_target_proportion(threshold=p0, expected=p0 + gap * 1.1, power=power).n_srs < base.n_srs


def test_margin_of_error_is_vectorised_and_zero_for_a_census() -> None:
    sizes = np.array([100, 400, 1600])
    margins = margin_of_error_proportion(sizes, p=0.5)
    assert margins.shape == (3,)
    assert margins[0] / margins[1] == pytest.approx(2.0) and margins[1] / margins[2] == pytest.approx(2.0)
    assert margin_of_error_proportion(500, p=0.5, population=500) == 0.0


def test_result_frame_and_summary() -> None:
    result = sample_size_target_proportion(threshold=0.85, expected=0.88, deff=1.5, response_rate=0.8,
                                           population=1_183_740)
    assert isinstance(result, SampleSize)
    row = result.to_frame().iloc[0]
    assert row["threshold"] == 0.85 and row["n"] == result.n and row["n_issue"] == result.n_issue
    text = result.summary()
    assert f"issue {result.n} cases" in text and "1,183,740" in text
    with pytest.raises(AttributeError):
        result.deff = 2  # type: ignore[misc]


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: sample_size_proportion(p=85, margin=0.05), ["p must lie in (0, 1)", "85"]),
        (lambda: sample_size_proportion(p=0.85, margin=5), ["margin", "5", "0.05"]),
        (lambda: sample_size_proportion(p=0.85, margin=0.05, response_rate=0), ["response_rate", "0"]),
        (lambda: sample_size_proportion(p=0.85, margin=0.05, deff=1.5, icc=0.1), ["deff=1.5", "icc=0.1", "not both"]),
        (lambda: sample_size_proportion(p=0.85, margin=0.05, icc=0.1), ["cluster_size=None", "give both"]),
        (lambda: sample_size_proportion(p=0.85, margin=0.05, population=1), ["population", "1"]),
        (lambda: sample_size_target_proportion(threshold=0.85, expected=0.83), ["expected=0.83", "threshold=0.85"]),
        (lambda: sample_size_target_proportion(threshold=0.85, expected=0.9, power=0.3), ["power", "0.3"]),
        (lambda: sample_size_mean(sd=-1, margin=1), ["sd", "-1"]),
        (lambda: sample_size_mean(sd="12", margin=1), ["sd must be a finite number", "'12'"]),
        (lambda: margin_of_error_proportion(600, p=0.5, population=500), ["exceeds", "500"]),
    ],
)
def test_bad_inputs_name_the_argument_and_value(call, words) -> None:
    with pytest.raises(SamplingError) as info:
        call()
    assert isinstance(info.value, SurveyError)
    for word in words:
        assert word in str(info.value)
