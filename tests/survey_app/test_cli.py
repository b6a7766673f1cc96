"""The ``survey-toolkit`` command line: the report for scheduled use, and clear errors with status 2."""
from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pandas as pd
import pytest
import yaml
from openpyxl import load_workbook

from analysis.targets import DEFAULT_TARGETS_FILE
from survey_app.cli import main
from survey_app.demo import demo_margins
from survey_app.margins import MarginsStore
from survey_app.reporting import ReportSettings, report_from_store
from survey_app.store import ResponseStore
from tests.survey_app.test_excel_report import FORMS, sheet_frame, simulate_answers, simulate_interviews

PROJECT_ROOT = Path(__file__).parent.parent.parent
QUESTIONNAIRES = ("consumer_environment", "telecom_users")
_CACHE: dict[str, str] = {}


@pytest.fixture
def db_url(rng, tmp_path_factory) -> str:
    """A small SQLite file of simulated interviews, built once per session (the rng is seeded)."""
    if "url" not in _CACHE:
        url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'survey.db'}"
        store = ResponseStore(url)
        simulate_interviews(store, rng, questionnaires=QUESTIONNAIRES, psu_sizes=(3, 4, 5))
        store.close()
        _CACHE["url"] = url
    return _CACHE["url"]


def test_report_writes_the_workbook_with_the_options_given(db_url, tmp_path, capsys):
    out = tmp_path / "report.xlsx"
    status = main(["report", "--db", db_url, "--out", str(out), "--level", "0.9", "--ci-method", "beta",
                   "--wave", "2026"])
    assert status == 0, capsys.readouterr().err
    assert capsys.readouterr().out.startswith(f"wrote {out}: 11 targets")
    assert [p.name for p in tmp_path.iterdir()] == ["report.xlsx"]  # no temporary file left behind
    workbook = load_workbook(out)
    summary = sheet_frame(workbook["汇总 Summary"], "目标 Target").set_index("目标 Target")
    store = ResponseStore(db_url)
    expected = report_from_store(store, settings=ReportSettings(level=0.9, ci_method="beta"), wave="2026").overview
    store.close()
    for target_id in ("consumer_environment_satisfaction", "telecom_user_satisfaction"):
        assert summary.loc[target_id, "置信下限 CI low"] == pytest.approx(expected.loc[target_id, "ci_low"], rel=1e-12)
        assert summary.loc[target_id, "估计值 Estimate"] == pytest.approx(expected.loc[target_id, "estimate"])
    assert summary.loc["salt_environment_satisfaction", "判定 Verdict"].endswith("no data")
    methods = sheet_frame(workbook["方法说明 Methods"], "项目 Item").set_index("项目 Item")["说明 Value"]
    assert methods["调查轮次 Wave"] == "2026"
    assert methods["置信区间 Confidence intervals"].startswith("0.9 level; proportions: beta")


def test_report_breaks_the_targets_down_by_the_domains_given(db_url, tmp_path, capsys):
    out = tmp_path / "report.xlsx"
    assert main(["report", "--db", db_url, "--out", str(out), "--domains", "district", "sex", "urban_rural"]) == 0
    workbook = load_workbook(out)
    sheet = workbook[next(n for n in workbook.sheetnames if n.startswith("T01 "))]
    # the "Domain" column of the target's table, wherever the workbook puts it
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    top = next(i for i, row in enumerate(rows) if "Domain" in row)
    column = rows[top].index("Domain")
    domains = [row[column] for row in rows[top + 1:] if row[column] is not None]
    store = ResponseStore(db_url)
    expected = report_from_store(store, settings=ReportSettings(domains=("district", "sex", "urban_rural")))
    store.close()
    assert domains == expected.domains["consumer_environment_satisfaction"]["domain_en"].tolist()
    assert domains[-4:] == ["Male", "Female", "Urban", "Rural"]


def test_report_of_a_wave_without_interviews_says_no_data(db_url, tmp_path, capsys):
    status = main(["report", "--db", db_url, "--out", str(tmp_path / "r.xlsx"), "--wave", "1999"])
    assert status == 0
    assert "(11 no data)" in capsys.readouterr().out


def test_report_rakes_to_the_margins_saved_in_the_database(rng, tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'weighted.db'}"
    store = ResponseStore(url)
    simulate_interviews(store, rng, questionnaires=("salt_consumers",), psu_sizes=(3, 4))
    store.close()
    out = tmp_path / "r.xlsx"
    assert main(["report", "--db", url, "--out", str(out), "--weighting", "rake"]) == 2
    assert "no population margins are saved" in capsys.readouterr().err
    margins_store = MarginsStore(url)
    margins_store.save(demo_margins())
    margins_store.close()
    assert main(["report", "--db", url, "--out", str(out), "--weighting", "rake"]) == 2
    assert "demonstration margins are not used" in capsys.readouterr().err
    assert main(["report", "--db", url, "--out", str(out), "--weighting", "rake", "--allow-demonstration-margins",
                 "--calibrate", "salt_consumers"]) == 0, capsys.readouterr().err
    methods = sheet_frame(load_workbook(out)["方法说明 Methods"], "项目 Item").set_index("项目 Item")["说明 Value"]
    assert methods["总体边际来源 Margins source"].startswith("DEMONSTRATION figures, not for publication")
    assert methods["加权调整 Weighting"].startswith("raked to the population margins of district, sex")


