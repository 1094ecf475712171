"""Removal operators (xairepro.evaluation.operators): each one on a tiny example against a hand
computation, the baseline bit-identical to the units' removal before operators existed, ROAD's
linear imputation against its equations and against Quantus 0.6, a user's own operator."""
import numpy as np
import pytest
import torch
from torch import nn

from xairepro.data.featurize import graphs_from_smiles
from xairepro.evaluation.faithfulness import faithfulness_curves
from xairepro.evaluation.imputation import NEIGHBOUR_WEIGHTS, gaussian_blur, linear_imputation
from xairepro.evaluation.operators import (PixelOperator, UNIT_KINDS, bind_operator, bind_operators, create_operator,
                                           describe_operators, operator_names, register_operator, symbol_frequencies)
from xairepro.evaluation.units import AtomUnit, FeatureUnit, PixelUnit, TokenUnit


class Echo(nn.Module):
    """Returns its input flattened (one row per copy), so a test reads exactly what the model saw."""

    def __init__(self):
        super().__init__()
        self.p = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return x.reshape(x.shape[0], -1).to(torch.float64)


def test_every_unit_kind_has_three_operators_one_in_distribution():
    from xairepro.evaluation.operators import operator_class

    for kind in UNIT_KINDS:
        names = operator_names(kind)
        assert len(names) >= 3 and "baseline" in names, kind
        assert any(operator_class(n, kind).in_distribution for n in names), kind
    assert set(operator_names("pixel")) >= {"baseline", "mean_colour", "blur", "road"}
    assert set(operator_names("token")) >= {"baseline", "oov", "draw", "delete"}
    assert set(operator_names("atom")) >= {"baseline", "mean_embedding", "delete"}
    assert set(operator_names("feature")) >= {"baseline", "mean", "draw"}
    rows = {(r["unit"], r["operator"]): r for r in describe_operators()}
    assert rows[("pixel", "road")]["in_distribution"] and not rows[("pixel", "baseline")]["in_distribution"]
    assert rows[("token", "delete")]["description"].startswith("A removed token is taken out: the tokens after it")
    assert [r["operator"] for r in describe_operators("atom")] == ["baseline", "delete", "mean_embedding"]


# ------------------------------------------------------------------- the baseline is the old removal
def _old_pixel(unit, model, examples, removed):
    xs = []
    for x, r in zip(examples, removed):
        c, h, w = x.shape
        mask = r.view(-1, 1, h, w)
        base = x.unsqueeze(0).expand(r.shape[0], c, h, w)
        xs.append(torch.where(mask, torch.full_like(base, unit.baseline), base))
    return model(torch.cat(xs))


def _old_token(unit, model, examples, removed):
    seqs = []
    for t, r in zip(examples, removed):
        pos = unit.positions(t)
        copies = t.unsqueeze(0).repeat(r.shape[0], 1)
        sub = copies[:, pos]
        sub[r] = unit.replacement
        copies[:, pos] = sub
        seqs.append(copies)
    return model(torch.cat(seqs))


def _old_feature(unit, model, examples, removed):
    rows = []
    for x, r in zip(examples, removed):
        x = torch.as_tensor(x, dtype=torch.float32)
        base = torch.as_tensor(unit.baseline, dtype=x.dtype).expand_as(x)
        rows.append(torch.where(r, base.unsqueeze(0), x.unsqueeze(0)))
    return model(torch.cat(rows))


def _masks(gen, sizes, n_units):
    return [torch.rand(k, n_units, generator=gen) < 0.4 for k in sizes]


