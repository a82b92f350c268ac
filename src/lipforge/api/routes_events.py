"""`GET /api/events[?batch=ID]`: the live stream of job and batch events (Server-Sent Events).

Every event carries its sequence number as the SSE id. A client that reconnects with
`Last-Event-ID` (or `?last_event_id=`, for clients that cannot set headers) first gets
what changed since, with progress coalesced to the latest figures per job, then the
live events. Each connection opens with a `stream.open` event whose id is where the
stream starts, so even a client that saw nothing can resume without a gap. FastAPI's
`EventSourceResponse` pings every 15 s and sets `X-Accel-Buffering: no`; reading the
database happens once per process in the event bus (`events.py`), never here.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from lipforge.api.schema import MAX_EVENT_ID, error_responses
from lipforge.api.stopping import is_stopping, unless_stopping
from lipforge.api.views import EventView
from lipforge.events import EventRecord, get_event_bus, latest_event_id

router = APIRouter()

OPEN_EVENT = "stream.open"
RECONNECT_DELAY_MS = 2000
WAIT_SLICE_S = 5.0
RECENT_IDS_KEPT = 10_000
EVENT_ID_PATTERN = r"^[0-9]{1,18}$"  # ids this server sends; 18 digits stay below 2**63


def resume_after(
    last_event_id_query: Annotated[
        int | None, Query(alias="last_event_id", ge=0, le=MAX_EVENT_ID)
    ] = None,
    last_event_id_header: Annotated[
        str | None, Header(alias="Last-Event-ID", pattern=EVENT_ID_PATTERN)
    ] = None,
) -> int | None:
    """Where a reconnecting client resumes: the header (browsers), else the query parameter.

    Checked before the stream opens, so a bad value is a 422, not a stream that dies.
    """
    if last_event_id_header is not None:
        return int(last_event_id_header)
    return last_event_id_query


@router.get(
    "/api/events",
    response_class=EventSourceResponse,
    responses=error_responses(422),
)
async def stream_events(
    request: Request,
    after_id: Annotated[int | None, Depends(resume_after)],
    batch: str | None = None,
) -> AsyncIterator[ServerSentEvent]:
    bus = get_event_bus(request.app)
    if after_id is None:
        after_id = await asyncio.to_thread(latest_event_id, request.app.state.sessions)
    with bus.subscribe(batch_id=batch, after_id=after_id) as subscription:
        yield ServerSentEvent(
            event=OPEN_EVENT,
            id=str(after_id),
            retry=RECONNECT_DELAY_MS,
            data={"last_event_id": after_id, "batch_id": batch},
        )
        sent = RecentIds(RECENT_IDS_KEPT)
        while not is_stopping(request.app):  # a stopping server ends the stream; clients resume
            events = await unless_stopping(
                request.app, subscription.next_events(WAIT_SLICE_S), default=[]
            )
            for event in events:
                if sent.add(event.id):
                    yield to_server_sent_event(event)


class RecentIds:
    """The ids a connection sent lately, so an event replayed and also pushed live goes once."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._order: deque[int] = deque()
        self._ids: set[int] = set()

    def add(self, event_id: int) -> bool:
        """True if `event_id` is new (and remember it), False if it was sent already."""
        if event_id in self._ids:
            return False
        self._ids.add(event_id)
        self._order.append(event_id)
        if len(self._order) > self._capacity:
            self._ids.discard(self._order.popleft())
        return True


def to_server_sent_event(event: EventRecord) -> ServerSentEvent:
    return ServerSentEvent(event=event.kind, id=str(event.id), data=describe_event(event))


def describe_event(event: EventRecord) -> dict:
    """The event's JSON (`api/views.py`'s `EventView`): its envelope and what it changes."""
    return EventView.of(event).to_json()
