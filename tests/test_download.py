"""Downloads and mirror copies: verified, atomic, with readable errors.

HTTP tests talk to a throwaway server on 127.0.0.1 (never the internet); the registry gets a
test entry through monkeypatch so the published checksums of the real files stay untouched.
"""
from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from xairepro.data.download import ChecksumError, DownloadError, fetch, fetch_to, read_sha256sums
from xairepro.data.sources import SOURCES, Source, raw_path

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
import make_fixtures as fx  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
from conftest import SHARED_DATA, needs_shared_data  # noqa: E402

PAYLOAD = b"tiny,data\n" * 100
FAST = {"retries": 1, "backoff_s": 0.01, "timeout_s": 5}


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def files_under(folder: Path) -> list[str]:
    """Every file left under ``folder`` (temporary files included), as relative paths."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


# --------------------------------------------------------------------------- local HTTP server

class _Handler(BaseHTTPRequestHandler):
    timeout = 5  # a stuck client cannot hold the server thread for long

    def do_GET(self):
        server = self.server
        server.hits[self.path] += 1
        route = server.routes.get(self.path)
        if route == "flaky" and server.hits[self.path] == 1:
            self.send_error(503, "try again")
            return
        if route == "flaky":
            route = PAYLOAD
        if route == "truncated":
            # Promise more bytes than are sent, then hang up: a connection dropped mid-file.
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD[: len(PAYLOAD) // 3])
            self.close_connection = True
            return
        if route is None:
            self.send_error(404, "not here")
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(route)))
        self.end_headers()
        self.wfile.write(route)

    def log_message(self, *args):  # keep test output quiet
        pass


@pytest.fixture
def http_server():
    """A server on a free local port whose ``routes`` map paths to bytes or to the
    behaviours "flaky" (503, then the payload) and "truncated"; ``hits`` counts requests."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.routes = {"/good.bin": PAYLOAD, "/flaky.bin": "flaky", "/truncated.bin": "truncated"}
    server.hits = Counter()
    server.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    safety = threading.Timer(60, server.shutdown)  # stops itself even if teardown never runs
    safety.daemon = True
    safety.start()
    yield server
    safety.cancel()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def tiny_source(monkeypatch, http_server):
    """Register key "tiny": PAYLOAD served at /good.bin, checked by md5."""
    source = Source(key="tiny", url=f"{http_server.base}/good.bin", known_hash=f"md5:{md5(PAYLOAD)}",
                    filename="tiny.bin", mirror_relpath="tiny/tiny-copy.bin", description="test file")
    monkeypatch.setitem(SOURCES, "tiny", source)
    return source


# --------------------------------------------------------------------------- registry

def test_registry_covers_every_dataset_with_wellformed_hashes():
    assert set(SOURCES) == {"esol", "tox21", "cifar10", "imdb", "hemolytic", "glove"}
    lengths = {"md5": 32, "sha256": 64}
    for key, source in SOURCES.items():
        algorithm, _, digest = source.known_hash.partition(":")
        assert len(digest) == lengths[algorithm] and int(digest, 16) >= 0, key
        assert source.url.rsplit("/", 1)[1] == source.filename
        assert source.mirror_relpath.split("/")[0] == key
    assert SOURCES["glove"].optional and not SOURCES["esol"].optional


def test_raw_path_uses_canonical_name_without_mirror_and_mirror_name_with_one(tmp_path):
    assert raw_path("tox21", tmp_path, mirror=False) == tmp_path / "raw/tox21/tox21.csv.gz"
    assert raw_path("tox21", tmp_path, mirror=True) == tmp_path / "raw/tox21/tox21.csv"
    assert raw_path("cifar10", "d", mirror=True) == Path("d/raw/cifar10/cifar10-jpeg.tar.gz")
    assert raw_path("imdb", "d", mirror=False) == Path("d/raw/imdb/aclImdb_v1.tar.gz")
    assert raw_path("glove", "d", mirror=True) == Path("d/raw/glove/glove.6B.100d.sample.txt.gz")


def test_unknown_key_lists_known_keys(tmp_path):
    with pytest.raises(KeyError, match="unknown data source 'zinc'.*esol"):
        fetch("zinc", tmp_path)


# --------------------------------------------------------------------------- HTTP downloads

def test_download_verified_lands_at_target(tmp_path, tiny_source):
    path = fetch("tiny", tmp_path / "data", **FAST)
    assert path == tmp_path / "data/raw/tiny/tiny.bin"
    assert path.read_bytes() == PAYLOAD
    assert files_under(tmp_path) == ["data/raw/tiny/tiny.bin"]
    assert os.stat(path).st_mode & 0o044, "file should be readable as umask allows, not owner-only"


def test_download_with_sha256_and_url_override(tmp_path, http_server, monkeypatch):
    monkeypatch.setitem(SOURCES, "tiny", Source(
        key="tiny", url="http://unused.invalid/x.bin",
        known_hash="sha256:" + hashlib.sha256(PAYLOAD).hexdigest(),
        filename="x.bin", mirror_relpath="tiny/x.bin", description="test"))
    path = fetch("tiny", tmp_path, url=f"{http_server.base}/good.bin", **FAST)
    assert path.read_bytes() == PAYLOAD


