"""Browser login sessions: one row per login, ended by logout, expiry or a token change.

The cookie holds a random session secret; the table keeps only its sha256 (`id`), the
identity of the token it was opened with (`token_id`), and when it ends. A session counts
only while it has not expired and its token is still the server's token, so changing
the token ends every session opened with the old one, and logout deletes the row.
Checking the cookie on each request is `auth.py`'s job; this module owns every SQL
statement on `login_sessions`.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import DateTime, String, delete, or_, select
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from lipforge.db import Base

SESSION_SECRET_BYTES = 32
MAX_SECRET_CHARS = 128


class LoginSession(Base):
    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the secret
    token_id: Mapped[str] = mapped_column(String(32), index=True)
    client: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def open_session(sessions: sessionmaker, token_id: str, max_age_s: float, client: str) -> str:
    """A new session for `token_id`; returns the secret the cookie carries. Blocking."""
    secret = secrets.token_urlsafe(SESSION_SECRET_BYTES)
    now = _now()
    with sessions.begin() as session:
        session.execute(
            delete(LoginSession).where(
                or_(LoginSession.expires_at < now, LoginSession.token_id != token_id)
            )
        )
        session.add(
            LoginSession(
                id=_digest(secret),
                token_id=token_id,
                client=client[:64],
                created_at=now,
                expires_at=now + timedelta(seconds=max_age_s),
            )
        )
    return secret


def session_is_valid(sessions: sessionmaker, secret: str, token_id: str) -> bool:
    """True while the session exists, has not expired and belongs to the current token."""
    if not secret or len(secret) > MAX_SECRET_CHARS:
        return False
    with sessions() as session:
        row = session.execute(
            select(LoginSession.token_id, LoginSession.expires_at).where(
                LoginSession.id == _digest(secret)
            )
        ).first()
    if row is None or row.token_id != token_id:
        return False
    expires_at = row.expires_at
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    return expires_at > _now()


def close_session(sessions: sessionmaker, secret: str) -> None:
    """Logout: the session ends now, whoever else holds a copy of the cookie. Blocking."""
    if not secret or len(secret) > MAX_SECRET_CHARS:
        return
    with sessions.begin() as session:
        session.execute(delete(LoginSession).where(LoginSession.id == _digest(secret)))
