"""Database failures a route can meet, answered in the project's JSON shape, not as text.

A write on a full disk fails inside SQLAlchemy ("database or disk is full" on SQLite,
SQLSTATE 53100 / "No space left on device" on PostgreSQL); it is answered as the shared
`DiskFullError` (507, `insufficient_storage`), as uploads answer a full disk. Any other
database error is answered `{"error": "internal_error"}` (500) and logged, never a plain-text
page. This module does not retry and does not translate errors raised outside routes.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

from lipforge.errors import DiskFullError
from lipforge.logs import log_event

DISK_FULL_MARKS = ("database or disk is full", "no space left on device", "disk full")
DISK_FULL_SQLSTATE = "53100"


def install_db_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DBAPIError, _db_error_response)


def is_disk_full(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower()
    return getattr(exc.orig, "sqlstate", None) == DISK_FULL_SQLSTATE or any(
        mark in text for mark in DISK_FULL_MARKS
    )


def database_full_error() -> DiskFullError:
    """What a write that met a full disk in the database answers (also on the HeyGem routes)."""
    return DiskFullError(
        "The server's disk is full: the change could not be saved. Free some space "
        "(old outputs, the cache) and try again.",
        reason="database",
    )


async def _db_error_response(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    log_event("api.database_error", path=request.url.path, error=str(exc.orig)[:300])
    if is_disk_full(exc):
        full = database_full_error()
        return JSONResponse(full.to_json(), status_code=full.http_status)
    body = {"error": "internal_error", "message": "The database failed; see the server log.",
            "params": {}}  # fmt: skip
    return JSONResponse(body, status_code=500)
