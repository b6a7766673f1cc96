"""The design's structure: what does not depend on the weights.

:func:`build` checks a design specification (columns, strata, PSUs at every stage, fpc,
lonely PSUs, weights or probabilities) and factorises it once into a :class:`Structure`
(the strata, the units of every sampling stage and their finite population counts) and the
design weights.  Derived designs (weighting steps, replicate designs) share the structure
and its caches of the data's columns as codes (:meth:`Structure.factor`) and as numbers
(:meth:`Structure.numeric`).

Imports nothing of the rest of the package: it is the bottom layer.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import sparse

from ..errors import DesignError, MarginError, VariableError

__all__ = ["LONELY_PSU_OPTIONS", "CERTAINTY_F", "Stage", "Structure", "build", "as_list",
           "dense_codes", "small_range", "factorize", "combined_codes", "combine_codes",
           "column_list", "check_weights", "weights_column"]

#: Accepted values of ``lonely_psu`` (R's ``options(survey.lonely.psu = ...)``).
LONELY_PSU_OPTIONS = ("fail", "remove", "certainty", "adjust", "average")

CERTAINTY_F = 1e-7   # R's onestrat: strata with (N - n)/N below this contribute nothing


def build(data: pd.DataFrame, weights: str | None, strata: str | None,
          psu: str | Sequence[str] | None, fpc: str | Sequence[str] | None,
          probs: str | Sequence[str] | None, lonely_psu: str,
          nest: bool) -> tuple["Structure", np.ndarray]:
    """Check and factorise a design specification (see :class:`analysis.SurveyDesign`):
    the :class:`Structure` and the design weights (read-only)."""
    if not isinstance(data, pd.DataFrame):
        raise DesignError("data must be a pandas DataFrame", argument="data",
                          value=type(data).__name__, fix="pass a DataFrame of respondents")
    if len(data) == 0:
        raise DesignError("data has no rows", argument="data", value=0,
                          fix="pass the sample's rows")
    if lonely_psu not in LONELY_PSU_OPTIONS:
        raise DesignError("unknown lonely-PSU rule", argument="lonely_psu", value=lonely_psu,
                          fix=f"use one of {', '.join(LONELY_PSU_OPTIONS)}")
    if weights is not None and probs is not None:
        raise DesignError("give either weights or probs, not both", argument="probs",
                          value=probs, fix="drop one of the two arguments")
    psu_cols = as_list(psu)
    fpc_cols = as_list(fpc)
    prob_cols = as_list(probs)
    for arg, cols in (("weights", as_list(weights)), ("strata", as_list(strata)),
                      ("psu", psu_cols), ("fpc", fpc_cols), ("probs", prob_cols)):
        for col in cols:
            if col not in data.columns:
                raise DesignError(f"column {col!r} is not in the data", argument=arg,
                                  value=col,
                                  fix=f"use one of the columns: {column_list(data)}")
    if strata is not None and not isinstance(strata, str):
        raise DesignError("strata must be one column name", argument="strata", value=strata,
                          fix="combine several stratifiers into one column first")
    if fpc_cols and psu_cols and len(fpc_cols) not in (1, len(psu_cols)):
        raise DesignError("give one fpc column per sampling stage", argument="fpc",
                          value=fpc_cols, fix=f"pass {len(psu_cols)} fpc columns or one")
    if len(fpc_cols) > 1 and len(fpc_cols) != max(len(psu_cols), 1):
        raise DesignError("more fpc columns than sampling stages", argument="fpc",
                          value=fpc_cols, fix="give one fpc column per psu column")
    n = len(data)
    n_stages = max(len(psu_cols), 1)

    # First-stage strata --------------------------------------------------------
    if strata is not None:
        s_codes, s_labels = factorize(data[strata])
        if (s_codes < 0).any():
            raise DesignError(f"{int((s_codes < 0).sum())} rows have a missing stratum",
                              argument="strata", value=strata,
                              fix="fill in the stratum of every row")
    else:
        s_codes, s_labels = np.zeros(n, np.int64), pd.Index([1])
    n_strata0 = len(s_labels)

    # Stage ids -----------------------------------------------------------------
    stage_ids: list[np.ndarray] = []
    psu_labels = None
    for k in range(n_stages):
        if k < len(psu_cols):
            codes, labels = factorize(data[psu_cols[k]])
            if (codes < 0).any():
                raise DesignError(f"{int((codes < 0).sum())} rows have a missing cluster id",
                                  argument="psu", value=psu_cols[k],
                                  fix="fill in the cluster of every row")
        else:
            codes, labels = np.arange(n, dtype=np.int64), pd.RangeIndex(n)
        if k == 0:
            psu_labels = labels
        stage_ids.append(codes)

    # Check nesting of PSUs in strata (R: check.strata) ---------------------------
    c0 = stage_ids[0]
    units: list[np.ndarray] = []
    if strata is not None and not nest and psu_cols:
        keys = c0 * n_strata0 + s_codes
        size = small_range(keys)
        pairs = (pd.unique(keys) if size is None
                 else np.flatnonzero(np.bincount(keys, minlength=size)))
        psu_of_pair = pairs // n_strata0
        counts = np.bincount(psu_of_pair, minlength=int(c0.max()) + 1)
        if (counts > 1).any():
            bad = psu_labels[np.flatnonzero(counts > 1)[:5]].tolist()
            raise DesignError("clusters are not nested in strata at the first stage",
                              argument="psu", value=bad,
                              fix="pass nest=True if PSU labels are only unique within "
                                  "strata (R: nest=TRUE), or correct the PSU ids")
        # each PSU is in one stratum: number the PSUs by (stratum, PSU), as below
        unit_of_psu = np.empty(len(counts), np.int64)
        unit_of_psu[psu_of_pair[np.lexsort((psu_of_pair, pairs % n_strata0))]] = \
            np.arange(len(pairs))
        units.append(unit_of_psu[c0])
    # Units: stage 0 unit = (stratum, psu); stage k unit = (unit k-1, id k)
    parent = units[0] if units else s_codes
    for k in range(len(units), n_stages):
        combined = parent.astype(np.int64) * (int(stage_ids[k].max()) + 1) + stage_ids[k]
        size = small_range(combined)
        if size is not None:
            codes, _ = dense_codes(combined, size)
        else:
            codes, _ = pd.factorize(combined, sort=True)
        units.append(codes.astype(np.int64))
        parent = codes
    unit_first_row = []
    for k in range(n_stages):
        first = np.full(int(units[k].max()) + 1, -1, dtype=np.int64)
        first[units[k][::-1]] = np.arange(n - 1, -1, -1)
        unit_first_row.append(first)
    psu_display = psu_labels[stage_ids[0][unit_first_row[0]]] if psu_cols else \
        np.arange(len(unit_first_row[0]))
    if len(unit_first_row[0]) == 1 and not (nest and strata is not None):
        raise DesignError("the design has only one primary sampling unit", argument="psu",
                          value=psu_cols[0] if psu_cols else None,
                          fix="check the psu column; a variance needs at least two PSUs")

    # fpc -------------------------------------------------------------------------
    fpc_values: list[np.ndarray] = []
    fpc_low, fpc_high = np.inf, -np.inf
    for col in fpc_cols:
        vals = pd.to_numeric(data[col], errors="coerce").to_numpy(dtype=float)
        low = vals.min()   # NaN when a value is missing
        if np.isnan(low):
            raise DesignError(f"{int(np.isnan(vals).sum())} rows have a missing or "
                              "non-numeric fpc", argument="fpc", value=col,
                              fix="give the stratum's population count of PSUs on every row")
        if low <= 0:
            raise DesignError("fpc must be positive", argument="fpc",
                              value=float(vals[vals <= 0][0]),
                              fix="give population counts (>1) or sampling fractions (<=1)")
        fpc_values.append(vals)
        fpc_low, fpc_high = min(fpc_low, low), max(fpc_high, vals.max())
    if fpc_values:
        is_popsize = bool(fpc_high > 1)
        if is_popsize and not fpc_low >= 1:
            raise DesignError("fpc mixes population counts (>1) and sampling fractions (<1)",
                              argument="fpc", value=fpc_cols,
                              fix="give all fpc as counts or all as fractions (as R requires)")
    else:
        is_popsize = True

    stages: list[Stage] = []
    parent_stratum_codes = s_codes
    n_parent_strata = n_strata0
    mult_by_unit_prev = None
    for k in range(n_stages):
        ucodes = units[k]
        n_units = len(unit_first_row[k])
        unit_stratum = parent_stratum_codes[unit_first_row[k]]
        stratum_n = np.bincount(unit_stratum, minlength=n_parent_strata).astype(float)
        if k < len(fpc_values):
            vals = fpc_values[k]
            # constant within stage-strata: compare with each stage-stratum's first row
            if k == 0:   # units are numbered stratum by stratum
                first_rows = np.full(n_parent_strata, -1, dtype=np.int64)
                filled = stratum_n > 0
                starts = (np.cumsum(stratum_n) - stratum_n)[filled].astype(np.intp)
                first_rows[filled] = np.minimum.reduceat(unit_first_row[0], starts)
            else:
                first_rows = unit_first_row[k - 1]
            ref = vals[first_rows][parent_stratum_codes]
            # equal is the usual case, and far quicker to check than close
            if not (np.array_equal(vals, ref)
                    or np.allclose(vals, ref, rtol=1e-12, atol=0)):
                bad = np.flatnonzero(~np.isclose(vals, ref, rtol=1e-12, atol=0))[0]
                where = (f"stratum {s_labels[s_codes[bad]]!r}" if k == 0
                         else f"stage-{k} cluster of row {bad}")
                raise DesignError(f"fpc varies within {where}", argument="fpc",
                                  value=fpc_cols[k],
                                  fix="the fpc must be the same on every row of a stratum")
            stratum_val = vals[first_rows]
            N = stratum_val if is_popsize else stratum_n / stratum_val
            if (N < stratum_n - 1e-9).any():
                bad = int(np.flatnonzero(N < stratum_n - 1e-9)[0])
                label = s_labels[bad] if k == 0 else bad
                raise DesignError(
                    f"fpc implies more than 100% sampling in stratum {label!r}: population "
                    f"{N[bad]:g} < {int(stratum_n[bad])} sampled PSUs", argument="fpc",
                    value=fpc_cols[k], fix="check the fpc column (population count of PSUs)")
        else:
            N = np.full(n_parent_strata, np.inf)
        if k == 0:
            mult = np.ones(n_parent_strata)
        else:
            mult = mult_by_unit_prev
        strat_matrix = sparse.csr_matrix(
            (np.ones(n_units), (unit_stratum, np.arange(n_units))),
            shape=(n_parent_strata, n_units))
        stage = Stage(ucodes, n_units, unit_stratum, n_parent_strata, stratum_n, N, mult,
                       strat_matrix)
        stages.append(stage)
        # next stage: stage-strata are this stage's units
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(np.isinf(N), 0.0, stratum_n / N)
        mult_by_unit_prev = (mult * frac)[unit_stratum]
        parent_stratum_codes = ucodes
        n_parent_strata = n_units

    # Only stages with fpc enter the variance (R: multistage recursion needs popsize).
    if len(fpc_values) == 0 or len(fpc_values) < n_stages:
        var_stages = (stages[0],)
    else:
        var_stages = tuple(stages)

    # Lonely PSUs -----------------------------------------------------------------
    st0 = stages[0]
    lonely = (st0.stratum_n == 1) & (st0.f >= CERTAINTY_F)
    if lonely.any() and lonely_psu == "fail":
        labels = [s_labels[i] for i in np.flatnonzero(lonely)[:10]]
        raise DesignError(
            f"{int(lonely.sum())} stratum/strata have only one PSU", argument="strata",
            value=labels,
            fix="choose lonely_psu='adjust', 'average', 'certainty' or 'remove' (R's "
                "options(survey.lonely.psu=...)), or merge each such stratum with a "
                "neighbour")
    for k, st in enumerate(var_stages[1:], start=1):
        lonely_k = (st.stratum_n == 1) & (st.f >= CERTAINTY_F)
        if lonely_k.any() and lonely_psu == "fail":
            raise DesignError(
                f"{int(lonely_k.sum())} stage-{k} cluster(s) have a single stage-{k + 1} "
                "unit sampled out of several", argument="psu", value=psu_cols[k],
                fix="give lonely_psu another rule, or an fpc of 1 for such clusters")

    # Weights ---------------------------------------------------------------------
    if weights is not None:
        w = weights_column(data, weights)
    elif prob_cols:
        w = np.ones(n)
        for col in prob_cols:
            pr = pd.to_numeric(data[col], errors="coerce").to_numpy(dtype=float)
            if np.isnan(pr).any() or (pr <= 0).any() or (pr > 1).any():
                bad = pr[np.isnan(pr) | (pr <= 0) | (pr > 1)][0]
                raise DesignError("inclusion probabilities must be in (0, 1]",
                                  argument="probs", value=float(bad),
                                  fix=f"check column {col!r}")
            w = w / pr
    elif fpc_values:
        w = np.ones(n)
        for k in range(len(fpc_values)):
            st = stages[k]
            stratum_of_row = (s_codes if k == 0 else units[k - 1])
            w = w * (st.stratum_N / st.stratum_n)[stratum_of_row]
    else:
        w = np.ones(n)
    if not (w > 0).any():
        raise DesignError("every weight is zero", argument="weights", value=weights,
                          fix="give positive sampling weights")
    w = np.ascontiguousarray(w, dtype=float)
    w.flags.writeable = False

    spec = {"weights": weights, "strata": strata, "psu": psu_cols, "fpc": fpc_cols,
            "probs": prob_cols, "lonely_psu": lonely_psu, "nest": nest}
    structure = Structure(data=data, n=n, stages=var_stages, n_id_stages=n_stages,
                          stratum=s_codes, strata_labels=s_labels,
                          psu_labels=np.asarray(psu_display), has_strata=strata is not None,
                          has_fpc=bool(fpc_values), lonely_psu=lonely_psu, spec=spec)
    return structure, w



def as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def dense_codes(keys: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(keys, sort=True)`` for integer keys in ``[0, size)``, in O(n + size)."""
    present = np.flatnonzero(np.bincount(keys, minlength=size))
    lookup = np.empty(size, np.int64)
    lookup[present] = np.arange(len(present))
    return lookup[keys], present


