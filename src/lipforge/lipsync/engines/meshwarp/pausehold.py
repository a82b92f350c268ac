"""Pauses held exactly still: a pause's resting mouth, carried onto its later frames.

A presenter who talks in the source keeps moving lips, cheeks and chin under the new speech's
pauses. The warp shuts the lips there, but each frame's shut mouth is made from a different
source mouth (thicker or thinner lips, corners higher or lower), so a pause would shimmer.
`PauseHold` keeps the lower face of a pause's resting frame number `CAPTURE_AT_FRAME` (as
warped: lips shut, chin at rest; the first frames may still settle, and FaceMesh's first
detection in a video is a few pixels off at the chin) and, on every later frame of the same
pause, pastes it back where the head has moved to, with a feathered edge. The move is read
from the pixels of the nose and cheeks above the mouth (phase correlation, sub-pixel), not
from the landmarks: FaceMesh's mesh drifts in scale by 1-3 % over a few frames, which at the
chin is several pixels. One patch is held at a time (about a tenth of the frame); it is
dropped when the pause ends. It knows nothing of audio.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from lipforge.lipsync.engines.meshwarp.mouthwarp import MouthGeometry

REFERENCE_HALF_WIDTHS = 1.6  # the band the head's move is read from: this wide either side,
REFERENCE_ABOVE = 1.2  # ... from this many nose-base depths above the nose base to it
CAPTURE_AT_FRAME = 2  # the pause's frame (from 0) whose mouth is held on the ones after it
MAX_SHIFT_SHARE = 0.25  # a read move larger than this share of the band is not trusted
# Faces smaller than this (face heights, pixels) are not held: the band above the mouth is too
# few pixels to read the head's move to a fraction of a pixel (the 100 px test face's pauses
# measured 82 % at rest held, 100 % not; the 170 px one 64-100 % from run to run, against
# 85-100 % not held), and a source's shimmer is hardly seen there.
MIN_FACE_PX = 200.0
PATCH_HALF_WIDTHS = 2.8  # the held patch spans this many half mouth widths either side
PATCH_BELOW_CHIN = 0.2  # ... and reaches this far below the chin (face heights)
FEATHER_SHARE = 0.25  # of the patch's radius, over which it blends into the frame


@dataclass
class _Patch:
    pixels: np.ndarray  # (h, w, 3) float32 crop of the first resting frame
    mask: np.ndarray  # (h, w) float32 weight, 1 in the middle, 0 at the edge
    origin: np.ndarray  # (2,) crop's top-left corner in that frame
    reference: np.ndarray  # (h, w) float32 grey band above the mouth in that frame
    reference_box: tuple[int, int, int, int]  # x0, y0, x1, y1 of that band


class PauseHold:
    """Hold the mouth of each pause still (see the module docstring)."""

    def __init__(self) -> None:
        self._patch: _Patch | None = None
        self._resting_frames = 0

    def apply(self, frame: np.ndarray, mouth: MouthGeometry, resting: bool) -> np.ndarray:
        """`frame` (already warped) with the pause's held mouth pasted in, when `resting`."""
        if not resting or mouth.face_height_px < MIN_FACE_PX:
            self.reset()
            return frame
        self._resting_frames += 1
        if self._resting_frames <= CAPTURE_AT_FRAME:
            return frame
        if self._resting_frames == CAPTURE_AT_FRAME + 1:
            self._patch = _capture(frame, mouth)
            return frame
        return _paste(frame, self._patch)

    def reset(self) -> None:
        self._patch = None
        self._resting_frames = 0


