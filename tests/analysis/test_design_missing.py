"""Missing values (``na_rm``) in the estimators' fast paths.

``SurveyDesign`` sums a variable with a few missing values by taking the missing rows out of
cached all-row sums, and one with many missing values by summing zeroed weights.  Both must
give what R's ``na.rm = TRUE`` gives: the estimate over the domain of answering rows.  The
reference here is the project's own domain estimation (``by=`` an "answered" flag), which
has no missing values to handle.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from analysis import SurveyDesign, VariableError

COLUMNS = ["estimate", "se", "n", "n_eff"]


def make_sample(rng: np.random.Generator, n: int, missing_share: float,
                zero_weight_share: float) -> pd.DataFrame:
    psu = rng.integers(0, 40, n)
    data = pd.DataFrame({
        "stratum": psu % 4,
        "psu": psu,
        "weight": rng.uniform(0.5, 3.0, n) * (rng.random(n) >= zero_weight_share),
        "sex": rng.choice(["f", "m"], n),
        "y": rng.normal(50, 10, n) + psu,
        "p": (rng.random(n) < 0.3 + psu / 100).astype(float),
    })
    data.loc[data.index[0], "weight"] = 1.0  # some positive weight in any case
    asked = rng.random(n) >= missing_share
    data["answered"] = asked
    data["y_missing"] = data["y"].where(asked)
    data["p_missing"] = data["p"].where(asked)
    return data


def compare(design: SurveyDesign, statistic: str, by: str | None) -> None:
    value, missing = ("p", "p_missing") if statistic == "proportion" else ("y", "y_missing")
    estimator = getattr(design, statistic)
    with_missing = estimator(missing, by=by).to_frame()
    domains = ["answered"] if by is None else [by, "answered"]
    reference = estimator(value, by=domains).to_frame()
    if by is None:
        reference = reference.iloc[[reference.index.get_loc(True)]]
        reference.index = with_missing.index
    else:
        reference = reference.xs(True, level="answered").reindex(with_missing.index)
    np.testing.assert_allclose(with_missing[COLUMNS].to_numpy(float),
                               reference[COLUMNS].to_numpy(float), rtol=1e-9, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), missing_share=st.sampled_from([0.02, 0.3, 0.9]),
       zero_weight_share=st.sampled_from([0.0, 0.1]),
       statistic=st.sampled_from(["mean", "total", "proportion"]),
       by=st.sampled_from([None, "sex", "stratum"]), raked=st.booleans())
def test_missing_values_are_a_domain_of_answering_rows(seed, missing_share, zero_weight_share,
                                                       statistic, by, raked):
    rng = np.random.default_rng(seed)
    data = make_sample(rng, 400, missing_share, zero_weight_share)
    design = SurveyDesign(data, weights="weight", strata="stratum", psu="psu")
    if raked:
        total = float(data["weight"].sum())
        design = design.rake({"sex": {"f": total * 0.52, "m": total * 0.48}})
    compare(design, statistic, by)


def test_a_domain_where_everyone_is_missing(rng):
    data = make_sample(rng, 500, 0.3, 0.0)
    data.loc[data["stratum"] == 2, ["y_missing", "p_missing"]] = np.nan
    data.loc[data["stratum"] == 2, "answered"] = False
    design = SurveyDesign(data, weights="weight", strata="stratum", psu="psu")
    table = design.proportion("p_missing", by="stratum").to_frame()
    assert table.loc[2, "n"] == 0 and np.isnan(table.loc[2, "estimate"])
    assert table.loc[2, "n_eff"] == 0 or np.isnan(table.loc[2, "n_eff"])
    compare(design, "mean", "sex")


@pytest.mark.parametrize("missing_share", [0.02, 0.9])
def test_missing_values_refused_without_na_rm(rng, missing_share):
    data = make_sample(rng, 300, missing_share, 0.0)
    design = SurveyDesign(data, weights="weight", strata="stratum", psu="psu")
    with pytest.raises(VariableError, match="missing values") as err:
        design.mean("y_missing", by="sex", na_rm=False)
    assert err.value.argument == "na_rm"


def test_missing_rows_of_weight_zero_change_nothing(rng):
    data = make_sample(rng, 400, 0.0, 0.0)
    data.loc[data.index[:50], "weight"] = 0.0
    data.loc[data.index[:50], "y_missing"] = np.nan
    design = SurveyDesign(data, weights="weight", strata="stratum", psu="psu")
    full = design.mean("y", by="sex", na_rm=False).to_frame()
    pd.testing.assert_frame_equal(design.mean("y_missing", by="sex", na_rm=False).to_frame(), full)
