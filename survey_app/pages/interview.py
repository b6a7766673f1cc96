"""Tablet interviewing: start screen, one screen per question group, end screen.

Everything that must survive a refresh, a dropped connection or a server restart is in
the response store or the URL: the query parameter ``interview`` holds the interview id
(the store holds its answers and current screen) and ``lang`` the language. Each answer is
saved as it is entered. The decisions (which screen comes next, what is wrong) are in
:mod:`survey_app.interview_flow`.

When the statistician has stored the field assignments of the wave (planning page,
:mod:`survey_app.assignments`), the start screen offers the assigned districts and PSUs, each
with the interviews already submitted there, instead of a text box for the PSU, so every
interview carries a PSU id of the plan and gets its design weight. The start screen comes
back with the questionnaire, wave, district and PSU of the interviewer's last interview
(after a pause, after the end screen, and from the store after a reload).

Only signed-in interviewers use the page, and only for their own interviews: the
interviewer code is the account's user name, the drafts list shows only the account's
drafts, and opening or changing another interviewer's interview is refused on the server
(also in the answer callbacks, which run before the page).
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from questionnaires import Question, Questionnaire, load_districts
from questionnaires.model import language_code
from survey_app import interview_flow as flow
from survey_app.auth import PermissionDeniedError, User, check_own_interview, current_user, require_role
from survey_app.assignments import get_assignment_store
from survey_app.errors import SurveyAppError
from survey_app.i18n import current_language, register, t
from survey_app.review import available_questionnaires
from survey_app.store import Interview, InterviewNotFoundError, InvalidArgumentError, ResponseStore, default_url
from survey_app.field_values import valid_psu, valid_wave
from survey_app.ui import SELECT_ALL, choose_placeholder, error_boundary, get_store, md_text, tablet_style

INTERVIEW_PARAM = "interview"
# Times are stored in UTC and shown in Nantong's time.
LOCAL_TIME = ZoneInfo("Asia/Shanghai")
_ATTEMPTED = "_interview_attempted"  # (interview id, screen) whose Next was refused
_NOTICE = "_interview_notice"
_SAVE_ERROR = "_interview_save_error"
_START = "_start_"  # prefix of the start form's widget keys

register(
    "interview",
    {
        "start_title": {"zh": "开始访问", "en": "Start an interview"},
        "interviewer": {"zh": "访问员编号", "en": "Interviewer code"},
        "questionnaire": {"zh": "问卷", "en": "Questionnaire"},
        "district": {"zh": "抽样区县", "en": "Sampled district"},
        "psu": {"zh": "抽样单元（社区/村）", "en": "Sampling unit (community/village)"},
        "wave": {"zh": "调查轮次", "en": "Survey wave"},
        "assigned_district": {"zh": "抽样区县（按访问任务）", "en": "Sampled district (from the assignments)"},
        "assigned_psu": {"zh": "抽样单元（按访问任务）", "en": "Sampling unit (from the assignments)"},
        "assigned_psu_option": {
            "zh": "{psu} — {name}（已完成 {done}/{n}）",
            "en": "{psu} — {name} ({done} of {n} interviews done)",
        },
        "assigned_caption": {
            "zh": "第 {wave} 轮已下达访问任务：{psus} 个抽样单元，请从中选择。",
            "en": "Wave {wave} has field assignments ({psus} sampling units): pick one of them.",
        },
        "start": {"zh": "开始访问", "en": "Start interview"},
        "missing_fields": {"zh": "请填写：{fields}", "en": "Please fill in: {fields}"},
        "field_separator": {"zh": "、", "en": ", "},
        "drafts_title": {"zh": "未完成的访问", "en": "Unfinished interviews"},
        "drafts_none": {"zh": "没有未完成的访问。", "en": "No unfinished interviews."},
        "draft_line": {
            "zh": "{district} · {psu} · 开始于 {started} · 已答 {n} 题",
            "en": "{district} · {psu} · started {started} · {n} answers",
        },
        "resume": {"zh": "继续", "en": "Resume"},
        "discard": {"zh": "作废", "en": "Discard"},
        "discard_confirm": {"zh": "确认作废此访问", "en": "Yes, discard this interview"},
        "discard_reason": {"zh": "访问员作废草稿", "en": "draft discarded by the interviewer"},
        "discarded": {"zh": "访问已作废。", "en": "The interview was discarded."},
        "progress": {"zh": "第 {position} / {total} 页", "en": "Screen {position} of {total}"},
        "back": {"zh": "上一页", "en": "Back"},
        "next": {"zh": "下一页", "en": "Next"},
        "submit": {"zh": "提交", "en": "Submit"},
        "pause": {"zh": "暂停，稍后继续", "en": "Pause and resume later"},
        "autosave": {
            "zh": "答案自动保存。访问编号 {id}",
            "en": "Answers are saved automatically. Interview {id}",
        },
        "fix_errors": {"zh": "请先更正标红的题目。", "en": "Please correct the questions marked in red."},
        "required_mark": {"zh": "（必答）", "en": " (required)"},
        # XLSForm questions (issue 18)
        "odk_only": {
            "zh": "此题请用 ODK Collect 采集（浏览器无法采集{kind}）。",
            "en": "Collect this question with ODK Collect (a browser cannot take {kind}).",
        },
        "odk_kind_geopoint": {"zh": "位置", "en": "a location"},
        "odk_kind_media": {"zh": "照片、录音或文件", "en": "photos, recordings or files"},
        "odk_kind_barcode": {"zh": "条形码", "en": "a barcode"},
        "odk_kind_repeat": {"zh": "重复组或循环中的题目", "en": "questions inside a repeat or a loop"},
        "odk_kind_other": {"zh": "此类题目", "en": "this type of question"},
        "rank_hint": {"zh": "按顺序点选：先选的排在前面。", "en": "Pick in order: the first picked ranks first."},
        "acknowledge": {"zh": "确认（OK）", "en": "Confirm (OK)"},
        "form_language": {"zh": "问卷语言", "en": "Questionnaire language"},
        "version_changed": {
            "zh": "此访问开始时使用问卷版本 {old}，现在的版本是 {new}。",
            "en": "This interview started with questionnaire version {old}; the current version is {new}.",
        },
        "unknown_questionnaire": {
            "zh": "此访问使用的问卷“{id}”已不存在。",
            "en": "The questionnaire {id!r} of this interview no longer exists.",
        },
        "not_found": {
            "zh": "找不到此访问（编号 {id}）。",
            "en": "This interview (id {id}) was not found.",
        },
        "to_start": {"zh": "返回开始页", "en": "Back to the start screen"},
        "done_title": {"zh": "访问已提交，谢谢！", "en": "Interview submitted. Thank you!"},
        "done_detail": {
            "zh": "访问编号 {id}，共 {n} 个答案，提交于 {time}。",
            "en": "Interview {id}: {n} answers, submitted {time}.",
        },
        "next_interview": {"zh": "开始下一个访问", "en": "Start the next interview"},
        "change_settings": {"zh": "更改访问设置", "en": "Change settings"},
        "voided": {"zh": "此访问已作废：{reason}", "en": "This interview was voided: {reason}"},
        # Wave and PSU are shown on other users' pages and written into downloads: plain labels only.
        "bad_wave": {
            "zh": "调查轮次“{wave}”无效：请填写年份（2026）、季度（2026Q1）、半年（2026H1）、月份（2026-03），"
                  "或由文字、数字、空格、“-”和“_”组成的简短名称。",
            "en": "The wave “{wave}” is not valid: enter a year (2026), quarter (2026Q1), half year (2026H1), "
                  "month (2026-03) or a short name of letters, digits, spaces, “-” and “_”.",
        },
        "bad_psu": {
            "zh": "抽样单元“{psu}”无效：只能使用文字、数字、空格和 - _ . / · （），并以文字或数字开头。",
            "en": "The PSU “{psu}” is not valid: use letters, digits, spaces and - _ . / · （） only, "
                  "starting with a letter or digit.",
        },
        "not_assigned_psu": {
            "zh": "抽样单元“{psu}”不在本轮该区县的样本分配中，请从列表中选择。",
            "en": "The PSU “{psu}” is not in this wave's assignments for the district; pick one from the list.",
        },
    },
)


def render() -> None:
    """Draw the page for the current URL (signed-in interviewers, their own interviews)."""
    user = require_role("interviewer")
    tablet_style()
    lang = current_language()
    with error_boundary():
        notice = st.session_state.pop(_NOTICE, None)
        if notice:
            st.info(t(notice, lang))
        save_error = st.session_state.pop(_SAVE_ERROR, None)
        if save_error is not None:
            raise save_error
        interview_id = st.query_params.get(INTERVIEW_PARAM)
        if not interview_id:
            _start_screen(user, lang)
            return
        store = get_store()
        try:
            interview = store.get_interview(interview_id)
            check_own_interview(user, interview.interviewer)
        except (InterviewNotFoundError, InvalidArgumentError, PermissionDeniedError):
            # One message for an unknown id and another interviewer's: the page does not tell which
            # ids exist or who owns them. The id comes from the URL: shown as literal text.
            st.warning(t("interview.not_found", lang, id=md_text(interview_id)))
            _to_start_button(lang)
            return
        if interview.status in ("submitted", "approved", "rejected"):
            _end_screen(store, interview, lang)
        elif interview.status == "voided":
            st.warning(t("interview.voided", lang, reason=md_text(interview.void_reason)))
            _to_start_button(lang)
        else:
            _interview_screen(store, interview, lang)


# -- start screen ---------------------------------------------------------------------


def _start_screen(user: User, lang: str) -> None:
    forms = available_questionnaires(get_store())
    districts = {choice.name: choice.label for choice in load_districts()}
    assignments = get_assignment_store(default_url())
    st.header(t("interview.start_title", lang))
    # The start form's widgets are forgotten while an interview is on screen: they start again
    # from the interviewer's last interview.
    last, this_session = _last_settings(user, get_store())
    if last.get("questionnaire") in forms:
        _init(f"{_START}questionnaire", last["questionnaire"])
    # The wave of the interview last shown in this session, else that of the latest field assignments,
    # else of the last interview, else the year: what the interviewer usually wants.
    _init(f"{_START}wave", (this_session and last["wave"]) or assignments.latest_wave() or last.get("wave")
          or str(datetime.now(LOCAL_TIME).year))
    # The code is the account's: shown, not typed, so nobody enters interviews under another code.
    interviewer = user.username
    st.session_state[f"{_START}interviewer"] = interviewer
    st.text_input(t("interview.interviewer", lang), key=f"{_START}interviewer", disabled=True)
    form_id = st.radio(
        t("interview.questionnaire", lang),
        list(forms),
        format_func=lambda qid: forms[qid].title.get(lang),
        key=f"{_START}questionnaire",
    )
    # Before district and PSU: the wave decides whether they come from an assignment list.
    wave = st.text_input(t("interview.wave", lang), key=f"{_START}wave").strip()
    assigned = assignments.progress(wave, questionnaire_id=form_id) if wave else None
    if assigned is None:
        if last.get("district") in districts:
            _init(f"{_START}district", last["district"])
        _init(f"{_START}psu", last.get("psu", ""))
        # Radio buttons, not a drop-down: a drop-down's text box opens the tablet's keyboard.
        district = st.radio(
            t("interview.district", lang),
            list(districts),
            index=None,
            format_func=lambda code: districts[code].get(lang),
            horizontal=True,
            key=f"{_START}district",
        )
        psu = st.text_input(t("interview.psu", lang), key=f"{_START}psu").strip()
    else:
        district, psu = _assigned_psu(assigned, districts, wave, last, lang)

    if st.button(t("interview.start", lang), type="primary", width="stretch", key="start"):
        fields = {
            "interview.interviewer": interviewer,
            "interview.questionnaire": form_id,
            "interview.district": district,
            "interview.psu": psu,
            "interview.wave": wave,
        }
        missing = [t(key, lang) for key, value in fields.items() if not value]
        if missing:
            st.error(t("interview.missing_fields", lang, fields=t("interview.field_separator", lang).join(missing)))
        elif not valid_wave(wave):
            st.error(t("interview.bad_wave", lang, wave=md_text(wave)))
        elif assigned is not None and psu not in set(assigned.loc[assigned["district"] == district, "psu"]):
            st.error(t("interview.not_assigned_psu", lang, psu=md_text(psu)))
        elif not valid_psu(psu):
            st.error(t("interview.bad_psu", lang, psu=md_text(psu)))
        else:
            store = get_store()
            _open(
                _start(store, forms[form_id], interviewer=interviewer, district=district, psu=psu, wave=wave)
            )

    st.divider()
    _drafts_list(forms, districts, interviewer, lang)


def _assigned_psu(
    assigned: pd.DataFrame, districts: dict[str, Any], wave: str, last: dict[str, str], lang: str
) -> tuple[str | None, str | None]:
    """District and PSU picked from the wave's assignment list (with the interviews done in each PSU);
    the interviewer's ``last`` district and PSU are preselected when the list has them."""
    st.caption(t("interview.assigned_caption", lang, wave=md_text(wave), psus=len(assigned)))
    listed = set(assigned["district"])
    codes = [code for code in districts if code in listed]  # the districts' usual order
    if last.get("district") in codes:
        _init(f"{_START}assigned_district_{wave}", last["district"])
    # Own keys: the options differ from the free-entry widgets', and so may the wave's list.
    district = st.radio(
        t("interview.assigned_district", lang),
        codes,
        index=None,
        format_func=lambda code: districts[code].get(lang),
        horizontal=True,
        key=f"{_START}assigned_district_{wave}",
    )
    if district is None:
        return None, None
    rows = assigned[assigned["district"] == district]
    labels = {
        # Radio labels are Markdown; codes and names come from the uploaded frame.
        row.psu: t("interview.assigned_psu_option", lang, psu=md_text(row.psu), name=md_text(row.psu_name),
                   done=row.done, n=row.interviews)
        for row in rows.itertuples(index=False)
    }
    if district == last.get("district") and last.get("psu") in labels:
        _init(f"{_START}assigned_psu_{wave}_{district}", last["psu"])
    psu = st.radio(
        t("interview.assigned_psu", lang),
        list(labels),
        index=None,
        format_func=labels.__getitem__,
        key=f"{_START}assigned_psu_{wave}_{district}",
    )
    return district, psu


