"""Every model of the FULL configuration, built as configured, trained one step and explained by
every registered method on inputs of the full shapes (issue: "No full-scale code path reaches a
user untested").

The specs are read from config.yaml resolved at ``scale: full``: every entry of every experiment
section's ``models``, every model spec nested in a study (``{arch: ...}`` anywhere else in the
section, e.g. ``esol.blog_ig.model``, ``text.mask.head``), the architectures a study builds from
a list (``tox21.dead_features.models`` x ``layers``) and the mask networks (``<section>.mask``). A
model added to the full config is therefore covered without editing this file, unless it needs
something this file cannot know: the data-dependent constructor keywords (vocabulary size,
padding id, input width, sequence length...) and the inputs come from the per-experiment recipes
below (mirroring xairepro/experiments/*/training.py), and a spec without one fails naming what is
missing.

For each spec: ``test_build`` (fast) builds it and checks it is the configured network (ResNet-164
has 164 weighted layers and the README's parameter count, the BiGRU is 256 wide with a 20,002 x 100
embedding...); ``test_train_and_explain`` runs one step of the project's training loop (the
section's ``train`` settings, 2 inputs of the full shapes: loss finite, parameters moved) and one
``compute`` of every method of ``method_names()`` with M=2 (samples of the attributed tensor's
shape, finite), or checks that ``MethodNotApplicable`` names its reason where the method cannot
apply (Shapley sampling at a layer, BayesGrad without dropout, the mask without a mask network).
The ResNet-164 and BiGRU-256 cases (and their mask networks) take 1-10 s each on 2 idle CPU cores,
up to 100 s on busy ones, and are marked slow; the rest runs in about 15 s.

The explanation mask's samples are one weight per position, shared by the channels the mask
multiplies ((B, T, 1) of a (B, T, C) embedding, (B, 1, H, W) of an image), so for that method the
test asks for a shape that broadcasts to the attributed tensor's.
"""
from __future__ import annotations

import inspect
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np
import pytest
import torch
import yaml
from conftest import REPO_ROOT
from torch import nn

from xairepro.attribution import MethodNotApplicable, create_method, method_names
from xairepro.config import check_models, resolve_scale, validate_config
from xairepro.models import MODELS, build_model
from xairepro.training import TrainConfig, fit, train_mask_net

CONFIG_PATH = REPO_ROOT / "config.yaml"
M = 2            # samples of the sampling methods
N_STEPS = 2      # integrated-gradients path points
N_RANDOM = 2     # orders of the random floor
#: built-in methods that return one sample whatever M is; random returns n_random
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


def _nested_specs(section: str, node, path: str):
    """``(dotted path, value)`` of every ``{arch: ...}`` mapping and every list-valued ``models`` key
    under ``node`` (the section without its top-level ``models``)."""
    if isinstance(node, dict):
        if "arch" in node:
            yield path, node
            return
        for k, v in node.items():
            sub = f"{path}.{k}"
            if k == "models" and isinstance(v, list):
                yield sub, v
            else:
                yield from _nested_specs(section, v, sub)


def _dead_features_specs(section: str, study: str, body: dict) -> list[FullSpec]:
    """tox21.dead_features builds every listed architecture at every depth with the study's width and
    dropout (xairepro.experiments.tox21.dead_features.dead_features_study)."""
    return [FullSpec(f"{section}.{study}.{arch}.n_layers={n}", section,
                     {"arch": arch, "hidden_dim": body["hidden_dim"], "n_layers": n, "dropout": body["dropout"]})
            for arch in body["models"] for n in body["layers"]]


#: ``(section, study) -> expansion`` of studies that list architecture names instead of specs
STUDY_MODEL_LISTS: dict[tuple[str, str], Callable[[str, str, dict], list]] = {
    ("tox21", "dead_features"): _dead_features_specs,
}


def experiment_sections(cfg: dict) -> list[str]:
    return [s for s, body in cfg.items() if isinstance(body, dict) and isinstance(body.get("models"), dict)]


