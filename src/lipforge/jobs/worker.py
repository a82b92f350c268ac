"""The worker: claims jobs in FIFO order, one per slot, renders them, records the outcome.

`Worker(settings, sessions, slots, run_job=...).run(stop)` runs until `stop` is set. Each
slot is a thread that claims a job and hands it to `run_job` (a `JobRunner`; the real one
is `render/runner.py`'s, which this module does not know) as a `JobWork`: the job and its
spec, the local scratch file `outputs/.partial/<job>-a<attempt>.mp4` to write, and a way
to hold stored objects in the local input cache (read in place from the data dir, or
downloaded from the bucket: `lipforge.storage`). The runner answers the output's file
name; on success the worker stages the file in the store (a
multipart upload, invisible) and publishes it as `outputs/<batch>/<name>` (commit)
inside the fenced finish, so a worker that lost its lease never publishes an output and
an interrupted upload is aborted. A monitor thread per job writes progress (which renews the
lease), heartbeats, and polls for a cancel request. The main thread keeps house: it
reaps stale jobs (and jobs of workers on this host whose process is gone), removes
partial files nobody holds, pauses claiming while free disk is under the threshold,
and removes outputs past their retention age. The worker never answers HTTP.
"""

from __future__ import annotations

import re
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from lipforge.config import Settings
from lipforge.db import utc_now
from lipforge.disk import ensure_free_space
from lipforge.errors import CancelledError, DiskFullError, LipforgeError
from lipforge.events import prune_events
from lipforge.jobs import queue
from lipforge.jobs.joblog import append_job_log, fetch_job_log, publish_job_log
from lipforge.jobs.outputs import output_key
from lipforge.jobs.queue import ClaimedJob, LeaseState
from lipforge.logs import log_event
from lipforge.metrics import record_job_ended, record_worker_heartbeat
from lipforge.processes import is_local_worker_dead, make_worker_id
from lipforge.storage.backend import Storage, open_storage
from lipforge.storage.cache import InputCache

IDLE_POLL_S = 0.5  # how often an idle slot looks for a queued job
HOUSEKEEPING_TICK_S = 0.5
RETENTION_INTERVAL_S = 600.0
PROGRESS_EVENT_RETENTION_S = 24 * 3600.0  # progress events and silent workers are forgotten sooner
INTERNAL_ERROR_CODE = "internal_error"  # a bug, not a bad input: the job says so in its log
STRAY_PARTIAL_AGE_S = 3600.0  # unrecognised files in outputs/.partial/ are removed after this
STALE_UPLOAD_AGE_S = 6 * 3600.0  # staged uploads older than this lost their writer: aborted
EXPECTED_OUTPUT_BYTES = 64 * 1024**2  # what a render is assumed to need, for the disk guard
SLOT_JOIN_TIMEOUT_S = 30.0
PARTIAL_DIR_NAME = ".partial"
INPUT_CACHE_DIR = "inputs"  # below <data>/cache/, beside other caches (speech)
PARTIAL_NAME = re.compile(r"([0-9a-f]{32})-a(\d+)")


@dataclass(frozen=True)
class WorkerTuning:
    """The timing of one worker; the defaults are the queue's named constants."""

    heartbeat_interval_s: float = queue.HEARTBEAT_INTERVAL_S
    lease_s: float = queue.LEASE_S
    reap_interval_s: float = queue.REAP_INTERVAL_S
    progress_min_interval_s: float = queue.PROGRESS_MIN_INTERVAL_S
    cancel_poll_interval_s: float = queue.CANCEL_POLL_INTERVAL_S
    idle_poll_s: float = IDLE_POLL_S
    retention_interval_s: float = RETENTION_INTERVAL_S


@dataclass(frozen=True)
class JobWork:
    """What a runner gets for one claimed job: the job, where to write, the worker's means."""

    job: ClaimedJob
    output_path: Path  # the partial path for this attempt; the worker moves it into outputs/
    settings: Settings
    sessions: sessionmaker
    storage: Storage
    log: Callable[[str], None] = field(repr=False)
    hold: Callable[[str], Path] = field(repr=False)  # a stored object as a local file (cached)
    user_names: dict[str, str] = field(default_factory=dict)  # a local path or name -> user's

    def in_user_terms(self, message: str) -> str:
        """`message` with the local paths and names of inputs replaced by the names users gave."""
        for local, original in self.user_names.items():
            message = message.replace(local, original)
        return message


