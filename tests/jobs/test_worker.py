"""The worker loop with a stand-in runner (no media): outputs appear once under outputs/,
failures stay alone with their reason, cancel stops a running job within 2 s, a lost
lease publishes nothing, low disk pauses claiming visibly, retention removes old outputs.

The stand-in runner behaves like the pipeline at its interface: it reports progress,
checks `should_cancel` and raises CancelledError, writes its file at `output_path`.
Runs through the real pipeline are in test_restart.py and test_worker_loss.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from tests.support.jobs_factory import add_batch, add_placeholder_asset
from tests.support.polling import wait_until

from lipforge.db import utc_now
from lipforge.errors import CancelledError, NoFaceError
from lipforge.events import events_since
from lipforge.jobs import queue
from lipforge.jobs.joblog import read_job_log
from lipforge.jobs.tables import Job
from lipforge.jobs.worker import PARTIAL_DIR_NAME, Worker, WorkerTuning
from lipforge.render.runner import RenderContext, RenderRunner

FAST = WorkerTuning(
    heartbeat_interval_s=0.5,
    lease_s=5.0,
    reap_interval_s=0.3,
    progress_min_interval_s=0.1,
    cancel_poll_interval_s=0.2,
    idle_poll_s=0.05,
)


def wait_for(condition: Callable[[], object], timeout_s: float = 10.0) -> object:
    return wait_until(condition, "the condition", timeout_s)


def fake_render(frames: int = 10, frame_s: float = 0.01, fail_on: str | None = None):
    def run(context: RenderContext, on_progress, should_cancel) -> None:
        if fail_on and context.spec.output_name.startswith(fail_on):
            name = context.video_path.name  # the pipeline names the file it was given
            raise NoFaceError(
                f"no face found in {name} between 0 s and 10 s", file=name, seconds=10
            )
        for frame in range(frames):
            if should_cancel():
                raise CancelledError("cancelled")
            on_progress(frame + 1, frames)
            time.sleep(frame_s)
        context.output_path.write_bytes(f"{context.job.id}:{context.job.attempt}".encode())

    return run


class RunningWorker:
    def __init__(self, settings, sessions, run_job, slots: int = 1, tuning=FAST) -> None:
        runner = RenderRunner(run_job)
        self.worker = Worker(settings, sessions, slots=slots, run_job=runner, tuning=tuning)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.worker.run, args=(self.stop,), daemon=True)

    def __enter__(self) -> Worker:
        self.thread.start()
        return self.worker

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join(30)


@pytest.fixture
def assets(settings, sessions) -> tuple[str, str]:
    return (
        add_placeholder_asset(sessions, settings, "audio", "lecture.wav"),
        add_placeholder_asset(sessions, settings, "video", "teacher.mp4"),
    )


def jobs_of(sessions, batch_id: str) -> list[Job]:
    with sessions() as session:
        return queue.list_batch_jobs(session, batch_id)


def all_finished(sessions, batch_id: str) -> bool:
    return all(
        job.status in ("succeeded", "failed", "cancelled") for job in jobs_of(sessions, batch_id)
    )


def partial_files(settings) -> list[Path]:
    return list((settings.data_dir.outputs / PARTIAL_DIR_NAME).glob("*"))


def test_jobs_succeed_once_with_their_output_and_log(settings, sessions, assets):
    audio, video = assets
    batch_id, ids = add_batch(sessions, 3, audio_id=audio, video_ids=[video] * 3)
    with RunningWorker(settings, sessions, fake_render()):
        wait_for(lambda: all_finished(sessions, batch_id))
    outputs = settings.data_dir.outputs
    for job in jobs_of(sessions, batch_id):
        assert (job.status, job.attempt, job.frames_done, job.frames_total) == (
            "succeeded",
            1,
            10,
            10,
        )
        assert (outputs / job.output_relpath).read_bytes() == f"{job.id}:1".encode()
        assert any("succeeded" in line for line in read_job_log(settings.data_dir.logs, job.id))
    assert sorted(p.name for p in (outputs / batch_id).iterdir()) == [
        "out0.mp4",
        "out1.mp4",
        "out2.mp4",
    ]
    assert partial_files(settings) == []


def test_a_failing_item_fails_alone_with_its_reason(settings, sessions, assets):
    audio, video = assets
    batch_id, ids = add_batch(sessions, 3, audio_id=audio, video_ids=[video] * 3)
    with RunningWorker(settings, sessions, fake_render(fail_on="out1")):
        wait_for(lambda: all_finished(sessions, batch_id))
    statuses = {job.spec["output_name"]: job for job in jobs_of(sessions, batch_id)}
    assert statuses["out0.mp4"].status == statuses["out2.mp4"].status == "succeeded"
    failed = statuses["out1.mp4"]
    assert (failed.status, failed.error_code) == ("failed", "no_face")
    assert failed.error_message == "no face found in teacher.mp4 between 0 s and 10 s"
    assert failed.error_params == {"file": "teacher.mp4", "seconds": 10}  # the user's file name
    assert failed.output_relpath is None
    assert not (settings.data_dir.outputs / batch_id / "out1.mp4").exists()


def test_a_missing_asset_or_a_crashing_runner_fails_the_job_not_the_worker(
    settings, sessions, assets
):
    audio, video = assets
    missing_batch, [missing] = add_batch(sessions, 1, audio_id="f" * 32, video_ids=[video])

    def crashing(context, on_progress, should_cancel):
        if context.spec.output_name == "boom0.mp4":
            raise ZeroDivisionError("division by zero")
        fake_render()(context, on_progress, should_cancel)

    crash_batch, [crash] = add_batch(sessions, 1, prefix="boom", audio_id=audio, video_ids=[video])
    ok_batch, [ok] = add_batch(sessions, 1, prefix="ok", audio_id=audio, video_ids=[video])
    with RunningWorker(settings, sessions, crashing):
        wait_for(lambda: all_finished(sessions, ok_batch))
    with sessions() as session:
        assert queue.get_job(session, missing).error_code == "not_found"
        crashed = queue.get_job(session, crash)
        assert (crashed.status, crashed.error_code) == ("failed", "internal_error")
        assert crashed.error_params == {"detail": "division by zero"}
        assert queue.get_job(session, ok).status == "succeeded"


def test_cancelling_a_running_job_stops_it_within_two_seconds(settings, sessions, assets):
    audio, video = assets
    batch_id, [job_id] = add_batch(sessions, 1, audio_id=audio, video_ids=[video])
    slow = fake_render(frames=10_000, frame_s=0.02)
    with RunningWorker(settings, sessions, slow):
        wait_for(lambda: jobs_of(sessions, batch_id)[0].frames_done > 5)
        with sessions.begin() as session:
            queue.cancel_job(session, job_id)
        asked = time.monotonic()
        wait_for(lambda: jobs_of(sessions, batch_id)[0].status == "cancelled", timeout_s=5)
        stopped_after_s = time.monotonic() - asked
    assert stopped_after_s <= 2.0
    assert partial_files(settings) == []
    assert not (settings.data_dir.outputs / batch_id).exists()


def test_progress_is_written_a_few_times_a_second_not_per_frame(settings, sessions, assets):
    audio, video = assets
    batch_id, [job_id] = add_batch(sessions, 1, audio_id=audio, video_ids=[video])
    started = time.monotonic()
    with RunningWorker(settings, sessions, fake_render(frames=400, frame_s=0.005)):
        wait_for(lambda: all_finished(sessions, batch_id))
    elapsed_s = time.monotonic() - started
    progress = [e for e in events_since(sessions, 0) if e.kind == "job.progress"]
    assert 1 <= len(progress) <= elapsed_s / FAST.progress_min_interval_s + 2
    assert progress[-1].payload["frames_total"] == 400
    assert progress[-1].payload["fps"] > 0


def test_two_slots_run_two_jobs_at_once(settings, sessions, assets):
    audio, video = assets
    running = []
    peak = []
    lock = threading.Lock()
    inner = fake_render(frames=20, frame_s=0.02)

    def counting(context, on_progress, should_cancel):
        with lock:
            running.append(context.job.id)
            peak.append(len(running))
        try:
            inner(context, on_progress, should_cancel)
        finally:
            with lock:
                running.remove(context.job.id)

    batch_id, _ = add_batch(sessions, 4, audio_id=audio, video_ids=[video] * 4)
    with RunningWorker(settings, sessions, counting, slots=2):
        wait_for(lambda: all_finished(sessions, batch_id))
    assert max(peak) == 2


def test_a_worker_that_loses_its_lease_publishes_nothing(settings, sessions, assets):
    audio, video = assets
    batch_id, [job_id] = add_batch(sessions, 1, audio_id=audio, video_ids=[video])
    with RunningWorker(settings, sessions, fake_render(frames=10_000, frame_s=0.02)) as worker:
        wait_for(lambda: jobs_of(sessions, batch_id)[0].frames_done > 3)
        worker.run_job = RenderRunner(
            fake_render()
        )  # for the next attempt; the first keeps running
        later = utc_now() + timedelta(seconds=60)
        assert queue.reap_stale_jobs(sessions, now=later) == [(job_id, "queued")]
        wait_for(lambda: all_finished(sessions, batch_id))
    log = " ".join(read_job_log(settings.data_dir.logs, job_id))
    assert "attempt 1 stopped: the job was taken back" in log
    [job] = jobs_of(sessions, batch_id)
    assert (job.status, job.attempt) == ("succeeded", 2)
    assert (settings.data_dir.outputs / job.output_relpath).read_bytes() == f"{job_id}:2".encode()
    assert partial_files(settings) == []


def test_stopping_the_worker_returns_its_running_job_to_the_queue(settings, sessions, assets):
    audio, video = assets
    batch_id, [job_id] = add_batch(sessions, 1, max_attempts=1, audio_id=audio, video_ids=[video])
    with RunningWorker(settings, sessions, fake_render(frames=10_000, frame_s=0.02)):
        wait_for(lambda: jobs_of(sessions, batch_id)[0].frames_done > 3)
    [job] = jobs_of(sessions, batch_id)
    assert (job.status, job.worker_id, job.max_attempts) == ("queued", None, 2)
    assert partial_files(settings) == []


def test_low_disk_pauses_claiming_with_a_visible_reason(settings, sessions, assets):
    audio, video = assets
    starved = settings.with_overrides(min_free_disk_bytes=1 << 62)
    batch_id, [job_id] = add_batch(sessions, 1, audio_id=audio, video_ids=[video])
    with RunningWorker(starved, sessions, fake_render()):
        wait_for(lambda: [e for e in events_since(sessions, 0) if e.kind == "worker.paused"])
        time.sleep(0.5)
        assert jobs_of(sessions, batch_id)[0].status == "queued"
        with sessions() as session:
            [reason] = queue.pause_reasons(session)
    assert reason.startswith("queue paused: Not enough free disk")


def test_unheld_partial_files_are_removed_and_held_ones_kept(settings, sessions, assets):
    audio, video = assets
    add_batch(sessions, 1, audio_id=audio, video_ids=[video])
    held = queue.claim_next_job(sessions, "elsewhere", lease_s=60)
    partial_dir = settings.data_dir.outputs / PARTIAL_DIR_NAME
    partial_dir.mkdir(parents=True, exist_ok=True)
    kept = partial_dir / f"{held.id}-a{held.attempt}.mp4"
    stale = partial_dir / f"{held.id}-a{held.attempt - 1 or 9}.mp4.tmp"
    kept.write_bytes(b"x")
    stale.write_bytes(b"x")
    Worker(
        settings, sessions, run_job=RenderRunner(fake_render()), tuning=FAST
    ).remove_unheld_partials()
    assert partial_files(settings) == [kept]


def test_retention_removes_outputs_past_their_age(settings, sessions, assets):
    audio, video = assets
    batch_id, [job_id] = add_batch(sessions, 1, audio_id=audio, video_ids=[video])
    with RunningWorker(settings, sessions, fake_render()):
        wait_for(lambda: all_finished(sessions, batch_id))
    [job] = jobs_of(sessions, batch_id)
    output = settings.data_dir.outputs / job.output_relpath
    assert output.exists()
    Worker(settings, sessions, run_job=RenderRunner(fake_render())).apply_retention()
    assert output.exists()
    expired = settings.with_overrides(output_retention_s=0.0)
    Worker(expired, sessions, run_job=RenderRunner(fake_render())).apply_retention()
    assert not output.exists()
    [job] = jobs_of(sessions, batch_id)
    assert (job.status, job.output_relpath) == ("succeeded", None)
    assert any(e.kind == "job.output_expired" for e in events_since(sessions, 0))
