"""Viseme benchmark: do the rendered lips close on p/b/m, rest in pauses, round on o/u?

English and Mandarin sentences are spoken by libespeak-ng (its phoneme events are the
ground truth), rendered with the default engine onto the test faces (the astronaut,
720x1280 portrait and 512x512), and the output mouth is tracked with MediaPipe. Each render runs
four times when the pipeline accepts a `timing`: with espeak-ng's phones (a scripted job),
from the audio alone (no transcript: the built-in ear, `lipsync/ear`), with a transcription
server (the stand-in of tests/speech/transcribe_standin.py, answering the words as Whisper
writes them, through render/transcript_stage.py) and with the user's transcript (both aligned
to the audio). The ear never heard these sentences: it trains on sentences composed from
word lists (`scripts/ear_corpus.py`), and `scripts/train_ear.py` refuses any that is one of
these. Printed per mode and language (so three rows per language for issue 18: audio alone,
server, transcript; and the phones' row),
over all cases: bilabial closures within +-1 frame, silent frames at rest and still, mouth
width on o/u vs i/e (narrower by), loudness r; against the targets of the phones (closures
>= 90 %, rest >= 95 %, rounding >= 10 %, r >= 0.8; also for a server and a transcript) or of
the audio alone (issue 18's: closures >= 60 %, rest >= 95 %, rounding >= 8 %, r >= 0.7).
The last line holds the figures. `--crops DIR` also writes mouth crops (PNG) of two cases on
each face.

`--talking` runs the talking-source cases instead (issue 17): the still head first made to
speak other speech (its mouth opened to that speech's loudness, or a LipForge output with its
phones), then rendered with the new speech and its phones. Printed: rest in the new speech's
pauses (closed or at the still head's own mouth, and still), closures, rounding, r with the
new speech (>= 0.7) and r with the old one (|r| <= 0.2). With `--mode audio` the new speech is
rendered from the audio alone (the ear; issue 18's targets for closures and rounding), with
`--face WxH` at any size (1920x1080: a 1080p presenter). The last column is what a viewer sees
move in the pauses, free of MediaPipe: the mouth box's mean grey change from frame to frame with
the head's own motion undone (the output's, and the still source's for scale), and the share of
pause frames that change no more than the still source's most (its encoding noise). MediaPipe
reads some held shut lips as moving by 0.5 % of the face height from frame to frame where the
pixels change less than the still source's do; rest in pauses counts those as moving, and moved
by up to 7 points with changes nobody can see. It is therefore judged again on the output
shifted by a third of a pixel six ways (`talking_sources.JUDGE_SHIFTS`); the mean is the figure,
printed with the unshifted reading and the range.

    .venv/bin/python bench/visemes.py [--work DIR] [--crops DIR] [--quick] [--case NAME]
        [--face WxH] [--talking] [--mode phones|audio|server|transcript]
"""

from __future__ import annotations

import sys
from pathlib import Path

# ruff: noqa: E402
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import dataclasses
import os
import time

os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's native log lines

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: tests.* helpers

from tests.lipsync.mouth_measure import (
    decode_frames,
    face_axes,
    face_height,
    face_landmarks,
)
from tests.lipsync.talking_sources import (
    fitted,
    make_talking_source,
    measure_talking,
    pause_pixel_steps,
)
from tests.lipsync.viseme_measure import (
    FPS,
    TARGETS,
    CaseSpec,
    Measures,
    measure_output,
    synthesize_case,
    write_case_wav,
)
from tests.render.word_sources import WORD_MODES, WordSources
from tests.support import media_factory as factory