def full_specs(cfg: dict) -> tuple[list[FullSpec], list[str]]:
    """Every model spec of the full config, and the problems found while collecting them (a study
    model list or a mask section no recipe here knows how to build)."""
    specs, problems = [], []
    for section in experiment_sections(cfg):
        body = cfg[section]
        for name, spec in body["models"].items():
            specs.append(FullSpec(f"{section}.models.{name}", section, dict(spec)))
        rest = {k: v for k, v in body.items() if k != "models"}
        for path, value in _nested_specs(section, rest, section):
            parts = path.split(".")
            if parts[1] == "mask":
                continue  # part of the section's mask network (below)
            if isinstance(value, dict):
                specs.append(FullSpec(path, section, dict(value)))
                continue
            study = parts[1]
            expand = STUDY_MODEL_LISTS.get((section, study))
            if expand is None:
                problems.append(f"{path}: a list of architectures {value}; tests/test_full_config.py has no "
                                f"recipe for how {section}.{study} builds them (add one to STUDY_MODEL_LISTS)")
            else:
                specs.extend(expand(section, study, body[study]))
        if isinstance(body.get("mask"), dict):
            specs.append(FullSpec(f"{section}.mask", section, dict(body["mask"]), kind="mask"))
    return specs, problems


SPECS, SPEC_PROBLEMS = full_specs(FULL)


# ----------------------------------------------------------------------------- recipes
@dataclass
class Case:
    """A built model with 2 inputs of the full shapes, what one training step and the attribution
    calls need."""

    model: nn.Module
    inputs: Any                       # what model(inputs) takes
    train_data: Any                   # what training.fit takes (2 examples)
    task: str
    target: Any = None
    settings: dict = field(default_factory=dict)
    method_options: dict = field(default_factory=dict)   # {method: {option: value}} over the settings
    train_overrides: dict = field(default_factory=dict)
    batch_transform: Optional[Callable] = None


def _graph_case(molecules: dict, task: str, **train_overrides):
    from torch_geometric.data import Batch

    from xairepro.data.featurize import graphs_from_smiles

    def build(model, spec):
        graphs = graphs_from_smiles(list(molecules.values())[:2])
        for k, g in enumerate(graphs):
            g.y = torch.tensor([[float(k)]]) if task == "binary" else torch.tensor([[-1.0 - 2.0 * k]])
        settings = {"layer": model.embedding, "baselines": 0.0, "multiply_by_inputs": True, "stdevs": 0.15,
                    "noise_mode": "absolute", "n_steps": N_STEPS, "method": "trapezoid",
                    "sliding_window_shapes": "rows", "n_random": N_RANDOM}
        return Case(model, Batch.from_data_list(graphs), graphs, task, settings=settings,
                    train_overrides=train_overrides)
    return build


def _esol_keywords(spec):
    return {"n_out": 1}                                   # esol_train: n_out=1 (log S)


def _tox21_keywords(spec):
    return {"n_out": 1}                                   # train_binary: n_out=1 (pre-sigmoid score)


def _iris_keywords(spec):
    from xairepro.experiments.iris.data import iris_data

    data = iris_data()                                    # iris_train: n_in = columns, n_out = classes
    return {"n_in": int(data.x.shape[1]), "n_out": len(data.classes)}


def _iris_case(model, spec):
    from xairepro.experiments.iris.data import iris_data

    data = iris_data()
    x, y = torch.as_tensor(data.x, dtype=torch.float32), torch.as_tensor(data.y, dtype=torch.long)
    pick = [0, 100]                                       # a setosa and a virginica
    settings = {"baselines": x.mean(0), "multiply_by_inputs": True, "stdevs": 0.15, "noise_mode": "relative",
                "n_steps": N_STEPS, "method": "trapezoid", "estimator": "chimera", "background": x,
                "n_random": N_RANDOM}
    return Case(model, x[pick], torch.utils.data.TensorDataset(x[pick], y[pick]), "multiclass",
                target=y[pick], settings=settings)


PEPTIDE_LENGTH = 200    # the hemolytic data set's one-hot rows (load_hemolytic_onehot: (N, 200, 20))


def _peptide_keywords(spec):
    from xairepro.experiments.peptides.data import ALPHABET

    return {"length": PEPTIDE_LENGTH, "n_letters": len(ALPHABET), "n_out": 1}   # peptides_train


