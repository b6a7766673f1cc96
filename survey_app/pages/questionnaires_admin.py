"""Questionnaires: every version (shipped and uploaded), XLSForm download and upload (administrators).

An uploaded XLSForm is checked (the model's rules and pyxform), shown for confirmation and then
stored as a new version with its upload time and uploader; the interviewing page offers the
latest version of each questionnaire (:func:`survey_app.review.available_questionnaires`).
"""
from __future__ import annotations

import hashlib
import io
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from questionnaires import Questionnaire, QuestionnaireError
from questionnaires.xlsform import XLSFormError, read_xlsform, write_xlsform
from survey_app.auth import User, get_accounts, require_role
from survey_app.i18n import current_language, register, t
from survey_app.review import QuestionnaireLibrary, VersionConflictError, questionnaire_library
from survey_app.ui import choose_placeholder, error_boundary, get_store, upload_help
from survey_app.uploads import UploadTooLargeError, WorkbookError, WorkbookLimits, check_workbook, read_upload

LOCAL_TIME = ZoneInfo("Asia/Shanghai")
_KEY = "qadmin_"
_CHECKED = f"{_KEY}checked"  # (sha256, Questionnaire) of the workbook last checked
# An XLSForm is a few sheets of text: 20 MB unpacked is generous and reads in seconds.
_XLSFORM_LIMITS = WorkbookLimits(unpacked_mb=20)
_RESULT = f"{_KEY}result"  # the last upload's message key and values, shown after the rerun
_UPLOADS = f"{_KEY}uploads"  # stored uploads so far: a new uploader key empties the widget
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

register(
    "questionnaires_admin",
    {
        "title": {"zh": "问卷管理", "en": "Questionnaires"},
        "intro": {
            "zh": "访问页面使用每份问卷的最新版本。问卷可下载为 XLSForm，用 ODK Collect 或 KoboCollect 离线访问；"
            "修改后的 XLSForm 上传后保存为新版本。",
            "en": "The interviewing page uses the latest version of each questionnaire. Download a questionnaire "
            "as an XLSForm to field it offline with ODK Collect or KoboCollect; upload an edited XLSForm to store "
            "it as a new version.",
        },
        "versions": {"zh": "问卷版本", "en": "Questionnaire versions"},
        "col_id": {"zh": "问卷编号", "en": "Questionnaire"},
        "col_version": {"zh": "版本", "en": "Version"},
        "col_title": {"zh": "标题", "en": "Title"},
        "col_source": {"zh": "来源", "en": "Source"},
        "col_current": {"zh": "当前使用", "en": "In use"},
        "col_uploaded_at": {"zh": "上传时间", "en": "Uploaded"},
        "col_uploaded_by": {"zh": "上传人", "en": "Uploaded by"},
        "col_file": {"zh": "文件", "en": "File"},
        "source_shipped": {"zh": "系统自带", "en": "shipped"},
        "source_uploaded": {"zh": "上传", "en": "uploaded"},
        "download_title": {"zh": "下载 XLSForm", "en": "Download as XLSForm"},
        "download_which": {"zh": "问卷与版本", "en": "Questionnaire and version"},
        "download": {"zh": "下载 XLSForm（.xlsx）", "en": "Download the XLSForm (.xlsx)"},
        "upload_title": {"zh": "上传 XLSForm（新版本）", "en": "Upload an XLSForm (new version)"},
        "upload_help": {
            "zh": "工作簿需含 survey、choices、settings 三个工作表；"
            "settings 中的 form_id 和 version 决定问卷编号和版本。"
            "已保存的版本不能修改，修改问卷请提高版本号。",
            "en": "The workbook needs survey, choices and settings sheets; form_id and version on the settings sheet "
            "name the questionnaire and its version. A stored version never changes: raise the version to change "
            "a questionnaire.",
        },
        "upload_file": {"zh": "XLSForm 工作簿（.xlsx）", "en": "XLSForm workbook (.xlsx)"},
        "checked": {
            "zh": "检查通过：{title}（{id}），版本 {version}，{screens} 页，{questions} 个问题。",
            "en": "Checked: {title} ({id}), version {version}: {screens} screens, {questions} questions.",
        },
        "will_replace": {
            "zh": "保存后，访问页面将使用此版本代替版本 {old}。",
            "en": "Once stored, the interviewing page uses this version instead of version {old}.",
        },
        "will_add": {
            "zh": "这是一份新问卷，保存后访问页面即可使用。",
            "en": "This is a new questionnaire; once stored, the interviewing page offers it.",
        },
        "save": {"zh": "保存为新版本", "en": "Store as a new version"},
        "saved": {
            "zh": "已保存问卷 {id} 版本 {version}。",
            "en": "Questionnaire {id} version {version} stored.",
        },
        "unchanged": {
            "zh": "问卷 {id} 版本 {version} 已于 {time} 由 {by} 上传，内容相同，未作更改。",
            "en": "Questionnaire {id} version {version} was already uploaded on {time} by {by} with the same "
            "content; nothing changed.",
        },
        "invalid_form": {
            "zh": "此 XLSForm 不能使用，请修改后重新上传。",
            "en": "This XLSForm cannot be used; correct it and upload it again.",
        },
        "where": {
            "zh": "位置：工作表 {sheet}{row}{column}",
            "en": "Where: sheet {sheet}{row}{column}",
        },
        "where_row": {"zh": "，第 {row} 行", "en": ", row {row}"},
        "where_column": {"zh": "，列 {column}", "en": ", column {column}"},
        "conflict": {
            "zh": "此版本号已被使用且内容不同，请在 settings 工作表中提高版本号后重新上传。",
            "en": "This version is already used with other content; raise the version on the settings sheet and "
            "upload again.",
        },
        "too_large": {"zh": "文件太大。", "en": "The file is too large."},
        "detail": {"zh": "详细信息：{detail}", "en": "Details: {detail}"},
    },
)


