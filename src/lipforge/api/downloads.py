"""Answering the download of a stored object (an asset or an output), the same in both stores.

A data-dir object is a file: `ranged_file_response` serves it (Range, If-Range, 416).
A bucket object is streamed from ranged GETs with the same headers and statuses
(`Accept-Ranges`, 206 + `Content-Range`, 416 with `bytes */size`, `ETag`, `If-Range`);
or, at or above `LIPFORGE_S3_REDIRECT_MIN_BYTES`, answered with a 307 to a presigned URL
that expires in `LIPFORGE_S3_PRESIGN_EXPIRY_S`, so large bytes skip the API box. A
client that follows redirects sees no difference. Multi-range requests get the whole
object (RFC 9110 allows it). This module knows keys, not assets or jobs.
"""

from __future__ import annotations

import asyncio
import mimetypes
import re
from collections.abc import Iterator
from email.utils import format_datetime
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from lipforge.config import Settings
from lipforge.errors import NotFoundError
from lipforge.http_range import FALLBACK_MEDIA_TYPE, ranged_file_response
from lipforge.storage.backend import ObjectInfo, Storage, open_storage

READ_CHUNK_BYTES = 1024 * 1024
ByteRange = tuple[int, int]
SINGLE_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


async def object_response(
    request: Request,
    settings: Settings,
    key: str,
    download_name: str,
    media_type: str | None = None,
) -> Response:
    """The answer to GET/HEAD of the object `key`, shown inline under `download_name`."""
    storage = open_storage(settings)
    local = storage.local_path(key)
    if local is not None:
        return ranged_file_response(local, download_name, media_type)
    info = await asyncio.to_thread(storage.stat, key)
    if info is None:
        raise NotFoundError(f"The file {download_name} is no longer on the server.", key=key)
    if 0 < settings.s3_redirect_min_bytes <= info.size_bytes:
        url = await asyncio.to_thread(
            storage.presigned_url, key, settings.s3_presign_expiry_s, download_name
        )
        if url:
            return RedirectResponse(url, 307, headers={"Cache-Control": "no-store"})
    media_type = media_type or mimetypes.guess_type(download_name)[0] or FALLBACK_MEDIA_TYPE
    return _streamed(request, storage, info, download_name, media_type)


def _streamed(
    request: Request, storage: Storage, info: ObjectInfo, name: str, media_type: str
) -> Response:
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": info.etag if info.etag.startswith('"') else f'"{info.etag}"',
        "Last-Modified": format_datetime(info.modified_at, usegmt=True),
        "Content-Disposition": _inline_disposition(name),
        "Cache-Control": "private, max-age=0",
    }
    wanted = _wanted_range(request, info, headers)
    if wanted == "unsatisfiable":
        headers["Content-Range"] = f"bytes */{info.size_bytes}"
        return Response(status_code=416, headers=headers)
    start, length, status = 0, info.size_bytes, 200
    if isinstance(wanted, tuple):
        start, end = wanted
        length, status = end - start + 1, 206
        headers["Content-Range"] = f"bytes {start}-{end}/{info.size_bytes}"
    headers["Content-Length"] = str(length)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=media_type)
    chunks = _object_chunks(storage, info.key, start, length)
    return StreamingResponse(chunks, status_code=status, headers=headers, media_type=media_type)


def _wanted_range(
    request: Request, info: ObjectInfo, headers: dict
) -> tuple[int, int] | str | None:
    """(start, end) of a satisfiable single range, "unsatisfiable", or None for the whole."""
    header = request.headers.get("range", "").strip()
    if_range = request.headers.get("if-range")
    if not header or (if_range and if_range not in (headers["ETag"], headers["Last-Modified"])):
        return None
    match = SINGLE_RANGE.match(header.replace(" ", ""))
    if match is None or match[0] == "bytes=-":
        return None  # not one simple range: the whole object
    size = info.size_bytes
    if match[1] == "":
        suffix = int(match[2])
        if suffix == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - suffix), size - 1
    start = int(match[1])
    end = min(int(match[2]), size - 1) if match[2] else size - 1
    if start >= size or end < start:
        return "unsatisfiable"
    return start, end


def _object_chunks(storage: Storage, key: str, start: int, length: int) -> Iterator[bytes]:
    reader = storage.open_read(key, start, length)
    try:
        while chunk := reader.read(READ_CHUNK_BYTES):
            yield chunk
    finally:
        reader.close()


def _inline_disposition(name: str) -> str:
    quoted = quote(name)
    if quoted != name:
        return f"inline; filename*=utf-8''{quoted}"
    return f'inline; filename="{name}"'
