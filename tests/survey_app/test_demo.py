"""Tests of the demonstration data set (``survey_app.demo``)."""
from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from questionnaires import load_districts, shipped_questionnaires
from survey_app.demo import (
    DEMO_INTERVIEWER_PREFIX,
    DEMO_LEVELS,
    DEMO_WAVES,
    PSUS_PER_SURVEY,
    RESPONDENTS_PER_PSU,
    DemoError,
    demo_database_exists,
    demo_database_url,
    demo_margins,
    generate_demo,
    is_demo_interviewer,
    load_demo,
    load_demo_database,
    psu_allocation,
    remove_demo,
    without_mixed_demo,
)
from survey_app.margins import MarginsStore, PopulationMargins, census_district_totals
from survey_app.reporting import build_report, counted_interviews, report_from_store
from survey_app.store import DEFAULT_DB_PATH, ResponseStore

FORMS = shipped_questionnaires()


@pytest.fixture(scope="module")
def interviews():
    return generate_demo()


def test_every_interview_passes_the_questionnaires_checks(interviews):
    for interview in interviews:
        form = FORMS[interview.questionnaire_id]
        answers = dict(interview.answers)
        assert interview.questionnaire_version == form.version
        assert form.missing_required(answers) == []
        assert form.clean(answers) == answers  # nothing unasked, nothing blank
        for name, value in answers.items():
            assert form.check_answer(name, value, answers, "en") is None, (name, value)


def test_size_labels_and_design(interviews):
    expected = len(FORMS) * len(DEMO_WAVES) * PSUS_PER_SURVEY * RESPONDENTS_PER_PSU
    assert len(interviews) == expected
    assert all(is_demo_interviewer(i.interviewer) for i in interviews)
    assert {i.wave for i in interviews} == set(DEMO_WAVES)
    frame = pd.DataFrame(
        [(i.questionnaire_id, i.wave, i.district, i.psu, i.answers.get("district")) for i in interviews],
        columns=["qid", "wave", "stratum", "psu", "district"],
    )
    per_psu = frame.groupby(["qid", "wave", "psu"]).size()
    assert (per_psu == RESPONDENTS_PER_PSU).all()
    # PSUs are nested in districts, every district has at least two (variance needs them)
    assert (frame.groupby("psu")["stratum"].nunique() == 1).all()
    psus = frame.groupby(["qid", "wave", "stratum"])["psu"].nunique()
    assert psus.min() >= 2 and set(psus.index.get_level_values("stratum")) == {d.name for d in load_districts()}
    # the respondent's district is the sampled one (or absent after a refusal)
    answered = frame.dropna(subset=["district"])
    assert (answered["district"] == answered["stratum"]).all()


def test_same_seed_same_data_other_seed_other_data():
    small = {"psus": 16, "respondents_per_psu": 2}
    first = generate_demo(**small)
    assert generate_demo(**small) == first
    other = generate_demo(seed=1, **small)
    assert [i.answers for i in other] != [i.answers for i in first]


def test_allocation_is_proportional_to_the_census():
    allocation = psu_allocation(PSUS_PER_SURVEY)
    population = census_district_totals()
    assert sum(allocation.values()) == PSUS_PER_SURVEY
    small = {code for code, psus in allocation.items() if psus == 2}
    rest = {code: count for code, count in population.items() if code not in small}
    for code in rest:
        # the districts above the minimum share the PSUs left, within one of their quota
        quota = (PSUS_PER_SURVEY - 2 * len(small)) * rest[code] / sum(rest.values())
        assert abs(allocation[code] - quota) < 1 and allocation[code] >= 2
    for code in small:
        assert PSUS_PER_SURVEY * population[code] / sum(population.values()) < 2


def test_sample_is_tilted_so_weighting_matters(interviews):
    consenting = [i.answers for i in interviews if i.answers["consent"] == "yes"]
    margins = demo_margins()
    for variable, code in (("sex", "female"), ("age_group", "65_plus"), ("urban_rural", "rural")):
        sample_share = np.mean([a[variable] == code for a in consenting])
        population_share = margins.counts[variable][code] / margins.total(variable)
        assert sample_share > population_share + 0.03, variable


def test_levels_move_between_waves_in_the_planned_direction(interviews):
    # the raw shares follow DEMO_LEVELS' ordering between the two waves where levels are clearly
    # apart and enough people answer (elderly care is used by about 30 respondents a wave)
    checked = 0
    for question, levels in DEMO_LEVELS.items():
        # PSU effects make a wave's share wander by about 3 points: compare clear differences only
        if question == "tourist_score" or abs(levels["2026"] - levels["2025"]) < 0.06:
            continue
        answers = {wave: [i.answers[question] for i in interviews if i.wave == wave and question in i.answers]
                   for wave in DEMO_WAVES}
        if min(len(a) for a in answers.values()) < 150:
            continue
        shares = {wave: np.mean([a in ("4", "5", "yes") for a in given]) for wave, given in answers.items()}
        assert (shares["2026"] > shares["2025"]) == (levels["2026"] > levels["2025"]), question
        checked += 1
    assert checked >= 1
    scores = {wave: np.mean([i.answers["tourist_score"] for i in interviews
                             if i.wave == wave and "tourist_score" in i.answers]) for wave in DEMO_WAVES}
    assert scores["2026"] - scores["2025"] == pytest.approx(
        DEMO_LEVELS["tourist_score"]["2026"] - DEMO_LEVELS["tourist_score"]["2025"], abs=2.5)


