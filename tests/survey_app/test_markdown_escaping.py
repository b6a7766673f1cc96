"""Data shown on the pages is text, not Markdown; waves and PSUs are plain labels in a sensible order.

Payloads as an interviewer could type them (PSU, wave) or put in a link (``?interview=``): an
image that makes the reader's browser fetch an outside address, and a fake "re-authenticate"
link. Pages are run with ``AppTest``: the Markdown they send must hold the payload escaped by
:func:`survey_app.ui.md_text` (``test_browser_hardening.py`` shows that such text renders with
no image or link in a real browser). Validation refuses such labels where they enter (interview
start, import, saved assignments), and waves are ordered by year and period.
"""
from __future__ import annotations

import dataclasses
import re
import uuid
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from survey_app.assignments import AssignmentError, AssignmentStore
from survey_app.demo import generate_demo
from survey_app.field_values import FieldValueError, check_psu, check_wave, valid_psu, valid_wave, wave_sort_key
from survey_app.i18n import t
from survey_app.importer import ResponseImportError, read_responses
from survey_app.reporting import latest_wave, waves_of
from survey_app.store import ResponseStore
from survey_app.ui import md_text
from tests.survey_app.interview_driver import open_app
from tests.survey_app.review_helpers import FORMS, clean, make_interviews, open_page, stored
from tests.survey_app.signed_in import open_results_page

IMAGE = "![x](http://127.0.0.1:9/x.png)"
LINK = "[re-authenticate](http://127.0.0.1:9)"
# Markdown that a renderer turns into an image or a link: unescaped "](" or a bare address.
LIVE = re.compile(r"(?<!\\)\]\(|(?<!\\)!\[|https?://")


def markdown_sent(at) -> list[str]:
    """Every Markdown text of the page: markdown, captions, alerts."""
    return [element.value for kind in ("markdown", "caption", "warning", "error", "info", "success")
            for element in getattr(at, kind)]


# -- the escape helper -----------------------------------------------------------------------


@pytest.mark.parametrize("payload", [IMAGE, LINK, "**x** _y_ `z` :red[r] $a$ <b>", "# title\n- item", "www.x.cn"])
def test_md_text_leaves_no_markup(payload):
    escaped = md_text(payload)
    assert not LIVE.search(escaped) and "\n" not in escaped
    assert not re.search(r"(?<!\\)[*_`\[\]()<>#$:]", escaped)
    # removing the escapes and the invisible joiners gives the text back (line breaks as spaces)
    assert re.sub(r"\\(.)", r"\1", escaped).replace("\u2060", "") == payload.replace("\n", " ")


@settings(derandomize=True)
@given(hs.text(max_size=40))
def test_md_text_escapes_every_special_character(text):
    escaped = md_text(text)
    plain = re.sub(r"\\(.)", r"\1", escaped).replace("\u2060", "")
    # an invisible joiner already in the text is removed with the ones md_text adds
    assert plain == re.sub(r"[\r\n\u2028\u2029]+", " ", text).replace("\u2060", "")


# -- pages -----------------------------------------------------------------------------------


def test_the_review_tab_shows_a_typed_psu_as_text(accounts, db_url, rng):
    interviews = make_interviews("consumer_environment", rng)
    target = next(i for i in interviews if i.answers.get("consent") == "yes")
    interviews = [dataclasses.replace(i, psu=IMAGE + LINK) if i is target else i for i in interviews]
    stored(ResponseStore(db_url), interviews)
    at = open_page(accounts, "chief", "pages/review.py", lang="en")
    at.selectbox(key="review_questionnaire").set_value("consumer_environment")
    clean(at.run())
    at.selectbox(key="review_interview").set_value(target.interview_id)
    clean(at.run())
    sent = markdown_sent(at)
    assert any(md_text(IMAGE + LINK) in text for text in sent), sent
    assert not [text for text in sent if LIVE.search(text)]


def test_an_interview_link_is_echoed_as_text_and_never_names_the_owner(db_url):
    store = ResponseStore(db_url)
    foreign = store.start_interview("consumer_environment", FORMS["consumer_environment"].version,
                                    interviewer="Z09", district="rugao", psu="R01", wave="2026")
    unknown = str(uuid.uuid4())
    shown = {}
    for name, interview_id in (("payload", LINK), ("unknown", unknown), ("foreign", foreign)):
        at = open_app(interview=interview_id, lang="en")
        shown[name] = [w.value for w in at.warning] + [e.value for e in at.error]
    assert shown["payload"] == [t("interview.not_found", "en", id=md_text(LINK))]
    assert not LIVE.search(shown["payload"][0])
    # an unknown id and another interviewer's get the same message
    assert shown["unknown"] == [t("interview.not_found", "en", id=md_text(unknown))]
    assert shown["foreign"] == [t("interview.not_found", "en", id=md_text(foreign))]
    assert "Z09" not in " ".join(shown["foreign"])


