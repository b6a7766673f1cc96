"""Importing interviews from this project's, ODK Central's and KoboToolbox's exports.

Exports are real files written into tmp_path (CSV with the csv module's writer via pandas,
workbooks with openpyxl) from interviews generated with the seeded ``rng``; the reference is
the generator's own answers, cleaned by the questionnaire model.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from questionnaires import shipped_questionnaires
from survey_app.importer import (
    PROBLEM_COLUMNS, ImportRejectedError, InterviewRecord, ResponseImportError, import_responses, read_responses,
)
from survey_app.store import InterviewClosedError, InvalidArgumentError, ResponseStore

FORM = shipped_questionnaires()["telecom_users"]
DEFAULTS = {"district": "rugao", "psu": "PSU-07", "wave": "2026"}
CST = timezone(timedelta(hours=8))
ODK_SYSTEM = ["KEY", "SubmitterID", "SubmitterName", "AttachmentsPresent", "AttachmentsExpected", "Status",
              "ReviewState", "DeviceID", "Edits", "FormVersion"]
KOBO_SYSTEM = ["_id", "_uuid", "_submission_time", "_validation_status", "_notes", "_status", "_submitted_by",
               "__version__", "_tags", "_index"]


def interview(rng: np.random.Generator) -> dict:
    """One plausible interview: answers (model types), id, interviewer and times."""
    pick = lambda options: str(rng.choice(options))  # noqa: E731
    codes = lambda name: [c.name for c in FORM.choices(name)]  # noqa: E731
    answers = {"consent": "yes" if rng.random() < 0.9 else "no"}
    if answers["consent"] == "yes":
        age = int(rng.integers(18, 90))
        group = "18_34" if age <= 34 else "35_49" if age <= 49 else "50_64" if age <= 64 else "65_plus"
        services = [c for c in codes("telecom_services") if rng.random() < 0.5] or ["mobile"]
        answers.update(district=pick(codes("district")), urban_rural=pick(codes("urban_rural")),
                       sex=pick(codes("sex")), age_group=group, telecom_operator=pick(codes("telecom_operator")),
                       telecom_services=services, visited_hall=pick(["yes", "no"]))
        if rng.random() < 0.8:
            answers["age"] = age
        for name in ("telecom_satisfaction", "rate_network", "rate_tariff", "rate_marketing",
                     "rate_customer_service", "rate_complaint_handling"):
            answers[name] = pick(["1", "2", "3", "4", "5"])
        if answers["visited_hall"] == "yes":
            answers["rate_hall"] = pick(["3", "4", "5"])
        if rng.random() < 0.3:
            answers["suggestions"] = "希望资费更透明, \"套餐\"简单些"
    start = datetime(2026, 5, 1, 8, tzinfo=CST) + timedelta(minutes=int(rng.integers(0, 20000)))
    return {"id": str(uuid.UUID(bytes=rng.bytes(16), version=4)), "interviewer": pick(["A01", "A02", "B07"]),
            "start": start, "end": start + timedelta(seconds=int(rng.integers(120, 900))), "answers": answers}


def interviews(rng, n=12) -> list[dict]:
    made = [interview(rng) for _ in range(n)]
    for item in made:  # the generator must only make valid interviews
        assert not FORM.missing_required(item["answers"])
        assert all(FORM.check_answer(q, v, item["answers"], "en") is None for q, v in item["answers"].items())
    return made


def column(name: str, separator: str) -> str:
    return f"{FORM.group_of(name).name}{separator}{name}"


def odk_central_csv(path: Path, items: list[dict]) -> Path:
    """ODK Central's CSV export: '-' joins groups, uuid: instance ids, UTC submission dates."""
    rows = []
    for item in items:
        row = {"SubmissionDate": (item["end"] + timedelta(hours=3)).astimezone(timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%S.000Z"), "start": item["start"].isoformat(timespec="milliseconds"),
            "end": item["end"].isoformat(timespec="milliseconds"), "username": item["interviewer"]}
        for question in FORM.questions:
            if question.type != "note":
                value = item["answers"].get(question.name, "")
                row[column(question.name, "-")] = " ".join(value) if isinstance(value, list) else value
        row["meta-instanceID"] = f"uuid:{item['id']}"
        row.update(dict.fromkeys(ODK_SYSTEM, ""), KEY=f"uuid:{item['id']}", SubmitterName="phone 3",
                   FormVersion=FORM.version)
        rows.append(row)
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def kobo_xlsx(path: Path, items: list[dict], *, split_only: bool = False, flags=(0, 1)) -> Path:
    """KoboToolbox's Excel export: '/' joins groups, one 0/1 column per choice of a select_multiple."""
    header = ["start", "end", "username"]
    for question in FORM.questions:
        if question.type == "note":
            continue
        name = column(question.name, "/")
        if not (split_only and question.type == "select_multiple"):
            header.append(name)
        if question.type == "select_multiple":
            header += [f"{name}/{choice.name}" for choice in FORM.choices(question)]
    header += ["meta/instanceID", *KOBO_SYSTEM]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = FORM.id
    sheet.append(header)
    for index, item in enumerate(items, start=1):
        answers = item["answers"]
        values = {"start": item["start"].isoformat(), "end": item["end"].isoformat(), "username": item["interviewer"],
                  "meta/instanceID": f"uuid:{item['id']}", "_id": 1000 + index, "_uuid": item["id"],
                  "_submission_time": item["end"].astimezone(timezone.utc).replace(tzinfo=None).isoformat(),
                  "_submitted_by": item["interviewer"], "__version__": "vQ8x2", "_index": index}
        for question in FORM.questions:
            name = column(question.name, "/")
            value = answers.get(question.name)
            if question.type == "select_multiple":
                values[name] = None if value is None else " ".join(value)
                for choice in FORM.choices(question):
                    values[f"{name}/{choice.name}"] = None if value is None else flags[choice.name in value]
            elif question.name == "age" and value is not None:
                values[name] = value  # a number cell, as Kobo writes integers
            else:
                values[name] = value
        sheet.append([values.get(name) for name in header])
    book.save(path)
    return path


def expected(items: list[dict]) -> dict[str, dict]:
    return {item["id"]: FORM.clean(item["answers"]) for item in items}


@pytest.fixture
def store(tmp_path):
    store = ResponseStore(f"sqlite:///{tmp_path / 'survey.db'}")
    yield store
    store.close()


# -- reading each kind of export -------------------------------------------------------------


def test_odk_central_csv(tmp_path, rng):
    items = interviews(rng)
    parsed = read_responses(odk_central_csv(tmp_path / "odk.csv", items), FORM, defaults=DEFAULTS)
    assert parsed.ok, parsed.problems.to_string()
    assert parsed.source_format == "odk_central" and parsed.rows == len(items)
    assert {r.interview_id: dict(r.answers) for r in parsed.records} == expected(items)
    by_id = {item["id"]: item for item in items}
    for record in parsed.records:
        item = by_id[record.interview_id]
        assert (record.started_at, record.submitted_at) == (item["start"], item["end"])
        assert record.started_at.utcoffset() == timedelta(hours=8)
        assert (record.interviewer, record.district, record.psu, record.wave) == (
            item["interviewer"], "rugao", "PSU-07", "2026")
        assert (record.questionnaire_id, record.questionnaire_version) == (FORM.id, FORM.version)
    assert [r.row for r in parsed.records] == list(range(2, len(items) + 2))
    assert "no problems" in parsed.summary()


@pytest.mark.parametrize(("split_only", "flags"), [(False, (0, 1)), (True, (0, 1)), (True, (False, True)),
                                                   (True, ("False", "True"))])
def test_kobo_xlsx_with_choice_columns(tmp_path, rng, split_only, flags):
    items = interviews(rng)
    path = kobo_xlsx(tmp_path / "kobo.xlsx", items, split_only=split_only, flags=flags)
    parsed = read_responses(path, FORM, defaults=DEFAULTS)
    assert parsed.ok, parsed.problems.to_string()
    assert parsed.source_format == "kobotoolbox"
    assert {r.interview_id: dict(r.answers) for r in parsed.records} == expected(items)


def test_kobo_semicolon_csv_and_chinese_excel_encoding(tmp_path, rng):
    items = interviews(rng, 5)
    frame = pd.read_csv(odk_central_csv(tmp_path / "odk.csv", items), dtype=str, keep_default_na=False)
    frame.columns = [c.replace("-", "/") for c in frame.columns]
    frame = frame.rename(columns={"meta/instanceID": "_uuid"}).drop(columns=ODK_SYSTEM + ["SubmissionDate"])
    frame["_uuid"] = frame["_uuid"].str.removeprefix("uuid:")
    for name, separator, encoding in (("kobo.csv", ";", "utf-8-sig"), ("excel_gbk.csv", ",", "gb18030")):
        path = tmp_path / name
        frame.to_csv(path, sep=separator, index=False, encoding=encoding)
        parsed = read_responses(path, FORM, defaults=DEFAULTS)
        assert parsed.ok, (name, parsed.problems.to_string())
        assert {r.interview_id: dict(r.answers) for r in parsed.records} == expected(items)


def test_own_export_round_trips_through_a_second_store(tmp_path, rng):
    items = interviews(rng, 8)
    ticks = iter(range(10_000))
    # whole seconds: Excel keeps times to the millisecond only
    source = ResponseStore(f"sqlite:///{tmp_path / 'field.db'}",
                           clock=lambda: datetime(2026, 5, 1, tzinfo=CST) + timedelta(seconds=7 * next(ticks)))
    for item in items:
        iid = source.start_interview(FORM.id, FORM.version, interviewer=item["interviewer"], district="haian",
                                     psu="PSU-3", wave="2026")
        source.submit(iid, FORM.clean(item["answers"]))
    exported = source.responses_frame(FORM.id)
    source.close()
    csv_path = tmp_path / "export.csv"
    exported.to_csv(csv_path, index=False)
    excel = exported.copy()
    for name in ("started_at", "submitted_at", "updated_at"):  # Excel has no time zones: naive UTC
        excel[name] = excel[name].dt.tz_convert("UTC").dt.tz_localize(None)
    xlsx_path = tmp_path / "export.xlsx"
    excel.to_excel(xlsx_path, index=False)
    for path in (csv_path, xlsx_path):
        target = ResponseStore(f"sqlite:///{tmp_path / (path.stem + path.suffix[1:] + '.db')}")
        result = import_responses(target, path, FORM)
        assert (result.stored, result.skipped_existing) == (len(items), 0)
        again = target.responses_frame(FORM.id)
        target.close()
        keep = [c for c in exported.columns if c != "updated_at"]
        pd.testing.assert_frame_equal(again[keep], exported[keep], check_dtype=False)


# -- problems, row by row -----------------------------------------------------------------------


def bad_odk_file(tmp_path, rng):
    items = interviews(rng, 14)
    consenting = [item for item in items if item["answers"]["consent"] == "yes"]
    path = odk_central_csv(tmp_path / "odk.csv", items)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    row_of = {item["id"]: index for index, item in enumerate(items)}

    def put(item, name, value):
        frame.loc[row_of[item["id"]], name if name in frame.columns else column(name, "-")] = value
        return row_of[item["id"]] + 2  # spreadsheet row

    hall = next(item for item in consenting if item["answers"]["visited_hall"] == "no")
    planted = {
        (put(consenting[0], "rate_network", "6"), "aspects-rate_network", "unknown_code"),
        (put(consenting[1], "age", "120"), "respondent-age", "constraint"),
        (put(consenting[2], "age_group", "18_34") if consenting[2]["answers"]["age_group"] != "18_34"
         else put(consenting[2], "age_group", "65_plus"), "respondent-age_group", "constraint"),
        (put(hall, "rate_hall", "4"), "service_hall-rate_hall", "not_relevant"),
        (put(consenting[3], "rate_tariff", ""), "aspects-rate_tariff", "missing_required"),
        (put(consenting[4], "age", "forty"), "respondent-age", "bad_value"),
        (put(consenting[5], "meta-instanceID", "not-a-uuid"), "meta-instanceID", "bad_id"),
        (put(consenting[6], "end", "yesterday"), "end", "bad_time"),
        (put(consenting[7], "FormVersion", "0.9"), "FormVersion", "wrong_questionnaire"),
    }
    if consenting[1]["answers"].get("age") is None:  # an age now given must match the age group
        planted.add((row_of[consenting[1]["id"]] + 2, "respondent-age_group", "constraint"))
    frame.loc[len(frame)] = frame.loc[row_of[items[-1]["id"]]]  # the same interview twice
    planted.add((len(frame) + 1, "meta-instanceID", "duplicate_id"))
    frame.to_csv(path, index=False)
    return path, planted, items


def test_every_bad_row_is_reported_with_row_and_column(tmp_path, rng):
    path, planted, _ = bad_odk_file(tmp_path, rng)
    parsed = read_responses(path, FORM, defaults=DEFAULTS)
    assert not parsed.ok and parsed.records == ()
    report = parsed.problems
    assert tuple(report.columns) == PROBLEM_COLUMNS
    found = {(row, col, kind) for row, col, kind in report[["row", "column", "kind"]].itertuples(index=False)}
    assert found == planted
    assert list(report["row"]) == sorted(report["row"])
    assert "nothing can be stored" in parsed.summary()
    # the report can be downloaded
    report.to_csv(tmp_path / "problems.csv", index=False)
    assert len(pd.read_csv(tmp_path / "problems.csv")) == len(planted)


def test_header_problems_are_reported_on_row_one(tmp_path, rng):
    items = interviews(rng, 3)
    path = odk_central_csv(tmp_path / "odk.csv", items)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["shoe_size"] = "42"
    frame.drop(columns=["start"]).to_csv(path, index=False)
    parsed = read_responses(path, FORM, defaults={"wave": "2026"})
    header = parsed.problems[parsed.problems["row"] == 1]
    assert set(zip(header["column"].fillna(""), header["kind"])) == {
        ("shoe_size", "unknown_column"), ("", "missing_column")}
    assert set(header["problem"].str.extract(r"no (\w+ ?\w*) column", expand=False)) >= {"start time", "district",
                                                                                          "psu"}


def test_choice_columns_that_contradict_the_answer_or_hold_other_values(tmp_path, rng):
    items = [item for item in interviews(rng, 12) if item["answers"]["consent"] == "yes"][:2]
    path = kobo_xlsx(tmp_path / "kobo.xlsx", items)
    book = openpyxl.load_workbook(path)
    sheet = book.active
    header = [cell.value for cell in sheet[1]]
    mobile = header.index("usage/telecom_services/mobile") + 1
    landline = header.index("usage/telecom_services/landline") + 1
    sheet.cell(row=2, column=mobile, value=1 - sheet.cell(row=2, column=mobile).value)
    sheet.cell(row=3, column=landline, value="maybe")
    book.save(path)
    report = read_responses(path, FORM, defaults=DEFAULTS).problems
    assert list(zip(report["row"], report["kind"])) == [(2, "bad_value"), (3, "bad_value")]
    assert "usage/telecom_services, " in report.loc[0, "column"] and "choice columns select" in report.loc[0, "problem"]
    assert report.loc[1, "column"] == "usage/telecom_services/landline"


def test_metadata_from_defaults_or_another_column(tmp_path, rng):
    items = [item for item in interviews(rng, 10) if item["answers"]["consent"] == "yes"]
    path = odk_central_csv(tmp_path / "odk.csv", items)
    parsed = read_responses(path, FORM, defaults={"psu": "P1", "wave": "w1"},
                            metadata_columns={"district": "respondent-district", "interviewer": "SubmitterName"})
    assert parsed.ok, parsed.problems.to_string()
    assert [r.district for r in parsed.records] == [item["answers"]["district"] for item in items]
    assert {r.interviewer for r in parsed.records} == {"phone 3"}
    # the answer column still holds the answer
    assert [r.answers["district"] for r in parsed.records] == [r.district for r in parsed.records]
    missing = read_responses(path, FORM, defaults={"psu": "P1", "wave": "w1"},
                             metadata_columns={"district": "village"})
    assert ("village", "bad_column") in set(zip(missing.problems["column"], missing.problems["kind"]))


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"defaults": {"province": "x"}}, "unknown key"),
    ({"defaults": {"wave": ""}}, "non-empty string"),
    ({"naive_timezone": "Mars/Olympus"}, "not a time zone"),
    ({"progress": "yes"}, "progress must be a function"),
    ({"lang": "fr"}, "lang='fr'"),
])
def test_wrong_arguments_are_refused(tmp_path, rng, kwargs, words):
    path = odk_central_csv(tmp_path / "odk.csv", interviews(rng, 1))
    with pytest.raises(ResponseImportError, match=words):
        read_responses(path, FORM, **kwargs)


