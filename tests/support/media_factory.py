"""Test media, generated on the spot: talking-head clips, espeak-ng speech and broken files.

The talking head is `skimage.data.astronaut()` moved a little frame by frame (smooth
translation, rotation and scale jitter); speech comes from the `espeak-ng` command. This
module writes files with PyAV directly and never imports lipforge, so it can judge the code
under test. It does not download anything.

Run it as a script to get sample media for a first `lipforge run`:

    .venv/bin/python -m tests.support.media_factory samples/
"""

from __future__ import annotations

import math
import shutil
import struct
import subprocess
import sys
import tempfile
import wave
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from skimage import data as skdata

from lipforge.media.encode import x264_options

FPS = 25
CRF = "18"
PRESET = "veryfast"
JITTER_SHIFT_PX = 6.0
JITTER_ROTATION_DEG = 1.5
JITTER_SCALE = 0.015
AUDIO_BITRATE = 96_000
CANVAS_GRAY = 96

TEXT_EN = "Hello everyone. Today we will talk about the moon, the stars, and the planets."
TEXT_ZH = "大家好。今天我们学习月亮和星星。"
TEXT_SHORT = "Hello, this is a short test."


def jitter_matrix(index: int, fps: float, center: tuple[float, float]) -> np.ndarray:
    """A smooth 2x3 affine transform for frame `index`: a little shift, turn and zoom."""
    t = index / fps
    dx = JITTER_SHIFT_PX * math.sin(2 * math.pi * 0.31 * t)
    dy = JITTER_SHIFT_PX * 0.7 * math.sin(2 * math.pi * 0.23 * t + 1.0)
    angle = JITTER_ROTATION_DEG * math.sin(2 * math.pi * 0.17 * t + 0.5)
    scale = 1.0 + JITTER_SCALE * math.sin(2 * math.pi * 0.13 * t + 2.0)
    matrix = cv2.getRotationMatrix2D(center, angle, scale)
    matrix[:, 2] += (dx, dy)
    return matrix


def astronaut_canvas(size: tuple[int, int]) -> np.ndarray:
    """The astronaut scaled to the height of `size` (width, height) on a soft gradient canvas.

    A portrait canvas crops the picture's sides instead, so the face stays large.
    """
    width, height = size
    face = cv2.resize(skdata.astronaut(), (height, height), interpolation=cv2.INTER_AREA)
    if height > width:
        left = (height - width) // 2
        return np.ascontiguousarray(face[:, left : left + width])
    ramp = np.linspace(0.8, 1.2, width, dtype=np.float32)[None, :, None]
    canvas = np.clip(CANVAS_GRAY * ramp * np.ones((height, 1, 3), np.float32), 0, 255)
    canvas = canvas.astype(np.uint8)
    left = (width - height) // 2
    canvas[:, left : left + height] = face
    return canvas


def moving_frames(image: np.ndarray, seconds: float, fps: float):
    """Yield the frames of `image` jittered over `seconds` at `fps`."""
    height, width = image.shape[:2]
    center = (width / 2.0, height / 2.0)
    for index in range(round(seconds * fps)):
        matrix = jitter_matrix(index, fps, center)
        yield cv2.warpAffine(
            image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )


