"""`lipforge serve` under protocol abuse, over real sockets: silent and slow-header connections
are closed at LIPFORGE_HEADER_TIMEOUT_S, and a rebound host name gets 421 from the open server."""

from __future__ import annotations

import socket
import time

import httpx
import pytest
from tests.support.serving import lipforge_serve

HEADER_TIMEOUT_S = 1.0
SILENT_CONNECTIONS = 60
SLOW_CONNECTIONS = 5


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("abuse") / "data"
    with lipforge_serve(data, header_timeout_s=str(HEADER_TIMEOUT_S)) as served:
        yield served


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
