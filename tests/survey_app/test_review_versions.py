"""Questionnaire versions uploaded as XLSForms: stored once, audited, offered to the interviewing page.

Workbooks are written with ``write_xlsform`` from edited copies of the shipped questionnaires;
the reference for what is stored is the edited questionnaire itself.
"""
from __future__ import annotations

import dataclasses
import io
import json
from datetime import datetime, timedelta, timezone

import openpyxl
import pytest

from questionnaires import Questionnaire, Text
from questionnaires.xlsform import XLSFormError, write_xlsform
from survey_app.auth import Accounts, PermissionDeniedError
from survey_app.reporting import report_from_store
from survey_app.review import (
    InvalidReviewError,
    QuestionnaireLibrary,
    VersionConflictError,
    available_questionnaires,
)
from survey_app.store import ResponseStore
from tests.survey_app.review_helpers import (
    FAST,
    FORMS,
    make_interviews,
    make_users,
    stored,
)
from tests.survey_app.store_reference import Clock

FORM = "telecom_users"


@pytest.fixture
def accounts(db_url) -> Accounts:
    accounts = Accounts(db_url, hasher=FAST)
    yield accounts
    accounts.close()


@pytest.fixture
def users(accounts):
    return make_users(accounts)


@pytest.fixture
def library(db_url) -> QuestionnaireLibrary:
    library = QuestionnaireLibrary(db_url, clock=Clock(datetime(2026, 9, 1, 2, 0, tzinfo=timezone.utc),
                                                        timedelta(minutes=1)))
    yield library
    library.close()


def edited(version: str, *, title: str = "南通市通信用户满意度调查（修订）", form_id: str = FORM) -> Questionnaire:
    """The shipped telecom questionnaire with a new title and version (and possibly id)."""
    base = FORMS[FORM]
    return dataclasses.replace(base, id=form_id, version=version, title=Text(title, base.title.en))


def workbook(form: Questionnaire) -> bytes:
    buffer = io.BytesIO()
    write_xlsform(form, buffer)
    return buffer.getvalue()


def upload_log(accounts: Accounts, admin) -> list[dict]:
    log = accounts.audit_log(admin)
    log = log[log["action"].str.startswith("upload_questionnaire")].iloc[::-1]
    return [{"action": a, "target": t, **json.loads(d)} for a, t, d in zip(log["action"], log["target"],
                                                                            log["detail"])]


def test_an_uploaded_version_is_stored_audited_and_offered(db_url, library, accounts, users):
    admin = users["administrator"]
    form = edited("1.1")
    data = workbook(form)
    result = library.upload(data, user=admin, accounts=accounts, file_name="telecom_v1.1.xlsx")
    assert result.new and result.questionnaire == form and result.replaces == "1.0 (shipped)"
    assert result.uploaded_by == "chief" and result.uploaded_at.tzinfo is not None
    assert "stored" in result.summary() and result.to_frame().loc[0, "version"] == "1.1"
    offered = available_questionnaires(ResponseStore(db_url))
    assert offered[FORM] == form and offered[FORM].version == "1.1"
    assert {qid: q for qid, q in offered.items() if qid != FORM} == {
        qid: q for qid, q in FORMS.items() if qid != FORM}
    versions = library.versions()
    rows = versions[versions["questionnaire_id"] == FORM]
    assert list(zip(rows["version"], rows["source"], rows["current"])) == [
        ("1.0", "shipped", False), ("1.1", "uploaded", True)]
    assert rows["uploaded_by"].iloc[1] == "chief" and rows["file_name"].iloc[1] == "telecom_v1.1.xlsx"
    assert library.workbook(FORM, "1.1") == data  # the file as uploaded
    assert library.questionnaire(FORM, "1.0") == FORMS[FORM]  # the shipped version stays available
    (entry,) = upload_log(accounts, admin)
    assert entry["action"] == "upload_questionnaire" and entry["target"] == f"{FORM} v1.1"
    assert entry["file"] == "telecom_v1.1.xlsx" and entry["replaces"] == "1.0 (shipped)"
    assert entry["questions"] == len(form.questions) and len(entry["sha256"]) == 64


def test_the_latest_upload_is_current_and_every_version_stays(db_url, library, accounts, users):
    admin = users["administrator"]
    for version in ("1.1", "1.2"):
        library.upload(workbook(edited(version, title=f"通信调查 {version}")), user=admin, accounts=accounts)
    again = QuestionnaireLibrary(db_url)  # another app process on the same database
    assert again.current()[FORM].version == "1.2"
    assert again.questionnaire(FORM, "1.1").title.zh == "通信调查 1.1"
    assert [e["replaces"] for e in upload_log(accounts, admin)] == ["1.0 (shipped)", "1.1"]


