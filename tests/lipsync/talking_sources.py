"""Source videos whose presenter talks, and close-up test faces, for judging lip-sync on them.

A talking source is made from the still test head (`media_factory.make_talking_head`) in one
of two ways: its mouth opened to the loudness of other speech (a render from the audio alone,
so the mouth follows that speech's envelope), or a LipForge output rendered with other speech
and its script phones (closures, rounding and pauses of its own). Either is then rendered again
with new speech, and `measure_talking` judges the result against the new speech (rest in its
pauses, closures, rounding, r) and against the old one (r with the speech the source was made
with, which should be near zero). A close-up head is the same astronaut scaled so that the face
is about 450 px tall in a 1920x1080 frame. Nothing here downloads anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tests.lipsync.mouth_measure import (
    MOUTH_CORNERS,
    OUTER_LOWER_LIP_MID,
    OUTER_UPPER_LIP_MID,
    decode_frames,
    face_height,
    face_landmarks,
    lagged_pearson,
)
from tests.lipsync.viseme_measure import (
    EASE_FRAMES,
    FPS,
    Case,
    Measures,
    frame_span,
    measure_output,
    pauses,
    write_case_wav,
)
from tests.support import media_factory as factory

CLOSE_UP_SIZE = (1920, 1080)  # width, height
CLOSE_UP_FACE_PX = 450  # FaceMesh forehead-to-chin height of the close-up face
ASTRONAUT_FACE_SHARE = 0.195  # the astronaut's face height over the picture's height
ASTRONAUT_FACE_CENTRE = (0.47, 0.30)  # of the picture's width and height
# Sub-pixel shifts (x, y) of the output under which rest in pauses is judged again: MediaPipe's
# reading of held shut lips sits at the stillness threshold, so the figure moved by up to 7
# points with changes nobody can see (the slit's tone by 0.0001 of the lip colour gave 97.5,
# 92.6 and 93.2 %). Their mean is steadier, not steady: across such changes it read 91-96 %.
JUDGE_SHIFTS = ((0.0, 0.0), (0.33, 0.0), (0.0, 0.33), (0.33, 0.33), (-0.33, 0.17), (0.17, -0.33))


@dataclass
class TalkingMeasures:
    """The new speech's measures, plus r of the output mouth with the source's old speech, and
    rest in pauses judged again under each of JUDGE_SHIFTS (when asked for)."""

    new: Measures
    old_r: float
    shifted_rest: tuple[float, ...] = ()

    def line(self) -> str:
        shifted = ""
        if self.shifted_rest:
            rests = self.shifted_rest
            shifted = f"; rest shifted {min(rests):.0%}-{max(rests):.0%}, mean {np.mean(rests):.0%}"
        return f"{self.new.line()}{shifted}, r with old speech {self.old_r:+.2f}"


def close_up_canvas(size: tuple[int, int] = CLOSE_UP_SIZE) -> np.ndarray:
    """The astronaut scaled so her face is CLOSE_UP_FACE_PX tall, cropped around it."""
    width, height = size
    image = factory.skdata.astronaut()
    scale = CLOSE_UP_FACE_PX / (ASTRONAUT_FACE_SHARE * image.shape[0])
    big = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    cx = int(ASTRONAUT_FACE_CENTRE[0] * big.shape[1])
    cy = int(ASTRONAUT_FACE_CENTRE[1] * big.shape[0]) + height // 8
    left = int(np.clip(cx - width // 2, 0, big.shape[1] - width))
    top = int(np.clip(cy - height // 2, 0, big.shape[0] - height))
    return np.ascontiguousarray(big[top : top + height, left : left + width])


def make_close_up_head(path: Path, seconds: float, size: tuple[int, int] = CLOSE_UP_SIZE) -> Path:
    """A 1080p clip of the close-up astronaut, jittered like the test head."""
    frames = factory.moving_frames(close_up_canvas(size), seconds, factory.FPS)
    return factory.write_video(Path(path), frames, factory.FPS)


def fitted(case: Case, seconds: float) -> Case:
    """`case` cut or padded with silence to `seconds` (its phones past the end dropped)."""
    count = round(seconds * case.sample_rate)
    samples = np.pad(case.samples, (0, max(count - len(case.samples), 0)))[:count]
    phones = tuple(p for p in case.phones if p.end_s <= seconds)
    sentences = tuple(s for s in case.sentences if s.end_s <= seconds)
    return Case(case.spec, samples, case.sample_rate, phones, sentences)


def make_talking_source(
    still_head: Path, old: Case, work: Path, with_phones: bool, tag: str = ""
) -> Path:
    """`still_head` made to speak `old`: its mouth opened to `old`'s loudness (audio alone), or
    lip-synced to it with its script phones (`with_phones`: a LipForge output)."""
    from lipforge.lipsync.pipeline import RenderRequest, render

    kind = "rerender" if with_phones else "loudness"
    path = work / f"talking_{kind}_{old.spec.name}_{still_head.stem}{tag}.mp4"
    if path.exists():
        return path
    speech = write_case_wav(old, work / f"old_{old.spec.name}.wav")
    timing = old.timing() if with_phones else None
    render(RenderRequest(speech, still_head, path, timing=timing, fit="trim"))
    return path


def measure_talking(
    new: Case,
    old: Case,
    output: Path,
    still_head: Path,
    new_audio: Path,
    old_audio: Path,
    shifts: bool = False,
) -> tuple[TalkingMeasures, list[np.ndarray]]:
    """Judge `output` (the talking source rendered with `new`): the still head's own mouth is
    the rest mouth (a talking source's own open mouth is no rest). With `shifts`, rest in
    pauses is judged again under each of JUDGE_SHIFTS."""
    from lipforge.media.audio import analyse_audio

    outputs = decode_frames(output)
    count = len(outputs)
    still = face_landmarks(decode_frames(still_head)[:count])
    new_loudness = analyse_audio(new_audio, FPS, count).loudness
    old_loudness = analyse_audio(old_audio, FPS, count).loudness
    points = face_landmarks(outputs)
    measures = measure_output(new, points, still, new_loudness)
    gap = np.array([_gap(p) for p in points])
    rests = ()
    if shifts:
        rests = tuple(
            measure_output(
                new, face_landmarks(_shifted(outputs, *shift)), still, new_loudness
            ).silence_rest
            for shift in JUDGE_SHIFTS
        )
    old_r = lagged_pearson(gap, old_loudness[:count])
    return TalkingMeasures(measures, old_r, rests), outputs


def _shifted(frames: list[np.ndarray], dx: float, dy: float) -> list[np.ndarray]:
    if dx == 0.0 and dy == 0.0:
        return frames
    matrix = np.float32([[1.0, 0.0, dx], [0.0, 1.0, dy]])
    return [
        cv2.warpAffine(f, matrix, (f.shape[1], f.shape[0]), borderMode=cv2.BORDER_REPLICATE)
        for f in frames
    ]


def _gap(points: np.ndarray | None) -> float:
    from tests.lipsync.mouth_measure import mouth_opening

    return mouth_opening(points)


def pause_pixel_steps(case, frames: list[np.ndarray]) -> np.ndarray:
    """Per frame in the new speech's pauses: the mean grey change (0-255) of the mouth's box from
    the frame before, with the test head's own motion undone (`media_factory.jitter_matrix`, which
    made it): what a viewer sees move, free of MediaPipe's reading noise on shut lips."""
    height, width = frames[0].shape[:2]
    centre = (width / 2.0, height / 2.0)
    x0, y0, x1, y1 = _mouth_box_at_rest(frames[0], centre)
    frames_of = frame_span(len(frames))

    def upright(index: int) -> np.ndarray:
        undo = cv2.invertAffineTransform(factory.jitter_matrix(index, factory.FPS, centre))
        grey = cv2.cvtColor(frames[index], cv2.COLOR_RGB2GRAY).astype(np.float32)
        return cv2.warpAffine(grey, undo, (width, height), flags=cv2.INTER_LINEAR)[y0:y1, x0:x1]

    steps = []
    for start_s, end_s in pauses(case.phones, case.duration_s):
        first, last = frames_of(start_s, end_s)
        for index in range(first + EASE_FRAMES + 1, min(last, len(frames))):
            steps.append(float(np.abs(upright(index) - upright(index - 1)).mean()))
    return np.array(steps)


def _mouth_box_at_rest(frame: np.ndarray, centre) -> tuple[int, int, int, int]:
    """The lips' box (widened, and down over the chin) of the head's first frame, upright."""
    points = face_landmarks([frame])[0]
    undo = cv2.invertAffineTransform(factory.jitter_matrix(0, factory.FPS, centre))
    lips = points[[*MOUTH_CORNERS, OUTER_UPPER_LIP_MID, OUTER_LOWER_LIP_MID]] @ undo[:, :2].T
    lips += undo[:, 2]
    width, below = float(np.ptp(lips[:, 0])), 0.06 * face_height(points)
    x0, x1 = lips[:, 0].min() - 0.15 * width, lips[:, 0].max() + 0.15 * width
    return int(x0), int(lips[:, 1].min()), int(np.ceil(x1)), int(np.ceil(lips[:, 1].max() + below))
