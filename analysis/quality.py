"""Interview quality control: flags per interview, indicators and an anomaly score per interviewer.

Pure statistics over a responses table with one row per interview (``interview_id``,
``interviewer``, the sampled district, ``psu``, ``started_at``, ``submitted_at`` and the
answer columns, as ``ResponseStore.responses_frame`` gives it).

:func:`flag_interviews` flags each interview, with the reason in words:

``too_fast``
    duration (end - start) below ``speed_ratio`` times the median duration;
``straightlining``
    the same answer to every answered item of a grid of rating questions, with at
    least ``min_grid_items`` answered;
``item_nonresponse``
    the share of asked questions left unanswered is above ``nonresponse_threshold``;
``near_duplicate``
    another interview gives the same answer to at least ``duplicate_share`` of the
    questions either of them answered (Kuriakose & Robbins' "maximum percent match");
``outside_psu``
    the interview's (district, PSU) -- and interviewer, when the assignments name
    one -- is not among the assignments.

:func:`review_interviewers` summarises the flags per interviewer, compares each
interviewer's answer distributions with those of the other interviewers in the same
district, and scores the indicator profile with a seeded isolation forest
(scikit-learn), naming the two indicators that stand out most (robust z-scores). The
score orders interviewers for a supervisor to look at; it is never a reason to reject
interviews by itself.

Examples
--------
>>> flags = flag_interviews(df, answer_columns, grids={"aspects": rating_items})  # doctest: +SKIP
>>> review = review_interviewers(df, flags, distribution_columns=["overall_satisfaction"])  # doctest: +SKIP
>>> print(review.summary())                                                       # doctest: +SKIP
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

from .errors import SurveyError, VariableError

__all__ = ["FLAGS", "FlagName", "InterviewFlags", "InterviewerReview", "flag_interviews", "review_interviewers"]

FlagName = Literal["too_fast", "straightlining", "item_nonresponse", "near_duplicate", "outside_psu"]
FLAGS: tuple[str, ...] = get_args(FlagName)
# MAD -> standard deviation under normality; mean absolute deviation -> standard deviation.
_MAD_SCALE = 1.4826
_MEAN_AD_SCALE = 1.2533
# Rows of the pairwise comparison computed at once, to bound memory (block x interviews).
_BLOCK_CELLS = 2_000_000


@dataclass(frozen=True, eq=False)
class InterviewFlags:
    """Quality flags for every interview.

    Attributes
    ----------
    median_duration : float
        Median interview duration in seconds (NaN if no interview has both times).
    parameters : Mapping[str, Any]
        The thresholds used.
    checked : tuple of str
        The flags that were evaluated (``outside_psu`` needs assignments).
    """

    median_duration: float
    parameters: Mapping[str, Any]
    checked: tuple[str, ...]
    _table: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per interview, in the order of the responses.

        Columns: ``interview_id, interviewer, district, psu, duration, too_fast,
        straightlining, straightlined_grids, item_nonresponse_share, item_nonresponse,
        duplicate_share, duplicate_of, near_duplicate, outside_psu, n_flags, reasons``
        (``duration`` in seconds, ``reasons`` one text per flag, joined with ``'; '``).
        """
        return self._table.copy()

    def flagged(self) -> pd.DataFrame:
        """The interviews with at least one flag, most flags first."""
        table = self._table[self._table["n_flags"] > 0]
        return table.sort_values("n_flags", ascending=False, kind="stable").copy()

    def summary(self) -> str:
        """Counts per flag and the flagged interviews with their reasons (text)."""
        n = len(self._table)
        lines = [f"Quality flags for {n} interviews (median duration {self.median_duration:.0f} s)"]
        for name in FLAGS:
            if name in self.checked:
                count = int(self._table[name].sum())
                lines.append(f"  {name}: {count} ({count / n:.1%})" if n else f"  {name}: 0")
            else:
                lines.append(f"  {name}: not checked (no assignments given)")
        flagged = self.flagged()
        if len(flagged):
            lines.append("Flagged interviews (for review, not automatic rejection):")
            lines += [f"  {row.interview_id} ({row.interviewer}): {row.reasons}"
                      for row in flagged.itertuples(index=False)]
        return "\n".join(lines)


