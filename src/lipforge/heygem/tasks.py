"""The HeyGem service: a submitted `code` becomes a LipForge batch of one job; a query reads it.

`submit_task` parses the body and answers at once, as HeyGem does: inputs that are paths
under the root are staged and made assets through the asset library here (probed on
arrival: a broken file is refused in the answer, with its reason); http(s) inputs are
downloaded (guarded, with a deadline and a minimum rate) and probed in the background
(`background.py`), with a `heygem_fetches` row that queries answer as status 1, or 3 with
the reason when the download or probe fails. With both inputs in, one transaction creates
the batch (named with the code), its job and the `heygem_tasks` row. A code that is already queued,
running or done is answered again without a second job (a client retrying a submit
whose answer it lost); a failed or cancelled one is submitted afresh. `query_task`
answers HeyGem's `data` from the job: a queued job's message counts the jobs rendering and
waiting before it and estimates the wait from measured render speeds; a finished code
answers its final status once and then 10004, as HeyGem forgot it (LIPFORGE_HEYGEM_FORGET:
`failed`, the default, `all` or `none`), so clients that poll until 10004 stop. Both
return HeyGem envelopes and raise only HeygemError/LipforgeError; the routes map anything
else. Call them off the event loop.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from lipforge.assets.library import ingest_file
from lipforge.config import Settings
from lipforge.db import utc_now
from lipforge.errors import ConfigError, LipforgeError
from lipforge.events import publish_event
from lipforge.heygem.background import run_in_background
from lipforge.heygem.contract import AnswerCode, TaskStatus, envelope, result_name
from lipforge.heygem.fetcher import fetch_limits
from lipforge.heygem.inputs import check_url, is_url, stage_input
from lipforge.heygem.netguard import AddressPolicy, parse_networks
from lipforge.heygem.results import STAGING_DIR_NAME, heygem_root, publish_result
from lipforge.heygem.submit import SubmitRequest, check_code, parse_submit
from lipforge.heygem.table import HeygemFetch, HeygemTask
from lipforge.jobs.queue import enqueue_jobs, new_id
from lipforge.jobs.tables import RETRYABLE_STATUSES, Batch, Job, JobStatus
from lipforge.logs import log_event
from lipforge.render.batches import check_asset_kinds, plan_jobs
from lipforge.render.spec import DEFAULT_ENGINE, RenderSpec

PROGRESS_STARTED = 10  # HeyGem's "inputs in" mark; rendering fills 10..95
PROGRESS_RENDER_SPAN = 85
ASSET_SOURCE = "heygem"
REQUIRED_INPUTS = ("audio_url", "video_url")
FORGET_POLICIES = ("failed", "all", "none")  # LIPFORGE_HEYGEM_FORGET
FORGOTTEN = "forgotten"  # in a task's options: its final status was answered once
RECENT_SPEED_JOBS = 20  # finished renders whose speed estimates the wait when none runs
STALE_MARGIN_S = 120.0  # a download row older than its deadlines and this was orphaned


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
    if _fetch_running(ctx, request.code):
        return _fetching(request, "this code was already submitted; its inputs are downloading")
    urls = tuple(field for field, value in _inputs(request) if is_url(value))
    for field, value in _inputs(request):
        if field in urls:
            check_url(field, value, ctx.policy)
    local = _ingest_fields(ctx, request, [f for f, _ in _inputs(request) if f not in urls])
    if urls:
        if not _start_fetch(ctx, request):
            return _fetching(request, "this code was already submitted; its inputs are downloading")
        run_in_background(partial(_fetch_then_create, ctx, request, urls, local))
        return _fetching(request, "accepted; downloading the inputs, then queued in LipForge")
    return _accepted(_create_task(ctx, request, local), "accepted; queued in LipForge", request)


def _inputs(request: SubmitRequest) -> tuple[tuple[str, str], ...]:
    return (("audio_url", request.audio_url), ("video_url", request.video_url))


def _create_task(ctx: HeygemContext, request: SubmitRequest, assets: dict) -> HeygemTask:
    audio, video = assets["audio_url"], assets["video_url"]
    check_asset_kinds([audio], [video])
    try:
        task = _create_job(ctx, request, audio, video)
    except (IntegrityError, _CodeTaken):  # the same code submitted twice at once: first one won
        task = _live_task(ctx.sessions, request.code)
        if task is None:
            raise
    log_event("heygem.submitted", code=request.code, job_id=task.job_id)
    return task


def _fetching(request: SubmitRequest, text: str) -> dict:
    data = {"code": request.code, "job_id": None, "batch_id": None}
    return envelope(AnswerCode.SUCCESS, _with_notes(text, request.notes), data)


def _fetch_running(ctx: HeygemContext, code: str) -> bool:
    with ctx.sessions() as session:
        fetch = session.get(HeygemFetch, code)
    return fetch is not None and _fetch_failure(ctx, fetch) is None


def _start_fetch(ctx: HeygemContext, request: SubmitRequest) -> bool:
    """Record the code as downloading (replacing a failed download); False if one runs."""
    try:
        with ctx.sessions.begin() as session:
            session.execute(delete(HeygemFetch).where(HeygemFetch.code == request.code))
            session.add(
                HeygemFetch(code=request.code, created_at=utc_now(), notes="; ".join(request.notes))
            )
    except IntegrityError:
        return False
    return True


def _fetch_then_create(ctx: HeygemContext, request: SubmitRequest, urls, local: dict) -> None:
    """In the background: download and probe the http inputs, then create the job; a failure
    is kept on the fetch row, which queries answer as status 3 with the reason."""
    try:
        assets = {**local, **_ingest_fields(ctx, request, list(urls))}
        _create_task(ctx, request, assets)
    except LipforgeError as exc:
        _record_fetch_error(ctx, request.code, str(exc))
    except Exception as exc:
        _record_fetch_error(ctx, request.code, f"system error: {type(exc).__name__}: {exc}")
        raise


def _record_fetch_error(ctx: HeygemContext, code: str, reason: str) -> None:
    with ctx.sessions.begin() as session:
        fetch = session.get(HeygemFetch, code)
        if fetch is not None:
            fetch.error = reason
    log_event("heygem.fetch_failed", code=code, error=reason)


def _fetch_failure(ctx: HeygemContext, fetch: HeygemFetch) -> str | None:
    """Why a download ended without a job, or None while it may still be running."""
    if fetch.error:
        return fetch.error
    deadline_s = ctx.settings.heygem_fetch_deadline_s * len(REQUIRED_INPUTS) + STALE_MARGIN_S
    if (utc_now() - fetch.created_at).total_seconds() > deadline_s:
        return "the download of the inputs was interrupted (the server restarted); submit again"
    return None


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


def _ingest_fields(ctx: HeygemContext, request: SubmitRequest, fields: list[str]) -> dict:
    """{field: asset} for the given input fields, staged (downloaded) and probed."""
    if not fields:
        return {}
    settings = ctx.settings
    limits = fetch_limits(settings.heygem_fetch_deadline_s, settings.heygem_fetch_min_rate_bps)
    root, max_bytes, policy = heygem_root(settings), settings.heygem_max_fetch_bytes, ctx.policy
    staging = settings.data_dir.root / STAGING_DIR_NAME / uuid.uuid4().hex
    staging.mkdir(parents=True)
    assets = {}
    try:
        for field, value in _inputs(request):
            if field in fields:
                path, name = stage_input(field, value, root, staging, policy, max_bytes, limits)
                assets[field] = _ingest_as_sent(ctx, path, name, field, value)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return assets


def _ingest_as_sent(ctx: HeygemContext, path: Path, name: str, field: str, value: str):
    """The staged file as an asset; a refusal names the path or URL the client sent, never
    LipForge's staged copy (`audio_url-x.wav`)."""
    try:
        return ingest_file(path, name, ASSET_SOURCE, ctx.sessions, ctx.settings)
    except LipforgeError as exc:
        sent = f"{field} {value!r}"
        params = {key: _as_sent(item, path, sent) for key, item in exc.params.items()}
        raise type(exc)(_as_sent(str(exc), path, sent), **params, field=field) from exc


