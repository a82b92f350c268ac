"""Publish a finished job's video where HeyGem clients look for it: `<root>/temp/<code>-r.mp4`.

The worker writes outputs to LipForge's store (the data dir's outputs/, or a bucket); this
module links the output (copies it across file systems, downloads it from a bucket) to a
hidden name in `<root>/temp/` and renames it into place,
so a client never sees half a file, then records the video's duration and size for the
query answer. It runs when a query finds the job succeeded (before the answer says status 2)
and from a background loop for clients that watch the folder instead. No HTTP here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
import uuid
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from lipforge.config import Settings
from lipforge.db import utc_now
from lipforge.heygem.contract import result_name
from lipforge.heygem.table import HeygemTask
from lipforge.jobs.outputs import output_key
from lipforge.jobs.tables import Job, JobStatus
from lipforge.logs import log_event
from lipforge.media.probe import MediaLimits, probe
from lipforge.storage.backend import open_storage

PUBLISH_INTERVAL_S = 1.0
TEMP_DIR_NAME = "temp"
STAGING_DIR_NAME = "heygem-staging"  # <data>/heygem-staging/<submit>/: inputs on their way in
STALE_STAGING_S = 6 * 3600.0


def heygem_root(settings: Settings) -> Path:
    """LIPFORGE_HEYGEM_ROOT, else `<data>/heygem`: what HeyGem's container mounts at /code/data."""
    if settings.heygem_root:
        return Path(settings.heygem_root).expanduser().resolve()
    return settings.data_dir.root / "heygem"


def result_path(settings: Settings, code: str) -> Path:
    return heygem_root(settings) / TEMP_DIR_NAME / result_name(code)


def publish_result(sessions: sessionmaker, settings: Settings, task: HeygemTask, job: Job):
    """The published result file of a succeeded job (published now if it was not); or None."""
    target = result_path(settings, task.code)
    if task.published_at is not None and target.is_file():
        return target
    if not _place_output(settings, job, target):
        return target if target.is_file() else None
    info = probe(target, MediaLimits.from_settings(settings))
    with sessions.begin() as session:
        row = session.get(HeygemTask, task.code)
        if row is not None:
            row.published_at = utc_now()
            row.duration_ms = round(info.duration_s * 1000)
            row.width = info.video.width if info.video else None
            row.height = info.video.height if info.video else None
            task.published_at, task.duration_ms = row.published_at, row.duration_ms
            task.width, task.height = row.width, row.height
    log_event("heygem.published", code=task.code, job_id=job.id, path=str(target))
    return target


def _place_output(settings: Settings, job: Job, target: Path) -> bool:
    """Put the job's output at `target` (linked from the data dir, or fetched from a bucket)."""
    if job.status != JobStatus.SUCCEEDED or not job.output_relpath:
        return False
    storage = open_storage(settings)
    key = output_key(job.output_relpath)
    local = storage.local_path(key)
    if local is not None and not local.is_file():
        return False
    if local is None and storage.stat(key) is None:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        if local is None:
            storage.download(key, staging)
        else:
            try:
                os.link(local, staging)
            except OSError:
                shutil.copyfile(local, staging)
        os.replace(staging, target)
    finally:
        staging.unlink(missing_ok=True)
    return True


def publish_pending(sessions: sessionmaker, settings: Settings) -> int:
    """Publish every succeeded HeyGem job not published yet; how many were."""
    query = (
        select(HeygemTask, Job)
        .join(Job, Job.id == HeygemTask.job_id)
        .where(HeygemTask.published_at.is_(None), Job.status == JobStatus.SUCCEEDED)
    )
    with sessions() as session:
        pending = list(session.execute(query).all())
    published = 0
    for task, job in pending:
        try:
            published += publish_result(sessions, settings, task, job) is not None
        except Exception as exc:  # noqa: BLE001 - one bad output must not stop the loop
            log_event("heygem.publish_failed", code=task.code, error=str(exc))
    return published


def remove_stale_staging(settings: Settings, older_than_s: float = STALE_STAGING_S) -> None:
    """Drop staging folders a crashed submit left behind (a live submit's is minutes old)."""
    staging = settings.data_dir.root / STAGING_DIR_NAME
    if not staging.is_dir():
        return
    cutoff = time.time() - older_than_s
    for folder in staging.iterdir():
        with contextlib.suppress(OSError):
            if folder.stat().st_mtime >= cutoff:
                continue
            if folder.is_dir():
                shutil.rmtree(folder)
            else:
                folder.unlink()


async def heygem_publisher(app) -> None:
    """Background service: publish results as their jobs succeed (every second)."""
    state = app.state
    (heygem_root(state.settings) / TEMP_DIR_NAME).mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(remove_stale_staging, state.settings)
    while True:
        with contextlib.suppress(Exception):
            await asyncio.to_thread(publish_pending, state.sessions, state.settings)
        await asyncio.sleep(PUBLISH_INTERVAL_S)
