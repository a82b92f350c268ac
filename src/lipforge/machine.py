"""What the machine is doing, for the UI's machine panel: CPU, memory, free disk, GPUs, the queue.

`machine_snapshot(settings, read_queue)` answers one JSON-ready dict: CPU use (percent
since the previous reading, like `top`), memory used/total, free and total disk of the
data dir, each GPU (`gpus.py`; an empty list means "no GPU"), and what `read_queue()`
answers: the queue depth (queued and running jobs) and every live worker with its slots
and what each slot does (`jobs.readings.read_machine_queue`, handed in by the API: this
module stands below the jobs room and does not import it). Sizes are bytes; the UI
formats them in binary units. It changes nothing; pushing it to browsers is
`api/routes_machine.py`'s job.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable

import psutil

from lipforge.config import Settings
from lipforge.disk import free_bytes
from lipforge.gpus import read_gpus


def machine_snapshot(settings: Settings, read_queue: Callable[[], dict]) -> dict:
    """The machine's state now (see the module docstring for the fields)."""
    memory = psutil.virtual_memory()
    data_root = settings.data_dir.root
    queue = read_queue()
    return {
        "at": time.time(),
        "hostname": socket.gethostname(),
        "cpu_percent": psutil.cpu_percent(interval=None),
        "cpu_count": os.cpu_count() or 1,
        "memory_used_bytes": int(memory.total - memory.available),
        "memory_total_bytes": int(memory.total),
        "disk_free_bytes": free_bytes(data_root),
        "disk_total_bytes": _disk_total(data_root),
        "gpus": [gpu.to_json() for gpu in read_gpus()],
        "queue": queue["queue"],
        "workers": queue["workers"],
    }


def _disk_total(path) -> int:
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return int(psutil.disk_usage(str(probe)).total)
