"""Importing interviews from CSV or Excel exports (administrators).

The file is checked row by row against the chosen questionnaire and stored in one transaction
only when every row is clean (:func:`survey_app.importer.import_responses`); otherwise nothing
is stored and the row-by-row report can be downloaded as CSV or Excel. Importing the same file
again stores nothing new. A progress bar follows the check of large files.
"""
from __future__ import annotations

import hashlib
import io
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from questionnaires import Questionnaire, load_districts
from survey_app.auth import User, get_accounts, require_role
from survey_app.cellsafe import cell_text
from survey_app.i18n import I18nError, current_language, register, t
from survey_app.importer import PROBLEM_COLUMNS, ImportRejectedError, ResponseImportError, import_responses
from survey_app.review import available_questionnaires
from survey_app.store import InterviewClosedError, ResponseStore
from survey_app.ui import choose_placeholder, error_boundary, get_store, md_text, upload_help
from survey_app.uploads import UploadTooLargeError, read_upload

LOCAL_TIME = ZoneInfo("Asia/Shanghai")
_KEY = "import_"
_OUTCOME = f"{_KEY}outcome"  # ((file digest, questionnaire), kind, values, problems) of the last import
TIMEZONES = ("Asia/Shanghai", "UTC")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

register(
    "import_responses",
    {
        "title": {"zh": "导入访问数据", "en": "Import interviews"},
        "intro": {
            "zh": "可导入本系统导出的数据、ODK Central 的 CSV 导出，以及 KoboToolbox 的 CSV 或 Excel 导出"
            "（选择“XML 值和标题”）。文件逐行检查：只要有一行有问题，就不保存任何数据，并给出逐行问题报告。"
            "重复导入同一文件不会重复保存。",
            "en": "Import this app's exports, ODK Central CSV exports and KoboToolbox CSV or Excel exports (with "
            "\"XML values and headers\"). Every row is checked: if any row has a problem, nothing is stored and "
            "you get a row-by-row report. Importing the same file again stores nothing new.",
        },
        "questionnaire": {"zh": "问卷", "en": "Questionnaire"},
        "file": {"zh": "数据文件（.csv 或 .xlsx）", "en": "Data file (.csv or .xlsx)"},
        "options": {"zh": "文件中缺少的信息", "en": "Information the file lacks"},
        "options_help": {
            "zh": "文件没有相应列时使用这些值；有列时以文件为准。",
            "en": "Used when the file has no column for them; a column in the file takes precedence.",
        },
        "wave": {"zh": "调查轮次", "en": "Survey wave"},
        "district": {"zh": "抽样区县", "en": "Sampled district"},
        "psu": {"zh": "抽样单元", "en": "Sampling unit (PSU)"},
        "interviewer": {"zh": "访问员编号", "en": "Interviewer code"},
        "sheet": {"zh": "工作表（Excel）", "en": "Sheet (Excel)"},
        "first_sheet": {"zh": "第一个工作表", "en": "the first sheet"},
        "from_file": {"zh": "由文件提供", "en": "from the file"},
        "timezone": {"zh": "未注明时区的时间按此时区理解", "en": "Times without a time zone are in"},
        "import": {"zh": "检查并导入", "en": "Check and import"},
        "progress": {"zh": "正在检查… {percent}%", "en": "Checking… {percent}%"},
        "progress_start": {"zh": "正在读取文件…", "en": "Reading the file…"},
        "progress_store": {"zh": "正在保存…", "en": "Storing…"},
        "stored": {
            "zh": "导入完成：新保存 {stored} 个访问，{skipped} 个此前已导入（未重复保存）。",
            "en": "Imported: {stored} new interviews stored; {skipped} were already stored and were skipped.",
        },
        "rejected": {
            "zh": "文件有问题，未保存任何数据：{bad} 行共有 {problems} 个问题。请修改文件后重新导入。",
            "en": "The file has problems, so nothing was stored: {problems} problem(s) in {bad} row(s). "
            "Correct the file and import it again.",
        },
        "by_kind": {"zh": "问题类型", "en": "Problems by kind"},
        "report": {"zh": "逐行问题报告", "en": "Row-by-row report"},
        "download_csv": {"zh": "下载问题报告（CSV）", "en": "Download the report (CSV)"},
        "download_xlsx": {"zh": "下载问题报告（Excel）", "en": "Download the report (Excel)"},
        "conflict": {
            "zh": "文件中有访问已用不同的答案保存过，未保存任何数据。"
            "已保存的数据不会被覆盖：如文件是正确版本，请先作废已保存的访问。",
            "en": "Some interviews in the file are already stored with other answers, so nothing was stored. "
            "Stored data is never overwritten: void the stored interviews first if the file is the right version.",
        },
        "unreadable": {"zh": "无法读取此文件。", "en": "The file cannot be read."},
        "too_large": {"zh": "文件太大。", "en": "The file is too large."},
        "detail": {"zh": "详细信息：{detail}", "en": "Details: {detail}"},
        "col_row": {"zh": "行号", "en": "Row"},
        "col_column": {"zh": "列", "en": "Column"},
        "col_value": {"zh": "值", "en": "Value"},
        "col_problem": {"zh": "问题", "en": "Problem"},
        "col_kind": {"zh": "类型", "en": "Kind"},
        "col_count": {"zh": "个数", "en": "Count"},
        "other_questionnaire": {
            "zh": "此文件似乎是问卷“{id}”的数据：请在上方选择该问卷后重新导入。",
            "en": "This file seems to hold interviews of questionnaire {id!r}: choose it above and import again.",
        },
        # the importer's problem kinds (survey_app.importer, questionnaires.answers)
        "kind_unknown_question": {"zh": "未知问题", "en": "unknown question"},
        "kind_bad_value": {"zh": "取值错误", "en": "bad value"},
        "kind_unknown_code": {"zh": "未知选项代码", "en": "unknown answer code"},
        "kind_constraint": {"zh": "不符合取值条件", "en": "fails a constraint"},
        "kind_not_relevant": {"zh": "跳答题却有答案", "en": "answer to a skipped question"},
        "kind_missing_required": {"zh": "必答题未答", "en": "required answer missing"},
        "kind_bad_column": {"zh": "列设置错误", "en": "bad column"},
        "kind_unknown_column": {"zh": "未知列", "en": "unknown column"},
        "kind_missing_column": {"zh": "缺少列", "en": "missing column"},
        "kind_bad_id": {"zh": "访问编号错误", "en": "bad interview id"},
        "kind_duplicate_id": {"zh": "访问编号重复", "en": "duplicate interview id"},
        "kind_missing_metadata": {"zh": "缺少访问信息", "en": "missing interview details"},
        "kind_bad_metadata": {"zh": "访问信息错误", "en": "bad interview details"},
        "kind_bad_time": {"zh": "时间错误", "en": "bad time"},
        "kind_wrong_questionnaire": {"zh": "属于其他问卷", "en": "another questionnaire's row"},
        "kind_bad_status": {"zh": "状态不可导入", "en": "status not importable"},
    },
)


