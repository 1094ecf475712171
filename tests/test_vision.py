"""CIFAR-10 experiment pieces on synthetic images: the pre-activation ResNet, device-side
augmentation and batches, resumable training and fine-tuning, the mask network and its rows over
mask seeds, saturation of the score and of the blocks, completeness, and the faithfulness protocol
(the pixel AOPC checked against an independent loop over the same region perturbation; the suite's
tables in the shared schema)."""
import numpy as np
import pytest
import torch

from torch import nn

from xairepro.attribution import IntegratedGradients, SoftmaxScore, VanillaGrad
from xairepro.context import RunContext
from xairepro.evaluation.units import PixelUnit
from xairepro.experiments.methods import FAITHFULNESS_COLUMNS, SKIPPED_COLUMNS
from xairepro.experiments.suite import LABELS
from xairepro.experiments.vision import (aopc, counterfactuals, data, layers, masks, reproduction, saliency, settings,
                                         targets, training)
from xairepro.models import build_model
from xairepro.training import load_checkpoint

from conftest import TOY_METHOD


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: on a shared 2-core machine more threads only oversubscribe it."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def fake_cache(n_train=40, n_test=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    # class k: a bright square in a class-specific corner, so a tiny network can learn something
    def make(n):
        y = torch.arange(n) % 10
        x = torch.randint(0, 60, (n, 3, 32, 32), generator=g, dtype=torch.uint8)
        for i, k in enumerate(y.tolist()):
            r, c = 4 * (k // 4), 4 * (k % 4) + 8
            x[i, :, r:r + 8, c:c + 8] = 250
        return x, y
    (xtr, ytr), (xte, yte) = make(n_train), make(n_test)
    return {"source": "synthetic", "classes": [str(k) for k in range(10)],
            "x_train": xtr, "y_train": ytr, "x_test": xte, "y_test": yte}


TINY = {"arch": "preact_resnet", "depth": 8, "block": "basic", "dropout": 0.0, "width": 4}
TRAIN = {"epochs": 2, "batch_size": 16, "lr": 0.05, "optimizer": "sgd", "momentum": 0.9, "nesterov": True,
         "schedule": "onecycle"}


def test_preact_resnet_depths_features_and_errors():
    r164 = build_model("preact_resnet", depth=164, block="bottleneck")
    assert r164.n_features == 256  # the masks paper's 256-d bottleneck vector
    assert 1.6e6 < sum(p.numel() for p in r164.parameters()) < 1.8e6
    r20 = build_model("preact_resnet", depth=20)
    assert r20.n_features == 64 and 2.6e5 < sum(p.numel() for p in r20.parameters()) < 2.8e5
    assert r20(torch.rand(2, 3, 32, 32)).shape == (2, 10)
    assert not any(isinstance(m, torch.nn.Dropout) and m.p > 0 for m in r20.modules())
    with pytest.raises(ValueError, match="depth = 9n"):
        build_model("preact_resnet", depth=21, block="bottleneck")
    with pytest.raises(ValueError, match="block"):
        build_model("preact_resnet", depth=20, block="wide")


def test_augment_is_a_padded_crop_or_its_mirror():
    torch.manual_seed(0)
    n = 200
    x = torch.rand(n, 3, 8, 8)
    out = data.augment(x, pad=2)
    assert out.shape == x.shape
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    draws = []
    for i in range(n):
        # every image is exactly one of the 25 crops of its padded copy, or the mirror of one
        hits = [(r, c, flip) for r in range(5) for c in range(5) for flip in (False, True)
                if torch.equal(out[i], padded[i, :, r:r + 8, c:c + 8].flip(2) if flip
                               else padded[i, :, r:r + 8, c:c + 8])]
        assert len(hits) == 1, (i, hits)
        draws.append(hits[0])
    # the flip is a fair coin per image: 200 draws of p = 0.5 lie in [70, 130] (4.2 sd) ...
    n_flipped = sum(flip for _, _, flip in draws)
    assert 70 <= n_flipped <= 130
    # ... and the offsets are uniform over the 5 x 5 grid: all used, none dominating (expected 8 each)
    offsets = {}
    for r, c, _ in draws:
        offsets[r, c] = offsets.get((r, c), 0) + 1
    assert len(offsets) == 25 and max(offsets.values()) <= 24


def test_tensor_batches_cover_each_image_once_per_epoch():
    x = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1).expand(10, 3, 2, 2).contiguous()
    y = torch.arange(10)
    batches = data.TensorBatches(x, y, 4)
    assert len(batches) == 3
    torch.manual_seed(1)
    seen = torch.cat([b[1] for b in batches])
    assert sorted(seen.tolist()) == list(range(10)) and seen.tolist() != list(range(10))
    xb, yb = next(iter(data.TensorBatches(x, y, 4, shuffle=False)))
    assert xb.dtype == torch.float32 and torch.allclose(xb[:, 0, 0, 0] * 255, yb.float())


