"""The ``survey-toolkit`` command: the Excel satisfaction report for scheduled use, data exports
with labels, and the demonstration data set.

Examples
--------
Write the report of the latest wave (the one the dashboard opens on); ``--wave all`` pools
every wave::

    survey-toolkit report --db sqlite:///data/survey.db --out report.xlsx

Write the report of wave 2026 with 90% intervals::

    survey-toolkit report --db sqlite:///data/survey.db --out report.xlsx --level 0.9 --wave 2026

Rake to the population margins last saved in the app (statistician's page)::

    survey-toolkit report --db postgresql://user@host/survey --out report.xlsx --weighting rake \\
        --calibrate consumer_environment campaign_awareness public_services salt_consumers telecom_users

Break every target down by district, sex and age group as well::

    survey-toolkit report --db sqlite:///data/survey.db --out report.xlsx --domains district sex age_group

Every target's change between two waves, city-wide and by district and sex (``.csv`` or ``.xlsx``)::

    survey-toolkit compare --db sqlite:///data/survey.db --waves 2025 2026 --domains district sex --out change.csv

Check an edited targets file::

    survey-toolkit check-targets --targets my_targets.yaml

Export the latest wave with labels for SPSS (``dta`` Stata, ``csv`` CSV and codebook, ``r`` the
CSV with an R script that reproduces the report's estimates), as the account S01::

    survey-toolkit export --db sqlite:///data/survey.db --format sav --out survey.sav --language en --user S01

Import sample-inspection records (all rows or none) and enter an administrative figure::

    survey-toolkit inspections import --db sqlite:///data/survey.db food_2026q1.csv
    survey-toolkit figures set bank_participation_rate --numerator 41 --denominator 60 --as-of 2026-06-30 \\
        --source "市金融办 2026年6月统计表"

Load the demonstration data set into its own database beside the real one (the results pages
show it when "show demonstration data" is on), and remove it again::

    survey-toolkit demo load --db sqlite:///data/survey.db
    survey-toolkit demo remove --db sqlite:///data/survey.db

Bad arguments and unusable input print one message on stderr and exit with status 2; a
traceback only ever means a bug.
"""
from __future__ import annotations

import argparse
import getpass
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from analysis import CI_METHODS, SurveyError
from questionnaires import QuestionnaireError
from survey_app.errors import SurveyAppError

__all__ = ["main", "build_parser", "CliError"]

PROGRAM = "survey-toolkit"
USAGE_ERROR = 2


class CliError(SurveyAppError, ValueError):
    """A command-line argument that cannot be used; the message says how to fix it."""


def _level(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give a confidence level such as 0.95") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1; give a confidence level such as 0.95")
    return value


