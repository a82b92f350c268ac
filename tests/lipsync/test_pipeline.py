"""render(): the streaming pipeline end to end with the real meshwarp engine and real files."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import av
import numpy as np
import pytest
from tests.support import media_factory as factory

from lipforge.errors import (
    CancelledError,
    ConfigError,
    CorruptMediaError,
    LipforgeError,
    NoAudioStreamError,
    NoFaceError,
    NotMediaError,
    NoVideoStreamError,
)
from lipforge.lipsync.engine import ENGINES, Need
from lipforge.lipsync.pipeline import RenderRequest, render
from lipforge.media.audio import load_audio


@pytest.fixture(scope="module")
def short_speech(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("speech") / "short.wav"
    return factory.make_speech(path, factory.TEXT_SHORT, "en-us")


def _audio_s(path: Path) -> float:
    return len(load_audio(path)) / 16000


def _output(path: Path) -> dict:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video)]
        container.seek(0)
        rotation = next(container.decode(video)).rotation
        return {
            "codecs": (video.codec_context.name, container.streams.audio[0].codec_context.name),
            "pix_fmt": video.codec_context.pix_fmt,
            "size": (video.width, video.height),
            "fps": float(video.average_rate),
            "frames": frames,
            "rotation": rotation,
            "duration_s": container.duration / 1e6,
        }


def _request(audio: Path, video: Path, out_dir: Path, **kw) -> RenderRequest:
    return RenderRequest(audio, video, out_dir / f"{video.stem}.mp4", **kw)


def test_output_streams_size_and_duration(tmp_path, short_speech, talking_head_512):
    progress: list[tuple[int, int]] = []
    request = _request(short_speech, talking_head_512, tmp_path)
    result = render(request, lambda done, total: progress.append((done, total)))
    out = _output(result.output_path)
    assert out["codecs"] == ("h264", "aac")
    assert out["pix_fmt"] == "yuv420p"
    assert out["size"] == (512, 512) == (result.width, result.height)
    assert out["fps"] == 25.0 == result.fps
    assert len(out["frames"]) == result.frame_count
    audio_s = _audio_s(short_speech)
    assert abs(out["duration_s"] - audio_s) <= 1 / 25
    assert abs(result.frame_count / 25 - audio_s) <= 1 / 25
    done = [d for d, _ in progress]
    assert done == sorted(done) and progress[-1] == (result.frame_count, result.frame_count)
    assert [p.name for p in tmp_path.iterdir()] == [result.output_path.name]


def test_engine_changes_the_mouth_only(tmp_path, short_speech, talking_head_512):
    result = render(_request(short_speech, talking_head_512, tmp_path))
    with av.open(str(talking_head_512)) as container:
        source = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    rendered = _output(result.output_path)["frames"]
    diffs = [np.abs(r.astype(int) - s.astype(int)) for r, s in zip(rendered, source, strict=False)]
    top = np.mean([d[:150].mean() for d in diffs])  # hair and forehead: untouched
    face = np.max([d[150:300, 180:340].mean() for d in diffs])  # mouth and chin: moved
    assert top < 2.0
    assert face > 3 * top + 1.0


def test_rotated_video_comes_out_upright(tmp_path, short_speech, talking_head_rotated):
    result = render(_request(short_speech, talking_head_rotated, tmp_path))
    out = _output(result.output_path)
    assert out["size"] == (360, 640)
    assert out["rotation"] == 0
    bottom = out["frames"][0][-60:].mean(axis=(0, 1))
    assert bottom[0] > bottom[2] + 40  # her orange suit is at the bottom


@pytest.mark.slow
def test_720p_loop_covers_long_audio(tmp_path, speech_en_wav, talking_head_720):
    result = render(_request(speech_en_wav, talking_head_720, tmp_path, fit="loop"))
    out = _output(result.output_path)
    assert out["size"] == (1280, 720)
    assert abs(out["duration_s"] - _audio_s(speech_en_wav)) <= 1 / 25
    assert _audio_s(speech_en_wav) > 4.0  # longer than the 2 s clip: it looped


def test_trim_ends_with_the_video(tmp_path, speech_en_wav, talking_head_rotated):
    result = render(_request(speech_en_wav, talking_head_rotated, tmp_path, fit="trim"))
    out = _output(result.output_path)
    assert result.frame_count == len(out["frames"]) == 50
    assert out["duration_s"] == pytest.approx(2.0, abs=1 / 25)


def test_variable_frame_rate_input_gives_constant_output(tmp_path, short_speech):
    clip = factory.make_vfr_talking_head(tmp_path / "vfr.mp4", 2.0, (512, 512))
    result = render(_request(short_speech, clip, tmp_path / "out"))
    with av.open(str(result.output_path)) as container:
        stream = container.streams.video[0]
        pts = [p.pts for p in container.demux(stream) if p.size]
    gaps = set(np.diff(sorted(pts)).tolist())
    assert len(gaps) == 1, f"output frame gaps vary: {sorted(gaps)}"
    assert result.fps == pytest.approx(25.0, abs=0.3)
    assert any("variable frame rate" in w for w in result.warnings)


def test_no_face_names_the_file_and_leaves_nothing(tmp_path, short_speech, no_face_video):
    out_dir = tmp_path / "out"
    with pytest.raises(NoFaceError, match=r"coffee\.mp4.*0 s"):
        render(_request(short_speech, no_face_video, out_dir, face_search_s=1.0))
    assert not out_dir.exists() or list(out_dir.iterdir()) == []


def test_cancel_removes_the_partial_file(tmp_path, speech_en_wav, talking_head_512):
    seen: list[int] = []

    def should_cancel() -> bool:
        return bool(seen) and seen[-1] >= 16

    with pytest.raises(CancelledError, match="head_512.mp4"):
        render(
            _request(speech_en_wav, talking_head_512, tmp_path),
            on_progress=lambda done, total: seen.append(done),
            should_cancel=should_cancel,
        )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("audio", "video", "error", "name"),
    [
        ("short_speech", "broken_truncated", CorruptMediaError, "truncated.mp4"),
        ("short_speech", "broken_garbage", NotMediaError, "garbage.mp4"),
        ("short_speech", "audio_only", NoVideoStreamError, "audio_only.mp4"),
        ("video_only", "talking_head_512", NoAudioStreamError, "head_512.mp4"),
        ("broken_garbage", "talking_head_512", NotMediaError, "garbage.mp4"),
    ],
)
def test_broken_inputs_fail_with_their_reason(request, tmp_path, audio, video, error, name):
    audio_path, video_path = request.getfixturevalue(audio), request.getfixturevalue(video)
    with pytest.raises(error, match=name.replace(".", r"\.")):
        render(_request(audio_path, video_path, tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_unknown_engine(tmp_path, short_speech, talking_head_512):
    with pytest.raises(ConfigError, match="'nope'.*meshwarp"):
        render(_request(short_speech, talking_head_512, tmp_path, engine="nope"))


class _CrashOnSecondBatch:
    """A broken engine, to see a crash inside a worker thread reach the caller cleanly."""

    name = "test-crash"
    model_names = ()
    needs = frozenset()

    def load(self, models_dir: Path) -> None:
        self.batches = 0

    def start(self, audio) -> None:
        pass

    def process(self, batch):
        self.batches += 1
        if self.batches == 2:
            raise RuntimeError("boom")
        return batch.frames

    def close(self) -> None:
        pass


@pytest.fixture
def test_engines():
    """Registers this module's engines for one test only, so no other suite sees them."""
    added = {cls.name: cls for cls in (_CrashOnSecondBatch, _RecordLandmarks, _RecordAudio)}
    ENGINES.update(added)
    yield
    for name in added:
        ENGINES.pop(name, None)


