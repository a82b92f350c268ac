"""Train the built-in ear (`src/lipforge/lipsync/ear/ear.onnx`) and print its held-out scores.

Deterministic for a seed: makes the corpus (`ear_corpus`: libespeak-ng speech over many
voices, rates, pitches, pauses and degradations; piper's English voice, when installed,
with its phones placed by the aligner), trains a small network in numpy (a
dilated window of 13 x 40 log-mel features, two ReLU layers, softmax over the mouth
classes; Adam, class-weighted cross-entropy), writes it as an ONNX graph (a Conv1d and two
1x1 Conv layers, built with the `onnx` package of the test extras), checks onnxruntime gives
the numpy model's answers, and scores it on utterances of held-out voices and sentences.

    .venv/bin/python scripts/train_ear.py [--utterances 1200] [--piper 120] [--epochs 12]
        [--seed 7] [--out src/lipforge/lipsync/ear/ear.onnx]
"""

from __future__ import annotations

import sys
from pathlib import Path

# ruff: noqa: E402
sys.path.insert(0, str(Path(__file__).resolve().parent))

import argparse
import time

import numpy as np
from ear_corpus import Utterance, make_utterance, piper_utterance, piper_voice, reserved_texts

from lipforge.lipsync.ear.model import BANDS, CLASSES, CONTEXT_STEPS, INPUT_NAME, features

DILATION = 2
TAPS = 2 * CONTEXT_STEPS // DILATION + 1  # 13 frames of the window
HIDDEN = (192, 128)
BATCH = 512
LEARNING_RATE = 2e-3
WEIGHT_DECAY = 1e-5
HELD_OUT_UTTERANCES = 160
OPSET = 17


def corpus(count: int, held_out: bool, seed: int, piper_count: int = 0) -> list[Utterance]:
    rng = np.random.default_rng(seed)
    babble = [make_utterance(rng, held_out, augment=False).samples for _ in range(8)]
    background = np.concatenate(babble)
    reserved = reserved_texts()  # the bench's and the tests' sentences are never heard here
    utterances = [
        make_utterance(rng, held_out, background=background, reserved=reserved)
        for _ in range(count)
    ]
    voice = piper_voice() if piper_count else None
    if piper_count and voice is None:
        print("piper-tts or its voice is not installed: training on espeak-ng alone")
    for _ in range(piper_count if voice is not None else 0):
        utterance = piper_utterance(voice, rng, background, reserved)
        if utterance is not None:
            utterances.append(utterance)
    return utterances


