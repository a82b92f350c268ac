"""JSON-lines logging to the data dir's logs/, rotated, and the HTTP error log middleware.

`configure_logging(logs_dir)` points the `lipforge` logger at `logs/lipforge.log`
(one JSON object per line, rotated by size); `log_event("upload.refused", upload_id=…)`
is how any part writes a structured event. `HttpErrorLogMiddleware` logs every
response with status >= 400 (method, path, status, upload id, token id) and every
unhandled exception. Each process writes its own file (the worker process passes
`file_name="worker.log"`), because rotation is not safe across processes. This module
does not configure uvicorn's own console logging.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOGGER_NAME = "lipforge"
LOG_FILE_NAME = "lipforge.log"
MAX_LOG_BYTES = 10 * 1024 * 1024
LOG_BACKUP_COUNT = 5
NATIVE_LOG_FILE_NAME = "native.log"
FIELDS_ATTRIBUTE = "lipforge_fields"
UPLOAD_ID_IN_PATH = re.compile(r"^/api/uploads/([A-Za-z0-9_-]+)")

logger = logging.getLogger(LOGGER_NAME)


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, event, then the event's fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        entry.update(getattr(record, FIELDS_ATTRIBUTE, {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(
    logs_dir: Path,
    file_name: str = LOG_FILE_NAME,
    level: int = logging.INFO,
    max_bytes: int = MAX_LOG_BYTES,
) -> Path:
    """Send the `lipforge` logger to `logs_dir/file_name` (replacing an earlier file); its path."""
    logs_dir.mkdir(parents=True, exist_ok=True)
    log_path = logs_dir / file_name
    for handler in list(logger.handlers):
        if isinstance(handler.formatter, JsonLinesFormatter):
            logger.removeHandler(handler)
            handler.close()
    handler = logging.handlers.RotatingFileHandler(
        log_path, maxBytes=max_bytes, backupCount=LOG_BACKUP_COUNT, encoding="utf-8", delay=True
    )
    handler.setFormatter(JsonLinesFormatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    return log_path


def divert_native_stderr(logs_dir: Path) -> None:
    """Send what native libraries write to file descriptor 2 (MediaPipe's C++ and TFLite
    chatter) to logs/native.log; Python's own stderr (errors, tracebacks, progress) stays
    on the terminal. For command-line processes only, never inside tests' own process."""
    logs_dir.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    terminal = os.fdopen(os.dup(2), "w", buffering=1, errors="backslashreplace")
    native = os.open(logs_dir / NATIVE_LOG_FILE_NAME, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(native, 2)
    os.close(native)
    sys.stderr = terminal


def log_event(event: str, level: int = logging.INFO, /, **fields: object) -> None:
    """Write one structured event, e.g. `log_event("inbox.imported", asset_id=…, name=…)`."""
    exc_info = fields.pop("exc_info", None)
    logger.log(level, event, extra={FIELDS_ATTRIBUTE: fields}, exc_info=exc_info)


class HttpErrorLogMiddleware:
    """ASGI middleware: logs each 4xx/5xx answer and each unhandled exception as `http.error`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status_code = 0

        async def send_and_watch(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        except Exception:
            _log_http_error(scope, 500, exc_info=True)
            raise
        if status_code >= 400:
            _log_http_error(scope, status_code)


def _log_http_error(scope: Scope, status_code: int, exc_info: bool = False) -> None:
    state = scope.get("state") or {}
    path = scope.get("path", "")
    match = UPLOAD_ID_IN_PATH.match(path)
    upload_id = state.get("upload_id") or (match.group(1) if match else None)
    client = scope.get("client")
    level = logging.ERROR if status_code >= 500 else logging.WARNING
    log_event(
        "http.error",
        level,
        method=scope.get("method"),
        path=path,
        status=status_code,
        upload_id=upload_id,
        token_id=state.get("token_id"),
        client=client[0] if client else None,
        exc_info=exc_info,
    )
