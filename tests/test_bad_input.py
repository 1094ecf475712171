"""Bad input fails with a message naming the culprit, and leaves what was computed before intact.

The issue's list, and where each case is tested:
- wrong checksum: test_download.py (HTTP and mirror), test_workflow.py (through Snakemake);
- a mirror folder without SHA256SUMS: test_download.py::test_mirror_without_sha256sums;
- a CSV with a missing column: test_loaders.py::test_moleculenet_errors_name_the_file;
- unparsable SMILES rows: test_featurize.py::test_unparsable_smiles_are_counted_logged_and_skipped;
- an unknown config key or a wrong type: test_config.py, test_workflow.py (before any job runs);
- a truncated archive, an empty dataset after filtering, an unwritable target path, and a
  checkpoint or training state from another configuration: here.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
import make_fixtures as fx  # noqa: E402

from xairepro.data.featurize import featurize_smiles  # noqa: E402
from xairepro.data.loaders import DataFormatError, EmptyDatasetError, load_aclimdb, load_cifar10  # noqa: E402
from xairepro.safe_io import OutputPathError, atomic_torch_save, output_folder  # noqa: E402
from xairepro.models import build_model  # noqa: E402
from xairepro.training import (CheckpointMismatchError, TrainConfig, fit, load_checkpoint,  # noqa: E402
                               save_checkpoint)


@pytest.mark.parametrize("make, load", [(fx.make_aclimdb_tarball, load_aclimdb),
                                        (fx.make_cifar10_python_tarball, load_cifar10)])
def test_a_truncated_archive_is_named(tmp_path, make, load):
    archive = make(tmp_path)
    data = archive.read_bytes()
    cut = tmp_path / f"cut-{archive.name}"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFormatError, match=f"cut-{archive.name}"):
        load(cut)
    assert archive.read_bytes() == data  # the intact archive beside it is untouched


def test_nothing_left_after_dropping_unparsable_smiles_is_an_error_naming_the_file():
    with pytest.raises(EmptyDatasetError, match=r"esol.csv: no molecule left.*2 SMILES rows.*row 0, 'C1CC'"):
        featurize_smiles(["C1CC", "not a smiles"], np.zeros(2), source="esol.csv")


def test_a_tox21_file_without_any_srmmp_label_is_an_empty_split():
    from xairepro.experiments.tox21.data import make_splits

    graphs = featurize_smiles(["CCO", "c1ccncc1", "CCN"], np.full((3, 12), np.nan)).graphs
    with pytest.raises(EmptyDatasetError, match="SR-MMP"):
        make_splits(graphs, {"val_fraction": 0.34, "srmmp_split": [0.6, 0.2, 0.2]}, seed=0)


def test_an_unwritable_target_is_named_and_an_existing_output_survives_a_failed_write(tmp_path):
    blocker = tmp_path / "results"
    blocker.write_text("a file where the results folder should be")
    with pytest.raises(OutputPathError, match=r"cannot write .*results/esol/model.pt"):
        output_folder(blocker / "esol" / "model.pt")
    with pytest.raises(OutputPathError, match="results/esol/model.pt"):
        atomic_torch_save({"w": torch.ones(2)}, blocker / "esol" / "model.pt")

    good = tmp_path / "model.pt"
    atomic_torch_save({"w": torch.ones(2)}, good)
    before = good.read_bytes()
    with pytest.raises(Exception):
        atomic_torch_save({"w": lambda: None}, good)  # cannot be serialized: fails mid-write
    assert good.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


SPEC = {"arch": "tabular_mlp", "n_in": 4, "hidden_dim": 8, "n_layers": 2, "n_out": 3}


def _data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(24, 4, generator=g)
    return torch.utils.data.TensorDataset(x, (x[:, 0] > 0).long())


def test_a_checkpoint_of_another_configuration_is_refused_naming_file_and_both_specs(tmp_path):
    kwargs = {k: v for k, v in SPEC.items() if k != "arch"}
    path = tmp_path / "esol/nfp/fold0/model.pt"
    save_checkpoint(path, build_model("tabular_mlp", **kwargs), "tabular_mlp", kwargs)
    model, _ = load_checkpoint(path, expect=SPEC)  # the configuration it was trained under
    assert sum(p.numel() for p in model.parameters()) > 0
    with pytest.raises(CheckpointMismatchError, match=r"esol/nfp/fold0/model.pt.*hidden_dim.*\(8, 16\)"):
        load_checkpoint(path, expect=dict(SPEC, hidden_dim=16))
    with pytest.raises(CheckpointMismatchError, match="model.pt: a tabular_mlp checkpoint.*nfp"):
        load_checkpoint(path, expect={"arch": "nfp"})
    # weights that do not fit the model the checkpoint names (edited or mixed-up files)
    bad = tmp_path / "mixed.pt"
    save_checkpoint(bad, build_model("tabular_mlp", **dict(kwargs, hidden_dim=16)), "tabular_mlp", kwargs)
    with pytest.raises(CheckpointMismatchError, match="mixed.pt: its weights do not fit"):
        load_checkpoint(bad)
    not_a_checkpoint = tmp_path / "graphs.pt"
    torch.save({"format": 2, "graphs": []}, not_a_checkpoint)
    with pytest.raises(CheckpointMismatchError, match="graphs.pt: not a model checkpoint"):
        load_checkpoint(not_a_checkpoint)


def test_a_training_state_of_another_configuration_is_refused_and_kept(tmp_path):
    kwargs = {k: v for k, v in SPEC.items() if k != "arch"}
    state = tmp_path / "training-state.pt"
    cfg = TrainConfig(task="multiclass", epochs=2, batch_size=8, checkpoint=str(state))
    fit(build_model("tabular_mlp", **kwargs), _data(), cfg=cfg)
    before = state.read_bytes()
    with pytest.raises(CheckpointMismatchError, match="training-state.pt: training state of another configuration"):
        fit(build_model("tabular_mlp", **dict(kwargs, hidden_dim=16)), _data(), cfg=TrainConfig(
            task="multiclass", epochs=3, batch_size=8, checkpoint=str(state)))
    assert state.read_bytes() == before
