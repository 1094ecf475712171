"""Hemolytic peptides (dmol chapter 10.3-10.6): data handling, the chapter's model, the explanations.
The workflow slice is tested in test_iris_peptides_smiles2vec_workflow.py."""
import json

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import TOY_METHOD
from xairepro.context import RunContext
from xairepro.data.loaders import HEMOLYTIC_ALPHABET
from xairepro.experiments.methods import FAITHFULNESS_COLUMNS
from xairepro.experiments.peptides.data import ALPHABET, book_order, encode, load_peptides
from xairepro.experiments.peptides.explain import explain_study
from xairepro.experiments.peptides.settings import (OPERATORS as PEPTIDE_OPERATORS, UNIT, PeptideExplainer, example_inputs, explainer, residue_count,
                                                    settings, simplex_projection)
from xairepro.experiments.peptides.faithfulness import faithfulness_study
from xairepro.experiments.peptides.reproduction import reproduction_rows
from xairepro.experiments.peptides.training import train_peptides
from xairepro.models import build_model
from xairepro.models.peptide_cnn import IdsToOneHot, ResidueRows

L = 40
METHODS = ["vanilla_grad", "integrated_gradients", "smoothgrad", "shapley_sampling"]
OPTIONS = {"integrated_gradients": {"n_steps": 16}, "smoothgrad": {"stdevs": 1e-3}}
ATTR = {"peptide": "KLLKWLAK", "methods": METHODS, "samples": 32, "method_options": OPTIONS,
        "sample_counts": [4, 16, 32, 64]}
CTX = RunContext(seed=0, device="cpu", max_batch=512)
SPEC = {"arch": "peptide_cnn", "filters": 4, "dense": [16, 8]}


def _npz(tmp_path, n=40, seed=0):
    """hemolytic.npz in the dmol-book format: (N, L, 20) zero-padded one-hot, positives K/L-rich."""
    rng = np.random.default_rng(seed)

    def peptides(letters):
        out = np.zeros((n, L, 20))
        for i in range(n):
            seq = rng.choice(list(letters), size=rng.integers(10, 30))
            out[i, np.arange(len(seq)), [HEMOLYTIC_ALPHABET.index(c) for c in seq]] = 1
        return out

    path = tmp_path / "hemolytic.npz"
    np.savez(path, positives=peptides("KLLAW"), negatives=peptides("DEGSN"))
    return path


def test_model_is_the_chapters():
    model = build_model("peptide_cnn", length=200, n_letters=21, n_out=1)
    assert [c.kernel_size[0] for c in model.convs] == [5, 3, 3]
    assert all(m.bias is None for m in model.head if isinstance(m, torch.nn.Linear))
    assert [m.out_features for m in model.head if isinstance(m, torch.nn.Linear)] == [256, 64, 1]
    assert model(torch.zeros(2, 200, 21)).abs().max() == 0  # all-zero input: logit 0, P = 0.5
    x = torch.as_tensor(np.stack([encode("QQQQQ", 200), encode("GLFD", 200)]))
    ids = x.argmax(-1)
    torch.testing.assert_close(IdsToOneHot(model)(ids), model(x))
    removed = ids.clone()
    removed[0, 0] = 21  # the "removed" id is an all-zero row
    x2 = x.clone()
    x2[0, 0] = 0
    torch.testing.assert_close(IdsToOneHot(model)(removed), model(x2))


def test_encode_rejects_bad_peptides():
    assert encode("AR", 4).argmax(-1).tolist() == [1, 2, 0, 0] and ALPHABET[0] == "-"
    with pytest.raises(ValueError, match="not amino acids"):
        encode("AXB", 10)
    with pytest.raises(ValueError, match="longer"):
        encode("A" * 11, 10)


