"""The data-dir store: objects are files under the data dir (`<data>/assets/…`, `<data>/outputs/…`).

This is today's layout and the default: nothing to install or configure. A staged write
is either the source itself (a move within one file system: commit is one rename) or a
hidden copy beside the target (`.<name>.<random>.partial`, renamed into place on commit),
so a reader never sees half a file. Files are served in place (`local_path`); there are
no presigned URLs and no uploads to abort.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, ClassVar

from lipforge.config import Settings
from lipforge.disk import ensure_free_space
from lipforge.errors import NotFoundError
from lipforge.storage.backend import (
    LOCAL_SCHEME,
    ObjectInfo,
    ObjectReader,
    check_key,
    register_storage,
)

PARTIAL_SUFFIX = ".partial"


@dataclass
class LocalStagedFile:
    """A write into the data dir, visible only after `commit` renames it into place."""

    key: str
    source: Path
    target: Path
    move: bool
    copy: Path | None = None  # the hidden copy, when the source could not simply be renamed
    done: bool = field(default=False)

    def commit(self) -> None:
        if self.done:
            return
        self.target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.copy or self.source, self.target)
        if self.copy is not None and self.move:
            self.source.unlink(missing_ok=True)
        self.done = True

    def abort(self) -> None:
        if self.copy is not None:
            self.copy.unlink(missing_ok=True)
        self.done = True


@register_storage
class LocalStorage:
    """Objects as files below one root directory."""

    scheme: ClassVar[str] = LOCAL_SCHEME

    def __init__(self, root: Path, min_free_bytes: int = 0) -> None:
        self.root = root
        self.min_free_bytes = min_free_bytes

    @classmethod
    def from_settings(cls, settings: Settings, url: str) -> LocalStorage:
        root = Path(url.removeprefix("file://")) if url else settings.data_dir.root
        return cls(root.expanduser().resolve(), settings.min_free_disk_bytes)

    def describe(self) -> str:
        return f"data dir {self.root}"

    def path_of(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if not path.is_relative_to(self.root):
            raise NotFoundError(f"Storage key {key!r} points outside {self.root}.", key=key)
        return path

    def stage_file(self, source: Path, key: str, move: bool = False) -> LocalStagedFile:
        target = self.path_of(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = LocalStagedFile(key, source, target, move)
        if move and source.stat().st_dev == target.parent.stat().st_dev:
            return staged
        ensure_free_space(target.parent, source.stat().st_size, self.min_free_bytes)
        staged.copy = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}{PARTIAL_SUFFIX}")
        try:
            shutil.copyfile(source, staged.copy)
        except BaseException:
            staged.abort()
            raise
        return staged

    def stat(self, key: str) -> ObjectInfo | None:
        try:
            result = self.path_of(key).stat()
        except FileNotFoundError:
            return None
        modified = datetime.fromtimestamp(result.st_mtime, UTC)
        etag = f"{result.st_mtime_ns:x}-{result.st_size:x}"
        return ObjectInfo(key, result.st_size, modified, etag)

    def local_path(self, key: str) -> Path | None:
        return self.path_of(key)

    def download(self, key: str, target: Path) -> None:
        shutil.copyfile(self._existing(key), target)

    def open_read(self, key: str, start: int = 0, length: int | None = None) -> ObjectReader:
        handle = self._existing(key).open("rb")
        handle.seek(start)
        return handle if length is None else _Limited(handle, length)

    def delete(self, key: str) -> None:
        path = self.path_of(key)
        path.unlink(missing_ok=True)
        top = self.root / key.split("/", 1)[0]  # assets/, outputs/ stay even when empty
        for parent in path.parents:
            if parent == top or not parent.is_relative_to(top):
                break
            try:
                parent.rmdir()
            except OSError:
                break

    def presigned_url(self, key: str, expires_s: float, download_name: str) -> str | None:
        return None

    def abort_stale_uploads(self, older_than_s: float) -> int:
        return 0

    def _existing(self, key: str) -> Path:
        path = self.path_of(key)
        if not path.is_file():
            raise NotFoundError(f"The file {path.name} is no longer on the server.", key=key)
        return path


class _Limited:
    """A reader that stops after `remaining` bytes."""

    def __init__(self, handle: BinaryIO, remaining: int) -> None:
        self._handle, self._remaining = handle, remaining

    def read(self, size: int = -1, /) -> bytes:
        if self._remaining <= 0:
            return b""
        size = self._remaining if size < 0 else min(size, self._remaining)
        data = self._handle.read(size)
        self._remaining -= len(data)
        return data

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> _Limited:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
