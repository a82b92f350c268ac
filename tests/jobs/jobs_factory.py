"""Test helpers: batches of queued jobs written straight through the queue module."""

from __future__ import annotations

from lipforge.jobs import queue
from lipforge.jobs.tables import Batch, utc_now


def add_batch(
    sessions, count: int, max_attempts: int = 3, prefix: str = "out"
) -> tuple[str, list[str]]:
    """A batch with `count` queued jobs; returns (batch id, job ids in queue order)."""
    with sessions.begin() as session:
        batch = Batch(id=queue.new_id(), created_at=utc_now(), options={"engine": "meshwarp"})
        session.add(batch)
        session.flush()
        specs = [queue.JobSpec("a" * 32, "v" * 32, f"{prefix}{i}.mp4") for i in range(count)]
        jobs = queue.enqueue_jobs(session, batch.id, specs, max_attempts=max_attempts)
        return batch.id, [job.id for job in jobs]
