"""What the results pages (dashboard, statistics, frequencies) share: the statistician's
settings, cached reports, the Excel download and the demonstration data.

Every number comes from :func:`survey_app.reporting.build_report`. Reports are cached per
data version (count and last change of the stored interviews), wave and settings, so moving
between pages recomputes nothing; a new or changed interview changes the version.

The pages read one database: the real one, or, while the statistician has "show
demonstration data" on (:func:`showing_demo`), the demo database beside it
(:func:`survey_app.demo.demo_database_url`) and nothing else: :func:`results_url` says which,
and every page, chart, table and download of the results goes through it. The switch is
there whatever the real database holds; the demo is loaded and removed with one button each.
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass, field, replace
from datetime import datetime
from collections.abc import Mapping
from typing import Literal, get_args

import altair as alt
import pandas as pd
import streamlit as st
from sqlalchemy.engine import make_url

from analysis import CI_METHODS, OVERALL, SurveyDesign
from analysis.errors import SurveyError
from analysis.targets import load_targets
from questionnaires import Questionnaire, shipped_questionnaires
from survey_app.assignments import get_assignment_store
from survey_app.auth import audit, authorize, current_user, minimise_personal_data
from survey_app.demo import (DEMO_INTERVIEWER_PREFIX, DEMO_WAVES, PSUS_PER_SURVEY, RESPONDENTS_PER_PSU, DemoError,
                             demo_database_exists, demo_database_url, is_demo_interviewer, load_demo_database,
                             remove_demo, without_mixed_demo)
from survey_app.formatting import format_percent
from survey_app.i18n import register, t
from survey_app.margins import MARGIN_VARIABLES, MarginsStore, PopulationMargins
from survey_app.reporting import (DOMAIN_VARIABLE_LABELS, DOMAIN_VARIABLES, ReportSettings, ReportTables, build_report, choice_column,
                                  index_trend, latest_wave, margins_source, report_file_name, target_trend, waves_of,
                                  with_stored_design_weights)
from survey_app.review import available_questionnaires, excluded_interviews
from survey_app.store import ResponseStore, default_url, display_url
from survey_app.ui import get_store, md_text

__all__ = [
    "choose_wave",
    "CONFIDENCE_LEVELS",
    "NON_RESIDENT_SURVEYS",
    "WEIGHTINGS",
    "ResultsSettings",
    "Weighting",
    "FREQUENCY_COLUMNS",
    "current_settings",
    "design",
    "data_version",
    "demo_banner",
    "demo_offer",
    "excel_download",
    "current_questionnaires",
    "frequency",
    "frequency_table",
    "indices_over_waves",
    "get_margins_store",
    "report",
    "report_settings",
    "responses",
    "results_settings",
    "results_store",
    "results_url",
    "showing_demo",
    "stored_responses",
    "trend",
    "save_settings",
    "selected_margins",
    "settings_caption",
    "show_chart",
    "show_analysis_error",
    "waves",
    "weight_summary",
    "wave_change_table",
    "districts_against_rest",
    "stacked",
    "stored_waves",
]

Weighting = Literal["design", "poststratify", "rake"]
WEIGHTINGS: tuple[str, ...] = get_args(Weighting)
CONFIDENCE_LEVELS: tuple[float, ...] = (0.8, 0.9, 0.95, 0.99)
#: Surveys whose population is not the residents the margins describe (tourists are visitors),
#: so their weights are never calibrated to resident margins.
NON_RESIDENT_SURVEYS: tuple[str, ...] = ("tourist_satisfaction",)
_SETTINGS_KEY = "results_settings"
# Pixels Streamlit needs beside the plot for an x axis with title (see show_chart).
_AXIS_ROOM = 60
_DEMO_NOTICE = "results_demo_loaded"
# Whether the results pages show the demo database (kept apart from the switch widget, which
# leaves the session with its page).
_DEMO_VIEW = "results_demo_view"
_DEMO_SWITCH = "show_demo"

register(
    "results",
    {
        "empty_title": {"zh": "数据库中还没有已提交的访问", "en": "No submitted interviews yet"},
        "demo_title": {"zh": "演示数据尚未载入", "en": "The demonstration data are not loaded"},
        "empty_body": {
            "zh": "可以载入**演示数据**（合成数据，非真实调查）查看各页面的效果：南通 8 个区县、两轮调查"
            "（2025、2026）共 {n} 份合成访问，访问员代码以 {prefix} 开头；人口边际以 2020 年第七次人口普查"
            "各区县常住人口为基础，性别、年龄、城乡边际按说明中的假设推算，仅供演示。演示数据保存在单独的"
            "演示数据库中，与真实访问互不混合，可随时一键删除。",
            "en": "Load the **demonstration data** (synthetic, not a real survey) to see every page working: "
            "{n} synthetic interviews across Nantong's 8 districts in two waves (2025, 2026), interviewer "
            "codes starting with {prefix}; population margins built on the 2020 census district totals, with sex, "
            "age and urban/rural margins derived under stated assumptions, for demonstration only. They are kept "
            "in a demo database of their own, never mixed with real interviews, and removed with one click.",
        },
        "show_demo": {"zh": "显示演示数据", "en": "Show the demonstration data"},
        "show_demo_help": {
            "zh": "打开后，本页及所有结果页、图表和下载只读取单独的演示数据库（合成数据），不含任何真实访问；"
            "关闭后回到真实数据。",
            "en": "While on, this and every results page, chart and download read only the separate demo database "
            "(synthetic data), never a real interview; switch it off to return to the real data.",
        },
        "demo_view": {
            "zh": "**演示数据**：以下全部为合成的演示数据（{n} 份访问），不含任何真实访问，结果不代表真实调查。",
            "en": "**Demonstration data**: everything below is synthetic demonstration data ({n} interviews) "
            "without any real interview; the results describe no real survey.",
        },
        "remove_demo": {"zh": "删除演示数据", "en": "Remove the demonstration data"},
        "demo_removed": {
            "zh": "演示数据已删除（演示数据库{database}；真实数据库中旧版本载入的 {interviews} 份演示访问、"
            "{margins} 组演示边际）。真实访问未受影响。",
            "en": "The demonstration data were removed (demo database{database}; {interviews} demo interviews and "
            "{margins} demonstration margin sets an earlier version put into the real database). No real "
            "interview was touched.",
        },
        "demo_left_out": {
            "zh": "真实数据库中还有旧版本载入的 {n} 份演示访问（访问员代码 {prefix}…），已从所有统计中排除；"
            "可用下方按钮将其删除。",
            "en": "The real database still holds {n} demo interviews an earlier version loaded into it (interviewer "
            "codes {prefix}…); they are left out of every figure. Remove them with the button below.",
        },
        "demo_unavailable": {
            "zh": "此数据库没有可放置演示数据库的位置：{detail}",
            "en": "This database has no place for a demo database: {detail}",
        },
        "load_demo": {"zh": "载入演示数据", "en": "Load the demonstration data"},
        "loading_demo": {"zh": "正在生成并保存演示数据…", "en": "Generating and saving the demonstration data…"},
        "demo_loaded": {
            "zh": "已载入 {n} 份演示访问（用时 {seconds} 秒）。",
            "en": "{n} demonstration interviews loaded in {seconds} s.",
        },
        "demo_banner": {
            "zh": "当前数据为旧版本载入真实数据库的 {n} 份**演示访问**（合成数据，访问员代码 {prefix}…），"
            "结果不代表真实调查；可用下方按钮将其删除。",
            "en": "The data are {n} **demonstration interviews** an earlier version loaded into the real database "
            "(synthetic, interviewer codes {prefix}…); the results describe no real survey. Remove them with the "
            "button below.",
        },
        "computing": {"zh": "正在计算估计值…", "en": "Computing the estimates…"},
        "reading": {"zh": "正在读取已提交的访问…", "en": "Reading the submitted interviews…"},
        "wave": {"zh": "调查轮次", "en": "Survey wave"},
        "settings_caption": {
            "zh": "{level} 置信区间（{method}）；加权：{weighting}。",
            "en": "{level} confidence intervals ({method}); weighting: {weighting}.",
        },
        "settings_where": {"zh": "可在“统计分析”页更改。", "en": "Change them on the Statistics page."},
        "weighting_design": {"zh": "设计权数", "en": "design weights"},
        "weighting_poststratify": {"zh": "按区县事后分层", "en": "post-stratified by district"},
        "weighting_rake": {
            "zh": "按人口边际（{variables}）迭代加权",
            "en": "raked to population margins ({variables})",
        },
        "demo_margins_used": {
            "zh": "所用人口边际为**演示用**（由普查区县总数按假设推算），不得用于正式发布。",
            "en": "The population margins used are **for demonstration** (derived from census district totals "
            "under assumptions) and must not be used for published results.",
        },
        "no_margins": {
            "zh": "尚未上传人口边际，已改用设计权数。请在“统计分析”页上传。",
            "en": "No population margins have been uploaded, so design weights are used. Upload them on the "
            "Statistics page.",
        },
        "analysis_error": {
            "zh": "按当前设置无法计算：{detail}",
            "en": "The estimates cannot be computed with these settings: {detail}",
        },
        "excel": {"zh": "下载 Excel 报告", "en": "Download the Excel report"},
        "excel_help": {
            "zh": "含汇总、各区县判定、各目标明细、频数表与方法说明，数字与本页一致。",
            "en": "Summary, verdicts by district, a sheet per target, frequency tables and methods; the numbers "
            "are the ones shown here.",
        },
    },
)


@dataclass(frozen=True)
class ResultsSettings:
    """The statistician's choices, shared by the results pages of one browser session.

    Attributes
    ----------
    weighting : {"design", "poststratify", "rake"}
        Design weights; post-stratified to the district margin; raked to the margins of
        ``rake_variables``.
    rake_variables : tuple of str
        Margins used for raking (subset of :data:`~survey_app.margins.MARGIN_VARIABLES`).
    ci_method : str
        Interval of proportions (:data:`analysis.CI_METHODS`).
    level : float
        Confidence level.
    wave : str or None
        The wave reported; None: the latest stored wave.
    margins_id : int or None
        Saved margins to weight to; None: the latest saved set.
    domains : tuple of str
        Breakdowns of the target tables (:data:`~survey_app.reporting.DOMAIN_VARIABLES`); the
        report always has the districts (the dashboard and the workbook show them).
    """

    weighting: Weighting = "design"
    rake_variables: tuple[str, ...] = field(default=MARGIN_VARIABLES)
    ci_method: str = "logit"
    level: float = 0.95
    wave: str | None = None
    margins_id: int | None = None
    domains: tuple[str, ...] = ("district",)

    def __post_init__(self) -> None:
        if self.weighting not in WEIGHTINGS:
            raise ValueError(f"weighting={self.weighting!r} is not known; use one of {', '.join(WEIGHTINGS)}")
        unknown = [v for v in self.rake_variables if v not in MARGIN_VARIABLES]
        if unknown or not self.rake_variables:
            raise ValueError(
                f"rake_variables={self.rake_variables!r}: choose one or more of {', '.join(MARGIN_VARIABLES)}"
            )
        if self.ci_method not in CI_METHODS:
            raise ValueError(f"ci_method={self.ci_method!r} is not known; use one of {', '.join(CI_METHODS)}")
        unknown = [d for d in self.domains if d not in DOMAIN_VARIABLES]
        if unknown:
            raise ValueError(f"domains={self.domains!r}: choose among {', '.join(DOMAIN_VARIABLES)}")


def current_settings() -> ResultsSettings:
    """This session's settings (defaults until the statistician changes them)."""
    return st.session_state.get(_SETTINGS_KEY) or ResultsSettings()


