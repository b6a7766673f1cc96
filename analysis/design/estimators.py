"""The estimator layer: one implementation of every estimator over any variance engine.

:class:`Estimators` gives :class:`~analysis.SurveyDesign` (linearisation) and
:class:`~analysis.ReplicateDesign` (replicate weights) the same ``mean``, ``total``,
``proportion`` and ``frequencies``: the argument checks, the domains, the confidence
intervals (:mod:`analysis._ci`) and the :class:`~analysis.Estimate` are formed here; the sums
and the variances come from the design's engine (see :mod:`.engine` for what an engine has).

Depends on :mod:`.engine` (the engine's results), :mod:`analysis._ci` and
:mod:`analysis.results`; never on an engine's module.
"""
from __future__ import annotations

from typing import Literal, Sequence

import numpy as np
import pandas as pd

from .. import _ci
from ..errors import VariableError
from ..results import OVERALL, Estimate, build_table, frequency_index
from .engine import Ratio
from .statistic import DomainMeans
from .quantiles import check_interval, check_probs, check_rule, quantile_table
from .ratios import DomainRatios, WeightedVariance
from .comparisons import Comparison, compare_domains
from .regression import (FAMILIES, Family, RegressionResult, fit_glm, first_stage_df,
                         model_frame)
from .tests import (CHISQ_STATISTICS, ChisqResult, ChisqStatistic, TTestResult, chisq_test,
                    ttest_frame)

__all__ = ["Estimators", "check_level", "check_deff"]


def check_level(level: float) -> None:
    """A confidence level strictly between 0 and 1."""
    if not (isinstance(level, (int, float)) and 0 < level < 1):
        raise VariableError("the confidence level must be between 0 and 1", argument="level",
                            value=level, fix="use e.g. level=0.95")


def check_deff(deff) -> None:
    """``deff`` is True, False or ``"replace"``."""
    if deff not in (True, False, "replace"):
        raise VariableError("deff must be True, False or 'replace'", argument="deff",
                            value=deff, fix="use deff=True (SRS without replacement)")


