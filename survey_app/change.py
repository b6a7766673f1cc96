"""Has it changed, and where does it differ: the change of every target between two waves, and
every district against the rest of the city (issue 15).

:func:`wave_changes` stacks the waves' respondents of each questionnaire into one design
(:func:`analysis.stack_waves`: strata = wave x district, PSUs of different waves kept apart, each
wave with its own base weights and fpc and, when the report calibrates, raked to its own
margins), and estimates every target's change between consecutive waves, city-wide and in every
domain, with its SE, t interval and p-value (:func:`analysis.wave_change`: R's ``svycontrast`` on
``svyby(~y, ~wave, des, svymean, covmat = TRUE)`` of the stacked design). District changes are
Holm-adjusted over the districts of a target; a city-wide change is one comparison.

A change is **not computed** where it would mislead, and the table says why (``status``):

- ``definition changed``: the target's question was asked in other words, with other answer
  codes, or of other respondents (its skip logic) in the questionnaire versions of the two waves
  (:func:`definition_changes`; the versions are the ones stored with each interview);
- ``too few``: a wave has fewer respondents than an estimate needs
  (:func:`analysis.targets.sample_needed`, the report's small-sample rule);
- ``no data``: a wave has no respondents for it.

:func:`district_comparisons` compares every district with the rest of the city in the report's
own wave (:meth:`analysis.SurveyDesign.compare`, Holm by default), leaving out districts with
too few respondents. :func:`with_comparisons` adds both tables to a
:class:`~survey_app.reporting.ReportTables` (the workbook's "变化 Change" and "区县比较 District
comparison" sheets); :func:`change_text` words one change for the dashboard.

No Streamlit here: the dashboard, the workbook and ``survey-toolkit compare`` read these tables.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis import OVERALL, stack_waves, wave_change
from analysis.design.comparisons import p_adjust
from analysis.errors import SurveyError
from analysis.targets import (Target, _skip_logic_inputs, check_target, load_targets, sample_needed,
                              target_indicators)
from survey_app.errors import SurveyAppError
from survey_app.formatting import format_percent, format_points
from survey_app.i18n import register, t
from survey_app.reporting import (DOMAIN_COLUMN, DOMAIN_VARIABLES, FPC_COLUMN, PSU_COLUMN, STRATA_COLUMN,
                                  WEIGHT_COLUMN, ReportSettings, ReportTables, _base_weights, target_column, waves_of)

if TYPE_CHECKING:  # pragma: no cover
    from questionnaires import Questionnaire

__all__ = ["ChangeError", "CHANGE_COLUMNS", "COMPARISON_COLUMNS", "STATUSES", "ASPECTS", "wave_changes",
           "district_comparisons", "with_comparisons", "stacked_design", "definition_changes", "library_versions",
           "previous_wave", "change_text", "reason_text", "change_counts"]

#: Columns of :func:`wave_changes` (one row per target, domain and pair of consecutive waves).
CHANGE_COLUMNS = ("target", "kind", "label_zh", "label_en", "statistic", "domain_variable", "domain", "domain_zh",
                  "domain_en", "wave_a", "estimate_a", "wave_b", "estimate_b", "difference", "se", "ci_low",
                  "ci_high", "df", "p_value", "p_adjusted", "significant", "direction", "n_a", "n_b",
                  "n_needed_a", "n_needed_b", "status", "changed", "reason")
#: Columns of :func:`district_comparisons` (one row per target and district).
COMPARISON_COLUMNS = ("target", "label_zh", "label_en", "statistic", "district", "district_zh", "district_en",
                      "estimate", "rest_estimate", "difference", "se", "ci_low", "ci_high", "df", "p_value",
                      "p_adjusted", "significant", "n", "n_rest", "adjust", "status", "reason")
#: ``status`` of a row: computed, or why not.
STATUSES = ("compared", "definition changed", "too few", "no data")
#: What of a target's definition can change between questionnaire versions (``changed``).
ASPECTS = ("question", "wording", "answers", "asked")

_WAVE = "_wave"   # the stacked design's wave column (the responses' own "wave" stays as it is)

register(
    "change",
    {
        "since": {"zh": "较 {wave} 轮", "en": "Since wave {wave}"},
        "line": {
            "zh": "{since}：{difference}（{level} 置信区间 {low} 至 {high}），{verdict}",
            "en": "{since}: {difference} ({level} CI {low} to {high}), {verdict}",
        },
        "up": {"zh": "显著上升", "en": "a significant rise"},
        "down": {"zh": "显著下降", "en": "a significant fall"},
        "flat": {"zh": "变化不显著（可能只是抽样误差）", "en": "not significant (may be sampling noise)"},
        "not_compared": {"zh": "未与 {wave} 轮比较：{reason}", "en": "Not compared with wave {wave}: {reason}"},
        "reason_definition": {
            "zh": "两轮之间该指标的定义有变（{aspects}）",
            "en": "the target's definition changed between the waves ({aspects})",
        },
        "aspect_question": {"zh": "题目不存在", "en": "question missing"},
        "aspect_wording": {"zh": "题目措辞", "en": "question wording"},
        "aspect_answers": {"zh": "答案选项", "en": "answer codes"},
        "aspect_asked": {"zh": "询问对象", "en": "who is asked"},
        "reason_too_few": {
            "zh": "{wave} 轮受访者太少（n = {n}，约需 {needed}）",
            "en": "too few respondents in wave {wave} (n = {n} of the ~{needed} needed)",
        },
        "reason_no_data": {"zh": "{wave} 轮没有受访者", "en": "no respondents in wave {wave}"},
        "district_title": {"zh": "各区县与全市其余地区的差异", "en": "Each district against the rest of the city"},
        "district_note": {
            "zh": "差异 = 该区县减去全市其余地区；横线为 {level} 置信区间。p 值按 {method} 方法做多重比较校正，"
            "着色者为校正后显著。{left_out}",
            "en": "Difference = the district minus the rest of the city; bars are {level} confidence intervals. "
            "p-values adjusted for multiple comparisons ({method}); coloured districts differ significantly after "
            "adjustment. {left_out}",
        },
        "district_left_out": {"zh": "受访者太少未比较：{names}。", "en": "Too few respondents to compare: {names}."},
        "district_none": {
            "zh": "各区县受访者都太少，无法比较。", "en": "Every district has too few respondents to compare.",
        },
    },
)


class ChangeError(SurveyAppError, ValueError):
    """Waves or domains that cannot be compared; the message names the argument and the values that exist."""


# -- definitions of targets across questionnaire versions -----------------------------------

def _definition(target: Target, form: Questionnaire) -> dict[str, Any]:
    """What a target means in one questionnaire version, aspect by aspect (:data:`ASPECTS`)."""
    names = {q.name for q in form.questions}
    if target.question not in names:
        return {"question": False}
    question = form.question(target.question)
    answers = tuple((c.name, c.label.zh, c.label.get("en")) for c in form.choices(question)) \
        if question.list_name else None
    return {"question": True,
            "wording": (question.label.zh, question.label.get("en"), question.type),
            "answers": answers,
            "asked": (question.relevant, tuple(group.relevant for group in form.parents(question)))}


def definition_changes(responses: pd.DataFrame, *, waves: Sequence[str], targets: Sequence[Target],
                       versions: Callable[[str, str], Questionnaire | None]) -> dict[str, tuple[str, ...]]:
    """The aspects (:data:`ASPECTS`) of each target's definition that differ between the
    questionnaire versions of the interviews of ``waves`` (targets whose definition is the same
    in every version used are left out).

    ``versions(questionnaire_id, version)`` gives a stored version (None when it is not known:
    its interviews are not checked). Interviews without a recorded version are not checked either.
    """
    if "questionnaire_version" not in responses.columns:
        return {}
    labels = responses["wave"].astype(str).to_numpy()
    chosen = np.isin(labels, list(waves))
    used = responses.loc[chosen, ["questionnaire_id", "questionnaire_version"]].dropna().drop_duplicates()
    forms: dict[str, list[Questionnaire]] = {}
    for qid, version in used.itertuples(index=False):
        form = versions(qid, str(version))
        if form is not None:
            forms.setdefault(qid, []).append(form)
    out = {}
    for target in targets:
        seen = [_definition(target, form) for form in forms.get(target.questionnaire, [])]
        changed = tuple(aspect for aspect in ASPECTS
                        if len({repr(d.get(aspect)) for d in seen}) > 1)
        if changed:
            out[target.id] = ("question",) if "question" in changed else changed
    return out


def library_versions(url: str) -> Callable[[str, str], Questionnaire | None]:
    """A lookup of the questionnaire versions stored in the database at ``url`` (shipped and
    uploaded: :class:`survey_app.review.QuestionnaireLibrary`), None for an unknown version."""
    from survey_app.review import InvalidReviewError, questionnaire_library

    library = questionnaire_library(url)

    def lookup(qid: str, version: str) -> Questionnaire | None:
        try:
            return library.questionnaire(qid, version)
        except InvalidReviewError:
            return None

    return lookup


def _shipped_versions(questionnaires: Mapping[str, Questionnaire]) -> Callable[[str, str], Questionnaire | None]:
    def lookup(qid: str, version: str) -> Questionnaire | None:
        form = questionnaires.get(qid)
        return form if form is not None and form.version == version else None

    return lookup


# -- change between waves ----------------------------------------------------------------------

def previous_wave(responses: pd.DataFrame, wave: str | None) -> str | None:
    """The stored wave before ``wave`` (:func:`~survey_app.reporting.waves_of` order), None if none."""
    stored = waves_of(responses)
    if wave is None or wave not in stored or stored.index(wave) == 0:
        return None
    return stored[stored.index(wave) - 1]


def _check_waves(responses: pd.DataFrame, waves: Sequence[str]) -> list[str]:
    stored = waves_of(responses)
    shown = ", ".join(stored) or "none"
    if isinstance(waves, str) or not isinstance(waves, Sequence):
        raise ChangeError(f"waves={waves!r}: give a list of waves, e.g. {stored[-2:]!r} (waves stored: {shown})")
    waves = [str(w) for w in waves]
    unknown = [w for w in waves if w not in stored]
    if unknown:
        raise ChangeError(f"waves: {', '.join(unknown)} not stored; waves stored: {shown}")
    if len(waves) < 2 or len(set(waves)) != len(waves):
        raise ChangeError(f"waves {' '.join(waves) or '(none)'}: a change needs two different waves; "
                          f"waves stored: {shown}")
    return waves


def _check_domains(responses: pd.DataFrame, domains: Sequence[str]) -> tuple[str, ...]:
    domains = (domains,) if isinstance(domains, str) else tuple(domains)
    known = [d for d in DOMAIN_VARIABLES if d in responses.columns]
    bad = [d for d in domains if d not in known]
    if bad or len(set(domains)) != len(domains):
        raise ChangeError(f"domains: {', '.join(map(str, bad or domains))} not usable; domain variables in the "
                          f"data: {', '.join(known) or 'none'} (name each once)")
    return domains


def _domain_labels(variable: str, forms: Sequence[Questionnaire]) -> dict[str, tuple[str, str]]:
    if variable == DOMAIN_COLUMN:
        from questionnaires import load_districts

        return {c.name: (c.label.zh, c.label.get("en")) for c in load_districts()}
    for form in forms:
        if variable in {q.name for q in form.questions} and form.question(variable).list_name:
            return {c.name: (c.label.zh, c.label.get("en")) for c in form.choices(variable)}
    return {}


def wave_changes(responses: pd.DataFrame, *, waves: Sequence[str], settings: ReportSettings | None = None,
                 targets: Sequence[Target] | None = None,
                 questionnaires: Mapping[str, Questionnaire] | None = None,
                 domains: Sequence[str] = (DOMAIN_COLUMN,),
                 versions: Callable[[str, str], Questionnaire | None] | None = None) -> pd.DataFrame:
    """Every target's change between consecutive ``waves``, city-wide and in each domain.

    Parameters
    ----------
    responses : pandas.DataFrame
        As ``ResponseStore.responses_frame`` (every wave; with the stored design weights, as
        :func:`survey_app.reporting.with_stored_design_weights` gives them).
    waves : sequence of str
        Two or more stored waves, in order; each is compared with the one before it.
    settings : ReportSettings, optional
        The report's level, interval method, weighting and margins (each wave is raked or
        post-stratified to the margins on its own, as the report of that wave alone).
    targets, questionnaires
        As :func:`survey_app.reporting.build_report`.
    domains : sequence of str, default ("district",)
        Breakdowns (:data:`~survey_app.reporting.DOMAIN_VARIABLES`); () for city-wide only.
    versions : callable, optional
        ``(questionnaire_id, version) -> Questionnaire or None``: the questionnaire versions of
        the interviews (:func:`library_versions`); default: the given questionnaires' own versions.

    Returns
    -------
    pandas.DataFrame
        :data:`CHANGE_COLUMNS`: ``difference`` = ``estimate_b - estimate_a`` with its SE, t
        interval on the stacked design's degrees of freedom and two-sided ``p_value``;
        ``p_adjusted`` (Holm over the domains of one variable; the city-wide row is one
        comparison); ``significant`` (``p_adjusted < 1 - level``); ``direction`` ("up", "down",
        "no change", or "" when not compared); ``status`` (:data:`STATUSES`) with ``changed``
        (the aspects of a changed definition, comma separated) and ``reason`` (in English).
        Rows that are not compared have no numbers but the estimates they have.

    Raises
    ------
    ChangeError
        An unknown wave, a single wave, a wave named twice, or a domain variable not in the data;
        the message lists the waves stored or the domain variables present.

    Examples
    --------
    >>> wave_changes(frame, waves=["2025", "2026"], settings=ReportSettings())   # doctest: +SKIP
    >>> # In R: st <- rbind(w2025, w2026); des <- svydesign(ids = ~interaction(wave, psu),
    >>> #   strata = ~interaction(wave, sample_district), weights = ~w, data = st)
    >>> # svycontrast(svyby(~y, ~wave, des, svymean, covmat = TRUE), c(-1, 1))
    """
    settings = settings or ReportSettings()
    if questionnaires is None:
        from questionnaires import shipped_questionnaires

        questionnaires = shipped_questionnaires()
    targets = tuple(targets) if targets is not None else load_targets(questionnaires=questionnaires)
    for target in targets:
        check_target(target, questionnaires)
    if "wave" not in responses.columns:
        raise ChangeError("the responses have no wave column; pass ResponseStore.responses_frame()")
    waves = _check_waves(responses, waves)
    domains = _check_domains(responses, domains)
    versions = versions or _shipped_versions(questionnaires)
    changed = definition_changes(responses, waves=waves, targets=targets, versions=versions)
    labels = responses["wave"].astype(str).to_numpy()
    qids = responses["questionnaire_id"].to_numpy()
    responses = _read_columns(responses, targets, questionnaires, [*domains, *settings.margins])
    consenting = (responses["consent"] == "yes").to_numpy() if "consent" in responses.columns else True
    forms = list(questionnaires.values())
    domain_labels = {d: _domain_labels(d, forms) for d in domains}
    rows: list[dict[str, Any]] = []
    for qid in dict.fromkeys(target.questionnaire for target in targets):
        own = [target for target in targets if target.questionnaire == qid]
        picked = np.flatnonzero(np.isin(labels, waves) & (qids == qid) & consenting)
        # no respondent in any of the waves: the frame may not even have the questionnaire's columns
        data = _respondents(responses.iloc[picked], own, questionnaires[qid]) if len(picked) else None
        present = set() if data is None else set(data[_WAVE])
        design = _stacked(data, own, domains, settings) if present.issuperset(waves) else None
        for target in own:
            rows.extend(_target_rows(design, target, waves, domains, domain_labels, settings,
                                     changed.get(target.id, ()), data))
    return pd.DataFrame(rows, columns=list(CHANGE_COLUMNS))


def _read_columns(responses: pd.DataFrame, targets: Sequence[Target], questionnaires: Mapping[str, Questionnaire],
                  extra: Sequence[str]) -> pd.DataFrame:
    """Only the answers the targets read (their questions and the skip logic before them), ``extra``
    and the design's columns: the stacked design then copies a few columns, not the questionnaire."""
    read = {"consent", *extra, "questionnaire_id", "questionnaire_version", "wave", STRATA_COLUMN, PSU_COLUMN,
            FPC_COLUMN, WEIGHT_COLUMN}
    for target in targets:
        form = questionnaires[target.questionnaire]
        read |= {target.question, *_skip_logic_inputs(form, [form.question(target.question)])}
    return responses[[c for c in responses.columns if c in read]]


