"""PLS path modelling (analysis.pls): R plspm's ECSI results, survey weights, index weights, bad input.

Expected numbers: R ``plspm``'s output on its ``satisfaction`` (ECSI) data, all blocks Mode A,
``scaled = FALSE`` — ``plspm::plspm(satisfaction, path_matrix, blocks, modes = rep("A", 6),
scheme = ..., scaled = FALSE)``. They are copied from the reference folder
``ecsi_satisfaction`` of the project's shared reference material (README there: files
``satisfaction.outer-model*.csv``, ``satisfaction.inner-model.csv``,
``satisfaction.inner-summary.csv``, ``satisfaction.effects.csv``, ``satisfaction.scores.csv``
and the GoF 0.609741624338411), which took them from the test data of the Python port
``plspm-python``. The data set itself is committed in ``tests/reference/ecsi/``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.errors import SurveyError
from analysis.pls import PLSModelError, SCHEMES, plspm
from tests.conftest import REFERENCE_DIR

TOL = 1e-6

BLOCKS = {
    "IMAG": [f"imag{i}" for i in range(1, 6)],
    "EXPE": [f"expe{i}" for i in range(1, 6)],
    "QUAL": [f"qual{i}" for i in range(1, 6)],
    "VAL": [f"val{i}" for i in range(1, 5)],
    "SAT": [f"sat{i}" for i in range(1, 5)],
    "LOY": [f"loy{i}" for i in range(1, 5)],
}
INNER = [("IMAG", "EXPE"), ("IMAG", "SAT"), ("IMAG", "LOY"), ("EXPE", "QUAL"), ("EXPE", "VAL"),
         ("EXPE", "SAT"), ("QUAL", "VAL"), ("QUAL", "SAT"), ("VAL", "SAT"), ("SAT", "LOY")]

# R plspm, centroid scheme: item -> (weight, loading, communality, redundancy)
# (satisfaction.outer-model.csv)
CENTROID_OUTER = {
    "imag1": (0.0982418501741741, 0.70932650116601, 0.503144085256414, 0.0),
    "imag2": (0.157472863818056, 0.877307817983846, 0.769669007495577, 0.0),
    "imag3": (0.156722118194341, 0.841748537706059, 0.708540600730289, 0.0),
    "imag4": (0.0765758587028763, 0.569193430203468, 0.32398116098679, 0.0),
    "imag5": (0.184330241358762, 0.77846683251928, 0.606010609332601, 0.0),
    "expe1": (0.106230159251131, 0.765800562617078, 0.586450501704633, 0.196574497358231),
    "expe2": (0.140693124381936, 0.837418997567575, 0.701270577487083, 0.235061460227157),
    "expe3": (0.118783165134756, 0.759820571357087, 0.57732730065741, 0.193516458094997),
    "expe4": (0.0994514827286758, 0.71834524993581, 0.516019898105342, 0.172966604687111),
    "expe5": (0.138374378658729, 0.837276022047764, 0.701031137096127, 0.234981201323187),
    "qual1": (0.106606553258155, 0.781469313516066, 0.610694287967272, 0.439509494371556),
    "qual2": (0.134594903250232, 0.881558340214507, 0.777145107201757, 0.559302190718832),
    "qual3": (0.117141650592502, 0.794076151381524, 0.630556934192892, 0.45380440718065),
    "qual4": (0.0956184636638662, 0.788981936722486, 0.622492496474366, 0.448000526230889),
    "qual5": (0.115707870129084, 0.807446541109636, 0.651969916749915, 0.469215078808101),
    "val1": (0.174960810051613, 0.864821997997945, 0.747917088221157, 0.441334185908254),
    "val2": (0.11766978894579, 0.796238958208741, 0.63399647856934, 0.37411141441304),
    "val3": (0.1207889525664, 0.750064674608617, 0.56259701609573, 0.331979707381151),
    "val4": (0.16652602110192, 0.844483086242166, 0.713151682949093, 0.420819663543203),
    "sat1": (0.166366549374147, 0.919797990928334, 0.846028344115799, 0.59841357170163),
    "sat2": (0.162659797860461, 0.916030239797506, 0.839111400223476, 0.593521072379765),
    "sat3": (0.121091359148817, 0.825878617822696, 0.682075491376727, 0.482446284221684),
    "sat4": (0.132079076814512, 0.8175253352275, 0.668347673738837, 0.472736311214876),
    "loy1": (0.158624625826792, 0.906587085677551, 0.821900143917314, 0.419105427135653),
    "loy2": (0.081728096069474, 0.671101376778201, 0.450377057913597, 0.229657423259882),
    "loy3": (0.161664593108151, 0.904973625494352, 0.818977262840392, 0.417614984128341),
    "loy4": (0.0806690862675395, 0.681874238346727, 0.464952476920929, 0.237089758263054),
}
# R plspm, factorial scheme: item -> (weight, loading)  (satisfaction.outer-model-factorial.csv)
FACTORIAL_OUTER = {
    "imag1": (0.0982545375897477, 0.709579562555722),
    "imag2": (0.157603829359382, 0.877650530033183),
    "imag3": (0.157271399165454, 0.842312903983941),
    "imag4": (0.0766051139521016, 0.569450000842037),
    "imag5": (0.183715073052855, 0.777670513144494),
    "expe1": (0.106456195681037, 0.765829962387182),
    "expe2": (0.140666601142957, 0.837407735764608),
    "expe3": (0.119323668568218, 0.760493632742242),
    "expe4": (0.0985183299883673, 0.717467172952437),
    "expe5": (0.138322004783815, 0.837153103927455),
    "qual1": (0.106670170446971, 0.781497773363646),
    "qual2": (0.134478167196619, 0.881441744489607),
    "qual3": (0.117498232409339, 0.794504244292274),
    "qual4": (0.0951443895696116, 0.78853508550273),
    "qual5": (0.115791745628894, 0.807401275380418),
    "val1": (0.174575957905234, 0.864544798086425),
    "val2": (0.118244094401818, 0.796730006569803),
    "val3": (0.120898501134967, 0.750398574481397),
    "val4": (0.166374404382135, 0.844250646016627),
    "sat1": (0.166550226780549, 0.919879569484991),
    "sat2": (0.16260074678273, 0.916051214762556),
    "sat3": (0.121202401577709, 0.8259550050837),
    "sat4": (0.131824636097498, 0.817325794633066),
    "loy1": (0.158852482428485, 0.906789340022167),
    "loy2": (0.0814752201910471, 0.67071592524707),
    "loy3": (0.161829921608218, 0.905170501091789),
    "loy4": (0.0802887089500578, 0.681305477044771),
}
# R plspm, path scheme: item -> (weight, loading)  (satisfaction.outer-model-path.csv)
PATH_OUTER = {
    "imag1": (0.0982374837495072, 0.70955076789416),
    "imag2": (0.157615347025361, 0.877671629024529),
    "imag3": (0.157340626997026, 0.842359193682084),
    "imag4": (0.0765125291238404, 0.569354023449058),
    "imag5": (0.183702432801162, 0.777662796725605),
    "expe1": (0.106472074048238, 0.765845945253858),
    "expe2": (0.140673451958955, 0.837413503394175),
    "expe3": (0.119296754177591, 0.760461417953682),
    "expe4": (0.0985110999361921, 0.717466074586617),
    "expe5": (0.138331924334016, 0.837165208558368),
    "qual1": (0.106688211231029, 0.781515750552344),
    "qual2": (0.134487900474709, 0.881449200713862),
    "qual3": (0.117468232469162, 0.794471769558678),
    "qual4": (0.0951526521301759, 0.78854863823007),
    "qual5": (0.115789386247801, 0.807403042453803),
    "val1": (0.172177324810643, 0.86271564077978),
    "val2": (0.121254528616825, 0.799328099439193),
    "val3": (0.121818439478709, 0.752589683815716),
    "val4": (0.165654571843956, 0.843047471071002),
    "sat1": (0.168756177314286, 0.920289506434007),
    "sat2": (0.157704893306817, 0.913547232451711),
    "sat3": (0.120047692026398, 0.824709653947123),
    "sat4": (0.135884589449262, 0.82088699490331),
    "loy1": (0.159856955694287, 0.907671852011147),
    "loy2": (0.0803591951846723, 0.669011176703357),
    "loy3": (0.162545377518156, 0.906017863968373),
    "loy4": (0.0786269581935837, 0.678814311108138),
}
# R plspm, centroid: LV -> (R², block communality, mean redundancy, AVE)
# (satisfaction.inner-summary.csv)
CENTROID_INNER_SUMMARY = {
    "IMAG": (0.0, 0.582269092760334, 0.0, 0.582269092760334),
    "EXPE": (0.335193672418813, 0.616419883010119, 0.206620044338137, 0.616419883010119),
    "QUAL": (0.719688235228933, 0.65857174851724, 0.473966339462006, 0.65857174851724),
    "VAL": (0.59008437279849, 0.66441556645883, 0.392061242811412, 0.66441556645883),
    "SAT": (0.707320949544597, 0.75889072736371, 0.536779309879489, 0.75889072736371),
    "LOY": (0.509922562050087, 0.639051735398058, 0.325866898196732, 0.639051735398058),
}
# R plspm, centroid: path coefficients into SAT (satisfaction.inner-model.csv, "Estimate")
CENTROID_PATHS_INTO_SAT = {"IMAG": 0.200724200280665, "EXPE": -0.0027539945791683,
                           "QUAL": 0.122144565609107, "VAL": 0.589330650016017}
# R plspm, centroid: (from, to, direct, indirect, total)  (satisfaction.effects.csv)
CENTROID_EFFECTS = [
    ("IMAG", "EXPE", 0.57895912845279, 0.0, 0.57895912845279),
    ("IMAG", "QUAL", 0.0, 0.491156739303251, 0.491156739303251),
    ("IMAG", "VAL", 0.0, 0.393411171344413, 0.393411171344413),
    ("IMAG", "SAT", 0.200724200280665, 0.290246937598827, 0.490971137879492),
    ("IMAG", "LOY", 0.275149575748467, 0.243266046562688, 0.518415622311155),
    ("EXPE", "QUAL", 0.8483444083796, 0.0, 0.8483444083796),
    ("EXPE", "VAL", 0.105477649519747, 0.574036934516201, 0.679514584035949),
    ("EXPE", "SAT", -0.0027539945791683, 0.504079430753709, 0.501325436174541),
    ("EXPE", "LOY", 0.0, 0.248396387262645, 0.248396387262645),
    ("QUAL", "VAL", 0.676655529105984, 0.0, 0.676655529105984),
    ("QUAL", "SAT", 0.122144565609107, 0.398773842804961, 0.520918408414068),
    ("QUAL", "LOY", 0.0, 0.25810429986563, 0.25810429986563),
    ("VAL", "SAT", 0.589330650016017, 0.0, 0.589330650016017),
    ("VAL", "LOY", 0.0, 0.292001150957277, 0.292001150957277),
    ("SAT", "LOY", 0.495479322090817, 0.0, 0.495479322090817),
]
# R plspm, centroid: first three rows of the LV scores (satisfaction.scores.csv),
# columns IMAG, EXPE, QUAL, VAL, SAT, LOY
CENTROID_SCORES_HEAD = [
    (-0.0644826660498366, 0.344243348409205, -0.525400836444686, -0.0710396907420024,
     -0.205830238636618, 0.166443134346823),
    (0.838587842307001, 0.797466049701047, 0.397127336690076, 0.443211488754671,
     0.36908557840931, 0.492485867271411),
    (0.475425124756149, 0.55312104290908, 0.16427781596849, 0.560881277700461,
     0.83019100245843, 0.81171607640442),
]
CENTROID_GOF = 0.609741624338411  # README of the reference folder


@pytest.fixture(scope="module")
def ecsi() -> pd.DataFrame:
    return pd.read_csv(REFERENCE_DIR / "ecsi" / "satisfaction.csv", index_col=0)


@pytest.fixture(scope="module")
def centroid(ecsi):
    return plspm(ecsi, blocks=BLOCKS, inner=INNER, scheme="centroid")


def expected_frame(table: dict, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame.from_dict(table, orient="index", columns=columns)


# --------------------------------------------------------------------------- R plspm


def test_centroid_outer_model_matches_r_plspm(centroid):
    expected = expected_frame(CENTROID_OUTER, ["weight", "loading", "communality", "redundancy"])
    got = centroid.outer_model.loc[expected.index, expected.columns]
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=0, atol=TOL)
    assert centroid.converged
    assert list(centroid.outer_model["block"]) == [lv for lv, items in BLOCKS.items() for _ in items]


@pytest.mark.parametrize("scheme, table", [("factorial", FACTORIAL_OUTER), ("path", PATH_OUTER)])
def test_factorial_and_path_schemes_match_r_plspm(ecsi, scheme, table):
    fit = plspm(ecsi, blocks=BLOCKS, inner=INNER, scheme=scheme)
    expected = expected_frame(table, ["weight", "loading"])
    got = fit.outer_model.loc[expected.index, expected.columns]
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=0, atol=TOL)


def test_schemes_give_different_weights(ecsi):
    # The reference differences are ~1e-4 to 5e-3: a scheme ignored would fail the tests above.
    weights = {s: plspm(ecsi, blocks=BLOCKS, inner=INNER, scheme=s).outer_model["weight"]
               for s in SCHEMES}
    assert np.abs(weights["centroid"] - weights["path"]).max() > 1e-3
    assert np.abs(weights["centroid"] - weights["factorial"]).max() > 1e-4


def test_inner_model_matches_r_plspm(centroid):
    expected = expected_frame(CENTROID_INNER_SUMMARY,
                              ["r_squared", "block_communality", "mean_redundancy", "ave"])
    got = centroid.inner_summary.loc[expected.index, expected.columns]
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(centroid.r2[expected.index], expected["r_squared"], atol=TOL)
    assert list(centroid.inner_summary["type"]) == ["Exogenous"] + ["Endogenous"] * 5
    for source, value in CENTROID_PATHS_INTO_SAT.items():
        assert centroid.paths.loc[(source, "SAT"), "estimate"] == pytest.approx(value, abs=TOL)
    assert list(centroid.paths.index) == INNER


def test_effects_match_r_plspm(centroid):
    expected = pd.DataFrame(CENTROID_EFFECTS, columns=["from", "to", "direct", "indirect", "total"])
    got = centroid.effects
    assert got[["from", "to"]].values.tolist() == expected[["from", "to"]].values.tolist()
    cols = ["direct", "indirect", "total"]
    np.testing.assert_allclose(got[cols].to_numpy(), expected[cols].to_numpy(), rtol=0, atol=TOL)


def test_scores_and_gof_match_r_plspm(centroid):
    np.testing.assert_allclose(centroid.scores.iloc[:3].to_numpy(), np.array(CENTROID_SCORES_HEAD),
                               rtol=0, atol=TOL)
    assert list(centroid.scores.columns) == list(BLOCKS)
    assert centroid.gof == pytest.approx(CENTROID_GOF, abs=TOL)
    np.testing.assert_allclose(centroid.scores.mean(), 0, atol=1e-12)
    np.testing.assert_allclose(centroid.scores.var(ddof=0), 1, atol=1e-12)


def test_blocks_in_another_order_give_the_same_model(ecsi, centroid):
    shuffled = {lv: BLOCKS[lv] for lv in ["LOY", "SAT", "IMAG", "VAL", "QUAL", "EXPE"]}
    fit = plspm(ecsi, blocks=shuffled, inner=INNER[::-1])
    got = fit.outer_model.loc[centroid.outer_model.index, ["weight", "loading"]]
    np.testing.assert_allclose(got.to_numpy(), centroid.outer_model[["weight", "loading"]].to_numpy(),
                               atol=1e-12)
    # effects are listed in causal order whatever the order of the blocks
    assert fit.effects[["from", "to"]].values.tolist() == \
        centroid.effects[["from", "to"]].values.tolist()


def test_summary_and_frame(centroid):
    text = centroid.summary()
    assert "scheme=centroid" in text and "converged" in text and "Goodness of fit: 0.6097" in text
    assert "imag1" in text and "Effects" in text
    frame = centroid.to_frame()
    frame.loc["imag1", "weight"] = 99.0
    assert centroid.outer_model.loc["imag1", "weight"] != 99.0


# --------------------------------------------------------------------------- Mode B, scaled


def _inner_estimate_centroid(scores: np.ndarray, edges: list[tuple[int, int]], k: int) -> np.ndarray:
    corr = np.corrcoef(scores, rowvar=False)
    neighbours = {a for a, b in edges if b == k} | {b for a, b in edges if a == k}
    return sum(np.sign(corr[k, j]) * scores[:, j] for j in neighbours)


@pytest.mark.parametrize("scaled", [False, True])
def test_mode_b_weights_are_the_regression_of_the_inner_estimate(ecsi, scaled):
    """At convergence, a Mode B block's weights are the least squares regression of its inner
    estimate on its items, and a Mode A block's the covariances with it (up to scale)."""
    modes = {"EXPE": "B", "QUAL": "B"}
    fit = plspm(ecsi, blocks=BLOCKS, inner=INNER, modes=modes, scaled=scaled, tol=1e-14,
                max_iter=500)
    assert fit.converged
    order = list(BLOCKS)
    edges = [(order.index(a), order.index(b)) for a, b in INNER]
    scores = fit.scores.to_numpy()
    for k, lv in enumerate(order):
        x = ecsi[BLOCKS[lv]].to_numpy(float)
        x = x - x.mean(axis=0)
        if scaled:
            x = x / x.std(axis=0)
        z = _inner_estimate_centroid(scores, edges, k)
        if lv in modes:
            target, *_ = np.linalg.lstsq(x, z, rcond=None)
        else:
            target = x.T @ z / len(z)
        weight = fit.outer_model.loc[BLOCKS[lv], "weight"].to_numpy()
        ratio = target / weight
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-6)
        assert fit.modes[lv] == ("B" if lv in modes else "A")
    # Mode B is not Mode A under another name
    mode_a = plspm(ecsi, blocks=BLOCKS, inner=INNER, scaled=scaled)
    assert np.abs(mode_a.outer_model.loc[BLOCKS["EXPE"], "weight"]
                  - fit.outer_model.loc[BLOCKS["EXPE"], "weight"]).max() > 1e-3


