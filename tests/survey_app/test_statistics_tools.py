"""The Statistics page's further analyses (quantiles, ratio, cross-tabulation, domain
comparison) in ``streamlit.testing.v1.AppTest``: the numbers shown are the design's, and the R
command beside each names the same analysis."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from survey_app.demo import DEMO_WAVES
from survey_app.i18n import t
from survey_app.r_code import design_call, r_name
from survey_app.reporting import build_report, target_column
from survey_app.store import ResponseStore
from tests.survey_app.signed_in import open_results_page, shows_no_error as clean

PAGE = Path(__file__).parent.parent.parent / "survey_app" / "pages" / "statistics.py"
LATEST = DEMO_WAVES[-1]


@pytest.fixture(scope="module")
def demo_designs(demo_url):
    frame = ResponseStore(demo_url).responses_frame(wave=LATEST)
    return build_report(frame, wave=LATEST).designs


def open_tools(url: str, monkeypatch, lang: str = "en") -> AppTest:
    return clean(open_results_page(PAGE, url, monkeypatch, lang=lang, timeout=120))


def tools_frame(at: AppTest, column: str):
    """The further analyses' table: the dataframe with ``column`` among its columns."""
    return next(f.value for f in at.dataframe if column in f.value.columns)


def r_code(at: AppTest) -> str:
    return "\n".join(c.value for c in at.code)


def test_quantiles_by_default_with_their_r_command(demo_url, demo_designs, monkeypatch):
    at = open_tools(demo_url, monkeypatch)
    assert t("tools.title", "en") in [s.value for s in at.subheader]
    form = at.selectbox(key="tools_form").value
    variable = at.selectbox(key="tools_q_var").value
    shown = tools_frame(at, t("tools.col_prob", "en"))
    expected = demo_designs[form].quantile(variable, [0.25, 0.5, 0.75]).to_frame()
    np.testing.assert_allclose(shown[t("tools.col_estimate", "en")], expected["estimate"], rtol=1e-12)
    np.testing.assert_allclose(shown[t("tools.col_ci_low", "en")], expected["ci_low"], rtol=1e-12)
    code = r_code(at)
    assert f"svyquantile(~{variable}, des, c(0.25, 0.5, 0.75)" in code
    assert design_call(demo_designs[form]).splitlines()[0] in code


def test_each_analysis_shows_its_numbers_and_r_command(demo_url, demo_designs, monkeypatch):
    at = open_tools(demo_url, monkeypatch)
    at.selectbox(key="tools_form").set_value("consumer_environment").run()
    des = demo_designs["consumer_environment"]

    at.segmented_control(key="tools_kind").set_value("crosstab").run()
    clean(at)
    at.selectbox(key="tools_x_row").set_value("district").run()
    at.selectbox(key="tools_x_col").set_value("overall_satisfaction").run()
    test = des.chisq("district", "overall_satisfaction", statistic="F")
    assert "svychisq(~district + overall_satisfaction, des, statistic = \"F\")" in r_code(at)
    assert f"{test.p:.4g}" in " ".join(m.value for m in at.markdown)

    at.segmented_control(key="tools_kind").set_value("compare").run()
    clean(at)
    column = at.selectbox(key="tools_c_var").value
    assert column.startswith(target_column(""))
    shown = tools_frame(at, t("tools.col_difference", "en"))
    expected = des.compare(column, "district", statistic="proportion", ci_method="logit").to_frame()
    np.testing.assert_allclose(shown[t("tools.col_difference", "en")], expected["difference"], rtol=1e-12)
    np.testing.assert_allclose(shown[t("tools.col_p_adjusted", "en")], expected["p_adjusted"], rtol=1e-12)
    assert "svycontrast(b, c(-1, 1))" in r_code(at) and 'p.adjust(p, method = "holm")' in r_code(at)

    at.segmented_control(key="tools_kind").set_value("ratio").run()
    clean(at)
    num, den = at.selectbox(key="tools_r_num").value, at.selectbox(key="tools_r_den").value
    shown = tools_frame(at, t("tools.col_estimate", "en"))
    expected = des.ratio(num, den).to_frame()
    np.testing.assert_allclose(shown[t("tools.col_estimate", "en")], expected["estimate"], rtol=1e-12)
    assert f"svyratio(~{r_name(num)}, ~{r_name(den)}, des, na.rm = TRUE)" in r_code(at)


def test_chinese_page_has_no_english_labels(demo_url, monkeypatch):
    at = open_tools(demo_url, monkeypatch, lang="zh")
    assert t("tools.title", "zh") in [s.value for s in at.subheader]
    shown = tools_frame(at, t("tools.col_prob", "zh"))
    assert "estimate" not in shown.columns and t("tools.col_estimate", "zh") in shown.columns
