"""Sample-level work on speech: decode what servers answer, trim, resample.

Samples are float32 mono in [-1, 1] throughout. Loudness (EBU R128, `loudness.py`) and the
WAV a script becomes are `track.py`'s; its peak guard keeps peaks under `PEAK_LIMIT`. Resampling
is done in the frequency domain with numpy. This module knows nothing of engines or voices.
"""

from __future__ import annotations

import io
import wave
from math import gcd

import numpy as np

from lipforge.speech.loudness import fft_size

SILENCE_THRESHOLD = 10 ** (-50 / 20)  # -50 dBFS
SILENCE_MARGIN_S = 0.03
PEAK_LIMIT = 10 ** (-1 / 20)  # -1 dBFS
MIN_LOUDNESS_S = 0.4  # BS.1770 gating blocks are 400 ms


class AudioDecodeError(ValueError):
    """The bytes are not audio this module can read; adapters turn it into SpeechAudioError."""


def pcm16_to_samples(data: bytes) -> np.ndarray:
    if len(data) % 2:
        data = data[:-1]
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


def wav_to_samples(data: bytes) -> tuple[np.ndarray, int]:
    """A WAV file's samples (mixed to mono) and rate; AudioDecodeError if it is not a PCM WAV."""
    try:
        with wave.open(io.BytesIO(data)) as reader:
            channels, width = reader.getnchannels(), reader.getsampwidth()
            rate = reader.getframerate()
            frames = reader.readframes(reader.getnframes())
    except (wave.Error, EOFError) as exc:
        raise AudioDecodeError(f"not a PCM WAV file ({exc})") from exc
    if width == 2:
        samples = np.frombuffer(frames, "<i2").astype(np.float32) / 32768.0
    elif width == 4:
        samples = np.frombuffer(frames, "<i4").astype(np.float32) / 2147483648.0
    elif width == 1:
        samples = (np.frombuffer(frames, np.uint8).astype(np.float32) - 128.0) / 128.0
    else:
        raise AudioDecodeError(f"WAV with {width * 8}-bit samples is not supported")
    if channels > 1:
        samples = samples[: len(samples) // channels * channels].reshape(-1, channels).mean(axis=1)
    return samples.astype(np.float32), rate


def any_audio_to_samples(data: bytes) -> tuple[np.ndarray, int]:
    """WAV directly; anything else (MP3, Opus, FLAC...) decoded with PyAV."""
    if data[:4] == b"RIFF":
        return wav_to_samples(data)
    import av

    try:
        with av.open(io.BytesIO(data)) as container:
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="mono")
            chunks, rate = [], stream.rate
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
    except (av.error.FFmpegError, IndexError) as exc:
        raise AudioDecodeError(f"not audio that FFmpeg can decode ({exc})") from exc
    if not chunks:
        raise AudioDecodeError("the audio holds no samples")
    return np.concatenate(chunks).astype(np.float32), int(rate)


def trim_silence(samples: np.ndarray, rate: int) -> tuple[np.ndarray, float]:
    """`samples` without silence at either end (a margin kept), and the seconds cut at the start."""
    loud = np.flatnonzero(np.abs(samples) > SILENCE_THRESHOLD)
    if len(loud) == 0:
        return samples[:0], 0.0
    margin = round(SILENCE_MARGIN_S * rate)
    start = max(0, int(loud[0]) - margin)
    end = min(len(samples), int(loud[-1]) + margin + 1)
    return samples[start:end], start / rate


def resample(samples: np.ndarray, rate: int, target_rate: int) -> np.ndarray:
    """Band-limited resampling in the frequency domain (for a piece of speech, not a stream)."""
    if rate == target_rate or len(samples) == 0:
        return samples.astype(np.float32)
    divisor = gcd(rate, target_rate)
    step_in, step_out = rate // divisor, target_rate // divisor
    blocks = fft_size(-(-(len(samples) + rate // 10) // step_in))  # >= 0.1 s of zero padding
    size_in, size_out = blocks * step_in, blocks * step_out
    spectrum = np.fft.rfft(samples.astype(np.float64), size_in)
    resized = np.zeros(size_out // 2 + 1, dtype=complex)
    kept = min(len(spectrum), len(resized))
    resized[:kept] = spectrum[:kept]
    out = np.fft.irfft(resized, size_out) * (size_out / size_in)
    return out[: round(len(samples) * target_rate / rate)].astype(np.float32)