def stacked_design(responses: pd.DataFrame, *, questionnaire: str, waves: Sequence[str],
                   settings: ReportSettings | None = None,
                   questionnaires: Mapping[str, Questionnaire] | None = None,
                   variables: Sequence[str] = (), domains: Sequence[str] = DOMAIN_VARIABLES):
    """One questionnaire's respondents of ``waves`` stacked into one design, as :func:`wave_changes`
    builds it: the targets' indicators (:func:`survey_app.reporting.target_column`), ``variables``
    (question columns, e.g. numeric answers) and the ``domains`` present, the wave in ``_wave``
    (and, as stored, in ``wave``). None when a wave has no consenting respondents.

    Raises
    ------
    ChangeError
        Waves that are not stored, a single wave.
    """
    settings = settings or ReportSettings()
    if questionnaires is None:
        from questionnaires import shipped_questionnaires

        questionnaires = shipped_questionnaires()
    waves = _check_waves(responses, waves)
    own = [target for target in load_targets(questionnaires=questionnaires) if target.questionnaire == questionnaire]
    domains = [d for d in domains if d in responses.columns]
    chosen = _read_columns(responses, own, questionnaires, [*domains, *variables, *settings.margins])
    rows = np.isin(chosen["wave"].astype(str).to_numpy(), waves) \
        & (chosen["questionnaire_id"] == questionnaire).to_numpy()
    if "consent" in chosen.columns:
        rows &= (chosen["consent"] == "yes").to_numpy()
    if not rows.any():
        return None
    data = _respondents(chosen.iloc[np.flatnonzero(rows)], own, questionnaires[questionnaire])
    if not set(data[_WAVE]).issuperset(waves):
        return None
    return _stacked(data, own, [*domains, *variables, "wave"], settings)


