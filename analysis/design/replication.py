"""The replicate-weight variance engine, as R's ``svrVar``, and the replicate weights.

The variance of a statistic is::

    v = scale * sum_r rscales[r] * (theta_r - centre)^2

with ``centre`` the mean of the replicate estimates (R's default, ``mse=FALSE``) or the
full-sample estimate (``mse=True``).

* :func:`jkn_factors`: as R's ``as.svrepdesign(des, type="JKn")``: one replicate per PSU of
  every stratum with at least two PSUs, the PSU's weights set to 0 and the other PSUs of its
  stratum multiplied by ``n_h/(n_h - 1)``; ``rscales = (1 - f_h)(n_h - 1)/n_h`` (with the
  fpc), ``scale = 1``.  Census strata (``f_h = 0``) get no replicate.  Only the first
  stage is used (R drops later-stage fpc).
* :func:`bootstrap_factors`: Rao-Wu rescaling bootstrap, as R's ``type="subbootstrap"``: in
  every stratum ``n_h - 1`` PSUs drawn with replacement, multiplier ``count * n_h/(n_h - 1)``;
  ``scale = 1/(R - 1)``, ``rscales = 1``; no finite population correction (as in R).
* :func:`brr_factors`: balanced repeated replication and Fay's variant, as R's
  ``as.svrepdesign(des, type="BRR")`` / ``type="Fay", fay.rho=``: exactly two PSUs per
  stratum; one replicate per column of R's Hadamard matrix (:mod:`.hadamard`), the PSUs of
  a pair weighted ``2 - rho`` and ``rho``; ``scale = 1/(R (1 - rho)^2)``, ``rscales = 1``,
  no finite population correction (R drops it).
* :func:`replicate_weights`: the replicate weights from multipliers by PSU or by row, and
  the degrees of freedom (R: rank of the replicate weights minus one).

Depends on :mod:`.structure`, :mod:`.cells` (the domains), :mod:`.engine`, :mod:`.hadamard`
and :mod:`analysis._ci`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.special import expit, logit

from .._ci import CI_METHODS, t_quantile
from ..errors import ReplicateError, VariableError
from .cells import CellSums, Domains, EngineColumns
from .engine import Ratio, Shares
from .hadamard import hadamard
from .structure import Structure

__all__ = ["Replicates", "jkn_factors", "bootstrap_factors", "brr_factors",
           "replicate_weights", "weights_rank", "MAX_CELLS"]

#: n rows x replicates held in memory (8 bytes each)
MAX_CELLS = 300_000_000


def _first_stage(structure: Structure):
    """PSU of each row, stratum of each PSU, PSUs per stratum and ``(N - n)/N`` per stratum."""
    st = structure.stages[0]
    psu = st.unit
    n_psu = int(psu.max()) + 1
    psu_stratum = np.zeros(n_psu, np.int64)
    psu_stratum[psu] = structure.stratum
    n_strata = len(structure.strata_labels)
    n_h = np.bincount(psu_stratum, minlength=n_strata)
    N_h = np.asarray(st.stratum_N, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        f_h = np.where(np.isinf(N_h), 1.0, (N_h - n_h) / N_h)
    return psu_stratum, n_h, f_h


def jkn_factors(structure: Structure) -> tuple[np.ndarray, float, np.ndarray]:
    """JKn multipliers (PSUs x replicates), ``scale`` and ``rscales`` (see module docstring)."""
    psu_stratum, n_h, f_h = _first_stage(structure)
    n_psu, n_strata = len(psu_stratum), len(n_h)
    lonely_rule = structure.lonely_psu
    lonely = (n_h == 1) & (f_h > 0)
    if lonely.any() and lonely_rule == "fail":
        raise ReplicateError(
            "strata with a single PSU cannot be jackknifed", argument="lonely_psu",
            value=[structure.strata_labels[i] for i in np.flatnonzero(lonely)][:10],
            fix="build the design with lonely_psu='adjust' (or 'certainty', "
                "'remove', 'average')")
    cols, rscales = [], []
    for h in range(n_strata):
        members = np.flatnonzero(psu_stratum == h)
        if f_h[h] <= 0:
            continue
        if n_h[h] == 1:
            if lonely_rule == "adjust":
                col = np.full(n_psu, n_strata / (n_strata - 1))
                col[members] = 0.0
                cols.append(col)
                rscales.append((n_strata - 1) / n_strata)
            continue
        for j in members:
            col = np.ones(n_psu)
            col[members] = n_h[h] / (n_h[h] - 1)
            col[j] = 0.0
            cols.append(col)
            rscales.append(f_h[h] * (n_h[h] - 1) / n_h[h])
    if not cols:
        raise ReplicateError("every stratum is a census: no replicate to form",
                             argument="fpc", value=None,
                             fix="the variance is zero; no replicates are needed")
    factors = np.column_stack(cols)
    scale = 1.0
    if lonely_rule == "average" and factors.shape[1] < n_psu:
        scale = n_psu / factors.shape[1]
    return factors, scale, np.asarray(rscales)


def bootstrap_factors(structure: Structure, replicates: int,
                      seed: int | None) -> tuple[np.ndarray, float, np.ndarray]:
    """Rao-Wu bootstrap multipliers (PSUs x replicates), ``scale`` and ``rscales``."""
    if not isinstance(replicates, (int, np.integer)) or replicates < 2:
        raise ReplicateError("the bootstrap needs at least 2 replicates",
                             argument="replicates", value=replicates,
                             fix="use e.g. replicates=500")
    psu_stratum, n_h, f_h = _first_stage(structure)
    lonely = (n_h == 1) & (f_h > 0)
    if lonely.any() and structure.lonely_psu not in ("certainty", "remove"):
        raise ReplicateError(
            "strata with a single PSU cannot be resampled", argument="lonely_psu",
            value=[structure.strata_labels[i] for i in np.flatnonzero(lonely)][:10],
            fix="merge such strata, or use lonely_psu='certainty'")
    R = int(replicates)
    rng = np.random.default_rng(seed)
    factors = np.ones((len(psu_stratum), R))
    for h in range(len(n_h)):
        members = np.flatnonzero(psu_stratum == h)
        m = len(members)
        if m < 2:
            continue
        draws = rng.integers(0, m, size=(m - 1, R))
        counts = np.zeros((m, R))
        np.add.at(counts, (draws, np.arange(R)[None, :]), 1.0)
        factors[members] = counts * m / (m - 1)
    return factors, 1.0 / (R - 1), np.ones(R)


def _r_character(label) -> str:
    """R's ``as.character`` of a stratum label (whole numbers without a decimal point)."""
    if isinstance(label, (float, np.floating)) and float(label).is_integer():
        return str(int(label))
    return str(label)


