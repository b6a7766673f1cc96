"""Field assignments: a wave's selected PSUs, stored in the response database.

The planning page saves a selection's assignment list
(:meth:`analysis.sampling.PSUSelection.assignments`) for a survey wave; the interviewing page
offers the listed PSUs as choices, and :func:`with_design_weights` gives every interview of
the wave its design weight and the district's ``fpc`` from the list, so that the plan's
inclusion probabilities become the weights of the analysis without anyone typing them again.

Two tables: ``assignment_lists`` (one row per wave: when, who, seed, frame file) and
``field_assignments`` (one row per PSU of a wave's list). A wave's list is replaced only when
the caller says so (``replace=True``), and never so that stored interviews of the wave fall
outside it; interviews themselves are never changed here.

Examples
--------
>>> selection = select_psus(frame, psus=4, interviews_per_psu=15, seed=2026)  # doctest: +SKIP
>>> AssignmentStore(store.url).save(selection.assignments(), wave="2026", seed=2026,
...                                 frame_name="frame.xlsx", saved_by="S01")     # doctest: +SKIP
>>> weighted = with_design_weights(store.responses_frame("consumer"), url=store.url)  # doctest: +SKIP
>>> # In R: svydesign(ids = ~psu, strata = ~sample_district, weights = ~weight, fpc = ~fpc,
>>> #                 nest = TRUE, data = weighted)
"""
from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from analysis.sampling import ASSIGNMENT_COLUMNS, SamplingError, attach_design_weights
from survey_app.errors import SurveyAppError
from survey_app.field_values import FieldValueError, check_wave, valid_psu, wave_sort_key
from survey_app.store import DatabaseError, StoreTables, UTCDateTime, display_url

__all__ = [
    "WEIGHT_COLUMNS",
    "AssignmentError",
    "AssignmentExistsError",
    "AssignmentList",
    "AssignmentStore",
    "check_assignments",
    "get_assignment_store",
    "with_design_weights",
]

#: Columns :func:`with_design_weights` adds: those of
#: :func:`analysis.sampling.attach_design_weights`, and ``weight`` (the design weight, under the
#: name the reports use).
WEIGHT_COLUMNS: tuple[str, ...] = ("pi_psu", "pi_within", "design_weight", "fpc", "weight")
# The interviews table's limits (survey_app.store), so every listed PSU can be stored on an interview.
_WAVE_LENGTH, _DISTRICT_LENGTH, _PSU_LENGTH = 50, 100, 200
# Interviews that count as done: submitted, whether awaiting review or approved (as the
# store's responses_frame(status="submitted")).
_COUNTED = ("submitted", "approved")
# Interviews that a replaced list must still contain: all but rejected and voided ones.
_KEPT_STATUSES = ("draft", "submitted", "approved")
# A design weight read back from a file may carry rounding; more than this is another plan.
_WEIGHT_RTOL = 1e-6


class AssignmentError(SurveyAppError, ValueError):
    """An assignment list, or interviews matched to one, that cannot be used; the message says
    which rows or interviews and how to fix them."""


class AssignmentExistsError(AssignmentError):
    """The wave already has a stored list and the caller did not ask to replace it."""


@dataclass(frozen=True, eq=False)
class AssignmentList:
    """A wave's stored assignment list.

    Attributes
    ----------
    wave : str
        The survey wave the list is for.
    table : pandas.DataFrame
        One row per PSU: :data:`analysis.sampling.ASSIGNMENT_COLUMNS` (``district, psu,
        psu_name, interviews, pi_psu, pi_within, design_weight, fpc``), in the saved order.
    saved_at : datetime
        When it was saved (aware, UTC).
    saved_by : str or None
        The user who saved it.
    seed : int or None
        The selection's random seed.
    frame_name : str or None
        The sampling frame file it was selected from.
    """

    wave: str
    table: pd.DataFrame
    saved_at: datetime
    saved_by: str | None
    seed: int | None
    frame_name: str | None

    @property
    def psus(self) -> int:
        """Number of PSUs in the list."""
        return len(self.table)

    @property
    def interviews(self) -> int:
        """Interviews to complete over all PSUs."""
        return int(self.table["interviews"].sum())

    def to_frame(self) -> pd.DataFrame:
        """The list with a leading ``wave`` column."""
        return self.table.assign(wave=self.wave).loc[:, ["wave", *ASSIGNMENT_COLUMNS]]

    def summary(self) -> str:
        """Text overview: provenance, then PSUs and interviews per district."""
        who = f" by {self.saved_by}" if self.saved_by else ""
        lines = [
            f"Assignments of wave {self.wave}: {self.psus} PSUs, {self.interviews} interviews; "
            f"saved {self.saved_at.isoformat()}{who}",
            f"  seed {self.seed if self.seed is not None else 'not recorded'}, "
            f"frame {self.frame_name or 'not recorded'}",
        ]
        for district, rows in self.table.groupby("district", sort=False):
            lines.append(
                f"  {district}: {len(rows)} of {int(rows['fpc'].iloc[0])} PSUs, "
                f"{int(rows['interviews'].sum())} interviews"
            )
        return "\n".join(lines)


