"""Survey targets of the plan and their verdicts: met, not met or inconclusive.

A :class:`Target` says what share (or mean) of which answer must reach which threshold; the
targets are listed in ``questionnaires/targets.yaml`` and read with :func:`load_targets`,
which checks every field and, against the questionnaires, that the question exists and that
the success codes are in its choice list.

A verdict follows the convention of many statistics offices: a target is **met** when the
lower limit of the confidence interval is at or above the threshold, **not met** when the
upper limit is below it, and **inconclusive** otherwise; the point estimate is always shown
beside the threshold. Each verdict also carries the one-sided p-value of
``H0: true value < threshold`` (Student t on the design degrees of freedom), for an
inconclusive verdict the number of further completed interviews that would settle it if the
estimate held, and the reliability flags of the NCHS Data Presentation Standards for
Proportions (Parker et al. 2017, Vital Health Stat 2(175)).

Small samples: a result is **too few for an estimate** when its effective sample size is
below :data:`MIN_EFFECTIVE_N` (the NCHS minimum, below which the standard suppresses an
estimate); :func:`sample_needed` says how many respondents that takes. Every verdict also
carries a **hint** (:data:`HINTS`, :func:`hint_of`) that follows from the distance between
estimate and threshold in standard errors and the further interviews the verdict needs, so
that the dashboard, the workbook and the command line word small or close results alike.

Examples
--------
>>> from analysis import SurveyDesign
>>> from analysis.targets import assess_target, load_targets, target_indicator
>>> targets = {t.id: t for t in load_targets()}                          # doctest: +SKIP
>>> t = targets["consumer_environment_satisfaction"]                      # doctest: +SKIP
>>> df["y"] = target_indicator(df, target=t, questionnaire=form)          # doctest: +SKIP
>>> des = SurveyDesign(df, strata="sample_district", psu="psu", nest=True)  # doctest: +SKIP
>>> print(assess_target(des, "y", target=t, by="district").summary())     # doctest: +SKIP
>>> # In R: svyciprop(~y, des, method="logit"); pt((p - 0.85)/SE(p), degf(des), lower=FALSE)
"""
from __future__ import annotations

import functools
import math
import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np
import pandas as pd
import yaml
from scipy import stats
from scipy.special import expit, logit

from questionnaires import Text
from questionnaires.expressions import references

from .errors import SurveyError
from .results import OVERALL

if TYPE_CHECKING:  # pragma: no cover
    from questionnaires import Questionnaire

    from .design import SurveyDesign

__all__ = [
    "Target",
    "TargetError",
    "TargetAssessment",
    "DEFAULT_TARGETS_FILE",
    "STATUSES",
    "load_targets",
    "check_target",
    "target_indicator",
    "target_indicators",
    "assess_target",
    "judge",
    "verdict_of",
    "one_sided_p_value",
    "extra_interviews",
    "nchs_flags",
    "nchs_reasons",
    "sample_needed",
    "hint_of",
    "HINTS",
    "REASONS",
    "MIN_EFFECTIVE_N",
    "PRACTICAL_EXTRA",
    "PlanTarget",
    "load_plan_targets",
    "entered_verdict",
    "SOURCES",
    "MEASURES",
    "DIRECTIONS",
    "IndexTarget",
    "IndexComponent",
    "load_index_targets",
    "check_index_target",
    "numeric_scale_codes",
    "INDEX_WEIGHTS",
]

#: The targets shipped with the toolkit.
DEFAULT_TARGETS_FILE = Path(__file__).resolve().parent.parent / "questionnaires" / "targets.yaml"

Statistic = Literal["proportion", "mean"]
Denominator = Literal["all", "relevant"]
Status = Literal["met", "not met", "inconclusive", "no data"]
#: ``"t"`` is the interval of a mean; the others are those of :meth:`SurveyDesign.proportion`.
IntervalMethod = Literal["t", "mean", "logit", "asin", "beta", "likelihood", "wilson"]
STATUSES: tuple[str, ...] = get_args(Status)
STATISTICS: tuple[str, ...] = get_args(Statistic)
DENOMINATORS: tuple[str, ...] = get_args(Denominator)
INTERVAL_METHODS: tuple[str, ...] = get_args(IntervalMethod)

# The scale on which each interval is symmetric in the SE: there, shrinking the SE by a factor
# shrinks the distance from the estimate to a limit by the same factor. Exact for t, mean
# (Wald), logit and asin; an approximation for beta, likelihood and wilson, whose intervals
# are asymmetric like the logit one.
_SCALES = {"t": "linear", "mean": "linear", "logit": "logit", "asin": "asin",
           "beta": "logit", "likelihood": "logit", "wilson": "logit"}

# NCHS Data Presentation Standards for Proportions (2017): suppress below an effective sample
# size of 30, at a Korn-Graubard interval width of 0.30 or more, or at a relative width above
# 130% when the width is between 0.05 and 0.30; refer for review below 8 degrees of freedom.
NCHS_MIN_EFFECTIVE_N = 30
NCHS_MAX_WIDTH = 0.30
NCHS_RELATIVE_WIDTH_FLOOR = 0.05
NCHS_MAX_RELATIVE_WIDTH = 1.30
NCHS_MIN_DF = 8
NCHS_LEVEL = 0.95

#: Below this effective sample size ``n / max(deff, 1)`` a result is "too few for an estimate":
#: the NCHS standard suppresses it, and the app and the workbook show words, not numbers.
MIN_EFFECTIVE_N = NCHS_MIN_EFFECTIVE_N
#: Further interviews beyond this multiple of the interviews so far are not a practical way to
#: settle a verdict: the hint then says that the estimate sits on the threshold.
PRACTICAL_EXTRA = 5.0

Hint = Literal["no data", "too few", "met", "not met", "toward met", "toward not met", "on threshold"]
#: What a result lets one say, from :func:`hint_of`: ``too few`` (below the minimum sample),
#: ``met``/``not met`` (decided), ``toward met``/``toward not met`` (inconclusive, a practical
#: number of further interviews would settle it if the estimate held), ``on threshold``
#: (inconclusive, and only impractically many further interviews would settle it).
HINTS: tuple[str, ...] = get_args(Hint)
Reason = Literal["effective n", "ci width", "relative ci width", "df"]
#: Codes of the NCHS reasons of :func:`nchs_reasons`.
REASONS: tuple[str, ...] = get_args(Reason)

_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEYS = ("id", "label", "source", "questionnaire", "question", "statistic", "success", "denominator",
         "threshold", "clause", "note")
_REQUIRED = ("id", "label", "questionnaire", "question", "statistic", "denominator", "threshold",
             "clause")
_SELECT_TYPES = ("select_one", "select_multiple")
_NUMERIC_TYPES = ("integer", "decimal")


class TargetError(SurveyError):
    """A target definition is unusable, or does not fit its questionnaire or data.

    The message names the targets file, the target and the field, shows the bad value and
    says how to fix it.
    """


@dataclass(frozen=True)
class Target:
    """One numeric survey target of the plan.

    Attributes
    ----------
    id : str
        Unique name.
    label : Text
        What is measured, in Chinese and English.
    questionnaire, question : str
        Where the answer comes from.
    statistic : {"proportion", "mean"}
        Share of answers in ``success``, or mean of a numeric answer.
    denominator : {"all", "relevant"}
        ``all``: every consenting respondent (not asked counts as not a success);
        ``relevant``: only those asked the question.
    threshold : float
        A share in (0, 1) for a proportion, else in the answer's units.
    clause_section, clause_text : str
        Where the plan sets the target, and its words.
    success : tuple of str
        Answer codes that count as a success (proportions only).
    note : Text, optional
        How the target is operationalised.
    """

    id: str
    label: Text
    questionnaire: str
    question: str
    statistic: Statistic
    denominator: Denominator
    threshold: float
    clause_section: str
    clause_text: str
    success: tuple[str, ...] = ()
    note: Text | None = None


# Targets measured outside the resident surveys (issue 19): pass rates of sample inspections and
# administrative figures, with their own fields (see the comment above them in targets.yaml).
Source = Literal["survey", "inspection", "register"]
Measure = Literal["rate", "ratio", "count"]
Direction = Literal[">=", "<", "<="]
#: Where a target's value comes from: the resident surveys, sample inspections, or registers.
SOURCES: tuple[str, ...] = get_args(Source)
MEASURES: tuple[str, ...] = get_args(Measure)
DIRECTIONS: tuple[str, ...] = get_args(Direction)
_PLAN_KEYS = ("id", "label", "source", "category", "measure", "direction", "threshold", "clause", "note")
_PLAN_REQUIRED = ("id", "label", "source", "measure", "threshold", "clause")


