"""IMDB text experiment: tokenizer and cache, the packed BiGRU, training (resumable), word
attributions, the explanation mask, faithfulness, reproduction rows, and the workflow slice."""
from __future__ import annotations

import gzip
import io
import json
import tarfile

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import REPO_ROOT, SHARED_DATA, TOY_METHOD, copy_workflow, needs_shared_data, run_snakemake
from xairepro.attribution import method_names
from xairepro.config import ConfigError, load_config
from xairepro.context import RunContext
from xairepro.experiments.methods import FAITHFULNESS_COLUMNS, SKIPPED_COLUMNS
from xairepro.experiments.text.attributions import (GRADIENT, IG, load_scores, saturation_summary, save_scores,
                                                    word_attribution_study)
from xairepro.experiments.text.data import (OOV_ID, PAD_ID, TextCache, TextInputs, build_vocab, decode, encode,
                                            prepare, tokenize)
from xairepro.experiments.text.faithfulness import word_faithfulness_study
from xairepro.experiments.text.masks import TextMaskNet, load_mask_net, mask_study, mask_weights, top_words
from xairepro.experiments.text.reproduction import reproduction_rows
from xairepro.experiments.text.targets import TARGETS
from xairepro.experiments.text.training import train_text
from xairepro.experiments.text.words import build_methods, explain_words, method_settings
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
ATTRIBUTION_CFG = {"methods": ATTRIBUTION_METHODS, "n_reviews": 6, "chunk": 4, "ig_steps": 16, "ig_max_steps": 128,
                   "completeness_tol": 0.01, "mc_samples": 4, "smoothgrad_noise": 0.1, "n_random": 3, "n_table": 2,
                   "n_saturation": 3}


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
        rows = 3 if m == "random" else 1  # the random floor keeps each of its n_random orders
        assert attributed["scores"][m].shape == (rows, 6, 8) and torch.all(attributed["scores"][m][:, pad] == 0)
        assert attributed["orders"][m] is (m == "random")
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


@pytest.fixture(scope="module")
def masked(tiny, trained):
    cfg = {"head": {"arch": "bigru_mask_head", "hidden": 4, "n_layers": 2, "fc_dim": 8}, "entropy": 0.5,
           "sparsity": 0.1, "epochs": 2, "batch_size": 8, "lr": 0.01, "n_examples": 2, "top_k": 3, "min_count": 1}
    before = {k: v.clone() for k, v in trained[0].state_dict().items()}
    out = mask_study(TextInputs(trained[0], tiny[0]), cfg, ctx=CTX)
    return out, before


def test_mask_study_keeps_the_classifier_frozen_and_zero_at_padding(tiny, trained, masked):
    out, before = masked
    for k, v in trained[0].state_dict().items():
        assert torch.equal(v, before[k]), k
    m = out["metrics"]
    assert 0.0 <= m["masked_accuracy"] <= 1.0 and m["n_test"] == 16 and len(out["history"]) == 2
    net = out["net"]
    net.train()
    assert not net.model.word_dropout.training and net.model.gru.training and net.head.training
    weights = mask_weights(net, tiny[0].test_ids)[0]
    assert torch.all(weights[tiny[0].test_ids == PAD_ID] == 0) and torch.all(weights <= 1)
    assert len(out["examples"]) == 2 and all(len(e["words"]) == len(e["weights"]) for e in out["examples"])
    assert set(out["top_words"]["sentiment"]) == {"positive", "negative"}


def test_the_mask_explains_through_the_registered_method_with_its_weights(tiny, trained, masked):
    net, model = masked[0]["net"], trained[0]
    ids = tiny[0].test_ids[:5]
    settings = method_settings(model, ATTRIBUTION_CFG, max_batch=512, mask_net=net)
    methods = build_methods(model, ["explanation_mask"], settings)
    words = explain_words(methods, ids, torch.zeros(5, dtype=torch.long), M=4, chunk=2, ctx=CTX)
    assert torch.allclose(words["scores"]["explanation_mask"][0], mask_weights(net, ids)[0], atol=1e-6)
    missing = build_methods(model, ["explanation_mask"], dict(settings, mask_net=None))["explanation_mask"]
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


