"""The tus client holds every request to a deadline, a minimum rate and an answer size: a server
that reads a chunk too slowly, never answers, or answers without end stops the upload with a
reason naming it, instead of holding `lipforge upload` forever."""

from __future__ import annotations

import socket
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest

from lipforge.uploads.client import TusUploader, UploadLimitError, UploadLimits

MIB = 1024 * 1024
READ_BYTES, READ_EVERY_S = 4096, 0.1  # the slow server takes 40 KiB/s of a PATCH body


class _StandIn(BaseHTTPRequestHandler):
    """Just enough tus to reach the first PATCH; `mode` chooses how it then misbehaves."""

    protocol_version = "HTTP/1.1"
    mode = "slow_reader"

    def log_message(self, *_args) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self._answer(201, {"Location": "/api/uploads/u1"})

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(200, {"Upload-Offset": "0", "Upload-Length": "0"})

    def do_PATCH(self) -> None:  # noqa: N802
        left = int(self.headers["Content-Length"])
        try:
            while left > 0:
                got = self.rfile.read(min(READ_BYTES, left))
                if not got:
                    return
                left -= len(got)
                if self.mode == "slow_reader":
                    time.sleep(READ_EVERY_S)
            if self.mode == "silent":
                time.sleep(30)
            if self.mode == "endless_answer":
                self._endless()
        except OSError:
            pass

    def _endless(self) -> None:
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        while True:
            self.wfile.write(b"1000\r\n" + b"x" * 4096 + b"\r\n")

    def _answer(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in {**headers, "Content-Length": "0", "Tus-Resumable": "1.0.0"}.items():
            self.send_header(name, value)
        self.end_headers()


@pytest.fixture
def stand_in(request):
    handler = type("Handler", (_StandIn,), {"mode": request.param})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _upload(base: str, tmp_path, limits: UploadLimits, seconds: float) -> UploadLimitError:
    video = tmp_path / "face.mp4"
    video.write_bytes(b"\0" * (16 * MIB))
    uploader = TusUploader(base, state_dir=tmp_path / "state", chunk_bytes=8 * MIB, limits=limits)
    started = time.monotonic()
    with pytest.raises(UploadLimitError) as caught:
        uploader.upload(video, parallel=1)
    uploader.close()
    assert time.monotonic() - started < seconds
    assert caught.value.code == "transfer_limit" and caught.value.params["host"] == "127.0.0.1"
    assert "127.0.0.1" in str(caught.value) and "resume" in str(caught.value)
    return caught.value


@pytest.mark.parametrize("stand_in", ["slow_reader"], indirect=True)
def test_a_server_that_reads_a_chunk_slowly_ends_the_upload(stand_in, tmp_path):
    limits = UploadLimits(min_rate_bps=512 * 1024, window_s=1.0)
    error = _upload(stand_in, tmp_path, limits, 15.0)
    assert error.params["reason"] == "too_slow", error
    assert "took" in str(error) and "minimum of 524288 bytes/s" in str(error)


@pytest.mark.parametrize("stand_in", ["silent"], indirect=True)
def test_a_chunk_that_gets_no_answer_ends_at_its_deadline(stand_in, tmp_path):
    limits = UploadLimits(min_rate_bps=64 * MIB, window_s=1.0, request_deadline_s=2.0)
    error = _upload(stand_in, tmp_path, limits, 10.0)
    assert error.params["reason"] == "deadline" and error.params["deadline_s"] > 2.0, error


@pytest.mark.parametrize("stand_in", ["endless_answer"], indirect=True)
def test_an_endless_answer_ends_at_the_answer_limit(stand_in, tmp_path):
    limits = UploadLimits(window_s=1.0, max_answer_bytes=64 * 1024)
    error = _upload(stand_in, tmp_path, limits, 10.0)
    assert error.params["reason"] == "too_large" and error.params["max_bytes"] == 64 * 1024
