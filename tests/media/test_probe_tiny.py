"""A video too small to hold a face is refused when it arrives, with the minimum in the reason."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from lipforge.errors import VideoTooSmallError
from lipforge.media.probe import MIN_VIDEO_SIDE_PX, probe


def write_video(path: Path, width: int, height: int, frames: int = 10) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv444p"
        for _ in range(frames):
            frame = av.VideoFrame.from_ndarray(
                np.full((height, width, 3), 128, np.uint8), format="rgb24"
            )
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.mark.parametrize(("width", "height"), [(1, 1), (2, 200), (200, MIN_VIDEO_SIDE_PX - 1)])
def test_a_video_too_small_for_a_face_is_refused_at_probe(tmp_path, width, height):
    path = write_video(tmp_path / "tiny.mp4", width, height)
    with pytest.raises(VideoTooSmallError) as caught:
        probe(path)
    error = caught.value
    assert error.code == "video_too_small" and error.http_status == 422
    assert error.params == {"file": "tiny.mp4", "width": width, "height": height,
                            "min_px": MIN_VIDEO_SIDE_PX}  # fmt: skip
    assert f"{MIN_VIDEO_SIDE_PX} px" in str(error)


def test_the_smallest_allowed_video_passes(tmp_path):
    path = write_video(tmp_path / "small.mp4", MIN_VIDEO_SIDE_PX, MIN_VIDEO_SIDE_PX)
    assert probe(path).video.width == MIN_VIDEO_SIDE_PX
