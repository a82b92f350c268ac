"""Audio: decode from every format a user brings, Wav2Lip's mel spectrogram, loudness per frame."""

from __future__ import annotations

import numpy as np
import pytest
from tests.support import media_factory as factory

from lipforge.errors import CorruptMediaError, NoAudioStreamError, NotMediaError
from lipforge.media.audio import (
    analyse_audio,
    load_audio,
    loudness_envelope,
    melspectrogram,
)

SR = 16_000


def _envelope(samples: np.ndarray, hop: int = 800) -> np.ndarray:
    usable = len(samples) // hop * hop
    return np.sqrt((samples[:usable].reshape(-1, hop) ** 2).mean(axis=1))


@pytest.fixture(scope="module")
def reference(speech_en_wav) -> np.ndarray:
    return load_audio(speech_en_wav)


@pytest.mark.parametrize("suffix", [".wav", ".mp3", ".m4a", ".flac", ".ogg", ".opus"])
def test_every_audio_format_decodes_to_16k_mono(tmp_path, speech_en_wav, reference, suffix):
    samples, rate = factory.read_wav(speech_en_wav)
    path = factory.write_audio(tmp_path / f"speech{suffix}", samples, rate)
    decoded = load_audio(path)
    assert decoded.dtype == np.float32 and decoded.ndim == 1
    assert len(decoded) == pytest.approx(len(reference), abs=0.1 * SR)
    n = min(len(_envelope(decoded)), len(_envelope(reference)))
    corr = np.corrcoef(_envelope(decoded)[:n], _envelope(reference)[:n])[0, 1]
    assert corr > 0.9, f"{suffix}: decoded speech does not follow the original (r={corr:.2f})"


def test_audio_track_of_a_video(tmp_path):
    clip = factory.make_talking_head(tmp_path / "talk.mp4", 2.0, (128, 128), with_audio=True)
    decoded = load_audio(clip)
    assert len(decoded) == pytest.approx(2.0 * SR, abs=0.1 * SR)
    assert np.abs(decoded).max() > 0.05


def test_stereo_48k_is_mixed_down_and_resampled(tmp_path):
    import av

    t = np.arange(48_000) / 48_000
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    path = tmp_path / "stereo.wav"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=48_000, layout="stereo")
        pcm = (np.stack([tone, tone]).T.reshape(1, -1) * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="stereo")
        frame.sample_rate = 48_000
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    decoded = load_audio(path)
    assert len(decoded) == pytest.approx(SR, abs=200)
    spectrum = np.abs(np.fft.rfft(decoded[1000:15000]))
    peak_hz = np.argmax(spectrum) * SR / len(decoded[1000:15000])
    assert peak_hz == pytest.approx(440, abs=5)


def test_video_without_audio_is_refused(video_only):
    with pytest.raises(NoAudioStreamError, match="has no audio track"):
        load_audio(video_only)


def test_garbage_is_refused(broken_garbage):
    with pytest.raises(NotMediaError):
        load_audio(broken_garbage)


def test_truncated_m4a_is_refused(tmp_path, speech_m4a):
    cut = factory.make_truncated(speech_m4a, tmp_path / "cut.m4a", 0.6)
    with pytest.raises(CorruptMediaError, match="cut.m4a"):
        load_audio(cut)


def test_mel_matches_librosa_wav2lip_recipe(reference):
    librosa = pytest.importorskip("librosa")
    from scipy.signal import lfilter

    emphasised = lfilter([1, -0.97], [1], reference)
    stft = librosa.stft(y=emphasised, n_fft=800, hop_length=200, win_length=800, pad_mode="reflect")
    basis = librosa.filters.mel(sr=SR, n_fft=800, n_mels=80, fmin=55, fmax=7600)
    level_db = 20 * np.log10(np.maximum(1e-5, basis @ np.abs(stft))) - 20
    expected = np.clip(8 * ((level_db + 100) / 100) - 4, -4, 4)
    mel = melspectrogram(reference)
    assert mel.shape == expected.shape == (80, 1 + len(reference) // 200)
    assert np.abs(mel - expected).max() < 1e-3
    assert mel.min() >= -4 and mel.max() <= 4


def test_loudness_follows_bursts_and_silence():
    fps = 25.0
    burst = np.sin(2 * np.pi * 220 * np.arange(SR // 2) / SR).astype(np.float32) * 0.5
    quiet = np.zeros(SR // 2, np.float32)
    samples = np.concatenate([quiet, burst, quiet, burst * 0.1])
    loud = loudness_envelope(samples, SR, fps, 50)
    assert loud.shape == (50,) and loud.min() >= 0 and loud.max() <= 1
    assert np.all(loud[:12] == 0)
    assert np.all(loud[13:24] > 0.9)
    assert np.all(loud[26:37] == 0)
    assert np.all((loud[39:49] > 0.3) & (loud[39:49] < 0.8))  # 20 dB down, still audible


def test_loudness_of_silence_is_zero():
    assert np.all(loudness_envelope(np.zeros(SR, np.float32), SR, 25.0, 25) == 0)


def test_analyse_audio_covers_the_audio_in_frames(speech_zh_wav):
    features = analyse_audio(speech_zh_wav, fps=30.0)
    duration_s = len(features.samples) / features.sample_rate
    assert features.frame_count == round(duration_s * 30.0)
    assert features.loudness.shape == (features.frame_count,)
    assert features.mel.shape[0] == 80
    assert features.mel.shape[1] == pytest.approx(duration_s * 80, abs=2)
    assert features.loudness.max() == pytest.approx(1.0, abs=0.05)
