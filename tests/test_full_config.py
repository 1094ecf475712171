"""Every model of the FULL configuration, built as configured, trained one step and explained by
every registered method on inputs of the full shapes (issue: "No full-scale code path reaches a
user untested").

The specs are read from config.yaml resolved at ``scale: full``: every entry of every experiment
section's ``models``, every model spec nested in a study (``{arch: ...}`` anywhere else in the
section, e.g. ``esol.blog_ig.model``, ``text.mask.head``), the architectures a study builds from
a list (``tox21.dead_features.models`` x ``layers``) and the mask networks (``<section>.mask``). A
model added to the full config is therefore covered without editing this file, unless it needs
something this file cannot know: the data-dependent constructor keywords (vocabulary size,
padding id, input width...) come from each experiment's ``settings.example_model_kwargs``, and a spec
without one fails naming what is missing; the mask networks are ``settings.example_mask_net``.

The recipes below hold no attribution settings: the inputs are the experiment's
``settings.example_inputs`` for the resolved full section, and the explanation is its
``settings.example_explainer`` (the section its faithfulness study reads), with every registered
method, M=2 and the section's ``method_options`` made cheap through ``method_options`` only
(:data:`CHEAP`: 2 integrated-gradients points, 2 random orders, 2 Shapley permutations, 16 Kernel SHAP
coalitions; text's occlusion windows and vision's windows and Shapley patches coarser).

For each spec: ``test_build`` (fast) builds it and checks it is the configured network (ResNet-164
has 164 weighted layers and the README's parameter count, the BiGRU is 256 wide with a 20,002 x 100
embedding...); ``test_train_and_explain`` runs one step of the project's training loop (the
section's ``train`` settings, 2 inputs of the full shapes: loss finite, parameters moved) and one
``Explainer.explain`` of every built-in method (``BUILTIN_METHODS``; a test elsewhere may register toy
methods in the same process, which need not take every modality's inputs): an ``Explanation`` with finite samples
of the attributed tensor's shape (text: the word scores the explainer reduces to, and the raw
samples before), or a ``NotApplicable`` naming its reason where the method cannot apply (Shapley
sampling at a layer, BayesGrad without dropout, the mask without a mask network).
The ResNet-164 and BiGRU-256 cases (and their mask networks) take 1-10 s each on 2 idle CPU cores,
up to 100 s on busy ones, and are marked slow; the rest runs in about a minute.

The explanation mask's samples are one weight per position, shared by the channels the mask
multiplies ((B, T, 1) of a (B, T, C) embedding, (B, 1, H, W) of an image), so for that method the
test asks for a shape that broadcasts to the attributed tensor's.
"""
from __future__ import annotations

import importlib
import inspect
import math
import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Optional

import pytest
import torch
import yaml
from conftest import REPO_ROOT
from torch import nn

from xairepro.attribution import Explanation
from xairepro.names import BUILTIN_METHODS
from xairepro.config import (ConfigError, check_models, merged_method_options, model_specs, resolve_scale,
                             validate_config)
from xairepro.experiments.examples import with_example_section
from xairepro.context import RunContext
from xairepro.experiments.explainer import Explainer, NotApplicable, slice_batches
from xairepro.models import MODELS, build_model
from xairepro.training import TrainConfig, fit, train_mask_net

CONFIG_PATH = REPO_ROOT / "config.yaml"
M = 2            # samples of the sampling methods and orders of the random floor
N_STEPS = 2      # integrated-gradients path points
#: built-in methods that return one sample whatever M is
DETERMINISTIC = {"vanilla_grad", "input_x_gradient", "integrated_gradients", "occlusion", "explanation_mask"}
#: architectures whose training step and ten attribution calls take more than ~10 s on 2 CPU cores
HEAVY_ARCHS = {"preact_resnet", "bigru"}


def full_config() -> dict:
    raw = yaml.safe_load(CONFIG_PATH.read_text())
    validate_config(raw, source=str(CONFIG_PATH))
    cfg = resolve_scale(raw, "full")
    check_models(cfg)
    return cfg


