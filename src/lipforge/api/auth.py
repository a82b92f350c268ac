"""Access control for the whole app: the token, the Bearer check, the login page and its cookie.

On loopback the server may run open. When it listens beyond loopback (or a token is
configured) every request needs the token: API clients send `Authorization: Bearer …`,
browsers log in at `/login` and get an HttpOnly, SameSite=Strict cookie that carries
an HMAC of the token, never the token itself. The check is an ASGI middleware, so
routes added by any module (SSE, tus) are covered; `/api/health`, the login routes
and OPTIONS requests (CORS preflights, tus discovery) stay open. A refusal is a 401
with `{"error": "unauthorized", "message": …}` and nothing else (plus CORS headers for
an allowed origin, so a browser client on another origin can read it). Each request gets
`request.state.token_id` (a short hash of the token, or "anonymous"). This module
does not decide what a token may do (quotas live with the uploads).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import ipaddress
import os
import secrets
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import Headers, State
from starlette.types import ASGIApp, Receive, Scope, Send

from lipforge.config import Settings
from lipforge.errors import ConfigError
from lipforge.logs import log_event
from lipforge.uploads.protocol import cors_headers

TOKEN_FILE_NAME = "access_token"
TOKEN_BYTES = 32
MIN_TOKEN_CHARS = 16
TOKEN_ID_CHARS = 12
ANONYMOUS_TOKEN_ID = "anonymous"
COOKIE_NAME = "lipforge_session"
COOKIE_MAX_AGE_S = 30 * 24 * 3600
COOKIE_KEY_CONTEXT = b"lipforge-browser-session-v1"
OPEN_PATHS = frozenset({"/api/health", "/api/login", "/login"})
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})
LOGIN_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'",
}
UNAUTHORIZED_MESSAGE = (
    "A valid access token is required: send 'Authorization: Bearer <token>' or log in at /login."
)


@dataclass(frozen=True)
class Access:
    """The token every request must carry, or None when the server runs open."""

    token: str | None

    @property
    def required(self) -> bool:
        return self.token is not None

    @property
    def token_id(self) -> str:
        if self.token is None:
            return ANONYMOUS_TOKEN_ID
        return hashlib.sha256(self.token.encode()).hexdigest()[:TOKEN_ID_CHARS]

    def cookie_value(self) -> str:
        key = (self.token or "").encode()
        return hmac.new(key, COOKIE_KEY_CONTEXT, hashlib.sha256).hexdigest()

    def matches_token(self, candidate: str) -> bool:
        return self.token is not None and hmac.compare_digest(
            candidate.encode(), self.token.encode()
        )

    def matches_cookie(self, candidate: str) -> bool:
        return self.token is not None and hmac.compare_digest(
            candidate.encode(), self.cookie_value().encode()
        )


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost; False for 0.0.0.0, :: and every other address."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def token_file(settings: Settings) -> Path:
    return settings.data_dir.root / TOKEN_FILE_NAME


def load_or_create_token(settings: Settings) -> tuple[str, bool]:
    """The token kept in the data dir (mode 0600), created on first use; (token, created)."""
    path = token_file(settings)
    if path.exists():
        return _read_token_file(path), False
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    staging = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(token + "\n")
    try:
        os.link(staging, path)
    except FileExistsError:
        return _read_token_file(path), False
    finally:
        staging.unlink(missing_ok=True)
    log_event("auth.token_created", path=str(path))
    return token, True


def _read_token_file(path: Path) -> str:
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
    token = path.read_text().strip()
    if not token:
        raise ConfigError(f"The token file {path} is empty. Delete it to have a new one made.")
    return token


def access_for(settings: Settings) -> Access:
    """What `create_app` enforces: the configured token, else open on loopback, else the file's."""
    if settings.token:
        return Access(settings.token)
    if is_loopback(settings.host):
        return Access(None)
    return Access(load_or_create_token(settings)[0])


def serve_access(settings: Settings, insecure_no_auth: bool) -> tuple[Access, bool]:
    """What `lipforge serve` enforces, and whether a token was just created (print it once).

    Behind a reverse proxy a loopback address is reachable from outside, so it counts as exposed.
    """
    exposed = not is_loopback(settings.host) or settings.behind_proxy
    if settings.token:
        if exposed and len(settings.token) < MIN_TOKEN_CHARS:
            raise ConfigError(
                f"LIPFORGE_TOKEN has {len(settings.token)} characters; a server reachable beyond "
                f"loopback needs at least {MIN_TOKEN_CHARS}. Unset it to have one generated."
            )
        return Access(settings.token), False
    if not exposed or insecure_no_auth:
        return Access(None), False
    token, created = load_or_create_token(settings)
    return Access(token), created


def check_exposure(settings: Settings, access: Access, insecure_no_auth: bool) -> None:
    """Refuse to run open on a non-loopback address unless --insecure-no-auth was given."""
    if access.required or insecure_no_auth or is_loopback(settings.host):
        return
    raise ConfigError(
        f"Refusing to listen on {settings.host} without a token. Set LIPFORGE_TOKEN, or pass "
        "--insecure-no-auth if every client that can reach this address may use the server."
    )