@dataclass(frozen=True)
class PlanTarget:
    """A numeric target of the plan whose value is not a survey estimate.

    Attributes
    ----------
    id : str
    label : Text
    source : {"inspection", "register"}
        ``inspection``: the pass rate of the inspection records of ``category``
        (:mod:`analysis.passrates`); ``register``: an administrative figure entered by hand.
    measure : {"rate", "ratio", "count"}
        ``rate``: numerator / denominator, a share; ``ratio``: numerator / denominator in the
        threshold's units; ``count``: a number of units. Inspection targets are rates.
    direction : {">=", "<", "<="}
        Met when the value is at least (``>=``), below (``<``) or at most (``<=``) the threshold.
    threshold : float
        A share in (0, 1] for a rate, else in units.
    clause_section, clause_text : str
        Where the plan sets the target, and its words.
    category : str or None
        Inspection targets: the product category of their records.
    note : Text, optional
    """

    id: str
    label: Text
    source: Source
    measure: Measure
    direction: Direction
    threshold: float
    clause_section: str
    clause_text: str
    category: str | None = None
    note: Text | None = None


# Indices (issue 16): ``statistic: index``, several questions combined on 0-100 (analysis.indices).
IndexWeights = Literal["equal", "pls"]
#: How an index combines its components (besides fixed weights given in the file).
INDEX_WEIGHTS: tuple[str, ...] = get_args(IndexWeights)
_INDEX_KEYS = ("id", "label", "source", "statistic", "questionnaire", "components", "scale", "weights", "model",
               "threshold", "clause", "note")
_INDEX_REQUIRED = ("id", "label", "statistic", "questionnaire", "components", "weights", "clause")
_COMPONENT_KEYS = ("name", "label", "questions", "scale")
_MODEL_KEYS = ("blocks", "inner", "index_block", "scheme", "modes")


@dataclass(frozen=True)
class IndexComponent:
    """One component of an index: a question, or a sub-index of several questions.

    Attributes
    ----------
    name : str
        The question's name, or the sub-index's name.
    questions : tuple of str
    scale : (float, float)
        The answer scale (low, high) mapped to 0-100.
    label : Text or None
        A sub-index's name in Chinese and English (a question's label is the questionnaire's).
    """

    name: str
    questions: tuple[str, ...]
    scale: tuple[float, float]
    label: Text | None = None


@dataclass(frozen=True)
class IndexTarget:
    """A satisfaction index of the plan (``statistic: index``): questions combined on 0-100.

    Estimated by :func:`analysis.indices.satisfaction_index` (ACSI convention: each
    component's mean mapped from its scale to 0-100, combined with normalised non-negative
    weights).

    Attributes
    ----------
    id : str
    label : Text
    questionnaire : str
    components : tuple of IndexComponent
        Sub-indices (each reported with its own interval) or single questions.
    weights : "equal", "pls" or mapping of component name to weight
    model : mapping or None
        With ``weights: pls``: ``blocks`` (latent variable to questions), ``inner`` (edges),
        ``index_block`` (the block whose outer weights weigh the index's questions) and
        optionally ``scheme`` and ``modes`` (see :func:`analysis.plspm`).
    threshold : float or None
        In points (0-100); None where the plan sets no number (then the change between waves is
        shown instead of a verdict).
    clause_section, clause_text : str
    note : Text, optional
    """

    id: str
    label: Text
    questionnaire: str
    components: tuple[IndexComponent, ...]
    weights: Any
    threshold: float | None
    clause_section: str
    clause_text: str
    model: Mapping[str, Any] | None = None
    note: Text | None = None

    @property
    def questions(self) -> tuple[str, ...]:
        """Every question of the index, component by component."""
        return tuple(q for c in self.components for q in c.questions)

    @property
    def model_questions(self) -> tuple[str, ...]:
        """Every question of the PLS model (the index's own without one)."""
        if self.model is None:
            return self.questions
        return tuple(q for block in self.model["blocks"].values() for q in block)


def entered_verdict(value: float, *, threshold: float, direction: Direction = ">=") -> Status:
    """The verdict of an administrative figure (no interval): met or not met.

    A value equal to the threshold up to rounding (``85 / 100`` against ``0.85``) counts as equal.

    Examples
    --------
    >>> entered_verdict(0.84, threshold=0.85), entered_verdict(85 / 100, threshold=0.85)
    ('not met', 'met')
    >>> entered_verdict(0.12, threshold=0.13, direction="<")
    'met'
    """
    if direction not in DIRECTIONS:
        raise TargetError("unknown direction", argument="direction", value=direction,
                          fix=f"use one of {', '.join(DIRECTIONS)}")
    if not np.isfinite(value):
        return "no data"
    equal = math.isclose(value, threshold, rel_tol=1e-9, abs_tol=1e-12)
    if direction == ">=":
        met = equal or value > threshold
    elif direction == "<":
        met = not equal and value < threshold
    else:
        met = equal or value < threshold
    return "met" if met else "not met"


# -- loading ------------------------------------------------------------------------------

def load_targets(path: str | Path | None = None, *,
                 questionnaires: Mapping[str, Questionnaire] | None = None) -> tuple[Target, ...]:
    """Read and check a targets file.

    Parameters
    ----------
    path : str or Path, optional
        A YAML file in the format described at the top of ``questionnaires/targets.yaml``.
        Default: :data:`DEFAULT_TARGETS_FILE`.
    questionnaires : mapping of str to Questionnaire, optional
        Questionnaires by id to check the targets against. Default: the shipped ones.

    Returns
    -------
    tuple of Target
        In file order.

    Raises
    ------
    TargetError
        The file cannot be read or is not valid YAML, a field is missing, unknown or has a
        bad value, two targets share an id, or a target does not fit its questionnaire
        (unknown questionnaire or question, a success code not in the choice list, a mean of
        a non-numeric answer). The message names the file, the target and the field.

    Examples
    --------
    >>> [t.id for t in load_targets()][:2]
    ['consumer_environment_satisfaction', 'campaign_awareness']
    """
    return _load_all(path, questionnaires)[0]


def load_plan_targets(path: str | Path | None = None, *,
                      questionnaires: Mapping[str, Questionnaire] | None = None) -> tuple[PlanTarget, ...]:
    """The targets of a targets file that are not survey estimates (``source: inspection|register``).

    The whole file is checked as :func:`load_targets` checks it (ids are unique across both
    kinds).

    Parameters
    ----------
    path : str or Path, optional
        Default: :data:`DEFAULT_TARGETS_FILE`.
    questionnaires : mapping of str to Questionnaire, optional
        To check the survey targets of the file against. Default: the shipped ones.

    Returns
    -------
    tuple of PlanTarget
        In file order.

    Examples
    --------
    >>> [t.id for t in load_plan_targets()][:2]
    ['consumer_product_pass_rate', 'food_sampling_pass_rate']
    """
    return _load_all(path, questionnaires)[1]


def load_index_targets(path: str | Path | None = None, *,
                       questionnaires: Mapping[str, Questionnaire] | None = None) -> tuple[IndexTarget, ...]:
    """The indices of a targets file (``statistic: index``), checked against the questionnaires.

    The whole file is checked as :func:`load_targets` checks it.

    Raises
    ------
    TargetError
        A bad field, a component question that is not numeric (an integer or decimal question,
        or a choice list whose codes are numbers), a PLS model whose index block has one item,
        a cycle in its inner model...; the message names the file, the target and the field.

    Examples
    --------
    >>> [t.id for t in load_index_targets()]
    ['consumption_environment_index', 'tourist_satisfaction_acsi']
    """
    return _load_all(path, questionnaires)[2]


def _load_all(path: str | Path | None, questionnaires: Mapping[str, Questionnaire] | None
              ) -> tuple[tuple[Target, ...], tuple[PlanTarget, ...], tuple[IndexTarget, ...]]:
    path = Path(path) if path is not None else DEFAULT_TARGETS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise TargetError(f"cannot read the targets file: {error}", argument=str(path),
                          fix="check the path (the default is questionnaires/targets.yaml)") from None
    try:
        data = _parse_yaml(text)
    except yaml.YAMLError as error:
        raise TargetError(f"not valid YAML: {error}", argument=str(path),
                          fix="correct the YAML syntax at the line shown") from None
    if not isinstance(data, dict) or set(data) != {"targets"} or not isinstance(data["targets"], list) \
            or not data["targets"]:
        raise TargetError("the file must hold one key, 'targets', with a non-empty list of targets",
                          argument=str(path), value=data if not isinstance(data, dict) else sorted(data),
                          fix="start the file with 'targets:' followed by '- id: ...' entries")
    if questionnaires is None:
        from questionnaires import shipped_questionnaires

        questionnaires = shipped_questionnaires()
    targets: list[Target] = []
    others: list[PlanTarget] = []
    indices: list[IndexTarget] = []
    seen: set[str] = set()
    for position, entry in enumerate(data["targets"], start=1):
        target = _build_target(entry, position, path)
        if target.id in seen:
            raise TargetError("duplicate id; every target needs its own id",
                              argument=f"{path}: target {target.id!r}, field 'id'", value=target.id,
                              fix="rename one of the two targets")
        seen.add(target.id)
        if isinstance(target, PlanTarget):
            others.append(target)
            continue
        try:
            if isinstance(target, IndexTarget):
                check_index_target(target, questionnaires)
                indices.append(target)
                continue
            check_target(target, questionnaires)
        except TargetError as error:
            raise TargetError(error.message, argument=f"{path}: {error.argument}", value=error.value,
                              fix=error.fix) from None
        targets.append(target)
    return tuple(targets), tuple(others), tuple(indices)


