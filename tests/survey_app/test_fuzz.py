"""Bad input, fuzzed: every case ends in success or a clear error of the project, never a crash.

Inputs: questionnaire files, XLSForm uploads, response imports, population margins and
sampling frames. Each starts from a valid file of that kind, which hypothesis then damages
(cells replaced with awkward values, rows and columns dropped or doubled, bytes cut or
flipped) or replaces with random bytes. An error must come from the project's own
hierarchies (with a non-empty message); response imports must also leave the database as it
was whenever they are refused. Each test prints how many cases it tried.
"""
from __future__ import annotations

import copy
import csv
import io
import shutil
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.errors import SurveyError
from questionnaires import QuestionnaireError, load_questionnaire, shipped_questionnaires
from survey_app.errors import SurveyAppError
from survey_app.store import ResponseStore
from survey_app.uploads import UploadTooLargeError, read_upload

DEFINITIONS = Path(__file__).parent.parent.parent / "questionnaires" / "definitions"
FORM = "consumer_environment"

AWKWARD = st.one_of(
    st.sampled_from([
        "", " ", "NaN", "nan", "inf", "-inf", "-1", "0", "1e309", "0x1F", "None", "null", "true", "1,000",
        "１２", "99999999999999999999999", "=HYPERLINK(\"http://x\")", "@SUM(A1)", "'", '"', "a,b", "yes no",
        "2026-13-45", "uuid:not-a-uuid", "\x00", "\t", "\r\n", "🙂", "崇川区", "${consent}", "selected(", ". >",
    ]),
    st.text(max_size=12),
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
                derandomize=True)


def outcome(call, allowed: tuple[type[BaseException], ...]) -> str:
    """'ok', or the allowed error's class name; anything else fails the test."""
    try:
        call()
    except allowed as error:
        assert str(error).strip(), f"{type(error).__name__} without a message"
        return type(error).__name__
    return "ok"