def _respondents(picked: pd.DataFrame, targets: Sequence[Target], form: Questionnaire) -> pd.DataFrame:
    """The consenting respondents of one questionnaire in the waves compared, as the report's designs
    hold them: each wave's base weights (``_weight``, :func:`survey_app.reporting.respondent_designs`'
    rule), the targets' indicators (:func:`survey_app.reporting.target_column`) and the wave (``_wave``)."""
    data = picked.reset_index(drop=True)
    waves = data["wave"].astype(str)
    weights = pd.Series(1.0, index=data.index)
    for wave in waves.unique():   # each wave by the rule of its own report (stored weights, or 1)
        rows = (waves == wave).to_numpy()
        weights[rows] = _base_weights(data.loc[rows], form.id)
    indicators = target_indicators(data, targets=targets, questionnaire=form)
    extra = pd.DataFrame({_WAVE: waves.to_numpy(), "_weight": weights.to_numpy(),
                          **{target_column(t.id): indicators[t.id].to_numpy() for t in targets}}, index=data.index)
    return pd.concat([data, extra], axis=1)


def _stacked(data: pd.DataFrame, targets: Sequence[Target], domains: Sequence[str], settings: ReportSettings):
    """The waves' respondents of one questionnaire stacked into one design, calibrated as the report."""
    calibrate = settings.weighting != "none" and (settings.calibrate is None
                                                   or targets[0].questionnaire in settings.calibrate)
    # the report's fpc where every respondent has one (a wave without stored assignments has none)
    fpc = FPC_COLUMN in data.columns and bool(data[FPC_COLUMN].notna().all())
    keep = [_WAVE, "_weight", STRATA_COLUMN, PSU_COLUMN, *([FPC_COLUMN] if fpc else []), *domains,
            *(settings.margins if calibrate else ()), *(target_column(t.id) for t in targets)]
    frame = data[list(dict.fromkeys(c for c in keep if c in data.columns))]
    margins = {wave: settings.margins for wave in pd.unique(frame[_WAVE])} if calibrate else None
    return stack_waves(frame, wave=_WAVE, weights="_weight", strata=STRATA_COLUMN, psu=PSU_COLUMN,
                       fpc=FPC_COLUMN if fpc else None, nest=True, lonely_psu=settings.lonely_psu, margins=margins)


