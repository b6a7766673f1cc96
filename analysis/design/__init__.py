"""Design-based estimation for stratified multi-stage samples: one estimator layer over two
variance engines.

The numbers are those of R's ``survey`` package (Lumley): Taylor linearisation
(``svyrecvar``) with first-stage PSUs, strata and finite population corrections, R's
multistage recursion when an fpc is given for every stage, domain estimation over the whole
design with each domain's own degrees of freedom (``svyby``), R's lonely-PSU rules, the
variance adjustments of post-stratification (``postStratify``) and calibration
(``calibrate``: linear, raking, logit, bounded), and replicate weights (``svrVar``: JKn, Rao-Wu bootstrap,
BRR and Fay).

Modules, in dependency order (each imports only those above it; none reads another's
private names; :mod:`analysis.weighting`, :mod:`analysis._ci`, :mod:`analysis.results` and
:mod:`analysis.errors` sit below the package and import nothing of it)
----------------------------------------------------------------------------------------------
``structure``
    :func:`~.structure.build` checks a design specification and factorises it once into a
    :class:`~.structure.Structure` (strata, the units of every stage, fpc, lonely-PSU rule)
    and the design weights; the structure caches the data's columns as codes and numbers.
    (R: ``svydesign``, ``multistage.R``'s unit and fpc bookkeeping.)
``cells``
    :class:`~.cells.CellSums`: for one design (structure, weights, calibration steps) the
    domains of ``by=`` and a variable's sums by (last-stage unit or calibration cell, domain),
    formed from sums by cell (one ``np.bincount`` over the rows per variable).
``engine``
    What a variance engine returns to the estimator layer (:class:`~.engine.Ratio`,
    :class:`~.engine.Shares`) and the methods an engine has.
``linearization``
    The linearisation engine :class:`~.linearization.Linearization` (R's ``svyrecvar``,
    ``multistage``, ``onestrat``; ``svyby``'s domain df; ``svyciprop`` inputs).
``hadamard``
    :func:`~.hadamard.hadamard`: R's Hadamard matrices for BRR (``survey:::hadamard``: its
    stored matrices, Paley's construction, doubling); imports nothing of the package.
``replication``
    The replicate engine :class:`~.replication.Replicates` (R's ``svrVar``) and the JKn,
    bootstrap, BRR and Fay replicate weights (R's ``as.svrepdesign``, ``brrweights``,
    ``surveyrep.R``).
``comparisons``
    :meth:`~analysis.SurveyDesign.compare`'s maths: the means of every domain and of the rest
    of the population as one statistic (:class:`~.comparisons.RestMeans`), contrasts with t
    tests on the design df and R's ``p.adjust``; :class:`~analysis.Comparison`.
``quantiles``
    :meth:`~analysis.SurveyDesign.quantile`'s maths (R's ``svyquantile``): R's quantile rules
    (``qrule_math`` ... ``qrule_hf9``), Woodruff, score (``ffullerCI``, with R's ``uniroot``
    step by step) and replicate intervals, on the rows R keeps in a domain's subset;
    :class:`~.quantiles.DomainQuantiles` (the replicate statistic).
``ratios``
    :class:`~.ratios.DomainRatios` (``svyratio`` by domain) and
    :class:`~.ratios.WeightedVariance` (``svyvar``) as statistics of the weights.
``regression``
    :meth:`~analysis.SurveyDesign.glm`'s maths (R's ``svyglm``): formulas read by formulaic
    with R's treatment contrasts and names, R's ``glm.fit`` IRLS step by step,
    :class:`~.regression.GLMStatistic` (estimating-function influence values; refits in
    every replicate) and :class:`~analysis.RegressionResult`.
``tests``
    :meth:`~analysis.SurveyDesign.ttest` (``svyttest``: a two-group ``svyglm``) and
    :meth:`~analysis.SurveyDesign.chisq` (``svychisq``: Rao-Scott F and chi-squared, Wald
    and adjusted Wald, on the cell proportions or totals as
    :class:`~.statistic.DomainMeans`); :class:`~analysis.TTestResult`,
    :class:`~analysis.ChisqResult`.
``estimators``
    :class:`~.estimators.Estimators`: ``mean``, ``total``, ``proportion``, ``frequencies``
    (and ``quantile``, ``ratio``, ``variance``)
    once -- argument checks, domains, intervals, the :class:`~analysis.Estimate` -- over the
    design's engine (R: ``svymean``, ``svytotal``, ``svyciprop``, ``svyby``).
``replicate``
    :class:`~analysis.ReplicateDesign` = estimators over the replicate engine; raking and
    post-stratification inside every replicate (R: ``calibrate``/``postStratify`` of a
    ``svrep.design``).
``survey``
    :class:`~analysis.SurveyDesign` = estimators over the linearisation engine; weighting
    methods (array functions of :mod:`analysis.weighting`: ``poststratification``,
    ``raking``, ``trim_weights``... return new weights and a
    :class:`~analysis.weighting.CalibrationStep`) and :meth:`~analysis.SurveyDesign.replicate`.
``waves``
    :func:`~analysis.stack_waves` (waves as one design: strata wave x stratum, PSUs wave x PSU,
    calibration cells wave x category) and :func:`~analysis.wave_change` (the change between
    consecutive waves of a design: contrasts of ``svyby(~y, ~wave, covmat=TRUE)``).

What is supported (and checked against R in tests/analysis/test_reference_r.py)
--------------------------------------------------------------------------------
* One-stage designs: optional strata, optional PSUs (``ids = ~1`` when absent), optional
  fpc given as population counts or sampling fractions, weights or inclusion probabilities
  (or weights derived from the fpc, as R does).
* Multi-stage designs ``psu=[stage1, stage2, ...]``: with one fpc column per stage the
  variance has every stage's term, as R's default (``survey.ultimate.cluster = FALSE``;
  checked on ``apiclus2``, ``ids = ~dnum + snum, fpc = ~fpc1 + fpc2``).  Strata apply to the
  first stage only (later stages are stratified by the earlier cluster, as R does when
  ``strata`` has one column).  Without fpc the variance is the ultimate-cluster one (first
  stage PSUs, with-replacement), as in R.
* Lonely PSUs: R's ``fail``, ``remove``, ``certainty``, ``adjust`` and ``average`` at the
  first stage, including their domain behaviour; census strata (fpc = sample) contribute
  zero.  At later stages a single unit under ``average`` contributes zero (R: NaN).
* Domains (``by=``) use the whole design with zero influence outside the domain, and report
  the domain's own degrees of freedom, as ``svyby`` on R's subsets.
* Calibration: ``poststratify`` = R's ``postStratify``; ``rake`` gives the weights of R's
  ``rake``/``calibrate(calfun = "raking")`` and the standard errors of
  ``calibrate(calfun = "raking")`` (R's ``rake()`` uses an approximate backfitting variance
  instead); ``calibrate`` = R's ``calibrate(des, formula, population, calfun =, bounds =)``:
  GREG with categorical margins, continuous totals and the population size, ``calfun``
  ``linear``/``raking``/``logit``, bounds on the g-weights, R's weights (its ``grake``
  iterations) and standard errors (checked in tests/analysis/test_calibrate.py, also on
  replicate designs, where every replicate is calibrated; ``degf`` recomputed after linear
  calibration without bounds, as R's ``regcalibrate``).  Calibration that would give zero or
  negative weights, and a replicate that cannot be calibrated, are errors (R keeps them,
  the latter with a warning).  Steps can be stacked.  ``trim`` = ``trimWeights`` (rows of
  weight zero are left alone).
* Replicate designs: ``degf`` after ``poststratify`` is the rank of the new replicate
  weights minus one, as R's ``postStratify`` recomputes it (checked on nhanes' JKn design:
  16 before, 30 after); ``rake`` keeps it (R's ``calibrate``).
* BRR and Fay replicates (``replicate("brr")``, ``replicate("fay", fay_rho=)``) on designs
  with exactly two PSUs per stratum: the replicate weights, ``scale``, ``rscales`` and
  ``degf`` of R's ``as.svrepdesign(type = "BRR")``/``type = "Fay"`` (R's Hadamard matrix;
  strata numbered in the order R sorts their labels as text, in the C locale), no fpc (R
  drops it).
* Models and tests (checked in tests/analysis/test_models.py, linearised and replicate):
  ``glm`` = ``svyglm`` (gaussian, binomial, quasibinomial, poisson; the complete cases'
  degf for a linearised design, the design's for a replicate one, as R), ``ttest`` =
  ``svyttest``, ``chisq`` = ``svychisq`` (F, Chisq, Wald, adjWald; not ``lincom`` or
  ``saddlepoint``).  Aliased (linearly dependent) model terms are an error, where R
  reports NA coefficients.
* Not supported: PPS without replacement (Brewer, Overton...), two-phase designs,
  stratification below the first stage; with replicate weights, the ``likelihood``
  interval.  BRR and Fay refuse a stratum without exactly two PSUs (naming it and its PSU
  count) where R's ``brrweights`` would by default split a stratum of an even number of PSUs
  into pairs in data order (``large = "split"``): form the variance strata (pairs)
  explicitly instead.

Deliberate differences from ``svyciprop``: at 0% or 100% (zero variance) intervals use
Kish's effective sample size instead of degenerating; Wald limits are clipped to [0, 1];
``asin`` limits are clamped before back-transforming; where R's 9-step likelihood profile
does not reach the cutoff (R returns NA) the profile equation is solved exactly.

Performance: the constructor factorises strata and PSUs once.  The estimators group the rows
into cells that refine the last-stage units, the calibration cells and every domain column
used so far (``prepare_domains`` names them up front); a variable's rows are summed into the
cells once -- one ``np.bincount`` per sum over the rows -- and every domain set's sums by
(unit, domain) and by (calibration cell, domain) are then formed from the cells and from their
groups (the cells with the units merged).  The variance, calibration residuals and strata
are computed from those small tables through small dense or sparse matrices, never from
copies of the data or loops over rows, PSUs or domains.  A 0/1 variable's cells take one
``np.bincount`` by (cell, answer); its respondent counts and squared weights are summed by
group, not by cell.  Sums by (unit, domain) are stored domain by domain and strata are runs
of consecutive units, so the variance's numpy loops run along the units.
"""
from .._ci import CI_METHODS
from .replicate import ReplicateDesign
from .structure import LONELY_PSU_OPTIONS
from .survey import SurveyDesign
from .comparisons import Comparison
from .waves import WaveChange, stack_waves, wave_change

__all__ = ["SurveyDesign", "ReplicateDesign", "LONELY_PSU_OPTIONS", "CI_METHODS", "Comparison",
           "WaveChange", "stack_waves", "wave_change"]