def test_the_baseline_operator_gives_bit_identical_outputs_to_the_old_removal():
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    conv = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.LazyLinear(5))
    images = [torch.rand(3, 6, 6, generator=gen) for _ in range(3)]
    conv(images[0].unsqueeze(0))
    unit = PixelUnit(baseline=0.3)
    masks = _masks(gen, (4, 2, 5), 36)
    assert unit.operator == "baseline"
    assert torch.equal(unit.forward_removed(conv, images, masks), _old_pixel(unit, conv, images, masks))

    emb = nn.Sequential(nn.Embedding(12, 3), nn.Flatten(), nn.Linear(18, 2))
    unit = TokenUnit(pad_id=0, replacement=11)
    tokens = [torch.tensor([4, 5, 6, 0, 0, 0]), torch.tensor([7, 8, 9, 10, 3, 0])]
    masks = [torch.rand(3, 3, generator=gen) < 0.5, torch.rand(2, 5, generator=gen) < 0.5]
    assert torch.equal(unit.forward_removed(emb, tokens, masks), _old_token(unit, emb, tokens, masks))

    mlp = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    unit = FeatureUnit(baseline=torch.tensor([0.5, -1.0, 2.0, 0.25]))
    rows = [torch.rand(4, generator=gen) for _ in range(3)]
    masks = _masks(gen, (5, 5, 2), 4)
    assert torch.equal(unit.forward_removed(mlp, rows, masks), _old_feature(unit, mlp, rows, masks))


class SumEmbedding(nn.Module):
    """f(graph) = sum over atoms and channels of the embedding (all ones): 2 per atom."""

    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(120, 2)
        with torch.no_grad():
            self.embedding.weight.fill_(1.0)

    def forward(self, batch):
        h = self.embedding(batch.x.view(-1)).sum(-1)
        return torch.zeros(batch.num_graphs).index_add(0, batch.batch, h).unsqueeze(1)


def test_the_atom_baseline_and_mean_embedding_by_hand_and_the_baseline_as_before():
    from torch_geometric.data import Batch

    from xairepro.attribution import replace_layer
    from xairepro.models.gnn import GGNN

    (ethanol,) = graphs_from_smiles(["CCO"])
    drop = [torch.tensor([[False, True, False], [True, True, True]])]
    assert AtomUnit(baseline=0.5).forward_removed(SumEmbedding(), [ethanol], drop)[:, 0].tolist() == [5.0, 3.0]
    unit = bind_operator(AtomUnit(), "mean_embedding", {"mean_embedding": [1.0, -2.0]})
    assert unit.operator == "mean_embedding"
    assert unit.forward_removed(SumEmbedding(), [ethanol], drop)[:, 0].tolist() == [3.0, -3.0]
    # the baseline as the atom unit removed before operators existed, on a real graph model
    torch.manual_seed(0)
    model = GGNN(hidden_dim=4, n_layers=2).eval()
    graphs = graphs_from_smiles(["CCO", "c1ccncc1"])
    masks = [torch.tensor([[False, True, False], [True, False, True]]), torch.rand(3, 6) < 0.5]
    flat = torch.cat([m.reshape(-1) for m in masks])

    def old(out):
        out = out.clone()
        out[flat] = 0.25
        return out

    with replace_layer(model.embedding, old):
        want = model(Batch.from_data_list([graphs[0]] * 2 + [graphs[1]] * 3))
    assert torch.equal(AtomUnit(baseline=0.25).forward_removed(model, graphs, masks), want)


# ------------------------------------------------------------------------------------------ tokens
def test_token_deletion_shifts_the_rest_left_and_pads_the_end():
    unit = bind_operator(TokenUnit(pad_id=0), "delete")
    tokens = torch.tensor([5, 6, 7, 8, 0, 0])
    out = unit.forward_removed(Echo(), [tokens], [torch.tensor([[False, True, False, True], [True] * 4,
                                                                [False] * 4])])
    assert out.long().tolist() == [[5, 7, 0, 0, 0, 0], [0] * 6, [5, 6, 7, 8, 0, 0]]
    # leading padding (a SMILES string padded on both sides) stays where it is
    unit = bind_operator(TokenUnit(pad_id=9, name="character"), "delete")
    out = unit.forward_removed(Echo(), [torch.tensor([9, 9, 1, 2, 3, 9])], [torch.tensor([[False, True, False]])])
    assert out.long().tolist() == [[9, 9, 1, 3, 9, 9]]


def test_the_oov_operator_puts_the_oov_token():
    unit = bind_operator(TokenUnit(pad_id=0, name="word"), "oov", {"oov_id": 1})
    out = unit.forward_removed(Echo(), [torch.tensor([5, 6, 7, 0])], [torch.tensor([[True, False, True]])])
    assert out.long().tolist() == [[1, 6, 1, 0]]


