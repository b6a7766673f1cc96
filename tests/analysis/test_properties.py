"""Property tests (hypothesis): raking reproduces margins, row order changes nothing, and a
domain's estimate is the estimate on the domain's rows."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import SurveyDesign

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def samples(draw):
    """A small stratified cluster sample: 2-4 strata, 2-4 PSUs each, 2-6 rows per PSU."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    rows = []
    n_strata = draw(st.integers(2, 4))
    for h in range(n_strata):
        for c in range(int(rng.integers(2, 5))):
            for _ in range(int(rng.integers(2, 7))):
                rows.append({"stratum": f"S{h}", "psu": f"S{h}P{c}", "fpc": 40,
                             "w": float(rng.uniform(1, 20)),
                             "sex": rng.choice(["m", "f"]),
                             "age": rng.choice(["young", "mid", "old"]),
                             "y": float(rng.normal(5, 2)),
                             "b": int(rng.random() < 0.4)})
    df = pd.DataFrame(rows)
    # every sex x age cell present, so that any positive margins can be met
    for i, (sex, age) in enumerate([(s, a) for s in ("m", "f")
                                    for a in ("young", "mid", "old")]):
        df.loc[i, ["sex", "age"]] = [sex, age]
    return df


def _design(df):
    return SurveyDesign(df, weights="w", strata="stratum", psu="psu", fpc="fpc")


@SETTINGS
@given(samples(), st.floats(0.2, 0.8), st.floats(0.1, 0.5))
def test_raked_weights_reproduce_every_margin(df, share_m, share_young):
    total = 1000.0
    margins = {
        "sex": {"m": total * share_m, "f": total * (1 - share_m)},
        "age": {"young": total * share_young, "mid": total * (1 - share_young) / 2,
                "old": total * (1 - share_young) / 2},
    }
    raked = _design(df).rake(margins, max_iter=500, tol=1e-10)
    w = raked.weights
    for var, margin in margins.items():
        sums = w.groupby(df[var]).sum()
        for cat, target in margin.items():
            assert sums[cat] == pytest.approx(target, rel=1e-9)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(samples(), st.randoms(use_true_random=False))
def test_row_order_does_not_change_any_result(df, random):
    order = list(range(len(df)))
    random.shuffle(order)
    a, b = _design(df), _design(df.iloc[order].reset_index(drop=True))
    margins = {"sex": {"m": 600.0, "f": 400.0}}
    cells = {"young": 300.0, "mid": 300.0, "old": 400.0}
    pairs = ((a, b), (a.rake(margins), b.rake(margins)),
             (a.poststratify("age", cells), b.poststratify("age", cells)))
    for des_a, des_b in pairs:
        for by in (None, ["stratum", "age"]):
            for fn in ("mean", "total"):
                ta = getattr(des_a, fn)("y", by=by, deff=True).to_frame()
                tb = getattr(des_b, fn)("y", by=by, deff=True).to_frame()
                pd.testing.assert_frame_equal(ta, tb.loc[ta.index], rtol=1e-9)
        ta = des_a.proportion("b", by="sex", ci_method="beta").to_frame()
        tb = des_b.proportion("b", by="sex", ci_method="beta").to_frame()
        pd.testing.assert_frame_equal(ta, tb.loc[ta.index], rtol=1e-9)
        fa = des_a.frequencies("age", by="sex").to_frame()
        fb = des_b.frequencies("age", by="sex").to_frame()
        pd.testing.assert_frame_equal(fa, fb.loc[fa.index], rtol=1e-9)
    ta = pairs[1][0].proportion("b", ci_method="likelihood").to_frame()
    tb = pairs[1][1].proportion("b", ci_method="likelihood").to_frame()
    pd.testing.assert_frame_equal(ta, tb, rtol=1e-7)


@SETTINGS
@given(samples())
def test_domain_estimate_equals_estimate_on_the_domain_rows(df):
    des = _design(df)
    by_sex = des.mean("y", by="sex").to_frame()
    totals = des.total("y", by="sex").to_frame()
    props = des.proportion("b", by="sex").to_frame()
    for sex in by_sex.index:
        rows = df[df["sex"] == sex]
        sub = SurveyDesign(rows, weights="w", lonely_psu="certainty")
        assert by_sex.loc[sex, "estimate"] == pytest.approx(
            sub.mean("y").to_frame().loc["all", "estimate"], rel=1e-12)
        assert totals.loc[sex, "estimate"] == pytest.approx(
            sub.total("y").to_frame().loc["all", "estimate"], rel=1e-12)
        assert props.loc[sex, "estimate"] == pytest.approx(
            sub.proportion("b").to_frame().loc["all", "estimate"], rel=1e-12, abs=1e-15)
