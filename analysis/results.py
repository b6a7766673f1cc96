"""Frozen result objects returned by every estimator of :mod:`analysis`.

An :class:`Estimate` holds one table with one row per domain (a single row, indexed
``"all"``, when ``by=None``) and at least the columns

``estimate, se, ci_low, ci_high, df, n, n_eff, deff``

* ``estimate`` -- the point estimate (a mean, total or proportion);
* ``se`` -- its design-based standard error (linearisation or replicates);
* ``ci_low, ci_high`` -- the confidence interval at ``level`` (Student t on ``df``);
* ``df`` -- the domain's design degrees of freedom (PSUs minus strata among the domain's
  rows of non-zero weight, as R's ``svyby`` gives them);
* ``n`` -- respondents (rows of non-zero weight with a non-missing value) in the domain;
* ``n_eff`` -- Kish's effective sample size ``(sum w)^2 / sum w^2`` over those rows;
* ``deff`` -- the design effect against SRS without replacement (NaN unless asked for).

Frequency tables add ``count`` (unweighted respondents in the category) and
``weighted_count`` (the estimated population count).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd
from scipy import stats

from .errors import VariableError

__all__ = ["Estimate", "RESULT_COLUMNS", "OVERALL", "table_summary"]

#: Columns every result table has, in this order.
RESULT_COLUMNS = ("estimate", "se", "ci_low", "ci_high", "df", "n", "n_eff", "deff")

#: Index label of the single row of an estimate made with ``by=None``.
OVERALL = "all"


@dataclass(frozen=True, eq=False)
class Estimate:
    """The result of one estimator: a frozen table of domain estimates.

    Attributes
    ----------
    statistic : str
        ``"mean"``, ``"total"``, ``"proportion"`` or ``"frequencies"``.
    variable : str
        The analysed column.
    by : tuple of str
        The domain variables (empty for the whole population).
    level : float
        Confidence level of ``ci_low``/``ci_high``.
    ci_method : str
        How the intervals were formed (``"t"`` for means and totals, else the proportion
        method: ``logit``, ``beta``, ``mean``, ``asin``, ``likelihood``, ``wilson``).
    variance : str
        ``"linearization"``, ``"JKn"`` or ``"bootstrap"``.
    design : str
        One-line description of the design the estimate comes from.
    notes : tuple of str
        Remarks on the computation (fallbacks used, rows dropped for missing values...).

    The covariance of the rows (:meth:`vcov`) and linear combinations of them
    (:meth:`contrast`) are available for estimates of one design (R's ``svyby(...,
    covmat=TRUE)`` and ``svycontrast``); they are computed when first asked for.

    Examples
    --------
    >>> est = des.mean("api00")                       # doctest: +SKIP
    >>> est.to_frame().loc["all", ["estimate", "se"]]  # doctest: +SKIP
    >>> print(est.summary())                          # doctest: +SKIP
    """

    statistic: str
    variable: str
    by: tuple
    level: float
    ci_method: str
    variance: str
    design: str
    _table: pd.DataFrame = field(repr=False)
    notes: tuple = ()
    # () -> (covariance matrix of the rows, the design's degrees of freedom); None: unknown
    _covariance: Callable[[], tuple[np.ndarray, float]] | None = field(default=None, repr=False)
    _cache: dict = field(default_factory=dict, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """Return the result table (a copy: the result itself cannot be changed).

        Returns
        -------
        pandas.DataFrame
            One row per domain (or per ``(domain..., category)`` for frequencies), columns
            ``estimate, se, ci_low, ci_high, df, n, n_eff, deff`` and any extra ones.
        """
        return self._table.copy()

    # Convenience accessors -------------------------------------------------------------
    def _single(self, column: str) -> float:
        if len(self._table) != 1:
            raise ValueError(
                f"{column}: the result has {len(self._table)} rows; use to_frame() to read "
                "one domain's value")
        return float(self._table[column].iloc[0])

    @property
    def estimate(self) -> float:
        """The estimate, when the result has a single row (``by=None``)."""
        return self._single("estimate")

    @property
    def se(self) -> float:
        """The standard error, when the result has a single row."""
        return self._single("se")

    @property
    def ci(self) -> tuple[float, float]:
        """``(ci_low, ci_high)``, when the result has a single row."""
        return self._single("ci_low"), self._single("ci_high")

    @property
    def df(self) -> float:
        """The design degrees of freedom, when the result has a single row."""
        return self._single("df")

    def __len__(self) -> int:
        return len(self._table)

    # Covariance and contrasts ------------------------------------------------------------
    def _vcov_matrix(self) -> tuple[np.ndarray, float]:
        if self._covariance is None:
            raise VariableError("this estimate carries no covariance of its rows",
                                argument="vcov", value=self.statistic,
                                fix="estimate it with a design's estimator (mean, total, "
                                    "proportion, frequencies, ratio, quantile...)")
        if "vcov" not in self._cache:
            self._cache["vcov"] = self._covariance()
        return self._cache["vcov"]

    def vcov(self) -> pd.DataFrame:
        """The covariance matrix of the rows' estimates (R: ``vcov(svyby(..., covmat=TRUE))``).

        Domains of one design are estimated from the same PSUs, so their covariances are not
        zero in general (and calibration links them even when the PSUs differ).  The diagonal
        is ``se ** 2`` of the rows, except under ``lonely_psu="average"``: the matrix scales
        by the design's count of strata with a lonely PSU (as R's ``vcov(svyby(...,
        covmat=TRUE))``), each row's ``se`` by its domain's (as R's ``svyby`` SEs).

        Returns
        -------
        pandas.DataFrame
            Rows and columns labelled as the rows of :meth:`to_frame`.

        Examples
        --------
        >>> des.mean("api00", by="stype").vcov()          # doctest: +SKIP
        >>> # In R: vcov(svyby(~api00, ~stype, des, svymean, covmat=TRUE))
        """
        V, _ = self._vcov_matrix()
        return pd.DataFrame(np.array(V), index=self._table.index, columns=self._table.index)

    def contrast(self, coefficients: Mapping[Any, float], *, label: str | None = None
                 ) -> "Estimate":
        """A linear combination of the rows, with its standard error, interval and the p-value
        of a test that it is zero (R's ``svycontrast``).

        Parameters
        ----------
        coefficients : mapping
            Row label (as in :meth:`to_frame`'s index; a tuple for several ``by``
            variables) to its coefficient; rows not named get 0.
        label : str, optional
            Row label of the result (default: the combination written out).

        Returns
        -------
        Estimate
            One row: ``estimate``, ``se``, ``ci_low``/``ci_high`` (Student t on the design's
            degrees of freedom, as ``confint(svycontrast(...), df = degf(design))``),
            ``p_value`` (two-sided t test of zero), ``n`` (respondents of the rows combined).

        Examples
        --------
        >>> est = des.mean("api00", by="stype")                       # doctest: +SKIP
        >>> est.contrast({"E": 1, "H": -1}).to_frame()                # doctest: +SKIP
        >>> # In R: svycontrast(svyby(~api00, ~stype, des, svymean, covmat=TRUE),
        >>> #                   c(E = 1, H = -1, M = 0))
        """
        index = self._table.index
        if not isinstance(coefficients, Mapping) or not coefficients:
            raise VariableError("the coefficients must be a non-empty mapping of row to weight",
                                argument="coefficients", value=coefficients,
                                fix="e.g. {'A': 1, 'B': -1}")
        c = np.zeros(len(index))
        for key, weight in coefficients.items():
            if key not in index:
                shown = ", ".join(repr(v) for v in list(index)[:20])
                raise VariableError("the contrast names a row the estimate does not have",
                                    argument="coefficients", value=key,
                                    fix=f"use rows of the estimate: {shown}")
            if isinstance(weight, bool) or not isinstance(weight, (int, float, np.number)) \
                    or not np.isfinite(weight):
                raise VariableError("a coefficient must be a finite number",
                                    argument="coefficients", value={key: weight},
                                    fix="give a number for every row named")
            c[index.get_loc(key)] = float(weight)
        V, df = self._vcov_matrix()
        est = float(c @ self._table["estimate"].to_numpy(dtype=float))
        var = float(c @ V @ c)
        se = np.sqrt(max(var, 0.0))
        q = stats.t.ppf(0.5 + self.level / 2, df)
        with np.errstate(invalid="ignore", divide="ignore"):
            p = float(2 * stats.t.sf(abs(est / se), df)) if se > 0 else np.nan
        if label is None:
            label = " ".join(f"{w:+g}*{k}" for k, w in coefficients.items() if w != 0)
        used = c != 0
        table = build_table(pd.Index([label]), {
            "estimate": [est], "se": [se], "ci_low": [est - q * se], "ci_high": [est + q * se],
            "df": [df], "n": [float(self._table["n"].to_numpy()[used].sum())],
            "n_eff": [np.nan], "deff": [np.nan], "p_value": [p]})
        return Estimate("contrast", self.variable, (), self.level, "t", self.variance,
                        self.design, table, self.notes,
                        _covariance=lambda: (np.array([[var]]), df))

    def summary(self, digits: int = 4) -> str:
        """Describe the estimate as text (never prints).

        Parameters
        ----------
        digits : int, default 4
            Significant digits of the numbers shown.

        Returns
        -------
        str
        """
        what = f"{self.statistic} of {self.variable}"
        if self.by:
            what += " by " + ", ".join(self.by)
        lines = [
            what,
            f"design: {self.design}",
            f"variance: {self.variance}; {int(round(self.level * 100))}% intervals: "
            f"{self.ci_method} (Student t on the design degrees of freedom)",
        ]
        return table_summary(lines, self._table, self.notes, digits)

    def __repr__(self) -> str:  # pragma: no cover - cosmetic
        return f"<Estimate {self.statistic} of {self.variable!r}, {len(self._table)} row(s)>"


def table_summary(head: list[str], table: pd.DataFrame, notes, digits: int) -> str:
    """A result's ``summary()``: the ``head`` lines, the table to ``digits`` significant digits,
    then one line per note."""
    lines = list(head)
    with pd.option_context("display.width", 200, "display.max_columns", 20,
                           "display.float_format", lambda v: f"{v:.{digits}g}"):
        lines.append(table.to_string())
    lines.extend(f"note: {note}" for note in notes)
    return "\n".join(lines)


def build_table(index: pd.Index, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """Assemble a result table with the standard columns first."""
    data = {name: np.asarray(columns[name], dtype=float) for name in RESULT_COLUMNS}
    for name, values in columns.items():
        if name not in data:
            data[name] = values
    counts = (data["n"], data["df"])
    if all(np.isfinite(c).all() for c in counts):
        # integer columns made before the frame: one block per dtype, no conversion after
        data["n"], data["df"] = (c.astype(np.int64) for c in counts)
        return pd.DataFrame(data, index=index, copy=False)   # the arrays are the table's own
    table = pd.DataFrame(data, index=index)
    table["n"] = table["n"].astype("int64")   # raises on a missing count
    table["df"] = table["df"].astype("int64")
    return table


def frequency_index(domains: pd.Index, by: tuple, categories, variable: str) -> pd.Index:
    """Index of a frequency table: ``(domain..., category)`` for every domain and category,
    or the categories alone without ``by``."""
    if not by:
        return pd.Index(np.asarray(categories, dtype=object), name=variable)
    C = len(categories)
    if isinstance(domains, pd.MultiIndex):
        arrays = [np.repeat(domains.get_level_values(i).to_numpy(), C)
                  for i in range(domains.nlevels)]
    else:
        arrays = [np.repeat(domains.to_numpy(), C)]
    arrays.append(np.tile(np.asarray(categories, dtype=object), len(domains)))
    return pd.MultiIndex.from_arrays(arrays, names=list(by) + [variable])