def save_settings(settings: ResultsSettings) -> None:
    """Keep new settings for every results page of this session."""
    st.session_state[_SETTINGS_KEY] = settings


def showing_demo() -> bool:
    """Whether this session's results pages show the demo database ("show demonstration data")."""
    return bool(st.session_state.get(_DEMO_VIEW))


def _demo_url(url: str) -> str | None:
    """The demo database of the real database at ``url``; None where there can be none (in memory)."""
    try:
        return demo_database_url(url)
    except DemoError:
        return None


def results_url() -> str:
    """The one database the results pages read: the demo database while the statistician shows
    the demonstration data and it is loaded, else the real database."""
    url = default_url()
    demo = _demo_url(url)
    if demo is not None and showing_demo() and demo_database_exists(url):
        return demo
    return url


def _file_identity(url: str) -> tuple[int, int] | None:
    """Which file a SQLite URL names now (inode, change time): the demo database is deleted and
    created again, and nothing cached may read the old one. None for other databases."""
    if not url.startswith("sqlite") or url == default_url():
        return None
    try:
        info = os.stat(make_url(url).database)
    except (OSError, TypeError):
        return None
    return info.st_ino, info.st_ctime_ns


@st.cache_resource(show_spinner=False, max_entries=4)
def _store_at(url: str, identity: tuple[int, int] | None) -> ResponseStore:
    return ResponseStore(url)


