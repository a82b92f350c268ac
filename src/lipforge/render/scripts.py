"""Scripts in batches: N scripts x M videos, one job per pair, each spoken by the worker first.

`ScriptRequest(text, voice, name)` is one script as a client sends it. `check_scripts`
refuses an empty or over-long script and a voice that does not exist (naming it) before
anything is queued; `script_job_specs` makes the jobs with unique output names
(`<video>-<script>.mp4`, or `<script>-<video>.mp4` when there are several scripts);
`estimated_frames` guesses a scripted job's length from its text
until its speech exists. The speaking itself is `render/speech_stage.py`'s, in the worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import sessionmaker

from lipforge.assets.table import Asset
from lipforge.errors import LipforgeError
from lipforge.filenames import file_stem, joined_stem, safe_stem, unique_file_name
from lipforge.render.spec import RenderSpec
from lipforge.speech.sentences import HAN

MAX_SCRIPT_CHARS = 20_000
HAN_CHARS_PER_S = 4.5  # Mandarin read aloud
LATIN_CHARS_PER_S = 14.0  # English read aloud
SCRIPT_FILE_SUFFIXES = (".txt", ".md")  # dropped from a script's name in output names


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
) -> list[RenderSpec]:
    """One job per (script, video) in request order; names unique among `taken` (updated,
    casefolded), made by filenames.py's rule."""
    specs = []
    for number, script in enumerate(scripts, start=1):
        script_stem = _script_stem(script.name) or f"script{number}"
        for video in videos:
            video_stem = file_stem(video.original_name) or video.id
            pair = [script_stem, video_stem] if len(scripts) > 1 else [video_stem, script_stem]
            specs.append(
                RenderSpec(
                    None,
                    video.id,
                    unique_file_name(joined_stem(pair), taken),
                    engine,
                    fit,
                    script_text=script.text,
                    voice_name=script.voice,
                    script_name=script.name or f"script{number}",
                )
            )
    return specs


def _script_stem(name: str) -> str:
    """A script's name as part of a file name: "第一课.txt" and "第一课" give "第一课"."""
    for suffix in SCRIPT_FILE_SUFFIXES:
        if name.lower().endswith(suffix):
            return file_stem(name)
    return safe_stem(name)


def estimated_speech_s(text: str) -> float:
    han = len(HAN.findall(text))
    return han / HAN_CHARS_PER_S + (len(text) - han) / LATIN_CHARS_PER_S


@dataclass(frozen=True)
class ScriptPlan:
    """What the worker will make of a script with a voice, before any speech: the pieces
    (sentences, long ones cut at commas, as the speech stage cuts them) and the length."""

    language: str
    pieces: list[str]
    sentences: int
    estimated_s: float


def plan_script(sessions: sessionmaker, text: str, voice_name: str, pause_s: float) -> ScriptPlan:
    """The dry run behind the page's "N sentences, about M:SS": the server's own splitter."""
    from lipforge.speech.engines import speech_engine_class
    from lipforge.speech.sentences import max_piece_chars, script_language, split_script
    from lipforge.speech.voices import get_voice

    with sessions() as session:
        voice = get_voice(session, voice_name)
    language = script_language(text)
    limit = speech_engine_class(voice.engine).max_input_chars
    pieces = split_script(text, max_piece_chars(language, limit))
    ends = sum(1 for piece in pieces if piece.ends_sentence)
    seconds = round(_spoken_s(pieces, pause_s), 1)
    return ScriptPlan(language, [piece.text for piece in pieces], ends, seconds)


def _spoken_s(pieces, pause_s: float) -> float:
    """Reading time of the pieces plus the speech stage's pauses (half after a comma cut)."""
    ends = sum(1 for piece in pieces if piece.ends_sentence)
    pauses_s = ends * pause_s + (len(pieces) - ends) * pause_s / 2
    return estimated_speech_s("".join(piece.text for piece in pieces)) + pauses_s


def estimated_frames(text: str, video: Asset, fit: str) -> int:
    """A scripted job's frames until its speech exists: the page's estimate at the video's rate."""
    from lipforge.config import Settings
    from lipforge.speech.sentences import max_piece_chars, script_language, split_script

    pieces = split_script(text, max_piece_chars(script_language(text), MAX_SCRIPT_CHARS))
    duration_s = _spoken_s(pieces, Settings.speech_pause_s)
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
