"""The attribution API as a captum user meets it (issues 12 and 18).

Expected numbers come from captum's own test suite (tests/attr/ of pytorch/captum): the
same small hand-weighted networks, rebuilt here, and the literal values its tests assert.
Occlusion and Shapley attributions are additive in this project (issue 18): every element of a
window or group that is removed together gets the score change divided by the number of elements
removed, so the elements of a unit sum to its drop; captum gives every element the whole change.
Where captum's literal values are compared, they are divided by that count (``captum = ours x
count``). Also: tuple inputs for every method, the integration rules and the default rule,
per-example feature masks, ``aggregate`` and the batch axis, the Shapley estimator without
background, ``M`` for deterministic methods, and the ``layer=``/``target=`` names (the old
keywords are gone: a TypeError).
"""
import sys
import warnings
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from xairepro.attribution import (BayesGrad, ExplanationMaskNet, InputXGradient, IntegratedGradients,
                                  Occlusion, ShapleySampling, SmoothGrad, VanillaGrad, aggregate, path_rule)
from xairepro.attribution.integrated import DEFAULT_RULE

from conftest import MLP, GRUText


# ----------------------------------------------------------------------------- captum's toy nets
class ClampAtOne(nn.Module):
    """f(x) = 1 - relu(1 - x): the identity below 1, flat above (captum's BasicModel)."""

    def forward(self, x):
        return 1 - F.relu(1 - x)


class PaperExampleOne(nn.Module):
    """f(x1, x2) = relu(relu(x1) - 1 - relu(x2)), the first example of the IG paper."""

    def forward(self, x1, x2):
        return F.relu(F.relu(x1) - 1 - F.relu(x2))


class PaperExampleTwo(nn.Module):
    """f(x1, x2) = relu(relu(x1 - 1) - relu(x2)), the IG paper's second example."""

    def forward(self, x1, x2):
        return F.relu(F.relu(x1 - 1) - F.relu(x2))


class ThreeLayer(nn.Module):
    """Identity -> all-ones (4x3, bias -10, 1, 1, 1) -> relu -> all-ones (2x4, bias -1, 1)."""

    def __init__(self):
        super().__init__()
        self.lin0 = nn.Linear(3, 3)
        self.lin1 = nn.Linear(3, 4)
        self.lin2 = nn.Linear(4, 2)
        with torch.no_grad():
            self.lin0.weight.copy_(torch.eye(3))
            self.lin0.bias.zero_()
            self.lin1.weight.fill_(1.0)
            self.lin1.bias.copy_(torch.tensor([-10.0, 1.0, 1.0, 1.0]))
            self.lin2.weight.fill_(1.0)
            self.lin2.bias.copy_(torch.tensor([-1.0, 1.0]))

    def forward(self, x):
        return self.lin2(F.relu(self.lin1(self.lin0(x))))


class ThreeInputs(nn.Module):
    """ThreeLayer applied to scale * (x1 + x2 + x3); ``scale`` is a plain number."""

    def __init__(self):
        super().__init__()
        self.net = ThreeLayer()

    def forward(self, x1, x2, x3, scale):
        return self.net(scale * (x1 + x2 + x3))


