"""The plan's indices and "where to act", as the report, the dashboard and the workbook show them.

Indices (issue 16): every ``statistic: index`` entry of the targets file
(:func:`analysis.targets.load_index_targets`) is estimated with
:func:`analysis.indices.satisfaction_index` on the report's design of its questionnaire:
:func:`index_rows` gives one row for the index and one for each component (sub-index or
question), with its 0-100 estimate, interval, weight and -- where the plan sets a threshold in
points -- its verdict. An index that cannot be published (a PLS model whose weights come out
negative, too few respondents...) gets one row that says why (``refused``) and no number.
:func:`index_trend` estimates the indices in every wave, :func:`index_changes` the change
between consecutive waves (the plan asks the consumption environment's dimensions to "rise step
by step" and sets no number for them).

Where to act: :data:`DRIVER_SETS` names, per questionnaire, an overall rating and the aspect
ratings that explain it. :func:`where_to_act` gives each aspect's importance (its Shapley/LMG
share of R², :func:`analysis.drivers.key_drivers`, with bootstrap intervals from the design's
strata and PSUs) and performance (its mean on 0-100); the aspects that are important (above the
mean importance) and rated below the mean are the priorities (GB/T 19038-2009, Appendix D).

Answers of choice lists whose codes are numbers (a rating scale) enter as those numbers: the
report's designs hold them in :func:`number_column` columns (:func:`add_number_columns`).
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.drivers import key_drivers
from analysis.errors import SurveyError
from analysis.indices import INDEX_ROW, satisfaction_index
from analysis.pls import PLSModelError
from analysis.targets import MIN_EFFECTIVE_N, IndexTarget, numeric_scale_codes, verdict_of
from survey_app.i18n import t

if TYPE_CHECKING:  # pragma: no cover
    from analysis import SurveyDesign
    from questionnaires import Questionnaire

__all__ = ["DriverSet", "DRIVER_SETS", "INDEX_COLUMNS", "PRIORITY_COLUMNS", "CHANGE_COLUMNS", "REFUSALS", "REPLICATES",
           "REPLICATE_SEED", "number_column", "add_number_columns", "index_rows", "index_changes",
           "where_to_act", "priority_findings", "change_direction", "short_label", "method_rows"]

#: Bootstrap replicates of PLS weights and of key drivers (built from the design's strata and PSUs),
#: with a fixed seed so that a report gives the same intervals every time.
REPLICATES = 200
REPLICATE_SEED = 2020

#: Columns of :func:`index_rows`.
INDEX_COLUMNS = ("index", "component", "row", "label_zh", "label_en", "estimate", "se", "ci_low", "ci_high",
                 "df", "n", "threshold", "verdict", "weight", "method", "refused", "refused_code", "refused_items")
#: Why an index is not published (``refused_code`` of :func:`index_rows`).
REFUSALS = ("negative_weights", "not_converged", "constant_items", "no_interval", "too_few", "error")
#: Columns of :func:`index_changes`.
CHANGE_COLUMNS = ("index", "component", "row", "label_zh", "label_en", "from_wave", "to_wave", "before", "after",
                  "change", "se", "ci_low", "ci_high", "df")
#: Columns of :func:`where_to_act`.
PRIORITY_COLUMNS = ("questionnaire", "outcome", "driver", "label_zh", "label_en", "importance", "share",
                    "ci_low", "ci_high", "performance", "performance_ci_low", "performance_ci_high", "quadrant",
                    "priority", "r2", "n", "refused", "refused_code")


@dataclass(frozen=True)
class DriverSet:
    """An overall rating and the aspect ratings that explain it, in one questionnaire.

    ``scale`` is the aspects' answer range (their performance is their mean mapped to 0-100).
    """

    questionnaire: str
    outcome: str
    drivers: tuple[str, ...]
    scale: tuple[float, float]


#: The questionnaires' driver questions. Aspects asked of few respondents are left out (key
#: drivers take the respondents who rated every aspect): elderly care (used by about one household
#: in eight) and the tourists' accommodation (overnight visitors only) and the telecom service hall.
DRIVER_SETS: tuple[DriverSet, ...] = (
    DriverSet("consumer_environment", "overall_satisfaction",
              ("env_safety", "env_integrity", "env_convenience", "env_redress"), (1, 5)),
    DriverSet("public_services", "public_service_satisfaction",
              ("water_satisfaction", "gas_satisfaction", "electricity_satisfaction"), (1, 5)),
    DriverSet("telecom_users", "telecom_satisfaction",
              ("rate_network", "rate_tariff", "rate_marketing", "rate_customer_service", "rate_complaint_handling"),
              (1, 5)),
    DriverSet("tourist_satisfaction", "tourist_score",
              ("rate_transport", "rate_catering", "rate_attractions", "rate_shopping", "rate_information"), (1, 5)),
)


def number_column(question: str) -> str:
    """Name of a question's answers as numbers in the report's designs."""
    return f"_number_{question}"


def add_number_columns(data: pd.DataFrame, form: Questionnaire) -> pd.DataFrame:
    """``data`` with a :func:`number_column` for every numeric question of ``form`` it holds:
    integer and decimal answers, and the codes of choice lists whose codes are numbers."""
    new = {}
    for question in form.questions:
        if question.name in data.columns and question.type != "note" \
                and numeric_scale_codes(form, question.name) is not None:
            new[number_column(question.name)] = pd.to_numeric(data[question.name], errors="coerce").to_numpy(
                dtype=float)
    return pd.concat([data, pd.DataFrame(new, index=data.index)], axis=1) if new else data


def short_label(text: str) -> str:
    """A question's label up to its first colon or bracket ("维权度：投诉…" -> "维权度")."""
    head = re.split(r"[：:（(]", text, maxsplit=1)[0].strip()
    return head or text


