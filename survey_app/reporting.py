"""The satisfaction report's tables: target verdicts, domain tables, frequencies, methods.

:func:`build_report` turns the responses (as ``ResponseStore.responses_frame`` gives them)
and the targets into a :class:`ReportTables`; the Excel writer
(:func:`survey_app.excel.write_report`), the command-line tool and the app's dashboard all
read those tables, so every number is computed once, here.

The design of each questionnaire's respondents (interviews with consent) is a stratified
cluster sample: strata = the interview's district (``sample_district``), PSU = ``psu``
(nested in the strata), weights = a ``weight`` column when the responses have one, else 1
per interview; optionally post-stratified or raked to population margins
(:class:`ReportSettings`). Variances are Taylor linearisation, as R's ``survey`` package.
"""
from __future__ import annotations

import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np
import pandas as pd
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from analysis import CI_METHODS, LONELY_PSU_OPTIONS, OVERALL, SurveyDesign
from analysis.targets import (
    VERDICT_COLUMNS,
    Target,
    TargetAssessment,
    assess_target,
    check_target,
    judge,
    load_targets,
    target_indicator,
)
from survey_app.errors import SurveyAppError

if TYPE_CHECKING:  # pragma: no cover
    from questionnaires import Questionnaire
    from survey_app.review import Exclusions
    from survey_app.store import ResponseStore

__all__ = ["ReportError", "ReportSettings", "ReportTables", "build_report", "report_from_store",
           "WEIGHTINGS", "VERDICT_LABELS"]

Weighting = Literal["none", "poststratify", "rake"]
WEIGHTINGS: tuple[str, ...] = get_args(Weighting)

#: Bilingual names of the verdicts.
VERDICT_LABELS: Mapping[str, tuple[str, str]] = MappingProxyType({
    "met": ("达标", "met"),
    "not met": ("未达标", "not met"),
    "inconclusive": ("尚无定论", "inconclusive"),
    "no data": ("无数据", "no data"),
})

STRATA_COLUMN = "sample_district"
PSU_COLUMN = "psu"
WEIGHT_COLUMN = "weight"
DOMAIN_COLUMN = "district"


class ReportError(SurveyAppError, ValueError):
    """The report cannot be built from these settings or responses."""


