"""Storage bench: the S3 store against a plain file copy; job throughput of 2 workers over 1.

    .venv/bin/python bench/storage.py [--size-mib 1024] [--jobs 24] [--frame-s 0.5] [--pg URL]

1. Bytes: one file of --size-mib random bytes, through `lipforge.storage` on SeaweedFS
   (`weed mini` on loopback, data on this disk): `put_file` (parallel multipart upload)
   and `download` (parallel ranged GETs), against a plain local copy of the same file
   (`shutil.copyfile` + fsync) measured in the same run. Prints MiB/s and put/copy,
   get/copy.
2. Jobs: --jobs no-op jobs (tests/support/noop_worker.py: 3 "frames" of --frame-s each, a
   tiny output) on PostgreSQL with the bucket as the store (inputs through each worker's
   input cache, outputs by staged multipart upload), run by 1 worker process, then by 2
   (each with its own data dir). Prints jobs/s and the 2-over-1 ratio.
The last line prints the three ratios.
"""

# ruff: noqa: E402
from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]  # bench/queue.py shadows

import argparse
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from sqlalchemy import select
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: tests.* helpers

from tests.storage.seaweed import running_seaweed
from tests.support.polling import wait_until  # noqa: E402

from lipforge.assets.table import Asset
from lipforge.config import Settings
from lipforge.db import create_db_engine, migrate, session_factory, utc_now
from lipforge.jobs import queue
from lipforge.jobs.tables import Batch, Job
from lipforge.render.spec import RenderSpec
from lipforge.storage.backend import open_storage, put_file

MIB = 1024 * 1024
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NOOP_WORKER = ROOT / "tests" / "support" / "noop_worker.py"
JOBS_TIMEOUT_S = 600.0


def write_random_file(path: Path, size_mib: int) -> None:
    block = os.urandom(MIB)
    with path.open("wb") as handle:
        for n in range(size_mib):
            handle.write(block[n % 256 :] + block[: n % 256])  # distinct blocks, cheap to make


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def bytes_bench(settings: Settings, work: Path, size_mib: int) -> tuple[float, float]:
    source = work / "big.bin"
    write_random_file(source, size_mib)
    fsync(source)
    copy = work / "copy.bin"
    copy_s = timed(lambda: (shutil.copyfile(source, copy), fsync(copy)))
    copy.unlink()
    storage = open_storage(settings)
    put_s = timed(lambda: put_file(storage, source, "bench/big.bin"))
    back = work / "back.bin"
    get_s = timed(lambda: (storage.download("bench/big.bin", back), fsync(back)))
    assert back.stat().st_size == source.stat().st_size
    storage.delete("bench/big.bin")
    for path in (source, back):
        path.unlink()
    rate = {name: size_mib / s for name, s in (("copy", copy_s), ("put", put_s), ("get", get_s))}
    print(
        f"bytes: {size_mib} MiB; local copy {copy_s:.2f} s ({rate['copy']:.0f} MiB/s); "
        f"S3 put {put_s:.2f} s ({rate['put']:.0f} MiB/s); S3 get {get_s:.2f} s "
        f"({rate['get']:.0f} MiB/s)"
    )
    return rate["put"] / rate["copy"], rate["get"] / rate["copy"]


def fresh_database(server_url: str) -> str:
    name = f"lipforge_bench_{uuid.uuid4().hex[:10]}"
    libpq = make_url(server_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, url: str) -> None:
    libpq = make_url(server_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def add_assets(sessions, settings: Settings, work: Path) -> tuple[str, str]:
    storage = open_storage(settings)
    ids = []
    for kind in ("audio", "video"):
        asset_id = uuid.uuid4().hex
        source = work / f"{kind}.bin"
        source.write_bytes(os.urandom(256 * 1024))
        put_file(storage, source, f"assets/{asset_id}.bin")
        with sessions.begin() as session:
            session.add(
                Asset(
                    id=asset_id,
                    kind=kind,
                    original_name=f"{kind}.bin",
                    size_bytes=source.stat().st_size,
                    sha256=uuid.uuid4().hex * 2,
                    relative_path=f"{asset_id}.bin",
                    storage_key=f"assets/{asset_id}.bin",
                    duration_s=1.0,
                    source="import",
                    created_at=utc_now(),
                )
            )
        ids.append(asset_id)
    return ids[0], ids[1]


def jobs_per_s(sessions, env, work: Path, workers: int, jobs: int, assets, frame_s: float):
    """Start `workers` processes, wait until each has registered, then time `jobs` jobs."""
    processes = []
    for n in range(workers):
        data = work / f"w{workers}-{n}"
        command = [sys.executable, str(NOOP_WORKER), str(data), str(work / "ledger"), str(frame_s)]
        processes.append(subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL))
    try:
        pids = {process.pid for process in processes}
        wait_for(lambda: len(running_worker_pids(sessions) & pids) == workers, "workers to start")
        with sessions.begin() as session:
            batch = Batch(id=queue.new_id(), created_at=utc_now(), options={})
            session.add(batch)
            session.flush()
            specs = [RenderSpec(*assets, f"o{i}.mp4", "meshwarp", "loop") for i in range(jobs)]
            started = time.perf_counter()
            queue.enqueue_jobs(session, batch.id, specs)
        wait_for(lambda: all_succeeded(sessions, batch.id), f"{jobs} jobs to finish")
        elapsed_s = time.perf_counter() - started
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(60)
    print(f"jobs: {workers} worker(s) ran {jobs} jobs in {elapsed_s:.2f} s "
          f"({jobs / elapsed_s:.2f} jobs/s)")  # fmt: skip
    return jobs / elapsed_s


def running_worker_pids(sessions) -> set[int]:
    with sessions() as session:
        rows = queue.list_workers(session)
    return {int(row.id.split(":")[1]) for row in rows if row.stopped_at is None}


def all_succeeded(sessions, batch_id: str) -> bool:
    with sessions() as session:
        statuses = list(session.scalars(select(Job.status).where(Job.batch_id == batch_id)))
    return all(status == "succeeded" for status in statuses)


def wait_for(condition, what: str) -> None:
    wait_until(condition, what, JOBS_TIMEOUT_S)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--jobs", type=int, default=24)
    parser.add_argument("--frame-s", type=float, default=0.5)
    parser.add_argument("--pg", default=os.environ.get("LIPFORGE_TEST_PG_URL", DEFAULT_PG_URL))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lipforge-bench-", dir=ROOT) as tmp:
        work = Path(tmp)
        with running_seaweed(work / "seaweed") as seaweed:
            bucket = seaweed.make_bucket()
            url = f"s3://{bucket}/bench"
            env = {**os.environ, **seaweed.env(url)}
            settings = Settings.from_env(env).with_overrides(data=work / "api")
            put_ratio, get_ratio = bytes_bench(settings, work, args.size_mib)
            pg_url = fresh_database(args.pg)
            env["LIPFORGE_DATABASE_URL"] = pg_url
            try:
                migrate(pg_url)
                engine = create_db_engine(pg_url)
                sessions = session_factory(engine)
                assets = add_assets(sessions, settings, work)
                one = jobs_per_s(sessions, env, work, 1, args.jobs, assets, args.frame_s)
                two = jobs_per_s(sessions, env, work, 2, args.jobs, assets, args.frame_s)
                engine.dispose()
            finally:
                drop_database(args.pg, pg_url)
    print(f"ratios: S3 put/local copy {put_ratio:.2f}, S3 get/local copy {get_ratio:.2f}, "
          f"2 workers/1 worker {two / one:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
