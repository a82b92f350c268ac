"""HeyGem's /easy/submit carries no text: with a transcription server set, its job's mouth
shapes follow the server's words (the stand-in of tests/speech/transcribe_standin.py)."""

from __future__ import annotations

import json
import threading
import time

from fastapi.testclient import TestClient
from tests.speech.transcribe_standin import Hearing, serve  # noqa: E402

from lipforge.api.app import create_app
from lipforge.config import Settings
from lipforge.jobs.worker import Worker, WorkerTuning
from lipforge.render.runner import RenderRunner

FAST = WorkerTuning(heartbeat_interval_s=0.5, lease_s=5.0, idle_poll_s=0.05)
SAID = "Hello everyone. Today we will talk about the moon, the stars, and the planets."


def test_an_easy_submit_job_is_transcribed_by_the_server(tmp_path, talking_head_512, speech_en_wav):
    temp = tmp_path / "data" / "heygem" / "temp"
    temp.mkdir(parents=True)
    (temp / "face.mp4").write_bytes(talking_head_512.read_bytes())
    (temp / "speech.wav").write_bytes(speech_en_wav.read_bytes())
    hearing = Hearing(texts=[SAID])
    given = []

    def render(context, on_progress, should_cancel):
        given.append(context.words)
        context.output_path.write_bytes(b"rendered")

    with serve("whispercpp", hearing) as standin:
        settings = Settings(data=tmp_path / "data", transcribe_url=standin.url + "/v1")
        with TestClient(create_app(settings)) as api:
            body = {"code": "t-1", "audio_url": "speech.wav", "video_url": "face.mp4"}
            assert api.post("/easy/submit", content=json.dumps(body)).json()["code"] == 10000
            worker = Worker(
                settings, api.app.state.sessions, run_job=RenderRunner(render), tuning=FAST
            )
            stop = threading.Event()
            thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
            thread.start()
            deadline = time.monotonic() + 60
            while not given and time.monotonic() < deadline:
                time.sleep(0.05)
            stop.set()
            thread.join(30)
    assert len(hearing.requests) == 1
    assert [s.text for s in given[0].sentences] == [SAID]
