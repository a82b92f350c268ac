"""A job's words before its render: the audio's own timing, its transcript, or a server's.

`timing_for_audio(settings, asset, audio_path, on_skip)` runs in the worker before the
lip-sync pipeline, for every job whose audio was not just spoken from a script. In order:
the SpeechTiming of an audio LipForge spoke itself; the transcript a user gave with the
audio (it wins over any server); else, with `LIPFORGE_TRANSCRIBE_URL` set, what the
transcription server hears in it. The server's text is cached by the audio's sha256 (and
the model) under `<data>/cache/transcripts/`, so an audio is transcribed once, restarts
included. Long audio goes to the server in pieces of at most `PIECE_MAX_S` (cut at the
quietest tenth of a second near the end of each piece), read from the file as it is decoded
(about two pieces in memory, whatever the audio's length), sent as 16 kHz mono 16-bit WAV
(about 1.9 MB per minute, far under the 25 MiB OpenAI accepts); each piece's text becomes
one sentence bounded by the piece, which the aligner places phone by phone. A failed
server costs only the shapes: `on_skip(error)` is told why and the job renders from the
audio alone. This module does not speak scripts (`speech_stage.py`) or align (`lipsync/`).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import uuid
import wave
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
from sqlalchemy.orm import sessionmaker

from lipforge.assets.library import get_asset
from lipforge.assets.table import Asset
from lipforge.config import Settings
from lipforge.errors import CancelledError, LipforgeError
from lipforge.events import publish_event
from lipforge.jobs.queue import ClaimedJob
from lipforge.logs import log_event
from lipforge.media.audio import SAMPLE_RATE, iter_audio
from lipforge.media.timing import Sentence, SpeechTiming
from lipforge.speech.transcription import TranscriptionError, TranscriptionServer

PIECE_MAX_S = 60.0
PIECE_SEARCH_S = 15.0  # a piece ends at the quietest window in its last this-many seconds
QUIET_WINDOW_S = 0.1
SILENT_PEAK = 10 ** (-50 / 20)  # a piece quieter than -50 dBFS is not sent (whisper invents words)
CACHE_DIR_NAME = "transcripts"
CACHE_VERSION = 1
NOTICE_EVENT = "job.notice"  # payload {"job_id", "notice": {"error", "message", "params"}}
SkipCallback = Callable[[LipforgeError], None]
CancelCheck = Callable[[], bool]


def words_for_job(
    sessions: sessionmaker,
    settings: Settings,
    job: ClaimedJob,
    audio_asset_id: str,
    audio_path: Path,
    log: Callable[[str], None],
    should_cancel: CancelCheck = lambda: False,
) -> SpeechTiming | None:
    """The words of the job's audio; a failed server is logged and published, never raised
    (CancelledError between pieces when the job is cancelled)."""

    def skipped(error: LipforgeError) -> None:
        log(f"transcription skipped, mouth shapes follow the audio alone: {error}")
        payload = {"job_id": job.id, "notice": error.to_json()}
        with sessions.begin() as session:
            publish_event(session, NOTICE_EVENT, payload, batch_id=job.batch_id, job_id=job.id)

    asset = get_asset(sessions, audio_asset_id)
    timing = timing_for_audio(settings, asset, audio_path, skipped, should_cancel)
    if timing is not None and timing.phones is None:
        log(f"words: {_words_source(asset)}, {sum(len(s.text) for s in timing.sentences)} chars")
    return timing


def _words_source(asset: Asset) -> str:
    if asset.speech_timing:
        return "the audio's script"
    return "the audio's transcript" if asset.transcript else "the transcription server"


def timing_for_audio(
    settings: Settings,
    asset: Asset,
    audio_path: Path,
    on_skip: SkipCallback,
    should_cancel: CancelCheck = lambda: False,
) -> SpeechTiming | None:
    """The words of `asset` with their times, or None: the mouth follows the audio alone."""
    if asset.speech_timing:
        return SpeechTiming.from_json(asset.speech_timing)
    if asset.transcript and asset.transcript.strip():
        return transcript_timing(asset.transcript, asset.duration_s, settings.transcribe_language)
    if not settings.transcribe_url:
        return None
    try:
        return heard_timing(settings, asset.sha256, audio_path, should_cancel)
    except TranscriptionError as exc:
        on_skip(exc)
        return None


def transcript_timing(text: str, duration_s: float, language: str = "") -> SpeechTiming:
    """A user's transcript as one sentence over the whole audio; its phones are aligned later."""
    return SpeechTiming((Sentence(text.strip(), 0.0, duration_s),), None, language)


