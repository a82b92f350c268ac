"""`lipforge run`: lip-sync one audio onto one or many face videos, here, without a server.

The terminal side only: a Rich progress row per video (frames done/total, fps, ETA), the
plain reason when an item fails (the others still run), a summary table, and an exit
status that is non-zero when any item failed. Ctrl-C stops the current item; the pipeline
removes its partial file. The work itself is `lipforge.lipsync.pipeline.render`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lipforge.cli import app
from lipforge.cli.exits import EXIT_INTERRUPTED, EXIT_SOME_FAILED
from lipforge.config import Settings
from lipforge.errors import ConfigError, LipforgeError, NoAudioStreamError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from lipforge.lipsync.pipeline import RenderRequest, RenderResult
    from lipforge.media.probe import MediaLimits

FIT_HELP = "when the video is shorter than the audio: pingpong|loop|trim"
INTERRUPTED_NOTE = "Interrupted; nothing half-written was left."


@cache
def _console() -> Console:
    from rich.console import Console

    return Console()


@dataclass
class ItemOutcome:
    video: Path
    output: Path
    result: RenderResult | None = None
    reason: str = ""
    elapsed_s: float = 0.0


@app.command()
def run(
    video: Annotated[
        list[Path], typer.Option("--video", help="face video(s); more may follow the first")
    ],
    out: Annotated[Path, typer.Option("--out", help="output folder, one <video-stem>.mp4 each")],
    more_videos: Annotated[list[Path] | None, typer.Argument(hidden=True, metavar="VIDEO")] = None,
    engine: Annotated[str, typer.Option(help="lip-sync engine")] = "meshwarp",
    fit: Annotated[str, typer.Option(help=FIT_HELP)] = "pingpong",
    audio: Annotated[
        Path | None, typer.Option("--audio", help="driving speech (wav/mp3/m4a/flac/ogg)")
    ] = None,
    text_file: Annotated[
        list[Path] | None, typer.Option(help="script(s) to speak instead of --audio (UTF-8)")
    ] = None,
    voice: Annotated[str, typer.Option(help="voice for --text-file (lipforge voices list)")] = (
        "espeak-zh"
    ),
    transcript: Annotated[
        Path | None,
        typer.Option(help="what --audio says (UTF-8 text): mouth shapes follow its phonemes"),
    ] = None,
) -> None:
    """Lip-sync AUDIO (or each --text-file spoken by --voice) onto every VIDEO."""
    from lipforge.logs import divert_native_stderr
    from lipforge.media.probe import MediaLimits
    from lipforge.media.video import check_fit

    settings = Settings.from_env()
    divert_native_stderr(settings.data_dir.logs)
    check_fit(fit)
    videos = list(video) + list(more_videos or [])
    if (audio is None) == (not text_file):
        raise ConfigError("Give the speech with --audio FILE, or scripts with --text-file FILE.")
    if text_file:
        from lipforge.cli.scripted import run_scripts

        raise typer.Exit(run_scripts(text_file, voice, videos, out, engine, fit, settings))
    _check_audio(audio, MediaLimits.from_settings(settings))
    outcomes = [ItemOutcome(v, out) for v in videos]
    _assign_outputs(outcomes, out)
    timing = _transcript_timing(transcript)
    interrupted = _run_items(outcomes, audio, engine, fit, settings, timing)
    _print_summary(outcomes)
    typer.echo(f"(logs in the data dir {settings.data.resolve()})", err=True)
    if interrupted:
        _console().print(INTERRUPTED_NOTE, highlight=False)
        raise typer.Exit(EXIT_INTERRUPTED)
    if any(o.result is None for o in outcomes):
        raise typer.Exit(EXIT_SOME_FAILED)


def _check_audio(audio: Path, limits: MediaLimits) -> None:
    from lipforge.media.probe import probe

    info = probe(audio, limits)
    if info.audio is None:
        raise NoAudioStreamError(f"{audio.name} has no audio track. Use a speech recording.")
    for warning in info.warnings:
        _console().print(f"[yellow]Warning:[/] {warning}", highlight=False)


def _assign_outputs(outcomes: list[ItemOutcome], out: Path) -> None:
    """`OUT/<video>.mp4` by filenames.py's rule (the server's too); `-2`, `-3` for repeats."""
    from lipforge.filenames import file_stem, unique_file_name

    taken: set[str] = set()
    for number, outcome in enumerate(outcomes, start=1):
        stem = file_stem(outcome.video.name) or f"video{number}"
        outcome.output = out / unique_file_name(stem, taken)


def _transcript_timing(path: Path | None):
    """The transcript as one sentence over the whole audio; its phones are aligned later."""
    if path is None:
        return None
    from lipforge.cli.transcripts import read_transcript
    from lipforge.media.timing import Sentence, SpeechTiming

    text = read_transcript(path)
    return SpeechTiming((Sentence(text, 0.0, float("inf")),), None, "")


def _run_items(
    outcomes, audio: Path, engine: str, fit: str, settings: Settings, timing=None
) -> bool:
    """Render every item in turn; True when the user interrupted (Ctrl-C, SIGTERM, SIGHUP)."""
    from lipforge.cli.progress import count_progress
    from lipforge.lipsync.pipeline import RenderRequest

    with count_progress(_console(), unit="frames") as progress:
        for outcome in outcomes:
            request = RenderRequest.from_settings(
                settings,
                audio_path=audio,
                video_path=outcome.video,
                output_path=outcome.output,
                engine=engine,
                fit=fit,
                timing=timing,
            )
            if _render_one(outcome, request, progress):
                return True
    return False


def _render_one(outcome: ItemOutcome, request: RenderRequest, progress: Progress) -> bool:
    from lipforge.lipsync.pipeline import render

    task = progress.add_task(outcome.video.name, total=None)

    def report(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    started = time.monotonic()
    try:
        outcome.result = render(request, report)
    except KeyboardInterrupt:
        outcome.reason = "interrupted; no partial file was left"
        return True
    except LipforgeError as exc:
        outcome.reason = str(exc)
    except Exception as exc:  # one item's bug must not stop the others
        outcome.reason = f"{outcome.video.name}: unexpected error ({exc!r})"
    finally:
        outcome.elapsed_s = time.monotonic() - started
    if outcome.reason:
        progress.console.print(f"[red]✗ {outcome.video.name}:[/] {outcome.reason}", highlight=False)
    audio_name = request.audio_path.name
    for warning in outcome.result.warnings if outcome.result else ():
        if not warning.startswith(audio_name):  # the audio's were shown once, up front
            progress.console.print(f"[yellow]Warning:[/] {warning}", highlight=False)
    return False


def _print_summary(outcomes: list[ItemOutcome]) -> None:
    from rich.table import Table

    console = _console()
    table = Table(title="lipforge run")
    for column in ("video", "status", "output / reason", "frames", "time"):
        table.add_column(column, overflow="fold")
    for o in outcomes:
        if o.result is not None:
            row = (str(o.video), "[green]done[/]", str(o.output), str(o.result.frame_count))
        elif o.reason:
            row = (str(o.video), "[red]failed[/]", o.reason, "-")
        else:
            row = (str(o.video), "[yellow]skipped[/]", "not started", "-")
        table.add_row(*row, f"{o.elapsed_s:.1f} s")
    console.print(table)
    failed = sum(1 for o in outcomes if o.result is None)
    console.print(f"{len(outcomes) - failed} done, {failed} failed or skipped.")
