"""Benchmark: the project's analysis against R's ``survey`` and the ``svy`` package.

Usage (from the project root)::

    python3 bench/run.py                                   # 10k and 100k, every installed peer
    python3 bench/run.py --sizes 10000 100000 1000000 --peers r svy
    python3 bench/run.py --sizes 1000000 --peers svy --works table rake --repeat 5

For each size it generates a seeded synthetic design (``bench/synth.py``: 8 district strata,
one PSU per 40 interviews, fpc, weights, sex, age group, one column per target of
``questionnaires/targets.yaml``) and times, on the same rows:

``table``
    build the design, then every target indicator overall and by district, sex and age
    group, with linearised SEs and logit CIs (t on the domain's design df);
``rake``
    build the design, rake to the sex and age-group margins (tolerance ``--tol``), then the
    same table (SEs account for the calibration, as R's ``calibrate``);
``excel``
    the Excel workbook of the target report (``survey_app.reporting`` + ``survey_app.excel``);
``dashboard``
    the dashboard page's first render with ``--dashboard-interviews`` stored interviews
    (Streamlit AppTest).

Times are wall-clock seconds (``time.perf_counter``), the best of ``--repeat`` runs
(``--app-repeat`` for excel and dashboard, ``--r-repeat`` in R), with the CPU seconds of
that run beside them (a big gap means other processes took the CPU).  Peak
memory is measured in a separate, untimed run of the same work; see ``bench/README.md``.
Every peer's estimates, SEs and interval bounds are compared with the project's; the script
exits with status 1 when they disagree, so speed is never bought with wrong numbers.
"""
from __future__ import annotations

import argparse
import gc
import io
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from bench import peer_svy, project  # noqa: E402
from bench.synth import DOMAINS, Survey, make_survey  # noqa: E402

WORKS = ("table", "rake", "excel", "dashboard")
PEERS = ("r", "svy")
KEYS = ["work", "indicator", "by", "domain"]
#: Relative tolerances of the agreement check: estimates, then SEs and interval bounds.
#: R's logit proportion is expit of a glm coefficient found by IRLS (glm.control's 1e-8
#: deviance criterion), so it is off the exact weighted share by up to a few 1e-9; raked
#: estimates also carry the raking tolerance.  svy counts a domain's degrees of freedom
#: without the PSUs whose domain members all lack the answer (R and the project keep them),
#: so its intervals differ slightly; its raked SEs ignore the calibration.
TOLERANCES = {
    ("r", "table"): {"estimate": 1e-8, "se": 1e-6, "ci_low": 1e-6, "ci_high": 1e-6},
    ("r", "rake"): {"estimate": 1e-8, "se": 1e-6, "ci_low": 1e-6, "ci_high": 1e-6},
    ("svy", "table"): {"estimate": 1e-9, "se": 1e-6},
    ("svy", "rake"): {"estimate": 1e-8},
}
GOALS = {"table": 0.5, "rake": 1.0, "excel": 3.0, "dashboard": 2.0}  # seconds
GOAL_SIZE = 1_000_000


# ------------------------------------------------------------------------------------------
# Measuring
# ------------------------------------------------------------------------------------------

@dataclass
class Timing:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def best(self) -> tuple[float, float]:
        i = int(np.argmin(self.wall))
        return self.wall[i], self.cpu[i]


def _status_kb(key: str) -> int:
    text = Path("/proc/self/status").read_text()
    return int(re.search(rf"^{key}:\s+(\d+) kB", text, re.MULTILINE).group(1))


def rss_peak(fn: Callable[[], object]) -> float | None:
    """Peak resident memory above the start, in bytes (kernel high-water mark, Linux).

    The high-water mark is reset through ``/proc/self/clear_refs``; it sees every
    allocation (numpy, Rust, C), unlike tracemalloc.  None where that is unavailable.
    """
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return None
    gc.collect()
    start = _status_kb("VmRSS")
    fn()
    return (_status_kb("VmHWM") - start) * 1024.0


