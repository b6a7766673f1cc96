"""The project needs nothing beside its own folder: no file reads a folder next to the project.

The folders next to the project are listed when the test runs (CI clones the project beside its
reference folder), so the check names no folder itself.
"""
from __future__ import annotations

import re
import subprocess

from tests.conftest import PROJECT_ROOT


def sibling_path(name: str) -> re.Pattern[str]:
    """A path into the folder ``name`` beside the project: ``../name`` or path pieces ``"name"``."""
    quoted = rf"""["']{re.escape(name)}["']"""
    return re.compile(rf"""\.\./{re.escape(name)}\b|{quoted}\s*[,/)]|/\s*{quoted}""")


def project_files() -> list[str]:
    # the project's files: committed or new, not ignored (a clone has exactly these)
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, check=True).stdout.split()
    return [name for name in listed if (PROJECT_ROOT / name).is_file()
            and (name.endswith((".py", ".R", ".sh", ".toml", ".yaml", ".cfg", ".ini")) or name == ".ci/run")]


def test_the_check_finds_a_path_into_a_folder_beside_the_project():
    found = sibling_path("refdata")
    for line in ('pd.read_csv("../refdata/api.csv")', 'ROOT.parent / "refdata" / "api"',
                 'file.path("..", "refdata", "api")'):
        assert found.search(line), line
    for line in ('ROOT / "tests" / "reference"', 'name = "refdata_v2"'):
        assert not found.search(line), line


def test_no_file_of_the_project_reads_a_folder_beside_it():
    siblings = [p.name for p in PROJECT_ROOT.parent.iterdir() if p.is_dir() and p != PROJECT_ROOT]
    patterns = [sibling_path(name) for name in siblings]
    offenders = []
    for name in project_files():
        text = (PROJECT_ROOT / name).read_text(encoding="utf-8", errors="replace")
        offenders += [f"{name}:{n}: {line.strip()}" for n, line in enumerate(text.splitlines(), 1)
                      if any(p.search(line) for p in patterns)]
    assert not offenders, f"files that read a folder beside the project ({siblings}):\n" + "\n".join(offenders)


def test_the_reference_data_the_tests_use_is_committed():
    for name in ("apipop", "apisrs", "apistrat", "apiclus1", "apiclus2"):
        assert (PROJECT_ROOT / "tests" / "reference" / "api" / f"{name}.csv").is_file()
    assert (PROJECT_ROOT / "tests" / "reference" / "plan" / "nantong_fangxin_xiaofei_plan.txt").is_file()