def test_one_item_block_is_its_item_in_either_mode(ecsi):
    """A one-item block is fine in plspm, Mode A or B: the LV is the standardised item."""
    blocks = {"IMAG": BLOCKS["IMAG"], "SAT1": ["sat1"], "LOY": BLOCKS["LOY"]}
    inner = [("IMAG", "SAT1"), ("SAT1", "LOY"), ("IMAG", "LOY")]
    fits = [plspm(ecsi, blocks=blocks, inner=inner, modes={"SAT1": mode}) for mode in "AB"]
    item = (ecsi["sat1"] - ecsi["sat1"].mean()) / ecsi["sat1"].std(ddof=0)
    for fit in fits:
        np.testing.assert_allclose(fit.scores["SAT1"], item, atol=1e-12)
        assert fit.outer_model.loc["sat1", "loading"] == pytest.approx(1.0)
    # plspm leaves one-item blocks out of the GoF's mean communality
    fit = fits[0]
    communality = fit.outer_model.loc[BLOCKS["IMAG"] + BLOCKS["LOY"], "communality"].mean()
    assert fit.gof == pytest.approx(np.sqrt(communality * fit.r2[["SAT1", "LOY"]].mean()))


# --------------------------------------------------------------------------- survey weights

SMALL_BLOCKS = {"IMAG": BLOCKS["IMAG"], "SAT": BLOCKS["SAT"], "LOY": BLOCKS["LOY"]}
SMALL_INNER = [("IMAG", "SAT"), ("IMAG", "LOY"), ("SAT", "LOY")]