def _as_sent(text, path: Path, sent: str):
    if not isinstance(text, str):
        return text
    return text.replace(str(path), sent).replace(path.name, sent)


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
        session.execute(delete(HeygemFetch).where(HeygemFetch.code == request.code))
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
        fetch = session.get(HeygemFetch, code)
        task = session.get(HeygemTask, code)
        job = session.get(Job, task.job_id) if task is not None else None
        ahead = _queue_ahead(session, job) if job is not None else None
    if fetch is not None:
        return _fetch_answer(ctx, fetch)
    if task is None or job is None or task.options.get(FORGOTTEN):
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
    if _forgets(ctx, data["status"]):
        _forget_task(ctx, code)
    return envelope(AnswerCode.SUCCESS, "", data)


def _forgets(ctx: HeygemContext, status: int) -> bool:
    """True when a finished code answers its status this once, then 10004 (as HeyGem did)."""
    policy = ctx.settings.heygem_forget
    if policy not in FORGET_POLICIES:
        raise ConfigError(
            f"Config 'LIPFORGE_HEYGEM_FORGET' has value {policy!r}. Use one of: "
            f"{', '.join(FORGET_POLICIES)}.",
            value=policy,
        )
    if status == TaskStatus.FAILED:
        return policy in ("failed", "all")
    return status == TaskStatus.SUCCEEDED and policy == "all"


