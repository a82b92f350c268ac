"""Cross-site request forgery: which sites may send a state-changing request on ambient trust.

A request authenticated by the browser's session cookie, or by nothing at all on an open
loopback server, carries trust the browser adds on its own; SameSite does not cover another
port of the same host. So a POST, PUT, PATCH or DELETE of that kind must come from this
server's own origin: its `Origin` header, when present, must name the host and port the
request was sent to (or an origin listed in LIPFORGE_CORS_ORIGINS; `*` counts only on an
open server, which has no cookie to protect), and `Sec-Fetch-Site`, when present without an
Origin, must be `same-origin` or `none`. A client that sends neither header is not a browser
and is let through: it had to hold the cookie or reach the socket itself.
A request with `Authorization: Bearer` is never checked here: browsers do not add that header.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import Scope

from lipforge.api.errors import ForeignOriginError
from lipforge.config import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SAME_ORIGIN_FETCH_SITES = frozenset({"same-origin", "none"})
DEFAULT_PORTS = {"http": 80, "https": 443}


def _authority(host: str, scheme: str) -> str:
    """`host[:port]` lower case, the scheme's default port left out."""
    value = host.strip().lower()
    default = DEFAULT_PORTS.get(scheme)
    if default and value.endswith(f":{default}"):
        return value[: -len(f":{default}")]
    return value


def _own_authorities(scope: Scope, headers: Headers, settings: Settings) -> set[str]:
    scheme = scope.get("scheme", "http")
    hosts = [headers.get("host", "")]
    if settings.behind_proxy:
        hosts.append(headers.get("x-forwarded-host", "").split(",")[0])
    found = set()
    for host in filter(None, hosts):
        found |= {_authority(host, scheme), _authority(host, "http"), _authority(host, "https")}
    return found


def origin_allowed(
    origin: str, scope: Scope, headers: Headers, settings: Settings, open_server: bool
) -> bool:
    if origin in settings.cors_origins and origin != "null":
        return True
    if open_server and "*" in settings.cors_origins and origin != "null":
        return True
    parts = urlsplit(origin)
    if parts.scheme not in DEFAULT_PORTS or not parts.netloc:
        return False
    return _authority(parts.netloc, parts.scheme) in _own_authorities(scope, headers, settings)


def check_origin(scope: Scope, headers: Headers, settings: Settings, open_server: bool) -> None:
    """Raise ForeignOriginError for a state-changing request sent from another site."""
    if scope.get("type") != "http" or scope.get("method") in SAFE_METHODS:
        return
    origin = headers.get("origin")
    if origin is not None:
        if origin_allowed(origin, scope, headers, settings, open_server):
            return
        shown = origin[:100]
    else:
        site = headers.get("sec-fetch-site", "").lower()
        if not site or site in SAME_ORIGIN_FETCH_SITES:
            return
        shown = f"a {site} page"
    raise ForeignOriginError(
        f"Refused {scope.get('method')} {scope.get('path')} from {shown}: changes that ride on "
        "the browser's login (or on an open server) must come from this server's own pages. "
        "Add the page's origin to LIPFORGE_CORS_ORIGINS, or send 'Authorization: Bearer <token>'.",
        origin=shown,
        method=str(scope.get("method")),
        path=str(scope.get("path")),
    )
