"""Two-stage selection: PSUs by systematic PPS within districts, then interviews per PSU.

The inclusion probabilities of the selection become the design weights of the analysis:
:meth:`PSUSelection.assignments` lists, for each selected PSU, the interviews to complete,
the first- and second-stage inclusion probabilities, the design weight and the number of
PSUs in the district's frame (R ``survey``'s ``fpc=``); :func:`attach_design_weights`
copies them onto the interviews by (district, PSU).
"""
from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal, get_args

import numpy as np
import numpy.typing as npt
import pandas as pd

from analysis.sampling._common import (
    SamplingError,
    check_count,
    check_option,
    list_some,
    show,
)

__all__ = [
    "ASSIGNMENT_COLUMNS",
    "FrameOrder",
    "PSUSelection",
    "attach_design_weights",
    "check_frame",
    "pps_inclusion_probabilities",
    "read_frame",
    "select_psus",
    "systematic_sample",
]

FrameOrder = Literal["frame", "random"]
FRAME_ORDERS: tuple[str, ...] = get_args(FrameOrder)
FRAME_FORMATS: tuple[str, ...] = (".csv", ".txt")
ASSIGNMENT_COLUMNS: tuple[str, ...] = (
    "district", "psu", "psu_name", "interviews", "pi_psu", "pi_within", "design_weight", "fpc",
)
_WEIGHT_COLUMNS: tuple[str, ...] = ("pi_psu", "pi_within", "design_weight", "fpc")
_SUM_TOLERANCE = 1e-6


def read_frame(
    source: str | Path | BinaryIO | bytes | pd.DataFrame, *, filename: str | None = None
) -> pd.DataFrame:
    """Read a sampling frame from a CSV file, or take a table already read, every cell as text.

    Rows are numbered as in the file (the header is row 1, so the first PSU is row 2);
    :func:`check_frame` names bad rows by these numbers. This package parses no Excel: the
    app reads an uploaded workbook with ``survey_app.uploads.read_workbook`` (size, time and
    memory limits) and passes the sheet's table here.

    Parameters
    ----------
    source : path, bytes, binary file or pandas.DataFrame
        The CSV file (e.g. a Streamlit upload), or a sheet's table with the header as
        column names.
    filename : str, optional
        Name whose suffix tells the format (``.csv``/``.txt``); defaults to ``source``'s path
        or ``.name``. Not used for a table.

    Returns
    -------
    pandas.DataFrame
        The frame as text columns, header names stripped of surrounding spaces.
    """
    if isinstance(source, pd.DataFrame):
        table = source.copy()
    else:
        name = filename or (str(source) if isinstance(source, (str, Path)) else getattr(source, "name", ""))
        suffix = Path(str(name)).suffix.lower()
        if suffix in (".xlsx", ".xlsm"):
            raise SamplingError(f"the sampling frame {name!r} is an Excel workbook: read it with "
                                "survey_app.uploads.read_workbook and pass the table, or save it as CSV")
        check_option("the frame file's suffix", suffix, FRAME_FORMATS)
        if isinstance(source, (str, Path)):
            data = Path(source).read_bytes()
        elif isinstance(source, bytes):
            data = source
        else:
            data = source.read()
        try:
            table = _read_csv_text(data, name)
        except (ValueError, KeyError) as exc:  # pandas' read errors
            raise SamplingError(f"cannot read the sampling frame {name!r}: {exc}") from exc
    table.columns = [str(c).strip() for c in table.columns]
    table.index = pd.RangeIndex(2, 2 + len(table), name="row")
    return table


