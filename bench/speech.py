"""Speech benchmark: the espeak path's real-time factor, and what concurrency buys on a slow server.

1. A 1,000-character Chinese script through `synthesize_script` with `espeak-zh` (cold
   sentence cache): seconds of work per second of speech (below 1 is faster than real time).
2. A CosyVoice stand-in (tests/speech/standins.py, following CosyVoice's
   runtime/python/fastapi/server.py) that takes 1 s per sentence, like a busy GPU box:
   the same 12-sentence script with a voice limited to 1 request at a time, then to 4.
   The last line is the speed-up of concurrency 4 over serial (ideal: 4x).

Run: .venv/bin/python bench/speech.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]  # bench/queue.py
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: tests.* helpers

from tests.speech.standins import Behaviour, Recorder, StandIn, cosyvoice_app  # noqa: E402

from lipforge.config import Settings  # noqa: E402
from lipforge.speech.script import synthesize_script  # noqa: E402
from lipforge.speech.voices import Voice  # noqa: E402

SENTENCE = "光合作用是植物利用阳光，把水和二氧化碳变成葡萄糖和氧气的过程。"
LESSON = [
    "今天我们学习光合作用。",
    "植物需要阳光、水和二氧化碳。",
    "叶子里的叶绿体吸收阳光。",
    "叶绿素让叶子看起来是绿色的。",
    "植物把水和二氧化碳变成葡萄糖。",
    "同时，植物放出氧气。",
    "我们呼吸的氧气来自植物。",
    "所以森林被称为地球之肺。",
    "没有阳光，植物就不能生长。",
    "请大家观察身边的植物。",
    "下节课我们做一个小实验。",
    "谢谢大家，再见！",
]
SERVER_LATENCY_S = 1.0


def fresh_settings() -> Settings:
    return Settings(data=Path(tempfile.mkdtemp(prefix="lipforge-bench-")))


def espeak_real_time_factor() -> float:
    script = "".join((SENTENCE + f"第{n}段。") for n in range(1, 60))[
        :1000
    ]  # distinct sentences: nothing comes from the cache
    settings = fresh_settings()
    voice = Voice("espeak-zh", "espeak", language="zh")
    started = time.perf_counter()
    result = synthesize_script(voice, script, settings.data / "lesson.wav", settings)
    elapsed_s = time.perf_counter() - started
    rtf = elapsed_s / result.duration_s
    print(
        f"espeak-zh: {len(script)} characters -> {result.duration_s:.1f} s of speech "
        f"({len(result.timing.sentences)} sentences) in {elapsed_s:.1f} s: "
        f"real-time factor {rtf:.3f}"
    )
    return rtf


def timed_script(url: str, concurrency: int) -> float:
    settings = fresh_settings()
    voice = Voice(
        f"gpu-c{concurrency}",
        "cosyvoice",
        url=url,
        speaker="中文女",
        sample_rate=22050,
        options={"concurrency": concurrency},
    )
    started = time.perf_counter()
    synthesize_script(voice, "".join(LESSON), settings.data / "lesson.wav", settings)
    return time.perf_counter() - started


def main() -> None:
    espeak_real_time_factor()
    behaviour, recorder = Behaviour(delay_s=SERVER_LATENCY_S), Recorder()
    with StandIn(cosyvoice_app(behaviour, recorder)) as server:
        serial_s = timed_script(server.url, 1)
        parallel_s = timed_script(server.url, 4)
    print(f"stand-in at {SERVER_LATENCY_S:g} s per sentence, {len(LESSON)} sentences:")
    print(f"  concurrency 1: {serial_s:.2f} s; concurrency 4: {parallel_s:.2f} s")
    print(f"  requests seen: {len(recorder.requests)}, at most {recorder.max_in_flight} at once")
    print(f"speed-up of concurrency 4 over serial: {serial_s / parallel_s:.2f}x")


if __name__ == "__main__":
    main()
