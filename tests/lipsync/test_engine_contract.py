"""One contract, run against every registered engine: what the pipeline relies on.

Each engine gets a models dir prepared by its entry in `MODEL_SETUPS` (meshwarp needs
nothing; wav2lip gets the tiny ONNX model of `tiny_wav2lip`). A new engine must add its
entry, or `test_every_registered_engine_is_covered` fails. Every engine is started with
only the audio features it declares in `needs` (the others are None, as in a render).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from skimage import data as skdata
from tests.lipsync.audio_input import features
from tests.lipsync.tiny_wav2lip import install_tiny_wav2lip

from lipforge.lipsync.engine import (
    ENGINES,
    AudioFeatures,
    FrameBatch,
    Need,
    create_engine,
    engine_names,
)
from lipforge.lipsync.faces import FaceTracker
from lipforge.media.audio import SAMPLE_RATE

FPS = 25.0
FRAMES = 12
MARK_PX = 8  # a numbered block in the top-left corner, far from the face, shows the order

MODEL_SETUPS: dict[str, Callable[[Path], object]] = {
    "meshwarp": lambda models_dir: None,
    "wav2lip": install_tiny_wav2lip,
}


@pytest.fixture(params=sorted(MODEL_SETUPS))
def engine_name(request) -> str:
    return request.param


@pytest.fixture()
def models_dir(engine_name: str, tmp_path: Path) -> Path:
    directory = tmp_path / "models"
    directory.mkdir()
    MODEL_SETUPS[engine_name](directory)
    return directory


@pytest.fixture(scope="module")
def astronaut_landmarks() -> np.ndarray:
    image = skdata.astronaut()
    tracker = FaceTracker(FPS, "astronaut.png")
    try:
        for index in range(tracker.lookahead_frames + 1):
            tracker.push(index, image)
        results = tracker.flush()
    finally:
        tracker.close()
    return results[-1][1]


def speech_like_audio(frame_count: int, needs: frozenset[Need]) -> AudioFeatures:
    """A voiced buzz switching on and off four times a second: real features, no file.

    Only the features in `needs` are kept, as the pipeline computes only those."""
    t = np.arange(int(frame_count / FPS * SAMPLE_RATE)) / SAMPLE_RATE
    buzz = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 20))
    audio = features(0.2 * buzz * (np.sin(2 * np.pi * 4 * t) > 0), fps=FPS, frames=frame_count)
    return dataclasses.replace(
        audio,
        mel=audio.mel if Need.MEL in needs else None,
        loudness=audio.loudness if Need.LOUDNESS in needs else None,
    )


def numbered_frames(count: int) -> list[np.ndarray]:
    frames = []
    for index in range(count):
        frame = skdata.astronaut().copy()
        frame[:MARK_PX, :MARK_PX] = 10 * index
        frames.append(frame)
    return frames


def run(name: str, models_dir: Path, batches: list[FrameBatch], frames: int) -> list[np.ndarray]:
    engine = create_engine(name)
    engine.load(models_dir)
    try:
        engine.start(speech_like_audio(frames, engine.needs))
        return [frame for batch in batches for frame in engine.process(batch)]
    finally:
        engine.close()


def batches_of(frames: list[np.ndarray], landmarks: list, size: int) -> list[FrameBatch]:
    return [
        FrameBatch(
            indices=np.arange(start, min(start + size, len(frames))),
            frames=frames[start : start + size],
            landmarks=landmarks[start : start + size],
        )
        for start in range(0, len(frames), size)
    ]


def test_every_registered_engine_is_covered():
    assert set(engine_names()) <= set(MODEL_SETUPS)


def test_engine_is_registered_under_its_name(engine_name: str):
    engine = create_engine(engine_name)
    assert type(engine) is ENGINES[engine_name]
    assert engine.name == engine_name
    assert isinstance(engine.model_names, tuple)


def test_engine_declares_the_audio_features_it_reads(engine_name: str):
    needs = create_engine(engine_name).needs
    assert isinstance(needs, frozenset) and needs <= set(Need)


def test_one_frame_out_per_frame_in_same_size_same_order(
    engine_name, models_dir, astronaut_landmarks
):
    frames = numbered_frames(FRAMES)
    out = run(
        engine_name,
        models_dir,
        batches_of(frames, [astronaut_landmarks] * FRAMES, size=5),
        FRAMES,
    )
    assert len(out) == FRAMES
    for index, frame in enumerate(out):
        assert frame.shape == frames[0].shape and frame.dtype == np.uint8
        assert np.all(frame[:MARK_PX, :MARK_PX] == 10 * index)


def test_the_mouth_changes_with_the_audio(engine_name, models_dir, astronaut_landmarks):
    frames = numbered_frames(FRAMES)
    out = run(
        engine_name,
        models_dir,
        batches_of(frames, [astronaut_landmarks] * FRAMES, size=4),
        FRAMES,
    )
    mouth = astronaut_landmarks[[13, 14], :2].mean(axis=0).round().astype(int)
    window = np.s_[mouth[1] - 8 : mouth[1] + 12, mouth[0] - 15 : mouth[0] + 15]
    crops = np.array([frame[window].astype(np.float64) for frame in out])
    assert np.abs(crops - crops.mean(axis=0)).mean() > 2.0, "the mouth is the same in every frame"


def test_frames_without_a_face_come_back_unchanged(engine_name, models_dir, astronaut_landmarks):
    frames = numbered_frames(4)
    landmarks = [astronaut_landmarks, None, None, astronaut_landmarks]
    out = run(engine_name, models_dir, batches_of(frames, landmarks, size=4), 4)
    assert np.array_equal(out[1], frames[1]) and np.array_equal(out[2], frames[2])


def test_input_frames_are_not_modified(engine_name, models_dir, astronaut_landmarks):
    frames = numbered_frames(3)
    copies = [frame.copy() for frame in frames]
    run(engine_name, models_dir, batches_of(frames, [astronaut_landmarks] * 3, size=3), 3)
    assert all(np.array_equal(a, b) for a, b in zip(frames, copies, strict=True))


def test_results_do_not_depend_on_batching_or_instance(
    engine_name, models_dir, astronaut_landmarks
):
    frames = numbered_frames(6)
    landmarks = [astronaut_landmarks] * 6
    first = run(engine_name, models_dir, batches_of(frames, landmarks, size=6), 6)
    second = run(engine_name, models_dir, batches_of(frames, landmarks, size=1), 6)
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))


def test_frames_past_the_end_of_the_audio_are_handled(engine_name, models_dir, astronaut_landmarks):
    frames = numbered_frames(3)
    batch = FrameBatch(
        indices=np.array([FRAMES, FRAMES + 1, FRAMES + 2]),
        frames=frames,
        landmarks=[astronaut_landmarks] * 3,
    )
    out = run(engine_name, models_dir, [batch], FRAMES)
    assert len(out) == 3 and all(f.shape == frames[0].shape for f in out)


def test_an_engine_can_render_again_after_close(engine_name, models_dir, astronaut_landmarks):
    engine = create_engine(engine_name)
    batch = batches_of(numbered_frames(2), [astronaut_landmarks] * 2, size=2)[0]
    for _ in range(2):
        engine.load(models_dir)
        engine.start(speech_like_audio(2, engine.needs))
        assert len(engine.process(batch)) == 2
        engine.close()
