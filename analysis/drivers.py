"""Key-driver analysis: how much each driver matters for an outcome, and how well it does.

:func:`key_drivers` decomposes the R² of the survey-weighted linear regression of an outcome
(e.g. overall satisfaction) on its drivers (satisfaction with each aspect) in two ways:

* ``method="shapley"`` -- the LMG/Shapley decomposition (R: ``relaimpo::calc.relimp(fit,
  type = "lmg")``): a driver's gain in R² when it enters the model, averaged over all orders
  of entry.  Computed over all ``2**p`` subsets from the weighted correlation matrix, the R² of
  a subset ``S`` being ``r_S' R_SS^-1 r_S``.
* ``method="relative_weights"`` -- Johnson's (2000) relative weights: the squared
  loadings of the drivers on the closest orthogonal variables times those variables' squared
  regression weights, from the eigen-decomposition of the drivers' correlation matrix.

Both sum to the model's R².  The intervals are design-based: the weighted covariance
matrix is recomputed for every replicate weight column (one matrix product for all), the
importances follow per replicate, and the replicate design's variance formula (R's
``svrVar``) combines them.  A driver's performance is its weighted mean rescaled to 0--100
over the answer scale.  The "where to act" quadrant compares each driver's importance and
performance with their means over the drivers; ``priority`` is important but below-average
performance.

Depends on :mod:`analysis.errors` and :mod:`analysis._ci`; takes the designs through their
public attributes (``data``, ``weights``, ``replicate()``, ``replicate_weights``, ``scale``,
``rscales``, ``mse``, ``degf``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from math import factorial
from typing import Literal, Mapping, Sequence, get_args

import numpy as np
import pandas as pd

from ._ci import t_quantile
from .errors import ReplicateError, SurveyError, VariableError

__all__ = ["key_drivers", "KeyDrivers", "KEY_DRIVER_METHODS", "QUADRANTS"]

Method = Literal["shapley", "relative_weights"]
KEY_DRIVER_METHODS: tuple[str, ...] = get_args(Method)
ReplicateMethod = Literal["bootstrap", "jkn"]
REPLICATE_METHODS: tuple[str, ...] = get_args(ReplicateMethod)

#: Quadrant of each (importance above its mean?, performance above its mean?).
QUADRANTS = {(True, False): "priority", (True, True): "maintain",
             (False, False): "secondary", (False, True): "surplus"}

# Smallest eigenvalue of the drivers' correlation matrix below which they count as
# perfectly collinear (exactly collinear data give ~1e-16 in floating point).
_COLLINEAR_TOL = 1e-10


@dataclass(frozen=True, eq=False)
class KeyDrivers:
    """The result of :func:`key_drivers` (frozen).

    Attributes
    ----------
    outcome : str
    drivers : tuple of str
    method : str
        ``"shapley"`` or ``"relative_weights"``.
    r2, r2_se : float
        R² of the weighted regression on all drivers and its replicate standard error.
    r2_ci : tuple of float
    level : float
    df : int
        Degrees of freedom of the intervals (the replicate design's ``degf``).
    variance : str
        The replicate method (``"bootstrap"``, ``"JKn"``...), with the number of replicates.
    design : str
        One-line description of the replicate design.
    n : int
        Respondents used (positive weight, every variable answered).
    notes : tuple of str
    """

    outcome: str
    drivers: tuple
    method: str
    r2: float
    r2_se: float
    r2_ci: tuple
    level: float
    df: int
    variance: str
    design: str
    n: int
    _table: pd.DataFrame = field(repr=False)
    notes: tuple = ()

    def to_frame(self) -> pd.DataFrame:
        """One row per driver (a copy), indexed by driver.

        Columns: ``importance`` (share of R² it accounts for, in R² units), ``share``
        (importance / R²), ``se, ci_low, ci_high`` (of the importance), ``share_se``,
        ``performance`` (weighted mean on 0--100), ``performance_se``,
        ``performance_ci_low``, ``performance_ci_high``, ``mean`` (weighted mean on the answer
        scale), ``high_importance`` / ``high_performance`` (above the mean over the drivers),
        ``quadrant`` (``priority``, ``maintain``, ``secondary``, ``surplus``) and
        ``priority`` (True in the priority quadrant).
        """
        return self._table.copy()

    @property
    def priority(self) -> tuple:
        """The drivers of the priority quadrant, most important first."""
        t = self._table
        return tuple(t.index[t["priority"]][np.argsort(-t["importance"][t["priority"]].to_numpy(),
                                                        kind="stable")])

    def summary(self, digits: int = 4) -> str:
        """Describe the result as text (never prints)."""
        name = {"shapley": "Shapley/LMG decomposition of R²",
                "relative_weights": "Johnson's relative weights"}[self.method]
        pct = int(round(self.level * 100))
        lines = [
            f"key drivers of {self.outcome}: {name}",
            f"design: {self.design}",
            f"n = {self.n}; R² = {self.r2:.{digits}g} (se {self.r2_se:.{digits}g}, {pct}% CI "
            f"{self.r2_ci[0]:.{digits}g} to {self.r2_ci[1]:.{digits}g})",
            f"variance: {self.variance}; {pct}% intervals: Student t on {self.df} df",
        ]
        with pd.option_context("display.width", 200, "display.max_columns", 20,
                               "display.float_format", lambda v: f"{v:.{digits}g}"):
            lines.append(self._table.to_string())
        if self.priority:
            lines.append("priority (important, below-average performance): "
                         + ", ".join(self.priority))
        lines.extend(f"note: {note}" for note in self.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:  # pragma: no cover - cosmetic
        return f"<KeyDrivers {self.method} of {self.outcome!r}, {len(self.drivers)} drivers>"


def key_drivers(design, outcome: str, drivers: Sequence[str], *,
                scale: tuple[float, float] | Mapping[str, tuple[float, float]],
                method: Method = "shapley", replicates=200,
                replicate_method: ReplicateMethod = "bootstrap", seed: int | None = None,
                level: float = 0.95) -> KeyDrivers:
    """Importance and performance of each driver of ``outcome``, with replicate intervals.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The survey design (its ``data`` holds the columns).
    outcome : str
        The outcome column (e.g. overall satisfaction).
    drivers : sequence of str
        The driver columns (at least two, distinct, not the outcome).
    scale : (min, max) or mapping of driver to (min, max)
        The answer scale of the drivers, for performance on 0--100:
        ``(mean - min) / (max - min) * 100``.  Values outside it raise an error (recode
        "don't know" codes to missing first).
    method : {"shapley", "relative_weights"}, default "shapley"
        ``shapley``: LMG decomposition of R² over all subsets (R:
        ``relaimpo::calc.relimp(lm(y ~ ., weights = w), type = "lmg")``);
        ``relative_weights``: Johnson's (2000) relative weights (no base-R function; by
        formula ``e <- eigen(Rxx); L <- e$vectors %*% diag(sqrt(e$values)) %*%
        t(e$vectors); (L^2) %*% solve(L, rxy)^2``, ``R`` the weighted correlations).
    replicates : ReplicateDesign or int, default 200
        Replicate weights of ``design`` for the intervals, or how many to draw with
        ``design.replicate(replicate_method, replicates=..., seed=seed)``.  Ignored when
        ``design`` is itself a ReplicateDesign.
    replicate_method : {"bootstrap", "jkn"}, default "bootstrap"
        How replicates are drawn when ``replicates`` is a number (``jkn`` ignores the count).
    seed : int, optional
        Seed of the bootstrap draws (give one for reproducible intervals).
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    KeyDrivers

    Notes
    -----
    Rows with a missing outcome or driver are left out (listwise, as ``lm`` does); the
    performances are the weighted means over the same rows.  Replicate variance:
    ``scale * sum_r rscales[r] * (theta_r - centre)^2`` as the replicate design defines it.

    Examples
    --------
    >>> kd = key_drivers(des, "overall", ["staff", "price", "speed"], scale=(1, 10),
    ...                  seed=1)                                # doctest: +SKIP
    >>> kd.to_frame()[["importance", "share", "performance", "quadrant"]]  # doctest: +SKIP
    """
    if method not in KEY_DRIVER_METHODS:
        raise SurveyError("unknown key-driver method", argument="method", value=method,
                          fix=f"use one of {', '.join(KEY_DRIVER_METHODS)}")
    if replicate_method not in REPLICATE_METHODS:
        raise SurveyError("unknown replicate method", argument="replicate_method",
                          value=replicate_method, fix=f"use one of {', '.join(REPLICATE_METHODS)}")
    if not (isinstance(level, (int, float)) and 0 < level < 1):
        raise SurveyError("the confidence level must lie strictly between 0 and 1",
                          argument="level", value=level, fix="use e.g. 0.95")
    drivers = _check_names(outcome, drivers)
    p = len(drivers)
    lows, highs = _scales(scale, drivers)

    full, rep = _designs(design, replicates, replicate_method, seed)
    data = full.data
    w = full.weights.to_numpy(dtype=float)
    X = np.column_stack([_numeric(data, c, "outcome" if c == outcome else "drivers")
                         for c in (outcome, *drivers)])
    answered = ~np.isnan(X).any(axis=1)
    valid = answered & (w > 0)
    n = int(valid.sum())
    if n < p + 2:
        raise VariableError(f"too few respondents ({n}) for {p} drivers: a regression on "
                            f"{p} drivers needs at least {p + 2} respondents who answered "
                            "the outcome and every driver", argument="drivers", value=list(drivers),
                            fix="use fewer drivers, or a larger sample")
    _check_range(X[valid, 1:], drivers, lows, highs)

    rw = rep.replicate_weights.to_numpy(dtype=float)
    if rw.shape[0] != len(w) or not np.allclose(rep.weights.to_numpy(dtype=float), w,
                                                rtol=1e-12, atol=0.0):
        raise ReplicateError("the replicate weights are not those of this design",
                             argument="replicates", value=rep.describe(),
                             fix="build them from this design: design.replicate(...)")
    means, cov = _weighted_moments(X, valid, w, rw)   # (B, k), (B, k, k); B = 1 + replicates

    _check_variances(cov[0], (outcome, *drivers))
    variances = np.einsum("bii->bi", cov)
    flat = ~(variances[1:] > 0).all(axis=1)
    if flat.any():
        names = [(outcome, *drivers)[j] for j in np.flatnonzero(~(variances[1:] > 0).all(axis=0))]
        raise ReplicateError(f"{', '.join(map(repr, names))} does not vary in "
                             f"{int(flat.sum())} of {len(flat)} replicates (its answers "
                             "differ in too few PSUs)", argument="replicates",
                             value=rep.describe(),
                             fix="leave that variable out, or use a larger sample")
    sd = np.sqrt(variances)
    corr = cov / (sd[:, :, None] * sd[:, None, :])
    Rxx, rxy = corr[:, 1:, 1:], corr[:, 1:, 0]
    eig = np.linalg.eigvalsh(Rxx)
    _check_collinear(Rxx[0], eig[0], drivers)
    bad = eig[1:, 0] < _COLLINEAR_TOL
    if bad.any():
        raise ReplicateError(f"the drivers are perfectly collinear in {int(bad.sum())} of "
                             f"{len(bad)} replicates", argument="replicates",
                             value=rep.describe(),
                             fix="use fewer drivers or a larger sample")

    if method == "shapley":
        all_r2 = _subset_r2(Rxx, rxy)
        importance = all_r2 @ _shapley_matrix(p)
        r2 = all_r2[:, -1]
    else:
        importance = _relative_weights(Rxx, rxy)
        r2 = importance.sum(axis=1)
    share = importance / r2[:, None]
    performance = (means[:, 1:] - lows) / (highs - lows) * 100.0

    df = int(rep.degf)
    q = float(t_quantile(level, np.array([df]))[0])

    def se_of(theta: np.ndarray) -> np.ndarray:
        return np.sqrt(_replicate_variance(theta[1:], theta[0], rep))

    imp_se, share_se, perf_se = se_of(importance), se_of(share), se_of(performance)
    r2_se = float(se_of(r2[:, None])[0])
    imp, perf = importance[0], performance[0]
    high_imp = imp > imp.mean()
    high_perf = perf > perf.mean()
    quadrant = [QUADRANTS[(bool(a), bool(b))] for a, b in zip(high_imp, high_perf)]
    table = pd.DataFrame({
        "importance": imp, "share": share[0], "se": imp_se,
        "ci_low": imp - q * imp_se, "ci_high": imp + q * imp_se, "share_se": share_se,
        "performance": perf, "performance_se": perf_se,
        "performance_ci_low": perf - q * perf_se, "performance_ci_high": perf + q * perf_se,
        "mean": means[0, 1:], "high_importance": high_imp, "high_performance": high_perf,
        "quadrant": quadrant, "priority": high_imp & ~high_perf,
    }, index=pd.Index(drivers, name="driver"))
    notes = []
    dropped = int(((w > 0) & ~answered).sum())
    if dropped:
        notes.append(f"{dropped} respondents with a missing outcome or driver left out")
    return KeyDrivers(outcome=outcome, drivers=tuple(drivers), method=method,
                      r2=float(r2[0]), r2_se=r2_se,
                      r2_ci=(float(r2[0] - q * r2_se), float(r2[0] + q * r2_se)),
                      level=float(level), df=df,
                      variance=f"{rep.method} ({rep.n_replicates} replicates)",
                      design=rep.describe(), n=n, _table=table, notes=tuple(notes))


# Inputs ----------------------------------------------------------------------------------
def _check_names(outcome, drivers) -> list[str]:
    if not isinstance(outcome, str):
        raise VariableError("the outcome must be a column name", argument="outcome",
                            value=outcome, fix="pass the name of one column")
    if isinstance(drivers, str) or not all(isinstance(d, str) for d in drivers):
        raise VariableError("drivers must be a list of column names", argument="drivers",
                            value=drivers, fix="pass e.g. ['staff', 'price']")
    drivers = list(drivers)
    dup = sorted({d for d in drivers if drivers.count(d) > 1})
    if dup:
        raise VariableError(f"drivers named more than once: {', '.join(dup)}",
                            argument="drivers", value=drivers, fix="name each driver once")
    if outcome in drivers:
        raise VariableError(f"the outcome {outcome!r} is also a driver", argument="drivers",
                            value=drivers, fix=f"remove {outcome!r} from the drivers")
    if len(drivers) < 2:
        raise VariableError("key-driver analysis needs at least two drivers",
                            argument="drivers", value=drivers,
                            fix="give two or more driver columns")
    return drivers


def _scales(scale, drivers: list[str]) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(scale, Mapping):
        missing = [d for d in drivers if d not in scale]
        if missing:
            raise VariableError(f"no answer scale for {', '.join(map(repr, missing))}",
                                argument="scale", value=dict(scale),
                                fix="give (min, max) for every driver, or one (min, max) "
                                    "for all")
        pairs = [scale[d] for d in drivers]
    else:
        pairs = [scale] * len(drivers)
    out = []
    for d, pair in zip(drivers, pairs):
        try:
            lo, hi = (float(v) for v in pair)
        except (TypeError, ValueError):
            raise VariableError(f"the answer scale of {d!r} must be a pair (min, max)",
                                argument="scale", value=pair, fix="give e.g. (1, 10)") from None
        if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
            raise VariableError(f"the answer scale of {d!r} must have min < max",
                                argument="scale", value=pair, fix="give e.g. (1, 10)")
        out.append((lo, hi))
    arr = np.array(out)
    return arr[:, 0], arr[:, 1]


def _designs(design, replicates, replicate_method: str, seed):
    """The full-sample design (for its data and weights) and the replicate design."""
    if hasattr(design, "replicate_weights"):
        if not hasattr(design, "data"):
            raise SurveyError("this replicate design does not expose its data",
                              argument="design", value=design.describe(),
                              fix="pass the full-sample SurveyDesign as design and the "
                                  "replicate design as replicates=")
        return design, design
    if not hasattr(design, "replicate"):
        raise SurveyError("design must be a SurveyDesign or a ReplicateDesign",
                          argument="design", value=type(design).__name__,
                          fix="build one with analysis.SurveyDesign(data, weights=...)")
    if hasattr(replicates, "replicate_weights"):
        return design, replicates
    if isinstance(replicates, (bool, np.bool_)) or not isinstance(replicates, (int, np.integer)) \
            or replicates < 2:
        raise SurveyError("replicates must be a ReplicateDesign of this design or a number "
                          "of replicates (at least 2)", argument="replicates", value=replicates,
                          fix="pass e.g. replicates=200 or design.replicate('jkn')")
    return design, design.replicate(replicate_method, replicates=int(replicates), seed=seed)


def _numeric(data: pd.DataFrame, column: str, argument: str) -> np.ndarray:
    if column not in data.columns:
        raise VariableError(f"column {column!r} is not in the data", argument=argument,
                            value=column, fix="use one of the columns: "
                                              + ", ".join(map(str, data.columns[:30])))
    s = data[column]
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
        return s.to_numpy(dtype=float, na_value=np.nan)
    raise VariableError(f"column {column!r} is not numeric", argument=argument,
                        value=str(s.dtype), fix="convert the answers to numbers (scale points)")


def _check_range(X: np.ndarray, drivers, lows, highs) -> None:
    for j, d in enumerate(drivers):
        out = (X[:, j] < lows[j]) | (X[:, j] > highs[j])
        if out.any():
            values = sorted(set(X[out, j].tolist()))[:5]
            raise VariableError(f"driver {d!r} has {int(out.sum())} values outside its answer "
                                f"scale {lows[j]:g} to {highs[j]:g}", argument="scale",
                                value=values, fix="recode codes such as 'don't know' to "
                                                  "missing, or give the right scale")


def _check_variances(cov: np.ndarray, names) -> None:
    for j, name in enumerate(names):
        if not cov[j, j] > 0:
            what = "the outcome" if j == 0 else "driver"
            raise VariableError(f"{what} {name!r} has the same value for every respondent",
                                argument="outcome" if j == 0 else "drivers", value=name,
                                fix="leave out a variable that does not vary")


def _check_collinear(Rxx: np.ndarray, eig: np.ndarray, drivers) -> None:
    if eig[0] >= _COLLINEAR_TOL:
        return
    vals, vecs = np.linalg.eigh(Rxx)
    v = vecs[:, 0]
    involved = [d for d, c in zip(drivers, v) if abs(c) > 1e-6 * np.abs(v).max()]
    raise VariableError("drivers " + ", ".join(map(repr, involved)) + " are perfectly "
                        "collinear (one is an exact linear combination of the others), so "
                        "their importance cannot be separated", argument="drivers",
                        value=list(drivers),
                        fix=f"drop one of {', '.join(map(repr, involved))} or combine them "
                            "into one index")


# Computation -----------------------------------------------------------------------------
def _weighted_moments(X: np.ndarray, valid: np.ndarray, w: np.ndarray,
                      rw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted means (B, k) and covariances (B, k, k) of the ``valid`` rows of ``X``, for
    the full-sample weights ``w`` (first) and each replicate weight column of ``rw``.

    Centred first at the full-sample weighted mean, for accuracy; all replicates cost one
    matrix product of the replicate weights with the centred columns and their pairwise
    products (zero on rows that are not ``valid``).
    """
    k = X.shape[1]
    iu, ju = np.triu_indices(k)
    wv = np.where(valid, w, 0.0)
    Xv = np.where(valid[:, None], X, 0.0)
    centre = Xv.T @ wv / wv.sum()
    Xc = np.where(valid[:, None], X - centre, 0.0)
    Z = np.column_stack([valid.astype(float), Xc, Xc[:, iu] * Xc[:, ju]])
    sums = np.vstack([wv @ Z, rw.T @ Z])                       # (B, 1 + k + pairs)
    m1 = sums[:, 1:k + 1] / sums[:, :1]
    m2 = sums[:, k + 1:] / sums[:, :1]
    cov = np.empty((sums.shape[0], k, k))
    cov[:, iu, ju] = m2 - m1[:, iu] * m1[:, ju]
    cov[:, ju, iu] = cov[:, iu, ju]
    return m1 + centre, cov