def test_token_draws_come_from_the_training_symbols_are_seeded_and_independent_of_batching():
    train = torch.tensor([[3, 3, 4, 0], [4, 3, 0, 0]])
    freq = symbol_frequencies(train, 8, exclude=[0])
    assert torch.allclose(freq, torch.tensor([0, 0, 0, 3 / 5, 2 / 5, 0, 0, 0], dtype=torch.float64))
    unit = bind_operator(TokenUnit(pad_id=0, name="residue"), "draw", {"frequencies": freq})
    a, b = torch.tensor([5, 6, 7, 1, 2, 0]), torch.tensor([7, 7, 1, 0, 0, 0])
    every = torch.ones(1, 5, dtype=torch.bool)
    both = unit.forward_removed(Echo(), [b, a], [torch.ones(1, 3, dtype=torch.bool), torch.cat([every, ~every])])
    alone = unit.forward_removed(Echo(), [a], [every])
    drawn = both[1, :5].long()
    assert set(drawn.tolist()) <= {3, 4} and both[1, 5] == 0          # only training symbols; padding kept
    assert torch.equal(both[1], alone[0])                             # the same draw however batched
    assert torch.equal(both[2].long(), a)                             # nothing removed: unchanged
    assert torch.equal(unit.forward_removed(Echo(), [a], [every]), alone)   # rerun: the same
    wide = bind_operator(TokenUnit(pad_id=0), "draw", {"frequencies": torch.ones(50)})
    batched = wide.forward_removed(Echo(), [b, a], [torch.ones(1, 3, dtype=torch.bool), every])
    assert torch.equal(batched[1], wide.forward_removed(Echo(), [a], [every])[0])
    other = bind_operator(TokenUnit(pad_id=0), "draw", {"frequencies": torch.ones(50)}, seed=1)
    first = bind_operator(TokenUnit(pad_id=0), "draw", {"frequencies": torch.ones(50)}, seed=0)
    assert not torch.equal(other.forward_removed(Echo(), [a], [every]), first.forward_removed(Echo(), [a], [every]))


# ---------------------------------------------------------------------------------------- features
def test_feature_mean_zero_and_draw_by_hand():
    train = np.array([[1.0, 10.0], [3.0, 20.0], [5.0, 60.0]])
    x = torch.tensor([7.0, 8.0])
    removed = [torch.tensor([[True, False], [True, True]])]
    mean = bind_operator(FeatureUnit(), "mean", {"mean": train.mean(0)})
    assert mean.forward_removed(Echo(), [x], removed).tolist() == [[3.0, 8.0], [3.0, 30.0]]
    zero = bind_operator(FeatureUnit(), "zero")
    assert zero.forward_removed(Echo(), [x], removed).tolist() == [[0.0, 8.0], [0.0, 0.0]]
    draw = bind_operator(FeatureUnit(), "draw", {"train_rows": train})
    rows = [torch.tensor([float(i), -1.0]) for i in range(40)]
    out = draw.forward_removed(Echo(), rows, [torch.ones(1, 2, dtype=torch.bool)] * 40)
    assert set(out[:, 0].tolist()) == {1.0, 3.0, 5.0} and set(out[:, 1].tolist()) == {10.0, 20.0, 60.0}
    assert torch.equal(draw.forward_removed(Echo(), rows, [torch.ones(1, 2, dtype=torch.bool)] * 40), out)
    kept = draw.forward_removed(Echo(), [x], [torch.tensor([[False, True]])])
    assert kept[0, 0] == 7.0 and kept[0, 1] in (10.0, 20.0, 60.0)


