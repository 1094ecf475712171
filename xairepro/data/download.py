"""Fetch raw data files, from their canonical URL or from a local mirror, always verified.

Downloads go through pooch (streamed to a temporary file beside the target, checked against
the published checksum, renamed only when it matches); this module adds what a workflow needs
around it: retries with exponential backoff for transient failures only, errors that name the
file, the URL and both checksums, and the offline path where every file is copied from a mirror
folder and checked against that folder's ``SHA256SUMS``.

On any failure no file is left at the target path, so Snakemake never sees a partial or
unverified output.
"""
from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from pathlib import Path, PurePosixPath

import pooch
import requests

from ..safe_io import new_file_mode
from .sources import get_source, raw_path

LOGGER = logging.getLogger(__name__)

#: Upper bound on one backoff wait, so a long retry chain stays bounded.
MAX_BACKOFF_S = 60.0
#: HTTP statuses worth retrying: timeouts, rate limits and server-side errors. Any other
#: error status (404, 403, ...) will not change on a retry.
_TRANSIENT_STATUSES = frozenset({408, 425, 429})
_COPY_CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """A raw file could not be obtained; the message names the file and where it came from."""


class ChecksumError(DownloadError):
    """A file's content does not match its expected checksum; the message names the file,
    the expected and the actual checksum."""


def fetch(
    key: str,
    data_dir: str | os.PathLike,
    mirror: str | os.PathLike | None = None,
    retries: int = 3,
    timeout_s: float = 120,
    log: logging.Logger | None = None,
    *,
    url: str | None = None,
    backoff_s: float = 1.0,
) -> Path:
    """Fetch the raw file for ``key`` to ``raw_path(key, data_dir, mirror is not None)``.

    See :func:`fetch_to` for the arguments; this form derives the target from ``data_dir``.
    """
    target = raw_path(key, data_dir, mirror=mirror is not None)
    return fetch_to(
        key, target, mirror=mirror, retries=retries, timeout_s=timeout_s, log=log,
        url=url, backoff_s=backoff_s,
    )


def fetch_to(
    key: str,
    target: str | os.PathLike,
    mirror: str | os.PathLike | None = None,
    retries: int = 3,
    timeout_s: float = 120,
    log: logging.Logger | None = None,
    *,
    url: str | None = None,
    backoff_s: float = 1.0,
) -> Path:
    """Fetch the raw file for ``key`` to ``target`` and return ``target``.

    Without ``mirror`` the file is downloaded from ``url`` (default: the registry's canonical
    URL) and verified against the published checksum; ``retries`` more attempts follow a
    transient failure, waiting ``backoff_s * 2**attempt`` seconds (at most ``MAX_BACKOFF_S``);
    ``timeout_s`` bounds each wait on the server. With ``mirror`` the file is copied from
    ``<mirror>/<mirror_relpath>`` and verified against ``<mirror>/SHA256SUMS``.

    A file already at ``target`` that verifies is kept (no transfer); one that does not is
    removed first. This is the entry point of ``scripts/download.py``, which passes the
    Snakemake output path as ``target``.

    Raises ChecksumError on a content mismatch and DownloadError on any other failure; in both
    cases nothing is left at ``target``.
    """
    if retries < 0:
        raise ValueError(f"retries must be >= 0, got {retries}")
    log = log or LOGGER
    source = get_source(key)
    target = Path(target)
    if mirror is not None:
        origin = str(Path(mirror) / source.mirror_relpath)
        expected = "sha256:" + mirror_sha256(mirror, source.mirror_relpath)
    else:
        origin = url or source.url
        expected = source.known_hash

    if target.exists():
        actual = _file_hash(target, expected)
        if _same_digest(actual, expected):
            log.info("%s: %s already present and verified (%s)", key, target, expected)
            return target
        log.warning("%s: removing %s, whose checksum %s is not the expected %s",
                    key, target, actual, expected)
        target.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)

    if mirror is not None:
        log.info("%s: copying %s to %s", key, origin, target)
        _copy_verified(Path(origin), target, expected)
    else:
        log.info("%s: downloading %s to %s", key, origin, target)
        _download_verified(origin, target, expected, retries, timeout_s, backoff_s, log)
    # Temporary files are created owner-only; give the result the mode any new file gets, so
    # a shared data folder stays readable by the group.
    target.chmod(new_file_mode())
    log.info("%s: %s verified (%s)", key, target, expected)
    return target


def read_sha256sums(path: str | os.PathLike) -> dict[str, str]:
    """Parse a checksum list as ``sha256sum`` writes it: ``<hex>  <path>`` (text mode) or
    ``<hex> *<path>`` (binary mode), paths with or without a leading ``./``.

    Returns {relative POSIX path without "./": lowercase hex digest}.
    """
    path = Path(path)
    sums = {}
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        digest, sep, name = line.partition(" ")
        name = name[1:] if name[:1] in (" ", "*") else name
        if not sep or len(digest) != 64 or not name:
            raise DownloadError(f"{path}, line {lineno}: expected '<sha256>  <path>', got {line!r}")
        sums[_normalize_relpath(name)] = digest.lower()
    return sums


