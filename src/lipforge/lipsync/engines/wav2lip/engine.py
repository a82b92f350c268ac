"""The `wav2lip` engine: Wav2Lip-family ONNX models on onnxruntime (CUDA when present, else CPU).

Per frame: the face is cropped from the tracked landmarks (`facecrop`), resized to
96x96, its lower half blanked and stacked with the unmasked crop as the reference
(6 channels, BGR as the model was trained, /255); the audio is the frame's (80, 16) mel
window. The model's (3, 96, 96) answer is pasted back with a feathered lower-face mask.
Input names are read from the session, never assumed. Weights come from the registry:
`wav2lip_gan` if installed, else any other registry model of engine `wav2lip`;
`load` fails before any frame, naming `lipforge models pull wav2lip_gan`, when none is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import psutil

from lipforge.errors import ModelMissingError
from lipforge.lipsync.engine import AudioFeatures, FrameBatch, Need, register_engine
from lipforge.lipsync.engines.wav2lip.facecrop import (
    BoxSmoother,
    CropBox,
    crop_face,
    face_box,
    paste_face,
)
from lipforge.lipsync.engines.wav2lip.mel import mel_window
from lipforge.weights.registry import engine_model

FACE_SIZE_PX = 96
MEL_SHAPE = (80, 16)
MAX_BATCH_FACES = 64
MEMORY_SHARE = 0.25  # of the available RAM a batch may use
WORKING_BYTES_PER_FACE = 48 * 1024 * 1024  # an estimate of the generator activations per face
PREFERRED_PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")


@dataclass(frozen=True)
class ModelInputs:
    """The session's input and output names, found by their shapes."""

    mel: str
    faces: str
    output: str


def find_inputs(session) -> ModelInputs:
    """Match the session's inputs to mel (B,1,80,16) and faces (B,6,96,96) by shape."""
    mel = faces = None
    for node in session.get_inputs():
        dims = [d if isinstance(d, int) else None for d in node.shape]
        if len(dims) == 4 and dims[1] == 6:
            faces = node.name
        elif len(dims) == 4 and dims[1] == 1:
            mel = node.name
    if mel is None or faces is None or len(session.get_inputs()) != 2:
        shapes = [(n.name, n.shape) for n in session.get_inputs()]
        raise ModelMissingError(
            f"This ONNX model's inputs {shapes} are not Wav2Lip's (mel (B,1,80,16), faces "
            "(B,6,96,96)). Pull a Wav2Lip export: lipforge models pull wav2lip_gan"
        )
    return ModelInputs(mel, faces, session.get_outputs()[0].name)


def batch_size_for_memory(available_bytes: int) -> int:
    fit = int(available_bytes * MEMORY_SHARE // WORKING_BYTES_PER_FACE)
    return max(1, min(MAX_BATCH_FACES, fit))


def prepare_faces(crops_rgb: list[np.ndarray]) -> np.ndarray:
    """(B,6,96,96) float32: masked crop + reference crop, BGR, /255."""
    bgr = np.stack(crops_rgb)[..., ::-1].astype(np.float32) / 255.0
    masked = bgr.copy()
    masked[:, FACE_SIZE_PX // 2 :] = 0.0
    return np.concatenate([masked, bgr], axis=3).transpose(0, 3, 1, 2).copy()


def faces_from_output(output: np.ndarray) -> list[np.ndarray]:
    """(B,3,96,96) BGR in [0,1] -> B RGB uint8 images."""
    images = np.clip(output.transpose(0, 2, 3, 1) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return [image[..., ::-1].copy() for image in images]


@register_engine
class Wav2LipEngine:
    """Wav2Lip GAN on the lower face; see the module docstring."""

    name: ClassVar[str] = "wav2lip"
    model_names: ClassVar[tuple[str, ...]] = ("wav2lip_gan",)
    needs: ClassVar[frozenset[Need]] = frozenset({Need.MEL})

    def __init__(self) -> None:
        self._session = None
        self._inputs: ModelInputs | None = None
        self._audio: AudioFeatures | None = None
        self._smoother = BoxSmoother()
        self.batch_faces = 1

    def load(self, models_dir: Path) -> None:
        import onnxruntime as ort

        model_path = engine_model(models_dir, self.name, self.model_names[0])[0]
        available = ort.get_available_providers()
        providers = [p for p in PREFERRED_PROVIDERS if p in available]
        self._session = ort.InferenceSession(str(model_path), providers=providers)
        self._inputs = find_inputs(self._session)
        self.batch_faces = batch_size_for_memory(psutil.virtual_memory().available)

    def start(self, audio: AudioFeatures) -> None:
        self._audio = audio
        self._smoother = BoxSmoother()

    def process(self, batch: FrameBatch) -> list[np.ndarray]:
        if self._session is None or self._audio is None:
            raise RuntimeError("Wav2LipEngine.process called before load() and start()")
        out = list(batch.frames)
        boxes, crops, mels, positions = [], [], [], []
        for position, (index, frame, landmarks) in enumerate(
            zip(batch.indices, batch.frames, batch.landmarks, strict=True)
        ):
            if landmarks is None:
                continue
            box = self._smoother.smooth(face_box(landmarks, frame.shape), frame.shape)
            boxes.append(box)
            crops.append(crop_face(frame, box, FACE_SIZE_PX))
            mels.append(mel_window(self._audio.mel, int(index), self._audio.fps))
            positions.append(position)
        faces = self._infer(crops, mels)
        for position, box, face in zip(positions, boxes, faces, strict=True):
            out[position] = paste_face(out[position], box, face)
        return out

    def _infer(self, crops: list[np.ndarray], mels: list[np.ndarray]) -> list[np.ndarray]:
        results: list[np.ndarray] = []
        start = 0
        while start < len(crops):
            stop = start + self.batch_faces
            try:
                results.extend(self._run(crops[start:stop], mels[start:stop]))
            except Exception as exc:  # onnxruntime raises its own RuntimeException types
                if self.batch_faces == 1 or "alloc" not in str(exc).lower():
                    raise
                self.batch_faces //= 2
                continue
            start = stop
        return results

    def _run(self, crops: list[np.ndarray], mels: list[np.ndarray]) -> list[np.ndarray]:
        feed = {
            self._inputs.faces: prepare_faces(crops),
            self._inputs.mel: np.stack(mels)[:, None].astype(np.float32),
        }
        (output,) = self._session.run([self._inputs.output], feed)
        return faces_from_output(output)

    def close(self) -> None:
        self._session = None
        self._audio = None


__all__ = ["CropBox", "Wav2LipEngine", "find_inputs", "prepare_faces", "faces_from_output"]
