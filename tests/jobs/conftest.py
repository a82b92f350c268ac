"""Fixtures for the queue tests: a migrated SQLite data dir and a fresh PostgreSQL database."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from pg_database import fresh_pg_url  # noqa: E402

from lipforge.config import Settings  # noqa: E402
from lipforge.db import create_db_engine, migrate, session_factory  # noqa: E402


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
def pg_url():
    with fresh_pg_url() as url:
        yield url
