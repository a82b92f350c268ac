"""`lipforge submit` and `lipforge watch`: run a batch on a server from the terminal.

`submit` uploads the audio and videos (resumable, through `lipforge.uploads.client`),
creates the batch, shows one progress bar per job from the live stream and downloads
the outputs; `watch` attaches to a batch that already runs. Both exit non-zero when a
job failed or was cancelled, after printing each one's reason. The HTTP side lives in
`cli/remote.py`; this module is the terminal side. When the server goes away (a restart,
a dropped link) both keep reconnecting for `--reconnect-s` and say so on screen.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lipforge.cli import app
from lipforge.cli.exits import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_SOME_FAILED
from lipforge.errors import ConfigError

if TYPE_CHECKING:
    from rich.console import Console

    from lipforge.cli.remote import Reconnector

FAILED_EXIT_CODE = EXIT_SOME_FAILED
DEFAULT_SERVER = "http://127.0.0.1:7860"
DEFAULT_RECONNECT_S = 600.0

ServerOption = Annotated[
    str, typer.Option("--server", envvar="LIPFORGE_SERVER", help="e.g. http://gpu-box:7860")
]
TokenOption = Annotated[
    str | None, typer.Option("--token", envvar="LIPFORGE_TOKEN", help="API token of the server")
]
ReconnectOption = Annotated[
    float,
    typer.Option(
        "--reconnect-s",
        envvar="LIPFORGE_RECONNECT_S",
        help="how long to keep reconnecting to a server that went away (seconds)",
        min=0,
    ),
]


@cache
def _console() -> Console:
    from rich.console import Console

    return Console()


def _reconnector(patience_s: float) -> Reconnector:
    from lipforge.cli.remote import Reconnector

    def say(message: str) -> None:
        _console().print(f"[yellow]{message}[/]", highlight=False)

    return Reconnector(patience_s=patience_s, on_wait=say)


@app.command()
def submit(
    video: Annotated[list[Path], typer.Option(help="face video(s); more may follow the first")],
    server: ServerOption = DEFAULT_SERVER,
    audio: Annotated[
        list[Path] | None, typer.Option(help="driving audio; repeat for N audios x 1 video")
    ] = None,
    text_file: Annotated[
        list[Path] | None, typer.Option(help="script(s) the server speaks; N scripts x M videos")
    ] = None,
    voice: Annotated[str, typer.Option(help="voice for --text-file (on the server)")] = (
        "espeak-zh"
    ),
    transcript: Annotated[
        list[Path] | None,
        typer.Option(help="what each --audio says (UTF-8 text), in the same order as --audio"),
    ] = None,
    more_videos: Annotated[list[Path] | None, typer.Argument(hidden=True)] = None,
    token: TokenOption = None,
    out: Annotated[Path, typer.Option(help="where the finished videos are saved")] = Path("."),
    engine: Annotated[str, typer.Option(help="lip-sync engine")] = "meshwarp",
    fit: Annotated[str, typer.Option(help="loop | pingpong | trim")] = "pingpong",
    reconnect_s: ReconnectOption = DEFAULT_RECONNECT_S,
) -> None:
    """Upload audio (or send scripts) and face videos, render on the server, download results."""
    from lipforge.cli.remote import ServerUnreachableError, create_batch, open_client
    from lipforge.cli.transcripts import pair_transcripts

    console = _console()
    video = [*video, *(more_videos or [])]
    audio = list(audio or [])
    if not audio and not text_file:
        raise ConfigError("Give the speech with --audio FILE, or scripts with --text-file FILE.")
    scripts = _read_scripts(text_file or [], voice)
    words = pair_transcripts(audio, list(transcript or []))
    _check_inputs([*audio, *video], out)
    with open_client(server, token) as client:
        try:
            asset_ids, refused = _upload_missing(client, server, token, [*audio, *video])
        except KeyboardInterrupt:
            console.print("Interrupted: run the same command again to resume the uploads.")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        audio_ids = [asset_ids[p] for p in (a.resolve() for a in audio) if p in asset_ids]
        video_ids = [asset_ids[p] for p in (v.resolve() for v in video) if p in asset_ids]
        if not video_ids or not (audio_ids or scripts):
            _print_refused(refused)
            console.print("Nothing left to render: no batch was made.", highlight=False)
            raise typer.Exit(EXIT_BAD_INPUT)
        transcripts = {asset_ids[p]: text for p, text in words.items() if p in asset_ids}
        batch = create_batch(client, audio_ids, video_ids, engine, fit, scripts, transcripts)
        jobs_text = f"{len(batch['jobs'])} job(s)"
        console.print(f"Batch [bold]{batch['id']}[/] with {jobs_text}", highlight=False)
        reconnector = _reconnector(reconnect_s)
        reconnector.reached = True
        try:
            _follow_and_collect(client, batch["id"], out, reconnector, refused)
        except (ServerUnreachableError, KeyboardInterrupt) as exc:
            console.print(
                f"The batch goes on on the server: collect its outputs later with "
                f"lipforge watch {batch['id']} --out {out}",
                highlight=False,
            )
            if isinstance(exc, KeyboardInterrupt):
                raise typer.Exit(EXIT_INTERRUPTED) from None
            raise


@app.command()
def watch(
    batch_id: Annotated[str, typer.Argument(metavar="BATCH")],
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    out: Annotated[Path | None, typer.Option(help="also download the outputs here")] = None,
    reconnect_s: ReconnectOption = DEFAULT_RECONNECT_S,
) -> None:
    """Follow a batch live (or one that already ended); with --out, download its outputs."""
    from lipforge.cli.remote import open_client

    if out is not None:
        _check_inputs([], out)
    with open_client(server, token) as client:
        _follow_and_collect(client, batch_id, out, _reconnector(reconnect_s))


def _read_scripts(paths: list[Path], voice: str) -> list[dict]:
    from lipforge.cli.say import read_script

    return [{"text": read_script(None, p), "voice": voice, "name": p.stem} for p in paths]


def _check_inputs(paths: list[Path], out: Path) -> None:
    for path in paths:
        if not path.is_file():
            raise ConfigError(f"Input file {str(path)!r} does not exist. Check the path.")
    out.mkdir(parents=True, exist_ok=True)


def _upload_missing(
    client, server: str, token: str | None, paths: list[Path]
) -> tuple[dict[Path, str], dict[Path, str]]:
    """Asset id by resolved path, and the server's reason by path for each refused file.

    A file the server already has (same sha256) is not sent again; the others are uploaded
    once each, resuming earlier attempts. A refused file does not stop the others.
    """
    from rich.progress import TaskID

    from lipforge.cli.progress import transfer_progress
    from lipforge.cli.remote import find_asset_by_sha256
    from lipforge.uploads.client import UploadRefusedError, upload_file

    asset_ids: dict[Path, str] = {}
    refused: dict[Path, str] = {}
    with transfer_progress(_console()) as progress:
        for path in dict.fromkeys(p.resolve() for p in paths):
            size_bytes = path.stat().st_size
            with open(path, "rb") as handle:
                sha256 = hashlib.file_digest(handle, "sha256").hexdigest()
            known = find_asset_by_sha256(client, sha256)
            if known is not None:
                progress.add_task(f"on server {path.name}", total=size_bytes, completed=size_bytes)
                asset_ids[path] = known["id"]
                continue
            task = progress.add_task(f"upload {path.name}", total=size_bytes)

            def show(sent_bytes: int, total_bytes: int, task: TaskID = task) -> None:
                progress.update(task, completed=sent_bytes, total=total_bytes)

            try:
                asset_ids[path] = upload_file(server, token, path, show)
            except UploadRefusedError as exc:
                refused[path] = str(exc)
                progress.update(task, description=f"refused {path.name}")
    return asset_ids, refused


def _print_refused(refused: dict[Path, str]) -> None:
    for reason in refused.values():
        _console().print(f"[red]refused[/] {reason}", highlight=False)


def _follow_and_collect(
    client,
    batch_id: str,
    out: Path | None,
    reconnector: Reconnector,
    refused: dict[Path, str] | None = None,
) -> None:
    from lipforge.cli.remote import (
        download_output,
        download_subtitles,
        follow_batch,
        read_batch_failures,
    )

    console = _console()
    with _BatchBars() as bars:
        batch = follow_batch(client, batch_id, bars.update, reconnector=reconnector)
    succeeded = [job for job in batch["jobs"] if job["status"] == "succeeded"]
    if out is not None:
        for job in succeeded:
            path = reconnector.call(lambda job=job: download_output(client, job, out))
            console.print(f"saved {path}", highlight=False)
            for subtitles in download_subtitles(client, job, path):
                console.print(f"saved {subtitles}", highlight=False)
    failures = read_batch_failures(batch)
    for job, reason in failures:
        console.print(f"[red]{job['status']}[/] {job['output_name']}: {reason}", highlight=False)
    _print_refused(refused or {})
    summary = f"{len(succeeded)} of {len(batch['jobs'])} job(s) succeeded"
    if refused:
        summary += f"; {len(refused)} file(s) refused, left out of the batch"
    console.print(summary, highlight=False)
    if failures or refused:
        raise typer.Exit(FAILED_EXIT_CODE)


class _BatchBars:
    """A Rich bar per job (frames done of total) and one for the batch: the server's progress
    weighted by frames (`BatchMeter`), never going backwards."""

    BATCH_STEPS = 10_000

    def __init__(self) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        from lipforge.cli.remote import BatchMeter

        self.meter = BatchMeter()
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.fields[state]}"),
            TimeRemainingColumn(),
            console=_console(),
        )
        self._tasks: dict[str, int] = {}
        self._batch_task: int | None = None

    def __enter__(self) -> _BatchBars:
        self._progress.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._progress.stop()

    def update(self, batch: dict) -> None:
        from lipforge.cli.remote import TERMINAL_STATES

        if self._batch_task is None:
            self._batch_task = self._progress.add_task(f"batch {batch['id']}", total=None, state="")
        fraction = self.meter.update(batch)
        ended = sum(job["status"] in TERMINAL_STATES for job in batch["jobs"])
        state = f"{ended}/{len(batch['jobs'])} ended"
        if batch.get("paused_reasons") and ended < len(batch["jobs"]):
            state += f" - queue paused: {'; '.join(batch['paused_reasons'])}"
        steps = self.BATCH_STEPS
        self._progress.update(
            self._batch_task, total=steps, completed=round(fraction * steps), state=state
        )
        for job in batch["jobs"]:
            task = self._tasks.get(job["id"])
            if task is None:
                task = self._progress.add_task(job["output_name"], total=None, state="")
                self._tasks[job["id"]] = task
            self._progress.update(
                task,
                total=job.get("frames_total") or None,
                completed=job.get("frames_done") or 0,
                state=_job_state_text(job),
            )


def _job_state_text(job: dict) -> str:
    if job["status"] == "running" and job.get("stage") == "speech":
        return f"speech {job.get('stage_done') or 0}/{job.get('stage_total') or '?'} sentences"
    if job["status"] == "running" and job.get("fps"):
        return f"running {job['fps']:.1f} fps"
    return job["status"]
