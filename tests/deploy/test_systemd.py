"""deploy/systemd units: `systemd-analyze verify` accepts them (with this checkout's lipforge in
ExecStart), and the command lines they run are ones our CLI accepts."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from .harness import LIPFORGE, REPO

UNITS = REPO / "deploy" / "systemd"
INSTALLED_BINARY = "/opt/lipforge/.venv/bin/lipforge"
VERIFIED = ["lipforge-api.service", "lipforge-worker@0.service"]


@pytest.fixture(scope="module")
def unit_dir(tmp_path_factory) -> Path:
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing: apt-get install systemd (.ci/run does)")
    target = tmp_path_factory.mktemp("units")
    for unit in UNITS.glob("*.service"):
        text = unit.read_text()
        assert INSTALLED_BINARY in text, f"{unit.name} no longer runs {INSTALLED_BINARY}"
        (target / unit.name).write_text(text.replace(INSTALLED_BINARY, str(LIPFORGE)))
    return target


@pytest.mark.parametrize("unit", VERIFIED)
def test_systemd_analyze_verify_accepts_the_unit(unit_dir, unit):
    checked = subprocess.run(
        ["systemd-analyze", "verify", str(unit_dir / unit)],
        capture_output=True, text=True, cwd=unit_dir,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    assert "lipforge" not in checked.stderr, checked.stderr  # no warning about our units


@pytest.mark.parametrize("unit", ["lipforge-api.service", "lipforge-worker@.service"])
def test_exec_start_is_a_command_line_lipforge_accepts(unit_dir, unit):
    exec_start = next(
        line.split("=", 1)[1]
        for line in (unit_dir / unit).read_text().splitlines()
        if line.startswith("ExecStart=")
    )
    checked = subprocess.run(
        [*shlex.split(exec_start), "--help"], capture_output=True, text=True, timeout=120
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_api_unit_raises_the_file_descriptor_limit(unit_dir):
    lines = (unit_dir / "lipforge-api.service").read_text().splitlines()
    limits = [int(line.split("=", 1)[1]) for line in lines if line.startswith("LimitNOFILE=")]
    assert limits and limits[0] >= 65536  # each connection and open upload holds one