def small_range(keys: np.ndarray) -> int | None:
    """``max + 1`` of non-negative integer keys whose range is small enough for a lookup
    table (at most four entries per key), else None."""
    if len(keys) == 0 or keys.dtype.kind not in "iu":
        return None
    low, high = keys.min(), keys.max()
    if low < 0 or high >= 4 * len(keys) + 1024:
        return None
    return int(high) + 1


def factorize(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Codes (−1 for missing) and sorted uniques; categoricals keep their category order."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy().astype(np.int64)
        return codes, pd.Index(values.cat.categories)
    if values.dtype.kind in "iu" and (size := small_range(values.to_numpy())) is not None:
        codes, uniques = dense_codes(values.to_numpy(), size)
        return codes, pd.Index(uniques.astype(values.dtype, copy=False))
    try:
        codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=True)
    except TypeError:  # mixed, unorderable types: order of first appearance
        codes, uniques = pd.factorize(values, sort=False, use_na_sentinel=True)
    return codes.astype(np.int64), pd.Index(uniques)


def combined_codes(codes_list: list, uniques_list: list) -> tuple[np.ndarray, np.ndarray]:
    """Mixed-radix code of several factor columns, and the rows where none is missing."""
    n = len(codes_list[0])
    combined = np.zeros(n, np.int64)
    valid = np.ones(n, bool)
    for c, u in zip(codes_list, uniques_list):
        valid &= c >= 0
        combined = combined * max(len(u), 1) + np.maximum(c, 0)
    return combined, valid