def _compare(a, b, atol=1e-9):
    cols = ["weight", "loading", "communality", "redundancy"]
    np.testing.assert_allclose(a.outer_model[cols].to_numpy(), b.outer_model[cols].to_numpy(),
                               atol=atol)
    np.testing.assert_allclose(a.paths.to_numpy(), b.paths.to_numpy(), atol=atol)
    np.testing.assert_allclose(a.r2.to_numpy(), b.r2.to_numpy(), atol=atol)
    cols = ["direct", "indirect", "total"]
    np.testing.assert_allclose(a.effects[cols].to_numpy(), b.effects[cols].to_numpy(), atol=atol)
    assert a.gof == pytest.approx(b.gof, abs=atol)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_equal_or_rescaled_survey_weights_change_nothing(ecsi, centroid, scheme):
    plain = plspm(ecsi, blocks=BLOCKS, inner=INNER, scheme=scheme)
    equal = plspm(ecsi, blocks=BLOCKS, inner=INNER, scheme=scheme, weights=np.full(len(ecsi), 3.5))
    _compare(plain, equal)
    np.testing.assert_allclose(plain.scores, equal.scores, atol=1e-9)
    w = np.random.default_rng(20261207).uniform(0.2, 5.0, len(ecsi))
    once = plspm(ecsi, blocks=BLOCKS, inner=INNER, scheme=scheme, weights=w)
    scaled = plspm(ecsi, blocks=BLOCKS, inner=INNER, scheme=scheme, weights=w * 1234.5)
    _compare(once, scaled)
    # and unequal weights do change the model
    assert np.abs(once.outer_model["weight"] - plain.outer_model["weight"]).max() > 1e-3


