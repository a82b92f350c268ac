"""The store contract the tus router talks to, and the upload's info record.

The router validates headers, offsets and sizes and holds the per-upload lock; a
store only keeps bytes and info. Every method is blocking (disk I/O) and is called
from a worker thread, never on the event loop. The one implementation is
`filestore.FileStore`; this module holds no I/O.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass
class UploadInfo:
    """Everything known about one upload except its bytes; the offset is never stored here."""

    id: str
    size_bytes: int | None  # None while the length is deferred
    metadata_header: str = ""  # Upload-Metadata exactly as received, echoed on HEAD
    metadata: dict[str, str] = field(default_factory=dict)  # decoded values
    owner: str = "anonymous"
    client: str = ""  # the creating client's address (tells anonymous owners apart)
    created_at: float = 0.0
    expires_at: float = 0.0  # unix time; unfinished uploads past it are gone
    concat: str = ""  # "" | "partial" | "final"
    partial_ids: list[str] = field(default_factory=list)
    finished_at: float | None = None  # set once every byte is on disk
    asset_id: str | None = None
    error: str | None = None  # the asset library's refusal reason
    error_code: str | None = None  # its stable code, for translations
    error_params: dict = field(default_factory=dict)  # the values it names
    unverified_from: int | None = None  # start of a checksummed chunk still being received

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    @property
    def state(self) -> str:
        if not self.finished:
            return "receiving"
        if self.concat == "partial":
            return "received"  # a part of a final concatenation, never an asset itself
        if self.asset_id:
            return "done"
        return "refused" if self.error else "processing"

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> UploadInfo:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class ChunkWriter(Protocol):
    """Appends one PATCH's bytes at the offset it was opened at."""

    start_offset_bytes: int
    written_bytes: int

    def write(self, data: bytes | bytearray | memoryview) -> None: ...

    def write_pieces(self, pieces: list) -> None:
        """Append several buffers in order."""

    def discard(self) -> None:
        """Drop everything written through this writer (the offset goes back to the start)."""

    def close(self) -> None: ...


class UploadStore(Protocol):
    """Create, find, write, finish, terminate and concatenate uploads."""

    def create(self, info: UploadInfo) -> None: ...

    def get(self, upload_id: str) -> UploadInfo:
        """The info of `upload_id`; raises UploadNotFoundError."""

    def save(self, info: UploadInfo) -> None: ...

    def offset(self, info: UploadInfo) -> int:
        """Bytes received: the durable size of the data file."""

    def open_writer(self, info: UploadInfo) -> ChunkWriter: ...

    def data_path(self, upload_id: str) -> Path: ...

    def terminate(self, upload_id: str) -> None: ...

    def concatenate(self, final: UploadInfo, partials: list[UploadInfo]) -> None: ...

    def list_ids(self) -> list[str]: ...
