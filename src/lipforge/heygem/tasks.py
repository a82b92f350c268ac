"""The HeyGem service: a submitted `code` becomes a LipForge batch of one job; a query reads it.

`submit_task` parses the body, stages both inputs (paths under the root, guarded
downloads), makes them assets through the asset library (probed on arrival: a broken
file is refused here, with its reason), and in one transaction creates the batch (named
with the code), its job and the `heygem_tasks` row. A code that is already queued,
running or done is answered again without a second job (a client retrying a submit
whose answer it lost); a failed or cancelled one is submitted afresh. `query_task`
answers HeyGem's `data` from the job. Both return HeyGem envelopes and raise only
HeygemError/LipforgeError; the routes map anything else. Call them off the event loop.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from lipforge.assets.library import ingest_file
from lipforge.config import Settings
from lipforge.db import utc_now
from lipforge.events import publish_event
from lipforge.heygem.contract import AnswerCode, TaskStatus, envelope, result_name
from lipforge.heygem.inputs import stage_input
from lipforge.heygem.netguard import AddressPolicy, parse_networks
from lipforge.heygem.results import STAGING_DIR_NAME, heygem_root, publish_result
from lipforge.heygem.submit import SubmitRequest, check_code, parse_submit
from lipforge.heygem.table import HeygemTask
from lipforge.jobs.queue import enqueue_jobs, new_id
from lipforge.jobs.tables import RETRYABLE_STATUSES, Batch, Job, JobStatus
from lipforge.logs import log_event
from lipforge.render.batches import check_asset_kinds, plan_jobs
from lipforge.render.spec import DEFAULT_ENGINE, RenderSpec

PROGRESS_STARTED = 10  # HeyGem's "inputs in" mark; rendering fills 10..95
PROGRESS_RENDER_SPAN = 85
ASSET_SOURCE = "heygem"


@dataclass(frozen=True)
class HeygemContext:
    """What the service needs: sessions, settings, and the fetch policy built from them."""

    sessions: sessionmaker
    settings: Settings

    @property
    def policy(self) -> AddressPolicy:
        networks = parse_networks(self.settings.heygem_fetch_allow, "LIPFORGE_HEYGEM_FETCH_ALLOW")
        return AddressPolicy(networks)


def submit_task(ctx: HeygemContext, raw_body: bytes) -> dict:
    request = parse_submit(raw_body)
    kept = _live_task(ctx.sessions, request.code)
    if kept is not None:
        return _accepted(kept, "this code was already submitted; its job is kept", request)
    staging = ctx.settings.data_dir.root / STAGING_DIR_NAME / uuid.uuid4().hex
    staging.mkdir(parents=True)
    try:
        audio, video = _ingest_inputs(ctx, request, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    check_asset_kinds([audio], [video])
    try:
        task = _create_job(ctx, request, audio, video)
    except (IntegrityError, _CodeTaken):  # the same code submitted twice at once: first one won
        task = _live_task(ctx.sessions, request.code)
        if task is None:
            raise
    log_event("heygem.submitted", code=request.code, job_id=task.job_id)
    return _accepted(task, "accepted; queued in LipForge", request)


def _accepted(task: HeygemTask, text: str, request: SubmitRequest) -> dict:
    msg = _with_notes(f"{text} (job {task.job_id})", request.notes)
    data = {"code": task.code, "job_id": task.job_id, "batch_id": task.batch_id}
    return envelope(AnswerCode.SUCCESS, msg, data)


def _live_task(sessions: sessionmaker, code: str) -> HeygemTask | None:
    """The task of `code` unless it ended failed or cancelled (a new submit replaces it)."""
    with sessions() as session:
        task = session.get(HeygemTask, code)
        job = session.get(Job, task.job_id) if task is not None else None
    if job is None or job.status in RETRYABLE_STATUSES:
        return None
    return task


def _ingest_inputs(ctx: HeygemContext, request: SubmitRequest, staging: Path):
    root, limit, policy = heygem_root(ctx.settings), ctx.settings.heygem_max_fetch_bytes, ctx.policy
    assets = []
    for field, value in (("audio_url", request.audio_url), ("video_url", request.video_url)):
        path, name = stage_input(field, value, root, staging, policy, limit)
        assets.append(ingest_file(path, name, ASSET_SOURCE, ctx.sessions, ctx.settings))
    return assets[0], assets[1]


def _create_job(ctx: HeygemContext, request: SubmitRequest, audio, video) -> HeygemTask:
    planned = plan_jobs([audio], [video], request.fit)[0]
    spec = RenderSpec(audio.id, video.id, result_name(request.code), DEFAULT_ENGINE, request.fit)
    batch = Batch(
        id=new_id(),
        created_at=utc_now(),
        name=request.code,
        options={"engine": DEFAULT_ENGINE, "fit": request.fit, "source": "heygem"},
    )
    with ctx.sessions.begin() as session:
        session.add(batch)
        session.flush()
        publish_event(session, "batch.created", {"jobs": 1}, batch_id=batch.id)
        job = enqueue_jobs(session, batch.id, [spec], ctx.settings.max_attempts)[0]
        _drop_ended_task(session, request.code)
        task = HeygemTask(
            code=request.code,
            job_id=job.id,
            batch_id=batch.id,
            created_at=utc_now(),
            notes="; ".join(request.notes),
            options={**request.options, "frames_estimate": planned.frames_estimate},
        )
        session.add(task)
    return task


class _CodeTaken(Exception):
    """Another submit of the same code won the race; its job is the one kept."""


def _drop_ended_task(session, code: str) -> None:
    """Remove the row of `code` if its job failed or was cancelled; _CodeTaken if it lives."""
    replaced = session.get(HeygemTask, code)
    if replaced is None:
        return
    job = session.get(Job, replaced.job_id)
    if job is not None and job.status not in RETRYABLE_STATUSES:
        raise _CodeTaken(code)
    session.delete(replaced)
    session.flush()


def query_task(ctx: HeygemContext, code: str | None, base_url: str) -> dict:
    if not code:
        return envelope(AnswerCode.BAD_PARAMETER, "code is missing: GET /easy/query?code=<code>")
    check_code(code)
    with ctx.sessions() as session:
        task = session.get(HeygemTask, code)
        job = session.get(Job, task.job_id) if task is not None else None
        ahead = _jobs_ahead(session, job) if job is not None else 0
    if task is None or job is None:
        return envelope(AnswerCode.TASK_NOT_FOUND, f"task not found: no job has code {code!r}")
    data = {"code": code, "job_id": job.id, "batch_id": task.batch_id, "result": ""}
    if job.status == JobStatus.SUCCEEDED:
        data.update(_succeeded_data(ctx, task, job, base_url))
    elif job.status in RETRYABLE_STATUSES:
        reason = job.error_message or f"the job ended {job.status}"
        data.update(status=int(TaskStatus.FAILED), progress=0, msg=reason)
    else:
        running = int(TaskStatus.RUNNING)
        data.update(status=running, progress=_progress(job), msg=_running(job, ahead))
    data["msg"] = _with_notes(data["msg"], tuple(filter(None, [task.notes])))
    return envelope(AnswerCode.SUCCESS, "", data)


def _succeeded_data(ctx: HeygemContext, task: HeygemTask, job: Job, base_url: str) -> dict:
    path = publish_result(ctx.sessions, ctx.settings, task, job)
    if path is None:
        return {"status": int(TaskStatus.FAILED), "progress": 0, "msg": "the result was removed"}
    cost_s = (job.finished_at - job.started_at).total_seconds() if job.started_at else 0.0
    return {
        "status": int(TaskStatus.SUCCEEDED),
        "progress": 100,
        "result": "/" + result_name(task.code),
        "msg": "done",
        "cost": round(cost_s, 3),
        "video_duration": task.duration_ms,
        "width": task.width,
        "height": task.height,
        "result_url": f"{base_url.rstrip('/')}/easy/result/{quote(task.code, safe='')}",
    }


def _progress(job: Job) -> int:
    if job.status != JobStatus.RUNNING:
        return 0
    fraction = job.frames_done / job.frames_total if job.frames_total else 0.0
    return PROGRESS_STARTED + int(PROGRESS_RENDER_SPAN * min(1.0, fraction))


def _running(job: Job, ahead: int) -> str:
    if job.status == JobStatus.QUEUED:
        return f"waiting in the LipForge queue: {ahead} job(s) ahead"
    return f"rendering: {job.frames_done}/{job.frames_total or '?'} frames"


def _jobs_ahead(session, job: Job) -> int:
    if job.status != JobStatus.QUEUED:
        return 0
    query = select(func.count()).where(Job.status == JobStatus.QUEUED, Job.position < job.position)
    return int(session.scalar(query) or 0)


def _with_notes(text: str, notes: tuple[str, ...]) -> str:
    return "; ".join([text, *(f"note: {note}" for note in notes)]) if notes else text
