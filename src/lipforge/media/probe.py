"""Probe and validate a media file once: what streams it holds, and whether it can be used.

`probe` opens the file with PyAV, decodes its first frame (to prove the codec works and
to read the display rotation), checks the tail of the video stream for truncation, scans
a driving audio for silence, and applies the configured limits. Every refusal is a
`MediaError` subclass whose message names the file and says what to do. This module
does not decode whole videos or hold frames; see `video.py` for that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from lipforge.config import Settings
from lipforge.errors import (
    CorruptMediaError,
    EmptyMediaError,
    MediaError,
    NotMediaError,
    ResolutionTooLargeError,
    TooLongError,
    VideoTooSmallError,
)
from lipforge.media.errors import translate_av_error

VFR_SAMPLE_PACKETS = 240
VFR_SPREAD_RATIO = 1.3
TAIL_CHECK_S = 3.0
TRUNCATION_TOLERANCE_S = 0.5
SILENCE_SCAN_S = 600.0
SILENCE_PEAK_DBFS = -60.0
FALLBACK_FPS = 25.0
MIN_VIDEO_SIDE_PX = 64  # a face the tracker can find needs this much on the short side
MEDIA_MAGIC = (b"ftyp", b"RIFF", b"ID3", b"fLaC", b"OggS", b"\x1aE\xdf\xa3", b"FLV", b"wide")


@dataclass(frozen=True)
class MediaLimits:
    """Refuse files longer or larger than these."""

    max_duration_s: float = 3 * 3600.0
    max_resolution_px: int = 4096

    @classmethod
    def from_settings(cls, settings: Settings) -> MediaLimits:
        return cls(settings.max_duration_s, settings.max_resolution_px)


@dataclass(frozen=True)
class VideoInfo:
    codec: str
    width: int  # as displayed, after rotation
    height: int
    fps: float  # nominal (average) rate; VFR input is decoded to CFR at this rate
    rotation_deg: int  # clockwise turn applied for display: 0, 90, 180 or 270
    frame_count: int  # estimate
    variable_frame_rate: bool


@dataclass(frozen=True)
class AudioInfo:
    codec: str
    sample_rate: int
    channels: int


@dataclass(frozen=True)
class MediaInfo:
    path: Path
    container: str
    duration_s: float
    size_bytes: int
    video: VideoInfo | None
    audio: AudioInfo | None
    warnings: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "video" if self.video else "audio"


def probe(path: Path, limits: MediaLimits | None = None) -> MediaInfo:
    """Describe `path`, or raise the MediaError that says why it cannot be used."""
    path = Path(path)
    limits = limits or MediaLimits()
    size_bytes = _check_file(path)
    try:
        with _open(path) as container:
            info = _describe(path, container, size_bytes)
    except av.error.FFmpegError as exc:
        raise translate_av_error(path, exc) from exc
    _check_limits(info, limits)
    return info


def open_media(path: Path) -> av.container.InputContainer:
    """Open for reading; a file FFmpeg cannot parse becomes NotMediaError or CorruptMediaError."""
    _check_file(Path(path))
    return _open(Path(path))


def _check_file(path: Path) -> int:
    if not path.is_file():
        raise MediaError(f"{path} does not exist or is not a file. Check the path.", file=path.name)
    size_bytes = path.stat().st_size
    if size_bytes == 0:
        raise EmptyMediaError(
            f"{path.name} is empty (0 bytes). Copy or upload it again.", file=path.name
        )
    return size_bytes


def _open(path: Path) -> av.container.InputContainer:
    try:
        return av.open(str(path), metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        with path.open("rb") as handle:
            head = handle.read(16)
        if any(magic in head for magic in MEDIA_MAGIC):
            raise CorruptMediaError(
                f"{path.name} looks like a media file but cannot be read: it is truncated or "
                "damaged (for MP4/MOV, the index at the end is missing). Copy or upload the "
                "complete file again.",
                file=path.name,
            ) from exc
        raise NotMediaError(
            f"{path.name} is not an audio or video file that can be read. "
            "Use a video (mp4, mov, mkv, webm) or audio (wav, mp3, m4a, flac, ogg/opus) file.",
            file=path.name,
        ) from exc


def _describe(path: Path, container: av.container.InputContainer, size_bytes: int) -> MediaInfo:
    if _is_still_image(container):
        raise NotMediaError(
            f"{path.name} is a still image. LipForge needs a video of the face: record a few "
            "seconds of the person looking at the camera and use that.",
            file=path.name,
        )
    vstream = video_stream(container)
    astream = container.streams.audio[0] if container.streams.audio else None
    if vstream is None and astream is None:
        raise NotMediaError(
            f"{path.name} holds no audio or video stream. Use a media file.", file=path.name
        )
    duration_s = _duration_s(container, vstream or astream)
    if duration_s <= 0:
        raise EmptyMediaError(
            f"{path.name} has zero length. Use a file with content.", file=path.name
        )
    warnings: list[str] = []
    video = _describe_video(path, container, vstream, duration_s) if vstream else None
    audio = _describe_audio(astream) if astream else None
    if video is not None and video.variable_frame_rate:
        warnings.append(
            f"{path.name} has a variable frame rate; it is processed at a constant "
            f"{video.fps:.3f} fps."
        )
    if video is None and audio is not None and _is_silent(container, astream):
        warnings.append(
            f"{path.name} is silent (no sound above {SILENCE_PEAK_DBFS:.0f} dBFS): "
            "the lips will not move."
        )
    name = container.format.name.split(",")[0]
    return MediaInfo(path, name, duration_s, size_bytes, video, audio, warnings)


def _is_still_image(container: av.container.InputContainer) -> bool:
    name = container.format.name
    return name == "image2" or name.endswith("_pipe")


def video_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream | None:
    """The first real video stream; cover art in audio files (attached pictures) does not count."""
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    return None


def _duration_s(container: av.container.InputContainer, stream: av.stream.Stream) -> float:
    if container.duration:
        return container.duration / av.time_base
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return _scanned_duration_s(container, stream)


def _scanned_duration_s(container: av.container.InputContainer, stream: av.stream.Stream) -> float:
    """Length from the packets, for files whose header has none (browser-recorded webm)."""
    start = stream.start_time or 0
    end = start
    for packet in container.demux(stream):
        if packet.pts is not None and packet.size:
            end = max(end, packet.pts + (packet.duration or 0))
    container.seek(0, stream=stream)
    return float((end - start) * stream.time_base)


def nominal_fps(stream: av.video.stream.VideoStream) -> Fraction:
    """The stream's average frame rate (the CFR rate VFR input is resampled to)."""
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate and 1 <= float(rate) <= 240:
            return Fraction(rate).limit_denominator(1001)
    return Fraction(FALLBACK_FPS)


