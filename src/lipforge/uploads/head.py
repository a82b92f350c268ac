"""HEAD (the tus offset query) and GET (the upload's status as JSON for people and the UI).

HEAD takes the upload's lock, so it ends a stalled PATCH and reports the offset
that request left on disk. GET takes no lock and never waits.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lipforge.uploads.headers import safe_file_name
from lipforge.uploads.limits import check_alive
from lipforge.uploads.protocol import (
    UPLOADS_PATH,
    TusContext,
    expires_header,
    header_safe,
    tus_headers,
)
from lipforge.uploads.store import UploadInfo


async def head_upload(request: Request, context: TusContext, upload_id: str) -> Response:
    async with context.locks.hold(upload_id):
        info = await asyncio.to_thread(context.store.get, upload_id)
        check_alive(info)
        offset = await asyncio.to_thread(context.store.offset, info)
    headers = tus_headers(**{"Cache-Control": "no-store", "Upload-Offset": str(offset)})
    if info.size_bytes is None:
        headers["Upload-Defer-Length"] = "1"
    else:
        headers["Upload-Length"] = str(info.size_bytes)
    if info.metadata_header:
        headers["Upload-Metadata"] = info.metadata_header
    headers.update(_concat_header(info))
    headers.update(expires_header(info))
    if info.asset_id:
        headers["Upload-Asset-Id"] = info.asset_id
    if info.error:
        headers["Upload-Error"] = header_safe(info.error)
    return Response(status_code=200, headers=headers)


def _concat_header(info: UploadInfo) -> dict[str, str]:
    if info.concat == "partial":
        return {"Upload-Concat": "partial"}
    if info.concat == "final":
        urls = " ".join(f"{UPLOADS_PATH}/{pid}" for pid in info.partial_ids)
        return {"Upload-Concat": f"final;{urls}"}
    return {}


async def upload_status(request: Request, context: TusContext, upload_id: str) -> Response:
    info = await asyncio.to_thread(context.store.get, upload_id)
    check_alive(info)
    offset = await asyncio.to_thread(context.store.offset, info)
    body = {
        "id": info.id,
        "state": info.state,
        "offset_bytes": offset,
        "size_bytes": info.size_bytes,
        "file_name": safe_file_name(info.metadata.get("filename") or info.metadata.get("name")),
        "asset_id": info.asset_id,
        "error": info.error,
        "error_code": info.error_code,
        "error_params": info.error_params,
        "concat": info.concat or None,
        "expires_at": _iso(info.expires_at),
        "created_at": _iso(info.created_at),
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


def _iso(timestamp_s: float | None) -> str | None:
    if not timestamp_s:
        return None
    return datetime.fromtimestamp(timestamp_s, UTC).isoformat(timespec="seconds")
