"""Interview quality control on synthetic fieldwork with planted problems.

The clean interviews are random (seeded ``rng``); every planted problem must be flagged
and nothing else. Near-duplicates and straight-lining are also checked against plain
O(n^2) / row-by-row Python references, and flags must not depend on row order or on
how answers are coded.
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.errors import SurveyError, VariableError
from analysis.quality import FLAGS, InterviewFlags, flag_interviews, review_interviewers

GRID = [f"rate_{i}" for i in range(6)]
OTHER = [f"q_{i}" for i in range(14)]
ANSWERS = ["overall", *GRID, *OTHER, "q_filter", "q_skip"]  # 23 answer columns
CLEAN_INTERVIEWERS = {"A01": "d1", "A02": "d1", "A03": "d1", "A04": "d2", "A05": "d2", "A06": "d2"}
SCALE = ["1", "2", "3", "4", "5"]
SCALE_P = [0.05, 0.1, 0.25, 0.35, 0.25]


def fieldwork(rng: np.random.Generator, per_interviewer: int = 25):
    """Clean random interviews, then planted problems; returns responses, assignments, planted ids."""
    rows = []
    assignments = []
    for interviewer, district in CLEAN_INTERVIEWERS.items():
        psus = [f"{district}-{interviewer}-p{k}" for k in (1, 2)]
        assignments += [{"district": district, "psu": psu, "interviewer": interviewer} for psu in psus]
        for _ in range(per_interviewer):
            rows.append(_interview(rng, interviewer, district, str(rng.choice(psus))))
    frame = pd.DataFrame(rows)
    ids = iter(rng.permutation(frame.index))  # problems spread over the interviewers
    planted = {name: set() for name in FLAGS}

    def take() -> int:
        return next(ids)

    # too fast: well under a third of the median (about 600 s); one ends before it starts
    for seconds in (90, 120, 150, -30):
        index = take()
        frame.at[index, "submitted_at"] = frame.at[index, "started_at"] + pd.Timedelta(seconds=seconds)
        planted["too_fast"].add(frame.at[index, "interview_id"])
    # straight-lining: all six items the same, or four answered and equal
    for value, blanks in (("5", 0), ("1", 0), ("3", 2)):
        index = take()
        frame.loc[index, GRID] = [value] * 6
        frame.loc[index, GRID[:blanks]] = None
        planted["straightlining"].add(frame.at[index, "interview_id"])
    control = take()  # only three answered: not enough to call it straight-lining
    frame.loc[control, GRID] = [None, None, None, "4", "4", "4"]
    # item non-response: 9 of 23 asked questions unanswered
    for _ in range(2):
        index = take()
        frame.loc[index, OTHER[:9]] = None
        planted["item_nonresponse"].add(frame.at[index, "interview_id"])
    # near-duplicates: an exact copy, and a copy with one answer of 23 changed (22/23 >= 0.95)
    for changed in (0, 1):
        index = take()
        copy = frame.loc[index].copy()
        copy["interview_id"] = f"copy-{changed}-{copy['interview_id']}"
        copy["started_at"] += pd.Timedelta(days=1)
        copy["submitted_at"] += pd.Timedelta(days=1)
        for column in OTHER[:changed]:
            copy[column] = "other"
        frame.loc[len(frame)] = copy
        planted["near_duplicate"] |= {frame.at[index, "interview_id"], copy["interview_id"]}
    index = take()  # two answers changed: 21/23 < 0.95, not a near-duplicate
    copy = frame.loc[index].copy()
    copy["interview_id"] = "copy-2-" + copy["interview_id"]
    copy[OTHER[:2]] = "other"
    frame.loc[len(frame)] = copy
    # outside the assigned PSU: an unknown PSU, and another interviewer's PSU
    for psu, interviewer in (("d1-village-99", None), ("d2-A05-p1", "A04")):
        index = frame.index[(frame["interviewer"] == (interviewer or "A01"))][-1]
        frame.at[index, "psu"] = psu
        planted["outside_psu"].add(frame.at[index, "interview_id"])
    # a curbstoning interviewer: every interview fast, overall satisfaction always '5'
    curbstoner = []
    for _ in range(per_interviewer):
        row = _interview(rng, "A07", "d1", "d1-A07-p1", seconds=150.0)
        row["overall"] = "5"
        curbstoner.append(row)
        planted["too_fast"].add(row["interview_id"])
    assignments.append({"district": "d1", "psu": "d1-A07-p1", "interviewer": "A07"})
    frame = pd.concat([frame, pd.DataFrame(curbstoner)], ignore_index=True)
    return frame, pd.DataFrame(assignments), planted


def _interview(rng, interviewer, district, psu, seconds=None) -> dict:
    start = pd.Timestamp("2026-05-01 08:00", tz="Asia/Shanghai") + pd.Timedelta(minutes=int(rng.integers(0, 40000)))
    duration = seconds if seconds is not None else float(np.exp(rng.normal(np.log(600), 0.2)))
    row = {"interview_id": f"i{rng.integers(10**12):012d}", "interviewer": interviewer, "sample_district": district,
           "psu": psu, "started_at": start, "submitted_at": start + pd.Timedelta(seconds=duration),
           "overall": str(rng.choice(SCALE, p=SCALE_P))}
    grid = [str(v) for v in rng.choice(SCALE, p=SCALE_P, size=len(GRID))]
    while len(set(grid)) == 1:  # a clean interview is not straight-lined (chance 0.3% per draw)
        grid = [str(v) for v in rng.choice(SCALE, p=SCALE_P, size=len(GRID))]
    row.update(zip(GRID, grid))
    row.update({item: str(rng.choice(["a", "b", "c", "d"])) if rng.random() > 0.02 else None for item in OTHER})
    row["q_filter"] = str(rng.choice(["yes", "no"]))
    row["q_skip"] = str(rng.choice(["x", "y", "z"])) if row["q_filter"] == "yes" else None
    return row


def asked_mask(frame: pd.DataFrame) -> pd.DataFrame:
    asked = pd.DataFrame(True, index=frame.index, columns=ANSWERS)
    asked["q_skip"] = frame["q_filter"] == "yes"
    return asked


@pytest.fixture
def data(rng):
    return fieldwork(rng)


def flags_of(frame, assignments, **options) -> InterviewFlags:
    return flag_interviews(frame, ANSWERS, grids={"rating": GRID}, asked=asked_mask(frame), assignments=assignments,
                           **options)


def flagged_ids(flags: InterviewFlags, name: str) -> set:
    table = flags.to_frame()
    return set(table.loc[table[name], "interview_id"])


# -- flags per interview -----------------------------------------------------------------


def test_planted_problems_are_found_and_nothing_else(data):
    frame, assignments, planted = data
    flags = flags_of(frame, assignments)
    for name in FLAGS:
        assert flagged_ids(flags, name) == planted[name], name
    table = flags.to_frame()
    assert list(table["interview_id"]) == list(frame["interview_id"])
    assert (table["n_flags"] == table[list(FLAGS)].sum(axis=1)).all()
    assert (table["reasons"] != "").eq(table["n_flags"] > 0).all()
    assert flags.checked == FLAGS


def test_reasons_say_why(data):
    frame, assignments, planted = data
    table = flags_of(frame, assignments).to_frame().set_index("interview_id")
    fast = table.loc[sorted(planted["too_fast"])[0], "reasons"]
    assert "too fast" in fast or "ends before it starts" in fast
    assert any("ends before it starts (-30 s)" in text for text in table["reasons"])
    straight = table[table["straightlining"]]
    assert set(straight["straightlined_grids"]) == {"rating"}
    assert any("4 items of grid 'rating' all '3'" in text for text in straight["reasons"])
    duplicate = table[table["near_duplicate"]]
    assert all(table.loc[partner, "near_duplicate"] for partner in duplicate["duplicate_of"])
    assert set(duplicate["duplicate_share"].round(6)) == {1.0, round(22 / 23, 6)}
    outside = table[table["outside_psu"]]["reasons"]
    assert any("not an assigned PSU" in text for text in outside)
    assert any("is not assigned to interviewer 'A04'" in text for text in outside)


def test_durations_and_the_speed_threshold(data):
    frame, assignments, _ = data
    flags = flags_of(frame, assignments, speed_ratio=0.9)
    duration = (frame["submitted_at"] - frame["started_at"]).dt.total_seconds()
    assert flags.median_duration == pytest.approx(duration.median())
    np.testing.assert_allclose(flags.to_frame()["duration"], duration)
    expected = set(frame.loc[duration < 0.9 * duration.median(), "interview_id"])
    assert flagged_ids(flags, "too_fast") == expected and len(expected) > 29


def test_skip_logic_decides_what_counts_as_nonresponse(rng):
    frame, assignments, _ = fieldwork(rng, per_interviewer=6)
    index = frame.index[(frame["q_filter"] == "no") & frame[OTHER].notna().all(axis=1)][0]
    frame.loc[index, OTHER[:7]] = None  # 7 of 22 asked = 32%; 8 of 23 columns without skip logic
    with_skips = flags_of(frame, assignments, nonresponse_threshold=0.33).to_frame()
    without = flag_interviews(frame, ANSWERS, nonresponse_threshold=0.33).to_frame()
    assert with_skips.at[index, "item_nonresponse_share"] == pytest.approx(7 / 22)
    assert without.at[index, "item_nonresponse_share"] == pytest.approx(8 / 23)
    assert not with_skips.at[index, "item_nonresponse"] and without.at[index, "item_nonresponse"]


def test_flags_do_not_depend_on_row_order_or_codes(data, rng):
    frame, assignments, _ = data
    reference = flags_of(frame, assignments).to_frame().set_index("interview_id")
    shuffled = frame.sample(frac=1.0, random_state=np.random.RandomState(7)).reset_index(drop=True)
    recoded = shuffled.copy()
    mapping = {"1": 10, "2": 20, "3": 30, "4": 40, "5": 50, "a": "z1", "b": "z2", "c": "z3", "d": "z4"}
    for column in ["overall", *GRID, *OTHER]:
        recoded[column] = recoded[column].map(lambda v: mapping.get(v, v))
    for variant in (shuffled, recoded):
        again = flags_of(variant, assignments).to_frame().set_index("interview_id").loc[reference.index]
        for name in FLAGS:
            assert again[name].equals(reference[name]), name
        np.testing.assert_allclose(again["duplicate_share"], reference["duplicate_share"])


def brute_force_best(values: list[list], min_items: int) -> list[float]:
    """The maximum percent match by a plain double loop."""
    best = []
    for i, a in enumerate(values):
        top = np.nan
        for j, b in enumerate(values):
            if i == j:
                continue
            union = sum(x is not None or y is not None for x, y in zip(a, b))
            if union < min_items:
                continue
            same = sum(x is not None and x == y for x, y in zip(a, b))
            top = same / union if np.isnan(top) else max(top, same / union)
        best.append(top)
    return best


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 10).flatmap(lambda p: st.lists(
    st.lists(st.sampled_from([None, "a", "b", "c"]), min_size=p, max_size=p), min_size=1, max_size=14)),
    st.integers(1, 4))
def test_near_duplicate_share_matches_the_double_loop(values, min_items):
    p = len(values[0])
    min_items = min(min_items, p)
    columns = [f"c{j}" for j in range(p)]
    frame = pd.DataFrame(values, columns=columns, dtype=object)
    start = pd.Timestamp("2026-01-01", tz="UTC")
    frame = frame.assign(interview_id=[f"i{k}" for k in range(len(frame))], interviewer="A", sample_district="d",
                         psu="p", started_at=start, submitted_at=start + pd.Timedelta(minutes=5))
    table = flag_interviews(frame, columns, min_duplicate_items=min_items, duplicate_share=0.5).to_frame()
    expected = brute_force_best(values, min_items)
    np.testing.assert_allclose(table["duplicate_share"].to_numpy(dtype=float), expected)
    # the named partner really has that share
    for row in table.itertuples():
        if row.duplicate_of is not None:
            partner = int(row.duplicate_of[1:])
            pair = brute_force_best([values[row.Index], values[partner]], min_items)[0]
            assert pair == pytest.approx(row.duplicate_share)
    assert (table["near_duplicate"] == (np.nan_to_num(expected, nan=-1) >= 0.5)).all()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.sampled_from([None, "1", "2", 2.0, 1]), min_size=5, max_size=5), min_size=1, max_size=10),
       st.integers(2, 5))
def test_straightlining_matches_a_row_by_row_reference(values, min_items):
    frame = pd.DataFrame(values, columns=GRID[:5], dtype=object)
    start = pd.Timestamp("2026-01-01", tz="UTC")
    frame = frame.assign(interview_id=[f"i{k}" for k in range(len(frame))], interviewer="A", sample_district="d",
                         psu="p", started_at=start, submitted_at=start)
    table = flag_interviews(frame, GRID[:5], grids={"g": GRID[:5]}, min_grid_items=min_items,
                            min_duplicate_items=1).to_frame()
    for row, flagged in zip(values, table["straightlining"]):
        answered = [str(int(float(v))) for v in row if v is not None]  # 2.0, 2 and '2' are one answer
        assert flagged == (len(answered) >= min_items and len(set(answered)) == 1)


def test_outside_psu_without_interviewer_column(data):
    frame, assignments, planted = data
    flags = flags_of(frame, assignments.drop(columns="interviewer"))
    # without interviewers in the plan only the unknown PSU is outside
    assert flagged_ids(flags, "outside_psu") == {i for i in planted["outside_psu"]
                                                 if frame.set_index("interview_id").at[i, "psu"] == "d1-village-99"}
    unchecked = flag_interviews(frame, ANSWERS)
    assert "outside_psu" not in unchecked.checked and not unchecked.to_frame()["outside_psu"].any()
    assert "not checked" in unchecked.summary()


def test_results_are_frozen_copies(data):
    frame, assignments, _ = data
    flags = flags_of(frame, assignments)
    table = flags.to_frame()
    table["too_fast"] = True
    assert not flags.to_frame()["too_fast"].all()
    with pytest.raises(AttributeError):
        flags.median_duration = 1.0
    text = flags.summary()
    assert "Flagged interviews" in text and "not automatic rejection" in text
    assert list(flags.flagged()["n_flags"]) == sorted(flags.flagged()["n_flags"], reverse=True)


# -- per interviewer ----------------------------------------------------------------------


def test_the_curbstoner_tops_the_review_with_the_reasons_named(data):
    frame, assignments, _ = data
    flags = flags_of(frame, assignments)
    review = review_interviewers(frame, flags, distribution_columns=["overall"], seed=3)
    table = review.to_frame()
    assert table.index[0] == "A07"
    assert table.loc["A07", "anomaly_score"] > table["anomaly_score"].drop("A07").max()
    assert "share_too_fast" in table.loc["A07", "drivers"] and "median_duration" in table.loc["A07", "drivers"]
    assert table["z_distribution_difference_overall"].idxmax() == "A07"
    assert table.loc["A07", "share_too_fast"] == 1.0
    assert table.loc["A07", "n_interviews"] == 25
    assert set(review.features) == {"median_duration", *(f"share_{f}" for f in FLAGS),
                                    "distribution_difference_overall"}
    # reproducible with the seed
    again = review_interviewers(frame, flags, distribution_columns=["overall"], seed=3).to_frame()
    pd.testing.assert_frame_equal(again, table)
    assert "A07" in review.summary().splitlines()[2]
    assert "not a reason to reject" in review.summary()


def test_indicators_by_hand():
    start = pd.Timestamp("2026-01-01", tz="UTC")
    frame = pd.DataFrame({
        "interview_id": [f"i{k}" for k in range(7)],
        "interviewer": ["A", "A", "B", "B", "C", "C", "D"],
        "sample_district": ["d1", "d1", "d1", "d1", "d1", "d1", "d2"],
        "psu": "p", "started_at": start,
        "submitted_at": [start + pd.Timedelta(seconds=s) for s in (100, 300, 500, 700, 600, 600, 600)],
        "sat": ["5", "5", "4", "5", "4", None, "3"],
    })
    flags = flag_interviews(frame, ["sat"], min_duplicate_items=1, duplicate_share=1.0)
    review = review_interviewers(frame, flags, distribution_columns=["sat"], min_interviewers=10).to_frame()
    assert review.loc["A", "median_duration"] == 200 and review.loc["B", "median_duration"] == 600
    # A: own {5: 1}, others in d1 (B, C) {4: 2/3, 5: 1/3}; categories 3, 4, 5
    assert review.loc["A", "distribution_difference_sat"] == pytest.approx((0 + 2 / 3 + 2 / 3) / 3)
    # C: own {4: 1}, others {4: 1/4, 5: 3/4}
    assert review.loc["C", "distribution_difference_sat"] == pytest.approx((0 + 3 / 4 + 3 / 4) / 3)
    assert np.isnan(review.loc["D", "distribution_difference_sat"])  # nobody else in d2
    assert review["anomaly_score"].isna().all()
    # robust z of the median duration: median 600, MAD 0 -> mean absolute deviation x 1.2533
    durations = np.array([200, 600, 600, 600])
    scale = 1.2533 * np.mean(np.abs(durations - 600))
    assert review.loc["A", "z_median_duration"] == pytest.approx((200 - 600) / scale)
    assert review.loc["A", "drivers"].startswith("median_duration (z=-")


def test_too_few_interviewers_get_no_score(data):
    frame, assignments, _ = data
    few = frame[frame["interviewer"].isin(["A01", "A02", "A07"])]
    review = review_interviewers(few, flags_of(few, assignments))
    assert review.to_frame()["anomaly_score"].isna().all()
    assert "too few" in review.notes[0] and "too few" in review.summary()


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "error", "words"), [
    (lambda f: dict(responses=f.drop(columns="psu")), VariableError, "psu"),
    (lambda f: dict(answer_columns=["nope"]), VariableError, "answer_columns"),
    (lambda f: dict(answer_columns=[]), VariableError, "answer_columns"),
    (lambda f: dict(responses=pd.concat([f, f.head(1)])), VariableError, "unique"),
    (lambda f: dict(speed_ratio=0), SurveyError, "speed_ratio"),
    (lambda f: dict(nonresponse_threshold=1.0), SurveyError, "nonresponse_threshold"),
    (lambda f: dict(duplicate_share=1.5), SurveyError, "duplicate_share"),
    (lambda f: dict(min_duplicate_items=40), SurveyError, "min_duplicate_items"),
    (lambda f: dict(grids={"g": GRID[:3]}), SurveyError, "grid 'g' has 3 items"),
    (lambda f: dict(grids={"g": ["x1", "x2", "x3", "x4"]}), VariableError, "grids['g']"),
    (lambda f: dict(asked=asked_mask(f).reset_index(drop=True).iloc[::-1]), VariableError, "asked"),
    (lambda f: dict(assignments=pd.DataFrame({"district": ["d1"]})), VariableError, "assignments"),
])
def test_bad_arguments_raise_the_analysis_errors(data, change, error, words):
    frame, _, _ = data
    arguments = dict(responses=frame, answer_columns=ANSWERS)
    arguments.update(change(frame))
    with pytest.raises(error, match=words.replace("[", r"\[").replace("]", r"\]")):
        flag_interviews(arguments.pop("responses"), arguments.pop("answer_columns"), **arguments)


def test_review_argument_errors(data):
    frame, assignments, _ = data
    flags = flags_of(frame, assignments)
    with pytest.raises(VariableError, match="flags"):
        review_interviewers(frame, flags.to_frame())
    with pytest.raises(VariableError, match="responses"):
        review_interviewers(frame.iloc[:10], flags)
    with pytest.raises(SurveyError, match="seed"):
        review_interviewers(frame, flags, seed=-1)
    with pytest.raises(VariableError, match="distribution"):
        review_interviewers(frame, flags, distribution_columns=["distribution"])


def test_nothing_is_flagged_in_clean_fieldwork(rng):
    rows = [_interview(rng, interviewer, district, f"{district}-{interviewer}-p1")
            for interviewer, district in itertools.islice(itertools.cycle(CLEAN_INTERVIEWERS.items()), 120)]
    frame = pd.DataFrame(rows)
    flags = flag_interviews(frame, ANSWERS, grids={"rating": GRID}, asked=asked_mask(frame))
    assert flags.to_frame()["n_flags"].sum() == 0
    assert flags.flagged().empty
