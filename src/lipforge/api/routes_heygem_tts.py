"""HeyGem's TTS route `POST /v1/invoke`, as its fish-speech fork answers: JSON in, WAV out.

Duix.Avatar's client (`src/main/service/voice.js`, `api/tts.js`) posts
`{speaker, text, format: "wav", reference_audio, reference_text, topP, max_new_tokens,
chunk_length, repetition_penalty, temperature, need_asr, streaming, is_fixed_seed, is_norm}`
and writes the answer's bytes to `<uuid>.wav`. LipForge speaks `text` with its own voices
(`lipforge.speech`): `speaker` when it names a LipForge voice, else LIPFORGE_HEYGEM_VOICE,
else the built-in espeak voice of the text's language (`espeak-zh` or `espeak-en`). The
body is read up to `MAX_BODY_BYTES` and `text` holds at most a batch script's characters;
the WAV is streamed from disk, never held in memory. Voice cloning from `reference_audio` /
`reference_text` and the sampling options are not available; the answer names what it ignored in the
`X-LipForge-Ignored` header, and the voice it spoke with in `X-LipForge-Voice`. Errors
answer the project's error body with their status.
Served only on the `--heygem-tts-port` listener.
"""

from __future__ import annotations

import asyncio
import json
import uuid
import wave
from collections.abc import Iterator
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from lipforge.api.schema import error_responses
from lipforge.heygem.errors import BadParameterError, VoiceUnavailableError
from lipforge.heygem.results import STAGING_DIR_NAME
from lipforge.render.scripts import MAX_SCRIPT_CHARS

router = APIRouter(tags=["heygem"])
DEFAULT_VOICE_BY_LANGUAGE = {"zh": "espeak-zh", "en": "espeak-en"}
DEFAULT_VOICE = DEFAULT_VOICE_BY_LANGUAGE["zh"]
MAX_BODY_BYTES = 1024 * 1024  # 20,000 characters of UTF-8 text and HeyGem's other fields
STREAM_BLOCK_BYTES = 64 * 1024
FORMATS = ("wav", "pcm")
HONOURED_FIELDS = frozenset({"speaker", "text", "format", "streaming"})
IGNORED_HEADER = "X-LipForge-Ignored"
VOICE_HEADER = "X-LipForge-Voice"


@router.post(
    "/v1/invoke",
    response_class=Response,
    responses={
        200: {"content": {"audio/wav": {}}, "description": "The speech, 16-bit PCM WAV."},
        **error_responses(422, 503),
    },
)
async def heygem_tts_invoke(request: Request) -> Response:
    body = _parse(await _bounded_body(request))
    state = request.app.state
    wav_path, voice_name = await asyncio.to_thread(_speak, state.sessions, state.settings, body)
    pcm = body.get("format", "wav") == "pcm"
    media_type = "application/octet-stream" if pcm else "audio/wav"
    ignored = sorted(key for key, value in body.items() if key not in HONOURED_FIELDS and value)
    headers = {
        "Content-Disposition": f"attachment; filename=audio.{body.get('format', 'wav')}",
        VOICE_HEADER: voice_name,
    }
    if ignored:
        headers[IGNORED_HEADER] = ", ".join(ignored)
    return StreamingResponse(_stream_then_remove(wav_path, pcm), media_type=media_type,
                             headers=headers)  # fmt: skip


async def _bounded_body(request: Request) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BadParameterError(
                f"The body is larger than {MAX_BODY_BYTES} bytes; send at most "
                f"{MAX_SCRIPT_CHARS} characters of text.",
                field="text",
                limit=MAX_BODY_BYTES,
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _stream_then_remove(path: Path, pcm: bool) -> Iterator[bytes]:
    """The WAV file (or only its PCM frames) in blocks; the file is removed at the end."""
    try:
        if pcm:
            with wave.open(str(path)) as reader:
                while frames := reader.readframes(STREAM_BLOCK_BYTES // 2):
                    yield frames
        else:
            with open(path, "rb") as handle:
                while block := handle.read(STREAM_BLOCK_BYTES):
                    yield block
    finally:
        path.unlink(missing_ok=True)


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
    if len(body["text"]) > MAX_SCRIPT_CHARS:
        raise BadParameterError(
            f"text has {len(body['text'])} characters; at most {MAX_SCRIPT_CHARS} are spoken "
            "at once. Split it.",
            field="text",
            chars=len(body["text"]),
            limit=MAX_SCRIPT_CHARS,
        )
    if str(body.get("format", "wav")) not in FORMATS:
        raise BadParameterError(
            f"format {body.get('format')!r} is not available; use one of: {', '.join(FORMATS)}.",
            field="format",
        )
    return body


def _speak(sessions, settings, body: dict) -> tuple[Path, str]:
    """The WAV of `body["text"]` in the staging dir (the caller streams and removes it) and
    the name of the voice that spoke it."""
    try:
        from lipforge.speech.script import synthesize_script
        from lipforge.speech.sentences import script_language
        from lipforge.speech.voices import get_voice
    except ImportError as exc:
        raise VoiceUnavailableError(f"Speech is not available in this build: {exc}.") from exc
    default = settings.heygem_voice or DEFAULT_VOICE_BY_LANGUAGE[script_language(body["text"])]
    voice = _voice(sessions, default, str(body.get("speaker") or ""), get_voice)
    staging = settings.data_dir.root / STAGING_DIR_NAME
    staging.mkdir(parents=True, exist_ok=True)
    out_path = staging / f"tts-{uuid.uuid4().hex}.wav"
    try:
        synthesize_script(voice, body["text"], out_path, settings)
    except BaseException:
        out_path.unlink(missing_ok=True)
        raise
    return out_path, voice.name


def _voice(sessions, name: str, speaker: str, get_voice):
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
