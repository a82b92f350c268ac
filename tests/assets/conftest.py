"""A migrated SQLite library in a temp data dir, and a way to copy a fixture into a drop spot."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lipforge.config import Settings
from lipforge.db import create_db_engine, migrate, session_factory


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(data=tmp_path / "data")
    settings.data_dir.ensure()
    return settings


@pytest.fixture
def sessions(settings: Settings):
    migrate(settings.effective_database_url)
    engine = create_db_engine(settings.effective_database_url)
    yield session_factory(engine)
    engine.dispose()


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
