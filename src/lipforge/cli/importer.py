"""`lipforge import PATH…`: make assets from local files now, as the inbox would, without waiting.

Each file is copied (the original stays where it is), under its own name, into a
hidden staging folder in the data dir's inbox/ (same file system as assets/, ignored
by the inbox watcher, and refusals name the file as the user knows it), then handed
to `library.ingest_file`. Folders are walked; dotfiles are skipped. It prints
`<asset id>\t<path>` per imported file on stdout and the reason per refused file on
stderr, and exits 1 if any file was refused.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lipforge.cli import app
from lipforge.cli.exits import EXIT_SOME_FAILED
from lipforge.config import Settings
from lipforge.errors import LipforgeError

if TYPE_CHECKING:
    from sqlalchemy.orm import sessionmaker

CLI_LOG_FILE_NAME = "cli.log"
STAGING_PREFIX = ".import-"


@app.command("import")
def import_files(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to import.")],
    data: Annotated[Path | None, typer.Option(help="Data dir (./lipforge-data).")] = None,
) -> None:
    """Import local audio and video files into the asset library; prints their asset ids."""
    from lipforge.db import create_db_engine, migrate, session_factory
    from lipforge.logs import configure_logging

    settings = Settings.from_env().with_overrides(data=data)
    settings.data_dir.ensure()
    configure_logging(settings.data_dir.logs, CLI_LOG_FILE_NAME)
    migrate(settings.effective_database_url)
    engine = create_db_engine(settings.effective_database_url)
    refused = 0
    try:
        sessions = session_factory(engine)
        for path in expand_paths(paths):
            try:
                asset_id = import_one(path, sessions, settings)
            except LipforgeError as exc:
                refused += 1
                typer.echo(f"refused\t{path}: {exc}", err=True)
            else:
                typer.echo(f"{asset_id}\t{path}")
    finally:
        engine.dispose()
    from lipforge.cli.datadir import where_written

    typer.echo(f"(into the {where_written(settings)})", err=True)
    if refused:
        raise typer.Exit(EXIT_SOME_FAILED)


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files as given, and the non-hidden files below each folder, in name order."""
    files: list[Path] = []
    for path in paths:
        if not path.is_dir():
            files.append(path)
            continue
        for directory, subdirectories, names in os.walk(path):
            subdirectories[:] = sorted(d for d in subdirectories if not d.startswith("."))
            files += [Path(directory) / n for n in sorted(names) if not n.startswith(".")]
    return files


def import_one(path: Path, sessions: sessionmaker, settings: Settings) -> str:
    """Copy `path` into staging and ingest it; its asset id. Raises the media layer's refusal."""
    from lipforge.assets.library import ingest_file
    from lipforge.disk import ensure_free_space

    if not path.is_file():
        raise LipforgeError(f"{path} does not exist or is not a file. Check the path.")
    ensure_free_space(settings.data_dir.inbox, path.stat().st_size, settings.min_free_disk_bytes)
    staging_dir = settings.data_dir.inbox / f"{STAGING_PREFIX}{uuid.uuid4().hex}"
    staging_dir.mkdir()
    try:
        staged = staging_dir / path.name
        shutil.copyfile(path, staged)
        return ingest_file(staged, path.name, "import", sessions, settings).id
    finally:
        shutil.rmtree(staging_dir, ignore_errors=True)
