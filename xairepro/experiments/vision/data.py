"""CIFAR-10 in memory: read once from the raw archive, cached as one tensor file, served as
device-resident mini-batches with vectorized augmentation (random 4-pixel-padded crop and
horizontal flip, on whatever device the batch lives).

The cache holds uint8 images ``(N, 3, 32, 32)`` and int64 labels for a train and a test split;
batches are converted to float in [0, 1] on the device, so a whole epoch never touches Python per
image. Shuffling and augmentation draw from torch's global generators, which the training loop
saves in its per-epoch checkpoint: a resumed run draws the same batches as an uninterrupted one.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np
import torch

from ...data.loaders import CIFAR10_CLASSES, load_cifar10
from ...safe_io import atomic_torch_save, safe_torch_load

__all__ = ["TensorBatches", "augment", "load_cached", "prepare_cache", "prepare_cifar10", "summary", "test_images"]


def prepare_cifar10(raw_path, n_train_per_class: int | None = None, n_test_per_class: int | None = None) -> dict:
    """Both splits of CIFAR-10 from the canonical python batches or the JPEG class-folder
    tarball, the first ``n`` images of each class (``None``: all)."""
    out = {"source": Path(raw_path).name, "classes": list(CIFAR10_CLASSES)}
    for split, n in (("train", n_train_per_class), ("test", n_test_per_class)):
        x, y, _ = load_cifar10(raw_path, split, limit_per_class=n)
        out[f"x_{split}"] = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
        out[f"y_{split}"] = torch.from_numpy(y.astype(np.int64))
    return out


def summary(data: Mapping) -> dict:
    """Counts per split and class, and the source file (for the report)."""
    out = {"source": data["source"], "classes": data["classes"]}
    for split in ("train", "test"):
        y = data[f"y_{split}"].numpy()
        out[f"n_{split}"] = int(len(y))
        out[f"per_class_{split}"] = np.bincount(y, minlength=len(data["classes"])).tolist()
    out["lossy_jpeg"] = "jpeg" in data["source"].lower()
    return out


def load_cached(path) -> dict:
    """The tensor file written by :func:`prepare_cifar10` (weights-only)."""
    data = safe_torch_load(path, "CIFAR-10 cache", "rerun the vision_data rule")
    missing = [k for k in ("x_train", "y_train", "x_test", "y_test", "classes") if k not in data]
    if missing:
        raise ValueError(f"{path}: not a CIFAR-10 cache (missing {missing}); rerun the data rule")
    return data


def to_float(x_uint8: torch.Tensor) -> torch.Tensor:
    return x_uint8.float().div_(255.0)


def test_images(data: Mapping, n: int, offset: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` test images spread over the classes (every ``k``-th image of the class-ordered test
    split, starting at ``offset``), as float [0, 1], with their labels."""
    total = len(data["y_test"])
    if n > total:
        raise ValueError(f"asked for {n} test images, the cache holds {total}")
    step = max(1, total // n)
    idx = (torch.arange(n) * step + offset) % total
    return to_float(data["x_test"][idx]), data["y_test"][idx].clone()


def augment(x: torch.Tensor, pad: int = 4) -> torch.Tensor:
    """Random crop of the zero-padded image (``pad`` pixels each side) and random horizontal flip,
    one draw per image, as tensor indexing on the batch's own device."""
    b, c, h, w = x.shape
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    off = torch.randint(0, 2 * pad + 1, (b, 2), device=x.device)
    rows = (off[:, :1] + torch.arange(h, device=x.device)).view(b, 1, h, 1)
    cols = (off[:, 1:] + torch.arange(w, device=x.device)).view(b, 1, 1, w)
    batch = torch.arange(b, device=x.device).view(b, 1, 1, 1)
    chan = torch.arange(c, device=x.device).view(1, c, 1, 1)
    out = padded[batch, chan, rows, cols]
    flip = torch.rand(b, device=x.device) < 0.5
    out = torch.where(flip.view(b, 1, 1, 1), out.flip(3), out)
    return out.contiguous(memory_format=torch.channels_last) if x.is_contiguous(
        memory_format=torch.channels_last) else out


class TensorBatches:
    """Mini-batches ``(float images, labels)`` of in-memory uint8 images held on ``device``.

    ``shuffle``: a fresh permutation each epoch from torch's global CPU generator (checkpointed by
    the training loop). ``channels_last``: images in NHWC memory order (faster convolutions on
    CUDA). ``len()`` is the number of batches, which the per-step schedules need.
    """

    def __init__(self, x_uint8: torch.Tensor, y: torch.Tensor, batch_size: int, device="cpu",
                 shuffle: bool = True, drop_last: bool = False, channels_last: bool = False):
        if len(x_uint8) != len(y):
            raise ValueError(f"{len(x_uint8)} images but {len(y)} labels")
        self.device = torch.device(device)
        self.x, self.y = x_uint8.to(self.device), y.to(self.device)
        self.batch_size, self.shuffle, self.drop_last = int(batch_size), shuffle, drop_last
        self.channels_last = channels_last

    def __len__(self):
        n = len(self.y)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        n = len(self.y)
        order = torch.randperm(n) if self.shuffle else torch.arange(n)
        order = order.to(self.device)
        for i in range(len(self)):
            idx = order[i * self.batch_size:(i + 1) * self.batch_size]
            x = to_float(self.x[idx])
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            yield x, self.y[idx]


def prepare_cache(raw_path, out_path, n_train_per_class: int | None = None,
                  n_test_per_class: int | None = None) -> dict:
    """Read CIFAR-10 once (:func:`prepare_cifar10`), write the tensor cache, return its summary."""
    data = prepare_cifar10(raw_path, n_train_per_class, n_test_per_class)
    atomic_torch_save(data, out_path)
    return summary(data)