def test_weighted_moments_are_the_weighted_ones(ecsi):
    w = np.random.default_rng(7).gamma(2.0, 1.0, len(ecsi))
    data = ecsi.assign(w=w)
    fit = plspm(data, blocks=BLOCKS, inner=INNER, weights="w")
    scores = fit.scores
    mean = np.average(scores, axis=0, weights=w)
    np.testing.assert_allclose(mean, 0, atol=1e-12)
    np.testing.assert_allclose(np.average(scores**2, axis=0, weights=w), 1, atol=1e-12)
    for item in ["imag3", "loy2", "sat4"]:
        lv = fit.outer_model.loc[item, "block"]
        c = np.cov(ecsi[item], scores[lv], aweights=w)
        assert fit.outer_model.loc[item, "loading"] == pytest.approx(c[0, 1] / np.sqrt(c[0, 0] * c[1, 1]))
    # SAT on its four predecessors by weighted least squares with an intercept
    preds = ["IMAG", "EXPE", "QUAL", "VAL"]
    design = np.column_stack([np.ones(len(ecsi)), scores[preds]])
    root = np.sqrt(w)
    coef, *_ = np.linalg.lstsq(design * root[:, None], scores["SAT"] * root, rcond=None)
    np.testing.assert_allclose([fit.paths.loc[(p, "SAT"), "estimate"] for p in preds], coef[1:],
                               atol=1e-10)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(counts=st.lists(st.integers(1, 3), min_size=60, max_size=60),
       dropped=st.sets(st.integers(0, 59), max_size=6),
       scheme=st.sampled_from(SCHEMES), mode=st.sampled_from(["A", "B"]), scaled=st.booleans())