def test_refusals_are_kept_as_consent_no_only(interviews):
    refusals = [i for i in interviews if i.answers["consent"] != "yes"]
    assert 0 < len(refusals) < 0.1 * len(interviews)
    assert all(dict(i.answers) == {"consent": "no"} for i in refusals)


def test_unknown_waves_and_tiny_designs_are_refused():
    with pytest.raises(DemoError, match="waves \\['2030'\\]"):
        generate_demo(waves=["2030"])
    with pytest.raises(DemoError, match="at least 2 PSUs per district"):
        generate_demo(psus=10)


def test_demo_margins_are_census_based_and_labelled():
    margins = demo_margins()
    census = census_district_totals()
    assert margins.demonstration and "DEMONSTRATION" in margins.source and "2021-05-24" in margins.source
    # district margin proportional to the census totals
    ratios = {code: margins.counts["district"][code] / census[code] for code in census}
    assert max(ratios.values()) == pytest.approx(min(ratios.values()), rel=1e-12)
    totals = [margins.total(v) for v in margins.variables]
    assert max(totals) == pytest.approx(min(totals), rel=1e-12)
    # sex ratio: the Qidong and Haimen bulletins pooled (figures in the reference README)
    male = (467_719 + 484_870) / (967_313 + 991_782)
    assert margins.counts["sex"]["male"] / margins.total("sex") == pytest.approx(male, rel=1e-12)
    assert margins.variables == ("district", "sex", "age_group", "urban_rural")


def test_load_demo_stores_through_the_store(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'survey.db'}"
    store = ResponseStore(url)
    fractions = []
    result = load_demo(store, psus=16, respondents_per_psu=2, progress=fractions.append)
    expected = generate_demo(psus=16, respondents_per_psu=2)
    frame = store.responses_frame()
    assert len(frame) == len(expected) == result.n_interviews
    assert (frame["status"] == "submitted").all()
    assert frame["interviewer"].str.startswith(DEMO_INTERVIEWER_PREFIX).all()
    stored = Counter((r.questionnaire_id, r.wave, r.sample_district, r.psu) for r in frame.itertuples())
    assert stored == Counter((i.questionnaire_id, i.wave, i.district, i.psu) for i in expected)
    by_answers = Counter(str(sorted(i.answers.items())) for i in store.interviews())
    assert by_answers == Counter(str(sorted(dict(i.answers).items())) for i in expected)
    assert result.to_frame().loc["consumer_environment"].to_dict() == {
        wave: 16 * 2 for wave in DEMO_WAVES
    }
    saved = MarginsStore(url).latest()
    assert saved == result.margins and saved.demonstration
    assert fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert "synthetic interviews" in result.summary()
    store.close()


def test_the_latest_wave_has_every_kind_of_verdict(tmp_path: Path):
    # through the store and the reporting module, as the dashboard shows it
    from survey_app.reporting import build_report

    store = ResponseStore(f"sqlite:///{tmp_path / 'survey.db'}")
    load_demo(store)
    latest = DEMO_WAVES[-1]
    overview = build_report(store.responses_frame(wave=latest), wave=latest).overview
    verdicts = Counter(overview["verdict"])
    assert verdicts["met"] >= 2 and verdicts["not met"] >= 1 and verdicts["inconclusive"] >= 2, verdicts
    assert "no data" not in verdicts
    # loading again stores nothing new and keeps one demonstration margins set
    before = len(store.responses_frame())
    load_demo(store)
    assert len(store.responses_frame()) == before
    assert [m.demonstration for m in MarginsStore(store.url).all()] == [True]
    store.close()


# -- the demo's own database (issue 13) -------------------------------------------------------

SMALL = {"psus": 16, "respondents_per_psu": 2}
FORM = "consumer_environment"


def real_interviews(seed: int, *, wave: str = "2026", n_psus: int = 16) -> list:
    """Valid submitted interviews of real interviewers (codes A00..A02), not the demo's."""
    made = generate_demo(seed=seed, waves=(wave,), questionnaires={FORM: FORMS[FORM]}, psus=n_psus,
                         respondents_per_psu=2)
    return [dataclasses.replace(i, interviewer=f"A{k % 3:02d}") for k, i in enumerate(made)]


def consenting(interviews) -> int:
    return sum(i.answers.get("consent") == "yes" for i in interviews)


