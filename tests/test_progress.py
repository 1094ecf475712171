"""Progress reporting: bars on a terminal, throttled log lines with rate and time left elsewhere,
and the per-epoch history CSV that training rewrites after every epoch."""
import logging

import pandas as pd
import pytest
import torch

from xairepro.progress import progress, progress_mode
from xairepro.training import TrainConfig, fit, resume_path, train_model
from xairepro.context import RunContext


def test_off_a_terminal_progress_logs_rate_and_time_left(monkeypatch, caplog):
    import io
    import sys

    monkeypatch.delenv("XAIREPRO_PROGRESS", raising=False)
    monkeypatch.setenv("XAIREPRO_PROGRESS_SECONDS", "0")
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # a log file, not a terminal
    assert progress_mode() == "log"
    with caplog.at_level(logging.INFO, logger="xairepro.progress"):
        assert list(progress(range(4), "chunks", unit="chunk")) == [0, 1, 2, 3]
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 4 and lines[-1].startswith("chunks: 4/4 (100%)")
    assert "chunk/s" in lines[1] and "left ~" in lines[1]


def test_log_lines_are_throttled_and_inner_loops_stay_quiet(monkeypatch, caplog):
    monkeypatch.setenv("XAIREPRO_PROGRESS", "log")
    monkeypatch.setenv("XAIREPRO_PROGRESS_SECONDS", "3600")
    with caplog.at_level(logging.INFO, logger="xairepro.progress"):
        list(progress(range(1000), "epochs"))
        list(progress(range(1000), "batches", leave=False))
    assert [r.getMessage().split(":")[0] for r in caplog.records] == ["epochs"]  # only the final line


def test_progress_modes_from_the_environment(monkeypatch):
    monkeypatch.setenv("XAIREPRO_PROGRESS", "off")
    data = [1, 2]
    assert progress(data, "x") is data
    monkeypatch.setenv("XAIREPRO_PROGRESS", "bar")
    from tqdm.auto import tqdm
    assert isinstance(progress(data, "x"), tqdm)
    monkeypatch.setenv("XAIREPRO_PROGRESS", "loud")
    with pytest.raises(ValueError, match="XAIREPRO_PROGRESS"):
        progress(data, "x")


def _regression_data(n=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 6, generator=g)
    return torch.utils.data.TensorDataset(x, x[:, :1] * 2 + 1)


def test_fit_rewrites_the_history_csv_after_every_epoch(tmp_path):
    seen = []
    path = tmp_path / "live.csv"
    fit(torch.nn.Linear(6, 1), _regression_data(), cfg=TrainConfig(epochs=3, batch_size=8),
        progress=lambda row: seen.append(len(pd.read_csv(path))), history_csv=path)
    assert seen == [1, 2, 3]
    assert list(pd.read_csv(path).columns[:2]) == ["epoch", "train_loss"]


def test_a_changed_configuration_never_resumes_from_another_ones_state(tmp_path):
    spec = {"arch": "tabular_mlp", "n_in": 6, "hidden_dim": 8, "n_layers": 2}
    ctx = RunContext(seed=0, device="cpu", resume_dir=str(tmp_path))
    a = resume_path(tmp_path, {"lr": 0.1})
    assert a == resume_path(tmp_path, {"lr": 0.1}) and a != resume_path(tmp_path, {"lr": 0.2})
    trained = train_model(spec, _regression_data(), train={"epochs": 2, "batch_size": 8}, task="regression",
                          ctx=ctx)
    assert len(trained.history) == 2 and trained.config.checkpoint is None
    assert list(tmp_path.iterdir()) == []  # state and live history removed once training finished
