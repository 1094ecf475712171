"""IMDB text experiment: tokenizer and cache, the packed BiGRU, training (resumable), word
attributions (samples reduced per chunk, per-word spread), the explanation mask in both readings and
over seeds, the leaderboard protocol over words (with a Quantus cross-check of the deletion curve),
reproduction rows over mask seeds, and the workflow slice."""
from __future__ import annotations

import dataclasses
import gzip
import io
import json
import tarfile

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import (
    REPO_ROOT,
    SHARED_DATA,
    TOY_METHOD,
    copy_workflow,
    needs_shared_data,
    run_snakemake,
)

from xairepro.attribution import SoftmaxScore
from xairepro.config import ConfigError, load_config
from xairepro.context import RunContext
from xairepro.experiments.methods import FAITHFULNESS_COLUMNS, SKIPPED_COLUMNS
from xairepro.evaluation.bounds import BOUND_COLUMNS
from xairepro.experiments.suite import COST_COLUMNS
from xairepro.experiments.text.attributions import (
    GRADIENT,
    IG,
    load_scores,
    saturation_summary,
    save_scores,
    saved_explanations,
    word_attribution_study,
)
from xairepro.experiments.text.data import (
    OOV_ID,
    PAD_ID,
    TextCache,
    TextInputs,
    build_vocab,
    decode,
    encode,
    prepare,
    tokenize,
)
from xairepro.evaluation.sanity import sanity_steps
from xairepro.experiments.text.faithfulness import word_faithfulness_study
from xairepro.experiments.text.mask_readout import mask_seed_tables, polar_shares, top_words, word_polarity
from xairepro.experiments.text.masks import (
    TextAttentionMaskNet,
    TextMaskNet,
    load_mask_net,
    mask_study,
    mask_weights,
    variant_label,
)
from xairepro.experiments.text.reproduction import reproduction_rows
from xairepro.experiments.text.targets import TARGETS
from xairepro.experiments.text.training import train_text
from xairepro.experiments.text.settings import UNIT, example_inputs, explainer, settings, trimmed_batches
from xairepro.experiments.text.words import trim_padding
from xairepro.models import build_model
from xairepro.report.targets import reproduction_table
from xairepro.training import save_checkpoint

CTX = RunContext(seed=0, device="cpu", max_batch=512)
POS = ["a wonderful great film", "great acting and a wonderful story", "i loved it great", "superb and great fun"]
NEG = ["a terrible awful film", "awful acting and a boring story", "i hated it awful", "boring and terrible mess"]


def _imdb_tarball(path):
    """A tiny aclImdb tarball in the real layout (``aclImdb/<split>/<pos|neg>/<id>_<rating>.txt``)."""
    with tarfile.open(path, "w:gz") as tar:
        for split in ("train", "test"):
            for pol, texts, rating in (("pos", POS, 9), ("neg", NEG, 2)):
                for i, text in enumerate(texts * 3):
                    data = f"{text}<br /><br />review {i}".encode()
                    info = tarfile.TarInfo(f"aclImdb/{split}/{pol}/{i}_{rating}.txt")
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("imdb")
    tarball = _imdb_tarball(root / "aclImdb_v1.tar.gz")
    glove = root / "glove.txt.gz"
    with gzip.open(glove, "wt") as fh:
        fh.write("great " + " ".join(["0.5"] * 8) + "\nawful " + " ".join(["-0.5"] * 8) + "\n")
    data = {"n_train": None, "n_test": 16, "vocab_size": 30, "max_len": 8, "glove": True}
    cache, summary = prepare(tarball, data, 0, glove_path=glove, embed_dim=8)
    return TextCache(**cache), summary, tarball


@pytest.fixture(scope="module")
def trained(tiny):
    cache = tiny[0]
    spec = {"arch": "bigru", "embed_dim": 8, "hidden": 6, "fc_dim": 8, "word_dropout": 0.2, "packed": True}
    model, metrics = train_text(cache, spec, {"epochs": 6, "batch_size": 8, "lr": 0.02}, ctx=CTX)
    return model.model.eval(), metrics


def test_tokenizer_strips_html_and_keeps_inner_apostrophes():
    assert tokenize("I didn't LIKE it.<br /><br />The end!") == ["i", "didn't", "like", "it", "the", "end", "!"]
    assert tokenize("<i>x</i>-y 10/10") == ["x", "y", "10", "10"]


def test_vocab_is_most_frequent_then_alphabetical_with_pad_and_oov():
    vocab = build_vocab([["b", "a", "c", "a"], ["b", "d"]], 2)
    assert vocab == ["<pad>", "<oov>", "a", "b"]
    ids = encode([["a", "zzz", "b", "a"], []], vocab, 3)
    assert ids.tolist() == [[2, OOV_ID, 3], [PAD_ID] * 3]
    assert decode(ids[0], vocab) == ["a", "<oov>", "b"]
    with pytest.raises(ValueError, match="vocab_size"):
        build_vocab([["a"]], 0)


def test_prepare_caches_balanced_tokens_and_glove_rows(tiny):
    cache, summary, _ = tiny
    assert cache.train_ids.shape == (24, 8) and cache.test_ids.shape == (16, 8)
    assert int(cache.train_labels.sum()) == 12 and int(cache.test_labels.sum()) == 8
    assert "br" not in cache.vocab and cache.vocab[:2] == ["<pad>", "<oov>"]
    great = cache.vocab.index("great")
    assert torch.allclose(cache.glove[great], torch.full((8,), 0.5)) and summary["glove_found"] == 2
    assert torch.all(cache.glove[PAD_ID] == 0)
    with pytest.raises(ValueError, match="text.data.glove"):
        prepare(tiny[2], {"n_train": 4, "n_test": 4, "vocab_size": 10, "max_len": 4, "glove": True}, 0)
    with pytest.raises(KeyError, match="text.data.max_len"):
        prepare(tiny[2], {"n_train": 4, "n_test": 4, "vocab_size": 10}, 0)