def install_auth(app: FastAPI, settings: Settings) -> None:
    """Guard every route of `app`; `app.state.access` may be set before the first request."""
    app.include_router(router)
    app.add_middleware(AuthMiddleware, state=app.state, settings=settings)


class AuthMiddleware:
    """ASGI middleware: lets a request through when it carries the token (or needs none)."""

    def __init__(self, app: ASGIApp, state: State, settings: Settings) -> None:
        self.app = app
        self.state = state
        self.settings = settings

    def access(self) -> Access:
        access = getattr(self.state, "access", None)
        if access is None:
            access = access_for(self.settings)
            self.state.access = access
        return access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        access = self.access()
        request_state = scope.setdefault("state", {})
        headers = Headers(scope=scope)
        if not access.required or _carries_token(access, headers):
            request_state["token_id"] = access.token_id
            await self.app(scope, receive, send)
            return
        request_state["token_id"] = ANONYMOUS_TOKEN_ID
        if scope["path"] in OPEN_PATHS or scope.get("method") == "OPTIONS":
            await self.app(scope, receive, send)
            return
        await _refuse(scope, receive, send, headers, self.settings)


def _carries_token(access: Access, headers: Headers) -> bool:
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and access.matches_token(credentials.strip()):
        return True
    cookie = SimpleCookie()
    try:
        cookie.load(headers.get("cookie", ""))
    except Exception:
        return False
    morsel = cookie.get(COOKIE_NAME)
    return morsel is not None and access.matches_cookie(morsel.value)


async def _refuse(
    scope: Scope, receive: Receive, send: Send, headers: Headers, settings: Settings
) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    path = scope["path"]
    wants_page = "text/html" in headers.get("accept", "")
    if scope["method"] in ("GET", "HEAD") and wants_page and not path.startswith("/api/"):
        response: Response = RedirectResponse(f"/login?next={quote(path)}", status_code=303)
    else:
        response = unauthorized_response()
        response.headers.update(cors_headers(Request(scope), settings))
    await response(scope, receive, send)


def unauthorized_response() -> JSONResponse:
    return JSONResponse(
        {"error": "unauthorized", "message": UNAUTHORIZED_MESSAGE},
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )


router = APIRouter()

LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>LipForge: log in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:24rem;margin:4rem auto;padding:0 1rem}}
input{{width:100%;padding:.5rem;margin:.5rem 0;box-sizing:border-box}}
.error{{color:#b00020}}</style></head>
<body><h1>LipForge</h1><p>Paste the access token the server printed when it first started
(it is kept in the data dir's <code>access_token</code> file).</p>{error}
<form method="post" action="/login"><input type="hidden" name="next" value="{next}">
<label>Access token<input type="password" name="token" autocomplete="current-password"
autofocus required></label><button type="submit">Log in</button></form></body></html>
"""


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _login_page(next_path: str, error: str = "", status_code: int = 200) -> HTMLResponse:
    error_html = f'<p class="error">{html.escape(error)}</p>' if error else ""
    page = LOGIN_PAGE.format(error=error_html, next=html.escape(_safe_next(next_path)))
    return HTMLResponse(page, status_code=status_code, headers=LOGIN_PAGE_HEADERS)


def _set_session_cookie(response: Response, request: Request, access: Access) -> None:
    response.set_cookie(
        COOKIE_NAME,
        access.cookie_value(),
        max_age=COOKIE_MAX_AGE_S,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def _request_access(request: Request) -> Access:
    return request.app.state.access


@router.get("/login", include_in_schema=False)
async def login_page(request: Request, next: str = "/") -> Response:
    if not _request_access(request).required:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_page(next)


@router.post("/login", include_in_schema=False)
async def login_form(request: Request) -> Response:
    form = await request.form()
    access = _request_access(request)
    next_path = _safe_next(str(form.get("next") or "/"))
    if not access.required:
        return RedirectResponse(next_path, status_code=303)
    if not access.matches_token(str(form.get("token") or "").strip()):
        log_event("auth.login_failed", client=request.client.host if request.client else None)
        return _login_page(next_path, "That token is not right.", status_code=401)
    response = RedirectResponse(next_path, status_code=303)
    _set_session_cookie(response, request, access)
    return response


@router.post("/api/login")
async def login_api(request: Request) -> Response:
    """JSON login for the browser UI: `{"token": "…"}` -> 204 with the session cookie."""
    access = _request_access(request)
    try:
        body = await request.json()
        candidate = str(body.get("token", "")) if isinstance(body, dict) else ""
    except ValueError:
        candidate = ""
    if access.required and not access.matches_token(candidate.strip()):
        return unauthorized_response()
    response = Response(status_code=204)
    if access.required:
        _set_session_cookie(response, request, access)
    return response


@router.post("/api/logout")
async def logout() -> Response:
    response = Response(status_code=204)
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict")
    return response
