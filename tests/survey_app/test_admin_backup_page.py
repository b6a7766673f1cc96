"""The backup and restore part of the administration page (``streamlit.testing.v1.AppTest``).

The download itself (a deferred file, made on click) is driven in a real browser in
``test_browser_backup.py``; here an uploaded backup is checked, refused or restored.
"""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from survey_app.backup import REFUSAL_PROBLEMS, backup_database, sqlite_path
from survey_app.i18n import LANGUAGES, t
from survey_app.pages import admin as admin_page  # noqa: F401  (registers the page's texts)
from survey_app.store import ResponseStore
from tests.survey_app.review_helpers import clean, open_page

FORM = "consumer_environment"


def all_text(at) -> str:
    parts = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success"):
        parts += [str(element.value) for element in getattr(at, kind)]
    return "\n".join(parts)


def audit_actions(url: str) -> list[str]:
    with sqlite3.connect(sqlite_path(url)) as conn:
        return [row[0] for row in conn.execute("SELECT action FROM audit_log ORDER BY id")]


def interview_count(url: str) -> int:
    with sqlite3.connect(sqlite_path(url)) as conn:
        return conn.execute("SELECT COUNT(*) FROM interviews").fetchone()[0]


@pytest.fixture
def backup(db_url, accounts, tmp_path) -> Path:
    """A genuine backup with one interview; the database then gets a second one."""
    store = ResponseStore(db_url)
    store.start_interview(FORM, "1", interviewer="A01", district="haimen", psu="P1", wave="2026")
    path = backup_database(tmp_path / "genuine.db", url=db_url).path
    store.start_interview(FORM, "1", interviewer="A01", district="haimen", psu="P2", wave="2026")
    store.close()
    return path


def test_every_refusal_has_a_text_in_each_language():
    for problem in REFUSAL_PROBLEMS:
        for lang in LANGUAGES:
            assert t(f"admin.refused_{problem}", lang, name="x")


def test_a_genuine_backup_is_planned_with_its_administrators_and_restored(db_url, accounts, backup):
    at = open_page(accounts, "chief", "pages/admin.py")
    clean(at.file_uploader(key="admin_restore").upload("nightly.db", backup.read_bytes()).run())
    assert t("admin.restore_plan", "zh", backup=1, current=2) in all_text(at)
    assert t("admin.restore_admins", "zh", names="chief") in all_text(at)
    clean(at.checkbox(key="admin_restore_confirm").check().run())
    clean(at.button(key="admin_restore_button").click().run())
    assert not at.error, [e.value for e in at.error]
    assert t("admin.restored", "zh", path="").split("：")[0] in all_text(at)
    assert interview_count(db_url) == 1
    assert audit_actions(db_url)[-1] == "restore"


def test_a_crafted_backup_is_refused_once_with_the_reason_and_changes_nothing(db_url, accounts, backup, tmp_path):
    crafted = tmp_path / "crafted.db"
    shutil.copy(backup, crafted)
    with sqlite3.connect(crafted) as conn:
        conn.execute("DELETE FROM auth_setup")
    conn.close()
    at = open_page(accounts, "chief", "pages/admin.py", lang="en")
    actions = audit_actions(db_url)
    clean(at.file_uploader(key="admin_restore").upload("crafted.db", crafted.read_bytes()).run())
    assert [e.value for e in at.error] == [t("admin.refused_no_setup", "en")]
    assert t("admin.refused_note", "en") in all_text(at)
    assert not [button for button in at.button if button.key == "admin_restore_button"]
    clean(at.run())  # another click on the page: checked once, audited once
    assert [e.value for e in at.error] == [t("admin.refused_no_setup", "en")]
    assert audit_actions(db_url)[len(actions):] == ["restore_refused"]
    assert interview_count(db_url) == 2


def test_a_failed_restore_check_is_explained_in_chinese(db_url, accounts, backup, tmp_path, monkeypatch):
    """Issue 13: a backup error that is not a refusal (here the live database cannot be read while
    the backup is compared with it) is worded in the page's language, naming nothing in English."""
    from survey_app import backup as backup_module
    from tests.survey_app.test_results_chinese import ENGLISH, offending

    unreadable = tmp_path / "unreadable.db"
    unreadable.write_bytes(b"not a database " * 300)
    compare = backup_module._plan
    monkeypatch.setattr(backup_module, "_plan", lambda copy, _target: compare(copy, unreadable))
    at = open_page(accounts, "chief", "pages/admin.py", lang="zh")
    clean(at.file_uploader(key="admin_restore").upload("nightly.db", backup.read_bytes()).run())
    shown = [e.value for e in at.error]
    assert shown == [t("admin.backup_error", "zh", detail=t("admin.failed_compare_failed", "zh"))]
    assert not ENGLISH.search(" ".join(shown)) and not offending(shown), shown
    assert not [button for button in at.button if button.key == "admin_restore_button"]
    assert interview_count(db_url) == 2


def test_every_failure_has_a_text_in_each_language():
    from survey_app.backup import FAILURE_PROBLEMS, BackupError

    for problem in FAILURE_PROBLEMS:
        error = BackupError("English message", problem=problem)
        for lang in LANGUAGES:
            assert t(f"admin.failed_{problem}", lang, path="p", backend="b", database="d", type="t", column="c")
            assert str(error) == "English message" and error.problem == problem
    with pytest.raises(ValueError, match="problem must be one of"):
        BackupError("English message", problem="not_sqlite")
