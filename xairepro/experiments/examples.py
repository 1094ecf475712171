"""What the experiments' ``example_*`` functions share (``settings.example_explainer`` of every
experiment): the study section an example explains with, and a config with that section changed.

An experiment's ``EXAMPLE_SECTION`` names the section of the resolved experiment section its
``example_section(cfg)`` is read from, on top of what the study takes from elsewhere as its rules do
(ESOL's faithfulness study: ``mc_samples`` and ``baseline`` of ``attribution``; vision's aopc study:
the ``attribution`` section over ``aopc``)."""
from __future__ import annotations

from typing import Mapping, Sequence

__all__ = ["example_labels", "study_section", "with_example_section"]


def study_section(cfg: Mapping, own: str, shared: Sequence[str] = (), base: str = "attribution") -> dict:
    """``cfg[own]`` over the keys ``shared`` of ``cfg[base]`` (those it has) of the resolved experiment
    section ``cfg``."""
    return dict({k: cfg[base][k] for k in shared if k in cfg[base]}, **cfg[own])


def with_example_section(cfg: Mapping, section: str, **keys) -> dict:
    """``cfg`` with ``keys`` set in its ``section`` (an experiment's ``EXAMPLE_SECTION``, so that they win
    in its ``example_section``), e.g. a test's cheaper ``mc_samples`` or ``method_options``."""
    return dict(cfg, **{section: dict(cfg[section], **keys)})


def example_labels(n: int, task: str, classes: int = 2):
    """``n`` random labels of a ``task`` (seeded with ``n``): ``regression`` ``(n, 1)`` floats, ``binary``
    ``(n, 1)`` 0/1 floats, ``multiclass`` ``(n,)`` class ids below ``classes``."""
    import torch

    g = torch.Generator().manual_seed(int(n))
    if task == "regression":
        return torch.randn(int(n), 1, generator=g)
    if task == "binary":
        return torch.randint(0, 2, (int(n), 1), generator=g).float()
    return torch.randint(0, int(classes), (int(n),), generator=g)
