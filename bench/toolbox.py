"""Benchmark of the statistician's toolbox (issues 14 and 16) against R's ``survey`` and ``svy``.

Usage (from the project root)::

    python3 bench/toolbox.py --sizes 1000000 --works median ratio glm
    python3 bench/toolbox.py --sizes 100000 --works bootstrap index drivers
    python3 bench/toolbox.py                 # 10k and 100k, every work, every installed peer

The rows are those of ``bench/synth.py`` (the same seeded design as ``bench/run.py``) with
the columns of :func:`add_toolbox_columns`: a waiting time, complaints made and resolved, the
16 items of an ACSI-type PLS model on 1-10 and eight service aspects on 1-5.  Each work
builds the design, then:

``median``
    ``quantile("wait_minutes", 0.5, interval="mean", rule="math")``; R: ``svyquantile(
    ~wait_minutes, des, 0.5, ci=TRUE, interval.type="mean", qrule="math", na.rm=TRUE)``;
    svy: ``estimation.median("wait_minutes", q_method="higher", drop_nulls=True)`` (svy's
    "higher" is R's "math").
``ratio``
    ``ratio("complaints_resolved", "complaints_made")``; R: ``svyratio``; svy:
    ``estimation.ratio``.
``glm``
    ``glm(GLM_FORMULA, family="binomial")`` (a logistic model with 13 coefficients); R:
    ``svyglm(..., family=quasibinomial())``; svy: ``glm.fit(..., family="binomial")``.
``bootstrap``
    ``replicate("bootstrap", replicates=200, seed=...)``, then the target table of
    ``bench/run.py`` on it (165 rows, replicate SEs).  R and svy get the project's own
    replicate factors (R: ``svrepdesign(repweights=F[psu, ], combined.weights=FALSE,
    type="other", scale=1/199, rscales=1)``, as ``tests/reference/survey_reference.R``
    does; svy: the replicate weights as columns with ``BootstrapWgts(scale=1/199)``), so
    the numbers must agree exactly.
``index``
    ``analysis.indices.satisfaction_index`` with PLS weights of the ``SAT`` block and 200
    bootstrap replicates (the whole PLS estimation redone in every replicate); no peer.
``drivers4``, ``drivers8``
    ``analysis.drivers.key_drivers`` (Shapley/LMG) of ``overall`` on 4 and 8 aspects with
    200 bootstrap replicates; no peer.

Times, memory and the agreement check are those of ``bench/run.py`` (see ``bench/README.md``);
the script exits with status 1 when a peer disagrees.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from analysis import SurveyDesign  # noqa: E402
from analysis.drivers import key_drivers  # noqa: E402
from analysis.indices import satisfaction_index  # noqa: E402
from bench import peer_svy, project  # noqa: E402
from bench.run import (Outcome, Timing, _fmt_mb, _fmt_s, _serialise, agreement, agreement_lines,  # noqa: E402
                       machine, rss_peak, time_runs, traced_peak)
from bench.synth import DESIGN, DOMAINS, Survey, make_survey  # noqa: E402

WORKS = ("median", "ratio", "glm", "bootstrap", "index", "drivers4", "drivers8")
PEERS = ("r", "svy")
R_WORKS = ("median", "ratio", "glm", "bootstrap")
GLM_FORMULA = "consumer_environment_satisfaction ~ sex + age_group + district + wait_minutes"
REPLICATES = 200
PLS_BLOCKS = {"IMAG": ["imag1", "imag2", "imag3"], "EXPE": ["expe1", "expe2", "expe3"],
              "QUAL": ["qual1", "qual2", "qual3"], "VAL": ["val1", "val2"],
              "SAT": ["sat1", "sat2", "sat3"], "LOY": ["loy1", "loy2"]}
PLS_INNER = [("IMAG", "EXPE"), ("IMAG", "SAT"), ("IMAG", "LOY"), ("EXPE", "QUAL"),
             ("EXPE", "VAL"), ("EXPE", "SAT"), ("QUAL", "VAL"), ("QUAL", "SAT"),
             ("VAL", "SAT"), ("SAT", "LOY")]
PLS_MODEL = {"blocks": PLS_BLOCKS, "inner": PLS_INNER, "index_block": "SAT"}
ASPECTS = [f"aspect{i}" for i in range(1, 9)]
#: Relative tolerances (see bench/run.py).  The median and ratio are exact order statistics
#: and weighted sums; R's IRLS (svyglm, and svyciprop's logit in the bootstrap table) stops at
#: a deviance change of 1e-8, so those estimates may differ in the 9th digit.  svy: its median
#: ("higher" is R's "math" rule) and Woodruff interval are R's; its glm stops IRLS at its own
#: 1e-8 and its SEs differ in the 5th-8th digit (its df are R's); on replicate weights it
#: gives every domain the replicates' df (R and the project: the rank of the domain's rows'
#: replicate weights - 1), so only its estimates and SEs are compared there.
TOLERANCES = {
    ("r", "median"): {"estimate": 1e-9, "se": 1e-6, "ci_low": 1e-9, "ci_high": 1e-9},
    ("r", "ratio"): {"estimate": 1e-9, "se": 1e-6, "ci_low": 1e-6, "ci_high": 1e-6},
    ("r", "glm"): {"estimate": 1e-8, "se": 1e-6, "ci_low": 1e-6, "ci_high": 1e-6},
    ("r", "bootstrap"): {"estimate": 1e-8, "se": 1e-6, "ci_low": 1e-6, "ci_high": 1e-6},
    ("svy", "median"): {"estimate": 1e-9, "se": 1e-6, "ci_low": 1e-9, "ci_high": 1e-9},
    ("svy", "ratio"): {"estimate": 1e-9, "se": 1e-6, "ci_low": 1e-6, "ci_high": 1e-6},
    ("svy", "glm"): {"estimate": 1e-8, "se": 1e-4},
    ("svy", "bootstrap"): {"estimate": 1e-9, "se": 1e-6},
}
#: Goals: the peers' time over the project's (issue 14), seconds (issue 16).
RATIO_GOALS = {"svy": 10.0, "r": 50.0}
SECONDS_GOALS = {"index": 5.0, "drivers4": 5.0, "drivers8": 5.0}


# ------------------------------------------------------------------------------------------
# Data
# ------------------------------------------------------------------------------------------

def add_toolbox_columns(survey: Survey, seed: int) -> pd.DataFrame:
    """The survey's rows with the toolbox's columns (seeded; depend on district and PSU).

    ``wait_minutes``: whole minutes, log-normal around 12 (2% missing); ``complaints_made``
    (Poisson) and ``complaints_resolved`` (binomial of them); 16 items 1-10 of a PLS model
    with paths IMAG -> EXPE -> QUAL -> VAL -> SAT -> LOY (1% "don't know" each); ``overall``
    1-10 and eight aspects 1-5 that drive it with decreasing strength.
    """
    data = survey.data.copy()
    n = len(data)
    rng = np.random.default_rng(seed + 14)
    psu = data["psu"].to_numpy()
    dist = data["district"].cat.codes.to_numpy()
    local = rng.normal(0, 0.3, int(psu.max()) + 1)[psu] + rng.normal(0, 0.2, 8)[dist]

    wait = np.rint(np.exp(np.log(12.0) + 0.5 * local + rng.normal(0, 0.6, n)))
    wait[rng.random(n) < 0.02] = np.nan
    made = rng.poisson(0.8 * np.exp(0.5 * local)).astype(float)
    resolved = rng.binomial(made.astype(np.int64), 1 / (1 + np.exp(-(1.0 - local)))).astype(float)
    data["wait_minutes"], data["complaints_made"] = wait, made
    data["complaints_resolved"] = resolved

    def item(lv: np.ndarray, low: int, high: int) -> np.ndarray:
        mid, spread = (low + high) / 2, (high - low) / 6
        x = np.clip(np.rint(mid + spread * (lv + rng.normal(0, 0.7, n))), low, high)
        x[rng.random(n) < 0.01] = np.nan
        return x

    e = {k: rng.normal(0, 1, n) for k in PLS_BLOCKS}
    lv = {"IMAG": 0.6 * local / 0.36 + e["IMAG"]}
    lv["EXPE"] = 0.5 * lv["IMAG"] + e["EXPE"]
    lv["QUAL"] = 0.6 * lv["EXPE"] + e["QUAL"]
    lv["VAL"] = 0.3 * lv["EXPE"] + 0.5 * lv["QUAL"] + e["VAL"]
    lv["SAT"] = 0.2 * lv["IMAG"] + 0.1 * lv["EXPE"] + 0.4 * lv["QUAL"] + 0.3 * lv["VAL"] \
        + e["SAT"]
    lv["LOY"] = 0.2 * lv["IMAG"] + 0.6 * lv["SAT"] + e["LOY"]
    for block, items in PLS_BLOCKS.items():
        z = lv[block] / lv[block].std()
        for name in items:
            data[name] = item(z, 1, 10)
    aspects = rng.normal(0, 1, (n, 8)) + 0.5 * rng.normal(0, 1, n)[:, None] + local[:, None]
    strength = np.linspace(0.6, 0.1, 8)
    overall = aspects @ strength
    data["overall"] = item(overall / overall.std(), 1, 10)
    for j, name in enumerate(ASPECTS):
        data[name] = item(aspects[:, j] / aspects[:, j].std(), 1, 5)
    return data


# ------------------------------------------------------------------------------------------
# The project's work
# ------------------------------------------------------------------------------------------

def _build(data: pd.DataFrame) -> SurveyDesign:
    return SurveyDesign(data, **DESIGN)


def _long(frame: pd.DataFrame, work: str, indicator, domain) -> pd.DataFrame:
    return pd.DataFrame({"work": work, "indicator": indicator, "by": "", "domain": domain,
                         "estimate": frame["estimate"].to_numpy(float),
                         "se": frame["se"].to_numpy(float),
                         "ci_low": frame["ci_low"].to_numpy(float),
                         "ci_high": frame["ci_high"].to_numpy(float)})


def project_works(survey: Survey, data: pd.DataFrame, seed: int) -> dict:
    """Each work as a function returning its long table (``bench.run.KEYS`` and the numbers)."""
    def median():
        q = _build(data).quantile("wait_minutes", 0.5, interval="mean", rule="math")
        return _long(q.to_frame(), "median", "wait_minutes", "all")

    def ratio():
        r = _build(data).ratio("complaints_resolved", "complaints_made")
        return _long(r.to_frame(), "ratio", "complaints_resolved/complaints_made", "all")

    def glm():
        t = _build(data).glm(GLM_FORMULA, family="binomial").to_frame()
        t = t.rename(columns={"coef": "estimate"})
        return _long(t, "glm", t.index.astype(str).to_numpy(), "all")

    def bootstrap():
        rep = _build(data).replicate("bootstrap", replicates=REPLICATES, seed=seed)
        return project.target_table(rep, survey.indicators, DOMAINS, 0.95).assign(
            work="bootstrap")

    def index():
        res = satisfaction_index(_build(data), PLS_BLOCKS["SAT"], scales=(1, 10),
                                 weights="pls", model=PLS_MODEL, replicates=REPLICATES,
                                 seed=seed)
        return _long(res.to_frame(), "index", "SAT", "all")

    def drivers(p: int):
        def work():
            kd = key_drivers(_build(data), "overall", ASPECTS[:p], scale=(1, 5),
                             replicates=REPLICATES, seed=seed).to_frame()
            frame = kd.rename(columns={"importance": "estimate"})
            return _long(frame, f"drivers{p}", kd.index.to_numpy(), "all")
        return work

    return {"median": median, "ratio": ratio, "glm": glm, "bootstrap": bootstrap,
            "index": index, "drivers4": drivers(4), "drivers8": drivers(8)}


def bootstrap_factors(data: pd.DataFrame, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The project's bootstrap multipliers (PSUs x replicates) and each row's PSU number
    (0-based, into the multipliers' rows) -- what the peers are given."""
    design = _build(data)
    rep = design.replicate("bootstrap", replicates=REPLICATES, seed=seed)
    rw = rep.replicate_weights.to_numpy()
    w = design.weights.to_numpy()
    psu_codes = np.asarray(design.psu_codes)
    factors = np.empty((int(psu_codes.max()) + 1, REPLICATES))
    factors[psu_codes] = rw / w[:, None]
    return factors, psu_codes