def brr_factors(structure: Structure, fay_rho: float) -> tuple[np.ndarray, float, np.ndarray]:
    """BRR (``fay_rho = 0``) or Fay multipliers (PSUs x replicates), ``scale``, ``rscales``.

    As R's ``brrweights`` (``only.weights = TRUE``): strata are ordered as R sorts their
    labels as text (``as.character``; the C locale's order for text labels) and numbered
    ``1..H``; within a stratum the PSU seen first in the data is the first of the pair.
    Replicate ``r`` takes row ``h + 1`` of the 0/1 matrix ``hadamard(H)``: where it is 1 the
    first PSU's multiplier is ``2 - fay_rho`` and the second's ``fay_rho``, where 0 the
    other way round.  ``scale = 1/(R (1 - fay_rho)^2)``, ``rscales = 1``; no finite
    population correction (R drops it).
    """
    psu_stratum, n_h, _ = _first_stage(structure)
    labels = structure.strata_labels
    if not structure.has_strata:
        raise ReplicateError("BRR and Fay replicates need strata of two PSUs each",
                             argument="strata", value=None,
                             fix="build the design with strata (pairs of PSUs), or use "
                                 "method='jkn' or 'bootstrap'")
    bad = np.flatnonzero(n_h != 2)
    if len(bad):
        shown = {_r_character(labels[h]): int(n_h[h]) for h in bad[:10]}
        more = f" (and {len(bad) - 10} more)" if len(bad) > 10 else ""
        raise ReplicateError(
            f"BRR and Fay replicates need exactly two PSUs in every stratum; "
            f"{len(bad)} stratum/strata differ (stratum: PSUs){more}", argument="strata",
            value=shown,
            fix="group the PSUs into variance strata of two PSUs each (pairs), or use "
                "method='jkn' or 'bootstrap'")
    psu = structure.stages[0].unit
    n_psu = len(psu_stratum)
    first_row = np.full(n_psu, len(psu), np.int64)
    np.minimum.at(first_row, psu, np.arange(len(psu)))
    # R: order(as.character(strata), first appearance of the PSU)
    text = [_r_character(label) for label in labels]
    rank = np.empty(len(text), np.int64)
    rank[sorted(range(len(text)), key=text.__getitem__)] = np.arange(len(text))
    order = np.lexsort((first_row, rank[psu_stratum]))
    first_of_pair = np.zeros(n_psu, dtype=bool)
    first_of_pair[order[0::2]] = True
    H = hadamard(len(text))
    on = H[1 + rank[psu_stratum], :] == 1          # PSUs x replicates
    factors = np.where(on == first_of_pair[:, None], 2.0 - fay_rho, fay_rho)
    R = H.shape[1]
    return factors, 1.0 / (R * (1.0 - fay_rho) ** 2), np.ones(R)


