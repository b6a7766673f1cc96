"""The R commands (R's ``survey`` package) that give the same numbers as an analysis of the app.

Shown beside every result of the Statistics page's further analyses, so that a statistician
can check a number in R; pure functions of the design and the analysis' arguments (no
Streamlit).  The data frame is called ``d`` and the design ``des``.

Examples
--------
>>> print(quantile_call("tourist_score", [0.5], by=None, interval="mean", rule="math",
...                     level=0.95))
svyquantile(~tourist_score, des, c(0.5), ci = TRUE, alpha = 0.05, interval.type = "mean", qrule = "math", na.rm = TRUE)
"""
from __future__ import annotations

import json
import re
from collections.abc import Sequence

from analysis import SurveyDesign

__all__ = ["design_call", "quantile_call", "ratio_call", "chisq_call", "compare_call",
           "wave_change_call", "r_name", "r_string"]


_SYNTACTIC = re.compile(r"(?:[A-Za-z]|\.(?![0-9]))[A-Za-z0-9._]*")


def r_name(column: str) -> str:
    """A column name as R reads it in a formula (backquoted unless syntactic: R names start
    with a letter, or a dot not followed by a digit)."""
    return column if _SYNTACTIC.fullmatch(column) else "`" + column.replace("`", "") + "`"


def r_string(value: object) -> str:
    """A value as an R string literal (JSON's escapes are R's: quotes, backslashes, control
    characters; other characters kept as they are)."""
    return json.dumps(str(value), ensure_ascii=False)


def _formula(columns: Sequence[str]) -> str:
    return "~" + " + ".join(r_name(c) for c in columns)


def _numbers(values: Sequence[float]) -> str:
    return "c(" + ", ".join(f"{v:g}" for v in values) + ")"


def design_call(design: SurveyDesign, *, data_note: str | None = None) -> str:
    """``des <- svydesign(...)`` for ``design``, after the comment ``data_note`` (what ``d``
    holds, in the reader's language), then one comment line per weighting step."""
    spec = design.structure.spec
    parts = ["ids = " + (_formula(spec["psu"]) if spec["psu"] else "~1")]
    if spec["strata"]:
        parts.append("strata = " + _formula([spec["strata"]]))
    lines = _svydesign_lines(spec, parts, data_note)
    lines.extend(f"# + {step}: postStratify / calibrate(..., calfun = \"raking\")"
                 for step in design.history)
    return "\n".join(lines)


def _svydesign_lines(spec: dict, parts: list[str], data_note: str | None) -> list[str]:
    """The comment on ``d``, the lonely-PSU option and ``des <- svydesign(...)`` with the ids
    and strata ``parts`` and the fpc, weights and nesting of the design ``spec``."""
    parts = list(parts)
    if spec["fpc"]:
        parts.append("fpc = " + _formula(spec["fpc"]))
    if spec["weights"]:
        parts.append("weights = " + _formula([spec["weights"]]))
    if spec["nest"]:
        parts.append("nest = TRUE")
    lines = [f"# {data_note}"] if data_note else []
    if spec["lonely_psu"] != "fail":
        lines.append(f'options(survey.lonely.psu = {r_string(spec["lonely_psu"])})')
    lines.append("des <- svydesign(" + ", ".join(parts) + ", data = d)")
    return lines


def quantile_call(variable: str, probs: Sequence[float], *, by: str | None, interval: str,
                  rule: str, level: float) -> str:
    """``svyquantile`` (by domain: ``svyby(..., svyquantile)``)."""
    opts = (f"ci = TRUE, alpha = {1 - level:g}, interval.type = {r_string(interval)}, "
            f"qrule = {r_string(rule)}, na.rm = TRUE")
    if by:
        return (f"svyby(~{r_name(variable)}, {_formula([by])}, des, svyquantile, "
                f"quantiles = {_numbers(probs)}, {opts})")
    return f"svyquantile(~{r_name(variable)}, des, {_numbers(probs)}, {opts})"


def ratio_call(numerator: str, denominator: str, *, by: str | None, level: float) -> str:
    """``svyratio`` with its interval (``confint(..., df = degf(des))``)."""
    if by:
        call = (f"svyby(~{r_name(numerator)}, {_formula([by])}, des, svyratio, "
                f"denominator = ~{r_name(denominator)}, na.rm = TRUE)")
    else:
        call = f"svyratio(~{r_name(numerator)}, ~{r_name(denominator)}, des, na.rm = TRUE)"
    return f"r <- {call}\nconfint(r, level = {level:g}, df = degf(des))"