def test_unreadable_files_are_refused(tmp_path):
    with pytest.raises(ResponseImportError, match="cannot read"):
        read_responses(tmp_path / "missing.csv", FORM)
    with pytest.raises(ResponseImportError, match="cannot read the workbook"):
        read_responses(b"PK\x03\x04 not really a zip", FORM)
    with pytest.raises(ResponseImportError, match="neither UTF-8 nor GB18030"):
        read_responses(b"a,b\n\xff\xfe\xfa,1\n", FORM)


def test_naive_times_take_the_given_zone(tmp_path, rng):
    items = interviews(rng, 2)
    path = odk_central_csv(tmp_path / "odk.csv", items)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["start"] = [item["start"].replace(tzinfo=None).isoformat() for item in items]
    frame.to_csv(path, index=False)
    parsed = read_responses(path, FORM, defaults=DEFAULTS, naive_timezone="Asia/Shanghai")
    assert [r.started_at for r in parsed.records] == [item["start"] for item in items]
    as_utc = read_responses(path, FORM, defaults=DEFAULTS)
    assert [r.started_at - item["start"] for r, item in zip(as_utc.records, items)] == [timedelta(hours=8)] * 2


# -- storing: all or nothing, idempotent -------------------------------------------------------


def test_a_file_with_one_bad_row_stores_nothing(tmp_path, rng, store):
    path, planted, _ = bad_odk_file(tmp_path, rng)
    with pytest.raises(ImportRejectedError) as caught:
        import_responses(store, path, FORM, defaults=DEFAULTS)
    assert len(caught.value.problems) == len(planted)
    assert store.interviews(status="all") == []


