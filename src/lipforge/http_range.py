"""Serving a file over HTTP with Range support, for in-browser previews of assets and outputs.

Starlette's `FileResponse` already answers `Range: bytes=…` with 206 and
`Content-Range`, 416 (with `Content-Range: bytes */size`) for a range past the end,
and honours `If-Range`; this module only checks the file exists (a 404 the API can
map, not a 500) and sets the headers LipForge wants. A Range header that is not a valid
byte range set (`items=0-1`, `bytes=5-1`) is ignored and the whole file answered, as RFC
9110 (14.2) says, where Starlette would answer 400. It does not read files itself.
"""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path

from starlette.responses import FileResponse
from starlette.types import Receive, Scope, Send

from lipforge.errors import NotFoundError
from lipforge.filenames import displayable_name

FALLBACK_MEDIA_TYPE = "application/octet-stream"
_RANGE_SPEC = re.compile(r"(\d+)-(\d*)|-(\d+)")


def valid_byte_ranges(header: str) -> bool:
    """True for `bytes=` and a set of well-formed specs (first <= last, suffix > 0)."""
    unit, _, specs = header.partition("=")
    if unit.strip().lower() != "bytes" or not specs.strip():
        return False
    for spec in specs.split(","):
        match = _RANGE_SPEC.fullmatch(spec.strip())
        if match is None:
            return False
        first, last, suffix = match.groups()
        if (last and int(last) < int(first)) or (suffix is not None and int(suffix) == 0):
            return False
    return True


class LenientRangeFileResponse(FileResponse):
    """A FileResponse that answers the whole file to a Range header it cannot use."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = scope.get("headers") or []
        ranges = [value for name, value in headers if name == b"range"]
        if ranges and not valid_byte_ranges(ranges[0].decode("latin-1")):
            kept = [(name, value) for name, value in headers if name != b"range"]
            scope = {**scope, "headers": kept}
        await super().__call__(scope, receive, send)


def ranged_file_response(
    path: Path, download_name: str | None = None, media_type: str | None = None
) -> FileResponse:
    """A response streaming `path` (whole or by Range), shown inline under `download_name`."""
    try:
        stat_result = path.stat()
    except FileNotFoundError:
        raise NotFoundError(f"The file {path.name} is no longer on the server.") from None
    guessed = media_type or mimetypes.guess_type(path.name)[0] or FALLBACK_MEDIA_TYPE
    return LenientRangeFileResponse(
        path,
        media_type=guessed,
        filename=displayable_name(download_name) if download_name else None,
        stat_result=stat_result,
        content_disposition_type="inline",
        headers={"Cache-Control": "private, max-age=0"},
    )
