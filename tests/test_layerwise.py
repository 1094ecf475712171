"""guided_backprop, deeplift and grad_cam (xairepro/attribution/layerwise.py) against captum, and the
model-randomisation sanity check on guided backpropagation (Adebayo et al. 2018).

captum's GuidedBackprop and DeepLift hook ``nn.ReLU``/``nn.Tanh`` modules; the project's methods act on
the calls (``F.relu`` too), so each comparison runs captum on a network of modules and the project's
method both on it and on its functional twin (same weights, ``F.relu``/``torch.tanh`` in ``forward``).
"""
from __future__ import annotations

import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from xairepro.attribution import MethodNotApplicable, create_method, not_applicable_reason
from xairepro.attribution.layerwise import cam_to_units, source_calls
from xairepro.evaluation.sanity import SANITY_THRESHOLD, cascading_randomisation, rank_correlations
from xairepro.evaluation.units import PixelUnit
from xairepro.evaluation.verdicts import sanity_verdicts
from xairepro.experiments.explainer import Explainer

captum_attr = pytest.importorskip("captum.attr")


class SmallCNN(nn.Module):
    """conv-ReLU-conv-ReLU-tanh-avgpool-linear, with modules (captum's case) or functions (``functional``)."""

    def __init__(self, functional: bool = False):
        super().__init__()
        self.functional = functional
        self.c1, self.r1 = nn.Conv2d(3, 6, 3, padding=1), nn.ReLU()
        self.c2, self.r2 = nn.Conv2d(6, 8, 3, padding=1, stride=2), nn.ReLU()
        self.pool, self.fc = nn.AvgPool2d(2), nn.Linear(8 * 2 * 2, 5)

    def forward(self, x):
        h = F.relu(self.c1(x)) if self.functional else self.r1(self.c1(x))
        h = self.pool(self.c2(h))
        h = F.relu(h) if self.functional else self.r2(h)
        return self.fc(h.flatten(1))


def twins(cls=SmallCNN):
    torch.manual_seed(0)
    modules = cls().eval()
    functional = cls(functional=True).eval()
    functional.load_state_dict(modules.state_dict())
    return modules, functional


def mlp(functional_tanh: bool = False):
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3)).double().eval()


X = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(2))
T = torch.tensor([0, 1, 2, 3])


# ------------------------------------------------------------------------------ guided backprop
def test_guided_backprop_equals_captum_on_modules_and_functions():
    modules, functional = twins()
    ref = captum_attr.GuidedBackprop(modules).attribute(X.clone().requires_grad_(), target=T).detach()
    for model in (modules, functional):
        got = create_method("guided_backprop", model).compute(X, target=T)
        assert got.M == 1
        torch.testing.assert_close(got.samples[0], ref, rtol=1e-5, atol=1e-7)
    plain = create_method("vanilla_grad", functional).compute(X, target=T).samples[0]
    assert (plain - ref).abs().max() > 1e-3 * ref.abs().max(), "guided backprop is the plain gradient here"
    # captum on the functional twin hooks no ReLU: the plain gradient, not guided backpropagation
    blind = captum_attr.GuidedBackprop(functional).attribute(X.clone().requires_grad_(), target=T).detach()
    torch.testing.assert_close(blind, plain, rtol=1e-5, atol=1e-7)


def test_guided_backprop_not_applicable_without_relu():
    tanh_net = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2))
    reason = not_applicable_reason("guided_backprop", tanh_net)
    assert reason and "relu" in reason.lower()
    with pytest.raises(MethodNotApplicable, match="ReLU"):
        create_method("guided_backprop", tanh_net)
    _, functional = twins()
    assert not_applicable_reason("guided_backprop", functional) is None
    assert source_calls(functional, "relu_?") == ["SmallCNN.relu"]


