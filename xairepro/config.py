"""Load, validate and resolve the workflow configuration.

Snakemake validates ``config.yaml`` with the same schema (``rules/common.smk``); this module
serves scripts, notebooks and tests that need the resolved values outside Snakemake.
"""
from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any, Mapping

import yaml

SCHEMA_PATH = Path(__file__).parent / "schemas" / "config.schema.yaml"
#: One schema per experiment section, merged under ``properties`` by :func:`load_schema`.
EXPERIMENT_SCHEMAS = Path(__file__).parent / "schemas" / "experiments"
SCALES = ("quick", "full")
MIRROR_ENV = "XAIREPRO_DATA_MIRROR"


class ConfigError(ValueError):
    """A configuration value is missing or invalid; the message names the key."""


def load_schema() -> dict:
    """The whole configuration schema: top-level keys and shared definitions, plus each
    experiment's section schema (``schemas/experiments/<name>.schema.yaml``) as the property
    ``<name>``; their ``$ref``s point into the shared definitions."""
    with open(SCHEMA_PATH) as fh:
        schema = yaml.safe_load(fh)
    for path in sorted(EXPERIMENT_SCHEMAS.glob("*.schema.yaml")):
        with open(path) as fh:
            schema["properties"][path.name.split(".")[0]] = yaml.safe_load(fh)
    return schema


def validate_config(config: Mapping[str, Any], source: str = "config") -> None:
    """Raise ConfigError naming the offending key when ``config`` violates the schema."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema())
    errors = sorted(validator.iter_errors(dict(config)), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    lines = []
    for err in errors:
        key = ".".join(str(p) for p in err.absolute_path) or "<top level>"
        msg = err.message
        if err.validator == "additionalProperties":
            msg = f"unknown key(s): {msg}"
        lines.append(f"  {key}: {msg}")
    raise ConfigError(f"{source}: invalid configuration\n" + "\n".join(lines))


def _is_by_scale(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == set(SCALES)


def resolve_scale(config: Mapping[str, Any], scale: str | None = None) -> dict:
    """Return a copy of ``config`` where every ``{quick: a, full: b}`` value is replaced by
    the value for ``scale`` (default: ``config['scale']``)."""
    scale = scale or config.get("scale", "quick")
    if scale not in SCALES:
        raise ConfigError(f"scale: must be one of {SCALES}, got {scale!r}")

    def walk(node):
        if _is_by_scale(node):
            return copy.deepcopy(node[scale])
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(dict(config))


def data_mirror(config: Mapping[str, Any]) -> str | None:
    """The local mirror folder: config key ``data_mirror``, else $XAIREPRO_DATA_MIRROR, else None."""
    mirror = config.get("data_mirror") or os.environ.get(MIRROR_ENV) or None
    return str(mirror) if mirror else None


def check_models(config: Mapping[str, Any]) -> None:
    """Raise ConfigError naming the key when a model spec of any experiment section names an
    architecture that is not registered (``xairepro.models.register_model``)."""
    from .models import MODELS

    for section, value in config.items():
        models = value.get("models") if isinstance(value, dict) else None
        if not isinstance(models, dict):
            continue
        for name, spec in models.items():
            if spec.get("arch") not in MODELS:
                raise ConfigError(f"{section}.models.{name}.arch: unknown model {spec.get('arch')!r}; "
                                  f"registered: {sorted(MODELS)}")


def load_config(path: str | os.PathLike = "config.yaml", overrides: Mapping[str, Any] | None = None) -> dict:
    """Read ``path``, apply ``overrides`` (top-level keys), validate and resolve the scale."""
    with open(path) as fh:
        config = yaml.safe_load(fh) or {}
    if overrides:
        config.update(overrides)
    validate_config(config, source=str(path))
    resolved = resolve_scale(config)
    check_models(resolved)
    return resolved
