"""The one training entry every experiment uses: a model spec from the config, data, a run context.

A model spec is a config mapping ``{arch: <registered name>, <constructor keywords>...}``; the
``train`` section holds :class:`~xairepro.training.core.TrainConfig` fields. The result carries
everything :func:`save_trained` needs to write a checkpoint that rebuilds the model by name.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd
from torch import nn

from ..context import RunContext
from ..models import build_model
from .core import TrainConfig, fit, save_checkpoint, seed_everything

__all__ = ["TrainedModel", "model_kwargs", "resume_path", "save_trained", "train_config", "train_model"]

_TRAIN_FIELDS = {f.name for f in dataclasses.fields(TrainConfig)}


def model_kwargs(spec: Mapping[str, Any], n_out: int | None = None) -> tuple[str, dict]:
    """``(arch, constructor keywords)`` of a model spec; ``n_out`` is added when given."""
    if "arch" not in spec:
        raise KeyError(f"model spec {dict(spec)} has no 'arch' (the registered model name)")
    kwargs = {k: v for k, v in spec.items() if k != "arch"}
    if n_out is not None:
        kwargs["n_out"] = n_out
    return spec["arch"], kwargs


def train_config(train: Mapping[str, Any], *, task: str, ctx: RunContext, **overrides) -> TrainConfig:
    """A TrainConfig from a config ``train`` section (unknown keys are an error naming them)."""
    unknown = sorted(set(train) - _TRAIN_FIELDS)
    if unknown:
        raise KeyError(f"train section: unknown key(s) {unknown}; known: {sorted(_TRAIN_FIELDS)}")
    fields = dict(train, **overrides)
    return TrainConfig(task=task, seed=ctx.seed, device=ctx.device, **fields)


def resume_path(directory, fingerprint: Mapping[str, Any], stem: str = "training-state") -> Path:
    """The per-epoch training state file in ``directory`` for a run described by ``fingerprint``
    (model, train section, seed, data size...): its name carries a hash of the fingerprint, so a
    job whose configuration changed never resumes from another configuration's state."""
    digest = hashlib.sha256(json.dumps(fingerprint, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return Path(directory) / f"{stem}-{digest}.pt"


def _size(data) -> int | None:
    try:
        return len(data)
    except TypeError:
        return None


@dataclass
class TrainedModel:
    model: nn.Module
    arch: str
    kwargs: dict
    history: pd.DataFrame
    config: TrainConfig


def train_model(spec: Mapping[str, Any], train_data, val_data=None, *, train: Mapping[str, Any], task: str,
                ctx: RunContext, n_out: int | None = 1, metric: Callable | None = None,
                progress: Callable | None = None, **fit_kwargs) -> TrainedModel:
    """Build the model of ``spec`` under the run's seed (initialization is part of the seeded run)
    and train it with :func:`~xairepro.training.core.fit`. ``train`` may also set ``log_every``,
    ``checkpoint`` and the other TrainConfig fields; ``fit_kwargs`` go to ``fit`` (``loss_fn``,
    ``batch_transform``, ``history_csv``).

    When ``ctx.resume_dir`` is set and ``train`` names no checkpoint, the per-epoch state goes to
    :func:`resume_path` in that folder: a killed job resumes from its last epoch when rerun, and
    the state file is removed once training has finished. Beside it, ``training-state-<hash>.csv``
    holds the history so far while the job runs.
    """
    arch, kwargs = model_kwargs(spec, n_out)
    seed_everything(ctx.seed)
    model = build_model(arch, **kwargs)
    cfg = train_config(train, task=task, ctx=ctx)
    state = None
    if ctx.resume_dir and cfg.checkpoint is None:
        fingerprint = {"arch": arch, "kwargs": kwargs, "n_train": _size(train_data),
                       "train": {k: v for k, v in dataclasses.asdict(cfg).items() if k != "checkpoint"}}
        state = resume_path(ctx.resume_dir, fingerprint)
        cfg = dataclasses.replace(cfg, checkpoint=str(state))
        fit_kwargs.setdefault("history_csv", state.with_suffix(".csv"))
    history = fit(model, train_data, val_data, cfg, metric=metric, progress=progress, **fit_kwargs)
    if state is not None:
        state.unlink(missing_ok=True)
        state.with_suffix(".csv").unlink(missing_ok=True)
        cfg = dataclasses.replace(cfg, checkpoint=None)
    return TrainedModel(model=model, arch=arch, kwargs=kwargs, history=pd.DataFrame(history), config=cfg)


def save_trained(path, trained: TrainedModel, extra: dict | None = None) -> None:
    save_checkpoint(path, trained.model, trained.arch, trained.kwargs, trained.config, extra)
