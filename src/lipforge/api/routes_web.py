"""The browser UI: `GET /` answers the built page, `GET /ui/{file}` its hashed assets.

The UI is built from `src/lipforge/web` (npm ci && npm run build, run by scripts/setup.sh)
into `web/dist/`. When it has not been built, `/` answers a short page saying how to
build it. Where a token is required, auth (api/auth.py) sends a browser without one to
/login first, like every other route.
Built files are sent as their Brotli or gzip copy (made at build, `<file>.br`/`.gz`) when
the browser's Accept-Encoding takes it, with `Vary: Accept-Encoding`; Range still works on
the copy sent. JSON answers are compressed on the fly by app.py's middleware, never here.
Besides the files, `GET /api/session` tells the page whether this server asks for a login
(so the page offers "Log out" only where there is one).
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter, Header, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from lipforge.errors import NotFoundError

WEB_DIST_DIR = Path(__file__).resolve().parent.parent / "web" / "dist"
ASSET_SUBDIR = "ui"
INDEX_CACHE_CONTROL = "no-cache"
ASSET_CACHE_CONTROL = "public, max-age=31536000, immutable"
BUILD_COMMAND = "cd src/lipforge/web && npm ci && npm run build"
PRECOMPRESSED = (("br", ".br"), ("gzip", ".gz"))  # preferred first

NOT_BUILT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>LipForge: UI not built</title></head>
<body style="font-family: sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>LipForge</h1>
<p>The browser UI has not been built. Build it once (needs Node.js and npm):</p>
<pre>cd src/lipforge/web &amp;&amp; npm ci &amp;&amp; npm run build</pre>
<p>or run <code>scripts/setup.sh</code>.
The API works without it: see <a href="/docs">/docs</a>.</p>
</body></html>
"""

router = APIRouter(include_in_schema=False)


def dist_dir() -> Path:
    return WEB_DIST_DIR


@router.get("/")
async def index() -> Response:
    page = dist_dir() / "index.html"
    if not page.is_file():
        return HTMLResponse(NOT_BUILT_PAGE)
    return FileResponse(
        page, media_type="text/html", headers={"Cache-Control": INDEX_CACHE_CONTROL}
    )


@router.get(f"/{ASSET_SUBDIR}/{{name:path}}")
async def ui_asset(name: str, accept_encoding: str = Header("", include_in_schema=False)):
    root = (dist_dir() / ASSET_SUBDIR).resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root) or not path.is_file() or path.suffix in (".br", ".gz"):
        raise NotFoundError(f"No UI file {name!r}. Rebuild the UI: {BUILD_COMMAND}.")
    sent, coding = encoded_variant(path, accept_encoding)
    headers = {"Cache-Control": ASSET_CACHE_CONTROL, "Vary": "Accept-Encoding"}
    if coding:
        headers["Content-Encoding"] = coding
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(sent, media_type=media_type, headers=headers)


def encoded_variant(path: Path, accept_encoding: str) -> tuple[Path, str | None]:
    """The build's Brotli or gzip copy of `path` if the client takes it, else `path` itself."""
    accepted = accepted_codings(accept_encoding)
    for coding, suffix in PRECOMPRESSED:
        copy = path.with_name(path.name + suffix)
        if coding in accepted and copy.is_file():
            return copy, coding
    return path, None


def accepted_codings(header: str) -> set[str]:
    """The content codings an Accept-Encoding header allows ("gzip;q=0" refuses gzip)."""
    accepted: set[str] = set()
    refused: set[str] = set()
    wildcard = False
    for item in header.split(","):
        coding, _, params = item.strip().lower().partition(";")
        quality = params.strip().removeprefix("q=") if params.strip().startswith("q=") else "1"
        try:
            allowed = float(quality) > 0
        except ValueError:
            allowed = False
        if coding == "*":
            wildcard = allowed
        elif coding:
            (accepted if allowed else refused).add(coding)
    if wildcard:
        accepted |= {coding for coding, _ in PRECOMPRESSED} - refused
    return accepted


@router.get("/api/session")
async def session_info(request: Request) -> dict:
    """`{"auth_required": bool}`: whether this server asks browsers to log in."""
    return {"auth_required": bool(request.app.state.access.required)}