#: ``--wave`` value that pools every wave.
ALL_WAVES = "all"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``survey-toolkit`` (sub-commands ``report``, ``check-targets`` and ``demo``)."""
    from survey_app.reporting import DOMAIN_VARIABLES, WEIGHTINGS

    parser = argparse.ArgumentParser(
        prog=PROGRAM, description="Survey toolkit of Nantong's 放心消费 plan: satisfaction report and targets.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    report = commands.add_parser(
        "report", help="write the Excel satisfaction report",
        description="Estimate every target from the submitted interviews and write the Excel report.")
    report.add_argument("--db", metavar="URL",
                        help="SQLAlchemy URL of the response database (default: SURVEY_DB_URL, else data/survey.db)")
    report.add_argument("--out", metavar="FILE", required=True, type=Path, help="the .xlsx file to write")
    report.add_argument("--level", type=_level, default=0.95, help="confidence level (default 0.95)")
    report.add_argument("--ci-method", choices=CI_METHODS, default="logit",
                        help="interval of a proportion, as R's svyciprop (default logit)")
    report.add_argument("--wave", metavar="W",
                        help=f"the wave to report (default: the latest stored wave, as the dashboard; "
                        f"'{ALL_WAVES}' pools every wave)")
    report.add_argument("--demo", action="store_true",
                        help="report the demonstration database of --db instead of the real data (labelled so)")
    report.add_argument("--keep-contact-details", action="store_true",
                        help="keep phone numbers and e-mail addresses in free-text answers (default: removed)")
    report.add_argument("--targets", metavar="FILE", type=Path,
                        help="targets file (default: questionnaires/targets.yaml)")
    report.add_argument("--weighting", choices=WEIGHTINGS, default="none",
                        help="calibrate the weights to the population margins saved in the database (default none)")
    report.add_argument("--calibrate", metavar="QUESTIONNAIRE", nargs="+",
                        help="questionnaires to calibrate (default: all; leave out surveys of visitors)")
    report.add_argument("--domains", nargs="+", choices=DOMAIN_VARIABLES, default=["district"], metavar="VARIABLE",
                        help=f"breakdowns of each target's sheet, among {', '.join(DOMAIN_VARIABLES)}; "
                        "must include district (default: district)")
    report.add_argument("--allow-demonstration-margins", action="store_true",
                        help="accept margins saved as demonstration figures (never for published estimates)")
    report.set_defaults(handler=_report)

    check = commands.add_parser("check-targets", help="check a targets file against the questionnaires",
                                description="Load a targets file, check every field, list the targets.")
    check.add_argument("--targets", metavar="FILE", type=Path,
                       help="targets file (default: questionnaires/targets.yaml)")
    check.set_defaults(handler=_check_targets)

    demo = commands.add_parser(
        "demo", help="load or remove the demonstration data set",
        description="The demonstration data set (synthetic interviews and demonstration margins) lives in its own "
        "database beside the real one (data/survey.db -> data/survey.demo.db); the real database never holds it.")
    actions = demo.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, text in (("load", "create the demo database and load the synthetic interviews and demonstration "
                                "margins"),
                       ("remove", "delete the demo database, and any demo interviews and demonstration margins an "
                                  "earlier version put into the real database; real interviews stay")):
        action = actions.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        action.add_argument("--db", metavar="URL", help="SQLAlchemy URL of the REAL response database (default: "
                            "SURVEY_DB_URL, else data/survey.db); the demo database sits beside it")
        action.set_defaults(handler=_demo_load if name == "load" else _demo_remove)
    _add_export_parser(commands)
    _add_inspection_parsers(commands)
    _add_compare_parser(commands)
    return parser


def _add_export_parser(commands) -> None:
    """``survey-toolkit export``: the interviews with labels for SPSS, Stata or R (survey_app.exports)."""
    from survey_app.exports import EXPORT_FORMATS, LABEL_LANGUAGES
    from survey_app.reporting import WEIGHTINGS

    export = commands.add_parser(
        "export", help="export the interviews with labels for SPSS, Stata or R",
        description="Export the interviews the report counts, with variable and value labels and the design "
        "variables: sav (SPSS), dta (Stata), csv (a zip of data.csv and its codebook) or r (a zip with the CSV, "
        "the codebook and analysis.R, which builds the svydesign and reproduces the report's estimates). "
        "Contact details are removed from free-text answers unless --keep-personal-data is given by a user "
        "allowed to keep them; every export is written to the audit log.")
    export.add_argument("--db", metavar="URL",
                        help="SQLAlchemy URL of the response database (default: SURVEY_DB_URL, else data/survey.db)")
    export.add_argument("--format", choices=EXPORT_FORMATS, required=True, help="file format")
    export.add_argument("--out", metavar="PATH", required=True, type=Path,
                        help="the file to write: .sav, .dta, or .zip for csv and r")
    export.add_argument("--language", choices=LABEL_LANGUAGES, default="zh",
                        help="language of the labels (default zh; the codebook has both)")
    export.add_argument("--questionnaire", metavar="ID", help="only this questionnaire's interviews (default: all)")
    export.add_argument("--wave", metavar="W",
                        help=f"the wave to export (default: the latest stored wave, as the report; "
                        f"'{ALL_WAVES}' pools every wave)")
    export.add_argument("--keep-personal-data", action="store_true",
                        help="keep contact details in free-text answers (needs an administrator's right)")
    export.add_argument("--user", metavar="NAME", required=True,
                        help="the account exporting: needs the export right, recorded in the audit log")
    export.add_argument("--level", type=_level, default=0.95, help="confidence level of the R script (default 0.95)")
    export.add_argument("--ci-method", choices=CI_METHODS, default="logit",
                        help="interval of a proportion, as R's svyciprop (default logit)")
    export.add_argument("--weighting", choices=WEIGHTINGS, default="none",
                        help="calibrate the weights to the saved population margins: adds calibrated_weight "
                        "(default none)")
    export.add_argument("--calibrate", metavar="QUESTIONNAIRE", nargs="+",
                        help="questionnaires to calibrate (default: all)")
    export.add_argument("--allow-demonstration-margins", action="store_true",
                        help="accept margins saved as demonstration figures (never for published estimates)")
    export.set_defaults(handler=_export, domains=["district"])


def _database_url(url: str | None) -> str:
    from survey_app.store import default_url

    url = url if url is not None else default_url()
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise CliError(f"--db {url!r} is not a database URL; write e.g. sqlite:///data/survey.db or "
                       "postgresql://user@host/dbname") from None
    # An SQLite URL naming a missing file would silently create an empty database.
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:") \
            and not Path(parsed.database).is_file():
        raise CliError(f"--db: the SQLite file {parsed.database!r} does not exist; check the path")
    return url


def _output_path(path: Path) -> Path:
    if path.suffix.lower() != ".xlsx":
        raise CliError(f"--out {str(path)!r}: the report is an Excel workbook; give a file name ending in .xlsx")
    if not path.parent.is_dir():
        raise CliError(f"--out {str(path)!r}: the directory {str(path.parent)!r} does not exist; create it first")
    if path.is_dir():
        raise CliError(f"--out {str(path)!r} is a directory; give a file name ending in .xlsx")
    return path


def _settings(args: argparse.Namespace, url: str):
    from survey_app.reporting import ReportSettings

    if "district" not in args.domains or len(set(args.domains)) != len(args.domains):
        raise CliError(f"--domains {' '.join(args.domains)}: name each variable once and include district "
                       "(the district verdicts rest on it), e.g. --domains district sex")
    if args.weighting == "none":
        if args.calibrate or args.allow_demonstration_margins:
            raise CliError("--calibrate and --allow-demonstration-margins need --weighting rake or poststratify")
        return ReportSettings(ci_method=args.ci_method, level=args.level, domains=tuple(args.domains))
    from survey_app.margins import MarginsStore
    from survey_app.reporting import margins_source

    margins_store = MarginsStore(url)
    try:
        saved = margins_store.latest(include_demonstration=args.allow_demonstration_margins)
    finally:
        margins_store.close()
    if saved is None:
        raise CliError(f"--weighting {args.weighting}: no population margins are saved in the database"
                       + ("" if args.allow_demonstration_margins else " (demonstration margins are not used)")
                       + "; upload them on the app's weighting page first")
    if args.weighting == "rake":
        margins = saved.rake_margins()
    else:
        if len(saved.variables) != 1:
            raise CliError(f"--weighting poststratify takes one variable, the saved margins have "
                           f"{', '.join(saved.variables)}; use --weighting rake")
        margins = {var: dict(cats) for var, cats in saved.counts.items()}
    return ReportSettings(ci_method=args.ci_method, level=args.level, weighting=args.weighting, margins=margins,
                          calibrate=tuple(args.calibrate) if args.calibrate else None,
                          margins_source=margins_source(saved), domains=tuple(args.domains),
                          demonstration_margins=saved.demonstration)


def _report(args: argparse.Namespace) -> int:
    from analysis.targets import load_index_targets, load_targets
    from questionnaires import shipped_questionnaires
    from survey_app.auth import audit
    from survey_app.excel import write_report
    from survey_app.demo import demo_database_exists, demo_database_url
    from survey_app.reporting import counted_interviews, latest_wave, report_from_store, waves_of
    from survey_app.store import ResponseStore

    out = _output_path(args.out)
    url = _database_url(args.db)
    real_url = url
    if args.demo:
        if not demo_database_exists(url):
            raise CliError(f"--demo: no demonstration database belongs to {_shown(url)}; load it first with "
                           "survey-toolkit demo load")
        url = demo_database_url(url)
    questionnaires = shipped_questionnaires()
    if args.calibrate:
        unknown = [q for q in args.calibrate if q not in questionnaires]
        if unknown:
            raise CliError(f"--calibrate: unknown questionnaires {unknown}; use among {', '.join(questionnaires)}")
    targets = load_targets(args.targets, questionnaires=questionnaires)
    indices = load_index_targets(args.targets, questionnaires=questionnaires)
    settings = _settings(args, url)
    store = ResponseStore(url, questionnaires=questionnaires)
    try:
        counted = counted_interviews(store)
        stored = waves_of(counted)
        # the dashboard's rule, so both start on the same numbers
        wave = None if args.wave == ALL_WAVES else args.wave or latest_wave(counted)
        tables = report_from_store(store, settings=settings, targets=targets, wave=wave,
                                   questionnaires=questionnaires, indices=indices,
                                   contact_details="keep" if args.keep_contact_details else "remove")
    finally:
        store.close()
    # Written next to the target and renamed, so a scheduled run never leaves half a workbook.
    handle, temporary = tempfile.mkstemp(suffix=".xlsx", dir=out.parent)
    os.close(handle)
    try:
        write_report(tables, temporary)
        os.replace(temporary, out)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    audit(f"cli:{getpass.getuser()}", "export", str(out),
          {"wave": wave or ALL_WAVES, "contact_details": "keep" if args.keep_contact_details else "remove",
           "demonstration": tables.demonstration}, url=real_url)
    print(_report_summary(tables, out, stored))
    return 0


def _report_summary(tables, out: Path, stored: Sequence[str]) -> str:
    """One line: the file, the verdicts, the wave(s) reported; labelled when demonstration data went in."""
    counts = tables.overview["verdict"].value_counts()
    verdicts = ", ".join(f"{counts[v]} {v}" for v in ("met", "not met", "inconclusive", "no data") if v in counts)
    known = ", ".join(stored) or "none"
    if tables.wave is None:
        waves = f"all waves pooled ({known})"
    elif stored and tables.wave == stored[-1]:
        waves = f"wave {tables.wave} (the latest of: {known}; --wave {ALL_WAVES} pools them)"
    else:
        waves = f"wave {tables.wave} (stored waves: {known})"
    line = f"wrote {out}: {len(tables.overview)} targets ({verdicts}); {waves}"
    if tables.demonstration:
        line = "DEMONSTRATION DATA (synthetic or demonstration margins, not for publication): " + line
    return line


def _shown(url: str) -> str:
    from survey_app.store import display_url

    return display_url(url)


def _progress(what: str):
    """A progress callback printing ``what: 10%`` ... ``100%`` on stderr, each tenth once."""
    shown = [-1]

    def report(fraction: float) -> None:
        tenth = int(fraction * 10 + 1e-9)
        if tenth > shown[0]:
            shown[0] = tenth
            print(f"{what}: {tenth * 10}%", file=sys.stderr, flush=True)

    return report


def _demo_load(args: argparse.Namespace) -> int:
    from survey_app.auth import audit
    from survey_app.demo import demo_database_url, load_demo_database

    url = _database_url(args.db)
    demo_url = demo_database_url(url)
    result = load_demo_database(url, progress=_progress("loading the demonstration data set"))
    audit(f"cli:{getpass.getuser()}", "demo_load", _shown(demo_url), {"interviews": result.n_interviews}, url=url)
    print(f"{result.summary()}\n  into the demo database {_shown(demo_url)} (the real database is unchanged)")
    return 0


def _demo_remove(args: argparse.Namespace) -> int:
    from survey_app.auth import audit
    from survey_app.demo import remove_demo

    url = _database_url(args.db)
    result = remove_demo(url)
    audit(f"cli:{getpass.getuser()}", "demo_remove", _shown(url),
          {"database": result.database, "interviews": result.interviews, "margins": result.margins}, url=url)
    print(result.summary())
    return 0


def _export(args: argparse.Namespace) -> int:
    from survey_app.auth import Accounts
    from survey_app.exports import export_data
    from survey_app.reporting import counted_interviews, latest_wave
    from survey_app.store import ResponseStore

    url = _database_url(args.db)
    settings = _settings(args, url)
    accounts = Accounts(url)
    store = ResponseStore(url)
    try:
        user = accounts.get_user(args.user)
        wave = None if args.wave == ALL_WAVES else args.wave or latest_wave(counted_interviews(store))
        result = export_data(accounts, user, store, args.out, format=args.format, language=args.language,
                             questionnaire_id=args.questionnaire, wave=wave,
                             keep_personal_data=args.keep_personal_data, settings=settings,
                             progress=_progress(f"exporting {args.out.name}"))
    finally:
        store.close()
        accounts.close()
    print(result.summary())
    return 0


def _check_targets(args: argparse.Namespace) -> int:
    from analysis.targets import DEFAULT_TARGETS_FILE, load_targets
    from survey_app.formatting import format_percent

    targets = load_targets(args.targets)
    print(f"{args.targets or DEFAULT_TARGETS_FILE}: {len(targets)} targets, all valid")
    for t in targets:
        threshold = format_percent(t.threshold) if t.statistic == "proportion" else f"{t.threshold:g}"
        print(f"  {t.id}: {t.statistic} of {t.questionnaire}.{t.question} >= {threshold} ({t.label.zh})")
    from analysis.targets import load_index_targets   # issue 16: the indices of the same file

    for index in load_index_targets(args.targets):
        weights = "fixed" if isinstance(index.weights, dict) else index.weights
        goal = f" >= {index.threshold:g} points" if index.threshold is not None else " (no threshold)"
        print(f"  {index.id}: index of {index.questionnaire} ({', '.join(c.name for c in index.components)}; "
              f"weights {weights}){goal} ({index.label.zh})")
    return 0


# -- issue 19: inspection records and administrative figures ------------------------------------


def _date(text: str):
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; write it as 2026-06-30") from None


def _add_inspection_parsers(commands) -> None:
    """``survey-toolkit inspections import|rates`` and ``survey-toolkit figures set|list``."""
    db_help = "SQLAlchemy URL of the response database (default: SURVEY_DB_URL, else data/survey.db)"
    inspections = commands.add_parser(
        "inspections", help="import sample-inspection records and show pass rates",
        description="Inspection records (抽检): one row per sample with sample_id, category, district, date, "
        "result (pass/fail) and optionally failed_item, stratum, weight or selection_probability. A file is "
        "checked row by row and stored only if every row is clean; each problem is listed with its row.")
    actions = inspections.add_subparsers(dest="action", required=True, metavar="ACTION")
    load = actions.add_parser("import", help="check an inspection file (.csv or .xlsx) and store all its rows, or "
                              "none", description="Check an inspection file and store all its rows, or none.")
    load.add_argument("--db", metavar="URL", help=db_help)
    load.add_argument("file", metavar="FILE", type=Path, help="the .csv or .xlsx file")
    load.set_defaults(handler=_inspections_import)
    rates = actions.add_parser("rates", help="the pass rate of every inspection target with its interval",
                               description="Pass rates with exact (binom.test) or design-based (svyciprop beta) "
                               "intervals and verdicts.")
    rates.add_argument("--db", metavar="URL", help=db_help)
    rates.add_argument("--by", choices=("district", "period"), help="a breakdown beside the overall rate")
    rates.add_argument("--period", choices=("year", "quarter", "month"), default="year",
                       help="the period of --by period (default year)")
    rates.add_argument("--level", type=_level, default=0.95, help="confidence level (default 0.95)")
    rates.set_defaults(handler=_inspections_rates)

    figures = commands.add_parser(
        "figures", help="enter or list administrative figures of the plan's register targets",
        description="Administrative figures (registers, counts; no sampling): every entry is kept with its as-of "
        "date, source document and who entered it, and written to the audit log.")
    actions = figures.add_subparsers(dest="action", required=True, metavar="ACTION")
    enter = actions.add_parser("set", help="enter a new value of a register target",
                               description="Enter a new value: --numerator and --denominator for a rate or ratio, "
                               "--count for a count.")
    enter.add_argument("--db", metavar="URL", help=db_help)
    enter.add_argument("target", metavar="TARGET", help="the target's id (survey-toolkit figures list shows them)")
    enter.add_argument("--numerator", type=float)
    enter.add_argument("--denominator", type=float)
    enter.add_argument("--count", type=float)
    enter.add_argument("--as-of", type=_date, required=True, help="the date the figure describes (YYYY-MM-DD)")
    enter.add_argument("--source", required=True, help="the document the figure comes from")
    enter.set_defaults(handler=_figures_set)
    show = actions.add_parser("list", help="the register targets and their current values, or one target's history",
                              description="The register targets with their latest values and verdicts; with "
                              "--target, every entry of that target, newest first.")
    show.add_argument("--db", metavar="URL", help=db_help)
    show.add_argument("--target", metavar="TARGET", help="show this target's history")
    show.set_defaults(handler=_figures_list)


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise CliError(f"cannot read {path}: {error.strerror or error}; check the path") from None


def _inspections_import(args: argparse.Namespace) -> int:
    from survey_app.inspections import InspectionStore, import_inspections

    store = InspectionStore(_database_url(args.db))
    try:
        result = import_inspections(store, _read_file(args.file), args.file.name, actor=f"cli:{getpass.getuser()}")
    finally:
        store.close()
    print(result.summary())
    return 0


def _inspections_rates(args: argparse.Namespace) -> int:
    from survey_app.inspections import InspectionStore, inspection_pass_rates

    store = InspectionStore(_database_url(args.db))
    try:
        records = store.records()
    finally:
        store.close()
    print(inspection_pass_rates(records, by=args.by, period=args.period, level=args.level).summary())
    return 0


def _figures_set(args: argparse.Namespace) -> int:
    from survey_app.admin_figures import FiguresStore, register_targets, set_figure

    store = FiguresStore(_database_url(args.db))
    try:
        figure = set_figure(store, args.target, numerator=args.numerator, denominator=args.denominator,
                            count=args.count, as_of=args.as_of, source=args.source, actor=f"cli:{getpass.getuser()}")
    finally:
        store.close()
    target = register_targets()[args.target]
    print(f"{target.id} = {figure.value:g} as of {figure.as_of.isoformat()} ({figure.source}): "
          f"{figure.verdict(target)} (target {target.direction} {target.threshold:g})")
    return 0


def _figures_list(args: argparse.Namespace) -> int:
    from survey_app.admin_figures import FiguresStore, register_targets

    targets = register_targets()
    if args.target is not None and args.target not in targets:
        raise CliError(f"--target {args.target!r} is not a register target; use one of {', '.join(targets)}")
    store = FiguresStore(_database_url(args.db))
    try:
        if args.target is not None:
            history = store.history(args.target)
            print(f"{args.target}: {len(history)} entries, newest first")
            for row in history.itertuples(index=False):
                print(f"  {row.value:g} as of {row.as_of.isoformat()} ({row.source}), entered by {row.entered_by} "
                      f"at {row.entered_at:%Y-%m-%d %H:%M} UTC")
            return 0
        latest = store.latest()
    finally:
        store.close()
    for target in targets.values():
        figure = latest.get(target.id)
        value = (f"{figure.value:g} as of {figure.as_of.isoformat()}: {figure.verdict(target)}" if figure
                 else "no data yet")
        print(f"  {target.id} ({target.measure} {target.direction} {target.threshold:g}): {value}")
    return 0


# -- issue 15: the change between two waves -----------------------------------------------------

def _add_compare_parser(commands) -> None:
    """``survey-toolkit compare``: every target's change between two waves (survey_app.change)."""
    from survey_app.reporting import WEIGHTINGS

    compare = commands.add_parser(
        "compare", help="the change of every target between two waves, as .xlsx or .csv",
        description="Stack two waves' interviews into one design (strata = wave x district, the PSUs of each "
        "wave apart, each wave calibrated to the margins on its own) and write every target's change, city-wide "
        "and by domain, with its SE, interval, p-value and significance (district p-values Holm-adjusted). "
        "Targets whose definition changed between the waves and waves with too few respondents are not "
        "compared; the reason column says why.")
    compare.add_argument("--db", metavar="URL",
                         help="SQLAlchemy URL of the response database (default: SURVEY_DB_URL, else data/survey.db)")
    compare.add_argument("--waves", nargs="+", metavar="W", required=True,
                         help="the earlier and the later wave, e.g. --waves 2025 2026")
    compare.add_argument("--domains", nargs="*", default=["district"], metavar="VARIABLE",
                         help="breakdowns besides the whole city (default: district; none: city-wide only)")
    compare.add_argument("--level", type=_level, default=0.95, help="confidence level (default 0.95)")
    compare.add_argument("--ci-method", choices=CI_METHODS, default="logit",
                         help="interval of each wave's proportion, as R's svyciprop (default logit)")
    compare.add_argument("--weighting", choices=WEIGHTINGS, default="none",
                         help="calibrate each wave to the population margins saved in the database (default none)")
    compare.add_argument("--calibrate", metavar="QUESTIONNAIRE", nargs="+",
                         help="questionnaires to calibrate (default: all; leave out surveys of visitors)")
    compare.add_argument("--allow-demonstration-margins", action="store_true",
                         help="accept margins saved as demonstration figures (never for published estimates)")
    compare.add_argument("--targets", metavar="FILE", type=Path,
                         help="targets file (default: questionnaires/targets.yaml)")
    compare.add_argument("--demo", action="store_true",
                         help="compare in the demonstration database of --db instead of the real data")
    compare.add_argument("--out", metavar="FILE", required=True, type=Path, help="the .xlsx or .csv file to write")
    compare.set_defaults(handler=_compare)


