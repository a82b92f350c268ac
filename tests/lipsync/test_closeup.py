"""meshwarp on a 1080p close-up (the face ~480 px tall): the open mouth looks like a mouth.

The astronaut is scaled so her face is about 450 px tall (`talking_sources.close_up_canvas`),
her mouth opened wide by the warp, and the output judged down columns of pixels through the
middle of the mouth, placed by MediaPipe's own landmarks of the input:

- the edge under the upper teeth is no cut: it is at least about half as wide as the picture's
  own edge above them (upper lip into teeth), instead of a few pixels from white to black;
- the inside is shaded in depth: a deep shadow under the teeth, then a lit red tongue;
- a row of separate lower teeth shows above the lower lip (dips between teeth along the row);
- a video whose lips are shut (no teeth show) opens onto upper teeth, not a black hole;
- the lower lip is moved, not smeared: its texture matches the input's at its new place;
- rounding a smiling mouth folds no skin: striped cheeks stay striped, no stripe stretched to
  a band (seen before: the corners' drop and inward travel together folded the skin between
  nose and mouth into a hard crease).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy.signal import find_peaks
from tests.lipsync.mouth_measure import (
    CHIN,
    INNER_LOWER_LIP_MID,
    INNER_MOUTH_CORNERS,
    INNER_UPPER_LIP_MID,
    OUTER_LOWER_LIP_MID,
    face_axes,
    face_height,
    face_landmarks,
    laplacian_variance,
    ncc,
    upright_crop,
)
from tests.lipsync.still_tracking import tracked_landmarks
from tests.lipsync.talking_sources import close_up_canvas
from tests.support import media_factory as factory

from lipforge.lipsync.engines.meshwarp.mouthwarp import MouthPose, measure_mouth, warp_mouth

FPS = 25.0
WIDE_OPEN = MouthPose(1.0, 0.0)
COLUMNS = (-0.25, 0.0, 0.25)  # where the columns run, in inner half mouth widths
MIN_EDGE_WIDTH_SHARE = 0.45  # the cavity's edge at least this wide, of the teeth's upper edge
MIN_EDGE_CONTRAST = 100.0  # levels from the teeth down into the cavity (it is dark)
SHADOW_MAX = 0.15  # of the chin's luma: the darkest point under the upper teeth
TONGUE_MIN = 0.4  # ... the lit tongue toward the front reaches at least this
RED_OVER_GREEN = 1.5  # a tongue's red
TEETH_WHITE = 0.55  # of the chin's luma: lower teeth are at least this light ...
TEETH_NOT_RED = 1.3  # ... and not red (R/G below this)
TEETH_MIN_HEIGHT = 0.008  # of face height (about 1.5 mm): tips, not a line
UPPER_TEETH_WITHIN = 0.06  # of face height under the inner upper lip
TEETH_SPAN = 0.4  # the row is judged over this many inner half widths each side
MIN_TOOTH_GAPS = 3
TOOTH_GAP_PX = 1.0  # the row's top dips at least this much between two teeth
LIP_SPOTS = (-0.4, 0.0, 0.4)  # lower-lip patches, in inner half mouth widths
LIP_PATCH_WIDTH = 0.15  # ... this wide (the lip bends as the jaw drops: judged in strips)
MIN_LIP_MATCH = 0.95
MIN_LIP_SHARPNESS = 0.8


@pytest.fixture(scope="module")
def close_up() -> np.ndarray:
    return close_up_canvas()


@pytest.fixture(scope="module")
def judged(close_up) -> np.ndarray:
    """MediaPipe's own landmarks of the input (the judge's)."""
    return face_landmarks([close_up] * 3)[-1]


def _tracked(frame: np.ndarray) -> np.ndarray:
    return tracked_landmarks(frame, "close-up.png", FPS)


@pytest.fixture(scope="module")
def opened(close_up) -> np.ndarray:
    return warp_mouth(close_up, measure_mouth(_tracked(close_up)), WIDE_OPEN)


@pytest.fixture(scope="module")
def shut_source(close_up) -> np.ndarray:
    """The close-up with its lips shut (no teeth show): most presenters' mouth at rest."""
    return warp_mouth(close_up, measure_mouth(_tracked(close_up)), MouthPose(0.0, 0.0, 0.0, True))