CASES = (
    CaseSpec(
        "en-bilabial",
        "en-us",
        ("Bob met my mom by the big blue boat.", "Maybe Paul will bring the papers by Monday."),
        pause_s=0.8,
    ),
    CaseSpec(
        "en-rounding",
        "en-us",
        ("Who knew you would choose blue shoes?", "We see three green trees each evening."),
        pause_s=0.6,
    ),
    CaseSpec("en-pause", "en-us", ("Please wait here.", "Now we can begin again."), pause_s=1.5),
    CaseSpec(
        "zh-bilabial",
        "cmn-latn-pinyin",
        ("ma1 ma5 mai3 le5 mian4 bao1.", "bu4 pa4, wo3 men5 ming2 tian1 bu3 ban1."),
        pause_s=0.8,
        language="zh",
    ),
    CaseSpec(
        "zh-rounding",
        "cmn-latn-pinyin",
        ("wu3 ge4 xiao3 peng2 you3 qu4 kan4 yue4 liang4.", "yi1 qi3 xi3 huan1 xing1 xing1."),
        pause_s=1.0,
        language="zh",
    ),
)
QUICK_CASES = ("en-bilabial", "zh-bilabial")
FACES = ((720, 1280), (512, 512))  # portrait: face ~250 px tall; square: ~100 px
EXTRA_VIDEO_S = 0.4
AUDIO_ALONE_TARGETS = {"closures": 0.60, "silence_rest": 0.95, "rounding": 0.08, "loudness_r": 0.7}
MODES = ("phones", "audio", "server", "transcript")
MODE_NAMES = {
    "phones": "phones",
    "audio": "audio alone",
    "server": "audio+transcription server (stand-in)",
    "transcript": "audio+transcript",
}
CROP_CASES = {"en-bilabial": (0.3, 3.0), "en-pause": (1.0, 3.4)}  # seconds shown in crops


# Talking sources: the presenter speaks OLD_SPEECH (with short pauses that fall elsewhere than
# the new speech's) in the source; the new speech is one of these cases.
OLD_SPEECH = CaseSpec(
    "old-lecture",
    "en-us",
    (
        "Hello everyone, today we will talk about the moon, the stars and the planets.",
        "Look at the sky tonight, and you will see all of them shining above the city lights.",
    ),
    pause_s=0.2,
)
TALKING_CASES = ("en-bilabial", "en-rounding", "zh-bilabial")
TALKING_QUICK = ("en-bilabial",)
TALKING_KINDS = ("loudness", "rerender")  # how the source was made to talk
TALKING_TARGETS = {"closures": 0.90, "silence_rest": 0.95, "rounding": 0.10, "loudness_r": 0.70}
OLD_R_MAX = 0.2


def pipeline_takes_timing() -> bool:
    from lipforge.lipsync.pipeline import RenderRequest

    return "timing" in {f.name for f in dataclasses.fields(RenderRequest)}


def case_timing(case, audio: Path, mode: str, words: WordSources | None):
    """The timing a job gets in `mode`: phones (scripted), none (audio alone), or words."""
    if mode == "phones":
        return case.timing()
    if mode in WORD_MODES and words is not None:
        return words.timing(case.spec.parts, audio, case.duration_s, mode)
    return None


def render_case(case, face: tuple[int, int], work: Path, mode: str, words=None):
    from lipforge.lipsync.pipeline import RenderRequest, render
    from lipforge.media.audio import analyse_audio

    tag = f"{case.spec.name}_{face[0]}x{face[1]}_{mode}"
    audio = write_case_wav(case, work / f"{case.spec.name}.wav")
    head = work / f"head_{face[0]}x{face[1]}_{case.duration_s:.2f}.mp4"
    if not head.exists():
        factory.make_talking_head(head, case.duration_s + EXTRA_VIDEO_S, face)
    timing = case_timing(case, audio, mode, words)
    extra = {"timing": timing} if timing is not None else {}
    request = RenderRequest(audio, head, work / f"{tag}.mp4", **extra)
    started = time.perf_counter()
    result = render(request)
    render_s = time.perf_counter() - started
    outputs = decode_frames(result.output_path)
    inputs = decode_frames(head)[: len(outputs)]
    loudness = analyse_audio(audio, FPS, len(outputs)).loudness
    measures = measure_output(case, face_landmarks(outputs), face_landmarks(inputs), loudness)
    return tag, measures, outputs, render_s


def write_crops(tag: str, outputs: list[np.ndarray], span_s: tuple[float, float], out: Path):
    """A strip of mouth crops, one per frame in `span_s`, 8 per row, as one PNG."""
    points = face_landmarks(outputs[:1])[0]
    centre, _, _ = face_axes(points)
    side = round(0.45 * face_height(points))
    tiles = []
    for index in range(int(span_s[0] * FPS), min(int(span_s[1] * FPS), len(outputs))):
        crop = cv2.getRectSubPix(outputs[index], (side, side), tuple(centre + (0, side * 0.1)))
        crop = cv2.resize(crop, (160, 160), interpolation=cv2.INTER_AREA)
        cv2.putText(crop, str(index), (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 0), 1)
        tiles.append(crop)
    while len(tiles) % 8:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[i : i + 8]) for i in range(0, len(tiles), 8)]
    out.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out / f"{tag}.png"), cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR))


