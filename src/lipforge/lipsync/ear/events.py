"""From the ear's per-frame posteriors to phone-like events: a smoothed best path of classes.

A Viterbi pass over the classes, with a cost for every change of class (`SWITCH_COST`, in
log-probability), keeps the mouth from flickering between classes on single frames; each
stretch of one class that is not `rest` becomes a `Phone` with the class's symbol, from the
first to the end of its last frame. Rest is the absence of phones, as in a script's timings.
A stretch of `shut` shorter than `MIN_SHUT_STEPS` is given to its neighbour's class: on
held-out speech about half of those fell on no p/b/m (a stop's burst after a pause, a velar
nasal), against a quarter of the longer ones, and each shuts the mouth on loud audio for at
least two video frames.
"""

from __future__ import annotations

import numpy as np

from lipforge.lipsync.ear.model import CLASS_SYMBOLS, CLASSES, STEPS_PER_S, class_posteriors
from lipforge.media.audio import SAMPLE_RATE
from lipforge.media.timing import Phone

SWITCH_COST = 2.0  # log-probability paid for each change of class between two frames
CLASS_BIAS = {"shut": 1.0}  # log-probability added to a class (a closure missed shows more)
FLOOR = 1e-6
MIN_SHUT_STEPS = 3  # mel steps (37.5 ms): shorter heard closures are not trusted
SILENT_PEAK = 1e-4  # audio that never gets louder than this (-80 dBFS) is silence: no phones


def hear_phones(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> tuple[Phone, ...]:
    """Phone-like events (see the module docstring) of 16 kHz mono float samples."""
    if len(samples) < sample_rate // 20 or np.max(np.abs(samples)) < SILENT_PEAK:
        return ()
    path = best_path(class_posteriors(samples, sample_rate))
    return events_of(without_short_closures(path))


def best_path(posteriors: np.ndarray) -> np.ndarray:
    """The class index of every frame on the cheapest path (see the module docstring)."""
    scores = np.log(np.maximum(posteriors, FLOOR))
    for name, bias in CLASS_BIAS.items():
        scores[:, CLASSES.index(name)] += bias
    steps, count = scores.shape
    back = np.zeros((steps, count), np.int16)
    total = scores[0].copy()
    for step in range(1, steps):
        switch_from = int(np.argmax(total))
        stay = total
        switch = total[switch_from] - SWITCH_COST
        better = switch > stay
        back[step] = np.where(better, switch_from, np.arange(count))
        total = np.where(better, switch, stay) + scores[step]
    path = np.zeros(steps, np.int64)
    path[-1] = int(np.argmax(total))
    for step in range(steps - 1, 0, -1):
        path[step - 1] = back[step, path[step]]
    return path


def without_short_closures(path: np.ndarray) -> np.ndarray:
    """The path with each run of `shut` shorter than MIN_SHUT_STEPS relabelled as the class
    before it (or after it, when rest or nothing is before it)."""
    shut, rest = CLASSES.index("shut"), CLASSES.index("rest")
    path = path.copy()
    edges = np.flatnonzero(np.diff(path)) + 1
    starts = np.concatenate([[0], edges])
    ends = np.concatenate([edges, [len(path)]])
    for start, end in zip(starts, ends, strict=True):
        if path[start] != shut or end - start >= MIN_SHUT_STEPS:
            continue
        before = path[start - 1] if start > 0 else rest
        after = path[end] if end < len(path) else rest
        path[start:end] = before if before != rest else after
    return path


def events_of(path: np.ndarray) -> tuple[Phone, ...]:
    """One phone per run of a non-rest class; times from mel steps (centred at step / 80 s)."""
    if not len(path):
        return ()
    edges = np.flatnonzero(np.diff(path)) + 1
    starts = np.concatenate([[0], edges])
    ends = np.concatenate([edges, [len(path)]])
    phones = []
    for start, end in zip(starts, ends, strict=True):
        name = CLASSES[path[start]]
        if name == "rest":
            continue
        start_s = max(0.0, (start - 0.5) / STEPS_PER_S)
        phones.append(Phone(CLASS_SYMBOLS[name], start_s, (end - 0.5) / STEPS_PER_S))
    return tuple(phones)
