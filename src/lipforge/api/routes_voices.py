"""Routes for voices: list (built-ins and stored, with the engines), get, add, remove.

A voice's API key is never sent or answered: a voice names the server-side environment
variable that holds it (`api_key_env`), and the engine reads it at request time.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from lipforge.api.schema import error_responses
from lipforge.speech import voices
from lipforge.speech.engines import SpeechEngine, speech_engine_class, speech_engine_names

router = APIRouter()


class VoiceOptions(BaseModel):
    mode: str | None = Field(None, description="Engine mode, e.g. CosyVoice sft|zero_shot|...")
    instruct: str | None = Field(None, description="Instruction text (CosyVoice instruct2).")
    concurrency: int | None = Field(
        None, ge=1, le=voices.MAX_CONCURRENCY, description="Requests at once to its server."
    )
    response_format: str | None = Field(None, description="OpenAI-style audio format (wav).")


def _engine_shapes(schema: dict[str, Any]) -> None:
    """What each engine needs of a voice (its `voice_shapes`), as `anyOf` branches, so a body
    the schema allows is one `check_voice` accepts (and the reverse)."""
    branches = []
    for name in speech_engine_names():
        engine: type[SpeechEngine] = speech_engine_class(name)
        for shape in engine.voice_shapes:
            properties = {"engine": {"const": name}, **shape.get("properties", {})}
            branches.append({**shape, "properties": properties})
    schema["anyOf"] = branches


def _engine_enum() -> list[JsonValue]:
    return [*speech_engine_names()]


class VoiceBody(BaseModel):
    """`POST /api/voices`: a named preset of an engine, its options and its server.

    Whether a reference asset exists (404), a name is free (409) and an engine's package
    is installed here (409) is checked on arrival.
    """

    model_config = ConfigDict(json_schema_extra=_engine_shapes)

    name: str = Field(pattern=voices.VOICE_NAME.pattern)
    engine: str = Field(json_schema_extra={"enum": _engine_enum()})
    url: str | None = Field(None, pattern=voices.URL.pattern, max_length=512)
    speaker: str | None = Field(None, max_length=255)
    model: str | None = Field(None, max_length=255)
    speed: float = Field(1.0, ge=voices.SPEED_RANGE[0], le=voices.SPEED_RANGE[1])
    language: str = Field("", max_length=16)
    sample_rate: int | None = Field(
        None, ge=voices.SAMPLE_RATE_RANGE[0], le=voices.SAMPLE_RATE_RANGE[1]
    )
    api_key_env: str | None = Field(
        None,
        pattern=voices.ENV_VAR_NAME.pattern,
        description="NAME of the server's env var with the key.",
    )
    reference_asset_id: str | None = Field(None, max_length=32)
    reference_text: str | None = None
    options: VoiceOptions = Field(default_factory=VoiceOptions)


def _engines() -> list[dict]:
    out = []
    for name in speech_engine_names():
        engine: type[SpeechEngine] = speech_engine_class(name)
        out.append(
            {
                "name": name,
                "languages": list(engine.languages),
                "max_input_chars": engine.max_input_chars,
                "needs_url": engine.needs_url,
                "missing": engine.missing_reason(),
            }
        )
    return out


def _list(sessions) -> dict:
    with sessions() as session:
        items = [voice.to_json() for voice in voices.list_voices(session)]
    return {"items": items, "engines": _engines()}


def _get(sessions, name: str) -> dict:
    with sessions() as session:
        return voices.get_voice(session, name).to_json()


def _add(sessions, voice: voices.Voice) -> dict:
    with sessions.begin() as session:
        return voices.add_voice(session, voice).to_json()


def _remove(sessions, name: str) -> None:
    with sessions.begin() as session:
        voices.remove_voice(session, name)


@router.get("/api/voices")
async def list_voices_route(request: Request) -> dict:
    return await asyncio.to_thread(_list, request.app.state.sessions)


@router.get("/api/voices/{name}", responses=error_responses(404))
async def get_voice_route(request: Request, name: str) -> dict:
    return await asyncio.to_thread(_get, request.app.state.sessions, name)


@router.post("/api/voices", status_code=201, responses=error_responses(404, 409, 422))
async def add_voice_route(request: Request, body: VoiceBody) -> dict:
    options = body.options.model_dump(exclude_none=True)
    values = body.model_dump(exclude={"options"})
    voice = voices.Voice(**values, options=options)
    return await asyncio.to_thread(_add, request.app.state.sessions, voice)


@router.delete("/api/voices/{name}", status_code=204, responses=error_responses(404, 409))
async def remove_voice_route(request: Request, name: str) -> Response:
    await asyncio.to_thread(_remove, request.app.state.sessions, name)
    return Response(status_code=204)
