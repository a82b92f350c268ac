"""The `heygem_tasks` table: a HeyGem client's `code` -> the LipForge job that renders it.

Created by migration `0005_heygem.py` (keep the two in step). A row lives as long as its
job (deleting the batch deletes it), so a finished task keeps answering its queries.
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
