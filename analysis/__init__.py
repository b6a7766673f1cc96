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
    Weighting (each returns a new design):
    ``rake(margins, max_iter=100, tol=1e-10)``, ``poststratify(variables, totals,
    partial=False)``, ``trim(lower=None, upper=None, strict=False)``,
    ``adjust_nonresponse(responded, classes=None, covariates=None, method="classes",
    n_classes=None)``, ``with_weights(weights)``.
    Replicates: ``replicate(method="jkn"|"bootstrap", replicates=500, seed=None, mse=False)``
    returns a :class:`ReplicateDesign` with the same estimators and ``rake``/``poststratify``
    (redone in every replicate); ``ReplicateDesign.from_factors(design, factors, method=,
    scale=, rscales=)`` builds one from given replicate multipliers.
Estimate
    Frozen result: ``to_frame()`` (columns ``estimate, se, ci_low, ci_high, df, n, n_eff,
    deff``; one row per domain, index ``"all"`` (:data:`OVERALL`) without ``by``, a
    MultiIndex for several ``by`` variables; frequencies are indexed by category or
    ``(domain..., category)`` and add ``count`` and ``weighted_count``), ``summary()``
    (text, never printed), ``notes``, and ``estimate``/``se``/``ci``/``df`` for single-row
    results.
design_weights(probs, *more_stages)
    Design weights from inclusion probabilities.
key_drivers(design, outcome, drivers, *, scale, method="shapley"|"relative_weights", ...)
    Importance of each driver for an outcome (LMG/Shapley decomposition of R², Johnson's
    relative weights) from survey-weighted regressions, with replicate-weight intervals, and
    each driver's performance on 0-100 (:class:`KeyDrivers`).
plspm(data, *, blocks, inner, modes=None, scheme="centroid", scaled=False, weights=None)
    PLS path modelling as R's ``plspm::plspm`` (:class:`PLSResult`), with survey weights.
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
from .weighting import design_weights
from .drivers import KeyDrivers, key_drivers
from .pls import PLSModelError, PLSResult, plspm

__all__ = [
    "SurveyDesign",
    "ReplicateDesign",
    "Estimate",
    "OVERALL",
    "RESULT_COLUMNS",
    "CI_METHODS",
    "LONELY_PSU_OPTIONS",
    "design_weights",
    "key_drivers",
    "KeyDrivers",
    "plspm",
    "PLSResult",
    "PLSModelError",
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