def test_split_is_the_books_one_shuffle(tmp_path):
    """The book: np.random.seed(0); np.random.shuffle(index) once, then test = first 10%, val = next 10%."""
    state = np.random.get_state()
    data = load_peptides(_npz(tmp_path), test_fraction=0.1, val_fraction=0.1, split_seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(np.random.get_state(), state) if isinstance(a, np.ndarray))
    np.random.seed(0)  # the book's lines, on the global legacy generator
    index = np.arange(80)
    np.random.shuffle(index)
    np.random.set_state(state)
    assert np.array_equal(data.order, index) and np.array_equal(book_order(80, 0), index)
    assert np.array_equal(data.split["test"], np.arange(8)) and np.array_equal(data.split["val"], np.arange(8, 16))
    idx = np.concatenate([data.split[k] for k in ("test", "val", "train")])
    assert sorted(idx) == list(range(80))
    positives = (data.order < 40).astype(int)  # the raw file stacks the positives first
    assert np.array_equal(data.y, positives) and 0 < data.y[data.split["train"]].mean() < 1
    assert np.allclose(data.x.sum(-1), 1.0)  # gap channel fills the padding
    other = load_peptides(_npz(tmp_path), test_fraction=0.1, val_fraction=0.1, split_seed=1)
    assert not np.array_equal(other.order, data.order) and data.split_seed == 0


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    data = load_peptides(_npz(tmp_path_factory.mktemp("hemolytic")), test_fraction=0.1, val_fraction=0.1, split_seed=0)
    trained, metrics = train_peptides(data, SPEC, {"epochs": 2, "batch_size": 16, "lr": 0.01}, ["QQQQQ"], ctx=CTX)
    return data, trained.model, metrics


def test_training_and_explanations_are_seeded(trained, tmp_path):
    data, model, metrics = trained
    again, _ = train_peptides(data, SPEC, {"epochs": 2, "batch_size": 16, "lr": 0.01}, ["QQQQQ"], ctx=CTX)
    runs = [explain_study({"model": m, "data": data}, ATTR, ctx=CTX) for m in (model, again.model)]
    pd.testing.assert_frame_equal(runs[0].bars, runs[1].bars)
    out = runs[0]
    bars, conv, flips, summary = out.bars, out.convergence, out.flips, out.summary
    assert list(bars.columns) == ["position", "residue", *METHODS] and len(bars) == 8 and out.skipped.empty
    test = data.split["test"]
    with torch.no_grad():
        predicted = (model(torch.as_tensor(data.x[test])).view(-1) > 0).numpy()
    assert metrics["test_accuracy"] == pytest.approx(float((predicted == data.y[test]).mean()))
    assert set(metrics["probabilities"]) == {"QQQQQ"} and metrics["split_seed"] == 0
    with torch.no_grad():
        p = float(torch.sigmoid(model(torch.as_tensor(encode("QQQQQ", data.length)).unsqueeze(0))).view(-1)[0])
    assert metrics["probabilities"]["QQQQQ"] == pytest.approx(p, rel=1e-5)
    # integrated gradients are complete: with no residue the bias-free model gives logit 0, so the
    # residues' values add up to the logit
    assert set(summary["completeness_rel_error"]) == {"integrated_gradients"}
    assert summary["completeness_rel_error"]["integrated_gradients"] < 0.05
    assert bars["integrated_gradients"].sum() == pytest.approx(summary["logit"], rel=0.05)
    # the bars' Shapley values are the convergence study's estimate at the largest count
    assert list(conv["samples"]) == [4, 16, 32]  # counts beyond the samples drawn are dropped
    assert bars["shapley_sampling"].sum() == pytest.approx(summary["shapley_sum"], rel=1e-5)
    # every listed counterfactual flips the class, closest to the boundary first
    assert (np.sign(flips["logit_after"]) != np.sign(summary["logit"])).all()
    assert flips["distance"].is_monotonic_increasing
    rows = reproduction_rows([metrics], [], summary, "quick")
    assert [r["id"] for r in rows] == ["dmol.peptides.test_accuracy", "dmol.peptides.p_qqqqq",
                                       "dmol.peptides.attributions", "dmol.peptides.shapley_sum",
                                       "dmol.peptides.counterfactuals"]
    assert json.loads(rows[-1]["measures"]) == {"n_flips": len(flips)}
    assert "integrated_gradients completeness error" in rows[2]["note"]
    holds = int(metrics["probabilities"]["QQQQQ"] > 0.5)
    assert rows[1]["ours"].startswith(f"holds in {holds}/1 seeds")


