"""Routes for batches and jobs: create, list, poll, cancel, retry, delete; outputs, archive, logs.

Handlers parse the request, call the batch service (`render/batches.py`) in a thread,
and answer through a view of `api/views.py` (each route's response model); errors are
`LipforgeError`s that the app maps to `{"error", "message"}`. Outputs are served with
HTTP Range (previews); the batch archive is a zip streamed as it is written. Live progress
is in `routes_events.py`.
"""

from __future__ import annotations

import asyncio
import functools
import io
import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from lipforge.api.downloads import object_response
from lipforge.api.schema import MAX_PAGE_OFFSET, error_responses, file_responses
from lipforge.api.views import BatchPage, BatchView, JobLogView, JobView
from lipforge.api.zipstream import ZipMember, zip_chunks
from lipforge.assets.library import MAX_TRANSCRIPT_CHARS
from lipforge.jobs.joblog import read_stored_job_log
from lipforge.render import batches
from lipforge.render.scripts import (
    MAX_SCRIPT_CHARS,
    ScriptRequest,
    archive_subtitles,
    subtitles_for_job,
)
from lipforge.render.spec import DEFAULT_ENGINE, DEFAULT_FIT
from lipforge.storage.backend import open_storage

router = APIRouter()

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_LOG_TAIL_LINES = 100_000
MP4_MEDIA_TYPE = "video/mp4"
# The schema admits scripted batches of up to this many scripts (plus audios) x videos; the
# server's own limit is their product <= MAX_JOBS_PER_BATCH, which JSON Schema cannot say.
SCHEMA_MAX_SCRIPTS = 20
SCHEMA_MAX_SCRIPT_VIDEOS = batches.MAX_JOBS_PER_BATCH // (2 * SCHEMA_MAX_SCRIPTS)


class ScriptBody(BaseModel):
    """One script for the worker to speak with a voice (GET /api/voices) before the render."""

    text: str = Field(
        description="What the voice says.",
        json_schema_extra={"pattern": r"\S", "maxLength": MAX_SCRIPT_CHARS},  # invalid_script
    )
    voice: str
    name: str = Field("", description="Used in output names, e.g. the script file's stem.")


def _batch_shapes(schema: dict[str, Any]) -> None:
    """The body's schema says what `batches.check_shape` accepts: engines, fit modes, shapes."""
    from lipforge.lipsync.engine import engine_names

    properties = schema["properties"]
    properties["engine"]["enum"] = engine_names()
    properties["fit"]["enum"] = list(batches.FIT_MODES)
    one = {"minItems": 1, "maxItems": 1}
    many = {"minItems": 1, "maxItems": batches.MAX_JOBS_PER_BATCH}
    pair = ["audio_asset_ids", "video_asset_ids"]
    schema["anyOf"] = [
        {"properties": {pair[0]: one, pair[1]: many, "scripts": {"maxItems": 0}}, "required": pair},
        {"properties": {pair[0]: many, pair[1]: one, "scripts": {"maxItems": 0}}, "required": pair},
        {
            "properties": {
                "scripts": {"minItems": 1, "maxItems": SCHEMA_MAX_SCRIPTS},
                pair[0]: {"maxItems": SCHEMA_MAX_SCRIPTS},
                pair[1]: {"minItems": 1, "maxItems": SCHEMA_MAX_SCRIPT_VIDEOS},
            },
            "required": ["scripts", pair[1]],
        },
    ]


class BatchBody(BaseModel):
    """`POST /api/batches`: one audio x N videos, N audios x one video, or N scripts x M videos."""

    model_config = ConfigDict(json_schema_extra=_batch_shapes)

    audio_asset_ids: list[str] = Field(default_factory=list)
    video_asset_ids: list[str] = Field(default_factory=list)
    scripts: list[ScriptBody] = Field(default_factory=list)
    engine: str = DEFAULT_ENGINE
    fit: str = DEFAULT_FIT
    name: str = ""
    transcripts: dict[str, Annotated[str, Field(max_length=MAX_TRANSCRIPT_CHARS)]] = Field(
        default_factory=dict,
        description="What each audio says, by its asset id: its words drive the mouth shapes. "
        "Kept on the audio asset (PATCH /api/assets/{id} changes it).",
        max_length=batches.MAX_JOBS_PER_BATCH,
    )


