"""The asset library on PostgreSQL: the same ingest, dedupe, listing and delete as on SQLite."""

from __future__ import annotations

import pytest
from tests.support.pg_database import fresh_pg_url  # noqa: E402

from lipforge.assets.library import (  # noqa: E402
    delete_asset,
    ingest_file,
    list_assets,
    set_transcript,
)
from lipforge.config import Settings  # noqa: E402
from lipforge.db import create_db_engine, migrate, session_factory  # noqa: E402

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_library(tmp_path):
    with fresh_pg_url() as url:
        settings = Settings(data=tmp_path / "data", database_url=url)
        settings.data_dir.ensure()
        migrate(url)
        engine = create_db_engine(url)
        try:
            yield settings, session_factory(engine)
        finally:
            engine.dispose()


def test_ingest_dedupe_list_and_delete_on_postgres(
    pg_library, copy_of, talking_head_512, speech_en_wav
):
    settings, sessions = pg_library
    video = ingest_file(copy_of(talking_head_512, "a.mp4"), "a.mp4", "upload", sessions, settings)
    audio = ingest_file(copy_of(speech_en_wav), "talk.wav", "inbox", sessions, settings)
    again = ingest_file(copy_of(talking_head_512, "b.mp4"), "b.mp4", "upload", sessions, settings)
    assert again.id == video.id
    items, total = list_assets(sessions)
    assert [asset.id for asset in items] == [audio.id, video.id] and total == 2
    assert [a.id for a in list_assets(sessions, kind="video")[0]] == [video.id]
    delete_asset(sessions, settings, video.id)
    assert list_assets(sessions)[1] == 1


def test_an_audio_keeps_its_transcript_on_postgres(pg_library, copy_of, speech_zh_wav):
    settings, sessions = pg_library
    audio = ingest_file(copy_of(speech_zh_wav), "talk.wav", "upload", sessions, settings)
    said = "大家好。今天我们学习月亮和星星。"
    assert set_transcript(sessions, audio.id, said).transcript == said
    assert list_assets(sessions, kind="audio")[0][0].transcript == said
    assert set_transcript(sessions, audio.id, None).transcript is None
