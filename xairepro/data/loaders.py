"""Read the raw data files into arrays and data frames.

Pure functions: no downloads, no caches, no writes. Each reads both the canonical format and the
offline copy's format where they differ (``tox21.csv.gz`` or ``tox21.csv``; CIFAR-10 pickled
batches or JPEG class folders; aclImdb with or without ``train/unsup``), straight from the
archive, so nothing is ever extracted beside a read-only source. Bad input raises
:class:`DataFormatError` naming the file.
"""
from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import pickle
import re
import tarfile
import zipfile
import zlib
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd

ESOL_TARGET = "measured log solubility in mols per litre"
#: The twelve Tox21 tasks in the column order of MoleculeNet's ``tox21.csv.gz``.
TOX21_TASKS = (
    "NR-AR", "NR-AR-LBD", "NR-AhR", "NR-Aromatase", "NR-ER", "NR-ER-LBD", "NR-PPAR-gamma",
    "SR-ARE", "SR-ATAD5", "SR-HSE", "SR-MMP", "SR-p53",
)
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
#: Channel k of the hemolytic one-hot arrays is this letter (dmol-book's ALPHABET[1:]).
HEMOLYTIC_ALPHABET = "ARNDCQEGHILKMFPSTWYV"
SPLITS = ("train", "test")


class DataFormatError(ValueError):
    """A data file is not in the expected format; the message names the file."""


class EmptyDatasetError(DataFormatError):
    """Nothing is left of a data file after filtering (unparsable rows, missing labels); the
    message names the file and what removed the rows."""


def _require_file(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"data file not found: {path}")
    return path


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")


# --------------------------------------------------------------------------- MoleculeNet CSV

