"""Tox21 data: featurized graphs with all 12 task labels, the synthetic pyridine label (BayesGrad 4.1:
label 1 when a molecule matches ``c1ccncc1``; the ring atoms of every match are the ground truth),
fixed seeded splits, and the random training subsets of Table 1."""
from __future__ import annotations

import copy
from typing import Sequence

import numpy as np
import torch

from ...context import derive_seed
from ...data.featurize import FeaturizeResult, featurize_smiles
from ...data.loaders import TOX21_TASKS, EmptyDatasetError, load_moleculenet_csv
from ...data.splits import random_split, random_subset
from ...evaluation.ground_truth import has_substructure, pyridine_atoms

SRMMP_TASK = "SR-MMP"


def featurize_tox21(csv_path) -> FeaturizeResult:
    """Graphs of every parsable Tox21 molecule with all 12 task labels (NaN = not measured)."""
    df = load_moleculenet_csv(csv_path, smiles_col="smiles", id_col="mol_id", tasks=TOX21_TASKS)
    return featurize_smiles(df["smiles"].tolist(), df[list(TOX21_TASKS)].to_numpy(dtype=float),
                            df["mol_id"].tolist(), source=str(csv_path))


def task_labels(graphs: Sequence, task: str) -> np.ndarray:
    """One Tox21 task's labels (1.0, 0.0, NaN when not measured) from the featurized graphs."""
    j = TOX21_TASKS.index(task)
    return np.array([float(g.y[0, j]) if bool(g.y_mask[0, j]) else np.nan for g in graphs])


def pyridine_labels(graphs: Sequence) -> np.ndarray:
    """The synthetic label: 1.0 when the molecule contains pyridine, else 0.0."""
    return np.array([float(has_substructure(g.smiles)) for g in graphs])


def featurize_summary(result: FeaturizeResult, n_rows: int | None = None) -> dict:
    graphs = result.graphs
    tasks = {}
    for task in TOX21_TASKS:
        y = task_labels(graphs, task)
        tasks[task] = {"positive": int((y == 1).sum()), "negative": int((y == 0).sum()),
                       "missing": int(np.isnan(y).sum())}
    return {"n_rows": n_rows if n_rows is not None else result.n_parsed + len(result.failures),
            "n_parsed": result.n_parsed, "n_failed": len(result.failures), "failures": result.failures,
            "n_pyridine": int(pyridine_labels(graphs).sum()), "tasks": tasks}


def with_labels(graphs: Sequence, y: np.ndarray) -> list:
    """Shallow copies of ``graphs`` carrying a single binary label ``y`` (NaN = missing, masked)."""
    out = []
    for g, label in zip(graphs, np.asarray(y, dtype=float)):
        h = copy.copy(g)
        missing = bool(np.isnan(label))
        h.y = torch.tensor([[0.0 if missing else float(label)]])
        h.y_mask = torch.tensor([[not missing]])
        out.append(h)
    return out


def make_splits(graphs: Sequence, data_cfg: dict, seed: int) -> dict:
    """Fixed, seeded splits (positions in ``graphs``).

    ``pyridine``: train / val over every parsable molecule. ``srmmp``: train / val / test over
    the molecules with a measured SR-MMP label only, so a missing label is never a negative.
    """
    fractions = (1.0 - data_cfg["val_fraction"], data_cfg["val_fraction"])
    train, val = random_split(len(graphs), fractions, seed)
    labelled = np.flatnonzero(~np.isnan(task_labels(graphs, SRMMP_TASK)))
    if len(labelled) == 0:
        raise EmptyDatasetError(f"Tox21: none of the {len(graphs)} parsable molecules has a measured {SRMMP_TASK} "
                                f"label, so the SR-MMP split is empty")
    parts = random_split(len(labelled), tuple(data_cfg["srmmp_split"]), seed + 1)
    return {"seed": seed,
            "pyridine": {"train": train.tolist(), "val": val.tolist()},
            "srmmp": dict(zip(("train", "val", "test"), (labelled[p].tolist() for p in parts)))}


def pyridine_data(graphs: Sequence, splits: dict, subset: int | None = None, size: int = 1000,
                  seed: int = 0) -> tuple[list, list]:
    """(train, val) graphs labelled with pyridine; with ``subset=k`` the training set is the k-th
    random ``size``-compound subset of the training split (drawn with ``derive_seed(seed, k)``)."""
    train_pos = np.asarray(splits["pyridine"]["train"])
    if subset is not None:
        train_pos = train_pos[random_subset(len(train_pos), size, derive_seed(seed, subset))]
    train = [graphs[i] for i in train_pos]
    val = [graphs[i] for i in splits["pyridine"]["val"]]
    return with_labels(train, pyridine_labels(train)), with_labels(val, pyridine_labels(val))


def pyridine_evaluation_set(graphs: Sequence, splits: dict) -> tuple[list, list[list[int]]]:
    """The validation molecules that contain pyridine and their ground-truth atoms."""
    val = [graphs[i] for i in splits["pyridine"]["val"]]
    chosen = [g for g in val if has_substructure(g.smiles)]
    return chosen, [pyridine_atoms(g.smiles) for g in chosen]


def srmmp_data(graphs: Sequence, splits: dict) -> dict[str, list]:
    return {part: with_labels([graphs[i] for i in pos], task_labels([graphs[i] for i in pos], SRMMP_TASK))
            for part, pos in splits["srmmp"].items()}
