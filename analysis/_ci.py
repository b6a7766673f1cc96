"""Confidence intervals for proportions, as R's ``svyciprop`` forms them (and Wilson).

All functions are vectorised over domains: ``p``, ``var``, ``df`` ... are arrays with one
entry per domain.  The quantile is Student t on the design degrees of freedom, as in
``svyciprop``.  Internal module: use :meth:`analysis.SurveyDesign.proportion`.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats
from scipy.special import betaincinv, expit, logit

CI_METHODS = ("logit", "beta", "mean", "asin", "likelihood", "wilson")


_T_CACHE: dict = {}
_T_CACHE_SIZE = 256
# shared by every session of the app (and any threads): eviction and insertion under one lock
_T_CACHE_LOCK = threading.Lock()


def t_quantile(level: float, df: np.ndarray) -> np.ndarray:
    """``qt(1 - (1 - level)/2, df)``; NaN where ``df <= 0``.

    Remembered for recent ``(level, df)``: a table asks for the same domains' quantiles once
    per variable, and scipy's ``t.ppf`` costs far more than the rest of an interval.
    """
    df = np.asarray(df, dtype=float)
    key = (level, df.shape, df.tobytes())
    out = _T_CACHE.get(key)
    if out is None:
        out = np.full(df.shape, np.nan)
        ok = df > 0
        out[ok] = stats.t.ppf(1 - (1 - level) / 2, df[ok])
        out.flags.writeable = False
        with _T_CACHE_LOCK:
            while len(_T_CACHE) >= _T_CACHE_SIZE:
                _T_CACHE.pop(next(iter(_T_CACHE)), None)
            _T_CACHE[key] = out
    return out


def wald_ci(estimate, se, df, level):
    """``estimate -/+ qt * se`` (R: ``confint(est, df = degf(des))``)."""
    q = t_quantile(level, df)
    return estimate - q * se, estimate + q * se


@dataclass
class LikelihoodInputs:
    """Per-domain quantities of R's ``confint(svyglm(y ~ 1, family=quasibinomial),
    method = "likelihood")``, with R's rescaled prior weights ``w' = w / mean(w)``.

    ``first_*`` are the sums of R's first IRLS iteration, which starts from the per-row
    ``mustart = (w' y + 0.5)/(w' + 1)``; the later iterations are scalar.  The naive
    covariance R uses (``summary.glm(fit)$cov.unscaled``) comes from the working weights of
    the last iteration, so the IRLS path is replayed exactly.
    """

    w1: np.ndarray            # sum of w' y
    w0: np.ndarray            # sum of w' (1 - y)
    first_s0: np.ndarray      # sum of w' m (1 - m), m = mustart
    first_s1: np.ndarray      # sum of w' m (1 - m) z, z = logit(m) + (y - m)/(m (1 - m))
    first_dev: np.ndarray     # deviance at mustart
    dispersion: np.ndarray    # summary.svyglm dispersion (svyvar of Pearson residuals)
    n_model_rows: np.ndarray  # NROW(Y): rows in the glm's model frame


def proportion_ci(method: str, p: np.ndarray, var: np.ndarray, df: np.ndarray, level: float,
                  *, n_design_rows: np.ndarray, n_kish: np.ndarray,
                  lik: LikelihoodInputs | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Confidence limits for proportions ``p`` with design variances ``var``.

    Parameters
    ----------
    method : str
        ``logit`` (R's default), ``beta`` (Korn-Graubard), ``mean`` (Wald), ``asin``,
        ``likelihood`` (Rao-Scott scaled profile likelihood) or ``wilson`` (Wilson score
        interval with the design effective sample size ``p(1-p)/var``).
    p, var, df : ndarray
        Estimates, their design variances and design degrees of freedom, per domain.
    level : float
        Confidence level.
    n_design_rows : ndarray
        ``nrow(design)`` of each domain's design as R sees it (used by ``beta``).
    n_kish : ndarray
        Kish effective sample sizes, used when ``p`` is 0 or 1 (where the design variance is
        zero and every design-based method degenerates): the interval is then the
        Clopper-Pearson interval for ``n_kish`` observations (Wilson's for ``wilson``), so it
        never collapses to zero width.
    lik : LikelihoodInputs, optional
        Needed by ``likelihood``.

    Returns
    -------
    (low, high, notes)
    """
    p = np.asarray(p, dtype=float)
    var = np.asarray(var, dtype=float)
    df = np.asarray(df, dtype=float)
    se = np.sqrt(var)
    alpha = 1 - level
    q = t_quantile(level, df)
    low = np.full(p.shape, np.nan)
    high = np.full(p.shape, np.nan)
    notes: list[str] = []
    # A variance at rounding level (an SRS-equivalent n of 1e12 or more, e.g. after raking)
    # counts as zero: it would otherwise make the beta interval's n_eff astronomically large.
    with np.errstate(invalid="ignore"):
        negligible = np.isfinite(var) & (var <= p * (1 - p) * 1e-12)
    interior = (p > 0) & (p < 1) & ~negligible & np.isfinite(var)
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "mean":
            low, high = p - q * se, p + q * se
        elif method == "logit":
            eta = logit(p)
            se_eta = se / (p * (1 - p))
            low, high = expit(eta - q * se_eta), expit(eta + q * se_eta)
        elif method == "asin":
            m = np.arcsin(np.sqrt(p))
            se_m = se / (2 * np.sqrt(p * (1 - p)))
            # Clamp the transformed limits to [0, pi/2] (R's sin()^2 would fold them back).
            low = np.sin(np.clip(m - q * se_m, 0, np.pi / 2)) ** 2
            high = np.sin(np.clip(m + q * se_m, 0, np.pi / 2)) ** 2
        elif method == "beta":
            n_eff = p * (1 - p) / var
            q_rows = stats.t.ppf(alpha / 2, np.asarray(n_design_rows, dtype=float) - 1)
            q_df = np.where(df > 0, stats.t.ppf(alpha / 2, np.where(df > 0, df, 1)), np.nan)
            n_eff = n_eff * (q_rows / q_df) ** 2
            # Zero variance makes n_eff infinite (scipy's beta overflows); handled below.
            usable = interior & np.isfinite(n_eff)
            low[usable] = stats.beta.ppf(alpha / 2, n_eff[usable] * p[usable], n_eff[usable] * (1 - p[usable]) + 1)
            high[usable] = stats.beta.ppf(1 - alpha / 2, n_eff[usable] * p[usable] + 1,
                                          n_eff[usable] * (1 - p[usable]))
        elif method == "wilson":
            n_eff = p * (1 - p) / var
            low, high = _wilson(p, n_eff, q)
        elif method == "likelihood":
            if lik is None:  # pragma: no cover - internal misuse
                raise RuntimeError("likelihood intervals need LikelihoodInputs")
            for i in np.flatnonzero(interior & (df > 0)):
                low[i], high[i] = _likelihood_one(
                    p[i], var[i], df[i], level, lik.w1[i], lik.w0[i], lik.first_s0[i],
                    lik.first_s1[i], lik.first_dev[i], lik.dispersion[i], lik.n_model_rows[i])
            failed = interior & (df > 0) & (np.isnan(low) | np.isnan(high))
            if failed.any():
                notes.append(f"the likelihood profile could not be solved for {int(failed.sum())}"
                             " estimate(s) (limits left empty): use ci_method='logit' there")
        else:  # pragma: no cover - validated by the caller
            raise ValueError(method)

    # A proportion inside (0, 1) with zero variance (e.g. identical PSU means): every method's
    # interval shrinks to the estimate itself.
    zero_var = (p > 0) & (p < 1) & negligible & (df > 0)
    low, high = np.where(zero_var, p, low), np.where(zero_var, p, high)

    edge = ((p <= 0) | (p >= 1)) & np.isfinite(p) & (df > 0)
    if edge.any():
        n_k = np.asarray(n_kish, dtype=float)[edge]
        pe = p[edge]
        if method == "wilson":
            lo_e, hi_e = _wilson(pe, n_k, q[edge])
            # exactly 0 (1) in exact arithmetic; rounding could leave the estimate outside
            lo_e, hi_e = np.where(pe <= 0, 0.0, lo_e), np.where(pe >= 1, 1.0, hi_e)
        else:
            lo_e = np.where(pe <= 0, 0.0, (alpha / 2) ** (1 / n_k))
            hi_e = np.where(pe >= 1, 1.0, 1 - (alpha / 2) ** (1 / n_k))
        low[edge], high[edge] = lo_e, hi_e
        notes.append(
            "at 0% or 100% the design variance is zero: the interval is the "
            + ("Wilson" if method == "wilson" else "Clopper-Pearson")
            + " interval for Kish's effective sample size")
    low = np.clip(low, 0.0, 1.0)
    high = np.clip(high, 0.0, 1.0)
    return low, high, notes


