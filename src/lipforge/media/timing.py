"""What was said when in a driving audio: sentence and phoneme timings.

The speech room (`lipforge.speech`) fills a `SpeechTiming` when it makes an audio from a
script; the lip-sync room reads it to drive mouth shapes. A transcript given with an audio
of unknown origin arrives as sentences without phones. This module holds only the value
types and their JSON form; it knows nothing of engines or aligners.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Phone:
    """One phoneme: its IPA symbol and when it sounds, in seconds from the audio's start."""

    symbol: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Sentence:
    """One sentence of the script and when it is spoken (its subtitle cue)."""

    text: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class SpeechTiming:
    """Sentence timings of an audio, and its phones where whoever made it reported them."""

    sentences: tuple[Sentence, ...]
    phones: tuple[Phone, ...] | None = None  # None: not known (align, or hear the audio, instead)
    language: str = ""  # BCP-47 of the script ("zh", "en"); "" when unknown

    def to_json(self) -> dict:
        return {
            "language": self.language,
            "sentences": [[s.text, s.start_s, s.end_s] for s in self.sentences],
            "phones": None
            if self.phones is None
            else [[p.symbol, p.start_s, p.end_s] for p in self.phones],
        }

    @classmethod
    def from_json(cls, data: dict) -> SpeechTiming:
        phones = data.get("phones")
        return cls(
            sentences=tuple(Sentence(t, float(a), float(b)) for t, a, b in data["sentences"]),
            phones=None
            if phones is None
            else tuple(Phone(s, float(a), float(b)) for s, a, b in phones),
            language=data.get("language", ""),
        )
