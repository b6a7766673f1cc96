"""Weighting on arrays: design weights, nonresponse, post-stratification, raking, calibration,
trimming.

Every function takes weights (and category codes) as arrays and returns new weights; the
calibrations also return a :class:`CalibrationStep`, the public description of the step that
the linearisation engine uses to give R's standard errors after ``postStratify`` and
``calibrate``: linearised values are replaced by their residuals from the
calibration model before being aggregated to PSU totals.  :class:`analysis.SurveyDesign` and
:class:`analysis.ReplicateDesign` turn column names into codes and call these functions.

Raking is done by iterative proportional fitting on the cells of the cross-classification of
the margin variables (exactly the same weights as row-level IPF and as R's
``calibrate(calfun = "raking")``, far faster).

General calibration (:func:`calibration`, R's ``calibrate(design, formula, population,
calfun=, bounds=)``) solves R's ``grake`` Newton iterations on the distinct rows of the model
matrix (categorical margins and continuous totals, with or without an intercept), with R's
calibration functions ``linear``, ``raking`` and ``logit`` and bounds on the g-weights.

Imports nothing of :mod:`analysis` but its errors.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Protocol, Sequence

import numpy as np
import pandas as pd
from scipy import sparse

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
    "CALFUNS",
    "INTERCEPT",
    "CalibrationModel",
    "calibration_model",
    "calibration_bounds",
    "calibration_label",
    "grake",
    "g_weights",
    "calibration",
    "replicate_calibration",
]


@dataclass(frozen=True, eq=False)
class CalibrationStep:
    """A calibration adjustment, as R's ``svyrecvar`` applies it to linearised values.

    The residualised values are ``x' = x - d * E H E'(c * x)``.  ``E`` is the row-by-cell
    indicator matrix, or, with continuous auxiliaries ``x`` (``q`` columns), the blocks
    ``[E0, E0 * x_1, ..., E0 * x_q]`` (``E0`` the indicator; block m holds each row's
    ``x_m`` in its cell's column), so that the model matrix is ``E Z`` for a fixed ``Z``.
    Post-stratification: ``d`` = new weights, ``c`` = old/new weights,
    ``H = diag(1 / old cell totals)``.  Raking and GREG calibration (R's ``calibrate``):
    ``d`` = calibrated weights, ``c = 1/g``, ``H = Z (X' W0 X)^+ Z'`` with ``X`` the model
    matrix.  Without ``x``, ``c`` is constant within cells; with ``x`` it is constant within
    ``pattern`` (rows with the same model row).
    """

    kind: str            # "poststratify", "raking" or "calibrate"
    cell: np.ndarray     # (n,) int cell code
    n_cells: int
    d: np.ndarray        # (n,)
    c: np.ndarray        # (n,)
    H: np.ndarray        # (n_columns, n_columns)
    label: str
    x: np.ndarray | None = None        # (n, q) continuous auxiliaries (0 on rows of weight 0)
    pattern: np.ndarray | None = None  # (n,) code of each row's model row (with x only)
    n_patterns: int = 0

    @property
    def blocks(self) -> tuple:
        """Row values of the blocks of ``E``: None (the indicator), then each column of x."""
        if self.x is None:
            return (None,)
        return (None,) + tuple(self.x[:, m] for m in range(self.x.shape[1]))


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
                 margins: Mapping[str, Mapping], tol: float,
                 argument: str = "margins") -> RakingCells:
    """The raking cells of ``parts`` (``(name, codes, labels)`` of the margin variables) and
    the checked targets of ``margins`` (``argument`` names them in errors)."""
    w = weights
    pos = w > 0
    var_names = [name for name, _, _ in parts]
    targets_list, labels_list = [], []
    codes_list = []
    for (var, codes, labels) in parts:
        present = np.bincount(codes[pos], minlength=len(labels)) > 0
        tg = _lookup_targets(var, labels, present, margins[var], argument)
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
            raise MarginError(f"the margins' totals disagree ({desc})", argument=argument,
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


# ------------------------------------------------------------------------------------------
# General calibration: R's calibrate() and grake()
# ------------------------------------------------------------------------------------------

#: R's calibration functions (``calibrate(calfun = )``).
CALFUNS = ("linear", "raking", "logit")
#: The key of ``totals`` for the population size (the total of R's ``(Intercept)`` column).
INTERCEPT = "(Intercept)"


class CalibrationColumns(Protocol):
    """Where :func:`calibration_model` reads the data (a design's structure)."""

    def calibration_factors(self, variables: list[str], positive: np.ndarray,
                            argument: str) -> list[tuple[str, np.ndarray, pd.Index]]: ...

    def numeric(self, column: str, argument: str = "variable") -> np.ndarray: ...


@dataclass(frozen=True, eq=False)
class CalibrationModel:
    """A calibration's model matrix, by pattern (the distinct model rows), and its totals.

    The model matrix is R's ``model.matrix(~ a + b + x)``: an intercept (when the population
    size or a categorical margin is given), the dummies of every categorical margin but its
    first category (present in the sample), and the continuous auxiliaries.
    """

    names: tuple              # columns, named as R's model.matrix ("stypeH", "api99")
    terms: tuple              # per column: (variable, category), or (variable, None)
    population: np.ndarray    # (p,) population totals of the columns
    positive: np.ndarray      # (n,) rows of positive weight (the others stay 0)
    cell: np.ndarray          # (n,) cross-classification of the categorical margins
    n_cells: int
    cell_matrix: np.ndarray   # (n_cells, p_c) intercept and dummies of each cell
    x: np.ndarray | None      # (n, q) continuous auxiliaries (0 on rows of weight 0)
    pattern: np.ndarray       # (n,) each row's model row (0 on rows of weight 0)
    matrix: np.ndarray        # (n_patterns, p) the distinct model rows

    @property
    def variables(self) -> list[str]:
        return list(dict.fromkeys(var for var, _ in self.terms))

    def pattern_sums(self, weights: np.ndarray) -> np.ndarray:
        """Sums of ``weights`` ((n,) or (n, R)) over the rows of positive weight by pattern."""
        m = self.matrix.shape[0]
        rows = np.flatnonzero(self.positive)
        if weights.ndim == 1:
            return np.bincount(self.pattern[rows], weights=weights[rows], minlength=m)
        E = sparse.csr_matrix((np.ones(len(rows)), (self.pattern[rows], rows)),
                              shape=(m, len(self.positive)))
        return np.asarray(E @ weights)


def _total(key, value) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = np.nan
    if not np.isfinite(number):
        raise MarginError(f"the population total of {key!r} is not a finite number",
                          argument="totals", value={key: value},
                          fix="give a number for a continuous total, or {category: count} "
                              "for a categorical margin")
    return number


def calibration_model(weights: np.ndarray, totals: Mapping,
                      columns: CalibrationColumns) -> CalibrationModel:
    """The model matrix and population totals of ``totals`` (see
    :meth:`analysis.SurveyDesign.calibrate`) on the rows of positive ``weights``.

    Raises
    ------
    MarginError
        Empty totals, a total that is not a number, categories of the data without a count
        or counted categories without respondents (named), margins whose sums disagree with
        each other or with the population size, respondents without a value.
    """
    if isinstance(totals, pd.Series):
        totals = totals.to_dict()
    if not isinstance(totals, Mapping) or not totals:
        raise MarginError("totals must be a non-empty mapping", argument="totals",
                          value=totals,
                          fix=f"e.g. {{{INTERCEPT!r}: 6194, 'stype': {{'E': 4421, 'H': 755, "
                              "'M': 1018}, 'api99': 3914069}")
    pos = np.asarray(weights) > 0
    size = None
    factor_names, numeric_totals = [], []
    for key, value in totals.items():
        if key == INTERCEPT:
            size = _total(key, value)
            if size <= 0:
                raise MarginError("the population size must be positive", argument="totals",
                                  value={key: value}, fix="give the number of population units")
        elif isinstance(value, (Mapping, pd.Series)):
            factor_names.append(key)
        else:
            numeric_totals.append((key, _total(key, value)))
    parts = columns.calibration_factors(factor_names, pos, "totals")
    cells = raking_cells(weights, parts, {v: totals[v] for v in factor_names}, 1e-9, "totals")
    sums = [float(t.sum()) for t in cells.targets]
    if size is not None and sums and abs(sums[0] - size) > 1e-9 * size:
        raise MarginError(f"the margin of {factor_names[0]!r} adds up to {sums[0]:.10g}, not to "
                          f"the population size {size:.10g}", argument="totals",
                          value={INTERCEPT: size, factor_names[0]: sums[0]},
                          categories={factor_names[0]: []},
                          fix="make every margin add up to the population size")
    if size is None and sums:
        size = sums[0]
    C = cells.n_cells
    cols, names, terms, population = [], [], [], []
    if size is not None:
        cols.append(np.ones(C))
        names.append(INTERCEPT)
        terms.append((INTERCEPT, None))
        population.append(size)
    for var, cats, targets, labels in zip(cells.names, cells.cell_cats, cells.targets,
                                          cells.labels):
        for level in range(1, len(targets)):
            cols.append((cats == level).astype(float))
            names.append(f"{var}{labels[level]}")
            terms.append((var, labels[level]))
            population.append(float(targets[level]))
    cell_matrix = np.column_stack(cols) if cols else np.zeros((C, 0))
    x = None
    pattern, matrix = cells.row_cell, cell_matrix
    if numeric_totals:
        values = []
        for var, total in numeric_totals:
            v = columns.numeric(var, "totals")
            missing = pos & np.isnan(v)
            if missing.any():
                raise MarginError(f"{int(missing.sum())} respondents have no value of {var!r}",
                                  argument="totals", value=var,
                                  fix="impute the variable or give those rows weight 0")
            values.append(np.where(pos, v, 0.0))
            names.append(var)
            terms.append((var, None))
            population.append(total)
        x = np.column_stack(values)
        keys = np.column_stack([cells.row_cell[pos].astype(float), x[pos]])
        uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
        pattern = np.zeros(len(pos), np.int64)
        pattern[pos] = inverse.ravel()
        matrix = np.column_stack([cell_matrix[uniq[:, 0].astype(np.int64)], uniq[:, 1:]])
    population = np.asarray(population, dtype=float)
    sample = matrix.T @ np.bincount(pattern[pos], weights=weights[pos],
                                    minlength=matrix.shape[0])
    empty = [names[k] for k in np.flatnonzero(sample == 0) if population[k] != 0]
    if empty:
        raise MarginError(f"no respondent has a value of {', '.join(empty)} other than 0, so "
                          "their totals cannot be met", argument="totals", value=empty,
                          fix="drop these totals")
    return CalibrationModel(tuple(names), tuple(terms), population, pos, cells.row_cell, C,
                            cell_matrix, x, pattern, matrix)


def calibration_bounds(calfun: str, bounds) -> tuple[float, float]:
    """The checked calibration function and bounds ``(lower, upper)`` on the g-weights."""
    if calfun not in CALFUNS:
        raise WeightingError("unknown calibration function", argument="calfun", value=calfun,
                             fix="use one of " + ", ".join(map(repr, CALFUNS)) + " (R's calfun)")
    if bounds is None:
        lower, upper = -np.inf, np.inf
    else:
        try:
            lower, upper = (float(b) for b in bounds)
        except (TypeError, ValueError):
            raise WeightingError("bounds must be two numbers (lower, upper)", argument="bounds",
                                 value=bounds, fix="e.g. bounds=(0.7, 1.7): the limits of "
                                                   "new weight / old weight") from None
        if not lower < 1 < upper:
            raise WeightingError("the bounds on the g-weights (new weight / old weight) must "
                                 "have lower < 1 < upper", argument="bounds", value=bounds,
                                 fix="e.g. bounds=(0.7, 1.7)")
    if calfun == "logit" and not (np.isfinite(lower) and np.isfinite(upper)):
        raise WeightingError("logit calibration needs finite bounds", argument="bounds",
                             value=bounds, fix="e.g. bounds=(0.7, 1.7) (R: logit calibration "
                                               "requires finite bounds)")
    return lower, upper


def _linear_F(u, lo, up):
    return np.minimum(np.maximum(u + 1, lo), up) - 1


def _linear_dF(u, lo, up):
    return ((u < up - 1) & (u > lo - 1)).astype(float)


def _raking_F(u, lo, up):
    return np.minimum(np.maximum(np.exp(u), lo), up) - 1


def _raking_dF(u, lo, up):
    return np.where((u < up - 1) & (u > lo - 1), np.exp(u), 0.0)


def _logit_F(u, lo, up):
    A = (up - lo) / ((up - 1) * (1 - lo))
    eAu = np.exp(A * u)
    return (lo * (up - 1) + up * (1 - lo) * eAu) / (up - 1 + (1 - lo) * eAu) - 1


def _logit_dF(u, lo, up):
    A = (up - lo) / ((up - 1) * (1 - lo))
    eAu = np.exp(A * u)
    den = up - 1 + (1 - lo) * eAu
    return (up * (1 - lo) * eAu * A / den
            - ((lo * (up - 1) + up * (1 - lo) * eAu) * ((1 - lo) * eAu * A)) / den ** 2)


#: R's cal.linear, cal.raking, cal.logit: ``g - 1 = F(u)`` and its derivative (R's bounds
#: tests of the derivative included).
_CALIBRATION_FUNCTIONS = {"linear": (_linear_F, _linear_dF), "raking": (_raking_F, _raking_dF),
                          "logit": (_logit_F, _logit_dF)}


def grake(matrix: np.ndarray, weights: np.ndarray, population: np.ndarray, calfun: str,
          bounds: tuple[float, float], *, max_iter: int = 50, tol: float = 1e-7):
    """R's ``grake``: Newton's method for the g-weights ``g = 1 + F(X eta)``.

    Step by step as R (same start, step halving while g is not finite, rescaling when every
    total is over 20 times its sample estimate, stop when every
    ``|misfit| / (1 + |total|) < tol``), so that the g-weights are R's.

    Parameters
    ----------
    matrix : ndarray (m, p)
        Model rows (the distinct rows of the model matrix).
    weights : ndarray (m,)
        Sums of the weights of each model row.
    population : ndarray (p,)
    calfun : {"linear", "raking", "logit"}
    bounds : (lower, upper)
    max_iter, tol : R's ``maxit`` and ``epsilon``.

    Returns
    -------
    g : ndarray (m,)
    iterations : int
    gaps : ndarray (p,)
        ``|misfit| / (1 + |total|)`` after the last step.
    converged : bool
    """
    F, dF = _CALIBRATION_FUNCTIONS[calfun]
    lo, up = bounds
    X = matrix
    ww = weights
    sample_total = X.T @ ww
    eta = np.zeros(X.shape[1])
    with np.errstate(all="ignore"):
        xeta = X @ eta
        g = 1 + F(xeta, lo, up)
        deriv = dF(xeta, lo, up)
        iterations = 1
        scale = None
        scales = population / sample_total
        if scales.min() > 20:
            scale = scales.mean()
            ww = ww * scale
            sample_total = sample_total * scale
        while True:
            T = (X * (ww * deriv)[:, None]).T @ X
            misfit = population - sample_total - X.T @ (ww * F(xeta, lo, up))
            deta = np.linalg.pinv(T, rcond=256 * np.finfo(float).eps) @ misfit
            eta = eta + deta
            xeta = X @ eta
            g = 1 + F(xeta, lo, up)
            deriv = dF(xeta, lo, up)
            while iterations < max_iter and not (np.isfinite(g).all()
                                                 and np.isfinite(deriv).all()):
                iterations += 1
                deta = deta / 2
                eta = eta - deta
                xeta = X @ eta
                g = 1 + F(xeta, lo, up)
                deriv = dF(xeta, lo, up)
            misfit = population - sample_total - X.T @ (ww * F(xeta, lo, up))
            gaps = np.abs(misfit) / (1 + np.abs(population))
            if (gaps < tol).all():
                converged = True
                break
            iterations += 1
            if iterations > max_iter:
                converged = False
                break
    if scale is not None:
        g = g * scale
    return g, iterations, gaps, converged


def _scaled_pinv(G: np.ndarray) -> np.ndarray:
    """A generalised inverse of ``G = X' W X``, computed with unit diagonal (continuous
    auxiliaries are on other scales than the dummies)."""
    s = np.sqrt(np.diag(G))
    s = np.where(s > 0, s, 1.0)
    return np.linalg.pinv(G / s[:, None] / s[None, :], rcond=1e-12) / s[:, None] / s[None, :]


def g_weights(model: CalibrationModel, weights: np.ndarray, *, calfun: str,
              bounds: tuple[float, float], max_iter: int, tol: float,
              what: str = "the full sample") -> tuple[np.ndarray, int]:
    """The g-weights of each model row for the sums of weights ``weights`` by model row (R's
    ``grake``), and the iterations; ``what`` names the weights in errors.

    Raises
    ------
    ConvergenceError
        ``argument="bounds"``: the totals cannot be met within the bounds (the message gives
        the g-weights reached and those linear calibration without bounds needs);
        ``argument="max_iter"``: no convergence.
    """
    g, iterations, gaps, converged = grake(model.matrix, weights, model.population, calfun,
                                           bounds, max_iter=max_iter, tol=tol)
    if converged:
        return g, iterations
    gaps = np.where(np.isnan(gaps), np.inf, gaps)
    worst = int(np.argmax(gaps))
    gap = float(gaps[worst])
    used = weights > 0
    with np.errstate(all="ignore"):
        reached = f"{np.nanmin(g[used]):.6g} to {np.nanmax(g[used]):.6g}"
    lo, up = bounds
    where = f"the total of {model.names[worst]} is off by {gap:.3g} (relative)"
    if np.isfinite(lo) or np.isfinite(up):
        X = model.matrix
        free = 1 + X @ (_scaled_pinv(X.T @ (X * weights[:, None]))
                        @ (model.population - X.T @ weights))
        need = f"{free[used].min():.6g} to {free[used].max():.6g}"
        inside = lo <= free[used].min() and free[used].max() <= up
        raise ConvergenceError(
            f"the totals cannot be met with g-weights (new weight / old weight) within "
            f"[{lo:g}, {up:g}] for {what}: after {iterations} iterations the g-weights range "
            f"from {reached} and {where}; linear calibration without bounds needs g from "
            f"{need}", iterations=iterations, max_gap=gap, worst_margin=model.terms[worst],
            argument="bounds",
            fix=("raise max_iter" if inside else "widen the bounds")
            + ", or calibrate to fewer totals (collapse sparse categories)")
    raise ConvergenceError(
        f"calibration of {what} did not converge in {iterations} iterations: {where}; the "
        f"g-weights range from {reached}", iterations=iterations, max_gap=gap,
        worst_margin=model.terms[worst], argument="max_iter",
        fix="raise max_iter or loosen tol, or calibrate to fewer totals (collapse sparse "
            "categories)")


def _calibrated_weights(weights: np.ndarray, model: CalibrationModel,
                        g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The new weights and each row's g; zero or negative weights are an error."""
    pos = model.positive
    g_row = g[model.pattern]
    bad = pos & (g_row <= 0)
    if bad.any():
        raise WeightingError(
            f"calibration gives {int(bad.sum())} respondents a zero or negative weight "
            f"(g-weights from {g_row[pos].min():.6g} to {g_row[pos].max():.6g})",
            argument="bounds", value=None,
            fix="pass bounds with a positive lower limit, e.g. bounds=(0.5, 2), or use "
                "calfun='raking' or 'logit', whose weights stay positive")
    return np.where(pos, weights * g_row, 0.0), g_row


def calibration_label(model: CalibrationModel, calfun: str, bounds) -> str:
    """How a calibration is described in a design's history."""
    lo, up = bounds
    within = f", g in [{lo:g}, {up:g}]" if np.isfinite(lo) or np.isfinite(up) else ""
    return f"calibrated ({calfun}{within}) to {', '.join(model.variables)}"


def calibration(weights: np.ndarray, model: CalibrationModel, *, calfun: str,
                bounds: tuple[float, float], max_iter: int = 50, tol: float = 1e-7
                ) -> tuple[np.ndarray, CalibrationStep, int]:
    """R's ``calibrate(design, formula, population, calfun=, bounds=)``: the new weights,
    the calibration step (R's GREG residualisation of ``svyrecvar``) and the iterations.

    ``bounds`` are checked by :func:`calibration_bounds`; rows of weight 0 stay 0.

    Examples
    --------
    >>> model = calibration_model(w, {"stype": {"E": 4421, "H": 755, "M": 1018},
    ...                               "api99": 3914069}, design.structure)  # doctest: +SKIP
    >>> new_w, step, iterations = calibration(
    ...     w, model, calfun="raking", bounds=calibration_bounds("raking", None))
    ... # doctest: +SKIP
    >>> # In R: calibrate(des, ~stype + api99, c(6194, 755, 1018, 3914069),
    >>> #                 calfun = "raking")
    """
    W0 = model.pattern_sums(weights)
    g, iterations = g_weights(model, W0, calfun=calfun, bounds=bounds, max_iter=max_iter,
                              tol=tol)
    new_w, g_row = _calibrated_weights(weights, model, g)
    c = np.where(model.positive, 1.0 / g_row, 0.0)
    X = model.matrix
    G_inv = _scaled_pinv(X.T @ (X * W0[:, None]))
    label = calibration_label(model, calfun, bounds)
    C, pc = model.cell_matrix.shape
    if model.x is None:
        Z = model.cell_matrix
        return new_w, CalibrationStep("calibrate", model.cell, C, new_w, c, Z @ G_inv @ Z.T,
                                      label), iterations
    q = model.x.shape[1]
    Z = np.zeros((C * (1 + q), pc + q))
    Z[:C, :pc] = model.cell_matrix
    for m in range(q):
        Z[C * (m + 1):C * (m + 2), pc + m] = 1.0
    step = CalibrationStep("calibrate", model.cell, C, new_w, c, Z @ G_inv @ Z.T, label,
                           x=model.x, pattern=model.pattern, n_patterns=X.shape[0])
    return new_w, step, iterations


def replicate_calibration(weights: np.ndarray, repweights: np.ndarray, model: CalibrationModel,
                          *, calfun: str, bounds: tuple[float, float], max_iter: int = 50,
                          tol: float = 1e-7) -> tuple[np.ndarray, np.ndarray]:
    """R's ``calibrate`` of a replicate design: the full-sample weights and every replicate
    calibrated on their own (rows x replicates)."""
    g, _ = g_weights(model, model.pattern_sums(weights), calfun=calfun, bounds=bounds,
                     max_iter=max_iter, tol=tol)
    new_w, _ = _calibrated_weights(weights, model, g)
    sums = model.pattern_sums(repweights)
    g_rep = np.empty_like(sums)
    for r in range(sums.shape[1]):
        g_rep[:, r] = g_weights(model, sums[:, r], calfun=calfun, bounds=bounds,
                                max_iter=max_iter, tol=tol, what=f"replicate {r + 1}")[0]
    pos = model.positive
    new_rw = np.where(pos[:, None], repweights * g_rep[model.pattern], 0.0)
    return new_w, new_rw


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
