"""The shape of the statistical core: one estimator layer over two variance engines.

* no module of ``analysis/`` imports another in a circle (imports inside functions count);
* no module reads another module's private names (``obj._name`` or ``from m import _name``);
* the replicate design's estimators are the linearised design's: same checks, same errors;
* a replicate design's degrees of freedom after ``poststratify`` are R's.
"""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from analysis import ReplicateDesign, SurveyDesign, VariableError
from tests.analysis.reference_designs import AGE_POP, designs

ANALYSIS = Path(__file__).resolve().parents[2] / "analysis"



def _modules() -> dict[str, ast.Module]:
    out = {}
    for path in sorted(ANALYSIS.rglob("*.py")):
        parts = path.relative_to(ANALYSIS.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return out


def _is_package(name: str) -> bool:
    return (ANALYSIS.parent / Path(*name.split(".")) / "__init__.py").exists()


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not _is_package(module):
        base = base[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _type_checking_only(tree: ast.Module) -> set[int]:
    """ids of the import nodes under ``if TYPE_CHECKING:`` (never run)."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) \
                and node.test.id == "TYPE_CHECKING":
            skipped.update(id(sub) for sub in ast.walk(node))
    return skipped


def _imports(modules: dict) -> dict[str, set[str]]:
    """Edges module -> analysis modules it imports, anywhere in the file."""
    graph = {name: set() for name in modules}
    for name, tree in modules.items():
        skipped = _type_checking_only(tree)
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                source = _resolve(name, node)
                targets = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules
                           else source for alias in node.names]
            for target in targets:
                # the longest analysis module the import names
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                # a package's own submodules are not a cycle through the package
                if target and target != name and not name.startswith(target + "."):
                    graph[name].add(target)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def _own_private_names(tree: ast.Module) -> set[str]:
    """Private names a module defines: functions, classes, attributes set on ``self``/``cls``
    and class-level names."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {n for n in names if n.startswith("_")}


def _private_reads(modules: dict) -> set[tuple[str, str]]:
    reads = set()
    for name, tree in modules.items():
        own = _own_private_names(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                attr = node.attr
                if attr.startswith("_") and not attr.startswith("__") and attr not in own:
                    reads.add((name, attr))
            elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
                source = _resolve(name, node)
                for alias in node.names:
                    private = alias.name.startswith("_") and not alias.name.startswith("__")
                    if private and f"{source}.{alias.name}" not in modules:
                        reads.add((name, alias.name))
    return reads


def test_the_analysis_modules_import_each_other_one_way():
    graph = _imports(_modules())
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))
    assert "analysis.weighting" in graph["analysis.design.survey"]      # the scan sees imports


def test_the_estimators_sit_above_the_engines_and_weighting_below_the_design():
    graph = _imports(_modules())
    engines = {"analysis.design.linearization", "analysis.design.replication"}
    assert not graph["analysis.design.estimators"] & engines
    assert not {m for m in graph["analysis.weighting"] if m.startswith("analysis.design")}
    for engine in engines:
        assert "analysis.design.estimators" not in graph[engine]


def test_no_module_reads_another_modules_private_names():
    reads = _private_reads(_modules())
    assert reads == set()


def test_the_scans_see_the_old_shape():
    """The scan is not blind: the old shape (weighting reading the design's weights) fails."""
    tree = ast.parse("def poststratify(design):\n    return design._w > 0\n")
    assert _private_reads({"analysis.weighting": tree}) == {("analysis.weighting", "_w")}
    cyc = {"analysis.old_design": ast.parse("from .old_weighting import poststratify\n"),
           "analysis.old_weighting": ast.parse("def f():\n    from .old_design import X\n")}
    assert _cycle(_imports(cyc)) is not None


@pytest.fixture(scope="module")
def reference():
    return designs()


@pytest.mark.parametrize("call", [
    lambda d: d.mean("score", level=1.5),
    lambda d: d.total("score", level=0),
    lambda d: d.mean("score", deff="yes"),
    lambda d: d.proportion("score"),
    lambda d: d.proportion("satisfied", ci_method="exact"),
    lambda d: d.frequencies("q1", level=-1),
    lambda d: d.mean("nonexistent"),
    lambda d: d.mean("income", na_rm=False),
    lambda d: d.frequencies("q1", ci_method="nope"),
])
def test_replicate_estimators_raise_what_the_linearised_ones_raise(reference, call):
    lin, rep = reference["dnt"], reference["jknt"]
    with pytest.raises(VariableError) as expected:
        call(lin)
    with pytest.raises(VariableError) as got:
        call(rep)
    assert type(got.value) is type(expected.value)
    assert (got.value.argument, got.value.message) == (expected.value.argument,
                                                        expected.value.message)


def test_replicate_mean_refuses_a_level_outside_0_1(reference):
    with pytest.raises(VariableError, match="level"):
        reference["jknt"].mean("score", level=1.5)


def test_replicate_refuses_only_the_likelihood_interval(reference):
    rep = reference["jknt"]
    with pytest.raises(VariableError, match="likelihood"):
        rep.proportion("satisfied", ci_method="likelihood")
    table = rep.frequencies("q1", by="district").to_frame()
    assert np.allclose(table.groupby(level=0)["estimate"].sum(), 1.0)


def test_replicate_frequencies_give_rs_design_effects(reference):
    """R 4 / survey 4.1.1 (q1 a factor):  deff(svymean(~q1, jknt, deff = TRUE)),
    deff(svymean(~q1, subset(jknt, district == "崇川区"), deff = TRUE)) and
    deff(svymean(~q1, jknt, deff = "replace"))."""
    rep = reference["jknt"]
    cats = ["一般", "不满意", "满意", "非常不满意", "非常满意"]
    r_all = [0.885631799443, 1.547763922631, 0.857134576457, 0.918648745983, 1.204617722627]
    r_dist = [2.184854376072, 1.738315200359, 1.797920249494, np.nan, 0.815998636668]
    r_repl = [0.885590762270, 1.547692204501, 0.857094859748, 0.918606178916, 1.204561904728]
    got = rep.frequencies("q1", deff=True).to_frame()["deff"]
    assert np.allclose(got[cats], r_all, rtol=1e-10)
    got = rep.frequencies("q1", by="district", deff=True).to_frame().loc["崇川区", "deff"]
    assert np.allclose(got[cats], r_dist, rtol=1e-10, equal_nan=True)
    got = rep.frequencies("q1", deff="replace").to_frame()["deff"]
    assert np.allclose(got[cats], r_repl, rtol=1e-10)


def test_replicate_poststratify_takes_rs_degrees_of_freedom(reference):
    """R 4 / survey 4.1.1:
    jknt <- as.svrepdesign(dnt, type = "JKn"); ps <- postStratify(jknt, ~age_group, age_pop)
    degf(jknt) = 26, degf(ps) = 33; svymean(~score, ps) = 6.3081873 (SE 0.1364336),
    confint(., df = degf(ps)) = 6.030611, 6.585764; the districts' degf(subset(ps, ...))
    are those of the project's domains."""
    jknt = reference["jknt"]
    ps = jknt.poststratify("age_group", AGE_POP)
    assert jknt.degf == 26
    assert ps.degf == 33
    est = ps.mean("score")
    assert est.df == 33
    assert est.estimate == pytest.approx(6.3081873, abs=5e-8)
    assert est.se == pytest.approx(0.1364336, abs=5e-8)
    assert est.ci == pytest.approx((6.030611, 6.585764), abs=5e-7)
    by = ps.mean("score", by="district").to_frame()["df"]
    assert sorted(by.tolist()) == sorted([6, 6, 7, 7, 5, 6, 6, 7])
    assert isinstance(ps, ReplicateDesign) and isinstance(reference["dnt"], SurveyDesign)


def test_replicate_rake_keeps_the_degrees_of_freedom(reference):
    """R's calibrate() on a replicate design keeps degf (stored R value: degf(jkrknt) = 26)."""
    assert reference["jkrknt"].degf == reference["jknt"].degf == 26
