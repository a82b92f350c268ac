"""Batches get a name: the audio's file name (or the script's opening words) by default,
editable afterwards with PATCH /api/batches/{id}."""

from __future__ import annotations

from batch_helpers import add_asset


def test_a_batch_is_named_after_its_audio_and_can_be_renamed(api, sessions) -> None:
    audio = add_asset(sessions, "audio", "Lecture 3 (final).m4a")
    video = add_asset(sessions, "video", "teacher.mp4")
    body = {"audio_asset_ids": [audio], "video_asset_ids": [video]}
    batch = api.post("/api/batches", json=body).json()
    assert batch["name"] == "Lecture 3 (final)"
    renamed = api.patch(f"/api/batches/{batch['id']}", json={"name": "  第三讲   终版 "})
    assert renamed.status_code == 200 and renamed.json()["name"] == "第三讲 终版"
    assert api.get("/api/batches").json()["items"][0]["name"] == "第三讲 终版"
    named = api.post("/api/batches", json={**body, "name": "My own"}).json()
    assert named["name"] == "My own"


def test_a_scripted_batch_is_named_after_its_script(api, sessions) -> None:
    video = add_asset(sessions, "video", "teacher.mp4")
    text = "今天我们讲口型同步的原理，以及它为什么需要一段清楚的正脸视频。第二句。"
    body = {"video_asset_ids": [video], "scripts": [{"text": text, "voice": "espeak-zh"}]}
    batch = api.post("/api/batches", json=body).json()
    assert batch["name"].startswith("今天我们讲口型同步的原理") and len(batch["name"]) <= 41


def test_renaming_refuses_unknown_batches_and_empty_names(api, sessions) -> None:
    missing = api.patch("/api/batches/nope", json={"name": "x"})
    assert missing.status_code == 404
    assert missing.json()["params"] == {"what": "batch", "id": "nope"}
    audio = add_asset(sessions, "audio", "a.wav")
    video = add_asset(sessions, "video", "v.mp4")
    batch = api.post("/api/batches", json={"audio_asset_ids": [audio], "video_asset_ids": [video]})
    empty = api.patch(f"/api/batches/{batch.json()['id']}", json={"name": "   "})
    assert empty.status_code == 422 and empty.json()["params"]["reason"] == "empty_name"
