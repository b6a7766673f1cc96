"""The designs of tests/reference/survey_reference.R, built with :mod:`analysis`.

Each name matches the R object of the same name in the R script, so that a reference case
``"<design>/<statistic>/<variable>[/<method>][/by=a+b]"`` can be recomputed here.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import ReplicateDesign, SurveyDesign

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
REFERENCE_DIR = PROJECT_ROOT / "tests" / "reference"
API_DIR = PROJECT_ROOT / "tests" / "reference" / "api"
SURVEY_DATA_DIR = PROJECT_ROOT / "tests" / "reference" / "survey_data"

POP_STYPE = {"E": 4421, "H": 755, "M": 1018}
SEX_POP = {"男": 3900000, "女": 3826635}
AGE_POP = {"18-34": 2000000, "35-59": 3300000, "60+": 2426635}
POP_RACE = {1: 45000000, 2: 190000000, 3: 35000000, 4: 21000000}
DISTRICT_POP = {"崇川区": 1183740, "开发区": 332273, "通州区": 1258739, "海门区": 991782,
                "如东县": 880006, "启东市": 967313, "如皋市": 1238448, "海安市": 874334}


def read_api(name: str) -> pd.DataFrame:
    df = pd.read_csv(API_DIR / f"{name}.csv")
    if "sch.wide" in df:
        df["sw"] = (df["sch.wide"] == "Yes").astype(float)
        df["aw"] = (df["awards"] == "Yes").astype(float)
        df["yr"] = (df["yr.rnd"] == "Yes").astype(float)
    return df


def read_nantong() -> pd.DataFrame:
    return pd.read_csv(REFERENCE_DIR / "nantong_sample.csv", encoding="utf-8")


def read_survey_data(name: str) -> pd.DataFrame:
    """R's ``data(nhanes)`` or ``data(yrbs)`` (yrbs with R's example ``qn8yes = 2 - qn8``)."""
    df = pd.read_csv(SURVEY_DATA_DIR / f"{name}.csv")
    if name == "yrbs":
        df["qn8yes"] = 2 - df["qn8"]
    return df


def api_pairs(apistrat: pd.DataFrame) -> pd.DataFrame:
    """apistrat with strata ``pair`` 1..100: schools paired within school type by snum."""
    out = apistrat.copy()
    order = np.lexsort((out["snum"].to_numpy(), out["stype"].to_numpy()))
    pair = np.empty(len(out), np.int64)
    pair[order] = np.arange(len(out)) // 2 + 1
    out["pair"] = pair
    return out


def _bootstrap(design: SurveyDesign, name: str) -> ReplicateDesign:
    factors = pd.read_csv(REFERENCE_DIR / f"bootstrap_{name}.csv").to_numpy()
    R = factors.shape[1]
    return ReplicateDesign.from_factors(design, factors, method="bootstrap", scale=1 / (R - 1),
                                        rscales=np.ones(R))


@lru_cache(maxsize=None)
def designs() -> dict:
    apistrat, apiclus1 = read_api("apistrat"), read_api("apiclus1")
    apiclus2, apisrs, apipop = read_api("apiclus2"), read_api("apisrs"), read_api("apipop")
    pop_schwide = apipop["sch.wide"].value_counts().to_dict()
    pop_awards = apipop["awards"].value_counts().to_dict()
    d: dict = {}
    d["dstrat"] = SurveyDesign(apistrat, weights="pw", strata="stype", fpc="fpc")
    d["dstrat_nofpc"] = SurveyDesign(apistrat, weights="pw", strata="stype")
    d["dclus1"] = SurveyDesign(apiclus1, weights="pw", psu="dnum", fpc="fpc")
    d["dclus1_nofpc"] = SurveyDesign(apiclus1, weights="pw", psu="dnum")
    d["dsrs"] = SurveyDesign(apisrs, fpc="fpc")
    d["dclus2"] = SurveyDesign(apiclus2, psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    d["dclus2_uc"] = SurveyDesign(apiclus2, weights="pw", psu=["dnum", "snum"])
    d["ps1"] = d["dclus1"].poststratify("stype", POP_STYPE)
    d["rk1"] = d["dclus1"].rake({"stype": POP_STYPE, "sch.wide": pop_schwide})
    d["psrk1"] = d["ps1"].rake({"sch.wide": pop_schwide, "awards": pop_awards})
    d["rkstrat"] = d["dstrat"].rake({"sch.wide": pop_schwide, "awards": pop_awards})
    d["tr1"] = d["dstrat"].trim(upper=40)
    d["tr3"] = d["ps1"].trim(upper=38)
    d["tr4"] = d["dstrat"].trim(lower=20, upper=40, strict=True)
    d["jkstrat"] = d["dstrat"].replicate("jkn")
    d["jkclus1"] = d["dclus1"].replicate("jkn")
    d["jkrk1"] = d["jkclus1"].rake({"stype": POP_STYPE, "sch.wide": pop_schwide})
    d["jkps1"] = d["jkclus1"].poststratify("stype", POP_STYPE)
    d["bsstrat"] = _bootstrap(d["dstrat"], "apistrat")
    d["bsrk"] = d["bsstrat"].rake({"sch.wide": pop_schwide, "awards": pop_awards})

    nt = read_nantong()
    d["dnt"] = SurveyDesign(nt, weights="weight", strata="district", psu="community",
                            fpc="fpc", nest=True)
    d["dnt_nofpc"] = SurveyDesign(nt, weights="weight", strata="district", psu="community",
                                  nest=True)
    d["rknt"] = d["dnt"].rake({"sex": SEX_POP, "age_group": AGE_POP})
    d["psnt"] = d["dnt"].poststratify("age_group", AGE_POP)
    d["psdist"] = d["dnt"].poststratify("district", DISTRICT_POP)
    ntl = nt[~((nt["district"] == "开发区") & (nt["community"] != "C01"))].reset_index(drop=True)
    for rule in ("remove", "certainty", "adjust", "average"):
        des = SurveyDesign(ntl, weights="weight", strata="district", psu="community",
                           fpc="fpc", nest=True, lonely_psu=rule)
        d[f"dlonely_{rule}"] = des
        d[f"jk_dlonely_{rule}"] = des.replicate("jkn")
    d["jknt"] = d["dnt"].replicate("jkn")
    d["jkrknt"] = d["jknt"].rake({"sex": SEX_POP, "age_group": AGE_POP})
    d["bsnt"] = _bootstrap(d["dnt"], "nantong")
    d["bsrknt"] = d["bsnt"].rake({"sex": SEX_POP, "age_group": AGE_POP})

    nhanes = read_survey_data("nhanes")
    d["dnhanes"] = SurveyDesign(nhanes, weights="WTMEC2YR", strata="SDMVSTRA", psu="SDMVPSU",
                                nest=True)
    d["dyrbs"] = SurveyDesign(read_survey_data("yrbs"), weights="weight", strata="stratum",
                              psu="psu", nest=True)
    d["psnhanes"] = d["dnhanes"].poststratify("race", POP_RACE)
    d["jknhanes"] = d["dnhanes"].replicate("jkn")
    d["jkpsnhanes"] = d["jknhanes"].poststratify("race", POP_RACE)
    nhanes2 = nhanes[nhanes["SDMVPSU"] != 3].reset_index(drop=True)
    dnhanes2 = SurveyDesign(nhanes2, weights="WTMEC2YR", strata="SDMVSTRA", psu="SDMVPSU",
                            nest=True)
    d["brrnhanes"] = dnhanes2.replicate("brr")
    d["faynhanes"] = dnhanes2.replicate("fay")                  # fay_rho 0.5
    dpairs = SurveyDesign(api_pairs(apistrat), weights="pw", strata="pair")
    d["brrpairs"] = dpairs.replicate("brr")
    d["faypairs"] = dpairs.replicate("fay", fay_rho=0.3)
    return d


def domain_label(index_value) -> str:
    """The R script's domain label of a result-table index value."""
    if isinstance(index_value, tuple):
        return "|".join(_label(v) for v in index_value)
    return _label(index_value)


