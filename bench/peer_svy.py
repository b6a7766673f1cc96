"""The benchmark's work in the ``svy`` package (samplics' successor, Rust core).

Idiomatic calls: ``svy.Sample(data, svy.Design(stratum=, psu=, wgt=, pop_size=))``, then
``sample.estimation.prop([...], by=, ci_method="logit", drop_nulls=True)`` for every 0/1
indicator at once (its share of 1s is the proportion) and ``sample.estimation.mean`` for the
scores; raking with ``sample.weighting.rake(controls=, tol=)``.
"""
from __future__ import annotations

from typing import Sequence

import pandas as pd

from bench.synth import DESIGN, Indicator

COLUMNS = ("indicator", "by", "domain", "estimate", "se", "ci_low", "ci_high", "df")


def version() -> str | None:
    """svy's version, or None when it is not installed."""
    try:
        import svy
    except ImportError:
        return None
    return svy.__version__


def to_polars(data: pd.DataFrame):
    """The input frame as polars (svy's format; not timed, like reading a file)."""
    import polars as pl
    return pl.from_pandas(data)


def build(frame):
    import svy
    return svy.Sample(frame, svy.Design(stratum=DESIGN["strata"], psu=DESIGN["psu"],
                                        wgt=DESIGN["weights"], pop_size=DESIGN["fpc"]))


def rake(sample, margins: dict, tol: float):
    return sample.weighting.rake(controls=margins, tol=tol, max_iter=100)


def target_table(sample, indicators: Sequence[Indicator], domains: Sequence[str],
                 level: float, *, method: str | None = None) -> pd.DataFrame:
    """Long table of every indicator overall and by each domain variable (``method``: svy's
    variance method, ``"replication"`` for replicate weights; default: svy's choice)."""
    alpha = 1 - level
    options = {} if method is None else {"method": method}
    props = [i.name for i in indicators if i.statistic == "proportion"]
    means = [i.name for i in indicators if i.statistic == "mean"]
    parts = []
    for by in (None, *domains):
        results = []
        if props:
            results += _as_list(sample.estimation.prop(props, by=by, ci_method="logit",
                                                       alpha=alpha, drop_nulls=True, **options))
        if means:
            results += _as_list(sample.estimation.mean(means, by=by, alpha=alpha,
                                                       drop_nulls=True, **options))
        for name, res in zip(props + means, results):
            frame = res.to_polars().to_pandas()
            if name in props:
                frame = frame[frame[name] == 1]
            parts.append(pd.DataFrame({
                "indicator": name, "by": by or "",
                "domain": frame[by].astype(str).to_numpy() if by else "all",
                "estimate": frame["est"].to_numpy(), "se": frame["se"].to_numpy(),
                "ci_low": frame["lci"].to_numpy(), "ci_high": frame["uci"].to_numpy(),
                "df": frame["df"].to_numpy(dtype=float)}))
    return pd.concat(parts, ignore_index=True)[list(COLUMNS)]


def _as_list(result) -> list:
    return result if isinstance(result, list) else [result]
