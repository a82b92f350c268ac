"""`lipforge run --text-file F [--text-file G ...] --voice NAME --video V...`: scripts to videos.

Each script is spoken once with the voice (sentences cached in the data dir), then drives
every video. With one script the outputs are `OUT/<video-stem>.mp4` and `.srt`; with
several, `OUT/<script-stem>__<video-stem>.mp4` and `.srt` (a `.vtt` beside each too).
Each MP4 also carries the subtitles as a soft track. A script that cannot be spoken fails
its videos with its reason and the other scripts go on; the exit status is 1 if anything
failed. Called from `cli/run.py`; imports its heavy modules when it runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import typer

from lipforge.config import Settings
from lipforge.errors import LipforgeError

EXIT_SOME_FAILED = 1
EXIT_INTERRUPTED = 130


@dataclass
class Outcome:
    script: Path
    video: Path
    output: Path
    reason: str = ""
    frames: int = 0
    elapsed_s: float = 0.0


def output_names(scripts: list[Path], videos: list[Path]) -> list[list[str]]:
    """Per script, per video: `<video>.mp4`, or `<script>__<video>.mp4` with several scripts,
    by filenames.py's rule (Chinese kept, unsafe characters replaced, repeats numbered)."""
    from lipforge.filenames import file_stem, unique_file_name

    taken: set[str] = set()
    names = []
    for script_number, script in enumerate(scripts, start=1):
        script_stem = file_stem(script.name) or f"script{script_number}"
        row = []
        for video_number, video in enumerate(videos, start=1):
            video_stem = file_stem(video.name) or f"video{video_number}"
            stem = f"{script_stem}__{video_stem}" if len(scripts) > 1 else video_stem
            row.append(unique_file_name(stem, taken))
        names.append(row)
    return names


def run_scripts(
    scripts: list[Path],
    voice_name: str,
    videos: list[Path],
    out: Path,
    engine: str,
    fit: str,
    settings: Settings,
) -> int:
    """Speak, render, write subtitles; the exit status."""
    from lipforge.cli.say import read_script
    from lipforge.cli.voices import open_sessions
    from lipforge.speech.voices import get_voice

    texts = [read_script(None, path) for path in scripts]
    _settings, sessions, db_engine = open_sessions(settings.data)
    try:
        with sessions() as session:
            voice = get_voice(session, voice_name)
    finally:
        db_engine.dispose()
    out.mkdir(parents=True, exist_ok=True)
    outcomes = []
    names = output_names(scripts, videos)
    for script, text, row in zip(scripts, texts, names, strict=True):
        planned = [Outcome(script, v, out / name) for v, name in zip(videos, row, strict=True)]
        outcomes += _run_script(script, text, voice, planned, engine, fit, settings)
    _summary(outcomes)
    return EXIT_SOME_FAILED if any(o.reason for o in outcomes) else 0


def _run_script(script, text, voice, outcomes, engine, fit, settings) -> list[Outcome]:
    from lipforge.speech.script import synthesize_script

    audio = settings.data_dir.root / "cache" / "speech-out" / f"{script.stem}-{voice.name}.wav"
    typer.echo(f"speaking {script.name} with {voice.name} ...")
    started = time.monotonic()
    try:
        speech = synthesize_script(voice, text, audio, settings, _speech_progress(script))
    except LipforgeError as exc:
        typer.echo(f"✗ {script.name}: {exc}", err=True)
        for outcome in outcomes:
            outcome.reason = f"speech failed: {exc}"
        return outcomes
    typer.echo(
        f"  {speech.duration_s:.1f} s of speech, {len(speech.timing.sentences)} sentences, "
        f"{speech.pieces_synthesized} synthesized ({time.monotonic() - started:.1f} s)"
    )
    try:
        for outcome in outcomes:
            _render(outcome, audio, speech.timing, engine, fit, settings)
    finally:
        audio.unlink(missing_ok=True)
    return outcomes


def _speech_progress(script: Path):
    def report(done: int, total: int) -> None:
        if total and (done == total or done % 10 == 0):
            typer.echo(f"  {script.name}: {done}/{total} sentences")

    return report


def _render(outcome: Outcome, audio: Path, timing, engine: str, fit: str, settings) -> None:
    from lipforge.lipsync.pipeline import RenderRequest, render
    from lipforge.media.subtitles import add_subtitle_track, write_sidecars

    request = RenderRequest.from_settings(
        settings,
        audio_path=audio,
        video_path=outcome.video,
        output_path=outcome.output,
        engine=engine,
        fit=fit,
        timing=timing,
    )
    started = time.monotonic()
    last = {"at": 0.0, "done": -1}

    def report(done: int, total: int) -> None:
        due = time.monotonic() - last["at"] >= 2 or done == total
        if due and done != last["done"]:
            last.update(at=time.monotonic(), done=done)
            typer.echo(f"  {outcome.output.name}: {done}/{total} frames")

    try:
        result = render(request, report)
        add_subtitle_track(outcome.output, timing.sentences, timing.language)
        write_sidecars(outcome.output, timing.sentences)
        outcome.frames = result.frame_count
    except LipforgeError as exc:
        outcome.reason = str(exc)
        typer.echo(f"✗ {outcome.video.name}: {exc}", err=True)
    finally:
        outcome.elapsed_s = time.monotonic() - started


def _summary(outcomes: list[Outcome]) -> None:
    for o in outcomes:
        if o.reason:
            typer.echo(f"failed\t{o.script.name} x {o.video.name}\t{o.reason}")
        else:
            srt = o.output.with_suffix(".srt")
            typer.echo(f"done\t{o.output}\t{srt}\t{o.frames} frames\t{o.elapsed_s:.1f} s")
    failed = sum(1 for o in outcomes if o.reason)
    typer.echo(f"{len(outcomes) - failed} done, {failed} failed.")