def test_clean_file_is_stored_once_and_reimport_stores_nothing_new(tmp_path, rng, store):
    items = interviews(rng, 15)
    path = kobo_xlsx(tmp_path / "kobo.xlsx", items)
    first = import_responses(store, path, FORM, defaults=DEFAULTS)
    assert (first.stored, first.skipped_existing) == (15, 0)
    assert "15 interview(s) stored" in first.summary()
    second = import_responses(store, path, FORM, defaults=DEFAULTS)
    assert (second.stored, second.skipped_existing) == (0, 15)
    stored = {i.id: i for i in store.interviews()}
    assert {iid: dict(i.answers) for iid, i in stored.items()} == expected(items)
    for item in items:
        record = stored[item["id"]]
        assert (record.status, record.interviewer, record.district, record.psu) == (
            "submitted", item["interviewer"], "rugao", "PSU-07")
        assert (record.started_at, record.submitted_at) == (item["start"], item["end"])
    # a file holding these interviews and new ones stores only the new ones
    more = interviews(rng, 3)
    bigger = import_responses(store, kobo_xlsx(tmp_path / "more.xlsx", items + more), FORM, defaults=DEFAULTS)
    assert (bigger.stored, bigger.skipped_existing) == (3, 15)


def test_a_changed_interview_with_a_known_id_is_refused_whole(tmp_path, rng, store):
    items = [item for item in interviews(rng, 10) if item["answers"]["consent"] == "yes"]
    import_responses(store, odk_central_csv(tmp_path / "a.csv", items[:3]), FORM, defaults=DEFAULTS)
    items[0]["answers"]["rate_network"] = "1" if items[0]["answers"]["rate_network"] != "1" else "2"
    with pytest.raises(InterviewClosedError, match="already stored with other answers"):
        import_responses(store, odk_central_csv(tmp_path / "b.csv", items), FORM, defaults=DEFAULTS)
    assert len(store.interviews()) == 3


