"""The benchmark's work done by this project (``analysis.SurveyDesign``)."""
from __future__ import annotations

from typing import Sequence

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
    parts = []
    for ind in indicators:
        for by in (None, *domains):
            if ind.statistic == "proportion":
                est = design.proportion(ind.name, by=by, ci_method="logit", level=level)
            else:
                est = design.mean(ind.name, by=by, level=level)
            frame = est.to_frame()
            parts.append(pd.DataFrame({
                "indicator": ind.name, "by": by or "",
                "domain": frame.index.astype(str).to_numpy(),
                **{c: frame[c].to_numpy(dtype=float) for c in COLUMNS[3:]}}))
    table = pd.concat(parts, ignore_index=True)[list(COLUMNS)]
    table.loc[table["by"] == "", "domain"] = "all"
    return table
