"""Shared test helpers: repository paths, the one skip rule for the real data, the one workflow
harness (a fresh copy of the workflow run by Snakemake in a temporary folder), and small models
and graph batches that several test files use."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from torch import nn
from torch_geometric.data import Batch, Data
from torch_geometric.nn import global_add_pool

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
HAVE_SHARED_DATA = (SHARED_DATA / "SHA256SUMS").is_file()

# Tests must never depend on the user's environment choosing a mirror for them.
os.environ.pop("XAIREPRO_DATA_MIRROR", None)

#: The one skip rule for tests that read the real data in ../shared/data.
needs_shared_data = pytest.mark.skipif(
    not HAVE_SHARED_DATA, reason=f"real data not available: {SHARED_DATA} (as on a user's machine)")


#: A user's own attribution method as a plugin file (registered here for in-process tests; workflow
#: tests name the file in the config's ``plugins``).
TOY_PLUGIN = REPO_ROOT / "tests" / "fixtures" / "toy_method.py"
TOY_METHOD = "toy_reverse_grad"


def _register_toy_method():
    from xairepro.config import load_plugins

    load_plugins({"plugins": [str(TOY_PLUGIN)]})


_register_toy_method()


@pytest.fixture
def shared_data() -> Path:
    if not HAVE_SHARED_DATA:
        pytest.skip(f"real data not available: {SHARED_DATA} (as on a user's machine)")
    return SHARED_DATA


#: The longest test files, longest first (``--durations`` on 2 cores): they start first.
LONGEST_FIRST = ["test_workflow.py", "test_workflow_reliability.py", "test_slurm.py", "test_vision_workflow.py",
                 "test_iris_peptides_smiles2vec_workflow.py", "test_text.py", "test_gpu_script.py"]


def pytest_collection_modifyitems(config, items):
    """The longest files first, the rest in their usual order. The two xdist workers take whole files
    (``--dist loadfile --no-loadscope-reorder``) in collection order as they free up, so the short files
    fill in at the end; xdist's own reordering (by number of tests) would leave the one-test workflow
    files, the longest, for last."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items[:] = sorted(items, key=lambda item: rank.get(Path(str(item.fspath)).name, len(rank)))


# ----------------------------------------------------------------------------- workflow harness
WORKFLOW_FILES = ["Snakefile", "config.yaml", "rules", "scripts", "notebooks", "report", "envs", "xairepro"]


def copy_workflow(dest: Path, config_overrides: dict | None = None) -> Path:
    """A fresh copy of the workflow in ``dest``; ``config_overrides`` are deep-merged into its
    config.yaml, and the result is validated against the schema (a test config that the schema
    rejects fails here, naming the key)."""
    from xairepro.config import validate_config

    dest.mkdir(parents=True)
    for name in WORKFLOW_FILES:
        src = REPO_ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(src, dest / name)
    if config_overrides:
        cfg = yaml.safe_load((dest / "config.yaml").read_text())
        deep_merge(cfg, config_overrides)
        validate_config(cfg, source=f"test config in {dest}")
        (dest / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    else:
        validate_config(yaml.safe_load((dest / "config.yaml").read_text()))
    return dest


def deep_merge(base: dict, overrides: dict) -> dict:
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict) and set(value) != {"quick", "full"}:
            deep_merge(base[key], value)
        else:
            base[key] = value
    return base


def run_snakemake(workdir: Path, *args, mirror: Path | None = None, check=True, timeout=900, cores=2):
    """``snakemake --cores 2 ARGS`` in ``workdir`` (mirror via the environment variable)."""
    env = dict(os.environ)
    env.pop("XAIREPRO_DATA_MIRROR", None)
    if mirror is not None:
        env["XAIREPRO_DATA_MIRROR"] = str(mirror)
    cmd = [sys.executable, "-m", "snakemake", "--cores", str(cores), *args]
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc


def planned_rules(proc) -> list[str]:
    """Rule names of the jobs Snakemake planned or ran (one entry per job)."""
    text = proc.stdout + proc.stderr
    return re.findall(r"^(?:local)?rule (\w+):", text, flags=re.M)


def make_mirror(root: Path, files: dict[str, bytes], sums: dict[str, str] | None = None) -> Path:
    """A mirror folder with ``files`` and a SHA256SUMS (``sums`` overrides a file's checksum)."""
    lines = []
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        digest = (sums or {}).get(rel, hashlib.sha256(data).hexdigest())
        lines.append(f"{digest}  ./{rel}")
    (root / "SHA256SUMS").write_text("\n".join(lines) + "\n")
    return root


