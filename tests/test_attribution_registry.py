"""One method vocabulary (issue 18): the registry, the Explanation result, per-call options, the
window/stride/mask checks, the random floor, and a user's own method measured like the others.

Small CPU models only; every expected number is computed by hand (autograd, loops) in the test.
"""
import numpy as np
import pytest
import torch
from torch import nn
from torch_geometric.data import Batch

from xairepro.attribution import (Attribution, BayesGrad, Explanation, ExplanationMask, ExplanationMaskNet,
                                  GradientAttribution, InputXGradient, IntegratedGradients, MethodNotApplicable,
                                  Occlusion, RandomOrder, ShapleySampling, SmoothGrad, VanillaGrad, accepted_options,
                                  create_method, method_class, method_names, not_applicable_reason, register_method,
                                  unknown_methods)
from xairepro.attribution import registry
from xairepro.attribution.explanation import pad_cat
from xairepro.names import FLOOR_METHOD as RANDOM
from xairepro.evaluation.faithfulness import faithfulness_curves, faithfulness_study, faithfulness_summary
from xairepro.evaluation.units import AtomUnit, FeatureUnit

from conftest import MLP, TOY_METHOD, GRUText, ToyGNN, graph_batch, mlp

CANONICAL = ["vanilla_grad", "input_x_gradient", "smoothgrad", "bayesgrad", "bayes_smoothgrad",
             "integrated_gradients", "occlusion", "shapley_sampling", "explanation_mask", "random"]


@pytest.fixture
def private_registry(monkeypatch):
    """Registrations made by a test are undone afterwards."""
    monkeypatch.setattr(registry, "_METHODS", dict(registry._METHODS))


# ----------------------------------------------------------------------------- the registry
def test_every_canonical_name_is_registered_first_and_names_its_class():
    names = method_names()
    assert names[:len(CANONICAL)] == CANONICAL  # the built-in methods first, in this order
    classes = {"vanilla_grad": VanillaGrad, "input_x_gradient": InputXGradient, "smoothgrad": SmoothGrad,
               "bayesgrad": BayesGrad, "integrated_gradients": IntegratedGradients, "occlusion": Occlusion,
               "shapley_sampling": ShapleySampling, "explanation_mask": ExplanationMask, "random": RandomOrder}
    for name in CANONICAL:
        cls = method_class(name)
        assert issubclass(cls, Attribution) and cls.name == name
        if name in classes:
            assert cls is classes[name]
    assert TOY_METHOD in names  # conftest registers the plugin file
    assert unknown_methods(["vanilla_grad", "vanilla", "ig"]) == ["vanilla", "ig"]
    with pytest.raises(KeyError, match="unknown attribution method 'vanilla'.*vanilla_grad"):
        method_class("vanilla")


def test_register_method_rejects_a_taken_name_a_bad_name_and_a_non_attribution(private_registry):
    class Other(GradientAttribution):
        pass

    with pytest.raises(ValueError, match="'vanilla_grad' is taken by .*VanillaGrad"):
        register_method("vanilla_grad")(Other)
    assert method_class("vanilla_grad") is VanillaGrad  # unchanged
    # a user's class that happens to share the built-in's name is another method, not a re-import
    namespace = {}
    exec("from xairepro.attribution import GradientAttribution\n"
         "class VanillaGrad(GradientAttribution):\n    pass\n", namespace)
    with pytest.raises(ValueError, match="'vanilla_grad' is taken"):
        register_method("vanilla_grad")(namespace["VanillaGrad"])
    assert method_class("vanilla_grad") is VanillaGrad
    # registering the same class again (a plugin imported twice) is harmless
    assert register_method("vanilla_grad")(VanillaGrad) is VanillaGrad
    with pytest.raises(TypeError, match="Attribution subclass"):
        register_method("not_a_method")(nn.Linear)
    with pytest.raises(TypeError, match="Attribution subclass"):
        register_method("not_a_function")(lambda model: model)
    with pytest.raises(ValueError, match="lower-case identifiers"):
        register_method("Bad Name")
    assert "not_a_method" not in method_names()
    # a fresh name works, and the class learns it
    assert register_method("other_test_method")(Other) is Other
    assert Other.name == "other_test_method" and method_class("other_test_method") is Other
    assert create_method("other_test_method", nn.Linear(2, 1), {"stdevs": 0.1}).__class__ is Other


