"""The `Storage` protocol every backend implements, and the registry of backends by scheme.

A storage keeps immutable objects under keys relative to its root (`assets/<id>.mp4`,
`outputs/<batch>/<name>.mp4`). A write is staged first (copied or uploaded in full, but
invisible) and made visible at once by `commit`, or dropped by `abort`: readers never see
half an object, and a writer that dies mid-way leaves nothing under the key. Backends
register by URL scheme with `@register_storage`; `open_storage(settings)` picks one from
`Settings.storage_url`, and nothing else in the code branches on which one is in use.
This module holds no backend (see `local.py`, `s3.py`).
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar
from urllib.parse import urlsplit

from lipforge.config import Settings
from lipforge.errors import ConfigError, NotFoundError

LOCAL_SCHEME = "file"
KEY_PATTERN = re.compile(r"^(?!/)(?!.*(?:^|/)\.\.?(?:/|$))[^\x00-\x1f\\]{1,900}$")


@dataclass(frozen=True)
class ObjectInfo:
    """What a store knows of one object."""

    key: str
    size_bytes: int
    modified_at: datetime
    etag: str  # changes whenever the bytes under the key change


class StagedObject(Protocol):
    """A write whose bytes are in the store but not yet visible under its key."""

    key: str

    def commit(self) -> None:
        """Make the object visible under its key, whole, at once."""

    def abort(self) -> None:
        """Drop the staged bytes; nothing appears under the key. After `commit`: nothing."""


class ObjectReader(Protocol):
    """A reader of a stored object's bytes (an open file, a bucket's body stream)."""

    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...

    def __enter__(self) -> ObjectReader: ...

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any, /) -> None: ...


class Storage(Protocol):
    """What the asset library, the worker and the API need of a store."""

    scheme: ClassVar[str]

    @classmethod
    def from_settings(cls, settings: Settings, url: str) -> Storage:
        """The store `url` names (its root or bucket), with the rest from `settings`."""

    def describe(self) -> str:
        """Where the bytes go, for logs and `doctor` (never a secret)."""

    def stage_file(self, source: Path, key: str, move: bool = False) -> StagedObject:
        """Copy `source` into the store under `key`, invisible until `commit`.

        With `move`, `source` is gone after a commit (an abort leaves it where it was)."""

    def stat(self, key: str) -> ObjectInfo | None:
        """The object under `key`, or None when there is none."""

    def local_path(self, key: str) -> Path | None:
        """A file that can be read in place, or None when the bytes are elsewhere."""

    def download(self, key: str, target: Path) -> None:
        """Write the whole object to `target` (the caller renames it into place)."""

    def open_read(self, key: str, start: int = 0, length: int | None = None) -> ObjectReader:
        """A reader of `length` bytes (all to the end when None) from `start`."""

    def delete(self, key: str) -> None:
        """Remove the object; no error when there is none."""

    def presigned_url(self, key: str, expires_s: float, download_name: str) -> str | None:
        """A short-lived URL a client may fetch the object from directly, or None."""

    def abort_stale_uploads(self, older_than_s: float) -> int:
        """Drop staged writes older than this whose writer is gone; returns how many."""


StorageFactory = Callable[[Settings, str], Storage]
BACKENDS: dict[str, StorageFactory] = {}
BUILTIN_BACKENDS = ("lipforge.storage.local", "lipforge.storage.s3")


StorageClass = TypeVar("StorageClass", bound=type[Storage])


def register_storage(cls: StorageClass) -> StorageClass:
    BACKENDS[cls.scheme] = cls.from_settings
    return cls


_OPENED: dict[tuple, Storage] = {}
_OPEN_LOCK = threading.Lock()


def open_storage(settings: Settings) -> Storage:
    """The store `settings` name; one instance per distinct configuration (clients are reused)."""
    identity = (
        settings.storage_url,
        settings.data_dir.root,
        settings.s3_endpoint_url,
        settings.s3_region,
        settings.s3_access_key_id,
        settings.s3_secret_access_key,
        settings.s3_public_endpoint_url,
    )
    with _OPEN_LOCK:
        if identity not in _OPENED:
            _OPENED[identity] = _open(settings.storage_url, settings)
        return _OPENED[identity]


def _open(url: str, settings: Settings) -> Storage:
    _import_builtin_backends()
    scheme = urlsplit(url).scheme if url else LOCAL_SCHEME
    try:
        factory = BACKENDS[scheme]
    except KeyError:
        known = ", ".join(f"{name}://" for name in sorted(BACKENDS))
        raise ConfigError(
            f"Config 'LIPFORGE_STORAGE_URL' has value {url!r}. Use one of: {known} "
            "(or leave it empty for the data dir).",
            url=url,
        ) from None
    return factory(settings, url)


def storage_schemes() -> list[str]:
    _import_builtin_backends()
    return sorted(BACKENDS)


def check_key(key: str) -> str:
    """`key` itself when it is a relative, normalised path; NotFoundError otherwise."""
    if not KEY_PATTERN.match(key) or "//" in key:
        raise NotFoundError(f"Storage key {key!r} is not a valid object name.", key=key)
    return key


def put_file(storage: Storage, source: Path, key: str, move: bool = False) -> None:
    """Stage and commit in one go; an error aborts the staged bytes."""
    staged = storage.stage_file(source, key, move=move)
    try:
        staged.commit()
    except BaseException:
        staged.abort()
        raise


def _import_builtin_backends() -> None:
    for module in BUILTIN_BACKENDS:
        importlib.import_module(module)
