"""A long script costs no more memory than a short one, and a cancel stops a trickling speech.

The engine here is a stand-in registered for the test (a buzz as long as the text reads), so
the measure is the script pipeline's own: pieces, pauses, resampling, loudness and the WAV.
"""

from __future__ import annotations

import threading
import time
import tracemalloc
import wave
from typing import ClassVar

import pytest
from tests.speech.standins import voiced

from lipforge.errors import CancelledError
from lipforge.speech.engines import SPEECH_ENGINES, Utterance
from lipforge.speech.script import synthesize_script
from lipforge.speech.voices import Voice

SENTENCE = "Light travels from the sun to the leaves, and plants use it to make food. "
STANDIN_RATE = 22050
STALL_S = 6.0


class BuzzEngine:
    name: ClassVar[str] = "test-buzz"
    languages: ClassVar[tuple[str, ...]] = ("*",)
    max_input_chars: ClassVar[int] = 1000
    needs_url: ClassVar[bool] = False
    voice_shapes: ClassVar[list[dict]] = []
    voice_fields: ClassVar[tuple[str, ...]] = ()
    required_fields: ClassVar[tuple[str, ...]] = ()
    stall = threading.Event()  # while set, every request hangs (a trickling server)

    def __init__(self, voice, context) -> None:
        pass

    @classmethod
    def check_voice(cls, voice) -> None:
        pass

    @classmethod
    def missing_reason(cls) -> str | None:
        return None

    def synthesize(self, text: str, language: str) -> Utterance:
        while self.stall.is_set():
            time.sleep(0.05)
        return Utterance(voiced(text, STANDIN_RATE), STANDIN_RATE, None)

    def close(self) -> None:
        pass


@pytest.fixture(autouse=True)
def buzz_engine(monkeypatch):
    """The stand-in engine is registered for this module's tests only (not for the session)."""
    monkeypatch.setitem(SPEECH_ENGINES, BuzzEngine.name, BuzzEngine)


def peak_bytes(settings, text: str, name: str) -> int:
    voice = Voice(name, "test-buzz")
    tracemalloc.start()
    try:
        synthesize_script(voice, text, settings.data_dir.root / f"{name}.wav", settings)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_peak_memory_does_not_grow_with_the_scripts_length(settings):
    short = peak_bytes(settings, SENTENCE * 12, "short")  # ~900 characters, ~1 minute
    long = peak_bytes(settings, SENTENCE * 120, "long")  # ~9,000 characters, ~9 minutes
    with wave.open(str(settings.data_dir.root / "long.wav")) as reader:
        assert reader.getnframes() / reader.getframerate() > 500
    assert long < 1.5 * short + 4_000_000, (short, long)
    assert long < 60_000_000, long  # before streaming: ~1 GB for this script


def test_cancel_is_seen_within_a_second_while_a_piece_hangs(settings):
    voice = Voice("stalled", "test-buzz")
    cancelled = threading.Event()
    BuzzEngine.stall.set()
    threading.Timer(STALL_S, BuzzEngine.stall.clear).start()  # the server mends at last
    try:
        threading.Timer(0.5, cancelled.set).start()
        started = time.monotonic()
        with pytest.raises(CancelledError):
            synthesize_script(
                voice,
                SENTENCE * 3,
                settings.data_dir.root / "x.wav",
                settings,
                should_cancel=cancelled.is_set,
            )
        assert time.monotonic() - started < 2.0
    finally:
        BuzzEngine.stall.clear()
    assert not list(settings.data_dir.root.glob("*.f32")), "the scratch file is removed"
