"""A request body sent slowly is answered 408 at the body deadline, not held without limit;
a tus PATCH (resumable by design) is not timed."""

from __future__ import annotations

import socket
import time

from tests.support.serving import lipforge_serve

from lipforge.api.bodydeadline import EXEMPT_PREFIXES

BODY_TIMEOUT_S = 2.0


def slow_login(port: int, seconds: float) -> tuple[bytes, float]:
    """POST /api/login announcing 100 bytes and sending one every second; the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{")  # fmt: skip
        started = time.monotonic()
        sock.settimeout(1.0)
        while time.monotonic() - started < seconds:
            try:
                sock.sendall(b" ")
                answer = sock.recv(4096)
                return answer, time.monotonic() - started
            except TimeoutError:
                continue
            except OSError:
                break
        return b"", time.monotonic() - started


def test_a_slow_login_body_is_answered_408_at_the_deadline(tmp_path):
    with lipforge_serve(tmp_path / "data", body_timeout_s=str(BODY_TIMEOUT_S)) as (port, _url):
        answer, waited_s = slow_login(port, 20.0)
    assert answer.startswith(b"HTTP/1.1 408"), (answer[:200], waited_s)
    assert b'"error": "body_timeout"' in answer and waited_s < BODY_TIMEOUT_S + 3
    assert EXEMPT_PREFIXES == ("/api/uploads",)