@pytest.mark.usefixtures("test_engines")
def test_engine_crash_names_the_file_and_stops_every_thread(
    tmp_path, short_speech, talking_head_512
):
    before = threading.active_count()
    with pytest.raises(LipforgeError, match=r"head_512\.mp4.*test-crash.*boom"):
        render(_request(short_speech, talking_head_512, tmp_path, engine="test-crash"))
    assert list(tmp_path.iterdir()) == []
    assert threading.active_count() == before


def test_unwritable_output_is_a_plain_error(tmp_path, short_speech, talking_head_512):
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("a file where the output folder should be")
    with pytest.raises(LipforgeError, match=r"Writing .*not_a_dir.*failed"):
        render(RenderRequest(short_speech, talking_head_512, blocker / "out.mp4"))


class _RecordLandmarks:
    """Passes frames through and remembers the landmarks it was given, by output frame."""

    name = "test-record"
    model_names = ()
    needs = frozenset()
    seen: dict[int, np.ndarray | None] = {}

    def load(self, models_dir: Path) -> None:
        _RecordLandmarks.seen = {}

    def start(self, audio) -> None:
        pass

    def process(self, batch):
        for index, landmarks in zip(batch.indices, batch.landmarks, strict=True):
            _RecordLandmarks.seen[int(index)] = landmarks
        return batch.frames

    def close(self) -> None:
        pass


