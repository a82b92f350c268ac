"""The video's own rest mouth, estimated while its frames stream past.

A presenter who talks in the source opens and closes the mouth to speech that is not the new
one; the warp drives the mouth to absolute targets over this rest mouth instead of adding the
new shape on top of whatever the source does. The rest is read from the quietest-looking
frames: a low percentile (`REST_PERCENTILE`) of the inner-lip gap, in face heights, over the
frames seen so far (a talking source shows its lips together on its own p, b, m and pauses; a
still source's gap hardly varies, so its rest is its own mouth), and the median half width
of the mouth (rounded and spread frames fall either side of it). The values go into
fixed-size histograms, so memory does not grow with the length of the video. It knows
nothing of audio or pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

REST_PERCENTILE = 5.0  # of the frames seen so far: the share of them at or under the rest gap
GAP_BIN_FRACTION = 0.001  # histogram resolution, in face heights
GAP_MAX_FRACTION = 0.25  # gaps above this (face heights) count in the last bin
WIDTH_PERCENTILE = 50.0
HALF_WIDTH_MAX_FRACTION = 0.5  # half widths above this (face heights) count in the last bin


@dataclass(frozen=True)
class RestMouth:
    """The video's mouth at rest, in face heights: inner-lip gap and half width (corners)."""

    gap_fraction: float
    half_width_fraction: float


class RestMouthEstimate:
    """A running estimate of the video's rest mouth (see the module docstring)."""

    def __init__(self) -> None:
        self._gaps = _Histogram(GAP_MAX_FRACTION)
        self._half_widths = _Histogram(HALF_WIDTH_MAX_FRACTION)

    def add(self, gap_fraction: float, half_width_fraction: float) -> None:
        """Count one frame's mouth (face heights); nonsense values are ignored."""
        if np.isfinite(gap_fraction) and np.isfinite(half_width_fraction):
            self._gaps.add(gap_fraction)
            self._half_widths.add(half_width_fraction)

    def rest(self) -> RestMouth | None:
        """The rest mouth so far, or None before any frame was counted."""
        gap = self._gaps.percentile(REST_PERCENTILE)
        width = self._half_widths.percentile(WIDTH_PERCENTILE)
        if gap is None or width is None:
            return None
        return RestMouth(gap, width)


class _Histogram:
    """Counts of values in [0, top] in GAP_BIN_FRACTION bins (values above count in the last)."""

    def __init__(self, top: float) -> None:
        self._counts = np.zeros(int(round(top / GAP_BIN_FRACTION)) + 1, np.int64)
        self._total = 0

    def add(self, value: float) -> None:
        top = len(self._counts) - 1
        self._counts[int(np.clip(round(max(value, 0.0) / GAP_BIN_FRACTION), 0, top))] += 1
        self._total += 1

    def percentile(self, share_percent: float) -> float | None:
        if not self._total:
            return None
        wanted = max(share_percent / 100.0 * self._total, 1.0)
        return int(np.searchsorted(np.cumsum(self._counts), wanted)) * GAP_BIN_FRACTION
