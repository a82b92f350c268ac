"""Crash safety with the real pipeline on short clips and a real `lipforge serve`:
SIGKILL the whole server (API + worker) mid-job, start it again, and every job
finishes exactly once with no half file; SIGKILL only the worker mid-job, and the
supervisor's new worker takes the job back (attempt 2) and finishes it once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import av
import httpx
import pytest
from tests.support.jobs_factory import add_batch
from tests.support.polling import wait_until
from tests.support.serving import free_port

from lipforge.assets.library import ingest_file
from lipforge.config import Settings
from lipforge.db import create_db_engine, migrate, session_factory
from lipforge.events import events_since
from lipforge.jobs import queue
from lipforge.jobs.worker import PARTIAL_DIR_NAME, Worker
from lipforge.render.runner import RenderRunner

pytestmark = pytest.mark.slow
LIPFORGE = str(Path(sys.executable).parent / "lipforge")
START_TIMEOUT_S = 60.0
FINISH_TIMEOUT_S = 180.0
LONG_TEXT = "Good morning. This is a short test of the job queue."


def start_serve(data: Path, log_path: Path) -> subprocess.Popen:
    port = free_port()
    log = log_path.open("a")
    process = subprocess.Popen(
        [LIPFORGE, "serve", "--data", str(data), "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: SIGKILL reaches API and worker
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, log_path.read_text()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                process.base_url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    pytest.fail(f"serve did not start: {log_path.read_text()}")


def kill_group(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def stop_serve(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            kill_group(process)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.fixture
def library(tmp_path, make_speech, make_talking_head):
    """A data dir with one ~10 s speech and one 2 s face video as assets, and its sessions.

    Long enough that a job is seen mid-render even when the machine is fast."""
    settings = Settings(data=tmp_path / "data")
    settings.data_dir.ensure()
    migrate(settings.effective_database_url)
    engine = create_db_engine(settings.effective_database_url)
    sessions = session_factory(engine)
    media = tmp_path / "media"
    media.mkdir()
    speech = make_speech(media / "lecture.wav", " ".join([LONG_TEXT] * 3), "en-us")
    face = make_talking_head(media / "teacher.mp4", 2.0, (256, 256))
    audio = ingest_file(speech, "lecture.wav", "import", sessions, settings)
    video = ingest_file(face, "teacher.mp4", "import", sessions, settings)
    yield settings, sessions, audio.id, video.id
    engine.dispose()


def jobs_of(sessions, batch_id: str):
    with sessions() as session:
        return queue.list_batch_jobs(session, batch_id)


def wait_for(condition, timeout_s: float, what: str):
    return wait_until(condition, what, timeout_s)


def running_with_frames(sessions, batch_id: str):
    return next(
        (j for j in jobs_of(sessions, batch_id) if j.status == "running" and j.frames_done > 0),
        None,
    )


def all_succeeded(sessions, batch_id: str) -> bool:
    return all(j.status == "succeeded" for j in jobs_of(sessions, batch_id))


def assert_each_job_finished_once(settings, sessions, batch_id: str, count: int) -> None:
    jobs = jobs_of(sessions, batch_id)
    assert len(jobs) == count and all(j.status == "succeeded" for j in jobs)
    succeeded = Counter(e.job_id for e in events_since(sessions, 0) if e.kind == "job.succeeded")
    assert succeeded == Counter(j.id for j in jobs)
    outputs = sorted(p.name for p in (settings.data_dir.outputs / batch_id).iterdir())
    assert outputs == sorted(j.spec["output_name"] for j in jobs)
    for job in jobs:
        with av.open(str(settings.data_dir.outputs / job.output_relpath)) as container:
            assert container.streams.video[0].frames > 0
    assert list((settings.data_dir.outputs / PARTIAL_DIR_NAME).iterdir()) == []


def test_killing_the_whole_server_loses_no_job_and_leaves_no_half_file(library, tmp_path):
    settings, sessions, audio, video = library
    batch_id, ids = add_batch(sessions, 3, audio_id=audio, video_ids=[video] * 3)
    server = start_serve(settings.data, tmp_path / "serve.log")
    try:
        victim = wait_for(
            lambda: running_with_frames(sessions, batch_id), START_TIMEOUT_S, "a running job"
        )
    finally:
        kill_group(server)
    killed_attempt = victim.attempt
    assert {j.id: j.status for j in jobs_of(sessions, batch_id)}[victim.id] == "running"

    server = start_serve(settings.data, tmp_path / "serve.log")
    try:
        wait_for(lambda: all_succeeded(sessions, batch_id), FINISH_TIMEOUT_S, "all jobs to succeed")
        time.sleep(0.5)
    finally:
        stop_serve(server)
    assert_each_job_finished_once(settings, sessions, batch_id, 3)
    [again] = [j for j in jobs_of(sessions, batch_id) if j.id == victim.id]
    assert again.attempt == killed_attempt + 1


def test_killing_only_the_worker_requeues_its_job_which_finishes_once(library, tmp_path):
    settings, sessions, audio, video = library
    batch_id, [job_id] = add_batch(sessions, 1, audio_id=audio, video_ids=[video])
    server = start_serve(settings.data, tmp_path / "serve.log")
    try:
        victim = wait_for(
            lambda: running_with_frames(sessions, batch_id), START_TIMEOUT_S, "a running job"
        )
        worker_pid = int(victim.worker_id.split(":")[1])
        assert worker_pid != server.pid
        os.kill(worker_pid, signal.SIGKILL)
        wait_for(lambda: all_succeeded(sessions, batch_id), FINISH_TIMEOUT_S, "the job to succeed")
        assert httpx.get(f"{server.base_url}/api/health", timeout=5).status_code == 200
        time.sleep(0.5)
    finally:
        stop_serve(server)
    assert_each_job_finished_once(settings, sessions, batch_id, 1)
    [job] = jobs_of(sessions, batch_id)
    assert job.attempt == 2
    assert job.worker_id != victim.worker_id


def test_lipforge_worker_renders_jobs_and_ctrl_c_gives_a_running_job_back(library, tmp_path):
    settings, sessions, audio, video = library
    batch_id, [first] = add_batch(sessions, 1, audio_id=audio, video_ids=[video])
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [LIPFORGE, "worker", "--data", str(settings.data)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_for(lambda: all_succeeded(sessions, batch_id), FINISH_TIMEOUT_S, "the first job")
        second_batch, [second] = add_batch(sessions, 1, audio_id=audio, video_ids=[video])
        wait_for(lambda: running_with_frames(sessions, second_batch), START_TIMEOUT_S, "a start")
        worker.send_signal(signal.SIGINT)
        assert worker.wait(30) == 0, (tmp_path / "worker.log").read_text()
    finally:
        if worker.poll() is None:
            worker.kill()
    assert_each_job_finished_once(settings, sessions, batch_id, 1)
    [returned] = jobs_of(sessions, second_batch)
    assert (returned.status, returned.worker_id) == ("queued", None)
    assert not (settings.data_dir.outputs / second_batch).exists()
    assert list((settings.data_dir.outputs / PARTIAL_DIR_NAME).iterdir()) == []


def test_cancelling_a_real_render_stops_it_within_two_seconds(library):
    settings, sessions, audio, video = library
    batch_id, [job_id] = add_batch(sessions, 1, audio_id=audio, video_ids=[video])
    stop = threading.Event()
    worker = Worker(settings, sessions, run_job=RenderRunner())  # the real pipeline
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_for(lambda: running_with_frames(sessions, batch_id), START_TIMEOUT_S, "a running job")
        with sessions.begin() as session:
            queue.cancel_job(session, job_id)
        asked = time.monotonic()
        wait_for(lambda: jobs_of(sessions, batch_id)[0].status == "cancelled", 10, "the cancel")
        stopped_after_s = time.monotonic() - asked
    finally:
        stop.set()
        thread.join(30)
    assert stopped_after_s <= 2.0
    assert list((settings.data_dir.outputs / PARTIAL_DIR_NAME).iterdir()) == []
    assert not (settings.data_dir.outputs / batch_id).exists()
