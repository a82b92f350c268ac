"""`lipforge voices list|add|remove`: the voices of this data dir, as its server sees them.

A voice is a named preset of a speech engine (`lipforge voices list` shows the engines
too). `add` checks the voice before storing it; `--reference-audio` imports the file into
the asset library first. API keys are never given here: `--api-key-env VAR` names the
environment variable the server/worker reads the key from. Heavy modules are imported
inside the commands, so `lipforge --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lipforge.cli import app
from lipforge.config import Settings

voices_app = typer.Typer(no_args_is_help=True, help="List, add and remove voices.")
app.add_typer(voices_app, name="voices")

DataOption = Annotated[Path | None, typer.Option(help="Data dir (./lipforge-data).")]


def open_sessions(data: Path | None):
    """(settings, sessionmaker, engine) on the data dir's migrated database."""
    from lipforge.db import create_db_engine, migrate, session_factory

    settings = Settings.from_env().with_overrides(data=data)
    settings.data_dir.ensure()
    migrate(settings.effective_database_url)
    engine = create_db_engine(settings.effective_database_url)
    return settings, session_factory(engine), engine


@voices_app.command("list")
def list_command(data: DataOption = None) -> None:
    """Voices (built-in first) and the speech engines they can use."""
    from lipforge.speech.engines import speech_engine_class, speech_engine_names
    from lipforge.speech.voices import list_voices

    _settings, sessions, engine = open_sessions(data)
    try:
        with sessions() as session:
            voices = list_voices(session)
    finally:
        engine.dispose()
    for voice in voices:
        where = voice.url or "local"
        detail = " ".join(
            f"{key}={value}"
            for key, value in (
                ("speaker", voice.speaker),
                ("model", voice.model),
                ("speed", voice.speed if voice.speed != 1.0 else None),
                ("language", voice.language or None),
                ("rate", voice.sample_rate),
                ("key-from", voice.api_key_env),
            )
            if value
        )
        kind = "built-in" if voice.builtin else "stored"
        typer.echo(f"{voice.name}\t{voice.engine}\t{where}\t{kind}\t{detail}".rstrip())
    typer.echo("")
    for name in speech_engine_names():
        engine_class = speech_engine_class(name)
        missing = engine_class.missing_reason()
        state = f"not available: {missing}" if missing else "available"
        languages = ",".join(engine_class.languages)
        typer.echo(f"engine {name}\tlanguages {languages}\t{state}")


@voices_app.command("add")
def add_command(
    name: Annotated[str, typer.Argument(help="A name for the voice, e.g. teacher-zh.")],
    engine: Annotated[str, typer.Option(help="espeak, piper, cosyvoice, fish-speech, openai")],
    url: Annotated[str | None, typer.Option(help="The TTS server, e.g. http://gpu2:50000.")] = None,
    speaker: Annotated[str | None, typer.Option(help="Speaker id / voice name.")] = None,
    model: Annotated[str | None, typer.Option(help="Model name (openai, piper package).")] = None,
    speed: Annotated[float, typer.Option(help="Speaking rate, 1.0 = normal.")] = 1.0,
    language: Annotated[str, typer.Option(help="zh, en... (default: the script's)")] = "",
    sample_rate: Annotated[
        int | None, typer.Option(help="Rate of raw PCM answers (CosyVoice: 22050 or 24000).")
    ] = None,
    mode: Annotated[
        str | None, typer.Option(help="CosyVoice: sft|zero_shot|cross_lingual|instruct2.")
    ] = None,
    instruct: Annotated[str | None, typer.Option(help="CosyVoice instruct2 text.")] = None,
    concurrency: Annotated[
        int | None, typer.Option(help="Requests at once to this voice's server (default 2).")
    ] = None,
    reference_audio: Annotated[
        Path | None, typer.Option(help="A recording of the voice to clone.")
    ] = None,
    reference_text: Annotated[
        str | None, typer.Option(help="What the reference recording says.")
    ] = None,
    api_key_env: Annotated[
        str | None, typer.Option(help="NAME of the env var holding the API key (not the key).")
    ] = None,
    data: DataOption = None,
) -> None:
    """Add a voice; checks it first and says what is missing."""
    from lipforge.speech.voices import Voice, add_voice

    settings, sessions, db_engine = open_sessions(data)
    try:
        reference_id = _import_reference(reference_audio, sessions, settings)
        options = {"mode": mode, "instruct": instruct, "concurrency": concurrency}
        voice = Voice(
            name=name,
            engine=engine,
            url=url,
            speaker=speaker,
            model=model,
            speed=speed,
            language=language,
            sample_rate=sample_rate,
            api_key_env=api_key_env,
            reference_asset_id=reference_id,
            reference_text=reference_text,
            options={key: value for key, value in options.items() if value is not None},
        )
        with sessions.begin() as session:
            add_voice(session, voice)
    finally:
        db_engine.dispose()
    typer.echo(f"added voice {name} ({engine})")


def _import_reference(path: Path | None, sessions, settings) -> str | None:
    if path is None:
        return None
    from lipforge.cli.importer import import_one

    return import_one(path, sessions, settings)


@voices_app.command("remove")
def remove_command(
    name: Annotated[str, typer.Argument(help="The voice to remove.")], data: DataOption = None
) -> None:
    """Remove a stored voice (built-ins stay)."""
    from lipforge.speech.voices import remove_voice

    _settings, sessions, engine = open_sessions(data)
    try:
        with sessions.begin() as session:
            remove_voice(session, name)
    finally:
        engine.dispose()
    typer.echo(f"removed voice {name}")