def _target_rows(design, target: Target, waves: Sequence[str], domains: Sequence[str],
                 domain_labels: Mapping[str, Mapping[str, tuple[str, str]]], settings: ReportSettings,
                 changed: tuple[str, ...], data: pd.DataFrame | None) -> list[dict[str, Any]]:
    base = {"target": target.id, "kind": "target", "label_zh": target.label.zh, "label_en": target.label.get("en"),
            "statistic": target.statistic}
    pairs = list(zip(waves[:-1], waves[1:]))
    out = []
    for variable in (None, *domains):
        # every domain of the questionnaire's labels, and any other value in the data
        codes = [OVERALL] if variable is None else list(domain_labels[variable])
        found = {}
        if design is not None:
            try:
                found = _changes(design, target, waves, variable, settings)
            except SurveyError:     # e.g. no domain with respondents in two of the waves
                found = {}
            if variable is not None:
                codes += sorted({key[2] for key in found} - set(codes), key=str)
        rows = []
        for a, b in pairs:
            for code in codes:
                names = (("全市", "Nantong (all districts)") if variable is None
                         else domain_labels[variable].get(code, (str(code), str(code))))
                row = {**base, "domain_variable": variable or "overall", "domain": code, "domain_zh": names[0],
                       "domain_en": names[1], "wave_a": a, "wave_b": b}
                rows.append(_judged(row, found.get((a, b, code)), changed, target, data, variable, code))
        compared = np.array([r["status"] == "compared" for r in rows])
        p = np.array([r["p_value"] if c else np.nan for r, c in zip(rows, compared)], dtype=float)
        # Holm over the domains of one variable and pair of waves; the city-wide row is one comparison
        for a, b in pairs:
            mine = np.array([(r["wave_a"], r["wave_b"]) == (a, b) for r in rows])
            adjusted = p_adjust(np.where(mine, p, np.nan), "none" if variable is None else "holm")
            for i in np.flatnonzero(mine & compared):
                significant = bool(adjusted[i] < 1 - settings.level)
                rows[i].update(p_adjusted=float(adjusted[i]), significant=significant,
                               direction=("up" if rows[i]["difference"] > 0 else "down") if significant
                               else "no change")
        out.extend(rows)
    return out


