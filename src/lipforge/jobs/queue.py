"""The queue: every SQL statement that reads or changes jobs (and the worker registry).

A job moves queued -> running -> succeeded | failed | cancelled. A worker claims the
oldest queued job in ONE statement (`FOR UPDATE SKIP LOCKED` on PostgreSQL; on SQLite
the same UPDATE runs under the database's single write lock), which raises `attempt`
and grants a lease. The worker renews the lease with each heartbeat or progress write;
the reaper requeues a running job whose lease ran out (or whose worker is known dead)
and fails it with "worker lost" after `max_attempts`. Finishing is fenced by attempt
(`WHERE id AND attempt AND status='running'`), so a worker that lost its lease can
never finish a job twice. Every state change writes an event in the same transaction.

Functions that a request handler combines with its own writes take a `Session` and
leave the commit to the caller; the worker's functions take the `sessionmaker` and
run their own short transaction. This module does not run renders or touch files,
except through the `commit_output` callable handed to `finish_job`, and it never reads
a job's `spec` (the work's parameters, JSON): whoever enqueues writes it, the run
function reads it (for renders, `render/spec.py`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Row, String, case, cast, delete, func, literal, select, update
from sqlalchemy.orm import Session, sessionmaker

from lipforge.db import table_of, utc_now
from lipforge.errors import ConflictError, NotFoundError
from lipforge.events import publish_event
from lipforge.jobs.tables import (
    RETRYABLE_STATUSES,
    Batch,
    Job,
    JobStatus,
    WorkerRow,
)

HEARTBEAT_INTERVAL_S = 5.0  # a running job's lease is renewed at least this often
LEASE_S = 30.0  # a job whose lease is this old without renewal is taken back by the reaper
REAP_INTERVAL_S = 5.0  # how often each worker looks for stale leases
PROGRESS_MIN_INTERVAL_S = 0.25  # progress rows/events per job at most every this often
CANCEL_POLL_INTERVAL_S = 0.5  # a running worker checks for a cancel request this often
DEFAULT_MAX_ATTEMPTS = 3
WORKER_LOST_CODE = "worker_lost"
JOBS = table_of(Job)  # statements on the table itself skip the ORM's per-statement work
J = JOBS.c
CANCELLED_CODE = "cancelled"


class JobSpec(Protocol):
    """What one job is to do, as whoever enqueues it describes it (e.g. `RenderSpec`)."""

    @property
    def first_stage(self) -> str | None: ...

    def to_json(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class ClaimedJob:
    """A job as a worker holds it: the fence (id + attempt) and its spec, to hand to a runner."""

    id: str
    batch_id: str
    attempt: int
    max_attempts: int
    worker_id: str
    spec: dict[str, Any]

    @classmethod
    def from_row(cls, row: Row, worker_id: str) -> ClaimedJob:
        return cls(row.id, row.batch_id, row.attempt, row.max_attempts, worker_id, row.spec)


@dataclass(frozen=True)
class LeaseState:
    """What a renewal found: whether the worker still holds the job, and whether to stop."""

    held: bool
    cancel_requested: bool

    @property
    def should_stop(self) -> bool:
        return not self.held or self.cancel_requested


def new_id() -> str:
    return uuid.uuid4().hex


# Column values that clear what an earlier attempt left: its progress, and its ending.
NO_PROGRESS = {"frames_done": 0, "fps": None, "eta_s": None, "stage_done": 0}
NO_OUTCOME = {"finished_at": None, "error_code": None, "error_message": None, "error_params": None}


def _fence(job: ClaimedJob):
    return (J.id == job.id, J.attempt == job.attempt, J.status == JobStatus.RUNNING)


STATE_COLUMNS = (
    "batch_id", "position", "status", "attempt", "max_attempts", "worker_id",
    "frames_done", "frames_total", "fps", "eta_s", "created_at", "started_at", "finished_at",
    "output_relpath", "error_code", "error_message", "error_params", "cancel_requested",
    "stage", "stage_done", "stage_total",
)  # fmt: skip


def job_payload(job: Job | Row) -> dict[str, Any]:
    """A job's state in an event (`job_id` beside the event's own id): every queue column but
    the lease and the spec (which may be long, e.g. a script, and hardly changes)."""
    return {"job_id": job.id} | {name: getattr(job, name) for name in STATE_COLUMNS}


def _publish_job_event(session: Session, kind: str, job: str | Row) -> None:
    """Publish `kind` with the job (a RETURNING row, or read by id), then the batch counts."""
    row = session.execute(select(JOBS).where(J.id == job)).first() if isinstance(job, str) else job
    if row is None:
        return
    publish_event(session, kind, job_payload(row), batch_id=row.batch_id, job_id=row.id)
    by_status = select(J.status, func.count()).where(J.batch_id == row.batch_id).group_by(J.status)
    counts = {str(status): int(count) for status, count in session.execute(by_status).all()}
    publish_event(session, "batch.updated", {"counts": counts}, batch_id=row.batch_id)


# --- requests (the caller's session and commit) --------------------------------------------


def enqueue_jobs(
    session: Session,
    batch_id: str,
    specs: Sequence[JobSpec],
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> list[Job]:
    """Add one queued job per spec at the end of the queue; publishes job.queued for each."""
    first = _next_position(session)
    now = utc_now()
    jobs = [
        Job(
            id=new_id(),
            batch_id=batch_id,
            position=first + index,
            spec=spec.to_json(),
            stage=spec.first_stage,
            stage_done=0,
            stage_total=0,
            status=JobStatus.QUEUED,
            attempt=0,
            max_attempts=max_attempts,
            frames_done=0,
            frames_total=0,
            created_at=now,
            cancel_requested=False,
        )
        for index, spec in enumerate(specs)
    ]
    session.add_all(jobs)
    session.flush()
    for job in jobs:
        publish_event(session, "job.queued", job_payload(job), batch_id=batch_id, job_id=job.id)
    return jobs


def _next_position(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(J.position), 0))) or 0) + 1


def get_job(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id, populate_existing=True)
    if job is None:
        raise NotFoundError(
            f"No job with id {job_id!r}; its batch shows the ids of its jobs.",
            what="job",
            id=job_id,
        )
    return job


def list_batch_jobs(session: Session, batch_id: str) -> list[Job]:
    """A batch's jobs in queue order."""
    statement = select(Job).where(J.batch_id == batch_id).order_by(J.position, J.id)
    return list(session.scalars(statement))


