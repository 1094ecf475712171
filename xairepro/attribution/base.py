"""The attribution engine shared by every gradient method.

After chainer-chemistry's ``Calculator``: ``compute(inputs, M)`` returns ``M``
attribution samples per input, stacked on a leading axis, and
:func:`~xairepro.attribution.aggregate.aggregate` reduces them.  What this module
adds to that design:

* **Targets inside the model.**  The papers take gradients at the atom
  embeddings (BayesGrad, the chainer-chemistry blog) or the token embeddings
  (interior gradients on text), not at the raw integer input.  A forward hook on
  any ``nn.Module`` (like chainer-chemistry's ``VariableMonitorLinkHook``) swaps
  that module's output for a fresh leaf tensor, so the gradient is taken
  exactly there, and so that noise (SmoothGrad) or a path point (integrated
  gradients) can be placed *at the target* before the rest of the network runs.
* **Batched sampling.**  The ``M`` samples are not a Python loop: the input batch
  is replicated ``k`` times into one batch (:func:`replicate`, copy-major), one
  forward and one backward pass give ``k`` gradient samples at once.  Because
  dropout draws its mask elementwise over the whole batch, every copy gets its
  own mask, which is exactly the MC-dropout sampling BayesGrad needs.
  ``max_batch`` bounds the number of replicated examples per pass.
* **Mode hygiene.**  Gradient methods run in ``eval`` mode; BayesGrad runs under
  :func:`mc_dropout` (dropout on, batch norm frozen).  The model's own
  train/eval flags are restored afterwards, and the global RNG is forked so a
  ``seed`` makes results reproducible without disturbing the caller's RNG.

Gradients of the *sum* of per-example scores are per-example gradients because
examples in a batch are independent in eval mode.  Models that mix examples in a
batch (batch norm in train mode, batch-level attention) break that assumption.
"""
from __future__ import annotations

import contextlib
import copy
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional, Sequence, Union

import torch
from torch import Tensor, nn

try:  # torch_geometric is optional for tensor-only use
    from torch_geometric.data import Batch as _PygBatch
except Exception:  # pragma: no cover - exercised only without PyG
    _PygBatch = None

__all__ = [
    "Attribution",
    "GradientRun",
    "default_output_fn",
    "eval_mode",
    "is_graph_batch",
    "mc_dropout",
    "num_examples",
    "replicate",
    "split_inputs",
]

Inputs = Union[Tensor, tuple, "Any"]


# ----------------------------------------------------------------------------
# model modes
# ----------------------------------------------------------------------------

def _is_dropout(module: nn.Module) -> bool:
    """Dropout modules that MC dropout keeps stochastic.

    Every torch dropout flavour (``Dropout``, ``Dropout1d/2d/3d``,
    ``AlphaDropout``, ``FeatureAlphaDropout``) derives from ``_DropoutNd``.
    Custom dropout modules (word dropout, for instance) opt in with a class or
    instance attribute ``is_dropout = True``.  Functional dropout
    (``F.dropout(x, training=self.training)``, as used inside several
    torch_geometric layers) and the inter-layer dropout of ``nn.GRU``/``nn.LSTM``
    follow their *owning* module's flag, which MC dropout keeps in eval mode, so
    they are NOT sampled: models meant for BayesGrad must use ``nn.Dropout``
    modules.
    """
    return isinstance(module, nn.modules.dropout._DropoutNd) or bool(
        getattr(module, "is_dropout", False)
    )


@contextlib.contextmanager
def _restore_modes(model: nn.Module) -> Iterator[None]:
    # plain callables (model-agnostic methods) have no modes to save
    modules = model.modules() if isinstance(model, nn.Module) else []
    flags = [(m, m.training) for m in modules]
    try:
        yield
    finally:
        for m, training in flags:
            m.training = training


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """``model.eval()`` for the duration of the block; original flags restored."""
    with _restore_modes(model):
        if isinstance(model, nn.Module):
            model.eval()
        yield model


@contextlib.contextmanager
def mc_dropout(model: nn.Module) -> Iterator[nn.Module]:
    """Monte-Carlo dropout: everything in eval mode except dropout modules.

    Batch norm stays in eval mode, so it uses (and never updates) its running
    statistics; only the dropout masks are random, which is the approximate
    posterior sampling of Gal & Ghahramani that BayesGrad relies on.  All
    train/eval flags are restored on exit.  See :func:`_is_dropout` for which
    modules count as dropout (``nn.Dropout`` modules, not functional dropout).
    """
    with _restore_modes(model):
        model.eval()
        for m in model.modules():
            if _is_dropout(m):
                m.train()
        yield model


def has_dropout(model: nn.Module) -> bool:
    return isinstance(model, nn.Module) and any(_is_dropout(m) for m in model.modules())


def _has_rnn(model: nn.Module) -> bool:
    return isinstance(model, nn.Module) and any(isinstance(m, nn.RNNBase)
                                                for m in model.modules())