# ----------------------------------------------------------------------------- toy models and graphs
class Linear(nn.Module):
    def __init__(self, d=6, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.lin = nn.Linear(d, 1)

    def forward(self, x):
        return self.lin(x)


class MLP(nn.Module):
    """MLP with batch norm and dropout, to check MC-dropout mode hygiene."""

    def __init__(self, d=6, h=16, k=1, p=0.0, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.net = nn.Sequential(nn.Linear(d, h), nn.BatchNorm1d(h), nn.Tanh(), nn.Dropout(p),
                                 nn.Linear(h, h), nn.Tanh(), nn.Dropout(p), nn.Linear(h, k))

    def forward(self, x):
        return self.net(x)


class ToyGNN(nn.Module):
    """Embedding -> sum over neighbours -> dropout -> global add pool -> linear."""

    def __init__(self, n_types=5, dim=8, p=0.0, n_out=1, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.embedding = nn.Embedding(n_types, dim)
        self.lin1 = nn.Linear(dim, dim)
        self.lin2 = nn.Linear(dim, dim)
        self.drop = nn.Dropout(p)
        self.out = nn.Linear(dim, n_out)

    def from_embedding(self, h, batch):
        src, dst = batch.edge_index
        msg = torch.zeros_like(h).index_add(0, dst, h[src])
        h = torch.tanh(self.lin1(h + msg))
        msg = torch.zeros_like(h).index_add(0, dst, h[src])
        h = self.drop(torch.tanh(self.lin2(h + msg)))
        return self.out(global_add_pool(h, batch.batch, size=batch.num_graphs)).squeeze(-1)

    def forward(self, batch):
        return self.from_embedding(self.embedding(batch.x), batch)


def random_graph(n, n_types=5, gen=None):
    x = torch.randint(0, n_types, (n,), generator=gen)
    src = torch.arange(n - 1)
    ei = torch.stack([torch.cat([src, src + 1]), torch.cat([src + 1, src])])
    # one ring closure for graphs big enough
    if n > 4:
        ei = torch.cat([ei, torch.tensor([[0, n - 1], [n - 1, 0]])], 1)
    return Data(x=x, edge_index=ei, edge_attr=torch.randint(0, 4, (ei.shape[1],), generator=gen),
                y=torch.randn(1, 1, generator=gen), smiles="C" * n)


def graph_batch(sizes=(3, 7, 5, 9), seed=0):
    gen = torch.Generator().manual_seed(seed)
    return Batch.from_data_list([random_graph(n, gen=gen) for n in sizes])


def mlp(d=6, k=1, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d, 16), nn.Tanh(), nn.Linear(16, 16), nn.Softplus(),
                         nn.Linear(16, k))


class CNN(nn.Module):
    """Smooth activations: at a ReLU kink a 64-step quadrature errs by O(1/64) of the
    jump, which on a random net (tiny F(x) - F(x')) exceeds 1% relative error."""

    def __init__(self, k=3, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.body = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.SiLU(),
                                  nn.Conv2d(6, 6, 3, padding=1), nn.Tanh(), nn.Flatten(),
                                  nn.Dropout(0.3), nn.Linear(6 * 8 * 8, k))

    def forward(self, x):
        return self.body(x)


class GRUText(nn.Module):
    def __init__(self, vocab=30, k=2, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.embedding = nn.Embedding(vocab, 8, padding_idx=0)
        self.gru = nn.GRU(8, 12, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(24, k)

    def forward(self, tokens):
        out, _ = self.gru(self.embedding(tokens))
        return self.fc(out.mean(1))


def quick_example(name: str, methods, *, max_batch: int = 64):
    """``(settings module, quick config section, model, explainer of methods)`` of experiment ``name``:
    its first configured model built untrained (seed 0) with the experiment's own ``example_*`` functions."""
    import importlib

    from xairepro.config import resolve_scale
    from xairepro.context import RunContext
    from xairepro.models import build_model
    from xairepro.training import model_kwargs

    settings = importlib.import_module(f"xairepro.experiments.{name}.settings")
    cfg = resolve_scale(yaml.safe_load((REPO_ROOT / "config.yaml").read_text()), "quick")[name]
    spec = cfg["models"][cfg["data"].get("model") or next(iter(cfg["models"]))]
    torch.manual_seed(0)
    arch, kwargs = model_kwargs(dict(spec, **settings.example_model_kwargs(cfg)))
    model = build_model(arch, **kwargs).eval()
    explainer = settings.example_explainer(model, cfg, ctx=RunContext(seed=0, device="cpu", max_batch=max_batch),
                                           methods=methods)
    return settings, cfg, model, explainer
