"""The video's own rest mouth, kept as one picture and put back where the presenter talks.

A presenter who talks in the source opens, closes, spreads and rounds the mouth to speech
that is not the new one. Warping that mouth (`mouthwarp`) adds the new shapes on top of the
old ones, so the old speech shows through. Instead, the lower face of the video's most
rest-like frame so far is kept (`RestMouth`: the frame whose lips are closest together, at
the usual width), and on every frame whose own mouth differs from it the kept picture is
laid over the lower face with its landmarks, aligned to the head: the warp then re-poses a
mouth at rest, as on a still source, to absolute targets (closed in the new speech's pauses,
open on its vowels, the chin with it). This is the neutralise-then-reshape way, done with
Video Rewrite's (Bregler, Covell and Slaney, SIGGRAPH 1997) reuse of the source's own mouth
pictures, with one picture: the rest one. In a pause of the new speech the kept picture is
not replaced, so the pause's mouth is one picture, held still.

Alignment: a similarity transform of stable landmarks (eyes, brows, nose bridge) first, then
an affine fit of the pixels (ECC) over the band from the lower eyelids to the nose base,
which a talking mouth does not move, reduced to the nearest similarity: FaceMesh's fit is
pulled by up to 2 % in scale by a mouth that opens, which shows as a moving seam and a mouth
that seems to differ. The fit runs on the full-size band (a close-up's scaled down to
REFERENCE_MAX_WIDTH_PX across, for its cost): on half-size pictures the placed
mouth missed the head's true motion (known on the test head) by 0.49 px on average and wobbled
by 0.29 px from frame to frame, enough for the lips' line to shimmer in a pause. The placement
is then steadied (`_Steadier`): the two mouth corners it puts down follow an alpha-beta filter
(a head moves smoothly; the fit's error does not), which halves the wobble again (0.15 ->
0.09 px) and starts over on a jump. Measured on the 720p talking cases with their transcript
(`bench/visemes.py --talking`): pause frames whose mouth moves by pixels no more than the still
head's ever does 72.2 -> 94.4 % (90th percentile of the change 1.8 -> 0.9 grey levels, the still
head 0.9); rest in pauses as MediaPipe reads it 87.7 -> 97.5 % on one reading, a figure that
moves by several points with changes nobody can see (averaged over sub-pixel shifts of the
output, 90.8 -> 91-96 %).

Whether the frame's own mouth differs is read from pixels, not landmarks (the tracker's are
smoothed over five frames and trail a mouth that moves): the mean grey difference of the
aligned rest picture and the frame inside the mouth's box, both slightly blurred. A still
source differs there by resampling and encoding noise only, so its frames pass through
untouched; a frame that differs is replaced in proportion to the difference, fully past
`DIFFERENT_LEVEL`, and once one was replaced that much the video talks: from then on every
frame's lower face is the rest picture. Left to the difference, a talking source's frames
switched between the two from frame to frame (its own mouth at rest for two frames, the picture
again), and a partial blend showed two mouths at once; when this changed, the 1080p talking
cases measured closures 81 -> 89 %, rest in pauses 84 -> 89 % and r with the new speech
0.65 -> 0.72 with the picture throughout. Memory: one crop and one set of landmarks,
whatever the length of the video.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np

from lipforge.lipsync.engines.meshwarp.mouthwarp import REST_OPENING, SHUT_EDGE_PX, MouthPose

# Landmarks that a talking mouth hardly moves: eye corners and lids, brows, nose bridge, forehead
STABLE_POINTS = (
    33, 133, 263, 362, 159, 145, 386, 374, 70, 105, 107, 336, 334, 300,
    168, 6, 197, 195, 10, 151, 9,
)  # fmt: skip
INNER_UPPER_LIP_MID, INNER_LOWER_LIP_MID = 13, 14
OUTER_UPPER_LIP_MID, OUTER_LOWER_LIP_MID = 0, 17
MOUTH_CORNERS = (61, 291)
EYE_CORNERS = (33, 263)
LOWER_EYELIDS = (145, 374)
NOSE_BASE, FOREHEAD, CHIN = 2, 10, 152

# A frame's rest score: its inner-lip gap (face heights) plus this share of how far its width
# is from the video's usual (median) width; the kept frame is replaced by one scoring lower
# by at least REPLACE_MARGIN (face heights).
WIDTH_WEIGHT = 0.5
REPLACE_MARGIN = 0.002
WIDTH_BIN = 0.002  # histogram bins for the median width (face heights)
WIDTH_MAX = 0.8
# The kept picture covers the lower face: this many half mouth widths either side of the
# mouth, from the nose base to this far below the chin (face heights), feathered into the frame
# over the outer FEATHER_SHARE of its width and of its height below, and above the nose base
# (where nothing moves as the mouth talks) over TOP_FEATHER_SHARE of the nose-to-mouth distance.
PATCH_HALF_WIDTHS = 3.8
PATCH_BELOW_CHIN = 0.32
FEATHER_SHARE = 0.25
TOP_FEATHER_SHARE = 0.6
# The pixel fit: over this many half mouth widths either side of the
# nose, at most ECC_STEPS steps; corrections beyond MAX_CORRECTION (scale, turn) or
# MAX_CORRECTION_PX_SHARE of the band's width (shift) are not trusted.
REFERENCE_HALF_WIDTHS = 2.5
# ... on at most this many pixels across (a close-up's band is scaled down to it): the fit costs
# 3.4 ms on a 250 px wide band, 9 ms at 450 (a 1080p close-up), 29 ms at 900 (a 4K one)
REFERENCE_MAX_WIDTH_PX = 320
ECC_STEPS, ECC_EPS = 30, 1e-4
MAX_CORRECTION = 0.05
MAX_CORRECTION_PX_SHARE = 0.1
# The steadier's gains (of the new fit's miss from the prediction: into the position, into the
# velocity per frame); a miss beyond STEADY_RESET (face heights: 1.25 px of a 250 px face, where
# the fits scatter by about 0.15 px) is the head's own move, followed at once. Simulated with
# that scatter, a head that starts moving at 1-4 px per frame is trailed by at most 0.8 px.
STEADY_ALPHA, STEADY_BETA = 0.5, 0.1
STEADY_RESET = 0.005
# The mouth's box (where the difference is read): the outer lips' box, widened by this share
# of the mouth's width and of the face height below the lower lip (a jaw that dropped).
BOX_WIDEN = 0.15
BOX_BELOW = 0.06
BLUR_PX = 1.5  # both blurred first: resampling and encoding noise on sharp teeth is not a move
# Mean grey difference (0-255) of a mouth at rest, and of one that moved (laid over fully from
# there). Still test heads (100-450 px faces, 512x512 to 1080p), placed by the landmarks alone,
# measured at most 4.5 (resampling and encoding noise); talking ones 13-50 where the mouth
# is open, 2-5 where it is back at rest.
SAME_LEVEL = 6.0
DIFFERENT_LEVEL = 10.0
ROUGH_SAME_LEVEL = 4.5  # the pixel fit (the costliest step) runs only past this (placed by the
# landmarks and the last fit's correction), or once the video was seen to talk
TALKING_WEIGHT = 0.5  # a frame replaced this much shows that the video talks
CLOSED_REST_GAP = 0.04  # a rest picture with its lips this close (face heights) is shut lips
SHUT_LIPS_GAP = 0.02  # FaceMesh reads lips shut as this far apart (0.018-0.026, face heights)

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 of the frame


@dataclass
class _Kept:
    pixels: np.ndarray  # (h, w, 3) float32 crop of the rest frame
    mask: np.ndarray  # (h, w) float32, 1 over the lower face, 0 at the crop's edge
    origin: np.ndarray  # (2,) the crop's top-left corner in that frame
    landmarks: np.ndarray  # (468, 3) of that frame
    score: float
    gap: float  # its inner-lip gap, face heights


class RestMouth:
    """The rest picture of one render (see the module docstring)."""

    def __init__(self) -> None:
        self._kept: _Kept | None = None
        self._widths = np.zeros(int(WIDTH_MAX / WIDTH_BIN) + 1, np.int64)
        self._talking = False  # a frame's own mouth differed from the rest picture
        # the last pixel fit's correction of the landmarks' placement (it drifts slowly): a still
        # source placed by both differs little enough that the fit need not run again
        self._correction = np.eye(2, 3)
        self._steadier = _Steadier()
        self._face_px = 1.0
        self.last_weight = 0.0  # how much of the last frame's lower face was laid over
        self.last_level = 0.0  # its mouth's difference from the rest picture

    def apply(
        self, frame: np.ndarray, landmarks: np.ndarray, hold: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """`frame` and its landmarks with the lower face at rest where the mouth differs from
        the rest picture (the frame may be written over); once the video was seen to talk, on
        every frame. With `hold` (a pause of the new speech) the rest picture is not replaced
        by this frame, so the pause's mouth is one picture held still."""
        self.last_weight = self.last_level = 0.0
        score = self._score(landmarks)
        kept = self._kept
        if kept is None or (not hold and score < kept.score - REPLACE_MARGIN):
            self._kept = _keep(frame, landmarks, score) or kept
            self._correction = np.eye(2, 3)
            return frame, landmarks
        placed_by_landmarks = _similarity(kept.landmarks, landmarks)
        if placed_by_landmarks is None:
            return frame, landmarks
        matrix = _compose(self._correction, placed_by_landmarks)
        moved = _transform(kept.landmarks, matrix)
        self.last_level = _difference(frame, kept, matrix, moved)
        if self._talking or self.last_level >= ROUGH_SAME_LEVEL:
            matrix = _refined(frame, landmarks, kept, placed_by_landmarks)
            self._correction = _compose(matrix, _inverse(placed_by_landmarks))
            matrix = self._steadier.steady(kept, matrix, self._face_px)
            moved = _transform(kept.landmarks, matrix)
            self.last_level = _difference(frame, kept, matrix, moved)
        self._face_px = float(np.linalg.norm(moved[CHIN, :2] - moved[FOREHEAD, :2]))
        weight = _weight(self.last_level)
        self._talking = self._talking or weight >= TALKING_WEIGHT
        if self._talking:
            weight = 1.0
        if weight <= 0.0 or not _lay_over(frame, kept, matrix, weight):
            return frame, landmarks
        self.last_weight = weight
        return frame, (landmarks + weight * (moved - landmarks)).astype(np.float32)

    def pose(self, pose: MouthPose) -> MouthPose:
        """`pose` for the mouth last laid over. The warp keeps a mouth's own gap at
        REST_OPENING and shuts it below, past the lips' blurred edges by the gap again; over
        shut rest lips every opening parts them in proportion from shut (absolute targets),
        and at rest they close only by what their gap exceeds that of lips shut (as FaceMesh
        reads them, SHUT_LIPS_GAP), past their blurred edges: squeezed by the whole gap, lips
        at rest look thin and FaceMesh reads them unsteadily."""
        kept = self._kept
        weight = self.last_weight
        if weight <= 0.0 or kept is None or kept.gap > CLOSED_REST_GAP:
            return pose
        if pose.pressed or pose.tuck > 0.0:
            return pose
        if pose.opening <= 0.0:
            gap_px = kept.gap * self._face_px
            travel = max(gap_px - SHUT_LIPS_GAP * self._face_px, 0.0) + SHUT_EDGE_PX
            gentle = REST_OPENING * max(1.0 - travel / (gap_px + SHUT_EDGE_PX), 0.0)
            return dataclasses.replace(pose, opening=weight * gentle)
        absolute = REST_OPENING + (1.0 - REST_OPENING) * pose.opening
        return dataclasses.replace(pose, opening=pose.opening + weight * (absolute - pose.opening))

    def _score(self, landmarks: np.ndarray) -> float:
        points = landmarks[:, :2]
        height = max(float(np.linalg.norm(points[CHIN] - points[FOREHEAD])), 1.0)
        width = np.linalg.norm(points[MOUTH_CORNERS[0]] - points[MOUTH_CORNERS[1]]) / height
        self._widths[min(int(round(width / WIDTH_BIN)), len(self._widths) - 1)] += 1
        middle = np.searchsorted(np.cumsum(self._widths), self._widths.sum() / 2.0) * WIDTH_BIN
        return _gap(points) + WIDTH_WEIGHT * abs(float(width) - float(middle))