def _changes(design, target: Target, waves: Sequence[str], variable: str | None,
             settings: ReportSettings) -> dict[tuple, pd.Series]:
    result = wave_change(design, target_column(target.id), wave=_WAVE, waves=list(waves), by=variable,
                         statistic=target.statistic, level=settings.level,
                         ci_method=settings.ci_method if target.statistic == "proportion" else None,
                         deff="replace")
    table = result.to_frame()
    if variable is None:
        return {(a, b, OVERALL): row for (a, b), row in table.iterrows()}
    return {(a, b, code): row for (a, b, code), row in table.iterrows()}


def _judged(row: dict[str, Any], found: pd.Series | None, changed: tuple[str, ...], target: Target,
            data: pd.DataFrame | None, variable: str | None, code: Any) -> dict[str, Any]:
    empty = {"estimate_a": np.nan, "estimate_b": np.nan, "difference": np.nan, "se": np.nan, "ci_low": np.nan,
             "ci_high": np.nan, "df": np.nan, "p_value": np.nan, "p_adjusted": np.nan, "significant": False,
             "direction": "", "n_a": 0, "n_b": 0, "n_needed_a": np.nan, "n_needed_b": np.nan, "changed": "",
             "reason": ""}
    row.update(empty)
    if found is None:
        missing = _wave_without(row, data, target, variable, code)
        row.update(status="no data", reason=f"no respondents in wave {missing}")
        return row
    needed_a = sample_needed(int(found["n_a"]), float(found["deff_a"]))
    needed_b = sample_needed(int(found["n_b"]), float(found["deff_b"]))
    row.update(estimate_a=float(found["estimate_a"]), estimate_b=float(found["estimate_b"]),
               n_a=int(found["n_a"]), n_b=int(found["n_b"]), n_needed_a=needed_a, n_needed_b=needed_b)
    if changed:
        row.update(status="definition changed", changed=", ".join(changed),
                   reason=f"the target's definition changed between the waves ({', '.join(changed)})")
        return row
    for side in ("a", "b"):
        if row[f"n_{side}"] < row[f"n_needed_{side}"]:
            # no estimate of a wave with too few respondents is shown either
            row.update(status="too few", estimate_a=np.nan, estimate_b=np.nan,
                       reason=f"too few respondents in wave {row[f'wave_{side}']} (n = {row[f'n_{side}']} of the "
                              f"~{row[f'n_needed_{side}']} needed)")
            return row
    row.update(status="compared", difference=float(found["difference"]), se=float(found["se"]),
               ci_low=float(found["ci_low"]), ci_high=float(found["ci_high"]), df=float(found["df"]),
               p_value=float(found["p_value"]))
    return row


