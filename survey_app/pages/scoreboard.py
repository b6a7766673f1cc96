"""Plan scoreboard: every numeric target of the plan in one place (statisticians, administrators).

Survey targets (the latest wave of the real database, with the statistician's interval settings),
inspection pass rates (stored inspection records) and administrative figures (entered on the
inspections page or with ``survey-toolkit figures set``), grouped as the plan groups them
(:func:`survey_app.scoreboard.build_scoreboard`). A target without data says so.
"""
from __future__ import annotations

import io
import math
from datetime import datetime, timezone
from typing import Any

import pandas as pd
import streamlit as st

from survey_app.auth import audit, authorize, current_user, require_role
from survey_app.formatting import format_percent
from survey_app.i18n import current_language, t
from survey_app.reporting import latest_wave
from survey_app.results import current_settings, data_version, report, report_settings, responses, selected_margins
from survey_app.scoreboard import Scoreboard, scoreboard_from_store
from survey_app.store import default_url
from survey_app.ui import error_boundary, md_text

_DIRECTION = {">=": "≥", "<": "<", "<=": "≤"}
_VERDICTS = ("met", "not met", "inconclusive", "no data")
# Excel's good / bad / neutral cell styles, as the workbook colours verdicts
_COLOURS = {"met": "background-color: #C6EFCE; color: #006100", "not met": "background-color: #FFC7CE; color: #9C0006",
            "inconclusive": "background-color: #FFEB9C; color: #9C5700", "no data": "color: #595959"}
_WIDTHS = {"target": "medium", "interval": "medium", "note": "medium", "clause": "large"}
_KEYS = ("target", "source", "threshold", "value", "interval", "verdict", "date", "note", "clause")


def _columns(lang: str) -> dict[str, str]:
    """Column key -> heading in ``lang``."""
    return {key: t(f"scoreboard.col_{key}", lang) for key in _KEYS}


def render() -> None:
    """Draw the scoreboard."""
    require_role("statistician", "administrator")
    lang = current_language()
    with error_boundary():
        st.header(t("scoreboard.title", lang))
        st.markdown(t("scoreboard.intro", lang))
        board, extracted_at, wave, demonstration = _board(lang)
        _download(board, extracted_at, wave, demonstration, lang)
        counts = board.counts()
        for column, verdict in zip(st.columns(4), _VERDICTS):
            column.metric(t(f"scoreboard.count_{verdict.replace(' ', '_')}", lang), counts.get(verdict, 0))
        table = board.to_frame()
        for _, rows in table.groupby("group", sort=False):
            st.subheader(rows["group_zh" if lang == "zh" else "group_en"].iloc[0])
            shown = _shown(rows, lang)
            verdict = t("scoreboard.col_verdict", lang)
            colours = {t(f"scoreboard.verdict_{v.replace(' ', '_')}", lang): c for v, c in _COLOURS.items()}
            st.dataframe(shown.style.map(lambda v: colours.get(v, ""), subset=[verdict]), hide_index=True,
                         width="stretch", key=f"scoreboard_group_{int(rows['group'].iloc[0])}",
                         column_config={name: st.column_config.TextColumn(name, width=_WIDTHS.get(key, "small"))
                                        for key, name in _columns(lang).items()})


def _board(lang: str) -> tuple[Scoreboard, datetime, str | None, bool]:
    """The scoreboard of the real database, the survey part from the latest wave's report; when the
    survey data were read, their wave, and whether they hold demonstration data."""
    url = default_url()
    frame = responses(url, data_version(url))
    settings = current_settings()
    used = report_settings(settings, selected_margins(settings, url))
    if frame.empty:
        st.caption(t("scoreboard.no_survey", lang))
        return scoreboard_from_store(url, level=used.level), datetime.now(timezone.utc), None, False
    wave = latest_wave(frame)
    tables = report(used, wave=wave, url=url)
    if tables.demonstration:
        st.warning(t("scoreboard.demonstration", lang), icon=":material/science:")
    st.caption(t("scoreboard.survey_caption", lang, wave=md_text(wave), date=f"{tables.extracted_at:%Y-%m-%d}",
                 level=format_percent(used.level, decimals=0)))
    board = scoreboard_from_store(url, survey=tables.overview, survey_date=tables.extracted_at.date(),
                                  targets=[a.target for a in tables.assessments], indices=tables.indices,
                                  level=used.level)
    return board, tables.extracted_at, wave, tables.demonstration


def _download(board: Scoreboard, extracted_at: datetime, wave: str | None, demonstration: bool, lang: str) -> None:
    """The scoreboard as an Excel sheet; the download is audited as an export."""
    from survey_app.excel import write_scoreboard  # openpyxl takes a second to import

    user = current_user()
    authorize(user, "export")
    buffer = io.BytesIO()
    write_scoreboard(board.to_frame(), buffer, extracted_at=extracted_at, wave=wave, demonstration=demonstration)
    name = f"plan_scoreboard_{extracted_at:%Y%m%d}{'_DEMO_演示' if demonstration else ''}.xlsx"
    st.download_button(t("scoreboard.download", lang), buffer.getvalue(), file_name=name,
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       icon=":material/download:", key="scoreboard_download", on_click=audit,
                       args=(user.username, "export", name, {"what": "plan scoreboard", "wave": wave}),
                       kwargs={"url": default_url()})


def _number(value: Any, measure: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if measure in ("proportion", "rate"):
        return format_percent(value)
    if measure == "count":
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def _shown(rows: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The rows as the page shows them, in ``lang``."""
    out = []
    for row in rows.to_dict("records"):
        out.append({
            "target": row["label_zh" if lang == "zh" else "label_en"],
            "source": t(f"scoreboard.source_{row['source']}", lang),
            "threshold": f"{_DIRECTION[row['direction']]} {_number(row['threshold'], row['measure'])}",
            **_result(row, lang),
            "date": "" if row["date"] is None or pd.isna(row["date"]) else str(row["date"]),
            "clause": row["clause"],
        })
    return pd.DataFrame(out, columns=list(_KEYS)).rename(columns=_columns(lang))


def _result(row: dict, lang: str) -> dict[str, str]:
    """Value, interval, verdict and note of one target, in ``lang``."""
    verdict = row["verdict"]
    if verdict == "no data":
        return {"value": t("scoreboard.no_data", lang), "interval": "—",
                "verdict": t("scoreboard.verdict_no_data", lang), "note": ""}
    if row["too_few"]:  # as the dashboard: words, not numbers
        return {"value": t("estimates.too_few_badge", lang), "interval": "—", "verdict": "",
                "note": t("estimates.too_few_count", lang)}
    if row["source"] == "register":
        interval = t("scoreboard.no_interval", lang)
        note = t("scoreboard.register_note", lang, detail=row["detail"])
    else:
        interval = f"{_number(row['ci_low'], row['measure'])} – {_number(row['ci_high'], row['measure'])}"
        note = (t("scoreboard.inspection_note", lang, failed=int(row["failed"]), n=int(row["n"]),
                  method=t(f"scoreboard.method_{row['method']}", lang)) if row["source"] == "inspection" else "")
    if verdict == "inconclusive" and pd.notna(row["further"]):
        kind = "survey" if row["source"] == "survey" else "inspection"
        further = t(f"scoreboard.further_{kind}", lang, n=f"{int(row['further']):,}")
        note = ("；" if lang == "zh" else "; ").join(part for part in (note, further) if part)
    return {"value": _number(row["value"], row["measure"]), "interval": interval,
            "verdict": t(f"scoreboard.verdict_{verdict.replace(' ', '_')}", lang), "note": note}


if __name__ == "__main__":
    render()
