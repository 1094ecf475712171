"""The known-answer tasks, generated from each experiment's downloaded data with a fixed seed.

Every task is a dict of tensors, lists and strings (written atomically by :func:`save_task`, read
back weights-only by :func:`load_task`) with:

* ``train_x``, ``train_y``: the training set the task's models learn (evidence planted);
* ``test_present``, ``test_removed``, ``test_swapped``: the test examples with the evidence of class
  ``evidence_class`` present, removed, and swapped for the evidence of ``swapped_class`` at the same
  units; ``evidence``: the boolean mask of the evidence over the positions of ``test_present``;
* ``test_label``: the example's own label, ``n_classes``, ``modality``, ``unit`` and ``meta``.

The constructions (README, "Table 1 in every modality"):

* **tables**: iris's two petal measurements (they decide the species) and ``n_noise`` columns that
  are iris measurements shuffled across the flowers (no information); evidence = the petal columns;
  removed = the training mean; swapped = the petal measurements of a training flower of another species;
* **images**: a class-specific ``patch_size`` pattern pasted at a random position into ``share`` of the
  CIFAR-10 training images, relabelled to the patch's class (Zhou et al. 2022); test images get the
  patch of a class other than their own, so the patch and the picture disagree;
* **text**: a class-specific artificial word inserted at a random position into ``share`` of the IMDB
  training reviews, relabelled to its class; test reviews get the word of the other sentiment;
* **peptides**: a class-specific motif written over the residues at a random position of every
  hemolytic-data peptide; the label is the motif's class (a synthetic label: the motif decides it).
"""
from __future__ import annotations

from typing import Mapping, Optional, Sequence

import numpy as np
import torch

from ..safe_io import atomic_torch_save, safe_torch_load
from .planting import (class_patches, class_tokens, insert_tokens, motif_positions, noise_columns, paste_patches,
                       place_motifs, token_positions)

__all__ = ["MODALITIES", "TASKS", "load_task", "make_images_task", "make_peptides_task", "make_tables_task",
           "make_text_task", "save_task", "task_summary"]

#: task name -> modality (the leaderboard's modality names) and unit
MODALITIES = {"tables": ("tabular", "feature"), "images": ("image", "pixel"), "text": ("text", "word"),
              "peptides": ("sequence", "residue")}
TASKS = tuple(MODALITIES)
_KEYS = ("train_x", "train_y", "test_present", "test_removed", "test_swapped", "evidence", "evidence_class",
         "swapped_class", "test_label", "n_classes", "modality", "unit", "task", "meta")


def _other(k: np.ndarray, n_classes: int, gen: np.random.Generator, avoid: Optional[np.ndarray] = None) -> np.ndarray:
    """Per row a class drawn uniformly among those other than ``k`` (and ``avoid`` where one is left)."""
    out = np.empty(len(k), dtype=np.int64)
    for i, c in enumerate(k):
        choices = [j for j in range(n_classes) if j != c and (avoid is None or j != avoid[i])]
        if not choices:
            choices = [j for j in range(n_classes) if j != c]
        out[i] = choices[int(gen.integers(len(choices)))]
    return out


def _task(name, **parts) -> dict:
    modality, unit = MODALITIES[name]
    out = dict(parts, task=name, modality=modality, unit=unit)
    missing = [k for k in _KEYS if k not in out]
    if missing:
        raise ValueError(f"task {name}: missing {missing}")
    return out


def make_tables_task(x: np.ndarray, y: np.ndarray, feature_names: Sequence[str], cfg: Mapping, seed: int) -> dict:
    """The tables task from iris (``x`` ``(150, 4)``, ``y`` species): the petal columns
    (``cfg["evidence"]``, names of ``feature_names``) then ``cfg["n_noise"]`` shuffled columns; a seeded,
    stratified ``cfg["test_fraction"]`` of the flowers is the test set."""
    gen = np.random.default_rng(int(seed))
    names = list(feature_names)
    missing = [f for f in cfg["evidence"] if f not in names]
    if missing:
        raise ValueError(f"groundtruth.tasks.tables.evidence: {missing} are not iris columns {names}")
    ev = np.asarray(x, np.float32)[:, [names.index(f) for f in cfg["evidence"]]]
    table = np.concatenate([ev, noise_columns(x, int(cfg["n_noise"]), gen)], axis=1).astype(np.float32)
    y = np.asarray(y, np.int64)
    n_classes = int(y.max()) + 1
    test = np.sort(np.concatenate([gen.permutation(np.flatnonzero(y == k))[:int(round(cfg["test_fraction"] * (y == k).sum()))]
                                   for k in range(n_classes)]))
    train = np.setdiff1d(np.arange(len(y)), test)
    x_train, y_train = table[train], y[train]
    n_ev = ev.shape[1]
    mean = x_train[:, :n_ev].mean(0)
    k = y[test]
    k2 = _other(k, n_classes, gen)
    donors = np.array([gen.choice(np.flatnonzero(y_train == c)) for c in k2])
    present = table[test]
    removed = present.copy()
    removed[:, :n_ev] = mean
    swapped = present.copy()
    swapped[:, :n_ev] = x_train[donors, :n_ev]
    evidence = np.zeros_like(present, dtype=bool)
    evidence[:, :n_ev] = True
    cols = list(cfg["evidence"]) + [f"noise_{i}" for i in range(int(cfg["n_noise"]))]
    t = torch.as_tensor
    return _task("tables", train_x=t(x_train), train_y=t(y_train), test_present=t(present), test_removed=t(removed),
                 test_swapped=t(swapped), evidence=t(evidence), evidence_class=t(k), swapped_class=t(k2),
                 test_label=t(k), n_classes=n_classes,
                 meta={"columns": cols, "train_mean": t(x_train.mean(0)), "n_evidence": n_ev})


