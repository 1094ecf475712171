"""Integrated gradients, occlusion, Shapley sampling, counterfactuals, explanation masks.

Closed forms on linear models, completeness on small random networks of every
kind the project uses (MLP, CNN, GRU on embeddings, GNN on atom embeddings), and
agreement with captum where captum implements the same method.
"""
import pytest
import torch
from torch import nn

from xairepro.attribution import (IntegratedGradients, Occlusion, ShapleySampling, aggregate,
                                  path_rule, single_substitution_counterfactuals)

from torch_geometric.data import Batch

from conftest import CNN, GRUText, ToyGNN, graph_batch, mlp


def assert_complete(path, rel=0.01, floor=1e-4):
    delta = (path.score - path.baseline_score).abs()
    assert (path.abs_error <= rel * delta + floor).all(), path.completeness_report()


# ----------------------------------------------------------------------------- IG
def test_ig_of_linear_model_is_exact():
    torch.manual_seed(0)
    lin = nn.Linear(6, 1)
    x, xb = torch.randn(4, 6), torch.randn(6)
    for rule in ("riemann_right", "riemann_left", "riemann_middle", "trapezoid"):
        exp = IntegratedGradients(lin, baselines=xb, n_steps=5, method=rule).compute(x)
        s, res = exp.samples, exp.path
        assert s.shape == (1, 4, 6) and exp.method == "integrated_gradients" and exp.M == 1
        assert torch.allclose(s[0], lin.weight * (x - xb), atol=1e-6)
        assert res.abs_error.max() < 1e-5


def test_path_rules():
    a, w = path_rule("trapezoid", 5)
    assert torch.allclose(a, torch.linspace(0, 1, 5).double()) and abs(w.sum() - 1) < 1e-12
    a, w = path_rule("riemann_right", 4)
    assert a.tolist() == [0.25, 0.5, 0.75, 1.0] and abs(w.sum() - 1) < 1e-12
    a, w = path_rule("gausslegendre", 4)  # captum's default rule, accepted since issue 12
    assert abs(w.sum() - 1) < 1e-12 and (a > 0).all() and (a < 1).all()
    with pytest.raises(ValueError):
        path_rule("simpson", 4)


@pytest.mark.parametrize("rule", ["riemann_middle", "trapezoid"])
def test_ig_completeness_mlp_and_cnn(rule):
    x = torch.randn(5, 6)
    assert_complete(IntegratedGradients(mlp(), n_steps=64, method=rule).compute(x).path)
    model = CNN()
    model.body[1].running_var.fill_(0.5)
    img = torch.rand(4, 3, 8, 8)
    exp = IntegratedGradients(model, n_steps=64, method=rule, target=2, max_batch=50).compute(img)
    s, res = exp.samples, exp.path
    assert s.shape == (1, 4, 3, 8, 8)
    assert_complete(res)
    # interior gradients and path scores are kept for the saturation plots
    assert res.interior_grads.shape == (64, 4, 3, 8, 8)
    assert res.path_scores.shape == (64, 4)
    assert torch.allclose(res.attribution_sum, aggregate(s, "raw", channel_axis=(2, 3, 4)),
                          atol=1e-5)
    # the explained output is F(x), the end of the path
    assert torch.allclose(exp.output[0], res.score)


@pytest.mark.parametrize("rule", ["riemann_middle", "trapezoid"])
def test_ig_completeness_gru_and_gnn_at_embeddings(rule):
    model = GRUText()
    tokens = torch.randint(1, 30, (4, 11))
    exp = IntegratedGradients(model, layer=model.embedding, n_steps=64, method=rule,
                              target=1).compute(tokens)
    s, res = exp.samples, exp.path
    assert s.shape == (1, 4, 11, 8)
    assert_complete(res)
    gnn = ToyGNN()
    batch = graph_batch()
    exp = IntegratedGradients(gnn, layer=gnn.embedding, n_steps=64, method=rule,
                              max_batch=7).compute(batch)
    s, res = exp.samples, exp.path
    assert s.shape == (1, batch.num_nodes, 8)
    assert res.attribution_sum.shape == (4,)
    assert_complete(res)


