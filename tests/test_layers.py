"""The import layers of pyproject.toml's [tool.importlinter] hold: every arrow points down.

`lint-imports` (import-linter) checks the contract on the source as it is, and on a copy of
it given one upward, function-level import, which it must refuse: the contract is in force
for lazy imports too, and a broken one fails this test with the linter's own report.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "lipforge"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
LINT_TIMEOUT_S = 120
UPWARD_IMPORT = (
    "\n\ndef _reads_the_queue():\n    from lipforge.jobs import queue\n\n    return queue\n"
)


def lint_imports(pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    command = [str(LINT_IMPORTS), "--no-cache", "--no-logo", "--config", "pyproject.toml"]
    return subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=LINT_TIMEOUT_S
    )


def test_every_import_points_down_the_layers() -> None:
    result = lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_upward_lazy_import_breaks_the_contract(tmp_path: Path) -> None:
    copy = tmp_path / "lipforge"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("web", "__pycache__"))
    with open(copy / "media" / "probe.py", "a", encoding="utf-8") as module:
        module.write(UPWARD_IMPORT)
    result = lint_imports(pythonpath=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "lipforge.media is not allowed to import lipforge.jobs" in result.stdout
    assert "lipforge.media.probe -> lipforge.jobs" in result.stdout
