"""Which Host header an open server answers to: the defence against DNS rebinding.

A server without a token trusts whoever can reach its socket. A page on another site
can reach a loopback socket by rebinding its own name to 127.0.0.1; the browser then
sends `Host: evil.example`. So an open server answers only loopback names
(`localhost`, `127.0.0.1`, `[::1]`, any port), the names in LIPFORGE_ALLOWED_HOSTS, and,
when it listens beyond loopback (--insecure-no-auth), IP literals (a browser that sends an
IP literal reached this server by its address, not by someone else's name).
A request that did not come through a network socket (an in-process ASGI client, whose
scope names no IP address as its server) was sent by no browser and is not checked.
With a token the check is not needed: a rebound page has no cookie and no token.
"""

from __future__ import annotations

import ipaddress

from starlette.datastructures import Headers
from starlette.types import Scope

from lipforge.api.errors import MisdirectedHostError
from lipforge.config import Settings

LOOPBACK_HOST_NAMES = frozenset({"localhost", "localhost.localdomain"})


def host_name(host_header: str) -> str:
    """The name part of a Host header: no port, no IPv6 brackets, lower case."""
    value = host_header.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value[1:]
    name, _, port = value.rpartition(":")
    return name if name and port.isdigit() else value


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _came_through_socket(scope: Scope) -> bool:
    server = scope.get("server")
    return server is not None and _ip(str(server[0]).strip("[]")) is not None


def host_allowed(settings: Settings, host_header: str) -> bool:
    name = host_name(host_header)
    allowed = {host_name(entry) for entry in (*settings.allowed_hosts, settings.host)}
    if name in LOOPBACK_HOST_NAMES or name in allowed:
        return True
    address = _ip(name)
    if address is None:
        return False
    if address.is_loopback:
        return True
    listen = _ip(settings.host.strip("[]"))
    return listen is not None and not listen.is_loopback


def check_host(scope: Scope, headers: Headers, settings: Settings) -> None:
    """Raise MisdirectedHostError when an open server is asked under a foreign name."""
    host = headers.get("host")
    if host is None or not _came_through_socket(scope) or host_allowed(settings, host):
        return
    shown = host[:100]
    raise MisdirectedHostError(
        f"This server runs without a token and answers only as localhost, 127.0.0.1 or [::1], "
        f"not as {shown!r} (a page on another site may be using its name to reach it). "
        "To reach it under that name, add it to LIPFORGE_ALLOWED_HOSTS.",
        host=shown,
        setting="LIPFORGE_ALLOWED_HOSTS",
    )
