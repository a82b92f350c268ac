"""Access control for the whole app: the token, where it is kept, and the check on every request.

On loopback the server may run open. When it listens beyond loopback (or a token is
configured) every request needs the token: API clients send `Authorization: Bearer …`,
browsers log in at `/login` (`login.py`) and get an HttpOnly, SameSite=Strict cookie
that carries an HMAC of the token, never the token itself. The check is an ASGI
middleware, so routes added by any module (SSE, tus) are covered; `/api/health`, the
login routes and OPTIONS requests (CORS preflights, tus discovery) stay open. A refusal
is a 401 with `{"error": "unauthorized", "message": …}` and nothing else (plus CORS
headers for an allowed origin, so a browser client on another origin can read it).
Each request gets `request.state.token_id` (a short hash of the token, or "anonymous").
This module does not decide what a token may do (quotas live with the uploads).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
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
COOKIE_KEY_CONTEXT = b"lipforge-browser-session-v1"
OPEN_PATHS = frozenset({"/api/health", "/api/login", "/login"})
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})
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
    """Guard every route of `app`, add the login routes; `app.state.access` may be preset."""
    from lipforge.api.login import router

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