def test_create_method_passes_only_the_options_each_method_accepts():
    model = MLP(k=3, p=0.2)
    settings = {"layer": None, "baselines": 0.5, "target": 1, "multiply_by_inputs": True, "stdevs": 0.05,
                "noise_mode": "relative", "n_steps": 9, "method": "trapezoid", "max_batch": 7,
                "sliding_window_shapes": (2,), "estimator": "permutation",
                "mask_net": None, "background": None, "an_unknown_setting": object()}
    assert "stdevs" in accepted_options(SmoothGrad) and "n_steps" not in accepted_options(SmoothGrad)
    assert {"n_steps", "method", "layer", "target", "baselines", "max_batch"} <= accepted_options(IntegratedGradients)
    assert "model" not in accepted_options(VanillaGrad)
    sg = create_method("smoothgrad", model, settings)
    assert isinstance(sg, SmoothGrad) and sg.noise.stdevs == 0.05 and sg.noise.mode == "relative"
    assert sg.baselines == 0.5 and sg.target == 1 and sg.max_batch == 7 and sg.multiply_by_inputs
    ig = create_method("integrated_gradients", model, settings)
    assert (ig.n_steps, ig.rule) == (9, "trapezoid")
    assert create_method("integrated_gradients", model, settings, n_steps=5).n_steps == 5  # overrides win
    occ = create_method("occlusion", model, settings)
    assert occ.window == (2,) and occ.baselines == 0.5
    assert create_method("random", model, settings).max_batch == 7
    sv = create_method("shapley_sampling", model, settings)
    assert sv.estimator == "permutation" and sv.options["estimator"] == "permutation"
    # what the method was built with is recorded in the explanation
    exp = sg.compute(torch.randn(2, 6), M=4)
    assert exp.method == "smoothgrad" and exp.options["stdevs"] == 0.05 and exp.M == 4


def test_create_method_says_why_a_method_does_not_apply():
    no_dropout = mlp()
    for name in ("bayesgrad", "bayes_smoothgrad"):
        with pytest.raises(MethodNotApplicable, match=f"{name}: the model has no nn.Dropout"):
            create_method(name, no_dropout, {})
        assert "nn.Dropout" in not_applicable_reason(name, no_dropout)
    assert isinstance(create_method("bayesgrad", MLP(p=0.1), {}), BayesGrad)
    with pytest.raises(MethodNotApplicable, match="explanation_mask: no explanation mask network"):
        create_method("explanation_mask", no_dropout, {"mask_net": None})
    with pytest.raises(MethodNotApplicable, match="background"):
        create_method("shapley_sampling", no_dropout, {})
    text = GRUText()
    with pytest.raises(MethodNotApplicable, match="attributes at a layer"):
        create_method("shapley_sampling", text, {"layer": text.embedding, "estimator": "permutation"})
    assert issubclass(MethodNotApplicable, ValueError)
    assert not_applicable_reason("vanilla_grad", no_dropout) is None


def test_explanation_mask_through_the_registry_is_the_mask():
    model = nn.Linear(3, 1)

    class Fixed(ExplanationMaskNet):
        def mask_logits(self, x):
            return torch.tensor([2.0, -1.0, 0.0]).expand_as(x)

    net = Fixed(model)
    exp = create_method("explanation_mask", model, {"mask_net": net, "stdevs": 0.1}).compute(torch.randn(4, 3), M=9)
    assert exp.M == 1 and exp.method == "explanation_mask"
    assert torch.allclose(exp.samples[0], torch.sigmoid(torch.tensor([2.0, -1.0, 0.0])).expand(4, 3))


# ----------------------------------------------------------------------------- Explanation
def _manual_ixg(model, batch):
    model.eval()
    h = model.embedding(batch.x).detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(model.from_embedding(h, batch).sum(), h)
    return (h * grad).detach()