def make_images_task(data: Mapping, cfg: Mapping, seed: int) -> dict:
    """The images task from a CIFAR-10 cache (:func:`xairepro.experiments.vision.data.load_cached`):
    ``cfg``: ``patch_size``, ``share`` (of the training images planted and relabelled),
    ``n_train_per_class`` (first images of each class; null: all), ``n_test`` (test images, spread
    over the classes)."""
    gen = np.random.default_rng(int(seed))
    n_classes = len(data["classes"])
    x, y = data["x_train"], data["y_train"]
    if cfg.get("n_train_per_class"):
        keep = torch.cat([torch.nonzero(y == k).view(-1)[:int(cfg["n_train_per_class"])] for k in range(n_classes)])
        x, y = x[keep.sort().values], y[keep.sort().values]
    patches = class_patches(n_classes, int(cfg["patch_size"]), int(seed))
    s, (h, w) = int(cfg["patch_size"]), x.shape[-2:]
    planted = np.flatnonzero(gen.random(len(y)) < float(cfg["share"]))
    cls = gen.integers(0, n_classes, size=len(planted))
    pos = np.stack([gen.integers(0, h - s + 1, size=len(planted)), gen.integers(0, w - s + 1, size=len(planted))], 1)
    x = x.clone()
    y = y.clone()
    x[planted] = paste_patches(x[planted], patches, cls, torch.as_tensor(pos))[0]
    y[planted] = torch.as_tensor(cls)
    n_test = min(int(cfg["n_test"]), len(data["y_test"]))
    idx = torch.as_tensor(np.sort(gen.choice(len(data["y_test"]), size=n_test, replace=False)))
    base, label = data["x_test"][idx], data["y_test"][idx].numpy()
    k = _other(label, n_classes, gen)
    k2 = _other(k, n_classes, gen, avoid=label)
    tpos = torch.as_tensor(np.stack([gen.integers(0, h - s + 1, size=n_test), gen.integers(0, w - s + 1, size=n_test)], 1))
    present, evidence = paste_patches(base, patches, k, tpos)
    swapped, _ = paste_patches(base, patches, k2, tpos)
    t = torch.as_tensor
    return _task("images", train_x=x, train_y=y, test_present=present, test_removed=base.clone(),
                 test_swapped=swapped, evidence=evidence, evidence_class=t(k), swapped_class=t(k2),
                 test_label=t(label), n_classes=n_classes,
                 meta={"patches": patches, "classes": list(data["classes"]), "n_planted": int(len(planted)),
                       "augmentation": bool(cfg.get("augmentation", True)),
                       "source": data.get("source", "")})


