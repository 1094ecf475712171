"""Load, validate and resolve the workflow configuration.

Snakemake validates ``config.yaml`` with the same schema (``rules/common.smk``); this module
serves scripts, notebooks and tests that need the resolved values outside Snakemake.
"""
from __future__ import annotations

import copy
import os
import sys
from pathlib import Path
from typing import Any, Mapping

import yaml

SCHEMA_PATH = Path(__file__).parent / "schemas" / "config.schema.yaml"
#: One schema per experiment section, merged under ``properties`` by :func:`load_schema`.
EXPERIMENT_SCHEMAS = Path(__file__).parent / "schemas" / "experiments"
SCALES = ("quick", "cpu", "full")
#: A by-scale value names quick and full; cpu is optional and falls back to full (the papers'
#: settings wherever two CPU cores can afford them).
SCALE_FALLBACK = {"cpu": "full"}
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
    return isinstance(value, dict) and {"quick", "full"} <= set(value) <= set(SCALES)


def resolve_scale(config: Mapping[str, Any], scale: str | None = None) -> dict:
    """Return a copy of ``config`` where every ``{quick: a, full: b}`` (or ``{quick: a, cpu: c, full: b}``)
    value is replaced by the value for ``scale`` (default: ``config['scale']``); ``cpu`` takes ``full``
    where a value names no ``cpu``."""
    scale = scale or config.get("scale", "quick")
    if scale not in SCALES:
        raise ConfigError(f"scale: must be one of {SCALES}, got {scale!r}")

    def walk(node):
        if _is_by_scale(node):
            return copy.deepcopy(node[scale] if scale in node else node[SCALE_FALLBACK[scale]])
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return apply_method_defaults(walk(dict(config)))


def _method_sections(node, key: str = ""):
    """``(dotted key, section)`` of every config mapping that lists methods (a key ending in ``methods``)."""
    if not isinstance(node, dict):
        return
    if any(k.endswith("methods") and isinstance(v, list) for k, v in node.items()):
        yield key, node
    for k, v in node.items():
        if isinstance(v, dict) and k != "method_options":
            yield from _method_sections(v, f"{key}.{k}" if key else str(k))


def merged_method_options(methods, *tables) -> dict:
    """``{method: options}`` of ``methods`` from several ``method_options`` tables, later tables winning
    option by option (a study's merged defaults, then its experiment's attribution section)."""
    out = {}
    for name in methods:
        opts = {}
        for table in tables:
            opts.update(dict((table or {}).get(name) or {}))
        if opts:
            out[name] = opts
    return out


def apply_method_defaults(config: dict) -> dict:
    """Merge the top-level ``method_options`` (defaults shared by every experiment) into the
    ``method_options`` of every section that lists methods, for the methods it lists; a section's own
    option wins. ``config`` is resolved for its scale; a new dict is returned."""
    defaults = config.get("method_options") or {}
    if not defaults:
        return config
    config = copy.deepcopy(config)
    for section, node in _method_sections({k: v for k, v in config.items() if k != "method_options"}):
        names = [n for k, v in node.items() if k.endswith("methods") and isinstance(v, list) for n in v]
        own = node.get("method_options") or {}
        merged = merged_method_options(dict.fromkeys([*names, *own]), defaults, own)
        if merged:
            node["method_options"] = merged
    return config


def data_mirror(config: Mapping[str, Any]) -> str | None:
    """The local mirror folder: config key ``data_mirror``, else $XAIREPRO_DATA_MIRROR, else None."""
    mirror = config.get("data_mirror") or os.environ.get(MIRROR_ENV) or None
    return str(mirror) if mirror else None


def check_models(config: Mapping[str, Any]) -> None:
    """Raise ConfigError naming the key when a model spec of any experiment section names an
    architecture that is not registered (``xairepro.models.register_model``)."""
    from .names import BUILTIN_MODELS

    archs = [spec.get("arch") for value in config.values() if isinstance(value, dict)
             and isinstance(value.get("models"), dict) for spec in value["models"].values()]
    if all(a in BUILTIN_MODELS for a in archs):
        return  # no registry import needed (it costs seconds on every snakemake call)
    from .models import MODELS

    for section, value in config.items():
        models = value.get("models") if isinstance(value, dict) else None
        if not isinstance(models, dict):
            continue
        for name, spec in models.items():
            if spec.get("arch") not in MODELS:
                raise ConfigError(f"{section}.models.{name}.arch: unknown model {spec.get('arch')!r}; "
                                  f"registered: {sorted(MODELS)}")


