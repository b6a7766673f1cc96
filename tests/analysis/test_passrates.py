"""Pass rates of inspection samples against R (binom.test, svyciprop beta), and at 0 and 1 failures.

``tests/reference/passrates_reference.csv`` holds R's values beside the command that gave
them; bounds must agree to 1e-6 (relative), estimates to 1e-9. A slow test re-runs the R
script and checks the stored CSV is what R gives now.
"""
from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import SurveyDesign
from analysis.errors import SurveyError, VariableError
from analysis.passrates import PASS_RATE_COLUMNS, clopper_pearson, further_samples, pass_rates
from tests.conftest import REFERENCE_DIR
from tests.reference.checks import assert_script_reproduces, load_reference

REFERENCE_CSV = REFERENCE_DIR / "passrates_reference.csv"
SAMPLE_CSV = REFERENCE_DIR / "passrates_sample.csv"
TOLERANCE = {"estimate": 1e-9, "ci_low": 1e-6, "ci_high": 1e-6}


def _load() -> pd.DataFrame:
    return load_reference("passrates_reference.csv")


REFERENCE = _load()


def _close(actual: float, expected: float, rel: float) -> bool:
    return abs(actual - expected) <= rel * max(abs(expected), 1e-300) or abs(actual - expected) <= 1e-13


def _level(case: str) -> float:
    return float(case.split("level=")[1])


@pytest.mark.parametrize("case", sorted(c for c in REFERENCE["case"].unique() if c.startswith("exact/")))
def test_exact_intervals_equal_binom_test(case):
    rows = REFERENCE[REFERENCE["case"] == case]
    assert len(rows) >= 30
    for row in rows.itertuples(index=False):
        passed, n = map(int, row.domain.split("/"))
        records = pd.DataFrame({"passed": [1] * passed + [0] * (n - passed)})
        table = pass_rates(records, "passed", level=_level(case)).to_frame().loc["all"]
        assert table["method"] == "exact"
        assert _close(float(table[row.quantity]), float(row.value), TOLERANCE[row.quantity]), \
            (row.domain, row.quantity, table[row.quantity], row.value)
        if row.quantity != "estimate":
            low, high = clopper_pearson(passed, n, level=_level(case))
            assert _close({"ci_low": low, "ci_high": high}[row.quantity], float(row.value), 1e-6)


@pytest.mark.parametrize("case", sorted(c for c in REFERENCE["case"].unique() if c.startswith("beta/")))
def test_design_intervals_equal_svyciprop_beta(case):
    sample = pd.read_csv(SAMPLE_CSV)
    table = pass_rates(sample, "passed", by="category", strata="district", weights="weight",
                       level=_level(case)).to_frame()
    assert set(table["method"]) == {"beta"}
    rows = REFERENCE[REFERENCE["case"] == case]
    # every category is there: three with svyciprop's interval, the all-pass one with binom.test's
    assert set(rows["domain"]) == {"all", "food", "agricultural_products", "iodised_salt"}
    for row in rows.itertuples(index=False):
        actual = float(table.loc[row.domain, row.quantity])
        assert _close(actual, float(row.value), TOLERANCE[row.quantity]), (row.domain, row.quantity, actual, row.value)


def test_each_category_as_its_own_design_equals_svyciprop_beta():
    sample = pd.read_csv(SAMPLE_CSV)
    rows = REFERENCE[REFERENCE["case"] == "beta_own_design/level=0.95"]
    assert set(rows["domain"]) == {"food", "agricultural_products"}  # the categories with a failure
    for category, expected in rows.groupby("domain"):
        own = sample[sample["category"] == category].reset_index(drop=True)
        table = pass_rates(own, "passed", strata="district", weights="weight").to_frame().loc["all"]
        for row in expected.itertuples(index=False):
            assert _close(float(table[row.quantity]), float(row.value), TOLERANCE[row.quantity]), \
                (category, row.quantity, table[row.quantity], row.value)


