"""Inspection records and administrative figures (administrators).

Uploads of inspection records are checked row by row and stored all or nothing
(:func:`survey_app.inspections.import_inspections`); the page shows each problem with its row and
reason. Below: the pass rates of the inspection targets with their exact or design-based intervals,
overall, by district or by period; and the form that enters an administrative figure of a register
target (:func:`survey_app.admin_figures.set_figure`), with the history of entries.
"""
from __future__ import annotations

import hashlib
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from survey_app.admin_figures import FigureError, FiguresStore, register_targets, set_figure
from survey_app.auth import require_role
from survey_app.formatting import format_percent
from survey_app.i18n import I18nError, current_language, t
from survey_app.inspections import (FILE_COLUMNS, InspectionError, InspectionRejectedError, InspectionStore,
                                    import_inspections, inspection_categories, inspection_pass_rates)
from survey_app.store import default_url
from survey_app.ui import choose_placeholder, error_boundary, md_text, upload_help
from survey_app.uploads import UploadTooLargeError, read_upload

_KEY = "inspections_"
_OUTCOME = f"{_KEY}outcome"  # (file digest, kind, values, problems) of the last import
LOCAL_TIME = ZoneInfo("Asia/Shanghai")


def render() -> None:
    """Draw the page for a signed-in administrator."""
    user = require_role("administrator")
    lang = current_language()
    with error_boundary():
        st.header(t("inspections.title", lang))
        url = default_url()
        _upload(url, user.username, lang)
        _rates(url, lang)
        _figures(url, user.username, lang)


def _upload(url: str, actor: str, lang: str) -> None:
    st.subheader(t("inspections.upload_title", lang))
    st.caption(t("inspections.upload_intro", lang))
    st.caption(t("inspections.categories", lang, categories=", ".join(inspection_categories())))
    st.download_button(t("inspections.template", lang), (",".join(FILE_COLUMNS) + "\n").encode("utf-8-sig"),
                       file_name="inspections_template.csv", mime="text/csv", on_click="ignore",
                       icon=":material/download:", key=f"{_KEY}template")
    upload = st.file_uploader(t("inspections.file", lang), type=["csv", "xlsx"], key=f"{_KEY}file",
                              help=upload_help(lang))
    if upload is None:
        return
    try:
        data = read_upload(upload, what="inspection file")
    except UploadTooLargeError:
        st.error(t("inspections.too_large", lang))
        return
    digest = hashlib.sha256(data).hexdigest()
    if st.button(t("inspections.import", lang), type="primary", key=f"{_KEY}run"):
        store = InspectionStore(url)
        try:
            result = import_inspections(store, data, upload.name, actor=actor)
            st.session_state[_OUTCOME] = (digest, "stored", {"stored": result.stored}, None)
        except InspectionRejectedError as exc:
            st.session_state[_OUTCOME] = (digest, "rejected", dict(exc.params), exc.problems)
        except InspectionError as exc:
            st.session_state[_OUTCOME] = (digest, exc.key, dict(exc.params), None)
        finally:
            store.close()
    outcome = st.session_state.get(_OUTCOME)
    if outcome is None or outcome[0] != digest:
        return
    _, kind, values, problems = outcome
    if kind == "stored":
        st.success(t("inspections.stored", lang, **values))
        return
    if problems is None:
        st.error(t(kind, lang, **{k: md_text(v) for k, v in values.items()}))
        return
    st.error(t("inspections.rejected", lang, **values))
    shown = pd.DataFrame({
        t("inspections.col_row", lang): problems["row"].astype(int),
        t("inspections.col_column", lang): problems["column"].astype(str),
        t("inspections.col_value", lang): problems["value"].astype(str),
        t("inspections.col_reason", lang): [_reason(kind, params, lang)
                                            for kind, params in zip(problems["kind"], problems["params"])],
    })
    st.dataframe(shown, hide_index=True, width="stretch", key=f"{_KEY}problems")


def _reason(kind: str, params: dict, lang: str) -> str:
    try:
        return t(f"inspections.kind_{kind}", lang, **params) if params else t(f"inspections.kind_{kind}", lang)
    except (I18nError, KeyError):
        return kind


