"""The queue on a real PostgreSQL server (LIPFORGE_TEST_PG_URL; a fresh database per test):
migrations, SKIP LOCKED claims, the fence and reaper, LISTEN/NOTIFY wake-ups, and two
worker processes sharing 200 jobs, each run exactly once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import inspect
from tests.support.database import migrated_sessions
from tests.support.jobs_factory import add_batch, add_placeholder_asset, output_relpath

from lipforge.config import Settings
from lipforge.db import create_db_engine, migrate
from lipforge.events import EventBus, publish_event
from lipforge.jobs import queue
from lipforge.jobs.tables import JobStatus

pytestmark = pytest.mark.postgres
NOOP_WORKER = Path(__file__).parents[1] / "support" / "noop_worker.py"


@pytest.fixture
def pg_settings(tmp_path: Path, pg_url: str) -> Settings:
    settings = Settings(data=tmp_path / "data", database_url=pg_url)
    settings.data_dir.ensure()
    return settings


@pytest.fixture
def pg_sessions(pg_settings: Settings):
    with migrated_sessions(pg_settings.database_url) as sessions:
        yield sessions


def test_migrations_run_on_postgres_and_again_without_change(pg_settings):
    migrate(pg_settings.database_url)
    migrate(pg_settings.database_url)
    engine = create_db_engine(pg_settings.database_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"assets", "batches", "jobs", "events", "workers", "alembic_version"} <= tables


def test_processes_starting_together_migrate_in_turn(pg_url):
    code = "import sys; from lipforge.db import migrate; migrate(sys.argv[1])"
    runs = [
        subprocess.Popen([sys.executable, "-c", code, pg_url], stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    errors = [run.communicate(timeout=120)[1] for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], errors


def test_threads_claiming_with_skip_locked_never_share_a_job(pg_sessions):
    _, ids = add_batch(pg_sessions, 80)
    claims: list[str] = []
    lock = threading.Lock()

    def claimer(name: str) -> None:
        while (job := queue.claim_next_job(pg_sessions, name)) is not None:
            with lock:
                claims.append(job.id)

    threads = [threading.Thread(target=claimer, args=(f"w{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claims) == sorted(ids)


def test_fence_and_reaper_on_postgres(pg_sessions):
    add_batch(pg_sessions, 1, max_attempts=2)
    stale = queue.claim_next_job(pg_sessions, "lost", lease_s=-1)
    assert queue.reap_stale_jobs(pg_sessions) == [(stale.id, "queued")]
    fresh = queue.claim_next_job(pg_sessions, "new", lease_s=-1)
    assert queue.finish_job(pg_sessions, stale, output_relpath(stale), lambda: None) is False
    assert queue.reap_stale_jobs(pg_sessions) == [(fresh.id, "failed")]
    with pg_sessions() as session:
        job = queue.get_job(session, fresh.id)
    assert (job.error_code, job.attempt) == ("worker_lost", 2)
    assert job.error_params == {"attempt": 2, "max_attempts": 2}


def test_notify_wakes_the_bus_sooner_than_its_fallback_poll(pg_sessions, pg_settings):
    async def scenario():
        bus = EventBus(pg_sessions, pg_settings.database_url)
        runner = asyncio.create_task(bus.run())
        try:
            await asyncio.sleep(1.0)
            with bus.subscribe() as subscription:
                delays = []
                for _ in range(5):
                    started = time.monotonic()
                    await asyncio.to_thread(_publish, pg_sessions)
                    events = await subscription.next_events(timeout_s=3.0)
                    assert [e.kind for e in events] == ["test.ping"]
                    delays.append(time.monotonic() - started)
                return delays
        finally:
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)

    delays = asyncio.run(scenario())
    assert max(delays) < 0.5


def _publish(sessions) -> None:
    with sessions.begin() as session:
        publish_event(session, "test.ping", {})


def test_two_worker_processes_run_200_jobs_each_exactly_once(pg_sessions, pg_settings, tmp_path):
    audio = add_placeholder_asset(pg_sessions, pg_settings, "audio", "a.wav")
    video = add_placeholder_asset(pg_sessions, pg_settings, "video", "v.mp4")
    batch_id, ids = add_batch(pg_sessions, 200, audio_id=audio, video_ids=[video] * 200)
    ledger = tmp_path / "ledger.txt"
    env = {**os.environ, "LIPFORGE_DATABASE_URL": pg_settings.database_url}
    workers = [
        subprocess.Popen(
            [sys.executable, str(NOOP_WORKER), str(pg_settings.data), str(ledger), "0.005"],
            env=env,
        )
        for _ in range(2)
    ]
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not _all_succeeded(pg_sessions, batch_id):
            time.sleep(0.5)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            assert worker.wait(30) == 0
    assert _all_succeeded(pg_sessions, batch_id)
    runs = [line.split() for line in ledger.read_text().splitlines()]
    assert Counter(job_id for job_id, _, _ in runs) == Counter(ids)
    by_pid = Counter(pid for _, _, pid in runs)
    assert set(by_pid) == {str(w.pid) for w in workers}
    outputs = list((pg_settings.data_dir.outputs / batch_id).iterdir())
    assert len(outputs) == 200


def _all_succeeded(sessions, batch_id: str) -> bool:
    with sessions() as session:
        jobs = queue.list_batch_jobs(session, batch_id)
    return all(job.status == JobStatus.SUCCEEDED for job in jobs)