@dataclass(frozen=True)
class ReportSettings:
    """How the report estimates: interval method and level, weighting, margins.

    Parameters
    ----------
    ci_method : str, default "logit"
        Interval of a proportion (R's ``svyciprop`` methods: logit, beta, mean, asin,
        likelihood; or wilson). Means use Student t.
    level : float, default 0.95
        Confidence level, in (0, 1).
    weighting : {"none", "poststratify", "rake"}, default "none"
        Whether the base weights are calibrated to population ``margins``.
    margins : mapping, optional
        ``{variable: {category code: population count}}`` (one variable for
        ``poststratify``), e.g. ``{"district": {"chongchuan": 1183740, ...}}``.
    calibrate : tuple of str, optional
        Questionnaires whose weights are calibrated; default all. Leave out surveys whose
        population is not the one of the margins (tourists are visitors, not residents).
    lonely_psu : str, default "adjust"
        Rule for a stratum with a single PSU (R's ``survey.lonely.psu``).
    margins_source : str, optional
        Where the margins come from (publication, table, reference date), for the methods sheet.

    Raises
    ------
    ReportError
        An unknown option or inconsistent margins; the message lists the allowed values.
    """

    ci_method: str = "logit"
    level: float = 0.95
    weighting: Weighting = "none"
    margins: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    calibrate: tuple[str, ...] | None = None
    lonely_psu: str = "adjust"
    margins_source: str = ""

    def __post_init__(self) -> None:
        if self.ci_method not in CI_METHODS:
            raise ReportError(f"ci_method={self.ci_method!r} is not known; use one of {', '.join(CI_METHODS)}")
        if isinstance(self.level, bool) or not isinstance(self.level, (int, float)) or not 0 < self.level < 1:
            raise ReportError(f"level={self.level!r} is not a confidence level; give a number between 0 and 1, "
                              "e.g. 0.95")
        if self.weighting not in WEIGHTINGS:
            raise ReportError(f"weighting={self.weighting!r} is not known; use one of {', '.join(WEIGHTINGS)}")
        if self.lonely_psu not in LONELY_PSU_OPTIONS:
            raise ReportError(f"lonely_psu={self.lonely_psu!r} is not known; use one of "
                              f"{', '.join(LONELY_PSU_OPTIONS)}")
        if not isinstance(self.margins, Mapping) or not all(isinstance(c, Mapping) for c in self.margins.values()):
            raise ReportError(f"margins={self.margins!r} must map each variable to {{category: population count}}")
        if self.weighting == "none" and self.margins:
            raise ReportError("margins were given with weighting='none'; choose weighting='rake' or "
                              "'poststratify', or drop the margins")
        if self.weighting != "none" and not self.margins:
            raise ReportError(f"weighting={self.weighting!r} needs population margins; pass margins="
                              "{variable: {category: count}}")
        if self.weighting == "poststratify" and len(self.margins) != 1:
            raise ReportError(f"poststratify takes the totals of one variable, got {sorted(self.margins)}; "
                              "use weighting='rake' for several margins")
        for var, cats in self.margins.items():
            for cat, count in cats.items():
                if isinstance(count, bool) or not isinstance(count, (int, float)) or not np.isfinite(count) \
                        or count <= 0:
                    raise ReportError(f"margins[{var!r}][{cat!r}] = {count!r}; population counts must be "
                                      "positive numbers")
        # a private copy in plain dicts, so that settings and tables pickle (st.cache_data)
        object.__setattr__(self, "margins", {str(var): dict(cats) for var, cats in self.margins.items()})
        if self.calibrate is not None:
            object.__setattr__(self, "calibrate", tuple(self.calibrate))

    def describe_weighting(self) -> str:
        """The weighting step in words."""
        if self.weighting == "none":
            return "none (base weights)"
        scope = "all questionnaires" if self.calibrate is None else ", ".join(self.calibrate) or "no questionnaire"
        how = "post-stratified to" if self.weighting == "poststratify" else "raked to"
        return f"{how} the population margins of {', '.join(self.margins)} ({scope})"


