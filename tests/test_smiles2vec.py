"""SMILES2vec on ESOL with an explanation mask: featurization, character-to-atom map, the mask
network, the top-3 check and the studies over configured methods (the workflow slice:
test_iris_peptides_smiles2vec_workflow.py)."""

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import TOY_METHOD
from xairepro.attribution import IntegratedGradients
from xairepro.context import RunContext, resolve_device
from xairepro.data.loaders import DataFormatError
from xairepro.experiments.methods import FAITHFULNESS_COLUMNS, SKIPPED_COLUMNS
from xairepro.evaluation.bounds import BOUND_COLUMNS
from xairepro.experiments.suite import COST_COLUMNS
from xairepro.experiments.smiles2vec.data import char_atoms, featurize_esol, load, random_split, save
from xairepro.experiments.smiles2vec.explain import top3_summary, top3_table
from xairepro.experiments.smiles2vec.faithfulness import faithfulness_study
from xairepro.experiments.smiles2vec.mask import (load_mask_net, mask_weights, masked_predictions, rewire_mask_net,
                                                  save_mask_net, train_smiles2vec_mask)
from xairepro.experiments.smiles2vec.reproduction import reproduction_rows
from xairepro.experiments.smiles2vec.seeds import SEED_COLUMNS, mask_seed_study, seeds_table
from xairepro.experiments.smiles2vec.settings import OPERATORS as S2V_OPERATORS, DepartureScore, example_inputs, explainer, settings
from xairepro.experiments.smiles2vec.targets import TARGETS
from xairepro.experiments.suite import UNIT_EXAMPLE_COLUMNS
from xairepro.report.targets import reproduction_table, write_reproduction_rows
from xairepro.experiments.smiles2vec.study import explain_study
from xairepro.experiments.smiles2vec.training import train_smiles2vec

TARGET = "measured log solubility in mols per litre"
SMILES = ["OCC ", "CCCCCC", "c1ccccc1Cl ", "OC(=O)CN", "Brc1ccc(Br)cc1", "CC(C)O", "C[N+](C)(C)C",
          "c1cc[nH]c1", "ClC(Cl)(Cl)Cl", "NCCO", "CCOC(C)=O", "c1ccc2ccccc2c1"]
LOGS = [0.5, -3.5, -2.4, 0.8, -5.2, 0.4, 0.9, -0.2, -2.3, 1.1, 0.2, -3.6]


def _csv(tmp_path, smiles=SMILES, logs=LOGS):
    """A delaney-processed.csv in MoleculeNet's layout (trailing spaces kept, as in the real file)."""
    path = tmp_path / "delaney-processed.csv"
    pd.DataFrame({"Compound ID": [f"m{i}" for i in range(len(smiles))], TARGET: logs, "smiles": smiles}).to_csv(
        path, index=False)
    return path


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    data = featurize_esol(_csv(tmp_path_factory.mktemp("esol")), max_len=20, pad_len=2)
    data.splits = {"random": random_split(len(data.y), (0.5, 0.25, 0.25), 0)}
    return data


CTX = RunContext(seed=0, device="cpu", max_batch=256)
SPEC = {"arch": "smiles2vec", "embedding_dim": 8, "filters": 8, "rnn_sizes": [8], "dropout": 0.1}
MSPEC = {"hidden": 4, "n_layers": 3, "kernel_size": 3, "l1": 1e-3, "l2": 1e-4, "epochs": 2, "batch_size": 4,
         "lr": 0.01}
SQUARE = {"aggregation": "square"}
ATTR = {"methods": ["explanation_mask", "integrated_gradients", "bayesgrad", "random"], "mc_samples": 3,
        "ranking": "abs", "method_options": {"integrated_gradients": {"n_steps": 8}, "bayesgrad": SQUARE,
                                             "vanilla_grad": SQUARE, "random": {"M": 1}}}
#: A faithfulness section: the attribution section's samples and readings, two random orders.
FAITH = {"mc_samples": 3, "method_options": {"integrated_gradients": {"n_steps": 8}, "bayesgrad": SQUARE,
                                             "vanilla_grad": SQUARE, "random": {"M": 2}}}


@pytest.fixture(scope="module")
def trained(small):
    """A tiny model (2 epochs) and mask network on the twelve molecules."""
    trained, metrics = train_smiles2vec(small, "random", SPEC, {"epochs": 2, "batch_size": 4, "lr": 0.01}, ctx=CTX)
    net, history = train_smiles2vec_mask(trained.model, small, "random", MSPEC, ctx=CTX)
    return trained.model, net, metrics, history


