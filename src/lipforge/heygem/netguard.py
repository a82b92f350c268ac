"""Which addresses an audio_url / video_url may reach, enforced where connections are made.

`AddressPolicy` allows public (globally routable) addresses and the networks listed in
LIPFORGE_HEYGEM_FETCH_ALLOW; loopback, private, link-local, CGNAT, multicast and reserved
addresses are refused. `GuardedTransport` is an httpx transport that resolves the host
itself, checks every address it resolves to, and connects to the checked address (the
Host header and TLS server name stay the original host), so a DNS answer that changes
between check and connect cannot slip past it. Redirects pass through it again, since
httpx follows them hop by hop through the transport. It also caps a response's size:
a Content-Length or Content-Range total above the limit is refused at the headers, and a
body that runs past it is cut. This module knows nothing of HeyGem's fields.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import httpx

from lipforge.errors import ConfigError
from lipforge.heygem.errors import FetchRefusedError, FetchTooLargeError
from lipforge.weights.remote import parse_content_range

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Iterable[str], setting: str) -> tuple[IPNetwork, ...]:
    """`10.0.0.0/8`, `192.168.1.20`, `::1` ... as networks; ConfigError names a bad entry."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError as exc:
            raise ConfigError(
                f"Config '{setting}' has entry {entry!r}. Not an IP address or network "
                "(e.g. 10.0.0.0/8, 192.168.1.20).",
                setting=setting,
                value=entry,
            ) from exc
    return tuple(networks)


def plain_address(address: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address (::ffff:127.0.0.1) as the IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def in_networks(address: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    address = plain_address(address)
    return any(address.version == net.version and address in net for net in networks)


@dataclass(frozen=True)
class AddressPolicy:
    """Public addresses, plus the explicitly allowed networks."""

    allowed: tuple[IPNetwork, ...] = ()

    def permits(self, address: IPAddress) -> bool:
        address = plain_address(address)
        if in_networks(address, self.allowed):
            return True
        return address.is_global and not address.is_multicast

    def resolve(self, host: str, port: int) -> IPAddress:
        """The first address of `host` if every address it resolves to is permitted."""
        addresses = list(_resolve(host, port))
        if not addresses:
            raise FetchRefusedError(f"{host} does not resolve to any address.", host=host)
        for address in addresses:
            if not self.permits(address):
                raise FetchRefusedError(
                    f"{host} resolves to {address}, a loopback, private or link-local address; "
                    "such addresses are fetched only when LIPFORGE_HEYGEM_FETCH_ALLOW lists them.",
                    host=host,
                    address=str(address),
                )
        return addresses[0]


def _resolve(host: str, port: int) -> Iterator[IPAddress]:
    try:
        yield ipaddress.ip_address(host.strip("[]"))
        return
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchRefusedError(f"{host} cannot be resolved: {exc}.", host=host) from exc
    for info in infos:
        yield ipaddress.ip_address(info[4][0].split("%", 1)[0])


class GuardedTransport(httpx.HTTPTransport):
    """An HTTP transport that connects only to permitted addresses and caps response sizes."""

    def __init__(self, policy: AddressPolicy, max_bytes: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.policy = policy
        self.max_bytes = max_bytes

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ("http", "https"):
            raise FetchRefusedError(f"{url} is not an http(s) URL.", url=str(url))
        host = url.host
        address = self.policy.resolve(host, url.port or (443 if url.scheme == "https" else 80))
        request.url = url.copy_with(host=str(address))
        if url.scheme == "https":
            request.extensions["sni_hostname"] = host  # in place: outer transports share it
        response = super().handle_request(request)
        announced = _announced_size(response)
        if announced is not None and announced > self.max_bytes:
            response.close()
            raise _too_large(url, announced, self.max_bytes)
        response.stream = _CappedStream(response.stream, self.max_bytes, str(url))
        return response


def _announced_size(response: httpx.Response) -> int | None:
    content_range = parse_content_range(response.headers.get("content-range"))
    if content_range is not None and content_range[2] is not None:
        return content_range[2]
    length = response.headers.get("content-length", "")
    return int(length) if length.isdigit() and response.status_code == 200 else None


def _too_large(url: object, size: int, limit: int) -> FetchTooLargeError:
    return FetchTooLargeError(
        f"{url} is {size} bytes, more than the {limit} bytes allowed "
        "(LIPFORGE_HEYGEM_MAX_FETCH_BYTES).",
        url=str(url),
        size_bytes=size,
        limit_bytes=limit,
    )


class _CappedStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, max_bytes: int, url: str) -> None:
        self.inner, self.max_bytes, self.url, self.seen = inner, max_bytes, url, 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.inner:
            self.seen += len(chunk)
            if self.seen > self.max_bytes:
                raise _too_large(self.url, self.seen, self.max_bytes)
            yield chunk

    def close(self) -> None:
        self.inner.close()
