"""Design-based estimation for stratified multi-stage samples: one estimator layer over two
variance engines.

The numbers are those of R's ``survey`` package (Lumley): Taylor linearisation
(``svyrecvar``) with first-stage PSUs, strata and finite population corrections, R's
multistage recursion when an fpc is given for every stage, domain estimation over the whole
design with each domain's own degrees of freedom (``svyby``), R's lonely-PSU rules, the
variance adjustments of post-stratification (``postStratify``) and raking calibration
(``calibrate(calfun = "raking")``), and replicate weights (``svrVar``: JKn, Rao-Wu bootstrap).

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
``replication``
    The replicate engine :class:`~.replication.Replicates` (R's ``svrVar``) and the JKn and
    bootstrap replicate weights (R's ``as.svrepdesign``, ``surveyrep.R``).
``estimators``
    :class:`~.estimators.Estimators`: ``mean``, ``total``, ``proportion``, ``frequencies``
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
  instead); steps can be stacked.  ``trim`` = ``trimWeights`` (rows of weight zero are left
  alone).
* Replicate designs: ``degf`` after ``poststratify`` is the rank of the new replicate
  weights minus one, as R's ``postStratify`` recomputes it; ``rake`` keeps it (R's
  ``calibrate``).
* Not supported: PPS without replacement (Brewer, Overton...), two-phase designs,
  stratification below the first stage, Fay/BRR replicates; with replicate weights, the
  ``likelihood`` interval.

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

__all__ = ["SurveyDesign", "ReplicateDesign", "LONELY_PSU_OPTIONS", "CI_METHODS"]