def test_char_atoms_follow_rdkit_order():
    assert char_atoms("OCC(Cl)Br") == [0, 1, 2, -1, 3, 3, -1, 4, 4]
    assert char_atoms("C[N+](C)C") == [0, 1, 1, 1, 1, -1, 2, -1, 3]
    assert char_atoms("c1cc[nH]c1") == [0, -1, 1, 2, 3, 3, 3, 3, 4, -1]


def test_featurization_is_deepchems_with_a_sorted_vocabulary(small, tmp_path):
    assert " " not in small.vocab  # trailing spaces stripped
    chars = small.vocab[:-2]
    assert chars == sorted(chars) and small.vocab[-2:] == ["<pad>", "<unk>"]
    assert small.tokens.shape == (len(SMILES), 20 + 2 * 2)
    for i, smi in enumerate(small.smiles):
        ids = small.tokens[i]
        assert "".join(small.vocab[t] for t in ids if t != small.pad_id) == smi
        assert (ids[:2] == small.pad_id).all() and (small.atoms[i][:2] == -1).all()
    save(small, tmp_path / "a.npz", tmp_path / "m.json")
    again = load(tmp_path / "a.npz", tmp_path / "m.json")
    assert np.array_equal(again.tokens, small.tokens) and again.splits == small.splits


def test_bad_input_names_the_row_or_key(tmp_path):
    with pytest.raises(DataFormatError, match="row 1.*C1CC"):
        featurize_esol(_csv(tmp_path, ["CCO", "C1CC"], [0.1, 0.2]), max_len=20, pad_len=0)
    with pytest.raises(DataFormatError, match="max_len"):
        featurize_esol(_csv(tmp_path, ["CCCCCCCCCCCCO"], [0.1]), max_len=5, pad_len=0)


def test_mask_network_trains_with_the_model_frozen(small, tmp_path):
    trained, metrics = train_smiles2vec(small, "random", SPEC, {"epochs": 2, "batch_size": 4, "lr": 0.01}, ctx=CTX)
    assert metrics["n_test"] == 3 and metrics["test_rmse"] > 0
    model = trained.model
    before = [p.detach().clone() for p in model.parameters()]
    net, history = train_smiles2vec_mask(model, small, "random", MSPEC, ctx=CTX)
    assert net.layer is model.embedding  # the mask multiplies the character embeddings
    assert len(history) == 2 and all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    w = mask_weights(net, small.tokens, "cpu")
    assert w.shape == small.tokens.shape and (w > 0).all()  # softplus: one positive weight per character
    out = masked_predictions(net, small, "random", "cpu")
    assert out["test_rmse"] == pytest.approx(metrics["test_rmse"], rel=1e-5)
    save_mask_net(tmp_path / "mask.pt", net, MSPEC)
    np.testing.assert_allclose(mask_weights(load_mask_net(tmp_path / "mask.pt", model, "cpu"), small.tokens, "cpu"), w)
    # the device as the config writes it ("auto") resolves as the run context does
    assert next(load_mask_net(tmp_path / "mask.pt", model, "auto").parameters()).device.type == resolve_device("auto").type


def test_explain_study_reads_every_method_the_same_way(small, trained):
    model, net, _, _ = trained
    thresholds = {"soluble": -1.0, "insoluble": -5.0, "n_maps": 2}
    out = explain_study({"model": model, "mask_net": net, "data": small},
                        {"split": "random", "attribution": ATTR, "top3": thresholds}, ctx=CTX)
    idx = out["arrays"]["molecules"]
    assert list(out["summary"]["method"]) == ATTR["methods"] and out["skipped"].empty
    pads = small.tokens[idx] == small.pad_id
    # the mask method's character scores are the mask network's weights; padding scores nothing
    np.testing.assert_allclose(out["arrays"]["explanation_mask"], np.where(pads, 0.0, mask_weights(net, small.tokens[idx], "cpu")),
                               rtol=1e-5)
    # integrated gradients at the embedding, summed over its channels, signed and complete
    ig = IntegratedGradients(model, layer=model.embedding, n_steps=8).compute(torch.as_tensor(small.tokens[idx]))
    np.testing.assert_allclose(out["arrays"]["integrated_gradients"], ig.attribution().sum(-1).numpy(), atol=1e-6)
    assert (out["arrays"]["integrated_gradients"] < 0).any()
    np.testing.assert_allclose(out["arrays"]["integrated_gradients_rel_error"], ig.path.rel_error.numpy(), rtol=1e-5)
    assert (out["arrays"]["bayesgrad"] >= 0).all()  # read as squared gradients (method_options)
    assert {tuple(sorted(r["scores"])) for r in out["maps"]} == {tuple(sorted(ATTR["methods"]))}
    # without a trained mask the method is skipped with its reason, and the reproduction row says so
    none = explain_study({"model": model, "mask_net": None, "data": small},
                         {"split": "random", "attribution": ATTR, "top3": thresholds}, ctx=CTX)
    assert list(none["skipped"]["method"]) == ["explanation_mask"] and "mask" in none["skipped"]["reason"][0]
    with pytest.raises(ValueError, match="explanation_mask"):
        reproduction_rows({"test_rmse": 1, "n_test": 1}, {"test_rmse": 1}, _seeds_frame([0.8], [0.9], [0.9], [0.7]),
                          none["summary"], "quick")