def results_store(url: str) -> ResponseStore:
    """The response store of ``url`` (the real one of :func:`survey_app.ui.get_store`, or the
    demo database), one per database file and process."""
    if url == default_url():
        return get_store()
    return _store_at(url, _file_identity(url))


@st.cache_resource(show_spinner=False, max_entries=8)
def _margins_store_at(url: str, identity: tuple[int, int] | None) -> MarginsStore:
    return MarginsStore(url)


def get_margins_store(url: str) -> MarginsStore:
    """The margins table of the response database at ``url`` (one per database file and process)."""
    return _margins_store_at(url, _file_identity(url))


def data_version(url: str) -> tuple:
    """The cache key of every result: the database file, number of stored interviews and their
    last change, and the sample assignments stored (their waves and when each list was saved).

    A few small queries, cheap enough to run on every page view.
    """
    identity = _file_identity(url)
    count, last = results_store(url).data_version()  # opening the store creates its tables on a fresh database
    return identity, count, last, get_assignment_store(url).versions()


# One frame shared by every page and session (read it, never modify it): st.cache_data would
# pickle it once and unpickle a copy on every call, seconds for 100,000 interviews.
@st.cache_resource(show_spinner=False, max_entries=2)
def responses(url: str, version: tuple) -> pd.DataFrame:
    """The interviews that count (:func:`~survey_app.reporting.counted_interviews`: never demo
    interviews beside real ones) for this data version, with the design weights and fpc of
    the stored sample assignments (waves without a list have none).

    Contact details are taken out of free-text answers here, so no page or download of the
    results shows them. ``attrs["demo_left_out"]``: the demo interviews of earlier versions
    left out. The frame is shared: do not modify it.
    """
    store = results_store(url)
    everything = store.responses_frame(status="submitted")
    counted = without_mixed_demo(everything)   # as reporting.counted_interviews, read once
    frame = with_stored_design_weights(minimise_personal_data(counted, available_questionnaires(store)), url=url)
    frame.attrs["demo_left_out"] = len(everything) - len(counted)
    return frame


