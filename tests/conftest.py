"""Shared fixtures: generated test media, made once per test session under a tmp dir.

Clip fixtures are short (2 s) so tests stay fast on 2 cores; make your own with the
`make_talking_head` / `make_speech` fixtures (the functions of `tests/support/media_factory.py`).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from skimage import data as skdata

from lipforge.config import Settings  # noqa: E402
from tests.support import media_factory as factory  # noqa: E402
from tests.support.database import migrated_sessions  # noqa: E402

CLIP_S = 2.0


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """An empty data dir on SQLite."""
    settings = Settings(data=tmp_path / "data")
    settings.data_dir.ensure()
    return settings


@pytest.fixture
def sessions(settings: Settings):
    """A session factory on the data dir's freshly migrated database."""
    with migrated_sessions(settings.effective_database_url) as factory_:
        yield factory_


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def make_talking_head():
    return factory.make_talking_head


@pytest.fixture(scope="session")
def make_speech():
    return factory.make_speech


@pytest.fixture(scope="session")
def talking_head_512(media_dir: Path) -> Path:
    return factory.make_talking_head(media_dir / "head_512.mp4", CLIP_S, (512, 512))


@pytest.fixture(scope="session")
def talking_head_720(media_dir: Path) -> Path:
    return factory.make_talking_head(media_dir / "head_720.mp4", CLIP_S, (1280, 720))


@pytest.fixture(scope="session")
def talking_head_rotated(media_dir: Path) -> Path:
    """Displayed as 360x640 portrait; stored as 640x360 with a 90° display matrix."""
    return factory.make_talking_head(media_dir / "head_rot90.mp4", CLIP_S, (360, 640), rotation=90)


@pytest.fixture(scope="session")
def speech_en_wav(media_dir: Path) -> Path:
    return factory.make_speech(media_dir / "speech_en.wav", factory.TEXT_EN, "en-us")


@pytest.fixture(scope="session")
def speech_zh_wav(media_dir: Path) -> Path:
    return factory.make_speech(media_dir / "speech_zh.wav", factory.TEXT_ZH, "cmn")


@pytest.fixture(scope="session")
def speech_m4a(media_dir: Path, speech_en_wav: Path) -> Path:
    samples, rate = factory.read_wav(speech_en_wav)
    return factory.write_audio(media_dir / "speech_en.m4a", samples, rate)


@pytest.fixture(scope="session")
def broken_truncated(media_dir: Path, talking_head_512: Path) -> Path:
    return factory.make_truncated(talking_head_512, media_dir / "truncated.mp4")


@pytest.fixture(scope="session")
def broken_garbage(media_dir: Path) -> Path:
    return factory.make_garbage(media_dir / "garbage.mp4")


@pytest.fixture(scope="session")
def audio_only(media_dir: Path, speech_en_wav: Path) -> Path:
    """An .mp4 holding only an AAC track."""
    samples, rate = factory.read_wav(speech_en_wav)
    return factory.write_audio(media_dir / "audio_only.mp4", samples, rate)


@pytest.fixture(scope="session")
def video_only(talking_head_512: Path) -> Path:
    """An .mp4 holding only a video track (the 512 talking head has no audio)."""
    return talking_head_512


@pytest.fixture(scope="session")
def no_face_video(media_dir: Path) -> Path:
    return factory.make_still_video(media_dir / "coffee.mp4", skdata.coffee(), CLIP_S)