class OneConv(nn.Module):
    """conv 3x3 of ones (biases -50, -75) -> relu -> 8 -> linear (+1 x5, -1 x3) -> relu."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.fc = nn.Linear(8, 4)
        with torch.no_grad():
            self.conv.weight.fill_(1.0)
            self.conv.bias.copy_(torch.tensor([-50.0, -75.0]))
            self.fc.weight.copy_(torch.cat([torch.ones(4, 5), -torch.ones(4, 3)], 1))
            self.fc.bias.zero_()

    def forward(self, x, x2=None):
        if x2 is not None:
            x = x + x2
        return F.relu(self.fc(F.relu(self.conv(x)).view(-1, 8)))


def close(ours, expected, atol=1e-4):
    return torch.allclose(ours, torch.as_tensor(expected, dtype=ours.dtype), atol=atol)


def additive(captum_values, group_size):
    """captum's per-element values as this project's additive ones: each element holds its
    window's or group's value divided by the number of elements removed together."""
    return torch.as_tensor(captum_values, dtype=torch.float) / torch.as_tensor(group_size, dtype=torch.float)


def group_sizes_per_element(masks, n):
    """For tuple inputs with shared group ids (captum's convention), the size of each element's
    group, counted over every input, per example: one tensor (n, features_i) per input."""
    flat = [m.expand(n, -1) if m.shape[0] == 1 else m for m in masks]
    ids = torch.cat(flat, 1)
    sizes = torch.stack([torch.bincount(row, minlength=int(ids.max()) + 1) for row in ids])
    return [sizes.gather(1, m) for m in flat]


# ----------------------------------------------------------------------------- captum's values
def test_saliency_and_input_x_gradient_literal_values():
    """captum's basic config: gradients of 1 - relu(1 - x) at six scalars."""
    x = torch.tensor([1.0, 2.0, 3.0, 0.0, -1.0, 7.0])
    g = VanillaGrad(ClampAtOne()).compute(x)
    assert g.samples.shape == (1, 6) and g.M == 1 and g.method == "vanilla_grad"
    assert close(g.samples[0], [0.0, 0.0, 0.0, 1.0, 1.0, 0.0])
    ixg = InputXGradient(ClampAtOne()).compute(x)
    assert close(ixg.samples[0], [0.0, 0.0, 0.0, 0.0, -1.0, 0.0]) and ixg.method == "input_x_gradient"
    # six inputs give six numbers (aggregate never sums over the batch)
    assert aggregate(g).shape == (6,) and torch.equal(aggregate(g), g.attribution())
    # the explained output is the model's output at the inputs
    assert close(g.output[0], ClampAtOne()(x))


@pytest.mark.parametrize("model", [PaperExampleOne(), PaperExampleTwo()])
@pytest.mark.parametrize("rule", ["gausslegendre", "riemann_middle", "riemann_left",
                                  "riemann_right", "trapezoid"])
def test_ig_on_two_inputs_follows_the_joint_path(model, rule):
    """IG paper / captum: at x1 = 3, x2 = 1 from (0, 0) the attributions are 1.5 and -0.5."""
    x1, x2 = torch.tensor([3.0]), torch.tensor([1.0])
    a1, a2 = IntegratedGradients(model, n_steps=500, method=rule).compute((x1, x2)).samples
    assert a1.shape == (1, 1) and a2.shape == (1, 1)
    assert abs(a1.item() - 1.5) < 0.05 and abs(a2.item() + 0.5) < 0.05
    # without the input factor: mean path gradients 0.5 and -0.5
    g1, g2 = IntegratedGradients(model, n_steps=500, method=rule,
                                 multiply_by_inputs=False).compute((x1, x2)).samples
    assert abs(g1.item() - 0.5) < 0.05 and abs(g2.item() + 0.5) < 0.05


def test_ig_tuple_baselines_scalar_tensor_callable_and_completeness():
    x1, x2 = torch.tensor([3.0, 2.5]), torch.tensor([1.0, 0.2])
    model = PaperExampleOne()
    exp = IntegratedGradients(model, n_steps=200).compute((x1, x2))
    ref, res = exp.samples, exp.path
    assert isinstance(ref, tuple) and len(ref) == 2
    assert res.interior_grads[0].shape == (200, 2) and res.attribution_sum.shape == (2,)
    assert res.n_steps == 200 and (res.abs_error < 1e-3).all()  # completeness over both inputs together
    for baselines in [(0.0, 0.0), (torch.zeros(2), 0.0), (lambda x: torch.zeros_like(x), 0),
                      lambda x: x * 0]:
        out = IntegratedGradients(model, n_steps=200, baselines=baselines).compute((x1, x2)).samples
        assert all(torch.allclose(o, r, atol=1e-6) for o, r in zip(out, ref))
    # a nonzero baseline for x2 only: completeness against F(x) - F(baseline)
    res = IntegratedGradients(model, n_steps=200, baselines=(0.0, -1.0)).compute((x1, x2)).path
    assert torch.allclose(res.baseline_score, model(torch.zeros(2), -torch.ones(2)))
    assert (res.rel_error < 0.01).all()  # a kink on the path: O(1/steps)
    assert "IG completeness over 2 examples" in res.completeness_report()
    with pytest.raises(ValueError, match="ambiguous: pass a tuple"):
        IntegratedGradients(model, baselines=torch.zeros(2)).compute((x1, x2))


def test_occlusion_literal_values():
    """captum's values divided by the number of elements each window removes (additive)."""
    net = ThreeLayer()
    x = torch.tensor([[20.0, 50.0, 30.0]])
    assert close(Occlusion(net, sliding_window_shapes=(1,), target=0).compute(x).samples[0],
                 [[80.0, 200.0, 120.0]])
    # windows of 2 elements: captum's [[200, 220, 240]] / 2
    assert close(Occlusion(net, sliding_window_shapes=(2,), baselines=torch.tensor([10.0, 10.0, 10.0]),
                           target=0).compute(x).samples[0], additive([[200.0, 220.0, 240.0]], 2))
    # stride 2: windows {0, 1} (2 elements) and {2} (cropped at the border: 1 element);
    # captum's [[280, 280, 120]] -> [[140, 140, 120]]
    occ = Occlusion(net, sliding_window_shapes=(2,), strides=2, target=0).compute(x)
    assert close(occ.samples[0], [[140.0, 140.0, 120.0]])
    assert close(occ.extras["drops"][:, 0], [280.0, 120.0])  # the drop of each window, captum's number
    xx = torch.tensor([[2.0, 10.0, 3.0], [20.0, 50.0, 30.0]])
    assert close(Occlusion(net, sliding_window_shapes=(1,), target=0, max_batch=3).compute(xx).samples[0],
                 [[8.0, 35.0, 12.0], [80.0, 200.0, 120.0]])


def test_occlusion_on_tuple_inputs_literal_values():
    net = ThreeInputs()
    x1 = torch.tensor([[23.0, 100.0, 0.0], [20.0, 50.0, 30.0]])
    x2 = torch.tensor([[20.0, 50.0, 30.0], [0.0, 100.0, 0.0]])
    x3 = torch.tensor([[0.0, 100.0, 10.0], [2.0, 10.0, 3.0]])
    out = Occlusion(net, sliding_window_shapes=((3,), (1,), (2,)), target=0).compute((x1, x2, x3, 1)).samples
    assert len(out) == 4 and out[3] is None  # the plain number is passed through
    # captum's values over the window sizes 3, 1 and 2
    expected = (additive([[492.0] * 3, [400.0] * 3], 3), [[80.0, 200.0, 120.0], [0.0, 400.0, 0.0]],
                additive([[400.0, 420.0, 440.0], [48.0, 50.0, 52.0]], 2))
    for o, e in zip(out, expected):
        assert close(o[0], e)
    # per-input baselines (a per-example tensor, a scalar, a column) and strides; windows of x3 with
    # stride 2 are {0, 1} and {2} (cropped), so its last element is divided by 1
    occ = Occlusion(net, sliding_window_shapes=((3,), (1,), (2,)), strides=(2, 1, 2), target=0,
                    baselines=(torch.tensor([[1.0, 4, 7], [3.0, 6, 9]]), 3.0,
                               torch.tensor([[4.0], [6]]), None))
    expected = (additive([[444.0] * 3, [328.0] * 3], 3), [[68.0, 188.0, 108.0], [-12.0, 388.0, -12.0]],
                additive([[368.0, 368.0, 24.0], [0.0, 0.0, -12.0]], [2, 2, 1]))
    for o, e in zip(occ.compute((x1, x2, x3, 1)).samples, expected):
        assert close(o[0], e)
    # the third input as an additional (unattributed) argument, small passes
    a1, a2 = Occlusion(net, sliding_window_shapes=((3,), (1,)), target=0, max_batch=2).compute(
        (x1, x2), additional_forward_args=(x3, 1)).samples
    assert close(a1[0], additive([[492.0] * 3, [400.0] * 3], 3))
    assert close(a2[0], [[80.0, 200.0, 120.0], [0.0, 400.0, 0.0]])


def test_occlusion_two_image_inputs_literal_values():
    img = torch.arange(16, dtype=torch.float).view(1, 1, 4, 4)
    ones = torch.ones(1, 1, 4, 4)
    a, b = Occlusion(OneConv(), sliding_window_shapes=((1, 4, 4), (1, 4, 4)), target=0).compute((img, ones)).samples
    # one window of 16 elements per input: captum's 67 and 13 over 16, summing to the drops
    assert close(a[0], additive(67 * torch.ones_like(img), 16)) and close(b[0], additive(13 * torch.ones_like(ones), 16))
    assert close(a[0].sum(), 67.0) and close(b[0].sum(), 13.0)
    a, b = Occlusion(OneConv(), sliding_window_shapes=((1, 2, 3), (1, 1, 2)),
                     strides=((1, 2, 1), (1, 1, 2)), target=0).compute((img, ones)).samples
    # no window is cropped here: windows of 6 and 2 elements
    assert close(a[0, 0, 0], additive([[17.0] * 4, [17.0] * 4, [64.0, 65.5, 65.5, 67.0],
                                       [64.0, 65.5, 65.5, 67.0]], 6))
    assert close(b[0, 0, 0], additive([[3.0] * 4, [3.0] * 4, [3.0] * 4, [0.0] * 4], 2))


def test_shapley_sampling_literal_values():
    net = ThreeLayer()
    x = torch.tensor([[20.0, 50.0, 30.0]])

    def sv(M=None, **kw):
        exp = ShapleySampling(net, estimator="permutation", target=0, **kw).compute(x, M=M)
        return exp, aggregate(exp)
    # captum's tolerance for its sampled estimates is 1.0 (max over elements)
    _, single = sv(M=250)
    assert close(single, [[76.66666, 196.66666, 116.66666]], atol=1.0)  # singletons: captum's values
    # group {0, 1} has two elements: captum's [[275, 275, 115]] -> [[137.5, 137.5, 115]]
    exp, grouped = sv(feature_mask=torch.tensor([[0, 0, 1]]))
    assert close(grouped, additive([[275.0, 275.0, 115.0]], [2, 2, 1]), atol=1.0)
    assert close(exp.extras["group_values"], [[275.0, 115.0]], atol=1.0)  # the group values are captum's
    _, based = sv(feature_mask=torch.tensor([[0, 0, 1]]), baselines=4)
    assert close(based, additive([[248.0, 248.0, 104.0]], [2, 2, 1]), atol=1.0)


def test_shapley_per_example_feature_mask_literal_values():
    """One mask row per example (issue 12, finding 3): captum's multi-sample mask test."""
    net = ThreeLayer()
    x = torch.tensor([[2.0, 10.0, 3.0], [20.0, 50.0, 30.0]])
    mask = torch.tensor([[0, 0, 1], [1, 1, 0]])
    sv = ShapleySampling(net, estimator="permutation", target=0, feature_mask=mask)
    # additive: group {0, 1} has two elements in both examples
    assert close(aggregate(sv.compute(x)), additive([[39.5, 39.5, 10.5], [275.0, 275.0, 115.0]], [2, 2, 1]),
                 atol=1.0)
    # the same as explaining each example with its own mask
    for i in range(2):
        one = ShapleySampling(net, estimator="permutation", target=0, feature_mask=mask[i])
        mine = aggregate(one.compute(x[i:i + 1], M=8))
        both = aggregate(sv.compute(x, M=8))[i:i + 1]
        assert torch.allclose(mine, both, atol=1e-4)
    # chimera with per-example masks: players are the groups of each example
    bg = torch.randn(50, 3)
    ch = ShapleySampling(net, background=bg, target=0, feature_mask=mask)
    s = ch.compute(x, M=20).samples
    assert s.shape == (20, 2, 3)
    assert torch.equal(s[:, 0, 0], s[:, 0, 1]) and torch.equal(s[:, 1, 0], s[:, 1, 1])


def test_shapley_on_tuple_inputs_literal_values():
    net = ThreeInputs()
    x1 = torch.tensor([[23.0, 100.0, 0.0], [20.0, 50.0, 30.0]])
    x2 = torch.tensor([[20.0, 50.0, 30.0], [0.0, 100.0, 0.0]])
    x3 = torch.tensor([[0.0, 100.0, 10.0], [2.0, 10.0, 3.0]])
    masks = (torch.tensor([[1, 1, 1], [0, 1, 0]]), torch.tensor([[0, 1, 2]]),
             torch.tensor([[0, 1, 2], [0, 0, 0]]), None)
    # ids are shared across the inputs (captum's convention): a group's size counts every input
    sizes = group_sizes_per_element(masks[:3], 2)
    assert sizes[0].tolist() == [[5, 5, 5], [6, 2, 6]]
    sv = ShapleySampling(net, estimator="permutation", target=0, feature_mask=masks)
    out = aggregate(sv.compute((x1, x2, x3, 1)))
    assert out[3] is None
    expected = ([[1088.6666] * 3, [255.0, 595.0, 255.0]],
                [[76.6666, 1088.6666, 156.6666], [255.0, 595.0, 0.0]],
                [[76.6666, 1088.6666, 156.6666], [255.0, 255.0, 255.0]])
    for o, e, n in zip(out, expected, sizes):
        assert close(o, additive(e, n), atol=1.0)
    sv = ShapleySampling(net, estimator="permutation", target=0, feature_mask=masks,
                         baselines=(2, 3.0, 4, None), max_batch=5)
    expected = ([[1040.0] * 3, [184.0, 580.0, 184.0]], [[52.0, 1040.0, 132.0], [184.0, 580.0, -12.0]],
                [[52.0, 1040.0, 132.0], [184.0] * 3])
    for o, e, n in zip(aggregate(sv.compute((x1, x2, x3, 1))), expected, sizes):
        assert close(o, additive(e, n), atol=1.0)
    # without masks every element is its own player: captum's values as they are
    x1 = torch.tensor([[23.0, 0.0, 0.0], [20.0, 50.0, 30.0]])
    x2 = torch.tensor([[20.0, 0.0, 50.0], [0.0, 100.0, 0.0]])
    x3 = torch.tensor([[0.0, 100.0, 10.0], [0.0, 10.0, 0.0]])
    sv = ShapleySampling(net, estimator="permutation", target=0)
    expected = ([[90.0, 0, 0], [78.0, 198.0, 118.0]], [[78.0, 0, 198.0], [0.0, 398.0, 0.0]],
                [[0.0, 398.0, 38.0], [0.0, 38.0, 0.0]])
    out = aggregate(sv.compute((x1, x2, x3), M=200, additional_forward_args=1))
    for o, e in zip(out, expected):
        assert close(o, e, atol=1.0)


# ----------------------------------------------------------------------------- tuples everywhere
class TwoInputNet(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.a = nn.Linear(4, 8)
        self.b = nn.Conv1d(2, 3, 3)
        self.drop = nn.Dropout(0.3)
        self.out = nn.Linear(8 + 3 * 3, 2)

    def forward(self, x, seq, shift):
        h = torch.cat([torch.tanh(self.a(x)), torch.tanh(self.b(seq)).flatten(1)], 1)
        return self.out(self.drop(h)) + shift


def _manual_grads(net, x, seq, shift, target):
    x, seq = x.clone().requires_grad_(), seq.clone().requires_grad_()
    net.eval()
    return torch.autograd.grad(net(x, seq, shift)[:, target].sum(), (x, seq))


def test_gradient_methods_take_tuples_and_return_tuples():
    net = TwoInputNet()
    x, seq = torch.randn(5, 4), torch.randn(5, 2, 5)
    shift = torch.arange(5)  # an integer tensor: passed through, split with the batch
    gx, gs = _manual_grads(net, x, seq, shift.unsqueeze(1), 1)
    out = VanillaGrad(net, target=1, max_batch=2).compute((x, seq, shift.unsqueeze(1))).samples
    assert len(out) == 3 and out[2] is None
    assert out[0].shape == (1, 5, 4) and out[1].shape == (1, 5, 2, 5)
    assert torch.allclose(out[0][0], gx, atol=1e-6) and torch.allclose(out[1][0], gs, atol=1e-6)
    ixg = InputXGradient(net, target=1, baselines=(0.5, lambda s: s.mean(-1, keepdim=True), None))
    a, b, _ = ixg.compute((x, seq, shift.unsqueeze(1))).samples
    assert torch.allclose(a[0], (x - 0.5) * gx, atol=1e-6)
    assert torch.allclose(b[0], (seq - seq.mean(-1, keepdim=True)) * gs, atol=1e-6)
    # SmoothGrad with tiny noise and BayesGrad without dropout reduce to the gradient
    sa, sb, _ = SmoothGrad(net, target=1, stdevs=1e-6).compute((x, seq, shift.unsqueeze(1)), M=3).samples
    assert sa.shape == (3, 5, 4) and torch.allclose(sb, gs.expand_as(sb), atol=1e-4)
    net.drop.p = 0.0
    ba, bb, _ = BayesGrad(net, target=1).compute((x, seq, shift.unsqueeze(1)), M=2).samples
    assert torch.allclose(ba, gx.expand_as(ba), atol=1e-6)
    net.drop.p = 0.3
    ba, bb, _ = BayesGrad(net, target=1, max_batch=4).compute((x, seq, shift.unsqueeze(1)), M=6).samples
    assert ba.shape == (6, 5, 4) and not torch.allclose(ba[0], ba[1])
    # additional_forward_args: appended to the call, never attributed
    v = VanillaGrad(net, target=1).compute((x, seq), additional_forward_args=(shift.unsqueeze(1),)).samples
    assert len(v) == 2 and torch.allclose(v[1][0], gs, atol=1e-6)


def test_ig_tuple_equals_a_hand_written_joint_path():
    net = TwoInputNet()
    x, seq = torch.randn(3, 4), torch.randn(3, 2, 5)
    a, b = IntegratedGradients(net, target=0, n_steps=32).compute((x, seq, 0.0)).samples[:2]
    alphas, weights = path_rule("riemann_middle", 32)
    ref_a, ref_b = torch.zeros_like(x), torch.zeros_like(seq)
    for al, w in zip(alphas.float(), weights.float()):
        gx, gs = _manual_grads(net, al * x, al * seq, 0.0, 0)
        ref_a += w * gx * x
        ref_b += w * gs * seq
    assert torch.allclose(a[0], ref_a, atol=1e-5) and torch.allclose(b[0], ref_b, atol=1e-5)


def test_tuple_with_a_layer_attributes_the_layer():
    text = GRUText()
    tokens = torch.randint(1, 30, (2, 5))
    lengths = torch.full((2,), 5)

    class WithLengths(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = text

        def forward(self, tok, n):
            return self.inner(tok[:, : int(n.max())])
    model = WithLengths()
    s = IntegratedGradients(model, layer=text.embedding, target=1, n_steps=8).compute(
        (tokens, lengths)).samples
    ref = IntegratedGradients(text, layer=text.embedding, target=1, n_steps=8).compute(tokens).samples
    assert s.shape == (1, 2, 5, 8) and torch.allclose(s, ref, atol=1e-6)


# ----------------------------------------------------------------------------- integration rules
def test_integration_rules_and_aliases():
    for m in (1, 3, 8):
        a, w = path_rule("gausslegendre", m)
        assert abs(w.sum() - 1) < 1e-12 and (a > 0).all() and (a < 1).all()
        for deg in range(2 * m):  # exact for polynomials of degree 2m - 1
            assert abs(float((w * a ** deg).sum()) - 1 / (deg + 1)) < 1e-12
    assert path_rule("midpoint", 4)[0].tolist() == [0.125, 0.375, 0.625, 0.875]
    for alias, rule in [("left", "riemann_left"), ("right", "riemann_right")]:
        assert torch.equal(path_rule(alias, 5)[0], path_rule(rule, 5)[0])
    ig = IntegratedGradients(nn.Linear(2, 1), method="midpoint")
    assert ig.rule == "riemann_middle" and ig.options["method"] == "riemann_middle"
    with pytest.raises(ValueError, match="1/n"):
        path_rule("riemann_trapezoid", 4)
    with pytest.raises(ValueError, match="method must be one of"):
        IntegratedGradients(nn.Linear(2, 1), method="simpson")


def test_gauss_legendre_matches_captum():
    from captum.attr import IntegratedGradients as CaptumIG

    model = MLP(k=3)
    x = torch.randn(4, 6)
    ours = IntegratedGradients(model, n_steps=16, method="gausslegendre", target=2).compute(x).samples[0]
    model.eval()
    ref = CaptumIG(model).attribute(x, target=2, n_steps=16, method="gausslegendre")
    assert torch.allclose(ours, ref, atol=1e-5)


def test_default_rule_is_complete_at_64_steps_on_the_benchmark_models():
    """The default rule reaches 1% (median) completeness at 64 steps on the benchmark's
    tanh/sigmoid MLP, ReLU/max-pool CNN and LSTM (the old default, riemann_right, did not)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        from attribution_speed import completeness_models
    finally:
        sys.path.pop(0)
    assert DEFAULT_RULE == "riemann_middle"
    for name, model, x in completeness_models():
        ig = IntegratedGradients(model, n_steps=64, keep_grads=False)
        assert ig.rule == DEFAULT_RULE
        res = ig.compute(x[:8]).path
        assert res.interior_grads is None  # keep_grads=False
        assert float(res.rel_error.median()) < 0.01, (name, res.completeness_report())


def test_completeness_tol_doubles_the_steps_until_reached():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 32), nn.Tanh(), nn.Linear(32, 1))
    x = 2.0 * torch.randn(8, 10)
    fixed = IntegratedGradients(model, n_steps=2, method="riemann_right").compute(x).path
    assert float(fixed.rel_error.median()) > 0.01 and fixed.n_steps == 2
    adaptive = IntegratedGradients(model, n_steps=2, method="riemann_right", completeness_tol=0.01,
                                   max_steps=1024).compute(x).path
    assert float(adaptive.rel_error.median()) <= 0.01
    assert adaptive.n_steps > 2 and adaptive.n_steps & (adaptive.n_steps - 1) == 0  # 2 doubled
    capped = IntegratedGradients(model, n_steps=2, method="riemann_right", completeness_tol=1e-9,
                                 max_steps=8).compute(x).path
    assert capped.n_steps == 8  # stops before passing max_steps


# ----------------------------------------------------------------------------- feature masks
def test_feature_mask_shapes_are_checked_with_a_clear_error():
    net = ThreeLayer()
    x = torch.randn(4, 3)
    for bad in (torch.zeros(3, 3, dtype=torch.long), torch.zeros(4, 2, dtype=torch.long),
                torch.zeros(2, 4, 3, dtype=torch.long)):
        for method in (ShapleySampling(net, estimator="permutation", target=0, feature_mask=bad),
                       Occlusion(net, target=0, feature_mask=bad)):
            with pytest.raises(ValueError, match=r"does not fit input 0.*accepted.*\(4, \*\(3,\)\)"):
                method.compute(x)


def test_occlusion_feature_masks_shared_and_per_example():
    net = ThreeLayer()
    x = torch.tensor([[2.0, 10.0, 3.0], [20.0, 50.0, 30.0]])
    # a shared mask of singletons is the one-element window
    occ = Occlusion(net, target=0, feature_mask=torch.arange(3))
    assert close(occ.compute(x).samples[0], [[8.0, 35.0, 12.0], [80.0, 200.0, 120.0]])
    mask = torch.tensor([[0, 0, 1], [1, 1, 0]])
    per = Occlusion(net, target=0, feature_mask=mask, max_batch=3).compute(x).samples[0]
    for i in range(2):
        one = Occlusion(net, target=0, feature_mask=mask[i]).compute(x[i:i + 1]).samples[0]
        assert torch.allclose(per[i:i + 1], one)
    # group {0, 1} of example 0: the drop when both features are zeroed, shared by its two elements
    with torch.no_grad():
        drop = net(x[:1])[0, 0] - net(torch.tensor([[0.0, 0.0, 3.0]]))[0, 0]
    assert torch.allclose(per[0, :2], (drop / 2).expand(2))
    assert torch.allclose(per[0, :2].sum(), drop)


# ----------------------------------------------------------------------------- aggregate
def test_aggregate_never_reduces_over_the_batch():
    s = torch.randn(3, 6)  # (M, batch) of scalars
    assert torch.allclose(aggregate(s), s.mean(0))
    assert aggregate(s, "square").shape == (6,)
    with pytest.raises(ValueError, match="batch axis"):
        aggregate(s, channel_axis=-1)
    with pytest.raises(ValueError, match="batch axis"):
        aggregate(torch.randn(2, 4, 5), channel_axis=(1, 2))
    # the default channel axis is None: nothing is summed, on any shape, without a warning
    s3 = torch.randn(2, 4, 5)
    s5 = torch.randn(2, 4, 3, 2, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert torch.allclose(aggregate(s3), s3.mean(0))
        assert torch.allclose(aggregate(s5), s5.mean(0))
        assert torch.allclose(aggregate(s3, channel_axis=-1), s3.sum(-1).mean(0))
        assert torch.allclose(aggregate(s5, channel_axis=-3), s5.sum(2).mean(0))
    # tuples of samples (tuple inputs) are reduced item by item
    mean, std = aggregate((s3, None), channel_axis=-1, return_std=True)
    assert mean[1] is None and std[1] is None and torch.allclose(mean[0], s3.sum(-1).mean(0))
    assert torch.allclose(std[0], s3.sum(-1).std(0))


# ----------------------------------------------------------------------------- Shapley, M
def test_shapley_without_background_says_how_to_pick_the_permutation_estimator():
    with pytest.raises(ValueError, match=r"estimator='permutation'"):
        ShapleySampling(ThreeLayer())
    sv = ShapleySampling(ThreeLayer(), estimator="permutation", target=0)
    exp = sv.compute(torch.randn(2, 3), M=4)
    assert exp.samples.shape == (4, 2, 3) and exp.M == 4  # M = number of permutations
    assert ShapleySampling.default_M == 100 and sv.compute(torch.randn(2, 3)).M == 100


def test_deterministic_methods_return_one_sample_whatever_m_without_a_warning():
    net, x = ThreeLayer(), torch.randn(2, 3)
    for method in (IntegratedGradients(net, target=0, n_steps=4), Occlusion(net, target=0),
                   VanillaGrad(net, target=0), InputXGradient(net, target=0)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            many = method.compute(x, M=5)
            assert many.samples.shape == (1, 2, 3) and many.M == 1
            assert torch.equal(many.samples, method.compute(x).samples)
            assert torch.equal(many.spread(), torch.zeros(2, 3))  # one sample: no spread
    # a sampling method does draw M samples
    assert SmoothGrad(net, target=0).compute(x, M=3).samples.shape == (3, 2, 3)
    with pytest.raises(ValueError, match="M must be >= 1"):
        SmoothGrad(net, target=0).compute(x, M=0)


# ----------------------------------------------------------------------------- names
def test_layer_and_target_names():
    text = GRUText()
    tokens = torch.randint(1, 30, (3, 7))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the names never warn
        new = VanillaGrad(text, layer=text.embedding, target=1).compute(tokens)
        positional = VanillaGrad(text, text.embedding, target=torch.tensor([1, 1, 1])).compute(tokens)
    assert torch.equal(new.samples, positional.samples) and new.samples.shape == (1, 3, 7, 8)
    # a bare target= is the output index: an int, a list or a LongTensor per example
    model, x = MLP(k=3), torch.randn(4, 6)
    by_int = VanillaGrad(model, target=2).compute(x).samples
    assert torch.equal(by_int, VanillaGrad(model, output_fn=lambda o: o[:, 2]).compute(x).samples)
    assert torch.equal(VanillaGrad(model, target=[2, 2, 2, 2]).compute(x).samples, by_int)
    assert torch.equal(VanillaGrad(model, target=torch.tensor([2, 2, 2, 2])).compute(x).samples, by_int)
    # a module is never a target, and an output index is never a layer
    with pytest.raises(TypeError, match="the hooked module is layer="):
        VanillaGrad(text, target=text.embedding)
    with pytest.raises(TypeError, match="the output index is target="):
        VanillaGrad(model, 2)
    # Occlusion and Shapley read target= as the output index too
    occ = Occlusion(ThreeLayer(), sliding_window_shapes=(1,), target=0)
    assert occ.layer is None and occ.target == 0
    assert not hasattr(occ, "output_index") and not hasattr(occ, "target_class")
    with pytest.raises(ValueError, match="layer"):
        ShapleySampling(text, estimator="permutation", layer=text.embedding)
    # the explanation-mask network takes the masked module as layer= as well, and has no target
    net = ExplanationMaskNet(text, layer=text.embedding)
    assert net.layer is text.embedding and not hasattr(net, "target")


@pytest.mark.parametrize("build", [
    lambda m, t: VanillaGrad(m, target_class=1),
    lambda m, t: VanillaGrad(m, baseline=0.0),
    lambda m, t: VanillaGrad(m, layer=t.embedding, target_io="input"),
    lambda m, t: SmoothGrad(m, noise=0.1),
    lambda m, t: IntegratedGradients(m, steps=8),
    lambda m, t: IntegratedGradients(m, rule="trapezoid"),
    lambda m, t: Occlusion(m, window=(1,)),
    lambda m, t: ShapleySampling(m, method="permutation"),
    lambda m, t: ShapleySampling(m, estimator="permutation", n_samples=4),
    lambda m, t: ExplanationMaskNet(m, target=t.embedding),
], ids=["target_class", "baseline", "target_io", "noise", "steps", "rule", "window", "shapley_method",
        "n_samples", "mask_target"])
def test_the_old_keyword_names_are_gone(build):
    """No shims (issue 18): the renamed keywords are refused like any unknown keyword."""
    text = GRUText()
    with pytest.raises(TypeError, match="unexpected keyword"):
        build(text, text)


def test_the_removed_compute_options_and_attributes_are_gone():
    model, x = MLP(k=3), torch.randn(2, 6)
    ig = IntegratedGradients(model, target=0, n_steps=4)
    with pytest.raises(TypeError, match="return_path"):
        ig.compute(x, return_path=True)
    ig.compute(x)
    occ = Occlusion(model, target=0)
    occ.compute(x)
    for method, gone in ((ig, "last_result"), (ig, "last_scores"), (occ, "last_drops"), (occ, "row_drops")):
        assert not hasattr(method, gone), gone