@contextlib.contextmanager
def _forked_rng(device: torch.device, seed: Optional[int]) -> Iterator[None]:
    """Seed the global RNG (dropout masks draw from it) inside a fork.

    ``fork_rng`` restores the caller's CPU (and the used CUDA device's) RNG state
    afterwards, so attributing never perturbs a training run's random stream.
    """
    devices = [device.index if device.index is not None else torch.cuda.current_device()] \
        if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        if seed is not None:
            torch.default_generator.manual_seed(int(seed))
            if device.type == "cuda":
                with torch.cuda.device(devices[0]):
                    torch.cuda.manual_seed(int(seed))
        yield


# ----------------------------------------------------------------------------
# inputs: graph batches, tensors, tuples of tensors
# ----------------------------------------------------------------------------

def is_graph_batch(inputs: Any) -> bool:
    return _PygBatch is not None and isinstance(inputs, _PygBatch)


def _as_tuple(inputs: Inputs) -> tuple:
    if isinstance(inputs, tuple):
        return inputs
    if isinstance(inputs, list):
        return tuple(inputs)
    return (inputs,)


def _first_tensor(items: Sequence) -> tuple[int, Tensor]:
    for i, v in enumerate(items):
        if isinstance(v, Tensor):
            return i, v
    raise TypeError("inputs contain no tensor")


def num_examples(inputs: Inputs) -> int:
    """Number of examples (graphs, images, sequences, rows) in an input batch."""
    if is_graph_batch(inputs):
        return int(inputs.num_graphs)
    return int(_first_tensor(_as_tuple(inputs))[1].shape[0])


def inputs_device(inputs: Inputs) -> torch.device:
    if is_graph_batch(inputs):
        for _, v in inputs:
            if isinstance(v, Tensor):
                return v.device
        return torch.device("cpu")
    return _first_tensor(_as_tuple(inputs))[1].device


def _replicate_graph_batch(batch, k: int):
    """``k`` copies of a PyG ``Batch`` as one ``Batch``, copy-major.

    Built by direct concatenation (node/edge tensors tiled, index tensors
    offset by ``c * num_nodes``, the ``batch`` vector by ``c * num_graphs``)
    instead of ``Batch.from_data_list(batch.to_data_list() * k)``, which costs a
    Python object per graph and copy.  Node rows of copy ``c`` are rows
    ``c*N .. (c+1)*N - 1`` in the original atom order.  The slice bookkeeping is
    rebuilt too, so ``to_data_list``/``index_select`` still work on the result.
    """
    if k == 1:
        return batch
    n_nodes, n_graphs = int(batch.num_nodes), int(batch.num_graphs)
    dev = inputs_device(batch)
    copies = torch.arange(k, device=dev)
    out = copy.copy(batch)
    for key, value in batch:
        if key == "ptr":
            body = (value[:-1].unsqueeze(0) + copies.unsqueeze(1) * n_nodes).reshape(-1)
            out[key] = torch.cat([body, value.new_tensor([k * n_nodes])])
        elif key == "batch":
            out[key] = (value.unsqueeze(0) + copies.unsqueeze(1) * n_graphs).reshape(-1)
        elif isinstance(value, Tensor):
            dim = batch.__cat_dim__(key, value)
            dim = 0 if dim is None else dim % max(value.dim(), 1)
            if value.dim() == 0:
                out[key] = value.repeat(k)
                continue
            tiled = torch.cat([value] * k, dim=dim)
            inc = batch.__inc__(key, value)
            if isinstance(inc, Tensor) or inc:
                inc = torch.as_tensor(inc, device=value.device)
                shape = [1] * value.dim()
                shape[dim] = -1
                offs = (copies.to(value.device) * inc).repeat_interleave(value.shape[dim])
                tiled = tiled + offs.view(shape).to(value.dtype)
            out[key] = tiled
        elif isinstance(value, list):
            out[key] = value * k
    # slice bookkeeping for to_data_list()/index_select()
    slice_dict = getattr(batch, "_slice_dict", None)
    inc_dict = getattr(batch, "_inc_dict", None)
    if slice_dict is not None:
        new_slices = {}
        for key, s in slice_dict.items():
            body = torch.cat([s[:-1] + c * s[-1] for c in range(k)])
            new_slices[key] = torch.cat([body, s[-1:] * k])
        out._slice_dict = new_slices
    if inc_dict is not None:
        new_inc = {}
        for key, inc in inc_dict.items():
            if inc is None:
                new_inc[key] = None
                continue
            total = batch.__inc__(key, batch[key]) if key in batch else 0
            total = torch.as_tensor(total)
            new_inc[key] = torch.cat([inc + c * total.to(inc.dtype) for c in range(k)])
        out._inc_dict = new_inc
    out._num_graphs = n_graphs * k
    return out


def replicate(inputs: Inputs, k: int) -> Inputs:
    """``k`` copies of an input batch as ONE batch, ordered copy-major.

    ``[copy0 of all examples, copy1 of all examples, ...]``, so that any
    per-example (or per-node) tensor computed from the result reshapes to
    ``(k, *shape_for_one_copy)``.  Works for a tensor, a tuple of tensors
    (non-tensor items pass through) and a ``torch_geometric`` ``Batch``.
    """
    if k < 1:
        raise ValueError("k must be >= 1")
    if is_graph_batch(inputs):
        return _replicate_graph_batch(inputs, k)
    if isinstance(inputs, Tensor):
        return inputs if k == 1 else torch.cat([inputs] * k, dim=0)
    items = _as_tuple(inputs)
    return tuple(torch.cat([v] * k, dim=0) if isinstance(v, Tensor) and k > 1 else v
                 for v in items)


