"""Compatibility benchmark: real XLSForms through the toolkit's reader and writer.

Usage (from the project root)::

    python3 bench/xlsform_corpus.py CORPUS_DIR            # CORPUS_DIR: a folder of .xlsx forms (e.g. the team's reference corpus)
    python3 bench/xlsform_corpus.py CORPUS_DIR --json out.json

For every ``*.xlsx`` under ``CORPUS_DIR`` (its ``forms/`` folder when there is one):

1. pyxform's verdict (``pyxform.xls2xform.convert``): valid or not;
2. ``read_xlsform``: loaded, or refused with which message;
3. for a loaded form, the counts of questions (metadata rows included, pyxform's own
   ``meta/instanceID`` left out), choices, ``relevant`` and ``constraint`` expressions of
   the model beside pyxform's counts from its form dictionary;
4. ``write_xlsform`` then pyxform again (accepted?) and ``read_xlsform`` (equal?).

It prints one line per form and the totals, and exits with status 1 when a pyxform-valid
form does not load, a count differs, or a write-back is refused or reads back different,
or when a pyxform-invalid form loads.
"""
from __future__ import annotations

import argparse
import io
import json
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyxform.xls2xform import convert  # noqa: E402

from questionnaires.errors import QuestionnaireError  # noqa: E402
from questionnaires.xlsform import form_counts, read_xlsform, write_xlsform  # noqa: E402


def pyxform_counts(definition: dict) -> dict[str, int]:
    """The same counts taken from pyxform's form dictionary."""
    counts = {"questions": 0, "choices": 0, "relevant": 0, "constraint": 0}

    def walk(children: list[dict], top: bool) -> None:
        for child in children:
            if top and child.get("name") == "meta" and child.get("type") == "group":
                continue  # pyxform's own instanceID
            bind = child.get("bind") or {}
            counts["relevant"] += bool(bind.get("relevant"))
            if child.get("type") in ("group", "repeat", "loop"):  # a loop's questions once, as written
                walk(child.get("children", []), False)
                continue
            counts["questions"] += 1
            counts["constraint"] += bool(bind.get("constraint"))

    walk(definition.get("children", []), True)
    counts["choices"] = sum(len(items) for items in (definition.get("choices") or {}).values())
    return counts


def check(path: Path) -> dict:
    row: dict = {"form": path.stem}
    try:
        definition = convert(str(path), warnings=[])._pyxform
        row["pyxform"] = "valid"
        expected = pyxform_counts(definition)
    except Exception as error:  # pyxform raises its own errors and, on some forms, Python ones
        row["pyxform"] = f"invalid: {type(error).__name__}: {str(error).splitlines()[0][:120]}"
        expected = None
    started = time.perf_counter()
    try:
        form = read_xlsform(path)
    except QuestionnaireError as error:
        row.update(loaded=False, message=str(error).splitlines()[0][:300])
        return row
    row.update(loaded=True, seconds=round(time.perf_counter() - started, 3), counts=form_counts(form),
               expected=expected)
    buffer = io.BytesIO()
    try:
        write_xlsform(form, buffer)
        again = read_xlsform(buffer.getvalue())
    except QuestionnaireError as error:
        row.update(written=False, message=str(error).splitlines()[0][:300])
        return row
    row.update(written=True, equal=again == form)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path, help="folder of XLSForm workbooks (or with a forms/ folder)")
    parser.add_argument("--json", type=Path, help="write every row as JSON here")
    args = parser.parse_args(argv)
    folder = args.corpus / "forms" if (args.corpus / "forms").is_dir() else args.corpus
    paths = sorted(folder.glob("*.xlsx"))
    if not paths:
        parser.error(f"no .xlsx files in {folder}")
    warnings.simplefilter("ignore")  # openpyxl's notes about headers and footers of some workbooks
    rows = []
    for path in paths:
        try:
            rows.append(check(path))
        except Exception as error:  # a crash is a finding of the benchmark, not its end
            rows.append({"form": path.stem, "pyxform": "valid", "loaded": False,
                         "message": f"CRASH {type(error).__name__}: {error}"})
    print(f"{'form':58} {'pyxform':8} {'loaded':6} {'q':>9} {'choices':>9} {'relev':>7} {'constr':>7} "
          f"{'written':7} {'equal':5}")
    failures = 0
    totals = {"valid": 0, "invalid": 0, "loaded": 0, "invalid_refused": 0, "counts_equal": 0, "written": 0,
              "equal": 0}
    for row in rows:
        valid = row["pyxform"] == "valid"
        totals["valid" if valid else "invalid"] += 1
        counts, expected = row.get("counts"), row.get("expected")
        cells = []
        for key in ("questions", "choices", "relevant", "constraint"):
            if counts is None:
                cells.append("")
            elif expected is None or counts[key] == expected[key]:
                cells.append(str(counts[key]))
            else:
                cells.append(f"{counts[key]}!={expected[key]}")
        same = counts is not None and expected is not None and counts == expected
        print(f"{row['form'][:58]:58} {'valid' if valid else 'invalid':8} {'yes' if row['loaded'] else 'no':6} "
              f"{cells[0]:>9} {cells[1]:>9} {cells[2]:>7} {cells[3]:>7} "
              f"{'' if 'written' not in row else 'yes' if row['written'] else 'no':7} "
              f"{'' if 'equal' not in row else 'yes' if row['equal'] else 'no':5}")
        if not row["loaded"] or not row.get("written", True):
            print(f"    {row['message']}")
        totals["loaded"] += row["loaded"] and valid
        totals["invalid_refused"] += not valid and not row["loaded"]
        totals["counts_equal"] += same
        totals["written"] += bool(row.get("written"))
        totals["equal"] += bool(row.get("equal"))
        failures += (valid and not (row["loaded"] and same and row.get("written") and row.get("equal"))) or (
            not valid and row["loaded"])
    print(f"\npyxform-valid forms: {totals['valid']}; loaded {totals['loaded']}, counts equal to pyxform's "
          f"{totals['counts_equal']}, written back and accepted by pyxform {totals['written']}, read back equal "
          f"{totals['equal']}")
    print(f"pyxform-invalid forms: {totals['invalid']}; refused {totals['invalid_refused']}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, ensure_ascii=False), encoding="utf-8")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
