"""The sample-design page driven through the real app with ``streamlit.testing.v1.AppTest``.

The numbers on the page must be those of :mod:`analysis.sampling` for the same inputs
(the library is tested against published values in ``tests/analysis/test_sampling_*``).
"""
from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analysis.sampling import (
    allocate,
    check_frame,
    design_effect,
    read_frame,
    sample_size_proportion,
    sample_size_target_mean,
    sample_size_target_proportion,
    select_psus,
)
from questionnaires import load_districts
from survey_app.assignments import AssignmentStore
from survey_app.i18n import t
from survey_app.margins import census_district_totals
from survey_app.store import ResponseStore
from tests.survey_app.signed_in import signed_in_state

APP = Path(__file__).parent.parent.parent / "survey_app" / "app.py"
PAGE = "pages/planning.py"
TIMEOUT = 60
DISTRICTS = load_districts()
# Invented district populations (not the census): the page must use whatever is entered.
POPULATIONS = [1_200_000, 330_000, 1_260_000, 990_000, 880_000, 970_000, 1_240_000, 870_000]
# The page's defaults: 95% confidence, margin 3 points, power 80%, alpha 5%, 15 interviews
# per community, ICC 0.05, response rate 80%.
DEFF = design_effect(cluster_size=15, icc=0.05)


