"""The output writer: H.264 (yuv420p, libx264) + AAC in MP4, written to a temp path and renamed.

`VideoWriter` takes RGB frames one at a time, crops them to an even size, and interleaves
the driving audio (decoded and re-encoded as AAC as the video advances, so nothing is
buffered). `finish` renames the temp file onto the output path; `abort` (or leaving the
`with` block by an exception) removes it, so a cancelled or failed render leaves no half
file. Decoding video lives in `video.py`.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from lipforge.media.errors import translate_av_error
from lipforge.media.probe import open_media

X264_OPTIONS = {"preset": "veryfast", "crf": "18"}  # 18: >= 40 dB PSNR where nothing changed
# libx264's AVX-512 code (as PyAV 16.1's wheel bundles it; seen on an AMD EPYC) encodes the same
# frames differently from run to run: its macroblock tree reads memory that earlier work left
# behind (5 runs with other allocations between them gave 5 different files at 360x640 and 720p;
# with mbtree off, or the code capped at AVX2, 1). Capped at AVX2, every run gives the same bytes
# at the same speed (0.85 vs 0.90 s for 100 frames at 720p). x264 takes `asm` as the CPU's
# features, so it is capped only on a CPU that has AVX-512 (and so AVX2).
X264_CAPPED_ASM = "asm=AVX2"
CPU_FLAGS_FILE = Path("/proc/cpuinfo")
AUDIO_BITRATE = 128_000
# FFmpeg's AAC encoder searches quantizers in two loops by default; its fast coder costs 0.4 of
# the CPU (0.38 -> 0.16 s per 20 s of stereo) at the same bit rate, ample for speech at 128 kb/s
# (not checked by listening tests here).
AAC_OPTIONS = {"aac_coder": "fast"}
AUDIO_FRAME_SAMPLES = 1024
MAX_AUDIO_RATE = 48_000


def x264_stream(container: av.container.OutputContainer, fps: Fraction, width: int, height: int):
    """The H.264 stream every output uses (also the bench's baseline encoder)."""
    stream = container.add_stream("libx264", rate=fps)
    stream.width, stream.height = width, height
    stream.pix_fmt = "yuv420p"
    stream.options = x264_options()
    return stream


def x264_options() -> dict[str, str]:
    """X264_OPTIONS, with x264's code capped at AVX2 on a CPU that has AVX-512."""
    options = dict(X264_OPTIONS)
    if "avx512f" in _cpu_flags():
        options["x264-params"] = X264_CAPPED_ASM
    return options


@functools.cache
def _cpu_flags() -> frozenset[str]:
    """The first CPU's feature flags as Linux lists them (none elsewhere)."""
    try:
        with CPU_FLAGS_FILE.open(encoding="ascii", errors="replace") as lines:
            for line in lines:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()


def even_size(width: int, height: int) -> tuple[int, int]:
    return width - width % 2, height - height % 2


class AudioTrack:
    """The first audio stream of a file, decoded to float planar frames at its own rate."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._container = open_media(self.path)
        stream = self._container.streams.audio[0]
        self.sample_rate = min(int(stream.codec_context.sample_rate), MAX_AUDIO_RATE)
        self.layout = "mono" if stream.codec_context.channels == 1 else "stereo"
        self._stream = stream
        self._resampler = av.AudioResampler(
            format="fltp", layout=self.layout, rate=self.sample_rate, frame_size=AUDIO_FRAME_SAMPLES
        )

    def frames(self) -> Iterator[np.ndarray]:
        """(channels, n) float32 blocks in order."""
        decoded_s = 0.0
        try:
            for frame in self._container.decode(self._stream):
                decoded_s += frame.samples / float(frame.sample_rate or 1)
                for out in self._resampler.resample(frame):
                    yield out.to_ndarray()
            for out in self._resampler.resample(None):
                yield out.to_ndarray()
        except av.error.FFmpegError as exc:
            raise translate_av_error(self.path, exc, decoded_s) from exc

    def close(self) -> None:
        self._container.close()


class VideoWriter:
    """Write frames at `fps` to `output_path` (via a temp file) with `audio_path`'s sound."""

    def __init__(
        self, output_path: Path, fps: Fraction, size: tuple[int, int], audio_path: Path | None
    ) -> None:
        self.output_path = Path(output_path)
        self.temp_path = self.output_path.with_name(
            f".{self.output_path.stem}.{uuid.uuid4().hex[:8]}.partial.mp4"
        )
        self.fps = Fraction(fps).limit_denominator(1001)
        self.width, self.height = even_size(*size)
        self.frames_written = 0
        self._audio_samples = 0
        self.output_path.parent.mkdir(parents=True, exist_ok=True)
        self._container = av.open(
            str(self.temp_path), "w", format="mp4", options={"movflags": "+faststart"}
        )
        self._video = x264_stream(self._container, self.fps, self.width, self.height)
        self._audio = AudioTrack(audio_path) if audio_path else None
        self._audio_blocks = self._audio.frames() if self._audio else None
        self._audio_stream = None
        if self._audio is not None:
            self._audio_stream = self._container.add_stream(
                "aac", rate=self._audio.sample_rate, layout=self._audio.layout, options=AAC_OPTIONS
            )
            self._audio_stream.bit_rate = AUDIO_BITRATE

    def write(self, frame: np.ndarray) -> None:
        """Append one RGB uint8 frame (cropped to the even size)."""
        if frame.shape[0] != self.height or frame.shape[1] != self.width:
            frame = np.ascontiguousarray(frame[: self.height, : self.width])
        yuv = cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420)  # BT.601 as swscale, 5x faster
        video_frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        video_frame.pts = self.frames_written
        video_frame.time_base = 1 / self.fps
        self._container.mux(self._video.encode(video_frame))
        self.frames_written += 1
        self._write_audio_until((self.frames_written - 1) / self.fps)

    def _write_audio_until(self, until_s: float | None) -> None:
        if self._audio_blocks is None:
            return
        rate = self._audio.sample_rate
        limit = None if until_s is None else round(until_s * rate)
        while limit is None or self._audio_samples < limit:
            block = next(self._audio_blocks, None)
            if block is None:
                self._audio_blocks = None
                return
            self._mux_audio(block)

    def _mux_audio(self, block: np.ndarray) -> None:
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(block), format="fltp", layout=self._audio.layout
        )
        frame.sample_rate = self._audio.sample_rate
        frame.pts = self._audio_samples
        frame.time_base = Fraction(1, self._audio.sample_rate)
        self._audio_samples += block.shape[1]
        self._container.mux(self._audio_stream.encode(frame))

    def finish(self, audio_until_s: float | None = None) -> Path:
        """Flush, add the rest of the audio (up to `audio_until_s`), and rename into place."""
        self._container.mux(self._video.encode(None))
        if self._audio_stream is not None:
            self._finish_audio(audio_until_s)
        self._close_inputs()
        self._container.close()
        os.replace(self.temp_path, self.output_path)
        return self.output_path

    def _finish_audio(self, until_s: float | None) -> None:
        rate = self._audio.sample_rate
        limit = None if until_s is None else round(until_s * rate)
        while self._audio_blocks is not None and (limit is None or self._audio_samples < limit):
            block = next(self._audio_blocks, None)
            if block is None:
                break
            if limit is not None:
                block = block[:, : limit - self._audio_samples]
            self._mux_audio(block)
        self._container.mux(self._audio_stream.encode(None))

    def abort(self) -> None:
        """Drop the partial output."""
        self._close_inputs()
        try:
            self._container.close()
        except (av.error.FFmpegError, OSError, ValueError):
            pass
        self.temp_path.unlink(missing_ok=True)

    def _close_inputs(self) -> None:
        if self._audio is not None:
            self._audio.close()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