class _Steadier:
    """The rest picture's placement, steadied: where it puts the picture's two mouth corners
    follows an alpha-beta filter (position and velocity per frame). A fit that misses the
    prediction by more than STEADY_RESET is a head that started, stopped or jumped: the filter
    starts over there, at the fit and moving by the fit's last step, so it never trails."""

    def __init__(self) -> None:
        self._kept: _Kept | None = None
        self._position = np.zeros((2, 2))
        self._velocity = np.zeros((2, 2))
        self._last_fit = np.zeros((2, 2))

    def steady(self, kept: _Kept, matrix: np.ndarray, face_px: float) -> np.ndarray:
        corners = kept.landmarks[list(MOUTH_CORNERS), :2].astype(np.float64)
        fitted = corners @ matrix[:, :2].T + matrix[:, 2]
        predicted = self._position + self._velocity
        miss = fitted - predicted
        if self._kept is not kept:
            self._kept, self._position, self._velocity = kept, fitted, np.zeros((2, 2))
        elif np.abs(miss).max() > STEADY_RESET * face_px:
            self._position, self._velocity = fitted, fitted - self._last_fit
        else:
            self._position = predicted + STEADY_ALPHA * miss
            self._velocity = self._velocity + STEADY_BETA * miss
        self._last_fit = fitted
        steadied = _points_similarity(corners, self._position)
        return matrix if steadied is None else steadied


