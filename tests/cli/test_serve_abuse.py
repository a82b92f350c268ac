"""`lipforge serve` under protocol abuse, over real sockets: silent and slow-header connections
are closed at LIPFORGE_HEADER_TIMEOUT_S, and a rebound host name gets 421 from the open server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

LIPFORGE = str(Path(sys.executable).parent / "lipforge")
HEADER_TIMEOUT_S = 1.0
SILENT_CONNECTIONS = 60
SLOW_CONNECTIONS = 5
START_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("abuse") / "data"
    port = free_port()
    env = dict(os.environ, LIPFORGE_HEADER_TIMEOUT_S=str(HEADER_TIMEOUT_S))
    command = [LIPFORGE, "serve", "--no-worker", "--data", str(data), "--port", str(port)]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert process.poll() is None and time.monotonic() < deadline, "serve did not start"
            try:
                if httpx.get(f"{base_url}/api/health", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield port, base_url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def closed_by_server(sock: socket.socket, within_s: float) -> bool:
    sock.settimeout(within_s)
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_connections_that_do_not_finish_their_headers_are_closed(server):
    port, base_url = server
    silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(SILENT_CONNECTIONS)]
    slow = [socket.create_connection(("127.0.0.1", port)) for _ in range(SLOW_CONNECTIONS)]
    started = time.monotonic()
    try:
        for sock in slow:
            sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        for _ in range(int(HEADER_TIMEOUT_S / 0.25) + 4):  # a header byte every 0.25 s
            time.sleep(0.25)
            for sock in slow:
                try:
                    sock.sendall(b"X")
                except OSError:
                    pass
        assert all(closed_by_server(sock, 5.0) for sock in silent + slow)
        assert time.monotonic() - started < HEADER_TIMEOUT_S + 10
        assert httpx.get(f"{base_url}/api/health").status_code == 200  # still serving
    finally:
        for sock in silent + slow:
            sock.close()


def test_a_slow_but_complete_request_is_answered(server):
    port, _ = server
    with socket.create_connection(("127.0.0.1", port)) as sock:
        for piece in (b"GET /api/health HTTP/1.1\r\n", b"Host: 127.0.0.1\r\n", b"\r\n"):
            sock.sendall(piece)
            time.sleep(HEADER_TIMEOUT_S / 4)
        sock.settimeout(5.0)
        assert sock.recv(1024).startswith(b"HTTP/1.1 200")


def test_an_open_server_refuses_a_rebound_host_name(server):
    _, base_url = server
    headers = {"Host": "evil.example", "Tus-Resumable": "1.0.0", "Upload-Length": "3"}
    for method, path in (("GET", "/api/assets"), ("POST", "/api/uploads/")):
        answer = httpx.request(method, base_url + path, headers=headers)
        assert answer.status_code == 421 and "location" not in answer.headers
        assert answer.json()["error"] == "misdirected_host"
    assert httpx.get(base_url + "/api/assets", headers={"Host": "localhost"}).status_code == 200