def test_faithfulness_names_a_registered_plugin_method(small, trained):
    model, net, _, _ = trained
    spec = {"methods": [TOY_METHOD, "input_x_gradient", "shapley_sampling", "explanation_mask", "random"],
            "n_examples": 3, "steps": 4, "max_fraction": 1.0, **FAITH}
    inputs = {"model": model, "mask_net": net, "data": small, "model_name": "smiles2vec"}
    res = faithfulness_study(inputs, {"split": "random", "attribution": ATTR, "faithfulness": spec}, ctx=CTX)
    pe = res.per_example
    assert list(pe.columns) == list(FAITHFULNESS_COLUMNS) and list(res.skipped.columns) == list(SKIPPED_COLUMNS)
    assert set(pe["method"]) == {TOY_METHOD, "input_x_gradient", "explanation_mask", "random"}
    toy = pe[pe["method"] == TOY_METHOD]
    assert set(toy["operator"]) == set(S2V_OPERATORS)
    assert toy[toy["operator"] == "baseline"]["example"].tolist() == small.splits["random"]["test"][:3]
    assert set(pe[["experiment", "modality", "unit", "model", "replicate"]].itertuples(index=False, name=None)) == {
        ("smiles2vec", "SMILES string", "character", "smiles2vec", 0)}
    # the method that cannot apply at the embedding layer is listed with its reason
    assert list(res.skipped["method"]) == ["shapley_sampling"] and "layer" in res.skipped["reason"][0]
    # the toy method is input x gradient with the sign flipped: ranked by magnitude (ranking: abs,
    # the same for every method) the two order the characters alike; ranked by sign they do not
    wide = pe[pe["operator"] == "baseline"].pivot(index="example", columns="method", values="deletion_aopc")
    np.testing.assert_allclose(wide[TOY_METHOD], wide["input_x_gradient"])
    signed = faithfulness_study(inputs, {"split": "random", "attribution": dict(ATTR, ranking="signed"),
                                         "faithfulness": spec}, ctx=CTX).per_example
    wide = signed[signed["operator"] == "baseline"].pivot(index="example", columns="method", values="deletion_aopc")
    assert not np.allclose(wide[TOY_METHOD], wide["input_x_gradient"])