def write_video(
    path: Path,
    frames,
    fps: float,
    audio: tuple[np.ndarray, int] | None = None,
    pts_s: list[float] | None = None,
    x264_options: dict[str, str] | None = None,
) -> Path:
    """Encode RGB frames as H.264 (+ AAC when `audio` = (samples, rate)); `pts_s` makes it VFR."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        video = None
        astream = None
        if audio is not None:
            astream = container.add_stream("aac", rate=audio[1], layout="mono")
            astream.bit_rate = AUDIO_BITRATE
        for index, frame in enumerate(frames):
            if video is None:
                video = _add_video_stream(container, frame.shape, fps, pts_s is not None)
                video.options = {**video.options, **(x264_options or {})}
            vframe = av.VideoFrame.from_ndarray(frame, format="rgb24")
            if pts_s is not None:
                vframe.pts = round(pts_s[index] * 1000)
                vframe.time_base = Fraction(1, 1000)
            container.mux(video.encode(vframe))
        container.mux(video.encode())
        if astream is not None:
            _encode_audio(container, astream, *audio)
    return path


def _add_video_stream(container, shape: tuple[int, ...], fps: float, vfr: bool):
    stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
    stream.height, stream.width = shape[0], shape[1]
    stream.pix_fmt = "yuv420p"
    stream.options = {**x264_options(), "crf": CRF, "preset": PRESET}
    if vfr:
        stream.codec_context.time_base = Fraction(1, 1000)
    return stream


def _encode_audio(container, stream, samples: np.ndarray, rate: int) -> None:
    pcm = np.clip(samples * 32767, -32768, 32767).astype(np.int16)[None, :]
    frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
    frame.sample_rate = rate
    resampler = av.AudioResampler(format="fltp", layout="mono", rate=rate, frame_size=1024)
    _encode_timed(container, stream, resampler.resample(frame) + resampler.resample(None), rate)


def _encode_timed(container, stream, frames: list, rate: int) -> None:
    """Encode with explicit pts, so the muxer records the encoder delay and players skip it."""
    position = 0
    for chunk in frames:
        chunk.pts, chunk.time_base = position, Fraction(1, rate)
        position += chunk.samples
        container.mux(stream.encode(chunk))
    container.mux(stream.encode(None))


def set_display_rotation(path: Path, rotation_deg: int) -> Path:
    """Patch the mp4's video `tkhd` display matrix: show it turned `rotation_deg` clockwise.

    FFmpeg's muxer no longer takes a `rotate` tag, so the matrix is patched in place.
    """
    raw = bytearray(path.read_bytes())
    box = raw.find(b"tkhd")
    version = raw[box + 4]
    matrix_at = box + 8 + (32 if version == 1 else 20) + 16
    width = struct.unpack(">I", raw[matrix_at + 36 : matrix_at + 40])[0] >> 16
    height = struct.unpack(">I", raw[matrix_at + 40 : matrix_at + 44])[0] >> 16
    a, b, c, d, tx, ty = {
        0: (1, 0, 0, 1, 0, 0),
        90: (0, 1, -1, 0, height, 0),
        180: (-1, 0, 0, -1, width, height),
        270: (0, -1, 1, 0, 0, width),
    }[rotation_deg % 360]
    values = (a << 16, b << 16, 0, c << 16, d << 16, 0, tx << 16, ty << 16, 1 << 30)
    raw[matrix_at : matrix_at + 36] = struct.pack(">9i", *values)
    path.write_bytes(bytes(raw))
    return path


def make_talking_head(
    path: Path,
    seconds: float,
    size: tuple[int, int],
    fps: float = FPS,
    rotation: int = 0,
    with_audio: bool = False,
) -> Path:
    """A clip of the moving astronaut; `size` = (width, height) as displayed.

    With `rotation` 90 or 270 the frames are stored turned the other way and a display
    matrix turns them upright again, as phones do.
    """
    canvas = astronaut_canvas(size)
    frames = moving_frames(canvas, seconds, fps)
    if rotation:
        turns = rotation // 90
        frames = (np.ascontiguousarray(np.rot90(f, k=turns)) for f in frames)
    audio = None
    if with_audio:
        samples, rate = speech_samples(TEXT_EN, "en-us")
        audio = (fit_length(samples, round(seconds * rate)), rate)
    write_video(Path(path), frames, fps, audio)
    if rotation:
        set_display_rotation(Path(path), rotation)
    return Path(path)


def make_vfr_talking_head(path: Path, seconds: float, size: tuple[int, int]) -> Path:
    """A variable-frame-rate clip: frame gaps alternate 30 ms / 50 ms (25 fps on average)."""
    canvas = astronaut_canvas(size)
    count = round(seconds * FPS)
    pts_s = [0.04 * i + (0.01 if i % 2 else 0.0) for i in range(count)]
    return write_video(Path(path), moving_frames(canvas, seconds, FPS), FPS, pts_s=pts_s)


def make_still_video(path: Path, image: np.ndarray, seconds: float, fps: float = FPS) -> Path:
    """A clip of any image jittered like the talking head (e.g. one with no face)."""
    height, width = (image.shape[0] // 2) * 2, (image.shape[1] // 2) * 2
    return write_video(Path(path), moving_frames(image[:height, :width], seconds, fps), fps)


def speech_samples(text: str, voice: str) -> tuple[np.ndarray, int]:
    """Speak `text` with espeak-ng; return (float32 mono samples, sample rate)."""
    if shutil.which("espeak-ng") is None:
        raise RuntimeError("espeak-ng is missing: sudo apt-get install espeak-ng")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(wav), text], check=True)
        return read_wav(wav)


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        chunks = [f.to_ndarray().reshape(-1) for f in container.decode(stream)]
        rate = stream.rate
    pcm = np.concatenate(chunks)
    if pcm.dtype == np.int16:
        return (pcm.astype(np.float32) / 32768.0), rate
    return pcm.astype(np.float32), rate


def fit_length(samples: np.ndarray, count: int) -> np.ndarray:
    if len(samples) >= count:
        return samples[:count]
    return np.concatenate([samples, np.zeros(count - len(samples), samples.dtype)])


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = np.clip(samples * 32767, -32768, 32767).astype(np.int16)[None, :]
    if pcm.size == 0:
        with wave.open(str(path), "wb") as handle:
            handle.setnchannels(1)
            handle.setsampwidth(2)
            handle.setframerate(rate)
        return path
    with av.open(str(path), "w", format="wav") as container:
        stream = container.add_stream("pcm_s16le", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = rate
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def make_speech(path: Path, text: str, voice: str) -> Path:
    """Speech as a file; the container follows the suffix (.wav, .m4a, .mp3, .flac, .ogg, .opus)."""
    samples, rate = speech_samples(text, voice)
    return write_audio(Path(path), samples, rate)


AUDIO_CODECS = {".m4a": "aac", ".aac": "aac", ".mp3": "libmp3lame", ".flac": "flac"}
AUDIO_CODECS.update({".ogg": "libopus", ".opus": "libopus", ".mp4": "aac"})
OPUS_RATE = 48_000


def write_audio(path: Path, samples: np.ndarray, rate: int) -> Path:
    """Encode mono float samples into the format the suffix names."""
    if path.suffix == ".wav":
        return write_wav(path, samples, rate)
    codec = AUDIO_CODECS[path.suffix]
    out_rate = OPUS_RATE if codec == "libopus" else rate
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=out_rate, layout="mono")
        if codec != "flac":
            stream.bit_rate = AUDIO_BITRATE
        pcm = np.clip(samples * 32767, -32768, 32767).astype(np.int16)[None, :]
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = rate
        fmt = stream.codec_context.codec.audio_formats[0].name
        size = stream.codec_context.frame_size or 1024
        resampler = av.AudioResampler(format=fmt, layout="mono", rate=out_rate, frame_size=size)
        chunks = resampler.resample(frame) + resampler.resample(None)
        _encode_timed(container, stream, chunks, out_rate)
    return path


def make_browser_webm(path: Path, seconds: float, size: tuple[int, int]) -> Path:
    """VP8 + Opus WebM written as a live stream, like a browser's MediaRecorder: no duration."""
    samples, rate = speech_samples(TEXT_SHORT, "en-us")
    samples = fit_length(samples, round(seconds * rate))
    frames = moving_frames(astronaut_canvas(size), seconds, FPS)
    with av.open(str(path), "w", format="webm", options={"live": "1"}) as container:
        video = container.add_stream("libvpx", rate=FPS)
        video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
        video.bit_rate = 1_000_000
        audio = container.add_stream("libopus", rate=OPUS_RATE, layout="mono")
        for frame in frames:
            container.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(video.encode(None))
        pcm = np.clip(samples * 32767, -32768, 32767).astype(np.int16)[None, :]
        sound = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        sound.sample_rate = rate
        resampler = av.AudioResampler(format="s16", layout="mono", rate=OPUS_RATE, frame_size=960)
        _encode_timed(
            container, audio, resampler.resample(sound) + resampler.resample(None), OPUS_RATE
        )
    return Path(path)


