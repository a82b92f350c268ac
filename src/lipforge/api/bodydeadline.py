"""A deadline for request bodies (the header deadline is `connections.py`'s).

`BodyDeadlineMiddleware` gives every request body, but those of the tus upload routes
(whose slow PATCHes resume by design), `deadline_s` from its first read to arrive whole; a
body still arriving then is answered `BodyTimeoutError` (408, JSON) and the connection
closed, so a client that sends `POST /api/login` a byte at a time holds a connection
for seconds, not for ever. It wraps only `receive`; it reads nothing itself.
"""

from __future__ import annotations

import asyncio
import json
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lipforge.errors import LipforgeError

EXEMPT_PREFIXES = ("/api/uploads",)  # tus: slow bodies are resumed, not refused


class BodyTimeoutError(LipforgeError):
    """Raised when a request body does not arrive whole within the body deadline."""

    code = "body_timeout"
    http_status = 408


class BodyDeadlineMiddleware:
    def __init__(self, app: ASGIApp, deadline_s: float) -> None:
        self.app, self.deadline_s = app, deadline_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        await _TimedExchange(receive, send, self.deadline_s).run(self.app, scope)


class _TimedExchange:
    """One request whose body reads share a deadline. When it passes, the 408 is sent from
    here and the app reads a disconnect: frameworks that turn a failed body read into a 400
    (FastAPI does) cannot hide the reason; whatever the app sends after is dropped."""

    def __init__(self, receive: Receive, send: Send, deadline_s: float) -> None:
        self._receive, self._send, self.deadline_s = receive, send, deadline_s
        self._started_at: float | None = None
        self._response_started = False
        self._timed_out = False

    async def run(self, app: ASGIApp, scope: Scope) -> None:
        try:
            await app(scope, self.receive, self.send)
        except Exception:
            if not self._timed_out:
                raise  # after the 408, the app's complaint about the lost body is moot

    async def receive(self) -> Message:
        if self._timed_out:
            return {"type": "http.disconnect"}
        if self._started_at is None:
            self._started_at = time.monotonic()
        left_s = self.deadline_s - (time.monotonic() - self._started_at)
        try:
            return await asyncio.wait_for(self._receive(), timeout=max(0.0, left_s))
        except TimeoutError:
            await self._answer_timeout()
            return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if self._timed_out:
            return
        if message["type"] == "http.response.start":
            self._response_started = True
        await self._send(message)

    async def _answer_timeout(self) -> None:
        self._timed_out = True
        if self._response_started:
            return
        error = BodyTimeoutError(
            f"The request body did not arrive within {self.deadline_s:g} s; send it at once.",
            timeout_s=self.deadline_s,
        )
        body = json.dumps(error.to_json()).encode()
        headers = [(b"content-type", b"application/json"), (b"connection", b"close"),
                   (b"content-length", str(len(body)).encode())]  # fmt: skip
        await self._send({"type": "http.response.start", "status": 408, "headers": headers})
        await self._send({"type": "http.response.body", "body": body})
