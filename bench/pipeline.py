"""Benchmark of the frame pipeline against a plain PyAV decode+encode, measured in one run.

Prints (a) the pipeline's wall time on a 20 s 720p 25 fps clip divided by a plain PyAV
decode -> RGB -> encode of the same clip with the same x264 settings (target <= 2.0),
(b) the real-time factor of that render (target >= 1.5), and (c) the peak RSS of
rendering a 120 s clip divided by that of a 20 s clip, each in a fresh subprocess
(target <= 1.2). It also states the CPU cost per frame of each stage run alone on the first
STAGE_FRAMES frames (decode to RGB, face tracking, finding the phones, the engine, encode),
so a regression points at its stage. The last line holds the three ratios.

    .venv/bin/python bench/pipeline.py [--work DIR] [--engine meshwarp]
"""

from __future__ import annotations

import sys
from pathlib import Path

# ruff: noqa: E402
# bench/ holds other scripts (e.g. queue.py) that must not shadow the standard library
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import json
import resource
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: tests.* helpers

from tests.support import media_factory as factory

SHORT_S = 20.0
LONG_S = 120.0
SIZE = (1280, 720)
FPS = 25
SPEECH_GAP_S = 0.4
ROUNDS = 2


def make_inputs(work: Path, seconds: float) -> tuple[Path, Path]:
    """A talking-head clip and speech of the same length (cached in `work`)."""
    work.mkdir(parents=True, exist_ok=True)
    video = work / f"head_{seconds:.0f}s_720p.mp4"
    audio = work / f"speech_{seconds:.0f}s.wav"
    if not video.exists():
        factory.make_talking_head(video, seconds, SIZE, FPS)
    if not audio.exists():
        samples, rate = factory.speech_samples(factory.TEXT_EN, "en-us")
        gap = np.zeros(int(SPEECH_GAP_S * rate), np.float32)
        unit = np.concatenate([samples, gap])
        repeats = int(np.ceil(seconds * rate / len(unit)))
        factory.write_wav(
            audio, factory.fit_length(np.tile(unit, repeats), int(seconds * rate)), rate
        )
    return video, audio


def baseline_s(video: Path, out: Path) -> float:
    """Plain PyAV: decode every frame and encode it again with the same x264 settings."""
    from lipforge.media.encode import x264_stream

    started = time.perf_counter()
    with av.open(str(video)) as src, av.open(str(out), "w", format="mp4") as dst:
        in_stream = src.streams.video[0]
        in_stream.thread_type = "AUTO"
        stream = x264_stream(dst, in_stream.average_rate, in_stream.width, in_stream.height)
        for index, frame in enumerate(src.decode(in_stream)):
            frame.pts, frame.time_base = index, 1 / in_stream.average_rate
            dst.mux(stream.encode(frame))
        dst.mux(stream.encode(None))
    return time.perf_counter() - started


def pipeline_s(video: Path, audio: Path, out: Path, engine: str) -> tuple[float, int]:
    from lipforge.lipsync.pipeline import RenderRequest, render

    started = time.perf_counter()
    result = render(RenderRequest(audio, video, out, engine=engine, fit="pingpong"))
    return time.perf_counter() - started, result.frame_count


@dataclass(frozen=True)
class Timing:
    wall_s: float
    cpu_s: float  # every thread of this process, including FFmpeg's, x264's and MediaPipe's


def timed(action: Callable[[], object]) -> tuple[Timing, object]:
    cpu_before, started = _cpu_s(), time.perf_counter()
    value = action()
    return Timing(time.perf_counter() - started, _cpu_s() - cpu_before), value


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def compare(video: Path, audio: Path, work: Path, engine: str) -> tuple[Timing, Timing, int]:
    """Baseline and pipeline, alternated ROUNDS times; the best of each (the machine is shared)."""
    bases, walls, frames = [], [], 0
    for _ in range(ROUNDS):
        bases.append(timed(lambda: baseline_s(video, work / "baseline.mp4"))[0])
        timing, (_, frames) = timed(lambda: pipeline_s(video, audio, work / "out.mp4", engine))
        walls.append(timing)
    return min(bases, key=_wall), min(walls, key=_wall), frames


def _wall(timing: Timing) -> float:
    return timing.wall_s


def child_peak_rss(video: Path, audio: Path, out: Path, engine: str) -> dict:
    """Render in a fresh interpreter; its peak RSS in MiB and wall time."""
    cmd = [sys.executable, __file__, "--child", str(video), str(audio), str(out), engine]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_child(video: str, audio: str, out: str, engine: str) -> None:
    wall_s, frames = pipeline_s(Path(video), Path(audio), Path(out), engine)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_rss_mib": peak_mib, "wall_s": wall_s, "frames": frames}))