def test_training_resumes_from_its_checkpoint_to_the_same_weights(tmp_path):
    cache = fake_cache()
    ctx = RunContext(seed=3, device="cpu")
    ref = training.train_vision(cache, TINY, TRAIN, ctx=ctx, checkpoint_dir=tmp_path / "a")
    assert not ref["checkpoint"].exists() or ref["checkpoint"].parent == tmp_path / "a"

    class Stop(Exception):
        pass

    def stop_after_first(row):
        if row["epoch"] == 1:
            raise Stop

    with pytest.raises(Stop):
        training.train_vision(cache, TINY, TRAIN, ctx=ctx, checkpoint_dir=tmp_path / "b", progress=stop_after_first)
    resumed = training.train_vision(cache, TINY, TRAIN, ctx=ctx, checkpoint_dir=tmp_path / "b")
    assert list(resumed["history"]["epoch"]) == [1, 2]
    for a, b in zip(ref["trained"].model.state_dict().values(), resumed["trained"].model.state_dict().values()):
        assert torch.equal(a, b)
    # a changed configuration gets another checkpoint name, so it never resumes a foreign run
    other = training.checkpoint_path(tmp_path, TINY, dict(TRAIN, lr=0.01), ctx, cache)
    assert other != training.checkpoint_path(tmp_path, TINY, TRAIN, ctx, cache)
    # the reported accuracy is the resumed model's share of correct test predictions, recomputed here
    model = resumed["trained"].model.eval()
    with torch.no_grad():
        pred = model(data.to_float(cache["x_test"])).argmax(1)
    hits = (pred == cache["y_test"]).float()
    assert resumed["metrics"]["test_accuracy"] == pytest.approx(float(hits.mean()))
    assert resumed["metrics"]["test_accuracy"] == pytest.approx(ref["metrics"]["test_accuracy"])
    assert resumed["metrics"]["per_class_accuracy"] == pytest.approx(
        [float(hits[cache["y_test"] == k].mean()) for k in range(10)])
    assert resumed["metrics"]["n_train"] == 40 and resumed["metrics"]["n_test"] == 20


def test_training_learns_the_separable_fixture(tmp_path):
    """The class is the position of a bright square, so a small network trained without augmentation
    must score far above the 10% of chance on held-out images (0.6 to 0.9 over fixture seeds 0-7)."""
    cache = fake_cache(n_train=200, n_test=40)
    out = training.train_vision(cache, dict(TINY, width=8), dict(TRAIN, epochs=5, lr=0.01, optimizer="adam"),
                                ctx=RunContext(seed=0, device="cpu"), checkpoint_dir=tmp_path, augmentation=False)
    assert out["metrics"]["test_accuracy"] >= 0.4


def test_train_and_save_rebuilds_by_name(tmp_path):
    torch.save(fake_cache(), tmp_path / "cache.pt")
    history, metrics = training.train_and_save(tmp_path / "cache.pt", TINY, dict(TRAIN, epochs=1),
                                               tmp_path / "model.pt", ctx=RunContext(seed=0, device="cpu"))
    model, ckpt = load_checkpoint(tmp_path / "model.pt")
    x = data.to_float(fake_cache()["x_test"])
    acc = training.accuracy(model, x, fake_cache()["y_test"])
    assert acc == pytest.approx(metrics["test_accuracy"])
    assert not list(tmp_path.glob("checkpoint-*.pt"))  # removed once the model is written
    assert {"val_accuracy", "images_per_s"} <= set(history.columns)


def test_mask_net_trains_only_itself_and_round_trips(tmp_path):
    torch.manual_seed(0)
    model = build_model("preact_resnet", depth=8, width=4).eval()  # 16-d features -> 4 x 4 map
    before = {k: v.clone() for k, v in model.state_dict().items()}
    cache = fake_cache()
    cfg = {"width": 4, "n_convs": 2, "l2": 1e-4, "epochs": 1, "batch_size": 8, "lr": 1e-2, "n_train": 24,
           "n_examples": 3}
    out = masks.train_vision_mask(model, cache, cfg, ctx=RunContext(seed=0, device="cpu"))
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    m = out["examples"]["masks"]
    assert m.shape == (3, 32, 32) and m.min() >= 0 and m.max() <= 1
    # the test metrics recomputed by hand: the frozen model on the image times its mask
    x_test, y_test = data.to_float(cache["x_test"]), cache["y_test"]
    with torch.no_grad():
        mask = out["net"].mask(x_test)
        masked_pred = model(x_test * mask).argmax(1)
        plain_pred = model(x_test).argmax(1)
    metrics = out["metrics"]
    assert metrics["masked_accuracy"] == pytest.approx(float((masked_pred == y_test).float().mean()))
    assert metrics["test_accuracy"] == pytest.approx(float((plain_pred == y_test).float().mean()))
    assert metrics["agreement"] == pytest.approx(float((masked_pred == plain_pred).float().mean()))
    assert metrics["mask_mean"] == pytest.approx(float(mask.mean()), rel=1e-5) and 0 < metrics["mask_mean"] < 1
    twice = masks.train_vision_mask(model, cache, cfg, ctx=RunContext(seed=0, device="cpu"))
    assert np.array_equal(twice["examples"]["masks"], m)  # a fixed seed gives the same mask network
    masks.save_mask_net(tmp_path / "mask.pt", out["net"])
    again = masks.load_mask_net(tmp_path / "mask.pt", model, device="cpu")
    x = torch.rand(2, 3, 32, 32)
    assert torch.allclose(again.mask(x), out["net"].mask(x))
    with pytest.raises(ValueError, match="square"):
        masks.CifarMaskNet(build_model("preact_resnet", depth=8, width=3))


