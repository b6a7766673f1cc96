"""The benchmark's work done by this project (``analysis.SurveyDesign``)."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from analysis import SurveyDesign
from bench.synth import DESIGN, Indicator

COLUMNS = ("indicator", "by", "domain", "estimate", "se", "ci_low", "ci_high", "df")


def build(data: pd.DataFrame) -> SurveyDesign:
    return SurveyDesign(data, **DESIGN)


def rake(design: SurveyDesign, margins: dict, tol: float) -> SurveyDesign:
    return design.rake(margins, tol=tol)


def target_table(design: SurveyDesign, indicators: Sequence[Indicator],
                 domains: Sequence[str], level: float) -> pd.DataFrame:
    """Long table of every indicator overall and by each domain variable (logit CIs)."""
    if hasattr(design, "prepare_domains"):   # a replicate design has no cell cache to prepare
        design.prepare_domains(list(domains))
    keys, values = {"indicator": [], "by": [], "domain": []}, []
    for ind in indicators:
        for by in (None, *domains):
            if ind.statistic == "proportion":
                est = design.proportion(ind.name, by=by, ci_method="logit", level=level)
            else:
                est = design.mean(ind.name, by=by, level=level)
            frame = est.to_frame()
            keys["indicator"] += [ind.name] * len(frame)
            keys["by"] += [by or ""] * len(frame)
            keys["domain"] += ["all"] * len(frame) if by is None else \
                frame.index.astype(str).tolist()
            values.append(frame[list(COLUMNS[3:])].to_numpy(dtype=float))
    table = pd.DataFrame(keys)
    table[list(COLUMNS[3:])] = np.concatenate(values)
    return table
