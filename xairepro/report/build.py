"""Build ``results/report/index.html``: one self-contained page.

Sections: the reproduction table (paper's number beside ours, every declared target listed by id,
unreached ones marked as such), each executed notebook (code hidden, figures inline), and
provenance (git commit, config, package versions, data checksums, run time per rule).
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import html
import importlib.metadata as md
import os
import platform
import subprocess
from pathlib import Path
from typing import Sequence

import pandas as pd
import yaml

from .targets import NOT_YET, Target, reproduction_table

PACKAGES = ["xairepro", "torch", "torch-geometric", "rdkit", "captum", "numpy", "pandas", "scikit-learn",
            "scipy", "matplotlib", "seaborn", "snakemake", "papermill", "pooch", "deepchem"]

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:0.9em}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
th{background:#f3f3f3}.ok{background:#e6f4e6}.fail{background:#fbe5e5}.na{color:#888}
section.nb{border-top:2px solid #ddd;margin-top:2em}pre{background:#f7f7f7;padding:0.6em;overflow-x:auto;font-size:0.8em}
img{max-width:100%}
"""


def sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _git_commit(workdir) -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=workdir, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=workdir,
                               capture_output=True, text=True).stdout.strip()
        return out.stdout.strip() + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"


def rule_runtimes(benchmark_dir) -> pd.DataFrame:
    """Seconds per rule (summed over its jobs) from Snakemake ``benchmark:`` files."""
    rows = []
    for path in sorted(Path(benchmark_dir).rglob("*.tsv")) if Path(benchmark_dir).exists() else []:
        rel = path.relative_to(benchmark_dir)
        rule = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        try:
            tab = pd.read_csv(path, sep="\t")
        except (pd.errors.EmptyDataError, pd.errors.ParserError):
            continue
        rows.append({"rule": rule, "job": str(rel), "seconds": float(tab["s"].iloc[0]),
                     "max_rss_mb": float(pd.to_numeric(tab.get("max_rss", pd.Series([float('nan')])), errors="coerce").iloc[0])})
    df = pd.DataFrame(rows, columns=["rule", "job", "seconds", "max_rss_mb"])
    if df.empty:
        return df
    return (df.groupby("rule").agg(jobs=("job", "count"), seconds=("seconds", "sum"), max_rss_mb=("max_rss_mb", "max"))
            .reset_index().sort_values("seconds", ascending=False))


def provenance(config: dict, raw_files: Sequence[str], benchmark_dir, workdir) -> dict:
    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = "not installed"
    try:
        import torch

        device = f"CUDA {torch.version.cuda}, {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "CPU only"
    except ImportError:
        device = "unknown"
    return {
        "generated": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "git_commit": _git_commit(workdir),
        "python": platform.python_version(), "platform": platform.platform(), "accelerator": device,
        "packages": versions,
        "reproducibility": {
            "base seed": config.get("seed"),
            "seed of piece k of a run": "base seed x 1000 + k (nested for folds, subsets, chunks)",
            "deterministic algorithms": config.get("deterministic"),
            "device setting": config.get("device"),
        },
        "data": {str(p): sha256(p) for p in raw_files},
        "config": config,
        "runtimes": rule_runtimes(benchmark_dir),
    }


def _notebook_html(path) -> str:
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(path, as_version=4)
    exporter = HTMLExporter(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb)
    return body


def _table_html(df: pd.DataFrame) -> str:
    rows = []
    for _, r in df.iterrows():
        rep = r.get("reproduced")
        undecided = rep is None or (isinstance(rep, float) and pd.isna(rep))
        if undecided:
            # no row yet, or a figure the target leaves to the reader's eye
            cls = "na"
            verdict = "not yet" if str(r.get("note", "")).startswith(NOT_YET) else "compare by eye"
        else:
            cls = "ok" if str(rep) == "True" else "fail"
            verdict = {"ok": "yes", "fail": "no"}[cls]
        cells = [r.get("id", ""), r.get("source", ""), r.get("experiment", ""), r.get("paper", ""), r.get("ours", ""),
                 r.get("criterion", ""), verdict, r.get("scale", ""), r.get("note", "")]
        rows.append(f"<tr class='{cls}'>" + "".join(
            f"<td>{html.escape('' if (isinstance(c, float) and pd.isna(c)) else str(c))}</td>" for c in cells) + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in ["id", "source", "experiment", "paper", "ours", "criterion",
                                              "reproduced", "scale", "note"])
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def build_report(notebooks: Sequence[str], reproduction_csvs: Sequence[str], raw_files: Sequence[str],
                 config: dict, scale: str, benchmark_dir, workdir, out_html, *, targets: Sequence[Target],
                 table_csv=None) -> None:
    """Write the report; ``targets`` are every experiment's declared targets (the table lists each
    by id, with our row joined on it). ``table_csv``: also write the joined table as CSV."""
    table = reproduction_table(reproduction_csvs, targets)
    if table_csv is not None:
        table.to_csv(table_csv, index=False)
    prov = provenance(config, raw_files, benchmark_dir, workdir)
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>xairepro report</title>"
             f"<style>{CSS}</style></head><body>",
             "<h1>xairepro: reproduction report</h1>",
             f"<p>Scale: <b>{html.escape(scale)}</b>"
             + (" (small subsets and few epochs: numbers are a smoke test, not the papers' settings)"
                if scale == "quick" else " (the papers' settings)") + f". Generated {prov['generated']}.</p>",
             "<h2>Reproduction table</h2>",
             "<p>Each paper's number beside ours. Rows marked <i>not yet</i> are experiments the pipeline does "
             "not reproduce yet; nothing there is filled in by hand.</p>",
             _table_html(table), "<h2>Contents</h2><ul>"]
    names = [Path(nb).stem for nb in notebooks]
    parts += [f"<li><a href='#nb-{n}'>{n}</a></li>" for n in names] + ["<li><a href='#provenance'>provenance</a></li></ul>"]
    for name, nb in zip(names, notebooks):
        parts.append(f"<section class='nb' id='nb-{name}'>{_notebook_html(nb)}</section>")
    runtimes = prov.pop("runtimes")
    parts += ["<section class='nb' id='provenance'><h2>Provenance</h2>",
              f"<p>git commit: <code>{html.escape(prov['git_commit'])}</code><br>python {prov['python']} on "
              f"{html.escape(prov['platform'])}; accelerator: {html.escape(prov['accelerator'])}</p>",
              "<h3>Seeds and determinism</h3><table>" + "".join(
                  f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>"
                  for k, v in prov["reproducibility"].items()) + "</table>",
              "<h3>Data checksums (sha256)</h3><table><tr><th>file</th><th>sha256</th></tr>"
              + "".join(f"<tr><td>{html.escape(k)}</td><td><code>{v}</code></td></tr>" for k, v in prov["data"].items())
              + "</table>",
              "<h3>Run time per rule</h3>" + (runtimes.to_html(index=False, float_format="%.1f") if len(runtimes)
                                               else "<p>no benchmark files found</p>"),
              "<h3>Package versions</h3><table>" + "".join(
                  f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in prov["packages"].items()) + "</table>",
              f"<h3>Configuration</h3><pre>{html.escape(yaml.safe_dump(prov['config'], sort_keys=False))}</pre>",
              "</section></body></html>"]
    out = Path(out_html)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text("\n".join(parts), encoding="utf-8")
    os.replace(tmp, out)
