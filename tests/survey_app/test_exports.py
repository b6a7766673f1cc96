"""Data out, with labels (survey_app/exports.py, `survey-toolkit export`, the export page).

Every file is read back (pyreadstat, pandas) and compared with the stored interviews and the
questionnaires; the R bundle's script is run with R's survey package and its numbers must
equal the report's (estimates 1e-9, SEs and limits 1e-6).
"""
from __future__ import annotations

import io
import json
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from analysis.sampling.selection import ASSIGNMENT_COLUMNS
from questionnaires import shipped_questionnaires
from survey_app import exports
from survey_app.assignments import AssignmentStore
from survey_app.auth import Accounts, PermissionDeniedError, REDACTED
from survey_app.cli import main
from survey_app.demo import demo_margins
from survey_app.exports import NO_ANSWER, NOT_ASKED, ExportError, export_data
from survey_app.margins import MarginsStore
from survey_app.reporting import ReportSettings, report_from_store, with_stored_design_weights
from survey_app.store import ResponseStore
from tests.conftest import IN_CI, require_program
from tests.survey_app.review_helpers import FAST, clean, make_interviews, make_users, open_page, stored, with_answers

FORMS = shipped_questionnaires()
# public_services: targets whose denominator leaves some PSUs without respondents (own domain df)
QUESTIONNAIRES = ("consumer_environment", "telecom_users", "public_services")
WAVE = "2026"
PHONE = "请联系我 13912345678，谢谢"
FORMULA = '=HYPERLINK("http://example.org","ok")'


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> str:
    """Interviews of three questionnaires (in each, one answer with a phone number and one
    starting like a formula), stored sample assignments of unequal weights (so design weights
    and fpc are exported and used), the demonstration margins, and the staff accounts."""
    url = f"sqlite:///{tmp_path_factory.mktemp('exports') / 'survey.db'}"
    rng = np.random.default_rng(18)
    store = ResponseStore(url)
    for qid in QUESTIONNAIRES:
        interviews = make_interviews(qid, rng, per_psu=6, wave=WAVE)
        consenting = [k for k, i in enumerate(interviews) if i.answers.get("consent") == "yes"]
        interviews[consenting[0]] = with_answers(interviews[consenting[0]], suggestions=PHONE)
        interviews[consenting[1]] = with_answers(interviews[consenting[1]], suggestions=FORMULA)
        stored(store, interviews)
    frame = store.responses_frame()
    psus = frame[["sample_district", "psu"]].value_counts().sort_index().reset_index()
    listed = psus.groupby("sample_district")["psu"].transform("size")
    pi_psu = rng.uniform(0.1, 0.6, len(psus))
    pi_within = rng.uniform(0.02, 0.2, len(psus))
    assignments = pd.DataFrame({
        "district": psus["sample_district"], "psu": psus["psu"], "psu_name": psus["psu"],
        "interviews": psus["count"].astype(int), "pi_psu": pi_psu, "pi_within": pi_within,
        "design_weight": 1 / (pi_psu * pi_within), "fpc": (listed * 6).astype(int)})[list(ASSIGNMENT_COLUMNS)]
    AssignmentStore(url).save(assignments, wave=WAVE)
    MarginsStore(url).save(demo_margins())
    store.close()
    accounts = Accounts(url, hasher=FAST)
    make_users(accounts)
    accounts.close()
    return url


@pytest.fixture
def accounts(database):
    accounts = Accounts(database, hasher=FAST)
    yield accounts
    accounts.close()


@pytest.fixture
def store(database):
    store = ResponseStore(database)
    yield store
    store.close()


def export(accounts, store, out, username="S01", **options):
    return export_data(accounts, accounts.get_user(username), store, out, **options)


def stored_frame(store) -> pd.DataFrame:
    """The stored interviews of the wave with their assignments' design weight and fpc."""
    return with_stored_design_weights(store.responses_frame(wave=WAVE), url=store.url).set_index("interview_id")


