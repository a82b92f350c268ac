"""A script made into one audio file with its sentence (and phone) timings.

`synthesize_script(voice, text, out_path, settings)` splits the script into pieces
(`sentences.py`), speaks each piece once per (voice, text) — later calls read it from the
cache in `<data>/cache/speech/` — with at most the voice's concurrency of requests at once
(shared by every script of that voice in this process), trims each piece's silence, joins
them with pauses, resamples to one rate, normalizes loudness (EBU R128) and writes a 16-bit
WAV. It answers a `SpeechResult` whose `timing` gives each piece as a subtitle cue, and the
phones when the engine reported them. Storing the audio as an asset is `speech/assets.py`'s
work; subtitles files are `media/subtitles.py`'s.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lipforge.config import Settings
from lipforge.errors import CancelledError
from lipforge.media.timing import Phone, Sentence, SpeechTiming
from lipforge.speech.audio import loudness_normalize, resample, trim_silence, write_wav
from lipforge.speech.cache import SentenceCache
from lipforge.speech.engines import (
    EngineContext,
    SpeechEngine,
    Utterance,
    create_speech_engine,
    speech_engine_class,
)
from lipforge.speech.errors import EmptyScriptError, SpeechLanguageError
from lipforge.speech.sentences import Piece, max_piece_chars, script_language, split_script
from lipforge.speech.voices import Voice
from lipforge.storage.backend import open_storage

LEAD_IN_S = 0.15
TAIL_S = 0.3
ANY_LANGUAGE = "*"

ProgressCallback = Callable[[int, int], None]  # (pieces done, pieces in all)
CancelCheck = Callable[[], bool]

_limits_lock = threading.Lock()
_voice_limits: dict[tuple[str, int], threading.BoundedSemaphore] = {}
PIECE_LOCK_STRIPES = 256
# one synthesis per (voice, text) at a time in this process, with a bounded number of locks
_piece_locks = [threading.Lock() for _ in range(PIECE_LOCK_STRIPES)]


@dataclass(frozen=True)
class SpeechResult:
    audio_path: Path
    duration_s: float
    timing: SpeechTiming
    sample_rate: int = 0
    pieces_synthesized: int = 0  # pieces that were not in the cache


def synthesize_script(
    voice: Voice,
    text: str,
    out_path: Path,
    settings: Settings,
    on_progress: ProgressCallback | None = None,
    should_cancel: CancelCheck | None = None,
) -> SpeechResult:
    """Speak `text` with `voice` into a WAV at `out_path`; raises a speech error with its reason."""
    language = script_language(text)
    engine_class = speech_engine_class(voice.engine)
    _check_language(voice, engine_class, language)
    pieces = split_script(text, max_piece_chars(language, engine_class.max_input_chars))
    if not pieces:
        raise EmptyScriptError("The script has no words to speak.", chars=len(text))
    context = EngineContext(
        storage=open_storage(settings),
        timeout_s=settings.speech_timeout_s,
        attempts=settings.speech_attempts,
    )
    cache = SentenceCache(settings.data_dir.root / "cache" / "speech")
    engine = create_speech_engine(voice, context)
    try:
        runner = _PieceRunner(voice, engine, cache, language, settings, on_progress, should_cancel)
        utterances = runner.run(pieces)
    finally:
        engine.close()
    samples, timing = join_utterances(pieces, utterances, language, settings)
    rate = settings.speech_sample_rate
    samples = loudness_normalize(samples, rate, settings.speech_loudness_lufs)
    write_wav(out_path, samples, settings.speech_sample_rate)
    return SpeechResult(
        audio_path=out_path,
        duration_s=len(samples) / settings.speech_sample_rate,
        timing=timing,
        sample_rate=settings.speech_sample_rate,
        pieces_synthesized=runner.synthesized,
    )


def _check_language(voice: Voice, engine_class: type, language: str) -> None:
    spoken = engine_class.languages
    if ANY_LANGUAGE in spoken or language in spoken:
        return
    raise SpeechLanguageError(
        f"Voice {voice.name!r} ({engine_class.name}) speaks {', '.join(spoken)}; this script is "
        f"in {language!r}. Choose a voice that speaks it.",
        voice=voice.name,
        language=language,
        languages=", ".join(spoken),
    )


def voice_limit(voice: Voice, default: int) -> threading.BoundedSemaphore:
    """The one semaphore that bounds requests to this voice's server in this process."""
    limit = voice.concurrency or default
    with _limits_lock:
        if (voice.name, limit) not in _voice_limits:
            _voice_limits[(voice.name, limit)] = threading.BoundedSemaphore(limit)
        return _voice_limits[(voice.name, limit)]