def _gap(points: np.ndarray) -> float:
    height = max(float(np.linalg.norm(points[CHIN] - points[FOREHEAD])), 1.0)
    return float(np.linalg.norm(points[INNER_UPPER_LIP_MID] - points[INNER_LOWER_LIP_MID]) / height)


def _keep(frame: np.ndarray, landmarks: np.ndarray, score: float) -> _Kept | None:
    """The lower face of `frame` (and the band above it that the alignment reads), its mask."""
    points = landmarks[:, :2].astype(np.float64)
    eye_line = points[EYE_CORNERS[1]] - points[EYE_CORNERS[0]]
    axis_u = eye_line / max(np.linalg.norm(eye_line), 1e-6)
    axis_v = np.array([-axis_u[1], axis_u[0]])
    centre = (points[MOUTH_CORNERS[0]] + points[MOUTH_CORNERS[1]]) / 2
    corner_to_corner = points[MOUTH_CORNERS[1]] - points[MOUTH_CORNERS[0]]
    half_width = max(abs(float(corner_to_corner @ axis_u)) / 2, 1.0)
    height = max(float(np.linalg.norm(points[CHIN] - points[FOREHEAD])), 1.0)
    nose_v = float((points[NOSE_BASE] - centre) @ axis_v)
    eyelids_v = float((points[list(LOWER_EYELIDS)].mean(axis=0) - centre) @ axis_v)
    top_v, bottom_v = min(eyelids_v, nose_v) - 4.0, float((points[CHIN] - centre) @ axis_v)
    bottom_v += PATCH_BELOW_CHIN * height
    reach_u = PATCH_HALF_WIDTHS * half_width
    corners = np.array(
        [centre + u * axis_u + v * axis_v for u in (-reach_u, reach_u) for v in (top_v, bottom_v)]
    )
    box = _box_in_frame(corners, frame.shape)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    grid_x, grid_y = np.meshgrid(np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1))
    rel_x, rel_y = grid_x - np.float32(centre[0]), grid_y - np.float32(centre[1])
    u = (rel_x * np.float32(axis_u[0]) + rel_y * np.float32(axis_u[1])) / np.float32(reach_u)
    v = rel_x * np.float32(axis_v[0]) + rel_y * np.float32(axis_v[1])
    feather_v = max(TOP_FEATHER_SHARE * abs(nose_v), 1.0)
    down = np.clip((v - (nose_v - feather_v)) / feather_v, 0.0, 1.0)
    up = np.clip((bottom_v - v) / (FEATHER_SHARE * (bottom_v - nose_v)), 0.0, 1.0)
    across = np.clip((1.0 - np.abs(u)) / FEATHER_SHARE, 0.0, 1.0)
    mask = down * up * across
    return _Kept(
        pixels=frame[y0:y1, x0:x1].astype(np.float32),
        mask=(mask * mask * (3.0 - 2.0 * mask)).astype(np.float32),
        origin=np.array([x0, y0], np.float64),
        landmarks=np.array(landmarks, np.float32),
        score=score,
        gap=_gap(points),
    )


