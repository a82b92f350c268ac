"""Where a downloaded file and its companions live, and how it is verified.

Beside `<file>`: `<file>.part` (bytes being fetched), `<file>.part.json` (control file),
`<file>.lock` (one pull of a file at a time) and `<file>.sha256.json` (the hash verified
at install, with the size and mtime it was computed for, so `models list` need not
re-hash gigabytes). `verify` always re-hashes.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

HASH_CHUNK_BYTES = 4 * 1024 * 1024


def part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def control_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part.json")


def lock_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".lock")


def record_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".sha256.json")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(HASH_CHUNK_BYTES):
            digest.update(block)
    return digest.hexdigest()


def write_record(dest: Path, sha256: str) -> None:
    stat = dest.stat()
    payload = {"sha256": sha256, "size_bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    temp = record_path(dest).with_suffix(".tmp")
    temp.write_text(json.dumps(payload))
    os.replace(temp, record_path(dest))


def recorded_sha256(dest: Path) -> str | None:
    """The sha256 recorded at install, if the file is still the one it was computed for."""
    try:
        record = json.loads(record_path(dest).read_text())
        stat = dest.stat()
    except (OSError, ValueError):
        return None
    if record.get("size_bytes") != stat.st_size or record.get("mtime_ns") != stat.st_mtime_ns:
        return None
    return record.get("sha256")


def remove_quietly(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
