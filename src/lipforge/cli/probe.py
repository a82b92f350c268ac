"""`lipforge probe FILE`: what the media layer sees in a file, and whether faces are found.

Prints streams, codecs, duration, fps, resolution, rotation and warnings, then tracks
faces over the first seconds of a video. Validation itself is `lipforge.media.probe`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lipforge.cli import app
from lipforge.config import Settings
from lipforge.errors import NoFaceError

if TYPE_CHECKING:
    from rich.table import Table

    from lipforge.media.probe import MediaInfo

FACE_CHECK_S = 3.0


@app.command("probe")
def probe_command(
    file: Annotated[Path, typer.Argument(help="an audio or video file")],
    faces_s: Annotated[float, typer.Option(help="seconds of video to look for faces in")] = (
        FACE_CHECK_S
    ),
) -> None:
    """Show what LipForge sees in FILE: streams, codecs, duration, fps, size, rotation, faces."""
    from rich.console import Console

    from lipforge.logs import divert_native_stderr
    from lipforge.media.probe import MediaLimits, probe

    console = Console()
    settings = Settings.from_env()
    divert_native_stderr(settings.data_dir.logs)
    info = probe(file, MediaLimits.from_settings(settings))
    console.print(_info_table(info))
    for warning in info.warnings:
        console.print(f"[yellow]Warning:[/] {warning}", highlight=False)
    if info.video is not None and faces_s > 0:
        console.print(f"faces: {count_faces(file, faces_s)}", highlight=False)


def _info_table(info: MediaInfo) -> Table:
    from rich.table import Table

    from lipforge.disk import format_bytes

    table = Table(title=str(info.path), show_header=False)
    table.add_row("container", info.container)
    table.add_row("duration", f"{info.duration_s:.3f} s")
    table.add_row("size", format_bytes(info.size_bytes))
    if info.video is not None:
        v = info.video
        table.add_row("video", f"{v.codec}, {v.width}x{v.height} (as displayed)")
        rate = "variable, processed as constant" if v.variable_frame_rate else "constant"
        table.add_row("fps", f"{v.fps:.3f} ({rate})")
        table.add_row("rotation", f"{v.rotation_deg}° clockwise")
        table.add_row("frames", f"about {v.frame_count}")
    else:
        table.add_row("video", "none")
    if info.audio is not None:
        a = info.audio
        table.add_row("audio", f"{a.codec}, {a.sample_rate} Hz, {a.channels} channel(s)")
    else:
        table.add_row("audio", "none")
    return table


def count_faces(path: Path, seconds: float) -> str:
    """'found in N of M frames of the first S s', or why not."""
    from lipforge.lipsync.faces import FaceTracker
    from lipforge.media.video import VideoReader

    with VideoReader(path) as reader:
        limit = max(1, round(seconds * float(reader.fps)))
        found = checked = 0
        tracker = FaceTracker(float(reader.fps), path.name, search_s=seconds)
        try:
            for index, frame in reader.frames(stop_index=limit):
                results = tracker.push(index, frame)
                found += sum(1 for _, marks in results if marks is not None)
                checked = index + 1
            found += sum(1 for _, marks in tracker.flush() if marks is not None)
        except NoFaceError as exc:
            return f"none ({exc})"
        finally:
            tracker.close()
    return f"found in {found} of {checked} frames of the first {checked / float(reader.fps):.1f} s"
