"""Scripts through the queue and the real worker: speech, then render, then subtitles.

A batch of 3 scripts x 2 videos whose third script's voice is a CosyVoice server that
answers 500 (a stand-in following runtime/python/fastapi/server.py): 4 videos with their
subtitle tracks and 2 failures that name the server; the second video of a script costs
no TTS. And a 1,000-character Chinese script end to end through `lipforge run`.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.speech.standins import Behaviour, Recorder, StandIn, cosyvoice_app
from tests.support.database import migrated_sessions

from lipforge.api.app import create_app
from lipforge.api.views import BatchView
from lipforge.assets.library import ingest_file
from lipforge.assets.table import Asset
from lipforge.events import events_since
from lipforge.jobs.joblog import read_job_log
from lipforge.jobs.worker import Worker, WorkerTuning
from lipforge.media.subtitles import read_subtitle_track
from lipforge.render import batches
from lipforge.render.runner import RenderRunner
from lipforge.render.scripts import ScriptRequest
from lipforge.speech.voices import Voice, add_voice

FAST = WorkerTuning(progress_min_interval_s=0.1, cancel_poll_interval_s=0.2, idle_poll_s=0.05)
SCRIPT_ZH = "大家好！今天我们学习光合作用。"
SCRIPT_EN = "Good morning. Plants make food from light."
BATCH_TIMEOUT_S = 240
LIPFORGE = str(Path(sys.executable).parent / "lipforge")


@pytest.fixture(scope="module")
def small_videos(tmp_path_factory, make_talking_head):
    folder = tmp_path_factory.mktemp("videos")
    return [
        make_talking_head(folder / "anna.mp4", 1.0, (256, 256), fps=12),
        make_talking_head(folder / "ben.mp4", 1.0, (240, 240), fps=12),
    ]


def run_until_ended(settings, sessions, batch_id: str) -> dict:
    worker = Worker(settings, sessions, slots=1, run_job=RenderRunner(), tuning=FAST)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + BATCH_TIMEOUT_S
        while time.monotonic() < deadline:
            snapshot = BatchView.of(batches.get_batch_state(sessions, batch_id)).model_dump()
            if snapshot["finished"]:
                return snapshot
            time.sleep(0.2)
        raise AssertionError(f"batch not finished in {BATCH_TIMEOUT_S} s: {snapshot}")
    finally:
        stop.set()
        thread.join(30)


def test_three_scripts_by_two_videos_with_one_failing_server(settings, sessions, small_videos):
    videos = [
        ingest_file(_copy(v, settings), v.name, "upload", sessions, settings).id
        for v in small_videos
    ]
    with StandIn(cosyvoice_app(Behaviour(always_fail=True), Recorder())) as gpu2:
        with sessions.begin() as session:
            add_voice(session, Voice("gpu2", "cosyvoice", url=gpu2.url, speaker="中文女",
                                     sample_rate=22050))  # fmt: skip
        request = batches.BatchRequest(
            audio_asset_ids=[],
            video_asset_ids=videos,
            scripts=[
                ScriptRequest(SCRIPT_ZH, "espeak-zh", "lesson"),
                ScriptRequest(SCRIPT_EN, "espeak-en", "morning"),
                ScriptRequest("你好。", "gpu2", "cloned"),
            ],
        )
        created = BatchView.of(batches.create_batch(sessions, request, max_attempts=1)).model_dump()
        assert [job["output_name"] for job in created["jobs"]] == [
            "lesson-anna.mp4", "lesson-ben.mp4", "morning-anna.mp4", "morning-ben.mp4",
            "cloned-anna.mp4", "cloned-ben.mp4",
        ]  # fmt: skip
        assert all(job["frames_total"] == 0 for job in created["jobs"])
        assert created["frames_total"] > 6  # estimated from the scripts' length
        batch = run_until_ended(settings, sessions, created["id"])
    jobs = {job["output_name"]: job for job in batch["jobs"]}
    succeeded = [name for name, job in jobs.items() if job["status"] == "succeeded"]
    assert sorted(succeeded) == sorted(list(jobs)[:4])
    for name in ("cloned-anna.mp4", "cloned-ben.mp4"):
        assert jobs[name]["status"] == "failed"
        assert jobs[name]["error_code"] == "speech_server_failed"
        assert jobs[name]["error_message"] == (
            f"CosyVoice at {gpu2.url} answered 500 three times: Internal Server Error"
        )
    lesson = jobs["lesson-anna.mp4"]
    path = settings.data_dir.outputs / batch["id"] / "lesson-anna.mp4"
    cues = read_subtitle_track(path)
    assert [text for _, _, text in cues] == ["大家好！", "今天我们学习光合作用。"]
    assert lesson["audio_asset_id"] == jobs["lesson-ben.mp4"]["audio_asset_id"]
    with sessions() as session:
        spoken = session.get(Asset, lesson["audio_asset_id"])
        assert spoken.script_text == SCRIPT_ZH and spoken.voice_name == "espeak-zh"
        assert len(spoken.speech_timing["sentences"]) == 2 and spoken.speech_timing["phones"]
    second_log = " ".join(read_job_log(settings.data_dir.logs, jobs["lesson-ben.mp4"]["id"]))
    assert "all from the cache" in second_log
    stages = [
        event.payload.get("stage")
        for event in events_since(sessions, 0, batch_id=batch["id"])
        if event.job_id == lesson["id"] and event.kind == "job.progress"
    ]
    assert stages[0] == "speech" and stages[-1] == "render" and "render" not in stages[:1]


def test_subtitles_are_served_for_a_scripted_job(settings, sessions, small_videos):
    video = ingest_file(_copy(small_videos[0], settings), "anna.mp4", "upload", sessions, settings)
    request = batches.BatchRequest([], [video.id], scripts=[ScriptRequest(SCRIPT_EN, "espeak-en")])
    created = BatchView.of(batches.create_batch(sessions, request, max_attempts=1)).model_dump()
    with TestClient(create_app(settings)) as client:
        job_id = created["jobs"][0]["id"]
        early = client.get(f"/api/jobs/{job_id}/subtitles.srt")
        assert early.status_code == 409 and early.json()["error"] == "conflict"
        run_until_ended(settings, sessions, created["id"])
        srt = client.get(f"/api/jobs/{job_id}/subtitles.srt")
        vtt = client.get(f"/api/jobs/{job_id}/subtitles.vtt")
        archive = client.get(f"/api/batches/{created['id']}/archive")
        refused = client.post(
            "/api/batches",
            json={"video_asset_ids": [video.id], "scripts": [{"text": "hi", "voice": "nobody"}]},
        )
    assert srt.status_code == 200 and srt.text.startswith("1\n00:00:00,150 --> ")
    assert "Good morning." in srt.text and vtt.text.startswith("WEBVTT\n\n00:00:00.150 --> ")
    assert refused.status_code == 404 and refused.json()["error"] == "invalid_script"
    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    assert names == ["anna-script1.mp4", "anna-script1.srt", "anna-script1.vtt"]
    assert refused.json()["params"]["voice"] == "nobody"


def test_a_thousand_character_chinese_script_becomes_a_video_with_subtitles(
    tmp_path, make_talking_head
):
    video = make_talking_head(tmp_path / "王老师.mp4", 2.0, (192, 192), fps=4)
    sentence = "光合作用是植物利用阳光，把水和二氧化碳变成葡萄糖和氧气的过程。"
    script = (sentence * (1000 // len(sentence) + 1))[:1000]
    (tmp_path / "第一课.txt").write_text(script, encoding="utf-8")
    env = {**os.environ, "LIPFORGE_DATA": str(tmp_path / "data")}
    (tmp_path / "data").mkdir(exist_ok=True)
    with migrated_sessions(f"sqlite:///{tmp_path / 'data' / 'lipforge.db'}") as sessions:
        with sessions.begin() as session:
            add_voice(session, Voice("fast-zh", "espeak", language="zh", speed=2.5))
    run = subprocess.run(
        [LIPFORGE, "run", "--text-file", str(tmp_path / "第一课.txt"),
         "--voice", "fast-zh", "--video", str(video), "--out", str(tmp_path / "out")],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    # bars as `run --audio` and `submit` draw them: sentences, then frames with fps
    bars = [line for line in run.stdout.splitlines() if "━" in line]
    speech_bars = [line for line in bars if "第一课.txt" in line]
    assert speech_bars and all(re.search(r"(\d+)/\1\s+sentences", line) for line in speech_bars)
    assert not any("fps" in line for line in speech_bars), speech_bars  # sentences, not frames
    assert any("王老师.mp4" in line and "frames" in line and "fps" in line for line in bars)
    # the voice and the sentence cache came from this data dir: the command says so
    assert f"data dir {(tmp_path / 'data').resolve()}" in run.stderr, run.stderr
    output, srt = tmp_path / "out" / "王老师.mp4", tmp_path / "out" / "王老师.srt"
    cues = read_subtitle_track(output)
    blocks = srt.read_text(encoding="utf-8").strip().split("\n\n")
    assert len(cues) == len(blocks) >= 30
    spoken = "".join(text.replace("\n", "") for _, _, text in cues)
    assert spoken == script
    for block in blocks:
        lines = block.split("\n")[2:]
        assert len(lines) <= 2 and all(len(line) <= 16 for line in lines)
    assert cues[-1][1] > 60  # a minute and more of speech at 2.5x


def _copy(source: Path, settings) -> Path:
    target = settings.data_dir.root / f"copy-{source.name}"
    target.write_bytes(source.read_bytes())
    return target
