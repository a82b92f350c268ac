"""Bounds on every outbound HTTP transfer: an overall deadline, a minimum rate, a byte limit.

`TransferLimits` says how long a whole transfer (every request and retry of it) may take,
how many bytes a second its bodies must bring once they flow (measured over windows of
`window_s`: a window that brings fewer than `min_rate_bps * window_s` bytes ends it) and
how many bytes it may read in all. `BudgetTransport(inner, limits)` enforces them below
httpx: each request's timeouts are cut to what is left of the deadline, the wait for the
next body bytes to the rate window, and the body is counted as it streams, so a server that
trickles one byte every few seconds, or never stops sending, ends with `TransferLimitError`
(an `httpx.TransportError`, which callers already translate into their own errors). A
request may carry its own budget in `request.extensions[BUDGET_EXTENSION]` (a TTS client
gives each call one); otherwise the transport's default budget covers all its requests
(one download). This module knows no callers and raises no LipforgeError.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

BUDGET_EXTENSION = "lipforge.transfer_budget"


@dataclass(frozen=True)
class TransferLimits:
    deadline_s: float
    min_rate_bps: float
    window_s: float = 20.0
    max_bytes: int | None = None


class TransferLimitError(httpx.TransportError):
    """Raised when a transfer passes its deadline, falls under its minimum rate or its size."""


class TransferBudget:
    """What one transfer has left: its clock, and bytes counted across its requests."""

    def __init__(self, limits: TransferLimits) -> None:
        self.limits = limits
        self.started = time.monotonic()
        self.received_bytes = 0
        self._lock = threading.Lock()

    def remaining_s(self) -> float:
        return self.limits.deadline_s - (time.monotonic() - self.started)

    def check_time(self, what: str) -> float:
        left = self.remaining_s()
        if left <= 0:
            raise TransferLimitError(
                f"{what} passed its deadline of {self.limits.deadline_s:g} s for the whole transfer"
            )
        return left

    def count(self, size: int, what: str) -> None:
        with self._lock:
            self.received_bytes += size
            total = self.received_bytes
        if self.limits.max_bytes is not None and total > self.limits.max_bytes:
            raise TransferLimitError(f"{what} sent more than {self.limits.max_bytes} bytes")


class BudgetTransport(httpx.BaseTransport):
    """An httpx transport that holds every request to a TransferBudget (see the module text)."""

    def __init__(self, inner: httpx.BaseTransport, limits: TransferLimits | None = None) -> None:
        self.inner = inner
        self.default = TransferBudget(limits) if limits is not None else None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        budget = request.extensions.get(BUDGET_EXTENSION) or self.default
        if budget is None:
            return self.inner.handle_request(request)
        what = f"{request.url.host}"
        _cut_timeouts(request, budget.check_time(what))
        response = self.inner.handle_request(request)
        _cut_timeouts(request, min(budget.check_time(what), budget.limits.window_s))
        response.stream = _BudgetStream(response.stream, budget, what)
        return response

    def close(self) -> None:
        self.inner.close()


def _cut_timeouts(request: httpx.Request, left_s: float) -> None:
    """No single wait of this request longer than `left_s` (httpcore reads these lazily)."""
    timeouts = dict(request.extensions.get("timeout") or {})
    for name in ("connect", "read", "write", "pool"):
        current = timeouts.get(name)
        timeouts[name] = left_s if current is None else min(current, left_s)
    request.extensions["timeout"] = timeouts


class _BudgetStream(httpx.SyncByteStream):
    def __init__(self, inner, budget: TransferBudget, what: str) -> None:
        self.inner, self.budget, self.what = inner, budget, what

    def __iter__(self) -> Iterator[bytes]:
        limits = self.budget.limits
        window_start, window_bytes = time.monotonic(), 0
        for chunk in self.inner:
            self.budget.count(len(chunk), self.what)
            self.budget.check_time(self.what)
            window_bytes += len(chunk)
            elapsed_s = time.monotonic() - window_start
            if elapsed_s >= limits.window_s:
                if window_bytes < limits.min_rate_bps * elapsed_s:
                    raise TransferLimitError(
                        f"{self.what} sent {window_bytes} bytes in {elapsed_s:.0f} s, under "
                        f"the minimum of {limits.min_rate_bps:g} bytes/s"
                    )
                window_start, window_bytes = time.monotonic(), 0
            yield chunk

    def close(self) -> None:
        self.inner.close()
