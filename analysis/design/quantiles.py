"""Quantiles of a survey variable with their confidence intervals, as R's ``svyquantile``
(survey 4.1.1, ``svyquantile.survey.design`` and ``svyquantile.svyrep.design``).

The quantile is R's quantile rule (``qrule``) applied to the variable and the weights;
the interval is formed on the probability scale and mapped back through the same rule:

``"mean"``, ``"beta"``, ``"xlogit"``, ``"asin"`` (Woodruff, R's ``woodruffCI``)
    The design mean ``p^`` of ``y <= q^`` and its standard error (from the design's engine:
    linearisation or replicates) give an interval for ``p`` -- Wald, Korn-Graubard beta,
    logit or arcsine -- whose limits are the rule's quantiles at those probabilities.  A
    limit outside [0, 1] is NaN, as in R.
``"score"`` (linearisation only, R's ``ffullerCI``)
    The limits are the roots (R's ``uniroot``, reproduced step by step) of the score test
    of ``mean(y > theta) = 1 - p``; R then takes the rule's quantiles at the unweighted
    share of the rows ``<=`` each root.
``"quantile"`` (replicate designs only, R's ``repCI``)
    The rule's quantile in every replicate, their replicate variance (``svrVar``) and
    ``q^ -/+ t * se``.

The standard error is R's ``SE(svyquantile(...))``: the interval's width over
``2 qt(1 - alpha/2, df)``, with ``df`` the degrees of freedom of the design R forms for the
domain's rows that have a value (``design[!is.na(y), ]``).

R's rows: for an uncalibrated design R drops the rows outside the domain and those
without a value; a calibrated linearisation design keeps every row at weight zero, with 0
in place of a missing value.  The beta interval's ``nrow(design)`` and the score
interval's search range (``IQR``, ``min``, ``max``) and final unweighted share use those
rows, as R does.

The arithmetic of R is kept where it decides ties: sums and cumulative sums in extended
precision (R's ``LDOUBLE``), stable ordering, ``approx`` with R's handling of unsorted
and tied abscissae.

Depends on :mod:`.statistic` (the domain means of Woodruff's and the score intervals) and
:mod:`analysis.errors`; the estimator layer calls :func:`quantile_table`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from scipy import stats
from scipy.special import betaincinv, expit

from ..errors import VariableError
from .statistic import DomainMeans

__all__ = ["QUANTILE_RULES", "LINEARIZATION_INTERVALS", "REPLICATE_INTERVALS",
           "DomainQuantiles", "quantile_rule", "zeroin", "check_probs", "check_interval",
           "check_rule", "quantile_table"]

#: R's ``qrule`` names (``math`` = ``hf1``, ``school`` = ``hf2``).
QUANTILE_RULES = ("math", "school", "shahvaish", "hf1", "hf2", "hf3", "hf4", "hf5", "hf6",
                  "hf7", "hf8", "hf9")
#: ``interval.type`` of ``svyquantile.survey.design``.
LINEARIZATION_INTERVALS = ("mean", "beta", "xlogit", "asin", "score")
#: ``interval.type`` of ``svyquantile.svyrep.design`` that R honours: it accepts "beta",
#: "xlogit" and "asin" too but forms the Wald ("mean") interval for them (``woodruffCI``
#: is called without the method).
REPLICATE_INTERVALS = ("mean", "quantile")


# R's arithmetic ------------------------------------------------------------------------------
def _r_cumsum(v: np.ndarray) -> np.ndarray:
    """R's ``cumsum``: accumulated in extended precision, each value rounded to double."""
    return np.cumsum(np.asarray(v, dtype=np.longdouble)).astype(float)


def _r_sum(v: np.ndarray) -> float:
    """R's ``sum`` (sequential, extended precision)."""
    return float(_r_cumsum(v)[-1]) if len(v) else 0.0


def _r_mean(v: np.ndarray) -> float:
    """R's ``mean`` of doubles: extended-precision sum, then one correction pass."""
    v = np.asarray(v, dtype=np.longdouble)
    m = np.cumsum(v)[-1] / len(v)
    m = m + np.cumsum(v - m)[-1] / len(v)
    return float(m)


