"""Quality control and review of submitted interviews.

Statisticians and administrators see the checks: per interview the flags with their reasons
(too fast, straight-lining, item non-response, near-duplicate, outside the assigned PSU), per
interviewer the indicators and the isolation-forest anomaly score with what drove it, and
charts of both. The checks only point at interviews to look at: administrators then approve,
reject (with a reason) or void them one by one (:func:`survey_app.review.review_interview`),
each decision written to the audit log. Rejected and voided interviews leave the estimates.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from analysis.errors import SurveyError
from analysis.quality import FLAGS
from questionnaires import Questionnaire, load_districts
from survey_app.auth import User, get_accounts, require_role
from survey_app.cellsafe import csv_bytes
from survey_app.field_values import wave_sort_key
from survey_app.formatting import STREAMLIT_PERCENT, format_percent
from survey_app.i18n import current_language, register, t
from survey_app.review import (
    DECISIONS,
    REASONS,
    REVIEWABLE,
    InvalidReviewError,
    QualityCheck,
    available_questionnaires,
    check_quality,
    excluded_interviews,
    review_interview,
)
from survey_app.store import ConcurrentUpdateError, ResponseStore
from survey_app.ui import SELECT_ALL, choose_placeholder, error_boundary, get_store, md_text, upload_help
from survey_app.uploads import XLSX_MAGIC, UploadTooLargeError, read_upload, read_workbook

LOCAL_TIME = ZoneInfo("Asia/Shanghai")
_KEY = "review_"
_NOTICE = f"{_KEY}notice"  # the last decision, shown after the rerun
ALL_WAVES = "*"
REVIEW_ACTIONS = ("approve_interview", "reject_interview", "void_interview", "review_failed")
STATUS_COLORS = {"submitted": "#607d8b", "approved": "#2e7d32", "rejected": "#c62828"}

register(
    "review",
    {
        "title": {"zh": "质量控制与审核", "en": "Quality control and review"},
        "intro": {
            "zh": "质量检查只是提示需要核查的访问和访问员，不会自动剔除任何访问。"
            "管理员核查后可逐个通过、判为不合格（须注明原因）或作废；"
            "不合格和作废的访问不计入估计，每项决定都记入审计日志。",
            "en": "The checks only point at interviews and interviewers to look at; nothing is rejected "
            "automatically. After checking, an administrator approves, rejects (with a reason) or voids "
            "interviews one by one; rejected and voided interviews leave the estimates, and every decision "
            "is written to the audit log.",
        },
        "questionnaire": {"zh": "问卷", "en": "Questionnaire"},
        "wave": {"zh": "调查轮次", "en": "Survey wave"},
        "all_waves": {"zh": "全部轮次", "en": "All waves"},
        "settings": {"zh": "检查设置与抽样单元指派", "en": "Check settings and PSU assignments"},
        "speed_ratio": {
            "zh": "用时短于中位用时的此比例即为“用时过短”",
            "en": "Too fast: shorter than this share of the median duration",
        },
        "nonresponse": {"zh": "漏答比例超过此值即标记", "en": "Flag when the share of unanswered questions exceeds"},
        "duplicate": {
            "zh": "与另一访问相同答案的比例达到此值即为雷同", "en": "Near-duplicate: share of identical answers",
        },
        "assignments": {
            "zh": "抽样单元指派（抽样设计页面下载的 CSV/Excel，含 district、psu 列，可含 interviewer 列）",
            "en": "PSU assignments (the CSV/Excel from the sample design page: columns district, psu and "
            "optionally interviewer)",
        },
        "assignments_missing": {
            "zh": "指派文件缺少列：{columns}。需要 district 和 psu 列。",
            "en": "The assignments file lacks the column(s): {columns}. It needs district and psu.",
        },
        "assignments_unreadable": {
            "zh": "无法读取指派文件：{detail}", "en": "The assignments file cannot be read: {detail}",
        },
        "no_assignments": {
            "zh": "未上传抽样单元指派，未检查“不在指派的抽样单元”。",
            "en": "No PSU assignments uploaded: \"outside the assigned PSU\" is not checked.",
        },
        "check_failed": {
            "zh": "无法完成质量检查：{detail}", "en": "The checks could not be run: {detail}",
        },
        "no_data": {
            "zh": "此问卷（此轮次）还没有已提交的访问。",
            "en": "This questionnaire has no submitted interviews (in this wave) yet.",
        },
        "no_respondents": {
            "zh": "没有同意受访的访问可供检查（{refusals} 个拒访）。",
            "en": "No interviews with consent to check ({refusals} refusals).",
        },
        "metric_checked": {"zh": "已检查访问", "en": "Interviews checked"},
        "metric_flagged": {"zh": "有标记", "en": "Flagged"},
        "metric_refusals": {"zh": "拒访（不检查）", "en": "Refusals (not checked)"},
        "metric_rejected": {"zh": "审核不通过", "en": "Rejected"},
        "metric_approved": {"zh": "审核通过", "en": "Approved"},
        "tab_interviews": {"zh": "逐个访问", "en": "Interviews"},
        "tab_interviewers": {"zh": "访问员", "en": "Interviewers"},
        "tab_review": {"zh": "审核", "en": "Review"},
        "tab_history": {"zh": "审核记录", "en": "Review log"},
        "only_flagged": {"zh": "只显示有标记的访问", "en": "Only flagged interviews"},
        "flag_filter": {"zh": "标记类型", "en": "Flags"},
        "any_flag": {"zh": "任意标记", "en": "Any flag"},
        "shown": {"zh": "显示 {n} / {total} 个访问", "en": "{n} of {total} interviews shown"},
        "download_flags": {"zh": "下载检查结果（CSV）", "en": "Download the checks (CSV)"},
        "flag_too_fast": {"zh": "用时过短", "en": "Too fast"},
        "flag_straightlining": {"zh": "直线作答", "en": "Straight-lining"},
        "flag_item_nonresponse": {"zh": "漏答过多", "en": "Item non-response"},
        "flag_near_duplicate": {"zh": "雷同", "en": "Near-duplicate"},
        "flag_outside_psu": {"zh": "不在指派单元", "en": "Outside assigned PSU"},
        "why_too_fast": {
            "zh": "用时 {minutes} 分钟，短于中位用时 {median} 分钟的 {ratio}",
            "en": "took {minutes} min, under {ratio} of the median {median} min",
        },
        "why_negative": {"zh": "结束时间早于开始时间", "en": "ends before it starts"},
        "why_straightlining": {
            "zh": "“{grids}”各题答案全部相同",
            "en": "the same answer to every item of {grids}",
        },
        "why_item_nonresponse": {
            "zh": "应答题目中 {share} 未回答",
            "en": "{share} of the questions asked were not answered",
        },
        "why_near_duplicate": {
            "zh": "与访问 {other} 的答案 {share} 相同",
            "en": "{share} of the answers identical to interview {other}",
        },
        "why_outside_psu": {
            "zh": "{district} 的抽样单元“{psu}”不在（此访问员的）指派名单中",
            "en": "PSU \"{psu}\" in {district} is not among the (interviewer's) assignments",
        },
        "col_interview": {"zh": "访问编号", "en": "Interview"},
        "col_interviewer": {"zh": "访问员", "en": "Interviewer"},
        "col_district": {"zh": "抽样区县", "en": "District"},
        "col_psu": {"zh": "抽样单元", "en": "PSU"},
        "col_status": {"zh": "状态", "en": "Status"},
        "col_started": {"zh": "开始时间", "en": "Started"},
        "col_minutes": {"zh": "用时（分钟）", "en": "Minutes"},
        "col_flags": {"zh": "标记", "en": "Flags"},
        "col_reasons": {"zh": "原因", "en": "Reasons"},
        "col_n_interviews": {"zh": "访问数", "en": "Interviews"},
        "col_anomaly": {"zh": "异常分数", "en": "Anomaly score"},
        "col_drivers": {"zh": "主要异常指标", "en": "Stands out on"},
        "feature_median_duration": {"zh": "中位用时（分钟）", "en": "Median duration (min)"},
        "feature_share_flagged": {"zh": "有标记比例", "en": "Share flagged"},
        "feature_share": {"zh": "{flag}比例", "en": "Share {flag}"},
        "feature_distribution": {"zh": "答案分布差异：{question}", "en": "Answer distribution difference: {question}"},
        "status_submitted": {"zh": "待审核", "en": "awaiting review"},
        "status_approved": {"zh": "审核通过", "en": "approved"},
        "status_rejected": {"zh": "审核不通过", "en": "rejected"},
        "status_voided": {"zh": "已作废", "en": "voided"},
        "duration_chart": {"zh": "访问用时分布", "en": "Interview durations"},
        "duration_axis": {"zh": "用时（分钟）", "en": "Duration (minutes)"},
        "count_axis": {"zh": "访问数", "en": "Interviews"},
        "too_fast_line": {"zh": "用时过短界限 {minutes} 分钟", "en": "too fast below {minutes} min"},
        "duration_caption": {
            "zh": "红线左侧的访问标记为用时过短；超过 {cap} 分钟的访问画在最右端。",
            "en": "Interviews left of the red line are flagged as too fast; those over {cap} minutes are drawn "
            "at the right edge.",
        },
        "score_chart": {"zh": "访问员异常分数", "en": "Anomaly score per interviewer"},
        "score_caption": {
            "zh": "异常分数（孤立森林，约 0.5 为一般，越接近 1 越与众不同）只用于排出优先核查的访问员，"
            "本身不是判定访问不合格的理由。",
            "en": "The anomaly score (isolation forest; about 0.5 is ordinary, near 1 stands out) only orders "
            "interviewers for a supervisor's attention; it is never by itself a reason to reject interviews.",
        },
        "score_axis": {"zh": "异常分数", "en": "Anomaly score"},
        "few_interviewers": {
            "zh": "访问员少于 {n} 人，不计算异常分数；请比较各项指标。",
            "en": "Fewer than {n} interviewers: no anomaly score; compare the indicators instead.",
        },
        "pick": {"zh": "选择访问（有标记的排在前面）", "en": "Interview (flagged ones first)"},
        "pick_line": {
            "zh": "{id} · {interviewer} · {status} · {n} 项标记",
            "en": "{id} · {interviewer} · {status} · {n} flag(s)",
        },
        "details": {
            "zh": "访问员 {interviewer} · {district} · {psu} · 开始于 {started} · 用时 {minutes} 分钟",
            "en": "Interviewer {interviewer} · {district} · {psu} · started {started} · {minutes} min",
        },
        "current_status": {"zh": "当前状态：{status}", "en": "Current status: {status}"},
        "current_reason": {"zh": "原因：{reason}", "en": "Reason: {reason}"},
        "no_flags": {"zh": "此访问没有标记。", "en": "This interview has no flags."},
        "refusal": {"zh": "拒访，未作质量检查。", "en": "A refusal; not checked."},
        "answers": {"zh": "答案", "en": "Answers"},
        "col_question": {"zh": "问题", "en": "Question"},
        "col_answer": {"zh": "答案", "en": "Answer"},
        "decision": {"zh": "审核决定", "en": "Decision"},
        "decision_approve": {"zh": "通过", "en": "Approve"},
        "decision_reject": {"zh": "不通过（剔除）", "en": "Reject (exclude)"},
        "decision_void": {"zh": "作废", "en": "Void"},
        "reason": {"zh": "原因", "en": "Reason"},
        "comment": {"zh": "说明（原因为“其他”时必填）", "en": "Comment (required with reason \"Other\")"},
        "submit": {"zh": "保存审核决定", "en": "Save the decision"},
        "need_reason": {"zh": "不通过或作废时请选择原因。", "en": "Choose a reason to reject or void."},
        "need_comment": {"zh": "原因为“其他”时请填写说明。", "en": "Write a comment for the reason \"Other\"."},
        "voided_final": {
            "zh": "此访问已作废，不能再审核。", "en": "This interview is voided; it cannot be reviewed again.",
        },
        "decided": {
            "zh": "已保存：访问 {id} 现为“{status}”，已记入审计日志。",
            "en": "Saved: interview {id} is now \"{status}\"; the decision is in the audit log.",
        },
        "changed": {
            "zh": "此访问刚被他人改动，未保存您的决定。请查看其当前状态后重新决定。",
            "en": "Someone else changed this interview just now; your decision was not saved. Look at its "
            "current status and decide again.",
        },
        "invalid": {"zh": "无法保存审核决定：{detail}", "en": "The decision cannot be saved: {detail}"},
        "statistician_only": {
            "zh": "只有管理员可以审核访问；统计人员可查看质量检查结果。",
            "en": "Only administrators review interviews; statisticians see the checks.",
        },
        "excluded": {"zh": "不计入估计的访问", "en": "Interviews left out of the estimates"},
        "excluded_none": {"zh": "没有被剔除的访问。", "en": "No interview is left out."},
        "excluded_line": {
            "zh": "{status}：{n} 个（{reasons}）",
            "en": "{n} {status} ({reasons})",
        },
        "log_empty": {"zh": "还没有审核记录。", "en": "No review decisions yet."},
        "col_at": {"zh": "时间", "en": "When"},
        "col_actor": {"zh": "审核人", "en": "Who"},
        "col_action": {"zh": "决定", "en": "Decision"},
        "col_reason": {"zh": "原因", "en": "Reason"},
        "col_comment": {"zh": "说明", "en": "Comment"},
        "action_approve_interview": {"zh": "通过", "en": "approved"},
        "action_reject_interview": {"zh": "不通过", "en": "rejected"},
        "action_void_interview": {"zh": "作废", "en": "voided"},
        "action_review_failed": {"zh": "保存失败", "en": "not saved"},
    },
)


def render() -> None:
    """Draw the quality-control page (reviewing needs an administrator)."""
    user = require_role("administrator", "statistician")
    lang = current_language()
    # The tables have many columns: wider than the centred layout, as on a laptop screen.
    st.html("<style>[data-testid='stMainBlockContainer'] { max-width: 80rem; }</style>")
    with error_boundary():
        notice = st.session_state.pop(_NOTICE, None)
        if notice is not None:
            for key in decision_keys(notice[0]):  # a fresh form if the interview is reviewed again
                st.session_state.pop(key, None)
        st.header(t("review.title", lang))
        st.caption(t("review.intro", lang))
        if notice is not None:
            st.success(t("review.decided", lang, id=notice[0][:8], status=t(f"review.status_{notice[1]}", lang)))
        store = get_store()
        forms = available_questionnaires(store)
        left, right = st.columns(2)
        form_id = left.selectbox(
            t("review.questionnaire", lang), list(forms),
            format_func=lambda qid: f"{forms[qid].title.get(lang) or forms[qid].title.zh} ({qid})",
            key=f"{_KEY}questionnaire", placeholder=choose_placeholder(lang),
        )
        if form_id is None:
            return
        form = forms[form_id]
        data = store.responses_frame(form_id, status="all")
        data = data.loc[data["status"].isin(REVIEWABLE)].reset_index(drop=True)
        waves = sorted(data["wave"].dropna().astype(str).unique(), key=wave_sort_key)
        wave = right.selectbox(
            t("review.wave", lang), [*reversed(waves), ALL_WAVES],
            format_func=lambda w: t("review.all_waves", lang) if w == ALL_WAVES else w, key=f"{_KEY}wave",
            placeholder=choose_placeholder(lang),
        )
        if wave != ALL_WAVES:
            data = data.loc[data["wave"].astype(str) == wave].reset_index(drop=True)
        thresholds, assignments = _settings(lang)
        if data.empty:
            st.info(t("review.no_data", lang))
            return
        try:
            check = _quality(store.url, form, data, thresholds, assignments)
        except SurveyError as exc:  # e.g. assignments whose columns hold no usable values
            st.error(t("review.check_failed", lang, detail=md_text(exc)))
            return
        if check.flags is None:
            st.info(t("review.no_respondents", lang, refusals=check.refusals))
        _metrics(check, data, lang)
        can_review = user.can("review")
        names = [t("review.tab_interviews", lang), t("review.tab_interviewers", lang), t("review.tab_review", lang)]
        if user.can("audit"):
            names.append(t("review.tab_history", lang))
        tabs = st.tabs(names)
        with tabs[0]:
            if check.flags is not None:
                _interviews_tab(check, data, form, lang)
        with tabs[1]:
            if check.interviewers is not None:
                _interviewers_tab(check, form, lang)
        with tabs[2]:
            if can_review:
                _review_tab(user, form, check, data, lang)
            else:
                st.info(t("review.statistician_only", lang))
            _exclusions(store, form_id, None if wave == ALL_WAVES else wave, lang)
        if len(tabs) > 3:
            with tabs[3]:
                _history(user, form, lang)


# -- settings and the checks -------------------------------------------------------------------


def _settings(lang: str) -> tuple[tuple[float, float, float], pd.DataFrame | None]:
    with st.expander(t("review.settings", lang)):
        left, middle, right = st.columns(3)
        speed = left.number_input(t("review.speed_ratio", lang), min_value=0.05, max_value=1.0, value=1 / 3,
                                  step=0.05, format="%.2f", key=f"{_KEY}speed_ratio")
        nonresponse = middle.number_input(t("review.nonresponse", lang), min_value=0.05, max_value=0.95, value=0.3,
                                          step=0.05, format="%.2f", key=f"{_KEY}nonresponse")
        duplicate = right.number_input(t("review.duplicate", lang), min_value=0.5, max_value=1.0, value=0.95,
                                       step=0.01, format="%.2f", key=f"{_KEY}duplicate")
        upload = st.file_uploader(t("review.assignments", lang), type=["csv", "xlsx"], key=f"{_KEY}assignments",
                                  help=upload_help(lang))
        assignments = None
        if upload is not None:
            try:
                assignments = read_assignments(read_upload(upload, what="assignments file"))
            except (UploadTooLargeError, ValueError) as exc:
                st.error(t("review.assignments_unreadable", lang, detail=md_text(exc)))
            except KeyError as exc:
                st.error(t("review.assignments_missing", lang, columns=md_text(exc.args[0])))
    if assignments is None:
        st.caption(t("review.no_assignments", lang))
    return (float(speed), float(nonresponse), float(duplicate)), assignments


def read_assignments(data: bytes) -> pd.DataFrame:
    """The planned PSUs from the sample design page's CSV or Excel download.

    Returns columns ``district``, ``psu`` (and ``interviewer`` when given); a PSU may be
    written by its code or, when the file has ``psu_name``, by its name.

    Raises
    ------
    KeyError
        With the missing column names, when ``district`` or ``psu`` is absent.
    ValueError
        When the file cannot be read as a table.
    """
    if data.startswith(XLSX_MAGIC):
        table = read_workbook(data, what="assignments file")  # WorkbookError is a ValueError
    else:
        try:
            table = pd.read_csv(io.BytesIO(data), dtype=str, encoding="utf-8-sig", sep=None, engine="python")
        except Exception as exc:  # pandas raises many types for a broken file
            raise ValueError(f"{type(exc).__name__}: {exc}") from None
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in ("district", "psu") if c not in table.columns]
    if missing:
        raise KeyError(", ".join(missing))
    keep = [c for c in ("district", "psu", "interviewer") if c in table.columns]
    planned = table[keep]
    if "psu_name" in table.columns:
        by_name = table[keep].assign(psu=table["psu_name"]).dropna(subset=["psu"])
        planned = pd.concat([planned, by_name], ignore_index=True)
    return planned.dropna(subset=["district", "psu"]).drop_duplicates().reset_index(drop=True)


@st.cache_resource(show_spinner=False, max_entries=16)
def _cached_check(url: str, questionnaire_id: str, version: str, fingerprint: str,
                  thresholds: tuple[float, float, float], _form: Questionnaire, _data: pd.DataFrame,
                  _assignments: pd.DataFrame | None) -> QualityCheck:
    speed, nonresponse, duplicate = thresholds
    return check_quality(_data, _form, assignments=_assignments, speed_ratio=speed,
                         nonresponse_threshold=nonresponse, duplicate_share=duplicate)


def _quality(url: str, form: Questionnaire, data: pd.DataFrame, thresholds: tuple[float, float, float],
             assignments: pd.DataFrame | None) -> QualityCheck:
    # Submitted answers never change, so the interviews checked and the settings decide the
    # result; a decision (a status change) does not recompute it.
    digest = hashlib.sha256("\n".join(sorted(data["interview_id"])).encode())
    if assignments is not None:
        digest.update(pd.util.hash_pandas_object(assignments, index=False).to_numpy().tobytes())
    return _cached_check(url, form.id, form.version, digest.hexdigest(), thresholds, form, data, assignments)


def _metrics(check: QualityCheck, data: pd.DataFrame, lang: str) -> None:
    flags = check.flags.to_frame() if check.flags is not None else pd.DataFrame({"n_flags": []})
    columns = st.columns(5)
    values = [
        ("metric_checked", len(flags)), ("metric_flagged", int((flags["n_flags"] > 0).sum())),
        ("metric_refusals", check.refusals), ("metric_approved", int((data["status"] == "approved").sum())),
        ("metric_rejected", int((data["status"] == "rejected").sum())),
    ]
    for column, (key, value) in zip(columns, values):
        column.metric(t(f"review.{key}", lang), value)


# -- interviews --------------------------------------------------------------------------------


def _interviews_tab(check: QualityCheck, data: pd.DataFrame, form: Questionnaire, lang: str) -> None:
    flags = check.flags
    table = flags.to_frame()
    speed = flags.parameters["speed_ratio"]
    st.altair_chart(duration_chart(table["duration"], flags.median_duration, speed, lang), width="stretch")
    cap = _duration_cap(flags.median_duration, speed)
    st.caption(t("review.duration_caption", lang, cap=_minutes(cap)))
    left, right = st.columns([1, 2])
    only_flagged = left.toggle(t("review.only_flagged", lang), value=True, key=f"{_KEY}only_flagged")
    chosen = right.multiselect(t("review.flag_filter", lang), list(flags.checked),
                               format_func=lambda name: t(f"review.flag_{name}", lang),
                               placeholder=t("review.any_flag", lang), select_all=SELECT_ALL,
                               key=f"{_KEY}flag_filter")
    shown = interview_table(check, data, form, lang)
    mask = pd.Series(True, index=shown.index)
    if only_flagged:
        mask &= table["n_flags"].to_numpy() > 0
    for name in chosen:
        mask &= table[name].to_numpy()
    st.caption(t("review.shown", lang, n=int(mask.sum()), total=len(shown)))
    labels = {name: t(f"review.col_{name}", lang) for name in
              ("interview", "interviewer", "district", "psu", "status", "started", "flags", "reasons")}
    config: dict[str, Any] = {name: st.column_config.TextColumn(label) for name, label in labels.items()}
    config["reasons"] = st.column_config.TextColumn(labels["reasons"], width="large")
    config["minutes"] = st.column_config.NumberColumn(t("review.col_minutes", lang), format="%.1f")
    st.dataframe(shown.loc[mask], hide_index=True, width="stretch", column_config=config,
                 key=f"{_KEY}interviews_table")
    st.download_button(t("review.download_flags", lang), csv_bytes(table),
                       file_name=f"quality_checks_{form.id}.csv", mime="text/csv", on_click="ignore",
                       icon=":material/download:", key=f"{_KEY}download_flags")


def interview_table(check: QualityCheck, data: pd.DataFrame, form: Questionnaire, lang: str) -> pd.DataFrame:
    """One row per checked interview: who, where, status, duration and the flags with their reasons."""
    table = check.flags.to_frame()
    status = data.set_index("interview_id")["status"].reindex(table["interview_id"]).to_numpy()
    started = data.set_index("interview_id")["started_at"].reindex(table["interview_id"])
    districts = _district_names(lang)
    separator = "、" if lang == "zh" else ", "
    return pd.DataFrame({
        "interview": table["interview_id"].str[:8].to_numpy(),
        "interviewer": table["interviewer"].to_numpy(),
        "flags": [separator.join(t(f"review.flag_{name}", lang) for name in FLAGS if row[name])
                  for _, row in table.iterrows()],
        "reasons": [reasons(row, check, form, lang) for _, row in table.iterrows()],
        "status": [t(f"review.status_{s}", lang) for s in status],
        "minutes": (table["duration"] / 60).to_numpy(),
        "district": table["district"].map(lambda d: districts.get(d, d)).to_numpy(),
        "psu": table["psu"].to_numpy(),
        "started": started.dt.tz_convert(LOCAL_TIME).dt.strftime("%Y-%m-%d %H:%M").to_numpy(),
    }, index=table.index)


def reasons(row: pd.Series, check: QualityCheck, form: Questionnaire, lang: str) -> str:
    """The reasons of one interview's flags, in the interface language."""
    flags = check.flags
    parts = []
    if row["too_fast"]:
        if row["duration"] < 0:
            parts.append(t("review.why_negative", lang))
        else:
            parts.append(t("review.why_too_fast", lang, minutes=_minutes(row["duration"]),
                           median=_minutes(flags.median_duration),
                           ratio=format_percent(flags.parameters["speed_ratio"], decimals=0)))
    if row["straightlining"]:
        grids = [_grid_label(name.strip(), form, lang) for name in row["straightlined_grids"].split(",")]
        parts.append(t("review.why_straightlining", lang, grids=("、" if lang == "zh" else ", ").join(grids)))
    if row["item_nonresponse"]:
        parts.append(t("review.why_item_nonresponse", lang, share=format_percent(row["item_nonresponse_share"])))
    if row["near_duplicate"]:
        parts.append(t("review.why_near_duplicate", lang, other=str(row["duplicate_of"])[:8],
                       share=format_percent(row["duplicate_share"])))
    if row["outside_psu"]:
        district = _district_names(lang).get(row["district"], row["district"])
        parts.append(t("review.why_outside_psu", lang, district=district, psu=row["psu"]))
    return "；".join(parts) if lang == "zh" else "; ".join(parts)


