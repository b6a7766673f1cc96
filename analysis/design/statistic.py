"""Statistics as functions of the weights: what both variance engines can estimate.

A statistic of ``K`` values is given to an engine's ``vcov`` as an object with

``at(W)``
    The ``K`` values at every column of the weight matrix ``W`` (rows x m): ``(K, m)``.
    The replicate engine calls it with the full-sample weights and with the replicate
    weights (R's ``withReplicates`` / ``svrVar``).
``scores(w)``
    The rows' weighted influence values at the weights ``w``: ``(rows, K)`` (dense or
    scipy sparse), each column
    summing to zero over the rows that count.  The linearisation engine gives their
    totals to R's ``svyrecvar`` (residualised by calibration, summed by PSU and stratum).

Every estimator of the toolbox (domain means, ratios, quantiles, regression...) defines
one such object, so its variance is written once for both engines.  :class:`DomainMeans`
is the one behind ``mean``, ``total``, ``proportion`` and ``frequencies``' covariances.

Depends on nothing in the package.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy import sparse

__all__ = ["Statistic", "DomainMeans", "DENSE_CELLS"]

#: Influence values are returned as a dense (rows x K) array up to this many cells, else sparse.
DENSE_CELLS = 20_000_000


class Statistic(Protocol):
    """A statistic of ``K`` values, as a function of the weights (see the module)."""

    def at(self, W: np.ndarray) -> np.ndarray: ...

    def scores(self, w: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True, eq=False)
class DomainMeans:
    """Means (ratios to the weights) or totals of the columns of ``y`` in every domain.

    Value ``k = d * C + c`` is column ``c``'s mean (or total) over the rows of domain ``d``
    with ``valid[:, c]``; R's ``svyby(~y, ~dom, des, svymean, covmat=TRUE)``.
    """

    y: np.ndarray        # (n, C) values (0 where not valid)
    valid: np.ndarray    # (n, C) bool: the row counts for column c
    codes: np.ndarray    # (n,) domain code, -1 outside every domain
    D: int
    total: bool = False

    def _indicator(self) -> np.ndarray:
        """(n, C): the row is in a domain and counts for column c."""
        return self.valid & (self.codes >= 0)[:, None]

    def at(self, W: np.ndarray) -> np.ndarray:
        W = np.asarray(W, dtype=float)
        if W.ndim == 1:
            W = W[:, None]
        ok = self._indicator()
        d = np.where(self.codes >= 0, self.codes, 0)
        C = self.y.shape[1]
        out = np.empty((self.D * C, W.shape[1]))
        if W.shape[1] == 1:     # the full-sample weights: sums by domain, no matrix to build
            w = W[:, 0]
            for c in range(C):
                rows = np.flatnonzero(ok[:, c])
                num = np.bincount(d[rows], weights=w[rows] * self.y[rows, c], minlength=self.D)
                if self.total:
                    out[c::C, 0] = num
                    continue
                den = np.bincount(d[rows], weights=w[rows], minlength=self.D)
                with np.errstate(invalid="ignore", divide="ignore"):
                    out[c::C, 0] = num / den
            return out
        inside = np.flatnonzero(self.codes >= 0)
        by_domain = sparse.csr_matrix((np.ones(len(inside)), (d[inside], inside)),
                                      shape=(self.D, len(d)))
        for c in range(C):
            num = by_domain @ (W * np.where(ok[:, c], self.y[:, c], 0.0)[:, None])
            if self.total:
                out[c::C] = num
                continue
            den = by_domain @ (W * ok[:, c][:, None])
            with np.errstate(invalid="ignore", divide="ignore"):
                out[c::C] = num / den
        return out

    def scores(self, w: np.ndarray) -> np.ndarray:
        ok = self._indicator()
        d = np.where(self.codes >= 0, self.codes, 0)
        C = self.y.shape[1]
        n = len(d)
        theta = self.at(w)[:, 0].reshape(self.D, C)
        sw = np.zeros((self.D, C))
        for c in range(C):
            sw[:, c] = np.bincount(d, weights=np.where(ok[:, c], w, 0.0), minlength=self.D)
        rows, cols, vals = [], [], []
        for c in range(C):
            r = np.flatnonzero(ok[:, c])
            dc = d[r]
            if self.total:
                z = w[r] * self.y[r, c]
            else:
                with np.errstate(invalid="ignore", divide="ignore"):
                    z = w[r] * (self.y[r, c] - theta[dc, c]) / sw[dc, c]
            rows.append(r)
            cols.append(dc * C + c)
            vals.append(z)
        rows, cols, vals = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
        if n * self.D * C <= DENSE_CELLS:      # a few columns: dense is cheaper to build and use
            out = np.zeros((n, self.D * C))
            out[rows, cols] = vals
            return out
        # one non-zero per row and column of y: sparse, so many domains cost little at 1M rows
        return sparse.csr_matrix((vals, (rows, cols)), shape=(n, self.D * C))
