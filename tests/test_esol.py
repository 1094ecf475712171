"""The ESOL recipe on a small in-memory dataset: seeded, held-out, signed attributions named in the
config, maps, the leaderboard protocol's tables in the shared schema (a registered toy method
included), and reproduction rows keyed by the declared targets."""
import numpy as np
import pandas as pd
import pytest
import torch

from conftest import REPO_ROOT, TOY_METHOD
from xairepro.config import load_config
from xairepro.context import RunContext
from xairepro.data.featurize import featurize_smiles
from xairepro.experiments.esol.attribution import attribution_study, summarize
from xairepro.experiments.esol.blog_ig import blog_ig_study, blog_maps_study
from xairepro.experiments.esol.data import split_fold
from xairepro.experiments.esol.faithfulness import faithfulness_study
from xairepro.experiments.esol.maps import maps_study
from xairepro.experiments.esol.reproduction import reproduction_rows
from xairepro.experiments.esol.targets import TARGETS
from xairepro.experiments.esol.training import train_esol
from xairepro.evaluation.sanity import sanity_steps
from xairepro.experiments.esol import settings as ES
from xairepro.experiments.graphs import pool_curves
from xairepro.experiments.methods import FAITHFULNESS_COLUMNS, SKIPPED_COLUMNS
from xairepro.evaluation.bounds import BOUND_COLUMNS
from xairepro.experiments.suite import COST_COLUMNS
from xairepro.report.targets import reproduction_table

SMILES = ["CCO", "CCCCO", "c1ccccc1", "Clc1ccccc1", "OCC(O)CO", "CCOC(=O)C", "Nc1ccccc1", "CCCCCCCC",
          "c1ccc2ccccc2c1", "OC(=O)c1ccccc1", "CC(C)O", "ClC(Cl)Cl", "CCN", "OCCO", "Brc1ccccc1"]
SPEC = {"arch": "nfp", "hidden_dim": 8, "n_layers": 2, "dropout": 0.25}
TRAIN = {"epochs": 3, "batch_size": 4, "lr": 1e-2}
METHODS = ["vanilla_grad", "smoothgrad", "bayesgrad"]
ATTRIBUTION = {"methods": METHODS, "multiply_by_inputs": True, "aggregation": "raw", "mc_samples": 4,
               "method_options": {"smoothgrad": {"stdevs": 0.15}}, "baseline": 0.0}
N_FOLDS = 3
ALL_METHODS = ["vanilla_grad", "input_x_gradient", "smoothgrad", "bayesgrad", "bayes_smoothgrad",
               "integrated_gradients", "occlusion", "shapley_sampling", "explanation_mask", "random"]
FAITH = {"operators": ["baseline"], "mc_samples": 3, "baseline": 0.0, "n_folds": N_FOLDS, "n_examples": 6, "steps": 4, "max_fraction": 1.0,
         "method_options": {"vanilla_grad": {"multiply_by_inputs": False, "aggregation": "square"},
                            "smoothgrad": {"stdevs": 0.15}, "bayes_smoothgrad": {"stdevs": 0.15},
                            "integrated_gradients": {"n_steps": 8}, "random": {"M": 2}}}


def ctx(seed=0):
    return RunContext(seed=seed, device="cpu", max_batch=64)


@pytest.fixture(scope="module")
def graphs():
    y = np.linspace(-4, 1, len(SMILES))
    return featurize_smiles(SMILES, y, ids=[f"m{i}" for i in range(len(SMILES))]).graphs


@pytest.fixture(scope="module")
def fold_models(graphs):
    return [train_esol(graphs, SPEC, fold=f, n_folds=N_FOLDS, train=TRAIN, ctx=ctx()).model for f in range(N_FOLDS)]


def attribute(model, graphs, fold, seed=0, **cfg):
    return attribution_study({"model": model, "graphs": graphs, "fold": fold},
                             dict(ATTRIBUTION, n_folds=N_FOLDS, **cfg), ctx=ctx(seed))


def test_folds_partition_the_molecules(graphs):
    held_out = [g.row for f in range(3) for g in split_fold(graphs, f, 3, seed=0)[1]]
    assert sorted(held_out) == list(range(len(SMILES)))