#: ``{study path: study body -> [(name, spec)]}``: the studies that list architecture names instead of
#: specs, and the specs they build (``tox21.dead_features``: every architecture at every depth with the
#: study's width and dropout, xairepro.experiments.tox21.dead_features)
STUDY_MODEL_LISTS = {
    "tox21.dead_features": lambda body: [
        (f"{arch}.n_layers={n}", {"arch": arch, "hidden_dim": body["hidden_dim"], "n_layers": n,
                                  "dropout": body["dropout"]})
        for arch in body["models"] for n in body["layers"]],
}


def model_specs(config: Mapping[str, Any]) -> list[tuple[str, str, dict]]:
    """``(dotted key, experiment section, spec)`` of every model spec of a resolved config: each experiment
    section's ``models``, every ``{arch: ...}`` nested in a study (``esol.blog_ig.model``; not the parts of
    the section's ``mask`` network) and the specs of the studies that list architectures
    (:data:`STUDY_MODEL_LISTS`); raises ConfigError naming a study list no rule there expands."""
    out = []

    def walk(node, path, section):
        if "arch" in node:
            out.append((path, section, dict(node)))
            return
        for key, value in node.items():
            if key == "models" and isinstance(value, list):
                if path not in STUDY_MODEL_LISTS:
                    raise ConfigError(f"{path}.models: a list of architectures {value}; no rule for how {path} "
                                      "builds them (add one to xairepro.config.STUDY_MODEL_LISTS)")
                out.extend((f"{path}.{name}", section, spec) for name, spec in STUDY_MODEL_LISTS[path](node))
            elif isinstance(value, dict) and not (key == "mask" and path == section):
                walk(value, f"{path}.{key}", section)

    for section, body in config.items():
        if isinstance(body, dict) and isinstance(body.get("models"), dict):
            walk(body, section, section)
    return out


def check_device(config: Mapping[str, Any]) -> None:
    """Raise ConfigError naming the key when ``device`` asks for CUDA on a machine whose torch sees
    none (checked before any job runs; cluster runs skip it, since the submitting host may have no GPU
    while the compute nodes do)."""
    import torch

    name = str(config.get("device", "auto"))
    if not name.startswith("cuda"):
        return
    if not torch.cuda.is_available():
        raise ConfigError(f"device: {name!r} asks for a CUDA device, but torch {torch.__version__} (CUDA build: "
                          f"{torch.version.cuda or 'none'}) sees none on this machine; use device=auto or device=cpu, "
                          "or install the CUDA build of torch (README, GPU)")
    index = torch.device(name).index
    if index is not None and index >= torch.cuda.device_count():
        raise ConfigError(f"device: {name!r} but this machine has {torch.cuda.device_count()} CUDA device(s)")


def load_plugins(config: Mapping[str, Any], base: str | os.PathLike = ".") -> list:
    """Import every module of ``config['plugins']``: a dotted module name, or a ``.py`` file (relative
    to ``base``, the workflow folder). This is where a user registers their own methods and models."""
    import importlib
    import importlib.util

    loaded = []
    for entry in config.get("plugins") or []:
        if str(entry).endswith(".py"):
            path = Path(entry) if Path(entry).is_absolute() else Path(base) / entry
            if not path.exists():
                raise ConfigError(f"plugins: no file {path}")
            name = f"xairepro_plugin_{path.stem}"
            if name not in sys.modules:
                spec = importlib.util.spec_from_file_location(name, path)
                module = importlib.util.module_from_spec(spec)
                sys.modules[name] = module
                spec.loader.exec_module(module)
            loaded.append(sys.modules[name])
        else:
            try:
                loaded.append(importlib.import_module(entry))
            except ImportError as err:
                raise ConfigError(f"plugins: cannot import {entry!r}: {err}") from err
    return loaded


def _method_lists(node, key: str = ""):
    """``(dotted key, names)`` of every ``methods`` list in a config section, and of the names a
    ``method_options`` mapping is keyed by."""
    if isinstance(node, dict):
        for k, v in node.items():
            path = f"{key}.{k}" if key else str(k)
            if k.endswith("methods") and isinstance(v, list) and all(isinstance(x, str) for x in v):
                yield path, v
            elif k == "method_options" and isinstance(v, dict):
                yield path, list(v)
            else:
                yield from _method_lists(v, path)


