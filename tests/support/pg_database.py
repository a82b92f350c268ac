"""A fresh PostgreSQL database per test run, made from LIPFORGE_TEST_PG_URL and dropped after.

`fresh_pg_url()` is a context manager yielding a SQLAlchemy URL to a new, empty database
on the server named by LIPFORGE_TEST_PG_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test).
Without that variable the test is skipped, unless LIPFORGE_REQUIRE_PG=1 (CI): then it fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from sqlalchemy.engine import make_url


def pg_server_url() -> str:
    url = os.environ.get("LIPFORGE_TEST_PG_URL", "")
    if not url:
        message = "LIPFORGE_TEST_PG_URL is not set: no PostgreSQL server to test against"
        if os.environ.get("LIPFORGE_REQUIRE_PG") == "1":
            pytest.fail(message + " (LIPFORGE_REQUIRE_PG=1)", pytrace=False)
        pytest.skip(message)
    return url


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def fresh_pg_url() -> Iterator[str]:
    server_url = pg_server_url()
    name = f"lipforge_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(_libpq(server_url), autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {server_url} does not answer: {exc}", pytrace=False)
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_libpq(server_url), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