def report(capsys, what: str, counts: Counter) -> None:
    total = sum(counts.values())
    with capsys.disabled():
        print(f"\n[fuzz] {what}: {total} cases, " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


# -- table files (CSV) -----------------------------------------------------------------------

MUTATION = st.tuples(
    st.sampled_from(["cell", "cell", "cell", "drop_row", "double_row", "drop_column", "header", "cut", "garbage"]),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    AWKWARD,
)


def damaged_csv(rows: list[list[str]], mutations, *, encoding: str = "utf-8") -> bytes:
    """Apply the mutations to a table and write it as CSV bytes."""
    rows = [list(row) for row in rows]
    tail = b""
    cut = None
    for kind, i, j, value in mutations:
        if not rows:
            break
        r, c = i % len(rows), j % max(1, len(rows[0]))
        if kind == "cell" and rows[r]:
            rows[r][c % len(rows[r])] = value
        elif kind == "drop_row":
            rows.pop(r)
        elif kind == "double_row":
            rows.insert(r, list(rows[r]))
        elif kind == "drop_column":
            rows = [row[:c] + row[c + 1:] for row in rows]
        elif kind == "header":
            rows[0][c % max(1, len(rows[0]))] = value
        elif kind == "cut":
            cut = i
        elif kind == "garbage":
            tail += value.encode("utf-8", "surrogatepass") + bytes([i % 256, j % 256])
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    data = buffer.getvalue().encode(encoding, "surrogatepass") + tail
    return data[: cut % (len(data) + 1)] if cut is not None else data


def table_rows(frame: pd.DataFrame) -> list[list[str]]:
    return [list(map(str, frame.columns))] + [["" if pd.isna(v) else str(v) for v in row] for row in
                                              frame.itertuples(index=False)]


# -- questionnaire files -------------------------------------------------------------------


def yaml_paths(document) -> list[tuple]:
    """Every path (tuple of keys/indexes) into a YAML document."""
    paths = [()]
    if isinstance(document, dict):
        for key, value in document.items():
            paths += [(key, *rest) for rest in yaml_paths(value)]
    elif isinstance(document, list):
        for index, value in enumerate(document):
            paths += [(index, *rest) for rest in yaml_paths(value)]
    return paths


YAML_VALUE = st.one_of(AWKWARD, st.none(), st.booleans(), st.integers(), st.just([]), st.just({}),
                       st.just({"zh": "问"}), st.just({"en": "only English"}), st.just([{"name": "x"}]))


@pytest.fixture(scope="module")
def definitions() -> dict[str, dict]:
    return {path.name: yaml.safe_load(path.read_text(encoding="utf-8")) for path in sorted(DEFINITIONS.glob("*.yaml"))}


def test_fuzz_questionnaire_files(definitions, tmp_path, capsys):
    counts: Counter = Counter()
    names = sorted(definitions)
    # Definitions refer to ../districts.csv: keep the same layout.
    shutil.copy(DEFINITIONS.parent / "districts.csv", tmp_path / "districts.csv")
    folder = tmp_path / "definitions"
    folder.mkdir()

    @settings(FUZZ, max_examples=150)
    @given(which=st.sampled_from(names), edits=st.lists(st.tuples(st.integers(0, 10**6), st.booleans(), YAML_VALUE),
                                                         min_size=1, max_size=4))
    def case(which, edits):
        document = copy.deepcopy(definitions[which])
        for position, delete, value in edits:
            paths = yaml_paths(document)[1:]
            if not paths:
                break
            *parent_path, last = paths[position % len(paths)]
            parent = document
            for key in parent_path:
                parent = parent[key]
            if delete:
                del parent[last]
            else:
                parent[last] = copy.deepcopy(value)  # st.just gives the same object each time
        path = folder / which
        path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        counts[outcome(lambda: load_questionnaire(path), (QuestionnaireError,))] += 1

    @settings(FUZZ, max_examples=60)
    @given(data=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass"))))
    def raw(data):
        path = folder / "random.yaml"
        path.write_bytes(data)
        counts[outcome(lambda: load_questionnaire(path), (QuestionnaireError,))] += 1

    case()
    raw()
    report(capsys, "questionnaire files (damaged shipped definitions, random bytes)", counts)
    assert counts["QuestionnaireError"] > 0 and counts["ok"] > 0 and sum(counts.values()) >= 200


# -- XLSForm uploads -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def xlsform_bytes() -> bytes:
    from questionnaires.xlsform import write_xlsform

    buffer = io.BytesIO()
    write_xlsform(shipped_questionnaires()["salt_consumers"], buffer)
    return buffer.getvalue()


def test_fuzz_xlsform_uploads(xlsform_bytes, capsys):
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    from questionnaires.xlsform import read_xlsform

    counts: Counter = Counter()

    @settings(FUZZ, max_examples=40)
    @given(edits=st.lists(st.tuples(st.sampled_from(["survey", "choices", "settings"]), st.integers(1, 40),
                                    st.integers(1, 14), st.one_of(AWKWARD, st.none())), min_size=1, max_size=4))
    def cells(edits):
        book = openpyxl.load_workbook(io.BytesIO(xlsform_bytes))
        for sheet, row, column, value in edits:
            if isinstance(value, str):  # characters a workbook cannot hold at all
                value = ILLEGAL_CHARACTERS_RE.sub("", value)
            book[sheet].cell(row=row, column=column, value=value)
        buffer = io.BytesIO()
        book.save(buffer)
        counts[outcome(lambda: read_xlsform(buffer.getvalue()), (QuestionnaireError,))] += 1

    @settings(FUZZ, max_examples=60)
    @given(kind=st.sampled_from(["cut", "flip", "random"]), position=st.integers(0, 10**6),
           noise=st.binary(min_size=1, max_size=64))
    def damaged(kind, position, noise):
        data = bytearray(xlsform_bytes)
        if kind == "cut":
            data = data[: position % len(data)]
        elif kind == "flip":
            start = position % len(data)
            data[start:start + len(noise)] = noise
        else:
            data = bytearray(noise)
        counts[outcome(lambda: read_xlsform(bytes(data)), (QuestionnaireError,))] += 1

    cells()
    damaged()
    report(capsys, "XLSForm uploads (edited cells, cut/flipped/random bytes)", counts)
    assert counts["XLSFormError"] > 0 and sum(counts.values()) >= 100


# -- response imports ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def export_rows(tmp_path_factory) -> list[list[str]]:
    from survey_app.demo import generate_demo

    form = shipped_questionnaires()[FORM]
    interviews = generate_demo(questionnaires={FORM: form}, waves=["2026"], psus=16, respondents_per_psu=1)
    source = ResponseStore(f"sqlite:///{tmp_path_factory.mktemp('source') / 'source.db'}")
    source.import_interviews(interviews)
    frame = source.responses_frame(FORM)
    source.close()
    return table_rows(frame)


def snapshot(url: str) -> dict:
    import sqlite3

    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        return {row[0]: row[1:] for row in conn.execute("SELECT id, status, answers, psu, started_at FROM interviews")}


def test_fuzz_response_imports(export_rows, tmp_path, capsys):
    from survey_app.importer import ResponseImportError, import_responses
    from survey_app.store import StoreError

    url = f"sqlite:///{tmp_path / 'survey.db'}"
    store = ResponseStore(url)
    form = shipped_questionnaires()[FORM]
    counts: Counter = Counter()

    @settings(FUZZ, max_examples=200)
    @given(mutations=st.lists(MUTATION, max_size=4), encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
           name=st.sampled_from(["export.csv", "export.xlsx"]))
    def case(mutations, encoding, name):
        try:
            data = damaged_csv(export_rows, mutations, encoding=encoding)
        except UnicodeEncodeError:
            data = damaged_csv(export_rows, mutations)
        before = snapshot(url)
        result = {}

        def run():
            result["import"] = import_responses(store, data, form)

        kind = outcome(run, (ResponseImportError, StoreError))
        after = snapshot(url)
        if kind == "ok":
            assert len(after) == len(before) + result["import"].stored
            assert {key: after[key] for key in before} == before  # nothing stored earlier changed
        else:
            assert after == before, f"{kind} left a partial write"
        counts[kind] += 1

    case()
    store.close()
    report(capsys, "response imports (damaged exports; database unchanged on every refusal)", counts)
    assert counts["ImportRejectedError"] > 0 and counts["ok"] > 0 and sum(counts.values()) >= 200


# -- population margins --------------------------------------------------------------------


@pytest.fixture(scope="module")
def margin_rows() -> list[list[str]]:
    from survey_app.demo import demo_margins

    frame = demo_margins().to_frame()[["variable", "category", "population"]]
    return table_rows(frame)


def small_design_data(rng: np.random.Generator):
    from survey_app.margins import margin_categories

    categories = margin_categories()
    n = 400
    frame = pd.DataFrame({variable: rng.choice([code for code, _, _ in choices], size=n)
                          for variable, choices in categories.items()})
    frame["psu"] = np.arange(n) // 5
    frame["y"] = rng.random(n)
    return frame


def test_fuzz_population_margins(margin_rows, rng, capsys):
    from analysis import SurveyDesign
    from survey_app.margins import MarginsError, read_margins

    data = small_design_data(rng)
    design = SurveyDesign(data, strata="district", psu="psu", lonely_psu="adjust", nest=True)
    counts: Counter = Counter()

    @settings(FUZZ, max_examples=200)
    @given(mutations=st.lists(MUTATION, max_size=4), variables=st.lists(
        st.sampled_from(["district", "sex", "age_group", "urban_rural"]), min_size=1, max_size=4, unique=True))
    def case(mutations, variables):
        def run():
            margins = read_margins(damaged_csv(margin_rows, mutations), "margins.csv", source="fuzz",
                                   reference_date=date(2020, 11, 1))
            raked = design.rake(margins.rake_margins([v for v in variables if v in margins.variables] or None))
            assert np.isfinite(raked.mean("y").to_frame()["estimate"]).all()

        counts[outcome(run, (MarginsError, SurveyError))] += 1

    case()
    report(capsys, "population margins (damaged margin files, then raking)", counts)
    assert counts["MarginsError"] > 0 and counts["ok"] > 0 and sum(counts.values()) >= 200


@settings(FUZZ, max_examples=150)
@given(margins=st.dictionaries(
    st.sampled_from(["sex", "age_group", "district", "nope"]),
    st.dictionaries(st.one_of(st.sampled_from(["male", "female", "18-34", "35-49", "50-64", "65+", "chongchuan"]),
                              st.text(max_size=4)),
                    st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 10**9),
                              st.text(max_size=3), st.none()),
                    max_size=5),
    max_size=3))