def test_units_of_a_graph_batch_are_per_molecule_atom_scores():
    model = ToyGNN(p=0.0)
    batch = graph_batch()
    graphs = batch.to_data_list()
    exp = InputXGradient(model, layer=model.embedding).compute(batch)
    assert exp.n_examples == 4 and exp.example_index.tolist() == batch.batch.tolist()
    per_atom = _manual_ixg(model, batch).sum(-1)  # AtomUnit: the sum over the channels
    units = exp.units(AtomUnit(), graphs)
    assert [len(u) for u in units] == [3, 7, 5, 9]
    for u, ref in zip(units, torch.split(per_atom, [3, 7, 5, 9])):
        np.testing.assert_allclose(u, ref.numpy(), rtol=1e-5, atol=1e-6)
    # "abs": |.| elementwise before the channel sum
    abs_units = exp.units(AtomUnit(), graphs, aggregation="abs")
    np.testing.assert_allclose(abs_units[1], _manual_ixg(model, batch).abs().sum(-1)[3:10].numpy(), rtol=1e-5)
    # one sample: no spread
    assert all((s == 0).all() and len(s) == len(u) for s, u in zip(exp.unit_spread(AtomUnit(), graphs), units))
    with pytest.raises(ValueError, match="3 examples given for an explanation of 4"):
        exp.units(AtomUnit(), graphs[:3])


def test_integrated_gradients_atom_units_sum_to_each_molecules_score_change():
    model = ToyGNN(p=0.0)
    batch = graph_batch(seed=2)
    exp = IntegratedGradients(model, layer=model.embedding, n_steps=64).compute(batch)
    sums = np.array([u.sum() for u in exp.units(AtomUnit(), batch.to_data_list())])
    with torch.no_grad():
        delta = (model(batch) - model.from_embedding(torch.zeros(batch.num_nodes, 8), batch)).numpy()
    np.testing.assert_allclose(sums, delta, rtol=0.01, atol=1e-4)  # completeness, per molecule
    np.testing.assert_allclose(sums, exp.path.attribution_sum.numpy(), rtol=1e-5, atol=1e-6)


def test_unit_spread_is_bayesgrads_uncertainty_per_atom():
    model = ToyGNN(p=0.3)
    batch = graph_batch(seed=3)
    graphs = batch.to_data_list()
    exp = BayesGrad(model, layer=model.embedding).compute(batch, M=12)
    samples = exp.unit_samples(AtomUnit(), graphs)
    assert [s.shape for s in samples] == [(12, 3), (12, 7), (12, 5), (12, 9)]
    per_atom = exp.samples.sum(-1)  # (M, atoms)
    spread = exp.unit_spread(AtomUnit(), graphs)
    for s, ref in zip(spread, torch.split(per_atom, [3, 7, 5, 9], dim=1)):
        np.testing.assert_allclose(s, ref.std(0).numpy(), rtol=1e-4, atol=1e-7)
    assert all((s > 0).any() for s in spread) and sum((s > 0).sum() for s in spread) > 12
    # the mean of the unit samples is the unit score of the mean attribution
    for u, s in zip(exp.units(AtomUnit(), graphs), samples):
        np.testing.assert_allclose(u, s.mean(0), rtol=1e-4, atol=1e-6)
    # the same model without dropout sampling (VanillaGrad) has none
    flat = VanillaGrad(model, layer=model.embedding).compute(batch, M=12)
    assert flat.M == 1 and all((s == 0).all() for s in flat.unit_spread(AtomUnit(), graphs))


def test_cat_of_two_chunks_equals_the_whole_batch():
    model = ToyGNN(p=0.0)
    batch = graph_batch(sizes=(3, 7, 5, 9, 4))
    graphs = batch.to_data_list()
    for method in (InputXGradient(model, layer=model.embedding),
                   IntegratedGradients(model, layer=model.embedding, n_steps=8),
                   Occlusion(model, layer=model.embedding)):
        whole = method.compute(batch)
        parts = [method.compute(Batch.from_data_list(graphs[:2])), method.compute(Batch.from_data_list(graphs[2:]))]
        joined = Explanation.cat(parts)
        assert torch.allclose(joined.samples, whole.samples, atol=1e-6)
        assert torch.allclose(joined.output, whole.output, atol=1e-6)
        assert torch.equal(joined.example_index, whole.example_index) and joined.n_examples == 5
        for a, b in zip(joined.units(AtomUnit(), graphs), whole.units(AtomUnit(), graphs)):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        if whole.path is not None:
            assert torch.allclose(joined.path.attribution_sum, whole.path.attribution_sum, atol=1e-6)
            assert joined.path.interior_grads.shape == whole.path.interior_grads.shape
    # tensor batches with one target per example: the targets are concatenated
    net, x, t = MLP(k=3), torch.randn(6, 6), torch.tensor([0, 1, 2, 2, 1, 0])
    vg = VanillaGrad(net)
    joined = Explanation.cat([vg.compute(x[:4], target=t[:4]), vg.compute(x[4:], target=t[4:])])
    assert torch.equal(joined.target, t) and torch.allclose(joined.samples, vg.compute(x, target=t).samples)
    with pytest.raises(ValueError, match="different methods"):
        Explanation.cat([vg.compute(x, target=0), InputXGradient(net).compute(x, target=0)])
    with pytest.raises(ValueError, match="different sample counts"):
        Explanation.cat([SmoothGrad(net).compute(x, M=2, target=0), SmoothGrad(net).compute(x, M=3, target=0)])


