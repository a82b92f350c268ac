"""Faults against a real uvicorn server: disconnects, stalls, SIGKILL, concurrent PATCHes."""

from __future__ import annotations

import os
import socket
import threading
import time
from functools import partial
from urllib.parse import urlsplit

import httpx

from .helpers import TUS, asset_sha256, metadata_for, sha256_of, wait_for_result
from .server_process import ServerProcess

HEALTH_LIMIT_S = 1.0
OCTETS = {**TUS, "Content-Type": "application/offset+octet-stream"}


def create_upload(client: httpx.Client, size: int, name: str = "clip.bin") -> str:
    response = client.post(
        "/api/uploads/",
        headers={**TUS, "Upload-Length": str(size), "Upload-Metadata": metadata_for(name)},
    )
    assert response.status_code == 201
    return response.headers["Location"]


def open_patch(url: str, offset: int, content_length: int) -> socket.socket:
    """A PATCH whose headers are sent and whose body the caller sends (or never does)."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port))
    head = (
        f"PATCH {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nTus-Resumable: 1.0.0\r\n"
        f"Upload-Offset: {offset}\r\nContent-Type: application/offset+octet-stream\r\n"
        f"Content-Length: {content_length}\r\n\r\n"
    )
    sock.sendall(head.encode())
    return sock


def offset_of(client: httpx.Client, url: str) -> int:
    response = client.head(url, headers=TUS)
    assert response.status_code == 200
    return int(response.headers["Upload-Offset"])


def data_file(server: ServerProcess, url: str):
    return server.data_dir / "uploads" / url.rsplit("/", 1)[1]


def test_bytes_before_a_client_disconnect_are_kept(live_server):
    payload = os.urandom(1024 * 1024)
    with httpx.Client(base_url=live_server.url) as client:
        url = create_upload(client, len(payload))
        sock = open_patch(url, 0, len(payload))
        sock.sendall(payload[:300_000])
        time.sleep(0.3)
        sock.close()
        time.sleep(0.5)
        assert offset_of(client, url) == 300_000
        assert data_file(live_server, url).read_bytes() == payload[:300_000]
        response = client.patch(
            url, content=payload[300_000:], headers={**OCTETS, "Upload-Offset": "300000"}
        )
        assert response.status_code == 204
        assert response.headers["Upload-Offset"] == str(len(payload))


def test_stalled_patch_is_taken_over_while_health_keeps_answering(live_server):
    payload = os.urandom(512 * 1024)
    with httpx.Client(base_url=live_server.url, timeout=10) as client:
        url = create_upload(client, len(payload))
        stalled = open_patch(url, 0, len(payload))
        stalled.sendall(payload[:100_000])
        time.sleep(0.5)
        started = time.monotonic()
        assert client.get("/api/health").status_code == 200
        assert time.monotonic() - started < HEALTH_LIMIT_S
        started = time.monotonic()
        assert offset_of(client, url) == 100_000
        assert time.monotonic() - started < HEALTH_LIMIT_S
        rest = client.patch(
            url, content=payload[100_000:], headers={**OCTETS, "Upload-Offset": "100000"}
        )
        assert rest.status_code == 204
        assert (
            data_file(live_server, url).exists() is False
            or data_file(live_server, url).read_bytes() == payload
        )
        stalled.settimeout(5)
        answer = stalled.recv(4096)
        assert answer == b"" or answer.startswith(b"HTTP/1.1 400")
        stalled.close()


def test_stalled_patch_is_taken_over_by_a_new_patch(live_server):
    payload = os.urandom(256 * 1024)
    with httpx.Client(base_url=live_server.url, timeout=10) as client:
        url = create_upload(client, len(payload))
        stalled = open_patch(url, 0, len(payload))
        stalled.sendall(payload[:50_000])
        time.sleep(0.5)
        started = time.monotonic()
        late = client.patch(
            url, content=payload[50_000:], headers={**OCTETS, "Upload-Offset": "50000"}
        )
        assert time.monotonic() - started < HEALTH_LIMIT_S
        assert late.status_code == 204, late.text
        assert late.headers["Upload-Offset"] == str(len(payload))
        stalled.close()


def test_two_patches_at_once_never_corrupt_the_file(live_server):
    payload = os.urandom(2 * 1024 * 1024)
    statuses: list[int] = []

    def slow_body():
        for start in range(0, len(payload), 64 * 1024):
            yield payload[start : start + 64 * 1024]
            time.sleep(0.01)

    def send(client: httpx.Client, url: str) -> None:
        response = client.patch(url, content=slow_body(), headers={**OCTETS, "Upload-Offset": "0"})
        statuses.append(response.status_code)

    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        url = create_upload(client, len(payload))
        threads = [threading.Thread(target=send, args=(client, url)) for _ in range(2)]
        for thread in threads:
            thread.start()
            time.sleep(0.1)
        for thread in threads:
            thread.join(30)
        assert all(status in (204, 400, 409) for status in statuses), statuses
        offset = offset_of(client, url)
        held = data_file(live_server, url).read_bytes()
        assert held == payload[:offset]
        if offset < len(payload):
            rest = client.patch(
                url, content=payload[offset:], headers={**OCTETS, "Upload-Offset": str(offset)}
            )
            assert rest.status_code == 204


def test_sigkill_mid_upload_then_resume_to_an_identical_asset(tmp_path, talking_head_512):
    payload = talking_head_512.read_bytes()
    half = len(payload) // 2
    server = ServerProcess(tmp_path / "data", min_free_disk_bytes="0").start()
    try:
        with httpx.Client(base_url=server.url) as client:
            url = create_upload(client, len(payload), "teacher.mp4")
        sock = open_patch(url, 0, len(payload))
        sock.sendall(payload[: half // 2])
        time.sleep(0.4)
        sock.sendall(payload[half // 2 : half])
        time.sleep(0.5)
        server.kill()
        sock.close()
    finally:
        server.stop()
    restarted = ServerProcess(tmp_path / "data", min_free_disk_bytes="0").start()
    try:
        path = urlsplit(url).path
        with httpx.Client(base_url=restarted.url) as client:
            offset = offset_of(client, path)
            assert offset == half
            response = client.patch(
                path, content=payload[offset:], headers={**OCTETS, "Upload-Offset": str(offset)}
            )
            assert response.status_code == 204
            status = wait_for_result(client, path)
            assert status["state"] == "done", status
            assert asset_sha256(client, status["asset_id"]) == sha256_of(talking_head_512)
    finally:
        restarted.stop()


def test_a_creation_with_upload_dropped_mid_body_leaves_no_upload(live_server):
    """Its client never got the Location: the upload would only fill the quota for 24 h."""
    parts = urlsplit(live_server.url)
    body = os.urandom(200_000)
    uploads = live_server.data_dir / "uploads"
    before = set(uploads.glob("*")) if uploads.exists() else set()
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        sock.sendall(
            f"POST /api/uploads/ HTTP/1.1\r\nHost: {parts.netloc}\r\nTus-Resumable: 1.0.0\r\n"
            f"Upload-Length: {len(body)}\r\nUpload-Metadata: {metadata_for('x.bin')}\r\n"
            "Content-Type: application/offset+octet-stream\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        sock.sendall(body[:50_000])
        time.sleep(0.5)
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        left = sorted(p.name for p in set(uploads.glob("*")) - before if p.name[0] != ".")
        if not left:
            break
        time.sleep(0.2)
    assert left == [], left


def finished_partial(client: httpx.Client, data: bytes) -> str:
    response = client.post("/api/uploads/", headers={**TUS, "Upload-Length": str(len(data)),
                                                     "Upload-Concat": "partial"})  # fmt: skip
    url = response.headers["Location"]
    assert (
        client.patch(url, content=data, headers={**OCTETS, "Upload-Offset": "0"}).status_code == 204
    )
    return urlsplit(url).path


def race(*calls):
    answers = [None] * len(calls)

    def run(index, call):
        answers[index] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


def test_a_final_racing_a_delete_or_another_final_never_answers_500(live_server):
    data = os.urandom(4 * 1024 * 1024)
    with httpx.Client(base_url=live_server.url, timeout=60) as client:
        for _ in range(3):
            parts = [finished_partial(client, data), finished_partial(client, data)]
            concat, delete = race(partial(post_final, client, parts),
                                  partial(client.delete, parts[0], headers=TUS))  # fmt: skip
            assert concat.status_code < 500 and delete.status_code < 500, (concat, delete)
            parts = [finished_partial(client, data), finished_partial(client, data)]
            first, second = race(*[partial(post_final, client, parts)] * 2)
            statuses = sorted([first.status_code, second.status_code])
            assert statuses[0] == 201 and 400 <= statuses[1] < 500, (first.text, second.text)


def post_final(client: httpx.Client, parts: list[str]) -> httpx.Response:
    return client.post(
        "/api/uploads/", headers={**TUS, "Upload-Concat": "final;" + " ".join(parts)}
    )
