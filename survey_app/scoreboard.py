"""The plan's whole scoreboard: every numeric target, grouped as the plan groups them.

One row per target of ``questionnaires/targets.yaml``, whatever measures it:

- **survey** targets: the overall estimate, its interval and verdict from the satisfaction report
  (:func:`survey_app.reporting.build_report`'s ``overview``, and its ``indices`` for the index
  targets that have a threshold);
- **inspection** targets: the pass rate of the stored inspection records of the target's category
  with its exact or design-based interval (:func:`survey_app.inspections.inspection_pass_rates`);
- **register** targets: the latest administrative figure entered (:mod:`survey_app.admin_figures`),
  met or not met without an interval, marked as an administrative figure.

A target without data says so (verdict ``no data``): nothing the plan asks for is silently
missing. Rows are grouped by the part of the plan that sets the target (:data:`PLAN_PARTS`:
二、主要目标, then the task groups 三、（一）–（三）) and ordered as the plan orders them.

Examples
--------
>>> board = scoreboard_from_store(store.url, survey=tables.overview,
...                               survey_date=tables.extracted_at.date())        # doctest: +SKIP
>>> board.to_frame()[["group_zh", "target", "source", "value", "verdict"]]      # doctest: +SKIP
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from analysis.targets import IndexTarget, PlanTarget, Target, load_index_targets, load_plan_targets, load_targets
from survey_app.admin_figures import AdminFigure, FiguresStore
from survey_app.inspections import InspectionStore, inspection_pass_rates

__all__ = ["PLAN_PARTS", "SCOREBOARD_COLUMNS", "Scoreboard", "build_scoreboard", "scoreboard_from_store"]

#: The plan's parts that set numeric targets, in the plan's order: (section prefix, Chinese, English).
PLAN_PARTS: tuple[tuple[str, str, str], ...] = (
    ("二、主要目标", "二、主要目标", "II. Main targets"),
    ("三、（一）", "三、（一）深入开展重点领域放心消费创建", "III.(1) Key areas"),
    ("三、（二）", "三、（二）大力开展重点行业放心消费创建", "III.(2) Key sectors"),
    ("三、（三）", "三、（三）着力提升市场监管与综合治理水平", "III.(3) Market supervision and governance"),
)
# The paragraphs of 二、主要目标 in the plan's order (the section names them in brackets).
_MAIN_PARAGRAPHS = ("消费维权保障水平", "区域消费环境指数", "消费安全保障机制", "消费品质量合格率",
                    "创建工作覆盖率")
_TASK = re.compile(r"）(\d+)\.")

#: Columns of :meth:`Scoreboard.to_frame`.
SCOREBOARD_COLUMNS = ("group", "group_zh", "group_en", "section", "target", "label_zh", "label_en", "clause",
                      "source", "measure", "direction", "threshold", "value", "ci_low", "ci_high", "verdict",
                      "date", "n", "failed", "further", "method", "detail", "too_few")


@dataclass(frozen=True, eq=False)
class Scoreboard:
    """Every numeric target of the plan with its value and verdict.

    ``to_frame()``: one row per target (:data:`SCOREBOARD_COLUMNS`): the plan's part (``group``
    number and headings), section, bilingual label, clause, ``source`` (survey, inspection,
    register), ``measure`` (proportion, mean, index, rate, ratio, count), ``direction`` (``>=``, ``<``,
    ``<=``), threshold, value, interval (survey and inspection targets), verdict (met, not met,
    inconclusive, no data), ``date`` (survey: data extraction; inspection: the latest sample;
    register: the figure's as-of date), ``n``/``failed`` (samples), ``further`` (interviews or
    samples that would settle an inconclusive verdict), ``method``, ``detail`` (the figure's
    source document and who entered it) and ``too_few`` (a survey result below the minimum sample
    of :func:`analysis.targets.sample_needed`: shown in words, not numbers, as on the dashboard).
    """

    level: float
    _table: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        return self._table.copy()

    def counts(self) -> dict[str, int]:
        """Targets per verdict."""
        return {k: int(v) for k, v in self._table["verdict"].value_counts().items()}

    def summary(self) -> str:
        lines = [f"Plan scoreboard: {len(self._table)} targets ("
                 + ", ".join(f"{n} {v}" for v, n in self.counts().items()) + ")"]
        for group, rows in self._table.groupby("group", sort=False):
            lines.append(f"{rows['group_zh'].iloc[0]} / {rows['group_en'].iloc[0]}")
            for row in rows.itertuples(index=False):
                value = "no data yet" if row.verdict == "no data" else f"{row.value:g}"
                lines.append(f"  [{row.source}] {row.target}: {value} {row.direction} {row.threshold:g}: {row.verdict}")
        return "\n".join(lines)


def _group(section: str) -> tuple[int, str, str]:
    for number, (prefix, zh, en) in enumerate(PLAN_PARTS):
        if section.startswith(prefix):
            return number, zh, en
    return len(PLAN_PARTS), "其他", "Other"


def _order(section: str) -> int:
    """Where a section comes within its part: the task number, or the paragraph of 二、主要目标."""
    task = _TASK.search(section)
    if task:
        return int(task.group(1))
    return next((i for i, name in enumerate(_MAIN_PARAGRAPHS) if name in section), len(_MAIN_PARAGRAPHS))


def build_scoreboard(*, survey: pd.DataFrame | None = None, survey_date: date | None = None,
                     inspections: pd.DataFrame | None = None, figures: Mapping[str, AdminFigure] | None = None,
                     targets: Sequence[Target] | None = None, plan_targets: Sequence[PlanTarget] | None = None,
                     indices: pd.DataFrame | None = None, index_targets: Sequence[IndexTarget] | None = None,
                     level: float = 0.95) -> Scoreboard:
    """Assemble the scoreboard from the survey verdicts, inspection records and entered figures.

    Parameters
    ----------
    survey : pandas.DataFrame, optional
        ``ReportTables.overview`` (index: target id; ``estimate, ci_low, ci_high, verdict, n``,
        ``extra_interviews, statistic``); None: no survey data yet.
    survey_date : date, optional
        When the survey data were extracted.
    inspections : pandas.DataFrame, optional
        :meth:`InspectionStore.records`.
    figures : mapping, optional
        :meth:`FiguresStore.latest`.
    targets, plan_targets : sequence, optional
        Default: the targets file's (:func:`load_targets`, :func:`load_plan_targets`).
    indices : pandas.DataFrame, optional
        ``ReportTables.indices`` (survey_app.indices.index_rows): the values of the index targets.
    index_targets : sequence of IndexTarget, optional
        Default: the targets file's (:func:`load_index_targets`); only those with a threshold are
        numeric targets (measure ``index``, points 0-100).
    level : float, default 0.95
        Of the inspection intervals.
    """
    targets = load_targets() if targets is None else targets
    plan_targets = load_plan_targets() if plan_targets is None else plan_targets
    index_targets = load_index_targets() if index_targets is None else index_targets
    figures = figures or {}
    rows: list[dict] = []
    position = 0
    for target in targets:
        row = _base(target, "survey", target.statistic, ">=", position)
        if survey is not None and target.id in survey.index:
            found = survey.loc[target.id]
            if found["verdict"] != "no data":
                row.update(value=found["estimate"], ci_low=found["ci_low"], ci_high=found["ci_high"],
                           verdict=found["verdict"], date=survey_date, n=int(found["n"]),
                           further=found["extra_interviews"], method=found.get("ci_method", None),
                           too_few=bool(found.get("too_few", False)))
                if row["too_few"]:
                    row["detail"] = "样本过少 too few respondents"
        rows.append(row)
        position += 1
    overall = (indices[indices["row"] == "index"].set_index("index")
               if indices is not None and len(indices) else pd.DataFrame())
    for target in index_targets:
        if target.threshold is None:  # no number in the plan: not a numeric target
            continue
        row = _base(target, "survey", "index", ">=", position)
        position += 1
        if target.id in overall.index and overall.loc[target.id, "verdict"] not in ("no data", ""):
            found = overall.loc[target.id]
            row.update(value=found["estimate"], ci_low=found["ci_low"], ci_high=found["ci_high"],
                       verdict=found["verdict"], date=survey_date, n=int(found["n"]), method=found["method"])
        rows.append(row)
    rates = None
    if inspections is not None and len(inspections):
        table = inspection_pass_rates(inspections, targets=plan_targets, level=level).to_frame()
        rates = table[table["domain"] == "all"].set_index("target")
    for target in plan_targets:
        row = _base(target, target.source, target.measure, target.direction, position)
        position += 1
        if target.source == "inspection":
            if rates is not None and target.id in rates.index and rates.loc[target.id, "verdict"] != "no data":
                found = rates.loc[target.id]
                own = inspections[inspections["category"] == target.category]
                row.update(value=found["estimate"], ci_low=found["ci_low"], ci_high=found["ci_high"],
                           verdict=found["verdict"], date=max(own["sampled_on"]), n=int(found["n"]),
                           failed=int(found["failed"]), further=found["further_samples"], method=found["method"])
        elif target.id in figures:
            figure = figures[target.id]
            detail = f"{figure.source}（{figure.entered_by}，{figure.entered_at:%Y-%m-%d}）"
            if figure.count is None:
                detail = f"{figure.numerator:g}/{figure.denominator:g}；" + detail
            row.update(value=figure.value, verdict=figure.verdict(target), date=figure.as_of, method="entered",
                       detail=detail)
        rows.append(row)
    table = pd.DataFrame(rows)
    table = table.sort_values(["group", "_order", "_position"], kind="stable").drop(columns=["_order", "_position"])
    table = table.reset_index(drop=True)[list(SCOREBOARD_COLUMNS)]
    table["further"] = pd.array([None if pd.isna(v) else int(v) for v in table["further"]], dtype="Int64")
    return Scoreboard(level=level, _table=table)


def _base(target: Target | PlanTarget | IndexTarget, source: str, measure: str, direction: str, position: int) -> dict:
    group, zh, en = _group(target.clause_section)
    return {"group": group, "group_zh": zh, "group_en": en, "section": target.clause_section, "target": target.id,
            "label_zh": target.label.zh, "label_en": target.label.get("en") or target.label.zh,
            "clause": target.clause_text, "source": source, "measure": measure, "direction": direction,
            "threshold": target.threshold, "value": np.nan, "ci_low": np.nan, "ci_high": np.nan,
            "verdict": "no data", "date": None, "n": None, "failed": None, "further": None, "method": None,
            "detail": "", "too_few": False, "_order": _order(target.clause_section), "_position": position}


def scoreboard_from_store(url: str, *, survey: pd.DataFrame | None = None, survey_date: date | None = None,
                          targets: Sequence[Target] | None = None, indices: pd.DataFrame | None = None,
                          level: float = 0.95) -> Scoreboard:
    """:func:`build_scoreboard` with the inspection records and figures stored in the database ``url``."""
    inspections, figures = InspectionStore(url), FiguresStore(url)
    try:
        return build_scoreboard(survey=survey, survey_date=survey_date, inspections=inspections.records(),
                                figures=figures.latest(), targets=targets, indices=indices, level=level)
    finally:
        inspections.close()
        figures.close()