def test_fuzz_raking_margins_given_directly(margins):
    """Margins typed in code (e.g. by another page) are refused with SurveyError, not a crash."""
    from analysis import SurveyDesign

    data = small_design_data(np.random.default_rng(7))
    design = SurveyDesign(data, strata="district", psu="psu", lonely_psu="adjust", nest=True)
    outcome(lambda: design.rake(margins), (SurveyError,))


# -- sampling frames -----------------------------------------------------------------------


def frame_rows(rng: np.random.Generator) -> list[list[str]]:
    rows = [["district", "psu", "psu_name", "size"]]
    for district in ("chongchuan", "haimen", "rugao", "qidong"):
        for index in range(5):
            rows.append([district, f"{district}-{index}", f"社区{index}", str(int(rng.integers(100, 5000)))])
    return rows


def test_fuzz_sampling_frames(rng, capsys):
    from analysis.sampling import check_frame, read_frame, select_psus

    base = frame_rows(rng)
    counts: Counter = Counter()

    @settings(FUZZ, max_examples=200)
    @given(mutations=st.lists(MUTATION, max_size=4), psus=st.integers(-1, 6), per_psu=st.integers(-1, 30))
    def case(mutations, psus, per_psu):
        def run():
            frame = check_frame(read_frame(damaged_csv(base, mutations), filename="frame.csv"))
            selection = select_psus(frame, psus=psus, interviews_per_psu=per_psu, seed=1)
            assert len(selection.to_frame()) > 0

        counts[outcome(run, (SurveyError,))] += 1

    case()
    report(capsys, "sampling frames (damaged frame files, then PPS selection)", counts)
    assert counts["SamplingError"] > 0 and counts["ok"] > 0 and sum(counts.values()) >= 200


