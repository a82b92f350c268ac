"""Paint the open mouth's inside: where the jaw layer has pulled the lower lip away from the upper.

`mouthwarp` decides where every pixel of the crop samples the frame from (a fixed layer for
the upper lip and teeth, a jaw layer for the lower lip, teeth and chin) and how much of each
shows; this module samples those layers and paints the gap between them, with lip tone toward
the corners so no dark wedge appears there, and says how soft the gap's edges are
(`feather_px`). On a small face the inside is simple: dark, darker under the upper teeth, a
tongue tone low, a band of lower teeth when well open, edges blended over ~1 px. A close-up
(faces from CLOSE_UP_FACE_PX) gets what shows at that size: edges as soft as the picture's own,
a deep shadow under the teeth, a lit tongue, separate lower teeth with rounded tips, darker
toward the cheeks, and upper teeth under the upper lip when the video's lips were shut.
Colours are read from the frame itself (lip, chin skin, the upper teeth when they show). It
knows nothing of audio, and nothing of how far the jaw moves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    from lipforge.lipsync.engines.meshwarp.mouthwarp import MouthGeometry, _Layers

CAVITY_DARK_RGB = np.array([30.0, 15.0, 14.0], np.float32)
CLOSE_UP_FACE_PX = (260.0, 400.0)  # faces this tall (px) come into the close-up's detail
SMALL_FEATHER_FRACTION = 0.006  # small faces: cavity edges blend over this (face height)
SMALL_TONGUE_RGB = np.array([120.0, 58.0, 56.0], np.float32)  # small faces: a tongue tone ...
SMALL_TONGUE_WEIGHT = 0.4
SMALL_WELL_OPEN_FRACTION = 0.045  # ... and a band of lower teeth from this gap (face height)
SMALL_TEETH_SHARE = 0.12  # of the gap
SMALL_TEETH_MAX_FRACTION = 0.012  # ... at most this tall (face height)
SMALL_TEETH_SHADE = 0.5
CAVITY_SIDE_SHADE = 0.45  # the inside of the mouth darkens this much toward the cheeks
CAVITY_CORNER_LIP_WEIGHT = 0.75
OPEN_PROFILE_POWER = 3.0  # lips' opening along the mouth: 1 - |x|^p, flat middle, thin ends
TEETH_SHADOW_DEPTH = 0.45  # how much darker the cavity is right under the upper teeth
SKIN_REFERENCE_LUMA = 170.0
SLIT_FULL_DARK_FRACTION = 0.035  # a gap this tall (of face height) shows the full dark cavity
SLIT_TONE = 0.65  # a thinner gap shades toward this fraction of the lip colour
# ... on a close-up toward this fraction, and this share of the way to the tongue's red: the wet
# inside of the lips, where at SLIT_TONE a 450 px face's parted lips and the mouth's corners
# showed a flat grey-beige band
CLOSE_UP_SLIT_TONE = 0.45
CLOSE_UP_SLIT_RED = 0.5
WELL_OPEN_FRACTION = 0.065  # lips this far apart (face height) show the lower teeth
LOWER_TEETH_SHARE = 0.16  # of the gap, at the bottom of the cavity, behind the lower lip
LOWER_TEETH_MAX_FRACTION = 0.02  # ... at most this tall (face height)
LOWER_TEETH_SHADE = 0.66  # lower teeth sit in the upper lip's shadow (their tips)
LOWER_TOOTH_FRONT_LIGHT = 0.12  # ... and catch this much more light toward the lower lip
LOWER_TEETH_REACH_X = (0.45, 0.85)  # the row fades out between these (half mouth widths)
LOWER_TOOTH_WIDTH = 0.2  # a lower incisor, in half mouth widths (about 5.5 mm of 27)
LOWER_TOOTH_TIP_ROUND = 0.25  # between two teeth the row's top dips this share of its height
TOOTH_GAP_SHADE = 0.1  # ... and the line between them is this much darker (at 0.5 and 0.25 the
# row looked like scalloped stamps on a 450 px face, not teeth)
UPPER_TEETH_OPEN_FRACTION = (0.015, 0.04)  # gaps (face h.) from which painted upper teeth show
UPPER_TEETH_CLOSED_FRACTION = 0.03  # the video's lips count as closed under this gap (FaceMesh
# reads shut lips as 0.018-0.026 of the face height) ...
UPPER_TEETH_LIP_LUMA = 0.8  # ... when between them is this bright of the lip (not a dark slit)
UPPER_TEETH_SHARE = 0.3  # of the gap, under the upper lip (a video that shows no teeth)
UPPER_TEETH_MAX_FRACTION = 0.025  # ... at most this tall (face height), about 4.5 mm
UPPER_TOOTH_WIDTH = 0.3  # an upper incisor, in half mouth widths (about 8 mm of 27)
UPPER_TEETH_REACH_X = (0.5, 0.9)
UPPER_TEETH_SHADE = 0.65  # in the upper lip's shadow at the top ...
UPPER_TEETH_TIP_LIGHT = 0.7  # ... their tips this much of the way to fully lit
TONGUE_RGB = np.array([150.0, 62.0, 64.0], np.float32)
TONGUE_LIP_SHARE = 0.4  # the tongue's colour leans this far toward the video's lip colour
TONGUE_LIP_SHADE = 0.75
TONGUE_TOP_DEPTH = 0.42  # the tongue's top (in the middle), of the cavity's depth
TONGUE_DOME = 0.3  # ... lower by this much toward the corners
TONGUE_EDGE_DEPTH = 0.12  # its top edge blends into the dark over this depth, each side
TONGUE_BACK_LIGHT = 0.35  # light on the tongue's top, of the light at its front
TONGUE_FROM_FRACTION = 0.015  # gaps (face height) from which the tongue shows, fully from
TONGUE_FULL_FRACTION = 0.05
TEETH_VISIBLE_CONTRAST = 1.15  # the video shows upper teeth when they are this much brighter
FEATHER_MAX_FRACTION = 0.012  # the cavity's edges blend over at most this (face height)
IVORY_RGB = np.array([214.0, 204.0, 186.0], np.float32)  # teeth tone when the video shows none


def composite(
    frame: np.ndarray, mouth: MouthGeometry, layers: _Layers, jaw_px: float, tear_fraction: float
) -> np.ndarray:
    """The crop's pixels: the fixed and jaw layers sampled from `frame`, the cavity painted."""
    out = np.zeros((*layers.weight_upper.shape, 3), np.float32)
    _add_layer(out, frame, mouth, layers.upper_u, layers.upper_v, layers.weight_upper)
    _add_layer(out, frame, mouth, layers.upper_u, layers.lower_v, layers.weight_lower)
    rows = np.flatnonzero(layers.weight_cavity.max(axis=1) > 0)
    if jaw_px > 0 and len(rows):
        cols = np.flatnonzero(layers.weight_cavity.max(axis=0) > 0)
        box = np.s_[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        cavity = _cavity_colour(
            frame, mouth, layers.cavity_depth[box], layers.x[box], layers.gap_px[box], tear_fraction
        )
        out[box] += layers.weight_cavity[box][..., None] * cavity
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def feather_px(frame: np.ndarray, mouth: MouthGeometry) -> float:
    """Over how many pixels the open cavity's edges blend into the teeth and lips: on a
    close-up as wide as the frame's own edges there (within 1 px and FEATHER_MAX_FRACTION of
    the face height), on a small face SMALL_FEATHER_FRACTION of its height (at least 1 px)."""
    small = max(1.0, SMALL_FEATHER_FRACTION * mouth.face_height_px)
    share = close_up_share(mouth)
    if share <= 0.0:
        return small
    widest = max(1.0, FEATHER_MAX_FRACTION * mouth.face_height_px)
    close = float(np.clip(edge_width_px(frame, mouth), 1.0, widest))
    return small + (close - small) * share


def edge_width_px(frame: np.ndarray, mouth: MouthGeometry) -> float:
    """How wide the frame's own strongest edge is down the middle of the mouth (nose base to
    chin: lips, teeth), in pixels, so the cavity's edges blur as much as the picture does.

    A blurred step of contrast C over a width w rises by C / w at its steepest; the run of
    one sign with the largest rise gives w = rise / steepest step.
    """
    steps = np.diff(_column_luma(frame, mouth))
    if len(steps) < 3:
        return 1.0
    signs = np.sign(steps)
    starts = np.flatnonzero(np.r_[True, signs[1:] != signs[:-1]])
    rises = np.add.reduceat(steps, starts)
    steepest = np.maximum.reduceat(np.abs(steps), starts)
    best = int(np.argmax(np.abs(rises)))
    return float(abs(rises[best]) / max(steepest[best], 1e-3))


def _column_luma(frame: np.ndarray, mouth: MouthGeometry) -> np.ndarray:
    v = np.arange(np.floor(mouth.nose_base_v), np.ceil(mouth.chin_v), dtype=np.float32)
    map_x, map_y = to_image(mouth, np.zeros_like(v), v)
    column = cv2.remap(frame, map_x[:, None], map_y[:, None], cv2.INTER_LINEAR)
    return column.reshape(-1, 3).astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def _add_layer(
    out: np.ndarray,
    frame: np.ndarray,
    mouth: MouthGeometry,
    u: np.ndarray,
    v: np.ndarray,
    weight: np.ndarray,
) -> None:
    """Add `weight` x the frame sampled at (u, v), on the rows where the layer shows only."""
    rows = np.flatnonzero(weight.max(axis=1) > 0)
    if not len(rows):
        return
    part = np.s_[rows[0] : rows[-1] + 1]
    map_x, map_y = to_image(mouth, u[part], v[part])
    sampled = cv2.remap(frame, map_x, map_y, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    out[part] += weight[part][..., None] * sampled


def _cavity_colour(
    frame: np.ndarray,
    mouth: MouthGeometry,
    depth: np.ndarray,
    x: np.ndarray,
    gap_px: np.ndarray,
    tear_fraction: float,
) -> np.ndarray:
    """The inside of the open mouth, with lip tone at the corners.

    A thin slit is shaded like the lips around it rather than black, so a barely open mouth
    and the narrowing ends of an open one show no dark line. Faces of CLOSE_UP_FACE_PX and
    more get the close-up's inside (`_close_up_inside`), smaller ones the simple one
    (`_small_inside`), between the two a blend.
    """
    lip, skin_luma = _sample_tones(frame, mouth)
    light = np.float32(np.clip(skin_luma / SKIN_REFERENCE_LUMA, 0.5, 1.3))
    ax = np.minimum(np.abs(x), 1.0)
    tone, paint_upper = _teeth_tone(frame, mouth, lip, light, tear_fraction)
    share = close_up_share(mouth)
    if share >= 1.0:
        inside = _close_up_inside(mouth, depth, x, gap_px, lip, light, tone, paint_upper)
    else:
        inside = _small_inside(mouth, depth, ax, gap_px, light, tone)
        if share > 0.0:
            close = _close_up_inside(mouth, depth, x, gap_px, lip, light, tone, paint_upper)
            inside = inside + (close - inside) * np.float32(share)
    corner = CAVITY_CORNER_LIP_WEIGHT * smoothstep(np.float32(0.5), np.float32(1.0), ax)
    full_px = np.float32(SLIT_FULL_DARK_FRACTION * mouth.face_height_px)
    slit = 1.0 - smoothstep(np.float32(0.0), full_px, gap_px)
    lip_share = (corner + slit - corner * slit)[..., None]
    return inside * (1.0 - lip_share) + _slit_tone(lip, share) * lip_share


def _slit_tone(lip: np.ndarray, close_up: float) -> np.ndarray:
    """The colour a thin gap and the mouth's corners shade toward: the lips' own, darker, on a
    close-up darker still and redder (the inside of the lips)."""
    flat = lip * np.float32(SLIT_TONE)
    if close_up <= 0.0:
        return flat
    inner = lip * (1.0 - CLOSE_UP_SLIT_RED) + _tongue_tone(lip) * CLOSE_UP_SLIT_RED
    return flat + (inner * np.float32(CLOSE_UP_SLIT_TONE) - flat) * np.float32(close_up)


def close_up_share(mouth: MouthGeometry) -> float:
    """0 for faces under CLOSE_UP_FACE_PX[0] tall, 1 from CLOSE_UP_FACE_PX[1]: how much of the
    close-up's detail (soft edges, tongue, separate teeth) the mouth gets."""
    low, high = CLOSE_UP_FACE_PX
    return float(smoothstep(low, high, np.float32(mouth.face_height_px)))


def _small_inside(
    mouth: MouthGeometry,
    depth: np.ndarray,
    ax: np.ndarray,
    gap_px: np.ndarray,
    light: np.float32,
    tone: np.ndarray,
) -> np.ndarray:
    """The inside on a small face: dark, darker under the upper teeth, a tongue tone
    low, a band of lower teeth at the bottom of a well open mouth."""
    tongue = smoothstep(np.float32(0.4), np.float32(0.75), depth) * (1.0 - ax * ax)
    tongue *= 1.0 - 0.6 * smoothstep(np.float32(0.85), np.float32(1.0), depth)
    shadow = 1.0 - TEETH_SHADOW_DEPTH * (1.0 - smoothstep(np.float32(0.0), np.float32(0.4), depth))
    inside = (
        CAVITY_DARK_RGB
        + (SMALL_TONGUE_RGB - CAVITY_DARK_RGB) * (SMALL_TONGUE_WEIGHT * tongue)[..., None]
    )
    inside = inside * (shadow * light)[..., None]
    well_open, band = _teeth_band(
        mouth, gap_px, (0.6, SMALL_WELL_OPEN_FRACTION), SMALL_TEETH_SHARE, SMALL_TEETH_MAX_FRACTION
    )
    rising = smoothstep(1.0 - band, 1.0 - 0.65 * band, depth)
    teeth = (rising * well_open * (1.0 - ax**4))[..., None]
    return inside * (1.0 - teeth) + tone * SMALL_TEETH_SHADE * teeth


def _close_up_inside(
    mouth: MouthGeometry,
    depth: np.ndarray,
    x: np.ndarray,
    gap_px: np.ndarray,
    lip: np.ndarray,
    light: np.float32,
    tone: np.ndarray,
    paint_upper: bool,
) -> np.ndarray:
    """The inside on a close-up, lit from the front: a deep shadow under the upper
    teeth, the dark mouth behind, the tongue rising toward the lower teeth, the tips of the
    lower teeth above the lower lip, darker toward the cheeks (and upper teeth under the
    upper lip when the video's lips were closed)."""
    ax = np.minimum(np.abs(x), 1.0)
    sides = 1.0 - CAVITY_SIDE_SHADE * ax * ax
    shadow = 1.0 - TEETH_SHADOW_DEPTH * (1.0 - smoothstep(np.float32(0.0), np.float32(0.4), depth))
    inside = CAVITY_DARK_RGB * (shadow * sides)[..., None]
    tongue, tongue_lit = _tongue(mouth, depth, ax, gap_px)
    tongue_rgb = _tongue_tone(lip) * (tongue_lit * sides)[..., None]
    inside = (inside + (tongue_rgb - inside) * tongue[..., None]) * light
    teeth, teeth_lit = _lower_teeth(mouth, depth, x, gap_px)
    inside = inside + (tone * teeth_lit[..., None] - inside) * teeth[..., None]
    if paint_upper:
        teeth, teeth_lit = _upper_teeth(mouth, depth, x, gap_px)
        inside = inside + (tone * teeth_lit[..., None] - inside) * teeth[..., None]
    return inside


def _tongue(
    mouth: MouthGeometry, depth: np.ndarray, ax: np.ndarray, gap_px: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Where the tongue shows (0..1) and how lit it is: a dome behind the lower teeth whose
    top is highest in the middle, rising from the dark toward the front of the mouth."""
    height = mouth.face_height_px
    shown = smoothstep(
        np.float32(TONGUE_FROM_FRACTION * height), np.float32(TONGUE_FULL_FRACTION * height), gap_px
    )
    top = np.float32(TONGUE_TOP_DEPTH) + np.float32(TONGUE_DOME) * ax * ax
    edge = np.float32(TONGUE_EDGE_DEPTH)
    weight = smoothstep(top - edge, top + edge, depth) * shown * (1.0 - ax**3)
    lit = TONGUE_BACK_LIGHT + (1.0 - TONGUE_BACK_LIGHT) * smoothstep(top, np.float32(1.0), depth)
    return weight.astype(np.float32), lit.astype(np.float32)


def _tongue_tone(lip: np.ndarray) -> np.ndarray:
    """A tongue's red, leaning toward the video's own lip colour."""
    return TONGUE_RGB * (1.0 - TONGUE_LIP_SHARE) + lip * TONGUE_LIP_SHADE * TONGUE_LIP_SHARE


def _teeth_band(
    mouth: MouthGeometry,
    gap_px: np.ndarray,
    well_open: tuple[float, float],
    share: float,
    max_fraction: float,
) -> tuple[np.ndarray, np.ndarray]:
    """How far the mouth is open enough for lower teeth (0..1: from `well_open[0]` of the
    fraction `well_open[1]` of the face height to all of it), and the teeth's band as a share
    of the gap (`share` of it, at most `max_fraction` of the face height)."""
    height = mouth.face_height_px
    start, full = well_open
    opened = smoothstep(np.float32(start * full * height), np.float32(full * height), gap_px)
    band_px = np.minimum(share * gap_px, max_fraction * height)
    return opened, band_px / np.maximum(gap_px, 1.0)


def _lower_teeth(
    mouth: MouthGeometry, depth: np.ndarray, x: np.ndarray, gap_px: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Where the tips of the lower teeth show (0..1) and how lit they are: a row of separate
    teeth at the bottom of a well open cavity, each with a rounded tip, in the upper lip's
    shadow, lighter toward the front where they meet the lower lip."""
    well_open, band = _teeth_band(
        mouth, gap_px, (0.55, WELL_OPEN_FRACTION), LOWER_TEETH_SHARE, LOWER_TEETH_MAX_FRACTION
    )
    # across the row: 0 in the middle of a tooth, 1 at the gap between two (one at x = 0)
    across = np.abs(x) / np.float32(LOWER_TOOTH_WIDTH)
    middle = 2.0 * np.abs(across - np.floor(across) - 0.5)
    top = 1.0 - band * (1.0 - LOWER_TOOTH_TIP_ROUND * middle**4)
    soft = np.maximum(band * np.float32(0.3), 1.0 / np.maximum(gap_px, 1.0))
    rising = smoothstep(top - soft, top + soft, depth)
    ax = np.minimum(np.abs(x), 1.0)
    shown = 1.0 - smoothstep(
        np.float32(LOWER_TEETH_REACH_X[0]), np.float32(LOWER_TEETH_REACH_X[1]), ax
    )
    weight = rising * well_open * shown
    down = np.clip((depth - top) / np.maximum(band, 1e-3), 0.0, 1.0)
    lit = LOWER_TEETH_SHADE * (1.0 + LOWER_TOOTH_FRONT_LIGHT * down)
    lit = lit * (1.0 - TOOTH_GAP_SHADE * middle**16)
    return weight.astype(np.float32), (lit * (1.0 - CAVITY_SIDE_SHADE * ax * ax)).astype(np.float32)


def _upper_teeth(
    mouth: MouthGeometry, depth: np.ndarray, x: np.ndarray, gap_px: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Where the tips of the upper teeth show (0..1) and how lit they are, for a video whose
    mouth shows none: a row under the upper lip once the mouth is open, its tips rounded,
    in the lip's shadow at the top."""
    height = mouth.face_height_px
    opened = smoothstep(
        np.float32(UPPER_TEETH_OPEN_FRACTION[0] * height),
        np.float32(UPPER_TEETH_OPEN_FRACTION[1] * height),
        gap_px,
    )
    band_px = np.minimum(UPPER_TEETH_SHARE * gap_px, UPPER_TEETH_MAX_FRACTION * height)
    band = band_px / np.maximum(gap_px, 1.0)
    across = np.abs(x) / np.float32(UPPER_TOOTH_WIDTH)
    middle = 2.0 * np.abs(across - np.floor(across) - 0.5)
    bottom = band * (1.0 - LOWER_TOOTH_TIP_ROUND * middle**4)
    soft = np.maximum(band * np.float32(0.25), 1.0 / np.maximum(gap_px, 1.0))
    ax = np.minimum(np.abs(x), 1.0)
    shown = 1.0 - smoothstep(
        np.float32(UPPER_TEETH_REACH_X[0]), np.float32(UPPER_TEETH_REACH_X[1]), ax
    )
    weight = (1.0 - smoothstep(bottom - soft, bottom + soft, depth)) * opened * shown
    down = np.clip(depth / np.maximum(band, 1e-3), 0.0, 1.0)
    lit = UPPER_TEETH_SHADE + (1.0 - UPPER_TEETH_SHADE) * UPPER_TEETH_TIP_LIGHT * down
    lit = lit * (1.0 - TOOTH_GAP_SHADE * middle**16) * (1.0 - CAVITY_SIDE_SHADE * ax * ax)
    return weight.astype(np.float32), lit.astype(np.float32)


def _teeth_tone(
    frame: np.ndarray,
    mouth: MouthGeometry,
    lip: np.ndarray,
    light: np.float32,
    tear_fraction: float,
) -> tuple[np.ndarray, bool]:
    """The colour of the video's upper teeth where it shows them, else a neutral ivory; and
    whether to paint upper teeth: the video shows none because its lips are closed (behind
    lips parted on a dark mouth, where its teeth are is unknown: none are painted)."""
    upper = curve_at(mouth.upper_x, mouth.upper_v, 0.0)
    lower = curve_at(mouth.lower_x, mouth.lower_v, 0.0)
    radius = max(1, round(0.25 * tear_fraction * (lower - upper)))
    where = upper + 0.4 * tear_fraction * (lower - upper)
    teeth = _patch_mean(frame, mouth.centre + where * mouth.axis_v, radius)
    weights = np.array([0.299, 0.587, 0.114], np.float32)
    if lower - upper >= 3.0 and teeth @ weights > TEETH_VISIBLE_CONTRAST * (lip @ weights):
        return teeth, False
    shut = lower - upper < UPPER_TEETH_CLOSED_FRACTION * mouth.face_height_px
    return IVORY_RGB * light, shut and teeth @ weights >= UPPER_TEETH_LIP_LUMA * (lip @ weights)


def _sample_tones(frame: np.ndarray, mouth: MouthGeometry) -> tuple[np.ndarray, float]:
    """Mean lower-lip colour and mean skin luminance of the chin, read from the input frame."""
    lower_mid = curve_at(mouth.lower_x, mouth.lower_v, 0.0)
    lip_v = lower_mid + 0.25 * (mouth.chin_v - lower_mid) * 0.5
    chin_v = lower_mid + 0.6 * (mouth.chin_v - lower_mid)
    radius = max(1, round(mouth.half_width_px * 0.15))
    lip = _patch_mean(frame, mouth.centre + lip_v * mouth.axis_v, radius)
    chin = _patch_mean(frame, mouth.centre + chin_v * mouth.axis_v, radius)
    luma = float(chin @ np.array([0.299, 0.587, 0.114], np.float32))
    return lip, luma


def _patch_mean(frame: np.ndarray, point: np.ndarray, radius: int) -> np.ndarray:
    height, width = frame.shape[:2]
    cx = int(np.clip(round(point[0]), 0, width - 1))
    cy = int(np.clip(round(point[1]), 0, height - 1))
    patch = frame[max(cy - radius, 0) : cy + radius + 1, max(cx - radius, 0) : cx + radius + 1]
    return patch.reshape(-1, 3).mean(axis=0).astype(np.float32)


def to_image(mouth: MouthGeometry, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    map_x = (
        np.float32(mouth.centre[0])
        + u * np.float32(mouth.axis_u[0])
        + v * np.float32(mouth.axis_v[0])
    )
    map_y = (
        np.float32(mouth.centre[1])
        + u * np.float32(mouth.axis_u[1])
        + v * np.float32(mouth.axis_v[1])
    )
    return map_x.astype(np.float32), map_y.astype(np.float32)


def open_profile(x: np.ndarray) -> np.ndarray:
    """Share of the jaw drop the lips' edge takes along the mouth: 1 in the middle, 0 at ends."""
    return 1.0 - np.minimum(np.abs(x), 1.0) ** np.float32(OPEN_PROFILE_POWER)


def smoothstep(edge0, edge1, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / np.maximum(edge1 - edge0, 1e-6), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def curve_at(xs: np.ndarray, vs: np.ndarray, x: float) -> float:
    return float(np.interp(x, xs, vs))