def test_the_wave_selector_orders_waves_by_date_and_shows_them_as_text(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'waves.db'}"
    interviews = [i for i in generate_demo(psus=16, respondents_per_psu=1) if i.questionnaire_id == "consumer_environment"]
    # a third wave typed with markup: copies of the 2025 interviews under new ids
    typed = [dataclasses.replace(i, interview_id=str(uuid.uuid4()), wave=LINK) for i in interviews if i.wave == "2025"]
    ResponseStore(url).import_interviews(interviews + typed)
    at = open_results_page(Path(__file__).parent.parent.parent / "survey_app" / "pages" / "dashboard.py", url,
                           monkeypatch)
    control = at.segmented_control(key="dashboard_wave")
    assert control.value == "2026"  # the latest dated wave is the default, not the markup
    assert list(control.options) == [md_text(LINK), "2025", "2026"]  # the labels sent: names first, as text


def test_the_start_screen_refuses_markup_in_wave_and_psu(db_url):
    at = open_app(lang="en")
    at.radio(key="_start_questionnaire").set_value("consumer_environment")
    at.text_input(key="_start_wave").input(IMAGE)
    clean(at.run())
    at.radio(key="_start_district").set_value("rugao")
    at.text_input(key="_start_psu").input("村 9")
    at.button(key="start").click().run()
    assert [e.value for e in at.error] == [t("interview.bad_wave", "en", wave=md_text(IMAGE))]
    assert not LIVE.search(at.error[0].value)
    at.text_input(key="_start_wave").input("2026Q1")
    clean(at.run())
    at.radio(key="_start_district").set_value("rugao")
    at.text_input(key="_start_psu").input(LINK)
    at.button(key="start").click().run()
    assert [e.value for e in at.error] == [t("interview.bad_psu", "en", psu=md_text(LINK))]
    assert not LIVE.search(at.error[0].value)
    assert "interview" not in at.query_params
    at.text_input(key="_start_psu").input("村 9")
    at.button(key="start").click().run()
    clean(at)
    assert ResponseStore(db_url).get_interview(at.query_params["interview"]).wave == "2026Q1"


def test_an_assigned_wave_takes_only_its_listed_psus(db_url):
    assigned = pd.DataFrame({"district": ["rugao"], "psu": ["320682003"], "psu_name": [IMAGE], "interviews": [15],
                             "pi_psu": [1.0], "pi_within": [0.005], "design_weight": [200.0], "fpc": [3]})
    AssignmentStore(db_url).save(assigned, wave="2026", seed=1, saved_by="chief")
    at = open_app(lang="en")
    at.radio(key="_start_questionnaire").set_value("consumer_environment")
    at.text_input(key="_start_wave").input("2026")
    clean(at.run())
    at.radio(key="_start_assigned_district_2026").set_value("rugao")
    clean(at.run())
    psu = at.radio(key="_start_assigned_psu_2026_rugao")
    assert md_text(IMAGE) in psu.proto.options[0]  # the frame's community name, as text
    assert not LIVE.search(psu.proto.options[0])


# -- where labels enter ----------------------------------------------------------------------


@pytest.mark.parametrize("wave", ["2026", "2026Q1", "2026q4", "2026H2", "2026-03", "2026-3", "试点", "pilot 2", "一期_A"])
def test_plain_waves_are_accepted(wave):
    assert valid_wave(wave) and check_wave(f" {wave} ") == wave


@pytest.mark.parametrize("wave", [IMAGE, LINK, "=1+1", "-2026", "2026\n# x", "", " ", "a" * 51, "2026/03", "**2026**"])
def test_markup_waves_are_refused(wave):
    assert not valid_wave(wave)
    with pytest.raises(FieldValueError, match="not a wave label"):
        check_wave(wave)