def cancel_job(session: Session, job_id: str) -> Job:
    """Queued: cancelled now. Running: flagged; its worker stops within ~2 s. Cancelled: as is."""
    now = utc_now()
    cancelled = session.execute(
        update(JOBS)
        .where(J.id == job_id, J.status == JobStatus.QUEUED)
        .values(status=JobStatus.CANCELLED, finished_at=now, cancel_requested=True)
        .returning(J.id)
    ).first()
    if cancelled is not None:
        _publish_job_event(session, "job.cancelled", job_id)
        return get_job(session, job_id)
    flagged = session.execute(
        update(JOBS)
        .where(J.id == job_id, J.status == JobStatus.RUNNING, J.cancel_requested.is_(False))
        .values(cancel_requested=True)
        .returning(J.id)
    ).first()
    if flagged is not None:
        _publish_job_event(session, "job.cancelling", job_id)
    job = get_job(session, job_id)
    if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
        raise ConflictError(
            f"Job {job_id} has already {job.status}; there is nothing to cancel.",
            id=job_id,
            status=str(job.status),
            reason="already_finished",
        )
    return job


def cancel_batch(session: Session, batch_id: str) -> list[Job]:
    """Cancel every queued or running job of a batch; finished ones stay as they are."""
    ids = session.scalars(
        select(J.id).where(
            J.batch_id == batch_id, J.status.in_((JobStatus.QUEUED, JobStatus.RUNNING))
        )
    ).all()
    for job_id in ids:
        cancel_job(session, job_id)
    return list_batch_jobs(session, batch_id)


