"""`--transcript FILE` for `lipforge upload`, `submit` and `run`: what an audio says, read once.

`read_transcript(path)` reads one UTF-8 text file (refusing an unreadable, empty or too long
one with a ConfigError that names the file); `pair_transcripts(audios, paths)` gives each
audio the transcript in the same place (`--audio a.wav --transcript a.txt --audio b.wav
--transcript b.txt`). The server keeps a transcript on the audio's asset; this module only
reads files and does no HTTP.
"""

from __future__ import annotations

from pathlib import Path

from lipforge.errors import ConfigError


def read_transcript(path: Path) -> str:
    """The text of a transcript file, stripped; ConfigError when it cannot be used."""
    from lipforge.assets.library import MAX_TRANSCRIPT_CHARS

    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"Cannot read the transcript {path}: {exc}. Give a UTF-8 text file.", file=str(path)
        ) from exc
    if not text:
        raise ConfigError(
            f"The transcript {path} is empty. Give the text the audio speaks.", file=str(path)
        )
    if len(text) > MAX_TRANSCRIPT_CHARS:
        raise ConfigError(
            f"The transcript {path} has {len(text)} characters; at most "
            f"{MAX_TRANSCRIPT_CHARS} are taken (as for a script).",
            file=str(path),
            limit=MAX_TRANSCRIPT_CHARS,
        )
    return text


def pair_transcripts(audios: list[Path], paths: list[Path]) -> dict[Path, str]:
    """Each audio's transcript text by resolved audio path: the n-th --transcript, n-th audio."""
    if len(paths) > len(audios):
        raise ConfigError(
            f"{len(paths)} --transcript file(s) for {len(audios)} audio file(s): give one "
            "transcript per audio, in the same order as the audios.",
        )
    return {
        audio.resolve(): read_transcript(path)
        for audio, path in zip(audios[: len(paths)], paths, strict=True)
    }