def mirror_sha256(mirror: str | os.PathLike, relpath: str) -> str:
    """The sha256 that ``<mirror>/SHA256SUMS`` lists for ``relpath``; a missing list or entry
    is an error, because an unverifiable copy must not enter the workflow."""
    sums_path = Path(mirror) / "SHA256SUMS"
    if not Path(mirror).is_dir():
        raise DownloadError(f"mirror folder {mirror} does not exist (config key data_mirror or $XAIREPRO_DATA_MIRROR); "
                            "point it at the folder that holds the data files and their SHA256SUMS")
    if not sums_path.is_file():
        raise DownloadError(
            f"mirror {mirror} has no SHA256SUMS ({sums_path} not found); create it with "
            f"`cd {mirror} && find . -type f ! -name SHA256SUMS | sort | xargs sha256sum > SHA256SUMS`"
        )
    sums = read_sha256sums(sums_path)
    try:
        return sums[_normalize_relpath(relpath)]
    except KeyError:
        raise DownloadError(
            f"{relpath} is not listed in {sums_path}, so the mirror copy "
            f"{Path(mirror) / relpath} cannot be verified"
        ) from None


def _normalize_relpath(name: str) -> str:
    return PurePosixPath(name.strip()).as_posix().removeprefix("./")


def _algorithm(known_hash: str) -> str:
    return known_hash.partition(":")[0].lower() if ":" in known_hash else "sha256"


def _same_digest(actual: str, expected: str) -> bool:
    return actual.lower() == expected.rpartition(":")[2].lower()


def _file_hash(path: Path, known_hash: str) -> str:
    return pooch.file_hash(str(path), alg=_algorithm(known_hash))


def _copy_verified(origin: Path, target: Path, expected: str) -> None:
    """Copy ``origin`` to a temporary file beside ``target``, hashing on the way, and rename it
    onto ``target`` only if the hash matches (a rename within one folder is atomic)."""
    if not origin.is_file():
        raise DownloadError(f"mirror file {origin} is missing (it is listed in the mirror's SHA256SUMS)")
    digest = hashlib.new(_algorithm(expected))
    tmp = tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", suffix=".part",
                                      delete=False)
    try:
        with tmp, open(origin, "rb") as src:
            while chunk := src.read(_COPY_CHUNK):
                digest.update(chunk)
                tmp.write(chunk)
        if not _same_digest(digest.hexdigest(), expected):
            raise ChecksumError(
                f"checksum mismatch for mirror file {origin}: expected {expected}, "
                f"got {_algorithm(expected)}:{digest.hexdigest()}"
            )
        os.replace(tmp.name, target)
    except BaseException:
        Path(tmp.name).unlink(missing_ok=True)
        raise


class _HashingDownloader:
    """pooch's HTTP downloader that also records the checksum of what it wrote.

    pooch deletes a mismatching download before raising, and its message is a sentence; keeping
    the digest here lets ChecksumError report the actual checksum as a value.
    """

    def __init__(self, algorithm: str, timeout_s: float):
        # identity encoding: the checksum is of the bytes as published, so the transfer must
        # not be decompressed on the fly (a risk for .gz files served with Content-Encoding).
        self._http = pooch.HTTPDownloader(progressbar=False, timeout=timeout_s,
                                          headers={"Accept-Encoding": "identity"})
        self.algorithm = algorithm
        self.actual: str | None = None

    def __call__(self, url, output_file, pooch_instance, check_only=False):
        self._http(url, output_file, pooch_instance)
        self.actual = pooch.file_hash(output_file, alg=self.algorithm)


def _download_verified(url: str, target: Path, expected: str, retries: int, timeout_s: float,
                       backoff_s: float, log: logging.Logger) -> None:
    attempts = retries + 1
    for attempt in range(attempts):
        downloader = _HashingDownloader(_algorithm(expected), timeout_s)
        try:
            pooch.retrieve(url, known_hash=expected, fname=target.name, path=target.parent,
                           downloader=downloader, progressbar=False)
            return
        except requests.RequestException as err:
            failure = _describe(err)
            if not _is_transient(err):
                raise DownloadError(f"could not download {url} to {target}: {failure} (not retried)") from err
        except ValueError as err:
            if downloader.actual is not None and not _same_digest(downloader.actual, expected):
                raise ChecksumError(
                    f"checksum mismatch for {url} (downloaded for {target}): expected {expected}, "
                    f"got {downloader.algorithm}:{downloader.actual}"
                ) from None
            raise DownloadError(f"could not download {url} to {target}: {err}") from err
        if attempt + 1 < attempts:
            wait = min(backoff_s * 2**attempt, MAX_BACKOFF_S)
            log.warning("%s: %s; attempt %d of %d in %.1f s", url, failure, attempt + 2, attempts, wait)
            time.sleep(wait)
    raise DownloadError(f"could not download {url} to {target} after {attempts} attempt(s): {failure}")


def _is_transient(err: requests.RequestException) -> bool:
    """Whether a retry can help: connection problems and timeouts can heal, a malformed URL or
    a client error status (404, 403, ...) cannot."""
    if isinstance(err, ValueError):  # InvalidURL, MissingSchema, InvalidSchema, ...
        return False
    if isinstance(err, requests.HTTPError) and err.response is not None:
        status = err.response.status_code
        return status >= 500 or status in _TRANSIENT_STATUSES
    return True


def _describe(err: requests.RequestException) -> str:
    if isinstance(err, requests.HTTPError) and err.response is not None:
        return f"HTTP {err.response.status_code} {err.response.reason}"
    if isinstance(err, requests.exceptions.ChunkedEncodingError):
        return f"connection dropped before the whole file arrived ({err})"
    if isinstance(err, requests.Timeout):
        return f"no answer within the timeout ({err})"
    return f"{type(err).__name__}: {err}"
