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


def test_the_heygem_listeners_time_bodies_too(tmp_path):
    import asyncio

    from fastapi.testclient import TestClient

    from lipforge.api.app import create_app
    from lipforge.api.routes_heygem_tts import router as tts_router
    from lipforge.api.companions import companion_app
    from lipforge.config import Settings

    main = create_app(Settings(data=tmp_path / "data", body_timeout_s=0.5))
    with TestClient(main):
        listener = companion_app(main, [tts_router], "test")
        sent = asyncio.run(stalled_post(listener, "/v1/invoke"))
    assert sent[0]["status"] == 408, sent


async def stalled_post(app, path: str) -> list[dict]:
    """One POST whose body stops after its first byte; what the app sent back."""
    import asyncio

    scope = {"type": "http", "method": "POST", "path": path, "raw_path": path.encode(),
             "query_string": b"", "headers": [(b"host", b"127.0.0.1"),
                                              (b"content-length", b"100")],
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80), "scheme": "http",
             "http_version": "1.1", "root_path": ""}  # fmt: skip
    messages = [{"type": "http.request", "body": b"{", "more_body": True}]
    sent: list[dict] = []

    async def receive() -> dict:
        if messages:
            return messages.pop()
        await asyncio.sleep(30)
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    await asyncio.wait_for(app(scope, receive, send), 10)
    return sent
