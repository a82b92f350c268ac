"""The asset library: turn a finished file into an asset, find one, remove one.

`ingest_file` is the one way bytes become an asset, whatever brought them (a tus
upload, the inbox folder, `lipforge import`): it probes the file with the media layer
(a refusal raises that layer's MediaError and leaves the file where it was), hashes
it, gives back the existing asset when the same bytes are already known (and removes
the duplicate), and otherwise moves the file into the store (`lipforge.storage`: the data
dir or a bucket) under a key the server chooses (`assets/<id><ext>`), never a name a client
gave. This module does not serve HTTP and does not watch folders (see `inbox.py`).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from lipforge.assets.table import Asset
from lipforge.config import Settings
from lipforge.errors import ConflictError, LipforgeError, NotFoundError
from lipforge.filenames import displayable_name
from lipforge.logs import log_event
from lipforge.media.probe import MediaLimits, probe
from lipforge.storage.backend import Storage, open_storage, put_file

HASH_CHUNK_BYTES = 1024 * 1024
MAX_ORIGINAL_NAME_CHARS = 255
SAFE_EXTENSION = re.compile(r"^\.[a-z0-9]{1,8}$")
EXTENSION_BY_CONTAINER = {
    "mov": ".mov",
    "mp4": ".mp4",
    "matroska": ".mkv",
    "webm": ".webm",
    "avi": ".avi",
    "wav": ".wav",
    "mp3": ".mp3",
    "flac": ".flac",
    "ogg": ".ogg",
    "aac": ".aac",
}
ASSET_KINDS = ("audio", "video")
ASSETS_PREFIX = "assets/"
MAX_TRANSCRIPT_CHARS = 20_000  # the same as a script (render/scripts.py MAX_SCRIPT_CHARS)


class InvalidTranscriptError(LipforgeError):
    """Raised when a transcript is too long, or is given for a video rather than an audio."""

    code = "invalid_transcript"
    http_status = 422
    exit_code = 2


def ingest_file(
    path: Path, original_name: str, source: str, sessions: sessionmaker, settings: Settings
) -> Asset:
    """Probe, hash, dedupe and store `path` as an asset; raises MediaError with the reason."""
    info = probe(path, MediaLimits.from_settings(settings))
    digest = sha256_file(path)
    storage = open_storage(settings)
    existing = _find_by_sha256(sessions, digest)
    if existing is not None:
        _keep_one_copy(storage, path, asset_key(existing))
        log_event("asset.duplicate", asset_id=existing.id, original_name=original_name)
        return existing
    name = clean_original_name(original_name)
    asset_id = uuid.uuid4().hex
    relative_path = asset_id + _extension_for(name, info.container)
    key = ASSETS_PREFIX + relative_path
    size_bytes = path.stat().st_size
    put_file(storage, path, key, move=True)
    video = info.video
    asset = Asset(
        id=asset_id,
        kind=info.kind,
        original_name=name,
        size_bytes=size_bytes,
        sha256=digest,
        relative_path=relative_path,
        storage_key=key,
        duration_s=float(info.duration_s),
        fps=float(video.fps) if video else None,
        width=video.width if video else None,
        height=video.height if video else None,
        has_audio=info.audio is not None,
        source=source,
        created_at=datetime.now(UTC),
    )
    return _insert(sessions, storage, asset)


def _insert(sessions: sessionmaker, storage: Storage, asset: Asset) -> Asset:
    try:
        with sessions.begin() as session:
            session.add(asset)
    except IntegrityError:
        existing = _find_by_sha256(sessions, asset.sha256)  # the same bytes, added meanwhile
        storage.delete(asset_key(asset))
        if existing is None:
            raise
        return existing
    log_event("asset.created", asset_id=asset.id, kind=asset.kind, source=asset.source)
    return asset


def get_asset(sessions: sessionmaker, asset_id: str) -> Asset:
    """The asset with `asset_id`; NotFoundError if there is none."""
    with sessions() as session:
        asset = session.get(Asset, asset_id)
    if asset is None:
        raise NotFoundError(
            f"No asset with id {asset_id!r}. List assets with GET /api/assets.",
            what="asset",
            id=asset_id,
        )
    return asset


def set_transcript(sessions: sessionmaker, asset_id: str, text: str | None) -> Asset:
    """Record what an audio asset says (None or blank: forget it); returns the asset.

    Raises InvalidTranscriptError for a video, or a text longer than a script may be.
    """
    text = text.strip() if text else None
    if text is not None and len(text) > MAX_TRANSCRIPT_CHARS:
        raise InvalidTranscriptError(
            f"The transcript has {len(text)} characters; at most {MAX_TRANSCRIPT_CHARS} are "
            "taken (as for a script). Give the words of this audio only.",
            chars=len(text),
            limit=MAX_TRANSCRIPT_CHARS,
        )
    with sessions.begin() as session:
        asset = session.get(Asset, asset_id)
        if asset is None:
            raise NotFoundError(f"No asset with id {asset_id!r}.", what="asset", id=asset_id)
        if asset.kind != "audio":
            raise InvalidTranscriptError(
                f"Asset {asset_id!r} is a video; only an audio carries a transcript.",
                id=asset_id,
                reason="not_audio",
            )
        asset.transcript = text or None
    log_event("asset.transcript", asset_id=asset_id, chars=len(text or ""))
    return get_asset(sessions, asset_id)


def asset_key(asset: Asset) -> str:
    """The key of the asset's bytes in the store (`lipforge.storage`)."""
    return asset.storage_key or ASSETS_PREFIX + asset.relative_path


