"""Viseme measures of a lip-synced output against espeak-ng's own phoneme timings.

A `Case` is speech made with libespeak-ng (`lipforge.phonetics.espeaklib`): its samples, and the
IPA phones espeak-ng reported with their times (the ground truth). Longer pauses are made by
joining parts with silence between them. `measure_output` tracks the rendered mouth with
MediaPipe (run here directly, see `mouth_measure`) and reports:

- closures: share of bilabial phones (p, b, m) where the inner-lip gap falls under
  `CLOSED_GAP` of the face height (or `CLOSED_GAP_PX` on a small face) on some frame within
  the phone, widened by +-1 frame;
- silence_rest: share of frames inside pauses of at least 150 ms (less EASE_FRAMES at the
  start, for a smooth close, and the last one, which may anticipate the next sound) whose
  mouth is closed or at the input's own pose, and still (moved under STILL_STEP) once
  MediaPipe has had SETTLE_FRAMES to follow the close;
- rounding: 1 - (mouth width on o/u/w frames) / (width on i/e frames);
- loudness_r: best Pearson r (lag <= 1 frame) of the inner-lip gap against the loudness.

Used by `bench/visemes.py` (the full set) and `tests/lipsync/test_visemes.py` (a small one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tests.lipsync.mouth_measure import (
    INNER_LOWER_LIP_MID,
    INNER_UPPER_LIP_MID,
    MOUTH_CORNERS,
    face_height,
    lagged_pearson,
)

from lipforge.media.timing import Phone, Sentence, SpeechTiming

FPS = 25.0
# Lips count as closed under this inner-lip gap (of face height, about 5 mm on an adult), or
# under CLOSED_GAP_PX on a small face: MediaPipe reads lips the warp shuts exactly as 0.018-0.026
# on the 250 px tall test face and 0.033-0.037 on the 100 px one (its landmarks' bias there).
CLOSED_GAP = 0.03
CLOSED_GAP_PX = 4.0
REST_MATCH = 0.008  # gap within this of the input's own gap counts as the video's own mouth
STILL_STEP = 0.004  # frame-to-frame change of gap and width (face heights) that counts as still
STILL_STEP_PX = 1.0  # ... or of this many pixels on a small face (MediaPipe's own jitter)
EASE_FRAMES = 2  # frames at the start of a pause left to the mouth to close smoothly
# MediaPipe's tracking mode reads a mouth that snaps shut in one frame (and then holds exactly
# still) as moving on the two frames after it: its landmarks settle by 0.005-0.008 face heights
# (the warp of a fixed pose onto the jittered test face, measured here). Frames that soon after
# the ease are judged at rest but not on stillness, or a perfect close would count as moving.
SETTLE_FRAMES = 2
MIN_PAUSE_S = 0.15
BILABIALS = {"p", "b", "m", "pʰ", "ph", "bʰ", "m̩"}
ROUNDED = {"o", "oː", "oʊ", "u", "uː", "ʊ", "w", "ɔ", "ɔː", "ɔɪ", "əʊ", "y", "ou", "uo", "ʊə"}
SPREAD = {"i", "iː", "ɪ", "e", "eɪ", "ɛ", "iə", "ie", "iɛ", "ei"}
TARGETS = {"closures": 0.90, "silence_rest": 0.95, "rounding": 0.10, "loudness_r": 0.80}


@dataclass(frozen=True)
class CaseSpec:
    """Text parts spoken with `voice`, joined by `pause_s` of silence."""

    name: str
    voice: str
    parts: tuple[str, ...]
    pause_s: float = 0.8
    language: str = "en"


@dataclass
class Case:
    spec: CaseSpec
    samples: np.ndarray  # float32 mono
    sample_rate: int
    phones: tuple[Phone, ...]
    sentences: tuple[Sentence, ...] = field(default=())

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate

    def timing(self) -> SpeechTiming:
        return SpeechTiming(self.sentences, self.phones, self.spec.language)


def synthesize_case(spec: CaseSpec, lead_s: float = 0.3) -> Case:
    """Speak the parts with espeaklib; shift their phones by where each part lands."""
    from tests.support.espeak_fresh import synthesize

    chunks, phones, sentences = [], [], []
    rate = 22050
    offset = int(lead_s * rate)
    chunks.append(np.zeros(offset, np.float32))
    for index, text in enumerate(spec.parts):
        samples, rate, part_phones = synthesize(text, spec.voice)
        start_s = offset / rate
        phones += [Phone(p.symbol, p.start_s + start_s, p.end_s + start_s) for p in part_phones]
        sentences.append(Sentence(text, start_s, start_s + len(samples) / rate))
        chunks.append(samples.astype(np.float32) / 32768.0)
        offset += len(samples)
        gap = int((spec.pause_s if index + 1 < len(spec.parts) else lead_s) * rate)
        chunks.append(np.zeros(gap, np.float32))
        offset += gap
    return Case(spec, np.concatenate(chunks), rate, tuple(phones), tuple(sentences))


def pauses(phones: tuple[Phone, ...], duration_s: float) -> list[tuple[float, float]]:
    """Spans of at least MIN_PAUSE_S with no phone (including before the first, after the last)."""
    edges = [(0.0, 0.0)] + [(p.start_s, p.end_s) for p in phones] + [(duration_s, duration_s)]
    spans = []
    for (_, end), (start, _) in zip(edges, edges[1:], strict=False):
        if start - end >= MIN_PAUSE_S:
            spans.append((end, start))
    return spans


@dataclass
class Measures:
    closures: float
    silence_rest: float
    rounding: float
    loudness_r: float
    bilabials: int
    silent_frames: int
    missed: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"closures {self.closures:.0%} (of {self.bilabials}), "
            f"silence at rest {self.silence_rest:.0%} (of {self.silent_frames} frames), "
            f"rounding {self.rounding:+.1%}, loudness r {self.loudness_r:.2f}"
        )


def mouth_series(points: list[np.ndarray | None]) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: inner-lip gap and mouth width, both over face height (NaN without a face)."""
    gap, width = np.full(len(points), np.nan), np.full(len(points), np.nan)
    for i, p in enumerate(points):
        if p is None:
            continue
        height = face_height(p)
        gap[i] = np.linalg.norm(p[INNER_UPPER_LIP_MID] - p[INNER_LOWER_LIP_MID]) / height
        width[i] = np.linalg.norm(p[MOUTH_CORNERS[0]] - p[MOUTH_CORNERS[1]]) / height
    return gap, width


