"""`lipforge import PATH…`: copies become assets, ids printed, refusals explained, exit status."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from lipforge.cli import _register_commands, app

LIPFORGE = str(Path(sys.executable).parent / "lipforge")


def run_import(data: Path, *paths: Path):
    """In-process, for speed; the first test runs the real command once."""
    _register_commands()
    return CliRunner().invoke(app, ["import", "--data", str(data), *map(str, paths)])


def test_import_prints_asset_ids_and_keeps_the_originals(tmp_path, talking_head_512, speech_en_wav):
    data = tmp_path / "data"
    result = subprocess.run(
        [LIPFORGE, "import", "--data", str(data), str(talking_head_512), str(speech_en_wav)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert [Path(path) for _, path in lines] == [talking_head_512, speech_en_wav]
    assert talking_head_512.exists() and speech_en_wav.exists()
    stored = {p.stem: p for p in (data / "assets").iterdir()}
    video_id = lines[0][0]
    digest = hashlib.sha256(stored[video_id].read_bytes()).hexdigest()
    assert digest == hashlib.sha256(talking_head_512.read_bytes()).hexdigest()
    assert [p.name for p in (data / "inbox").iterdir()] == []


def test_importing_the_same_file_again_gives_the_same_id(tmp_path, speech_en_wav):
    first = run_import(tmp_path / "data", speech_en_wav).stdout.split("\t")[0]
    second = run_import(tmp_path / "data", speech_en_wav).stdout.split("\t")[0]
    assert first == second and len(first) == 32


def test_refusals_are_explained_and_fail_the_run(tmp_path, broken_garbage, speech_en_wav):
    missing = tmp_path / "nowhere.mp4"
    result = run_import(tmp_path / "data", broken_garbage, speech_en_wav, missing)
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) == 1 and str(speech_en_wav) in result.stdout
    assert f"{broken_garbage.name} is not an audio or video file" in result.stderr
    assert "nowhere.mp4 does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_folder_is_walked_without_its_dotfiles(tmp_path, speech_en_wav, speech_m4a):
    folder = tmp_path / "lecture"
    folder.mkdir()
    (folder / "a.wav").write_bytes(speech_en_wav.read_bytes())
    (folder / ".a.wav.partial").write_bytes(b"half")
    (folder / "sub").mkdir()
    (folder / "sub" / "b.m4a").write_bytes(speech_m4a.read_bytes())
    result = run_import(tmp_path / "data", folder)
    assert result.exit_code == 0, result.stderr
    assert [Path(line.split("\t")[1]).name for line in result.stdout.splitlines()] == [
        "a.wav",
        "b.m4a",
    ]
