"""`lipforge models pull|list|verify` as a user runs them, against a local server."""

from __future__ import annotations

import hashlib
import random

import pytest
from tests.weights.fileserver import FileServer
from typer.testing import CliRunner

from lipforge.cli import _register_commands, app
from lipforge.errors import ConfigError
from lipforge.weights.errors import DownloadError
from lipforge.weights.registry import ModelEntry, ModelFile, save_custom_entry

SIZE_BYTES = 600_000


@pytest.fixture(scope="module", autouse=True)
def commands():
    _register_commands()


@pytest.fixture()
def served():
    payload = random.Random(4).randbytes(SIZE_BYTES)
    with FileServer() as server:
        server.put("/files/voice.onnx", payload)
        yield server, payload, hashlib.sha256(payload).hexdigest()


def _run(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})


def test_pull_url_then_list_and_verify(served, tmp_path):
    server, payload, sha256 = served
    models = str(tmp_path / "models")
    url = server.url("/files/voice.onnx")
    pulled = _run("models", "pull", url, "--sha256", sha256, "--models-dir", models)
    assert pulled.exit_code == 0, pulled.output
    assert "verified" in pulled.output and sha256 in pulled.output
    assert (tmp_path / "models" / "voice" / "voice.onnx").read_bytes() == payload

    listed = _run("models", "list", "--models-dir", models)
    row = next(line for line in listed.output.splitlines() if "voice" in line)
    assert "yes" in row and "check its licence" in listed.output
    assert "NON-COMMERCIAL" in listed.output  # the Wav2Lip entries say so

    assert _run("models", "verify", "--models-dir", models).exit_code == 0
    with open(tmp_path / "models" / "voice" / "voice.onnx", "r+b") as handle:
        handle.seek(1000)
        handle.write(b"\x00\x01\x02")
    failed = _run("models", "verify", "voice", "--models-dir", models)
    assert failed.exit_code == 1 and "FAILED" in failed.output and sha256 in failed.output
    row = next(line for line in _run("models", "list", "--models-dir", models).output.splitlines()
               if "voice" in line)  # fmt: skip
    assert "NO" in row


def test_pull_twice_is_already_installed(served, tmp_path):
    server, _payload, sha256 = served
    args = ("models", "pull", server.url("/files/voice.onnx"), "--sha256", sha256,
            "--models-dir", str(tmp_path))  # fmt: skip
    assert _run(*args).exit_code == 0
    again = _run(*args)
    assert again.exit_code == 0 and "already installed" in again.output


def test_unpinned_entry_warns_and_prints_the_hash(served, tmp_path):
    server, _payload, sha256 = served
    entry = ModelEntry(
        "loose", "custom", "no hash", "unknown",
        (ModelFile("loose.onnx", server.url("/files/voice.onnx")),), True,
    )  # fmt: skip
    save_custom_entry(tmp_path, entry)
    pulled = _run("models", "pull", "loose", "--models-dir", str(tmp_path))
    assert pulled.exit_code == 0, pulled.output
    assert "Warning" in pulled.output and "unpinned" in pulled.output
    assert f"computed sha256 {sha256}" in pulled.output


def test_a_url_needs_its_sha256(served, tmp_path):
    server, _payload, _sha256 = served
    result = _run("models", "pull", server.url("/files/voice.onnx"), "--models-dir", str(tmp_path))
    assert isinstance(result.exception, DownloadError)
    assert "--sha256" in str(result.exception)


def test_bad_limit_rate_names_the_value(served, tmp_path):
    server, _payload, sha256 = served
    result = _run("models", "pull", server.url("/files/voice.onnx"), "--sha256", sha256,
                  "--limit-rate", "fast", "--models-dir", str(tmp_path))  # fmt: skip
    assert isinstance(result.exception, ConfigError) and "'fast'" in str(result.exception)