FULL = full_config()


# ----------------------------------------------------------------------------- the specs
@dataclass
class FullSpec:
    key: str                 # dotted config path, e.g. "esol.blog_ig.model"
    section: str             # the experiment section
    spec: dict               # {arch, ...} of a model; the mask settings of a mask network
    kind: str = "model"      # "model" | "mask"

    @property
    def arch(self) -> str:
        return self.spec.get("arch", "mask")


def experiment_sections(cfg: dict) -> list[str]:
    return [s for s, body in cfg.items() if isinstance(body, dict) and isinstance(body.get("models"), dict)]


def full_specs(cfg: dict) -> tuple[list[FullSpec], list[str]]:
    """Every model spec of the full config (``xairepro.config.model_specs``: the models, the specs nested
    in studies, the architectures a study lists) and every mask network, and the problem found while
    collecting them (a study model list no rule knows how to build)."""
    try:
        specs = [FullSpec(key, section, spec) for key, section, spec in model_specs(cfg)]
    except ConfigError as err:
        return [], [str(err)]
    return specs + [FullSpec(f"{section}.mask", section, dict(cfg[section]["mask"]), kind="mask")
                    for section in experiment_sections(cfg) if isinstance(cfg[section].get("mask"), dict)], []


SPECS, SPEC_PROBLEMS = full_specs(FULL)


# ----------------------------------------------------------------------------- recipes
#: the run context of every explainer here (the experiments' settings read its max_batch)
CTX = RunContext(seed=0, device="cpu", max_batch=64)
#: what keeps one explanation cheap, over each section's own method_options (which stay checked)
CHEAP = {"integrated_gradients": {"n_steps": N_STEPS}, "random": {"M": M}, "shapley_sampling": {"M": M},
         "kernel_shap": {"n_samples": 16}}


def settings_of(section: str):
    return importlib.import_module(f"xairepro.experiments.{section}.settings")


def cheap(section: str, *tables: Optional[dict]) -> dict:
    """``FULL[section]`` with the section its ``settings.example_explainer`` reads (``example_section``)
    at ``M`` samples and its method options, then ``tables``, then :data:`CHEAP`."""
    settings = settings_of(section)
    own = settings.example_section(FULL[section]).get("method_options")
    options = merged_method_options(list(BUILTIN_METHODS), own, *tables, CHEAP)
    return with_example_section(FULL[section], settings.EXAMPLE_SECTION, mc_samples=M, samples=M,
                                method_options=options)


def example_explainer(model, section: str, *tables: Optional[dict], **replaced) -> Callable[[list, Any], Explainer]:
    """``(names, mask_net) -> `` the experiment's ``example_explainer`` of :func:`cheap` (fields ``replaced``)."""
    cfg = cheap(section, *tables)

    def build(names, mask_net):
        explainer = settings_of(section).example_explainer(model, cfg, ctx=CTX, methods=names, mask_net=mask_net)
        return replace(explainer, **replaced)
    return build


@dataclass
class Case:
    """A built model, 2 inputs from its experiment's ``example_inputs``, what one training step
    needs, and the experiment's Explainer (``explainer(names, mask_net) -> Explainer``)."""

    model: nn.Module
    inputs: Any                       # what the explainer explains
    train_data: Any                   # what training.fit takes (2 examples)
    task: str
    explainer: Callable[[list, Any], Explainer]
    target: Any = None
    train_overrides: dict = field(default_factory=dict)
    batch_transform: Optional[Callable] = None
    #: (explainer, inputs, target) -> (the settings the methods are built from, the attributed shape)
    probe: Optional[Callable] = None
    #: {method: the chunk's explanation before the explainer's reduce}, where it reduces (text)
    raw: Optional[dict] = None


def _graph_case(section: str, task: str, **train_overrides):
    def build(model, spec):
        graphs = settings_of(section).example_inputs(2, FULL[section])
        for k, g in enumerate(graphs):
            g.y = torch.tensor([[float(k)]]) if task == "binary" else torch.tensor([[-1.0 - 2.0 * k]])
        return Case(model, graphs, graphs, task, example_explainer(model, section), train_overrides=train_overrides)
    return build


