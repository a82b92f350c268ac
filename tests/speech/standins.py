"""Local stand-ins for the TTS servers users run, answering as those projects' server code does.

- CosyVoice: runtime/python/fastapi/server.py of FunAudioLLM/CosyVoice. Form fields
  (`tts_text`, `spk_id`; `prompt_text` + file `prompt_wav`; `instruct_text`), the answer a
  StreamingResponse of raw int16 PCM at the model's rate with no header and no media type
  (some builds add `X-Custom-Header-sampleRate`); an exception inside is uvicorn's plain
  500 "Internal Server Error".
- fish-speech: tools/server/views.py + fish_speech/utils/schema.py of fishaudio/fish-speech.
  `POST /v1/tts` with a ServeTTSRequest (JSON; `references[].audio` base64), the answer a WAV
  written by soundfile at the decoder's rate, `audio/wav`; errors as
  tools/server/exception_handler.py shapes them: {"statusCode", "message", "error"}.
- OpenAI: `POST /v1/audio/speech` {model, input, voice, response_format, speed}; errors
  {"error": {"message", "type", "param", "code"}}.

`Behaviour` makes any of them fail the first N requests with 500, answer slowly, answer an
empty body or another sample rate; fish-speech can also send an endless body, trickle its
answer, or declare an impossible rate (0 or 1 Hz) in its WAV header; `Recorder` keeps what
each request carried and how many ran at once. `StandIn(app)` serves an app on a port the
OS picks, in a thread.
"""

from __future__ import annotations

import asyncio
import base64
import io
import socket
import struct
import threading
import time
import wave
from dataclasses import dataclass, field
from typing import Annotated

import numpy as np
import uvicorn
from fastapi import FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

SECONDS_PER_CHAR = 0.06


@dataclass
class Behaviour:
    fail_first: int = 0  # answer 500 to this many requests, then work
    always_fail: bool = False
    delay_s: float = 0.0  # before answering
    empty: bool = False
    rate: int = 22050  # the model's rate
    rate_header: int | None = None  # X-Custom-Header-sampleRate (CosyVoice builds that send it)
    max_text_length: int = 0  # fish-speech --max-text-length
    endless: bool = False  # fish-speech: a body that never ends
    trickle_s: float = 0.0  # fish-speech: one byte of the answer every this many seconds
    declared_rate: int | None = None  # fish-speech: the rate its WAV header states


@dataclass
class Recorder:
    requests: list[dict] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def enter(self, seen: dict) -> int:
        with self.lock:
            self.requests.append(seen)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            return len(self.requests)

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1


def voiced(text: str, rate: int) -> np.ndarray:
    """A voice-like signal (a 140 Hz buzz with syllable-rate loudness) as long as `text` reads."""
    seconds = max(0.3, SECONDS_PER_CHAR * len(text))
    t = np.arange(int(seconds * rate)) / rate
    buzz = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 6))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)
    return (0.3 * buzz * envelope).astype(np.float32)


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


async def _behave(behaviour: Behaviour, recorder: Recorder, seen: dict) -> None:
    number = recorder.enter(seen)
    try:
        if behaviour.delay_s:
            await asyncio.sleep(behaviour.delay_s)
    finally:
        recorder.leave()
    if behaviour.always_fail or number <= behaviour.fail_first:
        raise RuntimeError("CUDA out of memory")


def declare_rate(wav: bytes, rate: int) -> bytes:
    """The WAV with `rate` written into its header (the wave module refuses to write 0 Hz)."""
    header = bytearray(wav[:44])
    struct.pack_into("<II", header, 24, rate, rate * 2)
    return bytes(header) + wav[44:]


async def _misbehave(behaviour: Behaviour, body: bytes):
    if behaviour.endless:
        block = body[:44] + bytes(64 * 1024)
        while True:
            yield block
            block = bytes(64 * 1024)
            await asyncio.sleep(0)
    for index in range(len(body)):
        yield body[index : index + 1]
        await asyncio.sleep(behaviour.trickle_s)


