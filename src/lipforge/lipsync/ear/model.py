"""The ear's model: log-mel features and per-frame mouth-class posteriors from `ear.onnx`.

`features(samples)` is the one front end of training and inference: Wav2Lip's 80-band mel
(`media.audio.melspectrogram`, 80 steps per second) pooled to 40 bands, with the clip's loud
level subtracted (so the gain of a recording does not matter), padded at both ends by the
model's context. `class_posteriors(samples)` runs the ONNX graph (a 1-D convolution over
+-`CONTEXT_STEPS` mel steps, then two per-frame layers, softmax over `CLASSES`) on
onnxruntime's CPU provider and returns one row per mel step. The session is built once per
process and is safe to share between threads.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from lipforge.media.audio import MEL_STEPS_PER_S, SAMPLE_RATE, melspectrogram

MODEL_PATH = Path(__file__).with_name("ear.onnx")
CLASSES = ("rest", "shut", "labiodental", "rounded", "spread", "open", "neutral")
CLASS_SYMBOLS = {  # IPA read through the viseme table like any phone
    "shut": "b",
    "labiodental": "f",
    "rounded": "u",
    "spread": "i",
    "open": "a",
    "neutral": "ə",
}
STEPS_PER_S = MEL_STEPS_PER_S  # 80 posterior rows per second of audio
BANDS = 40
CONTEXT_STEPS = 12  # the model sees +-12 mel steps (+-150 ms) around each frame
LOUD_PERCENTILE = 95.0  # this level of the clip's frame peaks becomes 0 in the features
INPUT_NAME = "logmel"

_lock = threading.Lock()


def features(samples: np.ndarray) -> np.ndarray:
    """(BANDS, steps + 2 * CONTEXT_STEPS) float32 features of 16 kHz mono samples."""
    mel = melspectrogram(np.asarray(samples, np.float32))
    steps = mel.shape[1]
    pooled = mel.reshape(BANDS, mel.shape[0] // BANDS, steps).mean(axis=1)
    loud = np.percentile(pooled.max(axis=0), LOUD_PERCENTILE) if steps else 0.0
    pooled = pooled - loud
    padded = np.pad(pooled, ((0, 0), (CONTEXT_STEPS, CONTEXT_STEPS)), mode="edge")
    return padded.astype(np.float32)


@lru_cache(maxsize=1)
def _session():
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(
        str(MODEL_PATH), sess_options=options, providers=["CPUExecutionProvider"]
    )


def class_posteriors(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """(steps, len(CLASSES)) class probabilities, one row per 1/80 s of the audio."""
    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"the ear needs {SAMPLE_RATE} Hz samples, got {sample_rate}")
    inputs = features(samples)[None]
    with _lock:
        session = _session()
    (probabilities,) = session.run(None, {INPUT_NAME: inputs})
    return probabilities[0].T