# -- indices ------------------------------------------------------------------------------

def _component_labels(target: IndexTarget, form: Questionnaire) -> dict[str, tuple[str, str]]:
    labels = {INDEX_ROW: (target.label.zh, target.label.get("en"))}
    for component in target.components:
        if component.label is not None:
            labels[component.name] = (component.label.zh, component.label.get("en"))
        else:
            question = form.question(component.name)
            labels[component.name] = (short_label(question.label.zh), short_label(question.label.get("en")))
    return labels


def _estimate(design: SurveyDesign, target: IndexTarget, level: float):
    """The :class:`~analysis.indices.IndexResult` of one index on the report's design."""
    components = {c.name: [number_column(q) for q in c.questions] for c in target.components}
    scales = {number_column(q): c.scale for c in target.components for q in c.questions}
    model = None
    if target.model is not None:
        model = dict(target.model, blocks={lv: [number_column(q) for q in items]
                                           for lv, items in target.model["blocks"].items()})
    return satisfaction_index(design, components, scales=scales, weights=target.weights, model=model,
                              level=level, replicates=REPLICATES, seed=REPLICATE_SEED)


def index_rows(designs: Mapping[str, SurveyDesign], indices: Sequence[IndexTarget],
               questionnaires: Mapping[str, Questionnaire], *, level: float) -> pd.DataFrame:
    """Every index and its components, overall: :data:`INDEX_COLUMNS`.

    ``row`` is ``"index"`` for the index itself, ``"component"`` for a sub-index or question;
    ``weight`` is the component's share of the index; ``verdict`` is met / not met /
    inconclusive against ``threshold`` (index rows with a threshold only, else empty);
    ``method`` how the weights were set (equal, fixed, pls). An index without respondents has
    the verdict ``no data``; one that cannot be estimated one row with the reason in
    ``refused`` (e.g. negative PLS weights) and no numbers.
    """
    rows: list[dict[str, Any]] = []
    for target in indices:
        form = questionnaires[target.questionnaire]
        labels = _component_labels(target, form)
        base = {"index": target.id, "threshold": target.threshold if target.threshold is not None else np.nan,
                "method": "fixed" if isinstance(target.weights, Mapping) else target.weights, "verdict": "",
                "refused": "", "refused_code": "", "refused_items": ""}
        # the index's one row when there is no number to give
        alone = {**base, "component": INDEX_ROW, "row": "index", "label_zh": labels[INDEX_ROW][0],
                 "label_en": labels[INDEX_ROW][1]}
        design = designs.get(target.questionnaire)
        if design is None:
            rows.append({**alone, "n": 0, "verdict": "no data"})
            continue
        answered = _respondents(design, target)
        if 0 < answered < MIN_EFFECTIVE_N:   # the small-sample rule of the targets: words, no number
            rows.append({**alone, "n": answered, "refused_code": "too_few", "refused_items": str(answered),
                         "refused": f"too few respondents ({answered}) for an index; at least "
                                    f"{MIN_EFFECTIVE_N} are needed"})
            continue
        constant = _constant_items(design, target) if target.model is not None else []
        if constant:   # the PLS model cannot weigh an item without variance (e.g. nobody complained)
            rows.append({**alone, "refused_code": "constant_items", "refused_items": ", ".join(constant),
                         "refused": f"items with the same answer for every respondent: {', '.join(constant)} "
                                    "(the PLS model needs answers that vary; collect more interviews)"})
            continue
        try:
            result = _estimate(design, target, level)
        except SurveyError as error:
            rows.append({**alone, **_refusal(error)})
            continue
        table = result.to_frame()
        if np.isfinite(table["estimate"].iloc[0]) and not np.isfinite(table["se"].iloc[0]):
            # e.g. a PLS item that varies in the sample but not in some bootstrap replicates: no
            # honest interval, so no index
            rows.append({**alone, "refused_code": "no_interval",
                         "refused": "the index's interval cannot be computed: an item of the model does not vary "
                                    "in some replicates (too few different answers; collect more interviews)"})
            continue
        shares = result.weights.groupby("component", sort=False)["weight"].sum()
        for component, values in table.iterrows():
            own = component == INDEX_ROW
            verdict = ""
            if own and target.threshold is not None:
                verdict = "no data" if values["n"] == 0 or not np.isfinite(values["estimate"]) else verdict_of(
                    ci_low=values["ci_low"], ci_high=values["ci_high"], threshold=target.threshold)
            rows.append({**base, "component": component, "row": "index" if own else "component",
                         "label_zh": labels[component][0], "label_en": labels[component][1],
                         **{c: values[c] for c in ("estimate", "se", "ci_low", "ci_high", "df", "n")},
                         "threshold": base["threshold"] if own else np.nan, "verdict": verdict,
                         "weight": 1.0 if own else float(shares.get(component, np.nan))})
    return pd.DataFrame(rows, columns=list(INDEX_COLUMNS))


