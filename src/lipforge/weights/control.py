"""The control file beside a `.part`: what is being fetched and which byte spans are done.

JSON, rewritten atomically (temp file, fsync, rename) so a run killed at any instant
leaves either the old or the new state. The `.part` is synced before the control file
claims its bytes. This module does not decide whether a saved state may be resumed;
`download.py` does, by comparing it with a fresh probe.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lipforge.weights.spans import Span, merge_spans

CONTROL_VERSION = 1


@dataclass
class ControlState:
    """A resumable download: its size, each source's validators, and the finished spans."""

    size_bytes: int
    sha256: str | None
    validators: dict[str, dict[str, str | None]] = field(default_factory=dict)
    done: list[Span] = field(default_factory=list)
    version: int = CONTROL_VERSION

    @property
    def done_bytes(self) -> int:
        return sum(end - start for start, end in self.done)


def load_control(path: Path) -> ControlState | None:
    """The saved state, or None when absent, unreadable or of another version."""
    try:
        raw = json.loads(path.read_text())
        state = ControlState(
            size_bytes=int(raw["size_bytes"]),
            sha256=raw.get("sha256"),
            validators=dict(raw.get("validators", {})),
            done=merge_spans([(int(s), int(e)) for s, e in raw.get("done", [])]),
            version=int(raw.get("version", 0)),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return state if state.version == CONTROL_VERSION else None


def save_control(path: Path, state: ControlState) -> None:
    temp = path.with_name(path.name + ".tmp")
    payload = asdict(state)
    payload["done"] = [list(span) for span in state.done]
    with open(temp, "w") as handle:
        json.dump(payload, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
