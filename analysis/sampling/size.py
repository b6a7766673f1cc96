"""Sample sizes: for a margin of error, or to show that a target is met.

Every function returns a :class:`SampleSize` that keeps each step of the computation:
the simple-random-sample size for an infinite population, the finite population
correction, the design effect and the response rate.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, overload

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from analysis.sampling._common import SamplingError, ceil_count, check_number

__all__ = [
    "SampleSize",
    "design_effect",
    "margin_of_error_mean",
    "margin_of_error_proportion",
    "sample_size_mean",
    "sample_size_proportion",
    "sample_size_target_mean",
    "sample_size_target_proportion",
]


@dataclass(frozen=True)
class SampleSize:
    """The interviews a survey needs, step by step.

    Attributes
    ----------
    quantity : {"proportion", "mean"}
        What is estimated.
    criterion : {"margin", "target"}
        ``"margin"``: a confidence interval of half-width ``margin``; ``"target"``: a
        one-sided test that shows the value above ``threshold`` with ``power``.
    parameters : tuple of (name, value)
        The inputs the size depends on (expected values, margin, confidence, ...).
    n_srs : float
        Simple random sample size for an infinite population.
    population : float or None
        Population size N used in the finite population correction (None: infinite).
    n_fpc : float
        ``n_srs`` after the finite population correction.
    deff : float
        Design effect.
    n_complete : float
        Completed interviews needed: ``deff * n_fpc``.
    response_rate : float
        Expected share of issued cases that give a complete interview.
    n_issue : float
        Cases to issue: ``n_complete / response_rate``.
    """

    quantity: Literal["proportion", "mean"]
    criterion: Literal["margin", "target"]
    parameters: tuple[tuple[str, float], ...]
    n_srs: float
    population: float | None
    n_fpc: float
    deff: float
    n_complete: float
    response_rate: float
    n_issue: float

    @property
    def completes(self) -> int:
        """Completed interviews needed, rounded up."""
        return ceil_count(self.n_complete)

    @property
    def n(self) -> int:
        """Cases to issue (interviews to attempt), rounded up: the headline sample size."""
        return ceil_count(self.n_issue)

    def to_frame(self) -> pd.DataFrame:
        """One row: the inputs, each step of the computation and the rounded sizes."""
        row: dict[str, object] = {"quantity": self.quantity, "criterion": self.criterion}
        row.update(dict(self.parameters))
        row.update(
            n_srs=self.n_srs,
            population=self.population,
            n_fpc=self.n_fpc,
            deff=self.deff,
            n_complete=self.n_complete,
            response_rate=self.response_rate,
            n_issue=self.n_issue,
            completes=self.completes,
            n=self.n,
        )
        return pd.DataFrame([row])

    def summary(self) -> str:
        """Text that walks through the computation."""
        params = dict(self.parameters)
        if self.criterion == "margin":
            what = (
                f"{self.quantity} within ±{params['margin']:g} at "
                f"{params['confidence']:.4g} confidence"
            )
        else:
            what = (
                f"{self.quantity} above threshold {params['threshold']:g} when the true value is "
                f"{params['expected']:g} (one-sided alpha {params['alpha']:g}, power {params['power']:g})"
            )
        lines = [f"Sample size for a {what}"]
        lines += [f"  {k} = {v:g}" for k, v in params.items() if k in ("p", "sd")]
        lines.append(f"  simple random sample, infinite population: {self.n_srs:.1f}")
        if self.population is not None:
            lines.append(f"  finite population N = {self.population:,.0f}: {self.n_fpc:.1f}")
        lines.append(f"  design effect {self.deff:g}: {self.n_complete:.1f} completed interviews")
        lines.append(
            f"  response rate {self.response_rate:.4g}: {self.n_issue:.1f} cases to issue"
        )
        lines.append(f"  => issue {self.n} cases for {self.completes} completed interviews")
        return "\n".join(lines)


def design_effect(*, cluster_size: float, icc: float) -> float:
    """Design effect of cluster sampling, ``1 + (m - 1) * icc`` (Kish 1965, sec. 5.4).

    Parameters
    ----------
    cluster_size : float
        Average number of interviews per cluster (PSU), ``m >= 1``.
    icc : float
        Intra-class correlation of the survey variable within clusters, in [0, 1].

    Returns
    -------
    float
        The design effect.

    Examples
    --------
    >>> design_effect(cluster_size=10, icc=0.05)
    1.45
    """
    m = check_number("cluster_size", cluster_size, low=1, hint="the average interviews per PSU")
    rho = check_number("icc", icc, low=0, high=1, hint="e.g. 0.02 to 0.1 for attitudes")
    return 1 + (m - 1) * rho


def sample_size_proportion(
    *,
    p: float,
    margin: float,
    confidence: float = 0.95,
    deff: float | None = None,
    cluster_size: float | None = None,
    icc: float | None = None,
    response_rate: float = 1.0,
    population: float | None = None,
) -> SampleSize:
    """Interviews needed to estimate a proportion within a margin of error.

    ``n = deff * N z^2 p(1-p) / ((N - 1) e^2 + z^2 p(1-p)) / response_rate``, with
    ``z`` the two-sided normal quantile of ``confidence`` (Cochran 1977, eq. 4.2).

    Parameters
    ----------
    p : float
        Expected proportion, in (0, 1); 0.5 is the most conservative.
    margin : float
        Half-width e of the confidence interval, in (0, 1), e.g. 0.05 for ±5 points.
    confidence : float, default 0.95
        Confidence level, in (0, 1).
    deff : float, optional
        Design effect; or give ``cluster_size`` and ``icc`` instead. Default 1.
    cluster_size, icc : float, optional
        Interviews per PSU and intra-class correlation: ``deff = 1 + (m - 1) * icc``.
    response_rate : float, default 1
        Expected response rate, in (0, 1].
    population : float, optional
        Population size N for the finite population correction; None for infinite.

    Returns
    -------
    SampleSize

    Examples
    --------
    R equivalent (without deff and response rate): ``PracTools::nPropMoe(moe.sw = 1,
    e = 0.05, alpha = 0.05, pU = 0.5)``.

    >>> sample_size_proportion(p=0.5, margin=0.05).n
    385
    """
    p_ = check_number("p", p, low=0, high=1, low_open=True, high_open=True,
                      hint="give the expected proportion as a share, e.g. 0.85")
    e = check_number("margin", margin, low=0, high=1, low_open=True, high_open=True,
                     hint="give the margin as a share, e.g. 0.05 for ±5 points")
    z = _z_two_sided(confidence)
    n_srs = z**2 * p_ * (1 - p_) / e**2
    return _finish(
        "proportion", "margin",
        (("p", p_), ("margin", e), ("confidence", float(confidence))),
        n_srs, fpc="proportion", deff=deff, cluster_size=cluster_size, icc=icc,
        response_rate=response_rate, population=population,
    )


def sample_size_mean(
    *,
    sd: float,
    margin: float,
    confidence: float = 0.95,
    deff: float | None = None,
    cluster_size: float | None = None,
    icc: float | None = None,
    response_rate: float = 1.0,
    population: float | None = None,
) -> SampleSize:
    """Interviews needed to estimate a mean (e.g. a satisfaction index) within a margin.

    ``n0 = z^2 S^2 / e^2``, ``n = deff * n0 / (1 + n0 / N) / response_rate``
    (Cochran 1977, eq. 4.1 and 4.3).

    Parameters
    ----------
    sd : float
        Population standard deviation S of the score (> 0), e.g. from an earlier survey.
    margin : float
        Half-width of the confidence interval, in the units of the score (> 0).
    confidence, deff, cluster_size, icc, response_rate, population
        As in :func:`sample_size_proportion`.

    Returns
    -------
    SampleSize

    Examples
    --------
    R equivalent (without deff and response rate): ``PracTools::nContMoe(moe.sw = 1,
    e = 1, alpha = 0.05, S2 = 15^2)``.

    >>> sample_size_mean(sd=15, margin=1).n
    865
    """
    s = check_number("sd", sd, low=0, low_open=True, hint="the standard deviation of the score")
    e = check_number("margin", margin, low=0, low_open=True,
                     hint="the half-width in score points, e.g. 2 for ±2 points")
    z = _z_two_sided(confidence)
    n_srs = (z * s / e) ** 2
    return _finish(
        "mean", "margin",
        (("sd", s), ("margin", e), ("confidence", float(confidence))),
        n_srs, fpc="mean", deff=deff, cluster_size=cluster_size, icc=icc,
        response_rate=response_rate, population=population,
    )


def sample_size_target_proportion(
    *,
    threshold: float,
    expected: float,
    power: float = 0.8,
    alpha: float = 0.05,
    deff: float | None = None,
    cluster_size: float | None = None,
    icc: float | None = None,
    response_rate: float = 1.0,
    population: float | None = None,
) -> SampleSize:
    """Interviews needed to show that a proportion exceeds its target.

    The one-sided test of ``H0: P <= p0`` against ``P > p0`` rejects with probability
    ``power`` when the true proportion is ``p1``:
    ``n0 = (z_{1-alpha} sqrt(p0 q0) + z_{power} sqrt(p1 q1))^2 / (p1 - p0)^2``
    (Lemeshow et al. 1990, Adequacy of Sample Size in Health Studies, sec. 1.2), then the
    finite population correction, design effect and response rate as in
    :func:`sample_size_proportion`.

    Parameters
    ----------
    threshold : float
        The target p0, in (0, 1), e.g. 0.85 for "satisfaction at least 85%".
    expected : float
        The proportion p1 expected in the population, above ``threshold``.
    power : float, default 0.8
        Probability of showing the target met when the truth is ``expected``, in [0.5, 1).
    alpha : float, default 0.05
        One-sided significance level, in (0, 0.5).
    deff, cluster_size, icc, response_rate, population
        As in :func:`sample_size_proportion`.

    Returns
    -------
    SampleSize

    Examples
    --------
    Same as ``statsmodels.stats.power.normal_sample_size_one_tail(0.03, 0.8, 0.05,
    std_null=sqrt(.85*.15), std_alternative=sqrt(.88*.12))`` for an infinite population.

    >>> sample_size_target_proportion(threshold=0.85, expected=0.88).n
    824
    """
    p0 = check_number("threshold", threshold, low=0, high=1, low_open=True, high_open=True,
                      hint="give the target as a share, e.g. 0.85")
    p1 = check_number("expected", expected, low=0, high=1, low_open=True, high_open=True,
                      hint="give the expected proportion as a share, e.g. 0.88")
    _check_above("expected", p1, "threshold", p0)
    z_alpha, z_power = _z_test(alpha, power)
    n_srs = (z_alpha * math.sqrt(p0 * (1 - p0)) + z_power * math.sqrt(p1 * (1 - p1))) ** 2 / (
        p1 - p0
    ) ** 2
    return _finish(
        "proportion", "target",
        (("threshold", p0), ("expected", p1), ("power", float(power)), ("alpha", float(alpha))),
        n_srs, fpc="proportion", deff=deff, cluster_size=cluster_size, icc=icc,
        response_rate=response_rate, population=population,
    )


def sample_size_target_mean(
    *,
    threshold: float,
    expected: float,
    sd: float,
    power: float = 0.8,
    alpha: float = 0.05,
    deff: float | None = None,
    cluster_size: float | None = None,
    icc: float | None = None,
    response_rate: float = 1.0,
    population: float | None = None,
) -> SampleSize:
    """Interviews needed to show that a mean score exceeds its target.

    ``n0 = ((z_{1-alpha} + z_{power}) S / (mu1 - mu0))^2``, then the finite population
    correction, design effect and response rate as in :func:`sample_size_mean`.

    Parameters
    ----------
    threshold : float
        The target mu0, e.g. 80 for "tourist satisfaction index at least 80".
    expected : float
        The mean mu1 expected in the population, above ``threshold``.
    sd : float
        Population standard deviation of the score (> 0).
    power, alpha, deff, cluster_size, icc, response_rate, population
        As in :func:`sample_size_target_proportion`.

    Returns
    -------
    SampleSize

    Examples
    --------
    R equivalent for an infinite population: ``power.t.test(delta = 2, sd = 12,
    sig.level = 0.05, power = 0.8, type = "one.sample", alternative = "one.sided")``
    (which uses the t distribution, hence one or two interviews more).

    >>> sample_size_target_mean(threshold=80, expected=82, sd=12).n
    223
    """
    mu0 = check_number("threshold", threshold)
    mu1 = check_number("expected", expected)
    _check_above("expected", mu1, "threshold", mu0)
    s = check_number("sd", sd, low=0, low_open=True, hint="the standard deviation of the score")
    z_alpha, z_power = _z_test(alpha, power)
    n_srs = ((z_alpha + z_power) * s / (mu1 - mu0)) ** 2
    return _finish(
        "mean", "target",
        (("threshold", mu0), ("expected", mu1), ("sd", s), ("power", float(power)),
         ("alpha", float(alpha))),
        n_srs, fpc="mean", deff=deff, cluster_size=cluster_size, icc=icc,
        response_rate=response_rate, population=population,
    )


@overload
def margin_of_error_proportion(
    n: float, *, p: float, confidence: float = ..., deff: float | None = ...,
    cluster_size: float | None = ..., icc: float | None = ..., population: float | None = ...,
) -> float: ...
@overload
def margin_of_error_proportion(
    n: npt.ArrayLike, *, p: float, confidence: float = ..., deff: float | None = ...,
    cluster_size: float | None = ..., icc: float | None = ..., population: float | None = ...,
) -> np.ndarray: ...
def margin_of_error_proportion(
    n: npt.ArrayLike,
    *,
    p: float,
    confidence: float = 0.95,
    deff: float | None = None,
    cluster_size: float | None = None,
    icc: float | None = None,
    population: float | None = None,
) -> float | np.ndarray:
    """Margin of error of a proportion from ``n`` completed interviews.

    The inverse of :func:`sample_size_proportion` (without response rate): the half-width
    ``e`` for which that function gives ``n`` completed interviews.

    Parameters
    ----------
    n : float or array-like
        Completed interviews (> 0; at most ``deff * population``).
    p, confidence, deff, cluster_size, icc, population
        As in :func:`sample_size_proportion`.

    Returns
    -------
    float or numpy.ndarray
        The margin of error, shaped like ``n``.

    Examples
    --------
    >>> round(margin_of_error_proportion(385, p=0.5), 4)
    0.0499
    """
    p_ = check_number("p", p, low=0, high=1, low_open=True, high_open=True,
                      hint="give the expected proportion as a share, e.g. 0.85")
    return _margin(n, p_ * (1 - p_), fpc="proportion", confidence=confidence, deff=deff,
                   cluster_size=cluster_size, icc=icc, population=population)


@overload
def margin_of_error_mean(
    n: float, *, sd: float, confidence: float = ..., deff: float | None = ...,
    cluster_size: float | None = ..., icc: float | None = ..., population: float | None = ...,
) -> float: ...
@overload
def margin_of_error_mean(
    n: npt.ArrayLike, *, sd: float, confidence: float = ..., deff: float | None = ...,
    cluster_size: float | None = ..., icc: float | None = ..., population: float | None = ...,
) -> np.ndarray: ...
def margin_of_error_mean(
    n: npt.ArrayLike,
    *,
    sd: float,
    confidence: float = 0.95,
    deff: float | None = None,
    cluster_size: float | None = None,
    icc: float | None = None,
    population: float | None = None,
) -> float | np.ndarray:
    """Margin of error of a mean from ``n`` completed interviews.

    The inverse of :func:`sample_size_mean` (without response rate).

    Parameters
    ----------
    n : float or array-like
        Completed interviews (> 0; at most ``deff * population``).
    sd, confidence, deff, cluster_size, icc, population
        As in :func:`sample_size_mean`.

    Returns
    -------
    float or numpy.ndarray
        The margin of error in score points, shaped like ``n``.

    Examples
    --------
    >>> round(margin_of_error_mean(865, sd=15), 3)
    1.0
    """
    s = check_number("sd", sd, low=0, low_open=True, hint="the standard deviation of the score")
    return _margin(n, s**2, fpc="mean", confidence=confidence, deff=deff,
                   cluster_size=cluster_size, icc=icc, population=population)


def _finish(
    quantity: Literal["proportion", "mean"],
    criterion: Literal["margin", "target"],
    parameters: tuple[tuple[str, float], ...],
    n_srs: float,
    *,
    fpc: Literal["proportion", "mean"],
    deff: float | None,
    cluster_size: float | None,
    icc: float | None,
    response_rate: float,
    population: float | None,
) -> SampleSize:
    d = _resolve_deff(deff, cluster_size, icc)
    rate = check_number("response_rate", response_rate, low=0, high=1, low_open=True,
                        hint="give the rate as a share, e.g. 0.7 for 70%")
    big_n = _check_population(population)
    n_fpc = n_srs if big_n is None else _apply_fpc(n_srs, big_n, fpc)
    n_complete = d * n_fpc
    return SampleSize(
        quantity=quantity, criterion=criterion, parameters=parameters, n_srs=n_srs,
        population=big_n, n_fpc=n_fpc, deff=d, n_complete=n_complete,
        response_rate=rate, n_issue=n_complete / rate,
    )


def _apply_fpc(n_srs: float, big_n: float, kind: Literal["proportion", "mean"]) -> float:
    # For a proportion S^2 = N p q / (N - 1), so the usual n0 / (1 + n0 / N) for a mean
    # becomes N n0 / (N - 1 + n0) (PracTools::nPropMoe and nContMoe).
    if kind == "proportion":
        return big_n * n_srs / (big_n - 1 + n_srs)
    return n_srs / (1 + n_srs / big_n)


def _margin(
    n: npt.ArrayLike,
    unit_variance: float,
    *,
    fpc: Literal["proportion", "mean"],
    confidence: float,
    deff: float | None,
    cluster_size: float | None,
    icc: float | None,
    population: float | None,
) -> float | np.ndarray:
    z = _z_two_sided(confidence)
    d = _resolve_deff(deff, cluster_size, icc)
    big_n = _check_population(population)
    sizes = np.asarray(n, dtype=float)
    if sizes.size == 0 or not np.all(np.isfinite(sizes)) or np.any(sizes <= 0):
        raise SamplingError(f"n must hold positive completed-interview counts, got {n!r}")
    n_fpc = sizes / d
    if big_n is None:
        n_srs = n_fpc
    else:
        too_big = sizes[n_fpc > big_n]
        if too_big.size:
            raise SamplingError(
                f"n={too_big.tolist()} exceeds deff * population = {d * big_n:g}; "
                "a sample cannot be larger than its population"
            )
        # Invert _apply_fpc; a census (n_fpc == N) has no sampling error.
        with np.errstate(divide="ignore"):
            if fpc == "proportion":
                n_srs = n_fpc * (big_n - 1) / (big_n - n_fpc)
            else:
                n_srs = n_fpc * big_n / (big_n - n_fpc)
    margin = z * np.sqrt(unit_variance / n_srs)
    return float(margin) if margin.ndim == 0 else margin


def _resolve_deff(deff: float | None, cluster_size: float | None, icc: float | None) -> float:
    if deff is not None:
        if cluster_size is not None or icc is not None:
            raise SamplingError(
                f"give either deff={deff!r} or cluster_size={cluster_size!r} with "
                f"icc={icc!r}, not both"
            )
        return check_number("deff", deff, low=0, low_open=True,
                            hint="1 for simple random sampling, often 1.5 to 2.5 for clusters")
    if cluster_size is None and icc is None:
        return 1.0
    if cluster_size is None or icc is None:
        raise SamplingError(
            f"cluster_size={cluster_size!r} and icc={icc!r}: give both to compute the design "
            "effect 1 + (cluster_size - 1) * icc, or give deff directly"
        )
    return design_effect(cluster_size=cluster_size, icc=icc)


def _check_population(population: float | None) -> float | None:
    if population is None:
        return None
    return check_number("population", population, low=2,
                        hint="the number of units in the population, or None for a large one")


def _z_two_sided(confidence: float) -> float:
    level = check_number("confidence", confidence, low=0, high=1, low_open=True, high_open=True,
                         hint="e.g. 0.95")
    return float(stats.norm.ppf(1 - (1 - level) / 2))


def _z_test(alpha: float, power: float) -> tuple[float, float]:
    a = check_number("alpha", alpha, low=0, high=0.5, low_open=True, high_open=True,
                     hint="the one-sided significance level, e.g. 0.05")
    b = check_number("power", power, low=0.5, high=1, high_open=True, hint="e.g. 0.8")
    return float(stats.norm.ppf(1 - a)), float(stats.norm.ppf(b))


def _check_above(name: str, value: float, other: str, other_value: float) -> None:
    if value <= other_value:
        raise SamplingError(
            f"{name}={value:g} is not above {other}={other_value:g}: no sample can show a "
            f"target met when the true value is at or below it; expect a value above {other}"
        )
