"""Helpers for the batch, job and event API tests: asset rows, a stand-in worker, a live server.

`add_asset` writes an asset row (the API only reads rows; tests that render use real
files through `ingest_file`). `FakeWorker` drives jobs through the real queue functions
as a worker would, without rendering. `LiveServer` runs the real app under uvicorn in a
thread, for streams (SSE) that the in-process TestClient cannot hold open.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import uvicorn
from tests.support.serving import free_port

from lipforge.assets.table import Asset
from lipforge.db import utc_now
from lipforge.jobs import queue

SERVER_START_TIMEOUT_S = 20.0


def add_asset(
    sessions,
    kind: str,
    name: str,
    duration_s: float = 2.0,
    fps: float | None = 25.0,
    has_audio: bool | None = None,
) -> str:
    asset_id = uuid.uuid4().hex
    with sessions.begin() as session:
        session.add(
            Asset(
                id=asset_id,
                kind=kind,
                original_name=name,
                size_bytes=1000,
                sha256=uuid.uuid4().hex + uuid.uuid4().hex,
                relative_path=f"{asset_id}.bin",
                duration_s=duration_s,
                fps=fps if kind == "video" else None,
                width=512 if kind == "video" else None,
                height=512 if kind == "video" else None,
                has_audio=(kind == "audio") if has_audio is None else has_audio,
                source="upload",
                created_at=utc_now(),
            )
        )
    return asset_id


class FakeWorker:
    """Claims and ends jobs through the queue module, writing small fake outputs."""

    def __init__(self, sessions, outputs_dir: Path, worker_id: str = "test-worker") -> None:
        self.sessions = sessions
        self.outputs_dir = outputs_dir
        self.worker_id = worker_id

    def claim(self) -> queue.ClaimedJob:
        job = queue.claim_next_job(self.sessions, self.worker_id)
        assert job is not None, "no queued job to claim"
        return job

    def progress(self, job: queue.ClaimedJob, done: int, total: int) -> queue.LeaseState:
        return queue.record_progress(self.sessions, job, done, total, fps=50.0)

    def succeed(self, job: queue.ClaimedJob, content: bytes) -> bool:
        relpath = f"{job.batch_id}/{job.spec['output_name']}"
        target = self.outputs_dir / relpath

        def commit_output() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)

        return queue.finish_job(self.sessions, job, relpath, commit_output)

    def fail(self, job: queue.ClaimedJob, message: str) -> bool:
        return queue.fail_job(self.sessions, job, "no_face", message)


class LiveServer:
    """The app under a real uvicorn in a background thread; `url` is its base address."""

    def __init__(self, app) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
