"""Model pulls started by the server: one background thread per model, progress as events.

`ModelPulls.start(name)` runs `pull.pull_model` in a daemon thread (a second start of
the same model while it runs returns the running one) and publishes `model.progress`
(at most every PROGRESS_EVENT_INTERVAL_S), then `model.pulled` or `model.failed`, through
`lipforge.events.publish_event`, so they reach the SSE stream. A pull cut short by
a restart resumes from its control file next time. No HTTP here (`api/routes_models.py`).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from lipforge.errors import LipforgeError
from lipforge.weights.pull import PullOptions, pull_model
from lipforge.weights.registry import ModelFile, get_model
from lipforge.weights.request import DownloadProgress

PROGRESS_EVENT_INTERVAL_S = 0.5


@dataclass
class PullState:
    """What the API shows about a pull the server runs."""

    name: str
    status: str = "running"  # running | done | failed
    phase: str = "starting"
    done_bytes: int = 0
    total_bytes: int | None = None
    error: str | None = None
    started_at: float = field(default_factory=time.time)

    def to_dict(self) -> dict:
        return {
            "status": self.status,
            "phase": self.phase,
            "done_bytes": self.done_bytes,
            "total_bytes": self.total_bytes,
            "error": self.error,
        }


class ModelPulls:
    """The server's pulls, by model name."""

    def __init__(self, sessions: sessionmaker, models_dir: Path, options: PullOptions) -> None:
        self.sessions = sessions
        self.models_dir = models_dir
        self.options = options
        self._states: dict[str, PullState] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def state(self, name: str) -> PullState | None:
        return self._states.get(name)

    def start(self, name: str) -> PullState:
        entry = get_model(name, self.models_dir)
        with self._lock:
            running = self._threads.get(name)
            if running is not None and running.is_alive():
                return self._states[name]
            state = PullState(name)
            self._states[name] = state
            thread = threading.Thread(
                target=self._run, args=(entry, state), name=f"pull-{name}", daemon=True
            )
            self._threads[name] = thread
        self._publish("model.pull_started", {"model": name})
        thread.start()
        return state

    def stop_all(self) -> None:
        self._stop.set()

    def _run(self, entry, state: PullState) -> None:
        reporter = _ProgressEvents(self, state)
        try:
            results = pull_model(
                entry, self.models_dir, self.options, reporter, should_cancel=self._stop.is_set
            )
        except LipforgeError as exc:
            state.status, state.error = "failed", str(exc)
            self._publish("model.failed", {"model": entry.name, "error": str(exc)})
            return
        except Exception as exc:  # noqa: BLE001 - a thread has no caller to raise to
            state.status, state.error = "failed", f"unexpected error: {exc!r}"
            self._publish("model.failed", {"model": entry.name, "error": state.error})
            raise
        state.status, state.phase = "done", "done"
        files = [{"path": str(r.path), "sha256": r.sha256, "pinned": r.pinned} for r in results]
        self._publish("model.pulled", {"model": entry.name, "files": files})

    def _publish(self, kind: str, payload: dict) -> None:
        from lipforge.events import publish_event

        with self.sessions() as session:
            publish_event(session, kind, payload)
            session.commit()


class _ProgressEvents:
    """The pull's progress callback: updates the state, publishes throttled events."""

    def __init__(self, pulls: ModelPulls, state: PullState) -> None:
        self.pulls, self.state = pulls, state
        self._published_at = 0.0
        self._phase = ""

    def __call__(self, model_file: ModelFile, progress: DownloadProgress) -> None:
        state = self.state
        state.phase, state.done_bytes, state.total_bytes = (
            progress.phase,
            progress.done_bytes,
            progress.total_bytes,
        )
        now = time.monotonic()
        if progress.phase == self._phase and now - self._published_at < PROGRESS_EVENT_INTERVAL_S:
            return
        self._phase, self._published_at = progress.phase, now
        payload = {"model": state.name, "file": model_file.filename, **state.to_dict()}
        self.pulls._publish("model.progress", payload)


async def model_pulls_service(app) -> None:
    """Background service: at shutdown, stop running pulls (their control files keep them)."""
    import asyncio

    try:
        await asyncio.Event().wait()
    finally:
        pulls = getattr(app.state, "model_pulls", None)
        if pulls is not None:
            pulls.stop_all()
