"""Project a scale's wall time on N cores from Snakemake's plan and a run's measured job costs.

The plan is the text of a dry run (``snakemake -n --forceall --cores N --config scale=S``): every
job's rule, inputs, outputs, benchmark file, threads and priority. A job depends on the jobs whose
outputs it reads. Its cost is read from its own ``benchmark:`` file in a results folder where that
job ran, else the median over the measured jobs of its rule (``source`` says which), times a factor
per rule where a projection changes a setting (fewer epochs: a factor of 0.5). Two costs bracket the
truth: the measured wall seconds (upper: they carry whatever else the machine ran at the time, and a
run that gave a job fewer threads than the plan does) and the measured CPU seconds over the planned
threads (lower: the work alone, threads perfectly parallel, no waiting on files). The schedule is a
list schedule, as Snakemake's: whenever cores are free the ready job of the highest priority, then
the longest remaining path, starts if its threads fit.
"""
from __future__ import annotations

import heapq
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

_RULE = re.compile(r"^(?:local)?rule (\w+):\s*$")
_FIELD = re.compile(r"^\s{4}(\w+): (.*)$")


@dataclass
class PlannedJob:
    jobid: int
    rule: str
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    benchmark: str | None = None
    threads: int = 1
    priority: int = 0
    wildcards: str = ""
    depends_on: set[int] = field(default_factory=set)


def parse_dry_run(text: str) -> list[PlannedJob]:
    """The jobs of a Snakemake dry run's text, with the dependencies their files imply."""
    jobs, current = [], None
    for line in text.splitlines():
        m = _RULE.match(line)
        if m:
            current = {"rule": m.group(1)}
            jobs.append(current)
            continue
        if current is None:
            continue
        f = _FIELD.match(line)
        if f:
            current[f.group(1)] = f.group(2).strip()
        elif line.strip() and not line.startswith(" "):
            current = None
    planned = []
    for raw in jobs:
        if "jobid" not in raw:
            continue
        split = lambda key: tuple(p.strip() for p in raw.get(key, "").split(", ") if p.strip())
        planned.append(PlannedJob(
            jobid=int(raw["jobid"]), rule=raw["rule"], inputs=split("input"), outputs=split("output"),
            benchmark=raw.get("benchmark"), threads=int(raw.get("threads", 1)),
            priority=int(raw.get("priority", 0)), wildcards=raw.get("wildcards", "")))
    if not planned:
        raise ValueError("the dry run's text names no job (was it run with -n --forceall?)")
    producer = {out: job.jobid for job in planned for out in job.outputs}
    for job in planned:
        job.depends_on = {producer[i] for i in job.inputs if i in producer and producer[i] != job.jobid}
    return planned


COSTS = ("wall", "cpu")


def measured_seconds(results_dir, benchmark: str | None, cost: str = "wall") -> float | None:
    """Seconds of one job's benchmark file (a path as the plan names it, ``results/benchmarks/...``,
    read under the results folder's parent), or None: its wall seconds (``s``) or its CPU seconds
    (``cpu_time``)."""
    return _read_seconds(Path(results_dir).parent / benchmark, cost) if benchmark else None


def _read_seconds(path: Path, cost: str = "wall") -> float | None:
    if cost not in COSTS:
        raise ValueError(f"cost must be one of {COSTS}, got {cost!r}")
    if not path.is_file():
        return None
    try:
        tab = pd.read_csv(path, sep="\t")
    except (pd.errors.EmptyDataError, pd.errors.ParserError):
        return None
    column = "s" if cost == "wall" else "cpu_time"
    if not len(tab) or column not in tab:
        return None
    value = pd.to_numeric(tab[column], errors="coerce").iloc[0]
    return None if pd.isna(value) else float(value)


