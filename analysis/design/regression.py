"""Design-based generalised linear models, as R's ``svyglm``.

The model is fitted by iteratively reweighted least squares exactly as R's ``glm.fit``
(same starting values, step, convergence rule ``|dev - dev_old| / (|dev| + 0.1) < 1e-8``,
at most 25 iterations) with the design weights rescaled to mean 1 as prior weights, so that
the coefficients agree with R's to rounding.  The variance of the coefficients is

* linearised (:class:`GLMStatistic` ``.scores``): R's ``svy.varcoef``, the design variance
  (``svyrecvar``: calibration residuals, PSU totals, strata, fpc, every stage) of the
  estimating-function influence values ``x_i w_i (y_i - mu_i) mu'_i / V(mu_i)`` times the
  inverse information ``(X' W X)^{-1}`` of the last IRLS step;
* from replicates (:class:`GLMStatistic` ``.at``): the model refitted in every replicate,
  starting at the full-sample coefficients, as R's ``svyglm.svyrep.design``.

The residual degrees of freedom are R's ``degf(design) + 1 - p``; t statistics, p-values
and Wald intervals use Student t on them (``summary.svyglm``, ``confint.svyglm``).  The
dispersion reported is that of ``summary.svyglm``: ``svyvar`` of the Pearson residuals.
With ``family="binomial"`` the standard errors are the design-based ones, identical to
``"quasibinomial"`` (R's ``svyglm`` never uses the binomial's dispersion of 1).

Formulas are read by :mod:`formulaic`; character, boolean and categorical columns are
factors with R's treatment contrasts: the first level (category order of a pandas
Categorical, else sorted values) is the reference, levels absent from the rows used are
dropped, and coefficients are named as R names them (``stypeH``, ``(Intercept)``).

Depends on :mod:`analysis.errors`, :mod:`analysis._ci` and :mod:`.structure` (the column
list of messages); the estimator layer (:mod:`.estimators`) gives the design's engine.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats
from scipy.linalg import cho_solve
from threadpoolctl import threadpool_limits

from .._ci import wald_ci
from ..errors import VariableError
from .structure import column_list

__all__ = ["FAMILIES", "ModelFrame", "GLMFit", "GLMStatistic", "RegressionResult",
           "model_frame", "irls", "fit_glm", "first_stage_df"]

Family = Literal["gaussian", "binomial", "quasibinomial", "poisson"]
FAMILIES: tuple[str, ...] = ("gaussian", "binomial", "quasibinomial", "poisson")

_EPS = np.finfo(float).eps
_THRESH = 30.0          # R's logit link: exp() is clamped beyond |eta| > 30
_MAXIT = 25             # glm.control()
_EPSILON = 1e-8


# Families (R's family objects: link, inverse link, d mu / d eta, variance, deviance) -------
class _Gaussian:
    name = "gaussian"

    @staticmethod
    def linkfun(mu):
        return mu

    @staticmethod
    def linkinv(eta):
        return eta

    @staticmethod
    def mu_eta(eta):
        return np.ones_like(eta)

    @staticmethod
    def variance(mu):
        return np.ones_like(mu)

    @staticmethod
    def dev_resids(y, mu, wt):
        return wt * (y - mu) ** 2

    @staticmethod
    def mustart(y, wt):
        return y.copy()

    @staticmethod
    def valid(mu):
        return True


class _Binomial:
    """Logit link with R's C-level clamping (``logit_linkinv``, ``logit_mu_eta``)."""

    name = "binomial"

    @staticmethod
    def linkfun(mu):
        return np.log(mu / (1 - mu))

    @staticmethod
    def linkinv(eta):
        with np.errstate(over="ignore"):
            tmp = np.where(eta < -_THRESH, _EPS, np.where(eta > _THRESH, 1 / _EPS, np.exp(eta)))
        return tmp / (1 + tmp)

    @staticmethod
    def mu_eta(eta):
        with np.errstate(over="ignore", invalid="ignore"):
            e = np.exp(eta)
            opexp = 1 + e
            return np.where((eta > _THRESH) | (eta < -_THRESH), _EPS, e / (opexp * opexp))

    @staticmethod
    def variance(mu):
        return mu * (1 - mu)

    @staticmethod
    def dev_resids(y, mu, wt):
        with np.errstate(divide="ignore", invalid="ignore"):
            a = np.where(y != 0, y * np.log(y / mu), 0.0)
            b = np.where(1 - y != 0, (1 - y) * np.log((1 - y) / (1 - mu)), 0.0)
        return 2 * wt * (a + b)

    @staticmethod
    def mustart(y, wt):
        return (wt * y + 0.5) / (wt + 1)

    @staticmethod
    def valid(mu):
        return bool(np.all(np.isfinite(mu)) and np.all((mu > 0) & (mu < 1)))