@router.post("/api/batches", status_code=201, responses=error_responses(404, 422))
async def create_batch_route(request: Request, body: BatchBody) -> BatchView:
    state = request.app.state
    batch_request = batches.BatchRequest(
        audio_asset_ids=body.audio_asset_ids,
        video_asset_ids=body.video_asset_ids,
        engine=body.engine,
        fit=body.fit,
        name=body.name,
        scripts=[ScriptRequest(s.text, s.voice, s.name) for s in body.scripts],
        transcripts=body.transcripts,
    )
    created = await asyncio.to_thread(
        batches.create_batch, state.sessions, batch_request, state.settings.max_attempts
    )
    return BatchView.of(created)


@router.get("/api/batches", responses=error_responses(422))
async def list_batches_route(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    offset: Annotated[int, Query(ge=0, le=MAX_PAGE_OFFSET)] = 0,
) -> BatchPage:
    sessions = request.app.state.sessions
    states, total = await asyncio.to_thread(batches.list_batches, sessions, limit, offset)
    return BatchPage.of(states, total, limit, offset)


@router.get("/api/batches/{batch_id}", responses=error_responses(404))
async def get_batch_route(request: Request, batch_id: str) -> BatchView:
    sessions = request.app.state.sessions
    return BatchView.of(await asyncio.to_thread(batches.get_batch_state, sessions, batch_id))


class RenameBody(BaseModel):
    """`PATCH /api/batches/{id}`: the batch's new name."""

    name: str = Field(
        min_length=1,
        max_length=batches.MAX_BATCH_NAME_CHARS,
        json_schema_extra={"pattern": r"\S"},  # all blank: 422 reason "empty_name"
    )


@router.patch("/api/batches/{batch_id}", responses=error_responses(404, 422))
async def rename_batch_route(request: Request, batch_id: str, body: RenameBody) -> BatchView:
    """Rename a batch (names start as the script's opening words or the audio's file name)."""
    sessions = request.app.state.sessions
    return BatchView.of(
        await asyncio.to_thread(batches.rename_batch, sessions, batch_id, body.name)
    )


@router.post("/api/batches/{batch_id}/cancel", responses=error_responses(404))
async def cancel_batch_route(request: Request, batch_id: str) -> BatchView:
    sessions = request.app.state.sessions
    return BatchView.of(await asyncio.to_thread(batches.cancel_whole_batch, sessions, batch_id))


@router.delete(
    "/api/batches/{batch_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(404),
)
async def delete_batch_route(request: Request, batch_id: str) -> Response:
    state = request.app.state
    await asyncio.to_thread(batches.delete_whole_batch, state.sessions, state.settings, batch_id)
    return Response(status_code=204)


@router.get(
    "/api/batches/{batch_id}/archive",
    response_class=StreamingResponse,
    responses={
        200: {"description": "A zip of the batch's outputs.", "content": {"application/zip": {}}},
        **error_responses(404, 409),
    },
)
async def batch_archive_route(request: Request, batch_id: str) -> StreamingResponse:
    state = request.app.state
    members = await asyncio.to_thread(
        batches.archive_members, state.sessions, state.settings, batch_id
    )
    subtitles = await asyncio.to_thread(archive_subtitles, state.sessions, batch_id)
    storage = open_storage(state.settings)
    outputs = [
        ZipMember(
            None,
            name,
            functools.partial(storage.open_read, info.key),
            info.size_bytes,
            info.modified_at.timestamp(),
        )
        for info, name in members
    ]
    now_s = time.time()
    sidecars = [  # a scripted job's .srt and .vtt beside its MP4
        ZipMember(None, name, functools.partial(io.BytesIO, data), len(data), now_s)
        for name, data in subtitles
    ]
    return StreamingResponse(
        zip_chunks(outputs + sidecars),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="batch-{batch_id}.zip"'},
    )


