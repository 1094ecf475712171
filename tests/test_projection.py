"""The wall-time projection of a scale: Snakemake's plan, measured job costs, a list schedule."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from xairepro.report.projection import job_costs, parse_dry_run, project, simulate

REPO = Path(__file__).resolve().parents[1]


def _job(rule, jobid, inputs, outputs, bench, threads=1, priority=0):
    lines = [f"[Sun Dec  6 06:09:12 2026]", f"rule {rule}:"]
    if inputs:
        lines.append(f"    input: {', '.join(inputs)}")
    lines += [f"    output: {', '.join(outputs)}", f"    jobid: {jobid}"]
    if bench:
        lines.append(f"    benchmark: {bench}")
    lines += ["    reason: Forced execution", f"    priority: {priority}"]
    if threads > 1:
        lines.append(f"    threads: {threads}")
    lines.append("    resources: tmpdir=/tmp, runtime=60, gpu=0")
    return "\n".join(lines) + "\n"


# a -> (b, c) -> d, and e alone; a trains on 2 threads
PLAN = ("Building DAG of jobs...\nJob stats:\njob    count\n-----  -----\n" + "".join([
    _job("train", 1, ["results/raw.csv"], ["results/m.pt", "results/h.csv"], "results/benchmarks/train.tsv", threads=2),
    _job("score", 2, ["results/m.pt"], ["results/s0.csv"], "results/benchmarks/score/s0.tsv"),
    _job("score", 3, ["results/m.pt"], ["results/s1.csv"], "results/benchmarks/score/s1.tsv"),
    _job("gather", 4, ["results/s0.csv", "results/s1.csv"], ["results/all.csv"], None),
    _job("iris", 5, [], ["results/iris.csv"], "results/benchmarks/iris.tsv"),
]) + "\nThis was a dry-run (flag -n).\n")


def _bench(results, rel, seconds, cpu_time=None):
    path = results.parent / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if cpu_time is None:
        path.write_text(f"s\th:m:s\tmax_rss\n{seconds}\t0:00:{seconds}\t100\n")
    else:   # Snakemake's own columns
        path.write_text("s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
                        f"{seconds}\t0:00:{seconds}\t100\t200\t90\t95\t1\t1\t50\t{cpu_time}\n")


def test_the_plan_gives_each_job_its_rule_threads_and_the_jobs_whose_outputs_it_reads():
    jobs = {j.jobid: j for j in parse_dry_run(PLAN)}
    assert sorted(jobs) == [1, 2, 3, 4, 5]
    assert jobs[1].threads == 2 and jobs[2].threads == 1
    assert jobs[1].depends_on == set() and jobs[2].depends_on == {1} and jobs[4].depends_on == {2, 3}
    assert jobs[4].benchmark is None and jobs[3].benchmark == "results/benchmarks/score/s1.tsv"
    assert jobs[5].inputs == () and jobs[1].outputs == ("results/m.pt", "results/h.csv")
    with pytest.raises(ValueError, match="names no job"):
        parse_dry_run("Building DAG of jobs...\nNothing to be done.\n")


def test_the_schedule_waits_for_inputs_and_for_free_cores():
    jobs = parse_dry_run(PLAN)
    secs = {1: 100.0, 2: 30.0, 3: 50.0, 4: 5.0, 5: 40.0}
    one = simulate(jobs, secs, cores=1)
    assert one["wall_seconds"] == pytest.approx(225.0) == one["job_seconds"]
    two = simulate(jobs, secs, cores=2)
    # train holds both cores for 100 s (iris waits although it needs no input); then the longest
    # remaining paths first: s1 (50 s, then gather) and iris (40 s); s0 (30 s) from 140; gather 170-175
    assert two["start"][1] == 0.0 and two["start"][3] == two["start"][5] == 100.0 and two["start"][2] == 140.0
    assert two["wall_seconds"] == pytest.approx(175.0)
    assert two["critical_path_seconds"] == pytest.approx(155.0)
    assert two["core_seconds"] == pytest.approx(325.0)
    with pytest.raises(ValueError, match="cores"):
        simulate(jobs, secs, cores=0)


def test_costs_come_from_each_jobs_benchmark_else_its_rules_median_and_name_what_is_unmeasured(tmp_path):
    results = tmp_path / "results"
    _bench(results, "results/benchmarks/train.tsv", 100)
    _bench(results, "results/benchmarks/score/s0.tsv", 30)
    _bench(results, "results/benchmarks/score/old.tsv", 50)   # a job of the rule the plan no longer has
    costs = job_costs(parse_dry_run(PLAN), results, factors={"train": 0.5}).set_index("jobid")
    assert costs.loc[1, "seconds"] == 50.0 and costs.loc[1, "source"] == "measured"
    assert costs.loc[3, "seconds"] == 40.0 and costs.loc[3, "source"] == "rule median"
    assert costs.loc[5, "seconds"] == 0.0 and costs.loc[5, "source"] == "unmeasured"
    # the lower estimate: CPU seconds over the planned threads (train: 2), none where not recorded
    _bench(results, "results/benchmarks/iris.tsv", 40, cpu_time=30)
    _bench(results, "results/benchmarks/train.tsv", 100, cpu_time=160)
    cpu = job_costs(parse_dry_run(PLAN), results, cost="cpu", cores=2).set_index("jobid")
    assert cpu.loc[1, "seconds"] == 80.0 and cpu.loc[5, "seconds"] == 30.0 and cpu.loc[2, "source"] == "unmeasured"
    assert job_costs(parse_dry_run(PLAN), results, cost="cpu", cores=1).set_index("jobid").loc[1, "seconds"] == 160.0
    with pytest.raises(ValueError, match="cost"):
        job_costs(parse_dry_run(PLAN), results, cost="user")
    (results / "benchmarks" / "iris.tsv").unlink()   # as before: iris unmeasured
    with pytest.raises(ValueError, match="trian"):
        job_costs(parse_dry_run(PLAN), results, factors={"trian": 0.5})
    per_rule, summary = project(PLAN, results, cores=2)
    assert summary["measured_jobs"] == 2 and summary["median_filled_jobs"] == 1 and summary["unmeasured_jobs"] == 2
    assert per_rule.set_index("rule").loc["score", "seconds"] == 70.0
    assert summary["wall_seconds"] == pytest.approx(100.0 + 40.0)


@pytest.mark.slow
def test_the_repositorys_own_cpu_plan_parses_into_one_connected_workflow(tmp_path):
    """Snakemake's real dry-run text: every job found, the report depends on the notebooks, and the
    script prints a projection from a results folder with one measured job."""
    results = tmp_path / "results"
    _bench(results, "results/benchmarks/vision_data.tsv", 60)
    out = subprocess.run([sys.executable, "benchmarks/project_walltime.py", "--results", str(results),
                          "--scale", "cpu", "--cores", "2"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert "vision_data" in out and "(1 measured," in out
    assert "measured wall seconds (upper): 0.02 job-hours; projected wall time on 2 cores 0.02 h" in out
    dry = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--forceall", "--cores", "2", "--config", "scale=cpu"],
                         cwd=REPO, capture_output=True, text=True, check=True)
    jobs = parse_dry_run(dry.stdout + dry.stderr)
    by_rule = {}
    for j in jobs:
        by_rule.setdefault(j.rule, []).append(j)
    report = by_rule["report"][0]
    notebooks = {j.jobid for r, js in by_rule.items() if r.endswith("_notebook") for j in js}
    assert notebooks and notebooks <= report.depends_on
    # on 2 cores every job takes one thread (a two-thread job would wait for both cores to free at once)
    assert {j.threads for j in jobs} == {1}
    # no job waits on a job of lower priority (a chain's priority reaches back to its download)
    by_id = {j.jobid: j for j in jobs}
    inverted = sorted({(by_id[d].rule, j.rule) for j in jobs for d in j.depends_on if by_id[d].priority < j.priority})
    assert inverted == [], inverted
    # only the downloads and the jobs that make their own data (iris, the known-answer sets) start the plan
    assert all(j.depends_on or not j.inputs for j in jobs if not j.rule.startswith("download_"))
    assert len(jobs) == sum(1 for line in (dry.stdout + dry.stderr).splitlines() if line.strip().startswith("jobid:"))


def test_the_page_shows_both_estimates_and_the_runs_own_time_where_it_was_measured(tmp_path):
    from xairepro.report.projection import projection_page, read_time_file

    results = tmp_path / "results"
    _bench(results, "results/benchmarks/train.tsv", 3600)
    per_rule, upper = project(PLAN, results, cores=2)
    _, lower = project(PLAN, results, cores=2, cost="cpu")
    timed = tmp_path / "walltime.txt"
    timed.write_text("Command exited with non-zero status 1\n5400.25\n")
    assert read_time_file(timed) == 5400.25
    page = projection_page(per_rule, upper, lower, "> stamp", factors={"train": 0.5}, measured_seconds=5400.25,
                           time_file=timed)
    assert "| **measured: the run's one command**" in page and "**1.50 h**" in page
    assert "`train` × 0.5" in page and "| 1.00 | 1.00 h |" in page
    assert "not measured" in projection_page(per_rule, upper, lower, "> stamp", factors={})
    timed.write_text("\n")
    with pytest.raises(ValueError, match="walltime.txt"):
        read_time_file(timed)


def test_both_estimates_share_one_table_and_factors_are_parsed_or_refused_by_name(tmp_path):
    from xairepro.report.projection import estimates, parse_factors

    assert parse_factors(["train=0.5", "score=2"]) == {"train": 0.5, "score": 2.0}
    for bad in ("train", "train=half", "=0.5", "train=-1"):
        with pytest.raises(ValueError, match=f"--factor '{bad}'"):
            parse_factors([bad])
    results = tmp_path / "results"
    _bench(results, "results/benchmarks/train.tsv", 120, cpu_time=180)
    table, upper, lower = estimates(PLAN, results, cores=2, factors=parse_factors(["train=0.5"]))
    row = table.set_index("rule").loc["train"]
    # wall 120 s x 0.5 = 1.0 min; CPU 180 s x 0.5 over its 2 threads = 0.75 min
    assert row["wall min"] == 1.0 and row["cpu min"] == 0.8 and row["measured"] == 1
    assert upper["cost"] == "wall" and lower["cost"] == "cpu"
    assert upper["wall_seconds"] == pytest.approx(60.0) and lower["wall_seconds"] == pytest.approx(45.0)