def load_moleculenet_csv(
    path: str | os.PathLike,
    smiles_col: str = "smiles",
    id_col: str | None = None,
    tasks: list[str] | tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """Read a MoleculeNet CSV (``.csv`` or ``.csv.gz``) such as ESOL or Tox21.

    Only empty cells count as missing (pandas would also read "NA" or "null" as missing, which
    could silently drop a string), and missing labels stay NaN: in Tox21 a missing label is
    "not measured", not "negative". Whitespace around SMILES is stripped (212 ESOL SMILES end
    with a space). With ``tasks`` the frame holds ``id_col`` (if given), ``smiles_col`` and the
    tasks as float columns, in that order; without, every column is kept.
    """
    path = _require_file(path)
    try:
        frame = pd.read_csv(path, dtype={smiles_col: str}, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError,
            EOFError, zlib.error) as err:
        raise DataFormatError(f"{path}: not a readable CSV ({err})") from err
    wanted = [c for c in (id_col, smiles_col) if c is not None] + list(tasks or [])
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise DataFormatError(f"{path}: missing column(s) {missing}; columns are {list(frame.columns)}")
    if frame[smiles_col].isna().any():
        rows = frame.index[frame[smiles_col].isna()].tolist()
        raise DataFormatError(f"{path}: empty SMILES in data row(s) {rows[:10]}")
    frame[smiles_col] = frame[smiles_col].str.strip()
    if id_col is not None and frame[id_col].duplicated().any():
        dups = frame.loc[frame[id_col].duplicated(), id_col].tolist()
        raise DataFormatError(f"{path}: duplicate {id_col} values {dups[:10]}")
    if tasks is None:
        return frame
    frame = frame[wanted].copy()
    for task in tasks:
        try:
            frame[task] = pd.to_numeric(frame[task], errors="raise").astype(float)
        except (ValueError, TypeError) as err:
            raise DataFormatError(f"{path}: task column {task!r} is not numeric ({err})") from err
    return frame


# --------------------------------------------------------------------------- archive reading

def _iter_files(path: Path, wanted: Callable[[str], bool]) -> Iterator[tuple[str, bytes]]:
    """Yield ``(name, content)`` for files under ``path`` whose POSIX name (relative to the
    directory, or as stored in the tarball, without a leading "./") passes ``wanted``.

    Tarballs are read as one forward stream: compressed tarballs cannot seek backwards cheaply,
    and a single pass over CIFAR-10 or aclImdb takes about a second.
    """
    if path.is_dir():
        for file in sorted(path.rglob("*")):
            name = file.relative_to(path).as_posix()
            if file.is_file() and wanted(name):
                yield name, file.read_bytes()
        return
    try:
        with _decompressed(path) as stream:
            with tarfile.open(fileobj=stream, mode="r|") as archive:
                for member in archive:
                    name = member.name.removeprefix("./")
                    if member.isfile() and wanted(name):
                        yield name, archive.extractfile(member).read()
            # Read the compressed stream to its end: a truncated archive fails its end-of-stream
            # and checksum check here instead of yielding a silently shortened dataset.
            while stream.read(1 << 20):
                pass
    except (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError) as err:
        raise DataFormatError(f"{path}: not a readable directory or complete tar archive ({err})") from err


def _decompressed(path: Path):
    """The file, decompressed on the fly when it starts with a gzip, bzip2 or xz signature."""
    with open(path, "rb") as f:
        magic = f.read(6)
    if magic[:2] == b"\x1f\x8b":
        return gzip.open(path, "rb")
    if magic[:3] == b"BZh":
        return bz2.open(path, "rb")
    if magic == b"\xfd7zXZ\x00":
        return lzma.open(path, "rb")
    return open(path, "rb")


# --------------------------------------------------------------------------- CIFAR-10

_CIFAR_BATCHES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
_CIFAR_IMAGE = re.compile(r"(?:^|/)(train|test)/([^/]+)/([^/]+\.(?:jpe?g|png))$", re.IGNORECASE)


def load_cifar10(
    path: str | os.PathLike,
    split: str = "train",
    limit_per_class: int | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Load one CIFAR-10 split as ``(images uint8 (N, 32, 32, 3), labels int64 (N,), class_names)``.

    ``path`` is the canonical ``cifar-10-python.tar.gz`` (pickled batches) or an extracted
    ``cifar-10-batches-py`` folder, or the image-folder layout ``train|test/<class>/*.jpg|png``
    as a tarball (the offline ``cifar10-jpeg.tar.gz``) or a folder. Labels index the standard
    class order (airplane ... truck). Pickled batches keep their order; image files are ordered
    by class, then by file name. ``limit_per_class`` keeps the first n images of each class, for
    quick runs.
    """
    _check_split(split)
    path = _require_file(path)
    batch_names = set(_CIFAR_BATCHES[split]) | {"batches.meta"}

    def wanted(name: str) -> bool:
        if name.rpartition("/")[2] in batch_names:
            return True
        match = _CIFAR_IMAGE.search(name)
        return bool(match) and match.group(1) == split

    batches: dict[str, bytes] = {}
    images: list[tuple[int, str, bytes]] = []
    for name, content in _iter_files(path, wanted):
        basename = name.rpartition("/")[2]
        if basename in batch_names:
            batches[basename] = content
            continue
        _, class_name, _ = _CIFAR_IMAGE.search(name).groups()
        if class_name not in CIFAR10_CLASSES:
            raise DataFormatError(f"{path}: {name} is in an unknown class folder {class_name!r}")
        images.append((CIFAR10_CLASSES.index(class_name), name, content))

    if batches:
        x, y = _cifar_from_batches(path, split, batches)
        if limit_per_class is not None:
            keep = _first_per_class(y, limit_per_class)
            x, y = x[keep], y[keep]
    elif images:
        images.sort(key=lambda item: item[:2])
        if limit_per_class is not None:
            # Select before decoding: decoding all 50,000 JPEGs is what makes a full load slow.
            keep = _first_per_class(np.array([label for label, _, _ in images]), limit_per_class)
            images = [images[i] for i in keep]
        x, y = _cifar_from_images(path, images)
    else:
        raise DataFormatError(
            f"{path}: no CIFAR-10 {split} data found (expected pickled batches "
            f"{_CIFAR_BATCHES[split]} or image folders {split}/<class>/*.jpg|png)"
        )
    return x, y, list(CIFAR10_CLASSES)


def _first_per_class(labels: np.ndarray, n: int) -> np.ndarray:
    """Indices of the first ``n`` items of each class, in their original order."""
    rank_in_class = pd.Series(labels).groupby(labels).cumcount().to_numpy()
    return np.flatnonzero(rank_in_class < n)


def _unpickle(path: Path, name: str, content: bytes) -> dict:
    try:
        # The batches were pickled by Python 2; "bytes" keeps their str keys as b"data" etc.
        return pickle.loads(content, encoding="bytes")
    except Exception as err:  # unpickling can raise nearly anything on corrupt input
        raise DataFormatError(f"{path}: {name} is not a readable pickled batch ({err})") from err


def _cifar_from_batches(path: Path, split: str, batches: dict[str, bytes]) -> tuple[np.ndarray, np.ndarray]:
    needed = _CIFAR_BATCHES[split] + ["batches.meta"]
    missing = [n for n in needed if n not in batches]
    if missing:
        raise DataFormatError(f"{path}: CIFAR-10 batch file(s) {missing} not found")
    meta = _unpickle(path, "batches.meta", batches["batches.meta"])
    names = [n.decode() if isinstance(n, bytes) else n for n in meta.get(b"label_names", [])]
    if tuple(names) != CIFAR10_CLASSES:
        raise DataFormatError(f"{path}: batches.meta label_names {names} differ from {list(CIFAR10_CLASSES)}")
    xs, ys = [], []
    for name in _CIFAR_BATCHES[split]:
        batch = _unpickle(path, name, batches[name])
        try:
            data = np.asarray(batch[b"data"], dtype=np.uint8)
            labels = np.asarray(batch[b"labels"], dtype=np.int64)
        except KeyError as err:
            raise DataFormatError(f"{path}: {name} lacks key {err}") from err
        if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
            raise DataFormatError(f"{path}: {name} has data {data.shape} and {len(labels)} labels")
        # Rows are channel-major (1024 red, 1024 green, 1024 blue values); images are HWC.
        xs.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        ys.append(labels)
    return np.ascontiguousarray(np.concatenate(xs)), np.concatenate(ys)


def _cifar_from_images(path: Path, images: list[tuple[int, str, bytes]]) -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image, UnidentifiedImageError

    x = np.empty((len(images), 32, 32, 3), dtype=np.uint8)
    for i, (_, name, content) in enumerate(images):
        try:
            with Image.open(io.BytesIO(content)) as image:
                pixels = np.asarray(image.convert("RGB"))
        except (UnidentifiedImageError, OSError) as err:
            raise DataFormatError(f"{path}: {name} is not a readable image ({err})") from err
        if pixels.shape != (32, 32, 3):
            raise DataFormatError(f"{path}: {name} is {pixels.shape[1]}x{pixels.shape[0]}, not 32x32")
        x[i] = pixels
    return x, np.array([label for label, _, _ in images], dtype=np.int64)


# --------------------------------------------------------------------------- IMDB

_IMDB_REVIEW = re.compile(r"(?:^|/)(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")
_HTML_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)


def load_aclimdb(path: str | os.PathLike, split: str = "train", limit: int | None = None) -> pd.DataFrame:
    """Load the labelled reviews of one aclImdb split as a frame (text, label, rating, id).

    ``path`` is ``aclImdb_v1.tar.gz`` (or the offline labelled-only tarball), read as a stream,
    or an extracted folder. ``train/unsup`` is ignored. ``label`` is 1 for ``pos``, 0 for
    ``neg``; ``id`` and ``rating`` come from the file name ``<id>_<rating>.txt``. HTML line
    breaks (``<br />``) become spaces. Rows are ordered negatives first, then positives, each by
    id. ``limit`` keeps the first ``limit // 2`` negatives and the first ``limit - limit // 2``
    positives, so both classes stay present; note that consecutive ids often review the same
    film, so for a representative subset load everything and sample.
    """
    _check_split(split)
    path = _require_file(path)

    def wanted(name: str) -> bool:
        match = _IMDB_REVIEW.search(name)
        return bool(match) and match.group(1) == split

    rows = []
    for name, content in _iter_files(path, wanted):
        _, polarity, review_id, rating = _IMDB_REVIEW.search(name).groups()
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError as err:
            raise DataFormatError(f"{path}: {name} is not UTF-8 text ({err})") from err
        rows.append((_HTML_BREAK.sub(" ", text), int(polarity == "pos"), int(rating), int(review_id)))
    if not rows:
        raise DataFormatError(f"{path}: no aclImdb reviews found under {split}/pos or {split}/neg")
    frame = pd.DataFrame(rows, columns=["text", "label", "rating", "id"])
    frame = frame.astype({"label": np.int64, "rating": np.int64, "id": np.int64})
    frame = frame.sort_values(["label", "id"], kind="stable", ignore_index=True)
    if limit is not None:
        per_label = {0: limit // 2, 1: limit - limit // 2}
        rank_in_label = frame.groupby("label").cumcount()
        frame = frame[rank_in_label < frame["label"].map(per_label)].reset_index(drop=True)
    return frame


# --------------------------------------------------------------------------- hemolytic peptides

def load_hemolytic_onehot(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """The raw ``(positives, negatives)`` one-hot arrays, each (N, 200, 20), zero-padded."""
    path = _require_file(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in ("positives", "negatives") if key in data}
    except (ValueError, OSError, zipfile.BadZipFile) as err:
        raise DataFormatError(f"{path}: not a readable .npz file ({err})") from err
    for key in ("positives", "negatives"):
        if key not in arrays:
            raise DataFormatError(f"{path}: array {key!r} not found")
        array = arrays[key]
        if array.ndim != 3 or array.shape[2] != len(HEMOLYTIC_ALPHABET):
            raise DataFormatError(f"{path}: {key} has shape {array.shape}, expected (N, L, 20)")
    return arrays["positives"], arrays["negatives"]


def load_hemolytic(path: str | os.PathLike) -> tuple[list[str], np.ndarray]:
    """Peptide sequences and labels (1 hemolytic, 0 not): positives first, then negatives.

    The one-hot rows are decoded over ``HEMOLYTIC_ALPHABET``; an all-zero row is padding and may
    only follow the sequence, so a malformed array is reported rather than silently shortened.
    """
    positives, negatives = load_hemolytic_onehot(path)
    sequences = [_decode_peptide(path, "positives", i, row) for i, row in enumerate(positives)]
    sequences += [_decode_peptide(path, "negatives", i, row) for i, row in enumerate(negatives)]
    labels = np.concatenate([np.ones(len(positives), np.int64), np.zeros(len(negatives), np.int64)])
    return sequences, labels


def _decode_peptide(path, key: str, index: int, onehot: np.ndarray) -> str:
    counts = onehot.sum(axis=1)
    is_onehot = np.isin(onehot, (0, 1)).all() and np.isin(counts, (0, 1)).all()
    length = int(np.count_nonzero(counts))
    if not is_onehot or counts[length:].any():
        raise DataFormatError(f"{path}: {key}[{index}] is not a zero-padded one-hot sequence")
    return "".join(HEMOLYTIC_ALPHABET[k] for k in onehot[:length].argmax(axis=1))


# --------------------------------------------------------------------------- iris

def load_iris() -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """Iris from scikit-learn (bundled, no download): X (150, 4), y, feature and class names."""
    from sklearn.datasets import load_iris as sklearn_iris

    bunch = sklearn_iris()
    return (bunch.data.astype(np.float64), bunch.target.astype(np.int64),
            list(bunch.feature_names), [str(name) for name in bunch.target_names])


# --------------------------------------------------------------------------- GloVe

def load_glove(
    path: str | os.PathLike,
    vocab: set[str] | list[str] | None = None,
    member: str = "glove.6B.100d.txt",
) -> dict[str, np.ndarray]:
    """Read GloVe vectors as {word: float32 vector} from ``glove.6B.zip`` (its ``member``),
    a ``.txt`` or a ``.txt.gz``. With ``vocab``, only those words are kept, which keeps the
    400,000-word file's memory down to what a model uses.
    """
    path = _require_file(path)
    keep = set(vocab) if vocab is not None else None
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                if member not in archive.namelist():
                    raise DataFormatError(f"{path}: member {member!r} not found; has {archive.namelist()}")
                with archive.open(member) as raw:
                    return _parse_glove(f"{path}:{member}", io.TextIOWrapper(raw, encoding="utf-8"), keep)
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as lines:
            return _parse_glove(str(path), lines, keep)
    except (OSError, EOFError, UnicodeDecodeError, zipfile.BadZipFile) as err:
        raise DataFormatError(f"{path}: not a readable GloVe file ({err})") from err


def _parse_glove(name: str, lines, keep: set[str] | None) -> dict[str, np.ndarray]:
    vectors: dict[str, np.ndarray] = {}
    dim = None
    for lineno, line in enumerate(lines, start=1):
        word, *numbers = line.rstrip("\n").rstrip(" ").split(" ")
        dim = dim or len(numbers)
        if len(numbers) != dim or dim == 0:
            raise DataFormatError(f"{name}, line {lineno}: expected a word and {dim or 'some'} numbers")
        if keep is not None and word not in keep:
            continue
        try:
            vectors[word] = np.array(numbers, dtype=np.float32)
        except ValueError as err:
            raise DataFormatError(f"{name}, line {lineno}: {err}") from err
    if dim is None:
        raise DataFormatError(f"{name}: no vectors found")
    return vectors