def test_ig_matches_captum():
    from captum.attr import IntegratedGradients as CaptumIG
    from captum.attr import LayerIntegratedGradients

    model = CNN()
    img = torch.rand(3, 3, 8, 8)
    for ours_rule, theirs in [("riemann_right", "riemann_right"), ("riemann_left", "riemann_left"),
                              ("riemann_middle", "riemann_middle")]:
        ours = IntegratedGradients(model, n_steps=20, method=ours_rule, target=0,
                                   baselines=0.1).compute(img).samples[0]
        model.eval()
        ref = CaptumIG(model).attribute(img, baselines=0.1, target=0, n_steps=20, method=theirs)
        assert torch.allclose(ours, ref, atol=1e-5)
    # captum's "riemann_trapezoid" weights the points by 1/n instead of 1/(n-1)
    ours = IntegratedGradients(model, n_steps=20, method="trapezoid", target=0).compute(img).samples[0]
    ref = CaptumIG(model).attribute(img, target=0, n_steps=20, method="riemann_trapezoid")
    assert torch.allclose(ours * 19 / 20, ref, atol=1e-5)

    # layer=embedding == captum's layer IG (padding token 0 embeds to zero)
    text = GRUText()
    tokens = torch.randint(1, 30, (3, 7))
    ours = IntegratedGradients(text, layer=text.embedding, n_steps=16, method="riemann_middle",
                               target=1).compute(tokens).samples[0]
    ref = LayerIntegratedGradients(text, text.embedding).attribute(
        tokens, baselines=torch.zeros_like(tokens), target=1, n_steps=16, method="riemann_middle")
    assert torch.allclose(ours, ref, atol=1e-5)


# ----------------------------------------------------------------------------- occlusion
@pytest.mark.parametrize("window,strides", [((3, 2, 2), (3, 1, 2)), ((1, 3, 3), (1, 2, 2)),
                                            ((3, 1, 1), None)])
def test_occlusion_matches_captum(window, strides):
    """Ours is additive: each element gets the drop of every window covering it divided by that
    window's element count, averaged over those windows; captum averages the whole drops. So
    captum = ours x the window's size wherever every covering window is whole."""
    from captum.attr import Occlusion as CaptumOcclusion

    model = CNN()
    img = torch.rand(4, 3, 8, 8)
    exp = Occlusion(model, sliding_window_shapes=window, strides=strides, baselines=0.25, target=1,
                    max_batch=33).compute(img)
    model.eval()
    ref = CaptumOcclusion(model).attribute(img, sliding_window_shapes=window,
                                           strides=strides if strides else 1, baselines=0.25,
                                           target=1)
    ours = exp.samples
    assert ours.shape == (1, 4, 3, 8, 8) and exp.method == "occlusion"
    size = window[0] * window[1] * window[2]
    if window == (1, 3, 3):
        # windows start at 0, 2, 4, 6 on 8 pixels: the last one is cropped to 2 pixels, so rows and
        # columns 0-5 are covered by whole windows only, and pixel (7, 7) by the 1x2x2 corner alone
        assert torch.allclose(ours[0, ..., :6, :6] * size, ref[..., :6, :6], atol=1e-5)
        assert torch.allclose(ours[0, ..., 7, 7] * 4, ref[..., 7, 7], atol=1e-5)
    else:
        assert torch.allclose(ours[0] * size, ref, atol=1e-5)


