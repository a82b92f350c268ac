"""The project's tus client and `lipforge upload`: chunks with sha1, retries, resume, asset ids."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import httpx
import pytest

from lipforge.errors import AuthError
from lipforge.uploads.client import (
    BACKOFF_FIRST_S,
    MAX_ATTEMPTS_WITHOUT_PROGRESS,
    TusUploader,
    UploadFailedError,
    UploadRefusedError,
    fingerprint,
    next_chunk_bytes,
)

from .helpers import asset_sha256, sha256_of
from .server_process import ServerProcess

CHUNK_BYTES = 32 * 1024
MIB = 1024 * 1024


class KilledClient(BaseException):
    """Stands for the process dying: nothing in the client catches it."""


class RecordingTransport(httpx.HTTPTransport):
    """A real transport that records requests and can fail chosen PATCHes."""

    def __init__(self, fail_patch=None) -> None:
        super().__init__()
        self.requests: list[httpx.Request] = []
        self.patches = 0
        self.fail_patch = fail_patch or (lambda number: None)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.method == "PATCH":
            self.patches += 1
            failure = self.fail_patch(self.patches)
            if isinstance(failure, BaseException):
                raise failure
            if failure is not None:
                return httpx.Response(failure)
        return super().handle_request(request)

    def patch_offsets(self) -> list[int]:
        return [int(r.headers["Upload-Offset"]) for r in self.requests if r.method == "PATCH"]


def uploader(server, tmp_path, transport=None, delays=None) -> TusUploader:
    return TusUploader(
        server.url,
        chunk_bytes=CHUNK_BYTES,
        state_dir=tmp_path / "state",
        transport=transport,
        sleep=(delays.append if delays is not None else lambda _s: None),
    )


def test_upload_sends_sha1_per_chunk_and_returns_the_asset_id(
    live_server, tmp_path, talking_head_512
):
    transport = RecordingTransport()
    progress: list[tuple[int, int]] = []
    client = uploader(live_server, tmp_path, transport)
    asset_id = client.upload(talking_head_512, lambda done, total: progress.append((done, total)))
    size = talking_head_512.stat().st_size
    patches = [r for r in transport.requests if r.method == "PATCH"]
    assert len(patches) == -(-size // CHUNK_BYTES)
    for request in patches:
        algorithm, _digest = request.headers["Upload-Checksum"].split(" ")
        assert algorithm == "sha1"
    assert progress[-1] == (size, size)
    with httpx.Client(base_url=live_server.url) as http:
        assert asset_sha256(http, asset_id) == sha256_of(talking_head_512)


def test_a_killed_run_is_resumed_by_the_next(live_server, tmp_path, speech_en_wav):
    killer = RecordingTransport(lambda number: KilledClient() if number == 3 else None)
    with pytest.raises(KilledClient):
        uploader(live_server, tmp_path, killer).upload(speech_en_wav)
    resumed = RecordingTransport()
    asset_id = uploader(live_server, tmp_path, resumed).upload(speech_en_wav)
    assert resumed.patch_offsets()[0] == 2 * CHUNK_BYTES
    assert not any(r.method == "POST" for r in resumed.requests)
    with httpx.Client(base_url=live_server.url) as http:
        assert asset_sha256(http, asset_id) == sha256_of(speech_en_wav)
    assert (tmp_path / "state" / "upload-urls.json").read_text().strip() == "{}"


def test_network_errors_and_5xx_are_retried_with_growing_jittered_backoff(
    live_server, tmp_path, talking_head_512
):
    def flaky(number: int):
        if number in (2, 3):
            return httpx.ConnectError("connection reset")
        if number == 4:
            return 503
        return None

    delays: list[float] = []
    asset_id = uploader(live_server, tmp_path, RecordingTransport(flaky), delays).upload(
        talking_head_512
    )
    assert asset_id
    backoffs = [d for d in delays if d != 0.5]
    assert len(backoffs) >= 3
    assert BACKOFF_FIRST_S * 0.5 <= backoffs[0] <= BACKOFF_FIRST_S * 1.5
    assert backoffs[1] >= BACKOFF_FIRST_S * 2 * 0.5


def test_gives_up_when_the_server_keeps_failing(tmp_path):
    def always_503(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503)

    source = tmp_path / "a.wav"
    source.write_bytes(b"x" * 100)
    delays: list[float] = []
    client = TusUploader(
        "http://lipforge.invalid", state_dir=tmp_path / "s",
        transport=httpx.MockTransport(always_503), sleep=delays.append,
    )  # fmt: skip
    with pytest.raises(UploadFailedError, match="Run the same command again"):
        client.upload(source)
    assert len(delays) == MAX_ATTEMPTS_WITHOUT_PROGRESS
    assert delays[-1] > delays[0]


def test_refused_media_raises_with_the_reason(live_server, tmp_path, broken_garbage):
    with pytest.raises(UploadRefusedError, match="audio or video"):
        uploader(live_server, tmp_path).upload(broken_garbage)


def test_fingerprint_changes_with_content_and_mtime(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(os.urandom(3 * 1024 * 1024))
    first = fingerprint(path)
    assert fingerprint(path) == first
    with open(path, "r+b") as handle:
        handle.seek(-1, os.SEEK_END)
        handle.write(b"\0")
    os.utime(path, ns=(0, 0))
    assert fingerprint(path) != first


def test_cli_prints_asset_ids_and_fails_on_a_refused_file(
    live_server, tmp_path, talking_head_512, broken_garbage
):
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "xdg"), COLUMNS="200")
    command = [sys.executable, "-c", "from lipforge.cli import main; main()", "upload"]
    ok = subprocess.run(
        [*command, "--server", live_server.url, str(talking_head_512)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert "asset" in ok.stdout
    asset_id = ok.stdout.split("asset")[-1].split()[0]
    with httpx.Client(base_url=live_server.url) as http:
        assert hashlib.sha256(http.get(f"/api/assets/{asset_id}/content").content).hexdigest() == (
            sha256_of(talking_head_512)
        )
    mixed = subprocess.run(
        [*command, "--server", live_server.url, str(broken_garbage), str(talking_head_512)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert mixed.returncode == 1
    assert "refused" in mixed.stdout and asset_id in mixed.stdout


def test_a_token_protected_server_needs_the_token(tmp_path, talking_head_512):
    token = "a-long-enough-test-token-1234"
    server = ServerProcess(tmp_path / "data", min_free_disk_bytes="0", token=token).start()
    try:
        refused = TusUploader(server.url, state_dir=tmp_path / "s1")
        with pytest.raises(AuthError, match="--token"):
            refused.upload(talking_head_512)
        accepted = TusUploader(server.url, token=token, state_dir=tmp_path / "s2")
        assert accepted.upload(talking_head_512)
        preflight = httpx.options(
            server.url + "/api/uploads/",
            headers={"Origin": "https://x.example", "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status_code == 204
    finally:
        server.stop()


def test_chunks_grow_on_a_fast_link_and_shrink_after_a_failure(live_server, tmp_path):
    """8 MiB first; loopback is fast, so later chunks carry about a second's worth (at most
    32 MiB, so a dropped connection costs little); after a failed PATCH, 8 MiB again."""
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(120 * MIB))
    transport = RecordingTransport(lambda number: 503 if number == 4 else None)
    client = TusUploader(
        live_server.url, state_dir=tmp_path / "state", transport=transport, sleep=lambda _s: None
    )
    with pytest.raises(UploadRefusedError):  # random bytes are not media; all of them arrived
        client.upload(path)
    sizes = [
        int(request.headers["Content-Length"])
        for request in transport.requests
        if request.method == "PATCH"
    ]
    assert sizes[0] == 8 * MIB
    assert max(sizes[:3]) > 8 * MIB and max(sizes) <= 32 * MIB, sizes
    assert sizes[4] == 8 * MIB, sizes  # the retry of the failed 4th PATCH
    assert sum(sizes) - sizes[3] == path.stat().st_size


@pytest.mark.parametrize(
    ("sent_mib", "seconds", "next_mib"),
    [(8, 2.0, 8), (8, 1.0, 8), (8, 0.5, 16), (16, 0.5, 32), (8, 0.01, 32)],
)
def test_the_next_chunk_takes_about_a_second_at_the_rate_just_seen(sent_mib, seconds, next_mib):
    assert next_chunk_bytes(sent_mib * MIB, seconds) == next_mib * MIB