def _capture(frame: np.ndarray, mouth: MouthGeometry) -> _Patch | None:
    reach_u = PATCH_HALF_WIDTHS * mouth.half_width_px
    top_v = mouth.nose_base_v
    bottom_v = mouth.chin_v + PATCH_BELOW_CHIN * mouth.face_height_px
    corners = np.array(
        [
            mouth.centre + u * mouth.axis_u + v * mouth.axis_v
            for u in (-reach_u, reach_u)
            for v in (top_v, bottom_v)
        ]
    )
    height, width = frame.shape[:2]
    x0, y0 = np.floor(corners.min(axis=0)).astype(int)
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    grid_x, grid_y = np.meshgrid(
        np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32)
    )
    rel_x, rel_y = grid_x - mouth.centre[0], grid_y - mouth.centre[1]
    u = (rel_x * mouth.axis_u[0] + rel_y * mouth.axis_u[1]) / reach_u
    v = rel_x * mouth.axis_v[0] + rel_y * mouth.axis_v[1]
    middle_v, half_v = (top_v + bottom_v) / 2, (bottom_v - top_v) / 2
    radius = np.sqrt(u * u + ((v - middle_v) / half_v) ** 2)
    mask = np.clip((1.0 - radius) / FEATHER_SHARE, 0.0, 1.0).astype(np.float32)
    box = _reference_box(frame.shape, mouth)
    if box is None:
        return None
    return _Patch(
        pixels=frame[y0:y1, x0:x1].astype(np.float32),
        mask=mask * mask * (3.0 - 2.0 * mask),
        origin=np.array([x0, y0], np.float64),
        reference=_grey(frame, box),
        reference_box=box,
    )


def _reference_box(shape: tuple[int, ...], mouth: MouthGeometry):
    """An upright box over the nose and cheeks, just above the mouth's moving parts."""
    half = REFERENCE_HALF_WIDTHS * mouth.half_width_px
    depth = abs(mouth.nose_base_v)
    top_centre = mouth.centre + (mouth.nose_base_v - REFERENCE_ABOVE * depth) * mouth.axis_v
    bottom_centre = mouth.centre + mouth.nose_base_v * mouth.axis_v
    x0 = int(max(min(top_centre[0], bottom_centre[0]) - half, 0))
    x1 = int(min(max(top_centre[0], bottom_centre[0]) + half, shape[1]))
    y0, y1 = int(max(top_centre[1], 0)), int(min(bottom_centre[1], shape[0]))
    if x1 - x0 < 16 or y1 - y0 < 8:
        return None
    return x0, y0, x1, y1


def _grey(frame: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    return cv2.cvtColor(frame[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY).astype(np.float32)


def _head_shift(frame: np.ndarray, patch: _Patch) -> np.ndarray | None:
    """How far the head moved since the patch was taken (x, y pixels), read from the pixels."""
    current = _grey(frame, patch.reference_box)
    if current.shape != patch.reference.shape:
        return None
    window = cv2.createHanningWindow(current.shape[::-1], cv2.CV_32F)
    (dx, dy), _ = cv2.phaseCorrelate(patch.reference, current, window)
    if max(abs(dx) / current.shape[1], abs(dy) / current.shape[0]) > MAX_SHIFT_SHARE:
        return None
    return np.array([dx, dy])


def _paste(frame: np.ndarray, patch: _Patch | None) -> np.ndarray:
    if patch is None:
        return frame
    shift = _head_shift(frame, patch)
    if shift is None:
        return frame
    matrix = np.array([[1.0, 0.0, shift[0]], [0.0, 1.0, shift[1]]])
    h, w = patch.mask.shape
    corners = np.array([[0, 0], [w, 0], [0, h], [w, h]], np.float64) + patch.origin
    placed = corners @ matrix[:, :2].T + matrix[:, 2]
    height, width = frame.shape[:2]
    x0, y0 = np.maximum(np.floor(placed.min(axis=0)).astype(int), 0)
    x1 = min(int(np.ceil(placed[:, 0].max())), width)
    y1 = min(int(np.ceil(placed[:, 1].max())), height)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return frame
    local = matrix.copy()  # patch crop -> destination crop coordinates
    local[:, 2] = matrix[:, :2] @ patch.origin + matrix[:, 2] - (x0, y0)
    size = (x1 - x0, y1 - y0)
    pixels = cv2.warpAffine(patch.pixels, local, size, flags=cv2.INTER_LINEAR)
    weight = cv2.warpAffine(patch.mask, local, size, flags=cv2.INTER_LINEAR)[..., None]
    region = frame[y0:y1, x0:x1].astype(np.float32)
    blended = region + weight * (pixels - region)
    frame[y0:y1, x0:x1] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
    return frame
