"""The inbox folder: complete files only, rsync temp files ignored, refusals explained."""

from __future__ import annotations

import shutil
import time

import pytest
from fastapi.testclient import TestClient

from lipforge.api.app import create_app
from lipforge.assets.inbox import InboxWatcher
from lipforge.config import Settings

SETTLE_S = 3.0


@pytest.fixture
def watcher(settings, sessions) -> InboxWatcher:
    return InboxWatcher(settings, sessions, settle_s=SETTLE_S)


def test_a_file_is_imported_only_after_it_stopped_changing(watcher, talking_head_512):
    data = talking_head_512.read_bytes()
    target = watcher.inbox / "teacher.mp4"
    target.write_bytes(data[: len(data) // 2])
    assert watcher.scan(now_s=0.0) == []
    assert watcher.scan(now_s=2.0) == []
    with target.open("ab") as handle:
        handle.write(data[len(data) // 2 :])
    assert watcher.scan(now_s=4.0) == []  # it grew: the clock starts again
    assert watcher.scan(now_s=6.0) == []
    [outcome] = watcher.scan(now_s=7.0)
    assert outcome.name == "teacher.mp4" and outcome.asset_id and outcome.reason is None
    assert not target.exists()
    assert watcher.scan(now_s=30.0) == []


def test_the_half_file_was_never_taken(watcher, talking_head_512):
    data = talking_head_512.read_bytes()
    target = watcher.inbox / "teacher.mp4"
    target.write_bytes(data[:1000])
    watcher.scan(now_s=0.0)
    target.write_bytes(data)
    watcher.scan(now_s=2.9)
    assert target.exists()
    assert not (watcher.inbox / "rejected").exists()


def test_rsync_temp_files_and_dotfiles_are_left_alone(watcher, talking_head_512):
    temp = watcher.inbox / ".teacher.mp4.Xy12Ab"
    shutil.copyfile(talking_head_512, temp)
    hidden_dir = watcher.inbox / ".partial"
    hidden_dir.mkdir()
    shutil.copyfile(talking_head_512, hidden_dir / "teacher.mp4")
    for now_s in (0.0, 10.0, 20.0):
        assert watcher.scan(now_s=now_s) == []
    assert temp.exists() and (hidden_dir / "teacher.mp4").exists()
    temp.rename(watcher.inbox / "teacher.mp4")
    watcher.scan(now_s=30.0)
    [outcome] = watcher.scan(now_s=40.0)
    assert outcome.asset_id


def test_files_in_subfolders_are_imported(watcher, speech_en_wav):
    folder = watcher.inbox / "lecture-3"
    folder.mkdir()
    shutil.copyfile(speech_en_wav, folder / "part1.wav")
    watcher.scan(now_s=0.0)
    [outcome] = watcher.scan(now_s=5.0)
    assert outcome.name == "part1.wav" and outcome.asset_id


def test_a_refused_file_goes_to_rejected_with_its_reason(watcher, broken_garbage):
    shutil.copyfile(broken_garbage, watcher.inbox / "notes.mp4")
    watcher.scan(now_s=0.0)
    [outcome] = watcher.scan(now_s=5.0)
    assert outcome.asset_id is None and "not an audio or video file" in outcome.reason
    rejected = watcher.inbox / "rejected"
    assert (rejected / "notes.mp4").read_bytes() == broken_garbage.read_bytes()
    reason = (rejected / "notes.mp4.reason.txt").read_text()
    assert "notes.mp4 is not an audio or video file" in reason
    assert watcher.scan(now_s=20.0) == []


def test_a_second_refusal_of_the_same_name_keeps_both(watcher, broken_garbage):
    for start_s in (0.0, 100.0):
        shutil.copyfile(broken_garbage, watcher.inbox / "notes.mp4")
        watcher.scan(now_s=start_s)
        watcher.scan(now_s=start_s + 5.0)
    names = sorted(p.name for p in (watcher.inbox / "rejected").iterdir())
    assert names == ["notes-1.mp4", "notes-1.mp4.reason.txt", "notes.mp4", "notes.mp4.reason.txt"]


def test_the_server_imports_a_dropped_file_on_its_own(tmp_path, speech_en_wav):
    settings = Settings(data=tmp_path / "data")
    with TestClient(create_app(settings)) as client:
        staging = settings.data_dir.inbox / ".lecture.wav.a1b2c3"
        shutil.copyfile(speech_en_wav, staging)
        staging.rename(settings.data_dir.inbox / "lecture.wav")
        deadline = time.monotonic() + 15.0
        items = []
        while not items and time.monotonic() < deadline:
            time.sleep(0.5)
            items = client.get("/api/assets").json()["items"]
        assert [(item["original_name"], item["source"]) for item in items] == [
            ("lecture.wav", "inbox")
        ]