def test_top3_counts_hits_on_the_right_atoms(small):
    idx = np.arange(len(SMILES))
    planted = np.zeros(small.tokens.shape)
    for r, i in enumerate(idx):  # put the score on O/N characters only (aromatic too)
        for pos, t in enumerate(small.tokens[i]):
            if small.vocab[t] in ("O", "N", "o", "n"):
                planted[r, pos] = 1.0
    scores = {"explanation_mask": planted, "integrated_gradients": -planted, "bayesgrad": planted ** 2,
              "random": np.random.default_rng(0).random(planted.shape)}
    table = top3_table(small, idx, scores, {"soluble": -1.0, "insoluble": -5.0}, ranking="abs")
    # classes: soluble log S >= -1 (7 molecules), insoluble <= -5 (1: dibromobenzene)
    assert set(table.groupby("class")["molecule"].nunique().items()) == {("soluble", 7), ("insoluble", 1)}
    mask = table[table["method"] == "explanation_mask"].set_index("molecule")
    soluble_with_on = [i for i in idx if LOGS[i] >= -1 and mask.loc[i, "has_target_atom"]]
    assert mask.loc[soluble_with_on, "hit"].all()
    assert not mask.loc[4, "hit"] or "C" in mask.loc[4, "top3_atoms"]
    summary = top3_summary(table).set_index("method")
    # every method ranks by magnitude, so the negated planted scores give the same hits
    assert summary.loc["integrated_gradients", "top3_accuracy"] == summary.loc["explanation_mask", "top3_accuracy"]
    # ranked by sign, the negated scores put the O/N characters last
    signed = top3_summary(top3_table(small, idx, scores, {"soluble": -1.0, "insoluble": -5.0}, ranking="signed"))
    signed = signed.set_index("method")
    assert signed.loc["integrated_gradients", "soluble_accuracy"] < summary.loc["integrated_gradients", "soluble_accuracy"]
    assert signed.loc["explanation_mask", "top3_accuracy"] == summary.loc["explanation_mask", "top3_accuracy"]
    with pytest.raises(ValueError, match="ranking"):
        top3_table(small, idx, scores, {"soluble": -1.0, "insoluble": -5.0}, ranking="square")


SUITE_LABELS = ["experiment", "modality", "unit", "model", "replicate"]
SUITE_COLUMNS = {"sanity": [*SUITE_LABELS, "method", "randomisation", "layers", "example", "spearman"],
                 "uncertainty": [*SUITE_LABELS, "method", "example", "n_units", "spearman_sd_vs_drop"],
                 "cost": COST_COLUMNS, "bounds": [*SUITE_LABELS, *BOUND_COLUMNS]}


def test_faithfulness_suite_tables_sanity_and_uncertainty(small, trained):
    """The leaderboard protocol: every table in the shared schema, the plugin method in it, sanity
    rows at the full randomisation for every applied method, BayesGrad on the model itself (it has
    dropout) with its per-character sd, one metric call per reading (the toy method reads raw, the
    squared-gradient methods square)."""
    model, net, _, _ = trained
    spec = {"methods": [TOY_METHOD, "vanilla_grad", "bayesgrad", "shapley_sampling", "explanation_mask", "random"],
            "n_examples": 3, "steps": 4, "max_fraction": 1.0, "sanity_steps": "all", **FAITH,
            "uncertainty_examples": 2}
    inputs = {"model": model, "mask_net": net, "data": small, "model_name": "smiles2vec"}
    res = faithfulness_study(inputs, {"split": "random", "attribution": ATTR, "faithfulness": spec}, ctx=CTX)
    tables = res.tables()
    assert set(tables) == {"per_example", "curves", "summary", "skipped", "sanity", "uncertainty", "cost",
                           "bounds", "unit_examples"}
    assert list(res.per_example.columns) == list(FAITHFULNESS_COLUMNS)
    assert list(res.skipped.columns) == list(SKIPPED_COLUMNS) and list(res.skipped["method"]) == ["shapley_sampling"]
    verdicts = {"sanity": ["verdict_rho", "passes"], "uncertainty": ["mean_rho", "informative"]}  # written with them
    for kind, columns in SUITE_COLUMNS.items():
        assert list(tables[kind].columns) == columns + verdicts.get(kind, []), kind
    applied = {TOY_METHOD, "vanilla_grad", "bayesgrad", "explanation_mask", "random"}
    assert set(res.per_example["method"]) == applied and set(res.cost["method"]) == applied
    assert list(res.per_example["method"].drop_duplicates()) == [m for m in spec["methods"] if m in applied]
    for table in ("per_example", "sanity", "uncertainty", "cost"):
        assert set(tables[table]["model"]) == {"smiles2vec"} and set(tables[table]["experiment"]) == {"smiles2vec"}
    san = res.sanity
    assert set(san["method"]) == applied and set(san["randomisation"]) == {"all layers"}
    n_layers = int(san["layers"].iloc[0])
    assert (san["layers"] == n_layers).all() and n_layers >= 3
    assert san.groupby("method")["example"].nunique().eq(3).all() and san["spearman"].dropna().between(-1, 1).all()
    # the rewired mask reads the randomised embeddings: its ranking changes
    assert not np.allclose(san[san["method"] == "explanation_mask"]["spearman"], 1.0)
    # BayesGrad runs on the model itself (dropout 0.1): its sd per character against the single drop
    assert set(res.uncertainty["method"]) == {"bayesgrad"} and len(res.uncertainty) == 3
    ue = res.unit_examples
    assert list(ue.columns) == UNIT_EXAMPLE_COLUMNS and set(ue["method"]) == {"bayesgrad"}
    test = small.splits["random"]["test"][:3]
    assert sorted(ue["example"].unique()) == [test[0], test[2]] and (ue["M"] == ATTR["mc_samples"]).all()
    first = ue[ue["example"] == test[0]]
    assert "".join(first["unit_label"]) == small.smiles[test[0]] and (first["sd"] >= 0).all()
    assert (first["mean"] >= 0).all()  # squared gradients (method_options)