def _approx(pk: np.ndarray, y: np.ndarray, v: float, *, constant: bool) -> float:
    """R's ``approx(pk, y, v, method=, f = 0, rule = 2)`` at one point, with
    ``regularize.values``: unsorted ``pk`` are ordered (stably), tied ones collapsed to the
    mean of their ``y``."""
    if np.any(np.diff(pk) < 0):
        o = np.argsort(pk, kind="stable")
        pk, y = pk[o], y[o]
    if np.any(np.diff(pk) == 0):
        ux, first = np.unique(pk, return_index=True)
        bounds = np.append(first, len(pk))
        y = np.array([_r_mean(y[a:b]) for a, b in zip(bounds[:-1], bounds[1:])])
        pk = ux
    n = len(pk)
    if v < pk[0]:
        return float(y[0])
    if v > pk[-1]:
        return float(y[-1])
    i = int(np.searchsorted(pk, v, side="right")) - 1   # largest i with pk[i] <= v
    if i >= n - 1:
        return float(y[-1])
    j = i + 1
    if v == pk[j]:
        return float(y[j])
    if v == pk[i]:
        return float(y[i])
    if constant:   # f = 0: the left value
        return float(y[i])
    return float(y[i] + (y[j] - y[i]) * ((v - pk[i]) / (pk[j] - pk[i])))


def _r_quantile7(x: np.ndarray, p: float) -> float:
    """R's ``quantile(x, p, type = 7)``."""
    xs = np.sort(x)
    index = 1 + max(len(xs) - 1, 0) * p
    lo, hi = int(np.floor(index)), int(np.ceil(index))
    q = xs[lo - 1]
    h = index - lo
    if index > lo and xs[hi - 1] != q:
        q = (1 - h) * q + h * xs[hi - 1]
    return float(q)


# Quantile rules ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Sorted:
    """The rows of positive weight, ordered by value (stably, as R's ``order``)."""

    x: np.ndarray
    w: np.ndarray
    cumw: np.ndarray
    total: float     # R's sum(w) in the rows' own order

    @classmethod
    def of(cls, x: np.ndarray, w: np.ndarray, order: np.ndarray | None = None) -> "_Sorted":
        """``order``: a stable ordering of ``x`` (to reuse across weights)."""
        if order is None:
            order = np.argsort(x, kind="stable")
        pos_sorted = order[w[order] > 0]
        total = _r_sum(w[w > 0])
        ws = w[pos_sorted]
        return cls(x[pos_sorted], ws, _r_cumsum(ws), total)


def _qs(s: _Sorted, p: float):
    """R's ``survey:::qs``: the order statistics around ``p`` (``ilow`` 0-based)."""
    n = len(s.x)
    pos = int(np.searchsorted(s.cumw, p * s.total, side="right")) - 1
    if pos < 0:
        pos = 0                    # R's last(): 1 when no cumulative weight is <= p
    nxt = pos if pos == n - 1 else pos + 1
    return (s.x[pos], s.x[nxt], pos, p - s.cumw[pos] / s.total,
            s.cumw[nxt] / s.total - p)


def _rule_math(s, p):
    qlow, qup, _, wlow, _ = _qs(s, p)
    return qlow if wlow == 0 else qup


def _rule_school(s, p):
    qlow, qup, _, wlow, _ = _qs(s, p)
    return (qlow + qup) / 2 if wlow == 0 else qup


def _rule_hf3(s, p):
    ux, first = np.unique(s.x, return_index=True)
    bounds = np.append(first, len(s.x))
    wsum = np.array([float(np.sum(s.w[a:b])) for a, b in zip(bounds[:-1], bounds[1:])])
    agg = _Sorted(ux, wsum, _r_cumsum(wsum), _r_sum(wsum))
    qlow, qup, ilow, wlow, _ = _qs(agg, p)
    return qlow if (wlow == 0 and (ilow + 1) % 2 == 0) else qup


def _rule_hf4(s, p):
    qlow, qup, _, wlow, wup = _qs(s, p)
    gamma = wlow / (wup + wlow)
    return qlow * (1 - gamma) + qup * gamma


