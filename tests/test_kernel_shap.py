"""kernel_shap (xairepro/attribution/kernel_shap.py): exact Shapley values where every coalition is
enumerated (checked against the Shapley formula by brute force), exact on a linear model from sampled
coalitions, players as feature groups and as a layer's rows, and the player limit."""
from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import nn

from xairepro.attribution import MethodNotApplicable, create_method, not_applicable_reason
from xairepro.experiments.explainer import Explainer, NotApplicable


def brute_force_shapley(value, G: int) -> torch.Tensor:
    """phi_j = sum over S without j of |S|! (G-|S|-1)! / G! (v(S + j) - v(S)), ``value(S) -> (B,)``."""
    phi = 0.0
    out = []
    for j in range(G):
        others = [k for k in range(G) if k != j]
        phi = 0.0
        for r in range(G):
            for S in itertools.combinations(others, r):
                weight = math.factorial(r) * math.factorial(G - r - 1) / math.factorial(G)
                phi = phi + weight * (value(set(S) | {j}) - value(set(S)))
        out.append(phi)
    return torch.stack(out, 1)


def tanh_net(n_in=6, n_out=2, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(n_in, 5), nn.Tanh(), nn.Linear(5, n_out)).double().eval()


def test_enumerated_coalitions_give_exact_shapley_values():
    net = tanh_net()
    x = torch.rand(3, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    base = torch.rand(6, dtype=torch.float64, generator=torch.Generator().manual_seed(2))

    def value(S):
        keep = torch.tensor([i in S for i in range(6)])
        with torch.no_grad():
            return net(torch.where(keep, x, base))[:, 1]
    exact = brute_force_shapley(value, 6)
    got = create_method("kernel_shap", net).compute(x, target=1, baselines=base)   # 62 coalitions <= 2,060
    assert got.M == 1
    torch.testing.assert_close(got.samples[0], exact, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(got.extras["base_value"], value(set()))


def test_sampled_coalitions_exact_on_a_linear_model_and_seeded():
    torch.manual_seed(3)
    lin = nn.Linear(12, 3).double()
    x = torch.rand(4, 12, dtype=torch.float64)
    base = torch.rand(12, dtype=torch.float64)
    # 2^12 - 2 coalitions > 200: drawn; a linear game fits any full-rank draw exactly
    got = create_method("kernel_shap", lin, n_samples=200).compute(x, target=2, baselines=base, seed=5)
    torch.testing.assert_close(got.samples[0], ((x - base) * lin.weight[2]).detach(), rtol=1e-8, atol=1e-10)
    net = tanh_net(12, 1)
    a = create_method("kernel_shap", net, n_samples=100).compute(x, baselines=base, seed=5).samples
    b = create_method("kernel_shap", net, n_samples=100).compute(x, baselines=base, seed=5).samples
    c = create_method("kernel_shap", net, n_samples=100).compute(x, baselines=base, seed=6).samples
    assert torch.equal(a, b) and not torch.equal(a, c)
    # efficiency holds for every draw: the values add up to f(x) - f(baseline)
    with torch.no_grad():
        delta = (net(x) - net(base.expand_as(x)))[:, 0]
    torch.testing.assert_close(c[0].sum(1), delta)


def test_feature_groups_share_their_value():
    net = tanh_net(6, 1)
    x = torch.rand(2, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    groups = torch.tensor([0, 0, 1, 2, 2, 2])

    def value(S):
        keep = torch.tensor([int(g) in S for g in groups])
        with torch.no_grad():
            return net(torch.where(keep, x, torch.zeros_like(x)))[:, 0]
    exact = brute_force_shapley(value, 3)                                  # (B, 3) group values
    got = create_method("kernel_shap", net, feature_mask=groups).compute(x)
    torch.testing.assert_close(got.extras["group_values"], exact)
    torch.testing.assert_close(got.samples[0], exact[:, groups] / torch.tensor([2., 2., 1., 3., 3., 3.],
                                                                                dtype=torch.float64))


class Tokens(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(5)
        self.embedding = nn.Embedding(7, 3)
        self.head = nn.Sequential(nn.Linear(15, 4), nn.Tanh(), nn.Linear(4, 1))

    def forward(self, ids):
        return self.head(self.embedding(ids).flatten(1))


def test_layer_rows_are_the_players():
    model = Tokens().eval()
    ids = torch.tensor([[1, 2, 3, 4, 5], [6, 5, 4, 3, 0]])

    def value(S):
        keep = torch.tensor([t in S for t in range(5)]).view(1, 5, 1)
        with torch.no_grad():
            return model.head(torch.where(keep, model.embedding(ids), torch.zeros(1)).flatten(1))[:, 0]
    exact = brute_force_shapley(value, 5)
    got = create_method("kernel_shap", model, {"layer": model.embedding, "baselines": 0.0}).compute(ids)
    assert got.samples.shape == (1, 2, 5, 3)
    torch.testing.assert_close(got.samples[0].sum(-1), exact.float(), rtol=1e-5, atol=1e-6)


def test_too_many_players_is_not_applicable_with_the_count():
    net = tanh_net(6, 1)
    reason = not_applicable_reason("kernel_shap", net, {"feature_mask": torch.arange(6), "max_players": 5})
    assert reason and "6 players exceed max_players=5" in reason
    with pytest.raises(MethodNotApplicable, match="6 players exceed max_players=5"):
        create_method("kernel_shap", net, max_players=5).compute(torch.rand(2, 6, dtype=torch.float64))
    # found on the inputs: the explainer reports it as not applicable, and the other methods still run
    explainer = Explainer(net, ["kernel_shap", "vanilla_grad"], method_options={"kernel_shap": {"max_players": 5}})
    results = explainer.explain(torch.rand(3, 6, dtype=torch.float64))
    assert isinstance(results["kernel_shap"], NotApplicable) and "6 players" in results["kernel_shap"].reason
    assert results["vanilla_grad"].samples.shape == (1, 3, 6)


def test_peptides_refused_in_one_residue_group_is_refused_for_all():
    """The peptide explainer explains each residue count as one batch: a group over the player limit makes
    Kernel SHAP not applicable to the whole set (never a partial table), the other methods unaffected."""
    import yaml
    from conftest import REPO_ROOT

    from xairepro.config import resolve_scale
    from xairepro.context import RunContext
    from xairepro.experiments.examples import with_example_section
    from xairepro.experiments.peptides import settings
    from xairepro.models import build_model

    cfg = resolve_scale(yaml.safe_load((REPO_ROOT / "config.yaml").read_text()), "quick")["peptides"]
    ids = settings.example_inputs(3, cfg)
    counts = settings.residue_count(ids)
    ids, counts = ids[counts.argsort()], counts.sort().values   # the first group explained fits, a later one not
    limit = int(counts.min())                       # the shortest peptide fits, a longer one does not
    assert (counts > limit).any()
    cfg = with_example_section(cfg, settings.EXAMPLE_SECTION, method_options={"kernel_shap": {"max_players": limit}})
    spec = dict(cfg["models"]["cnn"])
    torch.manual_seed(0)
    model = build_model(spec.pop("arch"), **spec, **settings.example_model_kwargs(cfg)).eval()
    results = settings.example_explainer(model, cfg, ctx=RunContext(seed=0, device="cpu", max_batch=256),
                                         methods=["kernel_shap", "vanilla_grad"]).explain(ids)
    assert isinstance(results["kernel_shap"], NotApplicable)
    assert f"exceed max_players={limit}" in results["kernel_shap"].reason
    assert results["vanilla_grad"].samples.shape[1] == 3
