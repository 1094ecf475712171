"""The one forward-hook implementation of the project.

:func:`replace_layer` rewrites what a module passes on, its output (``io="output"``) or its
first tensor input (``io="input"``), with ``fn(value)``. The attribution methods use it to swap
a layer's output for a leaf tensor they differentiate (and to place noise or a path point there),
the explanation masks to multiply a mask in, and the faithfulness units to remove atoms.
"""
from __future__ import annotations

import contextlib
from typing import Callable, Iterator

from torch import Tensor, nn

from .batching import first_tensor

__all__ = ["LAYER_IO", "replace_layer"]

LAYER_IO = ("output", "input")


@contextlib.contextmanager
def replace_layer(module: nn.Module, fn: Callable[[Tensor], Tensor], io: str = "output") -> Iterator[None]:
    """Within the block, ``module`` passes on ``fn(value)`` instead of its output (or its first
    tensor input); the hook is removed on exit, also after an error."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"layer= takes an nn.Module, got {type(module).__name__}")
    if io == "output":
        def hook(mod, args, output):
            if not isinstance(output, Tensor):
                raise TypeError(f"the hooked layer {type(mod).__name__} returns {type(output).__name__}, "
                                "not a Tensor; hook a module with a tensor output")
            return fn(output)
        handle = module.register_forward_hook(hook)
    elif io == "input":
        def pre_hook(mod, args):
            args = list(args)
            i, v = first_tensor(args)
            args[i] = fn(v)
            return tuple(args)
        handle = module.register_forward_pre_hook(pre_hook)
    else:
        raise ValueError(f"layer_io must be one of {LAYER_IO}, got {io!r}")
    try:
        yield
    finally:
        handle.remove()