def _rule_shahvaish(s, p):
    n = len(s.x)
    S = _r_cumsum(s.w / _r_mean(s.w))
    pk = (S + 0.5 - s.w / 2) / (n + 1)      # R subtracts w/2, not wbar/2
    return _approx(pk, s.x, p, constant=True)


def _shifted(s):
    return np.concatenate(([0.0], s.cumw[:-1]))


def _rule_hf5(s, p):
    return _approx((s.cumw - s.w / 2) / s.cumw[-1], s.x, p, constant=False)


def _rule_hf6(s, p):
    return _approx(s.cumw / (s.cumw[-1] + s.w[-1]), s.x, p, constant=False)


def _rule_hf7(s, p):
    n = len(s.x)
    return _approx(_shifted(s) / s.cumw[max(n - 2, 0)], s.x, p, constant=False)


def _rule_hf8(s, p):
    pk = (_shifted(s) * 1 / 3 + s.cumw * 2 / 3) / (s.cumw[-1] + s.w[-1] / 3)
    return _approx(pk, s.x, p, constant=False)


def _rule_hf9(s, p):
    pk = (_shifted(s) * 3 / 8 + s.cumw * 5 / 8) / (s.cumw[-1] + s.w[-1] / 4)
    return _approx(pk, s.x, p, constant=False)


_RULES: dict[str, Callable[[_Sorted, float], float]] = {
    "math": _rule_math, "hf1": _rule_math, "school": _rule_school, "hf2": _rule_school,
    "shahvaish": _rule_shahvaish, "hf3": _rule_hf3, "hf4": _rule_hf4, "hf5": _rule_hf5,
    "hf6": _rule_hf6, "hf7": _rule_hf7, "hf8": _rule_hf8, "hf9": _rule_hf9}


def quantile_rule(rule: str, x: np.ndarray, w: np.ndarray, p: float) -> float:
    """R's ``survey:::qrule_<rule>(x, w, p)``: rows of weight zero are left out; NaN when
    no row has a positive weight."""
    s = _Sorted.of(np.asarray(x, float), np.asarray(w, float))
    return _apply(rule, s, p)


def _apply(rule: str, s: _Sorted, p: float) -> float:
    if len(s.x) == 0 or not np.isfinite(p):
        return np.nan
    if len(s.x) == 1:
        return float(s.x[0])
    return float(_RULES[rule](s, p))


# R's uniroot ---------------------------------------------------------------------------------
def zeroin(f: Callable[[float], float], ax: float, bx: float, fa: float, fb: float,
           tol: float, maxit: int = 1000) -> float:
    """R's ``uniroot`` (``R_zeroin2``, Brent's method) step by step, so that the root -- and
    which side of a data value it falls on -- is R's.  As R, values of ``f`` inside the
    search that are not finite become -/+ the largest double (NaN: +)."""
    big = np.finfo(float).max
    eps = np.finfo(float).eps

    def g(x):
        v = np.float64(f(float(x)))
        return v if np.isfinite(v) else (-big if v == -np.inf else big)

    a, b = np.float64(ax), np.float64(bx)
    fa, fb = np.float64(fa), np.float64(fb)
    c, fc = a, fa
    if fa == 0.0:
        return float(a)
    if fb == 0.0:
        return float(b)
    with np.errstate(all="ignore"):     # C's IEEE arithmetic: an end value may be infinite
        for _ in range(maxit + 1):
            prev_step = b - a
            if abs(fc) < abs(fb):
                a, b, c = b, c, b
                fa, fb, fc = fb, fc, fb
            tol_act = 2 * eps * abs(b) + tol / 2
            new_step = (c - b) / 2
            if abs(new_step) <= tol_act or fb == 0.0:
                return float(b)
            if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
                cb = c - b
                if a == c:
                    t1 = fb / fa
                    p = cb * t1
                    q = 1.0 - t1
                else:
                    q = fa / fc
                    t1 = fb / fc
                    t2 = fb / fa
                    p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                    q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
                if p > 0:
                    q = -q
                else:
                    p = -p
                if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                    new_step = p / q
            if abs(new_step) < tol_act:
                new_step = tol_act if new_step > 0 else -tol_act
            a, fa = b, fb
            b = b + new_step
            fb = g(b)
            if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
                c, fc = a, fa
    return float(b)