def test_same_seed_same_model_and_attributions(graphs):
    runs = []
    for _ in range(2):
        model = train_esol(graphs, SPEC, fold=1, n_folds=N_FOLDS, train=TRAIN, ctx=ctx(5)).model
        pred, atoms = attribute(model, graphs, 1, seed=5)
        runs.append((torch.cat([p.flatten() for p in model.parameters()]), pred, atoms))
    assert torch.equal(runs[0][0], runs[1][0])
    pd.testing.assert_frame_equal(runs[0][1], runs[1][1])
    pd.testing.assert_frame_equal(runs[0][2], runs[1][2])
    pred, atoms = runs[0][1], runs[0][2]
    assert set(pred["row"]) == {g.row for g in split_fold(graphs, 1, 3, 5)[1]}
    # one row per atom of every held-out molecule, with every configured method and its sample spread
    assert len(atoms) == sum(g.num_nodes for g in split_fold(graphs, 1, 3, 5)[1])
    for m in METHODS:
        assert atoms[m].notna().all() and (atoms[f"{m}_sd"] >= 0).all()
    assert not any(c.endswith("_std") for c in atoms.columns)
    assert (atoms["vanilla_grad_sd"] == 0).all()  # deterministic: one sample
    assert (atoms["bayesgrad_sd"] > 0).any()  # dropout samples differ


def test_signed_vanilla_grad_is_input_x_gradient_and_the_square_reading_differs(graphs, fold_models):
    """multiply_by_inputs=True makes vanilla_grad the signed input x gradient (BayesGrad 2.4); the
    plain squared gradient (Table 1's score) is never negative."""
    _, signed = attribute(fold_models[0], graphs, 0, methods=["vanilla_grad", "input_x_gradient"])
    np.testing.assert_allclose(signed["vanilla_grad"], signed["input_x_gradient"], rtol=1e-6, atol=1e-8)
    assert (signed["vanilla_grad"] < 0).any() and (signed["vanilla_grad"] > 0).any()
    _, squared = attribute(fold_models[0], graphs, 0, methods=["vanilla_grad"], multiply_by_inputs=False,
                           aggregation="square")
    assert (squared["vanilla_grad"] >= 0).all() and not np.allclose(squared["vanilla_grad"], signed["vanilla_grad"])


def test_a_method_that_cannot_apply_is_left_out_of_the_atom_table(graphs, fold_models):
    _, atoms = attribute(fold_models[0], graphs, 0, methods=["vanilla_grad", "explanation_mask"])
    assert "vanilla_grad" in atoms and "explanation_mask" not in atoms


def test_summary_environment_table_and_rows(graphs, fold_models, tmp_path):
    preds, atoms = zip(*[attribute(m, graphs, f) for f, m in enumerate(fold_models)])
    metrics, table = summarize(pd.concat(preds), pd.concat(atoms), METHODS)
    assert metrics["n"] == len(SMILES) and set(metrics["per_fold"]) == {0, 1, 2}
    assert set(table["method"]) == set(METHODS)
    rows = reproduction_rows({"nfp": dict(metrics, r=0.90, mae=1.2), "mine": metrics}, {"nfp": table}, "quick")
    path = tmp_path / "rows.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    verdict = reproduction_table([path], TARGETS).set_index("id")
    assert verdict.loc["bayesgrad.esol.nfp.r", "reproduced"] == True  # noqa: E712  0.90 >= 0.851 - 0.01
    assert verdict.loc["bayesgrad.esol.nfp.mae", "reproduced"] == False  # noqa: E712  1.2 > 1.024 + 0.01
    assert verdict.loc["bayesgrad.esol.nfp.signs", "ours"].startswith("hydroxyl O")
    assert verdict.loc["bayesgrad.esol.ggnn.r", "note"].startswith("not yet")  # no GGNN row given
    assert not any("mine" in r["id"] for r in rows)  # a model without targets is not a row


def test_maps_average_the_fold_models(graphs, fold_models):
    cfg = dict(ATTRIBUTION, map_molecules={"ethanol": "CCO", "phenol": "Oc1ccccc1"})
    recs = maps_study({"models": fold_models[:2]}, cfg, ctx=ctx())
    assert [r["name"] for r in recs] == ["ethanol", "phenol"]
    assert list(recs[1]["scores"]) == METHODS and list(recs[1]["sd"]) == METHODS
    assert len(recs[1]["scores"]["bayesgrad"]) == 7 and len(recs[1]["sd"]["bayesgrad"]) == 7
    assert max(recs[1]["sd"]["vanilla_grad"]) == 0 and max(recs[1]["sd"]["bayesgrad"]) > 0
    # the ensemble mean of the models' maps (vanilla_grad is deterministic: no seed involved)
    single = [maps_study({"models": [m]}, cfg, ctx=ctx())[1]["scores"]["vanilla_grad"] for m in fold_models[:2]]
    np.testing.assert_allclose(recs[1]["scores"]["vanilla_grad"], np.mean(single, axis=0), rtol=1e-6, atol=1e-9)
    assert not np.allclose(single[0], single[1])
    with pytest.raises(ValueError, match="cannot parse"):
        maps_study({"models": fold_models[:2]}, dict(cfg, map_molecules={"bad": "C1CC"}), ctx=ctx())


