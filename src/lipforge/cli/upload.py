"""`lipforge upload FILE… [--transcript T…] [--server URL]`: resumable tus uploads, progress bars.

Each file is sent with `uploads.client.TusUploader` (chunks, sha1 per chunk, retries
with backoff, resume across runs, `--parallel` parts joined by concatenation); a refused
or failed file does not stop the others. Prints one line per file: its asset id, or why
it has none. `--transcript` gives the n-th FILE (an audio) what it says, kept on its asset.
A rerun says where it resumes; Ctrl-C (or SIGTERM) says how to resume.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lipforge.cli import app
from lipforge.cli.exits import EXIT_INTERRUPTED, EXIT_SOME_FAILED
from lipforge.errors import ConfigError

if TYPE_CHECKING:
    from rich.progress import Progress

    from lipforge.uploads.client import TusUploader

DEFAULT_SERVER = "http://127.0.0.1:7860"
MIB = 1024 * 1024

ServerOption = Annotated[
    str, typer.Option("--server", envvar="LIPFORGE_SERVER", help="LipForge server URL.")
]
TokenOption = Annotated[
    str | None, typer.Option("--token", envvar="LIPFORGE_TOKEN", help="The server's access token.")
]


@app.command()
def upload(
    files: Annotated[list[Path], typer.Argument(help="Audio or video files to upload.")],
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    chunk_mib: Annotated[
        int | None,
        typer.Option(help="Chunk size in MiB (default: 8, growing to 32 on a fast link).", min=1),
    ] = None,
    parallel: Annotated[
        int | None,
        typer.Option(
            help="Parts sent at once, joined on the server (default: 4 above 64 MiB when the "
            "server is 20 ms or more away, else 1).",
            min=1,
        ),
    ] = None,
    transcript: Annotated[
        list[Path] | None,
        typer.Option(help="what each audio FILE says (UTF-8 text), in the same order as FILES"),
    ] = None,
) -> None:
    """Upload files with tus (resumable: run it again after a failure) and print asset ids."""
    from rich.console import Console

    from lipforge.cli.progress import transfer_progress
    from lipforge.cli.transcripts import pair_transcripts
    from lipforge.uploads.client import TusUploader

    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        raise ConfigError(f"Not a file: {', '.join(missing)}. Give paths of existing files.")
    words = pair_transcripts(files, list(transcript or []))
    options = {"chunk_bytes": chunk_mib * MIB} if chunk_mib else {}
    uploader = TusUploader(server, token or None, **options)
    console = Console()
    failures = 0
    try:
        with transfer_progress(console) as progress:
            for path in files:
                failures += _upload_one(
                    uploader, progress, path, parallel, words.get(path.resolve())
                )
    except KeyboardInterrupt:
        console.print(
            "Interrupted. What reached the server is kept: run the same command again to resume.",
            highlight=False,
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    finally:
        uploader.close()
    if failures:
        raise typer.Exit(EXIT_SOME_FAILED)


def _upload_one(
    uploader: TusUploader,
    progress: Progress,
    path: Path,
    parallel: int | None,
    transcript: str | None = None,
) -> int:
    from lipforge.disk import format_bytes
    from lipforge.errors import AuthError, LipforgeError

    size_bytes = path.stat().st_size
    task = progress.add_task(path.name, total=size_bytes)
    first_report = True

    def report(done_bytes: int, total_bytes: int) -> None:
        nonlocal first_report
        if first_report and 0 < done_bytes < total_bytes:
            where = f"{format_bytes(done_bytes)} of {format_bytes(total_bytes)}"
            progress.console.print(f"{path.name}: resuming at {where}", highlight=False)
            progress.reset(task, total=total_bytes, completed=done_bytes)
        first_report = False
        progress.update(task, completed=done_bytes, total=total_bytes)

    try:
        asset_id = uploader.upload(path, report, parallel)
        if transcript is not None:
            uploader.set_transcript(asset_id, transcript)
    except AuthError:
        raise
    except LipforgeError as exc:
        progress.console.print(f"[red]✗[/] {path}: {exc}", highlight=False)
        return 1
    said = " (with its transcript)" if transcript is not None else ""
    progress.console.print(f"[green]✓[/] {path} -> asset {asset_id}{said}", highlight=False)
    return 0
