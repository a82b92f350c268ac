"""The event log and the bus: ids increase, filters by batch, live delivery, backlog on
resume without gaps or duplicates, progress coalesced for a slow reader, pruning."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from lipforge.db import utc_now
from lipforge.events import EventBus, events_since, prune_events, publish_event


def publish(sessions, kind: str, batch_id: str | None = None, job_id: str | None = None, **payload):
    with sessions.begin() as session:
        return publish_event(session, kind, payload, batch_id=batch_id, job_id=job_id)


def test_ids_increase_and_a_batch_filter_keeps_batchless_events(sessions):
    ids = [
        publish(sessions, "job.queued", "b1", "j1"),
        publish(sessions, "job.queued", "b2", "j2"),
        publish(sessions, "worker.paused", reason="disk"),
    ]
    assert ids == sorted(ids)
    assert [e.id for e in events_since(sessions, 0, batch_id="b1")] == [ids[0], ids[2]]
    assert [e.id for e in events_since(sessions, ids[0])] == ids[1:]
    when = events_since(sessions, 0)[0].created_at
    assert when.tzinfo is not None


def run_with_bus(sessions, settings, scenario):
    async def main():
        bus = EventBus(sessions, settings.effective_database_url)
        runner = asyncio.create_task(bus.run())
        try:
            await asyncio.sleep(0.2)
            return await scenario(bus)
        finally:
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)

    return asyncio.run(main())


def test_the_bus_delivers_live_events_quickly(sessions, settings):
    async def scenario(bus):
        with bus.subscribe(batch_id="b1") as subscription:
            started = time.monotonic()
            await asyncio.to_thread(publish, sessions, "job.started", "b1", "j1")
            await asyncio.to_thread(publish, sessions, "job.started", "b2", "j2")
            events = await subscription.next_events(timeout_s=2.0)
            return time.monotonic() - started, [(e.kind, e.batch_id) for e in events]

    elapsed_s, events = run_with_bus(sessions, settings, scenario)
    assert events == [("job.started", "b1")]
    assert elapsed_s < 2.0


def test_a_resumed_subscription_gets_the_backlog_then_live_events_once(sessions, settings):
    resume_from = publish(sessions, "job.queued", "b1", "j1")
    missed = [
        publish(sessions, "job.started", "b1", "j1"),
        publish(sessions, "job.succeeded", "b1", "j1"),
    ]

    async def scenario(bus):
        with bus.subscribe(after_id=resume_from) as subscription:
            live = await asyncio.to_thread(publish, sessions, "batch.updated", "b1")
            received: list[int] = []
            deadline = time.monotonic() + 3
            while live not in received and time.monotonic() < deadline:
                received += [e.id for e in await subscription.next_events(timeout_s=0.5)]
            return received, live

    received, live = run_with_bus(sessions, settings, scenario)
    assert received == missed + [live]


def test_a_resumed_subscription_gets_nothing_from_before_its_resume_point(sessions, settings):
    async def scenario(bus):
        bus.wake()
        await asyncio.sleep(0.3)
        older = publish(sessions, "job.queued", "b1", "j1")  # blocks the loop: the bus has
        with bus.subscribe(after_id=older) as subscription:  # not dispatched `older` yet
            newer = await asyncio.to_thread(publish, sessions, "job.started", "b1", "j1")
            await asyncio.sleep(0.3)  # the bus reads both
            received = [e.id for e in await subscription.next_events(timeout_s=0.5)]
            return received + [e.id for e in await subscription.next_events(0.3)], newer

    received, newer = run_with_bus(sessions, settings, scenario)
    assert received == [newer]


def test_a_slow_reader_gets_the_latest_progress_not_a_backlog(sessions, settings):
    async def scenario(bus):
        with bus.subscribe() as subscription:
            for frames in range(1, 51):
                await asyncio.to_thread(
                    publish, sessions, "job.progress", "b1", "j1", frames_done=frames
                )
            await asyncio.to_thread(publish, sessions, "job.succeeded", "b1", "j1")
            await asyncio.sleep(0.5)
            return await subscription.next_events(timeout_s=1.0)

    events = run_with_bus(sessions, settings, scenario)
    progress = [e for e in events if e.kind == "job.progress"]
    assert len(progress) <= 2
    assert progress[-1].payload["frames_done"] == 50
    assert events[-1].kind == "job.succeeded"


def test_quiet_subscription_returns_nothing_after_its_timeout(sessions, settings):
    async def scenario(bus):
        with bus.subscribe() as subscription:
            started = time.monotonic()
            events = await subscription.next_events(timeout_s=0.3)
            return events, time.monotonic() - started, bus.subscriber_count

    events, elapsed_s, count = run_with_bus(sessions, settings, scenario)
    assert events == [] and 0.25 <= elapsed_s < 3.0 and count == 1


def test_prune_drops_old_progress_first_and_keeps_ids_increasing(sessions):
    publish(sessions, "job.progress", "b1", "j1", frames_done=1)
    kept = publish(sessions, "job.succeeded", "b1", "j1")
    now = utc_now() + timedelta(seconds=1)
    assert prune_events(sessions, progress_before=now, all_before=now - timedelta(days=1)) == 1
    assert [e.id for e in events_since(sessions, 0)] == [kept]
    prune_events(sessions, progress_before=now, all_before=now)
    assert publish(sessions, "job.queued", "b1", "j2") > kept