def split_inputs(inputs: Inputs, size: int) -> list[tuple[int, int, Inputs]]:
    """Split an input batch into consecutive pieces of at most ``size`` examples.

    Returns ``(start, stop, piece)`` triples.  Graph batches must come from
    ``Batch.from_data_list`` (PyG needs the slice bookkeeping to split them).
    """
    n = num_examples(inputs)
    if n <= size:
        return [(0, n, inputs)]
    pieces = []
    for start in range(0, n, size):
        stop = min(n, start + size)
        if is_graph_batch(inputs):
            piece = _PygBatch.from_data_list(inputs.index_select(slice(start, stop)))
        elif isinstance(inputs, Tensor):
            piece = inputs[start:stop]
        else:
            piece = tuple(v[start:stop] if isinstance(v, Tensor) else v
                          for v in _as_tuple(inputs))
        pieces.append((start, stop, piece))
    return pieces


def _call_model(model: nn.Module, inputs: Inputs):
    if is_graph_batch(inputs) or isinstance(inputs, Tensor):
        return model(inputs)
    return model(*_as_tuple(inputs))


# ----------------------------------------------------------------------------
# output -> scalar per example
# ----------------------------------------------------------------------------

def default_output_fn(output: Tensor, target_class=None) -> Tensor:
    """The raw score per example whose gradient is taken.

    ``(B,)`` or ``(B, 1)``: that value.  ``(B, K)``: column ``target_class`` (the output
    index, given to the methods as ``target=``)
    (an int, or a LongTensor of shape ``(B,)``).  Always the score as the model
    returns it (pre-sigmoid / pre-softmax), as in BayesGrad section 2.1.
    """
    if isinstance(output, (tuple, list)):
        raise TypeError("the model returns a tuple; pass output_fn= to pick the score")
    if output.dim() == 1:
        return output
    if output.dim() == 2 and output.shape[1] == 1 and target_class is None:
        return output[:, 0]
    if output.dim() != 2:
        raise ValueError(f"cannot reduce model output of shape {tuple(output.shape)} to one "
                         "score per example; pass output_fn=")
    if target_class is None:
        raise ValueError(f"model returns {output.shape[1]} outputs per example; pass the output "
                         "index as target= (int, or LongTensor/list of shape (batch,); "
                         "formerly target_class=) or output_fn=")
    if isinstance(target_class, Tensor) and target_class.dim() > 0:
        idx = target_class.to(output.device).long().view(-1, 1)
        if idx.shape[0] != output.shape[0]:
            raise ValueError("target (the output index per example, formerly target_class) has "
                             "the wrong length for this batch")
        return output.gather(1, idx)[:, 0]
    return output[:, int(target_class)]


def _tile_target_class(target_class, start: int, stop: int, k: int):
    if isinstance(target_class, Tensor) and target_class.dim() > 0:
        return target_class[start:stop].repeat(k)
    return target_class


# ----------------------------------------------------------------------------
# the target tap
# ----------------------------------------------------------------------------

@dataclass
class Chunk:
    """What a perturbation sees about the chunk being evaluated.

    ``copies``: global indices (0..M-1) of the copies in this pass;
    ``rows``: number of target rows per copy; ``example_index``: for each of
    those rows, the index of the example it belongs to (graph id of an atom),
    used to compute per-example statistics such as the input range.
    """

    copies: Tensor
    rows: int
    example_index: Tensor
    n_examples: int
    start: int = 0
    stop: int = 0


Perturb = Callable[[Tensor, Chunk], Tensor]


class _TargetTap:
    """Replace a module's output (or first input) by a fresh leaf tensor.

    The leaf is the perturbed target (noise added, or a point on the IG path);
    it is cloned before being handed on so that in-place operations after the
    target (``ReLU(inplace=True)``) do not touch the leaf.  The un-perturbed value
    is kept for input x gradient.
    """

    def __init__(self, module: nn.Module, io: str, transform: Callable[[Tensor], Tensor],
                 need_grad: bool = True):
        self.module, self.io, self.transform = module, io, transform
        self.need_grad = need_grad
        self.clean: Optional[Tensor] = None
        self.leaf: Optional[Tensor] = None
        self._handle = None

    def _swap(self, value):
        if self.leaf is not None:
            raise RuntimeError(
                "the attribution target module ran more than once in one forward pass; "
                "hook a module that is called once (e.g. the embedding), not a shared layer")
        if not isinstance(value, Tensor):
            raise TypeError(f"attribution target must produce a Tensor, got {type(value)}")
        self.clean = value.detach()
        self.leaf = self.transform(self.clean).detach()
        if self.need_grad:
            self.leaf.requires_grad_(True)
        return self.leaf.clone()

    def __enter__(self):
        if self.io == "output":
            def hook(module, args, output):
                return self._swap(output)
            self._handle = self.module.register_forward_hook(hook)
        elif self.io == "input":
            def pre_hook(module, args):
                i, v = _first_tensor(args)
                args = list(args)
                args[i] = self._swap(v)
                return tuple(args)
            self._handle = self.module.register_forward_pre_hook(pre_hook)
        else:
            raise ValueError("target_io must be 'output' or 'input'")
        return self

    def __exit__(self, *exc):
        self._handle.remove()
        return False


