"""The replicate-weight design: :class:`ReplicateDesign`.

Holds the full-sample and replicate weights and gives them to the replicate engine
(:mod:`.replication`, R's ``svrVar``); its estimators are those of :mod:`.estimators`, with
the checks of :class:`~analysis.SurveyDesign`'s.  Raking, calibration and post-stratification
are redone inside every replicate (R: ``calibrate()``/``postStratify()`` of a ``svrep.design``)
with the array functions of :mod:`analysis.weighting`, so the replicate variance reflects the
calibration.

Depends on :mod:`.structure`, :mod:`.cells`, :mod:`.replication`, :mod:`.estimators` and
:mod:`analysis.weighting`; takes a :class:`~analysis.SurveyDesign` through its public
attributes only.
"""
from __future__ import annotations

from typing import Literal, Mapping, Protocol, Sequence

import numpy as np
import pandas as pd
from scipy import sparse

from ..errors import ConvergenceError, ReplicateError
from ..weighting import (calibration_variables, ipf, margin_variables, poststratification,
                         raking_cells)
from ..weighting import (calibration_bounds, calibration_label, calibration_model,
                         replicate_calibration)
from .cells import CellSums
from .estimators import Estimators
from .replication import (Replicates, bootstrap_factors, brr_factors, jkn_factors,
                          replicate_weights, weights_rank)
from .structure import Structure

__all__ = ["ReplicateDesign"]


class FullSampleDesign(Protocol):
    """What a replicate design takes from its full-sample design (a SurveyDesign)."""

    structure: Structure
    weights: pd.Series
    history: tuple

    def describe(self) -> str: ...


