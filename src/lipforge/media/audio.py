"""The driving audio: decode to 16 kHz mono float32, its log-mel spectrogram, loudness per frame.

`melspectrogram` reproduces Wav2Lip's `audio.py` (librosa STFT with reflect padding,
slaney mel filters, pre-emphasis, dB with ref 20 dB / min -100 dB, symmetric
normalisation to ±4, clipped) with numpy and scipy only; it stays here, below the
engines, because wav2lip, meshwarp's spectrum features and the phone aligner all read
it (Wav2Lip's own per-frame window is in `lipsync/engines/wav2lip/mel.py`).
`analyse_audio` computes the features an engine asks for into `AudioFeatures`; it does
not know engines (the pipeline maps an engine's needs to its flags). Encoding audio is
in `encode.py`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import av
import numpy as np
from scipy.signal import get_window, lfilter

from lipforge.errors import EmptyMediaError, NoAudioStreamError
from lipforge.media.errors import translate_av_error
from lipforge.media.probe import open_media
from lipforge.media.timing import Phone

SAMPLE_RATE = 16_000
N_FFT = 800
HOP_LENGTH = 200
WIN_LENGTH = 800
N_MELS = 80
MEL_FMIN_HZ = 55.0
MEL_FMAX_HZ = 7600.0
PREEMPHASIS = 0.97
REF_LEVEL_DB = 20.0
MIN_LEVEL_DB = -100.0
MAX_ABS_VALUE = 4.0
MEL_STEPS_PER_S = SAMPLE_RATE / HOP_LENGTH  # 80
STFT_BLOCK_FRAMES = 4096
EMPHASIS_BLOCK_SAMPLES = 1 << 20
LOUDNESS_BLOCK_FRAMES = 4096
LOUDNESS_RANGE_DB = 45.0
LOUDNESS_PEAK_PERCENTILE = 98.0
LOUDNESS_FLOOR_RMS = 1e-5


@dataclass(frozen=True)
class AudioFeatures:
    """The driving audio, analysed once per render, indexed by output frame.

    `phones` are the IPA phones spoken, with times, when the pipeline knows them (from the
    script's synthesis, an aligned transcript, or the built-in ear; `phone_source` says
    which), else None: engines then follow the loudness and spectrum alone. `mel`,
    `loudness` and `phones` are None when the render's engine did not ask for them.
    """

    samples: np.ndarray  # 16 kHz mono float32
    sample_rate: int
    fps: float
    frame_count: int
    mel: np.ndarray | None = None  # (80, T) Wav2Lip mel spectrogram, 80 steps per second
    loudness: np.ndarray | None = None  # (frame_count,) per-frame loudness envelope in [0, 1]
    phones: tuple[Phone, ...] | None = None
    phone_source: str = ""  # "script" | "aligned" | "heard" | "" (none)


def load_audio(path: Path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Decode the first audio stream of `path` (audio or video) to mono float32 at `sample_rate`."""
    chunks = list(iter_audio(path, sample_rate))
    samples = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    if samples.size == 0:
        raise EmptyMediaError(
            f"{Path(path).name} holds no audio samples. Use a recording with sound."
        )
    return samples


def iter_audio(path: Path, sample_rate: int = SAMPLE_RATE) -> Iterator[np.ndarray]:
    """The same samples as `load_audio`, block by block as they are decoded (a reader that
    keeps only what it needs holds memory that does not grow with the audio's length)."""
    path = Path(path)
    with open_media(path) as container:
        if not container.streams.audio:
            raise NoAudioStreamError(
                f"{path.name} has no audio track. Use a speech recording (wav, mp3, m4a, flac, "
                "ogg/opus) or a video with sound as the driving audio."
            )
        stream = container.streams.audio[0]
        stream.thread_type = "AUTO"
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        decoded_s = 0.0
        try:
            for frame in container.decode(stream):
                decoded_s += frame.samples / float(frame.sample_rate or sample_rate)
                for block in resampler.resample(frame):
                    yield block.to_ndarray().reshape(-1).astype(np.float32, copy=False)
            for block in resampler.resample(None):
                yield block.to_ndarray().reshape(-1).astype(np.float32, copy=False)
        except av.error.FFmpegError as exc:
            raise translate_av_error(path, exc, decoded_s) from exc


