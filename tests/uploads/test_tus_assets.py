"""Finished uploads become assets (or are refused with the media layer's reason)."""

from __future__ import annotations

from lipforge.uploads.protocol import tus_context

from .conftest import TUS
from .helpers import asset_sha256, send_file, sha256_of, wait_for_result


def test_uploaded_video_becomes_an_asset_shown_on_head_and_get(api, talking_head_512):
    url = send_file(api, talking_head_512)
    status = wait_for_result(api, url)
    assert status["state"] == "done", status
    assert status["offset_bytes"] == talking_head_512.stat().st_size
    head = api.head(url, headers=TUS)
    assert head.headers["Upload-Asset-Id"] == status["asset_id"]
    asset = api.get(f"/api/assets/{status['asset_id']}").json()
    assert asset["kind"] == "video"
    assert asset["original_name"] == "head_512.mp4"
    assert asset_sha256(api, status["asset_id"]) == sha256_of(talking_head_512)


def test_uploaded_audio_becomes_an_audio_asset(api, speech_en_wav):
    status = wait_for_result(api, send_file(api, speech_en_wav))
    assert status["state"] == "done", status
    assert api.get(f"/api/assets/{status['asset_id']}").json()["kind"] == "audio"


def test_same_bytes_twice_give_the_same_asset(api, talking_head_512):
    first = wait_for_result(api, send_file(api, talking_head_512))
    second = wait_for_result(api, send_file(api, talking_head_512, name="again.mp4"))
    assert first["asset_id"] == second["asset_id"]


def test_non_media_is_refused_with_the_reason_on_head_and_get(api, broken_garbage):
    url = send_file(api, broken_garbage, name="notes.mp4")
    status = wait_for_result(api, url)
    assert status["state"] == "refused"
    assert "notes.mp4" in status["error"]
    assert "audio or video" in status["error"]
    assert api.head(url, headers=TUS).headers["Upload-Error"] == status["error"]
    assert not (tus_context(api.app).store.root / url.rsplit("/", 1)[1]).exists()


def test_path_traversal_in_the_file_name_stays_inside_the_data_dir(
    api, settings, talking_head_512, tmp_path
):
    evil = "../../../../../tmp/../evil\\..\\x.mp4"
    status = wait_for_result(api, send_file(api, talking_head_512, name=evil))
    asset = api.get(f"/api/assets/{status['asset_id']}").json()
    assert "/" not in asset["original_name"] and "\\" not in asset["original_name"]
    assets_dir = settings.data_dir.assets
    stored = [p for p in assets_dir.rglob("*") if p.is_file()]
    assert len(stored) == 1
    assert not list(tmp_path.parent.glob("evil*")) and not list(tmp_path.glob("x.mp4"))


def test_zero_byte_upload_is_refused_as_empty(api, tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    status = wait_for_result(api, send_file(api, empty))
    assert status["state"] == "refused"
    assert status["offset_bytes"] == 0