def demo_settings(weighting: str, ci_method: str) -> ReportSettings:
    if weighting == "none":
        return ReportSettings(ci_method=ci_method)
    margins = demo_margins()
    chosen = margins.rake_margins(["district", "sex"]) if weighting == "rake" else {
        "district": dict(margins.counts["district"])}
    return ReportSettings(ci_method=ci_method, weighting=weighting, margins=chosen, demonstration_margins=True)


# -- SPSS ---------------------------------------------------------------------------------------

def test_sav_has_variable_and_value_labels_missing_codes_dates_and_design_variables(accounts, store, tmp_path):
    out = tmp_path / "survey.sav"
    result = export(accounts, store, out, format="sav", language="zh", wave=WAVE)
    assert [p.name for p in tmp_path.iterdir()] == ["survey.sav"]   # no temporary file left
    data, meta = pyreadstat.read_sav(out, user_missing=True)
    truth = stored_frame(store)
    assert result.rows == len(data) == len(truth)
    data = data.set_index("interview_id").loc[truth.index]
    labels = meta.column_names_to_labels
    values = meta.variable_value_labels
    consumer = FORMS["consumer_environment"]
    # variable labels in Chinese
    assert labels["overall_satisfaction"] == consumer.question("overall_satisfaction").label.zh
    assert labels["sample_district"] == "抽样区县（分层）"
    # select_one: numbers labelled with the choice labels, equal to the stored codes
    choice_labels = {c.name: c.label.zh for c in consumer.choices("overall_satisfaction")}
    answered = truth["overall_satisfaction"].notna()
    read = data.loc[answered, "overall_satisfaction"].map(values["overall_satisfaction"])
    assert (read == truth.loc[answered, "overall_satisfaction"].map(choice_labels)).all()
    assert values["overall_satisfaction"][NOT_ASKED] == "未问（跳答）"
    assert values["overall_satisfaction"][NO_ANSWER] == "未回答"
    # missing-value codes: the other questionnaire's rows and refusals were not asked
    assert meta.missing_ranges["overall_satisfaction"] == [{"lo": NOT_ASKED, "hi": NOT_ASKED},
                                                          {"lo": NO_ANSWER, "hi": NO_ANSWER}]
    telecom_rows = truth["questionnaire_id"] == "telecom_users"
    assert (data.loc[telecom_rows, "overall_satisfaction"] == NOT_ASKED).all()
    refused = truth["consent"] == "no"
    assert refused.any() and (data.loc[refused, "sex"] == NOT_ASKED).all()
    plain, _ = pyreadstat.read_sav(out)   # without user-missing values: system missing
    assert plain["overall_satisfaction"].isna().sum() == (~answered).sum()
    # select_multiple: one 0/1 column per option, labelled
    for choice in consumer.choices("complaint_channels"):
        column = exports._export_name(f"complaint_channels_{choice.name}")
        asked = truth["complaint_channels"].notna()
        chosen = truth.loc[asked, "complaint_channels"].map(lambda v: float(choice.name in v.split()))
        assert (data.loc[asked, column] == chosen).all(), column
        assert labels[column] == f"{consumer.question('complaint_channels').label.zh}：{choice.label.zh}"
        assert values[column][1] == "已选" and values[column][0] == "未选"
    # numbers stay numbers, text stays text, dates are dates
    assert meta.original_variable_types["age"] == "F8.0" and meta.original_variable_types["design_weight"] == "F8.2"
    assert meta.readstat_variable_types["suggestions"] == "string"
    assert meta.original_variable_types["started_at"].startswith("DATETIME")
    started = truth["started_at"].dt.tz_convert(None)
    assert (data["started_at"] - started).abs().max() < pd.Timedelta(seconds=1)
    # design variables: the stored assignments' weight and fpc
    assert np.allclose(data["design_weight"], truth["weight"], rtol=1e-12)
    assert np.allclose(data["fpc"], truth["fpc"])
    assert (data["respondent"] == (truth["consent"] == "yes")).all()
    # personal data: contact details removed
    texts = data["suggestions"].astype(str)
    assert not texts.str.contains("13912345678").any() and texts.str.contains(REDACTED, regex=False).any()


