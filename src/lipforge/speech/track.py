"""A script's audio track built piece by piece on disk, then loudness-normalized into a WAV.

`SpeechTrack(scratch_path, rate)` takes each spoken piece (already at the output rate) and
each pause as they come, appends them to a raw float32 scratch file and feeds a streaming
loudness meter and a peak; `finish(out_path, target_lufs)` reads the scratch file back in
blocks, applies one gain (to the target loudness, held back so peaks stay under -1 dBFS)
and writes a 16-bit mono WAV. Memory does not grow with the script's length: only one
piece and one block are held at a time. This module does not speak or time sentences
(`script.py` does).
"""

from __future__ import annotations

import os
import wave
from pathlib import Path

import numpy as np

from lipforge.speech.audio import MIN_LOUDNESS_S, PEAK_LIMIT
from lipforge.speech.loudness import LoudnessMeter

SAMPLE_BYTES = 4  # float32 in the scratch file
WRITE_BLOCK_SAMPLES = 1 << 16


class SpeechTrack:
    def __init__(self, scratch_path: Path, rate: int) -> None:
        self.rate = rate
        self.scratch_path = Path(scratch_path)
        self.scratch_path.parent.mkdir(parents=True, exist_ok=True)
        self._scratch = open(self.scratch_path, "wb")  # noqa: SIM115 - closed by finish/discard
        self._meter = LoudnessMeter(rate)
        self._peak = 0.0
        self.samples = 0

    @property
    def duration_s(self) -> float:
        return self.samples / self.rate

    def append(self, samples: np.ndarray) -> None:
        samples = np.asarray(samples, dtype=np.float32)
        if not len(samples):
            return
        self._scratch.write(samples.astype("<f4").tobytes())
        self._meter.add(samples)
        self._peak = max(self._peak, float(np.max(np.abs(samples))))
        self.samples += len(samples)

    def append_silence(self, seconds: float) -> None:
        self.append(np.zeros(round(seconds * self.rate), np.float32))

    def gain(self, target_lufs: float) -> float:
        """The one gain for the whole track: to `target_lufs`, held under the peak limit."""
        if self.samples < MIN_LOUDNESS_S * self.rate:
            return 1.0
        loudness = self._meter.lufs()
        if not np.isfinite(loudness):
            return 1.0
        gain = 10 ** ((target_lufs - loudness) / 20)
        if self._peak * gain > PEAK_LIMIT:
            gain = PEAK_LIMIT / self._peak
        return gain

    def finish(self, out_path: Path, target_lufs: float) -> None:
        """Write the track as a 16-bit WAV at `out_path` (temp name, then renamed)."""
        self._scratch.close()
        gain = np.float32(self.gain(target_lufs))
        out_path = Path(out_path)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        partial = out_path.with_name(f".{out_path.name}.partial")
        try:
            with open(self.scratch_path, "rb") as source, wave.open(str(partial), "wb") as writer:
                writer.setnchannels(1)
                writer.setsampwidth(2)
                writer.setframerate(self.rate)
                while block := source.read(WRITE_BLOCK_SAMPLES * SAMPLE_BYTES):
                    samples = np.frombuffer(block, "<f4") * gain
                    writer.writeframes(_pcm16(samples))
            os.replace(partial, out_path)
        finally:
            partial.unlink(missing_ok=True)
            self.discard()

    def discard(self) -> None:
        self._scratch.close()
        self.scratch_path.unlink(missing_ok=True)


def _pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()
