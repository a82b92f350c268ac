"""DELETE (tus termination): take the upload over, remove its bytes and info; then 404."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from lipforge.logs import log_event
from lipforge.uploads.protocol import TusContext, tus_headers


async def terminate_upload(request: Request, context: TusContext, upload_id: str) -> Response:
    async with context.locks.hold(upload_id):
        await asyncio.to_thread(context.store.get, upload_id)
        await asyncio.to_thread(context.store.terminate, upload_id)
    log_event("upload.terminated", upload_id=upload_id)
    return Response(status_code=204, headers=tus_headers())