def test_the_face_is_close_up(judged):
    assert 400 <= face_height(judged) <= 500


def _column(frame: np.ndarray, points: np.ndarray, across: float) -> tuple[np.ndarray, int]:
    """RGB down the face at `across` inner half widths from the mouth's middle, from a little
    above the inner upper lip to well below it; and the index of the inner upper lip."""
    centre, along, down = face_axes(points)
    half = float((points[INNER_MOUTH_CORNERS[1]] - centre) @ along)
    top = float((points[INNER_UPPER_LIP_MID] - centre) @ down)
    height = face_height(points)
    above = round(0.04 * height)
    v = np.arange(top - above, top + 0.25 * height, dtype=np.float32)
    at = centre + across * half * along + v[:, None] * down
    xs, ys = at[:, 0].astype(np.float32)[:, None], at[:, 1].astype(np.float32)[:, None]
    return cv2.remap(frame, xs, ys, cv2.INTER_LINEAR).reshape(-1, 3).astype(np.float64), above


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.array([0.299, 0.587, 0.114])


def _skin(frame: np.ndarray, points: np.ndarray) -> float:
    _, _, down = face_axes(points)
    chin = points[CHIN] - down * 0.05 * face_height(points)
    return float(upright_crop(frame, chin, (9, 9)).mean())


def _run_width(values: np.ndarray) -> tuple[float, float]:
    """Contrast and width (contrast / steepest step) of a monotone run."""
    contrast = abs(float(values[-1] - values[0]))
    return contrast, contrast / max(float(np.abs(np.diff(values)).max()), 1e-6)


def _teeth_edges(column: np.ndarray, lip: int, points: np.ndarray) -> tuple[int, int, int]:
    """Indices of the upper lip's darkest point above the teeth, the teeth's brightest, and
    the darkest point of the cavity under them."""
    luma = _luma(column)
    gap = float(np.linalg.norm(points[INNER_LOWER_LIP_MID] - points[INNER_UPPER_LIP_MID]))
    peak = lip + int(np.argmax(luma[lip : lip + round(gap)]))
    start = peak
    while start > 0 and luma[start - 1] <= luma[start] + 1.0:
        start -= 1
    end = peak
    while end + 1 < len(luma) and luma[end + 1] <= luma[end] + 1.0:
        end += 1
    return start, peak, end


@pytest.mark.parametrize("across", COLUMNS)
def test_the_edge_under_the_upper_teeth_is_as_soft_as_the_picture(opened, judged, across):
    column, lip = _column(opened, judged, across)
    start, peak, end = _teeth_edges(column, lip, judged)
    luma = _luma(column)
    _, rise_width = _run_width(luma[start : peak + 1])
    fall, fall_width = _run_width(luma[peak : end + 1])
    assert fall >= MIN_EDGE_CONTRAST, f"no dark cavity under the teeth ({fall:.0f} levels)"
    assert fall_width >= MIN_EDGE_WIDTH_SHARE * rise_width, (
        f"teeth to cavity over {fall_width:.1f} px, lip to teeth over {rise_width:.1f} px"
    )


@pytest.mark.parametrize("across", COLUMNS)
def test_the_open_mouth_is_shaded_in_depth_with_a_lit_tongue(opened, judged, across):
    column, lip = _column(opened, judged, across)
    _, _, trough = _teeth_edges(column, lip, judged)
    luma, skin = _luma(column), _skin(opened, judged)
    assert luma[trough] <= SHADOW_MAX * skin, f"under the teeth {luma[trough]:.0f} of {skin:.0f}"
    below = column[trough : trough + round(0.1 * face_height(judged))]
    red = below[:, 0] >= RED_OVER_GREEN * below[:, 1]
    tongue = float(_luma(below)[red].max()) if red.any() else 0.0
    assert tongue >= TONGUE_MIN * skin, f"no lit tongue: {tongue:.0f} of skin {skin:.0f}"


