"""The planting functions of the known-answer tasks put exactly the declared pattern where the
evidence mask says and change nothing else; the tasks are the same for the same seed."""
import numpy as np
import pytest
import torch

from xairepro.groundtruth.planting import (class_patches, class_tokens, insert_tokens, motif_positions,
                                           noise_columns, paste_patches, place_motifs, token_positions)
from xairepro.groundtruth.tasks import make_images_task, make_peptides_task, make_tables_task, make_text_task


def test_paste_patches_writes_the_class_patch_inside_the_mask_only():
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (5, 3, 12, 12), generator=gen, dtype=torch.uint8)
    patches = class_patches(4, 3, seed=1)
    classes, pos = [0, 3, 2, 1, 3], torch.tensor([[0, 0], [9, 9], [4, 7], [2, 0], [0, 9]])
    out, mask = paste_patches(images, patches, classes, pos)
    assert mask.sum().item() == 5 * 9
    for i, (c, (r, q)) in enumerate(zip(classes, pos.tolist())):
        assert torch.equal(out[i, :, r:r + 3, q:q + 3], patches[c])   # the declared pattern ...
        assert mask[i, r:r + 3, q:q + 3].all()                       # ... exactly where the mask is
        keep = ~mask[i]
        assert torch.equal(out[i][:, keep], images[i][:, keep])        # nothing else changed
    assert not torch.equal(patches[0], patches[1])
    with pytest.raises(ValueError, match="outside"):
        paste_patches(images[:1], patches, [0], torch.tensor([[10, 0]]))


def test_class_patches_are_deterministic_and_distinct():
    a, b = class_patches(10, 4, seed=3), class_patches(10, 4, seed=3)
    assert torch.equal(a, b) and not torch.equal(a, class_patches(10, 4, seed=4))
    flat = a.reshape(10, -1).float()
    assert ((flat[:, None] != flat[None]).float().mean(-1) + torch.eye(10)).min() >= 0.25


def test_insert_tokens_shifts_the_words_after_the_inserted_one():
    ids = torch.tensor([[5, 6, 7, 0, 0], [5, 6, 7, 8, 9], [4, 0, 0, 0, 0]])
    out, mask = insert_tokens(ids, [20, 21, 22], [1, 4, 1])
    assert out.tolist() == [[5, 20, 6, 7, 0], [5, 6, 7, 8, 21], [4, 22, 0, 0, 0]]
    assert mask.tolist() == [[0, 1, 0, 0, 0], [0, 0, 0, 0, 1], [0, 1, 0, 0, 0]]
    with pytest.raises(ValueError, match="position 3"):
        insert_tokens(ids[2:], [20], [3])
    pos = token_positions(ids, 0, np.random.default_rng(0))
    assert (pos <= np.array([3, 4, 1])).all() and (pos >= 0).all()
    assert class_tokens(["a", "b"], 2) == ["<planted_0>", "<planted_1>"]


def test_place_motifs_overwrites_the_motif_residues_only():
    ids = torch.tensor([[1, 2, 3, 4, 5, 6, 0, 0], [7, 8, 9, 10, 0, 0, 0, 0]])
    out, mask = place_motifs(ids, [[11, 12, 13], [14, 15, 16]], [1, 0], [2, 1])
    assert out.tolist() == [[1, 2, 14, 15, 16, 6, 0, 0], [7, 11, 12, 13, 0, 0, 0, 0]]
    assert mask.sum(1).tolist() == [3, 3] and mask[0, 2:5].all() and mask[1, 1:4].all()
    with pytest.raises(ValueError, match="runs past"):
        place_motifs(ids[1:], [[11, 12, 13]], [0], [2])
    starts = motif_positions(ids, 3, np.random.default_rng(1))
    assert starts[0] <= 3 and starts[1] <= 1


def test_noise_columns_keep_the_values_and_lose_the_order():
    x = np.arange(40, dtype=np.float32).reshape(20, 2)
    noise = noise_columns(x, 3, np.random.default_rng(0))
    for j in range(3):
        col = np.sort(noise[:, j])
        assert np.array_equal(col, np.sort(x[:, 0])) or np.array_equal(col, np.sort(x[:, 1]))
    assert not all(np.array_equal(noise[:, j], x[:, 0]) or np.array_equal(noise[:, j], x[:, 1]) for j in range(3))


def _image_cache(seed=0):
    g = torch.Generator().manual_seed(seed)
    return {"x_train": torch.randint(0, 256, (40, 3, 32, 32), generator=g, dtype=torch.uint8),
            "y_train": torch.arange(40) % 10, "x_test": torch.randint(0, 256, (20, 3, 32, 32), generator=g,
                                                                         dtype=torch.uint8),
            "y_test": torch.arange(20) % 10, "classes": [f"c{i}" for i in range(10)], "source": "toy"}


