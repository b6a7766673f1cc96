"""Allocation of a total sample across strata (districts), in whole interviews."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import pandas as pd

from analysis.sampling._common import SamplingError, check_count, check_option, list_some, show

__all__ = ["Allocation", "AllocationMethod", "allocate"]

AllocationMethod = Literal["proportional", "equal", "neyman", "sqrt"]
ALLOCATION_METHODS: tuple[str, ...] = get_args(AllocationMethod)


@dataclass(frozen=True)
class Allocation:
    """Sample sizes per stratum that add up to ``total``.

    Attributes
    ----------
    method : str
        One of ``"proportional"``, ``"equal"``, ``"neyman"``, ``"sqrt"``.
    total : int
        The total sample size allocated.
    minimum : int
        The smallest sample any stratum receives (unless the stratum is smaller).
    stratum_column, size_column : str
        Names of the input columns, reused by :meth:`to_frame`.
    strata : tuple of str
        Stratum labels, in input order.
    sizes : tuple of float
        Stratum sizes N_h.
    exact : tuple of float
        The real-valued allocation within the bounds [minimum, N_h] before rounding.
    counts : tuple of int
        The integer allocation; ``sum(counts) == total``.
    """

    method: str
    total: int
    minimum: int
    stratum_column: str
    size_column: str
    strata: tuple[str, ...]
    sizes: tuple[float, ...]
    exact: tuple[float, ...]
    counts: tuple[int, ...]

    def as_dict(self) -> dict[str, int]:
        """Stratum label -> allocated sample size."""
        return dict(zip(self.strata, self.counts))

    def to_frame(self) -> pd.DataFrame:
        """One row per stratum: size, population share, exact and integer allocation."""
        sizes = np.asarray(self.sizes)
        counts = np.asarray(self.counts)
        at_minimum = counts <= self.minimum
        return pd.DataFrame(
            {
                self.stratum_column: list(self.strata),
                self.size_column: sizes,
                "population_share": sizes / sizes.sum(),
                "exact": np.asarray(self.exact),
                "allocated": counts,
                "sample_share": counts / self.total if self.total else np.zeros(len(counts)),
                "at_minimum": at_minimum,
            }
        )

    def summary(self) -> str:
        """Text table of the allocation."""
        width = max(len(s) for s in self.strata)
        lines = [
            f"{self.method} allocation of {self.total} across {len(self.strata)} strata "
            f"(minimum {self.minimum} each)"
        ]
        for label, size, count in zip(self.strata, self.sizes, self.counts):
            mark = "  (minimum)" if count <= self.minimum else ""
            lines.append(f"  {label:<{width}}  N = {size:>12,.0f}  n = {count:>6}{mark}")
        return "\n".join(lines)


def allocate(
    frame: pd.DataFrame,
    stratum: str,
    size: str,
    *,
    total: int,
    method: AllocationMethod = "proportional",
    minimum: int = 0,
    sd: str | None = None,
    p: str | None = None,
) -> Allocation:
    """Allocate ``total`` interviews across strata in whole numbers.

    Each stratum h gets ``clip(lambda * w_h, minimum, N_h)`` with ``lambda`` chosen so the
    allocations add up to ``total`` (strata at the minimum are taken out and the rest is
    re-allocated among the others, Cochran 1977 sec. 5.8), then rounded by largest
    remainders so the integers still add up to ``total`` and respect the bounds.

    The weights ``w_h`` are: ``N_h`` (proportional), 1 (equal), ``N_h S_h`` (Neyman, with
    ``S_h`` from the ``sd`` column or ``sqrt(p_h (1 - p_h))`` from the ``p`` column) and
    ``sqrt(N_h)`` (square root, a compromise between city-wide precision, best under
    proportional allocation, and equal precision in each district; Kish 1976).

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per stratum.
    stratum : str
        Column of stratum labels (e.g. districts); labels must be unique.
    size : str
        Column of stratum sizes N_h (positive numbers, e.g. resident population); no stratum
        is given more than ``floor(N_h)``.
    total : int
        Total sample size to allocate.
    method : {"proportional", "equal", "neyman", "sqrt"}, default "proportional"
    minimum : int, default 0
        Smallest sample per stratum, so each stratum gets its own verdict.
    sd : str, optional
        For ``method="neyman"``: column of stratum standard deviations.
    p : str, optional
        For ``method="neyman"``: column of expected stratum proportions (instead of ``sd``).

    Returns
    -------
    Allocation

    Examples
    --------
    R equivalent (without minimum and rounding): ``sampling::strata`` takes the sizes;
    PracTools ``strAlloc(Nh = Nh, Sh = Sh, n.tot = 1000, alloc = "neyman")``.

    >>> frame = pd.DataFrame({"district": ["A", "B", "C"], "pop": [7000, 2000, 1000]})
    >>> allocate(frame, "district", "pop", total=100, minimum=15).as_dict()
    {'A': 66, 'B': 19, 'C': 15}
    """
    check_option("method", method, ALLOCATION_METHODS)
    n_total = check_count("total", total, minimum=1)
    n_min = check_count("minimum", minimum)
    labels, sizes = _strata_and_sizes(frame, stratum, size)
    weights = _weights(frame, method, sizes, sd=sd, p=p)
    upper = np.floor(sizes)
    lower = np.full(len(sizes), float(n_min))

    too_small = upper < lower
    if too_small.any():
        bad = [f"{labels[i]!r} (N = {sizes[i]:g})" for i in np.flatnonzero(too_small)]
        raise SamplingError(
            f"minimum={n_min} is larger than the size of stratum {list_some(bad)}; "
            "lower the minimum or merge those strata"
        )
    if n_total < lower.sum():
        raise SamplingError(
            f"total={n_total} is less than minimum={n_min} times {len(labels)} strata "
            f"= {int(lower.sum())}; raise the total or lower the minimum"
        )
    if n_total > upper.sum():
        raise SamplingError(
            f"total={n_total} exceeds the {int(upper.sum())} units in all strata together"
        )
    if n_total > lower.sum() and not np.any((weights > 0) & (upper > lower)):
        raise SamplingError(
            f"method={method!r} gives every stratum weight 0 (sd or p all 0 or 1), so the "
            f"{n_total - int(lower.sum())} interviews above the minimums cannot be allocated"
        )
    exact = _bounded_proportional(weights, lower, upper, float(n_total))
    counts = _largest_remainder(exact, upper, n_total)
    return Allocation(
        method=method,
        total=n_total,
        minimum=n_min,
        stratum_column=stratum,
        size_column=size,
        strata=tuple(labels),
        sizes=tuple(float(v) for v in sizes),
        exact=tuple(float(v) for v in exact),
        counts=tuple(int(v) for v in counts),
    )


def _strata_and_sizes(frame: pd.DataFrame, stratum: str, size: str) -> tuple[list[str], np.ndarray]:
    if not isinstance(frame, pd.DataFrame):
        raise SamplingError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in (stratum, size) if c not in frame.columns]
    if missing:
        raise SamplingError(
            f"frame has no column {list_some(repr(c) for c in missing)}; "
            f"its columns are {list_some(repr(c) for c in frame.columns)}"
        )
    if frame.empty:
        raise SamplingError("frame has no rows: give one row per stratum")
    labels = frame[stratum]
    if labels.isna().any():
        raise SamplingError(f"column {stratum!r} is empty in rows {list_some(frame.index[labels.isna()])}")
    labels = labels.astype(str)
    dup = labels.duplicated(keep=False)
    if dup.any():
        raise SamplingError(
            f"stratum labels in {stratum!r} must be unique; repeated in rows "
            f"{list_some(f'{i} ({show(v)})' for i, v in labels[dup].items())}"
        )
    sizes = pd.to_numeric(frame[size], errors="coerce")
    bad = sizes.isna() | ~np.isfinite(sizes) | (sizes <= 0)
    if bad.any():
        raise SamplingError(
            f"column {size!r} must hold positive numbers; bad in rows "
            f"{list_some(f'{i} ({show(frame[size][i])})' for i in frame.index[bad])}"
        )
    return labels.tolist(), sizes.to_numpy(dtype=float)


def _weights(
    frame: pd.DataFrame, method: str, sizes: np.ndarray, *, sd: str | None, p: str | None
) -> np.ndarray:
    if method != "neyman":
        if sd is not None or p is not None:
            raise SamplingError(
                f"sd={sd!r} and p={p!r} are used only by method='neyman', not {method!r}"
            )
        if method == "proportional":
            return sizes
        if method == "equal":
            return np.ones_like(sizes)
        return np.sqrt(sizes)
    if sd is not None and p is None:
        column, is_sd = sd, True
    elif p is not None and sd is None:
        column, is_sd = p, False
    else:
        raise SamplingError(
            f"method='neyman' needs exactly one of sd= (a column of standard deviations) or "
            f"p= (a column of expected proportions); got sd={sd!r}, p={p!r}"
        )
    if column not in frame.columns:
        raise SamplingError(
            f"frame has no column {column!r}; its columns are "
            f"{list_some(repr(c) for c in frame.columns)}"
        )
    values = pd.to_numeric(frame[column], errors="coerce")
    if is_sd:
        bad = values.isna() | ~np.isfinite(values) | (values < 0)
        what = "non-negative standard deviations"
    else:
        bad = values.isna() | (values < 0) | (values > 1)
        what = "proportions in [0, 1]"
    if bad.any():
        raise SamplingError(
            f"column {column!r} must hold {what}; bad in rows "
            f"{list_some(f'{i} ({show(frame[column][i])})' for i in frame.index[bad])}"
        )
    spread = values.to_numpy(dtype=float)
    if not is_sd:
        spread = np.sqrt(spread * (1 - spread))
    return sizes * spread


def _bounded_proportional(
    weights: np.ndarray, lower: np.ndarray, upper: np.ndarray, total: float
) -> np.ndarray:
    """Solve ``sum(clip(lam * w, lower, upper)) == total`` for ``lam`` exactly.

    The sum is piecewise linear and non-decreasing in ``lam`` with kinks where a stratum
    leaves its lower bound or reaches its upper bound, so evaluating it at the kinks and
    interpolating linearly in the right segment gives the exact solution.
    """
    positive = weights > 0
    kinks = np.concatenate(([0.0], lower[positive] / weights[positive], upper[positive] / weights[positive]))
    kinks = np.unique(kinks)
    totals = np.array([np.clip(lam * weights, lower, upper).sum() for lam in kinks])
    k = int(np.searchsorted(totals, total, side="left"))
    if k == 0:
        lam = kinks[0]
    elif k == len(kinks):
        lam = kinks[-1]
    else:
        lo, hi = kinks[k - 1], kinks[k]
        lam = lo + (hi - lo) * (total - totals[k - 1]) / (totals[k] - totals[k - 1])
    return np.clip(lam * weights, lower, upper)


def _largest_remainder(exact: np.ndarray, upper: np.ndarray, total: int) -> np.ndarray:
    counts = np.floor(exact).astype(np.int64)
    short = total - int(counts.sum())
    if short > 0:
        room = counts < upper
        fraction = np.where(room, exact - counts, -1.0)
        # Stable sort: ties go to the stratum listed first.
        order = np.argsort(-fraction, kind="stable")[:short]
        counts[order] += 1
    return counts
