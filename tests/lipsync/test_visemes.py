"""Phoneme-driven mouths: the phones' sources, the viseme tracks, and the rendered mouth measured.

Unit checks run on espeak-ng's own phones (libespeak-ng's events are the ground truth). The
end-to-end check is a small version of `bench/visemes.py`: one English sentence pair rich in
b/m with a long pause, rendered onto the portrait test face with its script phones and from
the audio alone, and onto the small square face with its script phones, the output mouth
tracked with MediaPipe (`viseme_measure`).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.signal import resample_poly
from tests.lipsync.audio_input import features, silence
from tests.lipsync.mouth_measure import decode_frames, face_landmarks
from tests.lipsync.viseme_measure import CaseSpec, measure_output, synthesize_case, write_case_wav
from tests.support.espeak_fresh import synthesize

from lipforge.lipsync.aligner import align_text
from lipforge.lipsync.engines.meshwarp.mouthshape import mouth_poses
from lipforge.lipsync.engines.meshwarp.visemes import viseme_tracks
from lipforge.lipsync.pipeline import RenderRequest, render
from lipforge.media.audio import SAMPLE_RATE, analyse_audio
from lipforge.media.timing import Phone, Sentence, SpeechTiming

FPS = 25.0
FACE = (480, 852)  # portrait: the astronaut's face is about 170 px tall
SMALL_FACE = (512, 512)  # square: about 100 px tall
CASE = CaseSpec(
    "ci-bilabial", "en-us", ("Bob met my mom by the big boat.", "Maybe Paul will bring a map."), 1.0
)


def to_16k(samples: np.ndarray, rate: int) -> np.ndarray:
    return resample_poly(samples.astype(np.float64) / 32768.0, SAMPLE_RATE, rate).astype(np.float32)


def test_a_short_bilabial_still_shuts_the_lips_on_a_whole_frame():
    phones = (Phone("ɑː", 0.30, 0.45), Phone("b", 0.452, 0.47), Phone("ɑː", 0.47, 0.7))
    tracks = viseme_tracks(phones, FPS, 25)
    assert tracks.closed[11] and tracks.opening[11] == 0.0  # 0.452-0.47 s lies in frame 11
    assert tracks.opening[9] > 0.4 and tracks.opening[14] > 0.4


def test_a_pause_eases_to_rest_and_holds_exactly_still_without_flicker():
    phones = (
        Phone("ɑ", 0.2, 0.5),
        Phone("ɑ", 1.5, 1.8),
        Phone("i", 1.8, 1.84),
        Phone("ɑ", 1.84, 2.1),
    )
    tracks = viseme_tracks(phones, FPS, 60)
    pause = slice(int(0.6 * FPS), int(1.4 * FPS))
    assert tracks.resting[pause].all()
    assert np.all(tracks.opening[pause] == 0.0) and np.all(tracks.spread[pause] == 0.0)
    assert 0.0 < tracks.opening[13] < tracks.opening[10]  # eased, not cut
    steps = np.abs(np.diff(tracks.spread[40:55]))
    assert steps.max() < 0.6  # a 40 ms "i" between two "a" spreads the lips without a jump


def test_the_fallback_rests_in_silence_and_never_freezes_when_phones_are_wrong():
    samples, rate, phones = synthesize("Maybe Paul will bring a map.", "en-us")
    wrong = tuple(Phone("m", p.start_s + 1.0, p.end_s + 1.0) for p in phones)  # all "m"
    audio = features(silence(1.0), to_16k(samples, rate))
    misheard = mouth_poses(dataclasses.replace(audio, phones=wrong, phone_source="heard"))
    heard = mouth_poses(audio)
    assert np.all(heard.opening[3:20] == 0.0) and heard.resting[3:20].all()
    speech = slice(27, audio.frame_count - 5)
    assert misheard.opening[speech].max() > 0.5  # loud vowels stay open despite the "m"s
    assert np.corrcoef(misheard.opening[speech], heard.opening[speech])[0, 1] > 0.6


def test_a_bilabial_after_a_pause_presses_the_lips_with_its_sound_not_before():
    samples, rate, phones = synthesize("Maybe Paul will bring a map.", "en-us")
    audio = features(silence(1.0), to_16k(samples, rate))
    shifted = tuple(Phone(p.symbol, p.start_s + 1.0, p.end_s + 1.0) for p in phones)
    poses = mouth_poses(dataclasses.replace(audio, phones=shifted, phone_source="script"))
    first_m = int(shifted[0].start_s * FPS)  # the frame the "m" starts in
    assert shifted[0].symbol == "m" and audio.loudness[first_m - 2 : first_m].max() == 0.0
    assert not poses.pressed[:first_m].any()  # the resting lips, already shut, hold still
    assert np.all(poses.opening[: first_m - 1] == 0.0)  # (the last silent frame may lead in)
    assert poses.pressed[first_m : first_m + 2].all()  # shut through the m's murmur


@pytest.mark.parametrize(
    "text, voice",
    [
        ("Maybe Paul will bring the papers by Monday.", "en-us"),
        ("妈妈买了面包，不怕。", "cmn-latn-pinyin"),
    ],
)
def test_a_transcript_is_aligned_to_speech_it_did_not_make(text, voice):
    """Speech at another rate and pitch stands in for a TTS server's; its own events judge."""
    samples, rate, truth = synthesize(text, voice, rate_wpm=130, pitch=75)
    heard = np.concatenate([np.zeros(SAMPLE_RATE // 2, np.float32), to_16k(samples, rate)])
    placed = align_text(heard, text, voice)
    assert [p.symbol for p in placed] == [p.symbol for p in truth]
    errors = [abs(p.start_s - (t.start_s + 0.5)) for p, t in zip(placed, truth, strict=True)]
    assert np.median(errors) < 0.03 and np.percentile(errors, 90) < 0.06


@pytest.fixture(scope="module")
def rendered(make_talking_head, tmp_path_factory):
    work = tmp_path_factory.mktemp("visemes")
    case = synthesize_case(CASE)
    audio = write_case_wav(case, work / "speech.wav")
    heads = {
        size: make_talking_head(work / f"head{size[1]}.mp4", case.duration_s + 0.4, size)
        for size in (FACE, SMALL_FACE)
    }
    inputs = {}
    results = {}
    modes = (("script", case.timing(), FACE), ("audio", None, FACE))
    for mode, timing, size in (*modes, ("script-small", case.timing(), SMALL_FACE)):
        head = heads[size]
        out = render(RenderRequest(audio, head, work / f"{mode}.mp4", timing=timing))
        outputs = decode_frames(out.output_path)
        if size not in inputs:
            inputs[size] = face_landmarks(decode_frames(head)[: len(outputs)])
        loudness = analyse_audio(audio, FPS, len(outputs)).loudness
        results[mode] = measure_output(case, face_landmarks(outputs), inputs[size], loudness)
    return results


# Regression guards a margin under the levels measured (bench/visemes.py prints the full
# set against the targets: closures >= 90 %, rest >= 95 %, rounding >= 10 %,
# loudness r >= 0.8). This face is smaller than the bench's (170 px vs 250 px tall): MediaPipe
# reads lips the warp shuts as a gap of 0.020-0.032 of its height here, at the 0.03 closed
# threshold, with a jitter of about 0.004 from frame to frame. The speech comes from a fresh
# espeak-ng (tests/support/espeak_fresh.py), so these figures are the same on every run, alone
# or inside a whole run (in-process espeak-ng moved rest in pauses between 76 and 100 %).
# Measured with script phones: closures 100 %, rest 100 %, rounding 11.5 %, r 0.77; from the
# audio alone (the built-in ear): closures 87 %, rest 79-91 %, rounding 9.6-10.1 %, r 0.80; on
# the small face: closures 100 %, rest 100 %. Rest moves by 10 points with small changes of the
# warp (MediaPipe's jitter on shut lips sits at the stillness threshold), hence the margins.
@pytest.mark.slow
def test_with_script_phones_the_lips_close_on_b_m_p_and_rest_in_pauses(rendered):
    measured = rendered["script"]
    assert measured.closures >= 0.85, measured.line() + f" open on {measured.missed}"
    assert measured.silence_rest >= 0.9, measured.line()
    assert measured.rounding >= 0.07, measured.line()
    assert measured.loudness_r >= 0.7, measured.line()


# On a face about 100 px tall the lips' blurred inner edges are 3-4 % of its height: lips
# brought together only landmark to landmark kept a pale line between them that read as
# parted (closures 60-100 %, rest 36-76 % here at 496-528 px); shut past the edges (mouthwarp's
# SHUT_EDGE_PX) they measure closures 100 % and rest 97-100 %.
@pytest.mark.slow
def test_on_a_small_face_the_lips_shut_on_b_m_p_and_in_pauses(rendered):
    measured = rendered["script-small"]
    assert measured.closures >= 0.85, measured.line() + f" open on {measured.missed}"
    assert measured.silence_rest >= 0.85, measured.line()


@pytest.mark.slow
def test_from_the_audio_alone_the_lips_shut_on_b_m_p_and_rest_in_pauses(rendered):
    """The built-in ear (PocketSphinx before it shut the lips on about a third of these);
    the issue's targets from the audio alone: closures >= 60 %, rounding >= 8 %, loudness
    r >= 0.7 (PocketSphinx's r 0.95 came from a mouth that seldom shut on a loud m)."""
    measured = rendered["audio"]
    assert measured.closures >= 0.6, measured.line() + f" open on {measured.missed}"
    assert measured.silence_rest >= 0.7, measured.line()
    assert measured.rounding >= 0.07, measured.line()
    assert measured.loudness_r >= 0.7, measured.line()


def test_timing_sentences_without_phones_take_the_aligned_path(tmp_path):
    from lipforge.lipsync.phonesource import find_phones

    text = "Maybe Paul will bring a map."
    samples, rate, truth = synthesize(text, "en-us", rate_wpm=150)
    heard = to_16k(samples, rate)
    timing = SpeechTiming((Sentence(text, 0.0, len(heard) / SAMPLE_RATE),), None, "en")
    phones, source = find_phones(heard, timing)
    assert source == "aligned" and [p.symbol for p in phones] == [p.symbol for p in truth]
    assert find_phones(heard, SpeechTiming((), truth, "en")) == (truth, "script")
    assert find_phones(heard, None)[1] == "heard"
