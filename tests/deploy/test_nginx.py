"""deploy/nginx/lipforge.conf for real: Debian's nginx (TLS) in front of two `lipforge serve
--no-worker --behind-proxy` processes sharing one data dir and database, round robin.

- X-Forwarded-* reach the API: tus upload URLs name nginx's https address, not a backend.
- The event stream is not buffered: progress written to the database reaches an SSE client
  through nginx within 250 ms (p95).
- A 1 GiB upload by tus-js-client passes in chunks that land on both processes; one process
  is killed midway, the client resumes through the other, and the asset has the file's sha256.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import ssl
import statistics
import struct
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from lipforge.db import create_db_engine, session_factory, utc_now
from lipforge.jobs import queue
from lipforge.jobs.tables import Batch
from lipforge.render.spec import RenderSpec

from .harness import (
    TOKEN,
    ApiProcess,
    Nginx,
    free_port,
    make_certificate,
    nginx_available,
    render_site_conf,
)

JS_DIR = Path(__file__).resolve().parents[1] / "js"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TUS = {"Tus-Resumable": "1.0.0"}
GIB = 1024**3
CHUNK_BYTES = 16 * 1024 * 1024
KILL_AT_FRACTION = 0.4
UPLOAD_TIMEOUT_S = 240
PROGRESS_WRITES = 40
PROGRESS_INTERVAL_S = 0.1
P95_LIMIT_S = 0.25


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """nginx on https://127.0.0.1:<port> in front of two API processes; yields a dict."""
    if not nginx_available():
        pytest.fail("nginx is not installed: apt-get install nginx (.ci/run does)")
    root = tmp_path_factory.mktemp("deploy")
    cert, key = make_certificate(root)
    data = root / "data"
    data.mkdir()
    apis = [ApiProcess(data), ApiProcess(data)]
    nginx = None
    try:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda api: api.start().wait_ready(), apis))
        https_port, http_port = free_port(), free_port()
        conf = render_site_conf(https_port, http_port, [api.port for api in apis], cert, key)
        nginx = Nginx(root / "nginx", conf, https_port).start()
        yield {
            "url": f"https://127.0.0.1:{https_port}",
            "http_url": f"http://127.0.0.1:{http_port}",
            "cert": cert,
            "apis": apis,
            "data": data,
            "root": root,
        }
    finally:
        if nginx is not None:
            nginx.stop()
        for api in apis:
            api.stop()


def trust(stack) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(stack["cert"]))


def client(stack) -> httpx.Client:
    return httpx.Client(base_url=stack["url"], verify=trust(stack), headers=AUTH, timeout=30)


def test_plain_http_is_sent_to_https(stack):
    answer = httpx.get(stack["http_url"] + "/api/health", follow_redirects=False)
    assert answer.status_code == 301
    assert answer.headers["location"].startswith("https://127.0.0.1")


def test_upload_urls_name_the_proxy_not_a_backend(stack):
    with client(stack) as http:
        created = http.post("/api/uploads/", headers={**TUS, "Upload-Length": "10"})
        assert created.status_code == 201, created.text
        assert created.headers["location"].startswith(stack["url"] + "/api/uploads/")
        assert http.delete(created.headers["location"], headers=TUS).status_code == 204


def write_progress(url: str, started: threading.Event) -> None:
    """A stand-in worker: one job whose progress is written every PROGRESS_INTERVAL_S."""
    engine = create_db_engine(url)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        batch = Batch(id=queue.new_id(), created_at=utc_now(), options={})
        session.add(batch)
        session.flush()
        queue.enqueue_jobs(session, batch.id, [RenderSpec("a" * 32, "v" * 32, "p.mp4")])
    job = queue.claim_next_job(sessions, "deploy-test-writer", lease_s=600)
    started.wait(30)
    for frame in range(1, PROGRESS_WRITES + 1):
        queue.record_progress(sessions, job, frame, PROGRESS_WRITES, 25.0, lease_s=600)
        time.sleep(PROGRESS_INTERVAL_S)
    queue.finish_job(sessions, job, f"{job.batch_id}/p.mp4", lambda: None)
    engine.dispose()


async def progress_delays(stack, opened: threading.Event) -> list[float]:
    delays: list[float] = []
    async with httpx.AsyncClient(
        verify=trust(stack), headers=AUTH, timeout=httpx.Timeout(60.0)
    ) as http:
        async with http.stream("GET", stack["url"] + "/api/events") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            kind = data = None
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    data = line[5:].strip()
                elif line == "" and kind:
                    if kind == "stream.open":
                        opened.set()
                    elif kind == "job.progress":
                        payload = json.loads(data)
                        written = datetime.fromisoformat(payload["created_at"]).timestamp()
                        delays.append(time.time() - written)
                        if payload["job"]["frames_done"] == PROGRESS_WRITES:
                            return delays
                    kind = data = None
    return delays


