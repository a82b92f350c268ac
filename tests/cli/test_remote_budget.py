"""The CLI's client of a LipForge server holds each API call to a deadline, a minimum rate and
an answer size, and an output download to its own, also through the proxy HTTP_PROXY names;
the event stream, meant to stay open between pings, is exempt."""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest
from tests.support.forward_proxy import ForwardProxy

from lipforge.cli.remote import (
    RemoteLimitError,
    call_api,
    download_output,
    open_client,
    read_events,
)
from lipforge.transfer import TransferLimits

SERVER = "lipforge.invalid"  # no DNS answers it: only the test's proxy knows where it is
LIMITS = TransferLimits(deadline_s=2.0, min_rate_bps=200.0, window_s=1.0, max_bytes=64 * 1024)


PACES = {  # path: (bytes, then a pause of seconds), for a 4000-byte answer
    # a byte every 1.5 s: under the minimum, and each pause longer than the 1 s rate window
    # (with 1 s pauses, the verdict was a race between the byte and the window's end)
    "/api/batches/trickle": (1, 1.5),
    "/api/batches/slow": (20, 0.05),  # 400 bytes/s, above the minimum, 10 s in all
    "/api/jobs/j1/output": (1, 1.0),
}


class _StandIn(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = self.path.split("?")[0]
        try:
            if path == "/api/events":
                self._events()
            elif path == "/api/batches/endless":
                self._endless()
            else:
                piece, every_s = PACES[path]
                self._send(200, 4000, "application/json", b" " * 4000, piece, every_s)
        except OSError:
            pass

    def _send(self, status, length, kind, body, piece=65536, every_s=0.0) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        if length is None:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(length))
        self.end_headers()
        for start in range(0, len(body), piece):
            self.wfile.write(body[start : start + piece])
            self.wfile.flush()
            time.sleep(every_s)

    def _endless(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Connection", "close")  # no length: the body ends when the server does
        self.close_connection = True
        self.end_headers()
        self.wfile.write(b"[")
        while True:
            self.wfile.write(b"0," * 32768)

    def _events(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.close_connection = True
        self.end_headers()
        for _ping in range(10):  # 3 s of pings, longer than the API deadline
            self.wfile.write(b": ping\n\n")
            self.wfile.flush()
            time.sleep(0.3)
        data = json.dumps({"job": {"id": "j1", "status": "succeeded"}}).encode()
        self.wfile.write(b"id: 7\nevent: job.succeeded\ndata: " + data + b"\n\n")
        self.wfile.flush()


@pytest.fixture
def client(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StandIn)
    server.daemon_threads = True
    Thread(target=server.serve_forever, daemon=True).start()
    with ForwardProxy({SERVER: ("127.0.0.1", server.server_address[1])}) as proxy:
        for name in ("NO_PROXY", "no_proxy", "http_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        with open_client(f"http://{SERVER}", None, LIMITS) as api:
            api.proxy_requests = proxy.requests
            yield api
    server.shutdown()
    server.server_close()


def _limit_error(action, seconds: float) -> RemoteLimitError:
    started = time.monotonic()
    with pytest.raises(RemoteLimitError) as caught:
        action()
    assert time.monotonic() - started < seconds
    error = caught.value
    assert error.code == "transfer_limit" and error.params["host"] == SERVER, error
    assert SERVER in str(error) and error.exit_code == 7
    return error


def test_a_trickling_answer_ends_under_the_minimum_rate(client):
    error = _limit_error(lambda: call_api(client, "GET", "/api/batches/trickle"), 6.0)
    assert error.params["reason"] == "too_slow" and error.params["min_rate_bps"] == 200.0
    assert ("GET", SERVER, "/api/batches/trickle") in client.proxy_requests


def test_a_steady_but_long_answer_ends_at_the_call_deadline(client):
    error = _limit_error(lambda: call_api(client, "GET", "/api/batches/slow"), 6.0)
    assert error.params["reason"] == "deadline" and error.params["deadline_s"] == 2.0


def test_an_endless_answer_ends_at_the_answer_limit(client):
    error = _limit_error(lambda: call_api(client, "GET", "/api/batches/endless"), 6.0)
    assert error.params["reason"] == "too_large" and error.params["max_bytes"] == 64 * 1024


def test_a_trickling_output_download_leaves_no_file(client, tmp_path):
    job = {"id": "j1", "output_name": "face.mp4"}
    output = TransferLimits(deadline_s=60.0, min_rate_bps=200.0, window_s=1.0)
    error = _limit_error(lambda: download_output(client, job, tmp_path, output), 6.0)
    assert error.params["reason"] == "too_slow" and "face.mp4" in str(error)
    assert list(tmp_path.iterdir()) == []


def test_the_event_stream_outlives_the_call_deadline(client):
    events = list(read_events(client, "b1", None))
    assert [event.kind for event in events] == ["job.succeeded"]
