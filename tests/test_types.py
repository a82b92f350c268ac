"""mypy finds no type errors in the queue, the API, the stores and the uploads (the config is
pyproject.toml's [tool.mypy]); a failure shows mypy's own report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECKED_PACKAGES = ("lipforge.jobs", "lipforge.api", "lipforge.storage", "lipforge.uploads")
MYPY_TIMEOUT_S = 600


def test_checked_packages_have_no_type_errors():
    packages = [arg for name in CHECKED_PACKAGES for arg in ("-p", name)]
    result = subprocess.run(
        [sys.executable, "-m", "mypy", *packages],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=MYPY_TIMEOUT_S,
    )
    assert result.returncode == 0, result.stdout + result.stderr
