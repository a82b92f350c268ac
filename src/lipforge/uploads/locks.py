"""Per-upload locks where a newcomer takes over from a stalled holder, as tusd does.

A client whose connection silently died leaves its PATCH waiting for bytes that
never come. When a new HEAD or PATCH asks for the same upload, the holder is told
to let go: if it is waiting for the network it is interrupted at once, otherwise
it stops after the write in hand. The newcomer then proceeds with the offset the
old request left on disk. One process only (the server runs one event loop).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from lipforge.uploads.errors import UploadLockedError

TAKEOVER_TIMEOUT_S = 10.0


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


class UploadLocks:
    """At most one request works on an upload at a time; newer requests win."""

    def __init__(self, takeover_timeout_s: float = TAKEOVER_TIMEOUT_S) -> None:
        self._holders: dict[str, LockHolder] = {}
        self._takeover_timeout_s = takeover_timeout_s

    def is_held(self, upload_id: str) -> bool:
        return upload_id in self._holders

    @asynccontextmanager
    async def hold(self, upload_id: str) -> AsyncIterator[LockHolder]:
        while (current := self._holders.get(upload_id)) is not None:
            current.request_release()
            try:
                await asyncio.wait_for(current.released.wait(), self._takeover_timeout_s)
            except TimeoutError as exc:
                raise UploadLockedError(
                    f"Upload {upload_id} is busy with another request that did not stop within "
                    f"{self._takeover_timeout_s:g} s. Retry in a moment."
                ) from exc
        holder = LockHolder()
        self._holders[upload_id] = holder
        try:
            yield holder
        finally:
            del self._holders[upload_id]
            holder.released.set()