def stacked(utterances: list[Utterance]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All features side by side (each utterance padded by its context), the index of each
    labelled frame's centre, and its label."""
    blocks, centres, labels, offset = [], [], [], 0
    for utterance in utterances:
        block = features(utterance.samples)
        steps = block.shape[1] - 2 * CONTEXT_STEPS
        blocks.append(block)
        centres.append(offset + CONTEXT_STEPS + np.arange(steps))
        labels.append(utterance.labels[:steps])
        offset += block.shape[1]
    return np.concatenate(blocks, axis=1), np.concatenate(centres), np.concatenate(labels)


OFFSETS = np.arange(-CONTEXT_STEPS, CONTEXT_STEPS + 1, DILATION)


def windows(feats: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """(len(centres), BANDS * TAPS) inputs, band-major: the order of the Conv1d weights."""
    cols = centres[:, None] + OFFSETS[None, :]
    return feats[:, cols].transpose(1, 0, 2).reshape(len(centres), BANDS * TAPS)


class Network:
    def __init__(self, rng: np.random.Generator, mean: np.ndarray, std: np.ndarray):
        sizes = (BANDS * TAPS, *HIDDEN, len(CLASSES))
        self.params = []
        for fan_in, fan_out in zip(sizes, sizes[1:], strict=False):
            weight = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
            self.params += [weight.astype(np.float32), np.zeros(fan_out, np.float32)]
        self.mean, self.std = mean.astype(np.float32), std.astype(np.float32)
        self.moments = [(np.zeros_like(p), np.zeros_like(p)) for p in self.params]
        self.steps = 0

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        h = (x - self.mean) / self.std
        activations = [h]
        for index in range(0, len(self.params), 2):
            h = h @ self.params[index] + self.params[index + 1]
            if index + 2 < len(self.params):
                h = np.maximum(h, 0.0)
            activations.append(h)
        return h, activations

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        logits, _ = self.forward(x)
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)

    def train_step(self, x: np.ndarray, y: np.ndarray, weights: np.ndarray, lr: float) -> float:
        logits, acts = self.forward(x)
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        p = e / e.sum(axis=1, keepdims=True)
        w = weights[y]
        loss = float(-(w * np.log(p[np.arange(len(y)), y] + 1e-9)).sum() / w.sum())
        grad = p
        grad[np.arange(len(y)), y] -= 1.0
        grad *= (w / w.sum())[:, None]
        grads = []
        for index in range(len(self.params) - 2, -1, -2):
            grads = [acts[index // 2].T @ grad, grad.sum(axis=0)] + grads
            if index:
                grad = (grad @ self.params[index].T) * (acts[index // 2] > 0)
        self._adam(grads, lr)
        return loss

    def _adam(self, grads: list[np.ndarray], lr: float) -> None:
        self.steps += 1
        b1, b2 = 0.9, 0.999
        for index, (param, grad) in enumerate(zip(self.params, grads, strict=True)):
            m, v = self.moments[index]
            grad = grad + WEIGHT_DECAY * param
            m[:] = b1 * m + (1 - b1) * grad
            v[:] = b2 * v + (1 - b2) * grad * grad
            m_hat = m / (1 - b1**self.steps)
            v_hat = v / (1 - b2**self.steps)
            param -= (lr * m_hat / (np.sqrt(v_hat) + 1e-8)).astype(np.float32)

    def folded(self) -> list[np.ndarray]:
        """The parameters with the input standardisation folded into the first layer."""
        first, bias = self.params[0], self.params[1]
        scaled = first / self.std[:, None]
        shifted = bias - (self.mean / self.std) @ first
        return [scaled.astype(np.float32), shifted.astype(np.float32), *self.params[2:]]


def train(net: Network, feats, centres, labels, epochs: int, rng) -> None:
    counts = np.bincount(labels, minlength=len(CLASSES)).astype(np.float64)
    weights = (counts.sum() / np.maximum(counts, 1)) ** 0.5
    weights = (weights / weights.mean()).astype(np.float32)
    for epoch in range(epochs):
        order = rng.permutation(len(centres))
        lr = LEARNING_RATE * 0.5 * (1 + np.cos(np.pi * epoch / epochs))
        losses = []
        started = time.perf_counter()
        for start in range(0, len(order), BATCH):
            pick = order[start : start + BATCH]
            x = windows(feats, centres[pick])
            losses.append(net.train_step(x, labels[pick], weights, lr))
        print(
            f"epoch {epoch + 1}/{epochs}: loss {np.mean(losses):.3f}, lr {lr:.5f}, "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )


def onnx_model(params: list[np.ndarray]):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    first = params[0].T.reshape(HIDDEN[0], BANDS, TAPS)  # rows were band-major windows
    initialisers = [numpy_helper.from_array(first, "w1"), numpy_helper.from_array(params[1], "b1")]
    for layer, index in ((2, 2), (3, 4)):
        weight = params[index].T[:, :, None]
        initialisers += [
            numpy_helper.from_array(np.ascontiguousarray(weight), f"w{layer}"),
            numpy_helper.from_array(params[index + 1], f"b{layer}"),
        ]
    nodes = [
        helper.make_node("Conv", [INPUT_NAME, "w1", "b1"], ["c1"], dilations=[DILATION]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("Conv", ["r2", "w3", "b3"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["posteriors"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "lipforge_ear",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, [1, BANDS, "padded"])],
        [helper.make_tensor_value_info("posteriors", TensorProto.FLOAT, [1, len(CLASSES), "n"])],
        initialisers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    model.doc_string = "LipForge ear: mouth classes " + ",".join(CLASSES)
    onnx.checker.check_model(model)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utterances", type=int, default=1200)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--piper", type=int, default=120, help="piper utterances (0: none)")
    root = Path(__file__).resolve().parents[1]
    parser.add_argument("--out", type=Path, default=root / "src/lipforge/lipsync/ear/ear.onnx")
    args = parser.parse_args()
    started = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    training = corpus(args.utterances, held_out=False, seed=args.seed, piper_count=args.piper)
    feats, centres, labels = stacked(training)
    hours = sum(len(u.samples) for u in training) / 16000 / 3600
    print(
        f"corpus: {len(training)} utterances, {hours:.2f} h, {len(labels)} frames, "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )
    sample = windows(feats, rng.choice(centres, 20000))
    net = Network(rng, sample.mean(axis=0), sample.std(axis=0) + 1e-3)
    train(net, feats, centres, labels, args.epochs, rng)
    import onnx

    model = onnx_model(net.folded())
    onnx.save(model, args.out)
    print(
        f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB); "
        f"training took {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    from ear_scores import print_scores

    held_out = corpus(
        HELD_OUT_UTTERANCES, held_out=True, seed=args.seed + 1000, piper_count=args.piper // 4
    )
    check = held_out[0]
    ours = net.probabilities(windows(*stacked([check])[:2]))
    from lipforge.lipsync.ear import model as ear_model

    ear_model.MODEL_PATH = args.out
    ear_model._session.cache_clear()
    theirs = ear_model.class_posteriors(check.samples)
    print(f"onnxruntime vs numpy: max difference {np.abs(ours - theirs).max():.2e}")
    print_scores(held_out)


if __name__ == "__main__":
    main()