def test_design_at_100_percent_is_clopper_pearson_on_kish_n():
    """R's svyciprop gives NaN at 100% (zero variance); SurveyDesign.proportion gives the exact
    interval for Kish's effective sample size, documented in analysis/passrates.py."""
    sample = pd.read_csv(SAMPLE_CSV)
    aquatic = sample[sample["category"] == "aquatic_products"]
    assert aquatic["passed"].all() and aquatic["weight"].nunique() > 1
    table = pass_rates(sample, "passed", by="category", strata="district", weights="weight").to_frame()
    kish = aquatic["weight"].sum() ** 2 / (aquatic["weight"] ** 2).sum()
    assert kish < len(aquatic)
    assert table.loc["aquatic_products", "ci_low"] == pytest.approx(0.025 ** (1 / kish), rel=1e-12)
    assert table.loc["aquatic_products", "ci_high"] == 1.0
    assert table.loc["aquatic_products", "failed"] == 0
    design = SurveyDesign(sample, strata="district", weights="weight", nest=True)
    direct = design.proportion("passed", by="category", ci_method="beta").to_frame()
    assert table.loc["aquatic_products", "ci_low"] == direct.loc["aquatic_products", "ci_low"]


@pytest.mark.r_reference
def test_stored_reference_is_what_r_gives(tmp_path):
    assert_script_reproduces("passrates_reference.R", "passrates_reference.csv", tmp_path)


# -- 0 and 1 failures (the "rule of three" region) -----------------------------------------------

sizes = st.integers(min_value=1, max_value=5000)
levels = st.sampled_from([0.8, 0.9, 0.95, 0.99])
thresholds = st.sampled_from([0.9, 0.95, 0.97, 0.98])


@settings(max_examples=150, deadline=None)
@given(n=sizes, level=levels)
def test_zero_failures_interval_is_exact_and_never_of_zero_width(n, level):
    low, high = clopper_pearson(n, n, level=level)
    alpha = 1 - level
    assert high == 1.0
    assert low == pytest.approx((alpha / 2) ** (1 / n), rel=1e-12)
    assert low < 1.0
    # the rule of three: the failure rate's bound is about -log(alpha/2)/n, and never below it
    assert 1 - low <= -math.log(alpha / 2) / n + 1e-12


@settings(max_examples=150, deadline=None)
@given(n=st.integers(min_value=2, max_value=5000), level=levels)
def test_one_failure_interval_is_exact(n, level):
    low, high = clopper_pearson(n - 1, n, level=level)
    alpha = 1 - level
    assert high == pytest.approx((1 - alpha / 2) ** (1 / n), rel=1e-12)  # P(X >= n - 1 | high) = alpha/2 ...
    assert 0 < low < (n - 1) / n < high < 1
    # ... and the lower limit solves P(X >= n - 1) = alpha/2: n p^(n-1) (1-p) + p^n
    assert n * low ** (n - 1) * (1 - low) + low ** n == pytest.approx(alpha / 2, rel=1e-7)
    zero_low, _ = clopper_pearson(n, n, level=level)
    assert low < zero_low  # one failure lowers the bound


@settings(max_examples=150, deadline=None)
@given(n=sizes, level=levels, threshold=thresholds)
def test_zero_failures_verdict_and_further_samples(n, level, threshold):
    records = pd.DataFrame({"passed": [1] * n})
    row = pass_rates(records, "passed", threshold=threshold, level=level).to_frame().loc["all"]
    needed = math.ceil(math.log((1 - level) / 2) / math.log(threshold))  # (alpha/2)^(1/N) >= threshold
    # never "not met" at 0 failures; met exactly from the closed-form sample size on
    assert row["verdict"] == ("met" if n >= needed else "inconclusive")
    if row["verdict"] == "inconclusive":
        assert row["further_samples"] == needed - n
        low, _ = clopper_pearson(needed, needed, level=level)
        assert low >= threshold > clopper_pearson(needed - 1, needed - 1, level=level)[0]
    else:
        assert pd.isna(row["further_samples"])


