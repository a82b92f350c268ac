"""`lipforge voices` and `lipforge say` as a user types them."""

from __future__ import annotations

import os
import subprocess
import sys
import wave
from pathlib import Path

LIPFORGE = str(Path(sys.executable).parent / "lipforge")


def lipforge(*args: str, data: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "LIPFORGE_DATA": str(data)}
    return subprocess.run([LIPFORGE, *args], env=env, capture_output=True, text=True, timeout=120)


def test_voices_add_list_remove(tmp_path):
    data = tmp_path / "data"
    added = lipforge(
        "voices", "add", "gpu2", "--engine", "cosyvoice", "--url", "http://gpu2:50000",
        "--speaker", "中文女", "--sample-rate", "22050", "--concurrency", "1", data=data,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    listed = lipforge("voices", "list", data=data).stdout
    assert listed.splitlines()[0].startswith("espeak-zh\tespeak\tlocal\tbuilt-in")
    assert "gpu2\tcosyvoice\thttp://gpu2:50000\tstored\tspeaker=中文女" in listed
    assert "engine fish-speech" in listed
    missing = lipforge("voices", "add", "x", "--engine", "cosyvoice", data=data)
    assert missing.returncode == 2 and "give the server's URL" in missing.stderr
    assert lipforge("voices", "remove", "gpu2", data=data).returncode == 0


def test_say_writes_the_wav_and_prints_its_subtitles(tmp_path):
    script = tmp_path / "lesson.txt"
    script.write_text("第一课。我们学习3个新词！", encoding="utf-8")
    out = tmp_path / "out" / "lesson.wav"
    said = lipforge(
        "say", "--text-file", str(script), "--voice", "espeak-zh", "-o", str(out),
        data=tmp_path / "data",
    )  # fmt: skip
    assert said.returncode == 0, said.stderr
    lines = said.stdout.splitlines()
    assert lines[1:] == [str(out.with_suffix(".srt")), str(out.with_suffix(".vtt"))]
    srt = out.with_suffix(".srt").read_text(encoding="utf-8")
    assert srt.startswith("1\n00:00:00,150 --> ") and "我们学习3个新词！" in srt
    with wave.open(str(out)) as reader:
        assert reader.getframerate() == 24000 and reader.getnframes() > 24000
    unknown = lipforge("say", "hello", "--voice", "nobody", "-o", str(out), data=tmp_path / "d")
    assert unknown.returncode == 2 and "No voice named 'nobody'" in unknown.stderr


def test_a_taken_name_is_a_usage_error_and_chinese_names_are_kept(tmp_path):
    data = tmp_path / "data"
    taken = lipforge("voices", "add", "espeak-zh", "--engine", "espeak", data=data)
    assert taken.returncode == 2, taken.stderr
    added = lipforge(
        "voices", "add", "远程老师", "--engine", "espeak", "--language", "zh", data=data
    )
    assert added.returncode == 0, added.stderr
    assert "远程老师" in lipforge("voices", "list", data=data).stdout


def test_version_is_printed(tmp_path):
    shown = lipforge("--version", data=tmp_path / "data")
    assert shown.returncode == 0 and shown.stdout.startswith("lipforge 0.")
