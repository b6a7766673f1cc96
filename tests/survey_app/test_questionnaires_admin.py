"""The questionnaires page in the running app (``streamlit.testing.v1.AppTest``): versions,
XLSForm download and upload, and the uploaded version reaching the interviewing page.
"""
from __future__ import annotations

import dataclasses
import io

import openpyxl
import pytest
import streamlit as st

from questionnaires import Text
from questionnaires.xlsform import read_xlsform, write_xlsform
from survey_app.i18n import t
from survey_app.review import QuestionnaireLibrary
from survey_app.store import ResponseStore
from tests.survey_app.review_helpers import FORMS, clean, open_page, texts

PAGE = "pages/questionnaires_admin.py"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook(form) -> bytes:
    buffer = io.BytesIO()
    write_xlsform(form, buffer)
    return buffer.getvalue()


def parcel_survey():
    """A questionnaire the app does not ship: the telecom one under another id and title."""
    base = FORMS["telecom_users"]
    return dataclasses.replace(base, id="parcel_delivery", version="1",
                               title=Text("南通市快递服务满意度调查", "Nantong parcel delivery survey"))


def test_administrators_see_every_shipped_version(accounts):
    at = open_page(accounts, "chief", PAGE)
    assert texts(at, "header") == [t("questionnaires_admin.title", "zh")]
    (table,) = [frame.value for frame in at.dataframe]
    assert sorted(table["questionnaire_id"]) == sorted(FORMS)
    assert set(table["source"]) == {t("questionnaires_admin.source_shipped", "zh")} and table["current"].all()
    assert [b.label for b in at.download_button] == [t("questionnaires_admin.download", "zh")]


@pytest.mark.parametrize("username", ["S01", "A01"])
def test_other_roles_are_refused(accounts, username):
    at = open_page(accounts, username, PAGE, direct=True)
    role = "statistician" if username == "S01" else "interviewer"
    assert texts(at, "error") == [t("auth.forbidden", "zh", roles=t(f"auth.role_{role}", "zh"),
                                    needed=t("auth.role_administrator", "zh"))]
    assert len(at.main.children) == 1  # nothing but the refusal


def test_the_chosen_version_downloads_as_an_xlsform_that_reads_back_equal(accounts, db_url, monkeypatch):
    admin = accounts.get_user("chief")
    revised = dataclasses.replace(FORMS["telecom_users"], version="1.1")
    QuestionnaireLibrary(db_url).upload(workbook(revised), user=admin, accounts=accounts)
    downloads = []

    def download_button(label, data, **kwargs):  # records what the browser would receive
        downloads.append((kwargs["file_name"], data))
        return False

    monkeypatch.setattr(st, "download_button", download_button)
    at = open_page(accounts, "chief", PAGE)
    for choice, form in ((("telecom_users", "1.0"), FORMS["telecom_users"]), (("telecom_users", "1.1"), revised)):
        clean(at.selectbox(key="qadmin_download_which").set_value(choice).run())
        name, data = downloads[-1]
        assert name == f"telecom_users_v{form.version}.xlsx"
        assert read_xlsform(data) == form


def test_an_uploaded_xlsform_becomes_a_version_the_interviewing_page_offers(accounts, db_url):
    at = open_page(accounts, "chief", PAGE, lang="en")
    form = parcel_survey()
    clean(at.file_uploader[0].set_value(("parcel.xlsx", workbook(form), XLSX)).run())
    assert texts(at, "info") == [t("questionnaires_admin.checked", "en", title=form.title.en, id=form.id,
                                   version="1", screens=len(form.groups), questions=len(form.questions))]
    assert t("questionnaires_admin.will_add", "en") in texts(at, "caption")
    clean(at.button(key="qadmin_save").click().run())
    assert texts(at, "success") == [t("questionnaires_admin.saved", "en", id=form.id, version="1")]
    assert "qadmin_save" not in [b.key for b in at.button]  # the uploader was emptied
    assert QuestionnaireLibrary(db_url).current()["parcel_delivery"] == form
    (table,) = [frame.value for frame in at.dataframe]
    row = table[table["questionnaire_id"] == "parcel_delivery"].iloc[0]
    assert (row["version"], row["uploaded_by"], row["file_name"]) == ("1", "chief", "parcel.xlsx")
    log = accounts.audit_log(accounts.get_user("chief"))
    assert (log["action"] == "upload_questionnaire").sum() == 1
    interviewer = open_page(accounts, "A01", "pages/interview.py")
    assert form.title.zh in interviewer.radio(key="_start_questionnaire").options
    interviewer.radio(key="_start_questionnaire").set_value("parcel_delivery")
    interviewer.radio(key="_start_district").set_value("haimen")
    interviewer.text_input(key="_start_psu").input("社区 1")
    clean(interviewer.button(key="start").click().run())
    started = ResponseStore(db_url).get_interview(interviewer.query_params["interview"])
    assert (started.questionnaire_id, started.questionnaire_version) == ("parcel_delivery", "1")
    assert form.title.zh in texts(interviewer, "caption")  # its first screen is on the tablet


def test_a_broken_xlsform_is_a_readable_error_that_says_where(accounts, db_url):
    book = openpyxl.load_workbook(io.BytesIO(workbook(parcel_survey())))
    sheet = book["survey"]
    header = [cell.value for cell in sheet[1]]
    row = next(r for r in range(2, sheet.max_row + 1) if sheet.cell(r, 2).value == "rate_network")
    sheet.cell(row, header.index("constraint") + 1).value = ". >= unknown_question"
    buffer = io.BytesIO()
    book.save(buffer)
    for lang in ("zh", "en"):
        at = open_page(accounts, "chief", PAGE, lang=lang)
        clean(at.file_uploader[0].set_value(("broken.xlsx", buffer.getvalue(), XLSX)).run())
        assert texts(at, "error") == [t("questionnaires_admin.invalid_form", lang)]
        where = t("questionnaires_admin.where_row", lang, row=row)
        assert any(where in text for text in texts(at, "markdown"))
        assert any("unknown_question" in text for text in texts(at, "caption"))
        assert not [b for b in at.button if b.key == "qadmin_save"]
    assert "parcel_delivery" not in QuestionnaireLibrary(db_url).current()


def test_reusing_a_version_number_is_explained(accounts, db_url):
    admin = accounts.get_user("chief")
    QuestionnaireLibrary(db_url).upload(workbook(parcel_survey()), user=admin, accounts=accounts)
    changed = dataclasses.replace(parcel_survey(), title=Text("快递调查（改）", "Parcel survey (changed)"))
    at = open_page(accounts, "chief", PAGE)
    clean(at.file_uploader[0].set_value(("parcel.xlsx", workbook(changed), XLSX)).run())
    clean(at.button(key="qadmin_save").click().run())
    assert texts(at, "error") == [t("questionnaires_admin.conflict", "zh")]
    assert QuestionnaireLibrary(db_url).current()["parcel_delivery"] == parcel_survey()
