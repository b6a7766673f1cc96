"""Results in words, in the interface language: estimates, distances to a target, the hint of a
verdict, the reasons an estimate is unreliable and the sampling design.

Every results page (and anything else that shows results to people) words them here, so that
no "nan", raw code or English phrase of the analysis reaches the Chinese interface: the
analysis gives numbers and codes (:mod:`analysis.targets`: ``hint``, ``too_few``,
``reliability_reasons``), this module the sentences (texts ``estimates.*`` of
:mod:`survey_app.i18n`).
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

import pandas as pd

from analysis.targets import NCHS_MAX_RELATIVE_WIDTH, NCHS_MAX_WIDTH, NCHS_MIN_DF, NCHS_MIN_EFFECTIVE_N
from survey_app.formatting import format_percent, format_points
from survey_app.i18n import register, t

if TYPE_CHECKING:  # pragma: no cover
    from analysis import SurveyDesign

__all__ = ["design_summary", "distance_text", "format_number", "format_value", "hint_text", "reasons_text"]

register(
    "wording",
    {
        "points": {"zh": "{value} 分", "en": "{value} points"},
        "design": {
            "zh": "抽样设计：{n} 名受访者，{strata} 层，{psus} 个初级抽样单元（PSU），自由度 {df}{rest}。",
            "en": "Sampling design: {n} respondents, {strata} strata, {psus} primary sampling units (PSUs), "
            "{df} degrees of freedom{rest}.",
        },
        "design_separator": {"zh": "；", "en": "; "},
        "design_calibrated": {"zh": "权数已按人口边际校准", "en": "weights calibrated to population margins"},
        "lonely_adjust": {"zh": "只有一个 PSU 的层以总体均值为中心计算方差",
                          "en": "strata with a single PSU are centred on the overall mean"},
        "lonely_remove": {"zh": "只有一个 PSU 的层不计入方差", "en": "strata with a single PSU add no variance"},
        "lonely_certainty": {"zh": "只有一个 PSU 的层视为必然入样", "en": "single-PSU strata are taken as certain"},
        "lonely_average": {"zh": "只有一个 PSU 的层取其余层的平均方差",
                           "en": "single-PSU strata get the average variance of the others"},
    },
)

# the NCHS limits, as the reasons of an unreliable estimate state them
_REASON_LIMITS = {"effective n": f"{NCHS_MIN_EFFECTIVE_N}", "ci width": f"{NCHS_MAX_WIDTH:.2f}",
                  "relative ci width": format_percent(NCHS_MAX_RELATIVE_WIDTH, decimals=0), "df": f"{NCHS_MIN_DF}"}
_REASON_FORMATS = {"effective n": ".1f", "ci width": ".2f", "df": "g"}  # the relative width: a percentage


def _missing(value: object) -> bool:
    return value is None or bool(pd.isna(value)) or not math.isfinite(float(value))


def format_value(value: float, statistic: str, lang: str) -> str:
    """An estimate as shown: a percentage with one decimal, or points; "—" when missing."""
    if _missing(value):
        return t("estimates.missing", lang)
    if statistic == "proportion":
        return format_percent(value)
    return t("wording.points", lang, value=f"{value:.1f}")


def format_number(value: float, spec: str, lang: str) -> str:
    """A number with the format ``spec``; "—" when missing (never "nan")."""
    if _missing(value):
        return t("estimates.missing", lang)
    return format(value, spec)


def distance_text(row: pd.Series, lang: str) -> str:
    """How far the estimate is from the threshold, in (percentage) points and in standard errors."""
    difference = row["estimate"] - row["threshold"]
    if difference == 0:
        return t("estimates.equal", lang)
    proportion = row["statistic"] == "proportion"
    shown = (format_points(abs(difference), lang, signed=False) if proportion
             else t("estimates.points_mean", lang, value=f"{abs(difference):.1f}"))
    side = "above" if difference > 0 else "below"
    if _missing(row["distance_se"]):
        return t(f"estimates.{side}_no_se", lang, difference=shown)
    z = abs(row["distance_se"])
    # one decimal, but never "0.0" standard errors for an estimate that is not on the target
    return t(f"estimates.{side}", lang, difference=shown, se=f"{z:.1f}" if z >= 0.05 else f"{z:.1g}")


def hint_text(row: pd.Series, lang: str) -> str | None:
    """The hint of a result (``hint``, :func:`analysis.targets.hint_of`) in words, with the
    distance to the target and the further interviews; None for no data or too few."""
    hint = row["hint"]
    if hint in ("no data", "too few"):
        return None
    extra = row["extra_interviews"]
    if hint == "on threshold" and pd.isna(extra):
        return t("estimates.hint_on_threshold_never", lang)
    values = {"distance": distance_text(row, lang)}
    if not pd.isna(extra):
        values["extra"] = f"{int(extra):,}"
        values["times"] = f"{int(extra) / max(int(row['interviews']), 1):,.0f}"
    return t(f"estimates.hint_{hint.replace(' ', '_')}", lang, **values)


def reasons_text(reasons: Iterable[tuple[str, float]], lang: str) -> str:
    """The NCHS reasons of an unreliable estimate (``reliability_reasons``) in words."""
    return t("estimates.reason_separator", lang).join(
        t(f"estimates.reason_{code.replace(' ', '_')}", lang,
          value=format_number(value, _REASON_FORMATS[code], lang) if code in _REASON_FORMATS
          else format_percent(value, missing=t("estimates.missing", lang)), limit=_REASON_LIMITS[code])
        for code, value in reasons)


def design_summary(design: SurveyDesign, lang: str) -> str:
    """The sampling design of an estimate in one sentence (instead of :meth:`SurveyDesign.describe`,
    which is for the log and the command line)."""
    rest = []
    if design.lonely_psu != "fail":
        rest.append(t(f"wording.lonely_{design.lonely_psu}", lang))
    if design.calibrated:
        rest.append(t("wording.design_calibrated", lang))
    separator = t("wording.design_separator", lang)
    return t("wording.design", lang, n=f"{len(design):,}", strata=design.n_strata, psus=design.n_psu,
             df=design.degf, rest="".join(separator + part for part in rest))