# libyaml's parser when PyYAML was built with it (the same YAML, several times faster)
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.lru_cache(maxsize=8)
def _parse_yaml(text: str) -> Any:
    """The YAML document ``text``, parsed once per distinct content (the app reads the targets
    file on every page view; reading is cheap, parsing is not). Shared: never modify it."""
    return yaml.load(text, Loader=_YAML_LOADER)


def _build_target(entry: Any, position: int, path: Path) -> Target | PlanTarget:
    if not isinstance(entry, dict):
        raise TargetError("a target must be a mapping of fields", argument=f"{path}: target #{position}",
                          value=entry, fix="write 'id: ...', 'label: ...' etc. under '- '")
    name = entry.get("id")
    where = f"target {name!r}" if isinstance(name, str) else f"target #{position}"

    def fail(field_name: str, message: str, value: Any, fix: str) -> TargetError:
        return TargetError(message, argument=f"{path}: {where}, field {field_name!r}", value=value, fix=fix)

    source = entry.get("source", "survey")
    if source not in SOURCES:
        raise fail("source", "unknown source", source, f"use one of {', '.join(SOURCES)} (default survey)")
    if source != "survey":
        return _build_plan_target(entry, fail)
    if entry.get("statistic") == "index":
        return _build_index_target(entry, fail)

    unknown = sorted(set(entry) - set(_KEYS), key=str)
    if unknown:
        raise fail(str(unknown[0]), "unknown field", unknown, f"use only the fields {', '.join(_KEYS)}")
    for key in _REQUIRED:
        if key not in entry:
            raise fail(key, "missing field", None, f"add '{key}:' (fields: {', '.join(_REQUIRED)})")
    if not isinstance(name, str) or not _ID.fullmatch(name):
        raise fail("id", "not a valid id", name, "use letters, digits and '_', starting with a letter")
    for key in ("questionnaire", "question"):
        if not isinstance(entry[key], str) or not _ID.fullmatch(entry[key]):
            raise fail(key, "not a valid name", entry[key], f"give the {key}'s name, e.g. consumer_environment")
    label = _text(entry["label"], required_en=True)
    if label is None:
        raise fail("label", "needs a Chinese and an English text", entry["label"],
                   "write label: {zh: ..., en: ...}")
    note = None
    if entry.get("note") is not None:
        note = _text(entry["note"], required_en=False)
        if note is None:
            raise fail("note", "must be a Chinese text with an optional English one", entry["note"],
                       "write note: {zh: ..., en: ...}")
    statistic = entry["statistic"]
    if statistic not in STATISTICS:
        raise fail("statistic", "unknown statistic", statistic, f"use one of {', '.join(STATISTICS)}")
    denominator = entry["denominator"]
    if denominator not in DENOMINATORS:
        raise fail("denominator", "unknown denominator", denominator,
                   f"use one of {', '.join(DENOMINATORS)}")
    threshold = entry["threshold"]
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not math.isfinite(threshold):
        raise fail("threshold", "must be a number", threshold, "write e.g. threshold: 0.85")
    success: tuple[str, ...] = ()
    if statistic == "proportion":
        if not 0 < threshold < 1:
            raise fail("threshold", "a proportion's threshold is a share between 0 and 1", threshold,
                       f"write {threshold / 100:g} for {threshold:g}%" if 1 < threshold < 100
                       else "write e.g. 0.85 for 85%")
        codes = entry.get("success")
        if not isinstance(codes, list) or not codes:
            raise fail("success", "a proportion needs the list of answer codes that count as a success",
                       codes, "write e.g. success: ['4', '5'] (the top two boxes)")
        if not all(isinstance(code, str) and code.strip() for code in codes):
            raise fail("success", "answer codes must be quoted strings", codes,
                       "quote the codes, e.g. success: ['4', '5']")
        if len(set(codes)) != len(codes):
            raise fail("success", "a code is listed twice", codes, "list each code once")
        success = tuple(codes)
    else:
        if "success" in entry:
            raise fail("success", "a mean has no success codes", entry["success"],
                       "remove 'success', or use statistic: proportion")
        if denominator != "relevant":
            raise fail("denominator", "a mean is taken over the respondents asked the question", denominator,
                       "write denominator: relevant")
    clause = entry["clause"]
    if not isinstance(clause, dict) or set(clause) != {"section", "text"} \
            or not all(isinstance(v, str) and v.strip() for v in clause.values()):
        raise fail("clause", "must give the plan's section and its words", clause,
                   "write clause: {section: 二、主要目标, text: <the plan's sentence>}")
    return Target(id=name, label=label, questionnaire=entry["questionnaire"], question=entry["question"],
                  statistic=statistic, denominator=denominator, threshold=float(threshold),
                  clause_section=clause["section"].strip(), clause_text=clause["text"].strip(),
                  success=success, note=note)


def _build_plan_target(entry: dict, fail: Any) -> PlanTarget:
    unknown = sorted(set(entry) - set(_PLAN_KEYS), key=str)
    if unknown:
        raise fail(str(unknown[0]), f"unknown field for source {entry['source']}", unknown,
                   f"use only the fields {', '.join(_PLAN_KEYS)}")
    for key in _PLAN_REQUIRED:
        if key not in entry:
            raise fail(key, "missing field", None, f"add '{key}:' (fields: {', '.join(_PLAN_REQUIRED)})")
    name, source = entry["id"], entry["source"]
    if not isinstance(name, str) or not _ID.fullmatch(name):
        raise fail("id", "not a valid id", name, "use letters, digits and '_', starting with a letter")
    label = _text(entry["label"], required_en=True)
    if label is None:
        raise fail("label", "needs a Chinese and an English text", entry["label"], "write label: {zh: ..., en: ...}")
    note = None
    if entry.get("note") is not None:
        note = _text(entry["note"], required_en=False)
        if note is None:
            raise fail("note", "must be a Chinese text with an optional English one", entry["note"],
                       "write note: {zh: ..., en: ...}")
    measure = entry["measure"]
    if measure not in MEASURES:
        raise fail("measure", "unknown measure", measure, f"use one of {', '.join(MEASURES)}")
    direction = entry.get("direction", ">=")
    if direction not in DIRECTIONS:
        raise fail("direction", "unknown direction", direction, f"use one of {', '.join(DIRECTIONS)} (quoted)")
    threshold = entry["threshold"]
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not math.isfinite(threshold) \
            or threshold <= 0:
        raise fail("threshold", "must be a positive number", threshold, "write e.g. threshold: 0.85 or 300")
    if measure == "rate" and threshold > 1:
        raise fail("threshold", "a rate's threshold is a share between 0 and 1", threshold,
                   f"write {threshold / 100:g} for {threshold:g}%" if threshold <= 100 else "write e.g. 0.85 for 85%")
    category = entry.get("category")
    if source == "inspection":
        if not isinstance(category, str) or not _ID.fullmatch(category):
            raise fail("category", "an inspection target needs the product category of its records", category,
                       "write e.g. category: food")
        if measure != "rate" or direction != ">=":
            raise fail("measure", "an inspection target is a pass rate of at least the threshold",
                       (measure, direction), "write measure: rate and leave out direction")
    elif category is not None:
        raise fail("category", "only inspection targets have a category", category,
                   "remove 'category', or use source: inspection")
    clause = entry["clause"]
    if not isinstance(clause, dict) or set(clause) != {"section", "text"} \
            or not all(isinstance(v, str) and v.strip() for v in clause.values()):
        raise fail("clause", "must give the plan's section and its words", clause,
                   "write clause: {section: 二、主要目标, text: <the plan's sentence>}")
    return PlanTarget(id=name, label=label, source=source, measure=measure, direction=direction,
                      threshold=float(threshold), clause_section=clause["section"].strip(),
                      clause_text=clause["text"].strip(), category=category, note=note)


def _scale_pair(value: Any) -> tuple[float, float] | None:
    if not isinstance(value, (list, tuple)) or len(value) != 2 or not all(
            isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) for v in value):
        return None
    low, high = float(value[0]), float(value[1])
    return (low, high) if low < high else None