def job_costs(jobs: Iterable[PlannedJob], results_dir, factors: Mapping[str, float] | None = None,
              cost: str = "wall", cores: int | None = None) -> pd.DataFrame:
    """One row a job: rule, seconds and source (``measured``, ``rule median`` or ``unmeasured``).

    ``cost="wall"``: the job's measured wall seconds, as it ran beside whatever else ran (an upper
    estimate where the run oversubscribed the cores or a job waited); ``cost="cpu"``: its measured CPU
    seconds over its planned threads (capped at ``cores``), the work alone with perfectly parallel
    threads and no waiting (a lower estimate). ``factors`` scales a rule's seconds (the projection of
    a changed setting); an unmeasured rule costs 0 and is named, so a projection never hides what it
    did not measure."""
    factors = dict(factors or {})
    jobs = list(jobs)
    rows = [{"jobid": j.jobid, "rule": j.rule, "wildcards": j.wildcards, "threads": j.threads,
             "seconds": measured_seconds(results_dir, j.benchmark, cost)} for j in jobs]
    df = pd.DataFrame(rows)
    df["source"] = np.where(df["seconds"].notna(), "measured", "")
    medians = _rule_medians(Path(results_dir) / "benchmarks", cost)
    missing = df["seconds"].isna()
    df.loc[missing, "seconds"] = df.loc[missing, "rule"].map(medians)
    df.loc[missing & df["seconds"].notna(), "source"] = "rule median"
    df.loc[df["seconds"].isna(), "source"] = "unmeasured"
    df["seconds"] = df["seconds"].fillna(0.0) * df["rule"].map(lambda r: factors.get(r, 1.0))
    if cost == "cpu":
        df["seconds"] /= df["threads"].clip(upper=cores or df["threads"].max()).clip(lower=1)
    unknown = sorted(set(factors) - set(df["rule"]))
    if unknown:
        raise ValueError(f"factors name rules the plan does not have: {', '.join(unknown)}")
    return df


def _rule_medians(benchmark_dir: Path, cost: str) -> pd.Series:
    """The median seconds of every rule's measured jobs in a results folder (planned or not):
    ``benchmarks/<rule>/<job>.tsv`` or ``benchmarks/<rule>.tsv``."""
    rows = []
    for path in sorted(benchmark_dir.rglob("*.tsv")) if benchmark_dir.is_dir() else []:
        rel = path.relative_to(benchmark_dir)
        seconds = _read_seconds(path, cost)
        if seconds is not None:
            rows.append((rel.parts[0] if len(rel.parts) > 1 else rel.stem, seconds))
    return pd.DataFrame(rows, columns=["rule", "seconds"]).groupby("rule")["seconds"].median()


def simulate(jobs: list[PlannedJob], seconds: Mapping[int, float], cores: int) -> dict:
    """List-schedule the jobs on ``cores``; the makespan, the job-seconds and the longest path."""
    if cores < 1:
        raise ValueError(f"cores must be at least 1, got {cores}")
    by_id = {j.jobid: j for j in jobs}
    children: dict[int, list[int]] = {j.jobid: [] for j in jobs}
    for j in jobs:
        for d in j.depends_on:
            children[d].append(j.jobid)
    level: dict[int, float] = {}
    for jid in _topological(jobs, children)[::-1]:
        level[jid] = seconds[jid] + max((level[c] for c in children[jid]), default=0.0)
    waiting = {j.jobid: len(j.depends_on) for j in jobs}
    ready = [jid for jid, n in waiting.items() if n == 0]
    running: list[tuple[float, int]] = []
    now, free, start = 0.0, cores, {}
    while ready or running:
        ready.sort(key=lambda jid: (by_id[jid].priority, level[jid]), reverse=True)
        for jid in list(ready):
            need = min(by_id[jid].threads, cores)
            if need <= free:
                free -= need
                start[jid] = now
                heapq.heappush(running, (now + seconds[jid], jid))
                ready.remove(jid)
        end, jid = heapq.heappop(running)
        now = end
        free += min(by_id[jid].threads, cores)
        for c in children[jid]:
            waiting[c] -= 1
            if waiting[c] == 0:
                ready.append(c)
    return {"wall_seconds": now, "job_seconds": float(sum(seconds.values())),
            "core_seconds": float(sum(seconds[j.jobid] * min(j.threads, cores) for j in jobs)),
            "critical_path_seconds": max(level.values(), default=0.0), "cores": cores, "jobs": len(jobs),
            "start": start}


def _topological(jobs, children) -> list[int]:
    indegree = {j.jobid: len(j.depends_on) for j in jobs}
    order, stack = [], [jid for jid, n in indegree.items() if n == 0]
    while stack:
        jid = stack.pop()
        order.append(jid)
        for c in children[jid]:
            indegree[c] -= 1
            if indegree[c] == 0:
                stack.append(c)
    if len(order) != len(jobs):
        raise ValueError("the plan's dependencies have a cycle")
    return order


