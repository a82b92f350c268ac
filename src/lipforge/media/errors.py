"""The one place where PyAV/FFmpeg errors become MediaError subclasses a person can act on.

It holds no error classes of its own: those live in `lipforge.errors`.
"""

from __future__ import annotations

from pathlib import Path

import av

from lipforge.errors import CorruptMediaError, MediaError


def translate_av_error(
    path: Path, exc: av.error.FFmpegError, at_s: float | None = None
) -> MediaError:
    """An FFmpeg failure while reading `path` (at `at_s` seconds, when known), in plain words."""
    where = f" at {at_s:.1f} s" if at_s is not None else ""
    reason = getattr(exc, "strerror", None) or str(exc)
    return CorruptMediaError(
        f"{Path(path).name} could not be decoded{where} ({reason}). The file is damaged or "
        "incomplete: copy or upload it again, or re-export it as H.264/AAC MP4.",
        file=Path(path).name,
        seconds=round(at_s, 1) if at_s is not None else None,
    )
