"""`RenderSpec`: what one output video is made of, the render's parameters of a queued job.

The queue (`jobs/`) keeps generic columns (status, attempt, lease, progress, error) and one
JSON column, `jobs.spec`, that it never reads; for a render it holds a `RenderSpec`: the
audio and video asset ids, the output's file name, the engine, the fit mode, and for a
scripted job its text, name and voice (the worker speaks it first and then records the
spoken audio's asset id here). The API shows these fields through `api/views.py`.

Adding a render parameter takes two edits: a field here, and the field in `JobView`
(`api/views.py`) if clients should see it. No migration: the spec is one JSON column.
This module holds no SQL and knows nothing of HTTP.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_ENGINE = "meshwarp"
DEFAULT_FIT = "pingpong"
SPEECH_STAGE = "speech"
RENDER_STAGE = "render"


@dataclass(frozen=True)
class RenderSpec:
    """The parameters of one render job, stored as the job's `spec` (JSON)."""

    audio_asset_id: str | None  # None: spoken from `script_text` by the worker first
    video_asset_id: str
    output_name: str
    engine: str = DEFAULT_ENGINE
    fit: str = DEFAULT_FIT
    script_text: str | None = None
    voice_name: str | None = None
    script_name: str | None = None

    @property
    def first_stage(self) -> str:
        """The stage a job starts in: its speech first when it has no audio yet."""
        return SPEECH_STAGE if self.audio_asset_id is None else RENDER_STAGE

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> RenderSpec:
        """The spec of a stored job; keys this version does not know are ignored."""
        known = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in (data or {}).items() if key in known})

    def with_audio(self, audio_asset_id: str) -> RenderSpec:
        return dataclasses.replace(self, audio_asset_id=audio_asset_id)