def traced_peak(fn: Callable[[], object]) -> float:
    """Peak bytes allocated through Python's allocators while ``fn`` runs (tracemalloc).

    numpy and pandas report their buffers to tracemalloc, so this is exact for the project
    and unaffected by what the allocator keeps from earlier work.
    """
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return float(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()


def time_runs(fn: Callable[[], object], repeat: int) -> tuple[Timing, object]:
    timing, value = Timing(), None
    for _ in range(repeat):
        gc.collect()
        w0, c0 = time.perf_counter(), time.process_time()
        value = fn()
        timing.wall.append(time.perf_counter() - w0)
        timing.cpu.append(time.process_time() - c0)
    return timing, value


# ------------------------------------------------------------------------------------------
# The work of each tool
# ------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    """What one tool did for one size: timings, memory, estimates, or why it did not run."""

    timings: dict[str, Timing] = field(default_factory=dict)
    memory: dict[str, dict[str, float | None]] = field(default_factory=dict)
    tables: list[pd.DataFrame] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, float] = field(default_factory=dict)

    def estimates(self) -> pd.DataFrame | None:
        return pd.concat(self.tables, ignore_index=True) if self.tables else None


def _table_work(module, survey: Survey, level: float, tol: float, prepared) -> dict:
    def table():
        return module.target_table(module.build(prepared), survey.indicators, DOMAINS, level)

    def rake():
        return module.target_table(module.rake(module.build(prepared), survey.margins, tol),
                                   survey.indicators, DOMAINS, level)
    return {"table": table, "rake": rake}


def run_in_process(module, survey: Survey, works: list[str], args, *,
                   prepared, traced: bool) -> Outcome:
    out = Outcome()
    fns = _table_work(module, survey, args.level, args.tol, prepared)
    for work in [w for w in works if w in fns]:
        timing, table = time_runs(fns[work], args.repeat)
        out.timings[work] = timing
        out.tables.append(table.assign(work=work))
        if not args.no_memory:
            out.memory[work] = {"rss": rss_peak(fns[work])}
            if traced:
                out.memory[work]["traced"] = traced_peak(fns[work])
    return out


def run_svy(survey: Survey, works: list[str], args) -> Outcome:
    if peer_svy.version() is None:
        return Outcome(notes=["svy is not installed (pip install -r bench/requirements.txt)"])
    peer_svy.to_polars(survey.data.head())  # import polars and pyarrow before timing
    t0 = time.perf_counter()
    frame = peer_svy.to_polars(survey.data)
    convert = time.perf_counter() - t0
    out = run_in_process(peer_svy, survey, works, args, prepared=frame, traced=False)
    out.extra["convert"] = convert
    return out


def run_r(survey: Survey, works: list[str], args, workdir: Path) -> Outcome:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return Outcome(notes=["R is not installed (Debian: apt-get install r-cran-survey)"])
    r_works = [w for w in works if w in ("table", "rake")]
    if not r_works:
        return Outcome()
    survey.data.to_csv(workdir / "survey.csv", index=False)
    pd.DataFrame([(i.name, i.statistic) for i in survey.indicators],
                 columns=["name", "statistic"]).to_csv(workdir / "indicators.csv", index=False)
    pd.DataFrame([(c, str(x)) for c in DOMAINS for x in survey.data[c].cat.categories],
                 columns=["variable", "level"]).to_csv(workdir / "levels.csv", index=False)
    pd.DataFrame([(v, c, t) for v, cats in survey.margins.items() for c, t in cats.items()],
                 columns=["variable", "category", "total"]).to_csv(workdir / "margins.csv",
                                                                   index=False)
    proc = subprocess.run([rscript, str(ROOT / "bench" / "peer_r.R"), str(workdir),
                           ",".join(r_works), str(args.r_repeat), repr(args.level),
                           repr(args.tol)], capture_output=True, text=True)
    if proc.returncode != 0:
        return Outcome(notes=[f"R failed: {proc.stderr.strip()[-2000:]}"])
    out = Outcome(notes=[proc.stdout.strip()])
    timings = pd.read_csv(workdir / "r_timings.csv")
    out.extra["read"] = float(timings.loc[timings["work"] == "read", "wall"].iloc[0])
    for work in r_works:
        t = timings[timings["work"] == work]
        out.timings[work] = Timing(t["wall"].tolist(), t["cpu"].tolist())
        out.memory[work] = {"rss": float(t["peak_bytes"].max())}
    table = pd.read_csv(workdir / "r_estimates.csv", dtype={"by": str, "domain": str})
    table["by"] = table["by"].fillna("")
    out.tables.append(table)
    return out