class ReplicateDesign(Estimators):
    """A design with replicate weights (built by :meth:`SurveyDesign.replicate`).

    Its estimators (``mean``, ``total``, ``proportion``, ``frequencies``) are those of
    :class:`~analysis.SurveyDesign`, with the same checks; the variance is R's ``svrVar``::

        v = scale * sum_r rscales[r] * (theta_r - centre)^2

    with ``centre`` the mean of the replicate estimates (R's default, ``mse=FALSE``) or the
    full-sample estimate (``mse=True``).  Not available: the ``likelihood`` interval.

    Attributes
    ----------
    method : str
        ``"JKn"``, ``"bootstrap"``, ``"BRR"`` or ``"Fay"``.
    scale : float
    rscales : ndarray
    mse : bool
    degf : int
        Degrees of freedom, as R's ``degf`` of a replicate design: the rank of the replicate
        weight matrix minus one (recomputed after :meth:`poststratify`, as R's
        ``postStratify`` does; kept by :meth:`rake`, as R's ``calibrate``).

    Examples
    --------
    >>> rep = des.replicate("jkn")                    # doctest: +SKIP
    >>> rep.mean("api00").to_frame()                  # doctest: +SKIP
    >>> # In R: svymean(~api00, as.svrepdesign(des, type="JKn"))
    """

    def __init__(self, cells: CellSums, weights: np.ndarray, repweights: np.ndarray, *,
                 method: str, scale: float, rscales, mse: bool, degf: int,
                 base: tuple[str, tuple], history: tuple,
                 unit_factors: np.ndarray | None = None) -> None:
        self._s: Structure = cells.structure
        self._cells = cells
        self._w = np.array(weights, dtype=float)
        self._w.flags.writeable = False
        self._rw = np.asarray(repweights, dtype=float)
        self._rw.flags.writeable = False
        self.method = method
        self.scale = float(scale)
        self.rscales = np.asarray(rscales, dtype=float)
        self.mse = bool(mse)
        self.degf = int(degf)
        self._base = base   # the full-sample design's description and history
        self._history = history
        super().__init__(Replicates(cells, self._w, self._rw, method=method, scale=self.scale,
                                    rscales=self.rscales, mse=self.mse, degf=self.degf,
                                    unit_factors=unit_factors))

    # Construction -----------------------------------------------------------------------
    @classmethod
    def from_design(cls, design: FullSampleDesign, *, method: str = "jkn",
                    replicates: int = 500, seed: int | None = None,
                    mse: bool = False, fay_rho: float | None = None) -> "ReplicateDesign":
        """Build JKn, bootstrap, BRR or Fay replicate weights for ``design`` (see
        :meth:`SurveyDesign.replicate`)."""
        method_l = str(method).lower()
        if method_l not in ("jkn", "bootstrap", "brr", "fay"):
            raise ReplicateError("unknown replicate method", argument="method", value=method,
                                 fix="use 'jkn', 'bootstrap', 'brr' or 'fay'")
        if fay_rho is not None and method_l != "fay" and not (method_l == "brr"
                                                               and fay_rho == 0):
            raise ReplicateError(f"fay_rho applies to method='fay' only, not {method!r}",
                                 argument="fay_rho", value=fay_rho,
                                 fix="leave fay_rho out, or use method='fay'")
        if method_l == "jkn":
            factors, scale, rscales = jkn_factors(design.structure)
            name = "JKn"
        elif method_l in ("brr", "fay"):
            rho = 0.0 if method_l == "brr" else (0.5 if fay_rho is None else fay_rho)
            if not (isinstance(rho, (int, float, np.integer, np.floating))
                    and 0 <= float(rho) < 1):
                raise ReplicateError("fay_rho must be a number in [0, 1)",
                                     argument="fay_rho", value=fay_rho,
                                     fix="use e.g. fay_rho=0.5 (R's fay.rho)")
            factors, scale, rscales = brr_factors(design.structure, float(rho))
            # R: type "Fay" with fay.rho = 0 is BRR
            name = "Fay" if rho > 0 else "BRR"
        else:
            factors, scale, rscales = bootstrap_factors(design.structure, replicates, seed)
            name = "bootstrap"
        return cls.from_factors(design, factors, method=name, scale=scale, rscales=rscales,
                                mse=mse, per="psu")

    @classmethod
    def from_factors(cls, design: FullSampleDesign, factors: np.ndarray, *, method: str,
                     scale: float, rscales, mse: bool = False,
                     per: str = "auto") -> "ReplicateDesign":
        """A replicate design from multipliers of the design weights.

        Parameters
        ----------
        design : SurveyDesign
        factors : array-like
            Either one row per data row (constant within each PSU) or, when the number of
            rows differs from the number of data rows, one row per first-stage PSU in the
            order of ``design.psu_codes``; one column per replicate.  Replicate weights are
            ``weight * factor``.
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
        if per not in ("auto", "row", "psu"):
            raise ReplicateError("unknown layout of the factors", argument="per", value=per,
                                 fix="use 'auto', 'row' or 'psu'")
        w = design.weights.to_numpy()
        rw, degf, unit_factors = replicate_weights(design.structure, w, factors, per=per,
                                                   n_rscales=len(np.asarray(rscales).ravel()))
        return cls(CellSums(design.structure, w), w, rw, method=method, scale=scale,
                   rscales=rscales, mse=mse, degf=degf,
                   base=(design.describe(), design.history), history=design.history,
                   unit_factors=unit_factors)

    # Properties ---------------------------------------------------------------------------
    @property
    def weights(self) -> pd.Series:
        """Full-sample analysis weights."""
        return pd.Series(np.array(self._w), index=self._s.data.index, name="weight")

    @property
    def replicate_weights(self) -> pd.DataFrame:
        """The replicate weights (rows x replicates), a copy."""
        return pd.DataFrame(np.array(self._rw), index=self._s.data.index,
                            columns=[f"rep{r + 1}" for r in range(self._rw.shape[1])])

    @property
    def n_replicates(self) -> int:
        return int(self._rw.shape[1])

    @property
    def n_effective(self) -> float:
        """Kish's effective sample size of the full-sample weights."""
        return float(self._w.sum() ** 2 / np.square(self._w).sum())

    def describe(self) -> str:
        description, history = self._base
        parts = [f"{self.method} replicate weights ({self.n_replicates} replicates)",
                 description]
        parts.extend(h for h in self._history if h not in history)
        return ", ".join(parts)

    def __repr__(self) -> str:
        return f"<ReplicateDesign {self.describe()}>"

    def _derive(self, w: np.ndarray, rw: np.ndarray, history: str, *,
                degf: int | None = None) -> "ReplicateDesign":
        return ReplicateDesign(self._cells, w, rw, method=self.method, scale=self.scale,
                               rscales=self.rscales, mse=self.mse,
                               degf=self.degf if degf is None else degf, base=self._base,
                               history=self._history + (history,))

    # Weighting inside replicates ------------------------------------------------------
    def _cell_matrix(self, cell: np.ndarray, n_cells: int) -> sparse.csr_matrix:
        """Rows of positive weight by cell (the indicator matrix ``E``)."""
        pos = self._w > 0
        return sparse.csr_matrix((np.ones(int(pos.sum())), (np.flatnonzero(pos), cell[pos])),
                                 shape=(len(pos), n_cells))

    def rake(self, margins: Mapping[str, Mapping], max_iter: int = 100,
             tol: float = 1e-10) -> "ReplicateDesign":
        """Rake the full-sample weights and every replicate to ``margins``.

        The degrees of freedom stay those of the replicate design (R's ``calibrate`` keeps
        them).

        Examples
        --------
        >>> rep.rake({"stype": {...}, "sch.wide": {...}})          # doctest: +SKIP
        >>> # In R: calibrate(repdes, list(~stype, ~sch.wide), list(pop1, pop2),
        >>> #                 calfun="raking")
        """
        pos = self._w > 0
        parts = self._s.calibration_factors(margin_variables(margins), pos, "margins")
        cells = raking_cells(self._w, parts, margins, tol)
        targets, labels, names = cells.targets, cells.labels, cells.names
        E = self._cell_matrix(cells.row_cell, cells.n_cells)
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

    def calibrate(self, totals: Mapping, *,
                  calfun: Literal["linear", "raking", "logit"] = "linear",
                  bounds: tuple[float, float] | None = None, max_iter: int = 50,
                  tol: float = 1e-7) -> "ReplicateDesign":
        """Calibrate the full-sample weights and every replicate to population totals.

        R's ``calibrate`` of a replicate design: each replicate is calibrated on its own, so
        the replicate variance reflects the calibration.  Arguments, errors and weights as
        :meth:`analysis.SurveyDesign.calibrate`; a replicate that cannot be calibrated is a
        :class:`~analysis.ConvergenceError` naming it (R warns and keeps its unconverged
        weights).  The degrees of freedom are recomputed from the new replicate weights
        (their rank minus one) after linear calibration without bounds and kept otherwise,
        as R does.

        Examples
        --------
        >>> rep.calibrate({"stype": {"E": 4421, "H": 755, "M": 1018}, "api99": 3914069})
        ... # doctest: +SKIP
        >>> # In R: calibrate(repdes, ~stype + api99, c(6194, 755, 1018, 3914069))
        """
        limits = calibration_bounds(calfun, bounds)
        model = calibration_model(self._w, totals, self._s)
        w, rw = replicate_calibration(self._w, self._rw, model, calfun=calfun, bounds=limits,
                                      max_iter=max_iter, tol=tol)
        degf = None
        if calfun == "linear" and not np.isfinite(limits).any():   # R's regcalibrate resets it
            degf = _rank_degf(w, rw)
        label = calibration_label(model, calfun, limits) + " in every replicate"
        return self._derive(w, rw, label, degf=degf)

    def poststratify(self, variables: str | Sequence[str], totals: Mapping,
                     partial: bool = False) -> "ReplicateDesign":
        """Post-stratify the full-sample weights and every replicate.

        As R's ``postStratify`` of a replicate design, the degrees of freedom are those of
        the new replicate weights (their rank minus one).

        Examples
        --------
        >>> rep.poststratify("stype", {"E": 4421, "H": 755, "M": 1018})   # doctest: +SKIP
        >>> # In R: postStratify(repdes, ~stype, pop)
        """
        pos = self._w > 0
        parts = self._s.calibration_factors(calibration_variables(variables), pos,
                                            "variables")
        w, step = poststratification(self._w, parts, totals, partial=partial)
        E = self._cell_matrix(step.cell, step.n_cells)
        rep_cells = np.asarray(E.T @ self._rw)
        pop = np.asarray(E.T @ w).ravel()
        with np.errstate(invalid="ignore", divide="ignore"):
            factor = pop[:, None] / rep_cells
        rw = np.where(pos[:, None], self._rw * factor[step.cell], 0.0)
        return self._derive(w, rw, step.label + " in every replicate",
                            degf=_rank_degf(w, rw))


def _rank_degf(w: np.ndarray, rw: np.ndarray) -> int:
    """R's ``degf`` of new replicate weights: ``qr(weights(design, "analysis"))$rank - 1``."""
    pos = w > 0
    ratios = rw[pos] / w[pos, None]
    ratios = ratios[np.isfinite(ratios).all(axis=1)]
    return weights_rank(np.unique(np.round(ratios, 10), axis=0)) - 1
