"""Writing and reading the project's torch files safely.

Checkpoints and featurized caches hold tensors and plain Python data only, and are read with
``torch.load(weights_only=True)``: a file that would need arbitrary unpickling (a checkpoint or
cache received from someone else, or found in a shared results folder, that could run code when
read) is refused with an error naming the file. Writes go to a temporary name in the same folder
and are renamed only when complete, so a killed job never leaves a half-written file behind.
"""
from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path

import torch

__all__ = ["CorruptFileError", "OutputPathError", "UnsafeFileError", "atomic_torch_save", "atomic_write",
           "new_file_mode", "output_folder", "safe_torch_load"]


class UnsafeFileError(ValueError):
    """A torch file holds something other than tensors and plain data."""


class CorruptFileError(ValueError):
    """A torch file cannot be read (truncated, not a torch file); the message names it and its rule."""


class OutputPathError(OSError):
    """An output cannot be written where it is asked for; the message names the path."""


def output_folder(path) -> Path:
    """Create the folder of output ``path`` and check it can be written; raise
    :class:`OutputPathError` naming the path otherwise. Returns the folder."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputPathError(f"cannot write {path}: its folder {path.parent} cannot be created "
                              f"({err.strerror or err})") from None
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise OutputPathError(f"cannot write {path}: its folder {path.parent} is not writable")
    return path.parent


def new_file_mode() -> int:
    """The mode a plain ``open(path, "w")`` gives a new file: 0o666 less the process's umask."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(path, write) -> None:
    """``write(tmp)`` to a temporary file in the target's folder, then rename it to ``path`` (an existing
    file at ``path`` stays as it was if anything fails). The result gets the mode a plain write would
    give it (umask applied): temporary files are created owner-only, which would leave the models in a
    cluster's shared results folder unreadable to the group."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=output_folder(path), prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, new_file_mode())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_torch_save(obj, path) -> None:
    """``torch.save`` through :func:`atomic_write`."""
    atomic_write(path, lambda tmp: torch.save(obj, tmp))


def safe_torch_load(path, what: str = "file", regenerate: str = "rerun the rule that wrote it"):
    """``torch.load(path, weights_only=True)``; anything else is refused, naming the file.

    ``what`` says what the file is (a checkpoint, a featurized cache) and ``regenerate`` how to make
    a clean one, both for the error message.
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except (RuntimeError, EOFError, OSError) as err:
        if isinstance(err, pickle.UnpicklingError):
            raise
        raise CorruptFileError(
            f"{path}: this {what} cannot be read ({str(err).splitlines()[0]}); it is truncated or not a torch "
            f"file (a job killed while copying it, a full disk): delete it and {regenerate}") from None
    except pickle.UnpicklingError as err:
        raise UnsafeFileError(
            f"{path}: refused to load this {what}: it holds objects other than tensors and plain data, and "
            f"reading it could run code ({str(err).splitlines()[0]}). If it was written by an older version "
            f"of xairepro, {regenerate}; never load such files from a source you do not trust.") from None
