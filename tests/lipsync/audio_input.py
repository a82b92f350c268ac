"""Audio features built straight from samples, as the pipeline's `analyse_audio` makes them
from a file: for tests of the mouth poses that need no file on disk."""

from __future__ import annotations

import numpy as np

from lipforge.media.audio import SAMPLE_RATE, AudioFeatures, loudness_envelope, melspectrogram

FPS = 25.0


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE))


def features(*parts: np.ndarray, fps: float = FPS, frames: int | None = None) -> AudioFeatures:
    """The features of `parts` (16 kHz mono) played one after another, over `frames` video
    frames (default: as many as the samples fill)."""
    samples = np.concatenate(parts).astype(np.float32)
    frames = int(len(samples) / SAMPLE_RATE * fps) if frames is None else frames
    return AudioFeatures(
        samples=samples,
        sample_rate=SAMPLE_RATE,
        fps=fps,
        frame_count=frames,
        mel=melspectrogram(samples),
        loudness=loudness_envelope(samples, SAMPLE_RATE, fps, frames),
    )