@settings(max_examples=100, deadline=None)
@given(n=st.integers(min_value=2, max_value=3000), level=levels, threshold=thresholds)
def test_one_failure_further_samples_decide_and_are_the_fewest(n, level, threshold):
    rate = (n - 1) / n
    extra = further_samples(rate, n=n, threshold=threshold, level=level)
    low, high = clopper_pearson(n - 1, n, level=level)
    if low >= threshold or high < threshold:
        assert extra == 0
        return
    if extra is None:  # more than a billion, or the rate equals the threshold
        assert math.isclose(rate, threshold) or rate > threshold
        return
    alpha = 1 - level

    def decided(m: int) -> bool:
        size = n + m
        from analysis.passrates import _interval
        lo, hi = _interval(rate * size, size, alpha)
        return lo >= threshold if rate > threshold else hi < threshold

    assert decided(extra) and not decided(extra - 1)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(min_value=3, max_value=400), failures=st.integers(min_value=0, max_value=1),
       weight=st.floats(min_value=0.5, max_value=20))
def test_equal_weights_without_strata_give_the_exact_interval_at_0_failures(n, failures, weight):
    """A design of equal weights is a simple random sample: at 0 failures its beta interval is
    binom.test's (at 1 failure the Korn-Graubard df adjustment makes it differ slightly)."""
    records = pd.DataFrame({"passed": [1] * (n - failures) + [0] * failures, "w": weight})
    design = pass_rates(records, "passed", weights="w").to_frame().loc["all"]
    exact = pass_rates(records, "passed").to_frame().loc["all"]
    assert design["estimate"] == pytest.approx(exact["estimate"], rel=1e-12)
    if failures == 0:
        assert design["ci_low"] == pytest.approx(exact["ci_low"], rel=1e-9)
        assert design["ci_high"] == exact["ci_high"] == 1.0
    else:
        assert design["ci_low"] < design["estimate"] < design["ci_high"] < 1


# -- table and errors ----------------------------------------------------------------------------

def test_table_by_category_counts_and_summary():
    sample = pd.read_csv(SAMPLE_CSV)
    rates = pass_rates(sample, "passed", by="category", threshold=0.95)
    table = rates.to_frame()
    assert list(table.columns) == list(PASS_RATE_COLUMNS)
    assert list(table.index) == ["all", "agricultural_products", "aquatic_products", "food", "iodised_salt"]
    counts = sample.groupby("category")["passed"].agg(["size", "sum"])
    assert table.loc["food", "n"] == counts.loc["food", "size"]
    assert table.loc["food", "failed"] == counts.loc["food", "size"] - counts.loc["food", "sum"]
    text = rates.summary()
    assert "binom.test" in text and "iodised_salt: 100.00%" in text
    assert rates.to_frame() is not rates.to_frame()


def test_without_threshold_there_is_no_verdict():
    table = pass_rates(pd.DataFrame({"passed": [1, 1, 0]}), "passed").to_frame()
    assert table.loc["all", "verdict"] is None and pd.isna(table.loc["all", "further_samples"])


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        (dict(variable="missing"), VariableError, "no such column"),
        (dict(threshold=95), SurveyError, "threshold=0.95"),
        (dict(level=95), SurveyError, "level=0.95"),
        (dict(method="wald"), SurveyError, "auto, exact, beta"),
        (dict(method="exact", weights="w"), SurveyError, "method='beta'"),
    ],
)
def test_bad_arguments_say_the_fix(kwargs, error, words):
    records = pd.DataFrame({"passed": [1, 0, 1], "w": [1.0, 2.0, 1.0]})
    variable = kwargs.pop("variable", "passed")
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        pass_rates(records, variable, **kwargs)


def test_values_other_than_0_and_1_are_refused():
    with pytest.raises(VariableError, match="1 \\(passed\\) and 0 \\(failed\\)"):
        pass_rates(pd.DataFrame({"passed": [1, 2]}), "passed")
    with pytest.raises(VariableError):
        pass_rates(pd.DataFrame({"passed": [1, None]}), "passed")
    with pytest.raises(SurveyError, match="whole number"):
        clopper_pearson(1.5, 3)