def waves(frame: pd.DataFrame) -> list[str]:
    """Waves present, oldest first (:func:`survey_app.reporting.waves_of`)."""
    return waves_of(frame)


def selected_margins(settings: ResultsSettings, url: str) -> PopulationMargins | None:
    """The margins to weight to: the chosen saved set, else the latest, else None."""
    store = get_margins_store(url)
    if settings.margins_id is not None:
        chosen = [m for m in store.all() if m.id == settings.margins_id]
        if chosen:
            return chosen[0]
    return store.latest()


def report_settings(settings: ResultsSettings, margins: PopulationMargins | None) -> ReportSettings:
    """The reporting module's settings for the statistician's choices.

    Without margins, weighting falls back to design weights (the page says so).
    """
    calibrate = tuple(qid for qid in shipped_questionnaires() if qid not in NON_RESIDENT_SURVEYS)
    # in the statistician's order of DOMAIN_VARIABLES, districts always (the dashboard shows them)
    domains = tuple(d for d in DOMAIN_VARIABLES if d == "district" or d in settings.domains)
    if settings.weighting == "design" or margins is None:
        return ReportSettings(ci_method=settings.ci_method, level=settings.level, domains=domains)
    if settings.weighting == "poststratify":
        chosen = {"district": dict(margins.counts["district"])} if "district" in margins.counts else {}
    else:
        usable = [v for v in settings.rake_variables if v in margins.counts]
        chosen = margins.rake_margins(usable) if usable else {}
    if not chosen:
        return ReportSettings(ci_method=settings.ci_method, level=settings.level, domains=domains)
    return ReportSettings(
        ci_method=settings.ci_method,
        level=settings.level,
        weighting="rake" if settings.weighting == "rake" else "poststratify",
        margins=chosen,
        calibrate=calibrate,
        domains=domains,
        margins_source=margins_source(margins),
        demonstration_margins=margins.demonstration,
    )


def _settings_key(settings: ReportSettings) -> tuple:
    margins = tuple((v, tuple(c.items())) for v, c in settings.margins.items())
    return (settings.ci_method, settings.level, settings.weighting, margins, settings.calibrate, settings.lonely_psu,
            settings.domains, settings.margins_source, settings.demonstration_margins)


def _settings_from_key(key: tuple) -> ReportSettings:
    ci_method, level, weighting, margins, calibrate, lonely_psu, domains, source, demonstration = key
    return ReportSettings(ci_method=ci_method, level=level, weighting=weighting,
                          margins={v: dict(c) for v, c in margins}, calibrate=calibrate, lonely_psu=lonely_psu,
                          domains=domains, margins_source=source, demonstration_margins=demonstration)


# The report is immutable (its frequency tables are filled in once, on first use), so one object
# is shared by every session rather than copied out of a pickle on each page view.
@st.cache_resource(show_spinner=False, max_entries=32)
def _report(url: str, version: tuple, wave: str | None, key: tuple, full: bool) -> ReportTables:
    frame = responses(url, version)
    if wave is not None:
        frame = frame.iloc[(frame["wave"].astype(str) == wave).to_numpy().nonzero()[0]]
    store = results_store(url)
    tables = build_report(frame, settings=_settings_from_key(key), source=display_url(url), wave=wave,
                          questionnaires=available_questionnaires(store),
                          exclusions=excluded_interviews(store, wave=wave), frequencies=full, text_answers=full)
    if full and tables.indices is not None and len(tables.indices):  # the workbook shows the change between waves
        tables = replace(tables, index_trend=_index_trend(url, version, key))
    if full:  # issue 15: the workbook's change and district comparison sheets
        from survey_app.change import library_versions, with_comparisons

        tables = with_comparisons(tables, responses(url, version), questionnaires=available_questionnaires(store),
                                  versions=library_versions(url))
    return tables


def report(settings: ReportSettings, *, wave: str | None, url: str | None = None, full: bool = False) -> ReportTables:
    """The report for one wave (None: all waves) of the current data (:func:`results_url`),
    computed once per version.

    ``full``: with the frequency tables and free-text answers (the workbook, the frequency
    tables page); without them the targets are ready sooner.
    """
    url = url or results_url()
    return _report(url, data_version(url), wave, _settings_key(settings), full)


@st.cache_data(show_spinner=False, max_entries=64)
def _trend(url: str, version: tuple, key: tuple, target_id: str) -> pd.DataFrame:
    forms = available_questionnaires(results_store(url))
    chosen = [t for t in load_targets(questionnaires=forms) if t.id == target_id]
    return target_trend(responses(url, version), settings=_settings_from_key(key), targets=chosen,
                        questionnaires=forms)


def trend(settings: ReportSettings, target_id: str) -> pd.DataFrame:
    """One target's overall estimate in every stored wave (:func:`~survey_app.reporting.target_trend`),
    computed once per data version, settings and target."""
    url = results_url()
    return _trend(url, data_version(url), _settings_key(settings), target_id)


