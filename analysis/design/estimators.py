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

from .. import _ci
from ..errors import VariableError
from ..results import Estimate, build_table, frequency_index
from .engine import Ratio

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
        return self._estimate(statistic, variable, dom, level, "t", ratio, low, high, deff_v)

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
                              deff_v, notes)

    def _estimate(self, statistic, variable, dom, level, ci_method, ratio: Ratio, low, high,
                  deff_v, notes=()) -> Estimate:
        table = build_table(dom.index, {"estimate": ratio.estimate, "se": np.sqrt(ratio.var),
                                        "ci_low": low, "ci_high": high, "df": ratio.df,
                                        "n": ratio.n, "n_eff": ratio.n_eff, "deff": deff_v})
        return Estimate(statistic, variable, dom.by, level, ci_method, self._engine.name,
                        self.describe(), table, tuple(notes))

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
                        self.describe(), table, tuple(notes))
