"""Held-out scores of the built-in ear, without rendering a face.

For each held-out utterance (`ear_corpus`, voices and sentences the ear never trained on),
the mouth poses are computed as a render would (`mouth_poses` on the utterance's audio
features at 25 fps) with phones from the ear ("heard") and with none (the audio path alone),
and judged against espeak-ng's own phones:

- frame accuracy per class of the ear's argmax (and of its smoothed path) at 80 steps/s;
- closures: share of p/b/m whose frames (+-1) include one with the lips shut (opening < 0.05);
- false shut: share of vowels whose middle frame has the lips shut;
- rest: share of frames in pauses of >= 150 ms (after 2 frames to close) resting or shut;
- rounding: mean spread on i/e frames minus on o/u frames (spread is -1 round .. 1 wide);
- loudness r: Pearson r of the opening with the loudness envelope.

Piper's English voice (when installed) is scored apart ("en-piper"): its phones are placed by
the aligner, not reported, so its truth is itself about 30 ms off. With `--utterances 100
--piper 20 --seed 1008` (43 English, 40 Mandarin, 17 other, 20 piper utterances), closures /
vowels shut / rest, the ear as it decodes today (closures shorter than 37.5 ms dropped, the jaw
on the loudness), the ear as first merged, and PocketSphinx, the recogniser it replaced
(`--sources heard,recognised` at commit 7094ed5, which still had it):

    English  ear: 78 %, 2 %, 97 %; first merged: 79 %, 2 %, 98 %; PocketSphinx: 28 %, 0 %, 68 %
    Mandarin ear: 69 %, 2 %, 98 %; first merged: 73 %, 2 %, 98 %; PocketSphinx: 16 %, 0 %, 71 %
    piper    ear: 76 %, 7 %, 97 %; first merged: 80 %, 11 %, 94 %; PocketSphinx: 60 %, 4 %, 86 %
    loudness r of the opening, English / Mandarin: 0.85 / 0.86; first merged: 0.83 / 0.83
    (adding PocketSphinx's p/b/m to the first ear gained 0-4 points of closures)

    .venv/bin/python scripts/ear_scores.py [--utterances 160] [--seed 1008] [--piper 30]
"""

from __future__ import annotations

import sys
from pathlib import Path

# ruff: noqa: E402
sys.path.insert(0, str(Path(__file__).resolve().parent))

import argparse
import dataclasses

import numpy as np
from ear_corpus import Utterance, frame_labels, mouth_class

from lipforge.lipsync.ear import CLASSES, class_posteriors, hear_phones
from lipforge.lipsync.ear.events import best_path
from lipforge.lipsync.ear.model import STEPS_PER_S
from lipforge.lipsync.engines.meshwarp.mouthshape import mouth_poses
from lipforge.media.audio import SAMPLE_RATE, AudioFeatures, loudness_envelope, melspectrogram

FPS = 25.0
SHUT_OPENING = 0.05
EASE_FRAMES = 2
MIN_PAUSE_S = 0.15


SOURCES = ("heard", "")


def print_scores(utterances: list[Utterance], sources: tuple[str, ...] = SOURCES) -> None:
    for language in ("en", "zh", "other", "en-piper"):
        chosen = [u for u in utterances if u.language == language]
        if not chosen:
            continue
        print(
            f"--- {language}: {len(chosen)} held-out utterances, voices "
            f"{sorted({u.voice.split('+')[0] for u in chosen})}"
        )
        print(frame_accuracy(chosen))
        for source in sources:
            figures = lipsync_figures(chosen, source)
            print(
                f"{source or 'audio path':>11}: "
                + ", ".join(
                    f"{k} {v:.1%}" if k != "loudness_r" else f"{k} {v:.2f}"
                    for k, v in figures.items()
                ),
                flush=True,
            )