def test_images_task_plants_the_evidence_class_patch_and_is_deterministic():
    cfg = {"patch_size": 4, "share": 0.5, "n_train_per_class": None, "n_test": 12}
    a, b = make_images_task(_image_cache(), cfg, seed=5), make_images_task(_image_cache(), cfg, seed=5)
    c = make_images_task(_image_cache(), cfg, seed=6)
    assert all(torch.equal(torch.as_tensor(a[k]), torch.as_tensor(b[k])) for k in ("train_x", "test_present", "evidence"))
    assert not torch.equal(a["test_present"], c["test_present"])
    patches = a["meta"]["patches"]
    for i in range(12):
        m = a["evidence"][i]
        rows, cols = torch.nonzero(m, as_tuple=True)
        r, q = int(rows.min()), int(cols.min())
        assert m.sum() == 16
        assert torch.equal(a["test_present"][i, :, r:r + 4, q:q + 4], patches[int(a["evidence_class"][i])])
        assert torch.equal(a["test_swapped"][i, :, r:r + 4, q:q + 4], patches[int(a["swapped_class"][i])])
        assert torch.equal(a["test_present"][i][:, ~m], a["test_removed"][i][:, ~m])
    assert (a["evidence_class"] != a["test_label"]).all() and (a["swapped_class"] != a["evidence_class"]).all()
    changed = (a["train_x"] != _image_cache()["x_train"]).flatten(1).any(1)
    assert 0 < int(changed.sum()) <= a["meta"]["n_planted"]  # a patch may repaint pixels of their own colour only by chance


def test_text_task_inserts_the_class_word_at_the_mask():
    from xairepro.experiments.text.data import TextCache

    g = torch.Generator().manual_seed(0)
    ids = torch.randint(2, 12, (30, 10), generator=g)
    ids[:, 7:] = 0
    cache = TextCache(vocab=["<pad>", "<oov>"] + [f"w{i}" for i in range(10)], train_ids=ids[:20],
                      train_labels=torch.arange(20) % 2, test_ids=ids[20:], test_labels=torch.arange(10) % 2,
                      test_review_ids=torch.arange(10), test_ratings=torch.zeros(10, dtype=torch.long), max_len=10)
    t = make_text_task(cache, {"share": 1.0, "n_train": None, "n_test": 10}, seed=0)
    assert t["meta"]["vocab"][-2:] == ["<planted_0>", "<planted_1>"]
    assert (t["test_present"][t["evidence"]] == 12 + t["evidence_class"]).all()
    assert (t["test_swapped"][t["evidence"]] == 12 + t["swapped_class"]).all()
    assert (t["test_present"][~t["evidence"]] >= 0).all() and int((t["test_present"] >= 12).sum()) == 10
    assert torch.equal(t["train_y"], torch.as_tensor([int(r[r >= 12][0]) - 12 for r in t["train_x"]]))
    assert torch.equal(t["test_removed"], ids[20:][torch.arange(10)])


def test_peptides_task_label_is_the_motif_class_and_tables_task_evidence_is_the_petals():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(1, 21, (50, 12), generator=g)
    ids[:, 9:] = 0
    alphabet = "-ACDEFGHIKLMNPQRSTVWY"
    t = make_peptides_task(ids, {"motifs": ["WCM", "MWC"], "test_fraction": 0.2}, seed=1, alphabet=alphabet)
    motifs = [[alphabet.index(c) for c in m] for m in ("WCM", "MWC")]
    for x, m, k in zip(t["test_present"], t["evidence"], t["evidence_class"]):
        assert x[m].tolist() == motifs[int(k)]
    for x, y in zip(t["train_x"], t["train_y"]):
        s = "".join(alphabet[i] for i in x.tolist())
        assert ["WCM", "MWC"][int(y)] in s
    x = np.random.default_rng(0).normal(size=(30, 4)).astype(np.float32)
    y = np.arange(30) % 3
    tab = make_tables_task(x, y, ["a", "b", "c", "d"], {"evidence": ["c", "d"], "n_noise": 2, "test_fraction": 0.3}, 0)
    assert tab["evidence"].shape[1] == 4 and tab["evidence"][:, :2].all() and not tab["evidence"][:, 2:].any()
    assert torch.equal(tab["test_present"][:, 2:], tab["test_removed"][:, 2:])
    assert np.allclose(tab["test_removed"][:, :2].numpy(), tab["train_x"][:, :2].mean(0).numpy())
    with pytest.raises(ValueError, match="not iris columns"):
        make_tables_task(x, y, ["a", "b", "c", "d"], {"evidence": ["z"], "n_noise": 2, "test_fraction": 0.3}, 0)
