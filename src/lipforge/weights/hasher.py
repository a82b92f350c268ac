"""sha256 of a file that is being filled: hash the finished prefix while the rest downloads.

Pieces are handed out in file order (`spans.py`), so the finished prefix grows during
the download and only its tail is left to hash at the end. The bytes hashed are read
back from the `.part` file, the same bytes that are installed.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

READ_BLOCK_BYTES = 4 * 1024 * 1024
POLL_S = 0.05


class PrefixHasher:
    """Hashes up to `prefix_bytes()` in a thread as it grows; `finish` hashes the rest."""

    def __init__(self, path: Path, prefix_bytes: Callable[[], int]) -> None:
        self._path = path
        self._prefix_bytes = prefix_bytes
        self._digest = hashlib.sha256()
        self._hashed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._fd = os.open(path, os.O_RDONLY)

    def start(self) -> PrefixHasher:
        self._thread.start()
        return self

    def _follow(self) -> None:
        while not self._stop.is_set():
            target = self._prefix_bytes()
            if target > self._hashed:
                self._hash_until(target)
            else:
                self._stop.wait(POLL_S)

    def _hash_until(self, end_bytes: int) -> None:
        while self._hashed < end_bytes and not self._stop.is_set():
            count = min(READ_BLOCK_BYTES, end_bytes - self._hashed)
            block = os.pread(self._fd, count, self._hashed)
            if not block:
                return
            self._digest.update(block)
            self._hashed += len(block)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def finish(self) -> str:
        """Stop following, hash the rest of the file, close it; the hex digest."""
        self.stop()
        try:
            while block := os.pread(self._fd, READ_BLOCK_BYTES, self._hashed):
                self._digest.update(block)
                self._hashed += len(block)
        finally:
            os.close(self._fd)
        return self._digest.hexdigest()

    def close(self) -> None:
        self.stop()
        try:
            os.close(self._fd)
        except OSError:
            pass
