"""One token bucket for a whole download (all connections share it), and `--limit-rate` parsing."""

from __future__ import annotations

import re
import threading
import time

from lipforge.errors import ConfigError

BURST_S = 0.25
MIN_BURST_BYTES = 64 * 1024
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}


def parse_rate(text: str) -> float:
    """Bytes per second from '500K', '5M', '1.5G' or a plain number of bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]?)(?:i?B)?(?:/s)?\s*", text, re.IGNORECASE)
    if not match or float(match.group(1)) <= 0:
        raise ConfigError(
            f"Rate limit {text!r} is not a rate. Use bytes per second like 500K, 5M or 1G."
        )
    return float(match.group(1)) * _UNITS[match.group(2).upper()]


class TokenBucket:
    """Blocks callers so that, together, they take at most `rate_bps` bytes per second."""

    def __init__(self, rate_bps: float):
        self.rate_bps = rate_bps
        self.capacity = max(MIN_BURST_BYTES, rate_bps * BURST_S)
        self._tokens = self.capacity
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def take(self, count: int) -> None:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate_bps)
            self._stamp = now
            self._tokens -= count
            wait_s = -self._tokens / self.rate_bps if self._tokens < 0 else 0.0
        if wait_s > 0:
            time.sleep(wait_s)
