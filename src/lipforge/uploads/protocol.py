"""What every tus answer shares: the server's context, tus and CORS headers, Location, errors.

`TusContext` is built once per app (`tus_context(app)`) and holds the settings, the
store and the locks; the method handlers receive it. This module builds headers
and answers but decides nothing about an upload's state.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass, field
from email.utils import formatdate

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lipforge.config import Settings
from lipforge.errors import LipforgeError
from lipforge.logs import log_event
from lipforge.uploads.errors import UnsupportedVersionError
from lipforge.uploads.filestore import FileStore
from lipforge.uploads.headers import CHECKSUM_ALGORITHMS, TUS_VERSION
from lipforge.uploads.locks import SharedLocks, UploadLocks
from lipforge.uploads.store import UploadInfo

UPLOADS_PATH = "/api/uploads"
TUS_EXTENSIONS = (
    "creation",
    "creation-with-upload",
    "creation-defer-length",
    "expiration",
    "checksum",
    "termination",
    "concatenation",
)
TUS_HEADERS = (
    "Tus-Resumable",
    "Tus-Version",
    "Tus-Max-Size",
    "Tus-Extension",
    "Tus-Checksum-Algorithm",
    "Upload-Offset",
    "Upload-Length",
    "Upload-Defer-Length",
    "Upload-Metadata",
    "Upload-Expires",
    "Upload-Concat",
    "Upload-Checksum",
    "Upload-Asset-Id",
    "Upload-Error",
    "Location",
)
CORS_ALLOWED_METHODS = "POST, GET, HEAD, PATCH, DELETE, OPTIONS"
CORS_ALLOWED_HEADERS = (
    "Authorization, Content-Type, Tus-Resumable, Upload-Length, Upload-Defer-Length, "
    "Upload-Offset, Upload-Metadata, Upload-Checksum, Upload-Concat, X-HTTP-Method-Override, "
    "X-Requested-With"
)
CORS_MAX_AGE_S = 86400
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
_FORWARDED_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


@dataclass
class TusContext:
    """Everything the method handlers share for one app."""

    settings: Settings
    store: FileStore
    locks: UploadLocks = field(default_factory=UploadLocks)
    ingest_tasks: set[asyncio.Task] = field(default_factory=set)
    reconcile_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    reconciled: bool = False
    app: object = None  # the Starlette app, for its database sessions

    @property
    def sessions(self):
        return getattr(self.app.state, "sessions", None)


def tus_context(app) -> TusContext:
    context = getattr(app.state, "tus", None)
    if context is None:
        settings: Settings = app.state.settings
        context = TusContext(settings, FileStore(settings.data_dir.uploads), app=app)
        sessions = getattr(app.state, "sessions", None)
        if sessions is not None:
            context.locks = UploadLocks(shared=SharedLocks(sessions))
        app.state.tus = context
    return context


def tus_headers(**extra: str) -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION, **extra}


def server_headers(settings: Settings) -> dict[str, str]:
    """What OPTIONS advertises: version, size limit, extensions, checksum algorithms."""
    return tus_headers(
        **{
            "Tus-Version": TUS_VERSION,
            "Tus-Max-Size": str(settings.max_upload_bytes),
            "Tus-Extension": ",".join(TUS_EXTENSIONS),
            "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS),
        }
    )


def expires_header(info: UploadInfo) -> dict[str, str]:
    if info.finished or not info.expires_at:
        return {}
    return {"Upload-Expires": formatdate(info.expires_at, usegmt=True)}


def upload_url(request: Request, settings: Settings, upload_id: str) -> str:
    """The absolute URL of an upload, as the client sees this server (proxy-aware if configured)."""
    scheme = request.url.scheme
    host = request.headers.get("host") or request.url.netloc
    if settings.behind_proxy:
        forwarded_proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip()
        forwarded_host = request.headers.get("x-forwarded-host", "").split(",")[0].strip()
        if forwarded_proto.lower() in ("http", "https"):
            scheme = forwarded_proto.lower()
        if _FORWARDED_HOST.match(forwarded_host):
            host = forwarded_host
    return f"{scheme}://{host}{UPLOADS_PATH}/{upload_id}"


def cors_headers(request: Request, settings: Settings) -> dict[str, str]:
    """CORS for an allowed Origin. A listed origin may send the cookie; the wildcard `*` lets any
    page read answers but never with credentials; the opaque origin `null` is never echoed."""
    origin = request.headers.get("origin")
    if not origin:
        return {}
    shared = {"Access-Control-Expose-Headers": ", ".join(TUS_HEADERS), "Vary": "Origin"}
    if origin in settings.cors_origins and origin not in ("*", "null"):
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Credentials": "true",
            **shared,
        }
    if "*" in settings.cors_origins:
        return {"Access-Control-Allow-Origin": "*", **shared}
    return {}


def is_preflight(request: Request) -> bool:
    return request.method == "OPTIONS" and "access-control-request-method" in request.headers


def preflight_response(request: Request, settings: Settings) -> Response:
    headers = cors_headers(request, settings)
    if headers:
        headers.update(
            {
                "Access-Control-Allow-Methods": CORS_ALLOWED_METHODS,
                "Access-Control-Allow-Headers": CORS_ALLOWED_HEADERS,
                "Access-Control-Max-Age": str(CORS_MAX_AGE_S),
            }
        )
    return Response(status_code=204, headers={**server_headers(settings), **headers})


def header_safe(text: str, limit_chars: int = 300) -> str:
    """A value that fits an HTTP header: ASCII, one line."""
    flat = " ".join(text.split())
    return flat.encode("ascii", "replace").decode("ascii")[:limit_chars]


def error_response(request: Request, settings: Settings, exc: LipforgeError) -> Response:
    upload_id = getattr(request.state, "upload_id", None)
    log_event(
        "upload.rejected",
        logging.WARNING if exc.http_status < 500 else logging.ERROR,
        upload_id=upload_id,
        method=request.method,
        status=exc.http_status,
        code=exc.code,
        message=str(exc),
    )
    headers = tus_headers(**cors_headers(request, settings))
    if isinstance(exc, UnsupportedVersionError):
        headers["Tus-Version"] = TUS_VERSION
    body = exc.to_json()
    if request.method == "HEAD":
        return Response(status_code=exc.http_status, headers=headers)
    return JSONResponse(body, status_code=exc.http_status, headers=headers)


def now_s() -> float:
    return time.time()
