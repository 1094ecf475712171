"""Every new gradient method (issue 30) on every experiment's example model, through the experiment's own
``settings.example_explainer``: an Explanation of finite, not all-zero samples of the attributed rows, or a
NotApplicable whose reason says why (expected gradients where the experiment attributes at a layer or gives
no background; bayes_vargrad without dropout)."""
from __future__ import annotations


import pytest
import torch
from conftest import REPO_ROOT, quick_example

from xairepro.attribution import Explanation, has_dropout
from xairepro.experiments.explainer import NotApplicable

EXPERIMENTS = sorted(p.parent.name for p in (REPO_ROOT / "xairepro" / "experiments").glob("*/settings.py"))
METHODS = ["vargrad", "smoothgrad_sq", "bayes_vargrad", "noisegrad", "fusiongrad", "expected_gradients"]
#: where expected gradients cannot apply, a word of its reason: the experiments that attribute at an embedding
EG_NOT_APPLICABLE = {"esol": "layer", "tox21": "layer", "text": "layer", "smiles2vec": "layer"}


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_new_methods_explain_or_say_why_not(name):
    settings, cfg, model, explainer = quick_example(name, METHODS)
    explainer.method_options = {m: {**explainer.method_options.get(m, {}), "M": 3} for m in METHODS}
    inputs = settings.example_inputs(2, cfg)
    got = explainer.explain(inputs, settings.example_targets(2, cfg))
    rows = sum(g.num_nodes for g in inputs) if isinstance(inputs, list) else len(inputs)
    expected_na = {"bayes_vargrad": None if has_dropout(model) else "dropout",
                   "expected_gradients": EG_NOT_APPLICABLE.get(name)}
    for method in METHODS:
        e, why = got[method], expected_na.get(method)
        if why is not None:
            assert isinstance(e, NotApplicable) and why in e.reason, f"{name}: {method}: {e!r}"
            continue
        assert isinstance(e, Explanation) and e.method == method, f"{name}: {method}: {e!r}"
        assert e.samples.shape[0] == 3 and e.samples.shape[1] == rows, f"{name}: {method}: {tuple(e.samples.shape)}"
        assert torch.isfinite(e.samples).all() and e.samples.abs().sum() > 0, f"{name}: {method}"
        if method in ("noisegrad", "fusiongrad", "vargrad", "bayes_vargrad"):
            assert not torch.equal(e.samples[0], e.samples[1]), f"{name}: {method}: identical samples"


#: what captum's methods do on each experiment's example model: the input method applies where the experiment
#: attributes the inputs, the layer method where it attributes an embedding, except on graph batches, which
#: captum refuses (its error is the reason)
CAPTUM = ["captum.InputXGradient", "captum.LayerGradientXActivation"]
CAPTUM_OUTCOME = {"esol": (None, "refused"), "tox21": (None, "refused"), "text": (None, "ok"),
                  "smiles2vec": (None, "ok"), "iris": ("ok", None), "peptides": ("ok", None), "vision": ("ok", None)}


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_captum_methods_explain_every_experiment_or_say_why_not(name):
    settings, cfg, model, explainer = quick_example(name, CAPTUM)
    inputs = settings.example_inputs(2, cfg)
    got = explainer.explain(inputs, settings.example_targets(2, cfg))
    for method, outcome in zip(CAPTUM, CAPTUM_OUTCOME[name]):
        e = got[method]
        if outcome == "ok":
            assert isinstance(e, Explanation) and e.M == 1, f"{name}: {method}: {e!r}"
            assert torch.isfinite(e.samples).all() and e.samples.abs().sum() > 0, f"{name}: {method}"
        else:
            assert isinstance(e, NotApplicable), f"{name}: {method}: {e!r}"
            want = "refused" if outcome == "refused" else ("Layer version" if "Layer" not in method else "no layer")
            assert want in e.reason, f"{name}: {method}: {e.reason}"
