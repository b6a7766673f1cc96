"""Pass rates of sample inspections (抽检) with exact intervals, and their verdicts.

An inspection sample gives, for each product sampled, pass or fail. The pass rate of a
category (food, main agricultural products, ...) is the share that passed, and the plan sets a
minimum (food sampling pass rate ≥ 95%). Pass rates near 100% are the normal case, so the
intervals must stay honest at 0 failures, where a normal approximation collapses to zero width.

Two intervals, chosen by what the inspection plan says about its sample:

``exact``
    A simple random sample (no strata, no weights): the Clopper–Pearson interval, R's
    ``binom.test(passed, n)$conf.int`` (:func:`clopper_pearson`). At 0 failures the lower
    limit is ``(alpha/2)^(1/n)`` -- the "rule of three" region: with 95% confidence the
    failure rate is below about ``3.7/n`` (``-log(0.025)/n``).
``beta``
    A stratified or weighted sample: the design-based Korn–Graubard interval of
    :meth:`analysis.SurveyDesign.proportion` with ``ci_method="beta"``, which equals R's
    ``svyciprop(~passed, design, method = "beta")`` inside (0, 1). At a pass rate of exactly
    100% (or 0%) the design variance is zero and R's interval is ``NaN``;
    ``SurveyDesign.proportion`` instead gives the Clopper–Pearson interval for Kish's effective
    sample size ``(sum w)^2 / sum w^2`` (see ``analysis/design/__init__.py``), so the lower
    limit is ``(alpha/2)^(1/n_kish)``: with equal weights exactly ``binom.test(n, n)``, and
    never an interval of zero width.

A verdict follows :func:`analysis.targets.verdict_of`: **met** when the lower limit is at or
above the threshold, **not met** when the upper limit is below it, **inconclusive** otherwise.
For an inconclusive verdict :func:`further_samples` says how many more inspections would settle
it if the pass rate held.

Examples
--------
>>> import pandas as pd
>>> records = pd.DataFrame({"passed": [1] * 60, "category": ["food"] * 60})
>>> rates = pass_rates(records, "passed", by="category", threshold=0.95)
>>> row = rates.to_frame().loc["food"]
>>> round(float(row["ci_low"]), 6), row["verdict"], int(row["further_samples"])
(0.940371, 'inconclusive', 12)
>>> # In R: binom.test(60, 60)$conf.int
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np
import pandas as pd
from scipy import stats

from .errors import SurveyError, VariableError
from .results import OVERALL
from .targets import verdict_of

__all__ = ["PassRates", "PassRateMethod", "PASS_RATE_METHODS", "PASS_RATE_COLUMNS", "clopper_pearson",
           "further_samples", "pass_rates"]

PassRateMethod = Literal["auto", "exact", "beta"]
#: ``auto``: ``beta`` when strata, weights or PSUs are given, else ``exact``.
PASS_RATE_METHODS: tuple[str, ...] = get_args(PassRateMethod)
#: Columns of :meth:`PassRates.to_frame`, in order.
PASS_RATE_COLUMNS = ("estimate", "ci_low", "ci_high", "n", "passed", "failed", "n_eff", "method", "threshold",
                     "verdict", "further_samples")
# Further samples beyond this are not a number anyone would inspect: reported as None.
_MAX_FURTHER = 10**9


def _check_level(level: float) -> float:
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0 < level < 1:
        raise SurveyError("the confidence level must be a number between 0 and 1", argument="level", value=level,
                          fix="use e.g. level=0.95")
    return float(level)


def _check_threshold(threshold: float | None) -> float | None:
    if threshold is None:
        return None
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not 0 < threshold <= 1:
        raise SurveyError("a pass-rate threshold is a share in (0, 1]", argument="threshold", value=threshold,
                          fix="write e.g. threshold=0.95 for 95%")
    return float(threshold)


def _interval(x: float, n: float, alpha: float) -> tuple[float, float]:
    """Clopper–Pearson limits for ``x`` successes of ``n`` (both may be non-integer)."""
    low = 0.0 if x <= 0 else float(stats.beta.ppf(alpha / 2, x, n - x + 1))
    high = 1.0 if x >= n else float(stats.beta.ppf(1 - alpha / 2, x + 1, n - x))
    return low, high


def clopper_pearson(passed: int, n: int, *, level: float = 0.95) -> tuple[float, float]:
    """The exact (Clopper–Pearson) interval of a pass rate from a simple random sample.

    Parameters
    ----------
    passed : int
        Samples that passed, ``0 <= passed <= n``.
    n : int
        Samples inspected, at least 1.
    level : float, default 0.95

    Returns
    -------
    (low, high) : tuple of float
        ``0`` and ``1`` at the ends: at 0 failures the upper limit is 1 and the lower
        ``(alpha/2)^(1/n)``.

    Raises
    ------
    SurveyError
        Counts that are not whole numbers, ``n < 1``, ``passed`` outside ``[0, n]``, or a level
        outside (0, 1).

    Examples
    --------
    >>> [round(v, 6) for v in clopper_pearson(100, 100)]
    [0.963783, 1.0]
    >>> # In R: binom.test(100, 100)$conf.int
    """
    level = _check_level(level)
    for name, value in (("passed", passed), ("n", n)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise SurveyError("must be a whole number of samples", argument=name, value=value,
                              fix="pass counts of inspected samples, e.g. passed=97, n=100")
    if n < 1 or not 0 <= passed <= n:
        raise SurveyError("need 0 <= passed <= n and n >= 1", argument="passed, n", value=(passed, n),
                          fix="count the samples that passed among those inspected")
    return _interval(float(passed), float(n), 1 - level)


def further_samples(estimate: float, *, n: int, threshold: float, level: float = 0.95,
                    n_effective: float | None = None) -> int | None:
    """Further inspections that would settle an inconclusive verdict if the pass rate held.

    The smallest ``m >= 1`` such that the Clopper–Pearson interval of ``estimate`` on
    ``(n + m) * n_effective / n`` samples (passes ``estimate`` times that, not necessarily a
    whole number) lies wholly at or above ``threshold`` (estimate above it: met) or wholly below
    it (estimate below it: not met). For a simple random sample ``n_effective = n`` and this is
    exact; for a design it keeps the design effect ``n / n_effective``, and leaves out the
    Korn–Graubard degrees-of-freedom adjustment (which further PSUs would shrink): an
    approximation. At 0 failures it has a closed form, ``ceil(log(alpha/2) / log(threshold)) - n``
    (with ``n_effective = n``).

    Parameters
    ----------
    estimate : float
        The pass rate.
    n : int
        Samples inspected.
    threshold : float
    level : float, default 0.95
    n_effective : float, optional
        Effective sample size; default ``n``.

    Returns
    -------
    int or None
        0 when the verdict of the interval for ``n`` is already decided; None when no number of
        samples would settle it (the pass rate equals the threshold) or more than a billion would.

    Examples
    --------
    >>> further_samples(1.0, n=20, threshold=0.95)
    52
    >>> math.ceil(math.log(0.025) / math.log(0.95)) - 20
    52
    """
    level = _check_level(level)
    threshold = _check_threshold(threshold)
    if not (np.isfinite(estimate) and 0 <= estimate <= 1) or n < 1:
        return None
    n_eff = float(n if n_effective is None or not np.isfinite(n_effective) or n_effective <= 0 else n_effective)
    alpha = 1 - level
    if math.isclose(estimate, threshold, rel_tol=1e-12, abs_tol=1e-15):
        return None
    above = estimate > threshold

    def settled(extra: int) -> bool:
        size = (n + extra) * n_eff / n
        low, high = _interval(estimate * size, size, alpha)
        return low >= threshold if above else high < threshold

    if settled(0):
        return 0
    high = 1
    while not settled(high):
        high *= 2
        if high > _MAX_FURTHER:
            return None
    low = high // 2  # not settled at low (or low == 0), settled at high
    while high - low > 1:
        middle = (low + high) // 2
        if settled(middle):
            high = middle
        else:
            low = middle
    return high


@dataclass(frozen=True, eq=False)
class PassRates:
    """Pass rates with their intervals and verdicts, overall (index ``"all"``) and by domain.

    Attributes
    ----------
    variable : str
        The 0/1 column (1 = passed).
    by : tuple of str
        The domain columns (empty: overall only).
    method : {"exact", "beta"}
        Clopper–Pearson for a simple random sample, Korn–Graubard for a design.
    level : float
    threshold : float or None
    design : str
        The design (``"simple random sample"`` for ``exact``).
    notes : tuple of str
    """

    variable: str
    by: tuple[str, ...]
    method: str
    level: float
    threshold: float | None
    design: str
    _table: pd.DataFrame = field(repr=False)
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """One row per domain, columns :data:`PASS_RATE_COLUMNS` (a copy).

        ``passed``/``failed`` are counts of samples (unweighted); ``n_eff`` is ``n`` for an
        exact interval and the design's effective sample size for ``beta``; ``verdict`` and
        ``further_samples`` are missing without a threshold.
        """
        return self._table.copy()

    def summary(self) -> str:
        """The rates as text (never prints)."""
        method = ("exact Clopper-Pearson (R: binom.test)" if self.method == "exact"
                  else "design-based Korn-Graubard (R: svyciprop(method = \"beta\"))")
        lines = [f"Pass rate of {self.variable!r}, {self.level:.0%} {method}; design: {self.design}"]
        for domain, row in self._table.iterrows():
            text = (f"  {domain}: {row['estimate']:.2%} [{row['ci_low']:.2%}, {row['ci_high']:.2%}] "
                    f"({int(row['failed'])} failed of {int(row['n'])})")
            if self.threshold is not None:
                text += f"; target >= {self.threshold:.0%}: {row['verdict']}"
                if pd.notna(row["further_samples"]) and row["verdict"] == "inconclusive":
                    text += f", {int(row['further_samples'])} more samples would settle it"
            lines.append(text)
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)


def pass_rates(records: pd.DataFrame, variable: str, *, by: str | Sequence[str] | None = None,
               threshold: float | None = None, level: float = 0.95, method: PassRateMethod = "auto",
               weights: str | None = None, strata: str | None = None, psu: str | None = None,
               fpc: str | None = None) -> PassRates:
    """Pass rates of inspection records, overall and by domain, with intervals and verdicts.

    Parameters
    ----------
    records : pandas.DataFrame
        One row per sample inspected.
    variable : str
        A column of 1 (passed) and 0 (failed); missing values are not allowed.
    by : str or sequence of str, optional
        Domain columns, e.g. ``"category"`` or ``["category", "district"]``.
    threshold : float, optional
        The target (a share in (0, 1]); gives ``verdict`` and ``further_samples``.
    level : float, default 0.95
    method : {"auto", "exact", "beta"}, default "auto"
        ``exact``: Clopper–Pearson, for a simple random sample (no design columns allowed);
        ``beta``: the design-based Korn–Graubard interval; ``auto``: ``beta`` when ``weights``,
        ``strata`` or ``psu`` is given, else ``exact``.
    weights, strata, psu, fpc : str, optional
        Design columns, as :class:`analysis.SurveyDesign` (``nest=True``). Without ``psu`` each
        sample is its own unit.

    Returns
    -------
    PassRates

    Raises
    ------
    SurveyError
        Unknown method, bad level or threshold, design columns with ``method="exact"``.
    VariableError
        A missing column, or values other than 0 and 1 in ``variable``.

    Examples
    --------
    >>> pass_rates(df, "passed", by="category", threshold=0.95, strata="district",
    ...            weights="weight").to_frame()                                   # doctest: +SKIP
    >>> # In R: svyby(~passed, ~category, svydesign(ids = ~1, strata = ~district, weights = ~weight,
    >>> #       data = df), svyciprop, method = "beta", vartype = "ci")
    """
    level = _check_level(level)
    threshold = _check_threshold(threshold)
    if method not in PASS_RATE_METHODS:
        raise SurveyError("unknown pass-rate method", argument="method", value=method,
                          fix=f"use one of {', '.join(PASS_RATE_METHODS)}")
    if not isinstance(records, pd.DataFrame):
        raise VariableError("must be a pandas DataFrame", argument="records", value=type(records).__name__,
                            fix="pass the inspection records as a DataFrame")
    by_columns = (by,) if isinstance(by, str) else tuple(by or ())
    design_columns = {name: column for name, column in
                      (("weights", weights), ("strata", strata), ("psu", psu), ("fpc", fpc)) if column is not None}
    for column in (variable, *by_columns, *design_columns.values()):
        if column not in records.columns:
            raise VariableError("no such column in the records", argument="variable" if column == variable else "by",
                                value=column, fix=f"use one of {', '.join(map(str, records.columns))}")
    values = pd.to_numeric(records[variable], errors="coerce")
    if values.isna().any() or not values.isin([0, 1]).all():
        bad = records[variable][values.isna() | ~values.isin([0, 1])].iloc[0]
        raise VariableError("a pass/fail column holds 1 (passed) and 0 (failed) only, with no missing values",
                            argument="variable", value=bad, fix="code every inspected sample as 1 or 0")
    if method == "exact" and design_columns:
        raise SurveyError("an exact interval is for a simple random sample", argument="method", value=method,
                          fix=f"use method='beta' with {', '.join(design_columns)}, or leave out the design columns")
    chosen = "beta" if method == "beta" or (method == "auto" and design_columns) else "exact"
    data = records.assign(**{variable: values.astype(float)})
    counts = _counts(data, variable, by_columns)
    if chosen == "exact":
        table, notes, design = _exact(counts, level), (), "simple random sample"
    else:
        table, notes, design = _beta(data, variable, by_columns, level, design_columns)
        table = table.join(counts[["passed", "failed"]])
    table["method"] = chosen
    table["threshold"] = np.nan if threshold is None else threshold
    verdicts, further = [], []
    for row in table.itertuples():
        if threshold is None or row.n == 0:
            verdicts.append(None if threshold is None else "no data")
            further.append(None)
            continue
        verdict = verdict_of(ci_low=row.ci_low, ci_high=row.ci_high, threshold=threshold)
        verdicts.append(verdict)
        further.append(further_samples(row.estimate, n=int(row.n), threshold=threshold, level=level,
                                       n_effective=row.n_eff) if verdict == "inconclusive" else None)
    table["verdict"] = verdicts
    table["further_samples"] = pd.array(further, dtype="Int64")
    table[["n", "passed", "failed"]] = table[["n", "passed", "failed"]].astype(int)
    return PassRates(variable=variable, by=by_columns, method=chosen, level=level, threshold=threshold,
                     design=design, _table=table[list(PASS_RATE_COLUMNS)], notes=tuple(notes))


def _counts(data: pd.DataFrame, variable: str, by: tuple[str, ...]) -> pd.DataFrame:
    """Samples, passed and failed: overall (index ``"all"``) then by domain."""
    overall = pd.DataFrame({"n": [len(data)], "passed": [int(data[variable].sum())]}, index=pd.Index([OVERALL]))
    parts = [overall]
    if by:
        grouped = data.groupby(list(by) if len(by) > 1 else by[0], sort=True, observed=True)[variable]
        parts.append(pd.DataFrame({"n": grouped.size(), "passed": grouped.sum().astype(int)}))
    counts = pd.concat(parts)
    counts["failed"] = counts["n"] - counts["passed"]
    return counts


def _exact(counts: pd.DataFrame, level: float) -> pd.DataFrame:
    rows = []
    for passed, n in zip(counts["passed"], counts["n"]):
        low, high = _interval(float(passed), float(n), 1 - level) if n else (math.nan, math.nan)
        rows.append({"estimate": passed / n if n else math.nan, "ci_low": low, "ci_high": high, "n_eff": float(n)})
    return pd.concat([pd.DataFrame(rows, index=counts.index), counts], axis=1)


def _beta(data: pd.DataFrame, variable: str, by: tuple[str, ...], level: float,
          columns: dict[str, str]) -> tuple[pd.DataFrame, list[str], str]:
    from .design import SurveyDesign

    design = SurveyDesign(data, weights=columns.get("weights"), strata=columns.get("strata"),
                          psu=columns.get("psu"), fpc=columns.get("fpc"), nest=True)
    parts, notes = [], []
    for domain in [None, *([list(by) if len(by) > 1 else by[0]] if by else [])]:
        result = design.proportion(variable, by=domain, ci_method="beta", level=level)
        parts.append(result.to_frame())
        notes.extend(result.notes)
    table = pd.concat(parts)
    # the effective sample size of the Korn-Graubard interval, p(1 - p)/var, kept by further samples;
    # at 0% or 100% the design's Kish size, the one its interval uses there
    inside = (table["estimate"] > 0) & (table["estimate"] < 1) & (table["se"] > 0)
    kg = table["estimate"] * (1 - table["estimate"]) / table["se"] ** 2
    table["n_eff"] = kg.where(inside, table["n_eff"])
    return table[["estimate", "ci_low", "ci_high", "n", "n_eff"]], list(dict.fromkeys(notes)), design.describe()
