"""A migrated SQLite library in a temp data dir, and a way to copy a fixture into a drop spot."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture
def copy_of(tmp_path: Path):
    """`copy_of(fixture, name)`: a fresh copy the test may hand over (ingest moves files)."""
    drop = tmp_path / "drop"
    drop.mkdir(exist_ok=True)

    def make(source: Path, name: str | None = None) -> Path:
        target = drop / (name or source.name)
        shutil.copyfile(source, target)
        return target

    return make
