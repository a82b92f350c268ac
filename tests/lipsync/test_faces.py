"""FaceTracker: landmarks in pixels for every frame, smoothed, gaps filled, one face followed."""

from __future__ import annotations

import cv2
import mediapipe as mp
import numpy as np
import pytest
from skimage import data as skdata
from tests.support.media_factory import astronaut_canvas, jitter_matrix, moving_frames

from lipforge.errors import NoFaceError
from lipforge.lipsync.faces import FaceTracker

FPS = 25.0
NOSE_TIP, UPPER_LIP = 1, 13
GREY = 96


def track(frames, search_s: float = 10.0, name: str = "clip.mp4"):
    tracker = FaceTracker(FPS, name, search_s)
    try:
        results = []
        for index, frame in enumerate(frames):
            results += tracker.push(index, frame)
        return results + tracker.flush()
    finally:
        tracker.close()


@pytest.fixture(scope="module")
def still() -> np.ndarray:
    return astronaut_canvas((512, 512))


@pytest.fixture(scope="module")
def still_nose(still) -> np.ndarray:
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True) as mesh:
        point = mesh.process(still).multi_face_landmarks[0].landmark[NOSE_TIP]
    return np.array([point.x * 512, point.y * 512])


def blank(shape) -> np.ndarray:
    return np.full(shape, GREY, np.uint8)


def test_every_frame_gets_468_landmarks_in_pixels_following_the_head(still, still_nose):
    frames = list(moving_frames(still, 2.0, FPS))
    results = track(frames)
    assert [index for index, _ in results] == list(range(len(frames)))
    for index, points in results:
        assert points.shape == (468, 3) and points.dtype == np.float32
        expected = jitter_matrix(index, FPS, (256.0, 256.0)) @ np.append(still_nose, 1.0)
        assert np.linalg.norm(points[NOSE_TIP, :2] - expected) < 2.5, f"frame {index}"


def test_results_come_out_after_a_fixed_lookahead(still):
    tracker = FaceTracker(FPS, "clip.mp4")
    try:
        released = [len(tracker.push(index, still)) for index in range(40)]
        held = tracker.lookahead_frames
        assert released[:held] == [0] * held
        assert released[held:] == [1] * (40 - held)
        assert len(tracker.flush()) == held
    finally:
        tracker.close()
    assert held <= FPS  # at most a second of delay


def test_smoothing_calms_landmark_jitter(still):
    rng = np.random.default_rng(3)
    noisy = [
        np.clip(still + rng.normal(0, 6, still.shape), 0, 255).astype(np.uint8) for _ in range(30)
    ]
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=False) as mesh:
        raw = []
        for frame in noisy:
            found = mesh.process(frame).multi_face_landmarks[0].landmark
            raw.append(np.array([(p.x * 512, p.y * 512) for p in found])[:468])
    smoothed = [points[:, :2] for _, points in track(noisy)]
    raw_step = np.abs(np.diff(np.array(raw), axis=0)).mean()
    smooth_step = np.abs(np.diff(np.array(smoothed), axis=0)).mean()
    assert smooth_step < 0.6 * raw_step


def test_a_short_gap_is_filled_by_interpolation(still):
    frames = list(moving_frames(still, 1.2, FPS))
    gap = range(10, 18)  # 0.32 s of frames without a face
    for index in gap:
        frames[index] = blank(still.shape)
    results = dict(track(frames))
    assert all(results[index] is not None for index in gap)
    before, after = results[9][NOSE_TIP, :2], results[18][NOSE_TIP, :2]
    middle = results[14][NOSE_TIP, :2]
    t = (14 - 9) / (18 - 9)
    assert np.linalg.norm(middle - ((1 - t) * before + t * after)) < 1.0


def test_a_long_gap_gives_no_landmarks(still):
    frames = [still] * 10 + [blank(still.shape)] * 25 + [still] * 10
    results = dict(track(frames))
    assert all(results[index] is None for index in range(10, 35))
    assert all(results[index] is not None for index in (*range(10), *range(35, 45)))


