"""Model registry: every model the package defines is registered, so any checkpoint rebuilds
from the configuration saved with it.

Register your own with ``@register_model("name")``; the factory receives the model's keyword
arguments from the config spec (``{arch: name, ...}``, plus ``n_out`` where the experiment sets
it) and must return an ``nn.Module``. Graph models must expose ``.embedding`` (the attribution
target) and take a PyG batch. Each model module registers its own models; importing it here is
what makes them buildable by name.
"""
from __future__ import annotations

from .registry import MODELS, build_model, register_model

from . import gnn, text, vision  # noqa: E402,F401  (registration side effects)
from . import tabular  # noqa: E402,F401
from . import peptide_cnn  # noqa: E402,F401
from . import smiles2vec  # noqa: E402,F401
from . import text_masks  # noqa: E402,F401
from . import preact_resnet  # noqa: E402,F401

__all__ = ["MODELS", "build_model", "register_model"]
