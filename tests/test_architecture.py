"""The package's dependency direction and the experiment shape, checked on the source itself."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import REPO_ROOT

PKG = REPO_ROOT / "xairepro"
#: Layers a module of the key may not import (besides anything above it).
FORBIDDEN = {
    "models": {"data", "training", "attribution", "evaluation", "viz", "report", "experiments"},
    "attribution": {"data", "training", "evaluation", "viz", "report", "experiments"},
    "evaluation": {"training", "viz", "report", "experiments"},
    "training": {"attribution", "evaluation", "viz", "report", "experiments"},
    "data": {"models", "training", "attribution", "evaluation", "viz", "report", "experiments"},
    "viz": {"training", "report", "experiments"},
    "report": {"experiments", "training", "attribution", "models"},
}
MAX_EXPERIMENT_MODULE_LINES = 320


def _imports(path: Path) -> set[str]:
    """Absolute dotted names of the xairepro modules ``path`` imports."""
    tree = ast.parse(path.read_text())
    here = path.relative_to(REPO_ROOT).with_suffix("").parts
    package = here[:-1] if here[-1] != "__init__" else here[:-1]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("xairepro")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name.startswith("xairepro"):
                out.add(name)
                out |= {f"{name}.{a.name}" for a in node.names}
    return out


def _modules():
    return sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_never_import_a_layer_above(layer):
    bad = []
    for path in (PKG / layer).rglob("*.py"):
        for name in _imports(path):
            parts = name.split(".")
            if len(parts) > 1 and parts[1] in FORBIDDEN[layer]:
                bad.append(f"{path.relative_to(REPO_ROOT)} imports {name}")
    assert not bad, "\n".join(bad)


def test_experiments_never_import_each_other():
    exp = PKG / "experiments"
    packages = {p.name for p in exp.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    bad = []
    for name in packages:
        for path in (exp / name).rglob("*.py"):
            for imported in _imports(path):
                parts = imported.split(".")
                if len(parts) > 2 and parts[1] == "experiments" and parts[2] in packages and parts[2] != name:
                    bad.append(f"{path.relative_to(REPO_ROOT)} imports {imported}")
    assert not bad, "\n".join(bad)


def test_no_import_cycle_between_modules():
    graph = {}
    for path in _modules():
        mod = ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts).removesuffix(".__init__")
        graph[mod] = {n for n in _imports(path) if n != mod}
    known = set(graph)
    graph = {m: {n for n in deps if n in known and not m.startswith(n + ".")} for m, deps in graph.items()}
    state: dict[str, int] = {}

    def visit(m, stack):
        state[m] = 1
        for n in graph[m]:
            if state.get(n) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack + [m, n]))
            if n not in state:
                visit(n, stack + [m])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [])


def test_experiment_modules_stay_small_and_each_experiment_declares_targets():
    long = [f"{p.relative_to(REPO_ROOT)}: {len(p.read_text().splitlines())} lines"
            for p in (PKG / "experiments").rglob("*.py")
            if len(p.read_text().splitlines()) > MAX_EXPERIMENT_MODULE_LINES]
    assert not long, long
    for pkg in (PKG / "experiments").iterdir():
        if pkg.is_dir() and (pkg / "__init__.py").exists():
            assert (pkg / "targets.py").exists(), f"{pkg.name} declares no targets"


# ----------------------------------------------------------------------------- issue 18
MAX_ATTRIBUTION_MODULE_LINES = 300


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts).removesuffix(".__init__")


def _from_module(path: Path, node: ast.ImportFrom) -> str:
    """The absolute dotted module of a ``from ... import`` in ``path``."""
    if not node.level:
        return node.module or ""
    here = path.relative_to(REPO_ROOT).with_suffix("").parts
    base = list(here[:-1][: len(here) - node.level])
    return ".".join(base + ([node.module] if node.module else []))


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_no_attribution_module_is_over_300_lines():
    long = [f"{p.relative_to(REPO_ROOT)}: {n} lines" for p in sorted((PKG / "attribution").rglob("*.py"))
            if "__pycache__" not in p.parts and (n := len(p.read_text().splitlines())) > MAX_ATTRIBUTION_MODULE_LINES]
    assert not long, long


def test_no_private_name_is_imported_from_another_module():
    """``from .x import _y`` couples a module to another's internals (issue 18: shapley.py and masks.py
    imported base.py's private names). Dunder names are fine; so are the ``_utils`` helper modules,
    whose functions are public within the package."""
    bad = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                module = _from_module(path, node)
                if not module.startswith("xairepro"):
                    continue
                bad += [f"{path.relative_to(REPO_ROOT)}:{node.lineno} imports {a.name} from {module}"
                        for a in node.names if _is_private(a.name)]
            elif isinstance(node, ast.Import):
                bad += [f"{path.relative_to(REPO_ROOT)}:{node.lineno} imports {a.name}" for a in node.names
                        if a.name.startswith("xairepro") and _is_private(a.name.split(".")[-1])]
    assert not bad, "\n".join(bad)


def _attribution_bindings(path: Path, tree) -> tuple[set[str], set[str]]:
    """Names bound in ``path`` to attribution classes, and names bound to attribution modules."""
    import importlib
    import inspect

    from xairepro.attribution import Attribution

    classes, modules = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = _from_module(path, node)
            for a in node.names:
                if module.startswith("xairepro.attribution"):
                    obj = getattr(importlib.import_module(module), a.name, None)
                    if inspect.isclass(obj) and issubclass(obj, Attribution):
                        classes.add(a.asname or a.name)
                    elif inspect.ismodule(obj):
                        modules.add(a.asname or a.name)
                elif module == "xairepro" and a.name == "attribution":
                    modules.add(a.asname or a.name)
        elif isinstance(node, ast.Import):
            modules |= {a.asname for a in node.names if a.name.startswith("xairepro.attribution") and a.asname}
    return classes, modules


def _class_tables(path: Path, source: str) -> list[int]:
    """Line numbers of the dict literals in ``source`` (module level or inside a function) with a
    value that is an attribution class imported from xairepro.attribution."""
    tree = ast.parse(source)
    classes, modules = _attribution_bindings(path, tree)

    def is_class(value):
        return (isinstance(value, ast.Name) and value.id in classes) or (
            isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name) and value.value.id in modules)
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Dict) and any(is_class(v) for v in node.values)]


def test_experiments_hold_no_name_to_class_tables_of_methods():
    """Experiments name methods in config and build them with the registry (create_method); a dict
    literal whose values are attribution classes is a second, experiment-local vocabulary."""
    bad = [f"{path.relative_to(REPO_ROOT)}:{line}: a table of attribution classes"
           for path in sorted((PKG / "experiments").rglob("*.py")) if "__pycache__" not in path.parts
           for line in _class_tables(path, path.read_text())]
    assert not bad, "\n".join(bad)


def test_the_table_check_finds_the_old_tables():
    """The check above is not vacuous: it flags the shape of the tables issue 18 removed."""
    src = ("from ...attribution import IntegratedGradients, VanillaGrad, aggregate\n"
           "from ... import attribution as A\n"
           "METHODS = {'vanilla': VanillaGrad, 'ig': IntegratedGradients}\n"
           "SETTINGS = {'n_steps': 64, 'reduce': aggregate}\n"
           "def f():\n    return {'smooth': A.SmoothGrad}\n")
    assert _class_tables(PKG / "experiments" / "probe" / "explain.py", src) == [3, 6]


def test_target_class_appears_nowhere_in_the_package():
    """The old keyword is gone with its shim (issue 18): not in code, schemas or docstrings."""
    hits = []
    for path in sorted(PKG.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts or path.suffix in (".pyc", ".so"):
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        hits += [f"{path.relative_to(REPO_ROOT)}:{i}" for i, line in enumerate(text.splitlines(), 1)
                 if "target_class" in line]
    assert not hits, "\n".join(hits)


def test_the_lists_of_builtin_names_equal_the_registries():
    """The config check reads xairepro/names.py instead of importing torch; it must list exactly the
    models and methods the package registers (before any plugin)."""
    import subprocess
    import sys

    code = ("import json, xairepro.models as m, xairepro.attribution as a; "
            "print(json.dumps([sorted(m.MODELS), a.method_names(), "
            "{n: sorted(a.accepted_options(a.method_class(n))) for n in a.method_names()}]))")
    import json

    models, methods, options = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                                         text=True, check=True).stdout)
    from xairepro.names import BUILTIN_METHODS, BUILTIN_MODELS, BUILTIN_OPTIONS

    assert sorted(BUILTIN_MODELS) == models
    assert list(BUILTIN_METHODS) == methods
    assert {n: sorted(o) for n, o in BUILTIN_OPTIONS.items()} == options
    from xairepro.attribution import floor_methods
    from xairepro.names import FLOOR_METHOD

    assert floor_methods() == [FLOOR_METHOD]  # the one name the evaluation reads the floor's rows by


@pytest.mark.slow  # a subprocess or a dry run: ~10-20 s (the fast tier stays under a minute)
def test_jobs_without_graphs_never_import_torch_geometric_and_tables_never_import_torch():
    """Every Snakemake job pays its imports: torch_geometric (about a second, it pulls in torch._dynamo)
    only where graphs are used, torch only where tensors are. A fresh interpreter shows what an import
    pulls in; the graph modules still import PyG, so the check can fail both ways."""
    import subprocess
    import sys

    def loaded(modules):
        code = ("import sys\n" + "".join(f"import {m}\n" for m in modules)
                + "print(','.join(sorted({n.split('.')[0] for n in sys.modules} & {'torch', 'torch_geometric'})))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=True)
        return set(filter(None, out.stdout.strip().split(",")))

    no_graphs = ["xairepro.attribution", "xairepro.models", "xairepro.training", "xairepro.runtime",
                 "xairepro.experiments.text.data", "xairepro.experiments.vision.training",
                 "xairepro.experiments.iris.training", "xairepro.experiments.peptides.data",
                 "xairepro.experiments.smiles2vec.data", "xairepro.experiments.methods",
                 "xairepro.experiments.explainer", "xairepro.experiments.suite"]
    assert loaded(no_graphs) == {"torch"}
    assert loaded(["xairepro.report.targets", "xairepro.runtime"]) == set()
    assert loaded(["xairepro.experiments.graphs"]) == {"torch", "torch_geometric"}


@pytest.mark.slow  # a subprocess or a dry run: ~10-20 s (the fast tier stays under a minute)
def test_no_module_of_a_non_graph_experiment_imports_graph_or_chemistry_libraries():
    """A job of the non-graph experiments (iris, peptides, SMILES2vec, CIFAR-10, IMDB) pays for neither
    torch_geometric (about a second) nor RDKit: every module of theirs imported in one fresh interpreter
    (SMILES2vec's featurization and atom maps import RDKit inside the functions that read molecules);
    the graph experiments do load both, so the check can fail."""
    import pkgutil
    import subprocess
    import sys

    import xairepro.experiments as experiments

    def loaded(packages):
        modules = [f"xairepro.experiments.{p}.{m.name}" for p in packages
                   for m in pkgutil.iter_modules([str(Path(experiments.__path__[0]) / p)])]
        code = ("import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
                "print(sorted({n.split('.')[0] for n in sys.modules} & {'torch_geometric', 'rdkit'}))")
        out = subprocess.run([sys.executable, "-c", code, *modules], capture_output=True, text=True, check=True,
                             cwd=REPO_ROOT)
        return modules, out.stdout.strip()

    modules, libs = loaded(["iris", "peptides", "smiles2vec", "vision", "text"])
    assert len(modules) >= 40 and "xairepro.experiments.vision.settings" in modules
    assert libs == "[]", libs
    assert loaded(["esol"])[1] == "['rdkit', 'torch_geometric']"