def _respondents(design: SurveyDesign, target: IndexTarget) -> int:
    """Respondents of positive weight who answered the index: every question of its PLS model,
    or at least one component question of a fixed-weight index."""
    questions = target.model_questions if target.model is not None else \
        [q for c in target.components for q in c.questions]
    answered = design.data[[number_column(q) for q in questions]].notna()
    rows = answered.all(axis=1) if target.model is not None else answered.any(axis=1)
    return int((rows.to_numpy() & (design.weights.to_numpy() > 0)).sum())


def _constant_items(design: SurveyDesign, target: IndexTarget) -> list[str]:
    """The PLS model's questions that do not vary among the respondents who answered them all."""
    columns = [number_column(q) for q in target.model_questions]
    data = design.data[columns]
    rows = data.notna().all(axis=1).to_numpy() & (design.weights.to_numpy() > 0)
    if not rows.any():
        return []
    return [q for q, c in zip(target.model_questions, columns) if data[c].to_numpy()[rows].min()
            == data[c].to_numpy()[rows].max()]


def _refusal(error: SurveyError) -> dict[str, str]:
    """Why an index is not published: the message, a code (:data:`REFUSALS`) and the items at fault."""
    code, items = "error", ""
    if isinstance(error, PLSModelError) and "negative weights" in error.message:
        code = "negative_weights"
        items = ", ".join(str(v).removeprefix(number_column("")) for v in error.value)
    elif isinstance(error, PLSModelError) and "did not converge" in error.message:
        code = "not_converged"
    elif error.argument == "model" and "in replicate" in error.message:
        # analysis.indices: an item without variation in a replicate, so no interval
        code = "no_interval"
        items = ", ".join(str(v).removeprefix(number_column("")) for v in error.value)
    return {"refused": error.message + (f" ({error.fix})" if error.fix else ""), "refused_code": code,
            "refused_items": items}


