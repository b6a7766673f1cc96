"""Partial least squares path modelling (PLS-PM) for satisfaction indices, with survey weights.

:func:`plspm` estimates a path model of latent variables (blocks of indicators) by the
Wold–Lohmöller algorithm as R's ``plspm`` package does it, written from the published
algorithm (Tenenhaus et al. 2005, *Computational Statistics & Data Analysis* 48, 159–205;
Sanchez 2013, *PLS Path Modeling with R*), no code copied:

1. centre every indicator (and divide it by its standard deviation when ``scaled=True``);
2. start every block's outer weights at 1 and scale each latent variable (LV) to unit variance;
3. repeat: inner estimate ``Z = Y E`` with inner weights ``E`` by the scheme (centroid: the sign
   of the correlation of neighbours; factorial: the correlation; path: regression coefficients
   for predecessors, correlations for followers); outer estimate per block — Mode A
   (reflective) the covariances of the indicators with ``Z``, Mode B (formative) the least
   squares regression of ``Z`` on the indicators; stop when the sum of squared changes of the
   absolute weights is below ``tol``;
4. scale the final weights so that every LV has unit variance; loadings are the correlations of
   indicators with their LV, path coefficients the least squares regression of each endogenous
   LV on its predecessors, total effects ``(I - B)^-1 - I``.

Variances are "divide by n" (as ``plspm`` computes them), so that with survey weights every
moment is the weighted one (divide by the weight total) and every regression weighted least
squares: equal weights give the unweighted model, integer weights the model of the data with
rows repeated, and multiplying the weights by a constant changes nothing.

Checked against R ``plspm`` on its ECSI ``satisfaction`` data to 1e-6
(``tests/analysis/test_pls.py``).

For an ACSI-style index (a weighted average of a block's items on their own scale),
:meth:`PLSResult.index_weights` gives the block's weights on the original scale normalised to
sum 1, and refuses — :class:`PLSModelError` naming the items — when a weight is negative or
the algorithm did not converge, since such an "index" is not an average of its items.

Examples
--------
>>> from analysis.pls import plspm
>>> fit = plspm(df, blocks={"IMAG": ["imag1", "imag2"], "SAT": ["sat1", "sat2"]},
...             inner=[("IMAG", "SAT")], weights="weight")                # doctest: +SKIP
>>> print(fit.summary())                                                     # doctest: +SKIP
>>> fit.index_weights()                                                      # doctest: +SKIP
>>> # In R: plspm::plspm(df, path_matrix, blocks, modes = c("A", "A"), scaled = FALSE)
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np
import pandas as pd

from .errors import SurveyError

__all__ = ["plspm", "PLSResult", "PLSModelError", "SCHEMES", "MODES", "outer_weights", "causal_order"]

Scheme = Literal["centroid", "factorial", "path"]
Mode = Literal["A", "B"]
SCHEMES: tuple[str, ...] = get_args(Scheme)
MODES: tuple[str, ...] = get_args(Mode)


class PLSModelError(SurveyError):
    """A PLS path model cannot be estimated, or its result cannot serve as an index."""


# --------------------------------------------------------------------------- checks


def _check_model(data: pd.DataFrame, blocks: Mapping[str, Sequence[str]],
                 inner: Sequence[tuple[str, str]], modes: Mapping[str, str] | None,
                 scheme: str) -> tuple[list[str], dict[str, list[str]], dict[str, str],
                                       list[tuple[str, str]]]:
    if not isinstance(data, pd.DataFrame):
        raise PLSModelError("must be a pandas DataFrame", argument="data", value=type(data).__name__,
                            fix="pass the responses as a DataFrame with one column per item")
    if scheme not in SCHEMES:
        raise PLSModelError("unknown inner weighting scheme", argument="scheme", value=scheme,
                            fix=f"use one of {', '.join(SCHEMES)}")
    if not isinstance(blocks, Mapping) or not blocks:
        raise PLSModelError("needs at least two latent variables, each with its items",
                            argument="blocks", value=blocks,
                            fix='pass a mapping such as {"IMAG": ["imag1", "imag2"], "SAT": ["sat1"]}')
    names = [str(lv) for lv in blocks]
    items: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    for lv, cols in blocks.items():
        lv = str(lv)
        if isinstance(cols, str) or not isinstance(cols, Sequence) or len(cols) == 0:
            raise PLSModelError(f"the block of latent variable {lv!r} must be a non-empty list of "
                                "column names", argument="blocks", value={lv: cols},
                                fix=f"give {lv!r} a list of at least one item, e.g. [{cols!r}]"
                                if isinstance(cols, str) else f"list the items measuring {lv!r}")
        for col in cols:
            if col not in data.columns:
                raise PLSModelError(f"item {col!r} of block {lv!r} is not a column of the data",
                                    argument="blocks", value=col,
                                    fix="use one of the columns " + ", ".join(map(str, data.columns)))
            if col in owner:
                raise PLSModelError(f"item {col!r} is in two blocks, {owner[col]!r} and {lv!r}",
                                    argument="blocks", value=col,
                                    fix="let every item measure one latent variable")
            owner[col] = lv
            column = data[col]
            if not pd.api.types.is_numeric_dtype(column):
                raise PLSModelError(f"item {col!r} of block {lv!r} is not numeric "
                                    f"(dtype {column.dtype})", argument="blocks", value=col,
                                    fix="use the numeric answer codes of a scale question, or "
                                        "recode the column to numbers")
            missing = int(column.isna().sum())
            if missing:
                raise PLSModelError(f"item {col!r} of block {lv!r} has {missing} missing values",
                                    argument="data", value=col,
                                    fix="drop or impute the incomplete responses before the model")
        items[lv] = list(cols)
    if len(names) < 2:
        raise PLSModelError("a path model needs at least two latent variables", argument="blocks",
                            value=names, fix="add a second block and an edge between them")

    modes = dict(modes or {})
    for lv, mode in modes.items():
        if lv not in items:
            raise PLSModelError(f"mode given for {lv!r}, which is not a block", argument="modes",
                                value=lv, fix="use one of the blocks " + ", ".join(names))
        if mode not in MODES:
            raise PLSModelError(f"unknown mode for block {lv!r}", argument="modes", value=mode,
                                fix='use "A" (reflective) or "B" (formative)')
    mode_of = {lv: modes.get(lv, "A") for lv in names}

    edges: list[tuple[str, str]] = []
    for edge in inner:
        if isinstance(edge, str) or len(edge) != 2:
            raise PLSModelError("each edge must be a pair (from, to)", argument="inner", value=edge,
                                fix='write edges as ("IMAG", "SAT")')
        a, b = str(edge[0]), str(edge[1])
        for lv in (a, b):
            if lv not in items:
                raise PLSModelError(f"edge {a!r} -> {b!r} names {lv!r}, which is not a block",
                                    argument="inner", value=edge,
                                    fix="use the blocks " + ", ".join(names))
        if (a, b) in edges:
            raise PLSModelError(f"edge {a!r} -> {b!r} is given twice", argument="inner",
                                value=edge, fix="list each edge once")
        edges.append((a, b))
    linked = {lv for edge in edges for lv in edge}
    for lv in names:
        if lv not in linked:
            raise PLSModelError(f"latent variable {lv!r} has no edge in the inner model",
                                argument="inner", value=lv,
                                fix=f"add an edge to or from {lv!r}, or remove its block")
    return causal_order(names, edges), items, mode_of, edges


def causal_order(names: list[str], edges: list[tuple[str, str]]) -> list[str]:
    """The blocks in an order where every edge points forward (the given order when it does)."""
    preds = {lv: {a for a, b in edges if b == lv} for lv in names}
    order: list[str] = []
    while len(order) < len(names):
        ready = [lv for lv in names if lv not in order and preds[lv] <= set(order)]
        if not ready:
            raise PLSModelError("the inner model has a cycle: " + _cycle(names, edges),
                                argument="inner", value=None,
                                fix="a path model must be recursive; remove one edge of the cycle")
        order.append(ready[0])
    return order


def _cycle(names: list[str], edges: list[tuple[str, str]]) -> str:
    succ = {lv: [b for a, b in edges if a == lv] for lv in names}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(lv: str) -> list[str] | None:
        state[lv] = 1
        stack.append(lv)
        for nxt in succ[lv]:
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[lv] = 2
        return None

    for lv in names:
        if lv not in state and (found := visit(lv)):
            return " -> ".join(found)
    return "?"  # pragma: no cover - only called when a cycle exists


def _survey_weights(data: pd.DataFrame, weights: str | np.ndarray | None) -> np.ndarray:
    """Weights normalised to sum 1 (equal when none are given)."""
    n = len(data)
    if weights is None:
        return np.full(n, 1.0 / n)
    if isinstance(weights, str):
        if weights not in data.columns:
            raise PLSModelError(f"weight column {weights!r} is not a column of the data",
                                argument="weights", value=weights,
                                fix="use one of the columns " + ", ".join(map(str, data.columns)))
        if not pd.api.types.is_numeric_dtype(data[weights]):
            raise PLSModelError(f"weight column {weights!r} is not numeric", argument="weights",
                                value=str(data[weights].dtype), fix="give numeric survey weights")
        w = data[weights].to_numpy(dtype=float)
    else:
        w = np.asarray(weights, dtype=float)
        if w.shape != (n,):
            raise PLSModelError(f"must have one weight per row ({n})", argument="weights",
                                value=w.shape, fix="pass a 1-d array as long as the data")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise PLSModelError("survey weights must be finite, non-negative and not all zero",
                            argument="weights", value=w[~np.isfinite(w) | (w < 0)][:5],
                            fix="fix or drop the rows with missing or negative weights")
    return w / w.sum()


# --------------------------------------------------------------------------- algorithm


def _wls(x: np.ndarray, y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Weighted least squares coefficients of ``y`` on ``x`` (both centred, no intercept)."""
    root = np.sqrt(p)[:, None]
    coef, *_ = np.linalg.lstsq(x * root, y * root[:, 0], rcond=None)
    return coef


