"""Satisfaction indices on 0-100 with design-based intervals (GB/T 19038-2009, ACSI convention).

An index combines the means of its items, each mapped from its answer scale to 0-100::

    index = sum_i a_i * 100 * (mean_i - low_i) / (high_i - low_i),   a_i >= 0, sum a_i = 1

(the ACSI convention: every component's mean rescaled to 0-100, then combined with normalised
non-negative weights).  Items may be grouped into sub-indices (the consumption environment's
safety, integrity, convenience and rights protection); each sub-index is reported with the
weights of its items normalised within it.

Weights
-------
``"equal"``
    Sub-indices weigh the same, and items weigh the same within a sub-index.
a mapping
    Fixed weights of the sub-indices (or of the items, without sub-indices), normalised.
``"pls"``
    The outer weights of one block of a PLS path model (:func:`analysis.plspm`, e.g. the
    satisfaction block of an ACSI-type model), on the items' own scale and normalised
    (:meth:`~analysis.PLSResult.index_weights`); a model whose weights come out negative is
    refused, since such an "index" is not an average of its items.

Intervals
---------
With fixed weights the index is a linear function of the item means, so its covariance is
that of the means (R: ``svycontrast(svymean(~items, design), a * 100 / (high - low))``).
With PLS weights the whole estimation -- the weights and the means -- is repeated in every
replicate of a replicate-weight design (R's ``withReplicates`` pattern), so the interval
reflects both the sampling design and the estimation of the weights; a linearised design is
given bootstrap (or jackknife) replicates built from its own strata and PSUs.

Examples
--------
>>> from analysis.indices import satisfaction_index
>>> idx = satisfaction_index(des, {"safety": ["env_safety"], "integrity": ["env_integrity"]},
...                          scales=(1, 5), by="district")                 # doctest: +SKIP
>>> idx.to_frame()                                                         # doctest: +SKIP
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import sparse, stats

from .errors import VariableError
from .pls import PLSModelError, outer_weights, plspm
from .results import OVERALL

__all__ = ["satisfaction_index", "IndexResult", "INDEX_ROW"]

#: Label of the index's own row (sub-indices are labelled by their names).
INDEX_ROW = "index"

Weights = Literal["equal", "pls"]


@dataclass(frozen=True, eq=False)
class IndexResult:
    """An index and its sub-indices, overall or by domain, on 0-100.

    Attributes
    ----------
    name : str
    weights : DataFrame
        One row per item: ``component`` (its sub-index), ``low``, ``high`` (its scale),
        ``weight`` (its share of the index) and ``within`` (its share of its sub-index).
    method : str
        How the weights were set (``equal``, ``fixed``, ``pls``).
    variance : str
        ``linearization`` or the replicate method.
    level : float
    pls : PLSResult or None
        The full-sample PLS model when ``method == "pls"``.
    notes : tuple of str
    """

    name: str
    _table: pd.DataFrame = field(repr=False)
    weights: pd.DataFrame = field(repr=False)
    method: str
    variance: str
    level: float
    by: tuple
    pls: object = field(default=None, repr=False)
    notes: tuple = ()

    def to_frame(self) -> pd.DataFrame:
        """Rows ``(domain..., component)`` -- the index first (``"index"``), then every
        sub-index -- with ``estimate, se, ci_low, ci_high, df, n`` (respondents who rated at
        least one of the component's items)."""
        return self._table.copy()

    def summary(self, digits: int = 4) -> str:
        """The index table and the weights, as text (never printed here)."""
        fmt = f"{{:.{digits}g}}".format
        lines = [f"satisfaction index {self.name!r} (0-100), weights: {self.method}; variance: "
                 f"{self.variance}; {int(round(self.level * 100))}% intervals (Student t on the "
                 "design degrees of freedom)",
                 self._table.to_string(float_format=fmt), "", "weights",
                 self.weights.to_string(float_format=fmt)]
        lines.extend(f"note: {note}" for note in self.notes)
        return "\n".join(lines)


def satisfaction_index(design, components: Mapping[str, Sequence[str]] | Sequence[str], *,
                       scales: tuple[float, float] | Mapping[str, tuple[float, float]],
                       weights: Weights | Mapping[str, float] = "equal",
                       model: Mapping | None = None, name: str = INDEX_ROW,
                       by: str | Sequence[str] | None = None, level: float = 0.95,
                       replicates: int = 200, replicate_method: Literal["bootstrap", "jkn"]
                       = "bootstrap", seed: int | None = 2020) -> IndexResult:
    """A satisfaction index on 0-100 with its sub-indices and design-based intervals.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
    components : mapping of str to list of str, or list of str
        Sub-index name to its items (numeric answer columns), or the items of an index
        without sub-indices.
    scales : (low, high) or mapping of item to (low, high)
        Each item's answer scale (e.g. ``(1, 5)`` for a five-point scale).
    weights : "equal", "pls" or mapping of str to float
        See the module.  A mapping names every sub-index (or every item without
        sub-indices) with a non-negative weight.
    model : mapping, optional
        With ``weights="pls"``: ``{"blocks": {...}, "inner": [...], "index_block": LV}`` and
        optionally ``modes`` and ``scheme`` (see :func:`analysis.plspm`); the index block's
        items must be the index's items.
    name : str, default "index"
        Label of the index's row.
    by : str or list of str, optional
        Domains.  PLS weights are estimated once, on the whole sample.
    level : float, default 0.95
    replicates, replicate_method, seed
        Replicates built for PLS weights on a linearised design.

    Returns
    -------
    IndexResult

    Raises
    ------
    VariableError
        Unknown or non-numeric items, a bad scale, bad weights, a PLS model that does not fit
        the index.
    PLSModelError
        The PLS model cannot be estimated or gives negative weights (the items are named).

    Examples
    --------
    >>> satisfaction_index(des, ["q1", "q2"], scales=(1, 5)).to_frame()    # doctest: +SKIP
    >>> # In R: svycontrast(svymean(~q1 + q2, des), c(q1 = 12.5, q2 = 12.5)) - 25
    """
    from .design.estimators import check_level   # one level check for every estimator

    check_level(level)
    groups = _groups(components)
    items = [item for group in groups.values() for item in group]
    low, high = _scales(scales, items)
    values = np.column_stack([design.numeric_values(item) for item in items])
    for j, item in enumerate(items):
        seen = values[:, j][~np.isnan(values[:, j])]
        outside = seen[(seen < low[j]) | (seen > high[j])]
        if len(outside):
            raise VariableError(f"item {item!r} has answers outside its scale "
                                f"[{low[j]:g}, {high[j]:g}]", argument="scales",
                                value=sorted(set(outside.tolist()))[:10],
                                fix="give the item's real answer range in scales=")
    codes, domain_index = design.domain_codes(by)
    valid = ~np.isnan(values)
    y = np.where(valid, values, 0.0)
    group_of = np.repeat(np.arange(len(groups)), [len(g) for g in groups.values()])
    notes: list[str] = []
    pls_fit = None
    if isinstance(weights, str) and weights == "pls":
        a, pls_fit, stat_design, model_cols = _pls_weights(design, items, model, replicates,
                                                           replicate_method, seed)
        method = "pls"
        stat = _PLSIndex(y, valid, codes, len(domain_index), low, high, group_of, pls_fit,
                         model_cols)
        notes.append("PLS weights estimated in every replicate, on the respondents who "
                     "answered every item of the model")
    else:
        a = _fixed_weights(weights, groups, items)
        method = "equal" if isinstance(weights, str) else "fixed"
        stat_design = design
        stat = _LinearIndex(y, valid, codes, len(domain_index), low, high, group_of, a)
    theta, V = stat_design.vcov_of(stat)
    G = len(groups)
    rows_per_domain = 1 + G if G > 1 else 1
    labels = [name] + list(groups) if G > 1 else [name]
    D = len(domain_index)
    se = np.sqrt(np.clip(np.diag(V), 0, None))
    df = np.repeat(stat_design.domain_df(by), rows_per_domain)
    q = stats.t.ppf(0.5 + level / 2, df)
    n = _respondents(valid, codes, D, group_of, G)
    if by:
        dom_values = list(domain_index)
        index = pd.MultiIndex.from_tuples(
            [(*(d if isinstance(d, tuple) else (d,)), lab) for d in dom_values for lab in labels],
            names=[*(domain_index.names), "component"])
    else:
        index = pd.Index(labels, name="component")
    table = pd.DataFrame({"estimate": theta, "se": se, "ci_low": theta - q * se,
                          "ci_high": theta + q * se, "df": df.astype(np.int64),
                          "n": n.astype(np.int64)}, index=index)
    within = a / np.bincount(group_of, weights=a)[group_of]
    weight_table = pd.DataFrame({"component": [list(groups)[g] for g in group_of], "low": low,
                                 "high": high, "weight": a, "within": within},
                                index=pd.Index(items, name="item"))
    variance = getattr(stat_design, "method", "linearization")
    return IndexResult(name, table, weight_table, method, variance, level, tuple(
        [by] if isinstance(by, str) else (by or ())), pls_fit, tuple(notes))


# -- statistics (see analysis.design.statistic) ----------------------------------------------

@dataclass(frozen=True, eq=False)
class _ItemMeans:
    y: np.ndarray         # (n, p) answers, 0 where missing
    valid: np.ndarray     # (n, p)
    codes: np.ndarray     # (n,) domain
    D: int
    low: np.ndarray
    high: np.ndarray
    group_of: np.ndarray  # (p,) sub-index of each item

    def _by_domain(self) -> sparse.csr_matrix:
        inside = np.flatnonzero(self.codes >= 0)
        return sparse.csr_matrix((np.ones(len(inside)), (self.codes[inside], inside)),
                                 shape=(self.D, len(self.codes)))

    def means(self, W: np.ndarray) -> np.ndarray:
        """(D, p, m): every item's domain means at every weight column (one matrix product
        per domain: replicate weight matrices are wide)."""
        p = self.y.shape[1]
        out = np.empty((self.D, p, W.shape[1]))
        order = np.argsort(self.codes, kind="stable")
        bounds = np.searchsorted(self.codes[order], np.arange(self.D + 1))
        for d in range(self.D):
            rows = order[bounds[d]:bounds[d + 1]]
            Wd = W[rows]
            with np.errstate(invalid="ignore", divide="ignore"):
                out[d] = (self.y[rows].T @ Wd) / (self.valid[rows].T.astype(float) @ Wd)
        return out

    def combine(self, rescaled: np.ndarray, a: np.ndarray) -> np.ndarray:
        """(D*(1+G) or D, m): the index and the sub-indices of each domain from the items'
        0-100 means ``rescaled`` (D, p, m) and the weights ``a`` (p,) or (p, m)."""
        a = a if a.ndim == 2 else a[:, None]
        G = int(self.group_of.max()) + 1
        parts = [np.einsum("dpm,pm->dm", rescaled, a)]
        if G > 1:
            for g in range(G):
                ag = np.where((self.group_of == g)[:, None], a, 0.0)
                parts.append(np.einsum("dpm,pm->dm", rescaled, ag / ag.sum(axis=0)))
        return np.stack(parts, axis=1).reshape(self.D * len(parts), -1)

    def rescaled(self, W: np.ndarray) -> np.ndarray:
        return 100 * (self.means(W) - self.low[None, :, None]) / (self.high - self.low)[
            None, :, None]


@dataclass(frozen=True, eq=False)
class _LinearIndex(_ItemMeans):
    a: np.ndarray = None   # (p,) fixed weights

    def at(self, W: np.ndarray) -> np.ndarray:
        return self.combine(self.rescaled(W), self.a)

    def scores(self, w: np.ndarray) -> sparse.csr_matrix:
        # each item mean's influence, times the index's linear coefficients
        means = self.means(w[:, None])[:, :, 0]                    # (D, p)
        M = self._by_domain()
        sw = np.column_stack([M @ (w * self.valid[:, j]) for j in range(self.y.shape[1])])
        d = np.where(self.codes >= 0, self.codes, 0)
        inside = self.codes >= 0
        G = int(self.group_of.max()) + 1
        rows_per = 1 + G if G > 1 else 1
        coef = [self.a]
        if G > 1:
            for g in range(G):
                ag = np.where(self.group_of == g, self.a, 0.0)
                coef.append(ag / ag.sum())
        scale = 100 / (self.high - self.low)
        S = np.zeros((len(w), self.D * rows_per))
        with np.errstate(invalid="ignore", divide="ignore"):
            infl = np.where(self.valid & inside[:, None],
                            w[:, None] * (self.y - means[d]) / sw[d], 0.0)   # (n, p)
        for r, c in enumerate(coef):
            z = infl @ (c * scale)
            S[np.arange(len(w)), d * rows_per + r] = np.where(inside, z, 0.0)
        return sparse.csr_matrix(S)


@dataclass(frozen=True, eq=False)
class _PLSIndex(_ItemMeans):
    fit: object = None          # the full-sample PLSResult (model, options)
    # (X (n, q) the model's items, cols, modes, adj, index block position, positions of the
    # index's items in the block, scaled, scheme, the items' names)
    model_cols: tuple = ()

    def at(self, W: np.ndarray) -> np.ndarray:
        X, cols, modes, adj, block, item_pos, scaled, scheme, names = self.model_cols
        complete = ~np.isnan(X).any(axis=1)
        Xc = np.where(complete[:, None], X, 0.0)
        Wc = W * complete[:, None]
        sw = Wc.sum(axis=0)
        mean = (Xc.T @ Wc) / sw                                       # (q, m)
        q = X.shape[1]
        iu = np.triu_indices(q)
        cross = ((Xc[:, iu[0]] * Xc[:, iu[1]]).T @ Wc) / sw            # (q(q+1)/2, m)
        a = np.empty((len(item_pos), W.shape[1]))
        for r in range(W.shape[1]):
            S = np.empty((q, q))
            S[iu] = cross[:, r]
            S.T[iu] = cross[:, r]
            S -= np.outer(mean[:, r], mean[:, r])
            sd = np.sqrt(np.clip(np.diag(S), 0, None))
            # moments by sums of squares lose about sqrt(eps) of the mean: below that, constant
            flat = [names[k] for k in np.flatnonzero(sd <= 1e-6 * np.maximum(1.0, np.abs(mean[:, r])))]
            if flat:
                raise VariableError(
                    f"in replicate {r} of the interval, every respondent gives the same answer "
                    f"to {', '.join(flat)}, so the PLS weights cannot be estimated there",
                    argument="model", value=flat,
                    fix="collect more interviews (or use more replicates' PSUs), or use "
                        "weights='equal'")
            Sx = S / np.outer(sd, sd) if scaled else S
            w_out, _, _ = outer_weights(Sx, cols, modes, adj, scheme)
            raw = w_out[cols[block], block] / (sd[cols[block]] if scaled else 1.0)
            a[:, r] = raw[item_pos] / raw.sum()
        return self.combine(self.rescaled(W), a)

    def scores(self, w: np.ndarray):   # pragma: no cover - replicate designs only
        raise VariableError("PLS weights need a replicate-weight design", argument="design",
                            value="linearization", fix="use design.replicate(...)")


# -- helpers ------------------------------------------------------------------------------

def _groups(components) -> dict[str, list[str]]:
    if isinstance(components, Mapping):
        groups = {str(k): list(v) if not isinstance(v, str) else [v]
                  for k, v in components.items()}
    elif isinstance(components, Sequence) and not isinstance(components, str):
        groups = {item: [item] for item in components}
    else:
        groups = {}
    items = [i for g in groups.values() for i in g]
    if not groups or not all(groups.values()) or not all(isinstance(i, str) for i in items):
        raise VariableError("an index needs its items: a list of columns or a mapping of "
                            "sub-index to its columns", argument="components", value=components,
                            fix="e.g. {'safety': ['env_safety'], 'integrity': ['env_integrity']}")
    twice = sorted({i for i in items if items.count(i) > 1})
    if twice:
        raise VariableError("an item is listed in two components", argument="components",
                            value=twice, fix="list every item once")
    return groups


def _scales(scales, items: list[str]) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(scales, Mapping):
        missing = [i for i in items if i not in scales]
        if missing:
            raise VariableError("no answer scale for some items", argument="scales",
                                value=missing, fix="give (low, high) for every item")
        pairs = [scales[i] for i in items]
    else:
        pairs = [scales] * len(items)
    try:
        low, high = (np.array(v, dtype=float) for v in zip(*pairs))
    except (TypeError, ValueError):
        raise VariableError("a scale is a pair (low, high)", argument="scales", value=scales,
                            fix="e.g. scales=(1, 5)") from None
    if not (np.isfinite(low).all() and np.isfinite(high).all() and (high > low).all()):
        raise VariableError("a scale needs low < high", argument="scales", value=scales,
                            fix="e.g. scales=(1, 5)")
    return low, high


def _fixed_weights(weights, groups: dict, items: list[str]) -> np.ndarray:
    names = list(groups)
    if isinstance(weights, str):
        if weights != "equal":
            raise VariableError("unknown weights", argument="weights", value=weights,
                                fix="use 'equal', 'pls' or a mapping of component to weight")
        g = np.ones(len(names))
    elif isinstance(weights, Mapping):
        if set(weights) != set(names):
            raise VariableError("the weights must name every component once",
                                argument="weights", value=sorted(map(str, weights)),
                                fix=f"name exactly: {', '.join(names)}")
        g = np.array([weights[k] for k in names], dtype=float)
        if not (np.isfinite(g).all() and (g >= 0).all() and g.sum() > 0):
            raise VariableError("weights must be non-negative numbers, not all zero",
                                argument="weights", value=dict(weights),
                                fix="give every component a weight >= 0")
    else:
        raise VariableError("unknown weights", argument="weights", value=weights,
                            fix="use 'equal', 'pls' or a mapping of component to weight")
    g = g / g.sum()
    return np.concatenate([np.full(len(groups[k]), g[j] / len(groups[k]))
                           for j, k in enumerate(names)])


def _pls_weights(design, items, model, replicates, replicate_method, seed):
    """The full-sample PLS fit and its index weights (refused when negative), the replicate
    design the interval comes from, and the model's inputs for every replicate."""
    if not isinstance(model, Mapping) or not {"blocks", "inner", "index_block"} <= set(model):
        raise VariableError("weights='pls' needs the PLS model", argument="model", value=model,
                            fix="give {'blocks': ..., 'inner': ..., 'index_block': LV}")
    blocks = {str(k): list(v) for k, v in model["blocks"].items()}
    block = model["index_block"]
    if block not in blocks or sorted(blocks[block]) != sorted(items):
        raise VariableError("the index block of the PLS model must hold exactly the index's "
                            "items", argument="model",
                            value={"index_block": block, "items": items},
                            fix="list the index's items as the index block's items")
    if len(items) < 2:
        raise VariableError("PLS weights need an index block of at least two items (one item "
                            "is its own index)", argument="model", value={block: items},
                            fix="add the block's other items, or use weights='equal'")
    columns = [c for lv in blocks for c in blocks[lv]]
    data = pd.DataFrame({c: design.numeric_values(c) for c in columns})
    w = np.asarray(design.weights, dtype=float)
    complete = data.notna().all(axis=1).to_numpy() & (w > 0)
    if complete.sum() < 2 * len(columns):
        raise VariableError(f"too few respondents answered every item of the PLS model "
                            f"({int(complete.sum())}) for its {len(columns)} items",
                            argument="model", value=int(complete.sum()),
                            fix="collect more interviews, or use weights='equal'")
    scaled = bool(model.get("scaled", False))
    scheme = model.get("scheme", "centroid")
    fit = plspm(data[complete], blocks=blocks, inner=model["inner"], modes=model.get("modes"),
                scheme=scheme, scaled=scaled, weights=w[complete])
    shares = fit.index_weights()            # refuses negative weights, naming the items
    a = np.array([shares[i] for i in items])
    order = list(fit.blocks)                # the fit's (causal) order of the LVs
    ordered = [c for lv in order for c in fit.blocks[lv]]
    cols, start = [], 0
    for lv in order:
        cols.append(np.arange(start, start + len(fit.blocks[lv])))
        start += len(fit.blocks[lv])
    adj = np.zeros((len(order), len(order)))
    for a_lv, b_lv in fit.paths.index:
        adj[order.index(a_lv), order.index(b_lv)] = 1.0
    position = order.index(block)
    item_pos = np.array([fit.blocks[block].index(i) for i in items])
    X = np.column_stack([design.numeric_values(c) for c in ordered])
    model_cols = (X, cols, [fit.modes[lv] for lv in order], adj, position, item_pos, scaled,
                  scheme, ordered)
    rep_design = design if hasattr(design, "replicate_weights") else design.replicate(
        replicate_method, replicates=replicates, seed=seed)
    return a, fit, rep_design, model_cols


def _respondents(valid, codes, D, group_of, G) -> np.ndarray:
    inside = codes >= 0
    d = np.where(inside, codes, 0)
    any_item = valid.any(axis=1) & inside
    n = [np.bincount(d[any_item], minlength=D)]
    if G > 1:
        for g in range(G):
            rows = valid[:, group_of == g].any(axis=1) & inside
            n.append(np.bincount(d[rows], minlength=D))
    return np.stack(n, axis=1).ravel()
