"""Pauses held exactly still: a pause's first resting mouth, carried onto its later frames.

A presenter who talks in the source keeps moving lips, cheeks and chin under the new speech's
pauses. The warp shuts the lips there, but each frame's shut mouth is made from a different
source mouth (thicker or thinner lips, corners higher or lower), so a pause would shimmer.
`PauseHold` keeps the lower face of a pause's first resting frame (as warped: lips shut, chin
at rest) and, on every later frame of the same pause, pastes it back aligned by the face's
stable landmarks (eye corners and nose, which the tracker smooths), with a feathered edge.
The mouth then moves only with the head. One patch is held at a time (about a tenth of the
frame); it is dropped when the pause ends. It knows nothing of audio.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from lipforge.lipsync.engines.meshwarp.mouthwarp import MouthGeometry

ANCHOR_POINTS = (33, 133, 263, 362, 1, 4, 6, 168, 197)  # eye corners, nose ridge and tip
PATCH_HALF_WIDTHS = 2.8  # the held patch spans this many half mouth widths either side
PATCH_BELOW_CHIN = 0.2  # ... and reaches this far below the chin (face heights)
FEATHER_SHARE = 0.25  # of the patch's radius, over which it blends into the frame


@dataclass
class _Patch:
    pixels: np.ndarray  # (h, w, 3) float32 crop of the first resting frame
    mask: np.ndarray  # (h, w) float32 weight, 1 in the middle, 0 at the edge
    origin: np.ndarray  # (2,) crop's top-left corner in that frame
    anchors: np.ndarray  # (n, 2) stable landmarks in that frame


class PauseHold:
    """Hold the mouth of each pause still (see the module docstring)."""

    def __init__(self) -> None:
        self._patch: _Patch | None = None

    def apply(
        self, frame: np.ndarray, landmarks: np.ndarray, mouth: MouthGeometry, resting: bool
    ) -> np.ndarray:
        """`frame` (already warped) with the pause's held mouth pasted in, when `resting`."""
        if not resting:
            self._patch = None
            return frame
        if self._patch is None:
            self._patch = _capture(frame, landmarks, mouth)
            return frame
        return _paste(frame, landmarks, self._patch)

    def reset(self) -> None:
        self._patch = None


def _capture(frame: np.ndarray, landmarks: np.ndarray, mouth: MouthGeometry) -> _Patch | None:
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
    return _Patch(
        pixels=frame[y0:y1, x0:x1].astype(np.float32),
        mask=mask * mask * (3.0 - 2.0 * mask),
        origin=np.array([x0, y0], np.float64),
        anchors=_anchors(landmarks),
    )


def _paste(frame: np.ndarray, landmarks: np.ndarray, patch: _Patch | None) -> np.ndarray:
    if patch is None:
        return frame
    matrix, _ = cv2.estimateAffinePartial2D(patch.anchors, _anchors(landmarks))
    if matrix is None:
        return frame
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


def _anchors(landmarks: np.ndarray) -> np.ndarray:
    return np.asarray(landmarks[list(ANCHOR_POINTS), :2], np.float64)
