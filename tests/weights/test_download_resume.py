"""A pull SIGKILLed half-way resumes from its control file and fetches little twice."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.weights.fileserver import Behaviour, FileServer

from lipforge.weights.store import control_path, part_path

MIB = 1024 * 1024
FILE_BYTES = 16 * MIB
KILL_AT_FRACTION = 0.5
MAX_REFETCHED_FRACTION = 0.08  # seen: 1-5 %; the control is saved every 0.1 s (4 MiB/s here)


def _pull(url: str, sha256: str, models_dir: Path) -> subprocess.Popen:
    command = [
        sys.executable, "-c", "from lipforge.cli import main; main()",
        "models", "pull", url, "--sha256", sha256, "--name", "killed",
        "--connections", "4", "--models-dir", str(models_dir),
    ]  # fmt: skip
    env = {**os.environ, "LIPFORGE_DATA": str(models_dir.parent), "COLUMNS": "200"}
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)


def test_sigkill_half_way_then_resume(tmp_path):
    payload = random.Random(9).randbytes(FILE_BYTES)
    sha256 = hashlib.sha256(payload).hexdigest()
    models_dir = tmp_path / "models"
    dest = models_dir / "killed" / "weights.bin"
    with FileServer(Behaviour(rate_bps_per_connection=1 * MIB)) as server:
        server.put("/weights.bin", payload)
        url = server.url("/weights.bin")
        first = _pull(url, sha256, models_dir)
        deadline = time.monotonic() + 30
        while server.stats.body_bytes < FILE_BYTES * KILL_AT_FRACTION:
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait()
        sent_before_kill = server.stats.body_bytes
        assert part_path(dest).exists() and control_path(dest).exists() and not dest.exists()

        second = _pull(url, sha256, models_dir)
        output = second.communicate(timeout=60)[0].decode()
        sent_after = server.stats.body_bytes - sent_before_kill

    assert second.returncode == 0, output
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == sha256
    assert "resumed from" in output and "verified" in output
    refetched = sent_before_kill + sent_after - FILE_BYTES - 1  # minus the 1-byte probe
    fraction = refetched / FILE_BYTES
    print(f"killed at {sent_before_kill / FILE_BYTES:.0%}; fetched again {refetched} bytes "
          f"= {fraction:.1%} of the file")  # fmt: skip
    assert fraction <= MAX_REFETCHED_FRACTION
    assert sent_after <= FILE_BYTES * (1 - KILL_AT_FRACTION + MAX_REFETCHED_FRACTION)


def test_ctrl_c_saves_progress_and_the_next_pull_resumes(tmp_path):
    payload = random.Random(10).randbytes(FILE_BYTES)
    sha256 = hashlib.sha256(payload).hexdigest()
    models_dir = tmp_path / "models"
    dest = models_dir / "killed" / "weights.bin"
    with FileServer(Behaviour(rate_bps_per_connection=1 * MIB)) as server:
        server.put("/weights.bin", payload)
        url = server.url("/weights.bin")
        first = _pull(url, sha256, models_dir)
        while server.stats.body_bytes < FILE_BYTES * 0.3:
            assert first.poll() is None
            time.sleep(0.02)
        first.send_signal(signal.SIGINT)
        assert first.wait(timeout=10) != 0
        second = _pull(url, sha256, models_dir)
        output = second.communicate(timeout=60)[0].decode()
    assert second.returncode == 0, output
    assert "resumed from" in output
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == sha256