def check_frame(
    frame: pd.DataFrame,
    *,
    district: str = "district",
    psu: str = "psu",
    psu_name: str | None = "psu_name",
    size: str = "size",
    units: str | None = None,
) -> pd.DataFrame:
    """Check a sampling frame and return it with the standard columns.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per PSU (community), e.g. from :func:`read_frame`.
    district, psu, psu_name, size : str
        Columns of the district (stratum), the PSU id, the PSU name (None: use the id) and
        the measure of size (households or residents).
    units : str, optional
        Column of the number of second-stage units (households) in each PSU; defaults to
        ``size``.

    Returns
    -------
    pandas.DataFrame
        Columns ``district, psu, psu_name`` (text) and ``size, units`` (float), in frame
        order with the frame's index.

    Raises
    ------
    SamplingError
        Naming missing columns, or every row with a blank district or PSU id, a size that
        is not a positive number, or a duplicate (district, PSU) pair.
    """
    if not isinstance(frame, pd.DataFrame):
        raise SamplingError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    wanted = {"district": district, "psu": psu, "psu_name": psu_name, "size": size, "units": units}
    missing = [f"{role}={col!r}" for role, col in wanted.items() if col is not None and col not in frame.columns]
    if missing:
        raise SamplingError(
            f"the sampling frame has no column for {', '.join(missing)}; its columns are "
            f"{list_some(repr(c) for c in frame.columns)}; name yours, e.g. size='households'"
        )
    if frame.empty:
        raise SamplingError("the sampling frame has no rows: give one row per PSU")

    rows = frame.index
    problems: list[str] = []
    text: dict[str, list[str | None]] = {}
    for role in ("district", "psu"):
        text[role] = [_cell_text(v) for v in frame[wanted[role]]]
        blank = [i for i, v in zip(rows, text[role]) if v is None]
        if blank:
            problems.append(f"blank {role} ({wanted[role]!r}) in rows {list_some(blank)}")
    names = text["psu"] if psu_name is None else [_cell_text(v) for v in frame[psu_name]]
    numbers: dict[str, np.ndarray] = {}
    for role in ("size", "units"):
        column = wanted[role] or size
        raw = frame[column].tolist()
        numbers[role] = np.array([_cell_number(v) for v in raw])
        bad = ~(numbers[role] > 0)  # also NaN: empty or not a number
        if bad.any() and (role == "size" or units is not None):
            shown = (f"{rows[i]} ({show(raw[i])})" for i in np.flatnonzero(bad))
            problems.append(f"{role} ({column!r}) is not a positive number in rows {list_some(shown)}")
    seen: dict[tuple[str, str], list[int]] = {}
    for position, key in enumerate(zip(text["district"], text["psu"])):
        if None not in key:
            seen.setdefault(key, []).append(position)  # type: ignore[arg-type]
    repeated = sorted(p for positions in seen.values() if len(positions) > 1 for p in positions)
    if repeated:
        shown = (f"{rows[i]} ({show(text['district'][i])}, {show(text['psu'][i])})" for i in repeated)
        problems.append(f"duplicate (district, psu) in rows {list_some(shown)}; PSU ids must be unique")
    if problems:
        raise SamplingError("the sampling frame has problems:\n- " + "\n- ".join(problems))
    return pd.DataFrame(
        {
            "district": text["district"],
            "psu": text["psu"],
            "psu_name": [n if n is not None else i for n, i in zip(names, text["psu"])],
            "size": numbers["size"],
            "units": numbers["units"],
        },
        index=rows,
    )


def pps_inclusion_probabilities(sizes: npt.ArrayLike, n: int) -> np.ndarray:
    """Inclusion probabilities proportional to size for a sample of ``n``, capped at 1.

    Units whose ``n * x_i / sum(x)`` reaches 1 are taken with certainty and the rest of
    the sample is spread over the others in proportion to size, repeatedly, until no
    probability exceeds 1 (Sarndal, Swensson & Wretman 1992, sec. 3.6.2).

    Parameters
    ----------
    sizes : array-like
        Positive measures of size.
    n : int
        Sample size, at most ``len(sizes)``.

    Returns
    -------
    numpy.ndarray
        Probabilities in (0, 1] that add up to ``n``.

    Examples
    --------
    R equivalent: ``sampling::inclusionprobabilities(c(50, 30, 10, 5, 5), 2)``.

    >>> pps_inclusion_probabilities([50, 30, 10, 5, 5], 2).tolist()
    [1.0, 0.6, 0.2, 0.1, 0.1]
    """
    x = np.asarray(sizes, dtype=float)
    if x.ndim != 1 or x.size == 0 or not np.all(np.isfinite(x)) or np.any(x <= 0):
        raise SamplingError(f"sizes must be a non-empty list of positive numbers, got {sizes!r}")
    k = check_count("n", n, minimum=1)
    if k > x.size:
        raise SamplingError(f"n={k} exceeds the {x.size} units available")
    certain = np.zeros(x.size, dtype=bool)
    pi = np.ones(x.size)
    while True:
        rest = ~certain
        pi[rest] = (k - certain.sum()) * x[rest] / x[rest].sum()
        new = rest & (pi >= 1)
        if not new.any():
            return pi
        certain |= new
        pi[new] = 1.0