def test_row_occlusion_on_graph_atoms_matches_a_loop():
    gnn = ToyGNN()
    batch = graph_batch()
    occ = Occlusion(gnn, layer=gnn.embedding, max_batch=5)
    full = occ.compute(batch)
    drops = full.extras["row_drops"]
    assert drops.shape == (batch.num_nodes,)
    # additive: the atom's drop is shared by its 8 channels, which sum to it
    assert full.samples.shape == (1, batch.num_nodes, 8)
    assert torch.allclose(full.samples[0, :, 3], drops / 8) and torch.allclose(full.samples[0].sum(-1), drops)
    # reference: zero one atom's embedding at a time, graph by graph
    ref = []
    with torch.no_grad():
        for g in batch.to_data_list():
            gb = Batch.from_data_list([g])
            clean = gnn(gb)
            for a in range(g.num_nodes):
                def zero_row(m, i, out, a=a):
                    out = out.clone()
                    out[a] = 0
                    return out
                h = gnn.embedding.register_forward_hook(zero_row)
                ref.append((clean - gnn(gb)).item())
                h.remove()
    assert torch.allclose(drops, torch.tensor(ref), atol=1e-6)


def test_row_occlusion_on_tokens():
    text = GRUText()
    tokens = torch.randint(1, 30, (2, 6))
    exp = Occlusion(text, layer=text.embedding, target=0).compute(tokens)
    drops = exp.extras["row_drops"]
    assert drops.shape == (2, 6)
    assert torch.allclose(exp.samples[0].sum(-1), drops, atol=1e-6)  # a token's channels sum to its drop
    with torch.no_grad():
        t = tokens.clone()
        t[1, 4] = 0  # padding token embeds to zero = the baseline
        expected = text(tokens)[1, 0] - text(t)[1, 0]
    assert torch.allclose(drops[1, 4], expected, atol=1e-6)


# ----------------------------------------------------------------------------- Shapley
def test_shapley_of_linear_model():
    torch.manual_seed(0)
    lin = nn.Linear(5, 1)
    x, bg = torch.randn(3, 5), torch.randn(400, 5) + 1.0
    expected = lin.weight * (x - bg.mean(0))
    perm = ShapleySampling(lin, estimator="permutation", baselines=bg.mean(0)).compute(x, M=4)
    assert torch.allclose(perm.attribution(), expected, atol=1e-5)
    chim = ShapleySampling(lin, background=bg, max_batch=512)
    samples = chim.compute(x, M=400, seed=1)
    assert samples.M == 400 and samples.method == "shapley_sampling"
    mean, std = samples.attribution(), samples.spread()
    # within 5 standard errors of the sampled background
    assert ((mean - expected).abs() <= 5 * std / 400 ** 0.5 + 1e-6).all()
    # efficiency: the values sum to f(x) - E f(z)
    total = mean.sum(1)
    assert torch.allclose(total, (lin(x) - lin(bg).mean()).squeeze(-1).detach(), atol=0.1)


def test_shapley_permutation_matches_captum_at_same_seed():
    from captum.attr import ShapleyValueSampling

    model = mlp(k=2)
    x = torch.randn(4, 6)
    fm = torch.tensor([[0, 0, 1, 2, 2, 3]])
    sv = ShapleySampling(model, estimator="permutation", baselines=0.2, feature_mask=fm,
                         target=1, max_batch=7)
    exp = sv.compute(x, M=9, seed=3)
    torch.manual_seed(3)
    ref = ShapleyValueSampling(model).attribute(x, baselines=0.2, target=1, feature_mask=fm,
                                                n_samples=9)
    # captum gives every element its group's whole value; ours is additive, the value divided by the
    # group's size (2, 1, 2, 1 elements)
    sizes = torch.tensor([2.0, 2, 1, 2, 2, 1])
    assert torch.allclose(exp.attribution() * sizes, ref, atol=1e-5)
    groups = exp.extras["group_values"]
    assert groups.shape == (4, 4)
    assert torch.allclose(groups, ref[:, [0, 2, 3, 5]], atol=1e-5)  # the group values are captum's