def _last_settings(user: User, store: ResponseStore) -> tuple[dict[str, str], bool]:
    """The questionnaire, wave, district and PSU of the interviewer's last interview, and whether that
    interview was shown in this browser session (else it is the last one stored: after a reload, or
    on another tablet); no settings before the first interview."""
    remembered = st.session_state.get(_last_key(user.username))
    if remembered is not None:
        return remembered, True
    latest = store.latest_interview(user.username)
    return ({} if latest is None else _settings_of(latest)), False


def _remember(interview: Interview) -> None:
    """Keep the interview's settings for the interviewer's next start form in this session."""
    st.session_state[_last_key(interview.interviewer)] = _settings_of(interview)


def _last_key(username: str) -> str:
    # Per user: another interviewer signing in on the same tablet gets their own settings.
    return f"_interview_last_{username.lower()}"


def _settings_of(interview: Interview) -> dict[str, str]:
    return {"questionnaire": interview.questionnaire_id, "wave": interview.wave, "district": interview.district,
            "psu": interview.psu}


def _start(
    store: ResponseStore, questionnaire: Questionnaire, *, interviewer: str, district: str, psu: str, wave: str
) -> str:
    # The sampled district is also the respondent's district unless the interviewer changes it.
    prefill = {}
    if "district" in {q.name for q in questionnaire.questions}:
        codes = {choice.name for choice in questionnaire.choices("district")}
        if district in codes:
            prefill["district"] = district
    return store.start_interview(
        questionnaire.id,
        questionnaire.version,
        interviewer=interviewer,
        district=district,
        psu=psu,
        wave=wave,
        answers=prefill,
    )


