"""HeyGem's TTS route `POST /v1/invoke`, as its fish-speech fork answers: JSON in, WAV out.

Duix.Avatar's client (`src/main/service/voice.js`, `api/tts.js`) posts
`{speaker, text, format: "wav", reference_audio, reference_text, topP, max_new_tokens,
chunk_length, repetition_penalty, temperature, need_asr, streaming, is_fixed_seed, is_norm}`
and writes the answer's bytes to `<uuid>.wav`. LipForge speaks `text` with its own voices
(`lipforge.speech`): `speaker` when it names a LipForge voice, else LIPFORGE_HEYGEM_VOICE
(default `espeak-zh`). Voice cloning from `reference_audio` / `reference_text` and the
sampling options are not available; the answer names what it ignored in the
`X-LipForge-Ignored` header. Errors answer the project's error body with their status.
Served only on the `--heygem-tts-port` listener.
"""

from __future__ import annotations

import asyncio
import io
import json
import uuid
import wave

from fastapi import APIRouter, Request
from fastapi.responses import Response

from lipforge.api.schema import error_responses
from lipforge.heygem.errors import BadParameterError, VoiceUnavailableError
from lipforge.heygem.results import STAGING_DIR_NAME

router = APIRouter(tags=["heygem"])
DEFAULT_VOICE = "espeak-zh"
FORMATS = ("wav", "pcm")
HONOURED_FIELDS = frozenset({"speaker", "text", "format", "streaming"})
IGNORED_HEADER = "X-LipForge-Ignored"


@router.post(
    "/v1/invoke",
    response_class=Response,
    responses={
        200: {"content": {"audio/wav": {}}, "description": "The speech, 16-bit PCM WAV."},
        **error_responses(422, 503),
    },
)
async def heygem_tts_invoke(request: Request) -> Response:
    body = _parse(await request.body())
    state = request.app.state
    audio = await asyncio.to_thread(_speak, state.sessions, state.settings, body)
    if body.get("format", "wav") == "pcm":
        audio, media_type = _pcm_frames(audio), "application/octet-stream"
    else:
        media_type = "audio/wav"
    ignored = sorted(key for key, value in body.items() if key not in HONOURED_FIELDS and value)
    headers = {"Content-Disposition": f"attachment; filename=audio.{body.get('format', 'wav')}"}
    if ignored:
        headers[IGNORED_HEADER] = ", ".join(ignored)
    return Response(audio, media_type=media_type, headers=headers)


@router.get("/v1/health")
async def heygem_tts_health() -> dict:
    """fish-speech's liveness probe, which TTS watchdogs call."""
    return {"status": "ok"}


def _parse(raw: bytes) -> dict:
    try:
        body = json.loads(raw or b"")
    except ValueError as exc:
        raise BadParameterError(f"The body is not JSON ({exc}).", reason="not_json") from exc
    if not isinstance(body, dict) or not isinstance(body.get("text"), str) or not body["text"]:
        raise BadParameterError("text is missing or empty.", field="text")
    if str(body.get("format", "wav")) not in FORMATS:
        raise BadParameterError(
            f"format {body.get('format')!r} is not available; use one of: {', '.join(FORMATS)}.",
            field="format",
        )
    return body


def _speak(sessions, settings, body: dict) -> bytes:
    try:
        from lipforge.speech.script import synthesize_script
        from lipforge.speech.voices import get_voice
    except ImportError as exc:
        raise VoiceUnavailableError(f"Speech is not available in this build: {exc}.") from exc
    voice = _voice(sessions, settings, str(body.get("speaker") or ""), get_voice)
    staging = settings.data_dir.root / STAGING_DIR_NAME
    staging.mkdir(parents=True, exist_ok=True)
    out_path = staging / f"tts-{uuid.uuid4().hex}.wav"
    try:
        synthesize_script(voice, body["text"], out_path, settings)
        return out_path.read_bytes()
    finally:
        out_path.unlink(missing_ok=True)


def _voice(sessions, settings, speaker: str, get_voice):
    name = settings.heygem_voice or DEFAULT_VOICE
    with sessions() as session:
        if speaker:
            try:
                return get_voice(session, speaker)
            except Exception:  # noqa: BLE001 - HeyGem's speaker is usually a random id
                pass
        try:
            return get_voice(session, name)
        except Exception as exc:  # noqa: BLE001 - the voice's own error names the known ones
            raise VoiceUnavailableError(
                f"The voice {name!r} (LIPFORGE_HEYGEM_VOICE) cannot speak: {exc}",
                voice=name,
            ) from exc


def _pcm_frames(wav_bytes: bytes) -> bytes:
    with wave.open(io.BytesIO(wav_bytes)) as reader:
        return reader.readframes(reader.getnframes())
