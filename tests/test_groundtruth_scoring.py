"""The reliance check's verdict on toy models that use or ignore the planted evidence, and every
task scored through the stage's code path with a method registered in the test (issue 29: a user's
own method appears in every task's localisation table)."""
import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from xairepro.attribution import GradientAttribution, register_method
from xairepro.attribution import registry
from xairepro.attribution.core import Result
from xairepro.context import RunContext
from xairepro.groundtruth.gather import comparisons, localisation_scores, summary
from xairepro.groundtruth.reliance import depends_on_evidence, relies, reliance_table, task_verdicts
from xairepro.groundtruth.study import LOCALISATION_TABLE_COLUMNS, score_model
from xairepro.groundtruth.tasks import make_images_task, make_peptides_task, make_tables_task, make_text_task

CTX = RunContext(seed=0, device="cpu")
ALPHABET = "-ACDEFGHIKLMNPQRSTVWY"


# ----------------------------------------------------------------------------- toy tasks and models
def tables_task():
    gen = np.random.default_rng(0)
    y = np.arange(90) % 3
    x = gen.normal(size=(90, 4)).astype(np.float32) * 0.1
    x[:, 2:] += y[:, None]                      # the "petal" columns encode the class
    return make_tables_task(x, y, ["a", "b", "c", "d"], {"evidence": ["c", "d"], "n_noise": 3, "test_fraction": 0.34}, 0)


class Centres(nn.Module):
    """Logit of class k: minus the squared distance of two columns (``cols``) to k."""

    def __init__(self, cols):
        super().__init__()
        self.cols = list(cols)
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, x):
        c = torch.arange(3, dtype=x.dtype)
        return -self.scale * sum((x[:, j:j + 1] - c) ** 2 for j in self.cols)


def images_task():
    g = torch.Generator().manual_seed(0)
    cache = {"x_train": torch.randint(110, 146, (20, 3, 32, 32), generator=g, dtype=torch.uint8),
             "y_train": torch.arange(20) % 10,
             "x_test": torch.randint(110, 146, (24, 3, 32, 32), generator=g, dtype=torch.uint8),
             "y_test": torch.arange(24) % 10, "classes": [f"c{i}" for i in range(10)], "source": "toy"}
    return make_images_task(cache, {"patch_size": 4, "share": 0.5, "n_train_per_class": None, "n_test": 24}, 0)


class MatchedFilter(nn.Module):
    """Logit of class k: the largest response of the image to class k's patch (+1 on its white values,
    -1 on its black ones); ``use=False``: to the mean colour only (ignores the patch)."""

    def __init__(self, patches, use=True):
        super().__init__()
        w = patches.float() / 255 * 2 - 1
        self.conv = nn.Conv2d(3, len(w), w.shape[-1], bias=False)
        self.conv.weight.data.copy_(w if use else torch.ones_like(w) * torch.linspace(-1, 1, len(w)).view(-1, 1, 1, 1))

    def forward(self, x):
        return self.conv(x).amax((2, 3))


def text_task():
    from xairepro.experiments.text.data import TextCache

    g = torch.Generator().manual_seed(0)
    ids = torch.randint(2, 12, (40, 10), generator=g)
    ids[:, 8:] = 0
    cache = TextCache(vocab=["<pad>", "<oov>"] + [f"w{i}" for i in range(10)], train_ids=ids[:20],
                      train_labels=torch.arange(20) % 2, test_ids=ids[20:], test_labels=torch.arange(20) % 2,
                      test_review_ids=torch.arange(20), test_ratings=torch.zeros(20, dtype=torch.long), max_len=10)
    return make_text_task(cache, {"share": 0.5, "n_train": None, "n_test": 20}, 0)


class WordVotes(nn.Module):
    """Logits: the sum over the review of its words' embeddings; the planted words vote for their class."""

    def __init__(self, vocab_size=14):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, 2, padding_idx=0)
        self.embedding.weight.data.zero_()
        self.embedding.weight.data[2:12] = 0.01 * torch.randn(10, 2, generator=torch.Generator().manual_seed(0))
        self.embedding.weight.data[12:] = 4 * torch.eye(2)

    def forward(self, ids):
        return self.embedding(ids).sum(1)