def combine_codes(codes: list, sizes: list) -> tuple[np.ndarray, int]:
    """Codes of the present combinations of ``codes`` (each in ``[0, size)``), and their
    number; the combinations are numbered in their mixed-radix order."""
    keys, total = codes[0], sizes[0]
    for code, size in zip(codes[1:], sizes[1:]):
        if total * size > 4 * len(keys) + 1024:   # renumber the present ones first
            keys, total = combine_codes([keys], [total])
        keys, total = keys * size + code, total * size
    if total <= 4 * len(keys) + 1024:
        codes_out, present = dense_codes(keys, total)
        return codes_out, len(present)
    codes_out, uniques = pd.factorize(keys, sort=True)
    return codes_out.astype(np.int64), len(uniques)


@dataclass(frozen=True, eq=False)
class Stage:
    """One sampling stage: its units, their stage-strata, sample and population counts."""

    unit: np.ndarray            # (n,) unit code of each row, unique across the design
    n_units: int
    unit_stratum: np.ndarray    # (n_units,) stage-stratum code of each unit
    n_strata: int
    stratum_n: np.ndarray       # (n_strata,) units sampled (R: fpc$sampsize)
    stratum_N: np.ndarray       # (n_strata,) population units (inf without fpc)
    mult: np.ndarray            # (n_strata,) product of earlier stages' sampling fractions
    strat_matrix: Any = field(repr=False, default=None)  # sparse (n_strata x n_units)

    def within(self, T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per stage-stratum: sums of the unit values ``T`` (units x columns) and sums of
        squares about the stratum means, each ``(n_strata, columns)``.

        Units are numbered stratum by stratum (their codes sort by stratum first), so each
        stratum's units are consecutive; the sums run along the units of a domain-major copy,
        where numpy's loops are long (a units-major array has loops of one row's columns).
        """
        TT = T.T if T.flags.f_contiguous else np.ascontiguousarray(T.T)
        filled = self.stratum_n > 0
        counts = self.stratum_n[filled].astype(np.intp)
        starts = np.cumsum(counts) - counts
        sums = np.add.reduceat(TT, starts, axis=1)
        centred = TT - np.repeat(sums / counts, counts, axis=1)
        centred *= centred
        sq = np.add.reduceat(centred, starts, axis=1)
        if filled.all():
            return sums.T, sq.T
        full_sums, full_sq = (np.zeros((self.n_strata, T.shape[1])) for _ in range(2))
        full_sums[filled], full_sq[filled] = sums.T, sq.T
        return full_sums, full_sq

    @property
    def f(self) -> np.ndarray:
        """``(N - n)/N`` per stage-stratum (1 without fpc), R's finite population factor."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(np.isinf(self.stratum_N), 1.0,
                            (self.stratum_N - self.stratum_n) / self.stratum_N)


