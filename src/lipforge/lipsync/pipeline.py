"""The frame pipeline: decode -> track faces -> engine -> encode, streaming, for one output.

`render` runs decode, face tracking and the engine each in its own thread, joined by
bounded queues, and encodes in the caller's thread, which also reports progress and
checks for cancellation. At most a fixed number of frames is in flight, so memory does
not grow with the length of the video. The output is written to a temp file beside
`output_path` and renamed only when complete. This module knows no engine by name and
does not parse command lines; see `cli/run.py` and the job worker for its callers.
"""

from __future__ import annotations

import dataclasses
import errno
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from lipforge.config import Settings
from lipforge.errors import (
    CancelledError,
    DiskFullError,
    LipforgeError,
    NoAudioStreamError,
    NoVideoStreamError,
)
from lipforge.lipsync.engine import AudioFeatures, Engine, FrameBatch, Need, create_engine
from lipforge.media.audio import analyse_audio
from lipforge.media.encode import VideoWriter
from lipforge.media.probe import MediaInfo, MediaLimits, probe
from lipforge.media.timing import SpeechTiming
from lipforge.media.video import VideoReader, check_fit, fitted_frames_with_source

BATCH_FRAMES = 8
DECODED_QUEUE_FRAMES = 8
BATCH_QUEUE_BATCHES = 2
PROGRESS_INTERVAL_S = 0.5
PROGRESS_MIN_S = 0.2
QUEUE_POLL_S = 0.1
DEFAULT_FACE_SEARCH_S = 10.0
JOIN_TIMEOUT_S = 30.0
LANDMARK_CACHE_BYTES = 64 * 1024 * 1024

ProgressCallback = Callable[[int, int], None]
CancelCheck = Callable[[], bool]
_END = object()


@dataclass(frozen=True)
class RenderRequest:
    audio_path: Path
    video_path: Path
    output_path: Path  # written to a temp file beside it, renamed when complete
    engine: str = "meshwarp"
    fit: str = "pingpong"  # loop | pingpong | trim
    models_dir: Path | None = None
    limits: MediaLimits | None = None
    face_search_s: float = DEFAULT_FACE_SEARCH_S
    timing: SpeechTiming | None = None  # sentences and phones of a spoken script (issue 8)

    @classmethod
    def from_settings(cls, settings: Settings, **values) -> RenderRequest:
        """A request with the models dir, media limits and face search the settings name."""
        return cls(
            models_dir=settings.data_dir.models,
            limits=MediaLimits.from_settings(settings),
            face_search_s=settings.face_search_s,
            **values,
        )


@dataclass(frozen=True)
class RenderResult:
    output_path: Path
    frame_count: int
    fps: float
    duration_s: float
    width: int
    height: int
    warnings: tuple[str, ...] = ()


def render(
    request: RenderRequest,
    on_progress: ProgressCallback | None = None,
    should_cancel: CancelCheck | None = None,
) -> RenderResult:
    """Lip-sync the video to the audio; any failure is a LipforgeError naming the file."""
    check_fit(request.fit)
    video_info, audio_info = _probe_inputs(request)
    engine = create_engine(request.engine)
    try:
        engine.load(request.models_dir or Settings().data_dir.models)
        reader = VideoReader(request.video_path)
        try:
            audio = driving_audio(request, engine.needs, float(reader.fps))
            engine.start(audio)
            total = _planned_frames(request.fit, audio, video_info)
            run = _Run(request, reader, engine, audio, total)
            frames_written = run.execute(on_progress, should_cancel)
        finally:
            reader.close()
    finally:
        engine.close()
    return RenderResult(
        output_path=request.output_path,
        frame_count=frames_written,
        fps=float(reader.fps),
        duration_s=frames_written / float(reader.fps),
        width=reader.width - reader.width % 2,
        height=reader.height - reader.height % 2,
        warnings=tuple(video_info.warnings + audio_info.warnings),
    )


def driving_audio(request: RenderRequest, needs: frozenset[Need], fps: float) -> AudioFeatures:
    """The driving audio's features that the engine says it needs, and no others."""
    audio = analyse_audio(
        request.audio_path, fps, mel=Need.MEL in needs, loudness=Need.LOUDNESS in needs
    )
    return with_phones(audio, request) if Need.PHONES in needs else audio


def with_phones(audio: AudioFeatures, request: RenderRequest) -> AudioFeatures:
    """The audio features with the phones spoken in them, wherever they can be had."""
    from lipforge.lipsync.phonesource import find_phones

    phones, source = find_phones(audio.samples, request.timing)
    return dataclasses.replace(audio, phones=phones, phone_source=source)


