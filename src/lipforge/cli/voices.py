"""`lipforge voices list|add|remove`: the voices of this data dir, or of a server (--server).

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


ServerOption = Annotated[
    str | None,
    typer.Option("--server", help="Manage the voices of this server instead (http://host:7860)."),
]
TokenOption = Annotated[
    str | None, typer.Option("--token", envvar="LIPFORGE_TOKEN", help="API token of --server.")
]


@voices_app.command("list")
def list_command(
    data: DataOption = None, server: ServerOption = None, token: TokenOption = None
) -> None:
    """Voices (built-in first) and the speech engines they can use."""
    if server:
        from lipforge.cli.remote import call_api, open_client

        with open_client(server, token) as client:
            listing = call_api(client, "GET", "/api/voices")
    else:
        listing = _local_listing(data)
    for voice in listing["items"]:
        typer.echo(_voice_line(voice))
    typer.echo("")
    for engine in listing["engines"]:
        state = f"not available: {engine['missing']}" if engine["missing"] else "available"
        typer.echo(f"engine {engine['name']}\tlanguages {','.join(engine['languages'])}\t{state}")


def _local_listing(data: Path | None) -> dict:
    from lipforge.cli.datadir import where_written
    from lipforge.speech.engines import speech_engine_class, speech_engine_names
    from lipforge.speech.voices import list_voices

    settings, sessions, engine = open_sessions(data)
    try:
        with sessions() as session:
            items = [voice.to_json() for voice in list_voices(session)]
    finally:
        engine.dispose()
    typer.echo(f"(voices of the {where_written(settings)})", err=True)
    engines = []
    for name in speech_engine_names():
        engine_class = speech_engine_class(name)
        languages = list(engine_class.languages)
        engines.append(
            {"name": name, "languages": languages, "missing": engine_class.missing_reason()}
        )
    return {"items": items, "engines": engines}


def _voice_line(voice: dict) -> str:
    details = (
        ("speaker", voice.get("speaker")),
        ("model", voice.get("model")),
        ("speed", voice.get("speed") if voice.get("speed") != 1.0 else None),
        ("language", voice.get("language") or None),
        ("rate", voice.get("sample_rate")),
        ("key-from", voice.get("api_key_env")),
        ("reference", voice.get("reference_asset_id")),
    )
    detail = " ".join(f"{key}={value}" for key, value in details if value)
    kind = "built-in" if voice.get("builtin") else "stored"
    where = voice.get("url") or "local"
    return f"{voice['name']}\t{voice['engine']}\t{where}\t{kind}\t{detail}".rstrip()


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
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Add a voice; checks it first and says what is missing."""
    options = {"mode": mode, "instruct": instruct, "concurrency": concurrency}
    body = {
        "name": name,
        "engine": engine,
        "url": url,
        "speaker": speaker,
        "model": model,
        "speed": speed,
        "language": language,
        "sample_rate": sample_rate,
        "api_key_env": api_key_env,
        "reference_text": reference_text,
        "options": {key: value for key, value in options.items() if value is not None},
    }
    if server:
        _add_remote(body, reference_audio, server, token)
        place = f"on the server {server}"
    else:
        from lipforge.cli.datadir import where_written

        place = "in the " + where_written(_add_local(body, reference_audio, data))
    typer.echo(f"added voice {name} ({engine}) {place}")


def _add_local(body: dict, reference_audio: Path | None, data: Path | None) -> Settings:
    from lipforge.cli.importer import import_one
    from lipforge.speech.voices import Voice, add_voice

    settings, sessions, db_engine = open_sessions(data)
    try:
        reference_id = import_one(reference_audio, sessions, settings) if reference_audio else None
        with sessions.begin() as session:
            add_voice(session, Voice(**body, reference_asset_id=reference_id))
    finally:
        db_engine.dispose()
    return settings


def _add_remote(body: dict, reference_audio: Path | None, server: str, token: str | None) -> None:
    from lipforge.cli.remote import call_api, open_client

    if reference_audio is not None:
        from lipforge.uploads.client import upload_file

        body["reference_asset_id"] = upload_file(server, token, reference_audio)
    with open_client(server, token) as client:
        call_api(client, "POST", "/api/voices", json=body)


@voices_app.command("remove")
def remove_command(
    name: Annotated[str, typer.Argument(help="The voice to remove.")],
    data: DataOption = None,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Remove a stored voice (built-ins stay)."""
    if server:
        from urllib.parse import quote

        from lipforge.cli.remote import call_api, open_client

        with open_client(server, token) as client:
            call_api(client, "DELETE", f"/api/voices/{quote(name, safe='')}")
        place = f"on the server {server}"
    else:
        from lipforge.cli.datadir import where_written
        from lipforge.speech.voices import remove_voice

        settings, sessions, engine = open_sessions(data)
        try:
            with sessions.begin() as session:
                remove_voice(session, name)
        finally:
            engine.dispose()
        place = "from the " + where_written(settings)
    typer.echo(f"removed voice {name} {place}")
