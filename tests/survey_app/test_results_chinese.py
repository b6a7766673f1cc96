"""Issue 13: the results pages in Chinese show no "nan", "None", raw codes or English sentences,
with the demo data and with one or two interviews; below the minimum sample a card says so in
words instead of printing numbers that look like results."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from analysis.targets import VERDICT_COLUMNS
from survey_app.demo import DEMO_WAVES, generate_demo
from survey_app.i18n import t
from survey_app.pages.statistics import WITHHELD_COLUMNS
from survey_app.reporting import build_report
from survey_app.store import ResponseStore
from tests.survey_app.signed_in import open_results_page

PAGES = Path(__file__).parent.parent.parent / "survey_app" / "pages"
RESULTS_PAGES = ("dashboard", "statistics", "frequencies")
TIMEOUT = 120

# Three ASCII words in a row: an English sentence, not a code, unit or formula.
ENGLISH = re.compile(r"\b[A-Za-z]{3,}\s+[A-Za-z]{3,}\s+[A-Za-z]{3,}\b")
# Codes of the data and the analysis that must be worded, not shown.
RAW = re.compile(r"\b(nan|NaN|None|null|inconclusive|not met|no data|too few|all|"
                 r"sign_in_failed|[a-z]+_[a-z_]+)\b")
# Words allowed in the Chinese interface: abbreviations, names of formats, standards and interval
# methods (as statisticians name them: logit, Wilson, ...).
ALLOWED = re.compile(r"\b(R|CI|SE|XLSForm|NCHS|Excel|CSV|PPS|PSU|n|deff|df|fpc|svyciprop|"
                     r"logit|asin|beta|likelihood|wilson|mean|xlogit)\b")
# What Streamlit shows in English where the app sets nothing (its defaults)
STREAMLIT_PLACEHOLDER = "Choose an option"
STREAMLIT_SELECT_ALL = "Select all"
STREAMLIT_UPLOAD = "Drag and drop file here"
# Streamlit draws a missing cell of st.dataframe as "None" unless the table sets a placeholder
STREAMLIT_MISSING_CELL = "None"
STREAMLIT_DEFAULTS = {STREAMLIT_PLACEHOLDER, STREAMLIT_SELECT_ALL, STREAMLIT_UPLOAD}


def shown_texts(at: AppTest) -> list[str]:
    """Every text a user reads on the page: titles, paragraphs, captions, metrics, notices,
    widget labels and the options of choice widgets (as the page formats them)."""
    texts: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "text", "info", "warning", "error",
                 "success", "exception"):
        texts += [str(e.value) for e in getattr(at, kind)]
    texts += [str(m.label) for m in at.metric] + [str(m.value) for m in at.metric]
    for kind in ("selectbox", "multiselect", "segmented_control", "radio"):
        for widget in getattr(at, kind):
            texts.append(str(widget.label))
            texts += [str(o) for o in widget.options]
    # the text of an empty choice (Streamlit's own unless set), when nothing is chosen
    texts += [w.proto.placeholder or STREAMLIT_PLACEHOLDER for w in at.selectbox if w.value is None]
    texts += [w.proto.placeholder or STREAMLIT_PLACEHOLDER for w in at.multiselect if not w.value]
    texts += [STREAMLIT_SELECT_ALL for w in at.multiselect if w.proto.select_all]
    for uploader in at.get("file_uploader"):
        texts.append(uploader.proto.label)
        texts.append(uploader.proto.help or STREAMLIT_UPLOAD)
    for button in list(at.button):
        texts.append(str(button.label))
    return texts + [cell for table in at.dataframe for cell in table_cells(table)]


def table_cells(table) -> list[str]:
    """The cells of an ``st.dataframe`` as the browser draws them: a missing value as the table's
    placeholder (Streamlit's "None" when none is set), a value as a pandas Styler's display text
    when there is one; numbers drawn by a column's number format are not text and are left out."""
    data = table.value
    styler = table.proto.arrow_data.styler
    display = convert_arrow_bytes_to_pandas_df(styler.display_values) if styler.display_values else None
    cells = []
    for i in range(len(data)):
        for j in range(data.shape[1]):
            value = data.iat[i, j]
            if pd.isna(value):
                cells.append(table.proto.placeholder if table.proto.HasField("placeholder")
                             else STREAMLIT_MISSING_CELL)
            elif display is not None and isinstance(display.iat[i, j], str) and display.iat[i, j]:
                cells.append(display.iat[i, j])
            elif isinstance(value, str):
                cells.append(value)
    return cells


def offending(texts: list[str]) -> list[str]:
    bad = []
    for text in texts:
        if text in STREAMLIT_DEFAULTS:
            bad.append(text)
            continue
        # links, `literal` file contents and $formulas$ are not sentences
        plain = ALLOWED.sub(" ", re.sub(r"https?://\S+|`[^`]*`|\$[^$]*\$", " ", text))
        if ENGLISH.search(plain) or RAW.search(plain):
            bad.append(text)
    return bad


def few_interviews(url: str, count: int, *, every_questionnaire: bool = False) -> None:
    """``count`` submitted interviews of the consumer-environment survey (or of each survey)."""
    interviews = [i for i in generate_demo(psus=16, respondents_per_psu=1, waves=DEMO_WAVES[-1:])]
    chosen = []
    for qid in dict.fromkeys(i.questionnaire_id for i in interviews):
        if every_questionnaire or qid == "consumer_environment":
            chosen += [i for i in interviews if i.questionnaire_id == qid][:count]
    store = ResponseStore(url)
    store.import_interviews(chosen)
    store.close()


@pytest.fixture(scope="module", params=["one", "two", "one_each"])
def small_url(request, tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp(request.param) / 'survey.db'}"
    few_interviews(url, 2 if request.param == "two" else 1, every_questionnaire=request.param == "one_each")
    return url


def test_the_test_sees_what_it_must_catch():
    assert offending(["设计效应 nan", "估计不可靠（NCHS 标准）：effective sample size 1.0 < 30", "sign_in_failed",
                      "The estimate is so close to the target that further interviews", "请选择", "None",
                      "Choose an option"]) == [
        "设计效应 nan", "估计不可靠（NCHS 标准）：effective sample size 1.0 < 30", "sign_in_failed",
        "The estimate is so close to the target that further interviews", "None", "Choose an option"]
    assert offending(["目标 all 的估计"]) != []   # a raw domain code
    assert offending(["样本量 n = 25，有效样本量 25（设计效应 1.01）", "上传 XLSForm 文件", "低于目标 12.0 个百分点（1.3 个标准误）"]) == []


@pytest.mark.parametrize("page", RESULTS_PAGES)
def test_small_samples_in_chinese_show_no_codes_nan_or_english(small_url, page, monkeypatch):
    at = open_results_page(PAGES / f"{page}.py", small_url, monkeypatch, lang="zh", timeout=TIMEOUT)
    texts = shown_texts(at)
    assert texts, "the page showed nothing"
    assert offending(texts) == []


@pytest.mark.parametrize("page", RESULTS_PAGES)
def test_demo_data_in_chinese_show_no_codes_nan_or_english(demo_url, page, monkeypatch):
    at = open_results_page(PAGES / f"{page}.py", demo_url, monkeypatch, lang="zh", timeout=TIMEOUT)
    assert offending(shown_texts(at)) == []


def test_one_interview_gives_words_not_numbers(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'one.db'}"
    few_interviews(url, 1)
    at = open_results_page(PAGES / "dashboard.py", url, monkeypatch, lang="zh", timeout=TIMEOUT)
    texts = shown_texts(at)
    expected = t("estimates.too_few", "zh", n=1, needed="30")
    assert expected in texts
    # no estimate, interval or design effect of the single interview is printed
    assert not any("100.0%" in text or "设计效应" in text or re.search("置信区间 .* – ", text) for text in texts)
    headline = {m.label: m.value for m in at.metric}
    assert headline[t("estimates.too_few_count", "zh")] == "1"
    assert headline[t("dashboard.count_inconclusive", "zh")] == "0"
    # and the district comparison says why it draws nothing
    assert t("estimates.forest_all_too_few", "zh") in texts


def test_the_report_says_too_few_below_the_minimum_sample(tmp_path):
    url = f"sqlite:///{tmp_path / 'two.db'}"
    few_interviews(url, 2)
    overview = build_report(ResponseStore(url).responses_frame()).overview
    row = overview.loc["consumer_environment_satisfaction"]
    assert row["n"] == 2 and row["too_few"] and row["n_needed"] == 30 and row["hint"] == "too few"
    assert set(VERDICT_COLUMNS) <= set(overview.columns)
    assert pd.api.types.is_bool_dtype(overview["too_few"])


def test_statistics_tables_give_words_not_numbers_below_the_minimum_sample(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'two.db'}"
    few_interviews(url, 2)
    at = open_results_page(PAGES / "statistics.py", url, monkeypatch, lang="zh", timeout=TIMEOUT)
    at.selectbox(key="statistics_target").set_value("consumer_environment_satisfaction").run()
    assert not at.exception
    verdict = t("statistics.verdict", "zh")
    estimates = at.dataframe[0].value.set_index(t("statistics.target", "zh"))
    row = estimates.iloc[list(estimates["n"]).index(2)]
    assert row[verdict] == t("statistics.too_few_cell", "zh", n=2, needed="30")
    assert row[list(WITHHELD_COLUMNS)].isna().all() and row["threshold"] > 0
    domains = at.dataframe[1].value
    answered = domains.loc[domains["n"] > 0]
    assert list(answered["n"])[0] == 2 and len(answered) >= 2   # the whole city, then its districts
    for _, row in answered.iterrows():
        assert row["verdict"] == t("statistics.too_few_cell", "zh", n=int(row["n"]), needed="30")
        assert row[[c for c in WITHHELD_COLUMNS if c in domains.columns]].isna().all()
    # and the blank cells read "—", not "None"
    assert t("estimates.missing", "zh") in table_cells(at.dataframe[1])
    # instead of a comparison chart of estimates that are not shown, a note why there is none
    assert t("estimates.chart_too_few", "zh") in [c.value for c in at.caption]


def test_demonstration_margins_are_described_in_the_interface_language(demo_url, monkeypatch):
    for lang in ("zh", "en"):
        at = open_results_page(PAGES / "statistics.py", demo_url, monkeypatch, lang=lang, timeout=TIMEOUT)
        at.radio(key="stats_weighting").set_value("rake").run()
        captions = [str(c.value) for c in at.caption]
        options = [str(o) for o in at.selectbox(key="stats_margins").options]
        if lang == "zh":
            assert t("statistics.margins_source", "zh", source=t("statistics.margins_demo_source", "zh")) in captions
            assert not any("DEMONSTRATION" in text for text in captions + options)
            assert offending(options) == []
        else:  # the English page shows the source as stored
            assert any(c.startswith("Source: DEMONSTRATION margins, not official") for c in captions)


# Choice widgets and uploaders of every page set the texts Streamlit lets an app set.
WIDGET_TEXTS = {"selectbox": {"placeholder"}, "multiselect": {"placeholder", "select_all"},
                "file_uploader": {"help"}}


def widget_calls_missing_texts(source: str) -> list[str]:
    """``name(line): missing arguments`` of each selectbox, multiselect or file uploader call in
    ``source`` that does not set its texts (:data:`WIDGET_TEXTS`)."""
    missing = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WIDGET_TEXTS:
            absent = WIDGET_TEXTS[node.func.attr] - {k.arg for k in node.keywords}
            if absent:
                missing.append(f"{node.func.attr}({node.lineno}): {sorted(absent)}")
    return missing


def test_widget_check_sees_a_missing_placeholder():
    assert widget_calls_missing_texts("st.selectbox('a', [1], key='k')\nbox.file_uploader('f', help=h)") == [
        "selectbox(1): ['placeholder']"]


@pytest.mark.parametrize("page", sorted(p.stem for p in PAGES.glob("*.py") if p.stem != "__init__"))
def test_every_choice_widget_and_uploader_sets_its_texts(page):
    assert widget_calls_missing_texts((PAGES / f"{page}.py").read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("page", RESULTS_PAGES)
def test_raked_results_in_chinese_name_the_margins_in_words(demo_url, page, monkeypatch):
    # the settings caption named the raking variables by their codes (district, age_group, ...)
    at = open_results_page(PAGES / "statistics.py", demo_url, monkeypatch, lang="zh", timeout=TIMEOUT)
    at.radio(key="stats_weighting").set_value("rake").run()
    if page != "statistics":
        at.switch_page(str(PAGES / f"{page}.py")).run(timeout=TIMEOUT)
    assert offending(shown_texts(at)) == []
