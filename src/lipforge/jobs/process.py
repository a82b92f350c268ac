"""Running a worker as a process: `run_worker_process` (the body of `lipforge worker`) and
`WorkerSupervisor`, which `lipforge serve` uses to keep one worker child alive.

The worker process stops cleanly on SIGTERM/SIGINT/SIGHUP (running jobs go back to the queue)
and, when started by `serve`, also when its parent is gone. The supervisor starts the
child again if it dies (its jobs are taken back by the new worker's reaper at once,
because the dead worker ran on this host). This module has no queue logic of its own, and
it runs whatever `JobRunner` it is handed (the CLI hands it `render/runner.py`'s).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import threading
import time

from lipforge.config import Settings
from lipforge.db import create_db_engine, migrate, session_factory
from lipforge.jobs.worker import JobRunner, Worker, WorkerTuning
from lipforge.logs import configure_logging, divert_native_stderr, log_event

PARENT_CHECK_INTERVAL_S = 0.5
RESTART_DELAY_S = 1.0
MAX_RESTART_DELAY_S = 60.0  # a worker that keeps dying at start is retried at most this often
HEALTHY_RUN_S = 30.0  # a worker that ran this long is restarted without delay growth
SUPERVISOR_TICK_S = 0.5


def run_worker_process(
    settings: Settings,
    run_job: JobRunner,
    parent_pid: int | None = None,
    tuning: WorkerTuning | None = None,
) -> None:
    """Run a worker in this process until SIGTERM/SIGINT (or the parent process is gone)."""
    settings.data_dir.ensure()
    configure_logging(settings.data_dir.logs, file_name=f"worker-{socket.gethostname()}.log")
    divert_native_stderr(settings.data_dir.logs)
    migrate(settings.effective_database_url)
    engine = create_db_engine(settings.effective_database_url)
    stop = threading.Event()
    _install_stop_signals(stop)
    if parent_pid is not None:
        threading.Thread(target=_watch_parent, args=(parent_pid, stop), daemon=True).start()
    sessions = session_factory(engine)
    worker = Worker(settings, sessions, settings.worker_slots, run_job=run_job, tuning=tuning)
    try:
        worker.run(stop)
    finally:
        engine.dispose()


def _install_stop_signals(stop: threading.Event) -> None:
    def request_stop(signum: int, _frame: object) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise SystemExit(128 + signum)  # a second Ctrl-C: do not wait for the slots
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGHUP, request_stop)  # a closed terminal stops it like Ctrl-C


def _watch_parent(parent_pid: int, stop: threading.Event) -> None:
    while not stop.wait(PARENT_CHECK_INTERVAL_S):
        if os.getppid() != parent_pid:
            log_event("worker.parent_gone", parent_pid=parent_pid)
            stop.set()


def _worker_main(settings: Settings, run_job: JobRunner, parent_pid: int) -> None:
    run_worker_process(settings, run_job, parent_pid=parent_pid)


class WorkerSupervisor:
    """Keeps one worker child process running; looks like a `multiprocessing.Process` to serve."""

    def __init__(self, settings: Settings, run_job: JobRunner) -> None:
        self.settings = settings
        self.run_job = run_job  # picklable: the child process is spawned
        self._context = multiprocessing.get_context("spawn")
        self._child: multiprocessing.process.BaseProcess | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._supervise, name="worker-supervisor", daemon=True
        )
        self.restarts = 0

    def start(self) -> WorkerSupervisor:
        self._child = self._spawn()
        self._thread.start()
        return self

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child is not None else None

    def is_alive(self) -> bool:
        """True while supervising (even between a crash and the restart) or the child runs."""
        child_alive = self._child is not None and self._child.is_alive()
        return child_alive or (self._thread.is_alive() and not self._stopping.is_set())

    def terminate(self) -> None:
        """Stop restarting and ask the worker to stop (SIGTERM: jobs go back to the queue)."""
        self._stopping.set()
        if self._child is not None:
            self._child.terminate()

    def join(self, timeout: float | None = None) -> None:
        if self._child is not None:
            self._child.join(timeout)

    def kill(self) -> None:
        self._stopping.set()
        if self._child is not None:
            self._child.kill()

    def _spawn(self) -> multiprocessing.process.BaseProcess:
        child = self._context.Process(
            target=_worker_main,
            args=(self.settings, self.run_job, os.getpid()),
            name="lipforge-worker",
        )
        child.start()
        log_event("serve.worker_started", pid=child.pid)
        return child

    def _supervise(self) -> None:
        delay_s = RESTART_DELAY_S
        started = time.monotonic()
        while not self._stopping.wait(SUPERVISOR_TICK_S):
            child = self._child
            if child is None or child.is_alive():
                continue
            log_event("serve.worker_died", 30, pid=child.pid, exit_code=child.exitcode)
            lived_s = time.monotonic() - started
            delay_s = (
                RESTART_DELAY_S
                if lived_s > HEALTHY_RUN_S
                else min(delay_s * 2, MAX_RESTART_DELAY_S)
            )
            if not self._stopping.wait(delay_s):
                self.restarts += 1
                self._child = self._spawn()
                started = time.monotonic()


def start_worker_supervisor(settings: Settings, run_job: JobRunner) -> WorkerSupervisor:
    """Start a supervised worker child for `lipforge serve`."""
    return WorkerSupervisor(settings, run_job).start()
