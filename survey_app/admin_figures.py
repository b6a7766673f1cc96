"""Administrative figures: the values of the plan's register targets, entered by hand.

A register target (``source: register`` in ``questionnaires/targets.yaml``) has no sample: its
value comes from a register or a count (participating businesses, model units). Each entry
gives the numerator and denominator (``measure: rate`` or ``ratio``) or the count
(``measure: count``), the as-of date, the source document and who entered it. Entries are never
changed or deleted: a new entry supersedes the previous one (the latest entered is the current
value) and the history is kept (:meth:`FiguresStore.history`); every entry is written to the
audit log (action ``set_figure``). The verdict is met / not met without an interval
(:func:`analysis.targets.entered_verdict`).

Examples
--------
>>> figures = FiguresStore(store.url)                                              # doctest: +SKIP
>>> set_figure(figures, "bank_participation_rate", numerator=41, denominator=60,
...            as_of=date(2026, 6, 30), source="市金融办 2026年6月统计表", actor="admin")  # doctest: +SKIP
>>> figures.latest()["bank_participation_rate"].value                             # doctest: +SKIP
0.6833333333333333
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa

from analysis.targets import PlanTarget, entered_verdict, load_plan_targets
from survey_app.errors import SurveyAppError
from survey_app.store import StoreTables, UTCDateTime

__all__ = ["AdminFigure", "FigureError", "FiguresStore", "FIGURE_COLUMNS", "register_targets", "set_figure"]

_MAX_SOURCE = 500
# "In the future" is judged on Nantong's calendar (a figure as of today is entered after midnight there).
LOCAL_TIME = ZoneInfo("Asia/Shanghai")


class FigureError(SurveyAppError, ValueError):
    """An administrative figure that cannot be stored; the message names the field and the fix.

    ``key`` and ``params`` name the text of the ``inspections`` namespace that says the same in
    the interface language.
    """

    def __init__(self, message: str, *, key: str = "inspections.figure_other", **params: Any) -> None:
        super().__init__(message)
        self.key = key
        self.params = params or {"detail": message}


@dataclass(frozen=True)
class AdminFigure:
    """One entry of an administrative figure.

    Attributes
    ----------
    target_id : str
    value : float
        ``numerator / denominator`` for a rate or ratio, the count for a count.
    numerator, denominator, count : float or None
        As entered.
    as_of : date
        The date the figure describes.
    source : str
        The document it is taken from.
    entered_by : str
    entered_at : datetime
        When it was entered (UTC).
    id : int
    """

    target_id: str
    value: float
    numerator: float | None
    denominator: float | None
    count: float | None
    as_of: date
    source: str
    entered_by: str
    entered_at: datetime
    id: int

    def verdict(self, target: PlanTarget) -> str:
        """Met or not met against ``target`` (no interval: not a sample)."""
        return entered_verdict(self.value, threshold=target.threshold, direction=target.direction)


#: Columns of :meth:`FiguresStore.history`.
FIGURE_COLUMNS = ("id", "target_id", "value", "numerator", "denominator", "count", "as_of", "source", "entered_by",
                  "entered_at")

_metadata = sa.MetaData()
_figures = sa.Table(
    "admin_figures",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("target_id", sa.String(100), nullable=False, index=True),
    sa.Column("numerator", sa.Float, nullable=True),
    sa.Column("denominator", sa.Float, nullable=True),
    sa.Column("count", sa.Float, nullable=True),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("entered_by", sa.String(200), nullable=False),
    sa.Column("entered_at", UTCDateTime, nullable=False),
)


def register_targets(targets: Sequence[PlanTarget] | None = None) -> dict[str, PlanTarget]:
    """The register targets by id (those whose value is entered)."""
    targets = load_plan_targets() if targets is None else targets
    return {t.id: t for t in targets if t.source == "register"}


class FiguresStore(StoreTables):
    """Administrative figures in the response database (table ``admin_figures``), with history.

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL; default as :class:`~survey_app.store.ResponseStore`.
    """

    _metadata = _metadata
    _what = "the administrative figures table in"

    def add(self, target_id: str, *, numerator: float | None, denominator: float | None, count: float | None,
            as_of: date, source: str, actor: str) -> AdminFigure:
        """Append one checked entry (use :func:`set_figure`, which checks and audits it)."""
        now = datetime.now(timezone.utc)
        with self._transaction(write=True) as conn:
            new_id = conn.execute(_figures.insert().values(
                target_id=target_id, numerator=numerator, denominator=denominator, count=count, as_of=as_of,
                source=source, entered_by=actor, entered_at=now)).inserted_primary_key[0]
        return self.get(new_id)

    def get(self, figure_id: int) -> AdminFigure:
        with self._transaction(write=False) as conn:
            row = conn.execute(sa.select(_figures).where(_figures.c.id == figure_id)).one_or_none()
        if row is None:
            raise FigureError(f"no administrative figure has id {figure_id!r}")
        return _figure(row)

    def history(self, target_id: str | None = None) -> pd.DataFrame:
        """Every entry (:data:`FIGURE_COLUMNS`), newest first; only ``target_id``'s when given."""
        query = sa.select(_figures).order_by(_figures.c.id.desc())
        if target_id is not None:
            query = query.where(_figures.c.target_id == target_id)
        with self._transaction(write=False) as conn:
            rows = conn.execute(query).all()
        figures = [_figure(row) for row in rows]
        return pd.DataFrame([{name: getattr(f, name) for name in FIGURE_COLUMNS} for f in figures],
                            columns=list(FIGURE_COLUMNS))

    def latest(self) -> dict[str, AdminFigure]:
        """The current value of each target: its latest entry."""
        newest = sa.select(sa.func.max(_figures.c.id)).group_by(_figures.c.target_id)
        with self._transaction(write=False) as conn:
            rows = conn.execute(sa.select(_figures).where(_figures.c.id.in_(newest))).all()
        return {row.target_id: _figure(row) for row in rows}