def _build_index_target(entry: dict, fail: Any) -> IndexTarget:
    unknown = sorted(set(entry) - set(_INDEX_KEYS), key=str)
    if unknown:
        raise fail(str(unknown[0]), "unknown field for an index", unknown, f"use only the fields {', '.join(_INDEX_KEYS)}")
    for key in _INDEX_REQUIRED:
        if key not in entry:
            raise fail(key, "missing field", None, f"add '{key}:' (fields: {', '.join(_INDEX_REQUIRED)})")
    name = entry["id"]
    if not isinstance(name, str) or not _ID.fullmatch(name):
        raise fail("id", "not a valid id", name, "use letters, digits and '_', starting with a letter")
    if not isinstance(entry["questionnaire"], str) or not _ID.fullmatch(entry["questionnaire"]):
        raise fail("questionnaire", "not a valid name", entry["questionnaire"],
                   "give the questionnaire's id, e.g. consumer_environment")
    label = _text(entry["label"], required_en=True)
    if label is None:
        raise fail("label", "needs a Chinese and an English text", entry["label"], "write label: {zh: ..., en: ...}")
    note = None
    if entry.get("note") is not None:
        note = _text(entry["note"], required_en=False)
        if note is None:
            raise fail("note", "must be a Chinese text with an optional English one", entry["note"],
                       "write note: {zh: ..., en: ...}")
    default_scale = None
    if "scale" in entry:
        default_scale = _scale_pair(entry["scale"])
        if default_scale is None:
            raise fail("scale", "a scale is [low, high] with low < high", entry["scale"], "write e.g. scale: [1, 10]")
    raw = entry["components"]
    if not isinstance(raw, list) or not raw:
        raise fail("components", "an index needs a list of components", raw,
                   "list questions, or sub-indices as {name, label, questions, scale}")
    components: list[IndexComponent] = []
    for item in raw:
        if isinstance(item, str):
            if default_scale is None:
                raise fail("scale", "a question listed as a component needs the index's scale", item,
                           "add scale: [low, high] to the index")
            components.append(IndexComponent(item, (item,), default_scale))
            continue
        if not isinstance(item, dict) or set(item) - set(_COMPONENT_KEYS) or "name" not in item \
                or "questions" not in item:
            raise fail("components", "a sub-index is {name, label, questions, scale}", item,
                       f"use the fields {', '.join(_COMPONENT_KEYS)} (name and questions required)")
        questions = item["questions"]
        if not isinstance(questions, list) or not questions or not all(isinstance(q, str) for q in questions):
            raise fail("components", f"sub-index {item['name']!r} needs a list of questions", questions,
                       "write questions: [question_name, ...]")
        scale = _scale_pair(item["scale"]) if "scale" in item else default_scale
        if scale is None:
            raise fail("components", f"sub-index {item['name']!r} has no valid scale", item.get("scale"),
                       "write scale: [low, high] in the sub-index or the index")
        sub_label = _text(item["label"], required_en=True) if "label" in item else None
        if sub_label is None:
            raise fail("components", f"sub-index {item['name']!r} needs a Chinese and an English label",
                       item.get("label"), "write label: {zh: ..., en: ...}")
        if not isinstance(item["name"], str) or not _ID.fullmatch(item["name"]):
            raise fail("components", "not a valid sub-index name", item["name"], "use letters, digits and '_'")
        components.append(IndexComponent(item["name"], tuple(questions), scale, sub_label))
    names = [c.name for c in components]
    questions = [q for c in components for q in c.questions]
    for what, values in (("component", names), ("question", questions)):
        twice = sorted({v for v in values if values.count(v) > 1})
        if twice:
            raise fail("components", f"a {what} is listed twice", twice, f"list every {what} once")
    weights = entry["weights"]
    model = None
    if isinstance(weights, dict):
        if set(weights) != set(names) or not all(
                isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) and v >= 0
                for v in weights.values()) or not sum(weights.values()) > 0:
            raise fail("weights", "fixed weights name every component with a number >= 0, not all zero", weights,
                       f"write weights: {{{', '.join(f'{n}: 1' for n in names)}}}")
        weights = {str(k): float(v) for k, v in weights.items()}
    elif weights not in INDEX_WEIGHTS:
        raise fail("weights", "unknown weights", weights,
                   f"use one of {', '.join(INDEX_WEIGHTS)}, or a mapping of component to weight")
    if weights == "pls":
        model = _index_model(entry.get("model"), questions, fail)
    elif "model" in entry:
        raise fail("model", "only weights: pls use a model", entry["model"], "remove 'model', or write weights: pls")
    threshold = entry.get("threshold")
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, numbers.Real)
                                  or not 0 < threshold <= 100):
        raise fail("threshold", "an index's threshold is in points between 0 and 100", threshold,
                   "write e.g. threshold: 80, or leave it out where the plan sets no number")
    clause = entry["clause"]
    if not isinstance(clause, dict) or set(clause) != {"section", "text"} \
            or not all(isinstance(v, str) and v.strip() for v in clause.values()):
        raise fail("clause", "must give the plan's section and its words", clause,
                   "write clause: {section: 二、主要目标, text: <the plan's sentence>}")
    return IndexTarget(id=name, label=label, questionnaire=entry["questionnaire"], components=tuple(components),
                       weights=weights, threshold=None if threshold is None else float(threshold),
                       clause_section=clause["section"].strip(), clause_text=clause["text"].strip(), model=model,
                       note=note)


def _index_model(model: Any, questions: list[str], fail: Any) -> dict[str, Any]:
    """The PLS model of an index, checked: blocks of questions, edges between blocks without a
    cycle, an index block of at least two items that are the index's questions."""
    from .pls import PLSModelError, causal_order   # one cycle check for the file and the model

    if not isinstance(model, dict) or set(model) - set(_MODEL_KEYS) or not {"blocks", "inner", "index_block"} <= set(model):
        raise fail("model", "weights: pls needs the PLS model: blocks, inner, index_block", model,
                   "write model: {blocks: {LV: [questions]}, inner: [[LV1, LV2], ...], index_block: LV}")
    blocks = model["blocks"]
    if not isinstance(blocks, dict) or len(blocks) < 2 or not all(
            isinstance(v, list) and v and all(isinstance(q, str) for q in v) for v in blocks.values()):
        raise fail("model", "blocks map each latent variable to its list of questions (at least two blocks)",
                   blocks, "write blocks: {EXPECT: [q1], SAT: [q2, q3]}")
    blocks = {str(k): list(v) for k, v in blocks.items()}
    inner = model["inner"]
    if not isinstance(inner, list) or not inner or not all(
            isinstance(e, list) and len(e) == 2 and all(str(x) in blocks for x in e) for e in inner):
        raise fail("model", "inner lists edges [from, to] between the blocks", inner,
                   f"write inner: [[A, B], ...] with A, B among {', '.join(blocks)}")
    edges = [(str(a), str(b)) for a, b in inner]
    try:
        causal_order(list(blocks), edges)
    except PLSModelError as error:
        raise fail("model", error.message, inner, error.fix) from None
    block = model["index_block"]
    if block not in blocks:
        raise fail("model", "index_block is not one of the blocks", block, f"use one of {', '.join(blocks)}")
    if len(blocks[block]) < 2:
        raise fail("model", f"the index block {block!r} has one item: PLS weights need at least two (one item is "
                   "its own index)", blocks[block], "add the block's other items, or use weights: equal")
    if sorted(blocks[block]) != sorted(questions):
        raise fail("model", f"the index block {block!r} must hold exactly the index's questions",
                   {"index_block": blocks[block], "components": questions},
                   "list the index's questions as the index block's items")
    out: dict[str, Any] = {"blocks": blocks, "inner": edges, "index_block": block}
    for key in ("scheme", "modes"):
        if key in model:
            out[key] = model[key]
    return out


def numeric_scale_codes(form: Questionnaire, question_name: str) -> list[float] | None:
    """The numeric answers of a question that an index or a driver analysis can average:
    ``[]`` for an integer or decimal question (any number), the codes as numbers for a choice
    list whose codes are all numbers (a rating scale, or 1/0), None otherwise."""
    question = form.question(question_name)
    if question.type in _NUMERIC_TYPES:
        return []
    if question.type != "select_one":
        return None
    codes = []
    for choice in form.choices(question):
        try:
            codes.append(float(choice.name))
        except ValueError:
            return None
    return codes


def check_index_target(target: IndexTarget, questionnaires: Mapping[str, Questionnaire]) -> None:
    """Check that an index fits its questionnaire: every question (of the index and of its PLS
    model) exists and is numeric, and choice codes lie on the component's scale.

    Raises
    ------
    TargetError
        Naming the target and the field.
    """
    where = f"target {target.id!r}"
    if target.questionnaire not in questionnaires:
        raise TargetError("unknown questionnaire", argument=f"{where}, field 'questionnaire'",
                          value=target.questionnaire, fix=f"use one of {', '.join(sorted(questionnaires))}")
    form = questionnaires[target.questionnaire]
    names = [q.name for q in form.questions if q.type != "note"]
    scales = {q: c.scale for c in target.components for q in c.questions}
    for question in dict.fromkeys(target.questions + target.model_questions):
        field_name = "components" if question in scales else "model"
        if question not in names:
            raise TargetError(f"questionnaire {form.id!r} has no such question", argument=f"{where}, field {field_name!r}",
                              value=question, fix=f"use one of {', '.join(names)}")
        codes = numeric_scale_codes(form, question)
        if codes is None:
            kind = form.question(question).type
            raise TargetError(f"question {question!r} is {kind}, not numeric: an index averages numbers",
                              argument=f"{where}, field {field_name!r}", value=question,
                              fix="use an integer or decimal question, or a choice list whose codes are numbers "
                                  "(e.g. '1' ... '5')")
        if question in scales:
            low, high = scales[question]
            outside = [c for c in codes if not low <= c <= high]
            if outside:
                raise TargetError(f"answer codes of {question!r} lie outside the scale [{low:g}, {high:g}]",
                                  argument=f"{where}, field 'scale'", value=outside,
                                  fix="give the question's real answer range as the scale")