class _Poisson:
    name = "poisson"

    @staticmethod
    def linkfun(mu):
        return np.log(mu)

    @staticmethod
    def linkinv(eta):
        with np.errstate(over="ignore"):
            return np.maximum(np.exp(eta), _EPS)

    mu_eta = linkinv

    @staticmethod
    def variance(mu):
        return mu

    @staticmethod
    def dev_resids(y, mu, wt):
        r = mu * wt
        pos = y > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(pos, wt * (y * np.log(np.where(pos, y, 1.0) / mu) - (y - mu)), r)
        return 2 * r

    @staticmethod
    def mustart(y, wt):
        return y + 0.1

    @staticmethod
    def valid(mu):
        return bool(np.all(np.isfinite(mu)) and np.all(mu > 0))


_FAMILY = {"gaussian": _Gaussian, "binomial": _Binomial, "quasibinomial": _Binomial,
           "poisson": _Poisson}


# IRLS (R's glm.fit) ---------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class GLMFit:
    """One IRLS fit: coefficients and what ``svy.varcoef`` needs from R's glm object."""

    coef: np.ndarray          # (p,)
    mu: np.ndarray            # (n,) fitted means
    resid: np.ndarray         # (n,) working residuals (y - mu) / mu'(eta)
    wt: np.ndarray            # (n,) working weights of the last iteration (0 where not used)
    ainv: np.ndarray          # (p, p) (X' W X)^{-1} of the last iteration (cov.unscaled)
    converged: bool
    iterations: int


