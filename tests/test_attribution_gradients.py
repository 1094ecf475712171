"""Gradient family of the attribution engine: closed forms, sampling, batching, captum.

Small CPU models only; the whole file runs in a few seconds.
"""
import numpy as np
import pytest
import torch
from torch import nn

from xairepro.attribution import (BayesGrad, BayesSmoothGrad, InputXGradient, SmoothGrad,
                                  VanillaGrad, aggregate, channel_reduce, mc_dropout, replicate)

from torch_geometric.data import Batch, Data
from torch_geometric.nn import global_add_pool

from conftest import MLP, Linear, ToyGNN, graph_batch, random_graph


# ----------------------------------------------------------------------------- closed forms
def test_vanilla_grad_of_linear_model_is_the_weights():
    model = Linear()
    x = torch.randn(4, 6)
    exp = VanillaGrad(model).compute(x)
    s = exp.samples
    assert s.shape == (1, 4, 6) and exp.M == 1
    assert torch.allclose(s[0], model.lin.weight.expand(4, 6), atol=1e-7)
    assert not s.requires_grad
    assert torch.allclose(exp.output[0], model(x)[:, 0].detach(), atol=1e-6)  # the explained score


def test_input_x_gradient_of_linear_model_with_baseline():
    model = Linear()
    x, xb = torch.randn(4, 6), torch.randn(6)
    s = InputXGradient(model, baselines=xb).compute(x).samples[0]
    assert torch.allclose(s, model.lin.weight * (x - xb), atol=1e-6)
    # the sum is the exact score difference for a linear model
    assert torch.allclose(s.sum(1), (model(x) - model(xb[None])).squeeze(-1), atol=1e-5)
    s0 = VanillaGrad(model, multiply_by_inputs=True, baselines=0.5).compute(x).samples[0]
    assert torch.allclose(s0, model.lin.weight * (x - 0.5), atol=1e-6)


def test_channel_reduce_norms():
    g = torch.tensor([[3.0, -4.0]])
    assert channel_reduce(g, "l1").item() == 7.0
    assert channel_reduce(g, "l2").item() == 5.0
    assert channel_reduce(g, "square").item() == 25.0


# ----------------------------------------------------------------------------- aggregate
def test_aggregate_semantics_hand_made():
    s = torch.tensor([[[1.0, -2.0], [3.0, 0.0]],
                      [[-1.0, 2.0], [1.0, 4.0]]])  # (M=2, bs=2, ch=2)
    assert torch.equal(aggregate(s, "raw", channel_axis=-1), torch.tensor([0.0, 4.0]))
    assert torch.equal(aggregate(s, "abs", channel_axis=-1), torch.tensor([3.0, 4.0]))
    assert torch.equal(aggregate(s, "square", channel_axis=-1), torch.tensor([5.0, 13.0]))
    # the default channel axis is None: nothing is summed
    assert torch.equal(aggregate(s, "raw"), torch.tensor([[0.0, 0.0], [2.0, 2.0]]))
    assert torch.equal(aggregate(s, "abs", channel_axis=2), aggregate(s, "abs", channel_axis=-1))
    with pytest.raises(ValueError, match="batch axis"):  # never sums over examples
        aggregate(s, "raw", channel_axis=(1, 2))
    mean, std = aggregate(s, "raw", channel_axis=-1, return_std=True)
    assert torch.allclose(std, torch.full((2,), float(np.sqrt(2.0))))
    m_np, sd_np = aggregate(s.numpy(), "square", channel_axis=-1, return_std=True)
    assert isinstance(m_np, np.ndarray) and np.allclose(m_np, [5.0, 13.0])
    with pytest.raises(ValueError):
        aggregate(s, channel_axis=0)
    _, sd1 = aggregate(s[:1], channel_axis=-1, return_std=True)
    assert torch.equal(sd1, torch.zeros(2))


