"""The ``survey-toolkit`` command: the Excel satisfaction report for scheduled use, and the
demonstration data set.

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

Check an edited targets file::

    survey-toolkit check-targets --targets my_targets.yaml

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
    return parser


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
    from analysis.targets import load_targets
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
    settings = _settings(args, url)
    store = ResponseStore(url, questionnaires=questionnaires)
    try:
        counted = counted_interviews(store)
        stored = waves_of(counted)
        # the dashboard's rule, so both start on the same numbers
        wave = None if args.wave == ALL_WAVES else args.wave or latest_wave(counted)
        tables = report_from_store(store, settings=settings, targets=targets, wave=wave,
                                   questionnaires=questionnaires,
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


def _check_targets(args: argparse.Namespace) -> int:
    from analysis.targets import DEFAULT_TARGETS_FILE, load_targets
    from survey_app.formatting import format_percent

    targets = load_targets(args.targets)
    print(f"{args.targets or DEFAULT_TARGETS_FILE}: {len(targets)} targets, all valid")
    for t in targets:
        threshold = format_percent(t.threshold) if t.statistic == "proportion" else f"{t.threshold:g}"
        print(f"  {t.id}: {t.statistic} of {t.questionnaire}.{t.question} >= {threshold} ({t.label.zh})")
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