@dataclass
class GradientRun:
    """Raw result of replicated gradient passes.

    ``grads``: (n_copies, *target_shape) gradients at the perturbed target;
    ``values``: (n_copies, *target_shape) the un-perturbed target of each copy
    (identical across copies unless dropout acts before the target); ``scores``:
    (n_copies, n_examples) the score F for each copy (the IG path scores).
    """

    grads: Tensor
    values: Tensor
    scores: Tensor


# ----------------------------------------------------------------------------
# base class
# ----------------------------------------------------------------------------

_UNSET = object()


def resolve_layer_and_target(layer, target=_UNSET, target_class=_UNSET, owner: str = "Attribution",
                             stacklevel: int = 4):
    """Sort the hooked module and the output index out of the old and new keyword names.

    * ``layer=``: the hooked ``nn.Module`` (captum's ``layer``); ``None``: the inputs.
    * ``target=``: the OUTPUT INDEX, as in captum (an int, a LongTensor or list of one index
      per example).  For backwards compatibility a bare ``target=`` that is an
      ``nn.Module`` still means the hooked module (``DeprecationWarning``: use ``layer=``).
      ``target=None`` means "not given" under both readings.
    * ``target_class=``: the old name of the output index (``DeprecationWarning``).

    Returns ``(layer, output_index)``.
    """
    if layer is not None and not isinstance(layer, nn.Module):
        raise TypeError(f"{owner}: layer= takes the hooked nn.Module, got {type(layer).__name__}; "
                        "the output index goes to target=")
    index = None
    if target is not _UNSET and target is not None:
        if isinstance(target, nn.Module):
            warnings.warn(f"{owner}(target=<module>) is deprecated: pass layer=<module>. "
                          "target= now means the output index, as in captum",
                          DeprecationWarning, stacklevel=stacklevel)
            if layer is not None:
                raise ValueError(f"{owner}: both layer= and target=<module> given")
            layer = target
        else:
            index = target
    if target_class is not _UNSET and target_class is not None:
        warnings.warn(f"{owner}(target_class=...) is deprecated: pass target= (the output index)",
                      DeprecationWarning, stacklevel=stacklevel)
        if index is not None:
            raise ValueError(f"{owner}: both target= (output index) and target_class= given")
        index = target_class
    if isinstance(index, list):
        index = torch.as_tensor(index, dtype=torch.long)
    if isinstance(index, tuple):
        raise TypeError(f"{owner}: target= must be an int, a LongTensor or a list with one index "
                        "per example; for other output shapes pass output_fn=")
    return layer, index