# ----------------------------------------------------------------------------- MC dropout
def test_bayesgrad_without_dropout_equals_vanilla():
    model = MLP(p=0.0)
    model.net[1].running_mean.normal_()
    x = torch.randn(5, 6)
    v = VanillaGrad(model).compute(x).samples
    b = BayesGrad(model).compute(x, M=4).samples
    assert b.shape == (4, 5, 6)
    assert torch.allclose(b, v.expand_as(b), atol=1e-6)


@pytest.mark.parametrize("start_mode", ["train", "eval"])
def test_bayesgrad_samples_differ_and_batch_norm_is_frozen(start_mode):
    model = MLP(p=0.5)
    getattr(model, start_mode)()
    bn = model.net[1]
    mean0, var0, n0 = bn.running_mean.clone(), bn.running_var.clone(), bn.num_batches_tracked.clone()
    flags0 = [m.training for m in model.modules()]
    x = torch.randn(5, 6)
    exp = BayesGrad(model).compute(x, M=16)
    s = exp.samples
    assert s.shape == (16, 5, 6) and exp.method == "bayesgrad"
    # the copies of one example get different masks, the examples too
    assert (s[0] - s[1]).abs().max() > 1e-4
    assert torch.equal(bn.running_mean, mean0) and torch.equal(bn.running_var, var0)
    assert torch.equal(bn.num_batches_tracked, n0)
    assert [m.training for m in model.modules()] == flags0
    # the (M, batch) MC predictions are the explained output, and they vary with the masks
    assert exp.output.shape == (16, 5) and (exp.output.std(0) > 0).all()
    assert (exp.spread(channel_axis=-1) > 0).all()


def test_mc_dropout_context_sets_and_restores_modes():
    model = MLP(p=0.3).train()
    with mc_dropout(model):
        assert not model.net[1].training
        assert model.net[3].training and model.net[6].training
        assert not model.training
    assert all(m.training for m in model.modules())


def test_rng_is_forked_and_seeds_reproduce():
    model = MLP(p=0.5)
    x = torch.randn(3, 6)
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    a = BayesGrad(model).compute(x, M=8, seed=1).samples
    assert torch.equal(torch.rand(1), expected_next)  # global RNG untouched
    b = BayesGrad(model).compute(x, M=8, seed=1).samples
    c = BayesGrad(model).compute(x, M=8, seed=2).samples
    assert torch.equal(a, b) and not torch.allclose(a, c)
    sg = SmoothGrad(MLP(p=0.0), stdevs=0.3)
    assert torch.equal(sg.compute(x, M=8, seed=5).samples, sg.compute(x, M=8, seed=5).samples)
    assert not torch.allclose(sg.compute(x, M=8, seed=5).samples, sg.compute(x, M=8, seed=6).samples)
    bs = BayesSmoothGrad(model, stdevs=0.3)
    assert torch.equal(bs.compute(x, M=8, seed=5).samples, bs.compute(x, M=8, seed=5).samples)


# ----------------------------------------------------------------------------- SmoothGrad
@pytest.mark.parametrize("mode", ["absolute", "relative"])
def test_smoothgrad_with_tiny_noise_equals_vanilla(mode):
    model = MLP(p=0.0)
    x = torch.randn(5, 6)
    v = VanillaGrad(model).compute(x).samples
    s = SmoothGrad(model, stdevs=1e-8, noise_mode=mode).compute(x, M=5).samples
    assert torch.allclose(s, v.expand_as(s), atol=1e-6)


class HalfSquare(nn.Module):
    """f(x) = sum x^2 / 2, so grad f(x + eps) = x + eps reveals the noise."""

    def forward(self, x):
        return 0.5 * x.pow(2).flatten(1).sum(1)


def test_relative_noise_scales_with_each_example_range():
    x = torch.stack([torch.linspace(0, 1, 10), torch.linspace(-5, 5, 10)])  # ranges 1 and 10
    s = SmoothGrad(HalfSquare(), stdevs=0.2, noise_mode="relative").compute(x, M=4000, seed=0).samples
    sd = (s - x).std(dim=(0, 2))
    assert torch.allclose(sd, torch.tensor([0.2, 2.0]), rtol=0.05)
    s_abs = SmoothGrad(HalfSquare(), stdevs=0.2).compute(x, M=4000, seed=0).samples
    assert torch.allclose((s_abs - x).std(dim=(0, 2)), torch.tensor([0.2, 0.2]), rtol=0.05)


