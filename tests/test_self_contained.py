"""The project needs nothing beside its own folder: no file reads the ``shared`` reference folder."""
from __future__ import annotations

import re
import subprocess

from tests.conftest import PROJECT_ROOT

# A path into a sibling "shared" folder, written as a string or as path pieces.
SHARED_PATH = re.compile(r"""\.\./shared|["']shared["']\s*[,/)]|/\s*["']shared["']""")


def tracked_text_files() -> list[str]:
    # the project's files: committed or new, not ignored (a clone has exactly these)
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, check=True).stdout.split()
    return [name for name in listed if (PROJECT_ROOT / name).is_file()
            and name.endswith((".py", ".R", ".sh", ".toml", ".yaml", ".cfg", ".ini")) or name == ".ci/run"]


def test_no_file_of_the_project_reads_the_shared_folder():
    offenders = []
    for name in tracked_text_files():
        text = (PROJECT_ROOT / name).read_text(encoding="utf-8", errors="replace")
        offenders += [f"{name}:{n}: {line.strip()}" for n, line in enumerate(text.splitlines(), 1)
                      if SHARED_PATH.search(line) and name != "tests/test_self_contained.py"]
    assert not offenders, "files that read ../shared:\n" + "\n".join(offenders)


def test_the_reference_data_the_tests_use_is_committed():
    for name in ("apipop", "apisrs", "apistrat", "apiclus1", "apiclus2"):
        assert (PROJECT_ROOT / "tests" / "reference" / "api" / f"{name}.csv").is_file()
    assert (PROJECT_ROOT / "tests" / "reference" / "plan" / "nantong_fangxin_xiaofei_plan.txt").is_file()
