"""`lipforge say (TEXT | --text-file F) --voice NAME -o OUT.wav`: a script to speech + subtitles.

Writes OUT.wav (mono 16-bit, loudness-normalized), OUT.srt and OUT.vtt beside it, and
prints their paths. Sentences are cached in the data dir, so saying the same script again
(or a longer version of it) costs only the new sentences.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lipforge.cli import app
from lipforge.errors import ConfigError

DEFAULT_VOICE = "espeak-zh"


def read_script(text: str | None, text_file: Path | None) -> str:
    """The script from TEXT or --text-file (UTF-8), exactly one of them."""
    if (text is None) == (text_file is None):
        raise ConfigError("Give the script as TEXT or with --text-file FILE (one of them).")
    if text_file is None:
        return text or ""
    try:
        return text_file.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(
            f"Cannot read script {text_file}: {exc.strerror}.", file=str(text_file)
        ) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"Script {text_file} is not UTF-8 text. Save it as UTF-8.", file=str(text_file)
        ) from exc


@app.command()
def say(
    text: Annotated[str | None, typer.Argument(help="What to say (or use --text-file).")] = None,
    text_file: Annotated[Path | None, typer.Option(help="A UTF-8 script file.")] = None,
    voice: Annotated[str, typer.Option(help="A voice (lipforge voices list).")] = DEFAULT_VOICE,
    output: Annotated[Path, typer.Option("-o", "--output", help="The WAV to write.")] = Path(
        "speech.wav"
    ),
    data: Annotated[Path | None, typer.Option(help="Data dir (./lipforge-data).")] = None,
) -> None:
    """Speak a script with a voice into a WAV, with SRT and WebVTT subtitles beside it."""
    from lipforge.cli.datadir import where_written
    from lipforge.cli.voices import open_sessions
    from lipforge.media.subtitles import write_sidecars
    from lipforge.speech.script import synthesize_script
    from lipforge.speech.voices import get_voice

    script = read_script(text, text_file)
    settings, sessions, engine = open_sessions(data)
    try:
        with sessions() as session:
            chosen = get_voice(session, voice)
    finally:
        engine.dispose()
    result = synthesize_script(chosen, script, output, settings)
    srt, vtt = write_sidecars(output, result.timing.sentences)
    cues = len(result.timing.sentences)
    typer.echo(f"{output}\t{result.duration_s:.1f} s, {cues} sentences, voice {chosen.name}")
    typer.echo(str(srt))
    typer.echo(str(vtt))
    typer.echo(f"(voice and sentence cache from the {where_written(settings)})", err=True)
