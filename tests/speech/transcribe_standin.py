"""A local stand-in for the transcription servers users run, answering as their code does.

Followed, per flavour (`flavour=`):
- "openai": OpenAI's API reference for `POST /v1/audio/transcriptions` (multipart `file`,
  `model`, `response_format`, `language`; `json` answers `{"text": ...}`); errors are
  `{"error": {"message", "type", "param", "code"}}` with 400/401/429/500.
- "speaches": src/speaches/routers/stt.py of speaches-ai/speaches (faster-whisper-server):
  `transcribe_file` takes the same form (FastAPI `Form()` fields, so a missing one is
  FastAPI's 422 `{"detail": [...]}`), answers `CreateTranscriptionResponseJson` (`{"text"}`)
  as application/json, and refuses an unknown model with `HTTPException(404, detail="Model
  '...' is not installed locally...")`, i.e. `{"detail": "..."}`.
- "whispercpp": examples/server/server.cpp of ggml-org/whisper.cpp: the inference handler
  (mounted at `--request-path /v1 --inference-path /audio/transcriptions`) reads the
  `file` part as WAV and answers **200** `{"error":"failed to read WAV file"}` when it
  cannot (also `{"error":"no 'file' field in the request"}`); the json format is
  `{"text": results}`; an exception is a 500 text/plain "500 Internal Server Error\\n...";
  an unknown path a 404 text/plain "File Not Found (<path>)".

`Hearing` sets what it answers (the texts, one per request in turn, the last repeating) and
how it misbehaves: a status, the first N requests failing, a delay, a trickling body, a
wrong or huge body, a required key. `requests` records what each request carried.
"""

from __future__ import annotations

import asyncio
import io
import wave
from dataclasses import dataclass, field

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from tests.speech.standins import StandIn

FLAVOURS = ("openai", "speaches", "whispercpp")


@dataclass
class Hearing:
    texts: list[str] = field(default_factory=lambda: ["Hello."])
    status: int | None = None  # answer this error status to every request
    fail_first: int = 0  # answer 500 to this many requests, then work
    delay_s: float = 0.0  # before answering
    trickle_bps: float = 0.0  # send the answer at this many bytes per second
    body: bytes | None = None  # answer these bytes (200) instead of a transcript
    huge_bytes: int = 0  # answer {"text": "<this many bytes>"}
    key: str | None = None  # Bearer key required; a wrong one is 401 echoing it
    requests: list[dict] = field(default_factory=list)


def transcription_app(flavour: str, hearing: Hearing) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/audio/transcriptions")
    async def transcriptions(request: Request):
        form = await request.form()
        upload = form.get("file")
        data = await upload.read() if upload is not None and hasattr(upload, "read") else b""
        seen = {k: v for k, v in form.items() if k != "file"}
        seen.update(file=data, authorization=request.headers.get("authorization"))
        hearing.requests.append(seen)
        if hearing.delay_s:
            await asyncio.sleep(hearing.delay_s)
        refusal = _refusal(flavour, hearing, seen, data)
        if refusal is not None:
            return refusal
        return _answer(hearing, len(hearing.requests))

    return app


def _refusal(flavour: str, hearing: Hearing, seen: dict, data: bytes) -> Response | None:
    if hearing.key is not None and seen["authorization"] != f"Bearer {hearing.key}":
        return _error(flavour, 401, f"Incorrect API key provided: {seen['authorization']}")
    if hearing.status is not None:
        return _error(flavour, hearing.status, f"stand-in {flavour} says {hearing.status}")
    if len(hearing.requests) <= hearing.fail_first:
        return _error(flavour, 500, "CUDA out of memory")
    if flavour == "whispercpp" and not _is_wav(data):
        return JSONResponse({"error": "failed to read WAV file"})
    if flavour != "whispercpp" and "model" not in seen:
        detail = [{"type": "missing", "loc": ["body", "model"], "msg": "Field required"}]
        return JSONResponse({"detail": detail}, 422)
    return None


def _answer(hearing: Hearing, number: int) -> Response:
    if hearing.body is not None:
        return Response(hearing.body, media_type="application/json")
    text = (
        "x" * hearing.huge_bytes
        if hearing.huge_bytes
        else hearing.texts[min(number, len(hearing.texts)) - 1]
    )
    body = JSONResponse({"text": text}).body
    if hearing.trickle_bps:
        return StreamingResponse(_trickle(body, hearing.trickle_bps), media_type="application/json")
    return Response(body, media_type="application/json")


async def _trickle(body: bytes, rate_bps: float):
    for index in range(len(body)):
        yield body[index : index + 1]
        await asyncio.sleep(1.0 / rate_bps)


def _error(flavour: str, status: int, message: str) -> Response:
    if flavour == "openai":
        error = {"message": message, "type": "invalid_request_error", "param": None, "code": None}
        return JSONResponse({"error": error}, status)
    if flavour == "speaches":
        return JSONResponse({"detail": message}, status)
    if status == 404:
        return PlainTextResponse("File Not Found (/v1/audio/transcriptions)", 404)
    if status >= 500:
        return PlainTextResponse(f"500 Internal Server Error\n{message}", 500)
    return PlainTextResponse("Invalid request", status)


def _is_wav(data: bytes) -> bool:
    try:
        with wave.open(io.BytesIO(data)) as reader:
            return reader.getnframes() > 0
    except (wave.Error, EOFError):
        return False


def serve(flavour: str, hearing: Hearing) -> StandIn:
    """A running stand-in (use as a context manager); its base URL is `.url + "/v1"`."""
    return StandIn(transcription_app(flavour, hearing))