def _subset_r2(Rxx: np.ndarray, rxy: np.ndarray) -> np.ndarray:
    """R² of every subset of drivers, (B, 2**p), column ``mask`` = drivers of its bits.

    R² of ``S`` = ``r_S' R_SS^-1 r_S``; subsets of one size are solved in one batch.
    """
    B, p = rxy.shape
    out = np.zeros((B, 2 ** p))
    for size in range(1, p + 1):
        idx = np.array(list(combinations(range(p), size)))           # (C, size)
        masks = (1 << idx).sum(axis=1)
        R = Rxx[:, idx[:, :, None], idx[:, None, :]]                   # (B, C, s, s)
        r = rxy[:, idx]                                                # (B, C, s)
        out[:, masks] = np.einsum("bcs,bcs->bc", r, np.linalg.solve(R, r[..., None])[..., 0])
    return out


def _shapley_matrix(p: int) -> np.ndarray:
    """``A`` (2**p, p) with ``R2 @ A`` the LMG values: ``sum_S w(|S|) (R2(S+j) - R2(S))`` over
    the subsets ``S`` without ``j``, ``w(s) = s! (p - s - 1)! / p!``."""
    A = np.zeros((2 ** p, p))
    weight = [factorial(s) * factorial(p - s - 1) / factorial(p) for s in range(p)]
    for mask in range(2 ** p):
        s = bin(mask).count("1")
        for j in range(p):
            if not mask >> j & 1:
                A[mask | 1 << j, j] += weight[s]
                A[mask, j] -= weight[s]
    return A