ProgressCallback = Callable[[int, int], None]
CancelCheck = Callable[[], bool]


class JobRunner(Protocol):
    """The work a worker does for a claimed job (`render/runner.py`'s `RenderRunner`)."""

    def __call__(
        self, work: JobWork, on_progress: ProgressCallback, should_cancel: CancelCheck
    ) -> str:
        """Write the output to `work.output_path`; answer its file name in outputs/<batch>/."""
        ...

    def metric_label(self, job: ClaimedJob) -> str:
        """The label of the job's metrics (for renders, the engine)."""
        ...


def partial_path(outputs_dir: Path, job: ClaimedJob) -> Path:
    return outputs_dir / PARTIAL_DIR_NAME / f"{job.id}-a{job.attempt}.mp4"


class JobMonitor:
    """Beside one running job: writes progress, renews the lease, watches for cancel or loss."""

    def __init__(
        self,
        sessions: sessionmaker,
        job: ClaimedJob,
        tuning: WorkerTuning,
        shutdown: threading.Event,
    ) -> None:
        self._sessions, self._job, self._tuning, self._shutdown = sessions, job, tuning, shutdown
        self._latest: tuple[int, int] | None = None
        self._first: tuple[int, float] | None = None
        self._written: tuple[int, int] | None = None
        self._state = LeaseState(held=True, cancel_requested=False)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"monitor-{job.id[:8]}", daemon=True)

    @property
    def state(self) -> LeaseState:
        return self._state

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop watching; progress not yet written is written now, so a fast job shows it too."""
        self._done.set()
        self._thread.join()
        try:
            self._write_progress()
        except SQLAlchemyError as exc:
            log_event("worker.db_error", 30, job_id=self._job.id, error=str(exc))

    def on_progress(self, frames_done: int, frames_total: int) -> None:
        if self._first is None:
            self._first = (frames_done, time.monotonic())
        self._latest = (frames_done, frames_total)

    def should_cancel(self) -> bool:
        return self._state.should_stop or self._shutdown.is_set()

    def fps(self) -> float | None:
        if self._first is None or self._latest is None:
            return None
        elapsed_s = time.monotonic() - self._first[1]
        frames = self._latest[0] - self._first[0]
        return round(frames / elapsed_s, 2) if elapsed_s > 0 and frames > 0 else None

    def _write_progress(self) -> bool:
        latest = self._latest
        if latest is None or latest == self._written:
            return False
        self._state = queue.record_progress(
            self._sessions, self._job, *latest, self.fps(), self._tuning.lease_s
        )
        self._written = latest
        return True

    def _run(self) -> None:
        tick_s = min(self._tuning.progress_min_interval_s, self._tuning.cancel_poll_interval_s)
        last_renew = last_check = time.monotonic()
        while not self._done.wait(tick_s):
            now = time.monotonic()
            try:
                if self._write_progress():
                    last_renew = now
                elif now - last_renew >= self._tuning.heartbeat_interval_s:
                    self._state = queue.renew_lease(self._sessions, self._job, self._tuning.lease_s)
                    last_renew = now
                elif now - last_check >= self._tuning.cancel_poll_interval_s:
                    self._state = queue.job_control(self._sessions, self._job)
                    last_check = now
            except SQLAlchemyError as exc:
                log_event("worker.db_error", 30, job_id=self._job.id, error=str(exc))


class Worker:
    """One worker process's loop: `slots` jobs at a time, plus the housekeeping."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker,
        slots: int = 1,
        *,
        run_job: JobRunner,
        tuning: WorkerTuning | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.slots = max(1, slots)
        self.run_job = run_job
        self.tuning = tuning or WorkerTuning()
        self.worker_id = worker_id or make_worker_id()
        self.outputs_dir = settings.data_dir.outputs
        self.logs_dir = settings.data_dir.logs
        self.paused_reason: str | None = None
        self.storage = open_storage(settings)
        self.cache = InputCache(settings.data_dir.cache / INPUT_CACHE_DIR, settings.cache_max_bytes)
        self._stop = threading.Event()

    def run(self, stop: threading.Event) -> None:
        """Work until `stop` is set; running jobs are then stopped and given back to the queue."""
        self._stop = stop
        (self.outputs_dir / PARTIAL_DIR_NAME).mkdir(parents=True, exist_ok=True)
        queue.register_worker(self.sessions, self.worker_id, socket.gethostname(), self.slots)
        log_event("worker.started", worker_id=self.worker_id, slots=self.slots)
        self.keep_house()
        threads = [
            threading.Thread(target=self._slot_loop, name=f"slot-{n}", daemon=True)
            for n in range(self.slots)
        ]
        for thread in threads:
            thread.start()
        try:
            self._housekeeping_loop()
        finally:
            stop.set()
            for thread in threads:
                thread.join(SLOT_JOIN_TIMEOUT_S)
            queue.stop_worker(self.sessions, self.worker_id)
            log_event("worker.stopped", worker_id=self.worker_id)

    # --- slots ---

    def _slot_loop(self) -> None:
        while not self._stop.is_set():
            try:
                job = None if self.paused_reason else self._claim()
            except SQLAlchemyError as exc:
                log_event("worker.db_error", 30, worker_id=self.worker_id, error=str(exc))
                job = None
            if job is None:
                self._stop.wait(self.tuning.idle_poll_s)
                continue
            try:
                self.run_one(job)
            except SQLAlchemyError as exc:
                log_event("worker.db_error", 30, job_id=job.id, error=str(exc))

    def _claim(self) -> ClaimedJob | None:
        return queue.claim_next_job(self.sessions, self.worker_id, self.tuning.lease_s)

    def run_one(self, job: ClaimedJob) -> None:
        """Run one claimed job and record how it ended; never raises for a job's failure."""
        partial = partial_path(self.outputs_dir, job)
        self._sync_log(fetch_job_log, job.id)
        self._log(job, f"attempt {job.attempt} of {job.max_attempts} started on {self.worker_id}")
        self._sync_log(publish_job_log, job.id)
        monitor = JobMonitor(self.sessions, job, self.tuning, self._stop)
        monitor.start()
        held: list[Path] = []
        work = self._work(job, partial, held)
        started_s, outcome = time.monotonic(), "failed"
        try:
            output_name = self.run_job(work, monitor.on_progress, monitor.should_cancel)
            if monitor.state.should_stop:
                raise CancelledError("cancelled")
            finished = self._finish(job, partial, monitor, output_name)
            outcome = "succeeded" if finished else "lost"
        except CancelledError:
            outcome = "stopped"
            monitor.stop()
            self._stopped(job, queue.job_control(self.sessions, job))
        except LipforgeError as exc:
            monitor.stop()
            terms = work.in_user_terms
            params = {k: terms(v) if isinstance(v, str) else v for k, v in exc.params.items()}
            self._failed(job, exc.code, terms(str(exc)), params)
        except Exception as exc:  # a bug, not a bad input: record it, keep the worker alive
            monitor.stop()
            log_event("worker.job_crashed", 40, job_id=job.id, exc_info=True)
            self._log(job, "".join(traceback.format_exception_only(exc)).strip())
            message = f"unexpected error while rendering: {exc}"
            self._failed(job, INTERNAL_ERROR_CODE, message, {"detail": str(exc)})
        finally:
            monitor.stop()
            label = self.run_job.metric_label(job)
            record_job_ended(outcome, time.monotonic() - started_s, label, monitor.fps())
            partial.unlink(missing_ok=True)
            for path in held:
                self.cache.release(path)
            self._sync_log(publish_job_log, job.id)

    def _work(self, job: ClaimedJob, partial: Path, held: list[Path]) -> JobWork:
        def hold(key: str) -> Path:
            path = self.cache.hold(self.storage, key)
            held.append(path)
            return path

        def log(message: str) -> None:
            self._log(job, message)

        return JobWork(job, partial, self.settings, self.sessions, self.storage, log, hold)

    def _finish(self, job: ClaimedJob, partial: Path, monitor: JobMonitor, name: str) -> bool:
        """Publish the output if this attempt still holds the job; False when it lost it."""
        if not partial.exists():
            raise LipforgeError(f"the render of {name} ended without writing a file")
        relpath = f"{job.batch_id}/{name}"
        staged = self.storage.stage_file(partial, output_key(relpath), move=True)
        try:
            monitor.stop()
            finished = queue.finish_job(self.sessions, job, relpath, staged.commit)
        finally:
            staged.abort()  # after a commit this does nothing
        if finished:
            self._log(job, f"succeeded: {relpath}")
            return True
        state = queue.job_control(self.sessions, job)
        if state.held:  # held but not finished: a cancel came in at the last moment
            raise CancelledError("cancelled")
        self._log(job, f"attempt {job.attempt} lost its lease; its output was discarded")
        return False

    def _stopped(self, job: ClaimedJob, state: LeaseState) -> None:
        if not state.held:
            self._log(job, f"attempt {job.attempt} stopped: the job was taken back or deleted")
        elif state.cancel_requested:
            queue.mark_cancelled(self.sessions, job)
            self._log(job, "cancelled on request; partial output removed")
        else:
            queue.release_job(self.sessions, job)
            self._log(job, "worker stopping: job returned to the queue")

    def _failed(self, job: ClaimedJob, code: str, message: str, params: dict | None = None) -> None:
        self._log(job, f"failed: {message}")
        if not queue.fail_job(self.sessions, job, code, message, params):
            self._log(job, f"attempt {job.attempt} had already lost its lease")

    def _log(self, job: ClaimedJob, message: str) -> None:
        self._log_id(job.id, message)

    def _log_id(self, job_id: str, message: str) -> None:
        try:
            append_job_log(self.logs_dir, job_id, message)
        except OSError as exc:
            log_event("worker.job_log_failed", 30, job_id=job_id, error=str(exc))

    def _sync_log(self, sync: Callable[..., None], job_id: str) -> None:
        """Take the job's log down from the store, or put it back (no-op on the data dir)."""
        try:
            sync(self.storage, self.logs_dir, job_id)
        except (LipforgeError, OSError) as exc:
            log_event("worker.job_log_failed", 30, job_id=job_id, error=str(exc))

    # --- housekeeping ---

    def _housekeeping_loop(self) -> None:
        next_reap = time.monotonic() + self.tuning.reap_interval_s
        next_retention = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            try:
                if now >= next_reap:
                    self.keep_house()
                    next_reap = now + self.tuning.reap_interval_s
                if now >= next_retention:
                    self.apply_retention()
                    next_retention = now + self.tuning.retention_interval_s
            except (SQLAlchemyError, OSError, LipforgeError) as exc:  # e.g. the store is down
                log_event("worker.housekeeping_failed", 30, error=str(exc))
            self._stop.wait(HOUSEKEEPING_TICK_S)

    def keep_house(self) -> None:
        """Reap stale jobs, remove unheld partial files, check the disk, heartbeat the worker."""
        dead = [w for w in queue.running_worker_ids(self.sessions) if is_local_worker_dead(w)]
        for job_id, status in queue.reap_stale_jobs(self.sessions, dead):
            log_event("worker.reaped", job_id=job_id, status=status)
            outcome = "back in the queue" if status == "queued" else status
            self._sync_log(fetch_job_log, job_id)
            self._log_id(job_id, f"its worker stopped answering; the job is {outcome}")
            self._sync_log(publish_job_log, job_id)
        self.remove_unheld_partials()
        self.paused_reason = self._disk_pause_reason()
        queue.touch_worker(self.sessions, self.worker_id, self.paused_reason)
        record_worker_heartbeat(self.worker_id)

    def _disk_pause_reason(self) -> str | None:
        try:
            ensure_free_space(
                self.outputs_dir, EXPECTED_OUTPUT_BYTES, self.settings.min_free_disk_bytes
            )
        except DiskFullError as exc:
            return f"queue paused: {exc}"
        return None

    def remove_unheld_partials(self) -> None:
        """Delete partial outputs of attempts no longer running (files listed before the query)."""
        partial_dir = self.outputs_dir / PARTIAL_DIR_NAME
        files = list(partial_dir.iterdir()) if partial_dir.exists() else []
        if not files:
            return
        held = queue.running_attempts(self.sessions)
        for path in files:
            match = PARTIAL_NAME.search(path.name)
            if match and (match[1], int(match[2])) in held:
                continue
            if match or time.time() - path.stat().st_mtime > STRAY_PARTIAL_AGE_S:
                path.unlink(missing_ok=True)

    def apply_retention(self) -> None:
        """Remove outputs older than Settings.output_retention_s, and old events."""
        now = utc_now()
        cutoff = now - timedelta(seconds=self.settings.output_retention_s)
        for relpath in queue.expire_outputs(self.sessions, cutoff):
            self.storage.delete(output_key(relpath))
        self.storage.abort_stale_uploads(STALE_UPLOAD_AGE_S)
        progress_cutoff = now - timedelta(seconds=PROGRESS_EVENT_RETENTION_S)
        prune_events(self.sessions, progress_before=progress_cutoff, all_before=cutoff)
        queue.forget_workers(self.sessions, silent_since=progress_cutoff)