def test_event_stream_through_nginx_brings_progress_within_250_ms(stack):
    url = f"sqlite:///{stack['data'] / 'lipforge.db'}"
    opened = threading.Event()
    writer = threading.Thread(target=write_progress, args=(url, opened), daemon=True)
    writer.start()
    delays = asyncio.run(asyncio.wait_for(progress_delays(stack, opened), 120))
    writer.join(30)
    assert len(delays) >= PROGRESS_WRITES * 0.8, delays
    p95 = statistics.quantiles(delays, n=20)[18]
    print(f"SSE through nginx: {len(delays)} progress events, p50 "
          f"{statistics.median(delays) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")  # fmt: skip
    assert p95 <= P95_LIMIT_S


def write_wav(path: Path, size_bytes: int) -> str:
    """A WAV file (16-bit stereo 48 kHz noise) of exactly `size_bytes`; its sha256."""
    data_bytes = size_bytes - 44
    header = b"RIFF" + struct.pack("<I", size_bytes - 8) + b"WAVEfmt "
    header += struct.pack("<IHHIIHH", 16, 1, 2, 48000, 48000 * 4, 4, 16)
    header += b"data" + struct.pack("<I", data_bytes)
    digest = hashlib.sha256(header)
    block = 64 * 1024 * 1024
    with open(path, "wb") as out:
        out.write(header)
        left = data_bytes
        while left:
            piece = os.urandom(min(block, left))
            digest.update(piece)
            out.write(piece)
            left -= len(piece)
    return digest.hexdigest()


def upload_data_file(data: Path) -> Path | None:
    files = [p for p in (data / "uploads").iterdir() if len(p.name) == 32]
    return files[0] if files else None


@pytest.fixture(scope="module")  # module scope: set up before the stack, not after it
def tus_js_client() -> None:
    """Skip (before the stack starts) when Node or tests/js/node_modules is missing."""
    if shutil.which("node") is None:
        pytest.skip(
            "node is not installed: apt-get install nodejs npm, then (cd tests/js && npm ci)"
        )
    if not (JS_DIR / "node_modules" / "tus-js-client").is_dir():
        pytest.skip(
            "tus-js-client is not installed: run (cd tests/js && npm ci) or scripts/test.sh"
        )


def test_one_gib_upload_resumes_through_the_other_process_when_one_is_killed(tus_js_client, stack):
    """Runs last in this module: it kills the first API process."""
    first, second = stack["apis"]
    source = stack["root"] / "lecture-1gib.wav"
    expected_sha256 = write_wav(source, GIB)
    options = {
        "endpoint": stack["url"] + "/api/uploads/",
        "file": str(source),
        "chunkSize": CHUNK_BYTES,
        "storage": str(stack["root"] / "tus-urls.json"),
        "headers": AUTH,
        "retryDelays": [0, 300, 1000, 2000, 4000],
    }
    env = {**os.environ, "NODE_EXTRA_CA_CERTS": str(stack["cert"])}
    started = time.monotonic()
    node = subprocess.Popen(
        ["node", str(JS_DIR / "upload.mjs"), json.dumps(options)],
        cwd=JS_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        first_bytes = kill_first_midway(stack, first, node)
        stdout, stderr = node.communicate(timeout=UPLOAD_TIMEOUT_S)
    finally:
        if node.poll() is None:
            node.kill()
    upload_s = time.monotonic() - started
    result = json.loads(stdout.strip().splitlines()[-1]) if stdout.strip() else {"error": stderr}
    assert "url" in result, result
    assert first_bytes > 0
    assert second.metric("lipforge_upload_bytes_total") > 0
    with client(stack) as http:
        status = wait_until_imported(http, result["url"])
        assert status["state"] == "done", status
        asset = http.get(f"/api/assets/{status['asset_id']}").json()
    rate_mb_s = GIB / upload_s / 1e6
    print(
        f"1 GiB through nginx with a kill at {KILL_AT_FRACTION:.0%}: {upload_s:.1f} s "
        f"({rate_mb_s:.0f} MB/s); first process took {first_bytes / 2**20:.0f} MiB"
    )
    assert asset["sha256"] == expected_sha256
    assert asset["size_bytes"] == GIB


def kill_first_midway(stack, first: ApiProcess, node: subprocess.Popen) -> float:
    """SIGKILL the first API process once it took chunks and the upload is KILL_AT_FRACTION in."""
    deadline = time.monotonic() + UPLOAD_TIMEOUT_S
    while time.monotonic() < deadline:
        assert node.poll() is None, node.communicate()
        path = upload_data_file(stack["data"])
        if path is not None and path.stat().st_size >= GIB * KILL_AT_FRACTION:
            first_bytes = first.metric("lipforge_upload_bytes_total")
            if first_bytes > 0:
                first.kill()
                return first_bytes
        time.sleep(0.05)
    raise AssertionError("the upload did not reach the kill point in time")


def wait_until_imported(http: httpx.Client, url: str) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = http.get(url).json()
        if status["state"] in ("done", "refused"):
            return status
        time.sleep(0.2)
    raise AssertionError(f"upload not imported: {status}")
