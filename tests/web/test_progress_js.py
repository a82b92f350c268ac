"""Runs the UI's JavaScript unit tests (`node --test tests/web/progress.test.mjs`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).with_name("progress.test.mjs")


def test_ui_progress_arithmetic() -> None:
    node = shutil.which("node")
    assert node, "Node.js is missing: apt-get install -y nodejs npm"
    done = subprocess.run(
        [node, "--test", str(SCRIPT)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "# fail 0" in done.stdout
