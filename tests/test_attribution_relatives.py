"""BayesGrad's relatives and expected gradients against references: captum's NoiseTunnel (vargrad,
smoothgrad_sq), captum's GradientShap (expected gradients), and expectations computed by hand on tiny
models (noisegrad, fusiongrad, bayes_vargrad). Small CPU models; a few seconds in all."""
import numpy as np
import pytest
import torch
from torch import nn

from xairepro.attribution import (BayesGrad, BayesVarGrad, ExpectedGradients, FusionGrad, NoiseGrad, SmoothGrad,
                                  MethodNotApplicable, SmoothGradSquared, VarGrad, create_method)
from xairepro.attribution.relatives import centred_squares

N = 4000   # samples of the Monte-Carlo comparisons


class Quad(nn.Module):
    """f(x) = sum_i a_i x_i^2 per example: the gradient 2 a x is linear in x, so noise expectations are closed."""

    def __init__(self, a):
        super().__init__()
        self.a = nn.Parameter(a.clone())

    def forward(self, x):
        return (self.a * x.pow(2)).sum(1)


class TwoLinear(nn.Module):
    """f(x) = v . (W x): the input gradient W^T v."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(3)
        self.W = nn.Linear(5, 3, bias=True)
        self.v = nn.Linear(3, 1, bias=False)

    def forward(self, x):
        return self.v(self.W(x)).squeeze(1)


def _a_x():
    torch.manual_seed(0)
    return torch.randn(6), torch.randn(3, 6)


# ----------------------------------------------------------------------------- SmoothGrad family
def test_vargrad_and_smoothgrad_sq_match_captum_noise_tunnel():
    """Quadratic score: g = 2a(x + eps), so Var g = 4 a^2 sigma^2 and E g^2 = 4 a^2 (x^2 + sigma^2);
    ours and captum's NoiseTunnel converge to both."""
    from captum.attr import NoiseTunnel, Saliency

    a, x = _a_x()
    model, sigma = Quad(a), 0.3
    var = VarGrad(model, stdevs=sigma).compute(x, M=N).attribution()
    sq = SmoothGradSquared(model, stdevs=sigma).compute(x, M=N).attribution()
    nt = NoiseTunnel(Saliency(model))
    torch.manual_seed(1)
    nt_var = nt.attribute(x, nt_type="vargrad", nt_samples=N, stdevs=sigma, abs=False)
    nt_sq = nt.attribute(x, nt_type="smoothgrad_sq", nt_samples=N, stdevs=sigma, abs=False)
    exp_var = (4 * a ** 2 * sigma ** 2).expand_as(x)
    exp_sq = 4 * a ** 2 * (x ** 2 + sigma ** 2)
    # relative standard error of a variance from N normal draws: sqrt(2 / N) ~ 2.2%
    for got in (var, nt_var.detach()):
        assert torch.allclose(got, exp_var, rtol=0.12, atol=1e-6), (got, exp_var)
    for got in (sq, nt_sq.detach()):
        assert torch.allclose(got, exp_sq, rtol=0.12, atol=0.05), (got, exp_sq)
    assert torch.allclose(var, nt_var, rtol=0.15, atol=1e-6)


