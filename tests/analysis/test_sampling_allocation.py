"""Allocation across strata (analysis.sampling.allocation)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import optimize

from analysis.sampling import ALLOCATION_METHODS, Allocation, SamplingError, allocate
from survey_app.margins import CENSUS_FILE as CENSUS


@pytest.fixture
def districts() -> pd.DataFrame:
    return pd.read_csv(CENSUS)


def optimal_allocation(weights: np.ndarray, lower: np.ndarray, upper: np.ndarray, total: int) -> np.ndarray:
    """Minimise sum(w_h^2 / n_h) subject to sum(n_h) = total and the bounds, numerically.

    The allocation proportional to w_h is the minimiser without bounds (Cauchy-Schwarz;
    for w_h = N_h S_h this is the variance of the stratified mean, Cochran 1977 thm 5.6),
    so it is an independent check of the bounded closed form.
    """
    # Work in shares of the total with normalised weights so the problem is well scaled.
    w = weights / weights.sum()
    start = np.clip(w, lower / total, upper / total)
    start /= start.sum()
    result = optimize.minimize(
        lambda x: np.sum(w**2 / x),
        start,
        jac=lambda x: -(w**2) / x**2,
        bounds=list(zip(lower / total, upper / total)),
        constraints=[{"type": "eq", "fun": lambda x: x.sum() - 1, "jac": lambda x: np.ones_like(x)}],
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 1000},
    )
    assert result.success, result.message
    return result.x * total


def test_proportional_with_minimum_hand_derived() -> None:
    # C's proportional share 10 is below the minimum 15, so C gets 15 and the remaining 85
    # go 7:2 to A and B: 66.11 and 18.89, rounded to 66 and 19.
    frame = pd.DataFrame({"district": ["A", "B", "C"], "pop": [7000, 2000, 1000]})
    result = allocate(frame, "district", "pop", total=100, minimum=15)
    assert result.as_dict() == {"A": 66, "B": 19, "C": 15}
    assert result.exact == pytest.approx((85 * 7 / 9, 85 * 2 / 9, 15.0), rel=1e-12)


def test_sqrt_hand_derived() -> None:
    # sqrt(7000) : sqrt(2000) : sqrt(1000) = 83.67 : 44.72 : 31.62 -> 52.29, 27.95, 19.76;
    # floors 52 + 27 + 19 = 98, the two largest remainders (B, C) get one more.
    frame = pd.DataFrame({"district": ["A", "B", "C"], "pop": [7000, 2000, 1000]})
    assert allocate(frame, "district", "pop", total=100, method="sqrt").as_dict() == {"A": 52, "B": 28, "C": 20}


@pytest.mark.parametrize("method", ["proportional", "sqrt", "neyman"])
@pytest.mark.parametrize("minimum", [0, 150, 220])
def test_bounded_allocation_is_the_numerical_optimum(districts: pd.DataFrame, method: str, minimum: int) -> None:
    frame = districts.assign(p=[0.80, 0.86, 0.84, 0.88, 0.90, 0.87, 0.85, 0.83])
    options = {"p": "p"} if method == "neyman" else {}
    result = allocate(frame, "district", "resident_population_2020", total=2400, method=method,
                      minimum=minimum, **options)
    sizes = frame["resident_population_2020"].to_numpy(dtype=float)
    spread = np.sqrt(frame["p"] * (1 - frame["p"])).to_numpy()
    weights = {"proportional": sizes, "sqrt": np.sqrt(sizes), "neyman": sizes * spread}[method]
    expected = optimal_allocation(weights, np.full(8, float(minimum)), sizes, 2400)
    np.testing.assert_allclose(result.exact, expected, rtol=1e-5)
    assert sum(result.counts) == 2400


def test_equal_allocation_differs_by_at_most_one(districts: pd.DataFrame) -> None:
    counts = allocate(districts, "district", "resident_population_2020", total=1003, method="equal").counts
    assert max(counts) - min(counts) == 1 and sum(counts) == 1003


def test_neyman_from_sd_equals_neyman_from_p() -> None:
    frame = pd.DataFrame({"d": list("ABCD"), "N": [500, 900, 300, 1200], "p": [0.5, 0.9, 0.7, 0.95]})
    frame["sd"] = np.sqrt(frame["p"] * (1 - frame["p"]))
    by_p = allocate(frame, "d", "N", total=400, method="neyman", p="p")
    by_sd = allocate(frame, "d", "N", total=400, method="neyman", sd="sd")
    assert by_p.counts == by_sd.counts
    np.testing.assert_allclose(by_p.exact, by_sd.exact, rtol=1e-12)


def test_allocation_never_exceeds_the_stratum() -> None:
    frame = pd.DataFrame({"d": ["small", "big"], "N": [30, 10_000]})
    result = allocate(frame, "d", "N", total=200, method="equal")
    assert result.as_dict() == {"small": 30, "big": 170}


sizes_strategy = st.lists(st.floats(1, 1e6), min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(sizes=sizes_strategy, method=st.sampled_from(["proportional", "equal", "sqrt", "neyman"]),
       minimum=st.integers(0, 50), extra=st.integers(0, 5000), data=st.data())
def test_allocation_properties(sizes, method, minimum, extra, data) -> None:
    upper = np.floor(sizes)
    assume(np.all(upper >= minimum))
    total = min(int(upper.sum()), len(sizes) * minimum + extra)
    assume(total >= 1)
    frame = pd.DataFrame({"d": [f"s{i}" for i in range(len(sizes))], "N": sizes})
    options = {}
    if method == "neyman":
        frame["sd"] = data.draw(st.lists(st.floats(0.01, 100), min_size=len(sizes), max_size=len(sizes)))
        options = {"sd": "sd"}
    result = allocate(frame, "d", "N", total=total, method=method, minimum=minimum, **options)
    counts = np.array(result.counts)
    assert counts.sum() == total
    assert np.all(counts >= minimum) and np.all(counts <= upper)
    assert np.all(np.abs(counts - np.array(result.exact)) < 1)
    assert sum(result.exact) == pytest.approx(total, rel=1e-9)


@settings(max_examples=100, deadline=None)
@given(sizes=st.lists(st.integers(100, 10**6), min_size=2, max_size=8, unique=True),
       scale=st.sampled_from([0.5, 3.0, 1000.0]), seed=st.integers(0, 2**32 - 1))
def test_allocation_invariances(sizes, scale, seed) -> None:
    frame = pd.DataFrame({"d": [f"s{i}" for i in range(len(sizes))], "N": sizes})
    base = allocate(frame, "d", "N", total=50 * len(sizes), method="sqrt", minimum=10)
    # Relabelling the rows' order permutes the allocation.
    shuffled = frame.sample(frac=1, random_state=np.random.default_rng(seed))
    moved = allocate(shuffled, "d", "N", total=50 * len(sizes), method="sqrt", minimum=10)
    assert moved.as_dict() == pytest.approx(base.as_dict()) or _same_up_to_ties(base, moved)
    # Measuring sizes in other units changes nothing when no stratum is capped at its size
    # (floor(N), which in half units can be below the proportional share).
    plain = allocate(frame, "d", "N", total=50 * len(sizes), method="proportional")
    assume(all(e < np.floor(n * scale) for e, n in zip(plain.exact, sizes)))
    rescaled = allocate(frame.assign(N=frame["N"] * scale), "d", "N", total=50 * len(sizes), method="proportional")
    np.testing.assert_allclose(rescaled.exact, plain.exact, rtol=1e-9)


def _same_up_to_ties(a: Allocation, b: Allocation) -> bool:
    exact_a, exact_b = dict(zip(a.strata, a.exact)), dict(zip(b.strata, b.exact))
    return all(abs(exact_a[s] - exact_b[s]) < 1e-9 for s in exact_a)


def test_frame_and_summary() -> None:
    frame = pd.DataFrame({"district": ["A", "B", "C"], "pop": [7000, 2000, 1000]})
    result = allocate(frame, "district", "pop", total=100, minimum=15)
    table = result.to_frame()
    assert list(table["district"]) == ["A", "B", "C"]
    assert list(table["allocated"]) == [66, 19, 15]
    assert table["population_share"].tolist() == pytest.approx([0.7, 0.2, 0.1])
    assert table["at_minimum"].tolist() == [False, False, True]
    assert "proportional allocation of 100" in result.summary() and "(minimum)" in result.summary()


def test_unknown_method_lists_the_allowed_ones() -> None:
    frame = pd.DataFrame({"d": ["A"], "N": [10]})
    with pytest.raises(ValueError) as info:
        allocate(frame, "d", "N", total=5, method="optimal")  # type: ignore[arg-type]
    assert isinstance(info.value, SamplingError)
    for method in ALLOCATION_METHODS:
        assert repr(method) in str(info.value)


@pytest.mark.parametrize(
    "frame, options, words",
    [
        (pd.DataFrame({"d": ["A", "B"], "N": [100, 200]}), {"total": 50, "minimum": 30}, ["total=50", "minimum=30", "60"]),
        (pd.DataFrame({"d": ["A", "B"], "N": [10, 200]}), {"total": 50, "minimum": 20}, ["minimum=20", "'A' (N = 10)"]),
        (pd.DataFrame({"d": ["A", "B"], "N": [100, -5]}), {"total": 50}, ["'N'", "rows 1 (-5)"]),
        (pd.DataFrame({"d": ["A", "A"], "N": [100, 5]}), {"total": 50}, ["unique", "0 ('A')", "1 ('A')"]),
        (pd.DataFrame({"d": ["A", "B"], "N": [100, 5]}), {"total": 500}, ["total=500", "105"]),
        (pd.DataFrame({"d": ["A", "B"], "N": [100, 5]}), {"total": 50, "method": "neyman"}, ["neyman", "sd=", "p="]),
        (pd.DataFrame({"d": ["A", "B"], "N": [100, 5]}), {"total": 50, "p": "x"}, ["only by method='neyman'"]),
        (pd.DataFrame({"d": ["A", "B"], "N": [100, 5], "p": [0.5, 1.5]}), {"total": 50, "method": "neyman", "p": "p"},
         ["'p'", "[0, 1]", "rows 1 (1.5)"]),
        (pd.DataFrame({"d": ["A", "B"], "N": [100, 5]}), {"total": 0}, ["total must be at least 1"]),
        (pd.DataFrame({"d": ["A"], "size": [100]}), {"total": 5}, ["no column 'N'", "'size'"]),
    ],
)
def test_bad_allocation_inputs(frame: pd.DataFrame, options: dict, words: list[str]) -> None:
    with pytest.raises(SamplingError) as info:
        allocate(frame, "d", "N", **options)
    for word in words:
        assert word in str(info.value)