def _inner_weights(corr: np.ndarray, adj: np.ndarray, scheme: str) -> np.ndarray:
    """``E[j, k]``: the weight of LV ``j`` in the inner estimate of LV ``k``, from the LVs'
    correlations ``corr``; ``adj[j, k]`` is 1 when the inner model has the edge ``j -> k``."""
    both = adj + adj.T
    if scheme == "centroid":
        return np.sign(corr) * both
    if scheme == "factorial":
        return corr * both
    e = np.zeros_like(corr)
    for k in range(adj.shape[0]):
        pred = adj[:, k] == 1  # LVs explaining k: regression coefficients
        if pred.any():
            e[pred, k] = np.linalg.lstsq(corr[np.ix_(pred, pred)], corr[pred, k], rcond=None)[0]
        follow = adj[k, :] == 1  # LVs explained by k: correlations
        e[follow, k] = corr[follow, k]
    return e


def outer_weights(S: np.ndarray, cols: Sequence[np.ndarray], modes: Sequence[str],
                  adj: np.ndarray, scheme: str, *, tol: float = 1e-6, max_iter: int = 100
                  ) -> tuple[np.ndarray, int, bool]:
    """The outer weights of the Wold–Lohmöller iteration from the items' (weighted, "divide by
    n") covariance matrix ``S`` alone: every step is a function of the moments, so the
    replicates of an index need only their own ``S``.

    Returns ``(weights (items x LVs), iterations, converged)``; every LV ``x @ weights`` has
    unit variance.
    """
    n_lv = len(cols)
    weights = np.zeros((S.shape[0], n_lv))
    for j, idx in enumerate(cols):
        weights[idx, j] = 1.0

    def unit(w: np.ndarray) -> np.ndarray:
        return w / np.sqrt(np.einsum("ij,ik,kj->j", w, S, w))

    weights = unit(weights)
    old = weights.sum(axis=1)
    iteration, converged = 1, False
    while True:
        wn = unit(weights)                       # standardised LVs y = x @ wn
        inner = wn @ _inner_weights(wn.T @ S @ wn, adj, scheme)   # z = x @ inner
        cov_z = S @ inner                        # covariances of the items with z
        for j, idx in enumerate(cols):
            if modes[j] == "A":
                weights[idx, j] = cov_z[idx, j]
            else:
                weights[idx, j] = np.linalg.lstsq(S[np.ix_(idx, idx)], cov_z[idx, j],
                                                  rcond=None)[0]
        new = weights.sum(axis=1)
        converged = float(np.sum((np.abs(old) - np.abs(new)) ** 2)) < tol
        if converged or iteration >= max_iter:
            break
        old = new
        iteration += 1
    return unit(weights), iteration, converged