def bad_targets(tmp_path: Path) -> Path:
    entries = yaml.safe_load(DEFAULT_TARGETS_FILE.read_text(encoding="utf-8"))["targets"]
    entries[2]["success"] = ["4", "6"]
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump({"targets": entries}, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([], "required: COMMAND"),
        (["report"], "--out"),
        (["report", "--out", "{tmp}/r.xlsx", "--level", "1.5"], "1.5 is not between 0 and 1"),
        (["report", "--out", "{tmp}/r.xlsx", "--level", "abc"], "'abc' is not a number"),
        (["report", "--out", "{tmp}/r.xlsx", "--ci-method", "wald"], "invalid choice: 'wald'"),
        (["report", "--out", "{tmp}/r.xlsx", "--weighting", "ipf"], "invalid choice: 'ipf'"),
        (["report", "--out", "{tmp}/r.xlsx", "--domains", "gender"], "invalid choice: 'gender'"),
        (["report", "--out", "{tmp}/r.xlsx", "--db", "{db}", "--domains", "sex"], "include district"),
        (["report", "--out", "{tmp}/r.csv"], "ending in .xlsx"),
        (["report", "--out", "{tmp}/missing/r.xlsx"], "does not exist; create it first"),
        (["report", "--out", "{tmp}/r.xlsx", "--db", "sqlite:///{tmp}/none.db"], "none.db' does not exist"),
        (["report", "--out", "{tmp}/r.xlsx", "--db", "not a url"], "is not a database URL"),
        (["report", "--out", "{tmp}/r.xlsx", "--db", "{db}", "--targets", "{targets}"],
         "target 'campaign_recognition', field 'success'"),
        (["report", "--out", "{tmp}/r.xlsx", "--db", "{db}", "--calibrate", "telecom_users"],
         "need --weighting rake or poststratify"),
        (["report", "--out", "{tmp}/r.xlsx", "--db", "{db}", "--weighting", "rake", "--calibrate", "tourists"],
         "unknown questionnaires ['tourists']"),
        (["check-targets", "--targets", "{targets}"], "codes among 1, 2, 3, 4, 5"),
        (["check-targets", "--targets", "{tmp}/none.yaml"], "cannot read the targets file"),
    ],
)
def test_bad_arguments_give_a_message_and_status_2(db_url, tmp_path, capsys, arguments, message):
    values = {"tmp": tmp_path, "db": db_url, "targets": bad_targets(tmp_path)}
    status = main([a.format(**values) for a in arguments])
    err = capsys.readouterr().err
    assert status == 2
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "r.xlsx").exists()


def test_check_targets_lists_the_valid_targets(capsys):
    assert main(["check-targets"]) == 0
    out = capsys.readouterr().out
    assert "11 targets, all valid" in out
    assert "tourist_satisfaction_index: mean of tourist_satisfaction.tourist_score >= 80" in out


def test_the_command_runs_as_a_program_without_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "survey_app.cli", "report", "--out", str(tmp_path / "r.csv")],
                            capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=300)
    assert result.returncode == 2
    assert "ending in .xlsx" in result.stderr and "Traceback" not in result.stderr


def test_survey_toolkit_is_the_installed_entry_point():
    scripts = metadata.entry_points(group="console_scripts", name="survey-toolkit")
    assert [s.value for s in scripts] == ["survey_app.cli:main"]


@pytest.mark.parametrize("keep", [False, True])
def test_report_removes_contact_details_unless_asked_and_is_audited(rng, tmp_path, capsys, keep):
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path / 'survey.db'}"
    store = ResponseStore(url)
    simulate_interviews(store, rng, questionnaires=("consumer_environment",), psu_sizes=(2, 2))
    form = FORMS["consumer_environment"]
    answers = simulate_answers(form, "chongchuan", rng)
    answers["suggestions"] = "请联系我 139-1234-5678"
    interview = store.start_interview("consumer_environment", form.version, interviewer="T01",
                                      district="chongchuan", psu="chongchuan-0", wave="2026")
    store.submit(interview, form.clean(answers))
    store.close()
    out = tmp_path / "report.xlsx"
    arguments = ["report", "--db", url, "--out", str(out)] + (["--keep-contact-details"] if keep else [])
    assert main(arguments) == 0, capsys.readouterr().err
    cells = [str(cell.value) for sheet in load_workbook(out) for row in sheet.iter_rows() for cell in row
             if cell.value is not None]
    assert any("139-1234-5678" in c for c in cells) is keep
    with sa.create_engine(url).connect() as conn:
        rows = conn.execute(sa.text("SELECT actor, action, target FROM audit_log")).all()
    assert [(r.action, r.target) for r in rows] == [("export", str(out))]
    assert rows[0].actor.startswith("cli:")