def _drafts_list(forms: dict[str, Questionnaire], districts: dict[str, Any], interviewer: str, lang: str) -> None:
    st.subheader(t("interview.drafts_title", lang))
    store = get_store()
    drafts = store.drafts(interviewer)
    if not drafts:
        st.caption(t("interview.drafts_none", lang))
        return
    for draft in drafts:
        form = forms.get(draft.questionnaire_id)
        title = form.title.get(lang) if form else draft.questionnaire_id
        district = districts[draft.district].get(lang) if draft.district in districts else draft.district
        with st.container(border=True):
            st.markdown(f"**{title}**")
            st.caption(
                t(
                    "interview.draft_line",
                    lang,
                    district=md_text(district),
                    psu=md_text(draft.psu),
                    started=_local(draft.started_at),
                    n=len(draft.answers),
                )
            )
            resume, discard = st.columns(2)
            if resume.button(t("interview.resume", lang), key=f"resume_{draft.id}", type="primary", width="stretch"):
                _open(draft.id)
            with discard.popover(t("interview.discard", lang), width="stretch"):
                if st.button(t("interview.discard_confirm", lang), key=f"discard_{draft.id}"):
                    store.void(draft.id, t("interview.discard_reason", lang))
                    st.session_state[_NOTICE] = "interview.discarded"
                    st.rerun()