@st.cache_data(show_spinner=False, max_entries=16)
def _index_trend(url: str, version: tuple, key: tuple) -> pd.DataFrame:
    return index_trend(responses(url, version), settings=_settings_from_key(key),
                       questionnaires=available_questionnaires(results_store(url)))


def indices_over_waves(settings: ReportSettings) -> pd.DataFrame:
    """The plan's indices in every stored wave (:func:`~survey_app.reporting.index_trend`), computed
    once per data version and settings."""
    url = results_url()
    return _index_trend(url, data_version(url), _settings_key(settings))


# -- issue 15: change between waves, districts against the rest ------------------------------

@st.cache_data(show_spinner=False, max_entries=16)
def _wave_changes(url: str, version: tuple, key: tuple, waves: tuple[str, ...], domains: tuple[str, ...],
                  target_ids: tuple[str, ...] | None) -> pd.DataFrame:
    from survey_app.change import library_versions, wave_changes

    forms = available_questionnaires(results_store(url))
    targets = load_targets(questionnaires=forms)
    if target_ids is not None:
        targets = [target for target in targets if target.id in target_ids]
    return wave_changes(responses(url, version), waves=list(waves), settings=_settings_from_key(key), targets=targets,
                        questionnaires=forms, domains=domains, versions=library_versions(url))


def wave_change_table(settings: ReportSettings, waves: tuple[str, ...], *, domains: tuple[str, ...] = ("district",),
                      target_ids: tuple[str, ...] | None = None) -> pd.DataFrame:
    """:func:`survey_app.change.wave_changes` of the current data between consecutive ``waves``
    (every target, or ``target_ids``), computed once per data version and settings."""
    url = results_url()
    return _wave_changes(url, data_version(url), _settings_key(settings), tuple(waves), tuple(domains),
                         None if target_ids is None else tuple(target_ids))


@st.cache_resource(show_spinner=False, max_entries=8)
def _stacked(url: str, version: tuple, key: tuple, questionnaire_id: str,
             waves: tuple[str, ...]) -> SurveyDesign | None:
    from survey_app.change import stacked_design

    forms = available_questionnaires(results_store(url))
    numbers = [q.name for q in forms[questionnaire_id].questions if q.type in ("integer", "decimal")]
    return stacked_design(responses(url, version), questionnaire=questionnaire_id, waves=list(waves),
                          settings=_settings_from_key(key), questionnaires=forms, variables=numbers)


def stacked(settings: ReportSettings, questionnaire_id: str, waves: tuple[str, ...]) -> SurveyDesign | None:
    """One questionnaire's respondents of ``waves`` stacked into one design
    (:func:`survey_app.change.stacked_design`, with its numeric questions), once per data version."""
    url = results_url()
    return _stacked(url, data_version(url), _settings_key(settings), questionnaire_id, tuple(waves))


def stored_waves() -> list[str]:
    """The waves of the current data (:func:`results_url`), oldest first."""
    url = results_url()
    return waves(responses(url, data_version(url)))


@st.cache_data(show_spinner=False, max_entries=16)
def _district_comparisons(url: str, version: tuple, wave: str | None, key: tuple) -> pd.DataFrame:
    from survey_app.change import district_comparisons

    return district_comparisons(_report(url, version, wave, key, False))


def districts_against_rest(settings: ReportSettings, *, wave: str | None) -> pd.DataFrame:
    """:func:`survey_app.change.district_comparisons` of the report of ``wave`` (Holm), cached."""
    url = results_url()
    return _district_comparisons(url, data_version(url), wave, _settings_key(settings))


@st.cache_data(show_spinner=False, max_entries=8)
def _excel(url: str, version: tuple, wave: str | None, key: tuple) -> bytes:
    from survey_app.excel import write_report  # openpyxl takes a second to import; only a download needs it

    buffer = io.BytesIO()
    write_report(_report(url, version, wave, key, True), buffer)
    return buffer.getvalue()


def excel_download(settings: ReportSettings, *, wave: str | None, lang: str, key: str) -> None:
    """The Excel report download button.

    The workbook is written when the button is clicked (Streamlit calls ``data`` then), once
    per data version and settings; drawing the page costs little (the page's report is
    cached). The file name says ``DEMO`` when demonstration data or margins go into it. The
    click is audited in the real database.
    """
    url = results_url()
    user = current_user()
    authorize(user, "export")  # the page checks the role too; the download itself is the export
    version, settings_key = data_version(url), _settings_key(settings)
    demonstration = _report(url, version, wave, settings_key, False).demonstration
    file_name = report_file_name(wave=wave, demonstration=demonstration, day=datetime.now().date())
    st.download_button(
        t("results.excel", lang),
        data=lambda: _excel(url, version, wave, settings_key),
        file_name=file_name,
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        help=t("results.excel_help", lang),
        icon=":material/download:",
        key=key,
        on_click=audit,
        args=(user.username, "export", file_name,
              {"wave": wave, "contact_details": "remove", "demonstration": demonstration}),
        kwargs={"url": default_url()},
    )


