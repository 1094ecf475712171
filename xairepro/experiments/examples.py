"""What the experiments' ``example_*`` functions share (``settings.example_explainer`` of every
experiment): the study section an example explains with, and a config with that section changed.

An experiment's ``EXAMPLE_SECTION`` names the section of the resolved experiment section its
``example_section(cfg)`` is read from, on top of what the study takes from elsewhere as its rules do
(ESOL's faithfulness study: ``mc_samples`` and ``baseline`` of ``attribution``; vision's aopc study:
the ``attribution`` section over ``aopc``)."""
from __future__ import annotations

from typing import Mapping, Sequence

__all__ = ["study_section", "with_example_section"]


def study_section(cfg: Mapping, own: str, shared: Sequence[str] = (), base: str = "attribution") -> dict:
    """``cfg[own]`` over the keys ``shared`` of ``cfg[base]`` (those it has) of the resolved experiment
    section ``cfg``."""
    return dict({k: cfg[base][k] for k in shared if k in cfg[base]}, **cfg[own])


def with_example_section(cfg: Mapping, section: str, **keys) -> dict:
    """``cfg`` with ``keys`` set in its ``section`` (an experiment's ``EXAMPLE_SECTION``, so that they win
    in its ``example_section``), e.g. a test's cheaper ``mc_samples`` or ``method_options``."""
    return dict(cfg, **{section: dict(cfg[section], **keys)})
