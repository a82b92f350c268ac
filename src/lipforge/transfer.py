"""Bounds on every outbound HTTP transfer: an overall deadline, a minimum rate, a byte limit.

`TransferLimits` says how long a whole transfer (every request and retry of it) may take,
how many bytes a second must move once they flow (measured over windows of `window_s`: a
window that moves fewer than `min_rate_bps * window_s` bytes ends it; a request body sent
and a response body read are measured apart) and how many bytes it may read in all. Each
request's timeouts are cut to what is left of the deadline, the wait for the next response
bytes to the rate window, and the bodies are counted as they stream, so a server that
trickles one byte every few seconds, reads an upload that slowly, or never stops sending,
ends with `TransferLimitError` (an `httpx.TransportError`, which callers already translate
into their own errors; its `reason` is `deadline`, `too_slow` or `too_large` and its
`params` name the host and the limit, for the caller's LipforgeError).

Two ways to hold a client to a budget:
- `BudgetClient(transfer_limits, ...)`: an httpx.Client held by event hooks above its transports, so
  httpx still chooses the transport per request as it does for any client (`proxy=`,
  HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY; a custom `transport=` turns that choice off
  in httpx). For the model downloader, the upload client and the CLI's remote client.
- `BudgetTransport(inner, limits)`: below httpx, around a transport of the caller's own (the
  address guards of HeyGem URLs and voice URLs, which never go through a proxy).

A request may carry its own budget in `request.extensions[BUDGET_EXTENSION]` (a TTS call, an
upload chunk), or None there to be exempt (an event stream that is meant to stay open);
otherwise the default covers it: one budget for all the client's requests (one download) or,
with `each_request`, a fresh one per request (redirects of it share it).
The deadline holds the waits httpcore times per read too (a status line or headers sent a byte
at a time, a proxy's answer to CONNECT): `sockwatch` shuts the sockets of a request whose
deadline has passed.
This module knows no callers and raises no LipforgeError.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from lipforge import sockwatch

BUDGET_EXTENSION = "lipforge.transfer_budget"
BODY_PIECE_BYTES = 64 * 1024  # a request body is measured (and cut) in pieces of this size
DEADLINE, TOO_SLOW, TOO_LARGE = "deadline", "too_slow", "too_large"  # TransferLimitError.reason


@dataclass(frozen=True)
class TransferLimits:
    deadline_s: float
    min_rate_bps: float
    window_s: float = 20.0
    max_bytes: int | None = None


class TransferLimitError(httpx.TransportError):
    """Raised when a transfer passes its deadline, falls under its minimum rate or its size;
    `reason` says which, `params` hold the host and the limit (values for a translation)."""

    def __init__(self, message: str, reason: str, host: str, **params: object) -> None:
        super().__init__(message)
        self.reason, self.host = reason, host
        self.params: dict[str, object] = {"reason": reason, "host": host, **params}


class TransferBudget:
    """What one transfer has left: its clock, and bytes counted across its requests."""

    def __init__(self, limits: TransferLimits) -> None:
        self.limits = limits
        self.started = time.monotonic()
        self.received_bytes = 0
        self._lock = threading.Lock()

    @property
    def deadline_at(self) -> float:
        """The deadline as a `time.monotonic()` value."""
        return self.started + self.limits.deadline_s

    def remaining_s(self) -> float:
        return self.limits.deadline_s - (time.monotonic() - self.started)

    def check_time(self, host: str) -> float:
        left = self.remaining_s()
        if left <= 0:
            raise self.deadline_error(host)
        return left

    def deadline_error(self, host: str) -> TransferLimitError:
        deadline_s = self.limits.deadline_s
        return TransferLimitError(
            f"{host} passed the deadline of {deadline_s:g} s for the whole transfer",
            DEADLINE, host, deadline_s=deadline_s,
        )  # fmt: skip

    def count(self, size: int, host: str) -> None:
        with self._lock:
            self.received_bytes += size
            total = self.received_bytes
        if self.limits.max_bytes is not None and total > self.limits.max_bytes:
            max_bytes = self.limits.max_bytes
            raise TransferLimitError(
                f"{host} sent more than {max_bytes} bytes", TOO_LARGE, host, max_bytes=max_bytes
            )


class _RateWindow:
    """Bytes moved since the window began; under the minimum once it is `window_s` old."""

    def __init__(self, budget: TransferBudget, host: str, verb: str) -> None:
        self.budget, self.host, self.verb = budget, host, verb
        self.start, self.moved = time.monotonic(), 0

    def add(self, size: int) -> None:
        limits = self.budget.limits
        self.budget.check_time(self.host)
        self.moved += size
        elapsed_s = time.monotonic() - self.start
        if elapsed_s < limits.window_s:
            return
        if self.moved < limits.min_rate_bps * elapsed_s:
            raise self.too_slow()
        self.start, self.moved = time.monotonic(), 0

    def too_slow(self) -> TransferLimitError:
        elapsed_s, min_rate_bps = time.monotonic() - self.start, self.budget.limits.min_rate_bps
        return TransferLimitError(
            f"{self.host} {self.verb} {self.moved} bytes in {elapsed_s:.0f} s, under the "
            f"minimum of {min_rate_bps:g} bytes/s",
            TOO_SLOW, self.host, min_rate_bps=min_rate_bps,
            moved_bytes=self.moved, seconds=round(elapsed_s),
        )  # fmt: skip


def _budget_of(request: httpx.Request, default: TransferBudget | None) -> TransferBudget | None:
    """The request's own budget (None there: exempt), else the default."""
    if BUDGET_EXTENSION in request.extensions:
        return request.extensions[BUDGET_EXTENSION]
    return default