# The statistic of the replicate interval ----------------------------------------------------
@dataclass(frozen=True, eq=False)
class DomainQuantiles:
    """The rule's quantiles at ``probs`` in every domain (value ``k = d * P + j``), as
    functions of the weights: R's ``repCI`` replicates.

    Only :meth:`at`: a quantile is not a smooth function of the weights, so it has no
    linearised influence values; on linearisation designs the intervals are Woodruff's or
    the score test's (R has no linearised quantile variance either).
    """

    x: np.ndarray            # (n,) values (anything where not valid)
    valid: np.ndarray        # (n,) bool: the row has a value
    codes: np.ndarray        # (n,) domain code, -1 outside every domain
    D: int
    probs: tuple
    rule: str

    def at(self, W: np.ndarray) -> np.ndarray:
        W = np.asarray(W, dtype=float)
        if W.ndim == 1:
            W = W[:, None]
        P = len(self.probs)
        out = np.full((self.D * P, W.shape[1]), np.nan)
        for d in range(self.D):
            rows = np.flatnonzero(self.valid & (self.codes == d))
            if not len(rows):
                continue
            x = self.x[rows]
            order = np.argsort(x, kind="stable")
            for m in range(W.shape[1]):
                s = _Sorted.of(x, W[rows, m], order)
                for j, p in enumerate(self.probs):
                    out[d * P + j, m] = _apply(self.rule, s, p)
        return out


# Arguments -----------------------------------------------------------------------------------
def check_probs(probs) -> tuple[float, ...]:
    """``probs``: one probability or a sequence of them, each strictly between 0 and 1."""
    values = [probs] if isinstance(probs, (int, float, np.number)) else probs
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)) \
            or len(values) == 0:
        raise VariableError("probs must be a probability or a list of them",
                            argument="probs", value=probs,
                            fix="give probabilities between 0 and 1, e.g. probs=[0.25, 0.5]")
    out = []
    for p in values:
        if isinstance(p, bool) or not isinstance(p, (int, float, np.number)) \
                or not (0 < float(p) < 1):
            raise VariableError("a quantile's probability must be strictly between 0 and 1",
                                argument="probs", value=p,
                                fix="give probabilities between 0 and 1 (exclusive), e.g. "
                                    "probs=[0.25, 0.5, 0.75]; for the minimum or maximum "
                                    "use probs=0.001 or 0.999")
        out.append(float(p))
    return tuple(out)


def check_interval(interval: str, *, replicate: bool) -> None:
    """``interval`` is one of the design's interval types (see the module)."""
    allowed = REPLICATE_INTERVALS if replicate else LINEARIZATION_INTERVALS
    if interval in allowed:
        return
    if replicate and interval in ("beta", "xlogit", "asin"):
        what = (f"R's svyquantile for replicate designs ignores interval.type={interval!r} "
                "and gives the Wald ('mean') interval")
    elif interval in LINEARIZATION_INTERVALS + REPLICATE_INTERVALS:
        what = f"the {interval} interval is not available for this design"
    else:
        what = "unknown interval type"
    raise VariableError(what, argument="interval", value=interval,
                        fix=f"use one of {', '.join(allowed)}")


def check_rule(rule: str) -> None:
    """``rule`` is one of R's ``qrule`` names."""
    if rule not in QUANTILE_RULES:
        raise VariableError("unknown quantile rule", argument="rule", value=rule,
                            fix=f"use one of {', '.join(QUANTILE_RULES)}")


# The estimate --------------------------------------------------------------------------------
@dataclass(frozen=True)
class QuantileTable:
    """Rows ``k = d * P + j`` of :func:`quantile_table`."""

    estimate: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    se: np.ndarray
    df: np.ndarray
    n: np.ndarray
    n_eff: np.ndarray
    notes: tuple
    covariance: Callable | None


def _crit(level: float, df: float) -> tuple[float, float]:
    """``qcrit(1 - alpha/2)`` and ``qcrit(alpha/2)`` on ``df`` (NaN when df <= 0)."""
    alpha = 1 - level
    if not df > 0:
        return np.nan, np.nan
    return float(stats.t.ppf(1 - alpha / 2, df)), float(stats.t.ppf(alpha / 2, df))