def test_relative_noise_on_graph_uses_the_range_of_each_graph():
    class Emb(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(5, 3)
            with torch.no_grad():
                self.embedding.weight.copy_(torch.arange(15.0).view(5, 3))

        def forward(self, batch):
            h = self.embedding(batch.x)
            return global_add_pool(0.5 * h.pow(2).sum(1, keepdim=True), batch.batch).squeeze(-1)

    g1 = Data(x=torch.tensor([0, 0]), edge_index=torch.zeros(2, 0, dtype=torch.long))  # range 2
    g2 = Data(x=torch.tensor([0, 4]), edge_index=torch.zeros(2, 0, dtype=torch.long))  # range 14
    batch = Batch.from_data_list([g1, g2])
    model = Emb()
    s = SmoothGrad(model, layer=model.embedding, stdevs=0.1, noise_mode="relative").compute(
        batch, M=3000).samples
    h = model.embedding(batch.x).detach()
    sd = (s - h).std(dim=(0, 2))
    assert torch.allclose(sd, torch.tensor([0.2, 0.2, 1.4, 1.4]), rtol=0.06)


def test_smoothgrad_expectation_matches_captum_noise_tunnel():
    """With a quadratic score both estimators converge to the same mean gradient."""
    from captum.attr import NoiseTunnel, Saliency

    torch.manual_seed(0)
    a = torch.randn(6)

    class Quad(nn.Module):
        def forward(self, x):
            return (a * x.pow(2)).sum(1) + torch.sin(x).sum(1) * 0.0

    model = Quad()
    x = torch.randn(3, 6)
    ours = aggregate(SmoothGrad(model, stdevs=0.1).compute(x, M=4000), "raw")
    nt = NoiseTunnel(Saliency(model)).attribute(x, nt_type="smoothgrad", nt_samples=4000,
                                                stdevs=0.1, abs=False)
    # E[2a(x+eps)] = 2ax; std of each mean is 2|a| 0.1 / sqrt(4000)
    tol = 5 * 2 * a.abs().max() * 0.1 / np.sqrt(4000)
    assert torch.allclose(ours, 2 * a * x, atol=tol)
    assert torch.allclose(nt, 2 * a * x, atol=tol)
    nt0 = NoiseTunnel(Saliency(model)).attribute(x, nt_type="smoothgrad", nt_samples=3,
                                                 stdevs=0.0, abs=False)
    ours0 = SmoothGrad(model, stdevs=0.0).compute(x, M=3).attribution()
    assert torch.allclose(ours0, nt0, atol=1e-5)


def test_vanilla_matches_captum_saliency():
    from captum.attr import Saliency

    model = MLP(k=3, p=0.2).train()
    x = torch.randn(7, 6)
    tc = torch.tensor([0, 1, 2, 0, 1, 2, 0])
    ours = VanillaGrad(model, target=tc).compute(x).samples[0]
    model.eval()
    theirs = Saliency(model).attribute(x, target=tc, abs=False)
    assert torch.allclose(ours, theirs, atol=1e-5)


# ----------------------------------------------------------------------------- outputs, tuples
def test_multi_output_needs_a_target():
    model = MLP(k=3)
    x = torch.randn(4, 6)
    with pytest.raises(ValueError, match="pass the output index as target="):
        VanillaGrad(model).compute(x)
    a = VanillaGrad(model, target=2).compute(x).samples
    b = VanillaGrad(model, output_fn=lambda out: out[:, 2]).compute(x).samples
    assert torch.equal(a, b)
    tc = torch.tensor([2, 2, 2, 2])
    c = BayesGrad(model, target=tc, max_batch=4).compute(x, M=3).samples  # tiled over chunks
    assert torch.allclose(c, a.expand_as(c), atol=1e-6)
    with pytest.raises(ValueError, match="3 output indices for a batch of 4"):
        VanillaGrad(model, target=[2, 2, 2]).compute(x)


def test_tuple_inputs_and_input_side_hook():
    class TwoArg(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 1)

        def forward(self, x, scale):
            return self.lin(x * scale).squeeze(-1)

    model = TwoArg()
    x, scale = torch.randn(3, 4), torch.rand(3, 1) + 0.5
    # a tuple in, a tuple out: every floating-point input is attributed (issue 12)
    s, s_scale = VanillaGrad(model).compute((x, scale)).samples
    assert torch.allclose(s[0], model.lin.weight * scale, atol=1e-6)
    assert torch.allclose(s_scale[0], (model.lin.weight * x).sum(1, keepdim=True), atol=1e-6)
    # gradient at the linear layer's input is the weight
    s_in = VanillaGrad(model, layer=model.lin, layer_io="input").compute((x, scale)).samples[0]
    assert torch.allclose(s_in, model.lin.weight.expand(3, 4), atol=1e-6)


def test_integer_input_without_target_is_a_clear_error():
    model = ToyGNN()
    with pytest.raises(TypeError, match="embedding"):
        VanillaGrad(model).compute(graph_batch())


# ----------------------------------------------------------------------------- batching
def test_max_batch_chunking_does_not_change_results():
    model = MLP(p=0.0)
    x = torch.randn(10, 6)
    ref = BayesGrad(model, max_batch=4096).compute(x, M=7).samples
    for mb in (1, 3, 10, 25):
        assert torch.allclose(BayesGrad(model, max_batch=mb).compute(x, M=7).samples, ref, atol=1e-6)


def _assert_same_graph_batch(a, b):
    assert a.num_graphs == b.num_graphs
    for key in ("x", "edge_index", "edge_attr", "y", "batch", "ptr"):
        assert torch.equal(a[key], b[key]), key
    assert a.smiles == b.smiles


def test_replicate_graph_batch_matches_from_data_list():
    batch = graph_batch()
    for k in (1, 3):
        fast = replicate(batch, k)
        slow = Batch.from_data_list(batch.to_data_list() * k)
        _assert_same_graph_batch(fast, slow)
        # bookkeeping survives: the copies split back into the original graphs
        back = fast.to_data_list()
        assert len(back) == 4 * k
        assert torch.equal(back[-1].edge_index, batch.to_data_list()[-1].edge_index)
    x = torch.randn(2, 3)
    assert torch.equal(replicate(x, 2), torch.cat([x, x]))


def test_graph_batched_gradients_equal_a_per_graph_per_sample_loop():
    model = ToyGNN(p=0.0)
    batch = graph_batch()
    got = BayesGrad(model, layer=model.embedding, max_batch=6).compute(batch, M=3).samples
    assert got.shape == (3, batch.num_nodes, 8)
    model.eval()
    rows = []
    for m in range(3):
        per_graph = []
        for g in batch.to_data_list():
            gb = Batch.from_data_list([g])
            h = model.embedding(gb.x).detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(model.from_embedding(h, gb).sum(), h)
            per_graph.append(grad)
        rows.append(torch.cat(per_graph))
    assert torch.allclose(got, torch.stack(rows), atol=1e-6)


def test_hooked_embedding_matches_manual_autograd_and_bayesgrad_shapes():
    model = ToyGNN(p=0.3)
    batch = graph_batch(seed=3)
    v = VanillaGrad(model, layer=model.embedding).compute(batch).samples
    model.eval()
    h = model.embedding(batch.x).detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(model.from_embedding(h, batch).sum(), h)
    assert torch.allclose(v[0], grad, atol=1e-6)
    ixg = InputXGradient(model, layer=model.embedding).compute(batch).samples[0]
    assert torch.allclose(ixg, h.detach() * grad, atol=1e-6)

    exp = BayesGrad(model, layer=model.embedding, max_batch=9).compute(batch, M=10)
    s = exp.samples
    assert s.shape == (10, batch.num_nodes, 8)
    assert (s[0] - s[1]).abs().max() > 1e-5
    mean, std = aggregate(exp, "raw", channel_axis=-1, return_std=True)
    assert mean.shape == std.shape == (batch.num_nodes,)
    assert (std > 0).any()
    # atoms are rows of the batch: the explanation knows each atom's molecule
    assert torch.equal(exp.example_index, batch.batch) and exp.n_examples == batch.num_graphs


def test_input_batch_larger_than_max_batch_is_split():
    model = ToyGNN(p=0.0)
    batch = graph_batch(sizes=(3, 4, 5, 6, 7), seed=1)
    ref = VanillaGrad(model, layer=model.embedding).compute(batch).samples
    small = BayesGrad(model, layer=model.embedding, max_batch=2).compute(batch, M=2).samples
    assert torch.allclose(small, ref.expand_as(small), atol=1e-6)
    assert model.embedding.weight.grad is None  # the model's parameters are never touched


def test_recurrent_model_on_token_embeddings():
    class GRUClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.embedding = nn.Embedding(20, 5)
            self.gru = nn.GRU(5, 7, batch_first=True, bidirectional=True)
            self.drop = nn.Dropout(0.3)
            self.fc = nn.Linear(14, 2)

        def forward(self, tokens):
            out, _ = self.gru(self.embedding(tokens))
            return self.fc(self.drop(out.mean(1)))

    model = GRUClassifier()
    tokens = torch.randint(0, 20, (4, 9))
    s = BayesGrad(model, layer=model.embedding, target=1, max_batch=8).compute(tokens, M=6).samples
    assert s.shape == (6, 4, 9, 5)
    v = VanillaGrad(model, layer=model.embedding, target=1).compute(tokens).samples
    assert v.shape == (1, 4, 9, 5)
    # reference: the gradient of logit 1 with respect to the embedded tokens, dropout off, by plain
    # autograd and by captum's layer gradient (multiply_by_inputs=False: the gradient alone)
    from captum.attr import LayerGradientXActivation

    model.eval()
    emb = model.embedding(tokens).detach().requires_grad_(True)
    out, _ = model.gru(emb)
    (grad,) = torch.autograd.grad(model.fc(out.mean(1))[:, 1].sum(), emb)
    assert torch.allclose(v[0], grad, atol=1e-6) and grad.abs().min() > 0
    ref = LayerGradientXActivation(model, model.embedding, multiply_by_inputs=False).attribute(tokens, target=1)
    assert torch.allclose(v[0], ref, atol=1e-6)
    # BayesGrad keeps dropout on: its samples differ from each other and from the plain gradient,
    # and with the dropout rate at 0 every sample is the plain gradient
    model.train()
    assert (s[0] - s[1]).abs().max() > 1e-4 and (s - v).abs().max() > 1e-4
    model.drop.p = 0.0
    with pytest.warns(UserWarning, match="identical"):
        s0 = BayesGrad(model, layer=model.embedding, target=1, max_batch=8).compute(tokens, M=3).samples
    assert torch.allclose(s0, grad.expand_as(s0), atol=1e-6)


def test_custom_dropout_modules_opt_in_to_mc_dropout():
    class WordDrop(nn.Module):
        is_dropout = True

    model = nn.Sequential(nn.Linear(2, 2), WordDrop(), nn.Dropout2d(0.1), nn.AlphaDropout(0.1))
    with mc_dropout(model):
        assert [m.training for m in model] == [False, True, True, True]
    assert [m.training for m in model] == [True] * 4  # restored


def test_project_ggnn_batched_equals_per_graph_loop():
    from xairepro.models import gnn
    torch.manual_seed(0)
    model = gnn.GGNN(n_atom_types=10, hidden_dim=8, n_layers=3, n_out=1, dropout=0.0)
    gen = torch.Generator().manual_seed(2)
    graphs = [random_graph(n, n_types=10, gen=gen) for n in (4, 9, 6)]
    batch = Batch.from_data_list(graphs)
    got = BayesGrad(model, layer=model.embedding, max_batch=4).compute(batch, M=3).samples
    ref = torch.cat([VanillaGrad(model, layer=model.embedding).compute(Batch.from_data_list([g])).samples[0]
                     for g in graphs])
    assert torch.allclose(got, ref.expand_as(got), atol=1e-6)
