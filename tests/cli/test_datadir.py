"""The data-dir trap: commands say where they wrote, and warn when a server reads elsewhere."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.weights.fileserver import FileServer

LIPFORGE = str(Path(sys.executable).parent / "lipforge")


def lipforge(*args: str, cwd: Path, state: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "LIPFORGE_DATA"}
    env["XDG_STATE_HOME"] = str(state)
    return subprocess.run(
        [LIPFORGE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_voices_add_says_where_and_warns_about_a_server_on_another_data_dir(tmp_path):
    state, office, elsewhere = tmp_path / "state", tmp_path / "office", tmp_path / "elsewhere"
    office.mkdir()
    elsewhere.mkdir()
    servers = state / "lipforge" / "servers"
    servers.mkdir(parents=True)
    server_data = office / "lipforge-data"
    record = {"pid": os.getpid(), "data_dir": str(server_data), "url": "http://127.0.0.1:7860"}
    (servers / f"{os.getpid()}.json").write_text(json.dumps(record))  # a live process
    (servers / "999999999.json").write_text(json.dumps({**record, "pid": 999999999}))  # gone

    added = lipforge("voices", "add", "studio", "--engine", "espeak", cwd=elsewhere, state=state)
    assert added.returncode == 0, added.stderr
    assert f"data dir {elsewhere.resolve() / 'lipforge-data'}" in added.stdout
    warnings = [line for line in added.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1 and str(server_data) in warnings[0]
    assert "--data" in warnings[0] and "http://127.0.0.1:7860" in warnings[0]

    same = lipforge("voices", "add", "studio", "--engine", "espeak", cwd=office, state=state)
    assert same.returncode == 0 and "Warning:" not in same.stderr


def _server_on(state: Path, data_dir: Path) -> dict:
    """A live server's record (this test's own pid) that reads `data_dir`."""
    servers = state / "lipforge" / "servers"
    servers.mkdir(parents=True, exist_ok=True)
    record = {"pid": os.getpid(), "data_dir": str(data_dir), "url": "http://127.0.0.1:7860"}
    (servers / f"{os.getpid()}.json").write_text(json.dumps(record))
    return record


@pytest.fixture()
def elsewhere(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(state dir, a folder with no data dir, the data dir of a server started elsewhere)."""
    state, folder = tmp_path / "state", tmp_path / "elsewhere"
    folder.mkdir()
    server_data = tmp_path / "office" / "lipforge-data"
    _server_on(state, server_data)
    return state, folder, server_data


def _warned_about(stderr: str, server_data: Path) -> bool:
    warnings = [line for line in stderr.splitlines() if line.startswith("Warning:")]
    return len(warnings) == 1 and str(server_data) in warnings[0] and "--data" in warnings[0]


def test_say_says_which_data_dir_gave_its_voice_and_cache(elsewhere):
    state, folder, server_data = elsewhere
    said = lipforge("say", "你好。", "-o", "hello.wav", cwd=folder, state=state)
    assert said.returncode == 0, said.stderr
    assert (folder / "hello.wav").is_file()
    assert f"data dir {folder.resolve() / 'lipforge-data'}" in said.stderr, said.stderr
    assert _warned_about(said.stderr, server_data), said.stderr


def test_voices_list_says_which_data_dir_it_read(elsewhere):
    state, folder, server_data = elsewhere
    listed = lipforge("voices", "list", cwd=folder, state=state)
    assert listed.returncode == 0, listed.stderr
    assert "espeak-zh" in listed.stdout
    assert f"data dir {folder.resolve() / 'lipforge-data'}" in listed.stderr
    assert _warned_about(listed.stderr, server_data), listed.stderr


def test_models_pull_says_where_it_wrote(elsewhere, tmp_path):
    state, folder, server_data = elsewhere
    payload = b"weights " * 5000
    sha256 = hashlib.sha256(payload).hexdigest()
    with FileServer() as files:
        files.put("/files/voice.onnx", payload)
        url = files.url("/files/voice.onnx")
        pulled = lipforge("models", "pull", url, "--sha256", sha256, cwd=folder, state=state)
        chosen = tmp_path / "chosen"
        into = lipforge(
            "models", "pull", url, "--sha256", sha256, "--models-dir", str(chosen),
            cwd=folder, state=state,
        )  # fmt: skip
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    models = folder.resolve() / "lipforge-data" / "models"
    assert (models / "voice" / "voice.onnx").read_bytes() == payload
    assert f"(into {models}: the models of the data dir {models.parent})" in pulled.stdout
    assert _warned_about(pulled.stderr, server_data), pulled.stderr
    # a models dir given by hand is said as given, and no data dir is involved
    assert into.returncode == 0, into.stdout + into.stderr
    assert f"(into {chosen.resolve()})" in into.stdout and "Warning:" not in into.stderr
