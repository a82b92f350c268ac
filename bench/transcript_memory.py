"""Transcription stage memory: peak RSS of `heard_timing` for a 10-minute and a 40-minute audio.

For comparison it also prints the peak of the lip-sync pipeline's audio analysis
(`analyse_audio` with the mel spectrogram and loudness), which still holds the whole audio.

Each audio (22.05 kHz mono 16-bit WAV of tone bursts and pauses, made here) is transcribed by
a stand-in server (tests/speech/transcribe_standin.py, answering at once) in a fresh child
process, which reports its peak RSS (ru_maxrss) after importing everything and after the
stage. The last line is the ratio of the stage's growth for 40 minutes over 10 minutes: about
4 when the whole audio is held in memory, about 1 when it is read piece by piece.

Run: .venv/bin/python bench/transcript_memory.py
"""

from __future__ import annotations

import hashlib
import resource
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: tests.* helpers

RATE = 22_050
MINUTES = (10, 40)


def make_audio(path: Path, minutes: int) -> None:
    """Tone bursts of 4 s and pauses of 1 s, written a minute at a time."""
    rng = np.random.default_rng(minutes)
    t = np.arange(RATE * 60) / RATE
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(RATE)
        for _minute in range(minutes):
            tone = 0.3 * np.sin(2 * np.pi * rng.uniform(120, 300) * t)
            tone[(t % 5.0) >= 4.0] = 0.0
            writer.writeframes((tone * 32767).astype("<i2").tobytes())


def child(audio: str, url: str, data: str) -> None:
    from lipforge.config import Settings
    from lipforge.render.transcript_stage import heard_timing

    settings = Settings(data=Path(data), transcribe_url=url)
    before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sha256 = hashlib.sha256(audio.encode()).hexdigest()
    timing = heard_timing(settings, sha256, Path(audio))
    after_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{before_mb:.1f} {after_mb:.1f} {len(timing.sentences)}")


def child_analysis(audio: str) -> None:
    from lipforge.media.audio import analyse_audio

    before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    features = analyse_audio(Path(audio), 25.0)
    after_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{before_mb:.1f} {after_mb:.1f} {features.frame_count}")


def measure(audio: Path, url: str, data: Path, mode: str = "--child") -> tuple[float, float, int]:
    command = [sys.executable, __file__, mode, str(audio), url, str(data)]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1]), int(out[2])


def main() -> None:
    from tests.speech.transcribe_standin import Hearing, serve

    growth = {}
    with tempfile.TemporaryDirectory() as scratch, serve("openai", Hearing(["Hello."])) as server:
        for minutes in MINUTES:
            audio = Path(scratch) / f"lecture-{minutes}.wav"
            make_audio(audio, minutes)
            data = Path(scratch) / f"data-{minutes}"
            before_mb, after_mb, pieces = measure(audio, server.url + "/v1", data)
            growth[minutes] = after_mb - before_mb
            print(
                f"{minutes} min audio ({audio.stat().st_size / 2**20:.0f} MiB WAV, {pieces} "
                f"pieces): peak RSS {before_mb:.0f} MB after imports, {after_mb:.0f} MB after "
                f"the stage: +{growth[minutes]:.0f} MB"
            )
            before_mb, after_mb, _frames = measure(audio, "", data, "--child-analysis")
            print(f"  the pipeline's audio analysis of it: +{after_mb - before_mb:.0f} MB")
    ratio = growth[MINUTES[1]] / max(growth[MINUTES[0]], 1.0)
    print(f"growth ratio 40 min / 10 min: {ratio:.2f}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(*sys.argv[2:5])
    elif sys.argv[1:2] == ["--child-analysis"]:
        child_analysis(sys.argv[2])
    else:
        main()