def test_integer_weights_are_repeated_rows(counts, dropped, scheme, mode, scaled):
    ecsi = pd.read_csv(REFERENCE_DIR / "ecsi" / "satisfaction.csv", index_col=0).iloc[:60]
    counts = np.array(counts)
    counts[list(dropped)] = 0
    options = dict(blocks=SMALL_BLOCKS, inner=SMALL_INNER, scheme=scheme, modes={"SAT": mode},
                   scaled=scaled)
    weighted = plspm(ecsi, weights=counts.astype(float), **options)
    repeated = plspm(ecsi.loc[ecsi.index.repeat(counts)], **options)
    _compare(weighted, repeated)
    assert weighted.iterations == repeated.iterations
    kept = weighted.scores.loc[counts > 0]
    np.testing.assert_allclose(repeated.scores.groupby(level=0).first().loc[kept.index], kept,
                               atol=1e-9)


# --------------------------------------------------------------------------- index weights


def test_index_weights_are_block_shares_on_the_items_scale(ecsi, centroid):
    shares = centroid.index_weights()
    expected = expected_frame(CENTROID_OUTER, ["weight", "loading", "communality", "redundancy"])
    for lv, items in BLOCKS.items():
        ref = expected.loc[items, "weight"]
        np.testing.assert_allclose(shares[items], ref / ref.sum(), atol=1e-8)
        assert shares[items].sum() == pytest.approx(1.0)
    # with standardised items the weights go back to the items' scale: the weighted average of
    # the raw answers is still a perfect linear function of the LV score
    fit = plspm(ecsi, blocks=BLOCKS, inner=INNER, scaled=True)
    table = fit.unstandardised_weights()
    assert np.abs(table["weight"] - fit.outer_model["weight"]).max() > 1e-2
    for lv, items in BLOCKS.items():
        index = ecsi[items].to_numpy(float) @ fit.index_weights()[items].to_numpy()
        assert np.corrcoef(index, fit.scores[lv])[0, 1] == pytest.approx(1.0, abs=1e-12)