def test_a_new_questionnaire_joins_the_shipped_ones(library, accounts, users):
    form = edited("1", title="南通市快递服务满意度调查", form_id="parcel_delivery")
    result = library.upload(workbook(form), user=users["administrator"], accounts=accounts)
    assert result.replaces is None
    assert set(library.current()) == {*FORMS, "parcel_delivery"}


def test_uploading_the_same_version_again_changes_nothing(library, accounts, users):
    admin = users["administrator"]
    data = workbook(edited("1.1"))
    first = library.upload(data, user=admin, accounts=accounts)
    resaved = openpyxl.load_workbook(io.BytesIO(data))  # same content, other bytes
    buffer = io.BytesIO()
    resaved.save(buffer)
    second = library.upload(buffer.getvalue(), user=admin, accounts=accounts)
    assert not second.new and second.uploaded_at == first.uploaded_at
    assert "nothing changed" in second.summary()
    assert len(library.versions()) == len(FORMS) + 1 and len(upload_log(accounts, admin)) == 1


def test_a_stored_version_is_never_changed(library, accounts, users):
    admin = users["administrator"]
    library.upload(workbook(edited("1.1")), user=admin, accounts=accounts)
    with pytest.raises(VersionConflictError, match=r"was uploaded on .* by chief with other content.*1\.2"):
        library.upload(workbook(edited("1.1", title="另一个标题")), user=admin, accounts=accounts)
    assert library.current()[FORM] == edited("1.1")
    assert len(upload_log(accounts, admin)) == 1


def test_the_shipped_version_number_cannot_be_reused(library, accounts, users):
    admin = users["administrator"]
    with pytest.raises(VersionConflictError, match=r"shipped with the app with other content.*1\.1"):
        library.upload(workbook(edited("1.0")), user=admin, accounts=accounts)
    with pytest.raises(VersionConflictError, match="is the shipped one, unchanged"):
        library.upload(workbook(FORMS[FORM]), user=admin, accounts=accounts)
    assert upload_log(accounts, admin) == [] and library.current() == FORMS


def test_a_broken_workbook_is_refused_with_its_cell(library, accounts, users):
    book = openpyxl.load_workbook(io.BytesIO(workbook(edited("1.1"))))
    sheet = book["survey"]
    header = [cell.value for cell in sheet[1]]
    row = next(r for r in range(2, sheet.max_row + 1) if sheet.cell(r, 2).value == "rate_tariff")
    sheet.cell(row, header.index("type") + 1).value = "select_one no_such_list"
    buffer = io.BytesIO()
    book.save(buffer)
    with pytest.raises(XLSFormError, match="no_such_list") as error:
        library.upload(buffer.getvalue(), user=users["administrator"], accounts=accounts)
    assert error.value.sheet == "survey" and error.value.row == row
    with pytest.raises(XLSFormError, match="not a readable .xlsx workbook"):
        library.upload(b"name,version\nx,1\n", user=users["administrator"], accounts=accounts)
    assert library.current() == FORMS and upload_log(accounts, users["administrator"]) == []


@pytest.mark.parametrize("role", ["statistician", "interviewer"])
def test_only_administrators_upload(library, accounts, users, role):
    with pytest.raises(PermissionDeniedError, match="questionnaires"):
        library.upload(workbook(edited("1.1")), user=users[role], accounts=accounts)
    assert library.current() == FORMS


def test_unknown_versions_are_explained(library):
    with pytest.raises(InvalidReviewError, match="has no version '9'; known versions: 1.0"):
        library.questionnaire(FORM, "9")
    with pytest.raises(InvalidReviewError, match="no such questionnaire is known"):
        library.questionnaire("nope", "1")
    with pytest.raises(InvalidReviewError, match="no uploaded workbook"):
        library.workbook(FORM, "1.0")


def test_reports_cover_interviews_of_an_uploaded_questionnaire(db_url, library, accounts, users, rng):
    form = edited("1", title="南通市快递服务满意度调查", form_id="parcel_delivery")
    library.upload(workbook(form), user=users["administrator"], accounts=accounts)
    interviews = [dataclasses.replace(i, questionnaire_id="parcel_delivery", questionnaire_version="1")
                  for i in make_interviews(FORM, rng, per_psu=2)]
    store = ResponseStore(db_url)
    stored(store, interviews)
    tables = report_from_store(store)
    frequencies = tables.frequencies["parcel_delivery"].set_index(["question", "code"])
    respondents = [i for i in interviews if i.answers["consent"] == "yes"]
    satisfied = sum(i.answers["telecom_satisfaction"] == "5" for i in respondents) / len(respondents)
    assert frequencies.at[("telecom_satisfaction", "5"), "estimate"] == pytest.approx(satisfied, abs=1e-12)
    methods = dict(zip(tables.methods["item"], tables.methods["value"]))
    assert methods["问卷 Questionnaire parcel_delivery"].startswith(f"{len(interviews)} submitted interviews")