def project(dry_run_text: str, results_dir, cores: int, factors: Mapping[str, float] | None = None,
            cost: str = "wall"):
    """(per-rule table, summary) of a plan's projected wall time; see the module's docstring."""
    jobs = parse_dry_run(dry_run_text)
    costs = job_costs(jobs, results_dir, factors, cost=cost, cores=cores)
    result = simulate(jobs, dict(zip(costs["jobid"], costs["seconds"])), cores)
    per_rule = (costs.groupby("rule")
                .agg(jobs=("jobid", "count"), seconds=("seconds", "sum"),
                     measured=("source", lambda s: int((s == "measured").sum())),
                     unmeasured=("source", lambda s: int((s == "unmeasured").sum())))
                .reset_index().sort_values("seconds", ascending=False))
    summary = {k: v for k, v in result.items() if k != "start"}
    summary["cost"] = cost
    summary["measured_jobs"] = int((costs["source"] == "measured").sum())
    summary["unmeasured_jobs"] = int((costs["source"] == "unmeasured").sum())
    summary["median_filled_jobs"] = int((costs["source"] == "rule median").sum())
    return per_rule, summary


def parse_factors(items: Iterable[str]) -> dict[str, float]:
    """``["vision_train=0.5", ...]`` (the script's ``--factor RULE=X``) as ``{rule: factor}``."""
    factors = {}
    for item in items:
        rule, sep, value = item.partition("=")
        try:
            factors[rule] = float(value)
        except ValueError:
            sep = ""
        if not sep or not rule or factors[rule] < 0:
            raise ValueError(f"--factor {item!r}: expected RULE=X with X a number >= 0 (e.g. vision_train=0.5)")
    return factors


def estimates(dry_run_text: str, results_dir, cores: int, factors: Mapping[str, float] | None = None):
    """Both estimates of :func:`project`: (per-rule table with ``wall min`` and ``cpu min``, the upper
    summary from wall seconds, the lower one from CPU seconds over threads)."""
    (wall_rules, upper), (cpu_rules, lower) = (project(dry_run_text, results_dir, cores, factors, cost=c)
                                               for c in COSTS)
    table = wall_rules[["rule", "jobs", "measured", "unmeasured"]].copy()
    for cost, rules in (("wall", wall_rules), ("cpu", cpu_rules)):
        table[f"{cost} min"] = table["rule"].map(rules.set_index("rule")["seconds"] / 60).round(1)
    return table, upper, lower


def read_time_file(path) -> float:
    """The wall seconds a ``/usr/bin/time -f %e -o FILE`` wrote (its last line's first number)."""
    lines = [line for line in Path(path).read_text().splitlines() if line.strip()]
    m = re.match(r"\s*([0-9]+(?:\.[0-9]+)?)", lines[-1]) if lines else None
    if not m:
        raise ValueError(f"{path}: no wall seconds on its last line (write it with /usr/bin/time -f %e -o {path})")
    return float(m.group(1))


def projection_page(table: pd.DataFrame, upper: dict, lower: dict, stamp_md: str, *, factors: Mapping[str, float],
                    config: Iterable[str] = (), measured_seconds: float | None = None, time_file=None) -> str:
    """The projection as a Markdown page: the stamp, both estimates (and the run's own wall time where
    it was measured) and the rules by projected minutes."""
    from xairepro.report.docs import markdown_table

    cores = upper["cores"]
    changed = ", ".join(f"`{k}` × {v:g}" for k, v in factors.items()) or "none"
    lines = ["# Projected wall time of the whole scale", "", stamp_md, "",
             f"Every job Snakemake plans for the scale (`snakemake -n --forceall`; --config {' '.join(config) or '(none)'}),"
             f" costed from the `benchmark:` files of a run of that scale and list-scheduled on {cores} cores as "
             "Snakemake schedules them (`xairepro.report.projection`). A job the run did not measure costs its rule's "
             "median; one whose rule it never measured costs 0 s and is counted below. Rules scaled for a changed "
             f"setting: {changed}.", "",
             "| estimate | job-hours | wall time on %d cores | longest path |" % cores, "|---|---|---|---|"]
    for name, s in (("measured wall seconds (upper: jobs shared the cores with whatever ran beside them)", upper),
                    ("CPU seconds over the planned threads (lower: the work alone, sampled every 30 s)", lower)):
        lines.append(f"| {name} | {s['job_seconds'] / 3600:.2f} | {s['wall_seconds'] / 3600:.2f} h | "
                     f"{s['critical_path_seconds'] / 3600:.2f} h |")
    if measured_seconds is not None:
        lines.append(f"| **measured: the run's one command** (`{time_file}`) | | **{measured_seconds / 3600:.2f} h** | |")
    else:
        lines += ["", "The run's own wall time was not measured (a resumed run, or no `--time-file`): the two "
                  "estimates bracket it."]
    lines += ["", f"{upper['jobs']} jobs: {upper['measured_jobs']} measured, {upper['median_filled_jobs']} costed by "
              f"their rule's median, {upper['unmeasured_jobs']} unmeasured (0 s).", "", "## Rules by projected minutes", "",
              markdown_table(table)]
    return "\n".join(lines) + "\n"