# ------------------------------------------------------------------------------------------- atoms
def test_atom_deletion_gives_the_output_of_the_smaller_molecule():
    from xairepro.models.gnn import GGNN, NFP

    torch.manual_seed(0)
    (mol,) = graphs_from_smiles(["CC(=O)N"])           # atoms C0 C1 O2 N3
    (smaller,) = graphs_from_smiles(["CC=O"])          # N3 and its bond removed
    (methane,) = graphs_from_smiles(["C"])
    unit = bind_operator(AtomUnit(), "delete")
    for model in (GGNN(hidden_dim=8, n_layers=3).eval(), NFP(hidden_dim=8, n_layers=2).eval()):
        removed = torch.tensor([[False, False, False, True], [False, True, True, True], [True] * 4])
        with torch.no_grad():
            out = unit.forward_removed(model, [mol], [removed])
            from torch_geometric.data import Batch
            want = model(Batch.from_data_list([smaller, methane]))
        torch.testing.assert_close(out[:2], want, rtol=0, atol=1e-6)
        assert out.shape[0] == 3 and torch.isfinite(out[2]).all()      # the empty molecule is a row too


# ------------------------------------------------------------------------------------------ pixels
def test_mean_colour_and_blur_fill_only_the_removed_pixels():
    from scipy.ndimage import gaussian_filter

    gen = torch.Generator().manual_seed(1)
    image = torch.rand(3, 8, 8, generator=gen)
    removed = [torch.rand(2, 64, generator=gen) < 0.3]
    colour = torch.tensor([0.1, 0.5, 0.9])
    out = bind_operator(PixelUnit(), "mean_colour", {"mean_colour": colour}).forward_removed(
        Echo(), [image], removed).view(2, 3, 8, 8).float()
    m = removed[0].view(2, 8, 8)
    assert torch.equal(out.permute(0, 2, 3, 1)[m], colour.expand(int(m.sum()), 3))
    assert torch.equal(out.permute(0, 2, 3, 1)[~m], image.permute(1, 2, 0).expand(2, 8, 8, 3)[~m])
    blurred = bind_operator(PixelUnit(), "blur", sigma=1.0).forward_removed(Echo(), [image], removed).view(2, 3, 8, 8)
    # torch's "reflect" is scipy's "mirror"; a radius of 3 sigma is scipy's truncate=3
    want = np.stack([gaussian_filter(image[c].double().numpy(), 1.0, mode="mirror", truncate=3.0) for c in range(3)])
    got = blurred.permute(0, 2, 3, 1)[m].numpy()
    np.testing.assert_allclose(got, np.broadcast_to(want.transpose(1, 2, 0), (2, 8, 8, 3))[m.numpy()], atol=1e-6)
    assert torch.equal(blurred.float().permute(0, 2, 3, 1)[~m], image.permute(1, 2, 0).expand(2, 8, 8, 3)[~m])
    with pytest.raises(ValueError, match="sigma"):
        gaussian_blur(image.unsqueeze(0), 0.0)


def _residual(image: np.ndarray, removed: np.ndarray) -> float:
    """max |x_i - weighted mean of its in-image neighbours| over the removed pixels, by loops."""
    C, H, W = image.shape
    worst = 0.0
    for i, j in zip(*np.nonzero(removed)):
        total, weight = np.zeros(C), 0.0
        for (di, dj), w in NEIGHBOUR_WEIGHTS:
            if 0 <= i + di < H and 0 <= j + dj < W:
                total += w * image[:, i + di, j + dj]
                weight += w
        worst = max(worst, float(np.abs(image[:, i, j] - total / weight).max()))
    return worst


def test_road_imputation_satisfies_the_neighbour_average_equations_without_noise():
    rng = np.random.default_rng(0)
    images = rng.random((3, 3, 7, 9)).astype(np.float32)
    removed = rng.random((3, 7, 9)) < np.array([0.2, 0.6, 0.97])[:, None, None]
    road = bind_operator(PixelUnit(), "road", noise=0.0)
    out = road.forward_removed(Echo(), list(torch.from_numpy(images)),
                               [torch.from_numpy(r.reshape(1, -1)) for r in removed]).view(3, 3, 7, 9).numpy()
    for k in range(3):
        assert _residual(out[k].astype(np.float64), removed[k]) < 1e-6
        np.testing.assert_array_equal(out[k][:, ~removed[k]], images[k][:, ~removed[k]])
    # a wrong imputation (the mean of the known pixels) breaks the equations: the check can fail
    wrong = images[0].copy()
    wrong[:, removed[0]] = images[0][:, ~removed[0]].mean(1, keepdims=True)
    assert _residual(wrong.astype(np.float64), removed[0]) > 1e-2