def heard_timing(
    settings: Settings, sha256: str, audio_path: Path, should_cancel: CancelCheck = lambda: False
) -> SpeechTiming:
    """What the transcription server hears in the audio, piece by piece (cached)."""
    cache = _cache_path(settings, sha256)
    cached = _read_cache(cache)
    if cached is not None:
        return cached
    server = TranscriptionServer(settings)
    sentences = []
    for start, piece in audio_pieces(iter_audio(audio_path, SAMPLE_RATE)):
        if should_cancel():
            raise CancelledError("cancelled while the audio was transcribed")
        if np.abs(piece).max() < SILENT_PEAK:
            continue
        text = server.transcribe(wav_bytes(piece))
        if text:
            end = start + len(piece)
            sentences.append(Sentence(text, start / SAMPLE_RATE, end / SAMPLE_RATE))
    timing = SpeechTiming(tuple(sentences), None, settings.transcribe_language)
    _write_cache(cache, timing)
    return timing


def audio_pieces(
    blocks: Iterable[np.ndarray], max_s: float = PIECE_MAX_S
) -> Iterator[tuple[int, np.ndarray]]:
    """(first sample index, samples) of pieces of at most `max_s`, each but the last ending in
    a quiet spot, taken from `blocks` as they come: a piece is cut once more than `max_s` of
    samples is waiting, so no more than that and one block is held."""
    max_len = int(max_s * SAMPLE_RATE)
    search = min(int(PIECE_SEARCH_S * SAMPLE_RATE), max_len // 2)
    window = int(QUIET_WINDOW_S * SAMPLE_RATE)
    start, waiting, waiting_len = 0, [], 0
    for block in blocks:
        waiting.append(block)
        waiting_len += len(block)
        if waiting_len <= max_len:
            continue
        samples = np.concatenate(waiting)
        while len(samples) > max_len:
            end = max_len - search + _quietest(samples[max_len - search : max_len], window)
            yield start, samples[:end]
            samples, start = samples[end:], start + end
        waiting, waiting_len = [samples], len(samples)
    if waiting_len:
        yield start, np.concatenate(waiting)


def _quietest(part: np.ndarray, window: int) -> int:
    """The middle of the quietest `window` in `part` (sample index within `part`)."""
    usable = len(part) - len(part) % window
    energy = (part[:usable].reshape(-1, window).astype(np.float64) ** 2).mean(axis=1)
    return int(np.argmin(energy)) * window + window // 2


def wav_bytes(samples: np.ndarray) -> bytes:
    """16 kHz mono 16-bit PCM WAV: every server reads it (whisper.cpp reads only WAV)."""
    pcm = np.clip(np.asarray(samples, np.float32) * 32767.0, -32768, 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(SAMPLE_RATE)
        writer.writeframes(pcm.tobytes())
    return buffer.getvalue()


def _cache_path(settings: Settings, sha256: str) -> Path:
    server = f"{settings.transcribe_model}\n{settings.transcribe_language}"
    tag = hashlib.sha256(server.encode()).hexdigest()[:16]
    return settings.data_dir.cache / CACHE_DIR_NAME / f"{sha256}-{tag}.json"


def _read_cache(path: Path) -> SpeechTiming | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != CACHE_VERSION:
            return None
        return SpeechTiming.from_json(data["timing"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_cache(path: Path, timing: SpeechTiming) -> None:
    """Keep the words for the next job of this audio; a full or read-only disk only costs that."""
    scratch = path.with_name(f".{uuid.uuid4().hex}.tmp")
    body = {"version": CACHE_VERSION, "timing": timing.to_json()}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
        os.replace(scratch, path)
    except OSError as exc:
        scratch.unlink(missing_ok=True)
        log_event("transcript.cache_failed", 30, path=str(path), error=str(exc))
