"""The wav2lip engine with a tiny ONNX model of Wav2Lip's signature built in the test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.lipsync.tiny_wav2lip import install_tiny_wav2lip

from lipforge.errors import ModelMissingError
from lipforge.lipsync.engine import AudioFeatures, FrameBatch, create_engine
from lipforge.lipsync.engines.wav2lip.engine import faces_from_output, prepare_faces
from lipforge.lipsync.engines.wav2lip.mel import mel_window

FPS = 25.0


def _ring(cx: float, cy: float, radius: float) -> np.ndarray:
    angles = np.linspace(0, 2 * np.pi, 468, endpoint=False)
    return np.stack([cx + radius * np.cos(angles), cy + radius * np.sin(angles), 0 * angles], 1)


def _audio(frame_count: int, loud_from: int) -> AudioFeatures:
    mel = np.full((80, int(frame_count * 80 / FPS) + 16), -4.0, np.float32)
    mel[:, int(loud_from * 80 / FPS) :] = 4.0
    return AudioFeatures(
        samples=np.zeros(16000, np.float32),
        sample_rate=16000,
        fps=FPS,
        frame_count=frame_count,
        mel=mel,
        loudness=np.zeros(frame_count, np.float32),
    )


@pytest.fixture()
def engine(tmp_path: Path):
    install_tiny_wav2lip(tmp_path / "models")
    instance = create_engine("wav2lip")
    instance.load(tmp_path / "models")
    yield instance
    instance.close()


def test_missing_model_names_the_pull_that_fixes_it(tmp_path: Path):
    engine = create_engine("wav2lip")
    with pytest.raises(ModelMissingError, match="lipforge models pull wav2lip_gan"):
        engine.load(tmp_path / "empty")


def test_another_installed_wav2lip_model_is_used(tmp_path: Path):
    install_tiny_wav2lip(tmp_path / "models", name="wav2lip")
    engine = create_engine("wav2lip")
    engine.load(tmp_path / "models")
    engine.close()


def test_faces_input_is_masked_crop_plus_reference_in_bgr():
    crop = np.zeros((96, 96, 3), np.uint8)
    crop[..., 0] = 255  # pure red in RGB
    faces = prepare_faces([crop])
    assert faces.shape == (1, 6, 96, 96) and faces.dtype == np.float32
    assert faces[0, 2, :48].min() == 1.0 and faces[0, 2, 48:].max() == 0.0  # red is BGR ch 2
    assert faces[0, 5].min() == 1.0 and faces[0, 3].max() == 0.0  # reference unmasked
    back = faces_from_output(faces[:, 3:])
    assert np.array_equal(back[0], crop)


def test_mel_window_steps_and_padding():
    mel = np.tile(np.arange(100, dtype=np.float32), (80, 1))
    window = mel_window(mel, 3, 25.0)
    assert window.shape == (80, 16)
    assert window[0, 0] == int(3 * 80 / 25.0)
    assert mel_window(mel, 7, 29.97)[0, 0] == int(7 * 80 / 29.97)
    tail = mel_window(mel, 29, 25.0)  # starts at step 92: 8 real steps, 8 of silence
    assert tail.shape == (80, 16)
    assert list(tail[0, :8]) == list(range(92, 100))
    assert np.all(tail[:, 8:] == -4.0)


def test_process_pastes_the_model_face_into_the_lower_face_only(engine):
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (240, 320, 3), dtype=np.uint8) for _ in range(6)]
    landmarks = [_ring(160, 120, 50).astype(np.float32) for _ in frames]
    landmarks[5] = None
    engine.start(_audio(6, loud_from=3))
    batch = FrameBatch(np.arange(6), frames, landmarks)
    out = engine.process(batch)
    assert len(out) == 6 and all(o.shape == f.shape for o, f in zip(out, frames, strict=True))
    assert np.array_equal(out[5], frames[5])  # no face: unchanged
    for before, after in zip(frames[:5], out[:5], strict=True):
        changed = np.any(before != after, axis=2)
        assert not changed[:100].any() and changed[140:170, 140:180].mean() > 0.9
    mouth = [o[140:170, 140:180].astype(float).mean() for o in out[:5]]
    # each frame's mel window spans 16 steps (200 ms) from int(i * 80 / fps): it grows louder
    assert mouth[4] > mouth[0] + 50 and all(np.diff(mouth) > -1)


def test_batches_larger_than_the_memory_budget_are_split(engine):
    engine.batch_faces = 2
    frames = [np.full((200, 200, 3), 100, np.uint8) for _ in range(5)]
    engine.start(_audio(5, loud_from=0))
    out = engine.process(FrameBatch(np.arange(5), frames, [_ring(100, 100, 40)] * 5))
    assert len(out) == 5 and all(not np.array_equal(o, f) for o, f in zip(out, frames, strict=True))


@pytest.mark.slow
def test_render_with_wav2lip_end_to_end(tmp_path, speech_en_wav, make_talking_head):
    import av
    from tests.lipsync.mouth_measure import MOUTH_CORNERS, decode_frames, face_landmarks

    from lipforge.lipsync.pipeline import RenderRequest, render
    from lipforge.media.audio import analyse_audio

    with av.open(str(speech_en_wav)) as container:
        stream = container.streams.audio[0]
        speech_s = float(stream.duration * stream.time_base)
    head = make_talking_head(tmp_path / "head.mp4", speech_s + 0.4, (512, 512))
    models_dir = tmp_path / "models"
    install_tiny_wav2lip(models_dir)
    request = RenderRequest(
        audio_path=speech_en_wav,
        video_path=head,
        output_path=tmp_path / "out.mp4",
        engine="wav2lip",
        models_dir=models_dir,
    )
    result = render(request)
    outputs = decode_frames(result.output_path)
    inputs = decode_frames(head)[: len(outputs)]
    assert len(outputs) == result.frame_count > 0
    loudness = analyse_audio(speech_en_wav, FPS, len(outputs)).loudness

    left, right = (face_landmarks(inputs[:1])[0][i] for i in MOUTH_CORNERS)
    x0, x1 = int(left[0]), int(right[0])
    y0, y1 = int(min(left[1], right[1])) - 5, int(max(left[1], right[1])) + 15
    pairs = list(zip(outputs, inputs, strict=True))
    mouth_delta = np.array([o[y0:y1, x0:x1].mean() - i[y0:y1, x0:x1].mean() for o, i in pairs])
    top_delta = np.array([np.abs(o[:100].astype(int) - i[:100]).mean() for o, i in pairs])
    assert top_delta.max() < 3.0  # above the face nothing was touched (codec noise only)
    assert mouth_delta.std() > 3.0
    assert np.corrcoef(mouth_delta, loudness)[0, 1] > 0.5  # the tiny model brightens with speech


def _lipforge(args: list[str], data_dir: Path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "LIPFORGE_DATA": str(data_dir), "COLUMNS": "200"}
    command = [sys.executable, "-c", "from lipforge.cli import main; main()", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)


def test_cli_run_without_the_model_says_which_pull_fixes_it(tmp_path, speech_en_wav, video_only):
    done = _lipforge(
        ["run", "--engine", "wav2lip", "--audio", str(speech_en_wav), "--video", str(video_only),
         "--out", str(tmp_path / "out")],
        tmp_path / "data",
    )  # fmt: skip
    assert done.returncode != 0
    assert "lipforge models pull wav2lip_gan" in done.stdout + done.stderr


@pytest.mark.slow
def test_cli_run_with_wav2lip(tmp_path, speech_en_wav, talking_head_512):
    install_tiny_wav2lip(tmp_path / "data" / "models")
    done = _lipforge(
        ["run", "--engine", "wav2lip", "--audio", str(speech_en_wav), "--video",
         str(talking_head_512), "--out", str(tmp_path / "out")],
        tmp_path / "data",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "out" / f"{talking_head_512.stem}.mp4").stat().st_size > 10_000


@pytest.mark.slow
def test_a_batch_with_wav2lip_runs_on_the_worker(tmp_path, speech_en_wav, talking_head_512):
    import shutil
    import threading
    import time

    from fastapi.testclient import TestClient

    from lipforge.api.app import create_app
    from lipforge.assets.library import ingest_file
    from lipforge.config import Settings
    from lipforge.jobs.worker import Worker
    from lipforge.render.runner import RenderRunner

    settings = Settings(data=tmp_path / "data")
    install_tiny_wav2lip(settings.data_dir.models)
    with TestClient(create_app(settings)) as client:
        sessions = client.app.state.sessions
        ids = []
        for source in (speech_en_wav, talking_head_512):
            copy = tmp_path / source.name
            shutil.copy(source, copy)
            ids.append(ingest_file(copy, source.name, "upload", sessions, settings).id)
        body = {"audio_asset_ids": [ids[0]], "video_asset_ids": [ids[1]], "engine": "wav2lip"}
        batch = client.post("/api/batches", json=body).json()
        stop = threading.Event()
        worker = threading.Thread(
            target=Worker(settings, sessions, run_job=RenderRunner()).run, args=(stop,)
        )
        worker.start()
        try:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                snapshot = client.get(f"/api/batches/{batch['id']}").json()
                if snapshot["status"] not in ("queued", "running"):
                    break
                time.sleep(0.5)
        finally:
            stop.set()
            worker.join(60)
    assert snapshot["status"] == "succeeded", snapshot
    assert any(settings.data_dir.outputs.rglob("*.mp4"))
