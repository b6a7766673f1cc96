"""Generate ``nantong_sample.csv``: a small synthetic sample shaped like this project's surveys.

Strata are Nantong's eight districts (2020 census populations), PSUs are communities (labels
``C01``... repeat across districts, so the design needs ``nest=True``), ``fpc`` is the number of
communities in the district, and ``weight`` is the product of the community and respondent
selection weights.  The answers are simulated; nothing here is real survey data.

Run from the project root (deterministic; the CSV is committed and read by both
``nantong_reference.R`` and the Python tests)::

    python3 tests/reference/make_nantong_sample.py
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
SEED = 20261126

DISTRICTS = [  # name, 2020 resident population, communities in district, sampled communities
    ("崇川区", 1183740, 120, 5),
    ("开发区", 332273, 40, 3),
    ("通州区", 1258739, 110, 5),
    ("海门区", 991782, 90, 4),
    ("如东县", 880006, 85, 4),
    ("启东市", 967313, 95, 4),
    ("如皋市", 1238448, 115, 5),
    ("海安市", 874334, 80, 4),
]
LIKERT = ["非常满意", "满意", "一般", "不满意", "非常不满意"]


def make() -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    rows = []
    for d_index, (name, pop, n_comm, n_sampled) in enumerate(DISTRICTS):
        district_effect = rng.normal(0, 0.6)
        for c in range(n_sampled):
            adults = int(pop / n_comm * rng.lognormal(0, 0.35))
            m = int(rng.integers(9, 15))
            comm_effect = rng.normal(0, 0.5)
            weight = (n_comm / n_sampled) * (adults / m)
            for _ in range(m):
                sex = "男" if rng.random() < 0.5 else "女"
                age = rng.choice(["18-34", "35-59", "60+"], p=[0.28, 0.42, 0.30])
                latent = 6.6 + district_effect + comm_effect + rng.normal(0, 1.6) \
                    + (0.4 if age == "60+" else 0.0)
                score = int(np.clip(np.rint(latent), 1, 10))
                q1 = LIKERT[0 if score >= 9 else 1 if score >= 7 else
                            2 if score >= 5 else 3 if score >= 3 else 4]
                income = float(np.round(rng.lognormal(8.3, 0.5), 1))
                rows.append({
                    "district": name,
                    "community": f"C{c + 1:02d}",
                    "fpc": n_comm,
                    "weight": round(weight, 6),
                    "sex": sex,
                    "age_group": str(age),
                    "score": score,
                    "satisfied": int(score >= 7),
                    "q1": q1,
                    "aware": int(rng.random() < 0.55 + 0.03 * d_index),
                    "complaint": int(rng.random() < 0.03),
                    "income": income if rng.random() > 0.08 else np.nan,
                })
    return pd.DataFrame(rows)


if __name__ == "__main__":
    df = make()
    df.to_csv(HERE / "nantong_sample.csv", index=False, encoding="utf-8")
    print(f"wrote {len(df)} rows, {df.groupby(['district', 'community']).ngroups} PSUs")
