"""What every Snakemake script does first: log to the rule's log file and honour its threads."""
from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import numpy as np


def script_setup(snakemake) -> logging.Logger:
    """Route logging (and warnings) to ``snakemake.log[0]`` and stderr; limit torch threads to
    the rule's ``threads`` so parallel jobs don't oversubscribe the cores; switch deterministic
    algorithms on or off as the rule's ``params.run["deterministic"]`` says (on by default); import
    the config's ``plugins`` (``params.run["plugins"]``)."""
    handlers = [logging.StreamHandler(sys.stderr)]
    if len(snakemake.log):
        Path(snakemake.log[0]).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(snakemake.log[0], mode="w"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        handlers=handlers, force=True)
    logging.captureWarnings(True)
    threads = str(max(1, int(snakemake.threads)))
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # a torch imported later starts with these
        os.environ[var] = threads
    if "torch" in sys.modules:  # jobs without torch (tables, the report) skip its import (~1.5 s)
        import torch

        torch.set_num_threads(int(threads))
        from .context import set_deterministic

        run = getattr(snakemake.params, "run", None)
        set_deterministic(bool(run.get("deterministic", True)) if isinstance(run, dict) else True)
    run = getattr(snakemake.params, "run", None)
    if isinstance(run, dict) and run.get("plugins"):
        from .config import load_plugins

        load_plugins(run, Path.cwd())  # a user's own methods and models, registered before any work
    from .safe_io import output_folder

    for out in snakemake.output:
        output_folder(out)  # an unwritable target fails here, naming it, before any work is done
    return logging.getLogger(f"xairepro.{snakemake.rule}")


def _default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serializable: {type(o)}")


def write_json(obj, path) -> None:
    """Write JSON atomically (temporary file, then rename; the umask's mode)."""
    from .safe_io import atomic_write

    text = json.dumps(obj, indent=2, default=_default)
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def read_json(path):
    return json.loads(Path(path).read_text())


def read_csvs(paths):
    """The CSVs of ``paths`` (one per job of a gathering rule) as one table; files without rows are
    left out, and where every file is empty the first one's columns are kept (an empty table that
    still names its columns)."""
    import pandas as pd

    frames = [pd.read_csv(p) for p in paths]
    kept = [f for f in frames if not f.empty]
    return pd.concat(kept, ignore_index=True) if kept else frames[0]


def training_context(snakemake):
    """The run context of a training job: its rule's ``params.run``, with the per-epoch training
    state kept in the folder of its ``model`` output, so a killed job resumes there on rerun."""
    from .context import RunContext

    return RunContext.from_params(snakemake.params.run, resume_dir=Path(snakemake.output.model).parent)