def test_sav_calibrated_weight_is_the_report_design_weight(accounts, store, tmp_path):
    settings = demo_settings("rake", "logit")
    out = tmp_path / "raked.sav"
    export(accounts, store, out, format="sav", wave=WAVE, settings=settings)
    data, meta = pyreadstat.read_sav(out)
    tables = report_from_store(store, settings=settings, wave=WAVE)
    for qid, design in tables.designs.items():
        rows = data[(data["questionnaire_id"] == qid) & (data["respondent"] == 1)]
        assert np.allclose(rows["calibrated_weight"].to_numpy(), design.weights.to_numpy(), rtol=1e-12)
    assert data.loc[data["respondent"] == 0, "calibrated_weight"].isna().all()
    assert meta.column_names_to_labels["calibrated_weight"].startswith("校准后权重")


# -- Stata --------------------------------------------------------------------------------------

def test_dta_has_english_labels_value_labels_and_extended_missing_values(accounts, store, tmp_path):
    out = tmp_path / "survey.dta"
    export(accounts, store, out, format="dta", language="en", wave=WAVE, questionnaire_id="telecom_users")
    data, meta = pyreadstat.read_dta(out, user_missing=True)
    truth = store.responses_frame("telecom_users", wave=WAVE).set_index("interview_id")
    data = data.set_index("interview_id").loc[truth.index]
    telecom = FORMS["telecom_users"]
    assert set(data["questionnaire_id"]) == {"telecom_users"}
    question = telecom.question("telecom_satisfaction")
    assert meta.column_names_to_labels["telecom_satisfaction"] == exports._clip(question.label.get("en"), 80)
    assert all(len(label) <= 80 for label in meta.column_names_to_labels.values() if label)
    english = {c.name: c.label.get("en") for c in telecom.choices(question)}
    answered = truth["telecom_satisfaction"].notna()
    read = data.loc[answered, "telecom_satisfaction"].map(meta.variable_value_labels["telecom_satisfaction"])
    assert (read == truth.loc[answered, "telecom_satisfaction"].map(english)).all()
    refused = truth["consent"] == "no"
    assert refused.any() and (data.loc[refused, "telecom_satisfaction"] == "a").all()   # Stata's .a: not asked
    assert meta.original_variable_types["started_at"] == "%tc"
    assert meta.original_variable_types["design_weight"] in ("%9.0g", "%10.0g", "%16.0g")
    for choice in telecom.choices("telecom_services"):
        column = exports._export_name(f"telecom_services_{choice.name}")
        assert meta.variable_value_labels[column] == {0: "not chosen", 1: "chosen"}


# -- CSV and codebook ---------------------------------------------------------------------------

def test_csv_zip_holds_the_codes_and_a_codebook_in_both_languages(accounts, store, tmp_path):
    out = tmp_path / "survey.zip"
    export(accounts, store, out, format="csv", wave=WAVE)
    with zipfile.ZipFile(out) as bundle:
        assert sorted(bundle.namelist()) == ["codebook.csv", "codebook.json", "data.csv"]
        data = pd.read_csv(io.BytesIO(bundle.read("data.csv")), encoding="utf-8-sig", dtype=str,
                           keep_default_na=False)
        codebook = json.loads(bundle.read("codebook.json"))
        sheet = pd.read_csv(io.BytesIO(bundle.read("codebook.csv")), encoding="utf-8-sig")
    truth = stored_frame(store)
    data = data.set_index("interview_id").loc[truth.index]
    assert (data["sex"] == truth["sex"].fillna("")).all()              # codes as stored
    assert (data["age"] == truth["age"].map(lambda v: "" if pd.isna(v) else str(int(v)))).all()
    assert (pd.to_datetime(data["submitted_at"]) - truth["submitted_at"].dt.tz_convert(None)).abs().max() \
        < pd.Timedelta(seconds=1)
    variables = {v["name"]: v for v in codebook["variables"]}
    assert list(variables) == list(data.reset_index().columns) == list(sheet["name"])
    sex = variables["sex"]
    assert sex["type"] == "category" and sex["label"] == {"zh": "性别", "en": "Sex"}
    assert [(v["code"], v["label"]["zh"], v["label"]["en"]) for v in sex["values"]] == [
        (c.name, c.label.zh, c.label.get("en")) for c in FORMS["consumer_environment"].choices("sex")]
    assert variables["age"]["type"] == "integer" and variables["suggestions"]["type"] == "text"
    assert variables["started_at"]["type"] == "datetime"
    assert codebook["design"]["strata"] == "sample_district" and codebook["design"]["fpc"] == "fpc"
    assert codebook["personal_data"] == "contact details removed from free-text answers"
    assert set(codebook["questionnaires"]) == set(QUESTIONNAIRES)
    # the app's cell-safety rule: a spreadsheet opening the CSV runs no formula
    assert (data["suggestions"] == "'" + FORMULA).sum() == len(QUESTIONNAIRES)