# -- upload size -----------------------------------------------------------------------------


class FakeUpload:
    """What st.file_uploader returns, as far as read_upload looks."""

    def __init__(self, size: int) -> None:
        self.name, self.size = "big.csv", size

    def getvalue(self) -> bytes:
        raise AssertionError("an oversized upload must not be read")


@pytest.mark.parametrize(("size", "limit", "refused"), [(10, 1, False), (1024 * 1024, 1, False),
                                                       (1024 * 1024 + 1, 1, True), (300 * 1024 * 1024, None, True)])
def test_uploads_over_the_limit_are_refused_before_reading(size, limit, refused):
    upload = FakeUpload(size)
    if refused:
        with pytest.raises(UploadTooLargeError, match=r"'big.csv' is .* MB; files up to .* MB"):
            read_upload(upload, limit_mb=limit, what="response file")
    else:
        upload.getvalue = lambda: b"x" * size
        assert len(read_upload(upload, limit_mb=limit)) == size


def test_upload_limit_follows_the_streamlit_configuration():
    from survey_app.uploads import upload_limit_mb

    config = Path(__file__).parent.parent.parent / ".streamlit" / "config.toml"
    import tomllib

    configured = tomllib.loads(config.read_text(encoding="utf-8")).get("server", {}).get("maxUploadSize")
    assert configured is not None, "set server.maxUploadSize in .streamlit/config.toml"
    assert upload_limit_mb() == configured
    assert issubclass(UploadTooLargeError, SurveyAppError)
