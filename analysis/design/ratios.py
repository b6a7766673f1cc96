"""Ratios of two totals and the population variance, as statistics of the weights.

:class:`DomainRatios`
    ``sum(w y) / sum(w x)`` in every domain over the rows that have both values (R's
    ``svyratio``; by domain ``svyby(~y, ~by, denominator = ~x, design, svyratio)``).  Its
    influence values are ``w (y - R x) / sum(w x)`` (R's ``svyratio.survey.design2``); on
    replicate designs it is recomputed in every replicate (R's ``svyratio.svyrep.design``:
    the ratio of the replicate means).
:class:`WeightedVariance`
    R's ``svyvar``: ``c * sum(w (y - ybar)^2) / sum(w)`` with ``c = n/(n - 1)``.  On
    linearisation designs R estimates it as ``svymean`` of ``c (y - ybar)^2`` with ``ybar``
    held at its estimate, so the influence values are those of that mean; on replicate
    designs ``ybar`` and the sum are recomputed in every replicate.  (R counts ``n``
    differently for the two: the rows of non-zero weight, with or without a value, for a
    linearisation design; the rows with a value for a replicate design.)

Depends on :mod:`.statistic` (when influence values are dense); the engines consume these
statistics.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from .statistic import DENSE_CELLS

__all__ = ["DomainRatios", "WeightedVariance"]


def _by_domain(codes: np.ndarray, D: int, rows: np.ndarray,
               values: np.ndarray) -> sparse.csr_matrix:
    """Domains x rows matrix of ``values`` at the rows ``rows`` inside a domain: its product
    with the weights sums them by domain without a rows x replicates temporary."""
    inside = np.flatnonzero(rows & (codes >= 0))
    return sparse.csr_matrix((values[inside], (codes[inside], inside)),
                             shape=(D, len(codes)))


@dataclass(frozen=True, eq=False)
class DomainRatios:
    """``sum(w y) / sum(w x)`` over the rows of domain ``d`` with ``valid`` (value ``d``)."""

    y: np.ndarray        # (n,) numerator (0 where not valid)
    x: np.ndarray        # (n,) denominator (0 where not valid)
    valid: np.ndarray    # (n,) bool: both values present
    codes: np.ndarray    # (n,) domain code, -1 outside every domain
    D: int

    def totals(self, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Numerator and denominator totals by domain at every column of ``W``: (D, m)."""
        W = np.asarray(W, dtype=float)
        if W.ndim == 1:
            W = W[:, None]
        if W.shape[1] == 1:     # the full-sample weights: sums by domain, no matrix to build
            rows = np.flatnonzero(self.valid & (self.codes >= 0))
            d, w = self.codes[rows], W[rows, 0]
            return (np.bincount(d, weights=w * self.y[rows], minlength=self.D)[:, None],
                    np.bincount(d, weights=w * self.x[rows], minlength=self.D)[:, None])
        return (np.asarray(_by_domain(self.codes, self.D, self.valid, self.y) @ W),
                np.asarray(_by_domain(self.codes, self.D, self.valid, self.x) @ W))

    def at(self, W: np.ndarray) -> np.ndarray:
        num, den = self.totals(W)
        with np.errstate(invalid="ignore", divide="ignore"):
            return num / den

    def scores(self, w: np.ndarray):
        num, den = self.totals(w)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = (num / den)[:, 0]
        rows = np.flatnonzero(self.valid & (self.codes >= 0))
        d = self.codes[rows]
        with np.errstate(invalid="ignore", divide="ignore"):
            z = w[rows] * (self.y[rows] - ratio[d] * self.x[rows]) / den[d, 0]
        if len(self.codes) * self.D <= DENSE_CELLS:   # a few domains: dense is cheaper
            out = np.zeros((len(self.codes), self.D))
            out[rows, d] = z
            return out
        return sparse.csr_matrix((z, (rows, d)), shape=(len(self.codes), self.D))


@dataclass(frozen=True, eq=False)
class WeightedVariance:
    """R's ``svyvar`` of one column: ``c * sum(w (y - ybar)^2) / sum(w)`` over ``valid``."""

    y: np.ndarray        # (n,) values (0 where not valid)
    valid: np.ndarray    # (n,) bool
    c: float             # n / (n - 1), n as R counts it (see the module)

    def at(self, W: np.ndarray) -> np.ndarray:
        W = np.asarray(W, dtype=float)
        if W.ndim == 1:
            W = W[:, None]
        v = self.valid.astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            # sum w (y - ybar_W)^2 = S2 - S1^2 / S0 by sums (no rows x replicates
            # temporaries), about the first column's mean (any centre: no cancellation)
            yc = np.where(self.valid, self.y - (v * self.y) @ W[:, 0] / (v @ W[:, 0]), 0.0)
            S0, S1, S2 = v @ W, yc @ W, (yc * yc) @ W
            return (self.c * (S2 - S1 * S1 / S0) / S0)[None, :]

    def scores(self, w: np.ndarray) -> np.ndarray:
        # svymean of z = c (y - ybar)^2 with ybar fixed, as R's svyvar.survey.design
        wv = np.where(self.valid, w, 0.0)
        sw = wv.sum()
        ybar = (wv * self.y).sum() / sw
        z = np.where(self.valid, self.c * (self.y - ybar) ** 2, 0.0)
        theta = (wv * z).sum() / sw
        return (wv * (z - theta) / sw)[:, None]
