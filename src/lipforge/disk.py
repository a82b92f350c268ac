"""The free-disk guard: refuse a write that would leave less free space than configured.

Callers (the tus store before accepting bytes, the queue before a render, the
importer before a copy) ask `ensure_free_space` with the bytes they are about to
write; it raises `DiskFullError` with a message naming the numbers and the fix.
This module does not delete anything to make room.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from lipforge.errors import DiskFullError

BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def free_bytes(path: Path) -> int:
    """Free bytes on the file system holding `path` (or its nearest existing parent)."""
    probe_path = Path(path).absolute()
    while not probe_path.exists() and probe_path != probe_path.parent:
        probe_path = probe_path.parent
    return shutil.disk_usage(probe_path).free


def ensure_free_space(path: Path, incoming_bytes: int, min_free_bytes: int) -> None:
    """Raise DiskFullError unless writing `incoming_bytes` at `path` leaves `min_free_bytes`."""
    available_bytes = free_bytes(path)
    if available_bytes - max(incoming_bytes, 0) >= min_free_bytes:
        return
    raise DiskFullError(
        f"Not enough free disk at {path}: writing {format_bytes(incoming_bytes)} would leave "
        f"{format_bytes(max(available_bytes - incoming_bytes, 0))} free, under the "
        f"{format_bytes(min_free_bytes)} kept in reserve "
        f"({format_bytes(available_bytes)} free now). "
        "Free some space (old outputs, unfinished uploads) or lower LIPFORGE_MIN_FREE_DISK_BYTES.",
        free=format_bytes(available_bytes),
        reserve=format_bytes(min_free_bytes),
        incoming=format_bytes(incoming_bytes),
    )


def format_bytes(size_bytes: int) -> str:
    """`1536` -> `1.5 KiB`: a size a person can read."""
    value = float(size_bytes)
    for unit in BYTE_UNITS:
        if abs(value) < 1024 or unit == BYTE_UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
