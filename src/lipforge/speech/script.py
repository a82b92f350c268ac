"""A script made into one audio file with its sentence (and phone) timings.

`synthesize_script(voice, text, out_path, settings)` splits the script into pieces
(`sentences.py`), speaks each piece once per (voice, text) — later calls read it from the
cache in `<data>/cache/speech/` — with at most the voice's concurrency of requests at once
(shared by every script of that voice in this process), trims each piece's silence, joins
them with pauses, resamples to one rate onto a scratch file (`track.py`: memory does not
grow with the script), normalizes loudness (EBU R128) and writes a 16-bit WAV. A cancel
is seen within a fraction of a second, even while a server trickles its answer. It answers
a `SpeechResult` whose `timing` gives each piece as a subtitle cue, and the phones when
the engine reported them. Storing the audio as an asset is `speech/assets.py`'s work;
subtitles files are `media/subtitles.py`'s.
"""

from __future__ import annotations

import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from lipforge.config import Settings
from lipforge.errors import CancelledError
from lipforge.media.timing import Phone, Sentence, SpeechTiming
from lipforge.speech.audio import resample, trim_silence
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
from lipforge.speech.track import SpeechTrack
from lipforge.speech.voices import Voice
from lipforge.storage.backend import open_storage

LEAD_IN_S = 0.15
TAIL_S = 0.3
ANY_LANGUAGE = "*"
PIECES_AHEAD_PER_WORKER = 2  # pieces spoken ahead of the one being written, per request slot
CANCEL_POLL_S = 0.25

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
    """Speak `text` with `voice` into a WAV at `out_path`; raises a speech error with its reason.

    Pieces are spoken a few ahead of the one being written and go to a scratch file on disk
    as they arrive (`track.py`), so memory does not grow with the script's length."""
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
        key_env_prefix=settings.speech_key_env_prefix,
        url_allow=settings.voice_url_allow,
    )
    cache = SentenceCache(settings.data_dir.root / "cache" / "speech")
    rate = settings.speech_sample_rate
    track = SpeechTrack(out_path.with_name(f".{out_path.name}.{uuid.uuid4().hex}.f32"), rate)
    joiner = _TrackJoiner(track, language, settings.speech_pause_s)
    engine = create_speech_engine(voice, context)
    try:
        runner = _PieceRunner(voice, engine, cache, language, settings, on_progress, should_cancel)
        for index, utterance in enumerate(runner.run(pieces)):
            joiner.add(pieces[index], utterance, last=index == len(pieces) - 1)
        track.finish(out_path, settings.speech_loudness_lufs)
    finally:
        engine.close()
        track.discard()
    return SpeechResult(
        audio_path=out_path,
        duration_s=track.duration_s,
        timing=joiner.timing(),
        sample_rate=rate,
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

    def run(self, pieces: list[Piece]) -> Iterator[Utterance]:
        """Each piece's utterance in order, with at most a window of pieces spoken ahead.

        Each piece is spoken on a daemon thread: a cancel is seen within `CANCEL_POLL_S`
        even while a server trickles, and a thread left behind never holds the process."""
        self.on_progress(0, len(pieces))
        window = max(1, self.workers) * PIECES_AHEAD_PER_WORKER
        pending: deque[_PieceCall] = deque()
        try:
            for piece in pieces:
                pending.append(_PieceCall(self._one, piece.text, len(pieces)))
                if len(pending) >= window:
                    yield pending.popleft().result(self.should_cancel)
            while pending:
                yield pending.popleft().result(self.should_cancel)
        finally:
            for call in pending:
                call.abandon()

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


class _PieceCall:
    """One piece spoken on a daemon thread; `result` waits for it, watching the cancel check."""

    def __init__(self, speak: Callable[[str, int], Utterance], text: str, total: int) -> None:
        self._done = threading.Event()
        self._abandoned = False
        self._value: Utterance | None = None
        self._error: BaseException | None = None
        thread = threading.Thread(target=self._run, args=(speak, text, total), daemon=True)
        thread.start()

    def _run(self, speak, text: str, total: int) -> None:
        try:
            if not self._abandoned:
                self._value = speak(text, total)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            self._error = exc
        finally:
            self._done.set()

    def abandon(self) -> None:
        self._abandoned = True

    def result(self, should_cancel: CancelCheck) -> Utterance:
        while not self._done.wait(CANCEL_POLL_S):
            if should_cancel():
                self.abandon()
                raise CancelledError("cancelled")
        if self._error is not None:
            raise self._error
        assert self._value is not None
        return self._value


class _TrackJoiner:
    """Utterances onto the track at its rate: lead-in, pieces with pauses, tail; cues and phones."""

    def __init__(self, track: SpeechTrack, language: str, pause_s: float) -> None:
        self.track, self.language, self.pause_s = track, language, pause_s
        self.sentences: list[Sentence] = []
        self.phones: list[Phone] | None = []
        track.append_silence(LEAD_IN_S)

    def add(self, piece: Piece, utterance: Utterance, last: bool) -> None:
        trimmed, start_s = trim_silence(utterance.samples, utterance.sample_rate)
        audio = resample(trimmed, utterance.sample_rate, self.track.rate)
        cursor_s, duration_s = self.track.duration_s, len(audio) / self.track.rate
        self.sentences.append(
            Sentence(piece.text, round(cursor_s, 3), round(cursor_s + duration_s, 3))
        )
        if utterance.phones is None or self.phones is None:
            self.phones = None
        else:
            self.phones += _shifted(utterance.phones, start_s, duration_s, cursor_s)
        self.track.append(audio)
        pause_s = TAIL_S if last else self.pause_s * (1 if piece.ends_sentence else 0.5)
        self.track.append_silence(pause_s)

    def timing(self) -> SpeechTiming:
        phones = None if self.phones is None else tuple(self.phones)
        return SpeechTiming(tuple(self.sentences), phones, self.language)


def _shifted(phones, trim_start_s: float, duration_s: float, offset_s: float) -> list[Phone]:
    out = []
    for phone in phones:
        start = max(0.0, phone.start_s - trim_start_s)
        end = min(duration_s, phone.end_s - trim_start_s)
        if end > start:
            out.append(Phone(phone.symbol, round(offset_s + start, 4), round(offset_s + end, 4)))
    return out