@pytest.fixture(autouse=True)
def database(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SURVEY_DB_URL", f"sqlite:///{tmp_path / 'survey.db'}")


def open_page(*, lang: str | None = None, populations: list[float] | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    if lang is not None:
        at.query_params["lang"] = lang
    for key, value in signed_in_state(os.environ["SURVEY_DB_URL"]).items():
        at.session_state[key] = value
    at.run()
    at.switch_page(PAGE)
    if populations is not None:
        # What typing into the district table sends: the edits of the data editor.
        at.session_state[f"_plan_districts_{lang or 'zh'}"] = {
            "edited_rows": {i: {"population": value} for i, value in enumerate(populations)},
            "added_rows": [],
            "deleted_rows": [],
        }
    at.run()
    assert_clean(at)
    return at


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def shown(markdown: str) -> str:
    """The text a reader sees: the escapes of data in Markdown (survey_app.ui.md_text) removed."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")


def table_with(at: AppTest, column: str) -> pd.DataFrame:
    tables = [element.value for element in at.dataframe if column in element.value.columns]
    assert len(tables) == 1, f"{len(tables)} tables have a column {column!r}"
    return tables[0]


def frame_csv(rng: np.random.Generator, *, names: str = "zh") -> bytes:
    """A sampling frame of 45 to 70 communities per district, as a CSV file with Chinese headers."""
    rows = []
    for d, choice in enumerate(DISTRICTS):
        for i in range(int(rng.integers(45, 70))):
            rows.append({"区县": getattr(choice.label, names), "社区编码": f"32{d:02d}{i:04d}",
                         "社区名称": f"社区{i}", "户数": int(rng.integers(300, 6000))})
    return pd.DataFrame(rows).to_csv(index=False).encode("utf-8")


def replace_box(at: AppTest):
    """The tick that confirms replacing a wave's stored assignments (its key names the stored list)."""
    boxes = [box for box in at.checkbox if box.key.startswith("_plan_replace_")]
    assert len(boxes) == 1
    return boxes[0]


def expected_assignments(content: bytes, seed: int) -> pd.DataFrame:
    """The library's selection for the page's defaults (proportional allocation of 2,400, 15 per PSU)."""
    frame = check_frame(read_frame(content, filename="frame.csv"), district="区县", psu="社区编码",
                        psu_name="社区名称", size="户数")
    frame["district"] = frame["district"].map({c.label.zh: c.name for c in DISTRICTS})
    allocation = allocate(pd.DataFrame({"code": [c.name for c in DISTRICTS], "population": POPULATIONS}),
                          "code", "population", total=2400)
    psus = {code: math.ceil(n / 15) for code, n in allocation.as_dict().items()}
    return select_psus(frame, psus=psus, interviews_per_psu=15, seed=seed, units="units").assignments()


def test_city_and_district_sample_sizes_are_the_library_values() -> None:
    at = open_page()
    city = table_with(at, "n_margin").set_index("target")
    headline = city.iloc[0]
    expected_test = sample_size_target_proportion(threshold=0.85, expected=0.88, deff=DEFF, response_rate=0.8)
    expected_margin = sample_size_proportion(p=0.88, margin=0.03, deff=DEFF, response_rate=0.8)
    assert headline["n_test"] == expected_test.completes and headline["n_test_issue"] == expected_test.n
    assert headline["n_margin"] == expected_margin.n
    index = city.iloc[1]  # the tourist satisfaction index: target 80, expected 82, sd 12
    assert index["n_test"] == sample_size_target_mean(threshold=80, expected=82, sd=12, deff=DEFF,
                                                      response_rate=0.8).completes
    # The district populations start as the 2020 census figures shipped with the app.
    districts = table_with(at, t("planning.district_required", "zh"))
    census = census_district_totals()
    assert districts[t("planning.district_required", "zh")].tolist() == [
        sample_size_target_proportion(threshold=0.85, expected=0.88, deff=DEFF, response_rate=0.8,
                                      population=census[c.name]).completes
        for c in DISTRICTS
    ]
    assert not at.info  # no population is missing

    at.number_input(key="_plan_margin").set_value(5.0).run()
    at.radio(key="_plan_deff_mode").set_value("direct").run()
    at.number_input(key="_plan_deff").set_value(2.0).run()
    assert_clean(at)
    wider = table_with(at, "n_margin").iloc[0]
    assert wider["n_margin"] == sample_size_proportion(p=0.88, margin=0.05, deff=2.0, response_rate=0.8).n


def test_district_populations_start_as_the_census_and_can_be_changed() -> None:
    at = open_page()
    editor = table_with(at, "code")
    census = census_district_totals()
    assert editor["code"].tolist() == [c.name for c in DISTRICTS]
    assert editor["population"].tolist() == [census[c.name] for c in DISTRICTS]
    assert t("planning.populations_from_census", "zh") in [c.value for c in at.caption]
    # The proportional allocation of the default total uses them as they are.
    expected = allocate(pd.DataFrame({"code": list(census), "population": list(census.values())}),
                        "code", "population", total=2400)
    assert table_with(at, "allocated")["allocated"].tolist() == [expected.as_dict()[c.name] for c in DISTRICTS]
    # Edited figures replace them.
    edited = open_page(populations=POPULATIONS)
    assert table_with(edited, "allocated")["population"].tolist() == POPULATIONS


def test_district_sizes_use_the_populations() -> None:
    at = open_page(populations=POPULATIONS)
    required = table_with(at, t("planning.district_required", "zh"))[t("planning.district_required", "zh")]
    expected = [
        sample_size_target_proportion(threshold=0.85, expected=0.88, deff=DEFF, response_rate=0.8,
                                      population=n).completes
        for n in POPULATIONS
    ]
    assert required.tolist() == expected


def test_allocation_is_the_library_allocation() -> None:
    at = open_page(populations=POPULATIONS)
    at.radio(key="_plan_method").set_value("sqrt").run()
    at.number_input(key="_plan_total").set_value(3000).run()
    at.number_input(key="_plan_minimum").set_value(300).run()
    assert_clean(at)
    shown = table_with(at, "allocated")
    frame = pd.DataFrame({"code": [c.name for c in DISTRICTS], "population": POPULATIONS})
    expected = allocate(frame, "code", "population", total=3000, method="sqrt", minimum=300)
    assert shown["allocated"].tolist() == list(expected.counts)
    assert shown["psus"].tolist() == [math.ceil(n / 15) for n in expected.counts]
    assert shown["issue"].tolist() == [math.ceil(n / 0.8) for n in expected.counts]

    # The suggestion sets each district's minimum to what its own verdict needs.
    at.button(key="_plan_apply").click().run()
    assert_clean(at)
    needed = max(table_with(at, t("planning.district_required", "zh"))[t("planning.district_required", "zh")])
    assert at.number_input(key="_plan_minimum").value == needed
    assert min(table_with(at, "allocated")["allocated"]) >= needed


def test_selection_from_an_uploaded_frame(rng: np.random.Generator) -> None:
    at = open_page(populations=POPULATIONS)
    content = frame_csv(rng)
    at.file_uploader(key="_plan_frame").upload("frame.csv", content, "text/csv").run()
    at.number_input(key="_plan_seed").set_value(77).run()
    assert_clean(at)
    # The column mapping is guessed from the Chinese headers.
    assert at.selectbox(key="_plan_col_size").value == "户数"
    shown = table_with(at, "design_weight")
    expected = expected_assignments(content, 77)
    labels = {c.name: c.label.zh for c in DISTRICTS}
    pd.testing.assert_frame_equal(
        shown.reset_index(drop=True), expected.assign(district=expected["district"].map(labels)), check_dtype=False
    )
    assert len(at.get("download_button")) == 3  # template, CSV and Excel


def test_selection_is_saved_as_a_waves_assignments(rng: np.random.Generator) -> None:
    at = open_page(populations=POPULATIONS)
    content = frame_csv(rng)
    at.file_uploader(key="_plan_frame").upload("frame.csv", content, "text/csv").run()
    at.number_input(key="_plan_seed").set_value(77).run()
    at.text_input(key="_plan_wave").input("2027").run()
    assert_clean(at)
    assert t("planning.save_none", "zh", wave="2027") in [c.value for c in at.caption]
    at.button(key="_plan_save").click().run()
    assert_clean(at)
    store = AssignmentStore(os.environ["SURVEY_DB_URL"])
    saved = store.get("2027")
    first = expected_assignments(content, 77)
    pd.testing.assert_frame_equal(saved.table, first, check_exact=True)
    assert (saved.seed, saved.frame_name, saved.saved_by) == (77, "frame.csv", "S01")
    assert [s.value for s in at.success] == [
        t("planning.saved", "zh", wave="2027", psus=len(first), interviews=int(first["interviews"].sum()))
    ]

    # A second selection does not replace the stored one without the tick.
    at.number_input(key="_plan_seed").set_value(78).run()
    assert_clean(at)
    assert len(at.warning) == 1 and "S01" in at.warning[0].value and "77" in at.warning[0].value
    assert at.button(key="_plan_save").disabled
    replace_box(at).check().run()
    at.button(key="_plan_save").click().run()
    assert_clean(at)
    pd.testing.assert_frame_equal(store.get("2027").table, expected_assignments(content, 78), check_exact=True)
    assert store.get("2027").seed == 78
    assert not replace_box(at).value and at.button(key="_plan_save").disabled  # the next one needs a new tick


def test_a_replacement_that_drops_interviewed_psus_is_refused(rng: np.random.Generator) -> None:
    url = os.environ["SURVEY_DB_URL"]
    content = frame_csv(rng)
    first, second = expected_assignments(content, 77), expected_assignments(content, 78)
    store = AssignmentStore(url)
    store.save(first, wave="2027", seed=77)
    dropped = first.merge(second[["district", "psu"]], how="left", indicator=True)
    district, psu = dropped.loc[dropped["_merge"] == "left_only", ["district", "psu"]].iloc[0]
    responses = ResponseStore(url)
    iid = responses.start_interview("consumer_environment", "1", interviewer="A01", district=district, psu=psu,
                                    wave="2027")
    at = open_page(lang="en", populations=POPULATIONS)
    at.file_uploader(key="_plan_frame").upload("frame.csv", content, "text/csv").run()
    at.number_input(key="_plan_seed").set_value(78).run()
    at.text_input(key="_plan_wave").input("2027").run()
    replace_box(at).check().run()
    at.button(key="_plan_save").click().run()
    assert not at.exception
    assert len(at.error) == 1 and at.error[0].value.startswith(t("planning.save_refused", "en"))
    assert iid in shown(at.error[0].value)
    pd.testing.assert_frame_equal(store.get("2027").table, first, check_exact=True)


def test_frame_with_english_names_and_a_bad_row(rng: np.random.Generator) -> None:
    at = open_page(lang="en", populations=POPULATIONS)
    good = frame_csv(rng, names="en")
    at.file_uploader(key="_plan_frame").upload("frame.csv", good, "text/csv").run()
    assert_clean(at)
    assert len(table_with(at, "design_weight")) > 0

    lines = good.decode().splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0] + ",-5"  # the third community gets a negative size
    at.file_uploader(key="_plan_frame").upload("frame.csv", "\n".join(lines).encode(), "text/csv").run()
    assert not at.exception
    assert len(at.error) == 1 and "rows 4 ('-5')" in shown(at.error[0].value)
    assert t("planning.input_error", "en", detail="")[:10] in at.error[0].value


def test_frame_with_unknown_districts_is_refused() -> None:
    at = open_page(populations=POPULATIONS)
    content = "district,psu,psu_name,size\n苏州市,1,甲,100\n崇川区,2,乙,200\n".encode()
    at.file_uploader(key="_plan_frame").upload("frame.csv", content, "text/csv").run()
    assert not at.exception
    assert len(at.error) == 1 and "苏州市" in at.error[0].value
