"""What every experiment run needs besides its data and config: seed, device, batch bound, threads.

One :class:`RunContext` is built per job (from the rule's params) and handed down keyword-only,
so no function takes ``(seed, max_batch)`` or ``(max_batch, seed)`` by position. Seeds of the
pieces of a run (a fold, a subset model, an attribution chunk) come from :func:`derive_seed`, the
one formula the whole project uses.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = ["RunContext", "derive_seed", "resolve_device", "set_deterministic"]


def resolve_device(name: str = "auto"):
    """``auto`` -> cuda when available, else cpu; an explicit ``cuda`` without a GPU is an error."""
    import torch

    if isinstance(name, torch.device):
        return name
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"config key 'device' is {name!r} but no CUDA device is available")
    return dev


def set_deterministic(on: bool = True) -> None:
    """Deterministic algorithms in torch (``warn_only``: an operation without a deterministic
    kernel warns instead of failing), cuDNN autotuning off, and the cuBLAS workspace setting that
    deterministic CUDA matrix products need (effective when CUDA starts after this call)."""
    import os

    import torch

    if on:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(bool(on), warn_only=True)
    torch.backends.cudnn.deterministic = bool(on)
    torch.backends.cudnn.benchmark = not on


def derive_seed(base: int, *indices: int) -> int:
    """The seed of one piece of a run (fold ``k``, subset model ``k``, ...): ``base * 1000 + k``,
    nested for several indices. Plain arithmetic, so it is the same on every machine and Python
    version; indices must lie in [0, 1000) so that distinct pieces never share a seed.
    """
    seed = int(base)
    for k in indices:
        k = int(k)
        if not 0 <= k < 1000:
            raise ValueError(f"derive_seed: index {k} outside [0, 1000)")
        seed = seed * 1000 + k
    return seed


@dataclass(frozen=True, kw_only=True)
class RunContext:
    """Seed, device, the largest replicated batch for attribution, torch threads and whether
    deterministic algorithms are on (see :func:`set_deterministic`) for one job.

    ``resume_dir``: where training keeps its per-epoch state (the folder of the job's model
    output); when set, a killed training job resumes from its last finished epoch on rerun.
    """

    seed: int = 0
    device: str = "auto"
    max_batch: int = 2048
    threads: int | None = None
    deterministic: bool = True
    resume_dir: str | None = None

    def child(self, *indices: int) -> "RunContext":
        """The same context with the seed of one piece of the run (see :func:`derive_seed`)."""
        return replace(self, seed=derive_seed(self.seed, *indices))

    @property
    def torch_device(self):
        return resolve_device(self.device)

    @classmethod
    def from_params(cls, params, *, resume_dir=None) -> "RunContext":
        """From a rule's ``params.run`` dict (``seed``, ``device``, ``max_batch``, ``threads``,
        ``deterministic``);
        ``resume_dir`` makes training in this job resumable (see the class docstring)."""
        run = dict(params)
        return cls(**{k: run[k] for k in ("seed", "device", "max_batch", "threads", "deterministic") if k in run},
                   resume_dir=None if resume_dir is None else str(resume_dir))