def _text(value: Any, *, required_en: bool) -> Text | None:
    if not isinstance(value, dict) or not set(value) <= {"zh", "en"}:
        return None
    zh, en = value.get("zh"), value.get("en")
    if not isinstance(zh, str) or not zh.strip():
        return None
    if en is None and not required_en:
        return Text(zh.strip())
    if not isinstance(en, str) or not en.strip():
        return None
    return Text(zh.strip(), en.strip())


def check_target(target: Target, questionnaires: Mapping[str, Questionnaire]) -> None:
    """Check that ``target`` fits its questionnaire.

    Parameters
    ----------
    target : Target
    questionnaires : mapping of str to Questionnaire
        Questionnaires by id.

    Raises
    ------
    TargetError
        Unknown questionnaire or question, a proportion of a question without choices or a
        success code not in its choice list, a mean of a non-numeric question.
    """
    where = f"target {target.id!r}"
    if target.questionnaire not in questionnaires:
        raise TargetError("unknown questionnaire", argument=f"{where}, field 'questionnaire'",
                          value=target.questionnaire,
                          fix=f"use one of {', '.join(sorted(questionnaires)) or '(none loaded)'}")
    form = questionnaires[target.questionnaire]
    names = [q.name for q in form.questions if q.type != "note"]
    if target.question not in names:
        raise TargetError(f"questionnaire {form.id!r} has no such question", argument=f"{where}, field 'question'",
                          value=target.question, fix=f"use one of {', '.join(names)}")
    question = form.question(target.question)
    if target.statistic == "proportion":
        if question.type not in _SELECT_TYPES:
            raise TargetError(f"a proportion needs a select_one or select_multiple question; "
                              f"{question.name!r} is {question.type}", argument=f"{where}, field 'question'",
                              value=target.question, fix="choose a question with a choice list, or use statistic: mean")
        codes = [choice.name for choice in form.choices(question)]
        missing = [code for code in target.success if code not in codes]
        if missing:
            raise TargetError(f"success codes not in the choice list {question.list_name!r} of {question.name!r}",
                              argument=f"{where}, field 'success'", value=missing,
                              fix=f"use codes among {', '.join(codes)}")
    elif question.type not in _NUMERIC_TYPES:
        raise TargetError(f"a mean needs an integer or decimal question; {question.name!r} is {question.type}",
                          argument=f"{where}, field 'question'", value=target.question,
                          fix="choose a numeric question, or use statistic: proportion with success codes")


# -- the analysis variable -----------------------------------------------------------------

def target_indicator(responses: pd.DataFrame, *, target: Target, questionnaire: Questionnaire) -> pd.Series:
    """The analysis variable of ``target``: 1/0 for a proportion, the answer for a mean.

    Parameters
    ----------
    responses : pandas.DataFrame
        One row per interview of ``questionnaire``, a column per question as
        ``ResponseStore.responses_frame`` gives them (``select_multiple`` as space-separated
        codes, numbers as floats, unanswered missing).
    target : Target
    questionnaire : Questionnaire
        The questionnaire of ``target``, used for skip logic (``relevant``).

    Returns
    -------
    pandas.Series
        float, indexed like ``responses``. Missing (NaN) outside the denominator: interviews
        without consent, respondents asked the question who left it blank, and (for
        ``denominator: relevant`` and means) respondents not asked it. For
        ``denominator: all`` a respondent not asked the question counts 0.

    Raises
    ------
    TargetError
        ``target`` is not of ``questionnaire``, or ``responses`` lacks the question's column
        or holds a code that is not in its choice list.
    """
    return target_indicators(responses, targets=[target], questionnaire=questionnaire)[target.id]


def target_indicators(responses: pd.DataFrame, *, targets: Sequence[Target],
                      questionnaire: Questionnaire) -> pd.DataFrame:
    """The analysis variables of several targets of one questionnaire, skip logic walked once.

    Parameters
    ----------
    responses : pandas.DataFrame
        As :func:`target_indicator`.
    targets : sequence of Target
        Targets of ``questionnaire``, with distinct ids.
    questionnaire : Questionnaire

    Returns
    -------
    pandas.DataFrame
        Indexed like ``responses``, one float column per target named by its id, each equal
        to :func:`target_indicator` of that target.

    Raises
    ------
    TargetError
        As :func:`target_indicator`, for the first target that fails.
    """
    ids = [target.id for target in targets]
    if len(set(ids)) != len(ids):
        raise TargetError("two targets share an id; each becomes a column named by its id", argument="targets",
                          value=sorted({i for i in ids if ids.count(i) > 1}), fix="pass each target once")
    for target in targets:
        if target.questionnaire != questionnaire.id:
            raise TargetError(f"the target is of questionnaire {target.questionnaire!r}", argument="questionnaire",
                              value=questionnaire.id, fix=f"pass the questionnaire {target.questionnaire!r}")
        check_target(target, {questionnaire.id: questionnaire})
        if target.question not in responses.columns:
            raise TargetError(f"the responses have no column for question {target.question!r}",
                              argument="responses", value=list(responses.columns)[:20],
                              fix="pass the questionnaire's responses_frame")
    types = {q.name: q.type for q in questionnaire.questions if q.name in responses.columns}
    # Whether a row counts and is asked depends only on the answers that consent and the skip
    # logic read, and the indicator only on the row's answer: each distinct combination is
    # evaluated once (a survey has few) instead of walking the skip logic on every row.
    combinations = (_combinations(responses, questionnaire, types,
                                  [questionnaire.question(t.question) for t in targets]) if targets else None)
    columns = {target.id: _indicator(responses, target, questionnaire, types, combinations) for target in targets}
    return pd.DataFrame(columns, index=responses.index, columns=ids, dtype=float)


def _indicator(responses: pd.DataFrame, target: Target, questionnaire: Questionnaire, types: Mapping[str, str],
               combinations: tuple[np.ndarray, list[dict[str, Any]]]) -> np.ndarray:
    question = questionnaire.question(target.question)
    success = set(target.success)
    valid_codes = {c.name for c in questionnaire.choices(question)} if question.type in _SELECT_TYPES else None
    status = _asked(combinations, questionnaire, question, types)
    values = np.full(len(responses), np.nan)
    if target.denominator == "all" and target.statistic == "proportion":
        values[status == _NOT_ASKED] = 0.0
    asked = np.flatnonzero(status == _ASKED)
    if not len(asked):
        return values
    codes, uniques = pd.factorize(pd.Series(responses[question.name].to_numpy()[asked], dtype=object),
                                  use_na_sentinel=False)
    indicator = np.full(len(uniques), np.nan)
    bad_code: dict[int, Any] = {}
    for k, value in enumerate(uniques):
        answer = _answer(types[question.name], value)
        if answer is None:
            continue
        if target.statistic == "mean":
            indicator[k] = float(answer)
            continue
        chosen = answer if isinstance(answer, list) else [answer]
        bad = [code for code in chosen if code not in valid_codes]
        if bad:
            bad_code[k] = bad[0]
            continue
        indicator[k] = 1.0 if success.intersection(chosen) else 0.0
    if bad_code:  # the first row, in order, with a code outside the list
        first = codes[np.flatnonzero(np.isin(codes, list(bad_code)))[0]]
        raise TargetError(f"an answer to {question.name!r} is not in its choice list {question.list_name!r}",
                          argument="responses", value=bad_code[first],
                          fix="check that the responses belong to this questionnaire version")
    values[asked] = indicator[codes]
    return values


_NO_CONSENT, _NOT_ASKED, _ASKED = 0, 1, 2


def _combinations(responses: pd.DataFrame, questionnaire: Questionnaire, types: Mapping[str, str],
                  questions: Sequence[Any]) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Per row, the number of its combination of consent and the answers that decide whether
    ``questions`` are asked; and those answers of each combination."""
    read = _skip_logic_inputs(questionnaire, questions)
    columns = [name for name in types if name in read or name == "consent"]
    key = np.zeros(len(responses), np.int64)
    for name in columns:   # one code per distinct combination of these answers
        column_codes, column_values = pd.factorize(responses[name], use_na_sentinel=False)
        key = key * max(len(column_values), 1) + column_codes
        key = pd.factorize(key)[0].astype(np.int64)   # keeps the codes small
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    answers = [{name: _answer(types[name], value) for name, value in zip(columns, row)}
               for row in responses[columns].iloc[first].itertuples(index=False, name=None)]
    return inverse.reshape(-1), answers


def _skip_logic_inputs(questionnaire: Questionnaire, questions: Sequence[Any]) -> set[str]:
    """The answers that decide whether ``questions`` are asked: those their own and their group's
    ``relevant`` read and, in turn, those that decide whether those were asked (the skip logic
    sees only the answers of questions that were asked)."""
    where = {q.name: (q, group) for group in questionnaire.groups for q in group.questions}
    found: set[str] = set()
    stack = [q.name for q in questions]
    seen = set(stack)
    while stack:
        question, group = where[stack.pop()]
        for expression in (group.relevant, question.relevant):
            for name in references(expression) if expression else ():
                found.add(name)
                if name in where and name not in seen:
                    seen.add(name)
                    stack.append(name)
    return found


def _asked(combinations: tuple[np.ndarray, list[dict[str, Any]]], questionnaire: Questionnaire, question: Any,
           types: Mapping[str, str]) -> np.ndarray:
    """Per row: no consent, consent but ``question`` not asked, or asked (the codes above)."""
    inverse, answers = combinations
    status = np.empty(len(answers), np.int64)
    for k, given in enumerate(answers):
        if "consent" in types and given.get("consent") != "yes":
            status[k] = _NO_CONSENT
        elif not questionnaire.is_relevant(question, given):
            status[k] = _NOT_ASKED
        else:
            status[k] = _ASKED
    return status[inverse]


def _answer(question_type: str, value: Any) -> Any:
    """An answer as the questionnaire model holds it, from a responses_frame cell."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, str):
        if not value.strip():
            return None
        return value.split() if question_type == "select_multiple" else value
    if question_type == "integer" and float(value).is_integer():
        return int(value)
    return value


