"""The batch service: turn a request (assets, options) into jobs; describe batches to clients.

A batch is one audio x N videos or N audios x one video; it becomes one job per output.
`create_batch` checks the request and enqueues; `describe_batch` / `describe_job` give
the snapshot that `GET /api/batches/{id}` answers and that SSE clients fold events into,
with batch progress weighted by frames rather than by job count. `delete_batch`
cancels what still runs and removes the outputs. Every statement on jobs goes through
`jobs/queue.py`; this module holds the rules, not the SQL, and knows nothing of HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

from lipforge.assets.table import Asset
from lipforge.errors import LipforgeError
from lipforge.jobs.tables import TERMINAL_STATUSES, Batch, Job, JobStatus

FIT_MODES = ("loop", "pingpong", "trim")
DEFAULT_ENGINE = "meshwarp"
DEFAULT_FIT = "pingpong"
MAX_JOBS_PER_BATCH = 500
OUTPUT_SUFFIX = ".mp4"
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


class InvalidBatchError(LipforgeError):
    """Raised when a batch request names the wrong number or kind of assets, or bad options."""

    code = "invalid_batch"
    http_status = 422


@dataclass(frozen=True)
class BatchRequest:
    """What a client asks for: which assets, which engine, which fit mode."""

    audio_asset_ids: Sequence[str]
    video_asset_ids: Sequence[str]
    engine: str = DEFAULT_ENGINE
    fit: str = DEFAULT_FIT


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
    if audios == 0 or videos == 0:
        raise InvalidBatchError(
            f"A batch needs at least one audio and one video; got {audios} audio(s) and "
            f"{videos} video(s). Pass audio_asset_ids and video_asset_ids."
        )
    if audios > 1 and videos > 1:
        raise InvalidBatchError(
            f"A batch is one audio x N videos or N audios x one video; got {audios} audios x "
            f"{videos} videos. Split it into {audios} batches of one audio each."
        )
    if audios * videos > MAX_JOBS_PER_BATCH:
        raise InvalidBatchError(
            f"A batch holds at most {MAX_JOBS_PER_BATCH} jobs; this one would make "
            f"{audios * videos}. Split it."
        )
    if request.engine not in known_engines:
        raise InvalidBatchError(
            f"Unknown engine {request.engine!r}. Choose one of: {', '.join(known_engines)}."
        )
    if request.fit not in FIT_MODES:
        raise InvalidBatchError(
            f"Unknown fit mode {request.fit!r}. Choose one of: {', '.join(FIT_MODES)}."
        )


def check_asset_kinds(audios: Sequence[Asset], videos: Sequence[Asset]) -> None:
    """Driving audios must carry sound (audio, or video with a sound track); videos, pictures."""
    for asset in audios:
        if asset.kind != "audio" and not asset.has_audio:
            raise InvalidBatchError(
                f"Asset {asset.id} ({asset.original_name}) has no sound track, so it cannot "
                "drive the lips. Pass an audio asset in audio_asset_ids."
            )
    for asset in videos:
        if asset.kind != "video":
            raise InvalidBatchError(
                f"Asset {asset.id} ({asset.original_name}) is {asset.kind}, not a face video. "
                "Pass video assets in video_asset_ids."
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
        "cancel_requested": bool(job.cancel_requested),
        "output_url": f"/api/jobs/{job.id}/output" if job.status == JobStatus.SUCCEEDED else None,
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
    """Where a succeeded job's output lives, or None when it has none (or it was removed)."""
    if job.status != JobStatus.SUCCEEDED or not job.output_relpath:
        return None
    path = (outputs_dir / job.output_relpath).resolve()
    if not path.is_relative_to(outputs_dir.resolve()) or not path.is_file():
        return None
    return path


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None
