"""The default engine, `meshwarp`: moves the jaw and lips of the tracked face by the audio (CPU).

No weights, no downloads, deterministic, faster than real time. `start` turns the driving
audio into one mouth pose per output frame (`mouthshape`); `process` measures each frame's
mouth from its landmarks, adds it to the running estimate of the video's rest mouth
(`restmouth`) and re-poses it to the absolute target over that rest (`mouthwarp`), so a
presenter who talks in the source does not show through; in a pause the mouth is held still
(`pausehold`). Frames without a face pass through unchanged. The engine holds no per-render
state beyond the pose series, that estimate (a fixed-size histogram) and one held patch.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from lipforge.lipsync.engine import AudioFeatures, FrameBatch, Need, register_engine
from lipforge.lipsync.engines.meshwarp.mouthshape import MouthPoses, mouth_poses
from lipforge.lipsync.engines.meshwarp.mouthwarp import MouthPose, measure_mouth, warp_mouth
from lipforge.lipsync.engines.meshwarp.pausehold import PauseHold
from lipforge.lipsync.engines.meshwarp.restmouth import RestMouthEstimate

SILENT_POSE = MouthPose(opening=0.0, spread=0.0)
# Pauses are held still (`pausehold`) where phones say where they are: a script's or an aligned
# transcript's. From the audio alone a pause is a silence found in the sound; held there, the
# CI face's pauses measured 52 % at rest against 85 % and more unheld (not understood yet).
HELD_PAUSE_SOURCES = ("script", "aligned")


@register_engine
class MeshwarpEngine:
    """Audio-driven jaw and lip warp of the lower face; see the module docstring."""

    name: ClassVar[str] = "meshwarp"
    model_names: ClassVar[tuple[str, ...]] = ()
    needs: ClassVar[frozenset[Need]] = frozenset({Need.MEL, Need.LOUDNESS, Need.PHONES})

    def __init__(self) -> None:
        self._poses: MouthPoses | None = None
        self._rest = RestMouthEstimate()
        self._hold = PauseHold()
        self._hold_pauses = False

    def load(self, models_dir: Path) -> None:
        """Nothing to load: meshwarp needs no weights."""

    def start(self, audio: AudioFeatures) -> None:
        self._poses = mouth_poses(audio)
        self._rest = RestMouthEstimate()
        self._hold = PauseHold()
        self._hold_pauses = audio.phone_source in HELD_PAUSE_SOURCES

    def process(self, batch: FrameBatch) -> list[np.ndarray]:
        if self._poses is None:
            raise RuntimeError("MeshwarpEngine.process called before start(audio)")
        out = []
        for index, frame, landmarks in zip(
            batch.indices, batch.frames, batch.landmarks, strict=True
        ):
            if landmarks is None:
                self._hold.reset()
                out.append(frame)
                continue
            mouth = measure_mouth(landmarks)
            self._rest.add(mouth.gap_fraction, mouth.half_width_px / mouth.face_height_px)
            pose, rest = self.pose_at(int(index)), self._rest.rest()
            warped = warp_mouth(frame, mouth, pose, batch.owned, rest)
            out.append(self._hold.apply(warped, mouth, self._held(int(index))))
        return out

    def pose_at(self, index: int) -> MouthPose:
        """The mouth pose for output frame `index` (closed past the end of the audio)."""
        if self._poses is None or not 0 <= index < len(self._poses.opening):
            return SILENT_POSE
        poses = self._poses
        tuck = 0.0 if poses.tuck is None else float(poses.tuck[index])
        pressed = poses.pressed is not None and bool(poses.pressed[index])
        return MouthPose(float(poses.opening[index]), float(poses.spread[index]), tuck, pressed)

    def _held(self, index: int) -> bool:
        return self._hold_pauses and self.resting_at(index)

    def resting_at(self, index: int) -> bool:
        """Whether output frame `index` lies in a pause (the mouth held at rest)."""
        poses = self._poses
        if poses is None or poses.resting is None or not 0 <= index < len(poses.resting):
            return True
        return bool(poses.resting[index])

    def close(self) -> None:
        self._poses = None