# -- verdicts ------------------------------------------------------------------------------

def verdict_of(*, ci_low: float, ci_high: float, threshold: float) -> Status:
    """Met when ``ci_low >= threshold``, not met when ``ci_high < threshold``, else inconclusive.

    A missing limit (e.g. a domain with a single PSU) gives ``"inconclusive"``.

    Examples
    --------
    >>> verdict_of(ci_low=0.86, ci_high=0.90, threshold=0.85)
    'met'
    >>> verdict_of(ci_low=0.80, ci_high=0.88, threshold=0.85)
    'inconclusive'
    """
    if ci_low >= threshold:
        return "met"
    if ci_high < threshold:
        return "not met"
    return "inconclusive"


def one_sided_p_value(estimate: float, *, se: float, df: float, threshold: float) -> float:
    """p-value of ``H0: true value < threshold`` against ``H1: >= threshold``.

    ``P(T >= (estimate - threshold) / se)`` for ``T`` Student t on ``df`` design degrees of
    freedom; a small value is evidence that the target is met. NaN when ``se`` is not
    positive or ``df < 1``.

    Examples
    --------
    >>> round(one_sided_p_value(0.9, se=0.02, df=30, threshold=0.85), 4)
    0.0091
    >>> # In R: pt((0.9 - 0.85) / 0.02, df = 30, lower.tail = FALSE)
    """
    return float(_one_sided_p_values(np.array([estimate], dtype=float), se=np.array([se], dtype=float),
                                     df=np.array([df], dtype=float), threshold=threshold)[0])


def _one_sided_p_values(estimate: np.ndarray, *, se: np.ndarray, df: np.ndarray, threshold: float) -> np.ndarray:
    """:func:`one_sided_p_value` of each element, in one call of the t distribution."""
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(estimate) & np.isfinite(se) & (se > 0) & np.isfinite(df) & (df >= 1)
    out = np.full(len(estimate), math.nan)
    if valid.any():
        with np.errstate(over="ignore"):  # a tiny SE: t is infinite, p is 0 or 1
            out[valid] = stats.t.sf((estimate[valid] - threshold) / se[valid], df[valid])
    return out


def _forward(scale: str, value: float) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        if scale == "logit":
            return float(logit(value))
        if scale == "asin":
            return float(np.arcsin(np.sqrt(value)))
    return float(value)


def _backward(scale: str, value: float) -> float:
    if scale == "logit":
        return float(expit(value))
    if scale == "asin":
        return float(np.sin(np.clip(value, 0, np.pi / 2)) ** 2)
    return float(value)


def _limit_after(estimate: float, distance: float, factor: float, scale: str, sign: float) -> float:
    return _backward(scale, _forward(scale, estimate) + sign * factor * distance)


def _derivative(scale: str, estimate: float) -> float:
    if scale == "logit":
        return 1 / (estimate * (1 - estimate))
    if scale == "asin":
        return 1 / (2 * math.sqrt(estimate * (1 - estimate)))
    return 1.0


def extra_interviews(estimate: float, *, se: float, df: float, level: float, ci_low: float, ci_high: float,
                     n: int, threshold: float, ci_method: IntervalMethod, interviews: int | None = None) -> int | None:
    """Further completed interviews that would make an inconclusive verdict conclusive.

    Assumes the estimate holds and the design effect stays the same, so the standard
    error shrinks as ``se * sqrt(n / (n + extra))``; the design degrees of freedom are kept
    (conservative: more PSUs would shorten the interval further). For ``t``/``mean``,
    ``logit`` and ``asin`` intervals the interval is recomputed from the smaller SE (exact);
    for ``beta``, ``likelihood`` and ``wilson``, and at an estimate of 0 or 1, the distance
    from the estimate to the limit is shrunk by the same factor on the logit scale (on the
    linear scale at 0 or 1), an approximation.

    Parameters
    ----------
    estimate, se, df : float
        The estimate, its standard error and design degrees of freedom.
    level : float
        Confidence level of the interval.
    ci_low, ci_high : float
        The interval.
    n : int
        Respondents in the denominator.
    threshold : float
    ci_method : {"t", "mean", "logit", "asin", "beta", "likelihood", "wilson"}
        How the interval was formed (``"t"`` for means).
    interviews : int, optional
        Completed interviews in the domain, when only some of them are in the denominator
        (e.g. recognition among those aware): the extra respondents are scaled by
        ``interviews / n``, assuming the same share. Default: ``n``.

    Returns
    -------
    int or None
        0 when the verdict is already conclusive; ``None`` when no number of interviews
        would do (the estimate equals the threshold) or the inputs are missing.

    Examples
    --------
    0.87 +/- 0.03 against 0.85: the half-width must shrink by 2/3, so n grows by (3/2)^2:

    >>> extra_interviews(0.87, se=0.015259, df=399, level=0.95, ci_low=0.84, ci_high=0.90, n=400,
    ...                  threshold=0.85, ci_method="mean")
    500
    """
    if ci_method not in INTERVAL_METHODS:
        raise TargetError("unknown interval method", argument="ci_method", value=ci_method,
                          fix=f"use one of {', '.join(INTERVAL_METHODS)}")
    if not all(np.isfinite(v) for v in (estimate, ci_low, ci_high, threshold)) or n < 1:
        return None
    if verdict_of(ci_low=ci_low, ci_high=ci_high, threshold=threshold) != "inconclusive":
        return 0
    # Equal to rounding (e.g. 4/5 computed as 0.7999999999999999): no sample size decides it.
    if math.isclose(estimate, threshold, rel_tol=1e-9, abs_tol=1e-12):
        return None
    above = estimate > threshold
    sign = -1.0 if above else 1.0
    limit = ci_low if above else ci_high
    scale = _SCALES[ci_method]
    exact = ci_method in ("t", "mean", "logit", "asin")
    if scale != "linear" and not 0 < estimate < 1:
        scale, exact = "linear", False
    if exact and np.isfinite(se) and se > 0 and np.isfinite(df) and df >= 1:
        distance = float(stats.t.ppf(1 - (1 - level) / 2, df)) * se * _derivative(scale, estimate)
    else:
        if scale == "logit" and not 0 < limit < 1:
            scale = "linear"
        distance = abs(_forward(scale, estimate) - _forward(scale, limit))
    needed = abs(_forward(scale, estimate) - _forward(scale, threshold))
    if not (np.isfinite(distance) and np.isfinite(needed)) or distance == 0 or needed == 0:
        return None

    def settled(extra: int) -> bool:
        moved = _limit_after(estimate, distance, math.sqrt(n / (n + extra)), scale, sign)
        return moved >= threshold if above else moved < threshold

    extra = max(1, math.ceil(n * ((distance / needed) ** 2 - 1)))
    # The closed form is exact up to floating-point rounding at the boundary: a few steps
    # settle it; more would mean the limit cannot reach the threshold in floating point.
    for _ in range(64):
        if settled(extra):
            break
        extra += 1
    else:
        return None
    while extra > 1 and settled(extra - 1):
        extra -= 1
    if interviews is not None and interviews > n:
        return math.ceil(extra * interviews / n)
    return extra


def nchs_reasons(estimate: float, *, n: int, deff: float, df: float, ci_low: float, ci_high: float,
                 statistic: Statistic = "proportion") -> tuple[tuple[Reason, float], ...]:
    """Reasons an estimate is unreliable by the NCHS presentation standard, as codes.

    The criteria of :func:`nchs_flags`, each as ``(code, value)``: ``("effective n", n/deff)``,
    ``("ci width", width)``, ``("relative ci width", width/estimate)``, ``("df", df)``, so an
    interface can word them in its own language (the limits are the ``NCHS_*`` constants).

    Examples
    --------
    >>> nchs_reasons(0.5, n=20, deff=1.0, df=19, ci_low=0.25, ci_high=0.75)
    (('effective n', 20.0), ('ci width', 0.5))
    """
    reasons: list[tuple[Reason, float]] = []
    effective = n / deff if np.isfinite(deff) and deff > 1 else float(n)
    if effective < NCHS_MIN_EFFECTIVE_N:
        reasons.append(("effective n", float(effective)))
    if statistic == "proportion":
        width = float(ci_high - ci_low)
        if not np.isfinite(width) or width >= NCHS_MAX_WIDTH:
            reasons.append(("ci width", width))
        elif width > NCHS_RELATIVE_WIDTH_FLOOR and estimate > 0 and width / estimate > NCHS_MAX_RELATIVE_WIDTH:
            reasons.append(("relative ci width", float(width / estimate)))
    if not np.isfinite(df) or df < NCHS_MIN_DF:
        reasons.append(("df", float(df)))
    return tuple(reasons)


