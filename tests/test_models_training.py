import os

import numpy as np
import pytest
import torch
from torch import nn
from torch_geometric.data import Batch

from xairepro.data.featurize import featurize_smiles
from xairepro.models import MODELS, build_model, register_model
from xairepro.training import TrainConfig, fit, load_checkpoint, predict, save_checkpoint, seed_everything

SMILES = ["CCO", "CCCCO", "c1ccccc1", "Clc1ccccc1", "OCC(O)CO", "CCOC(=O)C", "Nc1ccccc1", "CCCCCCCC",
          "c1ccc2ccccc2c1", "OC(=O)c1ccccc1", "CC(C)O", "ClC(Cl)Cl"]


def dataset(task="regression"):
    rng = np.random.default_rng(0)
    y = rng.normal(size=len(SMILES)) * 2 - 3 if task == "regression" else (np.arange(len(SMILES)) % 3 == 0) * 1.0
    return featurize_smiles(SMILES, y).graphs


@pytest.mark.parametrize("name", ["nfp", "ggnn"])
def test_graph_models_shape_dropout_and_embedding(name):
    model = build_model(name, hidden_dim=8, n_layers=2, n_out=3, dropout=0.25)
    batch = Batch.from_data_list(dataset())
    out = model.eval()(batch)
    assert out.shape == (len(SMILES), 3)
    assert isinstance(model.embedding, nn.Embedding)
    assert any(isinstance(m, nn.Dropout) and m.p == 0.25 for m in model.modules())
    # a batch of one graph gives the same output as inside the bigger batch
    single = model(Batch.from_data_list(dataset()[2:3]))
    assert torch.allclose(single, out[2:3], atol=1e-5)


@pytest.mark.parametrize("name", ["nfp", "ggnn"])
def test_training_is_deterministic_and_learns(name):
    data = dataset()
    cfg = TrainConfig(task="regression", epochs=40, batch_size=4, lr=1e-2, seed=7)
    weights = []
    for _ in range(2):
        seed_everything(7)
        model = build_model(name, hidden_dim=8, n_layers=2, dropout=0.0)
        hist = fit(model, data, cfg=cfg, progress=lambda row: None)
        weights.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.equal(weights[0], weights[1])
    assert hist[-1]["train_loss"] < 0.5 * hist[0]["train_loss"]
    # predictions are in target units (output layer un-standardizes)
    y = np.array([g.y.item() for g in data])
    pred = predict(model, data)[:, 0]
    assert abs(pred.mean() - y.mean()) < 1.0


