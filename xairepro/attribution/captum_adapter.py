"""Any captum attribution class as a method: the name ``captum.<Class>``, ``<Class>`` spelled as
``captum.attr`` exports it (``captum.GradientShap``, ``captum.Saliency``, ``captum.LayerIntegratedGradients``).

The naming rule: the class must be an attribution of a model's output for a ``target`` (its constructor
takes the model first, its ``attribute`` takes ``inputs`` and ``target``): the input attributions
(``Saliency``, ``IntegratedGradients``, ``GradientShap``, ``DeepLift``, ``Occlusion``, ...) and the
layer ones (``Layer*``, attributing the output of the experiment's ``layer``). Neuron attributions,
``NoiseTunnel`` (our ``smoothgrad``, ``vargrad``, ``smoothgrad_sq`` are its modes) and the LLM wrappers
are not methods. The name passes the config checks like a built-in one.

Options: the captum constructor's and ``attribute``'s keywords (``multiply_by_inputs``, ``n_steps``,
``method``, ``n_samples``, ``stdevs``, ``sliding_window_shapes``, ...), from ``method_options`` only.
From the experiment's settings the adapter takes just ``layer`` (and ``layer_io``: captum's
``attribute_to_layer_input``), ``target``, ``output_fn``, ``baselines`` (input attributions; captum's
layer methods read baselines as model inputs, so they keep captum's default) and ``background``,
which becomes the ``baselines`` distribution of the classes that draw from one (``GradientShap``,
``DeepLiftShap`` and their layer versions).

Samples: captum returns one estimate per call. For the classes that draw at random (``GradientShap``,
``ShapleyValueSampling``, ``KernelShap``, ``Lime``, ``FeaturePermutation`` and layer versions) the ``M``
samples are ``M`` calls seeded ``seed, seed + 1, ...`` (torch's and numpy's global generators, restored
afterwards), so their mean is the estimate of ``M`` times the draws and their spread its sampling
error; the others are deterministic: one call, one sample. ``Explanation.output`` is the explained
score ``F(x)``. Where captum refuses the model or the inputs (a graph batch, integer token ids at the
input, an unsupported layer) the call raises :class:`~xairepro.attribution.MethodNotApplicable` naming
captum's error, and the Explainer reports the method not applicable with it.
"""
from __future__ import annotations

import inspect
from typing import ClassVar, Optional

import numpy as np
import torch
from torch import Tensor

from ._utils.batching import inputs_device
from ._utils.modes import eval_mode, forked_rng
from ._utils.scores import normalize_target, score_of
from .core import UNSET, Attribution, option_summary
from .explanation import Explanation
from .registry import MethodNotApplicable, register_namespace

__all__ = ["CaptumAttribution", "captum_method"]

#: captum classes that draw at random on each call
RANDOM = {"GradientShap", "LayerGradientShap", "ShapleyValueSampling", "KernelShap", "Lime", "FeaturePermutation",
          "LayerFeaturePermutation"}
#: captum classes whose ``baselines`` is a distribution of examples (the experiment's ``background``)
DISTRIBUTION = {"GradientShap", "LayerGradientShap", "DeepLiftShap", "LayerDeepLiftShap"}
#: captum's arguments the adapter fills itself
_OWN = {"self", "forward_func", "model", "layer", "device_ids", "inputs", "target", "additional_forward_args",
        "baselines", "return_convergence_delta", "show_progress", "kwargs", "grad_kwargs",
        "attribute_to_layer_input", "attribute_to_neuron_input"}
#: the options every method takes (:class:`~xairepro.attribution.Attribution`'s), besides ``layer``
_COMMON = ("target", "baselines", "output_fn", "max_batch", "layer_io")


