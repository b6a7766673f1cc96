"""The ``survey-toolkit`` command: the Excel satisfaction report for scheduled use.

Examples
--------
Write the report of wave 2026 with 90% intervals::

    survey-toolkit report --db sqlite:///data/survey.db --out report.xlsx --level 0.9 --wave 2026

Rake to the population margins last saved in the app (statistician's page)::

    survey-toolkit report --db postgresql://user@host/survey --out report.xlsx --weighting rake \\
        --calibrate consumer_environment campaign_awareness public_services salt_consumers telecom_users

Break every target down by district, sex and age group as well::

    survey-toolkit report --db sqlite:///data/survey.db --out report.xlsx --domains district sex age_group

Check an edited targets file::

    survey-toolkit check-targets --targets my_targets.yaml

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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``survey-toolkit`` (sub-commands ``report`` and ``check-targets``)."""
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
    report.add_argument("--wave", metavar="W", help="only the interviews of this wave (default: all)")
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
    source = f"{saved.source}, reference date {saved.reference_date.isoformat()}"
    if saved.demonstration:
        source = "DEMONSTRATION figures, not for publication: " + source
    return ReportSettings(ci_method=args.ci_method, level=args.level, weighting=args.weighting, margins=margins,
                          calibrate=tuple(args.calibrate) if args.calibrate else None, margins_source=source,
                          domains=tuple(args.domains))


def _report(args: argparse.Namespace) -> int:
    from analysis.targets import load_targets
    from questionnaires import shipped_questionnaires
    from survey_app.auth import audit
    from survey_app.excel import write_report
    from survey_app.reporting import report_from_store
    from survey_app.store import ResponseStore

    out = _output_path(args.out)
    url = _database_url(args.db)
    questionnaires = shipped_questionnaires()
    if args.calibrate:
        unknown = [q for q in args.calibrate if q not in questionnaires]
        if unknown:
            raise CliError(f"--calibrate: unknown questionnaires {unknown}; use among {', '.join(questionnaires)}")
    targets = load_targets(args.targets, questionnaires=questionnaires)
    settings = _settings(args, url)
    store = ResponseStore(url, questionnaires=questionnaires)
    try:
        tables = report_from_store(store, settings=settings, targets=targets, wave=args.wave,
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
          {"wave": args.wave, "contact_details": "keep" if args.keep_contact_details else "remove"}, url=url)
    counts = tables.overview["verdict"].value_counts()
    verdicts = ", ".join(f"{counts[v]} {v}" for v in ("met", "not met", "inconclusive", "no data") if v in counts)
    print(f"wrote {out}: {len(tables.overview)} targets ({verdicts})")
    return 0


def _check_targets(args: argparse.Namespace) -> int:
    from analysis.targets import DEFAULT_TARGETS_FILE, load_targets

    targets = load_targets(args.targets)
    print(f"{args.targets or DEFAULT_TARGETS_FILE}: {len(targets)} targets, all valid")
    for t in targets:
        threshold = f"{t.threshold:.0%}" if t.statistic == "proportion" else f"{t.threshold:g}"
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
