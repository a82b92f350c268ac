"""The `assets` table: one row per distinct file (by sha256) that passed media validation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, DateTime, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lipforge.db import Base


class Asset(Base):
    __tablename__ = "assets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), index=True)  # "audio" | "video"
    original_name: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    relative_path: Mapped[str] = mapped_column(String(512))  # below the data dir's assets/
    # the object's key in the store (data dir or bucket); None means assets/<relative_path>
    storage_key: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    duration_s: Mapped[float] = mapped_column(Float)
    fps: Mapped[float | None] = mapped_column(Float, nullable=True)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    has_audio: Mapped[bool] = mapped_column(default=False)
    source: Mapped[str] = mapped_column(String(16), default="upload")  # upload | inbox | import
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    # spoken from a script (issue 8): the script, the voice and its SpeechTiming JSON
    script_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    voice_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    speech_timing: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    # what an audio says, as its user gave it (issue 18): its words drive the mouth shapes
    transcript: Mapped[str | None] = mapped_column(Text, nullable=True)
