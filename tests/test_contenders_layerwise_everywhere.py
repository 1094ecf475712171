"""Every experiment's example models (quick scale: the ``example_*`` functions of each
``xairepro/experiments/*/settings.py``, as ``tests/test_full_config.py`` uses them at full scale) explained
by guided_backprop, deeplift, grad_cam and kernel_shap through the experiment's own Explainer: each returns
an Explanation of finite, non-zero attributions, or is NotApplicable with a reason that names why, and
where each applies is what the methods' rules say (Grad-CAM on the convolutional models, Kernel SHAP on
the tables and sequences, DeepLift where no layer lacks a rule, guided backprop on ReLU networks)."""
from __future__ import annotations

import importlib

import pytest
import torch
import yaml
from conftest import REPO_ROOT

from xairepro.attribution import Explanation
from xairepro.config import resolve_scale
from xairepro.context import RunContext
from xairepro.experiments.explainer import NotApplicable
from xairepro.models import build_model

QUICK = resolve_scale(yaml.safe_load((REPO_ROOT / "config.yaml").read_text()), "quick")
METHODS = ["guided_backprop", "deeplift", "grad_cam", "kernel_shap"]
#: a word the reason of each method's refusal must contain (lower case)
WHY = {"guided_backprop": ("relu",), "deeplift": ("recurrent", "no deeplift rule", "graph"),
       "grad_cam": ("convolution",), "kernel_shap": ("players", "graph")}
#: (experiment, model) -> the methods that must apply there; the others must be NotApplicable
APPLIES = {
    ("esol", "nfp"): set(),                                              # graph batches: no DeepLift here
    ("esol", "ggnn"): set(),                                             # chainer's GRU, no ReLU
    ("tox21", "ggnn"): set(),
    ("tox21", "ggnn_embedding_state"): {"guided_backprop"},            # a ReLU in its head; a GRU cell
    ("tox21", "nfp"): set(),
    ("iris", "mlp"): {"guided_backprop", "deeplift", "kernel_shap"},     # 4 players
    ("peptides", "cnn"): {"grad_cam", "kernel_shap"},                    # tanh and max pooling
    ("peptides", "cnn_dropout"): {"grad_cam", "kernel_shap"},
    ("smiles2vec", "smiles2vec"): {"guided_backprop", "grad_cam", "kernel_shap"},   # ReLU, conv, GRUs
    ("text", "bigru"): {"guided_backprop"},                              # ReLU head; 200 words > 160 players
    ("vision", "classifier"): {"guided_backprop", "deeplift", "grad_cam"},          # 3,072 pixels > 160 players
    ("vision", "dropout"): {"guided_backprop", "deeplift", "grad_cam"},
}
CTX = RunContext(seed=0, device="cpu", max_batch=256)
CASES = [(s, name) for s in ("esol", "tox21", "iris", "peptides", "smiles2vec", "text", "vision")
         for name in QUICK[s]["models"]]
#: Kernel SHAP's 2,288 coalitions of SMILES2vec's 120 characters through its GRUs: ~3 s
SLOW = {("smiles2vec", "smiles2vec")}


def test_every_quick_model_has_an_expectation():
    assert set(CASES) == set(APPLIES)


@pytest.mark.parametrize("section,name", [pytest.param(s, n, id=f"{s}.{n}", marks=[pytest.mark.slow] if (s, n) in SLOW
                                                     else []) for s, n in CASES])
def test_explanation_or_reason(section, name):
    settings = importlib.import_module(f"xairepro.experiments.{section}.settings")
    cfg = QUICK[section]
    spec = dict(cfg["models"][name])
    kwargs = {k: v for k, v in settings.example_model_kwargs(cfg).items()}
    torch.manual_seed(0)
    model = build_model(spec.pop("arch"), **spec, **{k: v for k, v in kwargs.items() if k not in spec}).eval()
    inputs, target = settings.example_inputs(2, cfg), settings.example_targets(2, cfg)
    results = settings.example_explainer(model, cfg, ctx=CTX, methods=METHODS).explain(inputs, target)
    applied = set()
    for method in METHODS:
        got = results[method]
        if isinstance(got, NotApplicable):
            assert any(w in got.reason.lower() for w in WHY[method]), f"{section}.{name}: {method}: {got.reason}"
            continue
        assert isinstance(got, Explanation) and got.method == method
        assert torch.isfinite(got.samples).all() and got.samples.abs().sum() > 0, f"{section}.{name}: {method}"
        applied.add(method)
    assert applied == APPLIES[(section, name)], {m: getattr(results[m], "reason", "applied") for m in METHODS}