SUITE_LABELS = ["experiment", "modality", "unit", "model", "replicate"]
SUITE_COLUMNS = {"sanity": [*SUITE_LABELS, "method", "randomisation", "layers", "example", "spearman"],
                 "uncertainty": [*SUITE_LABELS, "method", "example", "n_units", "spearman_sd_vs_drop"],
                 "cost": COST_COLUMNS, "bounds": [*SUITE_LABELS, *BOUND_COLUMNS]}


@pytest.fixture(scope="module")
def suite(graphs, fold_models):
    """The leaderboard protocol on every fold model, every canonical method and the toy plugin."""
    return faithfulness_study({"models": fold_models, "graphs": graphs, "model_name": "nfp"},
                              dict(FAITH, methods=ALL_METHODS + [TOY_METHOD], sanity_steps="all"), ctx=ctx())


def test_faithfulness_suite_tables_have_the_shared_schema_with_folds_as_replicates(suite):
    per_example, curves, summary, skipped = suite.per_example, suite.curves, suite.summary, suite.skipped
    assert list(per_example.columns) == list(FAITHFULNESS_COLUMNS)
    assert set(per_example["experiment"]) == {"esol"} and set(per_example["modality"]) == {"molecular graph"}
    assert set(per_example["unit"]) == {"atom"} and set(per_example["model"]) == {"nfp"}
    assert set(per_example["replicate"]) == {0, 1, 2}  # the fold
    applied = [m for m in ALL_METHODS if m not in ("shapley_sampling", "explanation_mask")] + [TOY_METHOD]
    assert list(dict.fromkeys(per_example["method"])) == applied
    assert per_example.groupby("method").size().eq(6).all()
    # the two that cannot apply at an atom embedding, with their reasons, once per fold
    assert list(skipped.columns) == list(SKIPPED_COLUMNS)
    assert sorted(set(skipped["method"])) == ["explanation_mask", "shapley_sampling"] and len(skipped) == 2 * N_FOLDS
    reasons = skipped.drop_duplicates("method").set_index("method")["reason"]
    assert "layer" in reasons["shapley_sampling"] and "mask" in reasons["explanation_mask"]
    # the summary ranks the methods over every fold's molecules
    assert summary["rank"].tolist() == list(range(1, len(applied) + 1)) and set(summary["method"]) == set(applied)
    assert (summary["n_examples"] == 6).all() and (summary["n_replicates"] == N_FOLDS).all()
    # curves per fold (one point per method, mode (deletion, lerf, insertion) and step), pooled by the molecules of each fold
    assert len(curves) == len(applied) * 3 * 5 * N_FOLDS and set(curves["replicate"]) == {0, 1, 2}
    pooled = pool_curves(curves)
    assert len(pooled) == len(applied) * 3 * 5 and (pooled["n"] == 6).all()
    start = pooled[(pooled["mode"] == "deletion") & (pooled["fraction"] == 0)]["mean"]
    assert np.allclose(start, start.iloc[0])  # deletion at 0 is the unperturbed prediction, for every method
    # the squared gradient norm ranks atoms differently from the signed input x gradient
    wide = per_example.pivot_table(index="example", columns="method", values="deletion_aopc")
    assert not np.allclose(wide["vanilla_grad"], wide["input_x_gradient"])
    for kind, columns in SUITE_COLUMNS.items():
        assert list(getattr(suite, kind).columns) == columns, kind