@pytest.mark.usefixtures("test_engines")
@pytest.mark.parametrize("fit", ["pingpong", "loop"])
def test_repeated_frames_reuse_the_first_pass_landmarks(tmp_path, speech_en_wav, fit, request):
    from lipforge.media.video import fit_index

    clip = request.getfixturevalue("talking_head_rotated")  # 50 frames; the speech is longer
    result = render(_request(speech_en_wav, clip, tmp_path, engine="test-record", fit=fit))
    seen = _RecordLandmarks.seen
    assert sorted(seen) == list(range(result.frame_count)) and result.frame_count > 100
    for index in range(50, result.frame_count):
        source = fit_index(index, 50, fit)
        assert seen[source] is not None
        np.testing.assert_array_equal(seen[index], seen[source])


class _RecordAudio:
    """Passes frames through and keeps the audio features the pipeline started it with."""

    name = "test-audio"
    model_names = ()
    needs: frozenset[Need] = frozenset()
    heard = None

    def load(self, models_dir: Path) -> None:
        _RecordAudio.heard = None

    def start(self, audio) -> None:
        _RecordAudio.heard = audio

    def process(self, batch):
        return batch.frames

    def close(self) -> None:
        pass


@pytest.fixture
def phone_searches(monkeypatch) -> list[int]:
    """The real phone source, counted: one entry (the samples' length) per search."""
    from lipforge.lipsync import phonesource

    calls: list[int] = []
    real = phonesource.find_phones

    def counted(samples, timing):
        calls.append(len(samples))
        return real(samples, timing)

    monkeypatch.setattr(phonesource, "find_phones", counted)
    return calls


@pytest.mark.usefixtures("test_engines")
@pytest.mark.parametrize(
    "needs", [frozenset(), frozenset({Need.MEL}), frozenset(Need)], ids=["none", "mel", "all"]
)
def test_the_engine_gets_the_audio_features_it_needs_and_no_others(
    tmp_path, short_speech, talking_head_512, needs, monkeypatch, phone_searches
):
    monkeypatch.setattr(_RecordAudio, "needs", needs)
    render(_request(short_speech, talking_head_512, tmp_path, engine="test-audio"))
    heard = _RecordAudio.heard
    assert heard.samples.size == len(load_audio(short_speech))
    assert (heard.mel is not None) == (Need.MEL in needs)
    assert (heard.loudness is not None) == (Need.LOUDNESS in needs)
    assert (heard.phones is not None, bool(heard.phone_source)) == (Need.PHONES in needs,) * 2
    assert len(phone_searches) == (Need.PHONES in needs)


@pytest.mark.parametrize("engine, searches", [("meshwarp", 1), ("wav2lip", 0)])
def test_phones_are_found_only_for_an_engine_that_reads_them(
    tmp_path, short_speech, talking_head_512, engine, searches, phone_searches
):
    from tests.lipsync.tiny_wav2lip import install_tiny_wav2lip

    models_dir = tmp_path / "models"
    install_tiny_wav2lip(models_dir)
    request = _request(short_speech, talking_head_512, tmp_path, engine=engine)
    result = render(dataclasses.replace(request, models_dir=models_dir))
    assert result.frame_count > 0
    assert len(phone_searches) == searches


def test_browser_recording_drives_itself(tmp_path):
    webm = factory.make_browser_webm(tmp_path / "recording.webm", 2.0, (512, 512))
    result = render(RenderRequest(webm, webm, tmp_path / "out" / "recording.mp4"))
    out = _output(result.output_path)
    assert out["codecs"] == ("h264", "aac")
    assert result.frame_count == len(out["frames"]) == 50
    assert out["duration_s"] == pytest.approx(2.0, abs=1 / 25)