def test_rewired_mask_reads_the_other_model(small, trained, tmp_path):
    model, net, _, _ = trained
    assert rewire_mask_net(net, model) is net
    other, _ = train_smiles2vec(small, "random", SPEC, {"epochs": 1, "batch_size": 4, "lr": 0.01},
                                 ctx=RunContext(seed=3, device="cpu"))
    other = other.model
    again = rewire_mask_net(net, other)
    assert again.model is other and again.model.embedding is again.layer
    tokens = torch.as_tensor(small.tokens[:4])
    for a, b in zip(net.first.parameters(), again.first.parameters()):
        assert torch.equal(a, b)
    emb = other.embedding.weight.detach().clone()
    assert not torch.allclose(net.mask(tokens), again.mask(tokens))  # other embeddings, other weights
    assert torch.equal(other.embedding.weight, emb) and not torch.equal(emb, model.embedding.weight)
    # the checkpoint keeps the mask network's own weights only, never the frozen embedding
    save_mask_net(tmp_path / "m.pt", net, MSPEC)
    state = torch.load(tmp_path / "m.pt", weights_only=False)["state_dict"]
    assert state and not any(k.startswith(("model.", "layer.")) for k in state)


def test_labels_fitted_mask_loss_is_mse_to_the_labels(small, trained):
    """target=labels: the loss is the MSE of the masked prediction to the labels plus the penalties
    (by hand), and training lowers the masked RMSE against the labels on the training molecules."""
    model, _, _, _ = trained
    net, _ = train_smiles2vec_mask(model, small, "random", dict(MSPEC, epochs=0), ctx=CTX, target="labels")
    net.eval()
    tokens, y = torch.as_tensor(small.tokens[:6]), torch.tensor(small.y[:6], dtype=torch.float32).view(-1, 1)
    with torch.no_grad():
        out, mask, _ = net(tokens)
        by_hand = (((out - y) ** 2).mean() + 1e-3 * mask.abs().sum((1, 2)).mean()
                   + 1e-4 * (mask ** 2).sum((1, 2)).mean())
        total, parts = net.loss(tokens, y)
        fidelity, _ = net.loss(tokens)
    assert float(total) == pytest.approx(float(by_hand), rel=1e-5)
    assert parts["task"] == pytest.approx(float(((out - y) ** 2).mean()), rel=1e-5)
    assert float(fidelity) != pytest.approx(float(total), rel=1e-3)
    spec = dict(MSPEC, epochs=15, batch_size=6, lr=0.02)
    before = masked_predictions(net, small, "random", "cpu")["train_masked_rmse"]
    fitted, history = train_smiles2vec_mask(model, small, "random", spec, ctx=CTX, target="labels")
    after = masked_predictions(fitted, small, "random", "cpu")["train_masked_rmse"]
    assert after < before and history[-1]["train_loss"] < history[0]["train_loss"]
    with pytest.raises(ValueError, match="target"):
        train_smiles2vec_mask(model, small, "random", MSPEC, ctx=CTX, target="model")