# --------------------------------------------------------------------------- result


@dataclass(frozen=True, eq=False)
class PLSResult:
    """A fitted PLS path model (R: the object ``plspm::plspm(...)`` returns).

    Attributes
    ----------
    outer_model : DataFrame
        One row per indicator (index: item), columns ``block, weight, loading, communality,
        redundancy``. ``weight`` is on the scale the model used: the items' own (centred)
        scale with ``scaled=False``, standardised items with ``scaled=True``.
    paths : DataFrame
        One row per edge, index ``(from, to)``, column ``estimate`` (path coefficient).
    r2 : Series
        R² of every LV (0 for exogenous LVs, as ``plspm`` reports).
    inner_summary : DataFrame
        Per LV: ``type`` (Exogenous/Endogenous), ``r_squared``, ``block_communality``,
        ``mean_redundancy``, ``ave``.
    effects : DataFrame
        ``from, to, direct, indirect, total`` for every pair of LVs in causal order.
    scores : DataFrame
        Latent variable scores, weighted mean 0 and weighted variance 1, indexed as the data.
    gof : float
        Goodness of fit: sqrt(mean communality of blocks with more than one item × mean R² of
        endogenous LVs).
    iterations : int
        Iterations of the outer/inner loop.
    converged : bool
        Whether the weights changed less than ``tol`` within ``max_iter`` iterations.
    scheme, scaled, modes, blocks
        The options the model was fitted with.
    item_sd : Series
        Each item's (weighted) standard deviation on its own scale, used by
        :meth:`unstandardised_weights` when ``scaled=True``.
    """

    outer_model: pd.DataFrame
    paths: pd.DataFrame
    r2: pd.Series
    inner_summary: pd.DataFrame
    effects: pd.DataFrame
    scores: pd.DataFrame
    gof: float
    iterations: int
    converged: bool
    scheme: str
    scaled: bool
    modes: dict[str, str]
    blocks: dict[str, list[str]]
    item_sd: pd.Series = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The outer model (weights, loadings, communalities, redundancies per item)."""
        return self.outer_model.copy()

    def unstandardised_weights(self) -> pd.DataFrame:
        """Outer weights on the items' own scale, and their shares within each block.

        Returns
        -------
        DataFrame
            Index: item; columns ``block``, ``weight`` (the LV score is, up to a constant,
            the sum of ``weight × item`` on the items' own scale) and ``share`` (``weight``
            divided by the block's sum: the weights of an ACSI-style index). Not checked:
            use :meth:`index_weights` to publish an index.
        """
        out = self.outer_model[["block", "weight"]].copy()
        if self.scaled:
            out["weight"] = out["weight"] / self.item_sd[out.index]
        out["share"] = out["weight"] / out.groupby("block")["weight"].transform("sum")
        return out

    def index_weights(self) -> pd.Series:
        """The shares of :meth:`unstandardised_weights`, refused when they make no index.

        Raises
        ------
        PLSModelError
            When the model did not converge, or when any item's weight is negative (the
            "index" would then fall as that item's answers rise); the message names the items.
        """
        if not self.converged:
            raise PLSModelError(f"the PLS model did not converge in {self.iterations} iterations, "
                                "so its weights are no basis for an index", argument="max_iter",
                                value=self.iterations,
                                fix="raise max_iter, or check the blocks for items that do not "
                                    "measure their latent variable")
        table = self.unstandardised_weights()
        negative = table[table["weight"] < 0]
        if len(negative):
            listed = ", ".join(f"{item} (block {row.block}, weight {row.weight:.4g})"
                               for item, row in negative.iterrows())
            raise PLSModelError("the PLS model gives negative weights, so the index would not "
                                f"be an average of its items: {listed}", argument="blocks",
                                value=list(negative.index),
                                fix="check whether these items are reverse-coded (recode them) "
                                    "or measure something else (drop them from the block), "
                                    "then fit the model again")
        return table["share"]

    def summary(self, digits: int = 4) -> str:
        """A text report of the model (never printed here)."""
        fmt = f"{{:.{digits}f}}".format
        state = (f"converged in {self.iterations} iterations" if self.converged
                 else f"NOT converged after {self.iterations} iterations")
        parts = [
            f"PLS path model: {len(self.blocks)} latent variables, scheme={self.scheme}, "
            f"scaled={self.scaled}, {state}",
            "",
            "Outer model",
            self.outer_model.to_string(float_format=fmt),
            "",
            "Path coefficients",
            self.paths.to_string(float_format=fmt),
            "",
            "Inner summary",
            self.inner_summary.to_string(float_format=fmt),
            "",
            "Effects",
            self.effects.to_string(index=False, float_format=fmt),
            "",
            f"Goodness of fit: {fmt(self.gof)}",
        ]
        return "\n".join(parts)


# --------------------------------------------------------------------------- entry point


def plspm(data: pd.DataFrame, *, blocks: Mapping[str, Sequence[str]],
          inner: Sequence[tuple[str, str]], modes: Mapping[str, Mode] | None = None,
          scheme: Scheme = "centroid", scaled: bool = False,
          weights: str | np.ndarray | None = None, tol: float = 1e-6,
          max_iter: int = 100) -> PLSResult:
    """Fit a PLS path model (R: ``plspm::plspm(data, path_matrix, blocks, modes, scheme, scaled)``).

    Parameters
    ----------
    data : DataFrame
        One row per respondent; the items must be numeric and complete.
    blocks : mapping of str to sequence of str
        Each latent variable's items (columns of ``data``), in causal order if possible.
    inner : sequence of (str, str)
        Edges ``(from, to)`` of the inner (structural) model; must have no cycle, and every
        latent variable must have at least one edge.
    modes : mapping of str to {"A", "B"}, optional
        Measurement mode per block: "A" reflective (default), "B" formative. A one-item block
        is its item whatever the mode.
    scheme : {"centroid", "factorial", "path"}
        Inner weighting scheme.
    scaled : bool
        Standardise the items (``True``) or keep their own scale (``False``, the default, as
        for items on one common answer scale); the weights are reported on that scale.
    weights : str or ndarray, optional
        Survey weights (a column name or one value per row): weighted means, variances,
        covariances and weighted least squares throughout.
    tol : float
        Convergence tolerance on the sum of squared changes of the outer weights.
    max_iter : int
        Largest number of iterations; a model that needs more reports ``converged=False``.

    Returns
    -------
    PLSResult

    Raises
    ------
    PLSModelError
        For an unknown or non-numeric item, missing values, a constant item, a cycle or an
        unconnected latent variable in the inner model, an unknown mode or scheme, bad survey
        weights, or a Mode B block whose items are collinear.
    """
    order, items, mode_of, edges = _check_model(data, blocks, inner, modes, scheme)
    if not (isinstance(tol, (int, float)) and tol > 0):
        raise PLSModelError("must be a positive number", argument="tol", value=tol,
                            fix="use e.g. tol=1e-6")
    if not (isinstance(max_iter, int) and max_iter >= 1):
        raise PLSModelError("must be a positive integer", argument="max_iter", value=max_iter,
                            fix="use e.g. max_iter=100")
    p = _survey_weights(data, weights)

    columns = [col for lv in order for col in items[lv]]
    raw = data[columns].to_numpy(dtype=float)
    centred = raw - p @ raw
    sd = np.sqrt(p @ centred**2)
    for col, s in zip(columns, sd):
        if not s > 1e-12 * max(1.0, float(np.abs(raw).max())):
            raise PLSModelError(f"item {col!r} has the same answer from every (weighted) "
                                "respondent, so it cannot measure anything",
                                argument="blocks", value=col, fix="drop it from its block")
    z = centred / sd
    x = z if scaled else centred
    position = {lv: j for j, lv in enumerate(order)}
    cols, start = [], 0
    for lv in order:
        cols.append(np.arange(start, start + len(items[lv])))
        start += len(items[lv])
    modes_list = [mode_of[lv] for lv in order]
    for lv, idx in zip(order, cols):
        if mode_of[lv] == "B" and len(idx) > 1:
            rank = np.linalg.matrix_rank(z[:, idx] * np.sqrt(p)[:, None], tol=1e-8)
            if rank < len(idx):
                raise PLSModelError(f"the Mode B (formative) block {lv!r} has collinear items "
                                    f"({', '.join(items[lv])}: rank {rank} of {len(idx)}), so its "
                                    "regression weights are not determined", argument="modes",
                                    value=lv, fix=f'drop redundant items from {lv!r}, or use '
                                                  f'modes={{"{lv}": "A"}}')
    adj = np.zeros((len(order), len(order)))
    for a, b in edges:
        adj[position[a], position[b]] = 1.0

    w, iterations, converged = outer_weights(x.T @ (p[:, None] * x), cols, modes_list, adj,
                                             scheme, tol=tol, max_iter=max_iter)
    y = x @ w

    # Inner model: weighted least squares of each endogenous LV on its predecessors.
    coef = np.zeros_like(adj)
    r2 = np.zeros(len(order))
    for k in range(len(order)):
        pred = adj[:, k] == 1
        if pred.any():
            coef[pred, k] = _wls(y[:, pred], y[:, k], p)
            fitted = y[:, pred] @ coef[pred, k]
            r2[k] = 1.0 - p @ (y[:, k] - fitted) ** 2
    total = np.linalg.inv(np.eye(len(order)) - coef) - np.eye(len(order))

    # Outer model: loadings are correlations of items with their LV (weighted).
    block_of = [lv for lv in order for _ in items[lv]]
    lv_index = np.array([position[lv] for lv in block_of])
    loading = np.einsum("i,ij,ij->j", p, z, y[:, lv_index])
    communality = loading**2
    redundancy = communality * r2[lv_index]
    outer = pd.DataFrame({"block": block_of, "weight": w[np.arange(len(columns)), lv_index],
                          "loading": loading, "communality": communality,
                          "redundancy": redundancy}, index=pd.Index(columns, name="name"))

    endogenous = adj.sum(axis=0) > 0
    by_block = outer.groupby("block", sort=False)
    inner_summary = pd.DataFrame({
        "type": np.where(endogenous, "Endogenous", "Exogenous"),
        "r_squared": r2,
        "block_communality": by_block["communality"].mean()[order].to_numpy(),
        "mean_redundancy": by_block["redundancy"].mean()[order].to_numpy(),
        "ave": by_block["communality"].mean()[order].to_numpy(),
    }, index=pd.Index(order, name="lv"))
    # plspm leaves one-item blocks (communality 1 by construction) out of the GoF.
    multi = [lv for lv in order if len(items[lv]) > 1]
    mean_communality = outer.loc[outer["block"].isin(multi), "communality"].mean()
    gof = float(np.sqrt(mean_communality * r2[endogenous].mean()))

    effects = pd.DataFrame(
        [(order[i], order[j], coef[i, j], total[i, j] - coef[i, j], total[i, j])
         for i in range(len(order)) for j in range(i + 1, len(order))],
        columns=["from", "to", "direct", "indirect", "total"])
    paths = pd.DataFrame({"estimate": [coef[position[a], position[b]] for a, b in edges]},
                         index=pd.MultiIndex.from_tuples(edges, names=["from", "to"]))

    return PLSResult(
        outer_model=outer, paths=paths,
        r2=pd.Series(r2, index=pd.Index(order, name="lv"), name="r_squared"),
        inner_summary=inner_summary, effects=effects,
        scores=pd.DataFrame(y, index=data.index, columns=order),
        gof=gof, iterations=iterations, converged=converged, scheme=scheme, scaled=scaled,
        modes=dict(mode_of), blocks={lv: list(items[lv]) for lv in order},
        item_sd=pd.Series(sd, index=columns))