def test_checksum_mismatch_names_url_both_checksums_and_leaves_nothing(tmp_path, http_server, monkeypatch):
    wrong = "0" * 32
    monkeypatch.setitem(SOURCES, "tiny", Source(
        key="tiny", url=f"{http_server.base}/good.bin", known_hash=f"md5:{wrong}",
        filename="tiny.bin", mirror_relpath="tiny/tiny.bin", description="test"))
    with pytest.raises(ChecksumError) as info:
        fetch("tiny", tmp_path, **FAST)
    message = str(info.value)
    assert f"{http_server.base}/good.bin" in message
    assert f"md5:{wrong}" in message and md5(PAYLOAD) in message
    assert files_under(tmp_path) == []
    assert http_server.hits["/good.bin"] == 1, "a checksum mismatch is not retried"


def test_404_fails_at_once_with_url_and_status(tmp_path, tiny_source, http_server):
    url = f"{http_server.base}/missing.bin"
    with pytest.raises(DownloadError, match="404") as info:
        fetch("tiny", tmp_path, url=url, retries=3, backoff_s=0.01, timeout_s=5)
    assert url in str(info.value) and not isinstance(info.value, ChecksumError)
    assert http_server.hits["/missing.bin"] == 1, "a 404 will not heal, so it is not retried"
    assert files_under(tmp_path) == []


def test_connection_dropped_mid_file_is_retried_then_fails_cleanly(tmp_path, tiny_source, http_server):
    url = f"{http_server.base}/truncated.bin"
    with pytest.raises(DownloadError, match="connection dropped") as info:
        fetch("tiny", tmp_path, url=url, **FAST)
    assert url in str(info.value) and "2 attempt(s)" in str(info.value)
    assert http_server.hits["/truncated.bin"] == 2
    assert files_under(tmp_path) == []


def test_transient_server_error_is_retried(tmp_path, tiny_source, http_server):
    path = fetch("tiny", tmp_path, url=f"{http_server.base}/flaky.bin", **FAST)
    assert path.read_bytes() == PAYLOAD
    assert http_server.hits["/flaky.bin"] == 2


def test_connection_refused_is_a_download_error(tmp_path, tiny_source):
    with socket.socket() as sock:  # a port that was free a moment ago and now has no listener
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(DownloadError, match=f"127.0.0.1:{port}"):
        fetch("tiny", tmp_path, url=f"http://127.0.0.1:{port}/x.bin", **FAST)
    assert files_under(tmp_path) == []


def test_verified_existing_file_is_kept_without_a_request(tmp_path, tiny_source, http_server):
    target = raw_path("tiny", tmp_path, mirror=False)
    target.parent.mkdir(parents=True)
    target.write_bytes(PAYLOAD)
    assert fetch("tiny", tmp_path, **FAST) == target
    assert sum(http_server.hits.values()) == 0


def test_corrupt_existing_file_is_replaced(tmp_path, tiny_source, http_server):
    target = raw_path("tiny", tmp_path, mirror=False)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"stale")
    fetch("tiny", tmp_path, **FAST)
    assert target.read_bytes() == PAYLOAD


def test_corrupt_existing_file_is_removed_even_if_download_fails(tmp_path, tiny_source, http_server):
    target = raw_path("tiny", tmp_path, mirror=False)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"stale")
    with pytest.raises(DownloadError):
        fetch("tiny", tmp_path, url=f"{http_server.base}/missing.bin", **FAST)
    assert files_under(tmp_path) == []


# --------------------------------------------------------------------------- mirror

@pytest.fixture
def mirror(tmp_path):
    """A mirror folder laid out like shared/data with an ESOL-like CSV and a tox21 CSV."""
    root = tmp_path / "mirror"
    (root / "esol").mkdir(parents=True)
    (root / "tox21").mkdir()
    fx.make_esol_csv(root / "esol")
    (root / "tox21" / "tox21.csv").write_text("NR-AR,mol_id,smiles\n1,TOX1,CCO\n")
    fx.write_sha256sums(root)
    return root


@pytest.mark.parametrize("line_format", ["{digest}  ./{path}", "{digest}  {path}", "{digest} *{path}"])
def test_mirror_copy_verified_against_sha256sums(tmp_path, mirror, line_format):
    sums = read_sha256sums(mirror / "SHA256SUMS")
    (mirror / "SHA256SUMS").write_text(
        "".join(line_format.format(digest=d, path=p) + "\n" for p, d in sums.items()))
    path = fetch("esol", tmp_path / "data", mirror=mirror)
    assert path == tmp_path / "data/raw/esol/delaney-processed.csv"
    assert path.read_bytes() == (mirror / "esol/delaney-processed.csv").read_bytes()
    tox21 = fetch("tox21", tmp_path / "data", mirror=str(mirror))
    assert tox21 == tmp_path / "data/raw/tox21/tox21.csv"
    assert files_under(tmp_path / "data") == ["raw/esol/delaney-processed.csv", "raw/tox21/tox21.csv"]