def run_excel(n: int, args) -> Outcome:
    """Report tables and workbook for ``n`` interviews of the shipped questionnaires."""
    from bench import app_data
    from survey_app.excel import write_report
    from survey_app.reporting import build_report

    responses = app_data.responses(n, seed=args.seed)
    parts: dict[str, list[float]] = {"build_report": [], "write_report": []}

    def work():
        t0 = time.perf_counter()
        tables = build_report(responses)
        t1 = time.perf_counter()
        write_report(tables, io.BytesIO())
        parts["build_report"].append(t1 - t0)
        parts["write_report"].append(time.perf_counter() - t1)

    out = Outcome()
    out.timings["excel"], _ = time_runs(work, args.app_repeat)
    best = int(np.argmin(out.timings["excel"].wall))
    out.extra = {k: v[best] for k, v in parts.items()}
    if not args.no_memory:
        out.memory["excel"] = {"rss": rss_peak(work)}
    out.notes.append(f"excel: {n:,} interviews of {responses['questionnaire_id'].nunique()} "
                     f"questionnaires; build_report {_fmt_s(out.extra['build_report'])}, "
                     f"write_report {_fmt_s(out.extra['write_report'])}")
    return out


def run_dashboard(args, workdir: Path) -> Outcome:
    """First render of the dashboard page (AppTest) over a store of stored interviews."""
    page = ROOT / "survey_app" / "pages" / "dashboard.py"
    if not page.exists():
        return Outcome(notes=["dashboard: not measured (survey_app/pages/dashboard.py is absent)"])
    import streamlit as st
    from argon2 import PasswordHasher
    from streamlit.testing.v1 import AppTest

    from bench import app_data
    from survey_app.auth import Accounts, session_state_for
    from survey_app.store import ResponseStore

    n = args.dashboard_interviews
    url = f"sqlite:///{workdir / 'dashboard.db'}"
    t0 = time.perf_counter()
    store = ResponseStore(url)
    app_data.fill_store(store, n, seed=args.seed)
    store.close()
    accounts = Accounts(url, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    admin = accounts.create_first_administrator("chief", "bench correct horse battery")
    accounts.create_user(admin, "S01", "bench-statistician-2026", ["statistician"])
    session = session_state_for(accounts.sign_in("S01", "bench-statistician-2026"))
    accounts.close()
    setup = time.perf_counter() - t0
    os.environ["SURVEY_DB_URL"] = url
    problems: list[str] = []

    def work():
        st.cache_data.clear()      # a first render: nothing computed yet
        st.cache_resource.clear()
        at = AppTest.from_file(str(page), default_timeout=600)
        for key, value in session.items():
            at.session_state[key] = value
        at.run()
        problems.extend(str(e.value) for e in at.exception)
        return at

    out = Outcome()
    # The first render after the bulk load reads every answer document and keeps the
    # interviews in columns (table frame_snapshots); every later first render (a new session, a
    # restarted server: Streamlit's caches empty) reads the kept columns. Both are reported.
    gc.collect()
    t0 = time.perf_counter()
    work()
    out.extra["after_load"] = time.perf_counter() - t0
    out.timings["dashboard"], at = time_runs(work, args.app_repeat)
    if not args.no_memory:
        out.memory["dashboard"] = {"rss": rss_peak(work)}
    shown = len(at.metric)
    out.notes.append(f"dashboard: {n:,} stored interviews (SQLite, filled in bulk in "
                     f"{_fmt_s(setup)}), first render with cold caches; {shown} metrics shown; "
                     f"the very first render after the bulk load, which keeps the interviews in "
                     f"columns: {_fmt_s(out.extra['after_load'])}"
                     + (f"; EXCEPTIONS: {problems[:3]}" if problems else ""))
    return out


# ------------------------------------------------------------------------------------------
# Agreement
# ------------------------------------------------------------------------------------------

def agreement(mine: pd.DataFrame, theirs: pd.DataFrame, peer: str,
              tolerances: dict | None = None) -> list[dict]:
    """Largest relative differences per work and quantity, and whether they are in tolerance
    (``tolerances``: by (peer, work), default ``TOLERANCES``)."""
    rows = []
    for work, mine_w in mine.groupby("work"):
        tol = (TOLERANCES if tolerances is None else tolerances).get((peer, work))
        theirs_w = theirs[theirs["work"] == work]
        if tol is None or theirs_w.empty:
            continue
        merged = mine_w.merge(theirs_w, on=KEYS, suffixes=("", "_peer"), how="outer",
                              indicator=True)
        missing = int((merged["_merge"] != "both").sum())
        both = merged[merged["_merge"] == "both"]
        diffs = {}
        for q in ("estimate", "se", "ci_low", "ci_high"):
            a, b = both[q].to_numpy(float), both[q + "_peer"].to_numpy(float)
            with np.errstate(invalid="ignore", divide="ignore"):
                rel = np.abs(a - b) / np.maximum(np.abs(b), 1e-300)
            # a number on one side only is a disagreement; missing on both sides is not
            rel = np.where(np.isnan(a) & np.isnan(b), 0.0, np.where(np.isnan(rel), np.inf, rel))
            diffs[q] = float(rel.max()) if len(rel) else float("nan")
        ok = missing == 0 and all(diffs[q] <= t for q, t in tol.items())
        rows.append({"peer": peer, "work": work, "rows": len(both), "unmatched": missing,
                     **{f"max_rel_{q}": v for q, v in diffs.items()},
                     "checked": list(tol), "ok": ok})
    return rows


# ------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------

def machine() -> dict:
    cpu = platform.processor()
    try:
        text = Path("/proc/cpuinfo").read_text()
        cpu = re.search(r"model name\s*:\s*(.*)", text).group(1)
    except (OSError, AttributeError):
        pass
    mem = None
    try:
        mem = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    except (OSError, AttributeError):
        pass
    import numpy
    import pandas
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": mem and round(mem / 2**20, 1),
            "os": platform.platform(), "python": platform.python_version(),
            "numpy": numpy.__version__, "pandas": pandas.__version__,
            "svy": peer_svy.version(), "load_average": os.getloadavg()}


