"""The batch service: turn a request (assets, options) into render jobs; read batches back.

A batch is one audio x N videos or N audios x one video (or N scripts x M videos); it
becomes one job per output, each with a `RenderSpec` (`render/spec.py`). `create_batch`
checks the request and enqueues; `get_batch_state` gathers what a client polls for a batch
(`api/views.py` turns it into JSON, URLs included), with batch progress weighted by
frames rather than by job count (`weighted_progress`).
`delete_whole_batch` cancels what still runs and removes the outputs. Every statement on
jobs goes through `jobs/queue.py`; this module holds the rules, not the SQL, and knows
nothing of HTTP.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lipforge.assets.library import get_asset, set_transcript
from lipforge.assets.table import Asset
from lipforge.config import Settings
from lipforge.db import utc_now
from lipforge.errors import ConflictError, LipforgeError, NotFoundError
from lipforge.events import latest_event_id, publish_event
from lipforge.jobs.joblog import job_log_key, job_log_path
from lipforge.jobs.outputs import output_key
from lipforge.jobs.queue import (
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
from lipforge.render.spec import DEFAULT_ENGINE, DEFAULT_FIT, RenderSpec
from lipforge.storage.backend import ObjectInfo, open_storage

FIT_MODES = ("loop", "pingpong", "trim")
MAX_JOBS_PER_BATCH = 500
MAX_BATCH_NAME_CHARS = 255
NAME_FROM_SCRIPT_CHARS = 40
OUTPUT_SUFFIX = ".mp4"
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


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
    transcripts: Mapping[str, str] | None = None  # audio asset id -> what it says (issue 18)


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
    names: set[str] = set()
    planned = []
    for audio, video in pairs:
        name = _unique_name(_output_stem(audio, video, len(audios), len(videos)), names)
        names.add(name)
        planned.append(PlannedJob(audio, video, name, estimate_frames(audio, video, fit)))
    return planned


def _output_stem(audio: Asset, video: Asset, audio_count: int, video_count: int) -> str:
    video_stem = _safe_stem(video.original_name) or video.id
    audio_stem = _safe_stem(audio.original_name) or audio.id
    if audio_count > 1:
        return f"{audio_stem}-{video_stem}"
    return f"{video_stem}-{audio_stem}"


def _safe_stem(original_name: str) -> str:
    stem = PurePath(original_name.replace("\\", "/")).stem
    return _UNSAFE_NAME_CHARS.sub("_", stem).strip("._")[:80]


def _unique_name(stem: str, taken: set[str]) -> str:
    name, counter = f"{stem}{OUTPUT_SUFFIX}", 2
    while name in taken:
        name, counter = f"{stem}-{counter}{OUTPUT_SUFFIX}", counter + 1
    return name


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


@dataclass(frozen=True)
class BatchState:
    """A batch as read for a client: its row, its jobs in queue order, and what they imply."""

    batch: Batch
    jobs: list[Job]
    frame_estimates: dict[str, int] = field(default_factory=dict)  # jobs with no frame count yet
    last_event_id: int | None = None
    paused_reasons: list[str] | None = None  # None: not asked (batch lists)

    @property
    def status(self) -> str:
        return batch_status(self.jobs)

    @property
    def counts(self) -> dict[str, int]:
        counts = {str(status): 0 for status in JobStatus}
        for job in self.jobs:
            counts[str(job.status)] += 1
        return counts

    @property
    def finished(self) -> bool:
        return all(job.status in TERMINAL_STATUSES for job in self.jobs)

    def weighted_progress(self) -> tuple[float, int]:
        """(frames done, frames in all) over the jobs; a job that has not started yet weighs
        its estimated frame count, so a 30-minute video and a 10-second one never count as
        halves of a batch."""
        weights = [job.frames_total or self.frame_estimates.get(job.id) or 1 for job in self.jobs]
        done = sum(w * job_progress(job) for w, job in zip(weights, self.jobs, strict=True))
        return done, sum(weights)


def output_path(outputs_dir: Path, job: Job) -> Path | None:
    """The data-dir file of a succeeded job's output, or None (none, removed, or in a bucket)."""
    if job.status != JobStatus.SUCCEEDED or not job.output_relpath:
        return None
    path = (outputs_dir / job.output_relpath).resolve()
    if not path.is_relative_to(outputs_dir.resolve()) or not path.is_file():
        return None
    return path


# --- the service: each function runs its own short transaction (call it off the event loop) ---


def create_batch(sessions: sessionmaker, request: BatchRequest, max_attempts: int) -> BatchState:
    """Check the request, make the batch and one queued job per output; answers its state."""
    check_shape(request, engine_names())
    audios = [_asset_for_batch(sessions, asset_id) for asset_id in request.audio_asset_ids]
    videos = [_asset_for_batch(sessions, asset_id) for asset_id in request.video_asset_ids]
    check_asset_kinds(audios, videos)
    check_scripts(sessions, request.scripts)
    record_transcripts(sessions, request)
    planned = plan_jobs(audios, videos, request.fit) if audios else []
    specs = [
        RenderSpec(job.audio.id, job.video.id, job.output_name, request.engine, request.fit)
        for job in planned
    ]
    taken = {job.output_name for job in planned}
    specs += script_job_specs(
        request.scripts, videos, request.engine, request.fit, taken, _safe_stem
    )
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
    return get_batch_state(sessions, batch.id)


