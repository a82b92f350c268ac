"""Independent measurements of mouths in frames, for judging lip-sync output in tests.

Landmarks come from MediaPipe FaceMesh run here directly (not through lipforge's tracker),
frames from PyAV directly, so the tests judge the code under test with their own eyes.
"""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import mediapipe as mp
import numpy as np

INNER_UPPER_LIP_MID, INNER_LOWER_LIP_MID = 13, 14
OUTER_UPPER_LIP_MID, OUTER_LOWER_LIP_MID = 0, 17
MOUTH_CORNERS = (61, 291)
INNER_MOUTH_CORNERS = (78, 308)
EYE_CORNERS = (33, 263)
FOREHEAD, CHIN, NOSE_BASE = 10, 152, 2
LOWER_FACE_HALF_WIDTH = 0.55  # of face height, each side of the mouth
LOWER_FACE_BELOW_CHIN = 0.35  # of face height (the chin moves down over the neck)
LOWER_FACE_CHEEKS_ABOVE_NOSE = 0.1  # of face height, beside the nose
NOSE_WINGS = (129, 358)


def decode_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def face_landmarks(frames: list[np.ndarray]) -> list[np.ndarray | None]:
    """(468, 2) pixel landmarks per frame from MediaPipe in tracking mode; None when not found.
    On a wide frame where the whole picture shows no face on its first frame (FaceMesh's
    detector misses a face small next to a 1080p frame), the middle square is read instead."""
    if not frames:
        return []
    height, width = frames[0].shape[:2]
    if width > height and _mesh_points(frames[:1], 0, width)[0] is None:
        return _mesh_points(frames, (width - height) // 2, height)
    return _mesh_points(frames, 0, width)


def _mesh_points(frames: list[np.ndarray], left: int, side: int) -> list[np.ndarray | None]:
    """Landmarks (frame pixels) read from columns left .. left + side of each frame."""
    found: list[np.ndarray | None] = []
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1) as mesh:
        for frame in frames:
            part = frame if side == frame.shape[1] else frame[:, left : left + side]
            result = mesh.process(np.ascontiguousarray(part))
            if not result.multi_face_landmarks:
                found.append(None)
                continue
            points = result.multi_face_landmarks[0].landmark
            scale = np.array([part.shape[1], part.shape[0]])
            found.append(np.array([(p.x, p.y) for p in points])[:468] * scale + (left, 0))
    return found


def face_height(points: np.ndarray) -> float:
    return float(np.linalg.norm(points[FOREHEAD] - points[CHIN]))


def mouth_opening(points: np.ndarray | None) -> float:
    """Inner-lip gap over face height (NaN without a face)."""
    if points is None:
        return float("nan")
    gap = np.linalg.norm(points[INNER_UPPER_LIP_MID] - points[INNER_LOWER_LIP_MID])
    return float(gap / face_height(points))


def lagged_pearson(series: np.ndarray, reference: np.ndarray, max_lag: int = 1) -> float:
    """The best Pearson r of `series` against `reference` over lags of at most `max_lag` frames."""
    best = -1.0
    for lag in range(-max_lag, max_lag + 1):
        if lag >= 0:
            a, b = series[lag:], reference[: len(reference) - lag]
        else:
            a, b = series[:lag], reference[-lag:]
        keep = np.isfinite(a) & np.isfinite(b)
        best = max(best, float(np.corrcoef(a[keep], b[keep])[0, 1]))
    return best


def face_axes(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mouth centre, unit vector along the eyes, unit vector down the face."""
    along = points[EYE_CORNERS[1]] - points[EYE_CORNERS[0]]
    along = along / np.linalg.norm(along)
    down = np.array([-along[1], along[0]])
    centre = (points[INNER_MOUTH_CORNERS[0]] + points[INNER_MOUTH_CORNERS[1]]) / 2
    return centre, along, down


def lower_face_mask(points: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Mouth, chin and jaw: from the nose base down past the chin, about a face wide; and the
    cheeks beside the nose up to LOWER_FACE_CHEEKS_ABOVE_NOSE (a pucker pulls them), not the
    nose between its wings."""
    centre, along, down = face_axes(points)
    height = face_height(points)
    top = float((points[NOSE_BASE] - centre) @ down)
    bottom = float((points[CHIN] - centre) @ down) + LOWER_FACE_BELOW_CHIN * height
    half = LOWER_FACE_HALF_WIDTH * height
    cheeks_top = top - LOWER_FACE_CHEEKS_ABOVE_NOSE * height
    wing = max(abs(float((points[ala] - centre) @ along)) for ala in NOSE_WINGS)
    mask = np.zeros(shape[:2], np.uint8)
    shapes = [[(-half, top), (half, top), (half, bottom), (-half, bottom)]]
    shapes += [[(s * wing, cheeks_top), (s * half, cheeks_top), (s * half, top), (s * wing, top)]
               for s in (-1, 1)]  # fmt: skip
    for corners in shapes:
        pixels = [centre + u * along + v * down for u, v in corners]
        cv2.fillConvexPoly(mask, np.round(np.array(pixels)).astype(np.int32), 1)
    return mask.astype(bool)


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    diff = a[mask].astype(np.float64) - b[mask].astype(np.float64)
    mse = float(np.mean(diff**2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def laplacian_variance(frame: np.ndarray, mask: np.ndarray) -> float:
    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float64)
    return float(cv2.Laplacian(gray, cv2.CV_64F)[mask].var())


def luma(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float64)


def upright_crop(frame: np.ndarray, centre: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A (height, width) grey crop centred on `centre` (sub-pixel, bilinear)."""
    height, width = size
    return cv2.getRectSubPix(luma(frame).astype(np.float32), (width, height), tuple(centre))


def ncc(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / (np.sqrt((a * a).sum() * (b * b).sum()) + 1e-9))
