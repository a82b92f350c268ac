"""The live event stream (SSE) as a client sees it, against the app under a real uvicorn.

Events are produced by the real queue functions (`FakeWorker`); the stream is read with
a small parser written here, independent of the project's own client.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time

import fastapi.routing
import httpx
import pytest
from batch_helpers import FakeWorker, LiveServer, add_asset
from tests.support.serving import free_port

from lipforge.api.app import create_app
from lipforge.config import Settings

TOKEN = "events-test-token-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
READ_TIMEOUT_S = 10.0
STATE_KINDS = {"job.queued", "job.started", "job.succeeded", "job.failed", "job.cancelled"}


@pytest.fixture
def server(tmp_path):
    with LiveServer(create_app(Settings(data=tmp_path / "data", token=TOKEN))) as live:
        yield live


@pytest.fixture
def sessions(server):
    return server.app.state.sessions


@pytest.fixture
def worker(server, sessions):
    return FakeWorker(sessions, server.app.state.settings.data_dir.outputs)


@pytest.fixture
def make_batch(server, sessions):
    def make(videos: int = 2) -> dict:
        audio = add_asset(sessions, "audio", "talk.wav")
        video_ids = [add_asset(sessions, "video", f"v{i}.mp4") for i in range(videos)]
        body = {"audio_asset_ids": [audio], "video_asset_ids": video_ids}
        response = httpx.post(f"{server.url}/api/batches", json=body, headers=BEARER)
        assert response.status_code == 201, response.text
        return response.json()

    return make


class SseReader:
    """One open event stream; `read_until` collects parsed events until a condition holds."""

    def __init__(self, base_url: str, params: dict | None = None, headers: dict | None = None):
        self.client = httpx.Client(timeout=httpx.Timeout(READ_TIMEOUT_S))
        self._stream = self.client.stream(
            "GET", f"{base_url}/api/events", params=params, headers={**BEARER, **(headers or {})}
        )
        self.response = self._stream.__enter__()
        self._lines = self.response.iter_lines()
        self.comments: list[str] = []

    def next_event(self) -> dict:
        fields: dict[str, str] = {}
        for line in self._lines:
            if line == "":
                if fields:
                    data = json.loads(fields["data"]) if "data" in fields else None
                    return {"id": fields.get("id"), "event": fields.get("event"), "data": data}
                continue
            if line.startswith(":"):
                self.comments.append(line)
                continue
            name, _, value = line.partition(": ")
            fields[name] = value
        raise AssertionError("the stream ended")

    def read_until(self, done) -> list[dict]:
        events: list[dict] = []
        while not events or not done(events):
            events.append(self.next_event())
        return events

    def close(self) -> None:
        self._stream.__exit__(None, None, None)
        self.client.close()


def kinds(events: list[dict]) -> list[str]:
    return [event["event"] for event in events]


def has(kind: str, job_id: str | None = None, count: int = 1):
    def done(events: list[dict]) -> bool:
        matching = [
            e
            for e in events
            if e["event"] == kind and (job_id is None or e["data"].get("job_id") == job_id)
        ]
        return len(matching) >= count

    return done


def test_stream_headers_and_first_event(server):
    reader = SseReader(server.url)
    try:
        assert reader.response.headers["content-type"].startswith("text/event-stream")
        assert reader.response.headers["x-accel-buffering"] == "no"
        assert reader.response.headers["cache-control"] == "no-cache"
        opened = reader.next_event()
        assert opened["event"] == "stream.open" and opened["id"] == "0"
    finally:
        reader.close()


def test_stream_requires_the_token(server):
    response = httpx.get(f"{server.url}/api/events", timeout=5)
    assert response.status_code == 401


def test_events_arrive_in_order_with_increasing_ids(server, make_batch, worker):
    reader = SseReader(server.url)
    try:
        reader.next_event()
        batch = make_batch(videos=2)
        first = worker.claim()
        worker.progress(first, 10, 50)
        worker.succeed(first, b"mp4")
        second = worker.claim()
        worker.fail(second, "no face found in v1.mp4 between 0 s and 10 s")
        events = reader.read_until(has("job.failed"))
        events.append(reader.next_event())  # the batch.updated written with it
    finally:
        reader.close()
    ids = [int(event["id"]) for event in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    mine = [e for e in events if e["data"].get("job_id") == first.id]
    assert kinds(mine) == ["job.queued", "job.started", "job.progress", "job.succeeded"]
    assert mine[2]["data"]["job"]["frames_done"] == 10
    assert mine[3]["data"]["job"]["status"] == "succeeded"
    failed = [e for e in events if e["event"] == "job.failed"][0]["data"]
    assert failed["job"]["error_message"] == "no face found in v1.mp4 between 0 s and 10 s"
    assert all(e["data"]["batch_id"] == batch["id"] for e in events if e["event"] in STATE_KINDS)
    updates = [e["data"]["batch"] for e in events if e["event"] == "batch.updated"]
    assert updates[-1]["counts"] == {"succeeded": 1, "failed": 1}


@pytest.mark.parametrize("resume_with", ["header", "query"])
def test_reconnect_with_last_event_id_misses_nothing_that_matters(
    server, make_batch, worker, resume_with
):
    reader = SseReader(server.url)
    try:
        reader.next_event()
        make_batch(videos=3)
        first = worker.claim()
        seen = reader.read_until(has("job.started"))
    finally:
        reader.close()
    last_id = seen[-1]["id"]
    for frames_done in range(1, 31):  # a burst of progress while the client is away
        worker.progress(first, frames_done, 30)
    worker.succeed(first, b"mp4")
    second = worker.claim()
    worker.fail(second, "corrupt")
    cancelled = httpx.post(f"{server.url}/api/jobs/{first.id}/cancel", headers=BEARER)
    assert cancelled.status_code == 409  # already succeeded: nothing changes
    resume = (
        {"headers": {"Last-Event-ID": last_id}}
        if resume_with == "header"
        else {"params": {"last_event_id": last_id}}
    )
    reader = SseReader(server.url, **resume)
    try:
        opened = reader.next_event()
        replay = reader.read_until(has("job.failed"))
    finally:
        reader.close()
    assert opened["event"] == "stream.open" and opened["id"] == last_id
    assert all(int(event["id"]) > int(last_id) for event in replay)
    state_changes = [(e["event"], e["data"]["job_id"]) for e in replay if e["event"] in STATE_KINDS]
    assert state_changes == [
        ("job.succeeded", first.id),
        ("job.started", second.id),
        ("job.failed", second.id),
    ]
    progress = [e for e in replay if e["event"] == "job.progress"]
    assert len(progress) == 1 and progress[0]["data"]["job"]["frames_done"] == 30


def test_a_batch_filter_keeps_other_batches_out(server, make_batch, worker):
    mine = make_batch(videos=1)
    reader = SseReader(server.url, params={"batch": mine["id"]})
    try:
        reader.next_event()
        other = make_batch(videos=1)
        worker.claim()  # mine is first in the queue
        theirs = worker.claim()
        worker.succeed(theirs, b"mp4")
        worker_events = reader.read_until(has("job.started"))
    finally:
        reader.close()
    assert {e["data"]["batch_id"] for e in worker_events} == {mine["id"]}
    assert other["id"] not in json.dumps(worker_events)


def test_progress_floods_are_coalesced(server, make_batch, worker):
    make_batch(videos=1)
    reader = SseReader(server.url)
    try:
        reader.next_event()
        job = worker.claim()
        started = time.monotonic()
        for frames_done in range(1, 201):
            worker.progress(job, frames_done, 200)
        worker.succeed(job, b"mp4")
        events = reader.read_until(has("job.succeeded"))
        elapsed_s = time.monotonic() - started
    finally:
        reader.close()
    progress = [e for e in events if e["event"] == "job.progress"]
    assert progress[-1]["data"]["job"]["frames_done"] == 200
    assert len(progress) <= 11 * elapsed_s + 3, (len(progress), elapsed_s)  # ~10 a second at most
    assert len(progress) < 100


def test_pings_keep_an_idle_stream_alive(server, make_batch, monkeypatch):
    monkeypatch.setattr(fastapi.routing, "_PING_INTERVAL", 0.3)
    reader = SseReader(server.url)
    try:
        reader.next_event()
        time.sleep(1.0)
        make_batch(videos=1)
        reader.read_until(has("job.queued"))
    finally:
        reader.close()
    assert ": ping" in reader.comments


def test_clients_that_go_away_free_their_subscription(server):
    bus = server.app.state.event_bus
    readers = [SseReader(server.url) for _ in range(3)]
    for reader in readers:
        reader.next_event()
    assert bus.subscriber_count == 3
    for reader in readers:
        reader.close()
    deadline = time.monotonic() + 10
    while bus.subscriber_count and time.monotonic() < deadline:
        time.sleep(0.1)
    assert bus.subscriber_count == 0


def test_two_hundred_clients_at_once_all_get_the_event(server, make_batch):
    clients = 200

    async def listen(client: httpx.AsyncClient, opened: asyncio.Queue) -> str:
        async with client.stream("GET", f"{server.url}/api/events", headers=BEARER) as response:
            lines = response.aiter_lines()
            async for line in lines:
                if line.startswith("event: stream.open"):
                    await opened.put(True)
                if line.startswith("event: job.queued"):
                    return line
        return ""

    async def run() -> list[str]:
        limits = httpx.Limits(max_connections=clients + 10)
        timeout = httpx.Timeout(60.0)
        async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
            opened: asyncio.Queue = asyncio.Queue()
            tasks = [asyncio.create_task(listen(client, opened)) for _ in range(clients)]
            for _ in range(clients):
                await asyncio.wait_for(opened.get(), 60)
            assert server.app.state.event_bus.subscriber_count == clients
            health = await client.get(f"{server.url}/api/health")
            assert health.status_code == 200
            await asyncio.to_thread(make_batch, 1)
            return await asyncio.wait_for(asyncio.gather(*tasks), 60)

    received = asyncio.run(run())
    assert received == ["event: job.queued"] * clients


# --- PostgreSQL: a worker process and a separate API process --------------------------------


@pytest.mark.postgres
@pytest.mark.slow
def test_progress_of_a_worker_process_reaches_sse_clients_of_another_api_process(
    tmp_path, speech_en_wav, make_talking_head
):
    import shutil
    import subprocess
    import sys
    from datetime import datetime
    from pathlib import Path

    from tests.support.pg_database import fresh_pg_url

    from lipforge.assets.library import ingest_file
    from lipforge.db import create_db_engine, migrate, session_factory

    with fresh_pg_url() as pg_url:
        clip = make_talking_head(tmp_path / "presenter.mp4", 2.0, (256, 256))
        settings = Settings(data=tmp_path / "shared-data", database_url=pg_url)
        settings.data_dir.ensure()
        migrate(pg_url)
        engine = create_db_engine(pg_url)
        sessions = session_factory(engine)
        assets = []
        for source in (speech_en_wav, clip):
            copy = tmp_path / f"in-{source.name}"
            shutil.copyfile(source, copy)
            assets.append(ingest_file(copy, source.name, "upload", sessions, settings))
        engine.dispose()
        env = {**os.environ, "LIPFORGE_DATABASE_URL": pg_url, "LIPFORGE_DATA": str(settings.data)}
        lipforge = str(Path(sys.executable).parent / "lipforge")
        port = free_port()
        api = subprocess.Popen(
            [lipforge, "serve", "--no-worker", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        worker = None
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for_api(url)
            body = {"audio_asset_ids": [assets[0].id], "video_asset_ids": [assets[1].id]}
            batch = httpx.post(f"{url}/api/batches", json=body, timeout=30).json()
            reader = SseReader(url, params={"batch": batch["id"]}, headers={})
            reader.next_event()
            worker = subprocess.Popen(
                [lipforge, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            arrivals = []
            events = []
            while not events or events[-1]["event"] not in ("job.succeeded", "job.failed"):
                events.append(reader.next_event())
                if events[-1]["event"] == "job.progress":
                    written = datetime.fromisoformat(events[-1]["data"]["created_at"])
                    arrivals.append(time.time() - written.timestamp())
            reader.close()
        finally:
            for process in (worker, api):
                if process is not None:
                    process.send_signal(signal.SIGINT)
            for process in (worker, api):
                if process is not None:
                    try:
                        process.wait(30)
                    except subprocess.TimeoutExpired:
                        process.kill()
    assert events[-1]["event"] == "job.succeeded", events[-1]
    assert "job.started" in kinds(events)
    progress = [e["data"]["job"]["frames_done"] for e in events if e["event"] == "job.progress"]
    assert progress and max(progress) > 0
    arrivals.sort()
    print(f"progress delay worker -> SSE client: p50 {arrivals[len(arrivals) // 2]:.3f} s")
    assert arrivals[len(arrivals) // 2] < 1.0  # NOTIFY wakes the API; its fallback poll is 2 s


def wait_for_api(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("the API process did not start")
