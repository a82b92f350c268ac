"""The overall deadline holds while an answer's status line and headers trickle in (httpcore
times each read, so a byte every 0.1 s never times out): for a BudgetClient directly, through
a proxy from the environment (its answer trickled, or its answer to CONNECT), in a TLS
handshake, and for the BudgetTransport and guarded-transport users (a voice's TTS request, a
HeyGem URL fetch). An honest slow answer is not cut, and a pooled connection outlives the
request that opened it."""

from __future__ import annotations

import time

import httpcore
import httpx
import pytest

from lipforge import sockwatch
from lipforge.heygem.errors import FetchFailedError
from lipforge.heygem.fetcher import fetch_limits, fetch_url
from lipforge.heygem.netguard import AddressPolicy, parse_networks
from lipforge.speech.engines import EngineContext, create_speech_engine
from lipforge.speech.errors import SpeechServerError
from lipforge.speech.voices import Voice
from lipforge.transfer import BudgetClient, TransferLimitError, TransferLimits
from tests.support.trickle_server import TrickleServer

DEADLINE_S = 1.5
MARGIN_S = 1.0  # a loaded two-core machine
LIMITS = TransferLimits(deadline_s=DEADLINE_S, min_rate_bps=1.0, window_s=1.0)
UNRESOLVABLE = "models.invalid"  # no DNS answers it: only a proxy can take a request there


@pytest.fixture
def no_proxy_env(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


def _ends_at_the_deadline(client: httpx.Client, url: str) -> TransferLimitError:
    armed_before, started = sockwatch.armed_count(), time.monotonic()
    with client, pytest.raises(TransferLimitError) as caught:
        client.get(url)
    assert time.monotonic() - started < DEADLINE_S + MARGIN_S
    assert caught.value.params["reason"] == "deadline"
    assert caught.value.params["deadline_s"] == DEADLINE_S
    assert sockwatch.armed_count() <= armed_before  # its watch disarmed (others may end)
    return caught.value


def test_headers_sent_a_byte_at_a_time_end_at_the_deadline(no_proxy_env):
    with TrickleServer() as server:
        error = _ends_at_the_deadline(BudgetClient(LIMITS, timeout=30.0), f"{server.url}/model")
    assert error.params["host"] == "127.0.0.1"


def test_a_proxy_that_trickles_its_answer_ends_at_the_deadline(no_proxy_env):
    with TrickleServer() as proxy:
        no_proxy_env.setenv("HTTP_PROXY", proxy.url)
        client = BudgetClient(LIMITS, timeout=30.0)
        error = _ends_at_the_deadline(client, f"http://{UNRESOLVABLE}/model")
    assert error.params["host"] == UNRESOLVABLE
    assert proxy.requests == [f"GET http://{UNRESOLVABLE}/model HTTP/1.1"]


def test_a_proxy_that_trickles_its_answer_to_connect_ends_at_the_deadline(no_proxy_env):
    head = b"HTTP/1.1 200 Connection established\r\n" + b"X-Pad: slow\r\n" * 80 + b"\r\n"
    with TrickleServer(head=head, body=b"") as proxy:
        no_proxy_env.setenv("HTTPS_PROXY", proxy.url)
        client = BudgetClient(LIMITS, timeout=30.0)
        error = _ends_at_the_deadline(client, f"https://{UNRESOLVABLE}/model")
    assert error.params["host"] == UNRESOLVABLE
    assert proxy.requests == [f"CONNECT {UNRESOLVABLE}:443 HTTP/1.1"]  # through it, once


def test_a_tls_handshake_sent_a_byte_at_a_time_ends_at_the_deadline(no_proxy_env):
    server_hello = b"\x16\x03\x03\x40\x00" + b"\x02" * 1000  # a 16 KiB record, slowly
    with TrickleServer(head=server_hello, raw=True) as server:
        client = BudgetClient(LIMITS, timeout=30.0)
        error = _ends_at_the_deadline(client, f"https://127.0.0.1:{server.port}/model")
    assert error.params["host"] == "127.0.0.1" and server.connections == 1


def test_a_voice_whose_server_trickles_its_headers_fails_within_its_timeout(no_proxy_env):
    context = EngineContext(None, timeout_s=DEADLINE_S, attempts=1, backoff_s=0.05)
    with TrickleServer() as server:
        engine = create_speech_engine(Voice("fish", "fish-speech", url=server.url), context)
        started = time.monotonic()
        with pytest.raises(SpeechServerError, match="deadline of 1.5 s") as caught:
            engine.synthesize("Plants make food from light.", "en")
    assert time.monotonic() - started < DEADLINE_S + MARGIN_S
    assert "fish-speech at http://127.0.0.1" in str(caught.value)
    assert server.requests and server.requests[0].startswith("POST ")


def test_a_heygem_url_that_trickles_its_headers_ends_at_the_deadline(no_proxy_env, tmp_path):
    policy = AddressPolicy(parse_networks(["127.0.0.2/32"], "test"))
    with TrickleServer(host="127.0.0.2") as server:
        started = time.monotonic()
        with pytest.raises(FetchFailedError, match="deadline of 1.5 s"):
            fetch_url(
                f"{server.url}/face.mp4", tmp_path / "got", policy, 10**6,
                fetch_limits(DEADLINE_S, min_rate_bps=1000),
            )  # fmt: skip
    assert time.monotonic() - started < DEADLINE_S + MARGIN_S
    assert not (tmp_path / "got").exists()


def test_an_honest_slow_answer_within_the_deadline_is_not_cut(no_proxy_env):
    body = bytes(range(256)) * 40  # 10 KiB in 10 pieces over about 1 s
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body)  # about 0.6 s
    limits = TransferLimits(deadline_s=3.0, min_rate_bps=1024, window_s=1.0)
    server = TrickleServer(0.015, body, head, body_piece=1024, body_piece_s=0.1)
    with server, BudgetClient(limits, timeout=30.0) as client:
        armed_before, started = sockwatch.armed_count(), time.monotonic()
        answer = client.get(f"{server.url}/model")
        assert answer.content == body
    assert 1.2 < time.monotonic() - started < 3.0
    assert sockwatch.armed_count() <= armed_before


def test_a_pooled_connection_outlives_the_deadline_of_the_request_that_opened_it(no_proxy_env):
    limits = TransferLimits(deadline_s=1.0, min_rate_bps=1.0, window_s=1.0)
    with TrickleServer(head_byte_s=0) as server:
        with BudgetClient(limits, each_request=True, timeout=30.0) as client:
            assert client.get(f"{server.url}/a").text == "done"
            time.sleep(1.5)  # past the first request's deadline
            assert client.get(f"{server.url}/b").text == "done"
    assert server.connections == 1  # the second request reused the first one's socket


def test_httpx_still_keeps_what_the_watchdog_relies_on(no_proxy_env):
    """sockwatch reaches sockets through httpx's HTTPTransport._pool and httpcore's
    ConnectionPool._network_backend, and BudgetClient wraps httpx.Client's _transport and
    _mounts: if httpx or httpcore renames them, this says so before the deadlines go."""
    no_proxy_env.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    client = BudgetClient(LIMITS)
    transports = [client._transport, *client._mounts.values()]
    assert len(transports) == 2
    for transport in transports:
        backend = transport.inner._pool._network_backend
        assert type(backend).__name__ == "_WatchedBackend"
    assert isinstance(httpx.HTTPTransport()._pool, httpcore.ConnectionPool)