def melspectrogram(samples: np.ndarray) -> np.ndarray:
    """Wav2Lip's (80, T) mel spectrogram of 16 kHz samples, in [-4, 4]; T = 1 + len // 200."""
    mel = _mel_of_stft(_emphasised_padded(np.asarray(samples)))
    min_level = math.pow(10.0, MIN_LEVEL_DB / 20.0)
    # in place, step by step as 20 log10(max(min, mel)) - ref, scaled to [-4, 4] and clipped
    np.log10(np.maximum(mel, min_level, out=mel), out=mel)
    mel *= 20.0
    mel -= REF_LEVEL_DB
    mel -= MIN_LEVEL_DB
    mel /= -MIN_LEVEL_DB
    mel *= 2 * MAX_ABS_VALUE
    mel -= MAX_ABS_VALUE
    return np.clip(mel, -MAX_ABS_VALUE, MAX_ABS_VALUE, out=mel).astype(np.float32)


def _emphasised_padded(samples: np.ndarray) -> np.ndarray:
    """The pre-emphasised samples (`lfilter([1, -PREEMPHASIS], [1], x)`, the same float64
    values) with librosa's centring pad, written a block at a time into one array: no whole
    float64 copy of the audio besides the result."""
    count, pad = len(samples), N_FFT // 2
    if count <= pad:  # too short to reflect: librosa pads with zeros
        emphasised = lfilter([1.0, -PREEMPHASIS], [1.0], np.asarray(samples, np.float64))
        return np.pad(emphasised, pad, mode="constant")
    padded = np.empty(count + 2 * pad, np.float64)
    body = padded[pad : pad + count]
    for start in range(0, count, EMPHASIS_BLOCK_SAMPLES):
        end = min(count, start + EMPHASIS_BLOCK_SAMPLES)
        body[start:end] = samples[start:end]
        previous = samples[max(0, start - 1) : end - 1].astype(np.float64)
        body[max(1, start) : end] -= PREEMPHASIS * previous
    mirror = np.arange(pad)
    padded[:pad] = body[pad - mirror]  # np.pad's "reflect": the edge sample is not repeated
    padded[pad + count :] = body[count - 2 - mirror]
    return padded


def _mel_of_stft(padded: np.ndarray) -> np.ndarray:
    """mel_filters() @ |STFT| of centred samples (librosa's: periodic Hann, `padded` by
    `_emphasised_padded`), block by block: the (401, T) magnitude is never held whole (about
    250 KB per second of audio, 600 MB for 40 minutes), only its (80, T) mel."""
    if len(padded) < N_FFT:
        padded = np.pad(padded, (0, N_FFT - len(padded)))
    window = get_window("hann", WIN_LENGTH, fftbins=True)
    frame_count = 1 + (len(padded) - N_FFT) // HOP_LENGTH
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP_LENGTH][:frame_count]
    filters = mel_filters()
    mel = np.empty((filters.shape[0], frame_count), np.float64)
    for start in range(0, frame_count, STFT_BLOCK_FRAMES):
        block = frames[start : start + STFT_BLOCK_FRAMES] * window
        mel[:, start : start + len(block)] = filters @ np.abs(np.fft.rfft(block, axis=1)).T
    return mel