@dataclass(frozen=True, eq=False)
class ReportTables:
    """Everything the satisfaction report shows, computed once.

    Attributes
    ----------
    settings : ReportSettings
    created_at, extracted_at : datetime
        When the report was built and when the responses were read (UTC).
    source : str
        Where the responses came from (database URL without password).
    wave : str or None
        The survey wave reported, if one was chosen.
    assessments : tuple of TargetAssessment
        One per target, in the targets file's order.
    overview : pandas.DataFrame
        One row per target: the overall verdict and what it rests on (index: target id).
    district_verdicts : pandas.DataFrame
        Verdict of every target (rows) in every district (columns: district codes).
    domains : mapping of str to pandas.DataFrame
        Per target id: overall and district rows, domain labels + ``VERDICT_COLUMNS``.
    frequencies : mapping of str to pandas.DataFrame
        Per questionnaire id: weighted frequency table of every closed question.
    text_answers : pandas.DataFrame
        Free-text answers as given (questionnaire, question, interview, district, answer).
    methods : pandas.DataFrame
        ``item`` / ``value`` rows: design, weighting, margins, interval method, software.
    dictionary : pandas.DataFrame
        Every question: questionnaire, name, type, labels, relevance, choices.
    districts : pandas.DataFrame
        District codes (index) with ``name_zh``/``name_en``, in the official order.
    """

    settings: ReportSettings
    created_at: datetime
    extracted_at: datetime
    source: str
    wave: str | None
    assessments: tuple[TargetAssessment, ...]
    overview: pd.DataFrame = field(repr=False)
    district_verdicts: pd.DataFrame = field(repr=False)
    domains: Mapping[str, pd.DataFrame] = field(repr=False)
    frequencies: Mapping[str, pd.DataFrame] = field(repr=False)
    text_answers: pd.DataFrame = field(repr=False)
    methods: pd.DataFrame = field(repr=False)
    dictionary: pd.DataFrame = field(repr=False)
    districts: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The overview of targets and verdicts (a copy): one row per target."""
        return self.overview.copy()

    def summary(self) -> str:
        """The verdicts as text (never prints)."""
        lines = [f"Satisfaction report, data extracted {self.extracted_at:%Y-%m-%d %H:%M} UTC from "
                 f"{self.source or '(not recorded)'}" + (f", wave {self.wave}" if self.wave else ""),
                 f"{self.settings.level:.0%} intervals: {self.settings.ci_method}; weighting: "
                 f"{self.settings.describe_weighting()}"]
        lines.extend(a.summary() for a in self.assessments)
        return "\n".join(lines)

    def __repr__(self) -> str:  # pragma: no cover - cosmetic
        return f"<ReportTables {len(self.assessments)} targets, extracted {self.extracted_at:%Y-%m-%d %H:%M} UTC>"


# -- building -------------------------------------------------------------------------------

def report_from_store(store: ResponseStore, *, settings: ReportSettings | None = None,
                      targets: Sequence[Target] | None = None, wave: str | None = None,
                      questionnaires: Mapping[str, Questionnaire] | None = None,
                      contact_details: Literal["remove", "keep"] = "remove") -> ReportTables:
    """Read the submitted interviews of ``store`` and build the report's tables.

    Parameters
    ----------
    store : ResponseStore
    settings : ReportSettings, optional
        Default ``ReportSettings()``.
    targets : sequence of Target, optional
        Default: :func:`analysis.targets.load_targets`.
    wave : str, optional
        Only this wave's interviews.
    questionnaires : mapping, optional
        Default: the questionnaires the app offers (``survey_app.review.available_questionnaires``:
        the shipped ones and those uploaded as XLSForms).
    contact_details : {"remove", "keep"}
        "remove" (default) takes contact details out of free-text answers before they reach
        the workbook (:func:`survey_app.auth.minimise_personal_data`); "keep" is for an
        administrator who asks for them.

    Returns
    -------
    ReportTables
    """
    from survey_app.auth import minimise_personal_data
    from survey_app.review import available_questionnaires, excluded_interviews

    if contact_details not in ("remove", "keep"):
        raise ValueError(f"contact_details={contact_details!r}; use 'remove' or 'keep'")

    extracted_at = datetime.now(timezone.utc)
    responses = store.responses_frame(status="submitted", wave=wave)
    # questionnaires uploaded in the app (new ones and new versions) as well as the shipped ones
    questionnaires = questionnaires or available_questionnaires(store)
    if contact_details == "remove":
        responses = minimise_personal_data(responses, questionnaires)
    return build_report(responses, settings=settings, targets=targets, questionnaires=questionnaires,
                        extracted_at=extracted_at, source=_without_password(store.url), wave=wave,
                        exclusions=excluded_interviews(store, wave=wave))


def _without_password(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid URL>"


def build_report(responses: pd.DataFrame, *, settings: ReportSettings | None = None,
                 targets: Sequence[Target] | None = None,
                 questionnaires: Mapping[str, Questionnaire] | None = None,
                 extracted_at: datetime | None = None, source: str = "", wave: str | None = None,
                 exclusions: Exclusions | None = None) -> ReportTables:
    """Build every table of the satisfaction report.

    Parameters
    ----------
    responses : pandas.DataFrame
        Submitted interviews of any questionnaires, as ``ResponseStore.responses_frame``:
        ``questionnaire_id``, ``sample_district``, ``psu``, ``interview_id`` and one column
        per question (``consent`` and ``district`` among them); optionally ``weight``.
    settings : ReportSettings, optional
    targets : sequence of Target, optional
        Default: the shipped targets file.
    questionnaires : mapping of str to Questionnaire, optional
        Default: the shipped questionnaires.
    extracted_at : datetime, optional
        When ``responses`` were read (shown on the methods sheet); default now.
    source : str
        Where they were read from.
    wave : str, optional
        The wave they belong to, if one was chosen.
    exclusions : survey_app.review.Exclusions, optional
        The submitted interviews left out of ``responses`` after review (rejected, or voided
        after submission), from ``survey_app.review.excluded_interviews``; the methods sheet
        says how many and why.

    Returns
    -------
    ReportTables

    Raises
    ------
    ReportError
        Missing metadata columns, or responses of a questionnaire that is not known.
    analysis.targets.TargetError
        A target does not fit its questionnaire.
    analysis.SurveyError
        The design or the weighting cannot be formed (e.g. margins that do not match the
        data's categories); the message names the argument and the fix.

    Examples
    --------
    >>> tables = build_report(store.responses_frame(), settings=ReportSettings(level=0.9))  # doctest: +SKIP
    >>> tables.to_frame()[["estimate", "ci_low", "ci_high", "verdict"]]                      # doctest: +SKIP
    """
    settings = settings or ReportSettings()
    if questionnaires is None:
        from questionnaires import shipped_questionnaires

        questionnaires = shipped_questionnaires()
    targets = tuple(targets) if targets is not None else load_targets(questionnaires=questionnaires)
    created_at = datetime.now(timezone.utc)
    extracted_at = extracted_at or created_at
    needed = ["questionnaire_id", "interview_id", STRATA_COLUMN, PSU_COLUMN]
    absent = [c for c in needed if c not in responses.columns]
    if absent:
        raise ReportError(f"the responses lack the columns {absent}; pass ResponseStore.responses_frame()")
    unknown = sorted(set(responses["questionnaire_id"].dropna()) - set(questionnaires))
    if unknown:
        raise ReportError(f"responses of unknown questionnaires {unknown}; known: {', '.join(sorted(questionnaires))}")
    for target in targets:
        check_target(target, questionnaires)
    districts = _districts()

    used = list(dict.fromkeys([t.questionnaire for t in targets]
                              + sorted(set(responses["questionnaire_id"].dropna()))))
    designs: dict[str, SurveyDesign] = {}
    counts: dict[str, tuple[int, int]] = {}
    columns: dict[str, str] = {}
    frames: dict[str, pd.DataFrame] = {}
    for qid in used:
        form = questionnaires[qid]
        frame = responses.loc[responses["questionnaire_id"] == qid]
        respondents = frame.loc[frame["consent"] == "yes"] if "consent" in frame.columns else frame
        counts[qid] = (len(frame), len(respondents))
        if respondents.empty:
            continue
        data = respondents.reset_index(drop=True).copy()
        data["_weight"] = data[WEIGHT_COLUMN] if WEIGHT_COLUMN in data.columns else 1.0
        for i, target in enumerate(t for t in targets if t.questionnaire == qid):
            columns[target.id] = f"_target_{i}"
            data[columns[target.id]] = target_indicator(data, target=target, questionnaire=form)
        data = _add_multiple_indicators(data, form)
        design = SurveyDesign(data, weights="_weight", strata=STRATA_COLUMN, psu=PSU_COLUMN, nest=True,
                              lonely_psu=settings.lonely_psu)
        if settings.weighting != "none" and (settings.calibrate is None or qid in settings.calibrate):
            margins = {var: dict(cats) for var, cats in settings.margins.items()}
            if settings.weighting == "rake":
                design = design.rake(margins)
            else:
                (var, totals), = margins.items()
                design = design.poststratify(var, totals)
        designs[qid] = design
        frames[qid] = data

    assessments = []
    for target in targets:
        design = designs.get(target.questionnaire)
        if design is None:
            assessments.append(_no_data(target, settings))
        else:
            assessments.append(assess_target(design, columns[target.id], target=target, by=DOMAIN_COLUMN,
                                             level=settings.level, ci_method=settings.ci_method))
    assessments = tuple(assessments)
    domains = {a.target.id: _domain_table(a, districts) for a in assessments}
    overview = _overview(assessments, questionnaires)
    district_verdicts = pd.DataFrame(
        {code: [domains[a.target.id].loc[code, "verdict"] for a in assessments] for code in districts.index},
        index=pd.Index([a.target.id for a in assessments], name="target"))
    frequencies = {qid: _frequencies(designs[qid], questionnaires[qid], settings) for qid in designs}
    return ReportTables(
        settings=settings, created_at=created_at, extracted_at=extracted_at, source=source, wave=wave,
        assessments=assessments, overview=overview, district_verdicts=district_verdicts,
        domains=domains, frequencies=frequencies,
        text_answers=_text_answers(frames, questionnaires),
        methods=_methods(settings, designs, counts, responses, targets, created_at, extracted_at, source, wave,
                         exclusions),
        dictionary=_dictionary([questionnaires[q] for q in used] or list(questionnaires.values())),
        districts=districts)


def _districts() -> pd.DataFrame:
    from questionnaires import load_districts

    rows = [(c.name, c.label.zh, c.label.get("en")) for c in load_districts()]
    return pd.DataFrame(rows, columns=["code", "name_zh", "name_en"]).set_index("code")


def _no_data(target: Target, settings: ReportSettings) -> TargetAssessment:
    empty = pd.DataFrame({"estimate": [np.nan], "se": [np.nan], "ci_low": [np.nan], "ci_high": [np.nan],
                          "df": [0], "n": [0], "deff": [np.nan]}, index=pd.Index([OVERALL]))
    method = "t" if target.statistic == "mean" else settings.ci_method
    table = judge(empty, threshold=target.threshold, ci_method=method, level=settings.level,
                  statistic=target.statistic)
    return TargetAssessment(target=target, level=settings.level, ci_method=method,
                            design="no respondents", _table=table)


def _domain_table(assessment: TargetAssessment, districts: pd.DataFrame) -> pd.DataFrame:
    table = assessment.to_frame()
    overall = table.loc[[OVERALL]]
    by_district = table.drop(index=OVERALL)
    by_district.index = by_district.index.astype(str)
    missing = [code for code in districts.index if code not in by_district.index]
    if missing:  # districts without respondents are shown, as "no data"
        empty = pd.DataFrame({"estimate": np.nan, "se": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                              "df": 0, "n": 0, "deff": np.nan}, index=pd.Index(missing))
        filler = judge(empty, threshold=assessment.target.threshold, ci_method=assessment.ci_method,
                       level=assessment.level, statistic=assessment.target.statistic)
        by_district = pd.concat([by_district, filler])
    order = list(districts.index) + sorted(set(by_district.index) - set(districts.index))
    out = pd.concat([overall, by_district.loc[order]])
    out.index.name = "domain"
    names = districts.reindex(out.index)
    out.insert(0, "domain_en", names["name_en"].fillna(pd.Series(out.index, index=out.index)))
    out.insert(0, "domain_zh", names["name_zh"].fillna(pd.Series(out.index, index=out.index)))
    out.loc[OVERALL, ["domain_zh", "domain_en"]] = ["全市", "Nantong (all districts)"]
    return out


def _success_text(target: Target, form: Questionnaire, lang: str) -> str:
    if target.statistic == "mean":
        return "均值" if lang == "zh" else "mean"
    labels = {c.name: c.label.get(lang) for c in form.choices(target.question)}
    return ", ".join(f"{code} {labels[code]}" for code in target.success)


def _overview(assessments: Sequence[TargetAssessment], questionnaires: Mapping[str, Questionnaire]) -> pd.DataFrame:
    rows = []
    for a in assessments:
        t = a.target
        form = questionnaires[t.questionnaire]
        overall = a.to_frame().loc[OVERALL]
        rows.append({
            "target": t.id, "label_zh": t.label.zh, "label_en": t.label.get("en"),
            "questionnaire": t.questionnaire, "question": t.question, "statistic": t.statistic,
            "success_zh": _success_text(t, form, "zh"), "success_en": _success_text(t, form, "en"),
            "denominator": t.denominator,
            **{c: overall[c] for c in VERDICT_COLUMNS},
            "level": a.level, "ci_method": a.ci_method,
            "clause_section": t.clause_section, "clause_text": t.clause_text,
        })
    table = pd.DataFrame(rows).set_index("target")
    table["extra_interviews"] = table["extra_interviews"].astype("Int64")
    return table


def _multiple_column(question: str, code: str) -> str:
    return f"_choice_{question}_{code}"


def _add_multiple_indicators(data: pd.DataFrame, form: Questionnaire) -> pd.DataFrame:
    """0/1 columns per choice of each select_multiple question, NaN where unanswered."""
    new = {}
    for question in form.questions:
        if question.type != "select_multiple" or question.name not in data.columns:
            continue
        stripped = _strip(data[question.name]).reset_index(drop=True)
        answered = (stripped.notna() & (stripped != "")).to_numpy()
        # one (row position, code) pair per chosen code: vectorised set membership
        chosen = stripped[answered].str.split().explode().dropna()
        rows = chosen.index.to_numpy()
        for choice in form.choices(question):
            column = np.where(answered, 0.0, np.nan)
            column[rows[(chosen == choice.name).to_numpy()]] = 1.0
            new[_multiple_column(question.name, choice.name)] = column
    return pd.concat([data, pd.DataFrame(new, index=data.index)], axis=1) if new else data


def _strip(values: pd.Series) -> pd.Series:
    """Answers with surrounding blanks removed; NaN for anything that is not text."""
    if not (pd.api.types.is_object_dtype(values.dtype) or pd.api.types.is_string_dtype(values.dtype)):
        return pd.Series(np.nan, index=values.index, dtype=object)
    return values.str.strip()


def _answered(values: pd.Series) -> pd.Series:
    """Not missing and not blank text (numbers and other values count as answers)."""
    stripped = _strip(values)
    return values.notna() & ~(stripped == "")


_FREQUENCY_COLUMNS = ["question", "label_zh", "label_en", "type", "code", "choice_zh", "choice_en", "count",
                      "weighted_count", "estimate", "se", "ci_low", "ci_high", "n"]


def _frequencies(design: SurveyDesign, form: Questionnaire, settings: ReportSettings) -> pd.DataFrame:
    """Weighted frequency table of every closed question (select_one, select_multiple, numbers).

    Percentages are among the respondents who answered the question (asked and not blank).
    A select_multiple row is the share choosing that option; a number gets its mean.
    """
    data = design.data
    weights = design.weights
    positive = (weights > 0).to_numpy()
    rows: list[dict[str, Any]] = []
    for question in form.questions:
        if question.name not in data.columns or question.type in ("note", "text") or question.name == "consent":
            continue  # every respondent consented: the report covers them only
        base = {"question": question.name, "label_zh": question.label.zh, "label_en": question.label.get("en"),
                "type": question.type}
        answered = _answered(data[question.name])
        if not (answered.to_numpy() & positive).any():
            continue
        if question.type == "select_one":
            table = design.frequencies(question.name, ci_method=settings.ci_method, level=settings.level).to_frame()
            for choice in form.choices(question):
                row = table.loc[choice.name] if choice.name in table.index else None
                rows.append({**base, **_frequency_row(row, choice, int(table["n"].iloc[0]))})
        elif question.type == "select_multiple":
            for choice in form.choices(question):
                column = _multiple_column(question.name, choice.name)
                table = design.proportion(column, ci_method=settings.ci_method, level=settings.level).to_frame()
                row = table.loc[OVERALL]
                count = int(np.nansum(data[column].to_numpy() * positive))
                weighted = float(np.nansum(data[column].to_numpy() * weights.to_numpy()))
                rows.append({**base, **_frequency_row(row, choice, int(row["n"]), count, weighted)})
        else:
            row = design.mean(question.name, level=settings.level).to_frame().loc[OVERALL]
            rows.append({**base, "code": "mean", "choice_zh": "均值", "choice_en": "mean", "count": int(row["n"]),
                         "weighted_count": float(weights[answered].sum()), "estimate": row["estimate"],
                         "se": row["se"], "ci_low": row["ci_low"], "ci_high": row["ci_high"], "n": int(row["n"])})
    return pd.DataFrame(rows, columns=_FREQUENCY_COLUMNS)


def _frequency_row(row: pd.Series | None, choice: Any, n: int, count: int | None = None,
                   weighted: float | None = None) -> dict[str, Any]:
    out = {"code": choice.name, "choice_zh": choice.label.zh, "choice_en": choice.label.get("en"), "n": n}
    if row is None:  # a choice nobody picked
        return {**out, "count": 0, "weighted_count": 0.0, "estimate": 0.0, "se": np.nan, "ci_low": np.nan,
                "ci_high": np.nan}
    return {**out, "count": int(row["count"]) if count is None else count,
            "weighted_count": float(row["weighted_count"]) if weighted is None else weighted,
            "estimate": row["estimate"], "se": row["se"], "ci_low": row["ci_low"], "ci_high": row["ci_high"]}


def _text_answers(frames: Mapping[str, pd.DataFrame], questionnaires: Mapping[str, Questionnaire]) -> pd.DataFrame:
    columns = ["questionnaire", "question", "label_zh", "interview_id", "district", "answer"]
    parts = []
    for qid, data in frames.items():
        for question in questionnaires[qid].questions:
            if question.type != "text" or question.name not in data.columns:
                continue
            stripped = _strip(data[question.name])
            given = data.loc[(stripped.notna() & (stripped != "")).to_numpy()]
            parts.append(pd.DataFrame({
                "questionnaire": qid, "question": question.name, "label_zh": question.label.zh,
                "interview_id": given["interview_id"].to_numpy(),
                "district": given[DOMAIN_COLUMN].to_numpy() if DOMAIN_COLUMN in given.columns else None,
                "answer": given[question.name].to_numpy()}, columns=columns))
    parts = [part for part in parts if len(part)]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)


def _versions() -> str:
    names = ["survey-toolkit", "pandas", "numpy", "scipy", "openpyxl"]
    parts = [f"Python {platform.python_version()}"]
    for name in names:
        try:
            parts.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name} (not installed as a package)")
    return ", ".join(parts)


def _methods(settings: ReportSettings, designs: Mapping[str, SurveyDesign], counts: Mapping[str, tuple[int, int]],
             responses: pd.DataFrame, targets: Sequence[Target], created_at: datetime, extracted_at: datetime,
             source: str, wave: str | None, exclusions: Exclusions | None) -> pd.DataFrame:
    level = f"{settings.level:.10g}"
    rows: list[tuple[str, str]] = [
        ("报告生成时间 Report created (UTC)", f"{created_at:%Y-%m-%d %H:%M:%S}"),
        ("数据提取时间 Data extracted (UTC)", f"{extracted_at:%Y-%m-%d %H:%M:%S}"),
        ("数据来源 Data source", source or "(not recorded)"),
        ("调查轮次 Wave", wave or "all waves"),
        ("样本设计 Design",
         f"stratified cluster sample: strata = {STRATA_COLUMN} (the interview's district), PSU = {PSU_COLUMN} "
         f"(nested in strata); respondents = submitted interviews with consent (awaiting review or approved; "
         f"rejected and voided interviews are left out); Taylor linearisation variance "
         f"(as R's survey package); lonely PSUs: {settings.lonely_psu}"),
        ("基础权重 Base weights",
         f"the '{WEIGHT_COLUMN}' column" if WEIGHT_COLUMN in responses.columns else "1 per interview (equal weights)"),
        ("加权调整 Weighting", settings.describe_weighting()),
    ]
    if exclusions is not None:
        by_questionnaire = [f"; {qid}: {exclusions.describe(qid)}"
                            for qid in exclusions.to_frame()["questionnaire_id"].unique()]
        rows.append(("审核剔除 Excluded after review",
                     f"{exclusions.total} submitted interview(s) left out of the estimates"
                     + "".join(by_questionnaire)))
    if settings.margins_source:
        rows.append(("总体边际来源 Margins source", settings.margins_source))
    for var, cats in settings.margins.items():
        rows.append((f"总体边际 Margin: {var}", "; ".join(f"{cat} = {count:,.10g}" for cat, count in cats.items())))
    rows += [
        ("置信区间 Confidence intervals",
         f"{level} level; proportions: {settings.ci_method} (as R's svyciprop), means: Student t; "
         "t quantiles on the design degrees of freedom"),
        ("判定规则 Verdict rule",
         "met (达标) when the lower confidence limit is at or above the threshold; not met (未达标) when the upper "
         "limit is below it; inconclusive (尚无定论) otherwise. The point estimate is shown beside the threshold."),
        ("p值 p-value",
         "one-sided, H0: true value < threshold; t = (estimate - threshold) / SE on the design degrees of freedom"),
        ("补充样本 Further interviews",
         "for an inconclusive verdict: completed interviews to add so that the interval clears the threshold if "
         "the estimate held, with SE scaled by sqrt(n / (n + extra)) (same design effect and degrees of freedom)"),
        ("可靠性 Reliability",
         "NCHS Data Presentation Standards for Proportions (Parker et al., Vital Health Stat 2(175), 2017): "
         "effective sample size < 30, 95% Korn-Graubard CI width >= 0.30, relative CI width > 130% (width 0.05-0.30), "
         "degrees of freedom < 8 flag an estimate as unreliable"),
        ("统计软件 Software", _versions()),
        ("目标数 Targets", f"{len(targets)} (questionnaires/targets.yaml or the file given)"),
    ]
    for qid, (submitted, consenting) in counts.items():
        design = designs.get(qid)
        versions = sorted(set(responses.loc[responses["questionnaire_id"] == qid, "questionnaire_version"]
                              .dropna().astype(str))) if "questionnaire_version" in responses.columns else []
        rows.append((f"问卷 Questionnaire {qid}",
                     f"{submitted} submitted interviews, {consenting} with consent"
                     + (f"; versions {', '.join(versions)}" if versions else "")
                     + (f"; design: {design.describe()}; df = {design.degf}" if design is not None else "")))
    return pd.DataFrame(rows, columns=["item", "value"])


def _dictionary(forms: Sequence[Questionnaire]) -> pd.DataFrame:
    rows = []
    for form in forms:
        for question in form.questions:
            choices = ""
            if question.list_name is not None:
                choices = "\n".join(f"{c.name} = {c.label.zh} / {c.label.get('en')}" for c in form.choices(question))
            rows.append({"questionnaire": form.id, "version": form.version, "name": question.name,
                         "type": question.type + (f" {question.list_name}" if question.list_name else ""),
                         "label_zh": question.label.zh, "label_en": question.label.get("en"),
                         "relevant": question.relevant or "", "choices": choices})
    return pd.DataFrame(rows, columns=["questionnaire", "version", "name", "type", "label_zh", "label_en",
                                       "relevant", "choices"])