class FixedLogits(nn.Module):
    """Each graph's output is its own ``logit`` attribute (plus a weight the zero learning rate keeps
    at 0), so the training loss can be computed by hand."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))

    def forward(self, batch):
        return batch.logit.view(-1, 1) + self.w


def _fixed_graphs(y, logits):
    graphs = featurize_smiles(SMILES, np.asarray(y, dtype=float)).graphs
    for g, v in zip(graphs, logits):
        g.logit = torch.tensor([[float(v)]])
    return graphs


def _bce(logit, label):
    return float(np.log1p(np.exp(-logit)) if label == 1 else np.log1p(np.exp(logit)))


def test_binary_task_masks_missing_labels_and_balances():
    # masking: one batch of all twelve graphs; the NaN labels (stored as 0 with y_mask False) must
    # not count, so the loss is the mean BCE over the ten labelled graphs only
    y = np.array([1.0, 0.0, np.nan, 0.0, 0.0, 1.0, 0.0, 0.0, np.nan, 0.0, 0.0, 0.0])
    logits = np.linspace(-2.0, 3.0, len(SMILES))  # large logits on the NaN rows: BCE 3.3 as "label 0"
    logits[[2, 8]] = [4.0, 5.0]
    hist = fit(FixedLogits(), _fixed_graphs(y, logits), cfg=TrainConfig(task="binary", epochs=1, batch_size=12, lr=0.0),
               progress=lambda r: None)
    by_hand = np.mean([_bce(v, t) for v, t in zip(logits, y) if not np.isnan(t)])
    assert hist[0]["train_loss"] == pytest.approx(by_hand, rel=1e-5)
    # balancing: 2 positives among 12 molecules, every logit -2 (BCE softplus(2) = 2.13 for a positive,
    # softplus(-2) = 0.13 for a negative). Sampled so both classes are drawn equally often, the mean
    # loss over many draws is (2.13 + 0.13) / 2 = 1.13; unbalanced it would be (2 * 2.13 + 10 * 0.13) / 12 = 0.46
    y = (np.arange(len(SMILES)) % 6 == 0) * 1.0
    flat = np.full(len(SMILES), -2.0)
    cfg = TrainConfig(task="binary", epochs=30, batch_size=120, lr=0.0, class_balanced=True, seed=3)
    hist = fit(FixedLogits(), _fixed_graphs(y, flat) * 10, cfg=cfg, progress=lambda r: None)
    balanced = 0.5 * (_bce(-2.0, 1) + _bce(-2.0, 0))
    # 30 epochs of 120 draws: the positive share has sd 0.008, the mean loss sd 0.017
    assert np.mean([h["train_loss"] for h in hist]) == pytest.approx(balanced, abs=0.08)
    plain = fit(FixedLogits(), _fixed_graphs(y, flat), cfg=TrainConfig(task="binary", epochs=1, batch_size=12, lr=0.0),
                progress=lambda r: None)
    assert plain[0]["train_loss"] == pytest.approx((2 * _bce(-2.0, 1) + 10 * _bce(-2.0, 0)) / 12, rel=1e-5)


def test_checkpoint_roundtrip_rebuilds_the_same_model(tmp_path):
    model = build_model("nfp", hidden_dim=8, n_layers=2)
    fit(model, dataset(), cfg=TrainConfig(epochs=2), progress=lambda r: None)
    save_checkpoint(tmp_path / "m.pt", model, "nfp", {"hidden_dim": 8, "n_layers": 2}, TrainConfig(epochs=2))
    back, ckpt = load_checkpoint(tmp_path / "m.pt")
    assert ckpt["train_config"]["epochs"] == 2
    assert np.allclose(predict(model, dataset()), predict(back, dataset()))
    assert not list(tmp_path.glob(".*tmp"))  # atomic write leaves no temporary file


def test_register_a_custom_model():
    @register_model("tiny_test_model")
    def tiny(**kw):
        return nn.Linear(2, 1)

    try:
        assert isinstance(build_model("tiny_test_model"), nn.Linear)
        with pytest.raises(ValueError, match="already registered"):
            register_model("tiny_test_model")(tiny)
        with pytest.raises(KeyError, match="unknown model 'nope'"):
            build_model("nope")
    finally:
        MODELS.pop("tiny_test_model")


def test_explicit_cuda_without_gpu_is_a_clear_error():
    from xairepro.training import resolve_device

    assert resolve_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="config key 'device'"):
            resolve_device("cuda")


def test_model_vocabulary_matches_the_featurizer():
    from xairepro.data import featurize
    from xairepro.models import gnn

    assert (gnn.N_ATOM_TYPES, gnn.N_BOND_TYPES) == (featurize.N_ATOM_TYPES, featurize.N_BOND_TYPES)


# ----------------------------------------------------------------------------- one training entry
def test_derive_seed_is_the_one_formula_and_run_context_is_keyword_only():
    from xairepro.context import RunContext, derive_seed

    assert derive_seed(0, 3) == 3 and derive_seed(2, 7) == 2007 and derive_seed(1, 2, 3) == 1002003
    with pytest.raises(ValueError, match="outside"):
        derive_seed(0, 1000)
    ctx = RunContext(seed=4, device="cpu", max_batch=16)
    assert ctx.child(5).seed == 4005 and ctx.child(5).max_batch == 16
    with pytest.raises(TypeError):
        RunContext(4, "cpu")  # positional integers are refused
    assert RunContext.from_params({"seed": 1, "device": "cpu", "max_batch": 8, "ignored": 0}).max_batch == 8


def test_train_model_builds_from_spec_and_checkpoint_rebuilds_it(tmp_path):
    from xairepro.context import RunContext
    from xairepro.training import save_trained, train_model

    spec = {"arch": "ggnn", "hidden_dim": 8, "n_layers": 2, "dropout": 0.1}
    trained = train_model(spec, dataset(), None, train={"epochs": 2, "batch_size": 4}, task="regression",
                          ctx=RunContext(seed=3, device="cpu"))
    assert trained.arch == "ggnn" and trained.kwargs == {"hidden_dim": 8, "n_layers": 2, "dropout": 0.1, "n_out": 1}
    assert len(trained.history) == 2 and trained.config.seed == 3
    save_trained(tmp_path / "m.pt", trained)
    back, _ = load_checkpoint(tmp_path / "m.pt")
    assert np.allclose(predict(trained.model, dataset()), predict(back, dataset()))
    with pytest.raises(KeyError, match="unknown key.*epoch"):
        train_model(spec, dataset(), train={"epoch": 2}, task="regression", ctx=RunContext())


def test_interrupted_training_resumes_to_the_same_weights(tmp_path):
    """A checkpoint is written every epoch; a run that stops after 2 of 4 epochs and is started again
    continues from epoch 3 and ends with the weights of an uninterrupted 4-epoch run."""
    cfg = dict(task="regression", batch_size=4, lr=0.01, optimizer="sgd", nesterov=True, schedule="cosine", seed=1)

    class Killed(Exception):
        pass

    def stop_after_two(row):
        if row["epoch"] == 2:
            raise Killed

    def run(ckpt, progress=lambda r: None):
        seed_everything(0)
        model = build_model("nfp", hidden_dim=8, n_layers=2, dropout=0.25)
        history = fit(model, dataset(), cfg=TrainConfig(epochs=4, checkpoint=ckpt, **cfg), progress=progress)
        return model, history

    straight, _ = run(None)
    ckpt = str(tmp_path / "state.pt")
    with pytest.raises(Killed):
        run(ckpt, stop_after_two)  # killed after epoch 2: only its checkpoint survives
    resumed, history = run(ckpt)
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b)


def test_every_registered_model_rebuilds_from_its_saved_configuration(tmp_path):
    kwargs = {"ggnn": dict(hidden_dim=4, n_layers=1), "nfp": dict(hidden_dim=4, n_layers=1),
              "weave": dict(hidden_dim=4), "resnet20": {}, "bigru": dict(vocab_size=10, embed_dim=4, hidden=4)}
    for name in sorted(MODELS):
        kw = kwargs.get(name)
        if kw is None:
            continue  # models added by other experiments are tested there
        model = build_model(name, **kw)
        save_checkpoint(tmp_path / f"{name}.pt", model, name, kw)
        back, ckpt = load_checkpoint(tmp_path / f"{name}.pt")
        assert type(back) is type(model) and ckpt["model_name"] == name
        for a, b in zip(model.state_dict().values(), back.state_dict().values()):
            torch.testing.assert_close(a, b)


# --------------------------------------------------------------------------- GGNN / NFP as chainer-chemistry

def _mol(smiles="OC(=O)c1ccncc1C#N"):
    return featurize_smiles([smiles], np.zeros(1)).graphs[0]


class _FixedMask(nn.Module):
    """Stands in for nn.Dropout: multiplies by the next of a list of fixed masks (one per call)."""

    def __init__(self, masks):
        super().__init__()
        self.masks, self.calls = list(masks), 0

    def forward(self, x):
        m = self.masks[self.calls % len(self.masks)]
        self.calls += 1
        return x * m[: x.shape[0], : x.shape[1]] if m.dim() == 2 else x * m


def _dense_adjacency(g, n_types=4):
    n = g.num_nodes
    adj = torch.zeros(n_types, n, n)
    for (s, d), b in zip(g.edge_index.t().tolist(), g.edge_attr.view(-1).tolist()):
        adj[b, d, s] = 1.0
    return adj


def _chainer_gru(gru, x, h):
    """chainer.links.StatefulGRU, written out from its definition (h=None: freshly reset)."""
    H = gru.out_size
    wr, wz, w = (x @ gru.W.weight[i * H:(i + 1) * H].t() + gru.W.bias[i * H:(i + 1) * H] for i in range(3))
    if h is None:
        return torch.sigmoid(wz) * torch.tanh(w)
    ur = h @ gru.U_rz.weight[:H].t() + gru.U_rz.bias[:H]
    uz = h @ gru.U_rz.weight[H:].t() + gru.U_rz.bias[H:]
    r, z = torch.sigmoid(wr + ur), torch.sigmoid(wz + uz)
    h_bar = torch.tanh(w + (r * h) @ gru.U.weight.t() + gru.U.bias)
    return z * h_bar + (1 - z) * h


def _reference_ggnn(model, g, masks):
    """chainer-chemistry GGNN(Drop) + MLPDrop(n_layers=1) on one molecule, dense adjacency per bond type:
    h = dropout(h); m = sum_t A_t (h W_t); h = GRU(concat(h, m)) with the state reset per forward."""
    adj, H = _dense_adjacency(g), model.hidden_dim
    h0 = model.embedding.weight[g.x.view(-1)]
    h, state, k = h0, None, 0
    for step in range(model.n_layers):
        h = h * masks[k]; k += 1
        lin = model.message[0 if model.weight_tying else step]
        per_type = (h @ lin.weight.t() + lin.bias).view(-1, 4, H)
        m = sum(adj[t] @ per_type[:, t] for t in range(4))
        h = state = _chainer_gru(model.update, torch.cat([h, m], -1), state)
    gate = torch.sigmoid(torch.cat([h, h0], -1) @ model.readout_gate.weight.t() + model.readout_gate.bias)
    g_vec = (gate * (h @ model.readout_value.weight.t() + model.readout_value.bias)).sum(0)
    g_vec = g_vec * masks[k]
    return g_vec @ model.mlp[-1].weight.t() + model.mlp[-1].bias


@pytest.mark.parametrize("weight_tying", [True, False])
def test_ggnn_matches_chainer_chemistry_update_with_dropout_masks(weight_tying):
    torch.manual_seed(0)
    model = build_model("ggnn", hidden_dim=6, n_layers=3, dropout=0.25, weight_tying=weight_tying).eval()
    assert len(model.message) == (1 if weight_tying else 3)
    assert model.update.W.in_features == 12  # GRU input: [dropout(h), message]
    g = _mol()
    n = g.num_nodes
    masks = [(torch.rand(n, 6) > 0.25).float() / 0.75 for _ in range(3)] + [(torch.rand(6) > 0.25).float() / 0.75]
    fixed = _FixedMask(masks)
    model.dropout = fixed
    model.mlp[0] = fixed  # the head's dropout is the last mask
    out = model(Batch.from_data_list([g]))[0]
    torch.testing.assert_close(out, _reference_ggnn(model, g, masks), rtol=1e-5, atol=1e-6)
    # the GRU state is reset at every forward pass: the same input gives the same output
    torch.testing.assert_close(model(Batch.from_data_list([g]))[0], out)


def test_chainer_gru_first_step_has_no_state_and_reset_gate_acts_before_u():
    from xairepro.models.gnn import ChainerGRU

    torch.manual_seed(1)
    gru = ChainerGRU(5, 3)
    x, h = torch.randn(4, 5), torch.randn(4, 3)
    torch.testing.assert_close(gru(x), _chainer_gru(gru, x, None))
    torch.testing.assert_close(gru(x, h), _chainer_gru(gru, x, h))
    # no state is not the zero state of PyTorch's GRU: h' = s(W_z x) * tanh(W x)
    H = 3
    wz = x @ gru.W.weight[H:2 * H].t() + gru.W.bias[H:2 * H]
    w = x @ gru.W.weight[2 * H:].t() + gru.W.bias[2 * H:]
    torch.testing.assert_close(gru(x), torch.sigmoid(wz) * torch.tanh(w))


def test_ggnn_messages_depend_on_bond_type_and_old_variant_is_registered():
    torch.manual_seed(0)
    model = build_model("ggnn", hidden_dim=6, n_layers=2, dropout=0.0).eval()
    g = _mol("CC=C")
    single = model(Batch.from_data_list([g]))
    g2 = g.clone()
    g2.edge_attr = torch.zeros_like(g.edge_attr)  # every bond single
    assert not torch.allclose(single, model(Batch.from_data_list([g2])))
    old = build_model("ggnn_embedding_state", hidden_dim=6, n_layers=2, dropout=0.0)
    assert isinstance(old.update, nn.GRUCell) and old.update.input_size == 6  # message only; h0 is the state


def _reference_nfp(model, g, masks):
    """chainer-chemistry NFP(Drop) + MLPDrop(n_layers=1): adjacency with self-connections, degree =
    row sum - 1 selects the weight, every degree's bias added, softmax readout after each layer."""
    n = g.num_nodes
    adj = _dense_adjacency(g).sum(0).clamp(max=1) + torch.eye(n)
    deg = adj.sum(1).long() - 1
    h = model.embedding.weight[g.x.view(-1)]
    fp, k = 0, 0
    for weight, bias, readout in zip(model.degree_weight, model.degree_bias, model.fingerprint):
        h = h * masks[k]; k += 1
        fv = adj @ h
        out = torch.stack([fv[i] @ weight[deg[i]].t() if deg[i] <= model.max_degree else torch.zeros_like(fv[i])
                           for i in range(n)])
        h = torch.sigmoid(out + bias)
        fp = fp + torch.softmax(h @ readout.weight.t() + readout.bias, -1).sum(0)
    fp = fp * masks[k]
    return fp @ model.mlp[-1].weight.t() + model.mlp[-1].bias


