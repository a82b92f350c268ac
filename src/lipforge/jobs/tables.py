"""The `batches`, `jobs` and `workers` tables, and the job status values.

A job row holds what any queue needs (batch, position, status, attempt, lease and
heartbeat, progress, error code/message/params, cancel flag, stage) and ONE JSON
column, `spec`, with the parameters of the work itself, which the queue never reads
(for a render: `render/spec.py`'s `RenderSpec`). Only the declarations live here; every
statement that reads or changes jobs is in `jobs/queue.py`, events are written through
`events.py`. Adding a queue column takes two edits: the column here and a migration in
`migrations/versions/` (`tests/test_migrations.py` fails until both agree).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from lipforge.db import Base, UTCDateTime


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)
RETRYABLE_STATUSES = (JobStatus.FAILED, JobStatus.CANCELLED)


class Batch(Base):
    """One request from a user: its options; its status is derived from its jobs."""

    __tablename__ = "batches"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    options: Mapped[dict] = mapped_column(JSON, default=dict)  # {"engine": ..., "fit": ...}


class Job(Base):
    """One unit of work in the queue: its place, its state, its progress; `spec` says what."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_position", "status", "position"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    batch_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("batches.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(BigInteger)  # FIFO order across all batches
    spec: Mapped[dict] = mapped_column(JSON, default=dict)  # what to do; the queue never reads it
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED)
    attempt: Mapped[int] = mapped_column(Integer, default=0)  # number of the latest claim
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    worker_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    frames_done: Mapped[int] = mapped_column(Integer, default=0)
    frames_total: Mapped[int] = mapped_column(Integer, default=0)
    fps: Mapped[float | None] = mapped_column(Float, nullable=True)  # frames rendered per second
    eta_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    output_relpath: Mapped[str | None] = mapped_column(String(512), nullable=True)  # in outputs/
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    error_params: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # migration 0007
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    stage: Mapped[str | None] = mapped_column(String(16), nullable=True)  # e.g. "speech", "render"
    stage_done: Mapped[int] = mapped_column(Integer, default=0)  # steps of the stage done so far
    stage_total: Mapped[int] = mapped_column(Integer, default=0)


class WorkerRow(Base):
    """A worker process seen recently: where it runs, its slots, and why it is paused, if it is."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255))
    slots: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paused_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