def _grid_label(grid: str, form: Questionnaire, lang: str) -> str:
    """A grid's screen title (grids are named after their screen, ``screen:list`` when it has several)."""
    group = grid.split(":", 1)[0]
    names = {g.name: g for g in form.groups}
    if group not in names or names[group].label is None:
        return grid
    return names[group].label.get(lang) or names[group].label.zh


def duration_chart(durations: pd.Series, median: float, speed_ratio: float, lang: str) -> alt.LayerChart:
    """Histogram of the durations (minutes) with the too-fast limit as a red line."""
    cap = _duration_cap(median, speed_ratio)
    minutes = np.clip(durations.dropna().to_numpy(dtype=float), 0, cap) / 60
    limit = speed_ratio * median / 60
    axis = t("review.duration_axis", lang)
    bars = alt.Chart(pd.DataFrame({"minutes": minutes})).mark_bar(color="#5b7aa6").encode(
        x=alt.X("minutes:Q", bin=alt.Bin(maxbins=40), title=axis),
        y=alt.Y("count():Q", title=t("review.count_axis", lang)),
    )
    line = pd.DataFrame({"limit": [limit], "label": [t("review.too_fast_line", lang, minutes=f"{limit:.1f}")]})
    rule = alt.Chart(line).mark_rule(color="#c62828", strokeDash=[6, 3], size=2).encode(
        x="limit:Q", tooltip=alt.Tooltip("label:N", title=" "))
    text = alt.Chart(line).mark_text(align="left", dx=4, dy=-6, color="#c62828", baseline="top").encode(
        x="limit:Q", y=alt.value(0), text="label:N")
    return alt.layer(bars, rule, text).properties(title=t("review.duration_chart", lang), height=220)