def test_packed_bigru_ignores_trailing_padding_and_matches_unpacked_on_full_rows():
    torch.manual_seed(0)
    packed = build_model("bigru", vocab_size=20, embed_dim=4, hidden=5, word_dropout=0.0, packed=True).eval()
    plain = build_model("bigru", vocab_size=20, embed_dim=4, hidden=5, word_dropout=0.0, packed=False).eval()
    plain.load_state_dict(packed.state_dict())
    x = torch.tensor([[3, 4, 5, 6], [7, 8, 0, 0]])
    out = packed(x)
    assert torch.allclose(out[1], packed(x[1:, :2])[0], atol=1e-6)  # trailing padding changes nothing
    assert torch.allclose(out[0], plain(x[:1])[0], atol=1e-6)
    assert not torch.allclose(plain(x)[1], plain(x[1:, :2])[0], atol=1e-6)  # unpacked: padding runs backward


def test_training_learns_the_toy_sentiment_and_reports_metrics(trained):
    _, metrics = trained
    assert metrics["test_accuracy"] >= 0.9 and metrics["n_test"] == 16 and metrics["glove"]
    assert metrics["hidden"] == 6 and metrics["max_len"] == 8 and metrics["packed"] is True


def test_interrupted_training_resumes_to_the_same_weights(tiny, tmp_path):
    cache = tiny[0]
    spec = {"arch": "bigru", "embed_dim": 8, "hidden": 4, "fc_dim": 4}
    train = {"epochs": 3, "batch_size": 8, "lr": 0.01}
    ref, _ = train_text(cache, spec, train, ctx=CTX, monitor_test=False)

    def stop(row):
        if row["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_text(cache, spec, train, ctx=CTX, resume_base=tmp_path / "model.pt", monitor_test=False,
                   progress=stop)
    assert len(list(tmp_path.glob("model.resume-*.pt"))) == 1
    resumed, _ = train_text(cache, spec, train, ctx=CTX, resume_base=tmp_path / "model.pt", monitor_test=False)
    assert list(resumed.history["epoch"]) == [1, 2, 3] and not list(tmp_path.glob("model.resume-*.pt"))
    for a, b in zip(ref.model.state_dict().values(), resumed.model.state_dict().values()):
        assert torch.allclose(a, b)


ATTRIBUTION_METHODS = ["integrated_gradients", "vanilla_grad", "input_x_gradient", "smoothgrad", "bayesgrad",
                       "occlusion", "random"]
ATTRIBUTION_CFG = {"methods": ATTRIBUTION_METHODS, "n_reviews": 6, "chunk": 4, "mc_samples": 4, "n_table": 2,
                   "n_saturation": 3,
                   "method_options": {"integrated_gradients": {"n_steps": 16, "max_steps": 128, "completeness_tol": 0.01},
                                      "smoothgrad": {"stdevs": 0.1}, "bayes_smoothgrad": {"stdevs": 0.1},
                                      "random": {"M": 3}}}


@pytest.fixture(scope="module")
def attributed(tiny, trained):
    return word_attribution_study(TextInputs(trained[0], tiny[0]), ATTRIBUTION_CFG, ctx=CTX)


def test_word_attributions_complete_and_match_occlusion_by_hand(tiny, trained, attributed):
    cache, model = tiny[0], trained[0]
    comp = attributed["completeness"]
    assert len(comp) == 6 and comp["rel_error"].median() <= 0.01
    assert list(attributed["scores"]) == ATTRIBUTION_METHODS
    idx = attributed["indices"].numpy()
    pad = cache.test_ids[idx] == PAD_ID
    for m in ATTRIBUTION_METHODS:
        rows = 3 if m == "random" else 1  # the random floor keeps each of its M orders
        assert attributed["scores"][m].shape == (rows, 6, 8) and torch.all(attributed["scores"][m][:, pad] == 0)
        assert attributed["orders"][m] is (m == "random")
        # the samples are kept per word, reduced per chunk: M draws of the sampling methods, one otherwise
        samples = attributed["explanations"][m].samples
        assert samples.shape == ({"smoothgrad": 4, "bayesgrad": 4, "random": 3}.get(m, 1), 6, 8)
    # occlusion of word 0 of review 0 = the drop when that word's embedding is zeroed (additive
    # occlusion summed over the word's channels: no special case)
    x, c = cache.test_ids[idx[:1]], int(attributed["classes"][0])
    with torch.no_grad():
        clean = torch.softmax(model(x), -1)[0, c]
        handle = model.embedding.register_forward_hook(lambda m, a, out: out * torch.tensor([0.0] + [1.0] * 7)[None, :, None])
        occluded = torch.softmax(model(x), -1)[0, c]
        handle.remove()
    assert float(attributed["scores"]["occlusion"][0, 0, 0]) == pytest.approx(float(clean - occluded), abs=1e-5)
    # gradient . embedding: vanilla_grad with multiply_by_inputs equals input x gradient at a zero baseline
    assert torch.allclose(attributed["scores"][GRADIENT], attributed["scores"]["input_x_gradient"], atol=1e-7)
    ig_total = attributed["scores"][IG][0].sum(1).numpy()
    assert np.allclose(ig_total, comp["ig_sum"], atol=1e-5)
    assert np.allclose(attributed["scores"][GRADIENT][0].sum(1).numpy(), comp["gradient_sum"], atol=1e-6)
    table = attributed["table"]
    assert len(table) == 2 and all(len(t["words"]) == len(t[IG]) == len(t[GRADIENT]) for t in table)
    path = attributed["path"]
    assert path["review"].nunique() == 3 and path["alpha"].min() == 0.0 and path["alpha"].max() == 1.0
    # at alpha = 1 the path's summed gradient . embedding is the gradient total of the review
    at_input = path[path["alpha"] == 1.0].set_index("review")["gradient_sum"]
    assert np.allclose(at_input.to_numpy(), comp.set_index("review").loc[at_input.index, "gradient_sum"], atol=1e-5)
    assert len(attributed["saturation"]) == 3
    summary = attributed["summary"]
    assert set(summary["seconds"]) == set(ATTRIBUTION_METHODS) and summary["not_applicable"] == {}


