"""The captum adapter: ``captum.<Class>`` names any captum attribution class as a method.

It equals a direct captum call on three models (an MLP, a small CNN, a model explained at its
embedding layer); where captum refuses the inputs the method is NotApplicable with captum's error; a
config line naming captum methods passes the config checks and runs through the iris faithfulness
table (captum's Saliency without abs is the gradient, so its rows equal vanilla_grad's)."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import yaml
from conftest import REPO_ROOT
from torch import nn

from xairepro.attribution import Explanation, accepted_options, create_method, method_class, unknown_methods
from xairepro.config import ConfigError, check_methods, resolve_scale, validate_config
from xairepro.context import RunContext
from xairepro.experiments.explainer import Explainer, NotApplicable


def _seeded(seed):
    torch.manual_seed(seed)
    np.random.seed(seed)


def test_adapter_equals_captum_on_an_mlp():
    from captum.attr import GradientShap, IntegratedGradients

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    x, bg = torch.randn(5, 4), torch.randn(10, 4)
    settings = {"baselines": torch.full((4,), 0.5), "background": bg, "stdevs": 3.0, "method": "trapezoid"}
    ig = create_method("captum.IntegratedGradients", model, settings, n_steps=16).compute(x, target=2)
    ref = IntegratedGradients(model).attribute(x, baselines=torch.full((1, 4), 0.5), target=2, n_steps=16)
    assert ig.M == 1 and torch.allclose(ig.samples[0], ref, atol=1e-6)
    assert torch.allclose(ig.output[0], model(x)[:, 2].detach())
    # a random method: sample k is captum's call under seed + k, drawing baselines from the background
    gs = create_method("captum.GradientShap", model, settings, n_samples=3).compute(x, M=2, target=1, seed=7)
    for k in range(2):
        _seeded(7 + k)
        ref = GradientShap(model).attribute(x, baselines=bg, n_samples=3, target=1)
        assert torch.allclose(gs.samples[k], ref, atol=1e-6)
    assert not torch.allclose(gs.samples[0], gs.samples[1])
    assert gs.options == {"n_samples": 3, "background": "tensor(10, 4)"}


def test_adapter_equals_captum_on_a_cnn():
    from captum.attr import GuidedBackprop, Occlusion

    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 5))
    x = torch.randn(2, 3, 8, 8)
    gb = create_method("captum.GuidedBackprop", model, {}).compute(x, target=torch.tensor([1, 4]))
    assert torch.allclose(gb.samples[0], GuidedBackprop(model).attribute(x, target=torch.tensor([1, 4])), atol=1e-6)
    occ = create_method("captum.Occlusion", model, {"baselines": 0.0}, sliding_window_shapes=(3, 4, 4),
                        strides=(3, 2, 2)).compute(x, target=3)
    ref = Occlusion(model).attribute(x, sliding_window_shapes=(3, 4, 4), strides=(3, 2, 2), baselines=0.0, target=3)
    assert torch.allclose(occ.samples[0], ref, atol=1e-6)


class Embedded(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(12, 5)
        self.fc = nn.Linear(5, 1)

    def forward(self, tokens):
        return self.fc(torch.tanh(self.embedding(tokens)).mean(1))


def test_adapter_equals_captum_at_a_layer():
    from captum.attr import LayerGradientXActivation, LayerIntegratedGradients

    torch.manual_seed(2)
    model = Embedded()
    tokens = torch.randint(0, 12, (3, 6))
    settings = {"layer": model.embedding, "baselines": 0.5}    # an embedding-space baseline captum's layer methods do not read
    lig = create_method("captum.LayerIntegratedGradients", model, settings, n_steps=8).compute(tokens)
    ref = LayerIntegratedGradients(model, model.embedding).attribute(tokens, n_steps=8)
    assert lig.samples.shape == (1, 3, 6, 5) and torch.allclose(lig.samples[0], ref, atol=1e-6)
    gxa = create_method("captum.LayerGradientXActivation", model, settings).compute(tokens)
    assert torch.allclose(gxa.samples[0], LayerGradientXActivation(model, model.embedding).attribute(tokens))
    # input methods do not apply at a layer, layer methods not without one
    with pytest.raises(Exception, match="Layer version"):
        create_method("captum.IntegratedGradients", model, settings)
    with pytest.raises(Exception, match="no layer"):
        create_method("captum.LayerIntegratedGradients", model, {})


def test_captum_refusal_is_not_applicable_with_captums_error():
    """Token ids at the input: captum's Saliency cannot differentiate them; the explainer reports it."""
    model = Embedded()
    ex = Explainer(model, ["captum.Saliency", "captum.LayerGradientXActivation"], settings={"layer": model.embedding})
    got = ex.explain(torch.randint(0, 12, (2, 6)))
    assert isinstance(got["captum.Saliency"], NotApplicable)        # an input method where the experiment has a layer
    assert "Layer version" in got["captum.Saliency"].reason
    assert isinstance(got["captum.LayerGradientXActivation"], Explanation)
    ex = Explainer(model, ["captum.Saliency"], settings={})
    reason = ex.explain(torch.randint(0, 12, (2, 6)))["captum.Saliency"].reason
    assert "captum.Saliency refused" in reason and "RuntimeError" in reason, reason