def _duration_cap(median: float, speed_ratio: float) -> float:
    return max(3 * median, speed_ratio * median) if math.isfinite(median) and median > 0 else 3600.0


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f}" if math.isfinite(seconds) else "–"


# -- interviewers ------------------------------------------------------------------------------


def _interviewers_tab(check: QualityCheck, form: Questionnaire, lang: str) -> None:
    review = check.interviewers
    table = interviewer_table(check, form, lang)
    if review.to_frame()["anomaly_score"].notna().any():
        st.altair_chart(score_chart(table, lang), width="stretch")
    else:
        st.info(t("review.few_interviewers", lang, n=5))
    st.caption(t("review.score_caption", lang))
    config: dict[str, Any] = {
        "interviewer": st.column_config.TextColumn(t("review.col_interviewer", lang)),
        "n_interviews": st.column_config.NumberColumn(t("review.col_n_interviews", lang)),
        "anomaly_score": st.column_config.ProgressColumn(t("review.col_anomaly", lang), min_value=0.0, max_value=1.0,
                                                         format="%.3f"),
        "drivers": st.column_config.TextColumn(t("review.col_drivers", lang)),
    }
    for feature in [*review.features, "share_flagged"]:
        label = feature_label(feature, form, lang)
        if feature == "median_duration":
            config[feature] = st.column_config.NumberColumn(label, format="%.1f")
        elif feature.startswith("share_"):
            config[feature] = st.column_config.NumberColumn(label, format=STREAMLIT_PERCENT)
        else:
            config[feature] = st.column_config.NumberColumn(label, format="%.3f")
    st.dataframe(table, hide_index=True, width="stretch", column_config=config, key=f"{_KEY}interviewers_table")