def test_reduced_word_samples_keep_the_mean_and_spread_of_the_raw_samples(tiny, trained, attributed):
    """The per-chunk reduction (sum over the embedding channels) is exact: BayesGrad's per-word mean and
    sd equal those of its raw samples, and the spread examples of the notebook carry them."""
    cache, model = tiny[0], trained[0]
    idx = attributed["indices"].numpy()
    ids, classes = cache.test_ids[idx[:4]], attributed["classes"][:4]
    method = explainer(model, ATTRIBUTION_CFG, ctx=CTX, length=ids.shape[1]).build(["bayesgrad"])["bayesgrad"]
    direct = method.compute(ids, M=4, target=classes, seed=CTX.child(0).seed)  # chunk 0 of the study
    reduced = attributed["explanations"]["bayesgrad"]
    reviews = list(ids)
    first4 = saved_explanations({"indices": attributed["indices"], "orders": attributed["orders"],
                                 "samples": {"bayesgrad": reduced.samples}}, 4)["bayesgrad"]
    for a, b in zip(direct.units(UNIT, reviews), first4.units(UNIT, reviews)):
        np.testing.assert_allclose(a, b, atol=1e-6)
    for a, b in zip(direct.unit_spread(UNIT, reviews), first4.unit_spread(UNIT, reviews)):
        np.testing.assert_allclose(a, b, atol=1e-6)
        assert b.max() > 0  # word dropout: the samples differ
    spread = attributed["spread_examples"]
    assert len(spread) == 2 and set(spread[0]["methods"]) == {"smoothgrad", "bayesgrad"}
    for e in spread:
        for m in e["methods"].values():
            assert len(m["mean"]) == len(m["sd"]) == len(e["words"]) and min(m["sd"]) >= 0 and m["M"] == 4
    i = int(np.flatnonzero(idx == spread[0]["review"])[0])
    expected = reduced.samples[:, i][:, cache.test_ids[idx[i]] != PAD_ID]
    np.testing.assert_allclose(spread[0]["methods"]["bayesgrad"]["sd"], expected.std(0, unbiased=True).numpy(), atol=1e-5)


def test_settings_at_the_embedding_of_the_model_passed_and_the_explainer_from_the_config(tiny, trained):
    model = trained[0]
    other = build_model("bigru", vocab_size=len(tiny[0].vocab), embed_dim=model.embedding.embedding_dim, hidden=4)
    for m in (model, other):
        s = settings(m, ATTRIBUTION_CFG, max_batch=64)
        assert s["layer"] is m.embedding and s["max_batch"] == 64 and s["baselines"] == 0.0
        assert s["multiply_by_inputs"] and s["sliding_window_shapes"] == "rows" and s["mask_net"] is None
    # the explainer of every configured scale: M per method from the resolved section, the IG options
    for scale, mc, n_steps, max_steps in (("quick", 16, 32, 256), ("cpu", 32, 32, 256), ("full", 64, 64, 1024)):
        text = load_config(REPO_ROOT / "config.yaml", {"scale": scale})["text"]
        e = explainer(model, text["attribution"], ctx=CTX, length=text["data"]["max_len"])
        assert e.methods == text["attribution"]["methods"] and e.chunk == text["attribution"]["chunk"]
        assert {m: e.samples(m) for m in ("smoothgrad", "bayesgrad", "bayes_smoothgrad", "random")} == {
            "smoothgrad": mc, "bayesgrad": mc, "bayes_smoothgrad": mc, "random": 5}
        ig = e.build(["integrated_gradients"])["integrated_gradients"]
        assert (ig.options["n_steps"], ig.options["max_steps"], ig.options["completeness_tol"]) == (n_steps, max_steps, 0.01)
        assert e.build(["smoothgrad"])["smoothgrad"].options["stdevs"] == 0.15
        assert e.seed(0) == CTX.child(0).seed and e.seed(1) == CTX.child(1).seed != e.seed(0)
        x = example_inputs(5, text)
        assert x.shape == (5, text["data"]["max_len"]) and x.dtype == torch.long
        assert int(x.max()) < text["data"]["vocab_size"] + 2 and bool((x[:, 0] != PAD_ID).all())
        # right-padded: no word after the first padding position
        first_pad = (x == PAD_ID).long().argmax(1)
        assert all(bool((row[int(p):] == PAD_ID).all()) for row, p in zip(x, first_pad) if (row == PAD_ID).any())


def test_word_attributions_need_integrated_gradients_and_the_gradient(tiny, trained):
    cfg = dict(ATTRIBUTION_CFG, methods=["integrated_gradients", "occlusion"])
    with pytest.raises(ValueError, match="vanilla_grad"):
        word_attribution_study(TextInputs(trained[0], tiny[0]), cfg, ctx=CTX)


def test_saturation_summary_tail_share_of_a_straight_and_a_flat_path():
    alpha = np.linspace(0, 1, 11)
    path = pd.DataFrame({"review": [0] * 11 + [1] * 11, "alpha": np.r_[alpha, alpha],
                         "score": np.r_[alpha, np.minimum(alpha / 0.5, 1.0)], "gradient_sum": 0.0})
    comp = pd.DataFrame({"review": [0, 1], "ig_sum": [1.0, 1.0], "gradient_sum": [1.0, 0.0]})
    sat = saturation_summary(path, comp).set_index("review")
    assert sat.loc[0, "tail_share"] == pytest.approx(0.1) and sat.loc[1, "tail_share"] == pytest.approx(0.0)
    assert sat.loc[0, "gradient_to_ig"] == pytest.approx(1.0) and sat.loc[1, "gradient_to_ig"] == 0.0