def _before_sending(request: httpx.Request, budget: TransferBudget) -> None:
    """No wait of the request beyond the deadline; its body measured against the rate."""
    host = request.url.host
    _cut_timeouts(request, budget.check_time(host))
    if "content-length" in request.headers or "transfer-encoding" in request.headers:
        request.stream = _BudgetBody(request.stream, _RateWindow(budget, host, "took"))


def _after_headers(response: httpx.Response, budget: TransferBudget) -> None:
    """The body's reads cut to the rate window, and counted as they arrive."""
    request, host = response.request, response.request.url.host
    asked_s = (request.extensions.get("timeout") or {}).get("read")
    cut_s = min(budget.check_time(host), budget.limits.window_s)
    _cut_timeouts(request, cut_s)
    window = _RateWindow(budget, host, "sent")
    cut = asked_s is None or cut_s < asked_s
    response.stream = _BudgetStream(response.stream, budget, window, cut)


def _cut_timeouts(request: httpx.Request, left_s: float) -> None:
    """No single wait of this request longer than `left_s` (httpcore reads these lazily)."""
    timeouts = dict(request.extensions.get("timeout") or {})
    for name in ("connect", "read", "write", "pool"):
        current = timeouts.get(name)
        timeouts[name] = left_s if current is None else min(current, left_s)
    request.extensions["timeout"] = timeouts


class BudgetClient(httpx.Client):
    """An httpx.Client whose requests are held to `transfer` (see the module text) by event
    hooks: one budget for all its requests, or with `each_request` one per request. A timeout
    that comes when the budget's deadline is spent (the wait for an answer's headers was cut
    to it) is raised as the deadline's TransferLimitError."""

    def __init__(
        self, transfer: TransferLimits | None, each_request: bool = False, **client_options
    ) -> None:
        self._limits, self._each_request = transfer, each_request
        self._shared = TransferBudget(transfer) if transfer and not each_request else None
        hooks = {"request": [self._on_request], "response": [self._on_response]}
        super().__init__(event_hooks=hooks, **client_options)
        # httpx's private `_transport` and `_mounts` hold the transports it chose (proxies from
        # the environment included); each is wrapped so that its requests, headers and all,
        # end at the deadline (tests/test_transfer_watchdog.py pins these names).
        self._transport = _WatchedTransport(self._transport, self._shared)
        self._mounts = {
            pattern: None if transport is None else _WatchedTransport(transport, self._shared)
            for pattern, transport in self._mounts.items()
        }

    def _on_request(self, request: httpx.Request) -> None:
        if self._each_request and self._limits is not None:
            if BUDGET_EXTENSION not in request.extensions:  # redirects copy it
                request.extensions[BUDGET_EXTENSION] = TransferBudget(self._limits)
        budget = _budget_of(request, self._shared)
        if budget is not None:
            _before_sending(request, budget)

    def _on_response(self, response: httpx.Response) -> None:
        budget = _budget_of(response.request, self._shared)
        if budget is not None:
            _after_headers(response, budget)

    def send(self, request: httpx.Request, **options) -> httpx.Response:
        try:
            return super().send(request, **options)
        except httpx.TimeoutException as exc:
            budget = _budget_of(request, self._shared)
            if budget is not None and budget.remaining_s() <= 0:
                raise budget.deadline_error(request.url.host) from exc
            raise


class BudgetTransport(httpx.BaseTransport):
    """An httpx transport that holds every request to a TransferBudget (see the module text)."""

    def __init__(self, inner: httpx.BaseTransport, limits: TransferLimits | None = None) -> None:
        self.inner = inner
        self.default = TransferBudget(limits) if limits is not None else None
        self._watched = _WatchedTransport(inner, self.default)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        budget = _budget_of(request, self.default)
        if budget is None:
            return self.inner.handle_request(request)
        _before_sending(request, budget)
        response = self._watched.handle_request(request)
        response.request = request
        try:
            _after_headers(response, budget)
        except TransferLimitError:
            response.close()  # its connection back to the pool, its watch disarmed
            raise
        return response

    def close(self) -> None:
        self.inner.close()


