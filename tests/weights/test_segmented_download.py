"""The downloader against a real local HTTP server that misbehaves on purpose.

Each case ends with the right file (sha256) or a clear DownloadError, and never with a
wrong file reported as installed.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from pathlib import Path

import pytest
from tests.weights.fileserver import FileServer

from conftest import FILE_BYTES, FILE_PATH
from lipforge.errors import CancelledError, DiskFullError
from lipforge.weights.download import DownloadRequest, download
from lipforge.weights.errors import (
    ChecksumMismatchError,
    UnsupportedEncodingError,
)
from lipforge.weights.store import control_path, part_path

KIB = 1024


def _request(server: FileServer, dest: Path, sha256: str | None, **overrides) -> DownloadRequest:
    values = dict(
        url=server.url(FILE_PATH),
        dest=dest,
        sha256=sha256,
        connections=4,
        read_timeout_s=1.0,
        max_attempts=5,
        min_split_bytes=64 * KIB,
        max_request_bytes=256 * KIB,
    )
    values.update(overrides)
    return DownloadRequest(**values)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _ranged_requests(server: FileServer) -> list[dict[str, str]]:
    return [h for _p, h in server.stats.requests if h.get("Range", "") != "bytes=0-0"]


def test_parallel_ranges_give_the_right_file(server, payload_sha256, tmp_path):
    server.behaviour.rate_bps_per_connection = 4096 * KIB
    dest = tmp_path / "model.onnx"
    result = download(_request(server, dest, payload_sha256))
    assert _sha256(dest) == payload_sha256 and result.pinned
    ranged = _ranged_requests(server)
    assert len(ranged) >= 4
    assert all(h["Accept-Encoding"] == "identity" and h["If-Range"].startswith('"') for h in ranged)
    assert server.stats.body_bytes <= FILE_BYTES * 1.05
    assert not part_path(dest).exists() and not control_path(dest).exists()


def test_server_ignoring_range_is_fetched_as_one_stream(server, payload_sha256, tmp_path):
    server.behaviour.ignore_range = True
    dest = tmp_path / "model.onnx"
    result = download(_request(server, dest, payload_sha256))
    assert _sha256(dest) == payload_sha256
    assert any("one stream" in note for note in result.notes)


def test_a_200_to_a_range_request_is_never_appended(server, payload_sha256, tmp_path):
    server.behaviour.ignore_long_ranges = True
    dest = tmp_path / "model.onnx"
    result = download(_request(server, dest, payload_sha256))
    assert _sha256(dest) == payload_sha256
    assert any("ignored the Range header" in note for note in result.notes)


def test_a_range_that_starts_earlier_than_asked_is_used(server, payload_sha256, tmp_path):
    server.behaviour.start_earlier_bytes = 4096  # honest: the Content-Range says so (RFC 9110)
    dest = tmp_path / "model.onnx"
    result = download(_request(server, dest, payload_sha256, max_attempts=2))
    assert _sha256(dest) == payload_sha256
    assert not any("one stream" in note for note in result.notes), result.notes
    assert len(_ranged_requests(server)) >= 4


@pytest.mark.parametrize("label", ["wrong_content_range", "wrong_total"])
def test_inconsistent_content_range_falls_back_to_one_stream(
    server, payload_sha256, tmp_path, label
):
    setattr(server.behaviour, label, True)  # a span missing the asked start, or another total
    dest = tmp_path / "model.onnx"
    result = download(_request(server, dest, payload_sha256, max_attempts=2))
    assert _sha256(dest) == payload_sha256
    assert any("Content-Range" in note and "one stream" in note for note in result.notes)


def test_connections_reset_mid_range_are_retried(server, payload_sha256, tmp_path):
    server.behaviour.reset_after_bytes = 100 * KIB
    server.behaviour.reset_times = 6
    dest = tmp_path / "model.onnx"
    download(_request(server, dest, payload_sha256))
    assert _sha256(dest) == payload_sha256
    assert server.behaviour.reset_times == 0


def test_a_stalled_connection_times_out_and_resumes(server, payload_sha256, tmp_path):
    server.behaviour.stall_after_bytes = 64 * KIB
    server.behaviour.stall_times = 2
    server.behaviour.stall_s = 4.0
    dest = tmp_path / "model.onnx"
    started = time.monotonic()
    download(_request(server, dest, payload_sha256, read_timeout_s=0.5))
    assert _sha256(dest) == payload_sha256
    assert time.monotonic() - started < 4.0


def test_idle_connections_take_over_a_slow_connection(server, payload_sha256, tmp_path):
    server.behaviour.rate_bps_per_connection = 2 * 1024 * KIB
    server.behaviour.slow_times = 1
    server.behaviour.slow_rate_bps = 16 * KIB  # alone, its quarter would take ~50 s
    dest = tmp_path / "model.onnx"
    started = time.monotonic()
    download(_request(server, dest, payload_sha256))
    assert _sha256(dest) == payload_sha256
    assert time.monotonic() - started < 8.0


def test_file_changed_between_runs_starts_over_cleanly(server, payload, tmp_path):
    server.behaviour.rate_bps_per_connection = 1024 * KIB
    dest = tmp_path / "model.onnx"
    with pytest.raises(CancelledError):
        download(
            _request(server, dest, hashlib.sha256(payload).hexdigest()),
            should_cancel=lambda: server.stats.body_bytes > FILE_BYTES // 3,
        )
    assert control_path(dest).exists()
    new_payload = random.Random(6).randbytes(FILE_BYTES)
    server.put(FILE_PATH, new_payload)
    server.behaviour.rate_bps_per_connection = None
    new_sha256 = hashlib.sha256(new_payload).hexdigest()
    result = download(_request(server, dest, new_sha256))
    assert _sha256(dest) == new_sha256 and result.resumed_bytes == 0


def test_file_changing_during_the_run_is_not_mixed(server, payload, tmp_path):
    new_payload = random.Random(7).randbytes(FILE_BYTES)
    server.behaviour.rate_bps_per_connection = 1024 * KIB
    server.behaviour.change_after_bytes = FILE_BYTES // 3
    server.behaviour.changed = (FILE_PATH, new_payload)
    dest = tmp_path / "model.onnx"
    result = download(_request(server, dest, None))
    assert dest.read_bytes() == new_payload  # whole new version, no old bytes mixed in
    assert any("changed" in note for note in result.notes)


def test_weak_etag_is_never_sent_as_if_range(server, payload_sha256, tmp_path):
    server.behaviour.weak_etag = True
    dest = tmp_path / "model.onnx"
    download(_request(server, dest, payload_sha256))
    ranged = _ranged_requests(server)
    assert ranged and all(not h["If-Range"].startswith("W/") for h in ranged)
    assert all(h["If-Range"] == "Wed, 21 Oct 2026 07:28:00 GMT" for h in ranged)


def test_gzip_everywhere_is_decoded_from_one_stream(server, payload_sha256, tmp_path):
    server.behaviour.gzip_all = True
    dest = tmp_path / "model.onnx"
    download(_request(server, dest, payload_sha256))
    assert _sha256(dest) == payload_sha256


def test_gzip_on_a_byte_range_is_refused(server, payload_sha256, tmp_path):
    server.behaviour.gzip_ranges = True
    dest = tmp_path / "model.onnx"
    with pytest.raises(UnsupportedEncodingError, match="Content-Encoding gzip"):
        download(_request(server, dest, payload_sha256))
    assert not dest.exists()


def test_expired_signed_redirect_is_resolved_again(server, payload_sha256, tmp_path):
    server.behaviour.signed_ttl_s = 0.3
    server.behaviour.rate_bps_per_connection = 1024 * KIB
    dest = tmp_path / "model.onnx"
    download(_request(server, dest, payload_sha256))
    assert _sha256(dest) == payload_sha256
    assert 403 in server.stats.statuses
    redirects = [p for p, _h in server.stats.requests if not p.startswith("/signed/")]
    assert len(redirects) >= 2


def test_checksum_mismatch_deletes_the_file_and_says_so(server, tmp_path):
    dest = tmp_path / "model.onnx"
    wrong = "0" * 64
    with pytest.raises(ChecksumMismatchError, match="was deleted") as caught:
        download(_request(server, dest, wrong))
    assert wrong in str(caught.value)
    assert not dest.exists() and not part_path(dest).exists()


def test_total_rate_limit_holds_across_connections(server, payload_sha256, tmp_path):
    dest = tmp_path / "model.onnx"
    started = time.monotonic()
    download(_request(server, dest, payload_sha256, limit_rate_bps=1024 * KIB, connections=8))
    elapsed_s = time.monotonic() - started
    assert elapsed_s >= 2.5  # 3 MiB at 1 MiB/s, minus a 256 KiB burst
    assert _sha256(dest) == payload_sha256


def test_two_pulls_of_one_file_at_once(server, payload_sha256, tmp_path):
    server.behaviour.rate_bps_per_connection = 2048 * KIB
    dest = tmp_path / "model.onnx"
    results, errors = [], []

    def pull() -> None:
        try:
            results.append(download(_request(server, dest, payload_sha256)))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=pull) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and _sha256(dest) == payload_sha256
    assert sorted(r.already_installed for r in results) == [False, True]


def test_a_failing_primary_falls_back_to_a_mirror(server, payload, payload_sha256, tmp_path):
    server.behaviour.reset_after_bytes = 32 * KIB
    server.behaviour.reset_times = 10_000
    with FileServer() as mirror:
        mirror.put("/mirror/model.onnx", payload, etag='"other"')
        dest = tmp_path / "model.onnx"
        mirror_url = mirror.url("/mirror/model.onnx")
        download(_request(server, dest, payload_sha256, mirrors=(mirror_url,)))
        assert _sha256(dest) == payload_sha256
        assert mirror.stats.body_bytes > FILE_BYTES // 2


def test_a_dead_primary_url_uses_the_mirror(server, payload_sha256, tmp_path):
    dest = tmp_path / "model.onnx"
    request = _request(server, dest, payload_sha256, mirrors=(server.url(FILE_PATH),))
    request = DownloadRequest(**{**request.__dict__, "url": server.url("/gone.onnx")})
    download(request)
    assert _sha256(dest) == payload_sha256


def test_downloads_go_through_the_proxy(server, payload_sha256, tmp_path):
    dest = tmp_path / "model.onnx"
    request = _request(server, dest, payload_sha256, proxy=server.url(""))
    request = DownloadRequest(**{**request.__dict__, "url": "http://models.invalid" + FILE_PATH})
    download(request)
    assert _sha256(dest) == payload_sha256 and server.stats.proxied >= 2


def test_free_disk_is_checked_before_fetching(server, payload_sha256, tmp_path):
    dest = tmp_path / "model.onnx"
    with pytest.raises(DiskFullError):
        download(_request(server, dest, payload_sha256, min_free_bytes=1 << 60))
    assert server.stats.body_bytes <= 1


def test_a_mirror_that_answers_404_is_skipped(server, payload_sha256, tmp_path):
    server.behaviour.reset_after_bytes = 32 * KIB
    server.behaviour.reset_times = 3
    dest = tmp_path / "model.onnx"
    result = download(_request(server, dest, payload_sha256, mirrors=(server.url("/nope"),)))
    assert _sha256(dest) == payload_sha256
    assert any("skipped" in note for note in result.notes)


def test_proxy_from_the_environment_is_honoured(server, payload_sha256, tmp_path, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", server.url(""))
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    dest = tmp_path / "model.onnx"
    request = _request(server, dest, payload_sha256)
    request = DownloadRequest(**{**request.__dict__, "url": "http://models.invalid" + FILE_PATH})
    download(request)
    assert _sha256(dest) == payload_sha256 and server.stats.proxied >= 2