STAGE_FRAMES = 150


def stage_costs(video: Path, audio: Path, engine_name: str) -> dict[str, float]:
    """CPU ms per frame of each pipeline stage run alone on the first STAGE_FRAMES frames."""
    from lipforge.lipsync.engine import FrameBatch, create_engine
    from lipforge.lipsync.faces import FaceTracker
    from lipforge.lipsync.pipeline import RenderRequest, driving_audio
    from lipforge.media.encode import VideoWriter
    from lipforge.media.video import VideoReader

    costs: dict[str, float] = {}
    reader = VideoReader(video)
    cpu = _cpu_s()
    frames = [frame for _, frame in reader.frames(stop_index=STAGE_FRAMES)]
    costs["decode"] = _cpu_s() - cpu
    count = len(frames)
    tracker, tracked = FaceTracker(float(reader.fps), video.name), []
    cpu = _cpu_s()
    for index, frame in enumerate(frames):
        tracked += tracker.push(index, frame)
    tracked += tracker.flush()
    costs["track"] = _cpu_s() - cpu
    tracker.close()
    engine = create_engine(engine_name)
    cpu = _cpu_s()  # the features this engine declares it needs (phones only for meshwarp)
    features = driving_audio(RenderRequest(audio, video, video), engine.needs, float(reader.fps))
    costs["audio+phones"] = (_cpu_s() - cpu) * count / features.frame_count
    engine.load(ROOT / "models")
    engine.start(features)
    landmarks = dict(tracked)
    cpu = _cpu_s()
    outputs = []
    for start in range(0, count, 8):
        indices = np.arange(start, min(start + 8, count))
        batch = FrameBatch(
            indices, [frames[i] for i in indices], [landmarks[i] for i in indices], owned=True
        )
        outputs += engine.process(batch)
    costs["engine"] = _cpu_s() - cpu
    engine.close()
    writer = VideoWriter(
        video.with_name("stages.mp4"), reader.fps, (reader.width, reader.height), audio
    )
    cpu = _cpu_s()
    for frame in outputs:
        writer.write(frame)
    writer.finish(audio_until_s=count / float(reader.fps))
    costs["encode"] = _cpu_s() - cpu
    reader.close()
    return {stage: 1000.0 * seconds / count for stage, seconds in costs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/lipforge-bench"))
    parser.add_argument("--engine", default="meshwarp")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(*args.child)
        return
    short_video, short_audio = make_inputs(args.work, SHORT_S)
    long_video, long_audio = make_inputs(args.work, LONG_S)
    costs = stage_costs(short_video, short_audio, args.engine)
    print(
        "CPU per frame, each stage alone (720p): "
        + ", ".join(f"{stage} {ms:.1f} ms" for stage, ms in costs.items())
        + f"; sum {sum(costs.values()):.1f} ms"
    )
    base, wall, frames = compare(short_video, short_audio, args.work, args.engine)
    print(f"baseline decode+encode 20 s 720p: {base.wall_s:.2f} s wall, {base.cpu_s:.2f} s CPU")
    print(
        f"pipeline ({args.engine}) 20 s 720p: {wall.wall_s:.2f} s wall, {wall.cpu_s:.2f} s CPU, "
        f"{frames / wall.wall_s:.1f} fps; CPU ratio {wall.cpu_s / base.cpu_s:.2f} (target <= 2.0)"
    )
    print(
        f"CPU per frame: baseline {1000 * base.cpu_s / frames:.1f} ms, "
        f"pipeline {1000 * wall.cpu_s / frames:.1f} ms"
    )
    short = child_peak_rss(short_video, short_audio, args.work / "rss_short.mp4", args.engine)
    long = child_peak_rss(long_video, long_audio, args.work / "rss_long.mp4", args.engine)
    print(f"peak RSS 20 s: {short['peak_rss_mib']:.0f} MiB ({short['wall_s']:.1f} s)")
    print(f"peak RSS 120 s: {long['peak_rss_mib']:.0f} MiB ({long['wall_s']:.1f} s)")
    print(
        f"ratios: pipeline/baseline={wall.wall_s / base.wall_s:.2f} (target <= 2.0) "
        f"realtime={SHORT_S / wall.wall_s:.2f}x (target >= 1.5) "
        f"rss120/rss20={long['peak_rss_mib'] / short['peak_rss_mib']:.2f} (target <= 1.2)"
    )


if __name__ == "__main__":
    main()
