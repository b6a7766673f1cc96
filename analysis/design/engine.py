"""What a variance engine gives the estimator layer: :class:`Ratio` and :class:`Shares`.

The estimator layer (:mod:`.estimators`) checks the arguments, forms the domains, the
intervals and the :class:`~analysis.Estimate`; a variance engine (:mod:`.linearization`,
:mod:`.replication`) sums the rows and estimates the variances.  An engine has:

``name``
    The ``variance`` label of its estimates (``"linearization"``, ``"JKn"``...).
``interval_methods``
    The proportion interval methods it supports.
``numeric(column)``, ``binary(column)``, ``factor(column, argument)``, ``domains(by)``
    The checked column (a 0/1 column for ``binary``) and the domains of ``by=``.
``subset(rows)``
    R's ``design[rows, ]``: the rows R keeps (all of a calibrated linearisation design) and
    its ``degf`` (what ``svyquantile`` uses inside).
``ratio(variable, dom, na_rm, *, total)``
    A :class:`Ratio`: the domains' means (ratios to the weights) or totals and variances.
``deff(ratio, deff)``
    Design effects of a ratio or total.
``proportion_rows(ratio, dom)``
    ``nrow`` of each domain's design as R's ``svyciprop`` sees it.
``proportion_likelihood(ratio, variable, dom)``, ``shares_likelihood(shares, dom)``
    The inputs of the profile-likelihood interval (only engines whose
    ``interval_methods`` include ``"likelihood"``).
``adjust_interval(ratio, method, df, level, low, high)``
    The engine's own form of an interval (replicates: R refits the logit in every
    replicate), else the limits unchanged.
``shares(variable, dom, na_rm)``, ``shares_deff(shares, deff)``
    The same for the categories of a categorical variable (:class:`Shares`).

Depends on nothing in the package.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Ratio", "Shares"]


@dataclass(frozen=True, eq=False)
class Ratio:
    """A variable's domain means (or totals) and their variances, from one engine."""

    estimate: np.ndarray    # (D,) mean (ratio to the weights) or total
    var: np.ndarray         # (D,) variance
    df: np.ndarray          # (D,) degrees of freedom
    n: np.ndarray           # (D,) respondents (rows of positive weight with a value)
    n_eff: np.ndarray       # (D,) Kish's effective sample size
    total: bool             # a total (else a ratio)
    context: Any = None     # the engine's own inputs of deff and intervals


@dataclass(frozen=True, eq=False)
class Shares:
    """The shares of every category in every domain (``K = D * C`` values, domain-major)."""

    categories: pd.Index
    estimate: np.ndarray      # (K,)
    var: np.ndarray           # (K,)
    df: np.ndarray            # (K,)
    n: np.ndarray             # (K,) respondents of the category's domain
    n_eff: np.ndarray         # (K,)
    count: np.ndarray         # (K,) respondents in the category
    weighted_count: np.ndarray  # (K,)
    n_design_rows: np.ndarray   # (K,) nrow of the domain's design (svyciprop)
    context: Any = None
