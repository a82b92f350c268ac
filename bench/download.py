"""Segmented download vs one stream on a long fat link, and the cost of a kill at 50 %.

A local server throttles each connection (as a long, fat link does: each TCP stream is
slow, the link is not). In one run it measures a 512 MiB pull with 8 connections
against the same pull with one connection, then SIGKILLs an 8-connection pull at 50 %
and resumes it, counting the bytes the server had to send twice. Each download runs in
a child process (as `lipforge models pull` does); times are measured inside it and
include the sha256 check. Targets: >= 7x, <= 5 % fetched again. The last line is the
result.

    .venv/bin/python bench/download.py [--size-mib 512] [--rate-mib 6]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: tests.* helpers

from tests.weights import fileserver  # noqa: E402
from tests.weights.fileserver import Behaviour, FileServer  # noqa: E402

MIB = 1024 * 1024
KILL_AT_FRACTION = 0.5


def child(url: str, dest: str, sha256: str, connections: int) -> None:
    from lipforge.weights.download import DownloadRequest, download

    started = time.monotonic()
    result = download(DownloadRequest(url, Path(dest), sha256, connections=connections))
    elapsed_s = time.monotonic() - started
    print(json.dumps({"elapsed_s": elapsed_s, "resumed_bytes": result.resumed_bytes}))


def spawn(url: str, dest: Path, sha256: str, connections: int) -> subprocess.Popen:
    command = [sys.executable, __file__, "--child", url, str(dest), sha256, str(connections)]
    return subprocess.Popen(command, stdout=subprocess.PIPE)


def timed_pull(url: str, dest: Path, sha256: str, connections: int) -> dict:
    process = spawn(url, dest, sha256, connections)
    out, _ = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"pull with {connections} connection(s) failed")
    dest.unlink()
    return json.loads(out)


def killed_and_resumed(server: FileServer, url: str, dest: Path, sha256: str, size: int):
    start_bytes = server.stats.body_bytes
    process = spawn(url, dest, sha256, 8)
    while server.stats.body_bytes - start_bytes < size * KILL_AT_FRACTION:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    resumed = timed_pull(url, dest, sha256, 8)
    sent = server.stats.body_bytes - start_bytes
    return resumed, sent - size - 2  # minus the two 1-byte probes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--rate-mib", type=float, default=6.0, help="per connection, MiB/s")
    args = parser.parse_args()
    size = args.size_mib * MIB
    payload = os.urandom(size)
    sha256 = hashlib.sha256(payload).hexdigest()
    fileserver.SEND_CHUNK_BYTES = 64 * 1024
    behaviour = Behaviour(rate_bps_per_connection=args.rate_mib * MIB, first_byte_delay_s=0.04)
    with FileServer(behaviour) as server, tempfile.TemporaryDirectory() as temp:
        server.put("/big.bin", payload)
        url, dest = server.url("/big.bin"), Path(temp) / "big.bin"
        one = timed_pull(url, dest, sha256, 1)
        print(f"1 connection : {one['elapsed_s']:.1f} s")
        eight = timed_pull(url, dest, sha256, 8)
        print(f"8 connections: {eight['elapsed_s']:.1f} s")
        resumed, refetched = killed_and_resumed(server, url, dest, sha256, size)
    fraction = refetched / size
    print(f"killed at 50 %: resumed from {resumed['resumed_bytes'] / MIB:.1f} MiB, "
          f"fetched again {refetched / MIB:.2f} MiB")  # fmt: skip
    speedup = one["elapsed_s"] / eight["elapsed_s"]
    print(f"{args.size_mib} MiB at {args.rate_mib} MiB/s per connection: "
          f"8 connections vs 1 = {speedup:.2f}x (target >= 7x); "
          f"re-fetched after a kill at 50 % = {fraction:.2%} (target <= 5 %)")  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        main()
