"""The event log and the bus that carries it to live listeners (SSE clients).

`publish_event` writes one row to the `events` table in the caller's transaction (its
id is the SSE event id) and, on PostgreSQL, queues a NOTIFY that is delivered when
that transaction commits. `events_since` reads the log. `EventBus` runs once per API
process: it wakes on LISTEN/NOTIFY (PostgreSQL) or a short poll (SQLite), reads the
new rows once, and fans them out to in-memory `Subscription`s, coalescing progress
so a slow client gets the latest figures, not a backlog. This module does not decide
what an event means; the queue and the routes do.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, delete, func, insert, or_, select, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from lipforge.db import Base, UTCDateTime, utc_now

NOTIFY_CHANNEL = "lipforge_events"
SQLITE_POLL_INTERVAL_S = 0.05  # one indexed read; keeps the SSE delay well under 250 ms
POSTGRES_FALLBACK_POLL_INTERVAL_S = 2.0
LISTEN_RETRY_DELAY_S = 1.0
FETCH_LIMIT_EVENTS = 500
GAP_WAIT_S = 5.0  # how long an id skipped by a slower transaction is looked for again
MAX_GAPS = 10_000
MAX_PENDING_EVENTS = 5_000  # per subscription, after coalescing progress
PROGRESS_INTERVAL_S = 0.1  # progress reaches one listener at most ~10 times a second

EventId = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER keys only


class Event(Base):
    """One state change; `id` is the SSE event id, increasing."""

    __tablename__ = "events"
    __table_args__ = {"sqlite_autoincrement": True}  # ids are never reused after a prune

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    kind: Mapped[str] = mapped_column(String(64))
    batch_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    job_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)


EVENTS = Event.__table__


@dataclass(frozen=True)
class EventRecord:
    id: int
    created_at: datetime
    kind: str
    batch_id: str | None
    job_id: str | None
    payload: dict

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": self.created_at.isoformat(),
            "kind": self.kind,
            "batch_id": self.batch_id,
            "job_id": self.job_id,
            **self.payload,
        }


def publish_event(
    session_or_conn: Session | Connection,
    kind: str,
    payload: dict,
    batch_id: str | None = None,
    job_id: str | None = None,
) -> int:
    """Write an event in the caller's transaction; returns its id (the SSE id). No commit."""
    statement = (
        insert(EVENTS)
        .values(
            created_at=utc_now(),
            kind=kind,
            batch_id=batch_id,
            job_id=job_id,
            payload=_jsonable(payload),
        )
        .returning(EVENTS.c.id)
    )
    event_id = int(session_or_conn.execute(statement).scalar_one())
    if _dialect_name(session_or_conn) == "postgresql":
        session_or_conn.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": NOTIFY_CHANNEL, "payload": str(event_id)},
        )
    return event_id


def events_since(
    sessions: sessionmaker,
    last_id: int,
    batch_id: str | None = None,
    limit: int = FETCH_LIMIT_EVENTS,
) -> list[EventRecord]:
    """Events with id > last_id, oldest first; with batch_id, that batch's plus batch-less ones."""
    statement = select(Event).where(Event.id > last_id).order_by(Event.id).limit(limit)
    if batch_id is not None:
        statement = statement.where(or_(Event.batch_id == batch_id, Event.batch_id.is_(None)))
    with sessions() as session:
        return [_record(row) for row in session.scalars(statement)]


def latest_event_id(sessions: sessionmaker) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.coalesce(func.max(Event.id), 0))))


def prune_events(sessions: sessionmaker, progress_before: datetime, all_before: datetime) -> int:
    """Delete progress events older than `progress_before` and any event older than `all_before`."""
    old_progress = Event.kind.like("%.progress") & (Event.created_at < progress_before)
    with sessions.begin() as session:
        result = session.execute(
            delete(Event).where(old_progress | (Event.created_at < all_before))
        )
    return result.rowcount or 0


def _events_by_ids(sessions: sessionmaker, ids: Iterable[int]) -> list[EventRecord]:
    with sessions() as session:
        statement = select(Event).where(Event.id.in_(list(ids))).order_by(Event.id)
        return [_record(row) for row in session.scalars(statement)]


def _record(row: Event) -> EventRecord:
    return EventRecord(row.id, row.created_at, row.kind, row.batch_id, row.job_id, row.payload)


def _dialect_name(session_or_conn: Session | Connection) -> str:
    if isinstance(session_or_conn, Session):
        return session_or_conn.get_bind().dialect.name
    return session_or_conn.dialect.name


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _coalesce_key(event: EventRecord) -> tuple | None:
    if not event.kind.endswith(".progress"):
        return None
    return (event.kind, event.job_id, event.payload.get("model"), event.payload.get("name"))