def _p_interval(method: str, p: float, var: float, level: float, df: float,
                n_rows: int) -> tuple[float, float]:
    """Woodruff's interval for the probability (R's ``woodruffCI``)."""
    alpha = 1 - level
    se = np.sqrt(var)
    upper_q, lower_q = _crit(level, df)
    if method == "mean":
        return p + se * lower_q, p + se * upper_q
    if method == "xlogit":
        eta, se_eta = np.log(p / (1 - p)), se / (p * (1 - p))
        return expit(eta + se_eta * lower_q), expit(eta + se_eta * upper_q)
    if method == "asin":
        eta = np.arcsin(np.sqrt(p))
        se_eta = se * 0.5 / (np.sqrt(p) * np.sqrt(1 - p))
        return np.sin(eta + se_eta * lower_q) ** 2, np.sin(eta + se_eta * upper_q) ** 2
    # beta: Korn-Graubard with R's effective sample size
    with np.errstate(invalid="ignore", divide="ignore"):
        n_eff = p * (1 - p) / var
        n_eff = n_eff * (stats.t.ppf(alpha / 2, n_rows - 1) / lower_q) ** 2
    return (_qbeta(alpha / 2, n_eff * p, n_eff * (1 - p) + 1),
            _qbeta(1 - alpha / 2, n_eff * p + 1, n_eff * (1 - p)))


def _qbeta(q: float, a: float, b: float) -> float:
    """R's ``qbeta`` including its limits at a zero shape."""
    if not (np.isfinite(a) and np.isfinite(b)) or a < 0 or b < 0:
        return np.nan
    if a == 0:
        return 0.0
    if b == 0:
        return 1.0
    return float(betaincinv(a, b, q))


