"""Generate the Rao-Wu bootstrap factors that R and the tests share.

``bootstrap_apistrat.csv`` and ``bootstrap_nantong.csv`` hold one row per data row and one
column per replicate: the multiplier of the row's sampling weight in that replicate, as drawn
by ``SurveyDesign.replicate("bootstrap", replicates=100, seed=...)``.  ``survey_reference.R``
feeds them to ``svrepdesign(..., type="other", scale=1/99, rscales=1)`` so that R's formula
is applied to the very replicates this project generates.

Run from the project root: ``python3 tests/reference/make_bootstrap_factors.py``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

from analysis import SurveyDesign  # noqa: E402

API = HERE / "api"
REPLICATES = 100
SEEDS = {"apistrat": 11, "nantong": 12}


def designs() -> dict[str, SurveyDesign]:
    apistrat = pd.read_csv(API / "apistrat.csv")
    nantong = pd.read_csv(HERE / "nantong_sample.csv")
    return {
        "apistrat": SurveyDesign(apistrat, weights="pw", strata="stype", fpc="fpc"),
        "nantong": SurveyDesign(nantong, weights="weight", strata="district", psu="community",
                                fpc="fpc", nest=True),
    }


def row_factors(des: SurveyDesign, seed: int) -> pd.DataFrame:
    rep = des.replicate("bootstrap", replicates=REPLICATES, seed=seed)
    factors = rep.replicate_weights.to_numpy() / des.weights.to_numpy()[:, None]
    return pd.DataFrame(np.round(factors, 12),
                        columns=[f"rep{r + 1}" for r in range(REPLICATES)])


if __name__ == "__main__":
    for name, des in designs().items():
        row_factors(des, SEEDS[name]).to_csv(HERE / f"bootstrap_{name}.csv", index=False)
        print("wrote", f"bootstrap_{name}.csv")