def test_saturation_curves_and_completeness():
    torch.manual_seed(0)
    model = build_model("preact_resnet", depth=8, width=4).eval()
    x = torch.rand(3, 3, 32, 32)
    curves = counterfactuals.saturation_curves(model, x, np.linspace(0, 1, 5))
    at_one = curves[curves["alpha"] == 1.0].sort_values("image")
    with torch.no_grad():
        probs = torch.softmax(model(x), -1)
    assert np.allclose(at_one["softmax"], probs.max(1).values.numpy(), atol=1e-6)
    flat = {"image": [0] * 3, "alpha": [0.0, 0.9, 1.0], "softmax": [0.0, 1.0, 1.0]}
    import pandas as pd
    assert counterfactuals.tail_share(pd.DataFrame(flat)).iloc[0] == 0.0
    cfg = {"n_images": 4, "n_alphas": 5, "interior_alphas": [0.1, 0.5, 1.0], "n_interior": 2, "n_grid": 2,
           "n_steps": 64, "ig_rule": "trapezoid"}
    out = counterfactuals.counterfactuals_study({"model": model, "data": fake_cache()}, cfg,
                                                ctx=RunContext(seed=0, device="cpu"))
    comp = out["completeness"]
    assert np.allclose(comp["ig_sum"], comp["delta"], atol=0.02 * comp["delta"].abs().max() + 1e-4)
    assert out["arrays"]["interior_maps"].shape == (2, 3, 32, 32)
    assert out["arrays"]["ig_maps"].shape == (2, 32, 32)



def test_layer_saturation_measures_the_distance_of_every_block_to_the_image():
    torch.manual_seed(0)
    model = build_model("preact_resnet", depth=8, width=4).eval()
    x = torch.rand(3, 3, 32, 32)
    alphas = np.linspace(0, 1, 6)
    dist = layers.layer_distances(model, x, alphas, max_batch=7)  # chunks of one image
    names = [n for n, _ in layers.block_modules(model)] + ["features"]
    assert names == ["stage1.0", "stage2.0", "stage3.0", "features"]
    assert len(dist) == 3 * len(names) * len(alphas)
    at_one = dist[dist["alpha"] == 1.0]
    assert np.allclose(at_one[["rel_l2", "cosine"]].to_numpy(), 0.0, atol=1e-6)  # the image itself
    # one block by hand: relative L2 distance of stage2's output at alpha = 0.4
    got = {}
    handle = model.stage2.register_forward_hook(lambda m, i, o: got.setdefault("out", o))
    with torch.no_grad():
        model.features(torch.cat([0.4 * x[1:2], x[1:2]]))
    handle.remove()
    a, ref = got["out"][0].flatten(), got["out"][1].flatten()
    row = dist.query("image == 1 and block == 'stage2.0'").set_index("alpha")
    assert row.loc[0.4, "rel_l2"] == pytest.approx(float((a - ref).norm() / ref.norm()), rel=1e-5)
    assert row.loc[0.4, "cosine"] == pytest.approx(float(1 - torch.nn.functional.cosine_similarity(a, ref, 0)),
                                                   abs=1e-6)
    with pytest.raises(ValueError, match="end at 1"):
        layers.layer_distances(model, x, [0.0, 0.5])


def test_layer_summary_gives_the_linear_share_for_a_linear_block_and_more_when_it_saturates():
    alphas = np.linspace(0, 1, 11)
    rows = [{"image": i, "block": b, "depth": d, "alpha": a, "rel_l2": f(a), "cosine": 0.1 * f(a)}
            for i in range(3) for d, (b, f) in enumerate((("linear", lambda a: 1 - a),
                                                          ("saturating", lambda a: (1 - a) ** 3),
                                                          ("features", lambda a: (1 - a) ** 2)))
            for a in alphas]
    out = layers.layer_summary(__import__("pandas").DataFrame(rows), 0.5, 0.6)
    assert out["block_share"]["linear"] == pytest.approx(0.5)  # an affine response: exactly the alpha
    assert out["block_share"]["saturating"] == pytest.approx(1 - 0.5 ** 3)
    assert out["min_block_share"] == pytest.approx(0.5) and out["min_share_block"] == "linear"
    assert out["deepest_block"] == "saturating"  # the last residual block, not the pooled features
    assert out["deepest_cosine"] == pytest.approx(0.1 * 0.4 ** 3)
    target = next(t for t in targets.TARGETS if t.id == "counterfactuals.cifar10.layer_saturation")
    assert target.evaluate({"min_block_share": out["min_block_share"]}) is False  # a linear block fails the claim


def test_counterfactuals_study_reports_the_layer_saturation():
    torch.manual_seed(0)
    model = build_model("preact_resnet", depth=8, width=4).eval()
    cfg = {"n_images": 2, "n_alphas": 6, "interior_alphas": [0.5, 1.0], "n_interior": 1, "n_grid": 1,
           "n_steps": 8, "ig_rule": "trapezoid"}
    out = counterfactuals.counterfactuals_study({"model": model, "data": fake_cache()}, cfg,
                                                ctx=RunContext(seed=0, device="cpu"))
    summary = out["summary"]["layers"]
    assert set(out["layers"]["block"]) == set(summary["blocks"]) and summary["n_images"] == 2
    assert summary["min_block_share"] == pytest.approx(min(summary["block_share"].values()))
    row = reproduction._layer_row(summary, "quick")
    assert row["id"] == "counterfactuals.cifar10.layer_saturation" and "stage1.0" in row["note"]