# ------------------------------------------------------------------------------------------
# svy
# ------------------------------------------------------------------------------------------

def svy_works(survey: Survey, frame, rep_frame) -> dict:
    """svy's calls, on polars frames prepared outside the timing."""
    import svy

    def median():
        est = peer_svy.build(frame).estimation.median("wait_minutes", q_method="higher",
                                                       drop_nulls=True)
        t = est.to_polars().to_pandas()
        return pd.DataFrame({"work": "median", "indicator": "wait_minutes", "by": "",
                             "domain": "all", "estimate": t["est"], "se": t["se"],
                             "ci_low": t["lci"], "ci_high": t["uci"]})

    def ratio():
        est = peer_svy.build(frame).estimation.ratio("complaints_resolved", "complaints_made",
                                                      drop_nulls=True)
        t = est.to_polars().to_pandas()
        return pd.DataFrame({"work": "ratio", "indicator": "complaints_resolved/complaints_made",
                             "by": "", "domain": "all", "estimate": t["est"], "se": t["se"],
                             "ci_low": t["lci"], "ci_high": t["uci"]})

    def glm():
        cats = survey.data
        x = [svy.Cat("sex", ref=cats["sex"].cat.categories[0]),
             svy.Cat("age_group", ref=cats["age_group"].cat.categories[0]),
             svy.Cat("district", ref=cats["district"].cat.categories[0]), "wait_minutes"]
        fit = peer_svy.build(frame).glm.fit("consumer_environment_satisfaction", x=x,
                                            family="binomial")
        return _svy_glm_table(fit.to_polars().to_pandas(), cats)

    def bootstrap():
        sample = svy.Sample(rep_frame, svy.Design(
            stratum=DESIGN["strata"], psu=DESIGN["psu"], wgt=DESIGN["weights"],
            rep_wgts=svy.BootstrapWgts(prefix="rw", n_reps=REPLICATES,
                                       scale=1.0 / (REPLICATES - 1),
                                       df=REPLICATES - 1)))
        return peer_svy.target_table(sample, survey.indicators, DOMAINS, 0.95,
                                     method="replication").assign(work="bootstrap")

    return {"median": median, "ratio": ratio, "glm": glm, "bootstrap": bootstrap}


