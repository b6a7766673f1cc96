"""Design-based tests: the two-group t test (R's ``svyttest``) and tests of association in
a two-way table (R's ``svychisq``).

``svyttest(y ~ g, des)`` is the slope of ``svyglm(y ~ g)`` with a 0/1 group indicator: the
difference of the two groups' means, its design-based SE, t on the model's residual
degrees of freedom (``degf(design) - 1``) and the Wald interval (:mod:`.regression`).

``svychisq(~row + col, des, statistic=)`` compares the weighted table (scaled to the
number of rows) with independence:

``"F"``
    Rao-Scott second-order correction (R's default): Pearson's X^2 divided by the trace of
    the design-effect matrix ``Delta``, referred to F with ``d0 = tr(Delta)^2 /
    tr(Delta^2)`` and ``d0 * nu`` degrees of freedom.
``"Chisq"``
    Pearson's X^2, with the p-value of ``X^2 / mean(diag(Delta))`` on ``(r-1)(c-1)`` df.
``"Wald"``, ``"adjWald"``
    Wald test of the cell totals' departures from independence (Koch et al.), ``/ ndf``
    on ``(ndf, nu)`` degrees of freedom; ``adjWald`` scales it by ``(nu - ndf + 1) /
    (ndf nu)`` on ``(ndf, nu - ndf + 1)``.

``Delta`` uses the covariance of the cell proportions, the Wald tests that of the cell
totals (linearised or replicates: :class:`CellTable` is the statistic); ``nu`` is PSUs
minus strata of the design (replicate designs: ``degf``), as R has it.

Depends on :mod:`.regression` (the t test's model frame) and :mod:`analysis.errors`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import sparse, stats

from ..errors import VariableError
from .regression import ModelFrame

__all__ = ["CHISQ_STATISTICS", "CellTable", "TTestResult", "ChisqResult", "ttest_frame",
           "chisq_test"]

ChisqStatistic = Literal["F", "Chisq", "Wald", "adjWald"]
CHISQ_STATISTICS: tuple[str, ...] = ("F", "Chisq", "Wald", "adjWald")


# t test ---------------------------------------------------------------------------------
def ttest_frame(y: np.ndarray, codes: np.ndarray, labels: pd.Index, variable: str,
                group: str) -> tuple[ModelFrame, tuple]:
    """The model frame of ``svyglm(variable ~ group)`` with a two-level group: intercept
    and the indicator of the second level, over the rows with both values."""
    rows = ~np.isnan(y) & (codes >= 0)
    present = np.unique(codes[rows])
    if len(present) != 2:
        raise VariableError(f"the group column {group!r} must have exactly two values among "
                            f"the rows with {variable!r}; it has {len(present)}",
                            argument="group", value=[labels[k] for k in present][:10],
                            fix="choose a two-valued group column, or compare domains with "
                                "glm()")
    second = codes[rows] == present[1]
    X = np.column_stack([np.ones(int(rows.sum())), second.astype(float)])
    levels = (labels[present[0]], labels[present[1]])
    frame = ModelFrame(X, y[rows], ("(Intercept)", f"{group}{levels[1]}"), rows, variable)
    return frame, levels


@dataclass(frozen=True, eq=False)
class TTestResult:
    """A design-based two-group t test (R: ``svyttest(variable ~ group, design)``).

    ``difference`` is the mean of the second group (in R's level order) minus that of the
    first, with its SE, ``t``, ``df`` (the regression's residual df), two-sided ``p`` and
    the interval at ``level``.
    """

    variable: str
    group: str
    levels: tuple
    difference: float
    se: float
    t: float
    df: int
    p: float
    ci_low: float
    ci_high: float
    level: float
    n: int
    variance: str
    design: str
    notes: tuple = ()

    def to_frame(self) -> pd.DataFrame:
        """One row (``"difference"``): ``estimate, se, t, df, p, ci_low, ci_high``."""
        return pd.DataFrame({"estimate": [self.difference], "se": [self.se], "t": [self.t],
                             "df": [self.df], "p": [self.p], "ci_low": [self.ci_low],
                             "ci_high": [self.ci_high]}, index=pd.Index(["difference"]))

    def summary(self, digits: int = 4) -> str:
        """The test as text (never prints)."""
        lines = [f"design-based t test: {self.variable} by {self.group} "
                 f"({self.levels[1]} - {self.levels[0]})",
                 f"design: {self.design}",
                 f"variance: {self.variance}; {self.n} rows used",
                 f"difference {self.difference:.{digits}g} (SE {self.se:.{digits}g}), "
                 f"t = {self.t:.{digits}g}, df = {self.df}, p = {self.p:.{digits}g}",
                 f"{int(round(self.level * 100))}% interval: [{self.ci_low:.{digits}g}, "
                 f"{self.ci_high:.{digits}g}]"]
        lines.extend(f"note: {note}" for note in self.notes)
        return "\n".join(lines)


# Tests of association ----------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class ChisqResult:
    """A design-based test of association in a two-way table (R: ``svychisq``).

    Attributes
    ----------
    row, col : str
        The table's variables.
    method : str
        ``"F"``, ``"Chisq"``, ``"Wald"`` or ``"adjWald"``.
    statistic : float
        The F statistic (``"Chisq"``: Pearson's X^2 of the table scaled to ``n``).
    ndf, ddf : float
        Numerator and denominator degrees of freedom (``"Chisq"``: ``ndf`` is the
        chi-squared df and ``ddf`` is NaN).
    p : float
    pearson : float
        Pearson's X^2 of the weighted table scaled to ``n`` rows.
    table : DataFrame
        Weighted counts (estimated population) of the complete rows.
    """

    row: str
    col: str
    method: str
    statistic: float
    ndf: float
    ddf: float
    p: float
    pearson: float
    n: int
    variance: str
    design: str
    _table: pd.DataFrame = field(repr=False)
    notes: tuple = ()

    @property
    def table(self) -> pd.DataFrame:
        return self._table.copy()

    def to_frame(self) -> pd.DataFrame:
        """One row (the method): ``statistic, ndf, ddf, p, pearson``."""
        return pd.DataFrame({"statistic": [self.statistic], "ndf": [self.ndf],
                             "ddf": [self.ddf], "p": [self.p], "pearson": [self.pearson]},
                            index=pd.Index([self.method], name="test"))

    def summary(self, digits: int = 4) -> str:
        """The test as text (never prints)."""
        what = {"F": "Pearson's X^2 with the Rao-Scott second-order correction (F)",
                "Chisq": "Pearson's X^2 with the Rao-Scott first-order correction",
                "Wald": "design-based Wald test of association",
                "adjWald": "adjusted design-based Wald test of association"}[self.method]
        dfs = (f"df = {self.ndf:.{digits}g}" if self.method == "Chisq"
               else f"ndf = {self.ndf:.{digits}g}, ddf = {self.ddf:.{digits}g}")
        lines = [f"{what}: {self.row} x {self.col}", f"design: {self.design}",
                 f"variance: {self.variance}; {self.n} rows",
                 f"statistic = {self.statistic:.{digits}g}, {dfs}, p = {self.p:.{digits}g}"]
        with pd.option_context("display.width", 200, "display.float_format",
                               lambda v: f"{v:.{digits}g}"):
            lines.append(self._table.to_string())
        lines.extend(f"note: {note}" for note in self.notes)
        return "\n".join(lines)


@dataclass(frozen=True, eq=False)
class CellTable:
    """The weighted totals (or shares) of the ``K`` cells of a table over its complete rows,
    as a statistic of the weights (see :mod:`.statistic`); R's ``svytotal``/``svymean`` of
    the cell indicators with ``na.rm = TRUE``.

    The influence values of the totals are sparse (one per row); those of the shares are
    ``w (1[cell = k] - p_k) / sum w``.
    """

    cell: np.ndarray      # (n,) cell code, -1 outside the table (a value missing)
    K: int
    shares: bool = False

    def _indicator(self) -> sparse.csr_matrix:
        rows = np.flatnonzero(self.cell >= 0)
        return sparse.csr_matrix((np.ones(len(rows)), (self.cell[rows], rows)),
                                 shape=(self.K, len(self.cell)))

    def at(self, W: np.ndarray) -> np.ndarray:
        W = np.asarray(W, dtype=float)
        if W.ndim == 1:
            W = W[:, None]
        totals = np.asarray(self._indicator() @ W)
        return totals / totals.sum(axis=0) if self.shares else totals

    def scores(self, w: np.ndarray):
        rows = np.flatnonzero(self.cell >= 0)
        n = len(self.cell)
        if not self.shares:
            return sparse.csr_matrix((w[rows], (rows, self.cell[rows])), shape=(n, self.K))
        total = w[rows].sum()
        p = self.at(w)[:, 0]
        out = np.zeros((n, self.K))
        out[rows] = -p[None, :] * (w[rows] / total)[:, None]
        out[rows, self.cell[rows]] += w[rows] / total
        return out


def _present(codes: np.ndarray, labels: pd.Index, argument: str, column: str):
    """Codes renumbered over the levels present (R: ``factor()`` drops unused levels)."""
    present = np.unique(codes[codes >= 0])
    if len(present) < 2:
        raise VariableError(f"column {column!r} needs at least two values for a table; it has "
                            f"{len(present)}", argument=argument, value=column,
                            fix="choose a column with two or more categories")
    lookup = np.full(len(labels), -1, np.int64)
    lookup[present] = np.arange(len(present))
    return np.where(codes >= 0, lookup[np.maximum(codes, 0)], -1), labels[present]


def chisq_test(rcodes, rlabels, ccodes, clabels, w: np.ndarray, vcov_of, *, nu: int,
               method: str, row: str, col: str, variance: str, design: str) -> ChisqResult:
    """R's ``svychisq(~row + col, design, statistic = method)`` (see the module)."""
    rc, rl = _present(rcodes, rlabels, "row", row)
    cc, cl = _present(ccodes, clabels, "col", col)
    nr, nc = len(rl), len(cl)
    K = nr * nc
    n = len(w)
    ok = (rc >= 0) & (cc >= 0)
    cell = np.where(ok, rc + nr * cc, -1)       # R's interaction(): the row varies fastest

    # Pearson's X^2 of the weighted table scaled to N = all rows (svytable(Ntotal = N))
    counts = np.bincount(cell[ok], weights=w[ok], minlength=K)
    scaled = counts * n / counts.sum()
    tab = scaled.reshape(nc, nr).T
    expected = np.outer(tab.sum(axis=1), tab.sum(axis=0)) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        pearson = float(np.sum((tab - expected) ** 2 / expected))
    table = pd.DataFrame(counts.reshape(nc, nr).T, index=pd.Index(rl, name=row),
                         columns=pd.Index(cl, name=col))
    r_of = np.tile(np.arange(nr), nc)
    c_of = np.repeat(np.arange(nc), nr)

    if method in ("Wald", "adjWald"):
        # R: svytotal of the cells, the row and column margins and the population over the
        # complete rows -- the margins are sums of cells, so their covariance is L V L'
        cells, V = vcov_of(CellTable(cell, K))
        L = np.vstack([np.eye(K), (r_of[None, :] == np.arange(nr)[:, None]).astype(float),
                       (c_of[None, :] == np.arange(nc)[:, None]).astype(float), np.ones(K)])
        allt = L @ cells
        rows_t, cols_t, total = allt[K:K + nr], allt[K + nr:K + nr + nc], allt[-1]
        J = np.zeros((K, L.shape[0]))
        J[:, :K] = np.eye(K)
        J[np.arange(K), K + r_of] = -cols_t[c_of] / total
        J[np.arange(K), K + nr + c_of] = -rows_t[r_of] / total
        J[:, -1] = rows_t[r_of] * cols_t[c_of] / total ** 2
        Y = cells - rows_t[r_of] * cols_t[c_of] / total
        JL = J @ L
        VY = JL @ V @ JL.T
        use = (r_of > 0) & (c_of > 0)
        wald = float(Y[use] @ np.linalg.solve(VY[np.ix_(use, use)], Y[use]))
        ndf = float((nr - 1) * (nc - 1))
        if method == "Wald":
            value, ddf = wald / ndf, float(nu)
        else:
            ddf = float(nu - ndf + 1)
            value = wald * ddf / (ndf * nu)
        p = float(stats.f.sf(value, ndf, ddf))
        return ChisqResult(row, col, method, value, ndf, ddf, p, pearson, n, variance, design,
                           table)

    # Rao-Scott: the design-effect matrix of the interaction contrasts
    mean2, V = vcov_of(CellTable(cell, K, shares=True))
    X1 = np.column_stack([np.ones(K)] + [(r_of == i).astype(float) for i in range(1, nr)]
                         + [(c_of == j).astype(float) for j in range(1, nc)])
    X12 = np.column_stack([X1[:, i] * X1[:, nr - 1 + j] for j in range(1, nc)
                           for i in range(1, nr)])
    C = X12 - X1 @ np.linalg.lstsq(X1, X12, rcond=None)[0]      # qr.resid(qr(X1), X12)
    with np.errstate(divide="ignore"):
        inv = np.where(mean2 == 0, 0.0, 1 / mean2)
    denom = (C.T * (inv / n)) @ C
    numr = (C.T * inv) @ V @ (C * inv[:, None])
    delta = np.linalg.solve(denom, numr)
    tr = np.trace(delta)
    d0 = tr ** 2 / np.trace(delta @ delta)
    if method == "F":
        value = pearson / tr
        ndf, ddf = float(d0), float(d0 * nu)
        p = float(stats.f.sf(value, ndf, ddf))
    else:
        value = pearson
        ndf, ddf = float(delta.shape[1]), float("nan")
        p = float(stats.chi2.sf(pearson / np.mean(np.diag(delta)), ndf))
    return ChisqResult(row, col, method, float(value), ndf, ddf, p, pearson, n, variance,
                       design, table)
