"""Design-based estimation for stratified multi-stage samples: :class:`SurveyDesign`.

The numbers are those of R's ``survey`` package (Lumley): Taylor linearisation
(``svyrecvar``) with first-stage PSUs, strata and finite population corrections, R's
multistage recursion when an fpc is given for every stage, domain estimation over the whole
design with each domain's own degrees of freedom (``svyby``), R's lonely-PSU rules and
the variance adjustments of post-stratification (``postStratify``) and raking calibration
(``calibrate(calfun = "raking")``).

What is supported (and checked against R in tests/analysis/test_reference_r.py)
--------------------------------------------------------------------------------
* One-stage designs: optional strata, optional PSUs (``ids = ~1`` when absent), optional
  fpc given as population counts or sampling fractions, weights or inclusion probabilities
  (or weights derived from the fpc, as R does).
* Multi-stage designs ``psu=[stage1, stage2, ...]``: with one fpc column per stage the
  variance has every stage's term, as R's default (``survey.ultimate.cluster = FALSE``;
  checked on ``apiclus2``, ``ids = ~dnum + snum, fpc = ~fpc1 + fpc2``).  Strata apply to the
  first stage only (later stages are stratified by the earlier cluster, as R does when
  ``strata`` has one column).  Without fpc the variance is the ultimate-cluster one (first
  stage PSUs, with-replacement), as in R.
* Lonely PSUs: R's ``fail``, ``remove``, ``certainty``, ``adjust`` and ``average`` at the
  first stage, including their domain behaviour; census strata (fpc = sample) contribute
  zero.  At later stages a single unit under ``average`` contributes zero (R: NaN).
* Domains (``by=``) use the whole design with zero influence outside the domain, and report
  the domain's own degrees of freedom, as ``svyby`` on R's subsets.
* Calibration: ``poststratify`` = R's ``postStratify``; ``rake`` gives the weights of R's
  ``rake``/``calibrate(calfun = "raking")`` and the standard errors of
  ``calibrate(calfun = "raking")`` (R's ``rake()`` uses an approximate backfitting variance
  instead); steps can be stacked.  ``trim`` = ``trimWeights`` (rows of weight zero are left
  alone).
* Not supported: PPS without replacement (Brewer, Overton...), two-phase designs,
  stratification below the first stage, Fay/BRR replicates.

Deliberate differences from ``svyciprop``: at 0% or 100% (zero variance) intervals use
Kish's effective sample size instead of degenerating; Wald limits are clipped to [0, 1];
``asin`` limits are clamped before back-transforming; where R's 9-step likelihood profile
does not reach the cutoff (R returns NA) the profile equation is solved exactly.

Performance: the constructor factorises strata and PSUs once.  The estimators group the rows
into cells that refine the last-stage units, the calibration cells and every domain column
used so far (``prepare_domains`` names them up front); a variable's rows are summed into the
cells once -- one ``np.bincount`` per sum over the rows -- and every domain set's sums by
(unit, domain) and by (calibration cell, domain) are then formed from the cells and from their
groups (the cells with the units merged).  The variance, calibration residuals and strata
are computed from those small tables through small dense or sparse matrices, never from
copies of the data or loops over rows, PSUs or domains.  A 0/1 variable's cells take one
``np.bincount`` by (cell, answer); its respondent counts and squared weights are summed by
group, not by cell.  Sums by (unit, domain) are stored domain by domain and strata are runs
of consecutive units, so the variance's numpy loops run along the units.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import sparse

from . import _ci
from .errors import DesignError, VariableError
from .results import OVERALL, Estimate, build_table, frequency_index

__all__ = ["SurveyDesign", "LONELY_PSU_OPTIONS", "CI_METHODS"]

#: Accepted values of ``lonely_psu`` (R's ``options(survey.lonely.psu = ...)``).
LONELY_PSU_OPTIONS = ("fail", "remove", "certainty", "adjust", "average")
#: Accepted ``ci_method`` values of :meth:`SurveyDesign.proportion`.
CI_METHODS = _ci.CI_METHODS

_CERTAINTY_F = 1e-7   # R's onestrat: strata with (N - n)/N below this contribute nothing


# ------------------------------------------------------------------------------------------
# Internal structures
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class _Stage:
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
class _CalStep:
    """A calibration adjustment, as R's ``svyrecvar`` applies it to linearised values.

    The residualised values are ``x' = x - d * E H E'(c * x)`` where ``E`` is the row-by-cell
    indicator matrix.  Post-stratification: ``d`` = new weights, ``c`` = old/new weights,
    ``H = diag(1 / old cell totals)``.  Raking (GREG with raking calibration function): ``d`` =
    calibrated weights, ``c = 1/g``, ``H = Z (Z' W0 Z)^+ Z'`` with ``Z`` the cell model matrix.
    """

    kind: str
    cell: np.ndarray     # (n,) int cell code
    n_cells: int
    d: np.ndarray        # (n,)
    c: np.ndarray        # (n,)
    H: np.ndarray        # (n_cells, n_cells)
    label: str


@dataclass(frozen=True, eq=False)
class _Structure:
    """Everything about a design that does not depend on the weights (shared by derived designs)."""

    data: pd.DataFrame
    n: int
    stages: tuple            # of _Stage; variance uses all of them (ultimate cluster if 1)
    n_id_stages: int
    stratum: np.ndarray      # (n,) first-stage stratum code
    strata_labels: pd.Index
    psu_labels: np.ndarray   # (n_psu,) label of each first-stage PSU (for messages)
    has_strata: bool
    has_fpc: bool
    lonely_psu: str
    spec: dict
    factor_cache: dict = field(default_factory=dict, repr=False)


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def _dense_codes(keys: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(keys, sort=True)`` for integer keys in ``[0, size)``, in O(n + size)."""
    present = np.flatnonzero(np.bincount(keys, minlength=size))
    lookup = np.empty(size, np.int64)
    lookup[present] = np.arange(len(present))
    return lookup[keys], present


def _small_range(keys: np.ndarray) -> int | None:
    """``max + 1`` of non-negative integer keys whose range is small enough for a lookup
    table (at most four entries per key), else None."""
    if len(keys) == 0 or keys.dtype.kind not in "iu":
        return None
    low, high = keys.min(), keys.max()
    if low < 0 or high >= 4 * len(keys) + 1024:
        return None
    return int(high) + 1


def _factorize(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Codes (−1 for missing) and sorted uniques; categoricals keep their category order."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy().astype(np.int64)
        return codes, pd.Index(values.cat.categories)
    if values.dtype.kind in "iu" and (size := _small_range(values.to_numpy())) is not None:
        codes, uniques = _dense_codes(values.to_numpy(), size)
        return codes, pd.Index(uniques.astype(values.dtype, copy=False))
    try:
        codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=True)
    except TypeError:  # mixed, unorderable types: order of first appearance
        codes, uniques = pd.factorize(values, sort=False, use_na_sentinel=True)
    return codes.astype(np.int64), pd.Index(uniques)


def _bincount2(code: np.ndarray, K: int, col: np.ndarray, n_codes: int,
               values: np.ndarray) -> np.ndarray:
    """Sum ``values`` by ``(code, col)`` into an ``(n_codes, K)`` array."""
    out = np.bincount(code * K + col, weights=values, minlength=n_codes * K)
    return out.reshape(n_codes, K)


def _combined_codes(codes_list: list, uniques_list: list) -> tuple[np.ndarray, np.ndarray]:
    """Mixed-radix code of several factor columns, and the rows where none is missing."""
    n = len(codes_list[0])
    combined = np.zeros(n, np.int64)
    valid = np.ones(n, bool)
    for c, u in zip(codes_list, uniques_list):
        valid &= c >= 0
        combined = combined * max(len(u), 1) + np.maximum(c, 0)
    return combined, valid


def _combine_codes(codes: list, sizes: list) -> tuple[np.ndarray, int]:
    """Codes of the present combinations of ``codes`` (each in ``[0, size)``), and their
    number; the combinations are numbered in their mixed-radix order."""
    keys, total = codes[0], sizes[0]
    for code, size in zip(codes[1:], sizes[1:]):
        if total * size > 4 * len(keys) + 1024:   # renumber the present ones first
            keys, total = _combine_codes([keys], [total])
        keys, total = keys * size + code, total * size
    if total <= 4 * len(keys) + 1024:
        codes_out, present = _dense_codes(keys, total)
        return codes_out, len(present)
    codes_out, uniques = pd.factorize(keys, sort=True)
    return codes_out.astype(np.int64), len(uniques)


def _ratio_influence(B0: list, B1: list, ratio: np.ndarray, sw: np.ndarray) -> list:
    """``(B1 - B0 * ratio) / sw`` at every level: the sums of a ratio's linearised values
    (computed in place: the tables are large)."""
    out = []
    for b0, b1 in zip(B0, B1):
        z = b0 * ratio
        np.subtract(b1, z, out=z)
        z /= sw
        out.append(z)
    return out


def _unit_starts(unit: np.ndarray, n_units: int) -> np.ndarray | None:
    """First cell of each unit when the cells are ordered by unit, else None."""
    starts = np.flatnonzero(np.diff(unit, prepend=-1))
    if len(starts) != n_units or not (np.diff(unit) >= 0).all():
        return None
    return starts


def _sum_cells(code: np.ndarray, values: np.ndarray, size: int, D: int) -> np.ndarray:
    """Sum cell ``values`` by ``code = group * D + domain`` (sentinel ``size * D``)."""
    return np.bincount(code, weights=values, minlength=size * D + 1)[:-1].reshape(size, D)


def _sum_domains(plus1: np.ndarray, values: np.ndarray, D: int) -> np.ndarray:
    """Sum cell ``values`` by domain (``plus1`` = domain + 1, 0 outside every domain)."""
    return np.bincount(plus1, weights=values, minlength=D + 1)[1:]


# ------------------------------------------------------------------------------------------
# SurveyDesign
# ------------------------------------------------------------------------------------------

class SurveyDesign:
    """A complex survey design: weights, strata, (multi-stage) clusters and fpc.

    The design is immutable: weighting methods (:meth:`rake`, :meth:`poststratify`,
    :meth:`trim`, :meth:`adjust_nonresponse`) return new designs sharing the factorised
    structure.  Do not modify ``data`` after building a design from it.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per sampled unit (respondent).
    weights : str, optional
        Column of sampling weights (non-negative, no missing values).  If neither
        ``weights`` nor ``probs`` is given, the weights are computed from ``fpc`` as R does
        (population over sample count at each stage), or are all 1 without ``fpc``.
    strata : str, optional
        Column of first-stage strata (e.g. the district).
    psu : str or list of str, optional
        Column of first-stage clusters (e.g. the community); a list gives the cluster
        columns of successive stages (R's ``ids = ~psu + ssu``).  ``None``: every row is its
        own PSU (R's ``ids = ~1``).
    fpc : str or list of str, optional
        Finite population correction, one column per stage: the population count of PSUs in
        the row's stratum, or the sampling fraction when every value is <= 1 (as R's
        ``svydesign(fpc = )``).  With a multi-stage ``psu`` and one fpc per stage the variance
        includes every stage (R's default); without fpc it is the ultimate-cluster variance.
    probs : str or list of str, optional
        Inclusion probabilities instead of ``weights`` (one column per stage: multiplied).
    lonely_psu : {"fail", "remove", "certainty", "adjust", "average"}, default "fail"
        What to do with a stratum that has a single PSU, as R's ``survey.lonely.psu``.
    nest : bool, default False
        PSU labels are only unique within strata (R's ``nest = TRUE``).

    Raises
    ------
    DesignError
        Missing columns, missing/negative weights, fpc inconsistent with the sample,
        PSUs not nested in strata, a stratum with one PSU under ``lonely_psu="fail"``...

    Examples
    --------
    >>> from analysis import SurveyDesign
    >>> des = SurveyDesign(apistrat, weights="pw", strata="stype", fpc="fpc")  # doctest: +SKIP
    >>> # In R: des <- svydesign(ids=~1, strata=~stype, weights=~pw, fpc=~fpc, data=apistrat)
    >>> des.mean("api00").to_frame()   # doctest: +SKIP
    >>> # In R: svymean(~api00, des)
    """

    # Construction ---------------------------------------------------------------------
    def __init__(self, data: pd.DataFrame, weights: str | None = None, strata: str | None = None,
                 psu: str | Sequence[str] | None = None, fpc: str | Sequence[str] | None = None,
                 *, probs: str | Sequence[str] | None = None, lonely_psu: str = "fail",
                 nest: bool = False) -> None:
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
        psu_cols = _as_list(psu)
        fpc_cols = _as_list(fpc)
        prob_cols = _as_list(probs)
        for arg, cols in (("weights", _as_list(weights)), ("strata", _as_list(strata)),
                          ("psu", psu_cols), ("fpc", fpc_cols), ("probs", prob_cols)):
            for col in cols:
                if col not in data.columns:
                    raise DesignError(f"column {col!r} is not in the data", argument=arg,
                                      value=col,
                                      fix=f"use one of the columns: {_column_list(data)}")
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
            s_codes, s_labels = _factorize(data[strata])
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
                codes, labels = _factorize(data[psu_cols[k]])
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
            size = _small_range(keys)
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
            size = _small_range(combined)
            if size is not None:
                codes, _ = _dense_codes(combined, size)
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

        stages: list[_Stage] = []
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
            stage = _Stage(ucodes, n_units, unit_stratum, n_parent_strata, stratum_n, N, mult,
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
        lonely = (st0.stratum_n == 1) & (st0.f >= _CERTAINTY_F)
        if lonely.any() and lonely_psu == "fail":
            labels = [s_labels[i] for i in np.flatnonzero(lonely)[:10]]
            raise DesignError(
                f"{int(lonely.sum())} stratum/strata have only one PSU", argument="strata",
                value=labels,
                fix="choose lonely_psu='adjust', 'average', 'certainty' or 'remove' (R's "
                    "options(survey.lonely.psu=...)), or merge each such stratum with a "
                    "neighbour")
        for k, st in enumerate(var_stages[1:], start=1):
            lonely_k = (st.stratum_n == 1) & (st.f >= _CERTAINTY_F)
            if lonely_k.any() and lonely_psu == "fail":
                raise DesignError(
                    f"{int(lonely_k.sum())} stage-{k} cluster(s) have a single stage-{k + 1} "
                    "unit sampled out of several", argument="psu", value=psu_cols[k],
                    fix="give lonely_psu another rule, or an fpc of 1 for such clusters")

        # Weights ---------------------------------------------------------------------
        if weights is not None:
            w = _weights_column(data, weights)
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
        self._s = _Structure(data=data, n=n, stages=var_stages, n_id_stages=n_stages,
                             stratum=s_codes, strata_labels=s_labels,
                             psu_labels=np.asarray(psu_display), has_strata=strata is not None,
                             has_fpc=bool(fpc_values), lonely_psu=lonely_psu, spec=spec)
        self._w = w
        self._cal: tuple = ()
        self._history: tuple = ()
        self._cache: dict = {}

    @classmethod
    def _derive(cls, parent: "SurveyDesign", weights: np.ndarray, cal: tuple | None = None,
                history: str | None = None) -> "SurveyDesign":
        new = object.__new__(cls)
        new._s = parent._s
        w = np.ascontiguousarray(weights, dtype=float)
        w.flags.writeable = False
        new._w = w
        new._cal = parent._cal if cal is None else cal
        new._history = parent._history + ((history,) if history else ())
        new._cache = {}
        return new

    # Public properties ------------------------------------------------------------------
    @property
    def data(self) -> pd.DataFrame:
        """The data the design was built on (do not modify it)."""
        return self._s.data

    @property
    def weights(self) -> pd.Series:
        """The current analysis weights, indexed like ``data`` (a copy)."""
        return pd.Series(np.array(self._w), index=self._s.data.index, name="weight")

    @property
    def degf(self) -> int:
        """Design degrees of freedom: PSUs minus strata among rows of non-zero weight.

        Examples
        --------
        >>> des.degf  # doctest: +SKIP
        >>> # In R: degf(des)
        """
        inset = self._w != 0
        st = self._s.stages[0]
        n_psu = np.count_nonzero(np.bincount(st.unit[inset], minlength=st.n_units))
        n_str = np.count_nonzero(np.bincount(self._s.stratum[inset],
                                             minlength=len(self._s.strata_labels)))
        return int(n_psu - n_str)

    @property
    def n_effective(self) -> float:
        """Kish's effective sample size ``(sum w)^2 / sum w^2`` of the whole sample."""
        return float(self._w.sum() ** 2 / np.square(self._w).sum())

    @property
    def n_psu(self) -> int:
        """Number of first-stage sampling units."""
        return int(self._s.stages[0].n_units) if self._s.stages else 0

    @property
    def psu_codes(self) -> np.ndarray:
        """Code (0..n_psu-1) of each row's first-stage PSU (a read-only array)."""
        codes = self._s.stages[0].unit.view()
        codes.flags.writeable = False
        return codes

    @property
    def n_strata(self) -> int:
        """Number of first-stage strata."""
        return len(self._s.strata_labels)

    @property
    def lonely_psu(self) -> str:
        """The lonely-PSU rule in force."""
        return self._s.lonely_psu

    @property
    def calibrated(self) -> bool:
        """True after :meth:`poststratify` or :meth:`rake` (R: ``is.calibrated``)."""
        return bool(self._cal)

    @property
    def history(self) -> tuple:
        """Descriptions of the weighting steps applied since construction."""
        return self._history

    def __len__(self) -> int:
        return self._s.n

    def __repr__(self) -> str:
        return f"<SurveyDesign {self.describe()}>"

    def describe(self) -> str:
        """One-line description of the design (strata, PSUs, fpc, weighting steps)."""
        s = self._s
        parts = [f"{s.n} rows"]
        if s.has_strata:
            parts.append(f"{self.n_strata} strata ({s.spec['strata']})")
        if s.spec["psu"]:
            parts.append(f"{self.n_psu} PSUs ({'+'.join(s.spec['psu'])})")
        else:
            parts.append("rows as PSUs")
        parts.append("fpc" if s.has_fpc else "no fpc")
        if len(s.stages) > 1:
            parts.append(f"{len(s.stages)}-stage variance")
        if s.lonely_psu != "fail":
            parts.append(f"lonely PSUs: {s.lonely_psu}")
        parts.extend(self._history)
        return ", ".join(parts)

    def summary(self) -> str:
        """Text describing the design and its weights (never prints)."""
        w = self._w
        lines = [self.describe(),
                 f"degrees of freedom: {self.degf}",
                 f"weights: sum {w.sum():.6g}, min {w.min():.6g}, max {w.max():.6g}, "
                 f"Kish n_eff {self.n_effective:.1f}"]
        return "\n".join(lines)

    # Domains and variables ------------------------------------------------------------
    def _factor(self, column: str, argument: str) -> tuple[np.ndarray, pd.Index]:
        cache = self._s.factor_cache
        if column not in cache:
            if column not in self._s.data.columns:
                raise VariableError(f"column {column!r} is not in the data", argument=argument,
                                    value=column,
                                    fix=f"use one of the columns: {_column_list(self._s.data)}")
            cache[column] = _factorize(self._s.data[column])
        return cache[column]

    def _domains(self, by) -> "_Domains":
        by_cols = tuple(_as_list(by))
        key = ("domains", by_cols)
        if key in self._cache:
            return self._cache[key]
        n = self._s.n
        pos, all_pos = self._positive()
        if not by_cols:
            dom = _Domains(codes=np.zeros(n, np.int64), D=1,
                           index=pd.Index([OVERALL], name=None), by=())
        else:
            codes_list, uniques_list = [], []
            for col in by_cols:
                c, u = self._factor(col, "by")
                codes_list.append(c)
                uniques_list.append(u)
            size = int(np.prod([max(len(u), 1) for u in uniques_list], dtype=np.float64))
            if len(by_cols) == 1:   # the column's codes, unless a category has no respondent
                c = codes_list[0]
                part = self._cache.get("partition")
                if part is not None and by_cols[0] in part.cell_codes:   # count by cell
                    counts = np.bincount(part.cell_codes[by_cols[0]] + 1, weights=part.n_pos,
                                         minlength=size + 1)[1:]
                else:
                    counts = np.bincount(c + 1, weights=None if all_pos else pos.astype(float),
                                         minlength=size + 1)[1:]
                every = bool((counts > 0).all())
            if len(by_cols) == 1 and every:
                codes, present = c, np.arange(size)
            elif size <= 50_000_000:
                combined, valid = _combined_codes(codes_list, uniques_list)
                keep = valid & pos
                hit = np.bincount(combined[keep], minlength=size) > 0
                present = np.flatnonzero(hit)
                lookup = np.full(size, -1, np.int64)
                lookup[present] = np.arange(len(present))
                codes = np.where(valid, lookup[combined], -1).astype(np.int64)
            else:
                combined, valid = _combined_codes(codes_list, uniques_list)
                keep = valid & pos
                present = np.sort(pd.unique(combined[keep]))
                codes = np.searchsorted(present, combined)
                codes = np.where(valid & (codes < len(present)), codes, -1)
                ok = codes >= 0
                ok[ok] = present[codes[ok]] == combined[ok]
                codes = np.where(ok, codes, -1).astype(np.int64)
            # decode present combos into labels
            parts = []
            rem = present.copy()
            for u in reversed(uniques_list):
                size = max(len(u), 1)
                parts.append(np.asarray(u)[rem % size] if len(u) else np.array([]))
                rem = rem // size
            parts.reverse()
            if len(by_cols) == 1:
                index = pd.Index(parts[0], name=by_cols[0])
            else:
                index = pd.MultiIndex.from_arrays(parts, names=list(by_cols))
            dom = _Domains(codes=codes, D=len(present), index=index, by=by_cols)
        self._cache[key] = dom
        return dom

    def _domain_df(self, dom: "_Domains") -> np.ndarray:
        """Degrees of freedom of each domain (R: ``degf`` of the domain's design): its PSUs
        minus its strata, counting those with rows of non-zero weight in the domain."""
        key = ("df", dom.by)
        if key not in self._cache:
            self._cache[key] = self._df_of_cells(self._cell_domains(dom).n_cells)
        return self._cache[key]

    def _df_of_cells(self, cells: np.ndarray) -> np.ndarray:
        """PSUs minus strata per domain, from rows of positive weight per (last-stage unit,
        domain)."""
        upper = self._levels().upper[0]
        if upper is not None:
            cells = upper @ cells
        present = (cells > 0).astype(float)            # first-stage units x domains
        strata = self._s.stages[0].strat_matrix @ present
        return (present.sum(axis=0) - (strata > 0).sum(axis=0)).astype(np.int64)

    def _domain_rows(self, dom: "_Domains") -> np.ndarray:
        """Rows (any weight) of each domain."""
        return self._cell_domains(dom).rows

    def _numeric(self, column: str, argument: str = "variable") -> np.ndarray:
        """The column as float64 (NaN for missing), validated and cached (read-only)."""
        if not isinstance(column, str):
            raise VariableError("the variable must be a column name", argument=argument,
                                value=column, fix="pass the name of one column")
        cache = self._s.factor_cache
        key = ("numeric", column)
        if key in cache:
            return cache[key]
        if column not in self._s.data.columns:
            raise VariableError(f"column {column!r} is not in the data", argument=argument,
                                value=column,
                                fix=f"use one of the columns: {_column_list(self._s.data)}")
        s = self._s.data[column]
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

    def _missing(self, column: str) -> np.ndarray | None:
        self._numeric(column)
        return self._s.factor_cache[("missing", column)]

    def _zeroed(self, column: str) -> np.ndarray:
        """The column with 0 for missing values (read-only, cached)."""
        y = self._numeric(column)
        key = ("zeroed", column)
        cache = self._s.factor_cache
        if key not in cache:
            missing = self._missing(column)
            y0 = y if missing is None else np.where(missing, 0.0, y)
            y0.flags.writeable = False
            cache[key] = y0
        return cache[key]

    # Aggregation levels: last-stage variance units, and the cells of each calibration step --
    def _levels(self) -> "_Levels":
        """Row codes and multipliers of the sums the variance needs (cached per design).

        Level 0 groups rows by last variance-stage unit (multiplier 1); level j >= 1 groups
        them by the cells of calibration step j with multiplier ``c_j`` (R's residualisation
        needs ``E_j' (c_j * x)``).  Upper stages are sparse aggregations of level 0.
        """
        if "levels" in self._cache:
            return self._cache["levels"]
        s = self._s
        last = s.stages[-1]
        w = self._w
        codes = [last.unit] + [step.cell for step in self._cal]
        sizes = [last.n_units] + [step.n_cells for step in self._cal]
        mult = [None] + [step.c for step in self._cal]
        mw = [w] + [step.c * w for step in self._cal]
        upper = (None,)
        if len(s.stages) > 1:
            first = np.empty(last.n_units, np.int64)
            first[last.unit[::-1]] = np.arange(s.n - 1, -1, -1)
            cols = np.arange(last.n_units)
            upper = tuple(
                sparse.csr_matrix((np.ones(last.n_units), (st.unit[first], cols)),
                                  shape=(st.n_units, last.n_units))
                for st in s.stages[:-1]) + upper
        levels = _Levels(codes=tuple(codes), sizes=tuple(sizes), mult=tuple(mult),
                         mw=tuple(mw), upper=upper)
        self._cache["levels"] = levels
        return levels

    def _valid_rows(self, missing: np.ndarray | None, dom: "_Domains", column: str,
                    na_rm: bool) -> np.ndarray | None:
        """Rows in scope with a missing value, or None when there are none."""
        if missing is None:
            return None
        in_scope = (dom.codes >= 0) & (self._w > 0)
        bad = missing & in_scope
        if not bad.any():
            return None
        if not na_rm:
            raise VariableError(f"column {column!r} has {int(bad.sum())} missing values",
                                argument="na_rm", value=False,
                                fix="pass na_rm=True to estimate over the rows that have a "
                                    "value (R: na.rm=TRUE)")
        return missing

    # Cells: the rows grouped as finely as the estimators need ------------------------------
    def _positive(self) -> tuple[np.ndarray, bool]:
        """Rows of positive weight, and whether every row has one (cached)."""
        if "positive" not in self._cache:
            pos = self._w > 0
            self._cache["positive"] = (pos, bool(pos.all()))
        return self._cache["positive"]

    def _partition(self, by_cols: tuple) -> "_Partition":
        """Cells of rows refining every variance level and the domain columns ``by_cols``.

        Estimates only need sums by (level group, domain), so a variable's rows are summed
        once into these cells and every domain set is formed from the cells.  The columns of
        earlier calls stay in the cells, so one variable by several domain columns in a row
        sums its rows once; a column that would make the cells nearly as many as the rows
        gets cells of its own, which are not kept.
        """
        part = self._cache.get("partition")
        new = tuple(col for col in dict.fromkeys(by_cols)
                    if part is None or col not in part.columns)
        if part is not None and not new:
            return part
        extra = self._cache.get("partition_extra")
        if extra is not None and set(by_cols) <= set(extra.columns):
            return extra
        if part is None:
            lv = self._levels()
            code, size = ((lv.codes[0], lv.sizes[0]) if len(lv.codes) == 1
                          else _combine_codes(lv.codes, lv.sizes))
            columns = ()
        else:
            code, size, columns = part.code, part.size, part.columns
        # the strata are constant within the units (units are (stratum, PSU) pairs)
        refining = [col for col in new if col != self._s.spec["strata"]]
        if refining:
            factors = [self._factor_shifted(col) for col in refining]
            code_new, size_new = _combine_codes([code] + [c for c, _ in factors],
                                                [size] + [k for _, k in factors])
        else:
            code_new, size_new = code, size
        if part is not None and size_new == size:
            # constant within the cells (e.g. the strata): the same cells
            extended = self._cells(columns + new, code, size, like=part)
        else:
            extended = self._cells(columns + new, code_new, size_new)
        self._cache["partition" if 4 * size_new <= self._s.n else "partition_extra"] = extended
        return extended

    def _factor_shifted(self, column: str) -> tuple[np.ndarray, int]:
        """The column's codes made non-negative (missing as a code of its own) and their
        number (cached)."""
        key = ("shifted", column)
        cache = self._s.factor_cache
        if key not in cache:
            c, u = self._factor(column, "by")
            cache[key] = (c + 1, len(u) + 1) if (c < 0).any() else (c, max(len(u), 1))
        return cache[key]

    def _cells(self, columns: tuple, code: np.ndarray, size: int,
               like: "_Partition | None" = None) -> "_Partition":
        """The sums of a partition's cells that do not depend on the analysed variable
        (those of ``like`` when it has the same cells), and the cells' groups."""
        lv = self._levels()
        pos, all_pos = self._positive()
        if like is None:
            n = self._s.n
            w = self._w
            first = np.empty(size, np.int64)
            first[code[::-1]] = np.arange(n - 1, -1, -1)
            if not all_pos:   # a calibration multiplier is read from a row of positive weight
                rows = np.flatnonzero(pos)[::-1]
                first[code[rows]] = rows
            rows_cell = np.bincount(code, minlength=size).astype(float)
            unit = lv.codes[0][first]
            cells = dict(
                code=code, size=size, first=first,
                level_codes=(unit,) + tuple(c[first] for c in lv.codes[1:]),
                unit_starts=_unit_starts(unit, lv.sizes[0]),
                level_mult=tuple(None if m is None else m[first] for m in lv.mult),
                w=np.bincount(code, weights=w, minlength=size),
                n_pos=rows_cell if all_pos else np.bincount(code, weights=pos.astype(float),
                                                            minlength=size),
                w2=np.bincount(code, weights=self._w_squared(), minlength=size), rows=rows_cell,
                sums={})
        else:   # the variables' cell sums stay valid
            cells = {name: getattr(like, name) for name in (
                "code", "size", "first", "level_codes", "level_mult", "w", "n_pos", "w2", "rows",
                "unit_starts", "sums")}
        cell_codes = {} if like is None else dict(like.cell_codes)
        shifted = []
        for col in columns:
            raw = self._factor(col, "by")[0]
            if col not in cell_codes:
                cell_codes[col] = raw[cells["first"]]
            codes, k = self._factor_shifted(col)   # shifted by one if a value is missing
            shifted.append((cell_codes[col] + (codes is not raw), k))
        # Groups: the cells with the variance units merged (calibration cells x domain
        # columns), where the sums by calibration cell or by domain alone are formed.
        level_codes, level_mult = cells["level_codes"], cells["level_mult"]
        groups, n_groups = _combine_codes(
            [np.zeros(size, np.int64), *level_codes[1:], *(c for c, _ in shifted)],
            [1, *lv.sizes[1:], *(k for _, k in shifted)])
        if 4 * n_groups > size:   # hardly fewer than the cells: use the cells
            groups, n_groups, group_first = None, size, np.arange(size)
            group_sums = tuple(cells[name] for name in ("w", "n_pos", "w2", "rows"))
        else:
            group_first = np.empty(n_groups, np.int64)
            group_first[groups[::-1]] = np.arange(size - 1, -1, -1)
            filled = np.flatnonzero(cells["n_pos"] > 0)[::-1]
            group_first[groups[filled]] = filled
            group_sums = tuple(np.bincount(groups, weights=cells[name], minlength=n_groups)
                               for name in ("w", "n_pos", "w2", "rows"))
        return _Partition(
            columns=columns, **cells, groups=groups, n_groups=n_groups, group_first=group_first,
            group_levels=tuple(c[group_first] for c in level_codes[1:]),
            group_mult=tuple(m[group_first] for m in level_mult[1:]), group_sums=group_sums,
            cell_codes=cell_codes)

    def _w_squared(self) -> np.ndarray:
        if "w2" not in self._cache:
            self._cache["w2"] = self._w * self._w
        return self._cache["w2"]

    def _cell_domains(self, dom: "_Domains") -> "_CellDomains":
        """Where each cell and group goes for the domains ``dom`` (cached per partition and
        ``by``)."""
        part = self._partition(dom.by)
        cd = part.domains.get(dom.by)
        if cd is not None:
            return cd
        lv = self._levels()
        D = dom.D
        n_units = lv.sizes[0]
        if not dom.by:
            dom_cell = np.zeros(part.size, np.int64)
        elif len(dom.by) == 1 and dom.codes is self._factor(dom.by[0], "by")[0]:
            dom_cell = part.cell_codes[dom.by[0]]
        else:
            dom_cell = dom.codes[part.first]
        code0 = np.where(dom_cell >= 0, dom_cell * n_units + part.level_codes[0], n_units * D)
        dom_group = dom_cell[part.group_first]
        plus1 = dom_group + 1
        group_codes = tuple(np.where(dom_group >= 0, g * D + dom_group, size_g * D)
                            for g, size_g in zip(part.group_levels, lv.sizes[1:]))
        G_w, G_n, G_w2, G_rows = part.group_sums
        unit_slot = None
        if part.unit_starts is not None:
            unit_domain = dom_cell[part.unit_starts]
            if np.array_equal(unit_domain[part.level_codes[0]], dom_cell):
                # every unit in one domain (or none: the sentinel slot)
                unit_slot = np.where(unit_domain >= 0, unit_domain * n_units + np.arange(n_units),
                                     n_units * D)
        cd = _CellDomains(
            part=part, n_units=n_units, D=D, code0=code0, unit_slot=unit_slot, plus1=plus1,
            group_codes=group_codes, B0=(), n_cells=None, sw=_sum_domains(plus1, G_w, D),
            n_pos=_sum_domains(plus1, G_n, D), sw2=_sum_domains(plus1, G_w2, D),
            rows=_sum_domains(plus1, G_rows, D))
        B0 = (cd.level0(part.w),) + tuple(
            _sum_cells(c, G_w * m, size_g, D)
            for c, m, size_g in zip(group_codes, part.group_mult, lv.sizes[1:]))
        cd = dataclasses.replace(cd, B0=B0, n_cells=cd.level0(part.n_pos))
        part.domains[dom.by] = cd
        return cd

    def _cell_sums(self, column: str, part: "_Partition") -> tuple:
        """Sums over the rows with a value of ``column``: ``(cells, groups, any missing,
        by unit)``: the sums of ``w`` and ``w * y`` by cell; those, the rows of positive
        weight and the sums of ``w**2`` by group; and a dict that keeps the cell sums' totals
        by last-stage unit (filled by :meth:`_sums`).

        Kept for the two most recent variables.  The sums run over the answering rows (never
        differences), so a cell whose answers are all 1 has ``w * y`` equal to ``w`` to the
        last bit, and a proportion of 0% or 100% comes out exactly.
        """
        cached = part.sums.get(column)
        if cached is None or cached[4] is not part.groups:
            missing = self._missing(column)
            if missing is None:
                counts = part.group_sums[1:3]
                cells = cached[0] if cached is not None else (
                    part.w, np.bincount(part.code, weights=self._w * self._numeric(column),
                                        minlength=part.size))
            else:   # (new groups of the same cells need the rows again, for the counts)
                cells, counts = self._answered_sums(part, column, missing)
            G_w = part.group_sums[0] if cells[0] is part.w else part.to_groups(cells[0])
            cached = (cells, (G_w, part.to_groups(cells[1]), *counts), missing is not None,
                      {} if cached is None else cached[3], part.groups)
            if len(part.sums) >= 2:
                part.sums.pop(next(iter(part.sums), None), None)
            part.sums[column] = cached
        return cached[:4]

    def _answered_sums(self, part: "_Partition", column: str, missing: np.ndarray) -> tuple:
        """Sums over the rows with a value: ``((w, w * y) by cell, (rows of positive weight,
        w**2) by group)``."""
        size = part.size
        y = self._numeric(column)
        w = self._w
        pos, all_pos = self._positive()
        w2 = self._w_squared()
        row_groups = part.row_groups()
        G = part.n_groups
        binary = ("binary", column) in self._cache
        if 2 * int(np.count_nonzero(missing)) > len(y):    # mostly missing: the answered rows
            rows = np.flatnonzero(~missing)
            code, w_rows, groups = part.code[rows], w[rows], row_groups[rows]
            counts = (np.bincount(groups, weights=None if all_pos else pos[rows].astype(float),
                                  minlength=G).astype(float),
                      np.bincount(groups, weights=w2[rows], minlength=G))
            if binary:   # one pass: weights by (cell, answer 0 / 1)
                answer = code * 2
                answer += y[rows] == 1
                by_answer = np.bincount(answer, weights=w_rows, minlength=2 * size)
                by_answer = by_answer.reshape(size, 2)
                return (by_answer[:, 0] + by_answer[:, 1], by_answer[:, 1].copy()), counts
            return (np.bincount(code, weights=w_rows, minlength=size),
                    np.bincount(code, weights=w_rows * y[rows], minlength=size)), counts
        # mostly answered: take the missing rows' counts out of the groups' (a group with no
        # answer gets exactly 0)
        rows = np.flatnonzero(missing)
        gone = row_groups[rows]
        G_n = part.group_sums[1] - np.bincount(
            gone, weights=None if all_pos else pos[rows].astype(float), minlength=G)
        G_w2 = np.where(G_n > 0, part.group_sums[2] - np.bincount(gone, weights=w2[rows],
                                                                  minlength=G), 0.0)
        if binary:
            # one pass: weights by (cell, answer 0 / answer 1 / missing); a cell's sum is the
            # two answers' sums, so it equals the sum of w * y exactly when every answer is 1
            answer = (y == 1).view(np.int8)     # small codes first, one wide add
            answer += missing.view(np.int8)
            answer += missing.view(np.int8)
            state = part.code_times(3) + answer
            by_state = np.bincount(state, weights=w, minlength=3 * size).reshape(size, 3)
            return (by_state[:, 0] + by_state[:, 1], by_state[:, 1].copy()), (G_n, G_w2)
        return (np.bincount(part.code, weights=w * ~missing, minlength=size),
                np.bincount(part.code, weights=w * np.where(missing, 0.0, y), minlength=size)), \
            (G_n, G_w2)

    def _sums(self, column: str, dom: "_Domains", na_rm: bool):
        """Sums of the weights and weighted values of one variable at every level.

        Returns ``(B0, B1, sw, swy, n, sw2, missing)``: lists (one per level) of
        ``(size, D)`` arrays of sums of ``m * w`` and ``m * w * y`` over the rows with a value
        by (group, domain), the domains' sums of ``w`` and ``w * y``, respondent counts and
        sums of squared weights, and the rows left out as missing (None when no row of
        positive weight in a domain lacks the value).  Formed from the variable's sums by
        cell and by group (:meth:`_cell_sums`).
        """
        cd = self._cell_domains(dom)
        part = cd.part
        lv = self._levels()
        D = dom.D
        (S_w, S_wy), (G_w, G_wy, G_n, G_w2), has_missing, by_unit = self._cell_sums(column, part)

        def by_level(which, cell_values, group_values):
            per_unit = None
            if cd.unit_slot is not None:   # the same totals by unit for every such domain set
                per_unit = by_unit.get(which)
                if per_unit is None:
                    per_unit = by_unit[which] = np.add.reduceat(cell_values, part.unit_starts)
            return [cd.level0(cell_values, per_unit)] + [
                _sum_cells(c, group_values * m, size_g, D)
                for c, m, size_g in zip(cd.group_codes, part.group_mult, lv.sizes[1:])]

        B1 = by_level("wy", S_wy, G_wy)
        swy = _sum_domains(cd.plus1, G_wy, D)
        if has_missing:
            n = _sum_domains(cd.plus1, G_n, D)
            n_missing = cd.n_pos - n
            has_missing = bool((n_missing > 0).any())
        if not has_missing:
            return list(cd.B0), B1, cd.sw, swy, cd.n_pos, cd.sw2, None
        if not na_rm:
            raise VariableError(f"column {column!r} has {int(n_missing.sum())} missing values",
                                argument="na_rm", value=False,
                                fix="pass na_rm=True to estimate over the rows that have a "
                                    "value (R: na.rm=TRUE)")
        return (by_level("w", S_w, G_w), B1, _sum_domains(cd.plus1, G_w, D), swy, n,
                _sum_domains(cd.plus1, G_w2, D), self._missing(column))

    # Variance engine ------------------------------------------------------------------
    def _variance_levels(self, Zs: list, *, col_domain: np.ndarray | None = None,
                         presence: np.ndarray | None = None) -> np.ndarray:
        """Linearised variance from the level sums ``Zs`` of the influence values.

        ``Zs[0]`` holds the totals of the last variance-stage units, ``Zs[j]`` the
        ``c_j``-weighted totals of calibration step j's cells.  Calibration replaces the
        linearised values by their residuals (R's ``svyrecvar``); every stage adds its term
        (R's ``multistage``); strata apply the lonely-PSU rule.
        """
        lv = self._levels()
        gammas = []
        for j, step in enumerate(self._cal):
            F = Zs[j + 1]
            for k in range(j):
                F = F - self._cal_cross(j, k) @ gammas[k]
            gammas.append(step.H @ F)
        total = np.zeros(Zs[0].shape[1])
        for k, st in enumerate(self._s.stages):
            T = Zs[0] if lv.upper[k] is None else lv.upper[k] @ Zs[0]
            for step, gamma in zip(self._cal, gammas):
                T = T - self._cal_unit_matrix(step, k) @ gamma
            total += self._stage_variance(st, T, first=(k == 0), col_domain=col_domain,
                                          presence=presence)
        return total

    def _cal_unit_matrix(self, step: _CalStep, k: int) -> sparse.csr_matrix:
        """Sums of the step's ``d`` by (stage-k unit, calibration cell).

        Sparse although nearly dense: scipy multiplies it single-threaded, where a BLAS
        product this size would start threads, and a thread waiting for a busy core costs
        far more than the product.
        """
        key = ("cal_unit", id(step), k)
        if key not in self._cache:
            st = self._s.stages[k]
            self._cache[key] = sparse.csr_matrix(
                _bincount2(st.unit, step.n_cells, step.cell, st.n_units, step.d))
        return self._cache[key]

    def _cal_cross(self, j: int, k: int) -> np.ndarray:
        key = ("cal_cross", j, k)
        if key not in self._cache:
            a, b = self._cal[j], self._cal[k]
            self._cache[key] = _bincount2(a.cell, b.n_cells, b.cell, a.n_cells, a.c * b.d)
        return self._cache[key]

    def _stage_variance(self, st: _Stage, T: np.ndarray, *, first: bool, col_domain,
                        presence) -> np.ndarray:
        lonely_rule = self._s.lonely_psu
        n_h = st.stratum_n
        sums, sq = st.within(T)
        f = st.f
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = np.where(n_h > 1, f * n_h / (n_h - 1), f)
        scale = scale * st.mult
        contrib = sq * scale[:, None]
        certain = f < _CERTAINTY_F
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
                if presence is None or col_domain is None or self._cal:
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

    def _presence(self, dom: "_Domains", missing: np.ndarray | None) -> np.ndarray | None:
        """Strata x domains: does the (uncalibrated) domain subset have rows in the stratum?

        Only needed for ``lonely_psu="average"``; ``missing`` marks rows R drops (na.rm).
        """
        if self._s.lonely_psu != "average":
            return None
        n_str = len(self._s.strata_labels)
        rows = dom.codes >= 0
        if missing is not None:
            rows &= ~missing
        cnt = np.bincount(dom.codes[rows] + dom.D * self._s.stratum[rows],
                          minlength=n_str * dom.D).reshape(n_str, dom.D)
        return cnt > 0

    def prepare_domains(self, columns: str | Sequence[str]) -> "SurveyDesign":
        """Get ready to estimate by these domain columns; returns the design itself.

        Optional, and no result changes.  The estimators sum a variable's rows once into
        cells that refine every domain column used so far, and form the estimates by each
        domain from the cells; naming the columns before a table's first variable saves
        summing that variable again for each new column (worth it on large samples).

        Parameters
        ----------
        columns : str or list of str
            Domain columns, as the estimators' ``by=``.

        Returns
        -------
        SurveyDesign

        Raises
        ------
        VariableError
            A column is not in the data.

        Examples
        --------
        >>> des.prepare_domains(["district", "sex", "age_group"])  # doctest: +SKIP
        >>> [des.proportion("satisfied", by=by)
        ...  for by in (None, "district", "sex", "age_group")]      # doctest: +SKIP
        """
        cols = tuple(_as_list(columns))
        for col in cols:
            self._factor(col, "columns")
        self._partition(cols)
        return self

    def _domain_sizes(self, by: str | Sequence[str] | None) -> pd.Series:
        """Rows of positive weight in each domain (``OVERALL`` without ``by``)."""
        dom = self._domains(by)
        return pd.Series(self._cell_domains(dom).n_pos.astype(np.int64), index=dom.index)

    # Estimators ------------------------------------------------------------------------
    def mean(self, variable: str, by: str | Sequence[str] | None = None, level: float = 0.95,
             deff: bool | str = False, na_rm: bool = True) -> Estimate:
        """Design-based mean (a ratio estimator), overall or by domains.

        Parameters
        ----------
        variable : str
            Numeric (or boolean) column.
        by : str or list of str, optional
            Domain variable(s); one row per domain present among rows of non-zero weight
            (combinations of several variables, as ``svyby(~y, ~a+b, ...)``).  Rows with a
            missing domain value belong to no domain.
        level : float, default 0.95
            Confidence level; intervals are ``estimate -/+ qt(., df) * se`` with the domain's
            design degrees of freedom.
        deff : bool or "replace", default False
            Compute the design effect against SRS without replacement (``"replace"``: with
            replacement), as ``svymean(..., deff=TRUE)``.
        na_rm : bool, default True
            Leave out rows with a missing value (R's ``na.rm=TRUE``: the variance treats the
            rows with values as a domain).  With ``False`` missing values raise.

        Returns
        -------
        Estimate

        Examples
        --------
        >>> des.mean("api00").to_frame()                     # doctest: +SKIP
        >>> # In R: svymean(~api00, des); confint(svymean(~api00, des), df=degf(des))
        >>> des.mean("api00", by="stype", deff=True)         # doctest: +SKIP
        >>> # In R: svyby(~api00, ~stype, des, svymean, deff=TRUE)
        """
        return self._mean_like("mean", variable, by, level, deff, na_rm)

    def total(self, variable: str, by: str | Sequence[str] | None = None, level: float = 0.95,
              deff: bool | str = False, na_rm: bool = True) -> Estimate:
        """Design-based (Horvitz-Thompson) total, overall or by domains.

        Parameters are those of :meth:`mean`.

        Examples
        --------
        >>> des.total("enroll").to_frame()          # doctest: +SKIP
        >>> # In R: svytotal(~enroll, des)
        >>> des.total("enroll", by="stype")         # doctest: +SKIP
        >>> # In R: svyby(~enroll, ~stype, des, svytotal)
        """
        return self._mean_like("total", variable, by, level, deff, na_rm)

    def _deff(self, var, sw, mean, ss, n, statistic, deff):
        """R's deff: variance over that of SRS without (or with) replacement.

        ``ss`` is the weighted sum of squares about the domain mean, per domain.
        """
        with np.errstate(invalid="ignore", divide="ignore"):
            vy = ss / sw * n / (n - 1)             # svyvar
            vsrs = vy / n if deff == "replace" else vy * (sw - n) / (sw * n)
            if statistic == "total":
                vsrs = vsrs * sw * sw
            return np.where(n > 1, var / vsrs, np.nan)

    def _sum_squares(self, column: str, dom: "_Domains", missing, mean) -> np.ndarray:
        """Weighted sum of squares of ``column`` about each domain's mean (one pass)."""
        rows = dom.codes >= 0
        if missing is not None:
            rows &= ~missing
        d = dom.codes[rows]
        resid = self._zeroed(column)[rows] - mean[d]
        return np.bincount(d, weights=self._w[rows] * resid * resid, minlength=dom.D)

    def _mean_like(self, statistic, variable, by, level, deff, na_rm) -> Estimate:
        _check_level(level)
        _check_deff(deff)
        self._numeric(variable)
        dom = self._domains(by)
        B0, B1, sw, swy, n, sw2, missing = self._sums(variable, dom, na_rm)
        with np.errstate(invalid="ignore", divide="ignore"):
            if statistic == "total":
                est = swy
                Zs = B1
            else:
                est = swy / sw
                Zs = _ratio_influence(B0, B1, est, sw)
        var = self._variance_levels(Zs, col_domain=np.arange(dom.D),
                                    presence=self._presence(dom, missing))
        se = np.sqrt(var)
        df = self._domain_df(dom)
        low, high = _ci.wald_ci(est, se, df, level)
        deff_v = np.full(dom.D, np.nan)
        if deff:
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = swy / sw
            ss = self._sum_squares(variable, dom, missing, mean)
            deff_v = self._deff(var, sw, mean, ss, n, statistic, deff)
        with np.errstate(invalid="ignore", divide="ignore"):
            n_eff = sw * sw / sw2
        table = build_table(dom.index, {"estimate": est, "se": se, "ci_low": low,
                                        "ci_high": high, "df": df, "n": n, "n_eff": n_eff,
                                        "deff": deff_v})
        return Estimate(statistic, variable, dom.by, level, "t", "linearization",
                        self.describe(), table)

    def proportion(self, variable: str, by: str | Sequence[str] | None = None,
                   ci_method: str = "logit", level: float = 0.95, deff: bool | str = False,
                   na_rm: bool = True) -> Estimate:
        """Proportion of a 0/1 (or boolean) variable, with a confidence interval inside [0, 1].

        Parameters
        ----------
        variable : str
            Column of 0/1 or booleans (missing values allowed with ``na_rm``).
        by : str or list of str, optional
            Domain variable(s).
        ci_method : {"logit", "beta", "mean", "asin", "likelihood", "wilson"}, default "logit"
            ``logit``, ``beta`` (Korn-Graubard), ``mean`` (Wald), ``asin`` and ``likelihood``
            (Rao-Scott scaled profile likelihood) are R's ``svyciprop`` methods and agree with
            it; ``wilson`` is the Wilson score interval with the design effective sample size
            ``p(1-p)/var(p)`` and the t quantile.  Intervals use Student t on the domain's
            design degrees of freedom.  At 0% or 100% (zero design variance) every method
            gives the Clopper-Pearson interval (Wilson's for ``wilson``) for Kish's effective
            sample size, so the interval never collapses to a point.  Wald limits are
            clipped to [0, 1].
        level : float, default 0.95
        deff : bool or "replace", default False
        na_rm : bool, default True

        Returns
        -------
        Estimate

        Raises
        ------
        VariableError
            The column has values other than 0 and 1.

        Examples
        --------
        >>> des.proportion("satisfied", ci_method="logit")     # doctest: +SKIP
        >>> # In R: svyciprop(~satisfied, des, method="logit")
        >>> des.proportion("satisfied", by="district", ci_method="beta")   # doctest: +SKIP
        >>> # In R: svyby(~satisfied, ~district, des, svyciprop, method="beta", vartype="ci")
        """
        if ci_method not in CI_METHODS:
            raise VariableError("unknown confidence interval method", argument="ci_method",
                                value=ci_method, fix=f"use one of {', '.join(CI_METHODS)}")
        _check_level(level)
        _check_deff(deff)
        self._binary(variable)
        dom = self._domains(by)
        B0, B1, sw, swy, n, sw2, missing = self._sums(variable, dom, na_rm)
        with np.errstate(invalid="ignore", divide="ignore"):
            p = swy / sw
            Zs = _ratio_influence(B0, B1, p, sw)
        var = self._variance_levels(Zs, col_domain=np.arange(dom.D),
                                    presence=self._presence(dom, missing))
        df = self._domain_df(dom)
        with np.errstate(invalid="ignore", divide="ignore"):
            n_eff = sw * sw / sw2
        n_rows = self._design_rows(dom)
        lik = None
        if ci_method == "likelihood":
            y = self._numeric(variable)
            valid = (dom.codes >= 0) & ~np.isnan(y)
            lik = self._likelihood_inputs(y, dom, valid, np.where(valid, dom.codes, 0), p, sw)
        low, high, notes = _ci.proportion_ci(ci_method, p, var, df, level,
                                             n_design_rows=n_rows, n_kish=n_eff, lik=lik)
        deff_v = np.full(dom.D, np.nan)
        if deff:
            deff_v = self._deff(var, sw, p, sw * p * (1 - p), n, "mean", deff)  # y is 0/1
        table = build_table(dom.index, {"estimate": p, "se": np.sqrt(var), "ci_low": low,
                                        "ci_high": high, "df": df, "n": n, "n_eff": n_eff,
                                        "deff": deff_v})
        return Estimate("proportion", variable, dom.by, level, ci_method, "linearization",
                        self.describe(), table, tuple(notes))

    def _binary(self, column: str) -> np.ndarray:
        y = self._numeric(column)
        key = ("binary", column)
        if key not in self._cache:
            missing = self._missing(column)
            n_missing = 0 if missing is None else int(np.count_nonzero(missing))
            # every value 0, 1 or missing: no need to look at the weights
            if np.count_nonzero(y == 0) + np.count_nonzero(y == 1) + n_missing != len(y):
                vals = y[~np.isnan(y) & (self._w > 0)]
                bad = (vals != 0) & (vals != 1)
                if bad.any():
                    raise VariableError(f"column {column!r} is not 0/1", argument="variable",
                                        value=sorted(set(vals[bad].tolist()))[:5],
                                        fix="code the answer as 0/1 or True/False (e.g. df"
                                            "[col] = df[answer].isin(['满意', '非常满意']))")
            self._cache[key] = True
        return y

    def _design_rows(self, dom: "_Domains", missing: np.ndarray | None = None) -> np.ndarray:
        """``nrow(design)`` of each domain's design as R forms it (svyciprop's beta and
        likelihood): calibrated designs keep every row in a subset (prob = Inf).  Rows in
        ``missing`` are left out."""
        if missing is None:
            if self._cal:
                return np.full(dom.D, float(self._s.n))
            return self._domain_rows(dom)
        keep = ~missing
        if self._cal:
            return np.full(dom.D, float(keep.sum()))
        keep &= dom.codes >= 0
        return np.bincount(dom.codes[keep], minlength=dom.D).astype(float)

    def _likelihood_inputs(self, y, dom, valid, d, p, sw) -> _ci.LikelihoodInputs:
        """Per-domain inputs of R's profile-likelihood interval for ``svyglm(y ~ 1)``.

        R fits the glm with prior weights rescaled to mean 1 over the rows of the domain's
        design (all rows of a calibrated design, whose other rows have weight 0); the
        dispersion of ``summary.svyglm`` is ``svyvar`` of the Pearson residuals
        ``(y - p)/sqrt(p(1 - p))``, which is ``n/(n - 1)`` at the fit.
        """
        w = self._w
        D = dom.D
        with np.errstate(invalid="ignore", divide="ignore"):
            n_nz = np.bincount(d, weights=(valid & (w > 0)).astype(float), minlength=D)
            dispersion = n_nz / (n_nz - 1)
            n_all = self._design_rows(dom)
            keep = dom.codes >= 0
            sw_all = np.bincount(dom.codes[keep], weights=w[keep], minlength=D)
            mean_w = sw_all / n_all
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
        n_model = self._design_rows(dom, np.isnan(y))
        return _ci.LikelihoodInputs(w1=w1, w0=w0, first_s0=s0, first_s1=s1, first_dev=dev0,
                                    dispersion=dispersion, n_model_rows=n_model)

    def frequencies(self, variable: str, by: str | Sequence[str] | None = None,
                    ci_method: str = "logit", level: float = 0.95, deff: bool | str = False,
                    na_rm: bool = True) -> Estimate:
        """Weighted distribution of a categorical answer: every category's proportion.

        Each category's share is estimated like :meth:`proportion` of the indicator of that
        category (with its SE, CI and domain df), all categories and domains in one pass.

        Parameters
        ----------
        variable : str
            Categorical column (any dtype; a pandas Categorical keeps its category order
            and its empty categories).
        by : str or list of str, optional
        ci_method : str, default "logit"
            As in :meth:`proportion`.
        level : float, default 0.95
        deff : bool or "replace", default False
        na_rm : bool, default True
            Rows with a missing answer are left out of the denominator.

        Returns
        -------
        Estimate
            Indexed by category (``by=None``) or by ``(domain..., category)``, with the
            standard columns plus ``count`` (unweighted respondents in the category) and
            ``weighted_count`` (estimated population count).

        Examples
        --------
        >>> des.frequencies("q1", by="district").to_frame()      # doctest: +SKIP
        >>> # In R: svyby(~q1, ~district, des, svymean)  (q1 a factor); per category:
        >>> # svyby(~I(q1=="满意"), ~district, des, svyciprop, method="logit")
        """
        if ci_method not in CI_METHODS:
            raise VariableError("unknown confidence interval method", argument="ci_method",
                                value=ci_method, fix=f"use one of {', '.join(CI_METHODS)}")
        _check_level(level)
        _check_deff(deff)
        codes, cats = self._factor(variable, "variable")
        C = len(cats)
        if C == 0:
            raise VariableError(f"column {variable!r} has no values", argument="variable",
                                value=variable, fix="choose a column with answers")
        dom = self._domains(by)
        y_missing = codes < 0
        self._valid_rows(y_missing if y_missing.any() else None, dom, variable, na_rm)
        lv = self._levels()
        w = self._w
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
        var = self._variance_levels(Zs, col_domain=col_domain,
                                    presence=self._presence(dom, y_missing))
        d_ok = dom.codes[ok]
        c_ok = codes[ok]
        w_ok = w[ok]
        count = np.bincount(d_ok * C + c_ok, weights=(w_ok > 0).astype(float), minlength=K)
        n = count.reshape(D, C).sum(axis=1)
        sw2 = np.bincount(d_ok, weights=w_ok * w_ok, minlength=D)
        df = self._domain_df(dom)[col_domain]
        with np.errstate(invalid="ignore", divide="ignore"):
            n_eff = (sw * sw / sw2)[col_domain]
        n_rows = self._design_rows(dom)[col_domain]
        lik = None
        if ci_method == "likelihood":
            lik = self._freq_likelihood_inputs(codes, dom, ok, p, sw, C)
        low, high, notes = _ci.proportion_ci(ci_method, p, var, df, level,
                                             n_design_rows=n_rows, n_kish=n_eff, lik=lik)
        deff_v = np.full(K, np.nan)
        if deff:
            # svyvar of the indicator: n/(n-1) p (1-p) within the domain
            nn = n[col_domain]
            with np.errstate(invalid="ignore", divide="ignore"):
                vy = p * (1 - p) * nn / (nn - 1)
                swd = sw[col_domain]
                vsrs = vy / nn if deff == "replace" else vy * (swd - nn) / (swd * nn)
                deff_v = np.where(nn > 1, var / vsrs, np.nan)
        index = frequency_index(dom.index, dom.by, cats, variable)
        table = build_table(index, {"estimate": p, "se": np.sqrt(var), "ci_low": low,
                                    "ci_high": high, "df": df, "n": n[col_domain],
                                    "n_eff": n_eff, "deff": deff_v,
                                    "count": count.astype(np.int64), "weighted_count": swc})
        return Estimate("frequencies", variable, dom.by, level, ci_method, "linearization",
                        self.describe(), table, tuple(notes))

    def _freq_likelihood_inputs(self, codes, dom, valid, p, sw, C) -> _ci.LikelihoodInputs:
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
        return _ci.LikelihoodInputs(**{name: inter(name) for name in (
            "w1", "w0", "first_s0", "first_s1", "first_dev", "dispersion", "n_model_rows")})

    # Weighting (implemented in analysis.weighting) --------------------------------------
    def poststratify(self, variables: str | Sequence[str], totals: Mapping,
                     partial: bool = False) -> "SurveyDesign":
        """Post-stratify the weights to known population counts; returns a new design.

        Standard errors of the new design account for the post-stratification, as R's
        ``postStratify`` does.

        Parameters
        ----------
        variables : str or list of str
            Post-stratification variable(s); with several, ``totals`` keys are tuples.
        totals : mapping or pandas.Series
            Population count of each post-stratum.
        partial : bool, default False
            Allow population cells absent from the sample (they are ignored, as R's
            ``partial=TRUE``); otherwise they are an error.

        Returns
        -------
        SurveyDesign

        Raises
        ------
        MarginError
            Sample cells missing from ``totals`` or (without ``partial``) population cells
            without respondents; the categories are named.

        Examples
        --------
        >>> ps = des.poststratify("stype", {"E": 4421, "H": 755, "M": 1018})  # doctest: +SKIP
        >>> # In R: postStratify(des, ~stype, data.frame(stype=c("E","H","M"),
        >>> #                                             Freq=c(4421, 755, 1018)))
        """
        from .weighting import poststratify
        return poststratify(self, variables, totals, partial=partial)

    def rake(self, margins: Mapping[str, Mapping], max_iter: int = 100,
             tol: float = 1e-10) -> "SurveyDesign":
        """Rake the weights to population margins (iterative proportional fitting).

        Standard errors of the new design account for the calibration as R's
        ``calibrate(des, ..., calfun="raking")`` does.

        Parameters
        ----------
        margins : mapping
            ``{variable: {category: population count}}``; every margin must have the same
            total.
        max_iter : int, default 100
            Maximum number of IPF sweeps over all margins.
        tol : float, default 1e-10
            Convergence when every ``|weighted count - target| / target`` is below ``tol``.

        Returns
        -------
        SurveyDesign

        Raises
        ------
        MarginError
            Categories in the data without a population count, population categories with no
            respondent, margins whose totals disagree (all named).
        ConvergenceError
            No convergence within ``max_iter`` sweeps (carries the iterations and the worst
            margin gap).

        Examples
        --------
        >>> raked = des.rake({"sex": {"男": 3.9e6, "女": 3.8e6},
        ...                   "age_group": {"18-34": 2.2e6, "35-59": 3.1e6, "60+": 2.4e6}})
        ... # doctest: +SKIP
        >>> # In R: calibrate(des, list(~sex, ~age_group), list(sex_pop, age_pop),
        >>> #                 calfun="raking")
        """
        from .weighting import rake
        return rake(self, margins, max_iter=max_iter, tol=tol)

    def trim(self, lower: float | None = None, upper: float | None = None,
             strict: bool = False) -> "SurveyDesign":
        """Trim weights to ``[lower, upper]``, spreading the trimmed amount over the others.

        As R's ``trimWeights``: weights outside the bounds are set to the bound and the
        total trimmed is added equally to the weights inside, so the sum of weights is kept.
        With ``strict=True`` this repeats until no weight is outside (the redistribution can
        push weights over ``upper``).

        Examples
        --------
        >>> des.trim(upper=60)          # doctest: +SKIP
        >>> # In R: trimWeights(des, upper=60)
        """
        from .weighting import trim
        return trim(self, lower=lower, upper=upper, strict=strict)

    def adjust_nonresponse(self, responded: str, classes: str | Sequence[str] | None = None,
                           covariates: Sequence[str] | None = None,
                           method: str = "classes", n_classes: int | None = None,
                           **logistic_kwargs) -> "SurveyDesign":
        """Adjust the weights for unit nonresponse; returns a new design.

        Non-respondents keep their rows with weight zero (their answers are not used),
        so estimates treat respondents as a domain of the full design.

        Parameters
        ----------
        responded : str
            0/1 or boolean column: 1 for respondents.
        classes : str or list of str, optional
            Weighting classes for ``method="classes"``: within each class respondents'
            weights are multiplied by (sum of all weights) / (sum of respondents' weights).
        covariates : list of str, optional
            Predictors of response for ``method="propensity"`` (scikit-learn logistic
            regression, weighted by the design weights; categorical columns one-hot coded).
        method : {"classes", "propensity"}
        n_classes : int, optional
            With ``propensity``: form this many classes from quantiles of the estimated
            propensity and adjust within them (more stable); otherwise divide each
            respondent's weight by their propensity.

        Examples
        --------
        >>> des.adjust_nonresponse("responded", classes="district")   # doctest: +SKIP
        """
        from .weighting import adjust_nonresponse
        return adjust_nonresponse(self, responded, classes=classes, covariates=covariates,
                                  method=method, n_classes=n_classes, **logistic_kwargs)

    def with_weights(self, weights, label: str = "weights replaced") -> "SurveyDesign":
        """A new design with the same structure and new weights (calibration info dropped).

        Parameters
        ----------
        weights : str or array-like
            A column name or one value per row (non-negative, no missing values).
        """
        if isinstance(weights, str):
            w = _weights_column(self._s.data, weights)
        else:
            w = np.asarray(weights, dtype=float)
            if w.shape != (self._s.n,):
                raise DesignError("weights must have one value per row", argument="weights",
                                  value=w.shape, fix=f"give {self._s.n} values")
            _check_weights(w, "weights")
        return SurveyDesign._derive(self, w, cal=(), history=label)

    def replicate(self, method: str = "jkn", replicates: int = 500, seed: int | None = None,
                  mse: bool = False):
        """Replicate-weight version of this design (the alternative to linearisation).

        Parameters
        ----------
        method : {"jkn", "bootstrap"}
            ``jkn``: delete-one-PSU jackknife within strata with the fpc (R's
            ``as.svrepdesign(des, type="JKn")``); ``bootstrap``: Rao-Wu rescaling bootstrap,
            ``n_h - 1`` PSUs drawn with replacement in each stratum (R's
            ``type="subbootstrap"``; no fpc).
        replicates : int, default 500
            Number of bootstrap replicates.
        seed : int, optional
            Seed of the bootstrap draws (numpy ``default_rng``).
        mse : bool, default False
            Centre the replicates at the full-sample estimate instead of their mean (R's
            ``mse=TRUE``).

        Returns
        -------
        analysis.replicates.ReplicateDesign

        Examples
        --------
        >>> rep = des.replicate("jkn")          # doctest: +SKIP
        >>> # In R: rep <- as.svrepdesign(des, type="JKn")
        """
        from .replicates import ReplicateDesign
        return ReplicateDesign.from_design(self, method=method, replicates=replicates,
                                           seed=seed, mse=mse)


@dataclass(frozen=True, eq=False)
class _Levels:
    """Groupings of rows whose sums the variance needs: level 0 = last variance-stage
    units, level j = cells of calibration step j (rows weighted by the step's ``c``)."""

    codes: tuple              # per level: (n,) group of each row
    sizes: tuple              # per level: number of groups
    mult: tuple               # per level: (n,) row multiplier, None for level 0
    mw: tuple                 # per level: (n,) multiplier times weight
    upper: tuple              # per variance stage: sparse aggregation of level 0 (None: itself)


@dataclass(frozen=True, eq=False)
class _Partition:
    """Cells of rows that refine every variance level and some domain columns, and the
    cells' groups: the cells with the last-stage units merged (calibration cells x domain
    columns, usually far fewer)."""

    columns: tuple            # domain columns the cells refine
    code: np.ndarray          # (n,) cell of each row
    size: int
    first: np.ndarray         # (size,) a row of each cell (of positive weight if it has one)
    level_codes: tuple        # per level: (size,) group of each cell
    level_mult: tuple         # per level: (size,) multiplier of each cell, None for level 0
    w: np.ndarray             # (size,) sums of weights
    n_pos: np.ndarray         # (size,) rows of positive weight
    w2: np.ndarray            # (size,) sums of squared weights
    rows: np.ndarray          # (size,) rows
    unit_starts: np.ndarray | None  # first cell of each last-stage unit (cells by unit), or None
    sums: dict                # column -> the variable's sums (see SurveyDesign._cell_sums)
    groups: np.ndarray | None  # (size,) group of each cell; None: every cell its own group
    n_groups: int
    group_first: np.ndarray   # (n_groups,) a cell of each group (with rows of positive weight)
    group_levels: tuple       # per calibration level: (n_groups,) its cell of each group
    group_mult: tuple         # per calibration level: (n_groups,) multiplier of each group
    group_sums: tuple         # (n_groups,) sums of w, rows of positive weight, w**2 and rows
    cell_codes: dict          # domain column -> (size,) its code in each cell (-1: missing)
    domains: dict = field(default_factory=dict, repr=False)   # by -> _CellDomains
    lazy: dict = field(default_factory=dict, repr=False)      # computed on first use

    def to_groups(self, values: np.ndarray) -> np.ndarray:
        """Sum cell ``values`` by group."""
        if self.groups is None:
            return values
        return np.bincount(self.groups, weights=values, minlength=self.n_groups)

    def code_times(self, k: int) -> np.ndarray:
        """``code * k``, kept: every 0/1 variable's (cell, answer) codes start from it."""
        if ("code", k) not in self.lazy:
            self.lazy[("code", k)] = self.code * k
        return self.lazy[("code", k)]

    def row_groups(self) -> np.ndarray:
        """The group of each row."""
        if "row_groups" not in self.lazy:
            self.lazy["row_groups"] = self.code if self.groups is None else self.groups[self.code]
        return self.lazy["row_groups"]


@dataclass(frozen=True, eq=False)
class _CellDomains:
    """The cells and groups of a partition mapped to one set of domains.

    Sums by (last-stage unit, domain) are ``(n_units, D)`` arrays stored domain by domain
    (Fortran order): the variance works along the units, so numpy's loops stay long.
    """

    part: _Partition
    n_units: int
    D: int
    code0: np.ndarray         # (size,) domain * n_units + last-stage unit, or the sentinel
    unit_slot: np.ndarray | None  # (n_units,) that code of each unit, if units are in one domain
    plus1: np.ndarray         # (n_groups,) domain + 1, 0 outside every domain
    group_codes: tuple        # per calibration level: (n_groups,) its cell * D + domain
    B0: tuple                 # per level: (size_g, D) sums of m * w
    n_cells: np.ndarray       # (size_0, D) rows of positive weight
    sw: np.ndarray            # (D,) sums of weights
    n_pos: np.ndarray         # (D,) rows of positive weight
    sw2: np.ndarray           # (D,) sums of squared weights
    rows: np.ndarray          # (D,) rows

    def level0(self, values: np.ndarray, per_unit: np.ndarray | None = None) -> np.ndarray:
        """Sum cell ``values`` by (last-stage unit, domain); ``per_unit``: their sums by
        unit, when known."""
        size = self.n_units * self.D
        if self.unit_slot is None:
            out = np.bincount(self.code0, weights=values, minlength=size + 1)
        else:
            # every unit in one domain: add up each unit's (consecutive) cells, in order
            if per_unit is None:
                per_unit = np.add.reduceat(values, self.part.unit_starts)
            out = np.zeros(size + 1)
            out[self.unit_slot] = per_unit
        return out[:-1].reshape(self.D, self.n_units).T


@dataclass(frozen=True, eq=False)
class _Domains:
    codes: np.ndarray   # (n,) domain code, -1 outside every domain
    D: int
    index: pd.Index
    by: tuple


def _column_list(data: pd.DataFrame, limit: int = 30) -> str:
    cols = [str(c) for c in data.columns[:limit]]
    more = "" if len(data.columns) <= limit else f", ... ({len(data.columns)} columns)"
    return ", ".join(cols) + more


def _check_weights(w: np.ndarray, argument: str, column: str | None = None) -> None:
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


def _weights_column(data: pd.DataFrame, column: str) -> np.ndarray:
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
    _check_weights(w, "weights", column)
    return w


def _check_level(level: float) -> None:
    if not (isinstance(level, (int, float)) and 0 < level < 1):
        raise VariableError("the confidence level must be between 0 and 1", argument="level",
                            value=level, fix="use e.g. level=0.95")


def _check_deff(deff) -> None:
    if deff not in (True, False, "replace"):
        raise VariableError("deff must be True, False or 'replace'", argument="deff",
                            value=deff, fix="use deff=True (SRS without replacement)")
