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

import numpy as np
import pandas as pd

__all__ = ["Estimate", "RESULT_COLUMNS", "OVERALL"]

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
        table = self._table.copy()
        with pd.option_context("display.width", 200, "display.max_columns", 20,
                               "display.float_format", lambda v: f"{v:.{digits}g}"):
            lines.append(table.to_string())
        lines.extend(f"note: {note}" for note in self.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:  # pragma: no cover - cosmetic
        return f"<Estimate {self.statistic} of {self.variable!r}, {len(self._table)} row(s)>"


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
