"""Lip-sync on a source whose presenter talks: the new speech alone moves the mouth.

The still test head is first made to speak other speech (its mouth opened to that speech's
loudness: a render from the audio alone), then rendered again with the new speech and its
script phones. MediaPipe, run here on the output, judges it against the new speech's
phones (`viseme_measure`) and against the old speech's loudness (`talking_sources`). A
small version of `bench/visemes.py --talking`; unit checks of the rest-mouth estimate and
of the pause hold run without a render.
"""

from __future__ import annotations

import numpy as np
import pytest
from tests.lipsync.mouth_measure import face_landmarks, mouth_opening
from tests.lipsync.talking_sources import fitted, make_talking_source, measure_talking
from tests.lipsync.viseme_measure import CaseSpec, synthesize_case, write_case_wav
from tests.support import media_factory as factory

from lipforge.lipsync.engines.meshwarp.mouthwarp import MouthPose, measure_mouth, warp_mouth
from lipforge.lipsync.engines.meshwarp.pausehold import PauseHold
from lipforge.lipsync.engines.meshwarp.restmouth import RestMouthEstimate
from lipforge.lipsync.pipeline import RenderRequest, render

FACE = (720, 1280)  # portrait: the astronaut's face is about 250 px tall (pauses held)
NEW = CaseSpec(
    "ci-talking", "en-us", ("Bob met my mom by the big boat.", "Maybe Paul will bring a map."), 1.0
)
OLD = CaseSpec(
    "ci-old",
    "en-us",
    (
        "Hello everyone, today we will talk about the moon, the stars and the planets.",
        "Look at the sky tonight, and you will see all of them shining above the city lights.",
    ),
    pause_s=0.2,
)


def test_the_rest_mouth_is_read_from_the_quietest_frames_in_fixed_memory():
    estimate = RestMouthEstimate()
    assert estimate.rest() is None
    rng = np.random.default_rng(0)
    talking = np.concatenate([np.full(30, 0.01), rng.uniform(0.04, 0.12, 270)])
    for gap in rng.permutation(talking):
        estimate.add(float(gap), 0.18)
    rest = estimate.rest()
    assert rest is not None and rest.gap_fraction <= 0.012 and rest.half_width_fraction == 0.18
    size = sum(h._counts.nbytes for h in (estimate._gaps, estimate._half_widths))
    for gap in rng.uniform(0.0, 0.2, 5000):
        estimate.add(float(gap), 0.18)
    assert sum(h._counts.nbytes for h in (estimate._gaps, estimate._half_widths)) == size


def test_an_open_source_mouth_comes_back_to_the_videos_rest(astronaut_and_landmarks):
    """The rest pose on the source's mouth opened wide goes back to the video's rest mouth
    (absolute target); the old relative warp kept the source's gap (it only added to it)."""
    image, landmarks = astronaut_and_landmarks
    mouth = measure_mouth(landmarks)
    opened = warp_mouth(image, mouth, MouthPose(1.0, 0.0))
    found = face_landmarks([opened])[0]
    wide = np.c_[found, np.zeros(len(found))].astype(np.float32)
    rest = RestMouthEstimate()
    rest.add(mouth.gap_fraction, mouth.half_width_px / mouth.face_height_px)
    at_rest = warp_mouth(opened, measure_mouth(wide), MouthPose(0.2, 0.0), rest=rest.rest())
    still_gap = mouth_opening(face_landmarks([image])[0])
    assert mouth_opening(found) > still_gap + 0.03  # the source really gapes
    assert abs(mouth_opening(face_landmarks([at_rest])[0]) - still_gap) < 0.012


def test_a_pause_holds_its_mouth_still_while_the_source_mouth_moves(astronaut_and_landmarks):
    image, landmarks = astronaut_and_landmarks
    mouth = measure_mouth(landmarks)
    hold = PauseHold()
    frames = [warp_mouth(image, mouth, MouthPose(o, 0.0)) for o in (0.0, 0.0, 0.0, 0.6, 1.0)]
    held = [hold.apply(f.copy(), mouth, resting=True) for f in frames]
    x, y = np.round(mouth.centre).astype(int)
    half = round(mouth.half_width_px)
    lips = np.s_[y - half // 2 : y + half, x - half : x + half]  # the lips and under them

    def moved(a: np.ndarray, b: np.ndarray) -> float:  # mean change per pixel and channel
        return float(np.abs(a[lips].astype(int) - b[lips].astype(int)).mean())

    assert moved(frames[4], frames[2]) > 10  # the mouth under the pause did move
    assert moved(held[3], held[2]) < 1 and moved(held[4], held[2]) < 1  # held still
    after = hold.apply(frames[4].copy(), mouth, resting=False)
    assert np.array_equal(after, frames[4])  # the pause ended: nothing held


@pytest.fixture(scope="module")
def astronaut_and_landmarks():
    image = factory.astronaut_canvas((720, 1280))
    points = face_landmarks([image])[0]
    return image, np.c_[points, np.zeros(len(points))].astype(np.float32)


@pytest.fixture(scope="module")
def talking_render(make_talking_head, tmp_path_factory):
    return render_talking(make_talking_head, tmp_path_factory.mktemp("talking"))


def render_talking(make_head, work):
    """The CI clip: the still head made to talk (OLD), rendered with NEW, measured."""
    new = synthesize_case(NEW)
    seconds = new.duration_s + 0.4
    old = fitted(synthesize_case(OLD, lead_s=0.05), seconds)
    still = make_head(work / "still.mp4", seconds, FACE)
    source = make_talking_source(still, old, work, with_phones=False)
    audio = write_case_wav(new, work / "new.wav")
    output = work / "out.mp4"
    render(RenderRequest(audio, source, output, timing=new.timing(), fit="trim"))
    old_audio = write_case_wav(old, work / "old.wav")
    return measure_talking(new, old, output, still, audio, old_audio)[0]


# Regression guards a margin under what was measured (bench/visemes.py --talking prints the
# full set against the targets). On one source made by the engine before this change
# (main at 2322390), that engine measured closures 60 %, rest 6 %, r(new) 0.69, r(old) +0.43;
# with the absolute targets and the pause hold: 67 %, 52 %, 0.78, +0.22. With the source made
# by this engine (as here): 93 %, 61 %, 0.79, +0.17.
@pytest.mark.slow
def test_on_a_talking_source_the_new_speech_moves_the_mouth_not_the_old(talking_render):
    measured = talking_render
    line = measured.line()
    assert measured.new.closures >= 0.55, line + f" open on {measured.new.missed}"
    assert measured.new.silence_rest >= 0.45, line
    assert measured.new.loudness_r >= 0.7, line
    assert abs(measured.old_r) <= 0.3, line


if __name__ == "__main__":  # the same clip on any checkout: python tests/lipsync/test_talking.py
    import sys
    import tempfile
    from pathlib import Path

    print(render_talking(factory.make_talking_head, Path(tempfile.mkdtemp())).line())
    sys.exit(0)
