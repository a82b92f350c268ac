"""HeyGem's local video API: `POST /easy/submit`, `GET /easy/query`, and the result download.

Every HeyGem answer is an HTTP 200 whose body carries the outcome (`code` 10000 success,
10002 bad parameter, 10003 lock error, 10004 task not found, 9999 system error), as HeyGem's
clients expect: they read the body after a 200 and treat any other status as a broken server.
So these handlers catch every error and answer it in that envelope: a busy database 10003
(HeyGem's code for a lock it could not take), a full disk 9999 (what HeyGem answered for any
write that raised; clients report it as a failure) with the reason in `msg` and `data.error`
`insufficient_storage`. Only the access check (401) and the result download (404) answer with
other statuses. The rules live in
`lipforge.heygem.tasks`. The same router is served on the main port and, with
`--heygem-port`, on a listener of its own (`api/companions.py`).
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError

from lipforge.api.dberrors import database_full_error, is_disk_full
from lipforge.api.schema import error_responses
from lipforge.errors import LipforgeError, NotFoundError
from lipforge.heygem.contract import AnswerCode, envelope
from lipforge.heygem.errors import HeygemError
from lipforge.heygem.results import result_path
from lipforge.heygem.submit import check_code
from lipforge.heygem.tasks import HeygemContext, query_task, submit_task
from lipforge.http_range import ranged_file_response
from lipforge.logs import log_event

router = APIRouter(tags=["heygem"])
MP4_MEDIA_TYPE = "video/mp4"


class HeygemAnswer(BaseModel):
    """HeyGem's envelope: the outcome is `code`, never the HTTP status."""

    code: int = Field(description="10000 success, 10002 bad parameter, 10003 lock error, "
                      "10004 task not found, 9999 system error.")  # fmt: skip
    success: bool
    msg: str = Field(description="What happened, and any submit option LipForge ignored.")
    data: dict = Field(description="submit: {code, job_id, batch_id}; query: {code, status "
                       "(1 running or waiting, 2 done, 3 failed), progress 0-100, result "
                       "'/<code>-r.mp4', msg, and when done cost (s), video_duration (ms), "
                       "width, height, result_url}; an error: {error, params}.")  # fmt: skip


SUBMIT_DESCRIPTION = (
    "Body (JSON, any Content-Type): {code, audio_url, video_url, watermark_switch?, "
    "digital_auth?, chaofen?, pn?}. audio_url / video_url: an http(s) URL (downloaded; no "
    "private addresses unless LIPFORGE_HEYGEM_FETCH_ALLOW lists them) or a path under "
    "LIPFORGE_HEYGEM_ROOT (relative to its temp/, or /code/data/...). The job is queued, "
    "never refused as busy."
)


def _context(request: Request) -> HeygemContext:
    state = request.app.state
    return HeygemContext(state.sessions, state.settings)


@router.post("/easy/submit", response_model=HeygemAnswer, description=SUBMIT_DESCRIPTION)
async def heygem_submit(request: Request) -> JSONResponse:
    raw = await request.body()
    return await _answer(submit_task, _context(request), raw)


@router.get("/easy/query", response_model=HeygemAnswer)
async def heygem_query(request: Request, code: str | None = None) -> JSONResponse:
    return await _answer(query_task, _context(request), code, str(request.base_url))


RESULT_RESPONSES = {
    200: {"content": {MP4_MEDIA_TYPE: {}}, "description": "The finished video."},
    **error_responses(404),
}


# GET and HEAD as two operations, each with its own id (one route with both methods gave
# both the same operationId in the OpenAPI document).
@router.get(
    "/easy/result/{code}",
    response_class=Response,
    responses=RESULT_RESPONSES,
    operation_id="heygem_result",
)
@router.head(
    "/easy/result/{code}",
    response_class=Response,
    responses=RESULT_RESPONSES,
    operation_id="heygem_result_head",
)
async def heygem_result(request: Request, code: str) -> Response:
    """The finished video of `code` (HTTP Range supported); the same file as data.result."""
    try:
        check_code(code)
    except HeygemError:
        raise NotFoundError(f"No result for code {code[:200]!r}.", code=code[:200]) from None
    path = result_path(request.app.state.settings, code)
    return ranged_file_response(path, path.name, MP4_MEDIA_TYPE)


async def _answer(service, *args) -> JSONResponse:
    try:
        body = await asyncio.to_thread(service, *args)
    except HeygemError as exc:
        body = _error_envelope(exc.answer_code, exc)
    except LipforgeError as exc:
        code = AnswerCode.BAD_PARAMETER if exc.http_status < 500 else AnswerCode.SYSTEM_ERROR
        body = _error_envelope(code, exc)
    except OperationalError as exc:
        if is_disk_full(exc):
            log_event("heygem.disk_full", error=str(exc.orig)[:300])
            body = _error_envelope(AnswerCode.SYSTEM_ERROR, database_full_error())
        else:
            log_event("heygem.lock_error", error=str(exc.orig))
            body = envelope(AnswerCode.LOCK_ERROR, "the database is busy; try again", success=False)
    except Exception as exc:  # noqa: BLE001 - HeyGem answers 9999, never a 500
        log_event("heygem.system_error", error=f"{type(exc).__name__}: {exc}")
        body = envelope(AnswerCode.SYSTEM_ERROR, f"system error: {exc}", success=False)
    return JSONResponse(body)


def _error_envelope(code: AnswerCode, exc: LipforgeError) -> dict:
    return envelope(code, str(exc), {"error": exc.code, "params": exc.params}, success=False)