def test_a_row_of_separate_lower_teeth_shows_when_the_jaw_is_wide_open(opened, judged):
    """Below the tongue, light teeth (not red, at least TEETH_MIN_HEIGHT tall) across the
    middle of the mouth, whose tips dip between the teeth: separate teeth, not one band."""
    centre, along, _ = face_axes(judged)
    half = float((judged[INNER_MOUTH_CORNERS[1]] - centre) @ along)
    skin, tall_px = _skin(opened, judged), TEETH_MIN_HEIGHT * face_height(judged)
    tips = []
    for across in np.arange(-TEETH_SPAN, TEETH_SPAN + 1e-6, 1.0 / half):
        column, lip = _column(opened, judged, float(across))
        _, _, trough = _teeth_edges(column, lip, judged)
        tail = column[trough:]
        light = _luma(tail)
        white = (light >= TEETH_WHITE * skin) & (tail[:, 0] < TEETH_NOT_RED * tail[:, 1])
        first = int(np.argmax(white))
        height = int(np.argmin(white[first:])) if not white[first:].all() else len(white) - first
        if not white.any() or height < tall_px or first == 0:
            tips.append(np.nan)
            continue
        level, below, above = TEETH_WHITE * skin, light[first - 1], light[first]
        tips.append(trough + first - (above - level) / max(above - below, 1e-6))
    tips = np.array(tips)
    shown = ~np.isnan(tips)
    assert shown.mean() >= 0.8, (
        f"lower teeth {tall_px:.1f} px tall in {shown.mean():.0%} of the row"
    )
    x = np.flatnonzero(shown)
    residual = tips[shown] - np.polyval(np.polyfit(x, tips[shown], 2), x)
    gaps, _ = find_peaks(residual, prominence=TOOTH_GAP_PX)
    assert len(gaps) >= MIN_TOOTH_GAPS, f"{len(gaps)} dips between lower teeth: a flat band"


@pytest.mark.parametrize("across", COLUMNS)
def test_a_mouth_shut_in_the_video_opens_onto_upper_teeth(shut_source, across):
    """The video shows no teeth: opened wide, upper teeth show under the upper lip (light,
    not red, at least TEETH_MIN_HEIGHT tall) before the dark of the mouth, not a black hole."""
    judge = face_landmarks([shut_source] * 3)[-1]
    opened = warp_mouth(shut_source, measure_mouth(_tracked(shut_source)), WIDE_OPEN)
    column, lip = _column(opened, judge, across)
    height, skin = face_height(judge), _skin(opened, judge)
    below = column[lip : lip + round(UPPER_TEETH_WITHIN * height)]
    light = _luma(below)
    white = (light >= TEETH_WHITE * skin) & (below[:, 0] < TEETH_NOT_RED * below[:, 1])
    runs = np.diff(np.r_[0, white.astype(int), 0])
    longest = int((np.flatnonzero(runs == -1) - np.flatnonzero(runs == 1)).max(initial=0))
    assert longest >= TEETH_MIN_HEIGHT * height, f"no upper teeth: {longest} light px under the lip"
    after = light[int(np.flatnonzero(white)[-1]) :] if white.any() else light
    assert after.min() <= SHADOW_MAX * 2 * skin, "no dark mouth behind the teeth"


