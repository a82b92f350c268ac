"""An in-process HTTP/1.1 file server for download tests and the download bench.

It serves named byte strings with ETag/Last-Modified and single byte ranges (If-Range
compared strongly), and can misbehave on demand: ignore Range, send a wrong
Content-Range, start a range earlier than asked (as RFC 9110 allows), reset or stall a
connection mid-body, throttle each connection, gzip bodies, change a file between runs,
and redirect to signed URLs that expire. It counts the body bytes it sends so tests can
say how much was fetched twice.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

SEND_CHUNK_BYTES = 16 * 1024
LAST_MODIFIED = "Wed, 21 Oct 2026 07:28:00 GMT"


@dataclass
class Behaviour:
    """Switches for misbehaviour; counts (`*_times`) say how many responses misbehave."""

    ignore_range: bool = False
    ignore_long_ranges: bool = False  # honour the 1-byte probe, answer 200 to longer ranges
    wrong_content_range: bool = False  # label a range one byte later than the body starts
    wrong_total: bool = False  # label ranges with a total one byte too big
    start_earlier_bytes: int = 0  # answer a range from this many bytes before the asked start
    reset_after_bytes: int | None = None
    reset_times: int = 0
    stall_after_bytes: int | None = None
    stall_times: int = 0
    stall_s: float = 5.0
    rate_bps_per_connection: float | None = None
    gzip_all: bool = False
    gzip_ranges: bool = False  # gzip only ranges longer than one byte (not the probe)
    weak_etag: bool = False
    send_etag: bool = True
    send_last_modified: bool = True
    signed_ttl_s: float | None = None  # /signed/<t>/... answers 403 this long after issue
    first_byte_delay_s: float = 0.0
    slow_times: int = 0  # this many ranged bodies crawl at slow_rate_bps
    slow_rate_bps: float = 20_000.0
    change_after_bytes: int | None = None  # swap in `changed` once this many body bytes went out
    changed: tuple[str, bytes] | None = None


@dataclass
class Served:
    data: bytes
    etag: str


@dataclass
class Stats:
    body_bytes: int = 0
    proxied: int = 0
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)


class FileServer:
    """`with FileServer() as server: server.put('/model.onnx', data); server.url('/model.onnx')`."""

    def __init__(self, behaviour: Behaviour | None = None):
        self.behaviour = behaviour or Behaviour()
        self.files: dict[str, Served] = {}
        self.stats = Stats()
        self.lock = threading.Lock()
        self._signed: dict[str, float] = {}
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> FileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def url(self, path: str) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}{path}"

    def put(self, path: str, data: bytes, etag: str | None = None) -> None:
        tag = etag or '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
        self.files[path] = Served(data, tag)

    def count(self, counter: str, amount: int = 1) -> None:
        with self.lock:
            setattr(self.stats, counter, getattr(self.stats, counter) + amount)

    def take_misbehaviour(self, name: str) -> bool:
        """True (and one fewer left) when the next response should misbehave as `name`."""
        with self.lock:
            left = getattr(self.behaviour, f"{name}_times")
            if left <= 0:
                return False
            setattr(self.behaviour, f"{name}_times", left - 1)
            return True

    def maybe_change(self) -> None:
        limit, changed = self.behaviour.change_after_bytes, self.behaviour.changed
        if limit is not None and changed is not None and self.stats.body_bytes >= limit:
            with self.lock:
                self.behaviour.changed = None
            self.put(*changed)

    def sign(self, path: str) -> str:
        token = hashlib.sha256(f"{path}{time.monotonic()}".encode()).hexdigest()[:12]
        with self.lock:
            self._signed[token] = time.monotonic()
        return f"/signed/{token}{path}"

    def signed_valid(self, token: str) -> bool:
        issued = self._signed.get(token)
        ttl = self.behaviour.signed_ttl_s
        return issued is not None and (ttl is None or time.monotonic() - issued <= ttl)


_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


def _make_handler(server: FileServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def handle(self) -> None:
            try:
                super().handle()
            except (ConnectionError, OSError):
                pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            with server.lock:
                server.stats.requests.append((self.path, dict(self.headers)))
            path = self.path
            if path.startswith("http://"):
                server.count("proxied")
                path = urlsplit(path).path
            if server.behaviour.signed_ttl_s is not None and not path.startswith("/signed/"):
                return self._redirect(server.sign(path))
            if path.startswith("/signed/"):
                token, path = path.split("/", 3)[2], "/" + path.split("/", 3)[3]
                if not server.signed_valid(token):
                    return self._status(403, b"signature expired")
            served = server.files.get(path)
            if served is None:
                return self._status(404, b"no such file")
            self._serve(served)

        def _serve(self, served: Served) -> None:
            behaviour, data = server.behaviour, served.data
            wanted = self._wanted_range(served)
            headers = self._validators(served)
            if wanted is None:
                status, body = 200, data
            else:
                first, last = wanted
                if first >= len(data):
                    return self._status(416, b"", {"Content-Range": f"bytes */{len(data)}"})
                last = min(last, len(data) - 1)
                first = max(0, first - behaviour.start_earlier_bytes)
                status, body = 206, data[first : last + 1]
                shown = first + 1 if behaviour.wrong_content_range else first
                total = len(data) + 1 if behaviour.wrong_total and last > first else len(data)
                headers["Content-Range"] = f"bytes {shown}-{last}/{total}"
            if behaviour.gzip_all or (behaviour.gzip_ranges and status == 206 and len(body) > 1):
                body = gzip.compress(body)
                headers["Content-Encoding"] = "gzip"
            headers["Content-Length"] = str(len(body))
            headers["Accept-Ranges"] = "bytes"
            self._send_head(status, headers)
            self._send_body(body)

        def _wanted_range(self, served: Served) -> tuple[int, int] | None:
            match = _RANGE.match(self.headers.get("Range", "").strip())
            if not match or server.behaviour.ignore_range:
                return None
            long_range = match.group(1) != match.group(2)
            if long_range and server.behaviour.ignore_long_ranges:
                return None
            if_range = self.headers.get("If-Range")
            if if_range is not None and not self._if_range_holds(if_range, served):
                return None
            last = int(match.group(2)) if match.group(2) else len(served.data) - 1
            return int(match.group(1)), last

        def _if_range_holds(self, value: str, served: Served) -> bool:
            if value.startswith('"') or value.startswith("W/"):
                return not value.startswith("W/") and value == served.etag
            return value == LAST_MODIFIED

        def _validators(self, served: Served) -> dict[str, str]:
            headers = {}
            if server.behaviour.send_etag:
                weak = "W/" if server.behaviour.weak_etag else ""
                headers["ETag"] = weak + served.etag
            if server.behaviour.send_last_modified:
                headers["Last-Modified"] = LAST_MODIFIED
            return headers

        def _send_head(self, status: int, headers: dict[str, str]) -> None:
            with server.lock:
                server.stats.statuses.append(status)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()

        def _send_body(self, body: bytes) -> None:
            behaviour = server.behaviour
            reset_at = behaviour.reset_after_bytes if len(body) > 1 else None
            reset = reset_at is not None and server.take_misbehaviour("reset")
            stall_at = behaviour.stall_after_bytes if len(body) > 1 else None
            stall = stall_at is not None and server.take_misbehaviour("stall")
            slow = len(body) > 1 and server.take_misbehaviour("slow")
            if behaviour.first_byte_delay_s:
                time.sleep(behaviour.first_byte_delay_s)
            view, sent, started = memoryview(body), 0, time.monotonic()
            while sent < len(body):
                if reset and sent >= reset_at:
                    return self._reset()
                if stall and sent >= stall_at:
                    time.sleep(behaviour.stall_s)
                    stall = False
                piece = view[sent : sent + SEND_CHUNK_BYTES]
                self.wfile.write(piece)
                sent += len(piece)
                server.count("body_bytes", len(piece))
                server.maybe_change()
                self._pace(sent, started, behaviour.slow_rate_bps if slow else None)

        def _pace(self, sent: int, started: float, slow_rate_bps: float | None) -> None:
            rate = slow_rate_bps or server.behaviour.rate_bps_per_connection
            if rate:
                ahead_s = sent / rate - (time.monotonic() - started)
                if ahead_s > 0:
                    time.sleep(ahead_s)

        def _reset(self) -> None:
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True

        def _redirect(self, location: str) -> None:
            self._status(302, b"", {"Location": location})

        def _status(self, status: int, body: bytes, extra: dict | None = None) -> None:
            self._send_head(status, {**(extra or {}), "Content-Length": str(len(body))})
            self.wfile.write(body)

    return Handler