def _wave_without(row: Mapping[str, Any], data: pd.DataFrame | None, target: Target, variable: str | None,
                  code: Any) -> str:
    """The first wave of the pair without respondents to the target (in the domain)."""
    if data is None:
        return row["wave_a"]
    given = data[target_column(target.id)].notna()
    if variable is not None:
        given &= data[variable].astype(str) == str(code)
    for wave in (row["wave_a"], row["wave_b"]):
        if not (given & (data[_WAVE] == wave)).any():
            return wave
    return row["wave_a"]


def _index_rows(trend: pd.DataFrame, waves: Sequence[str], level: float) -> list[dict[str, Any]]:
    """The plan's indices' change (:func:`survey_app.indices.index_changes`), city-wide, as change rows."""
    from survey_app.indices import index_changes

    changes = index_changes(trend[trend["wave"].isin(list(waves))], level=level)
    rows = []
    for row in changes[changes["row"] == "index"].to_dict("records"):
        if (row["from_wave"], row["to_wave"]) not in set(zip(waves[:-1], waves[1:])):
            continue
        p = float(2 * stats.t.sf(abs(row["change"] / row["se"]), row["df"])) if row["se"] > 0 else np.nan
        significant = bool(p < 1 - level)
        rows.append({"target": row["index"], "kind": "index", "label_zh": row["label_zh"],
                     "label_en": row["label_en"], "statistic": "index", "domain_variable": "overall",
                     "domain": OVERALL, "domain_zh": "全市", "domain_en": "Nantong (all districts)",
                     "wave_a": row["from_wave"], "estimate_a": row["before"], "wave_b": row["to_wave"],
                     "estimate_b": row["after"], "difference": row["change"], "se": row["se"],
                     "ci_low": row["ci_low"], "ci_high": row["ci_high"], "df": row["df"], "p_value": p,
                     "p_adjusted": p, "significant": significant,
                     "direction": ("up" if row["change"] > 0 else "down") if significant else "no change",
                     "n_a": np.nan, "n_b": np.nan, "n_needed_a": np.nan, "n_needed_b": np.nan,
                     "status": "compared", "changed": "", "reason": ""})
    return rows


