"""Benchmark of issue 15: the change table of every target and district between two waves.

Two waves of ``--interviews`` interviews each (the shipped questionnaires, ``bench/app_data.py``
repeats the demo sample into new PSUs), then what the dashboard computes for them: the change of
every target city-wide and by district (:func:`survey_app.change.wave_changes`, the waves stacked
into one design) and every district against the rest of the city
(:func:`survey_app.change.district_comparisons`). Prints the best of ``--repeat`` runs of each.

    python3 bench/change.py                       # 2 x 100,000 interviews
    python3 bench/change.py --interviews 20000 --weighting rake

Not a timed test: the figures depend on the machine (see bench/README.md).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.app_data import responses  # noqa: E402
from survey_app.change import district_comparisons, wave_changes  # noqa: E402
from survey_app.demo import demo_margins  # noqa: E402
from survey_app.reporting import ReportSettings, build_report  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interviews", type=int, default=100_000, help="interviews per wave (default 100,000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs; the best is reported (default 3)")
    parser.add_argument("--weighting", choices=("none", "rake"), default="none",
                        help="rake each wave to the demonstration margins (default none)")
    parser.add_argument("--seed", type=int, default=20261207)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    frame = responses(2 * args.interviews, seed=args.seed)   # the demo sample has both waves equally
    counts = frame["wave"].value_counts().sort_index()
    print(f"data: {len(frame):,} interviews ({', '.join(f'{w}: {n:,}' for w, n in counts.items())}), "
          f"built in {time.perf_counter() - started:.1f} s")
    settings = ReportSettings()
    if args.weighting == "rake":
        margins = demo_margins()
        settings = ReportSettings(weighting="rake", margins=margins.rake_margins(), demonstration_margins=True)
    waves = sorted(counts.index)
    table = "change table (all targets, city-wide and by district)"
    cards = "city-wide changes only (the dashboard's target cards)"
    districts = "district comparisons (report's designs given)"
    best = {table: float("inf"), cards: float("inf"), districts: float("inf")}
    latest = frame.iloc[(frame["wave"] == waves[-1]).to_numpy().nonzero()[0]]
    tables = build_report(latest, settings=settings, wave=waves[-1], frequencies=False, text_answers=False,
                          indices=(), where_to_act=False)
    for _ in range(args.repeat):
        start = time.perf_counter()
        changes = wave_changes(frame, waves=waves[-2:], settings=settings)
        best[table] = min(best[table], time.perf_counter() - start)
        start = time.perf_counter()
        wave_changes(frame, waves=waves[-2:], settings=settings, domains=())
        best[cards] = min(best[cards], time.perf_counter() - start)
        start = time.perf_counter()
        compared = district_comparisons(tables)
        best[districts] = min(best[districts], time.perf_counter() - start)
    print(f"{len(changes)} change rows ({(changes['status'] == 'compared').sum()} compared), "
          f"{len(compared)} district comparison rows; weighting {settings.weighting}")
    for name, seconds in best.items():
        print(f"{name}: {seconds:.3f} s (best of {args.repeat})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