def _peptide_case(model, spec):
    from xairepro.experiments.peptides.data import encode

    att = FULL["peptides"]["attribution"]
    seqs = [att["peptide"], att["probe"][0]]
    x = torch.as_tensor(np.stack([encode(s, PEPTIDE_LENGTH) for s in seqs]))
    settings = {"baselines": 0.0, "multiply_by_inputs": True, "stdevs": float(att["method_options"]["smoothgrad"]["stdevs"]),
                "noise_mode": "absolute", "n_steps": N_STEPS, "method": "trapezoid",
                # residues (rows) are the players of Shapley sampling and what occlusion removes
                "estimator": "chimera", "background": x.flip(0),
                "feature_mask": torch.arange(PEPTIDE_LENGTH).unsqueeze(1), "n_random": N_RANDOM}
    return Case(model, x, torch.utils.data.TensorDataset(x, torch.tensor([[1.0], [0.0]])), "binary",
                settings=settings)


#: the distinct characters of ESOL's canonical SMILES (sorted), which DeepChem's create_char_to_idx
#: finds; featurize_esol appends <pad> and <unk>
ESOL_CHARACTERS = "#()+-/1234567=BCFHINOPS[\\]clnors"


def _smiles_vocab():
    from xairepro.experiments.smiles2vec.data import PAD, UNK

    return sorted(ESOL_CHARACTERS) + [PAD, UNK]


def _smiles_keywords(spec):
    from xairepro.experiments.smiles2vec.data import PAD

    vocab = _smiles_vocab()                               # train_smiles2vec: len(vocab), pad id
    return {"vocab_size": len(vocab), "pad_id": vocab.index(PAD), "n_out": 1}


def _smiles_tokens() -> torch.Tensor:
    """Two ESOL map molecules as SmilesToSeq writes them: pad_len pads, the characters, pads to
    max_len, pad_len pads (T = max_len + 2 pad_len)."""
    from xairepro.experiments.smiles2vec.data import PAD, UNK

    vocab, data = _smiles_vocab(), FULL["smiles2vec"]["data"]
    max_len, pad_len = int(data["max_len"]), int(data["pad_len"])
    rows = []
    for smi in list(FULL["esol"]["attribution"]["map_molecules"].values())[:2]:
        ids = [vocab.index(c) if c in vocab else vocab.index(UNK) for c in smi]
        rows.append([vocab.index(PAD)] * pad_len + ids + [vocab.index(PAD)] * (max_len - len(ids) + pad_len))
    return torch.tensor(rows, dtype=torch.long)


def _smiles_case(model, spec):
    x = _smiles_tokens()
    settings = {"layer": model.embedding, "baselines": 0.0, "multiply_by_inputs": True, "stdevs": 0.15,
                "noise_mode": "absolute", "n_steps": N_STEPS, "method": "riemann_middle", "n_random": N_RANDOM}
    return Case(model, x, torch.utils.data.TensorDataset(x, torch.tensor([[-1.0], [-4.0]])), "regression",
                settings=settings)


def _text_keywords(spec):
    from xairepro.experiments.text.data import PAD_ID

    # classifier_kwargs: the cache's vocabulary (vocab_size most frequent tokens + <pad> + <oov>)
    return {"vocab_size": int(FULL["text"]["data"]["vocab_size"]) + 2, "padding_idx": PAD_ID}


def _text_tokens(vocab_size: int) -> torch.Tensor:
    """Two reviews cut to max_len: one filling all max_len tokens, one of 60 tokens right-padded."""
    from xairepro.experiments.text.data import PAD_ID

    max_len = int(FULL["text"]["data"]["max_len"])
    g = torch.Generator().manual_seed(0)
    x = torch.randint(2, vocab_size, (2, max_len), generator=g)
    x[1, 60:] = PAD_ID
    return x


