"""The R commands shown beside the Statistics page's further analyses (survey_app.r_code): run in
R on the design's data, they give the app's numbers."""
from __future__ import annotations

import subprocess

import numpy as np
import pandas as pd
import pytest

from analysis import SurveyDesign
from survey_app.r_code import (chisq_call, compare_call, design_call, quantile_call, r_name,
                               ratio_call, r_string)
from tests.conftest import REFERENCE_DIR, require_program


@pytest.mark.parametrize("name, shown", [("age", "age"), ("_weight", "`_weight`"), (".x", ".x"),
                                         (".2a", "`.2a`"), ("a_b.c", "a_b.c"), ("年龄", "`年龄`"),
                                         ("2x", "`2x`")])
def test_r_names_are_backquoted_unless_syntactic(name, shown):
    assert r_name(name) == shown


def test_r_strings_are_escaped():
    assert r_string('a "b" \\ c') == '"a \\"b\\" \\\\ c"'


@pytest.fixture(scope="module")
def nantong() -> tuple[pd.DataFrame, SurveyDesign]:
    data = pd.read_csv(REFERENCE_DIR / "nantong_sample.csv", encoding="utf-8")
    data["_weight"] = data["weight"]
    return data, SurveyDesign(data, weights="_weight", strata="district", psu="community",
                              fpc="fpc", nest=True)


def run_r(data: pd.DataFrame, code: str, tmp_path) -> list[float]:
    """Run ``code`` in R after ``d <- read.csv(...)``; returns the numbers it prints with
    ``cat("@@", ...)`` (the commands' own printout is ignored)."""
    rscript = require_program("Rscript")
    data.to_csv(tmp_path / "d.csv", index=False, encoding="utf-8")
    script = (f'suppressMessages(library(survey))\noptions(digits = 15)\n'
              f'd <- read.csv("{tmp_path / "d.csv"}", check.names = FALSE, stringsAsFactors = FALSE, '
              f'encoding = "UTF-8")\n{code}\n')
    run = subprocess.run([rscript, "-e", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    return [float(v) for line in run.stdout.splitlines() if line.startswith("@@")
            for v in line.split()[1:]]


def test_quantile_and_ratio_commands_give_the_apps_numbers(nantong, tmp_path):
    data, des = nantong
    q = des.quantile("score", [0.25, 0.5], interval="mean", rule="math").to_frame()
    r = des.ratio("complaint", "aware").to_frame()
    code = "\n".join([
        design_call(des, data_note="the sample"),
        "q <- " + quantile_call("score", [0.25, 0.5], by=None, interval="mean", rule="math",
                                level=0.95),
        "cat('@@', coef(q), confint(q)[, 1], '\\n')",
        ratio_call("complaint", "aware", by=None, level=0.95),
        "cat('@@', coef(r), SE(r), '\\n')",
    ])
    got = run_r(data, code, tmp_path)
    np.testing.assert_allclose(got[:2], q["estimate"], rtol=1e-9)
    np.testing.assert_allclose(got[2:4], q["ci_low"], rtol=1e-6)
    np.testing.assert_allclose(got[4:], [r["estimate"].iloc[0], r["se"].iloc[0]], rtol=1e-6)


def test_chisq_and_compare_commands_give_the_apps_numbers(nantong, tmp_path):
    data, des = nantong
    test = des.chisq("sex", "age_group", statistic="F")
    comp = des.compare("satisfied", "district", statistic="proportion").to_frame()
    code = "\n".join([
        design_call(des),
        chisq_call("sex", "age_group", statistic="F").splitlines()[1].replace("svychisq", "x <- svychisq"),
        "cat('@@', x$statistic, x$p.value, '\\n')",
        compare_call("satisfied", "district", statistic="proportion", reference=None,
                     adjust="holm").replace("p.adjust(p", "adj <- p.adjust(p"),
        "cat('@@', res[, 1], adj, '\\n')",
    ])
    got = run_r(data, code, tmp_path)
    assert got[0] == pytest.approx(test.statistic, rel=1e-6)
    assert got[1] == pytest.approx(test.p, rel=1e-6)
    districts = sorted(data["district"].unique())      # R's sort(unique(...)) in the C locale
    by_name = comp.reindex(districts)
    k = len(districts)
    np.testing.assert_allclose(got[2:2 + k], by_name["difference"], rtol=1e-9)
    np.testing.assert_allclose(got[2 + k:], by_name["p_adjusted"], rtol=1e-6)
