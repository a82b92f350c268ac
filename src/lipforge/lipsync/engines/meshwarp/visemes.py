"""Phones to mouth shapes: one viseme target per IPA phone, blended into per-frame tracks.

Seven shapes, after the classic animation sets (Preston Blair's, Rhubarb Lip Sync's A-H, X):
`closed` (p b m), `labiodental` (f v: lower lip under the upper teeth), `rounded` (o u w),
`spread` (i e), `open` (a), `neutral` (other consonants and schwa: teeth nearly together,
shaped by the vowels around them) and `rest` (pauses: lips closed, relaxed). Each phone
gives a target (opening, spread, tuck) and a dominance (how strongly it holds its target
against its neighbours, as in Cohen and Massaro's coarticulation model). The tracks are
sampled several times per video frame: lip shape is anticipated (a rounding starts before
its vowel), short shapes are held at least `MIN_HOLD_S`, a bilabial closes the lips fully
on at least one frame, and pauses of at least `PAUSE_MIN_S` ease to rest as the last sound
ends (a smooth ramp over `EASE_TO_REST_S`, not a cut) and then hold perfectly still until
`LEAVE_REST_S` before the next phone. Pure numpy; it knows nothing of audio signals or
pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lipforge.media.timing import Phone

PAUSE_MIN_S = 0.15  # a gap between phones this long is a pause: the mouth rests
EASE_TO_REST_S = 0.07  # the mouth eases to rest over this long at the end of a phrase,
EASE_LEAD_S = 0.03  # ... starting this long before its last phone ends (its sound decays)
LEAVE_REST_S = 0.03  # ... and leaves it this long before the first phone of the next one
ANTICIPATE_S = 0.045  # a shape starts to form this long before its phone (coarticulation)
MIN_HOLD_S = 0.06  # a phone shorter than this still shows its shape this long
CLOSURE_LEAD_S = 0.02  # lips close this long before a bilabial's event
MIN_CLOSED_FRAMES = 2  # a bilabial shuts the lips this many frames at least (~80 ms at 25 fps)
SUBSTEPS = 4  # samples per video frame, averaged into the frame's value
SMOOTH_S = 0.035  # Gaussian smoothing of the sampled tracks (removes one-frame flicker)


@dataclass(frozen=True)
class Shape:
    """A viseme target: opening in [0, 1] of the speech range, spread in [-1 round, 1 spread],
    tuck in [0, 1] (lower lip raised under the upper teeth), dominance > 0."""

    opening: float
    spread: float
    tuck: float
    dominance: float


CLOSED = Shape(0.0, 0.0, 0.0, 1.5)  # the closure itself is forced per frame
LABIODENTAL = Shape(0.08, 0.0, 1.0, 2.0)
REST = Shape(0.0, 0.0, 0.0, 2.0)
NEUTRAL = Shape(0.22, 0.0, 0.0, 0.4)  # t d n s z l k g h ...: the vowels around decide
SHAPES: dict[str, Shape] = {
    # vowels: opening from open (a) to close (i, u); rounding on o/u/y, spreading on i/e
    "a": Shape(1.0, 0.15, 0.0, 1.0),
    "ɑ": Shape(1.0, 0.0, 0.0, 1.0),
    "æ": Shape(0.85, 0.4, 0.0, 1.0),
    "ɐ": Shape(0.7, 0.1, 0.0, 1.0),
    "ʌ": Shape(0.7, 0.1, 0.0, 1.0),
    "ɒ": Shape(0.8, -0.5, 0.0, 1.0),
    "ɔ": Shape(0.6, -0.75, 0.0, 1.2),
    "o": Shape(0.45, -0.9, 0.0, 1.2),
    "ɤ": Shape(0.45, 0.0, 0.0, 0.8),
    "ɵ": Shape(0.35, -0.6, 0.0, 1.0),
    "u": Shape(0.22, -1.0, 0.0, 1.4),
    "ʊ": Shape(0.3, -0.8, 0.0, 1.2),
    "y": Shape(0.2, -1.0, 0.0, 1.4),
    "ʏ": Shape(0.25, -0.8, 0.0, 1.2),
    "ø": Shape(0.35, -0.8, 0.0, 1.2),
    "w": Shape(0.15, -1.0, 0.0, 1.6),
    "ɥ": Shape(0.15, -1.0, 0.0, 1.6),
    "i": Shape(0.22, 1.0, 0.0, 1.2),
    "ɪ": Shape(0.3, 0.8, 0.0, 1.0),
    "e": Shape(0.42, 0.85, 0.0, 1.0),
    "ɛ": Shape(0.55, 0.7, 0.0, 1.0),
    "j": Shape(0.2, 0.8, 0.0, 0.8),
    "ə": Shape(0.4, 0.0, 0.0, 0.6),
    "ɚ": Shape(0.35, -0.3, 0.0, 0.7),
    "ɜ": Shape(0.45, 0.0, 0.0, 0.7),
    "ɨ": Shape(0.25, 0.3, 0.0, 0.7),
    "ɯ": Shape(0.25, 0.3, 0.0, 0.7),
    # consonants that shape the lips
    "ʃ": Shape(0.2, -0.6, 0.0, 1.0),
    "ʒ": Shape(0.2, -0.6, 0.0, 1.0),
    "ʂ": Shape(0.2, -0.4, 0.0, 0.9),
    "ʐ": Shape(0.2, -0.4, 0.0, 0.9),
    "ɹ": Shape(0.2, -0.5, 0.0, 0.9),
    "r": Shape(0.25, -0.3, 0.0, 0.7),
}
BILABIAL_LETTERS = set("pbmɓɱʙ")
LABIODENTAL_LETTERS = set("fvʋ")
VOWEL_LETTERS = set("aɑæɐʌɒɔoɤɵuʊyʏøiɪeɛəɚɜɨɯ")


@dataclass(frozen=True)
class VisemeTracks:
    """Per video frame: opening [0, 1], spread [-1, 1], tuck [0, 1], and masks of frames
    where a bilabial holds the lips shut (`closed`) and where the mouth rests (`resting`).
    The tracks already carry the ease to rest (`rest`); a caller blending in other tracks
    scales them by `1 - rest` so that the blend eases to rest the same way."""

    opening: np.ndarray
    spread: np.ndarray
    tuck: np.ndarray
    closed: np.ndarray
    resting: np.ndarray
    rest: np.ndarray | None = None  # how far each frame has eased to rest, 0..1 (1 = resting)
    closures: tuple[tuple[int, int], ...] = ()  # each bilabial's shut frames: first, last


@dataclass(frozen=True)
class _Target:
    start_s: float
    end_s: float
    shape: Shape
    bilabial: bool = False


def shape_of(symbol: str) -> Shape:
    """The viseme of one IPA phone symbol (diacritics and length marks ignored)."""
    base = symbol.strip()
    if not base:
        return NEUTRAL
    if base[0] in BILABIAL_LETTERS:
        return CLOSED
    if base[0] in LABIODENTAL_LETTERS:
        return LABIODENTAL
    if base in SHAPES:
        return SHAPES[base]
    for letter in base:
        if letter in SHAPES:
            return SHAPES[letter]
    return NEUTRAL


def viseme_tracks(phones: tuple[Phone, ...], fps: float, frame_count: int) -> VisemeTracks:
    """Blend the phones' shapes into per-frame tracks (see the module docstring)."""
    targets = _targets(phones, frame_count / fps)
    step_s = 1.0 / (fps * SUBSTEPS)
    times = (np.arange(frame_count * SUBSTEPS) + 0.5) * step_s
    opening, spread, tuck = _blend(targets, times)
    opening, spread, tuck = (
        _gaussian(track, SMOOTH_S / step_s) for track in (opening, spread, tuck)
    )
    rest = _rest_envelope(phones, times)
    for track in (opening, spread, tuck):
        track *= 1.0 - rest  # inside a pause: exactly the rest value, no flapping, no drift
    per_frame = [
        track.reshape(frame_count, SUBSTEPS).mean(axis=1) for track in (opening, spread, tuck, rest)
    ]
    closures = _closure_spans(targets, fps, frame_count)
    closed = np.zeros(frame_count, bool)
    for first, last in closures:
        closed[first : last + 1] = True
    per_frame[0][closed] = 0.0
    return VisemeTracks(
        opening=np.clip(per_frame[0], 0.0, 1.0),
        spread=np.clip(per_frame[1], -1.0, 1.0),
        tuck=np.clip(per_frame[2], 0.0, 1.0),
        closed=closed,
        resting=per_frame[3] >= 1.0,
        rest=np.clip(per_frame[3], 0.0, 1.0),
        closures=tuple(closures),
    )