def stored_responses(lang: str) -> pd.DataFrame | None:
    """The interviews of the results pages (:func:`results_url`), under the "show demonstration
    data" switch, with the demonstration banner and the demo's load and remove buttons.

    None when there is nothing to show (an empty database, or the demo not loaded yet), after
    offering the demonstration data.
    """
    real = default_url()
    demo_view = _demo_switch(real, lang)
    notice = st.session_state.pop(_DEMO_NOTICE, None)
    if notice:
        st.success(notice)
    if demo_view and not demo_database_exists(real):
        demo_offer(lang, title=t("results.demo_title", lang))
        return None
    url = results_url()
    with st.spinner(t("results.reading", lang)):   # seconds only when many interviews are new
        frame = responses(url, data_version(url))
    if demo_view:
        st.warning(t("results.demo_view", lang, n=f"{len(frame):,}"), icon=":material/science:")
        _remove_button(lang)
    else:
        demo_banner(frame, lang)
    if frame.empty:
        demo_offer(lang, title=t("results.demo_title" if demo_view else "results.empty_title", lang))
        return None
    return frame


def _demo_switch(real: str, lang: str) -> bool:
    """The "show demonstration data" switch (there whatever the real database holds); its state."""
    if _demo_url(real) is None:   # an in-memory database has no demo beside it
        st.session_state[_DEMO_VIEW] = False
        return False
    st.session_state[_DEMO_SWITCH] = showing_demo()   # the widget is re-created on every page

    def changed() -> None:
        _show_demo(bool(st.session_state[_DEMO_SWITCH]))

    st.toggle(t("results.show_demo", lang), key=_DEMO_SWITCH, on_change=changed, help=t("results.show_demo_help", lang))
    return showing_demo()


def _show_demo(on: bool) -> None:
    """Switch the results pages between the real and the demo database; the wave and the margins
    chosen belong to the other database, so they start again from its latest."""
    st.session_state[_DEMO_VIEW] = on
    save_settings(replace(current_settings(), wave=None, margins_id=None))


def results_settings(lang: str, *, where: bool = True) -> ReportSettings:
    """The report settings of the statistician's choices, with the caption saying what they are
    (``where``: and where to change them)."""
    settings = current_settings()
    margins = selected_margins(settings, results_url())
    used = report_settings(settings, margins)
    settings_caption(settings, used, margins, lang, where=where)
    return used


def demo_offer(lang: str, *, title: str) -> None:
    """What the demo is, and a button that loads it into the demo database and shows it."""
    n = len(shipped_questionnaires()) * len(DEMO_WAVES) * PSUS_PER_SURVEY * RESPONDENTS_PER_PSU
    with st.container(border=True):
        st.subheader(title)
        st.markdown(t("results.empty_body", lang, n=f"{n:,}", prefix=DEMO_INTERVIEWER_PREFIX))
        if _demo_url(default_url()) is None:
            st.caption(t("results.demo_unavailable", lang, detail=display_url(default_url())))
            return
        if st.button(t("results.load_demo", lang), type="primary", icon=":material/science:", key="load_demo"):
            user = current_user()
            authorize(user, "results")
            bar = st.progress(0.0, text=t("results.loading_demo", lang))
            url = default_url()
            result = load_demo_database(url, progress=lambda f: bar.progress(f, text=t("results.loading_demo", lang)))
            audit(user.username, "demo_load", display_url(demo_database_url(url)),
                  {"interviews": result.n_interviews}, url=url)
            st.session_state[_DEMO_NOTICE] = t(
                "results.demo_loaded", lang, n=f"{result.n_interviews:,}", seconds=f"{result.seconds:.1f}"
            )
            _show_demo(True)
            st.rerun()


def _remove_button(lang: str) -> None:
    """One button that removes the whole demo data set (:func:`survey_app.demo.remove_demo`)."""
    if not st.button(t("results.remove_demo", lang), icon=":material/delete:", key="remove_demo"):
        return
    user = current_user()
    authorize(user, "results")
    url = default_url()
    result = remove_demo(url)
    # the engines of the deleted file go; a new demo database gets new ones (see _file_identity)
    _store_at.clear()
    _margins_store_at.clear()
    audit(user.username, "demo_remove", display_url(url),
          {"database": result.database, "interviews": result.interviews, "margins": result.margins}, url=url)
    st.session_state[_DEMO_NOTICE] = t("results.demo_removed", lang, database="" if result.database else " –",
                                       interviews=result.interviews, margins=result.margins)
    _show_demo(False)
    st.rerun()


def demo_banner(frame: pd.DataFrame, lang: str) -> None:
    """In the real view: a warning while the real database still holds demo interviews of an
    earlier version (shown, and labelled, when they are all it holds; left out otherwise),
    with the button that removes them."""
    left_out = int(frame.attrs.get("demo_left_out", 0))
    if left_out:
        st.warning(t("results.demo_left_out", lang, n=f"{left_out:,}", prefix=DEMO_INTERVIEWER_PREFIX),
                   icon=":material/science:")
    elif len(frame) and is_demo_interviewer(frame["interviewer"].iat[0]):
        # without_mixed_demo keeps demo interviews only when they are all there is
        st.warning(t("results.demo_banner", lang, n=f"{len(frame):,}", prefix=DEMO_INTERVIEWER_PREFIX),
                   icon=":material/science:")
    else:
        return
    _remove_button(lang)