class Estimators:
    """Estimators of a design over its variance engine (see :mod:`.engine`); a subclass
    defines ``describe()``.

    Parameters
    ----------
    engine
        The design's variance engine.
    """

    def __init__(self, engine) -> None:
        self._engine = engine

    def _check_interval(self, ci_method: str) -> None:
        allowed = self._engine.interval_methods
        if ci_method not in allowed:
            what = ("unknown confidence interval method" if ci_method not in _ci.CI_METHODS
                    else f"the {ci_method} interval is not available for this design")
            raise VariableError(what, argument="ci_method", value=ci_method,
                                fix=f"use one of {', '.join(allowed)}")

    def mean(self, variable: str, by: str | Sequence[str] | None = None, level: float = 0.95,
             deff: bool | str = False, na_rm: bool = True) -> Estimate:
        """Design-based mean (a ratio estimator), overall or by domains.

        Parameters
        ----------
        variable : str
            Numeric (or boolean) column.
        by : str or list of str, optional
            Domain variable(s); one row per domain present among rows of non-zero weight
            (combinations of several variables, as ``svyby(~y, ~a+b, ...)``).  Rows with a
            missing domain value belong to no domain.
        level : float, default 0.95
            Confidence level; intervals are ``estimate -/+ qt(., df) * se`` with the domain's
            design degrees of freedom.
        deff : bool or "replace", default False
            Compute the design effect against SRS without replacement (``"replace"``: with
            replacement), as ``svymean(..., deff=TRUE)``.
        na_rm : bool, default True
            Leave out rows with a missing value (R's ``na.rm=TRUE``: the variance treats the
            rows with values as a domain).  With ``False`` missing values raise.

        Returns
        -------
        Estimate

        Examples
        --------
        >>> des.mean("api00").to_frame()                     # doctest: +SKIP
        >>> # In R: svymean(~api00, des); confint(svymean(~api00, des), df=degf(des))
        >>> des.mean("api00", by="stype", deff=True)         # doctest: +SKIP
        >>> # In R: svyby(~api00, ~stype, des, svymean, deff=TRUE)
        """
        return self._mean_like("mean", variable, by, level, deff, na_rm)

    def total(self, variable: str, by: str | Sequence[str] | None = None, level: float = 0.95,
              deff: bool | str = False, na_rm: bool = True) -> Estimate:
        """Design-based (Horvitz-Thompson) total, overall or by domains.

        Parameters are those of :meth:`mean`.

        Examples
        --------
        >>> des.total("enroll").to_frame()          # doctest: +SKIP
        >>> # In R: svytotal(~enroll, des)
        >>> des.total("enroll", by="stype")         # doctest: +SKIP
        >>> # In R: svyby(~enroll, ~stype, des, svytotal)
        """
        return self._mean_like("total", variable, by, level, deff, na_rm)

    def _mean_like(self, statistic: Literal["mean", "total"], variable, by, level, deff,
                   na_rm) -> Estimate:
        check_level(level)
        check_deff(deff)
        engine = self._engine
        engine.numeric(variable)
        dom = engine.domains(by)
        ratio = engine.ratio(variable, dom, na_rm, total=statistic == "total")
        se = np.sqrt(ratio.var)
        low, high = _ci.wald_ci(ratio.estimate, se, ratio.df, level)
        deff_v = engine.deff(ratio, deff) if deff else np.full(dom.D, np.nan)
        return self._estimate(statistic, variable, dom, level, "t", ratio, low, high, deff_v,
                              covariance=self._means_covariance(variable, dom,
                                                                total=statistic == "total"))

    def proportion(self, variable: str, by: str | Sequence[str] | None = None,
                   ci_method: str = "logit", level: float = 0.95, deff: bool | str = False,
                   na_rm: bool = True) -> Estimate:
        """Proportion of a 0/1 (or boolean) variable, with a confidence interval inside [0, 1].

        Parameters
        ----------
        variable : str
            Column of 0/1 or booleans (missing values allowed with ``na_rm``).
        by : str or list of str, optional
            Domain variable(s).
        ci_method : {"logit", "beta", "mean", "asin", "likelihood", "wilson"}, default "logit"
            ``logit``, ``beta`` (Korn-Graubard), ``mean`` (Wald), ``asin`` and ``likelihood``
            (Rao-Scott scaled profile likelihood) are R's ``svyciprop`` methods and agree with
            it; ``wilson`` is the Wilson score interval with the design effective sample size
            ``p(1-p)/var(p)`` and the t quantile.  Intervals use Student t on the domain's
            design degrees of freedom.  At 0% or 100% (zero design variance) every method
            gives the Clopper-Pearson interval (Wilson's for ``wilson``) for Kish's effective
            sample size, so the interval never collapses to a point.  Wald limits are
            clipped to [0, 1].
        level : float, default 0.95
        deff : bool or "replace", default False
        na_rm : bool, default True

        Returns
        -------
        Estimate

        Raises
        ------
        VariableError
            The column has values other than 0 and 1.

        Examples
        --------
        >>> des.proportion("satisfied", ci_method="logit")     # doctest: +SKIP
        >>> # In R: svyciprop(~satisfied, des, method="logit")
        >>> des.proportion("satisfied", by="district", ci_method="beta")   # doctest: +SKIP
        >>> # In R: svyby(~satisfied, ~district, des, svyciprop, method="beta", vartype="ci")
        """
        self._check_interval(ci_method)
        check_level(level)
        check_deff(deff)
        engine = self._engine
        engine.binary(variable)
        dom = engine.domains(by)
        ratio = engine.ratio(variable, dom, na_rm, total=False)
        lik = (engine.proportion_likelihood(ratio, variable, dom)
               if ci_method == "likelihood" else None)
        rows = engine.proportion_rows(ratio, dom)
        low, high, notes = _ci.proportion_ci(ci_method, ratio.estimate, ratio.var, ratio.df,
                                             level, n_design_rows=rows, n_kish=ratio.n_eff,
                                             lik=lik)
        low, high = engine.adjust_interval(ratio, ci_method, ratio.df, level, low, high)
        deff_v = engine.deff(ratio, deff, binary=True) if deff else np.full(dom.D, np.nan)
        return self._estimate("proportion", variable, dom, level, ci_method, ratio, low, high,
                              deff_v, notes, covariance=self._means_covariance(variable, dom))

    # Covariances of the rows (computed when Estimate.vcov or contrast first asks) ---------
    def design_df(self) -> int:
        """The design's degrees of freedom (R's ``degf``)."""
        engine = self._engine
        return int(engine.domain_df(engine.domains(None))[0])

    def numeric_values(self, column: str) -> np.ndarray:
        """The checked numeric values of ``column`` (NaN where missing), read-only."""
        return self._engine.numeric(column)

    def domain_codes(self, by: str | Sequence[str] | None) -> tuple[np.ndarray, pd.Index]:
        """Each row's domain code (-1 outside every domain) and the domains' labels, as the
        estimators form them for ``by=``."""
        dom = self._engine.domains(by)
        return dom.codes, dom.index

    def domain_df(self, by: str | Sequence[str] | None) -> np.ndarray:
        """Each domain's design degrees of freedom (R: ``degf`` of the domain's design)."""
        return self._engine.domain_df(self._engine.domains(by))

    def vcov_of(self, stat) -> tuple[np.ndarray, np.ndarray]:
        """A statistic's values and covariance matrix from the design's engine (see
        :mod:`analysis.design.statistic`): linearised influence values or replicates."""
        return self._engine.vcov(stat)

    def _means_covariance(self, variable: str, dom, *, total: bool = False):
        def covariance():
            y = self._engine.numeric(variable)
            valid = ~np.isnan(y)
            stat = DomainMeans(np.where(valid, y, 0.0)[:, None], valid[:, None], dom.codes,
                               dom.D, total=total)
            return self.vcov_of(stat)[1], self.design_df()
        return covariance

    def _shares_covariance(self, codes: np.ndarray, n_categories: int, dom):
        def covariance():
            valid = codes >= 0
            y = np.zeros((len(codes), n_categories))
            y[np.flatnonzero(valid), codes[valid]] = 1.0
            stat = DomainMeans(y, np.repeat(valid[:, None], n_categories, axis=1), dom.codes,
                               dom.D)
            return self.vcov_of(stat)[1], self.design_df()
        return covariance

    def _estimate(self, statistic, variable, dom, level, ci_method, ratio: Ratio, low, high,
                  deff_v, notes=(), *, covariance=None) -> Estimate:
        table = build_table(dom.index, {"estimate": ratio.estimate, "se": np.sqrt(ratio.var),
                                        "ci_low": low, "ci_high": high, "df": ratio.df,
                                        "n": ratio.n, "n_eff": ratio.n_eff, "deff": deff_v})
        return Estimate(statistic, variable, dom.by, level, ci_method, self._engine.name,
                        self.describe(), table, tuple(notes), _covariance=covariance)

    def frequencies(self, variable: str, by: str | Sequence[str] | None = None,
                    ci_method: str = "logit", level: float = 0.95, deff: bool | str = False,
                    na_rm: bool = True) -> Estimate:
        """Weighted distribution of a categorical answer: every category's proportion.

        Each category's share is estimated like :meth:`proportion` of the indicator of that
        category (with its SE, CI and domain df), all categories and domains in one pass.

        Parameters
        ----------
        variable : str
            Categorical column (any dtype; a pandas Categorical keeps its category order
            and its empty categories).
        by : str or list of str, optional
        ci_method : str, default "logit"
            As in :meth:`proportion`.
        level : float, default 0.95
        deff : bool or "replace", default False
        na_rm : bool, default True
            Rows with a missing answer are left out of the denominator.

        Returns
        -------
        Estimate
            Indexed by category (``by=None``) or by ``(domain..., category)``, with the
            standard columns plus ``count`` (unweighted respondents in the category) and
            ``weighted_count`` (estimated population count).

        Examples
        --------
        >>> des.frequencies("q1", by="district").to_frame()      # doctest: +SKIP
        >>> # In R: svyby(~q1, ~district, des, svymean)  (q1 a factor); per category:
        >>> # svyby(~I(q1=="满意"), ~district, des, svyciprop, method="logit")
        """
        self._check_interval(ci_method)
        check_level(level)
        check_deff(deff)
        engine = self._engine
        codes, cats = engine.factor(variable, "variable")
        if len(cats) == 0:
            raise VariableError(f"column {variable!r} has no values", argument="variable",
                                value=variable, fix="choose a column with answers")
        dom = engine.domains(by)
        shares = engine.shares(variable, dom, na_rm)
        lik = engine.shares_likelihood(shares, dom) if ci_method == "likelihood" else None
        low, high, notes = _ci.proportion_ci(ci_method, shares.estimate, shares.var, shares.df,
                                             level, n_design_rows=shares.n_design_rows,
                                             n_kish=shares.n_eff, lik=lik)
        low, high = engine.adjust_interval(shares, ci_method, shares.df, level, low, high)
        deff_v = (engine.shares_deff(shares, deff) if deff
                  else np.full(len(shares.estimate), np.nan))
        index = frequency_index(dom.index, dom.by, cats, variable)
        table = build_table(index, {"estimate": shares.estimate, "se": np.sqrt(shares.var),
                                    "ci_low": low, "ci_high": high, "df": shares.df,
                                    "n": shares.n, "n_eff": shares.n_eff, "deff": deff_v,
                                    "count": shares.count,
                                    "weighted_count": shares.weighted_count})
        return Estimate("frequencies", variable, dom.by, level, ci_method, engine.name,
                        self.describe(), table, tuple(notes),
                        _covariance=self._shares_covariance(codes, len(cats), dom))

    # Domain comparisons and wave changes (issues 14/15; maths in .comparisons, .waves) ----
    def compare(self, variable: str, by: str | Sequence[str], *,
                statistic: Literal["mean", "proportion"] = "mean", reference=None,
                level: float = 0.95, adjust: Literal["holm", "bonferroni", "BH", "none"] = "holm",
                ci_method: str | None = None) -> "Comparison":
        """Every domain against the rest of the population (or a reference domain).

        Parameters
        ----------
        variable : str
            Numeric column (``statistic="mean"``) or 0/1 column (``"proportion"``); rows
            with a missing value are left out (R's ``na.rm = TRUE``).
        by : str or list of str
            Domain variable(s).
        statistic : {"mean", "proportion"}, default "mean"
            The proportion of a 0/1 variable is its mean: the differences are the same.
        reference : domain label, optional
            Compare every domain with this one (its own row is a difference of 0 without a
            p-value).  Default: each domain against the rows of the other domains.
        level : float, default 0.95
            Confidence level of the intervals (Student t on the design's degrees of freedom,
            R's ``degf(design)``).
        adjust : {"holm", "bonferroni", "BH", "none"}, default "holm"
            Multiplicity adjustment of the p-values (R's ``p.adjust``).
        ci_method : str, optional
            Interval of each domain's own estimate (``estimate_ci_low``/``_high``): as in
            :meth:`proportion` (default ``"logit"``); means always use the t interval.

        Returns
        -------
        Comparison
            One row per domain (see :meth:`Comparison.to_frame`).

        Raises
        ------
        VariableError
            Unknown statistic, adjustment or reference domain (the message lists those that
            exist), fewer than two domains, a level outside (0, 1).

        Examples
        --------
        >>> des.compare("score", "district").to_frame()       # doctest: +SKIP
        >>> # In R, for every district d:
        >>> # b <- svyby(~score, ~I(district == d), des, svymean, covmat=TRUE)
        >>> # svycontrast(b, c(-1, 1)); p.adjust(p, "holm")
        >>> des.compare("satisfied", "district", statistic="proportion", reference="崇川区")
        ... # doctest: +SKIP
        >>> # In R: svycontrast(svyby(~satisfied, ~district, des, svymean, covmat=TRUE), ...)
        """
        check_level(level)
        return compare_domains(self, variable, by, statistic=statistic, reference=reference,
                               level=level, adjust=adjust, ci_method=ci_method)

    # Regression and tests (R: svyglm, svyttest, svychisq) --------------------------------
    def _model_df(self, rows: np.ndarray) -> int:
        """``degf`` of the design a model is fitted on: R subsets a linearised design to the
        complete cases (PSUs minus strata among them); replicate designs keep theirs."""
        engine = self._engine
        if engine.name == "linearization":
            return first_stage_df(engine.structure, rows & (engine.w != 0))
        return self.design_df()

    def _calibrated(self) -> bool:
        """A linearised design after post-stratification or raking (R: ``is.calibrated``)."""
        return self._engine.name == "linearization" and bool(self._engine.cal)

    def glm(self, formula: str, *, family: Family = "gaussian",
            level: float = 0.95) -> RegressionResult:
        """Design-based generalised linear model (R: ``svyglm``).

        Parameters
        ----------
        formula : str
            ``"response ~ predictors"`` (formulaic syntax: ``+``, ``:``, ``*``, ``C(x)``,
            ``np.log(x)``...).  Text, boolean and categorical columns are factors with
            treatment contrasts against their first level (R's level order); rows with a
            missing value in any variable of the model are left out (R's ``na.omit``).
        family : {"gaussian", "binomial", "quasibinomial", "poisson"}, default "gaussian"
            Identity, logit or log link.  ``binomial`` and ``quasibinomial`` give the same
            coefficients and design-based SEs (as R's ``svyglm``).
        level : float, default 0.95
            Level of the Wald intervals (Student t on the residual df).

        Returns
        -------
        RegressionResult
            ``to_frame()`` (``coef, se, t, df, p, ci_low, ci_high`` by R's coefficient
            names), ``vcov()``, ``summary()``, ``dispersion``.

        Raises
        ------
        VariableError
            The formula names a column that does not exist, cannot be read, has a response
            the family does not accept, or linearly dependent terms.

        Examples
        --------
        >>> des.glm("api00 ~ ell + meals + stype").to_frame()        # doctest: +SKIP
        >>> # In R: summary(svyglm(api00 ~ ell + meals + stype, des)); confint(.)
        >>> des.glm("sw ~ ell + stype", family="quasibinomial")      # doctest: +SKIP
        >>> # In R: svyglm(sw ~ ell + stype, des, family = quasibinomial())
        """
        check_level(level)
        if family not in FAMILIES:
            raise VariableError("unknown family", argument="family", value=family,
                                fix=f"use one of {', '.join(FAMILIES)}")
        engine = self._engine
        frame = model_frame(engine.structure.data, formula)
        return fit_glm(frame, engine.w, family, self.vcov_of,
                       design_df=self._model_df(frame.rows),
                       linearised=engine.name == "linearization",
                       calibrated=self._calibrated(), level=level, formula=formula,
                       variance=engine.name, design=self.describe())

    def ttest(self, variable: str, group: str, *, level: float = 0.95) -> TTestResult:
        """Design-based t test of the difference between two groups' means (R:
        ``svyttest(variable ~ group, des)``).

        Parameters
        ----------
        variable : str
            Numeric column.
        group : str
            Column with exactly two values (among the rows with ``variable``); the
            difference is the second value's mean minus the first's (R's level order).
        level : float, default 0.95

        Returns
        -------
        TTestResult
            ``difference, se, t, df, p, ci_low, ci_high``; ``df`` is the regression's
            residual df, ``degf(design) - 1``.

        Examples
        --------
        >>> des.ttest("api00", "sch.wide").to_frame()     # doctest: +SKIP
        >>> # In R: svyttest(api00 ~ sch.wide, des)
        """
        check_level(level)
        engine = self._engine
        y = engine.numeric(variable)
        codes, labels = engine.factor(group, "group")
        frame, levels = ttest_frame(y, codes, labels, variable, group)
        fit = fit_glm(frame, engine.w, "gaussian", self.vcov_of,
                      design_df=self._model_df(frame.rows),
                      linearised=engine.name == "linearization",
                      calibrated=self._calibrated(), level=level,
                      formula=f"{variable} ~ {group}", variance=engine.name,
                      design=self.describe())
        row = fit.to_frame().iloc[1]
        return TTestResult(variable, group, levels, float(row["coef"]), float(row["se"]),
                           float(row["t"]), fit.df, float(row["p"]), float(row["ci_low"]),
                           float(row["ci_high"]), level, fit.n, engine.name, self.describe(),
                           fit.notes)

    def chisq(self, row: str, col: str, *, statistic: ChisqStatistic = "F") -> ChisqResult:
        """Design-based test of association between two categorical columns (R:
        ``svychisq(~row + col, des, statistic = statistic)``).

        Parameters
        ----------
        row, col : str
            Categorical columns (rows missing either are left out of the table).
        statistic : {"F", "Chisq", "Wald", "adjWald"}, default "F"
            ``"F"``: Rao-Scott second-order correction (R's default); ``"Chisq"``:
            Pearson's X^2 with the first-order correction; ``"Wald"``/``"adjWald"``: Wald
            tests of the cell totals.

        Returns
        -------
        ChisqResult
            ``statistic, ndf, ddf, p`` (``to_frame()``), Pearson's X^2 and the weighted
            table.

        Examples
        --------
        >>> des.chisq("sch.wide", "stype").to_frame()     # doctest: +SKIP
        >>> # In R: svychisq(~sch.wide + stype, des)
        """
        if statistic not in CHISQ_STATISTICS:
            raise VariableError("unknown test statistic", argument="statistic",
                                value=statistic, fix=f"use one of {', '.join(CHISQ_STATISTICS)}")
        engine = self._engine
        rcodes, rlabels = engine.factor(row, "row")
        ccodes, clabels = engine.factor(col, "col")
        structure = engine.structure
        # R: PSUs minus strata over all rows of a linearised design, degf of a replicate one
        nu = (structure.stages[0].n_units - len(structure.strata_labels)
              if engine.name == "linearization" else self.design_df())
        return chisq_test(rcodes, rlabels, ccodes, clabels, engine.w, self.vcov_of, nu=nu,
                          method=statistic, row=row, col=col, variance=engine.name,
                          design=self.describe())

    # Quantiles, ratios and the variance (R: svyquantile, svyratio, svyvar) -----------------
    def quantile(self, variable: str, probs: float | Sequence[float], *,
                 by: str | Sequence[str] | None = None, level: float = 0.95,
                 interval: Literal["mean", "beta", "xlogit", "asin", "score",
                                   "quantile"] = "mean",
                 rule: Literal["math", "school", "shahvaish", "hf1", "hf2", "hf3", "hf4",
                               "hf5", "hf6", "hf7", "hf8", "hf9"] = "math",
                 na_rm: bool = True) -> Estimate:
        """Quantiles of a numeric variable with confidence intervals, overall or by domains.

        Parameters
        ----------
        variable : str
            Numeric column.
        probs : float or list of float
            Probabilities strictly between 0 and 1 (0.5 = the median).
        by : str or list of str, optional
            Domain variable(s), as in :meth:`mean`.
        level : float, default 0.95
        interval : str, default "mean"
            R's ``interval.type``.  Woodruff intervals (the interval of ``P(y <= q)``
            mapped back through the rule): ``"mean"`` (Wald), and on linearisation designs
            ``"beta"`` (Korn-Graubard), ``"xlogit"``, ``"asin"``; ``"score"``
            (linearisation designs: inverting the score test of ``P(y > q) = 1 - p``);
            ``"quantile"`` (replicate designs: the quantile's own replicate variance).
            R's replicate method accepts "beta", "xlogit" and "asin" but computes the
            "mean" interval for them, so they are refused there.  A Woodruff limit whose
            probability falls outside [0, 1] is NaN, as in R; where R's score search
            fails (no sign change) the limits are NaN for that probability only (R stops
            the whole call).  R maps the score test's roots back through the unweighted
            share of rows below them, so with unequal weights a "score" interval can miss
            the estimate (as R's does); "beta" has no such defect.
        rule : str, default "math"
            R's ``qrule``: ``"math"`` (the lower weighted quantile, ``hf1``), ``"school"``
            (the midpoint at an exact tie, ``hf2``), ``"shahvaish"``, or ``"hf1"`` ...
            ``"hf9"`` (weighted versions of Hyndman and Fan's definitions; ``"hf7"`` is
            R's default ``quantile()`` with equal weights).
        na_rm : bool, default True
            Leave out rows without a value (with ``False`` missing values raise).

        Returns
        -------
        Estimate
            One row per (domain, probability), indexed by ``prob`` or
            ``(domain..., prob)``: ``estimate``, the interval, ``se`` = the interval's width
            over ``2 qt(1 - (1 - level)/2, df)`` (R's ``SE(svyquantile)``), ``df`` (the
            degrees of freedom of the domain's rows that have a value, as R's
            ``degf(design)`` inside ``svyquantile``), ``n``, ``n_eff``.  Replicate
            designs with ``interval="quantile"`` carry the replicate covariance of the
            rows (:meth:`Estimate.vcov`); the other intervals have none (R's is diagonal
            with unknown covariances).

        Raises
        ------
        VariableError
            A probability outside (0, 1), an unknown rule, or an interval not available for
            the design.

        Examples
        --------
        >>> des.quantile("api00", [0.25, 0.5], interval="score").to_frame()  # doctest: +SKIP
        >>> # In R: svyquantile(~api00, des, c(0.25, 0.5), ci=TRUE, interval.type="score")
        >>> des.quantile("api00", 0.5, by="stype", rule="hf7")              # doctest: +SKIP
        >>> # In R: svyby(~api00, ~stype, des, svyquantile, quantiles=0.5, qrule="hf7",
        >>> #             ci=TRUE)
        """
        p = check_probs(probs)
        check_level(level)
        engine = self._engine
        check_interval(interval, replicate=engine.name != "linearization")
        check_rule(rule)
        engine.numeric(variable)
        dom = engine.domains(by)
        q = quantile_table(engine, self.vcov_of, self.design_df, variable, p, dom,
                           level=level, interval=interval, rule=rule, na_rm=na_rm)
        index = frequency_index(dom.index, dom.by, np.array(p, dtype=object), "prob")
        table = build_table(index, {"estimate": q.estimate, "se": q.se, "ci_low": q.ci_low,
                                    "ci_high": q.ci_high, "df": q.df, "n": q.n,
                                    "n_eff": q.n_eff, "deff": np.full(len(q.n), np.nan)})
        notes = (f"quantile rule: {rule}",) + q.notes
        return Estimate("quantile", variable, dom.by, level, interval, engine.name,
                        self.describe(), table, notes, _covariance=q.covariance)

    def ratio(self, numerator: str, denominator: str, *,
              by: str | Sequence[str] | None = None, level: float = 0.95,
              na_rm: bool = True) -> Estimate:
        """The ratio of two totals, ``sum(w y) / sum(w x)``, overall or by domains.

        Parameters
        ----------
        numerator, denominator : str
            Numeric columns; rows missing either are left out (with ``na_rm``).
        by : str or list of str, optional
        level : float, default 0.95
            Intervals are ``estimate -/+ qt(., df) * se`` on the domain's design degrees
            of freedom, as for :meth:`mean`.
        na_rm : bool, default True

        Returns
        -------
        Estimate
            One row per domain; its rows' covariance (:meth:`Estimate.vcov`,
            :meth:`Estimate.contrast`) is that of ``svyby(..., svyratio, covmat=TRUE)``.

        Examples
        --------
        >>> des.ratio("api.stu", "enroll").to_frame()                 # doctest: +SKIP
        >>> # In R: svyratio(~api.stu, ~enroll, des)
        >>> des.ratio("api.stu", "enroll", by="stype")                # doctest: +SKIP
        >>> # In R: svyby(~api.stu, ~stype, des, svyratio, denominator=~enroll)
        """
        check_level(level)
        engine = self._engine
        y = engine.numeric(numerator, "numerator")
        x = engine.numeric(denominator, "denominator")
        dom = engine.domains(by)
        valid = ~np.isnan(y) & ~np.isnan(x)
        if not na_rm:
            bad = ~valid & (dom.codes >= 0) & (engine.w > 0)
            if bad.any():
                raise VariableError(f"{int(bad.sum())} rows lack the numerator or the "
                                    "denominator", argument="na_rm", value=False,
                                    fix="pass na_rm=True to estimate over the rows that have "
                                        "both values (R: na.rm=TRUE)")
        stat = DomainRatios(np.where(valid, y, 0.0), np.where(valid, x, 0.0), valid,
                            dom.codes, dom.D)
        est, V = self.vcov_of(stat)
        se = np.sqrt(np.maximum(np.diag(V), 0.0))
        df = engine.domain_df(dom)
        low, high = _ci.wald_ci(est, se, df, level)
        rows = valid & (dom.codes >= 0) & (engine.w > 0)
        d = dom.codes[rows]
        wr = engine.w[rows]
        n = np.bincount(d, minlength=dom.D).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            n_eff = (np.bincount(d, weights=wr, minlength=dom.D) ** 2
                     / np.bincount(d, weights=wr * wr, minlength=dom.D))
        notes = []
        den = stat.totals(engine.w)[1][:, 0]
        if (den == 0).any():
            notes.append(f"the denominator totals zero in {int((den == 0).sum())} domain(s): "
                         "the ratio is undefined there")
        table = build_table(dom.index, {"estimate": est, "se": se, "ci_low": low,
                                        "ci_high": high, "df": df, "n": n, "n_eff": n_eff,
                                        "deff": np.full(dom.D, np.nan)})
        return Estimate("ratio", f"{numerator}/{denominator}", dom.by, level, "t",
                        engine.name, self.describe(), table, tuple(notes),
                        _covariance=lambda: (V, self.design_df()))

    def variance(self, variable: str, *, level: float = 0.95, na_rm: bool = True) -> Estimate:
        """The population variance of a numeric variable and its standard error (R's
        ``svyvar``).

        Parameters
        ----------
        variable : str
        level : float, default 0.95
            The interval is ``estimate -/+ qt(., degf) * se``, as
            ``confint(svyvar(~y, des), df = degf(des))``.
        na_rm : bool, default True

        Returns
        -------
        Estimate
            One row: ``estimate`` = ``n/(n - 1) sum(w (y - ybar)^2) / sum(w)``, its SE as
            R gives it (linearisation: ``svymean`` of the squared deviations about the
            estimated mean; replicates: the variance recomputed in every replicate).

        Examples
        --------
        >>> des.variance("api00").to_frame()          # doctest: +SKIP
        >>> # In R: svyvar(~api00, des)
        """
        check_level(level)
        engine = self._engine
        y = engine.numeric(variable)
        valid = ~np.isnan(y)
        if not na_rm and (~valid & (engine.w > 0)).any():
            raise VariableError(f"column {variable!r} has {int((~valid & (engine.w > 0)).sum())}"
                                " missing values", argument="na_rm", value=False,
                                fix="pass na_rm=True to estimate over the rows that have a "
                                    "value (R: na.rm=TRUE)")
        # R's n: rows of non-zero weight (svyvar.survey.design), rows with a value (svyrep)
        n = (np.count_nonzero(engine.w != 0) if engine.name == "linearization"
             else np.count_nonzero(valid))
        stat = WeightedVariance(np.where(valid, y, 0.0), valid, n / (n - 1))
        est, V = self.vcov_of(stat)
        se = np.sqrt(np.maximum(np.diag(V), 0.0))
        df = np.array([self.design_df()])
        low, high = _ci.wald_ci(est, se, df, level)
        rows = valid & (engine.w > 0)
        wr = engine.w[rows]
        table = build_table(pd.Index([OVERALL]), {
            "estimate": est, "se": se, "ci_low": low, "ci_high": high, "df": df,
            "n": [float(rows.sum())], "n_eff": [wr.sum() ** 2 / (wr * wr).sum()],
            "deff": [np.nan]})
        return Estimate("variance", variable, (), level, "t", engine.name, self.describe(),
                        table, (), _covariance=lambda: (V, self.design_df()))