@dataclass(frozen=True, eq=False)
class InterviewerReview:
    """Indicators and an anomaly score per interviewer, for a supervisor to review.

    Attributes
    ----------
    features : tuple of str
        The indicator columns the isolation forest used.
    seed : int
        The isolation forest's random seed.
    notes : tuple of str
        Remarks (e.g. too few interviewers to score).
    """

    features: tuple[str, ...]
    seed: int
    notes: tuple[str, ...]
    _table: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per interviewer (index), highest anomaly score first.

        Columns: ``n_interviews``, ``median_duration`` (s), ``share_<flag>`` for each
        flag, ``share_flagged``, ``distribution_difference_<column>`` for each
        distribution column, ``anomaly_score`` (0-1, about 0.5 is ordinary, near 1
        isolated quickly), ``z_<feature>`` robust z-scores, and ``drivers`` naming the
        (at most) two features with the largest absolute z-score.
        """
        return self._table.copy()

    def summary(self, top: int = 5) -> str:
        """The ``top`` interviewers by anomaly score with what drove it (text)."""
        table = self._table
        lines = [f"Interviewer review: {len(table)} interviewers, features: {', '.join(self.features)}",
                 "Scores order interviewers for a supervisor's review; they are not a reason to reject "
                 "interviews by themselves."]
        for name, row in table.head(top).iterrows():
            score = "n/a" if np.isnan(row["anomaly_score"]) else f"{row['anomaly_score']:.3f}"
            lines.append(f"  {name}: score {score}, {int(row['n_interviews'])} interviews, "
                         f"{row['share_flagged']:.0%} flagged; stands out on: {row['drivers'] or 'nothing'}")
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)


# ---------------------------------------------------------------------------
# Checks of the arguments


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], argument: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise VariableError(f"column(s) {missing} not found in the responses", argument=argument, value=missing,
                            fix=f"choose among: {', '.join(map(str, frame.columns[:30]))}")


def _fraction(name: str, value: float, *, low: float = 0.0, high: float = 1.0, closed_high: bool = True) -> float:
    ok = isinstance(value, (int, float, np.floating)) and not isinstance(value, bool) and (
        low < value <= high if closed_high else low < value < high)
    if not ok:
        bracket = "]" if closed_high else ")"
        raise SurveyError(f"must be a number in ({low}, {high}{bracket}", argument=name, value=value,
                          fix=f"e.g. {name}={(low + high) / 2:g}")
    return float(value)


def _count(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise SurveyError(f"must be an integer >= {minimum}", argument=name, value=value, fix=f"e.g. {name}={minimum}")
    return int(value)


def _answered(frame: pd.DataFrame) -> pd.DataFrame:
    """Whether each cell holds an answer: not missing and not blank text."""
    answered = frame.notna()
    for name in frame.columns:
        column = frame[name]
        if column.dtype == object or pd.api.types.is_string_dtype(column):
            answered[name] &= ~column.map(lambda v: isinstance(v, str) and not v.strip()).astype(bool)
    return answered


# ---------------------------------------------------------------------------
# Flags per interview


def flag_interviews(
    responses: pd.DataFrame,
    answer_columns: Sequence[str],
    *,
    id_column: str = "interview_id",
    interviewer_column: str = "interviewer",
    district_column: str = "sample_district",
    psu_column: str = "psu",
    start_column: str = "started_at",
    end_column: str = "submitted_at",
    speed_ratio: float = 1 / 3,
    grids: Mapping[str, Sequence[str]] | None = None,
    min_grid_items: int = 4,
    asked: pd.DataFrame | None = None,
    nonresponse_threshold: float = 0.3,
    duplicate_share: float = 0.95,
    min_duplicate_items: int = 10,
    assignments: pd.DataFrame | None = None,
) -> InterviewFlags:
    """Flag interviews that a supervisor should look at, each flag with its reason.

    Parameters
    ----------
    responses : pandas.DataFrame
        One row per interview.
    answer_columns : sequence of str
        The answer columns compared for item non-response and near-duplicates
        (e.g. every question but the free-text ones).
    id_column, interviewer_column, district_column, psu_column : str
        Metadata columns; ids must be unique. ``district_column`` is the sampled
        district (``sample_district`` in ``ResponseStore.responses_frame``).
    start_column, end_column : str
        Start and end times (datetimes or ISO text); the duration is their difference.
    speed_ratio : float, default 1/3
        ``too_fast`` when the duration is below ``speed_ratio`` x the median duration.
    grids : Mapping[str, sequence of str], optional
        Grids of rating questions by name, e.g. the satisfaction items of one
        screen sharing a choice list. No grid, no ``straightlining`` flag.
    min_grid_items : int, default 4
        ``straightlining`` needs at least this many answered items of the grid, all equal.
    asked : pandas.DataFrame, optional
        Booleans, same index as ``responses``, a column per answer column: ``True``
        where skip logic asked the question (``questionnaires.answers.asked_frame``).
        Default: every answer column counts as asked.
    nonresponse_threshold : float, default 0.3
        ``item_nonresponse`` when the share of asked questions left unanswered is above this.
    duplicate_share : float, default 0.95
        ``near_duplicate`` when another interview gives the same answer to at least
        this share of the questions either of them answered.
    min_duplicate_items : int, default 10
        Pairs with fewer questions answered by either are not compared (two refusals
        that both answered only the consent question are not duplicates).
    assignments : pandas.DataFrame, optional
        Columns ``district``, ``psu`` and optionally ``interviewer``: where (and by
        whom) interviews are planned, e.g. ``Selection.assignments()``. Without it,
        ``outside_psu`` is not checked.

    Returns
    -------
    InterviewFlags

    Raises
    ------
    VariableError
        A named column is missing, ids are not unique, ``asked`` does not match.
    SurveyError
        A threshold is out of range or a grid is too small.

    Notes
    -----
    Near-duplicates are found without a Python loop over pairs: identical answer
    patterns are grouped by hashing first, then the distinct patterns are compared
    with one-hot matrix products in blocks (O(n^2) arithmetic, vectorised).
    """
    if not isinstance(responses, pd.DataFrame):
        raise VariableError("must be a pandas DataFrame", argument="responses", value=type(responses).__name__)
    answer_columns = list(answer_columns)
    if not answer_columns:
        raise VariableError("is empty", argument="answer_columns", fix="list the question columns to check")
    meta = [id_column, interviewer_column, district_column, psu_column, start_column, end_column]
    _require_columns(responses, meta, "responses")
    _require_columns(responses, answer_columns, "answer_columns")
    ids = responses[id_column]
    if ids.isna().any() or ids.duplicated().any():
        raise VariableError("ids must be present and unique", argument="id_column",
                            value=ids[ids.duplicated() | ids.isna()].head(3).tolist(),
                            fix="pass one row per interview")
    speed_ratio = _fraction("speed_ratio", speed_ratio)
    nonresponse_threshold = _fraction("nonresponse_threshold", nonresponse_threshold, high=1.0,
                                      closed_high=False)
    duplicate_share = _fraction("duplicate_share", duplicate_share)
    min_grid_items = _count("min_grid_items", min_grid_items, 2)
    min_duplicate_items = _count("min_duplicate_items", min_duplicate_items, 1)
    if len(answer_columns) < min_duplicate_items:
        raise SurveyError(f"only {len(answer_columns)} answer columns, fewer than min_duplicate_items",
                          argument="min_duplicate_items", value=min_duplicate_items,
                          fix=f"use min_duplicate_items <= {len(answer_columns)}")
    grids = dict(grids or {})
    for name, items in grids.items():
        items = list(items)
        _require_columns(responses, items, f"grids[{name!r}]")
        if len(items) < min_grid_items:
            raise SurveyError(f"grid {name!r} has {len(items)} items, fewer than min_grid_items, so it could never "
                              "be flagged", argument="grids", value=items, fix="lower min_grid_items or add items")
        grids[name] = items

    table = pd.DataFrame({
        "interview_id": ids.to_numpy(),
        "interviewer": responses[interviewer_column].to_numpy(),
        "district": responses[district_column].to_numpy(),
        "psu": responses[psu_column].to_numpy(),
    })
    used = list(dict.fromkeys([*answer_columns, *(item for items in grids.values() for item in items)]))
    raw = responses[used].reset_index(drop=True)
    # answers as comparable text, None where unanswered: computed once for every check
    keys = _keys(raw.where(_answered(raw)))
    answered = keys[answer_columns].notna()
    reasons: list[list[str]] = [[] for _ in range(len(table))]

    def note(mask: np.ndarray, texts: Sequence[str]) -> None:
        for index in np.flatnonzero(mask):
            reasons[index].append(texts[index])

    # too fast
    start = _times(responses[start_column])
    end = _times(responses[end_column])
    duration = (end - start).dt.total_seconds().to_numpy(dtype=float)
    median = float(np.nanmedian(duration)) if np.isfinite(duration).any() else float("nan")
    limit = speed_ratio * median
    too_fast = np.isfinite(duration) & (duration < limit)
    table["duration"] = duration
    table["too_fast"] = too_fast
    note(too_fast, [f"ends before it starts ({d:.0f} s)" if d < 0 else
                    f"too fast: {d:.0f} s, under {speed_ratio:.2g} x the median {median:.0f} s" for d in duration])

    # straight-lining
    straight = np.zeros(len(table), dtype=bool)
    which: list[list[str]] = [[] for _ in range(len(table))]
    for name, items in grids.items():
        given = keys[items].notna().to_numpy()
        # one code space for the whole grid, so equal answers get equal codes in every column
        codes, uniques = pd.factorize(keys[items].to_numpy().ravel())
        codes = codes.reshape(given.shape)
        low = np.where(given, codes, np.iinfo(np.int64).max).min(axis=1)
        high = np.where(given, codes, -1).max(axis=1)
        n_answered = given.sum(axis=1)
        hit = (low == high) & (n_answered >= min_grid_items)
        straight |= hit
        for index in np.flatnonzero(hit):
            which[index].append(name)
            reasons[index].append(
                f"straight-lining: {n_answered[index]} items of grid {name!r} all {uniques[low[index]]!r}")
    table["straightlining"] = straight
    table["straightlined_grids"] = [", ".join(names) for names in which]

    # item non-response
    if asked is None:
        asked_mask = np.ones(answered.shape, dtype=bool)
    else:
        if not isinstance(asked, pd.DataFrame) or not asked.index.equals(responses.index):
            raise VariableError("must be a DataFrame with the same index as responses", argument="asked",
                                fix="build it with questionnaires.answers.asked_frame(questionnaire, responses)")
        _require_columns(asked, answer_columns, "asked")
        asked_mask = asked[answer_columns].fillna(False).to_numpy(dtype=bool)
    n_asked = asked_mask.sum(axis=1)
    n_missing = (asked_mask & ~answered.to_numpy()).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share_missing = np.where(n_asked > 0, n_missing / np.maximum(n_asked, 1), np.nan)
    nonresponse = np.nan_to_num(share_missing, nan=0.0) > nonresponse_threshold
    table["item_nonresponse_share"] = share_missing
    table["item_nonresponse"] = nonresponse
    note(nonresponse, [f"item non-response: {m} of {a} asked questions unanswered ({s:.0%})"
                       for m, a, s in zip(n_missing, n_asked, share_missing)])

    # near-duplicates
    best_share, partner = _best_matches(keys[answer_columns], min_duplicate_items)
    duplicate = best_share >= duplicate_share
    table["duplicate_share"] = best_share
    table["duplicate_of"] = [table["interview_id"].iat[p] if p >= 0 else None for p in partner]
    table["near_duplicate"] = duplicate
    note(duplicate, [f"near-duplicate of {table['interview_id'].iat[p]}: {s:.0%} of answers identical"
                     if p >= 0 else "" for s, p in zip(best_share, partner)])

    # outside the assigned PSU
    checked = [name for name in FLAGS if name != "outside_psu"]
    outside = np.zeros(len(table), dtype=bool)
    if assignments is not None:
        outside, texts = _outside_assignments(table, assignments)
        note(outside, texts)
        checked.append("outside_psu")
    table["outside_psu"] = outside

    table["n_flags"] = table[list(FLAGS)].sum(axis=1).astype(int)
    table["reasons"] = ["; ".join(texts) for texts in reasons]
    table.index = responses.index
    parameters = MappingProxyType({
        "speed_ratio": speed_ratio, "min_grid_items": min_grid_items, "grids": {k: tuple(v) for k, v in grids.items()},
        "nonresponse_threshold": nonresponse_threshold, "duplicate_share": duplicate_share,
        "min_duplicate_items": min_duplicate_items, "answer_columns": tuple(answer_columns),
    })
    return InterviewFlags(median_duration=median, parameters=parameters,
                          checked=tuple(name for name in FLAGS if name in checked), _table=table)


def _keys(frame: pd.DataFrame) -> pd.DataFrame:
    """Answers as comparable text (missing stays missing): 5, 5.0 and '5' are one answer."""
    def key(value: Any) -> Any:
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
            return None
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            return str(int(value))
        return str(value)
    return frame.astype(object).map(key)


def _times(values: pd.Series) -> pd.Series:
    if not pd.api.types.is_datetime64_any_dtype(values):
        values = pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
    elif values.dt.tz is None:
        values = values.dt.tz_localize("UTC")
    return values.reset_index(drop=True)


def _best_matches(keys: pd.DataFrame, min_items: int) -> tuple[np.ndarray, np.ndarray]:
    """For each interview, the highest share of identical answers with another one, and which.

    ``keys`` holds the answers as text, None where unanswered.

    share(i, j) = (questions both answered identically) / (questions answered by i or j),
    defined when the denominator is at least ``min_items``.
    """
    n, p = keys.shape
    best = np.full(n, np.nan)
    partner = np.full(n, -1)
    if n < 2:
        return best, partner
    # integer codes per column; -1 = unanswered
    codes = np.empty((n, p), dtype=np.int64)
    levels = []
    for j, name in enumerate(keys.columns):
        codes[:, j], uniques = pd.factorize(keys[name], use_na_sentinel=True)
        levels.append(len(uniques))
    # identical answer patterns first: one representative row per pattern
    reps, uniques_index, inverse, counts = np.unique(codes, axis=0, return_index=True, return_inverse=True,
                                                     return_counts=True)
    inverse = inverse.reshape(-1)
    m = len(reps)
    n_answered = (reps >= 0).sum(axis=1).astype(np.float32)
    # members of a repeated pattern match each other completely
    order = np.argsort(inverse, kind="stable")
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    for group in np.flatnonzero(counts > 1):
        members = order[starts[group]:starts[group] + counts[group]]
        if n_answered[group] >= min_items:
            best[members] = 1.0
            partner[members] = np.r_[members[1:], members[:1]]
    if m < 2:
        return best, partner
    offsets = np.r_[0, np.cumsum(levels)[:-1]]
    one_hot = np.zeros((m, int(sum(levels))), dtype=np.float32)
    rows, cols = np.nonzero(reps >= 0)
    one_hot[rows, offsets[cols] + reps[rows, cols]] = 1.0
    given = (reps >= 0).astype(np.float32)
    block = max(1, _BLOCK_CELLS // m)
    best_rep = np.full(m, np.nan)
    partner_rep = np.full(m, -1)
    for lo in range(0, m, block):
        hi = min(m, lo + block)
        # float32 counts are exact (far below 2**24); the share is divided in float64 so that
        # 19 of 20 is exactly 0.95
        share = (one_hot[lo:hi] @ one_hot.T).astype(np.float64)
        union = given[lo:hi] @ given.T
        np.subtract(n_answered[lo:hi, None] + n_answered[None, :], union, out=union)
        np.divide(share, np.maximum(union, 1.0), out=share)
        share[union < min_items] = -np.inf
        share[np.arange(hi - lo), np.arange(lo, hi)] = -np.inf  # not with itself
        arg = share.argmax(axis=1)
        top = share[np.arange(hi - lo), arg]
        found = np.isfinite(top)
        best_rep[lo:hi] = np.where(found, top, np.nan)
        partner_rep[lo:hi] = np.where(found, arg, -1)
    for index in range(n):
        group = inverse[index]
        if best[index] == 1.0 or np.isnan(best_rep[group]):
            continue
        best[index] = best_rep[group]
        partner[index] = uniques_index[partner_rep[group]]
    return best, partner


def _outside_assignments(table: pd.DataFrame, assignments: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    if not isinstance(assignments, pd.DataFrame):
        raise VariableError("must be a DataFrame with columns district, psu (and optionally interviewer)",
                            argument="assignments", value=type(assignments).__name__)
    _require_columns(assignments, ["district", "psu"], "assignments")

    def key(values: pd.Series) -> pd.Series:
        return values.astype("string").str.strip()

    planned = set(zip(key(assignments["district"]), key(assignments["psu"])))
    place = list(zip(key(table["district"]), key(table["psu"])))
    in_plan = np.array([p in planned for p in place], dtype=bool)
    texts = [f"outside the assignments: district {d!r}, PSU {s!r} is not an assigned PSU" for d, s in place]
    if "interviewer" in assignments.columns:
        staffed = set(zip(key(assignments["district"]), key(assignments["psu"]), key(assignments["interviewer"])))
        who = key(table["interviewer"])
        mine = np.array([(d, s, w) in staffed for (d, s), w in zip(place, who)], dtype=bool)
        for index in np.flatnonzero(in_plan & ~mine):
            texts[index] = (f"outside the assignments: PSU {place[index][1]!r} in {place[index][0]!r} is not "
                            f"assigned to interviewer {who.iat[index]!r}")
        in_plan &= mine
    return ~in_plan, texts


# ---------------------------------------------------------------------------
# Per interviewer


def review_interviewers(
    responses: pd.DataFrame,
    flags: InterviewFlags,
    *,
    distribution_columns: Sequence[str] = (),
    id_column: str = "interview_id",
    seed: int = 0,
    n_estimators: int = 200,
    min_interviewers: int = 5,
) -> InterviewerReview:
    """Indicators per interviewer and an isolation-forest anomaly score over them.

    Parameters
    ----------
    responses : pandas.DataFrame
        The responses ``flags`` were computed from.
    flags : InterviewFlags
        From :func:`flag_interviews` (interviewer and district come from there).
    distribution_columns : sequence of str
        Categorical answers (e.g. the overall satisfaction) whose distribution per
        interviewer is compared with that of the other interviewers of the same
        district: the mean over categories of the absolute difference of the
        shares, averaged over the interviewer's districts weighted by the
        interviewer's answers there (NaN where nobody else worked in the district).
    id_column : str
        The interview id column of ``responses``.
    seed : int
        Seed of the isolation forest (results are reproducible).
    n_estimators : int
        Trees of the isolation forest.
    min_interviewers : int, default 5
        With fewer interviewers there is no score (NaN), only the z-scores.

    Returns
    -------
    InterviewerReview
        Features: ``median_duration``, ``share_<flag>`` for the checked flags and
        ``distribution_difference_<column>``. Missing feature values are replaced
        by the feature's median before scoring; robust z-scores are
        ``(x - median) / (1.4826 MAD)`` (mean absolute deviation x 1.2533 when the
        MAD is 0, and 0 when every interviewer has the same value).

    Raises
    ------
    VariableError
        A column is missing or ``responses`` does not hold the flagged interviews.
    SurveyError
        ``seed``, ``n_estimators`` or ``min_interviewers`` is not a valid integer.
    """
    if not isinstance(flags, InterviewFlags):
        raise VariableError("must be the result of flag_interviews", argument="flags", value=type(flags).__name__)
    seed = _count("seed", seed, 0)
    n_estimators = _count("n_estimators", n_estimators, 1)
    min_interviewers = _count("min_interviewers", min_interviewers, 2)
    distribution_columns = list(distribution_columns)
    _require_columns(responses, [id_column, *distribution_columns], "responses")
    table = flags.to_frame()
    answers = responses.set_index(id_column)
    if not table["interview_id"].isin(answers.index).all():
        raise VariableError("does not hold every flagged interview", argument="responses",
                            fix="pass the responses the flags were computed from")
    table["flagged"] = table["n_flags"] > 0
    grouped = table.groupby("interviewer", sort=True)
    review = pd.DataFrame({"n_interviews": grouped.size(), "median_duration": grouped["duration"].median()})
    features = ["median_duration"]
    for name in flags.checked:
        review[f"share_{name}"] = grouped[name].mean()
        features.append(f"share_{name}")
    review["share_flagged"] = grouped["flagged"].mean()
    for name in distribution_columns:
        values = answers.loc[table["interview_id"], name].to_numpy()
        column = f"distribution_difference_{name}"
        review[column] = _distribution_difference(table["interviewer"], table["district"], values)
        features.append(column)
    matrix = review[features].to_numpy(dtype=float)
    z = _robust_z(matrix)
    notes = []
    if len(review) >= min_interviewers:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-missing feature
            medians = np.nan_to_num(np.nanmedian(matrix, axis=0), nan=0.0)
        filled = np.where(np.isnan(matrix), medians, matrix)
        forest = IsolationForest(n_estimators=n_estimators, random_state=seed)
        filled_z = _robust_z(filled)
        forest.fit(filled_z)
        # score_samples is minus the anomaly score of Liu et al. (2008)
        review["anomaly_score"] = -forest.score_samples(filled_z)
    else:
        review["anomaly_score"] = np.nan
        notes.append(f"{len(review)} interviewer(s): too few for an isolation forest (min_interviewers="
                     f"{min_interviewers}); compare the z-scores instead")
    for index, name in enumerate(features):
        review[f"z_{name}"] = z[:, index]
    review["drivers"] = [_drivers(features, row) for row in z]
    review = review.sort_values("anomaly_score", ascending=False, kind="stable", na_position="last")
    review.index.name = "interviewer"
    return InterviewerReview(features=tuple(features), seed=seed, notes=tuple(notes), _table=review)


def _distribution_difference(interviewer: pd.Series, district: pd.Series, values: np.ndarray) -> pd.Series:
    frame = pd.DataFrame({"interviewer": interviewer.to_numpy(), "district": district.to_numpy(),
                          "value": values})
    frame = frame[frame["value"].notna() & (frame["value"].astype("string").str.strip() != "")]
    frame["value"] = frame["value"].astype("string")
    counts = frame.groupby(["district", "interviewer", "value"]).size().unstack("value", fill_value=0)
    own = counts.to_numpy(dtype=float)
    district_total = counts.groupby(level="district").transform("sum").to_numpy(dtype=float)
    others = district_total - own
    own_n = own.sum(axis=1, keepdims=True)
    others_n = others.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        difference = np.abs(own / own_n - others / others_n).mean(axis=1)
    cells = pd.DataFrame({"interviewer": counts.index.get_level_values("interviewer"),
                          "difference": difference, "weight": own_n[:, 0]})
    cells = cells[others_n[:, 0] > 0]
    weighted = (cells["difference"] * cells["weight"]).groupby(cells["interviewer"]).sum()
    weights = cells["weight"].groupby(cells["interviewer"]).sum()
    result = weighted / weights
    return result.reindex(sorted(interviewer.dropna().unique()))


def _robust_z(matrix: np.ndarray) -> np.ndarray:
    # an all-missing feature warns in nanmedian and gets z = NaN, which is what is wanted
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        median = np.nanmedian(matrix, axis=0)
        deviation = np.abs(matrix - median)
        scale = _MAD_SCALE * np.nanmedian(deviation, axis=0)
        fallback = _MEAN_AD_SCALE * np.nanmean(deviation, axis=0)
        scale = np.where(scale > 0, scale, fallback)
        z = np.where(scale > 0, (matrix - median) / np.where(scale > 0, scale, 1.0), 0.0)
    return np.where(np.isnan(matrix), np.nan, z)


def _drivers(features: Sequence[str], z: np.ndarray) -> str:
    size = np.abs(np.nan_to_num(z, nan=0.0))
    top = [index for index in np.argsort(-size, kind="stable")[:2] if size[index] > 0]
    return ", ".join(f"{features[index]} (z={z[index]:+.1f})" for index in top)
