"""Fixtures for the queue tests: a fresh PostgreSQL database (SQLite ones: tests/conftest.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from pg_database import fresh_pg_url  # noqa: E402


@pytest.fixture
def pg_url():
    with fresh_pg_url() as url:
        yield url
