"""Where a voice's TTS requests may go: anywhere but link-local and cloud metadata addresses.

A TTS server on 127.0.0.1 or the LAN is the normal case and stays allowed; what is refused
are the addresses that hand out a machine's credentials (169.254.169.254 and the rest of
169.254.0.0/16, fe80::/10, fd00:ec2::254, Alibaba's 100.100.100.200), unless the networks
in LIPFORGE_VOICE_URL_ALLOW list them. `VoiceUrlTransport` resolves each request's host,
redirects included, checks every address and connects to the checked one (no second DNS
answer can swap it). This module does not send keys or read answers (`httpclient.py` does).
"""

from __future__ import annotations

import ipaddress
import socket

import httpx

from lipforge.speech.errors import VoiceUrlRefusedError

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
REFUSED_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in ("169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128", "100.100.100.200/32")
)


def parse_allowed(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def refused(address: ipaddress.IPv4Address | ipaddress.IPv6Address, allowed) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in net for net in allowed):
        return False
    return any(address.version == net.version and address in net for net in REFUSED_NETWORKS)


class VoiceUrlTransport(httpx.HTTPTransport):
    """An HTTP transport that refuses link-local and metadata addresses (see the module text)."""

    def __init__(self, allowed: tuple[IPNetwork, ...] = (), **kwargs) -> None:
        super().__init__(**kwargs)
        self.allowed = allowed

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        address = self._checked_address(host, port)
        request.url = request.url.copy_with(host=str(address))
        if request.url.scheme == "https":
            request.extensions["sni_hostname"] = host
        return super().handle_request(request)

    def _checked_address(self, host: str, port: int):
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise httpx.ConnectError(f"{host} cannot be resolved: {exc}") from exc
        addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
        for address in addresses:
            if refused(address, self.allowed):
                raise VoiceUrlRefusedError(
                    f"A voice's server {host} is at {address}, a link-local or cloud metadata "
                    "address; TTS requests are not sent there. If a TTS server really runs "
                    "there, list its network in LIPFORGE_VOICE_URL_ALLOW.",
                    host=host,
                    address=str(address),
                )
        return addresses[0]