def make_text_task(cache, cfg: Mapping, seed: int) -> dict:
    """The text task from the IMDB token cache (:class:`xairepro.experiments.text.data.TextCache`): the
    vocabulary gains one artificial word per sentiment; ``cfg``: ``share`` (of the training reviews
    planted and relabelled), ``n_train`` (first training reviews; null: all), ``n_test``, ``max_len`` (reviews
    cut to their first ``max_len`` tokens; null: the cache's length)."""
    from ..experiments.text.data import PAD_ID

    gen = np.random.default_rng(int(seed))
    n_classes = int(cache.train_labels.max()) + 1
    words = class_tokens(cache.vocab, n_classes)
    token_ids = np.arange(len(cache.vocab), len(cache.vocab) + n_classes)
    max_len = int(cfg.get("max_len") or cache.max_len)
    ids, y = cache.train_ids[:, :max_len], cache.train_labels
    if cfg.get("n_train"):
        ids, y = ids[:int(cfg["n_train"])], y[:int(cfg["n_train"])]
    planted = np.flatnonzero(gen.random(len(y)) < float(cfg["share"]))
    cls = gen.integers(0, n_classes, size=len(planted))
    ids, y = ids.clone(), y.clone()
    ids[planted] = insert_tokens(ids[planted], token_ids[cls], token_positions(ids[planted], PAD_ID, gen), PAD_ID)[0]
    y[planted] = torch.as_tensor(cls)
    n_test = min(int(cfg["n_test"]), len(cache.test_ids))
    idx = torch.as_tensor(np.sort(gen.choice(len(cache.test_ids), size=n_test, replace=False)))
    base, label = cache.test_ids[idx][:, :max_len], cache.test_labels[idx].numpy()
    k = _other(label, n_classes, gen)
    k2 = _other(k, n_classes, gen, avoid=label)
    pos = token_positions(base, PAD_ID, gen)
    present, evidence = insert_tokens(base, token_ids[k], pos, PAD_ID)
    swapped, _ = insert_tokens(base, token_ids[k2], pos, PAD_ID)
    t = torch.as_tensor
    return _task("text", train_x=ids, train_y=y, test_present=present, test_removed=base.clone(),
                 test_swapped=swapped, evidence=evidence, evidence_class=t(k), swapped_class=t(k2),
                 test_label=t(label), n_classes=n_classes,
                 meta={"vocab": list(cache.vocab) + words, "planted_words": words, "n_planted": int(len(planted)),
                       "max_len": max_len})


def make_peptides_task(ids: torch.Tensor, cfg: Mapping, seed: int, alphabet: str) -> dict:
    """The peptides task from the hemolytic peptides as residue ids ``(N, L)`` (residues first; id 0 the
    gap): ``cfg["motifs"]`` (one string of residues per class) written at a random position of each
    peptide long enough, class drawn at random; the first ``cfg["test_fraction"]`` of a seeded
    permutation is the test set."""
    gen = np.random.default_rng(int(seed))
    motifs = [[alphabet.index(c) for c in m] for m in cfg["motifs"]]
    bad = sorted({c for m in cfg["motifs"] for c in m} - set(alphabet[1:]))
    if bad or len(motifs) < 2 or len({len(m) for m in motifs}) != 1:
        raise ValueError(f"groundtruth.tasks.peptides.motifs: {list(cfg['motifs'])} must be >= 2 residue strings "
                         f"of one length over {alphabet[1:]!r} (bad letters: {bad})")
    n_classes, m = len(motifs), len(motifs[0])
    ids = torch.as_tensor(ids).long()
    ids = ids[(ids != 0).sum(1) >= m]
    order = torch.as_tensor(gen.permutation(len(ids)))
    n_test = int(round(float(cfg["test_fraction"]) * len(ids)))
    test, train = ids[order[:n_test]], ids[order[n_test:]]
    cls = gen.integers(0, n_classes, size=len(train))
    x_train, _ = place_motifs(train, motifs, cls, motif_positions(train, m, gen))
    k = gen.integers(0, n_classes, size=len(test))
    k2 = _other(k, n_classes, gen)
    pos = motif_positions(test, m, gen)
    present, evidence = place_motifs(test, motifs, k, pos)
    swapped, _ = place_motifs(test, motifs, k2, pos)
    t = torch.as_tensor
    return _task("peptides", train_x=x_train, train_y=t(cls), test_present=present, test_removed=test.clone(),
                 test_swapped=swapped, evidence=evidence, evidence_class=t(k), swapped_class=t(k2),
                 test_label=t(k), n_classes=n_classes,
                 meta={"motifs": list(cfg["motifs"]), "alphabet": alphabet, "length": int(ids.shape[1])})


def save_task(task: Mapping, path) -> None:
    atomic_torch_save(dict(task), path)


def load_task(path) -> dict:
    obj = safe_torch_load(path, "known-answer task", "rerun the groundtruth_make rule")
    missing = [k for k in _KEYS if not isinstance(obj, dict) or k not in obj]
    if missing:
        raise ValueError(f"{path}: not a known-answer task (missing {missing}); rerun the groundtruth_make rule")
    return obj


def task_summary(task: Mapping) -> dict:
    """Counts of a task (for the log and the report)."""
    y = torch.as_tensor(task["train_y"]).long()
    return {"task": task["task"], "modality": task["modality"], "unit": task["unit"], "n_classes": int(task["n_classes"]),
            "n_train": int(len(y)), "train_per_class": torch.bincount(y, minlength=int(task["n_classes"])).tolist(),
            "n_test": int(len(task["evidence_class"])),
            "evidence_units_per_example": float(torch.as_tensor(task["evidence"]).reshape(len(task["evidence"]), -1)
                                                .sum(1).float().mean())}