def test_finetuning_starts_from_the_given_weights(tmp_path):
    cache = fake_cache()
    ctx = RunContext(seed=0, device="cpu")
    base = training.train_vision(cache, TINY, dict(TRAIN, epochs=1), ctx=ctx, checkpoint_dir=tmp_path / "a")
    init = {k: v.clone() for k, v in base["trained"].model.state_dict().items()}
    spec = dict(TINY, dropout=0.5)
    still = dict(TRAIN, epochs=1, lr=1e-12, weight_decay=0.0)  # a one-cycle that barely moves the weights
    tuned = training.train_vision(cache, spec, still, ctx=ctx, checkpoint_dir=tmp_path / "b", init=init)
    fresh = training.train_vision(cache, spec, still, ctx=ctx, checkpoint_dir=tmp_path / "c")
    w = "stage1.0.conv1.weight"
    assert torch.allclose(tuned["trained"].model.state_dict()[w], init[w], atol=1e-8)
    assert not torch.allclose(fresh["trained"].model.state_dict()[w], init[w], atol=1e-3)
    assert tuned["metrics"]["finetuned_from_digest"] == training.state_digest(init)
    assert tuned["metrics"]["kwargs"]["dropout"] == 0.5
    # the starting weights are part of the run's fingerprint: another start never resumes this checkpoint
    assert training.checkpoint_path(tmp_path, spec, still, ctx, cache, init="a") != \
        training.checkpoint_path(tmp_path, spec, still, ctx, cache, init="b")
    with pytest.raises(ValueError, match="do not fit"):
        training.train_vision(cache, dict(TINY, width=8), still, ctx=ctx, checkpoint_dir=tmp_path / "d", init=init)


def test_masked_accuracy_row_over_mask_seeds_gives_counts_and_the_verdict():

    def metrics(seed, masked, mean):
        return {"seed": seed, "test_accuracy": 0.80, "masked_accuracy": masked, "mask_mean": mean,
                "share_below_0.5": 0.7}
    seeds = [metrics(0, 0.79, 0.3), metrics(1, 0.70, 0.3), metrics(2, 0.78, 0.6), metrics(3, 0.785, 0.2),
             metrics(4, 0.60, 0.2)]
    row = reproduction.mask_seed_row(seeds, "quick", "note")
    import json

    measures = json.loads(row["measures"])
    assert [p["accuracy_drop"] for p in measures["per_seed"]] == pytest.approx([0.01, 0.10, 0.02, 0.015, 0.20])
    target = next(t for t in targets.TARGETS if t.id == row["id"])
    assert target.over_seeds and target.seed_counts(measures) == (2, 5)  # seed 2's mask keeps too much
    assert "holds in 2/5" in row["ours"] and measures["value"] == pytest.approx(0.78)


def _reference_deletion_curve(model, x, scores, target, fractions):
    """An independent loop: blacken the top-k pixels (all channels) one setting at a time."""
    order = np.argsort(-scores, kind="stable")
    out = []
    for f in fractions:
        k = int(np.rint(f * scores.size))
        xk = x.clone().view(3, -1)
        xk[:, order[:k]] = 0.0
        with torch.no_grad():
            out.append(float(torch.softmax(model(xk.view(1, *x.shape)), -1)[0, target]))
    return np.array(out)