def _iris_case(model, spec):
    x, y = settings_of("iris").example_inputs(2, FULL["iris"]), torch.tensor([0, 2])
    return Case(model, x, torch.utils.data.TensorDataset(x, y), "multiclass", example_explainer(model, "iris"),
                target=y)


def _peptide_probe(explainer, ids, target):
    """The settings of the first residue-count group and the padded shape ``(N, most residues, A)``."""
    from xairepro.experiments.peptides.settings import onehot as one_hot, residue_count
    from xairepro.models.peptide_cnn import ResidueRows

    counts, onehot = residue_count(ids), one_hot(ids)
    first = int(counts[0])
    settings = explainer.settings(ResidueRows(explainer.model.model, onehot[0, first:]))
    return settings, (len(ids), int(counts.max()), explainer.model.n_letters)


def _peptide_case(model, spec):
    from xairepro.experiments.peptides import settings

    ids = settings.example_inputs(2, FULL["peptides"])
    data = torch.utils.data.TensorDataset(settings.onehot(ids), torch.tensor([[1.0], [0.0]]))
    return Case(model, ids, data, "binary", example_explainer(model, "peptides"), probe=_peptide_probe)


def _smiles_case(model, spec):
    x = settings_of("smiles2vec").example_inputs(2, FULL["smiles2vec"])
    return Case(model, x, torch.utils.data.TensorDataset(x, torch.tensor([[-1.0], [-4.0]])), "regression",
                example_explainer(model, "smiles2vec"))