def _rates(url: str, lang: str) -> None:
    st.subheader(t("inspections.rates_title", lang))
    store = InspectionStore(url)
    try:
        records = store.records()
    finally:
        store.close()
    if records.empty:
        st.info(t("inspections.no_records", lang))
        return
    left, right = st.columns(2)
    by = left.segmented_control(t("inspections.rates_by", lang), ["none", "district", "period"], required=True,
                                default="none", format_func=lambda v: t(f"inspections.by_{v}", lang),
                                key=f"{_KEY}by")
    period = right.segmented_control(t("inspections.period", lang), ["year", "quarter", "month"], required=True,
                                     default="year", format_func=lambda v: t(f"inspections.period_{v}", lang),
                                     key=f"{_KEY}period", disabled=by != "period")
    table = inspection_pass_rates(records, by=None if by == "none" else by, period=period).to_frame()
    labels = {target.category: target.label.get(lang) or target.label.zh
              for target in inspection_categories().values()}
    shown = pd.DataFrame({
        t("inspections.col_target", lang): table["category"].map(labels),
        t("inspections.col_domain", lang): table["domain"].map(lambda d: t("inspections.all", lang) if d == "all"
                                                               else d),
        t("inspections.col_rate", lang): table["estimate"].map(format_percent),
        t("inspections.col_low", lang): table["ci_low"].map(format_percent),
        t("inspections.col_high", lang): table["ci_high"].map(format_percent),
        t("inspections.col_n", lang): table["n"].astype(int),
        t("inspections.col_failed", lang): table["failed"].astype(int),
        t("inspections.col_verdict", lang): table["verdict"].map(
            lambda v: t(f"scoreboard.verdict_{str(v).replace(' ', '_')}", lang)),
        t("inspections.col_further", lang): table["further_samples"].map(lambda v: "" if pd.isna(v) else f"{v:,}"),
        t("inspections.col_method", lang): table["method"].map(
            lambda m: t(f"scoreboard.method_{m}", lang) if isinstance(m, str) else "—"),
    })
    st.dataframe(shown, hide_index=True, width="stretch", key=f"{_KEY}rates")


def _figures(url: str, actor: str, lang: str) -> None:
    st.subheader(t("inspections.figures_title", lang))
    st.caption(t("inspections.figures_intro", lang))
    targets = register_targets()
    target_id = st.selectbox(t("inspections.figure_target", lang), list(targets), index=None,
                             format_func=lambda i: f"{targets[i].label.get(lang) or targets[i].label.zh} "
                                                   f"（{targets[i].clause_text}）",
                             placeholder=choose_placeholder(lang), key=f"{_KEY}figure_target")
    store = FiguresStore(url)
    try:
        if target_id is not None:
            target = targets[target_id]
            with st.form(f"{_KEY}figure_form", clear_on_submit=False):
                left, right = st.columns(2)
                if target.measure == "count":
                    count = left.number_input(t("inspections.count", lang), min_value=0, step=1, value=0,
                                              key=f"{_KEY}count")
                    numerator = denominator = None
                else:
                    count = None
                    numerator = left.number_input(t("inspections.numerator", lang), min_value=0.0, value=0.0,
                                                  key=f"{_KEY}numerator")
                    denominator = right.number_input(t("inspections.denominator", lang), min_value=0.0, value=1.0,
                                                     key=f"{_KEY}denominator")
                as_of = left.date_input(t("inspections.as_of", lang), value=datetime.now(LOCAL_TIME).date(),
                                        max_value=datetime.now(LOCAL_TIME).date(), key=f"{_KEY}as_of")
                source = right.text_input(t("inspections.source_document", lang), max_chars=500,
                                          key=f"{_KEY}source")
                if st.form_submit_button(t("inspections.save_figure", lang), type="primary"):
                    _save(store, target, numerator, denominator, count, as_of, source, actor, lang)
        _history(store, lang)
    finally:
        store.close()


def _save(store: FiguresStore, target, numerator, denominator, count, as_of: date, source: str, actor: str,
          lang: str) -> None:
    try:
        figure = set_figure(store, target.id, numerator=numerator, denominator=denominator,
                            count=None if count is None else int(count), as_of=as_of, source=source, actor=actor)
    except FigureError as exc:
        st.error(t(exc.key, lang, **{k: md_text(v) for k, v in exc.params.items()}))
        return
    value = format_percent(figure.value) if target.measure == "rate" else f"{figure.value:,.1f}"
    verdict = t(f"scoreboard.verdict_{figure.verdict(target).replace(' ', '_')}", lang)
    st.success(t("inspections.figure_saved", lang, target=md_text(target.label.get(lang) or target.label.zh),
                 value=md_text(value), verdict=verdict))


def _history(store: FiguresStore, lang: str) -> None:
    st.markdown(f"**{t('inspections.history', lang)}**")
    history = store.history()
    if history.empty:
        st.caption(t("inspections.no_history", lang))
        return
    targets = register_targets()
    shown = pd.DataFrame({
        t("inspections.figure_target", lang): history["target_id"].map(
            lambda i: (targets[i].label.get(lang) or targets[i].label.zh) if i in targets else i),
        t("inspections.numerator", lang): history["numerator"],
        t("inspections.denominator", lang): history["denominator"],
        t("inspections.count", lang): history["count"],
        t("inspections.col_as_of", lang): history["as_of"].astype(str),
        t("inspections.col_source", lang): history["source"],
        t("inspections.col_entered_by", lang): history["entered_by"],
        t("inspections.col_entered_at", lang): history["entered_at"].map(
            lambda v: v.astimezone(LOCAL_TIME).strftime("%Y-%m-%d %H:%M")),
    })
    st.dataframe(shown, hide_index=True, width="stretch", key=f"{_KEY}history")


if __name__ == "__main__":
    render()