def make_mp3_with_cover(path: Path, samples: np.ndarray, rate: int) -> Path:
    """An mp3 carrying cover art, as music and podcast files often do (a PNG attached picture)."""
    with av.open(str(path), "w") as container:
        audio = container.add_stream("libmp3lame", rate=rate, layout="mono")
        cover = container.add_stream("png")
        cover.width, cover.height, cover.pix_fmt = 64, 64, "rgb24"
        cover.disposition = av.stream.Disposition.attached_pic.value
        art = av.VideoFrame.from_ndarray(np.full((64, 64, 3), 200, np.uint8), format="rgb24")
        container.mux(cover.encode(art) + cover.encode(None))
        pcm = np.clip(samples * 32767, -32768, 32767).astype(np.int16)[None, :]
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = rate
        resampler = av.AudioResampler(format="s16p", layout="mono", rate=rate, frame_size=1152)
        _encode_timed(container, audio, resampler.resample(frame) + resampler.resample(None), rate)
    return Path(path)


def make_silence(path: Path, seconds: float, rate: int = 16_000) -> Path:
    return write_audio(Path(path), np.zeros(round(seconds * rate), np.float32), rate)


def make_truncated(source: Path, path: Path, keep_fraction: float = 0.5) -> Path:
    """The first part of a real clip, as an interrupted copy or upload leaves it."""
    raw = Path(source).read_bytes()
    Path(path).write_bytes(raw[: int(len(raw) * keep_fraction)])
    return Path(path)


def make_garbage(path: Path, size_bytes: int = 200_000) -> Path:
    noise = np.random.default_rng(7).integers(0, 256, size_bytes, np.uint8)
    Path(path).write_bytes(noise.tobytes())
    return Path(path)


def make_samples(directory: Path) -> list[Path]:
    """Sample media for a first `lipforge run`: speech plus three talking-head clips."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    return [
        make_speech(directory / "lecture.m4a", TEXT_EN, "en-us"),
        make_speech(directory / "lecture_zh.wav", TEXT_ZH, "cmn"),
        make_talking_head(directory / "teacher1.mp4", 3.0, (512, 512)),
        make_talking_head(directory / "teacher2.mp4", 2.0, (1280, 720)),
        make_talking_head(directory / "teacher3.mp4", 2.0, (360, 640), rotation=90),
    ]


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "samples")
    for written in make_samples(target):
        print(written)