def nchs_flags(estimate: float, *, n: int, deff: float, df: float, ci_low: float, ci_high: float,
               statistic: Statistic = "proportion") -> tuple[str, ...]:
    """Reasons an estimate is unreliable by the NCHS presentation standard, if any.

    Implements the NCHS Data Presentation Standards for Proportions (Parker JD, Talih M,
    Malec DJ, et al. Vital Health Stat 2(175), 2017): effective sample size ``n / deff``
    (with ``deff`` below 1 or missing taken as 1) under 30; Korn-Graubard interval width of
    0.30 or more; relative width above 130% when the width is between 0.05 and 0.30; fewer
    than 8 degrees of freedom (the standard refers such estimates for review). For a mean
    only the effective sample size and degrees-of-freedom criteria apply (the width criteria
    are specific to proportions).

    Parameters
    ----------
    estimate : float
    n : int
        Respondents.
    deff : float
        Design effect (with-replacement SRS variance in the denominator).
    df : float
        Design degrees of freedom.
    ci_low, ci_high : float
        The 95% Korn-Graubard (``ci_method="beta"``) interval, for proportions.
    statistic : {"proportion", "mean"}

    Returns
    -------
    tuple of str
        Empty when the estimate meets the standard; in English (:func:`nchs_reasons` gives
        the same reasons as codes).

    Examples
    --------
    >>> nchs_flags(0.5, n=20, deff=1.0, df=19, ci_low=0.27, ci_high=0.73)
    ('effective sample size 20.0 < 30', 'CI width 0.46 >= 0.30')
    """
    return _flag_texts(nchs_reasons(estimate, n=n, deff=deff, df=df, ci_low=ci_low, ci_high=ci_high,
                                    statistic=statistic))


_REASON_TEXTS = {
    "effective n": lambda v: f"effective sample size {v:.1f} < {NCHS_MIN_EFFECTIVE_N}",
    "ci width": lambda v: f"CI width {v:.2f} >= {NCHS_MAX_WIDTH:.2f}",
    "relative ci width": lambda v: f"relative CI width {v:.0%} > {NCHS_MAX_RELATIVE_WIDTH:.0%}",
    "df": lambda v: f"degrees of freedom {v:g} < {NCHS_MIN_DF}",
}


def _flag_texts(reasons: tuple[tuple[Reason, float], ...]) -> tuple[str, ...]:
    return tuple(_REASON_TEXTS[code](value) for code, value in reasons)


def sample_needed(n: int, deff: float, *, min_effective_n: float = MIN_EFFECTIVE_N) -> int:
    """Respondents a result needs to be an estimate: ``ceil(min_effective_n * max(deff, 1))``.

    A result of ``n`` respondents is "too few for an estimate" when ``n`` is below this,
    i.e. when its effective sample size ``n / max(deff, 1)`` is below ``min_effective_n``
    (the NCHS criterion). The design effect of fewer than ``min_effective_n`` respondents
    is itself too uncertain to scale the minimum (with one or two it is not even defined),
    so below that it is taken as 1.

    Parameters
    ----------
    n : int
        Respondents.
    deff : float
        Their design effect (NaN when unknown).
    min_effective_n : float, default :data:`MIN_EFFECTIVE_N`

    Examples
    --------
    >>> sample_needed(1, float("nan")), sample_needed(25, 1.01), sample_needed(200, 1.5)
    (30, 30, 45)
    """
    if not (isinstance(min_effective_n, numbers.Real) and math.isfinite(min_effective_n) and min_effective_n >= 1):
        raise TargetError("must be a number of at least 1", argument="min_effective_n", value=min_effective_n,
                          fix=f"use e.g. {MIN_EFFECTIVE_N} (the NCHS minimum effective sample size)")
    scale = deff if n >= min_effective_n and np.isfinite(deff) and deff > 1 else 1.0
    # rounded first: 30 * 1.1 is 33.000000000000004 in floating point, and needs 33
    return max(1, math.ceil(round(min_effective_n * scale, 9)))


def hint_of(verdict: Status, *, estimate: float, threshold: float, too_few: bool, extra: int | None,
            interviews: int, practical_extra: float = PRACTICAL_EXTRA) -> Hint:
    """What a result lets one say (:data:`HINTS`).

    ``too few`` first (no estimate to speak of); a decided verdict is itself; an
    inconclusive one leans toward the side of the estimate (``toward met`` at or above the
    threshold, ``toward not met`` below) when the further interviews it needs (``extra``,
    :func:`extra_interviews`, in completed interviews) are at most ``practical_extra`` times
    the ``interviews`` so far, and is ``on threshold`` otherwise (or when no number would do).
    The further interviews follow from the distance between estimate and threshold in
    standard errors, ``z``: the interval leaves the threshold once ``z * sqrt((n + extra) / n)``
    exceeds its critical value, so 5 times the sample is reached at ``z`` of about 0.8.

    Parameters
    ----------
    verdict : {"met", "not met", "inconclusive", "no data"}
    estimate, threshold : float
    too_few : bool
        Below the minimum sample (:func:`sample_needed`).
    extra : int or None
        :func:`extra_interviews` of an inconclusive verdict.
    interviews : int
        Completed interviews so far (the unit of ``extra``).
    practical_extra : float, default :data:`PRACTICAL_EXTRA`

    Examples
    --------
    Elderly care, 68% against 80% from 25 respondents of 308 interviews: 321 more interviews
    would show it not met if the estimate held, about as many as so far:

    >>> hint_of("inconclusive", estimate=0.68, threshold=0.8, too_few=False, extra=321, interviews=308)
    'toward not met'
    >>> hint_of("inconclusive", estimate=0.789, threshold=0.8, too_few=False, extra=11451, interviews=308)
    'on threshold'
    """
    if verdict not in STATUSES:
        raise TargetError("unknown verdict", argument="verdict", value=verdict, fix=f"use one of {', '.join(STATUSES)}")
    if verdict == "no data":
        return "no data"
    if too_few:
        return "too few"
    if verdict != "inconclusive":
        return verdict
    if extra is None or pd.isna(extra) or extra > practical_extra * max(interviews, 1):
        return "on threshold"
    return "toward met" if estimate >= threshold else "toward not met"


#: Columns of :func:`judge` and :meth:`TargetAssessment.to_frame`, in order.
VERDICT_COLUMNS = ("verdict", "estimate", "threshold", "difference", "ci_low", "ci_high", "p_value",
                   "extra_interviews", "se", "df", "n", "interviews", "n_eff", "deff", "reliable",
                   "reliability", "reliability_reasons", "too_few", "n_needed", "distance_se", "hint")