def render() -> None:
    """Draw the questionnaires page for a signed-in administrator."""
    user = require_role("administrator")
    lang = current_language()
    # The versions table has many columns: wider than the centred layout, as on a laptop screen.
    st.html("<style>[data-testid='stMainBlockContainer'] { max-width: 80rem; }</style>")
    with error_boundary():
        st.header(t("questionnaires_admin.title", lang))
        st.caption(t("questionnaires_admin.intro", lang))
        library = questionnaire_library(get_store().url)
        result = st.session_state.pop(_RESULT, None)
        if result is not None:
            key, values = result
            st.success(t(key, lang, **values))
        versions = library.versions()
        _versions_table(versions, lang)
        _download(library, versions, lang)
        _upload(library, user, lang)


def _versions_table(versions: pd.DataFrame, lang: str) -> None:
    st.subheader(t("questionnaires_admin.versions", lang))
    shown = pd.DataFrame({
        "questionnaire_id": versions["questionnaire_id"],
        "version": versions["version"],
        "current": versions["current"],
        "source": versions["source"].map(lambda s: t(f"questionnaires_admin.source_{s}", lang)),
        "title": versions["title_zh"] if lang == "zh" else versions["title_en"].fillna(versions["title_zh"]),
        "uploaded_at": versions["uploaded_at"].dt.tz_convert(LOCAL_TIME).dt.strftime("%Y-%m-%d %H:%M").fillna(""),
        "uploaded_by": versions["uploaded_by"].fillna(""),
        "file_name": versions["file_name"].fillna(""),
    })
    columns = {
        "questionnaire_id": "col_id", "version": "col_version", "title": "col_title", "source": "col_source",
        "uploaded_at": "col_uploaded_at", "uploaded_by": "col_uploaded_by", "file_name": "col_file",
    }
    config = {name: st.column_config.TextColumn(t(f"questionnaires_admin.{key}", lang))
              for name, key in columns.items()}
    config["current"] = st.column_config.CheckboxColumn(t("questionnaires_admin.col_current", lang))
    st.dataframe(shown, hide_index=True, width="stretch", column_config=config, key=f"{_KEY}versions")


def _download(library: QuestionnaireLibrary, versions: pd.DataFrame, lang: str) -> None:
    st.subheader(t("questionnaires_admin.download_title", lang))
    options = list(zip(versions["questionnaire_id"], versions["version"]))
    sources = dict(zip(options, versions["source"]))
    choice = st.selectbox(
        t("questionnaires_admin.download_which", lang), options,
        format_func=lambda item: f"{item[0]} · {item[1]} ({t(f'questionnaires_admin.source_{sources[item]}', lang)})",
        key=f"{_KEY}download_which", placeholder=choose_placeholder(lang),
    )
    if choice is None:
        return
    questionnaire_id, version = choice
    st.download_button(
        t("questionnaires_admin.download", lang),
        data=xlsform_bytes(library.questionnaire(questionnaire_id, version)),
        file_name=f"{questionnaire_id}_v{version}.xlsx",
        mime=XLSX_MIME,
        icon=":material/download:",
        on_click="ignore",
        key=f"{_KEY}download",
    )


