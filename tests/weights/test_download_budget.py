"""A model download is held to an overall deadline, a minimum rate and a byte limit, also
through the proxy the environment names (a custom transport would turn httpx's proxies off)."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from tests.support.forward_proxy import ForwardProxy
from tests.weights.fileserver import FileServer

from conftest import FILE_PATH
from lipforge.transfer import TransferLimits
from lipforge.weights.download import DownloadRequest, download, download_limits
from lipforge.weights.errors import DownloadLimitError

KIB = 1024
MIB = 1024 * KIB
UNRESOLVABLE = "models.invalid"  # no DNS answers it: only the test's proxy knows where it is


@pytest.fixture
def env_proxy(server: FileServer, monkeypatch):
    """HTTP_PROXY names a local proxy that routes UNRESOLVABLE to the file server."""
    address = urlsplit(server.url(""))
    with ForwardProxy({UNRESOLVABLE: (address.hostname, address.port)}) as proxy:
        for name in ("NO_PROXY", "no_proxy", "http_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        yield proxy


def _request(dest: Path, limits: TransferLimits | None, **overrides) -> DownloadRequest:
    values = dict(
        url=f"http://{UNRESOLVABLE}{FILE_PATH}", dest=dest, connections=2, read_timeout_s=10.0,
        max_attempts=3, min_split_bytes=64 * KIB, max_request_bytes=256 * KIB, limits=limits,
    )  # fmt: skip
    values.update(overrides)
    return DownloadRequest(**values)


def _fails_within(request: DownloadRequest, seconds: float) -> DownloadLimitError:
    started = time.monotonic()
    with pytest.raises(DownloadLimitError) as caught:
        download(request)
    assert time.monotonic() - started < seconds
    assert caught.value.code == "transfer_limit" and caught.value.params["host"] == UNRESOLVABLE
    assert UNRESOLVABLE in str(caught.value)
    return caught.value


def test_a_trickle_through_the_proxy_ends_under_the_minimum_rate(server, env_proxy, tmp_path):
    server.behaviour.rate_bps_per_connection = 4 * KIB  # 16 KiB, then nothing for 4 s
    limits = TransferLimits(deadline_s=60.0, min_rate_bps=32 * KIB, window_s=1.0)
    error = _fails_within(_request(tmp_path / "model.onnx", limits), 8.0)
    assert error.params["reason"] == "too_slow" and error.params["min_rate_bps"] == 32 * KIB
    assert env_proxy.requests and {host for _m, host, _p in env_proxy.requests} == {UNRESOLVABLE}


def test_a_steady_download_through_the_proxy_ends_at_its_deadline(server, env_proxy, tmp_path):
    server.behaviour.rate_bps_per_connection = 128 * KIB  # above the minimum, 12 s in all
    limits = TransferLimits(deadline_s=2.0, min_rate_bps=8 * KIB, window_s=1.0)
    error = _fails_within(_request(tmp_path / "model.onnx", limits), 6.0)
    assert error.params["reason"] == "deadline" and error.params["deadline_s"] == 2.0
    assert "deadline of 2 s" in str(error)
    assert env_proxy.requests


def test_a_body_longer_than_the_limit_ends_the_download(server, env_proxy, tmp_path):
    server.behaviour.ignore_range = True  # one stream of the whole 3 MiB file
    limits = TransferLimits(deadline_s=60.0, min_rate_bps=1.0, window_s=1.0, max_bytes=MIB)
    error = _fails_within(_request(tmp_path / "model.onnx", limits, connections=1), 10.0)
    assert error.params["reason"] == "too_large" and error.params["max_bytes"] == MIB
    assert not (tmp_path / "model.onnx").exists()


def test_a_model_may_take_a_day_at_a_kib_per_second_per_connection() -> None:
    model = download_limits(DownloadRequest(url="http://x/m", dest=Path("m")))
    assert model.deadline_s == 24 * 3600 and model.min_rate_bps == KIB and model.max_bytes
    slow = download_limits(
        DownloadRequest(url="http://x/m", dest=Path("m"), connections=8, limit_rate_bps=8 * KIB)
    )
    assert slow.min_rate_bps == KIB / 4  # never above what --limit-rate lets a connection have
