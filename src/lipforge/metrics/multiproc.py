"""One directory per run where every process of that run writes its metric values.

prometheus-client's multiprocess mode: each process writes its counters and histograms
to `<dir>/<kind>_<pid>.db`, and the process that answers a scrape adds them all up, so
`GET /metrics` on an API process also counts what its worker child and any other process
sharing the directory did. `lipforge serve` and `lipforge worker` call `prepare_run_dir()`
before anything is counted: it keeps a directory named by PROMETHEUS_MULTIPROC_DIR (systemd
units give one that all units of a machine share), or makes a fresh one for this run and
removes it at exit. Files of processes that died are tidied at each scrape
(`forget_dead_processes`): their live gauges go, and their counters and histograms are added
into one `<kind>_merged.db` file, so totals never drop and the directory does not grow with
every restarted worker. Scrapes read under the same file lock (`tidy_lock`), so no scrape
sees a dead process's values twice.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
from pathlib import Path

import psutil
from filelock import FileLock

ENV_NAME = "PROMETHEUS_MULTIPROC_DIR"
RUN_DIR_PREFIX = "lipforge-metrics-"
PID_FILE = re.compile(r"_(\d+)\.db$")
SUMMED_KINDS = ("counter", "histogram", "summary")  # values that add up across processes
MERGED_SUFFIX = "merged"


def run_dir() -> Path | None:
    value = os.environ.get(ENV_NAME)
    return Path(value) if value else None


def prepare_run_dir() -> Path:
    """The multiprocess directory of this run, made (and removed at exit) unless given."""
    given = run_dir()
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        return given
    made = Path(tempfile.mkdtemp(prefix=RUN_DIR_PREFIX))
    os.environ[ENV_NAME] = str(made)
    owner_pid = os.getpid()
    atexit.register(_remove_if_owner, made, owner_pid)
    return made


def _remove_if_owner(path: Path, owner_pid: int) -> None:
    if os.getpid() == owner_pid:  # not in a forked child that inherited the atexit hook
        shutil.rmtree(path, ignore_errors=True)


def tidy_lock(path: Path) -> FileLock:
    return FileLock(str(path / ".tidy.lock"))


def forget_dead_processes(path: Path) -> list[int]:
    """Drop the live gauges of processes that are gone and merge their sums; the dead pids.

    Call with `tidy_lock(path)` held.
    """
    from prometheus_client import multiprocess

    pids = {int(match[1]) for file in path.glob("*.db") if (match := PID_FILE.search(file.name))}
    dead = [pid for pid in sorted(pids) if not psutil.pid_exists(pid)]
    for pid in dead:
        multiprocess.mark_process_dead(pid, str(path))
        for kind in SUMMED_KINDS:
            source = path / f"{kind}_{pid}.db"
            if source.exists():
                _merge(source, path / f"{kind}_{MERGED_SUFFIX}.db")
    return dead


def _merge(source: Path, merged: Path) -> None:
    """Add every value of `source` into `merged` (atomically replaced), then delete `source`."""
    from prometheus_client.mmap_dict import MmapedDict

    staging = merged.with_name(f".{merged.name}.{os.getpid()}.tmp")
    if merged.exists():
        shutil.copyfile(merged, staging)
    target = MmapedDict(str(staging))
    try:
        for key, value, timestamp, _pos in MmapedDict.read_all_values_from_file(str(source)):
            current, _timestamp = target.read_value(key)
            target.write_value(key, current + value, timestamp)
    finally:
        target.close()
    os.replace(staging, merged)
    source.unlink()
