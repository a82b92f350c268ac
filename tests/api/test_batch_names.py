"""Batches get a name: the audio's file name (or the script's opening words) by default,
editable afterwards with PATCH /api/batches/{id}."""

from __future__ import annotations

import io
import zipfile
from urllib.parse import quote

from batch_helpers import FakeWorker, add_asset

ZIP_UTF8_FLAG = 0x800  # general purpose bit 11: the entry's name is UTF-8


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


def test_chinese_file_names_name_the_outputs_and_the_zip_entries(api, sessions) -> None:
    """Issue 21: every letter kept; a leading "-" or "." removed; entries flagged UTF-8."""
    audio = add_asset(sessions, "audio", "第一课.wav")
    names = ["王老师.mp4", "李老师-竖屏.mp4", "-rf 老师.mp4", ".隐藏.mp4", "王老师.mov"]
    videos = [add_asset(sessions, "video", name) for name in names]
    batch = api.post("/api/batches", json={"audio_asset_ids": [audio], "video_asset_ids": videos})
    outputs = [job["output_name"] for job in batch.json()["jobs"]]
    assert outputs == [
        "王老师-第一课.mp4",
        "李老师-竖屏-第一课.mp4",
        "rf 老师-第一课.mp4",
        "隐藏-第一课.mp4",
        "王老师-第一课-2.mp4",
    ]
    worker = FakeWorker(sessions, api.app.state.settings.data_dir.outputs)
    for _ in names:
        worker.succeed(worker.claim(), b"video bytes")
    archive = zipfile.ZipFile(
        io.BytesIO(api.get(f"/api/batches/{batch.json()['id']}/archive").content)
    )
    assert archive.namelist() == outputs
    assert all(info.flag_bits & ZIP_UTF8_FLAG for info in archive.infolist())
    job_id = batch.json()["jobs"][0]["id"]
    disposition = api.get(f"/api/jobs/{job_id}/output").headers["content-disposition"]
    assert disposition.endswith(quote("王老师-第一课.mp4"))


def test_a_scripted_batch_keeps_the_script_file_name(api, sessions) -> None:
    video = add_asset(sessions, "video", "第一课-李老师2.mp4")
    script = {"text": "大家好。", "voice": "espeak-zh", "name": "第一课.txt"}
    one = api.post("/api/batches", json={"video_asset_ids": [video], "scripts": [script]})
    assert [job["output_name"] for job in one.json()["jobs"]] == ["第一课-李老师2-第一课.mp4"]
    second = {**script, "name": "第二课"}
    two = api.post("/api/batches", json={"video_asset_ids": [video], "scripts": [script, second]})
    assert [job["output_name"] for job in two.json()["jobs"]] == [
        "第一课-第一课-李老师2.mp4",
        "第二课-第一课-李老师2.mp4",
    ]


def test_the_name_the_user_gave_this_time_wins_over_the_stored_one(api, sessions) -> None:
    """Same bytes uploaded earlier as a.mp4: the batch names it as the user did now."""
    audio = add_asset(sessions, "audio", "take1.wav")
    video = add_asset(sessions, "video", "a.mp4")
    body = {
        "audio_asset_ids": [audio],
        "video_asset_ids": [video],
        "asset_names": {video: "王老师.mp4", audio: "第一课.m4a"},
    }
    batch = api.post("/api/batches", json=body).json()
    assert [job["output_name"] for job in batch["jobs"]] == ["王老师-第一课.mp4"]
    assert api.get(f"/api/assets/{video}").json()["original_name"] == "a.mp4"
