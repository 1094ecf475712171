"""Reliability of the workflow as a whole: a training job killed with SIGKILL resumes from its last
epoch under ``--rerun-incomplete`` and ends with the uninterrupted run's numbers; nothing a killed
job leaves behind is taken for a finished output."""
from __future__ import annotations

import csv
import glob
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import torch

from conftest import SHARED_DATA, copy_workflow, needs_shared_data, run_snakemake

IRIS_SLOW = {"iris": {"train": {"epochs": 400}}}
IRIS_MODEL = "results/iris/model.pt"


def _without_seconds(path):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(open(path))]


def _epochs_done(pattern: str) -> int:
    files = glob.glob(pattern)
    if not files:
        return 0
    try:
        return len(_without_seconds(files[0]))
    except (OSError, csv.Error):
        return 0


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_training_killed_mid_run_resumes_to_the_same_numbers(tmp_path):
    reference = copy_workflow(tmp_path / "reference", IRIS_SLOW)
    run_snakemake(reference, "--config", "device=cpu", "--", IRIS_MODEL)

    wf = copy_workflow(tmp_path / "killed", IRIS_SLOW)
    live = str(wf / "results/iris/training-state-*.csv")
    proc = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "1", "--config", "device=cpu",
                             "--", IRIS_MODEL], cwd=wf, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while _epochs_done(live) < 30 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert proc.poll() is None, "training finished before it could be killed; raise its epochs"
    os.killpg(proc.pid, signal.SIGKILL)  # Snakemake and its job, as an out-of-memory kill would
    proc.wait()
    killed_at = _epochs_done(live)
    assert 30 <= killed_at < 400
    assert not (wf / IRIS_MODEL).exists(), "a killed training job left a model behind"
    assert glob.glob(str(wf / "results/iris/training-state-*.pt")), "no per-epoch state to resume from"

    # Without --rerun-incomplete Snakemake does not accept what the killed job left.
    run_snakemake(wf, "--unlock")
    plain = run_snakemake(wf, "-n", "--config", "device=cpu", "--", IRIS_MODEL, check=False)
    assert "iris_train" in plain.stdout + plain.stderr

    run_snakemake(wf, "--rerun-incomplete", "--config", "device=cpu", "--", IRIS_MODEL)
    log = (wf / "results/logs/iris/train.log").read_text()
    resumed = re.search(r"resuming from \S+ after epoch (\d+)", log)
    assert resumed, log[-2000:]
    assert int(resumed.group(1)) >= killed_at - 1  # the state may be one epoch behind the live CSV

    assert (wf / "results/iris/metrics.json").read_text() == (reference / "results/iris/metrics.json").read_text()
    assert _without_seconds(wf / "results/iris/history.csv") == _without_seconds(reference / "results/iris/history.csv")
    a = torch.load(wf / IRIS_MODEL, weights_only=True)["state_dict"]
    b = torch.load(reference / IRIS_MODEL, weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in b)
    # the per-epoch state is gone once the model is written
    assert not glob.glob(str(wf / "results/iris/training-state-*"))


#: Determinism needs epochs, not convergence: 4 epochs and 4 samples keep every code path.
ESOL_SHORT = {"esol": {"train": {"epochs": 4}, "attribution": {"mc_samples": 4}}}
ESOL_FOLD0 = ["results/esol/nfp/fold0/atoms.csv", "results/esol/ggnn/fold0/atoms.csv"]
ESOL_COMPARED = ["esol/featurize.json", "esol/nfp/fold0/predictions.csv", "esol/nfp/fold0/atoms.csv",
                 "esol/ggnn/fold0/predictions.csv", "esol/ggnn/fold0/atoms.csv"]


@needs_shared_data
@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_two_runs_from_scratch_give_identical_numbers(tmp_path):
    """Training and every attribution method of ESOL fold 0 (both graph networks), twice from an
    empty results folder: the same bytes, and the same per-epoch history but for the timings."""
    runs = []
    for name in ("first", "second"):
        wf = copy_workflow(tmp_path / name, ESOL_SHORT)
        run_snakemake(wf, "--config", "device=cpu", "--", *ESOL_FOLD0, mirror=SHARED_DATA)
        runs.append(wf / "results")
    for rel in ESOL_COMPARED:
        assert (runs[0] / rel).read_bytes() == (runs[1] / rel).read_bytes(), rel
    for model in ("nfp", "ggnn"):
        hist = [_without_seconds(r / f"esol/{model}/fold0/history.csv") for r in runs]
        assert hist[0] == hist[1] and len(hist[0]) > 1
    atoms = (runs[0] / "esol/nfp/fold0/atoms.csv").read_text()
    assert len(atoms.splitlines()) > 1000  # attributions of every held-out atom, not an empty table
