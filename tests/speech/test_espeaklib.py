"""libespeak-ng through ctypes: samples and IPA phones with times that match the sound."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from lipforge.phonetics.espeaklib import EspeakError, synthesize


def _rms(samples: np.ndarray, rate: int, start_s: float, end_s: float) -> float:
    part = samples[int(start_s * rate) : int(end_s * rate)].astype(np.float64)
    return float(np.sqrt((part**2).mean())) if len(part) else 0.0


def test_english_phones_are_ipa_and_timed_against_the_audio():
    samples, rate, phones = synthesize("Bob bought a map. Maybe later.", "en-us")
    assert samples.dtype == np.int16 and rate == 22050
    symbols = [p.symbol for p in phones]
    assert symbols[:2] == ["b", "ɑː"] and "æ" in symbols and "eɪ" in symbols
    assert all(a.end_s <= b.start_s + 1e-9 for a, b in zip(phones, phones[1:], strict=False))
    assert phones[-1].end_s <= len(samples) / rate + 1e-6
    vowels = [p for p in phones if p.symbol in ("ɑː", "æ", "eɪ")]
    loud = np.median([_rms(samples, rate, p.start_s, p.end_s) for p in vowels])
    pairs = zip(phones, phones[1:], strict=False)
    gap = next((a.end_s, b.start_s) for a, b in pairs if b.start_s > a.end_s)
    assert gap[1] - gap[0] > 0.15  # the sentence pause is a gap between phones
    assert _rms(samples, rate, gap[0] + 0.03, gap[1] - 0.03) < 0.05 * loud


def test_mandarin_pinyin_voice_and_rate():
    slow = synthesize("ni3 hao3 ma1", "cmn-latn-pinyin", rate_wpm=120)
    fast = synthesize("ni3 hao3 ma1", "cmn-latn-pinyin", rate_wpm=300)
    assert [p.symbol for p in slow.phones][:2] == ["n", "i"]
    assert "m" in [p.symbol for p in slow.phones]
    assert fast.duration_s < 0.75 * slow.duration_s


def test_unknown_voice_raises_and_threads_are_serialized():
    with pytest.raises(EspeakError) as info:
        synthesize("hello", "no-such-voice")
    assert info.value.voice == "no-such-voice"
    results: list[int] = []

    def speak() -> None:
        results.append(len(synthesize("one two three", "en-us").phones))

    threads = [threading.Thread(target=speak) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1 and results[0] > 5
