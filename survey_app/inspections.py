"""Sample-inspection (抽检) records: upload, checks, storage, and pass rates with exact intervals.

An inspection file (CSV or ``.xlsx``) has one row per sample inspected::

    sample_id,category,district,date,result,failed_item,stratum,weight,selection_probability
    SP2026-0001,food,chongchuan,2026-03-02,pass,,,,
    SP2026-0002,food,haimen,2026-03-02,fail,菌落总数,,,

``sample_id`` (unique), ``category`` (the ``category`` of an inspection target in
``questionnaires/targets.yaml``: ``food``, ``agricultural_products`` ...), ``district`` (code or
Chinese/English name), ``date`` (YYYY-MM-DD) and ``result`` (``pass``/``fail``, or 合格/不合格)
are required; ``failed_item`` says what failed; ``stratum`` and ``weight`` (or
``selection_probability``, whose inverse is the weight) are given when the inspection plan had
strata or unequal selection probabilities. Every row is checked; if any row has a problem
(unknown category or district, a result that is neither pass nor fail, a weight that is not a
positive number, a sample id twice in the file or already stored, ...) nothing is stored and
each problem is reported with its row (the header is row 1) and reason: the all-or-nothing rule
of the interview import.

Pass rates (:func:`inspection_pass_rates`) use :func:`analysis.passrates.pass_rates`: the exact
Clopper–Pearson interval (R ``binom.test``) for a category whose records have neither stratum nor
weight, the design-based Korn–Graubard interval (R ``svyciprop(method = "beta")``, strata = the
records' ``stratum``, weights = ``weight``) otherwise.

Examples
--------
>>> store = InspectionStore("sqlite:///data/survey.db")                                # doctest: +SKIP
>>> result = import_inspections(store, Path("2026q1.csv").read_bytes(), "2026q1.csv",
...                             actor="admin")                                          # doctest: +SKIP
>>> inspection_pass_rates(store.records(), by="district").to_frame()                    # doctest: +SKIP
"""
from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd
import sqlalchemy as sa

from analysis.passrates import PASS_RATE_COLUMNS, pass_rates
from analysis.targets import PlanTarget, load_plan_targets
from survey_app.errors import SurveyAppError
from survey_app.formatting import format_percent
from survey_app.store import StoreTables, UTCDateTime
from survey_app.uploads import WorkbookError, read_workbook

__all__ = ["FILE_COLUMNS", "REQUIRED_COLUMNS", "PROBLEM_COLUMNS", "PERIODS", "InspectionError",
           "InspectionRejectedError", "InspectionImport", "InspectionStore", "InspectionPassRates",
           "inspection_categories", "inspection_pass_rates", "import_inspections", "read_inspections"]

#: Columns of an inspection file, in the template's order.
FILE_COLUMNS = ("sample_id", "category", "district", "date", "result", "failed_item", "stratum", "weight",
                "selection_probability")
REQUIRED_COLUMNS = ("sample_id", "category", "district", "date", "result")
#: Columns of the row-by-row problem report. ``params`` holds the values the page words it with.
PROBLEM_COLUMNS = ("row", "column", "value", "kind", "problem", "params")
Period = Literal["year", "quarter", "month"]
PERIODS: tuple[str, ...] = get_args(Period)
_PASS = {"pass", "passed", "合格", "1"}
_FAIL = {"fail", "failed", "不合格", "0"}
_MAX_ID = 100
_MAX_TEXT = 500


class InspectionError(SurveyAppError, ValueError):
    """An inspection file cannot be read, or an argument is unusable.

    ``key`` and ``params`` name the text of the ``inspections`` namespace that says the same in
    the interface language.
    """

    def __init__(self, message: str, *, key: str = "inspections.unreadable", **params: Any) -> None:
        super().__init__(message)
        self.key = key
        self.params = params or {"detail": message}


class InspectionRejectedError(InspectionError):
    """The file has problems, so nothing was stored; :attr:`problems` lists them row by row."""

    def __init__(self, message: str, problems: pd.DataFrame) -> None:
        super().__init__(message, key="inspections.rejected", problems=len(problems),
                         rows=int(problems["row"].nunique()))
        self.problems = problems


