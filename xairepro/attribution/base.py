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

    ``(B,)`` or ``(B, 1)``: that value.  ``(B, K)``: column ``target_class``
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
        raise ValueError(f"model returns {output.shape[1]} outputs per example; pass "
                         "target_class= (int or LongTensor of shape (batch,)) or output_fn=")
    if isinstance(target_class, Tensor) and target_class.dim() > 0:
        idx = target_class.to(output.device).long().view(-1, 1)
        if idx.shape[0] != output.shape[0]:
            raise ValueError("target_class has the wrong length for this batch")
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

class Attribution:
    """Base class: one verb, ``compute(inputs, M, seed)``.

    Parameters shared by all methods:

    model
        any ``nn.Module``; called as ``model(x)``, ``model(*tuple)`` or
        ``model(batch)`` for a ``torch_geometric`` ``Batch``.
    target
        ``None``: attribute to the first input tensor (``batch.x`` for graphs);
        an ``nn.Module``: attribute to that module's output (``target_io=
        "output"``) or first input (``"input"``), e.g. ``model.embedding``.
        The target's first dimension must be the batch (or node) dimension.
    output_fn
        ``model_output -> Tensor (batch,)`` the scalar per example; default
        :func:`default_output_fn` with ``target_class``.
    multiply_by_inputs, baseline
        each sample becomes ``(target_value - baseline) * grad`` (signed input x
        gradient, BayesGrad section 2.4).  ``baseline`` is a float or a tensor
        broadcastable to the target shape.
    max_batch
        at most this many replicated examples per forward/backward pass.  When
        one copy of the input batch is already larger, the input batch itself is
        split.
    """

    default_M = 1
    uses_dropout = False

    def __init__(self, model: nn.Module, target: Optional[nn.Module] = None, *,
                 target_io: str = "output", output_fn: Optional[Callable] = None,
                 target_class=None, multiply_by_inputs: bool = False,
                 baseline: Union[float, Tensor] = 0.0, max_batch: int = 2048):
        if max_batch < 1:
            raise ValueError("max_batch must be >= 1")
        self.model = model
        self.target = target
        self.target_io = target_io
        self.output_fn = output_fn
        self.target_class = target_class
        self.multiply_by_inputs = multiply_by_inputs
        self.baseline = baseline
        self.max_batch = int(max_batch)

    # -- hooks for subclasses -------------------------------------------------
    def _mode(self):
        return mc_dropout(self.model) if self.uses_dropout else eval_mode(self.model)

    # -- engine ---------------------------------------------------------------
    def _score(self, output, start: int, stop: int, k: int) -> Tensor:
        if self.output_fn is not None:
            s = self.output_fn(output)
        else:
            s = default_output_fn(output, _tile_target_class(self.target_class, start, stop, k))
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
                          n_examples=n_ex)
            v = value.reshape(k, rows, *value.shape[1:])
            return perturb(v, chunk).reshape(value.shape)

        use_cudnn = not (_has_rnn(self.model) and inputs_device(piece).type == "cuda")
        # cuDNN's RNN kernels refuse backward in eval mode ("cudnn RNN backward can
        # only be called in training mode"); the native kernels compute the same
        # gradient, so cuDNN is switched off only for recurrent models on CUDA.
        grad_ctx = torch.enable_grad() if need_grad else torch.no_grad()
        with torch.backends.cudnn.flags(enabled=use_cudnn), grad_ctx:
            if self.target is None:
                tap = _InputTap(transform, need_grad)
                rep = tap.apply(rep)
                out = _call_model(self.model, rep)
            else:
                with _TargetTap(self.target, self.target_io, transform, need_grad) as tap:
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

    def _baseline_like(self, values: Tensor) -> Tensor:
        b = self.baseline
        if isinstance(b, Tensor):
            return b.to(device=values.device, dtype=values.dtype)
        return torch.as_tensor(float(b), device=values.device, dtype=values.dtype)

    def _finish(self, run: GradientRun) -> Tensor:
        if self.multiply_by_inputs:
            return (run.values - self._baseline_like(run.values)) * run.grads
        return run.grads

    # -- public ---------------------------------------------------------------
    def _check_dropout(self) -> None:
        """Warn when a dropout-sampling method meets a model without dropout (BayesGrad)."""

    def compute(self, inputs, M: Optional[int] = None, seed: Optional[int] = 0) -> Tensor:
        """``M`` attribution samples, shape ``(M, *target_shape)``, detached."""
        raise NotImplementedError

    def attribute(self, inputs, M: Optional[int] = None, seed: Optional[int] = 0,
                  method: str = "raw") -> Tensor:
        """``compute`` followed by ``aggregate`` without a channel sum (captum's verb)."""
        from .aggregate import aggregate
        return aggregate(self.compute(inputs, M=M, seed=seed), method=method, channel_axis=None)


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
                            "types); pass target=model.embedding")
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