def irls(X: np.ndarray, y: np.ndarray, prior: np.ndarray, family: str,
         start: np.ndarray | None = None) -> GLMFit:
    """R's ``glm.fit(X, y, weights = prior, start = start, family = family)``.

    Parameters
    ----------
    X : ndarray (n, p)
        Model matrix of full column rank.
    y : ndarray (n,)
        Response.
    prior : ndarray (n,)
        Prior weights (rows of weight 0 do not enter the fit).
    family : str
        One of :data:`FAMILIES`.
    start : ndarray, optional
        Starting coefficients (R: ``start``); else the family's starting means.
    """
    fam = _FAMILY[family]
    if fam is _Binomial:            # R's binomial()$initialize: y <- 0 where the weight is 0
        y = np.where(prior == 0, 0.0, y)
    if start is None:
        coefold = None
        eta = fam.linkfun(fam.mustart(y, prior))
    else:
        coefold = np.asarray(start, dtype=float)
        eta = X @ coefold
    mu = fam.linkinv(eta)
    devold = float(np.sum(fam.dev_resids(y, mu, prior)))
    converged = False
    coef = coefold
    good = w2 = R = None
    iteration = 0
    for iteration in range(1, _MAXIT + 1):
        mu_eta = fam.mu_eta(eta)
        good = (prior > 0) & (mu_eta != 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            w2 = np.where(good, prior * mu_eta ** 2 / fam.variance(mu), 0.0)
            z = np.where(good, eta + (y - mu) / mu_eta, 0.0)
        # weighted least squares by the normal equations (the same solution as R's QR, to
        # rounding, for the full-rank matrices check_model lets through)
        xtwx = (X * w2[:, None]).T @ X
        R = np.linalg.cholesky(xtwx).T            # xtwx = R'R, as R's QR gives R
        start_new = cho_solve((R, False), X.T @ (w2 * z))
        eta = X @ start_new
        mu = fam.linkinv(eta)
        dev = float(np.sum(fam.dev_resids(y, mu, prior)))
        # R halves the step back towards the previous coefficients while the deviance is
        # infinite or the means are invalid
        halvings = 0
        while (not np.isfinite(dev) or not fam.valid(mu)) and coefold is not None \
                and halvings < _MAXIT:
            halvings += 1
            start_new = (start_new + coefold) / 2
            eta = X @ start_new
            mu = fam.linkinv(eta)
            dev = float(np.sum(fam.dev_resids(y, mu, prior)))
        coef = start_new
        if abs(dev - devold) / (abs(dev) + 0.1) < _EPSILON:
            converged = True
            break
        devold = dev
        coefold = start_new
    wt = w2
    with np.errstate(divide="ignore", invalid="ignore"):
        resid = (y - mu) / fam.mu_eta(eta)
    rinv = np.linalg.inv(R)
    return GLMFit(coef, mu, resid, wt, rinv @ rinv.T, converged, iteration)


# Model frame from a formula -----------------------------------------------------------
@dataclass(frozen=True, eq=False)
class ModelFrame:
    """The rows a model uses and its design matrix (R: ``model.frame``/``model.matrix``)."""

    X: np.ndarray           # (m, p) model matrix of the rows used
    y: np.ndarray           # (m,) response
    names: tuple            # p coefficient names, as R names them
    rows: np.ndarray        # (n,) bool: the design's rows the model uses (complete cases)
    response: str


def _r_levels(s: pd.Series) -> list:
    """R's factor levels of a column among the given rows: category order of a pandas
    Categorical (unused categories dropped, as ``glm``'s ``drop.unused.levels``), else the
    sorted values."""
    present = pd.unique(s.dropna())
    if isinstance(s.dtype, pd.CategoricalDtype):
        keep = set(present)
        return [c for c in s.cat.categories if c in keep]
    try:
        return sorted(present)
    except TypeError:                       # mixed types: compare as text
        return sorted(present, key=str)


def _is_factor(s: pd.Series) -> bool:
    return (isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(s.dtype)
            or not pd.api.types.is_numeric_dtype(s.dtype))


def _level_text(level) -> str:
    if isinstance(level, (bool, np.bool_)):
        return "TRUE" if level else "FALSE"
    return str(level)


def _formula_columns(formula: str, required, data: pd.DataFrame) -> list[str]:
    """The data columns a formula names.  formulaic reads ``sch.wide`` as the name
    ``sch.wide`` but lists ``sch`` among its variables: such names are found in the text."""
    columns = set(map(str, data.columns))
    used = []
    for name in sorted(required):
        if name in columns:
            used.append(name)
            continue
        dotted = [m.group(0) for m in re.finditer(
            rf"(?<![\w.]){re.escape(name)}(?:\.[\w.]*\w)", formula) if m.group(0) in columns]
        if not dotted:
            raise VariableError(f"column {name!r} is not in the data", argument="formula",
                                value=formula,
                                fix=f"name columns of the data: {column_list(data)}")
        used.extend(dotted)
    return sorted(set(used))


def model_frame(data: pd.DataFrame, formula: str) -> ModelFrame:
    """Read ``formula`` (``"y ~ x1 + x2"``, formulaic syntax) on ``data``: the complete
    cases, the model matrix with R's treatment contrasts and R's coefficient names."""
    from formulaic import Formula, model_matrix
    from formulaic.errors import FormulaicError

    if not isinstance(formula, str) or "~" not in formula:
        raise VariableError("the formula must be a text 'response ~ predictors'",
                            argument="formula", value=formula,
                            fix="write e.g. 'api00 ~ ell + meals + stype'")
    try:
        parsed = Formula(formula)
        required = parsed.required_variables
    except FormulaicError as exc:
        raise VariableError(f"the formula cannot be read ({exc})", argument="formula",
                            value=formula, fix="write e.g. 'y ~ x1 + x2'") from None
    columns = _formula_columns(formula, required, data)
    frame = data[columns]
    rows = frame.notna().all(axis=1).to_numpy()
    sub = frame[rows].copy()
    rename = {}
    for col in columns:
        if _is_factor(sub[col]):
            levels = _r_levels(sub[col])
            sub[col] = pd.Categorical(sub[col], categories=levels)
            for lev in levels:     # treatment and full dummy coding: R's "<column><level>"
                rename[f"{col}[T.{lev}]"] = rename[f"{col}[{lev}]"] = f"{col}{_level_text(lev)}"
    try:
        mm = model_matrix(formula, sub, na_action="raise")
    except FormulaicError as exc:
        raise VariableError(f"the formula cannot be evaluated on the data ({exc})",
                            argument="formula", value=formula,
                            fix="check the names and functions in the formula") from None
    if not hasattr(mm, "lhs") or mm.lhs.shape[1] != 1:
        raise VariableError("the formula needs one numeric response left of '~'",
                            argument="formula", value=formula,
                            fix="put a numeric column (0/1 for a logistic model) before '~'")
    response = str(mm.lhs.columns[0])
    X = np.asarray(mm.rhs, dtype=float)
    y = np.asarray(mm.lhs, dtype=float)[:, 0]
    if X.shape[0] != int(rows.sum()):        # a transform dropped or added rows
        raise VariableError("the formula's terms do not give one value per row",
                            argument="formula", value=formula, fix="use row-wise terms")
    if not (np.isfinite(X).all() and np.isfinite(y).all()):
        raise VariableError("the formula gives infinite or missing values",
                            argument="formula", value=formula,
                            fix="check transformations such as log() of zero")
    names = []
    for name in map(str, mm.rhs.columns):
        if name == "Intercept":
            names.append("(Intercept)")
            continue
        for key in sorted(rename, key=len, reverse=True):
            name = name.replace(key, rename[key])
        names.append(re.sub(r"\[T\.([^\]]*)\]", r"\1", name))    # C(x)[T.b] -> C(x)b
    return ModelFrame(X, y, tuple(names), rows, response)


def _aliased_columns(X: np.ndarray, w: np.ndarray) -> list[int]:
    """Columns of ``X`` (rows weighted by ``w``) that are, to 1e-7 of their norm, linear
    combinations of the columns before them: where R's QR gives a diagonal element
    ``|R[j, j]| < 1e-7 * ||x_j||``.  ``R[j, j]^2`` is the pivot of the Cholesky factorisation
    of the weighted cross products, so one product over the rows replaces the QR."""
    n, p = X.shape
    if n < p:
        return list(range(p))
    G = (X * w[:, None]).T @ X
    norms = np.sqrt(np.clip(np.diag(G), 0, None))
    scaled = G / np.outer(np.where(norms > 0, norms, 1.0), np.where(norms > 0, norms, 1.0))
    L = np.zeros((p, p))
    aliased = []
    for j in range(p):
        pivot = scaled[j, j] - L[j, :j] @ L[j, :j]
        if norms[j] == 0 or pivot < 1e-14:      # (1e-7)^2: R's tolerance on |R[j, j]| / ||x_j||
            aliased.append(j)
            continue
        L[j, j] = np.sqrt(pivot)
        L[j + 1:, j] = (scaled[j + 1:, j] - L[j + 1:, :j] @ L[j, :j]) / L[j, j]
    return aliased


def check_model(frame: ModelFrame, w: np.ndarray, family: str, formula: str) -> None:
    """A response the family accepts and a model matrix of full rank (R would give NA
    coefficients for aliased columns: name them)."""
    y, X = frame.y, frame.X
    pos = w > 0
    if not pos.any():
        raise VariableError("no row with positive weight has values for every variable of "
                            "the model", argument="formula", value=formula,
                            fix="check the variables for missing values")
    if family in ("binomial", "quasibinomial") and ((y[pos] < 0) | (y[pos] > 1)).any():
        raise VariableError(f"the response of a {family} model must lie in [0, 1]",
                            argument="formula", value=formula,
                            fix="use a 0/1 (or proportion) response, or family='gaussian'")
    if family == "poisson" and (y[pos] < 0).any():
        raise VariableError("the response of a poisson model cannot be negative",
                            argument="formula", value=formula, fix="use counts >= 0")
    aliased = [frame.names[j] for j in _aliased_columns(X[pos], w[pos])]
    if aliased:
        raise VariableError("the model's columns are linearly dependent (R gives NA for "
                            f"{', '.join(aliased)})", argument="formula", value=formula,
                            fix="drop the redundant terms or merge categories")


# The statistic given to the variance engines ------------------------------------------
class GLMStatistic:
    """A GLM's coefficients as a function of the weights (see :mod:`.statistic`).

    ``at(W)`` refits the model at every column of ``W`` from the full-sample coefficients
    with the weights scaled to sum 1 (R's ``svyglm.svyrep.design``); the full-sample
    weights give the full-sample fit.  ``scores(w)`` are R's ``estfun %*% Ainv``.
    """

    def __init__(self, frame: ModelFrame, w: np.ndarray, family: str) -> None:
        self.frame = frame
        self.family = family
        self.w = w
        # R: prior weights = design weights / their mean over the design's rows
        self.fit = irls(frame.X, frame.y, w[frame.rows] / w.mean(), family)
        self.replicate_failures = 0

    def at(self, W: np.ndarray) -> np.ndarray:
        W = np.asarray(W, dtype=float)
        if W.ndim == 1:
            W = W[:, None]
        out = np.empty((len(self.fit.coef), W.shape[1]))
        rows = self.frame.rows
        for j in range(W.shape[1]):
            wj = W[:, j]
            if np.array_equal(wj, self.w):
                out[:, j] = self.fit.coef
                continue
            wr = wj[rows]
            fit = irls(self.frame.X, self.frame.y, wr / wr.sum(), self.family,
                       start=self.fit.coef)
            self.replicate_failures += not fit.converged
            out[:, j] = fit.coef
        return out

    def scores(self, w: np.ndarray) -> np.ndarray:
        fit = self.fit
        estfun = self.frame.X * (fit.resid * fit.wt)[:, None]
        out = np.zeros((len(self.frame.rows), len(fit.coef)))
        out[self.frame.rows] = estfun @ fit.ainv
        return out

    def dispersion(self, linearised: bool, calibrated: bool) -> float:
        """``summary.svyglm``'s dispersion: ``svyvar`` of R's Pearson residuals
        (``residuals.svyglm``) over the rows used; replicate designs
        (``summary.svrepglm``): the weighted mean of the squared residuals
        (``residuals.svrepglm``).

        R divides the prior weights by the weights of the design left after dropping the
        incomplete rows, rescaled (linearised: to mean 1 over that design's rows, which keep
        every row when it is calibrated; replicates: to sum 1), so the residuals are the
        plain Pearson residuals times a constant.
        """
        fit, rows = self.fit, self.frame.rows
        fam = _FAMILY[self.family]
        wr = self.w[rows]
        with np.errstate(divide="ignore", invalid="ignore"):
            r = (self.frame.y - fit.mu) / np.sqrt(fam.variance(fit.mu))
        if not linearised:
            return float(np.sum(wr * r * r) * wr.sum() / self.w.mean() / wr.sum())
        n_design = len(rows) if calibrated else int(rows.sum())
        r = r * np.sqrt(wr.sum() / n_design / self.w.mean())
        n = np.count_nonzero(wr)             # svyvar: rows of non-zero weight
        rbar = np.sum(wr * r) / wr.sum()
        return float(np.sum(wr * (r - rbar) ** 2) * n / (n - 1) / wr.sum())


def first_stage_df(structure, rows: np.ndarray) -> int:
    """PSUs minus strata among ``rows`` (R: ``degf`` of the design restricted to them)."""
    st = structure.stages[0]
    n_psu = np.count_nonzero(np.bincount(st.unit[rows], minlength=st.n_units))
    n_str = np.count_nonzero(np.bincount(structure.stratum[rows],
                                         minlength=len(structure.strata_labels)))
    return int(n_psu - n_str)


# Result ---------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class RegressionResult:
    """A design-based GLM (R: ``svyglm``): frozen coefficient table and covariance.

    Attributes
    ----------
    formula, family : str
    response : str
        The response column.
    level : float
        Confidence level of ``ci_low``/``ci_high``.
    df : int
        Residual degrees of freedom, R's ``degf(design) + 1 - p``.
    dispersion : float
        ``summary.svyglm``'s dispersion (``svyvar`` of the Pearson residuals).
    n : int
        Rows used (complete cases of the model's variables, zero weights included).
    variance, design : str
        The variance method and the design's description.
    notes : tuple of str
    """

    formula: str
    family: str
    response: str
    level: float
    df: int
    dispersion: float
    n: int
    variance: str
    design: str
    _table: pd.DataFrame = field(repr=False)
    _vcov: pd.DataFrame = field(repr=False)
    notes: tuple = ()

    def to_frame(self) -> pd.DataFrame:
        """One row per coefficient (R's names): ``coef, se, t, df, p, ci_low, ci_high``."""
        return self._table.copy()

    def vcov(self) -> pd.DataFrame:
        """The coefficients' covariance matrix (R: ``vcov(svyglm(...))``)."""
        return self._vcov.copy()

    @property
    def coef(self) -> pd.Series:
        """The coefficients by name."""
        return self._table["coef"].copy()

    def summary(self, digits: int = 4) -> str:
        """The model as text (never prints), like R's ``summary(svyglm(...))``."""
        lines = [f"design-based {self.family} regression: {self.formula}",
                 f"design: {self.design}",
                 f"variance: {self.variance}; {self.n} rows used; residual df {self.df}; "
                 f"{int(round(self.level * 100))}% Wald intervals (Student t)"]
        with pd.option_context("display.width", 200, "display.max_columns", 20,
                               "display.float_format", lambda v: f"{v:.{digits}g}"):
            lines.append(self._table.to_string())
        lines.append(f"dispersion: {self.dispersion:.{digits}g}")
        lines.extend(f"note: {note}" for note in self.notes)
        return "\n".join(lines)


def coefficient_table(names, coef, V, df: int, level: float) -> pd.DataFrame:
    """``coef, se, t, df, p, ci_low, ci_high`` as ``summary.svyglm`` and ``confint.svyglm``
    (Student t on ``df``; NaN when ``df <= 0``)."""
    se = np.sqrt(np.diag(V))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = coef / se
    dfs = np.full(len(coef), float(df))
    p = 2 * stats.t.sf(np.abs(t), df) if df > 0 else np.full(len(coef), np.nan)
    low, high = wald_ci(coef, se, dfs, level)
    return pd.DataFrame({"coef": coef, "se": se, "t": t, "df": np.full(len(coef), df),
                         "p": p, "ci_low": low, "ci_high": high},
                        index=pd.Index(list(names), name="term"))


def fit_glm(frame: ModelFrame, w: np.ndarray, family: str, vcov_of, *, design_df: int,
            linearised: bool, calibrated: bool, level: float, formula: str, variance: str,
            design: str) -> RegressionResult:
    """Fit the model on the design's weights and form its result; ``vcov_of`` is the
    design's ``Estimators.vcov_of``."""
    # One BLAS thread: the QR of every IRLS step is small, and a second thread waiting for
    # a busy core makes it 20 times slower
    with threadpool_limits(limits=1, user_api="blas"):
        check_model(frame, w[frame.rows], family, formula)
        stat = GLMStatistic(frame, w, family)
        _, V = vcov_of(stat)
    p = len(frame.names)
    df = design_df + 1 - p
    notes = []
    if not stat.fit.converged:
        notes.append(f"the fit did not converge in {_MAXIT} iterations (R warns likewise)")
    if stat.replicate_failures:
        notes.append(f"{stat.replicate_failures} replicate fits did not converge in "
                     f"{_MAXIT} iterations")
    table = coefficient_table(frame.names, stat.fit.coef, V, df, level)
    vcov = pd.DataFrame(V, index=list(frame.names), columns=list(frame.names))
    return RegressionResult(formula, family, frame.response, level, df,
                            stat.dispersion(linearised, calibrated), int(frame.rows.sum()),
                            variance, design, table, vcov, tuple(notes))
