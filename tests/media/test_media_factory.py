"""The generated test media are what the other tests assume they are."""

from __future__ import annotations

import av
import pytest


def _first_frame(path):
    with av.open(str(path)) as container:
        return next(container.decode(video=0))


def test_rotated_clip_carries_a_90_degree_display_matrix(talking_head_rotated):
    frame = _first_frame(talking_head_rotated)
    assert (frame.width, frame.height) == (640, 360)
    assert frame.rotation == -90  # counterclockwise degrees: shown turned 90° clockwise


@pytest.mark.parametrize(
    ("fixture", "size"), [("talking_head_512", (512, 512)), ("talking_head_720", (1280, 720))]
)
def test_talking_heads_are_25_fps_h264(request, fixture, size):
    path = request.getfixturevalue(fixture)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.width, stream.height) == size
        assert stream.average_rate == 25
        assert not container.streams.audio


@pytest.mark.parametrize("fixture", ["speech_en_wav", "speech_zh_wav", "speech_m4a"])
def test_speech_lasts_a_few_seconds(request, fixture):
    with av.open(str(request.getfixturevalue(fixture))) as container:
        assert 2.5 < container.duration / 1e6 < 7.0
        assert container.streams.audio and not container.streams.video
