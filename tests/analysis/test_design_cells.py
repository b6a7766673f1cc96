"""Estimates formed from cached cell sums do not depend on what was asked before.

``SurveyDesign`` sums a variable's rows once into cells refining the domain columns used so
far and forms every domain's estimate from the cells.  Whatever the order of the calls --
a fresh design per estimate, several domain columns in a row, columns named up front with
``prepare_domains``, a near-unique column that gets cells of its own -- the estimates must
be those of a fresh design asked once.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from analysis import SurveyDesign, VariableError

COLUMNS = ["estimate", "se", "ci_low", "ci_high", "df", "n", "n_eff"]
DOMAINS = [None, "region", "sex", "age", ["sex", "age"]]


def make_sample(rng: np.random.Generator, n: int, zero_weight_share: float) -> pd.DataFrame:
    psu = rng.integers(0, 30, n)
    region = psu % 3                      # constant within PSUs, like a district
    data = pd.DataFrame({
        "stratum": region,
        "psu": psu,
        "region": np.array(["north", "centre", "south"])[region],
        "weight": rng.uniform(0.5, 3.0, n) * (rng.random(n) >= zero_weight_share),
        "sex": rng.choice(["f", "m"], n),
        "age": rng.choice(["young", "middle", "old"], n),
        "id": np.arange(n),
        "y": rng.normal(60, 12, n) + psu,
        "p": (rng.random(n) < 0.2 + psu / 50).astype(float),
    })
    data.loc[data.index[0], "weight"] = 1.0
    data.loc[rng.random(n) < 0.25, "y"] = np.nan
    data.loc[rng.random(n) < 0.6, "p"] = np.nan
    return data


def design_of(data: pd.DataFrame, raked: bool) -> SurveyDesign:
    design = SurveyDesign(data, weights="weight", strata="stratum", psu="psu")
    if raked:
        total = float(data["weight"].sum())
        design = design.rake({"sex": {"f": 0.52 * total, "m": 0.48 * total},
                              "age": {"young": 0.3 * total, "middle": 0.4 * total,
                                      "old": 0.3 * total}})
    return design


def estimate(design: SurveyDesign, statistic: str, by) -> pd.DataFrame:
    variable = "p" if statistic == "proportion" else "y"
    return getattr(design, statistic)(variable, by=by).to_frame()[COLUMNS]


def assert_same(table: pd.DataFrame, reference: pd.DataFrame) -> None:
    assert table.index.equals(reference.index)
    np.testing.assert_allclose(table.to_numpy(float), reference.to_numpy(float),
                               rtol=1e-12, atol=1e-14)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), zero_weight_share=st.sampled_from([0.0, 0.1]),
       statistic=st.sampled_from(["mean", "total", "proportion"]), raked=st.booleans(),
       prepared=st.booleans(), order=st.permutations(range(len(DOMAINS))))
def test_estimates_do_not_depend_on_earlier_calls(seed, zero_weight_share, statistic, raked,
                                                  prepared, order):
    data = make_sample(np.random.default_rng(seed), 300, zero_weight_share)
    shared = design_of(data, raked)
    if prepared:
        assert shared.prepare_domains(["sex", "region", "age"]) is shared
    for i in order:
        by = DOMAINS[i]
        assert_same(estimate(shared, statistic, by),
                    estimate(design_of(data, raked), statistic, by))


def test_a_near_unique_domain_column_leaves_the_other_estimates_alone(rng):
    data = make_sample(rng, 400, 0.05)
    shared = design_of(data, raked=True)
    by_sex = estimate(shared, "mean", "sex")
    by_id = estimate(shared, "mean", "id")
    assert len(by_id) == int((data["weight"] > 0).sum())   # one domain per respondent
    assert_same(by_id, estimate(design_of(data, raked=True), "mean", "id"))
    assert_same(estimate(shared, "mean", "sex"), by_sex)
    assert_same(estimate(shared, "mean", ["sex", "id"]),
                estimate(design_of(data, raked=True), "mean", ["sex", "id"]))


@pytest.mark.parametrize("raked", [False, True])
@pytest.mark.parametrize("mostly_answered", [False, True])   # the two ways of summing rows
def test_a_domain_where_every_answer_is_one_is_exactly_one(rng, raked, mostly_answered):
    data = make_sample(rng, 500, 0.0)
    if mostly_answered:
        refill = data["p"].isna() & (rng.random(len(data)) < 0.9)
        data.loc[refill, "p"] = (rng.random(int(refill.sum())) < 0.4).astype(float)
    data.loc[(data["region"] == "north") & data["p"].notna(), "p"] = 1.0
    data.loc[(data["region"] == "south") & data["p"].notna(), "p"] = 0.0
    design = design_of(data, raked)
    design.mean("y", by="region")          # cells shared with another variable first
    table = design.proportion("p", by="region").to_frame()
    assert table.loc["north", "estimate"] == 1.0 and table.loc["north", "ci_high"] == 1.0
    assert table.loc["south", "estimate"] == 0.0 and table.loc["south", "ci_low"] == 0.0
    assert table.loc["north", "ci_low"] < 1.0 and table.loc["south", "ci_high"] > 0.0
    assert 0.0 < table.loc["centre", "estimate"] < 1.0


def test_prepare_domains_names_an_unknown_column(rng):
    design = design_of(make_sample(rng, 100, 0.0), raked=False)
    with pytest.raises(VariableError, match="not in the data") as err:
        design.prepare_domains(["sex", "gender"])
    assert err.value.argument == "columns" and err.value.value == "gender"


def stratified_cluster_variance(data: pd.DataFrame, values: pd.Series) -> float:
    """Textbook variance of a weighted total, PSUs with replacement within strata, with the
    finite population correction: sum over strata of ``(1 - n_h/N_h) n_h/(n_h - 1)`` times
    the sum of squared deviations of the PSU totals from their stratum mean."""
    psu_totals = (data["weight"] * values).groupby([data["stratum"], data["psu"]],
                                                   observed=True).sum()
    variance = 0.0
    for stratum, totals in psu_totals.groupby(level=0, observed=True):
        n_h = len(totals)
        fpc = data.loc[data["stratum"] == stratum, "fpc"].iloc[0]
        variance += (1 - n_h / fpc) * n_h / (n_h - 1) * ((totals - totals.mean()) ** 2).sum()
    return variance


@pytest.mark.parametrize("unused_category", [False, True])
def test_stratified_variance_matches_the_textbook_formula(rng, unused_category):
    # PSU and stratum labels in no particular order, strata of different sizes; categorical
    # strata and PSUs may list categories without rows
    n = 600
    stratum = rng.choice(["west", "east", "north"], n, p=[0.5, 0.3, 0.2])
    psu = np.array([f"{s}-{k}" for s, k in zip(stratum, rng.integers(0, 7, n))])
    data = pd.DataFrame({"stratum": stratum, "psu": psu,
                         "weight": rng.uniform(1.0, 4.0, n), "y": rng.normal(10, 3, n),
                         "sex": rng.choice(["f", "m"], n)})
    data["fpc"] = data["stratum"].map({"west": 40.0, "east": 25.0, "north": 12.0})
    if unused_category:
        data["stratum"] = pd.Categorical(data["stratum"],
                                         categories=["south", "west", "east", "north"])
        data["psu"] = pd.Categorical(data["psu"], categories=["none", *sorted(set(psu))[::-1]])
    design = SurveyDesign(data, weights="weight", strata="stratum", psu="psu", fpc="fpc")
    assert design.total("y").se ** 2 == pytest.approx(
        stratified_cluster_variance(data, data["y"]), rel=1e-12)
    by_sex = design.total("y", by="sex").to_frame()
    for sex in ("f", "m"):
        assert by_sex.loc[sex, "se"] ** 2 == pytest.approx(
            stratified_cluster_variance(data, data["y"] * (data["sex"] == sex)), rel=1e-12)