@lru_cache(maxsize=1)
def mel_filters() -> np.ndarray:
    """(80, 401) slaney-scale, slaney-normalised triangular filters, as librosa.filters.mel."""
    fft_hz = np.linspace(0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
    mel_edges = np.linspace(_hz_to_mel(MEL_FMIN_HZ), _hz_to_mel(MEL_FMAX_HZ), N_MELS + 2)
    edges_hz = _mel_to_hz(mel_edges)
    widths = np.diff(edges_hz)
    ramps = edges_hz[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (edges_hz[2:] - edges_hz[:-2]))[:, None]
    return weights


_F_SP = 200.0 / 3
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = math.log(6.4) / 27.0


def _hz_to_mel(hz: float) -> float:
    if hz < _MIN_LOG_HZ:
        return hz / _F_SP
    return _MIN_LOG_MEL + math.log(hz / _MIN_LOG_HZ) / _LOGSTEP


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    linear = _F_SP * mels
    logpart = _MIN_LOG_HZ * np.exp(_LOGSTEP * (mels - _MIN_LOG_MEL))
    return np.where(mels >= _MIN_LOG_MEL, logpart, linear)


def loudness_envelope(
    samples: np.ndarray, sample_rate: int, fps: float, frame_count: int
) -> np.ndarray:
    """Per video frame loudness in [0, 1]: RMS over the frame's span in dB, scaled to a 45 dB range.

    1 is the loud end of the speech (its 98th percentile), 0 is 45 dB below it or silence.
    """
    bounds = np.round(np.arange(frame_count + 1) * sample_rate / fps).astype(np.int64)
    bounds = np.clip(bounds, 0, len(samples))
    counts = np.maximum(bounds[1:] - bounds[:-1], 1)
    rms = np.sqrt(_sums_of_squares(samples, bounds) / counts)
    if frame_count == 0 or rms.max() <= LOUDNESS_FLOOR_RMS:
        return np.zeros(frame_count, np.float32)
    level_db = 20 * np.log10(np.maximum(rms, LOUDNESS_FLOOR_RMS))
    peak_db = np.percentile(level_db[rms > LOUDNESS_FLOOR_RMS], LOUDNESS_PEAK_PERCENTILE)
    loudness = (level_db - (peak_db - LOUDNESS_RANGE_DB)) / LOUDNESS_RANGE_DB
    return np.clip(loudness, 0.0, 1.0).astype(np.float32)


def _sums_of_squares(samples: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """The float64 sum of squares of each span `bounds[i]:bounds[i + 1]`, a block of spans at
    a time (no float64 copy of the whole audio)."""
    sums = np.zeros(max(len(bounds) - 1, 0), np.float64)
    for first in range(0, len(sums), LOUDNESS_BLOCK_FRAMES):
        edges = bounds[first : first + LOUDNESS_BLOCK_FRAMES + 1]
        squares = np.asarray(samples[edges[0] : edges[-1]], np.float64) ** 2
        running = np.concatenate([[0.0], np.cumsum(squares)])
        spans = np.maximum(running[edges[1:] - edges[0]] - running[edges[:-1] - edges[0]], 0.0)
        sums[first : first + len(spans)] = spans
    return sums


def frame_count_for(sample_count: int, sample_rate: int, fps: float) -> int:
    """Video frames that cover the audio: its duration times fps, rounded, at least 1."""
    return max(1, round(sample_count / sample_rate * fps))


def analyse_audio(
    path: Path,
    fps: float,
    frame_count: int | None = None,
    *,
    mel: bool = True,
    loudness: bool = True,
) -> AudioFeatures:
    """Load `path` and compute the features asked for, indexed by video frame at `fps`.

    A feature not asked for (`mel=False`, `loudness=False`) is left None and costs nothing.
    """
    samples = load_audio(path, SAMPLE_RATE)
    if frame_count is None:
        frame_count = frame_count_for(len(samples), SAMPLE_RATE, fps)
    return AudioFeatures(
        samples=samples,
        sample_rate=SAMPLE_RATE,
        fps=float(fps),
        frame_count=frame_count,
        mel=melspectrogram(samples) if mel else None,
        loudness=loudness_envelope(samples, SAMPLE_RATE, fps, frame_count) if loudness else None,
    )
