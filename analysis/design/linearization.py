"""The linearisation variance engine, as R's ``svyrecvar``.

:class:`Linearization` estimates the variance of a domain mean, total or share from the sums
of its influence values by last-stage unit and by calibration cell (:mod:`.cells`): the
calibration steps replace the influence values by their residuals (``postStratify``,
``calibrate``, also with continuous auxiliaries), every stage with an fpc adds its term (R's
``multistage``), and the strata apply R's lonely-PSU rules.  The domain degrees of freedom
are those of ``svyby``: PSUs minus strata among the domain's rows of positive weight.

Depends on :mod:`.structure`, :mod:`.cells`, :mod:`.engine` and :mod:`analysis._ci`.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse

from .._ci import CI_METHODS, LikelihoodInputs
from ..errors import VariableError
from ..weighting import CalibrationStep
from .cells import CellSums, Domains, EngineColumns
from .engine import Ratio, Shares
from .statistic import DENSE_CELLS
from .structure import CERTAINTY_F, Stage, Structure

__all__ = ["Linearization"]


def bincount2(code: np.ndarray, K: int, col: np.ndarray, n_codes: int,
              values: np.ndarray) -> np.ndarray:
    """Sum ``values`` by ``(code, col)`` into an ``(n_codes, K)`` array."""
    out = np.bincount(code * K + col, weights=values, minlength=n_codes * K)
    return out.reshape(n_codes, K)


def ratio_influence(B0: list, B1: list, ratio: np.ndarray, sw: np.ndarray) -> list:
    """``(B1 - B0 * ratio) / sw`` at every level: the sums of a ratio's linearised values
    (computed in place: the tables are large)."""
    out = []
    for b0, b1 in zip(B0, B1):
        z = b0 * ratio
        np.subtract(b1, z, out=z)
        z /= sw
        out.append(z)
    return out


class Linearization(EngineColumns):
    """Taylor-linearisation variances of one design (structure, weights, calibration).

    Parameters
    ----------
    structure : Structure
    w : ndarray
        Analysis weights (read-only).
    cal : tuple of CalibrationStep
        Calibration steps applied, in order.
    """

    name = "linearization"
    interval_methods = CI_METHODS

    def __init__(self, structure: Structure, w: np.ndarray, cal: tuple) -> None:
        self.structure = structure
        self.w = w
        self.cal = cal
        self.cells = CellSums(structure, w, cal)
        self._cache: dict = {}

    def degf(self) -> int:
        """PSUs minus strata among rows of non-zero weight."""
        return self.subset(np.ones(self.structure.n, bool))[1]

    def subset(self, rows: np.ndarray) -> tuple[np.ndarray, int]:
        """R's ``design[rows, ]``: the rows it keeps (a calibrated design keeps every row,
        at weight zero outside ``rows``) and its ``degf`` (PSUs minus strata among ``rows``
        of non-zero weight)."""
        inset = rows & (self.w != 0)
        st = self.structure.stages[0]
        n_psu = np.count_nonzero(np.bincount(st.unit[inset], minlength=st.n_units))
        n_str = np.count_nonzero(np.bincount(self.structure.stratum[inset],
                                             minlength=len(self.structure.strata_labels)))
        kept = np.ones(len(rows), bool) if self.cal else np.asarray(rows, bool)
        return kept, int(n_psu - n_str)

    # Estimates -----------------------------------------------------------------------------
    def ratio(self, variable: str, dom: Domains, na_rm: bool, *, total: bool) -> Ratio:
        """Domain means (ratios to the weights) or totals of ``variable`` and their
        linearised variances."""
        B0, B1, sw, swy, n, sw2, missing = self.cells.sums(variable, dom, na_rm)
        with np.errstate(invalid="ignore", divide="ignore"):
            if total:
                est = swy
                Zs = B1
            else:
                est = swy / sw
                Zs = ratio_influence(B0, B1, est, sw)
        var = self.variance(Zs, col_domain=np.arange(dom.D),
                            presence=self._presence(dom, missing))
        with np.errstate(invalid="ignore", divide="ignore"):
            n_eff = sw * sw / sw2
        return Ratio(est, var, self.domain_df(dom), n, n_eff, total,
                     context=(variable, dom, missing, sw, swy))

    def deff(self, ratio: Ratio, deff, *, binary: bool = False) -> np.ndarray:
        """R's deff: the variance over that of SRS without (``"replace"``: with) replacement."""
        variable, dom, missing, sw, swy = ratio.context
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = swy / sw
        if binary:   # y is 0/1: the sum of squares about the mean is sw p (1 - p)
            ss = sw * mean * (1 - mean)
        else:
            ss = self._sum_squares(variable, dom, missing, mean)
        n = ratio.n
        with np.errstate(invalid="ignore", divide="ignore"):
            vy = ss / sw * n / (n - 1)             # svyvar
            vsrs = vy / n if deff == "replace" else vy * (sw - n) / (sw * n)
            if ratio.total:
                vsrs = vsrs * sw * sw
            return np.where(n > 1, ratio.var / vsrs, np.nan)

    def _sum_squares(self, column: str, dom: Domains, missing, mean) -> np.ndarray:
        """Weighted sum of squares of ``column`` about each domain's mean (one pass)."""
        rows = dom.codes >= 0
        if missing is not None:
            rows &= ~missing
        d = dom.codes[rows]
        resid = self.structure.zeroed(column)[rows] - mean[d]
        return np.bincount(d, weights=self.w[rows] * resid * resid, minlength=dom.D)

    def proportion_rows(self, ratio: Ratio, dom: Domains) -> np.ndarray:
        return self._design_rows(dom)

    def proportion_likelihood(self, ratio: Ratio, variable: str, dom: Domains) -> LikelihoodInputs:
        _, _, _, sw, _ = ratio.context
        y = self.structure.numeric(variable)
        valid = (dom.codes >= 0) & ~np.isnan(y)
        return self._likelihood_inputs(y, dom, valid, np.where(valid, dom.codes, 0),
                                      ratio.estimate, sw)

    def adjust_interval(self, result: Ratio | Shares, method: str, df, level: float, low,
                        high):
        return low, high

    def shares(self, variable: str, dom: Domains, na_rm: bool) -> Shares:
        """Every category's share of ``variable`` in every domain, in one pass."""
        codes, cats = self.structure.factor(variable, "variable")
        C = len(cats)
        y_missing = codes < 0
        self._check_missing(y_missing if y_missing.any() else None, dom, variable, na_rm)
        lv = self.cells.levels()
        w = self.w
        D = dom.D
        K = D * C
        ok = (dom.codes >= 0) & ~y_missing
        cat = np.maximum(codes, 0)
        col_domain = np.repeat(np.arange(D), C)
        Zs, sw, swc, p = [], None, None, None
        for g, (code_g, size_g, mw_g) in enumerate(zip(lv.codes, lv.sizes, lv.mw)):
            code = np.where(ok, (code_g * D + dom.codes) * C + cat, size_g * K)
            A = np.bincount(code, weights=mw_g, minlength=size_g * K + 1)[:-1].reshape(
                size_g, D, C)
            A0 = A.sum(axis=2)
            if g == 0:
                sw = A0.sum(axis=0)
                swc = A.sum(axis=0).ravel()
                with np.errstate(invalid="ignore", divide="ignore"):
                    p = swc / sw[col_domain]
            with np.errstate(invalid="ignore", divide="ignore"):
                Zs.append(((A - p.reshape(D, C)[None] * A0[:, :, None])
                           / sw[None, :, None]).reshape(size_g, K))
        var = self.variance(Zs, col_domain=col_domain, presence=self._presence(dom, y_missing))
        d_ok = dom.codes[ok]
        c_ok = codes[ok]
        w_ok = w[ok]
        count = np.bincount(d_ok * C + c_ok, weights=(w_ok > 0).astype(float), minlength=K)
        n = count.reshape(D, C).sum(axis=1)[col_domain]
        sw2 = np.bincount(d_ok, weights=w_ok * w_ok, minlength=D)
        df = self.domain_df(dom)[col_domain]
        with np.errstate(invalid="ignore", divide="ignore"):
            n_eff = (sw * sw / sw2)[col_domain]
        return Shares(cats, p, var, df, n, n_eff, count.astype(np.int64), swc,
                      self._design_rows(dom)[col_domain],
                      context=(codes, dom, ok, sw, col_domain))

    def shares_deff(self, shares: Shares, deff) -> np.ndarray:
        # svyvar of the indicator: n/(n-1) p (1-p) within the domain
        _, _, _, sw, col_domain = shares.context
        p, nn = shares.estimate, shares.n
        with np.errstate(invalid="ignore", divide="ignore"):
            vy = p * (1 - p) * nn / (nn - 1)
            swd = sw[col_domain]
            vsrs = vy / nn if deff == "replace" else vy * (swd - nn) / (swd * nn)
            return np.where(nn > 1, shares.var / vsrs, np.nan)

    def shares_likelihood(self, shares: Shares, dom: Domains) -> LikelihoodInputs:
        codes, _, ok, sw, _ = shares.context
        return self._freq_likelihood_inputs(codes, dom, ok, shares.estimate, sw,
                                            len(shares.categories))

    def _check_missing(self, missing: np.ndarray | None, dom: Domains, column: str,
                       na_rm: bool) -> None:
        """Raise without ``na_rm`` when a row in scope lacks the value."""
        if missing is None or na_rm:
            return
        bad = missing & (dom.codes >= 0) & (self.w > 0)
        if bad.any():
            raise VariableError(f"column {column!r} has {int(bad.sum())} missing values",
                                argument="na_rm", value=False,
                                fix="pass na_rm=True to estimate over the rows that have a "
                                    "value (R: na.rm=TRUE)")

    # Degrees of freedom and variance ---------------------------------------------------------
    def domain_df(self, dom: "Domains") -> np.ndarray:
        """Degrees of freedom of each domain (R: ``degf`` of the domain's design): its PSUs
        minus its strata, counting those with rows of non-zero weight in the domain."""
        key = ("df", dom.by)
        if key not in self._cache:
            self._cache[key] = self._df_of_cells(self.cells.cell_domains(dom).n_cells)
        return self._cache[key]

    def _df_of_cells(self, cells: np.ndarray) -> np.ndarray:
        """PSUs minus strata per domain, from rows of positive weight per (last-stage unit,
        domain)."""
        upper = self.cells.levels().upper[0]
        if upper is not None:
            cells = upper @ cells
        present = (cells > 0).astype(float)            # first-stage units x domains
        strata = self.structure.stages[0].strat_matrix @ present
        return (present.sum(axis=0) - (strata > 0).sum(axis=0)).astype(np.int64)

    # Variance engine ------------------------------------------------------------------
    def variance(self, Zs: list, *, col_domain: np.ndarray | None = None,
                 presence: np.ndarray | None = None) -> np.ndarray:
        """Linearised variance from the level sums ``Zs`` of the influence values.

        ``Zs[0]`` holds the totals of the last variance-stage units, ``Zs[j]`` the
        ``c_j``-weighted totals of calibration step j's cells.  Calibration replaces the
        linearised values by their residuals (R's ``svyrecvar``); every stage adds its term
        (R's ``multistage``); strata apply the lonely-PSU rule.
        """
        total = np.zeros(Zs[0].shape[1])
        for k, st, T in self._stage_totals(Zs):
            total += self._stage_variance(st, T, first=(k == 0), col_domain=col_domain,
                                          presence=presence)
        return total

    def _stage_totals(self, Zs: list):
        """``(k, stage, T)`` for every stage: the totals ``T`` of its units of the influence
        values residualised by every calibration step (R's ``svyrecvar``), from the level
        sums ``Zs``."""
        lv = self.cells.levels()
        gammas = []
        for j, step in enumerate(self.cal):
            F = self._step_sums(Zs, j)
            for k in range(j):
                F = F - self._cal_cross(j, k) @ gammas[k]
            gammas.append(step.H @ F)
        for k, st in enumerate(self.structure.stages):
            T = Zs[0] if lv.upper[k] is None else lv.upper[k] @ Zs[0]
            for step, gamma in zip(self.cal, gammas):
                T = T - self._cal_unit_matrix(step, k) @ gamma
            yield k, st, np.asarray(T)

    def vcov(self, stat) -> tuple[np.ndarray, np.ndarray]:
        """The values of a statistic (:mod:`.statistic`) and their linearised covariance
        matrix: R's ``svyrecvar`` of the statistic's influence values."""
        theta = np.asarray(stat.at(self.w[:, None]), dtype=float)[:, 0]
        return theta, self.covariance(stat.scores(self.w))

    def covariance(self, scores) -> np.ndarray:
        """Covariance matrix of the totals of the columns of ``scores`` (rows x K, dense or
        sparse: the rows' weighted influence values), as R's ``svyrecvar``: residualised by
        every calibration step, summed by unit, with every stage's term and the lonely-PSU
        rule.  Its diagonal is :meth:`variance` of the same values."""
        lv = self.cells.levels()
        if sparse.issparse(scores) and scores.shape[0] * scores.shape[1] <= DENSE_CELLS:
            scores = scores.toarray()   # a few columns: a dense product is far cheaper
        Zs = []
        for j, (code, size, mult) in enumerate(zip(lv.codes, lv.sizes, lv.mult)):
            if not sparse.issparse(scores) and scores.shape[1] <= 64:
                # a few dense columns: one bincount each, no matrix to build
                m = np.ones(len(code)) if mult is None else np.asarray(mult, dtype=float)
                Zs.append(np.column_stack([np.bincount(code, weights=m * scores[:, k],
                                                       minlength=size)
                                           for k in range(scores.shape[1])]))
                continue
            key = ("level_matrix", j)
            if key not in self._cache:
                data = np.ones(len(code)) if mult is None else np.asarray(mult, dtype=float)
                self._cache[key] = sparse.csr_matrix(
                    (data, (code, np.arange(len(code)))), shape=(size, len(code)))
            Z = self._cache[key] @ scores
            Zs.append(Z.toarray() if sparse.issparse(Z) else np.asarray(Z))
        total = np.zeros((Zs[0].shape[1], Zs[0].shape[1]))
        for k, st, T in self._stage_totals(Zs):
            total += self._stage_covariance(st, T, first=(k == 0))
        return total

    def _stage_covariance(self, st: Stage, T: np.ndarray, *, first: bool) -> np.ndarray:
        """One stage's term of :meth:`covariance` (:meth:`_stage_variance` for every pair of
        columns; under ``"average"`` the strata counted are all the design's)."""
        lonely_rule = self.structure.lonely_psu
        n_h = st.stratum_n
        f = st.f
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = np.where(n_h > 1, f * n_h / (n_h - 1), f)
            means = (st.strat_matrix @ T) / np.maximum(n_h, 1)[:, None]
        scale = scale * st.mult
        certain = f < CERTAINTY_F
        lonely = (n_h == 1) & ~certain
        keep = np.where(certain, 0.0, scale)
        centred = T - means[st.unit_stratum]
        if lonely.any():
            if lonely_rule == "adjust":   # R: a lonely PSU's total about zero
                centred[lonely[st.unit_stratum]] = T[lonely[st.unit_stratum]]
            else:
                keep = np.where(lonely, 0.0, keep)
        V = (centred * keep[st.unit_stratum][:, None]).T @ centred
        if lonely.any() and lonely_rule == "average" and first:
            V *= st.n_strata / (st.n_strata - lonely.sum())
        return V

    def _step_sums(self, Zs: list, j: int):
        """The level sums of calibration step j stacked by block: ``E_j' (c_j * x)``."""
        start, stop = self.cells.levels().step_levels[j]
        return Zs[start] if stop - start == 1 else np.vstack(Zs[start:stop])

    def _cal_unit_matrix(self, step: CalibrationStep, k: int) -> sparse.csr_matrix:
        """Sums of the step's ``d * E`` by (stage-k unit, column of ``E``).

        Sparse although nearly dense: scipy multiplies it single-threaded, where a BLAS
        product this size would start threads, and a thread waiting for a busy core costs
        far more than the product.
        """
        key = ("cal_unit", id(step), k)
        if key not in self._cache:
            st = self.structure.stages[k]
            blocks = [bincount2(st.unit, step.n_cells, step.cell, st.n_units,
                                step.d if v is None else step.d * v) for v in step.blocks]
            self._cache[key] = sparse.csr_matrix(blocks[0] if len(blocks) == 1
                                                 else np.hstack(blocks))
        return self._cache[key]

    def _cal_cross(self, j: int, k: int) -> np.ndarray:
        """``E_j' diag(c_j d_k) E_k``: how step k's residualisation enters step j's sums."""
        key = ("cal_cross", j, k)
        if key not in self._cache:
            a, b = self.cal[j], self.cal[k]
            cd = a.c * b.d

            def values(va, vb):
                return cd if va is None and vb is None else (
                    cd * (1.0 if va is None else va) * (1.0 if vb is None else vb))
            blocks = [[bincount2(a.cell, b.n_cells, b.cell, a.n_cells, values(va, vb))
                       for vb in b.blocks] for va in a.blocks]
            self._cache[key] = blocks[0][0] if len(blocks) == 1 == len(blocks[0]) \
                else np.block(blocks)
        return self._cache[key]

    def _stage_variance(self, st: Stage, T: np.ndarray, *, first: bool, col_domain,
                        presence) -> np.ndarray:
        lonely_rule = self.structure.lonely_psu
        n_h = st.stratum_n
        sums, sq = st.within(T)
        f = st.f
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = np.where(n_h > 1, f * n_h / (n_h - 1), f)
        scale = scale * st.mult
        contrib = sq * scale[:, None]
        certain = f < CERTAINTY_F
        contrib[certain] = 0.0
        lonely = (n_h == 1) & ~certain
        if lonely.any():
            if lonely_rule == "adjust":
                contrib[lonely] = (sums[lonely] ** 2) * scale[lonely][:, None]
            elif lonely_rule == "average" and first:
                contrib[lonely] = 0.0
                total = contrib.sum(axis=0)
                # R: sum over strata with a variance, times n_strata / n_ok_strata, where the
                # strata counted are those with rows in the (uncalibrated) domain subset.
                if presence is None or col_domain is None or self.cal:
                    n_str = np.full(T.shape[1], float(st.n_strata))
                    n_lonely = np.full(T.shape[1], float(lonely.sum()))
                else:
                    n_str = presence.sum(axis=0)[col_domain].astype(float)
                    n_lonely = presence[lonely].sum(axis=0)[col_domain].astype(float)
                with np.errstate(invalid="ignore", divide="ignore"):
                    return total * n_str / (n_str - n_lonely)
            else:
                contrib[lonely] = 0.0
        return contrib.sum(axis=0)

    def _presence(self, dom: "Domains", missing: np.ndarray | None) -> np.ndarray | None:
        """Strata x domains: does the (uncalibrated) domain subset have rows in the stratum?

        Only needed for ``lonely_psu="average"``; ``missing`` marks rows R drops (na.rm).
        """
        if self.structure.lonely_psu != "average":
            return None
        n_str = len(self.structure.strata_labels)
        rows = dom.codes >= 0
        if missing is not None:
            rows &= ~missing
        cnt = np.bincount(dom.codes[rows] + dom.D * self.structure.stratum[rows],
                          minlength=n_str * dom.D).reshape(n_str, dom.D)
        return cnt > 0


    def _design_rows(self, dom: "Domains", missing: np.ndarray | None = None) -> np.ndarray:
        """``nrow(design)`` of each domain's design as R forms it (svyciprop's beta and
        likelihood): calibrated designs keep every row in a subset (prob = Inf).  Rows in
        ``missing`` are left out."""
        if missing is None:
            if self.cal:
                return np.full(dom.D, float(self.structure.n))
            return self.cells.domain_rows(dom)
        keep = ~missing
        if self.cal:
            return np.full(dom.D, float(keep.sum()))
        keep &= dom.codes >= 0
        return np.bincount(dom.codes[keep], minlength=dom.D).astype(float)

    def _likelihood_inputs(self, y, dom, valid, d, p, sw) -> LikelihoodInputs:
        """Per-domain inputs of R's profile-likelihood interval for ``svyglm(y ~ 1)``.

        R fits the glm with prior weights rescaled to mean 1 over the rows of the domain's
        design (all rows of a calibrated design, whose other rows have weight 0); the
        dispersion of ``summary.svyglm`` is ``svyvar`` of R's Pearson residuals
        ``(y - p) sqrt(w'/w'')/sqrt(p(1 - p))``, with ``w''`` the weights rescaled to mean 1
        over the rows of the design without the missing answers (a calibrated design keeps
        every row): at the fit ``n/(n - 1)`` times the mean prior weight ``w'`` over the
        rows that answered.
        """
        w = self.w
        D = dom.D
        missing = np.isnan(y)
        with np.errstate(invalid="ignore", divide="ignore"):
            n_nz = np.bincount(d, weights=(valid & (w > 0)).astype(float), minlength=D)
            n_all = self._design_rows(dom)
            keep = dom.codes >= 0
            sw_all = np.bincount(dom.codes[keep], weights=w[keep], minlength=D)
            mean_w = sw_all / n_all
            sw_answered = np.bincount(d, weights=np.where(valid, w, 0.0), minlength=D)
            n_answered = n_all if self.cal else self._design_rows(dom, missing)
            dispersion = n_nz / (n_nz - 1) * (sw_answered / n_answered) / mean_w
            rows = valid & (w > 0)
            wp = np.where(rows, w / mean_w[d], 0.0)
            yy = np.where(rows, y, 0.0)
            m = (wp * yy + 0.5) / (wp + 1)
            vm = m * (1 - m)
            z = np.log(m / (1 - m)) + (yy - m) / vm
            s0 = np.bincount(d, weights=wp * vm, minlength=D)
            s1 = np.bincount(d, weights=wp * vm * z, minlength=D)
            dres = np.where(yy == 1, -np.log(m), -np.log(1 - m)) * 2 * wp
            dev0 = np.bincount(d, weights=dres, minlength=D)
            w1 = np.bincount(d, weights=wp * yy, minlength=D)
            w0 = np.bincount(d, weights=wp * (1 - yy), minlength=D)
        n_model = self._design_rows(dom, missing)
        return LikelihoodInputs(w1=w1, w0=w0, first_s0=s0, first_s1=s1, first_dev=dev0,
                                dispersion=dispersion, n_model_rows=n_model)

    def _freq_likelihood_inputs(self, codes, dom, valid, p, sw, C) -> LikelihoodInputs:
        D = dom.D
        K = D * C
        d = np.where(valid, dom.codes, 0)
        parts = [self._likelihood_inputs(np.where(codes < 0, np.nan, (codes == k).astype(float)),
                                        dom, valid, d, p[k::C], sw) for k in range(C)]

        def inter(attr):
            out = np.empty(K)
            for k, part in enumerate(parts):
                out[k::C] = getattr(part, attr)
            return out
        return LikelihoodInputs(**{name: inter(name) for name in (
            "w1", "w0", "first_s0", "first_s1", "first_dev", "dispersion", "n_model_rows")})