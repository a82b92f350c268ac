"""The default engine, `meshwarp`: moves the jaw and lips of the tracked face by the audio (CPU).

No weights, no downloads, deterministic, faster than real time. `start` turns the driving
audio into one mouth pose per output frame (`mouthshape`); `process` measures each frame's
mouth from its landmarks and re-poses it (`mouthwarp`). Where the source's presenter talks,
the frame's lower face is first put back to the video's own rest mouth (`restmouth`: one
kept picture, laid over every frame once the video was seen to talk, and held over the new
speech's pauses), so the new speech alone moves the mouth. Frames without a face pass
through unchanged. The engine holds no per-render state beyond the pose series and that one
rest picture.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from lipforge.lipsync.engine import AudioFeatures, FrameBatch, Need, register_engine
from lipforge.lipsync.engines.meshwarp.mouthshape import MouthPoses, mouth_poses
from lipforge.lipsync.engines.meshwarp.mouthwarp import MouthPose, measure_mouth, warp_mouth
from lipforge.lipsync.engines.meshwarp.restmouth import RestMouth

SILENT_POSE = MouthPose(opening=0.0, spread=0.0)


@register_engine
class MeshwarpEngine:
    """Audio-driven jaw and lip warp of the lower face; see the module docstring."""

    name: ClassVar[str] = "meshwarp"
    model_names: ClassVar[tuple[str, ...]] = ()
    needs: ClassVar[frozenset[Need]] = frozenset({Need.MEL, Need.LOUDNESS, Need.PHONES})

    def __init__(self) -> None:
        self._poses: MouthPoses | None = None
        self._rest = RestMouth()

    def load(self, models_dir: Path) -> None:
        """Nothing to load: meshwarp needs no weights."""

    def start(self, audio: AudioFeatures) -> None:
        self._poses = mouth_poses(audio)
        self._rest = RestMouth()

    def process(self, batch: FrameBatch) -> list[np.ndarray]:
        if self._poses is None:
            raise RuntimeError("MeshwarpEngine.process called before start(audio)")
        out = []
        for index, frame, landmarks in zip(
            batch.indices, batch.frames, batch.landmarks, strict=True
        ):
            if landmarks is None:
                out.append(frame)
                continue
            pose = self.pose_at(int(index))
            if not batch.owned:
                frame = frame.copy()
            frame, landmarks = self._rest.apply(frame, landmarks, self.resting_at(int(index)))
            pose = self._rest.pose(pose)
            out.append(warp_mouth(frame, measure_mouth(landmarks), pose, in_place=True))
        return out

    def pose_at(self, index: int) -> MouthPose:
        """The mouth pose for output frame `index` (closed past the end of the audio)."""
        if self._poses is None or not 0 <= index < len(self._poses.opening):
            return SILENT_POSE
        poses = self._poses
        tuck = 0.0 if poses.tuck is None else float(poses.tuck[index])
        pressed = poses.pressed is not None and bool(poses.pressed[index])
        return MouthPose(float(poses.opening[index]), float(poses.spread[index]), tuck, pressed)

    def resting_at(self, index: int) -> bool:
        """Whether output frame `index` lies in a pause of the new speech (the mouth at rest)."""
        poses = self._poses
        if poses is None or poses.resting is None or not 0 <= index < len(poses.resting):
            return True
        return bool(poses.resting[index])

    def close(self) -> None:
        self._poses = None
