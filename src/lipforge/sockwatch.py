"""A watchdog that shuts down the sockets of an HTTP request whose deadline has passed.

httpcore applies a timeout to each read, so a peer that sends the status line and headers
of its answer (or a proxy's answer to CONNECT) one byte every few seconds is never cut by
one: each read gets its byte in time. `Watch` bounds a request as a whole: `arm(deadline_at)`
gives one, `watching(watch)` makes it this thread's current one while the request runs
(and while its body is read), and every network stream of a transport passed to
`watch_sockets(transport)` enlists itself with the thread's current watch whenever it is
opened, read or written (so a pooled connection belongs to the request that uses it now,
never to the one before). When the deadline passes, one daemon thread shuts the enlisted
sockets down (`shutdown(SHUT_RDWR)` wakes a recv or send blocked in another thread on
Linux), the blocked read ends as a transport error, and `watch.fired` tells the caller
that it was the deadline (`watch.received`, whether any byte had come by then). A TLS
handshake is bounded already: CPython's do_handshake holds the socket's timeout (the connect
timeout, cut to the deadline by `transfer`) for the whole handshake, not per read.

Private attributes relied on (tests/test_transfer_watchdog.py fails loudly if they move):
httpx's `HTTPTransport._pool` (the httpcore pool it builds) and httpcore's
`ConnectionPool._network_backend` (what every connection of the pool, and of its proxy
subclasses, opens its sockets with). httpx gives no public way to hand a network backend to
the transports it builds from the environment's proxy settings.
This module knows nothing of budgets or of LipForge's errors (`transfer` does).
"""

from __future__ import annotations

import math
import os
import socket
import threading
import time

import httpcore
import httpx

_LOCK = threading.Lock()
_local = threading.local()


class Watch:
    """One request's deadline (a `time.monotonic()` value) and the streams it uses now."""

    def __init__(self, deadline_at: float) -> None:
        self.deadline_at = deadline_at
        self.streams: set[_WatchedStream] = set()
        self.fired = False
        self.received = False  # a read of one of its streams brought a byte


class _Watchdog:
    """The armed watches, and the one thread that fires them when their time comes."""

    def __init__(self) -> None:
        self._wake = threading.Condition(_LOCK)
        self._armed: set[Watch] = set()
        self._pid: int | None = None
        self._wakes_at = math.inf  # when the thread will look next

    def arm(self, deadline_at: float) -> Watch:
        watch = Watch(deadline_at)
        with self._wake:
            if self._pid != os.getpid():  # first use, or a forked child without the thread
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="transfer-watchdog", daemon=True).start()
            self._armed.add(watch)
            if deadline_at < self._wakes_at:  # else the thread wakes in time anyway
                self._wakes_at = deadline_at
                self._wake.notify()
        return watch

    def disarm(self, watch: Watch) -> None:
        with self._wake:
            self._armed.discard(watch)
            for stream in watch.streams:
                stream.watch = None
            watch.streams.clear()

    def armed_count(self) -> int:
        with self._wake:
            return len(self._armed)

    def _run(self) -> None:
        with self._wake:
            while True:
                now = time.monotonic()
                for watch in [w for w in self._armed if w.deadline_at <= now]:
                    self._armed.discard(watch)
                    watch.fired = True
                    for stream in watch.streams:
                        stream.shut_down()
                self._wakes_at = min((w.deadline_at for w in self._armed), default=math.inf)
                self._wake.wait(None if self._wakes_at == math.inf else self._wakes_at - now)


_WATCHDOG = _Watchdog()


def arm(deadline_at: float) -> Watch:
    """A watch that fires at `deadline_at` unless disarmed first."""
    return _WATCHDOG.arm(deadline_at)


def disarm(watch: Watch) -> None:
    """The request is over: its watch never fires, its streams are free for the next."""
    _WATCHDOG.disarm(watch)


def armed_count() -> int:
    return _WATCHDOG.armed_count()


def _after_fork_in_child() -> None:
    """A forked child has neither the thread nor, perhaps, a free lock: start afresh."""
    global _LOCK, _WATCHDOG
    _LOCK = threading.Lock()
    _WATCHDOG = _Watchdog()


os.register_at_fork(after_in_child=_after_fork_in_child)


class watching:  # noqa: N801 (used as a context manager, like contextlib's)
    """`with watching(watch):` makes `watch` this thread's current one: streams used
    meanwhile enlist with it (a class: it is entered for every piece of a body)."""

    __slots__ = ("watch", "before")

    def __init__(self, watch: Watch) -> None:
        self.watch = watch

    def __enter__(self) -> None:
        self.before = getattr(_local, "watch", None)
        _local.watch = self.watch

    def __exit__(self, *exc_info) -> None:
        _local.watch = self.before


class _WatchedStream(httpcore.NetworkStream):
    """A network stream that enlists with the current thread's watch before each use."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self.inner = inner
        self.watch: Watch | None = None
        self.enlist()

    def enlist(self) -> None:
        current = getattr(_local, "watch", None)
        if current is None or current is self.watch:
            return
        with _LOCK:
            if self.watch is not None:
                self.watch.streams.discard(self)
            self.watch = current
            current.streams.add(self)
            fired = current.fired
        if fired:  # the deadline passed before this stream was enlisted
            self.shut_down()

    def shut_down(self) -> None:
        sock = self.inner.get_extra_info("socket")
        if sock is None:
            return
        try:  # the base class's method: an SSLSocket's own would drop its SSL object first
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass  # closed already

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self.enlist()
        data = self.inner.read(max_bytes, timeout)
        watch = self.watch
        if data and watch is not None:
            watch.received = True
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.enlist()
        self.inner.write(buffer, timeout)

    def close(self) -> None:
        self.inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> httpcore.NetworkStream:
        self.enlist()
        return _WatchedStream(self.inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str):
        return self.inner.get_extra_info(info)


class _WatchedBackend(httpcore.NetworkBackend):
    """A network backend whose streams are `_WatchedStream`s."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self.inner = inner

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        stream = self.inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _WatchedStream(stream)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        return _WatchedStream(self.inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


def watch_sockets(transport: httpx.BaseTransport | None) -> None:
    """Let watches reach the sockets of `transport` (an httpx.HTTPTransport, proxies
    included; any other transport is left as it is: it has no sockets httpcore opens)."""
    if not isinstance(transport, httpx.HTTPTransport):
        return
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if backend is None:
        raise RuntimeError(
            "httpx.HTTPTransport._pool._network_backend is gone (httpx or httpcore changed): "
            "lipforge.sockwatch can no longer hold a request to its deadline"
        )
    if not isinstance(backend, _WatchedBackend):
        pool._network_backend = _WatchedBackend(backend)
