"""What the machine is doing, for the UI's machine panel: CPU, memory, free disk, GPUs, the queue.

`machine_snapshot(sessions, settings)` answers one JSON-ready dict: CPU use (percent
since the previous reading, like `top`), memory used/total, free and total disk of the
data dir, each GPU (`gpus.py`; an empty list means "no GPU"), the queue depth (queued
and running jobs), and every live worker with its slots and what each slot does (the
job, its stage and frames). Sizes are bytes; the UI formats them in binary units.
It reads the database but changes nothing; pushing it to browsers is
`api/routes_machine.py`'s job.
"""

from __future__ import annotations

import os
import socket
import time

import psutil
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lipforge.config import Settings
from lipforge.disk import free_bytes
from lipforge.gpus import read_gpus
from lipforge.jobs.queue import list_workers
from lipforge.jobs.tables import Job, JobStatus


def machine_snapshot(sessions: sessionmaker, settings: Settings) -> dict:
    """The machine's state now (see the module docstring for the fields)."""
    memory = psutil.virtual_memory()
    data_root = settings.data_dir.root
    with sessions() as session:
        queue = _queue_depth(session)
        workers = _workers(session)
    return {
        "at": time.time(),
        "hostname": socket.gethostname(),
        "cpu_percent": psutil.cpu_percent(interval=None),
        "cpu_count": os.cpu_count() or 1,
        "memory_used_bytes": int(memory.total - memory.available),
        "memory_total_bytes": int(memory.total),
        "disk_free_bytes": free_bytes(data_root),
        "disk_total_bytes": _disk_total(data_root),
        "gpus": [gpu.to_json() for gpu in read_gpus()],
        "queue": queue,
        "workers": workers,
    }


def _disk_total(path) -> int:
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return int(psutil.disk_usage(str(probe)).total)


def _queue_depth(session: Session) -> dict:
    rows = session.execute(
        select(Job.status, func.count())
        .where(Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
        .group_by(Job.status)
    ).all()
    counts = {str(status): int(count) for status, count in rows}
    return {"queued": counts.get("queued", 0), "running": counts.get("running", 0)}


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
