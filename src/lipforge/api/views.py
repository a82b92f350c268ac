"""The JSON shapes of batches, jobs and events: Pydantic views, one per thing a client reads.

Each route declares its view as `response_model`, and the SSE stream sends the same
shapes: `EventView.job` is a `JobChange` (the `JobView` fields an event carries; the
others stay as the client last saw them), `EventView.batch` a `BatchChange`. A view is
built from what the services answer (`render/batches.py`'s `BatchState`, a job row and
its `RenderSpec`); the URLs of outputs, subtitles and archives are made here, the only
place that knows the API's paths. The browser UI (web/src/) and the CLI (`submit`,
`watch`) read these names. HeyGem's contract answers are not here (`heygem/contract.py`).

Adding a field a client sees takes two edits: its source (a queue column in
`jobs/tables.py` with a migration, or a `RenderSpec` field) and its line in `JobView`
(`JobChange` follows, since it is derived from `JobView`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from lipforge.events import EventRecord
from lipforge.jobs.tables import Job, JobStatus
from lipforge.render.batches import BatchState, job_progress
from lipforge.render.spec import RenderSpec

JOB_STATUS_BY_KIND = {
    "job.queued": "queued",
    "job.started": "running",
    "job.progress": "running",
    "job.succeeded": "succeeded",
    "job.failed": "failed",
    "job.cancelled": "cancelled",
}
PROGRESS_DIGITS = 4
QUEUE_INTERNAL_KEYS = {"job_id", "output_relpath", "heartbeat_at"}  # in events, not for clients


def _iso(value: datetime | str | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def output_url(job_id: str) -> str:
    return f"/api/jobs/{job_id}/output"


def subtitles_url(job_id: str) -> str:
    return f"/api/jobs/{job_id}/subtitles.srt"


def archive_url(batch_id: str) -> str:
    return f"/api/batches/{batch_id}/archive"


class JobView(BaseModel):
    """One job: its place and state in the queue, its render's parameters, its links."""

    id: str
    batch_id: str
    position: int
    audio_asset_id: str | None = Field(description="None until a script's speech is made.")
    video_asset_id: str
    output_name: str
    engine: str
    fit: str
    status: str = Field(description="queued, running, succeeded, failed or cancelled.")
    attempt: int
    max_attempts: int
    worker_id: str | None
    frames_done: int
    frames_total: int
    progress: float = Field(description="0..1; 1 once succeeded.")
    fps: float | None
    eta_s: float | None
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    error_code: str | None
    error_message: str | None
    error_params: dict[str, Any] | None
    cancel_requested: bool
    output_url: str | None = Field(description="Set once the job has succeeded.")
    script_name: str | None
    voice_name: str | None
    stage: str | None = Field(description="speech (a script being spoken) or render.")
    stage_done: int
    stage_total: int
    subtitles_url: str | None = Field(description="The .srt of a scripted job; .vtt beside it.")

    @classmethod
    def of(cls, job: Job) -> JobView:
        spec = RenderSpec.from_json(job.spec)
        succeeded = job.status == JobStatus.SUCCEEDED
        return cls(
            **{name: getattr(job, name) for name in QUEUE_FIELDS},
            **{name: getattr(spec, name) for name in SPEC_FIELDS},
            status=str(job.status),
            cancel_requested=bool(job.cancel_requested),
            progress=round(job_progress(job), PROGRESS_DIGITS),
            created_at=_iso(job.created_at),
            started_at=_iso(job.started_at),
            finished_at=_iso(job.finished_at),
            output_url=output_url(job.id) if succeeded else None,
            subtitles_url=subtitles_url(job.id) if spec.script_text else None,
        )


QUEUE_FIELDS = (
    "id", "batch_id", "position", "attempt", "max_attempts", "worker_id", "frames_done",
    "frames_total", "fps", "eta_s", "error_code", "error_message", "error_params", "stage",
    "stage_done", "stage_total",
)  # fmt: skip
SPEC_FIELDS = (
    "audio_asset_id", "video_asset_id", "output_name", "engine", "fit", "script_name", "voice_name"
)  # fmt: skip


def _optional(annotation: Any) -> Any:
    return annotation | None


# What an event says about a job: any JobView field but `id` may be absent (sent only if set).
JobChange = create_model(  # type: ignore[call-overload]  # fields built from JobView's
    "JobChange",
    __config__=ConfigDict(extra="ignore"),
    id=(str, ...),
    **{
        name: (_optional(info.annotation), None)
        for name, info in JobView.model_fields.items()
        if name != "id"
    },
)


