"""The projected wall time of a whole scale on N cores, from Snakemake's plan and a run's job costs.

Every job of ``snakemake -n --forceall`` at the scale costs the seconds its own ``benchmark:`` file
records in --results (a run of that scale, resumed or not), else its rule's median over the measured
jobs; --factor RULE=X scales a rule where a setting is projected rather than measured (half the
epochs: 0.5). The jobs are then list-scheduled on --cores as Snakemake schedules them
(``xairepro.report.projection``). Prints the rules by projected minutes and two projections: from
the jobs' measured wall seconds (upper) and from their CPU seconds over their planned threads (lower).

    python benchmarks/project_walltime.py --results results --scale cpu --cores 2
    python benchmarks/project_walltime.py --results /run/results --scale cpu --cores 2 \\
        --config vision.train.epochs=3 --factor vision_train=0.5 --factor vision_train_seed=0.5
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from xairepro.report.docs import run_stamp  # noqa: E402
from xairepro.report.projection import estimates, parse_factors, projection_page, read_time_file  # noqa: E402
from xairepro.safe_io import atomic_write  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", required=True, help="results folder of a run at the scale (its benchmarks/)")
    ap.add_argument("--scale", default="cpu")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--target", nargs="*", default=[], help="Snakemake targets (default: rule all)")
    ap.add_argument("--config", nargs="*", default=[], help="further --config KEY=VALUE of the plan")
    ap.add_argument("--factor", action="append", default=[], metavar="RULE=X")
    ap.add_argument("--plan", help="a saved dry run's text instead of running Snakemake here")
    ap.add_argument("--json", help="write the projection here")
    ap.add_argument("--time-file", help="the run's own wall time, as `/usr/bin/time -f %%e -o FILE snakemake ...` "
                    "wrote it: shown beside the projection (one command from an empty results folder)")
    ap.add_argument("--markdown", help="write the projection as a stamped page here (docs/results/<scale>/walltime.md)")
    args = ap.parse_args(argv)
    try:
        factors = parse_factors(args.factor)
    except ValueError as err:
        sys.exit(str(err))
    if args.plan:
        text = Path(args.plan).read_text()
    else:
        cmd = [sys.executable, "-m", "snakemake", "-n", "--forceall", "--cores", str(args.cores),
               "--config", f"scale={args.scale}", *args.config, "--", *args.target]
        done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"the dry run failed ({' '.join(cmd)}):\n{done.stderr[-2000:]}")
        text = done.stdout + done.stderr
    table, wall, cpu = estimates(text, args.results, args.cores, factors)
    print(table.to_string(index=False))
    print(f"\n{wall['jobs']} jobs ({wall['measured_jobs']} measured, {wall['median_filled_jobs']} costed by their "
          f"rule's median, {wall['unmeasured_jobs']} unmeasured at 0 s)")
    for name, s in (("measured wall seconds (upper)", wall), ("CPU seconds / planned threads (lower)", cpu)):
        print(f"{name}: {s['job_seconds'] / 3600:.2f} job-hours; projected wall time on {args.cores} cores "
              f"{s['wall_seconds'] / 3600:.2f} h (longest path {s['critical_path_seconds'] / 3600:.2f} h)")
    measured = read_time_file(args.time_file) if args.time_file else None
    if measured is not None:
        print(f"measured wall time of the run ({args.time_file}): {measured / 3600:.2f} h")
    if args.markdown:
        command = "python benchmarks/project_walltime.py " + " ".join(argv if argv is not None else sys.argv[1:])
        stamp = dataclasses.replace(run_stamp(args.results, config={"scale": args.scale}, command=command, workdir=REPO),
                                    rerun=f"`{command}`")
        page_text = projection_page(table, wall, cpu, stamp.markdown(), factors=factors, config=args.config,
                                    measured_seconds=measured, time_file=args.time_file)
        page = Path(args.markdown)
        page.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(page, lambda tmp: Path(tmp).write_text(page_text))
        print(f"wrote {page}")
    if args.json:
        Path(args.json).write_text(json.dumps({"wall": wall, "cpu": cpu, "factors": factors, "scale": args.scale,
                                               "config": args.config, "cores": args.cores}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
