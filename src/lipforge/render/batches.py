"""The batch service: turn a request (assets, options) into jobs; describe batches to clients.

A batch is one audio x N videos or N audios x one video; it becomes one job per output.
`create_batch` checks the request and enqueues; `describe_batch` / `describe_job` give
the snapshot that `GET /api/batches/{id}` answers and that SSE clients fold events into,
with batch progress weighted by frames rather than by job count. `delete_batch`
cancels what still runs and removes the outputs. Every statement on jobs goes through
`jobs/queue.py`; this module holds the rules, not the SQL, and knows nothing of HTTP.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lipforge.assets.library import UNNAMED, clean_original_name, get_asset
from lipforge.assets.table import Asset
from lipforge.config import Settings
from lipforge.db import utc_now
from lipforge.errors import ConflictError, LipforgeError, NotFoundError
from lipforge.events import latest_event_id, publish_event
from lipforge.filenames import file_stem, joined_stem, unique_file_name
from lipforge.jobs.joblog import job_log_key, job_log_path
from lipforge.jobs.outputs import output_key
from lipforge.jobs.queue import (
    JobSpec,
    cancel_batch,
    cancel_job,
    delete_batch,
    enqueue_jobs,
    get_job,
    list_batch_jobs,
    new_id,
    pause_reasons,
    retry_job,
)
from lipforge.jobs.tables import TERMINAL_STATUSES, Batch, Job, JobStatus
from lipforge.lipsync.engine import engine_names
from lipforge.render.scripts import ScriptRequest, check_scripts, estimated_frames, script_job_specs
from lipforge.storage.backend import ObjectInfo, open_storage

FIT_MODES = ("loop", "pingpong", "trim")
DEFAULT_ENGINE = "meshwarp"
DEFAULT_FIT = "pingpong"
MAX_JOBS_PER_BATCH = 500
MAX_BATCH_NAME_CHARS = 255
NAME_FROM_SCRIPT_CHARS = 40
OUTPUT_SUFFIX = ".mp4"


class InvalidBatchError(LipforgeError):
    """Raised when a batch request names the wrong number or kind of assets, or bad options."""

    code = "invalid_batch"
    http_status = 422


class BatchAssetMissingError(InvalidBatchError):
    """Raised when a batch names an asset id that does not exist (reason "no_asset")."""

    http_status = 404


@dataclass(frozen=True)
class BatchRequest:
    """What a client asks for: which assets, which engine, which fit mode."""

    audio_asset_ids: Sequence[str]
    video_asset_ids: Sequence[str]
    engine: str = DEFAULT_ENGINE
    fit: str = DEFAULT_FIT
    name: str = ""
    scripts: Sequence[ScriptRequest] = ()  # spoken by the worker, each x every video
    asset_names: Mapping[str, str] = field(default_factory=dict)  # id -> name given this time


@dataclass(frozen=True)
class PlannedJob:
    """One output to render: its assets, its file name and its estimated frame count."""

    audio: Asset
    video: Asset
    output_name: str
    frames_estimate: int


def check_shape(request: BatchRequest, known_engines: Sequence[str]) -> None:
    """Refuse requests that are not 1 x N or N x 1, or that name an unknown engine or fit."""
    audios, videos = len(request.audio_asset_ids), len(request.video_asset_ids)
    scripts = len(request.scripts)
    if scripts and videos:
        audios, scripts_total = audios + scripts, audios + scripts
        if scripts_total * videos > MAX_JOBS_PER_BATCH:
            raise InvalidBatchError(
                f"A batch holds at most {MAX_JOBS_PER_BATCH} jobs; this one would make "
                f"{scripts_total * videos}. Split it.",
                jobs=scripts_total * videos,
                limit=MAX_JOBS_PER_BATCH,
                reason="too_many",
            )
    elif audios == 0 or videos == 0:
        raise InvalidBatchError(
            f"A batch needs at least one audio and one video; got {audios} audio(s) and "
            f"{videos} video(s). Pass audio_asset_ids and video_asset_ids.",
            audios=audios,
            videos=videos,
            reason="missing",
        )
    if audios > 1 and videos > 1 and not scripts:
        raise InvalidBatchError(
            f"A batch is one audio x N videos or N audios x one video; got {audios} audios x "
            f"{videos} videos. Split it into {audios} batches of one audio each.",
            audios=audios,
            videos=videos,
            reason="shape",
        )
    if audios * videos > MAX_JOBS_PER_BATCH:
        raise InvalidBatchError(
            f"A batch holds at most {MAX_JOBS_PER_BATCH} jobs; this one would make "
            f"{audios * videos}. Split it.",
            jobs=audios * videos,
            limit=MAX_JOBS_PER_BATCH,
            reason="too_many",
        )
    if request.engine not in known_engines:
        raise InvalidBatchError(
            f"Unknown engine {request.engine!r}. Choose one of: {', '.join(known_engines)}.",
            engine=request.engine,
            known=", ".join(known_engines),
            reason="engine",
        )
    if request.fit not in FIT_MODES:
        raise InvalidBatchError(
            f"Unknown fit mode {request.fit!r}. Choose one of: {', '.join(FIT_MODES)}.",
            fit=request.fit,
            known=", ".join(FIT_MODES),
            reason="fit",
        )


def check_asset_kinds(audios: Sequence[Asset], videos: Sequence[Asset]) -> None:
    """Driving audios must carry sound (audio, or video with a sound track); videos, pictures."""
    for asset in audios:
        if asset.kind != "audio" and not asset.has_audio:
            raise InvalidBatchError(
                f"Asset {asset.id} ({asset.original_name}) has no sound track, so it cannot "
                "drive the lips. Pass an audio asset in audio_asset_ids.",
                id=asset.id,
                name=asset.original_name,
                reason="no_sound",
            )
    for asset in videos:
        if asset.kind != "video":
            raise InvalidBatchError(
                f"Asset {asset.id} ({asset.original_name}) is {asset.kind}, not a face video. "
                "Pass video assets in video_asset_ids.",
                id=asset.id,
                name=asset.original_name,
                kind=asset.kind,
                reason="not_video",
            )


def plan_jobs(audios: Sequence[Asset], videos: Sequence[Asset], fit: str) -> list[PlannedJob]:
    """One job per (audio, video) pair in request order, each with a unique output name."""
    pairs = [(audio, video) for audio in audios for video in videos]
    taken: set[str] = set()
    planned = []
    for audio, video in pairs:
        name = unique_file_name(_output_stem(audio, video, len(audios)), taken, OUTPUT_SUFFIX)
        planned.append(PlannedJob(audio, video, name, estimate_frames(audio, video, fit)))
    return planned


def _output_stem(audio: Asset, video: Asset, audio_count: int) -> str:
    """`<video>-<audio>`, or `<audio>-<video>` when several audios share one video
    (filenames.py's rule; an asset id only when a name has nothing usable left)."""
    video_stem = file_stem(video.original_name) or video.id
    audio_stem = file_stem(audio.original_name) or audio.id
    return joined_stem([audio_stem, video_stem] if audio_count > 1 else [video_stem, audio_stem])


def estimate_frames(audio: Asset, video: Asset, fit: str) -> int:
    """Output frames before the worker knows better: the audio's length at the video's rate."""
    fps = video.fps or 25.0
    duration_s = audio.duration_s
    if fit == "trim":
        duration_s = min(duration_s, video.duration_s)
    return max(1, round(duration_s * fps))


def job_progress(job: Job) -> float:
    if job.status == JobStatus.SUCCEEDED:
        return 1.0
    if not job.frames_total:
        return 0.0
    return min(1.0, job.frames_done / job.frames_total)


def batch_status(jobs: Sequence[Job]) -> str:
    """running while any job runs or waits; then failed if any failed, else cancelled/succeeded."""
    statuses = {job.status for job in jobs}
    if JobStatus.RUNNING in statuses:
        return "running"
    if JobStatus.QUEUED in statuses:
        return "queued"
    for status in (JobStatus.FAILED, JobStatus.CANCELLED):
        if status in statuses:
            return str(status)
    return "succeeded"


def describe_job(job: Job) -> dict:
    """The JSON snapshot of one job, as polled and as carried by SSE events."""
    return {
        "id": job.id,
        "batch_id": job.batch_id,
        "position": job.position,
        "audio_asset_id": job.audio_asset_id,
        "video_asset_id": job.video_asset_id,
        "output_name": job.output_name,
        "engine": job.engine,
        "fit": job.fit,
        "status": str(job.status),
        "attempt": job.attempt,
        "max_attempts": job.max_attempts,
        "worker_id": job.worker_id,
        "frames_done": job.frames_done,
        "frames_total": job.frames_total,
        "progress": round(job_progress(job), 4),
        "fps": job.fps,
        "eta_s": job.eta_s,
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "error_code": job.error_code,
        "error_message": job.error_message,
        "error_params": job.error_params,
        "cancel_requested": bool(job.cancel_requested),
        "output_url": f"/api/jobs/{job.id}/output" if job.status == JobStatus.SUCCEEDED else None,
        "script_name": job.script_name,
        "voice_name": job.voice_name,
        "stage": job.stage,
        "stage_done": job.stage_done,
        "stage_total": job.stage_total,
        "subtitles_url": f"/api/jobs/{job.id}/subtitles.srt" if job.script_text else None,
    }


def describe_batch(
    batch: Batch,
    jobs: Sequence[Job],
    frame_estimates: dict[str, int] | None = None,
    last_event_id: int | None = None,
    with_jobs: bool = True,
) -> dict:
    """The batch snapshot: options, counts, progress weighted by frames, and (optionally) jobs.

    A job that has not started yet weighs its estimated frame count, so a 30-minute video
    and a 10-second one never count as halves of a batch.
    """
    estimates = frame_estimates or {}
    weights = [job.frames_total or estimates.get(job.id) or 1 for job in jobs]
    done = sum(w * job_progress(job) for w, job in zip(weights, jobs, strict=True))
    total = sum(weights)
    counts = {str(status): 0 for status in JobStatus}
    for job in jobs:
        counts[str(job.status)] += 1
    snapshot = {
        "id": batch.id,
        "name": batch.name,
        "created_at": _iso(batch.created_at),
        "engine": batch.options.get("engine"),
        "fit": batch.options.get("fit"),
        "status": batch_status(jobs),
        "counts": counts,
        "frames_done": round(done),
        "frames_total": total,
        "progress": round(done / total, 4) if total else 0.0,
        "finished": all(job.status in TERMINAL_STATUSES for job in jobs),
        "archive_url": f"/api/batches/{batch.id}/archive",
        "last_event_id": last_event_id,
    }
    if with_jobs:
        snapshot["jobs"] = [describe_job(job) for job in jobs]
    return snapshot


def output_path(outputs_dir: Path, job: Job) -> Path | None:
    """The data-dir file of a succeeded job's output, or None (none, removed, or in a bucket)."""
    if job.status != JobStatus.SUCCEEDED or not job.output_relpath:
        return None
    path = (outputs_dir / job.output_relpath).resolve()
    if not path.is_relative_to(outputs_dir.resolve()) or not path.is_file():
        return None
    return path


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


# --- the service: each function runs its own short transaction (call it off the event loop) ---


def create_batch(sessions: sessionmaker, request: BatchRequest, max_attempts: int) -> dict:
    """Check the request, make the batch and one queued job per output; answers the snapshot."""
    check_shape(request, engine_names())
    names = request.asset_names
    audios = [_asset_for_batch(sessions, asset_id, names) for asset_id in request.audio_asset_ids]
    videos = [_asset_for_batch(sessions, asset_id, names) for asset_id in request.video_asset_ids]
    check_asset_kinds(audios, videos)
    check_scripts(sessions, request.scripts)
    planned = plan_jobs(audios, videos, request.fit) if audios else []
    specs = [
        JobSpec(job.audio.id, job.video.id, job.output_name, request.engine, request.fit)
        for job in planned
    ]
    taken = {job.output_name.casefold() for job in planned}
    specs += script_job_specs(request.scripts, videos, request.engine, request.fit, taken)
    batch = Batch(
        id=new_id(),
        created_at=utc_now(),
        name=(request.name.strip() or default_batch_name(audios, request.scripts))[
            :MAX_BATCH_NAME_CHARS
        ],
        options={"engine": request.engine, "fit": request.fit},
    )
    with sessions.begin() as session:
        session.add(batch)
        session.flush()
        publish_event(session, "batch.created", {"jobs": len(specs)}, batch_id=batch.id)
        enqueue_jobs(session, batch.id, specs, max_attempts)
    return get_batch_snapshot(sessions, batch.id)


def default_batch_name(audios: Sequence[Asset], scripts: Sequence[ScriptRequest]) -> str:
    """A batch's name when none is given: its first script's name or opening words, else
    its first audio's file name without the extension."""
    if scripts:
        first = scripts[0]
        words = first.name or " ".join(first.text.split())
        if len(words) > NAME_FROM_SCRIPT_CHARS:
            return words[:NAME_FROM_SCRIPT_CHARS].rstrip() + "…"
        return words
    if audios:
        return PurePath(audios[0].original_name.replace("\\", "/")).stem
    return ""


def rename_batch(sessions: sessionmaker, batch_id: str, name: str) -> dict:
    """Give a batch a new name (trimmed; not empty); answers the batch's snapshot."""
    cleaned = " ".join(name.split())[:MAX_BATCH_NAME_CHARS]
    if not cleaned:
        raise InvalidBatchError("A batch's name cannot be empty.", reason="empty_name", id=batch_id)
    with sessions.begin() as session:
        _get_batch_row(session, batch_id).name = cleaned
    return get_batch_snapshot(sessions, batch_id)


def _asset_for_batch(sessions: sessionmaker, asset_id: str, names: Mapping[str, str]) -> Asset:
    """The asset, under the name the user gave it this time if the request says one (the
    object is detached from its session: the new name names outputs, it is not stored)."""
    try:
        asset = get_asset(sessions, asset_id)
    except NotFoundError:
        raise BatchAssetMissingError(
            f"No asset with id {asset_id!r}. Upload the file first, or list assets with "
            "GET /api/assets.",
            id=asset_id,
            reason="no_asset",
        ) from None
    given = clean_original_name(names.get(asset_id, ""))
    if given != UNNAMED:
        asset.original_name = given
    return asset


def get_batch_snapshot(sessions: sessionmaker, batch_id: str) -> dict:
    """The polling snapshot of one batch, with why workers pause (e.g. low disk), if they do.

    `last_event_id` is read first, so resuming the event stream from it misses nothing
    that happened after the snapshot.
    """
    last_event_id = latest_event_id(sessions)
    with sessions() as session:
        batch = _get_batch_row(session, batch_id)
        jobs = list_batch_jobs(session, batch_id)
        estimates = _frame_estimates(session, jobs)
        paused_reasons = pause_reasons(session)
    snapshot = describe_batch(batch, jobs, estimates, last_event_id)
    snapshot["paused_reasons"] = paused_reasons
    return snapshot


def list_batches(sessions: sessionmaker, limit: int, offset: int) -> dict:
    """A page of batch summaries (without their jobs), newest first."""
    page = select(Batch).order_by(Batch.created_at.desc(), Batch.id.desc())
    with sessions() as session:
        total = int(session.scalar(select(func.count()).select_from(Batch)) or 0)
        summaries = []
        for batch in session.scalars(page.limit(limit).offset(offset)).all():
            jobs = list_batch_jobs(session, batch.id)
            estimates = _frame_estimates(session, jobs)
            summaries.append(describe_batch(batch, jobs, estimates, with_jobs=False))
    next_offset = offset + len(summaries) if offset + len(summaries) < total else None
    return {
        "items": summaries,
        "total": total,
        "limit": limit,
        "offset": offset,
        "next_offset": next_offset,
    }


def cancel_whole_batch(sessions: sessionmaker, batch_id: str) -> dict:
    with sessions.begin() as session:
        _get_batch_row(session, batch_id)
        cancel_batch(session, batch_id)
    return get_batch_snapshot(sessions, batch_id)


def delete_whole_batch(sessions: sessionmaker, settings: Settings, batch_id: str) -> None:
    """Delete the batch and its jobs (a running one loses its lease and stops), then its files."""
    with sessions.begin() as session:
        job_ids = [job.id for job in list_batch_jobs(session, batch_id)]
        relpaths = delete_batch(session, batch_id)
    storage = open_storage(settings)
    for relpath in relpaths:
        storage.delete(output_key(relpath))
    with contextlib.suppress(OSError):
        (settings.data_dir.outputs / batch_id).rmdir()
    for job_id in job_ids:
        job_log_path(settings.data_dir.logs, job_id).unlink(missing_ok=True)
        storage.delete(job_log_key(job_id))


def get_job_snapshot(sessions: sessionmaker, job_id: str) -> dict:
    with sessions() as session:
        return describe_job(get_job(session, job_id))


def cancel_one_job(sessions: sessionmaker, job_id: str) -> dict:
    with sessions.begin() as session:
        return describe_job(cancel_job(session, job_id))


def retry_one_job(sessions: sessionmaker, job_id: str, max_attempts: int) -> dict:
    with sessions.begin() as session:
        return describe_job(retry_job(session, job_id, max_attempts))


def succeeded_output(sessions: sessionmaker, settings: Settings, job_id: str) -> tuple[str, str]:
    """A succeeded job's output (its storage key) and its download name; a clear error otherwise."""
    with sessions() as session:
        job = get_job(session, job_id)
    if job.status != JobStatus.SUCCEEDED:
        raise ConflictError(
            f"Job {job_id} is {job.status}; its output exists only once it has succeeded.",
            id=job_id,
            status=str(job.status),
            reason="not_succeeded",
        )
    if _stored_output(settings, job) is None:
        raise NotFoundError(
            f"The output of job {job_id} was removed (retention or cleanup). Retry the job.",
            what="output",
            id=job_id,
        )
    return output_key(job.output_relpath), job.output_name


def _stored_output(settings: Settings, job: Job) -> ObjectInfo | None:
    if job.status != JobStatus.SUCCEEDED or not job.output_relpath:
        return None
    return open_storage(settings).stat(output_key(job.output_relpath))


def archive_members(
    sessions: sessionmaker, settings: Settings, batch_id: str
) -> list[tuple[ObjectInfo, str]]:
    """The succeeded outputs of a batch that are still stored, in queue order."""
    with sessions() as session:
        _get_batch_row(session, batch_id)
        jobs = list_batch_jobs(session, batch_id)
    members = []
    for job in jobs:
        info = _stored_output(settings, job)
        if info is not None:
            members.append((info, job.output_name))
    if not members:
        raise ConflictError(
            f"Batch {batch_id} has no finished outputs yet; the archive holds succeeded jobs only.",
            id=batch_id,
            reason="no_outputs",
        )
    return members


def _get_batch_row(session: Session, batch_id: str) -> Batch:
    batch = session.get(Batch, batch_id, populate_existing=True)
    if batch is None:
        raise NotFoundError(
            f"No batch with id {batch_id!r}. List batches with GET /api/batches.",
            what="batch",
            id=batch_id,
        )
    return batch


def _frame_estimates(session: Session, jobs: Sequence[Job]) -> dict[str, int]:
    """For jobs that have not reported a frame count yet: their estimate from the assets."""
    waiting = [job for job in jobs if not job.frames_total]
    ids = {job.audio_asset_id for job in waiting} | {job.video_asset_id for job in waiting}
    ids.discard(None)
    if not ids:
        return {}
    assets = {a.id: a for a in session.scalars(select(Asset).where(Asset.id.in_(ids)))}
    estimates = {}
    for job in waiting:
        audio, video = assets.get(job.audio_asset_id), assets.get(job.video_asset_id)
        if audio is not None and video is not None:
            estimates[job.id] = estimate_frames(audio, video, job.fit)
        elif video is not None and job.script_text:
            estimates[job.id] = estimated_frames(job.script_text, video, job.fit)
    return estimates
