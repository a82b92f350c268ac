"""Login sessions on PostgreSQL: opened, checked, ended by logout and by a token change."""

from __future__ import annotations

import pytest
from tests.support.pg_database import fresh_pg_url  # noqa: E402

from lipforge.api.sessions import close_session, open_session, session_is_valid  # noqa: E402
from lipforge.db import create_db_engine, migrate, session_factory  # noqa: E402

pytestmark = pytest.mark.postgres


def test_sessions_open_check_and_end_on_postgres():
    with fresh_pg_url() as url:
        migrate(url)
        engine = create_db_engine(url)
        try:
            sessions = session_factory(engine)
            secret = open_session(sessions, "token-a", 60.0, "127.0.0.1")
            assert session_is_valid(sessions, secret, "token-a")
            assert not session_is_valid(sessions, secret, "token-b")  # the token changed
            assert not session_is_valid(sessions, secret + "x", "token-a")
            expired = open_session(sessions, "token-a", -1.0, "127.0.0.1")
            assert not session_is_valid(sessions, expired, "token-a")
            close_session(sessions, secret)
            assert not session_is_valid(sessions, secret, "token-a")
        finally:
            engine.dispose()