def frame_accuracy(utterances: list[Utterance]) -> str:
    hits = np.zeros((2, len(CLASSES)))
    totals = np.zeros(len(CLASSES))
    for u in utterances:
        posteriors = class_posteriors(u.samples)
        labels = u.labels[: len(posteriors)]
        for row, guess in enumerate((posteriors.argmax(axis=1), best_path(posteriors))):
            for index in range(len(CLASSES)):
                hits[row, index] += np.sum((labels == index) & (guess == index))
        totals += np.bincount(labels, minlength=len(CLASSES))
    per_class = ", ".join(
        f"{name} {hits[0, i] / max(totals[i], 1):.0%}/{hits[1, i] / max(totals[i], 1):.0%}"
        for i, name in enumerate(CLASSES)
    )
    overall = hits.sum(axis=1) / totals.sum()
    return f"frame accuracy (argmax/path): all {overall[0]:.1%}/{overall[1]:.1%}; {per_class}"


def audio_features(samples: np.ndarray) -> AudioFeatures:
    frames = int(len(samples) / SAMPLE_RATE * FPS)
    return AudioFeatures(
        samples=samples, sample_rate=SAMPLE_RATE, fps=FPS, frame_count=frames,
        mel=melspectrogram(samples), loudness=loudness_envelope(samples, SAMPLE_RATE, FPS, frames),
    )  # fmt: skip


def lipsync_figures(utterances: list[Utterance], source: str) -> dict[str, float]:
    tally = {k: [0, 0] for k in ("closures", "false_shut", "rest")}
    round_spread, wide_spread, loudness_r = [], [], []
    for u in utterances:
        audio = audio_features(u.samples)
        phones = hear_phones(u.samples) if source == "heard" else None
        poses = mouth_poses(dataclasses.replace(audio, phones=phones or None, phone_source=source))
        shut = poses.opening < SHUT_OPENING
        count = audio.frame_count
        for phone in u.phones:
            first = int(phone.start_s * FPS)
            last = max(first, int(np.ceil(phone.end_s * FPS)) - 1)
            kind = mouth_class(phone.symbol)
            if kind == "shut":
                tally["closures"][0] += bool(shut[max(first - 1, 0) : min(last + 2, count)].any())
                tally["closures"][1] += 1
            middle = min(int((phone.start_s + phone.end_s) / 2 * FPS), count - 1)
            if kind in ("open", "spread", "rounded"):
                tally["false_shut"][0] += bool(shut[middle])
                tally["false_shut"][1] += 1
        steps = ((np.arange(count) + 0.5) * STEPS_PER_S / FPS).astype(int)
        labels = frame_labels(u.phones, steps[-1] + 1)[steps]  # the class at each frame's middle
        round_spread += list(poses.spread[labels == CLASSES.index("rounded")])
        wide_spread += list(poses.spread[labels == CLASSES.index("spread")])
        for first, last in pause_frames(u, count):
            window = slice(first + EASE_FRAMES, last)
            resting = poses.resting[window] | shut[window]
            tally["rest"][0] += int(resting.sum())
            tally["rest"][1] += len(resting)
        if np.std(poses.opening) > 0:
            loudness_r.append(np.corrcoef(poses.opening, audio.loudness[:count])[0, 1])
    figures = {k: hit / max(total, 1) for k, (hit, total) in tally.items()}
    figures["rounding"] = (np.mean(wide_spread) - np.mean(round_spread)) / 2
    figures["loudness_r"] = float(np.mean(loudness_r))
    return figures


def pause_frames(u: Utterance, count: int) -> list[tuple[int, int]]:
    edges = [(0.0, 0.0)] + [(p.start_s, p.end_s) for p in u.phones]
    edges.append((len(u.samples) / SAMPLE_RATE,) * 2)
    spans = []
    for (_, end), (start, _) in zip(edges, edges[1:], strict=False):
        if start - end >= MIN_PAUSE_S:
            spans.append((int(np.ceil(end * FPS)), min(int(start * FPS), count)))
    return spans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utterances", type=int, default=160)
    parser.add_argument("--seed", type=int, default=1008)  # 1007 tuned the decoding
    parser.add_argument("--piper", type=int, default=30, help="piper utterances (0: none)")
    parser.add_argument("--sources", default=",".join(SOURCES), help="heard,")
    args = parser.parse_args()
    from train_ear import corpus

    sources = tuple(args.sources.split(","))
    utterances = corpus(args.utterances, held_out=True, seed=args.seed, piper_count=args.piper)
    print_scores(utterances, sources)


if __name__ == "__main__":
    main()