def _probe_inputs(request: RenderRequest) -> tuple[MediaInfo, MediaInfo]:
    video = probe(request.video_path, request.limits)
    if video.video is None:
        raise NoVideoStreamError(
            f"{request.video_path.name} has no video track. Use a video that shows a face."
        )
    audio = probe(request.audio_path, request.limits)
    if audio.audio is None:
        raise NoAudioStreamError(
            f"{request.audio_path.name} has no audio track. Drive it with a speech recording."
        )
    return video, audio


def _planned_frames(fit: str, audio: AudioFeatures, video: MediaInfo) -> int:
    if fit == "trim":
        return min(audio.frame_count, video.video.frame_count)
    return audio.frame_count


class _Run:
    """The threads and queues of one render."""

    def __init__(
        self,
        request: RenderRequest,
        reader: VideoReader,
        engine: Engine,
        audio: AudioFeatures,
        total: int,
    ) -> None:
        self.request = request
        self.reader = reader
        self.engine = engine
        self.audio = audio
        self.total = total
        self.name = request.video_path.name
        self.stop = threading.Event()
        self.failures: list[BaseException] = []
        self.decoded: queue.Queue = queue.Queue(DECODED_QUEUE_FRAMES)
        self.batches: queue.Queue = queue.Queue(BATCH_QUEUE_BATCHES)
        self.rendered: queue.Queue = queue.Queue(BATCH_QUEUE_BATCHES)

    def execute(self, on_progress: ProgressCallback | None, should_cancel: CancelCheck | None):
        threads = [
            threading.Thread(
                target=self._guard, args=(fn,), name=f"lipforge-{fn.__name__}", daemon=True
            )
            for fn in (self._decode, self._track, self._process)
        ]
        output = self.request.output_path
        try:
            writer = VideoWriter(
                output, self.reader.fps, (self.reader.width, self.reader.height),
                self.request.audio_path,
            )  # fmt: skip
        except (av.error.FFmpegError, OSError) as exc:
            raise _write_error(output, exc) from exc
        for thread in threads:
            thread.start()
        try:
            self._encode(writer, on_progress, should_cancel)
            writer.finish(audio_until_s=writer.frames_written / float(self.reader.fps))
        except (av.error.FFmpegError, OSError) as exc:
            writer.abort()
            raise _write_error(output, exc) from exc
        except BaseException:
            writer.abort()
            raise
        finally:
            self.stop.set()
            for thread in threads:
                thread.join(JOIN_TIMEOUT_S)
        return writer.frames_written

    def _encode(self, writer: VideoWriter, on_progress, should_cancel) -> None:
        last_report = time.monotonic()
        while True:
            if should_cancel is not None and should_cancel():
                raise CancelledError(f"The render of {self.name} was cancelled.")
            self._raise_failure()
            try:
                item = self.rendered.get(timeout=PROGRESS_INTERVAL_S)
            except queue.Empty:
                item = None
            if item is _END:
                break
            for frame in item or ():
                writer.write(frame)
            now = time.monotonic()
            if on_progress is not None and (item is None or now - last_report >= PROGRESS_MIN_S):
                on_progress(writer.frames_written, max(self.total, writer.frames_written))
                last_report = now
        self._raise_failure()
        if on_progress is not None:
            on_progress(writer.frames_written, writer.frames_written)

    def _raise_failure(self) -> None:
        if self.failures:
            raise self.failures[0]

    def _guard(self, stage: Callable[[], None]) -> None:
        try:
            stage()
        except _Stopped:
            return
        except BaseException as exc:  # handed to the caller's thread, which raises it
            self.failures.append(_plain(exc, self.name, self.request.engine))
            self.stop.set()

    def _put(self, target: queue.Queue, item: object) -> None:
        while not self.stop.is_set():
            try:
                target.put(item, timeout=QUEUE_POLL_S)
                return
            except queue.Full:
                continue
        raise _Stopped

    def _items(self, source: queue.Queue) -> Iterator[object]:
        while True:
            if self.stop.is_set():
                raise _Stopped
            try:
                item = source.get(timeout=QUEUE_POLL_S)
            except queue.Empty:
                continue
            if item is _END:
                return
            yield item

    def _decode(self) -> None:
        frames = fitted_frames_with_source(self.reader, self.request.fit, self.total)
        for index, (source_index, frame) in enumerate(frames):
            self._put(self.decoded, (index, source_index, frame))
        self._put(self.decoded, _END)

    def _track(self) -> None:
        """Track the first pass over the video; replay its landmarks when frames repeat."""
        from lipforge.lipsync.faces import FaceTracker

        tracker = FaceTracker(float(self.reader.fps), self.name, self.request.face_search_s)
        cache = _LandmarkCache()
        waiting: dict[int, np.ndarray] = {}
        batch: list[tuple[int, np.ndarray, np.ndarray | None]] = []
        try:
            for index, source_index, frame in self._items(self.decoded):
                if index != source_index and cache.complete(tracker, self._emitter(batch, waiting)):
                    self._add(batch, (index, frame, cache.replay(source_index)))
                    continue
                waiting[index] = frame
                self._collect(tracker.push(index, frame), waiting, batch, cache)
            if not cache.flushed:
                self._collect(tracker.flush(), waiting, batch, cache)
        finally:
            tracker.close()
        if batch:
            self._put(self.batches, _to_batch(batch))
        self._put(self.batches, _END)

    def _emitter(self, batch: list, waiting: dict) -> Callable[[list], None]:
        return lambda results: self._collect(results, waiting, batch, None)

    def _collect(self, results, waiting: dict, batch: list, cache: _LandmarkCache | None) -> None:
        for index, landmarks in results:
            if cache is not None:
                cache.store(index, landmarks)
            self._add(batch, (index, waiting.pop(index), landmarks))

    def _add(self, batch: list, item: tuple[int, np.ndarray, np.ndarray | None]) -> None:
        batch.append(item)
        if len(batch) == BATCH_FRAMES:
            self._put(self.batches, _to_batch(batch))
            batch.clear()

    def _process(self) -> None:
        for batch in self._items(self.batches):
            frames = self.engine.process(batch)
            if len(frames) != len(batch.frames):
                raise LipforgeError(
                    f"{self.name}: the {self.request.engine} engine returned {len(frames)} "
                    f"frames for {len(batch.frames)}. This is a bug in the engine."
                )
            self._put(self.rendered, frames)
        self._put(self.rendered, _END)


