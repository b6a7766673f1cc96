"""The demonstration data on the results pages (issue 13): the "show demonstration data" switch
is there whatever the real database holds, the demo lives in its own database and is removed
with one button, and a real interview is never counted with demo ones."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import streamlit as st

from questionnaires import shipped_questionnaires
from survey_app.demo import DEMO_WAVES, demo_database_exists, demo_database_url, generate_demo, load_demo
from survey_app.i18n import t
from survey_app.margins import MarginsStore
from survey_app.store import ResponseStore
from tests.survey_app.signed_in import open_results_page

PAGES = Path(__file__).parent.parent.parent / "survey_app" / "pages"
FORM = "consumer_environment"
SMALL = {"psus": 16, "respondents_per_psu": 2}


def real_interviews(seed: int, n_psus: int) -> list:
    """Valid interviews of wave 2026 by real interviewers."""
    made = generate_demo(seed=seed, waves=("2026",), questionnaires={FORM: shipped_questionnaires()[FORM]},
                         psus=n_psus, respondents_per_psu=2)
    return [dataclasses.replace(i, interviewer="A01") for i in made]


@pytest.fixture
def downloads(monkeypatch) -> list[str]:
    """The file names the Excel download buttons of the pages offer."""
    names: list[str] = []

    def download_button(label, data, **kwargs):
        names.append(kwargs["file_name"])
        return False

    monkeypatch.setattr(st, "download_button", download_button)
    return names


def headline(at) -> str:
    return at.metric[0].value   # submitted interviews of the wave shown


def test_the_demo_is_offered_beside_real_interviews_and_never_mixed(tmp_path, monkeypatch, downloads):
    url = f"sqlite:///{tmp_path / 'survey.db'}"
    real = real_interviews(3, 24)
    ResponseStore(url).import_interviews(real)
    at = open_results_page(PAGES / "dashboard.py", url, monkeypatch)
    switch = at.toggle(key="show_demo")
    assert switch.label == t("results.show_demo", "en") and not switch.value
    assert headline(at) == str(len(real)) and not at.warning
    assert "_DEMO_" not in downloads[-1]
    # switched on before the demo is loaded: what it is, and the button that loads it
    at.toggle(key="show_demo").set_value(True).run()
    assert [s.value for s in at.subheader] == [t("results.demo_title", "en")]
    at.button(key="load_demo").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.toggle(key="show_demo").value
    demo = ResponseStore(demo_database_url(url)).responses_frame()
    assert headline(at) == str(int((demo["wave"] == DEMO_WAVES[-1]).sum()))   # demo interviews only
    assert any(w.value.startswith("**Demonstration data**") for w in at.warning)
    assert downloads[-1].endswith("_DEMO_演示.xlsx")
    # the real database holds the real interviews only
    assert sorted(ResponseStore(url).responses_frame()["interview_id"]) == sorted(i.interview_id for i in real)
    assert MarginsStore(url).latest() is None
    # switched off: the real interviews alone, whatever is loaded
    at.toggle(key="show_demo").set_value(False).run()
    assert headline(at) == str(len(real)) and not at.warning and "_DEMO_" not in downloads[-1]
    # one button removes the demo; the real interviews stay
    at.toggle(key="show_demo").set_value(True).run()
    at.button(key="remove_demo").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not demo_database_exists(url) and not at.toggle(key="show_demo").value
    assert headline(at) == str(len(real))
    assert any("No real interview was touched" in s.value for s in at.success)
    # and it can be loaded again
    at.toggle(key="show_demo").set_value(True).run()
    assert at.button(key="load_demo")


def test_demo_interviews_an_earlier_version_stored_are_left_out_and_removed(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'survey.db'}"
    store = ResponseStore(url)
    load_demo(store, **SMALL)   # as earlier versions did: into the real database
    real = real_interviews(5, 16)
    store.import_interviews(real)
    at = open_results_page(PAGES / "dashboard.py", url, monkeypatch)
    assert headline(at) == str(len(real))   # the 2026 demo interviews are not counted with them
    demo_count = len(generate_demo(**SMALL))
    assert any(f"still holds {demo_count} demo interviews" in w.value for w in at.warning)
    at.button(key="remove_demo").click().run()
    assert not at.exception, [e.value for e in at.exception]
    left = store.responses_frame(status="all")
    assert sorted(left["interview_id"]) == sorted(i.interview_id for i in real)
    assert not at.warning and headline(at) == str(len(real))
    assert MarginsStore(url).latest() is None   # the demonstration margins went too


def test_the_statistics_page_shows_the_demo_databases_margins(tmp_path, monkeypatch):
    from survey_app.demo import load_demo_database

    url = f"sqlite:///{tmp_path / 'survey.db'}"
    ResponseStore(url).import_interviews(real_interviews(9, 16))
    load_demo_database(url, **SMALL)
    at = open_results_page(PAGES / "statistics.py", url, monkeypatch)
    assert not at.toggle(key="show_demo").value
    assert not any("demonstration" in c.value.lower() for c in at.caption)   # no margins in the real database
    at.toggle(key="show_demo").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    text = " ".join(c.value for c in at.caption) + " ".join(m.value for m in at.markdown)
    assert "DEMONSTRATION margins" in text or "Demonstration margins" in text


def test_margins_uploaded_while_the_demo_is_shown_go_to_the_real_database(tmp_path, monkeypatch):
    from survey_app.demo import demo_margins, load_demo_database
    from tests.survey_app.test_statistics_page import margins_csv

    url = f"sqlite:///{tmp_path / 'survey.db'}"
    ResponseStore(url).import_interviews(real_interviews(9, 16))
    load_demo_database(url, **SMALL)
    at = open_results_page(PAGES / "statistics.py", url, monkeypatch)
    at.toggle(key="show_demo").set_value(True).run()
    good = demo_margins().to_frame()
    at.file_uploader(key="margins_file").set_value(
        ("m.csv", margins_csv(list(zip(good["variable"], good["category"], good["population"]))), "text/csv"))
    at.text_input(key="margins_source").input("Nantong statistical yearbook 2021, table 2-3")
    at.button[-1].click().run()   # the form's submit button
    assert not at.exception, [e.value for e in at.exception]
    saved = MarginsStore(url).latest()
    assert saved is not None and saved.source == "Nantong statistical yearbook 2021, table 2-3"
    assert [m.demonstration for m in MarginsStore(demo_database_url(url)).all()] == [True]
