"""PPS selection, assignments and design weights (analysis.sampling.selection)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.errors import DesignError
from analysis.sampling import (
    ASSIGNMENT_COLUMNS,
    SamplingError,
    attach_design_weights,
    check_frame,
    pps_inclusion_probabilities,
    read_frame,
    select_psus,
    systematic_sample,
)
from tests.conftest import REFERENCE_DIR

REFERENCE = Path(__file__).parent.parent / "reference" / "sampling_inclusion_probabilities.csv"
APIPOP = REFERENCE_DIR / "api" / "apipop.csv"


def make_frame(rng: np.random.Generator, districts: dict[str, int]) -> pd.DataFrame:
    """A synthetic frame: ``districts`` maps a district to its number of communities."""
    rows = []
    for name, count in districts.items():
        for i in range(count):
            rows.append({"district": name, "psu": f"{name}-{i:03d}", "psu_name": f"{name} 社区 {i}",
                         "size": int(rng.integers(200, 4000))})
    return pd.DataFrame(rows)


def test_inclusion_probabilities_hand_derived() -> None:
    # n = 2 of sizes 50, 30, 10, 5, 5 (total 100): 2 * 50 / 100 = 1, so the first unit is
    # certain; the second draw spreads over the other 50: 30/50, 10/50, 5/50, 5/50.
    assert pps_inclusion_probabilities([50, 30, 10, 5, 5], 2) == pytest.approx([1, 0.6, 0.2, 0.1, 0.1], abs=1e-15)


def test_inclusion_probabilities_match_r_sampling() -> None:
    # tests/reference/sampling_inclusion_probabilities.R: sampling::inclusionprobabilities.
    reference = pd.read_csv(REFERENCE, dtype={"cds": str})
    for stype, group in reference.groupby("stype"):
        pi = pps_inclusion_probabilities(group["enroll"].to_numpy(), int(group["requested"].iloc[0]))
        np.testing.assert_allclose(pi, group["pik"], rtol=1e-12, err_msg=stype)
    assert (reference["pik"] >= 1).sum() == 8  # certainty units in all three strata


def test_select_psus_first_stage_matches_r_sampling() -> None:
    reference = pd.read_csv(REFERENCE, dtype={"cds": str})
    frame = reference.rename(columns={"stype": "district", "cds": "psu", "enroll": "size"})
    requested = frame.groupby("district")["requested"].first().to_dict()
    selection = select_psus(frame, psus=requested, interviews_per_psu=20, seed=4, psu_name=None)
    table = selection.to_frame()
    np.testing.assert_allclose(table["pi_psu"], reference["pik"], rtol=1e-12)
    assert table.groupby("district")["selected"].sum().to_dict() == requested
    assert table.loc[table["certainty"], "selected"].all()
    assert table["certainty"].sum() == (reference["pik"] >= 1).sum()


def test_reference_frame_is_the_santa_clara_schools() -> None:
    # Guards the stored R output against a changed API population file.
    pop = pd.read_csv(APIPOP, dtype={"cds": str})
    schools = pop[(pop["cname"] == "Santa Clara") & pop["enroll"].notna()]
    reference = pd.read_csv(REFERENCE, dtype={"cds": str})
    assert reference["cds"].tolist() == schools["cds"].tolist()
    assert reference["enroll"].tolist() == schools["enroll"].tolist()


@settings(max_examples=300, deadline=None)
@given(sizes=st.lists(st.floats(0.1, 1e6), min_size=1, max_size=40), data=st.data())
def test_inclusion_probability_properties(sizes, data) -> None:
    n = data.draw(st.integers(1, len(sizes)))
    pi = pps_inclusion_probabilities(sizes, n)
    assert pi.sum() == pytest.approx(n, rel=1e-9)
    assert np.all(pi > 0) and np.all(pi <= 1)
    # Larger units never have a smaller probability; below 1 the probability is proportional to size.
    order = np.argsort(sizes)
    assert np.all(np.diff(pi[order]) >= -1e-12)
    below = pi < 1
    if below.sum() > 1:
        ratio = pi[below] / np.asarray(sizes)[below]
        assert ratio == pytest.approx(np.full(below.sum(), ratio[0]), rel=1e-9)


@settings(max_examples=200, deadline=None)
@given(sizes=st.lists(st.floats(0.1, 1e6), min_size=1, max_size=40), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_systematic_sample_takes_n_units_and_all_certainties(sizes, seed, data) -> None:
    n = data.draw(st.integers(1, len(sizes)))
    pi = pps_inclusion_probabilities(sizes, n)
    chosen = systematic_sample(pi, rng=np.random.default_rng(seed))
    assert chosen.sum() == n
    assert chosen[pi >= 1].all()


def test_systematic_selection_frequencies_converge_to_pi(rng: np.random.Generator) -> None:
    sizes = np.array([120, 900, 45, 300, 3000, 75, 640, 210, 1500, 80])
    pi = pps_inclusion_probabilities(sizes, 4)
    assert pi[4] == 1  # 4 * 3000 / 6870 > 1: a certainty unit
    draws = 20_000
    hits = np.zeros(sizes.size)
    for _ in range(draws):
        hits += systematic_sample(pi, rng=rng)
    # Each frequency is binomial(draws, pi_i): within 4.5 standard errors.
    se = np.sqrt(pi * (1 - pi) / draws)
    assert np.all(np.abs(hits / draws - pi) <= 4.5 * se + 1e-12)


def test_select_psus_frequencies_converge_in_random_order(rng: np.random.Generator) -> None:
    frame = make_frame(rng, {"A": 7, "B": 5})
    frame.loc[0, "size"] = 30_000  # certainty in A
    reps = 1_000
    hits = np.zeros(len(frame))
    for seed in range(reps):
        hits += select_psus(frame, psus={"A": 3, "B": 2}, interviews_per_psu=5, seed=seed,
                            order="random").to_frame()["selected"].to_numpy()
    pi = select_psus(frame, psus={"A": 3, "B": 2}, interviews_per_psu=5, seed=0).to_frame()["pi_psu"].to_numpy()
    se = np.sqrt(pi * (1 - pi) / reps)
    assert np.all(np.abs(hits / reps - pi) <= 4.5 * se + 1e-12)


def test_selection_is_reproducible_from_the_seed(rng: np.random.Generator) -> None:
    frame = make_frame(rng, {"崇川区": 30, "海门区": 25})
    first = select_psus(frame, psus=4, interviews_per_psu=10, seed=2026).assignments()
    again = select_psus(frame, psus=4, interviews_per_psu=10, seed=2026).assignments()
    pd.testing.assert_frame_equal(first, again)
    others = {tuple(select_psus(frame, psus=4, interviews_per_psu=10, seed=s).assignments()["psu"]) for s in range(10)}
    assert len(others) > 1


def test_assignments_and_design_weights(rng: np.random.Generator) -> None:
    frame = make_frame(rng, {"A": 20, "B": 12})
    frame.loc[0, "size"] = 60_000  # larger than A's sampling interval
    frame["households"] = (frame["size"] * 0.4).round()
    selection = select_psus(frame, psus={"A": 5, "B": 3}, interviews_per_psu=12, seed=11, units="households")
    out = selection.assignments()
    assert tuple(out.columns) == ASSIGNMENT_COLUMNS
    assert len(out) == 8 and (out["interviews"] == 12).all()
    assert out.groupby("district")["fpc"].first().to_dict() == {"A": 20, "B": 12}
    households = frame.set_index("psu").loc[out["psu"], "households"].to_numpy()
    np.testing.assert_allclose(out["pi_within"], 12 / households, rtol=1e-15)
    np.testing.assert_allclose(out["design_weight"], 1 / (out["pi_psu"] * out["pi_within"]), rtol=1e-15)
    assert out.loc[out["psu"] == "A-000", "pi_psu"].item() == 1.0


def test_pps_with_size_as_units_is_self_weighting(rng: np.random.Generator) -> None:
    # Without certainty units pi_psu * pi_within = (n x_i / X) (m / x_i) = n m / X: every
    # interview in a district has the weight X / (n m).
    frame = make_frame(rng, {"A": 40, "B": 30})
    selection = select_psus(frame, psus={"A": 6, "B": 4}, interviews_per_psu=10, seed=3)
    assert not selection.to_frame()["certainty"].any()
    out = selection.assignments()
    totals = frame.groupby("district")["size"].sum()
    expected = out["district"].map({"A": totals["A"] / 60, "B": totals["B"] / 40})
    np.testing.assert_allclose(out["design_weight"], expected, rtol=1e-12)


def test_weighted_interviews_estimate_the_frame_total_without_bias(rng: np.random.Generator) -> None:
    # Horvitz-Thompson: E[sum over interviews of design_weight] = total units in the frame.
    frame = make_frame(rng, {"A": 9, "B": 6})
    frame.loc[3, "size"] = 25_000
    estimates = [
        (lambda a: (a["design_weight"] * a["interviews"]).sum())(
            select_psus(frame, psus=3, interviews_per_psu=4, seed=s, order="random").assignments())
        for s in range(400)
    ]
    assert np.mean(estimates) == pytest.approx(frame["size"].sum(), rel=0.03)


def test_strata_and_summary(rng: np.random.Generator) -> None:
    frame = make_frame(rng, {"A": 10, "B": 8})
    selection = select_psus(frame, psus={"A": 3, "B": 2}, interviews_per_psu=15, seed=5)
    strata = selection.strata().set_index("district")
    assert strata.loc["A", "psus_in_frame"] == 10 and strata.loc["B", "psus_selected"] == 2
    assert strata.loc["A", "interviews"] == 45
    assert strata.loc["B", "interval"] == pytest.approx(frame.loc[frame["district"] == "B", "size"].sum() / 2)
    text = selection.summary()
    assert "seed 5" in text and "A: 3 of 10 PSUs" in text and "75 interviews" in text


def test_attach_design_weights_matches_by_district_and_psu(rng: np.random.Generator, tmp_path: Path) -> None:
    frame = make_frame(rng, {"A": 10, "B": 10})
    frame["psu"] = [str(100 + i) for i in range(len(frame))]  # numeric-looking ids
    assignments = select_psus(frame, psus=2, interviews_per_psu=3, seed=9).assignments()
    # The assignments travel as CSV; ids read back as numbers must still match.
    path = tmp_path / "assignments.csv"
    assignments.to_csv(path, index=False)
    stored = pd.read_csv(path)
    picks = assignments.sample(n=4, replace=True, random_state=np.random.default_rng(1))
    responses = pd.DataFrame({"sample_district": picks["district"].to_numpy(), "psu": picks["psu"].to_numpy(),
                              "q1": [5, 4, 3, 2]}, index=[10, 11, 12, 13])
    out = attach_design_weights(responses, stored, district="sample_district")
    assert out.index.tolist() == [10, 11, 12, 13] and out["q1"].tolist() == [5, 4, 3, 2]
    np.testing.assert_allclose(out["design_weight"], picks["design_weight"].to_numpy(), rtol=1e-12)
    assert out["fpc"].tolist() == [10, 10, 10, 10]


def test_attach_design_weights_errors(rng: np.random.Generator) -> None:
    frame = make_frame(rng, {"A": 6})
    assignments = select_psus(frame, psus=2, interviews_per_psu=3, seed=9).assignments()
    responses = pd.DataFrame({"district": ["A", "A"], "psu": [assignments["psu"][0], "nowhere"]})
    with pytest.raises(SamplingError, match=r"rows 1 \('A', 'nowhere'\)"):
        attach_design_weights(responses, assignments)
    with pytest.raises(SamplingError, match="twice"):
        attach_design_weights(responses.iloc[:1], pd.concat([assignments, assignments]))
    with pytest.raises(SamplingError, match="already has column 'design_weight'"):
        attach_design_weights(responses.iloc[:1].assign(design_weight=1.0), assignments)
    with pytest.raises(SamplingError, match="no column 'sample_district'"):
        attach_design_weights(responses, assignments, district="sample_district")


def test_read_frame_csv_excel_and_encodings(tmp_path: Path) -> None:
    frame = pd.DataFrame({"区县": ["崇川区", "崇川区", "海门区"], "社区编码": ["001", "002", "001"],
                          "社区名称": ["和平桥社区", "城东社区", "三星镇"], "户数": ["1,200", "800", "450"]})
    utf8 = tmp_path / "frame.csv"
    frame.to_csv(utf8, index=False, encoding="utf-8-sig")
    gbk = tmp_path / "frame_gbk.csv"
    frame.to_csv(gbk, index=False, encoding="gb18030")
    # An Excel sheet arrives as a table (the app reads workbooks with survey_app.uploads.read_workbook).
    for path in (utf8, gbk, frame.copy()):
        read = read_frame(path)
        assert read.index.tolist() == [2, 3, 4]  # spreadsheet row numbers
        checked = check_frame(read, district="区县", psu="社区编码", psu_name="社区名称", size="户数")
        assert checked["psu"].tolist() == ["001", "002", "001"]  # leading zeros kept
        assert checked["size"].tolist() == [1200.0, 800.0, 450.0]
    with open(utf8, "rb") as handle:
        assert read_frame(handle, filename="upload.csv").shape == (3, 4)
    with pytest.raises(ValueError, match=r"'\.pdf'.*'\.csv'"):
        read_frame(b"x", filename="frame.pdf")
    with pytest.raises(SamplingError, match="'frame.xlsx' is an Excel workbook: read it with survey_app.uploads"):
        read_frame(b"PK\x03\x04 not a workbook", filename="frame.xlsx")


def test_bad_frame_names_rows_in_file_numbering(tmp_path: Path) -> None:
    path = tmp_path / "frame.csv"
    path.write_text(
        "district,psu,psu_name,size\n"
        "A,a1,One,100\n"
        "A,a2,Two,0\n"
        ",a3,Three,50\n"
        "B,b1,Four,abc\n"
        "B,b1,Five,70\n",
        encoding="utf-8",
    )
    with pytest.raises(SamplingError) as info:
        check_frame(read_frame(path))
    message = str(info.value)
    assert isinstance(info.value, DesignError)
    assert "blank district ('district') in rows 4" in message
    assert "rows 3 ('0'), 5 ('abc')" in message
    assert "duplicate (district, psu) in rows 5 ('B', 'b1'), 6 ('B', 'b1')" in message


def test_missing_columns_are_named() -> None:
    frame = pd.DataFrame({"district": ["A"], "community": ["c1"], "households": [10]})
    with pytest.raises(SamplingError) as info:
        check_frame(frame)
    message = str(info.value)
    assert "psu='psu'" in message and "size='size'" in message and "'households'" in message


def test_district_with_too_few_psus_is_named(rng: np.random.Generator) -> None:
    frame = make_frame(rng, {"A": 5, "B": 2, "C": 3})
    with pytest.raises(SamplingError) as info:
        select_psus(frame, psus=3, interviews_per_psu=5, seed=1)
    assert "'B' has 2 PSUs, 3 requested" in str(info.value) and "'A'" not in str(info.value)


@pytest.mark.parametrize(
    "options, words",
    [
        ({"psus": {"A": 2}}, ["missing 'B'"]),
        ({"psus": {"A": 2, "B": 1, "Z": 1}}, ["not in the frame 'Z'"]),
        ({"psus": {"A": 2, "B": 0}}, ["psus['B'] must be at least 1"]),
        ({"psus": 2, "order": "sorted"}, ["order='sorted'", "'frame'", "'random'"]),
        ({"psus": 2, "seed": -1}, ["seed", "-1"]),
        ({"psus": 2, "interviews_per_psu": 5000}, ["interviews_per_psu=5000", "rows 0"]),
    ],
)
def test_bad_selection_options(rng: np.random.Generator, options: dict, words: list[str]) -> None:
    frame = make_frame(rng, {"A": 4, "B": 3})
    arguments = {"interviews_per_psu": 10, "seed": 1, **options}
    with pytest.raises(SamplingError) as info:
        select_psus(frame, **arguments)
    for word in words:
        assert word in str(info.value)


def test_bad_probabilities_for_systematic_sample(rng: np.random.Generator) -> None:
    with pytest.raises(SamplingError, match="whole number"):
        systematic_sample([0.5, 0.7], rng=rng)
    with pytest.raises(SamplingError, match=r"\[0, 1\]"):
        systematic_sample([1.5, 0.5], rng=rng)
    with pytest.raises(SamplingError, match="n=4 exceeds the 3 units"):
        pps_inclusion_probabilities([1, 2, 3], 4)


def test_attached_weights_and_fpc_make_a_survey_design(rng: np.random.Generator) -> None:
    # The plan's columns go straight into the analysis: svydesign(ids = ~psu, strata =
    # ~district, weights = ~design_weight, fpc = ~fpc) in R.
    from analysis import SurveyDesign

    frame = make_frame(rng, {"A": 20, "B": 15})
    assignments = select_psus(frame, psus={"A": 4, "B": 3}, interviews_per_psu=6, seed=3).assignments()
    responses = assignments.loc[assignments.index.repeat(assignments["interviews"]), ["district", "psu"]]
    responses = responses.reset_index(drop=True).assign(y=rng.integers(0, 2, len(responses)))
    data = attach_design_weights(responses, assignments)
    design = SurveyDesign(data, weights="design_weight", strata="district", psu="psu", fpc="fpc")
    total = design.total("y").to_frame()
    assert total["estimate"].item() == pytest.approx((data["design_weight"] * data["y"]).sum(), rel=1e-12)
    assert 0 < total["se"].item() < np.inf
