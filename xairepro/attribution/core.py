"""The base classes of every attribution method: one verb, ``compute``, returning an
:class:`~xairepro.attribution.explanation.Explanation`.

* :class:`Attribution` handles what every method shares: the per-call options (``target`` the
  output index, ``baselines``; constructor values are only defaults), tuple inputs and
  ``additional_forward_args`` (one flat batch, split back afterwards), and the result object.
* :class:`GradientAttribution` differentiates the score at the input or at a layer's output
  (``layer=``), in replicated passes (:mod:`._utils.passes`); what is sampled (noise, dropout
  masks, path points) is the subclass's choice.
* :class:`PerturbationAttribution` runs forward passes only, on any dtype (token ids, one-hot rows).

A method is usable in every experiment once it is registered under a name
(:func:`~xairepro.attribution.registry.register_method`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Optional

import torch
from torch import Tensor, nn

from ._utils.batching import example_index, is_graph_batch
from ._utils.hooks import LAYER_IO
from ._utils.passes import Chunk, PassResult, run_passes
from ._utils.scores import normalize_target, score_of, tile_target
from ._utils.tuples import FlatInputs, flatten_inputs, needs_flattening
from .explanation import Explanation

__all__ = ["Attribution", "Call", "GradientAttribution", "PerturbationAttribution", "Result"]

UNSET: Any = object()


@dataclass
class Call:
    """The options of one ``compute`` call, seen by the method's ``_attribute``.

    ``baselines`` applies to the attributed tensor; for tuple inputs ``flat`` holds the flattened
    inputs and their ``(batch, features)`` baseline. ``extra`` is for what a method derives per call
    (occlusion's windows over the flat features).
    """

    target: Any = None
    baselines: Any = 0.0
    output_fn: Optional[Callable] = None
    flat: Optional[FlatInputs] = None
    extra: dict = field(default_factory=dict)

    def score_fn(self, output, start: int, stop: int, k: int) -> Tensor:
        return score_of(output, tile_target(self.target, start, stop, k), self.output_fn, n=(stop - start) * k)

    def baseline_like(self, values: Tensor, chunk: Optional[Chunk] = None) -> Tensor:
        """The baseline, broadcastable to ``values`` (``(k, rows, ...)`` inside a pass)."""
        if self.flat is not None:
            eb = self.flat.baseline
            if chunk is not None:
                eb = eb[chunk.start:chunk.stop]
            return eb.to(device=values.device, dtype=values.dtype)
        b = self.baselines
        if isinstance(b, Tensor):
            return b.to(device=values.device, dtype=values.dtype)
        if callable(b):
            raise TypeError("a callable baselines= is applied to the inputs; with layer= pass a float or a tensor")
        return torch.as_tensor(float(b), device=values.device, dtype=values.dtype)


@dataclass
class Result:
    """What a method's ``_attribute`` returns: ``samples`` (M, *shape), ``output`` (M, batch)."""

    samples: Tensor
    output: Optional[Tensor] = None
    path: Any = None
    extras: dict = field(default_factory=dict)


def option_summary(value):
    if isinstance(value, Tensor):
        return f"tensor{tuple(value.shape)}"
    if isinstance(value, nn.Module):
        return type(value).__name__
    if callable(value):
        return getattr(value, "__name__", type(value).__name__)
    if isinstance(value, (tuple, list)):
        return [option_summary(v) for v in value]
    return value


class Attribution:
    """Base class of every method. Construct with the model, then ``compute(inputs, M, ...)``.

    model
        any ``nn.Module`` (or callable), called as ``model(x)``, ``model(*tuple)`` or ``model(batch)``
        for a ``torch_geometric`` ``Batch``.
    layer, layer_io
        ``None``: attribute to the inputs (every attributable tensor of a tuple, ``batch.x`` for
        graphs); an ``nn.Module``: attribute to its output (``layer_io="output"``) or its first input
        (``"input"``), e.g. ``model.embedding``. Its first dimension must be the batch (or node) one.
    target, baselines
        defaults of ``compute``'s options of the same names.
    output_fn
        ``model_output -> (batch,)``, the score per example; default: the output (column ``target``).
    max_batch
        at most this many replicated examples per forward/backward pass.
    """

    #: the registered name (set by :func:`~xairepro.attribution.registry.register_method`)
    name: ClassVar[Optional[str]] = None
    #: samples drawn when ``compute`` gets no ``M``
    default_M: ClassVar[int] = 1
    #: each sample is an alternative ranking (the random order), evaluated one by one
    each_sample_is_an_order: ClassVar[bool] = False
    #: the floor of every faithfulness test (the random order): what every other method must beat
    is_floor: ClassVar[bool] = False
    #: integer tensors of a tuple input are attributed too (perturbation methods)
    integer_inputs: ClassVar[bool] = False
    #: tuple inputs: the engine carries the unattributed items beside the flat batch
    carries_unattributed: ClassVar[bool] = True

    def __init__(self, model, layer: Optional[nn.Module] = None, *, target=None, baselines=0.0,
                 output_fn: Optional[Callable] = None, layer_io: str = "output", max_batch: int = 2048):
        if layer is not None and not isinstance(layer, nn.Module):
            raise TypeError(f"{type(self).__name__}: layer= takes the hooked nn.Module, got "
                            f"{type(layer).__name__}; the output index is target=")
        if layer_io not in LAYER_IO:
            raise ValueError(f"layer_io must be one of {LAYER_IO}, got {layer_io!r}")
        if int(max_batch) < 1:
            raise ValueError("max_batch must be >= 1")
        self.model, self.layer, self.layer_io = model, layer, layer_io
        self.target = normalize_target(target, type(self).__name__)
        self.baselines, self.output_fn, self.max_batch = baselines, output_fn, int(max_batch)
        self.options: dict = {}

    @classmethod
    def applicable(cls, model, settings: dict) -> Optional[str]:
        """Why this method cannot explain ``model`` with these settings, or ``None`` when it can."""
        return None

    # -------------------------------------------------------------------- the verb
    def compute(self, inputs, M: Optional[int] = None, *, target=UNSET, baselines=UNSET, seed: Optional[int] = 0,
                additional_forward_args=None) -> Explanation:
        """Explain ``inputs`` with ``M`` samples (default ``default_M``); ``target`` and ``baselines``
        default to the constructor's. Returns an :class:`Explanation`."""
        owner = type(self).__name__
        call = Call(target=normalize_target(self.target if target is UNSET else target, owner),
                    baselines=self.baselines if baselines is UNSET else baselines, output_fn=self.output_fn)
        n_samples = int(M if M is not None else self.default_M)
        if n_samples < 1:
            raise ValueError("M must be >= 1")
        if self.layer is not None or is_graph_batch(inputs):
            if additional_forward_args is not None:
                raise ValueError("additional_forward_args= is for input attributions; with layer= or a graph "
                                 "batch put extra arguments in the inputs tuple")
            res = self._attribute(self.model, call, inputs, n_samples, seed)
            rows = res.samples.shape[1]
            index, n_ex = example_index(inputs, rows, torch.device("cpu"))
            index = index if n_ex != rows else None
        elif needs_flattening(inputs, additional_forward_args, call.baselines):
            call.flat = flatten_inputs(self.model, inputs, additional_forward_args, call.baselines,
                                       integers=self.integer_inputs, owner=owner)
            self._flat_setup(call)
            res = self._attribute(call.flat.model, call, call.flat.engine_inputs(self.carries_unattributed),
                                  n_samples, seed)
            res.samples = call.flat.split(res.samples)
            if res.path is not None:
                res.path = res.path.split_inputs(call.flat.split)
            index = None
        else:
            res = self._attribute(self.model, call, inputs, n_samples, seed)
            index = None
        return Explanation(method=self.name or owner, samples=res.samples, output=res.output, target=call.target,
                           options={k: option_summary(v) for k, v in self.options.items()}, example_index=index,
                           each_sample_is_an_order=self.each_sample_is_an_order, path=res.path, extras=res.extras)

    # ------------------------------------------------------------ for subclasses
    def _attribute(self, model, call: Call, inputs, M: int, seed: Optional[int]) -> Result:
        raise NotImplementedError

    def _flat_setup(self, call: Call) -> None:
        """Tuple inputs: translate per-input options (windows, masks) to the flat batch."""


class GradientAttribution(Attribution):
    """Gradients of the score at the input or a layer, in replicated passes.

    multiply_by_inputs
        each sample becomes ``(value - baseline) * gradient`` (signed input x gradient, BayesGrad
        section 2.4), ``baselines`` a float or a tensor broadcastable to the attributed tensor (for
        input attributions also a callable ``x -> baseline``, or one per input of a tuple).
    """

    #: sample dropout masks (MC dropout; batch norm frozen) instead of running in eval mode
    uses_dropout: ClassVar[bool] = False

    def __init__(self, model, layer=None, *, multiply_by_inputs: bool = False, **kwargs):
        super().__init__(model, layer, **kwargs)
        self.multiply_by_inputs = bool(multiply_by_inputs)
        self.options["multiply_by_inputs"] = self.multiply_by_inputs

    def _passes(self, model, call: Call, inputs, n_copies: int, perturb=None, seed=0) -> PassResult:
        return run_passes(model, inputs, n_copies=n_copies, score_fn=call.score_fn, layer=self.layer,
                          layer_io=self.layer_io, perturb=perturb, seed=seed, need_grad=True,
                          uses_dropout=self.uses_dropout, max_batch=self.max_batch)

    def _finish(self, call: Call, run: PassResult) -> Tensor:
        if self.multiply_by_inputs:
            return (run.values - call.baseline_like(run.values)) * run.grads
        return run.grads


class PerturbationAttribution(Attribution):
    """Forward passes only: the change of the score when parts of the input or layer are replaced."""

    integer_inputs = True

    def _forward(self, model, call: Call, inputs, n_copies: int, perturb=None, seed=0) -> PassResult:
        return run_passes(model, inputs, n_copies=n_copies, score_fn=call.score_fn, layer=self.layer,
                          layer_io=self.layer_io, perturb=perturb, seed=seed, need_grad=False,
                          max_batch=self.max_batch)