def test_residue_readings_are_the_chapters(trained):
    """Input x gradient summed over a one-hot row is the gradient at the residue's own letter; the
    chapter's SmoothGrad is the mean gradient at clipped, renormalised noisy rows; Shapley values
    add up to f(x) - E[f] over chimeras that keep the peptide's own gap rows."""
    data, model, _ = trained
    seq = "KLLKWLAK"
    x = torch.as_tensor(encode(seq, data.length)).unsqueeze(0)
    n = len(seq)
    background = torch.as_tensor(data.x[data.split["train"]])
    cfg = dict(ATTR, samples=256)
    res = explainer(model, cfg, background=background, ctx=CTX, seed=3,
                    methods=["vanilla_grad", "smoothgrad", "shapley_sampling"]).explain(x.argmax(-1))
    ids = [x[0].argmax(-1)]
    unit = UNIT
    leaf = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(leaf).sum(), leaf)
    own = grad[0, :n].gather(-1, x[0, :n].argmax(-1, keepdim=True))[:, 0]
    np.testing.assert_allclose(res["vanilla_grad"].units(unit, ids)[0], own.numpy(), rtol=1e-5, atol=1e-7)
    # SmoothGrad: the same noise draw by hand (seeded generator, the attributed rows only)
    gen = torch.Generator().manual_seed(3)
    noisy = simplex_projection(x[:, :n] + 1e-3 * torch.randn((256, 1, n, len(ALPHABET)), generator=gen)[:, 0])
    assert torch.allclose(noisy.sum(-1), torch.ones(256, n)) and (noisy >= 0).all()
    noisy.requires_grad_(True)
    wrapped = ResidueRows(model, x[0, n:])
    (g,) = torch.autograd.grad(wrapped(noisy).sum(), noisy)
    by_hand = g.mean(0).gather(-1, x[0, :n].argmax(-1, keepdim=True))[:, 0]
    np.testing.assert_allclose(res["smoothgrad"].units(unit, ids)[0], by_hand.numpy(), rtol=1e-4, atol=1e-6)
    # Shapley: one value per residue, the group's letters share it (additive), the sum is f(x) - E[f]
    shap = res["shapley_sampling"]
    per_letter = shap.attribution()[0]
    assert torch.allclose(per_letter, per_letter[:, :1].expand_as(per_letter))
    bg = background.clone()
    bg[:, n:] = x[0, n:]
    with torch.no_grad():
        target = float(model(x)) - float(model(bg).mean())
    assert shap.units(unit, ids)[0].sum() == pytest.approx(target, abs=0.25 * max(1.0, abs(target)))


def test_faithfulness_names_a_registered_plugin_method(trained):
    data, model, _ = trained
    cfg = {"methods": [TOY_METHOD, "input_x_gradient", "bayesgrad", "occlusion", "random"], "n_examples": 3,
           "steps": 4, "max_fraction": 1.0, "samples": 8, "uncertainty_examples": 2,
           "method_options": {"random": {"M": 2}, "integrated_gradients": {"n_steps": 8},
                              "smoothgrad": {"stdevs": 1e-3}}}
    res = faithfulness_study({"model": model, "data": data, "model_name": "cnn"}, cfg, ctx=CTX)
    pe = res.per_example
    assert list(pe.columns) == list(FAITHFULNESS_COLUMNS)
    assert set(pe["method"]) == {TOY_METHOD, "input_x_gradient", "occlusion", "random"}
    assert set(pe[["experiment", "modality", "unit", "model"]].itertuples(index=False, name=None)) == {
        ("peptides", "peptide sequence", "residue", "cnn")}
    n = pe["example"].nunique()
    assert 1 <= n <= 3 and (pe.groupby(["method", "operator"]).size() == n).all()
    assert set(pe["operator"]) == set(PEPTIDE_OPERATORS)  # every configured removal operator
    # BayesGrad needs dropout, which the chapter's CNN has none of
    assert list(res.skipped["method"]) == ["bayesgrad"] and "Dropout" in res.skipped["reason"][0]
    # the toy method ranks the residues in reverse of input x gradient (signed ranking): other curves
    wide = pe[pe["operator"] == "baseline"].pivot(index="example", columns="method", values="deletion_aopc")
    assert not np.allclose(wide["input_x_gradient"], wide[TOY_METHOD])


