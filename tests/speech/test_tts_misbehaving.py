"""TTS servers that misbehave: an endless body, a trickle, a WAV at 0 or 1 Hz; and a worker
stopped (SIGTERM's effect) while a server hangs in the speech stage."""

from __future__ import annotations

import threading
import time

import pytest
from tests.speech.standins import Behaviour, Recorder, StandIn, cosyvoice_app, fish_speech_app

from lipforge.assets.library import ingest_file
from lipforge.jobs.tables import Job, JobStatus
from lipforge.jobs.worker import Worker, WorkerTuning
from lipforge.render import batches
from lipforge.render.scripts import ScriptRequest
from lipforge.speech.engines import EngineContext, create_speech_engine
from lipforge.speech.errors import SpeechAudioError, SpeechServerError
from lipforge.speech.httpclient import answer_limit_bytes
from lipforge.speech.script import synthesize_script
from lipforge.speech.voices import Voice, add_voice

FAST = EngineContext(None, timeout_s=3.0, attempts=2, backoff_s=0.05)
TEXT = "Plants make food from light."


def fish(url: str) -> Voice:
    return Voice("fish", "fish-speech", url=url)


def test_an_endless_answer_is_cut_at_the_limit_for_the_text(tmp_path):
    with StandIn(fish_speech_app(Behaviour(endless=True), Recorder())) as server:
        engine = create_speech_engine(fish(server.url), FAST)
        with pytest.raises(SpeechServerError, match=f"more than {answer_limit_bytes(TEXT)} bytes"):
            engine.synthesize(TEXT, "en")
    assert answer_limit_bytes(TEXT) < 10 * 1024 * 1024


def test_a_trickling_answer_ends_within_the_timeout(tmp_path):
    with StandIn(fish_speech_app(Behaviour(trickle_s=0.2), Recorder())) as server:
        engine = create_speech_engine(fish(server.url), FAST)
        started = time.monotonic()
        with pytest.raises(SpeechServerError, match="fish-speech at http://127.0.0.1"):
            engine.synthesize(TEXT, "en")
    assert time.monotonic() - started < FAST.timeout_s + 1.0


@pytest.mark.parametrize("rate", [0, 1])
def test_an_impossible_rate_is_refused_with_the_servers_name_and_not_cached(settings, rate):
    behaviour = Behaviour(declared_rate=rate)
    with StandIn(fish_speech_app(behaviour, Recorder())) as server:
        voice = fish(server.url)
        with pytest.raises(SpeechAudioError, match=f"fish-speech at {server.url} .* {rate} Hz"):
            synthesize_script(voice, TEXT, settings.data_dir.root / "a.wav", settings)
        behaviour.declared_rate = None  # the server is mended
        result = synthesize_script(voice, TEXT, settings.data_dir.root / "a.wav", settings)
    assert result.duration_s > 1.0 and result.pieces_synthesized == 1


def test_a_stopping_worker_leaves_a_hanging_speech_stage_within_seconds(
    settings, sessions, talking_head_512
):
    copy = settings.data_dir.root / "face.mp4"
    copy.write_bytes(talking_head_512.read_bytes())
    video = ingest_file(copy, "face.mp4", "upload", sessions, settings)
    with StandIn(cosyvoice_app(Behaviour(delay_s=600), Recorder())) as gpu:
        with sessions.begin() as session:
            add_voice(session, Voice("gpu", "cosyvoice", url=gpu.url, speaker="中文女",
                                     sample_rate=22050))  # fmt: skip
        request = batches.BatchRequest(
            audio_asset_ids=[], video_asset_ids=[video.id],
            scripts=[ScriptRequest("大家好。", "gpu", "hello")],
        )  # fmt: skip
        batch = batches.create_batch(sessions, request, max_attempts=2)["id"]
        tuning = WorkerTuning(progress_min_interval_s=0.1, cancel_poll_interval_s=0.2,
                              idle_poll_s=0.05)  # fmt: skip
        worker, stop = Worker(settings, sessions, slots=1, tuning=tuning), threading.Event()
        thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
        thread.start()
        wait_until(lambda: job_status(sessions, batch) == JobStatus.RUNNING, 30)
        time.sleep(1.0)  # inside the speech stage, the request hanging
        stop.set()
        started = time.monotonic()
        thread.join(10)
    assert not thread.is_alive() and time.monotonic() - started < 3.0
    assert job_status(sessions, batch) == JobStatus.QUEUED  # given back, as for a render


def job_status(sessions, batch_id: str) -> str:
    with sessions() as session:
        return session.query(Job).filter(Job.batch_id == batch_id).one().status


def wait_until(condition, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