class CaptumAttribution(Attribution):
    """Base of the adapters; :func:`captum_method` makes one subclass per captum class."""

    captum_class: ClassVar[type]
    is_layer: ClassVar[bool] = False
    settings_taken: ClassVar[tuple] = ("layer", "layer_io", "target", "output_fn", "baselines", "background",
                                       "max_batch")
    captum_init: ClassVar[tuple] = ()
    captum_attribute: ClassVar[tuple] = ()

    def __init__(self, model, layer=None, *, background=None, **options):
        common = {k: options.pop(k) for k in _COMMON if k in options}
        super().__init__(model, layer, **common)
        self.background = background
        self.captum_options = options
        self.options.update(options)
        if background is not None:
            self.options["background"] = background

    @classmethod
    def applicable(cls, model, settings):
        name = f"captum.{cls.captum_class.__name__}"
        layer = settings.get("layer")
        if cls.is_layer and layer is None:
            return f"{name} attributes a layer's output, and this experiment attributes the inputs (no layer)"
        if not cls.is_layer and layer is not None:
            return (f"{name} attributes the model's inputs, and this experiment attributes at a layer "
                    f"({type(layer).__name__}, e.g. an embedding of discrete inputs): name its Layer version")
        if cls.captum_class.__name__ in DISTRIBUTION and settings.get("background") is None \
                and not isinstance(settings.get("baselines"), Tensor):
            return f"{name} draws baselines from a background set of examples, and none was given"
        return None

    def _captum(self, forward):
        init = {k: v for k, v in self.captum_options.items() if k in self.captum_init}
        if self.is_layer:
            return self.captum_class(forward, self.layer, **init)
        return self.captum_class(forward, **init)

    def _baselines(self, inputs, baselines):
        if self.captum_class.__name__ in DISTRIBUTION:
            return self.background if self.background is not None else baselines
        if self.is_layer:
            return None
        if isinstance(baselines, Tensor) and isinstance(inputs, Tensor) and baselines.dim() == inputs.dim() - 1:
            return baselines.unsqueeze(0)       # one baseline example, as captum wants it: (1, ...)
        return baselines

    def compute(self, inputs, M: Optional[int] = None, *, target=UNSET, baselines=UNSET, seed: Optional[int] = 0,
                additional_forward_args=None) -> Explanation:
        name = self.name or type(self).__name__
        target = normalize_target(self.target if target is UNSET else target, name)
        model, output_fn = self.model, self.output_fn
        forward = model if output_fn is None else (lambda *x: output_fn(model(*x)))
        kwargs = {k: v for k, v in self.captum_options.items() if k in self.captum_attribute}
        params = self.captum_attribute
        if "baselines" in params:
            b = self._baselines(inputs, self.baselines if baselines is UNSET else baselines)
            if b is not None:
                kwargs["baselines"] = b
        if "target" in params:
            kwargs["target"] = None if output_fn is not None else target
        if "additional_forward_args" in params and additional_forward_args is not None:
            kwargs["additional_forward_args"] = additional_forward_args
        if "attribute_to_layer_input" in params:
            kwargs["attribute_to_layer_input"] = self.layer_io == "input"
        n = int(M if M is not None else 1) if self.captum_class.__name__ in RANDOM else 1
        device = inputs_device(inputs)
        samples = []
        with eval_mode(model):
            method = self._call(lambda: self._captum(forward))
            for k in range(n):
                s = None if seed is None else int(seed) + k
                state = np.random.get_state()
                try:
                    with forked_rng(device, s):
                        if s is not None:
                            np.random.seed(s % 2 ** 32)
                        got = self._call(lambda: method.attribute(inputs, **kwargs))
                finally:
                    np.random.set_state(state)
                samples.append(tuple(g.detach() for g in got) if isinstance(got, tuple) else got.detach())
            with torch.no_grad():
                x = inputs if isinstance(inputs, tuple) else (inputs,)
                extra = additional_forward_args if isinstance(additional_forward_args, tuple) else \
                    (() if additional_forward_args is None else (additional_forward_args,))
                output = score_of(model(*x, *extra), target, output_fn).detach()
        stacked = tuple(torch.stack(parts) for parts in zip(*samples)) if isinstance(samples[0], tuple) \
            else torch.stack(samples)
        return Explanation(method=name, samples=stacked, output=output.unsqueeze(0).expand(n, -1), target=target,
                           options={k: option_summary(v) for k, v in self.options.items()})

    def _call(self, fn):
        try:
            return fn()
        except (MethodNotApplicable, KeyboardInterrupt):
            raise
        except Exception as err:   # captum's refusal, named
            raise MethodNotApplicable(f"captum.{self.captum_class.__name__} refused this model or its inputs: "
                                      f"{type(err).__name__}: {err}") from err


def _keywords(fn) -> list[inspect.Parameter]:
    return [p for p in inspect.signature(fn).parameters.values()
            if p.name not in _OWN and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def captum_method(class_name: str) -> type:
    """The adapter class of ``captum.attr.<class_name>`` (a ``KeyError`` saying why where there is none)."""
    import captum.attr as attr
    from captum.attr._utils.attribution import Attribution as CaptumBase

    cls = getattr(attr, class_name, None)
    why = None
    if not (inspect.isclass(cls) and issubclass(cls, CaptumBase)):
        why = "captum.attr exports no attribution class of that name"
    elif not hasattr(cls, "attribute") or inspect.isabstract(cls):
        why = "it is an abstract base class"
    else:
        init = list(inspect.signature(cls.__init__).parameters)[1:2]
        att = set(inspect.signature(cls.attribute).parameters)
        if init not in (["forward_func"], ["model"]) or not {"inputs", "target"} <= att:
            why = ("it is not an attribution of a model's output for a target (neuron attributions, NoiseTunnel "
                   "and the LLM wrappers are not methods: use smoothgrad, vargrad or smoothgrad_sq for NoiseTunnel)")
    if why:
        raise KeyError(f"captum.{class_name}: {why}")
    init_kw, att_kw = _keywords(cls.__init__), _keywords(cls.attribute)
    seen = {"background", "layer", *_COMMON}
    extra = []
    for p in init_kw + att_kw:
        if p.name not in seen:
            seen.add(p.name)
            extra.append(inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY, default=p.default))
    base = inspect.signature(CaptumAttribution.__init__)
    sig = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
           inspect.Parameter("model", inspect.Parameter.POSITIONAL_OR_KEYWORD),
           inspect.Parameter("layer", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None),
           *[inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY,
                               default=inspect.signature(Attribution.__init__).parameters[k].default)
             for k in _COMMON],
           base.parameters["background"], *extra]

    def __init__(self, model, layer=None, **options):
        CaptumAttribution.__init__(self, model, layer, **options)
    __init__.__signature__ = inspect.Signature(sig)
    return type(f"Captum{class_name}", (CaptumAttribution,), {
        "__init__": __init__, "captum_class": cls, "is_layer": "layer" in inspect.signature(cls.__init__).parameters,
        "captum_init": tuple(p.name for p in init_kw), "captum_attribute": tuple(inspect.signature(cls.attribute).parameters),
        "__doc__": f"captum.attr.{class_name} as a method (:mod:`xairepro.attribution.captum_adapter`)."})


register_namespace("captum", captum_method)
