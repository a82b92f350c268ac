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
from typing import TYPE_CHECKING

import typer

from lipforge.config import Settings
from lipforge.errors import LipforgeError

if TYPE_CHECKING:
    from rich.progress import Progress

EXIT_SOME_FAILED = 1
EXIT_INTERRUPTED = 130
INTERRUPTED_NOTE = "Interrupted; nothing half-written was left."


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
    from lipforge.cli.datadir import where_written
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
    typer.echo(
        f"(voice {voice.name} and sentence cache from the {where_written(settings)})", err=True
    )
    out.mkdir(parents=True, exist_ok=True)
    outcomes = []
    names = output_names(scripts, videos)
    try:
        with _progress() as progress:
            for script, text, row in zip(scripts, texts, names, strict=True):
                planned = [Outcome(script, v, out / n) for v, n in zip(videos, row, strict=True)]
                options = (engine, fit, settings)
                outcomes += _run_script(script, text, voice, planned, options, progress)
    except KeyboardInterrupt:  # the pipeline removed the partial file of the current video
        typer.echo(INTERRUPTED_NOTE)
        return EXIT_INTERRUPTED
    _summary(outcomes)
    return EXIT_SOME_FAILED if any(o.reason for o in outcomes) else 0


def _progress() -> Progress:
    """One bar per script's speech (sentences) and per video (frames, fps, time left), as
    `lipforge run --audio` and `submit` show them."""
    from rich.console import Console

    from lipforge.cli.progress import count_progress

    return count_progress(Console(), unit="")


def _run_script(script, text, voice, outcomes, render_options, progress) -> list[Outcome]:
    from lipforge.speech.script import synthesize_script

    engine, fit, settings = render_options
    audio = settings.data_dir.root / "cache" / "speech-out" / f"{script.stem}-{voice.name}.wav"
    task = progress.add_task(f"{script.name} ({voice.name})", total=None, unit="sentences")
    started = time.monotonic()

    def report(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    try:
        speech = synthesize_script(voice, text, audio, settings, report)
    except LipforgeError as exc:
        progress.console.print(f"[red]✗ {script.name}:[/] {exc}", highlight=False)
        for outcome in outcomes:
            outcome.reason = f"speech failed: {exc}"
        return outcomes
    progress.console.print(
        f"{script.name}: {speech.duration_s:.1f} s of speech, {len(speech.timing.sentences)} "
        f"sentences, {speech.pieces_synthesized} synthesized ({time.monotonic() - started:.1f} s)",
        highlight=False,
    )
    try:
        for outcome in outcomes:
            _render(outcome, audio, speech.timing, render_options, progress)
    finally:
        audio.unlink(missing_ok=True)
    return outcomes


def _render(outcome: Outcome, audio: Path, timing, render_options, progress) -> None:
    from lipforge.lipsync.pipeline import RenderRequest, render
    from lipforge.media.subtitles import add_subtitle_track, write_sidecars

    engine, fit, settings = render_options
    request = RenderRequest.from_settings(
        settings,
        audio_path=audio,
        video_path=outcome.video,
        output_path=outcome.output,
        engine=engine,
        fit=fit,
        timing=timing,
    )
    task = progress.add_task(outcome.output.name, total=None, unit="frames")
    started = time.monotonic()

    def report(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    try:
        result = render(request, report)
        add_subtitle_track(outcome.output, timing.sentences, timing.language)
        write_sidecars(outcome.output, timing.sentences)
        outcome.frames = result.frame_count
    except LipforgeError as exc:
        outcome.reason = str(exc)
        progress.console.print(f"[red]✗ {outcome.video.name}:[/] {exc}", highlight=False)
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