def check_assignments(assignments: pd.DataFrame) -> pd.DataFrame:
    """Check an assignment list and return it with clean types.

    Parameters
    ----------
    assignments : pandas.DataFrame
        :meth:`analysis.sampling.PSUSelection.assignments`, or the same columns read back from
        its CSV/Excel download.

    Returns
    -------
    pandas.DataFrame
        The :data:`~analysis.sampling.ASSIGNMENT_COLUMNS` only, in that order, with ``district``,
        ``psu`` and ``psu_name`` as text, ``interviews`` and ``fpc`` as int64 and the
        probabilities and weight as float64; a fresh 0-based index.

    Raises
    ------
    AssignmentError
        Naming missing columns, or the rows (by the frame's index labels) with a blank or
        unknown district code, a blank or too long PSU id, a probability outside (0, 1], a
        number of interviews that is not a positive whole number, a design weight other than
        1 / (pi_psu * pi_within), an fpc that is not a whole number at least the district's
        listed PSUs (or differs within a district), or a repeated (district, psu).
    """
    from questionnaires import load_districts

    if not isinstance(assignments, pd.DataFrame):
        raise AssignmentError(f"assignments must be a pandas DataFrame, got {type(assignments).__name__}")
    missing = [c for c in ASSIGNMENT_COLUMNS if c not in assignments.columns]
    if missing:
        raise AssignmentError(
            f"the assignment list has no column {', '.join(map(repr, missing))}; its columns are "
            f"{_some(map(repr, assignments.columns))}. Save PSUSelection.assignments() (or its download)"
        )
    if assignments.empty:
        raise AssignmentError("the assignment list has no rows: select PSUs first")
    rows = list(assignments.index)
    problems: list[str] = []

    def flag(mask: Iterable[bool], what: str, values: pd.Series | None = None) -> None:
        bad = [i for i, flagged in enumerate(mask) if flagged]
        if bad:
            shown = (f"{rows[i]} ({_show(values.iloc[i])})" if values is not None else str(rows[i]) for i in bad)
            problems.append(f"{what} in rows {_some(shown)}")

    district = assignments["district"].map(_text)
    psu = assignments["psu"].map(_text)
    known = {choice.name for choice in load_districts()}
    flag(district.isna(), "blank district")
    flag(district.notna() & ~district.isin(known), f"unknown district code (use one of {', '.join(sorted(known))})",
         assignments["district"])
    flag(psu.isna(), "blank psu")
    flag(psu.str.len() > _PSU_LENGTH, f"psu longer than {_PSU_LENGTH} characters", assignments["psu"])
    # Interviews record the PSU and pages show it: a code, never markup or a formula.
    flag(psu.notna() & ~psu.map(lambda v: v is None or valid_psu(v)),
         "psu not a plain code (letters, digits, spaces and - _ . / · （） only)", assignments["psu"])
    names = assignments["psu_name"].map(_text)
    numbers = {c: pd.to_numeric(assignments[c], errors="coerce").astype(float)
               for c in ("interviews", "pi_psu", "pi_within", "design_weight", "fpc")}
    for column in ("pi_psu", "pi_within"):
        value = numbers[column]
        flag(~((value > 0) & (value <= 1)), f"{column} not a probability in (0, 1]", assignments[column])
    for column in ("interviews", "fpc"):
        value = numbers[column]
        flag(~((value >= 1) & (value == np.floor(value))), f"{column} not a positive whole number",
             assignments[column])
    expected = 1 / (numbers["pi_psu"] * numbers["pi_within"])
    weight = numbers["design_weight"]
    flag(~np.isclose(weight, expected, rtol=_WEIGHT_RTOL, atol=0) & expected.notna(),
         "design_weight is not 1 / (pi_psu * pi_within)", assignments["design_weight"])
    keys = pd.DataFrame({"district": district, "psu": psu})
    repeated = keys.duplicated(keep=False) & district.notna() & psu.notna()
    flag(repeated, "the same (district, psu) listed twice", psu)
    counted = keys.assign(fpc=numbers["fpc"]).dropna()
    for name, group in counted.groupby("district", sort=True):
        if group["fpc"].nunique() > 1:
            problems.append(f"district {name!r} has different fpc values {sorted(group['fpc'].unique().tolist())}: "
                            "fpc is the number of PSUs in the district's frame, one value per district")
        elif len(group) > group["fpc"].iloc[0]:
            problems.append(f"district {name!r} lists {len(group)} PSUs but fpc says its frame has "
                            f"{int(group['fpc'].iloc[0])}")
    if problems:
        raise AssignmentError("the assignment list has problems:\n- " + "\n- ".join(problems))
    return pd.DataFrame(
        {
            "district": district.to_numpy(dtype=object),
            "psu": psu.to_numpy(dtype=object),
            "psu_name": np.where(names.isna(), psu, names).astype(object),
            "interviews": numbers["interviews"].to_numpy().astype(np.int64),
            "pi_psu": numbers["pi_psu"].to_numpy(),
            "pi_within": numbers["pi_within"].to_numpy(),
            "design_weight": weight.to_numpy(),
            "fpc": numbers["fpc"].to_numpy().astype(np.int64),
        }
    )


