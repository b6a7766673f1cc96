"""The import page in the running app (``streamlit.testing.v1.AppTest``): all or nothing,
the row-by-row report and its downloads, re-imports, progress, and readable errors.

Files are exports of interviews stored in another database (generated, valid interviews),
so the reference for a clean import is that database; problems are planted in known rows.
"""
from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest

from survey_app import importer
from survey_app.i18n import t
from survey_app.importer import PROBLEM_COLUMNS, read_responses
from survey_app.pages.import_responses import problem_report
from survey_app.store import ResponseStore
from survey_app.ui import md_text
from tests.survey_app.review_helpers import FORMS, clean, make_interviews, open_page, stored, texts

PAGE = "pages/import_responses.py"
FORM = "consumer_environment"


@pytest.fixture
def source(tmp_path, rng) -> ResponseStore:
    """Another survey database whose export is imported."""
    store = ResponseStore(f"sqlite:///{tmp_path / 'field.db'}")
    stored(store, make_interviews(FORM, rng))
    return store


def export(store: ResponseStore) -> pd.DataFrame:
    return store.responses_frame(FORM)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode("utf-8")


def upload(at, name: str, data: bytes, *, form: str = FORM):
    at.selectbox(key="import_questionnaire").set_value(form)
    at.file_uploader[0].set_value((name, data, "text/csv"))
    clean(at.run())
    return clean(at.button(key="import_run").click().run())


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    answers = [q.name for q in FORMS[FORM].questions if q.type != "note"]
    columns = ["interview_id", "interviewer", "sample_district", "psu", "wave", "started_at", "submitted_at", *answers]
    return frame[columns].sort_values("interview_id").reset_index(drop=True)


def test_a_clean_file_is_stored_once_and_audited(accounts, db_url, source):
    data = csv_bytes(export(source))
    at = upload(open_page(accounts, "chief", PAGE), "field.csv", data)
    n = len(export(source))
    assert texts(at, "success") == [t("import_responses.stored", "zh", stored=n, skipped=0)]
    here = ResponseStore(db_url)
    pd.testing.assert_frame_equal(comparable(here.responses_frame(FORM)), comparable(export(source)))
    again = upload(open_page(accounts, "chief", PAGE), "field.csv", data)
    assert texts(again, "success") == [t("import_responses.stored", "zh", stored=0, skipped=n)]
    assert len(here.responses_frame(FORM, status="all")) == n
    log = accounts.audit_log(accounts.get_user("chief"))
    imports = log[log["action"] == "import_interviews"]
    assert list(imports["target"]) == ["field.csv", "field.csv"] and len(imports) == 2


def test_a_file_with_bad_rows_stores_nothing_and_reports_each_row(accounts, db_url, source):
    frame = export(source).astype({"overall_satisfaction": object})
    frame.loc[1, "overall_satisfaction"] = "9"  # spreadsheet row 3: not a code of the scale
    frame.loc[3, "interview_id"] = "not-an-id"  # row 5
    frame.loc[4, "env_safety"] = "=HYPERLINK(\"http://x\")"  # row 6: a formula must stay text in the report
    data = csv_bytes(frame)
    at = upload(open_page(accounts, "chief", PAGE, lang="en"), "field.csv", data)
    reference = read_responses(data, FORMS[FORM], lang="en").problems
    assert set(reference["row"]) == {3, 5, 6}
    assert texts(at, "error") == [t("import_responses.rejected", "en", problems=len(reference),
                                    bad=reference["row"].nunique())]
    assert ResponseStore(db_url).responses_frame(FORM, status="all").empty
    shown = next(frame.value for frame in at.dataframe if "problem" in frame.value.columns)
    assert list(shown["row"]) == list(reference["row"]) and list(shown["problem"]) == list(reference["problem"])
    assert [b.label for b in at.download_button] == [t("import_responses.download_csv", "en"),
                                                     t("import_responses.download_xlsx", "en")]


