"""Progress of long loops (training epochs and batches, attribution chunks) with rate and time left.

On a terminal this is a tqdm bar. Off a terminal (a Snakemake job writing to its log file, a SLURM
job) a bar would write one line per refresh and flood the log, so :func:`progress` then logs one
line at most every ``XAIREPRO_PROGRESS_SECONDS`` seconds (default 60), plus the last step:
``"train epochs: 12/100 (12%) 3.4 it/s, elapsed 0:00:04, left ~0:00:26"``.
``XAIREPRO_PROGRESS=bar`` forces the bar, ``XAIREPRO_PROGRESS=log`` the log lines and
``XAIREPRO_PROGRESS=off`` silences both.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from datetime import timedelta
from typing import Iterable, Iterator, TypeVar

__all__ = ["progress", "progress_mode"]

T = TypeVar("T")
log = logging.getLogger("xairepro.progress")


def progress_mode() -> str:
    """``bar``, ``log`` or ``off``: the environment's choice, else a bar only on a terminal."""
    mode = os.environ.get("XAIREPRO_PROGRESS", "").strip().lower()
    if mode in {"bar", "log", "off"}:
        return mode
    if mode:
        raise ValueError(f"environment variable XAIREPRO_PROGRESS={mode!r}: use bar, log or off")
    return "bar" if sys.stderr.isatty() else "log"


def _clock(seconds: float) -> str:
    return str(timedelta(seconds=int(round(seconds))))


class _LogProgress:
    """Iterates like the wrapped iterable; logs a throttled status line with rate and time left."""

    def __init__(self, iterable: Iterable[T], desc: str, total: int | None, unit: str, every: float,
                 leave: bool = True):
        self.iterable, self.desc, self.unit, self.every, self.leave = iterable, desc, unit, every, leave
        if total is None:
            try:
                total = len(iterable)  # type: ignore[arg-type]
            except TypeError:
                total = None
        self.total = total

    def status(self, done: int, elapsed: float) -> str:
        rate = done / elapsed if elapsed > 0 else float("inf")
        text = f"{self.desc}: {done}"
        if self.total:
            text += f"/{self.total} ({100 * done / self.total:.0f}%)"
        text += f" {rate:.3g} {self.unit}/s, elapsed {_clock(elapsed)}"
        if self.total and 0 < rate < float("inf"):
            text += f", left ~{_clock((self.total - done) / rate)}"
        return text

    def __iter__(self) -> Iterator[T]:
        start = last = time.monotonic()
        done = 0
        for item in self.iterable:
            yield item
            done += 1
            now = time.monotonic()
            if now - last >= self.every or (self.leave and self.total is not None and done == self.total):
                log.info("%s", self.status(done, now - start))
                last = now

    def __len__(self) -> int:
        if self.total is None:
            raise TypeError("progress over an iterable of unknown length")
        return self.total


def progress(iterable: Iterable[T], desc: str, *, total: int | None = None, unit: str = "it",
             leave: bool = True) -> Iterable[T]:
    """``iterable`` with progress reporting (see the module docstring); ``leave=False`` for inner
    loops whose bar should vanish when done. Off a terminal, inner loops log only when a pass
    takes longer than the throttle period."""
    mode = progress_mode()
    if mode == "off":
        return iterable
    if mode == "bar":
        from tqdm.auto import tqdm

        return tqdm(iterable, desc=desc, total=total, unit=unit, leave=leave, dynamic_ncols=True)
    every = float(os.environ.get("XAIREPRO_PROGRESS_SECONDS", "60"))
    return _LogProgress(iterable, desc, total, unit, every, leave)
