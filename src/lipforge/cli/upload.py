"""`lipforge upload FILE… --server URL [--token T]`: resumable tus uploads with a progress bar.

Each file is sent with `uploads.client.TusUploader` (chunks, sha1 per chunk,
retries with backoff, resume across runs); a refused or failed file does not stop
the others. Prints one line per file: its asset id, or why it has none.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    Progress,
)

from lipforge.cli import app
from lipforge.cli.progress import transfer_progress
from lipforge.errors import AuthError, ConfigError, LipforgeError
from lipforge.uploads.client import CHUNK_BYTES, TusUploader

DEFAULT_SERVER = "http://127.0.0.1:7860"
MIB = 1024 * 1024

console = Console()


@app.command()
def upload(
    files: Annotated[list[Path], typer.Argument(help="Audio or video files to upload.")],
    server: Annotated[str, typer.Option(help="LipForge server URL.")] = DEFAULT_SERVER,
    token: Annotated[
        str | None, typer.Option(help="Access token (default: env LIPFORGE_TOKEN).")
    ] = None,
    chunk_mib: Annotated[int, typer.Option(help="Chunk size in MiB.", min=1)] = CHUNK_BYTES // MIB,
) -> None:
    """Upload files with tus (resumable: run it again after a failure) and print asset ids."""
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        raise ConfigError(f"Not a file: {', '.join(missing)}. Give paths of existing files.")
    uploader = TusUploader(
        server, token or os.environ.get("LIPFORGE_TOKEN") or None, chunk_bytes=chunk_mib * MIB
    )
    failures = 0
    try:
        with transfer_progress(console) as progress:
            for path in files:
                failures += _upload_one(uploader, progress, path)
    finally:
        uploader.close()
    if failures:
        raise typer.Exit(1)


def _upload_one(uploader: TusUploader, progress: Progress, path: Path) -> int:
    task = progress.add_task(path.name, total=path.stat().st_size)

    def report(done_bytes: int, total_bytes: int) -> None:
        progress.update(task, completed=done_bytes, total=total_bytes)

    try:
        asset_id = uploader.upload(path, report)
    except AuthError:
        raise
    except LipforgeError as exc:
        progress.console.print(f"[red]✗[/] {path}: {exc}", highlight=False)
        return 1
    progress.console.print(f"[green]✓[/] {path} -> asset {asset_id}", highlight=False)
    return 0