def retry_job(session: Session, job_id: str, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> Job:
    """Put a failed or cancelled job back at the end of the queue with a fresh attempt budget."""
    retried = session.execute(
        update(JOBS)
        .where(J.id == job_id, J.status.in_(RETRYABLE_STATUSES))
        .values(
            status=JobStatus.QUEUED,
            position=_next_position(session),
            max_attempts=J.attempt + max_attempts,
            worker_id=None,
            lease_expires_at=None,
            started_at=None,
            output_relpath=None,
            cancel_requested=False,
            **NO_PROGRESS,
            **NO_OUTCOME,
        )
        .returning(J.id)
    ).first()
    job = get_job(session, job_id)
    if retried is None:
        raise ConflictError(
            f"Job {job_id} is {job.status}; only failed or cancelled jobs can be retried.",
            id=job_id,
            status=str(job.status),
            reason="not_retryable",
        )
    _publish_job_event(session, "job.queued", job_id)
    return job


def delete_batch(session: Session, batch_id: str) -> list[str]:
    """Delete a batch and its jobs (a running one stops: its worker loses the row).

    Returns the output paths (relative to outputs/) the caller should remove.
    """
    if session.get(Batch, batch_id) is None:
        raise NotFoundError(f"No batch with id {batch_id!r}.", what="batch", id=batch_id)
    outputs = session.scalars(
        select(J.output_relpath).where(J.batch_id == batch_id, J.output_relpath.is_not(None))
    ).all()
    session.execute(delete(JOBS).where(J.batch_id == batch_id))
    session.execute(delete(Batch).where(Batch.id == batch_id))
    publish_event(session, "batch.deleted", {"batch_id": batch_id}, batch_id=batch_id)
    return [path for path in outputs if path]


# --- the worker's side (own transactions) ----------------------------------------------------


def claim_next_job(
    sessions: sessionmaker, worker_id: str, lease_s: float = LEASE_S
) -> ClaimedJob | None:
    """Take the oldest queued job for `worker_id` in one statement, or None if none is queued."""
    now = utc_now()
    oldest = (
        select(J.id)
        .where(J.status == JobStatus.QUEUED)
        .order_by(J.position, J.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    statement = (
        update(JOBS)
        .where(J.id == oldest, J.status == JobStatus.QUEUED)
        .values(
            status=JobStatus.RUNNING,
            attempt=J.attempt + 1,
            worker_id=worker_id,
            lease_expires_at=now + timedelta(seconds=lease_s),
            heartbeat_at=now,
            started_at=now,
            **NO_PROGRESS,
            **NO_OUTCOME,
        )
        .returning(*JOBS.c)
    )
    with sessions.begin() as session:
        row = session.execute(statement).first()
        if row is None:
            return None
        _publish_job_event(session, "job.started", row)
    return ClaimedJob.from_row(row, worker_id)


def renew_lease(sessions: sessionmaker, job: ClaimedJob, lease_s: float = LEASE_S) -> LeaseState:
    """Heartbeat: extend the lease if the worker still holds the job; report a cancel request."""
    now = utc_now()
    with sessions.begin() as session:
        row = session.execute(
            update(JOBS)
            .where(*_fence(job))
            .values(heartbeat_at=now, lease_expires_at=now + timedelta(seconds=lease_s))
            .returning(J.cancel_requested)
        ).first()
    return LeaseState(held=row is not None, cancel_requested=bool(row and row[0]))


def job_control(sessions: sessionmaker, job: ClaimedJob) -> LeaseState:
    """A read-only check: does the worker still hold the job, and was a cancel requested?"""
    with sessions() as session:
        row = session.execute(select(J.cancel_requested).where(*_fence(job))).first()
    return LeaseState(held=row is not None, cancel_requested=bool(row and row[0]))


def record_progress(
    sessions: sessionmaker,
    job: ClaimedJob,
    frames_done: int,
    frames_total: int,
    fps: float | None,
    lease_s: float = LEASE_S,
) -> LeaseState:
    """Store frame progress (renews the lease too) and publish job.progress."""
    now = utc_now()
    eta_s = (frames_total - frames_done) / fps if fps and frames_total >= frames_done else None
    values = {
        "heartbeat_at": now,
        "lease_expires_at": now + timedelta(seconds=lease_s),
        "frames_done": frames_done,
        "frames_total": frames_total,
        "fps": fps,
        "eta_s": eta_s,
    }
    return _store_progress(sessions, job, values)


def record_stage_progress(
    sessions: sessionmaker,
    job: ClaimedJob,
    stage: str,
    steps: tuple[int, int],
    eta_s: float | None,
    lease_s: float = LEASE_S,
) -> LeaseState:
    """Store a stage's progress, (steps done, steps in all), e.g. sentences spoken of a script;
    renews the lease and publishes job.progress."""
    now = utc_now()
    values = {
        "heartbeat_at": now,
        "lease_expires_at": now + timedelta(seconds=lease_s),
        "stage": stage,
        "stage_done": steps[0],
        "stage_total": steps[1],
        "eta_s": eta_s,
    }
    return _store_progress(sessions, job, values)


def _store_progress(sessions: sessionmaker, job: ClaimedJob, values: dict[str, Any]) -> LeaseState:
    """Write a stage's progress under the fence and publish it as job.progress (one statement)."""
    with sessions.begin() as session:
        row = session.execute(
            update(JOBS).where(*_fence(job)).values(**values).returning(J.cancel_requested, J.stage)
        ).first()
        if row is not None:
            payload = {"job_id": job.id, "batch_id": job.batch_id, "attempt": job.attempt}
            payload |= {"stage": row.stage, **values}
            del payload["lease_expires_at"]
            publish_event(session, "job.progress", payload, batch_id=job.batch_id, job_id=job.id)
    return LeaseState(held=row is not None, cancel_requested=bool(row and row[0]))


def update_spec(
    sessions: sessionmaker, job: ClaimedJob, spec: dict[str, Any], stage: str | None
) -> bool:
    """A runner records what it learned (e.g. the spoken audio of a script) and the stage it
    moves to, under the fence; publishes job.progress with the stage. False if it lost the job."""
    values = {"spec": spec, "stage": stage, "stage_done": J.stage_total}
    with sessions.begin() as session:
        row = session.execute(
            update(JOBS).where(*_fence(job)).values(**values).returning(J.stage_done)
        ).first()
        if row is not None:
            payload = {"job_id": job.id, "batch_id": job.batch_id, "attempt": job.attempt}
            payload |= {"stage": stage, "stage_done": row.stage_done}
            publish_event(session, "job.progress", payload, batch_id=job.batch_id, job_id=job.id)
    return row is not None


def finish_job(
    sessions: sessionmaker,
    job: ClaimedJob,
    output_relpath: str,
    commit_output: Callable[[], None],
) -> bool:
    """Mark succeeded with its output (`<batch>/<name>` in outputs/) and call `commit_output`
    (the rename into outputs/) under the fence.

    Returns False, without calling `commit_output`, if the worker no longer holds the job
    or a cancel was asked for meanwhile; if `commit_output` raises, nothing is recorded.
    """
    now = utc_now()
    with sessions.begin() as session:
        row = session.execute(
            update(JOBS)
            .where(*_fence(job), J.cancel_requested.is_(False))
            .values(
                status=JobStatus.SUCCEEDED,
                finished_at=now,
                lease_expires_at=None,
                eta_s=0.0,
                frames_done=J.frames_total,
                output_relpath=output_relpath,
            )
            .returning(*JOBS.c)
        ).first()
        if row is None:
            return False
        _publish_job_event(session, "job.succeeded", row)
        commit_output()
    return True


def fail_job(
    sessions: sessionmaker,
    job: ClaimedJob,
    error_code: str,
    message: str,
    params: dict | None = None,
) -> bool:
    """Record a failure with its plain-language reason (and the values it names, `params`,
    for translations); False if the worker lost the job."""
    return _end_job(sessions, job, JobStatus.FAILED, error_code, message, params)


def mark_cancelled(sessions: sessionmaker, job: ClaimedJob) -> bool:
    """The worker stopped a running job on request."""
    return _end_job(sessions, job, JobStatus.CANCELLED, CANCELLED_CODE, "cancelled on request")


def _end_job(
    sessions: sessionmaker,
    job: ClaimedJob,
    status: JobStatus,
    code: str,
    message: str,
    params: dict | None = None,
) -> bool:
    with sessions.begin() as session:
        row = session.execute(
            update(JOBS)
            .where(*_fence(job))
            .values(
                status=status,
                finished_at=utc_now(),
                lease_expires_at=None,
                eta_s=None,
                error_code=code,
                error_message=message,
                error_params=params or None,
            )
            .returning(*JOBS.c)
        ).first()
        if row is not None:
            _publish_job_event(session, f"job.{status}", row)
    return row is not None


def release_job(sessions: sessionmaker, job: ClaimedJob) -> bool:
    """A worker stopping on purpose gives the job back to the queue without using an attempt."""
    with sessions.begin() as session:
        row = session.execute(
            update(JOBS)
            .where(*_fence(job))
            .values(
                status=case((J.cancel_requested, JobStatus.CANCELLED), else_=JobStatus.QUEUED),
                max_attempts=J.max_attempts + 1,
                worker_id=None,
                lease_expires_at=None,
                **NO_PROGRESS,
            )
            .returning(*JOBS.c)
        ).first()
        if row is not None:
            _publish_job_event(session, f"job.{row.status}", row)
    return row is not None


def reap_stale_jobs(
    sessions: sessionmaker,
    dead_worker_ids: Iterable[str] = (),
    now: datetime | None = None,
) -> list[tuple[str, str]]:
    """Take back running jobs whose lease expired or whose worker is known dead.

    Each goes back to the queue (its next claim is attempt + 1), or fails with
    "worker lost" once it has used `max_attempts`; a cancel request makes it cancelled.
    Returns (job id, new status) pairs.
    """
    now = now or utc_now()
    dead = list(dead_worker_ids)
    stale = J.lease_expires_at < now
    if dead:
        stale = stale | J.worker_id.in_(dead)
    statement = (
        update(JOBS)
        .where(J.status == JobStatus.RUNNING, stale)
        .values(**_reaped_values(now))
        .returning(*JOBS.c)
    )
    with sessions.begin() as session:
        rows = session.execute(statement).all()
        for row in rows:
            if row.error_code == WORKER_LOST_CODE:  # its params, for the reader's language
                params = {"attempt": row.attempt, "max_attempts": row.max_attempts}
                row = session.execute(
                    update(JOBS)
                    .where(J.id == row.id)
                    .values(error_params=params)
                    .returning(*JOBS.c)
                ).one()
            kind = "job.queued" if row.status == JobStatus.QUEUED else f"job.{row.status}"
            _publish_job_event(session, kind, row)
    return [(row.id, row.status) for row in rows]


def _reaped_values(now: datetime) -> dict:
    """SET clauses of the reaper: back to the queue, or ended (cancelled / worker lost)."""
    out_of_attempts = J.attempt >= J.max_attempts
    ended = J.cancel_requested | out_of_attempts
    message = (
        literal("worker lost: the worker running this job stopped answering (attempt ", String)
        + cast(J.attempt, String)
        + " of "
        + cast(J.max_attempts, String)
        + ")"
    )
    return {
        "status": case(
            (J.cancel_requested, JobStatus.CANCELLED),
            (out_of_attempts, JobStatus.FAILED),
            else_=JobStatus.QUEUED,
        ),
        "worker_id": None,
        "lease_expires_at": None,
        "fps": None,
        "eta_s": None,
        "finished_at": case((ended, now), else_=None),
        "error_code": case(
            (J.cancel_requested, CANCELLED_CODE), (out_of_attempts, WORKER_LOST_CODE), else_=None
        ),
        "error_message": case((J.cancel_requested, None), (out_of_attempts, message), else_=None),
    }


def running_attempts(sessions: sessionmaker) -> set[tuple[str, int]]:
    """(job id, attempt) of every running job: the partial outputs that must be kept."""
    with sessions() as session:
        rows = session.execute(select(J.id, J.attempt).where(J.status == JobStatus.RUNNING)).all()
    return {(row.id, row.attempt) for row in rows}


def running_worker_ids(sessions: sessionmaker) -> set[str]:
    with sessions() as session:
        ids = session.scalars(
            select(J.worker_id).where(J.status == JobStatus.RUNNING).distinct()
        ).all()
    return {worker_id for worker_id in ids if worker_id}


def expire_outputs(sessions: sessionmaker, finished_before: datetime) -> list[str]:
    """Forget the outputs of jobs finished before the cutoff; returns their paths to remove."""
    with sessions.begin() as session:
        candidates = dict(
            session.execute(
                select(J.id, J.output_relpath).where(
                    J.status == JobStatus.SUCCEEDED,
                    J.finished_at < finished_before,
                    J.output_relpath.is_not(None),
                )
            ).all()
        )
        if not candidates:
            return []
        rows = session.execute(
            update(JOBS)
            .where(J.id.in_(list(candidates)), J.output_relpath.is_not(None))
            .values(output_relpath=None)
            .returning(J.id, J.batch_id)
        ).all()
        for row in rows:
            publish_event(
                session,
                "job.output_expired",
                {"job_id": row.id, "reason": "removed by the retention policy"},
                batch_id=row.batch_id,
                job_id=row.id,
            )
    return [candidates[row.id] for row in rows]


# --- workers --------------------------------------------------------------------------------


def register_worker(sessions: sessionmaker, worker_id: str, hostname: str, slots: int) -> None:
    now = utc_now()
    with sessions.begin() as session:
        session.merge(
            WorkerRow(
                id=worker_id,
                hostname=hostname,
                slots=slots,
                started_at=now,
                heartbeat_at=now,
                paused_reason=None,
                stopped_at=None,
            )
        )
        publish_event(session, "worker.started", {"worker_id": worker_id, "slots": slots})


def touch_worker(sessions: sessionmaker, worker_id: str, paused_reason: str | None) -> None:
    """Heartbeat of a worker; publishes worker.paused / worker.resumed when that changes."""
    with sessions.begin() as session:
        row = session.get(WorkerRow, worker_id)
        if row is None:
            return
        if row.paused_reason != paused_reason:
            kind = "worker.paused" if paused_reason else "worker.resumed"
            publish_event(session, kind, {"worker_id": worker_id, "reason": paused_reason})
        row.paused_reason = paused_reason
        row.heartbeat_at = utc_now()


def stop_worker(sessions: sessionmaker, worker_id: str) -> None:
    with sessions.begin() as session:
        row = session.get(WorkerRow, worker_id)
        if row is not None:
            row.stopped_at = utc_now()
            publish_event(session, "worker.stopped", {"worker_id": worker_id})


def forget_workers(sessions: sessionmaker, silent_since: datetime) -> int:
    """Delete registry rows of workers not heard from since `silent_since`."""
    with sessions.begin() as session:
        result = session.execute(delete(WorkerRow).where(WorkerRow.heartbeat_at < silent_since))
    return result.rowcount or 0


def list_workers(session: Session, seen_within_s: float = 3 * LEASE_S) -> list[WorkerRow]:
    """Workers that heartbeat recently and have not stopped (for health and the UI)."""
    since = utc_now() - timedelta(seconds=seen_within_s)
    statement = (
        select(WorkerRow)
        .where(WorkerRow.heartbeat_at >= since, WorkerRow.stopped_at.is_(None))
        .order_by(WorkerRow.started_at)
    )
    return list(session.scalars(statement))


def pause_reasons(session: Session) -> list[str]:
    """Why live workers are not claiming (e.g. low disk); empty when all are working."""
    return [w.paused_reason for w in list_workers(session) if w.paused_reason]
