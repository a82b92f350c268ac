"""Lip-sync on a source whose presenter talks: the new speech alone moves the mouth.

The still test head is first made to speak other speech (its mouth opened to that speech's
loudness: a render from the audio alone), then rendered again with the new speech and its
script phones. MediaPipe, run here on the output, judges it against the new speech's phones
(`viseme_measure`: closures, rest in pauses) and loudness, and against the old speech's
loudness (`talking_sources`). A small version of `bench/visemes.py --talking`. Checks of the
rest picture itself (`restmouth`) run on single frames without a render.
"""

from __future__ import annotations

import numpy as np
import pytest
from tests.lipsync.mouth_measure import decode_frames, face_landmarks, mouth_opening
from tests.lipsync.talking_sources import (
    fitted,
    make_talking_source,
    measure_talking,
    pause_pixel_steps,
)
from tests.lipsync.viseme_measure import CaseSpec, synthesize_case, write_case_wav
from tests.support import media_factory as factory

from lipforge.lipsync.engines.meshwarp.mouthwarp import MouthPose, measure_mouth, warp_mouth
from lipforge.lipsync.engines.meshwarp.restmouth import RestMouth
from lipforge.lipsync.pipeline import RenderRequest, render

FACE = (720, 1280)  # portrait: the astronaut's face is about 250 px tall
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


@pytest.fixture(scope="module")
def head_frames():
    """The astronaut, jittered as the test head is, with her landmarks (as the tracker gives)."""
    canvas = factory.astronaut_canvas(FACE)
    frames = list(factory.moving_frames(canvas, 0.4, factory.FPS))
    landmarks = [np.c_[p, np.zeros(len(p))].astype(np.float32) for p in face_landmarks(frames)]
    return frames, landmarks


def test_a_still_source_passes_through_untouched(head_frames):
    frames, landmarks = head_frames
    rest = RestMouth()
    for frame, points in zip(frames, landmarks, strict=True):
        out, moved = rest.apply(frame.copy(), points, hold=True)
        assert np.array_equal(out, frame) and np.array_equal(moved, points)
        assert rest.last_weight == 0.0


def test_an_open_source_mouth_is_put_back_to_the_videos_rest_mouth(head_frames):
    """A frame whose mouth gapes (other speech) gets the kept rest mouth back, lined up with
    its own head; the mouth that measures shut in the rest frame measures shut again."""
    frames, landmarks = head_frames
    rest = RestMouth()
    shut = warp_mouth(frames[0], measure_mouth(landmarks[0]), MouthPose(0.0, 0.0))
    shut_points = np.c_[face_landmarks([shut])[0], np.zeros(468)].astype(np.float32)
    rest.apply(shut.copy(), shut_points)  # the first frame: kept
    last = len(frames) - 1
    gaping = warp_mouth(frames[last], measure_mouth(landmarks[last]), MouthPose(1.0, 0.0))
    out, moved = rest.apply(gaping.copy(), landmarks[last])
    assert rest.last_weight == 1.0
    assert mouth_opening(face_landmarks([gaping])[0]) > mouth_opening(shut_points) + 0.05
    assert abs(mouth_opening(face_landmarks([out])[0]) - mouth_opening(shut_points)) < 0.01
    x, y = np.round(moved[2, :2]).astype(int)  # the nose base
    nose = np.s_[y - 60 : y - 20, x - 30 : x + 30]
    assert np.abs(out[nose].astype(int) - gaping[nose].astype(int)).mean() < 1  # head untouched


def test_the_rest_mouth_sits_steady_on_a_still_head_and_keeps_up_with_one_that_moves():
    """The rest picture's placement (one pixel fit per frame, scattered by about 0.15 px) is
    steadied without trailing the head: still, it wobbles far less than the fits; when the head
    starts or stops moving (2 px per frame), it stays within a pixel of where the head is."""
    from lipforge.lipsync.engines.meshwarp import restmouth

    rng = np.random.default_rng(3)
    landmarks = np.zeros((468, 3), np.float32)
    landmarks[list(restmouth.MOUTH_CORNERS), :2] = [(300.0, 500.0), (400.0, 500.0)]
    kept = restmouth._Kept(np.zeros((1, 1, 3), np.float32), np.zeros((1, 1), np.float32),
                           np.zeros(2), landmarks, 0.0, 0.0)  # fmt: skip
    steadier = restmouth._Steadier()
    corner = landmarks[restmouth.MOUTH_CORNERS[0], :2]
    truth = [np.array([2.0 * min(max(t - 40, 0), 40), 0.0]) for t in range(120)]
    placed, fits = [], []
    for shift in truth:
        fit = np.hstack([np.eye(2), (shift + rng.normal(0.0, 0.15, 2))[:, None]])
        matrix = steadier.steady(kept, fit, face_px=250.0)
        placed.append(corner @ matrix[:, :2].T + matrix[:, 2] - corner)
        fits.append(fit[:, 2])
    placed, fits, truth = np.array(placed), np.array(fits), np.array(truth)
    still = slice(5, 40)
    wobble = np.abs(np.diff(placed[still], axis=0)).mean()
    assert wobble < 0.5 * np.abs(np.diff(fits[still], axis=0)).mean()
    assert np.abs(placed - truth).max() < 1.0