def render() -> None:
    """Draw the import page for a signed-in administrator."""
    user = require_role("administrator")
    lang = current_language()
    with error_boundary():
        st.header(t("import_responses.title", lang))
        st.caption(t("import_responses.intro", lang))
        store = get_store()
        forms = available_questionnaires(store)
        form_id = st.selectbox(
            t("import_responses.questionnaire", lang), list(forms),
            format_func=lambda qid: f"{forms[qid].title.get(lang) or forms[qid].title.zh} "
                                    f"({qid} · {forms[qid].version})",
            key=f"{_KEY}questionnaire", placeholder=choose_placeholder(lang),
        )
        upload = st.file_uploader(t("import_responses.file", lang), type=["csv", "xlsx"], key=f"{_KEY}file",
                                  help=upload_help(lang))
        districts = {choice.name: choice.label.get(lang) or choice.label.zh for choice in load_districts()}
        with st.expander(t("import_responses.options", lang)):
            st.caption(t("import_responses.options_help", lang))
            left, right = st.columns(2)
            defaults = {
                "wave": left.text_input(t("import_responses.wave", lang), key=f"{_KEY}wave",
                                        value=str(datetime.now(LOCAL_TIME).year)),
                "interviewer": right.text_input(t("import_responses.interviewer", lang), key=f"{_KEY}interviewer",
                                                placeholder=t("import_responses.from_file", lang)),
                "district": left.selectbox(t("import_responses.district", lang), list(districts), index=None,
                                           format_func=districts.__getitem__,
                                           placeholder=t("import_responses.from_file", lang),
                                           key=f"{_KEY}district") or "",
                "psu": right.text_input(t("import_responses.psu", lang), key=f"{_KEY}psu",
                                        placeholder=t("import_responses.from_file", lang)),
            }
            sheet = left.text_input(t("import_responses.sheet", lang), key=f"{_KEY}sheet",
                                    placeholder=t("import_responses.first_sheet", lang)).strip()
            zone = right.selectbox(t("import_responses.timezone", lang), TIMEZONES, key=f"{_KEY}timezone",
                                 placeholder=choose_placeholder(lang))
        if upload is None or form_id is None:
            return
        try:
            data = read_upload(upload, what="data file")
        except UploadTooLargeError as exc:
            st.error(t("import_responses.too_large", lang))
            st.caption(t("import_responses.detail", lang, detail=md_text(exc)))
            return
        # an outcome belongs to this file checked against this questionnaire
        digest = (hashlib.sha256(data).hexdigest(), form_id)
        if st.button(t("import_responses.import", lang), type="primary", key=f"{_KEY}run"):
            options = {"defaults": {k: v.strip() for k, v in defaults.items() if v.strip()},
                       "sheet": sheet or 0, "naive_timezone": zone}
            st.session_state[_OUTCOME] = (digest, *_import(store, user, forms[form_id], data, upload.name, options,
                                                           lang))
        outcome = st.session_state.get(_OUTCOME)
        if outcome is not None and outcome[0] == digest:
            _show(outcome[1], outcome[2], outcome[3], upload.name, lang)


