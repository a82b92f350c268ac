"""A raw HTTP/1.1 server that sends its answer's status line and headers one byte at a time.

`with TrickleServer(head_byte_s=0.1) as server:` answers every request on a connection
(keep-alive: one connection may carry several) with `head` sent a byte every `head_byte_s`
seconds (all at once when 0), then `body` in pieces of `body_piece` bytes, one every
`body_piece_s` seconds. With `raw`, it reads nothing and sends `head` as soon as a client
connects (the start of a TLS handshake, say). Otherwise it reads any request: origin form,
the absolute form a client sends to a proxy, or CONNECT (so it can stand in for a proxy
that trickles). `server.requests` lists the request lines it got, `server.connections`
counts the connections it accepted.
A client that goes away ends that connection's answer.
"""

from __future__ import annotations

import socket
import threading
import time

PAD_HEADERS = 40  # headers of the default answer: 40 x 26 bytes, about 100 s at 0.1 s a byte


def default_head(body_bytes: int) -> bytes:
    pad = b"".join(b"X-Pad-%02d: slow-slow-slow\r\n" % n for n in range(PAD_HEADERS))
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n" % body_bytes + pad + b"\r\n"


class TrickleServer:
    def __init__(
        self,
        head_byte_s: float = 0.1,
        body: bytes = b"done",
        head: bytes | None = None,
        body_piece: int = 1024,
        body_piece_s: float = 0.0,
        host: str = "127.0.0.1",
        raw: bool = False,
    ) -> None:
        self.raw = raw
        self.head = default_head(len(body)) if head is None else head
        self.head_byte_s, self.body = head_byte_s, body
        self.body_piece, self.body_piece_s = body_piece, body_piece_s
        self.requests: list[str] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server((host, 0))
        self._closed = threading.Event()
        self.host, self.port = host, self._listener.getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> TrickleServer:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._closed.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _address = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            reader = conn.makefile("rb")
            try:
                if self.raw:
                    self._send_head(conn)
                    return
                while self._answer_one(conn, reader):
                    pass
            except OSError:
                pass  # the client went away

    def _answer_one(self, conn: socket.socket, reader) -> bool:
        line = reader.readline()
        if not line:
            return False
        length = 0
        while (header := reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = header.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        reader.read(length)
        with self._lock:
            self.requests.append(line.decode("latin-1").strip())
        self._send_head(conn)
        for start in range(0, len(self.body), self.body_piece):
            time.sleep(self.body_piece_s)
            conn.sendall(self.body[start : start + self.body_piece])
        return not line.startswith(b"CONNECT")

    def _send_head(self, conn: socket.socket) -> None:
        if not self.head_byte_s:
            conn.sendall(self.head)
            return
        for index in range(len(self.head)):
            if self._closed.is_set():
                raise OSError("stopped")
            conn.sendall(self.head[index : index + 1])
            time.sleep(self.head_byte_s)
