"""What one model download is asked to do, what it reports, and the state its steps share.

Value types only (no network, no files): `download.py` runs the sequence, `single.py`
and `fetch.py` move the bytes, and the CLI reads the defaults here without loading them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

    from lipforge.transfer import TransferLimits

MIB = 1024 * 1024
DEFAULT_CONNECTIONS = 8
DEFAULT_READ_TIMEOUT_S = 30.0
DEFAULT_MAX_ATTEMPTS = 6
MIN_SPLIT_BYTES = 1 * MIB
MAX_REQUEST_BYTES = 16 * MIB  # one Range request's length; a segment may take several


@dataclass(frozen=True)
class DownloadRequest:
    """What to fetch, where to, and how."""

    url: str
    dest: Path
    sha256: str | None = None
    mirrors: tuple[str, ...] = ()
    connections: int = DEFAULT_CONNECTIONS
    limit_rate_bps: float | None = None
    proxy: str | None = None
    read_timeout_s: float = DEFAULT_READ_TIMEOUT_S
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    min_free_bytes: int = 0
    min_split_bytes: int = MIN_SPLIT_BYTES
    max_request_bytes: int = MAX_REQUEST_BYTES
    # a caller's own transport (e.g. one that checks addresses); env proxies are then ignored
    transport: httpx.BaseTransport | None = None
    # the whole download's deadline, minimum rate per connection, byte limit; None: a model's
    # (`download.download_limits`)
    limits: TransferLimits | None = None


@dataclass(frozen=True)
class DownloadProgress:
    """A snapshot for progress bars and events; phase: waiting|downloading|verifying|done."""

    done_bytes: int
    total_bytes: int | None
    phase: str


@dataclass(frozen=True)
class DownloadResult:
    """A verified, installed file and what it took."""

    path: Path
    size_bytes: int
    sha256: str
    pinned: bool  # True: the hash matched the expected one; False: no hash was given
    already_installed: bool = False
    resumed_bytes: int = 0  # bytes found on disk from an earlier run
    fetched_bytes: int = 0  # bytes received from the network in this run
    notes: tuple[str, ...] = ()


ProgressCallback = Callable[[DownloadProgress], None]


@dataclass
class ByteCounter:
    """Bytes received from the network in this run (written or not)."""

    value: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, count: int) -> None:
        with self._lock:
            self.value += count


@dataclass
class DownloadRun:
    """State of one `download` call shared by its steps."""

    request: DownloadRequest
    client: httpx.Client
    on_progress: ProgressCallback | None
    should_cancel: Callable[[], bool] | None
    received: ByteCounter = field(default_factory=ByteCounter)
    notes: list[str] = field(default_factory=list)
    resumed_bytes: int = 0

    def report(self, done_bytes: int, total_bytes: int | None, phase: str) -> None:
        if self.on_progress is not None:
            self.on_progress(DownloadProgress(done_bytes, total_bytes, phase))

    def cancelled(self) -> bool:
        return self.should_cancel is not None and self.should_cancel()