def _text_case(model, spec):
    att = FULL["text"]["attribution"]
    x = _text_tokens(model.embedding.num_embeddings)
    t, c = x.shape[1], model.embedding.embedding_dim
    settings = {"layer": model.embedding, "baselines": 0.0, "multiply_by_inputs": True,
                "stdevs": float(att["method_options"]["smoothgrad"]["stdevs"]), "noise_mode": "absolute",
                "n_steps": N_STEPS, "method": "trapezoid", "max_steps": N_STEPS,
                "completeness_tol": float(att["method_options"]["integrated_gradients"]["completeness_tol"]),
                # five windows of 100 tokens (rows: max_len passes of the BiGRU, minutes on a CPU)
                "sliding_window_shapes": (t // 5, c), "strides": (t // 5, c), "n_random": N_RANDOM}
    return Case(model, x, torch.utils.data.TensorDataset(x, torch.tensor([1, 0])), "multiclass", target=1,
                settings=settings)


def _vision_keywords(spec):
    from xairepro.data.loaders import CIFAR10_CLASSES

    return {"n_out": len(CIFAR10_CLASSES)}                # train_vision: n_out = classes


def _vision_case(model, spec):
    from xairepro.experiments.vision.data import augment
    from xairepro.experiments.vision.settings import square_patches

    att = FULL["vision"]["attribution"]
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 32, 32, generator=g)
    settings = {"baselines": 0.0, "multiply_by_inputs": True,
                "stdevs": float(att["method_options"]["smoothgrad"]["stdevs"]), "noise_mode": "relative", "n_steps": N_STEPS, "method": "trapezoid", "keep_grads": False,
                # 4 windows / players of 16 x 16 (the config's 4-pixel ones: 225 and 64 ResNet passes per image)
                "sliding_window_shapes": (3, 16, 16), "strides": (3, 16, 16),
                "feature_mask": square_patches(32, 32, 16),
                "estimator": str(att["method_options"]["shapley_sampling"]["estimator"]),
                "background": torch.rand(2, 3, 32, 32, generator=g), "n_random": N_RANDOM}
    return Case(model, x, torch.utils.data.TensorDataset(x, torch.tensor([3, 7])), "multiclass",
                target=[3, 7], settings=settings, method_options={"occlusion": {"feature_mask": None}},
                batch_transform=augment if FULL["vision"]["data"].get("augmentation") else None)


@dataclass
class Recipe:
    keywords: Callable[[dict], dict]       # spec -> the data-dependent constructor keywords
    case: Callable[[nn.Module, dict], Case]
    mask: Optional[Callable] = None        # (model, mask cfg) -> ExplanationMaskNet
    mask_of: Optional[str] = None          # which entry of models the mask network explains


def _vision_mask(model, cfg):
    from xairepro.experiments.vision.masks import CifarMaskNet

    return CifarMaskNet(model, width=int(cfg["width"]), n_convs=int(cfg["n_convs"]), l2=float(cfg["l2"]))


def _text_mask(model, cfg):
    from xairepro.experiments.text.masks import build_mask_net

    spec = dict(cfg["head"])
    head = build_model(spec.pop("arch"), **spec, in_dim=2 * model.gru.hidden_size)   # train_text_mask
    # the attention reading: the sigmoid one is its parent with another weights() (both in test_text)
    reading = "attention" if "attention" in cfg["readings"] else next(iter(cfg["readings"]))
    return build_mask_net(reading, model, head, length=int(FULL["text"]["data"]["max_len"]), **cfg["readings"][reading])


def _smiles_mask(model, cfg):
    from xairepro.experiments.smiles2vec.mask import SmilesMaskNet

    return SmilesMaskNet(model, hidden=int(cfg["hidden"]), n_layers=int(cfg["n_layers"]),
                         kernel_size=int(cfg["kernel_size"]), l1=float(cfg["l1"]), l2=float(cfg["l2"]))


RECIPES: dict[str, Recipe] = {
    "esol": Recipe(_esol_keywords, _graph_case(FULL["esol"]["attribution"]["map_molecules"], "regression")),
    "tox21": Recipe(_tox21_keywords, _graph_case(FULL["tox21"]["srmmp"]["map_molecules"], "binary",
                                                 class_balanced=True)),
    "iris": Recipe(_iris_keywords, _iris_case),
    "peptides": Recipe(_peptide_keywords, _peptide_case),
    "smiles2vec": Recipe(_smiles_keywords, _smiles_case, _smiles_mask, FULL["smiles2vec"]["data"]["model"]),
    "text": Recipe(_text_keywords, _text_case, _text_mask, next(iter(FULL["text"]["models"]))),
    "vision": Recipe(_vision_keywords, _vision_case, _vision_mask, "classifier"),
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
    data_kw = {k: v for k, v in recipe.keywords(s.spec).items() if k in _accepted(s.arch)}
    overlap = set(kwargs) & set(data_kw)
    assert not overlap, f"{s.key}: {sorted(overlap)} come from the data and must not be set in the config"
    missing = _required(s.arch) - set(kwargs) - set(data_kw)
    if missing:
        pytest.fail(f"{s.key}: {s.arch} needs {sorted(missing)}, which come from the data; the {s.section} recipe "
                    "of tests/test_full_config.py does not provide them (add them to its keywords function)")
    torch.manual_seed(0)
    return build_model(s.arch, **kwargs, **data_kw)


def mask_base(s: FullSpec) -> FullSpec:
    recipe = RECIPES.get(s.section)
    if recipe is None or recipe.mask is None:
        pytest.fail(f"{s.key}: a mask network, but tests/test_full_config.py has no mask recipe for {s.section!r} "
                    "(add mask= and mask_of= to its Recipe)")
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


def attributed_shape(model, inputs, layer) -> tuple:
    if layer is None:
        return tuple(inputs.x.shape if hasattr(inputs, "num_graphs") else inputs.shape)
    seen = {}
    def hook(module, args, output):
        seen["shape"] = tuple(output.shape)       # returns None: the output is left as it is

    handle = layer.register_forward_hook(hook)
    try:
        with torch.no_grad():
            was = model.training
            model.eval()
            model(inputs)
            model.train(was)
    finally:
        handle.remove()
    return seen["shape"]


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


def explain_with_every_method(key: str, model, case: Case, names=None) -> dict:
    """One compute per registered method; returns {name: samples or the MethodNotApplicable reason}."""
    names = list(names or method_names())
    model.eval()
    shape = attributed_shape(model, case.inputs, case.settings.get("layer"))
    out = {}
    for name in names:
        expected = expected_reason(name, model, case.settings)
        try:
            method = create_method(name, model, case.settings, **case.method_options.get(name, {}))
        except MethodNotApplicable as err:
            reason = str(err)
            assert expected is not None, f"{key}: {name} should apply but raised MethodNotApplicable: {reason}"
            assert reason.startswith(f"{name}: ") and len(reason) > len(name) + 10, f"{key}: {name}: no reason: {reason!r}"
            if expected is not ...:
                assert expected in reason.lower(), f"{key}: {name}: reason {reason!r} does not mention {expected}"
            out[name] = reason
            continue
        assert expected is None or expected is ..., \
            f"{key}: {name} cannot apply here ({expected}) but create_method built it"
        exp = method.compute(case.inputs, M=M, target=case.target, seed=0)
        samples = exp.samples
        assert exp.method == name
        assert isinstance(samples, torch.Tensor), f"{key}: {name}: samples {type(samples)}"
        got = tuple(samples.shape[1:])
        if name == "explanation_mask":
            # one weight per position, shared by the channels it multiplies ((B, T, 1) of (B, T, C) embeddings,
            # (B, 1, H, W) of (B, 3, H, W) images): broadcastable to the attributed tensor
            assert len(got) == len(shape) and torch.broadcast_shapes(got, shape) == shape, \
                f"{key}: {name}: mask samples {tuple(samples.shape)} do not broadcast to the attributed tensor {shape}"
        else:
            assert got == shape, f"{key}: {name}: samples {tuple(samples.shape)}, attributed tensor {shape}"
        n = 1 if name in DETERMINISTIC else N_RANDOM if name == "random" else M if expected is None else None
        if n is not None:
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
        net = RECIPES[s.section].mask(base, s.spec)
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
        net = recipe.mask(model.eval(), s.spec)
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(case.train_data.tensors[0]), batch_size=2)
        before = _params(net)
        history = train_mask_net(net, loader, epochs=1, lr=float(s.spec["lr"]), device="cpu", seed=0)
        check_step(net, before, history)
        assert all(not p.requires_grad for p in model.parameters())
        case.settings["mask_net"] = net
        out = explain_with_every_method(s.key, model, case, names=["explanation_mask"])
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
    if recipe.mask is not None and name == recipe.mask_of:
        case.settings["mask_net"] = recipe.mask(model.eval(), FULL[s.section]["mask"])
    out = explain_with_every_method(s.key, model, case)
    assert set(out) == set(method_names())
