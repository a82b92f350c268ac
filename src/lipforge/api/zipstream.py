"""A zip archive produced as a stream of byte chunks, never held in memory or on disk whole.

`zip_chunks(members)` writes with the standard `zipfile` module into a sink that cannot
seek (so each entry carries a data descriptor) and yields what the sink collected after
every chunk read from the members (a file, or any reader a member's `opener` gives, such
as an object in a bucket). Entries are stored, not deflated: the members
are MP4s, which do not compress. This module knows nothing about batches or HTTP; it is
a sync generator, and Starlette runs it in a worker thread.
"""

from __future__ import annotations

import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from lipforge.storage.backend import ObjectReader

READ_CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ZipMember:
    """One file to put into the archive under `name`: `path`, or what `opener` reads."""

    path: Path | None
    name: str
    opener: Callable[[], ObjectReader] | None = None
    size_bytes: int = 0  # with `opener`
    modified_s: float = 0.0  # with `opener`: seconds since the epoch

    def open(self) -> tuple[ObjectReader, int, float]:
        """A reader of the member's bytes, their count and their modification time."""
        if self.opener is not None:
            return self.opener(), self.size_bytes, self.modified_s
        assert self.path is not None
        stat = self.path.stat()
        return self.path.open("rb"), stat.st_size, stat.st_mtime


class _ChunkSink:
    """A write-only, unseekable file object that keeps what was written until drained."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None

    def drain(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def zip_chunks(members: Iterable[ZipMember]) -> Iterator[bytes]:
    """Yield the bytes of a zip archive holding `members`, one read chunk at a time."""
    sink = _ChunkSink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        for member in members:
            yield from _write_member(archive, sink, member)
    tail = sink.drain()
    if tail:
        yield tail


def _write_member(archive: zipfile.ZipFile, sink: _ChunkSink, member: ZipMember) -> Iterator[bytes]:
    source, size_bytes, modified_s = member.open()
    info = zipfile.ZipInfo(member.name, date_time=time.localtime(modified_s)[:6])
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = size_bytes
    try:
        with archive.open(info, "w") as entry:
            while chunk := source.read(READ_CHUNK_BYTES):
                entry.write(chunk)
                yield sink.drain()
    finally:
        source.close()
    header_and_descriptor = sink.drain()
    if header_and_descriptor:
        yield header_and_descriptor