def test_a_face_that_shows_up_late_is_held_back_to_the_start(still):
    frames = [blank(still.shape)] * 5 + [still] * 10
    results = dict(track(frames))
    assert all(results[index] is not None for index in range(15))


def test_the_largest_face_is_followed_and_never_swapped_for_another():
    face = skdata.astronaut()[30:230, 120:330]
    canvas = np.full((360, 640, 3), GREY, np.uint8)
    canvas[30:316, 20:320] = cv2.resize(face, (300, 286), interpolation=cv2.INTER_AREA)
    canvas[80:280, 400:610] = cv2.resize(face, (210, 200), interpolation=cv2.INTER_AREA)
    alone = canvas.copy()
    alone[:, :330] = GREY  # the big face leaves for 0.24 s; the small one stays
    frames = [canvas] * 10 + [alone] * 6 + [canvas] * 10
    results = track(frames)
    for index, points in results:
        assert points is not None, f"frame {index}"
        assert points[NOSE_TIP, 0] < 330, f"frame {index} jumped to the other face"


def test_no_face_in_the_search_window_names_the_file_and_the_range():
    coffee = skdata.coffee()
    tracker = FaceTracker(FPS, "teacher3.mp4", search_s=0.4)
    with pytest.raises(NoFaceError, match=r"no face found in teacher3\.mp4 between 0 s and 0\.4 s"):
        for index in range(20):
            tracker.push(index, coffee)
    tracker.close()


def test_a_short_clip_without_a_face_fails_at_flush_with_its_length():
    with pytest.raises(NoFaceError, match=r"teacher3\.mp4 between 0 s and 0\.2 s"):
        track([skdata.coffee()] * 5, name="teacher3.mp4")


def test_big_frames_are_tracked_in_their_own_pixels(still):
    small = dict(track([still] * 8))[7]
    big = dict(track([astronaut_canvas((2560, 1440))] * 8))[7]
    scale = 1440 / 512
    expected = small[:, :2] * scale + np.array([(2560 - 1440) / 2, 0])
    assert np.abs(big[:, :2] - expected).mean() < 0.005 * 1440


@pytest.mark.parametrize("size", [(1280, 720, 400), (1920, 1080, 540)], ids=["720p", "1080p"])
def test_a_small_face_in_a_wide_frame_is_found_and_followed(still, size):
    """FaceMesh's own detector misses a head this small next to the frame's size."""
    width, height, side = size
    canvas = np.full((height, width, 3), GREY, np.uint8)
    top, left = (height - side) // 2, (width - side) // 2
    canvas[top : top + side, left : left + side] = cv2.resize(
        still, (side, side), interpolation=cv2.INTER_AREA
    )
    results = track(list(moving_frames(canvas, 1.0, FPS)))
    reference = dict(track([still] * 8))[7][NOSE_TIP, :2] * side / 512 + (left, top)
    for index, points in results:
        assert points is not None, f"frame {index}"
        expected = jitter_matrix(index, FPS, (width / 2, height / 2)) @ np.append(reference, 1.0)
        assert np.linalg.norm(points[NOSE_TIP, :2] - expected) < 0.01 * side * 2, f"frame {index}"


def test_a_small_face_crossing_a_wide_frame_stays_tracked(still):
    width, height, side = 1280, 720, 400
    canvas = np.full((height, width, 3), GREY, np.uint8)
    canvas[160:560, 200:600] = cv2.resize(still, (side, side), interpolation=cv2.INTER_AREA)
    shifts = np.linspace(0, 480, 50)  # 480 px in 2 s
    frames = [
        cv2.warpAffine(canvas, np.float32([[1, 0, dx], [0, 1, 0]]), (width, height))
        for dx in shifts
    ]
    results = track(frames)
    reference = dict(track([still] * 8))[7][NOSE_TIP, :2] * side / 512 + (200, 160)
    for index, points in results:
        assert points is not None, f"frame {index}"
        expected = reference + (shifts[index], 0)
        tolerance = 8.0 if index < 5 else 2.0  # MediaPipe settles a few frames after detecting
        assert np.linalg.norm(points[NOSE_TIP, :2] - expected) < tolerance, f"frame {index}"
