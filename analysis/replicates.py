"""Replicate-weight variance estimation: JKn jackknife and Rao-Wu bootstrap.

:meth:`analysis.SurveyDesign.replicate` builds a :class:`ReplicateDesign`.  Its estimators
have the signatures of :class:`~analysis.SurveyDesign`'s; the variance is R's ``svrVar``::

    v = scale * sum_r rscales[r] * (theta_r - centre)^2

with ``centre`` the mean of the replicate estimates (R's default, ``mse=FALSE``) or the
full-sample estimate (``mse=True``).

* ``jkn``: as R's ``as.svrepdesign(des, type="JKn")``: one replicate per PSU of every
  stratum with at least two PSUs, the PSU's weights set to 0 and the other PSUs of its
  stratum multiplied by ``n_h/(n_h - 1)``; ``rscales = (1 - f_h)(n_h - 1)/n_h`` (with the
  fpc), ``scale = 1``.  Census strata (``f_h = 0``) get no replicate.  Only the first
  stage is used (R drops later-stage fpc).
* ``bootstrap``: Rao-Wu rescaling bootstrap, as R's ``type="subbootstrap"``: in every
  stratum ``n_h - 1`` PSUs drawn with replacement, multiplier ``count * n_h/(n_h - 1)``;
  ``scale = 1/(R - 1)``, ``rscales = 1``; no finite population correction (as in R).

Raking and post-stratification of a replicate design are redone inside every replicate
(R: ``calibrate()``/``postStratify()`` of a ``svrep.design``), so the replicate variance
reflects the calibration.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import sparse

from . import _ci
from .errors import ConvergenceError, ReplicateError, VariableError
from .results import Estimate, build_table, frequency_index

__all__ = ["ReplicateDesign"]

_MAX_CELLS = 300_000_000   # n rows x replicates held in memory (8 bytes each)


class ReplicateDesign:
    """A design with replicate weights (built by :meth:`SurveyDesign.replicate`).

    Attributes
    ----------
    method : str
        ``"JKn"`` or ``"bootstrap"``.
    scale : float
    rscales : ndarray
    degf : int
        Degrees of freedom, as R's ``degf`` of a replicate design: the rank of the replicate
        weight matrix minus one.

    Examples
    --------
    >>> rep = des.replicate("jkn")                    # doctest: +SKIP
    >>> rep.mean("api00").to_frame()                  # doctest: +SKIP
    >>> # In R: svymean(~api00, as.svrepdesign(des, type="JKn"))
    """

    def __init__(self, base, weights: np.ndarray, repweights: np.ndarray, *, method: str,
                 scale: float, rscales: np.ndarray, mse: bool, degf: int,
                 history: tuple = ()) -> None:
        self._base = base
        self._w = np.asarray(weights, dtype=float)
        self._w.flags.writeable = False
        self._rw = np.asarray(repweights, dtype=float)
        self._rw.flags.writeable = False
        self.method = method
        self.scale = float(scale)
        self.rscales = np.asarray(rscales, dtype=float)
        self.mse = bool(mse)
        self.degf = int(degf)
        self._history = history

    # Construction -----------------------------------------------------------------------
    @classmethod
    def from_design(cls, design, *, method: str = "jkn", replicates: int = 500,
                    seed: int | None = None, mse: bool = False) -> "ReplicateDesign":
        """Build JKn or bootstrap replicate weights for ``design`` (see module docstring)."""
        method_l = str(method).lower()
        if method_l not in ("jkn", "bootstrap"):
            raise ReplicateError("unknown replicate method", argument="method", value=method,
                                 fix="use 'jkn' or 'bootstrap'")
        s = design._s
        # first-stage structure (also when the variance used several stages)
        psu = _first_stage_units(design)
        n_psu = int(psu.max()) + 1
        psu_stratum = np.zeros(n_psu, np.int64)
        psu_stratum[psu] = s.stratum
        n_strata = len(s.strata_labels)
        n_h = np.bincount(psu_stratum, minlength=n_strata)
        N_h = _first_stage_popsize(design, n_h)
        with np.errstate(invalid="ignore", divide="ignore"):
            f_h = np.where(np.isinf(N_h), 1.0, (N_h - n_h) / N_h)
        lonely_rule = s.lonely_psu
        lonely = (n_h == 1) & (f_h > 0)
        if method_l == "jkn":
            if lonely.any() and lonely_rule == "fail":
                raise ReplicateError(
                    "strata with a single PSU cannot be jackknifed", argument="lonely_psu",
                    value=[s.strata_labels[i] for i in np.flatnonzero(lonely)][:10],
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
            rscales = np.asarray(rscales)
            name = "JKn"
        else:
            if not isinstance(replicates, (int, np.integer)) or replicates < 2:
                raise ReplicateError("the bootstrap needs at least 2 replicates",
                                     argument="replicates", value=replicates,
                                     fix="use e.g. replicates=500")
            if lonely.any() and lonely_rule not in ("certainty", "remove"):
                raise ReplicateError(
                    "strata with a single PSU cannot be resampled", argument="lonely_psu",
                    value=[s.strata_labels[i] for i in np.flatnonzero(lonely)][:10],
                    fix="merge such strata, or use lonely_psu='certainty'")
            rng = np.random.default_rng(seed)
            factors = np.ones((n_psu, int(replicates)))
            for h in range(n_strata):
                members = np.flatnonzero(psu_stratum == h)
                m = len(members)
                if m < 2:
                    continue
                draws = rng.integers(0, m, size=(m - 1, int(replicates)))
                counts = np.zeros((m, int(replicates)))
                np.add.at(counts, (draws, np.arange(int(replicates))[None, :]), 1.0)
                factors[members] = counts * m / (m - 1)
            scale = 1.0 / (int(replicates) - 1)
            rscales = np.ones(int(replicates))
            name = "bootstrap"
        return cls.from_factors(design, factors, method=name, scale=scale, rscales=rscales,
                                mse=mse, per="psu")

    @classmethod
    def from_factors(cls, design, factors: np.ndarray, *, method: str, scale: float,
                     rscales, mse: bool = False, per: str = "auto") -> "ReplicateDesign":
        """A replicate design from multipliers of the design weights.

        Parameters
        ----------
        design : SurveyDesign
        factors : array-like
            Either one row per data row (constant within each PSU) or, when the number of
            rows differs from the number of data rows, one row per first-stage PSU in the
            order of ``design.psu_codes``; one column per replicate.  Replicate weights are ``weight * factor``.
        method : str
            A label (``"JKn"``, ``"bootstrap"``...).
        scale, rscales : float, array-like
            R's ``scale`` and ``rscales`` of ``svrVar``.
        mse : bool, default False
        per : {"auto", "row", "psu"}, default "auto"
            Whether ``factors`` has one row per data row or per PSU; ``auto`` takes rows
            when the number of rows equals the number of data rows.

        Examples
        --------
        >>> ReplicateDesign.from_factors(des, f, method="bootstrap", scale=1/99,
        ...                              rscales=np.ones(100))     # doctest: +SKIP
        >>> # In R: svrepdesign(data=d, repweights=f, weights=~w, combined.weights=FALSE,
        >>> #                   type="other", scale=1/99, rscales=rep(1, 100))
        """
        psu = _first_stage_units(design)
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
        if len(np.asarray(rscales).ravel()) != factors.shape[1]:
            raise ReplicateError("rscales needs one value per replicate", argument="rscales",
                                 value=len(np.asarray(rscales).ravel()),
                                 fix=f"give {factors.shape[1]} values")
        n, R = len(psu), factors.shape[1]
        if n * R > _MAX_CELLS:
            raise ReplicateError("too many replicate weights to hold in memory",
                                 argument="replicates", value=R,
                                 fix=f"use fewer replicates (at most {_MAX_CELLS // n})")
        w = np.array(design._w)
        rw = factors[psu] * w[:, None]
        # R: qr(weights(design, "analysis"), tol = 1e-5)$rank - 1
        sv = np.linalg.svd(factors, compute_uv=False)
        degf = int((sv > 1e-5 * sv.max()).sum()) - 1
        return cls(design, w, rw, method=method, scale=scale, rscales=np.asarray(rscales),
                   mse=mse, degf=degf, history=design._history)

    # Properties ---------------------------------------------------------------------------
    @property
    def weights(self) -> pd.Series:
        """Full-sample analysis weights."""
        return pd.Series(np.array(self._w), index=self._base.data.index, name="weight")

    @property
    def replicate_weights(self) -> pd.DataFrame:
        """The replicate weights (rows x replicates), a copy."""
        return pd.DataFrame(np.array(self._rw), index=self._base.data.index,
                            columns=[f"rep{r + 1}" for r in range(self._rw.shape[1])])

    @property
    def n_replicates(self) -> int:
        return int(self._rw.shape[1])

    @property
    def n_effective(self) -> float:
        """Kish's effective sample size of the full-sample weights."""
        return float(self._w.sum() ** 2 / np.square(self._w).sum())

    def describe(self) -> str:
        parts = [f"{self.method} replicate weights ({self.n_replicates} replicates)",
                 self._base.describe()]
        parts.extend(h for h in self._history if h not in self._base._history)
        return ", ".join(parts)

    def __repr__(self) -> str:
        return f"<ReplicateDesign {self.describe()}>"

    def _derive(self, w, rw, history: str) -> "ReplicateDesign":
        return ReplicateDesign(self._base, w, rw, method=self.method, scale=self.scale,
                               rscales=self.rscales, mse=self.mse, degf=self.degf,
                               history=self._history + (history,))

    # Variance -------------------------------------------------------------------------------
    def _svrvar(self, thetas: np.ndarray, full: np.ndarray) -> np.ndarray:
        """R's svrVar for each statistic; ``thetas`` is (R, K)."""
        if self.mse:
            centre = full
        else:
            centre = thetas[self.rscales > 0].mean(axis=0)
        dev = thetas - centre[None, :]
        return self.scale * (self.rscales[:, None] * dev * dev).sum(axis=0)

    def _sums(self, values: np.ndarray, col: np.ndarray, K: int, rows: np.ndarray):
        """Full-sample and replicate sums of ``values`` by column: (K,), (R, K)."""
        idx = np.flatnonzero(rows)
        S = sparse.csr_matrix((values[idx], (idx, col[idx])), shape=(len(values), K))
        full = np.asarray(S.T @ self._w).ravel()
        reps = np.asarray((S.T @ self._rw)).T
        return full, reps

    def _domain_df(self, dom) -> np.ndarray:
        """R: ``degf(subset(repdesign, ...))`` = rank of the domain rows' weights - 1."""
        if not dom.by:
            return np.full(dom.D, self.degf)
        out = np.zeros(dom.D, dtype=np.int64)
        pos = self._w > 0
        for k in range(dom.D):
            rows = pos & (dom.codes == k)
            if not rows.any():
                out[k] = -1
                continue
            M = self._rw[rows] / self._w[rows, None]
            M = np.unique(np.round(M, 10), axis=0)
            sv = np.linalg.svd(M, compute_uv=False)
            out[k] = int((sv > 1e-5 * sv.max()).sum()) - 1
        return out

    # Estimators -------------------------------------------------------------------------------
    def _prepare(self, variable, by, na_rm, binary=False):
        base = self._base
        y = base._binary(variable) if binary else base._numeric(variable)
        dom = base._domains(by)
        valid = (dom.codes >= 0) & (self._w > 0)
        missing = np.isnan(y) & valid
        if missing.any() and not na_rm:
            raise VariableError(f"column {variable!r} has {int(missing.sum())} missing values",
                                argument="na_rm", value=False,
                                fix="pass na_rm=True (R: na.rm=TRUE)")
        valid &= ~np.isnan(y)
        return y, dom, valid

    def _ratio(self, y, dom, valid):
        d = np.where(valid, dom.codes, 0)
        ones = np.ones(len(y))
        den_f, den_r = self._sums(ones, d, dom.D, valid)
        num_f, num_r = self._sums(np.where(valid, y, 0.0), d, dom.D, valid)
        with np.errstate(invalid="ignore", divide="ignore"):
            return num_f / den_f, num_r / den_r, den_f, num_f, num_r

    def _common_cols(self, dom, valid):
        w = self._w
        d = np.where(valid, dom.codes, 0)
        wv = np.where(valid, w, 0.0)
        sw = np.bincount(d, weights=wv, minlength=dom.D)
        sw2 = np.bincount(d, weights=wv * wv, minlength=dom.D)
        n = np.bincount(d, weights=(valid & (w > 0)).astype(float), minlength=dom.D)
        with np.errstate(invalid="ignore", divide="ignore"):
            n_eff = sw * sw / sw2
        return n, n_eff, sw

    def _logit_ci(self, p, reps, df, level, low, high):
        """R's svyciprop(method="logit") on replicate designs: the variance of the logit is
        that of the replicates' logits (svyglm refits the model in every replicate)."""
        from scipy.special import expit, logit

        interior = (p > 0) & (p < 1)
        if not interior.any():
            return low, high
        with np.errstate(invalid="ignore", divide="ignore"):
            eta = logit(p)
            var_eta = self._svrvar(logit(reps), eta)
            q = _ci.t_quantile(level, df)
            lo = expit(eta - q * np.sqrt(var_eta))
            hi = expit(eta + q * np.sqrt(var_eta))
        low = np.where(interior, lo, low)
        high = np.where(interior, hi, high)
        return low, high

    def _deff(self, var, y, dom, valid, est, sw, statistic, deff):
        """R's svymean/svytotal.svyrep.design deff: svyvar / n * (N - n)/N, n = rows."""
        w = self._w
        d = np.where(valid, dom.codes, 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = est if statistic != "total" else est / sw
        resid = np.where(valid, y - mean[d], 0.0)
        rows = (dom.codes >= 0) & ~np.isnan(y)
        n_rows = np.bincount(dom.codes[rows], minlength=dom.D).astype(float)
        wv = np.where(valid, w, 0.0)
        ss = np.bincount(d, weights=wv * resid * resid, minlength=dom.D)
        with np.errstate(invalid="ignore", divide="ignore"):
            vy = ss / sw * n_rows / (n_rows - 1)
            vsrs = vy / n_rows
            if deff != "replace":
                vsrs = vsrs * (sw - n_rows) / sw
            if statistic == "total":
                vsrs = vsrs * sw * sw
            return var / vsrs

    def mean(self, variable: str, by=None, level: float = 0.95, deff=False,
             na_rm: bool = True) -> Estimate:
        """Replicate-variance mean (R: ``svymean(~y, repdesign)``); see SurveyDesign.mean."""
        return self._mean_like("mean", variable, by, level, deff, na_rm)

    def total(self, variable: str, by=None, level: float = 0.95, deff=False,
              na_rm: bool = True) -> Estimate:
        """Replicate-variance total (R: ``svytotal(~y, repdesign)``)."""
        return self._mean_like("total", variable, by, level, deff, na_rm)

    def _mean_like(self, statistic, variable, by, level, deff, na_rm):
        y, dom, valid = self._prepare(variable, by, na_rm)
        ratio_f, ratio_r, den_f, num_f, num_r = self._ratio(y, dom, valid)
        est, reps = (num_f, num_r) if statistic == "total" else (ratio_f, ratio_r)
        var = self._svrvar(reps, est)
        se = np.sqrt(var)
        df = self._domain_df(dom)
        low, high = _ci.wald_ci(est, se, df, level)
        n, n_eff, sw = self._common_cols(dom, valid)
        deff_v = (self._deff(var, y, dom, valid, est, sw, statistic, deff) if deff
                  else np.full(dom.D, np.nan))
        table = build_table(dom.index, {"estimate": est, "se": se, "ci_low": low,
                                        "ci_high": high, "df": df, "n": n, "n_eff": n_eff,
                                        "deff": deff_v})
        return Estimate(statistic, variable, dom.by, level, "t", self.method,
                        self.describe(), table)

    def proportion(self, variable: str, by=None, ci_method: str = "logit",
                   level: float = 0.95, deff=False, na_rm: bool = True) -> Estimate:
        """Replicate-variance proportion with the CI methods of SurveyDesign.proportion.

        ``likelihood`` is not available with replicate weights.
        """
        if ci_method not in _ci.CI_METHODS or ci_method == "likelihood":
            raise VariableError("unknown or unsupported interval method for replicate designs",
                                argument="ci_method", value=ci_method,
                                fix="use logit, beta, mean, asin or wilson")
        y, dom, valid = self._prepare(variable, by, na_rm, binary=True)
        p, reps, den_f, _, _ = self._ratio(y, dom, valid)
        var = self._svrvar(reps, p)
        df = self._domain_df(dom)
        n, n_eff, sw = self._common_cols(dom, valid)
        n_rows = np.bincount(dom.codes[dom.codes >= 0], minlength=dom.D).astype(float)
        low, high, notes = _ci.proportion_ci(ci_method, p, var, df, level,
                                             n_design_rows=n_rows, n_kish=n_eff)
        if ci_method == "logit":
            low, high = self._logit_ci(p, reps, df, level, low, high)
        deff_v = (self._deff(var, y, dom, valid, p, sw, "mean", deff) if deff
                  else np.full(dom.D, np.nan))
        table = build_table(dom.index, {"estimate": p, "se": np.sqrt(var), "ci_low": low,
                                        "ci_high": high, "df": df, "n": n, "n_eff": n_eff,
                                        "deff": deff_v})
        return Estimate("proportion", variable, dom.by, level, ci_method, self.method,
                        self.describe(), table, tuple(notes))

    def frequencies(self, variable: str, by=None, ci_method: str = "logit",
                    level: float = 0.95, na_rm: bool = True) -> Estimate:
        """Replicate-variance distribution of a categorical answer (see SurveyDesign)."""
        if ci_method not in _ci.CI_METHODS or ci_method == "likelihood":
            raise VariableError("unknown or unsupported interval method for replicate designs",
                                argument="ci_method", value=ci_method,
                                fix="use logit, beta, mean, asin or wilson")
        base = self._base
        codes, cats = base._factor(variable, "variable")
        C = len(cats)
        dom = base._domains(by)
        valid = (dom.codes >= 0) & (self._w > 0)
        if (valid & (codes < 0)).any() and not na_rm:
            raise VariableError(f"column {variable!r} has missing values", argument="na_rm",
                                value=False, fix="pass na_rm=True")
        valid &= codes >= 0
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
        var = self._svrvar(reps, p)
        n, n_eff, sw = self._common_cols(dom, valid)
        count = np.bincount(cell, weights=(valid & (self._w > 0)).astype(float),
                            minlength=D * C)
        n_rows = np.bincount(dom.codes[dom.codes >= 0], minlength=D).astype(float)
        df = self._domain_df(dom)[col_domain]
        low, high, notes = _ci.proportion_ci(ci_method, p, var, df, level,
                                             n_design_rows=n_rows[col_domain],
                                             n_kish=n_eff[col_domain])
        if ci_method == "logit":
            low, high = self._logit_ci(p, reps, df, level, low, high)
        index = frequency_index(dom.index, dom.by, cats, variable)
        table = build_table(index, {"estimate": p, "se": np.sqrt(var), "ci_low": low,
                                    "ci_high": high, "df": df, "n": n[col_domain],
                                    "n_eff": n_eff[col_domain],
                                    "deff": np.full(D * C, np.nan),
                                    "count": count.astype(np.int64), "weighted_count": num_f})
        return Estimate("frequencies", variable, dom.by, level, ci_method, self.method,
                        self.describe(), table, tuple(notes))

    # Weighting inside replicates ------------------------------------------------------
    def rake(self, margins: Mapping[str, Mapping], max_iter: int = 100,
             tol: float = 1e-10) -> "ReplicateDesign":
        """Rake the full-sample weights and every replicate to ``margins``.

        Examples
        --------
        >>> rep.rake({"stype": {...}, "sch.wide": {...}})          # doctest: +SKIP
        >>> # In R: calibrate(repdes, list(~stype, ~sch.wide), list(pop1, pop2),
        >>> #                 calfun="raking")
        """
        from .weighting import _raking_setup, ipf

        base = self._base
        cells, targets, labels, names = _raking_setup(base, margins, tol, weights=self._w)
        pos = base._w > 0
        C = cells.n_cells
        E = sparse.csr_matrix((np.ones(int(pos.sum())),
                               (np.flatnonzero(pos), cells.row_cell[pos])),
                              shape=(len(pos), C))
        full_cells = np.asarray(E.T @ self._w).ravel()
        rep_cells = np.asarray(E.T @ self._rw)
        g, it, gap, worst = ipf(full_cells, cells.cell_cats, targets, max_iter=max_iter,
                                tol=tol)
        gr, itr, gapr, worstr = ipf(rep_cells, cells.cell_cats, targets, max_iter=max_iter,
                                    tol=tol)
        for g_it, g_gap, g_worst, what in ((it, gap, worst, "the full sample"),
                                           (itr, gapr, worstr, "a replicate")):
            if g_gap > tol:
                var, k = g_worst
                raise ConvergenceError(
                    f"raking of {what} did not converge in {g_it} iterations: worst gap "
                    f"{g_gap:.3g} for {names[var]}={labels[var][k]!r}", iterations=g_it,
                    max_gap=g_gap, worst_margin=(names[var], labels[var][k]),
                    argument="max_iter",
                    fix="raise max_iter, or collapse categories (a replicate may have lost "
                        "every respondent of a category)")
        w = np.where(pos, self._w * g[cells.row_cell], 0.0)
        rw = np.where(pos[:, None], self._rw * gr[cells.row_cell], 0.0)
        return self._derive(w, rw, "raked on " + ", ".join(names) + " in every replicate")

    def poststratify(self, variables: str | Sequence[str], totals: Mapping,
                     partial: bool = False) -> "ReplicateDesign":
        """Post-stratify the full-sample weights and every replicate.

        Examples
        --------
        >>> rep.poststratify("stype", {"E": 4421, "H": 755, "M": 1018})   # doctest: +SKIP
        >>> # In R: postStratify(repdes, ~stype, pop)
        """
        from .weighting import poststratify

        ps = poststratify(self._base._derive(self._base, self._w, cal=()), variables, totals,
                          partial=partial)
        step = ps._cal[-1]
        pos = self._w > 0
        C = step.n_cells
        E = sparse.csr_matrix((np.ones(int(pos.sum())), (np.flatnonzero(pos), step.cell[pos])),
                              shape=(len(pos), C))
        rep_cells = np.asarray(E.T @ self._rw)
        pop = np.asarray(E.T @ ps._w).ravel()
        with np.errstate(invalid="ignore", divide="ignore"):
            factor = pop[:, None] / rep_cells
        rw = np.where(pos[:, None], self._rw * factor[step.cell], 0.0)
        return self._derive(np.array(ps._w), rw, step.label + " in every replicate")


def _first_stage_units(design) -> np.ndarray:
    s = design._s
    return s.stages[0].unit


def _first_stage_popsize(design, n_h: np.ndarray) -> np.ndarray:
    st = design._s.stages[0]
    return np.asarray(st.stratum_N, dtype=float)