def _svy_glm_table(t: pd.DataFrame, cats: pd.DataFrame) -> pd.DataFrame:
    """svy's coefficient table (terms ``_intercept_``, ``sex_female``...) with R's names
    (``(Intercept)``, ``sexfemale``...)."""
    names = {"_intercept_": "(Intercept)"}
    for var in ("sex", "age_group", "district"):
        names |= {f"{var}_{level}": f"{var}{level}" for level in cats[var].cat.categories}
    return pd.DataFrame({"work": "glm", "indicator": t["term"].map(lambda x: names.get(x, x)),
                         "by": "", "domain": "all", "estimate": t["estimate"].to_numpy(float),
                         "se": t["std_err"].to_numpy(float),
                         "ci_low": t["conf_low"].to_numpy(float),
                         "ci_high": t["conf_high"].to_numpy(float)})


def run_svy(survey: Survey, data: pd.DataFrame, works: list[str], args,
            factors_psu) -> Outcome:
    if peer_svy.version() is None:
        return Outcome(notes=["svy is not installed (pip install -r bench/requirements.txt)"])
    out = Outcome()
    peer_svy.to_polars(data.head())  # import polars and pyarrow before timing
    t0 = time.perf_counter()
    frame = peer_svy.to_polars(data)
    out.extra["convert"] = time.perf_counter() - t0
    rep_frame = None
    if "bootstrap" in works:
        import polars as pl
        factors, psu_codes = factors_psu
        rw = factors[psu_codes] * data["weight"].to_numpy()[:, None]
        rep_frame = frame.with_columns(
            [pl.Series(f"rw{r + 1}", rw[:, r]) for r in range(REPLICATES)])
    fns = svy_works(survey, frame, rep_frame)
    for work in [w for w in works if w in fns]:
        try:
            timing, table = time_runs(fns[work], args.repeat_peer)
        except Exception as exc:   # a peer's failure is reported, not fatal
            out.notes.append(f"{work}: svy failed: {type(exc).__name__}: {exc}"[:600])
            continue
        out.timings[work] = timing
        out.tables.append(table)
        if not args.no_memory:
            out.memory[work] = {"rss": rss_peak(fns[work])}
    return out