def test_mask_seed_study_and_seeds_table(small, trained):
    model, net, _, _ = trained
    cfg = {"mask": dict(MSPEC, split="random"), "attribution": {k: v for k, v in ATTR.items() if k != "methods"},
           "top3": {"soluble": -1.0, "insoluble": -5.0}}
    runs = [mask_seed_study({"model": model, "data": small}, dict(cfg, target=t, seed=s), ctx=CTX)
            for t, s in (("prediction", 0), ("labels", 0), ("prediction", 1))]
    m = [r["metrics"] for r in runs]
    # mask seed 0 fitted to the prediction is the run's own mask (the fixture's)
    np.testing.assert_allclose(mask_weights(runs[0]["net"], small.tokens, "cpu"), mask_weights(net, small.tokens, "cpu"),
                               rtol=1e-5)
    assert [x["run_seed"] for x in m] == [0, 0, 1] and m[0]["test_rmse"] == pytest.approx(m[1]["test_rmse"])
    assert m[0]["test_masked_rmse"] != pytest.approx(m[1]["test_masked_rmse"])
    assert [x["n_top3"] for x in m] == [8, 8, 8]  # 7 soluble (log S >= -1) and 1 insoluble (<= -5) molecules
    # the mask's top-3 accuracy by hand: a molecule is a hit when one of its three characters of
    # largest mask weight belongs to an O or N atom (soluble) or to C or a halogen (insoluble)
    from rdkit import Chem

    targets = {"soluble": {"O", "N"}, "insoluble": {"C", "F", "Cl", "Br", "I"}}
    for run in runs:
        hits = []
        for i, log_s in enumerate(LOGS):
            cls = "soluble" if log_s >= -1 else "insoluble" if log_s <= -5 else None
            if cls is None:
                continue
            chars = np.flatnonzero(small.tokens[i] != small.pad_id)
            w = mask_weights(run["net"], small.tokens[i:i + 1], "cpu")[0][chars]
            top = chars[np.argsort(-w, kind="stable")[:3]]
            atoms = Chem.MolFromSmiles(SMILES[i].strip()).GetAtoms()
            hits.append(any(a >= 0 and atoms[int(a)].GetSymbol() in targets[cls] for a in small.atoms[i][top]))
        assert len(hits) == 8 and run["metrics"]["top3_accuracy"] == pytest.approx(np.mean(hits))
    # the random order does not read the mask: the same run seed gives the same random accuracy
    assert m[0]["random_top3_accuracy"] == m[1]["random_top3_accuracy"]
    assert all(0 <= x["random_top3_accuracy"] <= 1 for x in m)
    table = seeds_table(m)
    assert list(table.columns) == SEED_COLUMNS
    assert list(zip(table["target"], table["seed"])) == [("labels", 0), ("prediction", 0), ("prediction", 1)]
    with pytest.raises(ValueError, match="twice"):
        seeds_table([m[0], m[0]])


def _seeds_frame(labels_masked, prediction_masked, prediction_top3, random_top3):
    rows = []
    for target, masked, top3 in (("labels", labels_masked, [0.5] * len(labels_masked)),
                                 ("prediction", prediction_masked, prediction_top3)):
        for s, (mr, t3) in enumerate(zip(masked, top3)):
            rows.append({"target": target, "seed": s, "run_seed": s, "n_test": 113, "test_rmse": 0.9,
                         "test_masked_rmse": mr, "test_fidelity_rmse": 0.1, "train_masked_rmse": mr,
                         "n_top3": 366, "top3_accuracy": t3,
                         "random_top3_accuracy": random_top3[s] if target == "prediction" else 0.7,
                         "top3_fraction": 0.5, "random_top3_fraction": 0.4})
    return pd.DataFrame(rows, columns=SEED_COLUMNS)


def test_over_seeds_verdicts_count_the_seeds(tmp_path):
    """masked_rmse reads the labels-fitted seeds, top3 the prediction-fitted ones; the verdict
    counts the seeds that hold (threshold 0.881 and 83%) and decides from the Wilson interval of the
    holding rate (4 of 5 and 2 of 5 both straddle one half: unstable)."""
    seeds = _seeds_frame([0.85, 0.86, 0.95, 0.87, 0.80], [0.99, 0.99, 0.99, 0.99, 0.99],
                         [0.90, 0.70, 0.60, 0.85, 0.50], [0.72, 0.71, 0.70, 0.73, 0.74])
    top3 = pd.DataFrame({"method": ["explanation_mask", "random"], "n": [366, 366], "top3_accuracy": [0.9, 0.7],
                         "top3_fraction": [0.5, 0.4]})
    rows = reproduction_rows({"test_rmse": 0.86, "n_test": 113}, {"test_rmse": 1.1}, seeds, top3, "quick")
    write_reproduction_rows(rows, tmp_path / "r.csv")
    table = reproduction_table([tmp_path / "r.csv"], TARGETS).set_index("id")
    assert table.loc["masks.esol_smiles2vec.rmse", "verdict"] == "reproduced"
    assert tuple(table.loc["masks.esol_smiles2vec.masked_rmse", ["verdict", "seeds"]]) == ("unstable", "4/5")
    assert tuple(table.loc["masks.esol_smiles2vec.top3_accuracy", ["verdict", "seeds"]]) == ("unstable", "2/5")
    assert "median 0.990" in table.loc["masks.esol_smiles2vec.masked_rmse", "note"]  # prediction-fitted beside
    assert "random order" in table.loc["masks.esol_smiles2vec.top3_accuracy", "note"]
    assert "72.0%" in table.loc["masks.esol_smiles2vec.top3_accuracy", "note"]
    bad = seeds.assign(top3_accuracy=0.5)
    rows = reproduction_rows({"test_rmse": 0.86, "n_test": 113}, {"test_rmse": 1.1}, bad, top3, "quick")
    write_reproduction_rows(rows, tmp_path / "b.csv")
    again = reproduction_table([tmp_path / "b.csv"], TARGETS).set_index("id")
    assert tuple(again.loc["masks.esol_smiles2vec.top3_accuracy", ["verdict", "seeds"]]) == ("not reproduced", "0/5")
    with pytest.raises(ValueError, match="labels"):
        reproduction_rows({"test_rmse": 0.86, "n_test": 113}, {"test_rmse": 1.1}, seeds[seeds["target"] != "labels"],
                          top3, "quick")


