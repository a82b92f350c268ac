"""`GET /api/machine` (one snapshot) and `GET /api/machine/events` (the same, pushed every 2 s).

The stream is Server-Sent Events: one `machine` event every `PUSH_INTERVAL_S` with the
snapshot of `lipforge.machine` (CPU, memory, free disk, GPUs, queue depth, workers and
their slots). Snapshots are taken once per interval per process, whatever the number of
browsers watching. This module reads; it controls nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from functools import partial

from fastapi import APIRouter, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from lipforge.api.stopping import is_stopping, unless_stopping
from lipforge.jobs.readings import read_machine_queue
from lipforge.machine import machine_snapshot

router = APIRouter()

PUSH_INTERVAL_S = 2.0
RECONNECT_DELAY_MS = 3000
MACHINE_EVENT = "machine"


async def _snapshot(request: Request) -> dict:
    """The latest snapshot of this process, refreshed when older than the push interval."""
    state = request.app.state
    cached = getattr(state, "machine_snapshot", None)
    if cached is not None and time.monotonic() - cached[0] < PUSH_INTERVAL_S * 0.9:
        return cached[1]
    read_queue = partial(read_machine_queue, state.sessions)
    snapshot = await asyncio.to_thread(machine_snapshot, state.settings, read_queue)
    state.machine_snapshot = (time.monotonic(), snapshot)
    return snapshot


@router.get("/api/machine")
async def machine_route(request: Request) -> dict:
    """CPU, memory, free disk, GPUs ([] = no GPU), queue depth, workers and their slots."""
    return await _snapshot(request)


@router.get("/api/machine/events", response_class=EventSourceResponse)
async def machine_events_route(request: Request) -> AsyncIterator[ServerSentEvent]:
    """A `machine` event with the snapshot at once, then every PUSH_INTERVAL_S seconds."""
    while not is_stopping(request.app):  # a stopping server ends the stream
        yield ServerSentEvent(
            event=MACHINE_EVENT, data=await _snapshot(request), retry=RECONNECT_DELAY_MS
        )
        await unless_stopping(request.app, asyncio.sleep(PUSH_INTERVAL_S), default=None)