def _fmt_s(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.3f} s" if x < 10 else f"{x:.1f} s"


def _fmt_mb(x: float | None) -> str:
    return "-" if x is None else f"{x / 2**20:.0f} MB"


def report_size(survey: Survey, outcomes: dict[str, Outcome], checks: list[dict]) -> str:
    mine = outcomes["project"]
    lines = [f"\n== n = {survey.n:,} interviews, {survey.n_psu:,} PSUs, 8 strata, fpc; "
             f"input columns {_fmt_mb(survey.input_bytes())}"]
    header = (f"{'work':<10}{'tool':<9}{'wall':>10}{'cpu':>10}{'vs project':>12}{'peak mem':>11}"
              "   (peak mem: project tracemalloc, peers resident-set growth)")
    lines.append(header)
    for work in WORKS:
        if work not in mine.timings:
            continue
        base = mine.timings[work].best()[0]
        for tool, out in outcomes.items():
            if work not in out.timings:
                continue
            wall, cpu = out.timings[work].best()
            ratio = "" if tool == "project" else f"{wall / base:.1f}x"
            # the project's own allocations (tracemalloc) where measured, else resident memory
            memory = out.memory.get(work, {})
            mem = memory.get("traced", memory.get("rss"))
            lines.append(f"{work:<10}{tool:<9}{_fmt_s(wall):>10}{_fmt_s(cpu):>10}"
                         f"{ratio:>12}{_fmt_mb(mem):>11}")
    for work, mem in mine.memory.items():
        if mem.get("traced") is not None:
            lines.append(f"project {work}: tracemalloc peak {_fmt_mb(mem['traced'])} = "
                         f"{mem['traced'] / survey.input_bytes():.2f}x the input columns; "
                         f"resident-set growth {_fmt_mb(mem['rss'])}")
    if "svy" in outcomes and "convert" in outcomes["svy"].extra:
        lines.append(f"svy: pandas -> polars conversion {_fmt_s(outcomes['svy'].extra['convert'])}"
                     " (not in its times)")
    if "r" in outcomes and "read" in outcomes["r"].extra:
        lines.append(f"R: reading the CSV (read.csv) {_fmt_s(outcomes['r'].extra['read'])}"
                     " (not in its times)")
    lines += agreement_lines(checks)
    for tool, out in outcomes.items():
        lines += [f"{tool}: {note}" for note in out.notes]
    return "\n".join(lines)