# -- interview screens ----------------------------------------------------------------


def _interview_screen(store: ResponseStore, interview: Interview, lang: str) -> None:
    _remember(interview)
    questionnaire = available_questionnaires(store).get(interview.questionnaire_id)
    if questionnaire is None:
        st.error(t("interview.unknown_questionnaire", lang, id=interview.questionnaire_id))
        _to_start_button(lang)
        return
    if questionnaire.version != interview.questionnaire_version:
        st.warning(
            t("interview.version_changed", lang, old=interview.questionnaire_version, new=questionnaire.version)
        )
    answers = dict(interview.answers)
    recorded = flow.metadata_answers(questionnaire, answers, interviewer=interview.interviewer,
                                     started=interview.started_at, now=datetime.now(LOCAL_TIME))
    recorded = {key: value for key, value in recorded.items()
                if questionnaire.question(key).type != "end" and answers.get(key) != value}
    if recorded:  # the device's metadata (start, today, username) of an XLSForm, recorded once
        store.save_answers(interview.id, recorded)
        answers.update(recorded)
    index = flow.resume_screen(questionnaire, interview.page, answers)
    group = questionnaire.groups[index]
    position, total = flow.progress(questionnaire, index)

    _scroll_to_top(f"{interview.id}/{index}")
    form_lang = _form_language(questionnaire, interview.id, lang)
    st.caption(questionnaire.text(questionnaire.title, form_lang))
    st.progress(position / total, text=t("interview.progress", lang, position=position, total=total))
    if not group.implicit:  # questions outside any group have no heading of their own
        st.subheader(flow.piped(questionnaire, questionnaire.text(group.label, form_lang), answers, form_lang,
                                escape=md_text))
    attempted = st.session_state.get(_ATTEMPTED) == (interview.id, index)
    errors = flow.live_errors(questionnaire, index, answers, lang, include_required=attempted)
    for question in flow.shown_questions(questionnaire, index, answers):
        _question(questionnaire, question, interview.id, answers, errors.get(questionnaire.key(question)), lang,
                  form_lang)

    # "Submit" only when this screen is complete and nothing follows; before e.g. consent is
    # answered nothing follows yet, and the button must still read "Next".
    last = flow.next_screen(questionnaire, index, answers) is None and not flow.live_errors(
        questionnaire, index, answers, lang, include_required=True
    )
    back, forward = st.columns(2)
    previous = flow.previous_screen(questionnaire, index, answers)
    if back.button(t("interview.back", lang), disabled=previous is None, width="stretch", key="nav_back"):
        st.session_state.pop(_ATTEMPTED, None)
        store.set_page(interview.id, previous)
        st.rerun()
    label = t("interview.submit" if last else "interview.next", lang)
    if forward.button(label, type="primary", width="stretch", key="nav_next"):
        _go_forward(store, questionnaire, interview, index, answers, lang)
    if errors and attempted:
        st.error(t("interview.fix_errors", lang))
    st.divider()
    if st.button(t("interview.pause", lang), key="nav_pause"):
        st.query_params.pop(INTERVIEW_PARAM, None)
        st.rerun()
    st.caption(t("interview.autosave", lang, id=interview.id))


