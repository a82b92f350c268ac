"""The queue as plain values, for readers below the jobs room: the metrics page and the
machine panel.

`read_queue_figures(sessions)` answers jobs by state and the live workers' heartbeats
(`metrics.collectors.QueueFigures`); `read_machine_queue(sessions)` answers the machine
panel's `queue` (queued and running jobs) and `workers` (each live worker's slots and what
each slot does). Both read in one short session and change nothing. The API app and the
`--metrics-port` listener hand these readers to `metrics/` and `machine.py`, which do not
import the jobs room. Not here: the gauges (`metrics/collectors.py`), the host's CPU,
memory, disk and GPUs (`machine.py`).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lipforge.jobs.queue import list_workers
from lipforge.jobs.tables import Job, JobStatus
from lipforge.metrics.collectors import QueueFigures, WorkerFigures

PANEL_STATES = (JobStatus.QUEUED, JobStatus.RUNNING)


def read_queue_figures(sessions: sessionmaker) -> QueueFigures:
    """Jobs by state (every state, 0 included) and each live worker's heartbeat and slots."""
    with sessions() as session:
        counts = _counts(session, tuple(JobStatus))
        workers = [
            WorkerFigures(w.id, w.hostname, w.heartbeat_at, w.slots) for w in list_workers(session)
        ]
    return QueueFigures(counts, workers)


def read_machine_queue(sessions: sessionmaker) -> dict:
    """The machine panel's `queue` ({"queued": n, "running": n}) and `workers`."""
    with sessions() as session:
        counts = _counts(session, PANEL_STATES)
        workers = _workers(session)
    return {"queue": counts, "workers": workers}


def _counts(session: Session, states: tuple[JobStatus, ...]) -> dict[str, int]:
    rows = session.execute(
        select(Job.status, func.count()).where(Job.status.in_(states)).group_by(Job.status)
    ).all()
    found = {str(status): int(count) for status, count in rows}
    return {str(state): found.get(str(state), 0) for state in states}


def _workers(session: Session) -> list[dict]:
    """Live workers, each with one entry per slot: the job it runs, or None when idle."""
    running = session.scalars(
        select(Job).where(Job.status == JobStatus.RUNNING).order_by(Job.started_at)
    ).all()
    by_worker: dict[str, list[Job]] = {}
    for job in running:
        by_worker.setdefault(job.worker_id or "", []).append(job)
    described = []
    for worker in list_workers(session):
        jobs = by_worker.get(worker.id, [])
        slots: list[dict | None] = [_slot_job(job) for job in jobs]
        slots += [None] * max(0, worker.slots - len(slots))
        described.append(
            {
                "id": worker.id,
                "hostname": worker.hostname,
                "slots": slots,
                "paused_reason": worker.paused_reason,
            }
        )
    return described


def _slot_job(job: Job) -> dict:
    return {
        "job_id": job.id,
        "batch_id": job.batch_id,
        "output_name": job.spec.get("output_name"),  # the render's spec (render/spec.py)
        "stage": getattr(job, "stage", None) or "render",
        "frames_done": job.frames_done,
        "frames_total": job.frames_total,
        "fps": job.fps,
        "eta_s": job.eta_s,
    }
