"""Test helpers: asset rows and batches of queued jobs written straight through the queue module."""

from __future__ import annotations

from lipforge.assets.table import Asset
from lipforge.config import Settings
from lipforge.db import utc_now
from lipforge.jobs import queue
from lipforge.jobs.tables import Batch
from lipforge.render.spec import RenderSpec

PLACEHOLDER_ASSET_ID = "0" * 32


def add_batch(
    sessions,
    count: int,
    max_attempts: int = 3,
    prefix: str = "out",
    audio_id: str = PLACEHOLDER_ASSET_ID,
    video_ids: list[str] | None = None,
) -> tuple[str, list[str]]:
    """A batch with `count` queued jobs; returns (batch id, job ids in queue order)."""
    videos = video_ids or [PLACEHOLDER_ASSET_ID] * count
    with sessions.begin() as session:
        batch = Batch(id=queue.new_id(), created_at=utc_now(), options={"engine": "meshwarp"})
        session.add(batch)
        session.flush()
        specs = [RenderSpec(audio_id, videos[i], f"{prefix}{i}.mp4") for i in range(count)]
        jobs = queue.enqueue_jobs(session, batch.id, specs, max_attempts=max_attempts)
        return batch.id, [job.id for job in jobs]


def output_relpath(job: queue.ClaimedJob) -> str:
    """Where the render worker publishes a claimed job's output (`<batch>/<output name>`)."""
    return f"{job.batch_id}/{job.spec['output_name']}"


def add_placeholder_asset(sessions, settings: Settings, kind: str, name: str) -> str:
    """An asset row with a small file behind it, for runners that do not read media."""
    asset_id = queue.new_id()
    relative = f"{asset_id}.bin"
    (settings.data_dir.assets / relative).write_bytes(b"placeholder " + name.encode())
    with sessions.begin() as session:
        session.add(
            Asset(
                id=asset_id,
                kind=kind,
                original_name=name,
                size_bytes=16,
                sha256=asset_id * 2,
                relative_path=relative,
                duration_s=1.0,
                created_at=utc_now(),
            )
        )
    return asset_id
