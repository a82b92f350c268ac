"""POST: create an upload (creation, creation-with-upload, defer-length, concatenation).

A plain or partial upload is created empty, or with the request body as its first
chunk; a final concatenation is assembled at once from finished partial uploads
of the same owner, which are then removed. Limits checked before anything is
written: size (413), free disk (507), unfinished uploads per token, or per client address
on an open server (429). When the request fails after the upload was made (a body over
its length, a checksum mismatch, a dropped connection), the upload is removed again: the
client never got its Location, so nobody could resume it and it would only fill the quota.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from lipforge.disk import ensure_free_space
from lipforge.errors import LipforgeError
from lipforge.logs import log_event
from lipforge.uploads.completion import finish_upload
from lipforge.uploads.errors import BadConcatError, BadHeaderError, WrongContentTypeError
from lipforge.uploads.filestore import new_upload_id
from lipforge.uploads.headers import (
    parse_concat,
    parse_defer_length,
    parse_metadata,
    parse_non_negative,
)
from lipforge.uploads.limits import check_quota, check_size, client_of, owner_of
from lipforge.uploads.patch import append_body, has_offset_content_type
from lipforge.uploads.protocol import TusContext, expires_header, now_s, tus_headers, upload_url
from lipforge.uploads.store import UploadInfo


async def create_upload(request: Request, context: TusContext) -> Response:
    headers = request.headers
    concat, partial_ids = parse_concat(headers.get("upload-concat"))
    length = parse_non_negative("Upload-Length", headers.get("upload-length"))
    deferred = parse_defer_length(headers.get("upload-defer-length"))
    metadata_header = headers.get("upload-metadata", "")
    info = UploadInfo(
        id=new_upload_id(),
        size_bytes=length,
        metadata_header=metadata_header.strip(),
        metadata=parse_metadata(metadata_header),
        owner=owner_of(request),
        client=client_of(request),
        created_at=now_s(),
        expires_at=now_s() + context.settings.upload_expiry_s,
        concat=concat,
        partial_ids=partial_ids,
    )
    if concat == "final":
        return await _create_final(request, context, info)
    _check_length_headers(length, deferred)
    _check_body_type(request)
    await _admit(context, info)
    await asyncio.to_thread(context.store.create, info)
    request.state.upload_id = info.id
    answer = {"Location": upload_url(request, context.settings, info.id)}
    try:
        async with _removed_on_failure(context, info):
            if has_offset_content_type(request):
                async with context.locks.hold(info.id) as holder:
                    offset = await append_body(request, context, info, holder, False)
                    answer["Upload-Offset"] = str(offset)
            elif length == 0:
                await finish_upload(context, info)
    except ClientDisconnect:  # removed above; nobody reads this answer
        return Response(status_code=400, headers=tus_headers())
    return Response(status_code=201, headers=tus_headers(**answer, **expires_header(info)))


@asynccontextmanager
async def _removed_on_failure(context: TusContext, info: UploadInfo) -> AsyncIterator[None]:
    """Remove the upload `info` if the block fails: its creator never learnt where it is."""
    try:
        yield
    except asyncio.CancelledError:
        context.store.terminate(info.id)  # the task is ending: no await can run here
        raise
    except Exception:
        await asyncio.to_thread(context.store.terminate, info.id)
        log_event("upload.removed_after_failed_creation", upload_id=info.id)
        raise


def _check_length_headers(length: int | None, deferred: bool) -> None:
    if length is None and not deferred:
        raise BadHeaderError("POST needs Upload-Length, or Upload-Defer-Length: 1.")
    if length is not None and deferred:
        raise BadHeaderError("Send either Upload-Length or Upload-Defer-Length, not both.")


def _check_body_type(request: Request) -> None:
    content_length = parse_non_negative("Content-Length", request.headers.get("content-length"))
    has_body = bool(content_length) or "transfer-encoding" in request.headers
    if has_body and not has_offset_content_type(request):
        raise WrongContentTypeError(
            "Bytes sent with POST need Content-Type: application/offset+octet-stream, "
            f"not {request.headers.get('content-type', 'none')!r}."
        )


async def _admit(context: TusContext, info: UploadInfo) -> None:
    settings = context.settings
    if info.size_bytes is not None:
        check_size(settings, info.size_bytes)
        ensure_free_space(context.store.root, info.size_bytes, settings.min_free_disk_bytes)
    await asyncio.to_thread(check_quota, context.store, settings, info.owner, info.client)


async def _create_final(request: Request, context: TusContext, info: UploadInfo) -> Response:
    """Assemble the final upload while holding every part's lock: a DELETE of a part waits
    (or is refused as locked) instead of pulling its bytes away mid-copy, and a second final
    naming the same parts finds them gone (400) instead of consuming them twice."""
    async with AsyncExitStack() as held:
        for partial_id in sorted(set(info.partial_ids)):
            await held.enter_async_context(context.locks.hold(partial_id))
        partials = [await _finished_partial(context, pid, info.owner) for pid in info.partial_ids]
        info.size_bytes = sum(partial.size_bytes or 0 for partial in partials)
        check_size(context.settings, info.size_bytes)
        ensure_free_space(context.store.root, info.size_bytes, context.settings.min_free_disk_bytes)
        await asyncio.to_thread(context.store.create, info)
        request.state.upload_id = info.id
        async with _removed_on_failure(context, info):
            await asyncio.to_thread(context.store.concatenate, info, partials)
        for partial in partials:
            await asyncio.to_thread(context.store.terminate, partial.id)
    await finish_upload(context, info)
    location = upload_url(request, context.settings, info.id)
    return Response(status_code=201, headers=tus_headers(Location=location))


async def _finished_partial(context: TusContext, upload_id: str, owner: str) -> UploadInfo:
    try:
        partial = await asyncio.to_thread(context.store.get, upload_id)
    except LipforgeError as exc:
        raise BadConcatError(f"Upload-Concat names {upload_id}, which does not exist.") from exc
    if partial.concat != "partial" or partial.owner != owner:
        raise BadConcatError(f"Upload {upload_id} is not a partial upload of yours.")
    if not partial.finished:
        raise BadConcatError(
            f"Partial upload {upload_id} is unfinished; finish every part before the final POST."
        )
    return partial
