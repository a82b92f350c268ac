"""A scripted job's first stage: speak its script with its voice into an audio asset.

`speak_for_job` runs in the worker before the render. It reports the stage ("speech",
sentences spoken of all, time left) as job.progress events, writes the audio to a scratch
file, ingests it as an audio asset that remembers its script, voice and SpeechTiming
(`speech/assets.py`), and records it in the job's spec (fenced by attempt). A job whose speech was
made by an earlier attempt reuses that asset; a script already spoken by the same voice
(another video of the same batch) costs no TTS, since every sentence is in the cache.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy.orm import sessionmaker

from lipforge.errors import CancelledError
from lipforge.jobs import queue
from lipforge.jobs.queue import ClaimedJob
from lipforge.jobs.worker import CancelCheck, JobWork
from lipforge.media.timing import SpeechTiming
from lipforge.render.spec import RENDER_STAGE, SPEECH_STAGE, RenderSpec

PROGRESS_MIN_INTERVAL_S = queue.PROGRESS_MIN_INTERVAL_S


def speak_for_job(
    work: JobWork, spec: RenderSpec, should_cancel: CancelCheck
) -> tuple[RenderSpec, SpeechTiming | None]:
    """The spec with its spoken audio asset set, and the speech's timing."""
    from lipforge.assets.library import get_asset
    from lipforge.speech.assets import speak_to_asset, timing_of

    if spec.audio_asset_id is not None:
        return spec, timing_of(get_asset(work.sessions, spec.audio_asset_id))
    reporter = _SpeechProgress(work.sessions, work.job)
    asset, result = speak_to_asset(
        work.sessions,
        work.settings,
        spec.voice_name or "",
        spec.script_text or "",
        spec.script_name or "script",
        on_progress=reporter,
        should_cancel=lambda: should_cancel() or reporter.lost,
    )
    reporter.flush()
    spoken = (
        "all from the cache"
        if not result.pieces_synthesized
        else (
            f"{result.pieces_synthesized} of {len(result.timing.sentences)} sentences synthesized"
        )
    )
    work.log(f"speech: {result.duration_s:.1f} s with voice {spec.voice_name} ({spoken})")
    spoken_spec = spec.with_audio(asset.id)
    if not queue.update_spec(work.sessions, work.job, spoken_spec.to_json(), RENDER_STAGE):
        raise CancelledError("the job was taken back while its speech was made")
    return spoken_spec, result.timing


class _SpeechProgress:
    """(pieces done, pieces total) -> throttled job.progress writes with a time-left estimate."""

    def __init__(self, sessions: sessionmaker, job: ClaimedJob) -> None:
        self.sessions, self.job = sessions, job
        self.started = time.monotonic()
        self.written_at = 0.0
        self.latest = (0, 0)
        self.lost = False
        self._lock = threading.Lock()

    def __call__(self, done: int, total: int) -> None:
        with self._lock:
            self.latest = (done, total)
            if time.monotonic() - self.written_at >= PROGRESS_MIN_INTERVAL_S or done == total:
                self._write()

    def flush(self) -> None:
        with self._lock:
            self._write()

    def _write(self) -> None:
        done, total = self.latest
        elapsed_s = time.monotonic() - self.started
        eta_s = round(elapsed_s / done * (total - done), 1) if done else None
        state = queue.record_stage_progress(
            self.sessions, self.job, SPEECH_STAGE, (done, total), eta_s
        )
        self.lost = state.should_stop
        self.written_at = time.monotonic()
