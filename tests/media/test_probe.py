"""probe(): what a user learns about a file, and every refusal with its reason."""

from __future__ import annotations

import numpy as np
import pytest
from tests.support import media_factory as factory

from lipforge.errors import (
    CorruptMediaError,
    EmptyMediaError,
    MediaError,
    NotMediaError,
    ResolutionTooLargeError,
    TooLongError,
)
from lipforge.media.probe import MediaLimits, probe


def test_talking_head_is_described(talking_head_720):
    info = probe(talking_head_720)
    assert info.kind == "video"
    assert info.video.codec == "h264"
    assert (info.video.width, info.video.height) == (1280, 720)
    assert info.video.fps == pytest.approx(25.0)
    assert info.video.frame_count == 50
    assert not info.video.variable_frame_rate
    assert info.duration_s == pytest.approx(2.0, abs=0.05)
    assert info.audio is None
    assert info.warnings == []


def test_rotation_gives_the_displayed_size(talking_head_rotated):
    info = probe(talking_head_rotated)
    assert info.video.rotation_deg == 90
    assert (info.video.width, info.video.height) == (360, 640)


def test_speech_is_audio(speech_m4a):
    info = probe(speech_m4a)
    assert info.kind == "audio"
    assert info.video is None
    assert info.audio.codec == "aac"
    assert info.audio.channels == 1


def test_variable_frame_rate_is_accepted_with_a_warning(tmp_path):
    clip = factory.make_vfr_talking_head(tmp_path / "vfr.mp4", 2.0, (128, 128))
    info = probe(clip)
    assert info.video.variable_frame_rate
    assert info.video.fps == pytest.approx(25.0, abs=0.3)
    assert any("variable frame rate" in w for w in info.warnings)


def test_silent_audio_is_a_warning(tmp_path):
    info = probe(factory.make_silence(tmp_path / "quiet.wav", 1.5))
    assert info.kind == "audio"
    assert any("silent" in w and "quiet.wav" in w for w in info.warnings)


def test_speech_is_not_flagged_silent(speech_en_wav):
    assert probe(speech_en_wav).warnings == []


def test_truncated_mp4_without_its_index(broken_truncated):
    with pytest.raises(CorruptMediaError, match="truncated.mp4.*truncated or damaged"):
        probe(broken_truncated)


def test_truncated_faststart_mp4_is_caught_at_its_tail(tmp_path, talking_head_512):
    import av

    faststart = tmp_path / "fast.mp4"
    with (
        av.open(str(talking_head_512)) as src,
        av.open(str(faststart), "w", options={"movflags": "+faststart"}) as dst,
    ):
        stream = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                dst.mux(packet)
    assert probe(faststart).video.frame_count == 50
    cut = factory.make_truncated(faststart, tmp_path / "cut.mp4", 0.5)
    with pytest.raises(CorruptMediaError, match=r"cut.mp4 is truncated.*2\.0 s"):
        probe(cut)


def test_garbage_is_not_media(broken_garbage):
    with pytest.raises(NotMediaError, match="garbage.mp4 is not an audio or video file"):
        probe(broken_garbage)


def test_empty_file(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(EmptyMediaError, match="empty.mp4 is empty"):
        probe(empty)


def test_missing_file(tmp_path):
    with pytest.raises(MediaError, match="does not exist"):
        probe(tmp_path / "nope.mp4")


def test_too_long(talking_head_512):
    with pytest.raises(TooLongError, match="LIPFORGE_MAX_DURATION_S"):
        probe(talking_head_512, MediaLimits(max_duration_s=1.0))


def test_resolution_above_the_limit(talking_head_720):
    with pytest.raises(ResolutionTooLargeError, match="1280x720.*1000 px"):
        probe(talking_head_720, MediaLimits(max_resolution_px=1000))


def test_limits_follow_settings():
    from lipforge.config import Settings

    limits = MediaLimits.from_settings(Settings(max_duration_s=12.0, max_resolution_px=640))
    assert limits == MediaLimits(12.0, 640)


def test_audio_only_and_video_only_are_described(audio_only, video_only):
    assert probe(audio_only).kind == "audio"
    assert probe(video_only).audio is None


def test_zero_length_audio(tmp_path):
    path = factory.write_wav(tmp_path / "zero.wav", np.zeros(0, np.float32), 16000)
    with pytest.raises(EmptyMediaError, match="zero.wav has zero length"):
        probe(path)


def test_cover_art_does_not_make_an_mp3_a_video(tmp_path, speech_en_wav):
    from lipforge.errors import NoVideoStreamError
    from lipforge.media.audio import load_audio
    from lipforge.media.video import VideoReader

    song = factory.make_mp3_with_cover(tmp_path / "cover.mp3", *factory.read_wav(speech_en_wav))
    info = probe(song)
    assert info.kind == "audio" and info.video is None
    assert len(load_audio(song)) == pytest.approx(info.duration_s * 16000, rel=0.05)
    with pytest.raises(NoVideoStreamError, match="cover.mp3 has no video track"):
        VideoReader(song)


def test_webm_without_a_duration_header_is_measured(tmp_path):
    webm = factory.make_browser_webm(tmp_path / "recording.webm", 2.0, (128, 128))
    info = probe(webm)
    assert info.duration_s == pytest.approx(2.0, abs=0.1)
    assert info.video.codec == "vp8" and info.audio.codec == "opus"
    assert info.video.frame_count == 50


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_a_photo_is_refused_as_a_still_image(tmp_path, suffix):
    import cv2
    from skimage import data as skdata

    photo = tmp_path / f"portrait{suffix}"
    cv2.imwrite(str(photo), skdata.astronaut()[:, :, ::-1])
    with pytest.raises(NotMediaError, match=f"portrait{suffix} is a still image"):
        probe(photo)
