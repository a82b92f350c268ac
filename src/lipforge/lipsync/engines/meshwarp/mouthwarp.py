"""Re-pose the mouth of one frame: drop or raise the jaw, spread or round the lips, fill the gap.

Geometry comes from the FaceMesh landmarks, in a face-aligned frame: `u` along the eye line,
`v` down the face, origin between the inner mouth corners. The lips part along a *tear
line* inside the mouth, just under the upper teeth (or on the lip line when the mouth is
closed). Everything above it — upper lip and upper teeth — stays where it is (the upper
teeth are fixed to the skull, so they are never stretched); everything below it — lower
teeth, lower lip, chin — is carried down by the jaw displacement, which is rigid in the
middle, tapers to nothing at the mouth corners and along the jaw line, and compresses into
the neck below the chin. The gap that opens between the two is painted as a mouth cavity
(`cavity`). Lip spread/round moves the outer part of the lips sideways (rounding also brings
raised corners down), fading out over the cheeks up to a little above the nose base, never
folding the skin (`_unfolding_shares`). The displacement fields fall smoothly to zero at the
edge of the working crop (a feathered blend by construction), and pixels outside the crop are
untouched. Sampling is bicubic so the moved skin keeps its sharpness. This module knows
nothing of audio; `MouthPose` values come from `mouthshape`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lipforge.lipsync.engines.meshwarp.cavity import composite as _composite
from lipforge.lipsync.engines.meshwarp.cavity import curve_at as _curve_at
from lipforge.lipsync.engines.meshwarp.cavity import feather_px as _feather_px
from lipforge.lipsync.engines.meshwarp.cavity import open_profile as _open_profile
from lipforge.lipsync.engines.meshwarp.cavity import smoothstep as _smoothstep

INNER_UPPER_LIP = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
INNER_LOWER_LIP = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
OUTER_UPPER_LIP_CENTRE = 0
OUTER_LOWER_LIP_CENTRE = 17
NOSE_BASE = 2
MOUTH_CORNERS = (78, 308)
EYE_CORNERS = (33, 263)
FOREHEAD, CHIN = 10, 152

# Widest inner-lip gap of natural speech, as a fraction of face height (FaceMesh forehead 10 to
# chin 152, about 17-19 cm on an adult): open vowels in conversational speech part the lips
# by up to about 1.5 cm (lip-aperture measurements of American English vowels, e.g. Fromkin
# 1964, are 1-1.5 cm for /a/ and a few mm for /i/, /u/), so 0.085 of face height.
MAX_GAP_FRACTION = 0.085
MIN_EXTRA_FRACTION = 0.1  # a video whose mouth already gapes still opens at least this more
REST_OPENING = 0.2  # openings below this close the lips from their pose in the input
PRESS_FRACTION = 0.2  # pressed lips (p, b, m) meet this much of the input's gap further: the
# lower lip rolls in under the upper one by a few millimetres, as lips pressed shut do
# The inner-lip landmarks sit in the middle of the lips' blurred inner edges (lip into teeth):
# the lower lip's own colour starts about 2 px below its landmark, at any face size (measured
# on the test faces at 100 and 250 px tall). Lips brought together only landmark to landmark
# keep those blended rows between them, a pale line of teeth that on a 100 px face is 3-4 % of
# its height and reads as parted lips; closing takes the lower lip from this much further.
SHUT_EDGE_PX = 2.0
CLOSING_CHIN_SHARE = 0.2  # closing the lips moves the chin this much of the lower lip's travel
TEAR_FRACTION = 0.85  # where the lips part, from the inner upper lip toward the inner lower lip
JAW_REACH_X = 2.4  # jaw displacement fades out this many half mouth widths from the centre
CHIN_EDGE_FRACTION = 0.04  # the jaw moves rigidly down to this far below the chin landmark
NECK_FRACTION = 0.16  # below that the displacement fades over this fraction of face height
SPREAD_MAX = 0.18  # lip-corner travel at full spread / rounding, in half mouth widths
ROUND_MAX = 0.35
ROUND_CORNER_DROP = 0.8  # rounded lips bring raised corners this share of the way down ...
DROP_FROM_X = (0.5, 1.0)  # ... the lips from this far out (half mouth widths), not the middle
SHAPE_INNER_X = 0.3  # the middle of the mouth (teeth) does not move sideways
SHAPE_REACH_X = 2.2
CHEEK_RISE_FRACTION = 0.08  # over the cheeks, lip shaping fades out this much above the nose
CHEEK_FROM_X = (0.7, 1.2)  # base (face height), from beside the nose wings (half mouth widths),
FULL_RISE_SPREAD = 0.5  # for spreads and roundings from this one (less, in proportion, below)
SHAPE_FADE_FRACTION = 0.12  # below the lower lip, sideways travel fades over this (face height)
CROP_MARGIN_PX = 3
# Spreading and rounding never fold the skin: the shaping map's Jacobian stays above this
# (checked every SHAPE_CHECK_STEP_PX pixels), or the sideways travel and then the corners' drop
# are taken at smaller shares, in these steps (see `_unfolding_shares`).
MIN_SHAPE_STRETCH = 0.35
SHAPE_CHECK_STEP_PX = 4
UNFOLDING_STEPS = (
    (1.0, 1.0), (1.0, 0.8), (1.0, 0.6), (1.0, 0.4), (0.6, 0.4), (0.3, 0.4), (0.0, 0.4),
)  # fmt: skip


@dataclass(frozen=True)
class MouthPose:
    """One frame's target: `opening` in [0, 1] (0 = lips closed), `spread` in [-1, 1],
    `tuck` in [0, 1] (the lower lip rises under the upper teeth, as for f and v), `pressed`
    (closed lips pressed together, as for p, b and m)."""

    opening: float
    spread: float
    tuck: float = 0.0
    pressed: bool = False


@dataclass(frozen=True)
class MouthGeometry:
    """The mouth of one frame, measured from its landmarks, in the face-aligned frame."""

    centre: np.ndarray  # (2,) image pixels
    axis_u: np.ndarray  # (2,) unit vector along the eye line
    axis_v: np.ndarray  # (2,) unit vector down the face
    half_width_px: float
    face_height_px: float
    upper_x: np.ndarray  # inner upper lip: x = u / half width (sorted), v in pixels
    upper_v: np.ndarray
    lower_x: np.ndarray
    lower_v: np.ndarray
    chin_v: float
    lip_top_v: float  # outer edge of the upper lip, middle
    lip_bottom_v: float  # outer edge of the lower lip, middle
    nose_base_v: float  # nothing at or above this line moves


def measure_mouth(landmarks: np.ndarray) -> MouthGeometry:
    """Measure the mouth from (468, 3) pixel landmarks."""
    points = np.asarray(landmarks[:, :2], np.float64)
    eye_line = points[EYE_CORNERS[1]] - points[EYE_CORNERS[0]]
    axis_u = eye_line / max(np.linalg.norm(eye_line), 1e-6)
    axis_v = np.array([-axis_u[1], axis_u[0]])
    left, right = points[MOUTH_CORNERS[0]], points[MOUTH_CORNERS[1]]
    centre = (left + right) / 2.0
    half_width = max(abs(float((right - left) @ axis_u)) / 2.0, 1.0)
    relative = points - centre
    us, vs = relative @ axis_u / half_width, relative @ axis_v
    upper_x, upper_v = _sorted_curve(us, vs, INNER_UPPER_LIP)
    lower_x, lower_v = _sorted_curve(us, vs, INNER_LOWER_LIP)
    return MouthGeometry(
        centre=centre,
        axis_u=axis_u,
        axis_v=axis_v,
        half_width_px=half_width,
        face_height_px=max(float(np.linalg.norm(points[CHIN] - points[FOREHEAD])), 1.0),
        upper_x=upper_x,
        upper_v=upper_v,
        lower_x=lower_x,
        lower_v=np.maximum(lower_v, np.interp(lower_x, upper_x, upper_v)),
        chin_v=float(vs[CHIN]),
        lip_top_v=float(vs[OUTER_UPPER_LIP_CENTRE]),
        lip_bottom_v=float(vs[OUTER_LOWER_LIP_CENTRE]),
        nose_base_v=float(min(vs[NOSE_BASE], vs[OUTER_UPPER_LIP_CENTRE] - 1.0)),
    )


def warp_mouth(
    frame: np.ndarray, mouth: MouthGeometry, pose: MouthPose, in_place: bool = False
) -> np.ndarray:
    """`frame` (RGB uint8) with the mouth re-posed to `pose`: a copy, or `frame` itself,
    written over, when `in_place` (only the crop is read before it is written)."""
    jaw_px = _jaw_displacement_px(mouth, pose.opening, pose.tuck, pose.pressed)
    box = _crop_box(frame.shape, mouth, jaw_px, pose.spread)
    if box is None:
        return frame if in_place else frame.copy()
    x0, y0, x1, y1 = box
    grid_x, grid_y = np.meshgrid(
        np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32)
    )
    rel_x, rel_y = grid_x - np.float32(mouth.centre[0]), grid_y - np.float32(mouth.centre[1])
    u = rel_x * np.float32(mouth.axis_u[0]) + rel_y * np.float32(mouth.axis_u[1])
    v = rel_x * np.float32(mouth.axis_v[0]) + rel_y * np.float32(mouth.axis_v[1])
    feather = _feather_px(frame, mouth) if jaw_px > 0 else 1.0
    layers = _layers(mouth, pose, jaw_px, u, v, feather)
    warped = _composite(frame, mouth, layers, jaw_px, TEAR_FRACTION)
    out = frame if in_place else frame.copy()
    out[y0:y1, x0:x1] = warped
    return out


@dataclass
class _Layers:
    """Per-pixel sampling positions and weights of the crop."""

    upper_u: np.ndarray  # where the fixed layer samples (u, v)
    upper_v: np.ndarray
    lower_v: np.ndarray  # where the jaw layer samples (same u)
    weight_upper: np.ndarray
    weight_lower: np.ndarray
    weight_cavity: np.ndarray
    cavity_depth: np.ndarray  # 0 under the upper teeth .. 1 at the lower teeth
    gap_px: np.ndarray  # how far the lips have parted at this column
    x: np.ndarray  # u / half width, of the source position


def _jaw_displacement_px(
    mouth: MouthGeometry, opening: float, tuck: float = 0.0, pressed: bool = False
) -> float:
    """How far the middle of the lower lip moves (down > 0) for `opening` and `tuck`.

    At REST_OPENING the lips keep their pose in the input; above it the jaw drops until the
    inner-lip gap reaches MAX_GAP_FRACTION of the face height (at least MIN_EXTRA_FRACTION
    more than the input's gap); below it the lower lip rises until the lips meet, past their
    blurred edges (SHUT_EDGE_PX; and PRESS_FRACTION of the gap further when `pressed`).
    `tuck` raises the lower lip to the edge of the upper teeth instead (the tear line).
    """
    opening = float(np.clip(opening, 0.0, 1.0))
    current_gap = _curve_at(mouth.lower_x, mouth.lower_v, 0.0) - _curve_at(
        mouth.upper_x, mouth.upper_v, 0.0
    )
    if opening >= REST_OPENING:
        share = (opening - REST_OPENING) / (1.0 - REST_OPENING)
        widest = max(
            MAX_GAP_FRACTION * mouth.face_height_px - current_gap,
            MIN_EXTRA_FRACTION * mouth.face_height_px,
        )
        jaw_px = share * widest
    else:
        press = PRESS_FRACTION if pressed else 0.0
        travel = (1.0 + press) * current_gap + SHUT_EDGE_PX
        jaw_px = -(1.0 - opening / REST_OPENING) * travel
    tuck = float(np.clip(tuck, 0.0, 1.0))
    if tuck > 0.0:
        jaw_px += tuck * (-(1.0 - TEAR_FRACTION) * current_gap - jaw_px)
    return jaw_px


def _layers(
    mouth: MouthGeometry,
    pose: MouthPose,
    jaw_px: float,
    u: np.ndarray,
    v: np.ndarray,
    feather: float = 1.0,
) -> _Layers:
    half_width = np.float32(mouth.half_width_px)
    source_u = u
    if abs(pose.spread) >= 1e-4:
        drop_share, sideways_share = _unfolding_shares(mouth, pose.spread, jaw_px, u, v)
        source_u, v = _shaped(mouth, pose.spread, jaw_px, u, v, drop_share, sideways_share)
    x = source_u / half_width
    upper = np.interp(x, mouth.upper_x, mouth.upper_v).astype(np.float32)
    lower = np.interp(x, mouth.lower_x, mouth.lower_v).astype(np.float32)
    profile = _open_profile(x)
    lip_drop = np.float32(jaw_px) * profile
    lower_edge = np.maximum(upper, lower + lip_drop)
    tear = upper + np.float32(TEAR_FRACTION) * (lower - upper)
    drop = np.where(v < lower_edge, lip_drop, _jaw_field(mouth, jaw_px, x, v, lower_edge, profile))
    soft = 1.0 + np.float32(feather - 1.0) * np.clip(lip_drop / np.float32(2.0 * feather), 0, 1)
    below = np.clip((v - lower_edge) / soft + 0.5, 0.0, 1.0)
    above = np.clip(upper - v + 0.5, 0.0, 1.0)
    inside = np.clip(1.0 - below - above, 0.0, 1.0)
    upper_teeth = np.clip((tear - v) / soft + 0.5, 0.0, 1.0)
    lower_teeth = np.clip((v - lip_drop - tear) / soft + 0.5, 0.0, 1.0) * (1.0 - upper_teeth)
    depth = np.clip((v - tear) / np.maximum(lip_drop, 1.0), 0.0, 1.0)
    return _Layers(
        upper_u=source_u,
        upper_v=v,
        lower_v=v - drop,
        weight_upper=above + inside * upper_teeth,
        weight_lower=below + inside * lower_teeth,
        weight_cavity=inside * (1.0 - upper_teeth - lower_teeth),
        cavity_depth=depth,
        gap_px=lip_drop,
        x=x,
    )


def _jaw_field(
    mouth: MouthGeometry,
    jaw_px: float,
    x: np.ndarray,
    v: np.ndarray,
    lower_edge: np.ndarray,
    profile: np.ndarray,
) -> np.ndarray:
    """Jaw displacement below the lower lip: from the lip's profile to a rigid chin, then fading."""
    toward_chin = _smoothstep(lower_edge, np.float32(mouth.chin_v), v)
    lateral = 1.0 - _smoothstep(np.float32(1.0), np.float32(JAW_REACH_X), np.abs(x))
    edge_v = mouth.chin_v + CHIN_EDGE_FRACTION * mouth.face_height_px
    neck_px = NECK_FRACTION * mouth.face_height_px
    fade = 1.0 - _smoothstep(np.float32(edge_v), np.float32(edge_v + neck_px), v)
    chin_share = np.float32(1.0 if jaw_px > 0 else CLOSING_CHIN_SHARE)
    chin = toward_chin * lateral * chin_share
    return np.float32(jaw_px) * ((1.0 - toward_chin) * profile + chin) * fade


def _shaped(
    mouth: MouthGeometry,
    spread: float,
    jaw_px: float,
    u: np.ndarray,
    v: np.ndarray,
    drop_share: float = 1.0,
    sideways_share: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Where (u, v) samples once the lips are spread or rounded (the corners' drop and the
    sideways travel taken at the given shares)."""
    drop, sideways = _shape_fields(mouth, spread, jaw_px, u, v)
    source_u = u if sideways is None else u - np.float32(sideways_share) * sideways
    source_v = v if drop is None else v - np.float32(drop_share) * drop
    return source_u, source_v


def _shape_fields(
    mouth: MouthGeometry, spread: float, jaw_px: float, u: np.ndarray, v: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The corners' drop and the sideways travel (output -> source, pixels) at (u, v)."""
    x = u / np.float32(mouth.half_width_px)
    band = _lip_band(mouth, jaw_px, v, x, spread)
    return _corner_drop_px(mouth, spread, x, band), _sideways_px(mouth, spread, x, band)


def _unfolding_shares(
    mouth: MouthGeometry, spread: float, jaw_px: float, u: np.ndarray, v: np.ndarray
) -> tuple[float, float]:
    """Shares of the corners' drop and of the sideways travel that fold the skin nowhere.

    Rounding a smiling mouth moves its corners down by up to ROUND_CORNER_DROP of their height
    and in by ROUND_MAX half widths, both fading out above (`_lip_band`). Faded out over the
    short skin between nose base and upper lip, the two together folded it over itself (the map's
    Jacobian turned negative: a hard crease from the nose wings to the corners on a close-up);
    fading out over the cheeks they fold nothing on the test faces, and this check, on a coarse
    grid of the crop, keeps any other face from it: the sideways travel is given up first, then
    the drop (what MediaPipe reads as rounding most), until the skin is nowhere squeezed or
    stretched past MIN_SHAPE_STRETCH."""
    step = SHAPE_CHECK_STEP_PX
    coarse_u, coarse_v = u[::step, ::step], v[::step, ::step]
    if min(coarse_u.shape) < 3:
        return 1.0, 1.0
    drop, sideways = _shape_fields(mouth, spread, jaw_px, coarse_u, coarse_v)
    # both fields are linear in their shares, so are their gradients (per grid step)
    zero = (np.float32(0.0), np.float32(0.0))
    du, dv = np.gradient(coarse_u), np.gradient(coarse_v)
    dd = zero if drop is None else np.gradient(drop)
    ds = zero if sideways is None else np.gradient(sideways)
    for drop_share, sideways_share in UNFOLDING_STEPS:
        du_rows, du_cols = (du[k] - np.float32(sideways_share) * ds[k] for k in (0, 1))
        dv_rows, dv_cols = (dv[k] - np.float32(drop_share) * dd[k] for k in (0, 1))
        stretch = (du_cols * dv_rows - du_rows * dv_cols) / np.float32(step * step)
        if float(stretch.min()) >= MIN_SHAPE_STRETCH:
            return drop_share, sideways_share
    return 0.0, UNFOLDING_STEPS[-1][1]


def _sideways_px(
    mouth: MouthGeometry, spread: float, x: np.ndarray, band: np.ndarray
) -> np.ndarray | None:
    """Sideways travel (output -> source) that spreads (> 0) or rounds (< 0) the outer lips."""
    travel = (SPREAD_MAX if spread > 0 else ROUND_MAX) * float(np.clip(spread, -1.0, 1.0))
    if abs(travel) < 1e-4:
        return None
    ax = np.abs(x)
    inner = _smoothstep(np.float32(SHAPE_INNER_X), np.float32(1.0), ax)
    outer = 1.0 - _smoothstep(np.float32(1.0), np.float32(SHAPE_REACH_X), ax)
    along = np.sign(x) * np.where(ax <= 1.0, inner, outer)
    return np.float32(travel * mouth.half_width_px) * along * band


def _corner_drop_px(
    mouth: MouthGeometry, spread: float, x: np.ndarray, band: np.ndarray
) -> np.ndarray | None:
    """Downward travel (output -> source) of the mouth corners as the lips round: corners
    raised above the middle of the lips (a smile) come down toward it (a pucker)."""
    middle_v = (
        _curve_at(mouth.upper_x, mouth.upper_v, 0.0) + _curve_at(mouth.lower_x, mouth.lower_v, 0.0)
    ) / 2
    travel = ROUND_CORNER_DROP * max(-float(spread), 0.0) * max(middle_v, 0.0)
    if travel < 0.05:
        return None
    ax = np.abs(x)
    along = _smoothstep(np.float32(DROP_FROM_X[0]), np.float32(DROP_FROM_X[1]), ax) * (
        1.0 - _smoothstep(np.float32(1.1), np.float32(SHAPE_REACH_X), ax)
    )
    return np.float32(travel) * along * band


def _lip_band(
    mouth: MouthGeometry, jaw_px: float, v: np.ndarray, x: np.ndarray, spread: float
) -> np.ndarray:
    """Rows that lip shaping moves: all of the lips alike (faded over the upper lip, the
    corners' drop parted shut lips at the corners: 1080p closures 100 -> 83 %), fading to
    nothing above them, up to the nose base beside the nose and up to `_cheek_rise_px` higher
    over the cheeks (a pucker pulls the cheeks; the skin between nose and lips is too short to
    take the corners' travel alone), and over SHAPE_FADE_FRACTION of the face height below the
    (dropped) lower lip."""
    lip_bottom = mouth.lip_bottom_v + max(jaw_px, 0.0)
    fade_px = SHAPE_FADE_FRACTION * mouth.face_height_px
    rise = _smoothstep(np.float32(CHEEK_FROM_X[0]), np.float32(CHEEK_FROM_X[1]), np.abs(x))
    top = np.float32(mouth.nose_base_v) - rise * np.float32(_cheek_rise_px(mouth, spread))
    upper = _smoothstep(top, np.float32(mouth.lip_top_v), v)
    lower = 1.0 - _smoothstep(np.float32(lip_bottom), np.float32(lip_bottom + fade_px), v)
    return np.where(v < 0, upper, lower)


def _cheek_rise_px(mouth: MouthGeometry, spread: float) -> float:
    """How far above the nose base lip shaping reaches over the cheeks: CHEEK_RISE_FRACTION of
    the face height from a spread or rounding of FULL_RISE_SPREAD, in proportion below it (small
    shapes move the cheeks by less than a pixel there, and the warp's crop stays small)."""
    share = min(abs(float(spread)) / FULL_RISE_SPREAD, 1.0)
    return share * CHEEK_RISE_FRACTION * mouth.face_height_px


def _crop_box(
    shape: tuple[int, ...], mouth: MouthGeometry, jaw_px: float, spread: float = 0.0
) -> tuple[int, int, int, int] | None:
    """The image rectangle outside which nothing moves (above the nose base only the cheeks,
    as far as `_cheek_rise_px` of the spread or rounding)."""
    reach_u = max(JAW_REACH_X, SHAPE_REACH_X) * mouth.half_width_px
    top_v = mouth.nose_base_v - _cheek_rise_px(mouth, spread)
    bottom_v = mouth.chin_v + (CHIN_EDGE_FRACTION + NECK_FRACTION) * mouth.face_height_px
    corners = [
        mouth.centre + du * mouth.axis_u + dv * mouth.axis_v
        for du in (-reach_u, reach_u)
        for dv in (top_v, bottom_v)
    ]
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    height, width = shape[:2]
    x0 = max(int(np.floor(min(xs))) - CROP_MARGIN_PX, 0)
    y0 = max(int(np.floor(min(ys))) - CROP_MARGIN_PX, 0)
    x1 = min(int(np.ceil(max(xs))) + CROP_MARGIN_PX, width)
    y1 = min(int(np.ceil(max(ys))) + CROP_MARGIN_PX, height)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    return x0, y0, x1, y1


def _sorted_curve(
    us: np.ndarray, vs: np.ndarray, indices: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(us[list(indices)])
    picked = np.array(indices)[order]
    return us[picked].astype(np.float64), vs[picked].astype(np.float64)