def _import(store: ResponseStore, user: User, form: Questionnaire, data: bytes, file_name: str,
            options: dict[str, Any], lang: str) -> tuple[str, dict[str, Any], pd.DataFrame | None]:
    """Run the import with a progress bar; return what happened (message kind, values, problems)."""
    bar = st.progress(0.0, text=t("import_responses.progress_start", lang))

    def progress(fraction: float) -> None:
        # the importer gives the check 90% of the bar and storing the rest
        key = "import_responses.progress_store" if fraction >= 0.9 else "import_responses.progress"
        bar.progress(min(max(fraction, 0.0), 1.0), text=t(key, lang, percent=round(100 * fraction)))

    try:
        result = import_responses(store, data, form, lang=lang, progress=progress, **options)
    except ImportRejectedError as exc:
        problems = exc.problems
        return "rejected", {"problems": len(problems), "bad": int(problems["row"].nunique())}, problems
    except InterviewClosedError as exc:
        return "conflict", {"detail": str(exc)}, None
    except ResponseImportError as exc:
        return "unreadable", {"detail": str(exc)}, None
    finally:
        bar.empty()
    get_accounts().record(user.username, "import_interviews", file_name, {
        "questionnaire": f"{form.id} v{form.version}", "stored": result.stored,
        "skipped_existing": result.skipped_existing, "sha256": hashlib.sha256(data).hexdigest(),
    })
    return "stored", {"stored": result.stored, "skipped": result.skipped_existing}, None


