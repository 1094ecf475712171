"""Operations figures of the workflow: what a run costs and what an edit reruns.

In a fresh copy of the workflow (``--workdir``), with downloads from ``--mirror``:

1. the whole workflow at ``--scale`` (default quick) on ``--cores`` cores: wall time, and the
   peak memory of the whole process tree (Snakemake and every job, sampled every 0.5 s);
2. ``snakemake -n`` on the finished run: its time (median of three) and that nothing is planned;
3. which rules a dry run plans after editing one notebook (``notebooks/esol.ipynb``), one
   attribution parameter (``esol.attribution.mc_samples``) and one training parameter
   (``esol.train.epochs``): only the dependents of the edit may appear;
4. per rule, from the ``benchmark:`` files: jobs, total seconds, peak RSS, beside the memory the
   rule declares (``mem_mb`` of attempt 1), and whether the declaration covers the measurement.

Figures go to ``<workdir>/results/benchmarks/operations.json`` and ``rules.csv`` and are printed
as Markdown. Not a test: it runs the whole workflow (about 15 minutes on 2 cores at quick scale).

    python benchmarks/operations.py --mirror /path/to/mirror
    python benchmarks/operations.py --mirror /path/to/mirror --reuse   # steps 2-4 on a finished run
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import psutil
import yaml

REPO = Path(__file__).resolve().parents[1]
WORKFLOW_FILES = ["Snakefile", "config.yaml", "rules", "scripts", "notebooks", "report", "envs", "xairepro"]


def copy_workflow(dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        src = REPO / name
        if (dest / name).exists():
            shutil.rmtree(dest / name) if (dest / name).is_dir() else (dest / name).unlink()
        if src.is_dir():
            shutil.copytree(src, dest / name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(src, dest / name)


def snakemake(workdir: Path, *args: str, env: dict, sample_memory: bool = False):
    """Run Snakemake; returns (completed process, wall seconds, peak tree RSS in MB or None)."""
    cmd = [sys.executable, "-m", "snakemake", *args]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = [0]

    def sample():
        root = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                procs = [root, *root.children(recursive=True)]
                rss = 0
                for p in procs:
                    try:
                        rss += p.memory_info().rss
                    except psutil.Error:
                        pass
                peak[0] = max(peak[0], rss)
            except psutil.Error:
                pass
            time.sleep(0.5)

    thread = threading.Thread(target=sample, daemon=True) if sample_memory else None
    if thread:
        thread.start()
    out, _ = proc.communicate()
    wall = time.perf_counter() - t0
    if thread:
        thread.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{out[-5000:]}")
    return out, wall, (peak[0] / 2**20 if sample_memory else None)


def planned(text: str) -> dict[str, int]:
    """Rule -> number of planned jobs, from a dry run's output."""
    counts: dict[str, int] = {}
    for rule in re.findall(r"^(?:local)?rule (\w+):", text, flags=re.M):
        counts[rule] = counts.get(rule, 0) + 1
    return counts


def declared_memory(text: str) -> dict[str, int]:
    """Rule -> largest mem_mb among its jobs, from a forced dry run's job listing."""
    out: dict[str, int] = {}
    for rule, block in re.findall(r"^(?:local)?rule (\w+):\n(.*?)(?=^\S|\Z)", text, flags=re.M | re.S):
        m = re.search(r"\bmem_mb=(\d+)", block)
        if m:
            out[rule] = max(out.get(rule, 0), int(m.group(1)))
    return out


def measured(bench_dir: Path) -> pd.DataFrame:
    rows = []
    for path in sorted(bench_dir.rglob("*.tsv")):
        rel = path.relative_to(bench_dir)
        rule = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        tab = pd.read_csv(path, sep="\t")
        rows.append({"rule": rule, "s": float(tab["s"].iloc[0]),
                     "max_rss_mb": float(pd.to_numeric(tab["max_rss"], errors="coerce").iloc[0])})
    df = pd.DataFrame(rows)
    return df.groupby("rule").agg(jobs=("s", "size"), seconds=("s", "sum"), peak_rss_mb=("max_rss_mb", "max"))


