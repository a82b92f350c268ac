"""Routes for batches and jobs: create, list, poll, cancel, retry, delete; outputs, archive, logs.

Handlers parse the request, call the batch service (`jobs/batches.py`) in a thread,
and answer; errors are `LipforgeError`s that the app maps to `{"error", "message"}`.
Outputs are served with HTTP Range (previews); the batch archive is a zip streamed
as it is written. Live progress is in `routes_events.py`.
"""

from __future__ import annotations

import asyncio
import functools

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from lipforge.api.downloads import object_response
from lipforge.api.schema import error_responses
from lipforge.api.zipstream import ZipMember, zip_chunks
from lipforge.errors import InvalidRequestError
from lipforge.jobs import batches
from lipforge.jobs.joblog import read_stored_job_log
from lipforge.jobs.scripts import ScriptRequest, subtitles_for_job
from lipforge.storage.backend import open_storage

router = APIRouter()

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MP4_MEDIA_TYPE = "video/mp4"


class ScriptBody(BaseModel):
    """One script for the worker to speak with a voice (GET /api/voices) before the render."""

    text: str
    voice: str
    name: str = Field("", description="Used in output names, e.g. the script file's stem.")


class BatchBody(BaseModel):
    """`POST /api/batches`: one audio x N videos, N audios x one video, or N scripts x M videos."""

    audio_asset_ids: list[str] = Field(default_factory=list)
    video_asset_ids: list[str] = Field(default_factory=list)
    scripts: list[ScriptBody] = Field(default_factory=list)
    engine: str = batches.DEFAULT_ENGINE
    fit: str = batches.DEFAULT_FIT
    name: str = ""


@router.post("/api/batches", status_code=201)
async def create_batch_route(request: Request, body: BatchBody) -> dict:
    state = request.app.state
    batch_request = batches.BatchRequest(
        audio_asset_ids=body.audio_asset_ids,
        video_asset_ids=body.video_asset_ids,
        engine=body.engine,
        fit=body.fit,
        name=body.name,
        scripts=[ScriptRequest(s.text, s.voice, s.name) for s in body.scripts],
    )
    return await asyncio.to_thread(
        batches.create_batch, state.sessions, batch_request, state.settings.max_attempts
    )


@router.get("/api/batches")
async def list_batches_route(
    request: Request, limit: int = DEFAULT_PAGE_SIZE, offset: int = 0
) -> dict:
    if not 1 <= limit <= MAX_PAGE_SIZE or offset < 0:
        raise InvalidRequestError(
            f"limit={limit}, offset={offset}: limit must be 1..{MAX_PAGE_SIZE}, offset >= 0."
        )
    return await asyncio.to_thread(batches.list_batches, request.app.state.sessions, limit, offset)


@router.get("/api/batches/{batch_id}")
async def get_batch_route(request: Request, batch_id: str) -> dict:
    return await asyncio.to_thread(batches.get_batch_snapshot, request.app.state.sessions, batch_id)


class RenameBody(BaseModel):
    """`PATCH /api/batches/{id}`: the batch's new name."""

    name: str = Field(min_length=1, max_length=batches.MAX_BATCH_NAME_CHARS)


@router.patch("/api/batches/{batch_id}", responses=error_responses(404, 422))
async def rename_batch_route(request: Request, batch_id: str, body: RenameBody) -> dict:
    """Rename a batch (names start as the script's opening words or the audio's file name)."""
    sessions = request.app.state.sessions
    return await asyncio.to_thread(batches.rename_batch, sessions, batch_id, body.name)


@router.post("/api/batches/{batch_id}/cancel")
async def cancel_batch_route(request: Request, batch_id: str) -> dict:
    return await asyncio.to_thread(batches.cancel_whole_batch, request.app.state.sessions, batch_id)


@router.delete("/api/batches/{batch_id}", status_code=204)
async def delete_batch_route(request: Request, batch_id: str) -> Response:
    state = request.app.state
    await asyncio.to_thread(batches.delete_whole_batch, state.sessions, state.settings, batch_id)
    return Response(status_code=204)


@router.get("/api/batches/{batch_id}/archive")
async def batch_archive_route(request: Request, batch_id: str) -> StreamingResponse:
    state = request.app.state
    members = await asyncio.to_thread(
        batches.archive_members, state.sessions, state.settings, batch_id
    )
    storage = open_storage(state.settings)
    return StreamingResponse(
        zip_chunks(
            ZipMember(
                None,
                name,
                functools.partial(storage.open_read, info.key),
                info.size_bytes,
                info.modified_at.timestamp(),
            )
            for info, name in members
        ),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="batch-{batch_id}.zip"'},
    )


@router.get("/api/jobs/{job_id}")
async def get_job_route(request: Request, job_id: str) -> dict:
    return await asyncio.to_thread(batches.get_job_snapshot, request.app.state.sessions, job_id)


@router.post("/api/jobs/{job_id}/cancel")
async def cancel_job_route(request: Request, job_id: str) -> dict:
    return await asyncio.to_thread(batches.cancel_one_job, request.app.state.sessions, job_id)


@router.post("/api/jobs/{job_id}/retry")
async def retry_job_route(request: Request, job_id: str) -> dict:
    state = request.app.state
    return await asyncio.to_thread(
        batches.retry_one_job, state.sessions, job_id, state.settings.max_attempts
    )


@router.api_route("/api/jobs/{job_id}/output", methods=["GET", "HEAD"])
async def job_output_route(request: Request, job_id: str) -> Response:
    state = request.app.state
    key, name = await asyncio.to_thread(
        batches.succeeded_output, state.sessions, state.settings, job_id
    )
    return await object_response(request, state.settings, key, name, MP4_MEDIA_TYPE)


@router.get("/api/jobs/{job_id}/log")
async def job_log_route(request: Request, job_id: str, tail: int | None = None) -> dict:
    """The job's log lines, oldest first; `?tail=N` keeps the last N."""
    state = request.app.state
    await asyncio.to_thread(batches.get_job_snapshot, state.sessions, job_id)
    storage = open_storage(state.settings)
    logs_dir = state.settings.data_dir.logs
    lines = await asyncio.to_thread(read_stored_job_log, storage, logs_dir, job_id)
    if tail is not None:
        lines = lines[-tail:] if tail > 0 else []
    return {"job_id": job_id, "lines": lines}


@router.get("/api/jobs/{job_id}/subtitles.srt", responses=error_responses(404, 409))
async def job_srt_route(request: Request, job_id: str) -> Response:
    """A scripted job's subtitles (SRT), one cue per sentence, as in its MP4's subtitle track."""
    return await _subtitles(request, job_id, "srt", "application/x-subrip")


@router.get("/api/jobs/{job_id}/subtitles.vtt", responses=error_responses(404, 409))
async def job_vtt_route(request: Request, job_id: str) -> Response:
    """A scripted job's subtitles (WebVTT), for the browser's <track>."""
    return await _subtitles(request, job_id, "vtt", "text/vtt")


async def _subtitles(request: Request, job_id: str, kind: str, media_type: str) -> Response:
    text, name = await asyncio.to_thread(
        subtitles_for_job, request.app.state.sessions, job_id, kind
    )
    headers = {"Content-Disposition": f'inline; filename="{name}"'}
    return Response(text, media_type=f"{media_type}; charset=utf-8", headers=headers)
