"""Scripts in batches: N scripts x M videos, one job per pair, each spoken by the worker first.

`ScriptRequest(text, voice, name)` is one script as a client sends it. `check_scripts`
refuses an empty or over-long script and a voice that does not exist (naming it) before
anything is queued; `script_job_specs` makes the jobs with unique output names
(`<script>-<video>.mp4`); `estimated_frames` guesses a scripted job's length from its text
until its speech exists. The speaking itself is `render/speech_stage.py`'s, in the worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import sessionmaker

from lipforge.assets.table import Asset
from lipforge.errors import LipforgeError
from lipforge.render.spec import RenderSpec
from lipforge.speech.sentences import HAN

MAX_SCRIPT_CHARS = 20_000
HAN_CHARS_PER_S = 4.5  # Mandarin read aloud
LATIN_CHARS_PER_S = 14.0  # English read aloud


class InvalidScriptError(LipforgeError):
    """Raised when a batch's script is empty, too long, or names a voice that does not exist."""

    code = "invalid_script"
    http_status = 422


class ScriptVoiceMissingError(InvalidScriptError):
    """Raised when a batch's script names a voice that does not exist (404, as an asset would)."""

    http_status = 404


@dataclass(frozen=True)
class ScriptRequest:
    text: str
    voice: str
    name: str = ""  # for output names (e.g. the script file's stem); default script<N>


def check_scripts(sessions: sessionmaker, scripts: Sequence[ScriptRequest]) -> None:
    from lipforge.speech.errors import VoiceNotFoundError
    from lipforge.speech.voices import get_voice

    with sessions() as session:
        for number, script in enumerate(scripts, start=1):
            label = script.name or f"script {number}"
            if not script.text.strip():
                raise InvalidScriptError(f"{label} is empty.", script=label)
            if len(script.text) > MAX_SCRIPT_CHARS:
                raise InvalidScriptError(
                    f"{label} has {len(script.text)} characters; a script holds at most "
                    f"{MAX_SCRIPT_CHARS}. Split it.",
                    script=label,
                    chars=len(script.text),
                    limit=MAX_SCRIPT_CHARS,
                )
            try:
                get_voice(session, script.voice)
            except VoiceNotFoundError as exc:
                raise ScriptVoiceMissingError(
                    f"{label}: {exc}", script=label, voice=script.voice
                ) from None


def script_job_specs(
    scripts: Sequence[ScriptRequest],
    videos: Sequence[Asset],
    engine: str,
    fit: str,
    taken: set[str],
    stem_of,
) -> list[RenderSpec]:
    """One job per (script, video) in request order; names unique among `taken` (updated)."""
    specs = []
    for number, script in enumerate(scripts, start=1):
        script_stem = stem_of(script.name) or f"script{number}"
        for video in videos:
            video_stem = stem_of(video.original_name) or video.id
            stem = (
                f"{script_stem}-{video_stem}"
                if len(scripts) > 1
                else (f"{video_stem}-{script_stem}")
            )
            name, counter = f"{stem}.mp4", 2
            while name in taken:
                name, counter = f"{stem}-{counter}.mp4", counter + 1
            taken.add(name)
            specs.append(
                RenderSpec(
                    None,
                    video.id,
                    name,
                    engine,
                    fit,
                    script_text=script.text,
                    voice_name=script.voice,
                    script_name=script.name or f"script{number}",
                )
            )
    return specs


def estimated_speech_s(text: str) -> float:
    han = len(HAN.findall(text))
    return han / HAN_CHARS_PER_S + (len(text) - han) / LATIN_CHARS_PER_S


def estimated_frames(text: str, video: Asset, fit: str) -> int:
    duration_s = estimated_speech_s(text)
    if fit == "trim":
        duration_s = min(duration_s, video.duration_s)
    return max(1, round(duration_s * (video.fps or 25.0)))


def subtitles_for_job(sessions: sessionmaker, job_id: str, kind: str) -> tuple[str, str]:
    """A scripted job's subtitles as SRT or WebVTT text, and a download name for them."""
    from lipforge.errors import ConflictError
    from lipforge.jobs.queue import get_job

    with sessions() as session:
        job = get_job(session, job_id)
        spec = RenderSpec.from_json(job.spec)
        timing = _speech_timing(session, spec)
    if timing is None:
        state = "was not made from a script" if not spec.script_text else "has no speech yet"
        raise ConflictError(
            f"Job {job_id} {state}, so it has no subtitles.", job_id=job_id, state=state
        )
    return _subtitle_file(spec, timing, kind)


def archive_subtitles(sessions: sessionmaker, batch_id: str) -> list[tuple[str, bytes]]:
    """(`<output stem>.srt`/`.vtt`, text) for each succeeded scripted job of the batch."""
    from lipforge.jobs.queue import list_batch_jobs
    from lipforge.jobs.tables import JobStatus

    files = []
    with sessions() as session:
        for job in list_batch_jobs(session, batch_id):
            spec = RenderSpec.from_json(job.spec)
            if job.status != JobStatus.SUCCEEDED or not spec.script_text:
                continue
            timing = _speech_timing(session, spec)
            for kind in ("srt", "vtt") if timing is not None else ():
                text, name = _subtitle_file(spec, timing, kind)
                files.append((name, text.encode()))
    return files


def _speech_timing(session, spec: RenderSpec):
    """The sentence timing of the speech a scripted job was given, or None."""
    from lipforge.speech.assets import timing_of

    asset = session.get(Asset, spec.audio_asset_id) if spec.audio_asset_id else None
    return timing_of(asset) if asset is not None else None


def _subtitle_file(spec: RenderSpec, timing, kind: str) -> tuple[str, str]:
    """(text, `<output stem>.<kind>`) of a job's subtitles, `kind` srt or vtt."""
    from lipforge.media.subtitles import srt_text, vtt_text

    text = srt_text(timing.sentences) if kind == "srt" else vtt_text(timing.sentences)
    return text, f"{spec.output_name.rsplit('.', 1)[0]}.{kind}"
