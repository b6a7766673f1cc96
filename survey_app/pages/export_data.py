"""Export the interviews with labels: SPSS, Stata, CSV with a codebook, or an R bundle.

For administrators and statisticians. The file is made by :func:`survey_app.exports.export_data`
(the same as ``survey-toolkit export``) from the database the results pages show, with the
statistician's weighting and intervals (the R bundle reproduces the dashboard's numbers):
contact details are removed from free-text answers unless an administrator asks to keep them,
and every export is written to the audit log.

Streamlit serves download files under /media/ URLs that check no session, so the file is made
only when the button is clicked (deferred data) and forgotten seconds later, as the backup.
"""
from __future__ import annotations

import tempfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import streamlit as st

from survey_app.auth import Accounts, PermissionDeniedError, User, authorize, error_text, require_role
from survey_app.demo import demo_interviews
from survey_app.exports import EXPORT_FORMATS, LABEL_LANGUAGES, SUFFIXES, export_data, export_file_name
from survey_app.i18n import LANGUAGE_NAMES, current_language, t
from survey_app.reporting import latest_wave
from survey_app.results import current_questionnaires, data_version, responses, results_settings, results_url, waves
from survey_app.store import ResponseStore, default_url
from survey_app.ui import choose_placeholder, error_boundary, forget_download_soon, md_text

_KEY = "export_data_"
ALL = "*"
_MIME = {"sav": "application/x-spss-sav", "dta": "application/x-stata-dta", "csv": "application/zip",
         "r": "application/zip"}


def render() -> None:
    user = require_role("administrator", "statistician")
    lang = current_language()
    with error_boundary():
        st.header(t("export_data.title", lang))
        st.markdown(t("export_data.intro", lang))
        url = results_url()
        frame = responses(url, data_version(url))
        if frame.empty:
            st.info(t("export_data.empty", lang))
            return
        settings = results_settings(lang)
        forms = current_questionnaires()
        present = [qid for qid in forms if qid in set(frame["questionnaire_id"].dropna())]
        choice = st.radio(t("export_data.format", lang), EXPORT_FORMATS, key=f"{_KEY}format",
                          format_func=lambda f: t(f"export_data.format_{f}", lang))
        language = st.radio(t("export_data.language", lang), LABEL_LANGUAGES, key=f"{_KEY}language",
                            format_func=LANGUAGE_NAMES.__getitem__, horizontal=True,
                            index=LABEL_LANGUAGES.index(lang))
        questionnaire = st.selectbox(
            t("export_data.questionnaire", lang), [ALL, *present], key=f"{_KEY}questionnaire",
            format_func=lambda q: t("export_data.all_questionnaires", lang) if q == ALL
            else md_text(forms[q].title.get(lang)), placeholder=choose_placeholder(lang))
        stored = waves(frame)
        newest_first = [*reversed(stored), ALL]
        wave = st.selectbox(t("export_data.wave", lang), newest_first, key=f"{_KEY}wave",
                            index=newest_first.index(latest_wave(frame)) if stored else len(newest_first) - 1,
                            format_func=lambda w: t("export_data.all_waves", lang) if w == ALL else md_text(w), placeholder=choose_placeholder(lang))
        allowed = user.can("export_contact_details")
        keep = st.checkbox(t("export_data.keep", lang), key=f"{_KEY}keep", disabled=not allowed,
                           help=t("export_data.keep_help" if allowed else "export_data.keep_not_allowed", lang))
        try:
            authorize(user, "export")
        except PermissionDeniedError as exc:
            st.error(error_text(exc, lang))
            return
        chosen = frame["questionnaire_id"].notna()
        if questionnaire != ALL:
            chosen &= frame["questionnaire_id"] == questionnaire
        if wave != ALL:
            chosen &= frame["wave"].astype(str) == wave
        if not chosen.any():   # checked here: an error while the file is made shows only as a failed download
            st.info(t("export_data.none_chosen", lang))
            return
        options = {"format": choice, "language": language,
                   "questionnaire_id": None if questionnaire == ALL else questionnaire,
                   "wave": None if wave == ALL else wave, "keep_personal_data": bool(keep and allowed),
                   "settings": settings}
        demonstration = settings.demonstration_margins or bool(demo_interviews(frame).any())
        name = export_file_name(format=choice, questionnaire_id=options["questionnaire_id"], wave=options["wave"],
                                demonstration=demonstration, day=datetime.now().date())
        if demonstration:
            st.warning(t("export_data.demonstration", lang), icon=":material/science:")
        st.caption(t("export_data.download_help", lang))
        st.download_button(t("export_data.download", lang), lambda: _export_file(user, url, options),
                           file_name=name, mime=_MIME[choice], icon=":material/download:", key=f"{_KEY}download",
                           on_click="ignore", type="primary")


def _export_file(user: User, url: str, options: Mapping[str, Any]) -> bytes:
    """The file for the download button, made at the click (checked and audited by
    export_data) and forgotten by Streamlit soon after."""
    accounts = Accounts(default_url())   # the audit log of the real database, as every export's
    store = ResponseStore(url)
    try:
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / f"export{SUFFIXES[options['format']]}"
            export_data(accounts, user, store, out, **options)
            data = out.read_bytes()
    finally:
        store.close()
        accounts.close()
    forget_download_soon()
    return data


if __name__ == "__main__":
    render()