# -- R ------------------------------------------------------------------------------------------

def _rscript() -> str:
    path = require_program("Rscript")
    found = subprocess.run([path, "-e", "library(survey)"], capture_output=True, text=True)
    if found.returncode != 0:
        message = "R's survey package is not installed (.ci/run installs r-cran-survey)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def run_r_bundle(bundle: Path, folder: Path) -> pd.DataFrame:
    """Unpack the bundle, run analysis.R, and read the estimates it prints."""
    rscript = _rscript()
    with zipfile.ZipFile(bundle) as files:
        files.extractall(folder)
    ran = subprocess.run([rscript, str(folder / "analysis.R")], capture_output=True, text=True, timeout=300,
                         cwd=folder.parent)
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    start = lines.index("target,questionnaire,estimate,se,ci_low,ci_high")
    end = lines.index("", start)
    return pd.read_csv(io.StringIO("\n".join(lines[start:end]))).set_index("target")


@pytest.mark.r_reference
@pytest.mark.parametrize("weighting, ci_method, language", [
    ("none", "logit", "zh"), ("rake", "beta", "en"), ("poststratify", "wilson", "zh")])
def test_r_script_reproduces_the_report_estimates(accounts, store, tmp_path, weighting, ci_method, language):
    settings = demo_settings(weighting, ci_method)
    out = tmp_path / "survey_R.zip"
    export(accounts, store, out, format="r", wave=WAVE, settings=settings, language=language)
    printed = run_r_bundle(out, tmp_path / "bundle")
    expected = report_from_store(store, settings=settings, wave=WAVE).overview
    expected = expected[expected["questionnaire"].isin(QUESTIONNAIRES)]
    assert sorted(printed.index) == sorted(expected.index) and len(printed) >= 2
    for target, row in expected.iterrows():
        got = printed.loc[target]
        assert got["estimate"] == pytest.approx(row["estimate"], rel=1e-9), target
        for column in ("se", "ci_low", "ci_high"):
            assert got[column] == pytest.approx(row[column], rel=1e-6, abs=1e-12), (target, column)
    script = (tmp_path / "bundle" / "analysis.R").read_text(encoding="utf-8")
    assert "weights = ~design_weight" in script and "fpc = fpc" in script
    if weighting != "none":   # the script checks its calibrated weights against the export's
        assert "dq$calibrated_weight" in script


# -- permission, personal data, audit -----------------------------------------------------------

def test_contact_details_are_kept_only_for_a_user_allowed_who_asks(accounts, store, tmp_path):
    refused = tmp_path / "statistician.zip"
    with pytest.raises(PermissionDeniedError, match="export_contact_details"):
        export(accounts, store, refused, format="csv", wave=WAVE, keep_personal_data=True)
    assert list(tmp_path.iterdir()) == []
    kept = tmp_path / "administrator.zip"
    export(accounts, store, kept, username="chief", format="csv", wave=WAVE, keep_personal_data=True)
    with zipfile.ZipFile(kept) as bundle:
        data = pd.read_csv(io.BytesIO(bundle.read("data.csv")), encoding="utf-8-sig", dtype=str)
        codebook = json.loads(bundle.read("codebook.json"))
    assert (data["suggestions"] == PHONE).sum() == len(QUESTIONNAIRES)   # one interview per questionnaire
    assert codebook["personal_data"] == "contact details kept as entered"