def test_faithfulness_suite_runs_sanity_uncertainty_and_cost_for_every_applied_method(suite):
    """A registered toy method (tests/fixtures/toy_method.py: -(x - baseline) * gradient) named in the
    config joins every table; every applied method has sanity rows at the full randomisation of each
    fold model; the sampled methods (M > 1) have the uncertainty rows."""
    applied = set(suite.per_example["method"])
    assert TOY_METHOD in applied
    san = suite.sanity
    assert set(san["method"]) == applied and set(san["randomisation"]) == {"all layers"}
    assert san.groupby("method")["replicate"].nunique().eq(N_FOLDS).all()
    assert san.groupby("method").size().eq(6).all()  # one row per explained molecule
    rho = san.groupby("method")["spearman"].mean()
    assert rho["random"] == pytest.approx(1.0)  # the random order ignores the model: it must fail the check
    assert rho["input_x_gradient"] < 0.95  # re-initialised weights change the gradient
    assert set(suite.uncertainty["method"]) == {"smoothgrad", "bayesgrad", "bayes_smoothgrad"}
    assert suite.uncertainty["spearman_sd_vs_drop"].dropna().between(-1, 1).all()
    assert set(suite.cost["method"]) == applied and (suite.cost["seconds"] > 0).all()
    toy = suite.per_example[suite.per_example["method"] == TOY_METHOD]
    ixg = suite.per_example[suite.per_example["method"] == "input_x_gradient"]
    assert toy["deletion_aopc"].mean() < ixg["deletion_aopc"].mean()  # the reversed order is less faithful


def test_settings_example_inputs_and_the_explainer_follow_the_config(fold_models):
    """esol/settings.py on the quick config: random molecules the models take, the settings of the
    model passed (the randomised copies get their own layer), the configured M and reading per method,
    and the method options (IG points, SmoothGrad's sigma) reaching the built methods."""
    from torch_geometric.data import Batch

    esol = load_config(REPO_ROOT / "config.yaml", {"scale": "quick"})["esol"]
    attribution = esol["attribution"]
    faith = dict(esol["faithfulness"], mc_samples=attribution["mc_samples"], baseline=attribution["baseline"])
    mols = ES.example_inputs(5, attribution)
    assert len(mols) == 5 and len({g.num_nodes for g in ES.example_inputs(20, attribution)}) > 1
    for g in mols:
        assert g.x.dtype == torch.long and g.edge_index.shape == (2, g.edge_attr.numel())
        assert g.edge_index.max() < g.num_nodes and set(g.x.tolist()) <= {6, 7, 8, 9, 16, 17}
    assert fold_models[0].eval()(Batch.from_data_list(mols)).shape == (5, 1)
    for m in fold_models[:2]:
        s = ES.settings(m, attribution, ctx=ctx())
        assert s["layer"] is m.embedding and s["baselines"] == 0.0 and s["multiply_by_inputs"] is True
        assert s["max_batch"] == 64 and s["noise_mode"] == "absolute"
    explainer = ES.explainer(fold_models[0], faith, ctx=ctx())
    assert explainer.methods == faith["methods"] and attribution["mc_samples"] == 10
    assert {m: explainer.samples(m) for m in ("vanilla_grad", "smoothgrad", "bayesgrad", "random")} == {
        "vanilla_grad": 10, "smoothgrad": 10, "bayesgrad": 10, "random": 5}
    assert explainer.reading("vanilla_grad") == "square" and explainer.reading("bayesgrad") == "raw"
    built = explainer.build(["integrated_gradients", "smoothgrad", "vanilla_grad"])
    assert built["integrated_gradients"].n_steps == 32 and built["smoothgrad"].noise.stdevs == 0.15
    other = explainer.on(fold_models[1])
    assert other.build(["vanilla_grad"])["vanilla_grad"].layer is fold_models[1].embedding
    got = explainer.explain(mols, names=["bayesgrad", "random"])
    assert got["bayesgrad"].M == 10 and got["random"].M == 5
    assert [len(s) for s in got["bayesgrad"].units(ES.unit(faith), mols)] == [g.num_nodes for g in mols]


def test_sanity_steps_setting():
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    assert sanity_steps(model, "all") == [2] and sanity_steps(model, []) == [] and sanity_steps(model, None) is None
    assert sanity_steps(model, [1]) == [1]


def test_blog_integrated_gradients_are_complete_and_signed(graphs, fold_models):
    atoms, table = blog_ig_study({"model": fold_models[0], "graphs": graphs},
                                 {"n_folds": N_FOLDS, "steps": 64, "baseline": 0.0}, ctx=ctx())
    held_out = split_fold(graphs, 0, N_FOLDS, 0)[1]
    assert len(atoms) == sum(g.num_nodes for g in held_out)
    assert atoms["ig_rel_error"].median() < 0.01  # IG sums to F(x) - F(0)
    assert set(table["method"]) == {"integrated_gradients"}
    maps = blog_maps_study({"model": fold_models[0]},
                           {"steps": 64, "baseline": 0.0, "map_molecules": {"ethanol": "CCO"}}, ctx=ctx())
    assert len(maps[0]["scores"]["integrated_gradients"]) == 3 and maps[0]["rel_error"] < 0.01