def test_store_refuses_malformed_records(store):
    now = datetime(2026, 5, 1, tzinfo=timezone.utc)
    good = InterviewRecord(str(uuid.uuid4()), FORM.id, FORM.version, "2026", "A01", "rugao", "P1", now, now,
                           {"consent": "no"}, 2)
    with pytest.raises(InvalidArgumentError, match="appears twice"):
        store.import_interviews([good, good])
    naive = InterviewRecord(**{**good.__dict__, "started_at": now.replace(tzinfo=None)})
    with pytest.raises(InvalidArgumentError, match="aware datetime"):
        store.import_interviews([naive])
    assert store.interviews(status="all") == []
    assert store.import_interviews([good]).stored == 1


def test_progress_is_reported_for_large_files(tmp_path, rng, store):
    items = interviews(rng, 250)
    path = odk_central_csv(tmp_path / "odk.csv", items)
    seen: list[float] = []
    result = import_responses(store, path, FORM, defaults=DEFAULTS, progress=seen.append)
    assert result.stored == 250
    assert seen[-1] == 1.0 and seen == sorted(seen) and all(0 < f <= 1 for f in seen)
    assert 50 <= len(seen) <= 110  # about one call per percent, not one per row
    assert max(seen[:-1]) <= 0.9   # reading and checking; storing completes it
