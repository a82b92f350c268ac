"""`lipforge voices --server`: a server's voices managed from another machine's terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.speech.standins import StandIn, voiced, wav_bytes

from lipforge.api.app import create_app
from lipforge.config import Settings

LIPFORGE = str(Path(sys.executable).parent / "lipforge")
TOKEN = "voices-remote-token-0123456789"


def test_add_list_remove_on_a_server_with_a_reference_upload(tmp_path):
    reference = tmp_path / "teacher.wav"
    reference.write_bytes(wav_bytes(voiced("a sample of the teacher's voice", 16000), 16000))
    settings = Settings(data=tmp_path / "server", token=TOKEN, host="0.0.0.0")
    env = {**os.environ, "LIPFORGE_TOKEN": TOKEN, "LIPFORGE_DATA": str(tmp_path / "client")}

    def lipforge(*args: str) -> subprocess.CompletedProcess:
        command = [LIPFORGE, "voices", *args, "--server", server.url]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    with StandIn(create_app(settings)) as server:
        added = lipforge(
            "add", "teacher", "--engine", "fish-speech", "--url", "http://gpu2:8080",
            "--reference-audio", str(reference), "--reference-text", "老师的声音",
        )  # fmt: skip
        listed = lipforge("list")
        removed = lipforge("remove", "teacher")
        after = lipforge("list")
        gone = lipforge("remove", "teacher")
    assert added.returncode == 0, added.stderr
    line = next(x for x in listed.stdout.splitlines() if x.startswith("teacher\t"))
    assert line.startswith("teacher\tfish-speech\thttp://gpu2:8080\tstored\treference=")
    assert removed.returncode == 0 and "teacher\t" not in after.stdout
    assert gone.returncode != 0 and "No voice named 'teacher'" in gone.stderr
    assert not (tmp_path / "client" / "lipforge.db").exists()  # nothing was done locally
