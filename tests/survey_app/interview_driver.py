"""Drive the interviewing page in ``streamlit.testing.v1.AppTest`` (used by the app tests)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from argon2 import PasswordHasher
from streamlit.testing.v1 import AppTest

from questionnaires import Question, Questionnaire
from survey_app import interview_flow as flow
from survey_app.pages.interview import answer_key
from survey_app.auth import Accounts, InvalidAccountError, Session, session_state_for
from survey_app.store import ResponseStore, default_url

APP = Path(__file__).parent.parent.parent / "survey_app" / "app.py"
# Generous: a run takes ~0.1 s, but CI machines are shared.
TIMEOUT = 30
# Accounts for the tests: cheap hashing parameters keep them fast.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
ADMIN_PASSWORD = "test administrator password"
INTERVIEWER_PASSWORD = "test interviewer password"


def open_app(
    *, interview: str | None = None, lang: str | None = None, interviewer: str | None = "A01"
) -> AppTest:
    """A fresh browser session on the given URL query parameters, signed in as ``interviewer``.

    The interviewer's account is created in the ``SURVEY_DB_URL`` database if needed;
    ``interviewer=None`` opens the app signed out.
    """
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    if interviewer is not None:
        for name, value in session_state_for(interviewer_session(interviewer)).items():
            at.session_state[name] = value
    for name, value in (("interview", interview), ("lang", lang)):
        if value is not None:
            at.query_params[name] = value
    at.run()
    assert_clean(at)
    return at


def interviewer_session(username: str) -> Session:
    """A signed-in session of interviewer ``username`` (account and an administrator made on demand)."""
    accounts = Accounts(default_url(), hasher=FAST_HASHER)
    try:
        if accounts.needs_setup():
            accounts.create_first_administrator("test-admin", ADMIN_PASSWORD)
        try:
            accounts.get_user(username)
        except InvalidAccountError:
            admin = accounts.get_user("test-admin")
            accounts.create_user(admin, username, INTERVIEWER_PASSWORD, ["interviewer"])
        return accounts.sign_in(username, INTERVIEWER_PASSWORD)
    finally:
        accounts.close()


def assert_clean(at: AppTest) -> None:
    """No traceback on the page."""
    assert not at.exception, [e.value for e in at.exception]


def start_interview(at: AppTest, form_id: str, *, district: str = "chongchuan", psu: str = "社区 7") -> str:
    """Fill the start screen, press Start and return the new interview's id.

    The interviewer code is the signed-in account's (see :func:`open_app`).
    """
    at.radio(key="_start_questionnaire").set_value(form_id)
    at.radio(key="_start_district").set_value(district)
    at.text_input(key="_start_psu").input(psu)
    at.button(key="start").click().run()
    assert_clean(at)
    return at.query_params["interview"]


def answer(at: AppTest, form: Questionnaire, interview_id: str, question: Question, value: Any) -> None:
    """Enter ``value`` (an answer, None = clear) in the question's widget, as a tap or typing would."""
    key = answer_key(interview_id, question.name)
    shown = flow.to_widget(form, question, value)
    if question.type == "select_multiple":
        at.pills(key=key).set_value(shown)
    elif question.type == "select_one":
        at.radio(key=key).set_value(shown)
    elif question.type in ("integer", "decimal"):
        at.number_input(key=key).set_value(shown)
    elif "multiline" in (question.appearance or ""):
        at.text_area(key=key).input(shown)
    else:
        at.text_input(key=key).input(shown)
    at.run()
    assert_clean(at)


def widget_value(at: AppTest, form: Questionnaire, interview_id: str, question: Question) -> Any:
    """The answer the question's widget shows."""
    key = answer_key(interview_id, question.name)
    if question.type == "select_multiple":
        raw = at.pills(key=key).value
    elif question.type == "select_one":
        raw = at.radio(key=key).value
    elif question.type in ("integer", "decimal"):
        raw = at.number_input(key=key).value
    elif "multiline" in (question.appearance or ""):
        raw = at.text_area(key=key).value
    else:
        raw = at.text_input(key=key).value
    return flow.to_answer(form, question, raw)


def has_widget(at: AppTest, interview_id: str, question: Question) -> bool:
    """Whether the question is on the page."""
    key = answer_key(interview_id, question.name)
    widgets = [*at.radio, *at.pills, *at.number_input, *at.text_input, *at.text_area]
    return any(widget.key == key for widget in widgets)


def press(at: AppTest, key: str) -> None:
    at.button(key=key).click().run()
    assert_clean(at)


def valid_answer(form: Questionnaire, question: Question, answers: dict, rng: np.random.Generator) -> Any:
    """A random answer the questionnaire accepts, given the answers so far."""
    if question.name == "consent":
        return "yes"
    for _ in range(200):
        if question.type == "select_one":
            candidate = str(rng.choice([c.name for c in form.choices(question)]))
        elif question.type == "select_multiple":
            codes = [c.name for c in form.choices(question)]
            size = int(rng.integers(1, min(3, len(codes)) + 1))
            chosen = set(rng.choice(codes, size=size, replace=False).tolist())
            candidate = [code for code in codes if code in chosen]
        elif question.type == "integer":
            candidate = int(rng.integers(0, 101))
        elif question.type == "decimal":
            candidate = float(np.round(rng.uniform(0, 1000), 2))
        else:
            candidate = f"意见 {int(rng.integers(1000))} ok"
        if form.check_answer(question, candidate, answers, "zh") is None:
            return candidate
    raise AssertionError(f"no valid answer found for {question.name}")


def complete_interview(
    at: AppTest,
    store: ResponseStore,
    form: Questionnaire,
    interview_id: str,
    rng: np.random.Generator,
    *,
    skip_optional: float = 0.3,
) -> dict[str, Any]:
    """Answer every shown question screen by screen, press Next/Submit; return the answers given.

    The returned dict is built from what was entered (plus answers the page pre-filled and
    that were kept), independently of the store and of ``Questionnaire.clean``.
    """
    given: dict[str, Any] = dict(store.get_interview(interview_id).answers)
    skipped: set[str] = set()
    for _ in range(3 * len(form.groups)):
        interview = store.get_interview(interview_id)
        if interview.status == "submitted":
            return given
        group = form.groups[interview.page]
        while True:
            pending = [
                q for q in form.visible_questions(group, given)
                if q.type != "note" and q.name not in given and q.name not in skipped
            ]
            if not pending:
                break
            question = pending[0]
            if not question.required and rng.random() < skip_optional:
                skipped.add(question.name)
                continue
            value = valid_answer(form, question, given, rng)
            answer(at, form, interview_id, question, value)
            given[question.name] = value
        press(at, "nav_next")
    raise AssertionError("the interview did not end")