def interviewer_table(check: QualityCheck, form: Questionnaire, lang: str) -> pd.DataFrame:
    """One row per interviewer, highest anomaly score first: score, what drove it, then the indicators.

    Durations are in minutes and shares in percent.
    """
    review = check.interviewers
    frame = review.to_frame()
    table = frame[["anomaly_score"]].reset_index()
    table["drivers"] = [drivers(row, review.features, form, lang) for _, row in frame.iterrows()]
    table["n_interviews"] = frame["n_interviews"].to_numpy()
    for feature in dict.fromkeys([*review.features, "share_flagged"]):
        values = frame[feature].to_numpy(dtype=float)
        if feature == "median_duration":
            values = values / 60
        elif feature.startswith("share_"):
            values = values * 100
        table[feature] = values
    return table


def drivers(row: pd.Series, features: tuple[str, ...], form: Questionnaire, lang: str) -> str:
    """The (at most) two indicators with the largest robust z-scores, named in the interface language."""
    z = np.array([row[f"z_{name}"] for name in features], dtype=float)
    size = np.abs(np.nan_to_num(z, nan=0.0))
    top = [i for i in np.argsort(-size, kind="stable")[:2] if size[i] > 0]
    separator = "；" if lang == "zh" else "; "
    return separator.join(f"{feature_label(features[i], form, lang)} (z={z[i]:+.1f})" for i in top)