# -- storage ------------------------------------------------------------------------------

_metadata = sa.MetaData()
_lists = sa.Table(
    "assignment_lists",
    _metadata,
    sa.Column("wave", sa.String(_WAVE_LENGTH), primary_key=True),
    sa.Column("saved_at", UTCDateTime, nullable=False),
    sa.Column("saved_by", sa.String(100), nullable=True),
    sa.Column("seed", sa.BigInteger, nullable=True),
    sa.Column("frame_name", sa.String(255), nullable=True),
)
_rows = sa.Table(
    "field_assignments",
    _metadata,
    sa.Column("wave", sa.String(_WAVE_LENGTH), primary_key=True),
    sa.Column("district", sa.String(_DISTRICT_LENGTH), primary_key=True),
    sa.Column("psu", sa.String(_PSU_LENGTH), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),  # the list's order, as selected
    sa.Column("psu_name", sa.Text, nullable=False),
    sa.Column("interviews", sa.Integer, nullable=False),
    sa.Column("pi_psu", sa.Float, nullable=False),
    sa.Column("pi_within", sa.Float, nullable=False),
    sa.Column("design_weight", sa.Float, nullable=False),
    sa.Column("fpc", sa.Integer, nullable=False),
)


# The store's interviews table (survey_app.store), read here for counts only: no answers are
# parsed, so the start screen stays quick with thousands of interviews.
_interviews = sa.table(
    "interviews",
    *(sa.column(name) for name in ("id", "questionnaire_id", "wave", "district", "psu", "status")),
)