@router.get("/api/jobs/{job_id}", responses=error_responses(404))
async def get_job_route(request: Request, job_id: str) -> JobView:
    sessions = request.app.state.sessions
    return JobView.of(await asyncio.to_thread(batches.get_job_row, sessions, job_id))


@router.post("/api/jobs/{job_id}/cancel", responses=error_responses(404, 409))
async def cancel_job_route(request: Request, job_id: str) -> JobView:
    sessions = request.app.state.sessions
    return JobView.of(await asyncio.to_thread(batches.cancel_one_job, sessions, job_id))


@router.post("/api/jobs/{job_id}/retry", responses=error_responses(404, 409))
async def retry_job_route(request: Request, job_id: str) -> JobView:
    state = request.app.state
    retried = await asyncio.to_thread(
        batches.retry_one_job, state.sessions, job_id, state.settings.max_attempts
    )
    return JobView.of(retried)


@router.get(
    "/api/jobs/{job_id}/output",
    response_class=Response,
    responses={**file_responses(MP4_MEDIA_TYPE, redirect=True), **error_responses(404, 409)},
)
@router.head(
    "/api/jobs/{job_id}/output",
    operation_id="job_output_head",
    response_class=Response,
    responses={**file_responses(MP4_MEDIA_TYPE, redirect=True), **error_responses(404, 409)},
)
async def job_output_route(request: Request, job_id: str) -> Response:
    state = request.app.state
    key, name = await asyncio.to_thread(
        batches.succeeded_output, state.sessions, state.settings, job_id
    )
    return await object_response(request, state.settings, key, name, MP4_MEDIA_TYPE)


@router.get("/api/jobs/{job_id}/log", responses=error_responses(404, 422))
async def job_log_route(
    request: Request,
    job_id: str,
    tail: Annotated[int | None, Query(ge=0, le=MAX_LOG_TAIL_LINES)] = None,
) -> JobLogView:
    """The job's log lines, oldest first; `?tail=N` keeps the last N."""
    state = request.app.state
    await asyncio.to_thread(batches.get_job_row, state.sessions, job_id)
    storage = open_storage(state.settings)
    logs_dir = state.settings.data_dir.logs
    lines = await asyncio.to_thread(read_stored_job_log, storage, logs_dir, job_id)
    if tail is not None:
        lines = lines[-tail:] if tail > 0 else []
    return JobLogView(job_id=job_id, lines=lines)


@router.get(
    "/api/jobs/{job_id}/subtitles.srt",
    response_class=Response,
    responses={
        200: {"description": "SRT cues.", "content": {"application/x-subrip": {}}},
        **error_responses(404, 409),
    },
)
async def job_srt_route(request: Request, job_id: str) -> Response:
    """A scripted job's subtitles (SRT), one cue per sentence, as in its MP4's subtitle track."""
    return await _subtitles(request, job_id, "srt", "application/x-subrip")


@router.get(
    "/api/jobs/{job_id}/subtitles.vtt",
    response_class=Response,
    responses={
        200: {"description": "WebVTT cues.", "content": {"text/vtt": {}}},
        **error_responses(404, 409),
    },
)
async def job_vtt_route(request: Request, job_id: str) -> Response:
    """A scripted job's subtitles (WebVTT), for the browser's <track>."""
    return await _subtitles(request, job_id, "vtt", "text/vtt")


async def _subtitles(request: Request, job_id: str, kind: str, media_type: str) -> Response:
    text, name = await asyncio.to_thread(
        subtitles_for_job, request.app.state.sessions, job_id, kind
    )
    headers = {"Content-Disposition": f'inline; filename="{name}"'}
    return Response(text, media_type=f"{media_type}; charset=utf-8", headers=headers)