@dataclass(frozen=True, eq=False)
class Structure:
    """Everything about a design that does not depend on the weights (shared by derived designs)."""

    data: pd.DataFrame
    n: int
    stages: tuple            # of Stage; variance uses all of them (ultimate cluster if 1)
    n_id_stages: int
    stratum: np.ndarray      # (n,) first-stage stratum code
    strata_labels: pd.Index
    psu_labels: np.ndarray   # (n_psu,) label of each first-stage PSU (for messages)
    has_strata: bool
    has_fpc: bool
    lonely_psu: str
    spec: dict
    factor_cache: dict = field(default_factory=dict, repr=False)

    # The data's columns as codes and numbers (cached: derived designs share them) ----------
    def factor(self, column: str, argument: str) -> tuple[np.ndarray, pd.Index]:
        """Codes (-1 for missing) and labels of a column (categoricals keep their order)."""
        cache = self.factor_cache
        if column not in cache:
            if column not in self.data.columns:
                raise VariableError(f"column {column!r} is not in the data", argument=argument,
                                    value=column,
                                    fix=f"use one of the columns: {column_list(self.data)}")
            cache[column] = factorize(self.data[column])
        return cache[column]

    def shifted(self, column: str) -> tuple[np.ndarray, int]:
        """The column's codes made non-negative (missing as a code of its own) and their
        number (cached)."""
        key = ("shifted", column)
        cache = self.factor_cache
        if key not in cache:
            c, u = self.factor(column, "by")
            cache[key] = (c + 1, len(u) + 1) if (c < 0).any() else (c, max(len(u), 1))
        return cache[key]

    def numeric(self, column: str, argument: str = "variable") -> np.ndarray:
        """The column as float64 (NaN for missing), validated and cached (read-only)."""
        if not isinstance(column, str):
            raise VariableError("the variable must be a column name", argument=argument,
                                value=column, fix="pass the name of one column")
        cache = self.factor_cache
        key = ("numeric", column)
        if key in cache:
            return cache[key]
        if column not in self.data.columns:
            raise VariableError(f"column {column!r} is not in the data", argument=argument,
                                value=column,
                                fix=f"use one of the columns: {column_list(self.data)}")
        s = self.data[column]
        if pd.api.types.is_bool_dtype(s.dtype):
            y = s.to_numpy(dtype=float, na_value=np.nan)
        else:
            if isinstance(s.dtype, pd.CategoricalDtype) or not (
                    pd.api.types.is_numeric_dtype(s.dtype) or s.dtype == object):
                raise VariableError(f"column {column!r} is not numeric", argument=argument,
                                    value=str(s.dtype),
                                    fix="use frequencies() for categorical answers, or convert "
                                        "the column to numbers")
            if s.dtype == object:
                conv = pd.to_numeric(s, errors="coerce")
                bad = conv.isna() & s.notna()
                if bad.any():
                    raise VariableError(f"column {column!r} has non-numeric values",
                                        argument=argument, value=s[bad].iloc[0],
                                        fix="use frequencies() for categorical answers, or "
                                            "convert the values to numbers")
                s = conv
            y = s.to_numpy(dtype=float, na_value=np.nan)
        if np.isinf(y).any():
            raise VariableError(f"column {column!r} has infinite values", argument=argument,
                                value=float(y[np.isinf(y)][0]), fix="replace them by valid numbers")
        y = np.ascontiguousarray(y)
        y.flags.writeable = False
        cache[key] = y
        missing = np.isnan(y)
        missing.flags.writeable = False
        cache[("missing", column)] = missing if missing.any() else None
        return y

    def missing(self, column: str) -> np.ndarray | None:
        """Rows where the numeric column is missing, or None when none is (cached)."""
        self.numeric(column)
        return self.factor_cache[("missing", column)]

    def zeroed(self, column: str) -> np.ndarray:
        """The numeric column with 0 for missing values (read-only, cached)."""
        y = self.numeric(column)
        key = ("zeroed", column)
        cache = self.factor_cache
        if key not in cache:
            missing = self.missing(column)
            y0 = y if missing is None else np.where(missing, 0.0, y)
            y0.flags.writeable = False
            cache[key] = y0
        return cache[key]

    def calibration_factors(self, variables: list[str], positive: np.ndarray,
                            argument: str) -> list[tuple[str, np.ndarray, pd.Index]]:
        """``(variable, codes, labels)`` of calibration variables; every row of positive
        weight must have a value."""
        out = []
        for var in variables:
            if var not in self.data.columns:
                raise MarginError(f"column {var!r} is not in the data", argument=argument,
                                  value=var, fix="name a column of the data")
            codes, labels = self.factor(var, argument)
            missing = positive & (codes < 0)
            if missing.any():
                raise MarginError(f"{int(missing.sum())} respondents have no value of {var!r}",
                                  argument=argument, value=var,
                                  fix="impute the variable or give those rows weight 0")
            out.append((var, codes, labels))
        return out