class _LandmarkCache:
    """Landmarks of the first pass over the source video, kept while they fit in a fixed budget.

    When the audio outlasts the video (loop/pingpong), later passes reuse them instead of
    running the tracker again; a video too long for the budget is tracked frame by frame.
    """

    def __init__(self, max_bytes: int = LANDMARK_CACHE_BYTES) -> None:
        self.landmarks: dict[int, np.ndarray | None] | None = {}
        self.max_bytes = max_bytes
        self.size_bytes = 0
        self.flushed = False

    def store(self, index: int, landmarks: np.ndarray | None) -> None:
        if self.landmarks is None or self.flushed:
            return
        self.landmarks[index] = landmarks
        self.size_bytes += 0 if landmarks is None else landmarks.nbytes
        if self.size_bytes > self.max_bytes:
            self.landmarks = None

    def replay(self, source_index: int) -> np.ndarray | None:
        landmarks = self.landmarks[source_index]
        return None if landmarks is None else landmarks.copy()

    def complete(self, tracker, emit: Callable[[list], None]) -> bool:
        """True when the first pass is cached (finishing the tracker on the first call)."""
        if self.landmarks is None:
            return False
        if not self.flushed:
            results = tracker.flush()
            for index, landmarks in results:
                self.store(index, landmarks)
            self.flushed = True
            emit(results)
        return self.landmarks is not None


class _Stopped(Exception):
    """Raised inside a stage when another stage failed or the render was stopped."""


def _to_batch(items: list[tuple[int, np.ndarray, np.ndarray | None]]) -> FrameBatch:
    return FrameBatch(
        indices=np.array([index for index, _, _ in items], np.int64),
        frames=[frame for _, frame, _ in items],
        landmarks=[landmarks for _, _, landmarks in items],
        owned=True,
    )


def _write_error(output: Path, exc: BaseException) -> LipforgeError:
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return DiskFullError(f"The disk is full while writing {output}. Free some space.")
    return LipforgeError(f"Writing {output} failed ({exc}). Check the folder and free disk.")


def _plain(exc: BaseException, name: str, engine: str) -> BaseException:
    """Errors users can act on pass through; anything else becomes one naming the file."""
    if isinstance(exc, LipforgeError):
        return exc
    error = LipforgeError(f"{name}: rendering failed in the {engine} pipeline ({exc!r}).")
    error.__cause__ = exc
    return error