def systematic_sample(pi: npt.ArrayLike, *, rng: np.random.Generator) -> np.ndarray:
    """Systematic sample with unequal probabilities, in the given order (Madow 1949).

    Unit i covers ``[C_{i-1}, C_i)`` of the cumulated probabilities; a random start
    ``u ~ U(0, 1)`` selects the units covering ``u, u + 1, ..., u + n - 1``.

    Parameters
    ----------
    pi : array-like
        Inclusion probabilities in [0, 1] adding up to a whole number n.
    rng : numpy.random.Generator
        Source of the random start.

    Returns
    -------
    numpy.ndarray of bool
        True for the n selected units.

    Examples
    --------
    R equivalent: ``sampling::UPsystematic(pik)`` (which returns 0/1).

    >>> int(systematic_sample([1.0, 0.6, 0.2, 0.1, 0.1], rng=np.random.default_rng(1)).sum())
    2
    """
    p = np.asarray(pi, dtype=float)
    if p.ndim != 1 or p.size == 0 or not np.all(np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise SamplingError(f"pi must be a non-empty list of probabilities in [0, 1], got {pi!r}")
    cumulated = np.cumsum(p)
    n = round(cumulated[-1])
    if abs(cumulated[-1] - n) > _SUM_TOLERANCE or n == 0:
        raise SamplingError(f"pi must add up to a positive whole number, got {cumulated[-1]!r}")
    cumulated[-1] = n  # rounding noise must not push the last point past the end
    points = rng.uniform() + np.arange(n)
    chosen = np.zeros(p.size, dtype=bool)
    chosen[np.searchsorted(cumulated, points, side="right")] = True
    return chosen


@dataclass(frozen=True, eq=False)
class PSUSelection:
    """The PSUs selected in each district, with their inclusion probabilities.

    Attributes
    ----------
    seed : int
        Seed of the random starts (and orders): the same seed gives the same selection.
    order : {"frame", "random"}
        Order of the PSUs for the systematic selection within each district.
    interviews_per_psu : int
        Interviews to complete in each selected PSU.
    table : pandas.DataFrame
        Every PSU of the frame: the columns of :func:`check_frame`, then ``fpc`` (PSUs in
        the district's frame), ``requested`` (PSUs to select there), ``pi_psu``,
        ``certainty``, ``selected``, ``pi_within`` and ``design_weight``.
    """

    seed: int
    order: str
    interviews_per_psu: int
    table: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """Every PSU of the frame with its inclusion probability and whether it was selected."""
        return self.table.copy()

    def assignments(self) -> pd.DataFrame:
        """The field staff's list: one row per selected PSU.

        Columns ``district, psu, psu_name, interviews, pi_psu, pi_within, design_weight,
        fpc``; ``design_weight = 1 / (pi_psu * pi_within)``.
        """
        chosen = self.table[self.table["selected"]].copy()
        chosen["interviews"] = self.interviews_per_psu
        return chosen.loc[:, list(ASSIGNMENT_COLUMNS)].reset_index(drop=True)

    def strata(self) -> pd.DataFrame:
        """One row per district: PSUs in the frame and selected, certainty PSUs, total
        measure of size, sampling interval and interviews."""
        grouped = self.table.groupby("district", sort=True)
        out = pd.DataFrame(
            {
                "psus_in_frame": grouped.size(),
                "psus_selected": grouped["selected"].sum(),
                "certainty": grouped["certainty"].sum(),
                "total_size": grouped["size"].sum(),
            }
        )
        out["interval"] = out["total_size"] / out["psus_selected"]
        out["interviews"] = out["psus_selected"] * self.interviews_per_psu
        return out.reset_index()

    def summary(self) -> str:
        """Text overview per district."""
        strata = self.strata()
        lines = [
            f"Systematic PPS selection ({self.order} order, seed {self.seed}): "
            f"{int(strata['psus_selected'].sum())} PSUs, {self.interviews_per_psu} interviews "
            f"each, {int(strata['interviews'].sum())} interviews"
        ]
        for row in strata.itertuples(index=False):
            lines.append(
                f"  {row.district}: {row.psus_selected} of {row.psus_in_frame} PSUs "
                f"({row.certainty} with certainty), interval {row.interval:,.1f}"
            )
        return "\n".join(lines)


def select_psus(
    frame: pd.DataFrame,
    *,
    psus: int | Mapping[str, int],
    interviews_per_psu: int,
    seed: int,
    district: str = "district",
    psu: str = "psu",
    psu_name: str | None = "psu_name",
    size: str = "size",
    units: str | None = None,
    order: FrameOrder = "frame",
) -> PSUSelection:
    """Select PSUs in each district by systematic PPS, then interviews within them.

    First stage: in district h, ``psus[h]`` PSUs with probability proportional to size
    (:func:`pps_inclusion_probabilities`; PSUs larger than the sampling interval are taken
    with certainty) by :func:`systematic_sample`. Second stage: ``interviews_per_psu``
    units by simple random sampling in each selected PSU, so ``pi_within = m / units``.

    Parameters
    ----------
    frame : pandas.DataFrame
        The sampling frame, one row per PSU (checked by :func:`check_frame`).
    psus : int or mapping
        PSUs to select in every district, or district -> PSUs (every district of the
        frame, e.g. from an :class:`~analysis.sampling.Allocation`'s ``as_dict()``).
    interviews_per_psu : int
        Interviews to complete in each selected PSU.
    seed : int
        Seed of the random starts: record it so the selection can be reproduced.
    district, psu, psu_name, size, units : str
        Frame columns, as in :func:`check_frame`.
    order : {"frame", "random"}, default "frame"
        Systematic selection in frame order (sort the frame, e.g. by street, for implicit
        stratification) or in a random order drawn from ``seed``.

    Returns
    -------
    PSUSelection

    Examples
    --------
    R equivalent, per district: ``pik <- sampling::inclusionprobabilities(size, n);
    frame[sampling::UPsystematic(pik) == 1, ]``; the design is then
    ``svydesign(ids = ~psu, strata = ~district, weights = ~design_weight, fpc = ~fpc)``.
    """
    check_option("order", order, FRAME_ORDERS)
    m = check_count("interviews_per_psu", interviews_per_psu, minimum=1)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SamplingError(f"seed must be a non-negative whole number, got {seed!r}")
    checked = check_frame(frame, district=district, psu=psu, psu_name=psu_name, size=size, units=units)
    few_units = checked["units"] < m
    if few_units.any():
        shown = (f"{i} ({show(p)}: {u:g})" for i, p, u in zip(checked.index[few_units], checked["psu"][few_units], checked["units"][few_units]))
        raise SamplingError(
            f"interviews_per_psu={m} exceeds the units of the PSUs in rows {list_some(shown)}; "
            "merge small PSUs with a neighbour or lower interviews_per_psu"
        )
    districts = sorted(checked["district"].unique())
    requested = _requested(psus, districts)
    counts = checked["district"].value_counts()
    short = [f"{d!r} has {counts[d]} PSUs, {requested[d]} requested" for d in districts if requested[d] > counts[d]]
    if short:
        raise SamplingError(
            f"the frame has too few PSUs: {list_some(short)}; request fewer PSUs there or "
            "take more interviews per PSU"
        )

    rng = np.random.default_rng(seed)
    labels = checked["district"].to_numpy()
    sizes = checked["size"].to_numpy()
    pi_psu = np.empty(len(checked))
    selected = np.zeros(len(checked), dtype=bool)
    for name in districts:
        rows = np.flatnonzero(labels == name)
        if order == "random":
            rows = rng.permutation(rows)
        pi_psu[rows] = pps_inclusion_probabilities(sizes[rows], requested[name])
        selected[rows] = systematic_sample(pi_psu[rows], rng=rng)
    pi_within = m / checked["units"].to_numpy()
    table = pd.DataFrame(
        {
            **{column: checked[column].to_numpy() for column in checked.columns},
            "fpc": np.array([counts[d] for d in labels], dtype=np.int64),
            "requested": np.array([requested[d] for d in labels], dtype=np.int64),
            "pi_psu": pi_psu,
            "certainty": pi_psu >= 1,
            "selected": selected,
            "pi_within": pi_within,
            "design_weight": 1 / (pi_psu * pi_within),
        },
        index=checked.index,
    )
    return PSUSelection(seed=int(seed), order=order, interviews_per_psu=m, table=table)


def attach_design_weights(
    responses: pd.DataFrame,
    assignments: pd.DataFrame,
    *,
    district: str = "district",
    psu: str = "psu",
) -> pd.DataFrame:
    """Copy each interview's inclusion probabilities and design weight from the assignments.

    Parameters
    ----------
    responses : pandas.DataFrame
        One row per interview, with its district and PSU.
    assignments : pandas.DataFrame
        :meth:`PSUSelection.assignments` (or the same columns read back from a file).
    district, psu : str
        The columns of ``responses`` holding the district and PSU id (compared as text).

    Returns
    -------
    pandas.DataFrame
        ``responses`` (same rows, order and index) with ``pi_psu``, ``pi_within``,
        ``design_weight`` and ``fpc`` added. The weights are the design weights of the
        plan; nonresponse within a PSU is for the weighting step to adjust.

    Examples
    --------
    R equivalent: ``merge(responses, assignments, by = c("district", "psu"))``.
    """
    for label, table, needed in (
        ("responses", responses, (district, psu)),
        ("assignments", assignments, ("district", "psu", *_WEIGHT_COLUMNS)),
    ):
        if not isinstance(table, pd.DataFrame):
            raise SamplingError(f"{label} must be a pandas DataFrame, got {type(table).__name__}")
        lacking = [c for c in needed if c not in table.columns]
        if lacking:
            raise SamplingError(
                f"{label} has no column {list_some(repr(c) for c in lacking)}; its columns are "
                f"{list_some(repr(c) for c in table.columns)}"
            )
    clash = [c for c in _WEIGHT_COLUMNS if c in responses.columns]
    if clash:
        raise SamplingError(
            f"responses already has column {list_some(repr(c) for c in clash)}; drop it first "
            "so the weights of the plan are not mixed with others"
        )
    plan = assignments.loc[:, ["district", "psu", *_WEIGHT_COLUMNS]].copy()
    plan["district"] = plan["district"].astype(str)
    plan["psu"] = plan["psu"].astype(str)
    dup = plan.duplicated(["district", "psu"], keep=False)
    if dup.any():
        shown = (f"({show(d)}, {show(p)})" for d, p in zip(plan["district"][dup], plan["psu"][dup]))
        raise SamplingError(f"assignments list a PSU twice: {list_some(shown)}")
    keys = pd.MultiIndex.from_arrays(
        [responses[district].astype(str), responses[psu].astype(str)], names=["district", "psu"]
    )
    lookup = plan.set_index(["district", "psu"])
    unknown = ~keys.isin(lookup.index)
    if unknown.any():
        shown = (f"{i} ({show(d)}, {show(p)})" for i, (d, p) in zip(responses.index[unknown], keys[unknown]))
        raise SamplingError(
            f"responses in rows {list_some(shown)} name a (district, psu) that is not in the "
            "assignments; correct the PSU id or add the PSU's assignment"
        )
    out = responses.copy()
    matched = lookup.reindex(keys)
    for column in _WEIGHT_COLUMNS:
        out[column] = matched[column].to_numpy()
    return out


def _read_csv_text(data: bytes, name: str) -> pd.DataFrame:
    # Spreadsheets saved as CSV on Chinese Windows are often GB18030, not UTF-8.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    raise SamplingError(f"the sampling frame {name!r} is neither UTF-8 nor GB18030 text")


def _cell_text(value: object) -> str | None:
    """A frame cell as stripped text; None when empty."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    text = str(value).strip()
    return text or None


def _cell_number(value: object) -> float:
    """A frame cell as a float (NaN when it is not a finite number)."""
    if isinstance(value, str):
        # Thousands separators are common in exported statistics tables.
        value = value.replace(",", "").strip()
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
    return number if np.isfinite(number) else float("nan")


def _requested(psus: int | Mapping[str, int], districts: list[str]) -> dict[str, int]:
    if isinstance(psus, Mapping):
        given = {str(k): v for k, v in psus.items()}
        missing = [d for d in districts if d not in given]
        extra = [k for k in given if k not in districts]
        if missing or extra:
            raise SamplingError(
                f"psus must name exactly the frame's districts; missing {list_some(map(repr, missing)) or 'none'}, "
                f"not in the frame {list_some(map(repr, extra)) or 'none'}"
            )
        return {d: check_count(f"psus[{d!r}]", given[d], minimum=1) for d in districts}
    count = check_count("psus", psus, minimum=1)
    return {d: count for d in districts}