def test_negative_weight_refuses_the_index(ecsi):
    data = ecsi.assign(loy2r=10 - ecsi["loy2"])  # a reverse-coded item left unrecoded
    blocks = dict(BLOCKS, LOY=["loy1", "loy2r", "loy3", "loy4"])
    fit = plspm(data, blocks=blocks, inner=INNER)
    assert fit.unstandardised_weights().loc["loy2r", "weight"] < 0
    with pytest.raises(PLSModelError, match=r"loy2r \(block LOY") as info:
        fit.index_weights()
    assert "reverse-coded" in str(info.value)
    assert isinstance(info.value, SurveyError) and info.value.value == ["loy2r"]


def test_unconverged_model_refuses_the_index(ecsi):
    fit = plspm(ecsi, blocks=BLOCKS, inner=INNER, max_iter=1)
    assert not fit.converged and fit.iterations == 1
    assert "NOT converged" in fit.summary()
    with pytest.raises(PLSModelError, match="did not converge"):
        fit.index_weights()


# --------------------------------------------------------------------------- bad input


def _fit(data, **changes):
    options = dict(blocks=SMALL_BLOCKS, inner=SMALL_INNER)
    options.update(changes)
    return plspm(data, **options)


def test_cycle_is_named(ecsi):
    with pytest.raises(PLSModelError, match="cycle: SAT -> LOY -> SAT") as info:
        _fit(ecsi, inner=SMALL_INNER + [("LOY", "SAT")])
    assert "remove one edge" in str(info.value)
    with pytest.raises(PLSModelError, match="cycle: SAT -> SAT"):
        _fit(ecsi, inner=SMALL_INNER + [("SAT", "SAT")])