@pytest.mark.parametrize("across", LIP_SPOTS)
def test_the_lower_lip_keeps_its_texture_as_it_moves_down(close_up, opened, judged, across):
    centre, along, down = face_axes(judged)
    half = float((judged[INNER_MOUTH_CORNERS[1]] - centre) @ along)
    inner, outer = judged[INNER_LOWER_LIP_MID], judged[OUTER_LOWER_LIP_MID]
    lip_px = float((outer - inner) @ down)
    where = (inner + outer) / 2 + across * half * along
    size = (max(6, round(0.7 * lip_px)), round(LIP_PATCH_WIDTH * half))
    before = upright_crop(close_up, where, size)
    shifts = np.arange(0.0, 0.12 * face_height(judged), 0.5)
    scores = [ncc(before, upright_crop(opened, where + s * down, size)) for s in shifts]
    best = int(np.argmax(scores))
    assert shifts[best] >= 5.0, f"the lower lip did not move ({shifts[best]:.1f} px)"
    assert scores[best] >= MIN_LIP_MATCH, f"lower lip texture lost (match {scores[best]:.3f})"
    mask_before = _patch_mask(close_up.shape, where, size, along, down)
    mask_after = _patch_mask(close_up.shape, where + shifts[best] * down, size, along, down)
    ratio = laplacian_variance(opened, mask_after) / laplacian_variance(close_up, mask_before)
    assert ratio >= MIN_LIP_SHARPNESS, f"lower lip blurred (Laplacian variance x{ratio:.2f})"


def _patch_mask(shape, centre, size, along, down) -> np.ndarray:
    height, width = size
    corners = [
        centre + a * width / 2 * along + b * height / 2 * down
        for a, b in ((-1, -1), (1, -1), (1, 1), (-1, 1))
    ]
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, np.round(np.array(corners)).astype(np.int32), 1)
    return mask.astype(bool)


ROUNDED = MouthPose(0.5, -1.0)
STRIPES_PER_FACE = 60  # stripes of this many per face height over the cheeks ...
MAX_STRETCHED_STRIPES = 2.6  # ... none of which is stretched past this many stripes tall


def _striped_cheeks(frame: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """`frame` with black and white stripes across the cheeks beside the mouth (from above the
    nose base to the lower lip); the mask where they are whole and the stripe's height."""
    mouth = measure_mouth(landmarks)
    rows, cols = np.mgrid[0 : frame.shape[0], 0 : frame.shape[1]].astype(np.float64)
    rel_x, rel_y = cols - mouth.centre[0], rows - mouth.centre[1]
    u = (rel_x * mouth.axis_u[0] + rel_y * mouth.axis_u[1]) / mouth.half_width_px
    v = rel_x * mouth.axis_v[0] + rel_y * mouth.axis_v[1]
    stripe = max(4, round(mouth.face_height_px / STRIPES_PER_FACE))
    top, bottom = mouth.nose_base_v - 2 * stripe, mouth.lip_bottom_v
    cheeks = (np.abs(u) > 0.8) & (np.abs(u) < 2.4) & (v > top) & (v < bottom)
    striped = frame.copy()
    dark = np.floor(v / stripe) % 2 == 0
    striped[cheeks & dark], striped[cheeks & ~dark] = 0, 255
    inside = cheeks & (v > top + stripe) & (v < bottom - stripe)
    return striped, inside, stripe


def _tallest_stripe(frame: np.ndarray, inside: np.ndarray) -> int:
    """The tallest run of one colour down any column inside the striped cheeks."""
    light = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) > 128
    tallest = 0
    for col in np.flatnonzero(inside.any(axis=0)):
        changes = np.flatnonzero(np.diff(light[inside[:, col], col].astype(np.int8)))
        if len(changes) >= 2:
            tallest = max(tallest, int(np.diff(changes).max()))
    return tallest


@pytest.mark.parametrize("size", ["close-up", "720x1280"])
def test_rounding_a_smiling_mouth_folds_no_skin(close_up, size):
    frame = close_up if size == "close-up" else factory.astronaut_canvas((720, 1280))
    landmarks = _tracked(frame)
    striped, inside, stripe = _striped_cheeks(frame, landmarks)
    assert _tallest_stripe(striped, inside) <= 1.5 * stripe  # the stripes as drawn
    rounded = warp_mouth(striped, measure_mouth(landmarks), ROUNDED)
    assert _tallest_stripe(rounded, inside) <= MAX_STRETCHED_STRIPES * stripe
