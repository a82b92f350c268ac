"""Separate hosts on one machine for tests: network namespaces on veth links, and a TCP relay.

`Namespace.create(index)` makes namespace `lf<pid>h<index>` joined to the host by a veth
pair on its own /30 (host 10.213.<index>.1, namespace .2; no other route, so a process in
it reaches only the host end). `remove()` deletes both. `Relay(listen_ip, target_port)`
accepts on the host end and forwards to a service on 127.0.0.1 (PostgreSQL and SeaweedFS
listen on loopback only). Needs root and iproute2.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import threading
from dataclasses import dataclass

SUBNET = "10.213"
RELAY_BUFFER_BYTES = 256 * 1024


def netns_available() -> str | None:
    """None when namespaces can be made here, else the reason they cannot."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "iproute2 (`ip`) is not installed"
    return None


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@dataclass
class Namespace:
    name: str
    host_link: str
    host_ip: str
    ns_ip: str

    @classmethod
    def create(cls, index: int) -> Namespace:
        """A namespace on the first /30 from `index` on that no link of this machine uses."""
        while _subnet_in_use(index):
            index += 2
        tag = f"{os.getpid() % 100000}h{index}"
        ns = cls(f"lf{tag}", f"lfv{tag}", f"{SUBNET}.{index}.1", f"{SUBNET}.{index}.2")
        inner = f"lfn{tag}"
        try:
            ip("netns", "add", ns.name)
            ip("link", "add", ns.host_link, "type", "veth", "peer", "name", inner)
            ip("link", "set", inner, "netns", ns.name)
            ip("addr", "add", f"{ns.host_ip}/30", "dev", ns.host_link)
            ip("link", "set", ns.host_link, "up")
            ip("-n", ns.name, "addr", "add", f"{ns.ns_ip}/30", "dev", inner)
            ip("-n", ns.name, "link", "set", inner, "up")
            ip("-n", ns.name, "link", "set", "lo", "up")
        except BaseException:
            ns.remove()
            raise
        return ns

    def command(self, *args: str) -> list[str]:
        return ["ip", "netns", "exec", self.name, *args]

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            ip("link", "del", self.host_link)
        with contextlib.suppress(subprocess.CalledProcessError):
            ip("netns", "del", self.name)


def _subnet_in_use(index: int) -> bool:
    found = subprocess.run(
        ["ip", "-o", "addr", "show", "to", f"{SUBNET}.{index}.0/30"],
        capture_output=True,
        text=True,
        check=True,
    )
    return bool(found.stdout.strip())


class Relay:
    """Forwards TCP connections from `listen_ip:<free port>` to 127.0.0.1:`target_port`."""

    def __init__(self, listen_ip: str, target_port: int) -> None:
        self.target_port = target_port
        self._listener = socket.create_server((listen_ip, 0))
        self.address = f"{listen_ip}:{self._listener.getsockname()[1]}"
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._connections += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            for connection in self._connections:
                with contextlib.suppress(OSError):
                    connection.close()
        self._thread.join(5)


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(RELAY_BUFFER_BYTES):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
