"""Queue benchmark: throughput of the job queue and the delay of live progress to SSE clients.

    .venv/bin/python bench/jobqueue.py [--jobs 1000] [--clients 200] [--pg URL | --no-pg]

1. Throughput: enqueue -> claim -> finish of N no-op jobs, on SQLite and on PostgreSQL,
   against a baseline on the same database: the same number of bare transactions
   (insert a row, update it twice), so the ratio is the cost of the queue's logic
   (claim statement, fence, events) over the database's own transaction cost.
2. Live progress: a real `lipforge serve --no-worker` and a separate "worker" process
   that writes progress (`queue.record_progress`) as often as a worker does (0.25 s); SSE clients on
   /api/events measure the delay from the write (its `heartbeat_at`) to arrival:
   p50 and p95 with 1 client and with --clients held at once (target p95 <= 250 ms).
The last line prints the ratios: queue/baseline per database, p95/target per run.
PostgreSQL: --pg URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test when it
answers); a fresh database is created for the run and dropped after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import httpx
import psutil
import psycopg
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, update
from sqlalchemy.engine import make_url

from lipforge.config import Settings
from lipforge.db import create_db_engine, migrate, session_factory, utc_now
from lipforge.jobs import queue
from lipforge.jobs.tables import Batch
from lipforge.render.spec import RenderSpec

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
LATENCY_TARGET_P95_S = 0.250
PROGRESS_WRITES = 60
PROGRESS_INTERVAL_S = queue.PROGRESS_MIN_INTERVAL_S  # as often as a worker writes progress
SERVER_START_TIMEOUT_S = 60.0
LIPFORGE = str(Path(sys.executable).parent / "lipforge")


# --- throughput --------------------------------------------------------------------------


def queue_run_s(url: str, jobs: int) -> float:
    sessions = session_factory(engine := create_db_engine(url))
    started = time.perf_counter()
    with sessions.begin() as session:
        batch = Batch(id=queue.new_id(), created_at=utc_now(), options={})
        session.add(batch)
        session.flush()
        specs = [RenderSpec("a" * 32, "v" * 32, f"o{i}.mp4") for i in range(jobs)]
        queue.enqueue_jobs(session, batch.id, specs)
    while (job := queue.claim_next_job(sessions, "bench")) is not None:
        queue.finish_job(sessions, job, f"{job.batch_id}/p.mp4", lambda: None)
    elapsed_s = time.perf_counter() - started
    engine.dispose()
    return elapsed_s


def baseline_run_s(url: str, jobs: int) -> float:
    engine = create_db_engine(url)
    table = Table(
        f"bench_{uuid.uuid4().hex[:8]}",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("status", String(16)),
    )
    table.create(engine)
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(insert(table), [{"id": i, "status": "queued"} for i in range(jobs)])
    for i in range(jobs):
        for status in ("running", "done"):
            with engine.begin() as conn:
                conn.execute(update(table).where(table.c.id == i).values(status=status))
    elapsed_s = time.perf_counter() - started
    table.drop(engine)
    engine.dispose()
    return elapsed_s


def throughput(name: str, url: str, jobs: int) -> float:
    migrate(url)
    baseline_s = baseline_run_s(url, jobs)
    queue_s = queue_run_s(url, jobs)
    print(
        f"{name}: {jobs} jobs enqueue->claim->finish in {queue_s:.2f} s "
        f"({jobs / queue_s:.0f} jobs/s); baseline bare transactions {baseline_s:.2f} s "
        f"({jobs / baseline_s:.0f}/s); ratio {queue_s / baseline_s:.2f}"
    )
    return queue_s / baseline_s


# --- live progress -------------------------------------------------------------------------


def write_progress(url: str) -> None:
    """The 'worker' process: claim one job and write progress every PROGRESS_INTERVAL_S."""
    sessions = session_factory(create_db_engine(url))
    with sessions.begin() as session:
        batch = Batch(id=queue.new_id(), created_at=utc_now(), options={})
        session.add(batch)
        session.flush()
        queue.enqueue_jobs(session, batch.id, [RenderSpec("a" * 32, "v" * 32, "p.mp4")])
    job = queue.claim_next_job(sessions, "bench-writer", lease_s=600)
    for frame in range(1, PROGRESS_WRITES + 1):
        queue.record_progress(sessions, job, frame, PROGRESS_WRITES, 25.0, lease_s=600)
        time.sleep(PROGRESS_INTERVAL_S)
    queue.finish_job(sessions, job, f"{job.batch_id}/p.mp4", lambda: None)


async def sse_client(client: httpx.AsyncClient, url: str, opened: asyncio.Queue, delays: list):
    async with client.stream("GET", url) as response:
        kind = data = None
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:"):
                data = line[5:].strip()
            elif line == "" and kind:
                if kind == "stream.open":
                    await opened.put(1)
                elif kind == "job.progress":
                    payload = json.loads(data)
                    written = datetime.fromisoformat(payload["created_at"]).timestamp()
                    delays.append(time.time() - written)
                    if payload["job"]["frames_done"] == PROGRESS_WRITES:
                        return
                kind = data = None


async def measure_sse(base_url: str, url: str, clients: int) -> list[float]:
    delays: list[float] = []
    opened: asyncio.Queue = asyncio.Queue()
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(timeout=httpx.Timeout(60.0), limits=limits) as client:
        tasks = [
            asyncio.create_task(sse_client(client, f"{base_url}/api/events", opened, delays))
            for _ in range(clients)
        ]
        for _ in range(clients):
            await asyncio.wait_for(opened.get(), 60)
        writer = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--write-progress", url, env=_env(url)
        )
        await writer.wait()
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
    return delays


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "LIPFORGE_DATABASE_URL": url}


@contextmanager
def running_server(data: Path, url: str):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [LIPFORGE, "serve", "--no-worker", "--data", str(data), "--port", str(port)],
        env=_env(url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base_url}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield base_url, psutil.Process(process.pid)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)


def latency(name: str, url: str, data: Path, clients: int) -> list[float]:
    migrate(url)
    ratios = []
    with running_server(data, url) as (base_url, server):
        for count in (1, clients):
            cpu_before_s, started_s = sum(server.cpu_times()[:2]), time.monotonic()
            delays = asyncio.run(measure_sse(base_url, url, count))
            cpu_s = sum(server.cpu_times()[:2]) - cpu_before_s
            busy = cpu_s / (time.monotonic() - started_s)
            p50 = statistics.median(delays)
            p95 = statistics.quantiles(delays, n=20)[18]
            print(
                f"{name}: progress write -> SSE client, {count} client(s), {len(delays)} "
                f"deliveries: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
                f"max {max(delays) * 1000:.0f} ms (target p95 <= 250 ms); "
                f"API process busy {busy:.0%} of a core, {cpu_s / len(delays) * 1e6:.0f} us CPU "
                "per delivery"
            )
            ratios.append(p95 / LATENCY_TARGET_P95_S)
    return ratios


# --- databases -----------------------------------------------------------------------------


@contextmanager
def fresh_pg_database(server_url: str):
    name = f"lipforge_bench_{uuid.uuid4().hex[:8]}"
    libpq = make_url(server_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(libpq, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_answers(server_url: str) -> bool:
    libpq = make_url(server_url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        psycopg.connect(libpq, connect_timeout=3).close()
        return True
    except psycopg.Error:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--pg", default=os.environ.get("LIPFORGE_TEST_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--write-progress", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write_progress:
        write_progress(args.write_progress)
        return
    summary: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, url_context in databases(args, Path(tmp)):
            with url_context as url:
                data = Path(tmp) / name
                Settings(data=data).data_dir.ensure()
                ratio = throughput(name, url, args.jobs)
                p95_1, p95_n = latency(name, url, data, args.clients)
                summary.append(
                    f"{name}: queue/baseline {ratio:.2f}, p95/target 1 client {p95_1:.2f}, "
                    f"{args.clients} clients {p95_n:.2f}"
                )
    print("; ".join(summary))


def databases(args, tmp: Path):
    @contextmanager
    def sqlite_url():
        yield f"sqlite:///{tmp / 'sqlite' / 'lipforge.db'}"

    yield "sqlite", sqlite_url()
    if args.no_pg:
        return
    if not pg_answers(args.pg):
        print(f"postgresql: {args.pg} does not answer; skipped (use --no-pg to silence)")
        return
    yield "postgresql", fresh_pg_database(args.pg)


if __name__ == "__main__":
    main()
