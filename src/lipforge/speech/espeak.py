"""The `espeak` speech engine: Debian's espeak-ng through libespeak-ng, Mandarin and English.

Each piece is cut into Chinese and Latin-script runs (`chinese.runs`); Chinese runs go to
`cmn-latn-pinyin` as numbered pinyin with their numbers spelled in Chinese, Latin runs to
`en-us` (numbers in an English text are read by espeak-ng's English rules). libespeak-ng
reports the phonemes it spoke with their times (`espeaklib`), so the phones match the
samples exactly. Needs no download: the Debian package `espeak-ng` is all.
"""

from __future__ import annotations

import ctypes
from typing import ClassVar

import numpy as np

from lipforge.media.timing import Phone
from lipforge.phonetics import chinese
from lipforge.speech.engines import EngineContext, Utterance, register_speech_engine
from lipforge.speech.errors import SpeechEngineMissingError, SpeechLanguageError
from lipforge.speech.sentences import speakable
from lipforge.speech.voices import Voice

ESPEAK_VOICE_BY_LANGUAGE = {"zh": "cmn-latn-pinyin", "en": "en-us"}
BASE_RATE_WPM = 165


@register_speech_engine
class EspeakEngine:
    name: ClassVar[str] = "espeak"
    languages: ClassVar[tuple[str, ...]] = ("zh", "en")
    max_input_chars: ClassVar[int] = 1000
    needs_url: ClassVar[bool] = False
    voice_shapes: ClassVar[list[dict]] = [{"properties": {"language": {"enum": ["", *languages]}}}]

    def __init__(self, voice: Voice, context: EngineContext) -> None:
        self.voice = voice
        self.rate_wpm = round(BASE_RATE_WPM * voice.speed)

    @classmethod
    def check_voice(cls, voice: Voice) -> None:
        if voice.language and voice.language not in cls.languages:
            raise SpeechLanguageError(
                f"The espeak engine speaks {', '.join(cls.languages)}, not {voice.language!r}.",
                voice=voice.name,
                language=voice.language,
            )

    @classmethod
    def missing_reason(cls) -> str | None:
        from lipforge.phonetics import espeaklib

        for name in espeaklib.LIBRARY_NAMES:
            try:
                ctypes.CDLL(name)
                return None
            except OSError:
                continue
        return "libespeak-ng is not installed (Debian: apt-get install espeak-ng)"

    def synthesize(self, text: str, language: str) -> Utterance:
        parts = [self._speak(lang, run) for lang, run in self._runs(text, language)]
        if not parts:
            return Utterance(np.zeros(0, np.float32), 22050, ())
        rate = parts[0][1]
        samples, phones, offset_s = [], [], 0.0
        for part_samples, _, part_phones in parts:
            samples.append(part_samples)
            phones += [
                Phone(p.symbol, p.start_s + offset_s, p.end_s + offset_s) for p in part_phones
            ]
            offset_s += len(part_samples) / rate
        audio = np.concatenate(samples).astype(np.float32) / 32768.0
        return Utterance(audio, rate, tuple(phones))

    def _runs(self, text: str, language: str) -> list[tuple[str, str]]:
        """(espeak voice, text) per run; Chinese runs already in numbered pinyin."""
        out = []
        for lang, run in chinese.runs(chinese.normalize(text)):
            if lang == "zh" and not chinese.has_han(run) and language != "zh":
                lang = "en"  # digits and signs between English words are read in English
            if lang == "zh":
                run = chinese.to_numbered_pinyin(chinese.numbers_to_hanzi(run))
            out.append((ESPEAK_VOICE_BY_LANGUAGE[lang], run))
        return [(voice, run) for voice, run in out if speakable(run)]

    def _speak(self, espeak_voice: str, text: str):
        from lipforge.phonetics import espeaklib

        try:
            return tuple(espeaklib.synthesize(text, espeak_voice, rate_wpm=self.rate_wpm))
        except espeaklib.EspeakError as exc:
            raise SpeechEngineMissingError(
                f"espeak-ng could not speak for voice {self.voice.name!r}: {exc}",
                voice=self.voice.name,
                reason=str(exc),
            ) from exc

    def close(self) -> None:
        pass
