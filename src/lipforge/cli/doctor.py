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

    console = Console(highlight=False)
    settings = Settings.from_env()
    rows = [  # the quick ones first: each line shows as soon as it is known
        ("python", lambda: f"{platform.python_version()} ({platform.platform()})"),
        *((name, lambda name=name: _version(name)) for name in PACKAGES),
        ("data dir", lambda: _data_dir(settings.data_dir.root)),
        ("free disk", lambda: _free_disk(settings.data_dir.root)),
        ("storage", lambda: _storage(settings)),
        ("espeak-ng (tests)", lambda: shutil.which("espeak-ng") or "not installed"),
        ("ffmpeg (in PyAV)", _ffmpeg_version),
        ("codecs", _codecs),
        ("onnxruntime providers", _providers),
        ("engines", _engines),
    ]
    console.print("[bold]lipforge doctor[/]")
    for label, value in rows:
        console.print(f"  {label:<22} {value()}")


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
    # numpy first, from Python: onnxruntime's C module imports it otherwise, and a Ctrl-C
    # landing in that import is printed there as a traceback (numpy's import_array calls
    # PyErr_Print) instead of reaching main's clean "Interrupted."
    import numpy  # noqa: F401

    try:
        import onnxruntime
    except ImportError:
        return "[red]onnxruntime not installed[/]"
    return ", ".join(onnxruntime.get_available_providers())


def _engines() -> str:
    from lipforge.lipsync.engine import engine_names

    return ", ".join(engine_names()) or "none"