def test_chimera_on_one_hot_positions():
    """Players are positions of a one-hot sequence (the peptide example)."""
    L, A = 6, 4
    w = torch.zeros(L, A)
    w[2, 3] = 2.0  # only letter 3 at position 2 matters

    def model(x):
        return (x * w).sum((1, 2))

    gen = torch.Generator().manual_seed(0)
    bg = nn.functional.one_hot(torch.randint(0, A, (300, L), generator=gen), A).float()
    x = nn.functional.one_hot(torch.tensor([[0, 1, 3, 2, 0, 1]]), A).float()
    sv = ShapleySampling(model, background=bg, feature_mask=torch.arange(L).unsqueeze(1))
    exp = sv.compute(x, M=200)
    phi = exp.extras["group_values"][0]
    # additive: a position's A letters share its value
    assert torch.allclose(exp.attribution()[0].sum(-1), phi, atol=1e-6)
    p3 = (bg[:, 2, 3]).mean()
    assert abs(phi[2] - 2.0 * (1 - p3)) < 0.15
    assert phi[[0, 1, 3, 4, 5]].abs().max() < 1e-6


# ----------------------------------------------------------------------------- counterfactuals
def test_counterfactuals_find_planted_flips():
    alphabet = "ACDEFGHIKLMNPQRSTVWY"

    def predict(tokens):  # positive unless position 3 holds 'W' or position 5 holds 'P'
        return 1.0 - 3.0 * (tokens[:, 3] == alphabet.index("W")).float() \
            - 2.0 * (tokens[:, 5] == alphabet.index("P")).float()

    x = torch.tensor([alphabet.index(c) for c in "KLAKLAKK"])
    flips = single_substitution_counterfactuals(predict, x, alphabet)
    assert [(f.position, f.old, f.new) for f in flips] == [(3, "K", "W"), (5, "A", "P")]
    assert flips[0].class_before == 1 and flips[0].class_after == 0
    assert flips[0].score_after == pytest.approx(-2.0)

    onehot = nn.functional.one_hot(x, 20).float()
    onehot = torch.cat([onehot, torch.zeros(3, 20)])  # padding rows are never touched

    def predict_oh(b):
        return predict(b.argmax(-1)) - 10.0 * (b[:, 8:].sum((1, 2)) > 0).float()

    flips_oh = single_substitution_counterfactuals(predict_oh, onehot, list(alphabet))
    assert [(f.position, f.new) for f in flips_oh] == [(3, "W"), (5, "P")]


def test_counterfactuals_on_table_rows_and_regression():
    def predict(rows):
        return torch.stack([rows[:, 0] - rows[:, 1], rows[:, 1] - rows[:, 0]], 1)  # 2 classes

    row = torch.tensor([1.0, 0.0, 5.0])
    flips = single_substitution_counterfactuals(predict, row, {0: [0.0, -1.0, 2.0], 1: [3.0]})
    assert {(f.position, f.new) for f in flips} == {(0, -1.0), (1, 3.0)}
    assert flips[0].position == 1  # the larger change comes first
    reg = single_substitution_counterfactuals(lambda r: r @ torch.tensor([1.0, -2.0, 0.5]), row,
                                              [0.0, 1.0, 4.0], task="regression", top_k=2)
    assert [(r.position, r.new) for r in reg] == [(1, 4.0), (0, 4.0)]


# ----------------------------------------------------------------------------- masks
def test_explanation_mask_learns_the_only_relevant_feature_and_keeps_model_frozen():
    from xairepro.attribution.masks import ExplanationMaskNet
    from xairepro.training import train_mask_net

    torch.manual_seed(0)
    frozen = nn.Sequential(nn.Linear(5, 16), nn.BatchNorm1d(16), nn.Tanh(), nn.Dropout(0.5),
                           nn.Linear(16, 1))
    with torch.no_grad():
        frozen[0].weight[:, 1:] = 0  # only feature 0 matters
        frozen[1].running_mean.normal_()
    before = {k: v.clone() for k, v in frozen.state_dict().items()}

    class FeatureMask(ExplanationMaskNet):
        def __init__(self, model):
            super().__init__(model, sparsity=0.05, entropy=0.01)
            self.net = nn.Linear(5, 5)

        def mask_logits(self, x):
            return self.net(x)

    net = FeatureMask(frozen)
    x = torch.randn(512, 5) * 2
    loader = [(x[i:i + 128], torch.zeros(128)) for i in range(0, 512, 128)]
    hist = train_mask_net(net, loader, epochs=20, lr=0.05)
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]
    m = net.mask(x).mean(0)
    assert m[0] > 0.7 and m[0] > m[1:].max() + 0.4
    for k, v in frozen.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert not frozen.training and all(not p.requires_grad for p in frozen.parameters())


