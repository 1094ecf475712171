"""ESOL data: graphs of every parsable molecule with its measured log solubility, and the folds."""
from __future__ import annotations

from ...data.featurize import FeaturizeResult, featurize_smiles
from ...data.loaders import ESOL_TARGET, load_moleculenet_csv
from ...data.splits import kfold_assignments


def featurize_esol(csv_path) -> FeaturizeResult:
    df = load_moleculenet_csv(csv_path, smiles_col="smiles", id_col="Compound ID")
    return featurize_smiles(df["smiles"].tolist(), df[ESOL_TARGET].to_numpy(dtype=float),
                            df["Compound ID"].tolist(), source=str(csv_path))


def split_fold(graphs, fold: int, n_folds: int, seed: int):
    """(train graphs, held-out graphs) of one fold; the assignment depends only on the seed."""
    folds = kfold_assignments(len(graphs), n_folds, seed)
    train = [g for g, f in zip(graphs, folds) if f != fold]
    test = [g for g, f in zip(graphs, folds) if f == fold]
    return train, test
