"""Build ``results/report/index.html``: one self-contained page.

Sections: a dashboard (per source, how many targets are reproduced, not reproduced, unstable over
seeds, compared by eye, not yet, not applicable; the faithfulness leaderboard's heatmap and its
BayesGrad verdicts), the reproduction table (verdict first, long notes folded, every declared target
listed by id), each executed notebook (code hidden, figures inline), and provenance (git commit,
config, package versions, data checksums, run time per rule). It fits a 1,400-pixel-wide window
without horizontal scrolling.
"""
from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import html
import importlib.metadata as md
import platform
import subprocess
from pathlib import Path
from typing import Sequence

import pandas as pd
import yaml

from .targets import VERDICTS, Target, reproduction_table

PACKAGES = ["xairepro", "torch", "torch-geometric", "rdkit", "captum", "numpy", "pandas", "scikit-learn",
            "scipy", "matplotlib", "seaborn", "snakemake", "papermill", "pooch", "deepchem"]

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1280px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:0.86em}td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
table.wide{table-layout:fixed;width:100%}table.wide td{overflow-wrap:anywhere}
th{background:#f3f3f3}.ok{background:#e6f4e6}.fail{background:#fbe5e5}.unstable{background:#fff4d6}.na{color:#777}
section.nb{border-top:2px solid #ddd;margin-top:2em}pre{background:#f7f7f7;padding:0.6em;overflow-x:auto;font-size:0.8em}
img{max-width:100%}details summary{cursor:pointer;color:#345}.dash td,.dash th{text-align:center}
.dash td:first-child{text-align:left}div.output_area{overflow-x:auto}
"""
SCALE_NOTES = {"quick": "small subsets and few epochs: numbers are a smoke test, not the papers' settings",
               "cpu": "the closest reproduction two CPU cores make in about two hours: the papers' settings "
                      "where they fit, narrower or shorter models where not (README, Scales)",
               "full": "the papers' settings"}
VERDICT_CLASS = {"reproduced": "ok", "not reproduced": "fail", "unstable": "unstable"}
NOTE_FOLD = 90


def sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _git_commit(workdir) -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=workdir, capture_output=True, text=True, check=True)
        # the generated pages (docs/results, rewritten by report_docs itself) are not a change of the code
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                ":(exclude)docs/results"], cwd=workdir, capture_output=True, text=True).stdout.strip()
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


def provenance(config: dict, raw_files: Sequence[str], benchmark_dir, workdir, threads: Sequence[int] = ()) -> dict:
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
            "torch threads per job": (", ".join(str(t) for t in threads) or "unknown")
            + " (a job runs torch with its rule's threads; results of one seed can change with the thread count)",
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


def _esc(value) -> str:
    return html.escape("" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value))


def _folded(text: str) -> str:
    text = _esc(text)
    if len(text) <= NOTE_FOLD:
        return text
    cut = text.rfind(" ", 0, NOTE_FOLD)
    cut = cut if cut > 0 else NOTE_FOLD
    return f"<details><summary>{text[:cut]} …</summary>{text[cut:]}</details>"


def _table_html(df: pd.DataFrame) -> str:
    """The reproduction table, verdict first, long notes and criteria folded."""
    widths = {"verdict": "8%", "id": "14%", "experiment": "13%", "paper": "11%", "ours": "11%",
              "criterion": "14%", "seeds": "4%", "holding_rate": "7%", "scale": "4%", "note": "14%"}
    cols = list(widths)
    rows = []
    for _, r in df.iterrows():
        verdict = str(r.get("verdict", ""))
        cls = VERDICT_CLASS.get(verdict, "na")
        cells = []
        for c in cols:
            v = r.get(c, "")
            cells.append(_folded(v) if c in ("note", "criterion", "paper", "ours", "experiment") else _esc(v))
        rows.append(f"<tr class='{cls}'>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    colgroup = "<colgroup>" + "".join(f"<col style='width:{w}'>" for w in widths.values()) + "</colgroup>"
    head = "".join(f"<th>{h}</th>" for h in cols)
    return f"<table class='wide'>{colgroup}<tr>{head}</tr>{''.join(rows)}</table>"


def dashboard_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Per source, the number of targets with each verdict (and the total)."""
    counts = table.groupby(["source", "verdict"]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=list(VERDICTS), fill_value=0)
    counts["total"] = counts.sum(axis=1)
    order = list(dict.fromkeys(table["source"]))
    return counts.reindex(order)


def _dashboard_html(table: pd.DataFrame) -> str:
    counts = dashboard_counts(table)
    head = "".join(f"<th>{h}</th>" for h in ["source", *counts.columns])
    body = "".join("<tr><td>" + _esc(src) + "</td>" + "".join(f"<td>{int(v)}</td>" for v in row) + "</tr>"
                   for src, row in counts.iterrows())
    total = "<tr><th>all</th>" + "".join(f"<th>{int(v)}</th>" for v in counts.sum()) + "</tr>"
    return f"<table class='dash'><tr>{head}</tr>{body}{total}</table>"


def _leaderboard_html(leaderboard: dict | None) -> str:
    if not leaderboard:
        return "<p>No leaderboard in this run.</p>"
    parts = []
    heatmap = leaderboard.get("heatmap")
    if heatmap and Path(heatmap).exists():
        data = base64.b64encode(Path(heatmap).read_bytes()).decode()
        parts.append(f"<img alt='faithfulness leaderboard heatmap' src='data:image/png;base64,{data}'>")
    verdicts = leaderboard.get("verdicts")
    if verdicts is not None and len(verdicts):
        parts.append("<h3>BayesGrad against VanillaGrad, SmoothGrad and the noise methods, per experiment (calls at the "
                     "level of trained models)</h3><ul>"
                     + "".join(f"<li>{_esc(v)}</li>" for v in verdicts["verdict"]) + "</ul>")
    display = leaderboard.get("display")
    if display is not None and len(display):
        parts.append("<details><summary>Every cell as text (score [95% interval] #rank; ✓/✗ sanity check; "
                     "n/a with the reason)</summary>" + display.to_html(index=False, escape=True) + "</details>")
    return "".join(parts)


def build_report(notebooks: Sequence[str], reproduction_csvs: Sequence[str], raw_files: Sequence[str],
                 config: dict, scale: str, benchmark_dir, workdir, out_html, *, targets: Sequence[Target],
                 table_csv=None, leaderboard: dict | None = None, threads: Sequence[int] = ()) -> None:
    """Write the report; ``targets`` are every experiment's declared targets (the table lists each
    by id, with our row joined on it). ``table_csv``: also write the joined table as CSV.
    ``leaderboard``: ``{"heatmap": png path, "verdicts": DataFrame, "display": DataFrame}``."""
    table = reproduction_table(reproduction_csvs, targets)
    if table_csv is not None:
        table.to_csv(table_csv, index=False)
    prov = provenance(config, raw_files, benchmark_dir, workdir, threads)
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>xairepro report</title>"
             f"<style>{CSS}</style></head><body>",
             "<h1>xairepro: reproduction report</h1>",
             f"<p>Scale: <b>{html.escape(scale)}</b> ({SCALE_NOTES.get(scale, '')}). Generated {prov['generated']}.</p>",
             "<h2>Dashboard</h2>",
             "<p>Targets per source by verdict. <i>unstable</i>: a claim the paper makes from one model that "
             "holds in some seeds and not in others "
             "(the table gives the counts and the 95% Wilson interval of the share of seeds where it holds, which "
             "straddles one half); <i>not yet</i>: declared, not "
             "measured by the pipeline; <i>not applicable</i>: needs data this adaptation does not use.</p>",
             _dashboard_html(table),
             "<h2>Faithfulness leaderboard</h2>", _leaderboard_html(leaderboard),
             "<h2>Reproduction table</h2>",
             "<p>Each paper's number beside ours, the verdict first. Nothing is filled in by hand.</p>",
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
    from ..safe_io import atomic_write

    text = "\n".join(parts)
    atomic_write(out, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