class AssignmentStore(StoreTables):
    """The field assignments of each wave, in the response database.

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL of the response database (SQLite or PostgreSQL; the tables are created
        on first use). Default: as :class:`~survey_app.store.ResponseStore`,
        ``SURVEY_DB_URL`` or ``data/survey.db``. Pass ``store.url`` to use a store's database.

    Examples
    --------
    >>> assignments = AssignmentStore(store.url)                          # doctest: +SKIP
    >>> assignments.save(selection.assignments(), wave="2026", seed=selection.seed)  # doctest: +SKIP
    >>> assignments.get("2026").psus                                      # doctest: +SKIP
    32
    """

    _metadata = _metadata
    _what = "the field assignments tables in"

    def save(
        self,
        assignments: pd.DataFrame,
        *,
        wave: str,
        seed: int | None = None,
        frame_name: str | None = None,
        saved_by: str | None = None,
        replace: bool = False,
    ) -> AssignmentList:
        """Store the assignment list of a wave and return it as stored.

        Parameters
        ----------
        assignments : pandas.DataFrame
            Checked by :func:`check_assignments`.
        wave : str
            The survey wave, as interviews record it (e.g. ``"2026"``).
        seed, frame_name : optional
            The selection's seed and the frame file, so the selection can be reproduced.
        saved_by : str, optional
            The user saving it; recorded with the list and in the audit log.
        replace : bool, default False
            Whether to replace a list the wave already has. Without it, saving over an
            existing list raises :class:`AssignmentExistsError`.

        Raises
        ------
        AssignmentError
            A bad list (see :func:`check_assignments`), or stored interviews of the wave
            (drafts, submitted or approved) in PSUs the new list lacks: they would lose their
            design weight. Correct or void those interviews first, or use another wave.
        AssignmentExistsError
            The wave has a list and ``replace`` is False.
        """
        wave = _label("wave", wave, _WAVE_LENGTH)
        try:
            check_wave(wave)  # interviews take the wave from here: a plain label, never markup
        except FieldValueError as exc:
            raise AssignmentError(str(exc)) from None
        saved_by = None if saved_by is None else _label("saved_by", saved_by, 100)
        if frame_name is not None:
            frame_name = _label("frame_name", frame_name, 255)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
            raise AssignmentError(f"seed must be a non-negative whole number or None, got {seed!r}")
        if not isinstance(replace, bool):
            raise AssignmentError(f"replace must be True or False, got {replace!r}")
        table = check_assignments(assignments)
        self._check_interviews_kept(wave, table)
        now = datetime.now(timezone.utc)
        try:
            with self._transaction(write=True) as conn:
                exists = conn.execute(sa.select(_lists.c.wave).where(_lists.c.wave == wave)).first() is not None
                if exists and not replace:
                    raise AssignmentExistsError(_exists_message(wave))
                conn.execute(_rows.delete().where(_rows.c.wave == wave))
                conn.execute(_lists.delete().where(_lists.c.wave == wave))
                conn.execute(_lists.insert().values(wave=wave, saved_at=now, saved_by=saved_by,
                                                    seed=None if seed is None else int(seed), frame_name=frame_name))
                records = table.assign(wave=wave, position=range(len(table))).to_dict("records")
                conn.execute(_rows.insert(), [_plain(record) for record in records])
        except DatabaseError as exc:
            # Two sessions saving a new list for the same wave at once: the second one's insert
            # meets the first one's row.
            if isinstance(exc.__cause__, sa.exc.IntegrityError) and not replace:
                raise AssignmentExistsError(_exists_message(wave)) from exc
            raise
        if saved_by is not None:
            from survey_app.auth import audit

            audit(saved_by, "replace_assignments" if replace else "save_assignments", f"wave {wave}",
                  {"psus": len(table), "interviews": int(table["interviews"].sum()), "seed": seed,
                   "frame": frame_name}, url=self.url)
        stored = self.get(wave)
        if stored is None:
            raise DatabaseError(f"the assignments of wave {wave!r} were saved but cannot be read back from "
                                f"{display_url(self.url)}; check the database")
        return stored

    def get(self, wave: str) -> AssignmentList | None:
        """The wave's stored list, or None when it has none."""
        wave = _label("wave", wave, _WAVE_LENGTH)
        with self._transaction(write=False) as conn:
            head = conn.execute(sa.select(_lists).where(_lists.c.wave == wave)).one_or_none()
            if head is None:
                return None
            rows = conn.execute(
                sa.select(*(_rows.c[c] for c in ASSIGNMENT_COLUMNS)).where(_rows.c.wave == wave)
                .order_by(_rows.c.position)
            ).all()
        table = pd.DataFrame([tuple(row) for row in rows], columns=list(ASSIGNMENT_COLUMNS))
        table = table.astype({"interviews": "int64", "fpc": "int64", "pi_psu": "float64", "pi_within": "float64",
                              "design_weight": "float64"})
        return AssignmentList(wave=head.wave, table=table, saved_at=head.saved_at, saved_by=head.saved_by,
                              seed=head.seed, frame_name=head.frame_name)

    def waves(self) -> list[str]:
        """The waves that have a stored list, oldest first (:func:`~survey_app.field_values.wave_sort_key`)."""
        with self._transaction(write=False) as conn:
            return sorted(conn.execute(sa.select(_lists.c.wave)).scalars(), key=wave_sort_key)

    def versions(self) -> tuple[tuple[str, str], ...]:
        """``(wave, when its list was saved)`` for every stored list, sorted by wave: one
        cheap query, for cache keys that must change when a list is saved or replaced."""
        with self._transaction(write=False) as conn:
            rows = conn.execute(sa.select(_lists.c.wave, _lists.c.saved_at).order_by(_lists.c.wave)).all()
        return tuple((wave, str(saved_at)) for wave, saved_at in rows)

    def latest_wave(self) -> str | None:
        """The wave whose list was saved last, or None when no wave has one."""
        with self._transaction(write=False) as conn:
            return conn.execute(
                sa.select(_lists.c.wave).order_by(_lists.c.saved_at.desc(), _lists.c.wave.desc()).limit(1)
            ).scalar()

    def progress(self, wave: str, *, questionnaire_id: str | None = None) -> pd.DataFrame | None:
        """The wave's list with ``done``: submitted (or approved) interviews stored for each PSU.

        Parameters
        ----------
        wave : str
        questionnaire_id : str, optional
            Count only this questionnaire's interviews (when several surveys share a list).

        Returns
        -------
        pandas.DataFrame or None
            The list's columns and ``done`` (int64); None when the wave has no list.
        """
        stored = self.get(wave)
        if stored is None:
            return None
        query = (
            sa.select(_interviews.c.district, _interviews.c.psu, sa.func.count().label("n"))
            .where(_interviews.c.wave == stored.wave, _interviews.c.status.in_(_COUNTED))
            .group_by(_interviews.c.district, _interviews.c.psu)
        )
        if questionnaire_id is not None:
            query = query.where(_interviews.c.questionnaire_id == questionnaire_id)
        with self._transaction(write=False) as conn:
            done = {(row.district, row.psu): row.n for row in conn.execute(query)} if _has_interviews(conn) else {}
        table = stored.table.copy()
        table["done"] = np.array([done.get(key, 0) for key in zip(table["district"], table["psu"])], dtype=np.int64)
        return table

    def _check_interviews_kept(self, wave: str, table: pd.DataFrame) -> None:
        query = sa.select(_interviews.c.id, _interviews.c.status, _interviews.c.district, _interviews.c.psu).where(
            _interviews.c.wave == wave, _interviews.c.status.in_(_KEPT_STATUSES)
        ).order_by(_interviews.c.id)
        with self._transaction(write=False) as conn:
            stored = conn.execute(query).all() if _has_interviews(conn) else []
        listed = set(zip(table["district"], table["psu"]))
        outside = [row for row in stored if (row.district, row.psu) not in listed]
        if outside:
            shown = (f"{row.id} ({row.status}, {row.district!r}, {row.psu!r})" for row in outside)
            raise AssignmentError(
                f"{len(outside)} interview(s) of wave {wave!r} are stored in PSUs this list lacks: {_some(shown)}. "
                "They would have no design weight. Keep their PSUs in the list, correct or void those interviews "
                "first, or save the list for another wave"
            )


