"""Domain comparisons: every domain against the rest of the population or a reference domain.

The maths behind :meth:`~analysis.SurveyDesign.compare` (and the wave changes of
:mod:`.waves`): the domain means and the means of their references are one statistic of
the design (:mod:`.statistic`), so their covariance comes from either variance engine
(linearised influence values or replicates, as R's ``svyby(..., covmat = TRUE)``), and every
difference is a linear contrast of it (R's ``svycontrast``) with a Student t test on the
design's degrees of freedom and multiplicity-adjusted p-values (R's ``p.adjust``).

Depends on :mod:`analysis.errors` only; :func:`compare_domains` takes the design's estimator
layer (its ``mean``, ``proportion``, ``vcov_of``, ``design_df``, ``numeric_values`` and
``domain_codes``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse, stats

from ..errors import VariableError
from ..results import table_summary

__all__ = ["ADJUST_METHODS", "Comparison", "RestMeans", "check_adjust", "compare_domains",
           "contrasts", "p_adjust"]

#: Multiplicity adjustments of :func:`p_adjust` (R's ``p.adjust`` methods of the same name).
ADJUST_METHODS = ("holm", "bonferroni", "BH", "none")


def check_adjust(adjust: str) -> None:
    """``adjust`` is one of :data:`ADJUST_METHODS`."""
    if adjust not in ADJUST_METHODS:
        raise VariableError("unknown multiplicity adjustment", argument="adjust", value=adjust,
                            fix=f"use one of {', '.join(ADJUST_METHODS)}")


def p_adjust(p: np.ndarray, method: str) -> np.ndarray:
    """Adjusted p-values, as R's ``p.adjust(p, method)``; NaN p-values are left out of the
    number of comparisons (as R does with ``NA``) and stay NaN."""
    check_adjust(method)
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    n = len(ok)
    if n == 0:
        return out
    q = p[ok]
    if method == "none":
        adj = q
    elif method == "bonferroni":
        adj = np.minimum(1.0, n * q)
    elif method == "holm":
        order = np.argsort(q, kind="stable")
        steps = np.maximum.accumulate((n - np.arange(n)) * q[order])
        adj = np.empty(n)
        adj[order] = np.minimum(1.0, steps)
    else:   # BH
        order = np.argsort(q, kind="stable")[::-1]          # largest first
        steps = np.minimum.accumulate(n / np.arange(n, 0, -1) * q[order])
        adj = np.empty(n)
        adj[order] = np.minimum(1.0, steps)
    out[ok] = adj
    return out


def contrasts(theta: np.ndarray, V: np.ndarray, C: np.ndarray, df: float, level: float):
    """Linear combinations ``C @ theta`` of a statistic's values: estimate, SE, t interval on
    ``df`` and the two-sided p-value of a test of zero (R's ``svycontrast`` and
    ``confint(., df = degf(design))``; a combination with zero variance has no p-value)."""
    est = C @ theta
    var = np.einsum("ij,jk,ik->i", C, V, C)
    se = np.sqrt(np.maximum(var, 0.0))
    q = stats.t.ppf(0.5 + level / 2, df)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(se > 0, 2 * stats.t.sf(np.abs(est / se), df), np.nan)
    return est, se, est - q * se, est + q * se, p


@dataclass(frozen=True, eq=False)
class RestMeans:
    """The mean of ``y`` in every domain and in the rest of the population outside it.

    Values ``0..D-1`` are the domain means, ``D..2D-1`` the means over the rows of the other
    domains (rows outside every domain count in neither): R's ``svyby(~y, ~I(by == d), des,
    svymean, covmat = TRUE)`` for every ``d``.  Rows with ``valid`` false (a missing answer)
    are left out, as ``na.rm = TRUE``.
    """

    y: np.ndarray        # (n,) values (0 where not valid)
    valid: np.ndarray    # (n,) bool
    codes: np.ndarray    # (n,) domain code, -1 outside every domain
    D: int

    def _by_domain(self) -> sparse.csr_matrix:
        inside = np.flatnonzero((self.codes >= 0) & self.valid)
        return sparse.csr_matrix((np.ones(len(inside)), (self.codes[inside], inside)),
                                 shape=(self.D, len(self.codes)))

    def _totals(self, W: np.ndarray):
        S = self._by_domain()
        num = np.asarray(S @ (W * self.y[:, None]))       # (D, m)
        den = np.asarray(S @ W)
        return num, den, num.sum(axis=0), den.sum(axis=0)

    def at(self, W: np.ndarray) -> np.ndarray:
        W = np.asarray(W, dtype=float)
        if W.ndim == 1:
            W = W[:, None]
        num, den, num_all, den_all = self._totals(W)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.vstack([num / den, (num_all - num) / (den_all - den)])

    def scores(self, w: np.ndarray) -> np.ndarray:
        w = np.asarray(w, dtype=float)
        num, den, num_all, den_all = self._totals(w[:, None])
        num, den = num[:, 0], den[:, 0]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean, rest = num / den, (num_all[0] - num) / (den_all[0] - den)
            rest_den = den_all[0] - den
        ok = (self.codes >= 0) & self.valid
        r = np.flatnonzero(ok)
        d = self.codes[r]
        wr, yr = w[r], self.y[r]
        Z = np.zeros((len(self.codes), 2 * self.D))
        with np.errstate(invalid="ignore", divide="ignore"):
            Z[r, d] = wr * (yr - mean[d]) / den[d]
            # a row counts in the rest of every domain but its own
            rest_z = wr[:, None] * (yr[:, None] - rest[None, :]) / rest_den[None, :]
        rest_z[np.arange(len(r)), d] = 0.0
        Z[r, self.D:] = rest_z
        return Z


@dataclass(frozen=True, eq=False)
class Comparison:
    """Differences between domains, with their SEs, intervals and adjusted p-values.

    Attributes
    ----------
    statistic : str
        ``"mean"`` or ``"proportion"``.
    variable : str
    by : tuple of str
        The domain variable(s).
    reference : object or None
        The reference domain's label; ``None``: each domain against the rest of the
        population outside it.
    level : float
    adjust : str
        The multiplicity adjustment of ``p_adjusted`` (R's ``p.adjust`` method).
    ci_method : str
        The interval of each domain's own estimate (``estimate_ci_low``/``_high``).
    variance : str
        ``"linearization"``, ``"JKn"`` or ``"bootstrap"``.
    design : str
    notes : tuple of str
    """

    statistic: str
    variable: str
    by: tuple
    reference: Any
    level: float
    adjust: str
    ci_method: str
    variance: str
    design: str
    _table: pd.DataFrame
    notes: tuple = ()

    def to_frame(self) -> pd.DataFrame:
        """The table (a copy), one row per domain: ``estimate`` (the domain's),
        ``reference_estimate``, ``difference`` (domain minus reference), ``se``,
        ``ci_low``/``ci_high`` (of the difference: Student t on the design's df), ``df``,
        ``p_value`` (two-sided t test of no difference), ``p_adjusted``, ``significant``
        (``p_adjusted`` below ``1 - level``), ``n``, ``n_reference``, and the domain
        estimate's own interval ``estimate_ci_low``/``estimate_ci_high``.  With a
        reference domain its own row is a difference of 0 without a p-value."""
        return self._table.copy()

    def summary(self, digits: int = 4) -> str:
        """Describe the comparison as text (never prints)."""
        against = ("the rest of the population outside each domain" if self.reference is None
                   else f"the reference domain {self.reference!r}")
        lines = [f"{self.statistic} of {self.variable} by {', '.join(self.by)} against {against}",
                 f"design: {self.design}",
                 f"variance: {self.variance}; {int(round(self.level * 100))}% intervals of the "
                 f"differences (Student t on the design degrees of freedom); p-values adjusted: "
                 f"{self.adjust}"]
        return table_summary(lines, self._table, self.notes, digits)

    def __len__(self) -> int:
        return len(self._table)

    def __repr__(self) -> str:  # pragma: no cover - cosmetic
        return f"<Comparison of {self.variable!r} by {self.by}, {len(self._table)} row(s)>"


def compare_domains(design, variable: str, by, *, statistic: str, reference, level: float,
                    adjust: str, ci_method: str | None) -> Comparison:
    """:meth:`analysis.SurveyDesign.compare` (arguments checked here; see there); ``design``
    is a design's estimator layer (:class:`~.estimators.Estimators`)."""
    if statistic not in ("mean", "proportion"):
        raise VariableError("unknown statistic", argument="statistic", value=statistic,
                            fix="use 'mean' or 'proportion'")
    check_adjust(adjust)
    if by is None or (not isinstance(by, str) and len(by) == 0):
        raise VariableError("compare needs a domain variable", argument="by", value=by,
                            fix="name the column whose domains are compared, e.g. 'district'")
    if statistic == "mean":
        if ci_method not in (None, "t"):
            raise VariableError("ci_method applies to proportions only", argument="ci_method",
                                value=ci_method, fix="leave it out for statistic='mean'")
        est = design.mean(variable, by=by, level=level)
        ci_method = "t"
    else:
        ci_method = "logit" if ci_method is None else ci_method
        est = design.proportion(variable, by=by, ci_method=ci_method, level=level)
    table = est.to_frame()
    index = table.index
    if len(index) < 2:
        raise VariableError("there is only one domain to compare", argument="by", value=by,
                            fix=f"choose a variable with at least two domains (found "
                                f"{list(index)})")
    mean = table["estimate"].to_numpy(dtype=float)
    n = table["n"].to_numpy(dtype=float)
    D = len(index)
    df = float(design.design_df())
    if reference is None:
        y = design.numeric_values(variable)
        codes, _ = design.domain_codes(by)
        valid = ~np.isnan(y)
        theta, V = design.vcov_of(RestMeans(np.where(valid, y, 0.0), valid, codes, D))
        C = np.hstack([np.eye(D), -np.eye(D)])
        ref_est = theta[D:]
        n_ref = n.sum() - n
    else:
        if reference not in index:
            shown = ", ".join(repr(v) for v in list(index)[:30])
            raise VariableError("the reference is not one of the domains",
                                argument="reference", value=reference,
                                fix=f"use one of the domains: {shown}")
        r = index.get_loc(reference)
        theta, V = mean, est.vcov().to_numpy()
        C = np.eye(D)
        C[:, r] -= 1.0
        ref_est = np.full(D, mean[r])
        n_ref = np.full(D, n[r])
    diff, se, low, high, p = contrasts(theta, V, C, df, level)
    p_adj = p_adjust(p, adjust)
    out = pd.DataFrame({
        "estimate": mean, "reference_estimate": ref_est, "difference": diff, "se": se,
        "ci_low": low, "ci_high": high, "df": np.full(D, int(df), dtype=np.int64),
        "p_value": p, "p_adjusted": p_adj, "significant": p_adj < 1 - level,
        "n": n.astype(np.int64), "n_reference": n_ref.astype(np.int64),
        "estimate_ci_low": table["ci_low"].to_numpy(),
        "estimate_ci_high": table["ci_high"].to_numpy()}, index=index.copy())
    notes = list(est.notes)
    if np.isnan(p).any() and reference is None:
        notes.append("no p-value where the difference has no variance")
    return Comparison(statistic, variable, est.by, reference, level, adjust, ci_method,
                      est.variance, est.design, out, tuple(notes))
