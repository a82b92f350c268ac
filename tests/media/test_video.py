"""Streaming decode: rotation, constant frame rate, and the loop/pingpong/trim fit modes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.support import media_factory as factory

from lipforge.errors import ConfigError, CorruptMediaError, NotMediaError, NoVideoStreamError
from lipforge.media.video import VideoReader, check_fit, fit_index, fitted_frames

LEVEL_STEP = 8
SOURCE_FRAMES = 30


@pytest.fixture(scope="module")
def numbered_clip(tmp_path_factory) -> Path:
    """30 flat gray frames whose level encodes their index; a keyframe every 7 frames."""
    frames = (np.full((48, 64, 3), 8 + LEVEL_STEP * i, np.uint8) for i in range(SOURCE_FRAMES))
    path = tmp_path_factory.mktemp("numbered") / "numbered.mp4"
    options = {"g": "7", "keyint_min": "7", "sc_threshold": "0", "crf": "10"}
    return factory.write_video(path, frames, 25, x264_options=options)


def _index_of(frame: np.ndarray) -> int:
    return int(round((float(frame.mean()) - 8) / LEVEL_STEP))


def test_fit_index_modes():
    assert [fit_index(i, 4, "loop") for i in range(9)] == [0, 1, 2, 3, 0, 1, 2, 3, 0]
    assert [fit_index(i, 4, "pingpong") for i in range(9)] == [0, 1, 2, 3, 2, 1, 0, 1, 2]
    assert [fit_index(i, 4, "trim") for i in range(5)] == [0, 1, 2, 3, None]
    assert [fit_index(i, 1, "pingpong") for i in range(3)] == [0, 0, 0]


def test_unknown_fit_mode():
    with pytest.raises(ConfigError, match="'bounce'.*pingpong, loop, trim"):
        check_fit("bounce")


def test_decode_reads_every_frame_in_order(numbered_clip):
    with VideoReader(numbered_clip) as reader:
        indices = [(i, _index_of(f)) for i, f in reader.frames()]
        assert float(reader.fps) == 25.0
    assert indices == [(i, i) for i in range(SOURCE_FRAMES)]


@pytest.mark.parametrize("fit", ["loop", "pingpong"])
def test_long_audio_follows_the_fit_mode(numbered_clip, fit):
    total = 100
    with VideoReader(numbered_clip, reverse_chunk_bytes=3 * 48 * 64 * 3) as reader:
        got = [_index_of(f) for f in fitted_frames(reader, fit, total)]
    assert got == [fit_index(i, SOURCE_FRAMES, fit) for i in range(total)]


def test_trim_stops_with_the_video(numbered_clip):
    with VideoReader(numbered_clip) as reader:
        got = [_index_of(f) for f in fitted_frames(reader, "trim", 100)]
    assert got == list(range(SOURCE_FRAMES))


def test_short_audio_cuts_a_long_video(numbered_clip):
    with VideoReader(numbered_clip) as reader:
        got = [_index_of(f) for f in fitted_frames(reader, "pingpong", 12)]
    assert got == list(range(12))


def test_reverse_pass_holds_one_small_chunk_at_a_time(numbered_clip):
    chunk_frames = 3
    with VideoReader(numbered_clip, reverse_chunk_bytes=chunk_frames * 48 * 64 * 3) as reader:
        list(reader.frames())
        assert [k.index for k in reader.keyframes] == [0, 7, 14, 21, 28]
        backwards = reader.frames_reversed(SOURCE_FRAMES - 2, 1)
        got = [_index_of(f) for f in backwards]
    assert got == list(range(SOURCE_FRAMES - 2, 0, -1))


def test_rotation_is_applied(talking_head_rotated):
    with VideoReader(talking_head_rotated) as reader:
        index, frame = next(reader.frames())
        assert reader.rotation_deg == 90
    assert frame.shape == (640, 360, 3)
    # the gradient canvas is cropped away in portrait: the picture's top is the astronaut's
    # background (light), the bottom her orange suit; upside down or sideways would differ
    top, bottom = frame[:60].mean(axis=(0, 1)), frame[-60:].mean(axis=(0, 1))
    assert bottom[0] > bottom[2] + 40  # orange suit at the bottom
    assert abs(top[0] - top[2]) < bottom[0] - bottom[2]


def test_variable_frame_rate_becomes_constant(tmp_path):
    clip = factory.make_vfr_talking_head(tmp_path / "vfr.mp4", 2.0, (96, 96))
    with VideoReader(clip) as reader:
        indices = [i for i, _ in reader.frames()]
        fps = float(reader.fps)
    assert fps == pytest.approx(25.0, abs=0.3)
    assert indices == list(range(len(indices)))
    assert len(indices) == pytest.approx(2.0 * fps, abs=1.5)


def test_audio_only_file_is_not_a_video(audio_only):
    with pytest.raises(NoVideoStreamError, match="audio_only.mp4 has no video track"):
        VideoReader(audio_only)


def test_broken_files_are_refused(broken_truncated, broken_garbage):
    with pytest.raises(CorruptMediaError):
        VideoReader(broken_truncated)
    with pytest.raises(NotMediaError):
        VideoReader(broken_garbage)