def _go_forward(
    store: ResponseStore, questionnaire: Questionnaire, interview: Interview, index: int, answers: dict, lang: str
) -> None:
    if flow.live_errors(questionnaire, index, answers, lang, include_required=True):
        st.session_state[_ATTEMPTED] = (interview.id, index)
        st.rerun()
    st.session_state.pop(_ATTEMPTED, None)
    following = flow.next_screen(questionnaire, index, answers)
    if following is not None:
        store.set_page(interview.id, following)
        st.rerun()
    check = flow.check_submission(questionnaire, answers, lang)
    if not check.ok:
        # An earlier screen went wrong since it was left (e.g. a changed constraint context).
        store.set_page(interview.id, check.screen)
        st.session_state[_ATTEMPTED] = (interview.id, check.screen)
        st.rerun()
    ended = flow.metadata_answers(questionnaire, answers, interviewer=interview.interviewer,
                                  started=interview.started_at, now=datetime.now(LOCAL_TIME))
    if ended:  # an XLSForm's end time (and its calculations) as they are at submission
        check = flow.check_submission(questionnaire, {**answers, **ended}, lang)
    store.submit(interview.id, check.answers)
    st.rerun()


def _form_language(questionnaire: Questionnaire, interview_id: str, lang: str) -> str:
    """The language the questionnaire's texts are shown in, chosen apart from the interface's.

    The project's own questionnaires follow the interface language. An XLSForm in other
    languages starts in the one matching the interface language (``English (en)`` for
    English), else in its default language, and offers the others.
    """
    languages = questionnaire.languages
    if questionnaire.strict or len(languages) < 2:
        return lang if questionnaire.strict else languages[0]
    matching = next((name for name in languages if language_code(name) == lang), questionnaire.default_language)
    key = f"_form_language_{interview_id}"
    if st.session_state.get(key) not in languages:
        st.session_state[key] = matching
    return st.selectbox(t("interview.form_language", lang), languages, key=key, placeholder=choose_placeholder(lang))


