"""The `heygem_tasks` table: a HeyGem client's `code` -> the LipForge job that renders it;
`heygem_fetches`: codes whose downloads run before their job exists.

Created by migrations `0005_heygem.py` and `0011_heygem_fetches.py` (keep them in step).
A task row lives as long as its job (deleting the batch deletes it), so a finished task
keeps answering its queries.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lipforge.db import Base, UTCDateTime


class HeygemTask(Base):
    """One submitted `code`; the output's facts are filled in when the result is published."""

    __tablename__ = "heygem_tasks"

    code: Mapped[str] = mapped_column(String(255), primary_key=True)
    job_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("jobs.id", ondelete="CASCADE"), index=True
    )
    batch_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    notes: Mapped[str] = mapped_column(Text, default="")  # options accepted but not honoured
    options: Mapped[dict] = mapped_column(JSON, default=dict)  # the submit body's other fields
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)


class HeygemFetch(Base):
    """A submitted `code` whose http(s) inputs are being downloaded (migration 0009).

    The row is removed in the transaction that creates the code's job; a download that
    fails keeps it with `error`, which queries answer as status 3.
    """

    __tablename__ = "heygem_fetches"

    code: Mapped[str] = mapped_column(String(255), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    notes: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