def _label(v) -> str:
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def compute(case: str) -> pd.DataFrame:
    """Recompute a reference case; returns a table indexed by R's domain labels."""
    d = designs()
    parts = case.split("/")
    name = parts[0]
    des = d[name]
    if parts[1] == "degf":
        return pd.DataFrame({"df": [des.degf]}, index=["all"])
    if parts[1] == "repweights":
        rw = des.replicate_weights.to_numpy()
        rows = np.arange(1, rw.shape[0] + 1)
        table = {"scale": des.scale}
        for r in range(rw.shape[1]):
            table[f"{r + 1}"] = rw[:, r].sum()
            table[f"{r + 1}|row"] = rw[:, r] @ rows
            table[f"{r + 1}|rscale"] = des.rscales[r]
        return pd.DataFrame({"weight": pd.Series(table)})
    if parts[1] == "weights":
        w = des.weights.to_numpy()
        return pd.DataFrame({"weight": w}, index=[str(i + 1) for i in range(len(w))])
    by = None
    rest = parts[1:]
    if rest[-1].startswith("by="):
        by = rest[-1][3:].split("+")
        rest = rest[:-1]
    statistic, variable = rest[0], rest[1]
    if statistic == "mean" and len(rest) > 2 and rest[2] == "deff=replace":
        est = des.mean(variable, by=by, deff="replace")
    elif statistic in ("mean", "svyby"):
        est = des.mean(variable, by=by, deff=True)
    elif statistic == "total":
        est = des.total(variable, by=by, deff=True)
    elif statistic == "prop" and variable == "q1==满意":
        table = des.frequencies("q1", ci_method=rest[2]).to_frame().loc[["满意"]]
        table.index = ["all"]
        return table
    elif statistic == "prop":
        est = des.proportion(variable, by=by, ci_method=rest[2])
    elif statistic == "freq":
        est = des.frequencies(variable, by=by)
    else:  # pragma: no cover
        raise KeyError(case)
    table = est.to_frame()
    table.index = [domain_label(v) for v in table.index]
    return table
