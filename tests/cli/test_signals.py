"""SIGTERM and SIGHUP stop a command the way Ctrl-C does: no `.partial.mp4` left, exit 130
(`run`), running jobs given back and a clean exit (`worker`). `upload` is covered in
tests/uploads/test_upload_parallel.py, `submit`'s downloads in cli/remote.py's follower.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

LIPFORGE = str(Path(sys.executable).parent / "lipforge")


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "LIPFORGE_DATA": str(tmp_path / "data"), "COLUMNS": "200"}


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGHUP])
def test_run_stopped_by_a_signal_leaves_no_partial_file(
    tmp_path, speech_en_wav, talking_head_720, stop_signal
):
    out = tmp_path / "out"
    process = subprocess.Popen(
        [LIPFORGE, "run", "--audio", speech_en_wav, "--video", talking_head_720, "--out", out],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(tmp_path),
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not (out.exists() and any(out.iterdir())) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any(".partial" in p.name for p in out.iterdir())
    process.send_signal(stop_signal)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stdout + stderr
    assert list(out.iterdir()) == []
    assert "interrupted" in stdout and "Traceback" not in stderr


def test_worker_stops_cleanly_on_sighup(tmp_path):
    process = subprocess.Popen(
        [LIPFORGE, "worker", "--data", str(tmp_path / "data")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(tmp_path),
    )  # fmt: skip
    try:
        assert "LipForge worker" in process.stdout.readline()
        time.sleep(2.0)  # past start-up: migrations done, the claim loop runs
        process.send_signal(signal.SIGHUP)
        _stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