def peptides_task():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(1, 21, (60, 12), generator=g)
    ids[:, 10:] = 0
    return make_peptides_task(ids, {"motifs": ["WCM", "MWC"], "test_fraction": 0.4}, 0, ALPHABET)


class MotifLogit(nn.Module):
    """On one-hot peptides ``(N, L, A)``: the best match to motif 1 minus the best match to motif 0."""

    def __init__(self, motifs):
        super().__init__()
        w = torch.zeros(2, len(ALPHABET), len(motifs[0]))
        for k, m in enumerate(motifs):
            for j, c in enumerate(m):
                w[k, ALPHABET.index(c), j] = 1.0
        self.conv = nn.Conv1d(len(ALPHABET), 2, len(motifs[0]), bias=False)
        self.conv.weight.data.copy_(w)

    def forward(self, x):
        r = self.conv(x.transpose(1, 2)).amax(-1)
        return 3 * (r[:, 1:] - r[:, :1])


def toys():
    t, i, x, p = tables_task(), images_task(), text_task(), peptides_task()
    return {"tables": (t, Centres([0, 1]), {"mc_samples": 4, "noise_mode": "relative"}),
            "images": (i, MatchedFilter(i["meta"]["patches"]), {"mc_samples": 2}),
            "text": (x, WordVotes(), {"mc_samples": 2, "chunk": 8}),
            "peptides": (p, MotifLogit(p["meta"]["motifs"]), {"mc_samples": 2, "background": 16})}


# ----------------------------------------------------------------------------- reliance
def _probs(model, task, mod):
    return {c: mod.probabilities(model, task, task[f"test_{c}"], ctx=CTX) for c in ("present", "removed", "swapped")}


@pytest.mark.parametrize("name", ["tables", "images"])
def test_reliance_passes_a_model_that_uses_the_evidence_and_fails_one_that_ignores_it(name):
    from xairepro.groundtruth.modalities import modality

    task = tables_task() if name == "tables" else images_task()
    user = Centres([0, 1]) if name == "tables" else MatchedFilter(task["meta"]["patches"])
    ignorer = Centres([2, 3]) if name == "tables" else MatchedFilter(task["meta"]["patches"], use=False)
    mod = modality(name)
    labels = dict(task=name, modality=task["modality"], model="toy", replicate=0)
    uses = reliance_table(_probs(user, task, mod), task["evidence_class"], task["swapped_class"], labels)
    ignores = reliance_table(_probs(ignorer, task, mod), task["evidence_class"], task["swapped_class"], labels)
    acc = uses.set_index("condition")["accuracy"]
    assert acc["present"] == 1.0 and acc["swapped"] == 1.0 and acc["removed"] < 0.5
    assert relies(uses, min_drop=0.3, min_flip=0.5)
    assert not relies(ignores, min_drop=0.3, min_flip=0.5)
    assert depends_on_evidence(_probs(user, task, mod), task["evidence_class"], task["swapped_class"]).all()


def test_reliance_table_counts_by_hand():
    probs = {"present": np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]),
             "removed": np.array([[0.4, 0.6], [0.5, 0.5], [0.3, 0.7]]),
             "swapped": np.array([[0.1, 0.9], [0.7, 0.3], [0.6, 0.4]])}
    t = reliance_table(probs, [0, 1, 0], [1, 0, 1], {"task": "t", "modality": "m", "model": "x", "replicate": 0})
    acc = t.set_index("condition")
    assert acc.loc["present", "accuracy"] == pytest.approx(1.0)
    assert acc.loc["removed", "accuracy"] == pytest.approx(0.0)        # predicted 1, 0 (argmax of a tie), 1
    assert acc.loc["swapped", "accuracy"] == pytest.approx(2 / 3)
    assert acc.loc["swapped", "evidence_class_prob"] == pytest.approx((0.9 + 0.7 + 0.4) / 3)
    assert acc.loc["removed", "evidence_class_prob"] == pytest.approx((0.4 + 0.5 + 0.3) / 3)
    assert relies(t, min_drop=1.0, min_flip=0.6) and not relies(t, min_drop=1.01, min_flip=0.6)
    assert not relies(t, min_drop=1.0, min_flip=0.7)
    assert depends_on_evidence(probs, [0, 1, 0], [1, 0, 1]).tolist() == [True, True, False]



