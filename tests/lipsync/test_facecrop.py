"""Geometry of the face crop and the feathered paste-back."""

from __future__ import annotations

import numpy as np

from lipforge.lipsync.engines.wav2lip.facecrop import (
    BoxSmoother,
    CropBox,
    crop_face,
    face_box,
    lower_face_mask,
    paste_face,
)


def _ring(cx: float, cy: float, radius: float) -> np.ndarray:
    angles = np.linspace(0, 2 * np.pi, 468, endpoint=False)
    points = np.stack([cx + radius * np.cos(angles), cy + radius * np.sin(angles), 0 * angles], 1)
    return points.astype(np.float32)


def _noise_frame(height: int = 240, width: int = 320, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_box_is_a_padded_square_around_the_landmarks():
    landmarks = _ring(160, 120, 50)
    box = face_box(landmarks, (240, 320, 3))
    assert box.x0 < 110 and box.x0 + box.size > 210
    assert box.y0 < 70 and box.y0 + box.size > 170
    below_chin = box.y0 + box.size - 170
    above_forehead = 70 - box.y0
    assert below_chin > above_forehead  # more room under the chin, as Wav2Lip was trained


def test_box_near_the_edge_stays_inside_the_frame():
    box = face_box(_ring(20, 225, 40), (240, 320, 3))
    assert box.x0 >= 0 and box.y0 >= 0
    assert box.x0 + box.size <= 320 and box.y0 + box.size <= 240


def test_smoothing_steadies_a_jittering_box_and_follows_a_cut():
    rng = np.random.default_rng(3)
    smoother, raw, smooth = BoxSmoother(), [], []
    for _ in range(60):
        box = face_box(_ring(160 + rng.normal(0, 3), 120 + rng.normal(0, 3), 50), (240, 320))
        raw.append(box.center[0])
        smooth.append(smoother.smooth(box, (240, 320)).center[0])
    assert np.std(np.diff(smooth)) < 0.6 * np.std(np.diff(raw))
    jumped = smoother.smooth(face_box(_ring(260, 120, 50), (240, 320)), (240, 320))
    assert abs(jumped.center[0] - 260) < 3


def test_crop_is_the_box_resized():
    frame = _noise_frame()
    box = CropBox(100, 50, 96)
    assert np.array_equal(crop_face(frame, box, 96), frame[50:146, 100:196])
    assert crop_face(frame, CropBox(10, 10, 192), 96).shape == (96, 96, 3)


def test_mask_covers_the_lower_face_and_is_feathered():
    mask = lower_face_mask(96)
    assert mask[:30].max() < 0.01  # eyes and nose untouched
    assert mask[75, 48] > 0.99  # mouth and chin replaced
    assert ((mask > 0.05) & (mask < 0.95)).sum() > 200  # a soft edge, not a rectangle


def test_paste_changes_only_the_lower_part_of_the_box():
    frame = _noise_frame()
    box = CropBox(100, 50, 120)
    pasted = paste_face(frame, box, np.zeros((96, 96, 3), np.uint8))
    changed = np.any(pasted != frame, axis=2)
    assert not changed[: box.y0 + int(0.3 * box.size)].any()
    assert not changed[:, : box.x0].any() and not changed[:, box.x0 + box.size :].any()
    assert pasted[box.y0 + int(0.75 * box.size), box.x0 + box.size // 2].max() <= 2


def test_pasting_the_crop_back_changes_little():
    frame = np.full((240, 320, 3), 128, np.uint8)
    frame[:, :, 0] = np.linspace(0, 255, 320, dtype=np.uint8)
    box = CropBox(100, 50, 120)
    pasted = paste_face(frame, box, crop_face(frame, box, 96))
    assert np.abs(pasted.astype(int) - frame).max() <= 4
