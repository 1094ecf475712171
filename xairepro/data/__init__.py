"""Data layer: the registry of raw files, verified fetching, and loaders for every dataset."""
from .download import ChecksumError, DownloadError, fetch, fetch_to, read_sha256sums
from .loaders import (
    CIFAR10_CLASSES,
    ESOL_TARGET,
    HEMOLYTIC_ALPHABET,
    TOX21_TASKS,
    DataFormatError,
    load_aclimdb,
    load_cifar10,
    load_glove,
    load_hemolytic,
    load_hemolytic_onehot,
    load_iris,
    load_moleculenet_csv,
)
from .sources import SOURCES, Source, get_source, raw_path

__all__ = [
    "CIFAR10_CLASSES", "ESOL_TARGET", "HEMOLYTIC_ALPHABET", "TOX21_TASKS", "SOURCES",
    "ChecksumError", "DataFormatError", "DownloadError", "Source",
    "fetch", "fetch_to", "get_source", "raw_path", "read_sha256sums",
    "load_aclimdb", "load_cifar10", "load_glove", "load_hemolytic", "load_hemolytic_onehot",
    "load_iris", "load_moleculenet_csv",
]