def settings_caption(settings: ResultsSettings, used: ReportSettings, margins: PopulationMargins | None,
                     lang: str, *, where: bool = True) -> None:
    """One line saying how the numbers were computed (``where``: and where to change that),
    with warnings about the margins."""
    if used.weighting == "none":
        weighting = t("results.weighting_design", lang)
    elif used.weighting == "poststratify":
        weighting = t("results.weighting_poststratify", lang)
    else:
        names = [DOMAIN_VARIABLE_LABELS[v][lang == "en"] if v in DOMAIN_VARIABLE_LABELS else v for v in used.margins]
        weighting = t("results.weighting_rake", lang, variables=("、" if lang == "zh" else ", ").join(names))
    text = t("results.settings_caption", lang, level=format_percent(used.level, decimals=0), method=used.ci_method,
             weighting=weighting)
    st.caption(text + (" " + t("results.settings_where", lang) if where else ""))
    if settings.weighting != "design" and margins is None:
        st.info(t("results.no_margins", lang))
    elif used.weighting != "none" and margins is not None and margins.demonstration:
        st.caption(t("results.demo_margins_used", lang))


def show_analysis_error(exc: SurveyError, lang: str) -> None:
    """Settings the data cannot support (e.g. a margin category without respondents)."""
    st.error(t("results.analysis_error", lang, detail=exc))



def current_questionnaires() -> dict[str, Questionnaire]:
    """The questionnaires of the database shown (uploaded versions replace shipped ones)."""
    return available_questionnaires(results_store(results_url()))


def choose_wave(frame: pd.DataFrame, lang: str, *, key: str) -> str:
    """A wave selector (latest wave first time); the choice is shared by the results pages."""
    available = waves(frame)
    settings = current_settings()
    # the same rule as `survey-toolkit report` without --wave
    chosen = settings.wave if settings.wave in available else latest_wave(frame)
    # The widget is re-created on every page, so it is set from the shared settings each run.
    st.session_state[key] = chosen

    def changed() -> None:
        save_settings(replace(current_settings(), wave=st.session_state[key]))

    # Segment labels are Markdown; a wave is data (typed on tablets, imported): shown as literal text.
    return st.segmented_control(t("results.wave", lang), available, key=key, on_change=changed,
                                format_func=md_text, required=True) or chosen


# -- frequency tables by group -------------------------------------------------------------

FREQUENCY_COLUMNS: tuple[str, ...] = ("group", "code", "choice_zh", "choice_en", "estimate", "se", "ci_low",
                                      "ci_high", "n", "count")


def frequency_table(design: SurveyDesign, questionnaire_id: str, question: str, *, by: str | None,
                    ci_method: str, level: float,
                    questionnaires: Mapping[str, Questionnaire] | None = None) -> pd.DataFrame:
    """Weighted answer shares of one question, overall (``by=None``) or per group of ``by``.

    Parameters
    ----------
    design : SurveyDesign
        The report's design of the questionnaire (``ReportTables.designs``, :func:`design`).
    questionnaire_id, question : str
        A ``select_one``, ``select_multiple`` (share choosing each option) or number
        (``integer``/``decimal``: the mean, one row ``code="mean"``) question.
    by : str, optional
        A column of the respondents (``district``, ``sex``, ``age_group``, ``urban_rural``...).
    ci_method : str
        Interval of the shares (:data:`analysis.CI_METHODS`); means use Student t.
    level : float
    questionnaires : mapping, optional
        Default: the shipped questionnaires.

    Returns
    -------
    pandas.DataFrame
        :data:`FREQUENCY_COLUMNS`; ``group`` is ``"all"`` without ``by``. Shares are among the
        respondents who answered (asked and not blank); ``n`` counts them per group, ``count``
        those giving the answer. As R's ``svyby(~factor(q), ~by, des, svymean)`` with the
        intervals of ``svyciprop``.
    """
    form = (questionnaires or shipped_questionnaires())[questionnaire_id]
    q = form.question(question)
    if q.type not in ("select_one", "select_multiple", "integer", "decimal"):
        raise ValueError(f"question {question!r} is {q.type}; frequency tables take select_one, select_multiple, "
                         "integer or decimal questions")
    data = design.data
    answered = data[question].notna() & (data[question].astype(str).str.strip() != "")
    if not answered.any():
        return pd.DataFrame(columns=list(FREQUENCY_COLUMNS))
    rows: list[dict] = []
    if q.type == "select_one":
        table = design.frequencies(question, by=by, ci_method=ci_method, level=level).to_frame()
        groups = table.index.get_level_values(0).unique() if by else [OVERALL]
        for group in groups:
            part = table.loc[group] if by else table
            total = int(part["count"].sum())
            for choice in form.choices(q):
                row = part.loc[choice.name] if choice.name in part.index else None
                rows.append(_frequency_row(group, choice, row, total))
    elif q.type == "select_multiple":
        for choice in form.choices(q):
            column = choice_column(question, choice.name)
            table = design.proportion(column, by=by, ci_method=ci_method, level=level).to_frame()
            chosen = data[column].groupby(data[by] if by else pd.Series(OVERALL, index=data.index)).sum()
            for group, row in table.iterrows():
                if row["n"] == 0:  # nobody in this group was asked the question
                    continue
                rows.append({**_frequency_row(group, choice, row, int(row["n"])), "count": int(chosen.get(group, 0))})
    else:
        table = design.mean(question, by=by, level=level).to_frame()
        for group, row in table.iterrows():
            if row["n"] == 0:
                continue
            rows.append({"group": group, "code": "mean", "choice_zh": "均值", "choice_en": "mean",
                         "estimate": row["estimate"], "se": row["se"], "ci_low": row["ci_low"],
                         "ci_high": row["ci_high"], "n": int(row["n"]), "count": int(row["n"])})
    table = pd.DataFrame(rows, columns=list(FREQUENCY_COLUMNS))
    if by is None:
        return table
    # groups in the order of their codes in the questionnaire (districts: the census order)
    known = {q.name: q for q in form.questions}
    order = [c.name for c in form.choices(by)] if by in known and known[by].list_name else []
    rank = {code: i for i, code in enumerate(order)}
    position = table["group"].map(lambda g: rank.get(g, len(rank)))
    return table.assign(_rank=position).sort_values("_rank", kind="stable").drop(columns="_rank").reset_index(drop=True)


