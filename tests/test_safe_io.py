"""Checkpoints, training states and featurized caches are read weights-only: a file whose unpickling
would run code is refused, naming the file, and the code does not run."""
import numpy as np
import pytest
import torch

from xairepro.data.featurize import featurize_smiles, load_graphs, save_graphs
from xairepro.models import build_model
from xairepro.safe_io import UnsafeFileError, safe_torch_load
from xairepro.training import TrainConfig, fit, load_checkpoint, save_checkpoint
from xairepro.training.core import load_training_state


class Payload:
    """Unpickling this creates a file: what a malicious checkpoint could do instead."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (open, (self.target, "w"))


@pytest.mark.parametrize("loader", [
    lambda p: load_checkpoint(p),
    lambda p: load_graphs(p),
    lambda p: load_training_state(p),
])
def test_crafted_file_is_refused_and_its_code_never_runs(tmp_path, loader):
    created = tmp_path / "pwned.txt"
    bad = tmp_path / "model.pt"
    torch.save({"model_name": "nfp", "model_kwargs": {}, "state_dict": {}, "payload": Payload(created)}, bad)
    with pytest.raises(UnsafeFileError, match=r"model\.pt: refused"):
        loader(bad)
    assert not created.exists()


def test_checkpoints_and_caches_round_trip_weights_only(tmp_path):
    graphs = featurize_smiles(["CCO", "c1ccccc1O"], np.array([1.0, -1.0]), ids=["a", "b"]).graphs
    from xairepro.data.featurize import FeaturizeResult

    save_graphs(tmp_path / "graphs.pt", FeaturizeResult(graphs, [{"row": 2, "smiles": "X"}]), meta={"source": "t"})
    back = load_graphs(tmp_path / "graphs.pt")
    assert [g.smiles for g in back.graphs] == ["CCO", "c1ccccc1O"] and back.failures[0]["row"] == 2
    assert torch.equal(back.graphs[1].x, graphs[1].x) and back.graphs[0].mol_id == "a"
    model = build_model("nfp", hidden_dim=4, n_layers=1)
    state = tmp_path / "state.pt"
    fit(model, graphs, cfg=TrainConfig(epochs=1, batch_size=2, checkpoint=str(state)), progress=lambda r: None)
    assert load_training_state(state)["epoch"] == 1  # the resume state is weights-only too
    save_checkpoint(tmp_path / "m.pt", model, "nfp", {"hidden_dim": 4, "n_layers": 1}, TrainConfig(epochs=1))
    rebuilt, ckpt = load_checkpoint(tmp_path / "m.pt")
    assert ckpt["train_config"]["epochs"] == 1
    assert safe_torch_load(tmp_path / "m.pt")["model_name"] == "nfp"


def test_a_cache_of_the_old_format_says_how_to_regenerate(tmp_path):
    path = tmp_path / "graphs.pt"
    torch.save({"graphs": [], "failures": []}, path)  # plain, but no format marker
    with pytest.raises(UnsafeFileError, match="rerun the featurize rule"):
        load_graphs(path)


def test_atomic_writes_get_the_mode_a_plain_write_gets(tmp_path):
    """Temporary files are owner-only; the renamed result must follow the umask, so that a group can
    read the models in a cluster's shared results folder."""
    import os
    import stat

    from xairepro.runtime import write_json
    from xairepro.safe_io import atomic_torch_save
    from xairepro.training.core import write_history_csv

    old = os.umask(0o002)
    try:
        plain = tmp_path / "plain.txt"
        plain.write_text("x")
        atomic_torch_save({"w": torch.zeros(2)}, tmp_path / "model.pt")
        write_json({"a": 1}, tmp_path / "metrics.json")
        write_history_csv([{"epoch": 1, "loss": 0.5}], tmp_path / "history.csv")
        want = stat.S_IMODE(plain.stat().st_mode)
        assert want == 0o664
        for name in ("model.pt", "metrics.json", "history.csv"):
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == want, name
    finally:
        os.umask(old)


def test_a_truncated_checkpoint_names_the_file_and_the_rule_that_rebuilds_it(tmp_path):
    from xairepro.safe_io import CorruptFileError

    kwargs = dict(n_in=4, hidden_dim=8, n_layers=2, dropout=0.0, n_out=3)
    path = tmp_path / "model.pt"
    save_checkpoint(path, build_model("tabular_mlp", **kwargs), "tabular_mlp", kwargs)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError, match=r"model\.pt: this checkpoint cannot be read .*truncated.*"
                                               r"rerun the training rule"):
        load_checkpoint(path)


def test_read_csvs_keeps_every_row_and_the_columns_of_empty_jobs(tmp_path):
    import pandas as pd

    from xairepro.runtime import read_csvs

    (tmp_path / "a.csv").write_text("task,score\nimages,0.5\n")
    (tmp_path / "b.csv").write_text("task,score\n")                       # a job that scored nothing
    (tmp_path / "c.csv").write_text("task,score\ntext,0.25\ntext,0.75\n")
    both = read_csvs([tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"])
    assert both["task"].tolist() == ["images", "text", "text"] and both["score"].sum() == 1.5
    empty = read_csvs([tmp_path / "b.csv"])
    assert empty.empty and list(empty.columns) == ["task", "score"]
