"""Issue 13: the audit log shows its actions in words of the interface language, not as codes
(``sign_in_failed``, ``create_user``)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from streamlit.testing.v1 import AppTest

from survey_app.auth import Accounts, AuthenticationError, session_state_for
from survey_app.i18n import namespaces, t
from survey_app.pages.admin import audit_action

SOURCES = Path(__file__).parent.parent.parent / "survey_app"
ADMIN_PAGE = SOURCES / "pages" / "admin.py"
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
ADMIN_PASSWORD = "correct horse battery"

# an action written to the audit log: the first string literal among the arguments of these calls
RECORDED = re.compile(r"\b(?:record|_record_quietly|_audit|audit|_open_session)\((?:\s*[^,()\"]+,)+?\s*\"([a-z_]+)\"")


def recorded_actions() -> set[str]:
    found: set[str] = set()
    for path in SOURCES.rglob("*.py"):
        # code, not the examples of docstrings
        text = "\n".join(line for line in path.read_text(encoding="utf-8").splitlines()
                         if not line.lstrip().startswith(">>>"))
        found |= set(RECORDED.findall(text))
        if 'f"{decision}_interview"' in text:  # review decisions: approve, reject, void
            found |= {"approve_interview", "reject_interview", "void_interview"}
    return found


def test_every_action_the_code_records_has_words():
    actions = recorded_actions()
    assert {"sign_in", "sign_in_failed", "create_user", "export", "backup"} <= actions  # the scan finds them
    texts = namespaces()["audit_actions"]
    assert sorted(actions - set(texts)) == []
    for code in actions:
        assert audit_action(code, "zh") == texts[code]["zh"] and audit_action(code, "en") == texts[code]["en"]


def test_an_action_without_words_yet_is_named_by_its_code():
    assert audit_action("new_thing", "zh") == t("audit_actions.other", "zh", code="new_thing")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_audit_log_tab_shows_actions_in_words(db_url, lang):
    accounts = Accounts(db_url, hasher=FAST)
    admin = accounts.create_first_administrator("chief", ADMIN_PASSWORD)
    accounts.create_user(admin, "A01", "tablet-secret-2026", ["interviewer"])
    with pytest.raises(AuthenticationError):
        accounts.sign_in("A01", "wrong password 1")
    session = accounts.sign_in("chief", ADMIN_PASSWORD)
    at = AppTest.from_file(str(ADMIN_PAGE), default_timeout=30)
    for key, value in session_state_for(session).items():
        at.session_state[key] = value
    at.query_params["lang"] = lang
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    log = next(d.value for d in at.dataframe if t("admin.col_action", lang) in d.value.columns)
    shown = list(log[t("admin.col_action", lang)])
    stored = list(accounts.audit_log(admin)["action"])
    assert {"sign_in_failed", "create_user", "setup", "sign_in"} <= set(stored)
    assert shown == [t(f"audit_actions.{code}", lang) for code in stored]
    assert not any(re.search(r"[a-z]+_[a-z]+", action) for action in shown)
    accounts.close()
