"""meshwarp, frame by frame: what the audio does to the mouth, and what the warp leaves alone.

Mouth poses are checked on synthetic voiced sounds (formants chosen like a, i, u and a
nasal murmur) run through the real audio features; the warp is checked on the astronaut,
who smiles with her teeth showing, with MediaPipe as an independent judge.
"""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data as skdata
from tests.lipsync.audio_input import features, silence
from tests.lipsync.mouth_measure import (
    INNER_LOWER_LIP_MID,
    INNER_UPPER_LIP_MID,
    face_landmarks,
    laplacian_variance,
    lower_face_mask,
    mouth_opening,
)
from tests.lipsync.still_tracking import tracked_landmarks

from lipforge.lipsync.engine import FrameBatch, create_engine
from lipforge.lipsync.engines.meshwarp.mouthshape import mouth_poses
from lipforge.lipsync.engines.meshwarp.mouthwarp import MouthPose, measure_mouth, warp_mouth
from lipforge.media.audio import SAMPLE_RATE

FPS = 25.0
VOWEL_A = [(750, 120), (1200, 150), (2500, 200)]
VOWEL_I = [(300, 80), (2300, 200), (3000, 250)]
VOWEL_U = [(300, 80), (800, 120)]
NASAL_M = [(250, 80)]


def voiced(seconds: float, formants: list[tuple[float, float]], f0_hz: float = 120.0):
    """A steady voiced sound: harmonics of f0 shaped by Gaussian formant peaks, RMS 0.1."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    sound = np.zeros_like(t)
    for k in range(1, int(4000 / f0_hz)):
        gain = sum(np.exp(-((((k * f0_hz) - centre) / width) ** 2)) for centre, width in formants)
        sound += (gain + 1e-3) * np.sin(2 * np.pi * k * f0_hz * t)
    return sound / np.sqrt(np.mean(sound**2)) * 0.1


def frames_of(start_s: float, end_s: float) -> slice:
    """The frames well inside [start_s, end_s) (0.2 s margins for attack and release)."""
    return slice(round((start_s + 0.2) * FPS), round((end_s - 0.2) * FPS))


def test_silence_keeps_the_lips_closed():
    poses = mouth_poses(features(silence(1.0)))
    assert np.all(poses.opening == 0.0)


def test_a_vowel_opens_the_mouth_steadily_and_a_pause_closes_it():
    poses = mouth_poses(features(silence(0.5), voiced(1.0, VOWEL_A), silence(1.0)))
    vowel, pause = poses.opening[frames_of(0.5, 1.5)], poses.opening[frames_of(1.5, 2.5)]
    assert vowel.min() > 0.8 and vowel.std() < 0.02
    assert pause.max() < 0.05


def test_the_mouth_opens_fast_and_closes_a_little_slower():
    poses = mouth_poses(features(silence(0.4), voiced(0.6, VOWEL_A), silence(0.6)))
    opening = poses.opening
    peak = int(np.argmax(opening > 0.9))
    rise = peak - int(np.argmax(opening > 0.1))
    last_open = int(np.flatnonzero(opening > 0.9)[-1])
    fall = int(np.argmax(opening[last_open:] < 0.1))
    assert rise <= 2  # open within 80 ms
    assert rise < fall <= 5  # close a little slower, within 200 ms


def test_a_nasal_murmur_keeps_the_lips_closer_than_a_vowel_as_loud():
    poses = mouth_poses(
        features(voiced(1.0, VOWEL_A), silence(0.4), voiced(1.0, NASAL_M), silence(0.4))
    )
    vowel = poses.opening[frames_of(0.0, 1.0)].mean()
    nasal = poses.opening[frames_of(1.4, 2.4)].mean()
    assert nasal < 0.7 * vowel


def test_i_spreads_the_lips_and_u_rounds_them():
    poses = mouth_poses(features(voiced(1.0, VOWEL_I), silence(0.4), voiced(1.0, VOWEL_U)))
    assert poses.spread[frames_of(0.0, 1.0)].mean() > 0.3
    assert poses.spread[frames_of(1.4, 2.4)].mean() < -0.3


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return skdata.astronaut()


@pytest.fixture(scope="module")
def tracked(astronaut) -> np.ndarray:
    return tracked_landmarks(astronaut, "astronaut.png", FPS)


@pytest.fixture(scope="module")
def judged(astronaut) -> np.ndarray:
    """MediaPipe's own landmarks of the input, for the judge's masks and crops."""
    return face_landmarks([astronaut] * 3)[-1]


POSES = [MouthPose(o, s) for o in (0.0, 0.3, 0.6, 1.0) for s in (-1.0, 0.0, 1.0)]


@pytest.mark.parametrize("pose", POSES, ids=lambda p: f"open{p.opening}-spread{p.spread}")
def test_outside_the_lower_face_nothing_changes_at_all(astronaut, tracked, judged, pose):
    out = warp_mouth(astronaut, measure_mouth(tracked), pose)
    outside = ~lower_face_mask(judged, astronaut.shape)
    assert np.array_equal(out[outside], astronaut[outside])


@pytest.mark.parametrize("pose", POSES, ids=lambda p: f"open{p.opening}-spread{p.spread}")
def test_the_lower_face_stays_sharp(astronaut, tracked, judged, pose):
    out = warp_mouth(astronaut, measure_mouth(tracked), pose)
    inside = lower_face_mask(judged, astronaut.shape)
    ratio = laplacian_variance(out, inside) / laplacian_variance(astronaut, inside)
    assert ratio >= 0.7


def test_the_mouth_opens_further_with_each_step_and_closes_at_zero(astronaut, tracked, judged):
    mouth = measure_mouth(tracked)
    frames = [warp_mouth(astronaut, mouth, MouthPose(o, 0.0)) for o in (0.0, 0.3, 0.6, 1.0)]
    gaps = [mouth_opening(face_landmarks([frame] * 3)[-1]) for frame in frames]
    assert all(a < b for a, b in zip(gaps, gaps[1:], strict=False)), gaps
    assert gaps[0] < 0.6 * mouth_opening(judged)


@pytest.mark.parametrize("opening", [0.3, 0.6, 1.0])
def test_the_upper_teeth_row_is_left_exactly_as_it_was(astronaut, tracked, judged, opening):
    out = warp_mouth(astronaut, measure_mouth(tracked), MouthPose(opening, 0.0))
    top, bottom = judged[INNER_UPPER_LIP_MID], judged[INNER_LOWER_LIP_MID]
    rows = slice(round(top[1]) + 1, round(top[1] + 0.5 * (bottom[1] - top[1])))
    cols = slice(round(top[0]) - 12, round(top[0]) + 12)
    assert np.array_equal(out[rows, cols], astronaut[rows, cols])


def test_same_input_same_output(astronaut, tracked):
    engine = create_engine("meshwarp")
    engine.load(None)
    engine.start(features(silence(0.2), voiced(0.4, VOWEL_A)))
    batch = FrameBatch(indices=np.arange(15), frames=[astronaut] * 15, landmarks=[tracked] * 15)
    first, second = engine.process(batch), engine.process(batch)
    engine.close()
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert not np.array_equal(first[2], first[12])  # closed in the pause, open in the vowel
