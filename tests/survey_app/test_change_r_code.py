"""The R command of the Statistics page's "change between two waves" (survey_app.r_code.wave_change_call):
run in R on the stacked design's data, it gives the app's change, SE, interval and p-values."""
from __future__ import annotations

import numpy as np
import pytest

from analysis import wave_change
from survey_app.change import stacked_design
from survey_app.r_code import wave_change_call
from survey_app.reporting import PSU_COLUMN, STRATA_COLUMN, ReportSettings, target_column
from survey_app.store import ResponseStore
from tests.survey_app.test_r_code import run_r

TARGET = target_column("consumer_environment_satisfaction")


@pytest.fixture(scope="module")
def stacked(demo_url):
    frame = ResponseStore(demo_url).responses_frame(status="submitted")
    return stacked_design(frame, questionnaire="consumer_environment", waves=["2025", "2026"],
                          settings=ReportSettings())


def test_change_command_gives_the_apps_numbers(stacked, tmp_path):
    app = wave_change(stacked, TARGET, wave="_wave", statistic="proportion").to_frame().iloc[0]
    by = wave_change(stacked, TARGET, wave="_wave", by="district", statistic="proportion",
                     adjust="holm").to_frame()
    code = "\n".join([
        wave_change_call(stacked, TARGET, ["2025", "2026"], strata=STRATA_COLUMN, psu=PSU_COLUMN, by=None,
                         level=0.9, adjust="none", data_note="both waves"),
        "cat('@@', coef(ct), SE(ct), confint(ct, level = 0.9, df = degf(des)), p, '\\n')",
        wave_change_call(stacked, TARGET, ["2025", "2026"], strata=STRATA_COLUMN, psu=PSU_COLUMN, by="district",
                         level=0.9, adjust="holm").split("\n", 2)[-1].replace("p.adjust(p", "adj <- p.adjust(p"),
        "cat('@@', res[order(ds), 1], res[order(ds), 2], adj[order(ds)], '\\n')",
    ])
    assert "strata = ~interaction(wave, sample_district)" in code and "ids = ~interaction(wave, psu)" in code
    data = stacked.data.drop(columns=[c for c in stacked.data.columns if "×" in c])
    got = run_r(data, code, tmp_path)
    overall = wave_change(stacked, TARGET, wave="_wave", statistic="proportion", level=0.9).to_frame().iloc[0]
    np.testing.assert_allclose(got[0], app["difference"], rtol=1e-9)
    np.testing.assert_allclose(got[1:5], [overall["se"], overall["ci_low"], overall["ci_high"],
                                          overall["p_value"]], rtol=1e-6)
    table = by.reset_index().set_index("district").sort_index()
    k = len(table)
    np.testing.assert_allclose(got[5:5 + k], table["difference"], rtol=1e-9)
    np.testing.assert_allclose(got[5 + k:5 + 2 * k], table["se"], rtol=1e-6)
    np.testing.assert_allclose(got[5 + 2 * k:], table["p_adjusted"], rtol=1e-6)