def _option_tables(node, key: str = ""):
    """``(dotted key, {method: {option: value}})`` of every ``method_options`` mapping, the top-level one
    included."""
    if isinstance(node, dict):
        for k, v in node.items():
            path = f"{key}.{k}" if key else str(k)
            if k == "method_options" and isinstance(v, dict):
                yield path, v
            else:
                yield from _option_tables(v, path)


def check_methods(config: Mapping[str, Any]) -> None:
    """Raise ConfigError naming the key when an experiment lists an attribution method that is not
    registered (``xairepro.attribution.register_method``; plugins are imported first), or gives a
    method an option it does not accept (``iris.faithfulness.method_options.integrated_gradients.n_step``:
    the message names the full key and the accepted options). Checked before any job runs."""
    from .names import BUILTIN_METHODS, BUILTIN_OPTIONS, READING_OPTIONS

    sections = [(s, v) for s, v in config.items() if isinstance(v, dict) and s not in ("download", "attribution")]
    listed = [n for s, v in sections for _, names in _method_lists(v, s) for n in names]
    listed += [n for _, table in _option_tables({"method_options": config.get("method_options") or {}}) for n in table]
    if all(n in BUILTIN_METHODS for n in listed):
        accepted = {name: set(opts) for name, opts in BUILTIN_OPTIONS.items()}  # no registry import: seconds saved
    else:
        from .attribution import accepted_options, method_class, method_names, unknown_methods

        for section, value in [*sections, ("method_options", {"method_options": config.get("method_options") or {}})]:
            for key, names in _method_lists(value, section if section != "method_options" else ""):
                bad = unknown_methods(names)
                if bad:
                    raise ConfigError(f"{key}: unknown attribution method(s) {bad}; "
                                      f"registered: {', '.join(method_names())}")
        accepted = {name: accepted_options(method_class(name)) for name in dict.fromkeys(listed)}
    for key, table in _option_tables({k: v for k, v in config.items() if k not in ("download", "attribution")}):
        for name, options in table.items():
            if not isinstance(options, dict):
                raise ConfigError(f"{key}.{name}: expected a mapping of options, got {options!r}")
            ok = set(accepted.get(name, ())) | set(READING_OPTIONS)
            for option in options:
                if option not in ok:
                    raise ConfigError(f"{key}.{name}.{option}: {name} has no option {option!r}; it accepts "
                                      f"{', '.join(sorted(ok))}")


def check_operators(config: Mapping[str, Any]) -> None:
    """Raise ConfigError naming the key when an experiment's faithfulness section lists a removal
    operator that is not registered for the experiment's unit kind (``vision.aopc.operators``:
    ``register_operator``; plugins are imported first). Checked before any job runs."""
    from .names import BUILTIN_OPERATORS, OPERATOR_SECTIONS

    for key, kind in OPERATOR_SECTIONS.items():
        section: Any = config
        for part in key.split("."):
            section = section.get(part) if isinstance(section, Mapping) else None
        names = section.get("operators") if isinstance(section, Mapping) else None
        if names is None:
            continue
        if isinstance(names, str) or not isinstance(names, (list, tuple)) or not names:
            raise ConfigError(f"{key}.operators: expected a non-empty list of operator names, got {names!r}")
        if all(n in BUILTIN_OPERATORS[kind] for n in names):
            continue
        from .evaluation.operators import operator_names

        bad = [n for n in names if n not in operator_names(kind)]
        if bad:
            raise ConfigError(f"{key}.operators: unknown removal operator(s) {bad} for {kind} units; "
                              f"registered: {', '.join(operator_names(kind))}")


def load_config(path: str | os.PathLike = "config.yaml", overrides: Mapping[str, Any] | None = None) -> dict:
    """Read ``path``, apply ``overrides`` (top-level keys), validate and resolve the scale."""
    with open(path) as fh:
        config = yaml.safe_load(fh) or {}
    if overrides:
        config.update(overrides)
    validate_config(config, source=str(path))
    resolved = resolve_scale(config)
    load_plugins(resolved, Path(path).parent)
    check_models(resolved)
    check_methods(resolved)
    check_operators(resolved)
    return resolved
