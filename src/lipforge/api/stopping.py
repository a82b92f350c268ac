"""The server is stopping: long-lived answers (event streams) end at once instead of holding
the graceful shutdown for its whole timeout.

`serve` marks the app when SIGTERM/SIGINT arrives (`mark_stopping`); a stream awaits its
next item through `unless_stopping`, which gives up as soon as the mark is set. Clients
of the event streams reconnect with `Last-Event-ID` and lose nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


def stopping_event(app) -> asyncio.Event:
    event = getattr(app.state, "stopping", None)
    if event is None:
        event = app.state.stopping = asyncio.Event()
    return event


def mark_stopping(app) -> None:
    """Called in the event loop (a signal handler of `serve_all`)."""
    if hasattr(app, "state"):
        stopping_event(app).set()


def is_stopping(app) -> bool:
    return stopping_event(app).is_set()


async def unless_stopping(app, awaitable: Awaitable[T], default: T) -> T:
    """`awaitable`'s result, or `default` as soon as the server is stopping (it is cancelled)."""
    stopping = stopping_event(app)
    if stopping.is_set():
        if asyncio.iscoroutine(awaitable):
            awaitable.close()
        return default
    work = asyncio.ensure_future(awaitable)
    waiter = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({work, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        if not work.done():
            work.cancel()
    return work.result() if work.done() and not work.cancelled() else default