_ODK_KINDS = {"geopoint": "geopoint", "geotrace": "geopoint", "geoshape": "geopoint", "start-geopoint": "geopoint",
              "image": "media", "audio": "media", "video": "media", "file": "media", "background-audio": "media",
              "barcode": "barcode"}


def _question(
    questionnaire: Questionnaire,
    question: Question,
    interview_id: str,
    answers: dict[str, Any],
    error: str | None,
    lang: str,
    form_lang: str | None = None,
) -> None:
    form_lang = form_lang or lang
    name = questionnaire.key(question)

    def shown(text: Any) -> str:
        return flow.piped(questionnaire, questionnaire.text(text, form_lang), answers, form_lang, escape=md_text)

    label = shown(question.label) if question.label is not None else name
    if flow.mode(questionnaire, question) == "odk":
        inside_repeat = any(group.repeat or group.loop_over is not None
                            for group in questionnaire.parents(question))
        kind = "repeat" if inside_repeat else _ODK_KINDS.get(question.type, "other")
        st.info(f"{label}\n\n{t('interview.odk_only', lang, kind=t(f'interview.odk_kind_{kind}', lang))}")
        return
    if question.type == "note":
        st.info(label)
        return
    if question.required is True or (question.required is not False
                                     and name in questionnaire.missing_required(answers)):
        label += t("interview.required_mark", lang)
    # A widget per questionnaire language: Streamlit keeps a choice as its shown text, which
    # another language would turn into an unknown answer.
    key = answer_key(interview_id, name, None if questionnaire.strict else form_lang)
    # The store is the truth; the widget is filled from it whenever it (re)appears.
    _init(key, flow.to_widget(questionnaire, question, answers.get(name)))
    common: dict[str, Any] = {
        "key": key,
        "on_change": _save_answer,
        "args": (questionnaire, question, interview_id, key),
    }
    hint = shown(question.hint) if question.hint else None
    appearance = (question.appearance or "").split()
    kind = question.type
    if kind in ("select_one", "select_multiple", "rank"):
        offered = flow.choices(questionnaire, question, answers)
        choices = {choice.name: questionnaire.text(choice.label, form_lang) for choice in offered}
        if kind == "select_multiple":
            st.pills(label, list(choices), selection_mode="multi", format_func=choices.__getitem__, **common)
        elif kind == "rank":
            st.multiselect(label, list(choices), format_func=choices.__getitem__,
                           placeholder=choose_placeholder(lang, several=True), **common, select_all=SELECT_ALL)
            st.caption(t("interview.rank_hint", lang))
        else:
            horizontal = bool({"horizontal", "likert", "horizontal-compact"} & set(appearance))
            st.radio(label, list(choices), format_func=choices.__getitem__, horizontal=horizontal, **common)
    elif kind == "integer":
        st.number_input(label, step=1, format="%d", **common)
    elif kind == "decimal":
        st.number_input(label, step=0.1, **common)
    elif kind == "range":
        start, end, step = flow.range_scale(question)
        whole = all(float(value).is_integer() for value in (start, end, step))
        low, high = (min(start, end), max(start, end))
        st.slider(label, min_value=int(low) if whole else low, max_value=int(high) if whole else high,
                  step=int(abs(step)) if whole else abs(step), **common)
    elif kind == "date":
        st.date_input(label, min_value=date(1900, 1, 1), max_value=date(2100, 12, 31), format="YYYY-MM-DD",
                      **common)
    elif kind == "time":
        st.time_input(label, step=60, **common)
    elif kind == "datetime":
        st.datetime_input(label, min_value=datetime(1900, 1, 1), max_value=datetime(2100, 12, 31), **common)
    elif kind == "acknowledge":
        st.markdown(label)
        st.checkbox(t("interview.acknowledge", lang), **common)
    elif "multiline" in appearance:
        st.text_area(label, **common)
    else:
        st.text_input(label, **common)
    if hint:
        st.caption(hint)
    if error:
        st.error(error)