def test_the_demo_database_sits_beside_the_real_one(tmp_path: Path):
    assert demo_database_url(f"sqlite:///{tmp_path / 'survey.db'}") == f"sqlite:///{tmp_path / 'survey.demo.db'}"
    assert demo_database_url("sqlite:///data/survey.db") == "sqlite:///data/survey.demo.db"
    # PostgreSQL: a SQLite file under data/, named after host and database
    assert demo_database_url("postgresql+psycopg://survey:secret@db.example:5432/survey") == \
        f"sqlite:///{DEFAULT_DB_PATH.parent / 'db.example_survey.demo.db'}"
    for url, message in [("sqlite://", "in-memory"), ("not a url", "not a database URL"),
                         (f"sqlite:///{tmp_path / 'survey.demo.db'}", "demo database itself")]:
        with pytest.raises(DemoError, match=message):
            demo_database_url(url)


def test_the_demo_loads_after_real_interviews_and_never_mixes_with_them(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'survey.db'}"
    store = ResponseStore(url)
    real = real_interviews(7)
    store.import_interviews(real)
    before = store.responses_frame()
    assert not demo_database_exists(url)
    result = load_demo_database(url, **SMALL)
    assert demo_database_exists(url) and (tmp_path / "survey.demo.db").is_file()
    # the real database is unchanged: its interviews, no margins
    after = store.responses_frame()
    pd.testing.assert_frame_equal(after, before)
    assert MarginsStore(url).latest() is None
    demo_store = ResponseStore(demo_database_url(url))
    demo = demo_store.responses_frame()
    assert len(demo) == result.n_interviews == len(generate_demo(**SMALL))
    assert demo["interviewer"].map(is_demo_interviewer).all()
    assert not set(demo["interview_id"]) & {i.interview_id for i in real}
    assert MarginsStore(demo_store.url).latest().demonstration
    # each report counts its own interviews only, and only the demo one is labelled
    real_report = report_from_store(store, wave="2026")
    demo_report = report_from_store(demo_store, wave="2026")
    target = "consumer_environment_satisfaction"
    assert real_report.overview.loc[target, "interviews"] == consenting(real)
    assert demo_report.overview.loc[target, "interviews"] == consenting(
        i for i in generate_demo(**SMALL) if i.questionnaire_id == FORM and i.wave == "2026")
    assert not real_report.demonstration and demo_report.demonstration
    store.close()
    demo_store.close()


def test_remove_deletes_all_demo_data_and_nothing_real(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'survey.db'}"
    store = ResponseStore(url)
    # an earlier version loaded the demo into the real database; real interviews came after
    load_demo(store, **SMALL)
    real = real_interviews(11)
    store.import_interviews(real)
    official = MarginsStore(url).save(PopulationMargins(
        counts={"district": census_district_totals()}, source="census bulletin", reference_date=date(2020, 11, 1)))
    assert len(store.responses_frame()) == len(real) + len(generate_demo(**SMALL))  # kept in columns now
    load_demo_database(url, **SMALL)
    result = remove_demo(url)
    assert result.database == str(tmp_path / "survey.demo.db") and not demo_database_exists(url)
    assert not list(tmp_path.glob("survey.demo.db*"))  # no -wal or -shm left either
    assert result.interviews == len(generate_demo(**SMALL)) and result.margins == 1
    left = store.responses_frame(status="all")
    assert sorted(left["interview_id"]) == sorted(i.interview_id for i in real)
    assert sorted(store.responses_frame()["interview_id"]) == sorted(i.interview_id for i in real)
    assert [m.id for m in MarginsStore(url).all()] == [official.id]
    assert "deleted the demo database" in result.summary()
    again = remove_demo(url)
    assert not again.removed_anything and "nothing to remove" in again.summary()
    store.close()


def test_demo_interviews_of_an_earlier_version_never_count_with_real_ones(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'survey.db'}"
    store = ResponseStore(url)
    load_demo(store, **SMALL)
    # only demo interviews: they are what there is, and the report says they are demonstration data
    only_demo = report_from_store(store, wave="2026")
    assert only_demo.demonstration and len(counted_interviews(store)) == len(generate_demo(**SMALL))
    real = real_interviews(13, n_psus=24)
    store.import_interviews(real)
    counted = counted_interviews(store)
    assert sorted(counted["interview_id"]) == sorted(i.interview_id for i in real)
    tables = report_from_store(store, wave="2026")
    assert tables.overview.loc["consumer_environment_satisfaction", "interviews"] == consenting(real)
    assert not tables.demonstration
    mixed = store.responses_frame()
    assert len(without_mixed_demo(mixed)) == len(real)
    assert without_mixed_demo(mixed.iloc[:0]).empty
    # built directly from a frame holding demo interviews, a report is labelled
    assert build_report(mixed).demonstration
    store.close()


def test_interviews_read_after_a_removal_are_never_the_removed_ones(tmp_path: Path):
    # The store keeps the counted interviews in columns, valid while their number and revisions
    # are unchanged; as many new interviews as were removed must not look unchanged.
    url = f"sqlite:///{tmp_path / 'survey.db'}"
    store = ResponseStore(url)
    load_demo(store, **SMALL)
    removed = len(store.responses_frame())   # kept in columns now
    assert remove_demo(url).interviews == removed
    real = real_interviews(17, n_psus=removed // 2)
    assert len(real) == removed
    store.import_interviews(real)
    assert sorted(store.responses_frame()["interview_id"]) == sorted(i.interview_id for i in real)
    store.close()
