"""Write ``passrates_sample.csv``: a synthetic inspection sample for ``passrates_reference.R``.

Three districts (the strata), four product categories, a weight per sample (inverse selection
probability, differing by district and category), and pass (1) / fail (0) drawn with a fixed
seed. Iodised salt passes every sample with equal weights, so its design-based interval is the
Clopper–Pearson interval of R's ``binom.test(n, n)``. Run from the project root:
``python3 tests/reference/make_passrates_sample.py``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).parent / "passrates_sample.csv"
CATEGORIES = {"food": (0.95, 120), "agricultural_products": (0.97, 90), "aquatic_products": (0.985, 80),
              "iodised_salt": (1.0, 45)}
DISTRICTS = {"chongchuan": 1.5, "haimen": 2.5, "rugao": 4.0}


def main() -> None:
    rng = np.random.default_rng(20261207)
    rows = []
    for category, (rate, n) in CATEGORIES.items():
        for i in range(n):
            district = list(DISTRICTS)[i % len(DISTRICTS)]
            weight = 2.0 if category == "iodised_salt" else DISTRICTS[district] * float(rng.uniform(0.8, 1.25))
            rows.append({"sample_id": f"{category[:3].upper()}{i + 1:04d}", "category": category,
                         "district": district, "weight": round(weight, 4),
                         "passed": int(rng.random() < rate)})
    pd.DataFrame(rows).to_csv(OUT, index=False)


if __name__ == "__main__":
    main()