def weights_rank(factors: np.ndarray) -> int:
    """R's ``qr(weights, tol = 1e-5)$rank`` of replicate multipliers (rows x replicates)."""
    sv = np.linalg.svd(factors, compute_uv=False)
    return int((sv > 1e-5 * sv.max()).sum())


def replicate_weights(structure: Structure, w: np.ndarray, factors, *, per: str,
                      n_rscales: int) -> tuple[np.ndarray, int, np.ndarray]:
    """Replicate weights ``w * factor`` (rows x replicates), the degrees of freedom and the
    factors by first-stage PSU (PSUs x replicates).

    ``factors`` has one row per data row (constant within each PSU) or one per first-stage
    PSU in the order of the PSU codes (``per``: ``"row"``, ``"psu"`` or ``"auto"``).
    """
    psu = structure.stages[0].unit
    factors = np.asarray(factors, dtype=float)
    if factors.ndim != 2:
        raise ReplicateError("factors must be a 2-D array (units x replicates)",
                             argument="factors", value=factors.shape,
                             fix="give one column per replicate")
    n_psu = int(psu.max()) + 1
    if per == "row" and factors.shape[0] != len(psu):
        raise ReplicateError("per='row' needs one row of factors per data row",
                             argument="factors", value=factors.shape,
                             fix=f"give {len(psu)} rows")
    if per == "row" or (per == "auto" and factors.shape[0] == len(psu)):
        per_psu = np.zeros((n_psu, factors.shape[1]))
        per_psu[psu] = factors
        if not np.allclose(per_psu[psu], factors):
            raise ReplicateError("row factors vary within a PSU", argument="factors",
                                 value=None, fix="give the same factors to every row "
                                                 "of a PSU")
        factors = per_psu
    elif factors.shape[0] != n_psu:
        raise ReplicateError("factors need one row per PSU or per data row",
                             argument="factors", value=factors.shape,
                             fix=f"give {n_psu} or {len(psu)} rows")
    if n_rscales != factors.shape[1]:
        raise ReplicateError("rscales needs one value per replicate", argument="rscales",
                             value=n_rscales, fix=f"give {factors.shape[1]} values")
    n, R = len(psu), factors.shape[1]
    if n * R > MAX_CELLS:
        raise ReplicateError("too many replicate weights to hold in memory",
                             argument="replicates", value=R,
                             fix=f"use fewer replicates (at most {MAX_CELLS // n})")
    rw = factors[psu] * np.asarray(w, dtype=float)[:, None]
    # R: qr(weights(design, "analysis"), tol = 1e-5)$rank - 1
    return rw, weights_rank(factors) - 1, factors