def _similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray | None:
    """The 2x3 similarity taking `source`'s stable landmarks onto `target`'s (least squares)."""
    return _points_similarity(source[list(STABLE_POINTS), :2], target[list(STABLE_POINTS), :2])


def _points_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """The 2x3 similarity taking the points `a` onto `b` (least squares; exact for two); None
    when the points of `a` coincide."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    ma, mb = a.mean(axis=0), b.mean(axis=0)
    a0, b0 = a - ma, b - mb
    norm = float((a0 * a0).sum())
    if norm < 1e-6:
        return None
    c = float((a0 * b0).sum()) / norm
    s = float((a0[:, 0] * b0[:, 1] - a0[:, 1] * b0[:, 0]).sum()) / norm
    rotation = np.array([[c, -s], [s, c]])
    return np.hstack([rotation, (mb - rotation @ ma)[:, None]])


def _transform(landmarks: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    out = np.array(landmarks, np.float32)
    out[:, :2] = landmarks[:, :2] @ matrix[:, :2].T + matrix[:, 2]
    return out


def _inverse(matrix: np.ndarray) -> np.ndarray:
    """The inverse of a 2x3 affine (by hand: numpy's inv is slow on tiny matrices here)."""
    (a, b), (c, d) = matrix[:, :2]
    det = a * d - b * c
    linear = np.array([[d, -b], [-c, a]]) / det
    return np.hstack([linear, -(linear @ matrix[:, 2])[:, None]])


def _compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """outer after inner, both 2x3."""
    shift = outer[:, :2] @ inner[:, 2] + outer[:, 2]
    return np.hstack([outer[:, :2] @ inner[:, :2], shift[:, None]])


def _placed(kept: _Kept, matrix: np.ndarray, box: Box, mask: bool = False):
    """The kept crop (and its mask) moved by `matrix` into the frame's `box`."""
    x0, y0, x1, y1 = box
    local = matrix.copy()  # kept crop -> box coordinates
    local[:, 2] = matrix[:, :2] @ kept.origin + matrix[:, 2] - (x0, y0)
    size = (x1 - x0, y1 - y0)
    pixels = cv2.warpAffine(kept.pixels, local, size, flags=cv2.INTER_LINEAR)
    if not mask:
        return pixels
    return pixels, cv2.warpAffine(kept.mask, local, size, flags=cv2.INTER_LINEAR)


def _grey(pixels: np.ndarray) -> np.ndarray:
    return np.asarray(pixels, np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def _refined(frame: np.ndarray, landmarks: np.ndarray, kept: _Kept, matrix: np.ndarray):
    """`matrix` corrected so the placed picture lies on the frame's own pixels over the band
    from the lower eyelids to the nose base (see the module docstring); as it was when the fit
    fails or goes too far."""
    points = landmarks[:, :2].astype(np.float64)
    half = abs(float(points[MOUTH_CORNERS[1], 0] - points[MOUTH_CORNERS[0], 0])) / 2
    centre_x = float(points[NOSE_BASE, 0])
    rows, cols = frame.shape[:2]
    left = int(max(centre_x - REFERENCE_HALF_WIDTHS * half, 0))
    right = int(min(centre_x + REFERENCE_HALF_WIDTHS * half, cols))
    upper = int(max(points[list(LOWER_EYELIDS), 1].mean(), 0))
    lower = int(min(points[NOSE_BASE, 1], rows))
    if right - left < 32 or lower - upper < 16:
        return matrix
    box = (left, upper, right, lower)
    own = _grey(frame[upper:lower, left:right])
    placed = _grey(_placed(kept, matrix, box))
    scale = min(1.0, REFERENCE_MAX_WIDTH_PX / (right - left))
    if scale < 1.0:  # a close-up's band: as many pixels across as a 250 px face's
        size = (round((right - left) * scale), round((lower - upper) * scale))
        own, placed = (cv2.resize(p, size, interpolation=cv2.INTER_AREA) for p in (own, placed))
    warp = np.eye(2, 3, dtype=np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, ECC_STEPS, ECC_EPS)
    try:  # placed(warp x) ~ own(x), in band coordinates
        cv2.findTransformECC(own, placed, warp, cv2.MOTION_AFFINE, criteria, None, 3)
    except cv2.error:
        return matrix
    shift = np.array([[scale, 0.0, -left * scale], [0.0, scale, -upper * scale]])  # frame -> band
    in_frame = _compose(_inverse(shift), _compose(warp.astype(np.float64), shift))
    centre = np.array([(left + right) / 2, (upper + lower) / 2])
    correction = _nearest_similarity(_inverse(in_frame), centre)
    linear_off = np.abs(correction[:, :2] - np.eye(2)).max()
    moved_px = np.abs(correction[:, :2] @ centre + correction[:, 2] - centre).max()
    if linear_off > MAX_CORRECTION or moved_px > MAX_CORRECTION_PX_SHARE * (right - left):
        return matrix
    return _compose(correction, matrix)


def _nearest_similarity(affine: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """The similarity (turn, uniform scale, shift) nearest a 2x3 affine, moving `centre` as it
    does: a band is too low to tell the vertical scale from the horizontal, nor shear from turn,
    far from it (the chin)."""
    a = (affine[0, 0] + affine[1, 1]) / 2
    b = (affine[1, 0] - affine[0, 1]) / 2
    linear = np.array([[a, -b], [b, a]])
    shift = affine[:, :2] @ centre + affine[:, 2] - linear @ centre
    return np.hstack([linear, shift[:, None]])


def _mouth_box(moved: np.ndarray, shape: tuple[int, ...]) -> Box | None:
    points = moved[:, :2]
    height = max(float(np.linalg.norm(points[CHIN] - points[FOREHEAD])), 1.0)
    lips = points[[OUTER_UPPER_LIP_MID, OUTER_LOWER_LIP_MID, *MOUTH_CORNERS]]
    width = float(np.ptp(lips[:, 0]))
    left = max(int(lips[:, 0].min() - BOX_WIDEN * width), 0)
    right = min(int(np.ceil(lips[:, 0].max() + BOX_WIDEN * width)), shape[1])
    top = max(int(lips[:, 1].min()), 0)
    bottom = min(int(np.ceil(lips[:, 1].max() + BOX_BELOW * height)), shape[0])
    if right - left < 2 or bottom - top < 2:
        return None
    return left, top, right, bottom


def _difference(frame: np.ndarray, kept: _Kept, matrix: np.ndarray, moved: np.ndarray) -> float:
    """The mean grey difference of the frame and the placed rest picture in the mouth's box."""
    box = _mouth_box(moved, frame.shape)
    if box is None:
        return 0.0
    x0, y0, x1, y1 = box
    pixels, mask = _placed(kept, matrix, box, mask=True)
    own, placed = (
        cv2.GaussianBlur(_grey(p), (0, 0), BLUR_PX) for p in (frame[y0:y1, x0:x1], pixels)
    )
    difference = np.abs(own - placed)
    return float((difference * mask).sum() / max(float(mask.sum()), 1e-6))


def _weight(level: float) -> float:
    """How far the frame's own mouth differs from the rest picture: 0 (same) .. 1."""
    share = np.clip((level - SAME_LEVEL) / (DIFFERENT_LEVEL - SAME_LEVEL), 0.0, 1.0)
    return float(share * share * (3.0 - 2.0 * share))


def _box_in_frame(points: np.ndarray, shape: tuple[int, ...]) -> tuple[int, int, int, int] | None:
    """The pixel box (x0, y0, x1, y1) around `points`, clipped to a frame of `shape`; None when
    less than 8 px of it is left either way."""
    rows, cols = shape[:2]
    x0, y0 = (int(v) for v in np.maximum(np.floor(points.min(axis=0)).astype(int), 0))
    x1 = min(int(np.ceil(points[:, 0].max())), cols)
    y1 = min(int(np.ceil(points[:, 1].max())), rows)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    return x0, y0, x1, y1


def _lay_over(frame: np.ndarray, kept: _Kept, matrix: np.ndarray, weight: float) -> bool:
    """Blend the placed rest picture into `frame` (in place) by `weight` x its mask."""
    h, w = kept.mask.shape
    corners = np.array([[0, 0], [w, 0], [0, h], [w, h]], np.float64) + kept.origin
    placed = corners @ matrix[:, :2].T + matrix[:, 2]
    box = _box_in_frame(placed, frame.shape)
    if box is None:
        return False
    x0, y0, x1, y1 = box
    pixels, mask = _placed(kept, matrix, (x0, y0, x1, y1), mask=True)
    region = frame[y0:y1, x0:x1].astype(np.float32)
    alpha = (np.float32(weight) * mask)[..., None]
    frame[y0:y1, x0:x1] = np.clip(region + alpha * (pixels - region) + 0.5, 0, 255).astype(np.uint8)
    return True
