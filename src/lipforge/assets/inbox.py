"""The inbox folder: files dropped into inbox/ (rsync, scp, a file manager) become assets.

A file is taken once it is complete: its size and mtime unchanged for `settle_s`
seconds. Dotfiles and dot-folders are never touched (rsync writes `.name.XXXXXX`
and renames when done), nor is `rejected/`, where a refused file goes with a
`<name>.reason.txt` beside it. `watch_inbox` is the API process's background
service; the blocking work runs in a thread. The import itself is
`library.ingest_file`; this module only decides when and records refusals.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from lipforge.assets.library import ingest_file
from lipforge.config import Settings
from lipforge.errors import LipforgeError, MediaError
from lipforge.logs import log_event

INBOX_POLL_INTERVAL_S = 1.0
INBOX_SETTLE_S = 3.0
INBOX_RETRY_DELAY_S = 60.0
REJECTED_DIR_NAME = "rejected"
REASON_SUFFIX = ".reason.txt"


@dataclass(frozen=True)
class InboxOutcome:
    """What became of one settled file: an asset id, or the reason it was refused."""

    name: str
    asset_id: str | None = None
    reason: str | None = None


@dataclass
class _Sighting:
    size_bytes: int
    mtime_ns: int
    unchanged_since_s: float


class InboxWatcher:
    """Remembers what it saw in inbox/ and imports each file once it has settled."""

    def __init__(
        self, settings: Settings, sessions: sessionmaker, settle_s: float = INBOX_SETTLE_S
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.settle_s = settle_s
        self.inbox = settings.data_dir.inbox
        self.sightings: dict[Path, _Sighting] = {}

    def scan(self, now_s: float | None = None) -> list[InboxOutcome]:
        """Look once; import or refuse every file unchanged for `settle_s`. Blocking."""
        now_s = time.monotonic() if now_s is None else now_s
        present = set(self._candidates())
        for gone in set(self.sightings) - present:
            del self.sightings[gone]
        outcomes = []
        for path in sorted(present):
            if self._has_settled(path, now_s):
                outcome = self._take(path, now_s)
                if outcome is not None:
                    outcomes.append(outcome)
        return outcomes

    def _candidates(self):
        for directory, subdirectories, files in os.walk(self.inbox):
            at_top = Path(directory) == self.inbox
            subdirectories[:] = [
                name
                for name in subdirectories
                if not name.startswith(".") and not (at_top and name == REJECTED_DIR_NAME)
            ]
            for name in files:
                if not name.startswith("."):
                    yield Path(directory) / name

    def _has_settled(self, path: Path, now_s: float) -> bool:
        try:
            stat_result = path.lstat()
        except FileNotFoundError:
            return False
        seen = self.sightings.get(path)
        if seen is None or (seen.size_bytes, seen.mtime_ns) != (
            stat_result.st_size,
            stat_result.st_mtime_ns,
        ):
            self.sightings[path] = _Sighting(stat_result.st_size, stat_result.st_mtime_ns, now_s)
            return False
        return now_s - seen.unchanged_since_s >= self.settle_s

    def _take(self, path: Path, now_s: float) -> InboxOutcome | None:
        try:
            if path.is_symlink():
                raise MediaError(f"{path.name} is a symbolic link; copy the file itself.")
            asset = ingest_file(path, path.name, "inbox", self.sessions, self.settings)
        except MediaError as exc:
            self.sightings.pop(path, None)
            if not path.exists():
                return None
            reject(self.inbox, path, str(exc))
            return InboxOutcome(path.name, reason=str(exc))
        except FileNotFoundError:
            self.sightings.pop(path, None)
            return None
        except (LipforgeError, OSError) as exc:
            log_event("inbox.retry_later", logging.ERROR, name=path.name, reason=str(exc))
            self.sightings[path].unchanged_since_s = now_s + INBOX_RETRY_DELAY_S
            return None
        self.sightings.pop(path, None)
        log_event("inbox.imported", name=path.name, asset_id=asset.id)
        return InboxOutcome(path.name, asset_id=asset.id)


def reject(inbox: Path, path: Path, reason: str) -> Path:
    """Move a refused file to inbox/rejected/ with `<name>.reason.txt`; its new path."""
    rejected_dir = inbox / REJECTED_DIR_NAME
    rejected_dir.mkdir(exist_ok=True)
    target = rejected_dir / path.name
    counter = 1
    while target.exists() or target.with_name(target.name + REASON_SUFFIX).exists():
        target = rejected_dir / f"{path.stem}-{counter}{path.suffix}"
        counter += 1
    os.replace(path, target)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    target.with_name(target.name + REASON_SUFFIX).write_text(f"{reason}\n(refused {stamp})\n")
    log_event("inbox.rejected", logging.WARNING, name=path.name, reason=reason)
    return target


async def watch_inbox(app) -> None:
    """Background service of the API process: scan inbox/ every second, forever."""
    settings = app.state.settings
    watcher = InboxWatcher(settings, app.state.sessions, settle_s=settings.inbox_settle_s)
    while True:
        try:
            await asyncio.to_thread(watcher.scan)
        except Exception:
            log_event("inbox.scan_failed", logging.ERROR, exc_info=True)
        await asyncio.sleep(INBOX_POLL_INTERVAL_S)