def test_unknown_and_non_numeric_columns_are_named(ecsi):
    with pytest.raises(PLSModelError, match="item 'sat9' of block 'SAT' is not a column") as info:
        _fit(ecsi, blocks=dict(SMALL_BLOCKS, SAT=["sat1", "sat9"]))
    assert "imag1, imag2" in str(info.value) and "gender" in str(info.value)
    with pytest.raises(PLSModelError, match="item 'gender' of block 'SAT' is not numeric") as info:
        _fit(ecsi, blocks=dict(SMALL_BLOCKS, SAT=["sat1", "gender"]))
    assert "numeric answer codes" in str(info.value)


def test_latent_variable_without_edges_is_named(ecsi):
    with pytest.raises(PLSModelError, match="'VAL' has no edge") as info:
        _fit(ecsi, blocks=dict(SMALL_BLOCKS, VAL=BLOCKS["VAL"]))
    assert "remove its block" in str(info.value)
    with pytest.raises(PLSModelError, match="names 'VALUE', which is not a block"):
        _fit(ecsi, inner=SMALL_INNER + [("IMAG", "VALUE")])


def test_collinear_mode_b_block_is_refused(ecsi):
    """What a formative block genuinely needs is items that are not collinear (its weights are
    a regression); one item is fine."""
    data = ecsi.assign(sat_sum=ecsi["sat1"] + ecsi["sat2"])
    with pytest.raises(PLSModelError, match=r"Mode B .*'SAT' has collinear items "
                                            r"\(sat1, sat2, sat_sum: rank 2 of 3\)") as info:
        _fit(data, blocks=dict(SMALL_BLOCKS, SAT=["sat1", "sat2", "sat_sum"]), modes={"SAT": "B"})
    assert 'modes={"SAT": "A"}' in str(info.value)
    # the same items are fine in Mode A
    _fit(data, blocks=dict(SMALL_BLOCKS, SAT=["sat1", "sat2", "sat_sum"]))


