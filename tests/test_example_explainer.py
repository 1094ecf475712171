"""Every experiment's ``settings.example_explainer`` (the one per-experiment dispatch the GPU benchmark
and the full-configuration test share): on a model built from the quick config's spec with the
experiment's ``example_model_kwargs``, it explains ``example_inputs(2, cfg)`` with the methods asked for
and returns an Explanation of each, of finite samples for each input."""
from __future__ import annotations


import pytest
import torch
from conftest import REPO_ROOT, quick_example

from xairepro.attribution import Explanation

#: every experiment of the package (a settings.py)
EXPERIMENTS = sorted(p.parent.name for p in (REPO_ROOT / "xairepro" / "experiments").glob("*/settings.py"))
METHODS = ["vanilla_grad", "random"]


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_example_explainer_explains_the_example_inputs(name):
    settings, cfg, model, explainer = quick_example(name, METHODS)
    assert list(explainer.methods) == METHODS
    inputs = settings.example_inputs(2, cfg)
    got = explainer.explain(inputs, settings.example_targets(2, cfg))
    assert list(got) == METHODS
    for method in METHODS:
        e = got[method]
        assert isinstance(e, Explanation) and e.method == method, f"{name}: {method}: {e!r}"
        assert e.samples.numel() > 0 and torch.isfinite(e.samples).all(), f"{name}: {method}: {e.samples}"
        # one row per input (graphs: per atom of the two molecules)
        rows = sum(g.num_nodes for g in inputs) if isinstance(inputs, list) else len(inputs)
        assert e.samples.shape[1] == rows, f"{name}: {method}: samples {tuple(e.samples.shape)}"