def report_goals(results: list[dict], dashboard: dict | None) -> str:
    lines = ["\n== goals (wall time, best run)"]
    by_size = {r["n"]: r for r in results}
    for work in ("table", "rake", "excel"):
        times = {n: r["tools"]["project"]["timings"].get(work) for n, r in by_size.items()}
        times = {n: t["best_wall"] for n, t in times.items() if t}
        if not times:
            continue
        scaling = ", ".join(f"{n:,}: {t:.3f} s ({t / n * 1e6:.2f} us/interview)"
                            for n, t in sorted(times.items()))
        lines.append(f"{work}: {scaling}")
        if GOAL_SIZE in times:
            met = "met" if times[GOAL_SIZE] <= GOALS[work] else "NOT met"
            lines.append(f"  goal <= {GOALS[work]} s at {GOAL_SIZE:,}: {met}")
    big = by_size.get(GOAL_SIZE)
    if big:
        table = big["tools"]["project"]["timings"].get("table")
        for peer, factor in (("svy", 4), ("r", 20)):
            theirs = big["tools"].get(peer, {}).get("timings", {}).get("table")
            if table and theirs:
                ratio = theirs["best_wall"] / table["best_wall"]
                lines.append(f"  table: {ratio:.1f}x faster than {peer} (goal {factor}x): "
                             f"{'met' if ratio >= factor else 'NOT met'}")
        mem = big["tools"]["project"]["memory"].get("table", {}).get("traced")
        if mem:
            ratio = mem / big["input_bytes"]
            lines.append(f"  table peak memory {ratio:.2f}x input (goal < 3x): "
                         f"{'met' if ratio < 3 else 'NOT met'}")
    if dashboard and "dashboard" in dashboard["timings"]:
        wall = dashboard["timings"]["dashboard"]["best_wall"]
        met = "met" if wall <= GOALS["dashboard"] else "NOT met"
        lines.append(f"dashboard first render, {dashboard['n']:,} interviews kept in columns: {wall:.3f} s "
                     f"(goal <= {GOALS['dashboard']} s: {met}); the first after the bulk load: "
                     f"{dashboard['extra']['after_load']:.3f} s")
    return "\n".join(lines)


def _serialise(out: Outcome) -> dict:
    return {"timings": {w: {"wall": t.wall, "cpu": t.cpu, "best_wall": t.best()[0],
                            "best_cpu": t.best()[1]} for w, t in out.timings.items()},
            "memory": out.memory, "notes": out.notes, "extra": out.extra}


