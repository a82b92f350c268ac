"""The `upload_locks` table: which process holds an upload, until when, and whether it is wanted.

One row per upload in use: its owner (`<process id>/<hold token>`, the process id as the
job workers make it, so a dead process on this host is recognised at once), a lease
(`expires_at_s`, unix time, renewed by the holder) and `release_requested`, which a
newcomer sets to ask the holder to let go. Every function here is blocking (one short
transaction) and is called from a worker thread. The same statements run on SQLite and
PostgreSQL. The schema is created by migration `0008_upload_locks.py` (keep them in step);
the async takeover logic is `locks.py`.
"""

from __future__ import annotations

import time

from sqlalchemy import Boolean, Float, String, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from lipforge.db import Base, table_of
from lipforge.processes import is_local_worker_dead


class UploadLockRow(Base):
    """The process working on one upload."""

    __tablename__ = "upload_locks"

    upload_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255))
    expires_at_s: Mapped[float] = mapped_column(Float)
    release_requested: Mapped[bool] = mapped_column(Boolean, default=False)


LOCKS = table_of(UploadLockRow)
L = LOCKS.c


def owner_process(owner: str) -> str:
    return owner.split("/", 1)[0]


def _is_free(owner: str, expires_at_s: float, now_s: float) -> bool:
    return expires_at_s < now_s or is_local_worker_dead(owner_process(owner))


def try_acquire(sessions: sessionmaker, upload_id: str, owner: str, lease_s: float) -> str | None:
    """Take the upload's row for `owner`: None on success, else the holder (asked to let go)."""
    now_s = time.time()
    values = {"owner": owner, "expires_at_s": now_s + lease_s, "release_requested": False}
    with sessions.begin() as session:
        current = session.execute(
            select(L.owner, L.expires_at_s).where(L.upload_id == upload_id)
        ).first()
        if current is None:
            try:
                with session.begin_nested():
                    session.execute(insert(LOCKS).values(upload_id=upload_id, **values))
                return None
            except IntegrityError:
                return "?"  # another process inserted it meanwhile: look again
        same_holder = (L.upload_id == upload_id) & (L.owner == current.owner)
        if _is_free(current.owner, current.expires_at_s, now_s):
            taken = session.execute(update(LOCKS).where(same_holder).values(**values))
            return None if taken.rowcount == 1 else current.owner
        session.execute(update(LOCKS).where(same_holder).values(release_requested=True))
        return current.owner


def should_let_go(
    sessions: sessionmaker, upload_id: str, owner: str, renew_lease_s: float | None
) -> bool:
    """True when the holder was asked to let go or lost the row; renews the lease if asked to."""
    mine = (L.upload_id == upload_id) & (L.owner == owner)
    with sessions.begin() as session:
        if renew_lease_s is not None:
            session.execute(
                update(LOCKS).where(mine).values(expires_at_s=time.time() + renew_lease_s)
            )
        wanted = session.execute(select(L.release_requested).where(mine)).first()
    return wanted is None or bool(wanted.release_requested)


def release(sessions: sessionmaker, upload_id: str, owner: str) -> None:
    with sessions.begin() as session:
        session.execute(delete(LOCKS).where((L.upload_id == upload_id) & (L.owner == owner)))


def is_held(sessions: sessionmaker, upload_id: str) -> bool:
    """True while a live process holds `upload_id` (expired or dead holders do not count)."""
    with sessions() as session:
        current = session.execute(
            select(L.owner, L.expires_at_s).where(L.upload_id == upload_id)
        ).first()
    return current is not None and not _is_free(current.owner, current.expires_at_s, time.time())