class NoDropoutNet(nn.Module):
    """A tiny classifier with no dropout module (BayesGrad cannot apply) that exposes ``features``,
    ``n_features`` and ``fc`` as the mask network needs."""

    def __init__(self, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.conv = nn.Conv2d(3, 16, 5, stride=4, padding=2)
        self.n_features = 16
        self.fc = nn.Linear(16, 10)

    def features(self, x):
        return torch.tanh(self.conv(x)).mean((-2, -1))

    def forward(self, x):
        return self.fc(self.features(x))


ALL_METHODS = ["integrated_gradients", "vanilla_grad", "smoothgrad", "bayesgrad", "bayes_smoothgrad",
               "input_x_gradient", "occlusion", "shapley_sampling", "explanation_mask", "random"]


def aopc_cfg(methods, dropout_methods, **extra):
    return dict({"n_examples": 3, "steps": 5, "max_fraction": 0.1, "mc_samples": 3, "background": 4,
                 "method_options": {"smoothgrad": {"stdevs": 0.15}, "bayes_smoothgrad": {"stdevs": 0.15},
                                    "integrated_gradients": {"n_steps": 8}, "random": {"M": 2},
                                    "occlusion": {"sliding_window_shapes": [3, 8, 8], "strides": [3, 8, 8]},
                                    "shapley_sampling": {"feature_mask": 8, "estimator": "permutation", "M": 2}},
                 "sanity_steps": ["all"], "methods": methods, "dropout_methods": dropout_methods,
                 "operators": ["baseline"]}, **extra)


@pytest.mark.slow  # a subprocess or a dry run: ~10-20 s (the fast tier stays under a minute)
def test_aopc_study_matches_an_independent_region_perturbation():
    torch.manual_seed(0)
    clf = build_model("preact_resnet", depth=8, width=4).eval()
    drop = build_model("preact_resnet", depth=8, width=4, dropout=0.5).eval()
    cfg = aopc_cfg(["integrated_gradients", "vanilla_grad", "smoothgrad", "occlusion", "random"],
                   ["vanilla_grad", "bayesgrad", "random"], sanity_steps=None)  # no randomisation check here
    ctx = RunContext(seed=0, device="cpu")
    out = aopc.aopc_study({"data": fake_cache(), "models": {"classifier": clf, "dropout": drop}}, cfg, ctx=ctx)
    summ = out["summary"]
    assert set(summ[summ["model"] == "classifier"]["method"]) == set(cfg["methods"])
    assert set(summ[summ["model"] == "dropout"]["method"]) == set(cfg["dropout_methods"])
    assert "classifier_integrated_gradients_vs_vanilla_grad" in out["stats"]
    assert out["stats"]["n_pixels_removed"] == 102 and not len(out["sanity"])
    # recompute the IG deletion AOPC of each image with the method built directly and an independent loop
    x, _ = data.test_images(fake_cache(), 3, offset=1)
    with torch.no_grad():
        top = clf(x).argmax(1)
    attr = IntegratedGradients(SoftmaxScore(clf), target=top, n_steps=8, method="trapezoid").compute(x)
    fractions = np.linspace(0, 0.1, 6)
    per = out["per_example"].query("model == 'classifier' and method == 'integrated_gradients'").sort_values("example")
    for i in range(3):
        scores = attr.samples[0, i].abs().sum(0).numpy().ravel()
        curve = _reference_deletion_curve(clf, x[i], scores, int(top[i]), fractions)
        assert per["deletion_aopc"].iloc[i] == pytest.approx((curve[0] - curve).mean(), abs=1e-5)
    # the random floor averages its M orders: its curve is not one of a single order's
    assert len(out["curves"].query("model == 'classifier' and method == 'random' and mode == 'deletion'")) == 6


def test_suite_tables_have_the_shared_schema_the_plugin_and_a_sanity_row_for_every_applied_method():
    """The leaderboard protocol on both networks: every method of each network's list, a registered
    plugin among them, in the shared schemas of the seven tables; the methods that cannot explain a
    network come back as skipped rows with the reason; every applied method has sanity rows; the
    sampled methods have uncertainty rows; the leaderboard shows the classifier's cells, the dropout
    variant's only for the MC-dropout methods."""
    from xairepro.evaluation.leaderboard import main_models

    clf = NoDropoutNet().eval()
    drop = build_model("preact_resnet", depth=8, width=4, dropout=0.5).eval()
    mask_net = masks.CifarMaskNet(NoDropoutNet(), width=4, n_convs=2)
    names = ALL_METHODS + [TOY_METHOD]
    dropout_names = ["bayesgrad", "bayes_smoothgrad", "vanilla_grad", "smoothgrad", "input_x_gradient", "random",
                     TOY_METHOD]
    inputs = {"data": fake_cache(), "models": {"classifier": clf, "dropout": drop},
              "mask_nets": {"classifier": mask_net}}
    out = aopc.aopc_study(inputs, aopc_cfg(names, dropout_names), ctx=RunContext(seed=0, device="cpu"))
    per, skipped, sanity, unc, cost = (out[k] for k in ("per_example", "skipped", "sanity", "uncertainty", "cost"))
    assert list(per.columns) == list(FAITHFULNESS_COLUMNS) and list(skipped.columns) == list(SKIPPED_COLUMNS)
    # each table with its verdicts (xairepro.evaluation.verdicts)
    assert list(sanity.columns) == [*LABELS, "method", "randomisation", "layers", "example", "spearman", "verdict_rho",
                                    "passes"]
    assert list(unc.columns) == [*LABELS, "method", "example", "n_units", "spearman_sd_vs_drop", "mean_rho",
                                 "informative"]
    assert list(cost.columns)[:len(LABELS)] == list(LABELS) and {"method", "seconds"} <= set(cost.columns)
    for table in (per, skipped, sanity, unc, cost, out["summary"], out["curves"]):
        assert set(table["experiment"]) == {"vision"} and set(table["unit"]) == {"pixel"}, table.columns
        assert set(table["modality"]) == {"image"} and set(table["replicate"]) == {0}
    ran = {m: set(per.query("model == @m")["method"]) for m in ("classifier", "dropout")}
    assert ran["classifier"] == set(names) - {"bayesgrad", "bayes_smoothgrad"}
    assert ran["dropout"] == set(dropout_names)
    for model in ("classifier", "dropout"):
        toy = per.query("model == @model and method == @TOY_METHOD").sort_values("example")
        assert len(toy) == 3 and np.isfinite(toy["deletion_aopc"]).all()
        # pixels are read as magnitudes, so the sign-flipped input x gradient ranks pixels as input x gradient
        ixg = per.query("model == @model and method == 'input_x_gradient'").sort_values("example")
        np.testing.assert_allclose(toy["deletion_aopc"].to_numpy(), ixg["deletion_aopc"].to_numpy())
        # a sanity row per applied method and image, all at full randomisation; the cost of each
        got = sanity.query("model == @model")
        assert set(got["method"]) == ran[model] and set(got["randomisation"]) == {"all layers"}
        assert (got.groupby("method")["example"].nunique() == 3).all()
        assert set(cost.query("model == @model")["method"]) == ran[model]
    rho = sanity.groupby(["model", "method"])["spearman"].mean()
    assert rho[("classifier", "random")] == pytest.approx(1.0)  # the random order ignores the model
    # the mask follows the randomised network's features (rewired), so its map changes
    assert rho[("classifier", "explanation_mask")] < 0.99
    assert set(unc.query("model == 'dropout'")["method"]) == {"bayesgrad", "bayes_smoothgrad", "smoothgrad"}
    assert unc["spearman_sd_vs_drop"].notna().any()
    reasons = {(r.model, r.method): r.reason for r in skipped.itertuples()}
    assert set(reasons) == {("classifier", "bayesgrad"), ("classifier", "bayes_smoothgrad")}
    assert "dropout" in reasons[("classifier", "bayesgrad")]
    shown = main_models(per)
    assert {m for (_, m), model in shown.items() if model == "dropout"} == {"bayesgrad", "bayes_smoothgrad"}
    assert out["stats"]["seconds"]["classifier"].keys() == ran["classifier"]


def test_mask_net_rewired_to_another_model_keeps_its_weights_and_reads_that_models_features():
    torch.manual_seed(0)
    trained, other = NoDropoutNet(seed=0), NoDropoutNet(seed=1)
    net = masks.CifarMaskNet(trained, width=4, n_convs=2)
    moved = masks.rewire_mask_net(net, other)
    assert moved.model is other and not any(p.requires_grad for p in other.parameters())
    for k, v in net.trainable_state().items():
        assert torch.equal(v, moved.trainable_state()[k]), k
    x = torch.rand(2, 3, 32, 32)
    assert torch.allclose(masks.rewire_mask_net(net, trained).mask(x), net.mask(x))
    assert not torch.allclose(moved.mask(x), net.mask(x))


def test_saliency_maps_and_spreads_come_from_the_explanations():
    drop = build_model("preact_resnet", depth=8, width=4, dropout=0.5).eval()
    cfg = {"n_images": 2, "methods": ["vanilla_grad", "smoothgrad", "bayesgrad", "bayes_smoothgrad"], "mc_samples": 3,
           "method_options": {"smoothgrad": {"stdevs": 0.15}, "bayes_smoothgrad": {"stdevs": 0.15}}}
    ctx = RunContext(seed=0, device="cpu")
    out = saliency.saliency_study({"model": drop, "data": fake_cache()}, cfg, ctx=ctx)
    names = list(out["methods"])
    assert names == cfg["methods"] and out["maps"].shape == out["spread"].shape == (4, 2, 32, 32)
    assert not out["spread"][names.index("vanilla_grad")].any()  # one sample: no spread
    assert (out["spread"][names.index("bayesgrad")] > 0).any()  # MC dropout samples differ
    assert not np.allclose(out["maps"][names.index("bayesgrad")], out["maps"][names.index("vanilla_grad")])
    # the vanilla map is |gradient of the top class's log-softmax| summed over channels
    x, _ = data.test_images(fake_cache(), 2, offset=2)
    grad = VanillaGrad(saliency.LogSoftmaxScore(drop), target=torch.as_tensor(out["top_class"])).compute(x)
    np.testing.assert_allclose(out["maps"][0], grad.samples[0].abs().sum(1).numpy(), rtol=1e-5, atol=1e-8)
    # on a network without dropout the MC-dropout methods are named as skipped, not dropped silently
    plain = saliency.saliency_study({"model": NoDropoutNet(), "data": fake_cache()}, cfg, ctx=ctx)
    assert list(plain["methods"]) == ["vanilla_grad", "smoothgrad"]
    assert list(plain["skipped_methods"]) == ["bayesgrad", "bayes_smoothgrad"]
    assert all("dropout" in r for r in plain["skipped_reasons"])


def test_settings_explainer_and_example_inputs_from_the_config_section():
    import yaml

    from xairepro.config import resolve_scale
    from conftest import REPO_ROOT

    patches = settings.square_patches(32, 32, 8)
    assert patches.shape == (32, 32) and sorted(patches.unique().tolist()) == list(range(16))
    assert (patches[:8, :8] == 0).all() and (patches[-8:, -8:] == 15).all()
    model = build_model("preact_resnet", depth=8, width=4).eval()
    s = settings.settings(model, {}, max_batch=64, background=torch.zeros(2, 3, 32, 32))
    assert s["baselines"] == 0.0 and s["noise_mode"] == "relative" and s["method"] == "trapezoid"
    assert s["max_batch"] == 64 and s["mask_net"] is None and s["background"].shape == (2, 3, 32, 32)
    bg = settings.background_images(fake_cache(), 4)
    assert bg.shape == (4, 3, 32, 32) and bg.dtype == torch.float32
    assert settings.background_images(fake_cache(), 0) is None
    # an integer feature_mask in the config is square patches of that size; other options pass as given
    opts = settings.image_options({"shapley_sampling": {"feature_mask": 8, "M": 2}, "occlusion": {"strides": [3, 8, 8]}})
    assert torch.equal(opts["shapley_sampling"]["feature_mask"], patches) and opts["shapley_sampling"]["M"] == 2
    assert opts["occlusion"] == {"strides": [3, 8, 8]}
    # the explainer from a config: M of a method from method_options[name]["M"], else mc_samples; the
    # random floor's orders are its M; each method built with its options
    cfg = aopc_cfg([], [])
    names = ["shapley_sampling", "smoothgrad", "occlusion", "random", "integrated_gradients"]
    explainer = settings.explainer(model, cfg, ctx=RunContext(device="cpu", max_batch=64), methods=names)
    assert {m: explainer.samples(m) for m in names} == {"shapley_sampling": 2, "smoothgrad": 3, "occlusion": 3,
                                                         "random": 2, "integrated_gradients": 3}
    built = explainer.build()
    assert torch.equal(built["shapley_sampling"].feature_mask, patches) and built["occlusion"].window == (3, 8, 8)
    assert built["smoothgrad"].options["stdevs"] == 0.15 and built["integrated_gradients"].options["n_steps"] == 8
    x, _ = data.test_images(fake_cache(), 2)
    got = explainer.explain(x, torch.zeros(2, dtype=torch.long))
    assert list(got) == names
    assert got["shapley_sampling"].M == 2 and got["smoothgrad"].M == 3 and got["occlusion"].M == 1
    assert got["random"].M == 2
    # occlusion is additive: the sum over a window's elements is that window's drop
    drops = got["occlusion"].extras["drops"]
    assert drops.shape == (16, 2)
    assert got["occlusion"].samples[0].sum((1, 2, 3)).numpy() == pytest.approx(drops.sum(0).numpy(), rel=1e-4, abs=1e-7)
    # the configured section at every scale: the explainer's M per method, and example inputs of its shape
    raw = yaml.safe_load((REPO_ROOT / "config.yaml").read_text())
    for scale, shapley_m, random_m in (("quick", 2, 1), ("cpu", 5, 5), ("full", 25, 5)):
        vision = resolve_scale(raw, scale)["vision"]
        cfg = dict(vision["aopc"], **vision["attribution"])
        e = settings.explainer(model, cfg, ctx=RunContext(device="cpu"), methods=cfg["methods"])
        assert e.samples("shapley_sampling") == shapley_m and e.samples("random") == random_m
        assert e.samples("smoothgrad") == e.samples("bayesgrad") == vision["attribution"]["mc_samples"]
        assert e.build(["occlusion"])["occlusion"].window == (3, 4, 4)
        assert e.build(["shapley_sampling"])["shapley_sampling"].feature_mask.max() == 63  # 4 x 4 patches
        x = settings.example_inputs(3, vision)
        assert x.shape == (3, 3, 32, 32) and x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1
        assert model(x).shape == (3, 10)


def test_config_section_every_scale_and_bad_method_names_are_named():
    import copy

    import yaml

    from xairepro.config import ConfigError, check_methods, resolve_scale, validate_config
    from conftest import REPO_ROOT

    cfg = yaml.safe_load((REPO_ROOT / "config.yaml").read_text())
    full = resolve_scale(cfg, "full")["vision"]
    assert full["models"]["classifier"] == {"arch": "preact_resnet", "depth": 164, "block": "bottleneck",
                                            "dropout": 0.0}
    assert full["models"]["dropout"]["dropout"] > 0 and full["aopc"]["n_examples"] * full["aopc"]["model_seeds"] >= 150
    assert full["aopc"]["steps"] == 50 and full["aopc"]["max_fraction"] == 0.1
    assert full["mask"]["width"] == 64 and full["mask"]["n_train"] is None  # the paper's mask network
    quick = resolve_scale(cfg, "quick")["vision"]
    assert quick["models"]["classifier"]["depth"] == 20 and quick["train"]["epochs"] <= 3
    assert set(quick["aopc"]["methods"]) >= set(ALL_METHODS)
    # the dropout variant runs the MC-dropout methods with the gradient methods they are compared with
    assert {"bayesgrad", "bayes_smoothgrad", "vanilla_grad", "smoothgrad", "random"} <= set(quick["aopc"]["dropout_methods"])
    assert len(quick["aopc"]["dropout_methods"]) < len(quick["aopc"]["methods"]) - 2  # the classifier is the main model
    assert quick["attribution"]["method_options"]["shapley_sampling"]["M"] < quick["attribution"]["mc_samples"]
    assert quick["finetune"]["dropout"]["from"] == "classifier" and quick["mask"]["n_seeds"] >= 2
    check_methods({"vision": quick})  # every name registered
    # the cpu scale: a ResNet-20 on every image, more epochs, five mask seeds, the full randomisation check
    cpu = resolve_scale(cfg, "cpu")["vision"]
    assert cpu["models"]["classifier"] == dict(quick["models"]["classifier"])
    assert cpu["data"]["n_train_per_class"] is None and cpu["data"]["n_test_per_class"] is None
    assert quick["train"]["epochs"] < cpu["train"]["epochs"] < full["train"]["epochs"]
    assert cpu["train"]["schedule"] == "onecycle" and cpu["mask"]["n_seeds"] >= 5
    assert quick["aopc"]["n_examples"] <= cpu["aopc"]["n_examples"] < full["aopc"]["n_examples"]
    assert cpu["aopc"]["sanity_steps"] == ["half", "all"] and full["aopc"]["sanity_steps"] == ["top", "half", "all"]
    bad_steps = copy.deepcopy(cfg)
    bad_steps["vision"]["aopc"]["sanity_steps"] = ["most"]
    with pytest.raises(ConfigError, match=r"vision\.aopc\.sanity_steps"):
        validate_config(bad_steps)
    bad = copy.deepcopy(cfg)
    bad["vision"]["aopc"]["methods"] = ["ig", "gradient"]  # the old, experiment-local spellings
    validate_config(bad)  # well-formed names: the registry, not the schema, knows them
    with pytest.raises(ConfigError, match=r"vision\.aopc\.methods.*'ig'"):
        check_methods({"vision": resolve_scale(bad)["vision"]})
    bad["vision"]["saliency"]["methods"] = ["Vanilla Grad"]
    with pytest.raises(ConfigError, match=r"vision.*saliency.*methods"):
        validate_config(bad)


def test_pixel_deletion_curve_agrees_with_quantus_region_perturbation():
    """Quantus' RegionPerturbation with 1x1 regions and a black (0) baseline is our deletion curve
    taken one pixel per step: the same drops of the top class's softmax."""
    import quantus  # a third-party reference, pinned in requirements.txt
    from xairepro.evaluation.faithfulness import faithfulness_curves

    torch.manual_seed(0)
    model = build_model("preact_resnet", depth=8, width=4).eval()
    x, _ = data.test_images(fake_cache(), 3)
    with torch.no_grad():
        top = model(x).argmax(1)
    explanation = VanillaGrad(SoftmaxScore(model), target=top).compute(x)
    scores = explanation.samples[0].abs().sum(1, keepdim=True)  # (N, 1, H, W): the pixel unit's score
    k = 12
    metric = quantus.RegionPerturbation(patch_size=1, regions_evaluation=k, order="morf", abs=False,
                                        normalise=False, perturb_baseline=0.0, disable_warnings=True)
    theirs = np.asarray(metric(model=model, x_batch=x.numpy(), y_batch=top.numpy(), a_batch=scores.numpy(),
                               device="cpu", softmax=True))
    unit = PixelUnit(baseline=0.0)
    ours = faithfulness_curves(SoftmaxScore(model), list(x), explanation.units(unit, list(x), "abs"), unit,
                               fractions=np.arange(k + 1) / 1024, targets=top.tolist())
    assert theirs.shape == (3, k)
    np.testing.assert_allclose(ours[:, :1] - ours[:, 1:], theirs, atol=1e-5)
    assert np.abs(theirs).max() > 0


@pytest.mark.slow
def test_aopc_study_model_seed_and_curve_batch():
    """Model seed r explains its own test images (offset 1 + r) and its rows carry r as replicate; the
    curves' batch is the section's value for the job's device (``curve_batch``), and it changes the
    time of the curves, not their numbers."""
    from xairepro.experiments.batching import curve_batch

    torch.manual_seed(0)
    clf = build_model("preact_resnet", depth=8, width=4).eval()
    cfg = aopc_cfg(["vanilla_grad", "random"], [], sanity_steps=None, uncertainty=False)
    ctx = RunContext(seed=0, device="cpu", max_batch=2048)
    cache = fake_cache()
    base = aopc.aopc_study({"data": cache, "models": {"classifier": clf}}, cfg, ctx=ctx)["per_example"]
    seed1 = aopc.aopc_study({"data": cache, "models": {"classifier": clf}, "replicate": 1},
                            dict(cfg, curve_batch={"cpu": 4, "cuda": 4096}), ctx=ctx)["per_example"]
    assert set(base["replicate"]) == {0} and set(seed1["replicate"]) == {1}
    # replicate 1's curves are those of the images at offset 2, recomputed with the default batch
    shifted = dict(cache, x_test=torch.roll(cache["x_test"], -1, 0), y_test=torch.roll(cache["y_test"], -1, 0))
    again = aopc.aopc_study({"data": shifted, "models": {"classifier": clf}}, cfg, ctx=ctx)["per_example"]
    np.testing.assert_allclose(seed1.sort_values(["method", "example"])["deletion_aopc"].to_numpy(),
                               again.sort_values(["method", "example"])["deletion_aopc"].to_numpy(), atol=1e-6)
    assert not np.allclose(base.sort_values(["method", "example"])["deletion_aopc"].to_numpy(),
                           again.sort_values(["method", "example"])["deletion_aopc"].to_numpy())
    assert curve_batch({"curve_batch": {"cpu": 4, "cuda": 4096}}, ctx) == 4
    assert curve_batch({"curve_batch": {"cuda": 4096}}, ctx) == 2048 == curve_batch({}, ctx)
    with pytest.raises(ValueError, match="curve_batch"):
        curve_batch({"curve_batch": 128}, ctx)


def test_no_grad_chunks_are_the_module_and_keep_gradients():
    """Without gradients the wrapped score goes through in chunks of ``rows`` (each chunk one call) and
    gives the module's output; with gradients it is one call, and the gradient is the module's."""
    from xairepro.experiments.batching import NoGradChunks

    torch.manual_seed(0)
    score = SoftmaxScore(build_model("preact_resnet", depth=8, width=4).eval())
    calls = []
    score.register_forward_hook(lambda m, args, out: calls.append(len(args[0])))
    chunked = NoGradChunks(score, 3)
    assert not chunked.training          # the module's mode (a caller restoring it keeps batch norm in eval)
    x = torch.rand(7, 3, 32, 32)
    with torch.no_grad():
        np.testing.assert_allclose(chunked(x).numpy(), score(x).numpy(), atol=1e-6)
    assert calls == [3, 3, 1, 7]
    x.requires_grad_(True)
    chunked(x)[:, 0].sum().backward()
    g = x.grad.clone()
    x.grad = None
    score(x)[:, 0].sum().backward()
    assert calls[4:] == [7, 7] and torch.allclose(g, x.grad)
    with pytest.raises(ValueError, match="at least 1 row"):
        NoGradChunks(score, 0)