def _targets(phones: tuple[Phone, ...], duration_s: float) -> list[_Target]:
    """One target per phone (diphthongs split in two), plus rest targets for pauses."""
    ordered = sorted(phones, key=lambda p: p.start_s)
    targets: list[_Target] = []
    previous_end = 0.0
    for phone in ordered:
        if phone.start_s - previous_end >= PAUSE_MIN_S or not targets:
            targets.append(_Target(previous_end - 1.0, phone.start_s, REST))
        targets += _phone_targets(phone)
        previous_end = max(previous_end, phone.end_s)
    targets.append(_Target(previous_end, max(duration_s, previous_end) + 1.0, REST))
    return targets


def _phone_targets(phone: Phone) -> list[_Target]:
    start, end = phone.start_s, max(phone.end_s, phone.start_s + 1e-3)
    if end - start < MIN_HOLD_S:
        middle = (start + end) / 2
        start, end = middle - MIN_HOLD_S / 2, middle + MIN_HOLD_S / 2
    symbol = phone.symbol.strip()
    first = symbol[:1]
    if first in BILABIAL_LETTERS:
        return [_Target(start - CLOSURE_LEAD_S, end, CLOSED, bilabial=True)]
    vowels = [letter for letter in symbol if letter in VOWEL_LETTERS]
    if len(vowels) >= 2 and first in VOWEL_LETTERS | {"w", "j"}:
        split = start + 0.55 * (end - start)  # a diphthong: its first vowel, then its second
        return [
            _Target(start, split, shape_of(vowels[0])),
            _Target(split, end, shape_of(vowels[-1])),
        ]
    if len(vowels) >= 2 or (symbol[:1] in {"w", "j"} and vowels):
        split = start + 0.4 * (end - start)  # a glide and its vowel (Mandarin "uo", "ia")
        return [
            _Target(start, split, shape_of(symbol[0])),
            _Target(split, end, shape_of(vowels[-1])),
        ]
    return [_Target(start, end, shape_of(symbol))]