@pytest.mark.parametrize("changes, message", [
    ({"scheme": "centroids"}, "unknown inner weighting scheme.*centroid, factorial, path"),
    ({"modes": {"SAT": "C"}}, "unknown mode for block 'SAT'"),
    ({"modes": {"VAL": "A"}}, "mode given for 'VAL', which is not a block"),
    ({"blocks": dict(SMALL_BLOCKS, SAT=[])}, "block of latent variable 'SAT' must be a non-empty"),
    ({"blocks": dict(SMALL_BLOCKS, SAT="sat1")}, r"give 'SAT' a list.*\['sat1'\]"),
    ({"blocks": dict(SMALL_BLOCKS, SAT=["sat1", "imag1"])}, "'imag1' is in two blocks"),
    ({"blocks": {"SAT": ["sat1"]}, "inner": []}, "at least two latent variables"),
    ({"inner": SMALL_INNER + [("IMAG", "SAT")]}, "given twice"),
    ({"inner": [("IMAG", "SAT", "LOY")]}, r"pair \(from, to\)"),
    ({"weights": "wt"}, "weight column 'wt' is not a column"),
    ({"weights": np.ones(3)}, "one weight per row"),
    ({"weights": -np.ones(250)}, "non-negative"),
    ({"tol": 0}, "tol: must be a positive number"),
    ({"max_iter": 0}, "max_iter: must be a positive integer"),
])
def test_bad_options_are_explained(ecsi, changes, message):
    with pytest.raises(PLSModelError, match=message):
        _fit(ecsi, **changes)


def test_missing_and_constant_items_are_named(ecsi):
    data = ecsi.copy()
    data.loc[data.index[:3], "sat2"] = np.nan
    with pytest.raises(PLSModelError, match="'sat2' of block 'SAT' has 3 missing values"):
        _fit(data)
    data = ecsi.assign(sat2=7)
    with pytest.raises(PLSModelError, match="'sat2' has the same answer"):
        _fit(data)
    # constant among the respondents that carry weight
    w = np.where(ecsi["sat2"] == 8, 1.0, 0.0)
    with pytest.raises(PLSModelError, match="'sat2' has the same answer"):
        _fit(ecsi, weights=w)
    with pytest.raises(PLSModelError, match="must be a pandas DataFrame"):
        plspm(ecsi.to_numpy(), blocks=SMALL_BLOCKS, inner=SMALL_INNER)
