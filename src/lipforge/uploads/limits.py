"""The limits an upload must stay within: size, expiry, and unfinished uploads per token.

The free-disk guard itself is `lipforge.disk`; this module only applies the
uploads' own limits and raises the error table's 410, 413 and 429.
"""

from __future__ import annotations

from starlette.requests import Request

from lipforge.config import Settings
from lipforge.disk import format_bytes
from lipforge.uploads.errors import QuotaExceededError, SizeExceededError, UploadGoneError
from lipforge.uploads.protocol import now_s
from lipforge.uploads.store import UploadInfo, UploadStore

ANONYMOUS_OWNER = "anonymous"


def owner_of(request: Request) -> str:
    """Whose upload this is: the caller's token identity, or one shared anonymous owner."""
    return str(getattr(request.state, "token_id", None) or ANONYMOUS_OWNER)


def client_of(request: Request) -> str:
    """The caller's address: what tells anonymous owners apart for the quota."""
    return request.client.host if request.client else ""


def check_size(settings: Settings, size_bytes: int) -> None:
    if size_bytes > settings.max_upload_bytes:
        raise SizeExceededError(
            f"The upload is {format_bytes(size_bytes)}, above this server's limit of "
            f"{format_bytes(settings.max_upload_bytes)} (max {settings.max_upload_bytes} bytes); "
            "raise LIPFORGE_MAX_UPLOAD_BYTES or send a smaller file.",
            size=format_bytes(size_bytes),
            limit=format_bytes(settings.max_upload_bytes),
            size_bytes=size_bytes,
            limit_bytes=settings.max_upload_bytes,
        )


def is_expired(info: UploadInfo) -> bool:
    return not info.finished and bool(info.expires_at) and now_s() > info.expires_at


def check_alive(info: UploadInfo) -> None:
    if is_expired(info):
        raise UploadGoneError(
            f"Upload {info.id} expired unfinished; its bytes are being removed. "
            "Start a new upload.",
            id=info.id,
        )


def check_quota(store: UploadStore, settings: Settings, owner: str, client: str = "") -> None:
    """Blocking (reads every info file): call from a worker thread.

    Uploads count per token; on an open server, where every caller is anonymous, per client
    address, so one client that fills its quota does not lock the others out.
    """
    unfinished = 0
    for upload_id in store.list_ids():
        try:
            info = store.get(upload_id)
        except Exception:
            continue
        if _same_holder(info, owner, client) and not info.finished and not is_expired(info):
            unfinished += 1
    if unfinished >= settings.max_unfinished_uploads_per_token:
        raise QuotaExceededError(
            f"{unfinished} unfinished uploads already belong to {_holder_name(owner, client)}, "
            f"the limit is {settings.max_unfinished_uploads_per_token}. Finish or delete some "
            "(DELETE /api/uploads/<id>), or raise LIPFORGE_MAX_UNFINISHED_UPLOADS_PER_TOKEN.",
            count=unfinished,
            limit=settings.max_unfinished_uploads_per_token,
        )


def _same_holder(info: UploadInfo, owner: str, client: str) -> bool:
    if info.owner != owner:
        return False
    return owner != ANONYMOUS_OWNER or info.client == client


def _holder_name(owner: str, client: str) -> str:
    return f"the client at {client}" if owner == ANONYMOUS_OWNER and client else "this token"
