"""Words shaded by a score, as HTML (the word-attribution tables and the mask figure of the text
experiment)."""
from __future__ import annotations

import html
from typing import Sequence

POSITIVE, NEGATIVE = "0,160,0", "220,0,0"


def shaded_words_html(words: Sequence[str], values: Sequence[float], scale_to: float | None = None,
                      signed: bool = True, color: str = POSITIVE) -> str:
    """``<span>``s whose background opacity is |value| / ``scale_to`` (default: the largest |value|).
    Signed: ``color`` for values >= 0, red for negative ones; unsigned: ``color`` for all. Each word is
    HTML-escaped and carries its value as a tooltip."""
    if len(words) != len(values):
        raise ValueError(f"{len(words)} words but {len(values)} values")
    top = scale_to or max([1e-12] + [abs(float(v)) for v in values])
    spans = []
    for w, v in zip(words, values):
        alpha = min(1.0, abs(float(v)) / top)
        rgb = color if (v >= 0 or not signed) else NEGATIVE
        spans.append(f'<span style="background:rgba({rgb},{alpha:.2f});padding:1px" title="{float(v):.4f}">'
                     f"{html.escape(str(w))}</span>")
    return " ".join(spans)