def _figure(row: sa.Row) -> AdminFigure:
    value = row.count if row.count is not None else row.numerator / row.denominator
    return AdminFigure(target_id=row.target_id, value=float(value), numerator=row.numerator,
                       denominator=row.denominator, count=row.count, as_of=row.as_of, source=row.source,
                       entered_by=row.entered_by, entered_at=row.entered_at, id=row.id)


def _number(name: str, value: Any, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or value < 0 or (positive and value == 0):
        raise FigureError(f"{name} must be a {'positive' if positive else 'non-negative'} number, got {value!r}",
                          key="inspections.figure_bad_number", field=name, value=value)
    return float(value)


def set_figure(store: FiguresStore, target_id: str, *, as_of: date, source: str, actor: str,
               numerator: float | None = None, denominator: float | None = None, count: float | None = None,
               targets: Mapping[str, PlanTarget] | None = None) -> AdminFigure:
    """Check, store and audit a new value of a register target.

    Parameters
    ----------
    store : FiguresStore
    target_id : str
        A register target of the targets file.
    as_of : date
        The date the figure describes (not after today in Nantong).
    source : str
        The document it comes from (e.g. "市金融办 2026年6月统计表").
    actor : str
        Who entered it (a user name, or ``cli:<login>``).
    numerator, denominator : float, optional
        For ``measure: rate`` (numerator at most the denominator) and ``ratio``.
    count : float, optional
        For ``measure: count`` (a whole number).
    targets : mapping, optional
        Register targets by id; default :func:`register_targets`.

    Raises
    ------
    FigureError
        Unknown target, the wrong fields for its measure, a bad number, an empty source, a date in
        the future.
    """
    from survey_app.auth import audit  # the one audit log (auth imports streamlit: only when storing)

    known = register_targets() if targets is None else dict(targets)
    if target_id not in known:
        raise FigureError(f"{target_id!r} is not a register target; use one of {', '.join(known)}",
                          key="inspections.figure_unknown_target", value=target_id)
    target = known[target_id]
    if target.measure == "count":
        if count is None or numerator is not None or denominator is not None:
            raise FigureError(f"{target_id} is a count: give the count only", key="inspections.figure_count_only")
        count = _number("count", count)
        if not count.is_integer():
            raise FigureError(f"count must be a whole number, got {count!r}", key="inspections.figure_bad_number",
                              field="count", value=count)
    else:
        if count is not None or numerator is None or denominator is None:
            raise FigureError(f"{target_id} is a {target.measure}: give the numerator and the denominator",
                              key="inspections.figure_fraction_only")
        numerator, denominator = _number("numerator", numerator), _number("denominator", denominator, positive=True)
        if target.measure == "rate" and numerator > denominator:
            raise FigureError(f"a rate's numerator ({numerator:g}) cannot exceed its denominator ({denominator:g})",
                              key="inspections.figure_numerator_too_large", numerator=numerator,
                              denominator=denominator)
    if not isinstance(as_of, date) or isinstance(as_of, datetime):
        raise FigureError(f"as_of must be a date, got {as_of!r}", key="inspections.figure_bad_date", value=as_of)
    if as_of > datetime.now(LOCAL_TIME).date():
        raise FigureError(f"as_of {as_of.isoformat()} is in the future", key="inspections.figure_bad_date",
                          value=as_of.isoformat())
    source = source.strip() if isinstance(source, str) else ""
    if not source or len(source) > _MAX_SOURCE:
        raise FigureError("name the source document (at most 500 characters)", key="inspections.figure_no_source")
    actor = actor.strip() if isinstance(actor, str) else ""
    if not actor:
        raise FigureError("say who entered the figure", key="inspections.figure_other", detail="actor")
    figure = store.add(target_id, numerator=numerator, denominator=denominator, count=count, as_of=as_of,
                       source=source, actor=actor[:200])
    audit(actor, "set_figure", target_id, {"numerator": numerator, "denominator": denominator, "count": count,
                                           "as_of": as_of.isoformat(), "source": source, "figure_id": figure.id},
          url=store.url)
    return figure