def test_every_export_is_audited(accounts, store, tmp_path):
    admin = accounts.get_user("chief")
    before = len(accounts.audit_log(admin))
    export(accounts, store, tmp_path / "a.dta", format="dta", wave=WAVE)
    log = accounts.audit_log(admin)
    assert len(log) == before + 1
    entry = log.iloc[0]
    assert (entry["actor"], entry["action"]) == ("S01", "export")
    detail = json.loads(entry["detail"])
    assert detail["purpose"] == "dta export to a.dta (labels zh)" and detail["contact_details"] == "remove"


# -- bad input: a clear error, nothing written ----------------------------------------------------

@pytest.mark.parametrize("options, message", [
    ({"format": "xlsx"}, "format='xlsx' is not known; use one of sav, dta, csv, r"),
    ({"format": "sav", "language": "fr"}, "language='fr' is not known"),
    ({"format": "sav", "questionnaire_id": "nope"}, "questionnaire 'nope' is not known; choose one of"),
])
def test_bad_options_are_refused_before_anything_is_written(accounts, store, tmp_path, options, message):
    admin = accounts.get_user("chief")
    before = len(accounts.audit_log(admin))
    with pytest.raises(ExportError, match=message.replace("(", r"\(").replace(")", r"\)")):
        export(accounts, store, tmp_path / "out.sav", **options)
    assert list(tmp_path.iterdir()) == []
    assert len(accounts.audit_log(admin)) == before   # nothing exported, nothing audited


def test_a_wave_without_interviews_writes_nothing(accounts, store, tmp_path):
    with pytest.raises(ExportError, match="no submitted interviews to export \\(wave 1999\\)"):
        export(accounts, store, tmp_path / "out.sav", format="sav", wave="1999")
    assert list(tmp_path.iterdir()) == []


def test_wrong_suffix_and_missing_folder_name_the_file(accounts, store, tmp_path):
    with pytest.raises(ExportError, match=r"'.*out\.csv': a csv export is a \.zip file"):
        export(accounts, store, tmp_path / "out.csv", format="csv")
    with pytest.raises(ExportError, match=r"cannot write '.*missing/out\.sav': the folder .* does not exist"):
        export(accounts, store, tmp_path / "missing" / "out.sav", format="sav")
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_folder_gives_a_clear_error_naming_the_file(accounts, store, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):  # what the operating system says of a folder we may not write to
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(exports.tempfile, "mkstemp", refuse)
    out = tmp_path / "out.sav"
    with pytest.raises(ExportError, match=rf"cannot write '{out}': Permission denied; choose a folder"):
        export(accounts, store, out, format="sav")
    assert list(tmp_path.iterdir()) == []