# -- districts against the rest of the city ------------------------------------------------------

def district_comparisons(tables: ReportTables, *, adjust: str = "holm") -> pd.DataFrame:
    """Every target in every district against the rest of the city, in the report's wave.

    The district's estimate minus that of the other districts together, with its SE, t interval and
    p-value (R's ``svycontrast`` of ``svyby(~y, ~I(district == d), des, svymean, covmat = TRUE)``),
    p-values adjusted over the districts of a target (``adjust``, R's ``p.adjust``; Holm by
    default). Districts with too few respondents (the report's rule) are not compared and not
    counted in the adjustment; the rest of the city still includes them.

    Returns
    -------
    pandas.DataFrame
        :data:`COMPARISON_COLUMNS`, districts in the official order.
    """
    rows = []
    settings = tables.settings
    districts = tables.districts
    for target_id, head in tables.overview.iterrows():
        target = next(a.target for a in tables.assessments if a.target.id == target_id)
        domain = tables.domains[target_id]
        base = {"target": target_id, "label_zh": head["label_zh"], "label_en": head["label_en"],
                "statistic": head["statistic"], "adjust": adjust}
        design = tables.designs.get(target.questionnaire)
        table = None
        if design is not None:
            try:
                table = design.compare(target_column(target_id), DOMAIN_COLUMN, statistic=target.statistic,
                                       level=settings.level, adjust="none",
                                       ci_method=settings.ci_method if target.statistic == "proportion" else None
                                       ).to_frame()
            except SurveyError:   # e.g. a single district with respondents
                table = None
        part = []
        for code, names in districts.iterrows():
            row = {**base, "district": code, "district_zh": names["name_zh"], "district_en": names["name_en"],
                   "estimate": np.nan, "rest_estimate": np.nan, "difference": np.nan, "se": np.nan,
                   "ci_low": np.nan, "ci_high": np.nan, "df": np.nan, "p_value": np.nan, "p_adjusted": np.nan,
                   "significant": False, "n": 0, "n_rest": 0, "status": "no data", "reason": "no respondents"}
            if table is not None and code in table.index and table.loc[code, "n"] > 0:
                found = table.loc[code]
                row.update(n=int(found["n"]), n_rest=int(found["n_reference"]))
                if code in domain.index and bool(domain.loc[code, "too_few"]):
                    row.update(status="too few", reason=f"too few respondents (n = {row['n']} of the "
                                                        f"~{int(domain.loc[code, 'n_needed'])} needed)")
                else:
                    row.update({key: float(found[key]) for key in ("estimate", "difference", "se", "ci_low",
                                                                   "ci_high", "df", "p_value")},
                               rest_estimate=float(found["reference_estimate"]), status="compared", reason="")
            part.append(row)
        p = np.array([r["p_value"] for r in part], dtype=float)
        adjusted = p_adjust(p, adjust)
        for r, value in zip(part, adjusted):
            if r["status"] == "compared":
                r.update(p_adjusted=float(value), significant=bool(value < 1 - settings.level))
        rows.extend(part)
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))