def judge(estimates: pd.DataFrame, *, threshold: float, ci_method: IntervalMethod, level: float,
          statistic: Statistic = "proportion", reliability_ci: pd.DataFrame | None = None,
          interviews: pd.Series | None = None, min_effective_n: float = MIN_EFFECTIVE_N) -> pd.DataFrame:
    """Verdicts for every row (domain) of an estimate table.

    Parameters
    ----------
    estimates : pandas.DataFrame
        ``Estimate.to_frame()``: columns ``estimate, se, ci_low, ci_high, df, n`` and
        ``deff`` (NaN when not computed), one row per domain.
    threshold : float
    ci_method : {"t", "mean", "logit", "asin", "beta", "likelihood", "wilson"}
        How the intervals were formed (``"t"`` for means).
    level : float
        Their confidence level.
    statistic : {"proportion", "mean"}
    reliability_ci : pandas.DataFrame, optional
        95% Korn-Graubard intervals (``ci_low, ci_high``, same index) for the NCHS width
        criteria. Default: the intervals of ``estimates``.
    interviews : pandas.Series, optional
        Completed interviews per domain (same index) when only some are in the denominator.
    min_effective_n : float, default :data:`MIN_EFFECTIVE_N`
        The minimum sample of an estimate (:func:`sample_needed`).

    Returns
    -------
    pandas.DataFrame
        Same index, columns :data:`VERDICT_COLUMNS`: ``verdict`` (``met``, ``not met``,
        ``inconclusive``, or ``no data`` without respondents), ``difference`` = estimate -
        threshold, ``p_value`` (:func:`one_sided_p_value`), ``extra_interviews``
        (:func:`extra_interviews`, nullable integer, only for inconclusive verdicts),
        ``n_eff`` = ``n / max(deff, 1)``, ``reliable`` and ``reliability`` (the NCHS flags
        joined by ``"; "``), ``reliability_reasons`` (the same as :func:`nchs_reasons` codes),
        ``too_few`` (``n`` below ``n_needed`` = :func:`sample_needed`: show no numbers),
        ``distance_se`` = (estimate - threshold) / se, and ``hint`` (:func:`hint_of`).
    """
    if ci_method not in INTERVAL_METHODS:
        raise TargetError("unknown interval method", argument="ci_method", value=ci_method,
                          fix=f"use one of {', '.join(INTERVAL_METHODS)}")
    if statistic not in STATISTICS:
        raise TargetError("unknown statistic", argument="statistic", value=statistic,
                          fix=f"use one of {', '.join(STATISTICS)}")
    missing = [c for c in ("estimate", "se", "ci_low", "ci_high", "df", "n", "deff") if c not in estimates.columns]
    if missing:
        raise TargetError("the estimate table lacks columns", argument="estimates", value=missing,
                          fix="pass Estimate.to_frame() of a mean or proportion")
    kg = reliability_ci if reliability_ci is not None else estimates
    # plain columns, read row by row: much cheaper than iterrows and .loc per row
    names = ("estimate", "se", "ci_low", "ci_high", "df", "n", "deff")
    columns = dict(zip(names, estimates[list(names)].to_numpy(dtype=float).T))
    p_values = _one_sided_p_values(columns["estimate"], se=columns["se"], df=columns["df"], threshold=threshold)
    if not kg.index.equals(estimates.index):
        kg = kg.reindex(estimates.index)
    kg_low, kg_high = kg["ci_low"].to_numpy(dtype=float), kg["ci_high"].to_numpy(dtype=float)
    if interviews is not None and not interviews.index.equals(estimates.index):
        interviews = interviews.reindex(estimates.index)
    counts = interviews.to_numpy() if interviews is not None else None
    rows = []
    for i in range(len(estimates)):
        estimate, se, ci_low, ci_high, df, n, deff = (columns[c][i] for c in columns)
        n = int(n)
        count = int(counts[i]) if counts is not None else n
        out = {"estimate": estimate, "threshold": float(threshold), "difference": estimate - threshold,
               "ci_low": ci_low, "ci_high": ci_high, "se": se, "df": df, "n": n, "interviews": count,
               "n_eff": n / deff if np.isfinite(deff) and deff > 1 else float(n), "deff": deff}
        needed = sample_needed(n, deff, min_effective_n=min_effective_n)
        with np.errstate(over="ignore"):  # a tiny SE: infinitely many SEs away
            distance = (estimate - threshold) / se if np.isfinite(se) and se > 0 else math.nan
        out.update(too_few=n < needed, n_needed=needed, distance_se=distance)
        if n == 0 or not np.isfinite(estimate):
            out.update(verdict="no data", p_value=math.nan, extra_interviews=None, reliable=False,
                       reliability="no respondents", reliability_reasons=(), hint="no data")
            rows.append(out)
            continue
        out["verdict"] = verdict_of(ci_low=ci_low, ci_high=ci_high, threshold=threshold)
        out["p_value"] = float(p_values[i])
        out["extra_interviews"] = (
            extra_interviews(estimate, se=se, df=df, level=level, ci_low=ci_low, ci_high=ci_high, n=n,
                             threshold=threshold, ci_method=ci_method, interviews=count)
            if out["verdict"] == "inconclusive" else None)
        reasons = nchs_reasons(estimate, n=n, deff=deff, df=df, ci_low=float(kg_low[i]), ci_high=float(kg_high[i]),
                               statistic=statistic)
        flags = _flag_texts(reasons)
        out.update(reliable=not flags, reliability="; ".join(flags), reliability_reasons=reasons,
                   hint=hint_of(out["verdict"], estimate=estimate, threshold=threshold, too_few=out["too_few"],
                                extra=out["extra_interviews"], interviews=count))
        rows.append(out)
    table = pd.DataFrame(rows, index=estimates.index, columns=list(VERDICT_COLUMNS))
    table["extra_interviews"] = pd.array(table["extra_interviews"].tolist(), dtype="Int64")
    table["reliable"] = table["reliable"].astype(bool)
    table["too_few"] = table["too_few"].astype(bool)
    table["n_needed"] = table["n_needed"].astype(int)
    return table


@dataclass(frozen=True, eq=False)
class TargetAssessment:
    """The verdicts of one target, overall (index ``"all"``) and for each domain.

    Attributes
    ----------
    target : Target
    level : float
        Confidence level of the intervals.
    ci_method : str
        How the intervals were formed (``"t"`` for means).
    design : str
        One-line description of the design.
    notes : tuple of str
        Remarks of the estimators.
    """

    target: Target
    level: float
    ci_method: str
    design: str
    _table: pd.DataFrame = field(repr=False)
    notes: tuple = ()

    def to_frame(self) -> pd.DataFrame:
        """The verdict table (a copy): one row per domain, columns :data:`VERDICT_COLUMNS`."""
        return self._table.copy()

    @property
    def verdict(self) -> Status:
        """The overall verdict."""
        return self._table.loc[OVERALL, "verdict"]

    def summary(self) -> str:
        """Describe the verdicts as text (never prints)."""
        t = self.target
        percent = t.statistic == "proportion"

        def show(value: float) -> str:
            if not np.isfinite(value):
                return "NA"
            return f"{value:.1%}" if percent else f"{value:.2f}"

        lines = [f"{t.id}: {t.label.get('en')} ({t.label.zh})",
                 f"target: {t.statistic} of {t.questionnaire}.{t.question}"
                 + (f" in {{{', '.join(t.success)}}}" if t.success else "")
                 + f", denominator {t.denominator}, threshold {show(t.threshold)} ({t.clause_section})",
                 f"design: {self.design}; {self.level:.0%} intervals: {self.ci_method}"]
        for key, row in self._table.iterrows():
            name = "overall" if key == OVERALL else str(key)
            if row["verdict"] == "no data":
                lines.append(f"  {name}: no data")
                continue
            if row["too_few"]:
                lines.append(f"  {name}: too few respondents for an estimate: n = {row['n']} of the "
                             f"~{row['n_needed']} needed")
                continue
            side = ">=" if row["estimate"] >= row["threshold"] else "<"
            text = (f"  {name}: {row['verdict']}; estimate {show(row['estimate'])} {side} {show(row['threshold'])}, "
                    f"CI {show(row['ci_low'])} to {show(row['ci_high'])}, p = {row['p_value']:.3g}, n = {row['n']}")
            if not pd.isna(row["extra_interviews"]):
                text += f"; about {row['extra_interviews']} more interviews would settle it"
            if not row["reliable"]:
                text += f"; unreliable (NCHS): {row['reliability']}"
            lines.append(text)
        lines.extend(f"note: {note}" for note in self.notes)
        return "\n".join(lines)


def assess_target(design: SurveyDesign, variable: str, *, target: Target, by: str | None = None,
                  level: float = 0.95, ci_method: str = "logit",
                  min_effective_n: float = MIN_EFFECTIVE_N) -> TargetAssessment:
    """Estimate a target's statistic overall and by domain, and judge it.

    Parameters
    ----------
    design : SurveyDesign
    variable : str
        The column built by :func:`target_indicator` (0/1 or the numeric answer, NaN outside
        the denominator: the estimate is a domain estimate, as R's ``na.rm = TRUE``).
    target : Target
    by : str, optional
        Domain column (e.g. ``"district"``); domains appear in the order of the estimator.
    level : float, default 0.95
    ci_method : str, default "logit"
        Interval of a proportion, as :meth:`SurveyDesign.proportion`; means use Student t.
    min_effective_n : float, default :data:`MIN_EFFECTIVE_N`
        Minimum sample of an estimate (:func:`sample_needed`); the ``too_few`` column.

    Returns
    -------
    TargetAssessment

    Examples
    --------
    >>> a = assess_target(des, "y", target=t, by="district")            # doctest: +SKIP
    >>> # In R: svyciprop(~y, des, method = "logit", level = 0.95) and
    >>> #       svyby(~y, ~district, des, svyciprop, method = "logit", vartype = "ci")
    """
    def estimate(domain: str | None, method: str, confidence: float):
        if target.statistic == "mean":
            return design.mean(variable, by=domain, level=confidence, deff="replace")
        return design.proportion(variable, by=domain, ci_method=method, level=confidence, deff="replace")

    parts, kg_parts, notes = [], [], []
    for domain in ([None, by] if by is not None else [None]):
        result = estimate(domain, ci_method, level)
        parts.append(result.to_frame())
        notes.extend(result.notes)
        if target.statistic == "proportion":  # the NCHS criteria use the 95% Korn-Graubard interval
            same = ci_method == "beta" and level == NCHS_LEVEL
            kg_parts.append(result.to_frame() if same else estimate(domain, "beta", NCHS_LEVEL).to_frame())
    table = pd.concat(parts)
    counts = design.domain_sizes(None)
    if by is not None:
        counts = pd.concat([counts, design.domain_sizes(by)])
    method = "t" if target.statistic == "mean" else ci_method
    verdicts = judge(table, threshold=target.threshold, ci_method=method, level=level, statistic=target.statistic,
                     reliability_ci=pd.concat(kg_parts) if kg_parts else None,
                     interviews=counts.reindex(table.index).fillna(0).astype(int), min_effective_n=min_effective_n)
    return TargetAssessment(target=target, level=level, ci_method=method, design=design.describe(),
                            _table=verdicts, notes=tuple(dict.fromkeys(notes)))
