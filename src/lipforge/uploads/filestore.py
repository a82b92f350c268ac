"""The file store: `<id>` holds the bytes, `<id>.info` the JSON info, in the data dir's uploads/.

The offset is the size of the data file, so whatever reached the disk before a
crash or a disconnect counts and nothing else does. Info files are replaced
atomically (temp file + rename). Ids are generated here and checked against one
pattern before any path is built, so no request value ever names a path.
Locking and protocol checks are the router's; this module only does file I/O.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from pathlib import Path

from lipforge.uploads.errors import UploadNotFoundError
from lipforge.uploads.store import UploadInfo

UPLOAD_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")
INFO_SUFFIX = ".info"
COPY_BLOCK_BYTES = 8 * 1024 * 1024
WRITEV_MAX_PIECES = 512  # below IOV_MAX (1024 on Linux)


def new_upload_id() -> str:
    return uuid.uuid4().hex


def is_upload_id(value: str) -> bool:
    return bool(UPLOAD_ID_PATTERN.match(value))


class FileChunkWriter:
    """Appends to one data file through a raw descriptor; `discard` truncates back.

    After each write the kernel is told to start writing those pages out (fadvise
    DONTNEED), so the disk works while the next bytes arrive instead of all at the
    final fsync, and uploads do not crowd other files out of the page cache.
    """

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        self.start_offset_bytes = os.fstat(self._fd).st_size
        self.written_bytes = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.write_pieces([data])

    def write_pieces(self, pieces: list) -> None:
        """Append `pieces` in order with vectored writes (no joining copy)."""
        start_bytes = self.start_offset_bytes + self.written_bytes
        for first in range(0, len(pieces), WRITEV_MAX_PIECES):
            group = pieces[first : first + WRITEV_MAX_PIECES]
            expected = sum(len(piece) for piece in group)
            count = os.writev(self._fd, group)
            if count < expected:
                self._write_rest(b"".join(group)[count:])
            self.written_bytes += expected
        written = self.start_offset_bytes + self.written_bytes - start_bytes
        os.posix_fadvise(self._fd, start_bytes, written, os.POSIX_FADV_DONTNEED)

    def _write_rest(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]

    def discard(self) -> None:
        os.ftruncate(self._fd, self.start_offset_bytes)
        self.written_bytes = 0

    def sync(self) -> None:
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class FileStore:
    """Uploads as plain files under one directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def data_path(self, upload_id: str) -> Path:
        if not is_upload_id(upload_id):
            raise UploadNotFoundError(f"No upload has the id {upload_id!r}.")
        return self.root / upload_id

    def _info_path(self, upload_id: str) -> Path:
        return self.data_path(upload_id).with_suffix(INFO_SUFFIX)

    def create(self, info: UploadInfo) -> None:
        self.data_path(info.id).touch(exist_ok=False)
        self.save(info)

    def get(self, upload_id: str) -> UploadInfo:
        try:
            text = self._info_path(upload_id).read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise UploadNotFoundError(
                f"No upload has the id {upload_id!r}: it was never created, was terminated, "
                "or expired and was cleaned up. Start a new upload."
            ) from exc
        return UploadInfo.from_json(json.loads(text))

    def save(self, info: UploadInfo) -> None:
        path = self._info_path(info.id)
        temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        temp.write_text(json.dumps(info.to_json()), encoding="utf-8")
        os.replace(temp, path)

    def offset(self, info: UploadInfo) -> int:
        if info.finished and info.size_bytes is not None:
            return info.size_bytes
        try:
            return self.data_path(info.id).stat().st_size
        except FileNotFoundError:
            return 0

    def open_writer(self, info: UploadInfo) -> FileChunkWriter:
        return FileChunkWriter(self.data_path(info.id))

    def terminate(self, upload_id: str) -> None:
        self._info_path(upload_id).unlink(missing_ok=True)
        self.data_path(upload_id).unlink(missing_ok=True)

    def concatenate(self, final: UploadInfo, partials: list[UploadInfo]) -> None:
        """Append the partials' bytes to the final's data file inside the kernel
        (copy_file_range: no trip through user space, a reflink where the file system can
        share blocks), then fsync."""
        target = os.open(self.data_path(final.id), os.O_WRONLY)
        try:
            end_bytes = os.fstat(target).st_size
            for partial in partials:
                source = os.open(self.data_path(partial.id), os.O_RDONLY)
                try:
                    end_bytes = _append(source, target, end_bytes)
                finally:
                    os.close(source)
            os.fsync(target)
        finally:
            os.close(target)

    def list_ids(self) -> list[str]:
        return sorted(
            path.stem for path in self.root.glob(f"*{INFO_SUFFIX}") if is_upload_id(path.stem)
        )

    def remove_strays(self, min_age_s: float = 0.0) -> list[str]:
        """Delete temp files and data files that have no info (a crash between the two writes).

        Only files untouched for `min_age_s`: another API process sharing this directory may
        be between those two writes right now (the server passes a minute).
        """
        removed = []
        for path in self.root.iterdir():
            stray_temp = path.name.startswith(".") and path.name.endswith(".tmp")
            orphan = is_upload_id(path.name) and not path.with_suffix(INFO_SUFFIX).exists()
            if (stray_temp or orphan) and _age_s(path) >= min_age_s:
                path.unlink(missing_ok=True)
                removed.append(path.name)
        return removed


def _append(source: int, target: int, end_bytes: int) -> int:
    """Copy all of `source` to `target` at `end_bytes`; the target's new end."""
    size_bytes = os.fstat(source).st_size
    copied_bytes = 0
    try:
        while copied_bytes < size_bytes:
            count = os.copy_file_range(
                source, target, size_bytes - copied_bytes, copied_bytes, end_bytes + copied_bytes
            )
            if count == 0:
                break  # the source shrank meanwhile: keep what was there, as a read loop would
            copied_bytes += count
    except OSError:  # no copy_file_range between these files: copy through user space
        while block := os.pread(source, COPY_BLOCK_BYTES, copied_bytes):
            os.pwrite(target, block, end_bytes + copied_bytes)
            copied_bytes += len(block)
    return end_bytes + copied_bytes


def _age_s(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return 0.0
