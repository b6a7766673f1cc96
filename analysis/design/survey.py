"""The linearised design: :class:`SurveyDesign`.

Builds the design's :class:`~.structure.Structure` once, holds the weights and the
calibration steps, and gives them to the linearisation engine (:mod:`.linearization`); its
estimators are those of :mod:`.estimators`.  Weighting methods call the array functions of
:mod:`analysis.weighting` and return new designs sharing the structure; :meth:`replicate`
returns a :class:`~.replicate.ReplicateDesign`.

Depends on :mod:`.structure`, :mod:`.linearization`, :mod:`.estimators`, :mod:`.replicate`
and :mod:`analysis.weighting`.
"""
from __future__ import annotations

from typing import Literal, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import DesignError, WeightingError
from ..weighting import calibration, calibration_bounds, calibration_model
from ..weighting import (calibration_variables, check_trim_bounds, class_codes,
                         margin_variables, nonresponse_class_factors, poststratification,
                         raking, response_indicator, response_propensity, trim_weights)
from .estimators import Estimators
from .linearization import Linearization
from .replicate import ReplicateDesign
from .structure import Structure, as_list, build, check_weights, weights_column

__all__ = ["SurveyDesign"]


class SurveyDesign(Estimators):
    """A complex survey design: weights, strata, (multi-stage) clusters and fpc.

    The design is immutable: weighting methods (:meth:`rake`, :meth:`poststratify`,
    :meth:`trim`, :meth:`adjust_nonresponse`) return new designs sharing the factorised
    structure.  Do not modify ``data`` after building a design from it.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per sampled unit (respondent).
    weights : str, optional
        Column of sampling weights (non-negative, no missing values).  If neither
        ``weights`` nor ``probs`` is given, the weights are computed from ``fpc`` as R does
        (population over sample count at each stage), or are all 1 without ``fpc``.
    strata : str, optional
        Column of first-stage strata (e.g. the district).
    psu : str or list of str, optional
        Column of first-stage clusters (e.g. the community); a list gives the cluster
        columns of successive stages (R's ``ids = ~psu + ssu``).  ``None``: every row is its
        own PSU (R's ``ids = ~1``).
    fpc : str or list of str, optional
        Finite population correction, one column per stage: the population count of PSUs in
        the row's stratum, or the sampling fraction when every value is <= 1 (as R's
        ``svydesign(fpc = )``).  With a multi-stage ``psu`` and one fpc per stage the variance
        includes every stage (R's default); without fpc it is the ultimate-cluster variance.
    probs : str or list of str, optional
        Inclusion probabilities instead of ``weights`` (one column per stage: multiplied).
    lonely_psu : {"fail", "remove", "certainty", "adjust", "average"}, default "fail"
        What to do with a stratum that has a single PSU, as R's ``survey.lonely.psu``.
    nest : bool, default False
        PSU labels are only unique within strata (R's ``nest = TRUE``).

    Raises
    ------
    DesignError
        Missing columns, missing/negative weights, fpc inconsistent with the sample,
        PSUs not nested in strata, a stratum with one PSU under ``lonely_psu="fail"``...

    Examples
    --------
    >>> from analysis import SurveyDesign
    >>> des = SurveyDesign(apistrat, weights="pw", strata="stype", fpc="fpc")  # doctest: +SKIP
    >>> # In R: des <- svydesign(ids=~1, strata=~stype, weights=~pw, fpc=~fpc, data=apistrat)
    >>> des.mean("api00").to_frame()   # doctest: +SKIP
    >>> # In R: svymean(~api00, des)
    """

    def __init__(self, data: pd.DataFrame, weights: str | None = None, strata: str | None = None,
                 psu: str | Sequence[str] | None = None, fpc: str | Sequence[str] | None = None,
                 *, probs: str | Sequence[str] | None = None, lonely_psu: str = "fail",
                 nest: bool = False) -> None:
        structure, w = build(data, weights, strata, psu, fpc, probs, lonely_psu, nest)
        self._setup(structure, w, (), ())

    def _setup(self, structure: Structure, w: np.ndarray, cal: tuple, history: tuple) -> None:
        self._s = structure
        self._w = w
        self._cal = cal
        self._history = history
        self._linear = Linearization(structure, w, cal)
        Estimators.__init__(self, self._linear)

    def _derive(self, weights: np.ndarray, *, cal: tuple, history: str) -> "SurveyDesign":
        """A design with the same structure and new weights (which it makes read-only)."""
        new = object.__new__(type(self))
        w = np.ascontiguousarray(weights, dtype=float)
        w.flags.writeable = False
        new._setup(self._s, w, cal, self._history + (history,))
        return new

    # Public properties ------------------------------------------------------------------
    @property
    def data(self) -> pd.DataFrame:
        """The data the design was built on (do not modify it)."""
        return self._s.data

    @property
    def weights(self) -> pd.Series:
        """The current analysis weights, indexed like ``data`` (a copy)."""
        return pd.Series(np.array(self._w), index=self._s.data.index, name="weight")

    @property
    def degf(self) -> int:
        """Design degrees of freedom: PSUs minus strata among rows of non-zero weight.

        Examples
        --------
        >>> des.degf  # doctest: +SKIP
        >>> # In R: degf(des)
        """
        return self._linear.degf()

    @property
    def n_effective(self) -> float:
        """Kish's effective sample size ``(sum w)^2 / sum w^2`` of the whole sample."""
        return float(self._w.sum() ** 2 / np.square(self._w).sum())

    @property
    def n_psu(self) -> int:
        """Number of first-stage sampling units."""
        return int(self._s.stages[0].n_units) if self._s.stages else 0

    @property
    def psu_codes(self) -> np.ndarray:
        """Code (0..n_psu-1) of each row's first-stage PSU (a read-only array)."""
        codes = self._s.stages[0].unit.view()
        codes.flags.writeable = False
        return codes

    @property
    def n_strata(self) -> int:
        """Number of first-stage strata."""
        return len(self._s.strata_labels)

    @property
    def lonely_psu(self) -> str:
        """The lonely-PSU rule in force."""
        return self._s.lonely_psu

    @property
    def calibrated(self) -> bool:
        """True after :meth:`poststratify` or :meth:`rake` (R: ``is.calibrated``)."""
        return bool(self._cal)

    @property
    def calibration(self) -> tuple:
        """The calibration steps applied (:class:`analysis.weighting.CalibrationStep`)."""
        return self._cal

    @property
    def structure(self) -> Structure:
        """The factorised design (strata, stage units, fpc, column caches), shared by every
        design derived from this one."""
        return self._s

    @property
    def history(self) -> tuple:
        """Descriptions of the weighting steps applied since construction."""
        return self._history

    def __len__(self) -> int:
        return self._s.n

    def __repr__(self) -> str:
        return f"<SurveyDesign {self.describe()}>"

    def describe(self) -> str:
        """One-line description of the design (strata, PSUs, fpc, weighting steps)."""
        s = self._s
        parts = [f"{s.n} rows"]
        if s.has_strata:
            parts.append(f"{self.n_strata} strata ({s.spec['strata']})")
        if s.spec["psu"]:
            parts.append(f"{self.n_psu} PSUs ({'+'.join(s.spec['psu'])})")
        else:
            parts.append("rows as PSUs")
        parts.append("fpc" if s.has_fpc else "no fpc")
        if len(s.stages) > 1:
            parts.append(f"{len(s.stages)}-stage variance")
        if s.lonely_psu != "fail":
            parts.append(f"lonely PSUs: {s.lonely_psu}")
        parts.extend(self._history)
        return ", ".join(parts)

    def summary(self) -> str:
        """Text describing the design and its weights (never prints)."""
        w = self._w
        lines = [self.describe(),
                 f"degrees of freedom: {self.degf}",
                 f"weights: sum {w.sum():.6g}, min {w.min():.6g}, max {w.max():.6g}, "
                 f"Kish n_eff {self.n_effective:.1f}"]
        return "\n".join(lines)

    def prepare_domains(self, columns: str | Sequence[str]) -> "SurveyDesign":
        """Get ready to estimate by these domain columns; returns the design itself.

        Optional, and no result changes.  The estimators sum a variable's rows once into
        cells that refine every domain column used so far, and form the estimates by each
        domain from the cells; naming the columns before a table's first variable saves
        summing that variable again for each new column (worth it on large samples).

        Parameters
        ----------
        columns : str or list of str
            Domain columns, as the estimators' ``by=``.

        Returns
        -------
        SurveyDesign

        Raises
        ------
        VariableError
            A column is not in the data.

        Examples
        --------
        >>> des.prepare_domains(["district", "sex", "age_group"])  # doctest: +SKIP
        >>> [des.proportion("satisfied", by=by)
        ...  for by in (None, "district", "sex", "age_group")]      # doctest: +SKIP
        """
        cols = tuple(as_list(columns))
        for col in cols:
            self._s.factor(col, "columns")
        self._linear.cells.partition(cols)
        return self

    def domain_sizes(self, by: str | Sequence[str] | None = None) -> pd.Series:
        """Respondents (rows of positive weight) in each domain; ``OVERALL`` without ``by``.

        Examples
        --------
        >>> design.domain_sizes("district")                                  # doctest: +SKIP
        """
        cells = self._linear.cells
        dom = cells.domains(by)
        return pd.Series(cells.cell_domains(dom).n_pos.astype(np.int64), index=dom.index)

    # Weighting (on arrays in analysis.weighting) --------------------------------------------
    def poststratify(self, variables: str | Sequence[str], totals: Mapping,
                     partial: bool = False) -> "SurveyDesign":
        """Post-stratify the weights to known population counts; returns a new design.

        Standard errors of the new design account for the post-stratification, as R's
        ``postStratify`` does.

        Parameters
        ----------
        variables : str or list of str
            Post-stratification variable(s); with several, ``totals`` keys are tuples.
        totals : mapping or pandas.Series
            Population count of each post-stratum.
        partial : bool, default False
            Allow population cells absent from the sample (they are ignored, as R's
            ``partial=TRUE``); otherwise they are an error.

        Returns
        -------
        SurveyDesign

        Raises
        ------
        MarginError
            Sample cells missing from ``totals`` or (without ``partial``) population cells
            without respondents; the categories are named.

        Examples
        --------
        >>> ps = des.poststratify("stype", {"E": 4421, "H": 755, "M": 1018})  # doctest: +SKIP
        >>> # In R: postStratify(des, ~stype, data.frame(stype=c("E","H","M"),
        >>> #                                             Freq=c(4421, 755, 1018)))
        """
        parts = self._s.calibration_factors(calibration_variables(variables), self._w > 0,
                                            "variables")
        w, step = poststratification(self._w, parts, totals, partial=partial)
        return self._derive(w, cal=self._cal + (step,), history=step.label)

    def rake(self, margins: Mapping[str, Mapping], max_iter: int = 100,
             tol: float = 1e-10) -> "SurveyDesign":
        """Rake the weights to population margins (iterative proportional fitting).

        Standard errors of the new design account for the calibration as R's
        ``calibrate(des, ..., calfun="raking")`` does.

        Parameters
        ----------
        margins : mapping
            ``{variable: {category: population count}}``; every margin must have the same
            total.
        max_iter : int, default 100
            Maximum number of IPF sweeps over all margins.
        tol : float, default 1e-10
            Convergence when every ``|weighted count - target| / target`` is below ``tol``.

        Returns
        -------
        SurveyDesign

        Raises
        ------
        MarginError
            Categories in the data without a population count, population categories with no
            respondent, margins whose totals disagree (all named).
        ConvergenceError
            No convergence within ``max_iter`` sweeps (carries the iterations and the worst
            margin gap).

        Examples
        --------
        >>> raked = des.rake({"sex": {"男": 3.9e6, "女": 3.8e6},
        ...                   "age_group": {"18-34": 2.2e6, "35-59": 3.1e6, "60+": 2.4e6}})
        ... # doctest: +SKIP
        >>> # In R: calibrate(des, list(~sex, ~age_group), list(sex_pop, age_pop),
        >>> #                 calfun="raking")
        """
        parts = self._s.calibration_factors(margin_variables(margins), self._w > 0, "margins")
        w, step, sweeps = raking(self._w, parts, margins, max_iter=max_iter, tol=tol)
        return self._derive(w, cal=self._cal + (step,),
                            history=f"{step.label} ({sweeps} IPF sweeps)")

    def calibrate(self, totals: Mapping, *,
                  calfun: Literal["linear", "raking", "logit"] = "linear",
                  bounds: tuple[float, float] | None = None, max_iter: int = 50,
                  tol: float = 1e-7) -> "SurveyDesign":
        """Calibrate the weights to population totals (GREG); returns a new design.

        R's ``calibrate(des, formula, population, calfun=, bounds=)``: the new weights are
        ``g * w`` with ``g = 1 + F(x' eta)`` chosen so that the weighted totals of the
        auxiliaries ``x`` equal ``totals``, found by R's Newton iterations (``grake``), so
        the weights are R's.  Standard errors account for the calibration as R's do (the
        linearised values are replaced by their residuals from the weighted regression on
        the auxiliaries, R's ``svyrecvar``).

        Parameters
        ----------
        totals : mapping
            One entry per auxiliary, in R's formula order:

            * ``"(Intercept)"`` (:data:`analysis.weighting.INTERCEPT`): the population size
              (R's ``(Intercept)`` total); implied by a categorical margin, and then checked
              against it;
            * ``column: {category: count}`` (or a Series): a categorical margin, with the
              count of every category of the data; categories counted 0 may be absent;
            * ``column: number``: the population total of a numeric column.

            ``{"(Intercept)": 6194, "stype": {"E": 4421, "H": 755, "M": 1018},
            "api99": 3914069}`` is R's ``formula = ~stype + api99``,
            ``population = c("(Intercept)" = 6194, stypeH = 755, stypeM = 1018,
            api99 = 3914069)``.  Several categorical margins (each with every category) are
            R's ``~a + b``; without the population size or a categorical margin the model
            has no intercept (R's ``~x - 1``).
        calfun : {"linear", "raking", "logit"}, default "linear"
            R's calibration function: ``linear`` (GREG, ``g = 1 + x' eta``), ``raking``
            (``g = exp(x' eta)``) or ``logit`` (``g`` between the bounds, which it needs).
        bounds : (lower, upper), optional
            Limits of the g-weights (new weight / old weight) with ``lower < 1 < upper``, as
            R's ``bounds = c(lower, upper)``.
        max_iter : int, default 50
            R's ``maxit``: Newton iterations.
        tol : float, default 1e-7
            R's ``epsilon``: converged when every ``|total - target| / (1 + |target|)`` is
            below it.

        Returns
        -------
        SurveyDesign

        Raises
        ------
        MarginError
            Categories of the data without a count, counted categories without respondents
            (both named), margins that disagree with each other or with the population size,
            respondents without a value of an auxiliary, a total that is not a number.
        ConvergenceError
            ``argument="bounds"``: the totals cannot be met within the bounds (the message
            gives the range of g-weights reached, and that which linear calibration without
            bounds needs); ``argument="max_iter"``: no convergence.
        WeightingError
            An unknown ``calfun`` (the allowed ones are listed), bounds that are not
            ``lower < 1 < upper`` (or not finite with ``logit``), or weights that would be
            zero or negative (linear calibration without bounds; R keeps them).

        Examples
        --------
        >>> cal = des.calibrate({"stype": {"E": 4421, "H": 755, "M": 1018},
        ...                      "api99": 3914069}, calfun="logit", bounds=(0.7, 1.7))
        ... # doctest: +SKIP
        >>> # In R: cal <- calibrate(des, ~stype + api99, c(6194, 755, 1018, 3914069),
        >>> #                        calfun = "logit", bounds = c(0.7, 1.7))
        >>> cal.mean("api00")   # doctest: +SKIP
        >>> # In R: svymean(~api00, cal)
        """
        limits = calibration_bounds(calfun, bounds)
        model = calibration_model(self._w, totals, self._s)
        w, step, iterations = calibration(self._w, model, calfun=calfun, bounds=limits,
                                          max_iter=max_iter, tol=tol)
        return self._derive(w, cal=self._cal + (step,),
                            history=f"{step.label} ({iterations} iterations)")

    def trim(self, lower: float | None = None, upper: float | None = None,
             strict: bool = False) -> "SurveyDesign":
        """Trim weights to ``[lower, upper]``, spreading the trimmed amount over the others.

        As R's ``trimWeights``: weights outside the bounds are set to the bound and the
        total trimmed is added equally to the weights inside, so the sum of weights is kept.
        With ``strict=True`` this repeats until no weight is outside (the redistribution can
        push weights over ``upper``).

        Examples
        --------
        >>> des.trim(upper=60)          # doctest: +SKIP
        >>> # In R: trimWeights(des, upper=60)
        """
        check_trim_bounds(lower, upper)
        new = trim_weights(self._w, lower, upper, strict=strict)
        if new is None:
            return self
        return self._derive(new, cal=self._cal, history=f"trimmed to [{lower}, {upper}]"
                                                        + (" (strict)" if strict else ""))

    def adjust_nonresponse(self, responded: str, classes: str | Sequence[str] | None = None,
                           covariates: Sequence[str] | None = None,
                           method: str = "classes", n_classes: int | None = None,
                           **logistic_kwargs) -> "SurveyDesign":
        """Adjust the weights for unit nonresponse; returns a new design.

        Non-respondents keep their rows with weight zero (their answers are not used),
        so estimates treat respondents as a domain of the full design.

        Parameters
        ----------
        responded : str
            0/1 or boolean column: 1 for respondents.
        classes : str or list of str, optional
            Weighting classes for ``method="classes"``: within each class respondents'
            weights are multiplied by (sum of all weights) / (sum of respondents' weights).
        covariates : list of str, optional
            Predictors of response for ``method="propensity"`` (scikit-learn logistic
            regression, weighted by the design weights; categorical columns one-hot coded).
        method : {"classes", "propensity"}
        n_classes : int, optional
            With ``propensity``: form this many classes from quantiles of the estimated
            propensity and adjust within them (more stable); otherwise divide each
            respondent's weight by their propensity.

        Examples
        --------
        >>> des.adjust_nonresponse("responded", classes="district")   # doctest: +SKIP
        """
        resp = response_indicator(self._s.numeric(responded, argument="responded"), self._w,
                                  responded)
        w = np.array(self._w)
        pos = w > 0
        if method == "classes":
            if classes is None:
                codes = np.zeros(len(w), np.int64)
                labels = ["all"]
            else:
                codes, labels = class_codes([(col, *self._s.factor(col, "classes"))
                                             for col in as_list(classes)], pos)
            new = nonresponse_class_factors(w, resp, codes, labels)
            label = f"nonresponse: weighting classes {classes or '(one class)'}"
        elif method == "propensity":
            if not covariates:
                raise WeightingError("propensity adjustment needs covariates",
                                     argument="covariates", value=covariates,
                                     fix="name the columns that predict response")
            prop = response_propensity(self._s.data, list(covariates), resp, w,
                                       **logistic_kwargs)
            if n_classes:
                qs = pd.qcut(pd.Series(prop[pos]), q=int(n_classes), labels=False,
                             duplicates="drop")
                codes = np.zeros(len(w), np.int64)
                codes[pos] = qs.to_numpy(dtype=np.int64)
                new = nonresponse_class_factors(w, resp, codes)
                label = (f"nonresponse: {n_classes} propensity classes on "
                         f"{', '.join(covariates)}")
            else:
                new = np.where(resp, w / prop, 0.0)
                label = f"nonresponse: inverse propensity on {', '.join(covariates)}"
        else:
            raise WeightingError("unknown nonresponse method", argument="method", value=method,
                                 fix="use 'classes' or 'propensity'")
        return self._derive(new, cal=(), history=label)

    def with_weights(self, weights, label: str = "weights replaced") -> "SurveyDesign":
        """A new design with the same structure and new weights (calibration info dropped).

        Parameters
        ----------
        weights : str or array-like
            A column name or one value per row (non-negative, no missing values).
        """
        if isinstance(weights, str):
            w = weights_column(self._s.data, weights)
        else:
            w = np.array(weights, dtype=float)   # a copy: the caller's array stays writable
            if w.shape != (self._s.n,):
                raise DesignError("weights must have one value per row", argument="weights",
                                  value=w.shape, fix=f"give {self._s.n} values")
            check_weights(w, "weights")
        return self._derive(w, cal=(), history=label)

    def replicate(self, method: Literal["jkn", "bootstrap", "brr", "fay"] = "jkn",
                  replicates: int = 500, seed: int | None = None, mse: bool = False, *,
                  fay_rho: float | None = None):
        """Replicate-weight version of this design (the alternative to linearisation).

        Parameters
        ----------
        method : {"jkn", "bootstrap", "brr", "fay"}
            ``jkn``: delete-one-PSU jackknife within strata with the fpc (R's
            ``as.svrepdesign(des, type="JKn")``); ``bootstrap``: Rao-Wu rescaling bootstrap,
            ``n_h - 1`` PSUs drawn with replacement in each stratum (R's
            ``type="subbootstrap"``; no fpc); ``brr``: balanced repeated replication, one
            PSU of every pair doubled and the other dropped by the columns of R's Hadamard
            matrix (R's ``type="BRR"``); ``fay``: Fay's variant, multipliers
            ``2 - fay_rho`` and ``fay_rho`` (R's ``type="Fay", fay.rho=``).  ``brr`` and
            ``fay`` need exactly two PSUs in every stratum and drop the fpc, as R does.
        replicates : int, default 500
            Number of bootstrap replicates.
        seed : int, optional
            Seed of the bootstrap draws (numpy ``default_rng``).
        mse : bool, default False
            Centre the replicates at the full-sample estimate instead of their mean (R's
            ``mse=TRUE``).
        fay_rho : float, optional
            Fay's coefficient in [0, 1) for ``method="fay"`` (default 0.5); not used by the
            other methods.

        Returns
        -------
        analysis.ReplicateDesign

        Raises
        ------
        ReplicateError
            An unknown method; ``brr``/``fay`` on a design without strata or with a stratum
            that does not have exactly two PSUs (the strata and their PSU counts are named);
            ``fay_rho`` outside [0, 1) or given to another method.

        Examples
        --------
        >>> rep = des.replicate("jkn")          # doctest: +SKIP
        >>> # In R: rep <- as.svrepdesign(des, type="JKn")
        >>> fay = des.replicate("fay", fay_rho=0.3)          # doctest: +SKIP
        >>> # In R: fay <- as.svrepdesign(des, type="Fay", fay.rho=0.3)
        """
        return ReplicateDesign.from_design(self, method=method, replicates=replicates,
                                           seed=seed, mse=mse, fay_rho=fay_rho)