def _distinct_rows(M: np.ndarray) -> np.ndarray:
    """The distinct rows of ``M`` rounded to 1e-10 (duplicates do not change a rank; rows
    compared as bytes by hashing, far faster than sorting them)."""
    R = np.ascontiguousarray(np.round(M, 10)) + 0.0      # + 0.0: -0.0 becomes 0.0
    keys = pd.unique(R.view(np.dtype((np.void, R.dtype.itemsize * R.shape[1]))).ravel())
    return np.frombuffer(keys.tobytes(), dtype=float).reshape(len(keys), R.shape[1])


class Replicates(EngineColumns):
    """Replicate-weight variances (R's ``svrVar``) of one set of replicate weights.

    Parameters
    ----------
    cells : CellSums
        The cell sums of the full-sample design the replicates come from (its domains and
        0/1 checks: rows of positive weight are the same in every replicate design).
    w : ndarray
        Full-sample weights.
    rw : ndarray
        Replicate weights (rows x replicates).
    method, scale, rscales, mse, degf
        As :class:`analysis.ReplicateDesign`.
    unit_factors : ndarray, optional
        The factors by first-stage PSU (PSUs x replicates) when ``rw = w * F[psu]``
        (replicates made from PSU factors, before any weighting inside them): sums over rows
        are then sums over PSUs first, a PSUs x replicates product instead of a rows x
        replicates one.
    """

    interval_methods = tuple(m for m in CI_METHODS if m != "likelihood")

    def __init__(self, cells: CellSums, w: np.ndarray, rw: np.ndarray, *, method: str,
                 scale: float, rscales: np.ndarray, mse: bool, degf: int,
                 unit_factors: np.ndarray | None = None) -> None:
        self.cells = cells
        self.structure = cells.structure
        self.w = w
        self.rw = rw
        self.name = method
        self.scale = scale
        self.rscales = rscales
        self.mse = mse
        self.degf = degf
        self._df_cache: dict = {}
        self._by_unit = None if unit_factors is None else (cells.structure.stages[0].unit,
                                                           unit_factors)

    # Variance -------------------------------------------------------------------------------
    def svrvar(self, thetas: np.ndarray, full: np.ndarray) -> np.ndarray:
        """R's svrVar for each statistic; ``thetas`` is (R, K)."""
        if self.mse:
            centre = full
        else:
            centre = thetas[self.rscales > 0].mean(axis=0)
        dev = thetas - centre[None, :]
        return self.scale * (self.rscales[:, None] * dev * dev).sum(axis=0)

    def vcov(self, stat) -> tuple[np.ndarray, np.ndarray]:
        """The values of a statistic (:mod:`.statistic`) and their covariance matrix from
        its values in every replicate (R's ``svrVar`` of ``withReplicates``)."""
        theta = np.asarray(stat.at(self.w[:, None]), dtype=float)[:, 0]
        reps = np.asarray(stat.at(self.rw), dtype=float).T       # (R, K)
        centre = theta if self.mse else reps[self.rscales > 0].mean(axis=0)
        dev = reps - centre[None, :]
        return theta, self.scale * (dev * self.rscales[:, None]).T @ dev

    def _sums(self, values: np.ndarray, col: np.ndarray, K: int, rows: np.ndarray):
        """Full-sample and replicate sums of ``values`` by column: (K,), (R, K)."""
        idx = np.flatnonzero(rows)
        by_unit = self._by_unit
        if by_unit is not None:
            unit, F = by_unit
            A = np.bincount(unit[idx] * K + col[idx], weights=values[idx] * self.w[idx],
                            minlength=F.shape[0] * K).reshape(F.shape[0], K)
            return A.sum(axis=0), F.T @ A
        S = sparse.csr_matrix((values[idx], (idx, col[idx])), shape=(len(values), K))
        full = np.asarray(S.T @ self.w).ravel()
        reps = np.asarray((S.T @ self.rw)).T
        return full, reps

    def subset(self, rows: np.ndarray) -> tuple[np.ndarray, int]:
        """R's ``design[rows, ]`` of a replicate design: the rows (R drops the others) and
        its ``degf``, recomputed as R does: the rank of the rows' replicate weights - 1."""
        pos = rows & (self.w > 0)
        if not pos.any():
            return np.asarray(rows, bool), -1
        by_unit = self._by_unit
        if by_unit is not None:     # the rows' weight ratios are their units' factors
            unit, F = by_unit
            return np.asarray(rows, bool), weights_rank(F[np.unique(unit[pos])]) - 1
        return np.asarray(rows, bool), weights_rank(
            _distinct_rows(self.rw[pos] / self.w[pos, None])) - 1

    def domain_df(self, dom: Domains) -> np.ndarray:
        """R: ``degf(subset(repdesign, ...))`` = rank of the domain rows' weights - 1."""
        if not dom.by:
            return np.full(dom.D, self.degf)
        cached = self._df_cache.get(dom.by)
        if cached is not None and len(cached) == dom.D:
            return cached
        out = np.zeros(dom.D, dtype=np.int64)
        pos = self.w > 0
        for k in range(dom.D):
            rows = pos & (dom.codes == k)
            if not rows.any():
                out[k] = -1
                continue
            out[k] = self.subset(rows)[1]
        out.flags.writeable = False
        self._df_cache[dom.by] = out
        return out

    def _valid(self, y_missing: np.ndarray, dom: Domains, variable: str,
               na_rm: bool) -> np.ndarray:
        """Rows in a domain with positive weight and a value; missing values raise without
        ``na_rm``."""
        valid = (dom.codes >= 0) & (self.w > 0)
        if not na_rm:
            bad = y_missing & valid
            if bad.any():
                raise VariableError(f"column {variable!r} has {int(bad.sum())} missing values",
                                    argument="na_rm", value=False,
                                    fix="pass na_rm=True to estimate over the rows that have "
                                        "a value (R: na.rm=TRUE)")
        return valid & ~y_missing

    def _counts(self, dom: Domains, valid: np.ndarray):
        """Respondents, Kish's effective sample size and sums of weights per domain."""
        w = self.w
        d = np.where(valid, dom.codes, 0)
        wv = np.where(valid, w, 0.0)
        sw = np.bincount(d, weights=wv, minlength=dom.D)
        sw2 = np.bincount(d, weights=wv * wv, minlength=dom.D)
        n = np.bincount(d, weights=(valid & (w > 0)).astype(float), minlength=dom.D)
        with np.errstate(invalid="ignore", divide="ignore"):
            n_eff = sw * sw / sw2
        return n, n_eff, sw

    # Estimates -----------------------------------------------------------------------------
    def ratio(self, variable: str, dom: Domains, na_rm: bool, *, total: bool) -> Ratio:
        y = self.structure.numeric(variable)
        valid = self._valid(np.isnan(y), dom, variable, na_rm)
        d = np.where(valid, dom.codes, 0)
        den_f, den_r = self._sums(np.ones(len(y)), d, dom.D, valid)
        num_f, num_r = self._sums(np.where(valid, y, 0.0), d, dom.D, valid)
        if total:
            est, reps = num_f, num_r
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                est, reps = num_f / den_f, num_r / den_r
        var = self.svrvar(reps, est)
        n, n_eff, sw = self._counts(dom, valid)
        return Ratio(est, var, self.domain_df(dom), n, n_eff, total,
                     context=(y, dom, valid, sw, reps))

    def deff(self, ratio: Ratio, deff, *, binary: bool = False) -> np.ndarray:
        """R's svymean/svytotal.svyrep.design deff: svyvar / n * (N - n)/N, n = rows."""
        y, dom, valid, sw, _ = ratio.context
        d = np.where(valid, dom.codes, 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = ratio.estimate / sw if ratio.total else ratio.estimate
        resid = np.where(valid, y - mean[d], 0.0)
        rows = (dom.codes >= 0) & ~np.isnan(y)
        n_rows = np.bincount(dom.codes[rows], minlength=dom.D).astype(float)
        wv = np.where(valid, self.w, 0.0)
        ss = np.bincount(d, weights=wv * resid * resid, minlength=dom.D)
        return self._srs_deff(ratio.var, ss, sw, n_rows, deff, total=ratio.total)

    @staticmethod
    def _srs_deff(var, ss, sw, n_rows, deff, *, total: bool) -> np.ndarray:
        """The variance over that of SRS of ``n_rows`` rows (R counts every row of the domain
        with a value): ``ss`` is the weighted sum of squares about the mean."""
        with np.errstate(invalid="ignore", divide="ignore"):
            vy = ss / sw * n_rows / (n_rows - 1)
            vsrs = vy / n_rows
            if deff != "replace":
                vsrs = vsrs * (sw - n_rows) / sw
            if total:
                vsrs = vsrs * sw * sw
            return var / vsrs

    def proportion_rows(self, ratio: Ratio, dom: Domains) -> np.ndarray:
        return np.bincount(dom.codes[dom.codes >= 0], minlength=dom.D).astype(float)

    def adjust_interval(self, result: Ratio | Shares, method: str, df, level: float, low,
                        high):
        """R's svyciprop(method="logit") on replicate designs: the variance of the logit is
        that of the replicates' logits (svyglm refits the model in every replicate)."""
        if method != "logit":
            return low, high
        p, reps = result.estimate, result.context[-1]
        interior = (p > 0) & (p < 1)
        if not interior.any():
            return low, high
        with np.errstate(invalid="ignore", divide="ignore"):
            eta = logit(p)
            var_eta = self.svrvar(logit(reps), eta)
            q = t_quantile(level, df)
            lo = expit(eta - q * np.sqrt(var_eta))
            hi = expit(eta + q * np.sqrt(var_eta))
        return np.where(interior, lo, low), np.where(interior, hi, high)

    def shares(self, variable: str, dom: Domains, na_rm: bool) -> Shares:
        codes, cats = self.structure.factor(variable, "variable")
        C = len(cats)
        valid = self._valid(codes < 0, dom, variable, na_rm)
        D = dom.D
        d = np.where(valid, dom.codes, 0)
        cell = d * C + np.where(valid, codes, 0)
        ones = np.ones(len(codes))
        num_f, num_r = self._sums(ones, cell, D * C, valid)
        den_f, den_r = self._sums(ones, d, D, valid)
        col_domain = np.repeat(np.arange(D), C)
        with np.errstate(invalid="ignore", divide="ignore"):
            p = num_f / den_f[col_domain]
            reps = num_r / den_r[:, col_domain]
        var = self.svrvar(reps, p)
        n, n_eff, _ = self._counts(dom, valid)
        count = np.bincount(cell, weights=(valid & (self.w > 0)).astype(float),
                            minlength=D * C)
        n_rows = np.bincount(dom.codes[dom.codes >= 0], minlength=D).astype(float)
        answered = (dom.codes >= 0) & (codes >= 0)
        n_answered = np.bincount(dom.codes[answered], minlength=D).astype(float)
        return Shares(cats, p, var, self.domain_df(dom)[col_domain], n[col_domain],
                      n_eff[col_domain], count.astype(np.int64), num_f, n_rows[col_domain],
                      context=(den_f[col_domain], n_answered[col_domain], reps))

    def shares_deff(self, shares: Shares, deff) -> np.ndarray:
        """R's deff of ``svymean(~factor, repdesign)``: each category's indicator, whose sum
        of squares about its mean ``p`` is ``sw p (1 - p)``."""
        sw, n_answered, _ = shares.context
        p = shares.estimate
        return self._srs_deff(shares.var, sw * p * (1 - p), sw, n_answered, deff, total=False)
