"""The `Engine` protocol every lip-sync engine implements, and the registry of engines by name.

An engine turns batches of video frames (with their tracked face landmarks and the
audio features for each frame) into the same number of output frames. It checks its
weights in `load` before any frame is decoded, keeps its sessions for the whole
render, and frees them in `close`. Each engine declares in `needs` which audio features
(`Need`) it reads; the pipeline computes only those (finding the phones, the costliest,
runs only for an engine that asks for them). Engines register by name
with `@register_engine`; nothing else in the code branches on an engine's name. This
module holds no engine; the engines live in `lipsync/engines/<name>/`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import ClassVar, Protocol

import numpy as np

from lipforge.errors import ConfigError
from lipforge.media.audio import AudioFeatures

__all__ = [
    "ENGINES",
    "AudioFeatures",
    "Engine",
    "FrameBatch",
    "Need",
    "create_engine",
    "engine_names",
    "register_engine",
]


class Need(Enum):
    """A feature of the driving audio an engine reads; what it does not need is None."""

    MEL = "mel"  # AudioFeatures.mel: Wav2Lip's log-mel spectrogram
    LOUDNESS = "loudness"  # AudioFeatures.loudness: the per-frame loudness envelope
    PHONES = "phones"  # AudioFeatures.phones: from the script, an aligned transcript or the ear


@dataclass(frozen=True)
class FrameBatch:
    """Consecutive frames of one render, all of the same size."""

    indices: np.ndarray  # (B,) output frame numbers
    frames: list[np.ndarray]  # B x (H, W, 3) uint8 RGB, rotation already applied
    # B x (468, 3) float32 pixels (x, y, z), smoothed; None where no face was tracked
    landmarks: list[np.ndarray | None]
    # True when the caller hands the frames over: an engine may then write its output into
    # them instead of copying (the pipeline's decoded frames are read by nobody afterwards)
    owned: bool = False


class Engine(Protocol):
    """What the pipeline needs of an engine."""

    name: ClassVar[str]
    model_names: ClassVar[tuple[str, ...]]  # registry names of the weights it needs; () = none
    needs: ClassVar[frozenset[Need]]  # the audio features `start` reads; the rest are None

    def load(self, models_dir: Path) -> None:
        """Open sessions; raise ModelMissingError (naming the pull) if weights are absent."""

    def start(self, audio: AudioFeatures) -> None:
        """Prepare for one render driven by `audio`."""

    def process(self, batch: FrameBatch) -> list[np.ndarray]:
        """Return one RGB uint8 frame per input frame, same size, same order."""

    def close(self) -> None:
        """Free sessions and buffers."""


ENGINES: dict[str, Callable[[], Engine]] = {}


def register_engine(cls: type) -> type:
    ENGINES[cls.name] = cls
    return cls


def create_engine(name: str) -> Engine:
    _import_builtin_engines()
    try:
        return ENGINES[name]()
    except KeyError:
        known = ", ".join(sorted(ENGINES))
        raise ConfigError(f"Unknown engine {name!r}. Choose one of: {known}.") from None


def engine_names() -> list[str]:
    _import_builtin_engines()
    return sorted(ENGINES)


def _import_builtin_engines() -> None:
    """Import every engine room under `lipsync/engines/` (each registers itself on import)."""
    import importlib
    import pkgutil

    from lipforge.lipsync import engines

    for room in pkgutil.iter_modules(engines.__path__):
        module = f"{engines.__name__}.{room.name}.engine"
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