@dataclass(frozen=True)
class InspectionImport:
    """What an import stored: ``stored`` records of ``filename`` (SHA-256 ``sha256``) as batch ``batch``."""

    stored: int
    filename: str
    sha256: str
    batch: str
    categories: Mapping[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        counts = ", ".join(f"{category} {n}" for category, n in self.categories.items())
        return f"stored {self.stored} inspection records from {self.filename} ({counts})"


def inspection_categories(targets: Sequence[PlanTarget] | None = None) -> dict[str, PlanTarget]:
    """The product categories of the inspection targets, each with its target."""
    targets = load_plan_targets() if targets is None else targets
    return {t.category: t for t in targets if t.source == "inspection" and t.category}


# -- reading and checking ------------------------------------------------------------------

def _table(data: bytes, filename: str) -> pd.DataFrame:
    suffix = Path(filename).suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise InspectionError(f"file {filename!r}: use a .csv or .xlsx file (got {suffix or 'no extension'})",
                              key="inspections.bad_suffix", file=filename, suffix=suffix or "–")
    if suffix == ".xlsx":
        try:
            return read_workbook(data, what="inspection file", filename=filename, keep_default_na=False)
        except WorkbookError as exc:
            raise InspectionError(str(exc), key="inspections.unreadable", detail=str(exc)) from None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        try:
            return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InspectionError(f"file {filename!r} is not a readable CSV table: {exc}",
                                  key="inspections.unreadable", detail=str(exc)) from None
    raise InspectionError(f"file {filename!r}: the text is neither UTF-8 nor GB18030; save it as UTF-8 CSV",
                          key="inspections.unreadable", detail="encoding")


def _districts() -> dict[str, str]:
    from questionnaires import load_districts

    lookup: dict[str, str] = {}
    for choice in load_districts():
        for name in (choice.label.zh, choice.label.get("en") or "", choice.name):
            if name:
                lookup[name.casefold()] = choice.name
    return lookup


def read_inspections(data: bytes, filename: str, *,
                     categories: Sequence[str] | None = None) -> pd.DataFrame:
    """Read and check an inspection file (see the module docstring for its format).

    Parameters
    ----------
    data : bytes
    filename : str
        Its name (``.csv`` or ``.xlsx``).
    categories : sequence of str, optional
        Allowed product categories; default those of the inspection targets.

    Returns
    -------
    pandas.DataFrame
        One row per sample: ``row`` (in the file, header = 1), ``sample_id, category, district``
        (code), ``sampled_on`` (date), ``passed`` (bool), ``failed_item, stratum`` (None when not
        given), ``weight`` (NaN when not given).

    Raises
    ------
    InspectionRejectedError
        Any row has a problem; ``problems`` (:data:`PROBLEM_COLUMNS`) lists every one.
    InspectionError
        The file cannot be read or lacks a required column.
    """
    allowed = list(categories) if categories is not None else list(inspection_categories())
    table = _table(data, filename)
    columns = {str(c).strip().lower(): c for c in table.columns}
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise InspectionError(f"file {filename!r} lacks the column(s) {', '.join(missing)}; the header needs "
                              f"{','.join(REQUIRED_COLUMNS)} (found: {', '.join(map(str, table.columns)) or 'none'})",
                              key="inspections.missing_columns", missing=", ".join(missing),
                              header=",".join(REQUIRED_COLUMNS))
    unknown = [str(c) for c in table.columns if str(c).strip().lower() not in FILE_COLUMNS]
    cells = pd.DataFrame({name: table[columns[name]].astype(object).where(table[columns[name]].notna(), "")
                          .map(lambda v: str(v).strip()) if name in columns else "" for name in FILE_COLUMNS})
    districts = _districts()
    problems: list[tuple] = []

    def problem(row: int, column: str, value: Any, kind: str, text: str, **params: Any) -> None:
        problems.append((row, column, value, kind, f"row {row}: {text}", params))

    for name in unknown:
        problem(1, name, name, "unknown_column", f"unknown column {name!r}; use {', '.join(FILE_COLUMNS)}",
                allowed=", ".join(FILE_COLUMNS))
    records, first_row = [], {}
    for position, cell in enumerate(cells.itertuples(index=False)):
        row = position + 2
        if not any(cell):
            continue  # blank lines at the end of spreadsheets
        ok = True
        sample_id = cell.sample_id
        if not sample_id or len(sample_id) > _MAX_ID:
            problem(row, "sample_id", sample_id, "bad_id", "the sample id is empty or longer than 100 characters")
            ok = False
        elif sample_id in first_row:
            problem(row, "sample_id", sample_id, "duplicate_id",
                    f"sample id {sample_id!r} is given twice (also in row {first_row[sample_id]})",
                    first=first_row[sample_id])
            ok = False
        else:
            first_row[sample_id] = row
        if cell.category not in allowed:
            problem(row, "category", cell.category, "unknown_category",
                    f"category {cell.category!r} is not an inspection category; use one of {', '.join(allowed)}",
                    allowed=", ".join(allowed))
            ok = False
        district = districts.get(cell.district.casefold())
        if district is None:
            problem(row, "district", cell.district, "unknown_district",
                    f"district {cell.district!r} is not a Nantong district code or name")
            ok = False
        try:
            sampled_on = date.fromisoformat(cell.date[:10]) if cell.date else None
        except ValueError:
            sampled_on = None
        if sampled_on is None:
            problem(row, "date", cell.date, "bad_date", f"date {cell.date!r} is not a date like 2026-03-02")
            ok = False
        result = cell.result.casefold()
        if result not in _PASS | _FAIL:
            problem(row, "result", cell.result, "bad_result", f"result {cell.result!r} is neither pass nor fail")
            ok = False
        weight = math.nan
        if cell.weight and cell.selection_probability:
            problem(row, "weight", cell.weight, "weight_and_probability",
                    "give the weight or the selection probability, not both")
            ok = False
        elif cell.weight:
            weight = _number(cell.weight)
            if not (math.isfinite(weight) and weight > 0):
                problem(row, "weight", cell.weight, "bad_weight", f"weight {cell.weight!r} is not a positive number")
                ok = False
        elif cell.selection_probability:
            probability = _number(cell.selection_probability)
            if not (math.isfinite(probability) and 0 < probability <= 1):
                problem(row, "selection_probability", cell.selection_probability, "bad_probability",
                        f"selection probability {cell.selection_probability!r} is not in (0, 1]")
                ok = False
            else:
                weight = 1 / probability
        for name in ("failed_item", "stratum"):
            if len(getattr(cell, name)) > _MAX_TEXT:
                problem(row, name, getattr(cell, name)[:40] + "…", "too_long",
                        f"{name} is longer than 500 characters")
                ok = False
        if ok:
            records.append({"row": row, "sample_id": sample_id, "category": cell.category, "district": district,
                            "sampled_on": sampled_on, "passed": result in _PASS,
                            "failed_item": cell.failed_item or None, "stratum": cell.stratum or None,
                            "weight": weight})
    frame = pd.DataFrame(records, columns=["row", "sample_id", "category", "district", "sampled_on", "passed",
                                           "failed_item", "stratum", "weight"])
    # a category's pass rate is either a simple random sample or a design: all or none weighted
    for category, group in frame.groupby("category", sort=False):
        weighted = group["weight"].notna()
        if weighted.any() and not weighted.all():
            bad = group.loc[~weighted, "row"].iloc[0]
            problem(int(bad), "weight", "", "mixed_weights",
                    f"category {category!r} has weights in some rows and not in others; give every row its weight",
                    category=category)
    if not problems and frame.empty:
        problem(2, "", "", "no_rows", "the file has no data rows")
    if problems:
        report = pd.DataFrame(problems, columns=list(PROBLEM_COLUMNS)).sort_values("row", kind="stable")
        report = report.reset_index(drop=True)
        raise InspectionRejectedError(
            f"file {filename!r} has {len(report)} problem(s) in {report['row'].nunique()} row(s); nothing was "
            "stored:\n  " + "\n  ".join(report["problem"].head(20)), report)
    return frame


def _number(text: str) -> float:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return math.nan


# -- storage --------------------------------------------------------------------------------

_metadata = sa.MetaData()
_records = sa.Table(
    "inspection_records",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sample_id", sa.String(_MAX_ID), nullable=False, unique=True),
    sa.Column("category", sa.String(100), nullable=False, index=True),
    sa.Column("district", sa.String(50), nullable=False),
    sa.Column("sampled_on", sa.Date, nullable=False),
    sa.Column("passed", sa.Boolean, nullable=False),
    sa.Column("failed_item", sa.Text, nullable=True),
    sa.Column("stratum", sa.String(_MAX_TEXT), nullable=True),
    sa.Column("weight", sa.Float, nullable=True),
    sa.Column("batch", sa.String(64), nullable=False),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("imported_by", sa.String(200), nullable=False),
    sa.Column("imported_at", UTCDateTime, nullable=False),
)
#: Columns of :meth:`InspectionStore.records`.
RECORD_COLUMNS = ("sample_id", "category", "district", "sampled_on", "passed", "failed_item", "stratum", "weight",
                  "batch", "filename", "imported_by", "imported_at")


class InspectionStore(StoreTables):
    """Inspection records in the response database (table ``inspection_records``).

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL; default as :class:`~survey_app.store.ResponseStore`.
    """

    _metadata = _metadata
    _what = "the inspection records table in"

    def add(self, records: pd.DataFrame, *, filename: str, actor: str, sha256: str) -> str:
        """Store checked records (from :func:`read_inspections`) in one transaction; return the batch id.

        Raises
        ------
        InspectionRejectedError
            A sample id is already stored (nothing is stored).
        """
        batch = sha256[:16] + datetime.now(timezone.utc).strftime("%y%m%d%H%M%S")
        now = datetime.now(timezone.utc)
        with self._transaction(write=True) as conn:
            ids = list(records["sample_id"])
            stored = set()
            for start in range(0, len(ids), 500):
                stored.update(conn.execute(sa.select(_records.c.sample_id)
                                           .where(_records.c.sample_id.in_(ids[start:start + 500]))).scalars())
            if stored:
                rows = [(int(row), "sample_id", sid, "already_stored",
                         f"row {row}: sample id {sid!r} is already stored", {})
                        for row, sid in zip(records["row"], ids) if sid in stored]
                report = pd.DataFrame(rows, columns=list(PROBLEM_COLUMNS))
                raise InspectionRejectedError(
                    f"{len(rows)} sample id(s) of {filename!r} are already stored; nothing was stored", report)
            conn.execute(_records.insert(), [
                {"sample_id": r.sample_id, "category": r.category, "district": r.district,
                 "sampled_on": r.sampled_on, "passed": bool(r.passed), "failed_item": r.failed_item,
                 "stratum": r.stratum, "weight": None if pd.isna(r.weight) else float(r.weight), "batch": batch,
                 "filename": filename[:255], "imported_by": actor[:200], "imported_at": now}
                for r in records.itertuples(index=False)])
        return batch

    def records(self, *, category: str | None = None) -> pd.DataFrame:
        """The stored records (:data:`RECORD_COLUMNS`), oldest sample first."""
        query = sa.select(*(_records.c[name] for name in RECORD_COLUMNS)).order_by(_records.c.sampled_on,
                                                                                   _records.c.id)
        if category is not None:
            query = query.where(_records.c.category == category)
        with self._transaction(write=False) as conn:
            rows = conn.execute(query).all()
        frame = pd.DataFrame(rows, columns=list(RECORD_COLUMNS))
        frame["weight"] = frame["weight"].astype(float)
        frame["passed"] = frame["passed"].astype(bool)
        return frame


def import_inspections(store: InspectionStore, data: bytes, filename: str, *, actor: str,
                       categories: Sequence[str] | None = None) -> InspectionImport:
    """Check an inspection file and store all its rows, or none; audit the import.

    Raises
    ------
    InspectionRejectedError
        A problem in any row, or a sample id already stored: nothing is stored.
    InspectionError
        The file cannot be read.
    """
    from survey_app.auth import audit  # the one audit log (auth imports streamlit: only when storing)

    records = read_inspections(data, filename, categories=categories)
    digest = hashlib.sha256(data).hexdigest()
    batch = store.add(records, filename=filename, actor=actor, sha256=digest)
    counts = {str(k): int(v) for k, v in records["category"].value_counts(sort=False).items()}
    audit(actor, "import_inspections", filename, {"stored": len(records), "sha256": digest, "batch": batch,
                                                  "categories": counts}, url=store.url)
    return InspectionImport(stored=len(records), filename=filename, sha256=digest, batch=batch, categories=counts)


# -- pass rates -----------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class InspectionPassRates:
    """Pass rates of every inspection target, overall and by one breakdown.

    ``to_frame()``: one row per target and domain, columns ``target, category, domain`` and
    :data:`analysis.passrates.PASS_RATE_COLUMNS`; a target without records has one row with
    ``verdict`` "no data". ``by`` is ``None``, ``"district"`` or ``"period"``.
    """

    by: str | None
    period: str
    level: float
    _table: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        return self._table.copy()

    def summary(self) -> str:
        lines = [f"Inspection pass rates, {format_percent(self.level, decimals=0)} intervals"
                 + (f", by {self.by}" if self.by else "")]
        for row in self._table.itertuples(index=False):
            if row.verdict == "no data":
                lines.append(f"  {row.target}: no inspection records yet")
                continue
            further = (f", {row.further_samples:,} more samples would settle it if the rate held"
                       if row.verdict == "inconclusive" and pd.notna(row.further_samples) else "")
            lines.append(f"  {row.target} [{row.domain}]: {format_percent(row.estimate, decimals=2)} "
                         f"[{format_percent(row.ci_low, decimals=2)}, {format_percent(row.ci_high, decimals=2)}]"
                         f" {row.failed}/{row.n} failed ({row.method}); >= "
                         f"{format_percent(row.threshold, decimals=0)}: {row.verdict}{further}")
        return "\n".join(lines)


def inspection_pass_rates(records: pd.DataFrame, *, targets: Sequence[PlanTarget] | None = None,
                          by: Literal["district", "period"] | None = None, period: Period = "year",
                          level: float = 0.95) -> InspectionPassRates:
    """The pass rate of every inspection target from the records of its category.

    Parameters
    ----------
    records : pandas.DataFrame
        :meth:`InspectionStore.records` (or :func:`read_inspections`).
    targets : sequence of PlanTarget, optional
        Default :func:`analysis.targets.load_plan_targets`; only the inspection ones are used.
    by : {"district", "period"}, optional
        A breakdown beside the overall row.
    period : {"year", "quarter", "month"}, default "year"
        The period of ``by="period"``: ``2026``, ``2026Q1``, ``2026-03``.
    level : float, default 0.95

    Examples
    --------
    >>> inspection_pass_rates(store.records(), by="period", period="quarter").to_frame()  # doctest: +SKIP
    >>> # In R: binom.test(passed, n); svyciprop(~passed, des, method = "beta") for a design
    """
    if by not in (None, "district", "period"):
        raise InspectionError(f"by={by!r}; use None, 'district' or 'period'", detail=f"by={by!r}")
    if period not in PERIODS:
        raise InspectionError(f"period={period!r}; use one of {', '.join(PERIODS)}", detail=f"period={period!r}")
    targets = [t for t in (load_plan_targets() if targets is None else targets) if t.source == "inspection"]
    data = records.assign(_passed=records["passed"].astype(bool).astype(int))
    if by == "period":
        dates = pd.to_datetime(data["sampled_on"])
        data["period"] = {"year": dates.dt.strftime("%Y"), "month": dates.dt.strftime("%Y-%m"),
                          "quarter": dates.dt.year.astype(str) + "Q" + dates.dt.quarter.astype(str)}[period] \
            if len(data) else pd.Series(dtype=str)
    parts = []
    for target in targets:
        rows = data[data["category"] == target.category]
        if rows.empty:
            empty = {c: np.nan for c in PASS_RATE_COLUMNS}
            empty.update(n=0, passed=0, failed=0, threshold=target.threshold, verdict="no data", method=None)
            parts.append({"target": target.id, "category": target.category, "domain": "all", **empty})
            continue
        design = {}
        if rows["weight"].notna().all():
            design["weights"] = "weight"
        if rows["stratum"].notna().all() and rows["stratum"].nunique() > 1:
            design["strata"] = "stratum"
        rates = pass_rates(rows.reset_index(drop=True), "_passed", by=by, threshold=target.threshold,
                           level=level, **design).to_frame()
        for domain, row in zip(rates.index.astype(str), rates.to_dict("records")):
            parts.append({"target": target.id, "category": target.category, "domain": domain, **row})
    columns = ["target", "category", "domain", *PASS_RATE_COLUMNS]
    table = pd.DataFrame(parts, columns=columns)
    table["further_samples"] = table["further_samples"].astype("Int64")
    return InspectionPassRates(by=by, period=period, level=level, _table=table)
