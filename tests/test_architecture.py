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
