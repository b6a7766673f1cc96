"""Change between survey waves: the waves stacked into one design, and their differences.

Two waves are two samples drawn one after the other.  :func:`stack_waves` puts their
responses into one :class:`~analysis.SurveyDesign` whose strata are wave x stratum and whose
PSUs are wave x PSU (a community visited in both waves is two PSUs), each wave keeping its own
fpc, and optionally rakes every wave to its own population margins (calibration cells wave x
margin category).  :func:`wave_change` then estimates the variable in every wave (and domain)
of such a design -- linearised or with replicate weights -- and the change between
consecutive waves as a contrast of those estimates, with its SE, t interval on the design's
degrees of freedom and p-value (R: ``rbind`` the data, ``svydesign(strata =
~interaction(wave, stratum), ids = ~interaction(wave, psu), ...)``, ``svyby(~y, ~wave, des,
svymean, covmat = TRUE)``, ``svycontrast``).

Depends on :mod:`.survey`, :mod:`.estimators`, :mod:`.comparisons` and :mod:`analysis.errors`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable, Literal, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import DesignError, MarginError, VariableError
from ..results import table_summary
from .comparisons import check_adjust, contrasts, p_adjust
from .estimators import check_level
from .survey import SurveyDesign

__all__ = ["WaveChange", "stack_waves", "wave_change"]


def _cell(wave_values: pd.Series, values: pd.Series) -> pd.Series:
    """``"wave|value"`` labels (missing where the value is missing), as a categorical: the
    labels are formed once per combination, not once per row."""
    wc, wu = pd.factorize(wave_values)
    vc, vu = pd.factorize(values)                 # -1 where missing
    combined = np.where(vc >= 0, wc * max(len(vu), 1) + vc, -1)
    present, codes = np.unique(combined, return_inverse=True)
    labels = [f"{wu[c // len(vu)]}|{vu[c % len(vu)]}" for c in present[present >= 0]]
    codes = codes.reshape(-1) - int((present < 0).any())   # the missing combination -> -1
    return pd.Series(pd.Categorical.from_codes(codes, categories=labels),
                     index=values.index)


def _shown(values) -> str:
    return ", ".join(repr(v) for v in list(values)[:30])


def stack_waves(responses: Mapping[Hashable, pd.DataFrame] | pd.DataFrame, *,
                wave: str = "wave", weights: str | None = None, strata: str | None = None,
                psu: str | Sequence[str] | None = None,
                fpc: str | Sequence[str] | None = None,
                probs: str | Sequence[str] | None = None, nest: bool = False,
                lonely_psu: str = "fail",
                margins: Mapping[Hashable, Mapping[str, Mapping]] | None = None,
                max_iter: int = 100, tol: float = 1e-10) -> SurveyDesign:
    """Stack two or more waves' responses into one design.

    Parameters
    ----------
    responses : mapping of wave label to DataFrame, or DataFrame
        Every wave's responses (each DataFrame shaped as for :class:`~analysis.SurveyDesign`),
        or one DataFrame of all waves with the wave in column ``wave``.
    wave : str, default "wave"
        Column holding the wave (added to the stacked data when ``responses`` is a mapping).
    weights, strata, psu, fpc, probs, nest, lonely_psu
        The design of every wave, as :class:`~analysis.SurveyDesign`'s arguments.  The
        stacked design's strata are wave x ``strata`` (the waves themselves without
        ``strata``) and its PSUs wave x ``psu`` at every stage, so that the waves are
        independent samples; ``fpc`` is read row by row, so each wave keeps its own.
    margins : mapping, optional
        ``{wave: {variable: {category: population count}}}``: rake every wave to its own
        margins (the same variables for every wave).  The stacked design is raked on
        wave x variable, which is every wave raked on its own and gives the standard
        errors of R's ``calibrate(..., calfun = "raking")`` on the stacked design.
    max_iter, tol
        Raking options (see :meth:`~analysis.SurveyDesign.rake`).

    Returns
    -------
    SurveyDesign
        Its data are the stacked responses with the wave column and the combined columns
        ``"<wave>×<strata>"``, ``"<wave>×<psu>"`` (and ``"<wave>×<margin variable>"``).

    Raises
    ------
    DesignError
        Fewer than two waves, a wave column missing or with missing values, a design
        column missing in the data; the errors of :class:`~analysis.SurveyDesign`.
    MarginError
        Margins for waves that are not in the data, or missing for some, or with other
        variables than the first wave's.

    Examples
    --------
    >>> des = stack_waves({"2025": w1, "2026": w2}, weights="weight", strata="district",
    ...                   psu="community", fpc="fpc", nest=True)          # doctest: +SKIP
    >>> # In R: st <- rbind(cbind(w1, wave="2025"), cbind(w2, wave="2026"))
    >>> # des <- svydesign(ids=~interaction(wave, community),
    >>> #                  strata=~interaction(wave, district), fpc=~fpc, weights=~weight,
    >>> #                  nest=TRUE, data=st)
    """
    if isinstance(responses, pd.DataFrame):
        if wave not in responses.columns:
            raise DesignError(f"column {wave!r} is not in the data", argument="wave",
                              value=wave, fix=f"name the wave column among: "
                                              f"{_shown(responses.columns)}")
        data = responses.reset_index(drop=True)
        if data[wave].isna().any():
            raise DesignError(f"{int(data[wave].isna().sum())} rows have no wave",
                              argument="wave", value=wave, fix="give every row its wave")
    elif isinstance(responses, Mapping):
        frames = []
        for label, frame in responses.items():
            if not isinstance(frame, pd.DataFrame):
                raise DesignError("every wave's responses must be a DataFrame",
                                  argument="responses", value={label: type(frame).__name__},
                                  fix="pass {wave label: DataFrame}")
            if wave in frame.columns:
                raise DesignError(f"the responses of wave {label!r} already have a column "
                                  f"{wave!r}", argument="wave", value=wave,
                                  fix="choose another name for the wave column")
            frames.append(frame.assign(**{wave: label}))
        if not frames:
            raise DesignError("no waves given", argument="responses", value={},
                              fix="pass at least two waves' responses")
        data = pd.concat(frames, ignore_index=True)
    else:
        raise DesignError("responses must be a mapping of wave to DataFrame or a DataFrame",
                          argument="responses", value=type(responses).__name__,
                          fix="pass {wave label: DataFrame}")
    present = pd.unique(data[wave])
    if len(present) < 2:
        raise DesignError("a change needs at least two waves", argument="responses",
                          value=list(present), fix=f"add another wave's responses (waves "
                                                   f"present: {_shown(present)})")
    for arg, cols in (("strata", [strata] if isinstance(strata, str) else []),
                      ("psu", [psu] if isinstance(psu, str) else list(psu or []))):
        for col in cols:
            if col not in data.columns:
                raise DesignError(f"column {col!r} is not in the data", argument=arg,
                                  value=col, fix=f"use one of the columns: "
                                                 f"{_shown(data.columns)}")
    stacked = {}
    if strata is None:
        stacked_strata = wave
    else:
        stacked_strata = f"{wave}×{strata}"
        stacked[stacked_strata] = _cell(data[wave], data[strata])
    stacked_psu = None
    if psu is not None:
        stacked_psu = []
        for col in ([psu] if isinstance(psu, str) else list(psu)):
            stacked_psu.append(f"{wave}×{col}")
            stacked[f"{wave}×{col}"] = _cell(data[wave], data[col])
    totals = None
    if margins is not None:
        cal_columns, totals = _wave_margins(data, wave, present, margins)
        stacked.update(cal_columns)
    data = data.assign(**stacked)
    design = SurveyDesign(data, weights=weights, strata=stacked_strata, psu=stacked_psu,
                          fpc=fpc, probs=probs, lonely_psu=lonely_psu, nest=nest)
    if totals is not None:
        design = design.rake(totals, max_iter=max_iter, tol=tol)
    return design


def _wave_margins(data: pd.DataFrame, wave: str, present, margins) -> tuple[dict, dict]:
    """The wave x variable columns and their population counts."""
    if not isinstance(margins, Mapping) or not margins:
        raise MarginError("margins must map every wave to its margins", argument="margins",
                          value=margins, fix="pass {wave: {variable: {category: count}}}")
    unknown = [w for w in margins if w not in set(present)]
    missing = [w for w in present if w not in margins]
    if unknown or missing:
        raise MarginError("the margins' waves are not the waves of the data",
                          argument="margins", value=unknown or missing,
                          fix=f"give margins for exactly the waves {_shown(present)}")
    first = list(present)[0]
    variables = list(margins[first])
    for w in present:
        if not isinstance(margins[w], Mapping) or sorted(map(str, margins[w])) != \
                sorted(map(str, variables)):
            raise MarginError("every wave needs margins of the same variables",
                              argument="margins", value={w: list(margins[w])},
                              fix=f"give every wave margins of {', '.join(map(str, variables))}")
    columns, totals = {}, {}
    for var in variables:
        if var not in data.columns:
            raise MarginError(f"column {var!r} is not in the data", argument="margins",
                              value=var, fix=f"use one of the columns: {_shown(data.columns)}")
        name = f"{wave}×{var}"
        columns[name] = _cell(data[wave], data[var])
        totals[name] = {f"{w}|{cat}": count for w in present
                        for cat, count in margins[w][var].items()}
    return columns, totals


@dataclass(frozen=True, eq=False)
class WaveChange:
    """The change of an estimate between consecutive waves, with its SE, CI and p-value.

    Attributes
    ----------
    statistic : str
        ``"mean"`` or ``"proportion"``.
    variable : str
    wave : str
        The wave column.
    waves : tuple
        The waves compared, in order: each with the one before it.
    by : tuple of str
        Domain variable(s) (empty: the whole population).
    level : float
    adjust : str
        Multiplicity adjustment of ``p_adjusted`` (default ``"none"``).
    ci_method : str
        Interval of each wave's own estimate.
    variance, design : str
    notes : tuple of str
    """

    statistic: str
    variable: str
    wave: str
    waves: tuple
    by: tuple
    level: float
    adjust: str
    ci_method: str
    variance: str
    design: str
    _table: pd.DataFrame
    notes: tuple = ()

    def to_frame(self) -> pd.DataFrame:
        """The table (a copy), indexed by ``(wave_a, wave_b, *by)``: ``estimate_a``,
        ``estimate_b``, ``difference`` (``b - a``), ``se``, ``ci_low``/``ci_high`` (of the
        difference: Student t on the stacked design's df), ``df``, ``p_value`` (two-sided t
        test of no change), ``p_adjusted``, ``significant`` (``p_adjusted`` below
        ``1 - level``), ``n_a``, ``n_b`` and each wave's own interval (``ci_low_a``,
        ``ci_high_a``, ``ci_low_b``, ``ci_high_b``); with ``deff``, each wave's design effect
        (``deff_a``, ``deff_b``)."""
        return self._table.copy()

    def summary(self, digits: int = 4) -> str:
        """Describe the change as text (never prints)."""
        what = f"change of the {self.statistic} of {self.variable} between waves " \
               f"{' -> '.join(map(str, self.waves))}"
        if self.by:
            what += " by " + ", ".join(self.by)
        lines = [what, f"design: {self.design}",
                 f"variance: {self.variance}; {int(round(self.level * 100))}% intervals of the "
                 f"changes (Student t on the design degrees of freedom); p-values adjusted: "
                 f"{self.adjust}"]
        return table_summary(lines, self._table, self.notes, digits)

    def __len__(self) -> int:
        return len(self._table)

    def __repr__(self) -> str:  # pragma: no cover - cosmetic
        return f"<WaveChange of {self.variable!r}, {len(self._table)} row(s)>"


def wave_change(design, variable: str, *, wave: str = "wave",
                waves: Sequence[Hashable] | None = None,
                by: str | Sequence[str] | None = None,
                statistic: Literal["mean", "proportion"] = "mean", level: float = 0.95,
                ci_method: str | None = None,
                adjust: Literal["holm", "bonferroni", "BH", "none"] = "none",
                deff: bool | str = False) -> WaveChange:
    """The change of a mean or proportion between waves of a stacked design.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The waves stacked into one design (:func:`stack_waves`; for replicate variances its
        ``replicate(...)``).
    variable : str
        Numeric column (``"mean"``) or 0/1 column (``"proportion"``); missing answers are
        left out.
    wave : str, default "wave"
        The wave column.
    waves : sequence, optional
        The waves to compare, in order; each is compared with the one before it (change =
        later minus earlier).  Default: every wave of the design in sorted order.
    by : str or list of str, optional
        Domain variable(s): the change within every domain present in both waves.
    statistic : {"mean", "proportion"}, default "mean"
    level : float, default 0.95
    ci_method : str, optional
        Interval of each wave's own estimate (as in ``proportion``; default ``"logit"``);
        means use the t interval.  The change's interval is always the t interval of the
        contrast (R's ``svycontrast``).
    adjust : {"holm", "bonferroni", "BH", "none"}, default "none"
        Multiplicity adjustment of ``p_adjusted`` over the rows of the table.
    deff : bool or "replace", default False
        Also give each wave's design effect (``deff_a``, ``deff_b``; as the ``deff`` of
        :meth:`~analysis.SurveyDesign.mean`), e.g. for the minimum-sample rule.

    Returns
    -------
    WaveChange

    Raises
    ------
    VariableError
        An unknown wave or a single wave (the message lists the waves that exist), a wave or
        domain column not in the data (the message lists the columns), an unknown statistic
        or adjustment, a level outside (0, 1).

    Examples
    --------
    >>> wave_change(des, "satisfied", statistic="proportion").to_frame()   # doctest: +SKIP
    >>> # In R: b <- svyby(~satisfied, ~wave, des, svymean, covmat=TRUE)
    >>> # svycontrast(b, c(-1, 1)); confint(., df=degf(des))
    >>> wave_change(des, "score", by="district").to_frame()               # doctest: +SKIP
    >>> # In R: svyby(~score, ~wave+district, des, svymean, covmat=TRUE) + svycontrast
    """
    check_level(level)
    check_adjust(adjust)
    if statistic not in ("mean", "proportion"):
        raise VariableError("unknown statistic", argument="statistic", value=statistic,
                            fix="use 'mean' or 'proportion'")
    if statistic == "mean" and ci_method not in (None, "t"):
        raise VariableError("ci_method applies to proportions only", argument="ci_method",
                            value=ci_method, fix="leave it out for statistic='mean'")
    try:
        _, labels = design.domain_codes(wave)
    except VariableError as err:
        raise VariableError(err.message, argument="wave", value=wave, fix=err.fix) from None
    present = list(labels)
    if waves is None:
        waves = present
    else:
        if isinstance(waves, (str, bytes)) or not isinstance(waves, Sequence):
            raise VariableError("waves must be a list of waves", argument="waves", value=waves,
                                fix=f"e.g. waves={present[-2:]!r}")
        for w in waves:
            if w not in present:
                raise VariableError("unknown wave", argument="waves", value=w,
                                    fix=f"use waves that exist: {_shown(present)}")
        if len(set(waves)) != len(waves):
            raise VariableError("a wave is named twice", argument="waves", value=list(waves),
                                fix="name every wave once")
    waves = list(waves)
    if len(waves) < 2:
        raise VariableError("a change needs at least two waves",
                            argument="waves" if len(present) > 1 else "wave", value=waves,
                            fix=f"compare two of the waves that exist: {_shown(present)}")
    by_cols = [] if by is None else [by] if isinstance(by, str) else list(by)
    if wave in by_cols:
        raise VariableError("the wave column cannot be a domain variable", argument="by",
                            value=by, fix="leave the wave out of by")
    for col in by_cols:
        design.domain_codes(col)      # an unknown column raises, listing the columns
    if statistic == "mean":
        ci_method = "t"
        est = design.mean(variable, by=[wave, *by_cols], level=level, deff=deff)
    else:
        ci_method = "logit" if ci_method is None else ci_method
        est = design.proportion(variable, by=[wave, *by_cols], level=level,
                                ci_method=ci_method, deff=deff)
    table = est.to_frame()
    theta = table["estimate"].to_numpy(dtype=float)
    position = {key: i for i, key in enumerate(table.index)}

    def key(w, dom):
        return (w, *dom) if by_cols else w

    domains = ([()] if not by_cols else
               list(dict.fromkeys(k[1:] for k in table.index)))
    rows, pairs, notes = [], [], list(est.notes)
    for a, b in zip(waves[:-1], waves[1:]):
        for dom in domains:
            ia, ib = position.get(key(a, dom)), position.get(key(b, dom))
            if ia is None or ib is None:
                gone = a if ia is None else b
                notes.append(f"domain {dom if len(dom) > 1 else dom[0]!r} has no respondents "
                             f"in wave {gone!r}: not compared")
                continue
            c = np.zeros(len(theta))
            c[ib], c[ia] = 1.0, -1.0
            rows.append(c)
            pairs.append((a, b, *dom, ia, ib))
    if not rows:
        raise VariableError("no domain has respondents in two of the waves compared",
                            argument="by", value=by, fix="compare waves that share domains")
    C = np.vstack(rows)
    V = est.vcov().to_numpy()
    df = float(design.design_df())
    diff, se, low, high, p = contrasts(theta, V, C, df, level)
    p_adj = p_adjust(p, adjust)
    ia = np.array([pr[-2] for pr in pairs])
    ib = np.array([pr[-1] for pr in pairs])
    index = pd.MultiIndex.from_tuples([pr[:-2] for pr in pairs],
                                      names=["wave_a", "wave_b", *by_cols])
    n = table["n"].to_numpy()
    out = pd.DataFrame({
        "estimate_a": theta[ia], "estimate_b": theta[ib], "difference": diff, "se": se,
        "ci_low": low, "ci_high": high, "df": np.full(len(C), int(df), dtype=np.int64),
        "p_value": p, "p_adjusted": p_adj, "significant": p_adj < 1 - level,
        "n_a": n[ia], "n_b": n[ib],
        "ci_low_a": table["ci_low"].to_numpy()[ia], "ci_high_a": table["ci_high"].to_numpy()[ia],
        "ci_low_b": table["ci_low"].to_numpy()[ib], "ci_high_b": table["ci_high"].to_numpy()[ib],
    }, index=index)
    if deff:
        out["deff_a"] = table["deff"].to_numpy()[ia]
        out["deff_b"] = table["deff"].to_numpy()[ib]
    return WaveChange(statistic, variable, wave, tuple(waves), tuple(by_cols), level, adjust,
                      ci_method, est.variance, est.design, out, tuple(notes))