def test_road_imputation_solves_in_runs_of_whole_images_as_in_one(monkeypatch):
    import xairepro.evaluation.imputation as imputation

    rng = np.random.default_rng(4)
    images = rng.random((7, 2, 6, 5))
    removed = rng.random((7, 6, 5)) < np.array([0.9, 0.0, 0.5, 1.0, 0.2, 0.97, 0.6])[:, None, None]
    whole = linear_imputation(images, removed)
    for chunk in (1, 20, 45):          # below one image's unknowns, about one image, a few images
        monkeypatch.setattr(imputation, "CHUNK", chunk)
        np.testing.assert_allclose(linear_imputation(images, removed), whole, rtol=0, atol=1e-13)


def test_road_imputation_equals_quantus_noisy_linear_imputation_without_noise():
    """Compared: the imputed images of Quantus 0.6's ``noisy_linear_imputation`` (what its ``ROAD``
    metric calls) with ``noise=0`` and ours, on 4 random 3-channel 12x10 images with 5% to 90% of the
    pixels removed; float64 to 1e-12 (the same equations, assembled and solved differently)."""
    from quantus.functions.perturb_func import noisy_linear_imputation

    rng = np.random.default_rng(3)
    images = rng.random((4, 3, 12, 10))
    removed = rng.random((4, 12, 10)) < np.array([0.05, 0.3, 0.6, 0.9])[:, None, None]
    values = linear_imputation(images, removed)
    ours = images.transpose(0, 2, 3, 1).copy()
    ours[removed] = values
    ours = ours.transpose(0, 3, 1, 2)
    for k in range(4):
        theirs = noisy_linear_imputation(images[k].copy(), np.flatnonzero(removed[k].reshape(-1)), noise=0.0)
        np.testing.assert_allclose(ours[k], theirs, rtol=0, atol=1e-12)


def test_road_curve_equals_quantus_road_without_noise():
    """Compared: Quantus 0.6's ``ROAD`` metric (noise 0, percentages 10..90) and our MoRF curve with the
    ``road`` operator (noise 0), both as "the top class is still predicted" per image and
    percentage, on 6 random 1-channel 8x8 images (Quantus's ROAD flattens the attribution over
    channels) with tie-free attributions: every flag equal."""
    import quantus

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(256, 3)).eval()
    rng = np.random.default_rng(5)
    x = rng.random((6, 1, 8, 8)).astype(np.float32)
    a = rng.random((6, 1, 8, 8)).astype(np.float32)
    with torch.no_grad():
        y = model(torch.from_numpy(x)).argmax(1).numpy()
    percentages = [10, 30, 50, 70, 90]
    theirs = []
    for k in range(6):   # one image per call: the metric returns {percentage: mean over the batch}
        metric = quantus.ROAD(percentages=percentages, noise=0.0, normalise=False, abs=False, disable_warnings=True,
                              display_progressbar=False)
        metric(model=model, x_batch=x[k:k + 1], y_batch=y[k:k + 1], a_batch=a[k:k + 1], device="cpu", softmax=False,
               channel_first=True)
        theirs.append([metric.evaluation_scores[p] for p in percentages])
    unit = bind_operator(PixelUnit(), "road", noise=0.0)
    fractions = np.array([int(64 * p / 100) / 64 for p in percentages])
    ours = []
    for k in range(6):
        curve = faithfulness_curves(model, [torch.from_numpy(x[k])], [a[k, 0].reshape(-1)], unit, fractions=fractions,
                                    targets=[int(y[k])], score_fn=lambda out: out - out.max(1, keepdim=True).values)
        ours.append(curve[0] == 0)   # the top class is still the top class
    np.testing.assert_array_equal(np.asarray(ours, dtype=int), np.asarray(theirs, dtype=int).reshape(6, -1))


