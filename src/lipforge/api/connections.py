"""A deadline for a request's headers, which uvicorn does not have.

uvicorn (0.54, httptools) arms its keep-alive timer only after a response, and every
byte received cancels it, so a connection that sends nothing, or trickles a header a
byte at a time, is kept for ever (slowloris): its `--timeout-request-start` idea was
never built. `header_deadline_protocol(timeout_s)` makes uvicorn's own HTTP protocol
class close a connection whose request line and headers are not complete within
`timeout_s` of the connection opening (or of the first byte of the next request on a
kept-alive connection). Bodies are not timed here: a slow upload is the tus server's
business (it resumes).
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from lipforge.logs import log_event


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing connections slow to send their headers."""

    header_timeout_s: float = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._arm_header_deadline()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_deadline is None:
            self._arm_header_deadline()

    def on_headers_complete(self) -> None:
        self._disarm_header_deadline()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def _arm_header_deadline(self) -> None:
        self._header_deadline = self.loop.call_later(self.header_timeout_s, self._headers_late)

    def _disarm_header_deadline(self) -> None:
        deadline = getattr(self, "_header_deadline", None)
        if deadline is not None:
            deadline.cancel()
        self._header_deadline = None

    def _headers_late(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            client = f"{self.client[0]}:{self.client[1]}" if self.client else None
            log_event("http.header_timeout", client=client, timeout_s=self.header_timeout_s)
            self.transport.close()


def header_deadline_protocol(timeout_s: float) -> type[HeaderDeadlineProtocol]:
    """The protocol class to give `uvicorn.Config(http=…)` for this deadline."""
    return type(
        "HeaderDeadlineProtocol", (HeaderDeadlineProtocol,), {"header_timeout_s": timeout_s}
    )