class _WatchedTransport(httpx.BaseTransport):
    """Holds each request as a whole (connecting, sending, waiting for and reading the
    answer's headers, then its body until it is closed) to its budget's deadline: a
    `sockwatch` watch shuts its sockets down when the deadline passes, and the transport
    error that ends the request is raised as the deadline's TransferLimitError."""

    def __init__(self, inner: httpx.BaseTransport, default: TransferBudget | None) -> None:
        self.inner, self.default = inner, default
        sockwatch.watch_sockets(inner)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        budget = _budget_of(request, self.default)
        if budget is None:
            return self.inner.handle_request(request)
        host = request.url.host  # before an address guard puts the address in its place
        watch = sockwatch.arm(budget.deadline_at)
        try:
            with sockwatch.watching(watch):
                response = self.inner.handle_request(request)
        except Exception as exc:
            sockwatch.disarm(watch)
            failure = _fired_error(watch, budget, request, host, exc)
            if failure is not None:
                raise failure from exc
            raise
        except BaseException:  # KeyboardInterrupt
            sockwatch.disarm(watch)
            raise
        if response.is_closed:  # read already (a MockTransport's answer)
            sockwatch.disarm(watch)
        else:
            response.stream = _WatchedBody(response.stream, watch, budget, host)
        return response

    def __enter__(self) -> _WatchedTransport:
        self.inner.__enter__()
        return self

    def __exit__(self, *exc_info) -> None:
        self.inner.__exit__(*exc_info)

    def close(self) -> None:
        self.inner.close()


def _fired_error(
    watch: sockwatch.Watch, budget: TransferBudget, request: httpx.Request, host: str,
    exc: Exception,
) -> Exception | None:  # fmt: skip
    """What ends a request whose watch fired, instead of `exc` (None: `exc` itself): the
    deadline's TransferLimitError when bytes were coming (a trickle), else a timeout, as
    httpcore's own read timeout (cut to the deadline) ends a server that stays silent
    (callers retry those; BudgetClient names the deadline)."""
    if not watch.fired or isinstance(exc, TransferLimitError):
        return None
    if watch.received:
        return budget.deadline_error(host)
    if isinstance(exc, httpx.TimeoutException):
        return None
    return httpx.ReadTimeout(f"{host} sent nothing within the deadline", request=request)


class _WatchedBody(httpx.SyncByteStream):
    """An answer's body read under its request's watch, which is disarmed when it ends."""

    def __init__(self, inner, watch: sockwatch.Watch, budget: TransferBudget, host: str) -> None:
        self.inner, self.watch, self.budget, self.host = inner, watch, budget, host

    def __iter__(self) -> Iterator[bytes]:
        chunks = iter(self.inner)
        try:
            while True:
                with sockwatch.watching(self.watch):
                    chunk = next(chunks, None)
                if chunk is None:
                    break
                yield chunk
        except Exception as exc:
            if self.watch.fired and not isinstance(exc, TransferLimitError):
                raise self.budget.deadline_error(self.host) from exc
            raise
        finally:
            sockwatch.disarm(self.watch)

    def close(self) -> None:
        sockwatch.disarm(self.watch)
        self.inner.close()


class _BudgetBody(httpx.SyncByteStream):
    """A request body handed on in pieces, each measured before it goes."""

    def __init__(self, inner, window: _RateWindow) -> None:
        self.inner, self.window = inner, window

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.inner:
            view = memoryview(chunk)
            for start in range(0, len(view), BODY_PIECE_BYTES):
                piece = view[start : start + BODY_PIECE_BYTES]
                yield piece
                self.window.add(len(piece))

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close is not None:
            close()


class _BudgetStream(httpx.SyncByteStream):
    """A response body counted as it arrives. When the budget cut the read timeout below the
    caller's (`cut`), a read that times out is the budget's failure: a whole rate window, or
    the rest of the deadline, without a byte."""

    def __init__(self, inner, budget: TransferBudget, window: _RateWindow, cut: bool) -> None:
        self.inner, self.budget, self.window, self.cut = inner, budget, window, cut

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self.inner:
                self.budget.count(len(chunk), self.window.host)
                self.window.add(len(chunk))
                yield chunk
        except httpx.ReadTimeout as exc:
            if not self.cut:
                raise
            self.budget.check_time(self.window.host)
            raise self.window.too_slow() from exc

    def close(self) -> None:
        self.inner.close()
