"""A worker process whose runner does no media work: it records (job, attempt, pid) in a
ledger file and writes a tiny output. Used to test the queue across real processes.

Usage: python noop_worker.py DATA_DIR LEDGER [FRAME_S]   (LIPFORGE_DATABASE_URL from the env)
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from lipforge.config import Settings
from lipforge.errors import CancelledError
from lipforge.jobs.process import run_worker_process
from lipforge.jobs.worker import WorkerTuning
from lipforge.render.runner import RenderContext, RenderRunner

TUNING = WorkerTuning(idle_poll_s=0.05, reap_interval_s=0.5, progress_min_interval_s=0.05)


def main() -> None:
    data_dir, ledger = Path(sys.argv[1]), Path(sys.argv[2])
    frame_s = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0

    def record(context: RenderContext, on_progress, should_cancel) -> None:
        line = f"{context.job.id} {context.job.attempt} {os.getpid()}\n".encode()
        fd = os.open(ledger, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.write(fd, line)
        os.close(fd)
        for frame in range(3):
            if should_cancel():
                raise CancelledError("cancelled")
            on_progress(frame + 1, 3)
            time.sleep(frame_s)
        context.output_path.write_bytes(context.job.id.encode())

    settings = Settings.from_env().with_overrides(data=data_dir)
    run_worker_process(settings, RenderRunner(record), tuning=TUNING)


if __name__ == "__main__":
    main()