def test_task_verdicts_pass_only_tasks_whose_every_model_relies():
    verdicts = pd.DataFrame({"task": ["images", "images", "text", "text", "tables", "tables"],
                             "relies": [True, True, True, False, False, False],
                             "n_scored": [5, 7, 4, 0, 0, 0]})
    per_task = task_verdicts(verdicts)
    assert list(per_task.index) == ["images", "text", "tables"]       # the tasks' order, not sorted
    assert per_task["relying"].tolist() == [2, 1, 0] and per_task["examples_scored"].tolist() == [12, 4, 0]
    assert per_task["task verdict"].tolist() == ["passed", "partly: failing models not scored",
                                                 "failed: not scored"]

# ----------------------------------------------------------------------------- a user's own method
@pytest.fixture
def toy_method(monkeypatch):
    monkeypatch.setattr(registry, "_METHODS", dict(registry._METHODS))

    @register_method("toy_abs_grad")
    class ToyAbsGrad(GradientAttribution):
        """|gradient|: a user's own method."""

        def _attribute(self, model, call, inputs, M, seed):
            run = self._passes(model, call, inputs, 1, None, seed)
            return Result(run.grads.abs(), run.scores)

    return "toy_abs_grad"


def test_a_registered_method_is_scored_in_every_task(toy_method):
    methods = ["vanilla_grad", toy_method, "random"]
    for name, (task, model, section) in toys().items():
        res = score_model(model, task, dict(section, methods=methods), ctx=CTX, methods=methods,
                          labels={"model": "toy", "replicate": 0}, min_drop=0.3, min_flip=0.5, n_scored=6)
        assert bool(res.verdict["relies"].iloc[0]), (name, res.reliance)
        loc = res.localisation
        assert list(loc.columns) == LOCALISATION_TABLE_COLUMNS
        assert toy_method in set(loc["method"]), (name, loc, res.skipped)
        row = loc.set_index("method").loc[toy_method]
        assert row["n_examples"] == 6 and row["task"] == name
        assert set(res.examples["scores"]) >= {toy_method}
        if name == "tables":
            # the model reads the evidence columns only: |gradient| is 0 on every noise column
            assert row["pointing"] == 1.0 and row["mass"] == pytest.approx(1.0)


def test_summary_comparisons_and_scores_over_models():
    rows = []
    for r, (b, v, s) in enumerate([(0.6, 0.5, 0.55), (0.7, 0.5, 0.5), (0.65, 0.6, 0.6)]):
        for m, val in (("bayesgrad", b), ("vanilla_grad", v), ("smoothgrad", s)):
            rows.append(dict(task="images", modality="image", unit="pixel", model="resnet20", replicate=r, method=m,
                             n_examples=5, prc_auc=val, mass=val / 2, pointing=1.0))
    loc = pd.DataFrame(rows)
    s = summary(loc).set_index("method")
    assert s.loc["bayesgrad", "prc_auc_mean"] == pytest.approx(0.65)
    assert s.loc["bayesgrad", "prc_auc_sd"] == pytest.approx(0.05)
    assert s.loc["bayesgrad", "n_models"] == 3
    c = comparisons(loc).set_index("against")
    assert c.loc["vanilla_grad", "mean_diff"] == pytest.approx((0.1 + 0.2 + 0.05) / 3)
    # 3 models: the paired t-test over the models (a signed-rank test could not reach 0.05)
    from scipy.stats import ttest_rel
    assert (c["test"] == "t").all()
    assert c.loc["smoothgrad", "pvalue"] == pytest.approx(ttest_rel([0.6, 0.7, 0.65], [0.55, 0.5, 0.6]).pvalue)
    assert c.loc["vanilla_grad", "pvalue"] == pytest.approx(ttest_rel([0.6, 0.7, 0.65], [0.5, 0.5, 0.6]).pvalue)
    assert c.loc["vanilla_grad", "verdict"] == "undecided"  # p = 0.12 over 3 models
    sc = localisation_scores(loc).set_index("method")
    assert sc.loc["vanilla_grad", "prc_auc"] == pytest.approx(1.6 / 3) and sc.loc["vanilla_grad", "n_models"] == 3