# ------------------------------------------------------------------------------------------
# Main
# ------------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000],
                   help="numbers of interviews (default: 10000 100000)")
    p.add_argument("--peers", nargs="*", choices=PEERS, default=list(PEERS),
                   help="peers to run if installed (default: r svy; none: --peers)")
    p.add_argument("--works", nargs="+", choices=WORKS, default=list(WORKS))
    p.add_argument("--repeat", type=int, default=3,
                   help="runs of each in-process work; the best is reported (default 3)")
    p.add_argument("--r-repeat", type=int, default=1, help="runs of each work in R (default 1)")
    p.add_argument("--app-repeat", type=int, default=1,
                   help="runs of the excel and dashboard works (default 1)")
    p.add_argument("--seed", type=int, default=20261126)
    p.add_argument("--level", type=float, default=0.95)
    p.add_argument("--tol", type=float, default=1e-10, help="raking tolerance (default 1e-10)")
    p.add_argument("--dashboard-interviews", type=int, default=100_000)
    p.add_argument("--no-memory", action="store_true", help="skip the memory runs")
    p.add_argument("--json", type=Path, help="also write every measurement to this file")
    args = p.parse_args(argv)
    if min(args.sizes) < 1000 or min(args.repeat, args.r_repeat, args.app_repeat) < 1:
        p.error("--sizes must be >= 1000 and --repeat/--r-repeat/--app-repeat >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    info = machine()
    print("machine: " + ", ".join(f"{k} {v}" for k, v in info.items()))
    results, all_ok, dashboard = [], True, None
    with tempfile.TemporaryDirectory(prefix="survey-bench-") as tmp:
        for n in args.sizes:
            survey = make_survey(n, seed=args.seed)
            outcomes = {"project": run_in_process(project, survey, args.works, args,
                                                  prepared=survey.data, traced=True)}
            if "excel" in args.works:
                excel = run_excel(n, args)
                outcomes["project"].timings.update(excel.timings)
                outcomes["project"].memory.update(excel.memory)
                outcomes["project"].notes += excel.notes
            if "svy" in args.peers:
                outcomes["svy"] = run_svy(survey, args.works, args)
            if "r" in args.peers:
                outcomes["r"] = run_r(survey, args.works, args, Path(tmp))
            mine = outcomes["project"].estimates()
            checks = []
            for peer in (p for p in PEERS if p in outcomes):
                theirs = outcomes[peer].estimates()
                if mine is not None and theirs is not None:
                    checks += agreement(mine, theirs, peer)
            all_ok &= all(c["ok"] for c in checks)
            print(report_size(survey, outcomes, checks), flush=True)
            results.append({"n": n, "n_psu": survey.n_psu, "input_bytes": survey.input_bytes(),
                            "tools": {k: _serialise(v) for k, v in outcomes.items()},
                            "agreement": checks})
        if "dashboard" in args.works:
            dash = run_dashboard(args, Path(tmp))
            dashboard = {"n": args.dashboard_interviews, **_serialise(dash)}
            lines = [f"\n== dashboard, {args.dashboard_interviews:,} stored interviews"]
            if "dashboard" in dash.timings:
                wall, cpu = dash.timings["dashboard"].best()
                lines.append(f"first render: wall {_fmt_s(wall)}, cpu {_fmt_s(cpu)}, peak memory "
                             f"{_fmt_mb(dash.memory.get('dashboard', {}).get('rss'))}")
            print("\n".join(lines + [f"project: {note}" for note in dash.notes]), flush=True)
    print(report_goals(results, dashboard))
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "args": vars(args) | {"json": str(
            args.json)}, "results": results, "dashboard": dashboard}, indent=1, default=str))
    if not all_ok:
        print("\nFAIL: a peer's numbers disagree with the project's", file=sys.stderr)
    return 0 if all_ok else 1


def agreement_lines(checks: list[dict]) -> list[str]:
    """One line per peer agreement check: agree or not, rows, the largest relative differences."""
    lines = []
    for c in checks:
        quantities = ", ".join(f"{q} {c['max_rel_' + q]:.1e}" for q in
                               ("estimate", "se", "ci_low", "ci_high"))
        verdict = "agree" if c["ok"] else "DISAGREE"
        lines.append(f"{c['work']} vs {c['peer']}: {verdict} on {c['rows']} rows "
                     f"({c['unmatched']} unmatched); max relative difference {quantities}; "
                     f"checked {', '.join(c['checked'])}")
    return lines


if __name__ == "__main__":
    sys.exit(main())