def cosyvoice_app(behaviour: Behaviour, recorder: Recorder) -> FastAPI:
    app = FastAPI()

    def answer(text: str):
        pcm = b"" if behaviour.empty else (voiced(text, behaviour.rate) * 2**15).astype(np.int16)
        body = pcm if isinstance(pcm, bytes) else pcm.tobytes()
        headers = {}
        if behaviour.rate_header is not None:
            headers["X-Custom-Header-sampleRate"] = str(behaviour.rate_header)
        return StreamingResponse(iter([body]), headers=headers)

    @app.post("/inference_sft")
    async def inference_sft(tts_text: Annotated[str, Form()], spk_id: Annotated[str, Form()]):
        await _behave(behaviour, recorder, {"mode": "sft", "tts_text": tts_text, "spk_id": spk_id})
        return answer(tts_text)

    @app.post("/inference_zero_shot")
    async def inference_zero_shot(
        tts_text: Annotated[str, Form()],
        prompt_text: Annotated[str, Form()],
        prompt_wav: Annotated[UploadFile, File()],
    ):
        seen = {"mode": "zero_shot", "tts_text": tts_text, "prompt_text": prompt_text}
        seen["prompt_wav"] = await prompt_wav.read()
        await _behave(behaviour, recorder, seen)
        return answer(tts_text)

    @app.post("/inference_cross_lingual")
    async def inference_cross_lingual(
        tts_text: Annotated[str, Form()], prompt_wav: Annotated[UploadFile, File()]
    ):
        seen = {
            "mode": "cross_lingual",
            "tts_text": tts_text,
            "prompt_wav": await prompt_wav.read(),
        }
        await _behave(behaviour, recorder, seen)
        return answer(tts_text)

    @app.post("/inference_instruct2")
    async def inference_instruct2(
        tts_text: Annotated[str, Form()],
        instruct_text: Annotated[str, Form()],
        prompt_wav: Annotated[UploadFile, File()],
    ):
        seen = {"mode": "instruct2", "tts_text": tts_text, "instruct_text": instruct_text}
        seen["prompt_wav"] = await prompt_wav.read()
        await _behave(behaviour, recorder, seen)
        return answer(tts_text)

    return app


def fish_speech_app(behaviour: Behaviour, recorder: Recorder) -> FastAPI:
    app = FastAPI()

    @app.exception_handler(HTTPException)
    async def http_error(_request, exc: HTTPException):
        return JSONResponse(
            {"statusCode": exc.status_code, "message": exc.detail, "error": "Bad Request"},
            exc.status_code,
        )

    @app.exception_handler(RuntimeError)
    async def other_error(_request, exc: Exception):
        body = {"statusCode": 500, "message": str(exc), "error": "Internal Server Error"}
        return JSONResponse(body, 500)

    @app.post("/v1/tts")
    async def tts(request: Request):
        req = await request.json()
        references = [
            {"audio": base64.b64decode(r["audio"]), "text": r["text"]}
            for r in req.get("references", [])
        ]
        seen = {**req, "references": references}
        if behaviour.max_text_length and len(req["text"]) > behaviour.max_text_length:
            recorder.enter(seen)
            recorder.leave()
            raise HTTPException(400, f"Text is too long, max length is {behaviour.max_text_length}")
        await _behave(behaviour, recorder, seen)
        body = (
            b""
            if behaviour.empty
            else wav_bytes(voiced(req["text"], behaviour.rate), behaviour.rate)
        )
        if behaviour.declared_rate is not None:
            body = declare_rate(body, behaviour.declared_rate)
        headers = {"Content-Disposition": f"attachment; filename=audio.{req.get('format', 'wav')}"}
        if behaviour.endless or behaviour.trickle_s:
            return StreamingResponse(_misbehave(behaviour, body), media_type="audio/wav")
        return Response(body, media_type="audio/wav", headers=headers)

    return app


def openai_app(behaviour: Behaviour, recorder: Recorder, key: str | None = None) -> FastAPI:
    app = FastAPI()

    @app.exception_handler(RuntimeError)
    async def server_error(_request, exc: Exception):
        body = {"error": {"message": str(exc), "type": "server_error", "param": None, "code": None}}
        return JSONResponse(body, 500)

    @app.post("/old/v1/audio/speech")
    async def moved():
        return RedirectResponse("/v1/audio/speech", status_code=307)

    @app.post("/v1/audio/speech")
    async def speech(request: Request):
        if key is not None and request.headers.get("authorization") != f"Bearer {key}":
            error = {"message": "Incorrect API key provided.", "type": "invalid_request_error"}
            return JSONResponse({"error": {**error, "param": None, "code": "invalid_api_key"}}, 401)
        req = await request.json()
        await _behave(behaviour, recorder, dict(req))
        if behaviour.empty:
            return Response(b"", media_type="audio/wav")
        samples = voiced(req["input"], behaviour.rate)
        if req.get("response_format") == "pcm":
            return Response((samples * 32767).astype("<i2").tobytes(), media_type="audio/pcm")
        return Response(wav_bytes(samples, behaviour.rate), media_type="audio/wav")

    return app


class StandIn:
    """Serves `app` with uvicorn on 127.0.0.1 at a port the OS chose; `url` is its address."""

    def __init__(self, app: FastAPI) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        config = uvicorn.Config(app, log_level="critical", timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def __enter__(self) -> StandIn:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the stand-in server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.socket.close()
