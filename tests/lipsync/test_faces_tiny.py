"""Face search is safe on frames of any size: a tiny frame has no face, not a ZeroDivisionError."""

from __future__ import annotations

import numpy as np
import pytest

from lipforge.errors import NoFaceError
from lipforge.lipsync.faces import FaceTracker, _search_windows


@pytest.mark.parametrize("shape", [(1, 1, 3), (1, 500, 3), (3, 2, 3), (40, 90, 3), (63, 64, 3)])
def test_search_windows_fit_any_frame(shape):
    height, width = shape[:2]
    for level in _search_windows(shape):
        for x0, y0, side in level:
            assert side > 0 and 0 <= x0 <= width - side and 0 <= y0 <= height - side


@pytest.mark.parametrize("shape", [(1, 1, 3), (2, 6, 3)])
def test_a_tiny_video_ends_in_no_face_not_a_crash(shape):
    fps = 25.0
    with pytest.raises(NoFaceError), FaceTracker(fps, "tiny.mp4", search_s=0.4) as tracker:
        for index in range(int(fps)):
            tracker.push(index, np.full(shape, 128, np.uint8))
        tracker.flush()