def with_comparisons(tables: ReportTables, responses: pd.DataFrame, *,
                     questionnaires: Mapping[str, Questionnaire] | None = None,
                     versions: Callable[[str, str], Questionnaire | None] | None = None) -> ReportTables:
    """``tables`` with its district comparisons and, when its wave has a previous one in
    ``responses`` (every stored wave), the change of every target (and index, when the report
    has the indices' trend) since that wave, city-wide and by district."""
    tables = replace(tables, district_comparisons=district_comparisons(tables))
    before = previous_wave(responses, tables.wave)
    if before is None:
        return tables
    targets = [a.target for a in tables.assessments]
    changes = wave_changes(responses, waves=[before, tables.wave], settings=tables.settings, targets=targets,
                           questionnaires=questionnaires, domains=(DOMAIN_COLUMN,), versions=versions)
    if tables.index_trend is not None and len(tables.index_trend):
        extra = _index_rows(tables.index_trend, [before, tables.wave], tables.settings.level)
        if extra:
            changes = pd.concat([changes, pd.DataFrame(extra, columns=list(CHANGE_COLUMNS))], ignore_index=True)
    return replace(tables, changes=changes)


# -- in words --------------------------------------------------------------------------------------

def reason_text(row: Mapping[str, Any], lang: str) -> str:
    """Why a change was not computed, in the interface's language."""
    if row["status"] == "definition changed":
        aspects = [t(f"change.aspect_{a.strip()}", lang) for a in str(row["changed"]).split(",") if a.strip()]
        return t("change.reason_definition", lang, aspects=("、" if lang == "zh" else ", ").join(aspects))
    if row["status"] == "too few":
        side = "a" if row["n_a"] < row["n_needed_a"] else "b"
        return t("change.reason_too_few", lang, wave=row[f"wave_{side}"], n=int(row[f"n_{side}"]),
                 needed=f"{int(row[f'n_needed_{side}']):,}")
    reason = str(row.get("reason", ""))
    wave = reason.rsplit(" ", 1)[-1] if reason.startswith("no respondents in wave") else row["wave_a"]
    return t("change.reason_no_data", lang, wave=wave)


def _signed(value: float, statistic: str, lang: str) -> str:
    if statistic == "proportion":
        return format_points(value, lang)
    return t("wording.points", lang, value=f"{value:+.1f}")


def change_text(row: Mapping[str, Any], lang: str, *, level: float) -> str:
    """One change in words: the difference in (percentage) points with its interval and whether it
    is significant, or why it was not computed."""
    if row["status"] != "compared":
        return t("change.not_compared", lang, wave=row["wave_a"], reason=reason_text(row, lang))
    statistic = row["statistic"]
    low = f"{100 * row['ci_low']:+.1f}" if statistic == "proportion" else f"{row['ci_low']:+.1f}"
    high = f"{100 * row['ci_high']:+.1f}" if statistic == "proportion" else f"{row['ci_high']:+.1f}"
    verdict = {"up": "change.up", "down": "change.down"}.get(row["direction"], "change.flat")
    return t("change.line", lang, since=t("change.since", lang, wave=row["wave_a"]),
             difference=_signed(row["difference"], statistic, lang), level=format_percent(level, decimals=0),
             low=low, high=high, verdict=t(verdict, lang))


def change_counts(changes: pd.DataFrame) -> dict[str, int]:
    """City-wide target changes by direction: ``up``, ``down``, ``no change`` and ``not compared``."""
    overall = changes[(changes["domain_variable"] == "overall")]
    counts = {"up": 0, "down": 0, "no change": 0, "not compared": 0}
    for status, direction in zip(overall["status"], overall["direction"]):
        counts[direction if status == "compared" else "not compared"] += 1
    return counts