# --- transcripts (issue 18): what each audio says travels with the audio asset ------------


def record_transcripts(sessions: sessionmaker, request: BatchRequest) -> None:
    """Set the transcripts the request gives on its audio assets (a later one replaces)."""
    transcripts = request.transcripts or {}
    strangers = sorted(set(transcripts) - set(request.audio_asset_ids))
    if strangers:
        raise InvalidBatchError(
            f"transcripts names {strangers[0]!r}, which is not one of this batch's "
            "audio_asset_ids. Key each transcript by its audio's asset id.",
            id=strangers[0],
            reason="transcript_not_in_batch",
        )
    for asset_id, text in transcripts.items():
        set_transcript(sessions, asset_id, text)


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


def rename_batch(sessions: sessionmaker, batch_id: str, name: str) -> BatchState:
    """Give a batch a new name (trimmed; not empty); answers the batch's state."""
    cleaned = " ".join(name.split())[:MAX_BATCH_NAME_CHARS]
    if not cleaned:
        raise InvalidBatchError("A batch's name cannot be empty.", reason="empty_name", id=batch_id)
    with sessions.begin() as session:
        _get_batch_row(session, batch_id).name = cleaned
    return get_batch_state(sessions, batch_id)


def _asset_for_batch(sessions: sessionmaker, asset_id: str) -> Asset:
    try:
        return get_asset(sessions, asset_id)
    except NotFoundError:
        raise BatchAssetMissingError(
            f"No asset with id {asset_id!r}. Upload the file first; the asset list shows "
            "the ids there are.",
            id=asset_id,
            reason="no_asset",
        ) from None


def get_batch_state(sessions: sessionmaker, batch_id: str) -> BatchState:
    """One batch with its jobs, and why workers pause (e.g. low disk), if they do.

    `last_event_id` is read first, so resuming the event stream from it misses nothing
    that happened after the snapshot.
    """
    last_event_id = latest_event_id(sessions)
    with sessions() as session:
        batch = _get_batch_row(session, batch_id)
        jobs = list_batch_jobs(session, batch_id)
        estimates = _frame_estimates(session, jobs)
        paused_reasons = pause_reasons(session)
    return BatchState(batch, jobs, estimates, last_event_id, paused_reasons)


def list_batches(sessions: sessionmaker, limit: int, offset: int) -> tuple[list[BatchState], int]:
    """A page of batches (newest first) and how many there are in all."""
    page = select(Batch).order_by(Batch.created_at.desc(), Batch.id.desc())
    with sessions() as session:
        total = int(session.scalar(select(func.count()).select_from(Batch)) or 0)
        states = []
        for batch in session.scalars(page.limit(limit).offset(offset)).all():
            jobs = list_batch_jobs(session, batch.id)
            states.append(BatchState(batch, jobs, _frame_estimates(session, jobs)))
    return states, total


def cancel_whole_batch(sessions: sessionmaker, batch_id: str) -> BatchState:
    with sessions.begin() as session:
        _get_batch_row(session, batch_id)
        cancel_batch(session, batch_id)
    return get_batch_state(sessions, batch_id)


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


def get_job_row(sessions: sessionmaker, job_id: str) -> Job:
    with sessions() as session:
        return get_job(session, job_id)


def cancel_one_job(sessions: sessionmaker, job_id: str) -> Job:
    with sessions.begin() as session:
        return cancel_job(session, job_id)


def retry_one_job(sessions: sessionmaker, job_id: str, max_attempts: int) -> Job:
    with sessions.begin() as session:
        return retry_job(session, job_id, max_attempts)


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
    return output_key(job.output_relpath), RenderSpec.from_json(job.spec).output_name


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
            members.append((info, RenderSpec.from_json(job.spec).output_name))
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
            f"No batch with id {batch_id!r}; the batch list shows the ids there are.",
            what="batch",
            id=batch_id,
        )
    return batch


def _frame_estimates(session: Session, jobs: Sequence[Job]) -> dict[str, int]:
    """For jobs that have not reported a frame count yet: their estimate from the assets."""
    waiting = {job.id: RenderSpec.from_json(job.spec) for job in jobs if not job.frames_total}
    ids = {spec.audio_asset_id for spec in waiting.values() if spec.audio_asset_id}
    ids |= {spec.video_asset_id for spec in waiting.values()}
    if not ids:
        return {}
    assets = {a.id: a for a in session.scalars(select(Asset).where(Asset.id.in_(ids)))}
    estimates = {}
    for job_id, spec in waiting.items():
        audio = assets.get(spec.audio_asset_id) if spec.audio_asset_id else None
        video = assets.get(spec.video_asset_id)
        if audio is not None and video is not None:
            estimates[job_id] = estimate_frames(audio, video, spec.fit)
        elif video is not None and spec.script_text:
            estimates[job_id] = estimated_frames(spec.script_text, video, spec.fit)
    return estimates
