"""libespeak-ng through ctypes: speech samples plus the IPA phonemes it spoke, with their times.

`synthesize(text, voice)` returns mono int16 samples, their sample rate and one `Phone` per
phoneme espeak-ng reported (its phoneme events, in IPA, timed by their `audio_position`).
Pauses espeak-ng inserts (commas, sentence ends) are not phones: they are the gaps between
them. libespeak-ng keeps global state and is not thread-safe, so every call here holds one
process-wide lock. This module knows nothing of voices tables, caches or files: the speech
room builds its `espeak` engine on it, the lip-sync room reads its phones as ground truth.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from dataclasses import dataclass

import numpy as np

from lipforge.media.timing import Phone

RATE_WPM_DEFAULT = 175  # espeakRATE_NORMAL
RATE_WPM_RANGE = (80, 450)  # espeakRATE_MINIMUM, espeakRATE_MAXIMUM
LIBRARY_NAMES = ("libespeak-ng.so.1", "libespeak-ng.so")

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_INITIALIZE_PHONEME_IPA = 0x0002
_INITIALIZE_DONT_EXIT = 0x8000
_CHARS_UTF8 = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_PHONEME = 7
_EVENT_MSG_TERMINATED = 6
_PARAM_RATE, _PARAM_VOLUME, _PARAM_PITCH, _PARAM_WORDGAP = 1, 2, 3, 7
_EE_OK = 0
_STRESS_AND_LENGTH_MARKS = "ˈˌ"  # stress marks ride on the phoneme events; they are not sounds


class EspeakError(RuntimeError):
    """libespeak-ng is missing, refused a voice, or failed to synthesize.

    The speech room translates it into its user-facing error (the voice name is in `voice`).
    """

    def __init__(self, message: str, voice: str = "") -> None:
        super().__init__(message)
        self.voice = voice


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_Callback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass(frozen=True)
class Synthesis:
    """What one `synthesize` call made: int16 mono samples, their rate, and the phones spoken."""

    samples: np.ndarray
    sample_rate: int
    phones: tuple[Phone, ...]

    def __iter__(self):  # allows `samples, rate, phones = synthesize(...)`
        return iter((self.samples, self.sample_rate, self.phones))

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


_lock = threading.Lock()
_state: dict = {}  # "lib", "rate", "callback", "sink": set once under _lock


def _load_library() -> ctypes.CDLL:
    names = list(LIBRARY_NAMES)
    found = ctypes.util.find_library("espeak-ng")
    if found:
        names.append(found)
    for name in names:
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    raise EspeakError(
        "libespeak-ng is not installed (Debian: apt-get install libespeak-ng1); tried "
        + ", ".join(names)
    )


def _on_synth(wav, count, events) -> int:
    sink = _state["sink"]
    if count > 0 and wav:
        sink["chunks"].append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
    index = 0
    while events[index].type != _EVENT_LIST_TERMINATED:
        event = events[index]
        if event.type == _EVENT_PHONEME:
            raw = bytes(event.id.string).split(b"\0", 1)[0]
            sink["events"].append((event.audio_position, raw.decode("utf-8", "replace")))
        elif event.type == _EVENT_MSG_TERMINATED:
            sink["end_ms"] = event.audio_position
        index += 1
    return 0


def _ensure_initialized() -> ctypes.CDLL:
    if "lib" in _state:
        return _state["lib"]
    lib = _load_library()
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_SetSynthCallback.argtypes = [_Callback]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_Synth.argtypes = [
        ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
        ctypes.c_uint, ctypes.c_uint, ctypes.POINTER(ctypes.c_uint), ctypes.c_void_p,
    ]  # fmt: skip
    options = _INITIALIZE_PHONEME_EVENTS | _INITIALIZE_PHONEME_IPA | _INITIALIZE_DONT_EXIT
    rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None, options)
    if rate <= 0:
        raise EspeakError(f"libespeak-ng failed to initialize (returned {rate})")
    callback = _Callback(_on_synth)  # kept in _state so it is never garbage-collected
    lib.espeak_SetSynthCallback(callback)
    _state.update(lib=lib, rate=rate, callback=callback)
    return lib


def _phones_from_events(events: list[tuple[int, str]], end_s: float) -> tuple[Phone, ...]:
    """One phone per event, ending where the next event (phone or pause) starts."""
    phones: list[Phone] = []
    for index, (position_ms, name) in enumerate(events):
        symbol = name.strip().strip(_STRESS_AND_LENGTH_MARKS)
        if index + 1 < len(events):
            stop_s = events[index + 1][0] / 1000.0
        else:
            stop_s = end_s
        if not symbol or symbol[0] in "_(" or stop_s <= position_ms / 1000.0:
            continue  # pauses, language switches such as "(en)", zero-length events
        phones.append(Phone(symbol, position_ms / 1000.0, min(stop_s, end_s)))
    return tuple(phones)


def synthesize(
    text: str,
    voice: str = "en-us",
    *,
    rate_wpm: int = RATE_WPM_DEFAULT,
    pitch: int = 50,
    volume: int = 100,
    word_gap_10ms: int = 0,
) -> Synthesis:
    """Speak `text` with the espeak-ng `voice` (e.g. "en-us", "cmn-latn-pinyin").

    `rate_wpm` is clamped to 80..450 words per minute; `pitch` is 0..100 (50 normal);
    `volume` 0..200 (100 normal); `word_gap_10ms` adds pauses between words in 10 ms units.
    Returns `Synthesis(samples int16, sample_rate, phones)`, which unpacks as a 3-tuple.
    Phones with times are reported by libespeak-ng itself, aligned with the samples.
    Raises `EspeakError` when the library is missing or the voice is unknown.
    """
    low, high = RATE_WPM_RANGE
    with _lock:
        lib = _ensure_initialized()
        if lib.espeak_SetVoiceByName(voice.encode()) != _EE_OK:
            raise EspeakError(f"espeak-ng has no voice named {voice!r}", voice=voice)
        lib.espeak_SetParameter(_PARAM_RATE, max(low, min(high, int(rate_wpm))), 0)
        lib.espeak_SetParameter(_PARAM_PITCH, max(0, min(100, int(pitch))), 0)
        lib.espeak_SetParameter(_PARAM_VOLUME, max(0, int(volume)), 0)
        lib.espeak_SetParameter(_PARAM_WORDGAP, max(0, int(word_gap_10ms)), 0)
        sink: dict = {"chunks": [], "events": [], "end_ms": None}
        _state["sink"] = sink
        data = text.encode("utf-8") + b"\0"
        status = lib.espeak_Synth(data, len(data), 0, 0, 0, _CHARS_UTF8, None, None)
        _state["sink"] = None
        if status != _EE_OK:
            raise EspeakError(f"espeak-ng failed to synthesize (status {status})", voice=voice)
        sample_rate = int(_state["rate"])
    empty = np.zeros(0, np.int16)
    samples = np.concatenate(sink["chunks"]).astype(np.int16) if sink["chunks"] else empty
    end_s = len(samples) / sample_rate
    return Synthesis(samples, sample_rate, _phones_from_events(sink["events"], end_s))
