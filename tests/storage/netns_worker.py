"""`lipforge worker`'s body (run_worker_process) with a short lease and a runner that does no
media work, for the separate-hosts test: the output names the host that made it and the
sha256 of the input bytes it got (through its own input cache), after `FRAMES` steps of
`FRAME_S` seconds. Settings (database, storage) come from the environment like the CLI's.

Usage: python netns_worker.py DATA_DIR [FRAME_S]
"""

from __future__ import annotations

import hashlib
import socket
import sys
import time
from pathlib import Path

from lipforge.config import Settings
from lipforge.errors import CancelledError
from lipforge.jobs.process import run_worker_process
from lipforge.jobs.worker import WorkerTuning
from lipforge.render.runner import RenderContext, RenderRunner

FRAMES = 5
TUNING = WorkerTuning(
    heartbeat_interval_s=0.5,
    lease_s=3.0,
    reap_interval_s=0.5,
    progress_min_interval_s=0.1,
    cancel_poll_interval_s=0.5,
    idle_poll_s=0.1,
)


def output_bytes(host: str, audio: bytes, video: bytes) -> bytes:
    digests = [hashlib.sha256(data).hexdigest() for data in (audio, video)]
    return f"{host} {digests[0]} {digests[1]}\n".encode()


def main() -> None:
    data_dir = Path(sys.argv[1])
    frame_s = float(sys.argv[2]) if len(sys.argv) > 2 else 0.25

    def run(context: RenderContext, on_progress, should_cancel) -> None:
        for frame in range(FRAMES):
            if should_cancel():
                raise CancelledError("cancelled")
            time.sleep(frame_s)
            on_progress(frame + 1, FRAMES)
        body = output_bytes(
            socket.gethostname(), context.audio_path.read_bytes(), context.video_path.read_bytes()
        )
        context.output_path.write_bytes(body)

    settings = Settings.from_env().with_overrides(data=data_dir)
    run_worker_process(settings, RenderRunner(run), tuning=TUNING)


if __name__ == "__main__":
    main()