MASK_CFG = {"head": {"arch": "bigru_mask_head", "hidden": 4, "n_layers": 2, "fc_dim": 8}, "epochs": 2,
            "batch_size": 8, "lr": 0.01, "n_examples": 2, "top_k": 3, "min_count": 1,
            "aopc": {"n_reviews": 6, "steps": 4, "max_fraction": 1.0}}
READINGS = {"sigmoid": {"entropy": 0.5, "sparsity": 0.1}, "attention": {"entropy": 0.5}}


@pytest.fixture(scope="module")
def masked(tiny, trained):
    """Both readings, two mask seeds each (the first seed of each is the one the faithfulness study reads)."""
    before = {k: v.clone() for k, v in trained[0].state_dict().items()}
    out = {(r, seed): mask_study(TextInputs(trained[0], tiny[0]), dict(MASK_CFG, **READINGS[r], reading=r, seed=seed),
                                 ctx=CTX)
           for r in READINGS for seed in (0, 1)}
    return out, before


def test_mask_study_keeps_the_classifier_frozen_and_zero_at_padding(tiny, trained, masked):
    outs, before = masked
    for k, v in trained[0].state_dict().items():
        assert torch.equal(v, before[k]), k
    out = outs[("sigmoid", 0)]
    m = out["metrics"]
    assert m["n_test"] == 16 and len(out["history"]) == 2 and m["reading"] == "sigmoid" and m["seed"] == 0
    assert m["n_aopc_reviews"] == 6
    # the deletion AOPC by hand: on the same seeded 6 reviews, delete the words (to padding) in the
    # order of the mask's weights, highest first, at 0, 1/4, ..., all of each review's words, and
    # average the drop of the softmax of the class the classifier predicts on the full review
    model, cache = trained[0], tiny[0]
    idx = np.sort(np.random.default_rng(CTX.seed).choice(len(cache.test_ids), size=6, replace=False))
    drops = []
    with torch.no_grad():
        for review in cache.test_ids[idx]:
            w = mask_weights(out["net"], review[None])[0][0]
            pos = torch.nonzero(review != PAD_ID).view(-1)
            ranked = pos[torch.from_numpy(np.argsort(-w[pos].numpy(), kind="stable"))]
            c = int(model(review[None]).argmax(1))
            probs = []
            for f in np.linspace(0, 1, 5):
                cut = review.clone()
                cut[ranked[:int(np.rint(f * len(pos)))]] = PAD_ID
                probs.append(float(torch.softmax(model(cut[None]), -1)[0, c]))
            drops.append(np.mean(probs[0] - np.array(probs)))
    assert m["deletion_aopc"] == pytest.approx(np.mean(drops), abs=1e-5)
    net = out["net"]
    net.train()
    assert not net.model.word_dropout.training and net.model.gru.training and net.head.training
    weights = mask_weights(net, tiny[0].test_ids)[0]
    assert torch.all(weights[tiny[0].test_ids == PAD_ID] == 0) and torch.all(weights <= 1)
    assert len(out["examples"]) == 2 and all(len(e["words"]) == len(e["weights"]) for e in out["examples"])
    assert set(out["top_words"]["sentiment"]) == {"positive", "negative"}
    # another mask seed is another network; the test reviews and the examples stay the same
    other = outs[("sigmoid", 1)]
    assert not torch.equal(next(net.head.parameters()), next(other["net"].head.parameters()))
    assert [e["review"] for e in other["examples"]] == [e["review"] for e in out["examples"]]


def test_attention_reading_normalises_over_the_words_and_ignores_trimming(tiny, trained, masked):
    """Attention weights: a softmax over the review's words times their number (mean 1 over the words,
    0 at padding, some word above 1), the same whether the batch is trimmed or not (the head reads
    the review padded to the cached length); the sigmoid reading too."""
    cache = tiny[0]
    net = masked[0][("attention", 0)]["net"]
    assert isinstance(net, TextAttentionMaskNet) and net.reading == "attention" and net.length == cache.max_len
    ids = torch.tensor([[5, 6, 7, 0, 0, 0, 0, 0], [3, 4, 5, 6, 7, 8, 9, 2]])
    with torch.no_grad():
        w = net.mask(ids).squeeze(-1)
        trimmed = net.mask(ids[:1, :3]).squeeze(-1)
    assert torch.allclose(w[0, :3].sum(), torch.tensor(3.0), atol=1e-5) and torch.all(w[0, 3:] == 0)
    assert torch.allclose(w[1].mean(), torch.tensor(1.0), atol=1e-5) and bool((w > 1).any())
    assert torch.allclose(trimmed[0], w[0, :3], atol=1e-6)
    sig = masked[0][("sigmoid", 0)]["net"]
    with torch.no_grad():
        assert torch.allclose(sig.mask(trim_padding(ids[:1])), sig.mask(ids[:1])[:, :3], atol=1e-6)
    # the loss's entropy term is that of the softmax itself: uniform logits give 1, and an attention
    # mask cannot take a sparsity weight (its mean is one by construction)
    with pytest.raises(ValueError, match="sparsity"):
        TextAttentionMaskNet(trained[0], net.head, entropy=0.5, sparsity=0.1)
    m = masked[0][("attention", 0)]["metrics"]
    assert m["mean_weight"] == pytest.approx(1.0, abs=1e-4) and m["sparsity"] == 0.0


def test_the_mask_explains_through_the_registered_method_with_its_weights(tiny, trained, masked):
    model = trained[0]
    ids = tiny[0].test_ids[:5]
    for reading in READINGS:
        net = masked[0][(reading, 0)]["net"]
        e = explainer(model, dict(ATTRIBUTION_CFG, chunk=2), ctx=CTX, length=ids.shape[1], mask_net=net,
                      methods=["explanation_mask"])
        got = dataclasses.replace(e, batches=trimmed_batches).explain(ids, torch.zeros(5, dtype=torch.long))
        assert torch.allclose(got["explanation_mask"].samples[0], mask_weights(net, ids)[0], atol=1e-6)
    missing = explainer(model, ATTRIBUTION_CFG, ctx=CTX, length=ids.shape[1]).build(["explanation_mask"])["explanation_mask"]
    assert "no explanation mask" in missing.reason