def chisq_call(row: str, col: str, *, statistic: str) -> str:
    """``svytable`` of the two variables and ``svychisq``."""
    formula = _formula([row, col])
    return (f"prop.table(svytable({formula}, des), 1)\n"
            f"svychisq({formula}, des, statistic = {r_string(statistic)})")


def compare_call(variable: str, by: str, *, statistic: str, reference: str | None,
                 adjust: str) -> str:
    """Every domain against the rest (or a reference domain): ``svyby(covmat = TRUE)`` and
    ``svycontrast`` (the rest's row is ``FALSE``: ``c(-1, 1)`` is the domain minus the rest; a
    proportion is the mean of its 0/1 indicator), p-values adjusted with ``p.adjust``."""
    y = f"~{r_name(variable)}"
    fun = "svymean"
    if reference is None:
        body = (f"ds <- sort(unique(d${r_name(by)}))\n"
                f"res <- t(sapply(ds, function(x) {{\n"
                f"  b <- svyby({y}, ~I({r_name(by)} == x), des, {fun}, covmat = TRUE, na.rm = TRUE)\n"
                f"  ct <- svycontrast(b, c(-1, 1))\n"
                f"  c(difference = coef(ct), se = SE(ct))\n"
                f"}}))")
    else:
        body = (f"b <- svyby({y}, {_formula([by])}, des, {fun}, covmat = TRUE, na.rm = TRUE)\n"
                f"ref <- {r_string(reference)}\n"
                f"res <- t(sapply(rownames(b), function(x) {{\n"
                f"  k <- setNames(rep(0, nrow(b)), rownames(b)); k[x] <- 1; k[ref] <- k[ref] - 1\n"
                f"  ct <- svycontrast(b, k)\n"
                f"  c(difference = coef(ct), se = SE(ct))\n"
                f"}}))")
    return (f"{body}\n"
            f"p <- 2 * pt(-abs(res[, 1] / res[, 2]), df = degf(des))\n"
            f"p.adjust(p, method = {r_string(adjust)})")


def wave_change_call(design: SurveyDesign, variable: str, waves: Sequence[str], *, strata: str, psu: str,
                     wave: str = "wave", by: str | None, level: float, adjust: str,
                     data_note: str | None = None) -> str:
    """The change between two waves (issue 15): the waves stacked (``rbind``) into ``d``, the design
    with strata = wave x ``strata`` and PSUs = wave x ``psu`` (fpc, weights and lonely-PSU rule of
    ``design``, the stacked design of :func:`survey_app.change.stacked_design`), ``svyby(covmat =
    TRUE)`` by wave (and ``by``) and ``svycontrast`` of the later minus the earlier wave, with its
    interval and p-value on the design's degrees of freedom (by domain: adjusted with ``p.adjust``).
    A proportion is the mean of its 0/1 indicator."""
    spec = design.structure.spec
    w = r_name(wave)
    parts = [f"ids = ~interaction({w}, {r_name(psu)})", f"strata = ~interaction({w}, {r_name(strata)})"]
    lines = _svydesign_lines(spec, parts, data_note)
    lines.extend(f"# + {step}: each wave calibrated to its own margins (calibrate(..., calfun = \"raking\") on "
                 f"interaction({wave}, variable))" for step in design.history)
    a, b = (r_string(x) for x in waves)
    y = f"~{r_name(variable)}"
    if by is None:
        lines += [f"est <- svyby({y}, {_formula([wave])}, des, svymean, covmat = TRUE, na.rm = TRUE)",
                  f"ct <- svycontrast(est, setNames(c(-1, 1), c({a}, {b})))",
                  f"confint(ct, level = {level:g}, df = degf(des))",
                  "p <- 2 * pt(-abs(coef(ct) / SE(ct)), df = degf(des))"]
        return "\n".join(lines)
    d = r_name(by)
    lines += [f"est <- svyby({y}, {_formula([wave, by])}, des, svymean, covmat = TRUE, na.rm = TRUE)",
              f"ds <- intersect(est${d}[est${w} == {a}], est${d}[est${w} == {b}])",
              "res <- t(sapply(ds, function(x) {",
              "  k <- setNames(rep(0, nrow(est)), rownames(est))",
              f"  k[paste({a}, x, sep = \".\")] <- -1; k[paste({b}, x, sep = \".\")] <- 1",
              "  ct <- svycontrast(est, k)",
              "  c(difference = coef(ct), se = SE(ct))",
              "}))",
              "p <- 2 * pt(-abs(res[, 1] / res[, 2]), df = degf(des))",
              f"p.adjust(p, method = {r_string(adjust)})"]
    return "\n".join(lines)