def test_settings_and_the_explainer_of_the_configured_sections(small, trained):
    import copy

    from xairepro.config import load_config

    cfg = load_config("config.yaml", {"scale": "quick"})["smiles2vec"]
    tokens = example_inputs(5, cfg)
    assert tokens.shape == (5, cfg["data"]["max_len"] + 2 * cfg["data"]["pad_len"]) and tokens.dtype == torch.long
    model, net, _, _ = trained
    other = copy.deepcopy(model)
    # the layer, and the mask network's input, are those of the model passed (a randomised copy's own)
    for m in (model, other):
        got = settings(m, {}, mask_net=net, ctx=CTX)
        assert got["layer"] is m.embedding and got["mask_net"].model is m and got["baselines"] == 0.0
    assert settings(model, {}, mask_net=net, ctx=CTX)["mask_net"] is net
    assert settings(model, {}, ctx=CTX)["mask_net"] is None
    attribution, faith = (explainer(model, cfg[k], ctx=CTX, mask_net=net) for k in ("attribution", "faithfulness"))
    assert attribution.methods == cfg["attribution"]["methods"] and faith.methods == cfg["faithfulness"]["methods"]
    assert attribution.samples("bayesgrad") == faith.samples("bayesgrad") == 8       # quick mc_samples
    assert attribution.samples("random") == 1 and faith.samples("random") == 5       # one order; the top-level M
    assert attribution.options("integrated_gradients") == faith.options("integrated_gradients") == {"n_steps": 16}
    assert faith.reading("smoothgrad") == "square" and faith.reading("integrated_gradients") == "raw"
    assert faith.chunk == CTX.max_batch // 18                                         # n_steps + 2 path points
    # the faithfulness score: the departure from the all-padding prediction, for the model it wraps
    x = torch.as_tensor(small.tokens[:4])
    score = DepartureScore(model, small.tokens.shape[1], small.pad_id)
    with torch.no_grad():
        empty = model(torch.full((1, small.tokens.shape[1]), small.pad_id)).view(-1)[0]
        torch.testing.assert_close(score(x), (model(x) - empty).abs())


def test_faithfulness_model_seed_takes_the_next_test_molecules(small, trained):
    """Model seed r explains test molecules r * n .. (r + 1) * n - 1 of the split (here n = 1, r = 1) (the models share no
    molecule), its rows carry r as replicate, and a seed past the end of the split is an error naming it."""
    model, net, _, _ = trained
    spec = {"methods": ["input_x_gradient", "random"], "n_examples": 1, "steps": 4, "max_fraction": 1.0,
            "sanity_steps": None, "uncertainty": False, **FAITH}
    cfg = {"split": "random", "attribution": ATTR, "faithfulness": spec}
    inputs = {"model": model, "mask_net": net, "data": small, "model_name": "smiles2vec", "replicate": 1}
    pe = faithfulness_study(inputs, cfg, ctx=CTX).per_example
    test = list(small.splits["random"]["test"])
    assert sorted(set(pe["example"])) == [test[1]] and set(pe["replicate"]) == {1}
    with pytest.raises(ValueError, match="model seed 9"):
        faithfulness_study(dict(inputs, replicate=9), cfg, ctx=CTX)
