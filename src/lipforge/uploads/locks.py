"""Per-upload locks where a newcomer takes over from a stalled holder, as tusd does.

A client whose connection silently died leaves its PATCH waiting for bytes that
never come. When a new HEAD or PATCH asks for the same upload, the holder is told
to let go: if it is waiting for the network it is interrupted at once, otherwise
it stops after the write in hand. The newcomer then proceeds with the offset the
old request left on disk.

Within one process the holders are in memory (takeover is immediate). With a
database (`SharedLocks`, the `upload_locks` table of `locktable.py`), a process
also holds the upload's row, so several API processes serve one set of uploads: a
newcomer in another process marks the row as wanted, the holder's watcher sees it
within `WATCH_INTERVAL_S` and lets go the same way. A holder renews its lease while
it works; a row whose process died on this host, or whose lease ran out, is free.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from lipforge.logs import log_event
from lipforge.processes import make_worker_id
from lipforge.uploads import locktable
from lipforge.uploads.errors import UploadInterruptedError, UploadLockedError

TAKEOVER_TIMEOUT_S = 10.0
LEASE_S = 10.0  # a holder in a process that vanished elsewhere blocks its upload this long
WATCH_INTERVAL_S = 0.1  # how often a holder looks whether another process wants its upload
ACQUIRE_POLL_S = 0.05  # how often a newcomer looks whether the holder let go


class LockHolder:
    """The request holding an upload; it marks when it waits on the network."""

    def __init__(self) -> None:
        self.task = asyncio.current_task()
        self.release_requested = False
        self.receiving = False
        self.released = asyncio.Event()

    def request_release(self) -> None:
        if self.release_requested:
            return
        self.release_requested = True
        if self.receiving and self.task is not None:
            self.task.cancel("upload taken over by a newer request")


class SharedLocks:
    """The cross-process half: one `upload_locks` row per held upload."""

    def __init__(self, sessions: sessionmaker, lease_s: float = LEASE_S) -> None:
        self.sessions = sessions
        self.lease_s = lease_s
        self.process_id = make_worker_id()

    @asynccontextmanager
    async def hold(self, upload_id: str, holder: LockHolder, deadline_s: float) -> AsyncIterator:
        owner = f"{self.process_id}/{secrets.token_hex(6)}"
        await self._acquire(upload_id, owner, holder, deadline_s)
        watcher = asyncio.create_task(self._watch(upload_id, owner, holder))
        try:
            yield
        finally:
            watcher.cancel()
            # submitted before any await, so the row is let go even if this task is cancelled
            loop = asyncio.get_running_loop()
            release = loop.run_in_executor(None, locktable.release, self.sessions, upload_id, owner)
            await asyncio.shield(release)

    async def _acquire(
        self, upload_id: str, owner: str, holder: LockHolder, deadline_s: float
    ) -> None:
        args = (self.sessions, upload_id, owner, self.lease_s)
        while await asyncio.to_thread(locktable.try_acquire, *args) is not None:
            if holder.release_requested:
                raise UploadInterruptedError(
                    f"Upload {upload_id} was taken over by a newer request while this one waited.",
                    upload_id=upload_id,
                )
            if time.monotonic() >= deadline_s:
                raise _locked_error(upload_id)
            await asyncio.sleep(ACQUIRE_POLL_S)

    async def _watch(self, upload_id: str, owner: str, holder: LockHolder) -> None:
        renewed_at_s = time.monotonic()
        while True:
            await asyncio.sleep(WATCH_INTERVAL_S)
            renew = time.monotonic() - renewed_at_s >= self.lease_s / 3
            lease_s = self.lease_s if renew else None
            try:
                args = (self.sessions, upload_id, owner, lease_s)
                if await asyncio.to_thread(locktable.should_let_go, *args):
                    holder.request_release()
            except SQLAlchemyError:
                log_event("upload.lock_watch_failed", logging.WARNING, upload_id=upload_id)
                continue
            if renew:
                renewed_at_s = time.monotonic()

    def is_held(self, upload_id: str) -> bool:
        """Blocking: True while a live process holds `upload_id`."""
        return locktable.is_held(self.sessions, upload_id)


class UploadLocks:
    """At most one request works on an upload at a time; newer requests win."""

    def __init__(
        self, takeover_timeout_s: float = TAKEOVER_TIMEOUT_S, shared: SharedLocks | None = None
    ) -> None:
        self._holders: dict[str, LockHolder] = {}
        self._takeover_timeout_s = takeover_timeout_s
        self.shared = shared

    def is_held(self, upload_id: str) -> bool:
        """True while a request of this process holds `upload_id`."""
        return upload_id in self._holders

    def is_held_anywhere(self, upload_id: str) -> bool:
        """Blocking: held here or by another live process."""
        if self.is_held(upload_id):
            return True
        return self.shared is not None and self.shared.is_held(upload_id)

    @asynccontextmanager
    async def hold(self, upload_id: str) -> AsyncIterator[LockHolder]:
        deadline_s = time.monotonic() + self._takeover_timeout_s
        while (current := self._holders.get(upload_id)) is not None:
            current.request_release()
            try:
                remaining_s = max(deadline_s - time.monotonic(), 0.0)
                await asyncio.wait_for(current.released.wait(), remaining_s)
            except TimeoutError as exc:
                raise _locked_error(upload_id, self._takeover_timeout_s) from exc
        holder = LockHolder()
        self._holders[upload_id] = holder
        try:
            if self.shared is None:
                yield holder
            else:
                async with self.shared.hold(upload_id, holder, deadline_s):
                    yield holder
        finally:
            del self._holders[upload_id]
            holder.released.set()


def _locked_error(upload_id: str, timeout_s: float = TAKEOVER_TIMEOUT_S) -> UploadLockedError:
    return UploadLockedError(
        f"Upload {upload_id} is busy with another request that did not stop within "
        f"{timeout_s:g} s. Retry in a moment.",
        upload_id=upload_id,
        seconds=timeout_s,
    )
