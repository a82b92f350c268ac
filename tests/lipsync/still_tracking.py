"""LipForge's own tracker run on one still picture: the landmarks the engine warps from."""

from __future__ import annotations

import numpy as np

from lipforge.lipsync.faces import FaceTracker


def tracked_landmarks(frame: np.ndarray, name: str, fps: float = 25.0) -> np.ndarray:
    """The tracker's landmarks of `frame` held still for as many frames as it looks ahead."""
    tracker = FaceTracker(fps, name)
    try:
        for index in range(tracker.lookahead_frames + 1):
            tracker.push(index, frame)
        return tracker.flush()[-1][1]
    finally:
        tracker.close()
