"""Design-based survey estimation that agrees with R's ``survey`` package.

Public API
----------
SurveyDesign(data, weights=None, strata=None, psu=None, fpc=None, *, probs=None,
             lonely_psu="fail", nest=False)
    A stratified multi-stage design.  Properties: ``degf``, ``weights``, ``n_effective``
    (Kish), ``n_psu``, ``n_strata``, ``psu_codes``, ``lonely_psu``, ``calibrated``,
    ``history``, ``data``; ``describe()``, ``summary()``.
    Estimators (each returns an :class:`Estimate`):
    ``mean(var, by=None, level=0.95, deff=False, na_rm=True)``,
    ``total(var, by=None, level=0.95, deff=False, na_rm=True)``,
    ``proportion(var, by=None, ci_method="logit", level=0.95, deff=False, na_rm=True)``,
    ``frequencies(var, by=None, ci_method="logit", level=0.95, deff=False, na_rm=True)``.
    Quantiles, ratios, variance (R: ``svyquantile``, ``svyratio``, ``svyvar``):
    ``quantile(var, probs, *, by=None, level=0.95, interval="mean"|"beta"|"xlogit"|"asin"|
    "score"|"quantile", rule="math"|"school"|"shahvaish"|"hf1".."hf9", na_rm=True)`` (one
    row per (domain, probability); "score" on linearisation, "quantile" on replicate
    designs), ``ratio(numerator, denominator, *, by=None, level=0.95, na_rm=True)``,
    ``variance(var, *, level=0.95, na_rm=True)``.
    Comparisons: ``compare(var, by, *, statistic="mean"|"proportion", reference=None,
    level=0.95, adjust="holm"|"bonferroni"|"BH"|"none", ci_method=None)`` -- every domain
    against the rest of the population or a reference domain (:class:`Comparison`; R:
    ``svyby(covmat=TRUE)`` + ``svycontrast`` + ``p.adjust``).
    Models and tests: ``glm(formula, *, family="gaussian"|"binomial"|"quasibinomial"|
    "poisson", level=0.95)`` (:class:`RegressionResult`: ``to_frame()`` with ``coef, se, t,
    df, p, ci_low, ci_high``, ``vcov()``, ``summary()``; R: ``svyglm``),
    ``ttest(var, group, *, level=0.95)`` (:class:`TTestResult`; R: ``svyttest(var ~
    group)``), ``chisq(row, col, *, statistic="F"|"Chisq"|"Wald"|"adjWald")``
    (:class:`ChisqResult`; R: ``svychisq(~row + col, statistic=)``).
    Weighting (each returns a new design):
    ``rake(margins, max_iter=100, tol=1e-10)``, ``poststratify(variables, totals,
    partial=False)``, ``trim(lower=None, upper=None, strict=False)``,
    ``adjust_nonresponse(responded, classes=None, covariates=None, method="classes",
    n_classes=None)``, ``with_weights(weights)``, ``calibrate(totals, *, calfun="linear"|
    "raking"|"logit", bounds=None, max_iter=50, tol=1e-7)`` (R: ``calibrate``; categorical
    and continuous auxiliaries, bounded; SEs that account for it).
    Replicates: ``replicate(method="jkn"|"bootstrap"|"brr"|"fay", replicates=500, seed=None,
    mse=False, fay_rho=None)`` returns a :class:`ReplicateDesign` with the same estimators and ``rake``/``poststratify``
    (redone in every replicate); ``ReplicateDesign.from_factors(design, factors, method=,
    scale=, rscales=)`` builds one from given replicate multipliers.
Estimate
    Frozen result: ``to_frame()`` (columns ``estimate, se, ci_low, ci_high, df, n, n_eff,
    deff``; one row per domain, index ``"all"`` (:data:`OVERALL`) without ``by``, a
    MultiIndex for several ``by`` variables; frequencies are indexed by category or
    ``(domain..., category)`` and add ``count`` and ``weighted_count``), ``summary()``
    (text, never printed), ``notes``, and ``estimate``/``se``/``ci``/``df`` for single-row
    results; ``vcov()`` (the rows' covariance, R: ``vcov(svyby(..., covmat=TRUE))``) and
    ``contrast(coefficients, *, label=None)`` (R: ``svycontrast``, with a t test of zero).
design_weights(probs, *more_stages)
    Design weights from inclusion probabilities.
stack_waves(responses, *, wave="wave", weights=, strata=, psu=, fpc=, nest=, margins=None)
    Two or more waves' responses as one design (strata wave x stratum, PSUs wave x PSU,
    each wave optionally raked to its own margins).
wave_change(design, var, *, wave="wave", waves=None, by=None, statistic="mean"|"proportion",
            level=0.95, ci_method=None, adjust="none")
    Change between consecutive waves of a stacked design, overall or by domain, with SE, CI
    and p (:class:`WaveChange`; R: ``svyby(~y, ~wave, des, svymean, covmat=TRUE)`` +
    ``svycontrast``).
key_drivers(design, outcome, drivers, *, scale, method="shapley"|"relative_weights", ...)
    Importance of each driver for an outcome (LMG/Shapley decomposition of R², Johnson's
    relative weights) from survey-weighted regressions, with replicate-weight intervals, and
    each driver's performance on 0-100 (:class:`KeyDrivers`).
plspm(data, *, blocks, inner, modes=None, scheme="centroid", scaled=False, weights=None)
    PLS path modelling as R's ``plspm::plspm`` (:class:`PLSResult`), with survey weights.
satisfaction_index(design, components, *, scales, weights="equal"|"pls"|{...}, model=None, by=None)
    A 0-100 satisfaction index (ACSI convention) and its sub-indices with design-based
    intervals: fixed weights by linearisation (R: ``svycontrast`` of ``svymean``), PLS weights
    re-estimated in every replicate (:class:`IndexResult`).
Errors: SurveyError > DesignError, VariableError, ReplicateError, WeightingError >
    (MarginError, ConvergenceError).

Examples
--------
>>> from analysis import SurveyDesign
>>> des = SurveyDesign(df, weights="weight", strata="district", psu="psu", fpc="fpc")  # doctest: +SKIP
>>> des.proportion("satisfied", by="district").to_frame()                            # doctest: +SKIP
>>> # In R: svyby(~satisfied, ~district, des, svyciprop, method="logit", vartype="ci")
"""
from .errors import (ConvergenceError, DesignError, MarginError, ReplicateError, SurveyError,
                     VariableError, WeightingError)