def _relative_weights(Rxx: np.ndarray, rxy: np.ndarray) -> np.ndarray:
    """Johnson's (2000) relative weights, (B, p): ``Lambda = V D^1/2 V'`` relates the drivers
    to their closest orthogonal counterparts, ``beta = Lambda^-1 r``, weights
    ``Lambda^2 beta^2``."""
    vals, vecs = np.linalg.eigh(Rxx)
    lam = np.einsum("bij,bj,bkj->bik", vecs, np.sqrt(vals), vecs)
    beta = np.einsum("bij,bj,bkj,bk->bi", vecs, 1 / np.sqrt(vals), vecs, rxy)
    return np.einsum("bij,bj->bi", lam ** 2, beta ** 2)


def _replicate_variance(thetas: np.ndarray, full: np.ndarray, rep) -> np.ndarray:
    """R's ``svrVar`` with the replicate design's ``scale``, ``rscales`` and ``mse``: ``thetas``
    is (replicates, K).  Same formula as the design's own estimators use."""
    rscales = np.asarray(rep.rscales, dtype=float)
    centre = full if rep.mse else thetas[rscales > 0].mean(axis=0)
    dev = thetas - centre[None, :]
    return float(rep.scale) * (rscales[:, None] * dev * dev).sum(axis=0)
