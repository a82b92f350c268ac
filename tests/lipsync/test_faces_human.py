"""Faces only: a clip without a human face is refused as no face, by the probe and by a render.

A cat (skimage's chelsea) at several sizes, crops and re-encodings and a smiley drawn on a box
end in the same NoFaceError (`no_face`, with file and seconds) whichever path meets them; the
real test faces, a photo of a face printed on a box and a drawn face with a human face's
proportions are accepted (a print or a drawing laid out as a person's face is what a lip-sync
of a human face can animate; telling a print from a person is not LipForge's job).
"""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from skimage import data as skdata
from tests.support import media_factory as factory

from lipforge.cli.probe import count_faces
from lipforge.errors import NoFaceError
from lipforge.lipsync.facegeometry import has_human_layout
from lipforge.lipsync.faces import CONFIRM_MIN_SCORE, FaceTracker, face_detector_score
from lipforge.lipsync.pipeline import RenderRequest, render
from lipforge.media.video import VideoReader

FPS = 25
CLIP_S = 2.0
NOSE_TIP = 1
CAT_SIZE = (450, 300)  # chelsea is 451x300; x264 wants even sides


def _tracked(path: Path) -> list[np.ndarray | None]:
    with VideoReader(path) as reader, FaceTracker(float(reader.fps), path.name) as tracker:
        results = []
        for index, frame in reader.frames():
            results += tracker.push(index, frame)
        return [landmarks for _, landmarks in results + tracker.flush()]