def test_vargrad_smoothgrad_sq_and_bayes_vargrad_transform_their_parents_samples():
    """Same seed, same draws: vargrad's samples are the centred squares of SmoothGrad's (their mean the
    population variance, captum's definition), smoothgrad_sq's the squares, bayes_vargrad's the centred
    squares of BayesGrad's."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Dropout(0.3), nn.Linear(8, 2))
    x = torch.randn(5, 4)
    g = SmoothGrad(model, stdevs=0.2, target=1).compute(x, M=7, seed=3).samples
    v = VarGrad(model, stdevs=0.2, target=1).compute(x, M=7, seed=3)
    assert torch.allclose(v.samples, (g - g.mean(0)) ** 2)
    assert torch.allclose(v.attribution(), g.var(0, correction=0), atol=1e-7)
    assert torch.allclose(SmoothGradSquared(model, stdevs=0.2, target=1).compute(x, M=7, seed=3).samples, g ** 2)
    b = BayesGrad(model, target=1).compute(x, M=9, seed=4).samples
    bv = BayesVarGrad(model, target=1).compute(x, M=9, seed=4)
    assert torch.allclose(bv.attribution(), b.var(0, correction=0), atol=1e-7)
    assert bv.attribution().sum() > 0


def test_bayes_vargrad_of_dropout_linear_model_is_known():
    """f(x) = w . dropout_p(x): g_i = w_i m_i / (1 - p), m_i ~ Bernoulli(1 - p), so Var g_i = w_i^2 p / (1 - p)."""
    p, w = 0.3, torch.tensor([1.0, -2.0, 0.5, 3.0])
    model = nn.Sequential(nn.Dropout(p), nn.Linear(4, 1, bias=False))
    with torch.no_grad():
        model[1].weight.copy_(w)
    x = torch.ones(2, 4)
    got = BayesVarGrad(model, target=0).compute(x, M=N, seed=0).attribution()
    assert torch.allclose(got, (w ** 2 * p / (1 - p)).expand_as(x), rtol=0.1)
    assert BayesVarGrad.applicable(nn.Linear(4, 1), {}) is not None   # no dropout: nothing to sample


# ----------------------------------------------------------------------------- weight noise
def test_noisegrad_of_linear_model_has_the_known_mean_and_variance():
    """f = v . (W x + c): each sample's gradient is (W * E1)^T (v * e2) with factors ~ N(1, s^2) independent,
    so its mean is W^T v and, per input i, Var = sum_j [(1+s^2)^2 - 1] W_ji^2 v_j^2."""
    model = TwoLinear()
    s = 0.3
    W, v = model.W.weight.detach(), model.v.weight.detach()[0]
    x = torch.randn(2, 5)
    e = NoiseGrad(model, weight_stdevs=s).compute(x, M=N, seed=0)
    mean = (W * v[:, None]).sum(0)
    var = (((1 + s ** 2) ** 2 - 1) * W ** 2 * v[:, None] ** 2).sum(0)
    assert torch.allclose(e.attribution(), mean.expand_as(x), atol=5 * float(var.max().sqrt()) / np.sqrt(N))
    assert torch.allclose(e.spread() ** 2, var.expand_as(x), rtol=0.12)
    # the weights are restored exactly, and a seed reproduces the draws
    assert torch.equal(model.W.weight.detach(), W)
    assert torch.equal(NoiseGrad(model, weight_stdevs=s).compute(x, M=5, seed=1).samples,
                       NoiseGrad(model, weight_stdevs=s).compute(x, M=5, seed=1).samples)


def test_noisegrad_vectorised_pass_equals_one_pass_per_draw(monkeypatch):
    """The vmap pass and the in-place pass per draw see the same weight draws and give the same gradients."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(2, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(16, 3))
    x = torch.randn(3, 2, 6)
    fast = NoiseGrad(model, target=2, max_batch=7).compute(x, M=6, seed=2)
    monkeypatch.setattr(NoiseGrad, "_vectorises", lambda self, *a: False)
    slow = NoiseGrad(model, target=2).compute(x, M=6, seed=2)
    assert torch.allclose(fast.samples, slow.samples, atol=1e-5)
    assert torch.allclose(fast.output, slow.output, atol=1e-5)
    assert not torch.allclose(fast.samples[0], fast.samples[1])


