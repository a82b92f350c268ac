"""`lipforge run`, `probe` and `doctor` as a user runs them: real processes, real files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.support import media_factory as factory

LIPFORGE = str(Path(sys.executable).parent / "lipforge")


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "LIPFORGE_DATA": str(tmp_path / "data"), "COLUMNS": "250"}


def _lipforge(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [LIPFORGE, *map(str, args)], capture_output=True, text=True, env=_env(tmp_path), timeout=300
    )


@pytest.fixture(scope="module")
def short_speech(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("speech") / "short.wav"
    return factory.make_speech(path, factory.TEXT_SHORT, "en-us")


def test_one_bad_item_does_not_stop_the_others(
    tmp_path, short_speech, talking_head_512, broken_garbage, talking_head_rotated
):
    out = tmp_path / "out"
    done = _lipforge(
        tmp_path, "run", "--audio", short_speech, "--video", talking_head_512, broken_garbage,
        talking_head_rotated, "--out", out,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["head_512.mp4", "head_rot90.mp4"]
    lines = done.stdout.splitlines()
    garbage_row = next(line for line in lines if "garbage.mp4" in line and "failed" in line)
    assert "not an audio or video file" in garbage_row
    assert sum("done" in line for line in lines if "head_" in line) == 2
    assert "2 done, 1 failed" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_all_good_exits_zero(tmp_path, short_speech, talking_head_512):
    done = _lipforge(
        tmp_path, "run", "--audio", short_speech, "--video", talking_head_512, "--out",
        tmp_path / "out", "--fit", "loop",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "out" / "head_512.mp4").stat().st_size > 10_000
    assert "1 done, 0 failed" in done.stdout
    # MediaPipe's native log lines go to the data dir's logs, not into the user's terminal
    assert "XNNPACK" not in done.stderr and "W0000" not in done.stderr, done.stderr
    assert "XNNPACK" in (tmp_path / "data" / "logs" / "native.log").read_text()
    assert f"(logs in the data dir {(tmp_path / 'data').resolve()})" in done.stderr


def test_bad_audio_stops_before_any_item(tmp_path, video_only, talking_head_512):
    done = _lipforge(
        tmp_path, "run", "--audio", video_only, "--video", talking_head_512, "--out", tmp_path / "o"
    )
    assert done.returncode == 3
    assert "Error:" in done.stderr and "has no audio track" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "o").exists()


def test_unknown_fit_mode(tmp_path, short_speech, talking_head_512):
    done = _lipforge(
        tmp_path, "run", "--audio", short_speech, "--video", talking_head_512, "--out", tmp_path,
        "--fit", "bounce",
    )  # fmt: skip
    assert done.returncode == 2
    assert "bounce" in done.stderr


def test_ctrl_c_leaves_no_half_file(tmp_path, speech_en_wav, talking_head_720):
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [LIPFORGE, "run", "--audio", speech_en_wav, "--video", talking_head_720, "--out", out],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(tmp_path),
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not (out.exists() and any(out.iterdir())) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert out.exists() and any(".partial" in p.name for p in out.iterdir())
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stdout + stderr
    assert list(out.iterdir()) == []
    assert "interrupted" in stdout


def test_probe_shows_streams_rotation_and_faces(tmp_path, talking_head_rotated):
    done = _lipforge(tmp_path, "probe", talking_head_rotated)
    assert done.returncode == 0, done.stderr
    for expected in ("h264", "360x640", "25.000", "90°", "2.000 s", "faces: found in 50 of 50"):
        assert expected in done.stdout


def test_probe_audio_and_broken(tmp_path, speech_m4a, broken_truncated):
    done = _lipforge(tmp_path, "probe", speech_m4a)
    assert done.returncode == 0 and "aac" in done.stdout and "video     │ none" in done.stdout
    broken = _lipforge(tmp_path, "probe", broken_truncated)
    assert broken.returncode == 3
    assert "truncated" in broken.stderr and "Traceback" not in broken.stderr


def test_doctor(tmp_path):
    done = _lipforge(tmp_path, "doctor")
    assert done.returncode == 0, done.stderr
    for expected in ("av", "onnxruntime providers", "CPUExecutionProvider", "free disk"):
        assert expected in done.stdout
    assert str(tmp_path / "data") in done.stdout
    assert "libx264 yes" in done.stdout
