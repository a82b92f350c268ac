"""Serving a file over HTTP with Range support, for in-browser previews of assets and outputs.

Starlette's `FileResponse` already answers `Range: bytes=…` with 206 and
`Content-Range`, 416 (with `Content-Range: bytes */size`) for a range past the end,
and honours `If-Range`; this module only checks the file exists (a 404 the API can
map, not a 500) and sets the headers LipForge wants. It does not read files itself.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from starlette.responses import FileResponse

from lipforge.errors import NotFoundError
from lipforge.filenames import displayable_name

FALLBACK_MEDIA_TYPE = "application/octet-stream"


def ranged_file_response(
    path: Path, download_name: str | None = None, media_type: str | None = None
) -> FileResponse:
    """A response streaming `path` (whole or by Range), shown inline under `download_name`."""
    try:
        stat_result = path.stat()
    except FileNotFoundError:
        raise NotFoundError(f"The file {path.name} is no longer on the server.") from None
    guessed = media_type or mimetypes.guess_type(path.name)[0] or FALLBACK_MEDIA_TYPE
    return FileResponse(
        path,
        media_type=guessed,
        filename=displayable_name(download_name) if download_name else None,
        stat_result=stat_result,
        content_disposition_type="inline",
        headers={"Cache-Control": "private, max-age=0"},
    )