def _wilson(p, n, q):
    z2n = q * q / n
    centre = (p + z2n / 2) / (1 + z2n)
    half = q * np.sqrt(p * (1 - p) / n + z2n / (4 * n)) / (1 + z2n)
    return centre - half, centre + half


# --- Rao-Scott likelihood interval: R's MASSprofile_glm + confint_profile, in closed form ---

def _glm_irls(w1, w0, s0, s1, dev0, epsilon=1e-8, maxit=25):
    """R's glm.fit for ``y ~ 1`` (binomial/quasibinomial, logit link), replayed.

    Returns the final coefficient and the working-weight sum of the last iteration.
    """
    W = w1 + w0

    def dev(mu):
        return -2.0 * (_xlogy(w1, mu) + _xlogy(w0, 1 - mu))

    beta = s1 / s0                      # iteration 1 (per-row starting values)
    weight_sum = s0
    mu = expit(beta)
    d = dev(mu)
    devold = dev0
    for _ in range(1, maxit):
        if abs(d - devold) / (abs(d) + 0.1) < epsilon:
            break
        devold = d
        weight_sum = W * mu * (1 - mu)
        beta = beta + (w1 - mu * W) / weight_sum
        mu = expit(beta)
        d = dev(mu)
    return beta, weight_sum, d


