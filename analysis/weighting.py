"""Weighting on arrays: design weights, nonresponse, post-stratification, raking, trimming.

Every function takes weights (and category codes) as arrays and returns new weights; the
calibrations also return a :class:`CalibrationStep`, the public description of the step that
the linearisation engine uses to give R's standard errors after ``postStratify`` and
``calibrate(calfun = "raking")``: linearised values are replaced by their residuals from the
calibration model before being aggregated to PSU totals.  :class:`analysis.SurveyDesign` and
:class:`analysis.ReplicateDesign` turn column names into codes and call these functions.

Raking is done by iterative proportional fitting on the cells of the cross-classification of
the margin variables (exactly the same weights as row-level IPF and as R's
``calibrate(calfun = "raking")``, far faster).

Imports nothing of :mod:`analysis` but its errors.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .errors import ConvergenceError, DesignError, MarginError, VariableError, WeightingError

__all__ = [
    "CalibrationStep",
    "design_weights",
    "response_indicator",
    "nonresponse_class_factors",
    "class_codes",
    "response_propensity",
    "calibration_variables",
    "poststratification",
    "margin_variables",
    "raking",
    "RakingCells",
    "raking_cells",
    "ipf",
    "check_trim_bounds",
    "trim_weights",
]


@dataclass(frozen=True, eq=False)
class CalibrationStep:
    """A calibration adjustment, as R's ``svyrecvar`` applies it to linearised values.

    The residualised values are ``x' = x - d * E H E'(c * x)`` where ``E`` is the row-by-cell
    indicator matrix.  Post-stratification: ``d`` = new weights, ``c`` = old/new weights,
    ``H = diag(1 / old cell totals)``.  Raking (GREG with raking calibration function): ``d`` =
    calibrated weights, ``c = 1/g``, ``H = Z (Z' W0 Z)^+ Z'`` with ``Z`` the cell model matrix.
    """

    kind: str            # "poststratify" or "raking"
    cell: np.ndarray     # (n,) int cell code
    n_cells: int
    d: np.ndarray        # (n,)
    c: np.ndarray        # (n,)
    H: np.ndarray        # (n_cells, n_cells)
    label: str


# ------------------------------------------------------------------------------------------
# Design weights and nonresponse
# ------------------------------------------------------------------------------------------

def design_weights(probs, *more_stages) -> np.ndarray:
    """Design weights from inclusion probabilities: ``1 / (p1 * p2 * ...)``.

    Parameters
    ----------
    probs : array-like
        Inclusion probabilities of the first stage (or overall), in (0, 1].
    *more_stages : array-like
        Conditional inclusion probabilities of later stages (multiplied).

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    DesignError
        A probability is missing, <= 0 or > 1.

    Examples
    --------
    >>> design_weights([0.5, 0.25])
    array([2., 4.])
    >>> # In R: svydesign(ids=~1, probs=~p, data=d); weights(d)
    """
    total = np.ones_like(np.asarray(probs, dtype=float))
    for k, stage in enumerate((probs,) + more_stages):
        p = np.asarray(stage, dtype=float)
        bad = np.isnan(p) | (p <= 0) | (p > 1)
        if bad.any():
            raise DesignError("inclusion probabilities must be in (0, 1]",
                              argument="probs" if k == 0 else f"stage {k + 1} probs",
                              value=float(p[bad][0]),
                              fix="give the probability that each unit was selected")
        total = total * p
    return 1.0 / total


def response_indicator(values: np.ndarray, weights: np.ndarray, name: str) -> np.ndarray:
    """The respondents (True) from a 0/1 column ``values`` (checked on the rows of positive
    weight; ``name`` is the column, for messages)."""
    pos = weights > 0
    vals = values[pos]
    if np.isnan(vals).any():
        raise WeightingError(f"{int(np.isnan(vals).sum())} rows have a missing response "
                             "indicator", argument="responded", value=name,
                             fix="mark every sampled unit as responded (1) or not (0)")
    if not np.isin(vals, (0, 1)).all():
        raise WeightingError("the response indicator must be 0/1 or boolean",
                             argument="responded", value=sorted(set(vals.tolist()))[:5],
                             fix="code respondents 1 and non-respondents 0")
    if not (vals == 1).any():
        raise WeightingError("nobody responded", argument="responded", value=name,
                             fix="check the response indicator")
    return np.where(np.isnan(values), 0.0, values) == 1


def nonresponse_class_factors(weights: np.ndarray, responded: np.ndarray, classes: np.ndarray,
                              labels=None) -> np.ndarray:
    """Weighting-class nonresponse factors: ``sum(w) / sum(w of respondents)`` per class.

    Parameters
    ----------
    weights : ndarray
        Design weights of every sampled unit.
    responded : ndarray of bool
    classes : ndarray of int
        Class code of each unit (0..C-1).
    labels : sequence, optional
        Class labels for error messages.

    Returns
    -------
    ndarray
        The adjusted weights: ``w * factor`` for respondents, 0 for non-respondents.
    """
    C = int(classes.max()) + 1
    all_w = np.bincount(classes, weights=weights, minlength=C)
    resp_w = np.bincount(classes, weights=np.where(responded, weights, 0.0), minlength=C)
    empty = (resp_w <= 0) & (all_w > 0)
    if empty.any():
        names = [labels[i] if labels is not None else int(i) for i in np.flatnonzero(empty)]
        raise WeightingError("weighting classes without any respondent", argument="classes",
                             value=names[:10], fix="collapse these classes with similar ones")
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(resp_w > 0, all_w / resp_w, 0.0)
    return np.where(responded, weights * factor[classes], 0.0)


def response_propensity(data: pd.DataFrame, covariates: list[str], responded: np.ndarray,
                        weights: np.ndarray, **logistic_kwargs) -> np.ndarray:
    """Estimated response propensities from a weighted logistic regression (scikit-learn).

    Categorical (non-numeric) covariates are one-hot coded with the first level dropped.

    Returns
    -------
    ndarray
        One propensity per row (rows of zero weight get a prediction too).
    """
    from sklearn.linear_model import LogisticRegression

    for col in covariates:
        if col not in data.columns:
            raise VariableError(f"column {col!r} is not in the data", argument="covariates",
                                value=col, fix="name existing columns")
    X = pd.get_dummies(data[covariates], drop_first=True, dtype=float)
    if X.isna().any().any():
        bad = X.columns[X.isna().any()].tolist()
        raise WeightingError("covariates have missing values", argument="covariates",
                             value=bad, fix="impute or drop these covariates")
    pos = weights > 0
    kwargs = {"C": 1e6, "max_iter": 1000}
    kwargs.update(logistic_kwargs)
    model = LogisticRegression(**kwargs)
    model.fit(X.to_numpy()[pos], responded[pos].astype(int), sample_weight=weights[pos])
    prop = model.predict_proba(X.to_numpy())[:, 1]
    if (prop[pos & responded] <= 0).any():
        raise WeightingError("a respondent has an estimated propensity of zero",
                             argument="covariates", value=covariates,
                             fix="use fewer covariates or n_classes")
    return prop


def class_codes(factors: Sequence[tuple[str, np.ndarray, pd.Index]],
                positive: np.ndarray) -> tuple[np.ndarray, list]:
    """Weighting classes: the code of each row's combination of the class variables
    ``factors`` (``(name, codes, labels)``) and the combinations' labels; every row of
    positive weight must have a class."""
    combined = np.zeros(len(positive), np.int64)
    for col, c, u in factors:
        if (c[positive] < 0).any():
            raise WeightingError(f"class variable {col!r} has missing values",
                                 argument="classes", value=col,
                                 fix="fill in the class of every sampled unit")
        combined = combined * max(len(u), 1) + np.maximum(c, 0)
    uniq, codes = np.unique(combined, return_inverse=True)
    labels = []
    for val in uniq:
        parts = []
        rem = int(val)
        for _, _, u in reversed(factors):
            parts.append(u[rem % max(len(u), 1)])
            rem //= max(len(u), 1)
        parts.reverse()
        labels.append(parts[0] if len(parts) == 1 else tuple(parts))
    return codes.astype(np.int64), labels


# ------------------------------------------------------------------------------------------
# Calibration helpers
# ------------------------------------------------------------------------------------------

def _key_matches(label, key) -> bool:
    if label == key:
        return True
    try:
        return str(label) == str(key)
    except Exception:  # pragma: no cover
        return False


def _lookup_targets(var: str, labels: pd.Index, present: np.ndarray, targets: Mapping,
                    argument: str):
    """Targets per label; names data categories without targets and targets without data."""
    if isinstance(targets, pd.Series):
        targets = targets.to_dict()
    if not isinstance(targets, Mapping):
        raise MarginError(f"the population counts of {var!r} must be a mapping",
                          argument=argument, value=type(targets).__name__,
                          fix="give {category: count}")
    keys = list(targets.keys())
    values = np.full(len(labels), np.nan)
    used = set()
    for i, lab in enumerate(labels):
        hit = [k for k in keys if _key_matches(lab, k)]
        exact = [k for k in hit if k == lab]
        key = exact[0] if exact else (hit[0] if hit else None)
        if key is not None:
            val = targets[key]
            try:
                values[i] = float(val)
            except (TypeError, ValueError):
                raise MarginError(f"population count of {var}={key!r} is not a number",
                                  argument=argument, value=val, fix="give numbers") from None
            used.add(key)
    no_target = [labels[i] for i in np.flatnonzero(present & np.isnan(values))]
    if no_target:
        raise MarginError(
            f"categories of {var!r} in the data have no population count: "
            f"{', '.join(map(repr, no_target))}", argument=argument,
            value=sorted(map(str, keys)), categories={var: no_target},
            fix="add their population counts or recode/collapse these categories")
    bad = [(k, targets[k]) for k in keys if not (np.isfinite(float(targets[k]))
                                                 and float(targets[k]) >= 0)]
    if bad:
        raise MarginError(f"population counts of {var!r} must be finite and >= 0",
                          argument=argument, value=bad[:5],
                          categories={var: [k for k, _ in bad]}, fix="correct these counts")
    absent = [k for k in keys if k not in used and float(targets[k]) > 0]
    absent += [labels[i] for i in np.flatnonzero(~present & (values > 0))]
    if absent:
        raise MarginError(
            f"population categories of {var!r} have no respondent: "
            f"{', '.join(map(repr, absent))}", argument=argument, value=absent,
            categories={var: absent},
            fix="collapse them with neighbouring categories in both the data and the margins")
    return np.where(np.isnan(values), 0.0, values)


def calibration_variables(variables: str | Sequence[str]) -> list[str]:
    """The post-stratification variables as a list (at least one)."""
    vars_ = [variables] if isinstance(variables, str) else list(variables)
    if not vars_:
        raise MarginError("no post-stratification variable", argument="variables",
                          value=variables, fix="name at least one column")
    return vars_


def poststratification(weights: np.ndarray, parts: Sequence[tuple[str, np.ndarray, pd.Index]],
                       totals: Mapping, *, partial: bool = False
                       ) -> tuple[np.ndarray, CalibrationStep]:
    """R's ``postStratify``: the new weights and the calibration step.

    Parameters
    ----------
    weights : ndarray
        The weights to post-stratify (rows of weight 0 stay 0).
    parts : list of (name, codes, labels)
        The post-stratification variables' codes (every row of positive weight has one).
    totals : mapping or pandas.Series
        Population count of each post-stratum (tuples of labels with several variables).
    partial : bool
        Allow population cells absent from the sample (R's ``partial=TRUE``).
    """
    vars_ = [name for name, _, _ in parts]
    w = weights
    pos = w > 0
    combined = np.zeros(len(w), np.int64)
    sizes = []
    for _, codes, labels in parts:
        size = max(len(labels), 1)
        sizes.append(size)
        combined = combined * size + np.maximum(codes, 0)
    present_codes = np.sort(pd.unique(combined[pos]))
    cell = np.searchsorted(present_codes, combined)
    cell = np.where(pos, cell, 0)
    C = len(present_codes)
    # labels of present cells
    cell_labels = []
    for code in present_codes:
        lab = []
        rem = int(code)
        for (_, _, labels), size in zip(reversed(parts), reversed(sizes)):
            lab.append(labels[rem % size])
            rem //= size
        lab.reverse()
        cell_labels.append(lab[0] if len(lab) == 1 else tuple(lab))
    if isinstance(totals, pd.Series):
        totals = totals.to_dict()
    if not isinstance(totals, Mapping):
        raise MarginError("totals must be a mapping {post-stratum: population count}",
                          argument="totals", value=type(totals).__name__,
                          fix="give a dict or a pandas Series")
    keys = list(totals.keys())
    pop = np.full(C, np.nan)
    used = set()
    for i, lab in enumerate(cell_labels):
        for k in keys:
            if k == lab or (not isinstance(lab, tuple) and _key_matches(lab, k)) or (
                    isinstance(lab, tuple) and isinstance(k, tuple) and len(k) == len(lab)
                    and all(_key_matches(a, b) for a, b in zip(lab, k))):
                pop[i] = float(totals[k])
                used.add(k)
                break
    missing = [cell_labels[i] for i in np.flatnonzero(np.isnan(pop))]
    if missing:
        raise MarginError(
            f"post-strata in the sample have no population count: "
            f"{', '.join(map(repr, missing))}", argument="totals", value=keys[:20],
            categories={"+".join(vars_): missing},
            fix="add their population counts or collapse these post-strata")
    zero_pop = [cell_labels[i] for i in np.flatnonzero(pop <= 0)]
    if zero_pop:
        raise MarginError(f"post-strata with respondents have a population count of zero: "
                          f"{', '.join(map(repr, zero_pop))}", argument="totals",
                          value=zero_pop, categories={"+".join(vars_): zero_pop},
                          fix="correct the counts or collapse these post-strata")
    unused = [k for k in keys if k not in used and float(totals[k]) > 0]
    if unused and not partial:
        raise MarginError(
            f"population post-strata have no respondent: {', '.join(map(repr, unused))}",
            argument="totals", value=unused, categories={"+".join(vars_): unused},
            fix="collapse them with neighbouring post-strata, or pass partial=True to ignore "
                "them (R: partial=TRUE)")
    old_cell = np.bincount(cell, weights=np.where(pos, w, 0.0), minlength=C)
    reweight = pop / old_cell
    new_w = np.where(pos, w * reweight[cell], 0.0)
    oldw = np.where(pos, w, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where(new_w > 0, oldw / new_w, 0.0)
    H = np.diag(1.0 / old_cell)
    step = CalibrationStep("poststratify", cell.astype(np.int64), C, new_w, c, H,
                           f"post-stratified on {'+'.join(vars_)}")
    return new_w, step


def raking(weights: np.ndarray, parts: Sequence[tuple[str, np.ndarray, pd.Index]],
           margins: Mapping[str, Mapping], *, max_iter: int = 100,
           tol: float = 1e-10) -> tuple[np.ndarray, CalibrationStep, int]:
    """R's ``calibrate(calfun = "raking")``: the new weights, the calibration step and the
    number of IPF sweeps.

    ``parts`` are the margin variables' ``(name, codes, labels)`` (see
    :func:`margin_variables`); rows of weight 0 stay 0.
    """
    cells = raking_cells(weights, parts, margins, tol)
    targets_list, labels_list, var_names = cells.targets, cells.labels, cells.names
    C = cells.n_cells
    W0 = cells.cell_weight
    g, iterations, gap, worst = ipf(W0, cells.cell_cats, targets_list, max_iter=max_iter,
                                    tol=tol)
    if gap > tol:
        var, cat_index = worst
        raise ConvergenceError(
            f"raking did not converge in {iterations} iterations: the worst margin gap is "
            f"{gap:.3g} (relative) for {var_names[var]}={labels_list[var][cat_index]!r}",
            iterations=iterations, max_gap=gap,
            worst_margin=(var_names[var], labels_list[var][cat_index]), argument="max_iter",
            fix="raise max_iter, loosen tol, or collapse sparse categories")
    w = weights
    pos = w > 0
    new_w = np.where(pos, w * g[cells.row_cell], 0.0)
    # GREG residualisation of calfun="raking": model matrix = intercept + dummies
    cols = [np.ones(C)]
    for cats, tgt in zip(cells.cell_cats, targets_list):
        for level in range(1, len(tgt)):
            cols.append((cats == level).astype(float))
    Z = np.column_stack(cols)
    G = Z.T @ (Z * W0[:, None])
    H = Z @ np.linalg.pinv(G, rcond=1e-12) @ Z.T
    c = np.where(pos, 1.0 / g[cells.row_cell], 0.0)
    label = "raked on " + ", ".join(var_names)
    step = CalibrationStep("raking", cells.row_cell, C, new_w, c, H, label)
    return new_w, step, iterations


@dataclass(frozen=True, eq=False)
class RakingCells:
    """The cells of the cross-classification of the margin variables (rows of positive
    weight), and the margins' targets and labels (categories present in the sample)."""

    row_cell: np.ndarray      # (n,) cell of each row (0 for rows of weight 0)
    n_cells: int
    cell_weight: np.ndarray   # (n_cells,) sums of the weights
    cell_cats: list           # per margin: (n_cells,) category code of each cell
    targets: list             # per margin: target of each category
    labels: list              # per margin: label of each category
    names: list               # the margin variables


def margin_variables(margins: Mapping[str, Mapping]) -> list[str]:
    """The variables of raking ``margins`` (a non-empty mapping)."""
    if not isinstance(margins, Mapping) or not margins:
        raise MarginError("margins must be a non-empty mapping {variable: {category: count}}",
                          argument="margins", value=margins,
                          fix="e.g. {'sex': {'男': 3.9e6, '女': 3.8e6}}")
    return list(margins.keys())


def raking_cells(weights: np.ndarray, parts: Sequence[tuple[str, np.ndarray, pd.Index]],
                 margins: Mapping[str, Mapping], tol: float) -> RakingCells:
    """The raking cells of ``parts`` (``(name, codes, labels)`` of the margin variables) and
    the checked targets of ``margins``."""
    w = weights
    pos = w > 0
    var_names = [name for name, _, _ in parts]
    targets_list, labels_list = [], []
    codes_list = []
    for (var, codes, labels) in parts:
        present = np.bincount(codes[pos], minlength=len(labels)) > 0
        tg = _lookup_targets(var, labels, present, margins[var], "margins")
        # keep only categories present in the sample (absent ones have target 0)
        keep = np.flatnonzero(present)
        remap = np.full(len(labels), -1, np.int64)
        remap[keep] = np.arange(len(keep))
        codes_list.append(np.where(codes >= 0, remap[np.maximum(codes, 0)], -1))
        targets_list.append(tg[keep])
        labels_list.append([labels[i] for i in keep])
    totals = np.array([t.sum() for t in targets_list])
    if len(totals) > 1:
        ref = totals[0]
        rel = np.abs(totals - ref) / max(abs(ref), 1e-300)
        if (rel > max(tol, 1e-12)).any():
            desc = ", ".join(f"{v}: {t:.10g}" for v, t in zip(var_names, totals))
            raise MarginError(f"the margins' totals disagree ({desc})", argument="margins",
                              value={v: float(t) for v, t in zip(var_names, totals)},
                              categories={v: [] for v, r in zip(var_names, rel) if r > tol},
                              fix="make every margin add up to the same population total")
    # cells = cross-classification of margin variables among positive-weight rows
    combined = np.zeros(len(pos), np.int64)
    for codes, tg in zip(codes_list, targets_list):
        combined = combined * max(len(tg), 1) + np.maximum(codes, 0)
    inv, present_cells = pd.factorize(combined[pos], sort=True)
    row_cell = np.zeros(len(pos), np.int64)
    row_cell[pos] = inv
    C = len(present_cells)
    cell_weight = np.bincount(inv, weights=w[pos], minlength=C)
    cell_cats = []
    rem = present_cells.copy()
    for tg in reversed(targets_list):
        size = max(len(tg), 1)
        cell_cats.append(rem % size)
        rem = rem // size
    cell_cats.reverse()
    return RakingCells(row_cell, C, cell_weight, cell_cats, targets_list, labels_list, var_names)


def ipf(cell_weight: np.ndarray, cell_cats: list, targets: list, *, max_iter: int = 100,
        tol: float = 1e-10):
    """Iterative proportional fitting on cells.

    Parameters
    ----------
    cell_weight : ndarray (C,) or (C, R)
        Starting weight of each cell (columns: several weight sets raked at once).
    cell_cats : list of ndarray (C,)
        Category code of each cell for each margin.
    targets : list of ndarray
        Target totals of each margin's categories.

    Returns
    -------
    g : ndarray
        Multiplicative adjustment of each cell (same shape as ``cell_weight``).
    iterations : int
    gap : float
        Largest relative margin gap after the last sweep.
    worst : tuple
        ``(margin index, category index)`` of that gap.
    """
    W0 = np.asarray(cell_weight, dtype=float)
    g = np.ones_like(W0)
    two_d = W0.ndim == 2

    def sums(cats, L, values):
        if two_d:
            out = np.zeros((L, values.shape[1]))
            np.add.at(out, cats, values)
            return out
        return np.bincount(cats, weights=values, minlength=L)

    def gaps():
        worst_gap, worst = 0.0, (0, 0)
        for j, (cats, tg) in enumerate(zip(cell_cats, targets)):
            tot = sums(cats, len(tg), W0 * g)
            tgb = tg[:, None] if two_d else tg
            with np.errstate(invalid="ignore", divide="ignore"):
                rel = np.abs(tot - tgb) / np.where(tgb > 0, tgb, 1.0)
            if two_d:
                rel = rel.max(axis=1)
            k = int(np.argmax(rel))
            if rel[k] > worst_gap:
                worst_gap, worst = float(rel[k]), (j, k)
        return worst_gap, worst

    gap, worst = gaps()
    iterations = 0
    while gap > tol and iterations < max_iter:
        for cats, tg in zip(cell_cats, targets):
            tot = sums(cats, len(tg), W0 * g)
            tgb = tg[:, None] if two_d else tg
            with np.errstate(invalid="ignore", divide="ignore"):
                factor = np.where(tot > 0, tgb / tot, 0.0)
            g = g * factor[cats]
        iterations += 1
        gap, worst = gaps()
    return g, iterations, gap, worst


def trim_weights(w: np.ndarray, lower: float | None, upper: float | None,
                 strict: bool = False) -> np.ndarray | None:
    """R's ``trimWeights`` on a weight vector; ``None`` when nothing is outside the bounds.

    Rows of zero weight are neither trimmed nor given any of the trimmed amount.
    """
    lo = -np.inf if lower is None else float(lower)
    hi = np.inf if upper is None else float(upper)
    if lo > hi:
        raise WeightingError("lower bound above upper bound", argument="lower", value=lower,
                             fix=f"choose lower <= upper ({upper})")
    w = np.array(w, dtype=float)
    pos = w > 0
    changed = False
    for _ in range(1000):
        outside = pos & ((w < lo) | (w > hi))
        if not outside.any():
            break
        inside = pos & ~outside
        if not inside.any():
            raise WeightingError("every weight is outside the trimming bounds",
                                 argument="upper", value=(lower, upper),
                                 fix="widen the bounds")
        new = np.where(pos, np.clip(w, lo, hi), 0.0)
        trimmed = (w - new)[pos].sum()
        new[inside] += trimmed / inside.sum()
        w = new
        changed = True
        if not strict:
            break
    return w if changed else None


def check_trim_bounds(lower: float | None, upper: float | None) -> None:
    """Trimming bounds are finite numbers or None."""
    for name, val in (("lower", lower), ("upper", upper)):
        if val is not None and not np.isfinite(float(val)):
            raise WeightingError("trimming bounds must be finite numbers", argument=name,
                                 value=val, fix="give a number or None")
