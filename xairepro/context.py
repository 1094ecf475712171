"""What every experiment run needs besides its data and config: seed, device, batch bound, threads.

One :class:`RunContext` is built per job (from the rule's params) and handed down keyword-only,
so no function takes ``(seed, max_batch)`` or ``(max_batch, seed)`` by position. Seeds of the
pieces of a run (a fold, a subset model, an attribution chunk) come from :func:`derive_seed`, the
one formula the whole project uses.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = ["RunContext", "derive_seed", "resolve_device"]


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
    """Seed, device, the largest replicated batch for attribution, and torch threads of one job.

    ``resume_dir``: where training keeps its per-epoch state (the folder of the job's model
    output); when set, a killed training job resumes from its last finished epoch on rerun.
    """

    seed: int = 0
    device: str = "auto"
    max_batch: int = 2048
    threads: int | None = None
    resume_dir: str | None = None

    def child(self, *indices: int) -> "RunContext":
        """The same context with the seed of one piece of the run (see :func:`derive_seed`)."""
        return replace(self, seed=derive_seed(self.seed, *indices))

    @property
    def torch_device(self):
        return resolve_device(self.device)

    @classmethod
    def from_params(cls, params, *, resume_dir=None) -> "RunContext":
        """From a rule's ``params.run`` dict (``seed``, ``device``, ``max_batch``, ``threads``);
        ``resume_dir`` makes training in this job resumable (see the class docstring)."""
        run = dict(params)
        return cls(**{k: run[k] for k in ("seed", "device", "max_batch", "threads") if k in run},
                   resume_dir=None if resume_dir is None else str(resume_dir))
