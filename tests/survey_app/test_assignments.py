"""Stored field assignments and the design weights they give the interviews.

The store runs on SQLite and PostgreSQL. :func:`with_design_weights` is compared with
:func:`analysis.sampling.attach_design_weights` on the same data, with an independent pandas
merge, and (estimates and standard errors) with R's ``survey`` package on the merged data.
"""
from __future__ import annotations

import json
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from argon2 import PasswordHasher
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import SurveyDesign
from analysis.sampling import ASSIGNMENT_COLUMNS, attach_design_weights, select_psus
from questionnaires import load_districts
from survey_app.assignments import (
    WEIGHT_COLUMNS,
    AssignmentError,
    AssignmentExistsError,
    AssignmentStore,
    check_assignments,
    with_design_weights,
)
from survey_app.auth import Accounts
from survey_app.store import ResponseStore
from tests.conftest import require_program

DISTRICTS = [choice.name for choice in load_districts()]
FORM = "tourist_satisfaction"  # its ``tourist_score`` is a number to estimate


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'survey.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'survey.db'}"


def make_frame(rng: np.random.Generator) -> pd.DataFrame:
    """A sampling frame: 8 to 20 communities in each district, sizes and households."""
    rows = []
    for d, code in enumerate(DISTRICTS):
        for i in range(int(rng.integers(8, 21))):
            size = int(rng.integers(200, 6000))
            rows.append({"district": code, "psu": f"32{d:02d}{i:04d}", "psu_name": f"社区{d}-{i}",
                         "size": size, "households": size // 3 + 20})
    return pd.DataFrame(rows)


def make_assignments(rng: np.random.Generator, *, seed: int = 7, per_psu: int = 6, frame=None) -> pd.DataFrame:
    frame = make_frame(rng) if frame is None else frame
    return select_psus(frame, psus=2, interviews_per_psu=per_psu, seed=seed, units="households").assignments()


def responses_in(assignments: pd.DataFrame, rng: np.random.Generator, *, wave: str, n: int) -> pd.DataFrame:
    """``n`` interviews of ``wave`` in PSUs drawn from the list (some PSUs get several)."""
    picked = assignments.iloc[rng.integers(0, len(assignments), size=n)]
    return pd.DataFrame({
        "interview_id": [f"{wave}-{i}" for i in range(n)],
        "wave": wave,
        "sample_district": picked["district"].to_numpy(),
        "psu": picked["psu"].to_numpy(),
        "y": rng.normal(70, 10, size=n),
    })


def submit(store: ResponseStore, district: str, psu: str, *, wave: str, answers: dict | None = None) -> str:
    iid = store.start_interview(FORM, "1", interviewer="A01", district=district, psu=psu, wave=wave)
    store.submit(iid, answers or {"consent": "no"})
    return iid


# -- the store --------------------------------------------------------------------------


def test_round_trip(url: str, rng) -> None:
    assignments = make_assignments(rng)
    before = datetime.now(timezone.utc)
    saved = AssignmentStore(url).save(assignments, wave="2026", seed=7, frame_name="社区抽样框.xlsx")
    reread = AssignmentStore(url).get("2026")  # a fresh connection: what another server sees
    for stored in (saved, reread):
        pd.testing.assert_frame_equal(stored.table, assignments, check_exact=True)
        assert (stored.wave, stored.seed, stored.frame_name, stored.saved_by) == ("2026", 7, "社区抽样框.xlsx", None)
        assert before <= stored.saved_at <= datetime.now(timezone.utc) + timedelta(seconds=1)
        assert stored.saved_at.tzinfo is not None
    assert (reread.psus, reread.interviews) == (len(assignments), int(assignments["interviews"].sum()))
    assert list(reread.to_frame().columns) == ["wave", *ASSIGNMENT_COLUMNS]
    assert "wave 2026" in reread.summary() and "seed 7" in reread.summary()

    store = AssignmentStore(url)
    assert store.get("2027") is None
    later = make_assignments(rng, seed=8)
    store.save(later, wave="2025")  # saved after 2026: the latest list, whatever its name
    assert store.waves() == ["2025", "2026"]
    assert store.latest_wave() == "2025"
    assert store.versions() == tuple((w, str(store.get(w).saved_at)) for w in ("2025", "2026"))
    pd.testing.assert_frame_equal(store.get("2025").table, later, check_exact=True)
    pd.testing.assert_frame_equal(store.get("2026").table, assignments, check_exact=True)


def test_replacing_needs_consent_and_keeps_the_interviews(url: str, rng) -> None:
    frame = make_frame(rng)
    first = make_assignments(rng, frame=frame, per_psu=6)
    # The same seed selects the same PSUs; more interviews per PSU change pi_within and the weights.
    second = make_assignments(rng, frame=frame, per_psu=9)
    assert first[["district", "psu"]].equals(second[["district", "psu"]])
    store = AssignmentStore(url)
    store.save(first, wave="2026")
    responses = ResponseStore(url)
    for district, psu in first[["district", "psu"]].head(3).itertuples(index=False):
        submit(responses, district, psu, wave="2026")
    kept = responses.responses_frame(status="all")

    with pytest.raises(AssignmentExistsError, match="replace=True"):
        store.save(second, wave="2026")
    pd.testing.assert_frame_equal(store.get("2026").table, first, check_exact=True)

    version = store.versions()
    store.save(second, wave="2026", replace=True)
    pd.testing.assert_frame_equal(store.get("2026").table, second, check_exact=True)
    pd.testing.assert_frame_equal(responses.responses_frame(status="all"), kept)
    assert store.versions() != version  # the results pages' caches see the new list


def test_a_list_that_drops_interviewed_psus_is_refused(url: str, rng) -> None:
    frame = make_frame(rng)
    first = make_assignments(rng, frame=frame, seed=1)
    other = make_assignments(rng, frame=frame, seed=2)
    dropped = first.merge(other[["district", "psu"]], how="left", indicator=True)
    district, psu = dropped.loc[dropped["_merge"] == "left_only", ["district", "psu"]].iloc[0]
    responses = ResponseStore(url)
    iid = submit(responses, district, psu, wave="2026")
    store = AssignmentStore(url)
    store.save(first, wave="2026")
    with pytest.raises(AssignmentError, match=f"{iid} \\(submitted, '{district}', '{psu}'\\)"):
        store.save(other, wave="2026", replace=True)
    pd.testing.assert_frame_equal(store.get("2026").table, first, check_exact=True)
    responses.void(iid, "wrong community")
    store.save(other, wave="2026", replace=True)  # a voided interview counts nowhere
    pd.testing.assert_frame_equal(store.get("2026").table, other, check_exact=True)


def test_interviews_typed_before_the_list_block_it(sqlite_url: str, rng) -> None:
    responses = ResponseStore(sqlite_url)
    iid = responses.start_interview(FORM, "1", interviewer="A01", district="rugao", psu="村 3", wave="2026")
    with pytest.raises(AssignmentError, match=f"{iid} \\(draft, 'rugao', '村 3'\\)"):
        AssignmentStore(sqlite_url).save(make_assignments(rng), wave="2026")
    assert AssignmentStore(sqlite_url).get("2026") is None
    AssignmentStore(sqlite_url).save(make_assignments(rng), wave="2027")  # other waves are free


BAD_CELLS = [
    ("pi_psu", 1.5, "pi_psu not a probability in (0, 1] in rows 3 (1.5)"),
    ("pi_psu", 0.0, "pi_psu not a probability in (0, 1] in rows 3 (0.0)"),
    ("pi_within", -0.1, "pi_within not a probability in (0, 1] in rows 3 (-0.1)"),
    ("interviews", 2.5, "interviews not a positive whole number in rows 3 (2.5)"),
    ("interviews", 0, "interviews not a positive whole number in rows 3 (0)"),
    ("district", "苏州", "unknown district code (use one of"),
    ("district", None, "blank district in rows 3"),
    ("psu", " ", "blank psu in rows 3"),
    ("psu", "x" * 201, "psu longer than 200 characters in rows 3"),
    ("design_weight", 12.0, "design_weight is not 1 / (pi_psu * pi_within) in rows 3 (12.0)"),
    ("fpc", 1.5, "fpc not a positive whole number in rows 3 (1.5)"),
]


@pytest.mark.parametrize(("column", "value", "message"), BAD_CELLS)
def test_bad_cells_are_named_by_row(sqlite_url: str, rng, column: str, value, message: str) -> None:
    bad = make_assignments(rng).astype(object)
    bad.loc[3, column] = value
    with pytest.raises(AssignmentError, match="the assignment list has problems") as error:
        AssignmentStore(sqlite_url).save(bad, wave="2026")
    assert message in str(error.value)
    if column == "district" and value:
        assert "rows 3 ('苏州')" in str(error.value)
    assert AssignmentStore(sqlite_url).get("2026") is None


def test_list_level_problems(rng) -> None:
    good = make_assignments(rng)
    with pytest.raises(AssignmentError, match="no column 'fpc'"):
        check_assignments(good.drop(columns="fpc"))
    with pytest.raises(AssignmentError, match="no rows"):
        check_assignments(good.iloc[:0])
    twice = pd.concat([good, good.iloc[[1]]], ignore_index=True)
    with pytest.raises(AssignmentError, match=f"listed twice in rows 1 \\('{good['psu'][1]}'\\), {len(good)} "):
        check_assignments(twice)
    mixed = good.copy()
    mixed.loc[0, "fpc"] = mixed.loc[0, "fpc"] + 1
    with pytest.raises(AssignmentError, match=f"district '{good['district'][0]}' has different fpc values"):
        check_assignments(mixed)
    small = good.copy()
    small.loc[small["district"] == small["district"][0], "fpc"] = 1
    with pytest.raises(AssignmentError, match="lists 2 PSUs but fpc says its frame has 1"):
        check_assignments(small)


def test_numbers_read_back_from_a_download_are_accepted(rng) -> None:
    """The CSV download read as text (ids that look like numbers included) is the same list."""
    assignments = make_assignments(rng)
    text = pd.read_csv(pd.io.common.StringIO(assignments.to_csv(index=False)), dtype=str)
    pd.testing.assert_frame_equal(check_assignments(text), assignments, rtol=1e-15)
    numeric_ids = pd.read_csv(pd.io.common.StringIO(assignments.to_csv(index=False)))
    assert numeric_ids["psu"].dtype.kind == "i"
    assert check_assignments(numeric_ids)["psu"].tolist() == assignments["psu"].tolist()


@st.composite
def assignment_lists(draw) -> pd.DataFrame:
    """Any valid list: unique (district, psu) with text ids, probabilities in (0, 1], whole counts."""
    # PSU ids start with a letter or digit (survey_app.field_values: never a formula or markup).
    ids = st.text(alphabet="0123456789ABC社区村-_ ", min_size=1, max_size=12).map(str.strip).filter(
        lambda text: text[:1].isalnum())
    keys = draw(st.lists(st.tuples(st.sampled_from(DISTRICTS), ids), min_size=1, max_size=12, unique=True))
    probability = st.floats(min_value=1e-6, max_value=1.0)
    pi_psu = [draw(probability) for _ in keys]
    pi_within = [draw(probability) for _ in keys]
    listed = pd.Series([d for d, _ in keys]).value_counts()
    extra = {d: draw(st.integers(0, 500)) for d in listed.index}
    return pd.DataFrame({
        "district": [d for d, _ in keys],
        "psu": [p for _, p in keys],
        "psu_name": [draw(st.text(alphabet="社区村委会东西南北", min_size=1, max_size=8)) for _ in keys],
        "interviews": np.array([draw(st.integers(1, 60)) for _ in keys], dtype=np.int64),
        "pi_psu": pi_psu,
        "pi_within": pi_within,
        "design_weight": [1 / (a * b) for a, b in zip(pi_psu, pi_within)],
        "fpc": np.array([int(listed[d]) + extra[d] for d, _ in keys], dtype=np.int64),
    })


@settings(max_examples=40, deadline=None)
@given(assignments=assignment_lists())
def test_any_valid_list_round_trips(assignments: pd.DataFrame) -> None:
    store = AssignmentStore("sqlite:///:memory:")  # an engine of its own: a fresh database for each example
    try:
        pd.testing.assert_frame_equal(store.save(assignments, wave="w1").table, assignments, check_exact=True)
        pd.testing.assert_frame_equal(check_assignments(assignments), assignments, check_exact=True)
    finally:
        store.close()


@pytest.mark.parametrize(("argument", "value"), [("wave", ""), ("wave", "w" * 51), ("seed", -1), ("replace", "yes")])
def test_bad_arguments(sqlite_url: str, rng, argument: str, value) -> None:
    options = {"wave": "2026", argument: value}
    with pytest.raises(AssignmentError, match=argument):
        AssignmentStore(sqlite_url).save(make_assignments(rng), **options)


def test_saving_is_audited(sqlite_url: str, rng) -> None:
    accounts = Accounts(sqlite_url, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    admin = accounts.create_first_administrator("chief", "correct horse battery")
    store = AssignmentStore(sqlite_url)
    assignments = make_assignments(rng)
    store.save(assignments, wave="2026", seed=7, frame_name="frame.csv", saved_by="S01")
    store.save(assignments, wave="2026", seed=7, saved_by="S02", replace=True)
    log = accounts.audit_log(admin)
    entries = log[log["action"].str.endswith("_assignments")]
    assert entries[["actor", "action", "target"]].values.tolist() == [
        ["S02", "replace_assignments", "wave 2026"], ["S01", "save_assignments", "wave 2026"],
    ]
    assert json.loads(entries["detail"].iloc[1]) == {
        "psus": len(assignments), "interviews": int(assignments["interviews"].sum()), "seed": 7, "frame": "frame.csv",
    }
    assert store.get("2026").saved_by == "S02"


def test_progress_counts_the_submitted_interviews(url: str, rng) -> None:
    assignments = make_assignments(rng)
    store = AssignmentStore(url)
    assert store.progress("2026") is None
    store.save(assignments, wave="2026")
    assert store.progress("2026")["done"].sum() == 0  # before any interview table exists
    responses = ResponseStore(url)
    (d0, p0), (d1, p1) = assignments[["district", "psu"]].head(2).itertuples(index=False)
    submit(responses, d0, p0, wave="2026")
    submit(responses, d0, p0, wave="2026")
    submit(responses, d1, p1, wave="2026")
    responses.void(submit(responses, d1, p1, wave="2026"), "duplicate")
    responses.start_interview(FORM, "1", interviewer="A01", district=d1, psu=p1, wave="2026")  # a draft
    other = responses.start_interview("consumer_environment", "1", interviewer="A01", district=d1, psu=p1, wave="2026")
    responses.submit(other, {"consent": "no"})
    done = store.progress("2026", questionnaire_id=FORM)
    pd.testing.assert_frame_equal(done.drop(columns="done"), assignments, check_exact=True)
    assert done["done"].tolist() == [2, 1] + [0] * (len(assignments) - 2)
    assert store.progress("2026")["done"].tolist()[:2] == [2, 2]  # every questionnaire


# -- design weights ----------------------------------------------------------------------


def test_nothing_stored_leaves_the_responses_alone(sqlite_url: str, rng) -> None:
    responses = responses_in(make_assignments(rng), rng, wave="2026", n=20)
    assert with_design_weights(responses, url=sqlite_url) is responses
    AssignmentStore(sqlite_url).save(make_assignments(rng), wave="2025")  # another wave's list
    assert with_design_weights(responses, url=sqlite_url) is responses
    empty = responses.iloc[:0]
    assert with_design_weights(empty, url=sqlite_url) is empty


def test_weights_are_those_of_attach_design_weights_per_wave(sqlite_url: str, rng) -> None:
    frame = make_frame(rng)
    lists = {"2025": make_assignments(rng, frame=frame, seed=3), "2026": make_assignments(rng, frame=frame, seed=4)}
    store = AssignmentStore(sqlite_url)
    for wave, assignments in lists.items():
        store.save(assignments, wave=wave)
    parts = {wave: responses_in(assignments, rng, wave=wave, n=40) for wave, assignments in lists.items()}
    responses = pd.concat(parts.values()).sample(frac=1, random_state=1)
    responses.index = pd.Index(rng.permutation(len(responses)) * 10 + 5)  # any index is kept
    weighted = with_design_weights(responses, url=sqlite_url)

    expected = pd.concat(
        attach_design_weights(responses[responses["wave"] == wave], lists[wave], district="sample_district")
        for wave in lists
    ).loc[responses.index]
    expected["weight"] = expected["design_weight"]
    pd.testing.assert_frame_equal(weighted, expected, check_exact=True)
    assert list(weighted.columns) == [*responses.columns, *WEIGHT_COLUMNS]
    pd.testing.assert_frame_equal(weighted[responses.columns], responses)

    # An independent path: a merge on (wave, district, psu).
    plan = pd.concat(a.assign(wave=w) for w, a in lists.items()).rename(columns={"district": "sample_district"})
    merged = responses.reset_index().merge(plan, on=["wave", "sample_district", "psu"], how="left")
    np.testing.assert_array_equal(weighted["weight"].to_numpy(), merged["design_weight"].to_numpy())
    np.testing.assert_array_equal(weighted["fpc"].to_numpy(), merged["fpc"].to_numpy())

    # Invariance: shuffling the interviews shuffles the result the same way.
    order = rng.permutation(len(responses))
    pd.testing.assert_frame_equal(with_design_weights(responses.iloc[order], url=sqlite_url), weighted.iloc[order])


def test_interviews_outside_the_list_are_named(sqlite_url: str, rng) -> None:
    assignments = make_assignments(rng)
    AssignmentStore(sqlite_url).save(assignments, wave="2026")
    responses = responses_in(assignments, rng, wave="2026", n=12)
    responses.loc[[4, 9], "psu"] = ["村 3", "320000x"]
    with pytest.raises(AssignmentError, match="2 interview") as error:
        with_design_weights(responses, url=sqlite_url)
    district4, district9 = responses.loc[[4, 9], "sample_district"]
    assert f"2026-4 ('2026', '{district4}', '村 3'), 2026-9 ('2026', '{district9}', '320000x')" in str(error.value)


def test_waves_without_a_list_are_not_mixed_with_weighted_ones(sqlite_url: str, rng) -> None:
    assignments = make_assignments(rng)
    AssignmentStore(sqlite_url).save(assignments, wave="2026")
    both = pd.concat([responses_in(assignments, rng, wave="2026", n=5), responses_in(assignments, rng, wave="2025", n=5)])
    with pytest.raises(AssignmentError, match="waves '2026' have stored assignments but waves '2025' have none"):
        with_design_weights(both, url=sqlite_url)


def test_responses_without_a_wave_column(sqlite_url: str, rng) -> None:
    assignments = make_assignments(rng)
    store = AssignmentStore(sqlite_url)
    store.save(assignments, wave="2026")
    responses = responses_in(assignments, rng, wave="2026", n=10)
    unlabelled = responses.drop(columns="wave")
    pd.testing.assert_frame_equal(
        with_design_weights(unlabelled, url=sqlite_url),
        with_design_weights(responses, url=sqlite_url).drop(columns="wave"),
    )
    store.save(assignments, wave="2027")
    with pytest.raises(AssignmentError, match="no 'wave' column"):
        with_design_weights(unlabelled, url=sqlite_url)


def test_existing_weight_columns_are_refused(sqlite_url: str, rng) -> None:
    assignments = make_assignments(rng)
    AssignmentStore(sqlite_url).save(assignments, wave="2026")
    responses = responses_in(assignments, rng, wave="2026", n=5).assign(weight=1.0)
    with pytest.raises(AssignmentError, match="already has column 'weight'"):
        with_design_weights(responses, url=sqlite_url)


def stored_survey(url: str, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Interviews submitted in the assigned PSUs; returns (assignments, responses frame)."""
    assignments = make_assignments(rng)
    AssignmentStore(url).save(assignments, wave="2026")
    store = ResponseStore(url)
    for row in assignments.itertuples(index=False):
        level = rng.normal(75, 8)  # PSUs differ, so the clustering matters
        for _ in range(int(rng.integers(3, row.interviews + 1))):  # some nonresponse
            score = int(np.clip(round(level + rng.normal(0, 10)), 0, 100))
            submit(store, row.district, row.psu, wave="2026", answers={"consent": "yes", "tourist_score": score})
    return assignments, store.responses_frame(FORM)


def test_estimates_with_stored_weights_are_those_of_the_plan(sqlite_url: str, rng) -> None:
    assignments, responses = stored_survey(sqlite_url, rng)
    weighted = with_design_weights(responses, url=sqlite_url)
    ours = SurveyDesign(weighted, weights="weight", strata="sample_district", psu="psu", fpc="fpc", nest=True)
    merged = responses.merge(assignments.rename(columns={"district": "sample_district"}),
                             on=["sample_district", "psu"], how="left")
    direct = SurveyDesign(merged, weights="design_weight", strata="sample_district", psu="psu", fpc="fpc", nest=True)
    for statistic in ("mean", "total"):
        a = getattr(ours, statistic)("tourist_score").to_frame()
        b = getattr(direct, statistic)("tourist_score").to_frame()
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12)
    without_fpc = SurveyDesign(weighted, weights="weight", strata="sample_district", psu="psu", nest=True)
    # The fpc is used: a small frame per district shrinks the standard error.
    assert ours.mean("tourist_score").to_frame()["se"].iloc[0] < without_fpc.mean("tourist_score").to_frame()["se"].iloc[0]


R_SCRIPT = """
suppressMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], colClasses = c(psu = "character"))
des <- svydesign(ids = ~psu, strata = ~sample_district, weights = ~design_weight, fpc = ~fpc, nest = TRUE, data = d)
m <- svymean(~tourist_score, des)
t <- svytotal(~tourist_score, des)
write.csv(data.frame(statistic = c("mean", "total"), estimate = c(coef(m), coef(t)), se = c(SE(m), SE(t))),
          args[2], row.names = FALSE)
"""


@pytest.mark.r_reference
def test_stored_weights_reproduce_r_survey(sqlite_url: str, rng, tmp_path: Path) -> None:
    rscript = require_program("Rscript")
    assignments, responses = stored_survey(sqlite_url, rng)
    # R gets the interviews already merged with the list by pandas, independently of with_design_weights.
    merged = responses.merge(assignments.rename(columns={"district": "sample_district"}), on=["sample_district", "psu"])
    merged[["sample_district", "psu", "design_weight", "fpc", "tourist_score"]].to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "r.R").write_text(R_SCRIPT)
    subprocess.run([rscript, str(tmp_path / "r.R"), str(tmp_path / "d.csv"), str(tmp_path / "out.csv")],
                   check=True, capture_output=True, timeout=120)
    reference = pd.read_csv(tmp_path / "out.csv").set_index("statistic")
    weighted = with_design_weights(responses, url=sqlite_url)
    design = SurveyDesign(weighted, weights="weight", strata="sample_district", psu="psu", fpc="fpc", nest=True)
    for statistic in ("mean", "total"):
        row = getattr(design, statistic)("tourist_score").to_frame().iloc[0]
        np.testing.assert_allclose(row["estimate"], reference.loc[statistic, "estimate"], rtol=1e-9)
        np.testing.assert_allclose(row["se"], reference.loc[statistic, "se"], rtol=1e-6)