def _save_answer(questionnaire: Questionnaire, question: Question, interview_id: str, key: str) -> None:
    value = flow.to_answer(questionnaire, question, st.session_state[key])
    # Callbacks run before the page, outside its error boundary: keep the error for it to show.
    # They also run before the page's role check, so they check the signed-in user themselves.
    try:
        store = get_store()
        check_own_interview(current_user(), store.get_interview(interview_id).interviewer)
        store.save_answer(interview_id, questionnaire.key(question), value)
    except SurveyAppError as exc:
        st.session_state[_SAVE_ERROR] = exc


# -- end screen -------------------------------------------------------------------------


def _end_screen(store: ResponseStore, interview: Interview, lang: str) -> None:
    _remember(interview)
    st.success(t("interview.done_title", lang))
    st.write(
        t(
            "interview.done_detail",
            lang,
            id=interview.id,
            n=len(interview.answers),
            time=_local(interview.submitted_at),
        )
    )
    if st.button(t("interview.next_interview", lang), type="primary", width="stretch", key="end_next"):
        questionnaire = available_questionnaires(store).get(interview.questionnaire_id)
        if questionnaire is None:
            st.error(t("interview.unknown_questionnaire", lang, id=interview.questionnaire_id))
            return
        _open(
            _start(
                store,
                questionnaire,
                interviewer=interview.interviewer,
                district=interview.district,
                psu=interview.psu,
                wave=interview.wave,
            )
        )
    _to_start_button(lang, label="interview.change_settings")


# -- helpers ----------------------------------------------------------------------------


def answer_key(interview_id: str, question_name: str, form_language: str | None = None) -> str:
    """The widget key of a question's input (one per interview, so no answer leaks into the next;
    one per ``form_language`` of an XLSForm shown in several)."""
    return f"answer_{interview_id}_{question_name}" + ("" if form_language is None else f"@{form_language}")


def _init(key: str, value: Any) -> None:
    if key not in st.session_state:
        st.session_state[key] = value


def _open(interview_id: str) -> None:
    st.query_params[INTERVIEW_PARAM] = interview_id
    st.session_state.pop(_ATTEMPTED, None)
    st.rerun()


def _scroll_to_top(screen: str) -> None:
    """Open ``screen`` at its top, with the title and the progress bar in view.

    The browser keeps the page's scroll position from run to run, e.g. that of the drafts list
    below the start form, or of the Next button at the foot of a long screen. The script runs when
    its element first appears or changes, so once per screen, not at every answer; its own place
    on the page is hidden.
    """
    st.html(
        f'<span data-interview-screen="{screen}"></span>'
        "<style>[data-testid='stElementContainer']:has([data-interview-screen]) { display: none; }</style>"
        "<script>document.querySelector(\"[data-testid='stMain']\")?.scrollTo(0, 0);</script>",
        unsafe_allow_javascript=True,
    )


def _to_start_button(lang: str, *, label: str = "interview.to_start") -> None:
    if st.button(t(label, lang), width="stretch", key="to_start"):
        st.query_params.pop(INTERVIEW_PARAM, None)
        st.rerun()


def _local(moment: datetime | None) -> str:
    return moment.astimezone(LOCAL_TIME).strftime("%Y-%m-%d %H:%M") if moment else ""


if __name__ == "__main__":
    render()