def test_nfp_matches_chainer_chemistry_layer_by_layer():
    torch.manual_seed(0)
    model = build_model("nfp", hidden_dim=5, n_layers=3, dropout=0.25, max_degree=2).eval()
    assert len(model.fingerprint) == 3  # one readout per layer, none of the embedding
    g = _mol("CC(C)(C)c1ccncc1O")  # a quaternary carbon: 4 neighbours > max_degree, bias only
    n = g.num_nodes
    masks = [(torch.rand(n, 5) > 0.25).float() / 0.75 for _ in range(3)] + [(torch.rand(5) > 0.25).float() / 0.75]
    fixed = _FixedMask(masks)
    model.dropout = fixed
    model.mlp[0] = fixed
    out = model(Batch.from_data_list([g]))[0]
    torch.testing.assert_close(out, _reference_nfp(model, g, masks), rtol=1e-5, atol=1e-6)


def test_script_setup_switches_deterministic_algorithms_as_the_rule_says(tmp_path):
    from types import SimpleNamespace

    from xairepro.runtime import script_setup

    def job(flag, threads=1):
        return SimpleNamespace(log=[str(tmp_path / "job.log")], output=[], threads=threads, rule="demo",
                               params=SimpleNamespace(run={"seed": 0, "deterministic": flag}))

    before = torch.get_num_threads()
    try:
        script_setup(job(False, threads=2))
        assert torch.get_num_threads() == 2 and os.environ["OMP_NUM_THREADS"] == "2"  # the rule's threads
        script_setup(job(False))
        assert torch.get_num_threads() == 1
        assert not torch.are_deterministic_algorithms_enabled()
        assert torch.backends.cudnn.benchmark
        script_setup(job(True))
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    finally:
        from xairepro.context import set_deterministic

        set_deterministic(False)
        torch.backends.cudnn.benchmark = False
        torch.set_num_threads(before)


def test_run_context_reads_deterministic_and_resume_dir_from_params(tmp_path):
    from xairepro.context import RunContext

    ctx = RunContext.from_params({"seed": 3, "device": "cpu", "deterministic": False}, resume_dir=tmp_path)
    assert (ctx.seed, ctx.deterministic, ctx.resume_dir) == (3, False, str(tmp_path))
    assert ctx.child(2).resume_dir == str(tmp_path) and ctx.child(2).seed == 3002