def pooled(results: list[Measures]) -> dict[str, float]:
    bilabials = sum(m.bilabials for m in results)
    silent = sum(m.silent_frames for m in results)
    return {
        "closures": sum(m.closures * m.bilabials for m in results) / max(bilabials, 1),
        "silence_rest": sum(m.silence_rest * m.silent_frames for m in results) / max(silent, 1),
        "rounding": float(np.nanmean([m.rounding for m in results])),
        "loudness_r": float(np.mean([m.loudness_r for m in results])),
    }


def summary(mode: str, figures: dict[str, float], targets: dict[str, float] = TARGETS) -> str:
    marks = {k: "ok" if figures[k] >= targets[k] else "MISS" for k in targets}
    return (
        f"{mode}: closures={figures['closures']:.1%} ({marks['closures']}) "
        f"silence_rest={figures['silence_rest']:.1%} ({marks['silence_rest']}) "
        f"rounding={figures['rounding']:+.1%} ({marks['rounding']}) "
        f"loudness_r={figures['loudness_r']:.2f} ({marks['loudness_r']})"
    )


def render_talking(case, old, face: tuple[int, int], kind: str, work: Path, mode: str = "phones"):
    """The still head made to speak `old` (by `kind`), rendered again with `case` (with its
    phones, or from the audio alone: `mode` "audio")."""
    from lipforge.lipsync.pipeline import RenderRequest, render

    seconds = case.duration_s + EXTRA_VIDEO_S
    still = work / f"head_{face[0]}x{face[1]}_{seconds:.2f}.mp4"
    if not still.exists():
        factory.make_talking_head(still, seconds, face)
    old = fitted(old, seconds)
    source = make_talking_source(still, old, work, kind == "rerender", f"_{case.spec.name}")
    audio = write_case_wav(case, work / f"{case.spec.name}.wav")
    tag = f"talking-{kind}_{case.spec.name}_{face[0]}x{face[1]}_{mode}"
    timing = case.timing() if mode == "phones" else None
    started = time.perf_counter()
    render(RenderRequest(audio, source, work / f"{tag}.mp4", timing=timing, fit="trim"))
    render_s = time.perf_counter() - started
    old_audio = write_case_wav(old, work / f"old_{old.spec.name}.wav")
    measured, outputs = measure_talking(
        case, old, work / f"{tag}.mp4", still, audio, old_audio, shifts=True
    )
    steps = pause_pixel_steps(case, outputs), pause_pixel_steps(case, decode_frames(still))
    return tag, measured, outputs, render_s, steps


def talking_summary(results, mode: str = "phones", steps=None) -> str:
    figures = pooled([m.new for m in results])
    shifted = ""
    if all(m.shifted_rest for m in results):  # judged under each shift: their mean is the figure
        silent = sum(m.new.silent_frames for m in results)
        rests = [
            sum(m.shifted_rest[k] * m.new.silent_frames for m in results) / max(silent, 1)
            for k in range(len(results[0].shifted_rest))
        ]
        shifted = (
            f", unshifted {figures['silence_rest']:.1%}, shifted {min(rests):.1%}-{max(rests):.1%}"
        )
        figures["silence_rest"] = float(np.mean(rests))
    targets = talking_targets(mode)
    marks = {k: "ok" if figures[k] >= targets[k] else "MISS" for k in targets}
    worst_old = max(abs(m.old_r) for m in results)
    moved = ""
    if steps:
        output = np.concatenate([s[0] for s in steps])
        still = np.concatenate([s[1] for s in steps])
        as_still = float(np.mean(output <= still.max()))
        moved = (
            f" pause_pixel_step(max 90th)=output {output.max():.1f} {np.percentile(output, 90):.1f}"
            f" still source {still.max():.1f} {np.percentile(still, 90):.1f};"
            f" pause frames moving no more than the still source ever does: {as_still:.1%}"
        )
    return (
        f"talking {MODE_NAMES[mode]}: closures={figures['closures']:.1%} ({marks['closures']}) "
        f"silence_rest={figures['silence_rest']:.1%} ({marks['silence_rest']}{shifted}) "
        f"rounding={figures['rounding']:+.1%} ({marks['rounding']}) "
        f"r_new={figures['loudness_r']:.2f} ({marks['loudness_r']}) "
        f"max|r_old|={worst_old:.2f} ({'ok' if worst_old <= OLD_R_MAX else 'MISS'})" + moved
    )