def _piece_lock(key: str) -> threading.Lock:
    return _piece_locks[int(key[:8], 16) % PIECE_LOCK_STRIPES]


class _PieceRunner:
    """Speaks pieces through the cache, in parallel up to the voice's limit, in order."""

    def __init__(self, voice, engine, cache, language, settings, on_progress, should_cancel):
        self.voice: Voice = voice
        self.engine: SpeechEngine = engine
        self.cache: SentenceCache = cache
        self.language: str = language
        self.workers = voice.concurrency or settings.speech_concurrency
        self.limit = voice_limit(voice, settings.speech_concurrency)
        self.on_progress = on_progress or (lambda done, total: None)
        self.should_cancel = should_cancel or (lambda: False)
        self.synthesized = 0
        self._done = 0
        self._lock = threading.Lock()

    def run(self, pieces: list[Piece]) -> list[Utterance]:
        self.on_progress(0, len(pieces))
        with ThreadPoolExecutor(max(1, self.workers), thread_name_prefix="tts") as pool:
            futures = [pool.submit(self._one, piece.text, len(pieces)) for piece in pieces]
            try:
                return [future.result() for future in futures]
            except BaseException:
                for future in futures:
                    future.cancel()
                raise

    def _one(self, text: str, total: int) -> Utterance:
        if self.should_cancel():
            raise CancelledError("cancelled")
        key = self.cache.key(self.voice, text)
        with _piece_lock(key):  # two jobs of one script in two slots: the second waits, reads
            utterance = self.cache.get(key)
            if utterance is None:
                with self.limit:
                    if self.should_cancel():
                        raise CancelledError("cancelled")
                    utterance = self.engine.synthesize(text, self.language)
                self.cache.put(key, utterance)
                with self._lock:
                    self.synthesized += 1
        with self._lock:
            self._done += 1
            self.on_progress(self._done, total)
        return utterance


def join_utterances(
    pieces: list[Piece], utterances: list[Utterance], language: str, settings: Settings
) -> tuple[np.ndarray, SpeechTiming]:
    """One track at the output rate: lead-in, pieces with pauses, tail; cues and phones timed."""
    rate = settings.speech_sample_rate
    chunks = [np.zeros(round(LEAD_IN_S * rate), np.float32)]
    cursor_s = LEAD_IN_S
    sentences: list[Sentence] = []
    phones: list[Phone] | None = []
    for index, (piece, utterance) in enumerate(zip(pieces, utterances, strict=True)):
        trimmed, start_s = trim_silence(utterance.samples, utterance.sample_rate)
        audio = resample(trimmed, utterance.sample_rate, rate)
        duration_s = len(audio) / rate
        sentences.append(Sentence(piece.text, round(cursor_s, 3), round(cursor_s + duration_s, 3)))
        if utterance.phones is None or phones is None:
            phones = None
        else:
            phones += _shifted(utterance.phones, start_s, duration_s, cursor_s)
        chunks.append(audio)
        cursor_s += duration_s
        last = index == len(pieces) - 1
        pause_s = TAIL_S if last else settings.speech_pause_s * (1 if piece.ends_sentence else 0.5)
        chunks.append(np.zeros(round(pause_s * rate), np.float32))
        cursor_s += len(chunks[-1]) / rate
    timing = SpeechTiming(tuple(sentences), None if phones is None else tuple(phones), language)
    return np.concatenate(chunks), timing


def _shifted(phones, trim_start_s: float, duration_s: float, offset_s: float) -> list[Phone]:
    out = []
    for phone in phones:
        start = max(0.0, phone.start_s - trim_start_s)
        end = min(duration_s, phone.end_s - trim_start_s)
        if end > start:
            out.append(Phone(phone.symbol, round(offset_s + start, 4), round(offset_s + end, 4)))
    return out
