"""The satisfaction report's tables: target verdicts, domain tables, frequencies, methods.

:func:`build_report` turns the responses (as ``ResponseStore.responses_frame`` gives them)
and the targets into a :class:`ReportTables`; the Excel writer
(:func:`survey_app.excel.write_report`), the command-line tool and the app's dashboard all
read those tables, so every number is computed once, here.

The design of each questionnaire's respondents (interviews with consent) is a stratified
cluster sample: strata = the interview's district (``sample_district``), PSU = ``psu``
(nested in the strata), weights = a ``weight`` column when the responses have one, else 1
per interview, and the finite population correction of an ``fpc`` column (PSUs in the
district's frame) when every respondent has one; :func:`report_from_store` takes both from
the stored sample assignments of each wave (:func:`with_stored_design_weights`). Optionally
post-stratified or raked to population margins (:class:`ReportSettings`). Variances are
Taylor linearisation, as R's ``survey`` package.
"""
from __future__ import annotations

import functools
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from importlib import metadata
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np
import pandas as pd

from analysis import CI_METHODS, LONELY_PSU_OPTIONS, OVERALL, SurveyDesign
from analysis.targets import (
    VERDICT_COLUMNS,
    IndexTarget,
    Target,
    TargetAssessment,
    assess_target,
    check_target,
    judge,
    load_index_targets,
    load_targets,
    target_indicators,
)
from survey_app.errors import SurveyAppError
from survey_app.field_values import wave_sort_key
from survey_app.formatting import format_percent
from survey_app.indices import INDEX_COLUMNS, add_number_columns, index_rows as _index_rows
from survey_app.indices import method_rows as index_method_rows, summary_lines as index_summary_lines
from survey_app.indices import where_to_act as _where_to_act
from survey_app.store import display_url

if TYPE_CHECKING:  # pragma: no cover
    from questionnaires import Questionnaire
    from survey_app.margins import PopulationMargins
    from survey_app.review import Exclusions
    from survey_app.store import ResponseStore

