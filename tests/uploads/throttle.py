"""A TCP proxy on loopback that paces what each connection sends upstream: a long, thin link
(a home uplink) in-process, for upload tests and `bench/upload.py`. One connection is held
to `rate_bps`; N connections get N times that, as on a link limited per TCP stream.
"""

from __future__ import annotations

import socket
import threading
import time

PUMP_BYTES = 64 * 1024
BURST_BYTES = 128 * 1024  # an idle connection saves up no more than this


class ThrottledProxy:
    """`with ThrottledProxy(port, 4 * MiB) as proxy: proxy.url` forwards to 127.0.0.1:port."""

    def __init__(self, target_port: int, rate_bps: float) -> None:
        self.target_port, self.rate_bps = target_port, rate_bps
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.closed = threading.Event()
        self.sockets: list[socket.socket] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def __enter__(self) -> ThrottledProxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.closed.set()
        for sock in [self.listener, *self.sockets]:
            try:
                sock.close()
            except OSError:
                pass

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _address = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self.sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, paced: bool) -> None:
        budget, refilled_at = float(BURST_BYTES), time.monotonic()  # a token bucket
        try:
            while data := source.recv(PUMP_BYTES):
                if paced:
                    now = time.monotonic()
                    budget = min(BURST_BYTES, budget + (now - refilled_at) * self.rate_bps)
                    refilled_at = now
                    if budget < len(data):
                        time.sleep((len(data) - budget) / self.rate_bps)
                    budget -= len(data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