#: Columns ``survey-toolkit compare`` writes, in order.
COMPARE_COLUMNS = ("target", "label_zh", "label_en", "statistic", "domain_variable", "domain", "domain_zh",
                   "domain_en", "wave_a", "estimate_a", "wave_b", "estimate_b", "difference", "se", "ci_low",
                   "ci_high", "df", "p_value", "p_adjusted", "significant", "direction", "n_a", "n_b", "status",
                   "reason")


def _compare(args: argparse.Namespace) -> int:
    from analysis.targets import load_targets
    from questionnaires import shipped_questionnaires
    from survey_app.cellsafe import csv_bytes, xlsx_bytes
    from survey_app.change import ChangeError, library_versions, wave_changes
    from survey_app.demo import demo_database_exists, demo_database_url
    from survey_app.reporting import DOMAIN_VARIABLES, counted_interviews, waves_of, with_stored_design_weights
    from survey_app.store import ResponseStore

    out = args.out
    if out.suffix.lower() not in (".xlsx", ".csv"):
        raise CliError(f"--out {str(out)!r}: give a file name ending in .xlsx or .csv")
    if out.is_dir() or not out.parent.is_dir():
        raise CliError(f"--out {str(out)!r}: the directory {str(out.parent)!r} does not exist or the name is a "
                       "directory; give a file name in an existing directory")
    url = _database_url(args.db)
    if args.demo:
        if not demo_database_exists(url):
            raise CliError(f"--demo: no demonstration database belongs to {_shown(url)}; load it first with "
                           "survey-toolkit demo load")
        url = demo_database_url(url)
    questionnaires = shipped_questionnaires()
    if args.calibrate:
        unknown = [q for q in args.calibrate if q not in questionnaires]
        if unknown:
            raise CliError(f"--calibrate: unknown questionnaires {unknown}; use among {', '.join(questionnaires)}")
    targets = load_targets(args.targets, questionnaires=questionnaires)
    # the report's weighting rules; the breakdowns are the compare command's own
    settings = _settings(argparse.Namespace(**{**vars(args), "domains": ["district"]}), url)
    store = ResponseStore(url, questionnaires=questionnaires)
    try:
        counted = counted_interviews(store)
        stored = waves_of(counted)
        shown = ", ".join(stored) or "none"
        unknown = [w for w in args.waves if w not in stored]
        if unknown:
            raise CliError(f"--waves: {', '.join(unknown)} not stored; waves stored: {shown}")
        if len(args.waves) != 2 or args.waves[0] == args.waves[1]:
            raise CliError(f"--waves {' '.join(args.waves)}: give two different waves, the earlier first; waves "
                           f"stored: {shown}")
        present = [d for d in DOMAIN_VARIABLES if d in counted.columns and counted[d].notna().any()]
        missing = [d for d in args.domains if d not in present]
        if missing or len(set(args.domains)) != len(args.domains):
            raise CliError(f"--domains: {', '.join(missing or args.domains)} not usable (name each once); domain "
                           f"variables in the data: {', '.join(present) or 'none'}")
        chosen = counted.iloc[counted["wave"].astype(str).isin(args.waves).to_numpy().nonzero()[0]]
        responses = with_stored_design_weights(chosen, url=url)
        try:
            changes = wave_changes(responses, waves=list(args.waves), settings=settings, targets=targets,
                                   questionnaires=questionnaires, domains=tuple(args.domains),
                                   versions=library_versions(url))
        except ChangeError as error:
            raise CliError(str(error)) from None
    finally:
        store.close()
    table = changes[list(COMPARE_COLUMNS)]
    data = csv_bytes(table) if out.suffix.lower() == ".csv" else xlsx_bytes({"change": table})
    # written next to the target and renamed: an error never leaves half a file
    handle, temporary = tempfile.mkstemp(suffix=out.suffix, dir=out.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, out)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    overall = table[table["domain_variable"] == "overall"]
    compared = overall[overall["status"] == "compared"]
    print(f"wrote {out}: {len(table)} rows, waves {args.waves[0]} -> {args.waves[1]}; city-wide: "
          f"{int((compared['direction'] == 'up').sum())} rose and {int((compared['direction'] == 'down').sum())} "
          f"fell significantly, {int((compared['direction'] == 'no change').sum())} no significant change, "
          f"{len(overall) - len(compared)} not compared")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``survey-toolkit``; return the exit status (0 success, 2 bad arguments or input).

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default ``sys.argv[1:]``).
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse has printed the usage and the message
        return int(exit_.code or 0)
    try:
        return args.handler(args)
    except (SurveyAppError, SurveyError, QuestionnaireError) as error:
        print(f"{PROGRAM} {args.command}: error: {error}", file=sys.stderr)
        return USAGE_ERROR


if __name__ == "__main__":
    sys.exit(main())
