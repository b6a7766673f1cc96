"""Shared test fixtures.

Tests that need a system program (Chromium, R, PostgreSQL) call ``require_program``:
outside CI a missing program skips the test with the reason; in CI (``CI=true``)
it fails, because ``.ci/run`` is supposed to have installed it.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

PROJECT_ROOT = Path(__file__).parent.parent
REFERENCE_DIR = PROJECT_ROOT / "tests" / "reference"
IN_CI = os.environ.get("CI", "").lower() == "true"

# Property tests draw the same examples on every run (as the seeded generators do), so a run's
# outcome depends on the code only; a test's own @settings still sets its example count.
settings.register_profile("seeded", derandomize=True)
settings.load_profile("seeded")


def require_program(name: str, *, candidates: tuple[str, ...] = ()) -> str:
    """Return the path of program ``name``; skip (outside CI) or fail (in CI) when absent."""
    for candidate in (name, *candidates):
        found = shutil.which(candidate) or (candidate if Path(candidate).is_file() else None)
        if found:
            return found
    message = f"system program {name!r} is not installed (.ci/run installs it)"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded random generator, fresh for each test."""
    return np.random.default_rng(20261126)


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL cluster for the whole test session (skipped outside CI when not installed)."""
    from tests.postgres_server import PostgresServer, find_postgres_bin

    bin_dir = find_postgres_bin()
    if bin_dir is None:
        require_program("initdb")
    server = PostgresServer.start(bin_dir)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """The SQLAlchemy URL of a fresh, empty PostgreSQL database."""
    return postgres_server.create_database()
