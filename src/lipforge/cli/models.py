"""`lipforge models pull|list|verify`: fetch, show and re-check model weights.

The terminal side only: the registry, downloads and hashing live in `lipforge.weights`.
`pull` shows a Rich progress bar with speed and ETA, warns about unpinned entries and
prints the hash it computed; Wav2Lip's non-commercial licence is shown in `list`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lipforge.cli import app
from lipforge.cli.exits import EXIT_SOME_FAILED
from lipforge.config import Settings
from lipforge.weights.request import DEFAULT_CONNECTIONS

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from lipforge.weights.registry import ModelEntry, ModelFile
    from lipforge.weights.request import DownloadProgress, DownloadResult

models_app = typer.Typer(no_args_is_help=True, help="Fetch, list and verify model weights.")
app.add_typer(models_app, name="models")


@cache
def _console() -> Console:
    from rich.console import Console

    return Console()


ModelsDirOption = Annotated[
    Path | None,
    typer.Option("--models-dir", help="where models live (default: <LIPFORGE_DATA>/models)"),
]


def _models_dir(models_dir: Path | None) -> Path:
    return models_dir or Settings.from_env().data_dir.models


@models_app.command("pull")
def pull(
    source: Annotated[str, typer.Argument(help="a registry name, or a URL (with --sha256)")],
    sha256: Annotated[str | None, typer.Option(help="expected sha256 of a URL")] = None,
    name: Annotated[str | None, typer.Option(help="name to install a URL under")] = None,
    connections: Annotated[int, typer.Option(help="parallel connections")] = DEFAULT_CONNECTIONS,
    limit_rate: Annotated[str | None, typer.Option(help="total bandwidth, e.g. 5M")] = None,
    mirror: Annotated[list[str] | None, typer.Option(help="another URL of the file")] = None,
    proxy: Annotated[str | None, typer.Option(help="proxy URL (env proxies apply too)")] = None,
    models_dir: ModelsDirOption = None,
) -> None:
    """Download a model (resumable, verified); run again to resume an interrupted pull."""
    from lipforge.cli.progress import transfer_progress
    from lipforge.weights.pull import PullOptions, pull_model
    from lipforge.weights.ratelimit import parse_rate

    console = _console()
    directory = _models_dir(models_dir)
    entry = _entry_for(source, sha256, name, directory)
    options = PullOptions(
        connections=connections,
        limit_rate_bps=parse_rate(limit_rate) if limit_rate else None,
        mirrors=tuple(mirror or ()),
        proxy=proxy,
        min_free_bytes=Settings.from_env().min_free_disk_bytes,
    )
    if not entry.pinned:
        console.print(
            f"[yellow]Warning:[/] {entry.name} is unpinned: no published sha256 to check it "
            "against. Its hash will be printed; compare it with a source you trust.",
            highlight=False,
        )
    with transfer_progress(console) as progress:
        tasks: dict[str, TaskID] = {}
        results = pull_model(entry, directory, options, _progress_reporter(progress, tasks))
    _print_results(entry, results)
    console.print(_where(models_dir, directory), highlight=False, soft_wrap=True)


def _where(models_dir: Path | None, directory: Path) -> str:
    """Where the pull wrote: the --models-dir given, or the data dir's models (warning, on
    stderr, about a running server that reads another data dir)."""
    if models_dir is not None:
        return f"(into {directory.resolve()})"
    from lipforge.cli.datadir import where_written

    return f"(into {directory.resolve()}: the models of the {where_written(Settings.from_env())})"


def _entry_for(source: str, sha256: str | None, name: str | None, directory: Path):
    from lipforge.weights.errors import DownloadError
    from lipforge.weights.pull import entry_for_url
    from lipforge.weights.registry import get_model

    if "://" in source:
        if not sha256:
            raise DownloadError(
                f"Pulling a URL needs its hash: lipforge models pull {source} --sha256 HEX"
            )
        return entry_for_url(source, sha256, name, directory)
    return get_model(source, directory)


def _progress_reporter(progress: Progress, tasks: dict[str, TaskID]):
    def report(model_file: ModelFile, snapshot: DownloadProgress) -> None:
        if model_file.filename not in tasks:
            tasks[model_file.filename] = progress.add_task(model_file.filename, total=None)
        task = tasks[model_file.filename]
        label = model_file.filename
        if snapshot.phase in ("waiting", "verifying"):
            label = f"{label} ({snapshot.phase})"
        progress.update(
            task, completed=snapshot.done_bytes, total=snapshot.total_bytes, description=label
        )

    return report


def _print_results(entry: ModelEntry, results: list[DownloadResult]) -> None:
    from lipforge.disk import format_bytes

    console = _console()
    for result in results:
        for note in result.notes:
            console.print(f"  note: {note}", highlight=False)
        if result.already_installed:
            state = "already installed"
        else:
            state = f"fetched {format_bytes(result.fetched_bytes)}"
            if result.resumed_bytes:
                state += f", resumed from {format_bytes(result.resumed_bytes)}"
        console.print(f"{result.path}: {state}; sha256 {result.sha256}", highlight=False)
        if result.pinned:
            console.print("  [green]verified[/]: sha256 matches the pinned hash")
        else:
            console.print(
                f"  [yellow]unpinned[/]: computed sha256 {result.sha256}; nothing to compare it "
                "with. Pin it with --sha256 next time.",
                highlight=False,
            )
    console.print(f"Licence of {entry.name}: {entry.licence}", highlight=False)


@models_app.command("list")
def list_models(models_dir: ModelsDirOption = None) -> None:
    """Every known model: installed, verified, size, licence (fits 80 columns)."""
    from rich.table import Table

    from lipforge.disk import format_bytes
    from lipforge.weights.registry import known_models, model_status

    directory = _models_dir(models_dir)
    table = Table("name", "engine", "installed", "verified", "size", "licence", box=None)
    table.pad_edge, table.padding = False, (0, 1)
    for column in table.columns:
        column.no_wrap = True
    licences: dict[str, list[str]] = {}  # licence text -> models under it, in order
    for entry in known_models(directory).values():
        status = model_status(directory, entry)
        verified = "yes" if status.verified else ("-" if not status.installed else "NO")
        if status.installed and not entry.pinned:
            verified = "unpinned"
        size = format_bytes(status.size_bytes) if status.installed else _expected_size(entry)
        licences.setdefault(entry.licence, []).append(entry.name)
        note = f"{entry.licence.split('.')[0][:16]} [{list(licences).index(entry.licence) + 1}]"
        installed = "yes" if status.installed else "no"
        table.add_row(entry.name, entry.engine, installed, verified, size, note)
    console = _console()
    console.print(table)
    for number, text in enumerate(licences, start=1):
        console.print(f"[{number}] {text}", highlight=False, markup=False)
    console.print(f"models directory: {directory}", highlight=False)


def _expected_size(entry: ModelEntry) -> str:
    from lipforge.disk import format_bytes

    sizes = [f.size_bytes for f in entry.files]
    return f"({format_bytes(sum(sizes))})" if all(s is not None for s in sizes) else "?"


@models_app.command("verify")
def verify(
    names: Annotated[list[str] | None, typer.Argument(help="models (default: all)")] = None,
    models_dir: ModelsDirOption = None,
) -> None:
    """Re-hash installed models; exits non-zero when one does not match."""
    from lipforge.weights.pull import verify_model
    from lipforge.weights.registry import get_model, known_models, model_status

    console = _console()
    directory = _models_dir(models_dir)
    entries = (
        [get_model(n, directory) for n in names]
        if names
        else [e for e in known_models(directory).values() if model_status(directory, e).installed]
    )
    failed = False
    for entry in entries:
        for check in verify_model(directory, entry):
            mark = "[green]ok[/]" if check.ok else "[red]FAILED[/]"
            detail = check.reason
            if not check.ok and check.actual:
                detail += f": expected {check.expected}, got {check.actual}"
            console.print(f"{mark} {entry.name} {check.path.name}: {detail}", highlight=False)
            failed = failed or not check.ok
    if not entries:
        console.print("No model is installed.")
    if failed:
        raise typer.Exit(EXIT_SOME_FAILED)
