"""A seeded synthetic survey of any size, shaped like the project's surveys.

Strata are Nantong's eight districts, PSUs are communities (about 40 interviews each, so
1,000,000 interviews give 25,000 PSUs), ``fpc`` is the district's population count of
communities, and ``weight`` is the community weight times a respondent-level nonresponse
factor.  Each respondent has a sex and an age group (the questionnaires' codes) and one
column per target of ``questionnaires/targets.yaml``: 0/1 for a proportion target, a 0-100
score for a mean target, missing where the target's question was not asked (``denominator:
relevant``) or left blank.  Answers depend on the district, the community, sex and age, so
design effects are realistic.  Nothing here is real survey data.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import yaml

from questionnaires import load_districts

TARGETS_FILE = Path(__file__).parent.parent / "questionnaires" / "targets.yaml"

#: Column roles of the synthetic design (keyword arguments of ``analysis.SurveyDesign``).
DESIGN = {"weights": "weight", "strata": "district", "psu": "psu", "fpc": "fpc"}
#: Domain variables of the target table.
DOMAINS = ("district", "sex", "age_group")
SEXES = ("male", "female")
AGE_GROUPS = ("18_34", "35_49", "50_64", "65_plus")
INTERVIEWS_PER_PSU = 40


@dataclass(frozen=True)
class Indicator:
    """One target indicator: its column and statistic."""

    name: str
    statistic: Literal["proportion", "mean"]
    relevant_only: bool


@dataclass(frozen=True, eq=False)
class Survey:
    """A synthetic sample with its indicators and raking margins."""

    data: pd.DataFrame
    indicators: tuple[Indicator, ...]
    margins: dict[str, dict[str, float]]
    seed: int

    @property
    def n(self) -> int:
        return len(self.data)

    @property
    def n_psu(self) -> int:
        return int(self.data["psu"].nunique())

    def input_bytes(self) -> int:
        """Bytes of the columns the table reads (design, domains, indicators)."""
        cols = list(DESIGN.values()) + list(DOMAINS) + [i.name for i in self.indicators]
        return int(self.data[cols].memory_usage(index=False, deep=True).sum())


def load_indicators(path: Path = TARGETS_FILE) -> tuple[Indicator, ...]:
    """Every share or mean target of ``targets.yaml`` as an indicator column of the synthetic
    data (index targets combine other questions; the toolbox benchmark times them)."""
    targets = yaml.safe_load(path.read_text(encoding="utf-8"))["targets"]
    return tuple(Indicator(t["id"], t["statistic"], t["denominator"] == "relevant")
                 for t in targets if t.get("statistic") in ("proportion", "mean"))


def make_survey(n: int, *, seed: int = 20261126, n_psu: int | None = None,
                indicators: tuple[Indicator, ...] | None = None) -> Survey:
    """Generate ``n`` interviews.

    Parameters
    ----------
    n : int
        Number of interviews (rows), at least 2 per PSU.
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed and size give the same rows.
    n_psu : int, optional
        Number of communities; default ``n / 40`` (at least three per district, so every
        district domain has two degrees of freedom or more).
    indicators : tuple of Indicator, optional
        Default: every target of ``questionnaires/targets.yaml``.
    """
    rng = np.random.default_rng(seed)
    indicators = load_indicators() if indicators is None else indicators
    districts = [c.name for c in load_districts()]
    n_dist = len(districts)
    if n_psu is None:
        n_psu = max(3 * n_dist, round(n / INTERVIEWS_PER_PSU))
    if n_psu < 3 * n_dist or n < 2 * n_psu:
        raise ValueError(f"n={n}, n_psu={n_psu}: need n_psu >= {3 * n_dist} (three per "
                         "district) and n >= 2 * n_psu; pass a larger n")

    # Communities: three per district, the rest spread by district size.
    share = rng.dirichlet(np.full(n_dist, 10.0))
    psu_per_dist = 3 + rng.multinomial(n_psu - 3 * n_dist, share)
    psu_district = np.repeat(np.arange(n_dist), psu_per_dist)
    sampling_fraction = rng.uniform(0.05, 0.3, n_dist)
    communities_in_dist = np.ceil(psu_per_dist / sampling_fraction)
    size = 2 + rng.multinomial(n - 2 * n_psu, rng.dirichlet(np.full(n_psu, 20.0)))
    psu_weight = (communities_in_dist / psu_per_dist)[psu_district] \
        * rng.lognormal(np.log(25.0), 0.3, n_psu)

    # Rows in a random order (as interviews arrive), not sorted by community.
    psu = rng.permutation(np.repeat(np.arange(n_psu), size))
    dist = psu_district[psu]
    sex = (rng.random(n) < 0.51).astype(np.int8)
    age = rng.choice(len(AGE_GROUPS), size=n, p=[0.30, 0.27, 0.25, 0.18]).astype(np.int8)
    weight = psu_weight[psu] * rng.uniform(0.8, 1.25, n)

    # Latent satisfaction: district + community + sex + age effects.
    latent = (rng.normal(0, 0.3, n_dist)[dist] + rng.normal(0, 0.4, n_psu)[psu]
              + np.array([0.0, 0.1])[sex] + np.array([-0.2, 0.0, 0.1, 0.3])[age])
    data = {
        "district": pd.Categorical.from_codes(dist, categories=districts),
        "psu": psu.astype(np.int64),
        "fpc": communities_in_dist[dist],
        "weight": weight,
        "sex": pd.Categorical.from_codes(sex, categories=list(SEXES)),
        "age_group": pd.Categorical.from_codes(age, categories=list(AGE_GROUPS)),
    }
    for ind in indicators:
        if ind.statistic == "proportion":
            base = np.log(p := rng.uniform(0.6, 0.93)) - np.log1p(-p)
            values = (rng.random(n) < 1.0 / (1.0 + np.exp(-(base + latent)))).astype(float)
        else:
            values = np.clip(np.rint(76.0 + 8.0 * latent + rng.normal(0, 12, n)), 0, 100)
        asked = rng.random(n) < (rng.uniform(0.3, 0.95) if ind.relevant_only else 1.0)
        blank = rng.random(n) < 0.01
        values[~asked | blank] = np.nan
        data[ind.name] = values
    frame = pd.DataFrame(data)

    # Population margins a little off the sample's, with one common total.
    total = float(weight.sum()) * 1.02
    margins = {
        "sex": dict(zip(SEXES, (total * 0.495, total * 0.505))),
        "age_group": dict(zip(AGE_GROUPS, (total * 0.26, total * 0.27, total * 0.27,
                                           total * 0.20))),
    }
    return Survey(frame, tuple(indicators), margins, seed)