def test_road_noise_is_seeded_per_image_and_an_all_removed_image_takes_the_mean_colour():
    gen = torch.Generator().manual_seed(2)
    image = torch.rand(3, 6, 6, generator=gen)
    removed = [torch.rand(2, 36, generator=gen) < 0.5]
    plain = bind_operator(PixelUnit(), "road", noise=0.0).forward_removed(Echo(), [image], removed)
    noisy = bind_operator(PixelUnit(), "road", noise=0.01)
    a = noisy.forward_removed(Echo(), [image], removed)
    assert torch.equal(a, noisy.forward_removed(Echo(), [image], removed))
    diff = (a - plain).view(2, 3, 36)
    m = removed[0].unsqueeze(1).expand(2, 3, 36)
    assert (diff[~m] == 0).all() and 0.003 < float(diff[m].std()) < 0.03
    other = bind_operator(PixelUnit(), "road", noise=0.01, seed=1).forward_removed(Echo(), [image], removed)
    assert not torch.equal(a, other)
    colour = [0.2, 0.4, 0.6]
    whole = bind_operator(PixelUnit(), "road", {"mean_colour": colour}, noise=0.0).forward_removed(
        Echo(), [image], [torch.ones(1, 36, dtype=torch.bool)]).view(3, 36)
    want = torch.tensor(colour).view(3, 1).expand(3, 36).double()          # float32 images: the colour in float32
    torch.testing.assert_close(whole, want)


# ------------------------------------------------------------------------- registry, binding, errors
def test_a_user_registered_operator_is_used_by_the_curves():
    @register_operator("test_half_grey", unit="pixel")
    class HalfGrey(PixelOperator):
        def fill(self, images, removed, keys):
            return images.masked_fill(removed.unsqueeze(1), 0.5)

    assert "test_half_grey" in operator_names("pixel") and "test_half_grey" not in operator_names("token")

    class Sum(nn.Module):
        def __init__(self):
            super().__init__()
            self.p = nn.Parameter(torch.zeros(()))

        def forward(self, x):
            return x.flatten(1).sum(1, keepdim=True) + self.p

    unit = bind_operator(PixelUnit(), "test_half_grey")
    assert unit.operator == "test_half_grey" and PixelUnit().operator == "baseline"
    x = torch.ones(1, 2, 2)
    curve = faithfulness_curves(Sum(), [x], [np.array([4.0, 3.0, 2.0, 1.0])], unit, fractions=np.array([0, 0.5, 1]))
    assert curve.tolist() == [[4.0, 3.0, 2.0]]   # each removed pixel: 1 -> 0.5
    with pytest.raises(ValueError, match="already registered"):
        register_operator("test_half_grey", unit="pixel")(type("Other", (PixelOperator,), {"fill": HalfGrey.fill}))


def test_binding_errors_name_the_problem():
    with pytest.raises(ValueError, match="no removal operator 'blur' for token units; registered: baseline"):
        bind_operator(TokenUnit(), "blur")
    with pytest.raises(ValueError, match=r"needs \['oov_id'\]"):
        create_operator("oov", "token", {"frequencies": [1.0]})
    with pytest.raises(ValueError, match="removes pixel units; word is a token unit"):
        TokenUnit(name="word").with_operator(create_operator("blur", "pixel"))
    with pytest.raises(ValueError, match=r"text.faithfulness.operators: no removal operator 'blurr'"):
        bind_operators(TokenUnit(), ["baseline", "blurr"], key="text.faithfulness.operators")
    with pytest.raises(ValueError, match="listed twice"):
        bind_operators(TokenUnit(), ["delete", "delete"])
    units = bind_operators(TokenUnit(pad_id=0), ["baseline", "delete", "oov"], {"oov_id": 1})
    base = units["baseline"]
    assert list(units) == ["baseline", "delete", "oov"] and isinstance(base, TokenUnit)
    assert [u.operator for u in units.values()] == ["baseline", "delete", "oov"]


def test_a_ranked_unit_binds_its_inner_unit():
    from xairepro.experiments.smiles2vec.explain import RankedUnit

    ranked = RankedUnit(TokenUnit(pad_id=0, name="character"), "abs")
    bound = bind_operator(ranked, "delete")
    assert isinstance(bound, RankedUnit) and bound.ranking == "abs" and bound.operator == "delete"
    assert ranked.operator == "baseline"
    out = bound.forward_removed(Echo(), [torch.tensor([4, 5, 6, 0])], [torch.tensor([[True, False, False]])])
    assert out.long().tolist() == [[5, 6, 0, 0]]
