"""`lipforge doctor`: versions, data dir, free disk, storage, encoders, onnxruntime providers.

Read-only: it creates nothing and changes nothing; it only reports what a bug report needs.
"""

from __future__ import annotations

import platform
import shutil
from pathlib import Path

from lipforge.cli import app
from lipforge.config import Settings

PACKAGES = ("lipforge", "av", "numpy", "mediapipe", "opencv-contrib-python", "onnxruntime")
PACKAGES += ("fastapi", "sqlalchemy", "typer", "rich")
CODECS = ("libx264", "aac", "libopus", "mp3")


@app.command()
def doctor() -> None:
    """Print versions, the data dir, free disk, codecs and onnxruntime execution providers."""
    from rich.console import Console
    from rich.table import Table

    settings = Settings.from_env()
    table = Table(title="lipforge doctor", show_header=False)
    table.add_row("python", f"{platform.python_version()} ({platform.platform()})")
    for name in PACKAGES:
        table.add_row(name, _version(name))
    table.add_row("ffmpeg (in PyAV)", _ffmpeg_version())
    table.add_row("codecs", _codecs())
    table.add_row("data dir", _data_dir(settings.data_dir.root))
    table.add_row("free disk", _free_disk(settings.data_dir.root))
    table.add_row("storage", _storage(settings))
    table.add_row("onnxruntime providers", _providers())
    table.add_row("engines", _engines())
    table.add_row("espeak-ng (tests)", shutil.which("espeak-ng") or "not installed")
    Console().print(table)


def _version(name: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "[red]not installed[/]"


def _ffmpeg_version() -> str:
    import av

    return str(getattr(av, "ffmpeg_version_info", "unknown"))


def _codecs() -> str:
    import av

    available = av.codecs_available
    return ", ".join(f"{c} {'yes' if c in available else '[red]missing[/]'}" for c in CODECS)


def _data_dir(root: Path) -> str:
    return f"{root} ({'exists' if root.exists() else 'not created yet'})"


def _free_disk(root: Path) -> str:
    probe_at = root
    while not probe_at.exists() and probe_at != probe_at.parent:
        probe_at = probe_at.parent
    from lipforge.disk import format_bytes

    usage = shutil.disk_usage(probe_at)
    return f"{format_bytes(usage.free)} free of {format_bytes(usage.total)}"


def _storage(settings: Settings) -> str:
    """Where assets and outputs live, and whether the store answers (one lookup, no write)."""
    from lipforge.errors import LipforgeError
    from lipforge.storage.backend import open_storage

    try:
        storage = open_storage(settings)
        storage.stat("assets/.lipforge-doctor")
    except LipforgeError as exc:
        return f"[red]{exc}[/]"
    return f"{storage.describe()} (answers)"


def _providers() -> str:
    try:
        import onnxruntime
    except ImportError:
        return "[red]onnxruntime not installed[/]"
    return ", ".join(onnxruntime.get_available_providers())


def _engines() -> str:
    from lipforge.lipsync.engine import engine_names

    return ", ".join(engine_names()) or "none"