def index_changes(trend: pd.DataFrame, *, level: float) -> pd.DataFrame:
    """The change of every index row between consecutive waves: :data:`CHANGE_COLUMNS`.

    ``trend`` holds :func:`index_rows` of each wave with a ``wave`` column, oldest first (as
    :func:`survey_app.reporting.index_trend` gives it). The waves are separate samples, so the
    change's variance is the sum of the two variances, and its interval a Student t interval
    on the two waves' degrees of freedom together (the design of the two waves stacked, strata
    = wave x district: R's ``svycontrast`` on ``svyby(~y, ~wave, stacked)``). Refused rows are
    left out.
    """
    rows = []
    given = trend[(trend["refused"] == "") & trend["estimate"].notna()]
    waves = list(dict.fromkeys(given["wave"]))
    for before, after in zip(waves, waves[1:]):
        old = given[given["wave"] == before].set_index(["index", "component"])
        new = given[given["wave"] == after].set_index(["index", "component"])
        for key in new.index.intersection(old.index, sort=False):
            a, b = old.loc[key], new.loc[key]
            se = math.sqrt(a["se"] ** 2 + b["se"] ** 2)
            df = int(a["df"] + b["df"])
            q = float(stats.t.ppf(0.5 + level / 2, df))
            change = b["estimate"] - a["estimate"]
            rows.append({"index": key[0], "component": key[1], "row": b["row"], "label_zh": b["label_zh"],
                         "label_en": b["label_en"], "from_wave": before, "to_wave": after, "before": a["estimate"],
                         "after": b["estimate"], "change": change, "se": se, "ci_low": change - q * se,
                         "ci_high": change + q * se, "df": df})
    return pd.DataFrame(rows, columns=list(CHANGE_COLUMNS))


# -- where to act ---------------------------------------------------------------------------

def where_to_act(designs: Mapping[str, SurveyDesign], questionnaires: Mapping[str, Questionnaire], *,
                 level: float, driver_sets: Sequence[DriverSet] = DRIVER_SETS,
                 indices: Sequence[IndexTarget] = ()) -> pd.DataFrame:
    """Importance against performance of every driver set's aspects: :data:`PRIORITY_COLUMNS`.

    One row per aspect (``driver``) of each questionnaire with interviews: ``importance`` (its
    Shapley/LMG share of R², with its bootstrap interval ``ci_low``/``ci_high``), ``share`` (of
    R²), ``performance`` (mean on 0-100) and its interval, ``quadrant`` and ``priority``
    (important and rated below the mean of the aspects). A set that cannot be analysed (too few
    respondents who rated every aspect, collinear aspects...) gets one row with the reason in
    ``refused``. An aspect that is a sub-index of one of ``indices`` (one question) is named as
    the sub-index ("维权度" / "Rights protection"), else by its question's label up to a colon.
    """
    named = {(index.questionnaire, c.questions[0]): c.label for index in indices for c in index.components
             if c.label is not None and len(c.questions) == 1}
    rows: list[dict[str, Any]] = []
    for chosen in driver_sets:
        design = designs.get(chosen.questionnaire)
        form = questionnaires.get(chosen.questionnaire)
        if design is None or form is None:
            continue
        base = {"questionnaire": chosen.questionnaire, "outcome": chosen.outcome, "priority": False, "refused": "",
                "refused_code": ""}
        columns = [number_column(q) for q in (chosen.outcome, *chosen.drivers)]
        complete = int((design.data[columns].notna().all(axis=1).to_numpy() & (design.weights.to_numpy() > 0)).sum())
        if complete < MIN_EFFECTIVE_N:   # too few for the regressions and their replicates: say so in words
            rows.append({**base, "driver": "", "n": complete, "refused_code": "too_few",
                         "refused": f"too few respondents who rated every aspect ({complete}); at least "
                                    f"{MIN_EFFECTIVE_N} are needed"})
            continue
        try:
            result = key_drivers(design, number_column(chosen.outcome), [number_column(d) for d in chosen.drivers],
                                 scale=chosen.scale, method="shapley", replicates=REPLICATES, seed=REPLICATE_SEED,
                                 level=level)
        except SurveyError as error:
            rows.append({**base, "driver": "", "refused": error.message + (f" ({error.fix})" if error.fix else "")})
            continue
        table = result.to_frame()
        for driver in chosen.drivers:
            values = table.loc[number_column(driver)]
            label = named.get((chosen.questionnaire, driver))
            if label is None:
                question = form.question(driver)
                label_zh, label_en = short_label(question.label.zh), short_label(question.label.get("en"))
            else:
                label_zh, label_en = label.zh, label.get("en")
            rows.append({**base, "driver": driver, "label_zh": label_zh, "label_en": label_en,
                         **{c: values[c] for c in ("importance", "share", "ci_low", "ci_high", "performance",
                                                   "performance_ci_low", "performance_ci_high", "quadrant")},
                         "priority": bool(values["priority"]), "r2": result.r2, "n": result.n})
    frame = pd.DataFrame(rows, columns=list(PRIORITY_COLUMNS))
    frame["priority"] = frame["priority"].astype(bool)
    return frame


