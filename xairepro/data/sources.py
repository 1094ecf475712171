"""Registry of every raw data file the workflow downloads.

Each :class:`Source` names the canonical URL with the checksum its publisher (or a widely used
loader such as torchvision, torchtext or TorchDrug) gives for it, and the relative path of the
offline copy inside a mirror folder laid out like ``shared/data`` (see ``SOURCES.md`` there).
Mirror copies are verified against the mirror's own ``SHA256SUMS`` instead, because several of
them are re-packed (``tox21.csv`` is not gzipped, CIFAR-10 is JPEG in class folders, IMDB lacks
``train/unsup``) and so cannot match the canonical checksum.

Iris is not here: scikit-learn ships it, so it needs no download (see ``loaders.load_iris``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath


@dataclass(frozen=True)
class Source:
    """One raw file: where it is published, how to verify it, where its offline copy lives."""

    key: str
    url: str
    known_hash: str  # "md5:<hex>" or "sha256:<hex>", the format pooch.retrieve expects
    filename: str  # canonical file name, as served at ``url``
    mirror_relpath: str  # POSIX path of the offline copy, relative to the mirror folder
    description: str
    optional: bool = False  # large and needed only by some experiments

    @property
    def mirror_filename(self) -> str:
        return PurePosixPath(self.mirror_relpath).name


_DEEPCHEM_BUCKET = "https://deepchemdata.s3-us-west-1.amazonaws.com/datasets"

SOURCES: dict[str, Source] = {
    s.key: s
    for s in (
        Source(
            key="esol",
            url=f"{_DEEPCHEM_BUCKET}/delaney-processed.csv",
            known_hash="md5:0c90a51668d446b9e3ab77e67662bd1c",
            filename="delaney-processed.csv",
            mirror_relpath="esol/delaney-processed.csv",
            description="ESOL (Delaney) aqueous solubility, MoleculeNet, 1,128 molecules",
        ),
        Source(
            key="tox21",
            url=f"{_DEEPCHEM_BUCKET}/tox21.csv.gz",
            known_hash="md5:2882d69e70bba0fec14995f26787cc25",
            filename="tox21.csv.gz",
            mirror_relpath="tox21/tox21.csv",
            description="Tox21, MoleculeNet, 7,831 molecules x 12 sparse binary tasks",
        ),
        Source(
            key="cifar10",
            url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
            known_hash="md5:c58f30108f718f92721af3b95e74349a",
            filename="cifar-10-python.tar.gz",
            mirror_relpath="cifar10/cifar10-jpeg.tar.gz",
            description="CIFAR-10, python pickled batches (mirror: lossy JPEG class folders)",
        ),
        Source(
            key="imdb",
            url="http://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
            known_hash="md5:7c2ac02c03563afcf9b574c7e56c153a",
            filename="aclImdb_v1.tar.gz",
            mirror_relpath="imdb/aclImdb_v1_labeled.tar.gz",
            description="IMDB movie reviews, aclImdb v1 (mirror: labelled reviews only)",
        ),
        Source(
            key="hemolytic",
            # Pinned to a commit rather than ``main`` so the URL keeps serving these bytes
            # even if the book's data folder changes.
            url=(
                "https://github.com/whitead/dmol-book/raw/"
                "34ff3fcfdc426b00f1e0f7851b8f9a6075c50b67/data/hemolytic.npz"
            ),
            known_hash="sha256:a8faa589934588527a0bfd3c2215791998aca0dc230e98f2696bbb5c2d3386e6",
            filename="hemolytic.npz",
            mirror_relpath="hemolytic/hemolytic.npz",
            description="Hemolytic peptides from the dmol-book XAI chapter, one-hot (N, 200, 20)",
        ),
        Source(
            key="glove",
            url="http://nlp.stanford.edu/data/glove.6B.zip",
            known_hash="md5:056ea991adb4740ac6bf1b6d9b50408b",
            filename="glove.6B.zip",
            mirror_relpath="glove/glove.6B.100d.sample.txt.gz",
            description="GloVe 6B word vectors, 862 MB (mirror: 100 most frequent words, 100-d)",
            optional=True,
        ),
    )
}


def get_source(key: str) -> Source:
    """The registry entry for ``key``; the error lists the known keys."""
    try:
        return SOURCES[key]
    except KeyError:
        raise KeyError(f"unknown data source {key!r}; known: {', '.join(sorted(SOURCES))}") from None


def raw_path(key: str, data_dir: str | os.PathLike, mirror: bool) -> Path:
    """Where the raw file for ``key`` lands: ``<data_dir>/raw/<key>/<filename>``.

    The file name is the canonical one for a download and the mirror copy's own name for a
    mirror, so a re-packed mirror copy (``tox21.csv``) is never mistaken for the canonical
    file (``tox21.csv.gz``), and loaders can tell the format from the name.
    """
    source = get_source(key)
    filename = source.mirror_filename if mirror else source.filename
    return Path(data_dir) / "raw" / key / filename
