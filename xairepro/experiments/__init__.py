"""One package per experiment, each with the same module roles:

``data``          reading and preparing the experiment's data (featurize, split, tokenize)
``training``      the training recipe(s): which model spec, which data, which seed
``<study>``       one module per study (a figure or table of the report)
``targets``       the paper numbers this experiment reproduces (:class:`xairepro.report.targets.Target`)
``reproduction``  turns the study outputs into reproduction rows keyed by target id

Experiments compose the layers below (data, models, training, attribution, evaluation, viz) and
never import each other; helpers shared by several experiments live in modules of this package
that are not experiments (``graphs``).
"""
from __future__ import annotations

import importlib
import pkgutil

__all__ = ["all_targets", "experiment_names"]


def experiment_names() -> list[str]:
    """Every experiment package (a subpackage with a ``targets`` module), sorted by name."""
    names = []
    for info in pkgutil.iter_modules(__path__):
        if info.ispkg and importlib.util.find_spec(f"{__name__}.{info.name}.targets") is not None:
            names.append(info.name)
    return sorted(names)


def all_targets(order: list[str] | None = None) -> list:
    """The declared targets of every experiment, in ``order`` (default: by experiment name)."""
    names = order or experiment_names()
    out = []
    for name in names:
        out += list(importlib.import_module(f"{__name__}.{name}.targets").TARGETS)
    return out
