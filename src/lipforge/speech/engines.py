"""The `SpeechEngine` protocol every text-to-speech engine implements, and the registry by name.

An engine is made for one voice (`cls(voice, context)`) and turns one piece of a script
(a sentence, or part of one) into mono samples, with the phones it spoke where it reports
them. It declares the languages it speaks and the longest text it takes in one request.
Engines register with `@register_speech_engine`; nothing else in the code branches on an
engine's name. This module holds no engine: `espeak.py`, `piper.py` and the HTTP adapters do.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol

import numpy as np

from lipforge.media.timing import Phone
from lipforge.speech.errors import InvalidVoiceError

if TYPE_CHECKING:
    from lipforge.speech.voices import Voice
    from lipforge.storage.backend import Storage

BUILTIN_ENGINE_MODULES = (
    "lipforge.speech.espeak",
    "lipforge.speech.piper",
    "lipforge.speech.cosyvoice",
    "lipforge.speech.fishspeech",
    "lipforge.speech.openaitts",
)


NON_EMPTY_TEXT = {"type": "string", "minLength": 1}


@dataclass(frozen=True)
class Utterance:
    """One piece spoken: float32 mono samples in [-1, 1], their rate, and phones if reported."""

    samples: np.ndarray
    sample_rate: int
    phones: tuple[Phone, ...] | None = None  # times from the utterance's first sample

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


@dataclass(frozen=True)
class EngineContext:
    """What an engine may need besides its voice: the store holding reference audio, HTTP
    limits, and the admin's rules on API-key variables and server addresses."""

    storage: Storage | None = None
    timeout_s: float = 60.0
    attempts: int = 3
    backoff_s: float = 0.5
    key_env_prefix: str = ""  # when set, API-key variables must start with it
    url_allow: tuple[str, ...] = ()  # link-local/metadata networks a voice's server may be in


class SpeechEngine(Protocol):
    """What the script synthesizer needs of an engine."""

    name: ClassVar[str]
    languages: ClassVar[tuple[str, ...]]  # primary BCP-47 subtags it speaks ("zh", "en")
    max_input_chars: ClassVar[int]  # the longest text one request may carry
    needs_url: ClassVar[bool]  # True for engines that talk to a server
    # JSON-schema branches a voice of this engine matches one of (what check_voice accepts)
    voice_shapes: ClassVar[list[dict]]

    @classmethod
    def check_voice(cls, voice: Voice) -> None:
        """Raise InvalidVoiceError if `voice` lacks what this engine needs (a URL, a reference)."""

    @classmethod
    def missing_reason(cls) -> str | None:
        """None when the engine can run here; otherwise what to install."""

    def synthesize(self, text: str, language: str) -> Utterance:
        """Speak `text` (in `language`); raise a speech error naming the server on failure."""

    def close(self) -> None:
        """Free models or connections."""


SPEECH_ENGINES: dict[str, type] = {}


def register_speech_engine(cls: type) -> type:
    SPEECH_ENGINES[cls.name] = cls
    return cls


def speech_engine_names() -> list[str]:
    _import_builtin_engines()
    return sorted(SPEECH_ENGINES)


def speech_engine_class(name: str) -> type:
    _import_builtin_engines()
    try:
        return SPEECH_ENGINES[name]
    except KeyError:
        known = ", ".join(sorted(SPEECH_ENGINES))
        raise InvalidVoiceError(
            f"Unknown speech engine {name!r}. Choose one of: {known}.", engine=name, known=known
        ) from None


def create_speech_engine(voice: Voice, context: EngineContext) -> SpeechEngine:
    return speech_engine_class(voice.engine)(voice, context)


EngineFactory = Callable[["Voice", EngineContext], SpeechEngine]


def _import_builtin_engines() -> None:
    for module in BUILTIN_ENGINE_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