def test_naming_rule_and_options():
    assert unknown_methods(["captum.GradientShap", "captum.NoiseTunnel", "captum.NeuronGradient", "captum.Nope",
                            "captum.LayerAttribution"]) == ["captum.NoiseTunnel", "captum.NeuronGradient",
                                                            "captum.Nope", "captum.LayerAttribution"]
    with pytest.raises(KeyError, match="NoiseTunnel"):
        method_class("captum.NoiseTunnel")
    opts = accepted_options(method_class("captum.IntegratedGradients"))
    assert {"n_steps", "method", "internal_batch_size", "multiply_by_inputs", "layer", "target"} <= opts
    assert "inputs" not in opts and "forward_func" not in opts


QUICK = resolve_scale(yaml.safe_load((REPO_ROOT / "config.yaml").read_text()), "quick")


def _with_iris_methods(methods, options):
    cfg = {k: (dict(v) if isinstance(v, dict) else v) for k, v in QUICK.items()}
    cfg["iris"] = dict(cfg["iris"], faithfulness=dict(cfg["iris"]["faithfulness"], methods=methods,
                                                      method_options=options))
    return cfg


def test_a_config_line_runs_captum_methods_through_the_iris_faithfulness_table():
    from xairepro.experiments.iris.faithfulness import faithfulness_study
    from xairepro.models import build_model

    methods = ["captum.Saliency", "vanilla_grad", "captum.GradientShap", "random"]
    options = {"captum.Saliency": {"abs": False}, "captum.GradientShap": {"n_samples": 2, "M": 2}}
    raw = yaml.safe_load((REPO_ROOT / "config.yaml").read_text())
    raw["iris"]["faithfulness"].update(methods=methods, method_options=options)
    validate_config(raw, source="config.yaml")          # the schema takes captum.<Class> names
    raw["iris"]["faithfulness"]["methods"] = ["captum.gradient_shap"]
    with pytest.raises(ConfigError, match="captum.gradient_shap"):
        validate_config(raw, source="config.yaml")
    cfg = _with_iris_methods(methods, options)
    check_methods(cfg)
    with pytest.raises(ConfigError, match=r"iris\.faithfulness\.method_options\.captum\.GradientShap\.n_sample"):
        check_methods(_with_iris_methods(methods, {"captum.GradientShap": {"n_sample": 2}}))
    with pytest.raises(ConfigError, match="captum.NoiseTunnel"):
        check_methods(_with_iris_methods(["captum.NoiseTunnel"], {}))

    torch.manual_seed(0)
    model = build_model("tabular_mlp", **{k: v for k, v in QUICK["iris"]["models"]["mlp"].items() if k != "arch"},
                        n_in=4, n_out=3).eval()
    x = torch.rand(12, 4) * 7 + 0.1
    data = SimpleNamespace(x=x.numpy(), y=np.arange(12) % 3, features=["a", "b", "c", "d"])
    section = dict(cfg["iris"], faithfulness=dict(cfg["iris"]["faithfulness"], n_examples=12, sanity_steps=None))
    suite = faithfulness_study({"model": model, "data": data, "model_name": "mlp"}, section,
                               ctx=RunContext(seed=0, device="cpu", max_batch=64))
    per = suite.per_example
    table = per[per["operator"] == "baseline"].set_index(["method", "example"]).sort_index()
    assert set(table.index.get_level_values(0)) == set(methods)
    assert len(table.loc["captum.GradientShap"]) == 12
    # Saliency without abs is the gradient: the same rankings, the same deletion and insertion curves
    assert np.allclose(table.loc["captum.Saliency"][["deletion_aopc", "insertion_auc"]],
                       table.loc["vanilla_grad"][["deletion_aopc", "insertion_auc"]])
    assert suite.skipped.empty