def test_faithfulness_names_every_method_and_reproduction_rows(tiny, trained, attributed, masked, tmp_path):
    save_scores(attributed, tmp_path / "scores.pt")
    net = masked[0]["net"]
    save_checkpoint(tmp_path / "head.pt", net.head, masked[0]["head"]["arch"], masked[0]["head"]["kwargs"])
    mask_net = load_mask_net(tmp_path / "head.pt", trained[0])
    assert all(torch.equal(a, b) for a, b in zip(net.head.state_dict().values(), mask_net.head.state_dict().values()))
    canonical = ["integrated_gradients", "vanilla_grad", "input_x_gradient", "smoothgrad", "bayesgrad",
                 "bayes_smoothgrad", "occlusion", "shapley_sampling", "explanation_mask", "random"]
    assert set(canonical) | {TOY_METHOD} <= set(method_names())
    methods = canonical + [TOY_METHOD]  # the user's method (tests/fixtures/toy_method.py), named in the cfg
    inputs = TextInputs(trained[0], tiny[0], scores=load_scores(tmp_path / "scores.pt"), mask_net=mask_net)
    cfg = {"steps": 4, "max_fraction": 1.0, "methods": methods}
    out = word_faithfulness_study(inputs, cfg, ctx=CTX)
    per_example, curves, summary, skipped = out["per_example"], out["curves"], out["summary"], out["skipped"]
    ran = [m for m in methods if m != "shapley_sampling"]
    assert list(per_example.columns) == list(FAITHFULNESS_COLUMNS) and list(skipped.columns) == list(SKIPPED_COLUMNS)
    assert set(per_example[["experiment", "modality", "unit", "model"]].itertuples(index=False)) == {
        ("text", "text", "word", "bigru")} and set(per_example["replicate"]) == {0}
    assert list(dict.fromkeys(per_example["method"])) == ran and len(per_example) == 6 * len(ran)
    assert set(summary["method"]) == set(ran) and len(curves) == len(ran) * 2 * 5
    assert skipped["method"].tolist() == ["shapley_sampling"] and "layer" in skipped["reason"].iloc[0]
    first = curves[(curves["mode"] == "deletion") & (curves["fraction"] == 0)]["mean"]
    assert np.allclose(first, first.iloc[0])
    aopc = summary.set_index("method")["deletion_aopc"]
    # the user's method (input x gradient with its sign flipped) removes the words that carry the
    # prediction last: it ranks below input x gradient
    assert aopc[TOY_METHOD] < aopc["input_x_gradient"]
    with pytest.raises(KeyError, match="unknown attribution method"):
        word_faithfulness_study(inputs, dict(cfg, methods=["lime"]), ctx=CTX)
    metrics = dict(trained[1], test_accuracy=0.85, device="cpu")
    rows = reproduction_rows(metrics, dict(masked[0]["metrics"], masked_accuracy=0.70), attributed["completeness"],
                             attributed["saturation"], summary, masked[0]["top_words"], "quick")
    table = reproduction_table([_write(rows)], TARGETS).set_index("id")
    assert set(table.index) == {t.id for t in TARGETS}
    assert table.loc["masks.imdb.test_accuracy", "reproduced"] == True  # noqa: E712
    assert table.loc["masks.imdb.masked_accuracy", "reproduced"] == False  # noqa: E712
    assert table.loc["counterfactuals.imdb.completeness", "reproduced"] == True  # noqa: E712
    assert "integrated_gradients" in table.loc["counterfactuals.imdb.aopc_ranking", "ours"]


def _write(rows):
    import tempfile

    path = tempfile.NamedTemporaryFile(suffix=".csv", delete=False).name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_config_section_resolves_by_scale_and_rejects_unknown_keys():
    quick = load_config(REPO_ROOT / "config.yaml", {"scale": "quick"})["text"]
    full = load_config(REPO_ROOT / "config.yaml", {"scale": "full"})["text"]
    assert quick["data"]["max_len"] == 200 and quick["models"]["bigru"]["hidden"] == 64
    assert full["data"] == {"n_train": None, "n_test": None, "vocab_size": 20000, "max_len": 500, "glove": False}
    assert full["models"]["bigru"]["hidden"] == 256 and full["train"]["epochs"] == 10
    assert full["mask"]["head"] == {"arch": "bigru_mask_head", "hidden": 100, "n_layers": 2, "fc_dim": 256}
    with pytest.raises(ConfigError, match="text.data"):
        load_config(REPO_ROOT / "config.yaml", {"text": dict(quick, data=dict(quick["data"], maxlen=3))})


TINY = {
    "text": {
        "models": {"bigru": {"arch": "bigru", "embed_dim": 100, "hidden": 8, "fc_dim": 16, "word_dropout": 0.4,
                             "dropout": 0.0, "packed": False}},
        "data": {"n_train": 200, "n_test": 100, "max_len": 40, "glove": True},
        "train": {"epochs": 1},
        "attribution": {"n_reviews": 4, "chunk": 4, "ig_steps": 16, "mc_samples": 4, "n_random": 2, "n_table": 2,
                        "n_saturation": 4},
        "mask": {"head": {"arch": "bigru_mask_head", "hidden": 4, "n_layers": 2, "fc_dim": 8}, "epochs": 1,
                 "n_examples": 2, "min_count": 2},
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
    assert summary["n_train"] == 200 and summary["n_test"] == 100 and summary["vocab_size"] > 4000
    assert summary["glove_found"] >= 50 and "initialised from GloVe" in summary["glove_note"]  # the 100-word sample
    metrics = json.loads((res / "bigru/metrics.json").read_text())
    assert metrics["n_test"] == 100 and 0.3 <= metrics["test_accuracy"] <= 1.0
    comp = pd.read_csv(res / "bigru/attribution/completeness.csv")
    assert len(comp) == 4 and comp["rel_error"].median() < 0.01
    rows = pd.read_csv(res / "reproduction.csv")
    assert set(rows["id"]) == {t.id for t in TARGETS} and set(rows["scale"]) == {"quick"}
    for fig in ("training", "completeness", "saturation", "table", "top_words", "faithfulness"):
        assert (wf / f"results/report/figures/text_{fig}.png").stat().st_size > 5000, fig
    assert not list((res / "bigru").glob("*.resume-*.pt"))


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
