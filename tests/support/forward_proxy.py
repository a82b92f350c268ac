"""A tiny forward HTTP proxy (plain http:// only) for tests of clients that honour HTTP_PROXY.

`with ForwardProxy({"models.invalid": ("127.0.0.1", port)}) as proxy:` answers absolute-URI
requests (`GET http://host/path HTTP/1.1`, as a client sends them to a proxy) by opening the
named host (or the address `routes` gives for it, so tests can use names no DNS knows: a
request that reaches them proves it went through the proxy), sending the same method, headers
and body, and relaying the answer as it arrives, piece by piece, so a trickling server still
trickles through it. `proxy.requests` lists the (method, host, path) it relayed.
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

RELAY_BYTES = 4096
HOP_HEADERS = {"connection", "proxy-connection", "keep-alive", "transfer-encoding", "te"}


class ForwardProxy:
    def __init__(self, routes: dict[str, tuple[str, int]] | None = None) -> None:
        self.routes = routes or {}
        self.requests: list[tuple[str, str, str]] = []
        self.lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> ForwardProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def _make_handler(proxy: ForwardProxy):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _relay(self) -> None:
            target = urlsplit(self.path)
            if not target.scheme or not target.hostname:
                self.send_error(400, "a proxy needs an absolute URL")
                return
            with proxy.lock:
                proxy.requests.append((self.command, target.hostname, target.path))
            address = proxy.routes.get(target.hostname, (target.hostname, target.port or 80))
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
            upstream = http.client.HTTPConnection(*address, timeout=120)
            try:
                path = target.path + (f"?{target.query}" if target.query else "")
                upstream.request(self.command, path or "/", body=body, headers=headers)
                answer = upstream.getresponse()
                self._send_answer(answer)
            except OSError:
                self.close_connection = True
            finally:
                upstream.close()

        def _send_answer(self, answer: http.client.HTTPResponse) -> None:
            self.send_response(answer.status, answer.reason)
            known_length = answer.getheader("Content-Length") is not None
            for name, value in answer.getheaders():
                if name.lower() not in HOP_HEADERS:
                    self.send_header(name, value)
            if not known_length:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if self.command == "HEAD":
                return
            while piece := answer.read1(RELAY_BYTES):
                self.wfile.write(piece)
                self.wfile.flush()

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = _relay  # noqa: N815

    return Handler
