"""Streaming video decode: RGB frames, display rotation applied, constant frame rate, fit modes.

`VideoReader` decodes one file front to back (or one keyframe-aligned chunk at a time,
for the backward pass of `pingpong`) and turns variable-frame-rate input into a constant
rate at the stream's nominal fps. `fitted_frames` maps output frame i to a source frame
for `loop`, `pingpong` and `trim` while holding at most one chunk of frames in memory.
Encoding lives in `encode.py`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from lipforge.errors import ConfigError, EmptyMediaError, NoVideoStreamError
from lipforge.media.errors import translate_av_error
from lipforge.media.probe import nominal_fps, open_media, rotation_of, video_stream

FIT_MODES = ("pingpong", "loop", "trim")
REVERSE_CHUNK_BYTES = 96 * 1024 * 1024
CFR_TOLERANCE_FRAMES = 0.5
ROTATE_CODES = {
    90: cv2.ROTATE_90_CLOCKWISE,
    180: cv2.ROTATE_180,
    270: cv2.ROTATE_90_COUNTERCLOCKWISE,
}


def fit_index(output_index: int, source_count: int, fit: str) -> int | None:
    """The source frame shown as output frame `output_index`; None once `trim` has run out."""
    if fit == "trim":
        return output_index if output_index < source_count else None
    if fit == "loop" or source_count < 2:
        return output_index % source_count
    period = 2 * source_count - 2
    phase = output_index % period
    return phase if phase < source_count else period - phase


def check_fit(fit: str) -> str:
    if fit not in FIT_MODES:
        raise ConfigError(
            f"Fit mode {fit!r} is not known. Choose one of: {', '.join(FIT_MODES)}.",
            fit=fit,
            known=", ".join(FIT_MODES),
        )
    return fit


@dataclass(frozen=True)
class Keyframe:
    index: int  # first constant-rate frame it serves
    pts: int  # in the stream's time base


class VideoReader:
    """One video file, decoded on demand as (index, RGB uint8 frame) at a constant rate."""

    def __init__(self, path: Path, reverse_chunk_bytes: int = REVERSE_CHUNK_BYTES) -> None:
        self.path = Path(path)
        self.reverse_chunk_bytes = reverse_chunk_bytes
        self._container = open_media(self.path)
        stream = video_stream(self._container)
        if stream is None:
            self._container.close()
            raise NoVideoStreamError(
                f"{self.path.name} has no video track. "
                "Use a video of a face (mp4, mov, mkv, webm).",
                file=self.path.name,
            )
        self._stream = stream
        self._stream.thread_type = "AUTO"
        self.fps: Fraction = nominal_fps(self._stream)
        self.keyframes: list[Keyframe] = []
        self._start_pts = self._stream.start_time or 0
        self.rotation_deg = 0
        self.width, self.height = self._stream.width, self._stream.height
        self._read_rotation()

    def _read_rotation(self) -> None:
        for _, frame in self._decoded(self._start_pts):
            self.rotation_deg = rotation_of(frame)
            break
        if self.rotation_deg in (90, 270):
            self.width, self.height = self.height, self.width

    @property
    def frame_bytes(self) -> int:
        return self.width * self.height * 3

    def frames(
        self, start: Keyframe | None = None, stop_index: int | None = None, from_index: int = 0
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Yield (index, RGB frame) for `from_index` <= index < `stop_index`.

        Decoding begins at `start` (a recorded keyframe; None = the beginning); frames
        before `from_index` are decoded but not converted.
        """
        last_source, last_rgb = None, None
        for index, source in self._constant_rate(start, stop_index):
            if index < from_index:
                continue
            if source is last_source:
                yield index, last_rgb.copy()
                continue
            last_source, last_rgb = source, self._to_rgb(source)
            yield index, last_rgb

    def _constant_rate(
        self, start: Keyframe | None, stop_index: int | None
    ) -> Iterator[tuple[int, av.VideoFrame]]:
        """Decoded frames mapped onto the constant-rate grid (repeated or skipped for VFR)."""
        first = start or Keyframe(0, self._start_pts)
        record = start is None
        eps_s = CFR_TOLERANCE_FRAMES / self.fps
        next_index: int | None = None
        held: tuple[float, av.VideoFrame] | None = None
        for time_s, frame in self._decoded(first.pts):
            if next_index is None:
                next_index = max(first.index, math.ceil((time_s - eps_s) * self.fps - 1e-6))
            if record and frame.key_frame:
                index = max(0, math.ceil((time_s - eps_s) * self.fps - 1e-6))
                self._record_keyframe(Keyframe(index, frame.pts))
            while held is not None and next_index / self.fps + eps_s < time_s:
                if stop_index is not None and next_index >= stop_index:
                    return
                yield next_index, held[1]
                next_index += 1
            held = (time_s, frame)
        if held is None:
            return
        end_s = held[0] + 1 / self.fps
        while next_index / self.fps + eps_s < end_s:
            if stop_index is not None and next_index >= stop_index:
                return
            yield next_index, held[1]
            next_index += 1

    def _record_keyframe(self, keyframe: Keyframe) -> None:
        if not self.keyframes or keyframe.index > self.keyframes[-1].index:
            self.keyframes.append(keyframe)

    def _decoded(self, seek_pts: int) -> Iterator[tuple[float, av.VideoFrame]]:
        """Decoded frames from the keyframe at `seek_pts` on, with their times in seconds."""
        base = self._stream.time_base
        time_s = 0.0
        try:
            self._container.seek(seek_pts, stream=self._stream, backward=True)
            for frame in self._container.decode(self._stream):
                if frame.pts is not None:
                    time_s = float((frame.pts - self._start_pts) * base)
                else:
                    time_s += 1 / float(self.fps)
                if frame.pts is not None and frame.pts < seek_pts:
                    continue
                yield time_s, frame
        except av.error.FFmpegError as exc:
            raise translate_av_error(self.path, exc, time_s) from exc

    def _to_rgb(self, frame: av.VideoFrame) -> np.ndarray:
        rgb = to_rgb(frame)
        if self.rotation_deg:
            return cv2.rotate(rgb, ROTATE_CODES[self.rotation_deg])
        return rgb

    def frames_reversed(self, high: int, low: int) -> Iterator[np.ndarray]:
        """Frames `high` down to `low` (inclusive), one keyframe-aligned chunk in memory at once."""
        chunk_frames = max(1, self.reverse_chunk_bytes // self.frame_bytes)
        index = high
        while index >= low:
            keyframe = self._keyframe_at_or_before(index)
            chunk_low = max(low, keyframe.index, index - chunk_frames + 1)
            chunk = [f for _, f in self.frames(keyframe, index + 1, from_index=chunk_low)]
            if not chunk:
                raise EmptyMediaError(
                    f"{self.path.name}: frame {index} could not be decoded.",
                    file=self.path.name,
                    frame=index,
                )
            yield from reversed(chunk)
            index = chunk_low - 1

    def _keyframe_at_or_before(self, index: int) -> Keyframe:
        best = Keyframe(0, self._start_pts)
        for keyframe in self.keyframes:
            if keyframe.index > index:
                break
            best = keyframe
        return best

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def to_rgb(frame: av.VideoFrame) -> np.ndarray:
    """RGB uint8; OpenCV converts plain 4:2:0 (BT.601, as swscale does) in a third of the time."""
    if frame.format.name == "yuv420p" and frame.width % 2 == 0 and frame.height % 2 == 0:
        return cv2.cvtColor(frame.to_ndarray(), cv2.COLOR_YUV2RGB_I420)
    return frame.to_ndarray(format="rgb24")


def fitted_frames(reader: VideoReader, fit: str, total_frames: int) -> Iterator[np.ndarray]:
    """`total_frames` output frames (fewer for `trim` when the video is short), in order."""
    for _, frame in fitted_frames_with_source(reader, fit, total_frames):
        yield frame


def fitted_frames_with_source(
    reader: VideoReader, fit: str, total_frames: int
) -> Iterator[tuple[int, np.ndarray]]:
    """As `fitted_frames`, with the source frame index each output frame shows."""
    yield from itertools.islice(_source_sequence(reader, check_fit(fit)), total_frames)


def _source_sequence(reader: VideoReader, fit: str) -> Iterator[tuple[int, np.ndarray]]:
    count = 0
    last: np.ndarray | None = None
    for index, frame in reader.frames():
        count, last = index + 1, frame
        yield index, frame
    if last is None:
        raise EmptyMediaError(
            f"{reader.path.name} has no video frames. Use another video.", file=reader.path.name
        )
    if fit == "trim":
        return
    while count == 1:
        yield 0, last
    while True:
        if fit == "pingpong":
            backwards = reader.frames_reversed(count - 2, 1)
            yield from zip(range(count - 2, 0, -1), backwards, strict=True)
        yield from reader.frames()