class Subscription:
    """One listener's queue of events: the backlog after `after_id` (if given), then live ones."""

    def __init__(self, bus: EventBus, batch_id: str | None, after_id: int | None) -> None:
        self.batch_id = batch_id
        self._bus = bus
        self._after_id = after_id
        self._floor_id = after_id or 0  # the client has everything up to here already
        self._pending: list[EventRecord] = []
        self._wake = asyncio.Event()
        self._progress_sent_s = 0.0
        self.closed = False

    def matches(self, event: EventRecord) -> bool:
        return self.batch_id is None or event.batch_id in (None, self.batch_id)

    def push(self, event: EventRecord) -> None:
        if event.id <= self._floor_id:
            return
        key = _coalesce_key(event)
        if key is not None:
            self._pending = [e for e in self._pending if _coalesce_key(e) != key]
        self._pending.append(event)
        if len(self._pending) > MAX_PENDING_EVENTS:
            del self._pending[: len(self._pending) - MAX_PENDING_EVENTS]
        self._wake.set()

    async def next_events(self, timeout_s: float) -> list[EventRecord]:
        """Events since the last call, oldest first; [] after timeout_s of quiet."""
        if self._after_id is not None:
            backlog = await asyncio.to_thread(self._read_backlog, self._after_id)
            self._after_id = None
            seen = {e.id for e in backlog}
            merged = backlog + [e for e in self._pending if e.id not in seen]
            self._pending = []
            if merged:
                return _coalesced(sorted(merged, key=lambda e: e.id))
        if not self._pending:
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout_s):  # no extra task per wait, unlike wait_for
                    await self._wake.wait()
        events, self._pending = self._pending, []
        return await self._paced(events)

    async def _paced(self, events: list[EventRecord]) -> list[EventRecord]:
        """Hold progress until PROGRESS_INTERVAL_S after the last; newer figures replace it."""
        if not any(_coalesce_key(e) is not None for e in events):
            return events
        wait_s = self._progress_sent_s + PROGRESS_INTERVAL_S - time.monotonic()
        if wait_s > 0:
            await asyncio.sleep(wait_s)
            events = _coalesced(sorted(events + self._pending, key=lambda e: e.id))
            self._pending = []
        self._progress_sent_s = time.monotonic()
        return events

    def _read_backlog(self, after_id: int) -> list[EventRecord]:
        events: list[EventRecord] = []
        while True:
            page = events_since(self._bus.sessions, after_id, self.batch_id)
            events.extend(page)
            if len(page) < FETCH_LIMIT_EVENTS:
                return events
            after_id = page[-1].id

    def close(self) -> None:
        self.closed = True
        self._bus.unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _coalesced(events: list[EventRecord]) -> list[EventRecord]:
    latest: dict[tuple, int] = {}
    for event in events:
        key = _coalesce_key(event)
        if key is not None:
            latest[key] = event.id
    return [e for e in events if (key := _coalesce_key(e)) is None or latest[key] == e.id]


class EventBus:
    """Reads new events once per process and hands them to every matching subscription."""

    def __init__(self, sessions: sessionmaker, database_url: str) -> None:
        self.sessions = sessions
        self.database_url = database_url
        self.is_postgres = database_url.startswith("postgresql")
        self._subscriptions: set[Subscription] = set()
        self._wake = asyncio.Event()
        self._last_id: int | None = None
        self._gaps: dict[int, float] = {}

    def subscribe(self, batch_id: str | None = None, after_id: int | None = None) -> Subscription:
        """A subscription (use as a context manager); with after_id it starts with the backlog."""
        subscription = Subscription(self, batch_id, after_id)
        self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscriptions)

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Forever: wait for a wake-up (NOTIFY or poll tick), read new events, fan them out."""
        self._last_id = await asyncio.to_thread(latest_event_id, self.sessions)
        listener = asyncio.create_task(self._listen()) if self.is_postgres else None
        interval_s = (
            POSTGRES_FALLBACK_POLL_INTERVAL_S if self.is_postgres else SQLITE_POLL_INTERVAL_S
        )
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), interval_s)
                self._wake.clear()
                if self._subscriptions or self._gaps:
                    await self._dispatch(await asyncio.to_thread(self._read_new))
                else:
                    self._last_id = await asyncio.to_thread(latest_event_id, self.sessions)
        finally:
            if listener is not None:
                listener.cancel()
                await asyncio.gather(listener, return_exceptions=True)

    async def _dispatch(self, events: list[EventRecord]) -> None:
        for event in events:
            for subscription in list(self._subscriptions):
                if subscription.matches(event):
                    subscription.push(event)

    def _read_new(self) -> list[EventRecord]:
        assert self._last_id is not None
        found: list[EventRecord] = []
        now = time.monotonic()
        self._gaps = {i: t for i, t in self._gaps.items() if now - t < GAP_WAIT_S}
        if self._gaps:
            found.extend(_events_by_ids(self.sessions, self._gaps))
            for event in found:
                self._gaps.pop(event.id, None)
        while True:
            page = events_since(self.sessions, self._last_id)
            for event in page:
                for missing in range(self._last_id + 1, event.id):
                    if len(self._gaps) < MAX_GAPS:
                        self._gaps[missing] = now
                self._last_id = event.id
            found.extend(page)
            if len(page) < FETCH_LIMIT_EVENTS:
                return found

    async def _listen(self) -> None:
        import psycopg

        conninfo = make_url(self.database_url).set(drivername="postgresql")
        conninfo_text = conninfo.render_as_string(hide_password=False)
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(conninfo_text, autocommit=True)
                async with conn:
                    await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self._wake.set()
                    async for _notify in conn.notifies():
                        self._wake.set()
            except (psycopg.Error, OSError):
                await asyncio.sleep(LISTEN_RETRY_DELAY_S)


def get_event_bus(app: Any) -> EventBus:
    """The API process's one bus (created on first use; `event_bus_service` runs it)."""
    bus = getattr(app.state, "event_bus", None)
    if bus is None:
        bus = EventBus(app.state.sessions, app.state.settings.effective_database_url)
        app.state.event_bus = bus
    return bus


async def event_bus_service(app: Any) -> None:
    """Background service for `api/app.py`: runs the bus for the life of the API process."""
    await get_event_bus(app).run()