def asset_path(settings: Settings, asset: Asset) -> Path:
    """Where the asset's bytes are in the data dir (with the default, data-dir store)."""
    assets_dir = settings.data_dir.assets
    path = (assets_dir / asset.relative_path).resolve()
    if not path.is_relative_to(assets_dir.resolve()):
        raise NotFoundError(f"Asset {asset.id!r} points outside the assets folder.")
    return path


def list_assets(
    sessions: sessionmaker,
    kind: str | None = None,
    limit: int = 50,
    offset: int = 0,
    sha256: str | None = None,
) -> tuple[list[Asset], int]:
    """A page of assets, newest first, and how many there are in all (of that kind / hash)."""
    query = select(Asset)
    count = select(func.count()).select_from(Asset)
    for column, value in ((Asset.kind, kind), (Asset.sha256, sha256)):
        if value is not None:
            query = query.where(column == value)
            count = count.where(column == value)
    query = query.order_by(Asset.created_at.desc(), Asset.id.desc()).limit(limit).offset(offset)
    with sessions() as session:
        return list(session.scalars(query)), int(session.scalar(count) or 0)


def delete_asset(sessions: sessionmaker, settings: Settings, asset_id: str) -> None:
    """Remove the asset's row and bytes; ConflictError while a batch still uses it."""
    asset = get_asset(sessions, asset_id)
    try:
        with sessions.begin() as session:
            session.delete(session.get(Asset, asset_id))
    except IntegrityError as exc:
        raise ConflictError(
            f"Asset {asset_id!r} is used by a batch; delete that batch first.",
            what="asset",
            id=asset_id,
        ) from exc
    open_storage(settings).delete(asset_key(asset))
    log_event("asset.deleted", asset_id=asset_id)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def clean_original_name(name: str) -> str:
    """The last path component of a client-given name, without control characters."""
    base = displayable_name(name.replace("\\", "/")).rsplit("/", 1)[-1].strip()
    if base in {"", ".", ".."}:
        return "unnamed"
    return base[-MAX_ORIGINAL_NAME_CHARS:]


def _extension_for(name: str, container: str) -> str:
    suffix = Path(name).suffix.lower()
    if SAFE_EXTENSION.match(suffix):
        return suffix
    first_format = (container or "").split(",")[0].strip().lower()
    return EXTENSION_BY_CONTAINER.get(first_format, "")


def _find_by_sha256(sessions: sessionmaker, digest: str) -> Asset | None:
    with sessions() as session:
        return session.scalar(select(Asset).where(Asset.sha256 == digest))


def _keep_one_copy(storage: Storage, duplicate: Path, kept_key: str) -> None:
    """Drop `duplicate`, unless the kept copy went missing: then it takes its place."""
    if storage.stat(kept_key) is not None:
        duplicate.unlink(missing_ok=True)
    else:
        put_file(storage, duplicate, kept_key, move=True)
