"""The writer: H.264 yuv420p + AAC, even size, audio in sync, nothing left behind on failure."""

from __future__ import annotations

import os
from fractions import Fraction

import av
import numpy as np
import pytest

from lipforge.media.audio import load_audio
from lipforge.media.encode import VideoWriter


def _streams(path):
    with av.open(str(path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        ctx = video.codec_context
        return {
            "video": (ctx.name, ctx.pix_fmt, video.width, video.height),
            "fps": float(video.average_rate),
            "frames": sum(1 for _ in container.decode(video)),
            "audio": audio.codec_context.name,
            "duration_s": container.duration / 1e6,
        }


def test_odd_size_is_cropped_to_even_and_audio_follows(tmp_path, speech_m4a):
    out = tmp_path / "out" / "clip.mp4"
    frame = np.full((101, 75, 3), 120, np.uint8)
    fps = Fraction(30000, 1001)
    with VideoWriter(out, fps, (75, 101), speech_m4a) as writer:
        count = round(len(load_audio(speech_m4a)) / 16000 * float(fps))
        for _ in range(count):
            writer.write(frame)
        writer.finish()
    info = _streams(out)
    assert info["video"] == ("h264", "yuv420p", 74, 100)
    assert info["fps"] == pytest.approx(29.97, abs=0.01)
    assert info["frames"] == count
    assert info["audio"] == "aac"
    assert info["duration_s"] == pytest.approx(count / float(fps), abs=1 / float(fps))
    assert [p.name for p in out.parent.iterdir()] == ["clip.mp4"]


def test_audio_stays_in_sync(tmp_path, speech_en_wav):
    out = tmp_path / "sync.mp4"
    with VideoWriter(out, Fraction(25), (64, 64), speech_en_wav) as writer:
        for _ in range(round(len(load_audio(speech_en_wav)) / 16000 * 25)):
            writer.write(np.zeros((64, 64, 3), np.uint8))
        writer.finish()
    original, encoded = load_audio(speech_en_wav), load_audio(out)
    probe = original[8000:24000]
    lag = int(np.argmax(np.correlate(encoded[: 8000 + 24000], probe, "valid"))) - 8000
    assert abs(lag) <= 16, f"audio moved by {lag} samples"


def test_cut_audio_at_the_last_frame(tmp_path, speech_en_wav):
    out = tmp_path / "cut.mp4"
    with VideoWriter(out, Fraction(25), (64, 64), speech_en_wav) as writer:
        for _ in range(25):
            writer.write(np.zeros((64, 64, 3), np.uint8))
        writer.finish(audio_until_s=1.0)
    assert _streams(out)["duration_s"] == pytest.approx(1.0, abs=0.04)


def test_failure_leaves_no_file(tmp_path, speech_en_wav):
    out = tmp_path / "fail.mp4"
    with pytest.raises(RuntimeError), VideoWriter(out, Fraction(25), (64, 64), speech_en_wav) as w:
        w.write(np.zeros((64, 64, 3), np.uint8))
        raise RuntimeError("stopped")
    assert list(tmp_path.iterdir()) == []


def test_abort_leaves_no_file(tmp_path):
    writer = VideoWriter(tmp_path / "gone.mp4", Fraction(25), (64, 64), None)
    writer.write(np.zeros((64, 64, 3), np.uint8))
    writer.abort()
    assert list(tmp_path.iterdir()) == []


def test_the_same_frames_encode_to_the_same_bytes_every_time(tmp_path):
    """A render is repeatable: what the process did before (here, memory filled with noise and
    freed between the runs) does not change the file."""
    from tests.support import media_factory as factory

    canvas = factory.astronaut_canvas((360, 640))
    frames = list(factory.moving_frames(canvas, 20 / factory.FPS, factory.FPS))
    files = set()
    for run in range(4):
        litter = [os.urandom(int(n)) for n in np.random.default_rng(run).integers(1e3, 3e6, 60)]
        del litter[::2]
        out = tmp_path / f"run{run}.mp4"
        with VideoWriter(out, Fraction(factory.FPS), (360, 640), None) as writer:
            for frame in frames:
                writer.write(frame)
            writer.finish()
        files.add(out.read_bytes())
        del litter
    assert len(files) == 1