# ------------------------------------------------------------------------------ DeepLift
@pytest.mark.parametrize("which", ["cnn", "mlp"])
def test_deeplift_equals_captum(which):
    """Two models of modules whose nonlinearities are not adjacent (see the next test): captum's DeepLift."""
    if which == "cnn":
        modules, functional = twins()
        models, x, t = (modules, functional), X, T
        base = 0.1 * torch.rand(X.shape, generator=torch.Generator().manual_seed(3))
    else:
        model = mlp()
        models, t = (model,), torch.tensor([0, 1, 2, 0])
        x = torch.rand(4, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
        base = x.mean(0)
    ref = captum_attr.DeepLift(models[0]).attribute(x, baselines=base.expand_as(x), target=t).detach()
    for model in models:
        got = create_method("deeplift", model).compute(x, target=t, baselines=base)
        torch.testing.assert_close(got.samples[0], ref, rtol=1e-4, atol=1e-6 * float(ref.abs().max()))
        # summation to delta: the attributions add up to F(x) - F(baseline)
        delta = got.output[0] - got.extras["baseline_score"]
        torch.testing.assert_close(got.samples[0].flatten(1).sum(1), delta.to(ref.dtype), rtol=1e-4, atol=1e-6)
        # in pieces of 2 examples (4 rows with their baselines): the same
        pieces = create_method("deeplift", model, max_batch=4).compute(x, target=t, baselines=base)
        torch.testing.assert_close(pieces.samples, got.samples)


def test_deeplift_adjacent_nonlinearities_keep_summation_to_delta():
    """ReLU right after tanh: captum's module hooks lose summation to delta there; the project's
    DeepLift keeps it (each call's multiplier uses its own input and output)."""
    torch.manual_seed(5)
    model = nn.Sequential(nn.Linear(6, 7), nn.Tanh(), nn.ReLU(), nn.Linear(7, 3)).double().eval()
    x = torch.rand(5, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    base = torch.zeros(6, dtype=torch.float64)
    got = create_method("deeplift", model).compute(x, target=1, baselines=base)
    with torch.no_grad():
        delta = model(x)[:, 1] - model(base.expand_as(x))[:, 1]
    torch.testing.assert_close(got.samples[0].sum(1), delta, rtol=1e-9, atol=1e-12)
    # and by hand: the rescale multipliers of tanh then ReLU, chained
    W1, b1, W2 = model[0].weight, model[0].bias, model[3].weight
    z, z0 = x @ W1.T + b1, base @ W1.T + b1
    a, a0 = torch.tanh(z), torch.tanh(z0)
    m_tanh, m_relu = (a - a0) / (z - z0), (a.clamp_min(0) - a0.clamp_min(0)) / (a - a0)
    by_hand = (x - base) * ((W2[1] * m_relu * m_tanh) @ W1)
    torch.testing.assert_close(got.samples[0], by_hand.detach())


def test_deeplift_softmax_is_integrated_gradients_of_a_linear_softmax():
    """A softmax mixes its inputs: its multipliers are its Jacobian averaged from the baseline's logits
    to the input's, so on softmax(linear(x)) DeepLift is integrated gradients (the straight path through a
    linear map is the straight path of the logits), and a ResNet explained through SoftmaxScore keeps
    summation to delta."""
    from xairepro.attribution import SoftmaxScore
    from xairepro.models import build_model

    torch.manual_seed(8)
    net = nn.Sequential(nn.Linear(5, 4), nn.Softmax(-1)).double().eval()
    x = 3 * torch.randn(3, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(9))
    got = create_method("deeplift", net).compute(x, target=2, baselines=0.0).samples
    ig = create_method("integrated_gradients", net, n_steps=64, method="gausslegendre").compute(
        x, target=2, baselines=0.0).samples
    torch.testing.assert_close(got, ig, rtol=1e-7, atol=1e-10)
    resnet = SoftmaxScore(build_model("resnet20").eval())
    e = create_method("deeplift", resnet).compute(X.repeat(1, 1, 4, 4), target=T[:4], baselines=0.0)
    torch.testing.assert_close(e.samples[0].flatten(1).sum(1), e.output[0] - e.extras["baseline_score"],
                               rtol=1e-4, atol=1e-6)


def test_deeplift_not_applicable_reasons():
    gru = nn.Sequential(nn.Embedding(5, 3), nn.GRU(3, 4, batch_first=True))
    assert "recurrent" in not_applicable_reason("deeplift", gru)
    pool = nn.Sequential(nn.Conv1d(2, 3, 3), nn.MaxPool1d(2))
    assert "MaxPool1d" in not_applicable_reason("deeplift", pool)

    class FunctionalPool(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(2, 3, 3)

        def forward(self, x):
            return F.max_pool1d(self.conv(x), 2).sum((1, 2))
    reason = not_applicable_reason("deeplift", FunctionalPool())
    assert "FunctionalPool.max_pool1d" in reason


# ------------------------------------------------------------------------------ Grad-CAM
@pytest.mark.parametrize("mode", [None, "nearest"])
def test_grad_cam_equals_captum_layer_grad_cam_interpolated(mode):
    modules, _ = twins()
    cam = captum_attr.LayerGradCam(modules, modules.c2).attribute(X, target=T, relu_attributions=True)
    ref = captum_attr.LayerAttribution.interpolate(cam, (8, 8), interpolate_mode=mode or "bilinear")[:, 0]
    got = create_method("grad_cam", modules, {"cam_layer": modules.c2}, interpolate_mode=mode,
                        relu_attributions=True).compute(X, target=T)
    assert got.samples.shape == (1, *X.shape)
    # the pixel's value is spread over the 3 channels: their sum is captum's upsampled map
    torch.testing.assert_close(got.samples[0].sum(1), ref.detach(), rtol=1e-5, atol=1e-8)
    torch.testing.assert_close(got.samples[0][:, 0], got.samples[0][:, 2])
    # by default signed (captum's default); without cam_layer: the last convolution, the same layer here
    signed = captum_attr.LayerGradCam(modules, modules.c2).attribute(X, target=T)
    ref = captum_attr.LayerAttribution.interpolate(signed, (8, 8), interpolate_mode=mode or "bilinear")[:, 0]
    default = create_method("grad_cam", modules, interpolate_mode=mode).compute(X, target=T)
    assert (ref < 0).any()
    torch.testing.assert_close(default.samples[0].sum(1), ref.detach(), rtol=1e-5, atol=1e-8)


def test_grad_cam_on_sequences_reads_the_first_rows():
    """A Conv1d map over (B, T, C) rows: upsampled to cam_size, its first T positions kept (the residues
    before a peptide's gap rows), against captum's LayerGradCam on the full-length model."""
    torch.manual_seed(7)

    class Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.fc = nn.Conv1d(4, 6, 3, padding=1), nn.Linear(6 * 5, 1)

        def forward(self, x):                                      # (B, 10, 4)
            return self.fc(F.max_pool1d(torch.relu(self.conv(x.transpose(1, 2))), 2).flatten(1))

    class FirstRows(nn.Module):
        def __init__(self, model, tail):
            super().__init__()
            self.model, self.tail = model, tail

        def forward(self, rows):
            return self.model(torch.cat([rows, self.tail.expand(rows.shape[0], -1, -1)], 1))

    model = Seq().eval()
    full = torch.rand(3, 10, 4)
    full[:, 7:] = full[0, 7:]                                        # the examples share their tail rows
    cam = captum_attr.LayerGradCam(model, model.conv).attribute(full, target=0, relu_attributions=True)
    ref = captum_attr.LayerAttribution.interpolate(cam, (10,), interpolate_mode="linear")[:, 0, :7]
    wrapped = FirstRows(model, full[:1, 7:])
    got = create_method("grad_cam", wrapped, {"cam_layer": model.conv, "cam_size": (10,)},
                        relu_attributions=True).compute(full[:, :7], target=0)
    assert got.samples.shape == (1, 3, 7, 4)
    torch.testing.assert_close(got.samples[0].sum(-1), ref.detach(), rtol=1e-5, atol=1e-8)


def test_grad_cam_not_applicable_without_convolution_and_bad_shapes():
    reason = not_applicable_reason("grad_cam", nn.Sequential(nn.Linear(3, 2)))
    assert reason and "convolution" in reason
    with pytest.raises(ValueError, match="Conv2d map needs images"):
        cam_to_units(torch.rand(2, 4, 4), (7, 3))


# ------------------------------------------------------------------------------ the sanity check
def shapes_task(n: int, seed: int):
    """12 x 12 images of four random rectangles on a random background, with a red 3 x 3 square
    (class 0) or a red plus (class 1) at a random place: edges everywhere, one shape decides."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, 1, 1, generator=g).expand(n, 3, 12, 12).clone()
    y = torch.randint(0, 2, (n,), generator=g)
    red = torch.tensor([1.0, 0.0, 0.0]).view(3, 1)
    for i in range(n):
        for _ in range(4):
            r, c = torch.randint(0, 10, (2,), generator=g).tolist()
            h, w = torch.randint(2, 6, (2,), generator=g).tolist()
            x[i, :, r:r + h, c:c + w] = torch.rand(3, 1, 1, generator=g)
        r, c = torch.randint(0, 9, (2,), generator=g).tolist()
        if y[i]:
            x[i, :, r + 1, c:c + 3] = red
            x[i, :, r:r + 3, c + 1] = red
        else:
            x[i, :, r:r + 3, c:c + 3] = red.unsqueeze(-1)
    return x, y


class ShapeCNN(nn.Module):
    def __init__(self, width: int = 32):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(3, width, 3, padding=1), nn.Conv2d(width, width, 3, padding=1, stride=2),
                                    nn.Conv2d(width, width, 3, padding=1)])
        self.fc = nn.Linear(width * 6 * 6, 2)

    def forward(self, x):
        for conv in self.convs:
            x = F.relu(conv(x))
        return self.fc(x.flatten(1))


def trained_shape_cnn(seed: int = 0, steps: int = 200):
    torch.manual_seed(seed)
    model = ShapeCNN()
    x, y = shapes_task(512, seed)
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    for _ in range(steps):
        i = torch.randint(0, len(x), (64,))
        loss = F.cross_entropy(model(x[i]), y[i])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def randomisation_spearmans(model, x, y, methods, steps=None) -> pd.DataFrame:
    """The sanity rows of the faithfulness suite (``xairepro.experiments.suite``) for ``methods``: per
    example, Spearman between the trained and each cascade step's pixel scores."""
    explainer = Explainer(model, methods, settings={"baselines": 0.0, "max_batch": 4096},
                          method_options={"integrated_gradients": {"n_steps": 16}})
    unit, examples = PixelUnit(0.0), list(x)
    reference = {m: e.units(unit, examples, "raw") for m, e in explainer.explain(x, y).items()}
    rows = []
    for label, k, randomised in cascading_randomisation(model, steps, seed=0):
        for m, e in explainer.on(randomised).explain(x, y).items():
            rho = rank_correlations(reference[m], e.units(unit, examples, "raw"))
            rows += [dict(experiment="shapes", model="cnn", method=m, layers=k, example=i, spearman=float(r))
                     for i, r in enumerate(rho)]
    return pd.DataFrame(rows)


METHODS = ["guided_backprop", "vanilla_grad", "integrated_gradients"]


@pytest.mark.slow
def test_model_randomisation_fails_guided_backprop():
    """Adebayo et al.'s cascade on a small CNN trained on a shapes task: destroying the top layers (the
    classifier and the last convolution: ``sanity_steps: [top, half]``) leaves guided backpropagation's
    maps nearly as they were (verdict: fails, mean Spearman above SANITY_THRESHOLD) while the gradient
    and integrated gradients change (pass). Its maps are the least changed at every cascade step."""
    model = trained_shape_cnn()
    x, y = shapes_task(32, 1)
    assert (model(x).argmax(1) == y).float().mean() >= 0.9, "the CNN did not learn the task"
    rows = randomisation_spearmans(model, x, y, METHODS, steps=[1, 2])
    verdict = sanity_verdicts(rows).groupby("method")[["verdict_rho", "passes"]].first()
    assert not verdict.loc["guided_backprop", "passes"], verdict
    assert verdict.loc["guided_backprop", "verdict_rho"] >= SANITY_THRESHOLD
    assert verdict.loc["vanilla_grad", "passes"] and verdict.loc["integrated_gradients", "passes"], verdict
    mean = rows.groupby(["layers", "method"]).spearman.mean().unstack()
    assert (mean["guided_backprop"] > mean["vanilla_grad"]).all() and \
        (mean["guided_backprop"] > mean["integrated_gradients"]).all(), mean
