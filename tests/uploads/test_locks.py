"""The takeover lock alone: a newcomer interrupts a holder waiting on the network, waits for a
busy one, and gets 423 when the holder never lets go."""

from __future__ import annotations

import asyncio

import pytest

from lipforge.uploads.errors import UploadLockedError
from lipforge.uploads.locks import UploadLocks


def test_a_holder_waiting_on_the_network_is_interrupted_at_once():
    async def scenario() -> list[str]:
        locks, events = UploadLocks(), []
        network = asyncio.Event()

        async def stalled_patch() -> None:
            async with locks.hold("u") as holder:
                holder.receiving = True
                try:
                    await network.wait()
                except asyncio.CancelledError:
                    asyncio.current_task().uncancel()
                    events.append(f"interrupted, release requested={holder.release_requested}")

        task = asyncio.create_task(stalled_patch())
        await asyncio.sleep(0.01)
        async with locks.hold("u"):
            events.append("newcomer holds the upload")
        await task
        return events

    assert asyncio.run(scenario()) == [
        "interrupted, release requested=True",
        "newcomer holds the upload",
    ]


def test_a_busy_holder_is_asked_and_finishes_its_write_first():
    async def scenario() -> list[str]:
        locks, events = UploadLocks(), []

        async def writing_patch() -> None:
            async with locks.hold("u") as holder:
                await asyncio.sleep(0.05)
                events.append(f"write done, asked to stop={holder.release_requested}")

        task = asyncio.create_task(writing_patch())
        await asyncio.sleep(0.01)
        async with locks.hold("u"):
            events.append("newcomer")
        await task
        return events

    assert asyncio.run(scenario()) == ["write done, asked to stop=True", "newcomer"]


def test_a_holder_that_never_lets_go_gives_423():
    async def scenario() -> None:
        locks = UploadLocks(takeover_timeout_s=0.05)
        held = asyncio.Event()

        async def stubborn() -> None:
            async with locks.hold("u"):
                held.set()
                await asyncio.sleep(1)

        task = asyncio.create_task(stubborn())
        await held.wait()
        try:
            with pytest.raises(UploadLockedError) as caught:
                async with locks.hold("u"):
                    pass
            assert caught.value.http_status == 423
        finally:
            task.cancel()

    asyncio.run(scenario())


def test_different_uploads_do_not_wait_for_each_other():
    async def scenario() -> bool:
        locks = UploadLocks(takeover_timeout_s=0.05)
        async with locks.hold("a"):
            async with locks.hold("b"):
                return locks.is_held("a") and locks.is_held("b")

    assert asyncio.run(scenario())
