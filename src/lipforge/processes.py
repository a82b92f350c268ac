"""Who a process is, and whether it is gone: the ids that workers and API processes write
into the database (job leases, upload locks) so that another process on the same host can
tell a dead owner from a live one at once instead of waiting for its lease to run out.
"""

from __future__ import annotations

import os
import socket

import psutil


def make_worker_id() -> str:
    """`host:pid:start_ms:pidns`: enough for a worker on the same host to tell it is gone."""
    process = psutil.Process()
    return f"{socket.gethostname()}:{process.pid}:{int(process.create_time() * 1000)}:{_pid_ns()}"


def _pid_ns() -> int:
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return 0


def is_local_worker_dead(worker_id: str) -> bool:
    """True only when `worker_id` ran on this host (same pid namespace) and its process is gone."""
    parts = worker_id.split(":")
    if len(parts) != 4 or parts[0] != socket.gethostname() or parts[3] != str(_pid_ns()):
        return False
    try:
        pid, start_ms = int(parts[1]), int(parts[2])
        return int(psutil.Process(pid).create_time() * 1000) != start_ms
    except psutil.NoSuchProcess:
        return True
    except (ValueError, psutil.Error):
        return False