def rotation_of(frame: av.VideoFrame) -> int:
    """Clockwise degrees (0/90/180/270) the frame must be turned to be shown upright."""
    return int(round(-frame.rotation / 90.0)) % 4 * 90


def _describe_video(
    path: Path, container: av.container.InputContainer, stream, duration_s: float
) -> VideoInfo:
    fps = nominal_fps(stream)
    pts_s = _packet_times_s(container, stream, VFR_SAMPLE_PACKETS)
    if not pts_s:
        raise EmptyMediaError(f"{path.name} has a video stream with no frames.", file=path.name)
    container.seek(0, stream=stream)
    first = next(container.decode(stream), None)
    if first is None:
        raise CorruptMediaError(
            f"{path.name}: no video frame could be decoded. The file is damaged; export it again.",
            file=path.name,
        )
    rotation_deg = rotation_of(first)
    width, height = stream.width, stream.height
    if rotation_deg in (90, 270):
        width, height = height, width
    _check_tail(path, container, stream, duration_s)
    frame_count = stream.frames or max(1, round(duration_s * float(fps)))
    return VideoInfo(
        codec=stream.codec_context.name,
        width=width,
        height=height,
        fps=float(fps),
        rotation_deg=rotation_deg,
        frame_count=int(frame_count),
        variable_frame_rate=_is_vfr(pts_s),
    )