def test_psus_are_plain_or_from_the_list():
    assert check_psu("海门 5 村") == "海门 5 村" and check_psu("320684001") == "320684001"
    assert valid_psu("No.3 社区（东）") and not valid_psu(IMAGE) and not valid_psu("=HYPERLINK(1)")
    with pytest.raises(FieldValueError, match="not a PSU code"):
        check_psu(LINK)
    assert check_psu("R01", assigned={"R01", "R02"}) == "R01"
    with pytest.raises(FieldValueError, match="not in the wave's assignment list"):
        check_psu("R03", assigned={"R01", "R02"})


def test_waves_sort_by_year_and_period_with_names_first():
    waves = ["2026-10", "2026-9", "2026Q1", "2025", LINK, "2026", "2026H2", "试点", "2025Q4"]
    # within a year: the year, then each period by the month it starts in (H2 = July)
    assert sorted(waves, key=wave_sort_key) == [LINK, "试点", "2025", "2025Q4", "2026", "2026Q1", "2026H2",
                                               "2026-9", "2026-10"]
    frame = pd.DataFrame({"wave": ["2026", "2025", LINK, "2026-03"]})
    assert waves_of(frame) == [LINK, "2025", "2026", "2026-03"]
    assert latest_wave(frame) == "2026-03"  # as text "[" sorted last and became the default


def test_import_refuses_markup_in_wave_and_psu():
    form = FORMS["telecom_users"]
    with pytest.raises(ResponseImportError, match="defaults\\['wave'\\]: wave .* is not a wave label"):
        read_responses(b"a,b\n1,2\n", form, defaults={"wave": IMAGE, "psu": "P1"})
    with pytest.raises(ResponseImportError, match="defaults\\['psu'\\]: PSU .* is not a PSU code"):
        read_responses(b"a,b\n1,2\n", form, defaults={"wave": "2026", "psu": LINK})


def test_saved_assignments_refuse_markup(db_url):
    table = pd.DataFrame({"district": ["rugao"], "psu": [LINK], "psu_name": ["x"], "interviews": [15],
                          "pi_psu": [1.0], "pi_within": [0.005], "design_weight": [200.0], "fpc": [3]})
    store = AssignmentStore(db_url)
    with pytest.raises(AssignmentError, match="psu not a plain code"):
        store.save(table, wave="2026")
    with pytest.raises(AssignmentError, match="not a wave label"):
        store.save(table.assign(psu="R01"), wave=IMAGE)


def test_imported_rows_with_markup_in_wave_or_psu_are_problems(tmp_path, rng):
    from tests.survey_app.test_importer import FORM, interviews, odk_central_csv

    path = odk_central_csv(tmp_path / "odk.csv", interviews(rng, 4))
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    table["psu"] = [LINK, "P1", "P2", "P3"]
    table["wave"] = ["2026", IMAGE, "2026Q1", "2026"]
    table.to_csv(path, index=False)
    parsed = read_responses(path, FORM, defaults={"district": "rugao"})
    bad = parsed.problems[parsed.problems["kind"] == "bad_metadata"]
    assert sorted(zip(bad["row"], bad["column"])) == [(2, "psu"), (3, "wave")]
    assert not parsed.ok


def test_an_import_into_an_assigned_wave_takes_only_its_listed_psus(tmp_path, rng, db_url):
    from survey_app.importer import ImportRejectedError, import_responses
    from tests.survey_app.test_importer import FORM, interviews, odk_central_csv

    AssignmentStore(db_url).save(pd.DataFrame({
        "district": ["rugao", "rugao"], "psu": ["R01", "R02"], "psu_name": ["东村", "西村"], "interviews": [15, 15],
        "pi_psu": [0.5, 0.5], "pi_within": [0.01, 0.01], "design_weight": [200.0, 200.0], "fpc": [4, 4]}),
        wave="2026", seed=1)
    path = odk_central_csv(tmp_path / "odk.csv", interviews(rng, 3))
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    table["psu"] = ["R01", "R09", "R02"]
    table.to_csv(path, index=False)
    store = ResponseStore(db_url)
    with pytest.raises(ImportRejectedError) as refused:
        import_responses(store, path, FORM, defaults={"district": "rugao", "wave": "2026"})
    problems = refused.value.problems
    assert problems[["row", "column", "kind"]].values.tolist() == [[3, "psu", "bad_metadata"]]
    assert "not in wave '2026''s assignment list" in problems["problem"].iloc[0]
    # another wave has no list: any plain PSU is taken
    assert import_responses(store, path, FORM, defaults={"district": "rugao", "wave": "2025"}).stored == 3
