"""The tus router at /api/uploads/: method override, version check, CORS, a handler per method.

Each request is parsed here only as far as choosing its handler; the handlers
(creation, head, patch, termination) do the rest. Every error of the table (and
any other LipforgeError) is answered with the tus headers and logged with the
upload id; an unexpected exception is a logged 500, never a traceback to the client.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lipforge.errors import LipforgeError
from lipforge.logs import log_event
from lipforge.uploads.completion import reconcile_once
from lipforge.uploads.creation import create_upload
from lipforge.uploads.errors import TusError, UploadNotFoundError
from lipforge.uploads.filestore import is_upload_id
from lipforge.uploads.head import head_upload, upload_status
from lipforge.uploads.headers import check_version
from lipforge.uploads.limits import owner_of
from lipforge.uploads.patch import patch_upload
from lipforge.uploads.protocol import (
    UPLOADS_PATH,
    TusContext,
    cors_headers,
    error_response,
    is_preflight,
    preflight_response,
    server_headers,
    tus_context,
    tus_headers,
)
from lipforge.uploads.termination import terminate_upload

ALL_METHODS = ["GET", "HEAD", "POST", "PATCH", "DELETE", "OPTIONS"]
OVERRIDABLE_METHODS = {"PATCH", "DELETE", "HEAD", "GET", "OPTIONS", "POST"}
UNVERSIONED_METHODS = {"OPTIONS", "GET"}

Handler = Callable[[Request, TusContext, str], Awaitable[Response]]
RESOURCE_HANDLERS: dict[str, Handler] = {
    "HEAD": head_upload,
    "PATCH": patch_upload,
    "DELETE": terminate_upload,
    "GET": upload_status,
}

router = APIRouter()


@router.api_route(UPLOADS_PATH, methods=ALL_METHODS, include_in_schema=False)
@router.api_route(UPLOADS_PATH + "/", methods=ALL_METHODS, include_in_schema=False)
async def uploads_collection(request: Request) -> Response:
    """POST creates an upload; OPTIONS tells what this server supports."""
    return await _dispatch(request, None)


@router.api_route(UPLOADS_PATH + "/{upload_id}", methods=ALL_METHODS, include_in_schema=False)
async def upload_resource(request: Request, upload_id: str) -> Response:
    """HEAD, PATCH, DELETE (tus) and GET (status JSON) on one upload."""
    return await _dispatch(request, upload_id)


async def _dispatch(request: Request, upload_id: str | None) -> Response:
    context = tus_context(request.app)
    if is_preflight(request):
        return preflight_response(request, context.settings)
    method = _effective_method(request)
    if upload_id is not None:
        request.state.upload_id = upload_id
    try:
        await reconcile_once(context)
        response = await _handle(request, context, method, upload_id)
    except LipforgeError as exc:
        return error_response(request, context.settings, exc)
    except Exception:
        log_event("upload.crashed", logging.ERROR, upload_id=upload_id, exc_info=True)
        return JSONResponse(
            {"error": "internal_error", "message": "The upload server failed; see its log."},
            status_code=500,
            headers=tus_headers(**cors_headers(request, context.settings)),
        )
    response.headers.update(cors_headers(request, context.settings))
    return response


def _effective_method(request: Request) -> str:
    override = request.headers.get("x-http-method-override", "").strip().upper()
    if request.method == "POST" and override in OVERRIDABLE_METHODS:
        return override
    return request.method


async def _handle(
    request: Request, context: TusContext, method: str, upload_id: str | None
) -> Response:
    if method == "OPTIONS":
        return Response(status_code=204, headers=server_headers(context.settings))
    if method not in UNVERSIONED_METHODS:
        check_version(request.headers.get("tus-resumable"))
    if upload_id is None:
        if method == "POST":
            return await create_upload(request, context)
        return _not_allowed(method, "POST, OPTIONS")
    if not is_upload_id(upload_id):
        raise UploadNotFoundError(f"No upload has the id {upload_id[:64]!r}.")
    handler = RESOURCE_HANDLERS.get(method)
    if handler is None:
        return _not_allowed(method, "HEAD, PATCH, DELETE, GET, OPTIONS")
    await _check_owner(request, context, upload_id)
    return await handler(request, context, upload_id)


async def _check_owner(request: Request, context: TusContext, upload_id: str) -> None:
    """Only the token that made an upload may see or touch it (not a token that replaced it).

    Someone else's upload answers exactly as one that does not exist.
    """
    info = await asyncio.to_thread(context.store.get, upload_id)
    if info.owner != owner_of(request):
        raise UploadNotFoundError(f"No upload has the id {upload_id!r}.", id=upload_id)


def _not_allowed(method: str, allowed: str) -> Response:
    error = TusError(f"{method} is not allowed here; use {allowed}.", method=method, allow=allowed)
    return JSONResponse(
        {"error": "method_not_allowed", "message": str(error), "params": error.params},
        status_code=405,
        headers=tus_headers(Allow=allowed),
    )
