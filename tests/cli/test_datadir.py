"""The data-dir trap: commands say where they wrote, and warn when a server reads elsewhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
