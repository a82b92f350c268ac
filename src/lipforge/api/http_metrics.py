"""Per-route HTTP metrics: an ASGI middleware that counts each answer and times it.

Requests are labelled by the route's template (`/api/jobs/{job_id}`), never the raw path,
so ids do not multiply the series; a path no route matched is `<unmatched>`. Request
bodies on the tus routes count as upload bytes, response bodies of the download routes
(asset content, job output, batch archive) as download bytes. A streamed answer (SSE, a
zip) is timed until its last byte.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lipforge.metrics import record_download_bytes, record_http_request, record_upload_bytes

UNMATCHED_ROUTE = "<unmatched>"
UPLOAD_PREFIX = "/api/uploads"
DOWNLOAD_SUFFIXES = ("/content", "/output", "/archive")


class HttpMetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started_s = time.perf_counter()
        status = 500
        received_bytes = sent_bytes = 0

        async def counting_receive() -> Message:
            nonlocal received_bytes
            message = await receive()
            received_bytes += len(message.get("body", b""))
            return message

        async def counting_send(message: Message) -> None:
            nonlocal status, sent_bytes
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent_bytes += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, counting_receive, counting_send)
        finally:
            route = _route_template(scope)
            record_http_request(scope["method"], route, status, time.perf_counter() - started_s)
            if route.startswith(UPLOAD_PREFIX):
                record_upload_bytes(received_bytes)
            elif route.endswith(DOWNLOAD_SUFFIXES):
                record_download_bytes(route, sent_bytes)


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or UNMATCHED_ROUTE
