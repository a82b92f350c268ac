"""`lipforge models list` on an 80-column terminal: every line fits, names whole, licences kept."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

LIPFORGE = str(Path(sys.executable).parent / "lipforge")


def test_models_list_fits_80_columns(tmp_path):
    env = {**os.environ, "COLUMNS": "80", "LIPFORGE_DATA": str(tmp_path / "data")}
    result = subprocess.run(
        [LIPFORGE, "models", "list", "--models-dir", str(tmp_path / "models")],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, result.stdout
    assert any(line.startswith("wav2lip_gan_96 ") for line in lines), result.stdout
    assert "…" not in result.stdout
    assert "NON-COMMERCIAL [1]" in result.stdout and "[1] NON-COMMERCIAL." in result.stdout