def edit_config(workdir: Path, keys: list[str], change) -> str:
    path = workdir / "config.yaml"
    original = path.read_text()
    cfg = yaml.safe_load(original)
    node = cfg
    for k in keys[:-1]:
        node = node[k]
    node[keys[-1]] = change(node[keys[-1]])
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return original


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/xairepro-operations"))
    ap.add_argument("--mirror", type=Path, default=os.environ.get("XAIREPRO_DATA_MIRROR"))
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--scale", choices=["quick", "full"], default="quick")
    ap.add_argument("--reuse", action="store_true", help="skip the full run: the workdir holds a finished one")
    args = ap.parse_args(argv)
    env = dict(os.environ, XAIREPRO_PROGRESS="log")
    if args.mirror:
        env["XAIREPRO_DATA_MIRROR"] = str(args.mirror)
    wd = args.workdir
    cfg = ["--config", f"scale={args.scale}", "device=cpu"]
    figures: dict = {"cores": args.cores, "scale": args.scale, "cpu_count": os.cpu_count(),
                     "memory_gb": round(psutil.virtual_memory().total / 2**30, 1)}
    if args.reuse:
        copy_workflow(wd)  # today's rules and scripts beside the finished results
    else:
        if wd.exists():
            shutil.rmtree(wd)
        copy_workflow(wd)
        out, wall, peak = snakemake(wd, "--cores", str(args.cores), *cfg, env=env, sample_memory=True)
        figures.update(full_run_s=round(wall, 1), full_run_peak_tree_rss_mb=round(peak),
                       full_run_jobs=int(re.findall(r"(\d+) of (\d+) steps \(100%\) done", out)[-1][1]))
        print(f"full run: {wall / 60:.1f} min, peak memory of all processes {peak / 1024:.2f} GB", flush=True)

    times = []
    for _ in range(3):
        out, wall, _ = snakemake(wd, "-n", "--cores", str(args.cores), *cfg, env=env)
        times.append(wall)
        if planned(out):
            raise SystemExit(f"a dry run on the finished run plans jobs: {planned(out)}")
    figures["dry_run_finished_s"] = round(statistics.median(times), 2)

    edits = {}
    nb = wd / "notebooks/esol.ipynb"
    original = nb.read_text()
    book = json.loads(original)
    book["cells"].append({"cell_type": "markdown", "metadata": {}, "source": ["An added note."]})
    nb.write_text(json.dumps(book, indent=1))
    try:
        edits["notebook notebooks/esol.ipynb"] = planned(snakemake(wd, "-n", *cfg, env=env)[0])
    finally:
        nb.write_text(original)
    for label, keys, change in [("attribution esol.attribution.mc_samples", ["esol", "attribution", "mc_samples"],
                                 lambda v: {k: int(x) + 1 for k, x in v.items()} if isinstance(v, dict) else int(v) + 1),
                                ("training esol.train.epochs", ["esol", "train", "epochs"],
                                 lambda v: {k: int(x) + 1 for k, x in v.items()} if isinstance(v, dict) else int(v) + 1)]:
        original = edit_config(wd, keys, change)
        try:
            edits[label] = planned(snakemake(wd, "-n", *cfg, env=env)[0])
        finally:
            (wd / "config.yaml").write_text(original)
    figures["reruns_after_edit"] = edits

    forced = snakemake(wd, "-n", "-F", "--cores", str(args.cores), *cfg, env=env)[0]
    rules = measured(wd / "results/benchmarks")
    rules["declared_mem_mb"] = pd.Series(declared_memory(forced))
    rules["covered"] = rules["declared_mem_mb"] >= rules["peak_rss_mb"]
    rules = rules.sort_values("seconds", ascending=False)
    rules.to_csv(wd / "results/benchmarks/rules.csv")
    (wd / "results/benchmarks/operations.json").write_text(json.dumps(figures, indent=2))

    print("\n| figure | value |\n|---|---|")
    for k, v in figures.items():
        if k != "reruns_after_edit":
            print(f"| {k} | {v} |")
    print("\n| edit | rules a dry run plans (jobs) |\n|---|---|")
    for label, plan in edits.items():
        print(f"| {label} | {', '.join(f'{r} ({n})' for r, n in sorted(plan.items()))} |")
    print("\n" + rules.to_markdown(floatfmt=".0f"))
    uncovered = rules.index[~rules["covered"]].tolist()
    print(f"\nrules whose peak RSS exceeds their declared mem_mb: {uncovered or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