def xlsform_bytes(questionnaire: Questionnaire) -> bytes:
    """The questionnaire as an XLSForm workbook, for the download button."""
    buffer = io.BytesIO()
    write_xlsform(questionnaire, buffer)
    return buffer.getvalue()


def _upload(library: QuestionnaireLibrary, user: User, lang: str) -> None:
    st.subheader(t("questionnaires_admin.upload_title", lang))
    st.caption(t("questionnaires_admin.upload_help", lang))
    upload = st.file_uploader(t("questionnaires_admin.upload_file", lang), type=["xlsx"],
                              key=f"{_KEY}upload_{st.session_state.get(_UPLOADS, 0)}", help=upload_help(lang))
    if upload is None:
        st.session_state.pop(_CHECKED, None)
        return
    try:
        data = read_upload(upload, what="questionnaire")
    except UploadTooLargeError as exc:
        st.error(t("questionnaires_admin.too_large", lang))
        st.caption(t("questionnaires_admin.detail", lang, detail=exc))
        return
    try:  # openpyxl reads the XLSForm in this process: a zip bomb is refused before it unpacks
        check_workbook(data, what="questionnaire", filename=upload.name, limits=_XLSFORM_LIMITS)
    except WorkbookError as exc:
        st.error(t("questionnaires_admin.invalid_form", lang))
        st.caption(t("questionnaires_admin.detail", lang, detail=exc))
        return
    digest = hashlib.sha256(data).hexdigest()
    checked = st.session_state.get(_CHECKED)
    if checked is None or checked[0] != digest:
        try:
            form = read_xlsform(data)
        except XLSFormError as exc:
            _form_error(exc, lang)
            return
        st.session_state[_CHECKED] = checked = (digest, form)
    form = checked[1]
    st.info(t("questionnaires_admin.checked", lang, title=form.title.get(lang) or form.title.zh, id=form.id,
              version=form.version, screens=len(form.groups), questions=len(form.questions)))
    current = library.current_versions().get(form.id)
    if current is None:
        st.caption(t("questionnaires_admin.will_add", lang))
    elif current[0] != form.version:
        st.caption(t("questionnaires_admin.will_replace", lang, old=current[0]))
    if not st.button(t("questionnaires_admin.save", lang), type="primary", key=f"{_KEY}save"):
        return
    try:
        stored = library.upload(data, user=user, accounts=get_accounts(), file_name=upload.name)
    except VersionConflictError as exc:
        st.error(t("questionnaires_admin.conflict", lang))
        st.caption(t("questionnaires_admin.detail", lang, detail=exc))
        return
    except QuestionnaireError as exc:
        _form_error(exc, lang)
        return
    values = {"id": stored.questionnaire.id, "version": stored.questionnaire.version}
    if stored.new:
        st.session_state[_RESULT] = ("questionnaires_admin.saved", values)
    else:
        time = stored.uploaded_at.astimezone(LOCAL_TIME).strftime("%Y-%m-%d %H:%M")
        st.session_state[_RESULT] = ("questionnaires_admin.unchanged", {**values, "time": time,
                                                                        "by": stored.uploaded_by})
    st.session_state.pop(_CHECKED, None)
    st.session_state[_UPLOADS] = st.session_state.get(_UPLOADS, 0) + 1
    st.rerun()


def _form_error(exc: QuestionnaireError, lang: str) -> None:
    """The XLSForm's problem: a sentence in the interface language, where, and the checker's words."""
    st.error(t("questionnaires_admin.invalid_form", lang))
    if isinstance(exc, XLSFormError):
        row = "" if exc.row is None else t("questionnaires_admin.where_row", lang, row=exc.row)
        column = "" if exc.column is None else t("questionnaires_admin.where_column", lang, column=exc.column)
        st.write(t("questionnaires_admin.where", lang, sheet=exc.sheet, row=row, column=column))
    st.caption(t("questionnaires_admin.detail", lang, detail=exc))


if __name__ == "__main__":
    render()