def _blend(targets: list[_Target], times: np.ndarray) -> tuple[np.ndarray, ...]:
    """Dominance-weighted mean of the targets; each weighs most inside its span, then fades."""
    totals = np.zeros((3, len(times)))
    weights = np.full(len(times), 1e-9)
    for target in targets:
        lo = np.searchsorted(times, target.start_s - 4 * ANTICIPATE_S)
        hi = np.searchsorted(times, target.end_s + 4 * ANTICIPATE_S)
        if hi <= lo:
            continue
        t = times[lo:hi]
        outside = np.maximum(target.start_s - t, 0.0) + np.maximum(t - target.end_s, 0.0)
        weight = target.shape.dominance * np.exp(-((outside / ANTICIPATE_S) ** 2))
        shape = target.shape
        totals[:, lo:hi] += weight * np.array([[shape.opening], [shape.spread], [shape.tuck]])
        weights[lo:hi] += weight
    return tuple(totals / weights)


def _rest_envelope(phones: tuple[Phone, ...], times: np.ndarray) -> np.ndarray:
    """Per sample, how far the mouth has eased to rest: 0 while speaking, a smooth ramp to 1
    over EASE_TO_REST_S from EASE_LEAD_S before a phrase's last phone ends, 1 inside the
    pause, and a ramp back to 0 over LEAVE_REST_S before the next phrase's first phone."""
    rest = np.zeros(len(times))
    for start, end in _pause_spans(phones):
        start -= EASE_LEAD_S
        into = _smoothstep((times - start) / EASE_TO_REST_S) if start > -1.0 else 1.0
        out_of = _smoothstep((end - times) / LEAVE_REST_S) if np.isfinite(end) else 1.0
        inside = (times > start) & (times < end)
        rest = np.where(inside, np.maximum(rest, np.minimum(into, out_of)), rest)
    return rest


def _pause_spans(phones: tuple[Phone, ...]) -> list[tuple[float, float]]:
    """Silences of at least PAUSE_MIN_S: before the first phone, between phones, after the last."""
    edges = sorted((p.start_s, p.end_s) for p in phones)
    if not edges:
        return [(-1.0, float("inf"))]
    spans, previous_end = [(-1.0, edges[0][0])], edges[0][1]
    for start, end in edges[1:]:
        if start - previous_end >= PAUSE_MIN_S:
            spans.append((previous_end, start))
        previous_end = max(previous_end, end)
    spans.append((previous_end, float("inf")))
    return spans


def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _closure_spans(targets: list[_Target], fps: float, frame_count: int) -> list[tuple[int, int]]:
    """Frames whose lips are shut by each bilabial: its span, or at least the nearest frames."""
    spans = []
    for target in targets:
        if not target.bilabial:
            continue
        first = int(np.ceil(target.start_s * fps - 0.5))
        last = int(np.floor(target.end_s * fps - 0.5))
        if last <= first:  # shorter than two frames: shut the two frames nearest its middle
            middle = (target.start_s + target.end_s) / 2 * fps - 0.5
            first = int(np.floor(middle))
            last = first + MIN_CLOSED_FRAMES - 1
        first, last = max(first, 0), min(last, frame_count - 1)
        if first <= last:
            spans.append((first, last))
    return spans


def _gaussian(track: np.ndarray, sigma_steps: float) -> np.ndarray:
    radius = max(1, int(3 * sigma_steps))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / max(sigma_steps, 1e-6)) ** 2)
    taps /= taps.sum()
    return np.convolve(np.pad(track, radius, mode="edge"), taps, mode="valid")