# ------------------------------------------------------------------------------------------
# R
# ------------------------------------------------------------------------------------------

def run_r(survey: Survey, data: pd.DataFrame, works: list[str], args, workdir: Path,
          factors_psu) -> Outcome:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return Outcome(notes=["R is not installed (Debian: apt-get install r-cran-survey)"])
    r_works = [w for w in works if w in R_WORKS]
    if not r_works:
        return Outcome()
    cols = list(DESIGN.values()) + list(DOMAINS) + [i.name for i in survey.indicators] + [
        "wait_minutes", "complaints_made", "complaints_resolved"]
    data[cols].to_csv(workdir / "survey.csv", index=False)
    pd.DataFrame([(i.name, i.statistic) for i in survey.indicators],
                 columns=["name", "statistic"]).to_csv(workdir / "indicators.csv", index=False)
    pd.DataFrame([(c, str(x)) for c in DOMAINS for x in data[c].cat.categories],
                 columns=["variable", "level"]).to_csv(workdir / "levels.csv", index=False)
    if "bootstrap" in r_works:
        factors, psu_codes = factors_psu
        pd.DataFrame(factors).to_csv(workdir / "factors.csv", index=False, float_format="%.17g")
        pd.DataFrame({"psu_row": psu_codes + 1}).to_csv(workdir / "psu_rows.csv", index=False)
    proc = subprocess.run([rscript, str(ROOT / "bench" / "peer_r_toolbox.R"), str(workdir),
                           ",".join(r_works), str(args.r_repeat), GLM_FORMULA],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return Outcome(notes=[f"R failed: {proc.stderr.strip()[-2000:]}"])
    out = Outcome(notes=[proc.stdout.strip()])
    timings = pd.read_csv(workdir / "r_timings.csv")
    out.extra["read"] = float(timings.loc[timings["work"] == "read", "wall"].iloc[0])
    for work in r_works:
        t = timings[timings["work"] == work]
        out.timings[work] = Timing(t["wall"].tolist(), t["cpu"].tolist())
        out.memory[work] = {"rss": float(t["peak_bytes"].max())}
    table = pd.read_csv(workdir / "r_estimates.csv", dtype={"by": str, "domain": str},
                        encoding="utf-8")
    table["by"] = table["by"].fillna("")
    out.tables.append(table)
    return out


# ------------------------------------------------------------------------------------------
# Report and main
# ------------------------------------------------------------------------------------------

def report(n: int, outcomes: dict[str, Outcome], checks: list[dict]) -> str:
    mine = outcomes["project"]
    lines = [f"\n== toolbox, n = {n:,} interviews",
             f"{'work':<10}{'tool':<9}{'wall':>10}{'cpu':>10}{'vs project':>12}{'peak mem':>11}"
             "   (peak mem: project tracemalloc, peers resident-set growth)"]
    for work in WORKS:
        if work not in mine.timings:
            continue
        base = mine.timings[work].best()[0]
        for tool, out in outcomes.items():
            if work not in out.timings:
                continue
            wall, cpu = out.timings[work].best()
            ratio = "" if tool == "project" else f"{wall / base:.1f}x"
            memory = out.memory.get(work, {})
            mem = memory.get("traced", memory.get("rss"))
            lines.append(f"{work:<10}{tool:<9}{_fmt_s(wall):>10}{_fmt_s(cpu):>10}"
                         f"{ratio:>12}{_fmt_mb(mem):>11}")
    if "svy" in outcomes and "convert" in outcomes["svy"].extra:
        lines.append(f"svy: pandas -> polars conversion {_fmt_s(outcomes['svy'].extra['convert'])}"
                     " (not in its times)")
    if "r" in outcomes and "read" in outcomes["r"].extra:
        lines.append(f"R: reading the CSVs {_fmt_s(outcomes['r'].extra['read'])}"
                     " (not in its times)")
    lines += agreement_lines(checks)
    for tool, out in outcomes.items():
        lines += [f"{tool}: {note}" for note in out.notes]
    for work in WORKS:
        if work not in mine.timings:
            continue
        wall = mine.timings[work].best()[0]
        if work in SECONDS_GOALS:
            met = "met" if wall < SECONDS_GOALS[work] else "NOT met"
            lines.append(f"goal {work} < {SECONDS_GOALS[work]:g} s: {wall:.3f} s, {met}")
        for peer, factor in RATIO_GOALS.items():
            if peer in outcomes and work in outcomes[peer].timings:
                ratio = outcomes[peer].timings[work].best()[0] / wall
                lines.append(f"goal {work} >= {factor:g}x faster than {peer}: {ratio:.1f}x, "
                             f"{'met' if ratio >= factor else 'NOT met'}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    p.add_argument("--peers", nargs="*", choices=PEERS, default=list(PEERS))
    p.add_argument("--works", nargs="+", choices=WORKS, default=list(WORKS))
    p.add_argument("--repeat", type=int, default=3,
                   help="runs of each project work; the best is reported (default 3)")
    p.add_argument("--repeat-peer", type=int, default=1, help="runs of each svy work (default 1)")
    p.add_argument("--r-repeat", type=int, default=1, help="runs of each work in R (default 1)")
    p.add_argument("--seed", type=int, default=20261126)
    p.add_argument("--no-memory", action="store_true", help="skip the memory runs")
    p.add_argument("--json", type=Path, help="also write every measurement to this file")
    args = p.parse_args(argv)
    if min(args.sizes) < 1000 or min(args.repeat, args.repeat_peer, args.r_repeat) < 1:
        p.error("--sizes must be >= 1000 and the repeats >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    info = machine() | {"OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS")}
    print("machine: " + ", ".join(f"{k} {v}" for k, v in info.items()), flush=True)
    results, all_ok = [], True
    with tempfile.TemporaryDirectory(prefix="survey-toolbox-") as tmp:
        for n in args.sizes:
            survey = make_survey(n, seed=args.seed)
            data = add_toolbox_columns(survey, args.seed)
            fns = project_works(survey, data, args.seed)
            mine = Outcome()
            for work in args.works:
                timing, table = time_runs(fns[work], args.repeat)
                mine.timings[work] = timing
                mine.tables.append(table)
                if not args.no_memory:
                    mine.memory[work] = {"traced": traced_peak(fns[work])}
            outcomes = {"project": mine}
            factors_psu = (bootstrap_factors(data, args.seed)
                           if "bootstrap" in args.works and args.peers else None)
            if "svy" in args.peers:
                outcomes["svy"] = run_svy(survey, data, args.works, args, factors_psu)
            if "r" in args.peers:
                outcomes["r"] = run_r(survey, data, args.works, args, Path(tmp), factors_psu)
            checks = []
            theirs_all = {p: outcomes[p].estimates() for p in PEERS if p in outcomes}
            for peer, theirs in theirs_all.items():
                if theirs is not None:
                    checks += agreement(mine.estimates(), theirs, peer, TOLERANCES)
            all_ok &= all(c["ok"] for c in checks)
            print(report(n, outcomes, checks), flush=True)
            results.append({"n": n, "tools": {k: _serialise(v) for k, v in outcomes.items()},
                            "agreement": checks})
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "args": vars(args) | {
            "json": str(args.json)}, "results": results}, indent=1, default=str))
    if not all_ok:
        print("\nFAIL: a peer's numbers disagree with the project's", file=sys.stderr)
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
