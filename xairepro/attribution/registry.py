"""The method registry: one canonical name per attribution method, and a user's own.

::

    from xairepro.attribution import GradientAttribution, register_method

    @register_method("my_method")
    class MyMethod(GradientAttribution):
        def _attribute(self, model, call, inputs, M, seed):
            ...

A name ``<namespace>.<rest>`` is resolved on first use by the namespace's resolver
(:func:`register_namespace`): ``captum.<Class>`` adapts any captum attribution class
(:mod:`~xairepro.attribution.captum_adapter`). A resolved name is then registered like any other.

Named in an experiment's ``attribution.methods`` list, a registered method runs in that
experiment's attribution and faithfulness studies. Experiments build methods with
:func:`create_method`, which hands each method the experiment's settings it accepts (options have
the same name in every method: ``layer``, ``baselines``, ``multiply_by_inputs``, ``stdevs``,
``n_steps``, ``sliding_window_shapes``, ...), so no experiment ever branches on a method's name.
"""
from __future__ import annotations

import inspect
import re
import sys
from typing import Callable, Mapping, Optional

__all__ = ["MethodNotApplicable", "accepted_options", "create_method", "floor_methods", "method_class", "method_names",
           "not_applicable_reason", "register_method", "register_namespace", "unknown_methods"]

_METHODS: dict[str, type] = {}
_NAMESPACES: dict[str, Callable[[str], type]] = {}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class MethodNotApplicable(ValueError):
    """The method cannot explain this model with these settings; the message says why."""


def register_method(name: str):
    """Class decorator: register an :class:`~xairepro.attribution.Attribution` subclass under ``name``
    (lower case, digits and underscores). Registering another class under a taken name is an error."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"method names are lower-case identifiers (letters, digits, _), got {name!r}")

    def deco(cls):
        from .core import Attribution

        if not (isinstance(cls, type) and issubclass(cls, Attribution)):
            raise TypeError(f"register_method({name!r}) decorates an Attribution subclass, got {cls!r}")
        known = _METHODS.get(name)
        if known is not None and known is not cls and _origin(known) != _origin(cls):
            raise ValueError(f"method name {name!r} is taken by {known.__module__}.{known.__qualname__}")
        cls.name = name
        _METHODS[name] = cls
        return cls
    return deco


def register_namespace(prefix: str, resolve: Callable[[str], type]) -> None:
    """Names ``prefix.<rest>`` resolve on first use to ``resolve(rest)``, an Attribution subclass (a
    ``KeyError`` saying why when ``rest`` names nothing the namespace can adapt)."""
    if not _NAME.match(prefix):
        raise ValueError(f"namespace prefixes are lower-case identifiers, got {prefix!r}")
    _NAMESPACES[prefix] = resolve


def _resolve(name: str) -> type:
    cls = _METHODS.get(name)
    if cls is not None:
        return cls
    prefix, dot, rest = name.partition(".")
    if dot and prefix in _NAMESPACES:
        cls = _NAMESPACES[prefix](rest)
        cls.name = name
        _METHODS[name] = cls
        return cls
    raise KeyError(f"unknown attribution method {name!r}; registered: {', '.join(_METHODS)}, or "
                   f"{', '.join(p + '.<name>' for p in _NAMESPACES)}")


def _origin(cls) -> tuple:
    """Where a class is defined: its file (so one plugin file imported under two module names is the
    same class) and its qualified name. A class of the same name from elsewhere is another method."""
    module = sys.modules.get(cls.__module__)
    return getattr(module, "__file__", None) or cls.__module__, cls.__qualname__


def method_names() -> list[str]:
    """Every registered name, in registration order (the built-in methods first)."""
    return list(_METHODS)


def method_class(name: str) -> type:
    """The class registered as ``name`` (a ``namespace.<rest>`` name is resolved and registered)."""
    try:
        return _resolve(name)
    except KeyError as err:
        raise KeyError(err.args[0]) from None


def floor_methods() -> list[str]:
    """The registered methods that are a faithfulness floor (``is_floor``: the random order)."""
    return [name for name, cls in _METHODS.items() if getattr(cls, "is_floor", False)]


def unknown_methods(names) -> list[str]:
    """The names in ``names`` that are not registered (nor resolved by a namespace)."""
    out = []
    for n in names:
        try:
            _resolve(n)
        except KeyError:
            out.append(n)
    return out


def accepted_options(cls: type) -> set[str]:
    """Keyword names the constructor accepts, following ``**kwargs`` up the class hierarchy."""
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = list(inspect.signature(init).parameters.values())[1:]
        names |= {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return names - {"model"}


def not_applicable_reason(name: str, model, settings: Optional[Mapping] = None) -> Optional[str]:
    """Why method ``name`` cannot explain ``model`` with ``settings``, or ``None``."""
    return method_class(name).applicable(model, dict(settings or {}))


def create_method(name: str, model, settings: Optional[Mapping] = None, **overrides):
    """The method registered as ``name`` on ``model``, given every setting it accepts.

    ``settings`` are the experiment's (``layer``, ``baselines``, ``max_batch``, ``stdevs``, ...);
    ``overrides`` win over them (per-method options from the config) and must be options the method
    accepts (a typo is a ``TypeError`` naming the method and its options). Settings a method does not
    accept are left out, so one settings dict serves every method (a class with ``settings_taken`` takes
    only those keys from ``settings``: the captum adapter, whose options are captum's). Raises
    :class:`MethodNotApplicable` with the reason when the method cannot apply (BayesGrad on a model
    without dropout, the explanation mask where none is trained).
    """
    cls = method_class(name)
    accepted = accepted_options(cls)
    unknown = sorted(set(overrides) - accepted)
    if unknown:
        raise TypeError(f"{name}: unknown option(s) {unknown}; it accepts {sorted(accepted)}")
    taken = getattr(cls, "settings_taken", None)   # a class may take only some of the experiment's settings
    merged = {**{k: v for k, v in dict(settings or {}).items() if taken is None or k in taken}, **overrides}
    reason = cls.applicable(model, merged)
    if reason:
        raise MethodNotApplicable(f"{name}: {reason}")
    return cls(model, **{k: v for k, v in merged.items() if k in accepted})
