"""The metrics text answer, and the standalone `--metrics-port` server.

`render_metrics(read_queue)` adds up every process of this run (multiprocess mode, when a
run directory is set; else this process's own values), the queue readings (`read_queue`,
handed in by the caller; None leaves them out) and the GPU gauges, in Prometheus text
format. It is blocking (a database read): call it from a thread. `start_metrics_server`
serves only `/metrics` on its own port from a thread, with the same rule as the API: open
on loopback, the bearer token beyond it; a client that gives wrong tokens too often is answered
429 by the caller's throttle (the API's `FailureThrottle`, passed in), and a connection must
send its request line and headers within `header_timeout_s` or is closed (slowloris).
"""

from __future__ import annotations

import hmac
import socket
import threading
from collections.abc import Iterable, Iterator
from socketserver import ThreadingMixIn
from typing import Protocol
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector

from lipforge.errors import LipforgeError
from lipforge.metrics.collectors import GpuCollector, QueueCollector, QueueReader
from lipforge.metrics.instruments import instruments
from lipforge.metrics.multiproc import forget_dead_processes, run_dir, tidy_lock

METRICS_PATH = "/metrics"
HEADER_TIMEOUT_S = 10.0  # as the API's --header-timeout default
METRICS_CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # the text format every Prometheus version reads


class _Sources:
    """Several collectors read as one registry."""

    def __init__(self, collectors: Iterable) -> None:
        self.collectors = list(collectors)

    def collect(self) -> Iterator[Metric]:
        for collector in self.collectors:
            yield from collector.collect()


class _Collected:
    def __init__(self, metrics: list[Metric]) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        return iter(self.metrics)


def render_metrics(read_queue: QueueReader | None) -> bytes:
    """Blocking: the whole metrics page in Prometheus text format."""
    sources: list = []
    path = run_dir()
    if path is not None and path.is_dir():
        with tidy_lock(path):
            forget_dead_processes(path)
            collected = list(MultiProcessCollector(CollectorRegistry(), path=str(path)).collect())
        sources.append(_Collected(collected))
    else:
        sources.append(instruments().registry)
    if read_queue is not None:
        sources.append(QueueCollector(read_queue))
    sources.append(GpuCollector())
    return generate_latest(_Sources(sources))


class _QuietHandler(WSGIRequestHandler):
    header_timeout_s = HEADER_TIMEOUT_S

    def log_message(self, *_args) -> None:  # the API logs errors its own way
        pass

    def setup(self) -> None:
        super().setup()
        self._header_timer = threading.Timer(self.header_timeout_s, self._close_slow)
        self._header_timer.daemon = True
        self._header_timer.start()

    def parse_request(self) -> bool:
        parsed = super().parse_request()  # the request line and headers are in
        self._header_timer.cancel()
        return parsed

    def finish(self) -> None:
        self._header_timer.cancel()
        super().finish()

    def _close_slow(self) -> None:
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _ThreadingServer6(_ThreadingServer):
    address_family = socket.AF_INET6


class Throttle(Protocol):
    """The API's FailureThrottle as this module uses it."""

    def check(self, address: str) -> None: ...  # raises a LipforgeError with retry_after_s

    def record_failure(self, address: str) -> None: ...


def metrics_wsgi_app(
    read_queue: QueueReader | None, token: str | None, throttle: Throttle | None = None
):
    """A WSGI app answering GET /metrics (bearer token checked when `token` is set)."""

    def app(environ, start_response):
        if environ.get("PATH_INFO") != METRICS_PATH or environ.get("REQUEST_METHOD") != "GET":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"Only GET /metrics is served on this port.\n"]
        refused = _refused(environ, token, throttle)
        if refused is not None:
            start_response(*refused[:2])
            return [refused[2]]
        body = render_metrics(read_queue)
        start_response("200 OK", [("Content-Type", METRICS_CONTENT_TYPE)])
        return [body]

    return app


def _refused(environ, token: str | None, throttle: Throttle | None):
    """(status, headers, body) for a throttled client or a wrong token; None to answer."""
    if token is None:
        return None
    address = environ.get("REMOTE_ADDR", "unknown")
    if throttle is not None:
        try:
            throttle.check(address)
        except LipforgeError as exc:
            wait_s = str(exc.params.get("retry_after_s", 1))
            headers = [("Content-Type", "text/plain"), ("Retry-After", wait_s)]
            return "429 Too Many Requests", headers, f"{exc}\n".encode()
    if _bearer_matches(environ.get("HTTP_AUTHORIZATION", ""), token):
        return None
    if throttle is not None:
        throttle.record_failure(address)
    headers = [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")]
    body = b"A valid access token is required: send 'Authorization: Bearer <token>'.\n"
    return "401 Unauthorized", headers, body


def _bearer_matches(header: str, token: str) -> bool:
    scheme, _, value = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        value.strip().encode(), token.encode()
    )


def start_metrics_server(
    host: str,
    port: int,
    read_queue: QueueReader | None,
    token: str | None,
    throttle: Throttle | None = None,
    header_timeout_s: float = HEADER_TIMEOUT_S,
) -> _ThreadingServer:
    """Serve GET /metrics on host:port from a daemon thread; `.shutdown()` stops it."""
    server_class = _ThreadingServer6 if ":" in host else _ThreadingServer
    app = metrics_wsgi_app(read_queue, token, throttle)
    handler = type("_Handler", (_QuietHandler,), {"header_timeout_s": header_timeout_s})
    server = make_server(host.strip("[]"), port, app, server_class, handler_class=handler)
    threading.Thread(target=server.serve_forever, name="metrics-server", daemon=True).start()
    return server