def test_pad_cat_and_token_chunks_trimmed_to_different_lengths():
    a, b = torch.ones(1, 2, 3), 2 * torch.ones(1, 1, 5)
    out = pad_cat([a, b], 1)
    assert out.shape == (1, 3, 5)
    assert torch.equal(out[0, :2, :3], a[0]) and (out[0, :2, 3:] == 0).all() and torch.equal(out[0, 2], b[0, 0])
    text = GRUText()
    short, long = torch.randint(1, 30, (2, 4)), torch.randint(1, 30, (3, 6))
    vg = VanillaGrad(text, layer=text.embedding, target=1)
    joined = Explanation.cat([vg.compute(short), vg.compute(long)])
    assert joined.samples.shape == (1, 5, 6, 8)
    assert torch.equal(joined.samples[:, :2, :4], vg.compute(short).samples)
    assert (joined.samples[:, :2, 4:] == 0).all()  # padding positions carry no attribution
    assert torch.equal(joined.samples[:, 2:], vg.compute(long).samples)


# ----------------------------------------------------------------------------- per-call options
def test_target_per_call_overrides_the_default_on_the_same_object():
    model, x = MLP(k=3, p=0.2), torch.randn(5, 6)
    for cls, kw in ((VanillaGrad, {}), (InputXGradient, {}), (IntegratedGradients, {"n_steps": 8}),
                    (Occlusion, {}), (SmoothGrad, {"stdevs": 0.1}), (BayesGrad, {}),
                    (ShapleySampling, {"estimator": "permutation"})):
        one = cls(model, target=0, **kw)
        first = one.compute(x, M=3, target=1)
        second = one.compute(x, M=3, target=2)
        assert torch.allclose(first.samples, cls(model, target=1, **kw).compute(x, M=3).samples, atol=1e-6), cls
        assert torch.allclose(second.samples, cls(model, target=2, **kw).compute(x, M=3).samples, atol=1e-6), cls
        assert not torch.allclose(first.samples, second.samples)
        assert first.target == 1 and second.target == 2
        # the constructor's target is still the default
        assert torch.allclose(one.compute(x, M=3).samples, cls(model, target=0, **kw).compute(x, M=3).samples,
                              atol=1e-6)
    # one index per example, per call
    vg = VanillaGrad(model)
    per = vg.compute(x, target=[0, 1, 2, 0, 1]).samples
    for i, t in enumerate([0, 1, 2, 0, 1]):
        assert torch.allclose(per[0, i], vg.compute(x[i:i + 1], target=t).samples[0, 0], atol=1e-6)


def test_baselines_per_call_override_the_default():
    torch.manual_seed(0)
    lin, x = nn.Linear(4, 1), torch.randn(3, 4)
    ixg = InputXGradient(lin)
    got = ixg.compute(x, baselines=0.5).samples
    assert torch.allclose(got, InputXGradient(lin, baselines=0.5).compute(x).samples)
    assert torch.allclose(got[0], lin.weight * (x - 0.5), atol=1e-6)
    assert torch.allclose(ixg.compute(x).samples[0], lin.weight * x, atol=1e-6)  # the default 0.0 again
    ig = IntegratedGradients(lin, n_steps=4, baselines=1.0)
    b = torch.randn(4)
    assert torch.allclose(ig.compute(x, baselines=b).samples[0], lin.weight * (x - b), atol=1e-5)
    assert torch.allclose(ig.compute(x).samples[0], lin.weight * (x - 1.0), atol=1e-5)
    occ = Occlusion(lin, sliding_window_shapes=(1,))
    assert torch.allclose(occ.compute(x, baselines=2.0).samples[0], lin.weight * (x - 2.0), atol=1e-5)
    assert torch.allclose(occ.compute(x).samples[0], lin.weight * x, atol=1e-5)


