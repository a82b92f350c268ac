"""Runs HeyGem input downloads on daemon threads of their own, never on a request's pool.

`run_in_background(work)` queues `work` (a callable taking no arguments) for one of
`FETCH_THREADS` daemon threads, started on first use. A download that trickles holds one of
these threads until its deadline, never a thread that serves routes; being daemons, they
never keep a stopping process alive. What the work does and how it records its outcome is
`tasks.py`'s; this module only runs it and logs what escapes.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from lipforge.logs import log_event

FETCH_THREADS = 4

_work: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
_started: list[threading.Thread] = []
_lock = threading.Lock()


def run_in_background(work: Callable[[], None]) -> None:
    with _lock:
        while len(_started) < FETCH_THREADS:
            thread = threading.Thread(target=_serve, name="heygem-fetch", daemon=True)
            thread.start()
            _started.append(thread)
    _work.put(work)


def _serve() -> None:
    while True:
        work = _work.get()
        try:
            work()
        except Exception as exc:  # noqa: BLE001 - the work records its own failures
            log_event("heygem.background_error", error=f"{type(exc).__name__}: {exc}")
