"""The Explainer: options from the config, per-method samples and readings, chunks with seeds, the
same explainer on a randomised copy; and the one faithfulness call on it."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from xairepro.attribution import Attribution, Result, SoftmaxScore, VanillaGrad, floor_methods, register_method
from xairepro.evaluation.sanity import parameter_layers, sanity_steps
from xairepro.evaluation.units import FeatureUnit
from xairepro.experiments.explainer import Explainer, NotApplicable
from xairepro.experiments.suite import FaithfulnessSpec, faithfulness_suite


def _linear(seed=0, d=4, k=3):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d, k))


def test_options_samples_and_readings_come_from_method_options():
    model = _linear()
    ex = Explainer(model, ["vanilla_grad", "smoothgrad", "random"], settings={"max_batch": 64},
                   method_options={"smoothgrad": {"stdevs": 0.3, "M": 7, "aggregation": "square"}}, M=3)
    assert ex.samples("smoothgrad") == 7          # its own M
    assert ex.samples("vanilla_grad") == 3        # the explainer's M
    assert ex.samples("random") == 5              # the floor's own default, not the sampling methods' M
    assert ex.reading("smoothgrad") == "square" and ex.reading("vanilla_grad") == "raw"
    x = torch.randn(5, 4)
    out = ex.explain(x, target=1)
    assert out["smoothgrad"].options["stdevs"] == 0.3 and out["smoothgrad"].M == 7
    assert out["random"].M == 5
    assert set(out.seconds) == {"vanilla_grad", "smoothgrad", "random"}
    # the gradient of a linear model's output 1 is its weight row, for every example
    w = model[0].weight.detach()[1]
    assert torch.allclose(out["vanilla_grad"].attribution(), w.expand(5, 4), atol=1e-6)
    assert floor_methods() == ["random"]


def test_chunks_give_the_same_result_as_one_call_with_seeds_by_start():
    model = _linear()
    x = torch.randn(10, 4)
    whole = Explainer(model, ["smoothgrad"], settings={}, M=4, seed=11)
    chunked = Explainer(model, ["smoothgrad"], settings={}, M=4, seed=11, chunk=3)
    a = whole.explain(x, target=0)["smoothgrad"]
    b = chunked.explain(x, target=0)["smoothgrad"]
    assert a.samples.shape == b.samples.shape == (4, 10, 4)
    # the first chunk starts at example 0, so it draws with the same seed as the one call
    assert torch.equal(a.samples[:, :3], b.samples[:, :3])
    # later chunks draw with seed + start: other noise, the same gradient (linear model)
    assert not torch.equal(a.output[:, 3:], b.output[:, 3:])
    # per-chunk seeds as a callable
    chunked_k = Explainer(model, ["smoothgrad"], settings={}, M=4, seed=lambda k: 11 + 3 * k, chunk=3)
    assert torch.equal(chunked_k.explain(x, target=0)["smoothgrad"].samples, b.samples)


def test_not_applicable_comes_back_with_its_reason_and_on_uses_the_other_model():
    model = _linear()
    ex = Explainer(model, ["bayesgrad", "vanilla_grad"], settings=lambda m: {"max_batch": 16})
    out = ex.explain(torch.randn(2, 4), target=0)
    assert isinstance(out["bayesgrad"], NotApplicable) and "dropout" in out["bayesgrad"].reason
    other = _linear(seed=5)
    again = ex.on(other).explain(torch.randn(2, 4), target=0)["vanilla_grad"]
    assert torch.allclose(again.attribution()[0], other[0].weight.detach()[0])


def test_score_wraps_the_model_for_methods_and_curves():
    model = _linear()
    x = torch.randn(3, 4)
    ex = Explainer(model, ["vanilla_grad"], settings={}, score=SoftmaxScore)
    g = ex.explain(x, target=2)["vanilla_grad"].attribution()
    xr = x.clone().requires_grad_(True)
    torch.softmax(model(xr), -1)[:, 2].sum().backward()
    assert torch.allclose(g, xr.grad, atol=1e-6)
    assert torch.allclose(ex.scored()(x), torch.softmax(model(x), -1))


def test_sanity_steps_resolves_every_spelling_of_the_config():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    n = len(parameter_layers(model))
    assert n == 3
    assert sanity_steps(model, None) is None
    assert sanity_steps(model, "all") == [3]
    assert sanity_steps(model, ["top", "half", "all"]) == [1, 1, 3]
    assert sanity_steps(model, [2]) == [2]
    assert sanity_steps(model, []) == [] and sanity_steps(model, ()) == []
    with pytest.raises(ValueError, match="sanity_steps: 'most'"):
        sanity_steps(model, ["most"])


@register_method("test_explainer_first_feature")
class FirstFeature(Attribution):
    """Scores only the first feature: a toy method for the one-call suite."""

    def _attribute(self, model, call, inputs, M, seed):
        s = torch.zeros((1, *inputs.shape))
        s[..., 0] = 1.0
        return Result(s)


def test_one_call_suite_measures_a_registered_toy_method_and_checks_the_randomised_copy():
    torch.manual_seed(0)
    # the output depends on feature 0 only: the toy method's order is the best there is
    model = nn.Sequential(nn.Linear(3, 1, bias=False))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[5.0, 0.0, 0.0]]))
    x = torch.rand(6, 3) + 0.5
    ex = Explainer(model, ["test_explainer_first_feature", "vanilla_grad", "random"], settings={},
                   method_options={"random": {"M": 3}})
    spec = FaithfulnessSpec(unit=FeatureUnit(baseline=0.0), fractions=np.linspace(0, 1, 4), sanity_steps="all")
    labels = dict(experiment="toy", modality="table", unit="feature", model="lin", replicate=0)
    res = faithfulness_suite(ex, x, spec, labels=labels, target=0)
    aopc = res.per_example.groupby("method")["deletion_aopc"].mean()
    assert aopc["test_explainer_first_feature"] > aopc["random"]
    assert set(res.cost["method"]) == {"test_explainer_first_feature", "vanilla_grad", "random"}
    # the sanity check explained the randomised copy: the gradient changes, the toy method does not
    rho = res.sanity.groupby("method")["spearman"].mean()
    assert set(rho.index) == {"test_explainer_first_feature", "vanilla_grad", "random"}
    assert res.sanity["layers"].unique().tolist() == [1]