def test_peptides_of_equal_residue_count_are_one_batch(trained):
    """The batched explanation is each peptide's own: deterministic methods give every peptide the
    values it gets alone (its own gap rows fixed), in the order given; a peptide alone in its batch
    draws as it would alone (seed(i) of its position i); peptides sharing a residue count share one
    draw of the batch's seed."""
    data, model, _ = trained
    background = torch.as_tensor(data.x[data.split["train"]])
    seqs = ["KLLKWLAK", "GLFDIVKKV", "KLAKWLAA", "WWKKLLAKL", "AKLW"]       # counts 8, 9, 8, 9, 4
    ids = torch.as_tensor(np.stack([encode(q, data.length) for q in seqs])).argmax(-1)
    assert residue_count(ids).tolist() == [8, 9, 8, 9, 4]
    cfg = {"methods": ["vanilla_grad", "integrated_gradients", "occlusion", "smoothgrad"], "samples": 16,
           "method_options": OPTIONS}
    seeds = {0: 11, 1: 12, 4: 15}

    def make():
        return explainer(model, cfg, background=background, ctx=CTX, seed=lambda i: seeds[i])
    batched = make().explain(ids)
    examples = list(ids)
    for i, q in enumerate(seqs):
        alone = explainer(model, cfg, background=background, ctx=CTX, seed=seeds.get(i, 0)).explain(ids[i:i + 1])
        for name in ("vanilla_grad", "integrated_gradients", "occlusion"):
            np.testing.assert_allclose(batched[name].units(UNIT, examples)[i], alone[name].units(UNIT, [ids[i]])[0],
                                       rtol=1e-5, atol=1e-6)
        assert batched["integrated_gradients"].path.rel_error[i] == pytest.approx(
            float(alone["integrated_gradients"].path.rel_error[0]), rel=1e-4, abs=1e-6)
        if i == 4:   # alone in its batch: the same draws
            np.testing.assert_allclose(batched["smoothgrad"].units(UNIT, examples)[i],
                                       alone["smoothgrad"].units(UNIT, [ids[i]])[0], rtol=1e-5, atol=1e-7)
    assert len(batched["vanilla_grad"].units(UNIT, examples)[4]) == 4 and batched["smoothgrad"].M == 16
    with pytest.raises(ValueError, match="gap precedes"):
        make().explain(torch.tensor([[0, 3, 4, 0]]))


def test_settings_and_the_explainer_of_the_configured_sections(trained):
    from xairepro.config import load_config

    cfg = load_config("config.yaml", {"scale": "quick"})["peptides"]
    ids = example_inputs(6, cfg)
    assert ids.shape == (6, 200) and ids.dtype == torch.long and (residue_count(ids) >= 5).all()
    data, model, _ = trained
    background = torch.as_tensor(data.x[data.split["train"]])
    got = settings(ResidueRows(model, torch.as_tensor(data.x[0, 12:])), cfg["attribution"], background=background,
                   ctx=CTX)
    assert got["background"].shape == (len(background), 12, len(ALPHABET))
    assert got["feature_mask"].view(-1).tolist() == list(range(12)) and got["noise_projection"] is simplex_projection
    attribution = explainer(model, cfg["attribution"], background=background, ctx=CTX, seed=0)
    faith = explainer(model, cfg["faithfulness"], background=background, ctx=CTX, seed=0)
    assert isinstance(faith, PeptideExplainer) and faith.methods == cfg["faithfulness"]["methods"]
    assert attribution.samples("shapley_sampling") == 512 and faith.samples("bayesgrad") == 64   # quick samples
    assert faith.samples("random") == 5                                                          # top-level M
    assert attribution.options("integrated_gradients") == {"n_steps": 128}
    assert faith.options("integrated_gradients") == {"n_steps": 64}
    assert attribution.options("smoothgrad") == faith.options("bayes_smoothgrad") == {"stdevs": 0.001}
    seeds = explainer(model, cfg["attribution"], background=background, ctx=CTX, seed=0, methods=["shapley_sampling"],
                      samples="seed_samples")
    assert seeds.samples("shapley_sampling") == 256
