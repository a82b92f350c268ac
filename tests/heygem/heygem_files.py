"""A small HTTP file server for download tests, on a chosen loopback address (e.g. 127.0.0.2).

`/files/<name>` serves a file of the directory; `/redirect?to=<url>` answers 302 to `to`;
`/trickle` announces 100 kB and sends one byte every `TRICKLE_EVERY_S` (a slow-loris URL).
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

TRICKLE_EVERY_S = 0.5
TRICKLE_FOR_S = 120.0


class _Handler(SimpleHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        parts = urlsplit(self.path)
        if parts.path == "/trickle":
            self._trickle()
            return
        if parts.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", parse_qs(parts.query)["to"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.path = parts.path.removeprefix("/files")
        super().do_GET()

    def _trickle(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        ends = time.monotonic() + TRICKLE_FOR_S
        try:
            while time.monotonic() < ends:
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(TRICKLE_EVERY_S)
        except OSError:
            pass

    def log_message(self, *_args) -> None:
        pass


@contextmanager
def serve_files(directory: Path, host: str = "127.0.0.2"):
    """Yield the base URL of a server for `directory` on `host`; stopped on exit."""
    server = ThreadingHTTPServer((host, 0), partial(_Handler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
