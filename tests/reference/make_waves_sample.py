"""Generate ``waves_sample.csv``: two synthetic survey waves for the wave-change references.

Wave ``2025`` is ``nantong_sample.csv`` as it is.  Wave ``2026`` revisits the same
communities (so the same PSU labels appear in both waves, as a community visited twice
does): about 15% of each community's respondents are dropped, the others' scores move by a
district shift plus noise, ``satisfied`` and ``q1`` follow the new score, incomes grow by
about 4%, and the respondent weights are scaled up so that each community keeps its total.
Nothing here is real survey data.

Run from the project root (deterministic; the CSV is committed and read by both
``toolbox_compare_reference.R`` and ``tests/analysis/test_compare.py``)::

    python3 tests/reference/make_waves_sample.py
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
SEED = 20261207
LIKERT = ["非常满意", "满意", "一般", "不满意", "非常不满意"]


def make() -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    first = pd.read_csv(HERE / "nantong_sample.csv", encoding="utf-8")
    shifts = {d: rng.normal(0.3, 0.6) for d in sorted(first["district"].unique())}
    second = []
    for (_, _), group in first.groupby(["district", "community"], sort=True):
        keep = rng.random(len(group)) >= 0.15
        keep[0] = True                               # every community answers again
        g = group[keep].copy()
        g["weight"] = np.round(g["weight"] * len(group) / len(g), 6)
        score = g["score"] + shifts[g["district"].iloc[0]] + rng.normal(0, 1.0, len(g))
        g["score"] = np.clip(np.rint(score), 1, 10).astype(int)
        g["satisfied"] = (g["score"] >= 7).astype(int)
        g["q1"] = [LIKERT[0 if s >= 9 else 1 if s >= 7 else 2 if s >= 5 else 3 if s >= 3
                          else 4] for s in g["score"]]
        g["income"] = np.round(g["income"] * rng.lognormal(0.04, 0.05, len(g)), 1)
        second.append(g)
    out = pd.concat([first.assign(wave=2025), pd.concat(second).assign(wave=2026)],
                    ignore_index=True)
    return out[["wave"] + [c for c in first.columns]]


if __name__ == "__main__":
    df = make()
    df.to_csv(HERE / "waves_sample.csv", index=False, encoding="utf-8")
    print(f"wrote {len(df)} rows: " + ", ".join(f"wave {w}: {n}" for w, n in
                                               df["wave"].value_counts().sort_index().items()))