def quantile_table(engine, vcov_of: Callable, design_df: Callable[[], int], variable: str,
                   probs: tuple, dom, *, level: float, interval: str, rule: str,
                   na_rm: bool) -> QuantileTable:
    """Quantiles and intervals of ``variable`` in the domains ``dom`` (see the module).

    ``engine`` is the design's variance engine (its columns, weights ``w`` and ``subset``),
    ``vcov_of`` and ``design_df`` the estimator layer's (:class:`~.estimators.Estimators`).
    """
    y = engine.numeric(variable)
    answered = ~np.isnan(y)
    w = engine.w
    in_scope = dom.codes >= 0
    if not na_rm:
        bad = ~answered & in_scope & (w > 0)
        if bad.any():
            raise VariableError(f"column {variable!r} has {int(bad.sum())} missing values",
                                argument="na_rm", value=False,
                                fix="pass na_rm=True to estimate over the rows that have a "
                                    "value (R: na.rm=TRUE)")
    x_all = np.where(answered, y, 0.0)     # R puts 0 where it keeps a row without a value
    P = len(probs)
    D = dom.D
    K = D * P
    est = np.full(K, np.nan)
    low = np.full(K, np.nan)
    high = np.full(K, np.nan)
    df = np.zeros(K)
    n = np.zeros(K)
    n_eff = np.full(K, np.nan)
    per_domain = []
    for d in range(D):
        member = answered & (dom.codes == d)
        if not na_rm and not dom.by:
            kept, df_d = np.ones(len(y), bool), design_df()
        else:
            kept, df_d = engine.subset(member)
        wd = np.where(member, w, 0.0)
        pos = wd > 0
        if not pos.any():    # a domain whose rows all lack the value
            per_domain.append(None)
            continue
        s = _Sorted.of(x_all[member], wd[member])
        q = np.array([_apply(rule, s, p) for p in probs])
        est[d * P:(d + 1) * P] = q
        df[d * P:(d + 1) * P] = df_d
        n[d * P:(d + 1) * P] = pos.sum()
        sw, sw2 = _r_sum(wd[pos]), _r_sum(wd[pos] ** 2)
        n_eff[d * P:(d + 1) * P] = sw * sw / sw2 if sw2 > 0 else np.nan
        per_domain.append((member, kept, s, df_d, q))
    covariance = None      # only the replicate interval has the rows' covariance
    if interval == "quantile":
        _, V = vcov_of(DomainQuantiles(x_all, answered, dom.codes, D, probs, rule))
        for d, item in enumerate(per_domain):
            if item is None:
                continue
            _, _, _, df_d, q = item
            upper_q, _ = _crit(level, df_d)
            sl = slice(d * P, (d + 1) * P)
            se_d = np.sqrt(np.diag(V)[sl])
            low[sl], high[sl] = q - se_d * upper_q, q + se_d * upper_q
        covariance = lambda: (V, design_df())   # noqa: E731
    elif interval == "score":
        for d, item in enumerate(per_domain):
            if item is None:
                continue
            member, kept, s, df_d, q = item
            for j, p in enumerate(probs):
                low[d * P + j], high[d * P + j] = _score_interval(
                    vcov_of, x_all, answered, member, kept, s, p, level, df_d, rule)
    else:
        indicator = np.zeros((len(y), P))
        for item in per_domain:
            if item is not None:
                member, q = item[0], item[4]
                indicator[member] = x_all[member][:, None] <= q[None, :]
        valid = np.repeat(answered[:, None], P, axis=1)
        p_hat, V = vcov_of(DomainMeans(indicator, valid, dom.codes, D))
        var = np.diag(V)
        for d, item in enumerate(per_domain):
            if item is None:
                continue
            member, kept, s, df_d, q = item
            for j in range(P):
                k = d * P + j
                plo, phi = _p_interval(interval, p_hat[k], var[k], level, df_d,
                                       int(kept.sum()))
                # R: the rule at the limits over the subset's rows (weight 0 left out)
                low[k] = np.nan if not np.isfinite(plo) or plo < 0 else _apply(rule, s, plo)
                high[k] = np.nan if not np.isfinite(phi) or phi > 1 else _apply(rule, s, phi)
    upper = np.array([_crit(level, v)[0] for v in df])
    with np.errstate(invalid="ignore"):
        se = (high - low) / (2 * upper)
    notes = []
    empty = int(((np.isnan(low) | np.isnan(high)) & ~np.isnan(est)).sum())
    if empty and interval == "score":
        notes.append(f"for {empty} quantile(s) the score test changes sign nowhere in the "
                     "data's range (R stops there): no interval or standard error; try "
                     "interval='beta'")
    elif empty:
        notes.append(f"{empty} interval(s) have a limit whose probability falls outside "
                     "[0, 1]: that limit and the standard error are left empty, as R does; "
                     "try interval='beta' (or 'score')")
    return QuantileTable(est, low, high, se, df, n, n_eff, tuple(notes), covariance)


def _score_interval(vcov_of, x_all, answered, member, kept, s, p, level, df, rule):
    """R's ``ffullerCI`` for one domain and probability."""
    upper_q, lower_q = _crit(level, df)
    x = x_all[kept]
    codes = np.where(member, 0, -1)
    valid = answered[:, None]

    def scoretest(theta: float, qlimit: float) -> float:
        u = (x_all > theta).astype(float) - (1 - p)
        m, V = vcov_of(DomainMeans(u[:, None], valid, codes, 1))
        with np.errstate(invalid="ignore", divide="ignore"):
            return float(m[0] / np.sqrt(V[0, 0]) - qlimit)

    iqr = _r_quantile7(x, 0.75) - _r_quantile7(x, 0.25)
    lower_t = x.min() + iqr / 100
    upper_t = x.max() - iqr / 100
    tol = 1 / (100 * np.sqrt(len(x)))
    if not lower_t < upper_t:
        return np.nan, np.nan          # R: uniroot stops (lower < upper is not fulfilled)
    roots = []
    for qlimit in (upper_q, lower_q):
        f_lo, f_hi = scoretest(lower_t, qlimit), scoretest(upper_t, qlimit)
        if np.isnan(f_lo) or np.isnan(f_hi) or np.sign(f_lo) * np.sign(f_hi) > 0:
            return np.nan, np.nan      # R: uniroot stops (NA or no sign change): no limits
        roots.append(zeroin(lambda t: scoretest(t, qlimit), lower_t, upper_t, f_lo, f_hi,
                            tol))
    # R: the rule's quantile at the unweighted share of R's rows below the root
    return tuple(_apply(rule, s, float(np.mean(x <= r))) for r in roots)