# -- the wave reported, and the demonstration data (issue 13) -----------------------------------


@pytest.fixture
def two_waves(rng, tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'waves.db'}"
    store = ResponseStore(url)
    for wave, sizes in (("2025", (3, 4, 5)), ("2026", (2, 3))):
        simulate_interviews(store, rng, questionnaires=("consumer_environment",), psu_sizes=sizes, wave=wave)
    store.close()
    return url


def methods_of(path: Path) -> pd.Series:
    return sheet_frame(load_workbook(path)["方法说明 Methods"], "项目 Item").set_index("项目 Item")["说明 Value"]


def test_report_defaults_to_the_dashboards_wave_and_names_it(two_waves, tmp_path, capsys):
    from survey_app.reporting import counted_interviews, latest_wave

    store = ResponseStore(two_waves)
    assert latest_wave(counted_interviews(store)) == "2026"   # the dashboard opens on it
    latest = report_from_store(store, wave="2026").overview.loc["consumer_environment_satisfaction"]
    pooled = report_from_store(store).overview.loc["consumer_environment_satisfaction"]
    store.close()
    out = tmp_path / "latest.xlsx"
    assert main(["report", "--db", two_waves, "--out", str(out)]) == 0
    line = capsys.readouterr().out
    assert "; wave 2026 (the latest of: 2025, 2026; --wave all pools them)" in line
    summary = sheet_frame(load_workbook(out)["汇总 Summary"], "目标 Target").set_index("目标 Target")
    assert summary.loc["consumer_environment_satisfaction", "分母样本量 n"] == latest["n"] != pooled["n"]
    assert methods_of(out)["调查轮次 Wave"] == "2026"
    assert main(["report", "--db", two_waves, "--out", str(out), "--wave", "all"]) == 0
    assert "; all waves pooled (2025, 2026)" in capsys.readouterr().out
    summary = sheet_frame(load_workbook(out)["汇总 Summary"], "目标 Target").set_index("目标 Target")
    assert summary.loc["consumer_environment_satisfaction", "分母样本量 n"] == pooled["n"]
    assert methods_of(out)["调查轮次 Wave"] == "all waves pooled"
    assert main(["report", "--db", two_waves, "--out", str(out), "--wave", "2025"]) == 0
    assert "; wave 2025 (stored waves: 2025, 2026)" in capsys.readouterr().out


def test_demo_load_report_and_remove_from_the_command_line(two_waves, tmp_path, capsys):
    from survey_app.demo import demo_database_exists, demo_database_url

    real_before = ResponseStore(two_waves).responses_frame()
    assert main(["demo", "load", "--db", two_waves]) == 0
    captured = capsys.readouterr()
    assert "loading the demonstration data set: 100%" in captured.err
    assert "3840 synthetic interviews" in captured.out and "the real database is unchanged" in captured.out
    assert demo_database_exists(two_waves)
    pd.testing.assert_frame_equal(ResponseStore(two_waves).responses_frame(), real_before)
    # the real report knows nothing of the demo; --demo reports the demo database, labelled
    out = tmp_path / "r.xlsx"
    assert main(["report", "--db", two_waves, "--out", str(out)]) == 0
    assert "DEMONSTRATION" not in capsys.readouterr().out
    assert main(["report", "--db", two_waves, "--demo", "--out", str(out)]) == 0
    line = capsys.readouterr().out
    assert line.startswith("DEMONSTRATION DATA") and "wave 2026 (the latest of: 2025, 2026" in line
    assert methods_of(out)["数据来源 Data source"] == demo_database_url(two_waves)
    assert main(["demo", "remove", "--db", two_waves]) == 0
    assert "Demo data set removed: deleted the demo database" in capsys.readouterr().out
    assert not demo_database_exists(two_waves)
    pd.testing.assert_frame_equal(ResponseStore(two_waves).responses_frame(), real_before)
    assert main(["demo", "remove", "--db", two_waves]) == 0
    assert "nothing to remove" in capsys.readouterr().out
    assert main(["report", "--db", two_waves, "--demo", "--out", str(out)]) == 2
    assert "load it first with survey-toolkit demo load" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["demo"], "required: ACTION"),
        (["demo", "clear"], "invalid choice: 'clear'"),
        (["demo", "load", "--db", "sqlite:///{tmp}/none.db"], "none.db' does not exist"),
        (["demo", "remove", "--db", "not a url"], "is not a database URL"),
        (["demo", "load", "--db", "sqlite://"], "in-memory SQLite database"),
        (["demo", "load", "--db", "sqlite:///{tmp}/survey.demo.db"], "is a demo database itself"),
    ],
)
def test_demo_errors_give_one_line_and_status_2(tmp_path, capsys, arguments, message):
    (tmp_path / "survey.demo.db").touch()
    assert main([a.format(tmp=tmp_path) for a in arguments]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "none.demo.db").exists()


def test_demo_help_says_where_the_demo_lives(capsys):
    assert main(["demo", "load", "--help"]) == 0
    assert "REAL response database" in capsys.readouterr().out