def job_change(job_id: str, kind: str, payload: Mapping[str, Any]) -> BaseModel:
    """The job fields of a `job.*` event's payload (the queue's `job_payload`, or a part)."""
    fields = {key: value for key, value in payload.items() if key in JobChange.model_fields}
    fields.update(id=job_id)
    for key in ("created_at", "started_at", "finished_at"):
        if key in fields:
            fields[key] = _iso(fields[key])
    status = fields.get("status") or JOB_STATUS_BY_KIND.get(kind)
    if status is not None:
        fields["status"] = status
        fields["output_url"] = output_url(job_id) if status == JobStatus.SUCCEEDED else None
    return JobChange(**fields)


class BatchSummary(BaseModel):
    """A batch without its jobs (the batch list): options, counts, frame-weighted progress."""

    id: str
    name: str
    created_at: str | None
    engine: str | None
    fit: str | None
    status: str
    counts: dict[str, int]
    frames_done: int
    frames_total: int
    progress: float
    finished: bool
    archive_url: str
    last_event_id: int | None

    @classmethod
    def fields_of(cls, state: BatchState) -> dict[str, Any]:
        batch = state.batch
        done, total = state.weighted_progress()
        return {
            "id": batch.id,
            "name": batch.name,
            "created_at": _iso(batch.created_at),
            "engine": batch.options.get("engine"),
            "fit": batch.options.get("fit"),
            "status": state.status,
            "counts": state.counts,
            "frames_done": round(done),
            "frames_total": total,
            "progress": round(done / total, PROGRESS_DIGITS) if total else 0.0,
            "finished": state.finished,
            "archive_url": archive_url(batch.id),
            "last_event_id": state.last_event_id,
        }

    @classmethod
    def of(cls, state: BatchState) -> BatchSummary:
        return cls(**cls.fields_of(state))


class BatchView(BatchSummary):
    """One batch as polled: the summary, its jobs in queue order, why workers pause."""

    jobs: list[JobView]
    paused_reasons: list[str]

    @classmethod
    def of(cls, state: BatchState) -> BatchView:
        return cls(
            **cls.fields_of(state),
            jobs=[JobView.of(job) for job in state.jobs],
            paused_reasons=state.paused_reasons or [],
        )


class BatchPage(BaseModel):
    """A page of batch summaries, newest first; `next_offset` is None on the last page."""

    items: list[BatchSummary]
    total: int
    limit: int
    offset: int
    next_offset: int | None

    @classmethod
    def of(cls, states: list[BatchState], total: int, limit: int, offset: int) -> BatchPage:
        end = offset + len(states)
        return cls(
            items=[BatchSummary.of(state) for state in states],
            total=total,
            limit=limit,
            offset=offset,
            next_offset=end if end < total else None,
        )


class JobLogView(BaseModel):
    """A job's log lines, oldest first."""

    job_id: str
    lines: list[str]


class BatchChange(BaseModel):
    """What a `batch.updated` event says about its batch: the jobs counted by status."""

    id: str
    counts: dict[str, int] = Field(default_factory=dict)


class EventView(BaseModel):
    """One SSE event's data: its envelope, and the job or batch fields it changes. Events that
    are about neither (worker.paused, ...) carry their own fields beside the envelope."""

    model_config = ConfigDict(extra="allow")

    id: int
    created_at: str
    kind: str
    batch_id: str | None
    job_id: str | None
    job: JobChange | None = None
    batch: BatchChange | None = None

    @classmethod
    def of(cls, event: EventRecord) -> EventView:
        envelope: dict[str, Any] = {
            "id": event.id,
            "created_at": event.created_at.isoformat(),
            "kind": event.kind,
            "batch_id": event.batch_id,
            "job_id": event.job_id,
        }
        if event.kind.startswith("job.") and event.job_id is not None:
            change = job_change(event.job_id, event.kind, event.payload)
            shown = JobChange.model_fields.keys() | QUEUE_INTERNAL_KEYS
            extra = {k: v for k, v in event.payload.items() if k not in shown}  # e.g. reason
            return cls(**envelope, **extra, job=change)
        extra = {k: v for k, v in event.payload.items() if k not in envelope}
        if event.kind == "batch.updated" and event.batch_id is not None:
            extra["batch"] = BatchChange(id=event.batch_id, **event.payload)
        return cls(**envelope, **extra)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)