def _reencode(source: Path, path: Path, change, crf: str) -> Path:
    """`source` decoded, each frame passed through `change` (a resize, a crop), encoded again."""
    with av.open(str(source)) as container:
        frames = [change(f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]
    return factory.write_video(path, frames, FPS, x264_options={"crf": crf})


def _resize(size):
    return lambda frame: cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def _letterbox(size):
    def change(frame):
        width, height = size
        scale = min(width / frame.shape[1], height / frame.shape[0])
        fitted = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        canvas = np.full((height, width, 3), factory.CANVAS_GRAY, np.uint8)
        top, left = (height - fitted.shape[0]) // 2, (width - fitted.shape[1]) // 2
        canvas[top : top + fitted.shape[0], left : left + fitted.shape[1]] = fitted
        return canvas

    return change


CAT_VARIANTS = {
    "448x304": (_resize((448, 304)), "18"),
    "448x300": (lambda frame: frame[:, :448], "18"),
    "320x240": (_resize((320, 240)), "23"),
    "640x480": (_letterbox((640, 480)), "18"),
    "1280x720": (_resize((1280, 720)), "28"),
    "1920x1080-letterboxed": (_letterbox((1920, 1080)), "23"),
    "face-crop": (lambda frame: frame[20:260, 80:380], "18"),
    "tight-crop": (lambda frame: frame[40:240, 120:360], "30"),
}


@pytest.fixture(scope="module")
def cat_clip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cat") / "noface.mp4"
    return factory.make_still_video(path, skdata.chelsea(), CLIP_S)


@pytest.fixture(scope="module", params=sorted(CAT_VARIANTS))
def cat_variant(request, cat_clip, tmp_path_factory) -> Path:
    change, crf = CAT_VARIANTS[request.param]
    path = tmp_path_factory.mktemp("cats") / f"cat_{request.param}.mp4"
    return _reencode(cat_clip, path, change, crf)


def test_a_cat_is_no_face_at_any_size_crop_or_reencoding(cat_variant):
    with pytest.raises(NoFaceError) as caught:
        _tracked(cat_variant)
    assert caught.value.code == "no_face"
    assert caught.value.params == {"file": cat_variant.name, "seconds": CLIP_S}


def test_the_probe_says_a_cat_has_no_face(cat_clip, tmp_path):
    resized = _reencode(cat_clip, tmp_path / "cat.mp4", _resize((448, 304)), "18")
    assert count_faces(resized, 10.0).startswith("none (no face found in cat.mp4")


def test_a_job_on_a_cat_fails_with_no_face_and_writes_nothing(cat_clip, tmp_path):
    video = _reencode(cat_clip, tmp_path / "cat.mp4", _resize((448, 304)), "18")
    speech = factory.write_wav(tmp_path / "speech.wav", np.zeros(16_000, np.float32), 16_000)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(NoFaceError) as caught:
        render(RenderRequest(speech, video, out_dir / "cat.mp4"))
    assert (caught.value.code, caught.value.params["file"]) == ("no_face", "cat.mp4")
    assert list(out_dir.iterdir()) == []


def _box(size: tuple[int, int], front_side_px: int):
    """A cardboard box on a table in perspective; returns the image and its front's corners."""
    width, height = size
    image = np.zeros((height, width, 3), np.uint8)
    image[:] = np.linspace(170, 110, height, dtype=np.uint8)[:, None, None]
    image[int(height * 0.7) :] = (120, 100, 80)
    cx, cy, s = width // 2, height // 2, front_side_px
    front = np.float32(
        [[cx - s * .55, cy - s * .5], [cx + s * .45, cy - s * .45],
         [cx + s * .45, cy + s * .6], [cx - s * .55, cy + s * .65]]
    )  # fmt: skip
    depth = np.float32([s * 0.3, -s * 0.25])
    top = np.array([front[0], front[1], front[1] + depth, front[0] + depth])
    side = np.array([front[1], front[1] + depth, front[2] + depth, front[2]])
    cv2.fillConvexPoly(image, top.astype(np.int32), (200, 170, 120), cv2.LINE_AA)
    cv2.fillConvexPoly(image, side.astype(np.int32), (150, 120, 80), cv2.LINE_AA)
    cv2.fillConvexPoly(image, front.astype(np.int32), (185, 150, 105), cv2.LINE_AA)
    return image, front


def _printed_on_box(size: tuple[int, int], picture: np.ndarray, front_side_px: int):
    image, front = _box(size, front_side_px)
    height, width = picture.shape[:2]
    corners = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    warp = cv2.getPerspectiveTransform(corners, front)
    printed = cv2.warpPerspective(picture, warp, size)
    inside = cv2.warpPerspective(np.full((height, width), 255, np.uint8), warp, size) > 128
    image[inside] = printed[inside]
    return image


def _smiley(side_px: int) -> np.ndarray:
    card = np.full((side_px, side_px, 3), (185, 150, 105), np.uint8)
    eye_px = max(3, side_px // 16)
    for x in (0.38, 0.62):
        cv2.circle(card, (int(x * side_px), int(0.4 * side_px)), eye_px, (30, 30, 30), -1)
    centre, axes = (side_px // 2, int(0.55 * side_px)), (side_px // 4, side_px // 7)
    cv2.ellipse(card, centre, axes, 0, 10, 170, (30, 30, 30), max(2, side_px // 40))
    return card


def _drawn_face(size: tuple[int, int]) -> np.ndarray:
    """A cartoon face with a person's layout: eyes, brows, nose and lips where a person has them."""
    width, height = size
    image = np.full((height, width, 3), (200, 215, 230), np.uint8)
    cx, cy, r = width // 2, height // 2, int(min(width, height) * 0.32)
    cv2.ellipse(image, (cx, cy), (int(r * 0.8), r), 0, 0, 360, (235, 195, 165), -1, cv2.LINE_AA)
    for side in (-1, 1):
        ex, ey = cx + side * int(r * 0.35), cy - int(r * 0.2)
        cv2.circle(image, (ex, ey), int(r * 0.14), (255, 255, 255), -1, cv2.LINE_AA)
        cv2.circle(image, (ex, ey), int(r * 0.07), (40, 30, 20), -1, cv2.LINE_AA)
        brow = ((ex - int(r * 0.15), ey - int(r * 0.25)), (ex + int(r * 0.15), ey - int(r * 0.27)))
        cv2.line(image, *brow, (90, 60, 40), max(2, r // 25), cv2.LINE_AA)
    nose = ((cx, cy - int(r * 0.05)), (cx - int(r * 0.06), cy + int(r * 0.22)))
    cv2.line(image, *nose, (180, 130, 110), max(2, r // 30), cv2.LINE_AA)
    mouth = ((cx, cy + int(r * 0.5)), (int(r * 0.3), int(r * 0.1)))
    cv2.ellipse(image, *mouth, 0, 0, 360, (190, 60, 70), -1, cv2.LINE_AA)
    return image


def _clip(path: Path, image: np.ndarray) -> Path:
    return factory.write_video(path, factory.moving_frames(image, CLIP_S, FPS), FPS)


@pytest.mark.parametrize("size", [(640, 480), (1280, 720)])
def test_a_smiley_drawn_on_a_box_is_no_face(tmp_path, size):
    box = _printed_on_box(size, _smiley(240), front_side_px=size[1] // 2)
    with pytest.raises(NoFaceError):
        _tracked(_clip(tmp_path / "smiley.mp4", box))


@pytest.mark.parametrize("size, front_px", [((640, 480), 150), ((1280, 720), 200)])
def test_a_face_printed_on_a_box_is_a_face(tmp_path, size, front_px):
    picture = skdata.astronaut()[20:260, 100:340]
    found = _tracked(_clip(tmp_path / "printed.mp4", _printed_on_box(size, picture, front_px)))
    assert all(landmarks is not None for landmarks in found)
    nose = np.median([landmarks[NOSE_TIP, :2] for landmarks in found], axis=0)
    assert abs(nose[0] - size[0] / 2) < front_px / 2 and abs(nose[1] - size[1] / 2) < front_px / 2


def test_a_drawn_face_laid_out_as_a_person_is_a_face(tmp_path):
    found = _tracked(_clip(tmp_path / "drawn.mp4", _drawn_face((640, 480))))
    assert all(landmarks is not None for landmarks in found)


@pytest.fixture(scope="module")
def astronaut_landmarks() -> np.ndarray:
    still = factory.astronaut_canvas((512, 512))
    with FaceTracker(FPS, "still.mp4") as tracker:
        results = [r for index in range(12) for r in tracker.push(index, still)]
        return (results + tracker.flush())[-1][1]


def _eye_centre(landmarks: np.ndarray) -> np.ndarray:
    return landmarks[[33, 133, 263, 362]].mean(axis=0)


def test_a_human_layout_holds_at_any_scale_and_roll(astronaut_landmarks):
    assert has_human_layout(astronaut_landmarks)
    centre = _eye_centre(astronaut_landmarks)
    for scale, roll_deg in [(0.2, 0.0), (3.0, 0.0), (1.0, 35.0), (0.5, -35.0)]:
        turn = np.radians(roll_deg)
        rotation = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
        moved = astronaut_landmarks.copy()
        moved[:, :2] = (moved[:, :2] - centre[:2]) @ rotation.T * scale + (300, 200)
        moved[:, 2] *= scale
        assert has_human_layout(moved), (scale, roll_deg)


def test_a_mesh_laid_out_unlike_a_face_is_refused(astronaut_landmarks):
    centre = _eye_centre(astronaut_landmarks)
    flat = astronaut_landmarks.copy()
    flat[:, 2] *= 0.6  # the nose barely ahead of the cheeks, as on a cat's muzzle
    eyes_close = astronaut_landmarks.copy()
    for eye in ((33, 133), (263, 362)):  # eyes drawn in toward each other: a face too wide
        eyes_close[list(eye), 0] = centre[0] + 0.7 * (eyes_close[list(eye), 0] - centre[0])
    nose_low = astronaut_landmarks.copy()
    nose_low[1, 1] = astronaut_landmarks[[61, 291], 1].mean() + 5  # the nose under the mouth
    for changed in (flat, eyes_close, nose_low):
        assert not has_human_layout(changed)


@pytest.fixture(scope="module")
def detector():
    import mediapipe as mp

    with mp.solutions.face_detection.FaceDetection(model_selection=0) as found:
        yield found


def _moved(landmarks: np.ndarray, scale: float, roll_deg: float, to: tuple[float, float]):
    turn = np.radians(roll_deg)
    rotation = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    moved = landmarks.copy()
    moved[:, :2] = (moved[:, :2] - _eye_centre(landmarks)[:2]) @ rotation.T * scale + to
    return moved


def test_the_detector_confirms_a_face_by_its_pixels_not_its_mesh(astronaut_landmarks, detector):
    """A mesh laid out as a person's is confirmed only where the pixels show a face: the
    astronaut's own mesh scores high, upright or rolled; the same mesh laid over the cat's head
    (its eyes on the cat's eyes) does not."""
    still = factory.astronaut_canvas((512, 512))
    assert face_detector_score(detector, still, astronaut_landmarks) > 0.8
    centre = (256.0, 256.0)
    rolled = cv2.warpAffine(still, cv2.getRotationMatrix2D(centre, -30, 1.0), (512, 512))
    eyes = _eye_centre(astronaut_landmarks)[:2]
    rolled_eyes = cv2.transform(eyes[None, None], cv2.getRotationMatrix2D(centre, -30, 1.0))[0, 0]
    on_rolled = _moved(astronaut_landmarks, 1.0, 30.0, tuple(rolled_eyes))
    assert face_detector_score(detector, rolled, on_rolled) > 0.8
    cat = np.ascontiguousarray(skdata.chelsea())
    eye_distance = np.linalg.norm(astronaut_landmarks[263, :2] - astronaut_landmarks[33, :2])
    on_cat = [
        _moved(astronaut_landmarks, eyes_apart_px / eye_distance, 0.0, eyes)
        for eyes in [(205.0, 115.0), (190.0, 120.0), (220.0, 110.0), (205.0, 140.0)]
        for eyes_apart_px in (80.0, 100.0, 120.0)
    ]  # the cat's eyes are about 100 px apart around (205, 115)
    assert max(face_detector_score(detector, cat, mesh) for mesh in on_cat) < CONFIRM_MIN_SCORE
