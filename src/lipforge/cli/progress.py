"""The Rich progress columns the CLI shows: byte transfers (uploads, submit, model pulls) and
frame counts (run). Sizes and speeds are in binary units (KiB, MiB, GiB) through
`lipforge.disk.format_bytes`, the one size format of the CLI. Imported by commands only
when they run (rich is not loaded for `--help`).
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from lipforge.disk import format_bytes


class BinarySpeedColumn(ProgressColumn):
    """Transfer speed in binary units (`12.3 MiB/s`); rich's own column counts in MB."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(
            "?" if speed is None else f"{format_bytes(int(speed))}/s", style="progress.data.speed"
        )


class FpsColumn(ProgressColumn):
    """Frames per second of a row that counts frames; blank on a row that counts something
    else (the sentences of a script's speech), whose pace is not in frames."""

    def render(self, task: Task) -> Text:
        if task.fields.get("unit", "frames") != "frames":
            return Text("")
        speed = task.finished_speed or task.speed
        return Text("-- fps" if speed is None else f"{speed:5.1f} fps", style="cyan")


def count_progress(console: Console, unit: str) -> Progress:
    """Description, bar, done/total in `unit` (or the task's own `unit` field when `unit` is
    empty), fps and time left: the rows of `run` and `run --text-file`."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit or "{task.fields[unit]}"),
        FpsColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


def transfer_progress(console: Console) -> Progress:
    """Description, bar, bytes done/total, speed and time left, all in binary units."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(binary_units=True),
        BinarySpeedColumn(),
        TimeRemainingColumn(),
        console=console,
    )