@pytest.fixture(scope="module")
def talking_render(make_talking_head, tmp_path_factory):
    return render_talking(make_talking_head, tmp_path_factory.mktemp("talking"))


def render_talking(make_head, work):
    """The CI clip: the still head made to talk (OLD), rendered with NEW, measured; with what
    moves by pixels in NEW's pauses, in the output and in the still head."""
    new = synthesize_case(NEW)
    seconds = new.duration_s + 0.4
    old = fitted(synthesize_case(OLD, lead_s=0.05), seconds)
    still = make_head(work / "still.mp4", seconds, FACE)
    source = make_talking_source(still, old, work, with_phones=False)
    audio = write_case_wav(new, work / "new.wav")
    output = work / "out.mp4"
    render(RenderRequest(audio, source, output, timing=new.timing(), fit="trim"))
    old_audio = write_case_wav(old, work / "old.wav")
    measured, outputs = measure_talking(new, old, output, still, audio, old_audio)
    steps = pause_pixel_steps(new, outputs), pause_pixel_steps(new, decode_frames(still))
    return measured, steps


# Regression guards a margin under what was measured (bench/visemes.py --talking prints the
# full set against the targets: closures >= 90 %, rest >= 95 %, r(new) >= 0.7,
# |r(old)| <= 0.2). On this clip the engine before the rest picture (main at 60f8293)
# measured closures 53 %, rest 12 %, r(new) 0.69, r(old) +0.43; now closures 100 %, rest
# 100 %, rounding 11.2 %, r(new) 0.79, r(old) +0.16, the same on every run: the speech comes
# from a fresh espeak-ng, and the encoder no longer varies from run to run (`media/encode.py`;
# before, rest measured 85-100 % on renders of this clip). The rest guard leaves room for
# MediaPipe's reading of held shut lips (0.018-0.025 from frame to frame where stillness allows
# 0.004), which a small change of the warp can make trip on a frame or two.


@pytest.mark.slow
def test_on_a_talking_source_the_new_speech_moves_the_mouth_not_the_old(talking_render):
    measured, _ = talking_render
    line = measured.line()
    assert measured.new.closures >= 0.9, line + f" open on {measured.new.missed}"
    assert measured.new.silence_rest >= 0.9, line
    assert measured.new.loudness_r >= 0.7, line
    assert abs(measured.old_r) <= 0.2, line


# What a viewer sees move in the pauses, by pixels with the head's motion undone: the rest
# picture laid over a talking head must sit as still as the still head's own mouth (encoding
# noise). Measured, 90th percentile of the mouth box's grey change per frame: still head 0.88;
# output 1.55 with the picture fitted on half-size pixels and unsteadied (main at 5bca15f), 0.90
# fitted on full-size pixels and steadied.
STILL_AS_THE_HEAD = 1.25


@pytest.mark.slow
def test_in_the_new_speechs_pauses_the_mouth_is_as_still_as_a_still_heads(talking_render):
    _, (output, still) = talking_render
    assert np.percentile(output, 90) <= STILL_AS_THE_HEAD * np.percentile(still, 90), (
        f"pause pixel steps, 90th percentile: output {np.percentile(output, 90):.2f},"
        f" still head {np.percentile(still, 90):.2f}"
    )


if __name__ == "__main__":  # the clip alone: PYTHONPATH=. python tests/lipsync/test_talking.py
    import sys
    import tempfile
    from pathlib import Path

    measured, (output, still) = render_talking(factory.make_talking_head, Path(tempfile.mkdtemp()))
    print(
        measured.line(),
        f"pause pixel steps, 90th: output {np.percentile(output, 90):.2f}"
        f" still head {np.percentile(still, 90):.2f}",
    )
    sys.exit(0)