def test_mask_net_rejects_a_classifier_whose_gru_mode_matters():
    model = build_model("bigru", vocab_size=10, embed_dim=4, hidden=4)
    model.gru = torch.nn.GRU(4, 4, num_layers=2, dropout=0.3, batch_first=True, bidirectional=True)
    with pytest.raises(ValueError, match="inter-layer dropout"):
        TextMaskNet(model, build_model("bigru_mask_head", in_dim=8, hidden=2))


def test_top_words_rank_by_mean_weight_per_sentiment():
    vocab = ["<pad>", "<oov>", "good", "bad", "the"]
    ids = torch.tensor([[2, 4, 1, 0], [3, 4, 4, 0]])
    weights = torch.tensor([[0.9, 0.1, 1.0, 0.0], [0.8, 0.2, 0.4, 0.0]])
    top = top_words(weights, ids, torch.tensor([1, 0]), vocab, k=2, min_count=1)
    assert top[top["sentiment"] == "positive"]["word"].tolist() == ["good", "the"]
    neg = top[top["sentiment"] == "negative"]
    assert neg["word"].tolist() == ["bad", "the"] and neg["mean_weight"].iloc[1] == pytest.approx(0.3)


def test_word_polarity_counts_reviews_and_the_top_words_claim_reads_it():
    # word 2 in 3 of 4 positive reviews and 0 of 4 negative ones (twice in one review: counted once)
    ids = torch.tensor([[2, 2, 4], [2, 4, 0], [2, 0, 0], [4, 0, 0], [3, 4, 0], [3, 0, 0], [4, 0, 0], [3, 4, 4]])
    labels = torch.tensor([1, 1, 1, 1, 0, 0, 0, 0])
    pol = word_polarity(ids, labels, 5)
    assert pol[2] == pytest.approx(np.log((3 + 1) / (0 + 1))) and pol[3] == pytest.approx(np.log(1 / 4))
    assert pol[4] == pytest.approx(0.0)  # in 3 reviews of each class
    top = pd.DataFrame({"sentiment": ["positive"] * 2 + ["negative"] * 2, "rank": [1, 2, 1, 2], "id": [2, 4, 3, 2]})
    shares = polar_shares(top, pol, k=2)
    assert shares == {"top2_positive_polar": 0.5, "top2_negative_polar": 0.5}


def test_mask_seeds_gather_stability_and_jaccard():
    def top(words):
        return pd.DataFrame({"sentiment": "positive", "rank": range(1, len(words) + 1), "word": words,
                             "id": range(len(words)), "polarity": 1.0})
    metrics = [{"reading": "sigmoid", "seed": s, "masked_accuracy": a} for s, a in ((0, 0.8), (1, 0.7), (2, 0.9))]
    tables = mask_seed_tables(metrics, [top(list("abcdefg")), top(list("abcdxyz")), top(list("avwxyzb"))])
    st = tables["stability"].set_index("word")
    assert st.loc["a", "share_of_seeds"] == 1.0 and st.loc["c", "share_of_seeds"] == pytest.approx(2 / 3)
    assert st.loc["v", "share_of_seeds"] == pytest.approx(1 / 3) and "f" not in st.index  # rank 6: not top 5
    j = tables["jaccard"].iloc[0]
    # top-5 sets {abcde}, {abcdx}, {avwxy}: Jaccard 4/6, 1/9, 2/8
    assert j["n_seeds"] == 3 and j["mean_jaccard"] == pytest.approx((4 / 6 + 1 / 9 + 2 / 8) / 3)
    assert tables["seeds"]["masked_accuracy"].tolist() == [0.8, 0.7, 0.9]


SUITE_LABELS = ["experiment", "modality", "unit", "model", "replicate"]
SUITE_COLUMNS = {"sanity": [*SUITE_LABELS, "method", "randomisation", "layers", "example", "spearman"],
                 "uncertainty": [*SUITE_LABELS, "method", "example", "n_units", "spearman_sd_vs_drop"],
                 "cost": COST_COLUMNS, "bounds": [*SUITE_LABELS, *BOUND_COLUMNS]}
CANONICAL = ["integrated_gradients", "vanilla_grad", "input_x_gradient", "smoothgrad", "bayesgrad",
             "bayes_smoothgrad", "occlusion", "shapley_sampling", "explanation_mask", "random"]