# ----------------------------------------------------------------------------- shape checks
class Pixels(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.lin = nn.Linear(16, 1)

    def forward(self, x, y=None):
        return self.lin(x.flatten(1) if y is None else (x + y).flatten(1))


def test_occlusion_refuses_strides_and_windows_with_the_wrong_number_of_axes():
    net, img = Pixels(), torch.rand(1, 1, 4, 4)
    # issue 18: these two used to pair up to the shorter tuple and compute something else
    for strides in ((1, 2), (1, 2, 2, 1)):
        with pytest.raises(ValueError, match=rf"strides \({', '.join(map(str, strides))}\) has {len(strides)} "
                                             r"entries but input 0 has 3 axes"):
            Occlusion(net, sliding_window_shapes=(1, 2, 2), strides=strides).compute(img)
    for window in ((2, 2), (1, 1, 2, 2)):
        with pytest.raises(ValueError, match=r"sliding_window_shapes .* entries but input 0 has 3 axes"):
            Occlusion(net, sliding_window_shapes=window).compute(img)
    # tuple inputs: the input whose window does not fit is named
    with pytest.raises(ValueError, match="input 1 has 3 axes"):
        Occlusion(net, sliding_window_shapes=((1, 2, 2), (2, 2))).compute((img, img))
    # the right ranks run, and match the explicit per-axis strides
    ok = Occlusion(net, sliding_window_shapes=(1, 2, 2), strides=(1, 2, 2)).compute(img).samples
    assert torch.allclose(ok, Occlusion(net, sliding_window_shapes=(1, 2, 2), strides=2).compute(img).samples)
    with pytest.raises(ValueError, match="larger than input 0"):
        Occlusion(net, sliding_window_shapes=(1, 5, 2)).compute(img)


def test_occlusion_at_a_layer_names_the_layer_output():
    text = GRUText()
    with pytest.raises(ValueError, match="the layer output has 2 axes"):
        Occlusion(text, layer=text.embedding, sliding_window_shapes=(1, 2, 2), target=0).compute(
            torch.randint(1, 30, (2, 5)))


def test_shapley_refuses_a_feature_mask_that_does_not_fit_and_names_the_input():
    net = mlp(d=3)
    x = torch.randn(4, 3)
    with pytest.raises(ValueError, match=r"feature_mask of shape \(4, 2\) does not fit input 0"):
        ShapleySampling(net, estimator="permutation", feature_mask=torch.zeros(4, 2, dtype=torch.long)).compute(x)
    with pytest.raises(ValueError, match="does not fit input 1"):
        ShapleySampling(Pixels(), estimator="permutation",
                        feature_mask=(torch.zeros(1, 4, 4, dtype=torch.long), torch.zeros(3, 3, dtype=torch.long))
                        ).compute((torch.rand(2, 1, 4, 4), torch.rand(2, 1, 4, 4)))
    with pytest.raises(TypeError, match="integer group ids"):
        ShapleySampling(net, estimator="permutation", feature_mask=torch.zeros(3)).compute(x)
    with pytest.raises(ValueError, match="0..G-1"):
        ShapleySampling(net, estimator="permutation", feature_mask=torch.tensor([0, 2, 2])).compute(x)


# ----------------------------------------------------------------------------- the random floor
def test_random_order_gives_M_orders_and_faithfulness_averages_their_curves():
    torch.manual_seed(0)
    model = nn.Linear(6, 1)
    x = torch.randn(5, 6)
    examples, unit, fractions = list(x), FeatureUnit(0.0), np.linspace(0, 1, 4)
    exp = RandomOrder(model).compute(x, M=4, seed=3)
    assert exp.M == 4 and exp.samples.shape == (4, 5, 6)  # M orders
    assert RandomOrder(model).compute(x, seed=3).M == 5   # its own default, not one sample
    assert exp.each_sample_is_an_order and exp.output is None and exp.method == "random"
    assert not torch.allclose(exp.samples[0], exp.samples[1])
    assert torch.equal(exp.samples, RandomOrder(model).compute(x, M=4, seed=3).samples)
    orders = exp.unit_samples(unit, examples)
    per_example, curves, _, _ = faithfulness_study(model, examples, {RANDOM: exp}, unit, fractions=fractions)
    by_hand = []
    for m in range(4):
        c = faithfulness_curves(model, examples, [o[m] for o in orders], unit, fractions=fractions)
        by_hand.append((c[:, :1] - c).mean(1))
    np.testing.assert_allclose(per_example["deletion_aopc"].to_numpy(), np.mean(by_hand, 0), rtol=1e-6, atol=1e-7)
    # a single order is not the average: the floor has less variance of its own
    assert not np.allclose(by_hand[0], np.mean(by_hand, 0))
    assert set(curves["mode"]) == {"deletion", "lerf", "insertion"}


# ----------------------------------------------------------------------------- a user's own method
def test_the_toy_plugin_runs_through_create_method():
    torch.manual_seed(0)
    model, x = nn.Linear(5, 1), torch.randn(4, 5)
    toy = create_method(TOY_METHOD, model, {"layer": None, "baselines": 0.5, "stdevs": 0.1, "n_steps": 4})
    exp = toy.compute(x)
    assert exp.method == TOY_METHOD and exp.M == 1
    ref = InputXGradient(model, baselines=0.5).compute(x).samples
    assert torch.allclose(exp.samples, -ref, atol=1e-6)


def test_the_toy_plugin_ranks_below_input_x_gradient_by_deletion_aopc_on_a_linear_model():
    """For f(x) = w.x + b with removal to 0, input x gradient is each feature's exact contribution
    w_i x_i, so removing by its order removes the largest contributions first: the largest drop at
    every step, the largest AOPC of any order. The toy method (its negation) removes the smallest
    first: the smallest AOPC. With distinct contributions both inequalities are strict."""
    torch.manual_seed(0)
    model, x = nn.Linear(8, 1), torch.randn(12, 8)
    names = ["input_x_gradient", TOY_METHOD, "random"]
    explanations = {n: create_method(n, model, {"baselines": 0.0, "n_random": 8}).compute(x) for n in names}
    per_example = faithfulness_study(model, list(x), explanations, FeatureUnit(0.0),
                                     fractions=np.linspace(0, 1, 9)).per_example
    wide = per_example.pivot(index="example", columns="method", values="deletion_aopc")
    assert (wide["input_x_gradient"] > wide[TOY_METHOD]).all()
    assert (wide["input_x_gradient"] >= wide["random"] - 1e-9).all() and (wide["random"] >= wide[TOY_METHOD] - 1e-9).all()
    summary = faithfulness_summary(per_example).set_index("method")
    assert summary.loc["input_x_gradient", "rank"] == 1 and summary.loc[TOY_METHOD, "rank"] == 3


def test_a_dropout_module_with_p_zero_is_not_dropout_so_bayesgrad_does_not_apply():
    from torch import nn

    from xairepro.attribution import MethodNotApplicable, create_method, has_dropout

    off = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.0), nn.Linear(4, 1))
    on = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.2), nn.Linear(4, 1))
    assert not has_dropout(off) and has_dropout(on)
    with pytest.raises(MethodNotApplicable, match="no nn.Dropout"):
        create_method("bayesgrad", off, {})
    create_method("bayesgrad", on, {})


def test_a_per_method_override_the_method_does_not_accept_is_an_error_naming_both():
    from torch import nn

    from xairepro.attribution import create_method

    net = nn.Linear(3, 1)
    with pytest.raises(TypeError, match=r"integrated_gradients: unknown option\(s\) \['n_stpes'\]"):
        create_method("integrated_gradients", net, {}, n_stpes=8)
    # shared settings a method does not take are simply not its business
    assert create_method("integrated_gradients", net, {"stdevs": 0.3}, n_steps=8).n_steps == 8


def test_method_options_M_sets_one_methods_sample_count():
    import torch
    from torch import nn

    from xairepro.experiments.explainer import Explainer

    net = nn.Sequential(nn.Linear(3, 8), nn.Dropout(0.3), nn.Linear(8, 1))
    out = Explainer(net, ["smoothgrad", "bayesgrad"], settings={}, M=5,
                    method_options={"bayesgrad": {"M": 3}}).explain(torch.randn(4, 3))
    assert out["smoothgrad"].M == 5 and out["bayesgrad"].M == 3