def _forget_task(ctx: HeygemContext, code: str) -> None:
    """Later queries of `code` answer 10004; its batch stays in LipForge's API and UI."""
    with ctx.sessions.begin() as session:
        task = session.get(HeygemTask, code)
        if task is not None:
            task.options = {**task.options, FORGOTTEN: True}
        session.execute(delete(HeygemFetch).where(HeygemFetch.code == code))


def _fetch_answer(ctx: HeygemContext, fetch: HeygemFetch) -> dict:
    data = {"code": fetch.code, "job_id": None, "batch_id": None, "result": "", "progress": 0}
    failure = _fetch_failure(ctx, fetch)
    if failure is None:
        data.update(status=int(TaskStatus.RUNNING), msg="downloading the inputs")
    else:
        data.update(status=int(TaskStatus.FAILED), msg=failure)
    data["msg"] = _with_notes(data["msg"], tuple(filter(None, [fetch.notes])))
    if _forgets(ctx, data["status"]):
        _forget_task(ctx, fetch.code)
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


def _running(job: Job, ahead: QueueAhead | None) -> str:
    if job.status != JobStatus.QUEUED:
        return f"rendering: {job.frames_done}/{job.frames_total or '?'} frames"
    ahead = ahead or QueueAhead(0, 0, None)
    wait = "unknown" if ahead.wait_s is None else f"about {_duration(ahead.wait_s)}"
    return (
        f"waiting in the LipForge queue: {ahead.running + ahead.waiting} job(s) ahead "
        f"({ahead.running} rendering, {ahead.waiting} waiting); estimated wait {wait}"
    )


@dataclass(frozen=True)
class QueueAhead:
    """What a queued job waits for: jobs rendering, jobs queued before it, and the wait."""

    running: int
    waiting: int
    wait_s: float | None  # None when no render has measured a speed yet


def _queue_ahead(session, job: Job) -> QueueAhead | None:
    if job.status != JobStatus.QUEUED:
        return None
    running = session.scalars(select(Job).where(Job.status == JobStatus.RUNNING)).all()
    before = Job.position < job.position
    waiting_frames = select(func.count(), func.coalesce(func.sum(Job.frames_total), 0)).where(
        Job.status == JobStatus.QUEUED, before
    )
    waiting, queued_frames = session.execute(waiting_frames).one()
    speeds = [j.fps for j in running if j.fps] or _recent_speeds(session)
    if not speeds:
        return QueueAhead(len(running), int(waiting), None)
    left = sum(max(0, j.frames_total - j.frames_done) for j in running) + int(queued_frames)
    fps = sum(speeds) / len(speeds) * max(1, len(running))
    return QueueAhead(len(running), int(waiting), left / fps)


def _recent_speeds(session) -> list[float]:
    query = (
        select(Job.fps)
        .where(Job.status == JobStatus.SUCCEEDED, Job.fps.is_not(None))
        .order_by(Job.finished_at.desc())
        .limit(RECENT_SPEED_JOBS)
    )
    return [fps for fps in session.scalars(query) if fps]


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    return f"{round(seconds / 60)} min"


def _with_notes(text: str, notes: tuple[str, ...]) -> str:
    return "; ".join([text, *(f"note: {note}" for note in notes)]) if notes else text