def test_explanation_mask_at_an_embedding_target():
    from xairepro.attribution.masks import ExplanationMaskNet

    text = GRUText()

    class TokenMask(ExplanationMaskNet):
        def __init__(self, model):
            super().__init__(model, layer=model.embedding, task_loss="ce")
            self.score = nn.Embedding(30, 1)

        def mask_logits(self, tokens):
            return self.score(tokens)  # (B, T, 1): one value per token, all channels

    net = TokenMask(text)
    tokens = torch.randint(1, 30, (3, 7))
    out, mask, _ = net(tokens)
    assert out.shape == (3, 2) and mask.shape == (3, 7, 1)
    loss, parts = net.loss(tokens)
    loss.backward()
    assert net.score.weight.grad is not None and text.embedding.weight.grad is None


# ----------------------------------------------------------------------------- models for part D
def test_resnet20_and_bigru_plug_into_the_engine():
    from xairepro.attribution import BayesGrad
    from xairepro.models.text import BiGRUClassifier
    from xairepro.models.vision import resnet20

    net = resnet20(dropout=0.2)
    assert 0.26e6 < sum(p.numel() for p in net.parameters()) < 0.28e6  # He et al.: 0.27 M
    s = BayesGrad(net, target=0).compute(torch.rand(2, 3, 32, 32), M=3).samples
    assert s.shape == (3, 2, 3, 32, 32)

    text = BiGRUClassifier(50, embed_dim=6, hidden=8, dropout=0.1, word_dropout=0.5)
    tokens = torch.randint(1, 50, (3, 20))
    s = BayesGrad(text, layer=text.embedding, target=1).compute(tokens, M=8).samples
    dropped = (s == 0).all(-1).float().mean()
    assert 0.3 < dropped < 0.7  # word dropout is sampled: whole words get zero gradient


def test_mask_net_can_train_against_labels():
    """The explanatory-masks paper asks the masked input to predict the truth: with target="labels"
    the task term is the loss against the batch's labels, not the frozen model's prediction."""
    from xairepro.attribution.masks import ExplanationMaskNet
    from xairepro.training import train_mask_net

    torch.manual_seed(0)
    frozen = nn.Linear(3, 1)
    with torch.no_grad():
        frozen.weight[:] = torch.tensor([[1.0, 1.0, 0.0]])
        frozen.bias.zero_()

    class FeatureMask(ExplanationMaskNet):
        def __init__(self, model):
            super().__init__(model, sparsity=0.0)
            self.logit = nn.Parameter(torch.zeros(3))

        def mask_logits(self, x):
            return self.logit.expand_as(x)

    x = torch.randn(256, 3)
    y = x[:, :1]  # the truth uses feature 0 only; the model also reads feature 1
    loader = [(x[i:i + 64], y[i:i + 64]) for i in range(0, 256, 64)]
    by_labels = FeatureMask(frozen)
    train_mask_net(by_labels, loader, epochs=60, lr=0.1, target="labels")
    by_model = FeatureMask(frozen)
    train_mask_net(by_model, loader, epochs=60, lr=0.1, target="model")
    m_labels, m_model = torch.sigmoid(by_labels.logit), torch.sigmoid(by_model.logit)
    assert m_labels[1] < 0.3 < 0.7 < m_labels[0]  # labels: feature 1 is masked out
    assert m_model[1] > 0.7  # the model's own prediction needs feature 1
    with pytest.raises(ValueError, match="needs \\(inputs, labels\\)"):
        train_mask_net(FeatureMask(frozen), [x[:64]], epochs=1, target="labels")
