"""Shared checks of the R reference files (``tests/reference/*_reference.R`` and their CSVs).

Every reference CSV has the columns ``case, domain, quantity, value, r_command``. A test module
loads its CSV with :func:`load_reference`, compares values with :func:`close`, and re-runs its
R script with :func:`assert_script_reproduces` to show the stored CSV is what R gives now.
"""
from __future__ import annotations

import math
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd

from tests.conftest import PROJECT_ROOT, REFERENCE_DIR, require_program

__all__ = ["load_reference", "close", "assert_script_reproduces"]


def load_reference(name: str | Path) -> pd.DataFrame:
    """A reference CSV of ``tests/reference/`` (domains kept as text, R's NA as NaN)."""
    return pd.read_csv(REFERENCE_DIR / name, encoding="utf-8", dtype={"domain": str},
                       keep_default_na=False, na_values=["NA"])


def close(actual: float, expected: float, rel: float) -> bool:
    """``actual`` equals R's ``expected`` to the relative tolerance ``rel`` (exactly when 0;
    NaN only where R gives NaN; differences below 1e-13 always pass)."""
    if math.isnan(expected):
        return math.isnan(actual)
    if rel == 0.0:
        return actual == expected
    return abs(actual - expected) <= rel * max(abs(expected), 1e-300) or \
        abs(actual - expected) <= 1e-13


def assert_script_reproduces(script: str, csv: str, tmp_path: Path, *, package: str = "survey",
                             timeout: int = 900) -> None:
    """Run ``tests/reference/<script>`` with Rscript into a temporary file and check it gives
    the stored ``tests/reference/<csv>``: the same columns and rows (every column but ``value``
    and ``r_command`` identical), values equal to 1e-10."""
    rscript = require_program("Rscript")
    probe = subprocess.run([rscript, "-e", f"library({package})"], capture_output=True, text=True)
    if probe.returncode != 0:
        require_program(f"R package {package} (r-cran-{package})", candidates=())
    out = tmp_path / csv
    run = subprocess.run([rscript, f"tests/reference/{script}", str(out)], cwd=PROJECT_ROOT,
                         capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, run.stderr[-3000:]
    fresh = pd.read_csv(out, encoding="utf-8", dtype={"domain": str}, keep_default_na=False,
                        na_values=["NA"])
    stored = load_reference(csv)
    assert list(fresh.columns) == list(stored.columns)
    for column in (c for c in stored.columns if c not in ("value", "r_command")):
        assert list(fresh[column]) == list(stored[column]), column
    a = fresh["value"].astype(float).to_numpy()
    b = stored["value"].astype(float).to_numpy()
    same = np.isclose(a, b, rtol=1e-10, atol=1e-12) | (np.isnan(a) & np.isnan(b))
    assert same.all(), fresh[~same].head(10).to_string()


def mismatches(expected: pd.DataFrame, table: pd.DataFrame, tolerance: dict[str, float], *,
               clip_wald: bool = False) -> list[str]:
    """The rows of a case's ``expected`` values that ``table`` (indexed by R's domain labels,
    one column per quantity) does not reproduce to ``tolerance[quantity]``, as messages with
    the R command. ``clip_wald``: R's Wald ("mean") limits outside [0, 1] are compared clipped,
    as the project gives them."""
    failures = []
    for row in expected.itertuples(index=False):
        if row.domain not in table.index:
            failures.append(f"{row.domain}: domain missing (have {list(table.index)[:10]})")
            continue
        actual = float(table.loc[row.domain, row.quantity])
        value = float(row.value)
        if clip_wald and row.quantity.startswith("ci"):
            value = min(max(value, 0.0), 1.0)
        if not close(actual, value, tolerance[row.quantity]):
            failures.append(f"{row.domain} {row.quantity}: python {actual!r} vs R {value!r} "
                            f"[{row.r_command}]")
    return failures