def talking_targets(mode: str) -> dict[str, float]:
    """Issue 17's on talking sources; from the audio alone, issue 18's closures and rounding."""
    if mode == "audio":
        return {**TALKING_TARGETS, "closures": AUDIO_ALONE_TARGETS["closures"],
                "rounding": AUDIO_ALONE_TARGETS["rounding"]}  # fmt: skip
    return TALKING_TARGETS


def run_talking(args) -> None:
    names = TALKING_QUICK if args.quick else TALKING_CASES
    names = [n for n in names if not args.case or n in args.case]
    faces = [_size(f) for f in args.face] if args.face else list(FACES[:1])
    modes = [m for m in args.mode or ["phones"] if m in ("phones", "audio")]
    old = synthesize_case(OLD_SPEECH, lead_s=0.05)
    for mode in modes:
        results, steps = [], []
        for spec in [c for c in CASES if c.name in names]:
            case = synthesize_case(spec)
            for face in faces:
                for kind in TALKING_KINDS:
                    tag, measured, outputs, render_s, step = render_talking(
                        case, old, face, kind, args.work, mode
                    )
                    results.append(measured)
                    steps.append(step)
                    print(f"{tag}: {measured.line()}; render {render_s:.1f} s", flush=True)
                    if measured.new.missed:
                        print(f"  open on: {' '.join(measured.new.missed)}")
                    if args.crops and spec.name in CROP_CASES:
                        write_crops(tag, outputs, CROP_CASES[spec.name], args.crops)
        print(talking_summary(results, mode, steps))


def _size(text: str) -> tuple[int, int]:
    width, height = text.lower().split("x")
    return int(width), int(height)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/lipforge-visemes"))
    parser.add_argument("--crops", type=Path, default=None)
    parser.add_argument("--quick", action="store_true", help="two cases, one face")
    parser.add_argument("--case", action="append", help="only these cases (by name)")
    parser.add_argument("--face", action="append", help="only these faces (WxH, e.g. 512x512)")
    parser.add_argument("--talking", action="store_true", help="talking-source cases")
    parser.add_argument("--mode", action="append", choices=MODES, help="only these modes")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.talking:
        run_talking(args)
        return
    specs = [c for c in CASES if not args.quick or c.name in QUICK_CASES]
    specs = [c for c in specs if not args.case or c.name in args.case]
    faces = FACES[:1] if args.quick else FACES
    faces = [_size(f) for f in args.face] if args.face else faces
    modes = [*MODES] if pipeline_takes_timing() else ["audio"]
    modes = [m for m in modes if not args.mode or m in args.mode]
    by_row: dict[tuple[str, str], list[Measures]] = {}
    with WordSources(args.work) as words:
        for spec in specs:
            case = synthesize_case(spec)
            for face in faces:
                for mode in modes:
                    tag, measures, outputs, render_s = render_case(
                        case, face, args.work, mode, words
                    )
                    by_row.setdefault((spec.language, mode), []).append(measures)
                    print(f"{tag}: {measures.line()}; render {render_s:.1f} s", flush=True)
                    if measures.missed:
                        print(f"  open on: {' '.join(measures.missed)}")
                    if args.crops and spec.name in CROP_CASES:
                        write_crops(tag, outputs, CROP_CASES[spec.name], args.crops)
    for (language, mode), results in sorted(by_row.items()):
        print(summary(f"{language} {MODE_NAMES[mode]}", pooled(results), mode_targets(mode)))
    every = {m: [x for (_, mode), r in by_row.items() if mode == m for x in r] for m in modes}
    print(" | ".join(summary(MODE_NAMES[m], pooled(every[m]), mode_targets(m)) for m in modes))


def mode_targets(mode: str) -> dict[str, float]:
    return AUDIO_ALONE_TARGETS if mode == "audio" else TARGETS


if __name__ == "__main__":
    main()