def column_list(data: pd.DataFrame, limit: int = 30) -> str:
    cols = [str(c) for c in data.columns[:limit]]
    more = "" if len(data.columns) <= limit else f", ... ({len(data.columns)} columns)"
    return ", ".join(cols) + more


def check_weights(w: np.ndarray, argument: str, column: str | None = None) -> None:
    if len(w) and np.isfinite(w.max()) and w.min() >= 0:   # the max is NaN if one is
        return
    if np.isnan(w).any():
        raise DesignError(f"{int(np.isnan(w).sum())} rows have a missing weight",
                          argument=argument, value=column,
                          fix="give every row a weight (0 leaves a row out)")
    if np.isinf(w).any():
        raise DesignError("weights must be finite", argument=argument, value=column,
                          fix="check the weight column for division by zero")
    if (w < 0).any():
        raise DesignError(f"{int((w < 0).sum())} rows have a negative weight",
                          argument=argument, value=float(w[w < 0][0]),
                          fix="weights must be >= 0")


def weights_column(data: pd.DataFrame, column: str) -> np.ndarray:
    s = data[column]
    if not (pd.api.types.is_numeric_dtype(s.dtype) or s.dtype == object):
        raise DesignError(f"weight column {column!r} is not numeric", argument="weights",
                          value=str(s.dtype), fix="give numeric sampling weights")
    if s.dtype == object:   # every value must convert
        conv = pd.to_numeric(s, errors="coerce")
        if (conv.isna() & s.notna()).any():
            raise DesignError(f"weight column {column!r} has non-numeric values",
                              argument="weights", value=s[conv.isna() & s.notna()].iloc[0],
                              fix="give numeric sampling weights")
        s = conv
    w = s.to_numpy(dtype=float, na_value=np.nan)
    check_weights(w, "weights", column)
    return w