def _likelihood_one(p, var, df, level, w1, w0, s0, s1, dev0, dispersion, n_rows):
    b0, naive_weight_sum, dev_fit = _glm_irls(w1, w0, s0, s1, dev0)
    mu = expit(b0)
    std_err = np.sqrt(var) / (mu * (1 - mu))   # summary.svyglm: design-based SE of logit
    lam = std_err ** 2 * naive_weight_sum      # cov.unscaled / naive.cov
    alpha = stats.norm.cdf(stats.t.ppf((1 - level) / 2, df) * np.sqrt(lam)) / 2
    zmax = np.sqrt(f_upper_quantile(alpha, 1.0, n_rows - 1))
    delta = zmax / 5

    def z_of(b, sign):
        p0 = expit(b)
        d = -2.0 * (_xlogy(w1, p0) + _xlogy(w0, 1 - p0))
        zz = (d - dev_fit) / dispersion
        zz = max(zz, 0.0) if zz > -0.001 else np.nan
        return sign * np.sqrt(zz)

    zs, bs = [0.0], [b0]
    for sign in (-1.0, 1.0):
        step, z = 0, 0.0
        while True:
            step += 1
            if not (step < 10 and abs(z) < zmax):
                break
            b = b0 + sign * step * delta * std_err
            z = z_of(b, sign)
            zs.append(z)
            bs.append(b)
    order = np.argsort(zs, kind="stable")
    z_sorted = np.asarray(zs)[order]
    b_sorted = np.asarray(bs)[order]
    sx, sy = r_spline(b_sorted, z_sorted)
    cutoff = np.array([stats.norm.ppf(2 * alpha), stats.norm.isf(2 * alpha)])
    lim = r_approx(sy, sx, cutoff)
    # Where R's 9-step profile does not reach the cutoff (R returns NA), solve z(b) = cutoff
    # exactly instead: the profile is monotone and unbounded on both sides.
    for side, sign in ((0, -1.0), (1, 1.0)):
        if np.isnan(lim[side]):
            target = cutoff[side]
            far = b0 + sign * delta * std_err
            while sign * (z_of(far, sign) - target) < 0 and abs(far - b0) < 1e3:
                far = b0 + 2 * (far - b0)
            lo, hi = sorted((b0, far))
            try:
                lim[side] = optimize.brentq(lambda b: z_of(b, sign) - target, lo, hi,
                                            xtol=1e-12, maxiter=500)
            except (ValueError, RuntimeError):  # pragma: no cover - degenerate profile
                lim[side] = np.nan
    return expit(lim[0]), expit(lim[1])