def test_the_reports_read_back_as_the_problems_with_formulas_made_harmless(source):
    frame = export(source).astype({"env_safety": object, "age": object})
    frame.loc[0, "env_safety"] = "=1+1"
    frame.loc[2, "age"] = "forty"
    problems = read_responses(csv_bytes(frame), FORMS[FORM]).problems
    from_csv = pd.read_csv(io.BytesIO(problem_report(problems, "csv")), encoding="utf-8-sig", dtype=str)
    assert list(from_csv.columns) == list(PROBLEM_COLUMNS)
    assert list(from_csv["row"].astype(int)) == list(problems["row"])
    assert list(from_csv["problem"]) == list(problems["problem"])
    assert set(from_csv["value"]) == {"'=1+1", "forty"}
    sheet = openpyxl.load_workbook(io.BytesIO(problem_report(problems, "xlsx")))["problems"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == PROBLEM_COLUMNS
    assert [r[0] for r in rows[1:]] == list(problems["row"]) and {r[2] for r in rows[1:]} == {"'=1+1", "forty"}
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    with pytest.raises(ValueError, match="'csv' or 'xlsx'"):
        problem_report(problems, "pdf")


def test_the_progress_bar_follows_the_importer(accounts, source, monkeypatch):
    fractions = []
    real = importer.import_responses

    def spy(*args, progress, **kwargs):
        def both(fraction):
            fractions.append(fraction)
            progress(fraction)  # the page's bar update
        return real(*args, progress=both, **kwargs)

    monkeypatch.setattr(importer, "import_responses", spy)
    upload(open_page(accounts, "chief", PAGE), "field.csv", csv_bytes(export(source)))
    assert len(fractions) > 10 and fractions == sorted(fractions) and fractions[-1] == 1.0


def test_missing_information_comes_from_the_options(accounts, db_url, source):
    frame = export(source).drop(columns=["sample_district", "psu"])
    at = open_page(accounts, "chief", PAGE)
    at = upload(at, "odk.csv", csv_bytes(frame))
    assert texts(at, "error") and ResponseStore(db_url).responses_frame(FORM).empty
    problems = next(f.value for f in at.dataframe if "problem" in f.value.columns)
    assert set(problems["kind"]) == {t("import_responses.kind_missing_column", "zh")}
    at.selectbox(key="import_district").set_value("rugao")
    at.text_input(key="import_psu").input("村 5")
    clean(at.button(key="import_run").click().run())
    assert texts(at, "success") == [t("import_responses.stored", "zh", stored=len(frame), skipped=0)]
    here = ResponseStore(db_url).responses_frame(FORM)
    assert set(here["sample_district"]) == {"rugao"} and set(here["psu"]) == {"村 5"}


def test_unreadable_and_conflicting_files_are_readable_errors(accounts, db_url, source):
    at = upload(open_page(accounts, "chief", PAGE, lang="en"), "photo.csv", b"\xff\xd8\xff\xe0 not text \x00\x81")
    assert texts(at, "error") == [t("import_responses.unreadable", "en")]
    frame = export(source)
    clean(upload(at, "field.csv", csv_bytes(frame.iloc[:3])))
    changed = frame.iloc[:3].copy()
    changed["overall_satisfaction"] = ["1", "2", "1"]
    at = upload(at, "field-v2.csv", csv_bytes(changed))
    assert texts(at, "error") == [t("import_responses.conflict", "en")]
    assert len(ResponseStore(db_url).responses_frame(FORM)) == 3


def test_a_file_of_another_questionnaire_names_the_right_one(accounts, db_url, tmp_path, rng):
    telecom = ResponseStore(f"sqlite:///{tmp_path / 'telecom.db'}")
    stored(telecom, make_interviews("telecom_users", rng, per_psu=1))
    at = upload(open_page(accounts, "chief", PAGE), "telecom.csv", csv_bytes(telecom.responses_frame()))
    # the id is read from the file: shown as literal text, not Markdown
    assert texts(at, "info") == [t("import_responses.other_questionnaire", "zh", id=md_text("telecom_users"))]
    kinds = next(f.value for f in at.dataframe if "count" in f.value.columns)
    assert t("import_responses.kind_wrong_questionnaire", "zh") in set(kinds["kind"])
    assert ResponseStore(db_url).responses_frame(status="all").empty


@pytest.mark.parametrize("username", ["S01", "A01"])
def test_only_administrators_import(accounts, username):
    at = open_page(accounts, username, PAGE, direct=True)
    assert len(at.error) == 1 and len(at.main.children) == 1 and not at.file_uploader
