"""Cell sums: the rows grouped as finely as the estimators need, for one set of weights.

:class:`CellSums` holds everything the linearisation engine sums over rows, cached per
design (weights and calibration steps):

* :meth:`CellSums.levels` -- the groupings the variance needs: level 0 = last variance-stage
  units, level j = cells of calibration step j (rows weighted by the step's ``c``);
* :meth:`CellSums.domains` -- the domains of ``by=`` (one code per row, -1 outside);
* :meth:`CellSums.partition` -- cells that refine every level and the domain columns used so
  far, with their groups (the cells with the units merged);
* :meth:`CellSums.sums` -- a variable's sums of ``w`` and ``w * y`` by (group, domain) at
  every level, formed from its sums by cell (one ``np.bincount`` over the rows per variable).

Depends on :mod:`.structure` only.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from ..errors import VariableError
from ..results import OVERALL
from .structure import Structure, as_list, combine_codes, combined_codes

__all__ = ["CellSums", "Levels", "Partition", "CellDomains", "Domains", "unit_starts",
           "sum_cells", "sum_domains", "EngineColumns"]


def unit_starts(unit: np.ndarray, n_units: int) -> np.ndarray | None:
    """First cell of each unit when the cells are ordered by unit, else None."""
    starts = np.flatnonzero(np.diff(unit, prepend=-1))
    if len(starts) != n_units or not (np.diff(unit) >= 0).all():
        return None
    return starts


def sum_cells(code: np.ndarray, values: np.ndarray, size: int, D: int) -> np.ndarray:
    """Sum cell ``values`` by ``code = group * D + domain`` (sentinel ``size * D``)."""
    return np.bincount(code, weights=values, minlength=size * D + 1)[:-1].reshape(size, D)


def sum_domains(plus1: np.ndarray, values: np.ndarray, D: int) -> np.ndarray:
    """Sum cell ``values`` by domain (``plus1`` = domain + 1, 0 outside every domain)."""
    return np.bincount(plus1, weights=values, minlength=D + 1)[1:]


class CellSums:
    """The cell sums of one design: its structure, weights and calibration steps.

    Parameters
    ----------
    structure : Structure
    w : ndarray
        The analysis weights (read-only).
    cal : tuple of CalibrationStep
        The calibration steps applied (their cells and multipliers ``c`` are levels).
    """

    def __init__(self, structure: Structure, w: np.ndarray, cal: tuple = ()) -> None:
        self.structure = structure
        self.w = w
        self.cal = cal
        #: 0/1 variables already checked (their cells are summed by answer)
        self.binary_checked: set = set()
        self._cache: dict = {}

    def binary(self, column: str) -> np.ndarray:
        """The 0/1 column as float64 (NaN for missing); other values among rows of positive
        weight raise."""
        y = self.structure.numeric(column)
        if column not in self.binary_checked:
            missing = self.structure.missing(column)
            n_missing = 0 if missing is None else int(np.count_nonzero(missing))
            # every value 0, 1 or missing: no need to look at the weights
            if np.count_nonzero(y == 0) + np.count_nonzero(y == 1) + n_missing != len(y):
                vals = y[~np.isnan(y) & (self.w > 0)]
                bad = (vals != 0) & (vals != 1)
                if bad.any():
                    raise VariableError(f"column {column!r} is not 0/1", argument="variable",
                                        value=sorted(set(vals[bad].tolist()))[:5],
                                        fix="code the answer as 0/1 or True/False (e.g. df"
                                            "[col] = df[answer].isin(['满意', '非常满意']))")
            self.binary_checked.add(column)
        return y

    def positive(self) -> tuple[np.ndarray, bool]:
        """Rows of positive weight, and whether every row has one (cached)."""
        if "positive" not in self._cache:
            pos = self.w > 0
            self._cache["positive"] = (pos, bool(pos.all()))
        return self._cache["positive"]

    def w_squared(self) -> np.ndarray:
        if "w2" not in self._cache:
            self._cache["w2"] = self.w * self.w
        return self._cache["w2"]

    def levels(self) -> "Levels":
        """Row codes and multipliers of the sums the variance needs (cached per design).

        Level 0 groups rows by last variance-stage unit (multiplier 1); then every calibration
        step has a level per block of its ``E`` (:class:`analysis.weighting.CalibrationStep`):
        its cells with multiplier ``c`` (R's residualisation needs ``E' (c * x)``), and with
        continuous auxiliaries its cells with multiplier ``c * x_m`` for each of them.  Upper
        stages are sparse aggregations of level 0.
        """
        if "levels" in self._cache:
            return self._cache["levels"]
        s = self.structure
        last = s.stages[-1]
        w = self.w
        codes, sizes, mult, mw = [last.unit], [last.n_units], [None], [w]
        refine, step_levels = [], []
        for step in self.cal:
            start = len(codes)
            for values in step.blocks:
                m = step.c if values is None else step.c * values
                codes.append(step.cell)
                sizes.append(step.n_cells)
                mult.append(m)
                mw.append(m * w)
            step_levels.append((start, len(codes)))
            # the multipliers are constant within the cells, or within the model rows
            refine.append((step.cell, step.n_cells) if step.pattern is None
                          else (step.pattern, step.n_patterns))
        upper = (None,)
        if len(s.stages) > 1:
            first = np.empty(last.n_units, np.int64)
            first[last.unit[::-1]] = np.arange(s.n - 1, -1, -1)
            cols = np.arange(last.n_units)
            upper = tuple(
                sparse.csr_matrix((np.ones(last.n_units), (st.unit[first], cols)),
                                  shape=(st.n_units, last.n_units))
                for st in s.stages[:-1]) + upper
        levels = Levels(codes=tuple(codes), sizes=tuple(sizes), mult=tuple(mult),
                         mw=tuple(mw), upper=upper, refine=tuple(refine),
                         step_levels=tuple(step_levels))
        self._cache["levels"] = levels
        return levels

    def domains(self, by) -> "Domains":
        by_cols = tuple(as_list(by))
        key = ("domains", by_cols)
        if key in self._cache:
            return self._cache[key]
        n = self.structure.n
        pos, all_pos = self.positive()
        if not by_cols:
            dom = Domains(codes=np.zeros(n, np.int64), D=1,
                           index=pd.Index([OVERALL], name=None), by=())
        else:
            codes_list, uniques_list = [], []
            for col in by_cols:
                c, u = self.structure.factor(col, "by")
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
                combined, valid = combined_codes(codes_list, uniques_list)
                keep = valid & pos
                hit = np.bincount(combined[keep], minlength=size) > 0
                present = np.flatnonzero(hit)
                lookup = np.full(size, -1, np.int64)
                lookup[present] = np.arange(len(present))
                codes = np.where(valid, lookup[combined], -1).astype(np.int64)
            else:
                combined, valid = combined_codes(codes_list, uniques_list)
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
            dom = Domains(codes=codes, D=len(present), index=index, by=by_cols)
        self._cache[key] = dom
        return dom

    def domain_rows(self, dom: "Domains") -> np.ndarray:
        """Rows (any weight) of each domain."""
        return self.cell_domains(dom).rows

    def partition(self, by_cols: tuple) -> "Partition":
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
            lv = self.levels()
            code, size = ((lv.codes[0], lv.sizes[0]) if not lv.refine
                          else combine_codes([lv.codes[0], *(r for r, _ in lv.refine)],
                                             [lv.sizes[0], *(k for _, k in lv.refine)]))
            columns = ()
        else:
            code, size, columns = part.code, part.size, part.columns
        # the strata are constant within the units (units are (stratum, PSU) pairs)
        refining = [col for col in new if col != self.structure.spec["strata"]]
        if refining:
            factors = [self.structure.shifted(col) for col in refining]
            code_new, size_new = combine_codes([code] + [c for c, _ in factors],
                                                [size] + [k for _, k in factors])
        else:
            code_new, size_new = code, size
        if part is not None and size_new == size:
            # constant within the cells (e.g. the strata): the same cells
            extended = self._cells(columns + new, code, size, like=part)
        else:
            extended = self._cells(columns + new, code_new, size_new)
        kept = 4 * size_new <= self.structure.n
        self._cache["partition" if kept else "partition_extra"] = extended
        return extended

    def _cells(self, columns: tuple, code: np.ndarray, size: int,
               like: "Partition | None" = None) -> "Partition":
        """The sums of a partition's cells that do not depend on the analysed variable
        (those of ``like`` when it has the same cells), and the cells' groups."""
        lv = self.levels()
        pos, all_pos = self.positive()
        if like is None:
            n = self.structure.n
            w = self.w
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
                refine_codes=tuple(r[first] for r, _ in lv.refine),
                unit_starts=unit_starts(unit, lv.sizes[0]),
                level_mult=tuple(None if m is None else m[first] for m in lv.mult),
                w=np.bincount(code, weights=w, minlength=size),
                n_pos=rows_cell if all_pos else np.bincount(code, weights=pos.astype(float),
                                                            minlength=size),
                w2=np.bincount(code, weights=self.w_squared(), minlength=size), rows=rows_cell,
                sums={})
        else:   # the variables' cell sums stay valid
            cells = {name: getattr(like, name) for name in (
                "code", "size", "first", "level_codes", "refine_codes", "level_mult", "w",
                "n_pos", "w2", "rows", "unit_starts", "sums")}
        cell_codes = {} if like is None else dict(like.cell_codes)
        shifted = []
        for col in columns:
            raw = self.structure.factor(col, "by")[0]
            if col not in cell_codes:
                cell_codes[col] = raw[cells["first"]]
            codes, k = self.structure.shifted(col)   # shifted by one if a value is missing
            shifted.append((cell_codes[col] + (codes is not raw), k))
        # Groups: the cells with the variance units merged (calibration cells x domain
        # columns), where the sums by calibration cell or by domain alone are formed.
        level_codes, level_mult = cells["level_codes"], cells["level_mult"]
        groups, n_groups = combine_codes(
            [np.zeros(size, np.int64), *cells["refine_codes"], *(c for c, _ in shifted)],
            [1, *(k for _, k in lv.refine), *(k for _, k in shifted)])
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
        return Partition(
            columns=columns, **cells, groups=groups, n_groups=n_groups, group_first=group_first,
            group_levels=tuple(c[group_first] for c in level_codes[1:]),
            group_mult=tuple(m[group_first] for m in level_mult[1:]), group_sums=group_sums,
            cell_codes=cell_codes)

    def cell_domains(self, dom: "Domains") -> "CellDomains":
        """Where each cell and group goes for the domains ``dom`` (cached per partition and
        ``by``)."""
        part = self.partition(dom.by)
        cd = part.domains.get(dom.by)
        if cd is not None:
            return cd
        lv = self.levels()
        D = dom.D
        n_units = lv.sizes[0]
        if not dom.by:
            dom_cell = np.zeros(part.size, np.int64)
        elif len(dom.by) == 1 and dom.codes is self.structure.factor(dom.by[0], "by")[0]:
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
        cd = CellDomains(
            part=part, n_units=n_units, D=D, code0=code0, unit_slot=unit_slot, plus1=plus1,
            group_codes=group_codes, B0=(), n_cells=None, sw=sum_domains(plus1, G_w, D),
            n_pos=sum_domains(plus1, G_n, D), sw2=sum_domains(plus1, G_w2, D),
            rows=sum_domains(plus1, G_rows, D))
        B0 = (cd.level0(part.w),) + tuple(
            sum_cells(c, G_w * m, size_g, D)
            for c, m, size_g in zip(group_codes, part.group_mult, lv.sizes[1:]))
        cd = dataclasses.replace(cd, B0=B0, n_cells=cd.level0(part.n_pos))
        part.domains[dom.by] = cd
        return cd

    def _cell_sums(self, column: str, part: "Partition") -> tuple:
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
            missing = self.structure.missing(column)
            if missing is None:
                counts = part.group_sums[1:3]
                cells = cached[0] if cached is not None else (
                    part.w, np.bincount(part.code, weights=self.w * self.structure.numeric(column),
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

    def _answered_sums(self, part: "Partition", column: str, missing: np.ndarray) -> tuple:
        """Sums over the rows with a value: ``((w, w * y) by cell, (rows of positive weight,
        w**2) by group)``."""
        size = part.size
        y = self.structure.numeric(column)
        w = self.w
        pos, all_pos = self.positive()
        w2 = self.w_squared()
        row_groups = part.row_groups()
        G = part.n_groups
        binary = column in self.binary_checked
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

    def sums(self, column: str, dom: "Domains", na_rm: bool):
        """Sums of the weights and weighted values of one variable at every level.

        Returns ``(B0, B1, sw, swy, n, sw2, missing)``: lists (one per level) of
        ``(size, D)`` arrays of sums of ``m * w`` and ``m * w * y`` over the rows with a value
        by (group, domain), the domains' sums of ``w`` and ``w * y``, respondent counts and
        sums of squared weights, and the rows left out as missing (None when no row of
        positive weight in a domain lacks the value).  Formed from the variable's sums by
        cell and by group (:meth:`_cell_sums`).
        """
        cd = self.cell_domains(dom)
        part = cd.part
        lv = self.levels()
        D = dom.D
        (S_w, S_wy), (G_w, G_wy, G_n, G_w2), has_missing, by_unit = self._cell_sums(column, part)

        def by_level(which, cell_values, group_values):
            per_unit = None
            if cd.unit_slot is not None:   # the same totals by unit for every such domain set
                per_unit = by_unit.get(which)
                if per_unit is None:
                    per_unit = by_unit[which] = np.add.reduceat(cell_values, part.unit_starts)
            return [cd.level0(cell_values, per_unit)] + [
                sum_cells(c, group_values * m, size_g, D)
                for c, m, size_g in zip(cd.group_codes, part.group_mult, lv.sizes[1:])]

        B1 = by_level("wy", S_wy, G_wy)
        swy = sum_domains(cd.plus1, G_wy, D)
        if has_missing:
            n = sum_domains(cd.plus1, G_n, D)
            n_missing = cd.n_pos - n
            has_missing = bool((n_missing > 0).any())
        if not has_missing:
            return list(cd.B0), B1, cd.sw, swy, cd.n_pos, cd.sw2, None
        if not na_rm:
            raise VariableError(f"column {column!r} has {int(n_missing.sum())} missing values",
                                argument="na_rm", value=False,
                                fix="pass na_rm=True to estimate over the rows that have a "
                                    "value (R: na.rm=TRUE)")
        return (by_level("w", S_w, G_w), B1, sum_domains(cd.plus1, G_w, D), swy, n,
                sum_domains(cd.plus1, G_w2, D), self.structure.missing(column))


@dataclass(frozen=True, eq=False)
class Levels:
    """Groupings of rows whose sums the variance needs: level 0 = last variance-stage
    units, then the blocks of each calibration step (its cells, rows weighted by the step's
    ``c`` or ``c * x_m``)."""

    codes: tuple              # per level: (n,) group of each row
    sizes: tuple              # per level: number of groups
    mult: tuple               # per level: (n,) row multiplier, None for level 0
    mw: tuple                 # per level: (n,) multiplier times weight
    upper: tuple              # per variance stage: sparse aggregation of level 0 (None: itself)
    refine: tuple = ()        # per step: (codes, size) within which its multipliers are constant
    step_levels: tuple = ()   # per step: (first, stop) of its levels


@dataclass(frozen=True, eq=False)
class Partition:
    """Cells of rows that refine every variance level and some domain columns, and the
    cells' groups: the cells with the last-stage units merged (calibration cells x domain
    columns, usually far fewer)."""

    columns: tuple            # domain columns the cells refine
    code: np.ndarray          # (n,) cell of each row
    size: int
    first: np.ndarray         # (size,) a row of each cell (of positive weight if it has one)
    level_codes: tuple        # per level: (size,) group of each cell
    refine_codes: tuple       # per calibration step: (size,) its refine code of each cell
    level_mult: tuple         # per level: (size,) multiplier of each cell, None for level 0
    w: np.ndarray             # (size,) sums of weights
    n_pos: np.ndarray         # (size,) rows of positive weight
    w2: np.ndarray            # (size,) sums of squared weights
    rows: np.ndarray          # (size,) rows
    unit_starts: np.ndarray | None  # first cell of each last-stage unit (cells by unit), or None
    sums: dict                # column -> the variable's sums (see CellSums.cell_sums)
    groups: np.ndarray | None  # (size,) group of each cell; None: every cell its own group
    n_groups: int
    group_first: np.ndarray   # (n_groups,) a cell of each group (with rows of positive weight)
    group_levels: tuple       # per calibration level: (n_groups,) its cell of each group
    group_mult: tuple         # per calibration level: (n_groups,) multiplier of each group
    group_sums: tuple         # (n_groups,) sums of w, rows of positive weight, w**2 and rows
    cell_codes: dict          # domain column -> (size,) its code in each cell (-1: missing)
    domains: dict = field(default_factory=dict, repr=False)   # by -> CellDomains
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
class CellDomains:
    """The cells and groups of a partition mapped to one set of domains.

    Sums by (last-stage unit, domain) are ``(n_units, D)`` arrays stored domain by domain
    (Fortran order): the variance works along the units, so numpy's loops stay long.
    """

    part: Partition
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
class Domains:
    codes: np.ndarray   # (n,) domain code, -1 outside every domain
    D: int
    index: pd.Index
    by: tuple


class EngineColumns:
    """The checked columns and the domains a variance engine offers (``numeric``, ``binary``,
    ``factor``, ``domains``), from its :class:`CellSums` ``cells``; both engines inherit them."""

    cells: CellSums

    def numeric(self, column: str, argument: str = "variable") -> np.ndarray:
        return self.cells.structure.numeric(column, argument)

    def binary(self, column: str) -> np.ndarray:
        return self.cells.binary(column)

    def factor(self, column: str, argument: str) -> tuple[np.ndarray, pd.Index]:
        return self.cells.structure.factor(column, argument)

    def domains(self, by) -> Domains:
        return self.cells.domains(by)