def test_corrupted_mirror_file_is_named_with_both_checksums(tmp_path, mirror):
    source_file = mirror / "esol/delaney-processed.csv"
    expected = read_sha256sums(mirror / "SHA256SUMS")["esol/delaney-processed.csv"]
    source_file.write_bytes(source_file.read_bytes().replace(b"Fenfuram", b"Fenfuran"))
    actual = hashlib.sha256(source_file.read_bytes()).hexdigest()
    with pytest.raises(ChecksumError) as info:
        fetch("esol", tmp_path / "data", mirror=mirror)
    message = str(info.value)
    assert str(source_file) in message and expected in message and actual in message
    assert not (tmp_path / "data/raw/esol/delaney-processed.csv").exists()
    assert files_under(tmp_path / "data") == []


def test_mirror_entry_missing_from_sha256sums(tmp_path, mirror):
    sums = mirror / "SHA256SUMS"
    sums.write_text("".join(line for line in sums.read_text().splitlines(True) if "esol" not in line))
    with pytest.raises(DownloadError, match=r"esol/delaney-processed\.csv is not listed in .*SHA256SUMS"):
        fetch("esol", tmp_path / "data", mirror=mirror)
    assert not (tmp_path / "data").exists() or files_under(tmp_path / "data") == []


def test_mirror_file_missing_from_folder(tmp_path, mirror):
    (mirror / "esol/delaney-processed.csv").unlink()
    with pytest.raises(DownloadError, match=r"mirror file .*esol/delaney-processed\.csv is missing"):
        fetch("esol", tmp_path / "data", mirror=mirror)
    assert files_under(tmp_path / "data") == []


def test_mirror_without_sha256sums(tmp_path, mirror):
    (mirror / "SHA256SUMS").unlink()
    with pytest.raises(DownloadError, match="has no SHA256SUMS"):
        fetch("esol", tmp_path / "data", mirror=mirror)


def test_malformed_sha256sums_line_is_named(tmp_path, mirror):
    with open(mirror / "SHA256SUMS", "a") as out:
        out.write("not-a-checksum esol/extra.csv\n")
    with pytest.raises(DownloadError, match=r"SHA256SUMS, line 3"):
        fetch("esol", tmp_path / "data", mirror=mirror)


def test_fetch_to_writes_exactly_the_given_path(tmp_path, mirror):
    target = tmp_path / "elsewhere" / "esol.csv"
    assert fetch_to("esol", target, mirror=mirror) == target
    assert target.read_bytes() == (mirror / "esol/delaney-processed.csv").read_bytes()


# --------------------------------------------------------------------------- Snakemake rules

@pytest.mark.slow
def test_download_rules_copy_from_mirror_through_snakemake(tmp_path, mirror):
    """rules/data.smk + scripts/download.py end to end: the rule for ESOL copies from the
    mirror into data_dir and logs where the file came from."""
    workdir = tmp_path / "wf"
    workdir.mkdir()
    (workdir / "Snakefile").write_text(
        f'configfile: "{REPO / "config.yaml"}"\n'
        f'include: "{REPO / "rules" / "common.smk"}"\n'
        f'include: "{REPO / "rules" / "data.smk"}"\n'
    )
    env = {**os.environ, "XAIREPRO_DATA_MIRROR": str(mirror)}
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "1", "--directory", str(workdir),
         "--snakefile", str(workdir / "Snakefile"), "results/data/raw/esol/delaney-processed.csv"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    copied = workdir / "results/data/raw/esol/delaney-processed.csv"
    assert copied.read_bytes() == (mirror / "esol/delaney-processed.csv").read_bytes()
    log = (workdir / "results/logs/data/download_esol.log").read_text()
    assert str(mirror / "esol/delaney-processed.csv") in log and "verified" in log


# --------------------------------------------------------------------------- real mirror

@pytest.mark.shared_data
@needs_shared_data
def test_real_mirror_lists_every_registry_file():
    sums = read_sha256sums(SHARED_DATA / "SHA256SUMS")
    for source in SOURCES.values():
        assert source.mirror_relpath in sums, source.key


@pytest.mark.shared_data
@needs_shared_data
def test_real_mirror_esol_matches_published_md5(tmp_path):
    path = fetch("esol", tmp_path, mirror=SHARED_DATA)
    assert path == tmp_path / "raw/esol/delaney-processed.csv"
    # The offline ESOL copy is byte-identical to the canonical download.
    assert f"md5:{md5(path.read_bytes())}" == SOURCES["esol"].known_hash
    hemolytic = fetch("hemolytic", tmp_path, mirror=SHARED_DATA)
    assert "sha256:" + hashlib.sha256(hemolytic.read_bytes()).hexdigest() == SOURCES["hemolytic"].known_hash


def test_mirror_folder_that_does_not_exist_is_named_as_such(tmp_path):
    missing = tmp_path / "no-such-mirror"
    with pytest.raises(DownloadError, match=r"mirror folder .*no-such-mirror does not exist"):
        fetch("esol", tmp_path / "data", mirror=missing)
    assert not (tmp_path / "data").exists() or files_under(tmp_path / "data") == []
