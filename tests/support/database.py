"""A session factory on a freshly migrated database, for tests on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import sessionmaker

from lipforge.db import create_db_engine, migrate, session_factory


@contextmanager
def migrated_sessions(url: str) -> Iterator[sessionmaker]:
    migrate(url)
    engine = create_db_engine(url)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()
