"""A real one-node SLURM cluster on 127.0.0.1 for the cluster test.

``one_node_cluster()`` installs Debian's ``slurm-wlm`` and ``munge`` when they are absent (only as
root with apt-get; otherwise it says why it cannot), writes ``/etc/slurm/slurm.conf`` for this
machine's cores and memory, starts munged, slurmctld and slurmd, waits for the node to be idle, and
on exit stops every daemon it started and removes the configuration it wrote. It never touches a
SLURM configuration it did not write: a ``slurm.conf`` without its marker line is left alone and
the cluster test is skipped.

Settings that make SLURM run in a container without cgroups or accounting:
``ProctrackType=proctrack/linuxproc``, ``TaskPlugin=task/none``, ``SelectType=select/cons_tres``
and ``AccountingStorageType=accounting_storage/none``. The Snakemake SLURM plugin then has to be
told to poll ``squeue`` (its default, ``sacct``, needs accounting), and the configuration must sit
at the default path: the plugin's inner ``srun`` drops ``SLURM_*`` variables such as
``SLURM_CONF``.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

SLURM_CONF = Path("/etc/slurm/slurm.conf")
MARKER = "# written by xairepro tests/slurm_cluster.py"
DAEMONS = ("munged", "slurmctld", "slurmd")
PACKAGES = ("slurm-wlm", "munge")
STATE = Path("/var/spool/xairepro-slurm")


class ClusterUnavailable(RuntimeError):
    """SLURM cannot be installed or started here; the message says why (the test skips with it)."""


def _run(cmd: list[str], timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def ensure_packages() -> None:
    """Install slurm-wlm and munge with apt-get when any daemon is missing."""
    if all(shutil.which(d) for d in DAEMONS):
        return
    if shutil.which("apt-get") is None:
        raise ClusterUnavailable(f"{', '.join(DAEMONS)} not installed and no apt-get to install "
                                 f"{' '.join(PACKAGES)}")
    if os.geteuid() != 0:
        raise ClusterUnavailable(f"{', '.join(DAEMONS)} not installed; installing "
                                 f"{' '.join(PACKAGES)} needs root")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *PACKAGES]):
        proc = _run(cmd, timeout=900, env=env)
        if proc.returncode != 0:
            raise ClusterUnavailable(f"`{' '.join(cmd)}` failed ({proc.returncode}): {proc.stderr[-500:]}")
    missing = [d for d in DAEMONS if shutil.which(d) is None]
    if missing:
        raise ClusterUnavailable(f"installed {' '.join(PACKAGES)} but {missing} still not on PATH")


def node_line() -> tuple[str, str]:
    """(hostname, the node's ``NodeName=...`` line) from ``slurmd -C``: its real cores and memory."""
    proc = _run(["slurmd", "-C"])
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("NodeName=")), None)
    if proc.returncode != 0 or line is None:
        raise ClusterUnavailable(f"`slurmd -C` gave no node line: {proc.stdout[-300:]} {proc.stderr[-300:]}")
    host = line.split()[0].split("=", 1)[1]
    return host, f"{line} NodeAddr=127.0.0.1 State=UNKNOWN"


def write_config(partition: str) -> str:
    """Write slurm.conf for one node on 127.0.0.1; returns the host name."""
    if SLURM_CONF.exists() and MARKER not in SLURM_CONF.read_text():
        raise ClusterUnavailable(f"{SLURM_CONF} exists and was not written by this test; "
                                 "not touching a real cluster's configuration")
    host, node = node_line()
    for sub in ("ctld", "d", "log"):
        (STATE / sub).mkdir(parents=True, exist_ok=True)
    SLURM_CONF.parent.mkdir(parents=True, exist_ok=True)
    SLURM_CONF.write_text("\n".join([
        MARKER,
        "ClusterName=xairepro-test",
        f"SlurmctldHost={host}(127.0.0.1)",
        "SlurmUser=root", "SlurmdUser=root", "AuthType=auth/munge",
        "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none",
        "SelectType=select/cons_tres", "SelectTypeParameters=CR_Core_Memory",
        "AccountingStorageType=accounting_storage/none", "JobAcctGatherType=jobacct_gather/none",
        f"StateSaveLocation={STATE}/ctld", f"SlurmdSpoolDir={STATE}/d",
        f"SlurmctldPidFile={STATE}/slurmctld.pid", f"SlurmdPidFile={STATE}/slurmd.pid",
        f"SlurmctldLogFile={STATE}/log/slurmctld.log", f"SlurmdLogFile={STATE}/log/slurmd.log",
        "ReturnToService=2", "MpiDefault=none",
        # finished jobs stay visible to `scontrol show job` for the test's assertions
        "MinJobAge=3600",
        node,
        f"PartitionName={partition} Nodes={host} Default=YES MaxTime=INFINITE State=UP",
        "",
    ]))
    return host


def _running(name: str) -> bool:
    return _run(["pgrep", "-x", name]).returncode == 0


def start_munge() -> bool:
    """Start munged as the munge user (creating its key and run folder if needed); True if started."""
    if _running("munged"):
        return False
    key = Path("/etc/munge/munge.key")
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        key.write_bytes(os.urandom(128))
    for path in (Path("/run/munge"), Path("/var/lib/munge"), Path("/var/log/munge"), key.parent):
        path.mkdir(parents=True, exist_ok=True)
        shutil.chown(path, "munge", "munge")
    shutil.chown(key, "munge", "munge")
    key.chmod(0o400)
    proc = _run(["runuser", "-u", "munge", "--", "munged"])
    if proc.returncode != 0:
        raise ClusterUnavailable(f"munged did not start: {proc.stderr[-500:]}")
    return True


def wait_idle(timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        proc = _run(["sinfo", "-h", "-o", "%T"], timeout=20)
        state = proc.stdout.strip()
        if proc.returncode == 0 and state in {"idle", "mixed", "allocated"}:
            return
        time.sleep(1)
    log = STATE / "log" / "slurmctld.log"
    tail = log.read_text()[-1500:] if log.exists() else ""
    raise ClusterUnavailable(f"the SLURM node did not become idle in {timeout:.0f} s (state {state!r}); "
                             f"slurmctld log:\n{tail}")


@contextlib.contextmanager
def one_node_cluster(partition: str = "xairepro"):
    """Yield the partition name of a running one-node cluster; stop what was started on exit."""
    ensure_packages()
    write_config(partition)
    started: list[str] = []
    try:
        if start_munge():
            started.append("munged")
        for daemon in ("slurmctld", "slurmd"):
            if _running(daemon):
                _run(["scontrol", "reconfigure"])
                continue
            proc = _run([daemon])
            if proc.returncode != 0:
                raise ClusterUnavailable(f"{daemon} did not start: {proc.stderr[-500:]}")
            started.append(daemon)
        wait_idle()
        yield partition
    finally:
        for daemon in reversed(started):
            _run(["pkill", "-x", daemon])
        deadline = time.monotonic() + 20
        while any(_running(d) for d in started) and time.monotonic() < deadline:
            time.sleep(0.5)
        for daemon in started:
            if _running(daemon):
                _run(["pkill", f"-{int(signal.SIGKILL)}", "-x", daemon])
        if "slurmctld" in started:
            # With a configuration naming a controller that no longer runs, every SLURM client call
            # (the Snakemake SLURM plugin runs `scontrol show config` when it loads, in every later
            # Snakemake run) waits about 9 s for it; without one it fails at once.
            SLURM_CONF.unlink(missing_ok=True)