def f_upper_quantile(alpha: float, df1: float, df2: float) -> float:
    """R's ``qf(alpha, df1, df2, lower.tail = FALSE)``, accurate for tiny ``alpha``.

    As R: ``(1/qbeta(alpha, df2/2, df1/2) - 1) df2/df1``.  scipy's ``f.isf`` inverts
    ``1 - alpha`` and is lost below ``alpha`` of about 1e-16, which a large design effect
    reaches (the profile's alpha is ``pnorm(qt(.025, df) sqrt(deff))/2``).
    """
    x = betaincinv(df2 / 2, df1 / 2, alpha)
    return (1.0 / x - 1.0) * df2 / df1


def _xlogy(x, y):
    return 0.0 if x == 0 else x * np.log(y)


def r_spline(x: np.ndarray, y: np.ndarray, n: int | None = None):
    """R's ``spline(x, y, n = 3 * length(x), method = "fmm")`` (Forsythe, Malcolm & Moler)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    # regularize.values: sort by x, average ties
    ux, inv = np.unique(x, return_inverse=True)
    uy = np.bincount(inv, weights=y) / np.bincount(inv)
    n_out = 3 * len(x) if n is None else n
    xout = np.linspace(ux[0], ux[-1], n_out)
    b, c, d = _fmm_coef(ux, uy)
    return xout, _spline_eval(xout, ux, uy, b, c, d)


def _fmm_coef(x, y):
    n = len(x)
    b = np.zeros(n)
    c = np.zeros(n)
    d = np.zeros(n)
    if n < 2:
        return b, c, d
    if n < 3:
        t = (y[1] - y[0]) / (x[1] - x[0])
        b[:] = t
        return b, c, d
    nm1 = n - 1
    # 0-based translation of R's src/library/stats/src/splines.c fmm_spline
    d[0] = x[1] - x[0]
    c[1] = (y[1] - y[0]) / d[0]
    for i in range(1, nm1):
        d[i] = x[i + 1] - x[i]
        b[i] = 2.0 * (d[i - 1] + d[i])
        c[i + 1] = (y[i + 1] - y[i]) / d[i]
        c[i] = c[i + 1] - c[i]
    b[0] = -d[0]
    b[nm1] = -d[n - 2]
    c[0] = c[nm1] = 0.0
    if n > 3:
        c[0] = c[2] / (x[3] - x[1]) - c[1] / (x[2] - x[0])
        c[nm1] = c[n - 2] / (x[nm1] - x[n - 3]) - c[n - 3] / (x[n - 2] - x[n - 4])
        c[0] = c[0] * d[0] * d[0] / (x[3] - x[0])
        c[nm1] = -c[nm1] * d[n - 2] * d[n - 2] / (x[nm1] - x[n - 4])
    for i in range(1, n):
        t = d[i - 1] / b[i - 1]
        b[i] = b[i] - t * d[i - 1]
        c[i] = c[i] - t * c[i - 1]
    c[nm1] = c[nm1] / b[nm1]
    for i in range(n - 2, -1, -1):
        c[i] = (c[i] - d[i] * c[i + 1]) / b[i]
    b[nm1] = (y[nm1] - y[n - 2]) / d[n - 2] + d[n - 2] * (c[n - 2] + 2.0 * c[nm1])
    for i in range(nm1):
        b[i] = (y[i + 1] - y[i]) / d[i] - d[i] * (c[i + 1] + 2.0 * c[i])
        d[i] = (c[i + 1] - c[i]) / d[i]
        c[i] = 3.0 * c[i]
    c[nm1] = 3.0 * c[nm1]
    d[nm1] = d[n - 2]
    return b, c, d


def _spline_eval(u, x, y, b, c, d):
    idx = np.searchsorted(x, u, side="right") - 1
    idx = np.clip(idx, 0, len(x) - 1)
    dx = u - x[idx]
    return y[idx] + dx * (b[idx] + dx * (c[idx] + dx * d[idx]))


def r_approx(x, y, xout):
    """R's ``approx(x, y, xout)`` (linear, ties averaged, NA outside the range)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ux, inv = np.unique(x, return_inverse=True)
    uy = np.bincount(inv, weights=y) / np.bincount(inv)
    out = np.interp(xout, ux, uy)
    out = np.where((xout < ux[0]) | (xout > ux[-1]), np.nan, out)
    return out
