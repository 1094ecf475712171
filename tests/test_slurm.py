"""The workflow under a real SLURM: the shipped profile, a one-node cluster on 127.0.0.1.

The iris stage (three rules, no download) runs once through ``profiles/slurm`` with only what a
user edits changed (account, partition limits) plus the two settings a cluster without accounting
needs, and once locally. Every job must have been a SLURM job that completed on our partition with
the memory its rule asked for, and the outputs must equal the local run's.
"""
from __future__ import annotations

import csv
import re
import subprocess
import sys

import pytest
import torch
import yaml

from conftest import REPO_ROOT, copy_workflow, run_snakemake
from slurm_cluster import ClusterUnavailable, one_node_cluster

pytestmark = [pytest.mark.timeout(1200), pytest.mark.slow]

TARGET = "results/iris/reproduction.csv"
RULES = {"iris_train", "iris_importance", "iris_reproduction"}
TABLES = ["importance.csv", "agreement.csv", "reproduction.csv", "metrics.json"]


@pytest.fixture(scope="module")
def slurm_partition():
    try:
        with one_node_cluster() as partition:
            yield partition
    except ClusterUnavailable as err:
        pytest.skip(f"no SLURM cluster for the test: {err}")


def test_slurm_run_equals_local_run(tmp_path, slurm_partition):
    local = copy_workflow(tmp_path / "local")
    run_snakemake(local, "--config", "device=cpu", "--", TARGET)

    cluster = copy_workflow(tmp_path / "cluster")
    profile = yaml.safe_load((REPO_ROOT / "profiles/slurm/config.yaml").read_text())
    # What a user edits: the account (none on this cluster) and the partition limits.
    profile["default-resources"].pop("slurm_account")
    profile["slurm-no-account"] = True
    partitions = tmp_path / "partitions.yaml"
    partitions.write_text(yaml.safe_dump({"partitions": {slurm_partition: {
        "max_runtime": 600, "max_mem_mb": 8000, "max_cpus_per_task": 2, "max_gpu": 0}}}))
    profile["slurm-partition-config"] = str(partitions)
    # What a cluster without accounting storage needs.
    profile["slurm-status-command"] = "squeue"
    profile["slurm-init-seconds-before-status-checks"] = 1
    profile["slurm-keep-successful-logs"] = True
    (tmp_path / "profile").mkdir()
    (tmp_path / "profile" / "config.yaml").write_text(yaml.safe_dump(profile))
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--workflow-profile", str(tmp_path / "profile"),
         "--config", "device=cpu", "--", TARGET],
        cwd=cluster, capture_output=True, text=True, timeout=1100)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:]

    # Every job was submitted to SLURM, ran there, and got its rule's memory.
    submitted = dict(re.findall(r"^rule (\w+):.*?submitted with SLURM jobid (\d+)", log, flags=re.M | re.S))
    assert set(submitted) == RULES and len(set(submitted.values())) == len(RULES), log[-4000:]
    mem = {"iris_train": 1000, "iris_importance": 1500, "iris_reproduction": 500}
    print("\nSLURM jobs of the iris stage:")
    for rule, jobid in sorted(submitted.items(), key=lambda kv: int(kv[1])):
        info = subprocess.run(["scontrol", "show", "job", jobid], capture_output=True, text=True).stdout
        fields = dict(re.findall(r"(\w+)=(\S+)", info))
        print(f"  {jobid:>4} {rule:<18} {fields.get('JobState')} partition={fields.get('Partition')} "
              f"cpus={fields.get('NumCPUs')} mem={fields.get('MinMemoryNode')} node={fields.get('NodeList')}")
        assert fields.get("JobState") == "COMPLETED", info
        assert fields.get("Partition") == slurm_partition, info
        assert fields.get("MinMemoryNode") == f"{mem[rule]}M", info
        assert (cluster / ".snakemake" / "slurm_logs" / f"rule_{rule}" / f"{jobid}.log").is_file()

    # Same numbers as the local run.
    for name in TABLES:
        assert (cluster / "results/iris" / name).read_text() == (local / "results/iris" / name).read_text(), name
    a = torch.load(cluster / "results/iris/model.pt", weights_only=True)["state_dict"]
    b = torch.load(local / "results/iris/model.pt", weights_only=True)["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    hist = [list(csv.DictReader((d / "results/iris/history.csv").open())) for d in (cluster, local)]
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in hist[0]] == \
           [{k: v for k, v in r.items() if k != "seconds"} for r in hist[1]]