def _text_case(model, spec):
    from xairepro.experiments.text import settings

    x, y = settings.example_inputs(2, FULL["text"]), torch.tensor([1, 0])
    batch, _ = (settings.trimmed_batches if model.packed else slice_batches)(x, 0, len(x), y)
    t, c = batch.shape[1], model.embedding.embedding_dim
    # five windows of a fifth of the reviews (rows: one BiGRU pass per token, minutes on a CPU); integrated
    # gradients' doubling stops at N_STEPS
    build, raw = example_explainer(model, "text", {
        "occlusion": {"sliding_window_shapes": (t // 5, c), "strides": (t // 5, c)},
        "integrated_gradients": {"max_steps": N_STEPS}}), {}

    def keeping_raw(names, mask_net):
        """the explainer, its chunks' raw explanations kept (before the reduce to word scores)"""
        explainer = build(names, mask_net)

        def reduce(explanation, tokens, start, reading, words=explainer.reduce):
            raw[explanation.method] = explanation
            return words(explanation, tokens, start, reading)
        return replace(explainer, reduce=reduce)

    return Case(model, x, torch.utils.data.TensorDataset(x, y), "multiclass", keeping_raw, target=y, raw=raw)


def _vision_case(model, spec):
    from xairepro.experiments.vision import settings
    from xairepro.experiments.vision.data import augment

    # 4 windows / players of 16 x 16 (the config's 4-pixel ones: 225 and 64 ResNet passes per image)
    x, y = settings.example_inputs(2, FULL["vision"]), torch.tensor([3, 7])
    # the logits, not the studies' softmax: a ResNet-164 one step from its initialisation, in eval mode
    # (BatchNorm's initial running statistics), gives logits of ~1e5, a one-hot softmax with zero gradients
    explainer = example_explainer(model, "vision", {
        "occlusion": {"sliding_window_shapes": [3, 16, 16], "strides": [3, 16, 16]},
        "shapley_sampling": {"feature_mask": 16}}, score=None)
    return Case(model, x, torch.utils.data.TensorDataset(x, y), "multiclass", explainer,
                target=y, batch_transform=augment if FULL["vision"]["data"].get("augmentation") else None)


@dataclass
class Recipe:
    case: Callable[[nn.Module, dict], Case]
    mask_of: Optional[str] = None          # which entry of models the mask network explains (settings.example_mask_net)


RECIPES: dict[str, Recipe] = {
    "esol": Recipe(_graph_case("esol", "regression")),
    "tox21": Recipe(_graph_case("tox21", "binary", class_balanced=True)),
    "iris": Recipe(_iris_case),
    "peptides": Recipe(_peptide_case),
    "smiles2vec": Recipe(_smiles_case, FULL["smiles2vec"]["data"]["model"]),
    "text": Recipe(_text_case, next(iter(FULL["text"]["models"]))),
    "vision": Recipe(_vision_case, "classifier"),
}


def _required(arch: str) -> set[str]:
    params = inspect.signature(MODELS[arch]).parameters.values()
    return {p.name for p in params if p.default is inspect.Parameter.empty
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _accepted(arch: str) -> set[str]:
    return set(inspect.signature(MODELS[arch]).parameters)


def build_spec(s: FullSpec) -> nn.Module:
    """The model of ``s`` with the section's data-dependent keywords (a clear failure without them)."""
    recipe = RECIPES.get(s.section)
    if recipe is None:
        pytest.fail(f"{s.key}: no recipe for section {s.section!r} in tests/test_full_config.py (the data-dependent "
                    f"keywords and inputs of its models: add one to RECIPES)")
    kwargs = {k: v for k, v in s.spec.items() if k != "arch"}
    data_kw = {k: v for k, v in settings_of(s.section).example_model_kwargs(FULL[s.section]).items()
               if k in _accepted(s.arch)}
    overlap = set(kwargs) & set(data_kw)
    assert not overlap, f"{s.key}: {sorted(overlap)} come from the data and must not be set in the config"
    missing = _required(s.arch) - set(kwargs) - set(data_kw)
    if missing:
        pytest.fail(f"{s.key}: {s.arch} needs {sorted(missing)}, which come from the data; "
                    f"xairepro/experiments/{s.section}/settings.py's example_model_kwargs does not provide them")
    torch.manual_seed(0)
    return build_model(s.arch, **kwargs, **data_kw)


def mask_base(s: FullSpec) -> FullSpec:
    recipe = RECIPES.get(s.section)
    if recipe is None or recipe.mask_of is None or not hasattr(settings_of(s.section), "example_mask_net"):
        pytest.fail(f"{s.key}: a mask network, but {s.section}'s settings.py has no example_mask_net or "
                    "tests/test_full_config.py no mask_of in its Recipe")
    name = recipe.mask_of
    assert name in FULL[s.section]["models"], f"{s.key}: explains {s.section}.models.{name}, which does not exist"
    return FullSpec(f"{s.section}.models.{name}", s.section, dict(FULL[s.section]["models"][name]))


# ----------------------------------------------------------------------------- helpers
def _params(module: nn.Module) -> dict:
    return {n: p.detach().clone() for n, p in module.named_parameters() if p.requires_grad}


def check_step(module, before, history) -> None:
    """One epoch of one batch: the loss is finite, a parameter moved, none became non-finite."""
    assert len(history) == 1, history
    loss = history[0]["train_loss"]
    assert math.isfinite(loss), f"training loss {loss}"
    after = dict(module.named_parameters())
    moved = [n for n, p in before.items() if not torch.equal(p, after[n].detach())]
    assert moved, "one optimizer step changed no parameter"
    assert all(torch.isfinite(after[n]).all() for n in before), "non-finite parameters after one step"


def train_cfg(section: str, task: str, **overrides) -> TrainConfig:
    train = dict(FULL[section].get("train", {}))
    train.update(epochs=1, batch_size=2, device="cpu", seed=0, **overrides)
    return TrainConfig(task=task, **train)


def attributed_shape(explainer: Explainer, inputs, target) -> tuple[dict, tuple]:
    """The settings the explainer builds its methods from and the shape of the tensor they attribute
    (the output of ``settings['layer']``, else the input) in its one chunk (2 examples)."""
    model = explainer.model
    settings = explainer.settings(model) if callable(explainer.settings) else dict(explainer.settings or {})
    batch, _ = explainer.batches(inputs, 0, len(inputs), target)
    layer = settings.get("layer")
    if layer is None:
        return settings, tuple(batch.x.shape if hasattr(batch, "num_graphs") else batch.shape)
    seen = {}
    def hook(module, args, output):
        seen["shape"] = tuple(output.shape)       # returns None: the output is left as it is

    handle = layer.register_forward_hook(hook)
    try:
        with torch.no_grad():
            explainer.scored()(batch)
    finally:
        handle.remove()
    return settings, seen["shape"]


def has_dropout_module(model) -> bool:
    """A dropout module that drops something (``p > 0``): what MC dropout needs to sample."""
    return any((isinstance(m, nn.modules.dropout._DropoutNd) or getattr(m, "is_dropout", False))
               and float(getattr(m, "p", 1.0)) > 0 for m in model.modules())


def expected_reason(name: str, model, settings) -> Optional[str]:
    """Why a built-in method must NOT apply (a word its reason must contain), else None; ``...`` for a
    user's method, about which this test knows nothing."""
    if name == "shapley_sampling" and settings.get("layer") is not None:
        return "layer"
    if name in ("bayesgrad", "bayes_smoothgrad") and not has_dropout_module(model):
        return "dropout"
    if name == "explanation_mask" and settings.get("mask_net") is None:
        return "mask"
    if name not in DETERMINISTIC | {"smoothgrad", "bayesgrad", "bayes_smoothgrad", "shapley_sampling", "random"}:
        return ...
    return None


def explain_with_every_method(key: str, case: Case, names=None, mask_net=None) -> dict:
    """One ``explain`` of the experiment's Explainer with ``names`` (default: every registered method);
    returns {name: samples or the NotApplicable reason}."""
    names = list(names or BUILTIN_METHODS)
    model = case.model.eval()
    explainer = case.explainer(names, mask_net)
    settings, shape = (case.probe or attributed_shape)(explainer, case.inputs, case.target)
    results = explainer.explain(case.inputs, case.target)
    assert list(results) == names, f"{key}: explained {list(results)}, asked for {names}"
    out = {}
    for name in names:
        got, expected = results[name], expected_reason(name, model, settings)
        n = explainer.samples(name) if name not in DETERMINISTIC else 1
        if isinstance(got, NotApplicable):
            assert expected is not None, f"{key}: {name} should apply but is NotApplicable: {got.reason}"
            assert got.method == name and len(got.reason) > 10, f"{key}: {name}: no reason: {got.reason!r}"
            if expected is not ...:
                assert expected in got.reason.lower(), f"{key}: {name}: reason {got.reason!r} does not mention {expected}"
            out[name] = got.reason
            continue
        assert isinstance(got, Explanation) and got.method == name, f"{key}: {name}: {got!r}"
        assert expected is None or expected is ..., f"{key}: {name} cannot apply here ({expected}) but it explained"
        if case.raw is not None:
            # the explainer reduced the chunk to word scores (M, n, padded length); check them, then the raw samples
            reduced = tuple(got.samples.shape)
            assert reduced[1:] == (len(case.inputs), case.inputs.shape[1]), f"{key}: {name}: word scores {reduced}"
            assert torch.isfinite(got.samples).all(), f"{key}: {name}: non-finite word scores"
            got = case.raw[name]
        samples = got.samples
        assert isinstance(samples, torch.Tensor), f"{key}: {name}: samples {type(samples)}"
        got_shape = tuple(samples.shape[1:])
        if name == "explanation_mask":
            # one weight per position, shared by the channels it multiplies ((B, T, 1) of (B, T, C) embeddings,
            # (B, 1, H, W) of (B, 3, H, W) images): broadcastable to the attributed tensor
            assert len(got_shape) == len(shape) and torch.broadcast_shapes(got_shape, shape) == shape, \
                f"{key}: {name}: mask samples {tuple(samples.shape)} do not broadcast to the attributed tensor {shape}"
        else:
            assert got_shape == shape, f"{key}: {name}: samples {tuple(samples.shape)}, attributed tensor {shape}"
        if expected is None:
            assert samples.shape[0] == n, f"{key}: {name}: {samples.shape[0]} samples, expected {n}"
        assert torch.isfinite(samples).all(), f"{key}: {name}: non-finite attributions"
        assert samples.abs().sum() > 0 or name == "explanation_mask", f"{key}: {name}: all attributions are 0"
        if name in ("bayesgrad", "bayes_smoothgrad"):
            assert not torch.equal(samples[0], samples[1]), f"{key}: {name}: the {M} dropout samples are identical"
        out[name] = samples
    return out


# ----------------------------------------------------------------------------- the tests
def _marks(s: FullSpec):
    """slow for the heavy networks and for the mask networks around them"""
    arch = s.arch
    if s.kind == "mask":
        recipe = RECIPES.get(s.section)
        arch = FULL[s.section]["models"].get(getattr(recipe, "mask_of", None) or "", {}).get("arch")
    return [pytest.mark.slow] if arch in HEAVY_ARCHS else []


def test_every_full_spec_is_collected():
    """The collection itself: no study lists architectures without a recipe, every experiment has a
    recipe, the studies' nested specs and masks are there, and every ``model: <name>`` names a model."""
    assert not SPEC_PROBLEMS, "\n".join(SPEC_PROBLEMS)
    keys = {s.key for s in SPECS}
    sections = experiment_sections(FULL)
    assert set(sections) <= set(RECIPES), f"no recipe for {sorted(set(sections) - set(RECIPES))}"
    for section in sections:
        assert {f"{section}.models.{n}" for n in FULL[section]["models"]} <= keys
    nested = [k for k in keys if ".models." not in k]
    assert "esol.blog_ig.model" in keys and "text.mask" in keys and "vision.mask" in keys, sorted(keys)
    assert any(k.startswith("tox21.dead_features.weave") for k in nested), sorted(keys)

    def refs(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "model" and isinstance(v, str):
                    yield f"{path}.{k}", v
                else:
                    yield from refs(v, f"{path}.{k}")
    for section in sections:
        for path, name in refs({k: v for k, v in FULL[section].items() if k != "models"}, section):
            assert name in FULL[section]["models"], f"{path}: {name!r} is not an entry of {section}.models"


@pytest.mark.parametrize("s", [pytest.param(s, id=s.key) for s in SPECS])
def test_build(s: FullSpec):
    """Built exactly as configured (the cheap part: every spec, no slow mark)."""
    if s.kind == "mask":
        base = build_spec(mask_base(s))
        net = settings_of(s.section).example_mask_net(base, FULL[s.section])
        assert sum(p.numel() for p in net.parameters() if p.requires_grad) > 0
        assert not any(p.requires_grad for p in base.parameters()), "the explained model is not frozen"
        _check_mask_architecture(s, net)
        return
    model = build_spec(s)
    kwargs = {k: v for k, v in s.spec.items() if k != "arch"}
    drops = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    if "dropout" in kwargs:
        assert drops and all(m.p == kwargs["dropout"] for m in drops), \
            f"{s.key}: dropout {kwargs['dropout']} but the modules have {[m.p for m in drops]}"
    for name in ("hidden_dim", "n_layers", "depth", "block", "packed"):
        if name in kwargs and hasattr(model, name):
            assert getattr(model, name) == kwargs[name], f"{s.key}: {name} {getattr(model, name)} != {kwargs[name]}"
    check = ARCH_CHECKS.get(s.arch)
    if check is not None:
        check(s, model, kwargs)


def _check_preact_resnet(s, model, kw):
    from xairepro.models.preact_resnet import PreActBottleneck

    convs = [m for n, m in model.named_modules() if isinstance(m, nn.Conv2d) and "shortcut" not in n]
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert len(convs) + len(linears) == kw["depth"], f"{s.key}: {len(convs) + len(linears)} weighted layers"
    n_params = sum(p.numel() for p in model.parameters())
    if kw["depth"] == 164:
        assert kw["block"] == "bottleneck"
        units = [m for m in model.modules() if isinstance(m, PreActBottleneck)]
        assert len(units) == 54 and model.n_features == 256     # 3 stages x 18 units, 256-d features
        readme = (REPO_ROOT / "README.md").read_text()
        stated = re.search(r"ResNet-164 has\s+([\d.]+)\s*M parameters", readme)
        assert stated, "README no longer states ResNet-164's parameter count"
        assert round(n_params / 1e6, 2) == float(stated.group(1)), f"{n_params:,} parameters, README {stated.group(1)} M"


def _check_bigru(s, model, kw):
    assert model.gru.hidden_size == kw["hidden"] and model.gru.bidirectional
    assert tuple(model.embedding.weight.shape) == (int(FULL["text"]["data"]["vocab_size"]) + 2, kw["embed_dim"])
    assert model.fc.in_features == 2 * kw["hidden"] and model.fc.out_features == kw["fc_dim"]
    assert model.word_dropout.p == kw["word_dropout"]


def _check_graph(s, model, kw):
    assert model.embedding.embedding_dim == kw["hidden_dim"]


def _check_smiles2vec(s, model, kw):
    sizes = [g.hidden_size for g in model.grus]
    assert sizes == list(kw["rnn_sizes"]) and model.conv.out_channels == kw["filters"]
    assert model.embedding.embedding_dim == kw["embedding_dim"]


ARCH_CHECKS = {"preact_resnet": _check_preact_resnet, "bigru": _check_bigru, "ggnn": _check_graph,
               "nfp": _check_graph, "ggnn_embedding_state": _check_graph, "smiles2vec": _check_smiles2vec}


def _check_mask_architecture(s, net):
    cfg = s.spec
    if s.section == "text":
        head = net.head
        assert head.gru.hidden_size == cfg["head"]["hidden"] and head.gru.num_layers == cfg["head"]["n_layers"]
        assert head.fc.out_features == cfg["head"]["fc_dim"] and head.gru.input_size == 2 * net.model.gru.hidden_size
    elif s.section == "vision":
        assert net.width == cfg["width"] and len(net.block1.convs) == cfg["n_convs"] and net.side ** 2 == net.model.n_features
    elif s.section == "smiles2vec":
        assert len(net.blocks) == cfg["n_layers"] - 1 and net.first.out_channels == cfg["hidden"]


@pytest.mark.parametrize("s", [pytest.param(s, id=s.key, marks=_marks(s)) for s in SPECS])
def test_train_and_explain(s: FullSpec):
    """One training step on 2 full-shape inputs, then one call of every registered method."""
    recipe = RECIPES[s.section] if s.section in RECIPES else None
    if s.kind == "mask":
        base_spec = mask_base(s)
        model = build_spec(base_spec)
        case = recipe.case(model, base_spec.spec)
        net = settings_of(s.section).example_mask_net(model.eval(), FULL[s.section])
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(case.inputs), batch_size=2)
        before = _params(net)
        history = train_mask_net(net, loader, epochs=1, lr=float(s.spec["lr"]), device="cpu", seed=0)
        check_step(net, before, history)
        assert all(not p.requires_grad for p in model.parameters())
        out = explain_with_every_method(s.key, case, names=["explanation_mask"], mask_net=net)
        mask = out["explanation_mask"]
        assert (mask >= 0).all(), f"{s.key}: negative mask weights"
        return
    model = build_spec(s)
    case = recipe.case(model, s.spec)
    cfg = train_cfg(s.section, case.task, **case.train_overrides)
    before = _params(model)
    history = fit(model, case.train_data, None, cfg, batch_transform=case.batch_transform)
    check_step(model, before, history)
    name = s.key.split(".")[-1] if ".models." in s.key else None
    mask_net = None
    if recipe.mask_of is not None and name == recipe.mask_of:
        mask_net = settings_of(s.section).example_mask_net(model.eval(), FULL[s.section])
    out = explain_with_every_method(s.key, case, mask_net=mask_net)
    assert set(out) == set(BUILTIN_METHODS)
