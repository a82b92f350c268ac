"""The asset library: probe, hash, dedupe by sha256, server-chosen names, delete."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select

from lipforge.assets.library import asset_path, delete_asset, get_asset, ingest_file
from lipforge.assets.table import Asset
from lipforge.errors import MediaError, NotFoundError


def count_rows(sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Asset))


def test_a_video_becomes_an_asset_moved_under_a_server_name(
    settings, sessions, copy_of, talking_head_512
):
    source = copy_of(talking_head_512, "Teacher One.MP4")
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    asset = ingest_file(source, "Teacher One.MP4", "upload", sessions, settings)
    stored = asset_path(settings, asset)
    assert not source.exists()
    assert stored.parent == settings.data_dir.assets
    assert stored.name == f"{asset.id}.mp4"
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == digest == asset.sha256
    assert (asset.kind, asset.width, asset.height, asset.fps) == ("video", 512, 512, 25.0)
    assert asset.original_name == "Teacher One.MP4" and asset.source == "upload"
    assert asset.duration_s == pytest.approx(2.0, abs=0.1)
    assert get_asset(sessions, asset.id).sha256 == digest


def test_audio_becomes_an_audio_asset(settings, sessions, copy_of, speech_en_wav):
    asset = ingest_file(copy_of(speech_en_wav), "lecture.wav", "inbox", sessions, settings)
    assert asset.kind == "audio" and asset.width is None and asset.fps is None
    assert asset.has_audio and asset.duration_s > 0.5


def test_same_bytes_twice_give_the_same_asset_and_one_file(
    settings, sessions, copy_of, talking_head_512
):
    first = ingest_file(copy_of(talking_head_512, "a.mp4"), "a.mp4", "upload", sessions, settings)
    again = copy_of(talking_head_512, "b.mp4")
    second = ingest_file(again, "王老师.mp4", "upload", sessions, settings)
    assert second.id == first.id
    assert not again.exists()
    assert count_rows(sessions) == 1
    assert len(list(settings.data_dir.assets.iterdir())) == 1
    # the name the user gave this time wins: outputs are named after it
    assert second.original_name == "王老师.mp4" == get_asset(sessions, first.id).original_name


def test_a_duplicate_restores_a_missing_stored_file(settings, sessions, copy_of, talking_head_512):
    first = ingest_file(copy_of(talking_head_512), "a.mp4", "upload", sessions, settings)
    asset_path(settings, first).unlink()
    ingest_file(copy_of(talking_head_512), "a.mp4", "upload", sessions, settings)
    assert asset_path(settings, first).exists()


def test_refused_media_raises_the_reason_and_leaves_the_file(
    settings, sessions, copy_of, broken_garbage
):
    source = copy_of(broken_garbage)
    with pytest.raises(MediaError) as caught:
        ingest_file(source, "garbage.mp4", "upload", sessions, settings)
    assert "garbage.mp4" in str(caught.value)
    assert source.exists() and count_rows(sessions) == 0
    assert list(settings.data_dir.assets.iterdir()) == []


def test_a_client_name_never_places_a_file(settings, sessions, copy_of, talking_head_512):
    hostile = "../../../etc/cron.d/evil.mp4"
    asset = ingest_file(copy_of(talking_head_512), hostile, "upload", sessions, settings)
    assert asset.original_name == "evil.mp4"
    assert asset_path(settings, asset).parent == settings.data_dir.assets
    assert asset.id in asset_path(settings, asset).name


def test_a_name_without_a_usable_extension_gets_one_from_the_container(
    settings, sessions, copy_of, talking_head_512
):
    asset = ingest_file(copy_of(talking_head_512), "clip.<script>", "upload", sessions, settings)
    assert asset_path(settings, asset).suffix in {".mov", ".mp4"}


def test_delete_removes_row_and_file(settings, sessions, copy_of, talking_head_512):
    asset = ingest_file(copy_of(talking_head_512), "a.mp4", "upload", sessions, settings)
    stored = asset_path(settings, asset)
    delete_asset(sessions, settings, asset.id)
    assert not stored.exists()
    with pytest.raises(NotFoundError, match=asset.id):
        get_asset(sessions, asset.id)
