"""Two API processes on one set of uploads (shared data dir and database): a HEAD or PATCH on
one ends a stalled PATCH held by the other, and a killed holder does not block the upload
(its lock row names a dead process on this host, so it is free at once, not after the lease)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

import httpx
import pytest

from tests.support.pg_database import fresh_pg_url  # noqa: E402

from .server_process import ServerProcess
from .test_tus_faults import OCTETS, create_upload, offset_of, open_patch

TAKEOVER_LIMIT_S = 1.5  # the holder's watcher looks every 0.1 s; the rest is HTTP and the database


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def two_servers(request, tmp_path_factory) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two servers per database, shared by this module's tests (the last one kills the first)."""
    data = tmp_path_factory.mktemp(request.param) / "data"
    with _database_url(request.param) as url:
        settings = {"min_free_disk_bytes": "0", **({"database_url": url} if url else {})}
        servers = [ServerProcess(data, **settings) for _ in range(2)]
        try:
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(ServerProcess.start, servers))
            yield servers[0], servers[1]
        finally:
            for server in servers:
                server.stop()


def _database_url(kind: str):
    return fresh_pg_url() if kind == "postgres" else nullcontext("")


def test_a_head_on_another_process_ends_a_stalled_patch(two_servers):
    first, second = two_servers
    payload = os.urandom(512 * 1024)
    with httpx.Client(base_url=second.url, timeout=15) as client:
        url = create_upload(client, len(payload))
        stalled = open_patch(url.replace(second.url, first.url), 0, len(payload))
        stalled.sendall(payload[:100_000])
        time.sleep(0.5)
        started = time.monotonic()
        assert offset_of(client, url) == 100_000
        assert time.monotonic() - started < TAKEOVER_LIMIT_S
        stalled.settimeout(5)
        assert stalled.recv(4096).startswith(b"HTTP/1.1 400")
        stalled.close()
        rest = client.patch(
            url, content=payload[100_000:], headers={**OCTETS, "Upload-Offset": "100000"}
        )
        assert rest.status_code == 204, rest.text
        assert rest.headers["Upload-Offset"] == str(len(payload))


def test_a_patch_on_another_process_takes_over_and_completes(two_servers):
    first, second = two_servers
    payload = os.urandom(256 * 1024)
    with httpx.Client(base_url=first.url, timeout=15) as client:
        url = create_upload(client, len(payload))
        stalled = open_patch(url, 0, len(payload))
        stalled.sendall(payload[:50_000])
        time.sleep(0.5)
        started = time.monotonic()
        late = client.patch(
            url.replace(first.url, second.url),
            content=payload[50_000:],
            headers={**OCTETS, "Upload-Offset": "50000"},
        )
        assert time.monotonic() - started < TAKEOVER_LIMIT_S
        assert late.status_code == 204, late.text
        assert late.headers["Upload-Offset"] == str(len(payload))
        stalled.close()


def test_a_killed_holder_does_not_block_the_upload(two_servers):
    first, second = two_servers
    payload = os.urandom(256 * 1024)
    with httpx.Client(base_url=second.url, timeout=15) as client:
        url = create_upload(client, len(payload))
        stalled = open_patch(url.replace(second.url, first.url), 0, len(payload))
        stalled.sendall(payload[:70_000])
        time.sleep(0.5)
        first.kill()
        stalled.close()
        started = time.monotonic()
        offset = offset_of(client, url)  # what reached the disk before the kill
        assert time.monotonic() - started < TAKEOVER_LIMIT_S
        rest = client.patch(
            url, content=payload[offset:], headers={**OCTETS, "Upload-Offset": str(offset)}
        )
        assert rest.status_code == 204, rest.text
        assert rest.headers["Upload-Offset"] == str(len(payload))