from .results import Estimate, OVERALL, RESULT_COLUMNS
from .design import CI_METHODS, LONELY_PSU_OPTIONS, ReplicateDesign, SurveyDesign
from .design import Comparison, WaveChange, stack_waves, wave_change
from .design.regression import RegressionResult
from .design.tests import ChisqResult, TTestResult
from .weighting import design_weights
from .drivers import KeyDrivers, key_drivers
from .pls import PLSModelError, PLSResult, plspm
from .indices import IndexResult, satisfaction_index

__all__ = [
    "SurveyDesign",
    "ReplicateDesign",
    "Estimate",
    "RegressionResult",
    "TTestResult",
    "ChisqResult",
    "OVERALL",
    "RESULT_COLUMNS",
    "CI_METHODS",
    "LONELY_PSU_OPTIONS",
    "design_weights",
    "Comparison",
    "stack_waves",
    "wave_change",
    "WaveChange",
    "key_drivers",
    "KeyDrivers",
    "plspm",
    "PLSResult",
    "PLSModelError",
    "satisfaction_index",
    "IndexResult",
    "SurveyError",
    "DesignError",
    "VariableError",
    "ReplicateError",
    "WeightingError",
    "MarginError",
    "ConvergenceError",
]

# Other modules of analysis/ (sampling, targets) add their imports below this line.
from . import sampling  # noqa: E402
from .passrates import PassRates, clopper_pearson, further_samples, pass_rates  # noqa: E402
