"""A script spoken into an audio asset that remembers its script, voice and timing.

`speak_to_asset(sessions, settings, voice_name, text, name)` looks the voice up, speaks
the script into a scratch WAV in the data dir, and ingests it through the asset library
(so the same script and voice give the same bytes, hence the same asset), then records
`script_text`, `voice_name` and `speech_timing` on it. `timing_of(asset)` reads the
timing back (None for an audio that was not spoken from a script).
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import sessionmaker

from lipforge.assets.library import ingest_file
from lipforge.assets.table import Asset
from lipforge.config import Settings
from lipforge.filenames import file_stem
from lipforge.media.timing import SpeechTiming
from lipforge.speech.script import CancelCheck, ProgressCallback, SpeechResult, synthesize_script
from lipforge.speech.voices import get_voice

SPEECH_SOURCE = "speech"


def speak_to_asset(
    sessions: sessionmaker,
    settings: Settings,
    voice_name: str,
    text: str,
    name: str,
    on_progress: ProgressCallback | None = None,
    should_cancel: CancelCheck | None = None,
) -> tuple[Asset, SpeechResult]:
    with sessions() as session:
        voice = get_voice(session, voice_name)
    scratch_dir = settings.data_dir.root / "cache" / "speech-out"
    scratch = scratch_dir / f"{uuid.uuid4().hex}.wav"
    try:
        result = synthesize_script(voice, text, scratch, settings, on_progress, should_cancel)
        file_name = f"{file_stem(name) or 'script'}-{voice.name}.wav"
        asset = ingest_file(scratch, file_name, SPEECH_SOURCE, sessions, settings)
    finally:
        scratch.unlink(missing_ok=True)
    with sessions.begin() as session:
        row = session.get(Asset, asset.id)
        row.script_text = text
        row.voice_name = voice.name
        row.speech_timing = result.timing.to_json()
    asset.script_text, asset.voice_name = text, voice.name
    asset.speech_timing = result.timing.to_json()
    return asset, result


def timing_of(asset: Asset) -> SpeechTiming | None:
    return SpeechTiming.from_json(asset.speech_timing) if asset.speech_timing else None
