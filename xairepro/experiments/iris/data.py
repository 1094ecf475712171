"""The iris table (scikit-learn's bundled copy) as tensors."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ...data.loaders import load_iris

__all__ = ["IrisData", "iris_data"]


@dataclass
class IrisData:
    x: np.ndarray               # (150, 4) measurements in cm
    y: np.ndarray               # (150,) class index
    features: list[str]
    classes: list[str]

    def dataset(self) -> torch.utils.data.TensorDataset:
        return torch.utils.data.TensorDataset(torch.as_tensor(self.x, dtype=torch.float32),
                                              torch.as_tensor(self.y, dtype=torch.long))


def iris_data() -> IrisData:
    """All 150 flowers in scikit-learn's order (the blog trains on all of them)."""
    x, y, features, classes = load_iris()
    return IrisData(x=x, y=y, features=features, classes=classes)