def test_comparisons_use_the_signed_rank_test_from_six_models_and_say_better_or_worse_at_p_below_005():
    rows = []
    for r in range(6):
        for m, val in (("bayesgrad", 0.6 + 0.01 * r), ("vanilla_grad", 0.5 + 0.005 * r), ("smoothgrad", 0.7)):
            rows.append(dict(task="text", modality="text", unit="word", model="bigru", replicate=r, method=m,
                             n_examples=5, prc_auc=val, mass=val, pointing=1.0))
    c = comparisons(pd.DataFrame(rows)).set_index("against")
    assert (c["test"] == "wilcoxon").all() and c.loc["vanilla_grad", "pvalue"] == pytest.approx(2 / 64)
    assert c.loc["vanilla_grad", "verdict"] == "better" and c.loc["smoothgrad", "verdict"] == "worse"
    # two models: the t-test; one model: no test
    two = comparisons(pd.DataFrame(rows)[lambda t: t["replicate"] < 2]).set_index("against")
    assert (two["test"] == "t").all() and two.loc["vanilla_grad", "n"] == 2
    one = comparisons(pd.DataFrame(rows)[lambda t: t["replicate"] == 0]).set_index("against")
    assert (one["verdict"] == "one model (no test)").all() and one["pvalue"].isna().all()


def test_every_modality_trains_with_its_experiment_recipe_deterministically(tmp_path):
    from xairepro.groundtruth.modalities import modality

    specs = {"tables": ({"arch": "tabular_mlp", "hidden_dim": 8, "n_layers": 2, "dropout": 0.5},
                        {"epochs": 2, "batch_size": 16, "lr": 0.01}),
             "images": ({"arch": "preact_resnet", "depth": 8, "width": 4, "block": "basic", "dropout": 0.5},
                        {"epochs": 1, "batch_size": 8, "lr": 0.05, "optimizer": "sgd", "schedule": "onecycle"}),
             "text": ({"arch": "bigru", "embed_dim": 8, "hidden": 8, "fc_dim": 8, "word_dropout": 0.4},
                      {"epochs": 1, "batch_size": 8, "lr": 0.01}),
             "peptides": ({"arch": "peptide_cnn", "filters": 4, "kernels": [3], "pools": [2], "dense": [8],
                           "dropout": 0.2}, {"epochs": 1, "batch_size": 16, "lr": 0.01})}
    for name, (task, _, _) in toys().items():
        spec, train = specs[name]
        mod = modality(name)
        runs = [mod.train(task, spec, train, ctx=CTX.child(7), workdir=tmp_path / f"{name}{i}") for i in range(2)]
        (a, metrics), (b, _) = runs
        for p, q in zip(a.model.state_dict().values(), b.model.state_dict().values()):
            assert torch.equal(p, q), name              # the same seed gives the same model
        assert any(isinstance(m, nn.Dropout) or "dropout" in type(m).__name__.lower() for m in a.model.modules()), name
        probs = mod.probabilities(a.model, task, task["test_present"], ctx=CTX)
        assert probs.shape == (len(task["evidence_class"]), task["n_classes"]), name
        assert np.allclose(probs.sum(1), 1.0, atol=1e-5), name
        assert metrics["n_train"] == len(task["train_y"]), name