def measure_output(
    case: Case,
    out_points: list[np.ndarray | None],
    in_points: list[np.ndarray | None],
    loudness: np.ndarray,
) -> Measures:
    gap, width = mouth_series(out_points)
    in_gap, _ = mouth_series(in_points)
    count = len(gap)
    frames_of = frame_span(count)
    closed = gap < closed_threshold(out_points)
    hits, missed = 0, []
    bilabials = [p for p in case.phones if p.symbol in BILABIALS]
    for phone in bilabials:
        first, last = frames_of(phone.start_s, phone.end_s)
        window = closed[max(first - 1, 0) : min(last + 2, count)]
        if window.any():
            hits += 1
        else:
            missed.append(f"{phone.symbol}@{phone.start_s:.2f}s")
    silent, settled = [], set()
    for start_s, end_s in pauses(case.phones, case.duration_s):
        first, last = frames_of(start_s, end_s)
        silent += list(range(first + EASE_FRAMES, last))  # the last frame may anticipate
        settled |= set(range(first + EASE_FRAMES + SETTLE_FRAMES, last))
    silent = [i for i in silent if 0 < i < count]
    threshold = closed_threshold(out_points)
    heights = np.array([np.nan if p is None else face_height(p) for p in out_points])
    still = np.maximum(STILL_STEP, STILL_STEP_PX / heights)
    at_rest = [
        _at_rest(i, gap, width, in_gap, threshold[i], still[i] if i in settled else np.inf)
        for i in silent
    ]
    return Measures(
        closures=hits / max(len(bilabials), 1),
        silence_rest=float(np.mean(at_rest)) if at_rest else 1.0,
        rounding=_rounding(case.phones, width, frames_of),
        loudness_r=lagged_pearson(gap, loudness[:count]),
        bilabials=len(bilabials),
        silent_frames=len(silent),
        missed=missed,
    )


def closed_threshold(points: list[np.ndarray | None]) -> np.ndarray:
    """Per frame: the gap (of face height) under which the lips count as closed."""
    heights = np.array([np.nan if p is None else face_height(p) for p in points])
    return np.maximum(CLOSED_GAP, CLOSED_GAP_PX / heights)


def frame_span(count: int):
    def frames_of(start_s: float, end_s: float) -> tuple[int, int]:
        first = int(np.floor(start_s * FPS))
        last = max(first, int(np.ceil(end_s * FPS)) - 1)
        return min(first, count - 1), min(last, count - 1)

    return frames_of


def _at_rest(
    i: int, gap: np.ndarray, width: np.ndarray, in_gap: np.ndarray, closed: float, step: float
) -> bool:
    if not np.isfinite(gap[i]) or not np.isfinite(gap[i - 1]):
        return False
    rest = gap[i] < closed or abs(gap[i] - in_gap[i]) < REST_MATCH
    still = abs(gap[i] - gap[i - 1]) < step and abs(width[i] - width[i - 1]) < step
    return bool(rest and still)


def _rounding(phones: tuple[Phone, ...], width: np.ndarray, frames_of) -> float:
    def widths(symbols: set[str]) -> list[float]:
        picked = []
        for phone in phones:
            if phone.symbol in symbols:
                middle = (phone.start_s + phone.end_s) / 2
                value = width[frames_of(middle, middle)[0]]
                if np.isfinite(value):
                    picked.append(value)
        return picked

    rounded, spread = widths(ROUNDED), widths(SPREAD)
    if not rounded or not spread:
        return float("nan")
    return 1.0 - float(np.mean(rounded)) / float(np.mean(spread))


def write_case_wav(case: Case, path: Path) -> Path:
    from tests.support import media_factory as factory

    return factory.write_wav(path, case.samples, case.sample_rate)