class Attribution:
    """Base class: one verb, ``compute(inputs, M, seed)``.

    Parameters shared by all methods:

    model
        any ``nn.Module`` (or callable); called as ``model(x)``, ``model(*tuple)`` or
        ``model(batch)`` for a ``torch_geometric`` ``Batch``.
    layer
        ``None``: attribute to the inputs (every floating-point tensor of a tuple,
        ``batch.x`` for graphs); an ``nn.Module``: attribute to that module's output
        (``target_io="output"``) or first input (``"input"``), e.g. ``model.embedding``.
        The layer's first dimension must be the batch (or node) dimension.  Second
        positional argument.
    target
        the output index, as in captum: an int, or a LongTensor / list with one index per
        example, for models returning ``(batch, K)``.  Backwards compatibility: an
        ``nn.Module`` given as ``target=`` is taken as ``layer=`` (``DeprecationWarning``),
        and ``target_class=`` is the old name of the output index (``DeprecationWarning``).
    output_fn
        ``model_output -> Tensor (batch,)`` the scalar per example; default
        :func:`default_output_fn` with ``target``.
    multiply_by_inputs, baseline
        each sample becomes ``(value - baseline) * grad`` (signed input x
        gradient, BayesGrad section 2.4).  ``baseline`` is a float or a tensor
        broadcastable to the layer/input shape; for input attributions also a callable
        ``x -> baseline`` or, for tuple inputs, a tuple with one of those per input.
    max_batch
        at most this many replicated examples per forward/backward pass.  When
        one copy of the input batch is already larger, the input batch itself is
        split.

    Tuple inputs: ``compute((x1, x2, n))`` attributes every floating-point tensor of the
    tuple (every tensor for the model-agnostic occlusion and Shapley sampling) and returns
    a tuple of the same length, ``None`` where an item is passed through unattributed
    (integers, non-tensors).  ``additional_forward_args=`` (captum's name) are appended to
    the model call and never attributed; tensors among them must be batch-first.
    """

    default_M = 1
    uses_dropout = False
    #: the method returns one sample whatever M is (M > 1 warns)
    ignores_M = False
    #: model-agnostic methods also attribute integer tensors of a tuple
    attributes_integer_inputs = False
    #: tuple inputs: the engine carries the unattributed items (split and replicated with
    #: the flat batch); False: the flat model tiles them itself
    engine_carries_pass = True

    def __init__(self, model: nn.Module, layer: Optional[nn.Module] = None, *,
                 target=_UNSET, target_class=_UNSET, target_io: str = "output",
                 output_fn: Optional[Callable] = None, multiply_by_inputs: bool = False,
                 baseline: Union[float, Tensor] = 0.0, max_batch: int = 2048):
        if max_batch < 1:
            raise ValueError("max_batch must be >= 1")
        layer, index = resolve_layer_and_target(layer, target, target_class, type(self).__name__)
        self.model = model
        self.layer = layer
        self.target_io = target_io
        self.output_fn = output_fn
        self.output_index = index
        self.multiply_by_inputs = multiply_by_inputs
        self.baseline = baseline
        self.max_batch = int(max_batch)
        self._example_baseline: Optional[Tensor] = None

    @property
    def target_class(self):
        """Old name of :attr:`output_index` (the output index, captum's ``target``)."""
        return self.output_index

    @target_class.setter
    def target_class(self, value):
        self.output_index = value

    # -- hooks for subclasses -------------------------------------------------
    def _flat_setup(self, method: "Attribution", items: list, attributed: list, n: int) -> None:
        """Tuple inputs: translate per-input options (windows, masks) to the flat batch."""
    def _mode(self):
        return mc_dropout(self.model) if self.uses_dropout else eval_mode(self.model)

    # -- engine ---------------------------------------------------------------
    def _score(self, output, start: int, stop: int, k: int) -> Tensor:
        if self.output_fn is not None:
            s = self.output_fn(output)
        else:
            s = default_output_fn(output, _tile_target_class(self.output_index, start, stop, k))
        n = (stop - start) * k
        if not isinstance(s, Tensor) or s.dim() != 1 or s.shape[0] != n:
            shape = tuple(s.shape) if isinstance(s, Tensor) else type(s)
            raise ValueError(f"output_fn must return one score per example, shape ({n},); "
                             f"got {shape}")
        return s

    def _example_index(self, piece, rows: int, device) -> tuple[Tensor, int]:
        if is_graph_batch(piece) and rows == int(piece.num_nodes) and rows != int(piece.num_graphs):
            return piece.batch.to(device), int(piece.num_graphs)
        return torch.arange(rows, device=device), rows

    def _pass(self, piece, start: int, stop: int, copies: Tensor, perturb: Optional[Perturb],
              need_grad: bool = True, rep=None):
        """One forward (and backward) pass over ``len(copies)`` replicas of ``piece``.

        ``rep`` is ``replicate(piece, len(copies))`` when the caller has it already.
        """
        k = int(copies.numel())
        if rep is None:
            rep = replicate(piece, k)
        b = stop - start

        def transform(value: Tensor) -> Tensor:
            if value.shape[0] % k:
                raise ValueError(f"target first dimension {value.shape[0]} is not a multiple "
                                 f"of the {k} replicated copies")
            rows = value.shape[0] // k
            if not is_graph_batch(piece) and rows != b:
                raise ValueError(
                    f"the target's first dimension ({rows} per copy) must be the batch "
                    f"dimension ({b}); hook a module with batch-first output")
            if perturb is None:
                return value
            ex, n_ex = self._example_index(piece, rows, value.device)
            chunk = Chunk(copies=copies.to(value.device), rows=rows, example_index=ex,
                          n_examples=n_ex, start=start, stop=stop)
            v = value.reshape(k, rows, *value.shape[1:])
            return perturb(v, chunk).reshape(value.shape)

        use_cudnn = not (_has_rnn(self.model) and inputs_device(piece).type == "cuda")
        # cuDNN's RNN kernels refuse backward in eval mode ("cudnn RNN backward can
        # only be called in training mode"); the native kernels compute the same
        # gradient, so cuDNN is switched off only for recurrent models on CUDA.
        grad_ctx = torch.enable_grad() if need_grad else torch.no_grad()
        with torch.backends.cudnn.flags(enabled=use_cudnn), grad_ctx:
            if self.layer is None:
                tap = _InputTap(transform, need_grad)
                rep = tap.apply(rep)
                out = _call_model(self.model, rep)
            else:
                with _TargetTap(self.layer, self.target_io, transform, need_grad) as tap:
                    out = _call_model(self.model, rep)
                if tap.leaf is None:
                    raise RuntimeError("the attribution target module was not called in the "
                                       "forward pass")
            score = self._score(out, start, stop, k)
            grad = None
            if need_grad:
                (grad,) = torch.autograd.grad(score.sum(), tap.leaf, allow_unused=True)
                if grad is None:  # the score does not depend on the target
                    grad = torch.zeros_like(tap.leaf)
        rows = tap.leaf.shape[0] // k
        if grad is not None:
            grad = grad.detach().reshape(k, rows, *tap.leaf.shape[1:])
        clean = tap.clean.reshape(k, rows, *tap.clean.shape[1:])
        return grad, clean, score.detach().reshape(k, b)

    def _run(self, inputs, n_copies: int, perturb: Optional[Perturb] = None,
             seed: Optional[int] = 0, need_grad: bool = True) -> GradientRun:
        """Gradients at the (perturbed) target for ``n_copies`` replicas, chunked.

        ``need_grad=False`` runs forward passes only (occlusion); ``grads`` is then
        ``None``.
        """
        if n_copies < 1:
            raise ValueError("M must be >= 1")
        device = inputs_device(inputs)
        grads, values, scores = [], [], []
        with self._mode(), _forked_rng(device, seed):
            for start, stop, piece in split_inputs(inputs, self.max_batch):
                per_pass = max(1, self.max_batch // max(1, stop - start))
                g_parts, v_parts, s_parts = [], [], []
                # every full chunk feeds the same replicated batch (the target is
                # swapped inside the pass, the inputs are never modified): build it once
                reps = {}
                for c0 in range(0, n_copies, per_pass):
                    copies = torch.arange(c0, min(n_copies, c0 + per_pass))
                    k = int(copies.numel())
                    if k not in reps:
                        reps[k] = replicate(piece, k)
                    g, v, s = self._pass(piece, start, stop, copies, perturb, need_grad,
                                         rep=reps[k])
                    g_parts.append(g)
                    # without dropout every copy sees the same clean target: keep one
                    if self.uses_dropout:
                        v_parts.append(v)
                    elif not v_parts:
                        v_parts.append(v[:1])
                    s_parts.append(s)
                grads.append(torch.cat(g_parts, 0) if need_grad else None)
                values.append(torch.cat(v_parts, 0))
                scores.append(torch.cat(s_parts, 0))
        values = torch.cat(values, 1)
        if not self.uses_dropout:
            values = values[:1].expand(n_copies, *values.shape[1:])
        return GradientRun(grads=torch.cat(grads, 1) if need_grad else None,
                           values=values,
                           scores=torch.cat(scores, 1))

    def _baseline_like(self, values: Tensor, chunk: Optional[Chunk] = None) -> Tensor:
        """The baseline, broadcastable to ``values`` (``(k, rows, ...)`` inside a pass).

        Tuple inputs carry one baseline row per example (``_example_baseline``, shape
        ``(batch, features)``); inside a pass ``chunk`` selects the rows of its piece.
        """
        eb = self._example_baseline
        if eb is not None:
            if chunk is not None:
                eb = eb[chunk.start:chunk.stop]
            return eb.to(device=values.device, dtype=values.dtype)
        b = self.baseline
        if isinstance(b, Tensor):
            return b.to(device=values.device, dtype=values.dtype)
        if callable(b):
            raise TypeError("a callable baseline is applied to the inputs; with layer= pass a "
                            "float or a tensor")
        return torch.as_tensor(float(b), device=values.device, dtype=values.dtype)

    def _finish(self, run: GradientRun) -> Tensor:
        if self.multiply_by_inputs:
            return (run.values - self._baseline_like(run.values)) * run.grads
        return run.grads

    # -- public ---------------------------------------------------------------
    def _check_dropout(self) -> None:
        """Warn when a dropout-sampling method meets a model without dropout (BayesGrad)."""

    def compute(self, inputs, M: Optional[int] = None, seed: Optional[int] = 0, *,
                additional_forward_args=None, **kwargs):
        """``M`` attribution samples, shape ``(M, *input_shape)``, detached.

        A tuple of inputs gives a tuple of sample tensors (``None`` for items passed
        through unattributed), see the class docstring.
        """
        if self.ignores_M and M is not None and int(M) > 1:
            warnings.warn(f"{type(self).__name__} is deterministic and returns one sample "
                          f"(1, ...): M={int(M)} is ignored", UserWarning, stacklevel=2)
        if self._needs_flat(inputs, additional_forward_args):
            return _compute_multi(self, inputs, M, seed, additional_forward_args, kwargs)
        return self._compute(inputs, M, seed, **kwargs)

    def _compute(self, inputs, M: Optional[int], seed: Optional[int], **kwargs):
        raise NotImplementedError

    def _needs_flat(self, inputs, additional_forward_args) -> bool:
        if self.layer is not None or is_graph_batch(inputs):
            if additional_forward_args is not None:
                raise ValueError("additional_forward_args= is for input attributions; with "
                                 "layer= or a graph batch put extra arguments in the inputs tuple")
            return False
        return isinstance(inputs, (tuple, list)) or additional_forward_args is not None or (
            callable(self.baseline) and not isinstance(self.baseline, Tensor)) or isinstance(
            self.baseline, (tuple, list))

    def attribute(self, inputs, M: Optional[int] = None, seed: Optional[int] = 0,
                  method: str = "raw", **kwargs):
        """``compute`` followed by ``aggregate`` without a channel sum (captum's verb)."""
        from .aggregate import aggregate
        return aggregate(self.compute(inputs, M=M, seed=seed, **kwargs), method=method,
                         channel_axis=None)


# ----------------------------------------------------------------------------
# feature masks (Shapley sampling, occlusion by groups)
# ----------------------------------------------------------------------------

def _mask_ids(feature_mask, feat_shape, n_examples: int, device) -> Tensor:
    feat = tuple(int(d) for d in feat_shape)
    fm = torch.as_tensor(feature_mask, device=device)
    if torch.is_floating_point(fm) or torch.is_complex(fm):
        raise TypeError("feature_mask must hold integer group ids")
    fm = fm.long()
    while fm.dim() > len(feat) + 1 and fm.shape[0] == 1:
        fm = fm[0]
    try:
        if fm.dim() <= len(feat):
            return fm.broadcast_to(feat).reshape(-1)
        if fm.dim() == len(feat) + 1 and fm.shape[0] in (1, n_examples):
            ids = fm.broadcast_to((fm.shape[0], *feat)).reshape(fm.shape[0], -1)
            return ids[0] if ids.shape[0] == 1 else ids
    except RuntimeError:
        pass
    raise ValueError(
        f"feature_mask of shape {tuple(fm.shape)} does not fit a batch of {n_examples} "
        f"examples of shape {feat}; accepted shapes: {feat} or broadcastable to it (one mask "
        f"for all examples), (1, *{feat}) (the same), or ({n_examples}, *{feat}) (one mask per "
        "example)")


def _check_ids(ids: Tensor) -> int:
    uniq = torch.unique(ids)
    if not torch.equal(uniq, torch.arange(len(uniq), device=ids.device)):
        raise ValueError("feature_mask must use the ids 0..G-1")
    return int(len(uniq))


def feature_groups(feature_mask, feat_shape, n_examples: int, device) -> tuple[Tensor, int]:
    """Normalise a feature mask to flat group ids: ``(features,)`` shared or ``(batch, features)``.

    Accepted shapes, with ``feat_shape`` the per-example shape and ``B`` the batch size:
    ``feat_shape`` itself or any shape broadcastable to it (one mask shared by all
    examples), ``(1, *feat_shape)`` (shared), or ``(B, *feat_shape)`` (one mask per
    example).  Ids are the integers ``0..G-1``, all used by the mask as a whole (an
    example may use fewer; an empty group gets zero).  Returns ``(ids, G)``.
    """
    ids = _mask_ids(feature_mask, feat_shape, n_examples, device)
    return ids, _check_ids(ids)


def flat_feature_mask(spec, items: list, attributed: list, n: int) -> Tensor:
    """Tuple inputs: one feature mask per input -> one mask over the flat features.

    Ids are shared across inputs (as in captum: the same id in two inputs is one group).
    ``spec`` is a tuple with one mask per input (or per attributed input).
    """
    if isinstance(spec, (tuple, list)):
        specs = list(spec)
        if len(specs) == len(items) and len(items) != len(attributed):
            specs = [specs[i] for i in attributed]
        if len(specs) != len(attributed):
            raise ValueError(f"{len(specs)} feature masks for {len(attributed)} attributed inputs")
    elif len(attributed) == 1:
        specs = [spec]
    else:
        raise ValueError("tuple inputs need a tuple of feature masks, one per input")
    parts = []
    for spec_i, i in zip(specs, attributed):
        if spec_i is None:
            raise ValueError(f"feature_mask for input {i} is None: give every input a mask")
        ids = _mask_ids(spec_i, items[i].shape[1:], n, items[i].device)
        parts.append(ids.expand(n, -1) if ids.dim() == 1 else ids)
    out = torch.cat(parts, 1)
    if all(p.shape[0] == 1 or bool((p == p[:1]).all()) for p in parts):
        out = out[0]
    _check_ids(out)
    return out


# ----------------------------------------------------------------------------
# tuple inputs: one flat batch of features, the model called through a wrapper
# ----------------------------------------------------------------------------

class _FlatModel(nn.Module):
    """Calls ``model(*items)`` from one flat ``(n, features)`` tensor of the attributed items.

    The attributed items of a tuple are flattened per example and concatenated; the
    others (integers, non-tensors, ``additional_forward_args``) are either carried by the
    engine after the flat tensor (``forward(flat, *carried)``) or, when nothing is
    carried, taken from the stored items and tiled over the replicated copies.
    """

    def __init__(self, model, n_items: int, attributed, shapes, dtypes, pass_idx, pass_values,
                 n_examples: int):
        super().__init__()
        if isinstance(model, nn.Module):
            self.inner = model
        else:
            object.__setattr__(self, "inner", model)
        self.n_items, self.attributed = n_items, list(attributed)
        self.shapes, self.dtypes = [tuple(s) for s in shapes], list(dtypes)
        self.sizes = [int(torch.Size(s).numel()) for s in self.shapes]
        self.pass_idx, self.pass_values = list(pass_idx), list(pass_values)
        self.n_examples = int(n_examples)

    def unflatten(self, flat: Tensor, lead: tuple) -> list:
        out, off = [], 0
        for shape, size in zip(self.shapes, self.sizes):
            out.append(flat[..., off:off + size].reshape(*lead, *shape))
            off += size
        return out

    def forward(self, flat, *carried):
        n = flat.shape[0]
        if not carried and self.pass_idx:
            k = n // self.n_examples
            carried = [torch.cat([v] * k, 0) if isinstance(v, Tensor) and k > 1 else v
                       for v in self.pass_values]
        args = [None] * self.n_items
        for i, part, dt in zip(self.attributed, self.unflatten(flat, (n,)), self.dtypes):
            args[i] = part if part.dtype == dt else part.to(dt)
        for i, v in zip(self.pass_idx, carried):
            args[i] = v
        return self.inner(*args)


def _per_input(spec, n: int, what: str) -> list:
    if isinstance(spec, (tuple, list)):
        if len(spec) != n:
            raise ValueError(f"{what} has {len(spec)} entries for {n} inputs")
        return list(spec)
    return [spec] * n


def _input_baseline(spec, x: Tensor, what: str = "baseline") -> Tensor:
    """One input's baseline as a ``(batch, *shape)`` tensor: scalar, tensor or callable."""
    if spec is None:
        spec = 0.0
    if callable(spec) and not isinstance(spec, Tensor):
        spec = spec(x)
    b = torch.as_tensor(spec, device=x.device)
    b = b.to(x.dtype if torch.is_floating_point(x) or not torch.is_floating_point(b)
             else b.dtype)
    try:
        return b.broadcast_to(x.shape)
    except RuntimeError:
        raise ValueError(f"{what} of shape {tuple(b.shape)} does not broadcast to the input of "
                         f"shape {tuple(x.shape)}; give a scalar, a tensor of the per-example "
                         f"shape {tuple(x.shape[1:])}, (1, ...) or one row per example "
                         f"({x.shape[0]}, ...), or a callable x -> baseline") from None


def _compute_multi(method: "Attribution", inputs, M, seed, additional_forward_args, kwargs):
    single = not isinstance(inputs, (tuple, list))
    items = [inputs] if single else list(inputs)
    extras = [] if additional_forward_args is None else (
        list(additional_forward_args) if isinstance(additional_forward_args, (tuple, list))
        else [additional_forward_args])
    all_items = items + extras

    def attributable(v):
        if not isinstance(v, Tensor) or v.dim() == 0:
            return False
        return torch.is_floating_point(v) or (method.attributes_integer_inputs
                                              and not torch.is_complex(v))
    attributed = [i for i, v in enumerate(items) if attributable(v)]
    if not attributed:
        raise TypeError(f"{type(method).__name__}: none of the inputs can be attributed "
                        "(gradients need floating-point tensors; for token ids or atom types "
                        "pass layer=model.embedding)")
    xs = [items[i] for i in attributed]
    B = int(xs[0].shape[0])
    for i, x in zip(attributed, xs):
        if x.shape[0] != B:
            raise ValueError(f"input {i} has {x.shape[0]} examples, input {attributed[0]} has {B}")
    dtype = xs[0].dtype
    for x in xs[1:]:
        dtype = torch.promote_types(dtype, x.dtype)
    flat = torch.cat([x.reshape(B, -1).to(dtype) for x in xs], 1)
    pass_idx = [i for i in range(len(all_items)) if i not in attributed]
    pass_values = [all_items[i] for i in pass_idx]
    wrapper = _FlatModel(method.model, len(all_items), attributed, [x.shape[1:] for x in xs],
                         [x.dtype for x in xs], pass_idx, pass_values, B)

    clone = copy.copy(method)
    clone.model = wrapper
    bspec = _per_input(method.baseline, len(items), "baseline")
    if isinstance(method.baseline, Tensor) and len(attributed) > 1:
        raise ValueError("one baseline tensor for several inputs is ambiguous: pass a tuple "
                         "with one baseline (scalar, tensor or callable) per input")
    clone._example_baseline = torch.cat(
        [_input_baseline(bspec[i], items[i]).reshape(B, -1).to(dtype) for i in attributed], 1)
    clone._flat_setup(method, items, attributed, B)
    engine_inputs = flat if (not pass_idx or not clone.engine_carries_pass) \
        else (flat, *pass_values)
    out = clone._compute(engine_inputs, M, seed, **kwargs)
    for name in ("last_result", "last_scores", "last_drops", "last_group_values",
                 "last_row_drops"):
        if name in clone.__dict__:
            setattr(method, name, clone.__dict__[name])
    if isinstance(out, tuple):
        samples, result = out
    else:
        samples, result = out, None

    def split(t: Tensor):
        parts = wrapper.unflatten(t, tuple(t.shape[:-1]))
        res = [None] * len(items)
        for i, part in zip(attributed, parts):
            res[i] = part
        return res[0] if single else tuple(res)

    samples = split(samples)
    if result is not None:
        result.attributions = split(result.attributions)
        if result.interior_grads is not None:
            result.interior_grads = split(result.interior_grads)
        method.last_result = result
        return samples, result
    return samples


class _InputTap:
    """Target ``None``: the first input tensor (``batch.x``) becomes the leaf."""

    def __init__(self, transform, need_grad: bool = True):
        self.transform, self.need_grad = transform, need_grad
        self.clean = self.leaf = None

    def apply(self, rep):
        if is_graph_batch(rep):
            value = rep.x
        elif isinstance(rep, Tensor):
            value = rep
        else:
            _, value = _first_tensor(rep)
        if self.need_grad and not torch.is_floating_point(value):
            raise TypeError("cannot differentiate w.r.t. an integer input (token ids, atom "
                            "types); pass layer=model.embedding (the module whose output "
                            "is attributed)")
        self.clean = value.detach()
        self.leaf = self.transform(self.clean).detach()
        if self.need_grad:
            self.leaf.requires_grad_(True)
        fed = self.leaf.clone()
        if is_graph_batch(rep):
            rep = copy.copy(rep)
            rep.x = fed
            return rep
        if isinstance(rep, Tensor):
            return fed
        items = list(rep)
        i, _ = _first_tensor(items)
        items[i] = fed
        return tuple(items)