def _packet_times_s(container, stream, limit: int) -> list[float]:
    times: list[float] = []
    for packet in container.demux(stream):
        if packet.pts is not None and packet.size:
            times.append(float(packet.pts * stream.time_base))
        if len(times) >= limit:
            break
    return sorted(times)


def _is_vfr(pts_s: list[float]) -> bool:
    gaps = np.diff(np.asarray(pts_s))
    gaps = gaps[gaps > 0]
    if len(gaps) < 4:
        return False
    low, high = np.percentile(gaps, [5, 95])
    return bool(high > low * VFR_SPREAD_RATIO)


def _check_tail(path: Path, container, stream, duration_s: float) -> None:
    """A file cut short still lists every frame in its index, but the last ones are missing."""
    start_s = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
    seek_s = max(0.0, start_s + duration_s - TAIL_CHECK_S)
    container.seek(int(seek_s / stream.time_base), stream=stream, backward=True)
    last_s = None
    for packet in container.demux(stream):
        if packet.pts is not None and packet.size:
            end_s = float((packet.pts + (packet.duration or 0)) * stream.time_base)
            last_s = end_s if last_s is None else max(last_s, end_s)
    expected_s = start_s + duration_s - TRUNCATION_TOLERANCE_S
    if last_s is None or last_s < expected_s:
        seen = "no frame" if last_s is None else f"{last_s - start_s:.1f} s"
        raise CorruptMediaError(
            f"{path.name} is truncated: its index promises {duration_s:.1f} s of video but "
            f"the data ends at {seen}. Copy or upload the complete file again.",
            file=path.name,
        )


def _describe_audio(stream) -> AudioInfo:
    ctx = stream.codec_context
    return AudioInfo(codec=ctx.name, sample_rate=int(ctx.sample_rate), channels=int(ctx.channels))


def _is_silent(container, stream) -> bool:
    container.seek(0, stream=stream)
    peak = 0.0
    scanned_s = 0.0
    for frame in container.decode(stream):
        samples = frame.to_ndarray()
        if samples.dtype.kind in "iu":
            samples = samples.astype(np.float32) / float(np.iinfo(samples.dtype).max)
        if samples.size:
            peak = max(peak, float(np.abs(samples).max()))
        scanned_s += frame.samples / float(frame.sample_rate or 1)
        if peak > 10 ** (SILENCE_PEAK_DBFS / 20) or scanned_s > SILENCE_SCAN_S:
            return False
    return True


def _check_limits(info: MediaInfo, limits: MediaLimits) -> None:
    if info.duration_s > limits.max_duration_s:
        raise TooLongError(
            f"{info.path.name} lasts {info.duration_s:.0f} s, longer than the limit of "
            f"{limits.max_duration_s:.0f} s. Cut it, or raise LIPFORGE_MAX_DURATION_S.",
            file=info.path.name,
            seconds=round(info.duration_s),
            limit=round(limits.max_duration_s),
        )
    video = info.video
    if video and min(video.width, video.height) < MIN_VIDEO_SIDE_PX:
        raise VideoTooSmallError(
            f"{info.path.name} is {video.width}x{video.height}; a face video needs at least "
            f"{MIN_VIDEO_SIDE_PX} px on its short side to hold a face. Use a larger video.",
            file=info.path.name,
            width=video.width,
            height=video.height,
            min_px=MIN_VIDEO_SIDE_PX,
        )
    if video and max(video.width, video.height) > limits.max_resolution_px:
        raise ResolutionTooLargeError(
            f"{info.path.name} is {video.width}x{video.height}, above the limit of "
            f"{limits.max_resolution_px} px per side. Scale it down (e.g. to 1920x1080), "
            "or raise LIPFORGE_MAX_RESOLUTION_PX.",
            file=info.path.name,
            width=video.width,
            height=video.height,
            limit=limits.max_resolution_px,
        )
