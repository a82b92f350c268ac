"""Benchmark: a 1 GiB tus upload over loopback against writing the same bytes to a file.

Starts `lipforge serve --no-worker` in a subprocess on a free port with a fresh data
dir, writes the source file, then measures (1) the baseline: copying the file in
8 MiB chunks to a new file with an fsync at the end, and (2) the upload with the
project's client with its defaults (`lipforge upload`: sha1 per chunk, chunks of 8 MiB
growing to 32, one part on loopback), from the first request until the
server has acknowledged the last byte (it fsyncs then); alternately, a few rounds,
keeping the best time of each (each round's baseline is printed too: on a VM disk a
write into blocks just freed can run at page-cache speed, 3-4x the steady rate, and the
best of the baselines then makes every ratio look worse). The bytes are random, so
the server refuses them as media after completion; that is outside the timing.
Then a long, thin link: every connection held to --link-mib-s (4 MiB/s) by an in-process
proxy (tests/uploads/throttle.py), a --link-size-mib WAV (valid media, so it becomes an
asset) sent by `lipforge upload`'s client in one part, then in 4 parts joined by
concatenation, each timed until the server holds the whole file; each asset's sha256 must
equal the file's. The last line is that ratio, parallel 4 over 1 (target >= 3.5).
Run: .venv/bin/python bench/upload.py [--size-mib 1024] [--rounds 3] [--link-size-mib 64]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import httpx

from lipforge.uploads.client import CHUNK_BYTES, TusUploader, UploadRefusedError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: tests.* helpers
from tests.support.serving import free_port  # noqa: E402
from tests.uploads.throttle import ThrottledProxy  # noqa: E402

MIB = 1024 * 1024
DEFAULT_SIZE_MIB = 1024
DEFAULT_ROUNDS = 3
DEFAULT_LINK_SIZE_MIB = 64
DEFAULT_LINK_MIB_S = 4.0
SERVER_START_TIMEOUT_S = 60.0


def write_source(path: Path, size_bytes: int) -> None:
    block = os.urandom(CHUNK_BYTES)
    with open(path, "wb") as handle:
        for start in range(0, size_bytes, CHUNK_BYTES):
            handle.write(block[: min(CHUNK_BYTES, size_bytes - start)])
            block = block[1:] + block[:1]


def copy_baseline_s(source: Path, target: Path) -> float:
    started = time.perf_counter()
    with open(source, "rb") as reader, open(target, "wb") as writer:
        while chunk := reader.read(CHUNK_BYTES):
            writer.write(chunk)
        writer.flush()
        os.fsync(writer.fileno())
    return time.perf_counter() - started


def start_server(data_dir: Path, port: int) -> subprocess.Popen:
    command = [
        sys.executable, "-c", "from lipforge.cli import main; main()", "serve",
        "--no-worker", "--port", str(port), "--data", str(data_dir),
    ]  # fmt: skip
    env = dict(os.environ, LIPFORGE_MIN_FREE_DISK_BYTES=str(256 * MIB))
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not start")


def upload_s(server: str, source: Path, state_dir: Path, parallel: int | None = None) -> float:
    size_bytes = source.stat().st_size
    marks: dict[str, float] = {}

    def progress(done_bytes: int, total_bytes: int) -> None:
        if done_bytes == total_bytes:
            marks["done"] = time.perf_counter()  # the last one: after the join of the parts

    uploader = TusUploader(server, None, state_dir=state_dir)
    started = time.perf_counter()
    try:
        uploader.upload(source, progress, parallel=parallel)
    except UploadRefusedError:
        pass
    finally:
        uploader.close()
    if "done" not in marks:
        raise RuntimeError(f"the upload of {size_bytes} bytes did not complete")
    return marks["done"] - started


def plain_upload_s(server: str, source: Path) -> float:
    """A minimal tus client: POST, then 8 MiB PATCHes without checksums, like most clients."""
    size_bytes = source.stat().st_size
    headers = {"Tus-Resumable": "1.0.0"}
    with httpx.Client(base_url=server, headers=headers, timeout=120) as client:
        started = time.perf_counter()
        created = client.post("/api/uploads/", headers={"Upload-Length": str(size_bytes)})
        url = created.headers["Location"]
        with open(source, "rb") as handle:
            offset = 0
            while chunk := handle.read(CHUNK_BYTES):
                answer = client.patch(
                    url,
                    content=chunk,
                    headers={
                        "Upload-Offset": str(offset),
                        "Content-Type": "application/offset+octet-stream",
                    },
                )
                if answer.status_code != 204:
                    raise RuntimeError(f"PATCH answered {answer.status_code}: {answer.text}")
                offset += len(chunk)
        return time.perf_counter() - started


def write_noise_wav(path: Path, size_bytes: int) -> None:
    """A valid WAV (48 kHz stereo, 16 bit) of random samples: media the server accepts."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(48_000)
        for start in range(0, size_bytes, CHUNK_BYTES):
            out.writeframes(os.urandom(min(CHUNK_BYTES, size_bytes - start) // 4 * 4))


def link_upload_s(server: str, source: Path, state_dir: Path, parallel: int) -> tuple[float, str]:
    """Seconds until the server holds the whole file (the final concatenation included), and
    the sha256 of the asset it became."""
    marks: dict[str, float] = {}

    def progress(done_bytes: int, total_bytes: int) -> None:
        if done_bytes == total_bytes:
            marks["done"] = time.perf_counter()  # the last such report comes after the join

    uploader = TusUploader(server, None, state_dir=state_dir)
    started = time.perf_counter()
    try:
        asset_id = uploader.upload(source, progress, parallel=parallel)
    finally:
        uploader.close()
    asset = httpx.get(f"{server}/api/assets/{asset_id}", timeout=30).json()
    return marks["done"] - started, asset["sha256"]


def throttled_ratio(root: Path, port: int, size_mib: int, link_mib_s: float) -> float:
    source = root / "talk.wav"
    write_noise_wav(source, size_mib * MIB)
    with open(source, "rb") as handle:
        expected = hashlib.file_digest(handle, "sha256").hexdigest()
    times_s = {}
    with ThrottledProxy(port, link_mib_s * MIB) as proxy:
        for parallel in (1, 4):
            seconds, sha256 = link_upload_s(proxy.url, source, root / f"link-{parallel}", parallel)
            if sha256 != expected:
                raise RuntimeError(f"parallel {parallel}: asset sha256 {sha256} != {expected}")
            times_s[parallel] = seconds
            print(
                f"{link_mib_s:g} MiB/s per connection, {size_mib} MiB, {parallel} part(s): "
                f"{seconds:6.1f} s ({size_mib / seconds:5.1f} MiB/s), asset sha256 equal"
            )
            httpx.delete(f"{proxy.url}/api/assets/{_asset_id(proxy.url, expected)}", timeout=30)
    return times_s[1] / times_s[4]


def _asset_id(server: str, sha256: str) -> str:
    page = httpx.get(f"{server}/api/assets", params={"sha256": sha256}, timeout=30).json()
    return page["items"][0]["id"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=DEFAULT_SIZE_MIB)
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS)
    parser.add_argument("--link-size-mib", type=int, default=DEFAULT_LINK_SIZE_MIB)
    parser.add_argument("--link-mib-s", type=float, default=DEFAULT_LINK_MIB_S)
    arguments = parser.parse_args()
    size_bytes, rounds = arguments.size_mib * MIB, arguments.rounds
    with tempfile.TemporaryDirectory(prefix="lipforge-bench-") as temp:
        root = Path(temp)
        source = root / "source.bin"
        write_source(source, size_bytes)
        port = free_port()
        server = start_server(root / "data", port)
        server_url = f"http://127.0.0.1:{port}"
        baseline_times_s, client_times_s, plain_times_s, parts_times_s = [], [], [], []
        try:
            for round_index in range(rounds):
                baseline_times_s.append(copy_baseline_s(source, root / "copy.bin"))
                (root / "copy.bin").unlink()
                plain_times_s.append(plain_upload_s(server_url, source))
                state_dir = root / f"client-{round_index}"
                client_times_s.append(upload_s(server_url, source, state_dir))
                parts_dir = root / f"parts-{round_index}"
                parts_times_s.append(upload_s(server_url, source, parts_dir, parallel=4))
            (root / "source.bin").unlink()
            link_ratio = throttled_ratio(root, port, arguments.link_size_mib, arguments.link_mib_s)
        finally:
            server.terminate()
            server.wait(30)
    mib = size_bytes / MIB
    baseline_mib_s = mib / min(baseline_times_s)
    client_mib_s = mib / min(client_times_s)
    plain_mib_s = mib / min(plain_times_s)
    print(f"{mib:.0f} MiB, {rounds} rounds, best of each (a shared machine only slows runs down)")
    each = ", ".join(f"{mib / seconds:.0f}" for seconds in baseline_times_s)
    print(f"file write + fsync baseline:       {baseline_mib_s:8.1f} MiB/s (rounds: {each})")
    print(f"lipforge upload client (defaults):   {client_mib_s:6.1f} MiB/s")
    print(f"plain tus client (no checksum):    {plain_mib_s:8.1f} MiB/s")
    parts_mib_s = mib / min(parts_times_s)
    print(f"lipforge upload client, 4 parts:   {parts_mib_s:8.1f} MiB/s")
    print(f"lipforge client/write throughput ratio: {client_mib_s / baseline_mib_s:.2f}")
    print(f"lipforge client 4 parts/write throughput ratio: {parts_mib_s / baseline_mib_s:.2f}")
    print(f"upload/write throughput ratio: {plain_mib_s / baseline_mib_s:.2f}")
    print(f"throttled link, parallel 4 / 1 time ratio: {link_ratio:.2f}")


if __name__ == "__main__":
    main()