@pytest.fixture(scope="module")
def suite(tiny, trained, attributed, masked, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("text_suite")
    save_scores(attributed, tmp / "scores.pt")
    nets = {}
    for reading in READINGS:
        out = masked[0][(reading, 0)]
        save_checkpoint(tmp / f"{reading}.pt", out["net"].head, out["head"]["arch"], out["head"]["kwargs"],
                        extra={k: out["metrics"][k] for k in ("reading", "entropy", "sparsity", "length")})
        nets[reading] = load_mask_net(tmp / f"{reading}.pt", trained[0])
    inputs = TextInputs(trained[0], tiny[0], scores=load_scores(tmp / "scores.pt"), mask_nets=nets)
    cfg = {"steps": 4, "max_fraction": 1.0, "methods": CANONICAL + [TOY_METHOD], "sanity_steps": "all",
           "operators": ["baseline"]}
    return word_faithfulness_study(inputs, cfg, ctx=CTX), inputs, cfg


def test_faithfulness_suite_tables_have_the_shared_schema(suite, masked):
    """All seven tables, the shared schema; the toy plugin method joins; the mask's second reading is a
    model variant with its own explanation_mask and random rows; shapley_sampling is skipped with its
    reason; the saved head reloads as the same reading."""
    result, inputs, cfg = suite
    assert isinstance(inputs.mask_nets["attention"], TextAttentionMaskNet)
    per_example, curves, summary, skipped = result.per_example, result.curves, result.summary, result.skipped
    ran = [m for m in CANONICAL if m != "shapley_sampling"] + [TOY_METHOD]
    variant = variant_label("bigru", "attention")
    assert list(per_example.columns) == list(FAITHFULNESS_COLUMNS) and list(skipped.columns) == list(SKIPPED_COLUMNS)
    assert set(per_example[["experiment", "modality", "unit"]].itertuples(index=False)) == {("text", "text", "word")}
    assert set(per_example["replicate"]) == {0} and variant == "bigru+attention_mask"
    main = per_example[per_example["model"] == "bigru"]
    assert list(dict.fromkeys(main["method"])) == ran and len(main) == 6 * len(ran)
    assert per_example[per_example["model"] == variant]["method"].value_counts().to_dict() == {
        "explanation_mask": 6, "random": 6}
    assert set(summary[summary["model"] == "bigru"]["method"]) == set(ran)
    assert len(curves) == (len(ran) + 2) * 3 * 5  # deletion, lerf, insertion
    assert skipped["method"].tolist() == ["shapley_sampling"] and "layer" in skipped["reason"].iloc[0]
    first = curves[(curves["mode"] == "deletion") & (curves["fraction"] == 0)]["mean"]
    assert np.allclose(first, first.iloc[0])
    for kind, columns in SUITE_COLUMNS.items():
        assert list(getattr(result, kind).columns) == columns, kind
    # the two readings rank the words differently, so their curves differ
    wide = per_example[per_example["method"] == "explanation_mask"].pivot_table(
        index="example", columns="model", values="deletion_aopc")
    assert not np.allclose(wide["bigru"], wide[variant])
    # the mask job measured the same AOPC on the same reviews
    assert wide["bigru"].mean() == pytest.approx(masked[0][("sigmoid", 0)]["metrics"]["deletion_aopc"], abs=1e-6)
    assert wide[variant].mean() == pytest.approx(masked[0][("attention", 0)]["metrics"]["deletion_aopc"], abs=1e-6)


def test_faithfulness_suite_sanity_uncertainty_cost_and_the_users_method(suite):
    """Sanity rows at the full randomisation for every applied method (the randomised copies explained
    from scratch), uncertainty rows for the sampled methods (BayesGrad runs on the word dropout of the
    main model), cost rows; the toy plugin's reversed order is less faithful than input x gradient."""
    result, inputs, _ = suite
    applied = set(result.per_example["method"])
    assert TOY_METHOD in applied and "bayesgrad" in applied and "bayes_smoothgrad" in applied
    san = result.sanity
    assert set(san["method"]) == applied and set(san["randomisation"]) == {"all layers"}
    assert set(san["layers"]) == {4}  # embedding, GRU, dense, output
    main = san[san["model"] == "bigru"]
    assert main.groupby("method").size().eq(6).all()
    rho = main.groupby("method")["spearman"].mean()
    assert rho["random"] == pytest.approx(1.0)  # the random order ignores the model
    assert rho["integrated_gradients"] < 0.95
    assert set(result.uncertainty["method"]) == {"smoothgrad", "bayesgrad", "bayes_smoothgrad"}
    assert result.uncertainty["spearman_sd_vs_drop"].dropna().between(-1, 1).all()
    assert set(result.cost[result.cost["model"] == "bigru"]["method"]) == applied
    # the methods the attribution study explained are read from its samples, with its seconds
    cost = result.cost[result.cost["model"] == "bigru"].set_index("method")["seconds"]
    assert cost["integrated_gradients"] == pytest.approx(inputs.scores["seconds"]["integrated_gradients"])
    aopc = result.summary[result.summary["model"] == "bigru"].set_index("method")["deletion_aopc"]
    assert aopc[TOY_METHOD] < aopc["input_x_gradient"]
    assert sanity_steps(inputs.model, "all") == [4] and sanity_steps(inputs.model, None) is None


def test_faithfulness_rejects_an_unknown_method(suite):
    _, inputs, cfg = suite
    with pytest.raises(KeyError, match="unknown attribution method"):
        word_faithfulness_study(inputs, dict(cfg, methods=["lime"]), ctx=CTX)


def test_word_deletion_curve_agrees_with_quantus_pixel_flipping(tiny, trained, attributed):
    """Quantus's PixelFlipping over the token sequence (the classifier wrapped to read token ids as
    floats, one word flipped per step to the padding id, the pad positions given the lowest score so
    they come last) is our deletion curve taken one word per step: the same softmax probabilities of
    the predicted class, for integrated gradients' word scores on four reviews."""
    import quantus  # a third-party reference, pinned in requirements.txt

    from xairepro.evaluation.faithfulness import faithfulness_curves

    model = trained[0].eval()

    class FloatTokens(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):  # (N, 1, T) float token ids
            return self.inner(x.reshape(x.shape[0], -1).round().long())

    idx = attributed["indices"].numpy()[:4]
    ids, classes = tiny[0].test_ids[idx], attributed["classes"][:4]
    scores = attributed["scores"][IG][0, :4].numpy()
    a = np.where(ids.numpy() == PAD_ID, scores.min() - 1.0, scores)[:, None, :]  # pads last
    metric = quantus.PixelFlipping(features_in_step=1, perturb_baseline=float(PAD_ID), abs=False, normalise=False,
                                   disable_warnings=True)
    theirs = np.asarray(metric(model=FloatTokens(model).eval(), x_batch=ids.numpy().astype(np.float32)[:, None, :],
                               y_batch=classes.numpy(), a_batch=a.astype(np.float32), device="cpu", softmax=True,
                               channel_first=True))
    reviews = list(ids)
    for i, review in enumerate(reviews):
        n = UNIT.count(review)
        ours = faithfulness_curves(SoftmaxScore(model), [review], [UNIT.scores_at_units(review, scores[i])], UNIT,
                                   fractions=np.arange(n + 1) / n, targets=[int(classes[i])])[0]
        np.testing.assert_allclose(ours[1:], theirs[i, :n], atol=1e-5)
        np.testing.assert_allclose(theirs[i, n:], ours[-1], atol=1e-5)  # flipping padding changes nothing
    assert np.ptp(theirs) > 0.01


def test_reproduction_rows_over_mask_seeds(tiny, trained, attributed, masked, suite):
    """The mask claims of each reading over its seeds: the verdict counts the seeds (here one seed
    within 2 points of 81.8% and one not: unstable, the Wilson interval of 1 of 2 straddles one half)."""
    outs = masked[0]
    metrics = [dict(o["metrics"], masked_accuracy=0.82 if seed == 0 else 0.70) for (r, seed), o in outs.items()]
    tables = mask_seed_tables(metrics, [o["top_words"] for o in outs.values()])
    rows = reproduction_rows(dict(trained[1], test_accuracy=0.85, device="cpu"), tables["seeds"], tables["stability"],
                             tables["jaccard"], attributed["completeness"], attributed["saturation"],
                             suite[0].summary, "quick")
    table = reproduction_table([_write(rows)], TARGETS).set_index("id")
    assert set(table.index) == {t.id for t in TARGETS}
    assert table.loc["masks.imdb.test_accuracy", "reproduced"] == True  # noqa: E712
    for rid in ("masks.imdb.masked_accuracy", "masks.imdb.masked_accuracy_attention"):
        assert table.loc[rid, "verdict"] == "unstable" and table.loc[rid, "seeds"] == "1/2"
        assert "over 2 mask seeds" in table.loc[rid, "ours"]
    for rid in ("masks.imdb.top_words", "masks.imdb.top_words_attention"):
        assert table.loc[rid, "seeds"].endswith("/2") and "Jaccard" in table.loc[rid, "ours"]
    assert table.loc["counterfactuals.imdb.completeness", "reproduced"] == True  # noqa: E712
    assert "integrated_gradients" in table.loc["counterfactuals.imdb.aopc_ranking", "ours"]
    assert "explanation_mask" in table.loc["counterfactuals.imdb.aopc_ranking", "ours"]


def _write(rows):
    import tempfile

    path = tempfile.NamedTemporaryFile(suffix=".csv", delete=False).name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_config_section_resolves_by_scale_and_rejects_unknown_keys():
    quick = load_config(REPO_ROOT / "config.yaml", {"scale": "quick"})["text"]
    cpu = load_config(REPO_ROOT / "config.yaml", {"scale": "cpu"})["text"]
    full = load_config(REPO_ROOT / "config.yaml", {"scale": "full"})["text"]
    assert quick["data"]["max_len"] == 200 and quick["models"]["bigru"]["hidden"] == 64
    assert full["data"] == {"n_train": None, "n_test": None, "vocab_size": 20000, "max_len": 500, "glove": False}
    assert full["models"]["bigru"]["hidden"] == 256 and full["train"]["epochs"] == 10
    assert full["mask"]["head"] == {"arch": "bigru_mask_head", "hidden": 100, "n_layers": 2, "fc_dim": 256}
    # cpu: every review, a narrower GRU and shorter reviews than full; five mask seeds per reading
    assert cpu["data"]["n_train"] is None and cpu["data"]["n_test"] is None
    assert cpu["models"]["bigru"]["hidden"] < full["models"]["bigru"]["hidden"]
    assert cpu["data"]["max_len"] < full["data"]["max_len"] and cpu["mask"]["seeds"] >= 5 <= full["mask"]["seeds"]
    assert list(quick["mask"]["readings"]) == ["sigmoid", "attention"] and quick["mask"]["seeds"] >= 2
    assert quick["faithfulness"]["sanity_steps"] == "all" and full["faithfulness"]["sanity_steps"] == []
    with pytest.raises(ConfigError, match="text.data"):
        load_config(REPO_ROOT / "config.yaml", {"text": dict(quick, data=dict(quick["data"], maxlen=3))})
    with pytest.raises(ConfigError, match="text.mask"):
        load_config(REPO_ROOT / "config.yaml", {"text": dict(quick, mask=dict(quick["mask"], readings={"softmax": {}}))})


TINY = {
    "text": {
        "models": {"bigru": {"arch": "bigru", "embed_dim": 100, "hidden": 8, "fc_dim": 16, "word_dropout": 0.4,
                             "dropout": 0.0, "packed": False}},
        "data": {"n_train": 2000, "n_test": 400, "max_len": 40, "glove": True},
        "train": {"epochs": 2, "lr": 0.01},  # about 0.66 test accuracy (model seeds 0 and 1), 20 s
        "attribution": {"n_reviews": 4, "chunk": 4, "mc_samples": 4, "n_table": 2, "n_saturation": 4,
                        "method_options": {"integrated_gradients": {"n_steps": 16}, "random": {"M": 2}}},
        "mask": {"head": {"arch": "bigru_mask_head", "hidden": 4, "n_layers": 2, "fc_dim": 8}, "epochs": 1,
                 "n_examples": 2, "min_count": 2, "seeds": 2, "n_train": 100, "n_test": 50},
        "faithfulness": {"steps": 4},
    }
}


@pytest.mark.slow
@needs_shared_data
def test_workflow_text_slice_on_the_real_reviews(tmp_path):
    wf = copy_workflow(tmp_path / "wf", config_overrides=TINY)
    run_snakemake(wf, "results/report/notebooks/text.ipynb", mirror=SHARED_DATA, cores=1, timeout=600)
    res = wf / "results" / "text"
    summary = json.loads((res / "data/summary.json").read_text())
    assert summary["n_train"] == 2000 and summary["n_test"] == 400 and summary["vocab_size"] > 4000
    assert summary["glove_found"] >= 50 and "initialised from GloVe" in summary["glove_note"]  # the 100-word sample
    metrics = json.loads((res / "bigru/metrics.json").read_text())
    # the reported accuracy is the saved model's on the cached (balanced) test reviews, and clearly above
    # the 50% of chance: 0.58 is 3 standard errors above it on 400 reviews
    from xairepro.experiments.text.data import load_cache
    from xairepro.training import load_checkpoint

    model, _ = load_checkpoint(res / "bigru/model.pt")
    cache = load_cache(res / "data/tokens.pt")
    with torch.no_grad():
        pred = model.eval()(cache.test_ids).argmax(1)
    assert float(cache.test_labels.float().mean()) == 0.5
    assert metrics["n_test"] == 400 and metrics["test_accuracy"] == pytest.approx(
        float((pred == cache.test_labels).float().mean()))
    assert metrics["test_accuracy"] >= 0.58, metrics
    comp = pd.read_csv(res / "bigru/attribution/completeness.csv")
    assert len(comp) == 4 and comp["rel_error"].median() < 0.01
    rows = pd.read_csv(res / "reproduction.csv")
    assert set(rows["id"]) == {t.id for t in TARGETS} and set(rows["scale"]) == {"quick"}
    _check_text_figures(wf)
    assert not list((res / "bigru").glob("*.resume-*.pt"))


#: The notebook's figures and their number of axes (training, completeness, saturation, faithfulness: two
#: panels; table and uncertainty: one row per review, n_table = 2; top words: readings x sentiments).
TEXT_FIGURES = {"training": 2, "completeness": 2, "saturation": 2, "table": 2, "uncertainty": 2, "top_words": 4,
                "faithfulness": 2}


def _check_text_figures(wf):
    """Each figure by content: the executed notebook's cell that saves it ran without an error and
    shows one matplotlib figure with the expected number of axes (its ``<Figure size WxH with N Axes>``
    repr), and the PNG has that figure's size at the 120 dpi it is saved with, is not blank (ink on at
    least 3% of the pixels) and, except the table, has coloured pixels (the plotted data, not only
    black axes and text)."""
    import re

    from matplotlib.image import imread

    nb = json.loads((wf / "results/report/notebooks/text.ipynb").read_text())
    cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert not [o for c in cells for o in c.get("outputs", []) if o["output_type"] == "error"]
    for fig, n_axes in TEXT_FIGURES.items():
        saving = [c for c in cells if f'savefig(figures["text_{fig}"]' in "".join(c["source"])]
        assert len(saving) == 1, fig
        shown = ["".join(o["data"]["text/plain"]) for o in saving[0]["outputs"] if "image/png" in o.get("data", {})]
        assert len(shown) == 1, (fig, shown)
        w, h, n = map(int, re.fullmatch(r"<Figure size (\d+)x(\d+) with (\d+) Axes>", shown[0]).groups())
        assert n == n_axes, (fig, shown[0])
        rgb = imread(wf / f"results/report/figures/text_{fig}.png")[..., :3]
        assert rgb.shape[:2] == (round(h * 1.2), round(w * 1.2)), (fig, rgb.shape)
        assert (rgb < 0.9).any(-1).mean() > 0.03, fig
        if fig != "table":
            assert (rgb.max(-1) - rgb.min(-1) > 0.3).mean() > 0.001, fig


def test_text_models_rebuild_from_their_saved_configuration(tmp_path):
    from xairepro.training import load_checkpoint, save_checkpoint

    for name, kw in (("bigru_mask_head", {"in_dim": 6, "hidden": 3, "n_layers": 2, "fc_dim": 5}),
                     ("bigru", {"vocab_size": 10, "embed_dim": 4, "hidden": 3, "packed": True})):
        model = build_model(name, **kw)
        save_checkpoint(tmp_path / f"{name}.pt", model, name, kw)
        back, ckpt = load_checkpoint(tmp_path / f"{name}.pt")
        assert type(back) is type(model) and ckpt["model_kwargs"] == kw
        for a, b in zip(model.state_dict().values(), back.state_dict().values()):
            assert torch.equal(a, b)
    assert build_model("bigru_mask_head", in_dim=6, hidden=3)(torch.randn(2, 7, 6)).shape == (2, 7, 1)
    with pytest.raises(ValueError, match="packed=True"):
        build_model("bigru", vocab_size=10, padding_idx=None, packed=True)


def test_faithfulness_of_a_further_model_seed_explains_its_own_reviews(tiny, trained, attributed):
    """A classifier no attribution study explained (model seed s > 0): the job draws its own reviews with
    its run seed, reads the classifier's own predictions as the classes, explains every method itself,
    and its rows carry the seed as replicate; the first classifier's rows stay replicate 0."""
    from xairepro.experiments.text.data import predicted_classes, select_reviews
    from xairepro.experiments.text.faithfulness import review_scores

    ctx = dataclasses.replace(CTX, seed=7)
    inputs = TextInputs(trained[0], tiny[0], mask_nets={})
    inputs.scores = review_scores(inputs, attributed["attribution"], 3, ctx=ctx)
    idx = select_reviews(tiny[0], 3, 7)
    assert inputs.scores["indices"].tolist() == idx.tolist() != attributed["indices"][:3].tolist()
    assert inputs.scores["classes"].tolist() == predicted_classes(trained[0], tiny[0].test_ids[idx]).tolist()
    cfg = {"steps": 4, "max_fraction": 1.0, "methods": ["vanilla_grad", "random"], "sanity_steps": None,
           "uncertainty": False}
    res = word_faithfulness_study(inputs, cfg, ctx=ctx, replicate=2)
    assert set(res.per_example["replicate"]) == {2} and set(res.cost["replicate"]) == {2}
    assert sorted(set(res.per_example["example"])) == idx.tolist()
    assert set(res.per_example["method"]) == {"vanilla_grad", "random"} and res.cost["seconds"].notna().all()
