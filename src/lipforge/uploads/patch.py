"""PATCH: append bytes at the offset the client names; also the body path of creation-with-upload.

The order of checks follows tus 1.0.0: content type (415), the upload (404/410),
final concatenation (403), offset (409, nothing changed), size (413), then the
bytes, with an optional checksum (460, chunk discarded). Holding the upload's lock
while receiving lets a newer HEAD/PATCH take over from this request if it stalls.
"""

from __future__ import annotations

import asyncio

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from lipforge.uploads.body import BodyTarget, receive_body
from lipforge.uploads.completion import finish_upload
from lipforge.uploads.errors import (
    BadHeaderError,
    FinalConcatPatchError,
    OffsetMismatchError,
    SizeExceededError,
    UploadInterruptedError,
    WrongContentTypeError,
)
from lipforge.uploads.headers import parse_checksum, parse_non_negative
from lipforge.uploads.limits import check_alive, check_size
from lipforge.uploads.locks import LockHolder
from lipforge.uploads.protocol import (
    OFFSET_CONTENT_TYPE,
    TusContext,
    expires_header,
    now_s,
    tus_headers,
)
from lipforge.uploads.store import UploadInfo


def has_offset_content_type(request: Request) -> bool:
    content_type = request.headers.get("content-type", "")
    return content_type.split(";")[0].strip().lower() == OFFSET_CONTENT_TYPE


async def patch_upload(request: Request, context: TusContext, upload_id: str) -> Response:
    if not has_offset_content_type(request):
        raise WrongContentTypeError(
            f"PATCH needs Content-Type: {OFFSET_CONTENT_TYPE}, "
            f"not {request.headers.get('content-type', 'none')!r}."
        )
    client_offset = parse_non_negative("Upload-Offset", request.headers.get("upload-offset"))
    if client_offset is None:
        raise BadHeaderError("PATCH needs an Upload-Offset header.")
    new_length = parse_non_negative("Upload-Length", request.headers.get("upload-length"))
    async with context.locks.hold(upload_id) as holder:
        info = await asyncio.to_thread(context.store.get, upload_id)
        check_alive(info)
        if info.concat == "final":
            raise FinalConcatPatchError(
                f"Upload {upload_id} is a final concatenation; the server assembles it, "
                "PATCH its partial uploads instead."
            )
        if new_length is not None:
            await _settle_deferred_length(context, info, new_length)
        offset = context.store.offset(info)
        if client_offset != offset:
            raise OffsetMismatchError(
                f"Upload-Offset {client_offset} is not the {offset} bytes the server holds; "
                "send HEAD to learn the offset and resume from there."
            )
        if info.finished:
            _refuse_bytes_past_the_end(request, offset)
        else:
            offset = await append_body(request, context, info, holder)
    headers = tus_headers(**{"Upload-Offset": str(offset)}, **expires_header(info))
    if info.asset_id:
        headers["Upload-Asset-Id"] = info.asset_id
    return Response(status_code=204, headers=headers)


def _refuse_bytes_past_the_end(request: Request, offset: int) -> None:
    declared = parse_non_negative("Content-Length", request.headers.get("content-length"))
    if declared or "transfer-encoding" in request.headers:
        raise SizeExceededError(f"The upload is complete at {offset} bytes; nothing more fits.")


async def _settle_deferred_length(context: TusContext, info: UploadInfo, length: int) -> None:
    if info.size_bytes is not None:
        if info.size_bytes != length:
            raise BadHeaderError(
                f"Upload-Length {length} differs from the {info.size_bytes} already declared."
            )
        return
    check_size(context.settings, length)
    if length < context.store.offset(info):
        raise BadHeaderError(f"Upload-Length {length} is below the bytes already received.")
    info.size_bytes = length
    await asyncio.to_thread(context.store.save, info)


async def append_body(
    request: Request,
    context: TusContext,
    info: UploadInfo,
    holder: LockHolder,
    keep_on_disconnect: bool = True,
) -> int:
    """Write the request body at the upload's offset; the new offset. Finishes a full upload.
    A PATCH keeps the bytes of a dropped connection (the client resumes); a creation POST
    passes `keep_on_disconnect=False` and gets `ClientDisconnect` (its client never learnt
    the upload's URL)."""
    store, settings = context.store, context.settings
    checksum = parse_checksum(request.headers.get("upload-checksum"))
    offset = store.offset(info)
    limit_bytes = info.size_bytes if info.size_bytes is not None else settings.max_upload_bytes
    limit_bytes -= offset
    declared = parse_non_negative("Content-Length", request.headers.get("content-length"))
    if declared is not None and declared > limit_bytes:
        raise SizeExceededError(
            f"The chunk of {declared} bytes at offset {offset} goes past the upload's end "
            f"({offset + limit_bytes} bytes)."
        )
    if checksum is not None:
        info.unverified_from = offset
        await asyncio.to_thread(store.save, info)
    writer = await asyncio.to_thread(store.open_writer, info)
    target = BodyTarget(writer, limit_bytes, checksum, store.root, settings.min_free_disk_bytes)
    try:
        outcome = await receive_body(request, target, holder)
    finally:
        await asyncio.to_thread(writer.close)
        info.unverified_from = None
        info.expires_at = now_s() + settings.upload_expiry_s
        await asyncio.to_thread(store.save, info)
    if outcome.disconnected and not keep_on_disconnect:
        raise ClientDisconnect()
    if outcome.interrupted:
        raise UploadInterruptedError(
            f"Upload {info.id} was taken over by a newer request; {outcome.kept_bytes} bytes of "
            "this one were kept."
        )
    offset = store.offset(info)
    if info.size_bytes is not None and offset == info.size_bytes and not info.finished:
        await finish_upload(context, info)
    return offset