def priority_findings(rows: pd.DataFrame, lang: str) -> list[str]:
    """The priorities of one questionnaire's :func:`where_to_act` rows in words, most important
    first ("priority: Rights protection — important, and rated lowest"), or that there is none."""
    rows = rows[(rows["refused"] == "") & rows["performance"].notna()]
    if rows.empty:
        return []
    lowest = rows["performance"].idxmin()
    found = rows[rows["priority"]].sort_values("importance", ascending=False)
    return [t("indices.priority_lowest" if i == lowest else "indices.priority_below", lang,
              name=row["label_zh" if lang == "zh" else "label_en"]) for i, row in found.iterrows()] or [
        t("indices.no_priority", lang)]


def change_direction(row: pd.Series, lang: str) -> str:
    """A change between waves in words: up or down when its interval excludes zero."""
    if row["ci_low"] > 0:
        return t("indices.change_up", lang)
    if row["ci_high"] < 0:
        return t("indices.change_down", lang)
    return t("indices.change_flat", lang)


def method_rows(*, indices: bool, priorities: bool) -> list[tuple[str, str]]:
    """The methods sheet's rows on the indices and on "where to act" (item, text)."""
    rows = []
    if indices:
        rows += [
            ("指数 Indices (0-100, ACSI convention)",
             "The 0-100 rescaling follows the ACSI convention: each component's weighted mean is mapped from its "
             "scale's range to 0-100, 100 x (mean - low) / (high - low), and the components are combined with "
             "normalised non-negative weights (summing to 1). weights: equal - every sub-index (or question) weighs "
             "the same; fixed weights - as given in the targets file, normalised. With fixed or equal weights the "
             "index is a linear function of the means: Taylor linearisation (as R's svycontrast of svymean), "
             "Student t on the design degrees of freedom."),
            ("PLS权重 PLS weights",
             "weights: pls - the outer weights of the index block of the PLS path model given in the targets file "
             "(Wold-Lohmoeller algorithm as R's plspm, Mode A blocks, centroid scheme unless set, survey-weighted "
             "moments), taken on the items' own scale and normalised to sum 1. The interval repeats the whole "
             f"estimation - the weights and the means - in each of {REPLICATES} bootstrap replicates built from "
             f"the design's strata and PSUs (Rao-Wu rescaling bootstrap, seed {REPLICATE_SEED}; R's withReplicates "
             "pattern), so it reflects both the sampling design and the estimation of the weights. A model whose "
             "weights come out negative (or that does not converge) is refused with the reason, and no index is "
             "published."),
            ("指数变化 Index change between waves",
             "each wave's index and components from that wave's own design; change = later - earlier, "
             "SE = sqrt(SE1^2 + SE2^2) (independent samples), Student t on df1 + df2. Shown where the plan sets no "
             "number (e.g. the consumption environment's dimensions should rise step by step)."),
        ]
    if priorities:
        rows.append(
            ("优先改进 Where to act (GB/T 19038-2009, Appendix D)",
             "importance: Shapley/LMG decomposition of the R^2 of the weighted linear regression of the overall "
             "rating on the aspect ratings (respondents who rated every aspect), with intervals from "
             f"{REPLICATES} bootstrap replicates of the design (seed {REPLICATE_SEED}); performance: the aspect's "
             "weighted mean mapped to 0-100. Quadrant lines at the means over the aspects; priority (upper left) = "
             "importance above the mean and performance below it."))
    return rows


def summary_lines(indices: pd.DataFrame | None, priorities: pd.DataFrame | None) -> list[str]:
    """The indices and the priorities as text lines (the report's summary, the command line)."""
    lines = []
    for row in ([] if indices is None else indices.to_dict("records")):
        name = row["index"] if row["row"] == "index" else f"  {row['component']}"
        if row["refused"]:
            lines.append(f"{name}: not published: {row['refused']}")
        elif not np.isfinite(row["estimate"]):
            lines.append(f"{name}: no data")
        else:
            text = (f"{name}: {row['estimate']:.1f} points (CI {row['ci_low']:.1f} to {row['ci_high']:.1f}, "
                    f"n = {int(row['n'])})")
            if row["row"] == "index":
                text += f", weights {row['method']}"
                if row["verdict"]:
                    text += f"; {row['verdict']} against {row['threshold']:g} points"
            lines.append(text)
    for qid in ([] if priorities is None else dict.fromkeys(priorities["questionnaire"])):
        part = priorities[priorities["questionnaire"] == qid]
        found = part["refused"].iloc[0] or "; ".join(priority_findings(part, "en"))
        lines.append(f"where to act ({qid}): {found}")
    return lines