def _frequency_row(group, choice, row: pd.Series | None, total: int) -> dict:
    base = {"group": group, "code": choice.name, "choice_zh": choice.label.zh, "choice_en": choice.label.get("en"),
            "n": total}
    if row is None:  # an option nobody in the data chose
        return {**base, "estimate": 0.0, "se": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"),
                "count": 0}
    return {**base, "estimate": row["estimate"], "se": row["se"], "ci_low": row["ci_low"], "ci_high": row["ci_high"],
            "count": int(row["count"]) if "count" in row else total}


def design(settings: ReportSettings, questionnaire_id: str, *, wave: str | None) -> SurveyDesign | None:
    """The report's weighted design of one questionnaire's respondents (None without any)."""
    return report(settings, wave=wave).designs.get(questionnaire_id)


@st.cache_data(show_spinner=False, max_entries=512)
def _frequency(url: str, version: tuple, wave: str | None, key: tuple, questionnaire_id: str,
               question: str, by: str | None) -> pd.DataFrame | None:
    built = _report(url, version, wave, key, True).designs.get(questionnaire_id)
    if built is None:
        return None
    settings = _settings_from_key(key)
    return frequency_table(built, questionnaire_id, question, by=by, ci_method=settings.ci_method,
                           level=settings.level, questionnaires=available_questionnaires(results_store(url)))


def frequency(settings: ReportSettings, questionnaire_id: str, question: str, *, wave: str | None,
              by: str | None) -> pd.DataFrame | None:
    """:func:`frequency_table` for the current data, cached per version, settings and breakdown.

    None when the questionnaire has no consenting respondents in the wave.
    """
    url = results_url()
    return _frequency(url, data_version(url), wave, _settings_key(settings), questionnaire_id, question, by)


def weight_summary(weights: pd.Series) -> dict[str, float]:
    """Distribution of final weights: n, sum, min, 5th percentile, median, 95th, max, mean, CV,
    and Kish's design effect of unequal weighting ``n * sum(w^2) / sum(w)^2 = 1 + CV^2``.

    CV uses the population standard deviation (divisor n), so the identity is exact.
    """
    w = pd.Series(weights, dtype=float)
    w = w[w > 0]
    n = len(w)
    mean = w.mean()
    return {
        "n": float(n), "sum": float(w.sum()), "min": float(w.min()), "p05": float(w.quantile(0.05)),
        "median": float(w.median()), "p95": float(w.quantile(0.95)), "max": float(w.max()), "mean": float(mean),
        "cv": float(w.std(ddof=0) / mean), "kish_deff": float(n * (w ** 2).sum() / w.sum() ** 2),
    }


def show_chart(chart: alt.TopLevelMixin | dict) -> None:
    """Draw an Altair chart (or a Vega-Lite spec) across the page at its full height.

    Streamlit fits a chart's axes and legend into the spec's height, which squeezes short
    charts flat; the element gets the plot height plus room for them.
    """
    if not isinstance(chart, dict):
        # Altair checks the spec against the Vega-Lite schema on every draw (about 0.1 s a chart);
        # the charts' tests check it once. Without Altair's theme Streamlit's applies, as in
        # st.altair_chart.
        chart = chart.to_dict(validate=False)
        chart.pop("config", None)
    height = chart.get("height")
    room = int(height) + _AXIS_ROOM if isinstance(height, (int, float)) else "content"
    st.vega_lite_chart(chart, width="stretch", height=room)