def test_a_failure_while_writing_leaves_no_half_file_and_the_old_file_intact(accounts, store, tmp_path,
                                                                             monkeypatch):
    out = tmp_path / "survey.sav"
    out.write_bytes(b"the previous export")

    def half(data, path):
        path.write_bytes(b"half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setitem(exports._WRITERS, "sav", half)
    with pytest.raises(OSError, match="No space left"):
        export(accounts, store, out, format="sav")
    assert [p.name for p in tmp_path.iterdir()] == ["survey.sav"]
    assert out.read_bytes() == b"the previous export"


def test_export_names_fit_every_format():
    long = "a_very_long_question_name_about_complaint_channels"
    names = {exports._export_name(long + suffix) for suffix in ("_x", "_y")}
    assert len(names) == 2 and all(len(n) <= 29 and n[0].isalpha() for n in names)
    assert exports._export_name("_private") == "v_private"
    assert exports._export_name("by") == "by_" and exports._export_name("in") == "in_"


# -- command line -------------------------------------------------------------------------------

def test_cli_export_writes_the_file_prints_progress_and_a_summary(database, tmp_path, capsys):
    out = tmp_path / "survey.sav"
    status = main(["export", "--db", database, "--format", "sav", "--out", str(out), "--user", "S01",
                   "--language", "en", "--questionnaire", "consumer_environment"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "wrote " + str(out) in captured.out and "wave 2026" in captured.out
    assert "exporting survey.sav: 100%" in captured.err
    data, meta = pyreadstat.read_sav(out)
    assert set(data["questionnaire_id"]) == {"consumer_environment"}
    assert meta.column_names_to_labels["sex"] == "Sex"


def test_cli_export_help_lists_the_options(capsys):
    assert main(["export", "--help"]) == 0
    text = capsys.readouterr().out
    for option in ("--db", "--format", "--out", "--language", "--questionnaire", "--keep-personal-data", "--user"):
        assert option in text


@pytest.mark.parametrize("arguments, message", [
    (["--questionnaire", "nope"], "questionnaire 'nope' is not known"),
    (["--keep-personal-data"], "S01 (statistician) may not 'export_contact_details'"),
    (["--user", "nobody"], "no account is called 'nobody'"),
])
def test_cli_export_errors_are_one_line_with_status_2_and_nothing_written(database, tmp_path, capsys, arguments,
                                                                          message):
    out = tmp_path / "out.zip"
    argv = ["export", "--db", database, "--format", "r", "--out", str(out), "--user", "S01"]
    if "--user" in arguments:
        argv = argv[:-2]
    assert main(argv + arguments) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(errors) == 1 and errors[0].startswith("survey-toolkit export: error: ") and message in errors[0]
    assert list(tmp_path.iterdir()) == []


def test_cli_export_refuses_an_unknown_format(database, tmp_path, capsys):
    out = tmp_path / "out.xlsx"
    assert main(["export", "--db", database, "--format", "xlsx", "--out", str(out), "--user", "S01"]) == 2
    assert "argument --format: invalid choice: 'xlsx'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_cli_export_to_an_unwritable_path(database, tmp_path, capsys):
    out = tmp_path / "no-such-folder" / "survey.dta"
    assert main(["export", "--db", database, "--format", "dta", "--out", str(out), "--user", "S01"]) == 2
    assert f"cannot write '{out}'" in capsys.readouterr().err


# -- the page -----------------------------------------------------------------------------------

def test_the_export_page_offers_the_file_made_at_the_click(database, accounts, store, monkeypatch, tmp_path):
    from survey_app.pages import export_data as page

    monkeypatch.setenv("SURVEY_DB_URL", database)
    at = open_page(accounts, "S01", "pages/export_data.py", lang="en")
    assert not at.error
    assert at.checkbox(key="export_data_keep").disabled   # a statistician may not keep contact details
    at.radio(key="export_data_format").set_value("dta")
    at.radio(key="export_data_language").set_value("zh")
    clean(at.run())
    assert not at.error and len(at.get("download_button")) == 1
    # the button's deferred data: made only when clicked, as export_data makes it
    admin = accounts.get_user("chief")
    before = len(accounts.audit_log(admin))
    content = page._export_file(accounts.get_user("S01"), database, {
        "format": "dta", "language": "zh", "questionnaire_id": None, "wave": WAVE, "keep_personal_data": False,
        "settings": ReportSettings()})
    assert len(accounts.audit_log(admin)) == before + 1
    saved = tmp_path / "page.dta"
    saved.write_bytes(content)
    data, meta = pyreadstat.read_dta(saved)
    assert len(data) == len(store.responses_frame(wave=WAVE))
    assert meta.column_names_to_labels["sex"] == "性别"


def test_the_export_page_says_when_the_choice_holds_no_interviews(tmp_path, monkeypatch):
    from survey_app.i18n import t

    url = f"sqlite:///{tmp_path / 'two_waves.db'}"
    store = ResponseStore(url)
    rng = np.random.default_rng(3)
    stored(store, make_interviews("telecom_users", rng, per_psu=2, wave="2025"))
    stored(store, make_interviews("consumer_environment", rng, per_psu=2, wave="2026"))
    store.close()
    accounts = Accounts(url, hasher=FAST)
    make_users(accounts)
    monkeypatch.setenv("SURVEY_DB_URL", url)
    at = open_page(accounts, "S01", "pages/export_data.py", lang="en")
    assert len(at.get("download_button")) == 1   # all questionnaires, the latest wave (2026)
    at.selectbox(key="export_data_questionnaire").set_value("telecom_users")
    clean(at.run())
    assert [i.value for i in at.info] == [t("export_data.none_chosen", "en")] and not at.get("download_button")
    at.selectbox(key="export_data_wave").set_value("2025")
    clean(at.run())
    assert not at.info and len(at.get("download_button")) == 1
    accounts.close()


def test_date_and_datetime_questions_are_dates_in_every_format(tmp_path):
    from questionnaires import Choice, Group, Question, Questionnaire, Text
    from analysis.targets import Target
    from survey_app.reporting import build_report

    form = Questionnaire("visits", "1", Text("走访", "Visits"), (Group("main", Text("走访", "Visits"), (
        Question("select_one", "consent", Text("同意", "Consent"), list_name="yes_no"),
        Question("date", "visit_day", Text("走访日期", "Day of the visit")),
        Question("datetime", "visit_time", Text("走访时间", "Time of the visit")),
        Question("integer", "shops", Text("走访商户数", "Shops visited")))),),
        {"yes_no": (Choice("yes", Text("是", "Yes")), Choice("no", Text("否", "No")))})
    frame = pd.DataFrame({
        "interview_id": ["i1", "i2", "i3", "i4"], "questionnaire_id": "visits", "wave": WAVE,
        "sample_district": ["haimen", "haimen", "rugao", "rugao"], "psu": ["p1", "p2", "p3", "p4"],
        "visit_day": ["2026-10-01", "2026-10-02", None, "2026-10-04"],
        "visit_time": ["2026-10-01T08:30:00+08:00", None, "2026-10-03T09:00:00+00:00", "2026-10-04T23:15:00Z"],
        "shops": [3.0, 4.0, 2.0, 5.0], "consent": "yes", "district": ["haimen", "haimen", "rugao", "rugao"]})
    target = Target("shops_mean", Text("平均走访商户数", "Shops per visit"), "visits", "shops", "mean", "relevant",
                    3.0, "test", "test")
    tables = build_report(frame, targets=[target], questionnaires={"visits": form})
    data = exports.labelled_data(frame, tables, {"visits": form}, language="en")
    days = [pd.Timestamp("2026-10-01"), pd.Timestamp("2026-10-02"), pd.NaT, pd.Timestamp("2026-10-04")]
    times = [pd.Timestamp("2026-10-01 00:30"), pd.NaT, pd.Timestamp("2026-10-03 09:00"),
             pd.Timestamp("2026-10-04 23:15")]
    exports._WRITERS["sav"](data, tmp_path / "v.sav")
    sav, meta = pyreadstat.read_sav(tmp_path / "v.sav")
    assert meta.original_variable_types["visit_day"].startswith("DATE")
    assert meta.original_variable_types["visit_time"].startswith("DATETIME")
    assert [pd.Timestamp(v) if pd.notna(v) else pd.NaT for v in sav["visit_day"]] == days
    assert [pd.Timestamp(v) if pd.notna(v) else pd.NaT for v in sav["visit_time"]] == times
    exports._WRITERS["dta"](data, tmp_path / "v.dta")
    dta, meta = pyreadstat.read_dta(tmp_path / "v.dta")
    assert meta.original_variable_types["visit_day"] == "%td" and meta.original_variable_types["visit_time"] == "%tc"
    assert [pd.Timestamp(v) if pd.notna(v) else pd.NaT for v in dta["visit_day"]] == days
    exports._WRITERS["csv"](data, tmp_path / "v.zip")
    with zipfile.ZipFile(tmp_path / "v.zip") as bundle:
        csv = pd.read_csv(io.BytesIO(bundle.read("data.csv")), encoding="utf-8-sig", dtype=str)
    assert list(csv["visit_day"].fillna("")) == ["2026-10-01", "2026-10-02", "", "2026-10-04"]
    assert csv["visit_time"][0] == "2026-10-01 00:30:00"
