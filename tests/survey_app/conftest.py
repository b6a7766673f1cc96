"""Fixtures shared by the app's page tests: a SQLite response database that the app opens
(``SURVEY_DB_URL``), the staff accounts of :mod:`tests.survey_app.review_helpers`, and a
database holding the demo data set (one per test module).

A test module that needs other accounts or another database defines its own fixture of the
same name, which takes precedence over these.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from survey_app.auth import Accounts
from survey_app.demo import load_demo
from survey_app.store import ResponseStore
from tests.survey_app.review_helpers import FAST, make_users


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'survey.db'}"
    monkeypatch.setenv("SURVEY_DB_URL", url)
    return url


@pytest.fixture
def accounts(db_url: str) -> Iterator[Accounts]:
    accounts = Accounts(db_url, hasher=FAST)
    make_users(accounts)
    yield accounts
    accounts.close()


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database with the demo data set."""
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'survey.db'}"
    store = ResponseStore(url)
    load_demo(store)
    store.close()
    return url