def test_fusiongrad_of_quadratic_model_has_the_known_mean_and_variance():
    """f = sum a_i x_i^2 with a_i -> a_i e_i (e ~ N(1, s^2)) and x_i -> x_i + d_i (d ~ N(0, t^2)):
    g_i = 2 a_i e_i (x_i + d_i), mean 2 a x, variance 4 a^2 [(1 + s^2)(x^2 + t^2) - x^2]."""
    a, x = _a_x()
    s, t = 0.2, 0.3
    e = FusionGrad(Quad(a), weight_stdevs=s, stdevs=t).compute(x, M=N, seed=0)
    var = 4 * a ** 2 * ((1 + s ** 2) * (x ** 2 + t ** 2) - x ** 2)
    assert torch.allclose(e.attribution(), 2 * a * x, atol=5 * float(var.max().sqrt()) / np.sqrt(N))
    assert torch.allclose(e.spread() ** 2, var, rtol=0.12)
    # without weight noise it is SmoothGrad (the same input-noise stream)
    sg = SmoothGrad(Quad(a), stdevs=t).compute(x, M=20, seed=5).samples
    assert torch.allclose(FusionGrad(Quad(a), weight_stdevs=0.0, stdevs=t).compute(x, M=20, seed=5).samples, sg,
                          atol=1e-6)


def test_noisegrad_at_a_layer_runs_one_pass_per_draw_and_restores_the_weights():
    torch.manual_seed(0)
    emb = nn.Embedding(10, 4)
    model = nn.Sequential(emb, nn.Flatten(), nn.Linear(12, 1))
    before = [p.detach().clone() for p in model.parameters()]
    e = NoiseGrad(model, layer=emb, weight_stdevs=0.0).compute(torch.tensor([[1, 2, 3]]), M=3)
    w = model[2].weight.detach().view(3, 4)
    assert torch.allclose(e.samples, w.expand(3, 1, 3, 4))       # no noise: the plain gradient
    assert all(torch.equal(p, b) for p, b in zip(model.parameters(), before))


# ----------------------------------------------------------------------------- expected gradients
def test_expected_gradients_samples_are_ig_points_from_the_background():
    """Each sample is (x - b) * grad F(b + alpha (x - b)) for the recorded baseline and alpha."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    x, bg = torch.randn(3, 4), torch.randn(10, 4)
    e = ExpectedGradients(model, background=bg, target=1).compute(x, M=5, seed=0)
    idx, alpha = e.extras["baseline_index"], e.extras["alpha"]
    for k in range(5):
        b = bg[idx[k]]
        p = (b + alpha[k, :, None] * (x - b)).requires_grad_(True)
        (g,) = torch.autograd.grad(model(p)[:, 1].sum(), p)
        assert torch.allclose(e.samples[k], (x - b) * g, atol=1e-6)
    assert len(set(idx.flatten().tolist())) > 1 and alpha.std() > 0


def test_expected_gradients_matches_captum_gradient_shap():
    """Quadratic score: E_b,alpha[(x - b) 2a(b + alpha(x - b))] = a (x^2 - mean_b b^2); ours and captum's
    GradientShap (its expected-gradients estimator) both converge to it."""
    from captum.attr import GradientShap

    a, x = _a_x()
    torch.manual_seed(2)
    bg = torch.randn(8, 6)
    model = Quad(a)
    e = ExpectedGradients(model, background=bg).compute(x, M=N, seed=0)
    torch.manual_seed(0)
    ref = GradientShap(model).attribute(x, baselines=bg, n_samples=N, stdevs=0.0).detach()
    exact = a * (x ** 2 - (bg ** 2).mean(0))
    tol = 5 * e.spread() / np.sqrt(N) + 1e-4
    assert (e.attribution() - exact).abs().le(tol).all()
    assert (ref - exact).abs().le(tol).all()


def test_expected_gradients_needs_a_background_and_input_attribution():
    model = nn.Linear(3, 1)
    assert "background" in ExpectedGradients.applicable(model, {})
    with pytest.raises(MethodNotApplicable, match="background"):
        create_method("expected_gradients", model, {"background": None})
    assert "layer" in ExpectedGradients.applicable(model, {"layer": model, "background": torch.zeros(1, 3)})
    with pytest.raises(ValueError, match="shape"):
        ExpectedGradients(model, background=torch.zeros(2, 4), target=0).compute(torch.zeros(1, 3))