def feature_label(feature: str, form: Questionnaire, lang: str) -> str:
    """The name of an interviewer indicator in the interface language."""
    if feature == "median_duration":
        return t("review.feature_median_duration", lang)
    if feature == "share_flagged":
        return t("review.feature_share_flagged", lang)
    if feature.startswith("share_"):
        return t("review.feature_share", lang, flag=t(f"review.flag_{feature.removeprefix('share_')}", lang))
    question = feature.removeprefix("distribution_difference_")
    names = {q.name: q for q in form.questions}
    label = names[question].label.get(lang) or names[question].label.zh if question in names else question
    return t("review.feature_distribution", lang, question=_shorten(label, 12))


def score_chart(table: pd.DataFrame, lang: str) -> alt.Chart:
    """Bars of the anomaly score per interviewer, highest first, with what drove it in the tooltip."""
    data = table[["interviewer", "anomaly_score", "n_interviews", "drivers"]].dropna(subset=["anomaly_score"])
    bars = alt.Chart(data).mark_bar(color="#8e6bb8").encode(
        x=alt.X("anomaly_score:Q", title=t("review.score_axis", lang), scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("interviewer:N", sort="-x", title=t("review.col_interviewer", lang),
                axis=alt.Axis(labelOverlap=False)),
        tooltip=[alt.Tooltip("interviewer:N", title=t("review.col_interviewer", lang)),
                 alt.Tooltip("anomaly_score:Q", title=t("review.col_anomaly", lang), format=".3f"),
                 alt.Tooltip("n_interviews:Q", title=t("review.col_n_interviews", lang)),
                 alt.Tooltip("drivers:N", title=t("review.col_drivers", lang))],
    )
    # about 0.5 is an ordinary interviewer
    ordinary = alt.Chart(pd.DataFrame({"score": [0.5]})).mark_rule(color="#757575", strokeDash=[4, 3]).encode(
        x="score:Q")
    return alt.layer(bars, ordinary).properties(title=t("review.score_chart", lang), height=max(120, 26 * len(data)))


# -- reviewing one interview -------------------------------------------------------------------


def _review_tab(user: User, form: Questionnaire, check: QualityCheck, data: pd.DataFrame, lang: str) -> None:
    flags = check.flags.to_frame().set_index("interview_id") if check.flags is not None else pd.DataFrame()
    n_flags = flags["n_flags"] if "n_flags" in flags else pd.Series(dtype=int)
    order = data.assign(_n=data["interview_id"].map(n_flags).fillna(-1)).sort_values(
        ["_n", "started_at"], ascending=[False, True], kind="stable")
    rows = order.set_index("interview_id")

    def line(iid: str) -> str:
        count = n_flags.get(iid)
        return t("review.pick_line", lang, id=iid[:8], interviewer=rows.at[iid, "interviewer"],
                 status=t(f"review.status_{rows.at[iid, 'status']}", lang),
                 n="–" if count is None else int(count))

    iid = st.selectbox(t("review.pick", lang), list(rows.index), format_func=line, key=f"{_KEY}interview",
                       placeholder=choose_placeholder(lang))
    if iid is None:
        return
    interview = get_store().get_interview(iid)
    row = rows.loc[iid]
    duration = (row["submitted_at"] - row["started_at"]).total_seconds()
    # Interviewer-typed PSUs and stored texts are data: shown as literal text, never as Markdown.
    st.write(t("review.details", lang, interviewer=md_text(row["interviewer"]),
               district=md_text(_district_names(lang).get(row["sample_district"], row["sample_district"])),
               psu=md_text(row["psu"]),
               started=row["started_at"].tz_convert(LOCAL_TIME).strftime("%Y-%m-%d %H:%M"),
               minutes=_minutes(duration)))
    st.write(t("review.current_status", lang, status=t(f"review.status_{interview.status}", lang)))
    if interview.void_reason:
        st.caption(t("review.current_reason", lang, reason=md_text(_reason_words(interview.void_reason, lang))))
    if iid in flags.index and flags.at[iid, "n_flags"] > 0:
        st.warning(md_text(reasons(flags.loc[iid], check, form, lang)))
    elif iid in flags.index:
        st.caption(t("review.no_flags", lang))
    else:
        st.caption(t("review.refusal", lang))
    with st.expander(t("review.answers", lang)):
        st.dataframe(answers_table(form, interview.answers, lang), hide_index=True, width="stretch",
                     key=f"{_KEY}answers")
    if interview.status == "voided":
        st.info(t("review.voided_final", lang))
        return
    keys = decision_keys(iid)  # per interview, so that its flag's reason is the suggestion
    decision = st.radio(t("review.decision", lang), DECISIONS, horizontal=True,
                        format_func=lambda d: t(f"review.decision_{d}", lang), key=keys[0])
    first_flag = next((name for name in FLAGS if iid in flags.index and flags.at[iid, name]), None)
    reason = st.selectbox(t("review.reason", lang), REASONS, index=None if first_flag is None else
                          REASONS.index(first_flag), format_func=lambda r: t(f"review_reasons.{r}", lang),
                          disabled=decision == "approve", key=keys[1],
                          placeholder=choose_placeholder(lang))
    comment = st.text_area(t("review.comment", lang), max_chars=1000, key=keys[2])
    if not st.button(t("review.submit", lang), type="primary", key=f"{_KEY}submit"):
        return
    if decision != "approve" and reason is None:
        st.error(t("review.need_reason", lang))
        return
    if decision != "approve" and reason == "other" and not comment.strip():
        st.error(t("review.need_comment", lang))
        return
    try:
        after = review_interview(get_store(), get_accounts(), user, iid, decision,
                                 reason=None if decision == "approve" else reason, comment=comment)
    except ConcurrentUpdateError:
        st.error(t("review.changed", lang))
        return
    except InvalidReviewError as exc:
        st.error(t("review.invalid", lang, detail=exc))
        return
    st.session_state[_NOTICE] = (iid, after.status)
    st.rerun()


def decision_keys(interview_id: str) -> tuple[str, str, str]:
    """The widget keys of the decision form of one interview: decision, reason, comment."""
    return tuple(f"{_KEY}{name}_{interview_id}" for name in ("decision", "reason", "comment"))


def answers_table(form: Questionnaire, answers: Mapping[str, Any], lang: str) -> pd.DataFrame:
    """The interview's answers in questionnaire order, with question and choice labels."""
    rows = []
    for question in form.questions:
        if question.name not in answers:
            continue
        value = answers[question.name]
        if question.type in ("select_one", "select_multiple", "rank"):  # not choices from a file
            labels = {c.name: c.label.get(lang) or c.label.zh for c in form.choices(question)}
            codes = value if isinstance(value, list) else [value]
            shown = ("、" if lang == "zh" else ", ").join(str(labels.get(code, code)) for code in codes)
        else:
            shown = str(value)
        # an XLSForm's calculate and metadata rows have no label
        label = question.name if question.label is None else question.label.get(lang) or question.label.zh
        rows.append({"question": label, "answer": shown})
    known = {q.name for q in form.questions}
    rows += [{"question": name, "answer": str(value)} for name, value in answers.items() if name not in known]
    return pd.DataFrame(rows, columns=["question", "answer"]).rename(
        columns={"question": t("review.col_question", lang), "answer": t("review.col_answer", lang)})


def _reason_words(stored: str, lang: str) -> str:
    """A stored reason (``code`` or ``code: comment``) with the code in words."""
    code, _, comment = (part.strip() for part in stored.partition(":"))
    if code not in REASONS:
        return stored  # free text, e.g. from the interviewing page
    words = t(f"review_reasons.{code}", lang)
    if not comment:
        return words
    return f"{words}：{comment}" if lang == "zh" else f"{words}: {comment}"


# -- exclusions and the log --------------------------------------------------------------------


def _exclusions(store: ResponseStore, form_id: str, wave: str | None, lang: str) -> None:
    st.divider()
    st.subheader(t("review.excluded", lang))
    table = excluded_interviews(store, wave=wave, questionnaire_id=form_id).to_frame()
    if table.empty:
        st.caption(t("review.excluded_none", lang))
        return
    separator = "、" if lang == "zh" else ", "
    for status, rows in table.groupby("status", sort=False):
        reasons_text = separator.join(f"{t(f'review_reasons.{r}', lang)} {n}"
                                      for r, n in zip(rows["reason"], rows["interviews"]))
        st.write(t("review.excluded_line", lang, status=t(f"review.status_{status}", lang),
                   n=int(rows["interviews"].sum()), reasons=reasons_text))


def _history(user: User, form: Questionnaire, lang: str) -> None:
    """The review decisions on this questionnaire's interviews, newest first, from the audit log."""
    log = get_accounts().audit_log(user, limit=5000)
    log = log.loc[log["action"].isin(REVIEW_ACTIONS)]
    details = [json.loads(text) for text in log["detail"]]
    mine = [str(d.get("questionnaire", "")).split(" ")[0] in ("", form.id) for d in details]
    log = log.loc[mine]
    details = [d for d, keep in zip(details, mine) if keep]
    if log.empty:
        st.caption(t("review.log_empty", lang))
        return
    shown = pd.DataFrame({
        "at": log["at"].dt.tz_convert(LOCAL_TIME).dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy(),
        "actor": log["actor"].to_numpy(),
        "action": log["action"].map(lambda a: t(f"review.action_{a}", lang)).to_numpy(),
        "interview": log["target"].str[:8].to_numpy(),
        "interviewer": [d.get("interviewer", "") for d in details],
        "reason": [t(f"review_reasons.{d['reason']}", lang) if d.get("reason") in REASONS else "" for d in details],
        "comment": [d.get("comment") or d.get("why", "") for d in details],
    })
    config = {name: st.column_config.TextColumn(t(f"review.col_{name}", lang))
              for name in ("at", "actor", "action", "interview", "interviewer", "reason", "comment")}
    st.dataframe(shown, hide_index=True, width="stretch", column_config=config, key=f"{_KEY}history")


def _district_names(lang: str) -> dict[str, str]:
    return {c.name: c.label.get(lang) or c.label.zh for c in load_districts()}


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


if __name__ == "__main__":
    render()
