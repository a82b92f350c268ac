"""Streaming one request body onto an upload's data file, off the event loop.

Bytes are gathered into buffers of 1 MiB (or of whatever came in the last
quarter second, for slow clients) and each buffer is written by a worker thread
while the next one is being received, so the event loop never waits on the disk.
Bytes that arrived before a disconnect or a takeover are kept (they are on disk,
so they count), unless the request carried a checksum, which can then never be
verified: such a chunk is discarded whole. Not here: offset and size checks
before the body (the handlers do those).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.types import Message

from lipforge.disk import ensure_free_space
from lipforge.uploads.errors import (
    ChecksumMismatchError,
    SizeExceededError,
    UploadInterruptedError,
)
from lipforge.uploads.locks import LockHolder
from lipforge.uploads.store import ChunkWriter

WRITE_BUFFER_BYTES = 1024 * 1024  # small enough that the last one, hashed after the body, is quick
FLUSH_INTERVAL_S = 0.25  # a slow client's bytes reach the disk at least this often


@dataclass(frozen=True)
class BodyTarget:
    """Where the bytes go and what they must satisfy."""

    writer: ChunkWriter
    limit_bytes: int  # at most this many bytes may be written
    checksum: tuple[str, bytes] | None
    disk_path: Path  # a path on the upload file system, for the free-space check
    min_free_bytes: int


@dataclass
class BodyOutcome:
    kept_bytes: int
    disconnected: bool = False
    interrupted: bool = False


class _ThreadedWriter:
    """Writes buffers in a worker thread, one at a time, hashing them on the way."""

    def __init__(self, target: BodyTarget) -> None:
        self.target = target
        self.hasher = hashlib.new(target.checksum[0]) if target.checksum else None
        self.pending: asyncio.Future | None = None

    def _write(self, pieces: list[bytes], size_bytes: int) -> None:
        ensure_free_space(self.target.disk_path, size_bytes, self.target.min_free_bytes)
        if self.hasher is not None:
            for piece in pieces:
                self.hasher.update(piece)
        self.target.writer.write_pieces(pieces)

    async def submit(self, pieces: list[bytes], size_bytes: int) -> None:
        await self.drain()
        loop = asyncio.get_running_loop()
        self.pending = loop.run_in_executor(None, self._write, pieces, size_bytes)

    async def drain(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            await asyncio.shield(pending)


async def receive_body(request: Request, target: BodyTarget, holder: LockHolder) -> BodyOutcome:
    """Copy the request body to `target.writer`; raises the error table's 413/460 and interrupts."""
    writer = _ThreadedWriter(target)
    outcome = BodyOutcome(kept_bytes=0)
    try:
        await _pump(request, target, writer, holder, outcome)
        await writer.drain()
    except BaseException:
        await _settle(writer)
        if target.checksum is not None:
            target.writer.discard()
        raise
    if outcome.interrupted or outcome.disconnected:
        if target.checksum is not None:
            await asyncio.to_thread(target.writer.discard)
    elif (
        target.checksum is not None
        and writer.hasher is not None
        and (writer.hasher.digest() != target.checksum[1])
    ):
        await asyncio.to_thread(target.writer.discard)
        raise ChecksumMismatchError(
            f"The chunk's {target.checksum[0]} checksum does not match the bytes received; "
            "the chunk was discarded. Send it again."
        )
    outcome.kept_bytes = target.writer.written_bytes
    return outcome


async def _settle(writer: _ThreadedWriter) -> None:
    """Let a write in flight finish, so nothing touches the file after we let go of it."""
    try:
        await writer.drain()
    except Exception:
        return


async def _pump(
    request: Request,
    target: BodyTarget,
    writer: _ThreadedWriter,
    holder: LockHolder,
    outcome: BodyOutcome,
) -> None:
    pieces: list[bytes] = []
    buffered_bytes = 0
    received_bytes = 0
    flushed_at_s = time.monotonic()
    more_body = True
    while more_body and not holder.release_requested:
        message = await _receive(request, holder)
        if message is None:
            outcome.interrupted = True
            break
        if message["type"] == "http.disconnect":
            outcome.disconnected = True
            break
        chunk = message.get("body", b"")
        more_body = message.get("more_body", False)
        received_bytes += len(chunk)
        if received_bytes > target.limit_bytes:
            raise SizeExceededError(
                f"The request carries more than the {target.limit_bytes} bytes the upload has left."
            )
        if chunk:
            pieces.append(chunk)
            buffered_bytes += len(chunk)
        now_s = time.monotonic()
        if buffered_bytes >= WRITE_BUFFER_BYTES or now_s - flushed_at_s >= FLUSH_INTERVAL_S:
            await writer.submit(pieces, buffered_bytes)
            pieces, buffered_bytes = [], 0
            flushed_at_s = now_s
    if holder.release_requested:
        outcome.interrupted = True
    if pieces:
        await writer.submit(pieces, buffered_bytes)


async def _receive(request: Request, holder: LockHolder) -> Message | None:
    """The next ASGI message, or None when a newer request took the upload over meanwhile."""
    holder.receiving = True
    try:
        return await request.receive()
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if holder.release_requested and task is not None and task.uncancel() == 0:
            return None
        raise
    finally:
        holder.receiving = False


__all__ = ["BodyTarget", "BodyOutcome", "receive_body", "UploadInterruptedError"]
