"""Access control for the whole app: the token, where it is kept, and the guard on every request.

On loopback the server may run open. When it listens beyond loopback (or a token is
configured) every request needs the token: API clients send `Authorization: Bearer …`,
browsers log in at `/login` (`login.py`) and get an HttpOnly, SameSite=Strict cookie
holding a session secret (`sessions.py`), never the token. The guard is an ASGI
middleware, so routes added by any module (SSE, tus) are covered; `/api/health`, the
login routes and OPTIONS requests (CORS preflights, tus discovery) stay open. In order it:
refuses a foreign Host on an open server (`hosts.py`, 421), slows an address that keeps
giving wrong tokens (`throttle.py`, 429 + Retry-After), checks the bearer token or the
session cookie (401 `{"error", "message", "params"}`, plus CORS headers for an allowed
origin), and refuses a state-changing request from another site that rides on the cookie
or on the open server's trust (`origins.py`, 403).
Each request gets `request.state.token_id` (a short hash of the token, or "anonymous").
This module does not decide what a token may do (quotas live with the uploads).
"""

from __future__ import annotations

import asyncio
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

from lipforge.api.errors import TooManyFailuresError
from lipforge.api.hosts import check_host
from lipforge.api.origins import check_origin
from lipforge.api.sessions import session_is_valid
from lipforge.api.throttle import client_address, throttle_for
from lipforge.config import Settings
from lipforge.errors import AuthError, ConfigError, LipforgeError
from lipforge.logs import log_event
from lipforge.uploads.protocol import cors_headers

TOKEN_FILE_NAME = "access_token"
TOKEN_BYTES = 32
MIN_TOKEN_CHARS = 16
TOKEN_ID_CHARS = 12
ANONYMOUS_TOKEN_ID = "anonymous"
COOKIE_NAME = "lipforge_session"
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

    def matches_token(self, candidate: str) -> bool:
        return self.token is not None and hmac.compare_digest(
            candidate.encode(), self.token.encode()
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
    """Guard every route of `app` (the login routes are `login.py`'s router); `app.state.access`
    may be preset."""
    app.add_middleware(AuthMiddleware, state=app.state, settings=settings)


def request_access(state: State, settings: Settings) -> Access:
    """The app's Access, settled once (`lipforge serve` presets it on `app.state`)."""
    access = getattr(state, "access", None)
    if access is None:
        access = access_for(settings)
        state.access = access
    return access


class AuthMiddleware:
    """ASGI middleware: lets a request through when it carries the token (or needs none)."""

    def __init__(self, app: ASGIApp, state: State, settings: Settings) -> None:
        self.app = app
        self.state = state
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        try:
            token_id = await self._admit(scope, Headers(scope=scope))
        except LipforgeError as exc:
            await _refuse(scope, receive, send, exc, self.settings)
            return
        scope.setdefault("state", {})["token_id"] = token_id
        await self.app(scope, receive, send)

    async def _admit(self, scope: Scope, headers: Headers) -> str:
        """The caller's token id; raises the refusal (421, 429, 401, 403) otherwise."""
        access = request_access(self.state, self.settings)
        if not access.required:
            check_host(scope, headers, self.settings)
            check_origin(scope, headers, self.settings, open_server=True)
            return access.token_id
        if scope["path"] in OPEN_PATHS or scope.get("method") == "OPTIONS":
            return ANONYMOUS_TOKEN_ID
        if _bearer(headers) is not None:
            self._check_bearer(scope, access, _bearer(headers) or "")
            return access.token_id
        if await self._has_session(headers, access):
            check_origin(scope, headers, self.settings, open_server=False)
            return access.token_id
        raise AuthError(UNAUTHORIZED_MESSAGE)

    def _check_bearer(self, scope: Scope, access: Access, candidate: str) -> None:
        throttle = throttle_for(self.state, self.settings)
        address = client_address(scope)
        throttle.check(address)
        if not access.matches_token(candidate):
            throttle.record_failure(address)
            raise AuthError(UNAUTHORIZED_MESSAGE)

    async def _has_session(self, headers: Headers, access: Access) -> bool:
        secret = session_cookie(headers)
        sessions = getattr(self.state, "sessions", None)
        if not secret or sessions is None:
            return False
        return await asyncio.to_thread(session_is_valid, sessions, secret, access.token_id)


def _bearer(headers: Headers) -> str | None:
    """The credentials of `Authorization: Bearer …`, or None without such a header."""
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else None


def session_cookie(headers: Headers) -> str | None:
    cookie = SimpleCookie()
    try:
        cookie.load(headers.get("cookie", ""))
    except Exception:
        return None
    morsel = cookie.get(COOKIE_NAME)
    return morsel.value if morsel is not None else None


async def _refuse(
    scope: Scope, receive: Receive, send: Send, exc: LipforgeError, settings: Settings
) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    path = scope["path"]
    wants_page = "text/html" in Headers(scope=scope).get("accept", "")
    is_page = scope["method"] in ("GET", "HEAD") and not path.startswith("/api/")
    if isinstance(exc, AuthError) and wants_page and is_page:
        response: Response = RedirectResponse(f"/login?next={quote(path)}", status_code=303)
    else:
        response = error_json(exc)
        response.headers.update(cors_headers(Request(scope), settings))
    await response(scope, receive, send)


def error_json(exc: LipforgeError) -> JSONResponse:
    """A refusal as the API answers it, with the headers its status calls for."""
    headers = {}
    if isinstance(exc, AuthError):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, TooManyFailuresError):
        headers["Retry-After"] = str(exc.retry_after_s)
    return JSONResponse(exc.to_json(), status_code=exc.http_status, headers=headers)


def unauthorized_response() -> JSONResponse:
    return error_json(AuthError(UNAUTHORIZED_MESSAGE))
