"""The face crop a 96x96 lip-sync model sees, and the paste of its answer back into the frame.

`face_box` turns tracked landmarks into a square box with padding (more below the chin,
as Wav2Lip was trained); `BoxSmoother` steadies it over time so the crop does not
jitter; `crop_face` cuts and resizes it; `paste_face` blends the model's face back into
the frame through a feathered lower-face mask, never a hard rectangle. Pure geometry on
numpy arrays: no model, no landmarks detection.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SIDE_PAD_FRACTION = 0.08
TOP_PAD_FRACTION = 0.05
BOTTOM_PAD_FRACTION = 0.12
SMOOTHING_KEEP = 0.6  # weight of the previous box in the moving average
RESET_JUMP_FRACTION = 0.5  # a move larger than this x box size is a cut: no smoothing across it
MASK_TOP_FRACTION = 0.48  # the mask covers the box from here down (the model's lower half)
MASK_SIDE_FRACTION = 0.08
MASK_BOTTOM_FRACTION = 0.97
FEATHER_FRACTION = 0.06  # Gaussian feather of the mask edge, as a fraction of the box size


@dataclass(frozen=True)
class CropBox:
    """A square in frame pixels: top-left corner and side."""

    x0: int
    y0: int
    size: int

    @property
    def center(self) -> tuple[float, float]:
        return self.x0 + self.size / 2, self.y0 + self.size / 2


def face_box(landmarks: np.ndarray, frame_shape: tuple[int, ...]) -> CropBox:
    """A padded square around the landmarks, kept inside the frame."""
    xs, ys = landmarks[:, 0], landmarks[:, 1]
    width, height = float(xs.max() - xs.min()), float(ys.max() - ys.min())
    left = xs.min() - SIDE_PAD_FRACTION * width
    right = xs.max() + SIDE_PAD_FRACTION * width
    top = ys.min() - TOP_PAD_FRACTION * height
    bottom = ys.max() + BOTTOM_PAD_FRACTION * height
    side = max(right - left, bottom - top)
    return _square(((left + right) / 2, (top + bottom) / 2), side, frame_shape)


def _square(center: tuple[float, float], side: float, frame_shape: tuple[int, ...]) -> CropBox:
    frame_h, frame_w = frame_shape[:2]
    size = int(round(min(max(side, 8.0), frame_h, frame_w)))
    x0 = int(round(min(max(center[0] - size / 2, 0), frame_w - size)))
    y0 = int(round(min(max(center[1] - size / 2, 0), frame_h - size)))
    return CropBox(x0, y0, size)


class BoxSmoother:
    """Exponential moving average of a box's centre and side; resets on a jump (a cut)."""

    def __init__(self, keep: float = SMOOTHING_KEEP) -> None:
        self.keep = keep
        self._state: np.ndarray | None = None  # cx, cy, side

    def smooth(self, box: CropBox, frame_shape: tuple[int, ...]) -> CropBox:
        current = np.array([*box.center, box.size], np.float64)
        if self._state is not None:
            jump = np.abs(current[:2] - self._state[:2]).max()
            if jump <= RESET_JUMP_FRACTION * self._state[2]:
                current = self.keep * self._state + (1 - self.keep) * current
        self._state = current
        return _square((current[0], current[1]), current[2], frame_shape)


def crop_face(frame: np.ndarray, box: CropBox, size_px: int) -> np.ndarray:
    region = frame[box.y0 : box.y0 + box.size, box.x0 : box.x0 + box.size]
    interpolation = cv2.INTER_AREA if box.size > size_px else cv2.INTER_LINEAR
    return cv2.resize(region, (size_px, size_px), interpolation=interpolation)


def lower_face_mask(size_px: int) -> np.ndarray:
    """(size, size) float32 in [0, 1]: 1 over the lower face, fading out at every edge."""
    mask = np.zeros((size_px, size_px), np.float32)
    top = int(MASK_TOP_FRACTION * size_px)
    bottom = int(MASK_BOTTOM_FRACTION * size_px)
    side = int(MASK_SIDE_FRACTION * size_px)
    mask[top:bottom, side : size_px - side] = 1.0
    sigma = max(1.0, FEATHER_FRACTION * size_px)
    return cv2.GaussianBlur(mask, (0, 0), sigmaX=sigma, sigmaY=sigma)


def paste_face(frame: np.ndarray, box: CropBox, face: np.ndarray) -> np.ndarray:
    """A copy of `frame` with `face` (any square size) blended into `box` by the lower mask."""
    resized = cv2.resize(face, (box.size, box.size), interpolation=cv2.INTER_CUBIC)
    mask = lower_face_mask(box.size)[..., None]
    out = frame.copy()
    region = out[box.y0 : box.y0 + box.size, box.x0 : box.x0 + box.size].astype(np.float32)
    blended = mask * resized.astype(np.float32) + (1.0 - mask) * region
    out[box.y0 : box.y0 + box.size, box.x0 : box.x0 + box.size] = np.clip(
        blended + 0.5, 0, 255
    ).astype(np.uint8)
    return out
