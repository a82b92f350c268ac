"""A worker's local copies of the inputs its jobs read, bounded by size, least recently used first.

`InputCache(root, max_bytes).hold(storage, key)` gives a local file with the object's
bytes: the file itself when the store can be read in place (the data dir), else a copy
under `root`, downloaded once to a hidden name and renamed into place. A held file is not
evicted until `release`; a hit refreshes its mtime, which orders eviction. Objects are
immutable (assets are named by id), so a cached file never goes stale. Slots of one
worker share a cache; two downloads of one key wait for each other.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import uuid
from collections import Counter
from pathlib import Path

from lipforge.logs import log_event
from lipforge.storage.backend import Storage

PART_MARK = ".part-"


class InputCache:
    """Downloaded objects in one directory, at most `max_bytes` of them that nobody holds."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root, self.max_bytes = root, max_bytes
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        self._held: Counter[Path] = Counter()
        root.mkdir(parents=True, exist_ok=True)
        for leftover in root.glob(f".*{PART_MARK}*"):
            leftover.unlink(missing_ok=True)

    def hold(self, storage: Storage, key: str) -> Path:
        """A local file with the bytes of `key`, kept until `release(path)`."""
        in_place = storage.local_path(key)
        if in_place is not None:
            return in_place
        path = self.root / cache_name(key)
        with self._lock_for(key):
            with self._lock:
                self._held[path] += 1
            try:
                if path.exists():
                    os.utime(path)
                else:
                    self._fetch(storage, key, path)
            except BaseException:
                self.release(path)
                raise
        return path

    def release(self, path: Path) -> None:
        with self._lock:
            if self._held[path] > 0:
                self._held[path] -= 1
            if self._held[path] == 0:
                del self._held[path]

    def _fetch(self, storage: Storage, key: str, path: Path) -> None:
        info = storage.stat(key)
        self.make_room(info.size_bytes if info else 0)
        partial = path.with_name(f".{path.name}{PART_MARK}{uuid.uuid4().hex[:8]}")
        try:
            storage.download(key, partial)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        log_event("cache.fetched", key=key, size_bytes=path.stat().st_size)

    def make_room(self, incoming_bytes: int) -> None:
        """Evict the least recently used files nobody holds until `incoming_bytes` fit."""
        with self._lock:
            held = set(self._held)
        entries = []
        for path in self.root.iterdir():
            if path.name.startswith(".") or not path.is_file():
                continue
            with contextlib.suppress(FileNotFoundError):
                stat = path.stat()
                entries.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total + incoming_bytes <= self.max_bytes:
                break
            if path in held:
                continue
            path.unlink(missing_ok=True)
            total -= size
            log_event("cache.evicted", file=path.name, size_bytes=size)

    def size_bytes(self) -> int:
        files = [p for p in self.root.iterdir() if p.is_file() and not p.name.startswith(".")]
        return sum(path.stat().st_size for path in files)

    def _lock_for(self, key: str) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())


def cache_name(key: str) -> str:
    """A flat file name for `key` that keeps its extension (media probes look at it)."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    base = key.rsplit("/", 1)[-1]
    return f"{digest}-{base}"