def _show(kind: str, values: dict[str, Any], problems: pd.DataFrame | None, file_name: str, lang: str) -> None:
    if kind == "stored":
        st.success(t("import_responses.stored", lang, **values))
        return
    if kind != "rejected" or problems is None:
        st.error(t(f"import_responses.{kind}", lang))
        # the message quotes the file: literal text, not Markdown
        st.caption(t("import_responses.detail", lang, detail=md_text(values["detail"])))
        return
    st.error(t("import_responses.rejected", lang, **values))
    own = problems[(problems["kind"] == "wrong_questionnaire") & (problems["column"] == "questionnaire_id")]
    if not own.empty:
        st.info(t("import_responses.other_questionnaire", lang, id=md_text(own["value"].astype(str).mode().iloc[0])))
    st.subheader(t("import_responses.by_kind", lang))
    counts = problems["kind"].value_counts().rename_axis("kind").reset_index(name="count")
    counts["kind"] = counts["kind"].map(lambda kind: _kind(kind, lang))
    st.dataframe(counts, hide_index=True, column_config={
        "kind": st.column_config.TextColumn(t("import_responses.col_kind", lang)),
        "count": st.column_config.NumberColumn(t("import_responses.col_count", lang)),
    }, key=f"{_KEY}kinds")
    st.subheader(t("import_responses.report", lang))
    shown = problems.assign(value=problems["value"].map(lambda v: "" if _missing(v) else str(v)),
                            kind=problems["kind"].map(lambda kind: _kind(kind, lang)))
    shown = shown[["row", "kind", "column", "value", "problem"]]  # the long problem text last
    st.dataframe(shown, hide_index=True, width="stretch", key=f"{_KEY}problems", column_config={
        name: st.column_config.TextColumn(t(f"import_responses.col_{name}", lang))
        if name != "row" else st.column_config.NumberColumn(t("import_responses.col_row", lang))
        for name in PROBLEM_COLUMNS
    })
    stem = file_name.rsplit(".", 1)[0] or "import"
    left, right = st.columns(2)
    left.download_button(t("import_responses.download_csv", lang), problem_report(problems, "csv"),
                         file_name=f"{stem}_problems.csv", mime="text/csv", on_click="ignore",
                         icon=":material/download:", key=f"{_KEY}download_csv")
    right.download_button(t("import_responses.download_xlsx", lang), problem_report(problems, "xlsx"),
                          file_name=f"{stem}_problems.xlsx", mime=XLSX_MIME, on_click="ignore",
                          icon=":material/download:", key=f"{_KEY}download_xlsx")


def _kind(kind: str, lang: str) -> str:
    """A problem kind in words; the code itself for a kind this page does not know."""
    try:
        return t(f"import_responses.kind_{kind}", lang)
    except I18nError:
        return kind


def problem_report(problems: pd.DataFrame, file_format: Literal["csv", "xlsx"]) -> bytes:
    """The row-by-row report as a file: CSV (UTF-8 with BOM, for Excel) or an Excel workbook.

    Text cells go through :func:`survey_app.cellsafe.cell_text`, so a value such as ``=1+1``
    copied from the imported file is shown, never evaluated.
    """
    if file_format not in ("csv", "xlsx"):
        raise ValueError(f"file_format must be 'csv' or 'xlsx', got {file_format!r}")
    report = problems.loc[:, list(PROBLEM_COLUMNS)].copy()
    for name in ("column", "value", "problem", "kind"):
        report[name] = report[name].map(lambda v: None if _missing(v) else cell_text(str(v)))
    if file_format == "csv":
        return report.to_csv(index=False).encode("utf-8-sig")
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        report.to_excel(writer, sheet_name="problems", index=False)
        sheet = writer.sheets["problems"]
        sheet.freeze_panes = "A2"
        for letter, width in zip("ABCDE", (8, 28, 24, 80, 18)):
            sheet.column_dimensions[letter].width = width
    return buffer.getvalue()


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


if __name__ == "__main__":
    render()
