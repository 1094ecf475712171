"""The one object every study explains with: an :class:`Explainer` (after PyG's ``Explainer(model,
algorithm, model_config)``; written for this project).

It holds what a study needs to explain a model: the model, the configured methods with their
options (``method_options.<method>.<option>``, captum's names, plus ``M``: the method's sample count,
and ``aggregation``: its elementwise reading), the experiment's settings (what to attribute,
baselines, feature mask, background, mask network: ``settings(model)`` of the experiment's
``settings.py``), the explained score (a module wrapped around the model, e.g. :class:`SoftmaxScore`),
and how inputs are cut into batches. ``explain(inputs, target)`` returns ``{method: Explanation |
NotApplicable}`` with the seconds of each method; :meth:`Explainer.on` gives the same explainer on
another model (a randomised copy for the sanity check), so every method, a user's own included, is
measured the same way on the trained model and on its copies. No study branches on a method name.

A helper module of the experiments, not an experiment.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, Optional, Sequence, Union

import torch

from ..attribution import Explanation, MethodNotApplicable, create_method, method_class
from ..progress import progress

__all__ = ["Explainer", "Explanations", "NotApplicable", "READING_OPTIONS", "applicable", "slice_batches"]

#: Keys of ``method_options.<name>`` that say how the study uses a method, not how it is built: its
#: sample count and the elementwise reading (``raw | abs | square``) of its attributions.
READING_OPTIONS = ("M", "aggregation")


@dataclass
class NotApplicable:
    """A method the config names that cannot explain this model, and why."""

    method: str
    reason: str


class Explanations(dict):
    """``{method: Explanation | NotApplicable}`` in the configured order, with ``seconds``: each
    method's compute time (a method read from elsewhere keeps the seconds it cost there)."""

    def __init__(self, *args, seconds: Optional[Mapping[str, float]] = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.seconds: dict[str, float] = dict(seconds or {})


def applicable(results: Mapping) -> dict[str, Explanation]:
    """The explanations among ``results`` (the methods that applied)."""
    return {k: v for k, v in results.items() if isinstance(v, Explanation)}


def slice_batches(inputs, start: int, stop: int, target):
    """The default batching: rows ``start:stop`` of a tensor (and of a per-example target)."""
    t = target[start:stop] if isinstance(target, (torch.Tensor, list, tuple)) else target
    return inputs[start:stop], t


#: ``seed`` of an Explainer: one int (a chunk starting at example ``s`` draws with ``seed + s``), or
#: ``seed(k)``, the seed of chunk ``k``.
Seed = Union[int, Callable[[int], int]]


@dataclass
class Explainer:
    """Explain a model with the configured methods.

    model
        the trained model (the sanity check randomises copies of it).
    methods
        registered method names, in the order of the tables.
    settings
        ``settings(model) -> dict`` (the experiment's ``settings.py``, with its config bound): what every
        method is built from; each method takes the entries it accepts. Called on every model explained,
        so ``layer=`` always names a module of that model. A plain dict serves models with no layer.
    method_options
        ``{method: {option: value}}`` from the config: constructor options (winning over ``settings``),
        ``M`` (that method's samples) and ``aggregation`` (its reading).
    M
        samples of the sampling methods that set no ``M`` (deterministic methods draw one; a method
        whose samples are orders, the random floor, draws its own default).
    aggregation
        the reading of every method that sets none.
    score
        ``score(model) -> module`` whose output the methods explain and the curves read (e.g.
        :class:`SoftmaxScore`); ``None``: the model's own output.
    chunk
        examples per call (``None``: all at once); ``batches(inputs, start, stop, target) -> (batch,
        target)`` cuts one chunk (:func:`slice_batches` by default; graphs build a ``Batch``, text trims
        padding). ``device``: where the batches go.
    seed
        see :data:`Seed`.
    reduce
        ``reduce(explanation, batch, start, reading) -> Explanation``: applied to each chunk's result as
        soon as it is made (text keeps per-word scores, not the raw samples); it applies the reading,
        so the study then reads the result ``raw``.
    """

    model: Any
    methods: Sequence[str]
    settings: Union[Callable[[Any], Mapping], Mapping, None] = None
    method_options: Mapping[str, Mapping] = field(default_factory=dict)
    M: int = 1
    aggregation: str = "raw"
    score: Optional[Callable] = None
    chunk: Optional[int] = None
    batches: Callable = slice_batches
    device: Any = None
    seed: Seed = 0
    reduce: Optional[Callable] = None
    label: str = "attribution chunks"

    def __post_init__(self):
        self.methods = list(self.methods)
        self.method_options = {k: dict(v or {}) for k, v in dict(self.method_options or {}).items()}

    # ------------------------------------------------------------------ options
    def options(self, name: str) -> dict:
        """The constructor options the config gives method ``name``."""
        return {k: v for k, v in self.method_options.get(name, {}).items() if k not in READING_OPTIONS}

    def samples(self, name: str) -> int:
        """``M`` of method ``name``: its own ``M`` option, else the class default where each sample is an
        order (the random floor), else the explainer's ``M``."""
        own = self.method_options.get(name, {}).get("M")
        if own is not None:
            return int(own)
        cls = method_class(name)
        return int(cls.default_M) if cls.each_sample_is_an_order else int(self.M)

    def reading(self, name: str) -> str:
        """The elementwise reading of method ``name``'s attributions (``raw | abs | square``)."""
        return self.method_options.get(name, {}).get("aggregation", self.aggregation)

    def unit_reading(self, name: str) -> str:
        """How a study reads ``name``'s explanations: its reading, or ``raw`` where ``reduce`` applied it."""
        return "raw" if self.reduce is not None else self.reading(name)

    def readings(self) -> dict[str, str]:
        return {name: self.unit_reading(name) for name in self.methods}

    # ------------------------------------------------------------------ models
    def scored(self, model=None):
        """The module whose output is explained (the model, or ``score(model)``)."""
        model = self.model if model is None else model
        return model if self.score is None else self.score(model)

    def on(self, model) -> "Explainer":
        """The same explainer on another model (a randomised copy of the trained one)."""
        return replace(self, model=model)

    def build(self, names: Optional[Sequence[str]] = None) -> dict:
        """``{name: method | NotApplicable}``: every method built once on this explainer's model."""
        settings = self.settings(self.model) if callable(self.settings) else dict(self.settings or {})
        scored = self.scored()
        out = {}
        for name in (self.methods if names is None else names):
            try:
                out[name] = create_method(name, scored, settings, **self.options(name))
            except MethodNotApplicable as err:
                out[name] = NotApplicable(name, str(err).split(": ", 1)[-1])
        return out

    # ------------------------------------------------------------------ the verb
    def explain(self, inputs, target=None, *, names: Optional[Sequence[str]] = None) -> Explanations:
        """``{name: Explanation | NotApplicable}`` of ``inputs`` (a tensor, a list of graphs, ...) for
        every method of ``names`` (default: all configured), explaining output ``target`` (an index,
        one per example, or ``None``). A method that finds on the inputs that it cannot apply (Kernel SHAP
        over more players than its limit) is a ``NotApplicable`` with its reason, whatever chunk it found it in."""
        names = self.methods if names is None else list(names)
        built = self.build(names)
        n = len(inputs)
        chunk = int(self.chunk) if self.chunk else max(n, 1)
        device = self.device
        parts: dict[str, list] = {name: [] for name in names}
        seconds: dict[str, float] = {}
        starts = range(0, n, chunk)
        for k, start in enumerate(progress(starts, self.label, unit="chunk") if len(starts) > 1 else starts):
            stop = min(n, start + chunk)
            batch, tgt = self.batches(inputs, start, stop, target)
            if device is not None:
                batch = batch.to(device)
                tgt = tgt.to(device) if isinstance(tgt, torch.Tensor) else tgt
            seed = self.seed(k) if callable(self.seed) else int(self.seed) + start
            for name in names:
                method = built[name]
                if isinstance(method, NotApplicable):
                    continue
                t0 = time.perf_counter()
                try:
                    got = method.compute(batch, M=self.samples(name), seed=seed, target=tgt)
                except MethodNotApplicable as err:   # refused at compute time (captum refusing the inputs)
                    built[name] = NotApplicable(name, str(err))
                    parts[name] = []
                    continue
                if self.reduce is not None:
                    got = self.reduce(got, batch, start, self.reading(name))
                parts[name].append(got.cpu())
                seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - t0
        out = Explanations(seconds=seconds)
        for name in names:
            out[name] = built[name] if isinstance(built[name], NotApplicable) else (
                parts[name][0] if len(parts[name]) == 1 else Explanation.cat(parts[name]))
        return out
