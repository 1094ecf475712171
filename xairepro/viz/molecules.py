"""Atom-level attribution maps drawn with RDKit: positive red, negative blue (as in the papers)."""
from __future__ import annotations

import io
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image
from rdkit import Chem
from rdkit.Chem.Draw import rdMolDraw2D


def signed_colors(scores: Sequence[float], scale: float | None = None) -> dict[int, tuple]:
    """Atom index -> RGB: white at 0, red for positive, blue for negative, saturating at ``scale``
    (default: the largest absolute score of the molecule)."""
    s = np.asarray(scores, dtype=float)
    scale = scale if scale is not None else float(np.max(np.abs(s)) or 1.0)
    colors = {}
    for i, v in enumerate(s):
        a = float(np.clip(abs(v) / scale, 0, 1))
        colors[i] = (1.0, 1.0 - a, 1.0 - a) if v >= 0 else (1.0 - a, 1.0 - a, 1.0)
    return colors


def draw_atom_map(smiles: str, scores: Sequence[float], size: tuple[int, int] = (320, 260),
                  scale: float | None = None, legend: str = "") -> Image.Image:
    """One molecule with every atom highlighted by its signed score."""
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ValueError(f"RDKit cannot parse SMILES {smiles!r}")
    if mol.GetNumAtoms() != len(scores):
        raise ValueError(f"{smiles!r} has {mol.GetNumAtoms()} atoms but {len(scores)} scores were given")
    colors = signed_colors(scores, scale)
    drawer = rdMolDraw2D.MolDraw2DCairo(*size)
    opts = drawer.drawOptions()
    opts.legendFontSize = 14
    rdMolDraw2D.PrepareAndDrawMolecule(
        drawer, mol, legend=legend, highlightAtoms=list(colors), highlightAtomColors=colors,
        highlightBonds=[], highlightAtomRadii={i: 0.45 for i in colors})
    drawer.FinishDrawing()
    return Image.open(io.BytesIO(drawer.GetDrawingText())).convert("RGB")


def draw_map_grid(records: Sequence[dict], n_cols: int = 3, title: str | None = None,
                  shared_scale: bool = False) -> plt.Figure:
    """A grid of atom maps. Each record: ``smiles``, ``scores`` and optional ``label``.

    With ``shared_scale`` every molecule uses the same colour scale, so intensities compare
    across molecules; otherwise each is scaled to its own largest |score|.
    """
    scale = max(float(np.max(np.abs(r["scores"]))) for r in records) if shared_scale else None
    n_rows = int(np.ceil(len(records) / n_cols))
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(3.4 * n_cols, 3.0 * n_rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, rec in zip(axes.flat, records):
        ax.imshow(draw_atom_map(rec["smiles"], rec["scores"], scale=scale))
        ax.set_title(rec.get("label", rec["smiles"]), fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