@functools.lru_cache(maxsize=8)
def get_assignment_store(url: str) -> AssignmentStore:
    """The assignments of the response database at ``url`` (one store per URL and process)."""
    return AssignmentStore(url)


def with_design_weights(responses: pd.DataFrame, *, url: str) -> pd.DataFrame:
    """The interviews with the design weights of their wave's stored assignment list.

    Parameters
    ----------
    responses : pandas.DataFrame
        Interviews as :meth:`~survey_app.store.ResponseStore.responses_frame` gives them:
        columns ``sample_district``, ``psu`` and usually ``wave``.
    url : str
        The response database holding the assignments.

    Returns
    -------
    pandas.DataFrame
        ``responses`` itself when no wave of the interviews has a stored list (or there are
        no interviews). Otherwise a copy (same rows, order and index) with
        :data:`WEIGHT_COLUMNS` added by (wave, sample_district, psu), as
        :func:`analysis.sampling.attach_design_weights` adds them: ``pi_psu``,
        ``pi_within``, ``design_weight``, ``fpc`` (PSUs in the district's frame) and
        ``weight`` (equal to ``design_weight``).

    Raises
    ------
    AssignmentError
        When only some of the interviews' waves have a list, when an interview's
        (sample_district, psu) is not in its wave's list (naming the interviews), when
        ``responses`` has no ``wave`` column and several waves have lists, or when it
        already has one of :data:`WEIGHT_COLUMNS`. A design in which some interviews lack
        their weight would be wrong, so there is no partial result.

    Examples
    --------
    R equivalent: ``merge(responses, assignments, by = c("wave", "sample_district", "psu"))``,
    then ``svydesign(ids = ~psu, strata = ~sample_district, weights = ~weight, fpc = ~fpc,
    nest = TRUE)``.
    """
    if not isinstance(responses, pd.DataFrame):
        raise AssignmentError(f"responses must be a pandas DataFrame, got {type(responses).__name__}")
    lacking = [c for c in ("sample_district", "psu") if c not in responses.columns]
    if lacking:
        raise AssignmentError(f"responses has no column {', '.join(map(repr, lacking))}; pass "
                              "ResponseStore.responses_frame()")
    if responses.empty:
        return responses
    store = get_assignment_store(url)
    if "wave" in responses.columns:
        waves = responses["wave"].astype(str).to_numpy()
        lists = {wave: store.get(wave) for wave in sorted(set(waves))}
        if all(found is None for found in lists.values()):
            return responses
        without = [wave for wave, found in lists.items() if found is None]
        if without:
            with_list = [wave for wave, found in lists.items() if found is not None]
            raise AssignmentError(
                f"waves {', '.join(map(repr, with_list))} have stored assignments but waves "
                f"{', '.join(map(repr, without))} have none, so their interviews have no design weight; "
                "analyse one wave at a time or save the assignments of those waves"
            )
    else:
        stored_waves = store.waves()
        if not stored_waves:
            return responses
        if len(stored_waves) > 1:
            raise AssignmentError(
                f"responses has no 'wave' column and waves {', '.join(map(repr, stored_waves))} have stored "
                "assignments; pass the interviews with their wave column"
            )
        waves = np.full(len(responses), stored_waves[0], dtype=object)
        lists = {stored_waves[0]: store.get(stored_waves[0])}
    clash = [c for c in WEIGHT_COLUMNS if c in responses.columns]
    if clash:
        raise AssignmentError(f"responses already has column {', '.join(map(repr, clash))}; drop it first so "
                              "the weights of the plan are not mixed with others")

    ids = responses["interview_id"] if "interview_id" in responses.columns else pd.Series(responses.index)
    unmatched: list[str] = []
    added = {c: np.empty(len(responses), dtype=np.int64 if c == "fpc" else float) for c in WEIGHT_COLUMNS[:-1]}
    for wave, stored in lists.items():
        positions = np.flatnonzero(waves == wave)
        part = responses.iloc[positions]
        listed = set(zip(stored.table["district"], stored.table["psu"]))
        keys = list(zip(part["sample_district"].astype(str), part["psu"].astype(str)))
        unmatched += [f"{ids.iloc[p]} ({wave!r}, {d!r}, {s!r})"
                      for p, (d, s) in zip(positions, keys) if (d, s) not in listed]
        if unmatched:
            continue
        try:
            weighted = attach_design_weights(part, stored.table, district="sample_district", psu="psu")
        except SamplingError as exc:  # checked above; kept so a library change cannot pass silently
            raise AssignmentError(str(exc)) from exc
        for column in added:
            added[column][positions] = weighted[column].to_numpy()
    if unmatched:
        raise AssignmentError(
            f"{len(unmatched)} interview(s) name a PSU that is not in their wave's assignment list "
            f"(interview (wave, district, psu)): {_some(unmatched)}. Correct their PSU, void them, or "
            "add the PSUs to the list"
        )
    out = responses.copy()
    for column, values in added.items():
        out[column] = values
    out["weight"] = out["design_weight"]
    return out


# -- helpers ------------------------------------------------------------------------------


def _has_interviews(conn: sa.Connection) -> bool:
    """Whether the database has the store's interviews table (not before a ResponseStore opened it)."""
    return sa.inspect(conn).has_table("interviews")


def _exists_message(wave: str) -> str:
    return (f"wave {wave!r} already has a stored assignment list; pass replace=True to replace it "
            "(stored interviews are kept)")


def _label(name: str, value: Any, max_length: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise AssignmentError(f"{name} must be a non-empty string, got {value!r}")
    value = value.strip()
    if len(value) > max_length:
        raise AssignmentError(f"{name} {value[:20]!r}... is {len(value)} characters; at most {max_length} fit")
    return value


def _text(value: object) -> str | None:
    """A cell as stripped text; None when empty. Whole numbers read as floats lose their ``.0``."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    """numpy scalars -> Python values, which every database driver accepts."""
    return {k: v.item() if isinstance(v, np.generic) else v for k, v in record.items()}


def _show(value: object) -> str:
    return repr(value) if isinstance(value, str) else ("empty" if _text(value) is None else str(value))


def _some(items: Iterable[object], limit: int = 10) -> str:
    items = list(items)
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")

