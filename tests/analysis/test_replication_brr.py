"""BRR and Fay replicate designs beyond the R comparisons (tests/reference/survey_reference.R
checks their weights, scale, rscales, degf and estimates): Hadamard matrices, the
replicate multipliers' structure, exactness for totals, errors."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import ReplicateError, SurveyDesign
from analysis.design.hadamard import hadamard
from tests.analysis.reference_designs import read_api, read_survey_data


def _paired_design(n_strata: int, seed: int) -> SurveyDesign:
    rng = np.random.default_rng(seed)
    rows = []
    for h in range(n_strata):
        for j in (1, 2):
            m = int(rng.integers(2, 6))
            rows.append(pd.DataFrame({"stratum": h + 1, "psu": j, "w": rng.uniform(1, 9, m),
                                      "y": rng.normal(10 + h, 3, m),
                                      "b": (rng.random(m) < 0.4).astype(float)}))
    data = pd.concat(rows, ignore_index=True).sample(frac=1.0, random_state=seed)
    return SurveyDesign(data.reset_index(drop=True), weights="w", strata="stratum",
                        psu="psu", nest=True)


@pytest.mark.parametrize("n", list(range(1, 70)) + [99, 100, 130, 250])
def test_hadamard_is_orthogonal_with_room_for_every_stratum(n):
    H = hadamard(n)
    assert H.shape[0] == H.shape[1] > n
    assert set(np.unique(H)) <= {0, 1}
    P = 2 * H.astype(float) - 1
    assert np.array_equal(P.T @ P, len(H) * np.eye(len(H)))
    # rows 2.. (those given to strata) are balanced: each replicate's half-samples even out
    assert (P[1:].sum(axis=1) == 0).all()


@pytest.mark.parametrize("method,rho", [("brr", 0.0), ("fay", 0.5), ("fay", 0.3)])
def test_pairs_get_complementary_multipliers(method, rho):
    des = _paired_design(21, seed=3)                 # 21 strata: a 24 x 24 matrix
    rep = des.replicate(method, fay_rho=None if method == "brr" else rho)
    f = rep.replicate_weights.to_numpy() / des.weights.to_numpy()[:, None]
    per_psu = pd.DataFrame(f).groupby(des.psu_codes).first().to_numpy()
    stratum = des.data.groupby(des.psu_codes)["stratum"].first().to_numpy()
    assert rep.n_replicates == 24
    assert rep.scale == pytest.approx(1 / (24 * (1 - rho) ** 2))
    assert np.array_equal(rep.rscales, np.ones(24))
    assert rep.method == ("BRR" if rho == 0 else "Fay")
    for h in np.unique(stratum):
        pair = per_psu[stratum == h]
        assert np.allclose(np.sort(pair, axis=0), [[rho] * 24, [2 - rho] * 24])


@pytest.mark.parametrize("rho", [0.0, 0.5, 0.3])
def test_total_variance_is_the_linearised_one(rho):
    """With a full orthogonal set, BRR (and Fay, rescaled) reproduce the with-replacement
    variance of a total exactly: sum over strata of (t_h1 - t_h2)^2."""
    des = _paired_design(13, seed=8)
    rep = des.replicate("fay", fay_rho=rho) if rho else des.replicate("brr")
    lin = des.total("y").to_frame().loc["all"]
    brr = rep.total("y").to_frame().loc["all"]
    assert brr["estimate"] == pytest.approx(lin["estimate"], rel=1e-12)
    assert brr["se"] == pytest.approx(lin["se"], rel=1e-10)
    assert rep.degf == des.degf == 13
    # mse=True centres at the full-sample estimate: the same for a balanced linear total
    mse = des.replicate("brr", mse=True).total("y").to_frame().loc["all", "se"]
    assert mse == pytest.approx(lin["se"], rel=1e-10)


def test_brr_refuses_strata_without_exactly_two_psus():
    nhanes = read_survey_data("nhanes")          # stratum 86 has three PSUs
    des = SurveyDesign(nhanes, weights="WTMEC2YR", strata="SDMVSTRA", psu="SDMVPSU",
                       nest=True)
    for method in ("brr", "fay"):
        with pytest.raises(ReplicateError) as err:
            des.replicate(method)
        assert err.value.argument == "strata"
        assert err.value.value == {"86": 3}
        assert "two PSUs" in str(err.value) and "pairs" in str(err.value)
    st = read_api("apistrat")
    with pytest.raises(ReplicateError, match="need strata"):
        SurveyDesign(st, weights="pw", psu="snum").replicate("brr")
    with pytest.raises(ReplicateError) as err:
        SurveyDesign(st, weights="pw", strata="stype").replicate("brr")
    assert err.value.value == {"E": 100, "H": 50, "M": 50}


def test_fay_rho_is_checked():
    des = _paired_design(4, seed=1)
    for bad in (1.0, -0.1, 1.5, "0.5"):
        with pytest.raises(ReplicateError, match=r"\[0, 1\)"):
            des.replicate("fay", fay_rho=bad)
    with pytest.raises(ReplicateError, match="method='fay' only"):
        des.replicate("brr", fay_rho=0.5)
    with pytest.raises(ReplicateError, match="method='fay' only"):
        des.replicate("jkn", fay_rho=0.5)
    assert des.replicate("brr", fay_rho=0).method == "BRR"
    assert des.replicate("fay", fay_rho=0).method == "BRR"    # R: Fay with rho 0 is BRR
    with pytest.raises(ReplicateError) as err:
        des.replicate("sdr")
    assert "'brr'" in err.value.fix and "'fay'" in err.value.fix