class EmbeddingInput(torch.nn.Module):
    """One molecule's graph model with its atom embedding as the input: ``x`` (B, C, n_atoms) replaces
    the output of ``model.embedding`` (the hook the attribution and the atom unit use) for B copies
    of the molecule, so an array library can perturb atoms as the columns of an array."""

    def __init__(self, model, graph):
        super().__init__()
        self.model, self.graph = model, graph

    def forward(self, x):
        from torch_geometric.data import Batch

        from xairepro.attribution import replace_layer

        b, c, n = x.shape
        rows = x.permute(0, 2, 1).reshape(b * n, c).to(torch.float32)
        with replace_layer(self.model.embedding, lambda out: rows):
            return self.model(Batch.from_data_list([self.graph] * b))


class FlatAtoms(torch.nn.Module):
    """The same with the embedding flattened atom-major, ``x`` (B, 1, n_atoms * C)."""

    def __init__(self, inner, n_atoms, channels):
        super().__init__()
        self.inner, self.n, self.c = inner, n_atoms, channels

    def forward(self, x):
        return self.inner(x.reshape(x.shape[0], self.n, self.c).permute(0, 2, 1))


def test_atom_deletion_curve_agrees_with_quantus(graphs, fold_models):
    """Issue 19.7, graphs: for one cell (BayesGrad on four held-out ESOL molecules of one fold model),
    our deletion curve over atoms equals Quantus's for the same removal, an atom's embedding row set to
    the baseline 0. The model is wrapped so that its input is the (C, n_atoms) atom embedding of one
    molecule; Quantus's RegionPerturbation with 1x1 patches over (C, 1, n_atoms) removes one atom
    (all C channels) per step, most relevant first (it returns f(x) - f(x without the top k)), and
    PixelFlipping over the atom-major flattened embedding with features_in_step = C does the same
    (it returns f(x without the top k)). The attributions are given at the input's full shape (each
    atom's score in every channel): Quantus cannot infer the axes of a (1, n_atoms) map when
    n_atoms equals C. Quantus 0.6.0."""
    import quantus
    from torch_geometric.data import Batch

    from xairepro.evaluation.faithfulness import faithfulness_curves
    model = fold_models[0].eval()
    mols = [g for g in split_fold(graphs, 0, N_FOLDS, 0)[1] if g.num_nodes >= 3][:4]
    assert len(mols) >= 3
    cfg = {"baseline": 0.0, "methods": ["bayesgrad"], "mc_samples": 4}
    unit = ES.unit(cfg)
    bayes = ES.explainer(model, cfg, ctx=ctx()).explain(mols)["bayesgrad"]
    for g, s in zip(mols, bayes.units(unit, mols, "raw")):
        n = g.num_nodes
        assert len(set(np.round(s, 12))) == n  # distinct scores: one order, whoever sorts them
        seen = {}
        hook = model.embedding.register_forward_hook(lambda m, a, out: seen.setdefault("e", out.detach().clone()))
        with torch.no_grad():
            model(Batch.from_data_list([g]))
        hook.remove()
        emb = seen["e"]  # (n_atoms, C)
        c = emb.shape[1]
        ours = faithfulness_curves(model, [g], [s], unit, fractions=np.arange(n + 1) / n)[0]  # k = 0..n removed
        region = quantus.RegionPerturbation(patch_size=1, regions_evaluation=n, order="morf", abs=False,
                                            normalise=False, perturb_baseline=0.0, disable_warnings=True)
        theirs = np.asarray(region(model=EmbeddingInput(model, g).eval(), x_batch=emb.T[None].numpy(),
                                   y_batch=np.array([0]), a_batch=np.broadcast_to(np.asarray(s, np.float32), (1, c, n)).copy(),
                                   device="cpu", softmax=False, channel_first=True))[0]
        np.testing.assert_allclose(ours[0] - ours[1:], theirs, atol=1e-5)
        flipping = quantus.PixelFlipping(features_in_step=c, abs=False, normalise=False, perturb_baseline=0.0,
                                         disable_warnings=True)
        flipped = np.asarray(flipping(model=FlatAtoms(EmbeddingInput(model, g), n, c).eval(),
                                      x_batch=emb.reshape(1, 1, n * c).numpy(), y_batch=np.array([0]),
                                      a_batch=np.repeat(np.asarray(s, np.float32), c)[None, None, :],
                                      device="cpu", softmax=False, channel_first=True))[0]
        np.testing.assert_allclose(ours[1:], flipped, atol=1e-5)
        assert np.abs(theirs).max() > 1e-3  # removing atoms changes the prediction: the check is not vacuous
