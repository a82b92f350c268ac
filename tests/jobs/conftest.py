"""Fixtures for the queue tests: a fresh PostgreSQL database (SQLite ones: tests/conftest.py)."""

from __future__ import annotations

import pytest
from tests.support.pg_database import fresh_pg_url  # noqa: E402


@pytest.fixture
def pg_url():
    with fresh_pg_url() as url:
        yield url