__all__ = ["ReportError", "ReportSettings", "ReportTables", "build_report", "report_from_store",
           "respondent_designs", "target_trend", "index_trend", "with_stored_design_weights", "choice_column", "target_column",
           "counted_interviews", "latest_wave", "margins_source", "report_file_name", "waves_of",
           "WEIGHTINGS", "VERDICT_LABELS", "DOMAIN_VARIABLES", "DOMAIN_VARIABLE_LABELS"]

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
FPC_COLUMN = "fpc"
# added with the weights of the stored assignments (survey_app.assignments.with_design_weights)
_ASSIGNED_COLUMN = "design_weight"
DOMAIN_COLUMN = "district"
#: Respondent questions a target can be broken down by (every shipped questionnaire asks them).
DOMAIN_VARIABLES: tuple[str, ...] = ("district", "sex", "age_group", "urban_rural")
#: Bilingual names of the domain variables, and of the whole-city row (``"overall"``).
DOMAIN_VARIABLE_LABELS: Mapping[str, tuple[str, str]] = MappingProxyType({
    "overall": ("全市", "Nantong (all districts)"),
    "district": ("区县", "District"),
    "sex": ("性别", "Sex"),
    "age_group": ("年龄段", "Age group"),
    "urban_rural": ("城乡", "Urban/rural"),
})


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
    domains : tuple of str, default ("district",)
        Breakdowns of every target's domain table, among :data:`DOMAIN_VARIABLES`; must
        include "district" (the district verdicts rest on it), e.g.
        ``("district", "sex", "age_group", "urban_rural")``.
    demonstration_margins : bool, default False
        Whether ``margins`` are demonstration figures (``PopulationMargins.demonstration``): the
        report is then labelled demonstration, whatever the interviews.

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
    domains: tuple[str, ...] = ("district",)
    demonstration_margins: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.demonstration_margins, bool):
            raise ReportError(f"demonstration_margins={self.demonstration_margins!r}; give True or False")
        if self.demonstration_margins and self.weighting == "none":
            raise ReportError("demonstration_margins=True with weighting='none': no margins are used; drop it")
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
        domains = (self.domains,) if isinstance(self.domains, str) else tuple(self.domains)
        unknown = [d for d in domains if d not in DOMAIN_VARIABLES]
        if unknown:
            raise ReportError(f"domains={self.domains!r}: {unknown} not known; choose among "
                              f"{', '.join(DOMAIN_VARIABLES)}")
        if len(set(domains)) != len(domains) or "district" not in domains:
            raise ReportError(f"domains={self.domains!r}: name each variable once and include 'district' "
                              "(the district verdicts rest on it), e.g. ('district', 'sex')")
        object.__setattr__(self, "domains", domains)

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
        Per target id: the overall row, then the categories of each of ``settings.domains``
        (index ``domain``: ``"all"``, district codes, ``"<variable>:<code>"`` for the other
        variables), columns ``domain_variable`` (``"overall"``, ``"district"``, ``"sex"``...),
        ``domain_code``, bilingual labels ``domain_zh``/``domain_en`` and ``VERDICT_COLUMNS``.
    frequencies : mapping of str to pandas.DataFrame
        Per questionnaire id: weighted frequency table of every closed question. Computed on
        first access (the dashboard never needs them; the workbook does).
    designs : mapping of str to SurveyDesign
        Per questionnaire id with consenting respondents: the weighted design every estimate
        uses (:func:`respondent_designs`).
    text_answers : pandas.DataFrame
        Free-text answers as given (questionnaire, question, interview, district, answer).
    methods : pandas.DataFrame
        ``item`` / ``value`` rows: design, weighting, margins, interval method, software.
    dictionary : pandas.DataFrame
        Every question: questionnaire, name, type, labels, relevance, choices.
    districts : pandas.DataFrame
        District codes (index) with ``name_zh``/``name_en``, in the official order.
    demonstration : bool
        Whether any demonstration interview (:func:`survey_app.demo.is_demo_interviewer`) or
        demonstration margins went into the report; the workbook, its file name and the
        command line's summary then say so.
    scoreboard : pandas.DataFrame or None
        Every numeric target of the plan, survey, inspection and register
        (:meth:`survey_app.scoreboard.Scoreboard.to_frame`), when the report was built from a
        store (:func:`report_from_store`); the workbook then has a scoreboard sheet.
    indices : pandas.DataFrame or None
        The plan's indices and their components (:func:`survey_app.indices.index_rows`), when
        the report estimated them (the targets file's indices); the workbook then has an index sheet.
    index_trend : pandas.DataFrame or None
        The indices in every stored wave (:func:`index_trend`), when the report was given every
        wave's interviews (the app and :func:`report_from_store`); the index sheet then shows the
        change between waves.
    priorities : pandas.DataFrame or None
        "Where to act": importance against performance of the questionnaires' aspect ratings
        (:func:`survey_app.indices.where_to_act`); the workbook then has a sheet of it.
    changes : pandas.DataFrame or None
        Every target's change since the previous stored wave, city-wide and by district
        (:func:`survey_app.change.wave_changes`), when the report's wave has one; the workbook
        then has a "变化 Change" sheet and its summary counts the significant changes.
    district_comparisons : pandas.DataFrame or None
        Every district against the rest of the city (:func:`survey_app.change.district_comparisons`);
        the workbook then has a "区县比较 District comparison" sheet.
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
    designs: Mapping[str, SurveyDesign] = field(repr=False)
    text_answers: pd.DataFrame = field(repr=False)
    methods: pd.DataFrame = field(repr=False)
    dictionary: pd.DataFrame = field(repr=False)
    districts: pd.DataFrame = field(repr=False)
    demonstration: bool = False
    scoreboard: pd.DataFrame | None = field(default=None, repr=False)
    indices: pd.DataFrame | None = field(default=None, repr=False)
    index_trend: pd.DataFrame | None = field(default=None, repr=False)
    priorities: pd.DataFrame | None = field(default=None, repr=False)
    # issue 15: survey_app.change.with_comparisons
    changes: pd.DataFrame | None = field(default=None, repr=False)
    district_comparisons: pd.DataFrame | None = field(default=None, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The overview of targets and verdicts (a copy): one row per target."""
        return self.overview.copy()

    def summary(self) -> str:
        """The verdicts as text (never prints)."""
        lines = ["DEMONSTRATION DATA (synthetic, not a real survey)"] if self.demonstration else []
        lines += [f"Satisfaction report, data extracted {self.extracted_at:%Y-%m-%d %H:%M} UTC from "
                  f"{self.source or '(not recorded)'}, " + (f"wave {self.wave}" if self.wave else "all waves pooled"),
                 f"{format_percent(self.settings.level, decimals=0)} intervals: {self.settings.ci_method}; weighting: "
                 f"{self.settings.describe_weighting()}"]
        lines.extend(a.summary() for a in self.assessments)
        lines.extend(index_summary_lines(self.indices, self.priorities))   # issue 16
        return "\n".join(lines)

    def __repr__(self) -> str:  # pragma: no cover - cosmetic
        return f"<ReportTables {len(self.assessments)} targets, extracted {self.extracted_at:%Y-%m-%d %H:%M} UTC>"


# -- building -------------------------------------------------------------------------------

def waves_of(responses: pd.DataFrame) -> list[str]:
    """The waves of the interviews, oldest first (by year and period, named waves last:
    :func:`survey_app.field_values.wave_sort_key`)."""
    if "wave" not in responses.columns:
        return []
    return sorted(responses["wave"].dropna().astype(str).unique(), key=wave_sort_key)


def latest_wave(responses: pd.DataFrame) -> str | None:
    """The wave a report shows unless another is chosen: the latest of :func:`waves_of` (None
    without interviews). The dashboard and ``survey-toolkit report`` both start on it."""
    waves = waves_of(responses)
    return waves[-1] if waves else None


def counted_interviews(store: ResponseStore, *, wave: str | None = None) -> pd.DataFrame:
    """The interviews that count in the estimates: submitted or approved, never demo
    interviews beside real ones (:func:`survey_app.demo.without_mixed_demo`); ``wave``: only
    that wave's. As ``store.responses_frame``."""
    from survey_app.demo import without_mixed_demo

    responses = without_mixed_demo(store.responses_frame(status="submitted"))
    if wave is None:
        return responses
    return responses.iloc[np.flatnonzero((responses["wave"].astype(str) == wave).to_numpy())]


def report_file_name(*, wave: str | None, demonstration: bool, day: date) -> str:
    """The workbook's download name: wave (or ``all``) and day, and ``_DEMO_演示`` when
    demonstration data or margins went into it (:attr:`ReportTables.demonstration`).

    Examples
    --------
    >>> report_file_name(wave="2026", demonstration=True, day=date(2026, 12, 7))
    'satisfaction_report_2026_20261207_DEMO_演示.xlsx'
    """
    return f"satisfaction_report_{wave or 'all'}_{day:%Y%m%d}{'_DEMO_演示' if demonstration else ''}.xlsx"


def margins_source(margins: PopulationMargins) -> str:
    """Where saved margins come from, for the methods sheet (``ReportSettings.margins_source``)."""
    text = f"{margins.source}, reference date {margins.reference_date.isoformat()}"
    return "DEMONSTRATION figures, not for publication: " + text if margins.demonstration else text


def report_from_store(store: ResponseStore, *, settings: ReportSettings | None = None,
                      targets: Sequence[Target] | None = None, wave: str | None = None,
                      questionnaires: Mapping[str, Questionnaire] | None = None,
                      contact_details: Literal["remove", "keep"] = "remove",
                      indices: Sequence[IndexTarget] | None = None) -> ReportTables:
    """Read the submitted interviews of ``store`` and build the report's tables.

    Parameters
    ----------
    store : ResponseStore
    settings : ReportSettings, optional
        Default ``ReportSettings()``.
    targets : sequence of Target, optional
        Default: :func:`analysis.targets.load_targets`.
    wave : str, optional
        Only this wave's interviews (default: all waves pooled; :func:`latest_wave` gives the
        wave the dashboard starts on).
    questionnaires : mapping, optional
        Default: the questionnaires the app offers (``survey_app.review.available_questionnaires``:
        the shipped ones and those uploaded as XLSForms).
    contact_details : {"remove", "keep"}
        "remove" (default) takes contact details out of free-text answers before they reach
        the workbook (:func:`survey_app.auth.minimise_personal_data`); "keep" is for an
        administrator who asks for them.
    indices : sequence of IndexTarget, optional
        The indices of the same targets file as ``targets`` (default: those of the default
        file); with them come the "where to act" priorities, as on the dashboard.

    Returns
    -------
    ReportTables
    """
    from survey_app.auth import minimise_personal_data
    from survey_app.review import available_questionnaires, excluded_interviews

    if contact_details not in ("remove", "keep"):
        raise ValueError(f"contact_details={contact_details!r}; use 'remove' or 'keep'")

    extracted_at = datetime.now(timezone.utc)
    responses = with_stored_design_weights(counted_interviews(store, wave=wave), url=store.url)
    # questionnaires uploaded in the app (new ones and new versions) as well as the shipped ones
    questionnaires = questionnaires or available_questionnaires(store)
    if contact_details == "remove":
        responses = minimise_personal_data(responses, questionnaires)
    if indices is None:
        indices = load_index_targets(questionnaires=questionnaires)
    tables = build_report(responses, settings=settings, targets=targets, questionnaires=questionnaires,
                          extracted_at=extracted_at, source=display_url(store.url), wave=wave,
                          exclusions=excluded_interviews(store, wave=wave), indices=indices,
                          where_to_act=True)
    # issue 19: the plan's whole scoreboard (inspections and administrative figures of the same database)
    from survey_app.scoreboard import scoreboard_from_store

    board = scoreboard_from_store(store.url, survey=tables.overview, survey_date=extracted_at.date(),
                                  targets=[a.target for a in tables.assessments], indices=tables.indices,
                                  level=tables.settings.level)
    tables = replace(tables, scoreboard=board.to_frame())
    if tables.indices is not None and len(tables.indices):  # issue 16: the indices' change between waves
        every_wave = responses if wave is None else with_stored_design_weights(counted_interviews(store),
                                                                               url=store.url)
        tables = replace(tables, index_trend=index_trend(every_wave, settings=tables.settings,
                                                         indices=indices, questionnaires=questionnaires))
    # issue 15: the change since the previous stored wave, and each district against the rest of the city
    from survey_app.change import library_versions, with_comparisons

    every = responses if wave is None else with_stored_design_weights(counted_interviews(store), url=store.url)
    return with_comparisons(tables, every, questionnaires=questionnaires, versions=library_versions(store.url))


def with_stored_design_weights(responses: pd.DataFrame, *, url: str) -> pd.DataFrame:
    """The interviews with the design weights and fpc of their wave's stored sample assignments.

    Each wave separately (:func:`survey_app.assignments.with_design_weights`): the interviews of
    a wave with a stored list get ``weight`` (1 / inclusion probability) and ``fpc`` (PSUs in the
    district's frame); those of waves without one keep none (missing values when other waves
    have them). ``responses`` itself is returned when no wave has a list.

    Raises
    ------
    survey_app.assignments.AssignmentError
        An interview whose PSU is not in its wave's list, or weights in ``responses`` already.
    """
    from survey_app.assignments import get_assignment_store, with_design_weights

    if responses.empty or "wave" not in responses.columns:
        return with_design_weights(responses, url=url)
    stored = set(get_assignment_store(url).waves())
    if not stored:
        return responses
    labels = responses["wave"].astype(str).to_numpy()
    waves = list(dict.fromkeys(labels))
    if len(waves) == 1 or stored.issuperset(waves):
        return with_design_weights(responses, url=url)
    positions = [np.flatnonzero(labels == wave) for wave in waves]
    parts = [with_design_weights(responses.iloc[rows], url=url) for rows in positions]
    if not any(_ASSIGNED_COLUMN in part.columns for part in parts):
        return responses
    # back in the order of the responses
    return pd.concat(parts).iloc[np.argsort(np.concatenate(positions), kind="stable")]


def build_report(responses: pd.DataFrame, *, settings: ReportSettings | None = None,
                 targets: Sequence[Target] | None = None,
                 questionnaires: Mapping[str, Questionnaire] | None = None,
                 extracted_at: datetime | None = None, source: str = "", wave: str | None = None,
                 exclusions: Exclusions | None = None, frequencies: bool = True,
                 text_answers: bool = True, indices: Sequence[IndexTarget] | None = None,
                 where_to_act: bool | None = None) -> ReportTables:
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
    frequencies : bool, default True
        Whether the report has frequency tables (computed when first read) and designs with
        the 0/1 columns of select_multiple options. False: ``frequencies`` is empty, for views
        that show only the targets (the dashboard); a workbook of it has no frequency sheets.
    text_answers : bool, default True
        Whether to collect the free-text answers (False: an empty table).
    indices : sequence of IndexTarget, optional
        The indices to estimate (:attr:`ReportTables.indices`). Default: the targets file's
        (:func:`analysis.targets.load_index_targets`) when ``targets`` is not given, else none.
    where_to_act : bool, optional
        Whether to analyse the key drivers of :data:`survey_app.indices.DRIVER_SETS`
        (:attr:`ReportTables.priorities`). Default: when ``targets`` is not given.

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
    from survey_app.demo import demo_interviews

    settings = settings or ReportSettings()
    if questionnaires is None:
        from questionnaires import shipped_questionnaires

        questionnaires = shipped_questionnaires()
    if indices is None:
        indices = load_index_targets(questionnaires=questionnaires) if targets is None else ()
    if where_to_act is None:
        where_to_act = targets is None
    targets = tuple(targets) if targets is not None else load_targets(questionnaires=questionnaires)
    created_at = datetime.now(timezone.utc)
    demonstration = settings.demonstration_margins or bool(demo_interviews(responses).any())
    extracted_at = extracted_at or created_at
    _check_responses(responses, questionnaires)
    for target in targets:
        check_target(target, questionnaires)
    districts = _districts()
    district_labels = {code: (row.name_zh, row.name_en) for code, row in districts.iterrows()}

    used = list(dict.fromkeys([t.questionnaire for t in targets]
                              + sorted(set(responses["questionnaire_id"].dropna()))))
    designs = respondent_designs(responses, settings=settings, questionnaires=questionnaires, targets=targets,
                                 multiple_choice=frequencies)
    ids = responses["questionnaire_id"]
    submitted = ids.value_counts()
    consenting = ids[responses["consent"] == "yes"].value_counts() if "consent" in responses.columns else submitted
    counts = {qid: (int(submitted.get(qid, 0)), int(consenting.get(qid, 0))) for qid in used}

    assessments, domains = [], {}
    for target in targets:
        design = designs.get(target.questionnaire)
        if design is None:
            assessment = _no_data(target, settings)
            parts = {var: assessment for var in settings.domains}
        else:
            parts = {var: assess_target(design, target_column(target.id), target=target, by=var,
                                        level=settings.level, ci_method=settings.ci_method)
                     for var in settings.domains if var in design.data.columns}
            assessment = parts.get(DOMAIN_COLUMN) or _no_data(target, settings)
        assessments.append(assessment)
        domains[target.id] = _domain_table(parts, district_labels, questionnaires[target.questionnaire])
    assessments = tuple(assessments)
    overview = _overview(assessments, questionnaires)
    district_verdicts = pd.DataFrame(
        {code: [domains[a.target.id].loc[code, "verdict"] for a in assessments] for code in districts.index},
        index=pd.Index([a.target.id for a in assessments], name="target"))
    return ReportTables(
        settings=settings, created_at=created_at, extracted_at=extracted_at, source=source, wave=wave,
        assessments=assessments, overview=overview, district_verdicts=district_verdicts,
        domains=domains, frequencies=_Frequencies(designs if frequencies else {}, questionnaires, settings),
        designs=designs,
        text_answers=_text_answers({qid: d.data for qid, d in designs.items()} if text_answers else {},
                                   questionnaires),
        methods=pd.concat([_methods(settings, designs, counts, responses, targets, created_at, extracted_at, source,
                                    wave, exclusions, demonstration),
                           pd.DataFrame(index_method_rows(indices=bool(indices), priorities=where_to_act),
                                        columns=["item", "value"])], ignore_index=True),
        dictionary=_dictionary([questionnaires[q] for q in used] or list(questionnaires.values())),
        districts=districts, demonstration=demonstration,
        indices=_index_rows(designs, indices, questionnaires, level=settings.level) if indices else None,
        priorities=_where_to_act(designs, questionnaires, level=settings.level, indices=indices) if where_to_act
        else None)


def _check_responses(responses: pd.DataFrame, questionnaires: Mapping[str, Questionnaire]) -> None:
    needed = ["questionnaire_id", "interview_id", STRATA_COLUMN, PSU_COLUMN]
    absent = [c for c in needed if c not in responses.columns]
    if absent:
        raise ReportError(f"the responses lack the columns {absent}; pass ResponseStore.responses_frame()")
    unknown = sorted(set(responses["questionnaire_id"].dropna().unique()) - set(questionnaires))
    if unknown:
        raise ReportError(f"responses of unknown questionnaires {unknown}; known: {', '.join(sorted(questionnaires))}")


def target_column(target_id: str) -> str:
    """Name of a target's indicator column in the designs of :func:`respondent_designs`."""
    return f"_target_{target_id}"


def choice_column(question: str, code: str) -> str:
    """Name of the 0/1 column of one option of a select_multiple question in the designs."""
    return f"_choice_{question}_{code}"


def respondent_designs(responses: pd.DataFrame, *, settings: ReportSettings | None = None,
                       questionnaires: Mapping[str, Questionnaire] | None = None,
                       targets: Sequence[Target] = (), multiple_choice: bool = True) -> dict[str, SurveyDesign]:
    """The weighted design of each questionnaire's consenting respondents, as the report uses it.

    Strata = ``sample_district``, PSU = ``psu`` (nested), base weight = the ``weight`` column or
    1, then post-stratified or raked as ``settings`` say (only the questionnaires in
    ``settings.calibrate``). The design's data hold the responses plus a 0/1 column per option
    of each select_multiple question (:func:`choice_column`, unless ``multiple_choice`` is
    False), the indicator of each target in ``targets`` (:func:`target_column`) and every
    numeric answer as a number (:func:`survey_app.indices.number_column`: rating codes such as
    ``'4'`` become 4.0, for the indices and key drivers); of the question columns, only the
    questionnaire's own.

    Parameters
    ----------
    responses : pandas.DataFrame
        As ``ResponseStore.responses_frame``.
    settings : ReportSettings, optional
    questionnaires : mapping of str to Questionnaire, optional
        Default: the shipped questionnaires.
    targets : sequence of Target
        Targets whose indicators to add (checked with :func:`analysis.targets.check_target`
        by the caller).
    multiple_choice : bool, default True
        Whether to add the 0/1 columns of the select_multiple options (the frequency tables
        need them; the targets do not).

    Returns
    -------
    dict of str to SurveyDesign
        Questionnaires without consenting respondents are left out.

    Examples
    --------
    >>> designs = respondent_designs(store.responses_frame(), settings=ReportSettings())  # doctest: +SKIP
    >>> column = choice_column("complaint_channels", "hotline_12315")                       # doctest: +SKIP
    >>> designs["consumer_environment"].proportion(column).to_frame()                         # doctest: +SKIP
    >>> # In R: des <- svydesign(ids = ~psu, strata = ~sample_district, nest = TRUE, weights = ~w, data = d)
    >>> #       svyciprop(~hotline_12315, des, method = "logit")
    """
    settings = settings or ReportSettings()
    if questionnaires is None:
        from questionnaires import shipped_questionnaires

        questionnaires = shipped_questionnaires()
    _check_responses(responses, questionnaires)
    consenting = (responses["consent"] == "yes").to_numpy() if "consent" in responses.columns else None
    # the responses have a column per question of every questionnaire: copy only this one's
    questions = {q.name for form in questionnaires.values() for q in form.questions}
    designs: dict[str, SurveyDesign] = {}
    ids, names = pd.factorize(responses["questionnaire_id"])
    for k, qid in sorted(enumerate(names), key=lambda pair: pair[1]):
        form = questionnaires[qid]
        rows = ids == k
        if consenting is not None:
            rows &= consenting
        if not rows.any():
            continue
        own = {q.name for q in form.questions}
        # rows by position first: much faster than .loc with a mask and a column list
        data = responses.iloc[np.flatnonzero(rows)]
        data = data[[c for c in responses.columns if c not in questions or c in own]]
        data.index = pd.RangeIndex(len(data))
        data["_weight"] = _base_weights(data, qid)
        own_targets = [target for target in targets if target.questionnaire == qid]
        if own_targets:
            indicators = target_indicators(data, targets=own_targets, questionnaire=form)
            data[[target_column(target.id) for target in own_targets]] = indicators.to_numpy()
        if multiple_choice:
            data = _add_multiple_indicators(data, form)
        data = add_number_columns(data, form)   # rating codes as numbers (indices, key drivers)
        design = SurveyDesign(data, weights="_weight", strata=STRATA_COLUMN, psu=PSU_COLUMN, nest=True,
                              fpc=FPC_COLUMN if _has_fpc(data) else None, lonely_psu=settings.lonely_psu)
        if settings.weighting != "none" and (settings.calibrate is None or qid in settings.calibrate):
            margins = {var: dict(cats) for var, cats in settings.margins.items()}
            if settings.weighting == "rake":
                design = design.rake(margins)
            else:
                (var, totals), = margins.items()
                design = design.poststratify(var, totals)
        designs[qid] = design
    return designs


def _base_weights(data: pd.DataFrame, qid: str) -> pd.Series | float:
    """The ``weight`` column, or 1 per interview when there is none (or it is empty: waves
    without stored assignments)."""
    if WEIGHT_COLUMN not in data.columns or data[WEIGHT_COLUMN].isna().all():
        return 1.0
    missing = data[WEIGHT_COLUMN].isna()
    if missing.any():
        waves = sorted(data.loc[missing, "wave"].astype(str).unique()) if "wave" in data.columns else []
        raise ReportError(f"{int(missing.sum())} interviews of {qid} have no design weight"
                          + (f" (waves {', '.join(waves)}: no stored sample assignments)" if waves else "")
                          + " while the others have one; report one wave at a time, or save the assignments of "
                          "those waves")
    return data[WEIGHT_COLUMN]


def _has_fpc(data: pd.DataFrame) -> bool:
    """Whether every respondent has the frame size of its district (else no fpc at all)."""
    return FPC_COLUMN in data.columns and bool(data[FPC_COLUMN].notna().all())


def target_trend(responses: pd.DataFrame, *, settings: ReportSettings | None = None,
                 targets: Sequence[Target] | None = None,
                 questionnaires: Mapping[str, Questionnaire] | None = None) -> pd.DataFrame:
    """Every target's overall estimate and verdict in each wave: the report's overview per wave.

    Only the targets are estimated (no domains, frequencies or workbook parts) from the
    interviews of their questionnaires, each wave with its own design, weighted as the report
    of that wave alone.

    Parameters
    ----------
    responses : pandas.DataFrame
        As ``ResponseStore.responses_frame``, with a ``wave`` column.
    settings, targets, questionnaires
        As :func:`build_report`.

    Returns
    -------
    pandas.DataFrame
        One row per wave (oldest first, labels sorted as text) and target: ``wave``,
        ``target`` and ``VERDICT_COLUMNS``; equal to ``build_report(rows of the wave).overview``.
    """
    settings = settings or ReportSettings()
    if questionnaires is None:
        from questionnaires import shipped_questionnaires

        questionnaires = shipped_questionnaires()
    targets = tuple(targets) if targets is not None else load_targets(questionnaires=questionnaires)
    if "wave" not in responses.columns:
        raise ReportError("the responses lack the column 'wave'; pass ResponseStore.responses_frame()")
    for target in targets:
        check_target(target, questionnaires)
    labels = responses["wave"].astype(str).where(responses["wave"].notna()).to_numpy()
    # only the interviews of the targets' questionnaires are read
    needed = responses["questionnaire_id"].isin({t.questionnaire for t in targets}).to_numpy()
    rows = []
    for wave in sorted(pd.unique(labels[pd.notna(labels)])):
        designs = respondent_designs(responses.iloc[np.flatnonzero((labels == wave) & needed)], settings=settings,
                                     questionnaires=questionnaires, targets=targets, multiple_choice=False)
        for target in targets:
            design = designs.get(target.questionnaire)
            assessment = (_no_data(target, settings) if design is None else
                          assess_target(design, target_column(target.id), target=target, level=settings.level,
                                        ci_method=settings.ci_method))
            overall = assessment.to_frame().loc[OVERALL]
            rows.append({"wave": wave, "target": target.id, **{c: overall[c] for c in VERDICT_COLUMNS}})
    table = pd.DataFrame(rows, columns=["wave", "target", *VERDICT_COLUMNS])
    table["extra_interviews"] = table["extra_interviews"].astype("Int64")
    return table


def index_trend(responses: pd.DataFrame, *, settings: ReportSettings | None = None,
                indices: Sequence[IndexTarget] | None = None,
                questionnaires: Mapping[str, Questionnaire] | None = None) -> pd.DataFrame:
    """The indices in every wave: :func:`survey_app.indices.index_rows` of each wave's own design
    (weighted as the report of that wave alone), with a ``wave`` column, oldest wave first
    (:func:`waves_of`); :func:`survey_app.indices.index_changes` turns it into changes.

    Parameters
    ----------
    responses : pandas.DataFrame
        As ``ResponseStore.responses_frame``, with a ``wave`` column.
    settings, questionnaires
        As :func:`build_report`.
    indices : sequence of IndexTarget, optional
        Default: the targets file's (:func:`analysis.targets.load_index_targets`).
    """
    settings = settings or ReportSettings()
    if questionnaires is None:
        from questionnaires import shipped_questionnaires

        questionnaires = shipped_questionnaires()
    indices = tuple(indices) if indices is not None else load_index_targets(questionnaires=questionnaires)
    if "wave" not in responses.columns:
        raise ReportError("the responses lack the column 'wave'; pass ResponseStore.responses_frame()")
    labels = responses["wave"].astype(str).where(responses["wave"].notna()).to_numpy()
    needed = responses["questionnaire_id"].isin({t.questionnaire for t in indices}).to_numpy()
    parts = []
    for wave in waves_of(responses):
        designs = respondent_designs(responses.iloc[np.flatnonzero((labels == wave) & needed)], settings=settings,
                                     questionnaires=questionnaires, multiple_choice=False)
        parts.append(_index_rows(designs, indices, questionnaires, level=settings.level).assign(wave=wave))
    if not parts:
        return pd.DataFrame(columns=["wave", *INDEX_COLUMNS])
    table = pd.concat(parts, ignore_index=True)
    return table[["wave", *INDEX_COLUMNS]]


class _Frequencies(Mapping):
    """The frequency tables of the report's designs, each computed when first read.

    Plain attributes only, so that the report still pickles.
    """

    def __init__(self, designs: Mapping[str, SurveyDesign], questionnaires: Mapping[str, Questionnaire],
                 settings: ReportSettings) -> None:
        self._designs = dict(designs)
        self._forms = {qid: questionnaires[qid] for qid in designs}
        self._settings = settings
        self._done: dict[str, pd.DataFrame] = {}

    def __getitem__(self, qid: str) -> pd.DataFrame:
        if qid not in self._done:
            self._done[qid] = _frequencies(self._designs[qid], self._forms[qid], self._settings)
        return self._done[qid]

    def __iter__(self):
        return iter(self._designs)

    def __len__(self) -> int:
        return len(self._designs)


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


def _domain_table(parts: Mapping[str, TargetAssessment], district_labels: Mapping[str, tuple[str, str]],
                  form: Questionnaire) -> pd.DataFrame:
    """Overall row, then each domain variable's categories (in questionnaire order; those
    without respondents as "no data"), labelled in both languages."""
    first = next(iter(parts.values()))
    frames = [first.to_frame().loc[[OVERALL]]]
    variables, codes, index = ["overall"], [OVERALL], [OVERALL]
    names = [DOMAIN_VARIABLE_LABELS["overall"]]
    questions = {q.name for q in form.questions}
    for variable, assessment in parts.items():
        table = assessment.to_frame().drop(index=OVERALL)
        table.index = table.index.astype(str)
        if variable == DOMAIN_COLUMN:
            labels = district_labels
        elif variable in questions:
            labels = {c.name: (c.label.zh, c.label.get("en")) for c in form.choices(variable)}
        else:
            labels = {}
        missing = [code for code in labels if code not in table.index]
        if missing:  # categories without respondents are shown, as "no data"
            empty = pd.DataFrame({"estimate": np.nan, "se": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                                  "df": 0, "n": 0, "deff": np.nan}, index=pd.Index(missing))
            filler = judge(empty, threshold=assessment.target.threshold, ci_method=assessment.ci_method,
                           level=assessment.level, statistic=assessment.target.statistic)
            table = pd.concat([table, filler])
        order = list(labels) + sorted(set(table.index) - set(labels))
        frames.append(table.loc[order])
        variables += [variable] * len(order)
        codes += order
        names += [labels.get(code, (code, code)) for code in order]
        # district codes stay plain (the district sheet looks them up); other codes name their variable
        index += order if variable == DOMAIN_COLUMN else [f"{variable}:{code}" for code in order]
    verdicts = pd.concat(frames, ignore_index=True)[list(VERDICT_COLUMNS)]
    labelled = pd.DataFrame({"domain_variable": variables, "domain_code": codes, "domain_zh": [z for z, _ in names],
                             "domain_en": [e for _, e in names]})
    out = pd.concat([labelled, verdicts], axis=1)
    out.index = pd.Index(index, name="domain")
    out["extra_interviews"] = out["extra_interviews"].astype("Int64")
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


def _add_multiple_indicators(data: pd.DataFrame, form: Questionnaire) -> pd.DataFrame:
    """0/1 columns per choice of each select_multiple question, NaN where unanswered."""
    new = {}
    for question in form.questions:
        if question.type != "select_multiple" or question.name not in data.columns:
            continue
        choices = [choice.name for choice in form.choices(question)]
        # a survey has few distinct answers: each is split once, and its rows look it up
        codes, uniques = _distinct(data[question.name])
        table = np.full((len(uniques) + 1, len(choices)), np.nan)   # last row: missing answers
        for k, value in enumerate(uniques):
            if isinstance(value, str) and value.strip():
                chosen = set(value.split())
                table[k] = [1.0 if name in chosen else 0.0 for name in choices]
        rows = table[codes]
        for j, name in enumerate(choices):
            new[choice_column(question.name, name)] = rows[:, j]
    return pd.concat([data, pd.DataFrame(new, index=data.index)], axis=1) if new else data


def _distinct(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes of ``values`` into their distinct values (missing: code -1, which indexes the last
    row of a per-value table with one extra row), and the distinct values."""
    codes, uniques = pd.factorize(values)
    return codes, np.asarray(uniques, dtype=object)


def _answered(values: pd.Series) -> np.ndarray:
    """Not missing and not blank text (numbers and other values count as answers)."""
    if not (pd.api.types.is_object_dtype(values.dtype) or pd.api.types.is_string_dtype(values.dtype)):
        return values.notna().to_numpy()
    codes, uniques = _distinct(values)
    given = np.array([not (isinstance(value, str) and not value.strip()) for value in uniques] + [False])
    return given[codes]


def _any_answered(values: pd.Series, rows: np.ndarray) -> bool:
    """Whether any of ``rows`` (a mask) has an answer, as :func:`_answered`; stops at the first
    (usually the first row: cheaper than finding the missing values of the whole column)."""
    for value in values.to_numpy()[rows]:
        if isinstance(value, str):
            if value.strip():
                return True
        elif not (value is None or value is pd.NA or value is pd.NaT
                  or (isinstance(value, (float, np.floating)) and np.isnan(value))):
            return True
    return False


def _given_text(values: pd.Series) -> np.ndarray:
    """Text that is not blank (missing values and values that are not text are not)."""
    codes, uniques = _distinct(values)
    given = np.array([isinstance(value, str) and bool(value.strip()) for value in uniques] + [False])
    return given[codes]


_FREQUENCY_COLUMNS = ["question", "label_zh", "label_en", "type", "code", "choice_zh", "choice_en", "count",
                      "weighted_count", "estimate", "se", "ci_low", "ci_high", "n"]


def _frequencies(design: SurveyDesign, form: Questionnaire, settings: ReportSettings) -> pd.DataFrame:
    """Weighted frequency table of every closed question (select_one, select_multiple, numbers).

    Percentages are among the respondents who answered the question (asked and not blank).
    A select_multiple row is the share choosing that option; a number gets its mean.
    """
    data = design.data
    weights = design.weights
    weight_values = weights.to_numpy()
    positive = weight_values > 0
    rows: list[dict[str, Any]] = []
    for question in form.questions:
        if question.name not in data.columns or question.type in ("note", "text") or question.name == "consent":
            continue  # every respondent consented: the report covers them only
        base = {"question": question.name, "label_zh": question.label.zh, "label_en": question.label.get("en"),
                "type": question.type}
        if not _any_answered(data[question.name], positive):
            continue
        if question.type == "select_one":
            table = design.frequencies(question.name, ci_method=settings.ci_method, level=settings.level).to_frame()
            n = int(table["n"].iloc[0])
            # plain rows by code (DataFrame.to_dict and .loc per choice cost more than the estimate)
            names = ["count", "weighted_count", "estimate", "se", "ci_low", "ci_high"]
            found = {code: dict(zip(names, values))
                     for code, values in zip(table.index, table[names].to_numpy(dtype=float))}
            for choice in form.choices(question):
                rows.append({**base, **_frequency_row(found.get(choice.name), choice, n)})
        elif question.type == "select_multiple":
            for choice in form.choices(question):
                column = choice_column(question.name, choice.name)
                table = design.proportion(column, ci_method=settings.ci_method, level=settings.level).to_frame()
                row = table.loc[OVERALL]
                values = data[column].to_numpy()
                count = int(np.nansum(values * positive))
                weighted = float(np.nansum(values * weight_values))
                rows.append({**base, **_frequency_row(row, choice, int(row["n"]), count, weighted)})
        else:
            row = design.mean(question.name, level=settings.level).to_frame().loc[OVERALL]
            answered = _answered(data[question.name])
            rows.append({**base, "code": "mean", "choice_zh": "均值", "choice_en": "mean", "count": int(row["n"]),
                         "weighted_count": float(weights[answered].sum()), "estimate": row["estimate"],
                         "se": row["se"], "ci_low": row["ci_low"], "ci_high": row["ci_high"], "n": int(row["n"])})
    return pd.DataFrame(rows, columns=_FREQUENCY_COLUMNS)


def _frequency_row(row: pd.Series | Mapping[str, Any] | None, choice: Any, n: int, count: int | None = None,
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
            given = _given_text(data[question.name])  # the three columns taken, not the rows of all
            parts.append(pd.DataFrame({
                "questionnaire": qid, "question": question.name, "label_zh": question.label.zh,
                "interview_id": data["interview_id"].to_numpy()[given],
                "district": data[DOMAIN_COLUMN].to_numpy()[given] if DOMAIN_COLUMN in data.columns else None,
                "answer": data[question.name].to_numpy()[given]}, columns=columns))
    parts = [part for part in parts if len(part)]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)


@functools.lru_cache(maxsize=1)
def _versions() -> str:
    """The software versions (read once: the running code does not change under the process)."""
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
             source: str, wave: str | None, exclusions: Exclusions | None,
             demonstration: bool) -> pd.DataFrame:
    from survey_app.demo import demo_interviews

    level = f"{settings.level:.10g}"
    rows: list[tuple[str, str]] = []
    if demonstration:
        demo = int(demo_interviews(responses).sum())
        rows.append(("演示数据 DEMONSTRATION",
                     "演示用，非真实调查，不得发布。 For demonstration only, not a real survey; do not publish: "
                     + "; ".join(part for part in (
                         f"{demo} synthetic demonstration interview(s)" if demo else "",
                         "demonstration population margins (derived under assumptions)"
                         if settings.demonstration_margins else "") if part)))
    rows += [
        ("报告生成时间 Report created (UTC)", f"{created_at:%Y-%m-%d %H:%M:%S}"),
        ("数据提取时间 Data extracted (UTC)", f"{extracted_at:%Y-%m-%d %H:%M:%S}"),
        ("数据来源 Data source", source or "(not recorded)"),
        ("调查轮次 Wave", wave or "all waves pooled"),
        ("样本设计 Design",
         f"stratified cluster sample: strata = {STRATA_COLUMN} (the interview's district), PSU = {PSU_COLUMN} "
         f"(nested in strata); respondents = submitted interviews with consent (awaiting review or approved; "
         f"rejected and voided interviews are left out); Taylor linearisation variance "
         f"(as R's survey package); lonely PSUs: {settings.lonely_psu}"),
        ("基础权重 Base weights", _weights_text(responses)),
        ("有限总体校正 Finite population correction", _fpc_text(responses, designs)),
        ("加权调整 Weighting", settings.describe_weighting()),
    ]
    if exclusions is not None:
        by_questionnaire = [f"; {qid}: {exclusions.describe(qid)}"
                            for qid in exclusions.to_frame()["questionnaire_id"].unique()]
        rows.append(("审核剔除 Excluded after review",
                     f"{exclusions.total} submitted interview(s) left out of the estimates"
                     + "".join(by_questionnaire)))
    # demonstration margins are never shown as plain figures
    kind = "演示边际 DEMONSTRATION margin" if settings.demonstration_margins else "总体边际 Margin"
    if settings.margins_source:
        rows.append(("总体边际来源 Margins source", settings.margins_source))
    for var, cats in settings.margins.items():
        rows.append((f"{kind}: {var}", ("(demonstration, not official) " if settings.demonstration_margins else "")
                     + "; ".join(f"{cat} = {count:,.10g}" for cat, count in cats.items())))
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
    versions = pd.Series(dtype=object)
    if "questionnaire_version" in responses.columns:
        given = responses["questionnaire_version"].notna()
        versions = responses.loc[given, "questionnaire_version"].astype(str).groupby(
            responses.loc[given, "questionnaire_id"]).unique()
    for qid, (submitted, consenting) in counts.items():
        design = designs.get(qid)
        used = sorted({str(v) for v in versions.get(qid, [])})
        rows.append((f"问卷 Questionnaire {qid}",
                     f"{submitted} submitted interviews, {consenting} with consent"
                     + (f"; versions {', '.join(used)}" if used else "")
                     + (f"; design: {design.describe()}; df = {design.degf}" if design is not None else "")))
    return pd.DataFrame(rows, columns=["item", "value"])


def _weights_text(responses: pd.DataFrame) -> str:
    if _ASSIGNED_COLUMN in responses.columns and responses[_ASSIGNED_COLUMN].notna().any():
        given = responses[_ASSIGNED_COLUMN].notna()
        text = ("design weights of the sample assignments stored for the wave (1 / (PSU inclusion probability "
                "x within-PSU selection probability), from the planning page)")
        if not given.all() and "wave" in responses.columns:
            waves = sorted(responses.loc[~given, "wave"].astype(str).unique())
            text += f"; waves without stored assignments ({', '.join(waves)}): 1 per interview"
        return text
    if WEIGHT_COLUMN in responses.columns and responses[WEIGHT_COLUMN].notna().any():
        return f"the '{WEIGHT_COLUMN}' column"
    return "1 per interview (equal weights)"


def _fpc_text(responses: pd.DataFrame, designs: Mapping[str, SurveyDesign]) -> str:
    if FPC_COLUMN not in responses.columns or responses[FPC_COLUMN].isna().all():
        return "none: PSUs treated as drawn with replacement (no stored sample assignments)"
    used = [qid for qid, design in designs.items() if _has_fpc(design.data)]
    without = [qid for qid in designs if qid not in used]
    text = ("PSUs in the district's sampling frame, from the stored sample assignments (as R's "
            "svydesign(fpc = ~fpc))") if used else "none"
    if without:
        text += (f"; not applied to {', '.join(without)}: some of their interviews have no frame size (waves "
                 "without stored assignments), so their PSUs are treated as drawn with replacement")
    return text


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
