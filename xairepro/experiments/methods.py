"""The attribution methods an experiment's config names, run the same way in every experiment.

An experiment lists canonical method names (``attribution.methods``, ``faithfulness.methods``) and
builds one settings dict from its config: what to attribute (``layer``), ``baselines``,
``multiply_by_inputs``, ``stdevs``, ``n_steps``, the trained ``mask_net``, a Shapley ``background``,
``max_batch``. Every method takes the settings it accepts (:func:`xairepro.attribution.create_method`),
so a method a user registers runs here without an edit, and no experiment branches on a name. A
method that cannot apply (BayesGrad on a model without dropout, the mask where none is trained)
comes back as :class:`NotApplicable` with the reason, which tables show instead of an empty cell.
A helper module of the experiments, not an experiment.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Sequence

from ..attribution import Explanation, MethodNotApplicable, create_method
from ..progress import progress

__all__ = ["FAITHFULNESS_COLUMNS", "NotApplicable", "READING_OPTIONS", "SKIPPED_COLUMNS", "aggregations",
           "applicable", "build_methods", "explain",
           "explain_chunks",
           "faithfulness_rows", "not_applicable_rows", "skipped_rows"]


@dataclass
class NotApplicable:
    """A method the config names that cannot explain this model, and why."""

    method: str
    reason: str


#: Keys of ``method_options.<name>`` that are not constructor options but how the experiment uses the
#: method: its sample count and the elementwise reading (``raw | abs | square``) of its attributions.
READING_OPTIONS = ("M", "aggregation")


def aggregations(names: Sequence[str], cfg: Mapping) -> dict[str, str]:
    """``{name: aggregation}``: ``cfg['aggregation']`` (default ``raw``), or a method's own
    ``method_options.<name>.aggregation`` (Table 1's squared gradient beside signed maps)."""
    default = cfg.get("aggregation", "raw")
    options = cfg.get("method_options") or {}
    return {name: dict(options.get(name) or {}).get("aggregation", default) for name in names}


def build_methods(model, names: Sequence[str], settings: Mapping, method_options: Optional[Mapping] = None) -> dict:
    """``{name: method | NotApplicable}``: every method of ``names`` built once on ``model`` from the
    shared ``settings`` (``method_options``: ``{name: {option: value}}`` overriding them for one method;
    its ``M`` is the method's sample count, read by :func:`explain`)."""
    out = {}
    for name in names:
        options = {k: v for k, v in dict((method_options or {}).get(name, {})).items() if k not in READING_OPTIONS}
        try:
            out[name] = create_method(name, model, settings, **options)
        except MethodNotApplicable as err:
            out[name] = NotApplicable(name, str(err).split(": ", 1)[-1])
    return out


def explain(model, inputs, names: Sequence[str], settings: Mapping, *, M: int, seed: int, target=None,
            method_options: Optional[Mapping] = None, seconds: Optional[dict] = None,
            methods: Optional[Mapping] = None) -> dict:
    """``{name: Explanation | NotApplicable}`` of one batch ``inputs`` for every method in ``names``.

    ``M``: samples for the sampling methods (deterministic ones draw one; ``method_options[name]["M"]``
    overrides it for one method); ``target``: the output index; ``method_options``: ``{name: {option:
    value}}`` overriding ``settings`` for one method;
    ``seconds``: when given, each method's compute time is added to it; ``methods``: already built
    methods (:func:`build_methods`), so a loop over chunks builds them once.
    """
    built = methods if methods is not None else build_methods(model, names, settings, method_options)
    out = {}
    for name in names:
        method = built[name]
        if isinstance(method, NotApplicable):
            out[name] = method
            continue
        n_samples = int(dict((method_options or {}).get(name, {})).get("M", M))
        t0 = time.perf_counter()
        out[name] = method.compute(inputs, M=n_samples, seed=seed, target=target).cpu()
        if seconds is not None:
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - t0
    return out


def explain_chunks(model, n: int, make_batch: Callable[[int, int], tuple], names: Sequence[str], settings: Mapping,
                   *, M: int, seed: Callable[[int], int], chunk: int, method_options: Optional[Mapping] = None,
                   label: str = "attribution chunks", seconds: Optional[dict] = None,
                   reduce: Optional[Callable] = None) -> dict:
    """:func:`explain` over ``n`` examples in chunks (methods built once).

    ``make_batch(start, stop)`` gives ``(inputs, target)`` for examples ``start..stop`` (a graph
    batch, a tensor, a trimmed token batch); ``seed(k)`` the seed of chunk ``k``. Without ``reduce``
    the chunks' explanations are concatenated per method; with ``reduce(explanation, start, stop)``
    (say, to per-unit scores) only its results are kept, as a list per method, so the raw samples of
    a large run never have to fit in memory at once.
    """
    methods = build_methods(model, names, settings, method_options)
    parts: dict[str, list] = {name: [] for name in names}
    for k, start in enumerate(progress(range(0, n, chunk), label, unit="chunk")):
        stop = min(n, start + chunk)
        inputs, target = make_batch(start, stop)
        for name, result in explain(model, inputs, names, settings, M=M, seed=seed(k), target=target,
                                    method_options=method_options, seconds=seconds, methods=methods).items():
            if isinstance(result, NotApplicable):
                parts[name] = [result]
            elif reduce is not None:
                parts[name].append(reduce(result, start, stop))
            else:
                parts[name].append(result)
    out = {}
    for name, got in parts.items():
        if not got:
            continue
        if isinstance(got[0], NotApplicable):
            out[name] = got[0]
        elif reduce is not None:
            out[name] = [item for part in got for item in part]
        else:
            out[name] = Explanation.cat(got)
    return out


def applicable(results: Mapping) -> dict[str, Explanation]:
    """The explanations among ``results`` (the methods that applied)."""
    return {k: v for k, v in results.items() if isinstance(v, Explanation)}


def not_applicable_rows(results: Mapping) -> list[dict]:
    """``{method, reason}`` rows for the methods that did not apply."""
    return [{"method": v.method, "reason": v.reason} for v in results.values() if isinstance(v, NotApplicable)]


#: Columns of every experiment's per-example faithfulness table (the leaderboard's input).
FAITHFULNESS_COLUMNS = ("experiment", "modality", "unit", "model", "replicate", "method", "example",
                        "deletion_aopc", "insertion_auc")
#: Columns of the table of methods that did not apply, with the reason.
SKIPPED_COLUMNS = ("experiment", "modality", "unit", "model", "replicate", "method", "reason")


def faithfulness_rows(per_example, *, experiment: str, modality: str, unit: str, model: str, replicate=0):
    """The per-example rows of :func:`~xairepro.evaluation.faithfulness.faithfulness_study` in the
    shared schema (:data:`FAITHFULNESS_COLUMNS`); ``replicate`` is the seed, fold or model index."""
    import pandas as pd

    frame = pd.DataFrame(per_example).copy()
    for key, value in (("experiment", experiment), ("modality", modality), ("unit", unit), ("model", model),
                       ("replicate", replicate)):
        frame[key] = value
    return frame[list(FAITHFULNESS_COLUMNS)]


def skipped_rows(results: Mapping, *, experiment: str, modality: str, unit: str, model: str, replicate=0):
    """The methods of ``results`` that did not apply, in the schema :data:`SKIPPED_COLUMNS`."""
    import pandas as pd

    rows = [dict(experiment=experiment, modality=modality, unit=unit, model=model, replicate=replicate,
                 method=r["method"], reason=r["reason"]) for r in not_applicable_rows(results)]
    return pd.DataFrame(rows, columns=list(SKIPPED_COLUMNS))
